//! The one sample schema used everywhere (`collect` output, traces, `replay`, `POST /predict`),
//! exactly as `interface.md` names it. Every metric is optional: `None` means unknown or, for
//! limits, unlimited.
//!
//! Numbers are read leniently (an integer-valued float such as `1073741824.0` from a Python
//! trace generator is a fine byte count) but never wrongly: negative, fractional counts and
//! non-numbers are errors, so bad input is rejected rather than silently clamped.
use serde::{Deserialize, Serialize};

/// Priority of `system-cluster-critical`, the lower of the two built-in critical classes
/// (`system-node-critical` is 2000001000): the kubelet does not evict a pod at or above it.
pub const CRITICAL_PRIORITY: i32 = 2_000_000_000;

/// Kubernetes QoS class of a pod (decides eviction order and where its cgroup lives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Qos {
    /// requests == limits for every container. (Kubernetes' `status.qosClass` spells the
    /// classes capitalised.)
    #[serde(alias = "Guaranteed")]
    Guaranteed,
    /// some request or limit set.
    #[serde(alias = "Burstable")]
    Burstable,
    /// no requests or limits: evicted first.
    #[serde(alias = "best-effort", alias = "BestEffort")]
    Besteffort,
}

impl Qos {
    /// Lower-case name as used in labels and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Qos::Guaranteed => "guaranteed",
            Qos::Burstable => "burstable",
            Qos::Besteffort => "besteffort",
        }
    }
}

/// Why a container is predicted to (or did) crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The kernel's OOM killer at the container's memory limit. (Label lines may use the
    /// kubelet's termination reasons: `OOMKilled`, `Evicted`, `CrashLoopBackOff`.)
    #[serde(alias = "OOMKilled")]
    OomKill,
    /// Kubelet eviction under node memory pressure.
    #[serde(alias = "Evicted")]
    Evicted,
    /// fork() failing at pids.max.
    PidExhaustion,
    /// CPU throttled so hard that probes fail and the container is restarted.
    CpuStarvation,
    /// CrashLoopBackOff: the container keeps exiting.
    #[serde(alias = "CrashLoopBackOff")]
    RestartLoop,
}

impl Cause {
    /// All causes, in label order.
    pub const ALL: [Cause; 5] = [
        Cause::OomKill,
        Cause::Evicted,
        Cause::PidExhaustion,
        Cause::CpuStarvation,
        Cause::RestartLoop,
    ];

    /// snake_case name as used in labels, traces and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::OomKill => "oom_kill",
            Cause::Evicted => "evicted",
            Cause::PidExhaustion => "pid_exhaustion",
            Cause::CpuStarvation => "cpu_starvation",
            Cause::RestartLoop => "restart_loop",
        }
    }

    /// Parse a snake_case cause name.
    pub fn parse(s: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One container's sample at one instant (the flat JSON object of `interface.md`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sample {
    /// Sample time, seconds (any epoch; traces usually start near 0).
    pub ts: f64,
    /// `namespace/pod/container`.
    pub id: String,
    /// memory.current / memory.usage_in_bytes. Alias `memory_usage` is not accepted on purpose.
    #[serde(deserialize_with = "de::opt_u64")]
    pub memory_usage_bytes: Option<u64>,
    /// usage − inactive_file, floored at 0 (the kubelet's working set).
    #[serde(deserialize_with = "de::opt_u64")]
    pub memory_working_set_bytes: Option<u64>,
    /// memory.max / memory.limit_in_bytes; `None` = unlimited.
    #[serde(deserialize_with = "de::opt_limit")]
    pub memory_limit_bytes: Option<u64>,
    /// Anonymous memory (v2 `anon`, v1 `total_rss`).
    #[serde(deserialize_with = "de::opt_u64")]
    pub memory_anon_bytes: Option<u64>,
    /// Page cache (v2 `file`, v1 `total_cache`).
    #[serde(deserialize_with = "de::opt_u64")]
    pub memory_file_bytes: Option<u64>,
    /// tmpfs / shared memory (v2 `shmem`, v1 `total_shmem`): counted in the page cache but
    /// not reclaimable without swap (an `emptyDir` of `medium: Memory`, `/dev/shm`).
    #[serde(deserialize_with = "de::opt_u64")]
    pub memory_shmem_bytes: Option<u64>,
    /// Reclaimable slab (v2 `slab_reclaimable`: dentries, inodes), dropped at the limit like
    /// page cache; not in v1's memory.stat.
    #[serde(deserialize_with = "de::opt_u64")]
    pub memory_slab_reclaimable_bytes: Option<u64>,
    /// memory.swap.current.
    #[serde(deserialize_with = "de::opt_u64")]
    pub memory_swap_bytes: Option<u64>,
    /// The swap the container may use beyond its memory limit: memory.swap.max (v1: the
    /// hierarchical memory + swap limit less the memory limit); `None` = unknown or bounded
    /// only by the node's swap. Read on nodes with swap (SwapTotal > 0). An added field.
    #[serde(deserialize_with = "de::opt_limit")]
    pub memory_swap_limit_bytes: Option<u64>,
    /// memory.events `oom` (v1: under_oom episodes are not counted; see collector).
    #[serde(deserialize_with = "de::opt_u64")]
    pub oom_events_total: Option<u64>,
    /// memory.events `oom_kill` (v1: memory.oom_control `oom_kill`).
    #[serde(deserialize_with = "de::opt_u64")]
    pub oom_kills_total: Option<u64>,
    /// The **pod** cgroup's memory.events `oom_kill` (v1: the pod's memory.oom_control
    /// `oom_kill`, which counts only kills at the pod's own limit). Hierarchical on v2, so it
    /// still shows an OOM kill after the container's own cgroup is gone.
    #[serde(deserialize_with = "de::opt_u64")]
    pub pod_oom_kills_total: Option<u64>,
    /// memory.events `high`.
    #[serde(deserialize_with = "de::opt_u64")]
    pub memory_high_events_total: Option<u64>,
    /// memory.events `max` (v1: memory.failcnt).
    #[serde(deserialize_with = "de::opt_u64")]
    pub memory_max_events_total: Option<u64>,
    /// memory.pressure `some avg10`, percent.
    #[serde(deserialize_with = "de::opt_f64")]
    pub memory_pressure_some_avg10: Option<f64>,
    /// memory.pressure `full avg10`, percent.
    #[serde(deserialize_with = "de::opt_f64")]
    pub memory_pressure_full_avg10: Option<f64>,
    /// cpu.stat usage_usec / cpuacct.usage, in seconds.
    #[serde(deserialize_with = "de::opt_f64")]
    pub cpu_usage_seconds_total: Option<f64>,
    /// Instantaneous CPU use in cores. Not a cgroup file: accepted from the predecessor's
    /// `POST /predict` body (`{"cpu_usage_cores":0.5,"memory_usage_bytes":1024}`).
    #[serde(
        deserialize_with = "de::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu_usage_cores: Option<f64>,
    /// cpu.max quota/period; `None` = unlimited.
    #[serde(deserialize_with = "de::opt_f64")]
    pub cpu_limit_cores: Option<f64>,
    /// cpu.stat throttled_usec (v1 throttled_time ns), seconds.
    #[serde(deserialize_with = "de::opt_f64")]
    pub cpu_throttled_seconds_total: Option<f64>,
    /// cpu.stat nr_throttled.
    #[serde(deserialize_with = "de::opt_u64")]
    pub cpu_throttled_periods_total: Option<u64>,
    /// cpu.stat nr_periods.
    #[serde(deserialize_with = "de::opt_u64")]
    pub cpu_periods_total: Option<u64>,
    /// cpu.pressure `some avg10`, percent.
    #[serde(deserialize_with = "de::opt_f64")]
    pub cpu_pressure_some_avg10: Option<f64>,
    /// pids.current.
    #[serde(deserialize_with = "de::opt_u64")]
    pub pids_current: Option<u64>,
    /// pids.max; `None` = unlimited.
    #[serde(deserialize_with = "de::opt_limit")]
    pub pids_limit: Option<u64>,
    /// Tasks of the whole pod (the pod cgroup's pids.current) where the task limit is the
    /// pod's (the kubelet's podPidsLimit): its other containers' tasks count against that
    /// limit too. Filled by the collector when it read the limit from the pod cgroup, and by
    /// the predictor from the pod's other containers' samples where the limit is unknown. Not
    /// in the interface's schema; written only when known.
    #[serde(
        deserialize_with = "de::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub pod_pids_current: Option<u64>,
    /// The collector read `max` in pids.max of the container and of its pod: no task limit at
    /// all, where a `null` limit alone may only be unknown (an export without pids.max, which
    /// the predictor times to a conventional limit). Not in the interface's schema; written
    /// only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pids_limit_unset: bool,
    /// Container restart count from the kubelet (0 / None when unknown).
    #[serde(deserialize_with = "de::opt_u64")]
    pub restarts_total: Option<u64>,
    /// Last termination reason from the kubelet, e.g. `OOMKilled`, `Error`, `Evicted`.
    pub last_termination_reason: Option<String>,
    /// When that termination happened (kubelet `finishedAt`), Unix seconds. Not in the
    /// interface's schema; written only when known.
    #[serde(
        deserialize_with = "de::opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_termination_ts: Option<f64>,
    /// QoS class of the pod (drives eviction ranking). Metadata, but a predictor input too.
    pub qos: Option<Qos>,
    /// Priority of the pod (`spec.priority`, from its PriorityClass), from the kubelet. Not
    /// in the interface's schema; written only when known. The kubelet's eviction manager
    /// skips pods at [`CRITICAL_PRIORITY`] or above.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_priority: Option<i32>,
    /// The container's memory request (`resources.requests.memory` of its pod spec), bytes,
    /// from the kubelet. Not in the interface's schema; written only when known. The kubelet
    /// evicts pods whose usage exceeds their requests first, the largest excess first.
    #[serde(
        deserialize_with = "de::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub memory_request_bytes: Option<u64>,
    /// Node MemAvailable (or the kubelet's memory.available) at sample time, bytes. Traces
    /// exported from Prometheus may carry node-exporter's name for it.
    #[serde(
        deserialize_with = "de::opt_u64",
        alias = "node_memory_MemAvailable_bytes",
        alias = "node_available_bytes"
    )]
    pub node_memory_available_bytes: Option<u64>,
    /// Node MemTotal, bytes.
    #[serde(
        deserialize_with = "de::opt_u64",
        alias = "node_memory_MemTotal_bytes",
        alias = "node_total_bytes"
    )]
    pub node_memory_total_bytes: Option<u64>,
    /// Memory left to the pods before the kubelet's `allocatableMemory.available` signal:
    /// the kubepods cgroup's limit (capacity less kube- and system-reserved) less its working
    /// set, bytes (the kubelet's `/stats/summary` `pods` system container, else the kubepods
    /// cgroup's own files). Not in the interface's schema; written only when known. Where
    /// memory is reserved for the system, pods are evicted on this signal (the kubelet copies
    /// its hard `memory.available` threshold to it) while MemAvailable still shows the reserve.
    #[serde(
        deserialize_with = "de::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub node_allocatable_available_bytes: Option<u64>,
    /// The kubelet's hard eviction threshold for memory (`evictionHard["memory.available"]`
    /// from its `/configz`, or `--eviction-threshold`), bytes; a percentage is resolved
    /// against MemTotal. Not in the interface's schema; written only when known. Without it
    /// the kubelet's default, 100 MiB, is assumed.
    #[serde(
        deserialize_with = "de::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub node_eviction_threshold_bytes: Option<u64>,
}

/// Most active page cache taken for page cache per page of inactive page cache, in an LRU
/// holding `file` bytes of it: the kernel deactivates pages beyond √(10 × GiB) of them
/// (`inactive_is_low()` in mm/vmscan.c), but only once reclaim runs, at the limit; below it a
/// hot cache may be mostly active. So at least [`MIN_ACTIVE_RATIO`].
fn active_ratio(file: u64) -> u64 {
    ((10 * (file >> 30)) as f64).sqrt().max(MIN_ACTIVE_RATIO) as u64
}

/// Least [`active_ratio`]: a cache up to 3/4 active is not suspected of being tmpfs.
const MIN_ACTIVE_RATIO: f64 = 3.0;

impl Sample {
    /// A container that has never been near a limit: every OOM and event counter at 0, no
    /// pressure, no throttling, no swap; everything else unknown. A base for the samples that
    /// examples and tests write with [`crate::tree::TreeWriter`].
    pub fn calm() -> Sample {
        Sample {
            memory_swap_bytes: Some(0),
            oom_events_total: Some(0),
            oom_kills_total: Some(0),
            memory_high_events_total: Some(0),
            memory_max_events_total: Some(0),
            memory_pressure_some_avg10: Some(0.0),
            memory_pressure_full_avg10: Some(0.0),
            cpu_throttled_seconds_total: Some(0.0),
            cpu_throttled_periods_total: Some(0),
            cpu_pressure_some_avg10: Some(0.0),
            ..Sample::default()
        }
    }

    /// Memory the kernel cannot reclaim at the limit (without swap): usage minus what it can
    /// drop — page cache other than tmpfs, and reclaimable slab — when usage and page cache are
    /// reported, never below anon; else anon. So anon, tmpfs and the kernel's own memory
    /// (socket buffers, stacks, page tables). Growth here ends in an OOM kill, while page cache
    /// is reclaimed. Anon alone missed kernel-memory leaks (the working set grows with anon and
    /// cache flat) and a filling tmpfs (counted in the cache), taking both for page cache.
    ///
    /// A sample without the tmpfs figure (a cAdvisor/Prometheus export has no shmem) but with
    /// a working set drops only the page cache the working set leaves out, inactive_file:
    /// tmpfs pages sit on the anon LRU and never become inactive file, so a filling tmpfs
    /// keeps the working set rising with it, while a cache being written and streamed lands
    /// on the inactive list. Active page cache counts as unreclaimable then (it is reclaimed
    /// only after it is deactivated, at the limit, so the working set has no room either).
    pub fn unreclaimable(&self) -> Option<u64> {
        match (self.memory_usage_bytes, self.memory_file_bytes) {
            (Some(usage), Some(file)) => {
                let cache = match (self.memory_shmem_bytes, self.memory_working_set_bytes) {
                    (Some(shmem), _) => file.saturating_sub(shmem),
                    (None, Some(ws)) => {
                        let inactive = file.min(usage.saturating_sub(ws));
                        inactive
                            + (file - inactive).min(inactive.saturating_mul(active_ratio(file)))
                    }
                    (None, None) => file,
                };
                let droppable =
                    cache.saturating_add(self.memory_slab_reclaimable_bytes.unwrap_or(0));
                Some(
                    usage
                        .saturating_sub(droppable)
                        .max(self.memory_anon_bytes.unwrap_or(0)),
                )
            }
            _ => self.memory_anon_bytes,
        }
    }

    /// Memory the kubelet's eviction manager sees left, bytes: the lower of the node's
    /// (`memory.available`) and the pods' (`allocatableMemory.available`), whichever is
    /// known. Both are held against the same hard threshold, so the first to reach it evicts.
    pub fn eviction_available(&self) -> Option<u64> {
        match (
            self.node_memory_available_bytes,
            self.node_allocatable_available_bytes,
        ) {
            (Some(n), Some(p)) => Some(n.min(p)),
            (n, p) => n.or(p),
        }
    }

    /// Working set if known (what a limit is compared against). A sample that lacks it
    /// (a foreign trace, a `POST /predict` body) but has usage and page cache gets usage minus
    /// the cache: the kernel reclaims page cache before it OOM-kills, so counting it would
    /// make a full cache look like a container at its limit. The kubelet subtracts only
    /// inactive_file, so this is a slight underestimate. With usage and anon but no page-cache
    /// figure, anon, for the same reason (usage beyond anon is mostly cache). Else usage.
    pub fn working_set(&self) -> Option<u64> {
        self.memory_working_set_bytes.or_else(|| {
            let usage = self.memory_usage_bytes?;
            Some(match (self.memory_file_bytes, self.memory_anon_bytes) {
                (Some(file), _) => usage.saturating_sub(file),
                (None, Some(anon)) => anon.min(usage),
                (None, None) => usage,
            })
        })
    }
}

/// Container metadata printed beside the sample by `collect` (and attached by the kubelet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerMeta {
    /// Namespace, `""` when unknown.
    pub namespace: String,
    /// Pod name; the pod UID when unknown; in host mode the cgroup path.
    pub pod: String,
    /// Pod UID parsed from the cgroup path (dashes, not underscores).
    pub pod_uid: Option<String>,
    /// Container name; the first 12 hex chars of the ID when unknown; `""` in host mode.
    pub container: String,
    /// Full container ID (64 hex) parsed from the cgroup path.
    pub container_id: Option<String>,
    /// Cgroup path relative to the cgroup root (of the memory hierarchy on v1), no leading `/`.
    pub cgroup: String,
}

impl ContainerMeta {
    /// The sample id: `namespace/pod/container`.
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.pod, self.container)
    }
}

/// The `namespace/pod` of a `namespace/pod/container` sample id (see [`ContainerMeta::id`]):
/// what the containers of one pod share. `None` for an id without a `/` (a foreign trace may
/// name its series anyhow).
pub fn pod_of(id: &str) -> Option<&str> {
    id.rsplit_once('/').map(|(pod, _)| pod)
}

/// A container as `collect` prints it: metadata and sample fields in one flat object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerSample {
    /// Who.
    #[serde(flatten)]
    pub meta: ContainerMeta,
    /// What was measured.
    #[serde(flatten)]
    pub sample: Sample,
}

/// Node-level readings (`/proc/meminfo`, `/proc/pressure/*`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeSample {
    /// Node name (`--node-name`, `NODE_NAME`, hostname).
    pub name: String,
    /// `v2`, `v1` or `hybrid`.
    pub cgroup_mode: String,
    /// True when no kubepods hierarchy was found and every limited cgroup is tracked.
    pub host_mode: bool,
    /// MemTotal, bytes.
    pub memory_total_bytes: Option<u64>,
    /// MemAvailable, bytes (`None` on kernels older than 3.14).
    pub memory_available_bytes: Option<u64>,
    /// The kubepods cgroup's memory limit less its working set, bytes: what the kubelet's
    /// `allocatableMemory.available` signal reads (`None` where the cgroup has no limit, i.e.
    /// node allocatable is not enforced on pods, or its files could not be read).
    pub pods_memory_available_bytes: Option<u64>,
    /// SwapTotal, bytes: 0 on the usual swapless node, where no container's swap limit is read.
    pub swap_total_bytes: Option<u64>,
    /// /proc/pressure/memory some avg10.
    pub memory_pressure_some_avg10: Option<f64>,
    /// /proc/pressure/memory full avg10.
    pub memory_pressure_full_avg10: Option<f64>,
    /// /proc/pressure/cpu some avg10.
    pub cpu_pressure_some_avg10: Option<f64>,
    /// /proc/pressure/io some avg10.
    pub io_pressure_some_avg10: Option<f64>,
    /// /proc/pressure/io full avg10.
    pub io_pressure_full_avg10: Option<f64>,
}

impl NodeSample {
    /// A node with the given memory and no pressure (generated trees, tests, benches).
    pub fn quiet(name: &str, memory_total_bytes: u64, memory_available_bytes: u64) -> Self {
        NodeSample {
            name: name.to_string(),
            memory_total_bytes: Some(memory_total_bytes),
            memory_available_bytes: Some(memory_available_bytes),
            memory_pressure_some_avg10: Some(0.0),
            memory_pressure_full_avg10: Some(0.0),
            cpu_pressure_some_avg10: Some(0.0),
            io_pressure_some_avg10: Some(0.0),
            io_pressure_full_avg10: Some(0.0),
            ..NodeSample::default()
        }
    }
}

/// One sweep of the node: what `collect --format json` prints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Sweep time, seconds since the Unix epoch.
    pub ts: f64,
    /// Node readings.
    pub node: NodeSample,
    /// Every tracked container, sorted by cgroup path.
    pub containers: Vec<ContainerSample>,
}

/// Lenient-but-strict number deserializers for optional sample fields.
pub mod de {
    use serde::de::{self, Deserializer, Visitor};
    use std::fmt;

    /// `limit`: the string `max` is accepted too (as `None`).
    struct OptU64 {
        limit: bool,
    }
    impl<'de> Visitor<'de> for OptU64 {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(if self.limit {
                "a non-negative integer, \"max\" or null"
            } else {
                "a non-negative integer or null"
            })
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if self.limit && v == "max" {
                Ok(None)
            } else {
                Err(E::invalid_type(de::Unexpected::Str(v), &self))
            }
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            u64::try_from(v).map(Some).map_err(|_| {
                E::custom(format!(
                    "negative value {v}, expected a non-negative integer"
                ))
            })
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if !v.is_finite() || v < 0.0 {
                return Err(E::custom(format!(
                    "invalid value {v}, expected a non-negative integer"
                )));
            }
            if v.fract() != 0.0 && v < 1e6 {
                // Byte counts and counters are integers; a fractional small value is a unit mix-up.
                return Err(E::custom(format!(
                    "fractional value {v}, expected an integer"
                )));
            }
            if v >= u64::MAX as f64 {
                return Ok(Some(u64::MAX));
            }
            Ok(Some(v.round() as u64))
        }
    }

    /// `Option<u64>` from an integer, an integer-valued float, or null.
    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_option(OptU64 { limit: false })
    }

    /// A limit as interface.md has it: an integer, null, or a value that means "unlimited"
    /// (the string `max` that v2 files hold, or a v1 value ≥ 2^62) → `None`. Samples written by
    /// other tools carry the raw cgroup values; rejecting them would lose the whole sample.
    pub fn opt_limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(d.deserialize_option(OptU64 { limit: true })?
            .filter(|v| *v < crate::cgroup::V1_UNLIMITED_MIN))
    }

    struct OptF64;
    impl<'de> Visitor<'de> for OptF64 {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a non-negative number or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(OptF64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            if v < 0 {
                return Err(E::custom(format!(
                    "negative value {v}, expected a non-negative number"
                )));
            }
            Ok(Some(v as f64))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if !v.is_finite() || v < 0.0 {
                return Err(E::custom(format!(
                    "invalid value {v}, expected a non-negative number"
                )));
            }
            Ok(Some(v))
        }
    }

    /// `Option<f64>` from any finite non-negative number, or null.
    pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        d.deserialize_option(OptF64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_set_without_the_field_leaves_page_cache_out() {
        // Usage 1000 beside one more field.
        let ws = |field: &str| {
            let body = format!(r#"{{"memory_usage_bytes":1000{field}}}"#);
            serde_json::from_str::<Sample>(&body).unwrap().working_set()
        };
        assert_eq!(ws(r#","memory_working_set_bytes":900"#), Some(900));
        assert_eq!(ws(r#","memory_file_bytes":300"#), Some(700));
        // A page cache filling the limit beside a flat heap of 250.
        assert_eq!(ws(r#","memory_anon_bytes":250"#), Some(250));
        assert_eq!(ws(r#","memory_anon_bytes":2000"#), Some(1000));
        assert_eq!(ws(""), Some(1000));
        let no_usage: Sample = serde_json::from_str(r#"{"memory_anon_bytes":250}"#).unwrap();
        assert_eq!(no_usage.working_set(), None);
    }

    #[test]
    fn unreclaimable_is_usage_without_droppable_cache_and_never_below_anon() {
        let nf = |body: &str| {
            serde_json::from_str::<Sample>(body)
                .unwrap()
                .unreclaimable()
        };
        // Anon 500, cache 300, 200 of kernel memory.
        let full = r#"{"memory_usage_bytes":1000,"memory_file_bytes":300,"memory_anon_bytes":500}"#;
        assert_eq!(nf(full), Some(700));
        // Usage sampled a moment before anon grew: anon is the floor.
        let skew = r#"{"memory_usage_bytes":1000,"memory_file_bytes":600,"memory_anon_bytes":500}"#;
        assert_eq!(nf(skew), Some(500));
        assert_eq!(
            nf(r#"{"memory_usage_bytes":1000,"memory_file_bytes":300}"#),
            Some(700)
        );
        assert_eq!(
            nf(r#"{"memory_usage_bytes":100,"memory_file_bytes":300}"#),
            Some(0)
        );
        assert_eq!(
            nf(r#"{"memory_usage_bytes":1000,"memory_anon_bytes":500}"#),
            Some(500)
        );
        assert_eq!(nf(r#"{"memory_usage_bytes":1000}"#), None);
        // A 200 tmpfs in the cache cannot be dropped; 100 of reclaimable slab can.
        let tmpfs = r#"{"memory_usage_bytes":1000,"memory_file_bytes":300,"memory_anon_bytes":500,"memory_shmem_bytes":200,"memory_slab_reclaimable_bytes":100}"#;
        assert_eq!(nf(tmpfs), Some(800));
        // No shmem figure: of a 300 cache with 50 of inactive file (what the working set
        // leaves out), 50 and three times that of active cache are dropped; the other 100 may
        // be tmpfs. With the figure, the figure decides.
        let export = r#"{"memory_usage_bytes":1000,"memory_file_bytes":300,"memory_anon_bytes":500,"memory_working_set_bytes":950}"#;
        assert_eq!(nf(export), Some(800));
        // A cache up to 3/4 active is all page cache.
        let hot = r#"{"memory_usage_bytes":1000,"memory_file_bytes":300,"memory_anon_bytes":500,"memory_working_set_bytes":925}"#;
        assert_eq!(nf(hot), Some(700));
        let known = r#"{"memory_usage_bytes":1000,"memory_file_bytes":300,"memory_anon_bytes":500,"memory_working_set_bytes":950,"memory_shmem_bytes":0}"#;
        assert_eq!(nf(known), Some(700));
    }

    #[test]
    fn integer_valued_floats_are_byte_counts() {
        let s: Sample =
            serde_json::from_str(r#"{"ts":1.5,"id":"a/b/c","memory_usage_bytes":1073741824.0,"memory_limit_bytes":null}"#)
                .unwrap();
        assert_eq!(s.memory_usage_bytes, Some(1_073_741_824));
        assert_eq!(s.memory_limit_bytes, None);
        assert_eq!(s.id, "a/b/c");
    }

    #[test]
    fn negative_and_wrong_types_are_rejected() {
        for body in [
            r#"{"memory_usage_bytes":-5}"#,
            r#"{"memory_usage_bytes":"12"}"#,
            r#"{"cpu_usage_cores":-0.5}"#,
            r#"{"pids_current":1.5}"#,
            // Of strings, a limit takes only "max".
            r#"{"memory_limit_bytes":"268435456"}"#,
            r#"{"memory_limit_bytes":"lots"}"#,
            r#"{"pids_limit":-1}"#,
        ] {
            assert!(
                serde_json::from_str::<Sample>(body).is_err(),
                "{body} accepted"
            );
        }
    }

    #[test]
    fn predecessor_body_is_accepted() {
        let s: Sample =
            serde_json::from_str(r#"{"cpu_usage_cores":0.5,"memory_usage_bytes":1024}"#).unwrap();
        assert_eq!(s.cpu_usage_cores, Some(0.5));
        assert_eq!(s.memory_usage_bytes, Some(1024));
    }

    #[test]
    fn unlimited_in_any_spelling_is_no_limit() {
        for body in [
            r#"{"memory_limit_bytes":"max","pids_limit":"max"}"#,
            r#"{"memory_limit_bytes":9223372036854771712,"pids_limit":null}"#,
            r#"{"memory_limit_bytes":9.223372036854772e18}"#,
        ] {
            let s: Sample = serde_json::from_str(body).unwrap();
            assert_eq!((s.memory_limit_bytes, s.pids_limit), (None, None), "{body}");
        }
        let s: Sample =
            serde_json::from_str(r#"{"memory_limit_bytes":268435456,"pids_limit":512}"#).unwrap();
        assert_eq!(
            (s.memory_limit_bytes, s.pids_limit),
            (Some(1 << 28), Some(512))
        );
    }

    #[test]
    fn node_exporter_names_are_read_as_node_memory() {
        let s: Sample = serde_json::from_str(
            r#"{"node_memory_MemAvailable_bytes":100,"node_memory_MemTotal_bytes":800}"#,
        )
        .unwrap();
        assert_eq!(s.node_memory_available_bytes, Some(100));
        assert_eq!(s.node_memory_total_bytes, Some(800));
    }

    #[test]
    fn container_sample_is_one_flat_object() {
        let c = ContainerSample {
            meta: ContainerMeta {
                namespace: "ns".into(),
                pod: "p".into(),
                container: "c".into(),
                ..Default::default()
            },
            sample: Sample {
                id: "ns/p/c".into(),
                memory_usage_bytes: Some(7),
                ..Default::default()
            },
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["namespace"], "ns");
        assert_eq!(v["memory_usage_bytes"], 7);
        assert!(v["memory_limit_bytes"].is_null());
        let back: ContainerSample = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn cause_names_round_trip() {
        for c in Cause::ALL {
            assert_eq!(Cause::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }
}
