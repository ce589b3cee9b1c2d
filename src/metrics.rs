//! Prometheus metrics of the agent: typed handles for the agent's own metrics, registered
//! once in a [`prometheus::Registry`] that other parts (kube) register into as well, plus the
//! per-container families rendered from the last sweep.
//!
//! Names are the contract of `interface.md`. Per-container series (`crashwatch_crash_risk`,
//! `crashwatch_time_to_oom_seconds`, `crashwatch_memory_*`, `crashwatch_crash_predicted`) are
//! not kept as `GaugeVec`s: each sweep hands over an immutable list of rows and `/metrics`
//! renders exactly that list. A vanished container (or a value that became unknown) simply
//! has no row, so no stale series and no label growth are possible, and a scrape of 1,000
//! containers costs one pass over the rows instead of the registry's per-series hashing,
//! cloning and sorting (about 4,000 series). This module must not decide anything about risk
//! or alarms; it only mirrors what the agent computed.
use crate::predict::Prediction;
use crate::sample::ContainerSample;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::io::Write as _;
use std::sync::{Arc, RwLock};

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

    fn key(&self) -> (&str, &str, &str) {
        (&self.namespace, &self.pod, &self.container)
    }
}

/// Typed handles of every crashwatch metric.
pub struct Metrics {
    /// The registry everything is registered in (kube registers its own metrics here too).
    pub registry: Registry,
    containers: IntGauge,
    collect_duration: Histogram,
    collect_errors: IntCounterVec,
    predictions: IntCounterVec,
    last_sweep: Gauge,
    build_info: IntGaugeVec,
    /// The per-container rows of the last sweep, sorted by labels, one per label set.
    rows: RwLock<Arc<Vec<ContainerRow>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Create and register every metric in a fresh registry; `model_version` goes into
    /// `crashwatch_build_info`.
    pub fn new(model_version: &str) -> prometheus::Result<Metrics> {
        let registry = Registry::new();
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
            containers,
            collect_duration,
            collect_errors,
            predictions,
            last_sweep,
            build_info,
            rows: RwLock::new(Arc::new(Vec::new())),
        })
    }

    /// Replace the per-container series with `rows` (one sweep). Rows with the same labels
    /// (two cgroups of one container during a restart) would be duplicate series, which
    /// Prometheus rejects: the last one wins.
    pub fn publish_containers(&self, mut rows: Vec<ContainerRow>) {
        // Stable sort, then keep the last of each run of equal labels.
        rows.sort_by(|a, b| a.key().cmp(&b.key()));
        let mut uniq: Vec<ContainerRow> = Vec::with_capacity(rows.len());
        for r in rows {
            match uniq.last_mut() {
                Some(last) if last.key() == r.key() => *last = r,
                _ => uniq.push(r),
            }
        }
        self.containers.set(uniq.len() as i64);
        let uniq = Arc::new(uniq);
        match self.rows.write() {
            Ok(mut g) => *g = uniq,
            Err(poisoned) => *poisoned.into_inner() = uniq,
        }
    }

    fn rows(&self) -> Arc<Vec<ContainerRow>> {
        match self.rows.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
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
        self.rows().len()
    }

    /// Encode every registered metric in the Prometheus text format (0.0.4) into `buf`.
    pub fn encode(&self, buf: &mut Vec<u8>) -> prometheus::Result<()> {
        TextEncoder::new().encode(&self.registry.gather(), buf)?;
        let rows = self.rows();
        let r = &rows[..];
        family(
            buf,
            "crashwatch_crash_predicted",
            "1 while a crash alarm is open for the container.",
            r,
            |_| None,
            |r| r.alarmed_cause.as_deref().map(|c| (c, 1.0)),
        )?;
        family(
            buf,
            "crashwatch_crash_risk",
            "Predicted crash risk of the container, 0..1.",
            r,
            |r| Some(r.crash_risk),
            |_| None,
        )?;
        family(
            buf,
            "crashwatch_memory_limit_bytes",
            "Memory limit, bytes (absent when unlimited).",
            r,
            |r| r.limit_bytes.map(|v| v as f64),
            |_| None,
        )?;
        family(
            buf,
            "crashwatch_memory_working_set_bytes",
            "Working set (usage minus inactive file), bytes.",
            r,
            |r| r.working_set_bytes.map(|v| v as f64),
            |_| None,
        )?;
        family(
            buf,
            "crashwatch_time_to_oom_seconds",
            "Estimated seconds until the working set reaches the memory limit (only while growing toward it).",
            r,
            |r| r.time_to_oom_seconds,
            |_| None,
        )?;
        Ok(())
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

/// Write one per-container gauge family in the text format: `value` gives the plain
/// series' value, `with_cause` the value of a series that also carries a `cause` label.
/// Unknown and non-finite values have no series; a family without series is omitted.
fn family(
    buf: &mut Vec<u8>,
    name: &str,
    help: &str,
    rows: &[ContainerRow],
    value: impl Fn(&ContainerRow) -> Option<f64>,
    with_cause: impl Fn(&ContainerRow) -> Option<(&str, f64)>,
) -> prometheus::Result<()> {
    let mut header = false;
    for r in rows {
        let (cause, v) = match (with_cause(r), value(r)) {
            (Some((c, v)), _) => (Some(c), v),
            (None, Some(v)) => (None, v),
            (None, None) => continue,
        };
        if !v.is_finite() {
            continue;
        }
        if !header {
            writeln!(buf, "# HELP {name} {help}\n# TYPE {name} gauge")?;
            header = true;
        }
        buf.extend_from_slice(name.as_bytes());
        buf.push(b'{');
        // Label names in lexical order, as the prometheus crate writes them.
        if let Some(c) = cause {
            label(buf, "cause", c);
            buf.push(b',');
        }
        label(buf, "container", &r.container);
        buf.push(b',');
        label(buf, "namespace", &r.namespace);
        buf.push(b',');
        label(buf, "pod", &r.pod);
        writeln!(buf, "}} {v}")?;
    }
    Ok(())
}

/// `name="value"` with the text format's escapes (backslash, quote, newline).
fn label(buf: &mut Vec<u8>, name: &str, value: &str) {
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"=\"");
    for b in value.bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\n' => buf.extend_from_slice(b"\\n"),
            _ => buf.push(b),
        }
    }
    buf.push(b'"');
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
        m.publish_containers(vec![row("a", 0.9), row("b", 0.1)]);
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
        m.publish_containers(vec![b]);
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
        m.publish_containers(vec![row("a", 0.9)]);
        let mut r = row("a", 0.9);
        r.alarmed_cause = Some("evicted".into());
        m.publish_containers(vec![r]);
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

    #[test]
    fn rendering_matches_the_prometheus_crate() {
        let help = "Predicted crash risk of the container, 0..1.";
        let mut rows = vec![
            row("a", 0.25),
            row("b", 1.0),
            row("c", 0.0),
            row("d", 0.1 + 0.2),
        ];
        rows[1].pod = "we\"ird\\pod\nname".into();
        rows.sort_by(|a, b| a.key().cmp(&b.key()));
        let mut ours = Vec::new();
        family(
            &mut ours,
            "crashwatch_crash_risk",
            help,
            &rows,
            |r| Some(r.crash_risk),
            |_| None,
        )
        .unwrap();

        let reg = Registry::new();
        let g = prometheus::GaugeVec::new(
            Opts::new("crashwatch_crash_risk", help),
            &["namespace", "pod", "container"],
        )
        .unwrap();
        reg.register(Box::new(g.clone())).unwrap();
        for r in &rows {
            g.with_label_values(&[r.namespace.as_str(), r.pod.as_str(), r.container.as_str()])
                .set(r.crash_risk);
        }
        let mut reference = Vec::new();
        TextEncoder::new()
            .encode(&reg.gather(), &mut reference)
            .unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            String::from_utf8(reference).unwrap()
        );
    }

    #[test]
    fn duplicate_label_sets_are_published_once() {
        let m = Metrics::new("t").unwrap();
        m.publish_containers(vec![row("a", 0.1), row("b", 0.2), row("a", 0.7)]);
        let t = text(&m);
        assert_eq!(t.matches("crashwatch_crash_risk{").count(), 2, "{t}");
        assert!(
            t.contains(r#"crashwatch_crash_risk{container="app",namespace="default",pod="a"} 0.7"#),
            "{t}"
        );
        assert!(t.contains("crashwatch_containers 2"));
        assert_eq!(m.published_containers(), 2);
    }
}
