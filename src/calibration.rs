//! How well `crash_risk` reads as a probability: a reliability table of the risk against how
//! often a crash followed, measured by `eval` on held-out traces.
//!
//! The trees learn the probability that the container crashes within
//! [`CALIBRATION_HORIZON_SECONDS`] (the horizon `train` labels its rows with); the risk is the
//! largest of that and the physical terms (time to the limit, restart loop, ...). So each
//! sample's risk is put in one of ten bins by its value, and a bin's crash rate is the share
//! of its samples followed by a crash of the same container within that horizon. A
//! calibrated risk has every bin's crash rate near its mean risk; the expected calibration
//! error (ECE) is the sample-weighted mean distance between the two.

use serde::Serialize;

/// The horizon a risk is a probability over: `train`'s default `--horizon`, seconds.
pub const CALIBRATION_HORIZON_SECONDS: f64 = crate::train::DEFAULT_HORIZON_SECONDS;
/// Number of equal-width risk bins over 0..1.
pub const BINS: usize = 10;

/// Samples of one risk bin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Bin {
    /// Samples whose risk fell in the bin.
    pub samples: u64,
    /// Of them, followed by a crash within the horizon.
    pub crashed: u64,
    /// Sum of their risks.
    pub risk_sum: f64,
}

impl Bin {
    /// Mean risk of the bin's samples (`None` when empty).
    pub fn mean_risk(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.risk_sum / self.samples as f64)
    }

    /// Share of the bin's samples followed by a crash (`None` when empty).
    pub fn crash_rate(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.crashed as f64 / self.samples as f64)
    }
}

/// A reliability table: risk bins and what followed them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Reliability {
    /// Bin `i` holds risks in `[i/10, (i+1)/10)`; a risk of 1 goes in the last.
    pub bins: [Bin; BINS],
}

impl Reliability {
    /// Count one sample with `risk` (clamped to 0..1; not a number is skipped) and whether a
    /// crash followed within the horizon.
    pub fn add(&mut self, risk: f64, crashed: bool) {
        if !risk.is_finite() {
            return;
        }
        let r = risk.clamp(0.0, 1.0);
        let b = &mut self.bins[((r * BINS as f64) as usize).min(BINS - 1)];
        b.samples += 1;
        b.crashed += u64::from(crashed);
        b.risk_sum += r;
    }

    /// Add another table's counts.
    pub fn merge(&mut self, o: &Reliability) {
        for (a, b) in self.bins.iter_mut().zip(&o.bins) {
            a.samples += b.samples;
            a.crashed += b.crashed;
            a.risk_sum += b.risk_sum;
        }
    }

    /// Samples counted.
    pub fn samples(&self) -> u64 {
        self.bins.iter().map(|b| b.samples).sum()
    }

    /// Expected calibration error: the mean over samples of |bin mean risk − bin crash
    /// rate| (`None` without samples).
    pub fn ece(&self) -> Option<f64> {
        let n = self.samples();
        (n > 0).then(|| {
            self.bins
                .iter()
                .filter_map(|b| Some(b.samples as f64 * (b.mean_risk()? - b.crash_rate()?).abs()))
                .sum::<f64>()
                / n as f64
        })
    }

    /// The human table: one line per non-empty bin.
    pub fn table(&self) -> String {
        let mut s = format!(
            "  {:<9} {:>9} {:>9} {:>10}\n",
            "risk", "samples", "mean", "crashed"
        );
        for (i, b) in self.bins.iter().enumerate() {
            let (Some(m), Some(c)) = (b.mean_risk(), b.crash_rate()) else {
                continue;
            };
            s += &format!(
                "  {:<9} {:>9} {:>9.3} {:>10.3}\n",
                format!(
                    "{:.1}–{:.1}",
                    i as f64 / BINS as f64,
                    (i + 1) as f64 / BINS as f64
                ),
                b.samples,
                m,
                c
            );
        }
        s
    }

    /// JSON: the bins with their mean risk and crash rate, and the ECE.
    pub fn json(&self) -> serde_json::Value {
        let bins: Vec<serde_json::Value> = self
            .bins
            .iter()
            .enumerate()
            .map(|(i, b)| {
                serde_json::json!({
                    "risk_from": i as f64 / BINS as f64,
                    "risk_to": (i + 1) as f64 / BINS as f64,
                    "samples": b.samples,
                    "mean_risk": b.mean_risk(),
                    "crash_rate": b.crash_rate(),
                })
            })
            .collect();
        serde_json::json!({
            "horizon_seconds": CALIBRATION_HORIZON_SECONDS,
            "ece": self.ece(),
            "bins": bins,
        })
    }
}

/// Whether a crash in `crashes` (sorted or not) comes after `ts` and within the horizon;
/// `None` when none does and the container's samples end (`end`) before the horizon is over,
/// so what followed is not known.
pub fn crashed_within(ts: f64, crashes: &[f64], end: f64) -> Option<bool> {
    let h = CALIBRATION_HORIZON_SECONDS;
    if crashes.iter().any(|&c| c > ts && c <= ts + h) {
        Some(true)
    } else if ts + h <= end {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_by_value_and_counts_what_followed() {
        let mut r = Reliability::default();
        r.add(0.05, false);
        r.add(0.05, false);
        r.add(0.95, true);
        r.add(1.0, true);
        r.add(1.7, false); // clamped into the last bin
        r.add(f64::NAN, true); // skipped
        assert_eq!(r.samples(), 5);
        assert_eq!(r.bins[0].samples, 2);
        assert_eq!(r.bins[9].samples, 3);
        assert_eq!(r.bins[9].crashed, 2);
        assert!((r.bins[9].mean_risk().unwrap() - (0.95 + 1.0 + 1.0) / 3.0).abs() < 1e-12);
        assert_eq!(r.bins[5].mean_risk(), None);
    }

    #[test]
    fn ece_is_zero_when_each_bin_crashes_as_often_as_it_says_and_large_when_not() {
        let mut good = Reliability::default();
        for i in 0..10 {
            good.add(0.2, i < 2);
            good.add(0.9, i < 9);
        }
        assert!(good.ece().unwrap() < 1e-12);
        let mut bad = Reliability::default();
        for _ in 0..10 {
            bad.add(0.9, false);
        }
        assert!((bad.ece().unwrap() - 0.9).abs() < 1e-12);
        assert_eq!(Reliability::default().ece(), None);
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = Reliability::default();
        a.add(0.3, true);
        let mut b = Reliability::default();
        b.add(0.35, false);
        b.add(0.8, true);
        a.merge(&b);
        assert_eq!(a.bins[3].samples, 2);
        assert_eq!(a.bins[3].crashed, 1);
        assert_eq!(a.bins[8].samples, 1);
    }

    #[test]
    fn what_followed_is_unknown_past_the_end_of_the_samples() {
        let h = CALIBRATION_HORIZON_SECONDS;
        assert_eq!(crashed_within(0.0, &[h], 1000.0), Some(true));
        assert_eq!(crashed_within(0.0, &[h + 1.0], 1000.0), Some(false));
        assert_eq!(crashed_within(0.0, &[0.0], 1000.0), Some(false)); // at, not after
        assert_eq!(crashed_within(900.0, &[], 1000.0), None);
        assert_eq!(crashed_within(900.0, &[950.0], 1000.0), Some(true));
    }
}
