//! The simulated kernel and kubelet: turns what an application *wants* (anon memory, page
//! cache writes, CPU, threads) into what its cgroup files would show, one simulated second
//! at a time, and decides crashes from that physics (OOM kill when reclaim cannot make
//! room, liveness-probe kills under CPU throttling, death after fork fails at pids.max,
//! node-pressure eviction). Scenario code only describes demand; it never writes a label.
//!
//! Must not: know the scenario kind, or emit a label that the simulated physics did not
//! cause.
use crate::sample::{Cause, Qos, Sample};
use crate::trace::{Label, TraceLine};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// One mebibyte, in bytes (as f64: the simulation works in floating point bytes).
pub const MIB: f64 = 1024.0 * 1024.0;
/// One gibibyte, in bytes.
pub const GIB: f64 = 1024.0 * MIB;

/// A standard normal draw (Box–Muller; rand 0.9 ships no normal distribution without rand_distr).
pub fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// What the application asks for during one second (the scenario's output).
#[derive(Debug, Clone, Default)]
pub struct Demand {
    /// Anonymous memory the process holds, bytes.
    pub anon: f64,
    /// Page cache newly written or read this second, bytes (added to the file LRU).
    pub file_write: f64,
    /// Page cache the app keeps referenced (the kernel's active list), bytes.
    pub active_file: f64,
    /// Page cache that ages out by itself this second (e.g. deleted temp files), bytes.
    pub file_drop: f64,
    /// CPU the app would use if unthrottled, cores.
    pub cpu: f64,
    /// Tasks (processes + threads) the app wants to run.
    pub pids: f64,
    /// The app exits by itself this second (CrashLoopBackOff-style failure).
    pub exit_error: bool,
}

/// How a scenario drives one container; `age` is seconds since this container instance started.
pub trait Behaviour {
    /// Demand for the second starting at `age` (`now` is trace time, for node-wide trends).
    fn demand(&mut self, age: f64, now: f64, rng: &mut ChaCha8Rng) -> Demand;
    /// Called when the kubelet starts a new instance after a crash.
    fn restarted(&mut self, _rng: &mut ChaCha8Rng) {}
}

/// Static description of a simulated container.
pub struct Spec {
    /// `namespace/pod/container`.
    pub id: String,
    /// QoS class.
    pub qos: Qos,
    /// memory.max; `None` = unlimited.
    pub mem_limit: Option<f64>,
    /// cpu quota in cores; `None` = unlimited.
    pub cpu_limit: Option<f64>,
    /// pids.max; `None` = unlimited.
    pub pids_limit: Option<u64>,
    /// Restarts before the trace starts (history the predictor must not over-trust).
    pub initial_restarts: u64,
    /// Seconds a task keeps running after fork() starts failing at pids.max.
    pub pid_death_after: f64,
    /// Whether the kubelet may evict this pod under node memory pressure.
    pub evictable: bool,
}

/// Live state of one simulated container (across restarts: the id is stable, the cgroup is not).
pub struct Container {
    /// Its static description.
    pub spec: Spec,
    behaviour: Box<dyn Behaviour>,
    alive: bool,
    gone: bool,
    died_at: f64,
    dying_until: f64,
    started_at: f64,
    restart_at: f64,
    fast_crashes: u32,
    // memory state, bytes
    anon: f64,
    file: f64,
    active: f64,
    kernel: f64,
    // counters: container-level ones reset with the new cgroup of a restarted container;
    // `pod_kills` is what the pod cgroup's hierarchical memory.events (v2) keeps counting.
    oom_events: u64,
    oom_kills: u64,
    pod_kills: u64,
    max_events: u64,
    psi_mem_some: f64,
    psi_mem_full: f64,
    psi_cpu_some: f64,
    cpu_usage: f64,
    /// Until the first step: the instance's CPU seconds so far, as a multiple of its age
    /// times its first second's use (a running instance's counter counts from its own start).
    cpu_backfill: Option<f64>,
    throttled_s: f64,
    throttled_periods: f64,
    periods: f64,
    pids: f64,
    at_pid_limit_for: f64,
    probe_phase: f64,
    probe_delay: f64,
    probe_failures: u32,
    restarts: u64,
    last_reason: Option<String>,
}

/// How long an instance running at trace start has been up. Containers have usually been up
/// for a while; one that restarted before (a healthy pod's restarts are history: a loop in
/// progress is the `crash_loop` kind's) for at least the kubelet's 10-minute back-off reset.
fn up_for(restarts: u64, rng: &mut ChaCha8Rng) -> f64 {
    let up = rng.random_range(0.0..3600.0);
    if restarts > 0 {
        600.0 + up * (3000.0 / 3600.0)
    } else {
        up
    }
}

/// PSI avg10 is an exponential moving average with a 10 s window; one update per second.
const PSI_ALPHA: f64 = 0.095_162_581_964_040_43; // 1 - exp(-1/10)

impl Container {
    /// A container that is running at trace start.
    pub fn new(spec: Spec, behaviour: Box<dyn Behaviour>, now: f64, rng: &mut ChaCha8Rng) -> Self {
        let restarts = spec.initial_restarts;
        Container {
            last_reason: (restarts > 0).then(|| "Error".to_string()),
            spec,
            behaviour,
            alive: true,
            gone: false,
            died_at: f64::NEG_INFINITY,
            dying_until: f64::NEG_INFINITY,
            started_at: now - up_for(restarts, rng),
            restart_at: 0.0,
            fast_crashes: 0,
            anon: 0.0,
            file: 0.0,
            active: 0.0,
            kernel: rng.random_range(1.0..6.0) * MIB,
            oom_events: 0,
            oom_kills: 0,
            pod_kills: 0,
            max_events: 0,
            psi_mem_some: 0.0,
            psi_mem_full: 0.0,
            psi_cpu_some: 0.0,
            cpu_usage: 0.0,
            cpu_backfill: Some(rng.random_range(0.8..1.2)),
            throttled_s: 0.0,
            throttled_periods: 0.0,
            periods: 0.0,
            pids: 1.0,
            at_pid_limit_for: 0.0,
            probe_phase: rng.random_range(0.0..10.0),
            probe_delay: rng.random_range(0.0..30.0),
            probe_failures: 0,
            restarts,
        }
    }

    /// Start with `bytes` of (cold) page cache already charged (reclaimed at the first step
    /// if it does not fit).
    pub fn prefill_file(&mut self, bytes: f64) {
        self.file = bytes.max(0.0);
    }

    /// Page cache charged now, bytes.
    pub fn file(&self) -> f64 {
        self.file
    }

    /// True while a process runs in the container.
    pub fn alive(&self) -> bool {
        self.alive
    }

    /// True when the container's cgroup can be read at `ts`: while it runs, and for the
    /// moment between an OOM kill and the runtime removing the dead container's cgroup.
    pub fn visible_at(&self, ts: f64) -> bool {
        self.alive || (ts >= self.died_at && ts < self.dying_until)
    }

    /// OOM kills of this container since the trace started (pod-level counter contribution).
    pub fn pod_kills(&self) -> u64 {
        self.pod_kills
    }

    /// Bytes charged to the cgroup (memory.current).
    pub fn usage(&self) -> f64 {
        self.anon + self.file + self.kernel
    }

    /// Advance one second starting at `now`; returns a crash label if the container died.
    pub fn step(&mut self, now: f64, rng: &mut ChaCha8Rng) -> Option<Label> {
        if self.gone {
            return None;
        }
        if !self.alive {
            if now < self.restart_at {
                return None;
            }
            self.start(now, rng);
        }
        let age = now - self.started_at;
        let d = self.behaviour.demand(age, now, rng);
        if let Some(cause) = self.memory(&d, rng) {
            return Some(self.crash(now, cause, rng));
        }
        let throttle = self.cpu(&d, rng);
        if let Some(k) = self.cpu_backfill.take() {
            // The counter starts with the instance, not with the trace: an agent dates the
            // restarts it finds at first sight by it (`features::restarts_dated`).
            self.cpu_usage *= age * k;
        }
        if self.probe(now, throttle, rng) {
            return Some(self.crash(now, Cause::CpuStarvation, rng));
        }
        if self.tasks(&d) {
            return Some(self.crash(now, Cause::PidExhaustion, rng));
        }
        if d.exit_error {
            return Some(self.crash(now, Cause::RestartLoop, rng));
        }
        None
    }

    /// Memory charge and reclaim as memcg does it: page cache is dropped before anything is
    /// killed, usage pins at the limit while file pages remain, and only when anon + the hot
    /// file pages no longer fit does the OOM killer fire.
    fn memory(&mut self, d: &Demand, rng: &mut ChaCha8Rng) -> Option<Cause> {
        self.anon = d.anon.max(0.0);
        self.file = (self.file + d.file_write - d.file_drop).max(0.0);
        // Referenced file pages (code, hot data) are resident: at least the active set.
        self.file = self.file.max(d.active_file);
        self.active = d.active_file.min(self.file);
        let mut stall_some = 0.0;
        let mut stall_full = 0.0;
        if let Some(limit) = self.spec.mem_limit {
            // What reclaim cannot take without thrashing: part of the hot file set.
            let file_min = (self.active * 0.3).min(self.file);
            if self.anon + self.kernel + file_min >= limit {
                self.oom_events += 1;
                self.oom_kills += 1;
                self.pod_kills += 1;
                self.max_events += rng.random_range(5..50);
                return Some(Cause::OomKill);
            }
            // The kernel starts reclaiming when a charge would exceed the limit; usage then
            // hovers just under it.
            let margin = limit * rng.random_range(0.0005..0.004);
            if self.anon + self.kernel + self.file > limit - margin {
                let excess = self.anon + self.kernel + self.file - (limit - margin);
                self.file = (limit - margin - self.anon - self.kernel).max(file_min);
                self.active = self.active.min(self.file);
                // memory.events max: one per charge that hit the limit (batched by 32 pages).
                self.max_events += (excess / (128.0 * 1024.0)).ceil().max(1.0) as u64;
                // Stalls are small while plenty of cold page cache is left, and climb steeply
                // once reclaim has to take hot pages (refaults, thrashing).
                let slack = (self.file - file_min) / limit;
                if slack > 0.03 {
                    stall_some = rng.random_range(0.0..1.2);
                } else {
                    let hard = 1.0 - slack / 0.03;
                    stall_some = 100.0 * (0.08 + 0.6 * hard) * rng.random_range(0.6..1.2);
                    stall_full = stall_some * rng.random_range(0.25..0.6);
                }
            }
        }
        self.psi_mem_some += (stall_some.min(100.0) - self.psi_mem_some) * PSI_ALPHA;
        self.psi_mem_full += (stall_full.min(100.0) - self.psi_mem_full) * PSI_ALPHA;
        None
    }

    /// CFS bandwidth control: returns the fraction of periods throttled this second.
    fn cpu(&mut self, d: &Demand, rng: &mut ChaCha8Rng) -> f64 {
        let want = d.cpu.max(0.0);
        let mut frac = 0.0;
        let used = match self.spec.cpu_limit {
            Some(quota) if want > 0.001 => {
                // Bursty threads hit the quota inside a 100 ms period well before the
                // one-second average reaches it; the curve reaches ~50 % at demand == quota.
                let ratio = want / quota;
                frac = 1.0 - (-0.7 * ratio.powi(3)).exp();
                let active = (want / 0.05).min(1.0);
                self.periods += 10.0 * active;
                self.throttled_periods += 10.0 * active * frac;
                self.throttled_s += frac * (want.max(quota)).min(8.0) * 0.1 * 10.0 * active;
                want.min(quota * rng.random_range(0.97..1.0))
            }
            _ => want,
        };
        self.cpu_usage += used;
        let stall = if frac > 0.0 {
            frac * 100.0 * rng.random_range(0.7..1.0)
        } else {
            rng.random_range(0.0..1.5)
        };
        self.psi_cpu_some += (stall - self.psi_cpu_some) * PSI_ALPHA;
        frac
    }

    /// Liveness probe every 10 s after initialDelaySeconds, failureThreshold 3: a starved
    /// process answers too late.
    fn probe(&mut self, now: f64, throttle: f64, rng: &mut ChaCha8Rng) -> bool {
        let phase = (now + self.probe_phase) % 10.0;
        if phase >= 1.0 || now - self.started_at < self.probe_delay {
            return false;
        }
        let p_fail = ((throttle - 0.9) / 0.09).clamp(0.0, 1.0);
        if rng.random::<f64>() < p_fail {
            self.probe_failures += 1;
        } else {
            self.probe_failures = 0;
        }
        self.probe_failures >= 3
    }

    /// pids.max: fork() fails at the limit; the app survives a little, then dies.
    fn tasks(&mut self, d: &Demand) -> bool {
        self.pids = d.pids.max(1.0);
        if let Some(limit) = self.spec.pids_limit {
            let limit = limit as f64;
            if self.pids >= limit {
                self.pids = limit;
                self.at_pid_limit_for += 1.0;
                return self.at_pid_limit_for >= self.spec.pid_death_after;
            }
        }
        self.at_pid_limit_for = 0.0;
        false
    }

    /// The container died at some instant inside the second starting at `now`.
    fn crash(&mut self, now: f64, cause: Cause, rng: &mut ChaCha8Rng) -> Label {
        let ts = now + rng.random_range(0.0..1.0);
        self.alive = false;
        self.died_at = ts;
        if cause == Cause::OomKill {
            // The killed tasks' memory is freed at once; the empty cgroup (with its
            // oom_kill count) lingers until the runtime deletes the container.
            self.dying_until = ts + rng.random_range(0.05..1.5);
            self.anon = 0.0;
            self.active = 0.0;
            self.pids = 0.0;
        }
        self.last_reason = Some(
            match cause {
                Cause::OomKill => "OOMKilled",
                Cause::Evicted => "Evicted",
                _ => "Error",
            }
            .to_string(),
        );
        if cause == Cause::Evicted {
            // An evicted pod is not restarted; its replacement is a new pod with a new name.
            self.gone = true;
        } else {
            // Kubelet restart backoff: 10 s doubling to 300 s, reset after 10 min of good running.
            if ts - self.started_at >= 600.0 {
                self.fast_crashes = 0;
            }
            let backoff = (10.0 * 2f64.powi(self.fast_crashes as i32)).min(300.0);
            self.fast_crashes += 1;
            self.restart_at = ts + backoff + rng.random_range(0.5..3.0);
        }
        Label {
            ts: round_ms(ts),
            id: self.spec.id.clone(),
            event: "crash".into(),
            cause,
        }
    }

    /// The kubelet starts a new container: new cgroup (container-level counters from zero),
    /// restartCount + 1; the pod-level memory.events (oom, oom_kill) keep counting.
    fn start(&mut self, now: f64, rng: &mut ChaCha8Rng) {
        self.alive = true;
        self.started_at = now;
        self.restarts += 1;
        self.oom_events = 0;
        self.oom_kills = 0;
        self.anon = 0.0;
        self.file = 0.0;
        self.active = 0.0;
        self.max_events = 0;
        self.psi_mem_some = 0.0;
        self.psi_mem_full = 0.0;
        self.psi_cpu_some = 0.0;
        self.cpu_usage = 0.0;
        self.cpu_backfill = None;
        self.throttled_s = 0.0;
        self.throttled_periods = 0.0;
        self.periods = 0.0;
        self.at_pid_limit_for = 0.0;
        self.probe_failures = 0;
        self.behaviour.restarted(rng);
    }

    /// Evict the pod now (decided by the node's eviction manager).
    pub fn evict(&mut self, now: f64, rng: &mut ChaCha8Rng) -> Label {
        self.crash(now, Cause::Evicted, rng)
    }

    /// What the agent would read now on a v2 (`v1` false) or v1 node, counting only this
    /// container's kills at pod level (a pod with one container).
    pub fn sample(&self, ts: f64, v1: bool, node_total: f64, node_avail: f64) -> Sample {
        let source = if v1 {
            Source::CgroupV1
        } else {
            Source::CgroupV2
        };
        self.sample_from(ts, source, node_total, node_avail, self.pod_kills)
    }

    /// What `source` would record now (it decides which fields exist); `pod_kills` is the
    /// pod cgroup's oom_kill count (every container of the pod).
    pub fn sample_from(
        &self,
        ts: f64,
        source: Source,
        node_total: f64,
        node_avail: f64,
        pod_kills: u64,
    ) -> Sample {
        let v2 = source == Source::CgroupV2;
        let v1 = !v2;
        let usage = self.usage();
        let inactive = (self.file - self.active).max(0.0);
        let b = |x: f64| Some(x.max(0.0).round() as u64);
        let psi = |x: f64| v2.then_some((x * 100.0).round() / 100.0);
        let has_quota = self.spec.cpu_limit.is_some();
        Sample {
            ts: round_ms(ts),
            id: self.spec.id.clone(),
            memory_usage_bytes: b(usage),
            memory_working_set_bytes: b(usage - inactive),
            memory_limit_bytes: self.spec.mem_limit.and_then(b),
            memory_anon_bytes: b(self.anon),
            memory_file_bytes: b(self.file),
            // No scenario fills a tmpfs; a share of the kernel's memory is dentry/inode slab.
            memory_shmem_bytes: (source != Source::Prometheus).then_some(0),
            memory_slab_reclaimable_bytes: if v2 { b(self.kernel * 0.4) } else { None },
            memory_swap_bytes: (!v1).then_some(0),
            memory_swap_limit_bytes: None,
            oom_events_total: v2.then_some(self.oom_events),
            oom_kills_total: Some(self.oom_kills),
            // v1 pod cgroups count only kills at the pod's own limit; v2's count is hierarchical.
            pod_oom_kills_total: match source {
                Source::CgroupV2 => Some(pod_kills),
                Source::CgroupV1 => Some(0),
                Source::Prometheus => None,
            },
            memory_high_events_total: (!v1).then_some(0),
            memory_max_events_total: Some(self.max_events),
            memory_pressure_some_avg10: psi(self.psi_mem_some),
            memory_pressure_full_avg10: psi(self.psi_mem_full),
            cpu_usage_seconds_total: Some((self.cpu_usage * 1e6).round() / 1e6),
            cpu_usage_cores: None,
            cpu_limit_cores: self.spec.cpu_limit,
            cpu_throttled_seconds_total: Some((self.throttled_s * 1e6).round() / 1e6),
            cpu_throttled_periods_total: Some(if has_quota {
                self.throttled_periods as u64
            } else {
                0
            }),
            cpu_periods_total: Some(if has_quota { self.periods as u64 } else { 0 }),
            cpu_pressure_some_avg10: psi(self.psi_cpu_some),
            pids_current: Some(if self.alive {
                self.pids.round().max(1.0) as u64
            } else {
                0
            }),
            pids_limit: if source == Source::Prometheus {
                None
            } else {
                self.spec.pids_limit
            },
            // Contract-shaped traces, as an outside checker writes them: a null limit is one
            // the predictor has to guess at, whatever the source.
            // The simulator's pids.max is the container's own.
            pod_pids_current: None,
            pids_limit_unset: false,
            restarts_total: Some(self.restarts),
            last_termination_reason: self.last_reason.clone(),
            last_termination_ts: None,
            pod_priority: None,
            // Contract-shaped: requests and the node's threshold are the kubelet's, which an
            // outside trace does not carry; the predictor must do without them.
            memory_request_bytes: None,
            qos: Some(self.spec.qos),
            node_memory_available_bytes: b(node_avail),
            node_memory_total_bytes: b(node_total),
            // The simulated node reserves nothing for the system: the pods may use it all.
            node_allocatable_available_bytes: None,
            node_eviction_threshold_bytes: None,
        }
    }
}

/// Where a trace's samples come from, which decides the fields it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The agent on a cgroup v2 node: every field.
    CgroupV2,
    /// The agent on a cgroup v1 (or hybrid) node: no PSI, no `memory.events` oom/high, no
    /// swap; `max` events are `memory.failcnt`.
    CgroupV1,
    /// A Prometheus export of cAdvisor + kube-state-metrics series (the usual "real" trace):
    /// as v1, and no pod-level OOM counter or pids limit.
    Prometheus,
}

/// Round a timestamp to milliseconds (what a trace file keeps).
pub fn round_ms(ts: f64) -> f64 {
    (ts * 1000.0).round() / 1000.0
}

/// The node: memory used by everything outside the simulated containers, and the kubelet's
/// eviction manager (hard threshold `memory.available < 100Mi`, checked every 10 s).
pub struct Node {
    /// MemTotal, bytes.
    pub total: f64,
    /// Memory available before counting the simulated containers, bytes (random walk).
    pub free_other: f64,
    /// Extra drain on free memory per second from other pods (eviction scenarios), bytes.
    pub drain: f64,
    /// memory.available eviction threshold, bytes.
    pub evict_threshold: f64,
    walk_sigma: f64,
}

impl Node {
    /// A node with `total` bytes of which `free` are available outside the simulated containers.
    pub fn new(total: f64, free: f64, rng: &mut ChaCha8Rng) -> Self {
        Node {
            total,
            free_other: free,
            drain: 0.0,
            evict_threshold: 100.0 * MIB,
            walk_sigma: total * rng.random_range(0.0002..0.001),
        }
    }

    /// MemAvailable as the agent would read it, given the simulated containers.
    pub fn available(&self, containers: &[Container]) -> f64 {
        let used: f64 = containers
            .iter()
            .filter(|c| c.alive)
            .map(|c| c.usage())
            .sum();
        (self.free_other - used).max(0.0)
    }

    /// One second of background churn on the node.
    pub fn step(&mut self, rng: &mut ChaCha8Rng) {
        self.free_other += normal(rng) * self.walk_sigma - self.drain;
        self.free_other = self.free_other.clamp(0.0, self.total);
    }
}

/// Scrape schedule of a trace: the interval, its jitter, and how often a sample is lost.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Nominal seconds between samples.
    pub interval: f64,
    /// Standard deviation of the sample time around its nominal slot, seconds.
    pub jitter: f64,
    /// Probability that a scrape is missing.
    pub drop: f64,
}

/// Run a whole simulated trace: `duration` seconds from `t0`; returns sorted trace lines.
pub fn run(
    node: &mut Node,
    containers: &mut [Container],
    t0: f64,
    duration: f64,
    schedule: Schedule,
    source: Source,
    rng: &mut ChaCha8Rng,
) -> Vec<TraceLine> {
    let mut out: Vec<TraceLine> = Vec::new();
    let mut next_slot = t0 + rng.random_range(0.0..schedule.interval);
    let steps = duration.max(1.0) as u64;
    for k in 0..steps {
        let now = t0 + k as f64;
        node.step(rng);
        for c in containers.iter_mut() {
            if let Some(label) = c.step(now, rng) {
                out.push(TraceLine::Label(label));
            }
        }
        // Kubelet eviction manager housekeeping.
        if k % 10 == 0 && node.available(containers) < node.evict_threshold {
            // Rank like the kubelet: pods exceeding their requests first (BestEffort requests
            // nothing, so any usage exceeds it), then by usage.
            let victim = containers
                .iter()
                .enumerate()
                .filter(|(_, c)| c.alive && c.spec.evictable)
                .max_by(|a, b| a.1.usage().total_cmp(&b.1.usage()))
                .map(|(i, _)| i);
            if let Some(i) = victim {
                let label = containers[i].evict(now, rng);
                out.push(TraceLine::Label(label));
            }
        }
        while next_slot < now + 1.0 {
            let ts = next_slot + normal(rng) * schedule.jitter;
            next_slot += schedule.interval;
            if rng.random::<f64>() < schedule.drop {
                continue;
            }
            let ts = ts.max(now);
            let avail = node.available(containers);
            let mut pods: HashMap<&str, u64> = HashMap::new();
            for c in containers.iter() {
                *pods.entry(pod_of(&c.spec.id)).or_default() += c.pod_kills();
            }
            for c in containers.iter().filter(|c| c.visible_at(ts)) {
                let pk = pods.get(pod_of(&c.spec.id)).copied().unwrap_or(0);
                out.push(TraceLine::Sample(Box::new(
                    c.sample_from(ts, source, node.total, avail, pk),
                )));
            }
        }
    }
    out.sort_by(|a, b| line_ts(a).total_cmp(&line_ts(b)));
    out
}

/// `namespace/pod` of a `namespace/pod/container` id; the whole id where it has no `/`.
fn pod_of(id: &str) -> &str {
    crate::sample::pod_of(id).unwrap_or(id)
}

/// Timestamp of a trace line.
pub fn line_ts(l: &TraceLine) -> f64 {
    match l {
        TraceLine::Sample(s) => s.ts,
        TraceLine::Label(l) => l.ts,
    }
}
