//! Prometheus metrics of the agent: one struct of typed handles, registered once in a
//! [`prometheus::Registry`] that other parts (kube) can register into as well.
//!
//! Names are the contract of `interface.md`. Per-container series are diffed every sweep:
//! a series whose container vanished (or whose value became unknown) is removed, so the
//! label set never grows with churn. This module must not decide anything about risk or
//! alarms; it only mirrors what the agent computed.
use crate::predict::Prediction;
use crate::sample::ContainerSample;
use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use std::collections::HashMap;
use std::sync::Mutex;

/// Labels of every per-container series.
const CONTAINER_LABELS: [&str; 3] = ["namespace", "pod", "container"];

/// Outcomes of the online self-evaluation (label values of `crashwatch_predictions_total`).
pub const OUTCOMES: [&str; 4] = ["hit", "late", "miss", "false_alarm"];

/// Error kinds pre-initialised at 0 so that `rate()` works from the first scrape.
const ERROR_KINDS: [&str; 4] = ["vanished", "io", "parse", "kube"];

/// What one container contributes to the per-container series in one sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerRow {
    /// Namespace label.
    pub namespace: String,
    /// Pod label.
    pub pod: String,
    /// Container label.
    pub container: String,
    /// Crash risk 0..1.
    pub crash_risk: f64,
    /// Seconds to the memory limit, only while growing toward it.
    pub time_to_oom_seconds: Option<f64>,
    /// Working set, bytes (None when unreadable).
    pub working_set_bytes: Option<u64>,
    /// Memory limit, bytes (None when unlimited).
    pub limit_bytes: Option<u64>,
    /// `Some(cause label)` while an alarm episode is open.
    pub alarmed_cause: Option<String>,
}

impl ContainerRow {
    /// Build the row of one container from its sample and prediction.
    pub fn new(c: &ContainerSample, p: &Prediction) -> Self {
        ContainerRow {
            namespace: c.meta.namespace.clone(),
            pod: c.meta.pod.clone(),
            container: c.meta.container.clone(),
            crash_risk: p.crash_risk,
            time_to_oom_seconds: p.time_to_oom_seconds,
            working_set_bytes: c.sample.working_set(),
            limit_bytes: c.sample.memory_limit_bytes,
            alarmed_cause: p.crash_predicted.then(|| {
                p.cause
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_else(|| "unknown".to_string())
            }),
        }
    }

    fn key(&self) -> (String, String, String) {
        (
            self.namespace.clone(),
            self.pod.clone(),
            self.container.clone(),
        )
    }
}

/// Which optional series a container currently has, so they can be removed exactly.
#[derive(Debug, Clone, Default)]
struct Published {
    time_to_oom: bool,
    working_set: bool,
    limit: bool,
    alarmed_cause: Option<String>,
}

/// Typed handles of every crashwatch metric.
pub struct Metrics {
    /// The registry everything is registered in (kube registers its own metrics here too).
    pub registry: Registry,
    crash_risk: GaugeVec,
    time_to_oom: GaugeVec,
    working_set: GaugeVec,
    limit: GaugeVec,
    crash_predicted: GaugeVec,
    containers: IntGauge,
    collect_duration: Histogram,
    collect_errors: IntCounterVec,
    predictions: IntCounterVec,
    last_sweep: Gauge,
    build_info: IntGaugeVec,
    /// Series published by the previous sweep, keyed by (namespace, pod, container).
    published: Mutex<HashMap<(String, String, String), Published>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> prometheus::Result<GaugeVec> {
    GaugeVec::new(Opts::new(name, help), labels)
}

impl Metrics {
    /// Create and register every metric in a fresh registry; `model_version` goes into
    /// `crashwatch_build_info`.
    pub fn new(model_version: &str) -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let crash_risk = gauge_vec(
            "crashwatch_crash_risk",
            "Predicted crash risk of the container, 0..1.",
            &CONTAINER_LABELS,
        )?;
        let time_to_oom = gauge_vec(
            "crashwatch_time_to_oom_seconds",
            "Estimated seconds until the working set reaches the memory limit (only while growing toward it).",
            &CONTAINER_LABELS,
        )?;
        let working_set = gauge_vec(
            "crashwatch_memory_working_set_bytes",
            "Working set (usage minus inactive file), bytes.",
            &CONTAINER_LABELS,
        )?;
        let limit = gauge_vec(
            "crashwatch_memory_limit_bytes",
            "Memory limit, bytes (absent when unlimited).",
            &CONTAINER_LABELS,
        )?;
        let crash_predicted = gauge_vec(
            "crashwatch_crash_predicted",
            "1 while a crash alarm is open for the container.",
            &["namespace", "pod", "container", "cause"],
        )?;
        let containers = IntGauge::new(
            "crashwatch_containers",
            "Containers tracked in the last sweep.",
        )?;
        let collect_duration = Histogram::with_opts(
            HistogramOpts::new(
                "crashwatch_collect_duration_seconds",
                "Wall time of one sweep (collect and predict).",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
        )?;
        let collect_errors = IntCounterVec::new(
            Opts::new(
                "crashwatch_collect_errors_total",
                "Errors while collecting, by kind (vanished = cgroup removed mid-sweep).",
            ),
            &["kind"],
        )?;
        let predictions = IntCounterVec::new(
            Opts::new(
                "crashwatch_predictions_total",
                "Online self-evaluation: hit (alarm >= 30 s before the crash), late, miss, false_alarm.",
            ),
            &["outcome"],
        )?;
        let last_sweep = Gauge::new(
            "crashwatch_last_sweep_timestamp_seconds",
            "Unix time of the last completed sweep.",
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new(
                "crashwatch_build_info",
                "Build and model version; always 1.",
            ),
            &["version", "model_version"],
        )?;
        registry.register(Box::new(crash_risk.clone()))?;
        registry.register(Box::new(time_to_oom.clone()))?;
        registry.register(Box::new(working_set.clone()))?;
        registry.register(Box::new(limit.clone()))?;
        registry.register(Box::new(crash_predicted.clone()))?;
        registry.register(Box::new(containers.clone()))?;
        registry.register(Box::new(collect_duration.clone()))?;
        registry.register(Box::new(collect_errors.clone()))?;
        registry.register(Box::new(predictions.clone()))?;
        registry.register(Box::new(last_sweep.clone()))?;
        registry.register(Box::new(build_info.clone()))?;
        for outcome in OUTCOMES {
            predictions.with_label_values(&[outcome]);
        }
        for kind in ERROR_KINDS {
            collect_errors.with_label_values(&[kind]);
        }
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), model_version])
            .set(1);
        Ok(Metrics {
            registry,
            crash_risk,
            time_to_oom,
            working_set,
            limit,
            crash_predicted,
            containers,
            collect_duration,
            collect_errors,
            predictions,
            last_sweep,
            build_info,
            published: Mutex::new(HashMap::new()),
        })
    }

    /// Replace the per-container series with `rows` (one sweep): set what is known, remove
    /// what became unknown and every series of containers not in `rows`.
    pub fn publish_containers(&self, rows: &[ContainerRow]) {
        let mut published = match self.published.lock() {
            Ok(g) => g,
            // A panic elsewhere while holding the lock leaves a usable map; keep serving.
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut next: HashMap<(String, String, String), Published> =
            HashMap::with_capacity(rows.len());
        for row in rows {
            let key = row.key();
            let labels = [
                row.namespace.as_str(),
                row.pod.as_str(),
                row.container.as_str(),
            ];
            let prev = published.remove(&key).unwrap_or_default();
            self.crash_risk
                .with_label_values(&labels)
                .set(row.crash_risk);
            let now = Published {
                time_to_oom: set_or_remove(
                    &self.time_to_oom,
                    &labels,
                    row.time_to_oom_seconds,
                    prev.time_to_oom,
                ),
                working_set: set_or_remove(
                    &self.working_set,
                    &labels,
                    row.working_set_bytes.map(|v| v as f64),
                    prev.working_set,
                ),
                limit: set_or_remove(
                    &self.limit,
                    &labels,
                    row.limit_bytes.map(|v| v as f64),
                    prev.limit,
                ),
                alarmed_cause: row.alarmed_cause.clone(),
            };
            if prev.alarmed_cause != row.alarmed_cause {
                if let Some(old) = &prev.alarmed_cause {
                    let _ = self
                        .crash_predicted
                        .remove_label_values(&[labels[0], labels[1], labels[2], old]);
                }
            }
            if let Some(cause) = &row.alarmed_cause {
                self.crash_predicted
                    .with_label_values(&[labels[0], labels[1], labels[2], cause])
                    .set(1.0);
            }
            // Two containers with the same labels (e.g. a restart seen twice in one sweep)
            // share series; the last row wins, and it is removed once.
            next.insert(key, now);
        }
        for ((ns, pod, container), gone) in published.drain() {
            if next.contains_key(&(ns.clone(), pod.clone(), container.clone())) {
                continue;
            }
            let labels = [ns.as_str(), pod.as_str(), container.as_str()];
            let _ = self.crash_risk.remove_label_values(&labels);
            if gone.time_to_oom {
                let _ = self.time_to_oom.remove_label_values(&labels);
            }
            if gone.working_set {
                let _ = self.working_set.remove_label_values(&labels);
            }
            if gone.limit {
                let _ = self.limit.remove_label_values(&labels);
            }
            if let Some(cause) = &gone.alarmed_cause {
                let _ = self
                    .crash_predicted
                    .remove_label_values(&[labels[0], labels[1], labels[2], cause]);
            }
        }
        *published = next;
        self.containers.set(rows.len() as i64);
    }

    /// Record one sweep's wall time, its errors by kind, and its completion time.
    pub fn observe_sweep(&self, stats: &crate::collect::SweepStats, unix_now: f64) {
        self.collect_duration.observe(stats.duration.as_secs_f64());
        if stats.vanished > 0 {
            self.collect_errors
                .with_label_values(&["vanished"])
                .inc_by(stats.vanished);
        }
        for (kind, n) in &stats.errors {
            if *n > 0 {
                self.collect_errors
                    .with_label_values(&[kind.as_str()])
                    .inc_by(*n);
            }
        }
        self.last_sweep.set(unix_now);
    }

    /// Count one error of `kind` outside the collector (e.g. a failed sweep task).
    pub fn count_error(&self, kind: &str) {
        self.collect_errors.with_label_values(&[kind]).inc();
    }

    /// Count one self-evaluation outcome (`hit`, `late`, `miss`, `false_alarm`).
    pub fn count_outcome(&self, outcome: &str) {
        self.predictions.with_label_values(&[outcome]).inc();
    }

    /// Current value of `crashwatch_predictions_total{outcome}`.
    pub fn outcome_count(&self, outcome: &str) -> u64 {
        self.predictions.with_label_values(&[outcome]).get()
    }

    /// Number of per-container label sets currently published.
    pub fn published_containers(&self) -> usize {
        self.published.lock().map(|g| g.len()).unwrap_or(0)
    }

    /// Encode every registered metric in the Prometheus text format (0.0.4) into `buf`.
    pub fn encode(&self, buf: &mut Vec<u8>) -> prometheus::Result<()> {
        TextEncoder::new().encode(&self.registry.gather(), buf)
    }

    /// The content type of [`Metrics::encode`]'s output.
    pub fn content_type() -> &'static str {
        prometheus::TEXT_FORMAT
    }

    /// The `crashwatch_build_info` handle (kept so the series is never dropped).
    pub fn build_info(&self) -> &IntGaugeVec {
        &self.build_info
    }
}

/// Set `value` when known, else remove a series that was published before. Returns whether
/// the series exists afterwards.
fn set_or_remove(vec: &GaugeVec, labels: &[&str; 3], value: Option<f64>, existed: bool) -> bool {
    match value {
        Some(v) if v.is_finite() => {
            vec.with_label_values(labels).set(v);
            true
        }
        _ => {
            if existed {
                let _ = vec.remove_label_values(labels);
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pod: &str, risk: f64) -> ContainerRow {
        ContainerRow {
            namespace: "default".into(),
            pod: pod.into(),
            container: "app".into(),
            crash_risk: risk,
            time_to_oom_seconds: Some(42.0),
            working_set_bytes: Some(100),
            limit_bytes: Some(200),
            alarmed_cause: Some("oom_kill".into()),
        }
    }

    fn text(m: &Metrics) -> String {
        let mut buf = Vec::new();
        m.encode(&mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn series_follow_the_rows_and_vanish_with_them() {
        let m = Metrics::new("test-1").unwrap();
        m.publish_containers(&[row("a", 0.9), row("b", 0.1)]);
        let t = text(&m);
        assert!(
            t.contains(r#"crashwatch_crash_risk{container="app",namespace="default",pod="a"} 0.9"#),
            "{t}"
        );
        assert!(t.contains(
            r#"crashwatch_crash_predicted{cause="oom_kill",container="app",namespace="default",pod="b"} 1"#
        ));
        assert!(t.contains("crashwatch_containers 2"));

        let mut b = row("b", 0.1);
        b.time_to_oom_seconds = None;
        b.limit_bytes = None;
        b.alarmed_cause = None;
        m.publish_containers(&[b]);
        let t = text(&m);
        assert!(!t.contains(r#"pod="a""#), "{t}");
        assert!(!t.contains("crashwatch_time_to_oom_seconds{"), "{t}");
        assert!(!t.contains("crashwatch_memory_limit_bytes{"), "{t}");
        assert!(!t.contains("crashwatch_crash_predicted{"), "{t}");
        assert!(t.contains(r#"crashwatch_memory_working_set_bytes{container="app",namespace="default",pod="b"} 100"#));
        assert!(t.contains("crashwatch_containers 1"));
        assert_eq!(m.published_containers(), 1);
    }

    #[test]
    fn cause_change_moves_the_alarm_series() {
        let m = Metrics::new("test-1").unwrap();
        m.publish_containers(&[row("a", 0.9)]);
        let mut r = row("a", 0.9);
        r.alarmed_cause = Some("evicted".into());
        m.publish_containers(&[r]);
        let t = text(&m);
        assert!(!t.contains(r#"cause="oom_kill""#), "{t}");
        assert!(t.contains(r#"crashwatch_crash_predicted{cause="evicted",container="app",namespace="default",pod="a"} 1"#));
    }

    #[test]
    fn self_metrics_are_preinitialised() {
        let m = Metrics::new("m-7").unwrap();
        let t = text(&m);
        for o in OUTCOMES {
            assert!(
                t.contains(&format!(
                    "crashwatch_predictions_total{{outcome=\"{o}\"}} 0"
                )),
                "{o}: {t}"
            );
        }
        assert!(t.contains(r#"crashwatch_collect_errors_total{kind="vanished"} 0"#));
        assert!(t.contains(&format!(
            "crashwatch_build_info{{model_version=\"m-7\",version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(t.contains("crashwatch_collect_duration_seconds_count 0"));
    }
}
