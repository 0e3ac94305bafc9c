//! The sweep's results file `results.parquet` (issue 17 item 1): one row per configuration —
//! the trial index, the config hash, every swept and fixed parameter (one column per dotted
//! path), every summary metric, per-fold train/test metrics, the daily returns and trades
//! (lists), and the whole trial tree as JSON. Written with arrow-rs, deterministically (fixed
//! writer properties and `created_by`), so the same records give the same bytes. Read back for
//! resuming: a configuration whose hash is in the file is not run again.

use crate::error::ResearchError;
use crate::folds::{Fold, slice_metrics};
use crate::replay::{Metrics, TrialRecord};
use arrow_array::builder::{Float64Builder, ListBuilder, UInt32Builder};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, ListArray, RecordBatch, StringArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// The `created_by` of results files (fixed for reproducible bytes).
pub const RESULTS_CREATED_BY: &str = "dolphin-research results v1";

fn perr(path: &Path, e: impl std::fmt::Display) -> ResearchError {
    ResearchError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The metric columns, in order.
pub fn metric_columns(m: &Metrics) -> Vec<(&'static str, Option<f64>)> {
    vec![
        ("roi", Some(m.roi)),
        ("sharpe", m.sharpe),
        ("sharpe_daily", m.sharpe_daily),
        ("profit_factor", m.profit_factor),
        ("max_drawdown", Some(m.max_drawdown)),
        ("win_rate", m.win_rate),
        ("final_capital", Some(m.final_capital)),
    ]
}

/// A metric by name (the names of [`crate::spec::METRICS`]).
pub fn metric_value(m: &Metrics, name: &str) -> Option<f64> {
    match name {
        "trades" => Some(m.trades as f64),
        _ => metric_columns(m)
            .into_iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v),
    }
}

/// Writes `records` (in the given order) to `path`. `params` are the dotted paths written as
/// their own columns; `folds` add per-fold columns.
pub fn write_results(
    path: &Path,
    records: &[TrialRecord],
    params: &[String],
    folds: &[Fold],
) -> Result<(), ResearchError> {
    let mut fields = vec![
        Field::new("trial", DataType::UInt64, false),
        Field::new("config_hash", DataType::Utf8, false),
    ];
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(
            records.iter().map(|r| r.trial),
        )),
        Arc::new(StringArray::from_iter_values(
            records.iter().map(|r| r.hash.as_str()),
        )),
    ];
    for p in params {
        let vals: Vec<Option<Value>> = records.iter().map(|r| r.config.get(p)).collect();
        let all = |f: fn(&Value) -> bool| vals.iter().flatten().all(f);
        let (dt, col): (DataType, ArrayRef) = if all(Value::is_number) {
            (
                DataType::Float64,
                Arc::new(Float64Array::from(
                    vals.iter()
                        .map(|v| v.as_ref().and_then(Value::as_f64))
                        .collect::<Vec<_>>(),
                )),
            )
        } else if all(Value::is_boolean) {
            (
                DataType::Boolean,
                Arc::new(BooleanArray::from(
                    vals.iter()
                        .map(|v| v.as_ref().and_then(Value::as_bool))
                        .collect::<Vec<_>>(),
                )),
            )
        } else {
            let text = |v: &Value| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (
                DataType::Utf8,
                Arc::new(StringArray::from(
                    vals.iter()
                        .map(|v| v.as_ref().map(text))
                        .collect::<Vec<_>>(),
                )),
            )
        };
        fields.push(Field::new(p, dt, true));
        cols.push(col);
    }
    let metric_names: Vec<&str> = records
        .first()
        .map(|r| {
            metric_columns(&r.metrics)
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        })
        .unwrap_or_else(|| {
            metric_columns(&empty_metrics())
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        });
    for (i, name) in metric_names.iter().enumerate() {
        fields.push(Field::new(*name, DataType::Float64, true));
        cols.push(Arc::new(Float64Array::from(
            records
                .iter()
                .map(|r| metric_columns(&r.metrics)[i].1)
                .collect::<Vec<_>>(),
        )));
    }
    type Count = fn(&Metrics) -> u64;
    let counts: [(&str, Count); 6] = [
        ("trades", |m| m.trades),
        ("exits_fixed_tp", |m| m.exits_fixed_tp),
        ("exits_max_hold", |m| m.exits_max_hold),
        ("exits_vd_adverse", |m| m.exits_vd_adverse),
        ("exits_subday_acb", |m| m.exits_subday_acb),
        ("exits_other", |m| m.exits_other),
    ];
    for (name, f) in counts {
        fields.push(Field::new(name, DataType::UInt64, false));
        cols.push(Arc::new(UInt64Array::from_iter_values(
            records.iter().map(|r| f(&r.metrics)),
        )));
    }
    for fold in folds {
        let m: Vec<_> = records
            .iter()
            .map(|r| {
                (
                    slice_metrics(&r.day_returns, &r.day_trades, fold.train.clone()),
                    slice_metrics(&r.day_returns, &r.day_trades, fold.test.clone()),
                )
            })
            .collect();
        let k = fold.k;
        let f64col = |name: String, v: Vec<f64>| {
            (
                Field::new(name, DataType::Float64, false),
                Arc::new(Float64Array::from(v)) as ArrayRef,
            )
        };
        for (f, c) in [
            f64col(
                format!("fold{k}_train_sharpe"),
                m.iter().map(|x| x.0.sharpe).collect(),
            ),
            f64col(
                format!("fold{k}_train_roi"),
                m.iter().map(|x| x.0.roi).collect(),
            ),
            f64col(
                format!("fold{k}_test_sharpe"),
                m.iter().map(|x| x.1.sharpe).collect(),
            ),
            f64col(
                format!("fold{k}_test_roi"),
                m.iter().map(|x| x.1.roi).collect(),
            ),
        ] {
            fields.push(f);
            cols.push(c);
        }
        fields.push(Field::new(
            format!("fold{k}_test_trades"),
            DataType::UInt64,
            false,
        ));
        cols.push(Arc::new(UInt64Array::from_iter_values(
            m.iter().map(|x| x.1.trades),
        )));
    }
    let mut rets = ListBuilder::new(Float64Builder::new());
    let mut trades = ListBuilder::new(UInt32Builder::new());
    for r in records {
        rets.values().append_slice(&r.day_returns);
        rets.append(true);
        trades.values().append_slice(&r.day_trades);
        trades.append(true);
    }
    let rets = rets.finish();
    let trades = trades.finish();
    fields.push(Field::new("day_returns", rets.data_type().clone(), false));
    cols.push(Arc::new(rets));
    fields.push(Field::new("day_trades", trades.data_type().clone(), false));
    cols.push(Arc::new(trades));
    fields.push(Field::new("config", DataType::Utf8, false));
    cols.push(Arc::new(StringArray::from_iter_values(
        records.iter().map(|r| r.config.canonical_json()),
    )));
    fields.push(Field::new("metrics", DataType::Utf8, false));
    cols.push(Arc::new(StringArray::from_iter_values(records.iter().map(
        |r| serde_json::to_string(&r.metrics).expect("metrics serialise"),
    ))));

    let batch =
        RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).map_err(|e| perr(path, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(RESULTS_CREATED_BY.to_string())
        .build();
    let mut buf = Vec::new();
    let mut w =
        ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).map_err(|e| perr(path, e))?;
    w.write(&batch).map_err(|e| perr(path, e))?;
    w.close().map_err(|e| perr(path, e))?;
    dolphin_runtime::report::write_atomic(path, &buf)
        .map_err(|e| ResearchError::Other(format!("write {}: {e}", path.display())))
}

fn empty_metrics() -> Metrics {
    Metrics {
        roi: 0.0,
        sharpe: None,
        sharpe_daily: None,
        profit_factor: None,
        max_drawdown: 0.0,
        win_rate: None,
        trades: 0,
        final_capital: 0.0,
        exits_fixed_tp: 0,
        exits_max_hold: 0,
        exits_vd_adverse: 0,
        exits_subday_acb: 0,
        exits_other: 0,
    }
}

/// Reads the records of a results file (for resuming). Errors name the file and column.
pub fn read_results(path: &Path) -> Result<Vec<TrialRecord>, ResearchError> {
    let file = std::fs::File::open(path).map_err(|e| ResearchError::io("open", path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| perr(path, e))?
        .build()
        .map_err(|e| perr(path, e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| perr(path, e))?;
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| perr(path, format!("no column `{name}`")))
        };
        let trial = col("trial")?
            .as_any()
            .downcast_ref::<UInt64Array>()
            .ok_or_else(|| perr(path, "`trial` is not UInt64"))?
            .clone();
        let strings = |name: &str| -> Result<StringArray, ResearchError> {
            col(name)?
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .ok_or_else(|| perr(path, format!("`{name}` is not a string column")))
        };
        let (hash, config, metrics) = (
            strings("config_hash")?,
            strings("config")?,
            strings("metrics")?,
        );
        let list = |name: &str| -> Result<ListArray, ResearchError> {
            col(name)?
                .as_any()
                .downcast_ref::<ListArray>()
                .cloned()
                .ok_or_else(|| perr(path, format!("`{name}` is not a list column")))
        };
        let (rets, trades) = (list("day_returns")?, list("day_trades")?);
        for i in 0..batch.num_rows() {
            let row_err =
                |what: &str, e: &dyn std::fmt::Display| perr(path, format!("row {i}: {what}: {e}"));
            let r = rets.value(i);
            let r = r
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| perr(path, "day_returns items are not Float64"))?;
            let t = trades.value(i);
            let t = t
                .as_any()
                .downcast_ref::<UInt32Array>()
                .ok_or_else(|| perr(path, "day_trades items are not UInt32"))?;
            out.push(TrialRecord {
                trial: trial.value(i),
                hash: hash.value(i).to_string(),
                config: serde_json::from_str(config.value(i)).map_err(|e| row_err("config", &e))?,
                metrics: serde_json::from_str(metrics.value(i))
                    .map_err(|e| row_err("metrics", &e))?,
                day_returns: r.values().to_vec(),
                day_trades: t.values().to_vec(),
            });
        }
    }
    Ok(out)
}
