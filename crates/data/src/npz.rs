//! NG3's eigenvalue output (seeds B §3.2): `eigenvalues/YYYY-MM-DD/scan_NNNNNN__Indicators.npz`
//! (ACBv6 external factors) and `scan_NNNNNN__scan_global.npz` (`lambda_vel_w750`, the
//! dynamic-beta input), read with a real `.npz` decoder.
//!
//! An `.npz` file is a zip archive (stored or deflated members, read with the `zip` crate) of
//! `.npy` arrays, decoded by the maintained `ndarray-npy` crate (numpy's format versions 1.0,
//! 2.0 and 3.0; every integer and float dtype in either byte order and `|b1`; Fortran order).
//! Values are returned as f64 in C (row-major) order.
//!
//! Per date, ACBv6 takes the median over the first 10 scans (by scan number) of each value
//! (B §3.2, §10.2; SPEC §3). NaN and absent values are ignored; a date where every scan lacks
//! a value has `None` for it. A value must be a 0-d scalar or an array of one element.

use crate::error::DataError;
use dolphin_core::{ExternalFactors, InputWarning, InputWarnings, NanRule, RowUnit, UtcDate};
use ndarray::ArrayD;
use ndarray_npy::npy::header::Header;
use ndarray_npy::{ReadNpyExt, ReadableElement};
use py_literal::Value as PyValue;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The ACBv6 factors in an Indicators npz, in [`ExternalFactors`] order.
pub const NG3_INDICATOR_KEYS: [&str; 4] = ["funding_btc", "dvol_btc", "fng", "taker"];

/// Scans per date that ACBv6 aggregates (seeds B §3.2: "max 10 scans per date").
pub const NG3_SCANS_PER_DATE: usize = 10;

/// One array of an `.npz` file: its shape (empty for a 0-d scalar) and values in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl NpyArray {
    /// The single value of a 0-d array or an array with one element.
    pub fn scalar(&self) -> Option<f64> {
        (self.data.len() == 1).then(|| self.data[0])
    }
}

/// Reads every `.npy` member of an `.npz` archive (B §3.2), keyed by member name without
/// the `.npy` suffix.
pub fn read_npz(path: &Path) -> Result<BTreeMap<String, NpyArray>, DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    read_npz_from(path, std::io::BufReader::new(file))
}

/// [`read_npz`] on bytes in memory; `path` only names the file in errors (the fuzz target's
/// entry point, fuzz/).
pub fn read_npz_bytes(path: &Path, bytes: &[u8]) -> Result<BTreeMap<String, NpyArray>, DataError> {
    read_npz_from(path, std::io::Cursor::new(bytes))
}

/// A member larger than this is refused before it is decompressed (NG3's members are a few
/// hundred bytes; a zip header can announce any size).
pub const MAX_NPY_MEMBER_BYTES: u64 = 256 << 20;

fn read_npz_from<R: Read + std::io::Seek>(
    path: &Path,
    reader: R,
) -> Result<BTreeMap<String, NpyArray>, DataError> {
    let zip_err = |e: zip::result::ZipError| DataError::Zip {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(zip_err)?;
    let mut out = BTreeMap::new();
    let mut buf = Vec::new();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(zip_err)?;
        if member.is_dir() {
            continue;
        }
        let name = member.name().to_string();
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        buf.clear();
        if member.size() > MAX_NPY_MEMBER_BYTES {
            return Err(DataError::Zip {
                path: path.to_path_buf(),
                message: format!(
                    "member `{name}` announces {} bytes, more than the {MAX_NPY_MEMBER_BYTES} accepted",
                    member.size()
                ),
            });
        }
        // `take` bounds what is read even when the announced size is wrong.
        (&mut member)
            .take(MAX_NPY_MEMBER_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| DataError::Zip {
                path: path.to_path_buf(),
                message: format!("member `{name}`: {e}"),
            })?;
        let array = parse_npy(&buf).map_err(|message| DataError::Npy {
            path: path.to_path_buf(),
            entry: key.clone(),
            message,
        })?;
        out.insert(key, array);
    }
    Ok(out)
}

/// Decodes one `.npy` blob; the error is a plain message (the caller adds file and member).
///
/// The header and the values are read by `ndarray-npy` (every numeric dtype in either byte
/// order, `|b1`, Fortran order; values come back in C order). Before it allocates anything,
/// the header length and the data size the header announces are checked against the bytes
/// there are, so a corrupt or hostile header is an error, never a huge allocation. Bytes after
/// the data are ignored, as `np.load` does.
pub fn parse_npy(bytes: &[u8]) -> Result<NpyArray, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("missing the \\x93NUMPY magic".into());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, header_start): (usize, usize) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => {
            let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (
                usize::try_from(n).map_err(|_| "header length overflows")?,
                12,
            )
        }
        2 | 3 => return Err("truncated header length".into()),
        _ => return Err(format!("unsupported npy version {major}.{minor}")),
    };
    let data_start = header_start
        .checked_add(header_len)
        .filter(|&end| end <= bytes.len())
        .ok_or("truncated header")?;
    let header = Header::from_reader(&mut &bytes[..data_start]).map_err(|e| e.to_string())?;
    let PyValue::String(descr) = &header.type_descriptor else {
        return Err(format!(
            "unsupported dtype `{}` (structured dtypes are not supported)",
            header.type_descriptor
        ));
    };
    let item = match descr.as_bytes() {
        [b'<' | b'>' | b'|' | b'=', _, d] if d.is_ascii_digit() => usize::from(d - b'0'),
        _ => return Err(format!("unsupported dtype `{descr}`")),
    };
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or("shape overflows")?;
    let need = count.checked_mul(item).ok_or("data size overflows")?;
    let body = &bytes[data_start..];
    if body.len() < need {
        return Err(format!(
            "data holds {} bytes, shape {:?} of {descr} needs {need}",
            body.len(),
            header.shape
        ));
    }
    let exact = &bytes[..data_start + need];
    let data: Vec<f64> = match &descr[1..] {
        "f8" => values::<f64>(exact, |v| v)?,
        "f4" => values::<f32>(exact, f64::from)?,
        "i8" => values::<i64>(exact, |v| v as f64)?,
        "i4" => values::<i32>(exact, f64::from)?,
        "i2" => values::<i16>(exact, f64::from)?,
        "i1" => values::<i8>(exact, f64::from)?,
        "u8" => values::<u64>(exact, |v| v as f64)?,
        "u4" => values::<u32>(exact, f64::from)?,
        "u2" => values::<u16>(exact, f64::from)?,
        "u1" => values::<u8>(exact, f64::from)?,
        "b1" => values::<bool>(exact, |v| f64::from(u8::from(v)))?,
        _ => return Err(format!("unsupported dtype `{descr}`")),
    };
    Ok(NpyArray {
        shape: header.shape,
        data,
    })
}

/// The values of an npy blob whose data size was checked, in C (row-major) order.
fn values<T: ReadableElement + Copy>(
    exact: &[u8],
    to_f64: impl Fn(T) -> f64,
) -> Result<Vec<f64>, String> {
    let a = ArrayD::<T>::read_npy(exact).map_err(|e| e.to_string())?;
    Ok(a.iter().map(|&v| to_f64(v)).collect())
}

/// SPEC §3: per date dir `eigenvalues/YYYY-MM-DD/`, median over the first 10 scans (by scan
/// number) of each indicator among `funding_btc`, `dvol_btc`, `fng`, `taker` (names as keys in
/// the Indicators npz; NaN/missing ignored; all missing → None). `eigen_root` is the
/// `eigenvalues/` directory. Dates without any Indicators file are not in the map.
///
/// `eigen_root` may also be one date folder `YYYY-MM-DD/` holding the scan files itself. A
/// value of ±inf is left out with a warning (NaN is NG3's "no value" and is left out without
/// one); an Indicators file with none of the four keys is a warning. A root without any
/// Indicators file is an error.
pub fn load_ng3_indicators(
    eigen_root: &Path,
    warnings: &mut InputWarnings,
) -> Result<BTreeMap<UtcDate, ExternalFactors>, DataError> {
    let mut out = BTreeMap::new();
    for (date, dir) in date_dirs(eigen_root)? {
        let scans = first_scans(&dir, "Indicators")?;
        if scans.is_empty() {
            continue;
        }
        let mut values: [Vec<f64>; 4] = Default::default();
        for path in &scans {
            let arrays = read_npz(path)?;
            if NG3_INDICATOR_KEYS.iter().all(|k| !arrays.contains_key(*k)) {
                warnings.push(InputWarning::new(
                    path.display(),
                    RowUnit::Line,
                    None,
                    "arrays",
                    format!(
                        "none of {}: the scan adds no factor",
                        NG3_INDICATOR_KEYS.join(", ")
                    ),
                ));
            }
            for (slot, key) in values.iter_mut().zip(NG3_INDICATOR_KEYS) {
                if let Some(v) = scalar_of(path, &arrays, key, warnings)? {
                    slot.push(v);
                }
            }
        }
        let [funding, dvol, fng, taker] = values.map(median);
        out.insert(
            date,
            ExternalFactors {
                date,
                funding_btc: funding,
                dvol_btc: dvol,
                fng,
                taker,
            },
        );
    }
    if out.is_empty() {
        return Err(DataError::MissingFile {
            path: eigen_root.to_path_buf(),
            what: "no NG3 `scan_NNNNNN__Indicators.npz` file (in YYYY-MM-DD folders)".into(),
        });
    }
    Ok(out)
}

/// Whether `dir` is laid out as NG3's eigenvalue output (B §3.2): date folders
/// `YYYY-MM-DD/` with `scan_*__Indicators.npz` files, or one such date folder itself. The CLI
/// reads such a folder with [`load_ng3_indicators`], any other with the CSV tables.
pub fn is_ng3_folder(dir: &Path) -> bool {
    let has_scans = |d: &Path| first_scans(d, "Indicators").is_ok_and(|s| !s.is_empty());
    if dir_date(dir).is_some() && has_scans(dir) {
        return true;
    }
    date_dirs(dir).is_ok_and(|dirs| dirs.iter().any(|(_, d)| has_scans(d)))
}

fn dir_date(dir: &Path) -> Option<UtcDate> {
    dir.file_name()?.to_str()?.parse().ok()
}

/// Seeds B §3.2, §10.3 and SPEC §3 (ACB scale 3): median over the first 10 scans (by scan
/// number) of `lambda_vel_w750` in the `scan_global` npz files, per date. Dates without any
/// finite value are not in the map.
pub fn load_ng3_w750(
    eigen_root: &Path,
    warnings: &mut InputWarnings,
) -> Result<BTreeMap<UtcDate, f64>, DataError> {
    let mut out = BTreeMap::new();
    for (date, dir) in date_dirs(eigen_root)? {
        let mut vals = Vec::new();
        for path in first_scans(&dir, "scan_global")? {
            let arrays = read_npz(&path)?;
            if let Some(v) = scalar_of(&path, &arrays, "lambda_vel_w750", warnings)? {
                vals.push(v);
            }
        }
        if let Some(m) = median(vals) {
            out.insert(date, m);
        }
    }
    Ok(out)
}

/// The finite single value stored under `key`, if any; an array with several values is an
/// error (which one would be meant is unknown).
fn scalar_of(
    path: &Path,
    arrays: &BTreeMap<String, NpyArray>,
    key: &str,
    warnings: &mut InputWarnings,
) -> Result<Option<f64>, DataError> {
    let Some(a) = arrays.get(key) else {
        return Ok(None);
    };
    match a.data.len() {
        0 => Ok(None),
        1 if a.data[0].is_infinite() => {
            warnings.push(InputWarning::new(
                path.display(),
                RowUnit::Line,
                None,
                key,
                format!(
                    "{} is not a finite value: left out of the median",
                    a.data[0]
                ),
            ));
            Ok(None)
        }
        1 => Ok(Some(a.data[0]).filter(|v| v.is_finite())),
        n => Err(DataError::Npy {
            path: path.to_path_buf(),
            entry: key.to_string(),
            message: format!("expected one value, found {n} (shape {:?})", a.shape),
        }),
    }
}

/// B §3.2 "median-aggregated": NaN/inf mark a scan without the value, so they are left out.
fn median(v: Vec<f64>) -> Option<f64> {
    dolphin_core::median(&v, NanRule::SkipNonFinite)
}

/// Sub-directories `YYYY-MM-DD` of the eigenvalue root, sorted by date; the root itself when
/// it is a date folder without date sub-directories.
fn date_dirs(root: &Path) -> Result<Vec<(UtcDate, PathBuf)>, DataError> {
    let mut out = date_subdirs(root)?;
    if out.is_empty()
        && let Some(date) = dir_date(root)
    {
        out.push((date, root.to_path_buf()));
    }
    Ok(out)
}

fn date_subdirs(root: &Path) -> Result<Vec<(UtcDate, PathBuf)>, DataError> {
    if !root.is_dir() {
        return Err(DataError::MissingDir {
            path: root.to_path_buf(),
        });
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root).map_err(|e| DataError::io(root, e))? {
        let path = entry.map_err(|e| DataError::io(root, e))?.path();
        let date = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<UtcDate>().ok());
        if let Some(date) = date.filter(|_| path.is_dir()) {
            out.push((date, path));
        }
    }
    out.sort();
    Ok(out)
}

/// The first [`NG3_SCANS_PER_DATE`] files `scan_<digits>__<kind>.npz` of `dir` by scan number.
fn first_scans(dir: &Path, kind: &str) -> Result<Vec<PathBuf>, DataError> {
    let suffix = format!("__{kind}.npz");
    let mut scans: Vec<(u64, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        let number = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("scan_"))
            .and_then(|n| n.strip_suffix(suffix.as_str()))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(n) = number {
            scans.push((n, path));
        }
    }
    scans.sort();
    scans.truncate(NG3_SCANS_PER_DATE);
    Ok(scans.into_iter().map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, fortran: bool, shape: &str, body: &[u8]) -> Vec<u8> {
        let f = if fortran { "True" } else { "False" };
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn header_and_dtypes() {
        let a = parse_npy(&npy("<f8", false, "()", &2.5f64.to_le_bytes())).unwrap();
        assert_eq!(a.shape, Vec::<usize>::new());
        assert_eq!(a.scalar(), Some(2.5));
        let body: Vec<u8> = [-3i32, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = parse_npy(&npy("<i4", false, "(2,)", &body)).unwrap();
        assert_eq!(a.data, vec![-3.0, 7.0]);
        let a = parse_npy(&npy("|b1", false, "(3,)", &[1, 0, 1])).unwrap();
        assert_eq!(a.data, vec![1.0, 0.0, 1.0]);
        // Big-endian is read by value; a complex or string dtype is named in the error.
        let a = parse_npy(&npy(">f8", false, "()", &2.5f64.to_be_bytes())).unwrap();
        assert_eq!(a.scalar(), Some(2.5));
        assert!(
            parse_npy(&npy("<c16", false, "()", &[0; 16]))
                .unwrap_err()
                .contains("<c16")
        );
        assert!(
            parse_npy(&npy("<U3", false, "()", &[0; 12]))
                .unwrap_err()
                .contains("<U3")
        );
        assert!(
            parse_npy(&npy("<f8", false, "(2,)", &[0; 8]))
                .unwrap_err()
                .contains("needs 16")
        );
        assert!(parse_npy(b"not an npy file").unwrap_err().contains("magic"));
    }

    #[test]
    fn fortran_order_is_reordered() {
        // 2x3 matrix [[1,2,3],[4,5,6]] stored column-major: 1,4,2,5,3,6.
        let body: Vec<u8> = [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = parse_npy(&npy("<f8", true, "(2, 3)", &body)).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn median_like_numpy() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, f64::NAN, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![f64::NAN]), None);
        assert_eq!(median(vec![]), None);
    }
}
