//! `crashwatch replay` end to end through the real binary: output shape, one line per
//! container sorted by id, label lines never read (a bogus cause does not matter), broken
//! lines skipped, a field that does not read set aside without losing its sample, samples out
//! of order put back in time order, a byte-order mark, CRLF and bytes that are not UTF-8 read
//! past, a file of `collect` snapshots read as its containers' samples.
use std::io::Write;
use std::process::Command;

const MIB: u64 = 1024 * 1024;

fn write_trace(path: &std::path::Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let mut lines = Vec::new();
    for i in 0..=200u64 {
        let t = i as f64 * 2.0;
        // Leaks 1 MiB/s toward 512 MiB: reaches it at 472 s, so never within this trace.
        let leak = 40 * MIB + i * 2 * MIB;
        lines.push(format!(
            r#"{{"ts":{t},"id":"default/leaky/app","memory_working_set_bytes":{leak},"memory_limit_bytes":{},"memory_anon_bytes":{leak}}}"#,
            512 * MIB
        ));
        // No id, only metadata: the id comes from namespace/pod/container.
        lines.push(format!(
            r#"{{"ts":{t},"namespace":"default","pod":"steady","container":"app","memory_usage_bytes":{},"memory_limit_bytes":{}}}"#,
            100 * MIB,
            512 * MIB
        ));
    }
    // Out of order: the replay sorts by ts.
    lines.swap(10, 30);
    lines.push(r#"{"ts":401.0,"id":"default/leaky/app","event":"crash","cause":"meteor"}"#.into());
    lines.push("{not json".into());
    lines.push(r#"{"ts":"later","id":"x/y/z","memory_usage_bytes":3}"#.into());
    // A negative count: that field is unknown, the sample (and its container) kept.
    lines.push(r#"{"ts":5,"id":"x/y/z","memory_usage_bytes":-3,"pids_current":7}"#.into());
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

#[test]
fn replay_prints_one_line_per_container() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    write_trace(&trace);
    let out = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args(["replay", "--trace"])
        .arg(&trace)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    for r in &rows {
        let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        keys.sort();
        assert_eq!(keys, ["cause", "first_alarm_ts", "id", "max_risk"]);
        let risk = r["max_risk"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&risk));
    }
    assert_eq!(rows[0]["id"], "default/leaky/app");
    assert_eq!(rows[1]["id"], "default/steady/app");
    // The leak is 72 s from its limit at the end (512 - 440 MiB at 1 MiB/s): alarmed.
    assert!(rows[0]["first_alarm_ts"].is_f64(), "{text}");
    assert_eq!(rows[0]["cause"], "oom_kill");
    assert!(rows[1]["first_alarm_ts"].is_null(), "{text}");
    assert!(rows[1]["max_risk"].as_f64().unwrap() < 0.2, "{text}");
    assert_eq!(rows[2]["id"], "x/y/z");
    assert!(rows[2]["first_alarm_ts"].is_null(), "{text}");
    // The skipped lines and the field set aside are reported on stderr, not fatal.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skipped 2"), "{err}");
    assert!(
        err.contains("read 1 sample(s)") && err.contains(r#"field "memory_usage_bytes": negative"#),
        "{err}"
    );
}

/// A file as another tool may write it: a byte-order mark, CRLF line ends, and one line whose
/// id holds a byte that is not UTF-8 (a torn write, a name in Latin-1). Every sample is kept:
/// the bad byte costs its character, not the trace.
#[test]
fn replay_reads_past_a_byte_order_mark_crlf_and_bytes_that_are_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    for i in 0..=200u64 {
        let leak = 40 * MIB + i * 2 * MIB;
        bytes.extend(format!(
            "{{\"ts\":{},\"id\":\"default/leaky/app\",\"memory_working_set_bytes\":{leak},\"memory_limit_bytes\":{},\"memory_anon_bytes\":{leak}}}\r\n",
            i * 2,
            512 * MIB
        ).as_bytes());
        if i == 100 {
            bytes.extend(
                b"{\"ts\":200,\"id\":\"default/caf\xe9/app\",\"memory_usage_bytes\":3}\r\n",
            );
        }
    }
    std::fs::write(&trace, &bytes).unwrap();
    let (out, err) = replay_output(&trace);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["default/caf\u{fffd}/app", "default/leaky/app"],
        "{err}"
    );
    // The first line (behind the mark) counts: the leak's history is whole, and it is warned.
    assert!(rows[1]["first_alarm_ts"].is_f64(), "{rows:?}");
    assert!(!err.contains("skipped"), "{err}");
    assert!(
        err.contains("read 1 sample(s) mended") && err.contains("not UTF-8"),
        "{err}"
    );
}

/// `replay`'s stdout and stderr for `trace`, asserting it succeeded.
fn replay_output(trace: &std::path::Path) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args(["replay", "--trace"])
        .arg(trace)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    (String::from_utf8(out.stdout).unwrap(), err)
}

/// A file of sweeps as `collect --format json` prints them (`collect --once` run in a loop)
/// replays exactly as the same samples written one per line: the containers' own fields, the
/// sweep's `ts` where a container has none, the node's memory from `node`.
#[test]
fn replay_reads_a_file_of_collect_snapshots_as_the_same_samples() {
    let dir = tempfile::tempdir().unwrap();
    let (mut flat, mut sweeps) = (String::new(), String::new());
    for i in 0..=200u64 {
        let t = i * 2;
        let leak = 40 * MIB + i * 2 * MIB;
        // The node runs short too: a figure that reaches the samples only through `node`.
        let (total, avail) = (8192 * MIB, (4096 - 16 * i) * MIB);
        let leaky = format!(
            r#""id":"default/leaky/app","qos":"burstable","memory_working_set_bytes":{leak},"memory_limit_bytes":{},"memory_anon_bytes":{leak}"#,
            512 * MIB
        );
        let steady = r#""namespace":"default","pod":"steady","container":"app","qos":"besteffort","memory_usage_bytes":104857600"#;
        let node =
            format!(r#""node_memory_total_bytes":{total},"node_memory_available_bytes":{avail}"#);
        flat += &format!("{{\"ts\":{t},{leaky},{node}}}\n{{\"ts\":{t},{steady},{node}}}\n");
        sweeps += &format!(
            r#"{{"ts":{t},"node":{{"name":"n1","memory_total_bytes":{total},"memory_available_bytes":{avail}}},"containers":[{{"ts":{t},{leaky}}},{{{steady}}}]}}"#
        );
        sweeps.push('\n');
    }
    let (a, b) = (
        dir.path().join("flat.jsonl"),
        dir.path().join("sweeps.jsonl"),
    );
    std::fs::write(&a, flat).unwrap();
    std::fs::write(&b, sweeps).unwrap();
    let ((flat_out, _), (sweeps_out, err)) = (replay_output(&a), replay_output(&b));
    assert_eq!(sweeps_out, flat_out, "{err}");
    assert!(!err.contains("skipped"), "{err}");
    let rows: Vec<serde_json::Value> = sweeps_out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["default/leaky/app", "default/steady/app"]);
    assert!(rows[0]["first_alarm_ts"].is_f64(), "{sweeps_out}");
}

/// `replay --series | head -1`: the reader leaves after one line, and replay ends quietly and
/// successfully, as a Unix filter does, not with "error: Broken pipe".
#[test]
fn replay_ends_quietly_when_its_reader_goes_away() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    // 201 × 2 predictions of about 1 KiB each: more than a pipe holds, so replay is still
    // writing when the reader leaves.
    write_trace(&trace);
    let mut child = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args(["replay", "--series", "--trace"])
        .arg(&trace)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("crash_risk"), "{first}");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("error"), "{err}");
}

#[test]
fn replay_with_a_bad_model_file_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    write_trace(&trace);
    let model = dir.path().join("old.json");
    std::fs::write(
        &model,
        r#"{"format":"crashwatch-model","format_version":0}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args(["replay", "--trace"])
        .arg(&trace)
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("old.json") && err.contains("format version 0 is not supported"),
        "{err}"
    );
}

#[test]
fn replay_of_a_missing_trace_names_the_file_and_the_reason_once() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("gone.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args(["replay", "--trace"])
        .arg(&trace)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("gone.jsonl").count(), 1, "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}
