//! `crashwatch run` as a real process: binds `--listen 127.0.0.1:0` and logs the bound address,
//! becomes ready after its first sweep, serves over TCP, and exits 0 on SIGTERM.
use std::io::{BufRead, BufReader, Read, Write};
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

/// Minimal HTTP/1.1 GET over a real socket; returns (status, body).
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
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
