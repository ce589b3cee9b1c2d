//! The HTTP API over real TCP sockets: every endpoint, the bad-input table, keep-alive,
//! pipelining, HTTP/1.0, slow headers, and metrics after sweeps. Requests are written as raw
//! bytes so malformed and slow clients can be imitated exactly.
use crashwatch::agent::engine::Engine;
use crashwatch::collect::{CollectConfig, Collector, SweepStats};
use crashwatch::http::{self, AppState, ServerConfig, ServerHandle};
use crashwatch::kube::Kube;
use crashwatch::metrics::Metrics;
use crashwatch::model::Model;
use crashwatch::predict::Predictor;
use crashwatch::sample::{ContainerMeta, ContainerSample, Sample, Snapshot};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A parsed HTTP response.
#[derive(Debug)]
struct Resp {
    version: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
    fn error(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error field: {self:?}"))
            .to_string()
    }
}

/// One client connection with a read buffer kept across responses (pipelining).
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: std::net::SocketAddr) -> Conn {
        Conn {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).await.unwrap();
    }

    /// Read one response (Content-Length bodies, or until EOF when there is none).
    async fn read(&mut self) -> Option<Resp> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                let mut lines = head.split("\r\n");
                let status_line = lines.next().unwrap_or("");
                let mut parts = status_line.splitn(3, ' ');
                let version = parts.next().unwrap_or("").to_string();
                let status: u16 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let len = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .map(|(_, v)| v.parse::<usize>().unwrap());
                let start = end + 4;
                let len = match len {
                    Some(l) => l,
                    None => {
                        self.read_to_eof().await;
                        self.buf.len() - start
                    }
                };
                while self.buf.len() < start + len {
                    if !self.fill().await {
                        panic!("connection closed inside a body");
                    }
                }
                let body = String::from_utf8_lossy(&self.buf[start..start + len]).into_owned();
                self.buf.drain(..start + len);
                return Some(Resp {
                    version,
                    status,
                    headers,
                    body,
                });
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16384];
        match tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => false,
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(_) => panic!("no response within 10 s"),
        }
    }

    async fn read_to_eof(&mut self) {
        while self.fill().await {}
    }

    /// True when the server closed the connection (EOF without further bytes).
    async fn closed(&mut self) -> bool {
        !self.fill().await && self.buf.is_empty()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

struct Server {
    handle: ServerHandle,
    state: Arc<AppState>,
    engine: Engine,
}

async fn start(cfg: ServerConfig) -> Server {
    let model = Model::embedded();
    let metrics = Arc::new(Metrics::new(model.version()).unwrap());
    let state = Arc::new(AppState::new(metrics, Arc::clone(&model), "node-1"));
    let listener = http::bind("127.0.0.1:0").await.unwrap();
    let handle = http::spawn(listener, Arc::clone(&state), cfg).unwrap();
    let collector = Collector::new(CollectConfig {
        cgroup_root: "/nonexistent".into(),
        proc_root: "/nonexistent".into(),
        node_name: "node-1".into(),
    });
    let engine = Engine::new(
        collector,
        Predictor::new(model, None),
        Kube::default(),
        Arc::clone(&state),
        "node-1",
    );
    Server {
        handle,
        state,
        engine,
    }
}

async fn request(addr: std::net::SocketAddr, raw: &str) -> Resp {
    let mut c = Conn::open(addr).await;
    c.send(raw.as_bytes()).await;
    c.read().await.expect("a response")
}

async fn get(addr: std::net::SocketAddr, path: &str) -> Resp {
    request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
    .await
}

async fn post(addr: std::net::SocketAddr, content_type: Option<&str>, body: &str) -> Resp {
    let ct = content_type
        .map(|c| format!("Content-Type: {c}\r\n"))
        .unwrap_or_default();
    request(
        addr,
        &format!("POST /predict HTTP/1.1\r\nHost: x\r\n{ct}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
    )
    .await
}

fn container(ns: &str, pod: &str, name: &str, ws: u64, limit: Option<u64>) -> ContainerSample {
    let meta = ContainerMeta {
        namespace: ns.into(),
        pod: pod.into(),
        container: name.into(),
        cgroup: format!("kubepods/{pod}/{name}"),
        ..ContainerMeta::default()
    };
    let sample = Sample {
        ts: 1000.0,
        id: meta.id(),
        memory_usage_bytes: Some(ws + 4096),
        memory_working_set_bytes: Some(ws),
        memory_limit_bytes: limit,
        ..Sample::default()
    };
    ContainerSample { meta, sample }
}

fn snapshot(ts: f64, containers: Vec<ContainerSample>) -> Snapshot {
    Snapshot {
        ts,
        containers,
        ..Snapshot::default()
    }
}

async fn sweep(s: &mut Server, snap: Snapshot) {
    s.engine.process(
        snap,
        SweepStats {
            vanished: 2,
            ..SweepStats::default()
        },
        Instant::now(),
    );
}

#[tokio::test]
async fn health_and_readiness() {
    let mut s = start(ServerConfig::default()).await;
    let addr = s.handle.addr;
    let r = get(addr, "/healthz").await;
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"status":"ok"}"#));
    let r = get(addr, "/readyz").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["ready"], false);
    assert!(!s.state.is_ready());
    sweep(&mut s, snapshot(1000.0, vec![])).await;
    let r = get(addr, "/readyz").await;
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"ready":true}"#));
    s.handle.shutdown().await;
}

#[tokio::test]
async fn metrics_after_sweeps_and_vanished_series() {
    let mut s = start(ServerConfig::default()).await;
    let addr = s.handle.addr;
    sweep(
        &mut s,
        snapshot(
            1000.0,
            vec![
                container("shop", "cart-1", "app", 300_000_000, Some(536_870_912)),
                container("shop", "cart-2", "app", 1_000, None),
            ],
        ),
    )
    .await;
    let r = get(addr, "/metrics").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4"));
    let m = &r.body;
    assert!(m.contains("crashwatch_memory_working_set_bytes{container=\"app\",namespace=\"shop\",pod=\"cart-1\"} 300000000\n"), "{m}");
    assert!(m.contains("crashwatch_memory_limit_bytes{container=\"app\",namespace=\"shop\",pod=\"cart-1\"} 536870912\n"));
    assert!(
        !m.contains(
            "crashwatch_memory_limit_bytes{container=\"app\",namespace=\"shop\",pod=\"cart-2\"}"
        ),
        "unlimited has no limit series"
    );
    assert!(m.contains("crashwatch_containers 2\n"));
    assert!(m.contains("crashwatch_collect_errors_total{kind=\"vanished\"} 2\n"));
    assert!(m.contains("crashwatch_collect_duration_seconds_count 1\n"));
    for outcome in ["hit", "late", "miss", "false_alarm"] {
        assert!(
            m.contains(&format!(
                "crashwatch_predictions_total{{outcome=\"{outcome}\"}} 0\n"
            )),
            "{outcome}"
        );
    }
    // The risk gauge equals what GET /predict reports for the same container.
    let live = get(addr, "/predict?pod=cart-1").await.json();
    let risk = live["predictions"][0]["crash_risk"].as_f64().unwrap();
    let line = format!(
        "crashwatch_crash_risk{{container=\"app\",namespace=\"shop\",pod=\"cart-1\"}} {risk}\n"
    );
    assert!(m.contains(&line), "missing {line:?} in {m}");

    // cart-1 vanishes: every one of its series goes.
    sweep(
        &mut s,
        snapshot(
            1001.0,
            vec![container("shop", "cart-2", "app", 1_000, None)],
        ),
    )
    .await;
    let m = get(addr, "/metrics").await.body;
    assert!(!m.contains("pod=\"cart-1\""), "stale series left: {m}");
    assert!(m.contains("crashwatch_containers 1\n"));
    assert!(m.contains("crashwatch_collect_errors_total{kind=\"vanished\"} 4\n"));
    assert_eq!(s.state.metrics.published_containers(), 1);
    s.handle.shutdown().await;
}

#[tokio::test]
async fn get_predict_lists_and_filters() {
    let mut s = start(ServerConfig::default()).await;
    let addr = s.handle.addr;
    sweep(
        &mut s,
        snapshot(
            1234.5,
            vec![
                container("a", "p1", "c", 10, Some(100)),
                container("a", "p2", "c", 20, Some(100)),
                container("b", "p3", "c", 30, None),
            ],
        ),
    )
    .await;
    let all = get(addr, "/predict").await;
    assert_eq!(all.status, 200);
    assert_eq!(all.header("content-type"), Some("application/json"));
    let v = all.json();
    assert_eq!(v["ts"], 1234.5);
    assert_eq!(v["node"], "node-1");
    let preds = v["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 3);
    let risks: Vec<f64> = preds
        .iter()
        .map(|p| p["crash_risk"].as_f64().unwrap())
        .collect();
    assert!(
        risks.windows(2).all(|w| w[0] >= w[1]),
        "not highest risk first: {risks:?}"
    );
    let p3 = preds.iter().find(|p| p["pod"] == "p3").unwrap();
    assert_eq!(p3["id"], "b/p3/c");
    assert_eq!(p3["namespace"], "b");
    assert_eq!(p3["container"], "c");
    assert_eq!(p3["memory_working_set_bytes"], 30);
    assert!(p3["memory_limit_bytes"].is_null());
    for key in ["crash_predicted", "cause", "time_to_oom_seconds"] {
        assert!(p3.get(key).is_some(), "{key} missing");
    }

    let ns = get(addr, "/predict?namespace=a").await.json();
    let pods: Vec<&str> = ns["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pod"].as_str().unwrap())
        .collect();
    assert_eq!(pods.len(), 2);
    assert!(pods.contains(&"p1") && pods.contains(&"p2"));
    let one = get(addr, "/predict?namespace=a&pod=p2").await.json();
    assert_eq!(one["predictions"].as_array().unwrap().len(), 1);
    assert_eq!(one["predictions"][0]["id"], "a/p2/c");
    let max = risks[0];
    let above = get(
        addr,
        &format!("/predict?min_risk={}", (max + 0.01).min(1.0)),
    )
    .await
    .json();
    if max + 0.01 <= 1.0 {
        assert_eq!(above["predictions"].as_array().unwrap().len(), 0);
    }
    let none = get(addr, "/predict?namespace=zzz").await.json();
    assert_eq!(none["predictions"], serde_json::json!([]));

    for (q, want) in [
        ("min_risk=lots", "min_risk"),
        ("min_risk=-1", "outside 0..1"),
        ("min_risk=NaN", "outside 0..1"),
        ("color=red", "unknown query parameter \"color\""),
    ] {
        let r = get(addr, &format!("/predict?{q}")).await;
        assert_eq!(r.status, 400, "{q}");
        assert!(r.error().contains(want), "{q}: {}", r.error());
    }
    s.handle.shutdown().await;
}

#[tokio::test]
async fn post_predict_accepts_the_predecessor_body_and_samples() {
    let s = start(ServerConfig::default()).await;
    let addr = s.handle.addr;
    let want_version = s.state.model.version().to_string();
    for (ct, body) in [
        (
            Some("application/json"),
            r#"{"cpu_usage_cores":0.5,"memory_usage_bytes":1024}"#,
        ),
        (
            Some("application/json; charset=utf-8"),
            r#"{"memory_usage_bytes":1024}"#,
        ),
        (None, r#"{"memory_usage_bytes":1024}"#),
        (
            Some("application/json"),
            r#"{"ts":5,"id":"a/b/c","memory_working_set_bytes":500000000,"memory_limit_bytes":536870912,"qos":"burstable","last_termination_reason":"OOMKilled","memory_limit_bytes_extra":1}"#,
        ),
    ] {
        let r = post(addr, ct, body).await;
        assert_eq!(r.status, 200, "{ct:?} {body}: {}", r.body);
        let v = r.json();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 5, "{keys:?}");
        for k in [
            "crash_risk",
            "crash_predicted",
            "cause",
            "time_to_oom_seconds",
            "model_version",
        ] {
            assert!(v.get(k).is_some(), "{k} missing in {v}");
        }
        let risk = v["crash_risk"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&risk));
        assert_eq!(v["model_version"], want_version.as_str());
    }
    s.handle.shutdown().await;
}

#[tokio::test]
async fn bad_input_table() {
    let s = start(ServerConfig::default()).await;
    let addr = s.handle.addr;
    let json = Some("application/json");
    let cases: Vec<(Option<&str>, &str, u16, &str)> = vec![
        (json, "{not json}", 400, "invalid JSON"),
        (json, r#"{"memory_usage_bytes": 10"#, 400, "truncated JSON"),
        (
            json,
            r#"{"memory_usage_bytes": "a lot"}"#,
            400,
            "field \"memory_usage_bytes\"",
        ),
        (
            json,
            r#"{"cpu_usage_cores": true}"#,
            400,
            "field \"cpu_usage_cores\"",
        ),
        (
            json,
            r#"{"memory_usage_bytes": -1024}"#,
            400,
            "field \"memory_usage_bytes\": negative value -1024",
        ),
        (
            json,
            r#"{"cpu_usage_cores": -0.5}"#,
            400,
            "field \"cpu_usage_cores\": invalid value -0.5",
        ),
        (
            json,
            r#"{"cpu_usage_cores": NaN}"#,
            400,
            "field \"cpu_usage_cores\": NaN is not a number",
        ),
        (
            json,
            r#"{"pids_current": 1.5}"#,
            400,
            "field \"pids_current\": fractional",
        ),
        (
            json,
            r#"[{"memory_usage_bytes": 1}]"#,
            400,
            "expected a JSON object",
        ),
        (
            json,
            "[1]",
            400,
            "expected a JSON object (one sample), got an array",
        ),
        (json, "", 400, "empty body"),
        (json, "   \n", 400, "empty body"),
        (
            Some("text/plain"),
            r#"{"memory_usage_bytes":1}"#,
            415,
            "unsupported content type \"text/plain\"",
        ),
        (
            Some("application/x-www-form-urlencoded"),
            r#"{"memory_usage_bytes":1}"#,
            415,
            "Content-Type: application/json",
        ),
    ];
    for (ct, body, status, want) in cases {
        let r = post(addr, ct, body).await;
        assert_eq!(r.status, status, "{ct:?} {body:?}: {}", r.body);
        let msg = r.error();
        assert!(
            msg.contains(want),
            "{body:?}: message {msg:?} lacks {want:?}"
        );
    }
    // Unknown path and wrong methods.
    let r = get(addr, "/nope").await;
    assert_eq!(r.status, 404);
    assert!(r.error().contains("\"/nope\""));
    for (method, path, allow) in [
        ("DELETE", "/predict", "GET, HEAD, POST"),
        ("POST", "/metrics", "GET, HEAD"),
        ("PUT", "/healthz", "GET, HEAD"),
    ] {
        let r = request(addr, &format!("{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")).await;
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), Some(allow));
        assert!(r.error().contains("method not allowed"));
    }
    // The server keeps serving after all of that.
    assert_eq!(get(addr, "/healthz").await.status, 200);
    s.handle.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_reading() {
    let s = start(ServerConfig::default()).await;
    let addr = s.handle.addr;
    // Announced 10 MiB, only the head is sent: the answer must come without the body.
    let mut c = Conn::open(addr).await;
    c.send(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n{\"ts\":").await;
    let r = c.read().await.expect("413 before the body was sent");
    assert_eq!(r.status, 413);
    assert!(r.error().contains("larger than 65536 bytes"));
    assert_eq!(r.header("connection"), Some("close"));

    // Chunked, no Content-Length: cut off once 64 KiB have streamed in.
    let mut c = Conn::open(addr).await;
    c.send(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").await;
    let chunk = vec![b' '; 8192];
    let mut sent = 0;
    let mut got = None;
    while sent < 200 * 1024 {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(&chunk);
        frame.extend_from_slice(b"\r\n");
        if c.stream.write_all(&frame).await.is_err() {
            break;
        }
        sent += chunk.len();
        if sent > 80 * 1024 {
            got = c.read().await;
            break;
        }
    }
    let r = got.expect("413 for an endless chunked body");
    assert_eq!(r.status, 413);
    assert!(r.error().contains("larger than 65536 bytes"));
    // Exactly 64 KiB is still fine.
    let mut body = String::from(r#"{"memory_usage_bytes":1024}"#);
    body.push_str(&" ".repeat(http::MAX_BODY - body.len()));
    let r = post(addr, Some("application/json"), &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(get(addr, "/healthz").await.status, 200);
    s.handle.shutdown().await;
}

#[tokio::test]
async fn slow_headers_are_cut_off_and_others_still_served() {
    let cfg = ServerConfig {
        header_read_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let s = start(cfg).await;
    let addr = s.handle.addr;
    let mut slow = Conn::open(addr).await;
    let started = Instant::now();
    slow.send(b"GET /metrics HTTP/1.1\r\n").await;
    // Trickle one header byte every 100 ms: the head never completes within 300 ms.
    let mut closed_by_server = false;
    for b in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if slow.stream.write_all(&[*b]).await.is_err() {
            closed_by_server = true;
            break;
        }
        // Meanwhile another client is served normally.
        if started.elapsed() < Duration::from_millis(250) {
            assert_eq!(get(addr, "/healthz").await.status, 200);
        }
        if started.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    if !closed_by_server {
        assert!(
            slow.closed().await,
            "slow client still connected after {:?}",
            started.elapsed()
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "cut off only after {:?}",
        started.elapsed()
    );
    assert_eq!(get(addr, "/healthz").await.status, 200);
    s.handle.shutdown().await;
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_header_timeout() {
    let cfg = ServerConfig {
        header_read_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let s = start(cfg).await;
    let addr = s.handle.addr;
    // Connected, never sends a byte.
    let mut silent = Conn::open(addr).await;
    // Kept alive after one request, then silent.
    let mut kept = Conn::open(addr).await;
    kept.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(kept.read().await.unwrap().status, 200);
    let started = Instant::now();
    assert!(silent.closed().await, "silent connection kept open");
    assert!(kept.closed().await, "idle keep-alive connection kept open");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "closed only after {:?}",
        started.elapsed()
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn keep_alive_pipelining_and_http10() {
    let mut s = start(ServerConfig::default()).await;
    sweep(
        &mut s,
        snapshot(1000.0, vec![container("a", "p", "c", 10, Some(100))]),
    )
    .await;
    let addr = s.handle.addr;
    // Keep-alive: three requests, one after another, on one connection.
    let mut c = Conn::open(addr).await;
    for path in ["/healthz", "/readyz", "/predict"] {
        c.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await;
        let r = c
            .read()
            .await
            .expect("response on the kept-alive connection");
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.version, "HTTP/1.1");
    }
    // Pipelined: three requests in one write, three responses in order.
    let body = r#"{"memory_usage_bytes":1024}"#;
    let batch = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\
         POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}\
         GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
        body.len()
    );
    c.send(batch.as_bytes()).await;
    let statuses = [
        c.read().await.unwrap(),
        c.read().await.unwrap(),
        c.read().await.unwrap(),
    ];
    assert_eq!(
        statuses.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 200, 404]
    );
    assert!(statuses[1].json().get("crash_risk").is_some());

    // HTTP/1.0 without keep-alive: answered as 1.0, then closed.
    let mut c = Conn::open(addr).await;
    c.send(b"GET /healthz HTTP/1.0\r\n\r\n").await;
    let r = c.read().await.unwrap();
    assert_eq!((r.version.as_str(), r.status), ("HTTP/1.0", 200));
    assert!(c.closed().await, "HTTP/1.0 connection left open");
    // HTTP/1.0 POST with a body works too.
    let r = request(
        addr,
        &format!("POST /predict HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.handle.shutdown().await;
}

#[tokio::test]
async fn garbage_request_line_gets_400_and_server_survives() {
    let s = start(ServerConfig::default()).await;
    let addr = s.handle.addr;
    let mut c = Conn::open(addr).await;
    c.send(b"\x16\x03\x01 this is not http\r\n\r\n").await;
    let r = c.read().await;
    assert!(r.as_ref().is_none_or(|r| r.status == 400), "{r:?}");
    assert_eq!(get(addr, "/healthz").await.status, 200);
    s.handle.shutdown().await;
}

/// A crash-looping container: its alarm stays on `/metrics` and `GET /predict` while it is
/// away in the restart back-off, and the next crash counts from the previous one (a `hit`),
/// as `eval` scores it.
#[tokio::test]
async fn a_crash_loop_alarm_stays_up_through_the_back_off() {
    let mut s = start(ServerConfig::default()).await;
    let addr = s.handle.addr;
    let looping = |ts: f64, restarts: u64| {
        let mut c = container("shop", "loop-1", "app", 50_000_000, Some(536_870_912));
        c.sample.ts = ts;
        c.sample.restarts_total = Some(restarts);
        c.sample.last_termination_reason = (restarts > 0).then(|| "Error".to_string());
        c
    };
    let predicted = "crashwatch_crash_predicted{cause=";
    let mut ts = 1000.0;
    // Two quick restarts: an exit nothing explained is alarmed at once (the first crash is a
    // miss, the second, 10 s later, is late), and two are the kubelet's back-off loop.
    for restarts in [0, 0, 1, 1, 2] {
        sweep(&mut s, snapshot(ts, vec![looping(ts, restarts)])).await;
        ts += 5.0;
    }
    let m = get(addr, "/metrics").await.body;
    assert!(m.contains(predicted), "not alarmed after two restarts: {m}");
    // Dead: away for 40 s of back-off. The warning stays visible.
    let died = ts;
    while ts < died + 40.0 {
        sweep(&mut s, snapshot(ts, vec![])).await;
        ts += 5.0;
    }
    let m = get(addr, "/metrics").await.body;
    assert!(
        m.lines()
            .any(|l| l.starts_with(predicted) && l.contains("pod=\"loop-1\"") && l.ends_with(" 1")),
        "alarm not shown during the back-off: {m}"
    );
    let live = get(addr, "/predict?pod=loop-1").await.json();
    assert_eq!(live["predictions"][0]["crash_predicted"], true, "{live}");
    // Back (restart 3): that crash came less than 30 s after the alarm opened, `late`.
    sweep(&mut s, snapshot(ts, vec![looping(ts, 3)])).await;
    ts += 5.0;
    sweep(&mut s, snapshot(ts, vec![looping(ts, 3)])).await;
    // Dies again 10 s later, back after 40 s: warned since the previous crash, a `hit`.
    let died2 = ts + 5.0;
    ts = died2;
    while ts < died2 + 40.0 {
        sweep(&mut s, snapshot(ts, vec![])).await;
        ts += 5.0;
    }
    sweep(&mut s, snapshot(ts, vec![looping(ts, 4)])).await;
    let m = get(addr, "/metrics").await.body;
    assert!(
        m.contains("crashwatch_predictions_total{outcome=\"late\"} 2\n"),
        "{m}"
    );
    assert!(
        m.contains("crashwatch_predictions_total{outcome=\"miss\"} 1\n"),
        "{m}"
    );
    assert!(
        m.contains("crashwatch_predictions_total{outcome=\"hit\"} 1\n"),
        "{m}"
    );
    assert!(
        m.contains("crashwatch_predictions_total{outcome=\"false_alarm\"} 0\n"),
        "{m}"
    );
}
