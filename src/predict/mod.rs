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
use eviction::{Grower, Standing};
use limits::{fill_limits, Stated};
use restart::{
    pids_limit_near, pids_multiplied, SWAP_CEILING_MIN, UNEXPLAINED_RESTART_RISK,
    UNEXPLAINED_RESTART_SECONDS,
};

use crate::features;
use crate::history::History;
use crate::model::Model;
use crate::sample::{pod_of, Cause, Qos, Sample};
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
    /// samples state no swap limit: see [`SWAP_CEILING_MIN`].
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
    /// Guaranteed containers whose growth takes a share of the node's falling available memory
    /// ([`features::Features::shortage_share`]): when, and that share.
    guaranteed_growth: HashMap<String, (f64, f64)>,
    /// Each container's place in the kubelet's eviction order, where the kubelet gave its
    /// memory request ([`Predictor::eviction_first`]).
    standings: HashMap<String, Standing>,
    /// Containers without a memory limit growing on a node whose memory the samples do not
    /// give ([`features::Features::grows_on_unknown_node`]): when last seen growing
    /// ([`Predictor::grower_elsewhere`]) and its growth, bytes per second
    /// ([`features::Features::ws_rise_5m`]). One seen within [`SIBLING_FRESH_S`] outranks; one
    /// gone longer is kept for [`features::SQUEEZE_WINDOW`], since the page cache taken before
    /// it went tells of a shortage its end relieved.
    unknown_node_growers: HashMap<String, Grower>,
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
            guaranteed_growth: HashMap::new(),
            standings: HashMap::new(),
            unknown_node_growers: HashMap::new(),
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
        let mut transitions = Vec::new();

        let crashed = detect_crash(st, sample);
        if let Some(cause) = crashed {
            st.last_crash = Some((sample.ts, cause));
            // An app that exits on its own after a quiet run (a bad config, a failing
            // dependency, a panic) mostly does the same again after the restart: that is how
            // CrashLoopBackOff starts. A restart after a resource ran out resets the resource
            // (fresh pids, fresh heap), so it is left to the memory/pids/cpu terms.
            if cause == Cause::RestartLoop && !st.death_explained() {
                st.unexplained_restart = Some(sample.ts);
            }
            // A count that kept multiplying until the instance died (not of an OOM kill)
            // stopped at a task limit the samples do not state: the next instance dies there.
            let leaked = |&(lo, last): &(u64, u64)| {
                cause != Cause::OomKill && st.stated.pids.is_none() && pids_multiplied(lo, last)
            };
            if let Some(count) = st
                .pids_span
                .filter(leaked)
                .and_then(|(_, last)| pids_limit_near(last))
            {
                st.hist.set_pids_ceiling(count);
            }
            st.peak_risk = 0.0;
            st.pids_span = None;
        }
        // A cgroup caught before its first process starts reads 0 tasks: no baseline.
        if let Some(p) = sample.pids_current.filter(|p| *p > 0) {
            st.pids_span = Some(st.pids_span.map_or((p, p), |(lo, _)| (lo.min(p), p)));
        }
        st.last_oom_kills = sample.oom_kills_total.or(st.last_oom_kills);
        st.last_restarts = sample.restarts_total.or(st.last_restarts);

        let seen_before = !st.hist.is_empty();
        st.hist.push(sample);
        // An OOM kill that a container survives is no crash: on cgroup v1, or where the kubelet
        // asks for single-process OOM kills, the kernel kills one process (a pre-fork server's
        // worker, which its master respawns) and the container goes on. A killed container
        // comes back as a new cgroup (`History::push` sees the restart) in the next sample;
        // a survivor's next sample is the same instance. Judged one sample after the kill, so
        // the kill opens no alarm by itself until then.
        let restarted = seen_before && st.hist.instance_start() == sample.ts;
        if std::mem::take(&mut st.kill_unconfirmed) && !restarted {
            st.survived_kill = st.last_crash.map(|(t, _)| t);
        }
        if crashed == Some(Cause::OomKill) && !restarted {
            st.kill_unconfirmed = true;
        }
        if restarted {
            let killed = st.last_crash.is_some_and(|(t, c)| {
                c == Cause::OomKill && (0.0..UNEXPLAINED_RESTART_SECONDS).contains(&(sample.ts - t))
            });
            if killed && st.swap_peak >= SWAP_CEILING_MIN {
                st.swap_ceiling = Some(st.swap_peak);
            }
            st.swap_peak = 0;
        }
        st.swap_peak = st.swap_peak.max(sample.memory_swap_bytes.unwrap_or(0));
        let with_ceiling;
        let sample = match st.swap_ceiling {
            Some(c) if sample.memory_swap_limit_bytes.is_none() => {
                with_ceiling = Sample {
                    memory_swap_limit_bytes: Some(c),
                    ..sample.clone()
                };
                &with_ceiling
            }
            _ => sample,
        };
        let mut f = features::extract(&st.hist, sample);
        f.cronjob = st.cronjob;
        // The kernel's next victim at the limit is again its biggest process, a worker.
        f.survivor = st
            .survived_kill
            .is_some_and(|t| t >= st.hist.instance_start());
        f.alarmed = st.alarm.opened_at.is_some();
        f.critical = features::critical_pod(&sample.id, sample.pod_priority);
        // A container holding still while the node runs short is a bystander
        // (`features::BYSTANDER_SHARE`) unless the growth is a Guaranteed pod's: the kubelet
        // does not evict that one, so an evictable pod goes in its place, whoever grew.
        if sample.qos == Some(Qos::Guaranteed) {
            match f.shortage_share {
                Some(share) => {
                    self.guaranteed_growth
                        .insert(sample.id.clone(), (sample.ts, share));
                }
                None => {
                    self.guaranteed_growth.remove(&sample.id);
                }
            }
        } else if f
            .shortage_share
            .is_some_and(|share| share < features::BYSTANDER_SHARE)
            && self.guaranteed_growth.iter().any(|(id, (t, share))| {
                *id != sample.id
                    && *t >= sample.ts - SIBLING_FRESH_S
                    && *share >= features::BYSTANDER_SHARE
            })
        {
            f.shortage_share = None;
        }
        // Where the kubelet gave the memory requests, it says who goes first: the pod that
        // heads its order is evicted whoever grew, and any other is not (yet).
        match (sample.memory_request_bytes, sample.memory_working_set_bytes) {
            (Some(request), Some(ws)) => {
                let standing = Standing {
                    ts: sample.ts,
                    ws,
                    request,
                    priority: sample.pod_priority.unwrap_or(0),
                    evictable: sample.qos != Some(Qos::Guaranteed) && !f.critical,
                };
                // Updated in place: the kubelet gives every container's request, so this runs
                // for every sample on a node (no new key, no clone of the id, each time).
                match self.standings.get_mut(&sample.id) {
                    Some(known) => *known = standing,
                    None => {
                        self.standings.insert(sample.id.clone(), standing);
                    }
                }
                // The order is walked (every pod on the node) only while the node runs short.
                let short =
                    f.ttl_node.is_some() || f.shortage_share.is_some() || f.node_psi.is_some();
                if short {
                    match Self::eviction_first(&self.standings, &self.pods, &sample.id) {
                        Some(true) => f.shortage_share = None,
                        Some(false) => f.outranked = true,
                        None => {}
                    }
                }
            }
            // Not hashed where no container has a standing (no kubelet, a trace).
            _ if self.standings.is_empty() => {}
            _ => {
                self.standings.remove(&sample.id);
            }
        }
        // Without the node's memory and the requests, a pod without a limit that grows is the
        // one the node runs short for: its usage above its request grows, the kubelet evicts
        // it first, and the kernel's OOM killer picks the largest task. A container of another
        // pod that holds still beside it (rises by less than `features::BYSTANDER_SHARE` of
        // the grower's rise: a small container's drift can be a large share of itself) shares
        // its stalls, and is not the next to go. Nor just after the grower vanished (killed,
        // evicted): its memory is free again, and the stalls of the last 10 s (PSI avg10) are
        // the ones that came before its end; so a grower is kept for its freshness, not for
        // as long as it lives. Of two growers the larger goes first (the kubelet ranks by usage
        // above request, and the requests are unknown), unless only the smaller is BestEffort.
        // Judged where the samples can show the shortage: memory stalls, or (cgroup v1, no PSI)
        // the page cache of a container without a limit, which only global reclaim takes.
        let may_be_short = f.node_psi.is_some() || f.cache_squeeze.is_some();
        let own_ws = sample.memory_working_set_bytes.map(|w| w as f64);
        let besteffort = sample.qos == Some(Qos::Besteffort);
        // The pace to judge this container by where growers are known (`None` inside: a
        // grower, judged by its size alone).
        let pace = match f.ws_rise_5m {
            // Updated in place: a grower is seen every sweep, and its id need not be cloned
            // each time.
            Some(rise) if sample.memory_limit_bytes.is_none() && f.grows_on_unknown_node => {
                let seen = Grower {
                    ts: sample.ts,
                    rise,
                    ws: own_ws.unwrap_or(0.0),
                    besteffort,
                };
                match self.unknown_node_growers.get_mut(&sample.id) {
                    Some(known) => *known = seen,
                    None => {
                        Self::forget_gone_growers(&mut self.unknown_node_growers, sample.ts);
                        self.unknown_node_growers.insert(sample.id.clone(), seen);
                    }
                }
                Some(None)
            }
            _ if self.unknown_node_growers.is_empty() => None,
            own => {
                self.unknown_node_growers.remove(&sample.id);
                Self::forget_gone_growers(&mut self.unknown_node_growers, sample.ts);
                Some(Some(own.unwrap_or(0.0).max(0.0)))
            }
        };
        let outranker = pace
            .filter(|_| may_be_short && sample.memory_request_bytes.is_none())
            .and_then(|own_rise| {
                Self::grower_elsewhere(
                    &self.unknown_node_growers,
                    &sample.id,
                    own_rise,
                    own_ws,
                    besteffort,
                )
            });
        match outranker {
            Some(seen) if seen >= sample.ts - SIBLING_FRESH_S => f.outranked = true,
            // Gone: the page cache global reclaim took before then went in the shortage its
            // eviction relieved, and only a loss since counts.
            Some(seen) if f.cache_squeeze.is_some() => {
                f.cache_squeeze = features::cache_squeeze_since(&st.hist, sample, seen);
            }
            _ => {}
        }
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
        if let Some(t) = st.unexplained_restart {
            if sample.ts - t >= UNEXPLAINED_RESTART_SECONDS || sample.ts < t {
                st.unexplained_restart = None;
            } else {
                a.besides_starvation = a.besides_starvation.max(UNEXPLAINED_RESTART_RISK);
                if a.risk < UNEXPLAINED_RESTART_RISK {
                    a.risk = UNEXPLAINED_RESTART_RISK;
                    a.cause = Some(Cause::RestartLoop);
                }
            }
        }

        let rp = self.model.risk_params();
        let alarm = &mut st.alarm;
        if let Some(cause) = crashed {
            transitions.push(Transition::Crashed {
                cause,
                alarmed_at: alarm.opened_at,
            });
            // The episode ends with the crash, unless the container is still at risk (a restart
            // loop, starvation that persists): then the warning simply stays up, so the next
            // crash is not reported as a new surprise.
            if a.risk < self.threshold {
                *alarm = Alarm::default();
            } else if alarm.opened_at.is_none() && !st.kill_unconfirmed {
                alarm.opened_at = Some(sample.ts);
                alarm.cause = a.cause;
                transitions.push(Transition::Alarmed);
            }
        } else if alarm.opened_at.is_none() {
            // The trees' starvation verdict alone, on a container that has not restarted: at a
            // dense scrape one sample of it can be a burst that the next one does not repeat,
            // so it opens an alarm only when the next sample says the same.
            let lone_starve = a.risk >= self.threshold
                && a.besides_starvation < self.threshold
                && f.x[features::idx::RESTARTS_10M] == 0.0
                && f.sample_gap < CONFIRM_MAX_GAP;
            let wait = lone_starve && !alarm.starve_pending;
            alarm.starve_pending = lone_starve;
            if a.risk >= self.threshold && !wait {
                alarm.opened_at = Some(sample.ts);
                alarm.cause = a.cause;
                alarm.below_since = None;
                transitions.push(Transition::Alarmed);
            }
        } else if a.risk < self.threshold - rp.clear_margin {
            let since = *alarm.below_since.get_or_insert(sample.ts);
            if sample.ts - since >= rp.clear_after_s {
                *alarm = Alarm::default();
                transitions.push(Transition::Cleared);
            }
        } else {
            alarm.below_since = None;
        }

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
        self.guaranteed_growth.retain(|id, _| keep(id));
        self.standings.retain(|id, _| keep(id));
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
