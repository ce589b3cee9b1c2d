//! One sweep of the agent, shared by `run` and `demo`: collect → enrich (kube) → predict per
//! container → log transitions once per episode → self-evaluation → metrics and the live
//! view of `GET /predict`.
//!
//! The engine is synchronous on purpose: the run loop moves it onto a blocking thread for
//! each sweep so that cgroup reads never stall the HTTP server. It must not serve HTTP or
//! sleep; pacing is the caller's job.
use super::outcomes::{CrashOutcome, OnlineEval};
use crate::collect::{Collector, SweepStats};
use crate::http::{AppState, Live, LivePrediction};
use crate::kube::Kube;
use crate::metrics::ContainerRow;
use crate::predict::{Prediction, Predictor, Transition};
use crate::record::Recorder;
use crate::sample::{Cause, ContainerMeta, ContainerSample, Snapshot};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// How long the history of a *named* container outlives its cgroup. Between restarts a
/// container in CrashLoopBackOff has no cgroup at all (the kubelet's back-off reaches 5 min),
/// yet its restart pattern is exactly what the predictor must see, and `eval`/`replay` keep
/// that history too. UID-labelled containers never come back under the same id, so they
/// are dropped at once.
const RESTART_GRACE_S: f64 = 300.0;
/// Bound on histories kept for vanished containers (churn must not grow memory).
const MAX_GHOSTS: usize = 1024;

/// An open alarm episode as the engine logged it.
#[derive(Debug, Clone)]
struct OpenAlarm {
    opened_ts: f64,
    /// Cause named when it opened.
    cause: Option<Cause>,
    /// The container's last published row and live prediction, kept while the cause carries
    /// over a restart ([`crate::eval::carries_over`]): they stay on `/metrics` and
    /// `GET /predict` while the container is away in its restart back-off.
    shown: Option<Box<(ContainerRow, LivePrediction)>>,
    /// Set while the container is away (its cgroup vanished) with the alarm kept up.
    away: bool,
}

impl OpenAlarm {
    fn new(opened_ts: f64, cause: Option<Cause>) -> Self {
        OpenAlarm {
            opened_ts,
            cause,
            shown: None,
            away: false,
        }
    }
}

/// What one sweep did, for the caller (the demo prints it; tests assert on it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickReport {
    /// Sweep time (sample clock).
    pub ts: f64,
    /// Containers seen.
    pub containers: usize,
    /// Ids whose alarm opened in this sweep.
    pub alarmed: Vec<String>,
    /// Ids whose alarm cleared without a crash.
    pub cleared: Vec<String>,
    /// Crashes observed: id, cause and verdict.
    pub crashed: Vec<(String, Cause, CrashOutcome)>,
    /// Alarm episodes judged false alarms in this sweep.
    pub false_alarms: u64,
}

/// The sweep pipeline with its per-container state.
pub struct Engine {
    collector: Collector,
    predictor: Predictor,
    kube: Kube,
    state: Arc<AppState>,
    eval: OnlineEval,
    alarms: HashMap<String, OpenAlarm>,
    node: String,
    recorder: Option<Recorder>,
    recorder_errors: u64,
    /// Named containers of the previous sweep.
    seen: HashMap<String, ContainerMeta>,
    /// Named containers that vanished, kept for [`RESTART_GRACE_S`].
    ghosts: HashMap<String, Ghost>,
}

/// A sweep's alarm, clear or crash line, written once the sweep's view is published: whoever
/// reads an alarm line and asks `/predict` or `/metrics` at once finds the alarm there.
enum Line {
    Warn(String),
    Info(String),
}

/// A named container whose cgroup vanished.
#[derive(Debug, Clone)]
struct Ghost {
    /// Sample time of the sweep that first missed it.
    since: f64,
    /// Its labels and container ID.
    meta: ContainerMeta,
    /// Already scored as evicted (an eviction is judged once).
    evicted: bool,
}

impl Engine {
    /// Wire the parts together; `state` is what the HTTP server reads.
    pub fn new(
        collector: Collector,
        predictor: Predictor,
        kube: Kube,
        state: Arc<AppState>,
        node: &str,
    ) -> Self {
        Engine {
            collector,
            predictor,
            kube,
            state,
            eval: OnlineEval::new(),
            alarms: HashMap::new(),
            node: node.to_string(),
            recorder: None,
            recorder_errors: 0,
            seen: HashMap::new(),
            ghosts: HashMap::new(),
        }
    }

    /// Track named containers that vanished since the last sweep (see [`RESTART_GRACE_S`])
    /// and return those the kubelet now reports as `Evicted`: an evicted pod's cgroups
    /// vanish instead of restarting, so the samples alone never show that crash.
    fn remember_vanished(&mut self, snapshot: &Snapshot) -> Vec<(ContainerMeta, f64)> {
        let now = snapshot.ts;
        let live: HashMap<&str, &ContainerMeta> = snapshot
            .containers
            .iter()
            .map(|c| (c.sample.id.as_str(), &c.meta))
            .collect();
        for (id, meta) in &self.seen {
            // `namespace/pod/container`: an empty namespace means UID or host-mode labels.
            if !live.contains_key(id.as_str()) && !meta.namespace.is_empty() {
                self.ghosts.entry(id.clone()).or_insert_with(|| Ghost {
                    since: now,
                    meta: meta.clone(),
                    evicted: false,
                });
            }
        }
        self.ghosts
            .retain(|id, g| !live.contains_key(id.as_str()) && now - g.since <= RESTART_GRACE_S);
        if self.ghosts.len() > MAX_GHOSTS {
            let mut by_age: Vec<(String, Ghost)> = self.ghosts.drain().collect();
            by_age.sort_by(|a, b| b.1.since.total_cmp(&a.1.since));
            by_age.truncate(MAX_GHOSTS);
            self.ghosts = by_age.into_iter().collect();
        }
        let mut evicted = Vec::new();
        for g in self.ghosts.values_mut().filter(|g| !g.evicted) {
            let Some(cid) = g.meta.container_id.as_deref() else {
                continue;
            };
            let reason = self
                .kube
                .lookup(cid)
                .and_then(|i| i.last_termination_reason);
            if reason.as_deref() == Some("Evicted") {
                g.evicted = true;
                evicted.push((g.meta.clone(), g.since));
            }
        }
        self.seen = live
            .into_iter()
            .filter(|(_, m)| !m.namespace.is_empty())
            .map(|(id, m)| (id.to_string(), m.clone()))
            .collect();
        evicted
    }

    /// Also write every sweep's samples as training traces (`run --record-dir`).
    pub fn with_recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Collect the node and process the sweep. `clock` overrides the sample time (the demo
    /// runs in simulated time); `None` keeps the collector's wall-clock timestamps.
    pub fn tick(&mut self, clock: Option<f64>) -> TickReport {
        self.tick_with(clock, |_| {})
    }

    /// Like [`Engine::tick`], with `extra` applied after the kube enrichment (the demo's
    /// simulated kubelet names its containers and reports restarts here).
    pub fn tick_with(
        &mut self,
        clock: Option<f64>,
        extra: impl FnOnce(&mut Snapshot),
    ) -> TickReport {
        let started = Instant::now();
        let (mut snapshot, stats) = self.collector.sweep();
        if let Some(ts) = clock {
            snapshot.ts = ts;
            for c in &mut snapshot.containers {
                c.sample.ts = ts;
            }
        }
        self.kube.enrich(&mut snapshot);
        extra(&mut snapshot);
        self.process(snapshot, stats, started)
    }

    /// Everything after collection: predictions, transitions, metrics, live view.
    /// `started` is when the sweep began (its duration goes into the histogram).
    pub fn process(
        &mut self,
        snapshot: Snapshot,
        mut stats: SweepStats,
        started: Instant,
    ) -> TickReport {
        let mut report = TickReport {
            ts: snapshot.ts,
            containers: snapshot.containers.len(),
            ..TickReport::default()
        };
        let mut lines = Vec::new();
        let (mut rows, mut live) = self.predict_sweep(&snapshot, &mut report, &mut lines);
        self.crash_evicted(&snapshot, &mut report, &mut lines);
        let ids: HashSet<&str> = snapshot
            .containers
            .iter()
            .map(|c| c.sample.id.as_str())
            .collect();
        let ghosts = &self.ghosts;
        self.predictor
            .retain(|id| ids.contains(id) || ghosts.contains_key(id));
        self.keep_alarms_away(&ids);
        for (row, lp) in self
            .alarms
            .values()
            .filter(|a| a.away)
            .filter_map(|a| a.shown.as_deref())
        {
            rows.push(row.clone());
            live.push(lp.clone());
        }
        self.record(&snapshot);
        let expired = self.eval.expire(snapshot.ts);
        for _ in 0..expired {
            self.state.metrics.count_outcome("false_alarm");
        }
        report.false_alarms += expired;
        stats.duration = started.elapsed();
        let m = &self.state.metrics;
        m.publish_containers(rows);
        m.observe_sweep(&stats, unix_now());
        self.state
            .publish(Live::new(snapshot.ts, self.node.clone(), live));
        for line in lines {
            match line {
                Line::Warn(l) => tracing::warn!("{l}"),
                Line::Info(l) => tracing::info!("{l}"),
            }
        }
        report
    }

    /// Predicts every container of `snapshot`, acting on each alarm transition; returns their
    /// `/metrics` rows and `/predict` entries. An alarm whose cause carries over a restart
    /// keeps what it last showed, to stand while the container is away.
    fn predict_sweep(
        &mut self,
        snapshot: &Snapshot,
        report: &mut TickReport,
        lines: &mut Vec<Line>,
    ) -> (Vec<ContainerRow>, Vec<LivePrediction>) {
        let mut rows = Vec::with_capacity(snapshot.containers.len());
        let mut live = Vec::with_capacity(snapshot.containers.len());
        for c in &snapshot.containers {
            let (p, transitions) = self.predictor.observe(&c.sample);
            let p = published(p);
            for tr in transitions {
                self.on_transition(c, &p, tr, report, lines);
            }
            let row = ContainerRow::new(c, &p);
            let lp = live_prediction(c, &p);
            if let Some(a) = self.alarms.get_mut(&c.sample.id) {
                if crate::eval::carries_over(a.cause) {
                    a.shown = Some(Box::new((row.clone(), lp.clone())));
                }
            }
            rows.push(row);
            live.push(lp);
        }
        (rows, live)
    }

    /// Reports as evicted each container that vanished from `snapshot` evicted
    /// ([`Engine::remember_vanished`]), and labels it so in the recording.
    fn crash_evicted(
        &mut self,
        snapshot: &Snapshot,
        report: &mut TickReport,
        lines: &mut Vec<Line>,
    ) {
        for (meta, ts) in self.remember_vanished(snapshot) {
            let gone = ContainerSample {
                sample: crate::sample::Sample {
                    ts,
                    id: meta.id(),
                    ..Default::default()
                },
                meta,
            };
            let crash = Transition::Crashed {
                cause: Cause::Evicted,
                alarmed_at: None,
            };
            let p = crate::predict::predict_once(self.predictor.model(), &gone.sample);
            self.on_transition(&gone, &p, crash, report, lines);
            if let Some(rec) = self.recorder.as_mut() {
                rec.label(ts, &gone.sample.id, Cause::Evicted);
            }
        }
    }

    /// Drops the alarms of containers not in `ids` (this sweep's), but for one away in the
    /// kubelet's restart back-off, which is marked away and kept.
    fn keep_alarms_away(&mut self, ids: &HashSet<&str>) {
        let ghosts = &self.ghosts;
        let kube = &self.kube;
        self.alarms.retain(|id, a| {
            if ids.contains(id.as_str()) {
                return true;
            }
            // A crash loop or a starved container is away in the kubelet's restart back-off:
            // the warning stays up (and on /metrics) until it is back or the back-off ends.
            // Not for a deleted pod: once the kubelet no longer lists the container, it is gone.
            let listed = |g: &Ghost| {
                kube.source().is_none()
                    || g.meta
                        .container_id
                        .as_deref()
                        .is_some_and(|cid| kube.lookup(cid).is_some())
            };
            let away = a.shown.is_some()
                && ghosts.get(id).is_some_and(|g| !g.evicted && listed(g));
            if away && !a.away {
                tracing::info!(
                    "container {id} is gone while alarmed (cause={}): the alarm stays up through the restart back-off",
                    cause_label(a.cause)
                );
            } else if !away {
                // Its episode stays with the self-evaluation until the window closes.
                tracing::info!("container {id} vanished while alarmed");
            }
            a.away = away;
            away
        });
    }

    /// Writes `snapshot`'s samples to the recording, if one is kept, and counts its new write
    /// errors.
    fn record(&mut self, snapshot: &Snapshot) {
        if let Some(rec) = self.recorder.as_mut() {
            let samples: Vec<_> = snapshot
                .containers
                .iter()
                .map(|c| c.sample.clone())
                .collect();
            rec.record(&samples);
            let errors = rec.errors();
            for _ in self.recorder_errors..errors {
                self.state.metrics.count_error("record");
            }
            self.recorder_errors = errors;
        }
    }

    fn on_transition(
        &mut self,
        c: &ContainerSample,
        p: &Prediction,
        tr: Transition,
        report: &mut TickReport,
        lines: &mut Vec<Line>,
    ) {
        let id = &c.sample.id;
        let ts = c.sample.ts;
        let who = who(&c.meta);
        match tr {
            Transition::Alarmed => {
                if self.alarms.contains_key(id) {
                    return; // one line per episode, even if told twice
                }
                lines.push(Line::Warn(alarm_line(&who, p)));
                self.alarms.insert(id.clone(), OpenAlarm::new(ts, p.cause));
                self.eval.alarm_opened(id, ts);
                self.kube.post_alarm(&c.meta, p);
                report.alarmed.push(id.clone());
            }
            Transition::Cleared => {
                let Some(open) = self.alarms.remove(id) else {
                    return;
                };
                lines.push(Line::Info(format!(
                    "crash prediction cleared for pod {who} risk={:.2} alarmed_for={}",
                    p.crash_risk,
                    fmt_secs(Some(ts - open.opened_ts)),
                )));
                report.cleared.push(id.clone());
            }
            Transition::Crashed { cause, alarmed_at } => {
                let open = self.alarms.remove(id);
                // A container seen again after a restart back-off died when it vanished.
                let died = self.ghosts.get(id).map_or(ts, |g| g.since.min(ts));
                let (outcome, stale) =
                    self.eval
                        .crashed(id, died, alarmed_at.or(open.as_ref().map(|a| a.opened_ts)));
                let m = &self.state.metrics;
                m.count_outcome(outcome.label());
                for _ in 0..stale {
                    m.count_outcome("false_alarm");
                }
                lines.push(Line::Warn(match outcome.lead() {
                    Some(lead) => format!(
                        "crash happened in pod {who} cause={cause} predicted=yes lead_time={} outcome={}",
                        fmt_secs(Some(lead)),
                        outcome.label(),
                    ),
                    None => format!(
                        "crash happened in pod {who} cause={cause} predicted=no outcome=miss"
                    ),
                }));
                report.false_alarms += stale;
                report.crashed.push((id.clone(), cause, outcome));
                // The alarm stood through the back-off: from the crash on it is the warning
                // for the next one (judged like any episode: false unless a crash follows).
                if let Some(a) = open.filter(|a| crate::eval::carries_over(a.cause)) {
                    self.eval.alarm_opened(id, died);
                    if p.crash_predicted {
                        lines.push(Line::Info(format!(
                            "crash prediction for pod {who} stays up after the restart cause={}",
                            cause_label(a.cause)
                        )));
                        self.alarms
                            .insert(id.clone(), OpenAlarm::new(died, a.cause));
                    }
                }
            }
        }
    }
}

/// The prediction as the agent publishes it: a time to OOM at the predictor's cap
/// ([`crate::features::TTL_CAP`], "not growing toward the limit in any relevant time") is
/// no estimate, so the `crashwatch_time_to_oom_seconds` series is absent then.
pub fn published(mut p: Prediction) -> Prediction {
    p.time_to_oom_seconds = p
        .time_to_oom_seconds
        .filter(|t| t.is_finite() && *t < crate::features::TTL_CAP);
    p
}

/// `<namespace>/<pod> container=<container>` as the log lines print it.
fn who(meta: &ContainerMeta) -> String {
    format!(
        "{}/{} container={}",
        meta.namespace, meta.pod, meta.container
    )
}

/// The one log line of a predicted crash (`kubectl logs`), as in the interface contract.
fn alarm_line(who: &str, p: &Prediction) -> String {
    // The memory estimate says nothing about a PID, CPU or restart crash.
    let tto = match p.cause {
        Some(Cause::OomKill) | None => format!(" time_to_oom={}", fmt_secs(p.time_to_oom_seconds)),
        Some(_) => String::new(),
    };
    format!(
        "crash predicted for pod {who} cause={} risk={:.2}{tto}",
        cause_label(p.cause),
        p.crash_risk
    )
}

fn cause_label(c: Option<Cause>) -> &'static str {
    c.map_or("unknown", Cause::as_str)
}

/// Whole seconds with an `s` suffix, or `none`.
fn fmt_secs(s: Option<f64>) -> String {
    match s {
        Some(v) if v.is_finite() => format!("{:.0}s", v.max(0.0)),
        _ => "none".to_string(),
    }
}

fn live_prediction(c: &ContainerSample, p: &Prediction) -> LivePrediction {
    LivePrediction {
        namespace: c.meta.namespace.clone(),
        pod: c.meta.pod.clone(),
        container: c.meta.container.clone(),
        id: c.sample.id.clone(),
        crash_risk: p.crash_risk,
        crash_predicted: p.crash_predicted,
        cause: p.cause,
        time_to_oom_seconds: p.time_to_oom_seconds,
        memory_working_set_bytes: c.sample.working_set(),
        memory_limit_bytes: c.sample.memory_limit_bytes,
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_format() {
        assert_eq!(fmt_secs(Some(41.6)), "42s");
        assert_eq!(fmt_secs(Some(-3.0)), "0s");
        assert_eq!(fmt_secs(None), "none");
        assert_eq!(fmt_secs(Some(f64::NAN)), "none");
    }

    #[test]
    fn alarm_lines_give_time_to_oom_only_for_memory() {
        let mut p = Prediction {
            id: "default/stress-pod/stress".into(),
            ts: 0.0,
            crash_risk: 0.931,
            crash_predicted: true,
            cause: Some(Cause::OomKill),
            time_to_oom_seconds: Some(41.7),
        };
        let who = "default/stress-pod container=stress";
        assert_eq!(
            alarm_line(who, &p),
            "crash predicted for pod default/stress-pod container=stress cause=oom_kill risk=0.93 time_to_oom=42s"
        );
        // A fork bomb's line must not quote the (unrelated) memory estimate.
        p.cause = Some(Cause::PidExhaustion);
        assert_eq!(
            alarm_line(who, &p),
            "crash predicted for pod default/stress-pod container=stress cause=pid_exhaustion risk=0.93"
        );
    }
}
