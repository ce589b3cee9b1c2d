//! `crashwatch simulate`: labelled scenario traces for training and evaluation.
//!
//! Each scenario instance is one simulated pod (sometimes with a sidecar or a neighbour) on
//! one simulated node, written as `<kind>-<seed>-<n>.jsonl` in the interface trace format,
//! plus `manifest.json` (seed, kinds, counts, generator version) so `train` and `eval` can
//! tell whether two sets share seeds. Instance `n` of kind `k` under seed `s` depends only on
//! `(s, k, n)`: generating a subset of kinds, or more instances, reproduces the same files.
//!
//! The scenario code ([`scenarios`]) only says what an application asks for; the simulated
//! kernel and kubelet ([`engine`]) decide reclaim, PSI, throttling, OOM kills, probe kills,
//! evictions and restarts, and only they write crash labels.
//!
//! Must not: write anything but traces and the manifest, or depend on the predictor.
#![warn(missing_docs)]
pub mod engine;
mod kinds;
pub mod scenarios;

use crate::sample::{Cause, Qos};
use crate::trace::TraceLine;
use crate::{Error, Result};
use engine::{Container, Node, Schedule, Source, Spec, GIB, MIB};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scenarios::{Base, Growth, Leak, Sawtooth, Wobble};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the generator; bump when the same seed would produce different traces.
pub const GENERATOR_VERSION: u32 = 6;

/// A scenario kind. Names are stable: file names and eval's per-kind rows use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Anon leak at a constant rate → OOM kill.
    LeakLinear,
    /// Anon leak in chunks → OOM kill.
    LeakStepwise,
    /// Anon leak that speeds up → OOM kill.
    LeakAccelerating,
    /// Page cache fills the limit and is reclaimed; no crash.
    PageCache,
    /// Usage flat at 85–95 % of the limit; no crash.
    FlatHigh,
    /// GC sawtooth under the limit; no crash.
    GcSawtooth,
    /// GC sawtooth whose floor creeps up → OOM kill.
    GcCreep,
    /// Sudden allocation beyond the limit → OOM kill with no warning (an honest miss).
    AllocSpike,
    /// Task leak up to pids.max → the app dies (`pid_exhaustion`).
    ForkGrowth,
    /// Traffic ramps far above the CPU quota → liveness probe kills (`cpu_starvation`).
    CpuStarvation,
    /// CPU quota hit regularly but the app copes; no crash.
    CpuThrottled,
    /// A dependency outage makes the app exit at each start (`restart_loop`).
    CrashLoop,
    /// Node memory runs out; the kubelet evicts the BestEffort/Burstable pod (`evicted`).
    Eviction,
    /// Steady container with no limits; no crash.
    Healthy,
    /// A heap or a GC floor that warms up after a start and holds below the limit (caches,
    /// JIT, a heap sized to its load); no crash. Its rise looks like a leak until it bends.
    WarmUp,
}

impl Kind {
    /// Every kind, in file order.
    pub const ALL: [Kind; 15] = [
        Kind::LeakLinear,
        Kind::LeakStepwise,
        Kind::LeakAccelerating,
        Kind::PageCache,
        Kind::FlatHigh,
        Kind::GcSawtooth,
        Kind::GcCreep,
        Kind::AllocSpike,
        Kind::ForkGrowth,
        Kind::CpuStarvation,
        Kind::CpuThrottled,
        Kind::CrashLoop,
        Kind::Eviction,
        Kind::Healthy,
        Kind::WarmUp,
    ];

    /// Stable snake_case name (no `-`, so `<kind>-<seed>-<n>` splits unambiguously).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LeakLinear => "leak_linear",
            Kind::LeakStepwise => "leak_stepwise",
            Kind::LeakAccelerating => "leak_accelerating",
            Kind::PageCache => "page_cache",
            Kind::FlatHigh => "flat_high",
            Kind::GcSawtooth => "gc_sawtooth",
            Kind::GcCreep => "gc_creep",
            Kind::AllocSpike => "alloc_spike",
            Kind::ForkGrowth => "fork_growth",
            Kind::CpuStarvation => "cpu_starvation",
            Kind::CpuThrottled => "cpu_throttled",
            Kind::CrashLoop => "crash_loop",
            Kind::Eviction => "eviction",
            Kind::Healthy => "healthy",
            Kind::WarmUp => "warm_up",
        }
    }

    /// Parse a kind name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The crash cause this kind is built to produce (`None`: must never crash or alarm).
    pub fn expected_cause(self) -> Option<Cause> {
        match self {
            Kind::LeakLinear
            | Kind::LeakStepwise
            | Kind::LeakAccelerating
            | Kind::GcCreep
            | Kind::AllocSpike => Some(Cause::OomKill),
            Kind::ForkGrowth => Some(Cause::PidExhaustion),
            Kind::CpuStarvation => Some(Cause::CpuStarvation),
            Kind::CrashLoop => Some(Cause::RestartLoop),
            Kind::Eviction => Some(Cause::Evicted),
            Kind::PageCache
            | Kind::FlatHigh
            | Kind::GcSawtooth
            | Kind::CpuThrottled
            | Kind::Healthy
            | Kind::WarmUp => None,
        }
    }

    /// True for kinds whose crash gives no warning in the samples (scored, but expected misses).
    pub fn unpredictable(self) -> bool {
        matches!(self, Kind::AllocSpike)
    }
}

/// Kind of a trace file named `<kind>-<seed>-<n>.jsonl` (`None` for other names).
pub fn kind_of_file(path: &Path) -> Option<Kind> {
    let stem = path.file_stem()?.to_str()?;
    let mut parts = stem.rsplitn(3, '-');
    let (_n, _seed, kind) = (parts.next()?, parts.next()?, parts.next()?);
    Kind::parse(kind)
}

/// `DIR/manifest.json`: what a simulated trace set contains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `crashwatch simulate`.
    pub generator: String,
    /// [`GENERATOR_VERSION`].
    pub generator_version: u32,
    /// Seeds used (one per `simulate` run; kept a list so merged sets can say so).
    pub seeds: Vec<u64>,
    /// Kinds generated.
    pub kinds: Vec<String>,
    /// Instances per kind.
    pub count: usize,
    /// Trace files written.
    pub files: Vec<String>,
    /// Crash labels written, per cause.
    pub crashes: std::collections::BTreeMap<String, usize>,
}

impl Manifest {
    /// Read `dir/manifest.json` if present (`Ok(None)` when the directory has none).
    pub fn read(dir: &Path) -> Result<Option<Manifest>> {
        let p = dir.join("manifest.json");
        match std::fs::read_to_string(&p) {
            Ok(s) => serde_json::from_str(&s)
                .map(Some)
                .map_err(|e| Error::parse(&p, e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&p, e)),
        }
    }
}

/// A generated scenario instance.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Its kind.
    pub kind: Kind,
    /// File name, `<kind>-<seed>-<n>.jsonl`.
    pub file_name: String,
    /// Trace lines sorted by `ts`.
    pub lines: Vec<TraceLine>,
}

/// SplitMix64 finaliser: mixes (seed, kind, n) into independent RNG seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The RNG of instance `n` of `kind` under `seed` (stable across subsets and versions of `--count`).
fn instance_rng(seed: u64, kind: Kind, n: usize) -> ChaCha8Rng {
    let k = kind
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
    ChaCha8Rng::seed_from_u64(mix(mix(seed) ^ k) ^ mix(n as u64 + 1))
}

const NAMESPACES: [&str; 7] = [
    "default", "prod", "payments", "search", "batch", "web", "data",
];
const WORKLOADS: [&str; 12] = [
    "api",
    "worker",
    "ingest",
    "cache",
    "checkout",
    "indexer",
    "billing",
    "gateway",
    "scheduler",
    "reporter",
    "auth",
    "feed",
];

fn pod_id(rng: &mut ChaCha8Rng, workload: Option<&str>) -> (String, String) {
    let ns = NAMESPACES[rng.random_range(0..NAMESPACES.len())];
    let w = workload.unwrap_or(WORKLOADS[rng.random_range(0..WORKLOADS.len())]);
    const ALNUM: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut suffix = |len: usize| -> String {
        (0..len)
            .map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char)
            .collect()
    };
    let pod = format!("{w}-{}-{}", suffix(10), suffix(5));
    (format!("{ns}/{pod}"), w.to_string())
}

/// A Kubernetes-looking memory limit between 64 MiB and 8 GiB (log-uniform, whole MiB).
fn mem_limit(rng: &mut ChaCha8Rng) -> f64 {
    let mib = 64.0 * 2f64.powf(rng.random_range(0.0..7.0));
    (mib / 16.0).round() * 16.0 * MIB
}

fn cpu_limit(rng: &mut ChaCha8Rng) -> Option<f64> {
    const Q: [f64; 7] = [0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 4.0];
    (rng.random::<f64>() < 0.6).then(|| Q[rng.random_range(0..Q.len())])
}

fn pids_limit(rng: &mut ChaCha8Rng) -> Option<u64> {
    const P: [u64; 3] = [1024, 4096, 32768];
    (rng.random::<f64>() < 0.3).then(|| P[rng.random_range(0..P.len())])
}

fn schedule(rng: &mut ChaCha8Rng) -> Schedule {
    // The agent samples every second; recorded traces come at scrape intervals.
    const I: [f64; 5] = [1.0, 2.0, 5.0, 10.0, 15.0];
    let interval = I[rng.random_range(0..I.len())];
    let jitter = if rng.random::<f64>() < 0.5 {
        0.0
    } else {
        interval * rng.random_range(0.0..0.03)
    };
    let drop = if rng.random::<f64>() < 0.5 {
        0.0
    } else {
        rng.random_range(0.0..0.02)
    };
    Schedule {
        interval,
        jitter,
        drop,
    }
}

/// Everything random about an instance's pod except its behaviour.
struct Pod {
    id_prefix: String,
    container: String,
    limit: f64,
    qos: Qos,
    cpu: Option<f64>,
    pids: Option<u64>,
    restarts: u64,
}

fn random_pod(rng: &mut ChaCha8Rng) -> Pod {
    let (id_prefix, w) = pod_id(rng, None);
    let container = if rng.random::<f64>() < 0.5 {
        w
    } else {
        ["app", "main", "server"][rng.random_range(0..3)].into()
    };
    let limit = mem_limit(rng);
    let cpu = cpu_limit(rng);
    let qos = if cpu.is_some() && rng.random::<f64>() < 0.5 {
        Qos::Guaranteed
    } else {
        Qos::Burstable
    };
    let restarts = if rng.random::<f64>() < 0.15 {
        rng.random_range(1..4)
    } else {
        0
    };
    Pod {
        id_prefix,
        container,
        limit,
        qos,
        cpu,
        pids: pids_limit(rng),
        restarts,
    }
}

impl Pod {
    fn spec(&self, rng: &mut ChaCha8Rng) -> Spec {
        Spec {
            id: format!("{}/{}", self.id_prefix, self.container),
            qos: self.qos,
            mem_limit: Some(self.limit),
            cpu_limit: self.cpu,
            pids_limit: self.pids,
            initial_restarts: self.restarts,
            pid_death_after: rng.random_range(5.0..90.0),
            evictable: self.qos != Qos::Guaranteed,
        }
    }
}

/// Draws shared by every GC heap of a `limit`-byte container: its load, a live set (the
/// sawtooth's floor) at 20–50 % of the limit, peaks at 60–88 % and a collection every
/// 8–120 s of allocation.
struct GcHeap {
    base: Base,
    floor: f64,
    peak: f64,
    amp: f64,
    cycle: f64,
}

impl GcHeap {
    fn random(limit: f64, cpu: Option<f64>, rng: &mut ChaCha8Rng) -> Self {
        let base = Base::random(limit, cpu, rng);
        let floor = limit * rng.random_range(0.2..0.5);
        let peak = limit * rng.random_range(0.6..0.88);
        let amp = (peak - floor).max(limit * 0.05);
        let cycle = rng.random_range(8.0..120.0);
        GcHeap {
            base,
            floor,
            peak,
            amp,
            cycle,
        }
    }

    /// The heap as a [`Sawtooth`] whose live set starts at `floor` and grows by `creep` from
    /// `first_start`; the garbage at trace start is drawn, then the `noise`.
    fn sawtooth(
        self,
        floor: f64,
        creep: Growth,
        first_start: f64,
        t0: f64,
        rng: &mut ChaCha8Rng,
        noise: impl FnOnce(&mut ChaCha8Rng) -> Wobble,
    ) -> Sawtooth {
        let garbage = self.amp * rng.random_range(0.0..1.0);
        Sawtooth {
            base: self.base,
            floor,
            amp: self.amp,
            alloc_rate: self.amp / self.cycle,
            creep,
            creep_delay: 0.0,
            garbage,
            noise: noise(rng),
            first_start: Some(first_start),
            t0,
        }
    }
}

/// The load of a steady heap that must stay clear of its limit (`flat_high`, plain warm-ups):
/// a little hot page cache, none cold or written, so nothing is reclaimed at the limit.
fn quiet_base(limit: f64, cpu: Option<f64>, rng: &mut ChaCha8Rng) -> Base {
    let mut base = Base::random(limit, cpu, rng);
    base.active_file = limit * rng.random_range(0.005..0.02);
    base.cold_file = 0.0;
    base.log_rate = 0.0;
    base
}

/// Anon that holds a [`quiet_base`] container at `level` of its limit with noise of `sd`
/// bytes well inside it (the kernel's own few MiB, the noise's tail): it must not crash.
fn anon_clear_of_limit(limit: f64, level: f64, base: &Base, sd: f64) -> f64 {
    limit * level - base.active_file - 6.0 * MIB - limit * 0.006 - 4.0 * sd
}

/// Seconds until a memory leak reaches the limit: minutes, as real leaks that page someone.
fn time_to_limit(rng: &mut ChaCha8Rng) -> f64 {
    rng.random_range(180.0..2400.0)
}

/// A steady sidecar (proxy, log shipper) in the same pod or on the same node.
fn sidecar(prefix: &str, t0: f64, rng: &mut ChaCha8Rng) -> Container {
    let limit = (64.0 + 64.0 * rng.random_range(0..4) as f64) * MIB;
    let name = ["istio-proxy", "log-shipper", "metrics-exporter"][rng.random_range(0..3)];
    let spec = Spec {
        id: format!("{prefix}/{name}"),
        qos: Qos::Burstable,
        mem_limit: Some(limit),
        cpu_limit: Some(0.2),
        pids_limit: None,
        initial_restarts: 0,
        pid_death_after: 30.0,
        evictable: true,
    };
    let mut base = Base::random(limit, None, rng);
    base.cpu = rng.random_range(0.01..0.08);
    base.cpu_noise = Wobble::new(base.cpu * 0.2, 5.0);
    let b = Leak::steady(
        base,
        limit * rng.random_range(0.2..0.6),
        Wobble::new(
            limit * rng.random_range(0.002..0.01),
            rng.random_range(5.0..60.0),
        ),
        t0,
    );
    Container::new(spec, Box::new(b), t0, rng)
}

/// Generate instance `n` of `kind` under `seed`.
pub fn generate(kind: Kind, seed: u64, n: usize) -> Instance {
    let mut rng = instance_rng(seed, kind, n);
    let rng = &mut rng;
    // Unix-epoch start somewhere in 2025–2026, as a recorder would write.
    let t0 = (1_735_689_600.0 + rng.random_range(0.0..5.0e7_f64)).round();
    let node_total = [4.0, 8.0, 16.0, 32.0, 64.0][rng.random_range(0..5)] * GIB;
    let node = Node::new(node_total, node_total * rng.random_range(0.3..0.7), rng);
    let sched = schedule(rng);
    let source = match rng.random::<f64>() {
        x if x < 0.6 => Source::CgroupV2,
        x if x < 0.85 => Source::CgroupV1,
        _ => Source::Prometheus,
    };
    let pod = random_pod(rng);
    let l = pod.limit;
    let mut stage = kinds::Stage {
        t0,
        node_total,
        node,
        duration: rng.random_range(900.0..2700.0),
    };
    let mut containers = kinds::build(kind, pod, &mut stage, rng);
    let kinds::Stage {
        mut node, duration, ..
    } = stage;
    // A quarter of the pods carry a sidecar: a steady neighbour the predictor must leave alone.
    if kind != Kind::Eviction && rng.random::<f64>() < 0.25 {
        let prefix = containers[0]
            .spec
            .id
            .rsplit_once('/')
            .map(|(p, _)| p.to_string())
            .unwrap_or_default();
        containers.push(sidecar(&prefix, t0, rng));
    }
    for c in containers.iter_mut().filter(|c| c.file() == 0.0) {
        // Some cold page cache (logs, start-up reads) is on the inactive list of any
        // long-running container; the kubelet's working set excludes it.
        let scale = c.spec.mem_limit.unwrap_or(l);
        let most = if kind == Kind::FlatHigh { 0.006 } else { 0.08 };
        c.prefill_file(scale * rng.random_range(0.001..most));
    }
    if kind != Kind::Eviction {
        // Size the node so that the pod fits: only the eviction kind runs the node dry.
        let need: f64 = containers
            .iter()
            .map(|c| c.spec.mem_limit.unwrap_or(l))
            .sum::<f64>()
            + GIB;
        if node.free_other < need {
            node.free_other = need * rng.random_range(1.0..1.5);
            node.total = node.total.max((node.free_other / 0.6 / GIB).ceil() * GIB);
        }
    }
    let lines = engine::run(
        &mut node,
        &mut containers,
        t0,
        duration.round(),
        sched,
        source,
        rng,
    );
    Instance {
        kind,
        file_name: format!("{}-{seed}-{n}.jsonl", kind.as_str()),
        lines,
    }
}

/// Write `count` instances of each of `kinds` under `seed` into `out`, plus the manifest.
pub fn write_set(out: &Path, seed: u64, kinds: &[Kind], count: usize) -> Result<Manifest> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut files = Vec::new();
    let mut crashes = std::collections::BTreeMap::new();
    for &kind in kinds {
        for n in 0..count {
            let inst = generate(kind, seed, n);
            for l in &inst.lines {
                if let TraceLine::Label(l) = l {
                    *crashes.entry(l.cause.as_str().to_string()).or_insert(0) += 1;
                }
            }
            crate::trace::write(&out.join(&inst.file_name), &inst.lines)?;
            files.push(inst.file_name);
        }
    }
    let manifest = Manifest {
        generator: "crashwatch simulate".into(),
        generator_version: GENERATOR_VERSION,
        seeds: vec![seed],
        kinds: kinds.iter().map(|k| k.as_str().to_string()).collect(),
        count,
        files,
        crashes,
    };
    let p = out.join("manifest.json");
    let body = serde_json::to_string_pretty(&manifest).map_err(|e| Error::Json(e.to_string()))?;
    std::fs::write(&p, body + "\n").map_err(|e| Error::io(&p, e))?;
    Ok(manifest)
}

/// Parse `--scenarios` (names, or `all`).
pub fn parse_kinds(list: Option<&[String]>) -> Result<Vec<Kind>> {
    let Some(list) = list else {
        return Ok(Kind::ALL.to_vec());
    };
    let mut out = Vec::new();
    for name in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if name == "all" {
            return Ok(Kind::ALL.to_vec());
        }
        let k = Kind::parse(name).ok_or_else(|| {
            let known: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            Error::parse(
                "--scenarios",
                format!("unknown scenario {name:?}; known: {}", known.join(",")),
            )
        })?;
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(out)
}

/// `crashwatch simulate`.
pub fn command(args: crate::cli::SimulateArgs) -> anyhow::Result<()> {
    let kinds = parse_kinds(args.scenarios.as_deref())?;
    let m = write_set(&args.out, args.seed, &kinds, args.count)?;
    let crashes: Vec<String> = m.crashes.iter().map(|(c, n)| format!("{c}={n}")).collect();
    println!(
        "wrote {} traces ({} kinds × {}) to {} (seed {}; crashes: {})",
        m.files.len(),
        kinds.len(),
        args.count,
        args.out.display(),
        args.seed,
        if crashes.is_empty() {
            "none".to_string()
        } else {
            crashes.join(", ")
        }
    );
    Ok(())
}
