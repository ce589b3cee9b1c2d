//! Traces: JSON Lines files of samples (sorted by `ts`) and crash label lines
//! (`{"ts","id","event":"crash","cause"}`), as `interface.md` fixes them. Readers accept
//! blank lines and report the file and line number of anything they cannot parse.
use crate::sample::{Cause, Sample};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::Path;

/// A crash label: what really happened to a container (never shown to a predictor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// When the crash happened.
    pub ts: f64,
    /// Container id.
    pub id: String,
    /// Always `crash` today.
    pub event: String,
    /// Why it crashed.
    pub cause: Cause,
}

/// One line of a trace.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceLine {
    /// A container sample.
    Sample(Box<Sample>),
    /// A crash label.
    Label(Label),
}

/// Parse one non-empty trace line. A line with an `event` key is a label. The second value
/// describes the first field of a sample that did not read as written ([`parse_sample`]).
pub fn parse_line(line: &str) -> std::result::Result<(TraceLine, Option<String>), String> {
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    parse_value_with(&v, true).map(|l| l.expect("labels are read"))
}

/// [`parse_line`] of a line already parsed as JSON, where `labels = false` leaves a label
/// line unread (`None`) once its `event` key is seen: a predictor must never read one.
pub fn parse_value_with(
    v: &serde_json::Value,
    labels: bool,
) -> std::result::Result<Option<(TraceLine, Option<String>)>, String> {
    if v.get("event").is_none() {
        parse_sample(v).map(|(s, mended)| Some((TraceLine::Sample(Box::new(s)), mended)))
    } else if labels {
        Label::deserialize(v)
            .map(|l| Some((TraceLine::Label(l), None)))
            .map_err(|e| e.to_string())
    } else {
        Ok(None)
    }
}

/// The container samples of a line that holds a whole sweep as `collect --format json` prints
/// it (`{"ts", "node", "containers": [...]}`), `None` for any other line: a file of such
/// snapshots (`collect --once` in a loop) replays like a trace. Each container gets the sweep's
/// `ts` and the node's memory figures where it does not carry its own.
pub fn snapshot_samples(v: &serde_json::Value) -> Option<Vec<serde_json::Value>> {
    let obj = v.as_object()?;
    let containers = obj.get("containers")?.as_array()?;
    let node = obj.get("node").and_then(|n| n.as_object());
    let shared = [
        ("ts", obj.get("ts")),
        (
            "node_memory_available_bytes",
            node.and_then(|n| n.get("memory_available_bytes")),
        ),
        (
            "node_memory_total_bytes",
            node.and_then(|n| n.get("memory_total_bytes")),
        ),
        (
            "node_allocatable_available_bytes",
            node.and_then(|n| n.get("pods_memory_available_bytes")),
        ),
    ];
    Some(
        containers
            .iter()
            .map(|c| {
                let mut c = c.clone();
                if let Some(m) = c.as_object_mut() {
                    for (key, val) in shared {
                        if let (Some(val), false) = (val, m.contains_key(key)) {
                            m.insert(key.to_string(), val.clone());
                        }
                    }
                }
                c
            })
            .collect(),
    )
}

/// Parse one sample object, taking `id` from `namespace/pod/container` when it has none.
///
/// Traces come from generators we have never seen, and one field they spell otherwise must not
/// lose the whole sample: a field that does not read on its own (a count written as a string,
/// `-1` for "unlimited" as `cpu.cfs_quota_us` and container runtimes write it, a negative
/// count) is read as the number its string holds, else as unknown (`null`, which for a limit
/// means none). The second value describes the first such field. `ts` is read from a string
/// that holds a number, never as unknown, and `id` is never mended: a sample without its time
/// or container is no sample.
pub fn parse_sample(
    v: &serde_json::Value,
) -> std::result::Result<(Sample, Option<String>), String> {
    let (mut s, mended) = match Sample::deserialize(v) {
        Ok(s) => (s, None),
        Err(e) => {
            let Some(obj) = v.as_object() else {
                return Err(e.to_string());
            };
            let mut obj = obj.clone();
            let mut first = None;
            for (key, val) in obj.iter_mut() {
                if key == "id" {
                    continue;
                }
                let Err(why) = reads_alone(key, val) else {
                    continue;
                };
                let number = val.as_str().and_then(number_in);
                let (mended, as_what) = match number {
                    Some(n) if reads_alone(key, &n).is_ok() => (n, "read as the number it holds"),
                    // A time is never unknown: the sample goes.
                    _ if key == "ts" => continue,
                    _ => (serde_json::Value::Null, "read as unknown"),
                };
                *val = mended;
                first.get_or_insert_with(|| format!("field {key:?}: {why}, {as_what}"));
            }
            let s =
                Sample::deserialize(&serde_json::Value::Object(obj)).map_err(|_| e.to_string())?;
            (s, first)
        }
    };
    if s.id.is_empty() {
        let get = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("");
        let (ns, pod, c) = (get("namespace"), get("pod"), get("container"));
        if pod.is_empty() && c.is_empty() {
            return Err("sample without id".into());
        }
        s.id = format!("{ns}/{pod}/{c}");
    }
    if !s.ts.is_finite() {
        return Err("sample without a finite ts".into());
    }
    Ok((s, mended))
}

/// Whether `key: val` alone reads as a sample; the error says why not.
fn reads_alone(key: &str, val: &serde_json::Value) -> std::result::Result<(), String> {
    let mut one = serde_json::Map::with_capacity(1);
    one.insert(key.to_string(), val.clone());
    Sample::deserialize(&serde_json::Value::Object(one))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The JSON number a string holds (`"1073741824"`, `" 0.5 "`), if it holds one.
fn number_in(t: &str) -> Option<serde_json::Value> {
    let t = t.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Some(n.into());
    }
    if let Ok(n) = t.parse::<i64>() {
        return Some(n.into());
    }
    t.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(serde_json::Value::Number)
}

/// Read a whole trace file.
pub fn read(path: &Path) -> Result<Vec<TraceLine>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let (parsed, _) = parse_line(&line)
            .map_err(|msg| Error::parse(path, format!("line {}: {msg}", n + 1)))?;
        out.push(parsed);
    }
    Ok(out)
}

/// Write a trace: every line as compact JSON.
pub fn write(path: &Path, lines: &[TraceLine]) -> Result<()> {
    let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = std::io::BufWriter::new(f);
    for l in lines {
        let s = match l {
            TraceLine::Sample(s) => serde_json::to_string(s),
            TraceLine::Label(l) => serde_json::to_string(l),
        }
        .map_err(|e| Error::Json(e.to_string()))?;
        writeln!(w, "{s}").map_err(|e| Error::io(path, e))?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

/// Every `*.jsonl` file in `dir`, sorted by name; an error when there is none (training or
/// scoring on nothing would report an empty result as if it had measured one).
pub fn list_dir(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut v: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    if v.is_empty() {
        return Err(Error::parse(dir, "no *.jsonl traces here"));
    }
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_samples_are_told_apart() {
        match parse_line(r#"{"ts":95.0,"id":"a/b/c","event":"crash","cause":"oom_kill"}"#)
            .unwrap()
            .0
        {
            TraceLine::Label(l) => assert_eq!(l.cause, Cause::OomKill),
            other => panic!("{other:?}"),
        }
        match parse_line(r#"{"ts":1.0,"id":"a/b/c","memory_usage_bytes":5}"#)
            .unwrap()
            .0
        {
            TraceLine::Sample(s) => assert_eq!(s.memory_usage_bytes, Some(5)),
            other => panic!("{other:?}"),
        }
        assert!(parse_line(r#"{"ts":1.0,"id":"x","event":"crash","cause":"meteor"}"#).is_err());
    }

    #[test]
    fn a_field_spelled_otherwise_does_not_lose_the_sample() {
        let read = |line: &str| match parse_line(line).unwrap() {
            (TraceLine::Sample(s), mended) => (*s, mended),
            other => panic!("{other:?}"),
        };
        // A well-formed sample is read as it is, nothing mended.
        let (s, mended) = read(r#"{"ts":1,"id":"a/b/c","cpu_limit_cores":2,"pids_limit":100}"#);
        assert_eq!(
            (s.cpu_limit_cores, s.pids_limit, mended),
            (Some(2.0), Some(100), None)
        );
        // -1 for "unlimited" (cpu.cfs_quota_us, a runtime's PidsLimit): no limit, the rest kept.
        let (s, mended) = read(
            r#"{"ts":1,"id":"a/b/c","memory_usage_bytes":5,"cpu_limit_cores":-1,"pids_limit":-1}"#,
        );
        assert_eq!((s.cpu_limit_cores, s.pids_limit), (None, None));
        assert_eq!(s.memory_usage_bytes, Some(5));
        let mended = mended.unwrap();
        assert!(
            mended.contains("cpu_limit_cores") && mended.contains("negative"),
            "{mended}"
        );
        // A count in a string is the count; a string that holds none is unknown.
        let (s, mended) = read(
            r#"{"ts":1,"id":"a/b/c","memory_limit_bytes":"1073741824","memory_usage_bytes":"n/a"}"#,
        );
        assert_eq!(
            (s.memory_limit_bytes, s.memory_usage_bytes),
            (Some(1 << 30), None)
        );
        assert!(mended.unwrap().contains("memory_limit_bytes"));
        // Kubernetes' own spelling of the QoS class reads; an unknown class is unknown.
        let (s, mended) = read(r#"{"ts":1,"id":"a/b/c","qos":"Guaranteed"}"#);
        assert_eq!(
            (s.qos, mended),
            (Some(crate::sample::Qos::Guaranteed), None)
        );
        let (s, mended) = read(r#"{"ts":1,"id":"a/b/c","qos":"Platinum","memory_usage_bytes":5}"#);
        assert_eq!((s.qos, s.memory_usage_bytes), (None, Some(5)));
        assert!(mended.unwrap().contains("qos"));
        // A time in a string is the time; a time that is none, or no container, is no sample.
        let (s, _) = read(r#"{"ts":"12.5","id":"a/b/c"}"#);
        assert_eq!(s.ts, 12.5);
        assert!(parse_line(r#"{"ts":"soon","id":"a/b/c"}"#).is_err());
        assert!(parse_line(r#"{"ts":null,"id":"a/b/c"}"#).is_err());
        assert!(parse_line(r#"{"ts":1,"id":7}"#).is_err());
        assert!(parse_line(r#"{"ts":1}"#).is_err());
    }

    #[test]
    fn errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.jsonl");
        std::fs::write(&p, "{\"ts\":1,\"id\":\"a\"}\n\n{oops\n").unwrap();
        let err = read(&p).unwrap_err().to_string();
        assert!(err.contains("t.jsonl") && err.contains("line 3"), "{err}");
    }
}
