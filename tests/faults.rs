//! Fault injection (issue 8): every fault must be survived with a counted error while the
//! other containers keep their predictions.
//!
//! - a cgroup removed between listing and reading (made deterministic with a FIFO that holds
//!   the sweep inside the first container while the test removes the second one);
//! - files that fail with real kernel errnos: a directory where a file should be (`EISDIR`),
//!   `/proc/self/mem` (`EIO`), `/proc/self/clear_refs` (`EINVAL`, a write-only procfs file),
//!   a device node without a driver (`ENXIO`, root only), a mode-000 file (`EACCES`, only
//!   when not root), and garbage text (parse error);
//! - a kubelet that accepts connections and never answers, or answers garbage, seen through
//!   the agent's own `Kube` (the `enrich_blocking` cases are in `tests/kube_http.rs`);
//! - a full disk under the recorder (a 64 KiB tmpfs; needs root).
//!
//! Tests that need a tool or privilege they do not have print why and return.
use crashwatch::agent::engine::{Engine, TickReport};
use crashwatch::cli::{PodSource, SourceArgs};
use crashwatch::collect::{CollectConfig, Collector};
use crashwatch::http::AppState;
use crashwatch::kube::{Kube, KubeConfig};
use crashwatch::metrics::Metrics;
use crashwatch::model::Model;
use crashwatch::predict::Predictor;
use crashwatch::record::Recorder;
use crashwatch::sample::{NodeSample, Qos, Sample};
use crashwatch::tree::{ContainerSpec, TreeWriter};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Duration;

const MIB: u64 = 1 << 20;

/// A steady container sample: `used` MiB of a 512 MiB limit.
fn sample(used_mib: u64) -> Sample {
    Sample {
        memory_usage_bytes: Some(used_mib * MIB),
        memory_working_set_bytes: Some(used_mib * MIB),
        memory_limit_bytes: Some(512 * MIB),
        memory_anon_bytes: Some(used_mib * MIB),
        memory_file_bytes: Some(0),
        cpu_usage_seconds_total: Some(12.5),
        cpu_limit_cores: Some(1.0),
        cpu_periods_total: Some(100),
        pids_current: Some(7),
        pids_limit: Some(1024),
        ..Sample::calm()
    }
}

/// A generated node tree with `n` burstable single-container pods, specs sorted the way the
/// collector reads them (by cgroup path).
fn tree(n: u32) -> (tempfile::TempDir, TreeWriter, Vec<ContainerSpec>) {
    let dir = tempfile::tempdir().unwrap();
    let mut w = TreeWriter::create(dir.path()).unwrap();
    w.write_node(&NodeSample::quiet("faults", 16 << 30, 8 << 30))
        .unwrap();
    let mut specs: Vec<ContainerSpec> = (0..n)
        .map(|i| ContainerSpec::generated(i, 0, Qos::Burstable))
        .collect();
    specs.sort_by_key(|s| s.rel());
    for (i, s) in specs.iter().enumerate() {
        w.write_container(s, &sample(100 + i as u64)).unwrap();
    }
    (dir, w, specs)
}

fn collector(w: &TreeWriter) -> Collector {
    Collector::new(CollectConfig {
        cgroup_root: w.cgroup_root().to_path_buf(),
        proc_root: w.proc_root().to_path_buf(),
        node_name: "faults".into(),
    })
}

fn source(kubelet_url: &str) -> SourceArgs {
    SourceArgs {
        cgroup_root: "/sys/fs/cgroup".into(),
        proc_root: "/proc".into(),
        node_name: Some("faults".into()),
        kubelet_url: Some(kubelet_url.into()),
        kubelet_insecure_tls: false,
        pod_source: PodSource::Kubelet,
        eviction_threshold: None,
    }
}

/// An agent engine on `w`'s tree, Kubernetes lookups as `kube_cfg` says.
async fn engine(w: &TreeWriter, kube_cfg: KubeConfig) -> (Engine, Arc<Metrics>, Arc<AppState>) {
    let model = Model::embedded();
    let metrics = Arc::new(Metrics::new(model.version()).unwrap());
    let kube = Kube::start(kube_cfg, &metrics.registry).await;
    let state = Arc::new(AppState::new(
        Arc::clone(&metrics),
        Arc::clone(&model),
        "faults",
    ));
    let predictor = Predictor::new(model, None);
    let e = Engine::new(collector(w), predictor, kube, Arc::clone(&state), "faults");
    (e, metrics, state)
}

async fn engine_off(w: &TreeWriter) -> (Engine, Arc<Metrics>, Arc<AppState>) {
    engine(w, KubeConfig::from_source(&source("off"), "faults", false)).await
}

/// The `/metrics` text.
fn metrics_text(m: &Metrics) -> String {
    let mut buf = Vec::new();
    m.encode(&mut buf).unwrap();
    String::from_utf8(buf).unwrap()
}

/// Value of the sample line `name{labels}` exactly (labels as Prometheus prints them).
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The ids `GET /predict` would list, sorted.
fn live_ids(state: &AppState) -> Vec<String> {
    let mut ids: Vec<String> = state
        .live()
        .predictions
        .iter()
        .map(|p| p.id.clone())
        .collect();
    ids.sort();
    ids
}

/// The id the agent gives a container without Kubernetes metadata: `/<pod uid>/<12 hex>`.
fn uid_id(s: &ContainerSpec) -> String {
    format!("/{}/{}", s.pod_uid, &s.container_id[..12])
}

fn mkfifo(path: &Path) -> bool {
    std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

/// Run one engine tick on another thread (it may block on a FIFO we control).
fn tick_in_thread(mut e: Engine) -> mpsc::Receiver<(Engine, TickReport)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = e.tick(None);
        let _ = tx.send((e, r));
    });
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cgroup_removed_between_listing_and_reading_is_counted_and_the_rest_predicted() {
    let (_dir, mut w, specs) = tree(3);
    let (first, second, third) = (&specs[0], &specs[1], &specs[2]);
    let gate = w.cgroup_root().join(first.rel()).join("memory.current");
    std::fs::remove_file(&gate).unwrap();
    if !mkfifo(&gate) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    let (e, metrics, state) = engine_off(&w).await;
    let done = tick_in_thread(e);
    // Opening the FIFO for writing returns once the sweep has opened it for reading: the
    // sweep has listed all three containers and is now inside the first one.
    let (opened_tx, opened_rx) = mpsc::channel();
    let gate_path = gate.clone();
    std::thread::spawn(move || {
        let _ = opened_tx.send(std::fs::OpenOptions::new().write(true).open(gate_path));
    });
    let mut fifo = opened_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the sweep never opened memory.current of the first container")
        .unwrap();
    w.remove_container(second).unwrap();
    fifo.write_all(format!("{}\n", 100 * MIB).as_bytes())
        .unwrap();
    drop(fifo);
    let (mut e, report) = done.recv_timeout(Duration::from_secs(30)).unwrap();

    assert_eq!(report.containers, 2);
    assert_eq!(live_ids(&state), vec![uid_id(first), uid_id(third)]);
    let text = metrics_text(&metrics);
    assert_eq!(
        metric(&text, r#"crashwatch_collect_errors_total{kind="vanished"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(metric(&text, "crashwatch_containers"), Some(2.0));
    let wset = format!(
        r#"crashwatch_memory_working_set_bytes{{container="{}",namespace="",pod="{}"}}"#,
        &first.container_id[..12],
        first.pod_uid
    );
    assert_eq!(metric(&text, &wset), Some((100 * MIB) as f64), "{text}");

    // The next sweep reads the FIFO-free tree normally; nothing more is counted.
    w.write_container(first, &sample(100)).unwrap();
    let report = e.tick(None);
    assert_eq!(report.containers, 2);
    let text = metrics_text(&metrics);
    assert_eq!(
        metric(&text, r#"crashwatch_collect_errors_total{kind="vanished"}"#),
        Some(1.0)
    );
    assert_eq!(
        text.matches(&second.pod_uid).count(),
        0,
        "stale series: {text}"
    );
}

/// Replace `dir/name` with a symlink to `target` (a real kernel file with a real errno).
fn link(dir: &Path, name: &str, target: &Path) {
    let p = dir.join(name);
    std::fs::remove_file(&p).unwrap();
    std::os::unix::fs::symlink(target, &p).unwrap();
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_files_are_counted_errors_and_the_container_keeps_its_other_fields() {
    if std::fs::read_to_string("/proc/self/clear_refs").is_ok()
        || std::fs::read("/proc/self/mem").is_ok()
    {
        eprintln!("skipped: /proc does not fail the way Linux does here");
        return;
    }
    let (_dir, w, specs) = tree(2);
    let bad = w.cgroup_root().join(specs[0].rel());
    // EISDIR: a directory where memory.stat should be.
    std::fs::remove_file(bad.join("memory.stat")).unwrap();
    std::fs::create_dir(bad.join("memory.stat")).unwrap();
    // EIO: reading /proc/<pid>/mem at offset 0 (never mapped).
    link(&bad, "cpu.stat", Path::new("/proc/self/mem"));
    // EINVAL: a procfs file without a read method.
    link(&bad, "cpu.pressure", Path::new("/proc/self/clear_refs"));
    // Parse error: garbage where numbers belong.
    std::fs::write(bad.join("memory.events"), "oom lots\n").unwrap();
    let mut io_errors = 3;
    let root = is_root();
    if root {
        // ENXIO: a character device whose major has no driver (240 is reserved for local use).
        std::fs::remove_file(bad.join("pids.current")).unwrap();
        let ok = std::process::Command::new("mknod")
            .arg(bad.join("pids.current"))
            .args(["c", "240", "0"])
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            io_errors += 1;
        } else {
            eprintln!("note: mknod failed; the ENXIO case is not exercised");
            std::fs::write(bad.join("pids.current"), "7\n").unwrap();
        }
    } else {
        // EACCES only bites when not root.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            bad.join("pids.current"),
            std::fs::Permissions::from_mode(0o000),
        )
        .unwrap();
        io_errors += 1;
        eprintln!("note: not root: EACCES exercised instead of ENXIO");
    }

    let mut c = collector(&w);
    let (snap, stats) = c.sweep();
    assert_eq!(stats.vanished, 0);
    assert_eq!(
        stats.errors.get("io").copied(),
        Some(io_errors),
        "{stats:?}"
    );
    assert_eq!(stats.errors.get("parse").copied(), Some(1), "{stats:?}");
    assert_eq!(snap.containers.len(), 2);
    let s = &snap.containers[0].sample;
    assert_eq!(snap.containers[0].meta.cgroup, specs[0].rel());
    // What could be read is there; what failed is unknown, not zero.
    assert_eq!(s.memory_usage_bytes, Some(100 * MIB));
    assert_eq!(s.memory_limit_bytes, Some(512 * MIB));
    assert_eq!(s.pids_limit, Some(1024));
    assert_eq!(s.memory_anon_bytes, None);
    assert_eq!(s.cpu_usage_seconds_total, None);
    assert_eq!(s.cpu_pressure_some_avg10, None);
    assert_eq!(s.oom_kills_total, None);
    if io_errors == 4 {
        assert_eq!(s.pids_current, None);
    }
    let healthy = &snap.containers[1].sample;
    assert_eq!(healthy.memory_anon_bytes, Some(101 * MIB));
    assert_eq!(healthy.cpu_usage_seconds_total, Some(12.5));

    // Through the agent: counted by kind in /metrics, both containers still predicted, and
    // the broken one keeps its working-set series (usage is readable).
    let (mut e, metrics, state) = engine_off(&w).await;
    for _ in 0..3 {
        assert_eq!(e.tick(None).containers, 2);
    }
    let text = metrics_text(&metrics);
    assert_eq!(
        metric(&text, r#"crashwatch_collect_errors_total{kind="io"}"#),
        Some(3.0 * io_errors as f64),
        "{text}"
    );
    assert_eq!(
        metric(&text, r#"crashwatch_collect_errors_total{kind="parse"}"#),
        Some(3.0)
    );
    assert_eq!(live_ids(&state), vec![uid_id(&specs[0]), uid_id(&specs[1])]);
    assert!(state
        .live()
        .predictions
        .iter()
        .all(|p| (0.0..=1.0).contains(&p.crash_risk)));
}

/// A TCP server that accepts and then either never answers or answers `reply` and closes.
fn bad_kubelet(reply: Option<&'static str>) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { continue };
            match reply {
                // Keep the connection open and silent.
                None => held.push(conn),
                Some(body) => {
                    let mut buf = [0u8; 4096];
                    let _ = std::io::Read::read(&mut conn, &mut buf);
                    let _ = write!(
                        conn,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            }
        }
    });
    format!("http://{addr}")
}

/// `crashwatch_kube_errors_total{source="kubelet"}`.
fn kubelet_errors(text: &str) -> f64 {
    metric(text, r#"crashwatch_kube_errors_total{source="kubelet"}"#).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_or_garbage_kubelet_is_counted_and_predictions_go_on_with_uid_labels() {
    for (what, reply) in [
        ("hung", None),
        ("garbage", Some("<html>502 Bad Gateway</html>")),
        (
            "wrong shape",
            Some(r#"{"kind":"PodList","items":[{"metadata":{"uid":7}}]}"#),
        ),
    ] {
        let (_dir, w, specs) = tree(3);
        let mut cfg = KubeConfig::from_source(&source(&bad_kubelet(reply)), "faults", false);
        cfg.refresh_interval = Duration::from_millis(200);
        cfg.connect_timeout = Duration::from_millis(300);
        cfg.request_timeout = Duration::from_millis(400);
        let (e, metrics, state) = engine(&w, cfg).await;
        // Sweeps go on while the kubelet misbehaves: each finishes (the watchdog bounds a
        // hang, it is not a speed check) and publishes every container under UID labels.
        let mut e = Some(e);
        let mut errors = 0.0;
        for _ in 0..40 {
            let rx = tick_in_thread(e.take().unwrap());
            let (back, report) = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("{what} kubelet: a sweep did not finish"));
            assert_eq!(report.containers, 3, "{what}");
            e = Some(back);
            errors = kubelet_errors(&metrics_text(&metrics));
            if errors >= 1.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(errors >= 1.0, "{what} kubelet: no error counted");
        let mut want: Vec<String> = specs.iter().map(uid_id).collect();
        want.sort();
        assert_eq!(live_ids(&state), want, "{what}");
    }
}

/// Unmounts on drop, also when the test fails.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorder_on_a_full_disk_counts_errors_and_predictions_go_on() {
    if !is_root() {
        eprintln!("skipped: mounting a tiny tmpfs needs root");
        return;
    }
    let disk = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(disk.path())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: cannot mount tmpfs here (no CAP_SYS_ADMIN?)");
        return;
    }
    let _mount = Mount(disk.path().to_path_buf());
    let (_dir, w, specs) = tree(20);
    let (e, metrics, state) = engine_off(&w).await;
    // The size cap is far above the disk: the disk fills first.
    let mut e = e.with_recorder(Recorder::new(disk.path(), 64 << 20).unwrap());
    let record_errors = |m: &Metrics| {
        metric(
            &metrics_text(m),
            r#"crashwatch_collect_errors_total{kind="record"}"#,
        )
    };
    let mut sweeps = 0;
    while record_errors(&metrics).is_none() && sweeps < 500 {
        assert_eq!(e.tick(Some(1000.0 + sweeps as f64)).containers, 20);
        sweeps += 1;
    }
    let first = record_errors(&metrics).unwrap_or(0.0);
    assert!(first >= 1.0, "64 KiB never filled after {sweeps} sweeps");
    // Sweeps go on with the disk full: every container still predicted, errors counted.
    for i in 0..5 {
        assert_eq!(e.tick(Some(2000.0 + i as f64)).containers, 20);
    }
    assert!(record_errors(&metrics).unwrap_or(0.0) >= first);
    let mut want: Vec<String> = specs.iter().map(uid_id).collect();
    want.sort();
    assert_eq!(live_ids(&state), want);
    assert_eq!(state.live().ts, 2004.0);
}
