//! `CrashPredicted` Warning Events (`events.k8s.io/v1`) on the pod, so the prediction shows
//! up in `kubectl describe pod` and `kubectl get events`.
//!
//! Posting happens on its own task fed by a small bounded queue: an alarm never waits for
//! the API server, and a slow or absent API server drops Events (counted), never sweeps.
//! At most one Event per pod per `window` (default 10 min): the agent already calls once
//! per alarm episode, the window stops a flapping container from spamming the pod.
//!
//! Must not: block the caller, retry forever, or post for a container with no namespace.
use crate::predict::Prediction;
use crate::sample::ContainerMeta;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One Event to post.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    /// Pod namespace.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Pod UID (for `regarding.uid`).
    pub pod_uid: Option<String>,
    /// Container name.
    pub container: String,
    /// Cause name, e.g. `oom_kill`.
    pub cause: String,
    /// Risk 0..1.
    pub risk: f64,
    /// Seconds to OOM, when known.
    pub time_to_oom: Option<f64>,
}

impl Alarm {
    /// From the agent's view of an alarm; `None` when the pod has no namespace (UID labels:
    /// we cannot address the pod object).
    pub fn new(meta: &ContainerMeta, p: &Prediction) -> Option<Alarm> {
        if meta.namespace.is_empty() || meta.pod.is_empty() {
            return None;
        }
        Some(Alarm {
            namespace: meta.namespace.clone(),
            pod: meta.pod.clone(),
            pod_uid: meta.pod_uid.clone(),
            container: meta.container.clone(),
            cause: p.cause.map_or("unknown", |c| c.as_str()).to_string(),
            risk: p.crash_risk,
            time_to_oom: p.time_to_oom_seconds,
        })
    }

    /// The human note, e.g. `container stress: crash predicted (cause oom_kill, risk 0.93,
    /// time to OOM 42s)`.
    pub fn note(&self) -> String {
        let tto = self
            .time_to_oom
            .map(|s| format!(", time to OOM {s:.0}s"))
            .unwrap_or_default();
        format!(
            "container {}: crash predicted (cause {}, risk {:.2}{tto})",
            self.container, self.cause, self.risk
        )
    }
}

/// The `events.k8s.io/v1` object for `alarm`, reported by `crashwatch` on `node`.
pub fn build_event(alarm: &Alarm, node: &str) -> Event {
    // reportingInstance is limited to 128 characters by the API server.
    let instance: String = format!("crashwatch-{node}").chars().take(128).collect();
    Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}.crashwatch-", alarm.pod)),
            namespace: Some(alarm.namespace.clone()),
            ..Default::default()
        },
        event_time: Some(MicroTime(k8s_openapi::jiff::Timestamp::now())),
        type_: Some("Warning".into()),
        reason: Some("CrashPredicted".into()),
        action: Some("Predict".into()),
        reporting_controller: Some("crashwatch".into()),
        reporting_instance: Some(instance),
        note: Some(alarm.note()),
        regarding: Some(ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(alarm.pod.clone()),
            namespace: Some(alarm.namespace.clone()),
            uid: alarm.pod_uid.clone(),
            field_path: Some(format!("spec.containers{{{}}}", alarm.container)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Per-pod rate limit: remembers when each pod last got an Event.
#[derive(Debug)]
pub struct RateLimit {
    window: Duration,
    last: HashMap<(String, String), Instant>,
}

impl RateLimit {
    /// At most one Event per pod per `window`.
    pub fn new(window: Duration) -> Self {
        RateLimit {
            window,
            last: HashMap::new(),
        }
    }

    /// True (and remembered) if `alarm`'s pod may get an Event at `now`.
    pub fn admit(&mut self, alarm: &Alarm, now: Instant) -> bool {
        // Forget pods outside the window so the map is bounded by recent alarms.
        let window = self.window;
        self.last
            .retain(|_, t| now.saturating_duration_since(*t) < window);
        let key = (alarm.namespace.clone(), alarm.pod.clone());
        if self.last.contains_key(&key) {
            return false;
        }
        self.last.insert(key, now);
        true
    }
}

/// Outcome of one post attempt, for `crashwatch_kube_events_total{outcome}`.
pub type Outcome = &'static str;

/// Post `alarm` (with a timeout); returns `posted` or `failed` with the error.
pub async fn post(
    client: &kube::Client,
    node: &str,
    alarm: &Alarm,
    timeout: Duration,
) -> Result<(), String> {
    let api: Api<Event> = Api::namespaced(client.clone(), &alarm.namespace);
    let ev = build_event(alarm, node);
    match tokio::time::timeout(timeout, api.create(&PostParams::default(), &ev)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Cause;

    fn alarm(pod: &str) -> Alarm {
        Alarm {
            namespace: "default".into(),
            pod: pod.into(),
            pod_uid: Some("u-1".into()),
            container: "stress".into(),
            cause: "oom_kill".into(),
            risk: 0.934,
            time_to_oom: Some(42.2),
        }
    }

    #[test]
    fn event_shape() {
        let ev = serde_json::to_value(build_event(&alarm("stress-pod"), "node-1")).unwrap();
        assert_eq!(ev["type"], "Warning");
        assert_eq!(ev["reason"], "CrashPredicted");
        assert_eq!(ev["reportingController"], "crashwatch");
        assert_eq!(ev["reportingInstance"], "crashwatch-node-1");
        assert_eq!(ev["regarding"]["kind"], "Pod");
        assert_eq!(ev["regarding"]["uid"], "u-1");
        assert_eq!(ev["regarding"]["name"], "stress-pod");
        assert_eq!(
            ev["note"],
            "container stress: crash predicted (cause oom_kill, risk 0.93, time to OOM 42s)"
        );
        assert_eq!(ev["metadata"]["generateName"], "stress-pod.crashwatch-");
        assert!(
            ev["eventTime"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{}",
            ev["eventTime"]
        );
    }

    #[test]
    fn one_event_per_pod_per_window() {
        let mut rl = RateLimit::new(Duration::from_secs(600));
        let t0 = Instant::now();
        assert!(rl.admit(&alarm("a"), t0));
        assert!(!rl.admit(&alarm("a"), t0 + Duration::from_secs(599)));
        assert!(rl.admit(&alarm("b"), t0 + Duration::from_secs(1)));
        assert!(rl.admit(&alarm("a"), t0 + Duration::from_secs(600)));
    }

    #[test]
    fn no_event_without_namespace() {
        let meta = ContainerMeta {
            pod: "uid".into(),
            container: "abc".into(),
            ..Default::default()
        };
        let p = Prediction {
            id: "/uid/abc".into(),
            ts: 0.0,
            crash_risk: 0.9,
            crash_predicted: true,
            cause: Some(Cause::OomKill),
            time_to_oom_seconds: None,
        };
        assert_eq!(Alarm::new(&meta, &p), None);
    }
}
