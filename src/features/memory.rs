//! Memory at the limit: what the kernel does before it kills. A container pinned at its limit
//! gives up page cache (fast, or slowly along a line) and swaps anonymous memory out; the time
//! those take is the kill's clock where the working set, held at the limit, tells none. Apart
//! from the working-set trend (`extract`) because these read other series (the page cache,
//! swap) and only postpone or replace its time.
use super::counters::{delta, rate_start};
use super::fit::least_squares;
use super::{time_to, LONG_WINDOW, SHORT_WINDOW, TTL_CAP};
use crate::history::History;
use crate::sample::Sample;

/// Usage, as a share of the limit, at which a container is pinned there by reclaim.
pub const PINNED_USAGE: f64 = 0.97;

/// Least fall of the page cache, as a share of the limit, that shows reclaim taking it.
pub const RECLAIM_FALL: f64 = 0.02;

/// ... or as a share of the cache itself: a cache small beside a large limit (80 MiB in
/// 4 GiB) is taken whole without ever falling by [`RECLAIM_FALL`] of the limit.
pub const RECLAIM_FALL_OF_CACHE: f64 = 0.5;

/// Share of the page cache a workload keeps resident (its hot files) while growing
/// unreclaimable memory crowds the rest out: the kernel can take all of it, but the workload
/// thrashes, and its allocations fail, before the last of it goes.
pub const HOT_CACHE: f64 = 0.5;

/// Growth of swap over [`LONG_WINDOW`] from which a container is swapping (`swap_grew`),
/// bytes: cold pages swapped out once and left there do not move it.
pub const SWAP_GROWTH_MIN: f64 = 4.0 * 1024.0 * 1024.0;

/// Working set / limit from which the working set is saturated: reclaim keeps it from
/// rising further, so only the reclaim estimate (`reclaim_at_limit`) can time what follows.
pub const SATURATED_WS: f64 = 0.99;

/// How long before a sample the usage memory.high holds must already have been reached
/// (`held_at_high`), seconds: a sample or two at a 10–20 s scrape.
pub const HIGH_HELD_AFTER: f64 = 30.0;

/// How far back `held_at_high` looks for that usage, seconds.
pub const HIGH_HELD_WINDOW: f64 = 120.0;

/// How far above that earlier usage, as a share of the limit, usage may stand and still be
/// held (`held_at_high`): a creep slower than this every 2 minutes is far from the limit.
pub const HIGH_HELD_BAND: f64 = 0.005;

/// Whether memory.high holds the container's usage short of its limit with nothing left to
/// reclaim: in the last minute the kernel counted memory.high events (it reclaims and
/// throttles the allocating tasks there) and no memory.max ones, the working set `ws` has met
/// usage (the page cache is gone), and usage, below [`SATURATED_WS`] of the limit, is no
/// higher than it already stood 30 s to 2 min before. A working set that climbed there did
/// so at the page cache's expense, and the climb that brought it says nothing of what comes
/// next: allocations go on only as fast as the kernel lets them past memory.high, and a kill
/// needs usage to break through to the limit, which the next samples show. (While page cache
/// is left under that ceiling, a working set climbing into it is a leak eating the cache,
/// timed as ever.) Asked only of a container with a time to its limit.
pub(super) fn held_at_high(h: &History, s: &Sample, ws: f64, limit: f64) -> bool {
    let (Some(u), Some(_), Some(_)) = (
        s.memory_usage_bytes.map(|u| u as f64),
        s.memory_high_events_total,
        s.memory_max_events_total,
    ) else {
        return false;
    };
    let band = HIGH_HELD_BAND * limit;
    if u >= SATURATED_WS * limit || ws < u - band {
        return false;
    }
    // Over the last minute: memory.high events, and no memory.max ones.
    let c = h.counters_of(s);
    if delta(h, s.ts, 60.0, c.high_events, |b| b.last.high_events) <= 0.0
        || delta(h, s.ts, 60.0, c.max_events, |b| b.last.max_events) > 0.0
    {
        return false;
    }
    let before = h
        .iter_instance(s.ts - HIGH_HELD_WINDOW)
        .filter(|b| b.t_last <= s.ts - HIGH_HELD_AFTER)
        .map(|b| f64::from(b.usage_max))
        .fold(f64::NAN, f64::max); // max skips the NaN of a bucket without usage
    before.is_finite() && u <= before + band
}

/// A container held at its limit by reclaim ([`reclaim_at_limit`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Reclaim {
    /// Page cache left to give up, bytes.
    pub(super) room: f64,
    /// Seconds until it is gone at the pace it goes.
    pub(super) ttl: f64,
}

/// The highest page cache (time, bytes) among this instance's buckets since `since` and
/// `newest` (the sample's own): `newest` unless a bucket holds more, else the earliest such
/// bucket of the highest.
pub(super) fn file_peak(h: &History, since: f64, newest: (f64, f64)) -> (f64, f64) {
    h.iter_instance(since)
        .filter(|b| b.last.file.is_finite())
        .map(|b| (b.t_last, f64::from(b.last.file)))
        .fold(newest, |a, b| if b.1 > a.1 { b } else { a })
}

/// Room and time until a container held at its limit by reclaim runs out of page cache to give up:
/// usage pinned at the limit ([`PINNED_USAGE`]) while the page cache falls (by
/// [`RECLAIM_FALL`] or more from its peak in the last 5 minutes of this instance) is the
/// kernel trading cache for growing unreclaimable memory, and the kill comes when what is
/// left ([`HOT_CACHE`] of the cache kept) is gone at that pace, the fall spread over the
/// 5 minutes (or the instance's span, if shorter) however recent the peak. The working set
/// says nothing then: it sits at the limit, active page cache included, for as long as there
/// is cache to give. A filling tmpfs (counted in the page cache, never reclaimed) keeps the
/// cache from falling, so it is not taken for this.
pub(super) fn reclaim_at_limit(h: &History, s: &Sample, limit: Option<f64>) -> Option<Reclaim> {
    let l = limit?;
    if (s.memory_usage_bytes? as f64) < PINNED_USAGE * l {
        return None;
    }
    let now = s.memory_file_bytes? as f64;
    let (t_peak, peak) = file_peak(h, s.ts - LONG_WINDOW, (s.ts, now));
    let fall = peak - now;
    // tmpfs is in the page cache but is no room: it is never reclaimed.
    let cache = (now - s.memory_shmem_bytes.map_or(0.0, |v| v as f64)).max(0.0);
    let (room, pace) = if fall >= (RECLAIM_FALL * l).min(RECLAIM_FALL_OF_CACHE * peak)
        && s.ts - t_peak >= SHORT_WINDOW
    {
        // Paced over the whole window the history covers, not from the peak alone: a cache
        // that held, then gave a step, falls that fast only while the step lasts.
        let span = (s.ts - t_peak).max(LONG_WINDOW.min(h.instance_span()));
        ((1.0 - HOT_CACHE) * cache, fall / span)
    } else {
        // A reclaim that slow has been taking the hot part too: the kill comes when it has
        // taken all but the last pages.
        let room = cache - SLOW_RECLAIM_FLOOR * l;
        (room, slow_reclaim(h, s.ts, l).filter(|_| room > 0.0)?)
    };
    Some(Reclaim {
        room,
        ttl: (room / pace).min(TTL_CAP),
    })
}

/// The pace (bytes a second) of a reclaim too slow for [`reclaim_at_limit`]'s 5 minutes:
/// the page cache falling along a line ([`SLOW_RECLAIM_R2`]) over the last
/// [`SLOW_RECLAIM_WINDOW`], by [`SLOW_RECLAIM_FALL`] of the limit or more, while the working
/// set stayed near the limit ([`SLOW_RECLAIM_HELD`]). A leak that
/// creeps at its limit takes the cache a few MiB a minute, for half an hour; a filling tmpfs
/// (in the page cache, never reclaimed) or a cache that dips and refills is no line down.
fn slow_reclaim(h: &History, now: f64, limit: f64) -> Option<f64> {
    if h.instance_span() < SLOW_RECLAIM_WINDOW {
        return None;
    }
    let held = SLOW_RECLAIM_HELD * limit;
    let window = || h.iter_instance(now - SLOW_RECLAIM_WINDOW);
    // Held there all along: a sawtooth that only touches the limit at its peaks sheds cache
    // as its floor creeps, and dies at a peak, by its own clock.
    if window().any(|b| f64::from(b.ws_mean()) < held) {
        return None;
    }
    let fit = least_squares(window().map(|b| (b.t_last, f64::from(b.last.file))))?;
    let fall = -fit.slope * SLOW_RECLAIM_WINDOW;
    (fall >= SLOW_RECLAIM_FALL * limit && fit.r2 >= SLOW_RECLAIM_R2).then_some(-fit.slope)
}

/// Window of `slow_reclaim`, seconds.
pub const SLOW_RECLAIM_WINDOW: f64 = 600.0;

/// Least fall of the page cache over [`SLOW_RECLAIM_WINDOW`] that `slow_reclaim` takes
/// for reclaim, as a share of the limit.
pub const SLOW_RECLAIM_FALL: f64 = 0.01;

/// Page cache, as a share of the limit, that a slow reclaim (`slow_reclaim`) leaves when
/// the kill comes.
pub const SLOW_RECLAIM_FLOOR: f64 = 0.01;

/// Least working set, as a share of the limit, of every bucket in `slow_reclaim`'s window.
pub const SLOW_RECLAIM_HELD: f64 = 0.9;

/// Least r² of the page cache's line down in `slow_reclaim`.
pub const SLOW_RECLAIM_R2: f64 = 0.6;

/// [`Features::swap_floor`]: `cache_room` is the room left in memory as the cache floor counts
/// it (bytes), `anon_env5` the growth of unreclaimable memory (bytes a second). Swapping
/// starts when the working set meets the limit, so a five-minute rate understates it for
/// minutes: the floor runs at the faster of the last minute's and the five minutes' (it only
/// postpones, and a faster pace postpones less).
///
/// [`Features::swap_floor`]: super::Features::swap_floor
pub(super) fn swap_floor(
    h: &History,
    s: &Sample,
    cache_room: f64,
    anon_env5: Option<f64>,
) -> Option<f64> {
    swap_time(h, s, cache_room, anon_env5, &[60.0, LONG_WINDOW])
}

/// [`Features::swap_fill`]: the time [`swap_floor`] counts, while swap grows
/// ([`swap_grew`]), at the five minutes' pace alone. It is the only time there is, so a
/// burst of swapping as the limit is met must not make it short: a leak that has filled its
/// swap goes on to take the page cache, and is killed only when that is gone too.
///
/// [`Features::swap_fill`]: super::Features::swap_fill
pub(super) fn swap_fill(
    h: &History,
    s: &Sample,
    cache_room: f64,
    anon_env5: Option<f64>,
) -> Option<f64> {
    // Without a swap limit there is nothing to fill: asked first, it spares the walk.
    if s.memory_swap_limit_bytes.is_none() || !swap_grew(h, s) {
        return None;
    }
    swap_time(h, s, cache_room, anon_env5, &[LONG_WINDOW])
}

/// Seconds until unreclaimable memory and swap together have filled the room left in swap
/// (`None` where none is left or the swap limit is unknown) and `cache_room` in memory, at
/// the growth of unreclaimable memory plus the fastest pace of swap over `windows`: what goes
/// to swap is growth the working set does not show.
fn swap_time(
    h: &History,
    s: &Sample,
    cache_room: f64,
    anon_env5: Option<f64>,
    windows: &[f64],
) -> Option<f64> {
    let swap = s.memory_swap_bytes? as f64;
    let room = s.memory_swap_limit_bytes? as f64 - swap;
    if room <= 0.0 {
        return None;
    }
    let swapped = windows
        .iter()
        .filter_map(|w| rate_start(h, s.ts, *w))
        .filter(|b| b.swap_last.is_finite() && s.ts > b.t_last)
        .map(|b| (swap - f64::from(b.swap_last)) / (s.ts - b.t_last))
        .fold(0.0, f64::max);
    time_to(
        0.0,
        room + cache_room.max(0.0),
        Some(anon_env5.unwrap_or(0.0).max(0.0) + swapped),
    )
}

/// The swap of the running instance grew by [`SWAP_GROWTH_MIN`] or more over the last
/// [`LONG_WINDOW`]: the kernel is swapping its memory out (at its limit, or under the node's
/// pressure), not only holding what it swapped out once.
fn swap_grew(h: &History, s: &Sample) -> bool {
    let Some(swap) = s.memory_swap_bytes else {
        return false;
    };
    rate_start(h, s.ts, LONG_WINDOW)
        .filter(|b| b.swap_last.is_finite())
        .is_some_and(|b| swap as f64 - f64::from(b.swap_last) >= SWAP_GROWTH_MIN)
}
