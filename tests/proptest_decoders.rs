//! Property tests over the decoders that take outside input (issue 8): the kubelet's `/pods`
//! and `/stats/summary` bodies, and the `POST /predict` body, both as a function and over a
//! real socket against the agent's HTTP server. The kernel-file parsers have their own
//! property tests next to them (`src/cgroup`).
//!
//! Properties: never a panic; garbage is an error that names its source (`/pods: …`,
//! `field "…": …`); well-formed input decodes to exactly the values that went in.
use crashwatch::http::{self, parse_sample, AppState, ServerConfig};
use crashwatch::kube::kubelet::{parse_pods, parse_summary_available};
use crashwatch::kube::pods::{Lookup, PodIndex};
use crashwatch::metrics::Metrics;
use crashwatch::model::Model;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Instant;

/// Numeric sample fields: name and whether the schema wants an integer count.
const FIELDS: &[(&str, bool)] = &[
    ("memory_usage_bytes", true),
    ("memory_working_set_bytes", true),
    ("memory_limit_bytes", true),
    ("memory_anon_bytes", true),
    ("memory_file_bytes", true),
    ("memory_shmem_bytes", true),
    ("memory_slab_reclaimable_bytes", true),
    ("memory_swap_bytes", true),
    ("memory_swap_limit_bytes", true),
    ("oom_events_total", true),
    ("oom_kills_total", true),
    ("memory_high_events_total", true),
    ("memory_max_events_total", true),
    ("memory_pressure_some_avg10", false),
    ("memory_pressure_full_avg10", false),
    ("cpu_usage_seconds_total", false),
    ("cpu_limit_cores", false),
    ("cpu_throttled_seconds_total", false),
    ("cpu_throttled_periods_total", true),
    ("cpu_periods_total", true),
    ("cpu_pressure_some_avg10", false),
    ("pids_current", true),
    ("pids_limit", true),
    ("restarts_total", true),
];

/// A JSON value for one field, with the value it must decode to (`None`: must be rejected).
#[derive(Debug, Clone)]
struct FieldValue {
    text: String,
    want: Option<Value>,
}

/// Limits: a value ≥ 2^62 (v1's "unlimited") and the string `max` (v2's) decode to null.
const LIMITS: &[&str] = &[
    "memory_limit_bytes",
    "memory_swap_limit_bytes",
    "pids_limit",
];

/// What a limit field must decode to instead of `f.want`.
fn as_limit(f: FieldValue) -> FieldValue {
    let want = match &f.want {
        Some(v) if v.as_u64().is_some_and(|n| n >= 1 << 62) => Some(Value::Null),
        None if f.text == "\"max\"" => Some(Value::Null),
        w => w.clone(),
    };
    FieldValue { want, ..f }
}

fn field_value(integer: bool) -> impl Strategy<Value = FieldValue> {
    let valid_int = any::<u64>().prop_map(|v| FieldValue {
        text: v.to_string(),
        want: Some(json!(v)),
    });
    // An integer-valued float (a Python trace writer's `1073741824.0`).
    let valid_float_int = (0u64..1 << 52).prop_map(|v| FieldValue {
        text: format!("{v}.0"),
        want: Some(json!(v)),
    });
    let valid_real = (0.0f64..1e12).prop_map(|v| FieldValue {
        text: format!("{v:?}"),
        want: Some(json!(v)),
    });
    let null = Just(FieldValue {
        text: "null".into(),
        want: Some(Value::Null),
    });
    let negative = (1u64..1 << 40).prop_map(|v| FieldValue {
        text: format!("-{v}"),
        want: None,
    });
    let string = "[a-z0-9 ]{0,8}".prop_map(|s| FieldValue {
        text: format!("{s:?}"),
        want: None,
    });
    let other =
        prop_oneof![Just("true"), Just("[]"), Just("{}"), Just("[1]")].prop_map(|s| FieldValue {
            text: s.to_string(),
            want: None,
        });
    if integer {
        let fractional = (0u32..100_000).prop_map(|v| FieldValue {
            text: format!("{v}.5"),
            want: None,
        });
        prop_oneof![
            4 => valid_int,
            2 => valid_float_int,
            1 => null,
            1 => negative,
            1 => fractional,
            1 => string,
            1 => other,
        ]
        .boxed()
    } else {
        prop_oneof![
            4 => valid_real,
            2 => valid_int.prop_map(|f| {
                let n = f.want.as_ref().and_then(Value::as_u64).unwrap_or(0);
                FieldValue { text: f.text, want: Some(json!(n as f64)) }
            }),
            1 => null,
            1 => negative,
            1 => string,
            1 => other,
        ]
        .boxed()
    }
}

/// A sample object with a random subset of numeric fields (each once).
fn sample_object() -> impl Strategy<Value = Vec<(&'static str, FieldValue)>> {
    let per_field: Vec<_> = FIELDS
        .iter()
        .map(|&(name, integer)| {
            let limit = LIMITS.contains(&name);
            let value = if limit {
                prop_oneof![9 => field_value(integer), 1 => Just(FieldValue {
                    text: "\"max\"".into(),
                    want: None,
                })]
                .prop_map(as_limit)
                .boxed()
            } else {
                field_value(integer).boxed()
            };
            proptest::option::weighted(0.4, value).prop_map(move |v| (name, v))
        })
        .collect();
    per_field.prop_map(|v| {
        v.into_iter()
            .filter_map(|(n, f)| f.map(|f| (n, f)))
            .collect()
    })
}

fn object_text(fields: &[(&'static str, FieldValue)]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|(n, f)| format!("{n:?}:{}", f.text))
        .collect();
    format!("{{\"ts\":1000.0,\"id\":\"ns/pod/c\",{}}}", parts.join(",")).replace(",}", "}")
}

/// Check `parse_sample` against what the generated object should decode to.
fn check_sample(fields: &[(&'static str, FieldValue)]) -> Result<(), TestCaseError> {
    let text = object_text(fields);
    let bad: Vec<&str> = fields
        .iter()
        .filter(|(_, f)| f.want.is_none())
        .map(|(n, _)| *n)
        .collect();
    match parse_sample(text.as_bytes()) {
        Ok(s) => {
            prop_assert!(bad.is_empty(), "accepted bad fields {bad:?}: {text}");
            let back = serde_json::to_value(&s).unwrap();
            for (n, f) in fields {
                let (got, want) = (&back[*n], f.want.as_ref().unwrap());
                match (got.as_f64(), want.as_f64(), want.is_f64()) {
                    // serde_json's default float parser (no `float_roundtrip` feature) may be
                    // one ULP off the shortest representation it was given; 2 ULP is allowed.
                    (Some(g), Some(w), true) => prop_assert!(
                        (g - w).abs() <= 2.0 * f64::EPSILON * w.abs(),
                        "{} = {} decoded as {} in {}",
                        n,
                        w,
                        g,
                        text
                    ),
                    _ => prop_assert_eq!(got, want, "{} in {}", n, text),
                }
            }
        }
        Err(msg) => {
            prop_assert!(!bad.is_empty(), "rejected a good sample: {msg}: {text}");
            prop_assert!(
                bad.iter().any(|n| msg.contains(&format!("field {n:?}"))),
                "error does not name a bad field {bad:?}: {msg}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(Config::with_cases(512))]

    #[test]
    fn predict_body_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Err(msg) = parse_sample(&body) {
            prop_assert!(!msg.is_empty());
        }
    }

    #[test]
    fn predict_body_near_json_never_panics(body in "[{}\\[\\]\":,0-9a-z_. -]{0,120}") {
        if let Err(msg) = parse_sample(body.as_bytes()) {
            prop_assert!(!msg.is_empty());
        }
    }

    #[test]
    fn predict_body_fields_decode_exactly_or_are_named(fields in sample_object()) {
        check_sample(&fields)?;
    }

    #[test]
    fn kubelet_pods_garbage_is_a_named_error(body in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Err(e) = parse_pods(&body) {
            prop_assert_eq!(e.kind(), "garbage");
            prop_assert!(e.to_string().contains("/pods: "), "{}", e);
        }
    }

    #[test]
    fn kubelet_summary_never_panics_and_reads_exact_bytes(
        body in prop::collection::vec(any::<u8>(), 0..200),
        avail in any::<u64>(),
    ) {
        let _ = parse_summary_available(&body);
        let good = format!(r#"{{"node":{{"nodeName":"n","memory":{{"availableBytes":{avail},"workingSetBytes":1}}}},"pods":[]}}"#);
        prop_assert_eq!(parse_summary_available(good.as_bytes()).unwrap().node, Some(avail));
    }

    #[test]
    fn kubelet_pod_lists_decode_and_index_exactly(pods in prop::collection::vec(pod(), 0..6)) {
        check_pods(&pods)?;
    }
}

/// One generated container status: name, raw container ID, restart count, last reason.
#[derive(Debug, Clone)]
struct GenContainer {
    name: String,
    id: Value,
    restarts: Value,
    reason: Option<String>,
}

/// One generated pod: uid (maybe missing or of a wrong type), namespace, name, QoS, containers.
#[derive(Debug, Clone)]
struct GenPod {
    uid: Value,
    namespace: Option<String>,
    name: Option<String>,
    qos: Value,
    containers: Vec<GenContainer>,
}

fn container() -> impl Strategy<Value = GenContainer> {
    let id = prop_oneof![
        4 => ("[0-9a-f]{64}", prop_oneof![Just("containerd://"), Just("cri-o://"), Just("docker://")])
            .prop_map(|(h, p)| json!(format!("{p}{h}"))),
        1 => "[0-9A-F]{64}".prop_map(|h| json!(format!("containerd://{h}"))),
        1 => Just(json!("")),
        1 => "[ -~]{0,20}".prop_map(|s| json!(s)),
        1 => Just(Value::Null),
        1 => any::<i64>().prop_map(|v| json!(v)),
    ];
    let restarts = prop_oneof![
        4 => (0i64..1000).prop_map(|v| json!(v)),
        1 => any::<i64>().prop_map(|v| json!(v)),
        1 => Just(json!("3")),
    ];
    let reason = proptest::option::of(prop_oneof![
        Just("OOMKilled".to_string()),
        Just("Error".to_string()),
        "[ -~]{0,12}",
    ]);
    ("[a-z][a-z0-9-]{0,10}", id, restarts, reason).prop_map(|(name, id, restarts, reason)| {
        GenContainer {
            name,
            id,
            restarts,
            reason,
        }
    })
}

fn pod() -> impl Strategy<Value = GenPod> {
    let uid = prop_oneof![
        6 => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".prop_map(|u| json!(u)),
        1 => Just(json!("")),
        1 => Just(Value::Null),
        1 => Just(json!(7)),
    ];
    let qos = prop_oneof![
        Just(json!("Guaranteed")),
        Just(json!("Burstable")),
        Just(json!("BestEffort")),
        Just(json!("weird")),
        Just(Value::Null),
    ];
    (
        uid,
        proptest::option::of("[a-z][a-z0-9-]{0,10}"),
        proptest::option::of("[a-z][a-z0-9-]{0,12}"),
        qos,
        prop::collection::vec(container(), 0..4),
    )
        .prop_map(|(uid, namespace, name, qos, containers)| GenPod {
            uid,
            namespace,
            name,
            qos,
            containers,
        })
}

fn pod_json(p: &GenPod) -> Value {
    let statuses: Vec<Value> = p
        .containers
        .iter()
        .map(|c| {
            let mut st = json!({
                "name": c.name,
                "containerID": c.id,
                "restartCount": c.restarts,
                "ready": true,
                "image": "busybox",
                "imageID": "",
            });
            if let Some(r) = &c.reason {
                st["lastState"] = json!({"terminated": {"reason": r, "exitCode": 137}});
            }
            st
        })
        .collect();
    json!({
        "metadata": {"uid": p.uid, "namespace": p.namespace, "name": p.name},
        "status": {"qosClass": p.qos, "containerStatuses": statuses},
    })
}

fn check_pods(pods: &[GenPod]) -> Result<(), TestCaseError> {
    let items: Vec<Value> = pods.iter().map(pod_json).collect();
    let body = serde_json::to_vec(&json!({"kind": "PodList", "apiVersion": "v1", "items": items}))
        .unwrap();
    let decoded = match parse_pods(&body) {
        Ok(d) => d,
        Err(e) => {
            // Only wrong JSON types may be refused (uid 7, restartCount "3" or beyond i32,
            // a numeric containerID).
            let typed_wrong = pods.iter().any(|p| {
                p.uid.is_number()
                    || p.containers.iter().any(|c| {
                        c.id.is_number()
                            || c.restarts.is_string()
                            || c.restarts
                                .as_i64()
                                .is_some_and(|r| i32::try_from(r).is_err())
                    })
            });
            prop_assert!(typed_wrong, "a well-typed PodList was refused: {e}");
            prop_assert!(e.to_string().contains("/pods: "), "{}", e);
            return Ok(());
        }
    };
    prop_assert_eq!(decoded.len(), pods.len());
    let index = PodIndex::from_pods(&decoded, Instant::now(), "kubelet");
    // Every container with a usable UID and a hex runtime ID is found by its bare,
    // lower-cased ID with the names that went in (the last pod wins a duplicated ID).
    let mut expect = std::collections::HashMap::new();
    for p in pods {
        let Some(uid) = p.uid.as_str().filter(|u| !u.is_empty()) else {
            continue;
        };
        for c in &p.containers {
            let Some(raw) = c.id.as_str() else { continue };
            let hex = raw.rsplit_once("://").map_or(raw, |(_, h)| h).trim();
            if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let name = p.name.clone().unwrap_or_else(|| uid.to_string());
            expect.insert(
                hex.to_ascii_lowercase(),
                (
                    p.namespace.clone().unwrap_or_default(),
                    name,
                    c.name.clone(),
                ),
            );
        }
    }
    for (id, (ns, pod, container)) in &expect {
        match index.lookup(id, None) {
            Lookup::Known(info) => {
                prop_assert_eq!(&info.namespace, ns);
                prop_assert_eq!(&info.pod, pod);
                prop_assert_eq!(&info.container, container);
            }
            _ => prop_assert!(false, "container {id} not indexed"),
        }
    }
    Ok(())
}

/// One HTTP/1.1 request on a fresh connection; returns (status, body).
fn post(addr: std::net::SocketAddr, content_type: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (and close) before reading a refused body: ignore write errors.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = match out.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => out[i + 4..].to_vec(),
        None => Vec::new(),
    };
    (status, body)
}

#[test]
fn predict_over_a_real_socket_answers_200_or_a_json_4xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let model = Model::embedded();
    let metrics = Arc::new(Metrics::new(model.version()).unwrap());
    let state = Arc::new(AppState::new(metrics, Arc::clone(&model), "prop"));
    let handle = rt.block_on(async {
        let listener = http::bind("127.0.0.1:0").await.unwrap();
        http::spawn(listener, state, ServerConfig::default()).unwrap()
    });
    let addr = handle.addr;
    let bodies = prop_oneof![
        sample_object().prop_map(|f| object_text(&f).into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
        "[{}\\[\\]\":,0-9a-z_. -]{0,80}".prop_map(String::into_bytes),
    ];
    let content_type = prop_oneof![
        8 => Just("application/json"),
        1 => Just("text/plain"),
        1 => Just("application/merge-patch+json; charset=utf-8"),
    ];
    let mut runner = TestRunner::new(Config::with_cases(96));
    runner
        .run(&(bodies, content_type), |(body, ct)| {
            let (status, reply) = post(addr, ct, &body);
            let v: Value = serde_json::from_slice(&reply).map_err(|e| {
                TestCaseError::fail(format!("status {status}, reply not JSON ({e}): {reply:?}"))
            })?;
            match status {
                200 => {
                    let risk = v["crash_risk"].as_f64().unwrap_or(-1.0);
                    prop_assert!((0.0..=1.0).contains(&risk), "{v}");
                    prop_assert!(v["model_version"].is_string(), "{v}");
                }
                400..=499 => {
                    prop_assert!(v["error"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
                }
                other => prop_assert!(false, "status {other}: {v}"),
            }
            Ok(())
        })
        .unwrap();
    // Still serving after all that.
    let (status, _) = post(
        addr,
        "application/json",
        br#"{"cpu_usage_cores":0.5,"memory_usage_bytes":1024}"#,
    );
    assert_eq!(status, 200);
    rt.block_on(handle.shutdown());
}
