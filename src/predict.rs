//! Per-container prediction: history → features → model → calibrated risk, cause, time to
//! OOM, and alarm episodes with hysteresis. The same path serves `run`, `demo`, `replay`,
//! `train` (threshold tuning) and `POST /predict`.
//!
//! Risk = max(learned probability of a crash within the training horizon, physical risk of
//! the time-to-limit estimate). The physical term `1 / (1 + (ttl / scale)²)` (0.5 at
//! `scale`, 0.97 at 20 s for scale 120 s) makes sure that a container seconds away from its
//! limit is never reported as low risk, whatever the trees learned from our simulator; the
//! trees add what physics cannot see (restart loops, throttling, eviction pressure) and
//! gate nothing away from physics.
//!
//! A restart that nothing in the dead instance's samples explains (no resource risk ≥ 0.5,
//! no task count that multiplied) holds the risk just above the threshold for the kubelet's
//! back-off cap, as `restart_loop`: apps that exit by themselves mostly do it again.
//!
//! Alarm episodes: one opens when risk ≥ threshold, and closes when risk stays below
//! `threshold − clear_margin` for `clear_after_s` seconds of sample time, or when a crash is
//! observed and the risk right after it is below the threshold. Each episode is reported once
//! (`Alarmed`, then `Cleared` or `Crashed`); a crash after which the container is still at
//! risk (restart loop, persisting starvation) reports `Crashed` and keeps the episode open.
//!
//! This module must not do I/O or logging of alarms: callers (agent, replay) report
//! transitions their own way.
use crate::features::{self, Features};
use crate::history::History;
use crate::model::Model;
use crate::sample::{Cause, Qos, Sample};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// The prediction for one container at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Container id.
    pub id: String,
    /// Sample time.
    pub ts: f64,
    /// Calibrated crash risk 0..1.
    pub crash_risk: f64,
    /// True while an alarm episode is open.
    pub crash_predicted: bool,
    /// Most likely cause (when risk is not negligible).
    pub cause: Option<Cause>,
    /// Estimated seconds until the working set reaches the limit (only while growing toward it).
    pub time_to_oom_seconds: Option<f64>,
}

/// A change of alarm state, reported once per episode.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// An alarm episode opened.
    Alarmed,
    /// The episode closed without a crash.
    Cleared,
    /// A crash was observed in the samples (e.g. `oom_kills_total` increased).
    Crashed {
        /// What kind of crash.
        cause: Cause,
        /// When the current alarm episode opened, if one was open.
        alarmed_at: Option<f64>,
    },
}

/// Memory PSI (percent) at which a container without a limit on an unknown node is at half
/// risk of eviction.
const NODE_PSI_HALF: f64 = 10.0;
/// The same for a container that grows while the node is short of memory: the pressure is
/// partly its own doing, it will worsen, and the kubelet ranks this pod first.
const NODE_PSI_HALF_GROWING: f64 = 5.0;
/// Share of its page cache a growing container without a limit on an unknown node has lost
/// ([`features::cache_squeeze`]) at which it is at half risk of eviction.
const SQUEEZE_HALF: f64 = 0.3;

/// Sample intervals the time-to-crash risk scale was set on (the agent's 1 s up to the
/// simulator's 15 s scrapes): [`assess`] brings a time to crash forward only by the part of
/// the interval beyond this.
const CALIBRATED_GAP: f64 = 15.0;
/// Most [`assess`] brings a time to crash forward by (a trace with a gap of minutes says
/// nothing about when the next sample comes).
const MAX_GAP_CREDIT: f64 = 60.0;

/// The start-up of a container that did not restart lately, seconds of its history: no CPU
/// starvation is predicted in it (see [`assess`]). JIT warm-up bursts last up to a minute or two.
const START_UP_SECONDS: f64 = 120.0;

/// Largest sample gap, seconds, at which a starvation verdict of the trees alone waits for
/// the next sample before it opens an alarm. One sample of a 1-minute throttled share at a
/// dense scrape can be a burst that the next one does not repeat (on the held-out seeds and
/// the blind Prometheus-style sets, a few false alarms opened on such a sample), while
/// starvation that kills holds over many samples. At a sparser scrape a sample spans most of
/// that minute, and waiting would cost a whole interval of lead: measured at 30 s and 60 s
/// scrapes, 4–9 points of recall on the outside sets.
const CONFIRM_MAX_GAP: f64 = 30.0;

/// Share of CFS periods throttled over 5 minutes of a container that copes with it (see
/// [`assess`]).
const PINNED_THROTTLE: f64 = 0.9;

/// Share of CFS periods throttled over 5 minutes of a container that copes with it while the
/// share holds its level, it has not restarted and no alarm is open on it (see [`assess`]).
const HELD_THROTTLE: f64 = 0.8;

/// How far the 1-minute throttled share may stand above the 5-minute one for the share to
/// count as held ([`HELD_THROTTLE`]).
const HELD_THROTTLE_CLIMB: f64 = 0.08;

/// CPU use, as a share of the quota ([`Features::cpu_use`]), below which a container is not
/// starving (see [`assess`]).
const STARVE_USE: f64 = 0.9;

/// Seconds ahead that an alarm speaks for: an episode not followed by a crash within them is
/// a false alarm (the scoring, and `eval`'s horizon). See [`assess`].
pub const ALARM_HORIZON: f64 = 600.0;
/// Time to the memory limit, trusted, beyond which the trees' OOM-kill verdict is set aside
/// (see [`assess`]): the physical floor speaks for a kill further off.
const TREES_OOM_HORIZON: f64 = 300.0;

/// Below this risk no cause is named.
const CAUSE_FLOOR: f64 = 0.05;

/// A second crash signal of the same kind within this many seconds is the same crash (the
/// kernel counter and the kubelet's restart/OOMKilled report arrive at different sweeps).
const SAME_CRASH_SECONDS: f64 = 60.0;

/// An instance whose resource risk never reached this before it died died of something the
/// samples did not show (an exit the app chose, not a resource running out).
const EXPLAINED_RISK: f64 = 0.5;

/// Risk of a growing container one burst from its limit ([`Features::step_reaches_limit`]).
const STEP_RISK: f64 = 0.8;

/// Risk of a container right after an unexplained restart: just above the default threshold.
const UNEXPLAINED_RESTART_RISK: f64 = 0.76;

/// Least swap an instance killed by the OOM killer must have used for it to stand as the swap
/// limit of the next one. Where a node swaps (NodeSwap LimitedSwap, zram) the kubelet's swap
/// limit of a container is set from its memory request, and the samples may not state it
/// (`memory.swap.max` is an added field): at the memory limit the kernel swaps anonymous
/// memory out, and kills only once that swap is full (and the page cache gone). The swap of an
/// instance that died so is what the next one (same container, same request) may use, or less
/// than that: the kill of the next one is no nearer than its swap filling that much
/// ([`Features::swap_fill`], [`Features::swap_floor`]). A few MiB of swap at a kill says
/// nothing of the limit (a burst through it).
const SWAP_CEILING_MIN: u64 = 8 << 20;

/// How long an unexplained restart keeps its risk: the kubelet's back-off cap (5 min), the
/// longest a looping container waits before it runs (and fails) again.
const UNEXPLAINED_RESTART_SECONDS: f64 = 300.0;

/// An instance whose task count grew this many times over (and by at least
/// `PIDS_GROWTH_MIN` tasks) was leaking threads or processes: a restart resets that even
/// where the samples do not show `pids.max` (a scrape without it).
const PIDS_GROWTH_FACTOR: u64 = 4;
/// See `PIDS_GROWTH_FACTOR`.
const PIDS_GROWTH_MIN: u64 = 100;

/// Risk, cause and time to OOM of one feature vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    /// Calibrated risk 0..1.
    pub risk: f64,
    /// Most likely cause, when risk ≥ 0.05.
    pub cause: Option<Cause>,
    /// Seconds until the memory limit, while growing toward it.
    pub time_to_oom: Option<f64>,
    /// The learned crash probability alone.
    pub learned: f64,
    /// The part of the risk that says a resource is running out (memory, tasks, CPU, the
    /// node): the physical terms and the learned probability of every cause but a restart
    /// loop. A restart after it was high is explained.
    pub resource: f64,
    /// The risk without the trees' starvation probability: what stands when a starvation
    /// verdict of the trees alone is set aside (`Predictor::observe` raises it with the
    /// unexplained-restart floor, as it does the risk).
    pub besides_starvation: f64,
}

/// Index of a cause in the model's class probabilities.
fn class_index(c: Cause) -> usize {
    1 + Cause::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

/// Physical risk of a time-to-limit estimate.
pub fn ttl_risk(ttl: f64, scale: f64) -> f64 {
    if ttl.is_nan() || ttl < 0.0 || scale <= 0.0 {
        return 0.0;
    }
    1.0 / (1.0 + (ttl / scale).powi(2))
}

/// Risk of a signal `x` that rises with it: x² / (x² + half²), 0.5 at `half`, 0.8 at twice it.
fn half_at(x: f64, half: f64) -> f64 {
    x * x / (x * x + half * half)
}

/// Combine the model's class probabilities with the physical estimates. `stepped` says
/// whether the container's throttling began as a step and has held its level since
/// ([`features::throttle_stepped`]); it walks the instance's whole history, so it is asked
/// only where the answer can change the assessment. A lone sample has no steps: `|| false`.
pub fn assess(model: &Model, f: &Features, stepped: impl FnOnce() -> bool) -> Assessment {
    let ttl_mem = cache_floor_applied(f);
    let mut p = match ttl_mem.filter(|_| ttl_mem != f.ttl_mem) {
        Some(t) => {
            let mut x = f.x;
            x[features::idx::TTL_MEM] = t as f32;
            model.probabilities(&x)
        }
        None => model.probabilities(&f.x),
    };
    let restarts = f.x[features::idx::RESTARTS_10M] as f64;
    // A container's start-up is not starvation: a runtime that compiles its way up (a JVM's
    // JIT) is throttled in nearly every period for a minute or so, and its probes are set
    // (initialDelaySeconds, a startupProbe) to wait for that. CPU starvation is judged once
    // the start-up is over — unless the container restarted within 10 minutes: then the load
    // that may have killed it is still there.
    let starting = f.instance_span < START_UP_SECONDS && restarts == 0.0;
    // Nor is a CPU-bound worker pinned at its quota: throttled in nearly every period for the
    // last 5 minutes and still running, its probes are answered. Starved containers die within
    // a minute or two of that (a probe's failureThreshold × periodSeconds); what is left is
    // a load that keeps rising, which the trend term sees.
    // So is one throttled in most periods (`HELD_THROTTLE`) at a level it holds: still running
    // after five minutes of it, it gets enough in the rest. Unless the share is still climbing
    // (the last minute well above the five), it restarted lately, or an alarm is open: a climb
    // that opened one is not taken back by the level it reaches, and a starving container
    // dies within a minute or two of it.
    let thr5 = f.x[features::idx::CPU_THROTTLE_5M] as f64;
    let thr1 = f.x[features::idx::CPU_THROTTLE_1M] as f64;
    let held =
        !f.alarmed && restarts == 0.0 && thr5 >= HELD_THROTTLE && thr1 - thr5 < HELD_THROTTLE_CLIMB;
    let pinned = f.instance_span >= START_UP_SECONDS && (thr5 >= PINNED_THROTTLE || held);
    // Nor is one that leaves part of its quota unused: throttled in many periods, it gets CPU
    // in the rest, and a probe is answered. A bursty service at 60–80 % of its quota is
    // throttled in most periods and swings through the shares a climb to starvation passes;
    // the kill comes only once the demand is past the quota. Judged, like each time to crash
    // below, as it will be at the next sample. A restart in the last 10 minutes says the load
    // may have killed it already.
    let gap = (f.sample_gap - CALIBRATED_GAP).clamp(0.0, MAX_GAP_CREDIT);
    let slack = restarts == 0.0
        && f.cpu_use
            .is_some_and(|(now, pace)| now + pace * gap < STARVE_USE);
    // Nor is one whose throttling began as a step and has held its level since: work that
    // started (a batch run) and takes the CPU it is given; nor one throttled at one level
    // for as long as it has been seen (two minutes at least), or back at a level its load
    // swung it through minutes before. A service starves as its load outgrows the quota, and
    // its throttled share keeps climbing on the way.
    // Asked last: the answer matters only where starvation still counts, through the trees'
    // probability (unless pinned already drops it) or the time to starve.
    let starve_i = class_index(Cause::CpuStarvation);
    let may_starve = f.ttl_starve.is_some() || (!pinned && p[starve_i] > 0.0);
    // Nor is a CronJob's run (`features::cronjob_pod`): a batch task without a liveness probe
    // that takes what CPU it is given. Unless it restarted lately: then something kills it.
    let batch = f.cronjob && restarts == 0.0;
    let stepped = restarts == 0.0 && !starting && !slack && !batch && may_starve && stepped();
    let copes = starting || pinned || slack || batch || stepped;
    // Its starvation probability counts as "no crash".
    let mut dropped = if copes {
        std::mem::take(&mut p[starve_i])
    } else {
        0.0
    };
    // Nor is an OOM kill the trees call where the physical estimate, trusted, puts the limit
    // more than five minutes off (`TREES_OOM_HORIZON`). The trees learnt from containers whose
    // working set is nearly all unreclaimable, where one at 95 % of its limit dies within
    // minutes; where active page cache (in the working set, and reclaimed before any kill)
    // holds it there, the kill is a quarter of an hour or more away, and the time to the limit
    // says so. A leak that slows near its limit (reclaim, swap, a GC working harder) is as far
    // off as its time says: judged by the trees from five to ten minutes out, such leaks were
    // warned more than ten minutes ahead (an "early" alarm: a false one, the crash missed).
    let (ttl_mem, step_reaches_limit) = step_clock_applied(f, ttl_mem, gap);
    // Where the working set gives no time, a container swapping at its limit is killed once
    // its swap is full and its page cache gone (`Features::swap_fill`): a physical time the
    // trees never saw (they are asked at the working set's), which stands beside theirs like
    // the trend's.
    let ttl_mem = ttl_mem.or(f.swap_fill);
    // Nor any OOM kill of a container that survived one (`Features::survivor`).
    if f.survivor || ttl_mem.is_some_and(|t| t - gap > TREES_OOM_HORIZON) {
        dropped += std::mem::take(&mut p[class_index(Cause::OomKill)]);
    }
    // Nor is an eviction of a pod the kubelet does not evict (`features::critical_pod`) or
    // evicts after another (`Features::outranked`), or of one that holds still while the
    // node's memory runs out (`features::BYSTANDER_SHARE`).
    let spared = f.critical || f.outranked;
    let bystander = f
        .shortage_share
        .is_some_and(|share| share < features::BYSTANDER_SHARE);
    if spared || bystander {
        dropped += std::mem::take(&mut p[class_index(Cause::Evicted)]);
    }
    let learned = (1.0 - p[0] as f64 - dropped as f64).clamp(0.0, 1.0);
    let mut cause_i = 1;
    for c in 2..p.len() {
        if p[c] > p[cause_i] {
            cause_i = c;
        }
    }
    let mut risk = learned;
    let mut resource = (learned - p[class_index(Cause::RestartLoop)] as f64).max(0.0);
    let mut besides_starvation = (learned - p[starve_i] as f64).max(0.0);
    let mut cause = Cause::ALL[cause_i - 1];
    let scale = model.risk_params().ttl_scale_s;
    // Physical floors: memory limit → OOM kill, pids.max → fork failures, throttling climbing
    // to starvation → liveness-probe kills. Node pressure with the node's memory known is left
    // to the trees: the kubelet evicts one pod at a time, so a floor for every BestEffort pod
    // on the node would be a flood of false alarms. Where the node is unknown, memory stalls
    // inside a container without a limit stand in for it: 0.5 at 10 % stalled, 0.8 at 20 %,
    // 0.9 at 30 %, twice as soon for a pod that grows into the shortage (page-cache refaults
    // on a busy node stay at a few percent).
    // At a sparse scrape the next chance to warn is a whole interval away: judge each time to
    // crash as it will be then, so a 60 s scrape warns one sample earlier, not one too late.
    // There a leak that grows in bursts is one burst from the kill once a burst it made
    // would cover what is left (`step_reaches_limit`), whatever its mean rate says.
    // The risk scale already holds for the intervals it was set on; only the excess counts.
    let ttl = |t: Option<f64>| t.map_or(0.0, |t| ttl_risk((t - gap).max(0.0), scale));
    let half = if f.grows_on_unknown_node {
        NODE_PSI_HALF_GROWING
    } else {
        NODE_PSI_HALF
    };
    let node_psi = f.node_psi.map_or(0.0, |p| half_at(p, half));
    let squeeze = f
        .cache_squeeze
        .filter(|_| f.grows_on_unknown_node)
        .map_or(0.0, |q| half_at(q, SQUEEZE_HALF));
    let evicted = if spared { 0.0 } else { node_psi.max(squeeze) };
    // A burst into a container that may still swap lands in swap, not in a kill.
    let step = if step_reaches_limit && f.swap_floor.is_none() {
        STEP_RISK
    } else {
        0.0
    };
    for (r, c) in [
        (
            if f.survivor {
                0.0
            } else {
                ttl(ttl_mem).max(step)
            },
            Cause::OomKill,
        ),
        (ttl(f.ttl_pids), Cause::PidExhaustion),
        (
            ttl(f
                .ttl_starve
                .filter(|_| !starting && !slack && !batch && !stepped)),
            Cause::CpuStarvation,
        ),
        (evicted, Cause::Evicted),
    ] {
        resource = resource.max(r);
        besides_starvation = besides_starvation.max(r);
        if r > risk {
            risk = r;
            cause = c;
        }
    }
    // CrashLoopBackOff: a container that restarted twice within 10 minutes is in the kubelet's
    // backoff loop and restarts again within 5 minutes unless its cause went away. That holds
    // for OOM kills too: a limit below what the app needs at start-up kills every instance
    // within seconds, faster than any memory trend can be trusted. Such a loop is named
    // `restart_loop` (the alarm stands through the back-off, see `eval::carries_over`); the
    // kubelet's `OOMKilled` still says what kills it.
    // One OOM kill is not yet a loop: a leak starts again from zero, and the memory terms speak
    // for it (a "restart_loop" hint after every OOM kill of a leak would mislead).
    let oom = f.x[features::idx::LAST_REASON] == 1.0;
    let loop_risk = match f64::from(f.restarts_recent) {
        r if r >= 3.0 => 0.9,
        r if r >= 2.0 => 0.75,
        r if r >= 1.0 && !oom => 0.25,
        _ => 0.0,
    };
    besides_starvation = besides_starvation.max(loop_risk);
    if loop_risk > risk {
        risk = loop_risk;
        cause = if oom {
            Cause::RestartLoop
        } else {
            // The trees' favourite among the restart causes (starvation ends in probe kills).
            [
                Cause::CpuStarvation,
                Cause::PidExhaustion,
                Cause::RestartLoop,
            ]
            .into_iter()
            .max_by(|a, b| p[class_index(*a)].total_cmp(&p[class_index(*b)]))
            .unwrap_or(Cause::RestartLoop)
        };
    }
    Assessment {
        risk,
        cause: (risk >= CAUSE_FLOOR).then_some(cause),
        time_to_oom: ttl_mem,
        learned,
        resource,
        besides_starvation,
    }
}

/// The time to the OOM kill and whether the container is one burst from it
/// ([`Features::step_reaches_limit`]), with the step clock of a leak that grows in regular
/// steps ([`features::step_clock`]) applied. Such a leak is no nearer its kill than its next
/// step that does not fit: beyond the alarm's horizon, judged at the next sample, the clock's
/// time stands (and no burst is due). Within it the trend's does (the clock's jitter is as
/// large as what is left); at a rhythm slower than the horizon, where a trend through the last
/// step no longer sees it, the step that does not fit is one burst from the kill until an
/// interval after it was due. At a faster rhythm the trend sees the steps and judges them.
/// The trees keep the trend's time (`ttl_mem_s`): the clock is a physical bound, like the
/// floors beside them. `gap` is how much sooner the next sample may judge it, as for every
/// time to crash in [`assess`] (the interval beyond the calibrated one).
pub(crate) fn step_clock_applied(
    f: &Features,
    ttl_mem: Option<f64>,
    gap: f64,
) -> (Option<f64>, bool) {
    let Some(c) = f.step_clock else {
        return (ttl_mem, f.step_reaches_limit);
    };
    if c.ttl - gap > ALARM_HORIZON {
        return (ttl_mem.map(|t| t.max(c.ttl).min(features::TTL_CAP)), false);
    }
    let slow = features::STEP_CLOCK_SLACK * c.long > ALARM_HORIZON;
    let due = slow && c.next_kills && c.ttl >= -c.short;
    (ttl_mem, due || f.step_reaches_limit)
}

/// The time to the OOM kill with the cache floor ([`Features::cache_floor`]) applied: the
/// trend times the working set, active page cache included, to the limit, and the kill waits
/// until unreclaimable memory has crowded out the cache the kernel can take. The trees learnt
/// from simulated containers whose working set is nearly all unreclaimable, where the two
/// times agree, so `assess` reads their verdict at this time too; they keep the trend's time
/// (`ttl_mem_s`) in training, where a floor taught them that a large page cache means a late
/// kill and cost tmpfs fills (whose cache is never reclaimed) their warnings
/// (docs/predictor.md).
///
/// The swap floor ([`Features::swap_floor`]) likewise: where the container may still swap, the
/// kernel moves anonymous memory out at the limit instead of killing.
fn cache_floor_applied(f: &Features) -> Option<f64> {
    f.ttl_mem.map(|t| {
        [f.cache_floor, f.swap_floor]
            .into_iter()
            .flatten()
            .fold(t, f64::max)
    })
}

/// Alarm state of one container.
#[derive(Debug, Clone, Default)]
struct Alarm {
    /// Set while an episode is open: when it opened.
    opened_at: Option<f64>,
    /// Cause at opening.
    cause: Option<Cause>,
    /// Since when risk has been below the clear level.
    below_since: Option<f64>,
    /// The last sample's risk reached the threshold only through the trees' starvation
    /// probability (see [`CONFIRM_MAX_GAP`]).
    starve_pending: bool,
}

/// The sample with the memory, CPU and task limits, the QoS class and the pod priority of
/// earlier samples where it lacks them (`None` when it has them or none were ever reported),
/// and `stated` updated. A limit cannot be removed from a running container (a pod spec change
/// recreates it), so a sample of a limited container without one is a gap in that series, not
/// an unlimited container: taken at its word it made a Burstable pod an eviction candidate for
/// one sample. The QoS class, the priority and the memory request are the pod's for its whole
/// life (a resize never changes the class); a trace or a collector may state them once, in a
/// container's first sample, and a Guaranteed pod read as unknown is one the kubelet might
/// evict, a request read as unknown one whose place in the eviction order is lost.
fn fill_limits(stated: &mut Stated, s: &Sample) -> Option<Sample> {
    let now = Stated {
        memory: s.memory_limit_bytes.or(stated.memory),
        cpu: s.cpu_limit_cores.or(stated.cpu),
        pids: s.pids_limit.or(stated.pids),
        qos: s.qos.or(stated.qos),
        priority: s.pod_priority.or(stated.priority),
        request: s.memory_request_bytes.or(stated.request),
    };
    *stated = now;
    let given = Stated {
        memory: s.memory_limit_bytes,
        cpu: s.cpu_limit_cores,
        pids: s.pids_limit,
        qos: s.qos,
        priority: s.pod_priority,
        request: s.memory_request_bytes,
    };
    (now != given).then(|| Sample {
        memory_limit_bytes: now.memory,
        cpu_limit_cores: now.cpu,
        pids_limit: now.pids,
        qos: now.qos,
        pod_priority: now.priority,
        memory_request_bytes: now.request,
        ..s.clone()
    })
}

/// What the samples of a container last stated of its limits and its pod (see
/// [`fill_limits`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Stated {
    memory: Option<u64>,
    cpu: Option<f64>,
    pids: Option<u64>,
    qos: Option<Qos>,
    priority: Option<i32>,
    request: Option<u64>,
}

/// Everything kept per container.
#[derive(Debug, Clone, Default)]
struct State {
    hist: History,
    alarm: Alarm,
    last_oom_kills: Option<u64>,
    last_restarts: Option<u64>,
    /// Limits, QoS class, pod priority and memory request last reported (see [`fill_limits`]).
    stated: Stated,
    last_crash: Option<(f64, Cause)>,
    /// Highest resource risk of the running instance (reset at each crash).
    peak_risk: f64,
    /// When the container last restarted without anything in its samples to explain it.
    unexplained_restart: Option<f64>,
    /// Fewest and latest task counts of the running instance.
    pids_span: Option<(u64, u64)>,
    /// An OOM kill seen in the last sample, without a restart yet: a crash or a survived one.
    kill_unconfirmed: bool,
    /// When the container last survived an OOM kill: for [`features::OOM_KILLS_WINDOW`] after
    /// it, that kill counts as none, and for the rest of its instance no OOM kill is
    /// foreseen ([`Features::survivor`]).
    survived_kill: Option<f64>,
    /// Its pod is a CronJob's run ([`features::cronjob_pod`], parsed once).
    cronjob: bool,
    /// Most swap the running instance has used.
    swap_peak: u64,
    /// Swap the last instance killed by the OOM killer had used when it died, where the
    /// samples state no swap limit: see [`SWAP_CEILING_MIN`].
    swap_ceiling: Option<u64>,
}

impl State {
    /// Whether the instance that just died showed a resource running out: a resource risk
    /// that rose to `EXPLAINED_RISK`, or a task count that kept multiplying.
    fn death_explained(&self) -> bool {
        self.peak_risk >= EXPLAINED_RISK
            || self
                .pids_span
                .is_some_and(|(lo, last)| pids_multiplied(lo, last))
    }
}

/// The task limit a count an instance died at stands for: such limits are set in powers of
/// two (the kubelet's podPidsLimit 1024 or 4096, CRI-O's default 1024), and the last sample
/// before the death may come a little short of one. `None` for a count that is no such limit:
/// threads piling up behind a deadlock until the liveness probe kills the container die at
/// whatever count they reached.
fn pids_limit_near(count: u64) -> Option<u64> {
    count.checked_next_power_of_two().filter(|l| {
        *l >= PIDS_GROWTH_MIN && (*l - count) as f64 <= PIDS_LIMIT_SHORTFALL * *l as f64
    })
}

/// Most a count an instance died at may fall short of the limit it stands for, as a share of
/// that limit ([`pids_limit_near`]).
const PIDS_LIMIT_SHORTFALL: f64 = 0.05;

/// Whether an instance's task count, from its fewest `lo` to its latest `last`, kept
/// multiplying ([`PIDS_GROWTH_FACTOR`]): a thread or process leak.
fn pids_multiplied(lo: u64, last: u64) -> bool {
    last >= lo.saturating_mul(PIDS_GROWTH_FACTOR) && last >= lo + PIDS_GROWTH_MIN
}

/// Holds per-container histories and alarm state.
pub struct Predictor {
    model: Arc<Model>,
    threshold: f64,
    states: HashMap<String, State>,
    /// Containers of each pod (`namespace/pod`), in the order first seen: whose tasks share a
    /// pod-level task limit ([`Predictor::pod_tasks`]).
    pods: HashMap<String, Vec<String>>,
    /// Guaranteed containers whose growth takes a share of the node's falling available memory
    /// ([`features::Features::shortage_share`]): when, and that share.
    guaranteed_growth: HashMap<String, (f64, f64)>,
    /// Each container's place in the kubelet's eviction order, where the kubelet gave its
    /// memory request ([`Predictor::eviction_first`]).
    standings: HashMap<String, Standing>,
    /// Containers without a memory limit growing on a node whose memory the samples do not
    /// give ([`features::Features::grows_on_unknown_node`]): when last seen growing
    /// ([`Predictor::grower_elsewhere`]) and its growth, bytes per second
    /// ([`features::Features::ws_rise_5m`]). Kept for [`SIBLING_FRESH_S`], vanished or not.
    unknown_node_growers: HashMap<String, (f64, f64)>,
}

impl Predictor {
    /// A predictor using `model`; `threshold` overrides the model's alarm threshold.
    pub fn new(model: Arc<Model>, threshold: Option<f64>) -> Self {
        let threshold = threshold
            .filter(|t| t.is_finite())
            .unwrap_or_else(|| model.threshold())
            .clamp(0.0, 1.0);
        Predictor {
            model,
            threshold,
            states: HashMap::new(),
            pods: HashMap::new(),
            guaranteed_growth: HashMap::new(),
            standings: HashMap::new(),
            unknown_node_growers: HashMap::new(),
        }
    }

    /// The alarm threshold in use.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The model in use.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// Number of containers tracked.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// True when no container is tracked.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Feed one sample; returns the prediction and any alarm transitions it caused.
    pub fn observe(&mut self, sample: &Sample) -> (Prediction, Vec<Transition>) {
        let with_pod = self.pod_tasks(sample).map(|n| Sample {
            pod_pids_current: Some(n),
            ..sample.clone()
        });
        let sample = with_pod.as_ref().unwrap_or(sample);
        let st = match self.states.get_mut(sample.id.as_str()) {
            Some(st) => st,
            None => {
                if let Some((pod, _)) = sample.id.rsplit_once('/') {
                    let ids = self.pods.entry(pod.to_string()).or_default();
                    ids.push(sample.id.clone());
                }
                self.states
                    .entry(sample.id.clone())
                    .or_insert_with(|| State {
                        cronjob: features::cronjob_pod(&sample.id),
                        ..State::default()
                    })
            }
        };
        let filled = fill_limits(&mut st.stated, sample);
        let sample = filled.as_ref().unwrap_or(sample);
        let mut transitions = Vec::new();

        let crashed = detect_crash(st, sample);
        if let Some(cause) = crashed {
            st.last_crash = Some((sample.ts, cause));
            // An app that exits on its own after a quiet run (a bad config, a failing
            // dependency, a panic) mostly does the same again after the restart: that is how
            // CrashLoopBackOff starts. A restart after a resource ran out resets the resource
            // (fresh pids, fresh heap), so it is left to the memory/pids/cpu terms.
            if cause == Cause::RestartLoop && !st.death_explained() {
                st.unexplained_restart = Some(sample.ts);
            }
            // A count that kept multiplying until the instance died (not of an OOM kill)
            // stopped at a task limit the samples do not state: the next instance dies there.
            let leaked = |&(lo, last): &(u64, u64)| {
                cause != Cause::OomKill && st.stated.pids.is_none() && pids_multiplied(lo, last)
            };
            if let Some(count) = st
                .pids_span
                .filter(leaked)
                .and_then(|(_, last)| pids_limit_near(last))
            {
                st.hist.set_pids_ceiling(count);
            }
            st.peak_risk = 0.0;
            st.pids_span = None;
        }
        // A cgroup caught before its first process starts reads 0 tasks: no baseline.
        if let Some(p) = sample.pids_current.filter(|p| *p > 0) {
            st.pids_span = Some(st.pids_span.map_or((p, p), |(lo, _)| (lo.min(p), p)));
        }
        st.last_oom_kills = sample.oom_kills_total.or(st.last_oom_kills);
        st.last_restarts = sample.restarts_total.or(st.last_restarts);

        let seen_before = !st.hist.is_empty();
        st.hist.push(sample);
        // An OOM kill that a container survives is no crash: on cgroup v1, or where the kubelet
        // asks for single-process OOM kills, the kernel kills one process (a pre-fork server's
        // worker, which its master respawns) and the container goes on. A killed container
        // comes back as a new cgroup (`History::push` sees the restart) in the next sample;
        // a survivor's next sample is the same instance. Judged one sample after the kill, so
        // the kill opens no alarm by itself until then.
        let restarted = seen_before && st.hist.instance_start() == sample.ts;
        if std::mem::take(&mut st.kill_unconfirmed) && !restarted {
            st.survived_kill = st.last_crash.map(|(t, _)| t);
        }
        if crashed == Some(Cause::OomKill) && !restarted {
            st.kill_unconfirmed = true;
        }
        if restarted {
            let killed = st.last_crash.is_some_and(|(t, c)| {
                c == Cause::OomKill && (0.0..UNEXPLAINED_RESTART_SECONDS).contains(&(sample.ts - t))
            });
            if killed && st.swap_peak >= SWAP_CEILING_MIN {
                st.swap_ceiling = Some(st.swap_peak);
            }
            st.swap_peak = 0;
        }
        st.swap_peak = st.swap_peak.max(sample.memory_swap_bytes.unwrap_or(0));
        let with_ceiling;
        let sample = match st.swap_ceiling {
            Some(c) if sample.memory_swap_limit_bytes.is_none() => {
                with_ceiling = Sample {
                    memory_swap_limit_bytes: Some(c),
                    ..sample.clone()
                };
                &with_ceiling
            }
            _ => sample,
        };
        let mut f = features::extract(&st.hist, sample);
        f.cronjob = st.cronjob;
        // The kernel's next victim at the limit is again its biggest process, a worker.
        f.survivor = st
            .survived_kill
            .is_some_and(|t| t >= st.hist.instance_start());
        f.alarmed = st.alarm.opened_at.is_some();
        f.critical = features::critical_pod(&sample.id, sample.pod_priority);
        // A container holding still while the node runs short is a bystander
        // (`features::BYSTANDER_SHARE`) unless the growth is a Guaranteed pod's: the kubelet
        // does not evict that one, so an evictable pod goes in its place, whoever grew.
        if sample.qos == Some(Qos::Guaranteed) {
            match f.shortage_share {
                Some(share) => {
                    self.guaranteed_growth
                        .insert(sample.id.clone(), (sample.ts, share));
                }
                None => {
                    self.guaranteed_growth.remove(&sample.id);
                }
            }
        } else if f
            .shortage_share
            .is_some_and(|share| share < features::BYSTANDER_SHARE)
            && self.guaranteed_growth.iter().any(|(id, (t, share))| {
                *id != sample.id
                    && *t >= sample.ts - SIBLING_FRESH_S
                    && *share >= features::BYSTANDER_SHARE
            })
        {
            f.shortage_share = None;
        }
        // Where the kubelet gave the memory requests, it says who goes first: the pod that
        // heads its order is evicted whoever grew, and any other is not (yet).
        match (sample.memory_request_bytes, sample.memory_working_set_bytes) {
            (Some(request), Some(ws)) => {
                let standing = Standing {
                    ts: sample.ts,
                    ws,
                    request,
                    priority: sample.pod_priority.unwrap_or(0),
                    evictable: sample.qos != Some(Qos::Guaranteed) && !f.critical,
                };
                // Updated in place: the kubelet gives every container's request, so this runs
                // for every sample on a node (no new key, no clone of the id, each time).
                match self.standings.get_mut(&sample.id) {
                    Some(known) => *known = standing,
                    None => {
                        self.standings.insert(sample.id.clone(), standing);
                    }
                }
                // The order is walked (every pod on the node) only while the node runs short.
                let short =
                    f.ttl_node.is_some() || f.shortage_share.is_some() || f.node_psi.is_some();
                if short {
                    match Self::eviction_first(&self.standings, &self.pods, &sample.id) {
                        Some(true) => f.shortage_share = None,
                        Some(false) => f.outranked = true,
                        None => {}
                    }
                }
            }
            // Not hashed where no container has a standing (no kubelet, a trace).
            _ if self.standings.is_empty() => {}
            _ => {
                self.standings.remove(&sample.id);
            }
        }
        // Without the node's memory and the requests, a pod without a limit that grows is the
        // one the node runs short for: its usage above its request grows, the kubelet evicts
        // it first, and the kernel's OOM killer picks the largest task. A container of another
        // pod that holds still beside it (rises by less than `features::BYSTANDER_SHARE` of
        // the grower's rise: a small container's drift can be a large share of itself) shares
        // its stalls, and is not the next to go. Nor just after the grower vanished (killed,
        // evicted): its memory is free again, and the stalls of the last 10 s (PSI avg10) are
        // the ones that came before its end; so a grower is kept for its freshness, not for
        // as long as it lives.
        match f.ws_rise_5m {
            Some(rise) if sample.memory_limit_bytes.is_none() && f.grows_on_unknown_node => {
                self.unknown_node_growers
                    .insert(sample.id.clone(), (sample.ts, rise));
            }
            _ if self.unknown_node_growers.is_empty() => {}
            own => {
                self.unknown_node_growers.remove(&sample.id);
                self.unknown_node_growers
                    .retain(|_, (t, _)| *t >= sample.ts - SIBLING_FRESH_S);
                if f.node_psi.is_some()
                    && sample.memory_request_bytes.is_none()
                    && Self::grower_elsewhere(
                        &self.unknown_node_growers,
                        &sample.id,
                        own.unwrap_or(0.0).max(0.0),
                    )
                {
                    f.outranked = true;
                }
            }
        }
        // Then its kill and the OOM events around it say nothing of a crash to come: the
        // trees learnt them from kills that ended a container.
        if st
            .survived_kill
            .is_some_and(|t| sample.ts - t < features::OOM_KILLS_WINDOW && sample.ts >= t)
        {
            f.x[features::idx::OOM_KILLS_10M] = 0.0;
            f.x[features::idx::OOM_EVENTS_5M] = 0.0;
        }
        let limit = sample.cpu_limit_cores.filter(|l| *l > 0.0);
        let mut a = assess(&self.model, &f, || {
            features::throttle_stepped(&st.hist, limit)
        });
        st.peak_risk = st.peak_risk.max(a.resource);
        if let Some(t) = st.unexplained_restart {
            if sample.ts - t >= UNEXPLAINED_RESTART_SECONDS || sample.ts < t {
                st.unexplained_restart = None;
            } else {
                a.besides_starvation = a.besides_starvation.max(UNEXPLAINED_RESTART_RISK);
                if a.risk < UNEXPLAINED_RESTART_RISK {
                    a.risk = UNEXPLAINED_RESTART_RISK;
                    a.cause = Some(Cause::RestartLoop);
                }
            }
        }

        let rp = self.model.risk_params();
        let alarm = &mut st.alarm;
        if let Some(cause) = crashed {
            transitions.push(Transition::Crashed {
                cause,
                alarmed_at: alarm.opened_at,
            });
            // The episode ends with the crash, unless the container is still at risk (a restart
            // loop, starvation that persists): then the warning simply stays up, so the next
            // crash is not reported as a new surprise.
            if a.risk < self.threshold {
                *alarm = Alarm::default();
            } else if alarm.opened_at.is_none() && !st.kill_unconfirmed {
                alarm.opened_at = Some(sample.ts);
                alarm.cause = a.cause;
                transitions.push(Transition::Alarmed);
            }
        } else if alarm.opened_at.is_none() {
            // The trees' starvation verdict alone, on a container that has not restarted: at a
            // dense scrape one sample of it can be a burst that the next one does not repeat,
            // so it opens an alarm only when the next sample says the same.
            let lone_starve = a.risk >= self.threshold
                && a.besides_starvation < self.threshold
                && f.x[features::idx::RESTARTS_10M] == 0.0
                && f.sample_gap < CONFIRM_MAX_GAP;
            let wait = lone_starve && !alarm.starve_pending;
            alarm.starve_pending = lone_starve;
            if a.risk >= self.threshold && !wait {
                alarm.opened_at = Some(sample.ts);
                alarm.cause = a.cause;
                alarm.below_since = None;
                transitions.push(Transition::Alarmed);
            }
        } else if a.risk < self.threshold - rp.clear_margin {
            let since = *alarm.below_since.get_or_insert(sample.ts);
            if sample.ts - since >= rp.clear_after_s {
                *alarm = Alarm::default();
                transitions.push(Transition::Cleared);
            }
        } else {
            alarm.below_since = None;
        }

        let open = st.alarm.opened_at.is_some();
        let prediction = Prediction {
            id: sample.id.clone(),
            ts: sample.ts,
            crash_risk: a.risk,
            crash_predicted: open,
            // While alarmed, name the cause the alarm was raised for (stable for logs/Events).
            cause: if open {
                st.alarm.cause.or(a.cause)
            } else {
                a.cause
            },
            time_to_oom_seconds: a.time_to_oom,
        };
        (prediction, transitions)
    }

    /// Whether one of `growers` (containers without a memory limit seen growing on a node of
    /// unknown memory lately: when, and how fast) is of a pod other than `id`'s and grows more
    /// than `own` (bytes per second) by a factor of 1 / [`features::BYSTANDER_SHARE`].
    fn grower_elsewhere(growers: &HashMap<String, (f64, f64)>, id: &str, own: f64) -> bool {
        let pod = id.rsplit_once('/').map_or(id, |(pod, _)| pod);
        growers.iter().any(|(other, (_, rise))| {
            own < features::BYSTANDER_SHARE * rise
                && other.rsplit_once('/').map_or(other.as_str(), |(p, _)| p) != pod
        })
    }

    /// Drop the state of containers for which `keep` returns false (vanished containers).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.states.retain(|id, _| keep(id));
        self.guaranteed_growth.retain(|id, _| keep(id));
        self.standings.retain(|id, _| keep(id));
        self.pods.retain(|_, ids| {
            ids.retain(|id| keep(id));
            !ids.is_empty()
        });
    }

    /// Whether the pod of container `id` heads the kubelet's eviction order among the pods
    /// whose requests are known (seen within [`SIBLING_FRESH_S`] of it): pods whose usage
    /// exceeds their requests first, then the lower priority, then the larger excess
    /// (`rankMemoryPressure` in the kubelet's eviction manager). Sums run over each pod's
    /// containers, as the kubelet's do. `None` where its own pod cannot be evicted or its
    /// standing is unknown.
    fn eviction_first(
        standings: &HashMap<String, Standing>,
        pods: &HashMap<String, Vec<String>>,
        id: &str,
    ) -> Option<bool> {
        let now = standings.get(id)?.ts;
        // (above its requests, priority, usage − requests) of a pod, `None` if the kubelet
        // would not evict it.
        let rank = |ids: &[String]| {
            let mut sums: Option<(f64, f64, i32)> = None;
            for s in ids
                .iter()
                .filter_map(|i| standings.get(i))
                .filter(|s| s.ts >= now - SIBLING_FRESH_S)
            {
                if !s.evictable {
                    return None;
                }
                let (ws, req, prio) = sums.get_or_insert((0.0, 0.0, s.priority));
                *ws += s.ws as f64;
                *req += s.request as f64;
                *prio = (*prio).min(s.priority);
            }
            sums.map(|(ws, req, prio)| (ws > req, prio, ws - req))
        };
        let (own_pod, _) = id.rsplit_once('/')?;
        let own = rank(pods.get(own_pod)?)?;
        let ahead = |o: &(bool, i32, f64)| {
            (o.0 && !own.0) || (o.0 == own.0 && (o.1 < own.1 || (o.1 == own.1 && o.2 > own.2)))
        };
        Some(
            !pods
                .iter()
                .filter(|(pod, _)| pod.as_str() != own_pod)
                .filter_map(|(_, ids)| rank(ids))
                .any(|o| ahead(&o)),
        )
    }

    /// Tasks of the sample's whole pod, where its samples state no task limit and the pod's
    /// other containers have been seen within [`SIBLING_FRESH_S`]: such a limit, where there
    /// is one, is the pod cgroup's (the kubelet's podPidsLimit; a container's own pids.max is
    /// set by no pod spec), and every task of the pod counts against it. `None` where the
    /// sample states a limit or the pod's count, has no task count, or has no such siblings
    /// (asked only then: a walk of the pod's containers per sample).
    fn pod_tasks(&self, s: &Sample) -> Option<u64> {
        if s.pids_limit.is_some() || s.pids_limit_unset || s.pod_pids_current.is_some() {
            return None;
        }
        let own = s.pids_current?;
        // A limit earlier samples stated, missing from this one, is a gap (`fill_limits`).
        if self
            .states
            .get(&s.id)
            .is_some_and(|st| st.stated.pids.is_some())
        {
            return None;
        }
        let (pod, _) = s.id.rsplit_once('/')?;
        let others: u64 = self
            .pods
            .get(pod)?
            .iter()
            .filter(|id| **id != s.id)
            .filter_map(|id| self.states.get(id)?.hist.back(0))
            .filter(|b| b.t_last >= s.ts - SIBLING_FRESH_S && b.last.pids.is_finite())
            .map(|b| b.last.pids as u64)
            .sum();
        (others > 0).then_some(own + others)
    }
}

/// A container's place in the kubelet's eviction order, as of its last sample.
#[derive(Debug, Clone, Copy)]
struct Standing {
    ts: f64,
    /// Working set, bytes (what the kubelet counts as a pod's memory usage).
    ws: u64,
    /// Memory request, bytes (0 for none).
    request: u64,
    /// Pod priority (0 unless the kubelet gave one).
    priority: i32,
    /// Not Guaranteed and not critical: a pod the kubelet evicts under memory pressure.
    evictable: bool,
}

/// How recent a sample of a pod's other container must be for its tasks to count toward the
/// pod's ([`Predictor::pod_tasks`]): two of the sparsest scrapes; older, it has gone.
pub const SIBLING_FRESH_S: f64 = 120.0;

/// A crash visible in this sample compared with the previous one of the same container.
fn detect_crash(st: &State, s: &Sample) -> Option<Cause> {
    let recent_oom = st
        .last_crash
        .is_some_and(|(t, lc)| lc == Cause::OomKill && s.ts - t < SAME_CRASH_SECONDS);
    if let (Some(prev), Some(cur)) = (st.last_oom_kills, s.oom_kills_total) {
        // A smaller value is a new cgroup (restarted container), not a crash by itself.
        if cur > prev && !recent_oom {
            return Some(Cause::OomKill);
        }
    }
    if let (Some(prev), Some(cur)) = (st.last_restarts, s.restarts_total) {
        if cur > prev {
            let cause = match s.last_termination_reason.as_deref() {
                Some("OOMKilled") => Cause::OomKill,
                Some("Evicted") => Cause::Evicted,
                // A restart for another reason: the cause we were warning about, if any
                // (starvation and fork failures end in probe kills / errors), else a loop.
                _ => match st.alarm.cause {
                    Some(
                        c @ (Cause::CpuStarvation | Cause::PidExhaustion | Cause::RestartLoop),
                    ) => c,
                    _ => Cause::RestartLoop,
                },
            };
            // The kubelet's OOMKilled report of a kill the kernel counter already showed.
            if !(cause == Cause::OomKill && recent_oom) {
                return Some(cause);
            }
        }
    }
    None
}

/// Score a single sample with no history (`POST /predict`).
pub fn predict_once(model: &Model, sample: &Sample) -> Prediction {
    let f = features::extract_once(sample);
    let a = assess(model, &f, || false);
    Prediction {
        id: sample.id.clone(),
        ts: sample.ts,
        crash_risk: a.risk,
        crash_predicted: a.risk >= model.threshold(),
        cause: a.cause,
        time_to_oom_seconds: a.time_to_oom,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_without_the_limits_of_a_limited_container_keeps_them() {
        let mut stated = Stated::default();
        let mut s = Sample {
            ts: 0.0,
            id: "a/b/c".into(),
            memory_limit_bytes: Some(512),
            cpu_limit_cores: Some(0.5),
            pids_limit: Some(1024),
            ..Default::default()
        };
        assert!(fill_limits(&mut stated, &s).is_none());
        (s.memory_limit_bytes, s.cpu_limit_cores, s.pids_limit) = (None, None, None);
        let filled = fill_limits(&mut stated, &s);
        assert_eq!(
            filled.map(|f| (f.memory_limit_bytes, f.cpu_limit_cores, f.pids_limit)),
            Some((Some(512), Some(0.5), Some(1024)))
        );
        // A container without limits never reported one: nothing to fill.
        let mut none = Stated::default();
        assert!(fill_limits(&mut none, &s).is_none());
        assert_eq!(none, Stated::default());
    }

    #[test]
    fn the_swap_an_oom_killed_instance_used_is_the_next_ones_swap_limit() {
        let mut p = Predictor::new(Model::embedded(), None);
        let id = "a/b-1/c";
        let at = |t: f64, swap: u64, restarts: u64| Sample {
            ts: t,
            id: id.into(),
            memory_limit_bytes: Some(256 << 20),
            memory_working_set_bytes: Some(250 << 20),
            memory_swap_bytes: Some(swap),
            cpu_usage_seconds_total: Some(t - 300.0 * restarts as f64),
            restarts_total: Some(restarts),
            last_termination_reason: (restarts > 0).then(|| "OOMKilled".to_string()),
            ..Default::default()
        };
        // The first instance swaps up to 100 MiB at its limit, then is OOM-killed.
        for i in 0..=30 {
            p.observe(&at(f64::from(i) * 10.0, (i as u64 * 100 / 30) << 20, 0));
        }
        assert_eq!(p.states[id].swap_ceiling, None);
        p.observe(&at(310.0, 0, 1));
        assert_eq!(p.states[id].swap_ceiling, Some(100 << 20));
        // A kill after only a few MiB of swap says nothing of the limit.
        let mut q = Predictor::new(Model::embedded(), None);
        for i in 0..=30 {
            q.observe(&at(f64::from(i) * 10.0, 2 << 20, 0));
        }
        q.observe(&at(310.0, 0, 1));
        assert_eq!(q.states[id].swap_ceiling, None);
    }

    #[test]
    fn a_count_a_thread_leak_died_at_stands_for_a_power_of_two_limit() {
        assert_eq!(pids_limit_near(256), Some(256));
        assert_eq!(pids_limit_near(245), Some(256));
        assert_eq!(pids_limit_near(1000), Some(1024));
        // Threads piled up behind a deadlock: no limit someone set.
        assert_eq!(pids_limit_near(267), None);
        assert_eq!(pids_limit_near(190), None);
        // Too few tasks to tell a limit from an app's own pool size.
        assert_eq!(pids_limit_near(60), None);
    }

    /// Alarm times of a container whose samples state no pids.max and whose task count climbs
    /// from 30 by `per_s` tasks a second until `died_at`, twice: the first instance dies there
    /// (the kubelet reports `Error`), and the second climbs the same way.
    fn pids_leak_twice(died_at: u64, per_s: f64) -> (Vec<f64>, Option<u64>, f64) {
        let mut p = Predictor::new(Model::embedded(), None);
        let id = "a/b-1/c";
        let life = (died_at - 30) as f64 / per_s;
        let at = |t: f64, start: f64, restarts: u64| Sample {
            ts: t,
            id: id.into(),
            memory_working_set_bytes: Some(100 << 20),
            pids_current: Some(30 + ((t - start) * per_s) as u64),
            cpu_usage_seconds_total: Some(t - start),
            restarts_total: Some(restarts),
            last_termination_reason: (restarts > 0).then(|| "Error".to_string()),
            ..Default::default()
        };
        let mut alarms = Vec::new();
        for (instance, start) in [0.0, life + 20.0].into_iter().enumerate() {
            let mut t = start;
            while t <= start + life {
                let (_, tr) = p.observe(&at(t, start, instance as u64));
                if tr.contains(&Transition::Alarmed) {
                    alarms.push(t);
                }
                t += 10.0;
            }
        }
        let ceiling = p.states[id].hist.pids_ceiling();
        (alarms, ceiling, 2.0 * life + 20.0)
    }

    #[test]
    fn the_count_an_instance_died_at_times_the_next_ones_leak() {
        // Dead at 256 tasks of an unstated limit (the assumed one is 512): the next instance
        // is warned before its count gets there, as one with pids.max stated would be.
        let (alarms, ceiling, second_death) = pids_leak_twice(256, 0.16);
        assert_eq!(ceiling, Some(256));
        assert!(
            alarms.len() == 1 && (second_death - 600.0..=second_death - 30.0).contains(&alarms[0]),
            "{alarms:?} vs {second_death}"
        );
        // Dead at 267: threads piling up until something else killed it. No limit to time to.
        let (alarms, ceiling, _) = pids_leak_twice(267, 0.16);
        assert_eq!(ceiling, None);
        assert!(alarms.is_empty(), "{alarms:?}");
    }

    #[test]
    fn the_qos_class_priority_and_request_stated_once_hold_for_the_pods_life() {
        let mut stated = Stated::default();
        let first = Sample {
            ts: 0.0,
            id: "a/b/c".into(),
            qos: Some(Qos::Guaranteed),
            pod_priority: Some(1000),
            memory_request_bytes: Some(512 << 20),
            ..Default::default()
        };
        assert!(fill_limits(&mut stated, &first).is_none());
        let later = Sample {
            ts: 10.0,
            id: "a/b/c".into(),
            ..Default::default()
        };
        let pod = |f: Sample| (f.qos, f.pod_priority, f.memory_request_bytes);
        let filled = fill_limits(&mut stated, &later).map(pod);
        assert_eq!(
            filled,
            Some((Some(Qos::Guaranteed), Some(1000), Some(512 << 20)))
        );
        // A class a sample states wins over the one carried.
        let restated = Sample {
            qos: Some(Qos::Burstable),
            ..later
        };
        let filled = fill_limits(&mut stated, &restated).map(pod);
        assert_eq!(
            filled,
            Some((Some(Qos::Burstable), Some(1000), Some(512 << 20)))
        );
    }

    #[test]
    fn the_step_is_asked_only_where_starvation_still_counts() {
        let model = Model::embedded();
        // Five minutes at 5 s of a container using `use_` of its 1-core quota, throttled in
        // 10 % of its periods: the bench's steady state, whose step walk was its hot spot.
        let features = |use_: f64| {
            let mut h = crate::history::History::new();
            let mut last = None;
            for i in 0..60u64 {
                let t = i as f64 * 5.0;
                let s = Sample {
                    ts: t,
                    id: "ns/p/c".into(),
                    cpu_limit_cores: Some(1.0),
                    cpu_usage_seconds_total: Some(t * use_),
                    cpu_periods_total: Some(i * 50),
                    cpu_throttled_periods_total: Some(i * 5),
                    ..Default::default()
                };
                h.push(&s);
                last = Some(features::extract(&h, &s));
            }
            last.unwrap()
        };
        // Using 30 % of its quota it leaves slack: the answer could not change anything.
        let slack = features(0.3);
        assess(&model, &slack, || {
            panic!("the step was asked of a container with slack")
        });
        // At 99 % it has none, and where the trees see starvation the step decides it.
        let busy = features(0.99);
        let mut asked = false;
        let a = assess(&model, &busy, || {
            asked = true;
            false
        });
        let p = model.probabilities(&busy.x)[class_index(Cause::CpuStarvation)];
        assert_eq!(asked, p > 0.0 || busy.ttl_starve.is_some(), "{a:?}");
    }

    /// A predictor whose one tree calls `cause` wherever feature `name` is above `split`, and
    /// nothing else anywhere.
    fn one_split_predictor(name: &str, split: f32, cause: Cause) -> Predictor {
        split_predictor(name, split, None, Some(cause))
    }

    /// A predictor whose one tree calls `below` where feature `name` is at most `split` and
    /// `above` where it is more (`None`: no crash).
    fn split_predictor(
        name: &str,
        split: f32,
        below: Option<Cause>,
        above: Option<Cause>,
    ) -> Predictor {
        use crate::model::TreeFile;
        let feature = features::docs()
            .iter()
            .position(|d| d.name == name)
            .unwrap();
        let leaf = |class: usize| std::array::from_fn(|c| if c == class { 96.0 } else { 0.0 });
        let mut file = Model::physics_only().file().clone();
        file.threshold = 0.75;
        file.prior = vec![0.5, 0.0, 0.0, 0.0, 0.5, 0.0];
        file.trees = vec![TreeFile::stump(
            feature,
            split,
            leaf(below.map_or(0, class_index)),
            leaf(above.map_or(0, class_index)),
        )];
        Predictor::new(Arc::new(Model::from_file(file).unwrap()), None)
    }

    /// A predictor whose one tree calls CPU starvation wherever cpu.pressure is above 50 %,
    /// and nothing else anywhere.
    fn psi_starvation_predictor() -> Predictor {
        one_split_predictor("cpu_psi_some", 50.0, Cause::CpuStarvation)
    }

    /// Feed five quiet minutes at `gap` s (a service at its 1-core quota, throttled in 30 % of
    /// its periods for 150 s and in half since: no level held or come back to, no step from
    /// unthrottled, no clean climb; cpu.pressure 10 %),
    /// then one sample per `psi` value; returns each of those samples' (risk, alarm open).
    fn starvation_run(gap: f64, psi: &[f64]) -> Vec<(f64, bool)> {
        let mut p = psi_starvation_predictor();
        let quiet = (300.0 / gap) as usize;
        let mut out = Vec::new();
        for (i, v) in std::iter::repeat_n(10.0, quiet)
            .chain(psi.iter().copied())
            .enumerate()
        {
            let t = i as f64 * gap;
            let periods = (t * 10.0) as u64;
            // 10 periods a second.
            let throttled = (10.0 * (0.3 * t.min(150.0) + 0.5 * (t - 150.0).max(0.0))) as u64;
            let s = Sample {
                ts: t,
                id: "ns/p/c".into(),
                cpu_limit_cores: Some(1.0),
                cpu_usage_seconds_total: Some(t * 0.99),
                cpu_periods_total: Some(periods),
                cpu_throttled_periods_total: Some(throttled.min(periods)),
                cpu_pressure_some_avg10: Some(v),
                restarts_total: Some(0),
                ..Default::default()
            };
            let (pred, _) = p.observe(&s);
            if i >= quiet {
                out.push((pred.crash_risk, pred.crash_predicted));
            }
        }
        out
    }

    #[test]
    fn a_lone_sample_of_starvation_waits_for_the_next_one() {
        // At a 10 s scrape one sample of it is above the threshold but opens nothing ...
        let burst = starvation_run(10.0, &[80.0, 10.0, 10.0]);
        assert!(burst[0].0 >= 0.75, "{burst:?}");
        assert!(burst.iter().all(|(_, open)| !open), "{burst:?}");
        // ... two in a row open the alarm at the second.
        let held = starvation_run(10.0, &[80.0, 80.0]);
        assert_eq!(
            held.iter().map(|(_, open)| *open).collect::<Vec<_>>(),
            [false, true]
        );
        // At a 30 s scrape one sample spans half the minute: it opens at once.
        let sparse = starvation_run(30.0, &[80.0]);
        assert!(sparse[0].1, "{sparse:?}");
        // Nor does a verdict wait where the risk stands without it: the same sample 20 s from
        // its memory limit is at risk whatever the trees say.
        let p = psi_starvation_predictor();
        let mut f = features::extract_once(&Sample {
            cpu_limit_cores: Some(1.0),
            cpu_pressure_some_avg10: Some(80.0),
            ..Default::default()
        });
        let a = assess(p.model(), &f, || false);
        assert_eq!(a.cause, Some(Cause::CpuStarvation));
        assert!(a.risk >= 0.75 && a.besides_starvation < 0.1, "{a:?}");
        f.ttl_mem = Some(20.0);
        let a = assess(p.model(), &f, || false);
        assert_eq!(a.cause, Some(Cause::CpuStarvation));
        assert!(a.besides_starvation >= 0.75, "{a:?}");
    }

    #[test]
    fn the_trees_oom_verdict_waits_while_the_limit_is_more_than_the_horizon_away() {
        // Trees that call an OOM kill for any working set above 90 % of the limit.
        let p = one_split_predictor("ws_limit_ratio", 0.9, Cause::OomKill);
        let mut f = features::extract_once(&Sample {
            memory_working_set_bytes: Some(950),
            memory_limit_bytes: Some(1000),
            ..Default::default()
        });
        let at = |f: &Features| assess(p.model(), f, || false);
        // No trusted growth: the trees speak.
        assert_eq!(f.ttl_mem, None);
        let a = at(&f);
        assert!(a.risk >= 0.75, "{a:?}");
        assert_eq!(a.cause, Some(Cause::OomKill));
        // Growth trusted to reach the limit in 5 minutes: still.
        f.ttl_mem = Some(300.0);
        assert!(at(&f).risk >= 0.75, "{:?}", at(&f));
        // In 7: the time says how far off it is, and it is too far for an alarm yet (a leak
        // that slows near its limit is not warned more than ten minutes ahead).
        f.ttl_mem = Some(420.0);
        let a = at(&f);
        assert!(a.risk < 0.1, "{a:?}");
        // In 15: beyond the horizon an alarm speaks for, and page cache will give first.
        f.ttl_mem = Some(900.0);
        let a = at(&f);
        assert!(a.risk < 0.1, "{a:?}");
        // At a 2-minute scrape each time to crash is judged as it will be up to a minute
        // later, when the next sample may not yet have come: 6 minutes away is 5 then.
        f.sample_gap = 120.0;
        f.ttl_mem = Some(360.0);
        assert!(at(&f).risk >= 0.75, "{:?}", at(&f));
    }

    #[test]
    fn the_trees_read_an_oom_kill_at_the_time_the_cache_floor_gives() {
        // Trees that call an OOM kill wherever the limit is less than 5 minutes away.
        let p = split_predictor("ttl_mem_s", 300.0, Some(Cause::OomKill), None);
        let mut f = features::extract_once(&Sample {
            memory_working_set_bytes: Some(950),
            memory_limit_bytes: Some(1000),
            ..Default::default()
        });
        let at = |f: &Features| assess(p.model(), f, || false);
        f.ttl_mem = Some(200.0);
        f.x[features::idx::TTL_MEM] = 200.0;
        let a = at(&f);
        assert!(a.risk >= 0.75 && a.time_to_oom == Some(200.0), "{a:?}");
        // The working set holds active page cache, which the kernel takes before it kills:
        // the kill is 8 minutes away, and the trees are asked about that.
        f.cache_floor = Some(480.0);
        let a = at(&f);
        assert!(a.risk < 0.75 && a.time_to_oom == Some(480.0), "{a:?}");
        // A floor short of the trend's time changes nothing.
        f.cache_floor = Some(100.0);
        let a = at(&f);
        assert!(a.risk >= 0.75 && a.time_to_oom == Some(200.0), "{a:?}");
        // Swap the container may still fill comes first too, and the later floor stands.
        f.swap_floor = Some(600.0);
        let a = at(&f);
        assert!(a.risk < 0.75 && a.time_to_oom == Some(600.0), "{a:?}");
    }

    #[test]
    fn ttl_risk_is_monotone_and_high_near_the_limit() {
        let mut prev = 1.0;
        for t in [0.0, 5.0, 20.0, 60.0, 120.0, 300.0, 3600.0] {
            let r = ttl_risk(t, 120.0);
            assert!(r <= prev, "not monotone at {t}");
            prev = r;
        }
        assert!(ttl_risk(20.0, 120.0) > 0.95);
        assert_eq!(ttl_risk(120.0, 120.0), 0.5);
        assert_eq!(ttl_risk(f64::NAN, 120.0), 0.0);
    }

    #[test]
    fn memory_stalls_without_a_limit_on_an_unknown_node_mean_eviction() {
        let model = Model::embedded();
        let sample = |full: f64, limit: Option<u64>, node: Option<u64>| Sample {
            ts: 1.0,
            id: "ns/p/c".into(),
            memory_usage_bytes: Some(3 << 30),
            memory_working_set_bytes: Some(3 << 30),
            memory_limit_bytes: limit,
            memory_pressure_some_avg10: Some(full * 2.0),
            memory_pressure_full_avg10: Some(full),
            node_memory_available_bytes: node,
            node_memory_total_bytes: node.map(|_| 16 << 30),
            ..Default::default()
        };
        let thrashing = assess(
            &model,
            &features::extract_once(&sample(25.0, None, None)),
            || false,
        );
        assert!(thrashing.risk >= model.threshold(), "{thrashing:?}");
        assert_eq!(thrashing.cause, Some(Cause::Evicted));
        // A few percent (refaults on a busy node) is not the node running out.
        let busy = assess(
            &model,
            &features::extract_once(&sample(2.0, None, None)),
            || false,
        );
        assert!(busy.risk < 0.1, "{busy:?}");
        // At its limit the stalls are the container's own (the memory terms answer that), and
        // one sample of a container below it says nothing of growth (see the next test); with
        // the node's memory known, the node terms decide.
        for s in [
            sample(25.0, Some(3 << 30), None),
            sample(25.0, Some(4 << 30), None),
            sample(25.0, None, Some(8 << 30)),
        ] {
            assert_eq!(features::extract_once(&s).node_psi, None);
        }
        // MemAvailable alone does not say how much of the node is left: the stalls stand in.
        let avail_only = Sample {
            node_memory_total_bytes: None,
            ..sample(25.0, None, Some(8 << 30))
        };
        assert_eq!(features::extract_once(&avail_only).node_psi, Some(25.0));
        // The kubelet evicts neither a Guaranteed pod nor a critical one (kube-system).
        let guaranteed = Sample {
            qos: Some(Qos::Guaranteed),
            ..sample(25.0, None, None)
        };
        assert_eq!(features::extract_once(&guaranteed).node_psi, None);
        let critical = Sample {
            id: "kube-system/kube-proxy-x2x7b/kube-proxy".into(),
            ..sample(25.0, None, None)
        };
        let critical = assess(&model, &features::extract_once(&critical), || false);
        assert!(critical.risk < model.threshold(), "{critical:?}");
        assert_ne!(critical.cause, Some(Cause::Evicted));
        // Unless the kubelet gave the pod's priority, and it is not a critical one.
        let plain = Sample {
            id: "kube-system/storage-provisioner/storage-provisioner".into(),
            pod_priority: Some(0),
            ..sample(25.0, None, None)
        };
        let plain = assess(&model, &features::extract_once(&plain), || false);
        assert_eq!(plain.cause, Some(Cause::Evicted), "{plain:?}");
    }

    #[test]
    fn memory_stalls_of_a_container_growing_well_below_its_limit_mean_eviction() {
        const MIB: u64 = 1 << 20;
        // 15 min at a 10 s scrape of a container with a 4 GiB limit on a node the samples say
        // nothing of; from the 10th minute on, memory PSI climbs by 5 points a minute. The
        // first alarm and its cause.
        let run_as = |qos: Qos,
                      grow: f64,
                      usage_of_limit: f64,
                      high_events: Option<u64>,
                      max_events: u64| {
            let mut p = Predictor::new(Model::embedded(), None);
            (0..90).find_map(|i| {
                let t = i as f64 * 10.0;
                let ws = (usage_of_limit * 4096.0 - 100.0 + grow * t / 60.0) as u64 * MIB;
                let psi = ((t - 600.0).max(0.0) / 12.0).min(60.0);
                let (pred, _) = p.observe(&Sample {
                    ts: 1e9 + t,
                    id: "ns/p/c".into(),
                    memory_usage_bytes: Some(ws + 100 * MIB),
                    memory_working_set_bytes: Some(ws),
                    memory_limit_bytes: Some(4096 * MIB),
                    memory_anon_bytes: Some(ws),
                    memory_file_bytes: Some(100 * MIB),
                    memory_high_events_total: high_events.map(|h| h * i),
                    memory_max_events_total: Some(max_events * i),
                    memory_pressure_some_avg10: Some(psi),
                    memory_pressure_full_avg10: Some(psi / 10.0),
                    qos: Some(qos),
                    ..Default::default()
                });
                pred.crash_predicted.then_some((t, pred.cause))
            })
        };
        let run = |grow, usage_of_limit, high_events, max_events| {
            run_as(
                Qos::Burstable,
                grow,
                usage_of_limit,
                high_events,
                max_events,
            )
        };
        // 40 MiB a minute from half the limit: 50 minutes from it, and the node gives first.
        let (at, cause) = run(40.0, 0.5, Some(0), 0).expect("no alarm on a growing pod");
        assert!(at > 600.0, "alarm at {at} s, before any stall");
        assert_eq!(cause, Some(Cause::Evicted));
        // A flat one beside it stalls as much: a Guaranteed pod, evicted last.
        assert_eq!(run(0.0, 0.5, Some(0), 0), None);
        // memory.high throttling it, or uncounted (it would stall it short of the limit too).
        assert_eq!(run(40.0, 0.5, Some(3), 0), None);
        assert_eq!(run(40.0, 0.5, None, 0), None);
        // Its own limit reclaiming (memory.events max climbing): the stalls are its own.
        assert_eq!(run(40.0, 0.5, Some(0), 5), None);
        // A Guaranteed pod growing into the shortage is evicted after every other.
        assert_eq!(run_as(Qos::Guaranteed, 40.0, 0.5, Some(0), 0), None);
    }

    #[test]
    fn a_growing_container_without_a_limit_losing_its_page_cache_is_evicted() {
        const MIB: u64 = 1 << 20;
        // 20 min at a 15 s scrape of a container without a memory limit on a node the samples
        // say nothing of: anon as `anon(t)`, page cache as `cache(t)`. The first alarm.
        let run = |anon: &dyn Fn(f64) -> u64, cache: &dyn Fn(f64) -> u64| {
            let mut p = Predictor::new(Model::embedded(), None);
            (0..80).find_map(|i| {
                let t = i as f64 * 15.0;
                let (a, f) = (anon(t), cache(t));
                let (pred, _) = p.observe(&Sample {
                    ts: 1e9 + t,
                    id: "ns/p/c".into(),
                    memory_usage_bytes: Some(a + f),
                    memory_working_set_bytes: Some(a + f / 2),
                    memory_anon_bytes: Some(a),
                    memory_file_bytes: Some(f),
                    ..Default::default()
                });
                pred.crash_predicted.then_some((t, pred.cause))
            })
        };
        let leak = |t: f64| 1024 * MIB + (t * 1.5) as u64 * MIB;
        let flat = |_: f64| 1024 * MIB;
        // Global reclaim takes the cache from the 10th minute on: 600 MiB down to 60.
        let squeezed = |t: f64| {
            let left = (1.0 - (t - 600.0).max(0.0) / 400.0).max(0.1);
            (600.0 * left) as u64 * MIB
        };
        let kept = |_: f64| 600 * MIB;
        let (at, cause) = run(&leak, &squeezed).expect("no alarm on a squeezed, growing pod");
        assert!(at > 600.0, "alarm at {at} s, before any squeeze");
        assert_eq!(cause, Some(Cause::Evicted));
        // Growing with its cache intact: nothing says the node is short.
        assert_eq!(run(&leak, &kept), None);
        // The cache falls but the container does not grow: an app deleting its files.
        assert_eq!(run(&flat, &squeezed), None);
    }
}
