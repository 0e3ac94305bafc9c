//! Day-file reader (parquet via arrow-rs, SPEC §3; crates/data/src/day_file.rs) and the
//! day-file input rule (day_check.rs) on arbitrary bytes: an error or a frame, never a panic
//! or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(
    init: {
        // The reader turns a panic inside the parquet/arrow crates into an error
        // (`decode_guarded` in day_file.rs); libFuzzer's hook would abort on it before it is
        // caught. This hook only prints one line: a panic that escapes the reader still
        // aborts (libfuzzer-sys catches it at the top and aborts), so it is still found.
        std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    },
    |data: &[u8]| {
        let path = Path::new("2025-05-05.parquet");
        if let Ok(frame) = dolphin_data::read_day_file_bytes(path, data.to_vec()) {
            frame
                .check_shape()
                .expect("a frame read back has a consistent shape");
            let _ = dolphin_data::check_day_frame(path, &frame);
        }
    }
);
