//! Recorder for `run --record-dir DIR`: writes the agent's real samples as JSON Lines traces
//! in the `interface.md` format, with crash label lines derived from what the node reports
//! (an `oom_kills_total` increment; a restart whose last termination reason is `OOMKilled`
//! or `Evicted`; any other restart as `restart_loop`), so `crashwatch train` can learn from
//! a real cluster.
//!
//! Disk use is bounded: files rotate at a quarter of `max_bytes` and the oldest files are
//! deleted while the directory holds more than `max_bytes` of traces. Every I/O problem
//! (disk full, directory removed) is counted and logged at most once a minute, never fatal:
//! the agent must keep predicting when its recording disk fills up.
//!
//! This module must not predict or alter samples; it writes what it is given.
use crate::sample::{Cause, Sample};
use crate::trace::Label;
use crate::{Error, Result};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Files are rotated at this fraction of the byte budget, so deleting the oldest file frees
/// a meaningful share without throwing away most of the history.
const FILES_IN_BUDGET: u64 = 4;

/// Same-kind crash signals within this many seconds are one crash (kernel counter and
/// kubelet report arrive at different sweeps).
const SAME_CRASH_SECONDS: f64 = 60.0;

#[derive(Debug, Default, Clone)]
struct Seen {
    oom_kills: Option<u64>,
    restarts: Option<u64>,
    last_label: Option<(f64, Cause)>,
}

/// Writes traces with rotation and derived crash labels.
pub struct Recorder {
    dir: PathBuf,
    max_bytes: u64,
    file: Option<(PathBuf, std::io::BufWriter<std::fs::File>)>,
    written: u64,
    seen: HashMap<String, Seen>,
    errors: u64,
    labels: u64,
    last_error_log: Option<std::time::Instant>,
    line: Vec<u8>,
}

impl Recorder {
    /// A recorder writing into `dir` (created if missing), keeping at most about `max_bytes`
    /// of trace files there.
    pub fn new(dir: &Path, max_bytes: u64) -> Result<Recorder> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        // Probe writability now, so a read-only mount is reported at start-up.
        let probe = dir.join(".crashwatch-write-test");
        std::fs::write(&probe, b"").map_err(|e| Error::io(&probe, e))?;
        let _ = std::fs::remove_file(&probe);
        Ok(Recorder {
            dir: dir.to_path_buf(),
            max_bytes: max_bytes.max(4096),
            file: None,
            written: 0,
            seen: HashMap::new(),
            errors: 0,
            labels: 0,
            last_error_log: None,
            line: Vec::with_capacity(1024),
        })
    }

    /// Write errors so far (for `crashwatch_collect_errors_total{kind="record"}` or similar).
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Crash labels written so far.
    pub fn labels_written(&self) -> u64 {
        self.labels
    }

    /// Record one sweep's samples (all containers of the node: ids absent from the batch are
    /// forgotten), adding a crash label for every crash the samples reveal.
    pub fn record(&mut self, samples: &[Sample]) {
        let mut labels = Vec::new();
        for s in samples {
            let seen = self.seen.entry(s.id.clone()).or_default();
            if let Some(cause) = crash_in(seen, s) {
                labels.push(Label {
                    ts: s.ts,
                    id: s.id.clone(),
                    event: "crash".into(),
                    cause,
                });
                seen.last_label = Some((s.ts, cause));
            }
            seen.oom_kills = s.oom_kills_total.or(seen.oom_kills);
            seen.restarts = s.restarts_total.or(seen.restarts);
        }
        if self.seen.len() > samples.len() {
            let live: std::collections::HashSet<&str> =
                samples.iter().map(|s| s.id.as_str()).collect();
            self.seen.retain(|id, _| live.contains(id.as_str()));
        }
        for s in samples {
            self.line.clear();
            if serde_json::to_writer(&mut self.line, s).is_err() {
                self.fail(None, "serialising a sample");
                continue;
            }
            self.line.push(b'\n');
            self.write_line();
        }
        for l in labels {
            self.write_label(&l);
        }
        self.flush();
    }

    /// Record a crash the samples cannot show (e.g. an eviction the kubelet reported).
    pub fn label(&mut self, ts: f64, id: &str, cause: Cause) {
        if let Some(seen) = self.seen.get_mut(id) {
            if seen
                .last_label
                .is_some_and(|(t, c)| c == cause && (ts - t).abs() < SAME_CRASH_SECONDS)
            {
                return;
            }
            seen.last_label = Some((ts, cause));
        }
        self.write_label(&Label {
            ts,
            id: id.to_string(),
            event: "crash".into(),
            cause,
        });
        self.flush();
    }

    fn write_label(&mut self, l: &Label) {
        self.line.clear();
        if serde_json::to_writer(&mut self.line, l).is_err() {
            self.fail(None, "serialising a label");
            return;
        }
        self.line.push(b'\n');
        if self.write_line() {
            self.labels += 1;
        }
    }

    /// Append `self.line` to the current file, rotating first when it is full.
    fn write_line(&mut self) -> bool {
        let per_file = self.max_bytes / FILES_IN_BUDGET;
        if self.file.is_some() && self.written + self.line.len() as u64 > per_file {
            self.flush();
            self.file = None;
        }
        if self.file.is_none() && !self.open_new() {
            return false;
        }
        let Some((path, w)) = self.file.as_mut() else {
            return false;
        };
        match w.write_all(&self.line) {
            Ok(()) => {
                self.written += self.line.len() as u64;
                true
            }
            Err(e) => {
                let path = path.clone();
                // Drop the file: the next write starts a fresh one (after space was freed).
                self.file = None;
                self.fail(Some(Error::io(path, e)), "writing");
                false
            }
        }
    }

    fn flush(&mut self) {
        if let Some((path, w)) = self.file.as_mut() {
            if let Err(e) = w.flush() {
                let path = path.clone();
                self.file = None;
                self.fail(Some(Error::io(path, e)), "flushing");
            }
        }
    }

    fn open_new(&mut self) -> bool {
        self.prune();
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        // Zero-padded so that name order is time order (what `train` and `list_dir` sort by).
        let mut path = self.dir.join(format!("trace-{ms:015}.jsonl"));
        let mut n = 1;
        while path.exists() {
            path = self.dir.join(format!("trace-{ms:015}-{n}.jsonl"));
            n += 1;
        }
        match std::fs::OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
        {
            Ok(f) => {
                self.file = Some((path, std::io::BufWriter::new(f)));
                self.written = 0;
                true
            }
            Err(e) => {
                self.fail(Some(Error::io(path, e)), "creating a trace file");
                false
            }
        }
    }

    /// Delete the oldest trace files until the budget has room for one more file.
    fn prune(&mut self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(PathBuf, u64)> = rd
            .filter_map(|e| e.ok())
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.starts_with("trace-") && n.ends_with(".jsonl")
            })
            .filter_map(|e| Some((e.path(), e.metadata().ok()?.len())))
            .collect();
        files.sort();
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        let room = self.max_bytes - self.max_bytes / FILES_IN_BUDGET;
        for (p, len) in files {
            if total <= room {
                break;
            }
            if std::fs::remove_file(&p).is_ok() {
                total -= len;
            }
        }
    }

    fn fail(&mut self, err: Option<Error>, what: &str) {
        self.errors += 1;
        let now = std::time::Instant::now();
        if self
            .last_error_log
            .is_none_or(|t| now.duration_since(t).as_secs() >= 60)
        {
            self.last_error_log = Some(now);
            match err {
                Some(e) => tracing::warn!(
                    "recorder: {what} failed: {e} ({} errors so far)",
                    self.errors
                ),
                None => tracing::warn!("recorder: {what} failed ({} errors so far)", self.errors),
            }
        }
    }
}

/// The crash (if any) visible in `s` relative to what was seen before.
fn crash_in(seen: &Seen, s: &Sample) -> Option<Cause> {
    let dup = |c: Cause| {
        seen.last_label
            .is_some_and(|(t, lc)| lc == c && s.ts - t < SAME_CRASH_SECONDS)
    };
    if let (Some(prev), Some(cur)) = (seen.oom_kills, s.oom_kills_total) {
        if cur > prev && !dup(Cause::OomKill) {
            return Some(Cause::OomKill);
        }
    }
    if let (Some(prev), Some(cur)) = (seen.restarts, s.restarts_total) {
        if cur > prev {
            let c = match s.last_termination_reason.as_deref() {
                Some("OOMKilled") => Cause::OomKill,
                Some("Evicted") => Cause::Evicted,
                _ => Cause::RestartLoop,
            };
            // Only the kubelet's report of a kill the kernel counter showed is a duplicate;
            // every other restart is a crash of its own (a loop restarts within seconds).
            if !(c == Cause::OomKill && dup(c)) {
                return Some(c);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{self, TraceLine};

    fn s(ts: f64, id: &str, kills: u64, restarts: u64, reason: Option<&str>) -> Sample {
        Sample {
            ts,
            id: id.into(),
            memory_working_set_bytes: Some(1 << 20),
            oom_kills_total: Some(kills),
            restarts_total: Some(restarts),
            last_termination_reason: reason.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn writes_a_readable_trace_with_derived_labels() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Recorder::new(dir.path(), 1 << 20).unwrap();
        r.record(&[s(1.0, "a/p/c", 0, 0, None), s(1.0, "a/q/c", 0, 0, None)]);
        r.record(&[s(2.0, "a/p/c", 1, 0, None), s(2.0, "a/q/c", 0, 0, None)]);
        // The kubelet reports the same OOM kill a sweep later: not a second crash.
        r.record(&[
            s(3.0, "a/p/c", 1, 1, Some("OOMKilled")),
            s(3.0, "a/q/c", 0, 1, Some("Error")),
        ]);
        r.label(4.0, "a/q/c", Cause::Evicted);
        assert_eq!(r.errors(), 0);
        assert_eq!(r.labels_written(), 3);
        let files = trace::list_dir(dir.path()).unwrap();
        assert_eq!(files.len(), 1);
        let lines = trace::read(&files[0]).unwrap();
        let labels: Vec<(f64, String, Cause)> = lines
            .iter()
            .filter_map(|l| match l {
                TraceLine::Label(l) => Some((l.ts, l.id.clone(), l.cause)),
                _ => None,
            })
            .collect();
        assert_eq!(
            labels,
            vec![
                (2.0, "a/p/c".to_string(), Cause::OomKill),
                (3.0, "a/q/c".to_string(), Cause::RestartLoop),
                (4.0, "a/q/c".to_string(), Cause::Evicted),
            ]
        );
        assert_eq!(lines.len(), 9);
    }

    #[test]
    fn disk_use_stays_within_budget() {
        let dir = tempfile::tempdir().unwrap();
        let budget = 64 * 1024;
        let mut r = Recorder::new(dir.path(), budget).unwrap();
        for i in 0..2000 {
            r.record(&[s(i as f64, "a/p/c", 0, 0, None)]);
        }
        let total: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(total <= budget, "{total} bytes on disk");
        assert!(trace::list_dir(dir.path()).unwrap().len() >= 3);
        assert_eq!(r.errors(), 0);
    }

    #[test]
    fn unwritable_directory_is_counted_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("rec");
        let mut r = Recorder::new(&sub, 1 << 20).unwrap();
        // The directory disappears under the recorder (unmounted, deleted).
        std::fs::remove_dir_all(&sub).unwrap();
        r.record(&[s(1.0, "a/p/c", 0, 0, None)]);
        r.record(&[s(2.0, "a/p/c", 0, 0, None)]);
        assert_eq!(r.errors(), 2);
        // Disk full, for real, where /dev/full exists.
        if Path::new("/dev/full").exists() {
            let mut r = Recorder::new(dir.path(), 1 << 20).unwrap();
            if let Ok(f) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
                r.file = Some((PathBuf::from("/dev/full"), std::io::BufWriter::new(f)));
                r.record(&[s(1.0, "a/p/c", 0, 0, None)]);
                assert_eq!(r.errors(), 1);
            }
        } else {
            eprintln!("skipping the /dev/full part: no /dev/full");
        }
    }
}
