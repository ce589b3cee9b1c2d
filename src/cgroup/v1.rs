//! cgroup v1 files (`memory`, `cpu`, `cpuacct`, `pids` hierarchies). `pids.current` and
//! `pids.max` have the same format as v2: use [`super::v2::PidsCurrent`] / [`super::v2::PidsMax`].
use super::shape::{flat_kv, parse_u64, single_u64, V1_UNLIMITED_MIN};
use super::v2::set;
use super::KernelFile;
use crate::{Error, Result};

number_file! {
    /// `memory.usage_in_bytes`: bytes charged (rss + cache; slightly fuzzy by design in v1).
    MemoryUsageInBytes = "memory.usage_in_bytes" {
        /// Bytes.
        bytes: u64 = single_u64
    }
}

/// `memory.limit_in_bytes`: hard limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimitInBytes {
    /// Bytes; `None` when unlimited (the kernel prints 9223372036854771712; any value
    /// ≥ 2^62 is treated as unlimited).
    pub bytes: Option<u64>,
}

impl KernelFile for MemoryLimitInBytes {
    const NAME: &'static str = "memory.limit_in_bytes";
    fn parse(s: &str) -> Result<Self> {
        let v = single_u64(Self::NAME, s)?;
        Ok(MemoryLimitInBytes {
            bytes: (v < V1_UNLIMITED_MIN).then_some(v),
        })
    }
}

/// `memory.stat` (v1): the hierarchical `total_*` keys (include descendants; what a
/// container with sub-cgroups really uses) plus the cgroup-local ones we fall back to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryStat {
    /// Local page cache.
    pub cache: Option<u64>,
    /// Local anonymous + swap cache.
    pub rss: Option<u64>,
    /// Local inactive file LRU.
    pub inactive_file: Option<u64>,
    /// Effective limit including ancestors; ≥ 2^62 means unlimited (`None`).
    pub hierarchical_memory_limit: Option<u64>,
    /// Effective memory + swap limit including ancestors (only with swap accounting); ≥ 2^62
    /// means unlimited (`None`). What exceeds the memory limit is the swap the group may use.
    pub hierarchical_memsw_limit: Option<u64>,
    /// Hierarchical page cache (→ `memory_file_bytes`).
    pub total_cache: Option<u64>,
    /// Hierarchical anonymous memory (→ `memory_anon_bytes`).
    pub total_rss: Option<u64>,
    /// Hierarchical shmem.
    pub total_shmem: Option<u64>,
    /// Hierarchical mapped files.
    pub total_mapped_file: Option<u64>,
    /// Hierarchical swap usage (only with swap accounting).
    pub total_swap: Option<u64>,
    /// Hierarchical inactive anonymous LRU.
    pub total_inactive_anon: Option<u64>,
    /// Hierarchical active anonymous LRU.
    pub total_active_anon: Option<u64>,
    /// Hierarchical inactive file LRU: subtracted for the working set.
    pub total_inactive_file: Option<u64>,
    /// Hierarchical active file LRU.
    pub total_active_file: Option<u64>,
    /// Hierarchical unevictable memory.
    pub total_unevictable: Option<u64>,
    /// Hierarchical page faults (count).
    pub total_pgfault: Option<u64>,
    /// Hierarchical major faults (count).
    pub total_pgmajfault: Option<u64>,
}

impl KernelFile for MemoryStat {
    const NAME: &'static str = "memory.stat";
    fn parse(s: &str) -> Result<Self> {
        let f = Self::NAME;
        let mut m = MemoryStat::default();
        for kv in flat_kv(f, s) {
            let (k, v) = kv?;
            let slot = match k {
                "cache" => &mut m.cache,
                "rss" => &mut m.rss,
                "inactive_file" => &mut m.inactive_file,
                "hierarchical_memory_limit" => &mut m.hierarchical_memory_limit,
                "hierarchical_memsw_limit" => &mut m.hierarchical_memsw_limit,
                "total_cache" => &mut m.total_cache,
                "total_rss" => &mut m.total_rss,
                "total_shmem" => &mut m.total_shmem,
                "total_mapped_file" => &mut m.total_mapped_file,
                "total_swap" => &mut m.total_swap,
                "total_inactive_anon" => &mut m.total_inactive_anon,
                "total_active_anon" => &mut m.total_active_anon,
                "total_inactive_file" => &mut m.total_inactive_file,
                "total_active_file" => &mut m.total_active_file,
                "total_unevictable" => &mut m.total_unevictable,
                "total_pgfault" => &mut m.total_pgfault,
                "total_pgmajfault" => &mut m.total_pgmajfault,
                _ => continue,
            };
            set(f, k, v, slot)?;
        }
        for limit in [
            &mut m.hierarchical_memory_limit,
            &mut m.hierarchical_memsw_limit,
        ] {
            if limit.is_some_and(|l| l >= V1_UNLIMITED_MIN) {
                *limit = None;
            }
        }
        Ok(m)
    }
}

/// `memory.oom_control`: OOM killer state and (4.13+) the kill counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryOomControl {
    /// 1 when the OOM killer is disabled for this cgroup (tasks hang instead).
    pub oom_kill_disable: Option<u64>,
    /// 1 while the cgroup is under OOM (a state, not a counter).
    pub under_oom: Option<u64>,
    /// Processes killed by the OOM killer in this cgroup (not hierarchical on v1).
    pub oom_kill: Option<u64>,
}

impl KernelFile for MemoryOomControl {
    const NAME: &'static str = "memory.oom_control";
    fn parse(s: &str) -> Result<Self> {
        let f = Self::NAME;
        let mut m = MemoryOomControl::default();
        for kv in flat_kv(f, s) {
            let (k, v) = kv?;
            let slot = match k {
                "oom_kill_disable" => &mut m.oom_kill_disable,
                "under_oom" => &mut m.under_oom,
                "oom_kill" => &mut m.oom_kill,
                _ => continue,
            };
            set(f, k, v, slot)?;
        }
        if m.under_oom.is_none() && m.oom_kill.is_none() {
            return Err(Error::parse(f, "neither `under_oom` nor `oom_kill`"));
        }
        Ok(m)
    }
}

number_file! {
    /// `memory.failcnt`: times usage hit the limit (v1's closest thing to v2 `max` events).
    MemoryFailcnt = "memory.failcnt" {
        /// Count.
        count: u64 = single_u64
    }
}

number_file! {
    /// `cpuacct.usage`: total CPU time, nanoseconds.
    CpuacctUsage = "cpuacct.usage" {
        /// Nanoseconds.
        nanos: u64 = single_u64
    }
}

/// `cpu.cfs_quota_us`: CPU time per period, µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuCfsQuotaUs {
    /// µs; `None` when the file says `-1` (unlimited).
    pub quota_us: Option<u64>,
}

impl KernelFile for CpuCfsQuotaUs {
    const NAME: &'static str = "cpu.cfs_quota_us";
    fn parse(s: &str) -> Result<Self> {
        if s.trim() == "-1" {
            return Ok(CpuCfsQuotaUs { quota_us: None });
        }
        Ok(CpuCfsQuotaUs {
            quota_us: Some(single_u64(Self::NAME, s)?),
        })
    }
}

/// `cpu.cfs_period_us`: enforcement period, µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuCfsPeriodUs {
    /// µs (default 100000).
    pub period_us: u64,
}

impl KernelFile for CpuCfsPeriodUs {
    const NAME: &'static str = "cpu.cfs_period_us";
    fn parse(s: &str) -> Result<Self> {
        let period_us = single_u64(Self::NAME, s)?;
        if period_us == 0 {
            return Err(Error::parse(Self::NAME, "period 0"));
        }
        Ok(CpuCfsPeriodUs { period_us })
    }
}

/// `cpu.stat` (v1): CFS bandwidth counters; `throttled_time` is in **nanoseconds**.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuStat {
    /// Enforcement periods elapsed.
    pub nr_periods: Option<u64>,
    /// Periods in which the cgroup was throttled.
    pub nr_throttled: Option<u64>,
    /// Total throttled time, ns.
    pub throttled_time: Option<u64>,
}

impl KernelFile for CpuStat {
    const NAME: &'static str = "cpu.stat";
    fn parse(s: &str) -> Result<Self> {
        let f = Self::NAME;
        let mut c = CpuStat::default();
        for kv in flat_kv(f, s) {
            let (k, v) = kv?;
            let slot = match k {
                "nr_periods" => &mut c.nr_periods,
                "nr_throttled" => &mut c.nr_throttled,
                "throttled_time" => &mut c.throttled_time,
                _ => continue,
            };
            *slot = Some(parse_u64(f, k, v)?);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key set a 6.x kernel prints for a v1 memory cgroup (our values).
    const STAT_V1: &str = "cache 1048576\nrss 8404992\nrss_huge 0\nshmem 0\nmapped_file 0\ndirty 0\nwriteback 0\nworkingset_refault_anon 0\nworkingset_refault_file 0\nswap 0\nswapcached 0\npgpgin 2376\npgpgout 357\npgfault 3267\npgmajfault 0\ninactive_anon 0\nactive_anon 8359936\ninactive_file 524288\nactive_file 524288\nunevictable 0\nhierarchical_memory_limit 9223372036854771712\nhierarchical_memsw_limit 9223372036854771712\ntotal_cache 2097152\ntotal_rss 8404992\ntotal_rss_huge 0\ntotal_shmem 0\ntotal_mapped_file 4096\ntotal_dirty 0\ntotal_writeback 0\ntotal_workingset_refault_anon 0\ntotal_workingset_refault_file 0\ntotal_swap 0\ntotal_swapcached 0\ntotal_pgpgin 2376\ntotal_pgpgout 357\ntotal_pgfault 3267\ntotal_pgmajfault 1\ntotal_inactive_anon 0\ntotal_active_anon 8359936\ntotal_inactive_file 1572864\ntotal_active_file 524288\ntotal_unevictable 0\n";

    #[test]
    fn memory_stat_v1() {
        let m = MemoryStat::parse(STAT_V1).unwrap();
        assert_eq!(m.total_cache, Some(2_097_152));
        assert_eq!(m.total_rss, Some(8_404_992));
        assert_eq!(m.total_inactive_file, Some(1_572_864));
        assert_eq!(m.inactive_file, Some(524_288));
        assert_eq!(m.hierarchical_memory_limit, None);
        assert_eq!(m.total_pgmajfault, Some(1));
        assert_eq!(m.hierarchical_memsw_limit, None);
        let limited = MemoryStat::parse(
            "hierarchical_memory_limit 268435456\nhierarchical_memsw_limit 335544320\n",
        )
        .unwrap();
        assert_eq!(limited.hierarchical_memory_limit, Some(268_435_456));
        assert_eq!(limited.hierarchical_memsw_limit, Some(335_544_320));
        for bad in ["total_rss 12kB\n", "total_cache\n"] {
            assert!(
                MemoryStat::parse(bad)
                    .unwrap_err()
                    .to_string()
                    .starts_with("memory.stat: "),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn limit_sentinels() {
        assert_eq!(
            MemoryLimitInBytes::parse("9223372036854771712\n")
                .unwrap()
                .bytes,
            None
        );
        assert_eq!(
            MemoryLimitInBytes::parse("4611686018427387904\n")
                .unwrap()
                .bytes,
            None
        );
        assert_eq!(
            MemoryLimitInBytes::parse("4611686018427387903\n")
                .unwrap()
                .bytes,
            Some(4_611_686_018_427_387_903)
        );
        assert_eq!(
            MemoryLimitInBytes::parse("268435456\n").unwrap().bytes,
            Some(268_435_456)
        );
        assert!(MemoryLimitInBytes::parse("max\n")
            .unwrap_err()
            .to_string()
            .starts_with("memory.limit_in_bytes: "));
        assert_eq!(MemoryUsageInBytes::parse("1234\n").unwrap().bytes, 1234);
        assert!(MemoryUsageInBytes::parse("")
            .unwrap_err()
            .to_string()
            .starts_with("memory.usage_in_bytes: "));
    }

    #[test]
    fn oom_control() {
        let o = MemoryOomControl::parse("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n").unwrap();
        assert_eq!(
            o,
            MemoryOomControl {
                oom_kill_disable: Some(0),
                under_oom: Some(0),
                oom_kill: Some(3)
            }
        );
        // Kernels before 4.13 have no oom_kill line.
        assert_eq!(
            MemoryOomControl::parse("oom_kill_disable 0\nunder_oom 1\n")
                .unwrap()
                .oom_kill,
            None
        );
        for bad in ["", "oom_kill_disable 0\n", "oom_kill x\n"] {
            assert!(
                MemoryOomControl::parse(bad)
                    .unwrap_err()
                    .to_string()
                    .starts_with("memory.oom_control: "),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn cpu_files() {
        assert_eq!(CpuCfsQuotaUs::parse("-1\n").unwrap().quota_us, None);
        assert_eq!(
            CpuCfsQuotaUs::parse("150000\n").unwrap().quota_us,
            Some(150_000)
        );
        assert!(CpuCfsQuotaUs::parse("-2\n")
            .unwrap_err()
            .to_string()
            .starts_with("cpu.cfs_quota_us: "));
        assert_eq!(
            CpuCfsPeriodUs::parse("100000\n").unwrap().period_us,
            100_000
        );
        assert!(CpuCfsPeriodUs::parse("0\n")
            .unwrap_err()
            .to_string()
            .starts_with("cpu.cfs_period_us: "));
        assert_eq!(
            CpuacctUsage::parse("123456789012\n").unwrap().nanos,
            123_456_789_012
        );
        assert!(CpuacctUsage::parse("1e9\n")
            .unwrap_err()
            .to_string()
            .starts_with("cpuacct.usage: "));
        let c = CpuStat::parse("usage_usec 0\nuser_usec 0\nsystem_usec 0\nnice_usec 0\nnr_periods 500\nnr_throttled 25\nthrottled_time 1500000000\nnr_bursts 0\nburst_time 0\n").unwrap();
        assert_eq!(
            c,
            CpuStat {
                nr_periods: Some(500),
                nr_throttled: Some(25),
                throttled_time: Some(1_500_000_000)
            }
        );
        assert!(CpuStat::parse("nr_periods -5\n")
            .unwrap_err()
            .to_string()
            .starts_with("cpu.stat: "));
        assert_eq!(MemoryFailcnt::parse("42\n").unwrap().count, 42);
        assert!(MemoryFailcnt::parse("forty\n")
            .unwrap_err()
            .to_string()
            .starts_with("memory.failcnt: "));
    }
}
