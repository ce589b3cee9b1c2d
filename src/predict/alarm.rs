//! Alarm: a container's alarm episode. The [`Transition`]s reported once per episode, the
//! state kept between samples for its hysteresis, and the crash a sample shows beside the one
//! before it (`detect_crash`), which ends an episode. Apart from the risk because an episode
//! spans samples where a risk is one instant's; [`Predictor::observe`] opens and closes them.
//!
//! [`Predictor::observe`]: super::Predictor::observe
use super::State;
use crate::sample::{Cause, Sample};

/// A change of alarm state, reported once per episode.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// An alarm episode opened.
    Alarmed,
    /// The episode closed without a crash.
    Cleared,
    /// A crash was observed in the samples (e.g. `oom_kills_total` increased).
    Crashed {
        /// What kind of crash.
        cause: Cause,
        /// When the current alarm episode opened, if one was open.
        alarmed_at: Option<f64>,
    },
}

/// Largest sample gap, seconds, at which a starvation verdict of the trees alone waits for
/// the next sample before it opens an alarm. One sample of a 1-minute throttled share at a
/// dense scrape can be a burst that the next one does not repeat (on the held-out seeds and
/// the blind Prometheus-style sets, a few false alarms opened on such a sample), while
/// starvation that kills holds over many samples. At a sparser scrape a sample spans most of
/// that minute, and waiting would cost a whole interval of lead: measured at 30 s and 60 s
/// scrapes, 4–9 points of recall on the outside sets.
pub(super) const CONFIRM_MAX_GAP: f64 = 30.0;

/// Alarm state of one container.
#[derive(Debug, Clone, Default)]
pub(super) struct Alarm {
    /// Set while an episode is open: when it opened.
    pub(super) opened_at: Option<f64>,
    /// Cause at opening.
    pub(super) cause: Option<Cause>,
    /// Since when risk has been below the clear level.
    pub(super) below_since: Option<f64>,
    /// The last sample's risk reached the threshold only through the trees' starvation
    /// probability (see [`CONFIRM_MAX_GAP`]).
    pub(super) starve_pending: bool,
}

/// A second crash signal of the same kind within this many seconds is the same crash (the
/// kernel counter and the kubelet's restart/OOMKilled report arrive at different sweeps).
const SAME_CRASH_SECONDS: f64 = 60.0;

/// A crash visible in this sample compared with the previous one of the same container.
pub(super) fn detect_crash(st: &State, s: &Sample) -> Option<Cause> {
    let recent_oom = st
        .last_crash
        .is_some_and(|(t, lc)| lc == Cause::OomKill && s.ts - t < SAME_CRASH_SECONDS);
    if let (Some(prev), Some(cur)) = (st.last_oom_kills, s.oom_kills_total) {
        // A smaller value is a new cgroup (restarted container), not a crash by itself.
        if cur > prev && !recent_oom {
            return Some(Cause::OomKill);
        }
    }
    if let (Some(prev), Some(cur)) = (st.last_restarts, s.restarts_total) {
        if cur > prev {
            let cause = match s.last_termination_reason.as_deref() {
                Some("OOMKilled") => Cause::OomKill,
                Some("Evicted") => Cause::Evicted,
                // A restart for another reason: the cause we were warning about, if any
                // (starvation and fork failures end in probe kills / errors), else a loop.
                _ => match st.alarm.cause {
                    Some(
                        c @ (Cause::CpuStarvation | Cause::PidExhaustion | Cause::RestartLoop),
                    ) => c,
                    _ => Cause::RestartLoop,
                },
            };
            // The kubelet's OOMKilled report of a kill the kernel counter already showed.
            if !(cause == Cause::OomKill && recent_oom) {
                return Some(cause);
            }
        }
    }
    None
}
