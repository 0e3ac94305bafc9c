//! `dolphin top`: the terminal picture of a running system (issue 13 item 3) — capital,
//! posture, ACB, MC status, open position, recent trades and service heartbeats — read from
//! the HTTP API (`dolphin api` / `dolphin serve --api`) once a second. `q` or Esc quits.

use anyhow::Context;
use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// Base URL of the API.
    #[arg(long, default_value = "http://127.0.0.1:8787")]
    url: String,
    /// Bearer-token file (default: ~/.config/dolphin/api.token; none if it does not exist).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Refresh period in milliseconds.
    #[arg(long, default_value_t = 1000)]
    refresh_ms: u64,
}

/// What one refresh fetched.
#[derive(Default)]
struct View {
    status: Value,
    health: Value,
    position: Value,
    trades: Value,
    error: Option<String>,
    fetched: Option<Instant>,
}

struct Api {
    client: reqwest::blocking::Client,
    url: String,
    token: Option<String>,
}

impl Api {
    fn get(&self, path: &str) -> Result<Value, String> {
        let mut r = self.client.get(format!("{}{path}", self.url));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().map_err(|e| format!("{}: {e}", self.url))?;
        match resp.status().as_u16() {
            200 => resp.json().map_err(|e| format!("{path}: {e}")),
            401 => Err("401: the API refused the token (see --token-file)".into()),
            s => Err(format!("{path}: HTTP {s}")),
        }
    }

    fn fetch(&self) -> View {
        let all = (|| {
            Ok::<_, String>(View {
                status: self.get("/api/v1/status")?,
                health: self.get("/api/v1/health")?,
                position: self.get("/api/v1/position")?,
                trades: self.get("/api/v1/trades?tail=12")?,
                error: None,
                fetched: Some(Instant::now()),
            })
        })();
        all.unwrap_or_else(|e| View {
            error: Some(e),
            ..Default::default()
        })
    }
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let token_file = a.token_file.unwrap_or_else(dolphin_api::default_token_file);
    let token = match std::fs::read_to_string(&token_file) {
        Ok(t) => Some(t.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("token file {}", token_file.display())),
    };
    let api = Api {
        client: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()?,
        url: a.url.trim_end_matches('/').to_string(),
        token,
    };
    let mut terminal = ratatui::init();
    let result = (|| -> anyhow::Result<()> {
        let refresh = Duration::from_millis(a.refresh_ms.max(100));
        let mut view = api.fetch();
        let mut last = Instant::now();
        loop {
            terminal.draw(|f| draw(f, &view, &api.url))?;
            let wait = refresh.saturating_sub(last.elapsed());
            if event::poll(wait)?
                && let Event::Key(k) = event::read()?
            {
                let ctrl_c =
                    k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                if k.code == KeyCode::Char('q') || k.code == KeyCode::Esc || ctrl_c {
                    return Ok(());
                }
            }
            if last.elapsed() >= refresh {
                view = api.fetch();
                last = Instant::now();
            }
        }
    })();
    ratatui::restore();
    result
}

fn f2(v: &Value) -> String {
    v.as_f64().map_or("n/a".into(), |x| format!("{x:.2}"))
}

fn fmt(v: &Value, d: usize) -> String {
    v.as_f64().map_or("n/a".into(), |x| format!("{x:.d$}"))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "n/a".into(),
        v => v.to_string(),
    }
}

fn posture_color(p: &str) -> Color {
    match p {
        "APEX" => Color::Green,
        "STALKER" => Color::Yellow,
        "TURTLE" => Color::LightRed,
        "HIBERNATE" => Color::Red,
        _ => Color::Gray,
    }
}

fn card(f: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'_>>) {
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_string()),
        ),
        area,
    );
}

fn draw(f: &mut Frame, v: &View, url: &str) {
    let s = &v.status;
    let rows = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(4),
        Constraint::Length(4),
        Constraint::Min(6),
        Constraint::Length(1),
    ])
    .split(f.area());
    let head = match &v.error {
        Some(e) => Line::from(vec![
            Span::styled(
                "DOLPHIN top ",
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!("error: {e}"), Style::default().fg(Color::Red)),
        ]),
        None => Line::from(vec![
            Span::styled(
                "DOLPHIN top ",
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(
                "{url}  {}  config {}  champion {}",
                text(&s["mode"]),
                text(&s["config"]),
                text(&s["champion_hash"])
                    .chars()
                    .take(12)
                    .collect::<String>()
            )),
        ]),
    };
    f.render_widget(Paragraph::new(head), rows[0]);

    let cards = Layout::horizontal([Constraint::Ratio(1, 4); 4]).split(rows[1]);
    let roi = s["roi"]
        .as_f64()
        .map_or("n/a".into(), |r| format!("{:+.2}%", r * 100.0));
    card(
        f,
        cards[0],
        "Capital",
        vec![
            Line::from(Span::styled(
                format!("{} USDT", f2(&s["capital"])),
                Style::default().add_modifier(Modifier::BOLD),
            )),
            Line::from(format!("ROI {roi}  trades {}", text(&s["trades"]))),
        ],
    );
    let posture = text(&s["posture"]["posture"]);
    card(
        f,
        cards[1],
        "Posture",
        vec![
            Line::from(Span::styled(
                posture.clone(),
                Style::default()
                    .fg(posture_color(&posture))
                    .add_modifier(Modifier::BOLD),
            )),
            Line::from(format!("Rm {}", fmt(&s["posture"]["Rm"], 3))),
        ],
    );
    card(
        f,
        cards[2],
        "ACB",
        vec![
            Line::from(format!("boost {}", fmt(&s["acb"]["boost"], 4))),
            Line::from(format!("beta  {}", fmt(&s["acb"]["beta"], 2))),
        ],
    );
    card(
        f,
        cards[3],
        "MC-Forewarner",
        vec![
            Line::from(text(&s["mc"]["status"])),
            Line::from(format!("as of {}", text(&s["mc"]["date"]))),
        ],
    );

    let p = &v.position;
    let pos_line = if p["open"].as_bool() == Some(true) {
        let q = &p["position"];
        format!(
            "{} {}  entry {}  notional {}  unrealized PnL {}",
            text(&q["asset"]),
            text(&q["direction"]),
            text(&q["entry_price"]),
            f2(&q["notional"]),
            f2(&q["unrealized_pnl"])
        )
    } else {
        "flat".to_string()
    };
    let mid =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).split(rows[2]);
    card(f, mid[0], "Position", vec![Line::from(pos_line)]);
    let hb: Vec<String> = v.health["services"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    format!(
                        "{} {}s r{}",
                        text(&x["service"]),
                        fmt(&x["heartbeat_age_s"], 0),
                        text(&x["restarts"]).replace("n/a", "0")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    card(
        f,
        mid[1],
        "Heartbeats (age, restarts)",
        vec![Line::from(hb.join("  "))],
    );

    let bottom =
        Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).split(rows[3]);
    let trades: Vec<Row> = v.trades["trades"]
        .as_array()
        .map(|a| {
            a.iter()
                .rev()
                .map(|t| {
                    let pnl = t["pnl"].as_f64().unwrap_or(0.0);
                    Row::new(vec![
                        text(&t["trade_id"]),
                        text(&t["date"]),
                        text(&t["asset"]),
                        fmt(&t["leverage"], 2),
                        format!("{pnl:.2}"),
                        text(&t["reason"]),
                    ])
                    .style(Style::default().fg(if pnl < 0.0 {
                        Color::Red
                    } else {
                        Color::Green
                    }))
                })
                .collect()
        })
        .unwrap_or_default();
    f.render_widget(
        Table::new(
            trades,
            [
                Constraint::Length(4),
                Constraint::Length(10),
                Constraint::Length(9),
                Constraint::Length(5),
                Constraint::Length(8),
                Constraint::Min(8),
            ],
        )
        .header(
            Row::new(vec!["#", "date", "asset", "lev", "pnl", "reason"])
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title("Recent trades"),
        ),
        bottom[0],
    );
    let svc: Vec<Row> = v.health["services"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    Row::new(vec![
                        text(&x["service"]),
                        fmt(&x["heartbeat_age_s"], 1),
                        text(&x["restarts"]).replace("n/a", "0"),
                        text(&x["last_error"]).replace("n/a", ""),
                    ])
                })
                .collect()
        })
        .unwrap_or_default();
    f.render_widget(
        Table::new(
            svc,
            [
                Constraint::Length(9),
                Constraint::Length(7),
                Constraint::Length(3),
                Constraint::Min(5),
            ],
        )
        .header(
            Row::new(vec!["service", "age s", "rst", "last error"])
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(Block::default().borders(Borders::ALL).title("Services")),
        bottom[1],
    );
    let age = v.fetched.map_or("never".into(), |t| {
        format!("{:.1}s ago", t.elapsed().as_secs_f64())
    });
    f.render_widget(Paragraph::new(format!("updated {age} · q quits")), rows[4]);
}
