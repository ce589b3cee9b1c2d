//! Tasks: whether a task count rising toward pids.max is a leak's (it keeps what it took) or
//! a pool's (it jumps and drains), and the limit to time it to where the samples carry none.
//! Apart because a pool sized by its load looks like a leak on every other measure.
use super::counters::rate_start;
use super::fit::Envelope;
use super::{time_to, LONG_WINDOW, NEAR_LIMIT, TRUST_SPAN, UNKNOWN};
use crate::history::History;
use crate::sample::Sample;

/// Share of its recent peak the task count may have lost and still count as rising toward
/// pids.max (see `pids_rise_held`): thread counts jitter by a few tasks, a draining pool loses
/// more each scrape.
pub const PIDS_RECEDE: f64 = 0.03;

/// Most the last step of a task count may be, as a multiple of its rise over the window before
/// it, and still count as a leak's (see `pids_rise_held`).
pub const PIDS_JUMP_RATIO: f64 = 3.0;

/// Fall from its running peak after which a task count is a pool's, not a leak's, for the
/// rest of the window (see `pids_rise_held`).
pub const PIDS_DRAIN: f64 = 0.2;

/// Whether a rise of the task count toward pids.max is a leak's, not a pool's. A
/// thread-per-request pool jumps toward its limit within a scrape or two and drains again as
/// idle threads time out; a leak keeps what it took. So, over the envelope's window:
/// - the last step (newest bucket over the one before) is at most [`PIDS_JUMP_RATIO`] times
///   the rise before it, from the window's oldest bucket (a jump out of a flat count waits for
///   the next bucket; a fork bomb's accelerating steps do not);
/// - the newest count has not fallen more than [`PIDS_RECEDE`] below the recent peak;
/// - the count never fell more than [`PIDS_DRAIN`] below its running peak.
fn pids_rise_held(h: &History, now_ts: f64, now: f64, e: &Envelope) -> bool {
    let prev = h.back(1).map_or(f64::NAN, |b| f64::from(b.last.pids));
    if now < e.peak * (1.0 - PIDS_RECEDE) {
        return false;
    }
    let mut first = f64::NAN;
    let mut top = f32::NEG_INFINITY;
    let held = h
        .iter_instance(now_ts - LONG_WINDOW)
        .rev()
        .map(|b| b.last.pids)
        .filter(|p| p.is_finite())
        .all(|p| {
            if first.is_nan() {
                first = f64::from(p);
            }
            top = top.max(p);
            f64::from(p) >= f64::from(top) * (1.0 - PIDS_DRAIN)
        });
    held && now - prev <= PIDS_JUMP_RATIO * (prev - first).max(0.0)
}

/// Where the samples carry no pids.max (an export without it, where the limit was set on the
/// pod cgroup above the container), fork() still fails somewhere: at the kubelet's
/// podPidsLimit or a runtime's default, set by convention to a power of two (1024, 4096;
/// CRI-O's default was 1024). A task count is timed to the next one at or above the highest
/// count any instance of the container reached (an instance that got there was not stopped
/// below it), and at or above [`PIDS_ASSUMED_MIN`].
fn assumed_pids_limit(count: u64) -> f64 {
    // A count past 2^63 (a corrupt sample) has no power of two above it: no limit to time to.
    count
        .max(PIDS_ASSUMED_MIN)
        .checked_next_power_of_two()
        .map_or(f64::INFINITY, |p| p as f64)
}

/// Whether a task count may be timed to an assumed limit ([`assumed_pids_limit`]): not in an
/// instance's first [`TRUST_SPAN`], and not when the count more than doubled over the last
/// 5 minutes. A pool that grows with its load multiplies within minutes, passing 512 or 1024
/// on its way to its size; leaked threads and children creep.
fn pids_limit_guessable(h: &History, now: f64, count: u64) -> bool {
    h.instance_span() >= TRUST_SPAN
        && rate_start(h, now, LONG_WINDOW)
            .is_none_or(|b| count as f32 <= PIDS_GUESS_GROWTH * b.last.pids)
}

/// The least task limit assumed where the samples carry none (`assumed_pids_limit`).
pub const PIDS_ASSUMED_MIN: u64 = 512;

/// Most a task count may have multiplied over 5 minutes and still be timed to an assumed
/// limit (`pids_limit_guessable`).
pub const PIDS_GUESS_GROWTH: f32 = 2.0;

/// The tasks column of the feature vector at `now` and the time to the task limit: tasks /
/// pids.max (unknown without a limit), the seconds until the count reaches the limit at its
/// rise (`envelope`, the long-window envelope of the count), and whether the samples state
/// that limit (else it is assumed, or the one an earlier instance died at).
/// `restarted_lately`: the container restarted within 10 minutes.
pub(super) fn pids_time(
    h: &History,
    s: &Sample,
    now: f64,
    envelope: Option<Envelope>,
    restarted_lately: bool,
) -> (f32, Option<f64>, bool) {
    let pids_limit = s.pids_limit.map(|v| v as f64).filter(|v| *v > 0.0);
    // The tasks that count against the limit: the pod's, where the limit is the pod's.
    let tasks = s
        .pids_current
        .map(|p| s.pod_pids_current.map_or(p, |q| q.max(p)));
    let ratio = match (tasks, pids_limit) {
        (Some(p), Some(l)) => (p as f64 / l) as f32,
        _ => UNKNOWN,
    };
    // A young instance's climbing task count is a server filling its thread pools at start-up
    // as often as a fork bomb, and the pool stops at its size: trusted, as the memory trend
    // is, once the instance has run [`TRUST_SPAN`], at the limit's doorstep, or where it
    // restarted lately (the climb that killed it is back).
    let pids_trusted =
        h.instance_span() >= TRUST_SPAN || restarted_lately || ratio >= NEAR_LIMIT as f32;
    // The rise is judged (a walk of the window) only where it would give a time to a limit.
    // No pids.max in the samples (an export without it) is no limit: a rising count is timed
    // to an assumed one ([`assumed_pids_limit`]), by the physical floor only; the trees learnt
    // `ttl_pids_s` of limits the samples state.
    let ttl_pids = match (s.pids_current, envelope.filter(|e| e.slope > 0.0)) {
        (Some(p), Some(e)) => {
            let n = tasks.unwrap_or(p);
            pids_limit
                .or_else(|| {
                    if s.pids_limit_unset {
                        return None;
                    }
                    // The count an earlier instance died at, while this count is not above
                    // it: known, not guessed, however fast the count multiplies.
                    match h.pids_ceiling().filter(|c| n <= *c) {
                        Some(c) => (h.instance_span() >= TRUST_SPAN).then_some(c as f64),
                        None => pids_limit_guessable(h, now, p)
                            .then(|| assumed_pids_limit(n.max(h.pids_high()))),
                    }
                })
                .filter(|_| pids_trusted && pids_rise_held(h, now, p as f64, &e))
                .and_then(|l| time_to(n as f64, l, Some(e.slope)))
        }
        _ => None,
    };
    (ratio, ttl_pids, pids_limit.is_some())
}
