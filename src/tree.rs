//! Writes synthetic cgroup trees that look like a real node (used by benches, `demo`, soak
//! tests): one container's files from a [`crate::sample::Sample`]. (Issue 3.)
//!
//! The layout is cgroup v2 + systemd driver + containerd, the most common node today:
//! `kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_>.slice/cri-containerd-<id>.scope`
//! (guaranteed pods directly under `kubepods.slice`), with every file in the kernel's exact
//! format so [`crate::collect::Collector`] reads it like a real node. Files are replaced
//! atomically (write a temp file, rename) so a concurrent sweep never sees a half-written file.
//!
//! Round trip: every Sample field the collector reads comes back equal, except PSI averages,
//! which the kernel prints with two decimals (written rounded), and CPU seconds, written in
//! whole microseconds.
//!
//! Where to put the tree: on tmpfs ([`scratch_dir`] picks `/dev/shm` when it can). On ext4 a
//! rename over an existing file forces the new file's blocks to disk (`auto_da_alloc`), and a
//! rewrite of 1,000 containers took 2–8 s here instead of a fraction of a second.
//!
//! Must not: be used on a real `/sys/fs/cgroup` (it writes plain files).
use crate::sample::{NodeSample, Qos, Sample};
use crate::{Error, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Who a synthetic container is: enough to place it in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Pod UID with dashes (36 chars).
    pub pod_uid: String,
    /// Container ID, 64 lowercase hex.
    pub container_id: String,
    /// QoS class (decides the slice).
    pub qos: Qos,
}

impl ContainerSpec {
    /// A spec from its parts.
    pub fn new(pod_uid: impl Into<String>, container_id: impl Into<String>, qos: Qos) -> Self {
        ContainerSpec {
            pod_uid: pod_uid.into(),
            container_id: container_id.into(),
            qos,
        }
    }

    /// A deterministic, realistic-looking spec number `n` of pod `pod` (for generated trees).
    pub fn generated(pod: u32, n: u32, qos: Qos) -> Self {
        ContainerSpec {
            pod_uid: pod_uid_for(pod),
            container_id: container_id_for(pod, n),
            qos,
        }
    }

    /// The pod cgroup, relative to the cgroup root.
    pub fn pod_rel(&self) -> String {
        let uid = self.pod_uid.replace('-', "_");
        match self.qos {
            Qos::Guaranteed => format!("kubepods.slice/kubepods-pod{uid}.slice"),
            Qos::Burstable => {
                format!("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid}.slice")
            }
            Qos::Besteffort => format!(
                "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{uid}.slice"
            ),
        }
    }

    /// The container cgroup, relative to the cgroup root (what `ContainerMeta.cgroup` holds).
    pub fn rel(&self) -> String {
        format!(
            "{}/cri-containerd-{}.scope",
            self.pod_rel(),
            self.container_id
        )
    }
}

/// A UUID-shaped pod UID derived from `n` (stable across runs).
pub fn pod_uid_for(n: u32) -> String {
    let h = mix(n as u64 ^ 0x9e37_79b9_7f4a_7c15);
    let g = mix(h);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (h >> 32) as u32,
        (h >> 16) as u16,
        (h & 0xfff) as u16,
        (0x8000 | (g >> 48) as u16 & 0x3fff),
        g & 0xffff_ffff_ffff
    )
}

/// A 64-hex container ID derived from (`pod`, `n`) (stable across runs).
pub fn container_id_for(pod: u32, n: u32) -> String {
    let mut s = String::with_capacity(64);
    let mut x = mix(((pod as u64) << 32) | n as u64);
    for _ in 0..4 {
        x = mix(x);
        let _ = write!(s, "{x:016x}");
    }
    s
}

/// splitmix64 finaliser: cheap, deterministic, well spread.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Writes a v2 systemd/containerd node tree.
#[derive(Debug)]
pub struct TreeWriter {
    cgroup_root: PathBuf,
    proc_root: PathBuf,
    buf: String,
    tmp: PathBuf,
}

impl TreeWriter {
    /// Create `base/sys/fs/cgroup` and `base/proc` with the node-level skeleton.
    pub fn create(base: &Path) -> Result<Self> {
        Self::with_roots(&base.join("sys/fs/cgroup"), &base.join("proc"))
    }

    /// Use explicit roots (created if missing).
    pub fn with_roots(cgroup_root: &Path, proc_root: &Path) -> Result<Self> {
        let mut w = TreeWriter {
            cgroup_root: cgroup_root.to_path_buf(),
            proc_root: proc_root.to_path_buf(),
            buf: String::with_capacity(4096),
            tmp: PathBuf::new(),
        };
        w.skeleton()?;
        Ok(w)
    }

    /// `--cgroup-root` for the collector.
    pub fn cgroup_root(&self) -> &Path {
        &self.cgroup_root
    }

    /// `--proc-root` for the collector.
    pub fn proc_root(&self) -> &Path {
        &self.proc_root
    }

    /// Root files, the kubepods slices, system.slice noise, and a default node.
    fn skeleton(&mut self) -> Result<()> {
        let root = self.cgroup_root.clone();
        mkdir(&root)?;
        self.put(
            &root,
            "cgroup.controllers",
            "cpuset cpu io memory hugetlb pids rdma misc\n",
        )?;
        self.put(
            &root,
            "cgroup.subtree_control",
            "cpuset cpu io memory hugetlb pids\n",
        )?;
        self.put(&root, "cgroup.procs", "1\n")?;
        for (rel, procs) in [
            ("init.scope", "1\n"),
            ("system.slice", ""),
            ("system.slice/containerd.service", "812\n845\n"),
            ("system.slice/kubelet.service", "1021\n"),
            ("kubepods.slice", ""),
            ("kubepods.slice/kubepods-burstable.slice", ""),
            ("kubepods.slice/kubepods-besteffort.slice", ""),
        ] {
            let dir = root.join(rel);
            mkdir(&dir)?;
            self.put(&dir, "cgroup.procs", procs)?;
            self.put(
                &dir,
                "cgroup.controllers",
                "cpuset cpu io memory hugetlb pids rdma misc\n",
            )?;
            self.put(&dir, "memory.max", "max\n")?;
        }
        mkdir(&self.proc_root.join("pressure"))?;
        mkdir(&self.proc_root.join("sys/kernel"))?;
        self.write_node(&NodeSample::quiet("synthetic-node", 16 << 30, 12 << 30))
    }

    /// Write (or rewrite) every v2 file of one container from `s`; creates the pod and
    /// container directories as needed. Returns the container directory.
    pub fn write_container(&mut self, spec: &ContainerSpec, s: &Sample) -> Result<PathBuf> {
        let pod = self.cgroup_root.join(spec.pod_rel());
        let dir = self.cgroup_root.join(spec.rel());
        if !dir.is_dir() {
            if !pod.is_dir() {
                mkdir(&pod)?;
                self.put(&pod, "cgroup.procs", "")?;
                self.put(&pod, "memory.max", "max\n")?;
                self.put(&pod, "cpu.max", "max 100000\n")?;
                self.put(&pod, "pids.max", "max\n")?;
            }
            mkdir(&dir)?;
            self.put(&dir, "cgroup.procs", "")?;
            self.put(
                &dir,
                "cgroup.controllers",
                "cpuset cpu io memory hugetlb pids rdma misc\n",
            )?;
            self.put(&dir, "memory.high", "max\n")?;
        }
        let usage = s
            .memory_usage_bytes
            .or(s.memory_working_set_bytes)
            .unwrap_or(0);
        let ws = s.memory_working_set_bytes.unwrap_or(usage).min(usage);
        let inactive_file = usage - ws;
        let file = s
            .memory_file_bytes
            .unwrap_or(inactive_file)
            .max(inactive_file);
        let anon = s.memory_anon_bytes.unwrap_or(usage.saturating_sub(file));
        let kernel = usage.saturating_sub(anon + file);

        self.num(&dir, "memory.current", usage)?;
        self.max_or(&dir, "memory.max", s.memory_limit_bytes)?;
        let shmem = s.memory_shmem_bytes.unwrap_or(0).min(file);
        self.memory_stat(
            &dir,
            (anon, file, inactive_file, shmem),
            kernel,
            s.memory_slab_reclaimable_bytes,
        )?;
        self.memory_events(&dir, s, s.oom_kills_total)?;
        self.memory_events(&pod, s, s.pod_oom_kills_total.or(s.oom_kills_total))?;
        self.num(
            &dir,
            "memory.swap.current",
            s.memory_swap_bytes.unwrap_or(0),
        )?;
        self.psi(
            &dir,
            "memory.pressure",
            s.memory_pressure_some_avg10,
            s.memory_pressure_full_avg10,
        )?;
        self.cpu_stat(&dir, s)?;
        self.buf.clear();
        match s.cpu_limit_cores {
            Some(c) => {
                let _ = writeln!(self.buf, "{} 100000", (c * 100_000.0).round() as u64);
            }
            None => self.buf.push_str("max 100000\n"),
        }
        self.flush(&dir, "cpu.max")?;
        self.psi(&dir, "cpu.pressure", s.cpu_pressure_some_avg10, Some(0.0))?;
        self.num(&dir, "pids.current", s.pids_current.unwrap_or(1))?;
        self.max_or(&dir, "pids.max", s.pids_limit)?;
        Ok(dir)
    }

    /// Remove a container's cgroup (as the runtime does when it exits); the pod cgroup stays.
    pub fn remove_container(&mut self, spec: &ContainerSpec) -> Result<()> {
        let dir = self.cgroup_root.join(spec.rel());
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(dir, e)),
            _ => Ok(()),
        }
    }

    /// Remove a whole pod cgroup with its containers.
    pub fn remove_pod(&mut self, spec: &ContainerSpec) -> Result<()> {
        let dir = self.cgroup_root.join(spec.pod_rel());
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(dir, e)),
            _ => Ok(()),
        }
    }

    /// Write `/proc/meminfo`, `/proc/pressure/*` and the hostname from `n`.
    pub fn write_node(&mut self, n: &NodeSample) -> Result<()> {
        let proc = self.proc_root.clone();
        let total = n.memory_total_bytes.unwrap_or(16 << 30);
        self.buf = meminfo_text(total, n.memory_available_bytes);
        self.flush(&proc, "meminfo")?;
        let pressure = proc.join("pressure");
        self.psi(
            &pressure,
            "memory",
            n.memory_pressure_some_avg10,
            n.memory_pressure_full_avg10,
        )?;
        self.psi(&pressure, "cpu", n.cpu_pressure_some_avg10, Some(0.0))?;
        self.psi(
            &pressure,
            "io",
            n.io_pressure_some_avg10,
            n.io_pressure_full_avg10,
        )?;
        if !n.name.is_empty() {
            let name = format!("{}\n", n.name);
            self.put(&proc.join("sys/kernel"), "hostname", &name)?;
        }
        Ok(())
    }

    /// v2 memory.stat with the full key set of a 6.x kernel, consistent with the sample.
    /// memory.stat; `lru` is anon, file, inactive_file and shmem. Without a reclaimable-slab
    /// figure, half the kernel's memory is slab, three quarters of it reclaimable.
    fn memory_stat(
        &mut self,
        dir: &Path,
        lru: (u64, u64, u64, u64),
        kernel: u64,
        slab_reclaimable: Option<u64>,
    ) -> Result<()> {
        let (anon, file, inactive_file, shmem) = lru;
        let active_anon = anon / 16;
        let slab_reclaimable = slab_reclaimable.unwrap_or(kernel / 2 * 3 / 4);
        let slab = slab_reclaimable.max(kernel / 2);
        let b = &mut self.buf;
        b.clear();
        let _ = write!(
            b,
            "anon {anon}\nfile {file}\nkernel {kernel}\nkernel_stack {}\npagetables {}\nsec_pagetables 0\npercpu 1152\nsock 0\nvmalloc 0\nshmem {shmem}\nzswap 0\nzswapped 0\nfile_mapped {}\nfile_dirty 0\nfile_writeback 0\nswapcached 0\nanon_thp 0\nfile_thp 0\nshmem_thp 0\ninactive_anon {}\nactive_anon {active_anon}\ninactive_file {inactive_file}\nactive_file {}\nunevictable 0\nslab_reclaimable {}\nslab_unreclaimable {}\nslab {slab}\nworkingset_refault_anon 0\nworkingset_refault_file 0\nworkingset_activate_anon 0\nworkingset_activate_file 0\nworkingset_restore_anon 0\nworkingset_restore_file 0\nworkingset_nodereclaim 0\npswpin 0\npswpout 0\npgscan 0\npgsteal 0\npgscan_kswapd 0\npgscan_direct 0\npgscan_khugepaged 0\npgsteal_kswapd 0\npgsteal_direct 0\npgsteal_khugepaged 0\npgfault {}\npgmajfault 0\npgrefill 0\npgactivate 0\npgdeactivate 0\npglazyfree 0\npglazyfreed 0\nzswpin 0\nzswpout 0\nzswpwb 0\nthp_fault_alloc 0\nthp_collapse_alloc 0\nthp_swpout 0\nthp_swpout_fallback 0\n",
            kernel / 8,
            kernel / 8,
            file / 4,
            anon - active_anon,
            file - inactive_file,
            slab_reclaimable,
            slab - slab_reclaimable,
            anon / 4096 + file / 4096,
        );
        self.flush(dir, "memory.stat")
    }

    /// memory.events with `oom_kill` = `kills`.
    fn memory_events(&mut self, dir: &Path, s: &Sample, kills: Option<u64>) -> Result<()> {
        self.buf.clear();
        let _ = write!(
            self.buf,
            "low 0\nhigh {}\nmax {}\noom {}\noom_kill {}\noom_group_kill 0\n",
            s.memory_high_events_total.unwrap_or(0),
            s.memory_max_events_total.unwrap_or(0),
            s.oom_events_total.unwrap_or(kills.unwrap_or(0)),
            kills.unwrap_or(0)
        );
        self.flush(dir, "memory.events")
    }

    /// v2 cpu.stat from the sample's CPU counters.
    fn cpu_stat(&mut self, dir: &Path, s: &Sample) -> Result<()> {
        let usage = (s.cpu_usage_seconds_total.unwrap_or(0.0) * 1e6).round() as u64;
        let user = usage / 10 * 8;
        let throttled = (s.cpu_throttled_seconds_total.unwrap_or(0.0) * 1e6).round() as u64;
        self.buf.clear();
        let _ = write!(
            self.buf,
            "usage_usec {usage}\nuser_usec {user}\nsystem_usec {}\nnice_usec 0\ncore_sched.force_idle_usec 0\nnr_periods {}\nnr_throttled {}\nthrottled_usec {throttled}\nnr_bursts 0\nburst_usec 0\n",
            usage - user,
            s.cpu_periods_total.unwrap_or(0),
            s.cpu_throttled_periods_total.unwrap_or(0),
        );
        self.flush(dir, "cpu.stat")
    }

    /// A PSI file (`full` line printed when given).
    fn psi(&mut self, dir: &Path, name: &str, some: Option<f64>, full: Option<f64>) -> Result<()> {
        self.buf.clear();
        let some = some.unwrap_or(0.0);
        let _ = writeln!(
            self.buf,
            "some avg10={some:.2} avg60={:.2} avg300={:.2} total={}",
            some * 0.8,
            some * 0.5,
            (some * 1e5) as u64
        );
        if let Some(full) = full {
            let _ = writeln!(
                self.buf,
                "full avg10={full:.2} avg60={:.2} avg300={:.2} total={}",
                full * 0.8,
                full * 0.5,
                (full * 1e5) as u64
            );
        }
        self.flush(dir, name)
    }

    /// A one-number file.
    fn num(&mut self, dir: &Path, name: &str, v: u64) -> Result<()> {
        self.buf.clear();
        let _ = writeln!(self.buf, "{v}");
        self.flush(dir, name)
    }

    /// A `max`-or-number file.
    fn max_or(&mut self, dir: &Path, name: &str, v: Option<u64>) -> Result<()> {
        match v {
            Some(v) => self.num(dir, name, v),
            None => self.put(dir, name, "max\n"),
        }
    }

    /// Write literal `text` to `dir/name`.
    fn put(&mut self, dir: &Path, name: &str, text: &str) -> Result<()> {
        self.buf.clear();
        self.buf.push_str(text);
        self.flush(dir, name)
    }

    /// Write `self.buf` to `dir/name` atomically (temp file + rename).
    fn flush(&mut self, dir: &Path, name: &str) -> Result<()> {
        self.tmp.clear();
        self.tmp.push(dir);
        self.tmp.push(format!(".{name}.tmp"));
        std::fs::write(&self.tmp, self.buf.as_bytes()).map_err(|e| Error::io(&self.tmp, e))?;
        let dst = dir.join(name);
        std::fs::rename(&self.tmp, &dst).map_err(|e| Error::io(dst, e))
    }
}

/// A temporary directory for a generated tree, on tmpfs (`/dev/shm`) when that is writable
/// (cheap atomic rewrites, like the memory-backed cgroupfs), else the default temp dir.
pub fn scratch_dir() -> Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::Builder::new()
            .prefix("crashwatch-tree-")
            .tempdir_in(shm)
        {
            return Ok(d);
        }
    }
    tempfile::Builder::new()
        .prefix("crashwatch-tree-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))
}

/// `mkdir -p` with a path-carrying error.
fn mkdir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

/// A complete `/proc/meminfo` (6.x key set, `kB` units) with the given MemTotal and
/// MemAvailable (omitted when `None`, as on kernels before 3.14). Other lines are derived.
pub fn meminfo_text(total_bytes: u64, available_bytes: Option<u64>) -> String {
    let total = total_bytes / 1024;
    let avail = available_bytes.map(|a| a / 1024);
    let a = avail.unwrap_or(total / 2);
    let free = a / 3;
    let cached = a - free;
    let used = total.saturating_sub(a);
    let mut s = String::with_capacity(1600);
    let mut line = |k: &str, v: u64| {
        let _ = writeln!(s, "{:<16}{v:>8} kB", format!("{k}:"));
    };
    line("MemTotal", total);
    line("MemFree", free);
    if let Some(av) = avail {
        line("MemAvailable", av);
    }
    for (k, v) in [
        ("Buffers", cached / 50),
        ("Cached", cached),
        ("SwapCached", 0),
        ("Active", used / 2 + cached / 2),
        ("Inactive", used / 2 + cached / 2),
        ("Active(anon)", used / 2),
        ("Inactive(anon)", used / 2),
        ("Active(file)", cached / 2),
        ("Inactive(file)", cached / 2),
        ("Unevictable", 0),
        ("Mlocked", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Zswap", 0),
        ("Zswapped", 0),
        ("Dirty", 1024),
        ("Writeback", 0),
        ("AnonPages", used),
        ("Mapped", cached / 10),
        ("Shmem", 8872),
        ("KReclaimable", 328_428),
        ("Slab", 378_772),
        ("SReclaimable", 328_428),
        ("SUnreclaim", 50_344),
        ("KernelStack", 14_880),
        ("PageTables", 59_592),
        ("SecPageTables", 0),
        ("NFS_Unstable", 0),
        ("Bounce", 0),
        ("WritebackTmp", 0),
        ("CommitLimit", total / 2),
        ("Committed_AS", used * 2),
        ("VmallocTotal", 34_359_738_367),
        ("VmallocUsed", 87_056),
        ("VmallocChunk", 0),
        ("Percpu", 70_272),
        ("HardwareCorrupted", 0),
        ("AnonHugePages", 0),
        ("ShmemHugePages", 0),
        ("ShmemPmdMapped", 0),
        ("FileHugePages", 0),
        ("FilePmdMapped", 0),
    ] {
        line(k, v);
    }
    for k in [
        "HugePages_Total",
        "HugePages_Free",
        "HugePages_Rsvd",
        "HugePages_Surp",
    ] {
        let _ = writeln!(s, "{:<16}{:>8}", format!("{k}:"), 0);
    }
    let mut line = |k: &str, v: u64| {
        let _ = writeln!(s, "{:<16}{v:>8} kB", format!("{k}:"));
    };
    line("Hugepagesize", 2048);
    line("Hugetlb", 0);
    line("DirectMap4k", 2_092_268);
    line("DirectMap2M", total / 2);
    line("DirectMap1G", total / 2);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::{CollectConfig, Collector};

    #[test]
    fn generated_ids_look_real() {
        let s = ContainerSpec::generated(7, 1, Qos::Burstable);
        assert_eq!(s.pod_uid.len(), 36);
        assert_eq!(s.container_id.len(), 64);
        assert_eq!(
            crate::discover::parse_pod_dir(&format!("pod{}", s.pod_uid)),
            Some(s.pod_uid.clone())
        );
        assert_eq!(s, ContainerSpec::generated(7, 1, Qos::Burstable));
        assert_ne!(s.container_id, container_id_for(7, 2));
    }

    #[test]
    fn round_trip_through_the_collector() {
        let t = tempfile::tempdir().unwrap();
        let mut w = TreeWriter::create(t.path()).unwrap();
        let node = NodeSample {
            name: "n1".into(),
            memory_total_bytes: Some(8 << 30),
            memory_available_bytes: Some(3 << 30),
            memory_pressure_some_avg10: Some(1.25),
            ..Default::default()
        };
        w.write_node(&node).unwrap();
        let leaky = ContainerSpec::generated(1, 1, Qos::Burstable);
        let s = Sample {
            memory_usage_bytes: Some(300 << 20),
            memory_working_set_bytes: Some(260 << 20),
            memory_limit_bytes: Some(512 << 20),
            memory_anon_bytes: Some(250 << 20),
            memory_file_bytes: Some(45 << 20),
            memory_shmem_bytes: Some(4 << 20),
            memory_slab_reclaimable_bytes: Some(3 << 20),
            memory_swap_bytes: Some(0),
            oom_events_total: Some(2),
            oom_kills_total: Some(1),
            pod_oom_kills_total: Some(3),
            memory_high_events_total: Some(0),
            memory_max_events_total: Some(17),
            memory_pressure_some_avg10: Some(12.5),
            memory_pressure_full_avg10: Some(3.25),
            cpu_usage_seconds_total: Some(123.456789),
            cpu_limit_cores: Some(0.5),
            cpu_throttled_seconds_total: Some(4.5),
            cpu_throttled_periods_total: Some(40),
            cpu_periods_total: Some(1000),
            cpu_pressure_some_avg10: Some(20.0),
            pids_current: Some(12),
            pids_limit: Some(4096),
            ..Default::default()
        };
        w.write_container(&leaky, &s).unwrap();
        let free = ContainerSpec::generated(2, 1, Qos::Besteffort);
        w.write_container(
            &free,
            &Sample {
                memory_usage_bytes: Some(10 << 20),
                ..Default::default()
            },
        )
        .unwrap();
        let gone = ContainerSpec::generated(3, 1, Qos::Guaranteed);
        w.write_container(
            &gone,
            &Sample {
                memory_usage_bytes: Some(1 << 20),
                ..Default::default()
            },
        )
        .unwrap();
        w.remove_container(&gone).unwrap();

        let mut c = Collector::new(CollectConfig {
            cgroup_root: w.cgroup_root().into(),
            proc_root: w.proc_root().into(),
            node_name: "n1".into(),
        });
        let (snap, stats) = c.sweep();
        assert_eq!(stats.error_count(), 0, "{:?}", stats.errors);
        assert_eq!(snap.node.memory_total_bytes, Some(8 << 30));
        assert_eq!(snap.node.memory_available_bytes, Some(3 << 30));
        assert_eq!(snap.node.memory_pressure_some_avg10, Some(1.25));
        assert_eq!(snap.node.cgroup_mode, "v2");
        assert!(!snap.node.host_mode);
        assert_eq!(snap.containers.len(), 2);
        let got = snap
            .containers
            .iter()
            .find(|c| c.meta.cgroup == leaky.rel())
            .unwrap();
        assert_eq!(got.meta.pod_uid.as_deref(), Some(leaky.pod_uid.as_str()));
        assert_eq!(got.meta.container, &leaky.container_id[..12]);
        let mut want = s.clone();
        want.ts = snap.ts;
        want.id = format!("/{}/{}", leaky.pod_uid, &leaky.container_id[..12]);
        want.qos = Some(Qos::Burstable);
        want.node_memory_available_bytes = Some(3 << 30);
        want.node_memory_total_bytes = Some(8 << 30);
        want.cpu_usage_seconds_total = Some(123.456789);
        assert_eq!(got.sample, want);
        let be = snap
            .containers
            .iter()
            .find(|c| c.meta.cgroup == free.rel())
            .unwrap();
        assert_eq!(be.sample.memory_limit_bytes, None);
        assert_eq!(be.sample.memory_working_set_bytes, Some(10 << 20));
        assert_eq!(be.sample.qos, Some(Qos::Besteffort));
    }
}
