//! Alarm: a container's alarm episode. The [`Transition`]s reported once per episode, the
//! state kept between samples for its hysteresis, and the crash a sample shows beside the one
//! before it (`detect_crash`), which ends an episode. Apart from the risk because an episode
//! spans samples where a risk is one instant's; [`Alarm::step`] opens and closes them, once
//! per sample of [`Predictor::observe`].
//!
//! [`Predictor::observe`]: super::Predictor::observe
use super::{Assessment, State};
use crate::model::RiskParams;
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

impl Alarm {
    /// Takes the episode one sample (at `ts`) further: opens it when the risk in `a` reaches
    /// `threshold`, closes it after a crash (unless the risk stays up) or once the risk has
    /// been below the clear level for long enough (`rp`), and returns what changed.
    /// `lone_starve`: the risk reaches the threshold only through the trees' starvation
    /// verdict on a container that has not restarted, which waits for a second sample
    /// ([`CONFIRM_MAX_GAP`]). `kill_unconfirmed`: an OOM kill not yet known to have ended the
    /// container, which opens no episode by itself.
    pub(super) fn step(
        &mut self,
        ts: f64,
        crashed: Option<Cause>,
        a: &Assessment,
        lone_starve: bool,
        kill_unconfirmed: bool,
        (threshold, rp): (f64, &RiskParams),
    ) -> Vec<Transition> {
        let mut transitions = Vec::new();
        if let Some(cause) = crashed {
            transitions.push(Transition::Crashed {
                cause,
                alarmed_at: self.opened_at,
            });
            // The episode ends with the crash, unless the container is still at risk (a restart
            // loop, starvation that persists): then the warning simply stays up, so the next
            // crash is not reported as a new surprise.
            if a.risk < threshold {
                *self = Alarm::default();
            } else if self.opened_at.is_none() && !kill_unconfirmed {
                self.opened_at = Some(ts);
                self.cause = a.cause;
                transitions.push(Transition::Alarmed);
            }
        } else if self.opened_at.is_none() {
            // At a dense scrape one sample of a starvation verdict can be a burst that the
            // next one does not repeat, so it opens an alarm only when the next sample says
            // the same.
            let wait = lone_starve && !self.starve_pending;
            self.starve_pending = lone_starve;
            if a.risk >= threshold && !wait {
                self.opened_at = Some(ts);
                self.cause = a.cause;
                self.below_since = None;
                transitions.push(Transition::Alarmed);
            }
        } else if a.risk < threshold - rp.clear_margin {
            let since = *self.below_since.get_or_insert(ts);
            if ts - since >= rp.clear_after_s {
                *self = Alarm::default();
                transitions.push(Transition::Cleared);
            }
        } else {
            self.below_since = None;
        }
        transitions
    }
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
