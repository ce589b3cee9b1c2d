//! Logging setup: `tracing` with an `EnvFilter` (`RUST_LOG`, default `info`), to stderr so that
//! `collect --format json` on stdout stays machine-readable.
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Install the global subscriber once; `level` (from `--log-level`) wins over `RUST_LOG`.
pub fn init(level: Option<&str>) {
    let filter = match level {
        Some(l) => EnvFilter::new(l),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        // Colour codes only on a terminal: `kubectl logs` and log shippers get plain lines.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
