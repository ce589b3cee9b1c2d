//! Node readings from procfs: /proc/meminfo and /proc/pressure/*, and the node name. (Issue 3.)
//!
//! `/proc/meminfo` is parsed by the `procfs` crate (`Meminfo`, from bytes we read ourselves
//! so I/O errors carry our path). `/proc/pressure/*` is parsed by our own PSI parser
//! ([`crate::cgroup::parse_psi`]): it is the same format as the cgroup `*.pressure` files,
//! so one tested parser covers both and its errors name the file the same way.
//!
//! Must not: fail a sweep. Every reading is optional; problems are returned for counting.
use crate::cgroup::{parse_psi, Reader};
use crate::sample::{NodeSample, Snapshot};
use crate::{Error, Result};
use procfs::FromRead;
use std::path::Path;

/// Read meminfo and pressure under `proc_root` into `node`; returns the errors met (a
/// missing pressure file is not an error: PSI may be disabled; one that answers `EOPNOTSUPP`
/// is returned, and the collector does not count it: [`Error::is_unsupported`]).
pub fn read_node(proc_root: &Path, reader: &mut Reader, node: &mut NodeSample) -> Vec<Error> {
    let mut errors = Vec::new();
    match read_meminfo(proc_root, reader) {
        Ok((total, avail, swap)) => {
            node.memory_total_bytes = Some(total);
            node.memory_available_bytes = avail;
            node.swap_total_bytes = Some(swap);
        }
        Err(e) => errors.push(e),
    }
    let dir = proc_root.join("pressure");
    for (name, file) in [
        ("memory", "pressure/memory"),
        ("cpu", "pressure/cpu"),
        ("io", "pressure/io"),
    ] {
        match reader.read_named(&dir, name, |s| parse_psi(file, s)) {
            Ok(p) => {
                let some = p.some.map(|l| l.avg10);
                let full = p.full.map(|l| l.avg10);
                match name {
                    "memory" => {
                        (
                            node.memory_pressure_some_avg10,
                            node.memory_pressure_full_avg10,
                        ) = (some, full)
                    }
                    "cpu" => node.cpu_pressure_some_avg10 = some,
                    _ => (node.io_pressure_some_avg10, node.io_pressure_full_avg10) = (some, full),
                }
            }
            Err(e) if e.is_vanished() => {}
            Err(e) => errors.push(e),
        }
    }
    errors
}

/// The kubelet's hard eviction threshold for memory: `evictionHard["memory.available"]`,
/// a quantity (`100Mi`, its default) or a share of the node's memory (`5%`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EvictionThreshold {
    /// An absolute amount, bytes.
    Bytes(u64),
    /// A percentage of MemTotal.
    Percent(f64),
}

impl EvictionThreshold {
    /// `100Mi`, `1G`, `5%`, `7.5%`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        match s.strip_suffix('%') {
            Some(p) => p
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|p| (0.0..=100.0).contains(p))
                .map(EvictionThreshold::Percent),
            None => crate::kube::pods::quantity_bytes(s).map(EvictionThreshold::Bytes),
        }
    }

    /// In bytes on a node of `total` bytes (`None` for a percentage without it).
    pub fn bytes(self, total: Option<u64>) -> Option<u64> {
        match self {
            EvictionThreshold::Bytes(b) => Some(b),
            EvictionThreshold::Percent(p) => total.map(|t| (t as f64 * p / 100.0).ceil() as u64),
        }
    }

    /// Write the threshold into every sample of `snapshot` that has none yet.
    pub fn apply(self, snapshot: &mut Snapshot) {
        let node_total = snapshot.node.memory_total_bytes;
        for c in &mut snapshot.containers {
            let s = &mut c.sample;
            if s.node_eviction_threshold_bytes.is_none() {
                s.node_eviction_threshold_bytes =
                    self.bytes(s.node_memory_total_bytes.or(node_total));
            }
        }
    }
}

impl std::str::FromStr for EvictionThreshold {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        EvictionThreshold::parse(s)
            .ok_or_else(|| format!("{s:?} is neither a quantity (100Mi, 1G) nor a percentage (5%)"))
    }
}

/// (MemTotal, MemAvailable, SwapTotal) in bytes; MemAvailable is `None` on kernels before 3.14.
pub fn read_meminfo(proc_root: &Path, reader: &mut Reader) -> Result<(u64, Option<u64>, u64)> {
    let path = proc_root.join("meminfo");
    let bytes = reader.read_bytes(&path)?;
    // procfs slices field names by byte; non-ASCII input could split a character.
    if !bytes.is_ascii() {
        return Err(Error::parse(&path, "not ASCII"));
    }
    // procfs multiplies each kB figure by 1024 unchecked: a figure that cannot be one (no
    // node has 16 EiB) would wrap, or panic where overflow is checked.
    if let Some(line) = bytes.split(|b| *b == b'\n').find(|l| {
        l.split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
            .nth(1)
            .and_then(|n| std::str::from_utf8(n).ok()?.parse::<u64>().ok())
            .is_some_and(|n| n > u64::MAX / 1024)
    }) {
        let line = String::from_utf8_lossy(line);
        return Err(Error::parse(&path, format!("{line:?}: out of range")));
    }
    let m = procfs::Meminfo::from_read(bytes).map_err(|e| Error::parse(&path, e.to_string()))?;
    Ok((m.mem_total, m.mem_available, m.swap_total))
}

/// Node name: `--node-name` / `NODE_NAME` if given, else `<proc_root>/sys/kernel/hostname`,
/// else `/etc/hostname`, else `"unknown"`.
pub fn node_name(arg: Option<&str>, proc_root: &Path) -> String {
    if let Some(n) = arg.map(str::trim).filter(|n| !n.is_empty()) {
        return n.to_string();
    }
    for p in [
        proc_root.join("sys/kernel/hostname"),
        "/etc/hostname".into(),
    ] {
        if let Ok(s) = std::fs::read_to_string(&p) {
            let s = s.trim();
            if !s.is_empty() {
                return s.to_string();
            }
        }
    }
    "unknown".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_thresholds_as_the_kubelet_writes_them() {
        use EvictionThreshold::{Bytes, Percent};
        assert_eq!(EvictionThreshold::parse("100Mi"), Some(Bytes(100 << 20)));
        assert_eq!(EvictionThreshold::parse("1G"), Some(Bytes(1_000_000_000)));
        assert_eq!(EvictionThreshold::parse(" 7.5% "), Some(Percent(7.5)));
        for bad in ["", "%", "-5%", "101%", "five%", "-1Gi"] {
            assert_eq!(EvictionThreshold::parse(bad), None, "{bad}");
        }
        assert!("lots".parse::<EvictionThreshold>().is_err());
        assert_eq!(Percent(5.0).bytes(Some(16 << 30)), Some(858_993_460));
        assert_eq!(Percent(5.0).bytes(None), None);
        assert_eq!(Bytes(7).bytes(None), Some(7));
    }

    #[test]
    fn a_threshold_fills_only_samples_without_one() {
        use crate::sample::{ContainerSample, Sample};
        let with = |t: Option<u64>, total: Option<u64>| ContainerSample {
            sample: Sample {
                node_eviction_threshold_bytes: t,
                node_memory_total_bytes: total,
                ..Sample::default()
            },
            ..ContainerSample::default()
        };
        let mut snap = Snapshot {
            containers: vec![
                with(Some(1), None),
                with(None, Some(1000)),
                with(None, None),
            ],
            ..Snapshot::default()
        };
        snap.node.memory_total_bytes = Some(2000);
        EvictionThreshold::Percent(10.0).apply(&mut snap);
        let got: Vec<_> = snap
            .containers
            .iter()
            .map(|c| c.sample.node_eviction_threshold_bytes)
            .collect();
        // A sample's own MemTotal first, else the node's.
        assert_eq!(got, vec![Some(1), Some(100), Some(200)]);
    }

    #[test]
    fn meminfo_and_pressure() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("pressure")).unwrap();
        std::fs::write(
            t.path().join("meminfo"),
            crate::tree::meminfo_text(16_384_000 * 1024, Some(8_192_000 * 1024)),
        )
        .unwrap();
        std::fs::write(t.path().join("pressure/memory"), "some avg10=2.50 avg60=1.00 avg300=0.10 total=10\nfull avg10=1.25 avg60=0.00 avg300=0.00 total=5\n").unwrap();
        std::fs::write(
            t.path().join("pressure/cpu"),
            "some avg10=7.00 avg60=1.00 avg300=0.10 total=10\n",
        )
        .unwrap();
        std::fs::write(t.path().join("pressure/io"), "bogus\n").unwrap();
        let mut n = NodeSample::default();
        let errs = read_node(t.path(), &mut Reader::new(), &mut n);
        assert_eq!(n.memory_total_bytes, Some(16_384_000 * 1024));
        assert_eq!(n.memory_available_bytes, Some(8_192_000 * 1024));
        assert_eq!(
            (n.memory_pressure_some_avg10, n.memory_pressure_full_avg10),
            (Some(2.5), Some(1.25))
        );
        assert_eq!(n.cpu_pressure_some_avg10, Some(7.0));
        assert_eq!(n.io_pressure_some_avg10, None);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0]
                .to_string()
                .ends_with("pressure/io: no `some` or `full` line"),
            "{}",
            errs[0]
        );
    }

    const OLD_KERNEL_MEMINFO: &str = "MemTotal:       61641404 kB\nMemFree:        25071456 kB\nBuffers:            2728 kB\nCached:         26667096 kB\nSwapCached:            0 kB\nActive:          7766692 kB\nInactive:       25447972 kB\nActive(anon):       3332 kB\nInactive(anon):  6526672 kB\nActive(file):    7763360 kB\nInactive(file): 18921300 kB\nUnevictable:        3072 kB\nMlocked:               0 kB\nSwapTotal:       8388604 kB\nSwapFree:        8386812 kB\nDirty:              4576 kB\nWriteback:             0 kB\nAnonPages:       6396352 kB\nMapped:           863432 kB\nShmem:              9504 kB\nSlab:            2387096 kB\nSReclaimable:    1539312 kB\nSUnreclaim:       847784 kB\nKernelStack:       14880 kB\nPageTables:        59592 kB\nNFS_Unstable:          0 kB\nBounce:                0 kB\nWritebackTmp:          0 kB\nCommitLimit:    39209304 kB\nCommitted_AS:   11220776 kB\nVmallocTotal:   34359738367 kB\nVmallocUsed:       87056 kB\nVmallocChunk:          0 kB\nHardwareCorrupted:     0 kB\nAnonHugePages:    235520 kB\nHugepagesize:       2048 kB\nDirectMap4k:     2092268 kB\nDirectMap2M:    51320832 kB\nDirectMap1G:     9437184 kB\n";

    #[test]
    fn non_ascii_meminfo_is_an_error_not_a_panic() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("meminfo"), "MemTotalé 5 kB\n").unwrap();
        assert!(read_meminfo(t.path(), &mut Reader::new())
            .unwrap_err()
            .to_string()
            .ends_with("meminfo: not ASCII"));
        std::fs::write(t.path().join("meminfo"), "MemTotal: 5 kB\n").unwrap();
        assert!(read_meminfo(t.path(), &mut Reader::new()).is_err());
    }

    #[test]
    fn a_meminfo_figure_no_node_can_have_is_an_error_not_a_wrap() {
        let t = tempfile::tempdir().unwrap();
        let huge = OLD_KERNEL_MEMINFO.replace(
            "MemFree:        25071456 kB",
            "MemFree:        18446744073709551615 kB",
        );
        std::fs::write(t.path().join("meminfo"), huge).unwrap();
        let e = read_meminfo(t.path(), &mut Reader::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("meminfo") && e.ends_with("out of range"), "{e}");
    }

    #[test]
    fn old_kernel_has_no_memavailable() {
        let t = tempfile::tempdir().unwrap();
        // Verbatim layout of a real pre-3.14 meminfo (elastic-agent-system-metrics testdata).
        std::fs::write(t.path().join("meminfo"), OLD_KERNEL_MEMINFO).unwrap();
        assert_eq!(
            read_meminfo(t.path(), &mut Reader::new()).unwrap(),
            (61_641_404 * 1024, None, 8_388_604 * 1024)
        );
        let mut n = NodeSample::default();
        // No pressure dir at all (PSI disabled): not an error.
        assert!(read_node(t.path(), &mut Reader::new(), &mut n).is_empty());
    }

    #[test]
    fn node_name_order() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("sys/kernel")).unwrap();
        std::fs::write(t.path().join("sys/kernel/hostname"), "worker-7\n").unwrap();
        assert_eq!(node_name(Some("node-a"), t.path()), "node-a");
        assert_eq!(node_name(Some(" "), t.path()), "worker-7");
        assert_eq!(node_name(None, t.path()), "worker-7");
    }
}
