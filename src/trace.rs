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

/// Parse one non-empty trace line. A line with an `event` key is a label.
pub fn parse_line(line: &str) -> std::result::Result<TraceLine, String> {
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    if v.get("event").is_some() {
        serde_json::from_value::<Label>(v)
            .map(TraceLine::Label)
            .map_err(|e| e.to_string())
    } else {
        serde_json::from_value::<Sample>(v)
            .map(|s| TraceLine::Sample(Box::new(s)))
            .map_err(|e| e.to_string())
    }
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
        let parsed = parse_line(&line)
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
        match parse_line(r#"{"ts":95.0,"id":"a/b/c","event":"crash","cause":"oom_kill"}"#).unwrap()
        {
            TraceLine::Label(l) => assert_eq!(l.cause, Cause::OomKill),
            other => panic!("{other:?}"),
        }
        match parse_line(r#"{"ts":1.0,"id":"a/b/c","memory_usage_bytes":5}"#).unwrap() {
            TraceLine::Sample(s) => assert_eq!(s.memory_usage_bytes, Some(5)),
            other => panic!("{other:?}"),
        }
        assert!(parse_line(r#"{"ts":1.0,"id":"x","event":"crash","cause":"meteor"}"#).is_err());
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
