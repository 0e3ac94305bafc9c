//! Heatmap PNGs of a sweep (issue 17 item 1): for a pair of swept numeric parameters, each
//! cell shows the best value of the ranking metric among the configurations in it (the other
//! parameters vary inside a cell). Parameters with at most 16 distinct values get one column
//! per value; others are cut into 12 equal-width bins. Drawn with plotters like
//! `crates/runtime/src/plot.rs`.

use crate::error::ResearchError;
use crate::replay::TrialRecord;
use crate::results::metric_value;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// One axis: its cell labels and a mapping from a value to a cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub labels: Vec<String>,
    edges: Option<(f64, f64, usize)>,
    values: Vec<f64>,
}

impl Axis {
    /// Builds an axis from the values of a parameter (NaN-free).
    pub fn new(vals: &[f64]) -> Option<Self> {
        let mut d: Vec<f64> = vals.to_vec();
        d.sort_by(f64::total_cmp);
        d.dedup();
        if d.len() < 2 {
            return None;
        }
        if d.len() <= 16 {
            return Some(Self {
                labels: d.iter().map(|v| short(*v)).collect(),
                edges: None,
                values: d,
            });
        }
        let (lo, hi, n) = (d[0], d[d.len() - 1], 12usize);
        let w = (hi - lo) / n as f64;
        Some(Self {
            labels: (0..n).map(|i| short(lo + (i as f64 + 0.5) * w)).collect(),
            edges: Some((lo, hi, n)),
            values: Vec::new(),
        })
    }

    /// The cell of a value.
    pub fn cell(&self, v: f64) -> usize {
        match self.edges {
            None => self.values.iter().position(|x| *x == v).unwrap_or(0),
            Some((lo, hi, n)) => (((v - lo) / (hi - lo) * n as f64) as usize).min(n - 1),
        }
    }
}

fn short(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// The x axis, the y axis and the cells `grid[y][x]` (`None` for an empty cell).
pub type HeatGrid = (Axis, Axis, Vec<Vec<Option<f64>>>);

/// The grid of best metric values: `grid[y][x]`, `None` for an empty cell.
pub fn heat_grid(
    records: &[TrialRecord],
    px: &str,
    py: &str,
    metric: &str,
    minimise: bool,
) -> Option<HeatGrid> {
    let pts: Vec<(f64, f64, f64)> = records
        .iter()
        .filter_map(|r| {
            let x = r.config.get(px)?.as_f64()?;
            let y = r.config.get(py)?.as_f64()?;
            let m = metric_value(&r.metrics, metric).filter(|m| m.is_finite())?;
            Some((x, y, m))
        })
        .collect();
    let ax = Axis::new(&pts.iter().map(|p| p.0).collect::<Vec<_>>())?;
    let ay = Axis::new(&pts.iter().map(|p| p.1).collect::<Vec<_>>())?;
    let mut grid = vec![vec![None; ax.labels.len()]; ay.labels.len()];
    for (x, y, m) in pts {
        let c: &mut Option<f64> = &mut grid[ay.cell(y)][ax.cell(x)];
        let better = |old: f64| if minimise { m < old } else { m > old };
        if c.is_none_or(better) {
            *c = Some(m);
        }
    }
    Some((ax, ay, grid))
}

/// Draws one heatmap PNG; `Ok(false)` when the pair has fewer than 2 values on an axis.
pub fn plot_heatmap(
    path: &Path,
    records: &[TrialRecord],
    px: &str,
    py: &str,
    metric: &str,
    minimise: bool,
    title: &str,
) -> Result<bool, ResearchError> {
    let Some((ax, ay, grid)) = heat_grid(records, px, py, metric, minimise) else {
        return Ok(false);
    };
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
    let err = |e: &dyn std::fmt::Display| ResearchError::Plot {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let vals: Vec<f64> = grid.iter().flatten().flatten().copied().collect();
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (nx, ny) = (ax.labels.len(), ay.labels.len());
    let root = BitMapBackend::new(path, (1000, 760)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (main, legend) = root.split_horizontally(880);
    let mut chart = ChartBuilder::on(&main)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d(0..nx, 0..ny)
        .map_err(|e| err(&e))?;
    let (xl, yl) = (ax.labels.clone(), ay.labels.clone());
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(px)
        .y_desc(py)
        .x_labels(nx)
        .y_labels(ny)
        .x_label_formatter(&|i| xl.get(*i).cloned().unwrap_or_default())
        .y_label_formatter(&|i| yl.get(*i).cloned().unwrap_or_default())
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| err(&e))?;
    let colour = |v: f64| {
        let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
        let t = if minimise { 1.0 - t } else { t };
        // blue (worst) → white → red (best)
        let (r, g, b) = if t < 0.5 {
            let s = t / 0.5;
            (40.0 + 215.0 * s, 90.0 + 165.0 * s, 200.0 + 55.0 * s)
        } else {
            let s = (t - 0.5) / 0.5;
            (255.0, 255.0 - 175.0 * s, 255.0 - 195.0 * s)
        };
        RGBColor(r as u8, g as u8, b as u8)
    };
    for (y, row) in grid.iter().enumerate() {
        for (x, c) in row.iter().enumerate() {
            let fill = c.map_or(RGBColor(220, 220, 220), colour);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x, y), (x + 1, y + 1)],
                    fill.filled(),
                )))
                .map_err(|e| err(&e))?;
            if let Some(v) = c
                && nx <= 16
                && ny <= 16
            {
                chart
                    .draw_series(std::iter::once(Text::new(
                        short_metric(*v),
                        (x, y + 1),
                        ("sans-serif", 11).into_font().color(&BLACK),
                    )))
                    .map_err(|e| err(&e))?;
            }
        }
    }
    let best = short_metric(if minimise { lo } else { hi });
    let worst = short_metric(if minimise { hi } else { lo });
    for (i, line) in [
        metric.to_string(),
        format!("best {best}"),
        format!("worst {worst}"),
    ]
    .into_iter()
    .enumerate()
    {
        legend
            .draw(&Text::new(
                line,
                (5, 60 + 20 * i as i32),
                ("sans-serif", 14).into_font(),
            ))
            .map_err(|e| err(&e))?;
    }
    for i in 0..20 {
        let v = lo + (hi - lo) * (19 - i) as f64 / 19.0;
        legend
            .draw(&Rectangle::new(
                [(20, 140 + i * 20), (60, 160 + i * 20)],
                colour(v).filled(),
            ))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(true)
}

fn short_metric(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_of_few_and_many_values() {
        let a = Axis::new(&[0.3, 0.1, 0.2, 0.1]).unwrap();
        assert_eq!(a.labels, vec!["0.1", "0.2", "0.3"]);
        assert_eq!((a.cell(0.1), a.cell(0.3)), (0, 2));
        let many: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let b = Axis::new(&many).unwrap();
        assert_eq!(b.labels.len(), 12);
        assert_eq!((b.cell(0.0), b.cell(99.0), b.cell(50.0)), (0, 11, 6));
        assert!(Axis::new(&[1.0, 1.0]).is_none());
    }
}
