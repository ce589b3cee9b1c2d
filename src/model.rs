//! The crash model: one or more decision trees fitted with linfa-trees, flattened into arrays
//! with per-leaf class counts (linfa-trees 0.8 keeps only the modal class in a leaf, so the
//! counts are what turn a leaf into a probability), saved as versioned JSON. The default model
//! (`model/crash_predictor.json`) is compiled in; `--model` loads another file.
//!
//! This module only stores and evaluates trees; how a probability becomes a risk and an alarm
//! is `predict`, how trees are fitted is `train`.
use crate::features::{self, FeatureDoc, N};
use crate::sample::Cause;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

/// `format` field of every model file.
pub const FORMAT: &str = "crashwatch-model";
/// Current model file format version; older or newer files are refused with a clear error.
pub const FORMAT_VERSION: u32 = 1;
/// Number of classes: "none" plus every [`Cause`].
pub const CLASSES: usize = 1 + Cause::ALL.len();

/// Class names in probability order: `none`, then the causes.
pub fn class_names() -> Vec<String> {
    std::iter::once("none".to_string())
        .chain(Cause::ALL.iter().map(|c| c.as_str().to_string()))
        .collect()
}

/// One node of a flattened tree. Internal nodes route `x[feature] < threshold` to `left`
/// (linfa-trees' own rule); leaves carry the training class counts that reached them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Feature index, or `-1` for a leaf.
    pub feature: i32,
    /// Split value.
    #[serde(default)]
    pub threshold: f32,
    /// Left child index.
    #[serde(default)]
    pub left: u32,
    /// Right child index.
    #[serde(default)]
    pub right: u32,
    /// Leaf only: training rows per class (unweighted), in [`class_names`] order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counts: Vec<f64>,
}

/// A flattened tree (root at index 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeFile {
    /// Nodes; children always have larger indices than their parent.
    pub nodes: Vec<Node>,
}

impl Node {
    /// A leaf holding `counts` training rows per class.
    pub fn leaf(counts: Vec<f64>) -> Node {
        Node {
            feature: -1,
            threshold: 0.0,
            left: 0,
            right: 0,
            counts,
        }
    }
}

impl TreeFile {
    /// A tree of one split: where feature `feature` is at most `threshold` the leaf of
    /// `below`'s class counts, else `above`'s. The smallest model that says something, for
    /// tests that need the trees to call one cause on one side of a value.
    pub fn stump(
        feature: usize,
        threshold: f32,
        below: [f64; CLASSES],
        above: [f64; CLASSES],
    ) -> TreeFile {
        TreeFile {
            nodes: vec![
                Node {
                    feature: feature as i32,
                    threshold,
                    left: 1,
                    right: 2,
                    counts: vec![],
                },
                Node::leaf(below.to_vec()),
                Node::leaf(above.to_vec()),
            ],
        }
    }
}

/// Parameters of the risk combination (see `predict`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskParams {
    /// Time-to-limit at which the physical risk is 0.5, seconds: risk = 1 / (1 + (ttl/scale)^2).
    pub ttl_scale_s: f64,
    /// Laplace-style smoothing weight of the class prior in a leaf, rows.
    pub leaf_smoothing: f64,
    /// An alarm clears after risk stays below `threshold − clear_margin` ...
    pub clear_margin: f64,
    /// ... for this many seconds.
    pub clear_after_s: f64,
}

impl Default for RiskParams {
    fn default() -> Self {
        RiskParams {
            ttl_scale_s: 120.0,
            leaf_smoothing: 4.0,
            clear_margin: 0.15,
            clear_after_s: 60.0,
        }
    }
}

/// The whole model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// File format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Version of this trained model (shown in `/predict` replies and build info).
    pub model_version: String,
    /// Feature list the trees were trained on, in order.
    pub features: Vec<FeatureDoc>,
    /// Class names, in count order.
    pub classes: Vec<String>,
    /// Default alarm threshold on the risk.
    pub threshold: f64,
    /// Risk combination parameters.
    #[serde(default)]
    pub risk: RiskParams,
    /// Training class frequencies (the prior used to smooth leaves).
    pub prior: Vec<f64>,
    /// How the model was trained (command, seeds, parameters, sizes).
    #[serde(default)]
    pub training: serde_json::Value,
    /// Evaluation figures on held-out seeds (never the training seeds).
    #[serde(default)]
    pub eval: serde_json::Value,
    /// The trees (one, or a bag whose probabilities are averaged). Empty = physics only.
    pub trees: Vec<TreeFile>,
}

/// Tree in evaluation layout: parallel arrays, probabilities precomputed per leaf.
#[derive(Debug, Clone)]
struct Flat {
    feature: Vec<i32>,
    threshold: Vec<f32>,
    left: Vec<u32>,
    right: Vec<u32>,
    /// Per node; meaningful on leaves only.
    probs: Vec<[f32; CLASSES]>,
}

/// A loaded crash model.
#[derive(Debug, Clone)]
pub struct Model {
    file: ModelFile,
    trees: Vec<Flat>,
}

const EMBEDDED: &str = include_str!("../model/crash_predictor.json");

impl Model {
    /// The model compiled into the binary. Falls back to the physics-only model if the
    /// embedded file were ever invalid (a unit test makes sure it is not).
    pub fn embedded() -> Arc<Model> {
        match Model::from_json(EMBEDDED) {
            Ok(m) => Arc::new(m),
            Err(e) => {
                tracing::error!("embedded model invalid ({e}); using the physics-only model");
                Arc::new(Model::physics_only())
            }
        }
    }

    /// A model without trees: risk comes from the time-to-limit estimates alone.
    pub fn physics_only() -> Model {
        let file = ModelFile {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            model_version: "physics-only".into(),
            features: features::docs(),
            classes: class_names(),
            threshold: 0.5,
            risk: RiskParams::default(),
            prior: vec![1.0 / CLASSES as f64; CLASSES],
            training: serde_json::Value::Null,
            eval: serde_json::Value::Null,
            trees: Vec::new(),
        };
        Model {
            file,
            trees: Vec::new(),
        }
    }

    /// Load a model file.
    pub fn load(path: &Path) -> Result<Model> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Model::from_json(&text).map_err(|e| match e {
            Error::Model(m) => Error::Model(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parse and validate a model document.
    pub fn from_json(text: &str) -> Result<Model> {
        let head: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::Model(format!("not a JSON model file: {e}")))?;
        if head.get("format").and_then(|v| v.as_str()) != Some(FORMAT) {
            return Err(Error::Model(format!(
                "not a crashwatch model (expected \"format\": \"{FORMAT}\")"
            )));
        }
        let fv = head.get("format_version").and_then(|v| v.as_u64());
        if fv != Some(FORMAT_VERSION as u64) {
            return Err(Error::Model(format!(
                "model format version {} is not supported (this build reads version {FORMAT_VERSION}); retrain with `crashwatch train`",
                fv.map_or("missing".to_string(), |v| v.to_string())
            )));
        }
        let file: ModelFile = serde_json::from_value(head)
            .map_err(|e| Error::Model(format!("invalid model file: {e}")))?;
        Model::from_file(file)
    }

    /// Validate a model structure and prepare it for evaluation.
    pub fn from_file(file: ModelFile) -> Result<Model> {
        let names: Vec<&str> = file.features.iter().map(|f| f.name.as_str()).collect();
        let ours: Vec<&str> = features::SPEC.iter().map(|s| s.0).collect();
        if names != ours {
            return Err(Error::Model(format!(
                "feature list differs from this build's ({} vs {} features); retrain with `crashwatch train`",
                names.len(),
                ours.len()
            )));
        }
        if file.classes != class_names() {
            return Err(Error::Model(format!(
                "classes {:?} differ from {:?}",
                file.classes,
                class_names()
            )));
        }
        if !(0.0..=1.0).contains(&file.threshold) {
            return Err(Error::Model(format!(
                "threshold {} outside 0..1",
                file.threshold
            )));
        }
        if file.prior.len() != CLASSES {
            return Err(Error::Model(format!(
                "prior has {} classes, expected {CLASSES}",
                file.prior.len()
            )));
        }
        let prior_sum: f64 = file.prior.iter().sum();
        let prior: Vec<f64> = file
            .prior
            .iter()
            .map(|p| if prior_sum > 0.0 { p / prior_sum } else { 0.0 })
            .collect();
        let alpha = file.risk.leaf_smoothing.max(0.0);
        let mut trees = Vec::with_capacity(file.trees.len());
        for (ti, t) in file.trees.iter().enumerate() {
            let n = t.nodes.len();
            if n == 0 {
                return Err(Error::Model(format!("tree {ti} is empty")));
            }
            let mut flat = Flat {
                feature: Vec::with_capacity(n),
                threshold: Vec::with_capacity(n),
                left: Vec::with_capacity(n),
                right: Vec::with_capacity(n),
                probs: Vec::with_capacity(n),
            };
            for (i, node) in t.nodes.iter().enumerate() {
                let mut p = [0f32; CLASSES];
                if node.feature < 0 {
                    if node.counts.len() != CLASSES {
                        return Err(Error::Model(format!(
                            "tree {ti} leaf {i}: {} class counts, expected {CLASSES}",
                            node.counts.len()
                        )));
                    }
                    let total: f64 = node.counts.iter().sum();
                    for c in 0..CLASSES {
                        p[c] = ((node.counts[c] + alpha * prior[c]) / (total + alpha).max(1e-12))
                            as f32;
                    }
                } else {
                    // Children after the parent: walking always terminates.
                    let ok = (node.feature as usize) < N
                        && (node.left as usize) < n
                        && (node.right as usize) < n
                        && node.left as usize > i
                        && node.right as usize > i;
                    if !ok {
                        return Err(Error::Model(format!(
                            "tree {ti} node {i}: bad feature or child index"
                        )));
                    }
                }
                flat.feature.push(node.feature);
                flat.threshold.push(node.threshold);
                flat.left.push(node.left);
                flat.right.push(node.right);
                flat.probs.push(p);
            }
            trees.push(flat);
        }
        Ok(Model { file, trees })
    }

    /// Serialise to pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(&self.file).map_err(|e| Error::Json(e.to_string()))
    }

    /// The stored document.
    pub fn file(&self) -> &ModelFile {
        &self.file
    }

    /// Version string of the model.
    pub fn version(&self) -> &str {
        &self.file.model_version
    }

    /// Alarm threshold the model was tuned for.
    pub fn threshold(&self) -> f64 {
        self.file.threshold
    }

    /// Risk combination parameters.
    pub fn risk_params(&self) -> &RiskParams {
        &self.file.risk
    }

    /// True when the model has no trees (physics only).
    pub fn is_physics_only(&self) -> bool {
        self.trees.is_empty()
    }

    /// Class probabilities (none, causes...) for a feature vector, averaged over the trees.
    /// A physics-only model answers "none" with certainty.
    pub fn probabilities(&self, x: &[f32; N]) -> [f32; CLASSES] {
        let mut out = [0f32; CLASSES];
        if self.trees.is_empty() {
            out[0] = 1.0;
            return out;
        }
        for t in &self.trees {
            let mut i = 0usize;
            // Bounded: validation guarantees children after parents.
            while t.feature[i] >= 0 {
                let f = t.feature[i] as usize;
                i = if x[f] < t.threshold[i] {
                    t.left[i]
                } else {
                    t.right[i]
                } as usize;
            }
            for (o, p) in out.iter_mut().zip(t.probs[i].iter()) {
                *o += p;
            }
        }
        let k = 1.0 / self.trees.len() as f32;
        out.iter_mut().for_each(|o| *o *= k);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ModelFile {
        let mut m = Model::physics_only().file;
        m.model_version = "test-1".into();
        m.prior = vec![0.5, 0.5, 0.0, 0.0, 0.0, 0.0];
        m.trees = vec![TreeFile::stump(
            0,
            0.9,
            [96.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 96.0, 0.0, 0.0, 0.0, 0.0],
        )];
        m
    }

    #[test]
    fn embedded_model_is_valid() {
        let m = Model::from_json(EMBEDDED);
        assert!(m.is_ok(), "{:?}", m.err());
    }

    #[test]
    fn json_round_trip_keeps_predictions() {
        let m = Model::from_file(small()).unwrap();
        let back = Model::from_json(&m.to_json().unwrap()).unwrap();
        assert_eq!(back.file(), m.file());
        let mut x = [0f32; N];
        for v in [0.5f32, 0.95] {
            x[0] = v;
            assert_eq!(back.probabilities(&x), m.probabilities(&x));
        }
        // Leaf of 96 "oom" rows, smoothing 4 with prior 0.5: (96 + 2) / 100.
        x[0] = 0.95;
        assert!((m.probabilities(&x)[1] - 0.98).abs() < 1e-6);
        x[0] = 0.5;
        assert!((m.probabilities(&x)[1] - 0.02).abs() < 1e-6);
    }

    #[test]
    fn wrong_or_old_files_give_a_clear_error() {
        let mut old = serde_json::to_value(small()).unwrap();
        old["format_version"] = 0.into();
        let e = Model::from_json(&old.to_string()).unwrap_err().to_string();
        assert!(e.contains("format version 0 is not supported"), "{e}");
        let e = Model::from_json(r#"{"tree": []}"#).unwrap_err().to_string();
        assert!(e.contains("not a crashwatch model"), "{e}");
        let mut bad = small();
        bad.features.pop();
        let e = Model::from_file(bad).unwrap_err().to_string();
        assert!(e.contains("feature list differs"), "{e}");
        let mut cyc = small();
        cyc.trees[0].nodes[0].left = 0;
        assert!(Model::from_file(cyc).is_err());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        std::fs::write(&p, "{").unwrap();
        let e = Model::load(&p).unwrap_err().to_string();
        assert!(e.starts_with("model: ") && e.contains("m.json"), "{e}");
    }
}
