//! A small aligned text table for printed summaries.

/// Renders rows of (label, value) as a two-column table with a title.
pub fn render(title: &str, rows: &[(&str, String)]) -> String {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let v = rows.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let line = format!("+{}+{}+\n", "-".repeat(w + 2), "-".repeat(v + 2));
    let mut out = String::new();
    out.push_str(&format!("{title}\n"));
    out.push_str(&line);
    for (k, val) in rows {
        out.push_str(&format!("| {k:<w$} | {val:>v$} |\n"));
    }
    out.push_str(&line);
    out
}

/// A percentage with two decimals, or "n/a".
pub fn pct(x: Option<f64>) -> String {
    x.map_or("n/a".to_string(), |v| format!("{:+.2}%", v * 100.0))
}

/// A number with `d` decimals, or "n/a".
pub fn num(x: Option<f64>, d: usize) -> String {
    x.map_or("n/a".to_string(), |v| format!("{v:.d$}"))
}
