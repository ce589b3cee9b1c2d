//! One typed reader per kernel cgroup file (v2 and v1). Parsers are pure (`&str` in, typed
//! struct out, error naming the file); I/O is a thin [`Reader`] on top that reads each file
//! once into a reused buffer.
//!
//! Must not: decide policy. A missing file, a vanished cgroup or a malformed value is
//! returned as an error carrying the path; the collector decides whether that means "skip
//! the container", "field unknown" or "count an error".
//!
//! Why not the `cgroups-rs` crate: measured in `crate-notes.md`, cgroups-rs 0.5.1 fixes the
//! v2 hierarchy at `/sys/fs/cgroup` (a fixture or `--cgroup-root` needs a custom
//! `Hierarchy`), does not read `memory.events` (our `oom_kill` counter) nor any `*.pressure`
//! file, hands back `cpu.stat` as a raw string, and swallows I/O errors so a cgroup that
//! vanished mid-read looks like a container using 0 bytes, which is exactly the wrong
//! signal for a crash predictor. It also pulls in zbus and nix for a read-only job. The
//! files we need have four simple shapes, so thin parsers are less code than the adapter.
//!
//! Sentinels: `max` (v2 limits) and v1 limits ≥ 2^62 (the kernel prints
//! 9223372036854771712, page-aligned `i64::MAX`, for "unlimited") become `None`;
//! v1 `cpu.cfs_quota_us` `-1` becomes `None`.

mod reader;
mod shape;
pub mod v1;
pub mod v2;

pub use reader::Reader;
pub use shape::{
    flat_kv, max_or_u64, parse_psi, parse_u64, single_u64, Psi, PsiLine, V1_UNLIMITED_MIN,
};

use crate::Result;

/// A kernel cgroup (or PSI) file with a fixed name and a pure parser.
pub trait KernelFile: Sized {
    /// The file name inside a cgroup directory, e.g. `memory.stat`.
    const NAME: &'static str;
    /// Parse the file's full content. Errors name [`Self::NAME`].
    fn parse(s: &str) -> Result<Self>;
}
