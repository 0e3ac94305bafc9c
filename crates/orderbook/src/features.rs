//! The OB feature engine (seeds B §9, S Layer 4; SPEC §3 "OB features"). Features are sampled
//! on a fixed cadence of exchange event time; every formula is written out in
//! docs/OB_FEATURES.md. This file holds the per-asset and market-wide computations; the
//! sampling clock and message routing live in `stream.rs`.

use std::collections::VecDeque;

use dolphin_core::NanRule;
use serde::{Deserialize, Serialize};

use crate::book::LocalBook;
use crate::event::Trade;

/// Raw-depth bands in basis points of mid: 1 %..5 % (S Layer 4 sub-system 5).
pub const BAND_BPS: [u32; 5] = [100, 200, 300, 400, 500];

/// Knobs of the feature engine; defaults as in docs/OB_FEATURES.md (B §16.2: 500 ms cadence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureConfig {
    /// Sampling cadence of exchange time `E`, ms (B §16.2).
    pub cadence_ms: i64,
    /// Samples in `imbalance_ma5` (SPEC §3: 5).
    pub ma_window: usize,
    /// Samples in `imbalance_persistence` (SPEC §3: 10).
    pub persistence_window: usize,
    /// Samples in the rolling median of `depth_quality`.
    pub depth_median_window: usize,
    /// Look-back of taker flow for `fill_probability`, ms.
    pub fill_window_ms: i64,
    /// An asset is in a cascade when `withdrawal_velocity` is below this …
    pub cascade_withdrawal: f64,
    /// … and `|imbalance_ma5|` is above this.
    pub cascade_imbalance: f64,
    /// Samples in the mean of the macro withdrawal velocity used by `regime_signal`.
    pub macro_window: usize,
    /// `regime_signal = +1` when the macro withdrawal mean is below this (or a cascade runs).
    pub stress_withdrawal: f64,
    /// `regime_signal = −1` needs the macro withdrawal mean ≥ this …
    pub calm_withdrawal: f64,
    /// … and macro depth quality ≥ this.
    pub calm_depth_quality: f64,
    /// Longest run of empty cadence steps filled with samples after a silence; longer silences
    /// jump the clock (no samples for the silent stretch).
    pub max_fill_samples: i64,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            cadence_ms: 500,
            ma_window: 5,
            persistence_window: 10,
            depth_median_window: 120,
            fill_window_ms: 5_000,
            cascade_withdrawal: -0.20,
            cascade_imbalance: 0.30,
            macro_window: 10,
            stress_withdrawal: -0.05,
            calm_withdrawal: -0.01,
            calm_depth_quality: 1.0,
            max_fill_samples: 120,
        }
    }
}

/// Per-asset features at one sample (B §9.1, §9.3; S Layer 4). Units in docs/OB_FEATURES.md.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct AssetFeatures {
    /// Mid price, USDT.
    pub mid_price: f64,
    /// (bid_notional − ask_notional)/(sum) within 1 % of mid, in [−1, 1].
    pub imbalance: f64,
    /// Mean of the last 5 `imbalance` samples (fewer at the start).
    pub imbalance_ma5: f64,
    /// Share of the last 10 samples whose imbalance sign equals the latest one's.
    pub imbalance_persistence: f64,
    /// (d_t − d_{t−1})/d_{t−1} of total notional depth within 1 %; 0 without a previous sample.
    pub withdrawal_velocity: f64,
    /// Total notional within 1 % over its rolling median.
    pub depth_quality: f64,
    /// Mean of the two sides' maker fill probabilities.
    pub fill_probability: f64,
    /// V_bid/(V_bid + Q_bid): taker sell flow over the window vs bid queue at the touch.
    pub fill_probability_bid: f64,
    /// V_ask/(V_ask + Q_ask): taker buy flow over the window vs ask queue at the touch.
    pub fill_probability_ask: f64,
    /// (ask − bid)/mid·10⁴.
    pub spread_proxy_bps: f64,
    /// Total notional within 1 % (d_t), USDT.
    pub depth_1pct: f64,
    /// Rolling median of `depth_1pct`, USDT.
    pub depth_median_1pct: f64,
    /// d_{t−1} when the previous cadence step had a sample, else NaN.
    pub prev_depth_1pct: f64,
    /// Bid / ask notional within 1..5 % of mid, USDT.
    pub bid_notional: [f64; 5],
    pub ask_notional: [f64; 5],
    /// Bid / ask quantity within 1..5 % of mid, base units.
    pub bid_depth: [f64; 5],
    pub ask_depth: [f64; 5],
}

/// Market-wide features at one sample (B §9.2; S Layer 4 sub-systems 3, 4).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MacroFeatures {
    /// Assets sampled.
    pub n_assets: u32,
    /// Assets with withdrawal_velocity < −0.20 and |imbalance_ma5| > 0.30.
    pub cascade_count: u32,
    /// −1 calm, 0 neutral, +1 withdrawal stress.
    pub regime_signal: i8,
    /// Share of assets whose imbalance sign equals the sign of `macro_imbalance`, [0, 1].
    pub agreement_pct: f64,
    /// Σ(bid − ask notional within 1 %)/Σ(bid + ask notional within 1 %), [−1, 1].
    pub macro_imbalance: f64,
    /// Mean spread, bps.
    pub macro_spread_bps: f64,
    /// Σ(d_t − d_{t−1})/Σ d_{t−1} over assets with a previous sample.
    pub macro_withdrawal_velocity: f64,
    /// Mean of the last `macro_window` macro withdrawal velocities.
    pub macro_withdrawal_ma: f64,
    /// Σ d_t / Σ rolling-median d.
    pub macro_depth_quality: f64,
}

/// Sign with zero: −1, 0 or +1.
fn sign(x: f64) -> i8 {
    if x > 0.0 {
        1
    } else if x < 0.0 {
        -1
    } else {
        0
    }
}

/// Median as `np.median` ([`dolphin_core::median`] with [`NanRule::Propagate`]: the depths
/// are always finite, so a NaN would be a bug and must show); NaN for an empty slice.
pub fn median(values: &[f64]) -> f64 {
    dolphin_core::median(values, NanRule::Propagate).unwrap_or(f64::NAN)
}

/// Ratio a/(a + b) bounded in [0, 1]; 0 when both are 0.
fn flow_ratio(flow: f64, queue: f64) -> f64 {
    let s = flow + queue;
    if s > 0.0 {
        (flow / s).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Rolling state of one asset between samples.
#[derive(Debug, Clone, Default)]
pub struct AssetHistory {
    imbalances: VecDeque<f64>,
    depths: VecDeque<f64>,
    last_sample: Option<(i64, f64)>,
    /// (E ms, qty, buyer_is_maker) of recent trades.
    trades: VecDeque<(i64, f64, bool)>,
}

impl AssetHistory {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a trade for the taker-flow window of `fill_probability`.
    pub fn on_trade(&mut self, trade: &Trade) {
        self.trades.push_back((
            trade.event_time_ms,
            trade.qty.to_f64(),
            trade.buyer_is_maker,
        ));
        // Bound memory even if samples stop: keep at most 100k trades.
        if self.trades.len() > 100_000 {
            self.trades.pop_front();
        }
    }

    /// Sample the features at time `t_ms` from `book` (SPEC §3). None when the book is not
    /// synced or a side is empty; the history is then left unchanged.
    pub fn sample(
        &mut self,
        book: &LocalBook,
        t_ms: i64,
        cfg: &FeatureConfig,
    ) -> Option<AssetFeatures> {
        if !book.is_synced() {
            return None;
        }
        let (bb, ba) = (book.best_bid()?, book.best_ask()?);
        let mid = book.mid()?;
        let bands = book.depth_bands(&BAND_BPS);
        let mut f = AssetFeatures {
            mid_price: mid,
            spread_proxy_bps: book.spread_bps()?,
            ..AssetFeatures::default()
        };
        for (i, b) in bands.iter().enumerate() {
            f.bid_notional[i] = b.bid_notional;
            f.ask_notional[i] = b.ask_notional;
            f.bid_depth[i] = b.bid_qty;
            f.ask_depth[i] = b.ask_qty;
        }
        let (bn, an) = (bands[0].bid_notional, bands[0].ask_notional);
        let d = bn + an;
        f.depth_1pct = d;
        f.imbalance = if d > 0.0 { (bn - an) / d } else { 0.0 };

        push_capped(
            &mut self.imbalances,
            f.imbalance,
            cfg.ma_window.max(cfg.persistence_window),
        );
        let n = self.imbalances.len();
        let ma_n = cfg.ma_window.clamp(1, n);
        f.imbalance_ma5 = self.imbalances.iter().skip(n - ma_n).sum::<f64>() / ma_n as f64;
        let p_n = cfg.persistence_window.clamp(1, n);
        let s = sign(f.imbalance);
        let same = self
            .imbalances
            .iter()
            .skip(n - p_n)
            .filter(|&&x| sign(x) == s)
            .count();
        f.imbalance_persistence = same as f64 / p_n as f64;

        f.prev_depth_1pct = f64::NAN;
        f.withdrawal_velocity = 0.0;
        if let Some((pt, pd)) = self.last_sample
            && pt == t_ms - cfg.cadence_ms
        {
            f.prev_depth_1pct = pd;
            if pd > 0.0 {
                f.withdrawal_velocity = (d - pd) / pd;
            }
        }
        self.last_sample = Some((t_ms, d));

        push_capped(&mut self.depths, d, cfg.depth_median_window.max(1));
        let (a, b) = self.depths.as_slices();
        let all: Vec<f64> = a.iter().chain(b).copied().collect();
        f.depth_median_1pct = median(&all);
        f.depth_quality = if f.depth_median_1pct > 0.0 {
            d / f.depth_median_1pct
        } else {
            0.0
        };

        // Taker flow in (t − window, t): m = true ⇒ the taker sold into the bid.
        while let Some(&(e, _, _)) = self.trades.front() {
            if e <= t_ms - cfg.fill_window_ms {
                self.trades.pop_front();
            } else {
                break;
            }
        }
        let (mut v_bid, mut v_ask) = (0.0, 0.0);
        for &(e, q, buyer_is_maker) in &self.trades {
            if e >= t_ms {
                continue;
            }
            if buyer_is_maker {
                v_bid += q;
            } else {
                v_ask += q;
            }
        }
        f.fill_probability_bid = flow_ratio(v_bid, bb.qty.to_f64());
        f.fill_probability_ask = flow_ratio(v_ask, ba.qty.to_f64());
        f.fill_probability = (f.fill_probability_bid + f.fill_probability_ask) / 2.0;
        Some(f)
    }
}

fn push_capped(q: &mut VecDeque<f64>, v: f64, cap: usize) {
    q.push_back(v);
    while q.len() > cap {
        q.pop_front();
    }
}

/// Rolling state of the market-wide features.
#[derive(Debug, Clone, Default)]
pub struct MacroHistory {
    withdrawals: VecDeque<f64>,
}

impl MacroHistory {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Market-wide features from the per-asset features of one sample (B §9.2, SPEC §3).
    pub fn sample(&mut self, assets: &[AssetFeatures], cfg: &FeatureConfig) -> MacroFeatures {
        let mut m = MacroFeatures {
            n_assets: assets.len() as u32,
            ..MacroFeatures::default()
        };
        if assets.is_empty() {
            return m;
        }
        let (mut net, mut tot, mut med) = (0.0, 0.0, 0.0);
        let (mut dd, mut prev) = (0.0, 0.0);
        for a in assets {
            net += a.bid_notional[0] - a.ask_notional[0];
            tot += a.depth_1pct;
            med += a.depth_median_1pct;
            if a.prev_depth_1pct.is_finite() {
                dd += a.depth_1pct - a.prev_depth_1pct;
                prev += a.prev_depth_1pct;
            }
            if a.withdrawal_velocity < cfg.cascade_withdrawal
                && a.imbalance_ma5.abs() > cfg.cascade_imbalance
            {
                m.cascade_count += 1;
            }
        }
        m.macro_imbalance = if tot > 0.0 { net / tot } else { 0.0 };
        let ms = sign(m.macro_imbalance);
        m.agreement_pct = if ms == 0 {
            0.0
        } else {
            assets.iter().filter(|a| sign(a.imbalance) == ms).count() as f64 / assets.len() as f64
        };
        m.macro_spread_bps =
            assets.iter().map(|a| a.spread_proxy_bps).sum::<f64>() / assets.len() as f64;
        m.macro_withdrawal_velocity = if prev > 0.0 { dd / prev } else { 0.0 };
        m.macro_depth_quality = if med > 0.0 { tot / med } else { 0.0 };
        push_capped(
            &mut self.withdrawals,
            m.macro_withdrawal_velocity,
            cfg.macro_window.max(1),
        );
        m.macro_withdrawal_ma =
            self.withdrawals.iter().sum::<f64>() / self.withdrawals.len() as f64;
        m.regime_signal = if m.cascade_count > 0 || m.macro_withdrawal_ma < cfg.stress_withdrawal {
            1
        } else if m.macro_withdrawal_ma >= cfg.calm_withdrawal
            && m.macro_depth_quality >= cfg.calm_depth_quality
        {
            -1
        } else {
            0
        };
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::Fixed;
    use crate::event::{DepthSnapshot, Level};

    fn lv(p: &str, q: &str) -> Level {
        Level {
            price: Fixed::parse(p).unwrap(),
            qty: Fixed::parse(q).unwrap(),
        }
    }

    /// mid 100; within 1 %: bids 99.5×b1 + 99×1, asks 100.5×1 + 101×a2.
    fn book(b1: &str, a2: &str) -> LocalBook {
        let mut book = LocalBook::new();
        book.apply_snapshot(&DepthSnapshot {
            last_update_id: 1,
            event_time_ms: 0,
            transaction_time_ms: 0,
            bids: vec![lv("99.5", b1), lv("99", "1"), lv("97", "10")],
            asks: vec![lv("100.5", "1"), lv("101", a2), lv("104", "10")],
        });
        // Synced needs the first diff.
        book.apply_diff(crate::event::DepthUpdate {
            event_time_ms: 0,
            transaction_time_ms: 0,
            first_update_id: 1,
            final_update_id: 1,
            prev_final_update_id: 0,
            bids: vec![],
            asks: vec![],
        });
        assert!(book.is_synced());
        book
    }

    fn trade(e: i64, q: &str, buyer_is_maker: bool) -> Trade {
        Trade {
            trade_id: 1,
            price: Fixed::parse("100").unwrap(),
            qty: Fixed::parse(q).unwrap(),
            buyer_is_maker,
            transaction_time_ms: e,
            event_time_ms: e,
        }
    }

    #[test]
    fn hand_built_book_features() {
        let cfg = FeatureConfig::default();
        let mut h = AssetHistory::new();
        // bids 1 %: 99.5·2 + 99 = 298; asks 1 %: 100.5 + 101·1 = 201.5.
        let f = h.sample(&book("2", "1"), 500, &cfg).unwrap();
        assert_eq!(f.mid_price, 100.0);
        assert!((f.spread_proxy_bps - 100.0).abs() < 1e-12);
        assert_eq!(f.depth_1pct, 499.5);
        assert!((f.imbalance - 96.5 / 499.5).abs() < 1e-15);
        assert_eq!(f.imbalance_ma5, f.imbalance);
        assert_eq!(f.imbalance_persistence, 1.0);
        assert_eq!(f.withdrawal_velocity, 0.0);
        assert_eq!(f.depth_quality, 1.0);
        // 3 %: bids add 97·10; 4 %: asks add 104·10.
        assert_eq!(f.bid_notional, [298.0, 298.0, 1268.0, 1268.0, 1268.0]);
        assert_eq!(f.ask_notional, [201.5, 201.5, 201.5, 1241.5, 1241.5]);
        assert_eq!(f.bid_depth, [3.0, 3.0, 13.0, 13.0, 13.0]);
        assert_eq!(f.fill_probability, 0.0);

        // Next cadence step: asks 1 % = 100.5 + 101·4 = 504.5, bids 298: imbalance negative.
        let f2 = h.sample(&book("2", "4"), 1000, &cfg).unwrap();
        assert_eq!(f2.depth_1pct, 802.5);
        assert!((f2.imbalance - (298.0 - 504.5) / 802.5).abs() < 1e-15);
        assert!((f2.imbalance_ma5 - (f.imbalance + f2.imbalance) / 2.0).abs() < 1e-15);
        assert_eq!(f2.imbalance_persistence, 0.5);
        assert!((f2.withdrawal_velocity - (802.5 - 499.5) / 499.5).abs() < 1e-15);
        // Median of {499.5, 802.5} = 651.
        assert!((f2.depth_quality - 802.5 / 651.0).abs() < 1e-15);

        // A skipped cadence step: no withdrawal velocity.
        let f3 = h.sample(&book("2", "1"), 2000, &cfg).unwrap();
        assert_eq!(f3.withdrawal_velocity, 0.0);
        assert!(f3.prev_depth_1pct.is_nan());
    }

    #[test]
    fn fill_probability_from_flow_and_queue() {
        let cfg = FeatureConfig::default();
        let mut h = AssetHistory::new();
        h.on_trade(&trade(100, "5", true)); // too old for t = 6000 (window 5 s).
        h.on_trade(&trade(1500, "2", true)); // taker sold 2 into the bid.
        h.on_trade(&trade(2000, "3", false)); // taker bought 3 from the ask.
        h.on_trade(&trade(6000, "9", false)); // at t: not yet in the sample.
        let f = h.sample(&book("2", "1"), 6000, &cfg).unwrap();
        // Bid queue at touch 2 → 2/(2+2) = 0.5; ask queue 1 → 3/(3+1) = 0.75.
        assert_eq!(f.fill_probability_bid, 0.5);
        assert_eq!(f.fill_probability_ask, 0.75);
        assert_eq!(f.fill_probability, 0.625);
    }

    #[test]
    fn macro_features_hand_worked() {
        let cfg = FeatureConfig::default();
        let mut a = AssetFeatures {
            imbalance: 0.5,
            imbalance_ma5: -0.4,
            withdrawal_velocity: -0.25,
            depth_1pct: 75.0,
            depth_median_1pct: 100.0,
            prev_depth_1pct: 100.0,
            spread_proxy_bps: 1.0,
            ..AssetFeatures::default()
        };
        a.bid_notional[0] = 56.25;
        a.ask_notional[0] = 18.75;
        let mut b = AssetFeatures {
            imbalance: -0.2,
            imbalance_ma5: -0.1,
            depth_1pct: 125.0,
            depth_median_1pct: 100.0,
            prev_depth_1pct: f64::NAN,
            spread_proxy_bps: 3.0,
            ..AssetFeatures::default()
        };
        b.bid_notional[0] = 50.0;
        b.ask_notional[0] = 75.0;
        let mut h = MacroHistory::new();
        let m = h.sample(&[a, b], &cfg);
        assert_eq!(m.n_assets, 2);
        // (37.5 − 25)/200.
        assert_eq!(m.macro_imbalance, 0.0625);
        assert_eq!(m.agreement_pct, 0.5);
        assert_eq!(m.macro_spread_bps, 2.0);
        assert_eq!(m.cascade_count, 1);
        assert_eq!(m.macro_withdrawal_velocity, -0.25);
        assert_eq!(m.macro_depth_quality, 1.0);
        assert_eq!(m.regime_signal, 1);
        // Without the cascade and with a flat book: calm.
        a.withdrawal_velocity = 0.0;
        a.prev_depth_1pct = 75.0;
        let mut h = MacroHistory::new();
        let m = h.sample(&[a, b], &cfg);
        assert_eq!((m.cascade_count, m.macro_withdrawal_velocity), (0, 0.0));
        assert_eq!(m.regime_signal, -1);
        // Thinning market-wide over the window (mean −0.05 ≤ x < −0.01): neutral.
        a.prev_depth_1pct = 78.0;
        let m = h.sample(&[a, b], &cfg);
        assert!(m.macro_withdrawal_ma < -0.01 && m.macro_withdrawal_ma > -0.05);
        assert_eq!(m.regime_signal, 0);
    }

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
