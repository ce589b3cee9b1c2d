//! Counters: rates and increases of the cumulative counters a sample carries (CPU seconds,
//! memory.events, CFS periods, restarts), counted like Prometheus' `increase()` so that a
//! restarted container's counters, which start again from zero, give no negative rate; and the
//! restarts that make a crash loop, dated by the kubelet or by the instance's own CPU counter.
use super::{reason_code, MIN_ENVELOPE_SPAN};
use crate::history::{Bucket, History, CAPACITY};
use crate::sample::Sample;

/// Window of `restarts_10m`, seconds.
const RESTARTS_WINDOW: f64 = 600.0;

/// Restarts behind a young instance that, without the kubelet's `finishedAt`, make a crash
/// loop in progress (`restarts_10m`).
pub const LOOP_RESTARTS: f32 = 3.0;

/// Age below which an instance restarted within the kubelet's longest back-off (5 min): the
/// restarts behind it are recent (`restarts_10m`).
pub const LOOP_AGE: f64 = 300.0;

/// [`LOOP_AGE`] after an OOM kill: a leak killed at its limit starts again from zero and
/// is killed minutes or hours later (its memory terms speak for it); a limit below what the
/// app needs at start-up kills every instance within a minute.
pub const LOOP_AGE_OOM: f64 = 60.0;

/// Window of the `oom_kills_10m` feature, seconds.
pub const OOM_KILLS_WINDOW: f64 = 600.0;

/// The bucket a rate over the last `window` seconds runs from: the newest at or before the
/// window's start (the oldest there is in a shorter history), but none of a dead instance. A
/// restarted container's counters began again from zero, so a bucket before the restart gives
/// no rate at all, and for the new instance's first minute its rate runs from the instance's
/// first bucket (it read 0 there: a container restarted into a CPU quota it burns whole looked
/// idle until a minute after the restart).
pub(super) fn rate_start(h: &History, now: f64, window: f64) -> Option<&Bucket> {
    let b = h
        .at_or_before(now - window)
        .or_else(|| h.back(h.len().saturating_sub(1)))?;
    if b.t_last >= h.instance_start() {
        Some(b)
    } else {
        h.iter_instance(f64::NEG_INFINITY).next_back()
    }
}

/// Increase of a counter since `window` seconds before `now`, counted like Prometheus'
/// `increase()`: when the counter went backwards the container's cgroup was recreated and
/// counts from 0 again, so the increase is the new value (never negative). 0 when unknown.
pub(super) fn delta(
    h: &History,
    now: f64,
    window: f64,
    cur: f32,
    get: impl Fn(&Bucket) -> f32,
) -> f32 {
    let start = match h.at_or_before(now - window) {
        Some(b) => get(b),
        // Less history than the window: count from the oldest bucket we have.
        None => match h.back(h.len().saturating_sub(1)) {
            Some(b) => get(b),
            None => return 0.0,
        },
    };
    let d = if cur < start { cur } else { cur - start };
    if d.is_finite() && d > 0.0 {
        d
    } else {
        0.0
    }
}

/// Restarts over the last 10 minutes.
///
/// While the container was first seen less than 10 minutes ago, the restarts it already had
/// then count too when the kubelet says the last termination was within the window
/// (`finishedAt`): an agent started beside a pod in CrashLoopBackOff must not wait for two
/// more restarts (up to 10 minutes of back-off) before it says so. Without that time the
/// restarts may be last week's (long-running pods carry old restarts), so they do not count.
pub(super) fn restarts_10m(h: &History, s: &Sample, now: f64, cur: f32) -> f32 {
    let seen = delta(h, now, RESTARTS_WINDOW, cur, |b| b.last.restarts);
    let recent = s
        .last_termination_ts
        .is_some_and(|t| now - t <= RESTARTS_WINDOW);
    before_first_sight(h, cur, seen, recent)
}

/// `seen`, or the restarts `cur` a container had when first seen if they are `recent` and it
/// was first seen less than [`RESTARTS_WINDOW`] ago.
fn before_first_sight(h: &History, cur: f32, seen: f32, recent: bool) -> f32 {
    // The ring has not wrapped, so its span reaches back to the first sight.
    let young = h.len() < CAPACITY && h.span() < RESTARTS_WINDOW;
    if young && recent && cur.is_finite() {
        seen.max(cur)
    } else {
        seen
    }
}

/// [`restarts_10m`], where the kubelet's `finishedAt` is missing (a trace, an export), with
/// the restarts before first sight dated by the instance's own CPU counter: a restarted
/// container is a new cgroup whose counters start from zero, so CPU seconds used over the
/// pace since first sight is the instance's age. [`LOOP_RESTARTS`] or more behind an instance
/// younger than the kubelet's longest back-off ([`LOOP_AGE`]; after an OOM kill
/// [`LOOP_AGE_OOM`]) are a loop in progress. Only the restart-loop rule reads it
/// (`predict::assess`); the trees learnt `restarts_10m` as the kubelet dates restarts.
pub(super) fn restarts_dated(h: &History, s: &Sample, now: f64, cur: f32, counted: f32) -> f32 {
    if s.last_termination_ts.is_some() || cur.is_nan() || cur < LOOP_RESTARTS {
        return counted;
    }
    let cap = if reason_code(s.last_termination_reason.as_deref()) == 1.0 {
        LOOP_AGE_OOM
    } else {
        LOOP_AGE
    };
    let recent = instance_age(h, s.cpu_usage_seconds_total, now).is_some_and(|a| a <= cap);
    before_first_sight(h, cur, counted, recent)
}

/// How long the current instance has run, from its CPU counter (which starts at zero with
/// the instance) over the pace since it was first seen, at least [`MIN_ENVELOPE_SPAN`] ago.
/// `None` without a counter or a pace.
fn instance_age(h: &History, cpu: Option<f64>, now: f64) -> Option<f64> {
    let used = cpu.filter(|c| c.is_finite() && *c > 0.0)?;
    let first = h.iter_instance(f64::NEG_INFINITY).next_back()?;
    let (t0, c0) = (first.t_last, first.last.cpu_seconds);
    if !c0.is_finite() || now - t0 < MIN_ENVELOPE_SPAN {
        return None;
    }
    let pace = (used - c0) / (now - t0);
    (pace > 0.0).then(|| used / pace)
}
