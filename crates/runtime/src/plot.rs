//! `equity.png`: the capital curve after each trade, with drawdowns from the running peak
//! shaded, over days since the start of the run.

use crate::backtest::BacktestResult;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// A plot that could not be drawn or written (plotters' drawing-area error, which is generic
/// over the backend, kept as the source).
#[derive(Debug, thiserror::Error)]
#[error("drawing failed: {0}")]
pub struct PlotError(#[source] Box<dyn std::error::Error + Send + Sync>);

impl<E: std::error::Error + Send + Sync + 'static> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        PlotError(Box::new(e))
    }
}

static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The font is embedded and valid; a failure would only lose the labels.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// (x in days since the first bar, capital) after the start and after each trade.
pub fn equity_points(result: &BacktestResult) -> Vec<(f64, f64)> {
    let initial = result.summary.initial_capital;
    // Global bar index where each day starts, to place exits on a day axis.
    let mut starts = Vec::with_capacity(result.days.len() + 1);
    let mut b = 0u64;
    for d in &result.days {
        starts.push(b);
        b += d.bars;
    }
    starts.push(b);
    let x_of = |bar: u64| -> f64 {
        let i = starts.partition_point(|&s| s <= bar).saturating_sub(1);
        let i = i.min(result.days.len().saturating_sub(1));
        let len = (starts[i + 1] - starts[i]).max(1);
        i as f64 + (bar - starts[i]) as f64 / len as f64
    };
    let mut pts = vec![(0.0, initial)];
    let mut capital = initial;
    for t in &result.trades {
        capital += t.pnl;
        pts.push((x_of(t.exit_bar), capital));
    }
    pts.push((result.days.len() as f64, capital));
    pts
}

/// Draws the equity curve to a PNG.
pub fn plot_equity(path: &Path, result: &BacktestResult) -> Result<(), PlotError> {
    register_font();
    let pts = equity_points(result);
    let x_max = pts.last().map_or(1.0, |p| p.0).max(1.0);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(_, c) in &pts {
        lo = lo.min(c);
        hi = hi.max(c);
    }
    let pad = ((hi - lo) * 0.05).max(1.0);
    let root = BitMapBackend::new(path, (1200, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let s = &result.summary;
    let caption = format!(
        "DOLPHIN equity: ROI {:+.2}%  max DD {:.2}%  trades {}",
        s.roi * 100.0,
        s.max_drawdown * 100.0,
        s.trades
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..x_max, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc("days since start")
        .y_desc("capital (USDT)")
        .label_style(("sans-serif", 14))
        .draw()?;
    // Drawdown shading: the area between the running peak and the capital.
    let mut peak = f64::NEG_INFINITY;
    let mut upper = Vec::with_capacity(pts.len());
    for &(x, c) in &pts {
        peak = peak.max(c);
        upper.push((x, peak));
    }
    let mut poly = upper.clone();
    poly.extend(pts.iter().rev().copied());
    chart
        .draw_series(std::iter::once(Polygon::new(poly, RED.mix(0.25).filled())))?
        .label("drawdown from peak")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], RED.mix(0.25).filled()));
    chart
        .draw_series(LineSeries::new(pts.iter().copied(), BLUE.stroke_width(2)))?
        .label("capital")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 15, y)], BLUE.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}
