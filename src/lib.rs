//! crashwatch: a per-node agent that predicts container crashes from cgroup files.
//!
//! The modules follow the data path:
//! `discover` cgroups → `cgroup` (one typed parser per kernel file) + `node` → `collect` a
//! sample → `history` → `features` → `model` / `predict` (risk, cause, alarm episodes) →
//! publish (`metrics`, `http`, log lines, `kube::events`).
//! Around it: `kube` (kubelet / API server clients), `sim` (scenario simulator), `trace`
//! (JSON Lines traces), `train` / `eval` / `replay`, `record`, `agent` (the `run` loop),
//! `demo`, `cli`.

pub mod agent;
pub mod calibration;
pub mod cgroup;
pub mod cli;
pub mod collect;
pub mod demo;
pub mod discover;
pub mod error;
pub mod eval;
pub mod features;
pub mod history;
pub mod http;
pub mod kube;
pub mod metrics;
pub mod model;
pub mod node;
pub mod predict;
pub mod record;
pub mod replay;
pub mod sample;
pub mod sim;
pub mod telemetry;
pub mod trace;
pub mod train;
pub mod tree;

pub use error::{Error, Result};
