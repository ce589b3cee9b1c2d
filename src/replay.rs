//! `crashwatch replay`: feed a trace through exactly the agent's path ([`Predictor::observe`]:
//! history → features → model → risk → alarm episodes) and print one JSON line per container
//! at the end: `{"id", "first_alarm_ts", "max_risk", "cause"}`.
//!
//! Traces may come from generators we have never seen, so reading is tolerant: a field that
//! does not read is set aside and the rest of its sample kept ([`crate::trace::parse_sample`]),
//! a line that is not a sample at all is counted and skipped (never fatal), bytes that are not
//! UTF-8 are replaced (U+FFFD) rather than ending the read, samples are put in
//! time order, and an object without `id` gets one from `namespace/pod/container`.
//! Label lines (`"event"` key) are skipped unread: a predictor must never see them.
use crate::model::Model;
use crate::predict::{Prediction, Predictor, Transition};
use crate::sample::{Cause, Sample};
use crate::trace::{Label, TraceLine};
use crate::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

/// A trace split into samples (time-ordered) and labels, plus what was skipped.
#[derive(Debug, Default, Clone)]
pub struct LoadedTrace {
    /// Samples sorted by `ts` (stable: equal times keep file order).
    pub samples: Vec<Sample>,
    /// Crash labels. Only `train`/scoring code may look at these.
    pub labels: Vec<Label>,
    /// Lines that could not be parsed.
    pub bad_lines: usize,
    /// First parse error, for the warning.
    pub first_error: Option<String>,
    /// Samples read with a field set aside ([`crate::trace::parse_sample`]) or with bytes
    /// that are not UTF-8 replaced.
    pub mended_lines: usize,
    /// The first such mend, for the warning.
    pub first_mend: Option<String>,
}

impl LoadedTrace {
    /// The trace back as lines, samples (in time order) then labels: what `eval`'s scorer
    /// reads.
    pub fn into_lines(self) -> Vec<TraceLine> {
        let labels = self.labels.into_iter().map(TraceLine::Label);
        (self.samples.into_iter())
            .map(|s| TraceLine::Sample(Box::new(s)))
            .chain(labels)
            .collect()
    }

    /// Keeps a sample read from line `n` (0-based) and counts what was mended in it
    /// (`recoded`: why its bytes were, if they were), or counts the line as unparsable.
    fn add(
        &mut self,
        n: usize,
        read: std::result::Result<(Sample, Option<String>), String>,
        recoded: Option<&str>,
    ) {
        match read {
            Ok((s, mended)) => {
                self.samples.push(s);
                if let Some(m) = mended.or_else(|| recoded.map(str::to_string)) {
                    self.mended_lines += 1;
                    self.first_mend
                        .get_or_insert_with(|| format!("line {}: {m}", n + 1));
                }
            }
            Err(msg) => {
                self.bad_lines += 1;
                self.first_error
                    .get_or_insert_with(|| format!("line {}: {msg}", n + 1));
            }
        }
    }

    /// What was skipped or set aside in reading `path`, one line each, for a warning.
    pub fn problems(&self, path: &Path) -> Vec<String> {
        [
            (self.bad_lines, "skipped", "unparsable line(s)", &self.first_error),
            (
                self.mended_lines,
                "read",
                "sample(s) mended: a field that does not read as written taken as unknown or as the number in its string, or bytes that are not UTF-8 replaced",
                &self.first_mend,
            ),
        ]
        .into_iter()
        .filter(|(n, ..)| *n > 0)
        .map(|(n, verb, what, first)| {
            let first = first.as_deref().unwrap_or("");
            format!("{}: {verb} {n} {what}; first: {first}", path.display())
        })
        .collect()
    }
}

/// Read a trace tolerantly. `with_labels = false` never parses label lines beyond seeing the
/// `event` key (what `replay` uses).
pub fn load(path: &Path, with_labels: bool) -> Result<LoadedTrace> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = LoadedTrace::default();
    let mut reader = std::io::BufReader::new(f);
    let mut bytes = Vec::new();
    for n in 0usize.. {
        bytes.clear();
        if reader
            .read_until(b'\n', &mut bytes)
            .map_err(|e| Error::io(path, e))?
            == 0
        {
            break;
        }
        // Bytes that are not UTF-8 (a torn write, a name in another encoding) cost their
        // line's strings those characters, not the trace: `lines()` would end the whole read
        // at the first of them. A byte-order mark is no part of the first object.
        let text = String::from_utf8_lossy(&bytes);
        let recoded = matches!(text, std::borrow::Cow::Owned(_))
            .then_some("bytes that are not UTF-8 read as U+FFFD");
        let line = text.trim_start_matches('\u{feff}');
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                out.add(n, Err(e.to_string()), recoded);
                continue;
            }
        };
        // A sweep as `collect --format json` prints it: its containers' samples.
        if let Some(items) = crate::trace::snapshot_samples(&v) {
            for item in items {
                out.add(n, crate::trace::parse_sample(&item), recoded);
            }
            continue;
        }
        match crate::trace::parse_value_with(&v, with_labels) {
            Ok(Some((TraceLine::Sample(s), mended))) => out.add(n, Ok((*s, mended)), recoded),
            Ok(Some((TraceLine::Label(l), _))) => out.labels.push(l),
            Ok(None) => {}
            Err(msg) => out.add(n, Err(msg), recoded),
        }
    }
    out.samples.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    Ok(out)
}

/// One container's replay result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayResult {
    /// Container id.
    pub id: String,
    /// Time of the first alarm, `null` if none.
    pub first_alarm_ts: Option<f64>,
    /// Highest risk seen.
    pub max_risk: f64,
    /// Cause of the first alarm; without an alarm, the cause at the highest risk.
    pub cause: Option<Cause>,
}

/// Replay samples (time-ordered) through a fresh predictor; results sorted by id.
pub fn replay(model: Arc<Model>, threshold: Option<f64>, samples: &[Sample]) -> Vec<ReplayResult> {
    replay_with(model, threshold, samples, |_, _, _| {})
}

/// [`replay`], calling `each` with every prediction and its transitions.
pub fn replay_with(
    model: Arc<Model>,
    threshold: Option<f64>,
    samples: &[Sample],
    mut each: impl FnMut(&Sample, &Prediction, &[Transition]),
) -> Vec<ReplayResult> {
    let mut p = Predictor::new(model, threshold);
    let mut out: BTreeMap<String, ReplayResult> = BTreeMap::new();
    for s in samples {
        let (pred, transitions) = p.observe(s);
        each(s, &pred, &transitions);
        let r = out.entry(pred.id.clone()).or_insert_with(|| ReplayResult {
            id: pred.id.clone(),
            first_alarm_ts: None,
            max_risk: 0.0,
            cause: None,
        });
        if transitions.contains(&Transition::Alarmed) && r.first_alarm_ts.is_none() {
            r.first_alarm_ts = Some(pred.ts);
            r.cause = pred.cause;
        }
        if pred.crash_risk > r.max_risk {
            r.max_risk = pred.crash_risk;
            if r.first_alarm_ts.is_none() {
                r.cause = pred.cause;
            }
        }
    }
    out.into_values().collect()
}

/// `crashwatch replay`.
pub fn command(args: crate::cli::ReplayArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    let model = match &args.model {
        Some(p) => Arc::new(Model::load(p)?),
        None => Model::embedded(),
    };
    // The error names the file already.
    let trace = load(&args.trace, false).context("reading the trace")?;
    for p in trace.problems(&args.trace) {
        tracing::warn!("{p}");
    }
    use std::io::Write;
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut write_err = None;
    // Series mode shows the features too, from histories kept beside the predictor's.
    let mut hists: std::collections::HashMap<String, crate::history::History> = Default::default();
    let results = replay_with(model, args.threshold, &trace.samples, |s, p, t| {
        if args.series && write_err.is_none() {
            let mut v = serde_json::to_value(p).unwrap_or_default();
            let h = hists.entry(s.id.clone()).or_default();
            h.push(s);
            let f = crate::features::extract(h, s);
            v["features"] = serde_json::Value::Object(
                crate::features::SPEC
                    .iter()
                    .zip(f.x.iter())
                    .map(|((n, _, _), x)| (n.to_string(), serde_json::json!(x)))
                    .collect(),
            );
            if let Some(t) = t.first() {
                v["transition"] = format!("{t:?}").into();
            }
            if let Err(e) = writeln!(stdout, "{v}") {
                write_err = Some(e);
            }
        }
    });
    if let Some(e) = write_err {
        return Err(e.into());
    }
    for r in results {
        writeln!(stdout, "{}", serde_json::to_string(&r)?)?;
    }
    stdout.flush()?;
    Ok(())
}
