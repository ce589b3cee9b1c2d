//! The crash model: a linfa-trees decision tree (plus per-leaf class counts for a calibrated
//! risk) saved as versioned JSON; the default model is compiled in. (Issue 4.)
use std::sync::Arc;

/// A loaded crash model.
#[derive(Debug)]
pub struct Model {
    version: String,
    threshold: f64,
}

impl Model {
    /// The model compiled into the binary.
    pub fn embedded() -> Arc<Model> {
        Arc::new(Model { version: "unimplemented".into(), threshold: 0.5 })
    }

    /// Load a model file.
    pub fn load(path: &std::path::Path) -> crate::Result<Model> {
        Err(crate::Error::Model(format!("{}: loading is not implemented yet", path.display())))
    }

    /// Version string of the model.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Alarm threshold the model was tuned for.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }
}
