//! Pure mapping from pod objects (kubelet `/pods` or the API server) to the cgroups the
//! collector discovered: an index keyed by container ID, and the rules that attach names,
//! QoS, restarts and termination reasons to a [`Snapshot`].
//!
//! No I/O here and no clocks except the `Instant` a caller hands in: the kubelet client,
//! the API watcher and `collect --once` all go through the same code, and tests feed it
//! real PodList JSON.
use crate::sample::{ContainerSample, Qos, Snapshot, CRITICAL_PRIORITY};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

/// What the index knows about one container (one container ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Pod namespace.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Pod UID (dashes).
    pub pod_uid: String,
    /// Container name from the pod spec.
    pub container: String,
    /// `restartCount` of the container status.
    pub restarts: u64,
    /// `Evicted` (pod), else `state.terminated.reason`, else `lastState.terminated.reason`.
    pub last_termination_reason: Option<String>,
    /// `finishedAt` of that termination, Unix seconds.
    pub last_termination_ts: Option<i64>,
    /// `status.qosClass`.
    pub qos: Option<Qos>,
    /// `spec.priority`, or the value of a built-in critical class named in
    /// `spec.priorityClassName` without it (static pods).
    pub priority: Option<i32>,
    /// `resources.requests.memory` of the container's spec, bytes (0 where the spec sets
    /// none, as the kubelet counts it); `None` without a spec entry for it.
    pub memory_request: Option<u64>,
}

/// One pod reduced to what crashwatch needs (a few hundred bytes instead of a full Pod with
/// managed fields, spec and annotations): the unit the API watcher keeps per pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodEntry {
    /// Pod UID.
    pub uid: String,
    /// Containers with a runtime ID, keyed by that ID (bare hex, no `containerd://`).
    pub containers: Vec<(String, ContainerInfo)>,
}

impl PodEntry {
    /// Reduce a Pod; `None` when it has no UID (a malformed object we cannot match).
    pub fn from_pod(pod: &Pod) -> Option<PodEntry> {
        let uid = pod.metadata.uid.clone().filter(|u| !u.is_empty())?;
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_else(|| uid.clone());
        let status = pod.status.as_ref();
        let evicted = status.and_then(|s| s.reason.as_deref()) == Some("Evicted");
        let qos = status
            .and_then(|s| s.qos_class.as_deref())
            .and_then(parse_qos);
        let priority = pod.spec.as_ref().and_then(|s| {
            // A static pod's mirror carries the class's name but no value.
            s.priority.or(match s.priority_class_name.as_deref() {
                Some("system-node-critical") => Some(CRITICAL_PRIORITY + 1000),
                Some("system-cluster-critical") => Some(CRITICAL_PRIORITY),
                _ => None,
            })
        });
        let requests: HashMap<&str, u64> = pod
            .spec
            .iter()
            .flat_map(|s| {
                s.containers
                    .iter()
                    .chain(s.init_containers.iter().flatten())
            })
            .map(|c| {
                let request = c
                    .resources
                    .as_ref()
                    .and_then(|r| r.requests.as_ref())
                    .and_then(|r| r.get("memory"))
                    .and_then(|q| quantity_bytes(&q.0))
                    .unwrap_or(0);
                (c.name.as_str(), request)
            })
            .collect();
        let mut containers = Vec::new();
        if let Some(st) = status {
            // Init and ephemeral containers get cgroups too; a pod's sandbox (pause) does not
            // appear in any of these lists, which is how it is recognised later.
            let lists = [
                &st.container_statuses,
                &st.init_container_statuses,
                &st.ephemeral_container_statuses,
            ];
            for cs in lists.into_iter().flatten().flatten() {
                let (reason, finished) = termination(cs);
                let reason = if evicted {
                    Some("Evicted".to_string())
                } else {
                    reason
                };
                let info = ContainerInfo {
                    namespace: namespace.clone(),
                    pod: name.clone(),
                    pod_uid: uid.clone(),
                    container: cs.name.clone(),
                    restarts: u64::try_from(cs.restart_count).unwrap_or(0),
                    last_termination_reason: reason,
                    last_termination_ts: finished,
                    qos,
                    priority,
                    memory_request: requests.get(cs.name.as_str()).copied(),
                };
                for id in status_ids(cs) {
                    containers.push((id, info.clone()));
                }
            }
        }
        Some(PodEntry { uid, containers })
    }
}

/// Every runtime ID a status mentions for its *current* instance (the top-level
/// `containerID`, and the one in `state.terminated`, which is the same when both are set).
fn status_ids(cs: &ContainerStatus) -> Vec<String> {
    let mut ids = Vec::with_capacity(1);
    let top = cs.container_id.as_deref();
    let term = cs
        .state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .and_then(|t| t.container_id.as_deref());
    for raw in [top, term].into_iter().flatten() {
        if let Some(id) = strip_runtime(raw) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// Why and when the container last stopped: the current instance if it is terminated, else
/// the previous one (`lastState`), which after a restart is what says `OOMKilled`. The time
/// (`finishedAt`, Unix seconds) tells a restart loop happening now from restarts of last week.
/// Both come from the same state, so a reason is never dated by another termination.
fn termination(cs: &ContainerStatus) -> (Option<String>, Option<i64>) {
    let now = cs.state.as_ref().and_then(|s| s.terminated.as_ref());
    let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    let t = now.or(last);
    let reason = t.and_then(|t| t.reason.clone()).filter(|r| !r.is_empty());
    let finished = t
        .and_then(|t| t.finished_at.as_ref())
        .map(|t| t.0.as_second());
    (reason, finished)
}

/// `containerd://<hex>`, `cri-o://<hex>`, `docker://<hex>` → lower-case `<hex>`; `None` for an
/// empty or non-hex ID (a container that has not started has none).
pub fn strip_runtime(raw: &str) -> Option<String> {
    let id = raw.rsplit_once("://").map_or(raw, |(_, id)| id).trim();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(id.to_ascii_lowercase())
}

/// A Kubernetes resource quantity (`512Mi`, `1G`, `1.5Gi`, `129e6`, `100`) in bytes, rounded
/// up as the API server rounds a fraction of a byte; `None` for anything else (a negative or
/// malformed value, or one past `u64`).
pub fn quantity_bytes(q: &str) -> Option<u64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let scale = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    if number.is_empty() || number.starts_with('-') {
        return None;
    }
    let v = number.parse::<f64>().ok()? * scale;
    (v.is_finite() && v < u64::MAX as f64).then(|| v.ceil() as u64)
}

/// `Guaranteed` / `Burstable` / `BestEffort` → [`Qos`].
pub fn parse_qos(s: &str) -> Option<Qos> {
    match s {
        "Guaranteed" => Some(Qos::Guaranteed),
        "Burstable" => Some(Qos::Burstable),
        "BestEffort" => Some(Qos::Besteffort),
        _ => None,
    }
}

/// The answer for one discovered cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// A container the pod source knows.
    Known(&'a ContainerInfo),
    /// The pod is known but this ID is none of its containers: its sandbox (pause), or a
    /// container that started after the index was built.
    NotAContainer,
    /// Neither the pod nor the ID is known (new pod, or the source is down).
    Unknown,
}

/// Container ID → metadata for every pod on the node, built in one go from one source.
#[derive(Debug, Clone)]
pub struct PodIndex {
    by_id: HashMap<String, Arc<ContainerInfo>>,
    pods: HashSet<String>,
    /// When the data was fetched (a cgroup first seen after this may be newer than the index).
    pub fetched_at: Instant,
    /// `kubelet` or `api`.
    pub source: &'static str,
}

/// What [`PodIndex::apply`] did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Containers that got names.
    pub named: usize,
    /// Sandbox (pause) cgroups removed from the snapshot.
    pub dropped: usize,
    /// Container IDs the index does not know (a refresh may help).
    pub unknown: usize,
}

impl PodIndex {
    /// Build from reduced pods.
    pub fn new<'a>(
        pods: impl IntoIterator<Item = &'a PodEntry>,
        fetched_at: Instant,
        source: &'static str,
    ) -> Self {
        let mut by_id = HashMap::new();
        let mut uids = HashSet::new();
        for p in pods {
            uids.insert(p.uid.clone());
            for (id, info) in &p.containers {
                by_id.insert(id.clone(), Arc::new(info.clone()));
            }
        }
        PodIndex {
            by_id,
            pods: uids,
            fetched_at,
            source,
        }
    }

    /// Build straight from Pod objects (a kubelet PodList or an API list).
    pub fn from_pods(pods: &[Pod], fetched_at: Instant, source: &'static str) -> Self {
        let entries: Vec<PodEntry> = pods.iter().filter_map(PodEntry::from_pod).collect();
        PodIndex::new(&entries, fetched_at, source)
    }

    /// Number of pods known.
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// Look a discovered container up by its ID and pod UID.
    pub fn lookup(&self, container_id: &str, pod_uid: Option<&str>) -> Lookup<'_> {
        if let Some(info) = self.by_id.get(&container_id.to_ascii_lowercase()) {
            return Lookup::Known(info);
        }
        match pod_uid {
            Some(uid) if self.pods.contains(uid) => Lookup::NotAContainer,
            _ => Lookup::Unknown,
        }
    }

    /// Attach metadata to every container of `snap` the index knows and rewrite its sample
    /// id. `drop_not_container(c)` decides, for a cgroup whose pod is known but whose ID is
    /// not, whether to remove it as a sandbox (true) or keep it with UID labels (false).
    /// Host-mode cgroups (no container ID) are left alone.
    pub fn apply(
        &self,
        snap: &mut Snapshot,
        mut drop_not_container: impl FnMut(&ContainerSample) -> bool,
    ) -> ApplyStats {
        let mut stats = ApplyStats::default();
        snap.containers.retain_mut(|c| {
            let Some(id) = c.meta.container_id.clone() else {
                return true;
            };
            match self.lookup(&id, c.meta.pod_uid.as_deref()) {
                Lookup::Known(info) => {
                    attach(c, info);
                    stats.named += 1;
                    true
                }
                Lookup::NotAContainer => {
                    if drop_not_container(c) {
                        stats.dropped += 1;
                        false
                    } else {
                        stats.unknown += 1;
                        true
                    }
                }
                Lookup::Unknown => {
                    stats.unknown += 1;
                    true
                }
            }
        });
        stats
    }
}

/// Copy names and kubelet-side signals into one container sample.
fn attach(c: &mut ContainerSample, info: &ContainerInfo) {
    c.meta.namespace.clone_from(&info.namespace);
    c.meta.pod.clone_from(&info.pod);
    c.meta.container.clone_from(&info.container);
    if c.meta.pod_uid.is_none() {
        c.meta.pod_uid = Some(info.pod_uid.clone());
    }
    c.sample.restarts_total = Some(info.restarts);
    c.sample
        .last_termination_reason
        .clone_from(&info.last_termination_reason);
    c.sample.last_termination_ts = info.last_termination_ts.map(|t| t as f64);
    if info.qos.is_some() {
        // The kubelet's class is authoritative; the cgroup path only hints at it.
        c.sample.qos = info.qos;
    }
    c.sample.pod_priority = info.priority;
    c.sample.memory_request_bytes = info.memory_request;
    c.sample.id = c.meta.id();
}

/// Labels for a container nobody could name (interface.md): namespace `""`, pod = UID,
/// container = first 12 hex chars of the ID. Only touches containers with an ID.
pub fn uid_labels(c: &mut ContainerSample) {
    let Some(id) = c.meta.container_id.as_deref() else {
        return;
    };
    c.meta.namespace.clear();
    if let Some(uid) = c.meta.pod_uid.as_deref() {
        c.meta.pod = uid.to_string();
    }
    c.meta.container = id.chars().take(12).collect();
    c.sample.id = c.meta.id();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{ContainerMeta, Sample};

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    fn cgroup(uid: &str, id: &str) -> ContainerSample {
        let mut c = ContainerSample {
            meta: ContainerMeta {
                pod_uid: Some(uid.into()),
                container_id: Some(id.into()),
                cgroup: format!("kubepods/pod{uid}/{id}"),
                ..Default::default()
            },
            sample: Sample {
                memory_usage_bytes: Some(5),
                ..Default::default()
            },
        };
        uid_labels(&mut c);
        c
    }

    const A: &str = "741453edd879af5b9c714dad5170ee4c3730d11e4e0533d2ca1d84c40aff133e";
    const B: &str = "1c8fa019edd4b9d4b2856f4932c55929c5c118c808ed5faee9a135ca6e84b039";
    const PAUSE: &str = "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999";

    fn leaky() -> Pod {
        pod(serde_json::json!({
            "metadata": {"name": "stress-pod", "namespace": "default", "uid": "11111111-2222-3333-4444-555555555555"},
            "status": {
                "qosClass": "Burstable",
                "containerStatuses": [{
                    "name": "stress", "image": "x", "imageID": "", "ready": true, "restartCount": 3,
                    "containerID": format!("cri-o://{A}"),
                    "state": {"running": {"startedAt": "2025-11-04T19:11:32Z"}},
                    "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "containerID": "cri-o://00ff",
                                                  "startedAt": "2025-11-04T19:02:10Z", "finishedAt": "2025-11-04T19:11:31Z"}}
                }],
                "initContainerStatuses": [{
                    "name": "init", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                    "containerID": format!("docker://{B}"),
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed", "containerID": format!("docker://{B}")}}
                }]
            }
        }))
    }

    #[test]
    fn runtime_prefixes_are_stripped() {
        assert_eq!(
            strip_runtime(&format!("containerd://{A}")).as_deref(),
            Some(A)
        );
        assert_eq!(strip_runtime("cri-o://ABCDEF").as_deref(), Some("abcdef"));
        assert_eq!(strip_runtime("docker://0123"), Some("0123".into()));
        assert_eq!(strip_runtime(""), None);
        assert_eq!(strip_runtime("containerd://"), None);
        assert_eq!(strip_runtime("containerd://not-hex"), None);
    }

    #[test]
    fn names_restarts_and_oomkilled_are_attached() {
        let idx = PodIndex::from_pods(&[leaky()], Instant::now(), "kubelet");
        let uid = "11111111-2222-3333-4444-555555555555";
        let mut snap = Snapshot {
            containers: vec![cgroup(uid, A), cgroup(uid, B), cgroup(uid, PAUSE)],
            ..Default::default()
        };
        let stats = idx.apply(&mut snap, |_| true);
        assert_eq!(
            stats,
            ApplyStats {
                named: 2,
                dropped: 1,
                unknown: 0
            }
        );
        let c = &snap.containers[0];
        assert_eq!(c.sample.id, "default/stress-pod/stress");
        assert_eq!(
            (
                c.meta.namespace.as_str(),
                c.meta.pod.as_str(),
                c.meta.container.as_str()
            ),
            ("default", "stress-pod", "stress")
        );
        assert_eq!(c.sample.restarts_total, Some(3));
        assert_eq!(
            c.sample.last_termination_reason.as_deref(),
            Some("OOMKilled")
        );
        // finishedAt of that OOM kill, 2025-11-04T19:11:31Z.
        assert_eq!(c.sample.last_termination_ts, Some(1_762_283_491.0));
        assert_eq!(c.sample.qos, Some(Qos::Burstable));
        let init = &snap.containers[1];
        assert_eq!(init.sample.id, "default/stress-pod/init");
        assert_eq!(
            init.sample.last_termination_reason.as_deref(),
            Some("Completed")
        );
    }

    #[test]
    fn reason_and_time_come_from_the_same_termination() {
        let status = |state: serde_json::Value, last: serde_json::Value| -> ContainerStatus {
            serde_json::from_value(serde_json::json!({
                "name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 4,
                "state": state, "lastState": last
            }))
            .expect("container status")
        };
        let oom_last_week = serde_json::json!({"terminated": {"exitCode": 137,
            "reason": "OOMKilled", "finishedAt": "2025-11-01T10:00:00Z"}});
        // Terminated now without a reason: last week's OOMKilled must not be dated now.
        let cs = status(
            serde_json::json!({"terminated": {"exitCode": 1,
                "finishedAt": "2025-11-08T10:00:00Z"}}),
            oom_last_week.clone(),
        );
        assert_eq!(termination(&cs), (None, Some(1_762_596_000)));
        // Running: the previous instance's termination, reason and time together.
        let cs = status(
            serde_json::json!({"running": {"startedAt": "2025-11-08T10:00:05Z"}}),
            oom_last_week,
        );
        assert_eq!(
            termination(&cs),
            (Some("OOMKilled".into()), Some(1_761_991_200))
        );
    }

    #[test]
    fn unknown_pods_keep_uid_labels_and_kept_sandboxes_too() {
        let idx = PodIndex::from_pods(&[leaky()], Instant::now(), "kubelet");
        let other = "99999999-2222-3333-4444-555555555555";
        let mut snap = Snapshot {
            containers: vec![
                cgroup(other, B.replace('1', "2").as_str()),
                cgroup("11111111-2222-3333-4444-555555555555", PAUSE),
            ],
            ..Default::default()
        };
        let stats = idx.apply(&mut snap, |_| false);
        assert_eq!(
            stats,
            ApplyStats {
                named: 0,
                dropped: 0,
                unknown: 2
            }
        );
        assert_eq!(
            snap.containers[0].sample.id,
            format!("/{other}/2c8fa029edd4")
        );
        assert_eq!(
            snap.containers[1].sample.id,
            "/11111111-2222-3333-4444-555555555555/aaaabbbbcccc"
        );
    }

    #[test]
    fn evicted_pod_reason_wins() {
        let mut p = leaky();
        if let Some(s) = p.status.as_mut() {
            s.reason = Some("Evicted".into());
        }
        let idx = PodIndex::from_pods(&[p], Instant::now(), "api");
        match idx.lookup(A, None) {
            Lookup::Known(i) => assert_eq!(i.last_termination_reason.as_deref(), Some("Evicted")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn host_mode_cgroups_are_untouched() {
        let idx = PodIndex::from_pods(&[leaky()], Instant::now(), "kubelet");
        let host = ContainerSample {
            meta: ContainerMeta {
                pod: "system.slice/foo.service".into(),
                cgroup: "system.slice/foo.service".into(),
                ..Default::default()
            },
            sample: Sample {
                id: "/system.slice/foo.service/".into(),
                ..Default::default()
            },
        };
        let mut snap = Snapshot {
            containers: vec![host.clone()],
            ..Default::default()
        };
        assert_eq!(idx.apply(&mut snap, |_| true), ApplyStats::default());
        assert_eq!(snap.containers, vec![host]);
    }

    fn load(file: &str) -> PodIndex {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/kubelet")
            .join(file);
        let list: k8s_openapi::List<Pod> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        PodIndex::from_pods(&list.items, Instant::now(), "kubelet")
    }

    #[test]
    fn real_containerd_podlist_k8s_1_32() {
        // Verbatim kubelet /pods capture (nri-kubernetes datagen, minikube 1.32, containerd).
        let idx = load("pods_k8s_1_32.json");
        assert_eq!((idx.pod_count(), idx.by_id.len()), (23, 23));
        let Lookup::Known(c) = idx.lookup(
            "d772c6b34eca78fd6c22e7662affe81494b85af5b2d2b5b83b033bf17ea74dfa",
            None,
        ) else {
            panic!("e2e-container-creating not indexed")
        };
        assert_eq!(
            (c.namespace.as_str(), c.pod.as_str(), c.container.as_str()),
            ("scraper", "e2e-container-creating", "alpine")
        );
        assert_eq!(
            (c.restarts, c.last_termination_reason.as_deref(), c.qos),
            (3, Some("Completed"), Some(Qos::Guaranteed))
        );
        let Lookup::Known(c) = idx.lookup(
            "741453edd879af5b9c714dad5170ee4c3730d11e4e0533d2ca1d84c40aff133e",
            None,
        ) else {
            panic!("failjob not indexed")
        };
        assert_eq!(
            (c.pod.as_str(), c.last_termination_reason.as_deref(), c.qos),
            ("e2e-failjob-r4gnk", Some("Error"), Some(Qos::Besteffort))
        );
        // Memory requests as the kubelet ranks pods for eviction: none set counts as 0.
        let request = |id: &str| known(&idx, id).memory_request;
        assert_eq!(
            request("741453edd879af5b9c714dad5170ee4c3730d11e4e0533d2ca1d84c40aff133e"),
            Some(0)
        );
        assert_eq!(
            request("6a1218f4351657f376e8206125b34e7aff055cacd5961a40a8e6d20a9dafec40"),
            Some(70 << 20)
        ); // coredns 70Mi
        assert_eq!(
            request("d772c6b34eca78fd6c22e7662affe81494b85af5b2d2b5b83b033bf17ea74dfa"),
            Some(5_000_000)
        ); // alpine 5M
        assert_eq!(
            request("91c630df5f6d38fa784c4cfa892d382256b90c60a412fd766b7d44ae6249276f"),
            Some(0)
        ); // scheduler: CPU only
    }

    /// What the index knows of container `id` (the test fails if it knows nothing).
    fn known<'a>(idx: &'a PodIndex, id: &str) -> &'a ContainerInfo {
        match idx.lookup(id, None) {
            Lookup::Known(c) => c,
            _ => panic!("{id} not indexed"),
        }
    }

    #[test]
    fn quantities_read_as_the_api_server_writes_them() {
        for (q, bytes) in [
            ("512Mi", Some(512 << 20)),
            ("1Gi", Some(1 << 30)),
            ("1.5Gi", Some(3 << 29)),
            ("1G", Some(1_000_000_000)),
            ("100M", Some(100_000_000)),
            ("129e6", Some(129_000_000)),
            ("64k", Some(64_000)),
            ("1024", Some(1024)),
            ("500m", Some(1)), // half a byte, rounded up as the API server does
            (" 2Ki ", Some(2048)),
        ] {
            assert_eq!(quantity_bytes(q), bytes, "{q}");
        }
        for bad in ["", "Mi", "-1Gi", "1Xi", "1.2.3G", "1e", "1e999", "ten"] {
            assert_eq!(quantity_bytes(bad), None, "{bad}");
        }
    }

    #[test]
    fn real_docker_podlist_k8s_1_18() {
        // Verbatim capture, k8s 1.18 with docker://: 16 pods, 15 with a started container.
        let idx = load("pods_k8s_1_18.json");
        assert_eq!((idx.pod_count(), idx.by_id.len()), (16, 15));
        let Lookup::Known(c) = idx.lookup(
            "30249b5e556f4ffb5237470b3ed33bf8c85cef43e36aff004083411696ff78b9",
            None,
        ) else {
            panic!("storage-provisioner not indexed")
        };
        assert_eq!(
            (c.namespace.as_str(), c.container.as_str(), c.restarts),
            ("kube-system", "storage-provisioner", 1)
        );
        assert_eq!(c.last_termination_reason.as_deref(), Some("Error"));
        // Not every kube-system pod is critical (this one has no PriorityClass), and a static
        // pod's mirror names its class without a value.
        let priority = |id: &str| known(&idx, id).priority;
        assert_eq!(
            priority("30249b5e556f4ffb5237470b3ed33bf8c85cef43e36aff004083411696ff78b9"),
            Some(0)
        );
        assert_eq!(
            priority("6a724bdba92c9e361255c152a45f8910fdd53d5a4317284ebe63b56a57bdadd2"),
            Some(2_000_001_000)
        );
        assert_eq!(
            priority("0a6922403758bbe2d191afa3363e981d2442d50bc054149b672b8683156079ab"),
            Some(CRITICAL_PRIORITY)
        );
    }
}
