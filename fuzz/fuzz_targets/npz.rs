//! NPZ/NPY reader (NG3 layout, B §3.2; crates/data/src/npz.rs: zip + ndarray-npy) on
//! arbitrary bytes, as an archive and as one `.npy` member: an error or arrays whose value
//! count matches their shape, never a panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let check = |a: &dolphin_data::NpyArray| {
        assert_eq!(a.shape.iter().product::<usize>(), a.data.len());
    };
    if let Ok(arrays) = dolphin_data::read_npz_bytes(Path::new("scan_000001__Indicators.npz"), data)
    {
        arrays.values().for_each(check);
    }
    if let Ok(a) = dolphin_data::parse_npy(data) {
        check(&a);
    }
});
