//! Kubelet HTTP client: `GET /pods` (a PodList) and `GET /stats/summary` (node
//! `memory.available`), with the service-account token and CA, hard timeouts and a cap on
//! the response size.
//!
//! Transport: a kube `Client` (built in `client.rs`) with a `Config` whose `cluster_url` is
//! the kubelet. It is the smallest sound option here because kube is already a dependency
//! for the API-server fallback and Events, and its client brings exactly what a kubelet call
//! needs: rustls, a token *file* that is re-read when the projected token rotates, a CA file
//! that is re-read on rotation, `accept_invalid_certs` for self-signed kubelet serving
//! certs, and plain `http://` for tests. A hand-rolled hyper-util + rustls client would
//! duplicate all of that. Retries are ours; the total timeout wraps connect, headers and body.
//!
//! Must not: block the caller for longer than the total timeout, read more than
//! `max_body` bytes, or log (the caller rate-limits logs and counts errors).
use crate::error::Error;
use crate::node::EvictionThreshold;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::http;
use k8s_openapi::api::core::v1::Pod;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the in-cluster service-account token and CA live.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Why a kubelet call failed; the refresher decides on fallback and backoff from this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// 401 or 403: our identity may not read this endpoint (e.g. no `nodes/pods`).
    Denied(u16),
    /// Could not connect, TLS failed, or the connection broke.
    Unreachable(String),
    /// No complete answer within the total timeout.
    Timeout,
    /// Any other HTTP status.
    Status(u16),
    /// The body exceeded the size cap.
    TooLarge(usize),
    /// The body was not the JSON we expect.
    Garbage(String),
}

impl FetchError {
    /// Short label for logs and the error counter.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Denied(_) => "denied",
            FetchError::Unreachable(_) => "unreachable",
            FetchError::Timeout => "timeout",
            FetchError::Status(_) => "status",
            FetchError::TooLarge(_) => "too_large",
            FetchError::Garbage(_) => "garbage",
        }
    }

    /// True for failures that mean "the kubelet will not serve us": auth refused, or no
    /// connection at all. `auto` falls back to the API server on these at once.
    pub fn is_fallback_trigger(&self) -> bool {
        matches!(
            self,
            FetchError::Denied(_) | FetchError::Unreachable(_) | FetchError::Timeout
        )
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Denied(s) => {
                write!(f, "HTTP {s}: access denied (RBAC: nodes/pods, nodes/stats)")
            }
            FetchError::Unreachable(e) => write!(f, "unreachable: {e}"),
            FetchError::Timeout => f.write_str("timed out"),
            FetchError::Status(s) => write!(f, "HTTP {s}"),
            FetchError::TooLarge(n) => write!(f, "response larger than {n} bytes"),
            FetchError::Garbage(e) => write!(f, "invalid response: {e}"),
        }
    }
}

impl From<FetchError> for Error {
    fn from(e: FetchError) -> Self {
        Error::Kube(format!("kubelet: {e}"))
    }
}

/// How to reach the kubelet.
#[derive(Debug, Clone)]
pub struct KubeletOptions {
    /// Base URL, e.g. `https://10.0.0.5:10250` or `http://127.0.0.1:PORT`.
    pub url: String,
    /// Skip verification of the kubelet's serving certificate.
    pub insecure_tls: bool,
    /// Directory holding `token` and `ca.crt` (used when the files exist).
    pub service_account_dir: PathBuf,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Whole request timeout, body included.
    pub total_timeout: Duration,
    /// Largest body accepted, bytes.
    pub max_body: usize,
}

/// A kubelet client (cheap to clone).
#[derive(Clone)]
pub struct Kubelet {
    client: kube::Client,
    opts: KubeletOptions,
}

impl std::fmt::Debug for Kubelet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kubelet")
            .field("url", &self.opts.url)
            .finish()
    }
}

impl Kubelet {
    /// Build the client (no request is made). Must be called inside a tokio runtime.
    pub fn new(opts: KubeletOptions) -> crate::Result<Kubelet> {
        let uri: http::Uri = opts
            .url
            .parse()
            .map_err(|e| Error::Kube(format!("invalid --kubelet-url {:?}: {e}", opts.url)))?;
        if uri.host().is_none() || !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(Error::Kube(format!(
                "invalid --kubelet-url {:?}: want http(s)://host:port",
                opts.url
            )));
        }
        let mut cfg = kube::Config::new(uri);
        cfg.default_retry = false;
        cfg.accept_invalid_certs = opts.insecure_tls;
        let token = opts.service_account_dir.join("token");
        if token.is_file() {
            cfg.auth_info.token_file = Some(token.to_string_lossy().into_owned());
        }
        let ca = opts.service_account_dir.join("ca.crt");
        if ca.is_file() && !opts.insecure_tls {
            cfg.root_cert = Some(load_pem_certs(&ca)?);
            cfg.root_cert_file = Some(ca);
        }
        let client = super::client::build(&cfg, opts.connect_timeout)?;
        Ok(Kubelet { client, opts })
    }

    /// `GET /pods`: every pod the kubelet runs.
    pub async fn pods(&self) -> Result<Vec<Pod>, FetchError> {
        let body = self.get("/pods").await?;
        parse_pods(&body)
    }

    /// `GET /stats/summary?only_cpu_and_memory=true`: the figures the kubelet's eviction
    /// manager compares with its `memory.available` thresholds ([`Available`]).
    pub async fn memory_available(&self) -> Result<Available, FetchError> {
        let body = self.get("/stats/summary?only_cpu_and_memory=true").await?;
        parse_summary_available(&body)
            .map_err(|e| FetchError::Garbage(format!("/stats/summary: {e}")))
    }

    /// `GET /configz`: the kubelet's hard eviction threshold for memory (`None` where its
    /// configuration sets none).
    pub async fn eviction_threshold(&self) -> Result<Option<EvictionThreshold>, FetchError> {
        let body = self.get("/configz").await?;
        parse_configz_threshold(&body).map_err(|e| FetchError::Garbage(format!("/configz: {e}")))
    }

    async fn get(&self, path: &str) -> Result<Bytes, FetchError> {
        let req = http::Request::get(path)
            .header(http::header::ACCEPT, "application/json")
            .body(kube::client::Body::empty())
            .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        let max = self.opts.max_body;
        let call = async {
            let resp = self
                .client
                .send(req)
                .await
                .map_err(|e| FetchError::Unreachable(error_chain(&e)))?;
            let status = resp.status().as_u16();
            if status == 401 || status == 403 {
                return Err(FetchError::Denied(status));
            }
            if !(200..300).contains(&status) {
                return Err(FetchError::Status(status));
            }
            // Refuse early when the server announces a body over the cap; `Limited` also stops
            // a chunked body at the cap, so memory never exceeds `max` either way.
            let announced = resp
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if announced.is_some_and(|n| n > max as u64) {
                return Err(FetchError::TooLarge(max));
            }
            let collected = Limited::new(resp.into_body(), max)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some()
                    {
                        FetchError::TooLarge(max)
                    } else {
                        FetchError::Unreachable(e.to_string())
                    }
                })?;
            Ok(collected.to_bytes())
        };
        match tokio::time::timeout(self.opts.total_timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout),
        }
    }
}

/// The error and its sources in one line (kube wraps hyper wraps io).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// DER certificates from a PEM bundle (the service-account `ca.crt`).
fn load_pem_certs(path: &Path) -> crate::Result<Vec<Vec<u8>>> {
    let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let certs: Vec<Vec<u8>> = pem::parse_many(&text)
        .map_err(|e| Error::parse(path, e.to_string()))?
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| p.into_contents())
        .collect();
    if certs.is_empty() {
        return Err(Error::parse(path, "no PEM certificate found"));
    }
    Ok(certs)
}

#[derive(Deserialize)]
struct Summary {
    node: SummaryNode,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SummaryNode {
    memory: Option<SummaryMemory>,
    #[serde(default)]
    system_containers: Vec<SystemContainer>,
}

#[derive(Deserialize)]
struct SystemContainer {
    name: String,
    memory: Option<SummaryMemory>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SummaryMemory {
    available_bytes: Option<u64>,
}

/// [`parse_pod_list`] with the error the agent counts: garbage is a [`FetchError::Garbage`]
/// naming `/pods` (the property tests and fuzz targets drive this entry point).
pub fn parse_pods(body: &[u8]) -> Result<Vec<Pod>, FetchError> {
    parse_pod_list(body).map_err(|e| FetchError::Garbage(format!("/pods: {e}")))
}

/// The pods of a kubelet `/pods` body (a `PodList`; k8s-openapi 0.29 has no `PodList`
/// type, `List<Pod>` is its replacement).
pub fn parse_pod_list(body: &[u8]) -> Result<Vec<Pod>, serde_json::Error> {
    let list: k8s_openapi::List<Pod> = serde_json::from_slice(body)?;
    Ok(list.items)
}

/// The kubelet's two memory eviction signals, bytes, each `None` where the summary omits it
/// (before the kubelet's first housekeeping pass; `pods` too where the kubepods cgroup has no
/// limit, node allocatable not being enforced on pods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Available {
    /// `memory.available`: the node's `memory.availableBytes` (capacity less the node's
    /// working set).
    pub node: Option<u64>,
    /// `allocatableMemory.available`: the `pods` system container's `memory.availableBytes`
    /// (the kubepods cgroup's limit less its working set). The kubelet holds it against the
    /// hard `memory.available` threshold too (`addAllocatableThresholds`), so where kube- and
    /// system-reserved keep memory from the pods it is the one that evicts.
    pub pods: Option<u64>,
}

impl Available {
    /// Neither figure known.
    pub fn is_empty(&self) -> bool {
        self.node.is_none() && self.pods.is_none()
    }

    /// Write the known figures into a sample (in place of the collector's, which are the
    /// same quantities read a little differently: MemAvailable, the kubepods cgroup's files).
    pub fn apply(&self, s: &mut crate::sample::Sample) {
        if let Some(n) = self.node {
            s.node_memory_available_bytes = Some(n);
        }
        if let Some(p) = self.pods {
            s.node_allocatable_available_bytes = Some(p);
        }
    }
}

/// [`Available`] from a `/stats/summary` body.
pub fn parse_summary_available(body: &[u8]) -> Result<Available, serde_json::Error> {
    let s: Summary = serde_json::from_slice(body)?;
    let pods = s
        .node
        .system_containers
        .iter()
        .find(|c| c.name == "pods")
        .and_then(|c| c.memory.as_ref())
        .and_then(|m| m.available_bytes);
    Ok(Available {
        node: s.node.memory.and_then(|m| m.available_bytes),
        pods,
    })
}

/// `evictionHard["memory.available"]` of a `/configz` body (`{"kubeletconfig": {...}}`);
/// `None` where it is missing or no threshold this agent can read.
pub fn parse_configz_threshold(
    body: &[u8],
) -> Result<Option<EvictionThreshold>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Configz {
        kubeletconfig: Config,
    }
    #[derive(Deserialize)]
    struct Config {
        #[serde(rename = "evictionHard", default)]
        eviction_hard: std::collections::HashMap<String, String>,
    }
    let c: Configz = serde_json::from_slice(body)?;
    Ok(c.kubeletconfig
        .eviction_hard
        .get("memory.available")
        .and_then(|v| EvictionThreshold::parse(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_available_from_real_capture() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/kubelet/stats_summary_k8s_1_32.json");
        let body = std::fs::read(path).unwrap();
        assert_eq!(
            parse_summary_available(&body).unwrap(),
            Available {
                node: Some(15_553_015_808),
                pods: Some(15_960_936_448),
            }
        );
    }

    #[test]
    fn eviction_threshold_from_configz() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kubelet/configz.json");
        let body = std::fs::read(path).unwrap();
        assert_eq!(
            parse_configz_threshold(&body).unwrap(),
            Some(EvictionThreshold::Bytes(500 << 20))
        );
        // A percentage stays one (resolved against MemTotal per sample); no memory threshold,
        // or none this agent reads, is none; a body that is not a configz is an error.
        for (body, want) in [
            (
                r#"{"kubeletconfig":{"evictionHard":{"memory.available":"5%"}}}"#,
                Some(EvictionThreshold::Percent(5.0)),
            ),
            (
                r#"{"kubeletconfig":{"evictionHard":{"nodefs.available":"10%"}}}"#,
                None,
            ),
            (r#"{"kubeletconfig":{}}"#, None),
            (
                r#"{"kubeletconfig":{"evictionHard":{"memory.available":"lots"}}}"#,
                None,
            ),
        ] {
            assert_eq!(
                parse_configz_threshold(body.as_bytes()).unwrap(),
                want,
                "{body}"
            );
        }
        for bad in [
            "",
            "[]",
            r#"{"kind":"Status"}"#,
            r#"{"kubeletconfig":{"evictionHard":[1]}}"#,
        ] {
            assert!(parse_configz_threshold(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn summary_edge_cases() {
        assert!(parse_summary_available(br#"{"node":{"nodeName":"n"}}"#)
            .unwrap()
            .is_empty());
        assert_eq!(
            parse_summary_available(br#"{"node":{"memory":{"availableBytes":7}}}"#).unwrap(),
            Available {
                node: Some(7),
                pods: None
            }
        );
        // The pods container without a limit (allocatable not enforced) has no availableBytes.
        assert_eq!(
            parse_summary_available(
                br#"{"node":{"systemContainers":[{"name":"kubelet","memory":{"availableBytes":1}},{"name":"pods","memory":{"workingSetBytes":5}}]}}"#
            )
            .unwrap(),
            Available::default()
        );
        assert_eq!(
            parse_summary_available(
                br#"{"node":{"memory":{"availableBytes":9},"systemContainers":[{"name":"pods","memory":{"availableBytes":3}}]}}"#
            )
            .unwrap(),
            Available {
                node: Some(9),
                pods: Some(3)
            }
        );
        assert!(parse_summary_available(b"<html>").is_err());
        assert!(parse_summary_available(br#"{"node":{"memory":{"availableBytes":-1}}}"#).is_err());
    }

    proptest::proptest! {
        /// Any bytes: an error or a list, never a panic (the kubelet is outside our trust).
        #[test]
        fn decoders_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_pod_list(&body);
            let _ = parse_summary_available(&body);
        }

        /// A real PodList cut at any byte is an error, never a panic or a partial list.
        #[test]
        fn truncated_real_podlist_is_an_error(cut in 0usize..115_589) {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kubelet/pods_k8s_1_32.json");
            let file = std::fs::read(path).unwrap();
            // Without the trailing newline, or a cut that drops only it would leave the whole list.
            let body = file.trim_ascii_end();
            let cut = cut.min(body.len() - 1);
            proptest::prop_assert!(parse_pod_list(&body[..cut]).is_err());
        }
    }

    #[test]
    fn real_podlist_decodes() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kubelet/pods_k8s_1_32.json");
        let pods = parse_pod_list(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(pods.len(), 23);
        assert_eq!(pods[0].metadata.name.as_deref(), Some("e2e-failjob-r4gnk"));
    }

    #[test]
    fn fallback_triggers() {
        assert!(FetchError::Denied(403).is_fallback_trigger());
        assert!(FetchError::Unreachable("refused".into()).is_fallback_trigger());
        assert!(FetchError::Timeout.is_fallback_trigger());
        assert!(!FetchError::Garbage("x".into()).is_fallback_trigger());
        assert!(!FetchError::Status(500).is_fallback_trigger());
    }
}
