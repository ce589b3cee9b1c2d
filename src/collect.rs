//! One sweep of the node: discover containers, read their files, build samples. (Issue 3.)
use crate::sample::Snapshot;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Where to read from.
#[derive(Debug, Clone)]
pub struct CollectConfig {
    /// Root of the cgroup filesystem.
    pub cgroup_root: PathBuf,
    /// Root of procfs.
    pub proc_root: PathBuf,
    /// Node name to report.
    pub node_name: String,
}

/// What went wrong during a sweep, counted (never fatal).
#[derive(Debug, Clone, Default)]
pub struct SweepStats {
    /// Containers whose cgroup vanished between listing and reading.
    pub vanished: u64,
    /// Errors by kind (`parse`, `io`, ...), for `crashwatch_collect_errors_total{kind}`.
    pub errors: BTreeMap<String, u64>,
    /// Wall time of the sweep.
    pub duration: Duration,
}

/// Reads the node; keeps reusable buffers between sweeps.
pub struct Collector {
    cfg: CollectConfig,
}

impl Collector {
    /// A collector for `cfg`.
    pub fn new(cfg: CollectConfig) -> Self {
        Collector { cfg }
    }

    /// One sweep. Never fails as a whole: per-container problems are counted in the stats.
    pub fn sweep(&mut self) -> (Snapshot, SweepStats) {
        let _ = &self.cfg;
        (Snapshot::default(), SweepStats::default())
    }
}

/// `crashwatch collect`.
pub fn command(_args: crate::cli::CollectArgs) -> anyhow::Result<()> {
    anyhow::bail!("collect is not implemented yet")
}
