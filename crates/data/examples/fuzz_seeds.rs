//! Writes the seed corpus of the fuzz targets (fuzz/corpus/, docs/INPUTS.md) from the shipped
//! sample data: small cuts of real day files and kline files. Run from the repository root:
//! `cargo run -p dolphin-data --example fuzz_seeds`.

use dolphin_core::DayFrame;
use std::io::Read;
use std::path::Path;

fn main() {
    let root = Path::new("fuzz/corpus");
    // Day files: the first 12 rows and 3 assets of two sample days (a few kB each, so that
    // libFuzzer's mutations reach every part of the file).
    let out = root.join("day_file");
    std::fs::create_dir_all(&out).unwrap();
    for day in ["2025-05-04", "2025-05-09"] {
        let f = dolphin_data::read_day_file(
            &Path::new("data/sample/days").join(format!("{day}.parquet")),
        )
        .unwrap();
        let mut cut = DayFrame::empty("2025-05-05".parse().unwrap(), f.assets[..3].to_vec());
        for r in 0..12.min(f.len()) {
            cut.timestamp
                .push(f.timestamp[r] - f.date.start_ms() + cut.date.start_ms());
            cut.scan_number.push(f.scan_number[r]);
            cut.vel_div.push(f.vel_div[r]);
            cut.v50_vel.push(f.v50_vel[r]);
            cut.v150_vel.push(f.v150_vel[r]);
            cut.v300_vel.push(f.v300_vel[r]);
            cut.v750_vel.push(f.v750_vel[r]);
            cut.instability_50.push(f.instability_50[r]);
            cut.instability_150.push(f.instability_150[r]);
            cut.prices.extend_from_slice(&f.row_prices(r)[..3]);
        }
        let tmp = tempfile_dir().join("2025-05-05.parquet");
        dolphin_data::write_day_file(&tmp, &cut).unwrap();
        std::fs::copy(&tmp, out.join(format!("sample-{day}.parquet"))).unwrap();
    }
    // Kline CSVs: the header and first 24 lines of two sample files.
    let out = root.join("kline_csv");
    std::fs::create_dir_all(&out).unwrap();
    for sym in ["BTCUSDT", "ADAUSDT"] {
        let p = Path::new("data/sample/klines-1m").join(format!("{sym}-1m.csv.gz"));
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&p).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let head: Vec<&str> = text.lines().take(25).collect();
        std::fs::write(
            out.join(format!("sample-{sym}.csv")),
            head.join("\n") + "\n",
        )
        .unwrap();
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("dolphin-fuzz-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
