//! The `POST /predict` body decoder, then one prediction on whatever it accepted.
#![no_main]
use crashwatch::http::parse_sample;
use crashwatch::model::Model;
use crashwatch::predict::predict_once;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

/// Parsed once: the embedded model is JSON and parsing it per input would dominate.
static MODEL: OnceLock<Arc<Model>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    match parse_sample(data) {
        Ok(sample) => {
            let model = MODEL.get_or_init(Model::embedded);
            let p = predict_once(model, &sample);
            assert!((0.0..=1.0).contains(&p.crash_risk), "risk {} for {sample:?}", p.crash_risk);
        }
        Err(msg) => assert!(!msg.is_empty()),
    }
});
