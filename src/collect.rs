//! One sweep of the node: discover containers, read their files, build samples. (Issue 3.)
//!
//! Policy for problems (the parsers only report them): a cgroup that disappears between
//! listing and reading (`ENOENT` on its directory, or `ENODEV` from a dying cgroup) is
//! skipped and counted in `SweepStats.vanished`: containers exit all the time and that is
//! not an error. A malformed or unreadable file is counted in `SweepStats.errors` by kind,
//! logged (rate-limited, with its path), and the container is still reported with every
//! field that could be read. A missing optional file (swap or PSI accounting off, a v1
//! controller without this path) just leaves its fields `None`.
//!
//! Cost: the kubepods location is found once and cached (searched again only when it is
//! missing or vanished); each sweep lists only kubepods' three levels (class/pod/container)
//! and reads each file once through one reused buffer.
//!
//! Must not: panic on kernel input, or fail the sweep as a whole.
use crate::cgroup::{v1, v2, KernelFile, Reader};
use crate::discover::{self, Layout, Mode, Target};
use crate::node;
use crate::sample::{ContainerMeta, ContainerSample, NodeSample, Sample, Snapshot};
use crate::Error;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Sweeps between searches for a kubepods hierarchy while none is found (host mode).
const RESEARCH_EVERY: u64 = 30;
/// Minimum time between two warnings about the same file.
const WARN_EVERY: Duration = Duration::from_secs(60);

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

impl SweepStats {
    /// Total errors of all kinds.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// The cgroup went away while we read it.
struct Vanished;

/// Reads the node; keeps reusable buffers between sweeps.
pub struct Collector {
    cfg: CollectConfig,
    reader: Reader,
    layout: Option<Layout>,
    kubepods: Vec<String>,
    sweeps: u64,
    next_search: u64,
    targets: Vec<Target>,
    warned: HashMap<PathBuf, Instant>,
    /// Names of the files the kernel does not serve here ([`Error::is_unsupported`]), each
    /// said once.
    unsupported: HashSet<String>,
}

impl Collector {
    /// A collector for `cfg`. No I/O until the first sweep.
    pub fn new(cfg: CollectConfig) -> Self {
        Collector {
            cfg,
            reader: Reader::new(),
            layout: None,
            kubepods: Vec::new(),
            sweeps: 0,
            next_search: 0,
            targets: Vec::new(),
            warned: HashMap::new(),
            unsupported: HashSet::new(),
        }
    }

    /// The detected layout (after the first successful sweep).
    pub fn layout(&self) -> Option<&Layout> {
        self.layout.as_ref()
    }

    /// One sweep. Never fails as a whole: per-container problems are counted in the stats.
    pub fn sweep(&mut self) -> (Snapshot, SweepStats) {
        let start = Instant::now();
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let mut stats = SweepStats::default();
        let mut snap = Snapshot {
            ts,
            node: NodeSample {
                name: self.cfg.node_name.clone(),
                ..Default::default()
            },
            containers: Vec::new(),
        };
        for e in node::read_node(&self.cfg.proc_root, &mut self.reader, &mut snap.node) {
            self.note_error(&mut stats, e);
        }
        self.sweeps += 1;
        let layout = match self.layout.take() {
            Some(l) => l,
            None => match discover::detect(&self.cfg.cgroup_root) {
                Ok(l) => l,
                Err(e) => {
                    self.note_error(&mut stats, e);
                    stats.duration = start.elapsed();
                    return (snap, stats);
                }
            },
        };
        snap.node.cgroup_mode = layout.mode.as_str().to_string();
        self.sweep_containers(&layout, &mut snap, &mut stats);
        self.layout = Some(layout);
        stats.duration = start.elapsed();
        (snap, stats)
    }

    /// List and read every container (or every limited cgroup in host mode).
    fn sweep_containers(&mut self, layout: &Layout, snap: &mut Snapshot, stats: &mut SweepStats) {
        let stale = self
            .kubepods
            .iter()
            .any(|k| !layout.memory.join(k).is_dir());
        if stale || (self.kubepods.is_empty() && self.sweeps >= self.next_search) {
            self.kubepods = discover::find_kubepods(&layout.memory);
            self.next_search = self.sweeps + RESEARCH_EVERY;
        }
        let host_mode = self.kubepods.is_empty();
        snap.node.host_mode = host_mode;
        snap.node.pods_memory_available_bytes = self.read_pods_headroom(layout, stats);
        let mut targets = std::mem::take(&mut self.targets);
        targets.clear();
        if host_mode {
            targets.extend(
                discover::list_all(&layout.memory)
                    .into_iter()
                    .map(|rel| Target {
                        rel,
                        pod_rel: None,
                        pod_uid: None,
                        container_id: None,
                        qos: None,
                    }),
            );
        } else {
            for k in &self.kubepods {
                discover::list_containers(&layout.memory, k, &mut targets);
            }
        }
        targets.sort_by(|a, b| a.rel.cmp(&b.rel));
        self.read_targets(layout, &targets, host_mode, snap, stats);
        self.targets = targets;
    }

    /// Read every listed cgroup into `snap` (skipping vanished ones and, in host mode,
    /// unlimited ones).
    fn read_targets(
        &mut self,
        layout: &Layout,
        targets: &[Target],
        host_mode: bool,
        snap: &mut Snapshot,
        stats: &mut SweepStats,
    ) {
        // Pod-level files, read once per pod per sweep (containers of a pod come together).
        let mut pod_kills: Option<(String, Option<u64>)> = None;
        let mut pod_pids: Option<(String, PodPids)> = None;
        let node_swap = snap.node.swap_total_bytes.is_some_and(|b| b > 0);
        for t in targets {
            if host_mode && !self.host_limited(layout, &t.rel) {
                continue;
            }
            let mut s = Sample {
                ts: snap.ts,
                qos: t.qos,
                ..Default::default()
            };
            let read = match layout.mode {
                Mode::V2 => self.read_v2(layout, &t.rel, node_swap, &mut s, stats),
                Mode::V1 | Mode::Hybrid => self.read_v1(layout, &t.rel, &mut s, stats),
            };
            if read.is_err() {
                stats.vanished += 1;
                continue;
            }
            if host_mode && s.memory_limit_bytes.is_none() {
                continue;
            }
            if let Some(pod_rel) = &t.pod_rel {
                s.pod_oom_kills_total = per_pod(&mut pod_kills, pod_rel, || {
                    self.read_pod_oom_kills(layout, pod_rel, stats)
                });
                if s.pids_limit.is_none() {
                    // A pod spec has no container PID limit: the kubelet's podPidsLimit is
                    // pids.max of the pod cgroup, and the container's own says `max`. That
                    // limit counts the tasks of the pod's every container: its pids.current.
                    let pod = per_pod(&mut pod_pids, pod_rel, || {
                        self.read_pod_pids(layout, pod_rel, stats)
                    });
                    s.pids_limit = pod.limit.flatten();
                    s.pod_pids_current = pod.current.filter(|_| s.pids_limit.is_some());
                    // Unset only when both say `max`: an unreadable pod file leaves it unknown.
                    s.pids_limit_unset &= pod.limit.is_some_and(|l| l.is_none());
                }
            }
            s.node_memory_available_bytes = snap.node.memory_available_bytes;
            s.node_memory_total_bytes = snap.node.memory_total_bytes;
            s.node_allocatable_available_bytes = snap.node.pods_memory_available_bytes;
            let meta = meta_for(t);
            s.id = meta.id();
            snap.containers.push(ContainerSample { meta, sample: s });
        }
    }

    /// The kubepods cgroup's limit less its working set (the lowest, should there be more
    /// than one hierarchy), as the kubelet computes `allocatableMemory.available` for the
    /// `pods` system container; `None` without a limit (node allocatable not enforced) or
    /// without the files. The kubelet sets that limit to capacity less kube- and
    /// system-reserved, so where memory is reserved pods run out before the node does.
    fn read_pods_headroom(&mut self, layout: &Layout, stats: &mut SweepStats) -> Option<u64> {
        let mut least: Option<u64> = None;
        // Taken out for the loop (the reads borrow the collector) and put back, uncloned.
        let kubepods = std::mem::take(&mut self.kubepods);
        for k in &kubepods {
            let dir = layout.memory.join(k);
            let (limit, usage, inactive) = match layout.mode {
                Mode::V2 => (
                    self.field(&dir, stats, |m: v2::MemoryMax| m.bytes),
                    self.field(&dir, stats, |m: v2::MemoryCurrent| Some(m.bytes)),
                    self.field(&dir, stats, |m: v2::MemoryStat| m.inactive_file),
                ),
                Mode::V1 | Mode::Hybrid => (
                    self.field(&dir, stats, |m: v1::MemoryLimitInBytes| m.bytes),
                    self.field(&dir, stats, |m: v1::MemoryUsageInBytes| Some(m.bytes)),
                    self.field(&dir, stats, |m: v1::MemoryStat| m.total_inactive_file),
                ),
            };
            if let (Some(l), Some(ws)) = (limit, working_set(usage, inactive)) {
                let left = l.saturating_sub(ws);
                least = Some(least.map_or(left, |v| v.min(left)));
            }
        }
        self.kubepods = kubepods;
        least
    }

    /// One value of a file in a directory this sweep does not own (a vanished one is no
    /// vanished container; a malformed one is counted like any other).
    fn field<T: KernelFile, V>(
        &mut self,
        dir: &Path,
        stats: &mut SweepStats,
        pick: impl FnOnce(T) -> Option<V>,
    ) -> Option<V> {
        self.get::<T>(dir, false, stats)
            .ok()
            .flatten()
            .and_then(pick)
    }

    /// Host mode: does this cgroup have its own memory limit? Checked before the full read so
    /// each unlimited cgroup costs one file; unreadable means "not tracked", silently.
    fn host_limited(&mut self, layout: &Layout, rel: &str) -> bool {
        let dir = layout.memory.join(rel);
        match layout.mode {
            Mode::V2 => matches!(
                self.reader.read::<v2::MemoryMax>(&dir),
                Ok(v2::MemoryMax { bytes: Some(_) })
            ),
            Mode::V1 | Mode::Hybrid => matches!(
                self.reader.read::<v1::MemoryLimitInBytes>(&dir),
                Ok(v1::MemoryLimitInBytes { bytes: Some(_) })
            ),
        }
    }

    /// Read one file; map problems to policy (see the module doc). `owner` is the cgroup
    /// whose disappearance means the container is gone (`None`: a missing dir is just absence).
    fn get<T: KernelFile>(
        &mut self,
        dir: &Path,
        owner: bool,
        stats: &mut SweepStats,
    ) -> Result<Option<T>, Vanished> {
        match self.reader.read::<T>(dir) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_vanished() => {
                if owner && (e.is_dying_cgroup() || !dir.is_dir()) {
                    Err(Vanished)
                } else {
                    Ok(None)
                }
            }
            Err(e) => {
                self.note_error(stats, e);
                Ok(None)
            }
        }
    }

    /// cgroup v2: everything under one directory. `node_swap`: the node has swap, so the
    /// container's swap limit is worth a read.
    fn read_v2(
        &mut self,
        layout: &Layout,
        rel: &str,
        node_swap: bool,
        s: &mut Sample,
        stats: &mut SweepStats,
    ) -> Result<(), Vanished> {
        let dir = layout.memory.join(rel);
        let usage = self
            .get::<v2::MemoryCurrent>(&dir, true, stats)?
            .map(|m| m.bytes);
        s.memory_usage_bytes = usage;
        s.memory_limit_bytes = self
            .get::<v2::MemoryMax>(&dir, true, stats)?
            .and_then(|m| m.bytes);
        if let Some(st) = self.get::<v2::MemoryStat>(&dir, true, stats)? {
            s.memory_anon_bytes = st.anon;
            s.memory_file_bytes = st.file;
            s.memory_shmem_bytes = st.shmem;
            s.memory_slab_reclaimable_bytes = st.slab_reclaimable;
            s.memory_working_set_bytes = working_set(usage, st.inactive_file);
        }
        if let Some(ev) = self.get::<v2::MemoryEvents>(&dir, true, stats)? {
            s.oom_events_total = ev.oom;
            s.oom_kills_total = ev.oom_kill;
            s.memory_high_events_total = ev.high;
            s.memory_max_events_total = ev.max;
        }
        s.memory_swap_bytes = self
            .get::<v2::MemorySwapCurrent>(&dir, true, stats)?
            .map(|m| m.bytes);
        // Only on a node with swap: on the usual swapless one it is a read per container and
        // sweep for nothing. Before any is used too: the room it leaves counts from the start.
        if node_swap && s.memory_swap_bytes.is_some() {
            s.memory_swap_limit_bytes = self
                .get::<v2::MemorySwapMax>(&dir, true, stats)?
                .and_then(|m| m.bytes);
        }
        if let Some(c) = self.get::<v2::CpuStat>(&dir, true, stats)? {
            s.cpu_usage_seconds_total = c.usage_usec.map(|u| u as f64 / 1e6);
            s.cpu_throttled_seconds_total = c.throttled_usec.map(|u| u as f64 / 1e6);
            s.cpu_throttled_periods_total = c.nr_throttled;
            s.cpu_periods_total = c.nr_periods;
        }
        s.cpu_limit_cores = self
            .get::<v2::CpuMax>(&dir, true, stats)?
            .and_then(|c| c.cores());
        self.read_pressure(&dir, true, s, stats)?;
        self.read_pids(&dir, true, s, stats)
    }

    /// cgroup v1 (and hybrid): one directory per controller, pressure from `unified/`.
    fn read_v1(
        &mut self,
        layout: &Layout,
        rel: &str,
        s: &mut Sample,
        stats: &mut SweepStats,
    ) -> Result<(), Vanished> {
        let mem = layout.memory.join(rel);
        let usage = self
            .get::<v1::MemoryUsageInBytes>(&mem, true, stats)?
            .map(|m| m.bytes);
        s.memory_usage_bytes = usage;
        s.memory_limit_bytes = self
            .get::<v1::MemoryLimitInBytes>(&mem, true, stats)?
            .and_then(|m| m.bytes);
        if let Some(st) = self.get::<v1::MemoryStat>(&mem, true, stats)? {
            s.memory_anon_bytes = st.total_rss;
            s.memory_file_bytes = st.total_cache;
            s.memory_shmem_bytes = st.total_shmem;
            s.memory_swap_bytes = st.total_swap;
            s.memory_swap_limit_bytes = match (st.hierarchical_memsw_limit, s.memory_limit_bytes) {
                (Some(memsw), Some(mem)) => memsw.checked_sub(mem),
                _ => None,
            };
            s.memory_working_set_bytes = working_set(usage, st.total_inactive_file);
        }
        // v1 has no OOM episode counter (under_oom is a state), so oom_events_total stays None.
        s.oom_kills_total = self
            .get::<v1::MemoryOomControl>(&mem, true, stats)?
            .and_then(|o| o.oom_kill);
        s.memory_max_events_total = self
            .get::<v1::MemoryFailcnt>(&mem, true, stats)?
            .map(|f| f.count);
        let cpuacct = layout.cpuacct.join(rel);
        s.cpu_usage_seconds_total = self
            .get::<v1::CpuacctUsage>(&cpuacct, false, stats)?
            .map(|u| u.nanos as f64 / 1e9);
        let cpu = layout.cpu.join(rel);
        let quota = self.get::<v1::CpuCfsQuotaUs>(&cpu, false, stats)?;
        let period = self.get::<v1::CpuCfsPeriodUs>(&cpu, false, stats)?;
        s.cpu_limit_cores = match (quota.and_then(|q| q.quota_us), period) {
            (Some(q), Some(p)) => Some(q as f64 / p.period_us as f64),
            _ => None,
        };
        if let Some(c) = self.get::<v1::CpuStat>(&cpu, false, stats)? {
            s.cpu_throttled_seconds_total = c.throttled_time.map(|ns| ns as f64 / 1e9);
            s.cpu_throttled_periods_total = c.nr_throttled;
            s.cpu_periods_total = c.nr_periods;
        }
        self.read_pids(&layout.pids.join(rel), false, s, stats)?;
        if let Some(unified) = &layout.unified {
            self.read_pressure(&unified.join(rel), false, s, stats)?;
        }
        Ok(())
    }

    /// `pids.current` and `pids.max`, the same files on v1 and v2.
    fn read_pids(
        &mut self,
        dir: &Path,
        owner: bool,
        s: &mut Sample,
        stats: &mut SweepStats,
    ) -> Result<(), Vanished> {
        s.pids_current = self
            .get::<v2::PidsCurrent>(dir, owner, stats)?
            .map(|p| p.count);
        let max = self.get::<v2::PidsMax>(dir, owner, stats)?;
        s.pids_limit = max.and_then(|p| p.limit);
        s.pids_limit_unset = max.is_some_and(|p| p.limit.is_none());
        Ok(())
    }

    /// `memory.pressure` and `cpu.pressure`: v2 files, read from the unified tree on hybrid.
    fn read_pressure(
        &mut self,
        dir: &Path,
        owner: bool,
        s: &mut Sample,
        stats: &mut SweepStats,
    ) -> Result<(), Vanished> {
        if let Some(p) = self.get::<v2::MemoryPressure>(dir, owner, stats)? {
            s.memory_pressure_some_avg10 = p.0.some.map(|l| l.avg10);
            s.memory_pressure_full_avg10 = p.0.full.map(|l| l.avg10);
        }
        s.cpu_pressure_some_avg10 = self
            .get::<v2::CpuPressure>(dir, owner, stats)?
            .and_then(|p| p.0.some.map(|l| l.avg10));
        Ok(())
    }

    /// The pod cgroup's OOM kill counter (v2 memory.events is hierarchical; v1 oom_control
    /// counts kills at the pod's own limit only).
    fn read_pod_oom_kills(
        &mut self,
        layout: &Layout,
        pod_rel: &str,
        stats: &mut SweepStats,
    ) -> Option<u64> {
        let dir = layout.memory.join(pod_rel);
        match layout.mode {
            Mode::V2 => self.field(&dir, stats, |e: v2::MemoryEvents| e.oom_kill),
            Mode::V1 | Mode::Hybrid => {
                self.field(&dir, stats, |o: v1::MemoryOomControl| o.oom_kill)
            }
        }
    }

    /// The pod cgroup's pids.max, and its pids.current where that is a limit.
    fn read_pod_pids(&mut self, layout: &Layout, pod_rel: &str, stats: &mut SweepStats) -> PodPids {
        let dir = layout.pids.join(pod_rel);
        let limit = self.field(&dir, stats, |p: v2::PidsMax| Some(p.limit));
        let current = match limit {
            Some(Some(_)) => self.field(&dir, stats, |p: v2::PidsCurrent| Some(p.count)),
            _ => None,
        };
        PodPids { limit, current }
    }

    /// Count an error by kind and warn about it, at most once a minute per file. A file the
    /// kernel does not serve ([`Error::is_unsupported`]: PSI switched off) is no error: it is
    /// said once per file name, at INFO, and not counted, or a node without PSI would count
    /// errors for every container in every sweep and fire the collect-errors alert.
    fn note_error(&mut self, stats: &mut SweepStats, e: Error) {
        if let (true, Error::Io { path, .. }) = (e.is_unsupported(), &e) {
            // Looked up by reference: on such a node this runs for every container and sweep.
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !self.unsupported.contains(name) {
                tracing::info!(
                    path = %path.display(),
                    "the kernel does not serve this file (PSI switched off?); its fields stay unknown"
                );
                self.unsupported.insert(name.to_string());
            }
            return;
        }
        let kind = match &e {
            Error::Parse { .. } => "parse",
            Error::Io { .. } => "io",
            _ => "other",
        };
        *stats.errors.entry(kind.to_string()).or_insert(0) += 1;
        let path = match &e {
            Error::Parse { path, .. } | Error::Io { path, .. } => path.clone(),
            _ => PathBuf::new(),
        };
        let now = Instant::now();
        if self.warned.len() > 10_000 {
            self.warned.clear();
        }
        let due = self
            .warned
            .get(&path)
            .is_none_or(|last| now.duration_since(*last) >= WARN_EVERY);
        if due {
            self.warned.insert(path, now);
            tracing::warn!(kind, error = %e, "cannot read a kernel file; its fields stay unknown");
        }
    }
}

/// usage − inactive_file floored at 0, as the kubelet computes the working set.
fn working_set(usage: Option<u64>, inactive_file: Option<u64>) -> Option<u64> {
    Some(usage?.saturating_sub(inactive_file?))
}

/// Labels from the path alone (the kube module replaces them with names later).
fn meta_for(t: &Target) -> ContainerMeta {
    match &t.container_id {
        Some(id) => ContainerMeta {
            namespace: String::new(),
            pod: t.pod_uid.clone().unwrap_or_default(),
            pod_uid: t.pod_uid.clone(),
            container: id.chars().take(12).collect(),
            container_id: Some(id.clone()),
            cgroup: t.rel.clone(),
        },
        None => ContainerMeta {
            pod: t.rel.clone(),
            cgroup: t.rel.clone(),
            ..Default::default()
        },
    }
}

/// `crashwatch collect`.
pub fn command(args: crate::cli::CollectArgs) -> anyhow::Result<()> {
    let node_name = node::node_name(args.source.node_name.as_deref(), &args.source.proc_root);
    let mut collector = Collector::new(CollectConfig {
        cgroup_root: args.source.cgroup_root.clone(),
        proc_root: args.source.proc_root.clone(),
        node_name: node_name.clone(),
    });
    let (mut snap, stats) = collector.sweep();
    if collector.layout().is_none() {
        anyhow::bail!(
            "no cgroup filesystem found under {}",
            args.source.cgroup_root.display()
        );
    }
    let kube = crate::kube::KubeConfig::from_source(&args.source, &node_name, false);
    if let Err(e) = crate::kube::enrich_blocking(&kube, &mut snap) {
        tracing::warn!(error = %e, "pod metadata unavailable; keeping pod UID / container ID labels");
    }
    let out = match args.format {
        crate::cli::CollectFormat::Json => serde_json::to_string_pretty(&snap)? + "\n",
        crate::cli::CollectFormat::Table => table(&snap),
    };
    // `collect | head` closes the pipe early: that is the reader's choice, not an error.
    if let Err(e) = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    let errors: Vec<String> = stats
        .errors
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    eprintln!(
        "collected {} containers in {:.1} ms (mode {}, vanished {}, errors {})",
        snap.containers.len(),
        stats.duration.as_secs_f64() * 1e3,
        snap.node.cgroup_mode,
        stats.vanished,
        if errors.is_empty() {
            "none".to_string()
        } else {
            errors.join(",")
        }
    );
    Ok(())
}

/// A human-readable table of a snapshot.
pub fn table(snap: &Snapshot) -> String {
    use std::fmt::Write;
    let mib = |b: Option<u64>| {
        b.map(|b| format!("{:.1}", b as f64 / 1048576.0))
            .unwrap_or_else(|| "-".into())
    };
    let n = &snap.node;
    let mut out = format!(
        "node {} (cgroup {}{}), memory available {} / {} MiB\n",
        n.name,
        n.cgroup_mode,
        if n.host_mode { ", host mode" } else { "" },
        mib(n.memory_available_bytes),
        mib(n.memory_total_bytes)
    );
    let _ = writeln!(
        out,
        "{:<60} {:<10} {:>10} {:>10} {:>6} {:>5} {:>7} {:>10}",
        "ID", "QOS", "WS_MIB", "LIMIT_MIB", "USE%", "OOMK", "CPU_LIM", "PIDS"
    );
    for c in &snap.containers {
        let s = &c.sample;
        let pct = match (s.working_set(), s.memory_limit_bytes) {
            (Some(w), Some(l)) if l > 0 => format!("{:.0}", w as f64 * 100.0 / l as f64),
            _ => "-".into(),
        };
        let pids = match (s.pids_current, s.pids_limit) {
            (Some(c), Some(l)) => format!("{c}/{l}"),
            (Some(c), None) => format!("{c}/max"),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "{:<60} {:<10} {:>10} {:>10} {:>6} {:>5} {:>7} {:>10}",
            s.id,
            s.qos.map(|q| q.as_str()).unwrap_or("-"),
            mib(s.working_set()),
            s.memory_limit_bytes
                .map(|l| mib(Some(l)))
                .unwrap_or_else(|| "max".into()),
            pct,
            s.oom_kills_total
                .map(|v| v.to_string())
                .unwrap_or_else(|| "-".into()),
            s.cpu_limit_cores
                .map(|v| format!("{v:.2}"))
                .unwrap_or_else(|| "max".into()),
            pids
        );
    }
    out
}

/// A pod cgroup's task files, read once per pod and sweep.
#[derive(Debug, Clone, Copy)]
struct PodPids {
    /// pids.max: `None` when unreadable, `Some(None)` when `max`.
    limit: Option<Option<u64>>,
    /// pids.current, read only where pids.max is a number (`None` otherwise or unreadable).
    current: Option<u64>,
}

/// The value cached for `pod` in `cache`, else `read()` (then cached): containers of one pod
/// come one after another in a sweep.
fn per_pod<T: Copy>(cache: &mut Option<(String, T)>, pod: &str, read: impl FnOnce() -> T) -> T {
    match cache {
        Some((p, v)) if p == pod => *v,
        _ => {
            let v = read();
            *cache = Some((pod.to_string(), v));
            v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Qos;
    use crate::tree::{ContainerSpec, TreeWriter};

    fn collector(w: &TreeWriter) -> Collector {
        Collector::new(CollectConfig {
            cgroup_root: w.cgroup_root().into(),
            proc_root: w.proc_root().into(),
            node_name: "t".into(),
        })
    }

    fn target(spec: &ContainerSpec) -> Target {
        Target {
            rel: spec.rel(),
            pod_rel: Some(spec.pod_rel()),
            pod_uid: Some(spec.pod_uid.clone()),
            container_id: Some(spec.container_id.clone()),
            qos: Some(spec.qos),
        }
    }

    #[test]
    fn a_file_the_kernel_does_not_serve_is_said_once_and_not_counted() {
        let t = tempfile::tempdir().unwrap();
        let w = TreeWriter::create(t.path()).unwrap();
        let mut c = collector(&w);
        let mut stats = SweepStats::default();
        // What `Reader` returns for a read the kernel answers with EOPNOTSUPP (PSI off).
        let refused = |p: &str| Error::io(p, std::io::Error::from_raw_os_error(95));
        for p in [
            "/sys/fs/cgroup/kubepods.slice/a/memory.pressure",
            "/sys/fs/cgroup/kubepods.slice/b/memory.pressure",
            "/sys/fs/cgroup/kubepods.slice/a/cpu.pressure",
            "/proc/pressure/memory",
        ] {
            assert!(refused(p).is_unsupported());
            c.note_error(&mut stats, refused(p));
        }
        assert_eq!(stats.error_count(), 0);
        let said: HashSet<&str> = c.unsupported.iter().map(String::as_str).collect();
        assert_eq!(
            said,
            HashSet::from(["memory.pressure", "cpu.pressure", "memory"])
        );
        // Any other errno is still a counted I/O error (EIO here).
        let eio = Error::io("/x/memory.stat", std::io::Error::from_raw_os_error(5));
        assert!(!eio.is_unsupported() && !eio.is_vanished());
        c.note_error(&mut stats, eio);
        assert_eq!(stats.errors.get("io"), Some(&1));
    }

    #[test]
    fn vanished_between_listing_and_reading_is_skipped_and_counted() {
        let t = tempfile::tempdir().unwrap();
        let mut w = TreeWriter::create(t.path()).unwrap();
        let alive = ContainerSpec::generated(1, 1, Qos::Burstable);
        let gone = ContainerSpec::generated(2, 1, Qos::Burstable);
        w.write_container(
            &alive,
            &Sample {
                memory_usage_bytes: Some(4096),
                ..Default::default()
            },
        )
        .unwrap();
        w.write_container(
            &gone,
            &Sample {
                memory_usage_bytes: Some(4096),
                ..Default::default()
            },
        )
        .unwrap();
        let mut c = collector(&w);
        let (snap, _) = c.sweep();
        assert_eq!(snap.containers.len(), 2);
        // Listed, then removed before its files are read.
        let targets = vec![target(&alive), target(&gone)];
        w.remove_container(&gone).unwrap();
        let layout = c.layout().cloned().unwrap();
        let (mut snap, mut stats) = (Snapshot::default(), SweepStats::default());
        c.read_targets(&layout, &targets, false, &mut snap, &mut stats);
        assert_eq!(stats.vanished, 1);
        assert_eq!(stats.error_count(), 0);
        assert_eq!(snap.containers.len(), 1);
        assert_eq!(snap.containers[0].meta.cgroup, alive.rel());
    }

    #[test]
    fn unreadable_file_is_counted_and_the_rest_reported() {
        let t = tempfile::tempdir().unwrap();
        let mut w = TreeWriter::create(t.path()).unwrap();
        let spec = ContainerSpec::generated(1, 1, Qos::Guaranteed);
        let dir = w
            .write_container(
                &spec,
                &Sample {
                    memory_usage_bytes: Some(8192),
                    memory_limit_bytes: Some(1 << 20),
                    ..Default::default()
                },
            )
            .unwrap();
        // A directory where a file should be: read() fails with EISDIR, an I/O error.
        std::fs::remove_file(dir.join("cpu.stat")).unwrap();
        std::fs::create_dir(dir.join("cpu.stat")).unwrap();
        std::fs::write(dir.join("pids.max"), "lots\n").unwrap();
        let (snap, stats) = collector(&w).sweep();
        assert_eq!(stats.errors.get("io"), Some(&1));
        assert_eq!(stats.errors.get("parse"), Some(&1));
        let s = &snap.containers[0].sample;
        assert_eq!(
            (s.memory_usage_bytes, s.memory_limit_bytes),
            (Some(8192), Some(1 << 20))
        );
        assert_eq!((s.cpu_usage_seconds_total, s.pids_limit), (None, None));
    }

    #[test]
    fn kubepods_appearing_later_is_found() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("cg");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("cgroup.controllers"), "memory\n").unwrap();
        let mut c = Collector::new(CollectConfig {
            cgroup_root: root.clone(),
            proc_root: t.path().join("p"),
            node_name: "n".into(),
        });
        assert!(c.sweep().0.node.host_mode);
        let mut w = TreeWriter::with_roots(&root, &t.path().join("p")).unwrap();
        w.write_container(
            &ContainerSpec::generated(1, 1, Qos::Besteffort),
            &Sample::default(),
        )
        .unwrap();
        let mut found = None;
        for i in 0..=RESEARCH_EVERY {
            let (snap, _) = c.sweep();
            if !snap.node.host_mode {
                found = Some((i, snap.containers.len()));
                break;
            }
        }
        assert_eq!(
            found.map(|f| f.1),
            Some(1),
            "kubepods found within {RESEARCH_EVERY} sweeps"
        );
    }

    #[test]
    fn churn_while_sweeping_never_errors() {
        let t = tempfile::tempdir().unwrap();
        let mut w = TreeWriter::create(t.path()).unwrap();
        let mut c = collector(&w);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let writer = std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                let spec = ContainerSpec::generated(n % 7, n % 3, Qos::Burstable);
                let s = Sample {
                    memory_usage_bytes: Some(1 << 20),
                    ..Default::default()
                };
                let _ = w.write_container(&spec, &s);
                if n % 2 == 0 {
                    let _ = w.remove_container(&spec);
                }
                if n % 5 == 0 {
                    let _ = w.remove_pod(&spec);
                }
                n += 1;
            }
        });
        let mut errors = 0;
        for _ in 0..60 {
            let (_, stats) = c.sweep();
            errors += stats.error_count();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        assert_eq!(
            errors, 0,
            "containers appearing and vanishing are not errors"
        );
    }
}
