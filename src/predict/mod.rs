//! Per-container prediction: history → features → model → calibrated risk, cause, time to
//! OOM, and alarm episodes with hysteresis. The same path serves `run`, `demo`, `replay`,
//! `train` (threshold tuning) and `POST /predict`.
//!
//! Risk = max(learned probability of a crash within the training horizon, physical risk of
//! the time-to-limit estimate). The physical term `1 / (1 + (ttl / scale)²)` (0.5 at
//! `scale`, 0.97 at 20 s for scale 120 s) makes sure that a container seconds away from its
//! limit is never reported as low risk, whatever the trees learned from our simulator; the
//! trees add what physics cannot see (restart loops, throttling, eviction pressure) and
//! gate nothing away from physics.
//!
//! A restart that nothing in the dead instance's samples explains (no resource risk ≥ 0.5,
//! no task count that multiplied) holds the risk just above the threshold for the kubelet's
//! back-off cap, as `restart_loop`: apps that exit by themselves mostly do it again.
//!
//! Alarm episodes: one opens when risk ≥ threshold, and closes when risk stays below
//! `threshold − clear_margin` for `clear_after_s` seconds of sample time, or when a crash is
//! observed and the risk right after it is below the threshold. Each episode is reported once
//! (`Alarmed`, then `Cleared` or `Crashed`); a crash after which the container is still at
//! risk (restart loop, persisting starvation) reports `Crashed` and keeps the episode open.
//!
//! This module must not do I/O or logging of alarms: callers (agent, replay) report
//! transitions their own way.
//!
//! This file holds what callers see: [`Prediction`], [`Predictor`] with the state it keeps per
//! container and [`Predictor::observe`], which takes a sample through the parts, and
//! [`predict_once`]. The parts, each in its own file: `risk` ([`assess`]: the model's
//! probabilities and the physical floors made one risk, cause and time to OOM), `alarm` (an
//! episode's state and [`Transition`]s, and the crash a sample shows), `limits` (the limits
//! and pod facts a sample lacks, carried from earlier samples), `restart` (what an instance
//! that died says of the next one), `eviction` (a pod's place in the kubelet's eviction order,
//! and the growers that outrank a bystander) and `pod` (the tasks of a container's whole
//! pod). Their public items are re-exported here, so every path elsewhere is still
//! `predict::<item>`.
mod alarm;
mod eviction;
mod limits;
mod pod;
mod restart;
mod risk;

pub use alarm::Transition;
pub use pod::SIBLING_FRESH_S;
pub use risk::{assess, ttl_risk, Assessment, ALARM_HORIZON};
// Called by this path in the features tests; nothing else outside `risk` calls it.
#[cfg(test)]
pub(crate) use risk::step_clock_applied;

use alarm::{detect_crash, Alarm, CONFIRM_MAX_GAP};
use eviction::EvictionOrder;
use limits::{fill_limits, Stated};

use crate::features;
use crate::history::History;
use crate::model::Model;
use crate::sample::{pod_of, Cause, Sample};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// The prediction for one container at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Container id.
    pub id: String,
    /// Sample time.
    pub ts: f64,
    /// Calibrated crash risk 0..1.
    pub crash_risk: f64,
    /// True while an alarm episode is open.
    pub crash_predicted: bool,
    /// Most likely cause (when risk is not negligible).
    pub cause: Option<Cause>,
    /// Estimated seconds until the working set reaches the limit (only while growing toward it).
    pub time_to_oom_seconds: Option<f64>,
}

/// Everything kept per container.
#[derive(Debug, Clone, Default)]
struct State {
    hist: History,
    alarm: Alarm,
    last_oom_kills: Option<u64>,
    last_restarts: Option<u64>,
    /// Limits, QoS class, pod priority and memory request last reported (see [`fill_limits`]).
    stated: Stated,
    last_crash: Option<(f64, Cause)>,
    /// Highest resource risk of the running instance (reset at each crash).
    peak_risk: f64,
    /// When the container last restarted without anything in its samples to explain it.
    unexplained_restart: Option<f64>,
    /// Fewest and latest task counts of the running instance.
    pids_span: Option<(u64, u64)>,
    /// An OOM kill seen in the last sample, without a restart yet: a crash or a survived one.
    kill_unconfirmed: bool,
    /// When the container last survived an OOM kill: for [`features::OOM_KILLS_WINDOW`] after
    /// it, that kill counts as none, and for the rest of its instance no OOM kill is
    /// foreseen ([`Features::survivor`]).
    ///
    /// [`Features::survivor`]: features::Features::survivor
    survived_kill: Option<f64>,
    /// Its pod is a CronJob's run ([`features::cronjob_pod`], parsed once).
    cronjob: bool,
    /// Most swap the running instance has used.
    swap_peak: u64,
    /// Swap the last instance killed by the OOM killer had used when it died, where the
    /// samples state no swap limit: see `restart::SWAP_CEILING_MIN`.
    swap_ceiling: Option<u64>,
    /// `restarts_total` as the samples last reported it (before the unreported restarts are
    /// added: see [`State::count_unreported_restarts`]).
    reported_restarts: Option<u64>,
    /// Restarts seen only in a CPU counter that started again from zero.
    unreported_restarts: u64,
    /// When the last of those was seen, until a late report accounts for it.
    reset_unreported: Option<f64>,
    /// When `restarts_total` last went up, until the new cgroup's reset accounts for it.
    restart_reported: Option<f64>,
}

/// Holds per-container histories and alarm state.
pub struct Predictor {
    model: Arc<Model>,
    threshold: f64,
    states: HashMap<String, State>,
    /// Containers of each pod (`namespace/pod`), in the order first seen: whose tasks share a
    /// pod-level task limit ([`Predictor::pod_tasks`]).
    pods: HashMap<String, Vec<String>>,
    /// What the kubelet's eviction order needs of the node's other containers.
    eviction: EvictionOrder,
}

impl Predictor {
    /// A predictor using `model`; `threshold` overrides the model's alarm threshold.
    pub fn new(model: Arc<Model>, threshold: Option<f64>) -> Self {
        let threshold = threshold
            .filter(|t| t.is_finite())
            .unwrap_or_else(|| model.threshold())
            .clamp(0.0, 1.0);
        Predictor {
            model,
            threshold,
            states: HashMap::new(),
            pods: HashMap::new(),
            eviction: EvictionOrder::default(),
        }
    }

    /// The alarm threshold in use.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The model in use.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// Number of containers tracked.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// True when no container is tracked.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Feed one sample; returns the prediction and any alarm transitions it caused.
    pub fn observe(&mut self, sample: &Sample) -> (Prediction, Vec<Transition>) {
        let with_pod = self.pod_tasks(sample).map(|n| Sample {
            pod_pids_current: Some(n),
            ..sample.clone()
        });
        let sample = with_pod.as_ref().unwrap_or(sample);
        let st = match self.states.get_mut(sample.id.as_str()) {
            Some(st) => st,
            None => {
                if let Some(pod) = pod_of(&sample.id) {
                    let ids = self.pods.entry(pod.to_string()).or_default();
                    ids.push(sample.id.clone());
                }
                self.states
                    .entry(sample.id.clone())
                    .or_insert_with(|| State {
                        cronjob: features::cronjob_pod(&sample.id),
                        ..State::default()
                    })
            }
        };
        let filled = fill_limits(&mut st.stated, sample);
        let sample = filled.as_ref().unwrap_or(sample);
        let counted = st.count_unreported_restarts(sample);
        let sample = counted.as_ref().unwrap_or(sample);
        let crashed = detect_crash(st, sample);
        if let Some(cause) = crashed {
            st.note_crash(sample.ts, cause);
        }
        let with_ceiling = st.take_in(sample, crashed);
        let sample = with_ceiling.as_ref().unwrap_or(sample);
        let mut f = features::extract(&st.hist, sample);
        f.cronjob = st.cronjob;
        // The kernel's next victim at the limit is again its biggest process, a worker.
        f.survivor = st
            .survived_kill
            .is_some_and(|t| t >= st.hist.instance_start());
        f.alarmed = st.alarm.opened_at.is_some();
        f.critical = features::critical_pod(&sample.id, sample.pod_priority);
        self.eviction.weigh(&self.pods, sample, &st.hist, &mut f);
        // Then its kill and the OOM events around it say nothing of a crash to come: the
        // trees learnt them from kills that ended a container.
        if st
            .survived_kill
            .is_some_and(|t| sample.ts - t < features::OOM_KILLS_WINDOW && sample.ts >= t)
        {
            f.x[features::idx::OOM_KILLS_10M] = 0.0;
            f.x[features::idx::OOM_EVENTS_5M] = 0.0;
        }
        let limit = sample.cpu_limit_cores.filter(|l| *l > 0.0);
        let mut a = assess(&self.model, &f, || {
            features::throttle_stepped(&st.hist, limit)
        });
        st.peak_risk = st.peak_risk.max(a.resource);
        st.hold_unexplained_restart(sample.ts, &mut a);

        // The trees' starvation verdict alone, on a container that has not restarted (see
        // `alarm::CONFIRM_MAX_GAP`).
        let lone_starve = a.risk >= self.threshold
            && a.besides_starvation < self.threshold
            && f.x[features::idx::RESTARTS_10M] == 0.0
            && f.sample_gap < CONFIRM_MAX_GAP;
        let transitions = st.alarm.step(
            sample.ts,
            crashed,
            &a,
            lone_starve,
            st.kill_unconfirmed,
            (self.threshold, self.model.risk_params()),
        );

        let open = st.alarm.opened_at.is_some();
        let prediction = Prediction {
            id: sample.id.clone(),
            ts: sample.ts,
            crash_risk: a.risk,
            crash_predicted: open,
            // While alarmed, name the cause the alarm was raised for (stable for logs/Events).
            cause: if open {
                st.alarm.cause.or(a.cause)
            } else {
                a.cause
            },
            time_to_oom_seconds: a.time_to_oom,
        };
        (prediction, transitions)
    }

    /// Drop the state of containers for which `keep` returns false (vanished containers).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.states.retain(|id, _| keep(id));
        self.eviction.retain(&keep);
        self.pods.retain(|_, ids| {
            ids.retain(|id| keep(id));
            !ids.is_empty()
        });
    }
}

/// Score a single sample with no history (`POST /predict`).
pub fn predict_once(model: &Model, sample: &Sample) -> Prediction {
    let f = features::extract_once(sample);
    let a = assess(model, &f, || false);
    Prediction {
        id: sample.id.clone(),
        ts: sample.ts,
        crash_risk: a.risk,
        crash_predicted: a.risk >= model.threshold(),
        cause: a.cause,
        time_to_oom_seconds: a.time_to_oom,
    }
}

#[cfg(test)]
mod tests;
