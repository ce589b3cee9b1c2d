//! `crashwatch run` as a real process: binds `--listen 127.0.0.1:0` and logs the bound address,
//! becomes ready after its first sweep, serves over TCP, and exits 0 on SIGTERM.
mod common;
use common::http_get;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running agent whose stderr lines are forwarded to a channel.
struct Agent {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Agent {
    fn spawn(args: &[&str]) -> Agent {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start crashwatch");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Agent {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Wait for a stderr line containing `needle`; returns it.
    fn wait_line(&mut self, needle: &str, timeout: Duration) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no line with {needle:?} within {timeout:?}; got:\n{}",
            self.seen.join("\n")
        );
    }

    fn addr(&mut self) -> SocketAddr {
        let line = self.wait_line("listening on ", Duration::from_secs(20));
        let rest = &line[line.find("listening on ").unwrap() + "listening on ".len()..];
        rest.split_whitespace()
            .next()
            .unwrap()
            .parse()
            .expect("address in the listening line")
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "agent did not stop within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn run_binds_port_zero_gets_ready_and_stops_on_sigterm() {
    let tree = tempfile::tempdir().unwrap();
    let root = tree.path().to_str().unwrap();
    let mut agent = Agent::spawn(&[
        "run",
        "--kubelet-url",
        "off",
        "--events",
        "off",
        "--cgroup-root",
        root,
        "--proc-root",
        root,
        "--node-name",
        "test-node",
        "--listen",
        "127.0.0.1:0",
        "--interval",
        "200ms",
    ]);
    let addr = agent.addr();
    assert_ne!(addr.port(), 0, "the log must show the bound port, not 0");
    let deadline = Instant::now() + Duration::from_secs(10);
    while http_get(addr, "/readyz").0 != 200 {
        assert!(Instant::now() < deadline, "not ready within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        http_get(addr, "/healthz"),
        (200, r#"{"status":"ok"}"#.to_string())
    );
    let (status, body) = http_get(addr, "/predict");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["node"], "test-node");
    let (status, metrics) = http_get(addr, "/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("crashwatch_build_info{"), "{metrics}");
    let st = agent.terminate();
    assert!(st.success(), "exit status {st:?}");
    agent.wait_line("SIGTERM received", Duration::from_secs(2));
    agent.wait_line("stopped", Duration::from_secs(2));
    assert!(
        TcpStream::connect(addr).is_err(),
        "still listening after shutdown"
    );
}

#[test]
fn run_refuses_a_bad_threshold_and_an_unusable_listen_address() {
    let out = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args([
            "run",
            "--kubelet-url",
            "off",
            "--threshold",
            "1.5",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threshold must be within 0..1"));
    let out = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args(["run", "--kubelet-url", "off", "--listen", "not-an-address"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("binding not-an-address"));
}

/// A leaking container and a steady one on a v2 tree written with `TreeWriter` while the
/// real agent sweeps it every 200 ms (wall-clock sample times): the leak is alarmed before
/// its OOM kill, the kill is scored, the steady container never alarms, and a container that
/// vanishes loses every series.
#[test]
fn run_on_a_written_tree_alarms_before_the_oom_kill() {
    use crashwatch::sample::{NodeSample, Qos, Sample};
    use crashwatch::tree::{ContainerSpec, TreeWriter};
    const MIB: u64 = 1 << 20;
    const LIMIT: u64 = 256 * MIB;

    let dir = tempfile::tempdir().unwrap();
    let mut w = TreeWriter::create(dir.path()).unwrap();
    w.write_node(&NodeSample::quiet("e2e-node", 16 << 30, 12 << 30))
        .unwrap();
    let leak = ContainerSpec::generated(1, 0, Qos::Burstable);
    let steady = ContainerSpec::generated(2, 0, Qos::Guaranteed);
    let sample = |ws: u64, kills: u64| Sample {
        memory_usage_bytes: Some(ws + 2 * MIB),
        memory_working_set_bytes: Some(ws),
        memory_limit_bytes: Some(LIMIT),
        memory_anon_bytes: Some(ws - 4 * MIB),
        memory_file_bytes: Some(6 * MIB),
        oom_events_total: Some(kills),
        oom_kills_total: Some(kills),
        pod_oom_kills_total: Some(kills),
        cpu_usage_seconds_total: Some(10.0),
        pids_current: Some(8),
        ..Sample::default()
    };
    w.write_container(&leak, &sample(96 * MIB, 0)).unwrap();
    w.write_container(&steady, &sample(80 * MIB, 0)).unwrap();

    let cg = w.cgroup_root().to_str().unwrap().to_string();
    let pr = w.proc_root().to_str().unwrap().to_string();
    let mut agent = Agent::spawn(&[
        "run",
        "--kubelet-url",
        "off",
        "--events",
        "off",
        "--cgroup-root",
        &cg,
        "--proc-root",
        &pr,
        "--listen",
        "127.0.0.1:0",
        "--interval",
        "200ms",
    ]);
    let addr = agent.addr();
    // Labels without a kubelet: namespace "", pod = pod UID, container = 12 hex of the ID.
    let leak_pod = leak.pod_uid.clone();
    let leak_c = leak.container_id[..12].to_string();
    let steady_pod = steady.pod_uid.clone();

    // Leak 0.8 MiB per 250 ms (3.2 MiB/s): from 96 MiB to the 256 MiB limit in 50 s; the
    // predictor needs 30 s of history for a slope, so the alarm comes ~35 s in.
    let started = Instant::now();
    let mut ws = 96 * MIB;
    let mut alarm_line = None;
    while ws < LIMIT - 8 * MIB {
        std::thread::sleep(Duration::from_millis(250));
        ws += 4 * MIB / 5;
        w.write_container(&leak, &sample(ws, 0)).unwrap();
        w.write_container(&steady, &sample(80 * MIB, 0)).unwrap();
        if alarm_line.is_none() {
            while let Ok(l) = agent.lines.try_recv() {
                agent.seen.push(l);
            }
            alarm_line = agent
                .seen
                .iter()
                .find(|l| l.contains("crash predicted for pod"))
                .cloned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "leak loop ran too long"
        );
    }
    let alarm = match alarm_line {
        Some(l) => l,
        None => agent.wait_line("crash predicted for pod", Duration::from_secs(5)),
    };
    assert!(
        alarm.contains(&format!(
            " WARN crash predicted for pod /{leak_pod} container={leak_c} cause=oom_kill risk="
        )),
        "{alarm}"
    );
    assert!(alarm.contains(" time_to_oom="), "{alarm}");
    let (_, m) = http_get(addr, "/metrics");
    let labels = format!("container=\"{leak_c}\",namespace=\"\",pod=\"{leak_pod}\"");
    assert_line(
        &m,
        &format!("crashwatch_crash_predicted{{cause=\"oom_kill\",{labels}}} 1\n"),
    );
    assert_line(
        &m,
        &format!("crashwatch_memory_limit_bytes{{{labels}}} 268435456\n"),
    );
    assert!(
        m.contains(&format!(
            "crashwatch_memory_working_set_bytes{{{labels}}} {ws}\n"
        )) || {
            // A sweep may have run between the last write and the scrape only if it read the
            // same file; the value is one we wrote, at most one step behind.
            m.contains(&format!(
                "crashwatch_memory_working_set_bytes{{{labels}}} {}\n",
                ws - 4 * MIB / 5
            ))
        },
        "{m}"
    );
    let (_, live) = http_get(addr, "/predict?min_risk=0.5");
    let v: serde_json::Value = serde_json::from_str(&live).unwrap();
    assert_eq!(v["predictions"][0]["pod"], leak_pod.as_str(), "{live}");
    assert_eq!(v["predictions"][0]["crash_predicted"], true);

    // The kernel kills it: oom_kill 0 → 1 on the still-present cgroup, memory freed.
    w.write_container(&leak, &sample(8 * MIB, 1)).unwrap();
    let crash = agent.wait_line("crash happened in pod", Duration::from_secs(5));
    assert!(
        crash.contains(&format!("crash happened in pod /{leak_pod} container={leak_c} cause=oom_kill predicted=yes lead_time=")),
        "{crash}"
    );
    let lead: f64 = crash
        .split("lead_time=")
        .nth(1)
        .and_then(|r| r.split('s').next())
        .and_then(|n| n.parse().ok())
        .expect("lead_time in the crash line");
    // The log rounds the lead to whole seconds: at "30s" the true lead may be 29.6 s (late)
    // or 30.2 s (hit); away from the boundary the verdict must follow the lead.
    let hit = if (lead - 30.0).abs() < 1.0 {
        crash.ends_with("outcome=hit")
    } else {
        lead > 30.0
    };
    let (outcome, other) = if hit {
        ("hit", "late")
    } else {
        ("late", "hit")
    };
    assert!(
        crash.ends_with(&format!("outcome={outcome}")),
        "lead {lead}s: {crash}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let (_, m) = http_get(addr, "/metrics");
    assert_line(
        &m,
        &format!("crashwatch_predictions_total{{outcome=\"{outcome}\"}} 1\n"),
    );
    assert_line(
        &m,
        &format!("crashwatch_predictions_total{{outcome=\"{other}\"}} 0\n"),
    );
    assert!(
        m.contains("crashwatch_predictions_total{outcome=\"miss\"} 0\n"),
        "{m}"
    );
    assert!(
        m.contains("crashwatch_predictions_total{outcome=\"false_alarm\"} 0\n"),
        "{m}"
    );
    assert!(
        !agent
            .seen
            .iter()
            .any(|l| l.contains(&steady_pod) && l.contains("crash predicted")),
        "steady container alarmed"
    );

    // The runtime removes the container's cgroup: every series of it goes.
    w.remove_container(&leak).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let (_, m) = http_get(addr, "/metrics");
    assert!(
        !m.contains(&leak_pod),
        "series of the vanished container left: {m}"
    );
    assert!(m.contains("crashwatch_containers 1\n"), "{m}");
    assert!(m.contains(&format!(
        "crashwatch_crash_risk{{container=\"{}\",namespace=\"\",pod=\"{steady_pod}\"}}",
        &steady.container_id[..12]
    )));
    assert!(agent.terminate().success());
}

/// `text` (a /metrics page) holds `line`, newline included; the message shows the page.
fn assert_line(text: &str, line: &str) {
    assert!(text.contains(line), "no {line:?} in:\n{text}");
}
