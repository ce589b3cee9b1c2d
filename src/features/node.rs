//! Node: the node's memory as one container's samples show it. Where a sample does not say
//! how much memory the node has (a foreign trace, a `POST /predict` body), the container's own
//! memory pressure and the page cache it loses stand in for the node's. Beside them, the
//! shares that tell the pod growing into a shortage from a bystander ([`VICTIM_GROWTH`],
//! [`BYSTANDER_SHARE`]; `extract` applies them). These feed `predict`'s eviction rules, not
//! the container's own limit.
use super::memory::file_peak;
use super::{time_to, NODE_EVICTION_BYTES, NODE_EVICTION_GUESS_BYTES, NODE_TREND_SPAN, UNKNOWN};
use crate::history::History;
use crate::sample::Sample;

/// Share of its own working set a container without a limit must have grown by over 5 min to
/// count as growing ([`Features::grows_on_unknown_node`]): above GC and allocation noise.
///
/// [`Features::grows_on_unknown_node`]: super::Features::grows_on_unknown_node
pub const VICTIM_GROWTH: f64 = 0.05;

/// Least share of a node's falling available memory a container's own growth must take
/// ([`Features::shortage_share`]) for the trees' eviction verdict to stand. The kubelet evicts
/// the pod whose usage exceeds its request the most; on a node running short, that is the
/// pod growing into the shortage. A container that holds still while memory runs out around
/// it watches another pod's growth — one this node's samples may not show (a batch job, a
/// pod the agent does not see) — and that pod goes first, and the pressure with it.
///
/// [`Features::shortage_share`]: super::Features::shortage_share
pub const BYSTANDER_SHARE: f64 = 0.05;

/// Least page cache lost for [`cache_squeeze`] to count it, bytes: a small cache's churn
/// (a rotated log, a deleted temp file) is not reclaim.
pub const SQUEEZE_MIN_BYTES: f64 = 8.0 * 1024.0 * 1024.0;

/// Window of [`cache_squeeze`], seconds.
pub const SQUEEZE_WINDOW: f64 = 600.0;

/// Whether `s` does not say how much memory its node has: without MemTotal the share left
/// (`node_available_ratio`) is unknown, and the model learned node pressure only where both
/// are known, so a source that writes MemAvailable alone gets the fallbacks of one that
/// writes neither.
fn node_size_unknown(s: &Sample) -> bool {
    s.node_memory_total_bytes.is_none_or(|t| t == 0)
}

/// Whether `s` is of a container without a memory limit and does not say how much memory the
/// node has: the scope of [`cache_squeeze`], where the container's own signals stand in for
/// the node's.
fn limitless_on_unknown_node(s: &Sample) -> bool {
    s.memory_limit_bytes.is_none() && node_size_unknown(s)
}

/// Share of its memory limit below which a container's usage keeps its own cgroup out of
/// reclaim: memcg reclaims, and stalls the tasks charging it, only when a charge would cross
/// the limit (usage counts the page cache, so a full cache takes it there).
pub const OWN_RECLAIM_USAGE: f64 = 0.9;

/// Whether `s` does not say how much memory the node has left and its container cannot be
/// reclaiming against a limit of its own (none, or usage below [`OWN_RECLAIM_USAGE`] of it):
/// the scope of [`node_pressure_fallback`] and [`Features::grows_on_unknown_node`].
///
/// [`Features::grows_on_unknown_node`]: super::Features::grows_on_unknown_node
pub(super) fn own_reclaim_idle_on_unknown_node(s: &Sample) -> bool {
    node_size_unknown(s)
        && match s.memory_limit_bytes {
            None => true,
            Some(l) => s
                .memory_usage_bytes
                .is_some_and(|u| (u as f64) < OWN_RECLAIM_USAGE * l as f64),
        }
}

/// Memory pressure (PSI avg10, percent: the larger of `full` and half of `some`) of a
/// container that has no memory limit or uses less than [`OWN_RECLAIM_USAGE`] of it, in a
/// sample that does not say how much memory the node has left (a foreign trace, a
/// `POST /predict` body; the agent always knows the node).
///
/// Such a container's own cgroup does not reclaim, so its tasks stall on memory only when the
/// whole node is short of it (or, below the limit, when memory.high throttles it: see
/// [`extract`]): the state in which the kubelet evicts pods without limits first
/// (BestEffort), then Burstable ones above their requests.
///
/// [`extract`]: super::extract
pub fn node_pressure_fallback(s: &Sample) -> Option<f64> {
    if !own_reclaim_idle_on_unknown_node(s) {
        return None;
    }
    let some = s.memory_pressure_some_avg10.filter(|v| v.is_finite());
    let full = s.memory_pressure_full_avg10.filter(|v| v.is_finite());
    match (some, full) {
        (None, None) => None,
        (a, b) => Some(b.unwrap_or(0.0).max(a.unwrap_or(0.0) / 2.0).max(0.0)),
    }
}

/// Share of its page cache (0..1) that a container without a memory limit, in a sample that
/// does not say how much memory the node has left, lost since its peak over the last
/// [`SQUEEZE_WINDOW`] of this instance; 0 for a loss below [`SQUEEZE_MIN_BYTES`].
///
/// Without a limit the container's own cgroup never reclaims: its page cache shrinks only
/// when the app deletes the files or when the node runs short and global reclaim takes the
/// cache of every cgroup, file pages first. For a container that also grows
/// ([`Features::grows_on_unknown_node`]) that is the node filling toward the kubelet's
/// eviction threshold, in a trace without memory PSI as much as with it.
///
/// [`Features::grows_on_unknown_node`]: super::Features::grows_on_unknown_node
pub fn cache_squeeze(h: &History, s: &Sample) -> Option<f64> {
    cache_squeeze_since(h, s, s.ts - SQUEEZE_WINDOW)
}

/// [`cache_squeeze`] counting only the loss since `since` (clamped to the window): where the
/// shortage that took the cache before then has been relieved since.
pub fn cache_squeeze_since(h: &History, s: &Sample, since: f64) -> Option<f64> {
    if !limitless_on_unknown_node(s) {
        return None;
    }
    let now = s.memory_file_bytes? as f64;
    let (_, peak) = file_peak(h, since.max(s.ts - SQUEEZE_WINDOW), (s.ts, now));
    Some(if peak - now >= SQUEEZE_MIN_BYTES {
        (peak - now) / peak
    } else {
        0.0
    })
}

/// The node column of the feature vector and the time to eviction: the memory the kubelet
/// sees left as a share of the node's (unknown where either is), and, for an `evictable`
/// pod, the seconds until it falls to the eviction threshold at `fall` (the slope of the
/// envelope of −available, bytes per second).
pub(super) fn node_columns(
    h: &History,
    s: &Sample,
    evictable: bool,
    fall: Option<f64>,
) -> (f32, Option<f64>) {
    let total = s
        .node_memory_total_bytes
        .map(|v| v as f64)
        .filter(|v| *v > 0.0);
    let avail = s.eviction_available().map(|v| v as f64);
    let ratio = match (avail, total) {
        (Some(a), Some(t)) => (a / t) as f32,
        _ => UNKNOWN,
    };
    // The node's available memory swings with every pod's allocations and collections: its
    // trend is trusted over [`NODE_TREND_SPAN`] of this history, not the first seconds of a
    // container or of the agent.
    let ttl_node = match avail {
        Some(a) if evictable && h.instance_span() >= NODE_TREND_SPAN => {
            // Falling available memory is a negative slope of the envelope of −available.
            let threshold = s
                .node_eviction_threshold_bytes
                .map_or(NODE_EVICTION_BYTES, |t| t as f64);
            time_to(-a, -threshold, fall)
        }
        _ => None,
    };
    (ratio, ttl_node)
}

/// Seconds until the node's available memory falls to the kubelet's threshold where the
/// sample gives it, else to [`NODE_EVICTION_GUESS_BYTES`], where it has fallen steadily for
/// the last 10 minutes of this history and still falls: about as fast in their first half as
/// in their second, and lower at this sample than at the one before. A leak outside the pods
/// seen, not a dip that has just begun or that is ending (a burst of allocations, freed). Timed
/// at the slower of `fall` (the 5-minute envelope's, bytes per second) and the last minute's
/// pace: a fall that slows is judged by where it is going, not by where it came from.
pub(super) fn steady_fall_time(
    h: &History,
    s: &Sample,
    now: f64,
    fall: Option<f64>,
) -> Option<f64> {
    let avail = s.eviction_available()? as f64;
    let (mut first, mut mid, mut minute) = (None, None, None);
    let mut before = f64::INFINITY;
    let mut last: Option<(f64, f64)> = None;
    for b in h.iter_instance(now - STEADY_WINDOW).rev() {
        let v = f64::from(b.last.node_available);
        if !v.is_finite() {
            continue;
        }
        let t = b.t_mid();
        first.get_or_insert((t, v));
        if t >= now - STEADY_WINDOW / 2.0 {
            mid.get_or_insert(v);
        }
        if t >= now - RECENT_PACE_S {
            minute.get_or_insert((t, v));
        }
        if let Some((_, l)) = last {
            before = l;
        }
        last = Some((t, v));
    }
    let ((t0, a), m, (tm, vm), (tz, z)) = (first?, mid?, minute?, last?);
    if t0 > now - 0.9 * STEADY_WINDOW || m <= z || a - m < STEADY_SHARE * (m - z) || z >= before {
        return None;
    }
    let recent = (tz > tm).then(|| (vm - z) / (tz - tm));
    let rate = match (fall, recent) {
        (Some(f), Some(r)) => f.min(r),
        _ => return None,
    };
    // A node already below the guess that has not been relieved sets a lower threshold: the
    // kubelet's default.
    let threshold = s.node_eviction_threshold_bytes.map_or(
        if avail > NODE_EVICTION_GUESS_BYTES {
            NODE_EVICTION_GUESS_BYTES
        } else {
            NODE_EVICTION_BYTES
        },
        |t| t as f64,
    );
    time_to(-avail, -threshold, Some(rate))
}

/// The span [`steady_fall_time`] judges, seconds.
const STEADY_WINDOW: f64 = 600.0;
/// Least share of the last 5 minutes' fall the 5 minutes before must have fallen by for
/// [`steady_fall_time`] to call the fall steady.
const STEADY_SHARE: f64 = 0.7;
/// The recent span whose pace [`steady_fall_time`] weighs against the 5-minute one, seconds.
const RECENT_PACE_S: f64 = 60.0;
