// DOLPHIN dashboard: reads the API with the bearer token and follows /api/v1/events (SSE).
// No libraries, no network beyond this server. Numbers are shown as the API gives them
// (capital and PnL to 2 decimals); each value element also carries the raw value in data-v.
"use strict";
(function () {
  const state = { token: null, version: null, trades: -1, errors: [], connected: false };
  window.__dolphin = state;
  window.addEventListener("error", (e) => state.errors.push(String(e.message)));
  window.addEventListener("unhandledrejection", (e) => state.errors.push(String(e.reason)));

  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const POSTURE_COLOR = { APEX: "#2e7d32", STALKER: "#f9a825", TURTLE: "#ef6c00", HIBERNATE: "#b71c1c" };

  function readToken() {
    const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem("dolphin-token", decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname); // keep the token out of the address bar
    }
    return sessionStorage.getItem("dolphin-token");
  }

  function setText(id, text, raw) {
    const el = $(id);
    if (!el) return;
    el.textContent = text;
    if (raw !== undefined) el.dataset.v = raw === null ? "null" : String(raw);
  }
  const fmt2 = (x) => (x === null || x === undefined ? "n/a" : Number(x).toFixed(2));
  const pct = (x) => (x === null || x === undefined ? "n/a" : (x >= 0 ? "+" : "") + (x * 100).toFixed(2) + "%");

  async function api(path) {
    const r = await fetch(path, { headers: { Authorization: "Bearer " + state.token } });
    if (r.status === 401) { askToken("The token was refused."); throw new Error("401 " + path); }
    if (!r.ok) throw new Error(r.status + " " + path);
    return r.json();
  }

  function askToken(msg) {
    $("token-form").hidden = false;
    showError(msg);
  }
  function showError(msg) {
    const e = $("error");
    if (msg) { e.textContent = msg; e.hidden = false; } else { e.hidden = true; }
  }

  function renderStatus(s) {
    setText("mode", s.mode || "—");
    setText("config", s.config ? "config " + s.config : "");
    setText("champion-hash", s.champion_hash || "n/a");
    setText("capital", fmt2(s.capital), s.capital);
    const roi = $("roi");
    setText("roi", "ROI " + pct(s.roi), s.roi);
    roi.className = s.roi < 0 ? "neg" : "pos";
    const p = s.posture || {};
    setText("posture", p.posture || "n/a", p.posture);
    $("posture").className = "big " + (p.posture || "");
    setText("rm", p.Rm === null || p.Rm === undefined ? "n/a" : Number(p.Rm).toFixed(3), p.Rm);
    const a = s.acb || {};
    setText("acb-boost", a.boost === null || a.boost === undefined ? "n/a" : Number(a.boost).toFixed(4), a.boost);
    setText("acb-beta", a.beta === null || a.beta === undefined ? "n/a" : Number(a.beta).toFixed(2), a.beta);
    const mc = s.mc || {};
    setText("mc-status", mc.status || "n/a", mc.status);
    $("mc-status").className = "big " + (mc.status || "");
    setText("mc-date", mc.date ? "as of " + mc.date : "");
    setText("trade-count", String(s.trades), s.trades);
    setText("day-count", String(s.days), s.days);
  }

  function renderPosition(p) {
    const el = $("position");
    el.textContent = "";
    if (!p || !p.open) { el.textContent = "flat"; el.dataset.open = "false"; return; }
    el.dataset.open = "true";
    const t = document.createElement("table");
    for (const [k, v] of Object.entries(p.position)) {
      const tr = t.insertRow();
      const th = document.createElement("th"); th.className = "l"; th.textContent = k; tr.appendChild(th);
      const td = tr.insertCell();
      if (k === "unrealized_pnl" || k === "notional") td.textContent = fmt2(v);
      else if (typeof v === "number") td.textContent = Number.isInteger(v) ? String(v) : String(v);
      else td.textContent = typeof v === "string" ? v : JSON.stringify(v);
      if (k === "unrealized_pnl") { td.id = "position-pnl"; td.dataset.v = String(v); td.className = v < 0 ? "neg" : "pos"; }
    }
    el.appendChild(t);
  }

  function renderHealth(h) {
    const body = $("health-body");
    body.textContent = "";
    for (const s of h.services || []) {
      const tr = body.insertRow();
      tr.dataset.service = s.service;
      const c0 = tr.insertCell(); c0.className = "l"; c0.textContent = s.service;
      const c1 = tr.insertCell(); c1.textContent = s.heartbeat_age_s === null ? "n/a" : Number(s.heartbeat_age_s).toFixed(1);
      c1.dataset.v = String(s.heartbeat_age_s);
      const c2 = tr.insertCell(); c2.textContent = s.restarts === null || s.restarts === undefined ? "0" : String(s.restarts);
      const c3 = tr.insertCell(); c3.className = "l"; c3.textContent = s.last_error || "";
    }
    if (!(h.services || []).length) {
      const tr = body.insertRow(); const c = tr.insertCell(); c.colSpan = 4; c.className = "l"; c.textContent = "no services in this run";
    }
  }

  function renderTrades(trades) {
    const body = $("trades-body");
    body.textContent = "";
    for (const t of trades.slice().reverse()) {
      const tr = body.insertRow();
      tr.dataset.tradeId = t.trade_id;
      const cells = [t.trade_id, t.date, t.asset, t.entry_price, t.exit_price, Number(t.leverage).toFixed(2), fmt2(t.pnl), t.reason];
      cells.forEach((v, i) => { const c = tr.insertCell(); c.textContent = String(v); if (i === 1 || i === 2 || i === 7) c.className = "l"; if (i === 6) c.className = t.pnl < 0 ? "neg" : "pos"; });
    }
  }

  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  function lineChart(svg, xs, series, w, h, fillZero) {
    svg.textContent = "";
    const L = 64, R = 10, T = 10, B = 20;
    const ys = series.flatMap((s) => s.ys).filter((v) => Number.isFinite(v));
    if (!xs.length || !ys.length) { el("text", { x: w / 2, y: h / 2, "text-anchor": "middle" }, svg).textContent = "no data"; return; }
    let lo = Math.min(...ys), hi = Math.max(...ys);
    if (fillZero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    if (hi <= lo) { hi = lo + 1; lo -= 1; }
    const x0 = xs[0], x1 = Math.max(xs[xs.length - 1], x0 + 1e-9);
    const px = (x) => L + ((x - x0) / (x1 - x0)) * (w - L - R);
    const py = (y) => T + ((hi - y) / (hi - lo)) * (h - T - B);
    for (const t of [lo, (lo + hi) / 2, hi]) {
      el("line", { x1: L, x2: w - R, y1: py(t), y2: py(t), stroke: "#e3e3e3" }, svg);
      el("text", { x: L - 4, y: py(t) + 4, "font-size": 10, "text-anchor": "end" }, svg).textContent = Math.abs(hi - lo) < 5 ? t.toFixed(3) : t.toFixed(0);
    }
    for (const s of series) {
      const pts = xs.map((x, i) => px(x).toFixed(1) + "," + py(s.ys[i]).toFixed(1)).join(" ");
      if (fillZero) el("polygon", { points: px(x0) + "," + py(0) + " " + pts + " " + px(x1) + "," + py(0), fill: s.color, "fill-opacity": 0.25 }, svg);
      el("polyline", { points: pts, fill: "none", stroke: s.color, "stroke-width": 1.6 }, svg);
    }
  }

  function renderEquity(pnl, status) {
    const days = pnl.days || [];
    const xs = [], caps = [];
    if (days.length) { xs.push(0); caps.push(days[0].capital - days[0].pnl); }
    days.forEach((d, i) => { xs.push(i + 1); caps.push(d.capital); });
    if (status && days.length && status.capital !== caps[caps.length - 1]) { xs.push(days.length + 0.5); caps.push(status.capital); }
    lineChart($("equity-chart"), xs, [{ ys: caps, color: "#1f5fbf" }], 900, 220, false);
    let peak = -Infinity;
    const dd = caps.map((c) => { peak = Math.max(peak, c); return (c / peak - 1) * 100; });
    lineChart($("drawdown-chart"), xs, [{ ys: dd, color: "#b42318" }], 900, 120, true);
    $("equity-chart").dataset.points = String(caps.length);
  }

  function renderPosture(p) {
    const svg = $("posture-chart");
    svg.textContent = "";
    const pts = p.points || [];
    if (!pts.length) { el("text", { x: 220, y: 40, "text-anchor": "middle" }, svg).textContent = "no posture data"; return; }
    const t0 = pts[0].ts_ms, t1 = Math.max(pts[pts.length - 1].ts_ms + 3600000, t0 + 1);
    const px = (t) => 4 + ((t - t0) / (t1 - t0)) * 432;
    pts.forEach((q, i) => {
      const a = px(q.ts_ms), b = px(i + 1 < pts.length ? pts[i + 1].ts_ms : t1);
      const r = el("rect", { x: a, y: 8, width: Math.max(b - a, 0.5), height: 40, fill: POSTURE_COLOR[q.posture] || "#9e9e9e" }, svg);
      el("title", {}, r).textContent = new Date(q.ts_ms).toISOString() + " " + q.posture;
    });
    el("text", { x: 4, y: 64, "font-size": 10 }, svg).textContent = new Date(t0).toISOString().slice(0, 16).replace("T", " ");
    el("text", { x: 436, y: 64, "font-size": 10, "text-anchor": "end" }, svg).textContent = pts[pts.length - 1].posture + " now";
    svg.dataset.points = String(pts.length);
  }

  function renderAcb(a) {
    const pts = a.points || [];
    const xs = pts.map((p, i) => (p.ts_ms === null ? i : p.ts_ms));
    lineChart($("acb-chart"), xs, [{ ys: pts.map((p) => p.boost), color: "#1f5fbf" }, { ys: pts.map((p) => p.beta), color: "#ef6c00" }], 440, 140, false);
    $("acb-chart").dataset.points = String(pts.length);
  }

  async function refreshHistory(status) {
    const [pnl, posture, acb] = await Promise.all([api("/api/v1/pnl"), api("/api/v1/posture"), api("/api/v1/acb")]);
    renderEquity(pnl, status);
    renderPosture(posture);
    renderAcb(acb);
  }

  async function onUpdate(u) {
    renderStatus(u.status);
    renderPosition(u.position);
    renderHealth(u.health);
    renderTrades(u.recent_trades || []);
    if (u.status.trades !== state.trades || state.version === null || u.status.days !== state.days) {
      await refreshHistory(u.status);
      state.trades = u.status.trades;
      state.days = u.status.days;
    }
    state.version = u.version;
    setText("version", String(u.version));
    setText("updated", new Date().toISOString().slice(11, 19) + " UTC");
    document.body.dataset.version = String(u.version);
  }

  // SSE over fetch, so that the bearer token goes in a header (EventSource cannot send one).
  async function follow() {
    let backoff = 500;
    for (;;) {
      try {
        const r = await fetch("/api/v1/events", { headers: { Authorization: "Bearer " + state.token, Accept: "text/event-stream" } });
        if (r.status === 401) { askToken("The token was refused."); return; }
        if (!r.ok || !r.body) throw new Error("events: HTTP " + r.status);
        setConn(true);
        backoff = 500;
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i); buf = buf.slice(i + 2);
            let ev = "message", data = [];
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) ev = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
            }
            if (ev === "update" && data.length) await onUpdate(JSON.parse(data.join("\n")));
          }
        }
      } catch (e) {
        showError("live updates interrupted: " + e.message + "; reconnecting");
      }
      setConn(false);
      await new Promise((res) => setTimeout(res, backoff));
      backoff = Math.min(backoff * 2, 10000);
    }
  }
  function setConn(on) {
    state.connected = on;
    const c = $("conn");
    c.textContent = on ? "live" : "offline";
    c.className = "badge " + (on ? "on" : "off");
    if (on) showError(null);
  }

  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.token = $("token-input").value.trim();
    sessionStorage.setItem("dolphin-token", state.token);
    $("token-form").hidden = true;
    follow();
  });

  state.token = readToken();
  if (state.token === null) {
    // A server without auth (loopback only) answers without a token.
    fetch("/api/v1/status").then((r) => {
      if (r.ok) { state.token = ""; follow(); } else askToken("Give the API token to connect.");
    });
  } else {
    follow();
  }
})();
