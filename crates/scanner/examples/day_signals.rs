//! Dumps the signal columns of a folder of day files (`dolphin scan --out DIR`) as a CSV in the
//! layout of `tools/dense_reference.py`, so that `dense_reference.py compare` can check the
//! whole command against the numpy reference (issue 15).
//!
//! `cargo run -p dolphin-scanner --release --example day_signals -- DAYS_DIR OUT.csv`

use dolphin_data::{list_day_files, read_day_file};
use std::io::{BufWriter, Write};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, out] = args.as_slice() else {
        return Err("usage: day_signals DAYS_DIR OUT.csv".into());
    };
    let mut w = BufWriter::new(std::fs::File::create(out)?);
    writeln!(
        w,
        "timestamp,scan_number,vel_div,v50_lambda_max_velocity,v150_lambda_max_velocity,v300_lambda_max_velocity,v750_lambda_max_velocity,instability_50,instability_150"
    )?;
    let mut rows = 0usize;
    for (_, path) in list_day_files(std::path::Path::new(dir), None, None)? {
        let f = read_day_file(&path)?;
        for r in 0..f.len() {
            let v = [
                f.vel_div[r],
                f.v50_vel[r],
                f.v150_vel[r],
                f.v300_vel[r],
                f.v750_vel[r],
                f.instability_50[r],
                f.instability_150[r],
            ];
            let vals: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
            writeln!(
                w,
                "{},{},{}",
                f.timestamp[r],
                f.scan_number[r],
                vals.join(",")
            )?;
            rows += 1;
        }
    }
    w.flush()?;
    println!("{rows} rows → {out}");
    Ok(())
}
