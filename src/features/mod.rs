//! Features: turns a container's [`History`] plus its newest [`Sample`] into the fixed-order
//! vector the model reads, and into the physical time-to-limit estimates that the risk
//! combines with the model. Only the past is used (the history holds nothing newer than the
//! sample), so training and live prediction see the same numbers.
//!
//! Design choices that matter for traces we did not generate ourselves:
//! - all windows are in seconds of `ts`, never in sample counts;
//! - memory slopes are expressed as a fraction of the limit per minute, so a 256 MiB and a
//!   16 GiB container look alike;
//! - the growth that leads to an OOM kill is the *envelope* (peak) of the working set:
//!   slope = (max over the recent half window − max over the older half) / half window.
//!   Noise and a GC sawtooth whose peaks stay put give ≈ 0; a leak or a creeping GC floor
//!   gives its true rate. Least squares over the bucket means is kept for the short window;
//! - page cache is reclaimable: when anon (or usage and page cache) is reported, the growth
//!   used for the time to limit is the smaller of the working-set growth and that of the
//!   memory the kernel cannot drop ([`Sample::unreclaimable`]: anon, tmpfs and kernel
//!   memory), so a growing cache never looks like a leak while a kernel-memory leak or a
//!   filling tmpfs still does. When anon (or file, PSI, ...) is missing we fall back to the
//!   working set / usage and mark the feature as unknown (−1) rather than inventing a value;
//! - counters that go backwards (container restart) give no rate (0), never a negative one.
//!
//! This file holds the feature list and [`extract`], which combines the parts, each in its own
//! file: `fit` (least-squares lines and upper envelopes), `shape` (whether a rise is a trend
//! worth timing), `memory` (reclaim and swap at the limit), `steps` (a leak that grows in
//! steps), `counters` (increases of cumulative counters, restarts), `pids` (a task count
//! toward pids.max), `cpu` (quota use, throttling, starvation), `node` (the node's memory as a
//! container's samples show it) and `pod` (what a pod's id says). Their public items are
//! re-exported here, so every path elsewhere is still `features::<item>`.
//!
//! This module must not decide anything (no thresholds, no alarms): that is `predict`.
mod counters;
mod cpu;
mod fit;
mod memory;
mod node;
mod pids;
mod pod;
mod shape;
mod steps;

pub use counters::{LOOP_AGE, LOOP_AGE_OOM, LOOP_RESTARTS, OOM_KILLS_WINDOW};
pub use cpu::{
    cpu_use_line, starvation_eta, throttle_stepped, HELD_SECONDS, PROBE_KILL_S, REVISIT_AGO,
    REVISIT_TREND, STARVED_RATIO, STARVE_FROM, STARVE_MIN_RISE, STARVE_WINDOW, STARVE_WINDOW_MAX,
    STEP_BAND, STEP_FROM, STEP_HELD, STEP_IDLE, STEP_SECONDS,
};
pub use fit::{
    envelope, envelope_slope, envelopes, least_squares, weighted_least_squares, Envelope, Fit,
    MIN_ENVELOPE_SPAN,
};
pub use memory::{
    HIGH_HELD_AFTER, HIGH_HELD_BAND, HIGH_HELD_WINDOW, HOT_CACHE, PINNED_USAGE, RECLAIM_FALL,
    RECLAIM_FALL_OF_CACHE, SATURATED_WS, SLOW_RECLAIM_FALL, SLOW_RECLAIM_FLOOR, SLOW_RECLAIM_HELD,
    SLOW_RECLAIM_R2, SLOW_RECLAIM_WINDOW, SWAP_GROWTH_MIN,
};
pub use node::{
    cache_squeeze, cache_squeeze_since, node_pressure_fallback, BYSTANDER_SHARE, OWN_RECLAIM_USAGE,
    SQUEEZE_MIN_BYTES, SQUEEZE_WINDOW, VICTIM_GROWTH,
};
pub use pids::{PIDS_ASSUMED_MIN, PIDS_DRAIN, PIDS_GUESS_GROWTH, PIDS_JUMP_RATIO, PIDS_RECEDE};
pub use pod::{critical_pod, cronjob_pod};
pub use shape::{
    envelope_trusted, CLIMB_T, CLIMB_T_MONOTONE, FRESH_FLAT, FRESH_RISE, FRESH_SHARE, RISE_NOISE,
    SETTLE_AGE, SETTLE_POINTS, STALL_FITS, STALL_SHARE, TREND_MAX_GAP, TREND_T,
};
pub use steps::{
    StepClock, STEP_CLOCK_MIN_INTERVAL, STEP_CLOCK_REGULAR, STEP_CLOCK_SLACK, STEP_DRIFT, STEP_FLAT,
};

use counters::{delta, restarts_10m, restarts_dated};
use fit::envelope_slope_10m;
use memory::{held_at_high, reclaim_at_limit, swap_fill, swap_floor};
use node::own_reclaim_idle_on_unknown_node;
use shape::{falls_in_both_halves, fresh_rise, settling, significant_climb};
use steps::{step_clock, step_reaches_limit};

use crate::history::{Counters, History};
use crate::sample::{Qos, Sample};
use serde::{Deserialize, Serialize};

/// Number of features.
pub const N: usize = 27;

/// "Not going to happen within the horizon we care about", seconds: the cap of every
/// time-to-X feature (also used when nothing grows).
pub const TTL_CAP: f64 = 3600.0;

/// Value of a ratio/share feature whose inputs were not reported.
pub const UNKNOWN: f32 = -1.0;

/// Kubelet's default hard eviction threshold (`memory.available<100Mi`).
pub const NODE_EVICTION_BYTES: f64 = 100.0 * 1024.0 * 1024.0;

/// The eviction threshold assumed where the kubelet's is unknown, to time the eviction of a
/// BestEffort pod that grew nothing ([`Features::ttl_node_guess`]): AKS's default
/// (`memory.available<750Mi`), the highest of the common ones (100Mi upstream, on GKE and
/// EKS; 500Mi–1Gi where set by hand). Too high warns early, too low not at all.
pub const NODE_EVICTION_GUESS_BYTES: f64 = 750.0 * 1024.0 * 1024.0;

/// Name, unit and meaning of one feature (written into the model file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureDoc {
    /// Feature name (stable: the model file lists them in order).
    pub name: String,
    /// Unit.
    pub unit: String,
    /// What it measures.
    pub meaning: String,
}

/// (name, unit, meaning) of each feature, in vector order.
pub const SPEC: [(&str, &str, &str); N] = [
    ("ws_limit_ratio", "ratio", "working set (else usage) / memory limit; -1 without a limit"),
    ("anon_limit_ratio", "ratio", "anonymous memory / memory limit; -1 when anon or limit unknown"),
    ("file_share", "ratio", "page cache / (anon + page cache); -1 when unknown"),
    ("ws_slope_short", "limit/min", "least-squares slope of the working set over the last 60 s"),
    ("ws_env_slope_5m", "limit/min", "envelope slope of the working set over 5 min (peak of recent half minus peak of older half)"),
    ("ws_env_slope_10m", "limit/min", "envelope slope of the working set over 10 min"),
    ("anon_slope_short", "limit/min", "least-squares slope of unreclaimable memory (usage − page cache other than tmpfs − reclaimable slab, at least anon; anon when usage or page cache is unknown) over 60 s; the working-set slope when neither is known"),
    ("anon_env_slope_5m", "limit/min", "envelope slope of unreclaimable memory (as anon_slope_short) over 5 min; the working-set one when neither is known"),
    ("ttl_mem_s", "s", "time until the working set (at a scrape of 40 s or more in a GC trough: the recent peaks' line) reaches the limit at the 5 min envelope growth (min of ws and unreclaimable growth; with usage under 92 % of the limit, no sooner than usage reaches it at its own 5 min envelope growth), once trusted (150 s and 10 buckets of history of this container instance, whole GC cycles or none in both halves of the window (at scrapes of 40 s or more, or cycles in both halves of the 10 min window), a rise above the noise of the bucket peaks and, at scrapes under 40 s, a climbing mean, and not a fresh ramp (80 % of the 5 min rise in the last 60 s after a flat window) unless memory.high events or memory PSI of 10 % say the kernel held that level; not while an instance younger than 10 min has stopped rising or levels off below its limit, nor while memory.high holds usage below the limit with the working set at usage (memory.high events and no memory.max ones in the last minute, usage no higher than 30 s to 2 min before); or a clean linear climb above 92 % of the limit that reaches it within 60 s); at least, while usage is pinned at the limit and the page cache gives way, the time until half of the cache left is gone at that pace, or, for a fall along a line over 10 min with the working set held at 90 % of the limit, until all but 1 % of the limit is (that time alone where the working set is saturated at 99 % of the limit, whose trend then says nothing); 3600 otherwise"),
    ("ttl_mem_short_s", "s", "time to the limit at the 60 s growth (min of ws and unreclaimable); 3600 when not growing"),
    ("fit_r2_short", "ratio", "R^2 of the 60 s least-squares working-set fit (how linear the recent growth is)"),
    ("oom_kills_10m", "count", "memory.events oom_kill increase over 10 min (a process was killed, the container may live on)"),
    ("oom_events_5m", "count", "memory.events oom increase over 5 min (the cgroup hit its limit and reclaim failed)"),
    ("max_events_1m", "count", "memory.events max (v1 failcnt) increase over 60 s"),
    ("high_events_1m", "count", "memory.events high increase over 60 s"),
    ("psi_mem_some", "percent", "memory.pressure some avg10; -1 when unknown"),
    ("psi_mem_full", "percent", "memory.pressure full avg10; -1 when unknown"),
    ("cpu_throttle_ratio_1m", "ratio", "throttled / total CFS periods over 60 s; -1 when unknown"),
    ("cpu_psi_some", "percent", "cpu.pressure some avg10; -1 when unknown"),
    ("cpu_use_limit_ratio_1m", "ratio", "CPU cores used over 60 s (since a restart, within a minute of one) / CPU limit; -1 without a limit"),
    ("pids_ratio", "ratio", "pids.current / pids.max; -1 without a limit"),
    ("ttl_pids_s", "s", "time until pids.current reaches pids.max at the 5 min envelope growth, once this instance has run 150 s, restarted within 10 min or stands at 92 % of pids.max; 3600 when not growing"),
    ("restarts_10m", "count", "container restarts over 10 min"),
    ("last_reason", "code", "last termination reason: 0 none, 1 OOMKilled, 2 Error, 3 Evicted, 4 other"),
    ("node_available_ratio", "ratio", "memory the kubelet sees left (the lower of node MemAvailable and the pods' allocatable headroom) / MemTotal; -1 when unknown"),
    ("ttl_node_s", "s", "time until the memory the kubelet sees left (node MemAvailable, or the pods' allocatable headroom where lower) falls to its eviction threshold (the sample's, else its default 100 MiB) at its 5 min trend, for BestEffort/Burstable pods, once 60 s of this history show it; 3600 otherwise"),
    ("cpu_throttle_ratio_5m", "ratio", "throttled / total CFS periods over 5 min (compare with the 1 min ratio for a trend); -1 when unknown"),
];

/// Index of each feature, by name, for code that reads the vector.
pub mod idx {
    /// ws_limit_ratio.
    pub const WS_LIMIT_RATIO: usize = 0;
    /// ws_env_slope_5m.
    pub const WS_ENV_SLOPE_5M: usize = 4;
    /// ttl_mem_s.
    pub const TTL_MEM: usize = 8;
    /// oom_kills_10m.
    pub const OOM_KILLS_10M: usize = 11;
    /// oom_events_5m.
    pub const OOM_EVENTS_5M: usize = 12;
    /// max_events_1m.
    pub const MAX_EVENTS_1M: usize = 13;
    /// high_events_1m.
    pub const HIGH_EVENTS_1M: usize = 14;
    /// cpu_throttle_ratio_1m.
    pub const CPU_THROTTLE_1M: usize = 17;
    /// pids_ratio.
    pub const PIDS_RATIO: usize = 20;
    /// ttl_pids_s.
    pub const TTL_PIDS: usize = 21;
    /// restarts_10m.
    pub const RESTARTS_10M: usize = 22;
    /// last_reason.
    pub const LAST_REASON: usize = 23;
    /// ttl_node_s.
    pub const TTL_NODE: usize = 25;
    /// cpu_throttle_ratio_5m.
    pub const CPU_THROTTLE_5M: usize = 26;
}

/// The documented feature list (for the model file).
pub fn docs() -> Vec<FeatureDoc> {
    SPEC.iter()
        .map(|(n, u, m)| FeatureDoc {
            name: (*n).into(),
            unit: (*u).into(),
            meaning: (*m).into(),
        })
        .collect()
}

/// Feature names in vector order.
pub fn names() -> Vec<String> {
    SPEC.iter().map(|(n, _, _)| (*n).to_string()).collect()
}

/// Features of one container at one instant, plus the physical estimates behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// The model's input vector, in [`SPEC`] order.
    pub x: [f32; N],
    /// Seconds until the working set reaches the limit, when it grows toward it and the
    /// estimate is trustworthy (enough history, consistent growth).
    pub ttl_mem: Option<f64>,
    /// Seconds until pids.max, when pids grow toward it; where the samples carry no pids.max,
    /// until the count an earlier instance died at ([`History::pids_ceiling`]) or an assumed
    /// limit (`assumed_pids_limit`; the feature `ttl_pids_s` counts neither).
    pub ttl_pids: Option<f64>,
    /// Seconds until node eviction pressure, for pods the kubelet would evict first.
    pub ttl_node: Option<f64>,
    /// For a BestEffort pod, seconds until the node's available memory, falling steadily for
    /// 10 minutes, reaches the kubelet's threshold where it gave it, else
    /// [`NODE_EVICTION_GUESS_BYTES`] (100 MiB once below that): when such a pod that grew
    /// nothing goes ([`Features::heads_besteffort`]; `node::steady_fall_time`).
    pub ttl_node_guess: Option<f64>,
    /// Seconds until liveness probes are expected to kill a container whose CFS throttling
    /// climbs toward starvation ([`starvation_eta`]).
    pub ttl_starve: Option<f64>,
    /// CPU use as a share of the quota now, and its change per second, on the line through
    /// the last two minutes ([`cpu_use_line`]); `None` without a quota or a usage counter.
    pub cpu_use: Option<(f64, f64)>,
    /// Memory pressure of a container without a memory limit, or growing well below it, on a
    /// node whose memory is unknown ([`node_pressure_fallback`]).
    pub node_psi: Option<f64>,
    /// Share of its page cache a container without a memory limit, on a node whose memory is
    /// unknown, lost over the last 10 min ([`cache_squeeze`]).
    pub cache_squeeze: Option<f64>,
    /// The working set of a container without a memory limit, or using less than
    /// [`OWN_RECLAIM_USAGE`] of it, on a node whose memory is unknown, grew by at least
    /// [`VICTIM_GROWTH`] of itself over the last 5 min: under node pressure it is the pod the
    /// kubelet ranks first for eviction (usage above requests), and the pressure's cause.
    pub grows_on_unknown_node: bool,
    /// Growth of the working set's envelope over the last 5 min, bytes per second (`None`
    /// without a trend): how much of a node's memory this container is taking.
    pub ws_rise_5m: Option<f64>,
    /// On a node whose available memory has been falling over the last 5 min (its envelope),
    /// how much of that fall this container's working set took over the same window (its
    /// envelope's rise over the node's fall; `None` where the node is not falling or either
    /// is unknown). See [`BYSTANDER_SHARE`].
    pub shortage_share: Option<f64>,
    /// Seconds between this container's samples ([`History::sample_gap`]).
    pub sample_gap: f64,
    /// At a sparse scrape, a step by which the working set set a new high in the last
    /// [`LONG_WINDOW`] would reach the limit from where it stands (`step_reaches_limit`).
    pub step_reaches_limit: bool,
    /// When the next step that does not fit can come, for a leak that grows in regular steps
    /// (`step_clock`); `predict::assess` weighs it against `ttl_mem` and the burst rule.
    pub step_clock: Option<StepClock>,
    /// Seconds until unreclaimable memory, at its 5 min envelope growth, has crowded out all
    /// but the hot part ([`HOT_CACHE`]) of the page cache the working set holds: the kill comes
    /// no sooner. Only beside a trusted trend; `predict::assess` weighs it.
    pub cache_floor: Option<f64>,
    /// Seconds until unreclaimable memory and swap together, at their growth (the 5 min
    /// envelope's, and swap's faster of 1 and 5 min), have filled the room left in memory (as
    /// [`Features::cache_floor`] counts it) and in the swap the container may use
    /// ([`Sample::memory_swap_limit_bytes`]): at the limit the kernel swaps anonymous memory
    /// out, and kills only once that swap is full too. `None` without a swap limit, or with
    /// that swap full; `predict::assess` weighs it.
    pub swap_floor: Option<f64>,
    /// Where the working set, near its limit, gives no time to it: seconds until the swap the
    /// container may use and the page cache it holds are used up, while its swap grows
    /// (`swap_fill`). A leak swapped out as fast as it grows holds the working set at the
    /// limit, and the swap filling is the clock.
    pub swap_fill: Option<f64>,
    /// Seconds of history of the current instance ([`History::instance_span`]); infinite for
    /// a lone sample ([`extract_once`]).
    pub instance_span: f64,
    /// The pod is a run of a CronJob ([`cronjob_pod`] of the sample's id). `extract` leaves it
    /// false: [`crate::predict::Predictor::observe`] fills it from the id parsed once per
    /// container, [`extract_once`] from the sample's.
    pub cronjob: bool,
    /// The running instance survived an OOM kill (the kernel killed one of its processes and
    /// the container went on). `extract` leaves it false: [`crate::predict::Predictor::observe`]
    /// fills it.
    pub survivor: bool,
    /// An alarm is open on the container: a throttled share that opened it is not taken back
    /// by the level it holds. `extract` leaves it false: [`crate::predict::Predictor::observe`]
    /// fills it.
    pub alarmed: bool,
    /// The pod is one the kubelet never evicts for node pressure ([`critical_pod`]). `extract`
    /// leaves it false: [`crate::predict::Predictor::observe`] and [`extract_once`] fill it.
    pub critical: bool,
    /// Another pod on the node stands ahead of this one's in the kubelet's eviction order
    /// (usage above requests, then lower priority, then the larger excess), by the requests
    /// the kubelet gave. `extract` leaves it false: [`crate::predict::Predictor::observe`]
    /// fills it.
    pub outranked: bool,
    /// The pod is the largest BestEffort one on a node running short of memory that no
    /// evictable pod seen grows into: the kubelet evicts it first. `extract` leaves it false:
    /// [`crate::predict::Predictor::observe`] fills it.
    pub heads_besteffort: bool,
    /// `restarts_10m` (`x[22]`), or, without the kubelet's `finishedAt`, with the restarts
    /// before first sight dated by the instance's CPU counter (`restarts_dated`): what the
    /// restart-loop rule counts.
    pub restarts_recent: f32,
}

/// Time for `value` to reach `limit` at `rate` per second; `None` unless growing.
fn time_to(value: f64, limit: f64, rate: Option<f64>) -> Option<f64> {
    let rate = rate?;
    if rate.is_nan() || rate <= 0.0 || !limit.is_finite() {
        return None;
    }
    Some(((limit - value).max(0.0) / rate).min(TTL_CAP))
}

fn ttl_feature(t: Option<f64>) -> f32 {
    t.map_or(TTL_CAP as f32, |v| v as f32)
}

pub(super) fn opt_f(v: Option<f64>) -> f32 {
    v.map_or(UNKNOWN, |x| x as f32)
}

fn reason_code(r: Option<&str>) -> f32 {
    match r {
        None | Some("") => 0.0,
        Some("OOMKilled") => 1.0,
        Some("Error") => 2.0,
        Some("Evicted") => 3.0,
        Some(_) => 4.0,
    }
}

/// Window of the short least-squares slopes, seconds.
pub const SHORT_WINDOW: f64 = 60.0;

/// Window of the envelope slopes, seconds.
pub const LONG_WINDOW: f64 = 300.0;

/// History of the current container instance needed before a time-to-limit estimate is
/// trusted, seconds. Longer than a slow GC cycle (up to 2 min): the first ramp of a heap, a
/// warm-up after a restart and a fresh leak are the same straight line until then. A leak
/// that fills its limit sooner than this after a start is caught only near the limit.
pub const TRUST_SPAN: f64 = 150.0;

/// History buckets (at most one per 10 s) of the current instance needed as well: at a 30 s
/// sampling interval the trust span alone holds five points.
pub const TRUST_BUCKETS: usize = 10;

/// A fall of the working set by this fraction of the limit over a run of falling samples is a
/// GC cycle (or dropped cache), not noise (see [`envelope_trusted`]).
pub const CYCLE_FALL: f64 = 0.1;

/// History of the instance needed when fewer than [`TRUST_BUCKETS`] points are there: long
/// enough that a GC cycle of up to 2 minutes has shown at least one fall at a 30–60 s scrape
/// unless the scrape aliases it (the first ramp of a sawtooth looked like a leak at 150 s).
pub const SPARSE_TRUST_SPAN: f64 = 225.0;

/// History (seconds) before the node's available-memory trend gives a time to eviction.
pub const NODE_TREND_SPAN: f64 = 60.0;

/// Working set / limit above which a short but clean climb is trusted at once...
pub const NEAR_LIMIT: f64 = 0.92;

/// ...when it reaches the limit within this many seconds.
pub const EARLY_TTL: f64 = 60.0;

/// Memory PSI some (percent) at which a level is the kernel's doing, not the app's.
pub const PRESSED_PSI: f64 = 10.0;

/// Compute the features of `s`, whose history `h` already contains it (`extract` never looks
/// beyond `s.ts`).
pub fn extract(h: &History, s: &Sample) -> Features {
    let now = s.ts;
    let ws = h.working_set_of(s);
    let limit = s.memory_limit_bytes.map(|v| v as f64).filter(|v| *v > 0.0);
    let anon = s.memory_anon_bytes.map(|v| v as f64);
    let file = s.memory_file_bytes.map(|v| v as f64);
    // Slopes are normalised by the limit; without one, by the node's memory; else raw MiB.
    let scale = limit
        .or(s.node_memory_total_bytes.map(|v| v as f64))
        .unwrap_or(1024.0 * 1024.0);
    let per_min = |bytes_per_s: f64| (bytes_per_s * 60.0 / scale) as f32;

    let mut x = [0f32; N];
    x[0] = match (ws, limit) {
        (Some(w), Some(l)) => (w / l) as f32,
        _ => UNKNOWN,
    };
    x[1] = match (anon, limit) {
        (Some(a), Some(l)) => (a / l) as f32,
        _ => UNKNOWN,
    };
    x[2] = match (anon, file) {
        (Some(a), Some(f)) if a + f > 0.0 => (f / (a + f)) as f32,
        _ => UNKNOWN,
    };

    let ws_fit = least_squares(
        h.iter_instance(now - SHORT_WINDOW)
            .map(|b| (b.t_mid(), b.ws_mean() as f64)),
    );
    // The history's anon series is [`Sample::unreclaimable`].
    let unreclaimable = s.unreclaimable();
    let anon_known = unreclaimable.is_some();
    let anon_fit = if anon_known {
        least_squares(
            h.iter_instance(now - SHORT_WINDOW)
                .map(|b| (b.t_mid(), b.anon_mean() as f64)),
        )
    } else {
        None
    };
    let sample_gap = h.sample_gap();
    // The long-window envelopes of the working set, anon, pids and −node available memory.
    let [ws_envelope, anon_envelope, pids_envelope, node_fall_envelope] =
        envelopes(h, now, LONG_WINDOW, MIN_ENVELOPE_SPAN, |b| {
            [b.ws_max, b.anon_max, b.last.pids, -b.last.node_available]
        });
    let ws_env5 = ws_envelope.map(|e| e.slope);
    let ws_env10 = envelope_slope_10m(h, now, |b| b.ws_max);
    let anon_env5 = if anon_known {
        anon_envelope.map(|e| e.slope)
    } else {
        None
    };

    let ws_short = ws_fit.map(|f| f.slope);
    let anon_short = if anon_known {
        anon_fit.map(|f| f.slope)
    } else {
        ws_short
    };
    let anon_env = if anon_known { anon_env5 } else { ws_env5 };
    x[3] = ws_short.map_or(0.0, per_min);
    x[4] = ws_env5.map_or(0.0, per_min);
    x[5] = ws_env10.map_or(0.0, per_min);
    x[6] = anon_short.map_or(0.0, per_min);
    x[7] = anon_env.map_or(0.0, per_min);

    // Growth that can end in an OOM kill: page cache is reclaimed at the limit, so only growth
    // that unreclaimable memory confirms counts (when it is reported).
    let min_opt = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        _ => None,
    };
    // With 10 minutes of history, the 10-minute envelope also has to agree: two half-window
    // peaks of a noisy GC sawtooth can differ by chance, and the longer window halves that
    // noise. (Without it, the 5-minute envelope alone: fast leaks are short.)
    let g_long = match ws_env10 {
        Some(g10) => min_opt(ws_env5, anon_env).map(|g| g.min(g10)),
        None => min_opt(ws_env5, anon_env),
    };
    let g_short = min_opt(ws_short, anon_short);
    // At a sparse scrape a sample lands in a GC trough as often as not and stays the newest
    // for a whole interval: from a trough (a collection-sized fall below the recent peak; a
    // noise spike is no peak to run from), the time to limit runs from the peaks' line. At the
    // 1–15 s intervals the trees were fitted on, from the sample, as they learnt.
    let level = match (ws, limit) {
        (Some(w), Some(l)) => Some(
            ws_envelope
                .filter(|e| sample_gap >= TREND_MAX_GAP && e.peak - w >= CYCLE_FALL * l)
                .map_or(w, |e| e.level_at(now, g_long.unwrap_or(0.0)))
                .max(w),
        ),
        _ => None,
    };
    let ttl_long = match (level, limit) {
        (Some(v), Some(l)) => time_to(v, l, g_long),
        _ => None,
    };
    // The working set never exceeds usage, the charge, and short of the limit nothing reclaims
    // from the cgroup: there usage is all the memory it holds, and the working set reaches
    // the limit no sooner than usage does. A working set that rises while usage holds still
    // is page cache moving to the active list (an mmap'd database read over and over), which
    // counts as unreclaimable where tmpfs is not reported, and brings no kill closer.
    // Walked only where there is a time to bound: most containers have none.
    let usage_envelope = || {
        s.memory_usage_bytes
            .and_then(|_| envelope(h, now, LONG_WINDOW, MIN_ENVELOPE_SPAN, |b| b.usage_max))
    };
    let ttl_long = match (ttl_long, limit) {
        (Some(t), Some(l)) => match usage_envelope() {
            Some(u) if u.peak < NEAR_LIMIT * l => {
                time_to(u.level_at(now, u.slope), l, Some(u.slope)).map(|tu| t.max(tu))
            }
            _ => Some(t),
        },
        (t, _) => t,
    };
    let ttl_short = match (ws, limit) {
        (Some(w), Some(l)) => time_to(w, l, g_short),
        _ => None,
    };
    let r2 = ws_fit.map_or(0.0, |f| f.r2);
    let span = h.instance_span();
    let c = h.counters_of(s);
    let trusted = ttl_long.filter(|_| {
        trend_trusted(
            h,
            s,
            &Trend {
                ratio: x[0],
                ws,
                limit,
                fit: ws_fit,
                ttl: ttl_long,
                growth: g_long,
                gap: sample_gap,
            },
            &c,
        )
    });
    // The trend times the working set to the limit, and the working set holds active page
    // cache: the kernel reclaims that too before it kills, so no kill comes before
    // unreclaimable memory has crowded out all of it but the hot part the workload keeps.
    // That room (bytes) is also where the swap floor starts.
    let cache_room = match (ws, level, unreclaimable, limit) {
        (Some(w), Some(v), Some(u), Some(l)) => {
            let cache = (w - u as f64).max(0.0);
            Some(l - (v - (1.0 - HOT_CACHE) * cache))
        }
        _ => None,
    };
    // At the slower of the 5- and 10-minute anon envelopes, as the trend takes the slowest of
    // its windows: two half-window peaks of a noisy leak differ by chance, and a floor timed at
    // a high one put alarms on slow leaks a quarter of an hour early. (An anon envelope flat
    // over 10 minutes gives no floor, as a flat 5-minute one does; the longer walk is skipped
    // where the floor is capped already.)
    let cache_floor = trusted.and(cache_room).and_then(|r| {
        let floor = time_to(0.0, r, anon_env5)?;
        if floor >= TTL_CAP {
            return Some(floor);
        }
        match envelope_slope_10m(h, now, |b| b.anon_max) {
            Some(g10) => time_to(0.0, r, anon_env5.map(|g| g.min(g10))),
            None => Some(floor),
        }
    });
    // Reclaim mostly postpones: started on its own below the limit it took batch runs that
    // stream their input through the cache (an inactive cache, so a working set short of the
    // limit) for leaks. But a working set saturated at the limit cannot rise, so its trend gives
    // no time at all while the leak goes on eating the cache: there the cache's fall is the clock.
    let saturated = matches!((ws, limit), (Some(w), Some(l)) if w >= SATURATED_WS * l);
    let reclaim = (trusted.is_some() || saturated)
        .then(|| reclaim_at_limit(h, s, limit))
        .flatten();
    let ttl_mem = match trusted {
        // What is left of a saturated working set's trend is noise: the fall is the clock.
        Some(_) if saturated && reclaim.is_some() => reclaim.map(|r| r.ttl),
        Some(t) => Some(reclaim.map_or(t, |r| t.max(r.ttl))),
        None => reclaim.map(|r| r.ttl),
    };
    x[8] = ttl_feature(ttl_mem);
    x[9] = ttl_feature(ttl_short);
    x[10] = r2 as f32;

    x[idx::OOM_KILLS_10M] = delta(h, now, OOM_KILLS_WINDOW, c.oom_kills, |b| b.last.oom_kills);
    x[idx::OOM_EVENTS_5M] = delta(h, now, 300.0, c.oom_events, |b| b.last.oom_events);
    x[idx::MAX_EVENTS_1M] = delta(h, now, 60.0, c.max_events, |b| b.last.max_events);
    x[idx::HIGH_EVENTS_1M] = delta(h, now, 60.0, c.high_events, |b| b.last.high_events);
    x[15] = opt_f(s.memory_pressure_some_avg10);
    x[16] = opt_f(s.memory_pressure_full_avg10);

    [x[17], x[26], x[18], x[19]] = cpu::cpu_columns(h, s, now, &c);

    x[22] = restarts_10m(h, s, now, c.restarts);
    let (tasks_ratio, ttl_pids, pids_stated) =
        pids::pids_time(h, s, now, pids_envelope, x[22] > 0.0);
    x[20] = tasks_ratio;
    x[21] = ttl_feature(ttl_pids.filter(|_| pids_stated));
    let restarts_recent = restarts_dated(h, s, now, c.restarts, x[22]);
    x[23] = reason_code(s.last_termination_reason.as_deref());

    // The kubelet evicts BestEffort first, then Burstable pods above their requests; a
    // Guaranteed pod is not an eviction candidate under memory pressure.
    let evictable = !matches!(s.qos, Some(Qos::Guaranteed));
    let ttl_node;
    (x[24], ttl_node) = node::node_columns(h, s, evictable, node_fall_envelope.map(|e| e.slope));
    x[25] = ttl_feature(ttl_node);
    // Only a BestEffort pod's: the one the kubelet evicts first where no pod grows.
    let ttl_node_guess = if s.qos == Some(Qos::Besteffort) {
        node::steady_fall_time(h, s, now, node_fall_envelope.map(|e| e.slope))
    } else {
        None
    };

    let grows = own_reclaim_idle_on_unknown_node(s)
        && matches!((ws, ws_env5), (Some(w), Some(g)) if g * LONG_WINDOW >= VICTIM_GROWTH * w);
    Features {
        x,
        ttl_mem,
        ttl_pids,
        ttl_node,
        ttl_node_guess,
        ttl_starve: starvation_eta(h, now, sample_gap),
        cpu_use: cpu_use_line(h, s),
        // With a limit, only for a container that grows into the shortage (a Guaranteed pod
        // beside the victims stalls as much, and the kubelet evicts it last) and whose
        // memory.high throttling, which stalls it short of the limit too, is counted and idle;
        // and not while its own limit explains the stalls: reclaim at memory.max or an OOM
        // kill of its own in the last minutes (the stalls echo for a minute after).
        node_psi: node_pressure_fallback(s).filter(|_| {
            evictable
                && (limit.is_none()
                    || (grows
                        && s.memory_high_events_total.is_some()
                        && x[idx::HIGH_EVENTS_1M] == 0.0
                        && x[idx::MAX_EVENTS_1M] == 0.0
                        && x[idx::OOM_EVENTS_5M] == 0.0))
        }),
        cache_squeeze: cache_squeeze(h, s),
        grows_on_unknown_node: grows,
        ws_rise_5m: ws_env5,
        shortage_share: match (node_fall_envelope.map(|e| e.slope), ws_env5) {
            (Some(fall), Some(g)) if fall > 0.0 => Some(g / fall),
            _ => None,
        },
        sample_gap,
        step_reaches_limit: ttl_mem.is_some()
            && matches!((ws, limit), (Some(w), Some(l))
                if step_reaches_limit(h, now, sample_gap, reclaim.map_or(l - w, |r| r.room.max(l - w)))),
        cache_floor,
        swap_floor: cache_room.and_then(|r| swap_floor(h, s, r, anon_env5)),
        swap_fill: match (ws, limit, cache_room) {
            (Some(w), Some(l), Some(r)) if ttl_mem.is_none() && w >= NEAR_LIMIT * l => {
                swap_fill(h, s, r, anon_env5)
            }
            _ => None,
        },
        step_clock: match (unreclaimable, limit) {
            (Some(u), Some(l)) => step_clock(h, now, u as f64, l),
            _ => None,
        },
        instance_span: span,
        cronjob: false,
        survivor: false,
        alarmed: false,
        critical: false,
        outranked: false,
        heads_besteffort: false,
        restarts_recent,
    }
}

/// A working set's trend toward its limit, as [`trend_trusted`] judges it.
struct Trend {
    /// Working set / limit (`ws_limit_ratio`).
    ratio: f32,
    /// Working set, bytes.
    ws: Option<f64>,
    /// Memory limit, bytes.
    limit: Option<f64>,
    /// The 60 s least-squares fit of the working set.
    fit: Option<Fit>,
    /// Seconds to the limit at the long windows' growth.
    ttl: Option<f64>,
    /// That growth, bytes a second.
    growth: Option<f64>,
    /// Seconds between samples.
    gap: f64,
}

/// Whether the trend's time to the limit is trusted (`ttl_mem_s`'s conditions), for the
/// container of `s` whose counters as of `s` are `c`.
fn trend_trusted(h: &History, s: &Sample, t: &Trend, c: &Counters) -> bool {
    // Trust the physical estimate once the growth is established over more than a typical
    // GC cycle of this instance (the first ramp of a sawtooth, or a container warming up
    // after a restart, is a straight line too), or when a clean, linear climb is already at
    // the limit's doorstep and about to cross it.
    let span = h.instance_span();
    let now = s.ts;
    let (ws, limit, sample_gap, g_long) = (t.ws, t.limit, t.gap, t.growth);
    let near = t.ratio >= NEAR_LIMIT as f32;
    // Five 10 s buckets at least: noisy bucket means of a flat line rise with r² ≥ 0.95 about
    // once in 80 windows of four points, once in 450 of five (it is checked at every sample).
    let clean = t.fit.is_some_and(|f| f.r2 >= 0.95 && f.n >= 5);
    let soon = t.ttl.is_some_and(|t| t <= EARLY_TTL);
    // Sparse samples (a 30 s scrape) put only a few random phases of a GC cycle in each half
    // of the envelope window, and two such maxima differ by chance: also wait for enough
    // points of this instance.
    // Unless the points there are already an unmistakable climb ([`significant_climb`]): at a
    // 60 s scrape ten points take ten minutes, longer than many leaks take to fill a limit.
    let cycle_fall = limit.map(|l| (CYCLE_FALL * l) as f32);
    let established = || {
        span >= TRUST_SPAN
            && (h
                .iter_instance(f64::NEG_INFINITY)
                .nth(TRUST_BUCKETS - 1)
                .is_some()
                || (span >= SPARSE_TRUST_SPAN
                    && significant_climb(h, now, cycle_fall.unwrap_or(f32::INFINITY))))
            && cycle_fall.is_none_or(|fall| {
                envelope_trusted(h, now, LONG_WINDOW, fall, sample_gap)
                    || (sample_gap >= TREND_MAX_GAP
                        && falls_in_both_halves(h, now, 2.0 * LONG_WINDOW, fall))
            })
    };
    // A young instance's rise that stopped or levels off is no leak on either path: a ramp
    // that ended at 93 % is as clean and as near as a leak about to cross.
    let settles =
        || matches!((g_long, ws, limit), (Some(g), Some(w), Some(l)) if settling(h, now, g, l - w));
    // A fresh ramp from a level the window held is trusted only at the doorstep: most stop.
    // Not when the kernel held that level (memory.high events, memory stalls): that is a leak
    // pressed against memory.high, and the ramp is it breaking through toward the limit.
    // Both are looked at only for an envelope already trusted, not at every sample.
    let pressed = || {
        delta(h, now, LONG_WINDOW, c.high_events, |b| b.last.high_events) > 0.0
            || s.memory_pressure_some_avg10
                .is_some_and(|p| p >= PRESSED_PSI)
    };
    let fresh = || !pressed() && ws.is_some_and(|w| fresh_rise(h, now, w));
    // Nor while memory.high holds usage below the limit ([`held_at_high`]).
    let held = || match (ws, limit) {
        (Some(w), Some(l)) => held_at_high(h, s, w, l),
        _ => false,
    };
    ((established() && !fresh()) || (clean && near && soon)) && !settles() && !held()
}

/// Features of a lone sample with no history (`POST /predict`): levels only, no trends. Its
/// container's age is unknown, so it is judged as one past its start-up.
pub fn extract_once(s: &Sample) -> Features {
    let mut h = History::new();
    h.push(s);
    Features {
        instance_span: f64::INFINITY,
        cpu_use: None,
        cronjob: cronjob_pod(&s.id),
        critical: critical_pod(&s.id, s.pod_priority),
        ..extract(&h, s)
    }
}

#[cfg(test)]
mod tests;
