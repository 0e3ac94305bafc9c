//! How every command shows the input defects it accepted (issue 14 item 1; docs/INPUTS.md):
//! one `warning:` line each on stderr (the first [`PRINTED`]), a row in the summary table and
//! `warnings` / `warnings_total` in the command's `run.json`.

use dolphin_core::InputWarnings;
use dolphin_data::MissingValues;

/// Warning lines printed; the rest are counted (and the first `InputWarnings::CAP` are in
/// `run.json`).
pub const PRINTED: usize = 20;

/// Prints the warning lines to stderr.
pub fn print_warnings(w: &InputWarnings) {
    for line in w.kept().iter().take(PRINTED) {
        eprintln!("warning: {line}");
    }
    let rest = w.total().saturating_sub(PRINTED as u64);
    if rest > 0 {
        eprintln!(
            "warning: ... and {rest} more input warning(s) (the first {} are in run.json)",
            w.kept().len()
        );
    }
}

/// The summary-table row of the warnings.
pub fn table_row(w: &InputWarnings) -> (&'static str, String) {
    let v = if w.is_empty() {
        "none".to_string()
    } else {
        format!("{} (see warning lines / run.json)", w.total())
    };
    ("input warnings", v)
}

/// The summary-table row of the values read as missing from day files.
pub fn missing_row(m: &MissingValues) -> (&'static str, String) {
    (
        "missing values",
        format!(
            "{} of {} rows without vel_div; {} NaN + {} bad prices",
            m.nan_vel_div, m.rows, m.nan_prices, m.bad_prices
        ),
    )
}

/// Adds `warnings`, `warnings_total` (and `missing_values`) to a `run.json` object.
pub fn add_to_run_json(
    run: &mut serde_json::Value,
    w: &InputWarnings,
    missing: Option<&MissingValues>,
) {
    if let Some(obj) = run.as_object_mut() {
        obj.insert(
            "warnings".into(),
            serde_json::to_value(w.kept()).expect("warnings serialize"),
        );
        obj.insert("warnings_total".into(), w.total().into());
        if let Some(m) = missing {
            obj.insert(
                "missing_values".into(),
                serde_json::to_value(m).expect("counts serialize"),
            );
        }
    }
}

/// Writes `run` as pretty JSON to `path` atomically.
pub fn write_run_json(path: &std::path::Path, run: &serde_json::Value) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(run)?;
    bytes.push(b'\n');
    dolphin_runtime::report::write_atomic(path, &bytes)?;
    Ok(())
}
