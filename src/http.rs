//! The agent's HTTP server (hyper 1.x, HTTP/1.1 and 1.0, no framework): `GET /metrics`,
//! `POST /predict`, `GET /predict`, `GET /healthz`, `GET /readyz`.
//!
//! Every error is a JSON `{"error": "..."}` whose message says what was wrong (which field,
//! which header, which limit). Request bodies are capped at [`MAX_BODY`] before they are
//! read; slow headers hit hyper's `header_read_timeout`. Handlers only read shared state
//! (an `Arc` swapped once per sweep): this module must never touch cgroup files or block.
use crate::metrics::Metrics;
use crate::model::Model;
use crate::predict::predict_once;
use crate::sample::{Cause, Sample};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Largest accepted request body (`POST /predict`), bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// One container's live prediction as `GET /predict` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LivePrediction {
    /// Namespace (`""` when unknown).
    pub namespace: String,
    /// Pod name (pod UID when unknown).
    pub pod: String,
    /// Container name.
    pub container: String,
    /// `namespace/pod/container`.
    pub id: String,
    /// Crash risk 0..1.
    pub crash_risk: f64,
    /// True while an alarm episode is open.
    pub crash_predicted: bool,
    /// Most likely cause.
    pub cause: Option<Cause>,
    /// Seconds until the memory limit (only while growing toward it).
    pub time_to_oom_seconds: Option<f64>,
    /// Working set, bytes.
    pub memory_working_set_bytes: Option<u64>,
    /// Memory limit, bytes (`null` = unlimited).
    pub memory_limit_bytes: Option<u64>,
}

/// Every live prediction of the last sweep, highest risk first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Live {
    /// Sweep time (seconds).
    pub ts: f64,
    /// Node name.
    pub node: String,
    /// Predictions, sorted by descending risk.
    pub predictions: Vec<LivePrediction>,
}

impl Live {
    /// Build from unsorted predictions (sorts by risk, highest first; ties by id).
    pub fn new(ts: f64, node: String, mut predictions: Vec<LivePrediction>) -> Self {
        predictions.sort_by(|a, b| {
            b.crash_risk
                .total_cmp(&a.crash_risk)
                .then_with(|| a.id.cmp(&b.id))
        });
        Live {
            ts,
            node,
            predictions,
        }
    }
}

/// State shared by the sweep loop (writer) and the HTTP handlers (readers).
#[derive(Debug)]
pub struct AppState {
    /// Metric handles (encoded by `/metrics`).
    pub metrics: Arc<Metrics>,
    /// The loaded model (used by `POST /predict`).
    pub model: Arc<Model>,
    live: RwLock<Arc<Live>>,
    ready: AtomicBool,
}

impl AppState {
    /// Fresh state: not ready, no predictions.
    pub fn new(metrics: Arc<Metrics>, model: Arc<Model>, node: &str) -> Self {
        AppState {
            metrics,
            model,
            live: RwLock::new(Arc::new(Live {
                node: node.to_string(),
                ..Live::default()
            })),
            ready: AtomicBool::new(false),
        }
    }

    /// Publish a sweep's predictions and mark the agent ready (the first sweep is done and
    /// the model was loaded before the server started).
    pub fn publish(&self, live: Live) {
        let live = Arc::new(live);
        match self.live.write() {
            Ok(mut g) => *g = live,
            Err(poisoned) => *poisoned.into_inner() = live,
        }
        self.ready.store(true, Ordering::Release);
    }

    /// The last published predictions (a cheap `Arc` clone).
    pub fn live(&self) -> Arc<Live> {
        match self.live.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// True once the first sweep has been published.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// Server limits.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// A client must send a complete request head within this time (slowloris guard);
    /// also closes idle keep-alive connections after this long.
    pub header_read_timeout: Duration,
    /// Most simultaneous connections; further clients wait in the kernel backlog.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Bind `addr` (e.g. `0.0.0.0:8000`, `127.0.0.1:0`).
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serve `listener` until `shutdown` turns true, then stop accepting, let in-flight requests
/// finish (up to `cfg.shutdown_grace`) and return.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    cfg: ServerConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(cfg.max_connections));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.header_read_timeout)
        .keep_alive(true);
    let builder = Arc::new(builder);
    loop {
        if *shutdown.borrow() {
            break;
        }
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(err) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        let builder = Arc::clone(&builder);
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(handle(&state, req).await) }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            let res = tokio::select! {
                r = conn.as_mut() => r,
                _ = shutdown.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(err) = res {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    // All permits back = every connection task has finished.
    let all = u32::try_from(cfg.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(cfg.shutdown_grace, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("shutdown: some HTTP connections were still open after the grace period");
    }
}

/// Route one request. Never panics; every failure is a JSON error response.
pub async fn handle(state: &AppState, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    match path {
        "/metrics" => match *req.method() {
            Method::GET | Method::HEAD => metrics(state),
            _ => method_not_allowed("GET, HEAD"),
        },
        "/predict" => match *req.method() {
            Method::POST => post_predict(state, req).await,
            Method::GET | Method::HEAD => get_predict(state, req.uri().query()),
            _ => method_not_allowed("GET, HEAD, POST"),
        },
        "/healthz" => match *req.method() {
            Method::GET | Method::HEAD => json(StatusCode::OK, br#"{"status":"ok"}"#.to_vec()),
            _ => method_not_allowed("GET, HEAD"),
        },
        "/readyz" => match *req.method() {
            Method::GET | Method::HEAD => readyz(state),
            _ => method_not_allowed("GET, HEAD"),
        },
        _ => error(
            StatusCode::NOT_FOUND,
            format!("no such path {path:?}; try /metrics, /predict, /healthz, /readyz"),
        ),
    }
}

fn metrics(state: &AppState) -> Response<Full<Bytes>> {
    let mut buf = Vec::with_capacity(128 * 1024);
    match state.metrics.encode(&mut buf) {
        Ok(()) => {
            let mut resp = Response::new(Full::new(Bytes::from(buf)));
            resp.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(Metrics::content_type()),
            );
            resp
        }
        Err(err) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics failed: {err}"),
        ),
    }
}

fn readyz(state: &AppState) -> Response<Full<Bytes>> {
    if state.is_ready() {
        json(StatusCode::OK, br#"{"ready":true}"#.to_vec())
    } else {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            br#"{"ready":false,"reason":"waiting for the first sweep"}"#.to_vec(),
        )
    }
}

/// Filters of `GET /predict`.
#[derive(Debug, Default, PartialEq)]
struct Filters {
    namespace: Option<String>,
    pod: Option<String>,
    min_risk: Option<f64>,
}

fn parse_filters(query: Option<&str>) -> Result<Filters, String> {
    let mut f = Filters::default();
    let Some(q) = query else { return Ok(f) };
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v)
            .ok_or_else(|| format!("query parameter {k:?}: invalid percent-encoding"))?;
        match k {
            "namespace" => f.namespace = Some(v),
            "pod" => f.pod = Some(v),
            "min_risk" => {
                let r: f64 = v.parse().map_err(|_| {
                    format!("min_risk: {v:?} is not a number (expected 0..1, e.g. min_risk=0.5)")
                })?;
                if !(0.0..=1.0).contains(&r) {
                    return Err(format!("min_risk: {v} is outside 0..1"));
                }
                f.min_risk = Some(r);
            }
            other => {
                return Err(format!(
                    "unknown query parameter {other:?}; filters are namespace, pod, min_risk"
                ));
            }
        }
    }
    Ok(f)
}

/// Decode `%XX` and `+` in a query value; `None` on malformed escapes or invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains(['%', '+']) {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn get_predict(state: &AppState, query: Option<&str>) -> Response<Full<Bytes>> {
    let filters = match parse_filters(query) {
        Ok(f) => f,
        Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
    };
    let live = state.live();
    #[derive(Serialize)]
    struct Out<'a> {
        ts: f64,
        node: &'a str,
        predictions: Vec<&'a LivePrediction>,
    }
    let predictions = live
        .predictions
        .iter()
        .filter(|p| {
            filters
                .namespace
                .as_deref()
                .is_none_or(|ns| p.namespace == ns)
        })
        .filter(|p| filters.pod.as_deref().is_none_or(|pod| p.pod == pod))
        .filter(|p| filters.min_risk.is_none_or(|r| p.crash_risk >= r))
        .collect();
    let out = Out {
        ts: live.ts,
        node: &live.node,
        predictions,
    };
    match serde_json::to_vec(&out) {
        Ok(body) => json(StatusCode::OK, body),
        Err(err) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding predictions failed: {err}"),
        ),
    }
}

/// Reply of `POST /predict`.
#[derive(Debug, Serialize)]
struct PredictReply<'a> {
    crash_risk: f64,
    crash_predicted: bool,
    cause: Option<Cause>,
    time_to_oom_seconds: Option<f64>,
    model_version: &'a str,
}

async fn post_predict(state: &AppState, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if let Some(ct) = req.headers().get(CONTENT_TYPE) {
        if !is_json_content_type(ct) {
            let shown = String::from_utf8_lossy(ct.as_bytes()).into_owned();
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content type {shown:?}: send the sample as JSON with 'Content-Type: application/json'"),
            );
        }
    }
    if let Some(len) = req.headers().get(CONTENT_LENGTH) {
        // Reject by the announced length before reading a byte of the body.
        match len.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()) {
            Some(n) if n > MAX_BODY as u64 => return too_large(),
            Some(_) => {}
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid Content-Length header".to_string(),
                )
            }
        }
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => return too_large(),
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("reading the request body failed: {err}"),
            )
        }
    };
    let sample = match parse_sample(&body) {
        Ok(s) => s,
        Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
    };
    let p = crate::agent::engine::published(predict_once(&state.model, &sample));
    let reply = PredictReply {
        crash_risk: p.crash_risk,
        crash_predicted: p.crash_predicted,
        cause: p.cause,
        time_to_oom_seconds: p.time_to_oom_seconds,
        model_version: state.model.version(),
    };
    match serde_json::to_vec(&reply) {
        Ok(body) => json(StatusCode::OK, body),
        Err(err) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding the prediction failed: {err}"),
        ),
    }
}

/// `application/json` (any case, any parameters such as `charset=utf-8`) or `*/*+json`.
fn is_json_content_type(v: &HeaderValue) -> bool {
    let Ok(s) = v.to_str() else { return false };
    let mime = s
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Parse a `POST /predict` body into a sample, with an error message that names the
/// problem: empty, truncated, invalid (with position), not an object, or the bad field.
pub fn parse_sample(body: &[u8]) -> Result<Sample, String> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(
            "empty body: expected a JSON sample object, e.g. {\"memory_usage_bytes\":1024}"
                .to_string(),
        );
    }
    // Fast path: well-formed objects are parsed once. (Only objects: serde would also
    // accept a struct written as an array, `[1]`, which is not a sample.)
    let is_object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let err = match is_object.then(|| serde_json::from_slice::<Sample>(body)) {
        Some(Ok(s)) => return Ok(s),
        Some(Err(e)) => Some(e),
        None => None,
    };
    let value = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => v,
        Err(e) => return Err(describe_syntax_error(body, &e)),
    };
    let Some(obj) = value.as_object() else {
        return Err(format!(
            "expected a JSON object (one sample), got {}",
            json_kind(&value)
        ));
    };
    // Find the offending field by deserializing each one alone.
    for (key, val) in obj {
        let mut one = serde_json::Map::with_capacity(1);
        one.insert(key.clone(), val.clone());
        if let Err(e) = serde_json::from_value::<Sample>(serde_json::Value::Object(one)) {
            return Err(format!("field {key:?}: {}", strip_position(&e.to_string())));
        }
    }
    let why = err.map_or_else(
        || "not a sample".to_string(),
        |e| strip_position(&e.to_string()).to_string(),
    );
    Err(format!("invalid sample: {why}"))
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// serde_json appends " at line 1 column 5", meaningless for a value-level error.
fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

fn describe_syntax_error(body: &[u8], e: &serde_json::Error) -> String {
    if e.is_eof() {
        return format!("truncated JSON: the body ended early ({e})");
    }
    let offset = byte_offset(body, e.line(), e.column());
    if let Some((field, token)) = value_before(body, offset) {
        let t = token.trim_start_matches(['-', '+']).to_ascii_lowercase();
        if t.starts_with("nan") || t.starts_with("inf") {
            return format!(
                "field {field:?}: {token} is not a number (JSON numbers must be finite)"
            );
        }
        if e.to_string().contains("number out of range") {
            return format!("field {field:?}: number {token} out of range");
        }
    }
    format!("invalid JSON: {e}")
}

/// Byte offset of serde_json's 1-based (line, column).
fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let mut off = 0;
    for (i, l) in body.split(|b| *b == b'\n').enumerate() {
        if i + 1 == line {
            return (off + column).min(body.len());
        }
        off += l.len() + 1;
    }
    body.len()
}

/// The last `"key": value` around `offset` (to name the field of a syntax error): the key
/// and the raw value token up to the next `,`, `}` or whitespace.
fn value_before(body: &[u8], offset: usize) -> Option<(String, String)> {
    let head = std::str::from_utf8(body.get(..offset.min(body.len()))?).ok()?;
    let colon = head.rfind(':')?;
    let before = head[..colon].trim_end();
    let key = before.strip_suffix('"')?;
    let start = key.rfind('"')?;
    let tail = String::from_utf8_lossy(body.get(colon + 1..)?);
    let token: String = tail
        .trim_start()
        .chars()
        .take_while(|c| !matches!(c, ',' | '}' | ']') && !c.is_whitespace())
        .take(32)
        .collect();
    Some((key[start + 1..].to_string(), token))
}

fn too_large() -> Response<Full<Bytes>> {
    let mut resp = error(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("body larger than {MAX_BODY} bytes: send one sample per request"),
    );
    // The unread rest of the body makes the connection unusable; say so.
    resp.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    resp
}

fn method_not_allowed(allow: &'static str) -> Response<Full<Bytes>> {
    let mut resp = error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method not allowed; use {allow}"),
    );
    resp.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    resp
}

fn json(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn error(status: StatusCode, msg: String) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "error": msg }).to_string().into_bytes();
    json(status, body)
}

/// A running server: its bound address, a shutdown switch and its task.
#[derive(Debug)]
pub struct ServerHandle {
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// Stop accepting, finish in-flight requests, wait for the server task.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Spawn [`serve`] on `listener`; the returned handle stops it.
pub fn spawn(
    listener: TcpListener,
    state: Arc<AppState>,
    cfg: ServerConfig,
) -> std::io::Result<ServerHandle> {
    let addr = listener.local_addr()?;
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(serve(listener, state, cfg, rx));
    Ok(ServerHandle {
        addr,
        shutdown: tx,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_reject() {
        assert_eq!(
            parse_filters(Some("namespace=kube-system&pod=a%2Db&min_risk=0.5")).unwrap(),
            Filters {
                namespace: Some("kube-system".into()),
                pod: Some("a-b".into()),
                min_risk: Some(0.5)
            }
        );
        assert_eq!(parse_filters(None).unwrap(), Filters::default());
        assert!(parse_filters(Some("min_risk=high"))
            .unwrap_err()
            .contains("min_risk"));
        assert!(parse_filters(Some("min_risk=2"))
            .unwrap_err()
            .contains("outside 0..1"));
        assert!(parse_filters(Some("nampsace=x"))
            .unwrap_err()
            .contains("unknown query parameter"));
        assert!(parse_filters(Some("pod=%zz"))
            .unwrap_err()
            .contains("percent"));
    }

    #[test]
    fn sample_errors_name_the_problem() {
        let cases: [(&str, &str); 11] = [
            ("", "empty body"),
            ("{\"memory_usage_bytes\": 10", "truncated JSON"),
            ("{memory_usage_bytes: 10}", "invalid JSON"),
            (
                r#"{"memory_usage_bytes": -5}"#,
                r#"field "memory_usage_bytes": negative value -5"#,
            ),
            (
                r#"{"ts": 1, "cpu_usage_cores": "lots"}"#,
                r#"field "cpu_usage_cores""#,
            ),
            (
                r#"{"memory_usage_bytes": NaN}"#,
                r#"field "memory_usage_bytes": NaN is not a number"#,
            ),
            (
                r#"{"cpu_usage_cores": -Infinity}"#,
                r#"field "cpu_usage_cores": -Infinity is not a number"#,
            ),
            ("[1,2]", "expected a JSON object (one sample), got an array"),
            ("[1]", "expected a JSON object (one sample), got an array"),
            ("\"x\"", "expected a JSON object (one sample), got a string"),
            (
                r#"{"memory_usage_bytes": 1e999}"#,
                r#"field "memory_usage_bytes": number 1e999 out of range"#,
            ),
        ];
        for (body, want) in cases {
            let got = parse_sample(body.as_bytes()).unwrap_err();
            assert!(got.contains(want), "{body:?}: got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn predecessor_body_parses() {
        let s = parse_sample(br#"{"cpu_usage_cores":0.5,"memory_usage_bytes":1024}"#).unwrap();
        assert_eq!(s.cpu_usage_cores, Some(0.5));
        assert_eq!(s.memory_usage_bytes, Some(1024));
    }

    #[test]
    fn content_types() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json_content_type(&HeaderValue::from_static(ok)), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonx",
        ] {
            assert!(
                !is_json_content_type(&HeaderValue::from_static(bad)),
                "{bad}"
            );
        }
    }

    #[test]
    fn live_is_sorted_by_risk() {
        let p = |id: &str, r: f64| LivePrediction {
            namespace: String::new(),
            pod: id.into(),
            container: String::new(),
            id: id.into(),
            crash_risk: r,
            crash_predicted: false,
            cause: None,
            time_to_oom_seconds: None,
            memory_working_set_bytes: None,
            memory_limit_bytes: None,
        };
        let l = Live::new(1.0, "n".into(), vec![p("a", 0.1), p("b", 0.9), p("c", 0.5)]);
        let ids: Vec<&str> = l.predictions.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
    }
}
