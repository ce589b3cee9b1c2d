//! `crashwatch eval`: score crashwatch and the classic `predict_linear` alert on labelled
//! traces, overall and per scenario kind.
//!
//! Every trace is fed, sample by sample in `ts` order, through the agent's own path
//! ([`crate::predict::Predictor::observe`]); label lines are never shown to a detector, they
//! are only used to score. The same scoring ([`score`]) backs the agent's online
//! self-evaluation (`crashwatch_predictions_total{outcome}`), so the definitions live here:
//!
//! - **Alarm episode**: a maximal run of samples of one container for which the detector
//!   says "crash predicted". It opens at the first such sample; it closes at the first sample
//!   that is not alarmed, or at a crash of that container. A crash ends an episode; an alarm
//!   still standing after the restart is a new episode, opened at the first alarmed sample
//!   of the new instance — except for causes that carry over a restart ([`carries_over`]:
//!   `restart_loop`, `cpu_starvation`): the agent keeps showing such an alarm while the
//!   container is away in its restart back-off, so a new episode opens at the crash itself
//!   and lasts until the first sample of the new instance that is not alarmed.
//! - **hit**: a crash of container C at time T for which an episode of C opened within
//!   [T − 600 s, T − 30 s] and at or after C's previous crash. Lead time = T − the earliest
//!   such opening (for a carried episode: the time since the previous crash).
//! - **late**: not a hit, but an episode of C opened within (T − 30 s, T] after the previous
//!   crash.
//! - **miss**: neither.
//! - **true alarm**: an episode followed by a crash of the same container within 600 s of
//!   its opening (for a carried episode, a later crash than the one it opened at); otherwise
//!   a **false alarm** — except that an episode whose 600 s window runs past the container's
//!   last sample in a trace that may hold crashes is **censored**
//!   (the outcome is unknown; excluded from precision and reported). Traces of kinds built
//!   never to crash (page cache, flat-high, …) censor nothing.
//! - recall = hits / crashes; precision = true alarms / (true + false alarms); F1 their
//!   harmonic mean; lead-time median and p10 (nearest rank) over hits.
//! - **calibration** ([`crate::calibration`]): every sample's risk, binned, against whether
//!   the container crashed within the trees' 300 s horizon after it.
//!
//! Must not: feed label lines or future samples to a detector, or evaluate on traces whose
//! seeds the model was trained on without saying so loudly.
#![warn(missing_docs)]
use crate::calibration::{self, Reliability};
use crate::model::Model;
use crate::predict::Predictor;
use crate::sample::{Cause, Sample};
use crate::sim::{self, Kind, Manifest};
use crate::trace::{self, TraceLine};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An alarm must open at least this long before the crash to count as a hit, seconds.
pub const MIN_LEAD_SECONDS: f64 = 30.0;
/// An alarm predicts a crash within this horizon, seconds (also the hit window); the
/// predictor holds its alarms to the same ([`crate::predict::ALARM_HORIZON`]).
pub const HORIZON_SECONDS: f64 = crate::predict::ALARM_HORIZON;
/// The baseline's regression window (`[5m]`), seconds.
pub const BASELINE_WINDOW_SECONDS: f64 = 300.0;
/// The baseline's look-ahead (`predict_linear(..., 300)`), seconds.
pub const BASELINE_AHEAD_SECONDS: f64 = 300.0;

/// What a detector says about one sample.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Alarm {
    /// Crash predicted now.
    pub alarmed: bool,
    /// Predicted cause, if the detector names one.
    pub cause: Option<Cause>,
    /// The detector's risk, 0..1, if it gives one (scored by [`Reliability`]).
    pub risk: Option<f64>,
}

/// Anything that turns a stream of samples into alarms: crashwatch, the baseline, a test script.
pub trait Detector {
    /// Observe the next sample (samples of all containers of a trace, in `ts` order).
    fn observe(&mut self, sample: &Sample) -> Alarm;
}

/// crashwatch itself: the agent's [`Predictor`].
pub struct Crashwatch {
    predictor: Predictor,
}

impl Crashwatch {
    /// A fresh predictor (no history) on `model`.
    pub fn new(model: Arc<Model>) -> Self {
        Crashwatch {
            predictor: Predictor::new(model, None),
        }
    }
}

impl Detector for Crashwatch {
    fn observe(&mut self, sample: &Sample) -> Alarm {
        let (p, _) = self.predictor.observe(sample);
        Alarm {
            alarmed: p.crash_predicted,
            cause: p.cause,
            risk: Some(p.crash_risk),
        }
    }
}

/// `predict_linear(container_memory_working_set_bytes[5m], 300) >= limit`: a least-squares
/// line through the last 5 minutes of working set, evaluated 300 s ahead of now. It only
/// ever predicts `oom_kill`, and only for containers with a memory limit.
#[derive(Default)]
pub struct PredictLinear {
    windows: HashMap<String, VecDeque<(f64, f64)>>,
}

impl PredictLinear {
    /// A baseline with no history.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Least-squares fit of `points` evaluated at `at` (as Prometheus' `predict_linear`, which
/// fits against time and extrapolates from the evaluation instant). `None` below 2 points.
pub fn linear_forecast(points: &VecDeque<(f64, f64)>, now: f64, at: f64) -> Option<f64> {
    let n = points.len();
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let (mut sx, mut sy) = (0.0, 0.0);
    for &(t, v) in points {
        sx += t - now;
        sy += v;
    }
    let (mx, my) = (sx / nf, sy / nf);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &(t, v) in points {
        let dx = t - now - mx;
        sxy += dx * (v - my);
        sxx += dx * dx;
    }
    if sxx <= 0.0 {
        return Some(my);
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    Some(intercept + slope * (at - now))
}

impl Detector for PredictLinear {
    fn observe(&mut self, s: &Sample) -> Alarm {
        let w = self.windows.entry(s.id.clone()).or_default();
        let Some(ws) = s.working_set() else {
            return Alarm::default();
        };
        w.push_back((s.ts, ws as f64));
        while w
            .front()
            .is_some_and(|&(t, _)| t <= s.ts - BASELINE_WINDOW_SECONDS)
        {
            w.pop_front();
        }
        let Some(limit) = s.memory_limit_bytes else {
            return Alarm::default();
        };
        let alarmed = linear_forecast(w, s.ts, s.ts + BASELINE_AHEAD_SECONDS)
            .is_some_and(|v| v >= limit as f64);
        Alarm {
            alarmed,
            cause: alarmed.then_some(Cause::OomKill),
            risk: None,
        }
    }
}

/// One alarm episode of one container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Episode {
    /// Container id.
    pub id: String,
    /// Opening time (first alarmed sample).
    pub start: f64,
    /// Closing time (first calm sample or the crash); `None` if still open at trace end.
    pub end: Option<f64>,
    /// Cause named when it opened.
    pub cause: Option<Cause>,
    /// Opened at a crash by [`carries_over`]: the alarm stood through the restart back-off.
    pub carried: bool,
}

/// Whether an alarm for `cause` standing when its container dies stays up through the
/// restart back-off (and the agent keeps showing it): a crash loop meets the same broken
/// dependency and a starved container the same load after the restart. A memory or task
/// leak starts again from zero, so those alarms end with the crash.
pub fn carries_over(cause: Option<Cause>) -> bool {
    matches!(cause, Some(Cause::RestartLoop | Cause::CpuStarvation))
}

/// A labelled crash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Crash {
    /// Container id.
    pub id: String,
    /// When.
    pub ts: f64,
    /// Why.
    pub cause: Cause,
}

/// How a crash was predicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Alarmed ≥ 30 s (and ≤ 10 min) before.
    Hit,
    /// Alarmed, but less than 30 s before.
    Late,
    /// Not alarmed.
    Miss,
}

/// The verdict on one crash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrashVerdict {
    /// The crash.
    pub crash: Crash,
    /// Hit, late or miss.
    pub outcome: Outcome,
    /// Seconds between the episode opening and the crash (hit or late).
    pub lead: Option<f64>,
    /// Whether the credited episode named the right cause.
    pub cause_ok: bool,
    /// Whether the container was sampled at all between 10 min and 30 s before the crash
    /// (after its previous crash): if not, no detector could have scored a hit.
    pub warnable: bool,
}

/// The verdict on one alarm episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EpisodeVerdict {
    /// A crash of that container followed within 600 s.
    True,
    /// No crash within 600 s.
    False,
    /// The trace ended before 600 s had passed: unknown.
    Censored,
}

/// Counts for one detector over some set of traces.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tally {
    /// Traces scored.
    pub traces: usize,
    /// Labelled crashes.
    pub crashes: usize,
    /// Crashes the container was visible for ≥ 30 s before (see [`CrashVerdict::warnable`]).
    pub warnable: usize,
    /// Crashes alarmed ≥ 30 s before.
    pub hits: usize,
    /// Crashes alarmed < 30 s before.
    pub late: usize,
    /// Crashes not alarmed.
    pub misses: usize,
    /// Hits whose episode named the labelled cause.
    pub cause_ok: usize,
    /// Hits credited to an episode carried through a restart back-off.
    pub carried_hits: usize,
    /// Alarm episodes.
    pub episodes: usize,
    /// Episodes followed by a crash within 600 s.
    pub true_alarms: usize,
    /// Episodes not followed by a crash within 600 s.
    pub false_alarms: usize,
    /// Episodes whose outcome the trace does not show.
    pub censored: usize,
    /// Lead times of the hits, seconds.
    pub leads: Vec<f64>,
    /// The detector's risk against what followed it, per sample.
    pub calibration: Reliability,
}

impl Tally {
    /// Add another tally.
    pub fn add(&mut self, o: &Tally) {
        self.traces += o.traces;
        self.crashes += o.crashes;
        self.warnable += o.warnable;
        self.hits += o.hits;
        self.late += o.late;
        self.misses += o.misses;
        self.cause_ok += o.cause_ok;
        self.carried_hits += o.carried_hits;
        self.episodes += o.episodes;
        self.true_alarms += o.true_alarms;
        self.false_alarms += o.false_alarms;
        self.censored += o.censored;
        self.leads.extend_from_slice(&o.leads);
        self.calibration.merge(&o.calibration);
    }

    /// hits / crashes (`None` without crashes).
    pub fn recall(&self) -> Option<f64> {
        (self.crashes > 0).then(|| self.hits as f64 / self.crashes as f64)
    }

    /// hits / warnable crashes: recall among crashes a detector could have warned of.
    pub fn recall_warnable(&self) -> Option<f64> {
        (self.warnable > 0).then(|| self.hits as f64 / self.warnable as f64)
    }

    /// true alarms / decided alarms (`None` without decided alarms).
    pub fn precision(&self) -> Option<f64> {
        let d = self.true_alarms + self.false_alarms;
        (d > 0).then(|| self.true_alarms as f64 / d as f64)
    }

    /// Harmonic mean of precision and recall (0 when either is 0 or undefined with crashes).
    pub fn f1(&self) -> Option<f64> {
        let r = self.recall()?;
        let p = self.precision().unwrap_or(0.0);
        Some(if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        })
    }

    /// Lead time at quantile `q` (nearest rank) over hits.
    pub fn lead_quantile(&self, q: f64) -> Option<f64> {
        if self.leads.is_empty() {
            return None;
        }
        let mut v = self.leads.clone();
        v.sort_by(f64::total_cmp);
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(v[rank - 1])
    }

    /// Summary figures for reports.
    pub fn summary(&self) -> Summary {
        Summary {
            traces: self.traces,
            crashes: self.crashes,
            warnable: self.warnable,
            hits: self.hits,
            late: self.late,
            misses: self.misses,
            cause_ok: self.cause_ok,
            carried_hits: self.carried_hits,
            episodes: self.episodes,
            false_alarms: self.false_alarms,
            censored: self.censored,
            recall: self.recall(),
            recall_warnable: self.recall_warnable(),
            precision: self.precision(),
            f1: self.f1(),
            lead_median_seconds: self.lead_quantile(0.5),
            lead_p10_seconds: self.lead_quantile(0.1),
        }
    }
}

/// The figures of a [`Tally`], as printed and in JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Traces.
    pub traces: usize,
    /// Crashes.
    pub crashes: usize,
    /// Crashes with ≥ 30 s of visible life before them.
    pub warnable: usize,
    /// Hits.
    pub hits: usize,
    /// Late.
    pub late: usize,
    /// Misses.
    pub misses: usize,
    /// Hits with the right cause.
    pub cause_ok: usize,
    /// Hits credited to an episode carried through a restart back-off.
    pub carried_hits: usize,
    /// Alarm episodes.
    pub episodes: usize,
    /// False alarms.
    pub false_alarms: usize,
    /// Censored episodes.
    pub censored: usize,
    /// Recall (≥ 30 s lead).
    pub recall: Option<f64>,
    /// Hits / warnable crashes.
    pub recall_warnable: Option<f64>,
    /// Precision.
    pub precision: Option<f64>,
    /// F1.
    pub f1: Option<f64>,
    /// Median lead of hits, seconds.
    pub lead_median_seconds: Option<f64>,
    /// 10th percentile lead of hits, seconds.
    pub lead_p10_seconds: Option<f64>,
}

/// Build alarm episodes of one container from its alarm states (in `ts` order) and its
/// crash times: see the module doc for the rules.
pub fn episodes_of(id: &str, states: &[(f64, Alarm)], crashes: &[f64]) -> Vec<Episode> {
    let mut out: Vec<Episode> = Vec::new();
    let mut open: Option<Episode> = None;
    let mut ci = 0;
    for &(ts, a) in states {
        // Crashes between the previous sample and this one end the open episode.
        while ci < crashes.len() && crashes[ci] <= ts {
            if let Some(mut e) = open.take() {
                e.end = Some(crashes[ci]);
                let cause = e.cause;
                out.push(e);
                if carries_over(cause) {
                    open = Some(Episode {
                        id: id.to_string(),
                        start: crashes[ci],
                        end: None,
                        cause,
                        carried: true,
                    });
                }
            }
            ci += 1;
        }
        match (&mut open, a.alarmed) {
            (None, true) => {
                open = Some(Episode {
                    id: id.to_string(),
                    start: ts,
                    end: None,
                    cause: a.cause,
                    carried: false,
                })
            }
            (Some(_), false) => {
                if let Some(mut e) = open.take() {
                    e.end = Some(ts);
                    out.push(e);
                }
            }
            _ => {}
        }
    }
    if let Some(mut e) = open.take() {
        if ci < crashes.len() {
            e.end = Some(crashes[ci]);
        }
        out.push(e);
    }
    out
}

/// Score one container's (or a whole trace's) episodes against its crashes.
/// `last_seen` is each container's last sample time; `may_crash` false means the trace is
/// known never to crash (no censoring).
pub fn score(
    episodes: &[Episode],
    crashes: &[Crash],
    last_seen: &HashMap<String, f64>,
    may_crash: bool,
) -> (Vec<CrashVerdict>, Vec<EpisodeVerdict>, Tally) {
    let mut t = Tally::default();
    let mut by_id: BTreeMap<&str, Vec<&Crash>> = BTreeMap::new();
    for c in crashes {
        by_id.entry(&c.id).or_default().push(c);
    }
    for v in by_id.values_mut() {
        v.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    }
    let mut verdicts = Vec::new();
    for (id, cs) in &by_id {
        let mut prev = f64::NEG_INFINITY;
        for c in cs {
            let earliest = episodes
                .iter()
                .filter(|e| {
                    e.id == *id
                        && e.start >= prev
                        && e.start <= c.ts
                        && e.start >= c.ts - HORIZON_SECONDS
                })
                .min_by(|a, b| a.start.total_cmp(&b.start));
            let carried = earliest.is_some_and(|e| e.carried);
            let (outcome, lead, cause_ok) = match earliest {
                Some(e) if c.ts - e.start >= MIN_LEAD_SECONDS => {
                    (Outcome::Hit, Some(c.ts - e.start), e.cause == Some(c.cause))
                }
                Some(e) => (
                    Outcome::Late,
                    Some(c.ts - e.start),
                    e.cause == Some(c.cause),
                ),
                None => (Outcome::Miss, None, false),
            };
            t.crashes += 1;
            match outcome {
                Outcome::Hit => {
                    t.hits += 1;
                    t.leads.extend(lead);
                    t.cause_ok += usize::from(cause_ok);
                    t.carried_hits += usize::from(carried);
                }
                Outcome::Late => t.late += 1,
                Outcome::Miss => t.misses += 1,
            }
            verdicts.push(CrashVerdict {
                crash: (*c).clone(),
                outcome,
                lead,
                cause_ok,
                warnable: true,
            });
            prev = c.ts;
        }
    }
    let mut ev = Vec::with_capacity(episodes.len());
    for e in episodes {
        let followed = by_id.get(e.id.as_str()).is_some_and(|cs| {
            // A carried episode opens at a crash, which it must not count as its own.
            cs.iter().any(|c| {
                (c.ts > e.start || (!e.carried && c.ts == e.start))
                    && c.ts <= e.start + HORIZON_SECONDS
            })
        });
        let seen_until = last_seen.get(&e.id).copied().unwrap_or(e.start);
        let verdict = if followed {
            EpisodeVerdict::True
        } else if may_crash && e.start + HORIZON_SECONDS > seen_until {
            EpisodeVerdict::Censored
        } else {
            EpisodeVerdict::False
        };
        t.episodes += 1;
        match verdict {
            EpisodeVerdict::True => t.true_alarms += 1,
            EpisodeVerdict::False => t.false_alarms += 1,
            EpisodeVerdict::Censored => t.censored += 1,
        }
        ev.push(verdict);
    }
    (verdicts, ev, t)
}

/// Everything eval learns from one trace for one detector.
#[derive(Debug, Clone)]
pub struct TraceScore {
    /// Episodes.
    pub episodes: Vec<Episode>,
    /// Verdicts per crash.
    pub crashes: Vec<CrashVerdict>,
    /// Verdicts per episode (same order as `episodes`).
    pub episode_verdicts: Vec<EpisodeVerdict>,
    /// Counts.
    pub tally: Tally,
}

/// Run `detector` over one trace (samples only, in `ts` order) and score it.
pub fn score_trace(
    lines: &[TraceLine],
    detector: &mut dyn Detector,
    may_crash: bool,
) -> TraceScore {
    let mut samples: Vec<&Sample> = Vec::new();
    let mut crashes: Vec<Crash> = Vec::new();
    for l in lines {
        match l {
            TraceLine::Sample(s) => samples.push(s),
            TraceLine::Label(l) if l.event == "crash" => crashes.push(Crash {
                id: l.id.clone(),
                ts: l.ts,
                cause: l.cause,
            }),
            TraceLine::Label(_) => {}
        }
    }
    // Stable: samples with equal ts keep file order.
    samples.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    let mut states: BTreeMap<&str, Vec<(f64, Alarm)>> = BTreeMap::new();
    let mut last_seen: HashMap<String, f64> = HashMap::new();
    for s in samples {
        let a = detector.observe(s);
        states.entry(&s.id).or_default().push((s.ts, a));
        last_seen.insert(s.id.clone(), s.ts);
    }
    // Per container, its crash times in order serve both its alarm episodes and the
    // calibration count of its samples.
    let mut episodes = Vec::new();
    let mut reliability = Reliability::default();
    for (id, st) in &states {
        let mut ct: Vec<f64> = crashes
            .iter()
            .filter(|c| c.id == **id)
            .map(|c| c.ts)
            .collect();
        ct.sort_by(f64::total_cmp);
        episodes.extend(episodes_of(id, st, &ct));
        let end = last_seen.get(*id).copied().unwrap_or(f64::NEG_INFINITY);
        for &(t, a) in st {
            if let (Some(r), Some(y)) = (a.risk, calibration::crashed_within(t, &ct, end)) {
                reliability.add(r, y);
            }
        }
    }
    let (mut cv, ev, mut tally) = score(&episodes, &crashes, &last_seen, may_crash);
    tally.traces = 1;
    tally.calibration = reliability;
    // Verdicts come per container in time order, so the previous one of the same id is the
    // previous crash.
    let mut prev: HashMap<String, f64> = HashMap::new();
    for v in &mut cv {
        let id = v.crash.id.as_str();
        let after = prev.get(id).copied().unwrap_or(f64::NEG_INFINITY);
        let lo = after.max(v.crash.ts - HORIZON_SECONDS);
        let hi = v.crash.ts - MIN_LEAD_SECONDS;
        // Or an alarm carried through the previous crash could have warned of it.
        v.warnable = states
            .get(id)
            .is_some_and(|st| st.iter().any(|&(t, _)| t > lo && t <= hi))
            || (after.is_finite() && v.crash.ts - after >= MIN_LEAD_SECONDS);
        tally.warnable += usize::from(v.warnable);
        prev.insert(id.to_string(), v.crash.ts);
    }
    TraceScore {
        episodes,
        crashes: cv,
        episode_verdicts: ev,
        tally,
    }
}

/// Per-kind and overall tallies of one detector.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Per kind name (`other` for traces not named `<kind>-<seed>-<n>.jsonl`).
    pub kinds: BTreeMap<String, Tally>,
}

impl Report {
    /// All traces.
    pub fn overall(&self) -> Tally {
        let mut t = Tally::default();
        self.kinds.values().for_each(|k| t.add(k));
        t
    }

    /// All traces except kinds that give no warning by construction (`alloc_spike`).
    pub fn predictable(&self) -> Tally {
        let mut t = Tally::default();
        self.kinds
            .iter()
            .filter(|(k, _)| !Kind::parse(k).is_some_and(Kind::unpredictable))
            .for_each(|(_, v)| t.add(v));
        t
    }

    /// Alarm episodes on the kinds that must never alarm (page cache, flat-high).
    pub fn quiet_kind_alarms(&self) -> usize {
        ["page_cache", "flat_high"]
            .iter()
            .filter_map(|k| self.kinds.get(*k))
            .map(|t| t.episodes)
            .sum()
    }
}

/// Training seeds recorded in a model file: `training.manifest.seeds` (what `train` stores:
/// the training set's `manifest.json`), `training.seeds`, or `training_seeds`.
pub fn model_training_seeds(model_json: &serde_json::Value) -> Option<Vec<u64>> {
    let t = model_json.get("training");
    let v = t
        .and_then(|t| t.get("manifest"))
        .and_then(|m| m.get("seeds"))
        .or_else(|| t.and_then(|t| t.get("seeds")))
        .or_else(|| model_json.get("training_seeds"))?;
    v.as_array()
        .map(|a| a.iter().filter_map(|x| x.as_u64()).collect())
}

/// Results of a whole `eval` run.
pub struct EvalRun {
    /// crashwatch.
    pub crashwatch: Report,
    /// The predict_linear baseline.
    pub baseline: Report,
    /// Warnings to print loudly (seed overlap, unreadable traces).
    pub warnings: Vec<String>,
    /// Seeds of the trace set, from its manifest.
    pub seeds: Vec<u64>,
    /// Per trace file, in name order.
    pub traces: Vec<TraceRow>,
}

/// What happened in one trace file, for both detectors (to find the traces to look at).
#[derive(Debug, Clone, Serialize)]
pub struct TraceRow {
    /// File name.
    pub file: String,
    /// Scenario kind (`other` when the name does not say).
    pub kind: String,
    /// crashwatch.
    pub crashwatch: Summary,
    /// The baseline.
    pub baseline: Summary,
    /// crashwatch's misses and late alarms: `(id, crash ts, cause)`.
    pub missed: Vec<(String, f64, Cause)>,
    /// Opening times of crashwatch's false alarms: `(id, ts)`.
    pub false_alarms: Vec<(String, f64)>,
}

/// Evaluate `model` and the baseline on every trace in `dir`.
pub fn evaluate_dir(
    dir: &Path,
    model: Arc<Model>,
    training_seeds: Option<&[u64]>,
) -> crate::Result<EvalRun> {
    let files: Vec<PathBuf> = trace::list_dir(dir)?;
    let mut warnings = Vec::new();
    let manifest = match Manifest::read(dir) {
        Ok(m) => m,
        Err(e) => {
            warnings.push(format!("manifest unreadable: {e}"));
            None
        }
    };
    let seeds = manifest
        .as_ref()
        .map(|m| m.seeds.clone())
        .unwrap_or_default();
    if let Some(ts) = training_seeds {
        let overlap: Vec<u64> = seeds.iter().copied().filter(|s| ts.contains(s)).collect();
        if !overlap.is_empty() {
            warnings.push(format!(
                "TRACE SEEDS {overlap:?} WERE USED TO TRAIN THIS MODEL: these figures are measured on training data and mean nothing"
            ));
        }
    }
    let mut run = EvalRun {
        crashwatch: Report::default(),
        baseline: Report::default(),
        warnings,
        seeds,
        traces: Vec::new(),
    };
    for f in files {
        // Read as replay reads: a line that does not parse costs that line, not the trace.
        let lines = match crate::replay::load(&f, true) {
            Ok(t) => {
                run.warnings.extend(t.problems(&f));
                t.into_lines()
            }
            Err(e) => {
                run.warnings.push(format!("skipped {e}"));
                continue;
            }
        };
        let kind = sim::kind_of_file(&f);
        let name = kind.map_or("other", Kind::as_str).to_string();
        let may_crash = kind.is_none_or(|k| k.expected_cause().is_some());
        let cw = score_trace(&lines, &mut Crashwatch::new(model.clone()), may_crash);
        let bl = score_trace(&lines, &mut PredictLinear::new(), may_crash);
        run.crashwatch
            .kinds
            .entry(name.clone())
            .or_default()
            .add(&cw.tally);
        run.baseline
            .kinds
            .entry(name.clone())
            .or_default()
            .add(&bl.tally);
        run.traces.push(TraceRow {
            file: f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            kind: name,
            crashwatch: cw.tally.summary(),
            baseline: bl.tally.summary(),
            missed: cw
                .crashes
                .iter()
                .filter(|v| v.outcome != Outcome::Hit)
                .map(|v| (v.crash.id.clone(), v.crash.ts, v.crash.cause))
                .collect(),
            false_alarms: cw
                .episodes
                .iter()
                .zip(&cw.episode_verdicts)
                .filter(|(_, v)| **v == EpisodeVerdict::False)
                .map(|(e, _)| (e.id.clone(), e.start))
                .collect(),
        });
    }
    Ok(run)
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.3}"))
}

fn secs(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.0}s"))
}

/// The human table of one detector's report.
pub fn table(title: &str, r: &Report) -> String {
    let mut s = format!("{title}\n");
    s += &format!(
        "{:<18} {:>6} {:>7} {:>5} {:>5} {:>4} {:>5} {:>7} {:>6} {:>6} {:>5} {:>5} {:>9} {:>6} {:>6} {:>9} {:>8}\n",
        "kind", "traces", "crashes", "warn", "hit", "late", "miss", "recall", "rec_w", "alarms", "false", "cens", "precision", "f1", "cause", "lead_med", "lead_p10"
    );
    let row = |name: &str, t: &Tally| {
        let m = t.summary();
        format!(
            "{:<18} {:>6} {:>7} {:>5} {:>5} {:>4} {:>5} {:>7} {:>6} {:>6} {:>5} {:>5} {:>9} {:>6} {:>6} {:>9} {:>8}\n",
            name,
            m.traces,
            m.crashes,
            m.warnable,
            m.hits,
            m.late,
            m.misses,
            pct(m.recall),
            pct(m.recall_warnable),
            m.episodes,
            m.false_alarms,
            m.censored,
            pct(m.precision),
            pct(m.f1),
            m.cause_ok,
            secs(m.lead_median_seconds),
            secs(m.lead_p10_seconds)
        )
    };
    for (k, t) in &r.kinds {
        s += &row(k, t);
    }
    s += &row("ALL", &r.overall());
    s += &row("ALL but alloc_spike", &r.predictable());
    s
}

/// JSON form of one report.
fn report_json(r: &Report) -> serde_json::Value {
    let kinds: BTreeMap<&String, Summary> = r.kinds.iter().map(|(k, t)| (k, t.summary())).collect();
    let predictable = r.predictable();
    serde_json::json!({
        "overall": r.overall().summary(),
        "predictable": predictable.summary(),
        "quiet_kind_alarms": r.quiet_kind_alarms(),
        "calibration": predictable.calibration.json(),
        "kinds": kinds,
    })
}

/// `crashwatch eval`.
pub fn command(args: crate::cli::EvalArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    let model = match &args.model {
        Some(p) => {
            // The error names the file already.
            Arc::new(Model::load(p).context("loading the model")?)
        }
        None => Model::embedded(),
    };
    let seeds = serde_json::to_value(model.file())
        .ok()
        .as_ref()
        .and_then(model_training_seeds);
    let run = evaluate_dir(&args.traces, model.clone(), seeds.as_deref())
        .context("evaluating the traces")?;
    for w in &run.warnings {
        tracing::warn!("{w}");
        eprintln!("WARNING: {w}");
    }
    if seeds.is_none() {
        eprintln!(
            "note: the model records no training seeds; make sure {} was not used to train it",
            args.traces.display()
        );
    }
    let cw = run.crashwatch.predictable();
    let bl = run.baseline.predictable();
    match args.format {
        crate::cli::EvalFormat::Json => {
            let v = serde_json::json!({
                "traces_dir": args.traces,
                "trace_seeds": run.seeds,
                "model_version": model.version(),
                "model_threshold": model.threshold(),
                "model_training_seeds": seeds,
                "min_lead_seconds": MIN_LEAD_SECONDS,
                "horizon_seconds": HORIZON_SECONDS,
                "crashwatch": report_json(&run.crashwatch),
                "baseline_predict_linear": report_json(&run.baseline),
                "warnings": run.warnings,
                "traces": run.traces,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        crate::cli::EvalFormat::Table => {
            println!(
                "eval of {} (seeds {:?}), model {} (threshold {}); hit = alarm ≥ {MIN_LEAD_SECONDS:.0} s and ≤ {HORIZON_SECONDS:.0} s before the crash\n",
                args.traces.display(),
                run.seeds,
                model.version(),
                model.threshold()
            );
            println!("{}", table("crashwatch", &run.crashwatch));
            println!(
                "{}",
                table(
                    "baseline: predict_linear(working_set[5m], 300) >= limit",
                    &run.baseline
                )
            );
            let f = |t: &Tally| t.f1().unwrap_or(0.0);
            println!(
                "summary (all kinds but alloc_spike): crashwatch recall {} (of warnable {}; {} of {} hits from alarms carried through a restart back-off) precision {} F1 {} median lead {} | baseline recall {} precision {} F1 {} | F1 gain {:+.3}",
                pct(cw.recall()),
                pct(cw.recall_warnable()),
                cw.carried_hits,
                cw.hits,
                pct(cw.precision()),
                pct(cw.f1()),
                secs(cw.lead_quantile(0.5)),
                pct(bl.recall()),
                pct(bl.precision()),
                pct(bl.f1()),
                f(&cw) - f(&bl)
            );
            println!(
                "alarms on page_cache + flat_high traces: crashwatch {}, baseline {}",
                run.crashwatch.quiet_kind_alarms(),
                run.baseline.quiet_kind_alarms()
            );
            print!("{}", calibration_table(&cw.calibration));
            print!("{}", worst_traces(&run.traces, 15));
        }
    }
    Ok(())
}

/// crashwatch's reliability table (all kinds but alloc_spike) with its heading.
fn calibration_table(r: &Reliability) -> String {
    format!(
        "\ncalibration of crash_risk (all kinds but alloc_spike; crashed = the container crashed within {h:.0} s of the sample; samples whose next {h:.0} s the trace does not show are left out): ECE {}\n{}",
        pct(r.ece()),
        r.table(),
        h = calibration::CALIBRATION_HORIZON_SECONDS,
    )
}

/// The traces where crashwatch missed (or was late for) a crash or raised a false alarm,
/// most problems first, at most `max` lines: where to look next.
pub fn worst_traces(rows: &[TraceRow], max: usize) -> String {
    let mut bad: Vec<&TraceRow> = rows
        .iter()
        .filter(|r| !r.missed.is_empty() || !r.false_alarms.is_empty())
        .collect();
    if bad.is_empty() {
        return String::new();
    }
    bad.sort_by_key(|r| std::cmp::Reverse(r.missed.len() + r.false_alarms.len()));
    let mut s = format!(
        "\ncrashwatch misses and false alarms ({} traces; `--format json` lists all):\n",
        bad.len()
    );
    for r in bad.iter().take(max) {
        let mut by_cause: BTreeMap<Cause, usize> = BTreeMap::new();
        for m in &r.missed {
            *by_cause.entry(m.2).or_default() += 1;
        }
        let causes: Vec<String> = by_cause.iter().map(|(c, n)| format!("{c}×{n}")).collect();
        s += &format!(
            "  {:<34} missed/late {:<24} false alarms {}\n",
            r.file,
            if causes.is_empty() {
                "-".to_string()
            } else {
                causes.join(" ")
            },
            r.false_alarms.len()
        );
    }
    s
}
