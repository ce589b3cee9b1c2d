//! `crashwatch demo` as a real process, in accelerated time: the leak's alarm line comes
//! before its simulated OOM kill, the kill is scored a hit, the page-cache container never
//! alarms, and the HTTP API answers on the printed address while it runs.
mod common;
use common::http_get;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn demo_alarms_before_the_simulated_oom_kill() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args([
            "demo",
            "--duration",
            "20s",
            "--listen",
            "127.0.0.1:0",
            "--speed",
            "30",
            "--seed",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the demo");
    // Both streams into one channel, in arrival order, tagged.
    let (tx, rx) = mpsc::channel::<(char, String)>();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let t1 = tx.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = t1.send(('o', l));
        }
    });
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(('e', l));
        }
    });
    let mut lines: Vec<(char, String)> = Vec::new();
    let mut addr: Option<String> = None;
    let mut checked_api = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(l) => {
                if addr.is_none() {
                    if let Some(rest) = l.1.strip_prefix("  serving on http://") {
                        addr = rest.split_whitespace().next().map(str::to_string);
                    }
                }
                lines.push(l);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        // Once the leak is alarmed, the live API must say so.
        if !checked_api
            && lines
                .iter()
                .any(|(_, l)| l.contains("crash predicted for pod default/leaky-api"))
        {
            let a = addr.as_deref().expect("the demo prints its address first");
            let (status, body) = http_get(
                a,
                "/predict?namespace=default&pod=leaky-api-7d9f8b6c5d-x2k4q",
            );
            assert_eq!(status, 200);
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["node"], "demo-node");
            assert_eq!(
                v["predictions"][0]["pod"], "leaky-api-7d9f8b6c5d-x2k4q",
                "{body}"
            );
            assert_eq!(v["predictions"][0]["crash_predicted"], true, "{body}");
            let (status, m) = http_get(a, "/metrics");
            assert_eq!(status, 200);
            assert!(m.contains(
                "crashwatch_crash_predicted{cause=\"oom_kill\",container=\"api\",namespace=\"default\",pod=\"leaky-api-7d9f8b6c5d-x2k4q\"} 1\n"
            ), "{m}");
            assert!(m.contains(
                "crashwatch_memory_limit_bytes{container=\"api\",namespace=\"default\",pod=\"leaky-api-7d9f8b6c5d-x2k4q\"} 268435456\n"
            ));
            checked_api = true;
        }
        assert!(Instant::now() < deadline, "demo still running after 60 s");
    }
    let status = child.wait().unwrap();
    let all = lines
        .iter()
        .map(|(s, l)| format!("{s}| {l}"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(status.success(), "demo failed: {status:?}\n{all}");
    assert!(
        addr.as_deref().is_some_and(|a| !a.ends_with(":0")),
        "bound address not printed: {all}"
    );
    assert!(checked_api, "the leak was never alarmed:\n{all}");

    let pos = |needle: &str| lines.iter().position(|(_, l)| l.contains(needle));
    let alarm = pos("WARN crash predicted for pod default/leaky-api-7d9f8b6c5d-x2k4q container=api cause=oom_kill")
        .unwrap_or_else(|| panic!("no alarm line:\n{all}"));
    let kill = pos("the kernel OOM-killed default/leaky-api-7d9f8b6c5d-x2k4q/api")
        .unwrap_or_else(|| panic!("no kill:\n{all}"));
    let scored = pos("crash happened in pod default/leaky-api-7d9f8b6c5d-x2k4q container=api cause=oom_kill predicted=yes")
        .unwrap_or_else(|| panic!("no crash line:\n{all}"));
    assert!(
        alarm < scored && alarm < kill,
        "alarm after the crash:\n{all}"
    );
    assert!(
        lines[scored].1.ends_with("outcome=hit"),
        "{}",
        lines[scored].1
    );
    assert!(
        pos("the kubelet restarted default/leaky-api-7d9f8b6c5d-x2k4q/api (restart #1)").is_some(),
        "{all}"
    );
    assert!(
        pos("crash predicted for pod default/log-archiver").is_none(),
        "page cache alarmed:\n{all}"
    );
    assert!(
        pos("crash predicted for pod shop/web").is_none(),
        "steady container alarmed:\n{all}"
    );
    let last = &lines.iter().rev().find(|(s, _)| *s == 'o').unwrap().1;
    assert!(
        last.contains("self-evaluation hit=1 late=0 miss=0"),
        "{last}"
    );
}
