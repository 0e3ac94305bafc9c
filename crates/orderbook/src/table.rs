//! The recorded OB feature table: one row per (sample time, asset), stored as parquet via
//! arrow-rs (S Layer 4 feature set; column list in docs/OB_FEATURES.md).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Float64Array, Int8Array, Int64Array, RecordBatch, StringArray, UInt32Array,
};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use crate::features::{AssetFeatures, MacroFeatures};
use crate::stream::FeatureRow;

/// Why a feature table could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: parquet: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: ParquetError,
    },
    #[error("{path}: arrow: {source}")]
    Arrow {
        path: PathBuf,
        #[source]
        source: ArrowError,
    },
    #[error("{path}: missing column `{column}`")]
    MissingColumn { path: PathBuf, column: String },
    #[error("{path}: column `{column}` has type {found}, expected {expected}")]
    WrongType {
        path: PathBuf,
        column: String,
        found: String,
        expected: &'static str,
    },
    #[error("{path}: row {row}, column `{column}`: null value")]
    Null {
        path: PathBuf,
        row: usize,
        column: String,
    },
    #[error("{path}: the feature table has no rows (nothing for the OB layer to replay)")]
    Empty { path: PathBuf },
    #[error("{path}: row {row}: {message}")]
    BadRow {
        path: PathBuf,
        row: usize,
        message: String,
    },
}

type Get = fn(&FeatureRow) -> f64;
type Set = fn(&mut FeatureRow, f64);

/// Scalar f64 columns, in file order.
const F64_COLUMNS: &[(&str, Get, Set)] = &[
    (
        "mid_price",
        |r| r.features.mid_price,
        |r, v| r.features.mid_price = v,
    ),
    (
        "imbalance",
        |r| r.features.imbalance,
        |r, v| r.features.imbalance = v,
    ),
    (
        "imbalance_ma5",
        |r| r.features.imbalance_ma5,
        |r, v| r.features.imbalance_ma5 = v,
    ),
    (
        "imbalance_persistence",
        |r| r.features.imbalance_persistence,
        |r, v| r.features.imbalance_persistence = v,
    ),
    (
        "withdrawal_velocity",
        |r| r.features.withdrawal_velocity,
        |r, v| r.features.withdrawal_velocity = v,
    ),
    (
        "depth_quality",
        |r| r.features.depth_quality,
        |r, v| r.features.depth_quality = v,
    ),
    (
        "fill_probability",
        |r| r.features.fill_probability,
        |r, v| r.features.fill_probability = v,
    ),
    (
        "fill_probability_bid",
        |r| r.features.fill_probability_bid,
        |r, v| r.features.fill_probability_bid = v,
    ),
    (
        "fill_probability_ask",
        |r| r.features.fill_probability_ask,
        |r, v| r.features.fill_probability_ask = v,
    ),
    (
        "spread_proxy_bps",
        |r| r.features.spread_proxy_bps,
        |r, v| r.features.spread_proxy_bps = v,
    ),
    (
        "depth_1pct",
        |r| r.features.depth_1pct,
        |r, v| r.features.depth_1pct = v,
    ),
    (
        "depth_median_1pct",
        |r| r.features.depth_median_1pct,
        |r, v| r.features.depth_median_1pct = v,
    ),
    (
        "prev_depth_1pct",
        |r| r.features.prev_depth_1pct,
        |r, v| r.features.prev_depth_1pct = v,
    ),
    (
        "agreement_pct",
        |r| r.market.agreement_pct,
        |r, v| r.market.agreement_pct = v,
    ),
    (
        "macro_imbalance",
        |r| r.market.macro_imbalance,
        |r, v| r.market.macro_imbalance = v,
    ),
    (
        "macro_spread_bps",
        |r| r.market.macro_spread_bps,
        |r, v| r.market.macro_spread_bps = v,
    ),
    (
        "macro_withdrawal_velocity",
        |r| r.market.macro_withdrawal_velocity,
        |r, v| r.market.macro_withdrawal_velocity = v,
    ),
    (
        "macro_withdrawal_ma",
        |r| r.market.macro_withdrawal_ma,
        |r, v| r.market.macro_withdrawal_ma = v,
    ),
    (
        "macro_depth_quality",
        |r| r.market.macro_depth_quality,
        |r, v| r.market.macro_depth_quality = v,
    ),
];

/// Names of the raw-depth vectors; column `<name>_<k>pct` for k = 1..5.
const BAND_VECTORS: [&str; 4] = ["bid_notional", "ask_notional", "bid_depth", "ask_depth"];

fn band_mut(f: &mut AssetFeatures, v: usize) -> &mut [f64; 5] {
    match v {
        0 => &mut f.bid_notional,
        1 => &mut f.ask_notional,
        2 => &mut f.bid_depth,
        _ => &mut f.ask_depth,
    }
}

fn band(f: &AssetFeatures, v: usize) -> &[f64; 5] {
    match v {
        0 => &f.bid_notional,
        1 => &f.ask_notional,
        2 => &f.bid_depth,
        _ => &f.ask_depth,
    }
}

/// All rows of a feature table (SPEC §3), ordered by sample time then asset.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureTable {
    pub rows: Vec<FeatureRow>,
}

impl FeatureTable {
    /// The arrow schema of the parquet file (docs/OB_FEATURES.md "Feature table").
    pub fn schema() -> Schema {
        let mut fields = vec![
            Field::new("sample_ms", DataType::Int64, false),
            Field::new("asset", DataType::Utf8, false),
        ];
        fields.extend(
            F64_COLUMNS
                .iter()
                .map(|(n, _, _)| Field::new(*n, DataType::Float64, false)),
        );
        for v in BAND_VECTORS {
            for k in 1..=5 {
                fields.push(Field::new(format!("{v}_{k}pct"), DataType::Float64, false));
            }
        }
        fields.push(Field::new("n_assets", DataType::UInt32, false));
        fields.push(Field::new("cascade_count", DataType::UInt32, false));
        fields.push(Field::new("regime_signal", DataType::Int8, false));
        Schema::new(fields)
    }

    /// The rows as one arrow record batch.
    pub fn to_record_batch(&self) -> Result<RecordBatch, ArrowError> {
        let rows = &self.rows;
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.sample_ms),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.asset.as_str()),
            )),
        ];
        for (_, get, _) in F64_COLUMNS {
            cols.push(Arc::new(Float64Array::from_iter_values(
                rows.iter().map(get),
            )));
        }
        for v in 0..BAND_VECTORS.len() {
            for k in 0..5 {
                cols.push(Arc::new(Float64Array::from_iter_values(
                    rows.iter().map(|r| band(&r.features, v)[k]),
                )));
            }
        }
        cols.push(Arc::new(UInt32Array::from_iter_values(
            rows.iter().map(|r| r.market.n_assets),
        )));
        cols.push(Arc::new(UInt32Array::from_iter_values(
            rows.iter().map(|r| r.market.cascade_count),
        )));
        cols.push(Arc::new(Int8Array::from_iter_values(
            rows.iter().map(|r| r.market.regime_signal),
        )));
        RecordBatch::try_new(Arc::new(Self::schema()), cols)
    }

    /// Write the table as one parquet file.
    pub fn write_parquet(&self, path: &Path) -> Result<(), TableError> {
        let p = || path.to_path_buf();
        let batch = self
            .to_record_batch()
            .map_err(|source| TableError::Arrow { path: p(), source })?;
        let mut buf = Vec::new();
        // zstd level 9: 15 % smaller than uncompressed on the shipped sample (data/sample/ob).
        let level = ZstdLevel::try_new(9).expect("9 is a valid zstd level");
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .build();
        let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props))
            .map_err(|source| TableError::Parquet { path: p(), source })?;
        w.write(&batch)
            .map_err(|source| TableError::Parquet { path: p(), source })?;
        w.close()
            .map_err(|source| TableError::Parquet { path: p(), source })?;
        write_atomic(path, &buf).map_err(|source| TableError::Io { path: p(), source })
    }

    /// Read a table written by [`FeatureTable::write_parquet`] (extra columns are ignored).
    pub fn read_parquet(path: &Path) -> Result<FeatureTable, TableError> {
        let p = || path.to_path_buf();
        let file = File::open(path).map_err(|source| TableError::Io { path: p(), source })?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|source| TableError::Parquet { path: p(), source })?;
        let mut rows = Vec::new();
        for batch in reader {
            let batch = batch.map_err(|source| TableError::Arrow { path: p(), source })?;
            Self::read_batch(path, &batch, &mut rows)?;
        }
        Ok(FeatureTable { rows })
    }

    /// The replay rule for a table read from `path` (docs/INPUTS.md): at least one row,
    /// `sample_ms` never decreasing, no (sample, asset) twice.
    pub fn check(&self, path: &Path) -> Result<(), TableError> {
        if self.rows.is_empty() {
            return Err(TableError::Empty {
                path: path.to_path_buf(),
            });
        }
        let mut start = 0usize; // first row of the current sample time
        for (i, r) in self.rows.iter().enumerate().skip(1) {
            let prev = self.rows[i - 1].sample_ms;
            let bad = |message: String| TableError::BadRow {
                path: path.to_path_buf(),
                row: i,
                message,
            };
            if r.sample_ms < prev {
                return Err(bad(format!(
                    "sample_ms {} is earlier than row {}'s {prev}; rows must be in time order",
                    r.sample_ms,
                    i - 1
                )));
            }
            if r.sample_ms != prev {
                start = i;
            } else if let Some(j) = (start..i).find(|&j| self.rows[j].asset == r.asset) {
                return Err(bad(format!(
                    "asset {} at sample_ms {} already has row {j}",
                    r.asset, r.sample_ms
                )));
            }
        }
        Ok(())
    }

    fn read_batch(
        path: &Path,
        batch: &RecordBatch,
        rows: &mut Vec<FeatureRow>,
    ) -> Result<(), TableError> {
        let base = rows.len();
        let n = batch.num_rows();
        let ts: &Int64Array = column(path, batch, "sample_ms", "Int64")?;
        let asset: &StringArray = column(path, batch, "asset", "Utf8")?;
        for i in 0..n {
            no_null(path, ts, i, base, "sample_ms")?;
            no_null(path, asset, i, base, "asset")?;
            rows.push(FeatureRow {
                sample_ms: ts.value(i),
                asset: asset.value(i).to_string(),
                features: AssetFeatures::default(),
                market: MacroFeatures::default(),
            });
        }
        let out = &mut rows[base..];
        for (name, _, set) in F64_COLUMNS {
            let a: &Float64Array = column(path, batch, name, "Float64")?;
            for (i, r) in out.iter_mut().enumerate() {
                no_null(path, a, i, base, name)?;
                set(r, a.value(i));
            }
        }
        for (v, vname) in BAND_VECTORS.iter().enumerate() {
            for k in 0..5 {
                let name = format!("{vname}_{}pct", k + 1);
                let a: &Float64Array = column(path, batch, &name, "Float64")?;
                for (i, r) in out.iter_mut().enumerate() {
                    no_null(path, a, i, base, &name)?;
                    band_mut(&mut r.features, v)[k] = a.value(i);
                }
            }
        }
        let a: &UInt32Array = column(path, batch, "n_assets", "UInt32")?;
        for (i, r) in out.iter_mut().enumerate() {
            no_null(path, a, i, base, "n_assets")?;
            r.market.n_assets = a.value(i);
        }
        let a: &UInt32Array = column(path, batch, "cascade_count", "UInt32")?;
        for (i, r) in out.iter_mut().enumerate() {
            no_null(path, a, i, base, "cascade_count")?;
            r.market.cascade_count = a.value(i);
        }
        let a: &Int8Array = column(path, batch, "regime_signal", "Int8")?;
        for (i, r) in out.iter_mut().enumerate() {
            no_null(path, a, i, base, "regime_signal")?;
            r.market.regime_signal = a.value(i);
        }
        Ok(())
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it onto `path`, so
/// that `path` is either the old file or the complete new one (docs/INPUTS.md).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        name.unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn column<'b, T: 'static>(
    path: &Path,
    batch: &'b RecordBatch,
    name: &str,
    expected: &'static str,
) -> Result<&'b T, TableError> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| TableError::MissingColumn {
            path: path.to_path_buf(),
            column: name.to_string(),
        })?;
    col.as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| TableError::WrongType {
            path: path.to_path_buf(),
            column: name.to_string(),
            found: col.data_type().to_string(),
            expected,
        })
}

fn no_null(
    path: &Path,
    a: &dyn Array,
    i: usize,
    base: usize,
    name: &str,
) -> Result<(), TableError> {
    if a.is_null(i) {
        return Err(TableError::Null {
            path: path.to_path_buf(),
            row: base + i,
            column: name.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ts: i64, asset: &str, x: f64) -> FeatureRow {
        let mut f = AssetFeatures {
            mid_price: 100.0 + x,
            imbalance: x,
            prev_depth_1pct: f64::NAN,
            ..AssetFeatures::default()
        };
        f.bid_notional = [1.0, 2.0, 3.0, 4.0, 5.0 + x];
        f.ask_depth[4] = 9.5;
        FeatureRow {
            sample_ms: ts,
            asset: asset.to_string(),
            features: f,
            market: MacroFeatures {
                n_assets: 2,
                cascade_count: 1,
                regime_signal: -1,
                macro_imbalance: 0.25,
                ..MacroFeatures::default()
            },
        }
    }

    #[test]
    fn parquet_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.parquet");
        let t = FeatureTable {
            rows: vec![row(500, "BTCUSDT", 0.1), row(500, "ETHUSDT", -0.3)],
        };
        t.write_parquet(&path).unwrap();
        let back = FeatureTable::read_parquet(&path).unwrap();
        assert_eq!(back.rows.len(), 2);
        for (a, b) in t.rows.iter().zip(&back.rows) {
            assert_eq!(a.sample_ms, b.sample_ms);
            assert_eq!(a.asset, b.asset);
            assert_eq!(a.market, b.market);
            assert_eq!(a.features.bid_notional, b.features.bid_notional);
            assert_eq!(a.features.ask_depth, b.features.ask_depth);
            assert_eq!(a.features.imbalance, b.features.imbalance);
            assert!(b.features.prev_depth_1pct.is_nan());
        }
    }

    #[test]
    fn missing_column_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new(
            "sample_ms",
            DataType::Int64,
            false,
        )]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1i64]))])
                .unwrap();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let e = FeatureTable::read_parquet(&path).unwrap_err();
        assert!(matches!(e, TableError::MissingColumn { ref column, .. } if column == "asset"));
        assert!(e.to_string().contains("bad.parquet"));
    }
}
