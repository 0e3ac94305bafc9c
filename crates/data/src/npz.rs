//! NG3's eigenvalue output (seeds B §3.2): `eigenvalues/YYYY-MM-DD/scan_NNNNNN__Indicators.npz`
//! (ACBv6 external factors) and `scan_NNNNNN__scan_global.npz` (`lambda_vel_w750`, the
//! dynamic-beta input), read with a real `.npz` decoder.
//!
//! An `.npz` file is a zip archive (stored or deflated members) of `.npy` arrays. A `.npy`
//! array is the magic `\x93NUMPY`, a version byte pair (1.0, 2.0 or 3.0), a little-endian
//! header length (u16 for 1.0, u32 otherwise), a Python dict literal with `descr`,
//! `fortran_order` and `shape`, then the raw data. Supported dtypes: `<f8`, `<f4`, `<i8`,
//! `<i4`, `|b1` (also `|u1`, `|i1`); values are returned as f64 in C (row-major) order.
//!
//! Per date, ACBv6 takes the median over the first 10 scans (by scan number) of each value
//! (B §3.2, §10.2; SPEC §3). NaN and absent values are ignored; a date where every scan lacks
//! a value has `None` for it. A value must be a 0-d scalar or an array of one element.

use crate::error::DataError;
use dolphin_core::{ExternalFactors, UtcDate};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

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
    let zip_err = |e: zip::result::ZipError| DataError::Zip {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(zip_err)?;
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
        member.read_to_end(&mut buf).map_err(|e| DataError::Zip {
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
pub fn parse_npy(bytes: &[u8]) -> Result<NpyArray, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("missing the \\x93NUMPY magic".into());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, header_start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("truncated header length".into());
            }
            let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (n as usize, 12)
        }
        _ => return Err(format!("unsupported npy version {major}.{minor}")),
    };
    let data_start = header_start + header_len;
    if bytes.len() < data_start {
        return Err("truncated header".into());
    }
    let header = &bytes[header_start..data_start];
    let header: String = if major == 3 {
        std::str::from_utf8(header)
            .map_err(|_| "header is not UTF-8".to_string())?
            .to_string()
    } else {
        header.iter().map(|&b| char::from(b)).collect() // latin-1
    };
    let dict = parse_header(&header)?;
    let count = dict
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or("shape overflows")?;
    let (item, convert): (usize, fn(&[u8]) -> f64) = match dict.descr.as_str() {
        "<f8" => (8, |b| f64::from_le_bytes(b.try_into().expect("8 bytes"))),
        "<f4" => (4, |b| {
            f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes")))
        }),
        "<i8" => (8, |b| {
            i64::from_le_bytes(b.try_into().expect("8 bytes")) as f64
        }),
        "<i4" => (4, |b| {
            f64::from(i32::from_le_bytes(b.try_into().expect("4 bytes")))
        }),
        "|b1" | "|u1" => (1, |b| f64::from(b[0])),
        "|i1" => (1, |b| f64::from(b[0] as i8)),
        other => return Err(format!("unsupported dtype `{other}`")),
    };
    let need = count.checked_mul(item).ok_or("data size overflows")?;
    let body = &bytes[data_start..];
    if body.len() < need {
        return Err(format!(
            "data holds {} bytes, shape {:?} of {} needs {need}",
            body.len(),
            dict.shape,
            dict.descr
        ));
    }
    let mut data: Vec<f64> = body[..need].chunks_exact(item).map(convert).collect();
    if dict.fortran_order && dict.shape.len() > 1 {
        data = fortran_to_c(&data, &dict.shape);
    }
    Ok(NpyArray {
        shape: dict.shape,
        data,
    })
}

/// The three keys of an npy header.
struct NpyHeader {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses the Python dict literal of an npy header, e.g.
/// `{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }`.
fn parse_header(text: &str) -> Result<NpyHeader, String> {
    let mut p = Cursor {
        s: text.trim_end_matches(['\n', ' ', '\0']).as_bytes(),
        i: 0,
    };
    p.ws();
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.ws();
        match p.peek() {
            Some(b'}') => break,
            Some(b',') => {
                p.i += 1;
                continue;
            }
            None => return Err("unterminated header dict".into()),
            _ => {}
        }
        let key = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        match key.as_str() {
            "descr" => {
                if p.peek() == Some(b'[') {
                    return Err("structured dtypes are not supported".into());
                }
                descr = Some(p.string()?);
            }
            "fortran_order" => fortran = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => return Err(format!("unexpected header key `{other}`")),
        }
    }
    Ok(NpyHeader {
        descr: descr.ok_or("header lacks `descr`")?,
        fortran_order: fortran.ok_or("header lacks `fortran_order`")?,
        shape: shape.ok_or("header lacks `shape`")?,
    })
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!(
                "header: expected `{}` at byte {}",
                char::from(c),
                self.i
            ))
        }
    }
    fn string(&mut self) -> Result<String, String> {
        let q = self.peek().filter(|&b| b == b'\'' || b == b'"');
        let q = q.ok_or_else(|| format!("header: expected a quoted string at byte {}", self.i))?;
        self.i += 1;
        let start = self.i;
        while self.peek().is_some_and(|b| b != q) {
            self.i += 1;
        }
        let s = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.expect(q)?;
        Ok(s)
    }
    fn boolean(&mut self) -> Result<bool, String> {
        for (word, v) in [(&b"True"[..], true), (&b"False"[..], false)] {
            if self.s[self.i..].starts_with(word) {
                self.i += word.len();
                return Ok(v);
            }
        }
        Err(format!("header: expected True or False at byte {}", self.i))
    }
    fn tuple(&mut self) -> Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                Some(b')') => {
                    self.i += 1;
                    return Ok(dims);
                }
                Some(b',') => self.i += 1,
                Some(b) if b.is_ascii_digit() => {
                    let start = self.i;
                    while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                        self.i += 1;
                    }
                    let text = std::str::from_utf8(&self.s[start..self.i]).expect("digits");
                    // Python 2 headers may write `3L`.
                    if self.peek() == Some(b'L') {
                        self.i += 1;
                    }
                    dims.push(
                        text.parse()
                            .map_err(|_| format!("header: bad dimension `{text}`"))?,
                    );
                }
                _ => return Err(format!("header: bad shape tuple at byte {}", self.i)),
            }
        }
    }
}

/// Reorders column-major (Fortran) data of `shape` into row-major (C) order.
fn fortran_to_c(data: &[f64], shape: &[usize]) -> Vec<f64> {
    let nd = shape.len();
    let mut f_strides = vec![1usize; nd];
    for k in 1..nd {
        f_strides[k] = f_strides[k - 1] * shape[k - 1];
    }
    let mut idx = vec![0usize; nd];
    let mut out = Vec::with_capacity(data.len());
    for _ in 0..data.len() {
        out.push(
            data[idx
                .iter()
                .zip(&f_strides)
                .map(|(i, s)| i * s)
                .sum::<usize>()],
        );
        for k in (0..nd).rev() {
            idx[k] += 1;
            if idx[k] < shape[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    out
}

/// SPEC §3: per date dir `eigenvalues/YYYY-MM-DD/`, median over the first 10 scans (by scan
/// number) of each indicator among `funding_btc`, `dvol_btc`, `fng`, `taker` (names as keys in
/// the Indicators npz; NaN/missing ignored; all missing → None). `eigen_root` is the
/// `eigenvalues/` directory. Dates without any Indicators file are not in the map.
pub fn load_ng3_indicators(
    eigen_root: &Path,
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
            for (slot, key) in values
                .iter_mut()
                .zip(["funding_btc", "dvol_btc", "fng", "taker"])
            {
                if let Some(v) = scalar_of(path, &arrays, key)? {
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
    Ok(out)
}

/// Seeds B §3.2, §10.3 and SPEC §3 (ACB scale 3): median over the first 10 scans (by scan
/// number) of `lambda_vel_w750` in the `scan_global` npz files, per date. Dates without any
/// finite value are not in the map.
pub fn load_ng3_w750(eigen_root: &Path) -> Result<BTreeMap<UtcDate, f64>, DataError> {
    let mut out = BTreeMap::new();
    for (date, dir) in date_dirs(eigen_root)? {
        let mut vals = Vec::new();
        for path in first_scans(&dir, "scan_global")? {
            let arrays = read_npz(&path)?;
            if let Some(v) = scalar_of(&path, &arrays, "lambda_vel_w750")? {
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
) -> Result<Option<f64>, DataError> {
    let Some(a) = arrays.get(key) else {
        return Ok(None);
    };
    match a.data.len() {
        0 => Ok(None),
        1 => Ok(Some(a.data[0]).filter(|v| v.is_finite())),
        n => Err(DataError::Npy {
            path: path.to_path_buf(),
            entry: key.to_string(),
            message: format!("expected one value, found {n} (shape {:?})", a.shape),
        }),
    }
}

/// Median of the finite values (mean of the two middle ones for an even count, as numpy).
fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Sub-directories `YYYY-MM-DD` of the eigenvalue root, sorted by date.
fn date_dirs(root: &Path) -> Result<Vec<(UtcDate, PathBuf)>, DataError> {
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
        assert!(
            parse_npy(&npy(">f8", false, "()", &[0; 8]))
                .unwrap_err()
                .contains(">f8")
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
