//! `CircuitBreakerManager` (seeds S §2 file map, S §14 "is_tripped, can_open, status"). The
//! seeds only name it; this is the breaker a desk expects beside ACB and the Survival Stack,
//! blocking NEW entries (open positions are managed by the engine as usual):
//!
//! * **daily loss** — trips when the day's realised loss reaches `max_daily_loss_pct` of the
//!   capital at `begin_day`; resets at the next `begin_day`;
//! * **losing streak** — trips after `max_consecutive_losses` losing trades in a row (a loss is
//!   net pnl ≤ 0, as the streak rule of SPEC §6); resets at the next `begin_day`, which also
//!   zeroes the streak count (a streak that did not trip carries across days);
//! * **drawdown** — trips when capital is `max_drawdown_pct` or more below its running peak;
//!   stays tripped until a manual [`CircuitBreakerManager::reset`] (which re-bases the peak to
//!   the current capital) or, when `drawdown_resume_pct` is set, until the drawdown has
//!   recovered to that level.
//!
//! Every limit is `None` (off) by default: the champion does not use the breaker.

use serde::{Deserialize, Serialize};

/// Limits of the circuit breaker; `None` disables a rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CircuitBreakerConfig {
    /// Trip when the day's loss ≥ this fraction of day-start capital (e.g. 0.05).
    pub max_daily_loss_pct: Option<f64>,
    /// Trip after this many consecutive losing trades.
    pub max_consecutive_losses: Option<u32>,
    /// Trip when the drawdown from the capital peak ≥ this fraction (e.g. 0.20).
    pub max_drawdown_pct: Option<f64>,
    /// Clear a drawdown trip by itself once the drawdown is ≤ this fraction; `None` = manual.
    pub drawdown_resume_pct: Option<f64>,
}

/// Errors of the circuit breaker.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CircuitBreakerError {
    #[error("circuit breaker config: `{field}` = {value} must be in {range}")]
    Config {
        field: &'static str,
        value: f64,
        range: &'static str,
    },
    #[error("circuit breaker: `{field}` must be finite, got {value}")]
    NotFinite { field: &'static str, value: f64 },
}

/// Why the breaker is tripped.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum TripReason {
    DailyLoss { loss_pct: f64, limit: f64 },
    ConsecutiveLosses { count: u32, limit: u32 },
    Drawdown { drawdown: f64, limit: f64 },
}

/// A snapshot of the breaker for reports and the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircuitBreakerStatus {
    pub tripped: bool,
    pub can_open: bool,
    /// Active trips, in the order daily loss, losing streak, drawdown.
    pub reasons: Vec<TripReason>,
    pub day_start_capital: Option<f64>,
    pub day_pnl: f64,
    pub consecutive_losses: u32,
    pub capital: Option<f64>,
    pub peak_capital: Option<f64>,
    pub drawdown: f64,
    /// How many times a rule went from clear to tripped since construction.
    pub trips_total: u32,
}

/// The circuit breaker (rules in the module doc).
#[derive(Debug, Clone, PartialEq)]
pub struct CircuitBreakerManager {
    config: CircuitBreakerConfig,
    day_start: Option<f64>,
    day_pnl: f64,
    consecutive_losses: u32,
    capital: Option<f64>,
    peak: Option<f64>,
    daily_trip: Option<TripReason>,
    streak_trip: Option<TripReason>,
    drawdown_trip: Option<TripReason>,
    trips_total: u32,
}

fn finite(field: &'static str, value: f64) -> Result<f64, CircuitBreakerError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(CircuitBreakerError::NotFinite { field, value })
    }
}

impl CircuitBreakerConfig {
    /// Checks fractions are in (0, 1], the streak limit ≥ 1 and the resume level below the
    /// drawdown limit.
    pub fn validate(&self) -> Result<(), CircuitBreakerError> {
        for (field, v) in [
            ("max_daily_loss_pct", self.max_daily_loss_pct),
            ("max_drawdown_pct", self.max_drawdown_pct),
        ] {
            if let Some(v) = v
                && !(v > 0.0 && v <= 1.0)
            {
                return Err(CircuitBreakerError::Config {
                    field,
                    value: v,
                    range: "(0, 1]",
                });
            }
        }
        if self.max_consecutive_losses == Some(0) {
            return Err(CircuitBreakerError::Config {
                field: "max_consecutive_losses",
                value: 0.0,
                range: "[1, ∞)",
            });
        }
        if let Some(r) = self.drawdown_resume_pct {
            let limit = self.max_drawdown_pct.unwrap_or(0.0);
            if !(r >= 0.0 && r < limit) {
                return Err(CircuitBreakerError::Config {
                    field: "drawdown_resume_pct",
                    value: r,
                    range: "[0, max_drawdown_pct)",
                });
            }
        }
        Ok(())
    }
}

impl CircuitBreakerManager {
    /// A clear breaker.
    pub fn new(config: CircuitBreakerConfig) -> Result<Self, CircuitBreakerError> {
        config.validate()?;
        Ok(Self {
            config,
            day_start: None,
            day_pnl: 0.0,
            consecutive_losses: 0,
            capital: None,
            peak: None,
            daily_trip: None,
            streak_trip: None,
            drawdown_trip: None,
            trips_total: 0,
        })
    }

    /// The limits in use.
    pub fn config(&self) -> &CircuitBreakerConfig {
        &self.config
    }

    /// Starts a trading day at `capital`: clears the daily-loss and losing-streak trips
    /// (the streak count restarts only if it had tripped) and re-checks the drawdown.
    pub fn begin_day(&mut self, capital: f64) -> Result<(), CircuitBreakerError> {
        let capital = finite("capital", capital)?;
        self.day_start = Some(capital);
        self.day_pnl = 0.0;
        self.daily_trip = None;
        if self.streak_trip.take().is_some() {
            self.consecutive_losses = 0;
        }
        self.observe_capital(capital);
        Ok(())
    }

    /// Records a closed trade's net pnl and the capital after it, then applies every rule.
    pub fn record_trade(&mut self, net_pnl: f64, capital: f64) -> Result<(), CircuitBreakerError> {
        let net_pnl = finite("net_pnl", net_pnl)?;
        let capital = finite("capital", capital)?;
        if self.day_start.is_none() {
            // No begin_day yet: the day started at the capital before this trade.
            self.day_start = Some(capital - net_pnl);
        }
        self.day_pnl += net_pnl;
        if net_pnl <= 0.0 {
            self.consecutive_losses += 1;
        } else {
            self.consecutive_losses = 0;
        }
        if let (Some(limit), Some(start)) = (self.config.max_daily_loss_pct, self.day_start)
            && start > 0.0
        {
            let loss_pct = -self.day_pnl / start;
            if loss_pct >= limit && self.daily_trip.is_none() {
                self.daily_trip = Some(TripReason::DailyLoss { loss_pct, limit });
                self.trips_total += 1;
            }
        }
        if let Some(limit) = self.config.max_consecutive_losses
            && self.consecutive_losses >= limit
            && self.streak_trip.is_none()
        {
            self.streak_trip = Some(TripReason::ConsecutiveLosses {
                count: self.consecutive_losses,
                limit,
            });
            self.trips_total += 1;
        }
        self.observe_capital(capital);
        Ok(())
    }

    /// Updates peak and drawdown; trips or (with `drawdown_resume_pct`) clears the drawdown rule.
    fn observe_capital(&mut self, capital: f64) {
        self.capital = Some(capital);
        let peak = self.peak.map_or(capital, |p| p.max(capital));
        self.peak = Some(peak);
        let dd = self.drawdown();
        if let Some(limit) = self.config.max_drawdown_pct {
            if self.drawdown_trip.is_none() && dd >= limit {
                self.drawdown_trip = Some(TripReason::Drawdown {
                    drawdown: dd,
                    limit,
                });
                self.trips_total += 1;
            } else if let Some(resume) = self.config.drawdown_resume_pct
                && self.drawdown_trip.is_some()
                && dd <= resume
            {
                self.drawdown_trip = None;
            }
        }
    }

    /// Current drawdown from the capital peak, as a fraction (0 before any capital is seen or
    /// when the peak is not positive).
    pub fn drawdown(&self) -> f64 {
        match (self.peak, self.capital) {
            (Some(p), Some(c)) if p > 0.0 => ((p - c) / p).max(0.0),
            _ => 0.0,
        }
    }

    /// Manual reset: clears every trip and the losing streak, and re-bases the peak to the
    /// current capital (otherwise an unrecovered drawdown would trip again at once).
    pub fn reset(&mut self) {
        self.daily_trip = None;
        self.streak_trip = None;
        self.drawdown_trip = None;
        self.consecutive_losses = 0;
        self.peak = self.capital;
    }

    /// Whether any rule is tripped.
    pub fn is_tripped(&self) -> bool {
        self.daily_trip.is_some() || self.streak_trip.is_some() || self.drawdown_trip.is_some()
    }

    /// Whether a new position may be opened (not tripped).
    pub fn can_open(&self) -> bool {
        !self.is_tripped()
    }

    /// A serialisable snapshot.
    pub fn status(&self) -> CircuitBreakerStatus {
        let reasons: Vec<TripReason> = [self.daily_trip, self.streak_trip, self.drawdown_trip]
            .into_iter()
            .flatten()
            .collect();
        CircuitBreakerStatus {
            tripped: !reasons.is_empty(),
            can_open: reasons.is_empty(),
            reasons,
            day_start_capital: self.day_start,
            day_pnl: self.day_pnl,
            consecutive_losses: self.consecutive_losses,
            capital: self.capital,
            peak_capital: self.peak,
            drawdown: self.drawdown(),
            trips_total: self.trips_total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cb(cfg: CircuitBreakerConfig) -> CircuitBreakerManager {
        CircuitBreakerManager::new(cfg).unwrap()
    }

    #[test]
    fn off_by_default() {
        let mut b = cb(CircuitBreakerConfig::default());
        b.begin_day(25_000.0).unwrap();
        for _ in 0..50 {
            b.record_trade(-400.0, 25_000.0).unwrap();
        }
        assert!(b.can_open());
        assert_eq!(b.status().consecutive_losses, 50);
    }

    #[test]
    fn daily_loss_trips_and_resets_next_day() {
        let mut b = cb(CircuitBreakerConfig {
            max_daily_loss_pct: Some(0.05),
            ..Default::default()
        });
        b.begin_day(25_000.0).unwrap();
        b.record_trade(-1_000.0, 24_000.0).unwrap();
        assert!(b.can_open()); // 4 %
        b.record_trade(200.0, 24_200.0).unwrap();
        b.record_trade(-450.0, 23_750.0).unwrap(); // day pnl −1250 = 5 % of 25k
        assert!(b.is_tripped());
        let s = b.status();
        assert_eq!(
            s.reasons,
            vec![TripReason::DailyLoss {
                loss_pct: 0.05,
                limit: 0.05
            }]
        );
        assert_eq!(s.trips_total, 1);
        b.begin_day(23_750.0).unwrap();
        assert!(b.can_open());
        assert_eq!(b.status().day_pnl, 0.0);
    }

    #[test]
    fn losing_streak_trips_and_resets_next_day() {
        let mut b = cb(CircuitBreakerConfig {
            max_consecutive_losses: Some(3),
            ..Default::default()
        });
        b.begin_day(100.0).unwrap();
        b.record_trade(-1.0, 99.0).unwrap();
        b.record_trade(-1.0, 98.0).unwrap();
        b.record_trade(5.0, 103.0).unwrap(); // a win breaks the streak
        b.record_trade(0.0, 103.0).unwrap(); // zero counts as a loss
        b.record_trade(-1.0, 102.0).unwrap();
        assert!(b.can_open());
        // A streak that has not tripped carries across days.
        b.begin_day(102.0).unwrap();
        assert_eq!(b.status().consecutive_losses, 2);
        b.record_trade(-1.0, 101.0).unwrap();
        assert!(!b.can_open());
        assert_eq!(
            b.status().reasons,
            vec![TripReason::ConsecutiveLosses { count: 3, limit: 3 }]
        );
        b.begin_day(101.0).unwrap();
        assert!(b.can_open());
        assert_eq!(b.status().consecutive_losses, 0);
    }

    #[test]
    fn drawdown_needs_manual_reset() {
        let mut b = cb(CircuitBreakerConfig {
            max_drawdown_pct: Some(0.20),
            ..Default::default()
        });
        b.begin_day(100.0).unwrap();
        b.record_trade(25.0, 125.0).unwrap();
        b.record_trade(-24.0, 101.0).unwrap(); // 19.2 %
        assert!(b.can_open());
        b.record_trade(-1.0, 100.0).unwrap(); // 20 %
        assert!(b.is_tripped());
        assert_eq!(b.status().drawdown, 0.2);
        // A new day does not clear it, nor does a recovery without a resume level.
        b.begin_day(100.0).unwrap();
        b.record_trade(24.0, 124.0).unwrap();
        assert!(b.is_tripped());
        b.reset();
        assert!(b.can_open());
        assert_eq!(b.status().peak_capital, Some(124.0));
        assert_eq!(b.status().trips_total, 1);
    }

    #[test]
    fn drawdown_resumes_on_recovery() {
        let mut b = cb(CircuitBreakerConfig {
            max_drawdown_pct: Some(0.20),
            drawdown_resume_pct: Some(0.10),
            ..Default::default()
        });
        b.begin_day(100.0).unwrap();
        b.record_trade(-20.0, 80.0).unwrap();
        assert!(b.is_tripped());
        b.begin_day(85.0).unwrap(); // 15 %: still tripped
        assert!(b.is_tripped());
        b.begin_day(90.0).unwrap(); // 10 %: resumes
        assert!(b.can_open());
    }

    #[test]
    fn config_and_input_errors() {
        let bad = |cfg| CircuitBreakerManager::new(cfg).unwrap_err();
        let e = bad(CircuitBreakerConfig {
            max_daily_loss_pct: Some(1.5),
            ..Default::default()
        });
        assert_eq!(
            e.to_string(),
            "circuit breaker config: `max_daily_loss_pct` = 1.5 must be in (0, 1]"
        );
        bad(CircuitBreakerConfig {
            max_consecutive_losses: Some(0),
            ..Default::default()
        });
        bad(CircuitBreakerConfig {
            drawdown_resume_pct: Some(0.1),
            ..Default::default()
        });
        let mut b = cb(CircuitBreakerConfig::default());
        assert!(b.record_trade(f64::NAN, 1.0).is_err());
        assert!(b.begin_day(f64::INFINITY).is_err());
    }

    #[test]
    fn status_serialises() {
        let mut b = cb(CircuitBreakerConfig {
            max_consecutive_losses: Some(1),
            ..Default::default()
        });
        b.record_trade(-5.0, 95.0).unwrap();
        let j = serde_json::to_value(b.status()).unwrap();
        assert_eq!(j["tripped"], true);
        assert_eq!(j["reasons"][0]["rule"], "consecutive_losses");
        assert_eq!(j["day_start_capital"], 100.0);
        let back: CircuitBreakerStatus = serde_json::from_value(j).unwrap();
        assert_eq!(back, b.status());
    }

    proptest! {
        #[test]
        fn can_open_is_not_tripped_and_drawdown_in_unit_interval(
            pnls in proptest::collection::vec(-500.0f64..500.0, 0..80),
            day_every in 1usize..10,
        ) {
            let mut b = cb(CircuitBreakerConfig {
                max_daily_loss_pct: Some(0.03),
                max_consecutive_losses: Some(4),
                max_drawdown_pct: Some(0.1),
                drawdown_resume_pct: Some(0.05),
            });
            let mut capital = 10_000.0;
            b.begin_day(capital).unwrap();
            for (i, p) in pnls.into_iter().enumerate() {
                if i % day_every == 0 { b.begin_day(capital).unwrap(); }
                capital += p;
                b.record_trade(p, capital).unwrap();
                let s = b.status();
                prop_assert_eq!(s.can_open, !s.tripped);
                prop_assert_eq!(b.can_open(), !b.is_tripped());
                prop_assert!((0.0..=1.0).contains(&s.drawdown));
            }
        }
    }
}
