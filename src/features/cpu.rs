//! CPU: the container's use of its quota and its CFS throttling. The line through the last
//! minutes' use, the time until a throttled share climbing toward starvation gets the
//! container killed by its liveness probe, and whether the throttling is instead a step to a
//! level (work starting) or a level the service lives with. Its own part because it reads
//! the CFS counters interval by interval, and its verdicts go to `predict`'s starvation rules.
use super::counters::{delta, rate_start};
use super::fit::least_squares;
use super::shape::TREND_MAX_GAP;
use super::{opt_f, SHORT_WINDOW, TTL_CAP, UNKNOWN};
use crate::history::{Bucket, Counters, History, BUCKET_SECONDS};
use crate::sample::Sample;

/// The CPU columns of the feature vector at `now` (`c`: the sample's counters): the throttled
/// share of CFS periods over the last minute and the last 5 minutes (unknown where the
/// counters are not reported), CPU pressure, and use over the last minute as a share of the
/// quota (unknown without one).
pub(super) fn cpu_columns(h: &History, s: &Sample, now: f64, c: &Counters) -> [f32; 4] {
    let throttle_ratio = |window: f64| {
        if c.periods.is_nan() || c.throttled_periods.is_nan() {
            return UNKNOWN;
        }
        let periods = delta(h, now, window, c.periods, |b| b.last.periods);
        let throttled = delta(h, now, window, c.throttled_periods, |b| {
            b.last.throttled_periods
        });
        if periods > 0.0 {
            (throttled / periods).min(1.0)
        } else {
            0.0
        }
    };
    let use_1m = match (
        s.cpu_limit_cores.filter(|l| *l > 0.0),
        s.cpu_usage_seconds_total,
    ) {
        (Some(lim), Some(cur)) => match rate_start(h, now, 60.0) {
            Some(b)
                if b.last.cpu_seconds.is_finite()
                    && now > b.t_last
                    && cur >= b.last.cpu_seconds =>
            {
                ((cur - b.last.cpu_seconds) / (now - b.t_last) / lim) as f32
            }
            _ => 0.0,
        },
        (None, _) => UNKNOWN,
        _ => 0.0,
    };
    [
        throttle_ratio(60.0),
        throttle_ratio(300.0),
        opt_f(s.cpu_pressure_some_avg10),
        use_1m,
    ]
}

/// Throttled share of CFS periods at which a starved process stops answering probes in time.
pub const STARVED_RATIO: f64 = 0.9;

/// Seconds from the first failed liveness probe to the kill (period 10 s × failureThreshold 3,
/// the Kubernetes defaults).
pub const PROBE_KILL_S: f64 = 30.0;

/// Window of the throttling trend, seconds.
pub const STARVE_WINDOW: f64 = 120.0;

/// Longest window of the throttling trend, for sparse samples (four intervals at a 60 s
/// scrape), seconds.
pub const STARVE_WINDOW_MAX: f64 = 300.0;

/// The throttled share must already be this high for its trend to count.
pub const STARVE_FROM: f64 = 0.5;

/// ... and rise at least this fast (share per second: 0.12 per minute).
pub const STARVE_MIN_RISE: f64 = 0.002;

/// Throttled share of CFS periods under which a container ran unhindered before a step
/// ([`throttle_stepped`]).
pub const STEP_FROM: f64 = 0.1;

/// Longest time from an unthrottled interval to the level a step holds, seconds: one
/// interval between them at a 60 s scrape, with its jitter.
pub const STEP_SECONDS: f64 = 90.0;

/// Intervals a step's level must hold for before it counts as one ([`throttle_stepped`]).
pub const STEP_HELD: usize = 2;

/// CPU use, as a share of the quota, under which a container idled before a step.
pub const STEP_IDLE: f64 = 0.25;

/// How far the throttled share may wander from its newest value and still be the level a step
/// reached.
pub const STEP_BAND: f64 = 0.1;

/// Seconds a throttled share held at its level since this instance was first seen make it a
/// level, not a climb ([`throttle_stepped`]).
pub const HELD_SECONDS: f64 = 120.0;

/// How long before the last minute an earlier minute must have ended for its throttled share
/// to count as a level the service lived through ([`throttle_stepped`]).
pub const REVISIT_AGO: f64 = 180.0;

/// Most the newer half of the history may be throttled above the older half for a level
/// revisited to count ([`throttle_stepped`]).
pub const REVISIT_TREND: f64 = 0.05;

/// CPU use as a share of the quota now and its change per second: the line through the
/// shares of the last two minutes, each at the middle of its interval (the last minute's share
/// alone lags a climb by half a minute). A process that leaves part of its quota unused gets
/// CPU time in every period it needs it, so its probes are answered: starvation needs the
/// demand at the quota. Without an earlier minute to compare (a short history, a restart in
/// between) the last minute's share stands, unchanging; without any earlier sample, or
/// without a quota or a usage counter, there is none.
pub fn cpu_use_line(h: &History, s: &Sample) -> Option<(f64, f64)> {
    let lim = s.cpu_limit_cores.filter(|l| *l > 0.0)?;
    let cur = s.cpu_usage_seconds_total?;
    let now = s.ts;
    let share = |from: &Bucket, to: (f64, f64)| {
        let (dt, used) = (to.0 - from.t_last, to.1 - from.last.cpu_seconds);
        (dt > 0.0 && used >= 0.0).then(|| used / dt / lim)
    };
    let a = rate_start(h, now, 60.0)?;
    let recent = share(a, (now, cur))?;
    let mid = 0.5 * (a.t_last + now);
    let earlier = h
        .at_or_before(a.t_last - 60.0)
        .filter(|b| b.t_last >= h.instance_start())
        .and_then(|b| {
            let before = share(b, (a.t_last, a.last.cpu_seconds))?;
            Some((before, 0.5 * (b.t_last + a.t_last)))
        });
    Some(match earlier {
        Some((before, mid_before)) if mid > mid_before => {
            let pace = (recent - before) / (mid - mid_before);
            (recent + pace * (now - mid), pace)
        }
        _ => (recent, 0.0),
    })
}

/// Seconds until a container whose CFS throttling climbs toward starvation is expected to be
/// killed by its liveness probe: the time until the throttled share of periods reaches
/// [`STARVED_RATIO`] at its trend, plus [`PROBE_KILL_S`].
///
/// The trend is a least-squares line through the throttled share of each interval between
/// history buckets of the current instance over the last [`STARVE_WINDOW`] seconds (the 1 min
/// ratio the model sees lags a fast ramp by half a minute, which made fast ramps late). It
/// counts only when it is clean (R² ≥ 0.8 over ≥ 4 intervals), rising by at least
/// [`STARVE_MIN_RISE`], and the share is already [`STARVE_FROM`] or more: a container pinned
/// at its quota (flat near 1.0, a CPU-bound batch job) has no rising trend, and a busy one
/// that copes levels off well below starvation. `sample_gap` is [`History::sample_gap`].
pub fn starvation_eta(h: &History, now: f64, sample_gap: f64) -> Option<f64> {
    let mut pts = [(0.0f64, 0.0f64); 16];
    let mut n = 0;
    // STARVE_WINDOW, or as far back as four intervals take at a sparse scrape (at most 5 min).
    for i in throttle_shares(h, now - STARVE_WINDOW_MAX - BUCKET_SECONDS) {
        if n >= 4 && now - i.start > STARVE_WINDOW + BUCKET_SECONDS {
            break;
        }
        pts[n] = (0.5 * (i.start + i.end), i.share);
        n += 1;
        if n == pts.len() {
            break;
        }
    }
    if n < 4 {
        return None;
    }
    let (t_new, _) = pts[0];
    let fit = least_squares(pts[..n].iter().rev().copied())?;
    if fit.r2 < 0.8 || fit.slope < STARVE_MIN_RISE {
        return None;
    }
    let (mut level, mut slope) = (fit.at(t_new), fit.slope);
    if sample_gap >= TREND_MAX_GAP {
        // At a sparse scrape the four intervals span minutes and a fast ramp bends upward
        // inside them: the line lags both its newest share and its newest pace.
        let pace = (pts[0].1 - pts[1].1) / (pts[0].0 - pts[1].0);
        level = level.max(pts[0].1);
        slope = slope.max(pace);
    }
    if level < STARVE_FROM {
        return None;
    }
    let reach = t_new + (STARVED_RATIO - level).max(0.0) / slope;
    Some(((reach - now).max(0.0) + PROBE_KILL_S).min(TTL_CAP))
}

/// One interval between two buckets of the CFS counters.
#[derive(Debug, Clone, Copy)]
struct Interval {
    start: f64,
    end: f64,
    /// Share of the periods in it that were throttled.
    share: f64,
    /// CPU seconds used in it.
    cpu: f64,
}

/// Share of the CFS periods between buckets `older` and `newer` that were throttled; `None`
/// where no period ran or a counter went backwards (or is unknown).
fn throttled_share(older: &Bucket, newer: &Bucket) -> Option<f64> {
    let periods = newer.last.periods - older.last.periods;
    let throttled = newer.last.throttled_periods - older.last.throttled_periods;
    (periods > 0.0 && throttled >= 0.0).then(|| f64::from((throttled / periods).min(1.0)))
}

/// The intervals between this instance's buckets since `since`, newest first. An interval in
/// which no period ran (idle) or none was reported (a gap carried the counters over) goes on
/// to the next bucket back; a counter that went backwards ends the walk.
fn throttle_shares(h: &History, since: f64) -> impl Iterator<Item = Interval> + '_ {
    let mut buckets = h.iter_instance(since);
    let mut newer = buckets.next();
    std::iter::from_fn(move || {
        let nb = newer.take()?;
        for b in buckets.by_ref() {
            let Some(share) = throttled_share(b, nb) else {
                if nb.last.periods == b.last.periods
                    && nb.last.throttled_periods == b.last.throttled_periods
                {
                    continue;
                }
                return None;
            };
            newer = Some(b);
            return Some(Interval {
                start: b.t_last,
                end: nb.t_last,
                share,
                cpu: nb.last.cpu_seconds - b.last.cpu_seconds,
            });
        }
        None
    })
}

/// Whether this instance's CFS throttling began as a step and has held its level since: the
/// newest intervals are throttled in a share of their periods within [`STEP_BAND`] of the
/// higher of the newest two's (or in [`STARVED_RATIO`] or more, pinned), single intervals
/// dipping below it allowed while the level held more often than it dipped (a task at its
/// quota is not throttled alike in every interval), and they got there from an interval
/// throttled in under [`STEP_FROM`] through at most one interval between (the one the step
/// fell in), within [`STEP_SECONDS`]. The level must have held for [`STEP_HELD`] intervals,
/// unless the container idled before (under [`STEP_IDLE`] of its quota `limit`, in cores): one
/// interval at a new level is the newest point of a climb as much as a step, but a service
/// whose load climbs to starvation was busy before it was throttled.
///
/// That is work starting (a batch job, a cron run) that takes the CPU it is given, not a
/// service whose load outgrows its quota: load grows over minutes, and a service starving
/// under it shows a throttled share that keeps climbing until its probes fail. For the same
/// reason a share that has held one level for as long as the instance has been seen (the
/// step, if any, came before; `throttle_held`) counts too, and one back at a level its load
/// swung it through minutes before (`throttle_revisited`).
pub fn throttle_stepped(h: &History, limit: Option<f64>) -> bool {
    stepped_to_level(h, limit)
        || last_minute(h).is_some_and(|l| throttle_held(h, &l) || throttle_revisited(h, &l))
}

/// This instance's throttled share over its last minute, with the newest and oldest buckets of
/// its history: what [`throttle_held`] and [`throttle_revisited`] compare earlier minutes with.
struct LastMinute<'a> {
    newest: &'a Bucket,
    oldest: &'a Bucket,
    share: f64,
}

/// The [`LastMinute`] of `h`; `None` without a minute of history or where its share is under
/// [`STEP_FROM`] (no throttling to call a level).
fn last_minute(h: &History) -> Option<LastMinute<'_>> {
    let all = || h.iter_instance(f64::NEG_INFINITY);
    let (newest, oldest) = (all().next()?, all().next_back()?);
    let share = all()
        .find(|b| b.t_last <= newest.t_last - SHORT_WINDOW)
        .and_then(|b| throttled_share(b, newest))?;
    (share >= STEP_FROM).then_some(LastMinute {
        newest,
        oldest,
        share,
    })
}

/// Whether this instance's throttled share over the last minute (at least [`STEP_FROM`]) is
/// one it already reached, within [`STEP_BAND`], in a minute that ended [`REVISIT_AGO`] or
/// more before, while the share does not climb on the whole (the newer half of the history
/// throttled at most [`REVISIT_TREND`] more than the older half): a service whose throttling
/// swings with its load has lived through that level and answered its probes. A slow climb
/// passes through levels only once, and its newer half is the more throttled.
fn throttle_revisited(h: &History, l: &LastMinute) -> bool {
    let all = || h.iter_instance(f64::NEG_INFINITY);
    let (newest, oldest, now) = (l.newest, l.oldest, l.share);
    let Some(mid) = all().find(|b| b.t_last <= 0.5 * (newest.t_last + oldest.t_last)) else {
        return false;
    };
    match (throttled_share(oldest, mid), throttled_share(mid, newest)) {
        (Some(older), Some(newer)) if newer - older <= REVISIT_TREND => {}
        _ => return false,
    }
    // Each earlier minute, newest first, its start found by a second walk that only moves
    // back: one pass over the history.
    let mut starts = all().peekable();
    for end in all().filter(|b| b.t_last <= newest.t_last - REVISIT_AGO) {
        while starts
            .next_if(|b| b.t_last > end.t_last - SHORT_WINDOW)
            .is_some()
        {}
        let Some(start) = starts.peek() else {
            break;
        };
        if throttled_share(start, end).is_some_and(|then| then >= now - STEP_BAND) {
            return true;
        }
    }
    false
}

/// Whether this instance's throttled share (at least [`STEP_FROM`]) has held one level for as
/// long as the history has seen it, [`HELD_SECONDS`] at least: the share of its first minute
/// in the history and that of its last are within [`STEP_BAND`]. A service that has lived with
/// that throttling all along answers its probes; starvation is a share that climbs. (At
/// [`STARVED_RATIO`] and above it judges after 2 minutes what the pinned rule of
/// `predict::assess` judges after 5.)
fn throttle_held(h: &History, l: &LastMinute) -> bool {
    if l.newest.t_last - l.oldest.t_last < HELD_SECONDS {
        return false;
    }
    h.iter_instance(f64::NEG_INFINITY)
        .rev()
        .find(|b| b.t_last >= l.oldest.t_last + SHORT_WINDOW)
        .and_then(|b| throttled_share(l.oldest, b))
        .is_some_and(|then| (l.share - then).abs() <= STEP_BAND)
}

/// [`throttle_stepped`]'s step: from under [`STEP_FROM`] to a level held since.
fn stepped_to_level(h: &History, limit: Option<f64>) -> bool {
    // As far back as the history goes: a batch run may hold its level for longer than any
    // trend window.
    let mut intervals = throttle_shares(h, f64::NEG_INFINITY).peekable();
    let Some(newest) = intervals.next() else {
        return false;
    };
    // A task at its quota is not throttled in every interval alike: the level is the higher
    // of the newest two, so that one interval dipping below it does not set it.
    let level = newest
        .share
        .max(intervals.peek().map_or(newest.share, |i| i.share));
    if level < STEP_FROM {
        return false;
    }
    let held =
        |share: f64| share >= STARVED_RATIO.min(level - STEP_BAND) && share <= level + STEP_BAND;
    // The start of the oldest interval of the newest run at this level.
    let mut level_from = newest.start;
    let mut held_for = 1;
    let mut dips = 0;
    let mut in_run = true;
    let mut between = 0;
    while let Some(i) = intervals.next() {
        if in_run && held(i.share) {
            level_from = i.start;
            held_for += 1;
            continue;
        }
        // Nor does one dipping inside the run (the interval before it is back at the level),
        // as long as the level held more often than it dipped. A climb, once left, is not
        // returned to.
        if in_run && dips + 1 < held_for && intervals.peek().is_some_and(|o| held(o.share)) {
            dips += 1;
            continue;
        }
        in_run = false;
        if level_from - i.end > STEP_SECONDS {
            return false;
        }
        if i.share < STEP_FROM {
            let idle = limit.is_some_and(|l| i.cpu < STEP_IDLE * l * (i.end - i.start));
            return held_for >= STEP_HELD || idle;
        }
        // The interval the step fell in; a second one between is a climb, however fast.
        between += 1;
        if between > 1 {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::tests::throttled_samples;

    /// Whether the throttling of [`throttled`](crate::features::tests::throttled) stepped
    /// ([`throttle_stepped`]).
    fn stepped(end: f64, share: impl Fn(f64) -> f64) -> bool {
        let mut h = History::new();
        for s in throttled_samples(end, share) {
            h.push(&s);
        }
        throttle_stepped(&h, Some(0.5))
    }

    #[test]
    fn throttling_that_steps_to_a_level_and_holds_it_is_a_step() {
        // Unthrottled until 200 s, then pinned or at 60 %, for three minutes.
        for level in [1.0, 0.6] {
            assert!(
                stepped(380.0, |t| if t > 200.0 { level } else { 0.0 }),
                "level {level}"
            );
        }
        // Seen for one interval only, a new level is the newest point of a climb as much as a
        // step.
        assert!(!stepped(210.0, |t| if t > 200.0 { 1.0 } else { 0.0 }));
        // A climb through the middle, even one of a minute, is not a step; nor is a jump from
        // a throttled level, or no throttling at all.
        for share in [
            Box::new(|t: f64| ((t - 100.0) / 300.0).clamp(0.0, 1.0)) as Box<dyn Fn(f64) -> f64>,
            Box::new(|t: f64| ((t - 200.0) / 60.0).clamp(0.0, 1.0)),
            Box::new(|t: f64| if t > 200.0 { 1.0 } else { 0.3 }),
            Box::new(|_| 0.0),
        ] {
            assert!(!stepped(380.0, share));
        }
    }

    #[test]
    fn a_level_that_dips_for_an_interval_now_and_then_is_still_a_level() {
        // Stepped at 200 s to 97 % of its periods, with single intervals at 70 % (a task at its
        // quota is not throttled alike in every interval), the newest one among them.
        let dipping = |t: f64| match t {
            t if t <= 200.0 => 0.0,
            t if t == 300.0 || t == 380.0 => 0.7,
            _ => 0.97,
        };
        assert!(stepped(380.0, dipping));
        // A climb that dips on its way is still a climb.
        let climbing = |t: f64| match t {
            t if t <= 200.0 => 0.0,
            t if t <= 260.0 => 0.5,
            t if t <= 320.0 || t == 350.0 => 0.7,
            _ => 0.97,
        };
        assert!(!stepped(380.0, climbing));
    }

    #[test]
    fn throttling_held_at_one_level_since_first_seen_is_a_level() {
        // Throttled in 80 % (± 5 %) of its periods from the first sample on, for three minutes:
        // a service living with its quota, not one starving.
        let wobbly = |t: f64| 0.8 + 0.05 * (t / 20.0).sin();
        assert!(stepped(180.0, wobbly));
        assert!(stepped(180.0, |_| 0.97), "pinned all along");
        // Under two minutes seen, nothing is judged yet.
        assert!(!stepped(100.0, wobbly));
        // A slow climb, 30 % to 90 % in ten minutes, holds no level.
        assert!(!stepped(600.0, |t| 0.3 + 0.001 * t));
    }

    #[test]
    fn throttling_back_at_a_level_it_swung_through_minutes_ago_is_a_level() {
        // Load that swings in 4-minute cycles: throttled in 60–85 % of its periods, the last
        // minute at a peak (0.82) that the first minute was not at (0.65), so the held rule
        // does not hold; four minutes earlier it was at that peak, and lived.
        let cycle = |t: f64| (std::f64::consts::TAU * (t - 600.0) / 240.0).cos();
        assert!(stepped(600.0, |t| 0.725 + 0.125 * cycle(t)));
        // The same swings riding a climb reach a new high: no level.
        assert!(!stepped(600.0, |t| 0.4 + 0.1 * cycle(t) + 0.0008 * t));
        // Nor does a climb slow enough (0.68 to 0.83 in ten minutes) that three minutes back
        // it stood within the band of where it is now: its newer half is the more throttled.
        assert!(!stepped(600.0, |t| 0.68 + 0.00025 * t));
    }
}
