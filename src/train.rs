//! `crashwatch train`: fit the crash model on labelled traces.
//!
//! 1. Every trace file is replayed through the agent's own history/feature path; a row is
//!    taken at most every [`ROW_SECONDS`] of sample time per container (features use only
//!    the past). Its class is the cause of the next labelled crash of that container if it
//!    comes within `--horizon` seconds, else `none`.
//! 2. Files are split by a hash of their name: 80 % fit the trees, 20 % (validation) tune
//!    the alarm threshold by running the real [`Predictor`] (hysteresis included) and
//!    maximising episode-level F1. Reported figures come from `--holdout` (other seeds) only.
//! 3. linfa-trees fits a DecisionTree (or a bag of them on bootstrap resamples of the
//!    training files) with crash rows up-weighted to balance the classes; the tree is
//!    flattened and the *unweighted* training rows are routed to its leaves so each leaf
//!    stores real class counts: the probability it yields is a frequency, not a vote.
//!
//! This module must not be used at prediction time; it only writes a model file.
use crate::features::{self, N};
use crate::history::History;
use crate::model::{self, Model, ModelFile, Node, RiskParams, TreeFile, CLASSES};
use crate::predict::{Predictor, Transition};
use crate::replay::{self, LoadedTrace};
use crate::sample::Cause;
use anyhow::Context;
use linfa::prelude::*;
use linfa_trees::{DecisionTree, SplitQuality};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Least sample time between two training rows of one container, seconds.
pub const ROW_SECONDS: f64 = 5.0;
/// Least lead for an alarm to count as a hit, seconds (as `eval`).
pub const MIN_LEAD: f64 = 30.0;
/// An alarm not followed by a crash within this many seconds is a false alarm (as `eval`).
pub const FALSE_ALARM_WINDOW: f64 = 600.0;

/// Training rows of one trace.
struct Rows {
    x: Vec<[f32; N]>,
    y: Vec<usize>,
}

/// Class index of a cause (0 is `none`).
fn class_of(c: Cause) -> usize {
    1 + Cause::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

/// Feature rows and their classes for one trace.
fn rows_of(trace: &LoadedTrace, horizon: f64) -> Rows {
    let mut crashes: HashMap<&str, Vec<(f64, Cause)>> = HashMap::new();
    for l in &trace.labels {
        crashes
            .entry(l.id.as_str())
            .or_default()
            .push((l.ts, l.cause));
    }
    for v in crashes.values_mut() {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let mut hist: HashMap<&str, (History, f64)> = HashMap::new();
    let mut out = Rows {
        x: Vec::new(),
        y: Vec::new(),
    };
    for s in &trace.samples {
        let (h, last_row) = hist
            .entry(s.id.as_str())
            .or_insert_with(|| (History::new(), f64::NEG_INFINITY));
        if !h.push(s) || s.ts - *last_row < ROW_SECONDS {
            continue;
        }
        *last_row = s.ts;
        let f = features::extract(h, s);
        let next = crashes
            .get(s.id.as_str())
            .and_then(|v| v.iter().find(|(t, _)| *t > s.ts));
        let y = match next {
            Some((t, c)) if *t - s.ts <= horizon => class_of(*c),
            _ => 0,
        };
        out.x.push(f.x);
        out.y.push(y);
    }
    out
}

/// Episode-level scores of a model on labelled traces (the definitions of `eval`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Score {
    /// Labelled crashes.
    pub crashes: usize,
    /// Crashes alarmed at least [`MIN_LEAD`] s before.
    pub hits: usize,
    /// Crashes alarmed less than [`MIN_LEAD`] s before.
    pub late: usize,
    /// Alarm episodes.
    pub episodes: usize,
    /// Episodes not followed by a crash within [`FALSE_ALARM_WINDOW`].
    pub false_alarms: usize,
    /// hits / crashes.
    pub recall: f64,
    /// (episodes − false alarms) / episodes.
    pub precision: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
    /// Median lead of the hits, seconds.
    pub median_lead_s: Option<f64>,
    /// 10th percentile lead of the hits, seconds.
    pub p10_lead_s: Option<f64>,
    /// Containers without any crash label that alarmed at least once.
    pub alarmed_quiet_containers: usize,
    /// Containers without any crash label.
    pub quiet_containers: usize,
    #[serde(skip)]
    leads: Vec<f64>,
}

impl Score {
    fn add_trace(&mut self, model: &Arc<Model>, threshold: f64, trace: &LoadedTrace) {
        let mut p = Predictor::new(model.clone(), Some(threshold));
        // Per container: episodes as (opened, closed).
        let mut eps: HashMap<&str, Vec<(f64, Option<f64>)>> = HashMap::new();
        for s in &trace.samples {
            let (pred, ts) = p.observe(s);
            let e = eps.entry(s.id.as_str()).or_default();
            // An episode is the span of `crash_predicted` (a crash inside a restart loop
            // reports `Crashed` without ending it).
            let open = e.last().is_some_and(|l| l.1.is_none());
            if open && (!pred.crash_predicted || ts.contains(&Transition::Alarmed)) {
                if let Some(last) = e.last_mut() {
                    last.1 = Some(s.ts);
                }
            }
            if ts.contains(&Transition::Alarmed) {
                e.push((s.ts, None));
            }
        }
        let mut labels: HashMap<&str, Vec<f64>> = HashMap::new();
        for l in &trace.labels {
            labels.entry(l.id.as_str()).or_default().push(l.ts);
        }
        for (id, e) in &eps {
            let crash_ts = labels.get(id).map(|v| v.as_slice()).unwrap_or(&[]);
            if crash_ts.is_empty() {
                self.quiet_containers += 1;
                if !e.is_empty() {
                    self.alarmed_quiet_containers += 1;
                }
            }
            for (open, _) in e {
                self.episodes += 1;
                if !crash_ts
                    .iter()
                    .any(|t| *t >= *open && *t <= open + FALSE_ALARM_WINDOW)
                {
                    self.false_alarms += 1;
                }
            }
            for t in crash_ts {
                self.crashes += 1;
                // The episode alive at the crash (closed by it, at most a sweep later). An
                // episode that stays up through a restart loop warns of every crash in it.
                let alive = e
                    .iter()
                    .filter(|(o, c)| *o <= *t && c.is_none_or(|c| c >= *t - 1.0))
                    .map(|(o, _)| *t - *o)
                    .fold(None::<f64>, |m, l| Some(m.map_or(l, |m| m.max(l))));
                match alive {
                    Some(lead) if lead >= MIN_LEAD => {
                        self.hits += 1;
                        self.leads.push(lead);
                    }
                    Some(_) => self.late += 1,
                    None => {}
                }
            }
        }
    }

    fn finish(mut self) -> Score {
        self.recall = if self.crashes > 0 {
            self.hits as f64 / self.crashes as f64
        } else {
            0.0
        };
        self.precision = if self.episodes > 0 {
            (self.episodes - self.false_alarms) as f64 / self.episodes as f64
        } else {
            1.0
        };
        self.f1 = if self.recall + self.precision > 0.0 {
            2.0 * self.recall * self.precision / (self.recall + self.precision)
        } else {
            0.0
        };
        self.leads.sort_by(|a, b| a.total_cmp(b));
        let q = |p: f64| -> Option<f64> {
            if self.leads.is_empty() {
                return None;
            }
            let i = ((self.leads.len() - 1) as f64 * p).round() as usize;
            Some(self.leads[i])
        };
        self.median_lead_s = q(0.5);
        self.p10_lead_s = q(0.1);
        self
    }
}

/// Score `model` at `threshold` on labelled traces.
pub fn score(model: &Arc<Model>, threshold: f64, traces: &[LoadedTrace]) -> Score {
    let mut s = Score::default();
    for t in traces {
        s.add_trace(model, threshold, t);
    }
    s.finish()
}

/// Load every `*.jsonl` trace of a directory (labels included: this is training).
fn load_dir(dir: &Path) -> anyhow::Result<Vec<(PathBuf, LoadedTrace)>> {
    let files = crate::trace::list_dir(dir)?;
    anyhow::ensure!(!files.is_empty(), "no *.jsonl traces in {}", dir.display());
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let t = replay::load(&f, true).with_context(|| format!("reading {}", f.display()))?;
        if t.bad_lines > 0 {
            tracing::warn!("{}: skipped {} bad line(s)", f.display(), t.bad_lines);
        }
        out.push((f, t));
    }
    Ok(out)
}

/// Scenario kind of a trace file: the name up to the `-<seed>-<n>` suffix (`leak_linear-1-3`
/// → `leak_linear`); the whole stem for other names.
pub fn kind_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parts: Vec<&str> = stem.rsplitn(3, '-').collect();
    if parts.len() == 3 && parts[0].parse::<u64>().is_ok() && parts[1].parse::<u64>().is_ok() {
        parts[2].to_string()
    } else {
        stem
    }
}

/// Deterministic file split: FNV-1a of the file name, one in five to validation.
fn is_validation(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % 5 == 0
}

/// Flatten a linfa tree into preorder nodes (leaf counts filled in later).
fn flatten(node: &linfa_trees::TreeNode<f64, usize>, out: &mut Vec<Node>) -> usize {
    let me = out.len();
    out.push(Node {
        feature: -1,
        threshold: 0.0,
        left: 0,
        right: 0,
        counts: vec![0.0; CLASSES],
    });
    let children = node.children();
    let (l, r) = match (children.first(), children.get(1)) {
        (Some(Some(l)), Some(Some(r))) if !node.is_leaf() => (l, r),
        _ => return me,
    };
    let (f, v, _) = node.split();
    let li = flatten(l, out);
    let ri = flatten(r, out);
    out[me] = Node {
        feature: f as i32,
        threshold: f32_at_or_above(v),
        left: li as u32,
        right: ri as u32,
        counts: Vec::new(),
    };
    me
}

/// The smallest f32 ≥ `v`. linfa splits at the f64 midpoint between two f32 feature values;
/// rounding that midpoint *up* keeps `x < threshold` true for exactly the same f32 inputs
/// (rounding to nearest could land on the lower value and flip it).
fn f32_at_or_above(v: f64) -> f32 {
    let t = v as f32;
    if (t as f64) >= v || !t.is_finite() {
        return t;
    }
    let bits = t.to_bits();
    if t == 0.0 {
        f32::from_bits(1)
    } else if t > 0.0 {
        f32::from_bits(bits + 1)
    } else {
        f32::from_bits(bits - 1)
    }
}

/// Route rows to the leaves of a flattened tree and store unweighted class counts.
fn fill_counts(nodes: &mut [Node], x: &[[f32; N]], y: &[usize]) {
    for (row, &cls) in x.iter().zip(y) {
        let mut i = 0usize;
        while nodes[i].feature >= 0 {
            let n = &nodes[i];
            i = if row[n.feature as usize] < n.threshold {
                n.left
            } else {
                n.right
            } as usize;
        }
        if let Some(c) = nodes[i].counts.get_mut(cls) {
            *c += 1.0;
        }
    }
}

/// Fit one tree on rows (balanced class weights).
fn fit_tree(x: &[[f32; N]], y: &[usize], max_depth: usize) -> anyhow::Result<TreeFile> {
    let mut per_class = [0usize; CLASSES];
    for &c in y {
        per_class[c] += 1;
    }
    // Each class gets about the total weight of the largest one. Integer weights keep
    // linfa's f32 running sums exact (rounding there can trip its `n_samples > 0` assert).
    let largest = per_class.iter().copied().max().unwrap_or(1) as f64;
    let class_w: Vec<f32> = per_class
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                (largest / c as f64).round().max(1.0) as f32
            }
        })
        .collect();
    let w: Vec<f32> = y.iter().map(|&c| class_w[c]).collect();
    let mut records = Array2::<f64>::zeros((x.len(), N));
    for (i, row) in x.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            // f32 → f64 exactly, so the split values compare identically at prediction time.
            records[[i, j]] = *v as f64;
        }
    }
    let ds = Dataset::new(records, Array1::from(y.to_vec()))
        .with_weights(Array1::from(w))
        .with_feature_names(features::names());
    let tree = DecisionTree::<f64, usize>::params()
        .split_quality(SplitQuality::Gini)
        .max_depth(Some(max_depth))
        .min_weight_split(40.0)
        .min_weight_leaf(10.0)
        .fit(&ds)
        .context("fitting the decision tree")?;
    let mut nodes = Vec::new();
    flatten(tree.root_node(), &mut nodes);
    fill_counts(&mut nodes, x, y);
    Ok(TreeFile { nodes })
}

/// `crashwatch train`.
pub fn command(args: crate::cli::TrainArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    anyhow::ensure!(args.horizon > 0.0, "--horizon must be positive");
    anyhow::ensure!(args.trees >= 1, "--trees must be at least 1");
    let traces = load_dir(&args.traces)?;
    let (val, fit): (Vec<_>, Vec<_>) = traces.into_iter().partition(|(p, _)| is_validation(p));
    anyhow::ensure!(
        !fit.is_empty(),
        "every trace fell into the validation split; add traces"
    );
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut per_trace = Vec::with_capacity(fit.len());
    for (_, t) in &fit {
        let r = rows_of(t, args.horizon);
        per_trace.push((x.len(), r.x.len()));
        x.extend(r.x);
        y.extend(r.y);
    }
    let mut class_rows = [0usize; CLASSES];
    for &c in &y {
        class_rows[c] += 1;
    }
    anyhow::ensure!(
        class_rows[0] < y.len(),
        "no crash labels in {}: nothing to learn",
        args.traces.display()
    );
    tracing::info!(
        "{} training rows from {} traces; per class {:?}",
        y.len(),
        fit.len(),
        class_rows
    );

    let mut trees = Vec::with_capacity(args.trees);
    if args.trees == 1 {
        trees.push(fit_tree(&x, &y, args.max_depth)?);
    } else {
        // Bootstrap over whole traces (rows of one trace are strongly correlated).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
        for _ in 0..args.trees {
            let (mut bx, mut by) = (Vec::new(), Vec::new());
            for _ in 0..per_trace.len() {
                let (start, len) = per_trace[rng.random_range(0..per_trace.len())];
                bx.extend_from_slice(&x[start..start + len]);
                by.extend_from_slice(&y[start..start + len]);
            }
            if by.iter().all(|c| *c == 0) {
                continue;
            }
            let mut t = fit_tree(&bx, &by, args.max_depth)?;
            // Leaf frequencies from all training rows, not just the bootstrap.
            t.nodes
                .iter_mut()
                .filter(|n| n.feature < 0)
                .for_each(|n| n.counts = vec![0.0; CLASSES]);
            fill_counts(&mut t.nodes, &x, &y);
            trees.push(t);
        }
    }

    let total = y.len() as f64;
    let prior: Vec<f64> = class_rows.iter().map(|c| *c as f64 / total).collect();
    let manifest = std::fs::read_to_string(args.traces.join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
    let mut file = ModelFile {
        format: model::FORMAT.into(),
        format_version: model::FORMAT_VERSION,
        model_version: String::new(),
        features: features::docs(),
        classes: model::class_names(),
        threshold: 0.5,
        risk: RiskParams::default(),
        prior,
        training: serde_json::Value::Null,
        eval: serde_json::Value::Null,
        trees,
    };
    let m = Arc::new(Model::from_file(file.clone())?);

    // Threshold: best episode F1 on the validation files (ties → the higher threshold).
    let val_traces: Vec<LoadedTrace> = val.into_iter().map(|(_, t)| t).collect();
    let mut sweep = Vec::new();
    let mut best = (f64::NEG_INFINITY, 0.5);
    for i in 0..=16 {
        let thr = 0.1 + 0.05 * i as f64;
        let s = score(&m, thr, &val_traces);
        if s.f1 >= best.0 {
            best = (s.f1, thr);
        }
        sweep.push(serde_json::json!({"threshold": thr, "f1": s.f1, "precision": s.precision, "recall": s.recall}));
    }
    let threshold = args.threshold.unwrap_or(best.1);
    anyhow::ensure!(
        (0.0..=1.0).contains(&threshold),
        "--threshold must be within 0..1"
    );
    file.threshold = threshold;
    let validation = score(
        &Arc::new(Model::from_file(file.clone())?),
        threshold,
        &val_traces,
    );

    let leaves: usize = file
        .trees
        .iter()
        .map(|t| t.nodes.iter().filter(|n| n.feature < 0).count())
        .sum();
    let version_hash = {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in serde_json::to_string(&file.trees)
            .unwrap_or_default()
            .bytes()
        {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    };
    file.model_version = format!("tree-{}-{:08x}", file.trees.len(), version_hash as u32);
    file.training = serde_json::json!({
        "command": format!(
            "crashwatch train --traces {} --out {} --horizon {} --trees {} --max-depth {}",
            args.traces.display(), args.out.display(), args.horizon, args.trees, args.max_depth
        ),
        "traces_dir": args.traces.display().to_string(),
        "manifest": manifest,
        "fit_traces": fit.len(),
        "validation_traces": val_traces.len(),
        "rows": y.len(),
        "rows_per_class": class_names_map(&class_rows),
        "row_every_s": ROW_SECONDS,
        "horizon_s": args.horizon,
        "algorithm": "linfa-trees 0.8 DecisionTree, Gini, balanced class weights; leaf probabilities from unweighted training counts",
        "trees": file.trees.len(),
        "max_depth": args.max_depth,
        "min_weight_split": 40,
        "min_weight_leaf": 10,
        "leaves": leaves,
        "threshold_sweep_on_validation": sweep,
        "validation": validation,
        "seconds": started.elapsed().as_secs_f64(),
    });

    if let Some(dir) = &args.holdout {
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        anyhow::ensure!(
            canon(dir) != canon(&args.traces),
            "--holdout must not be the training directory"
        );
        let held_files = load_dir(dir)?;
        let final_model = Arc::new(Model::from_file(file.clone())?);
        let mut kinds: std::collections::BTreeMap<String, Vec<LoadedTrace>> = Default::default();
        for (p, t) in &held_files {
            kinds.entry(kind_of(p)).or_default().push(t.clone());
        }
        let per_kind: std::collections::BTreeMap<String, Score> = kinds
            .iter()
            .map(|(k, ts)| (k.clone(), score(&final_model, threshold, ts)))
            .collect();
        for (k, s) in &per_kind {
            println!(
                "  {k:<20} crashes {:>4} hits {:>4} late {:>3} episodes {:>4} false {:>4} recall {:.2} precision {:.2} median lead {:>5.0}",
                s.crashes, s.hits, s.late, s.episodes, s.false_alarms, s.recall, s.precision, s.median_lead_s.unwrap_or(f64::NAN)
            );
        }
        let held: Vec<LoadedTrace> = held_files.into_iter().map(|(_, t)| t).collect();
        let s = score(&final_model, threshold, &held);
        let hm = std::fs::read_to_string(dir.join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        file.eval = serde_json::json!({
            "traces_dir": dir.display().to_string(),
            "manifest": hm,
            "traces": held.len(),
            "threshold": threshold,
            "score": s,
            "per_kind": per_kind,
        });
        println!(
            "holdout: recall {:.3} precision {:.3} f1 {:.3} median lead {:?} s, {} crashes, {} episodes, {} false",
            s.recall, s.precision, s.f1, s.median_lead_s, s.crashes, s.episodes, s.false_alarms
        );
    }
    let model = Model::from_file(file)?;
    std::fs::write(&args.out, model.to_json()? + "\n")
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {} ({}, threshold {:.2}, {} rows, validation f1 {:.3}) in {:.1} s",
        args.out.display(),
        model.version(),
        threshold,
        y.len(),
        validation.f1,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn class_names_map(rows: &[usize; CLASSES]) -> serde_json::Value {
    let names = model::class_names();
    serde_json::Value::Object(
        names
            .into_iter()
            .zip(rows.iter())
            .map(|(n, c)| (n, serde_json::json!(c)))
            .collect(),
    )
}
