//! NPZ reader and NG3 aggregation (seeds B §3.2, SPEC §3) on fixtures written by numpy
//! (`tests/fixtures/make_npz.py`).

use dolphin_core::{ExternalFactors, InputWarnings, UtcDate};
use dolphin_data::{
    DataError, NpyArray, is_ng3_folder, load_ng3_indicators, load_ng3_w750, read_npz,
};
use std::path::PathBuf;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).join(rel)
}

fn d(s: &str) -> UtcDate {
    s.parse().unwrap()
}

fn arr(shape: &[usize], data: &[f64]) -> NpyArray {
    NpyArray {
        shape: shape.to_vec(),
        data: data.to_vec(),
    }
}

#[test]
fn deflated_and_stored_archives() {
    for name in ["npz/deflated.npz", "npz/stored.npz"] {
        let m = read_npz(&fixture(name)).unwrap();
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "empty",
                "mat_c",
                "mat_f",
                "scalar_f8",
                "scalar_i4",
                "vec_b1",
                "vec_f4",
                "vec_i4",
                "vec_i8",
                "with_nan"
            ],
            "{name}"
        );
        assert_eq!(m["scalar_f8"], arr(&[], &[0.1]));
        assert_eq!(m["scalar_f8"].scalar(), Some(0.1));
        assert_eq!(m["scalar_i4"], arr(&[], &[42.0]));
        assert_eq!(m["vec_f4"], arr(&[3], &[1.5, -2.25, 3.0]));
        assert_eq!(m["vec_i8"], arr(&[3], &[-1_099_511_627_776.0, 0.0, 7.0]));
        assert_eq!(m["vec_i4"], arr(&[2], &[-3.0, 4.0]));
        assert_eq!(m["vec_b1"], arr(&[3], &[1.0, 0.0, 1.0]));
        let c = arr(&[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(m["mat_c"], c);
        assert_eq!(m["mat_f"], c, "Fortran order comes back in C order");
        assert!(m["with_nan"].data[0].is_nan());
        assert_eq!(m["with_nan"].data[1], 1.0);
        assert_eq!(m["empty"], arr(&[0], &[]));
        assert_eq!(m["empty"].scalar(), None);
    }
}

#[test]
fn npy_versions_1_2_3() {
    let m = read_npz(&fixture("npz/versions.npz")).unwrap();
    assert_eq!(m["v1"], arr(&[2], &[1.0, 2.0]));
    assert_eq!(m["v2"], arr(&[2], &[3.0, 4.0]));
    assert_eq!(m["v3"], arr(&[2], &[5.0, 6.0]));
}

#[test]
fn big_endian_is_read_by_value() {
    // np.savez(..., x=np.array([1.0], dtype=">f8")): ndarray-npy reads both byte orders.
    let m = read_npz(&fixture("npz/big_endian.npz")).unwrap();
    assert_eq!(m["x"], arr(&[1], &[1.0]));
}

#[test]
fn bad_archives_are_named() {
    let p = fixture("make_npz.py");
    let e = read_npz(&p).unwrap_err();
    assert!(matches!(e, DataError::Zip { .. }), "{e}");
    assert!(e.to_string().starts_with(&p.display().to_string()));
    // Headers that announce more than there is are errors, never allocations of that size.
    let e = dolphin_data::parse_npy(b"\x93NUMPY\x01\x00\xff\x7f{'descr'").unwrap_err();
    assert_eq!(e, "truncated header");
    let e = dolphin_data::parse_npy(b"\x93NUMPY\x02\x00\xff\xff\xff\xff{").unwrap_err();
    assert_eq!(e, "truncated header");
    let mut h = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }".to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(&[0; 16]);
    let e = dolphin_data::parse_npy(&b).unwrap_err();
    assert!(e.contains("needs 8000000000000"), "{e}");
}

#[test]
fn ng3_folder_detection_and_single_date_folder() {
    assert!(is_ng3_folder(&fixture("eigenvalues")));
    assert!(is_ng3_folder(&fixture("eigenvalues/2025-05-05")));
    assert!(!is_ng3_folder(&fixture("npz")));
    // One date folder given directly: its date from the folder name.
    let m = load_ng3_indicators(
        &fixture("eigenvalues/2025-05-05"),
        &mut InputWarnings::new(),
    )
    .unwrap();
    assert_eq!(
        m.keys().map(|d| d.to_string()).collect::<Vec<_>>(),
        ["2025-05-05"]
    );
    assert_eq!(m[&d("2025-05-05")].dvol_btc, Some(55.5));
    // A folder without Indicators files is an error naming it.
    let e = load_ng3_indicators(&fixture("npz"), &mut InputWarnings::new()).unwrap_err();
    assert!(e.to_string().contains("no NG3"), "{e}");
}

#[test]
fn ng3_infinite_value_is_left_out_with_a_warning() {
    // A copy of the 2025-05-06 fixture with one scan whose dvol_btc is +inf (an npy written
    // by hand: version 1.0, '<f8', shape ()).
    let dir = tempfile::tempdir().unwrap();
    let day = dir.path().join("2025-05-07");
    std::fs::create_dir(&day).unwrap();
    let mut h = "{'descr': '<f8', 'fortran_order': False, 'shape': (), }".to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(h.len() as u16).to_le_bytes());
    npy.extend_from_slice(h.as_bytes());
    let with = |v: f64| {
        let mut b = npy.clone();
        b.extend_from_slice(&v.to_le_bytes());
        b
    };
    for (n, v) in [(1, f64::INFINITY), (2, 40.0), (3, 50.0)] {
        let f = std::fs::File::create(day.join(format!("scan_00000{n}__Indicators.npz"))).unwrap();
        let mut z = zip::ZipWriter::new(f);
        z.start_file("dvol_btc.npy", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut z, &with(v)).unwrap();
        z.finish().unwrap();
    }
    let mut warnings = InputWarnings::new();
    let m = load_ng3_indicators(dir.path(), &mut warnings).unwrap();
    assert_eq!(m[&d("2025-05-07")].dvol_btc, Some(45.0)); // median of 40 and 50
    assert_eq!(warnings.total(), 1);
    let w = &warnings.kept()[0];
    assert!(w.file.ends_with("scan_000001__Indicators.npz"), "{w}");
    assert_eq!(w.field, "dvol_btc");
    assert!(w.what.contains("inf"), "{w}");
}

#[test]
fn ng3_indicators_median_of_first_ten_scans() {
    let mut warnings = InputWarnings::new();
    let m = load_ng3_indicators(&fixture("eigenvalues"), &mut warnings).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(m.len(), 2);
    // 2025-05-05, scans 1..10 (scan 2 is named `scan_2`; 11 and 12 hold outliers):
    //   funding_btc 1e-5..1e-4 with scan 4 NaN -> median of 9 values = 6e-5
    //   dvol_btc 51..60 (f4, shape (1,)) -> (55 + 56) / 2 = 55.5
    //   fng only in scans 1..3: 20, 30, 25 -> 25
    //   taker never present -> None
    assert_eq!(
        m[&d("2025-05-05")],
        ExternalFactors {
            date: d("2025-05-05"),
            funding_btc: Some(6e-05),
            dvol_btc: Some(55.5),
            fng: Some(25.0),
            taker: None,
        }
    );
    // 2025-05-06: every value NaN -> all None.
    assert_eq!(
        m[&d("2025-05-06")],
        ExternalFactors::absent(d("2025-05-06"))
    );
}

#[test]
fn ng3_w750_median_of_first_ten_scans() {
    let m = load_ng3_w750(&fixture("eigenvalues"), &mut InputWarnings::new()).unwrap();
    // 2025-05-05: 0.001..0.010 without scan 7 -> median of 9 values = 0.005.
    // 2025-05-06 has no scan_global files -> absent.
    assert_eq!(m.len(), 1);
    assert_eq!(m[&d("2025-05-05")], 0.005);
}

#[test]
fn ng3_missing_root_is_an_error() {
    let e = load_ng3_w750(&fixture("no-such-dir"), &mut InputWarnings::new()).unwrap_err();
    assert!(matches!(e, DataError::MissingDir { .. }), "{e}");
}
