//! Risk: one feature vector made a risk, a cause and a time to OOM ([`assess`]). The model's
//! class probabilities, less the verdicts the trees are not trusted with (starvation of a
//! container that copes with its throttling, an OOM kill beyond the horizon, an eviction of a
//! pod the kubelet spares, a restart loop of a container that never restarted), under the
//! physical floor of each time to crash and the restart-loop floor. Its own part because it
//! is a function of the features alone: what [`predict_once`] asks of a lone sample and
//! [`Predictor::observe`] of a history. The constants that shape the risk are here with it.
//!
//! [`predict_once`]: super::predict_once
//! [`Predictor::observe`]: super::Predictor::observe
use crate::features::{self, Features};
use crate::model::Model;
use crate::sample::Cause;

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

/// Risk of a growing container one burst from its limit ([`Features::step_reaches_limit`]).
const STEP_RISK: f64 = 0.8;

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
pub(super) fn class_index(c: Cause) -> usize {
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
    // At a sparse scrape the next chance to warn is a whole interval away: each time to crash
    // is judged as it will be then, so a 60 s scrape warns one sample earlier, not one too
    // late. The risk scale already holds for the intervals it was set on; only the excess
    // counts.
    let gap = (f.sample_gap - CALIBRATED_GAP).clamp(0.0, MAX_GAP_CREDIT);
    let starve_i = class_index(Cause::CpuStarvation);
    let copes = Coping::judge(f, p[starve_i], restarts, gap, stepped);
    // Its starvation probability counts as "no crash".
    let mut dropped = if copes.any() {
        std::mem::take(&mut p[starve_i])
    } else {
        0.0
    };
    let (ttl_mem, step_reaches_limit) = step_clock_applied(f, ttl_mem, gap);
    // Where the working set gives no time, a container swapping at its limit is killed once
    // its swap is full and its page cache gone (`Features::swap_fill`): a physical time the
    // trees never saw (they are asked at the working set's), which stands beside theirs like
    // the trend's.
    let ttl_mem = ttl_mem.or(f.swap_fill);
    set_aside(f, &mut p, ttl_mem, gap, &mut dropped);
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
    let ttl = |t: Option<f64>| t.map_or(0.0, |t| ttl_risk((t - gap).max(0.0), scale));
    for (r, c) in physical_floors(f, ttl_mem, step_reaches_limit, &copes, ttl) {
        resource = resource.max(r);
        besides_starvation = besides_starvation.max(r);
        if r > risk {
            risk = r;
            cause = c;
        }
    }
    let (loop_risk, loop_cause) = restart_loop_floor(f, &p);
    besides_starvation = besides_starvation.max(loop_risk);
    if loop_risk > risk {
        risk = loop_risk;
        cause = loop_cause;
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

/// Why a throttled container is not starving ([`Coping::judge`]): its starvation probability
/// counts as "no crash", and its time to starve as none, where any of these holds.
struct Coping {
    /// In its start-up, not restarted lately.
    starting: bool,
    /// Throttled in nearly every period, or in most at a level it holds, and still running.
    pinned: bool,
    /// Leaves part of its quota unused.
    slack: bool,
    /// A CronJob's run.
    batch: bool,
    /// Throttled since a step, at the step's level.
    stepped: bool,
}

impl Coping {
    /// Judges `f` (restarted `restarts` times in 10 minutes, the trees' starvation probability
    /// `p_starve`), at the next sample `gap` seconds past the calibrated interval. `stepped` is
    /// asked last, and only where the answer matters.
    fn judge(
        f: &Features,
        p_starve: f32,
        restarts: f64,
        gap: f64,
        stepped: impl FnOnce() -> bool,
    ) -> Self {
        // A container's start-up is not starvation: a runtime that compiles its way up (a
        // JVM's JIT) is throttled in nearly every period for a minute or so, and its probes are
        // set (initialDelaySeconds, a startupProbe) to wait for that. CPU starvation is judged
        // once the start-up is over — unless the container restarted within 10 minutes: then
        // the load that may have killed it is still there.
        let starting = f.instance_span < START_UP_SECONDS && restarts == 0.0;
        // Nor is a CPU-bound worker pinned at its quota: throttled in nearly every period for
        // the last 5 minutes and still running, its probes are answered. Starved containers die
        // within a minute or two of that (a probe's failureThreshold × periodSeconds); what is
        // left is a load that keeps rising, which the trend term sees.
        // So is one throttled in most periods (`HELD_THROTTLE`) at a level it holds: still
        // running after five minutes of it, it gets enough in the rest. Unless the share is
        // still climbing (the last minute well above the five), it restarted lately, or an
        // alarm is open: a climb that opened one is not taken back by the level it reaches,
        // and a starving container dies within a minute or two of it.
        let thr5 = f.x[features::idx::CPU_THROTTLE_5M] as f64;
        let thr1 = f.x[features::idx::CPU_THROTTLE_1M] as f64;
        let held = !f.alarmed
            && restarts == 0.0
            && thr5 >= HELD_THROTTLE
            && thr1 - thr5 < HELD_THROTTLE_CLIMB;
        let pinned = f.instance_span >= START_UP_SECONDS && (thr5 >= PINNED_THROTTLE || held);
        // Nor is one that leaves part of its quota unused: throttled in many periods, it gets
        // CPU in the rest, and a probe is answered. A bursty service at 60–80 % of its quota is
        // throttled in most periods and swings through the shares a climb to starvation
        // passes; the kill comes only once the demand is past the quota. Judged, like each
        // time to crash, as it will be at the next sample. A restart in the last 10 minutes
        // says the load may have killed it already.
        let slack = restarts == 0.0
            && f.cpu_use
                .is_some_and(|(now, pace)| now + pace * gap < STARVE_USE);
        // Nor is one whose throttling began as a step and has held its level since: work that
        // started (a batch run) and takes the CPU it is given; nor one throttled at one level
        // for as long as it has been seen (two minutes at least), or back at a level its load
        // swung it through minutes before. A service starves as its load outgrows the quota,
        // and its throttled share keeps climbing on the way.
        // Asked last: the answer matters only where starvation still counts, through the
        // trees' probability (unless pinned already drops it) or the time to starve.
        let may_starve = f.ttl_starve.is_some() || (!pinned && p_starve > 0.0);
        // Nor is a CronJob's run (`features::cronjob_pod`): a batch task without a liveness
        // probe that takes what CPU it is given. Unless it restarted lately: then something
        // kills it.
        let batch = f.cronjob && restarts == 0.0;
        let stepped = restarts == 0.0 && !starting && !slack && !batch && may_starve && stepped();
        Coping {
            starting,
            pinned,
            slack,
            batch,
            stepped,
        }
    }

    /// Copes, whatever the reason: the trees' starvation verdict is set aside.
    fn any(&self) -> bool {
        self.starting || self.pinned || self.slack || self.batch || self.stepped
    }

    /// Copes for a reason that also sets the time to starve aside (a pinned worker's is left
    /// to stand: a load that keeps rising past the quota is starvation still).
    fn sets_aside_time(&self) -> bool {
        self.starting || self.slack || self.batch || self.stepped
    }
}

/// Takes out of `p` the verdicts the trees are not trusted with, besides starvation, and adds
/// them to `dropped` ("no crash"; in the order taken, as the sum is rounded): an OOM kill of a container that survived one
/// (`Features::survivor`) or whose time to the limit `ttl_mem`, at the next sample (`gap`), is
/// beyond [`TREES_OOM_HORIZON`]; an eviction of a pod the kubelet spares or takes after another,
/// or of one that holds still while the node's memory runs out; a restart loop of a container
/// that never restarted.
fn set_aside(f: &Features, p: &mut [f32], ttl_mem: Option<f64>, gap: f64, dropped: &mut f32) {
    // The trees learnt from containers whose working set is nearly all unreclaimable, where
    // one at 95 % of its limit dies within minutes; where active page cache (in the working
    // set, and reclaimed before any kill) holds it there, the kill is a quarter of an hour or
    // more away, and the time to the limit says so. A leak that slows near its limit (reclaim,
    // swap, a GC working harder) is as far off as its time says: judged by the trees from five
    // to ten minutes out, such leaks were warned more than ten minutes ahead (an "early"
    // alarm: a false one, the crash missed).
    if f.survivor || ttl_mem.is_some_and(|t| t - gap > TREES_OOM_HORIZON) {
        *dropped += std::mem::take(&mut p[class_index(Cause::OomKill)]);
    }
    // A pod the kubelet does not evict (`features::critical_pod`) or evicts after another
    // (`Features::outranked`), or one that holds still while the node's memory runs out
    // (`features::BYSTANDER_SHARE`).
    let bystander = f
        .shortage_share
        .is_some_and(|share| share < features::BYSTANDER_SHARE);
    if spared(f) || bystander {
        *dropped += std::mem::take(&mut p[class_index(Cause::Evicted)]);
    }
    // A container that never restarted is in no loop. The trees' restart-loop class there is
    // what they learnt from the simulator's crash loops before their first crash, whose
    // instances look like any healthy one: a base rate that named `restart_loop`, at risk
    // 0.06–0.14, on steady containers `/predict` showed (the first crash of a loop is
    // unwarnable, and is counted so).
    if never_restarted(f) {
        *dropped += std::mem::take(&mut p[class_index(Cause::RestartLoop)]);
    }
}

/// No restart in the last 10 minutes and no termination reason from the kubelet (which keeps
/// the last one for the container's life).
fn never_restarted(f: &Features) -> bool {
    f.restarts_recent == 0.0 && f.x[features::idx::LAST_REASON] == 0.0
}

/// A pod the kubelet does not evict, or evicts after another.
pub(super) fn spared(f: &Features) -> bool {
    f.critical || f.outranked
}

/// The physical floor of each cause, with `ttl` the risk of a time to crash: memory limit →
/// OOM kill (`ttl_mem`, or one burst from it: `step_reaches_limit`), pids.max → fork failures,
/// throttling climbing to starvation → liveness-probe kills (unless the container `copes`),
/// and memory stalls or lost page cache on an unknown node → eviction.
fn physical_floors(
    f: &Features,
    ttl_mem: Option<f64>,
    step_reaches_limit: bool,
    copes: &Coping,
    ttl: impl Fn(Option<f64>) -> f64,
) -> [(f64, Cause); 4] {
    // Node pressure with the node's memory known is left to the trees: the kubelet evicts one
    // pod at a time, so a floor for every BestEffort pod on the node would be a flood of false
    // alarms. Where the node is unknown, memory stalls inside a container without a limit
    // stand in for it: 0.5 at 10 % stalled, 0.8 at 20 %, 0.9 at 30 %, twice as soon for a pod
    // that grows into the shortage (page-cache refaults on a busy node stay at a few percent).
    // At a sparse scrape a leak that grows in bursts is one burst from the kill once a burst it
    // made would cover what is left (`step_reaches_limit`), whatever its mean rate says.
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
    let evicted = if spared(f) {
        0.0
    } else {
        // The pod the kubelet evicts first where none grows (`Features::heads_besteffort`),
        // timed to the threshold as the node keeps falling.
        let first = ttl(f.ttl_node_guess.filter(|_| f.heads_besteffort));
        node_psi.max(squeeze).max(first)
    };
    // A burst into a container that may still swap lands in swap, not in a kill.
    let step = if step_reaches_limit && f.swap_floor.is_none() {
        STEP_RISK
    } else {
        0.0
    };
    [
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
            ttl(f.ttl_starve.filter(|_| !copes.sets_aside_time())),
            Cause::CpuStarvation,
        ),
        (evicted, Cause::Evicted),
    ]
}

/// The CrashLoopBackOff floor and the cause it names, from the restarts of the last 10 minutes
/// and the last termination reason (`p`: the trees' class probabilities, which pick among the
/// restart causes).
fn restart_loop_floor(f: &Features, p: &[f32]) -> (f64, Cause) {
    // A container that restarted twice within 10 minutes is in the kubelet's backoff loop and
    // restarts again within 5 minutes unless its cause went away. That holds for OOM kills
    // too: a limit below what the app needs at start-up kills every instance within seconds,
    // faster than any memory trend can be trusted. Such a loop is named `restart_loop` (the
    // alarm stands through the back-off, see `eval::carries_over`); the kubelet's `OOMKilled`
    // still says what kills it.
    // One OOM kill is not yet a loop: a leak starts again from zero, and the memory terms speak
    // for it (a "restart_loop" hint after every OOM kill of a leak would mislead).
    let oom = f.x[features::idx::LAST_REASON] == 1.0;
    let risk = match f64::from(f.restarts_recent) {
        r if r >= 3.0 => 0.9,
        r if r >= 2.0 => 0.75,
        r if r >= 1.0 && !oom => 0.25,
        _ => 0.0,
    };
    let cause = if oom {
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
    (risk, cause)
}

/// The time to the OOM kill and whether the container is one burst from it
/// ([`Features::step_reaches_limit`]), with the step clock of a leak that grows in regular
/// steps ([`Features::step_clock`]) applied. Such a leak is no nearer its kill than its next
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{Qos, Sample};

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
}
