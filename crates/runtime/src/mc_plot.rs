//! `mc_hist.png`: histograms of the MC-Forewarner's final ROI and max drawdown over all
//! paths (SPEC §3 "MC-Forewarner"; docs/MC_FOREWARNER.md "Outputs"), with the percentiles
//! and the catastrophe limit marked.

use crate::plot::PlotError;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The embedded font is valid; a failure would only lose the labels.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Counts of `values` in `bins` equal-width bins over `[lo, hi]` (the last bin is closed).
pub fn histogram(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<usize> {
    let mut counts = vec![0usize; bins.max(1)];
    let width = (hi - lo) / counts.len() as f64;
    for &v in values {
        if !v.is_finite() || v < lo || v > hi {
            continue;
        }
        let i = if width > 0.0 {
            (((v - lo) / width) as usize).min(counts.len() - 1)
        } else {
            0
        };
        counts[i] += 1;
    }
    counts
}

/// One panel to draw: values in percent, a title and vertical markers (label, x in percent).
pub struct HistPanel<'a> {
    pub title: String,
    pub x_desc: &'a str,
    pub values_pct: Vec<f64>,
    pub markers: Vec<(String, f64)>,
    pub color: RGBColor,
}

fn range_of(values: &[f64], markers: &[(String, f64)]) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for &v in values.iter().chain(markers.iter().map(|m| &m.1)) {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        return (-1.0, 1.0);
    }
    if hi - lo < 1e-9 {
        return (lo - 1.0, hi + 1.0);
    }
    let pad = (hi - lo) * 0.03;
    (lo - pad, hi + pad)
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    p: &HistPanel<'_>,
    bins: usize,
) -> Result<(), PlotError> {
    let (lo, hi) = range_of(&p.values_pct, &p.markers);
    let counts = histogram(&p.values_pct, lo, hi, bins);
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    let width = (hi - lo) / bins as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(lo..hi, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc(p.x_desc)
        .y_desc("paths")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 13))
        .draw()?;
    chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
        let x0 = lo + width * i as f64;
        Rectangle::new(
            [(x0, 0.0), (x0 + width, c as f64)],
            p.color.mix(0.6).filled(),
        )
    }))?;
    for (k, (label, x)) in p.markers.iter().enumerate() {
        let color = Palette99::pick(k + 3).to_rgba();
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(*x, 0.0), (*x, top)],
                color.stroke_width(2),
            )))?
            .label(format!("{label} {x:.2}%"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 15, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}

/// Draws the final-ROI and max-drawdown histograms side by side (fractions in, percent on
/// the axes) with P5/P25/P50/P75/P95 of ROI and the catastrophe limit `dd_limit` marked.
pub fn plot_mc_histograms(
    path: &Path,
    roi: &[f64],
    max_dd: &[f64],
    dd_limit: f64,
    title: &str,
) -> Result<(), PlotError> {
    register_font();
    let pct = |v: &[f64]| v.iter().map(|x| x * 100.0).collect::<Vec<f64>>();
    let mut sorted = pct(roi);
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let idx = (sorted.len() - 1) as f64 * p;
        let (i, t) = (idx.floor() as usize, idx - idx.floor());
        let j = (i + 1).min(sorted.len() - 1);
        sorted[i] + (sorted[j] - sorted[i]) * t
    };
    let bins = (roi.len() as f64).sqrt().clamp(10.0, 60.0) as usize;
    let roi_panel = HistPanel {
        title: format!("final ROI ({} paths)", roi.len()),
        x_desc: "final ROI (%)",
        values_pct: pct(roi),
        markers: vec![
            ("P5".into(), q(0.05)),
            ("P25".into(), q(0.25)),
            ("P50".into(), q(0.50)),
            ("P95".into(), q(0.95)),
        ],
        color: BLUE,
    };
    let dd_panel = HistPanel {
        title: format!("max drawdown ({} paths)", max_dd.len()),
        x_desc: "max drawdown (%)",
        values_pct: pct(max_dd),
        markers: vec![("limit".into(), dd_limit * 100.0)],
        color: RED,
    };
    let root = BitMapBackend::new(path, (1400, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    let (left, right) = root.split_horizontally(700);
    draw_panel(&left, &roi_panel, bins)?;
    draw_panel(&right, &dd_panel, bins)?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts() {
        let v = [0.0, 0.1, 0.2, 0.5, 0.99, 1.0, 1.5, f64::NAN];
        // Bins [0, .5), [.5, 1]: 0, .1, .2 | .5, .99, 1.0; 1.5 and NaN are outside.
        assert_eq!(histogram(&v, 0.0, 1.0, 2), vec![3, 3]);
        assert_eq!(histogram(&[2.0, 2.0], 2.0, 2.0, 4), vec![2, 0, 0, 0]);
    }

    #[test]
    fn writes_a_png() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mc_hist.png");
        let roi: Vec<f64> = (0..200).map(|i| (i as f64 - 80.0) / 1000.0).collect();
        let dd: Vec<f64> = (0..200).map(|i| i as f64 / 500.0).collect();
        plot_mc_histograms(&p, &roi, &dd, 0.30, "test").unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        // All-equal values still draw.
        plot_mc_histograms(&p, &[0.0; 5], &[0.0; 5], 0.3, "flat").unwrap();
    }
}
