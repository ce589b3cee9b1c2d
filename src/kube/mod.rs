//! Kubernetes side: pod metadata from the kubelet (`/pods`) or the API server, node signals
//! from `/stats/summary`, and Events. (Issue 6; today a no-op that leaves UID labels.)
use crate::predict::Prediction;
use crate::sample::{ContainerMeta, Snapshot};

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
        }
    }

    /// True when `--kubelet-url off` disabled every Kubernetes lookup.
    pub fn is_off(&self) -> bool {
        self.kubelet_url.as_deref() == Some("off")
    }
}

/// One-shot enrichment for `collect --once` (blocking; builds its own small runtime).
/// Failures leave UID labels in place and are returned for the caller to log.
pub fn enrich_blocking(cfg: &KubeConfig, _snapshot: &mut Snapshot) -> crate::Result<()> {
    if cfg.is_off() {
        return Ok(());
    }
    Ok(())
}

/// Handle to the background pod-metadata refresher and Event poster.
#[derive(Debug, Clone, Default)]
pub struct Kube {}

impl Kube {
    /// Start background refresh (must be called inside a tokio runtime); registers its own
    /// metrics in `registry`.
    pub async fn start(_cfg: KubeConfig, _registry: &prometheus::Registry) -> Kube {
        Kube {}
    }

    /// Attach names, QoS, restarts and termination reasons to a sweep's containers (and
    /// rewrite their sample ids); asks for a refresh when an unknown container ID appears.
    pub fn enrich(&self, _snapshot: &mut Snapshot) {}

    /// Post a `CrashPredicted` Warning Event on the pod (deduplicated, rate-limited, async).
    pub fn post_alarm(&self, _meta: &ContainerMeta, _prediction: &Prediction) {}
}
