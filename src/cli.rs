//! Command line (clap derive). Flag names are part of the interface contract
//! (`interface.md`): add freely, rename none. Each subcommand's handler lives in the module
//! that owns the job; this file only parses and dispatches.
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Predict which containers on this node are about to crash, and how soon.
#[derive(Debug, Parser)]
#[command(name = "crashwatch", version, about, long_about = None)]
pub struct Cli {
    /// Log filter (overrides RUST_LOG), e.g. `info`, `debug`, `crashwatch=trace`.
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent: sweep cgroups every --interval, serve /metrics and /predict.
    Run(RunArgs),
    /// Run the agent on a simulated node (no root, no cluster needed).
    Demo(DemoArgs),
    /// Take one sample of the node and print it.
    Collect(CollectArgs),
    /// Write labelled scenario traces (JSON Lines).
    Simulate(SimulateArgs),
    /// Fit the crash model on traces.
    Train(TrainArgs),
    /// Score a model (and the predict_linear baseline) on held-out traces.
    Eval(EvalArgs),
    /// Feed one trace through the agent's prediction path.
    Replay(ReplayArgs),
}

/// Where to read the node from, shared by `run` and `collect`.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Root of the cgroup filesystem.
    #[arg(long, default_value = "/sys/fs/cgroup")]
    pub cgroup_root: PathBuf,
    /// Root of procfs (meminfo, pressure).
    #[arg(long, default_value = "/proc")]
    pub proc_root: PathBuf,
    /// Node name (default: $NODE_NAME, then the hostname).
    #[arg(long, env = "NODE_NAME")]
    pub node_name: Option<String>,
    /// Kubelet base URL, or `off`. Default `https://$NODE_IP:10250`.
    #[arg(long)]
    pub kubelet_url: Option<String>,
    /// Accept a kubelet serving certificate that does not verify (self-signed, common).
    #[arg(long)]
    pub kubelet_insecure_tls: bool,
    /// Where pod names come from.
    #[arg(long, value_enum, default_value_t = PodSource::Auto)]
    pub pod_source: PodSource,
    /// The kubelet's hard eviction threshold for memory (its `evictionHard`
    /// `memory.available`), e.g. `500Mi` or `5%`. Default: read from the kubelet's
    /// `/configz` where it answers, else the kubelet's default, 100Mi.
    #[arg(long)]
    pub eviction_threshold: Option<crate::node::EvictionThreshold>,
}

/// Pod metadata source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PodSource {
    /// Kubelet first, API server when the kubelet refuses or is unreachable.
    Auto,
    /// Only the kubelet's /pods.
    Kubelet,
    /// Only the API server (pods watch on this node).
    Api,
}

/// `on` / `off` switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// `crashwatch run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Node source.
    #[command(flatten)]
    pub source: SourceArgs,
    /// HTTP listen address.
    #[arg(long, default_value = "0.0.0.0:8000")]
    pub listen: String,
    /// Sweep interval, e.g. `1s`, `500ms`.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Model file (the default model is compiled in).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Alarm threshold (default: the model's).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Write traces here for later training.
    #[arg(long)]
    pub record_dir: Option<PathBuf>,
    /// Post Kubernetes Events on alarms.
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    pub events: OnOff,
}

/// `crashwatch demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// HTTP listen address.
    #[arg(long, default_value = "0.0.0.0:8000")]
    pub listen: String,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 10.0)]
    pub speed: f64,
    /// Random seed of the simulated node.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Output format of `collect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CollectFormat {
    /// The interface JSON: `{"ts","node","containers"}`.
    Json,
    /// A human table.
    Table,
}

/// `crashwatch collect`.
#[derive(Debug, Clone, Args)]
pub struct CollectArgs {
    /// Node source.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Take one sample and exit (the only mode today; kept for the contract).
    #[arg(long)]
    pub once: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CollectFormat::Table)]
    pub format: CollectFormat,
}

/// `crashwatch simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Output directory (one JSONL trace per scenario instance).
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Comma-separated scenario kinds (default: all).
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Option<Vec<String>>,
    /// Instances of each scenario kind.
    #[arg(long, default_value_t = 10)]
    pub count: usize,
}

/// `crashwatch train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Directory of traces.
    #[arg(long)]
    pub traces: PathBuf,
    /// Model file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Held-out traces (other seeds) to score the fitted model on; the figures go into the
    /// model file's `eval` section. Never pass the training traces here.
    #[arg(long)]
    pub holdout: Option<PathBuf>,
    /// Label horizon: a sample is positive when a crash follows within this many seconds.
    #[arg(long, default_value_t = crate::train::DEFAULT_HORIZON_SECONDS)]
    pub horizon: f64,
    /// Trees in the bag (1 = a single decision tree).
    #[arg(long, default_value_t = 1)]
    pub trees: usize,
    /// Maximum tree depth.
    #[arg(long, default_value_t = 10)]
    pub max_depth: usize,
    /// Extra copies of each training trace with random field groups removed (working set,
    /// anon, file, PSI, memory events, pids.max, throttling, node memory, swap, QoS), so
    /// the model also learns to predict from sources that lack them.
    #[arg(long, default_value_t = 0)]
    pub blank: usize,
    /// Alarm threshold to store instead of the one tuned on the validation split.
    #[arg(long)]
    pub threshold: Option<f64>,
}

/// Output format of `eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalFormat {
    /// Human table.
    Table,
    /// JSON.
    Json,
}

/// `crashwatch eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Directory of held-out traces.
    #[arg(long)]
    pub traces: PathBuf,
    /// Model file (default: the compiled-in model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = EvalFormat::Table)]
    pub format: EvalFormat,
}

/// `crashwatch replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Trace file (JSON Lines).
    #[arg(long)]
    pub trace: PathBuf,
    /// Model file (default: the compiled-in model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Alarm threshold (default: the model's).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Also print every prediction (one JSON line per sample, before the summary lines).
    #[arg(long)]
    pub series: bool,
}

/// Parse `1s`, `500ms`, `2m`, `1h` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (try 1s, 500ms, 2m)"))?;
    if !v.is_finite() || v <= 0.0 {
        return Err(format!("duration must be positive, got {s:?}"));
    }
    Ok(Duration::from_secs_f64(v * mult))
}

/// Dispatch a parsed command line to its handler.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(a) => crate::agent::command(a),
        Command::Demo(a) => crate::demo::command(a),
        Command::Collect(a) => crate::collect::command(a),
        Command::Simulate(a) => crate::sim::command(a),
        Command::Train(a) => crate::train::command(a),
        Command::Eval(a) => crate::eval::command(a),
        Command::Replay(a) => crate::replay::command(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
