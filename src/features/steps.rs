//! Steps: a leak that grows in steps rather than along a line. At a sparse scrape one more
//! step like the last may cross the limit before the next sample, and a leak that steps in a
//! rhythm is timed by its next step that no longer fits, not by a trend through one step.
//! Separate because it reads the history's jumps to a new high ([`History::steps`]), not its
//! rates.
use super::LONG_WINDOW;
use crate::history::{History, Step, BUCKET_SECONDS};

/// Shortest interval between steps that `step_clock` times: a leak that steps faster is
/// timed by its trend, which its window then holds several steps of.
pub const STEP_CLOCK_MIN_INTERVAL: f64 = 120.0;

/// Largest ratio of the longer to the shorter of the last two intervals between steps, and of
/// the largest to the smallest of the last three steps, for `step_clock` to take them for a
/// rhythm.
pub const STEP_CLOCK_REGULAR: f64 = 2.0;

/// How much later than the longer of the last two intervals `step_clock` expects the next
/// step, at the latest (a rhythm's jitter).
pub const STEP_CLOCK_SLACK: f64 = 1.1;

/// Share of the smallest recent step by which a stepping leak may fall below the level a step
/// reached before the next (`step_clock`): noise, not a collection.
pub const STEP_FLAT: f64 = 0.25;

/// Share of the smallest recent step by which a stepping leak may grow between two steps
/// (`step_clock`): a slow growth beside the steps, which the clock then also times.
pub const STEP_DRIFT: f64 = 0.5;

/// Whether, at a sparse scrape, one more step like the largest by which the working set
/// rose above all its earlier samples of this instance (a new high) over the last
/// [`LONG_WINDOW`] would cover the `headroom` left below the limit. A bursty leak climbs in
/// such steps, and the next scrape may come after the kill; a GC sawtooth's rebound from a
/// trough is no new high.
pub(super) fn step_reaches_limit(h: &History, now: f64, sample_gap: f64, headroom: f64) -> bool {
    if sample_gap < 2.0 * BUCKET_SECONDS || h.instance_span() < 2.0 * LONG_WINDOW {
        return false;
    }
    let mut high = None::<f32>;
    let mut step = 0.0f32;
    for b in h.iter_instance(f64::NEG_INFINITY).rev() {
        if b.ws_max.is_nan() {
            continue;
        }
        if let Some(m) = high {
            if b.t_last > now - LONG_WINDOW {
                step = step.max(b.ws_max - m);
            }
        }
        high = Some(high.map_or(b.ws_max, |m| m.max(b.ws_max)));
    }
    f64::from(step) >= headroom
}

/// Seconds until a leak that grows in regular steps could take the step that kills it, or
/// `None` where the growth is not such steps. Its last three jumps to a new high
/// ([`History::steps`]) came at intervals of [`STEP_CLOCK_MIN_INTERVAL`] or more, the longer
/// at most [`STEP_CLOCK_REGULAR`] times the shorter, their sizes as alike, and it held its
/// level between them and since the last (falling by at most [`STEP_FLAT`] of the smallest
/// step, growing by at most [`STEP_DRIFT`] of it): its growth is in the steps, with at most a
/// slow drift between them, which may also fill the room first. A trend through one step (a pool filled per batch,
/// a cache per reload) says the limit is minutes away when the next step is a quarter of an
/// hour off; this clock says when the step that no longer fits can come: after the steps
/// that still fit, each no sooner than the shorter interval, and the last no later than
/// [`STEP_CLOCK_SLACK`] times the longer. Overdue, it gives a negative time.
pub(super) fn step_clock(
    h: &History,
    now: f64,
    unreclaimable: f64,
    limit: f64,
) -> Option<StepClock> {
    let [a, b, c, ..] = *h.steps() else {
        return None;
    };
    let (i1, i2) = (a.t - b.t, b.t - c.t);
    let (short, long) = (i1.min(i2), i1.max(i2));
    if short < STEP_CLOCK_MIN_INTERVAL || long > STEP_CLOCK_REGULAR * short {
        return None;
    }
    let sizes = [a, b, c].map(|s| f64::from(s.to - s.from));
    let small = sizes[0].min(sizes[1]).min(sizes[2]);
    let big = sizes[0].max(sizes[1]).max(sizes[2]);
    if big > STEP_CLOCK_REGULAR * small {
        return None;
    }
    // From a step until the next one (or now) the series stays between the level the step
    // reached, less noise, and that level plus a slow growth and noise: where the two samples
    // around the next jump say so, and in every bucket of the window wholly in between.
    let (band, drift) = (STEP_FLAT * small, STEP_DRIFT * small);
    let within = |level: f32, v: f32| (-band..=drift + band).contains(&f64::from(v - level));
    let held = |from: &Step, until: Option<&Step>| {
        until.is_none_or(|u| within(from.to, u.from))
            && h.iter_instance(from.t)
                .filter(|k| k.t_first > from.t && until.is_none_or(|u| k.t_last <= u.t_from))
                .all(|k| {
                    k.anon_max.is_nan()
                        || (within(from.to, k.anon_max) && within(from.to, k.anon_mean()))
                })
    };
    if !held(&c, Some(&b)) || !held(&b, Some(&a)) || !held(&a, None) {
        return None;
    }
    if !within(a.to, unreclaimable as f32) {
        return None;
    }
    let headroom = (limit - unreclaimable).max(0.0);
    // Steps still to come, the last of them the one that does not fit.
    let steps = (headroom / big).ceil().max(1.0);
    let by_steps = a.t + STEP_CLOCK_SLACK * long + (steps - 1.0) * short - now;
    // The growth between steps, at the faster of the last two intervals' pace, may fill the
    // room first: then it is a trend's leak, and the clock only bounds it.
    let rate = f64::from(b.from - c.to) / i2;
    let rate = rate.max(f64::from(a.from - b.to) / i1);
    let by_growth = if rate > 0.0 {
        headroom / rate
    } else {
        f64::INFINITY
    };
    Some(StepClock {
        ttl: by_steps.min(by_growth),
        next_kills: steps == 1.0 && by_steps <= by_growth,
        short,
        long,
    })
}

/// What `step_clock` says of a leak that grows in regular steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepClock {
    /// Seconds until the step that does not fit can come, at the latest (negative when
    /// overdue).
    pub ttl: f64,
    /// The next step is that one.
    pub next_kills: bool,
    /// The shorter of the last two intervals between steps, seconds.
    pub short: f64,
    /// The longer of them.
    pub long: f64,
}
