//! `crashwatch train`: fit the crash model on labelled traces.
//!
//! 1. Every trace file is replayed through the agent's own history/feature path; a row is
//!    taken at most every [`ROW_SECONDS`] of sample time per container (features use only
//!    the past). Its class is the cause of the next labelled crash of that container if it
//!    comes within `--horizon` seconds, else `none`.
//! 2. Files are split by a hash of their name: 80 % fit the trees, 20 % (validation) tune
//!    the alarm threshold by running the agent's real predictor (hysteresis included) and
//!    maximising `eval`'s F1 (all kinds but the unpredictable `alloc_spike`). Reported
//!    figures come from `--holdout` (other seeds) only, scored by `eval` itself.
//! 3. linfa-trees fits a DecisionTree (or a bag of them on bootstrap resamples of the
//!    training files) with crash rows up-weighted to balance the classes; the tree is
//!    flattened and the *unweighted* training rows are routed to its leaves so each leaf
//!    stores real class counts: the probability it yields is a frequency, not a vote.
//!
//! This module must not be used at prediction time; it only writes a model file.
use crate::features::{self, N};
use crate::history::History;
use crate::model::{self, Model, ModelFile, Node, RiskParams, TreeFile, CLASSES};
use crate::replay::{self, LoadedTrace};
use crate::sample::{Cause, Sample};
use crate::trace::TraceLine;
use crate::{eval, sim};
use anyhow::Context;
use linfa::prelude::*;
use linfa_trees::{DecisionTree, SplitQuality};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Least sample time between two training rows of one container, seconds.
pub const ROW_SECONDS: f64 = 5.0;
/// `--horizon`'s default: a row is labelled with the cause of a crash this many seconds ahead.
pub const DEFAULT_HORIZON_SECONDS: f64 = 300.0;

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

/// Field groups that a trace source may lack as a whole (a Prometheus export has no anon
/// split, a v1 node no PSI, a hand-written generator maybe only usage and limit). Usage,
/// limit and the timestamps are never blanked: without them there is nothing to predict.
const BLANK_GROUPS: [fn(&mut Sample); 10] = [
    |s| s.memory_working_set_bytes = None,
    |s| s.memory_anon_bytes = None,
    |s| s.memory_file_bytes = None,
    |s| {
        s.memory_pressure_some_avg10 = None;
        s.memory_pressure_full_avg10 = None;
        s.cpu_pressure_some_avg10 = None;
    },
    |s| {
        s.oom_events_total = None;
        s.memory_high_events_total = None;
        s.memory_max_events_total = None;
        s.pod_oom_kills_total = None;
    },
    |s| s.pids_limit = None,
    |s| {
        s.cpu_throttled_seconds_total = None;
        s.cpu_throttled_periods_total = None;
        s.cpu_periods_total = None;
    },
    |s| {
        s.node_memory_available_bytes = None;
        s.node_memory_total_bytes = None;
    },
    |s| s.memory_swap_bytes = None,
    |s| s.qos = None,
];

/// A copy of `trace` as a source without some field groups would have written it: each
/// group of [`BLANK_GROUPS`] is dropped from every sample with probability one half, the
/// choice drawn from `rng` once per copy (a source lacks a field for the whole trace).
fn blanked(trace: &LoadedTrace, rng: &mut impl Rng) -> LoadedTrace {
    let drop: Vec<_> = BLANK_GROUPS
        .iter()
        .filter(|_| rng.random::<bool>())
        .collect();
    let samples = trace
        .samples
        .iter()
        .map(|s| {
            let mut s = s.clone();
            drop.iter().for_each(|f| f(&mut s));
            s
        })
        .collect();
    LoadedTrace {
        samples,
        labels: trace.labels.clone(),
        ..LoadedTrace::default()
    }
}

/// Score a model on labelled traces with `eval`'s definitions (the agent's own
/// [`crate::predict::Predictor`] through [`eval::Crashwatch`]), per scenario kind.
pub fn eval_report(model: &Arc<Model>, traces: &[(PathBuf, Vec<TraceLine>)]) -> eval::Report {
    let mut r = eval::Report::default();
    for (p, lines) in traces {
        let kind = sim::kind_of_file(p);
        let name = kind.map_or("other", sim::Kind::as_str).to_string();
        let may_crash = kind.is_none_or(|k| k.expected_cause().is_some());
        let s = eval::score_trace(lines, &mut eval::Crashwatch::new(model.clone()), may_crash);
        r.kinds.entry(name).or_default().add(&s.tally);
    }
    r
}

/// Load every `*.jsonl` trace of a directory (labels included: this is training).
fn load_dir(dir: &Path) -> anyhow::Result<Vec<(PathBuf, LoadedTrace)>> {
    let files = crate::trace::list_dir(dir)?;
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let t = replay::load(&f, true).context("reading a trace")?;
        for p in t.problems(&f) {
            tracing::warn!("{p}");
        }
        out.push((f, t));
    }
    Ok(out)
}

/// Deterministic file split: FNV-1a of the file name, one in five to validation.
fn is_validation(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    fnv1a(name.as_bytes()) % 5 == 0
}

/// 64-bit FNV-1a of `bytes`: a hash that stays the same across builds and platforms (the
/// validation split and the model's version name must).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Flatten a linfa tree into preorder nodes (leaf counts filled in later).
fn flatten(node: &linfa_trees::TreeNode<f64, usize>, out: &mut Vec<Node>) -> usize {
    let me = out.len();
    out.push(Node::leaf(vec![0.0; CLASSES]));
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
    let (Rows { x, y }, per_trace) = training_rows(&fit, args.horizon, args.blank);
    let mut class_rows = [0usize; CLASSES];
    for &c in &y {
        class_rows[c] += 1;
    }
    anyhow::ensure!(
        class_rows[0] < y.len(),
        "no crash labels in {}: nothing to learn",
        args.traces.display()
    );
    anyhow::ensure!(
        class_rows[0] > 0,
        "every training row in {} has a crash ahead: no healthy samples to tell them from",
        args.traces.display()
    );
    tracing::info!(
        "{} training rows from {} traces; per class {:?}",
        y.len(),
        fit.len(),
        class_rows
    );

    let trees = fit_forest(&x, &y, &per_trace, args.trees, args.max_depth)?;

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

    let val_lines: Vec<(PathBuf, Vec<TraceLine>)> = val
        .iter()
        .map(|(p, t)| (p.clone(), t.clone().into_lines()))
        .collect();
    drop(val);
    let (chosen, sweep) = sweep_threshold(&mut file, &val_lines)?;
    let threshold = args.threshold.unwrap_or(chosen);
    anyhow::ensure!(
        (0.0..=1.0).contains(&threshold),
        "--threshold must be within 0..1"
    );
    file.threshold = threshold;
    let validation = eval_report(&Arc::new(Model::from_file(file.clone())?), &val_lines)
        .predictable()
        .summary();

    let leaves: usize = file
        .trees
        .iter()
        .map(|t| t.nodes.iter().filter(|n| n.feature < 0).count())
        .sum();
    file.model_version = model_version(&file.trees);
    file.training = serde_json::json!({
        "command": format!(
            "crashwatch train --traces {} --out {} --horizon {} --trees {} --max-depth {} --blank {}",
            args.traces.display(), args.out.display(), args.horizon, args.trees, args.max_depth, args.blank
        ),
        "traces_dir": args.traces.display().to_string(),
        "manifest": manifest,
        "fit_traces": fit.len(),
        "validation_traces": val_lines.len(),
        "rows": y.len(),
        "rows_per_class": class_names_map(&class_rows),
        "row_every_s": ROW_SECONDS,
        "horizon_s": args.horizon,
        "algorithm": "linfa-trees 0.8 DecisionTree, Gini, balanced class weights; leaf probabilities from unweighted training counts",
        "trees": file.trees.len(),
        "blanked_copies_per_trace": args.blank,
        "max_depth": args.max_depth,
        "min_weight_split": 40,
        "min_weight_leaf": 10,
        "leaves": leaves,
        "threshold_sweep_on_validation": sweep,
        "validation": validation,
        "seconds": started.elapsed().as_secs_f64(),
    });

    if let Some(dir) = &args.holdout {
        file.eval = holdout_eval(&file, dir, &args, manifest.as_ref())?;
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
        validation.f1.unwrap_or(0.0),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The training rows of the `fit` traces (each with `blank` blanked copies, see `blanked`),
/// labelled over `horizon` seconds: features, classes, and where each trace's rows start and
/// how many there are (the bootstrap draws whole traces).
fn training_rows(
    fit: &[(PathBuf, LoadedTrace)],
    horizon: f64,
    blank: usize,
) -> (Rows, Vec<(usize, usize)>) {
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut per_trace = Vec::with_capacity(fit.len());
    // Blanked copies draw from their own stream, so `--blank 0` fits exactly as before.
    let mut blank_rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for (_, t) in fit {
        let copies = (0..blank).map(|_| blanked(t, &mut blank_rng));
        for r in std::iter::once(rows_of(t, horizon)).chain(copies.map(|c| rows_of(&c, horizon))) {
            per_trace.push((x.len(), r.x.len()));
            x.extend(r.x);
            y.extend(r.y);
        }
    }
    (Rows { x, y }, per_trace)
}

/// One tree fitted on all rows, or `n` trees each on a bootstrap of whole traces
/// (`per_trace`), with leaf frequencies from all rows.
fn fit_forest(
    x: &[[f32; N]],
    y: &[usize],
    per_trace: &[(usize, usize)],
    n: usize,
    max_depth: usize,
) -> anyhow::Result<Vec<TreeFile>> {
    let mut trees = Vec::with_capacity(n);
    if n == 1 {
        trees.push(fit_tree(x, y, max_depth)?);
    } else {
        // Bootstrap over whole traces (rows of one trace are strongly correlated).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
        for _ in 0..n {
            let (mut bx, mut by) = (Vec::new(), Vec::new());
            for _ in 0..per_trace.len() {
                let (start, len) = per_trace[rng.random_range(0..per_trace.len())];
                bx.extend_from_slice(&x[start..start + len]);
                by.extend_from_slice(&y[start..start + len]);
            }
            if by.iter().all(|c| *c == 0) {
                continue;
            }
            let mut t = fit_tree(&bx, &by, max_depth)?;
            // Leaf frequencies from all training rows, not just the bootstrap.
            t.nodes
                .iter_mut()
                .filter(|n| n.feature < 0)
                .for_each(|n| n.counts = vec![0.0; CLASSES]);
            fill_counts(&mut t.nodes, x, y);
            trees.push(t);
        }
    }

    Ok(trees)
}

/// The alarm threshold with the best `eval` F1 on the validation traces (`val_lines`), and
/// the sweep of thresholds tried (left in `file.threshold` at its last).
fn sweep_threshold(
    file: &mut ModelFile,
    val_lines: &[(PathBuf, Vec<TraceLine>)],
) -> anyhow::Result<(f64, Vec<serde_json::Value>)> {
    // Threshold: the best `eval` F1 on the validation files, except that the highest
    // threshold within F1_TIE of it wins: ~80 validation traces cannot tell such F1 apart
    // (one crash moves recall by ~0.007), and a false alarm costs a user more than a few
    // seconds of lead.
    const F1_TIE: f64 = 0.01;
    let mut sweep = Vec::new();
    let mut f1s = Vec::new();
    for i in 0..=16 {
        let thr = 0.1 + 0.05 * i as f64;
        file.threshold = thr;
        let m = Arc::new(Model::from_file(file.clone())?);
        let t = eval_report(&m, val_lines).predictable();
        f1s.push((thr, t.f1().unwrap_or(0.0)));
        sweep.push(serde_json::json!({"threshold": thr, "f1": t.f1(), "precision": t.precision(), "recall": t.recall()}));
    }
    let best_f1 = f1s.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
    let chosen = f1s
        .iter()
        .filter(|x| x.1 >= best_f1 - F1_TIE)
        .map(|x| x.0)
        .fold(f64::NEG_INFINITY, f64::max);
    Ok((chosen, sweep))
}

/// A model's version: `tree-<count>-<FNV-1a of its trees' JSON, low 32 bits>`, so that the
/// same trees always carry the same name.
fn model_version(trees: &[TreeFile]) -> String {
    let hash = fnv1a(serde_json::to_string(trees).unwrap_or_default().as_bytes());
    format!("tree-{}-{:08x}", trees.len(), hash as u32)
}

/// `eval` of the model `file` on the held-out traces in `dir` (never the training
/// directory), printed and returned for the model file's `eval` section.
fn holdout_eval(
    file: &ModelFile,
    dir: &Path,
    args: &crate::cli::TrainArgs,
    manifest: Option<&serde_json::Value>,
) -> anyhow::Result<serde_json::Value> {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    anyhow::ensure!(
        canon(dir) != canon(&args.traces),
        "--holdout must not be the training directory"
    );
    let final_model = Arc::new(Model::from_file(file.clone())?);
    let seeds = manifest.and_then(|m| {
        m.get("seeds")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_u64()).collect::<Vec<u64>>())
    });
    let run = eval::evaluate_dir(dir, final_model, seeds.as_deref())?;
    for w in &run.warnings {
        eprintln!("WARNING: {w}");
    }
    print!("{}", eval::table("crashwatch (held-out)", &run.crashwatch));
    let predictable = run.crashwatch.predictable();
    let cw = predictable.summary();
    let bl = run.baseline.predictable().summary();
    let per_kind: serde_json::Map<String, serde_json::Value> = run
        .crashwatch
        .kinds
        .iter()
        .map(|(k, t)| (k.clone(), serde_json::json!(t.summary())))
        .collect();
    let eval = serde_json::json!({
        "command": format!("crashwatch eval --traces {} --model {}", dir.display(), args.out.display()),
        "traces_dir": dir.display().to_string(),
        "seeds": run.seeds,
        "threshold": file.threshold,
        "scope": "all kinds but alloc_spike (no warning exists by construction)",
        "crashwatch": cw,
        "baseline_predict_linear": bl,
        "quiet_kind_alarms": run.crashwatch.quiet_kind_alarms(),
        "calibration": predictable.calibration.json(),
        "per_kind": per_kind,
        "warnings": run.warnings,
    });
    println!(
        "holdout (all but alloc_spike): recall {:?} precision {:?} f1 {:?} median lead {:?} s | baseline f1 {:?}",
        cw.recall, cw.precision, cw.f1, cw.lead_median_seconds, bl.f1
    );
    Ok(eval)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Two features holding the same numbers split the rows identically. linfa-trees as
    /// published summed Gini terms in `HashMap` order, so which of the two won changed from
    /// fit to fit; the vendored copy (vendor/linfa-trees/PATCHED.md) sums in a fixed order.
    #[test]
    fn identical_columns_give_the_same_tree_on_every_fit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..3000 {
            let v: f32 = rng.random_range(0.0..1.0);
            let mut row = [0f32; N];
            row[4] = v;
            row[7] = v;
            row[0] = rng.random_range(0.0..1.0);
            x.push(row);
            // Six overlapping classes along v, so that many candidate splits are close.
            let c = ((v * 5.0 + rng.random_range(-0.7..0.7)).round() as i64).clamp(0, 5);
            y.push(c as usize);
        }
        let first = fit_tree(&x, &y, 6).unwrap();
        assert_eq!(
            first.nodes[0].feature, 4,
            "the first of two equal features wins"
        );
        for _ in 0..20 {
            let again = fit_tree(&x, &y, 6).unwrap();
            assert_eq!(
                again.nodes, first.nodes,
                "a refit on the same rows gave a different tree"
            );
        }
    }

    /// Rows that all have a crash ahead leave the tree nothing to tell them from: `train`
    /// refuses instead of writing a model that alarms on everything.
    #[test]
    fn training_on_crash_rows_only_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A name outside the validation split, so the one trace is fitted.
        let name = (0..)
            .map(|i| format!("t{i}.jsonl"))
            .find(|n| !is_validation(Path::new(n)))
            .unwrap();
        let mut text = String::new();
        for i in 0..20 {
            text.push_str(&format!(
                "{{\"ts\":{},\"id\":\"a/b/c\",\"memory_working_set_bytes\":{},\"memory_limit_bytes\":1000}}\n",
                i * 5,
                500 + i * 20
            ));
        }
        text.push_str("{\"ts\":100,\"id\":\"a/b/c\",\"event\":\"crash\",\"cause\":\"oom_kill\"}\n");
        std::fs::write(dir.path().join(name), text).unwrap();
        let args = crate::cli::TrainArgs {
            traces: dir.path().to_path_buf(),
            out: dir.path().join("model.json"),
            holdout: None,
            horizon: 300.0,
            trees: 1,
            max_depth: 10,
            blank: 0,
            threshold: None,
        };
        let err = command(args).unwrap_err().to_string();
        assert!(err.contains("no healthy samples"), "{err}");
        assert!(!dir.path().join("model.json").exists());
    }

    /// A blanked copy drops whole field groups from every sample alike (a source lacks a
    /// field for the whole trace), never usage, limit or time, and keeps the labels.
    #[test]
    fn a_blanked_copy_drops_whole_groups_and_keeps_usage_limit_and_labels() {
        let lines = sim::generate(sim::Kind::LeakLinear, 3, 0).lines;
        let mut trace = LoadedTrace::default();
        for l in lines {
            match l {
                TraceLine::Sample(s) => trace.samples.push(*s),
                TraceLine::Label(l) => trace.labels.push(l),
            }
        }
        assert!(!trace.labels.is_empty());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut dropped_ws = 0;
        for _ in 0..20 {
            let c = blanked(&trace, &mut rng);
            assert_eq!(c.samples.len(), trace.samples.len());
            assert_eq!(c.labels.len(), trace.labels.len());
            let has_ws: Vec<bool> = c
                .samples
                .iter()
                .map(|s| s.memory_working_set_bytes.is_some())
                .collect();
            assert!(
                has_ws.iter().all(|&b| b) || has_ws.iter().all(|&b| !b),
                "working set dropped from some samples only"
            );
            dropped_ws += usize::from(!has_ws[0]);
            for (a, b) in c.samples.iter().zip(&trace.samples) {
                assert_eq!(a.ts, b.ts);
                assert_eq!(a.memory_usage_bytes, b.memory_usage_bytes);
                assert_eq!(a.memory_limit_bytes, b.memory_limit_bytes);
                assert_eq!(a.restarts_total, b.restarts_total);
            }
        }
        // Each group goes with probability one half: 20 copies all keeping it is ~1e-6.
        assert!(
            (1..20).contains(&dropped_ws),
            "dropped in {dropped_ws} of 20"
        );
    }
}
