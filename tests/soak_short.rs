//! A short, in-process soak for the normal test run (the long one is `scripts/soak`): the
//! agent's engine sweeps a generated tree while pods churn between sweeps, and a client
//! thread keeps `POST /predict`, `GET /predict` and `GET /metrics` going over real sockets.
//!
//! Asserts after every sweep that `/metrics` and `GET /predict` list exactly the live
//! containers (no stale series), and at the end that no request failed.
use crashwatch::agent::engine::Engine;
use crashwatch::cli::{PodSource, SourceArgs};
use crashwatch::collect::{CollectConfig, Collector};
use crashwatch::http::{self, AppState, ServerConfig};
use crashwatch::kube::{Kube, KubeConfig};
use crashwatch::metrics::Metrics;
use crashwatch::model::Model;
use crashwatch::predict::Predictor;
use crashwatch::sample::{NodeSample, Qos, Sample};
use crashwatch::tree::{ContainerSpec, TreeWriter};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

const MIB: u64 = 1 << 20;
const LIVE: u32 = 50;
const SWEEPS: u32 = 30;
const CHURN_PER_SWEEP: u32 = 20;

fn sample(pod: u32, t: u32) -> Sample {
    let limit = 256 * MIB;
    // Every fifth pod leaks 1 MiB per sweep, the rest hold steady: both kinds churn.
    let anon = 60 * MIB + if pod % 5 == 0 { t as u64 * MIB } else { 0 };
    Sample {
        memory_usage_bytes: Some(anon + 10 * MIB),
        memory_working_set_bytes: Some(anon + 5 * MIB),
        memory_limit_bytes: Some(limit),
        memory_anon_bytes: Some(anon),
        memory_file_bytes: Some(10 * MIB),
        cpu_usage_seconds_total: Some(t as f64 * 0.1),
        cpu_periods_total: Some(t as u64 * 10),
        pids_current: Some(9),
        pids_limit: Some(1024),
        ..Sample::calm()
    }
}

fn spec(pod: u32) -> ContainerSpec {
    let qos = [Qos::Burstable, Qos::Guaranteed, Qos::Besteffort][(pod % 3) as usize];
    ContainerSpec::generated(pod, 0, qos)
}

/// One request on a fresh connection; the status code (0 on a socket error).
fn request(addr: std::net::SocketAddr, head: &str, body: &str) -> u16 {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let req = format!(
        "{head} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return 0;
    }
    let mut out = Vec::new();
    if s.read_to_end(&mut out).is_err() {
        return 0;
    }
    String::from_utf8_lossy(&out)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churning_pods_under_http_load_leave_no_stale_series_and_no_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = TreeWriter::create(dir.path()).unwrap();
    w.write_node(&NodeSample::quiet("soak", 16 << 30, 8 << 30))
        .unwrap();
    let mut live: VecDeque<u32> = (0..LIVE).collect();
    for &p in &live {
        w.write_container(&spec(p), &sample(p, 0)).unwrap();
    }

    let model = Model::embedded();
    let metrics = Arc::new(Metrics::new(model.version()).unwrap());
    let src = SourceArgs {
        cgroup_root: w.cgroup_root().to_path_buf(),
        proc_root: w.proc_root().to_path_buf(),
        node_name: Some("soak".into()),
        kubelet_url: Some("off".into()),
        kubelet_insecure_tls: false,
        pod_source: PodSource::Auto,
        eviction_threshold: None,
    };
    let kube = Kube::start(
        KubeConfig::from_source(&src, "soak", false),
        &metrics.registry,
    )
    .await;
    let state = Arc::new(AppState::new(
        Arc::clone(&metrics),
        Arc::clone(&model),
        "soak",
    ));
    let listener = http::bind("127.0.0.1:0").await.unwrap();
    let server = http::spawn(listener, Arc::clone(&state), ServerConfig::default()).unwrap();
    let addr = server.addr;
    let collector = Collector::new(CollectConfig {
        cgroup_root: src.cgroup_root.clone(),
        proc_root: src.proc_root.clone(),
        node_name: "soak".into(),
    });
    let mut engine = Engine::new(
        collector,
        Predictor::new(Arc::clone(&model), None),
        kube,
        Arc::clone(&state),
        "soak",
    );

    let stop = Arc::new(AtomicBool::new(false));
    let (requests, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let client = {
        let (stop, requests, failures) = (stop.clone(), requests.clone(), failures.clone());
        std::thread::spawn(move || {
            let body = r#"{"memory_usage_bytes":200000000,"memory_limit_bytes":268435456,"memory_anon_bytes":190000000}"#;
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let status = match i % 3 {
                    0 => request(addr, "POST /predict", body),
                    1 => request(addr, "GET /predict?min_risk=0", ""),
                    _ => request(addr, "GET /metrics", ""),
                };
                requests.fetch_add(1, Ordering::Relaxed);
                if status != 200 {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
                // Steady, not flat-out: the point is concurrency with the sweeps, and the
                // test machine is shared.
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };

    let mut next = LIVE;
    let mut created = 0;
    for t in 1..=SWEEPS {
        for _ in 0..CHURN_PER_SWEEP {
            let old = live.pop_front().unwrap();
            w.remove_pod(&spec(old)).unwrap();
            w.write_container(&spec(next), &sample(next, t)).unwrap();
            live.push_back(next);
            next += 1;
            created += 1;
        }
        for &p in live.iter().filter(|p| *p % 5 == 0) {
            w.write_container(&spec(p), &sample(p, t)).unwrap();
        }
        let report = tokio::task::block_in_place(|| engine.tick(Some(1000.0 + t as f64)));
        assert_eq!(report.containers, LIVE as usize, "sweep {t}");
        let mut buf = Vec::new();
        metrics.encode(&mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let series = |name: &str| {
            text.lines()
                .filter(|l| l.starts_with(&format!("{name}{{")))
                .count()
        };
        assert_eq!(series("crashwatch_crash_risk"), LIVE as usize, "sweep {t}");
        assert_eq!(
            series("crashwatch_memory_working_set_bytes"),
            LIVE as usize,
            "sweep {t}"
        );
        assert_eq!(metrics.published_containers(), LIVE as usize);
        // No series of a removed pod survives.
        let gone = crashwatch::tree::pod_uid_for(live[0] - 1);
        assert!(!text.contains(&gone), "stale series of {gone} at sweep {t}");
        let mut ids: Vec<String> = state
            .live()
            .predictions
            .iter()
            .map(|p| p.pod.clone())
            .collect();
        ids.sort();
        let mut want: Vec<String> = live
            .iter()
            .map(|&p| crashwatch::tree::pod_uid_for(p))
            .collect();
        want.sort();
        assert_eq!(ids, want, "sweep {t}");
    }
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();
    server.shutdown().await;
    assert_eq!(created, SWEEPS * CHURN_PER_SWEEP);
    let (n, bad) = (
        requests.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed),
    );
    eprintln!("soak_short: {created} containers churned over {SWEEPS} sweeps, {n} requests");
    assert!(n >= 10, "the client barely ran: {n} requests");
    assert_eq!(bad, 0, "{bad} of {n} requests failed");
}
