//! Online self-evaluation: turns alarm episodes and observed crashes into the outcomes of
//! `crashwatch_predictions_total{outcome}`, with the same definitions as `crashwatch eval`:
//!
//! - a crash preceded by an alarm episode that opened at least [`MIN_LEAD`] seconds before
//!   it is a `hit`; by one that opened less than that before, `late`; by none, `miss`;
//! - an alarm episode not followed by a crash of the same container within [`WINDOW`]
//!   seconds of opening is a `false_alarm` (also when the container vanished meanwhile).
//!
//! Times are sample times (`Sample::ts`), so the accounting is the same in accelerated
//! demo time and in replay. This module only counts; it must not log or touch metrics.
use std::collections::HashMap;

/// Minimum lead time of a `hit`, seconds.
pub const MIN_LEAD: f64 = 30.0;
/// How long after an alarm opens a crash still counts for it, seconds.
pub const WINDOW: f64 = 600.0;

/// The verdict on one crash.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CrashOutcome {
    /// Alarmed at least [`MIN_LEAD`] seconds before; the lead time in seconds.
    Hit(f64),
    /// Alarmed, but less than [`MIN_LEAD`] seconds before; the lead time in seconds.
    Late(f64),
    /// No alarm within [`WINDOW`] before the crash.
    Miss,
}

impl CrashOutcome {
    /// Label value of `crashwatch_predictions_total{outcome}`.
    pub fn label(self) -> &'static str {
        match self {
            CrashOutcome::Hit(_) => "hit",
            CrashOutcome::Late(_) => "late",
            CrashOutcome::Miss => "miss",
        }
    }

    /// Lead time achieved, if an alarm preceded the crash.
    pub fn lead(self) -> Option<f64> {
        match self {
            CrashOutcome::Hit(l) | CrashOutcome::Late(l) => Some(l),
            CrashOutcome::Miss => None,
        }
    }
}

/// Open (not yet judged) alarm episodes per container id.
#[derive(Debug, Default)]
pub struct OnlineEval {
    /// Opening times of episodes not yet matched to a crash nor expired, oldest first.
    pending: HashMap<String, Vec<f64>>,
}

impl OnlineEval {
    /// Empty state.
    pub fn new() -> Self {
        OnlineEval::default()
    }

    /// An alarm episode opened for `id` at `ts`.
    pub fn alarm_opened(&mut self, id: &str, ts: f64) {
        self.pending.entry(id.to_string()).or_default().push(ts);
    }

    /// A crash of `id` was observed at `ts`. `alarmed_at` is the predictor's own record of
    /// the open episode, used when this module never saw it open (e.g. opened before a
    /// restart of the agent's state). Returns the verdict and how many older episodes of the
    /// same container turned out to be false alarms (opened more than [`WINDOW`] before).
    pub fn crashed(&mut self, id: &str, ts: f64, alarmed_at: Option<f64>) -> (CrashOutcome, u64) {
        let episodes = self.pending.remove(id).unwrap_or_default();
        let mut stale = 0;
        let mut first: Option<f64> = None;
        for t0 in episodes {
            if ts - t0 > WINDOW {
                stale += 1;
            } else if t0 <= ts {
                first = Some(first.map_or(t0, |f: f64| f.min(t0)));
            }
        }
        if first.is_none() {
            first = alarmed_at.filter(|t0| *t0 <= ts && ts - *t0 <= WINDOW);
        }
        let outcome = match first {
            Some(t0) if ts - t0 >= MIN_LEAD => CrashOutcome::Hit(ts - t0),
            Some(t0) => CrashOutcome::Late(ts - t0),
            None => CrashOutcome::Miss,
        };
        (outcome, stale)
    }

    /// Judge every episode opened more than [`WINDOW`] before `now` without a crash as a false
    /// alarm; returns how many. Call once per sweep with the sweep's sample time.
    pub fn expire(&mut self, now: f64) -> u64 {
        let mut n = 0;
        self.pending.retain(|_, eps| {
            let before = eps.len();
            eps.retain(|t0| now - *t0 <= WINDOW);
            n += (before - eps.len()) as u64;
            !eps.is_empty()
        });
        n
    }

    /// Episodes still waiting for a verdict.
    pub fn pending(&self) -> usize {
        self.pending.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_late_miss() {
        let mut e = OnlineEval::new();
        e.alarm_opened("a", 100.0);
        assert_eq!(e.crashed("a", 142.0, None), (CrashOutcome::Hit(42.0), 0));
        e.alarm_opened("b", 100.0);
        assert_eq!(
            e.crashed("b", 110.0, Some(100.0)),
            (CrashOutcome::Late(10.0), 0)
        );
        assert_eq!(e.crashed("c", 110.0, None), (CrashOutcome::Miss, 0));
        assert_eq!(e.pending(), 0);
    }

    #[test]
    fn exactly_min_lead_is_a_hit() {
        let mut e = OnlineEval::new();
        e.alarm_opened("a", 0.0);
        assert_eq!(e.crashed("a", MIN_LEAD, None).0, CrashOutcome::Hit(30.0));
    }

    #[test]
    fn predictor_record_is_used_when_no_episode_was_seen() {
        let mut e = OnlineEval::new();
        assert_eq!(
            e.crashed("a", 200.0, Some(100.0)).0,
            CrashOutcome::Hit(100.0)
        );
        assert_eq!(e.crashed("a", 900.0, Some(100.0)).0, CrashOutcome::Miss);
    }

    #[test]
    fn unanswered_alarms_expire_as_false_alarms() {
        let mut e = OnlineEval::new();
        e.alarm_opened("a", 0.0);
        e.alarm_opened("a", 500.0);
        e.alarm_opened("gone", 10.0);
        assert_eq!(e.expire(600.0), 0);
        assert_eq!(e.expire(610.5), 2);
        assert_eq!(e.pending(), 1);
        // The remaining episode is matched by a later crash; the earliest in-window one counts.
        assert_eq!(e.crashed("a", 560.0, None), (CrashOutcome::Hit(60.0), 0));
    }

    #[test]
    fn stale_episode_is_reported_at_crash_time() {
        let mut e = OnlineEval::new();
        e.alarm_opened("a", 0.0);
        e.alarm_opened("a", 900.0);
        assert_eq!(e.crashed("a", 910.0, None), (CrashOutcome::Late(10.0), 1));
    }
}
