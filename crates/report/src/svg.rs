//! Inline SVG charts for the tear sheet: line/area charts, bar charts and a state timeline.
//! Plain SVG text (no fonts to embed, no scripts), so the report opens anywhere offline.

use std::fmt::Write;

const W: f64 = 900.0;
const H: f64 = 260.0;
const L: f64 = 78.0;
const R: f64 = 16.0;
const T: f64 = 30.0;
const B: f64 = 36.0;

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// One line of a [`line_chart`].
pub struct Series<'a> {
    pub label: &'a str,
    pub ys: &'a [f64],
    pub color: &'a str,
    /// Shade the area between the line and zero (or the axis bottom).
    pub fill: bool,
}

/// "Nice" tick values covering `[lo, hi]`.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    // Also when either bound is NaN.
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![lo];
    }
    let raw = (hi - lo) / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let k0 = (lo / step - 1e-9).ceil() as i64;
    let k1 = (hi / step + 1e-9).floor() as i64;
    // k·step, rounded to 12 significant digits so that 3 × 0.01 reads 0.03.
    (k0..=k1)
        .map(|k| {
            format!("{:.12e}", k as f64 * step)
                .parse::<f64>()
                .unwrap_or(k as f64 * step)
                + 0.0
        })
        .collect()
}

fn frame(id: &str, title: &str) -> String {
    format!(
        "<svg id=\"{}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" \
         width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{}\">\
         <rect width=\"{W}\" height=\"{H}\" fill=\"#fff\"/>\
         <text x=\"{L}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        esc(id),
        esc(title),
        esc(title)
    )
}

/// A line chart over shared x values; `x_label` formats the x ticks, `y_fmt` the y ticks.
pub fn line_chart(
    id: &str,
    title: &str,
    xs: &[f64],
    series: &[Series<'_>],
    x_label: &dyn Fn(f64) -> String,
    y_fmt: &dyn Fn(f64) -> String,
) -> String {
    let mut s = frame(id, title);
    let finite = |v: &&f64| v.is_finite();
    let ys = series.iter().flat_map(|se| se.ys.iter().filter(finite));
    let (mut lo, mut hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
        (a.min(v), b.max(v))
    });
    if series.iter().any(|se| se.fill) {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if !lo.is_finite() || xs.is_empty() {
        s.push_str("<text x=\"450\" y=\"130\" text-anchor=\"middle\">no data</text></svg>");
        return s;
    }
    if hi <= lo {
        hi = lo + 1.0;
        lo -= 1.0;
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (lo - pad, hi + pad);
    let (x0, x1) = (xs[0], xs[xs.len() - 1].max(xs[0] + 1e-12));
    let px = |x: f64| L + (x - x0) / (x1 - x0) * (W - L - R);
    let py = |y: f64| T + (hi - y) / (hi - lo) * (H - T - B);
    for t in ticks(lo, hi, 5) {
        let y = py(t);
        let _ = write!(
            s,
            "<line x1=\"{L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e3e3e3\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            W - R,
            L - 6.0,
            y + 4.0,
            esc(&y_fmt(t))
        );
    }
    let nx = 6.min(xs.len());
    for i in 0..nx {
        let x = if nx > 1 {
            x0 + (x1 - x0) * i as f64 / (nx - 1) as f64
        } else {
            x0
        };
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            px(x),
            H - B + 16.0,
            esc(&x_label(x))
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{L}\" x2=\"{L}\" y1=\"{T}\" y2=\"{}\" stroke=\"#888\"/>\
         <line x1=\"{L}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#888\"/>",
        H - B,
        W - R,
        H - B,
        H - B
    );
    for (k, se) in series.iter().enumerate() {
        let mut pts = String::new();
        for (x, y) in xs.iter().zip(se.ys) {
            if y.is_finite() {
                let _ = write!(pts, "{:.2},{:.2} ", px(*x), py(*y));
            }
        }
        if se.fill {
            let base = py(0.0f64.clamp(lo, hi));
            let _ = write!(
                s,
                "<polygon points=\"{:.2},{base:.2} {pts}{:.2},{base:.2}\" fill=\"{}\" fill-opacity=\"0.25\"/>",
                px(x0),
                px(xs[se.ys.len().min(xs.len()).saturating_sub(1)]),
                se.color
            );
        }
        let _ = write!(
            s,
            "<polyline points=\"{pts}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\"/>\
             <text x=\"{}\" y=\"18\" font-size=\"12\" fill=\"{}\">{}</text>",
            se.color,
            W - R - 160.0 * (series.len() - k) as f64,
            se.color,
            esc(se.label)
        );
    }
    s.push_str("</svg>");
    s
}

/// A bar chart: one bar per label.
pub fn bar_chart(id: &str, title: &str, labels: &[String], values: &[f64], color: &str) -> String {
    let mut s = frame(id, title);
    if values.is_empty() {
        s.push_str("<text x=\"450\" y=\"130\" text-anchor=\"middle\">no data</text></svg>");
        return s;
    }
    let hi = values.iter().copied().fold(0.0f64, f64::max).max(1e-12);
    let lo = values.iter().copied().fold(0.0f64, f64::min);
    let py = |y: f64| T + (hi - y) / (hi - lo) * (H - T - B);
    for t in ticks(lo, hi, 4) {
        let _ = write!(
            s,
            "<line x1=\"{L}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#e3e3e3\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            W - R,
            py(t),
            py(t),
            L - 6.0,
            py(t) + 4.0,
            fmt_tick(t)
        );
    }
    let n = values.len() as f64;
    let bw = (W - L - R) / n;
    let every = (labels.len() / 12).max(1);
    for (i, (v, lab)) in values.iter().zip(labels).enumerate() {
        let x = L + bw * i as f64;
        let (y0, y1) = (py(v.max(0.0)), py(v.min(0.0)));
        let _ = write!(
            s,
            "<rect x=\"{:.2}\" y=\"{y0:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{color}\">\
             <title>{}: {}</title></rect>",
            x + bw * 0.1,
            bw * 0.8,
            (y1 - y0).max(0.0),
            esc(lab),
            fmt_tick(*v)
        );
        if i % every == 0 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
                x + bw / 2.0,
                H - B + 14.0,
                esc(lab)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A state timeline: `(x_start, x_end, state, colour)` bands over `[x0, x1]`.
pub fn timeline(
    id: &str,
    title: &str,
    bands: &[(f64, f64, String, &str)],
    x_label: &dyn Fn(f64) -> String,
) -> String {
    let mut s = frame(id, title);
    if bands.is_empty() {
        s.push_str("<text x=\"450\" y=\"130\" text-anchor=\"middle\">no data</text></svg>");
        return s;
    }
    let x0 = bands[0].0;
    let x1 = bands[bands.len() - 1].1.max(x0 + 1e-12);
    let px = |x: f64| L + (x - x0) / (x1 - x0) * (W - L - R);
    for (a, b, state, color) in bands {
        let _ = write!(
            s,
            "<rect x=\"{:.2}\" y=\"{T}\" width=\"{:.2}\" height=\"{}\" fill=\"{color}\">\
             <title>{}</title></rect>",
            px(*a),
            (px(*b) - px(*a)).max(0.5),
            H - T - B,
            esc(state)
        );
    }
    for i in 0..6 {
        let x = x0 + (x1 - x0) * i as f64 / 5.0;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            px(x),
            H - B + 16.0,
            esc(&x_label(x))
        );
    }
    s.push_str("</svg>");
    s
}

fn fmt_tick(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(-0.03, 0.0, 3), vec![-0.03, -0.02, -0.01, 0.0]);
        assert_eq!(esc("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
    }
}
