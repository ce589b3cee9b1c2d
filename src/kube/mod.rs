//! Kubernetes side: pod metadata from the kubelet (`/pods`) or the API server, node
//! `memory.available` from the kubelet's `/stats/summary`, and `CrashPredicted` Events.
//!
//! Shape: one background *refresher* task owns every kubelet call (so concurrent requests
//! for a refresh collapse into one: single-flight), an optional API *watch* task keeps a
//! compact per-node pod map, and an *events* task posts Events from a bounded queue. The
//! sweep only reads the latest [`PodIndex`] under a short lock and pokes the refresher when
//! it meets a container ID it cannot name, so Kubernetes being slow or down never stalls a
//! sweep: containers keep their UID labels (interface.md) and predictions go on.
//!
//! Must not: call the network from `enrich` or `post_alarm`, hold a lock across an await,
//! ask for `nodes/proxy`, or keep whole Pod objects.
pub mod api;
pub mod client;
pub mod events;
pub mod kubelet;
pub mod pods;

use crate::cli::PodSource;
use crate::node::EvictionThreshold;
use crate::predict::Prediction;
use crate::sample::{ContainerMeta, Snapshot};
use kubelet::{Available, FetchError, Kubelet, KubeletOptions};
use pods::PodIndex;
use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

/// Settings for the pod-metadata source and Events, from the command line.
#[derive(Debug, Clone)]
pub struct KubeConfig {
    /// `--kubelet-url` (`None` = default from `NODE_IP`, `Some("off")` = disabled).
    pub kubelet_url: Option<String>,
    /// `--kubelet-insecure-tls`.
    pub kubelet_insecure_tls: bool,
    /// `--pod-source`.
    pub pod_source: crate::cli::PodSource,
    /// Node name (for the API field selector and Event reporting instance).
    pub node_name: String,
    /// `--events on|off`.
    pub events: bool,
    /// API server URL; `None` = in-cluster service account or `$KUBECONFIG` (tests set it).
    pub api_url: Option<String>,
    /// Where the service-account `token` and `ca.crt` are read from.
    pub service_account_dir: PathBuf,
    /// How often pods and the summary are re-read from the kubelet.
    pub refresh_interval: Duration,
    /// Kubelet TCP connect timeout.
    pub connect_timeout: Duration,
    /// Kubelet whole-request timeout (and API list / Event post timeout).
    pub request_timeout: Duration,
    /// Largest kubelet response accepted, bytes.
    pub max_body: usize,
    /// `--eviction-threshold`: wins over the kubelet's `/configz`.
    pub eviction_threshold: Option<EvictionThreshold>,
    /// At most one Event per pod per this window.
    pub event_window: Duration,
}

impl KubeConfig {
    /// Build from the shared source flags.
    pub fn from_source(src: &crate::cli::SourceArgs, node_name: &str, events: bool) -> Self {
        KubeConfig {
            kubelet_url: src.kubelet_url.clone(),
            kubelet_insecure_tls: src.kubelet_insecure_tls,
            pod_source: src.pod_source,
            node_name: node_name.to_string(),
            events,
            api_url: None,
            service_account_dir: PathBuf::from(kubelet::SERVICE_ACCOUNT_DIR),
            refresh_interval: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            // A PodList of 250 pods is 2-5 MB; 32 MiB leaves room without letting a broken
            // or hostile endpoint grow the agent past its memory limit.
            max_body: 32 << 20,
            event_window: Duration::from_secs(600),
            eviction_threshold: src.eviction_threshold,
        }
    }

    /// True when `--kubelet-url off` disabled every Kubernetes lookup.
    pub fn is_off(&self) -> bool {
        self.kubelet_url.as_deref() == Some("off")
    }

    /// The kubelet base URL: the flag, else `https://$NODE_IP:10250`.
    pub fn kubelet_base(&self) -> crate::Result<String> {
        if let Some(u) = &self.kubelet_url {
            return Ok(u.trim_end_matches('/').to_string());
        }
        match std::env::var("NODE_IP") {
            Ok(ip) if ip.contains(':') => Ok(format!("https://[{ip}]:10250")),
            Ok(ip) if !ip.is_empty() => Ok(format!("https://{ip}:10250")),
            _ => Err(crate::Error::Kube(
                "NODE_IP is not set; pass --kubelet-url".into(),
            )),
        }
    }

    fn kubelet_options(&self) -> crate::Result<KubeletOptions> {
        Ok(KubeletOptions {
            url: self.kubelet_base()?,
            insecure_tls: self.kubelet_insecure_tls,
            service_account_dir: self.service_account_dir.clone(),
            connect_timeout: self.connect_timeout,
            total_timeout: self.request_timeout,
            max_body: self.max_body,
        })
    }
}

/// One-shot enrichment for `collect --once` (blocking; builds its own small runtime).
/// Failures leave UID labels in place and are returned for the caller to log.
pub fn enrich_blocking(cfg: &KubeConfig, snapshot: &mut Snapshot) -> crate::Result<()> {
    if let Some(t) = cfg.eviction_threshold {
        t.apply(snapshot);
    }
    if cfg.is_off()
        || snapshot
            .containers
            .iter()
            .all(|c| c.meta.container_id.is_none())
    {
        // Host mode has nothing to name.
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::Error::Kube(format!("runtime: {e}")))?;
    let (index, available, configz) = rt.block_on(fetch_once(cfg))?;
    if let Some(t) = configz {
        t.apply(snapshot);
    }
    // The index was fetched after discovery, so an unknown ID in a known pod is a sandbox.
    index.apply(snapshot, |_| true);
    for c in &mut snapshot.containers {
        available.apply(&mut c.sample);
    }
    Ok(())
}

/// Pods (kubelet, else API per `--pod-source`), the kubelet's memory eviction signals and
/// its eviction threshold (unknown where the kubelet does not give them).
async fn fetch_once(
    cfg: &KubeConfig,
) -> crate::Result<(PodIndex, Available, Option<EvictionThreshold>)> {
    let built = cfg.kubelet_options().and_then(Kubelet::new);
    let (kubelet, mut kubelet_err) = match built {
        Ok(k) => (Some(k), None),
        Err(e) if cfg.pod_source == PodSource::Kubelet => return Err(e),
        Err(e) => (None, Some(bare(&e))),
    };
    if cfg.pod_source != PodSource::Api {
        if let Some(k) = &kubelet {
            match k.pods().await {
                Ok(pods) => {
                    let (avail, configz) = node_figures(k).await;
                    let index = PodIndex::from_pods(&pods, Instant::now(), "kubelet");
                    return Ok((index, avail, configz));
                }
                Err(e) if cfg.pod_source == PodSource::Kubelet => return Err(e.into()),
                Err(e) => kubelet_err = Some(format!("kubelet: {e}")),
            }
        }
    }
    let with_kubelet_err = |e: crate::Error| match (&kubelet_err, cfg.pod_source) {
        (Some(k), PodSource::Auto) => crate::Error::Kube(format!("{k}; then {}", bare(&e))),
        _ => e,
    };
    let client = api::client(cfg.api_url.as_deref(), cfg.connect_timeout)
        .await
        .map_err(with_kubelet_err)?;
    let pods = api::list_once(client, &cfg.node_name, cfg.request_timeout)
        .await
        .map_err(with_kubelet_err)?;
    let (avail, configz) = match &kubelet {
        Some(k) => node_figures(k).await,
        None => (Available::default(), None),
    };
    Ok((
        PodIndex::from_pods(&pods, Instant::now(), "api"),
        avail,
        configz,
    ))
}

/// The kubelet's memory eviction signals and threshold for a one-shot collect, each unknown
/// where the kubelet does not give it (names still come from the pods).
async fn node_figures(k: &Kubelet) -> (Available, Option<EvictionThreshold>) {
    (
        k.memory_available().await.unwrap_or_default(),
        k.eviction_threshold().await.ok().flatten(),
    )
}

/// The message of a `Kube` error without its `kube: ` prefix (for joining two of them).
fn bare(e: &crate::Error) -> String {
    match e {
        crate::Error::Kube(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Metric handles of this module (registered once in the agent's registry).
#[derive(Debug, Clone)]
struct KubeMetrics {
    pod_source: IntGaugeVec,
    errors: IntCounterVec,
    events: IntCounterVec,
    pods: IntGauge,
}

impl KubeMetrics {
    fn new(registry: &Registry) -> Self {
        // The names and help texts are constants: construction only fails on a typo here,
        // which the unit tests catch; it never depends on input.
        let m = KubeMetrics {
            pod_source: IntGaugeVec::new(
                Opts::new(
                    "crashwatch_pod_source",
                    "Where pod names come from now (1 = in use): kubelet, api or none.",
                ),
                &["source"],
            )
            .expect("constant metric definition"),
            errors: IntCounterVec::new(
                Opts::new(
                    "crashwatch_kube_errors_total",
                    "Failed calls to the kubelet, the API server or for Events.",
                ),
                &["source"],
            )
            .expect("constant metric definition"),
            events: IntCounterVec::new(
                Opts::new(
                    "crashwatch_kube_events_total",
                    "CrashPredicted Events by outcome.",
                ),
                &["outcome"],
            )
            .expect("constant metric definition"),
            pods: IntGauge::new(
                "crashwatch_kube_pods",
                "Pods known to the current pod source.",
            )
            .expect("constant metric definition"),
        };
        for c in [
            Box::new(m.pod_source.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(m.errors.clone()),
            Box::new(m.events.clone()),
            Box::new(m.pods.clone()),
        ] {
            if let Err(e) = registry.register(c) {
                tracing::warn!("kube metrics not registered: {e}");
            }
        }
        m
    }

    fn set_source(&self, source: &str) {
        for s in ["kubelet", "api", "none"] {
            self.pod_source
                .with_label_values(&[s])
                .set(i64::from(s == source));
        }
    }
}

/// Logs at most once per `every` per key (an outage must not flood the log).
#[derive(Debug)]
struct LogLimiter {
    every: Duration,
    last: Mutex<HashMap<&'static str, Instant>>,
}

impl LogLimiter {
    fn allow(&self, key: &'static str) -> bool {
        let now = Instant::now();
        let Ok(mut last) = self.last.lock() else {
            return true;
        };
        match last.get(key) {
            Some(t) if now.duration_since(*t) < self.every => false,
            _ => {
                last.insert(key, now);
                true
            }
        }
    }
}

/// Which source feeds the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Active {
    Kubelet,
    Api,
}

/// State shared by the sweep-side handle and the background tasks.
#[derive(Debug)]
struct Shared {
    cfg: KubeConfig,
    index: RwLock<Option<Arc<PodIndex>>>,
    /// The kubelet's memory eviction signals, with when they were read.
    available: RwLock<Option<(Available, Instant)>>,
    /// The kubelet's hard eviction threshold for memory, from its `/configz`.
    threshold: RwLock<Option<EvictionThreshold>>,
    /// When each live container ID was first seen by a sweep.
    first_seen: Mutex<HashMap<String, Instant>>,
    /// Last successful refresh by the active source.
    last_ok: Mutex<Option<Instant>>,
    active: Mutex<Active>,
    /// The API watch is synced and its stream is not failing.
    api_up: AtomicBool,
    wake: Notify,
    metrics: KubeMetrics,
    logs: LogLimiter,
    events_tx: Option<mpsc::Sender<events::Alarm>>,
}

impl Shared {
    fn install(&self, index: PodIndex) {
        let source = index.source;
        self.metrics
            .pods
            .set(i64::try_from(index.pod_count()).unwrap_or(i64::MAX));
        if let Ok(mut g) = self.index.write() {
            *g = Some(Arc::new(index));
        }
        if let Ok(mut g) = self.last_ok.lock() {
            *g = Some(Instant::now());
        }
        self.metrics.set_source(source);
    }

    fn active(&self) -> Active {
        self.active.lock().map_or(Active::Kubelet, |g| *g)
    }

    fn set_active(&self, a: Active) {
        if let Ok(mut g) = self.active.lock() {
            *g = a;
        }
    }

    /// The active source works: the kubelet answered recently, or the API watch is synced
    /// and streaming (it only reports changes, so its age says nothing).
    fn healthy(&self) -> bool {
        if self.active() == Active::Api {
            return self.api_up.load(Ordering::Relaxed);
        }
        let limit = self.cfg.refresh_interval * 3;
        self.last_ok
            .lock()
            .ok()
            .and_then(|g| *g)
            .is_some_and(|t| t.elapsed() < limit)
    }

    fn error(&self, source: &'static str, what: &str) {
        self.metrics.errors.with_label_values(&[source]).inc();
        if self.logs.allow(source) {
            let meanwhile = if source == "kubelet_summary" {
                "node memory.available comes from /proc/meminfo meanwhile"
            } else if source == "kubelet_configz" {
                "the eviction threshold is taken for the kubelet's default, 100Mi, meanwhile; --eviction-threshold sets it"
            } else {
                "containers it cannot name keep UID labels meanwhile"
            };
            tracing::warn!(
                source,
                "kubernetes metadata: {what} ({meanwhile}; next log for this source in >= 60 s)"
            );
        }
    }
}

/// Handle to the background pod-metadata refresher and Event poster.
#[derive(Debug, Clone, Default)]
pub struct Kube {
    shared: Option<Arc<Shared>>,
    /// `--eviction-threshold`, which holds with the kubelet lookups off too.
    threshold: Option<EvictionThreshold>,
}

impl Kube {
    /// Start background refresh (must be called inside a tokio runtime); registers its own
    /// metrics in `registry`.
    pub async fn start(cfg: KubeConfig, registry: &prometheus::Registry) -> Kube {
        if cfg.is_off() {
            tracing::info!("kubelet lookups off: containers keep UID labels");
            return Kube {
                shared: None,
                threshold: cfg.eviction_threshold,
            };
        }
        let metrics = KubeMetrics::new(registry);
        metrics.set_source("none");
        let kubelet = match cfg.pod_source {
            PodSource::Api => cfg.kubelet_options().and_then(Kubelet::new).ok(),
            _ => match cfg.kubelet_options().and_then(Kubelet::new) {
                Ok(k) => Some(k),
                Err(e) => {
                    tracing::warn!("kubelet client: {e}");
                    None
                }
            },
        };
        let needs_api = cfg.pod_source != PodSource::Kubelet || cfg.events;
        let api_client = if needs_api {
            match api::client(cfg.api_url.as_deref(), cfg.connect_timeout).await {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!("API server client: {e}");
                    None
                }
            }
        } else {
            None
        };
        let events_tx = match (&api_client, cfg.events) {
            (Some(c), true) => {
                let (tx, rx) = mpsc::channel(64);
                tokio::spawn(events_task(
                    c.clone(),
                    cfg.node_name.clone(),
                    cfg.event_window,
                    cfg.request_timeout,
                    rx,
                    metrics.clone(),
                ));
                Some(tx)
            }
            (None, true) => {
                tracing::warn!("Events off: no API server configuration");
                None
            }
            _ => None,
        };
        let initial = if cfg.pod_source == PodSource::Api {
            Active::Api
        } else {
            Active::Kubelet
        };
        let shared = Arc::new(Shared {
            cfg: cfg.clone(),
            index: RwLock::new(None),
            available: RwLock::new(None),
            threshold: RwLock::new(None),
            first_seen: Mutex::new(HashMap::new()),
            last_ok: Mutex::new(None),
            active: Mutex::new(initial),
            api_up: AtomicBool::new(false),
            wake: Notify::new(),
            metrics,
            logs: LogLimiter {
                every: Duration::from_secs(60),
                last: Mutex::new(HashMap::new()),
            },
            events_tx,
        });
        let api_source = if cfg.pod_source == PodSource::Kubelet {
            None
        } else {
            api_client
        };
        let (first_tx, first_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(refresher(
            Arc::downgrade(&shared),
            kubelet,
            api_source,
            first_tx,
        ));
        // Give the first kubelet call its chance before the first sweep, so a healthy node
        // starts with names instead of publishing UID-labelled series for one refresh.
        // Bounded by the request timeout: a dead kubelet delays startup by at most that.
        let _ = tokio::time::timeout(cfg.request_timeout + cfg.connect_timeout, first_rx).await;
        Kube {
            shared: Some(shared),
            threshold: cfg.eviction_threshold,
        }
    }

    /// Attach names, QoS, restarts and termination reasons to a sweep's containers (and
    /// rewrite their sample ids); asks for a refresh when an unknown container ID appears.
    pub fn enrich(&self, snapshot: &mut Snapshot) {
        let configz = || {
            let sh = self.shared.as_ref()?;
            *sh.threshold.read().ok()?
        };
        if let Some(t) = self.threshold.or_else(configz) {
            t.apply(snapshot);
        }
        let Some(sh) = &self.shared else { return };
        let now = Instant::now();
        let index = sh.index.read().ok().and_then(|g| g.clone());
        let healthy = sh.healthy();
        let Ok(mut first_seen) = sh.first_seen.lock() else {
            return;
        };
        let live: HashSet<&str> = snapshot
            .containers
            .iter()
            .filter_map(|c| c.meta.container_id.as_deref())
            .collect();
        first_seen.retain(|id, _| live.contains(id.as_str()));
        for id in live {
            first_seen.entry(id.to_string()).or_insert(now);
        }
        let mut want_refresh = false;
        if let Some(idx) = &index {
            idx.apply(snapshot, |c| {
                let seen = c
                    .meta
                    .container_id
                    .as_deref()
                    .and_then(|id| first_seen.get(id))
                    .copied()
                    .unwrap_or(now);
                if seen <= idx.fetched_at {
                    // Present when the pod list was taken and still not listed: the sandbox.
                    return true;
                }
                // Newer than the index: ask for a refresh. While the source answers, hide it
                // for the second that takes (a restarted container keeps its history under
                // its name); while the source is down, show it with UID labels.
                want_refresh = true;
                healthy
            });
            if !want_refresh {
                want_refresh = snapshot.containers.iter().any(|c| {
                    c.meta.namespace.is_empty()
                        && c.meta
                            .container_id
                            .as_deref()
                            .and_then(|id| first_seen.get(id))
                            .is_some_and(|t| *t > idx.fetched_at)
                });
            }
        }
        drop(first_seen);
        // The API watch pushes changes by itself; only the kubelet needs a poke.
        if want_refresh && sh.active() == Active::Kubelet {
            sh.wake.notify_one();
        }
        let fresh = sh.cfg.refresh_interval * 3;
        if let Some((avail, at)) = sh.available.read().ok().and_then(|g| *g) {
            if at.elapsed() < fresh {
                for c in &mut snapshot.containers {
                    avail.apply(&mut c.sample);
                }
            }
        }
    }

    /// Post a `CrashPredicted` Warning Event on the pod (deduplicated, rate-limited, async).
    pub fn post_alarm(&self, meta: &ContainerMeta, prediction: &Prediction) {
        let Some(sh) = &self.shared else { return };
        let Some(tx) = &sh.events_tx else { return };
        let Some(alarm) = events::Alarm::new(meta, prediction) else {
            sh.metrics.events.with_label_values(&["skipped"]).inc();
            return;
        };
        if tx.try_send(alarm).is_err() {
            sh.metrics.events.with_label_values(&["dropped"]).inc();
        }
    }

    /// What the current index says about a container ID, e.g. for a container whose cgroup
    /// just vanished (an evicted pod's statuses still name it, with reason `Evicted`).
    pub fn lookup(&self, container_id: &str) -> Option<pods::ContainerInfo> {
        let sh = self.shared.as_ref()?;
        let idx = sh.index.read().ok()?.clone()?;
        match idx.lookup(container_id, None) {
            pods::Lookup::Known(info) => Some(info.clone()),
            _ => None,
        }
    }

    /// Which source currently feeds names (`kubelet`, `api`), or `None` before the first
    /// successful refresh or when disabled.
    pub fn source(&self) -> Option<&'static str> {
        let sh = self.shared.as_ref()?;
        let g = sh.index.read().ok()?;
        g.as_ref().map(|i| i.source)
    }
}

/// Exponential backoff between failed refreshes: 1 s, 2 s, 4 s … capped.
#[derive(Debug)]
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn fail(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }
    fn reset(&mut self) {
        self.next = Duration::from_secs(1);
    }
}

/// The single task that talks to the kubelet; ends when every [`Kube`] handle is gone.
async fn refresher(
    weak: std::sync::Weak<Shared>,
    kubelet: Option<Kubelet>,
    api_client: Option<kube::Client>,
    first_cycle: tokio::sync::oneshot::Sender<()>,
) {
    let mut first_cycle = Some(first_cycle);
    let mut backoff = Backoff {
        next: Duration::from_secs(1),
        max: Duration::from_secs(30),
    };
    let mut cycle = Cycle {
        api_task: None,
        kubelet_failures: 0,
        summary_denied_until: None,
        configz_next: Instant::now(),
    };
    loop {
        let Some(sh) = weak.upgrade() else { break };
        let cfg = &sh.cfg;
        if sh.active() == Active::Api && cycle.api_task.is_none() {
            cycle.api_task = start_api(&sh, api_client.clone());
        }
        let try_kubelet = match cfg.pod_source {
            PodSource::Kubelet => true,
            PodSource::Api => false,
            // Back on the kubelet only when the API source is not doing its job either.
            PodSource::Auto => sh.active() == Active::Kubelet || !sh.healthy(),
        };
        let failed =
            try_kubelet && !refresh_pods(&sh, kubelet.as_ref(), &api_client, &mut cycle).await;
        if !sh.healthy() {
            sh.metrics.set_source("none");
        }
        if let Some(k) = &kubelet {
            refresh_available(&sh, k, &mut cycle.summary_denied_until).await;
            if cfg.eviction_threshold.is_none() {
                refresh_threshold(&sh, k, &mut cycle.configz_next).await;
            }
        }
        if let Some(tx) = first_cycle.take() {
            let _ = tx.send(());
        }
        let delay = if failed {
            backoff.fail()
        } else {
            backoff.reset();
            cfg.refresh_interval
        };
        let min_gap = Duration::from_secs(1).min(cfg.refresh_interval);
        drop(sh);
        let Some(sh) = weak.upgrade() else { break };
        let wake = async {
            // A wake-up cannot cut a failure backoff short: that is the anti-stampede rule.
            if failed {
                std::future::pending::<()>().await;
            }
            sh.wake.notified().await;
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = wake => tokio::time::sleep(min_gap).await,
        }
    }
    if let Some(t) = cycle.api_task {
        t.abort();
    }
}

/// What [`refresher`] keeps from one cycle to the next.
struct Cycle {
    /// The API watch, while it runs.
    api_task: Option<tokio::task::JoinHandle<()>>,
    /// Kubelet `/pods` failures in a row.
    kubelet_failures: u32,
    /// No `/stats/summary` until then (the kubelet denied it).
    summary_denied_until: Option<Instant>,
    /// When `/configz` is next read.
    configz_next: Instant,
}

/// Reads the pods from the kubelet and installs them, back on the kubelet if the API was the
/// source; on a failure, counts it and falls back to the API where that is due. False when
/// the kubelet failed (or there is none).
async fn refresh_pods(
    sh: &Arc<Shared>,
    kubelet: Option<&Kubelet>,
    api_client: &Option<kube::Client>,
    cycle: &mut Cycle,
) -> bool {
    let Some(k) = kubelet else {
        fallback(
            sh,
            &FetchError::Unreachable("no kubelet URL".into()),
            u32::MAX,
            &mut cycle.api_task,
            api_client,
        );
        return false;
    };
    match k.pods().await {
        Ok(pods) => {
            if sh.active() != Active::Kubelet {
                tracing::info!("pod source: kubelet answers again, using it");
                if let Some(t) = cycle.api_task.take() {
                    t.abort();
                }
                sh.api_up.store(false, Ordering::Relaxed);
                sh.set_active(Active::Kubelet);
            }
            sh.install(PodIndex::from_pods(&pods, Instant::now(), "kubelet"));
            cycle.kubelet_failures = 0;
            true
        }
        Err(e) => {
            cycle.kubelet_failures += 1;
            sh.error("kubelet", &format!("kubelet /pods: {e}"));
            fallback(
                sh,
                &e,
                cycle.kubelet_failures,
                &mut cycle.api_task,
                api_client,
            );
            false
        }
    }
}

/// Reads the node's available memory from the kubelet's `/stats/summary`, unless it denied
/// that lately (`denied_until`).
async fn refresh_available(sh: &Shared, k: &Kubelet, denied_until: &mut Option<Instant>) {
    if denied_until.is_some_and(|t| Instant::now() < t) {
        return;
    }
    match k.memory_available().await {
        Ok(v) if !v.is_empty() => {
            if let Ok(mut g) = sh.available.write() {
                *g = Some((v, Instant::now()));
            }
        }
        Ok(_) => {}
        Err(e) => {
            if matches!(e, FetchError::Denied(_)) {
                // No nodes/stats permission: stop asking for a while, /proc/meminfo (the
                // collector's value) stays in place.
                *denied_until = Some(Instant::now() + Duration::from_secs(600));
            }
            sh.error("kubelet_summary", &format!("kubelet /stats/summary: {e}"));
        }
    }
}

/// Reads the kubelet's hard eviction threshold from `/configz` when it is due (`next`).
async fn refresh_threshold(sh: &Shared, k: &Kubelet, next: &mut Instant) {
    if Instant::now() < *next {
        return;
    }
    // Read once an hour (a kubelet restarts to change it), every 10 minutes while it fails:
    // without nodes/configz (Kubernetes < 1.33 grants it only through nodes/proxy, which this
    // agent never asks for) 100Mi is assumed.
    *next = Instant::now() + Duration::from_secs(3600);
    match k.eviction_threshold().await {
        Ok(t) => {
            if let Ok(mut g) = sh.threshold.write() {
                *g = t;
            }
        }
        Err(e) => {
            *next = Instant::now() + Duration::from_secs(600);
            sh.error("kubelet_configz", &format!("kubelet /configz: {e}"));
        }
    }
}

/// In `auto`, switch to the API server when the kubelet refuses or is unreachable (or keeps
/// failing in other ways: three times in a row).
fn fallback(
    sh: &Arc<Shared>,
    e: &FetchError,
    failures: u32,
    api_task: &mut Option<tokio::task::JoinHandle<()>>,
    api_client: &Option<kube::Client>,
) {
    if sh.cfg.pod_source != PodSource::Auto || sh.active() == Active::Api {
        return;
    }
    if !(e.is_fallback_trigger() || failures >= 3) {
        return;
    }
    if api_client.is_none() {
        return;
    }
    tracing::info!("pod source: kubelet /pods failed ({e}); falling back to the API server (pods watch on this node)");
    sh.set_active(Active::Api);
    if api_task.is_none() {
        *api_task = start_api(sh, api_client.clone());
    }
}

fn start_api(
    sh: &Arc<Shared>,
    client: Option<kube::Client>,
) -> Option<tokio::task::JoinHandle<()>> {
    let client = client?;
    let weak = Arc::downgrade(sh);
    let node = sh.cfg.node_name.clone();
    Some(tokio::spawn(api::watch(client, node, move |u| {
        let Some(sh) = weak.upgrade() else {
            return false;
        };
        match u {
            api::Update::Index(idx) => {
                sh.api_up.store(true, Ordering::Relaxed);
                if sh.active() == Active::Api {
                    sh.install(idx);
                }
            }
            api::Update::Error(e) => {
                sh.api_up.store(false, Ordering::Relaxed);
                sh.error("api", &format!("API pods watch: {e}"));
            }
        }
        true
    })))
}

/// Posts queued alarms as Events, one pod at most once per window.
async fn events_task(
    client: kube::Client,
    node: String,
    window: Duration,
    timeout: Duration,
    mut rx: mpsc::Receiver<events::Alarm>,
    metrics: KubeMetrics,
) {
    let mut limit = events::RateLimit::new(window);
    while let Some(alarm) = rx.recv().await {
        if !limit.admit(&alarm, Instant::now()) {
            metrics.events.with_label_values(&["suppressed"]).inc();
            continue;
        }
        match events::post(&client, &node, &alarm, timeout).await {
            Ok(()) => metrics.events.with_label_values(&["posted"]).inc(),
            Err(e) => {
                metrics.events.with_label_values(&["failed"]).inc();
                metrics.errors.with_label_values(&["events"]).inc();
                tracing::warn!(
                    "Event for pod {}/{} not posted: {e}",
                    alarm.namespace,
                    alarm.pod
                );
            }
        }
    }
}
