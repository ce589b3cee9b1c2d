//! cgroup v2 (unified hierarchy) files. Field names are the kernel's keys; a key the running
//! kernel does not print stays `None`, keys we do not know are ignored.
use super::shape::{flat_kv, parse_psi, parse_u64, Psi};
use super::KernelFile;
use crate::Result;

/// Parse `v` into `slot` (a known key of a flat file).
pub(crate) fn set(file: &'static str, key: &str, v: &str, slot: &mut Option<u64>) -> Result<()> {
    *slot = Some(parse_u64(file, key, v)?);
    Ok(())
}

number_file! {
    /// `memory.current`: bytes charged to the cgroup (anon + page cache + kernel).
    MemoryCurrent = "memory.current" {
        /// Bytes.
        bytes: u64 = single_u64
    }
}

number_file! {
    /// `memory.max`: hard limit; the OOM killer runs when usage cannot be reclaimed below it.
    MemoryMax = "memory.max" {
        /// Bytes; `None` when the file says `max` (unlimited).
        bytes: Option<u64> = max_or_u64
    }
}

number_file! {
    /// `memory.high`: throttling threshold (reclaim pressure, no OOM kill).
    MemoryHigh = "memory.high" {
        /// Bytes; `None` when the file says `max`.
        bytes: Option<u64> = max_or_u64
    }
}

number_file! {
    /// `memory.swap.current`: bytes of swap used by the cgroup.
    MemorySwapCurrent = "memory.swap.current" {
        /// Bytes.
        bytes: u64 = single_u64
    }
}

number_file! {
    /// `memory.swap.max`: the swap the cgroup may use on top of `memory.max`; the OOM killer
    /// runs only once that is full too (or the node's swap device is).
    MemorySwapMax = "memory.swap.max" {
        /// Bytes; `None` when the file says `max` (bounded by the node's swap alone).
        bytes: Option<u64> = max_or_u64
    }
}

/// `memory.stat` (v2): the keys crashwatch uses or may use; all in bytes except the event
/// counters (`pgfault`, `pgmajfault`, `workingset_refault_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryStat {
    /// Anonymous memory (heap, stacks, tmpfs excluded).
    pub anon: Option<u64>,
    /// Page cache, including tmpfs/shmem.
    pub file: Option<u64>,
    /// Kernel memory (5.18+).
    pub kernel: Option<u64>,
    /// Kernel stacks.
    pub kernel_stack: Option<u64>,
    /// Page tables.
    pub pagetables: Option<u64>,
    /// Network buffers.
    pub sock: Option<u64>,
    /// tmpfs / shared memory (counted in `file`, not reclaimable without swap).
    pub shmem: Option<u64>,
    /// Mapped page cache.
    pub file_mapped: Option<u64>,
    /// Dirty page cache.
    pub file_dirty: Option<u64>,
    /// Page cache under writeback.
    pub file_writeback: Option<u64>,
    /// Inactive anonymous LRU.
    pub inactive_anon: Option<u64>,
    /// Active anonymous LRU.
    pub active_anon: Option<u64>,
    /// Inactive file LRU: what the kubelet subtracts to get the working set.
    pub inactive_file: Option<u64>,
    /// Active file LRU.
    pub active_file: Option<u64>,
    /// Unevictable (mlocked) memory.
    pub unevictable: Option<u64>,
    /// Reclaimable slab.
    pub slab_reclaimable: Option<u64>,
    /// Unreclaimable slab.
    pub slab_unreclaimable: Option<u64>,
    /// Page faults (count).
    pub pgfault: Option<u64>,
    /// Major page faults (count).
    pub pgmajfault: Option<u64>,
    /// Refaults of evicted file pages (count): thrashing sign.
    pub workingset_refault_file: Option<u64>,
}

impl KernelFile for MemoryStat {
    const NAME: &'static str = "memory.stat";
    fn parse(s: &str) -> Result<Self> {
        let f = Self::NAME;
        let mut m = MemoryStat::default();
        for kv in flat_kv(f, s) {
            let (k, v) = kv?;
            let slot = match k {
                "anon" => &mut m.anon,
                "file" => &mut m.file,
                "kernel" => &mut m.kernel,
                "kernel_stack" => &mut m.kernel_stack,
                "pagetables" => &mut m.pagetables,
                "sock" => &mut m.sock,
                "shmem" => &mut m.shmem,
                "file_mapped" => &mut m.file_mapped,
                "file_dirty" => &mut m.file_dirty,
                "file_writeback" => &mut m.file_writeback,
                "inactive_anon" => &mut m.inactive_anon,
                "active_anon" => &mut m.active_anon,
                "inactive_file" => &mut m.inactive_file,
                "active_file" => &mut m.active_file,
                "unevictable" => &mut m.unevictable,
                "slab_reclaimable" => &mut m.slab_reclaimable,
                "slab_unreclaimable" => &mut m.slab_unreclaimable,
                "pgfault" => &mut m.pgfault,
                "pgmajfault" => &mut m.pgmajfault,
                "workingset_refault_file" => &mut m.workingset_refault_file,
                _ => continue,
            };
            set(f, k, v, slot)?;
        }
        Ok(m)
    }
}

/// `memory.events`: hierarchical event counters (include descendants), monotonic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryEvents {
    /// Reclaimed while below `memory.low`.
    pub low: Option<u64>,
    /// Throttled at `memory.high`.
    pub high: Option<u64>,
    /// Hit `memory.max` (allocation had to reclaim).
    pub max: Option<u64>,
    /// OOM situations (reclaim failed at the limit).
    pub oom: Option<u64>,
    /// Processes killed by the OOM killer.
    pub oom_kill: Option<u64>,
    /// Group OOM kills (`memory.oom.group`), 5.17+.
    pub oom_group_kill: Option<u64>,
}

impl KernelFile for MemoryEvents {
    const NAME: &'static str = "memory.events";
    fn parse(s: &str) -> Result<Self> {
        let f = Self::NAME;
        let mut m = MemoryEvents::default();
        for kv in flat_kv(f, s) {
            let (k, v) = kv?;
            let slot = match k {
                "low" => &mut m.low,
                "high" => &mut m.high,
                "max" => &mut m.max,
                "oom" => &mut m.oom,
                "oom_kill" => &mut m.oom_kill,
                "oom_group_kill" => &mut m.oom_group_kill,
                _ => continue,
            };
            set(f, k, v, slot)?;
        }
        Ok(m)
    }
}

/// `memory.pressure`: PSI for memory stalls of the cgroup's tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MemoryPressure(pub Psi);

impl KernelFile for MemoryPressure {
    const NAME: &'static str = "memory.pressure";
    fn parse(s: &str) -> Result<Self> {
        parse_psi(Self::NAME, s).map(MemoryPressure)
    }
}

/// `cpu.pressure`: PSI for CPU stalls (runnable but waiting, incl. throttling).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuPressure(pub Psi);

impl KernelFile for CpuPressure {
    const NAME: &'static str = "cpu.pressure";
    fn parse(s: &str) -> Result<Self> {
        parse_psi(Self::NAME, s).map(CpuPressure)
    }
}

/// `cpu.stat` (v2): microsecond times and CFS bandwidth counters (the latter only when the
/// cpu controller is enabled for the cgroup).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuStat {
    /// Total CPU time, µs.
    pub usage_usec: Option<u64>,
    /// User CPU time, µs.
    pub user_usec: Option<u64>,
    /// System CPU time, µs.
    pub system_usec: Option<u64>,
    /// Enforcement periods elapsed.
    pub nr_periods: Option<u64>,
    /// Periods in which the cgroup was throttled.
    pub nr_throttled: Option<u64>,
    /// Total throttled time, µs.
    pub throttled_usec: Option<u64>,
    /// Periods in which burst was used.
    pub nr_bursts: Option<u64>,
    /// Burst time used, µs.
    pub burst_usec: Option<u64>,
}

impl KernelFile for CpuStat {
    const NAME: &'static str = "cpu.stat";
    fn parse(s: &str) -> Result<Self> {
        let f = Self::NAME;
        let mut c = CpuStat::default();
        for kv in flat_kv(f, s) {
            let (k, v) = kv?;
            let slot = match k {
                "usage_usec" => &mut c.usage_usec,
                "user_usec" => &mut c.user_usec,
                "system_usec" => &mut c.system_usec,
                "nr_periods" => &mut c.nr_periods,
                "nr_throttled" => &mut c.nr_throttled,
                "throttled_usec" => &mut c.throttled_usec,
                "nr_bursts" => &mut c.nr_bursts,
                "burst_usec" => &mut c.burst_usec,
                _ => continue,
            };
            set(f, k, v, slot)?;
        }
        Ok(c)
    }
}

/// `cpu.max`: `$QUOTA $PERIOD` in µs; quota `max` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuMax {
    /// Quota per period, µs; `None` when `max`.
    pub quota_us: Option<u64>,
    /// Period, µs (kernel default 100000).
    pub period_us: u64,
}

impl CpuMax {
    /// The limit in cores (`quota / period`), `None` when unlimited.
    pub fn cores(&self) -> Option<f64> {
        match self.quota_us {
            Some(q) if self.period_us > 0 => Some(q as f64 / self.period_us as f64),
            _ => None,
        }
    }
}

impl KernelFile for CpuMax {
    const NAME: &'static str = "cpu.max";
    fn parse(s: &str) -> Result<Self> {
        let f = Self::NAME;
        let mut it = s.split_ascii_whitespace();
        let (quota, period) = match (it.next(), it.next(), it.next()) {
            (Some(q), Some(p), None) => (q, p),
            _ => return Err(crate::Error::parse(f, "expected `$QUOTA $PERIOD`")),
        };
        let quota_us = if quota == "max" {
            None
        } else {
            Some(parse_u64(f, "quota", quota)?)
        };
        let period_us = parse_u64(f, "period", period)?;
        if period_us == 0 {
            return Err(crate::Error::parse(f, "period 0"));
        }
        Ok(CpuMax {
            quota_us,
            period_us,
        })
    }
}

number_file! {
    /// `pids.current`: tasks in the cgroup.
    PidsCurrent = "pids.current" {
        /// Count.
        count: u64 = single_u64
    }
}

number_file! {
    /// `pids.max`: fork() fails with EAGAIN at this many tasks (same format on v1 and v2).
    PidsMax = "pids.max" {
        /// Count; `None` when `max`.
        limit: Option<u64> = max_or_u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 6.x kernel's memory.stat (key set and order of 6.8), our own values.
    pub(crate) const STAT_6X: &str = "anon 411045888\nfile 52428800\nkernel 20971520\nkernel_stack 589824\npagetables 12029952\nsec_pagetables 0\npercpu 1152\nsock 0\nvmalloc 0\nshmem 4096\nzswap 0\nzswapped 0\nfile_mapped 1048576\nfile_dirty 8192\nfile_writeback 0\nswapcached 0\nanon_thp 0\nfile_thp 0\nshmem_thp 0\ninactive_anon 411316224\nactive_anon 270336\ninactive_file 41943040\nactive_file 10485760\nunevictable 10\nslab_reclaimable 17756400\nslab_unreclaimable 2177424\nslab 19933824\nworkingset_refault_anon 5\nworkingset_refault_file 6\nworkingset_activate_anon 5\nworkingset_activate_file 5\nworkingset_restore_anon 5\nworkingset_restore_file 5\nworkingset_nodereclaim 5\npswpin 0\npswpout 0\npgscan 0\npgsteal 0\npgscan_kswapd 0\npgscan_direct 0\npgsteal_kswapd 0\npgsteal_direct 0\npgfault 580970907\npgmajfault 3\npgrefill 0\npgactivate 46794\npgdeactivate 0\npglazyfree 119427\npglazyfreed 0\nzswpin 0\nzswpout 0\nthp_fault_alloc 12\nthp_collapse_alloc 0\n";

    #[test]
    fn memory_stat_full_key_set() {
        let m = MemoryStat::parse(STAT_6X).unwrap();
        assert_eq!(m.anon, Some(411_045_888));
        assert_eq!(m.file, Some(52_428_800));
        assert_eq!(m.inactive_file, Some(41_943_040));
        assert_eq!(m.active_file, Some(10_485_760));
        assert_eq!(m.shmem, Some(4096));
        assert_eq!(m.pgmajfault, Some(3));
        assert_eq!(m.workingset_refault_file, Some(6));
        // An old kernel without `kernel`: stays None.
        assert_eq!(MemoryStat::parse("anon 1\nfile 2\n").unwrap().kernel, None);
    }

    #[test]
    fn memory_stat_failures() {
        for (bad, why) in [
            ("anon x\n", "anon: expected an unsigned integer"),
            ("anon\n", "expected `key value`"),
            ("anon 1 2\n", "expected `key value`"),
            (
                "inactive_file -4096\n",
                "inactive_file: expected an unsigned integer",
            ),
        ] {
            let e = MemoryStat::parse(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("memory.stat: ") && e.contains(why),
                "{bad:?}: {e}"
            );
        }
        // Unknown keys with odd values are ignored: newer kernels add keys.
        assert_eq!(
            MemoryStat::parse("anon 5\nfuture_key -1\n").unwrap().anon,
            Some(5)
        );
    }

    #[test]
    fn memory_events() {
        let e = MemoryEvents::parse("low 0\nhigh 3\nmax 17\noom 2\noom_kill 2\noom_group_kill 0\n")
            .unwrap();
        assert_eq!(
            e,
            MemoryEvents {
                low: Some(0),
                high: Some(3),
                max: Some(17),
                oom: Some(2),
                oom_kill: Some(2),
                oom_group_kill: Some(0)
            }
        );
        assert_eq!(
            MemoryEvents::parse("low 0\nhigh 0\nmax 0\noom 0\n")
                .unwrap()
                .oom_kill,
            None
        );
        assert!(MemoryEvents::parse("oom_kill many\n")
            .unwrap_err()
            .to_string()
            .starts_with("memory.events: "));
    }

    #[test]
    fn limits() {
        assert_eq!(MemoryMax::parse("max\n").unwrap().bytes, None);
        assert_eq!(
            MemoryMax::parse("536870912\n").unwrap().bytes,
            Some(536_870_912)
        );
        assert_eq!(MemoryHigh::parse("max\n").unwrap().bytes, None);
        assert_eq!(PidsMax::parse("max\n").unwrap().limit, None);
        assert_eq!(PidsMax::parse("4096\n").unwrap().limit, Some(4096));
        assert_eq!(PidsCurrent::parse("12\n").unwrap().count, 12);
        assert_eq!(MemoryCurrent::parse("8192\n").unwrap().bytes, 8192);
        assert_eq!(MemorySwapCurrent::parse("0\n").unwrap().bytes, 0);
        assert_eq!(MemorySwapMax::parse("max\n").unwrap().bytes, None);
        assert_eq!(
            MemorySwapMax::parse("104857600\n").unwrap().bytes,
            Some(104_857_600)
        );
        for (name, e) in [
            ("memory.max", MemoryMax::parse("unlimited\n").unwrap_err()),
            ("memory.high", MemoryHigh::parse("").unwrap_err()),
            ("pids.max", PidsMax::parse("-1\n").unwrap_err()),
            ("pids.current", PidsCurrent::parse("max\n").unwrap_err()),
            ("memory.current", MemoryCurrent::parse("1 2\n").unwrap_err()),
            (
                "memory.swap.current",
                MemorySwapCurrent::parse("x").unwrap_err(),
            ),
            ("memory.swap.max", MemorySwapMax::parse("-1\n").unwrap_err()),
        ] {
            assert!(e.to_string().starts_with(&format!("{name}: ")), "{e}");
        }
    }

    #[test]
    fn cpu_max() {
        let c = CpuMax::parse("50000 100000\n").unwrap();
        assert_eq!(
            c,
            CpuMax {
                quota_us: Some(50_000),
                period_us: 100_000
            }
        );
        assert_eq!(c.cores(), Some(0.5));
        let u = CpuMax::parse("max 100000\n").unwrap();
        assert_eq!((u.quota_us, u.cores()), (None, None));
        for bad in ["max\n", "", "50000 0\n", "50000 100000 1\n", "-1 100000\n"] {
            assert!(
                CpuMax::parse(bad)
                    .unwrap_err()
                    .to_string()
                    .starts_with("cpu.max: "),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn cpu_stat() {
        let c = CpuStat::parse(
            "usage_usec 26772130245\nuser_usec 20979069928\nsystem_usec 5793060316\ncore_sched.force_idle_usec 0\nnr_periods 120\nnr_throttled 4\nthrottled_usec 10\nnr_bursts 0\nburst_usec 0\n",
        )
        .unwrap();
        assert_eq!(c.usage_usec, Some(26_772_130_245));
        assert_eq!(
            (c.nr_periods, c.nr_throttled, c.throttled_usec),
            (Some(120), Some(4), Some(10))
        );
        // Hybrid unified cgroup without the cpu controller: only the three times.
        let old = CpuStat::parse("usage_usec 5\nuser_usec 3\nsystem_usec 2\n").unwrap();
        assert_eq!((old.usage_usec, old.nr_periods), (Some(5), None));
        assert!(CpuStat::parse("usage_usec 1.5\n")
            .unwrap_err()
            .to_string()
            .starts_with("cpu.stat: "));
    }

    #[test]
    fn pressure_files() {
        let m = MemoryPressure::parse("some avg10=12.50 avg60=3.00 avg300=1.00 total=99\nfull avg10=6.25 avg60=1.00 avg300=0.50 total=50\n").unwrap();
        assert_eq!(m.0.some.map(|l| l.avg10), Some(12.5));
        assert_eq!(m.0.full.map(|l| l.avg10), Some(6.25));
        let c = CpuPressure::parse("some avg10=4.30 avg60=3.20 avg300=1.11 total=1676316\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n").unwrap();
        assert_eq!(c.0.some.map(|l| l.total), Some(1_676_316));
        assert!(MemoryPressure::parse("garbage\n")
            .unwrap_err()
            .to_string()
            .starts_with("memory.pressure: "));
        assert!(CpuPressure::parse("")
            .unwrap_err()
            .to_string()
            .starts_with("cpu.pressure: "));
    }
}
