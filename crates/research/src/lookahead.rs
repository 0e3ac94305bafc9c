//! The look-ahead check (issue 17 item 3, after freqtrade's `lookahead-analysis`): replay the
//! data in full, then again with the data truncated after many random bars t (seeded), and
//! require that nothing recorded at any bar ≤ t changed. A value at bar t that depends on bars
//! after t is a look-ahead; the first one found is named by column and bar.
//!
//! Recorded per bar (global bar index, SPEC §5):
//! * scan values — `vel_div`, the four `v*_lambda_max_velocity`, `instability_50/150` (with
//!   klines the truncated data is re-scanned from the truncated klines, so the scanner itself is
//!   checked; with day files only they are inputs and cannot change);
//! * ACB — the engine's `acb_boost`, `acb_beta`, `regime_size_mult` (scale 2);
//! * trade decisions — `entered` (trade id, asset, notional), `exited` (trade id, reason,
//!   pnl), the open `position`, `capital`;
//! * IRP ranking — the full ranked list (asset and ARS) computed from the engine's price
//!   histories, on the `irp_window` bars before each truncation point (it costs 16 × 2 IRP
//!   passes per bar, so not on every bar of every replay).
//!
//! Values are compared exactly (f64 bits). Known limitation: the ACB factor tables are
//! date-stamped and not truncated here; their lag rules (SPEC §8) are tested in `dolphin-data`.

use crate::causal_acb::Settlements;
use crate::error::ResearchError;
use crate::replay::{ReplayInputs, replay};
use crate::trial::TrialConfig;
use dolphin_core::{DayFrame, ExternalFactors, UtcDate, is_valid_price};
use dolphin_data::KlinePanel;
use dolphin_engine::irp::{IrpGates, rank_segment, sort_rankings};
use dolphin_engine::{NDAlphaEngine, StepOutcome};
use dolphin_risk::SplitMix64;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The numeric columns, in order.
pub const NUM_COLUMNS: [&str; 11] = [
    "vel_div",
    "v50_lambda_max_velocity",
    "v150_lambda_max_velocity",
    "v300_lambda_max_velocity",
    "v750_lambda_max_velocity",
    "instability_50",
    "instability_150",
    "acb_boost",
    "acb_beta",
    "regime_size_mult",
    "capital",
];
/// The text columns, in order.
pub const TEXT_COLUMNS: [&str; 4] = ["position", "entered", "exited", "irp_ranking"];

/// A scanner: the day frames of the first `rows` rows of a kline panel.
pub type ScanFn = dyn Fn(&KlinePanel, usize) -> Result<Vec<DayFrame>, ResearchError> + Sync;

/// The project's scanner (SPEC §3), as `dolphin scan` runs it.
pub fn project_scan(panel: &KlinePanel, rows: usize) -> Result<Vec<DayFrame>, ResearchError> {
    let n = panel.n_symbols();
    let mut sc = dolphin_scanner::Scanner::new(n, dolphin_scanner::ScannerConfig::default())?;
    let mut out = Vec::new();
    for (date, range) in dolphin_data::split_by_utc_date(panel) {
        if range.start >= rows {
            break;
        }
        let mut frame = DayFrame::empty(date, panel.symbols.clone());
        for r in range.start..range.end.min(rows) {
            let closes = panel.row(r);
            let row = sc.try_push(closes)?;
            row.append_to(&mut frame, panel.open_time[r], r as i64, closes);
        }
        out.push(frame);
    }
    Ok(out)
}

/// Where the check's data come from.
pub enum Source<'a> {
    /// Day files: truncation cuts the frames.
    Days(&'a [DayFrame]),
    /// Klines and a scanner: truncation cuts the klines and re-scans.
    Klines {
        panel: &'a KlinePanel,
        scan: &'a ScanFn,
    },
}

/// Options of the check.
#[derive(Debug, Clone)]
pub struct LookaheadOptions {
    pub cuts: usize,
    pub seed: u64,
    pub irp_window: u64,
}

impl Default for LookaheadOptions {
    fn default() -> Self {
        Self {
            cuts: 40,
            seed: 17,
            irp_window: 32,
        }
    }
}

/// A value that changed when later bars were removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    pub column: String,
    pub bar: u64,
    pub date: UtcDate,
    pub row: usize,
    pub timestamp_ms: i64,
    /// The truncation point (last bar kept).
    pub cut: u64,
    pub full: String,
    pub truncated: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "look-ahead in column `{}` at bar {} ({} row {}, ts {}): full data {} but {} with the data cut after bar {}",
            self.column,
            self.bar,
            self.date,
            self.row,
            self.timestamp_ms,
            self.full,
            self.truncated,
            self.cut
        )
    }
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LookaheadReport {
    pub bars: u64,
    pub cuts: Vec<u64>,
    /// Bar values compared (bars × columns over all cuts).
    pub values_compared: u64,
    pub irp_rankings_compared: u64,
    pub trades_full: usize,
    /// The earliest violation of each column that had one.
    pub violations: Vec<Violation>,
    /// Cuts with at least one violation.
    pub failing_cuts: usize,
}

impl LookaheadReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

struct Trace {
    num: Vec<[u64; 11]>,
    text: Vec<[String; 3]>,
    irp: BTreeMap<u64, String>,
    /// (date, row, ts) per bar.
    place: Vec<(UtcDate, usize, i64)>,
}

fn irp_string(engine: &NDAlphaEngine, frame: &DayFrame, r: usize) -> String {
    let cfg = engine.config();
    let w = cfg.irp_window as usize;
    let gates = IrpGates {
        max_noise: cfg.irp_max_noise,
        max_latency: cfg.irp_max_latency,
        min_alignment: cfg.irp_min_alignment_kernel,
    };
    let prices = frame.row_prices(r);
    let mut cands = Vec::new();
    let mut ranks = Vec::new();
    for (c, a) in frame.assets.iter().enumerate() {
        if cfg.excluded_assets.contains(a) || !is_valid_price(prices[c]) {
            continue;
        }
        if let Some(h) = engine.price_history(a)
            && h.len() >= w
            && let Some(rk) = rank_segment(cands.len(), &h[h.len() - w..], cfg.direction, &gates)
        {
            ranks.push(rk);
        }
        cands.push(a.as_str());
    }
    sort_rankings(&mut ranks);
    ranks
        .iter()
        .map(|r| format!("{}:{:?}:{:?}", cands[r.index], r.ars, r.action))
        .collect::<Vec<_>>()
        .join(";")
}

fn trace(
    frames: &[DayFrame],
    factors: &BTreeMap<UtcDate, ExternalFactors>,
    settlements: &Settlements,
    trial: &TrialConfig,
    irp_bars: &BTreeSet<u64>,
) -> Result<(Trace, usize), ResearchError> {
    let bars: usize = frames.iter().map(DayFrame::len).sum();
    let mut t = Trace {
        num: Vec::with_capacity(bars),
        text: Vec::with_capacity(bars),
        irp: BTreeMap::new(),
        place: Vec::with_capacity(bars),
    };
    let inputs = ReplayInputs {
        frames,
        factors,
        settlements,
    };
    let (trades, _) = replay(
        inputs,
        trial,
        false,
        &mut |e: &NDAlphaEngine, f: &DayFrame, r: usize, out: StepOutcome| {
            let bar = t.num.len() as u64;
            t.num.push(
                [
                    f.vel_div[r],
                    f.v50_vel[r],
                    f.v150_vel[r],
                    f.v300_vel[r],
                    f.v750_vel[r],
                    f.instability_50[r],
                    f.instability_150[r],
                    e.day_base_boost(),
                    e.day_beta(),
                    e.regime_size_mult(),
                    e.capital(),
                ]
                .map(f64::to_bits),
            );
            let position = e.position().map_or("-".into(), |p| {
                format!(
                    "{}#{}@{} {:?}",
                    p.trade_id, p.asset, p.entry_bar, p.notional
                )
            });
            let entered = out.entered.map_or("-".into(), |id| format!("#{id}"));
            let exited = out.exited.map_or("-".into(), |id| {
                let tr = e.trade_history().last().expect("an exit records a trade");
                format!("#{id} {} {:?}", tr.reason.as_str(), tr.pnl)
            });
            t.text.push([position, entered, exited]);
            if irp_bars.contains(&bar) {
                t.irp.insert(bar, irp_string(e, f, r));
            }
            t.place.push((f.date, r, f.timestamp[r]));
        },
    )?;
    Ok((t, trades.len()))
}

/// Frames holding only the first `keep` rows of `frames`.
pub fn truncate_frames(frames: &[DayFrame], keep: usize) -> Vec<DayFrame> {
    let mut out = Vec::new();
    let mut left = keep;
    for f in frames {
        if left == 0 {
            break;
        }
        if f.len() <= left {
            out.push(f.clone());
            left -= f.len();
        } else {
            let n = left;
            let a = f.n_assets();
            let mut g = DayFrame::empty(f.date, f.assets.clone());
            g.timestamp = f.timestamp[..n].to_vec();
            g.scan_number = f.scan_number[..n].to_vec();
            g.vel_div = f.vel_div[..n].to_vec();
            g.v50_vel = f.v50_vel[..n].to_vec();
            g.v150_vel = f.v150_vel[..n].to_vec();
            g.v300_vel = f.v300_vel[..n].to_vec();
            g.v750_vel = f.v750_vel[..n].to_vec();
            g.instability_50 = f.instability_50[..n].to_vec();
            g.instability_150 = f.instability_150[..n].to_vec();
            g.prices = f.prices[..n * a].to_vec();
            out.push(g);
            left = 0;
        }
    }
    out
}

/// Runs the check. `progress` is called after each cut.
pub fn check(
    source: &Source<'_>,
    factors: &BTreeMap<UtcDate, ExternalFactors>,
    settlements: &Settlements,
    trial: &TrialConfig,
    opts: &LookaheadOptions,
    progress: &mut dyn FnMut(usize),
) -> Result<LookaheadReport, ResearchError> {
    let full_frames = match source {
        Source::Days(f) => f.to_vec(),
        Source::Klines { panel, scan } => scan(panel, panel.n_rows())?,
    };
    let bars: u64 = full_frames.iter().map(|f| f.len() as u64).sum();
    if bars < 2 {
        return Err(ResearchError::Other(
            "the look-ahead check needs at least 2 bars".into(),
        ));
    }
    let mut rng = SplitMix64::new(opts.seed);
    let cuts: BTreeSet<u64> = (0..opts.cuts).map(|_| rng.below(bars - 1)).collect();
    let window = |c: u64| c.saturating_sub(opts.irp_window.saturating_sub(1))..=c;
    let irp_all: BTreeSet<u64> = cuts.iter().flat_map(|&c| window(c)).collect();
    let (full, trades_full) = trace(&full_frames, factors, settlements, trial, &irp_all)?;
    let mut report = LookaheadReport {
        bars,
        cuts: cuts.iter().copied().collect(),
        values_compared: 0,
        irp_rankings_compared: 0,
        trades_full,
        violations: Vec::new(),
        failing_cuts: 0,
    };
    let mut first: BTreeMap<String, Violation> = BTreeMap::new();
    for (i, &cut) in cuts.iter().enumerate() {
        let keep = cut as usize + 1;
        let frames = match source {
            Source::Days(f) => truncate_frames(f, keep),
            Source::Klines { panel, scan } => scan(panel, keep)?,
        };
        let irp_here: BTreeSet<u64> = window(cut).collect();
        let (tr, _) = trace(&frames, factors, settlements, trial, &irp_here)?;
        let mut failed = false;
        let mut note = |column: &str, bar: u64, a: String, b: String| {
            failed = true;
            let (date, row, ts) = full.place[bar as usize];
            let v = Violation {
                column: column.to_string(),
                bar,
                date,
                row,
                timestamp_ms: ts,
                cut,
                full: a,
                truncated: b,
            };
            match first.get(column) {
                Some(old) if old.bar <= bar => {}
                _ => {
                    first.insert(column.to_string(), v);
                }
            }
        };
        if tr.num.len() != keep {
            note("bars", cut, keep.to_string(), tr.num.len().to_string());
        }
        for b in 0..tr.num.len().min(keep) {
            for (c, name) in NUM_COLUMNS.iter().enumerate() {
                let (x, y) = (full.num[b][c], tr.num[b][c]);
                if x != y {
                    note(
                        name,
                        b as u64,
                        format!("{:?}", f64::from_bits(x)),
                        format!("{:?}", f64::from_bits(y)),
                    );
                }
            }
            for (c, name) in TEXT_COLUMNS[..3].iter().enumerate() {
                if full.text[b][c] != tr.text[b][c] {
                    note(
                        name,
                        b as u64,
                        full.text[b][c].clone(),
                        tr.text[b][c].clone(),
                    );
                }
            }
            report.values_compared += (NUM_COLUMNS.len() + 3) as u64;
        }
        for (bar, s) in &tr.irp {
            report.irp_rankings_compared += 1;
            if full.irp.get(bar) != Some(s) {
                note(
                    "irp_ranking",
                    *bar,
                    full.irp.get(bar).cloned().unwrap_or_default(),
                    s.clone(),
                );
            }
        }
        if failed {
            report.failing_cuts += 1;
        }
        progress(i + 1);
    }
    let mut v: Vec<Violation> = first.into_values().collect();
    v.sort_by_key(|x| (x.bar, x.column.clone()));
    report.violations = v;
    Ok(report)
}
