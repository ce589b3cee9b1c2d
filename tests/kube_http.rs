//! Kubernetes metadata over real sockets: a fake kubelet and a fake API server, each a hyper
//! HTTP/1.1 server on 127.0.0.1 serving kubelet- and API-shaped JSON (shapes from the
//! verbatim captures in `fixtures/kubelet/`). No function mocks: crashwatch's real kube
//! clients make real requests.
use bytes::Bytes;
use crashwatch::cli::PodSource;
use crashwatch::kube::{enrich_blocking, Kube, KubeConfig};
use crashwatch::node::EvictionThreshold;
use crashwatch::sample::{ContainerMeta, ContainerSample, Qos, Sample, Snapshot};
use futures::StreamExt;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Body = BoxBody<Bytes, Infallible>;

/// What a fake server saw: method, path with query, Authorization header, body.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    auth: Option<String>,
    body: String,
}

/// How a fake server answers one request.
enum Reply {
    Json(u16, String),
    /// 200 with a body that never ends (a watch with no events, or a hung kubelet).
    Hang,
    /// 200, chunked, `n` bytes of JSON-looking filler, no Content-Length.
    Chunked(usize),
    /// 200, these lines (a watch stream's events), then the stream stays open.
    Lines(Vec<String>),
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A real HTTP server on 127.0.0.1 running on its own thread and runtime, so sync tests
/// (`enrich_blocking`) and async tests can both use it. Stops when dropped.
struct FakeServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeServer {
    fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> FakeServer {
        Self::start_on("127.0.0.1:0".parse().unwrap(), Arc::new(handler))
    }

    fn start_on(addr: SocketAddr, handler: Handler) -> FakeServer {
        Self::start_tls(addr, handler, None)
    }

    /// With `tls`, the server speaks HTTPS with that certificate (like a kubelet on :10250).
    fn start_tls(
        addr: SocketAddr,
        handler: Handler,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> FakeServer {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let seen2 = seen.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        acc = listener.accept() => {
                            let Ok((stream, _)) = acc else { continue };
                            let handler = handler.clone();
                            let seen = seen2.clone();
                            let tls = tls.clone();
                            tokio::spawn(async move {
                                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                                    let handler = handler.clone();
                                    let seen = seen.clone();
                                    async move { Ok::<_, Infallible>(answer(req, &handler, &seen).await) }
                                });
                                let http = hyper::server::conn::http1::Builder::new();
                                match tls {
                                    Some(acceptor) => {
                                        // A client that rejects our certificate ends the handshake.
                                        let Ok(tls_stream) = acceptor.accept(stream).await else { return };
                                        let _ = http.serve_connection(hyper_util::rt::TokioIo::new(tls_stream), svc).await;
                                    }
                                    None => {
                                        let _ = http.serve_connection(hyper_util::rt::TokioIo::new(stream), svc).await;
                                    }
                                }
                            });
                        }
                    }
                }
            });
            // Dropping the runtime cancels connections that are still open (hung replies).
            rt.shutdown_timeout(Duration::from_millis(100));
        });
        let addr = addr_rx.recv().unwrap();
        FakeServer {
            addr,
            seen,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn answer(
    req: Request<Incoming>,
    handler: &Handler,
    seen: &Mutex<Vec<Seen>>,
) -> Response<Body> {
    let method = req.method().to_string();
    let uri = req.uri().to_string();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let s = Seen {
        method,
        uri,
        auth,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let reply = handler(&s);
    seen.lock().unwrap().push(s);
    match reply {
        Reply::Json(status, text) => Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(text)).boxed())
            .unwrap(),
        Reply::Hang => {
            let stream = futures::stream::pending::<Result<Frame<Bytes>, Infallible>>();
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(BodyExt::boxed(StreamBody::new(stream)))
                .unwrap()
        }
        Reply::Lines(lines) => {
            let frames = lines
                .into_iter()
                .map(|l| Ok::<_, Infallible>(Frame::data(Bytes::from(l + "\n"))));
            let stream = futures::stream::iter(frames).chain(futures::stream::pending());
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(BodyExt::boxed(StreamBody::new(stream)))
                .unwrap()
        }
        Reply::Chunked(n) => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let count = n / chunk.len() + 1;
            let stream = futures::stream::iter(
                (0..count).map(move |_| Ok::<_, Infallible>(Frame::data(chunk.clone()))),
            );
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(BodyExt::boxed(StreamBody::new(stream)))
                .unwrap()
        }
    }
}

fn tls_acceptor(cert: &str, key: &str) -> tokio_rustls::TlsAcceptor {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/kubelet/tls");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join(cert))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join(key)).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let cfg = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

// --- fixtures -----------------------------------------------------------------------------

const UID_CD: &str = "0b6d7c3e-1a2b-4c5d-8e9f-000000000001";
const UID_CRIO: &str = "0b6d7c3e-1a2b-4c5d-8e9f-000000000002";
const UID_DOCKER: &str = "0b6d7c3e-1a2b-4c5d-8e9f-000000000003";
const ID_CD: &str = "741453edd879af5b9c714dad5170ee4c3730d11e4e0533d2ca1d84c40aff133e";
const ID_CRIO: &str = "91c630df5f6d38fa784c4cfa892d382256b90c60a412fd766b7d44ae6249276f";
const ID_DOCKER: &str = "30249b5e556f4ffb5237470b3ed33bf8c85cef43e36aff004083411696ff78b9";
const ID_PAUSE: &str = "5d1ef8349d4b99972a48a345f9b81ad9f009ccd6b703c56316c12b50cc2d6600";
const ID_STRANGER: &str = "dc4a906696659e3cffca65ebc7407b6ccbaabb467d8ad9c8499d008d289934fa";
const UID_STRANGER: &str = "ffffffff-1a2b-4c5d-8e9f-000000000009";

/// A pod as the kubelet's /pods returns it (trimmed from the 1.32 capture's field set).
/// `pod` is `[namespace, name, uid, qosClass]`.
fn pod_json(
    pod: [&str; 4],
    container: &str,
    runtime_id: &str,
    restarts: u32,
    last: Option<&str>,
) -> serde_json::Value {
    let [ns, name, uid, qos] = pod;
    let last_state = match last {
        Some(reason) => serde_json::json!({"terminated": {"exitCode": 137, "reason": reason,
            "startedAt": "2025-11-04T19:11:32Z", "finishedAt": "2025-11-04T19:12:37Z", "containerID": "containerd://0000"}}),
        None => serde_json::json!({}),
    };
    serde_json::json!({
        "metadata": {"name": name, "namespace": ns, "uid": uid, "resourceVersion": "582",
                     "creationTimestamp": "2025-11-04T19:11:10Z",
                     "annotations": {"kubernetes.io/config.source": "api"}},
        "spec": {"nodeName": "node-1", "containers": [{"name": container, "image": "docker.io/library/bash:5"}]},
        "status": {
            "phase": "Running", "qosClass": qos, "hostIP": "192.168.67.2", "startTime": "2025-11-04T19:11:10Z",
            "containerStatuses": [{
                "name": container, "ready": true, "restartCount": restarts, "started": true,
                "image": "docker.io/library/bash:5", "imageID": "docker.io/library/bash@sha256:ae46",
                "containerID": runtime_id,
                "state": {"running": {"startedAt": "2025-11-04T19:12:38Z"}},
                "lastState": last_state
            }]
        }
    })
}

fn pod_list() -> String {
    serde_json::json!({
        "kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "10"},
        "items": [
            pod_json(["shop", "cart-7d4b9", UID_CD, "Burstable"], "cart", &format!("containerd://{ID_CD}"), 4, Some("OOMKilled")),
            pod_json(["shop", "search-0", UID_CRIO, "Guaranteed"], "search", &format!("cri-o://{ID_CRIO}"), 0, None),
            pod_json(["batch", "etl-x2", UID_DOCKER, "BestEffort"], "etl", &format!("docker://{ID_DOCKER}"), 1, Some("Error")),
        ]
    })
    .to_string()
}

/// A `/stats/summary` whose node has `available` bytes left and whose pods, kept from half of
/// it by kube- and system-reserved, `available / 2` (the `pods` system container's figure).
fn summary(available: u64) -> String {
    serde_json::json!({"node": {"nodeName": "node-1",
        "systemContainers": [
            {"name": "kubelet", "memory": {"usageBytes": 47775744u64, "workingSetBytes": 47460352u64}},
            {"name": "pods", "memory": {"availableBytes": available / 2, "usageBytes": 534429696u64,
                "workingSetBytes": 524288000u64}}],
        "memory": {"time": "2025-11-04T19:12:29Z",
        "availableBytes": available, "usageBytes": 2637467648u64, "workingSetBytes": 932208640u64}}, "pods": []})
    .to_string()
}

fn cgroup(uid: &str, id: &str, qos: &str) -> ContainerSample {
    ContainerSample {
        meta: ContainerMeta {
            namespace: String::new(),
            pod: uid.into(),
            pod_uid: Some(uid.into()),
            container: id[..12].into(),
            container_id: Some(id.into()),
            cgroup: format!("kubepods/{qos}/pod{uid}/{id}"),
        },
        sample: Sample {
            ts: 100.0,
            id: format!("/{uid}/{}", &id[..12]),
            memory_usage_bytes: Some(200 << 20),
            memory_limit_bytes: Some(256 << 20),
            node_memory_available_bytes: Some(1 << 30),
            ..Default::default()
        },
    }
}

fn snapshot() -> Snapshot {
    Snapshot {
        ts: 100.0,
        containers: vec![
            cgroup(UID_CD, ID_CD, "burstable"),
            cgroup(UID_CD, ID_PAUSE, "burstable"),
            cgroup(UID_CRIO, ID_CRIO, "guaranteed"),
            cgroup(UID_DOCKER, ID_DOCKER, "besteffort"),
            cgroup(UID_STRANGER, ID_STRANGER, "besteffort"),
        ],
        ..Default::default()
    }
}

struct SaDir {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn sa_dir() -> SaDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "test-token-123").unwrap();
    let path = dir.path().to_path_buf();
    SaDir { _dir: dir, path }
}

/// A kubelet serving `{cert}.crt` over TLS (a PodList and a summary with `available` bytes
/// free), a service-account directory that holds the cluster CA, and the kubelet's URL.
fn tls_kubelet(cert: &str, available: u64) -> (FakeServer, SaDir, String) {
    let acceptor = tls_acceptor(&format!("{cert}.crt"), &format!("{cert}.key"));
    let kubelet = FakeServer::start_tls(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(kubelet_ok(available)),
        Some(acceptor),
    );
    let sa = sa_dir();
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/kubelet/tls/ca.crt"),
        sa.path.join("ca.crt"),
    )
    .unwrap();
    let url = format!("https://{}", kubelet.addr);
    (kubelet, sa, url)
}

fn config(kubelet: &str, api: Option<&str>, source: PodSource, sa: &SaDir) -> KubeConfig {
    let src = crashwatch::cli::SourceArgs {
        cgroup_root: "/sys/fs/cgroup".into(),
        proc_root: "/proc".into(),
        node_name: Some("node-1".into()),
        kubelet_url: Some(kubelet.into()),
        kubelet_insecure_tls: false,
        pod_source: source,
        eviction_threshold: None,
    };
    let mut cfg = KubeConfig::from_source(&src, "node-1", true);
    cfg.api_url = api.map(str::to_string);
    cfg.service_account_dir = sa.path.clone();
    cfg.refresh_interval = Duration::from_millis(300);
    cfg.connect_timeout = Duration::from_millis(500);
    cfg.request_timeout = Duration::from_millis(800);
    cfg
}

fn kubelet_ok(available: u64) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    move |s: &Seen| {
        if s.uri.starts_with("/pods") {
            Reply::Json(200, pod_list())
        } else if s.uri.starts_with("/stats/summary") {
            Reply::Json(200, summary(available))
        } else {
            Reply::Json(404, "{}".into())
        }
    }
}

/// A fake API server: paged list + (idle) watch of pods, and Events creation.
fn api_server() -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    |s: &Seen| {
        if s.uri.starts_with("/api/v1/pods") && s.uri.contains("watch=true") {
            Reply::Hang
        } else if s.uri.starts_with("/api/v1/pods") {
            Reply::Json(200, pod_list())
        } else if s.method == "POST" && s.uri.starts_with("/apis/events.k8s.io/v1/namespaces/") {
            let mut ev: serde_json::Value = serde_json::from_str(&s.body).unwrap_or_default();
            ev["metadata"]["name"] = "cart-7d4b9.crashwatch-abcde".into();
            Reply::Json(201, ev.to_string())
        } else {
            Reply::Json(404, r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#.into())
        }
    }
}

/// A URL on which nothing listens (bound, then closed).
fn dead_url() -> (String, SocketAddr) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    (format!("http://{addr}"), addr)
}

fn ids(snap: &Snapshot) -> Vec<String> {
    snap.containers
        .iter()
        .map(|c| c.sample.id.clone())
        .collect()
}

fn assert_named(snap: &Snapshot, available: u64) {
    assert_eq!(
        ids(snap),
        vec![
            "shop/cart-7d4b9/cart".to_string(),
            "shop/search-0/search".into(),
            "batch/etl-x2/etl".into(),
            format!("/{UID_STRANGER}/dc4a90669665"),
        ],
        "pause cgroup dropped, stranger keeps UID labels"
    );
    let cart = &snap.containers[0];
    assert_eq!(
        (
            cart.meta.namespace.as_str(),
            cart.meta.pod.as_str(),
            cart.meta.container.as_str()
        ),
        ("shop", "cart-7d4b9", "cart")
    );
    assert_eq!(cart.meta.container_id.as_deref(), Some(ID_CD));
    assert_eq!(cart.sample.restarts_total, Some(4));
    assert_eq!(
        cart.sample.last_termination_reason.as_deref(),
        Some("OOMKilled")
    );
    assert_eq!(cart.sample.qos, Some(Qos::Burstable));
    assert_eq!(snap.containers[1].sample.qos, Some(Qos::Guaranteed));
    assert_eq!(snap.containers[2].sample.restarts_total, Some(1));
    assert_eq!(
        snap.containers[2].sample.last_termination_reason.as_deref(),
        Some("Error")
    );
    assert_eq!(snap.containers[2].sample.qos, Some(Qos::Besteffort));
    for c in &snap.containers {
        assert_eq!(
            c.sample.node_memory_available_bytes,
            Some(available),
            "{}",
            c.sample.id
        );
        assert_eq!(
            c.sample.node_allocatable_available_bytes,
            Some(available / 2),
            "{}",
            c.sample.id
        );
    }
}

fn gather(reg: &prometheus::Registry, name: &str, label: (&str, &str)) -> Option<f64> {
    reg.gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().to_vec())
        .find_map(|m| {
            m.get_label()
                .iter()
                .any(|l| l.name() == label.0 && l.value() == label.1)
                .then(|| m.get_gauge().get_value() + m.get_counter().get_value())
        })
}

/// Poll `f` (enrich a fresh snapshot) until `ok` holds or 10 s pass.
async fn eventually(kube: &Kube, ok: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut snap = snapshot();
        kube.enrich(&mut snap);
        if ok(&snap) || Instant::now() > deadline {
            return snap;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// --- tests --------------------------------------------------------------------------------

#[test]
fn collect_once_names_containerd_crio_and_docker_ids_and_drops_the_sandbox() {
    let kubelet = FakeServer::start(kubelet_ok(3_221_225_472));
    let sa = sa_dir();
    let mut snap = snapshot();
    enrich_blocking(
        &config(&kubelet.url(), None, PodSource::Kubelet, &sa),
        &mut snap,
    )
    .unwrap();
    assert_named(&snap, 3_221_225_472);
    let seen = kubelet.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0].uri, "/pods");
    assert_eq!(seen[1].uri, "/stats/summary?only_cpu_and_memory=true");
    // Its eviction threshold: this kubelet has no /configz (404), so none is written.
    assert_eq!(seen[2].uri, "/configz");
    assert!(snap
        .containers
        .iter()
        .all(|c| c.sample.node_eviction_threshold_bytes.is_none()));
    for s in &seen {
        assert_eq!(
            s.auth.as_deref(),
            Some("Bearer test-token-123"),
            "service-account token sent"
        );
    }
}

#[test]
fn collect_once_kubelet_403_falls_back_to_the_api_server() {
    let kubelet = FakeServer::start(|s: &Seen| {
        if s.uri.starts_with("/pods") {
            Reply::Json(
                403,
                r#"{"kind":"Status","code":403,"message":"forbidden: nodes/pods"}"#.into(),
            )
        } else {
            Reply::Json(200, summary(42))
        }
    });
    let api = FakeServer::start(api_server());
    let sa = sa_dir();
    let mut snap = snapshot();
    enrich_blocking(
        &config(&kubelet.url(), Some(&api.url()), PodSource::Auto, &sa),
        &mut snap,
    )
    .unwrap();
    assert_named(&snap, 42);
    let list = &api.seen()[0];
    assert_eq!(list.method, "GET");
    assert!(list.uri.starts_with("/api/v1/pods?"), "{}", list.uri);
    assert!(
        list.uri.contains("fieldSelector=spec.nodeName%3Dnode-1"),
        "per-node selector: {}",
        list.uri
    );
    assert!(list.uri.contains("limit=100"), "paged list: {}", list.uri);
}

#[test]
fn collect_once_pod_source_kubelet_does_not_fall_back() {
    let kubelet = FakeServer::start(|_: &Seen| Reply::Json(403, "{}".into()));
    let api = FakeServer::start(api_server());
    let sa = sa_dir();
    let mut snap = snapshot();
    let err = enrich_blocking(
        &config(&kubelet.url(), Some(&api.url()), PodSource::Kubelet, &sa),
        &mut snap,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "kube: kubelet: HTTP 403: access denied (RBAC: nodes/pods, nodes/stats)"
    );
    assert!(api.seen().is_empty());
    assert_eq!(ids(&snap), ids(&snapshot()), "UID labels untouched");
}

#[test]
fn hung_kubelet_times_out() {
    let kubelet = FakeServer::start(|_: &Seen| Reply::Hang);
    let sa = sa_dir();
    let mut snap = snapshot();
    let err = enrich_blocking(
        &config(&kubelet.url(), None, PodSource::Kubelet, &sa),
        &mut snap,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "kube: kubelet: timed out");
    assert_eq!(ids(&snap), ids(&snapshot()));
}

#[test]
fn garbage_from_kubelet_is_an_error_not_a_panic() {
    for (body, want) in [
        ("<html>502 Bad Gateway</html>", "kube: kubelet: invalid response: /pods: expected value at line 1 column 1"),
        (r#"{"kind":"PodList","items":[{"metadata":{"uid":7}}]}"#, "kube: kubelet: invalid response: /pods: invalid type: integer `7`, expected a string at line 1 column 47"),
        ("", "kube: kubelet: invalid response: /pods: EOF while parsing a value at line 1 column 0"),
    ] {
        let text = body.to_string();
        let kubelet = FakeServer::start(move |_: &Seen| Reply::Json(200, text.clone()));
        let sa = sa_dir();
        let mut snap = snapshot();
        let err = enrich_blocking(&config(&kubelet.url(), None, PodSource::Kubelet, &sa), &mut snap).unwrap_err();
        assert_eq!(err.to_string(), want);
    }
}

#[test]
fn huge_kubelet_body_is_refused_at_the_cap() {
    let sa = sa_dir();
    // Announced with Content-Length, and streamed chunked without one.
    let big = FakeServer::start(|_: &Seen| Reply::Json(200, " ".repeat(3 << 20)));
    let chunked = FakeServer::start(|_: &Seen| Reply::Chunked(64 << 20));
    for server in [&big, &chunked] {
        let mut cfg = config(&server.url(), None, PodSource::Kubelet, &sa);
        cfg.max_body = 1 << 20;
        cfg.request_timeout = Duration::from_secs(5);
        let mut snap = snapshot();
        let err = enrich_blocking(&cfg, &mut snap).unwrap_err();
        assert_eq!(
            err.to_string(),
            "kube: kubelet: response larger than 1048576 bytes"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_kubelet_403_falls_back_to_api_watch_and_says_so_in_a_metric() {
    let kubelet = FakeServer::start(|s: &Seen| {
        if s.uri.starts_with("/pods") {
            Reply::Json(403, "{}".into())
        } else {
            Reply::Json(200, summary(7))
        }
    });
    let api = FakeServer::start(api_server());
    let sa = sa_dir();
    let reg = prometheus::Registry::new();
    let kube = Kube::start(
        config(&kubelet.url(), Some(&api.url()), PodSource::Auto, &sa),
        &reg,
    )
    .await;
    // Names (API watch) and node memory (kubelet summary) arrive independently.
    let snap = eventually(&kube, |s| {
        s.containers.len() == 4
            && s.containers[0].meta.pod == "cart-7d4b9"
            && s.containers[0].sample.node_memory_available_bytes == Some(7)
    })
    .await;
    assert_named(&snap, 7);
    assert_eq!(kube.source(), Some("api"));
    assert_eq!(
        gather(&reg, "crashwatch_pod_source", ("source", "api")),
        Some(1.0)
    );
    assert_eq!(
        gather(&reg, "crashwatch_pod_source", ("source", "kubelet")),
        Some(0.0)
    );
    assert!(
        gather(&reg, "crashwatch_kube_errors_total", ("source", "kubelet"))
            .is_some_and(|v| v >= 1.0)
    );
    assert_eq!(
        kube.lookup(ID_CD).map(|i| (i.pod, i.restarts)),
        Some(("cart-7d4b9".to_string(), 4))
    );
    // A quiet watch (no pod changes for several refresh intervals) is still a healthy
    // source: no flapping back to the refusing kubelet, the gauge stays on `api`.
    let kubelet_pods = |k: &FakeServer| k.seen().iter().filter(|s| s.uri == "/pods").count();
    let before = kubelet_pods(&kubelet);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(kubelet_pods(&kubelet), before);
    assert_eq!(
        gather(&reg, "crashwatch_pod_source", ("source", "api")),
        Some(1.0)
    );
    let seen = api.seen();
    assert!(
        seen.iter().any(|s| s.uri.contains("watch=true")
            && s.uri.contains("fieldSelector=spec.nodeName%3Dnode-1")),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_down_keeps_uid_labels_and_names_come_back_when_the_kubelet_recovers() {
    let (kubelet_url, kubelet_addr) = dead_url();
    let (api_url, _) = dead_url();
    let sa = sa_dir();
    let reg = prometheus::Registry::new();
    let kube = Kube::start(
        config(&kubelet_url, Some(&api_url), PodSource::Auto, &sa),
        &reg,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut snap = snapshot();
    kube.enrich(&mut snap);
    assert_eq!(
        ids(&snap),
        ids(&snapshot()),
        "every container kept, UID labels"
    );
    assert_eq!(
        snap.containers[0].sample.node_memory_available_bytes,
        Some(1 << 30),
        "meminfo value kept"
    );
    assert_eq!(kube.source(), None);
    assert_eq!(
        gather(&reg, "crashwatch_pod_source", ("source", "none")),
        Some(1.0)
    );
    assert!(
        gather(&reg, "crashwatch_kube_errors_total", ("source", "kubelet"))
            .is_some_and(|v| v >= 1.0)
    );

    // Predictions go on on the UID-labelled samples.
    let mut predictor =
        crashwatch::predict::Predictor::new(crashwatch::model::Model::embedded(), None);
    for c in &snap.containers {
        let (p, _) = predictor.observe(&c.sample);
        assert_eq!(p.id, c.sample.id);
    }

    // The kubelet comes back on its address: names return without a restart.
    let _kubelet = FakeServer::start_on(kubelet_addr, Arc::new(kubelet_ok(99)));
    let snap = eventually(&kube, |s| {
        s.containers.len() == 4
            && s.containers[0].meta.pod == "cart-7d4b9"
            && s.containers[0].sample.node_memory_available_bytes == Some(99)
    })
    .await;
    assert_named(&snap, 99);
    assert_eq!(kube.source(), Some("kubelet"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_posted_once_per_pod_with_the_pod_as_regarding_object() {
    let kubelet = FakeServer::start(kubelet_ok(5));
    let api = FakeServer::start(api_server());
    let sa = sa_dir();
    let reg = prometheus::Registry::new();
    let kube = Kube::start(
        config(&kubelet.url(), Some(&api.url()), PodSource::Kubelet, &sa),
        &reg,
    )
    .await;
    let snap = eventually(&kube, |s| s.containers[0].meta.pod == "cart-7d4b9").await;
    let cart = &snap.containers[0];
    let prediction = crashwatch::predict::Prediction {
        id: cart.sample.id.clone(),
        ts: 100.0,
        crash_risk: 0.93,
        crash_predicted: true,
        cause: Some(crashwatch::sample::Cause::OomKill),
        time_to_oom_seconds: Some(42.0),
    };
    kube.post_alarm(&cart.meta, &prediction);
    kube.post_alarm(&cart.meta, &prediction);
    // A container without names cannot be addressed: skipped, not posted.
    kube.post_alarm(&snap.containers[3].meta, &prediction);
    let deadline = Instant::now() + Duration::from_secs(10);
    while gather(
        &reg,
        "crashwatch_kube_events_total",
        ("outcome", "suppressed"),
    )
    .is_none()
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let posts: Vec<Seen> = api
        .seen()
        .into_iter()
        .filter(|s| s.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(
        posts[0].uri,
        "/apis/events.k8s.io/v1/namespaces/shop/events?"
    );
    let ev: serde_json::Value = serde_json::from_str(&posts[0].body).unwrap();
    assert_eq!(ev["apiVersion"], "events.k8s.io/v1");
    assert_eq!(ev["kind"], "Event");
    assert_eq!(ev["type"], "Warning");
    assert_eq!(ev["reason"], "CrashPredicted");
    assert_eq!(ev["reportingController"], "crashwatch");
    assert_eq!(ev["reportingInstance"], "crashwatch-node-1");
    assert_eq!(
        ev["note"],
        "container cart: crash predicted (cause oom_kill, risk 0.93, time to OOM 42s)"
    );
    assert_eq!(
        ev["regarding"],
        serde_json::json!({"apiVersion": "v1", "kind": "Pod", "name": "cart-7d4b9",
        "namespace": "shop", "uid": UID_CD, "fieldPath": "spec.containers{cart}"})
    );
    assert_eq!(
        gather(&reg, "crashwatch_kube_events_total", ("outcome", "posted")),
        Some(1.0)
    );
    assert_eq!(
        gather(
            &reg,
            "crashwatch_kube_events_total",
            ("outcome", "suppressed")
        ),
        Some(1.0)
    );
    assert_eq!(
        gather(&reg, "crashwatch_kube_events_total", ("outcome", "skipped")),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_container_id_triggers_one_refresh_not_a_stampede() {
    let kubelet = FakeServer::start(kubelet_ok(5));
    let sa = sa_dir();
    let reg = prometheus::Registry::new();
    let mut cfg = config(&kubelet.url(), None, PodSource::Kubelet, &sa);
    cfg.events = false;
    cfg.refresh_interval = Duration::from_secs(3600);
    let kube = Kube::start(cfg, &reg).await;
    let _ = eventually(&kube, |s| s.containers[0].meta.pod == "cart-7d4b9").await;
    let pods_calls = |k: &FakeServer| k.seen().iter().filter(|s| s.uri == "/pods").count();
    assert_eq!(pods_calls(&kubelet), 1);
    // A container ID the kubelet has never listed appears; 20 sweeps in a row ask for it.
    let mut stranger = snapshot();
    stranger.containers.push(cgroup(
        "eeeeeeee-1a2b-4c5d-8e9f-000000000010",
        &"e".repeat(64),
        "burstable",
    ));
    for _ in 0..20 {
        let mut s = stranger.clone();
        kube.enrich(&mut s);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // One refresh for the new ID (the answer did not name it, and it is no longer new).
    assert_eq!(pods_calls(&kubelet), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubelets_eviction_threshold_reaches_every_sample_unless_the_flag_says_otherwise() {
    let configz = r#"{"kubeletconfig":{"evictionHard":{"memory.available":"750Mi"}}}"#;
    let kubelet = FakeServer::start(move |s: &Seen| {
        if s.uri == "/configz" {
            Reply::Json(200, configz.into())
        } else {
            kubelet_ok(5)(s)
        }
    });
    let sa = sa_dir();
    let thresholds = |s: &Snapshot| -> Vec<Option<u64>> {
        s.containers
            .iter()
            .map(|c| c.sample.node_eviction_threshold_bytes)
            .collect()
    };
    let mut cfg = config(&kubelet.url(), None, PodSource::Kubelet, &sa);
    cfg.events = false;
    let kube = Kube::start(cfg.clone(), &prometheus::Registry::new()).await;
    let snap = eventually(&kube, |s| thresholds(s).iter().all(Option::is_some)).await;
    assert!(!snap.containers.is_empty());
    assert!(
        thresholds(&snap).iter().all(|t| *t == Some(750 << 20)),
        "{:?}",
        thresholds(&snap)
    );
    // --eviction-threshold wins over /configz, and holds with the kubelet lookups off.
    for url in [kubelet.url(), "off".to_string()] {
        let mut flagged = cfg.clone();
        flagged.kubelet_url = Some(url.clone());
        flagged.eviction_threshold = Some(EvictionThreshold::Bytes(1 << 30));
        let kube = Kube::start(flagged, &prometheus::Registry::new()).await;
        let mut snap = snapshot();
        kube.enrich(&mut snap);
        assert!(
            thresholds(&snap).iter().all(|t| *t == Some(1 << 30)),
            "{url}: {:?}",
            thresholds(&snap)
        );
    }
}

#[test]
fn https_kubelet_verified_with_the_service_account_ca() {
    // Serving cert signed by the cluster CA (serverTLSBootstrap): verifies with ca.crt.
    let (kubelet, sa, url) = tls_kubelet("kubelet", 11);
    let mut snap = snapshot();
    enrich_blocking(&config(&url, None, PodSource::Kubelet, &sa), &mut snap).unwrap();
    assert_named(&snap, 11);
    assert_eq!(
        kubelet.seen()[0].auth.as_deref(),
        Some("Bearer test-token-123")
    );
}

#[test]
fn https_kubelet_with_self_signed_cert_needs_insecure_tls() {
    // The kubelet's default self-signed serving cert: no CA vouches for it.
    let (kubelet, sa, url) = tls_kubelet("selfsigned", 12);
    let mut snap = snapshot();
    let err = enrich_blocking(&config(&url, None, PodSource::Kubelet, &sa), &mut snap)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("kube: kubelet: unreachable: ") && err.contains("certificate"),
        "{err}"
    );
    assert!(
        kubelet.seen().is_empty(),
        "no request may pass an unverified handshake"
    );
    let mut cfg = config(&url, None, PodSource::Kubelet, &sa);
    cfg.kubelet_insecure_tls = true;
    enrich_blocking(&cfg, &mut snap).unwrap();
    assert_named(&snap, 12);
}

#[test]
fn collect_once_both_down_keeps_uid_labels_and_says_why() {
    let (kubelet_url, _) = dead_url();
    let (api_url, _) = dead_url();
    let sa = sa_dir();
    let mut snap = snapshot();
    let err = enrich_blocking(
        &config(&kubelet_url, Some(&api_url), PodSource::Auto, &sa),
        &mut snap,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("kube: kubelet: unreachable: "), "{err}");
    assert!(err.contains("; then API list pods: "), "{err}");
    assert_eq!(
        ids(&snap),
        ids(&snapshot()),
        "UID labels untouched, nothing dropped"
    );
}

/// `crashwatch collect --once --format json` on each fixture node tree, with a fake kubelet
/// serving that node's PodList and summary (fixtures/kubelet/<tree>/): every container is
/// named, pause cgroups are gone, restarts and OOMKilled come through.
#[test]
fn collect_binary_names_every_fixture_tree() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    // (tree, kubelet memory.available, expected ids, (OOM-killed container, its restarts))
    type Expect<'a> = (&'a str, u64, [&'a str; 4], (&'a str, u64));
    let trees: [Expect; 4] = [
        (
            "v2-systemd-containerd",
            6_442_450_944,
            [
                "shop/web-7c9d8f6b5-x2k4q/web",
                "shop/api-5d8c7b9f4-m7n2p/api",
                "shop/api-5d8c7b9f4-m7n2p/log-shipper",
                "batch/worker-28461930-tq8zl/worker",
            ],
            ("shop/web-7c9d8f6b5-x2k4q/web", 2),
        ),
        (
            "v2-cgroupfs-k3s",
            3_221_225_472,
            [
                "cache/redis-0/redis",
                "web/nginx-6b7f5d9c8-4hjkl/nginx",
                "web/nginx-6b7f5d9c8-4hjkl/metrics",
                "default/debug-shell/debug",
            ],
            ("cache/redis-0/redis", 1),
        ),
        (
            "v1-cgroupfs-docker",
            2_147_483_648,
            [
                "db/mysql-0/mysql",
                "web/frontend-7d6c5b4a3-zx9wv/frontend",
                "web/frontend-7d6c5b4a3-zx9wv/unlimited-sidecar",
                "batch/cron-28461935-abcde/cron",
            ],
            ("db/mysql-0/mysql", 4),
        ),
        (
            "v1-systemd-crio",
            8_589_934_592,
            [
                "db/postgres-0/postgres",
                "payments/java-app-84f7c6d5b-q1w2e/java-app",
                "payments/java-app-84f7c6d5b-q1w2e/istio-proxy",
                "default/busybox/busybox",
            ],
            ("db/postgres-0/postgres", 1),
        ),
    ];
    for (tree, available, want_ids, (oom_id, oom_restarts)) in trees {
        let tree_dir = root.join(tree);
        if !tree_dir.join("sys/fs/cgroup").is_dir() {
            eprintln!("skipping {tree}: fixture tree not present (collector fixtures not merged)");
            continue;
        }
        let pods =
            std::fs::read_to_string(root.join("kubelet").join(tree).join("pods.json")).unwrap();
        let stats =
            std::fs::read_to_string(root.join("kubelet").join(tree).join("stats_summary.json"))
                .unwrap();
        let configz = std::fs::read_to_string(root.join("kubelet/configz.json")).unwrap();
        let kubelet = FakeServer::start(move |s: &Seen| match s.uri.as_str() {
            "/pods" => Reply::Json(200, pods.clone()),
            "/stats/summary?only_cpu_and_memory=true" => Reply::Json(200, stats.clone()),
            "/configz" => Reply::Json(200, configz.clone()),
            _ => Reply::Json(404, "{}".into()),
        });
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_crashwatch"))
            .args([
                "collect",
                "--once",
                "--format",
                "json",
                "--pod-source",
                "kubelet",
                "--kubelet-url",
                &kubelet.url(),
            ])
            .arg("--cgroup-root")
            .arg(tree_dir.join("sys/fs/cgroup"))
            .arg("--proc-root")
            .arg(tree_dir.join("proc"))
            .env_remove("NODE_IP")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tree}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let snap: Snapshot = serde_json::from_slice(&out.stdout).unwrap();
        let mut got = ids(&snap);
        let mut want: Vec<String> = want_ids.iter().map(|s| s.to_string()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{tree}: named, pause cgroups dropped");
        for c in &snap.containers {
            assert_eq!(c.sample.id, c.meta.id(), "{tree}");
            assert_eq!(
                c.sample.node_memory_available_bytes,
                Some(available),
                "{tree} {}",
                c.sample.id
            );
            // The kubelet's evictionHard memory.available (500Mi in configz.json) and each
            // container's memory request from its pod spec (15Mi in every fixture pod).
            assert_eq!(
                c.sample.node_eviction_threshold_bytes,
                Some(500 << 20),
                "{tree} {}",
                c.sample.id
            );
            assert_eq!(
                c.sample.memory_request_bytes,
                Some(15 << 20),
                "{tree} {}",
                c.sample.id
            );
            // Containers that restarted: the OOM-killed one, and the log shipper that
            // exited with an error once; every other container has (0, None).
            let (restarts, reason) = if c.sample.id == oom_id {
                (oom_restarts, Some("OOMKilled"))
            } else if c.sample.id == "shop/api-5d8c7b9f4-m7n2p/log-shipper" {
                (1, Some("Error"))
            } else {
                (0, None)
            };
            assert_eq!(
                c.sample.restarts_total,
                Some(restarts),
                "{tree} {}",
                c.sample.id
            );
            assert_eq!(
                c.sample.last_termination_reason.as_deref(),
                reason,
                "{tree} {}",
                c.sample.id
            );
        }
        let seen: Vec<String> = kubelet.seen().into_iter().map(|s| s.uri).collect();
        assert_eq!(
            seen,
            vec![
                "/pods".to_string(),
                "/stats/summary?only_cpu_and_memory=true".into(),
                "/configz".into()
            ],
            "{tree}"
        );
    }
}

/// Kills the agent child process when the test ends, pass or fail.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plain HTTP/1.0 GET over a std socket (the agent under test is the server).
fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, body)| body.to_string())
}

/// `crashwatch run` on a fixture tree with a fake kubelet: `/predict` and `/metrics` carry
/// real names, and the pod-source metric says `kubelet`.
#[test]
fn run_binary_predict_and_metrics_show_real_names() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let tree = root.join("v2-systemd-containerd");
    if !tree.join("sys/fs/cgroup").is_dir() {
        eprintln!("skipping: fixture tree v2-systemd-containerd not present");
        return;
    }
    let pods =
        std::fs::read_to_string(root.join("kubelet/v2-systemd-containerd/pods.json")).unwrap();
    let stats =
        std::fs::read_to_string(root.join("kubelet/v2-systemd-containerd/stats_summary.json"))
            .unwrap();
    let kubelet = FakeServer::start(move |s: &Seen| match s.uri.as_str() {
        "/pods" => Reply::Json(200, pods.clone()),
        "/stats/summary?only_cpu_and_memory=true" => Reply::Json(200, stats.clone()),
        _ => Reply::Json(404, "{}".into()),
    });
    let (_, listen) = dead_url();
    let _agent = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_crashwatch"))
            .args([
                "run",
                "--interval",
                "200ms",
                "--events",
                "off",
                "--pod-source",
                "kubelet",
            ])
            .args([
                "--kubelet-url",
                &kubelet.url(),
                "--listen",
                &listen.to_string(),
                "--node-name",
                "ip-10-0-1-23",
            ])
            .arg("--cgroup-root")
            .arg(tree.join("sys/fs/cgroup"))
            .arg("--proc-root")
            .arg(tree.join("proc"))
            .env_remove("NODE_IP")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut want = vec![
        "batch/worker-28461930-tq8zl/worker".to_string(),
        "shop/api-5d8c7b9f4-m7n2p/api".into(),
        "shop/api-5d8c7b9f4-m7n2p/log-shipper".into(),
        "shop/web-7c9d8f6b5-x2k4q/web".into(),
    ];
    want.sort();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while Instant::now() < deadline {
        if let Some(body) = http_get(listen, "/predict") {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
                got = v["predictions"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|p| p["id"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                got.sort();
                if got == want {
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(got, want, "GET /predict ids");
    let body = http_get(listen, "/predict?namespace=shop&pod=web-7c9d8f6b5-x2k4q").unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["predictions"][0]["container"], "web", "{body}");
    let metrics = http_get(listen, "/metrics").unwrap();
    assert!(
        metrics.contains("crashwatch_pod_source{source=\"kubelet\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("crashwatch_kube_pods 4"), "{metrics}");
    assert!(
        metrics.contains("crashwatch_crash_risk{container=\"web\",namespace=\"shop\",pod=\"web-7c9d8f6b5-x2k4q\"}"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("namespace=\"\""),
        "no UID-labelled series left: {metrics}"
    );
}

/// `--pod-source api`: the initial list is empty, the pods arrive as watch events (ADDED),
/// exactly as the API server streams them; names appear from the watch alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_watch_events_name_pods_that_arrive_after_the_list() {
    let api = FakeServer::start(|s: &Seen| {
        if s.uri.starts_with("/api/v1/pods") && s.uri.contains("watch=true") {
            let list: serde_json::Value = serde_json::from_str(&pod_list()).unwrap();
            let lines = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let mut p = p.clone();
                    p["metadata"]["resourceVersion"] = format!("{}", 11 + i).into();
                    serde_json::json!({"type": "ADDED", "object": p}).to_string()
                })
                .collect();
            Reply::Lines(lines)
        } else if s.uri.starts_with("/api/v1/pods") {
            Reply::Json(
                200,
                r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"10"},"items":[]}"#.into(),
            )
        } else {
            Reply::Json(404, "{}".into())
        }
    });
    let (kubelet_url, _) = dead_url();
    let sa = sa_dir();
    let reg = prometheus::Registry::new();
    let mut cfg = config(&kubelet_url, Some(&api.url()), PodSource::Api, &sa);
    cfg.events = false;
    let kube = Kube::start(cfg, &reg).await;
    let snap = eventually(&kube, |s| s.containers.len() == 4).await;
    assert_eq!(
        ids(&snap),
        vec![
            "shop/cart-7d4b9/cart".to_string(),
            "shop/search-0/search".into(),
            "batch/etl-x2/etl".into(),
            format!("/{UID_STRANGER}/dc4a90669665"),
        ]
    );
    assert_eq!(
        snap.containers[0].sample.last_termination_reason.as_deref(),
        Some("OOMKilled")
    );
    assert_eq!(kube.source(), Some("api"));
    let pods_gauge = reg
        .gather()
        .iter()
        .find(|f| f.name() == "crashwatch_kube_pods")
        .map(|f| f.get_metric()[0].get_gauge().get_value());
    assert_eq!(pods_gauge, Some(3.0));
    let seen = api.seen();
    assert!(
        seen.iter()
            .any(|s| s.uri.contains("watch=true") && s.uri.contains("resourceVersion=10")),
        "{seen:?}"
    );
}

/// A failing kubelet is retried with backoff (1 s, 2 s, …), and sweeps asking for a refresh
/// (new container IDs every 50 ms) cannot cut the backoff short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_kubelet_backs_off_and_pokes_do_not_stampede() {
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = failing.clone();
    let kubelet = FakeServer::start(move |s: &Seen| {
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            Reply::Json(500, "{}".into())
        } else {
            kubelet_ok(5)(s)
        }
    });
    let sa = sa_dir();
    let reg = prometheus::Registry::new();
    let mut cfg = config(&kubelet.url(), None, PodSource::Kubelet, &sa);
    cfg.events = false;
    cfg.refresh_interval = Duration::from_millis(200);
    let kube = Kube::start(cfg, &reg).await;
    let _ = eventually(&kube, |s| s.containers[0].meta.pod == "cart-7d4b9").await;
    failing.store(true, std::sync::atomic::Ordering::SeqCst);
    let pods_calls = |k: &FakeServer| k.seen().iter().filter(|s| s.uri == "/pods").count();
    let start_calls = pods_calls(&kubelet);
    let t0 = Instant::now();
    let mut n = 0u32;
    while t0.elapsed() < Duration::from_millis(3500) {
        let mut s = snapshot();
        n += 1;
        s.containers.push(cgroup(
            "eeeeeeee-1a2b-4c5d-8e9f-000000000010",
            &format!("{n:064x}"),
            "burstable",
        ));
        kube.enrich(&mut s);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Without backoff: one call per 200 ms refresh (17), or per poke (70). With it: the
    // failing call, then 1 s and 2 s later: 3 (4 if the machine is slow at the edges).
    let calls = pods_calls(&kubelet) - start_calls;
    assert!((3..=4).contains(&calls), "{calls} /pods calls in 3.5 s");
    // The last good names stay while the kubelet fails.
    let mut s = snapshot();
    kube.enrich(&mut s);
    assert_eq!(s.containers[0].sample.id, "shop/cart-7d4b9/cart");
    assert!(
        gather(&reg, "crashwatch_kube_errors_total", ("source", "kubelet"))
            .is_some_and(|v| v >= 3.0)
    );
}

/// An evicted pod's cgroups vanish instead of restarting, so only the kubelet can say it
/// crashed: the agent must score that (here a `miss`: nothing was alarmed) rather than
/// forget the container.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_reported_by_the_kubelet_is_scored_as_a_crash() {
    use crashwatch::agent::outcomes::CrashOutcome;
    use crashwatch::collect::SweepStats;
    use crashwatch::sample::Cause;
    use std::sync::atomic::{AtomicBool, Ordering};

    let evicted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&evicted);
    // Bound by name (not `..`): the fake kubelet must live as long as the test.
    let Agent {
        kube,
        mut engine,
        _kubelet,
        _sa,
        ..
    } = Agent::start(move |list| {
        if flag.load(Ordering::SeqCst) {
            let status = &mut list["items"][2]["status"];
            status["phase"] = "Failed".into();
            status["reason"] = "Evicted".into();
            status["message"] = "The node was low on resource: memory.".into();
        }
    })
    .await;

    let mut snap = snapshot();
    kube.enrich(&mut snap);
    assert!(ids(&snap).contains(&"batch/etl-x2/etl".to_string()));
    let report = engine.process(snap, SweepStats::default(), Instant::now());
    assert!(report.crashed.is_empty());

    // The kubelet evicts the pod: its cgroup is gone from the next sweeps.
    evicted.store(true, Ordering::SeqCst);
    let mut crashed = Vec::new();
    for i in 1..=10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut snap = snapshot();
        snap.ts = 100.0 + i as f64;
        snap.containers
            .retain(|c| c.meta.pod_uid.as_deref() != Some(UID_DOCKER));
        for c in &mut snap.containers {
            c.sample.ts = snap.ts;
        }
        kube.enrich(&mut snap);
        crashed.extend(
            engine
                .process(snap, SweepStats::default(), Instant::now())
                .crashed,
        );
        if !crashed.is_empty() {
            break;
        }
    }
    assert_eq!(
        crashed,
        vec![(
            "batch/etl-x2/etl".to_string(),
            Cause::Evicted,
            CrashOutcome::Miss
        )],
        "the eviction is scored once"
    );
}

/// A crash-loop alarm stays up while the container is away in its restart back-off, but
/// only while the kubelet still lists it: once the pod is deleted, the alarm goes from
/// `/predict` and `/metrics` at the next sweep instead of lingering for minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loop_alarm_goes_when_the_pod_is_deleted() {
    use crashwatch::agent::engine::Engine;
    use crashwatch::collect::SweepStats;
    use crashwatch::http::AppState;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    let restarts = Arc::new(AtomicU32::new(1));
    let deleted = Arc::new(AtomicBool::new(false));
    let (r, d) = (Arc::clone(&restarts), Arc::clone(&deleted));
    let Agent {
        kube,
        mut engine,
        state,
        _kubelet,
        _sa,
    } = Agent::start(move |list| {
        let items = list["items"].as_array_mut().unwrap();
        if d.load(Ordering::SeqCst) {
            items.retain(|p| p["metadata"]["name"] != "etl-x2");
        } else {
            items[2]["status"]["containerStatuses"][0]["restartCount"] =
                r.load(Ordering::SeqCst).into();
        }
    })
    .await;
    const ETL: &str = "batch/etl-x2/etl";
    // One sweep at `ts`, with or without the etl container's cgroup.
    let sweep = |engine: &mut Engine, ts: f64, with_etl: bool| {
        let mut snap = snapshot();
        snap.ts = ts;
        if !with_etl {
            snap.containers
                .retain(|c| c.meta.pod_uid.as_deref() != Some(UID_DOCKER));
        }
        for c in &mut snap.containers {
            c.sample.ts = ts;
        }
        kube.enrich(&mut snap);
        engine.process(snap, SweepStats::default(), Instant::now());
    };
    let alarmed = |state: &AppState| {
        state
            .live()
            .predictions
            .iter()
            .any(|p| p.id == ETL && p.crash_predicted)
    };

    // Restarts 1 → 2 → 3 within seconds: the back-off loop, alarmed.
    let mut ts = 100.0;
    for n in [1, 2, 3] {
        restarts.store(n, Ordering::SeqCst);
        listed_restarts(&kube, Some(n)).await;
        sweep(&mut engine, ts, true);
        ts += 5.0;
    }
    assert!(alarmed(&state), "no crash-loop alarm: {:?}", state.live());
    // Its cgroup vanishes (back-off); the kubelet still lists it: the alarm stays up.
    sweep(&mut engine, ts, false);
    ts += 5.0;
    sweep(&mut engine, ts, false);
    assert!(alarmed(&state), "alarm dropped during the back-off");
    // The pod is deleted: the kubelet no longer lists it, and the alarm goes.
    deleted.store(true, Ordering::SeqCst);
    listed_restarts(&kube, None).await;
    ts += 5.0;
    sweep(&mut engine, ts, false);
    assert!(
        !state.live().predictions.iter().any(|p| p.id == ETL),
        "a deleted pod's alarm lingers: {:?}",
        state.live()
    );
    let mut text = Vec::new();
    state.metrics.encode(&mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        !text.contains("pod=\"etl-x2\""),
        "a deleted pod's series linger on /metrics"
    );
}

/// Wait until the agent's kubelet index shows the etl container with `want` restarts
/// (`None`: not listed at all).
async fn listed_restarts(kube: &Kube, want: Option<u32>) {
    for _ in 0..50 {
        if kube.lookup(ID_DOCKER).map(|i| i.restarts as u32) == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the kubelet index never showed {want:?} restarts");
}

/// The agent's sweep engine with its real kube client, fed by a fake kubelet that serves
/// [`pod_list`] after `edit` (and a node summary).
struct Agent {
    _kubelet: FakeServer,
    _sa: SaDir,
    kube: Kube,
    engine: crashwatch::agent::engine::Engine,
    state: Arc<crashwatch::http::AppState>,
}

impl Agent {
    async fn start(edit: impl Fn(&mut serde_json::Value) + Send + Sync + 'static) -> Agent {
        use crashwatch::collect::{CollectConfig, Collector};
        use crashwatch::model::Model;
        let kubelet = FakeServer::start(move |s: &Seen| {
            if s.uri.starts_with("/pods") {
                let mut list: serde_json::Value = serde_json::from_str(&pod_list()).unwrap();
                edit(&mut list);
                Reply::Json(200, list.to_string())
            } else if s.uri.starts_with("/stats/summary") {
                Reply::Json(200, summary(1 << 30))
            } else {
                Reply::Json(404, "{}".into())
            }
        });
        let sa = sa_dir();
        let reg = prometheus::Registry::new();
        let kube = Kube::start(config(&kubelet.url(), None, PodSource::Kubelet, &sa), &reg).await;
        let model = Model::embedded();
        let metrics = Arc::new(crashwatch::metrics::Metrics::new(model.version()).unwrap());
        let state = Arc::new(crashwatch::http::AppState::new(
            metrics,
            Arc::clone(&model),
            "node-1",
        ));
        let collector = Collector::new(CollectConfig {
            cgroup_root: "/nonexistent".into(),
            proc_root: "/nonexistent".into(),
            node_name: "node-1".into(),
        });
        let engine = crashwatch::agent::engine::Engine::new(
            collector,
            crashwatch::predict::Predictor::new(model, None),
            kube.clone(),
            Arc::clone(&state),
            "node-1",
        );
        Agent {
            _kubelet: kubelet,
            _sa: sa,
            kube,
            engine,
            state,
        }
    }
}
