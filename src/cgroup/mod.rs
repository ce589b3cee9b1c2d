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

/// A file that holds one number: its typed struct (one public field) and a parser that reads
/// the number with `$parse` ([`single_u64`], or [`max_or_u64`] where `max` means unlimited).
macro_rules! number_file {
    ($(#[$doc:meta])* $name:ident = $file:literal {
        $(#[$fdoc:meta])* $field:ident: $ty:ty = $parse:ident
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            $(#[$fdoc])*
            pub $field: $ty,
        }

        impl $crate::cgroup::KernelFile for $name {
            const NAME: &'static str = $file;
            fn parse(s: &str) -> $crate::Result<Self> {
                Ok($name {
                    $field: $crate::cgroup::$parse(Self::NAME, s)?,
                })
            }
        }
    };
}

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

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Parse `s` as `T`: must not panic, and an error must start with the file name.
    fn total<T: KernelFile>(s: &str) -> std::result::Result<(), TestCaseError> {
        if let Err(e) = T::parse(s) {
            let msg = e.to_string();
            prop_assert!(
                msg.starts_with(&format!("{}: ", T::NAME)),
                "{} error does not name the file: {msg}",
                T::NAME
            );
        }
        Ok(())
    }

    /// Run every parser on `s`.
    fn all(s: &str) -> std::result::Result<(), TestCaseError> {
        total::<v2::MemoryCurrent>(s)?;
        total::<v2::MemoryMax>(s)?;
        total::<v2::MemoryHigh>(s)?;
        total::<v2::MemoryStat>(s)?;
        total::<v2::MemoryEvents>(s)?;
        total::<v2::MemorySwapCurrent>(s)?;
        total::<v2::MemorySwapMax>(s)?;
        total::<v2::MemoryPressure>(s)?;
        total::<v2::CpuStat>(s)?;
        total::<v2::CpuMax>(s)?;
        total::<v2::CpuPressure>(s)?;
        total::<v2::PidsCurrent>(s)?;
        total::<v2::PidsMax>(s)?;
        total::<v1::MemoryUsageInBytes>(s)?;
        total::<v1::MemoryLimitInBytes>(s)?;
        total::<v1::MemoryStat>(s)?;
        total::<v1::MemoryOomControl>(s)?;
        total::<v1::MemoryFailcnt>(s)?;
        total::<v1::CpuacctUsage>(s)?;
        total::<v1::CpuCfsQuotaUs>(s)?;
        total::<v1::CpuCfsPeriodUs>(s)?;
        total::<v1::CpuStat>(s)?;
        Ok(())
    }

    /// Tokens that reach the parsers' deeper branches (known keys, sentinels, edge numbers).
    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("max".to_string()),
            Just("-1".to_string()),
            Just("some".to_string()),
            Just("full".to_string()),
            Just("avg10=1.00".to_string()),
            Just("avg60=NaN".to_string()),
            Just("total=18446744073709551616".to_string()),
            Just("anon".to_string()),
            Just("inactive_file".to_string()),
            Just("total_inactive_file".to_string()),
            Just("oom_kill".to_string()),
            Just("under_oom".to_string()),
            Just("usage_usec".to_string()),
            Just("throttled_time".to_string()),
            Just("9223372036854771712".to_string()),
            any::<u64>().prop_map(|v| v.to_string()),
            "[ -~]{0,12}",
            "\\PC{0,6}",
        ]
    }

    /// Files made of plausible lines.
    fn plausible() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::collection::vec(token(), 0..6).prop_map(|t| t.join(" ")),
            0..8,
        )
        .prop_map(|l| l.join("\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            all(&s)?;
        }

        #[test]
        fn plausible_files_never_panic(s in plausible()) {
            all(&s)?;
        }

        #[test]
        fn psi_round_trips(a in 0.0f64..100.0, b in 0.0f64..100.0, t in any::<u64>()) {
            let text = format!("some avg10={a:.2} avg60={b:.2} avg300=0.00 total={t}\n");
            let p = v2::MemoryPressure::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let some = p.0.some.ok_or_else(|| TestCaseError::fail("no some line"))?;
            prop_assert_eq!(some.total, t);
            prop_assert!((some.avg10 - a).abs() <= 0.005 + 1e-9);
        }

        #[test]
        fn numbers_round_trip(v in any::<u64>()) {
            let text = format!("{v}\n");
            prop_assert_eq!(v2::MemoryCurrent::parse(&text).map(|m| m.bytes).ok(), Some(v));
            let lim = v1::MemoryLimitInBytes::parse(&text).map(|m| m.bytes).ok();
            prop_assert_eq!(lim, Some((v < V1_UNLIMITED_MIN).then_some(v)));
        }
    }
}
