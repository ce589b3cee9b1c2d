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
//! This module must not decide anything (no thresholds, no alarms): that is `predict`.
use crate::history::{Bucket, History, Step, BUCKET_SECONDS, CAPACITY};
use crate::sample::{Qos, Sample, CRITICAL_PRIORITY};
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
    ("ttl_mem_s", "s", "time until the working set (at a scrape of 40 s or more in a GC trough: the recent peaks' line) reaches the limit at the 5 min envelope growth (min of ws and unreclaimable growth), once trusted (150 s and 10 buckets of history of this container instance, whole GC cycles or none in both halves of the window (at scrapes of 40 s or more, or cycles in both halves of the 10 min window), a rise above the noise of the bucket peaks and, at scrapes under 40 s, a climbing mean, and not a fresh ramp (80 % of the 5 min rise in the last 60 s after a flat window) unless memory.high events or memory PSI of 10 % say the kernel held that level; not while an instance younger than 10 min has stopped rising or levels off below its limit; or a clean linear climb above 92 % of the limit that reaches it within 60 s); at least, while usage is pinned at the limit and the page cache gives way, the time until half of the cache left is gone at that pace, or, for a fall along a line over 10 min with the working set held at 90 % of the limit, until all but 1 % of the limit is (that time alone where the working set is saturated at 99 % of the limit, whose trend then says nothing); 3600 otherwise"),
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
    ("ttl_pids_s", "s", "time until pids.current reaches pids.max at the 5 min envelope growth; 3600 when not growing"),
    ("restarts_10m", "count", "container restarts over 10 min"),
    ("last_reason", "code", "last termination reason: 0 none, 1 OOMKilled, 2 Error, 3 Evicted, 4 other"),
    ("node_available_ratio", "ratio", "memory the kubelet sees left (the lower of node MemAvailable and the pods' allocatable headroom) / MemTotal; -1 when unknown"),
    ("ttl_node_s", "s", "time until the memory the kubelet sees left (node MemAvailable, or the pods' allocatable headroom where lower) falls to its eviction threshold (the sample's, else its default 100 MiB) at its 5 min trend, for BestEffort/Burstable pods; 3600 otherwise"),
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
    /// limit ([`assumed_pids_limit`]; the feature `ttl_pids_s` counts neither).
    pub ttl_pids: Option<f64>,
    /// Seconds until node eviction pressure, for pods the kubelet would evict first.
    pub ttl_node: Option<f64>,
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
    /// On a node whose available memory has been falling over the last 5 min (its envelope),
    /// how much of that fall this container's working set took over the same window (its
    /// envelope's rise over the node's fall; `None` where the node is not falling or either
    /// is unknown). See [`BYSTANDER_SHARE`].
    pub shortage_share: Option<f64>,
    /// Seconds between this container's samples ([`History::sample_gap`]).
    pub sample_gap: f64,
    /// At a sparse scrape, a step by which the working set set a new high in the last
    /// [`LONG_WINDOW`] would reach the limit from where it stands ([`step_reaches_limit`]).
    pub step_reaches_limit: bool,
    /// When the next step that does not fit can come, for a leak that grows in regular steps
    /// ([`step_clock`]); `predict::assess` weighs it against `ttl_mem` and the burst rule.
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
    /// ([`swap_fill`]). A leak swapped out as fast as it grows holds the working set at the
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
    /// `restarts_10m` (`x[22]`), or, without the kubelet's `finishedAt`, with the restarts
    /// before first sight dated by the instance's CPU counter ([`restarts_dated`]): what the
    /// restart-loop rule counts.
    pub restarts_recent: f32,
}

/// Least-squares fit result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Slope, units of y per second.
    pub slope: f64,
    /// Coefficient of determination (0 when y is constant).
    pub r2: f64,
    /// Points used.
    pub n: usize,
    /// Standard error of the slope (0 with 3 points on a line).
    pub se: f64,
    /// Mean time of the points.
    pub t_mean: f64,
    /// Mean value of the points.
    pub y_mean: f64,
}

impl Fit {
    /// The fitted line's value at time `t`.
    pub fn at(&self, t: f64) -> f64 {
        self.y_mean + self.slope * (t - self.t_mean)
    }
}

/// Ordinary least squares of y on t (t shifted for numeric stability). `None` with fewer
/// than 3 points or no spread in time.
pub fn least_squares(pts: impl Iterator<Item = (f64, f64)>) -> Option<Fit> {
    weighted_least_squares(pts.map(|(t, y)| (t, y, 1.0)))
}

/// Least squares of y on t with a weight per point (`(t, y, w)`, e.g. the samples behind a
/// bucket mean, whose variance falls with their number). `None` with fewer than 3 points or
/// no spread in time.
pub fn weighted_least_squares(pts: impl Iterator<Item = (f64, f64, f64)>) -> Option<Fit> {
    let mut n = 0usize;
    let (mut t0, mut sw, mut st, mut sy, mut stt, mut sty, mut syy) =
        (f64::NAN, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (t, y, w) in pts {
        if !y.is_finite() || !w.is_finite() || w <= 0.0 {
            continue;
        }
        if n == 0 {
            t0 = t;
        }
        let t = t - t0;
        n += 1;
        sw += w;
        st += w * t;
        sy += w * y;
        stt += w * t * t;
        sty += w * t * y;
        syy += w * y * y;
    }
    if n < 3 {
        return None;
    }
    let vt = stt - st * st / sw;
    let vy = syy - sy * sy / sw;
    let cty = sty - st * sy / sw;
    if vt <= 1e-9 * sw / n as f64 {
        return None;
    }
    let slope = cty / vt;
    // Residual variance per unit weight over the spread in time (weights are relative).
    let se = ((vy - slope * cty).max(0.0) / (n as f64 - 2.0) / vt).sqrt();
    let r2 = if vy > 0.0 {
        (cty * cty / (vt * vy)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    Some(Fit {
        slope,
        r2,
        n,
        se,
        t_mean: t0 + st / sw,
        y_mean: sy / sw,
    })
}

/// The span of this instance's history inside the last `window` seconds, and the time that
/// splits it into the older and the recent half (`None` without history).
fn half_window(h: &History, now: f64, window: f64) -> Option<(f64, f64)> {
    let oldest = h.iter_instance(now - window).next_back()?;
    let span = (now - oldest.t_first).min(window);
    Some((span, now - span / 2.0))
}

/// Whether the working set of this instance over the last 10 minutes is a climb that noise
/// or an aliased GC cycle cannot fake: no fall of `min_fall` over a run of falling samples (a
/// GC cycle; a creeping GC floor waits for the point count instead), and a least-squares
/// line through the bucket means whose slope has a t statistic ≥ [`CLIMB_T`] over ≥ 5
/// points. A flat noisy line gives t ≥ 6 by chance about once in a thousand windows of 5
/// points, far less with more; a leak sampled every 60 s gives t in the tens. An
/// accelerating leak bends away from any line (five points of one that fills its limit in
/// five minutes give t ≈ 5), so a window whose every point is above the one before also
/// counts from t ≥ [`CLIMB_T_MONOTONE`]: noise orders five points that way once in 120
/// windows, ten once in 3.6 million.
fn significant_climb(h: &History, now: f64, min_fall: f32) -> bool {
    let window = now - 2.0 * LONG_WINDOW;
    if h.iter_instance(window).any(|b| b.ws_fall >= min_fall) {
        return false;
    }
    let (t2, n) = climb_t2(h, window);
    if n < 5 {
        return false;
    }
    t2 >= CLIMB_T * CLIMB_T || (t2 >= CLIMB_T_MONOTONE * CLIMB_T_MONOTONE && rising(h, window))
}

/// Squared t statistic of a rising least-squares line through this instance's bucket means
/// of the working set since `since` (0 when the line falls), and the number of points.
fn climb_t2(h: &History, since: f64) -> (f64, usize) {
    let fit = least_squares(
        h.iter_instance(since)
            .map(|b| (b.t_mid(), b.ws_mean() as f64)),
    );
    let t2 = match fit {
        Some(f) if f.slope > 0.0 && f.r2 >= 1.0 => f64::INFINITY,
        Some(f) if f.slope > 0.0 => f.r2 * (f.n - 2) as f64 / (1.0 - f.r2),
        _ => 0.0,
    };
    (t2, fit.map_or(0, |f| f.n))
}

/// Whether every bucket mean of this instance since `since` is above the one before it.
fn rising(h: &History, since: f64) -> bool {
    let mut newer = f32::INFINITY;
    h.iter_instance(since).filter(|b| b.ws_n > 0).all(|b| {
        let m = b.ws_mean();
        let below = m < newer;
        newer = m;
        below
    })
}

/// Envelope slope of `get` over the last 10 minutes (twice [`LONG_WINDOW`], with twice
/// [`MIN_ENVELOPE_SPAN`] of data at least): the longer window the working set's trend and the
/// cache floor each take beside the 5-minute one, for the slower of the two.
fn envelope_slope_10m(h: &History, now: f64, get: impl Fn(&Bucket) -> f32) -> Option<f64> {
    envelope_slope(h, now, 2.0 * LONG_WINDOW, 2.0 * MIN_ENVELOPE_SPAN, get)
}

/// Envelope slope over the last `window` seconds ending at `now`: (max of the recent half −
/// max of the older half) / half the covered span. Needs at least `min_span` seconds of data
/// and a value in each half; units of y per second.
pub fn envelope_slope(
    h: &History,
    now: f64,
    window: f64,
    min_span: f64,
    get: impl Fn(&Bucket) -> f32,
) -> Option<f64> {
    envelope(h, now, window, min_span, get).map(|e| e.slope)
}

/// The upper envelope of a series over a window: its slope and the peak it rises from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Envelope {
    /// (max of the recent half − max of the older half) / half the covered span, per second.
    pub slope: f64,
    /// Max of the recent half.
    pub peak: f64,
    /// Mid-time of the bucket holding that max.
    pub peak_t: f64,
}

impl Envelope {
    /// Where the peaks' line stands at `now`: the recent peak carried forward at `growth` per
    /// second (this envelope's slope, or a slower one that other windows agree on). A
    /// sawtooth crosses its limit at a peak, so its time to limit runs from that line, not
    /// from a sample that may sit in a trough after a collection.
    pub fn level_at(&self, now: f64, growth: f64) -> f64 {
        self.peak + growth.max(0.0) * (now - self.peak_t).max(0.0)
    }
}

/// [`envelope_slope`] with the recent peak it rises from.
pub fn envelope(
    h: &History,
    now: f64,
    window: f64,
    min_span: f64,
    get: impl Fn(&Bucket) -> f32,
) -> Option<Envelope> {
    let [e] = envelopes(h, now, window, min_span, |b| [get(b)]);
    e
}

/// [`envelope`] of several series over one window in a single walk of the history: the
/// extractor wants four over the long window, and a walk per series was a quarter of its
/// time per sample. `get` gives the `K` values of a bucket.
pub fn envelopes<const K: usize>(
    h: &History,
    now: f64,
    window: f64,
    min_span: f64,
    get: impl Fn(&Bucket) -> [f32; K],
) -> [Option<Envelope>; K] {
    let Some((span, mid)) = half_window(h, now, window).filter(|&(span, _)| span >= min_span)
    else {
        return [None; K];
    };
    // Maxima are taken in f32, the buckets' own precision: widening to f64 is exact and keeps
    // the order, so the result is the same without a conversion per value.
    let (mut recent, mut older, mut peak_t) =
        ([f32::NEG_INFINITY; K], [f32::NEG_INFINITY; K], [now; K]);
    for b in h.iter_instance(now - window) {
        let t = b.t_mid();
        let vs = get(b);
        // A value that is not finite (NaN: a gap in that series) leaves that series' maxima
        // alone; the others still tell.
        if t >= mid {
            for k in 0..K {
                if vs[k] > recent[k] && vs[k].is_finite() {
                    (recent[k], peak_t[k]) = (vs[k], t);
                }
            }
        } else {
            for k in 0..K {
                if vs[k].is_finite() {
                    older[k] = older[k].max(vs[k]);
                }
            }
        }
    }
    std::array::from_fn(|k| {
        let (recent, older) = (f64::from(recent[k]), f64::from(older[k]));
        (recent.is_finite() && older.is_finite()).then(|| Envelope {
            slope: (recent - older) / (span / 2.0),
            peak: recent,
            peak_t: peak_t[k],
        })
    })
}

/// Whether the envelope slope over the last `window` seconds can be taken at face value for a
/// time to limit. Two ways it can mislead:
/// - part cycles: the working set fell by `min_fall` over a run of falling samples (a GC cycle)
///   in one half of the window only, so the other half holds part of a cycle whose maximum
///   depends on where the window cut it (a steady sawtooth then looks like a rising one);
///   falls in both halves (each maximum a real peak) or in neither (a leak) are fine;
/// - noise: without cycles, the rise between the two half-window peaks is under
///   [`RISE_NOISE`] times the mean step between neighbouring bucket peaks, so two noisy
///   maxima of a flat line can differ that much by chance.
///
/// `sample_gap` is [`History::sample_gap`], computed once per sample by [`extract`].
pub fn envelope_trusted(
    h: &History,
    now: f64,
    window: f64,
    min_fall: f32,
    sample_gap: f64,
) -> bool {
    let Some((_, mid)) = half_window(h, now, window) else {
        return false;
    };
    match falls_by_half(h, now, window, mid, min_fall) {
        (true, true) => true,
        (false, false) => {
            let (mut peak_recent, mut peak_older) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
            let (mut steps, mut n_steps, mut newer) = (0.0f32, 0u32, None::<f32>);
            for b in h.iter_instance(now - window) {
                if b.t_mid() >= mid {
                    peak_recent = peak_recent.max(b.ws_max);
                } else {
                    peak_older = peak_older.max(b.ws_max);
                }
                if b.ws_max.is_nan() {
                    // No working set in this bucket: the step is measured across it.
                    continue;
                }
                if let Some(n) = newer {
                    steps += (n - b.ws_max).abs();
                    n_steps += 1;
                }
                newer = Some(b.ws_max);
            }
            let noise = if n_steps > 0 {
                steps / n_steps as f32
            } else {
                0.0
            };
            // With many points a flat noisy line is also told apart by the means: its
            // half-window maxima can differ by chance, its mean trend rarely does. Few points
            // (a 60 s scrape) give that test no power against an aliased GC creep.
            peak_recent - peak_older >= RISE_NOISE * noise
                && (sample_gap >= TREND_MAX_GAP
                    || climb_t2(h, now - 2.0 * window).0 >= TREND_T * TREND_T)
        }
        _ => false,
    }
}

/// Whether the recent and the older half of the last `window` seconds (split at `mid`) each
/// hold a GC collection: a fall of the working set by `min_fall` over a run of falling
/// samples. (recent, older).
fn falls_by_half(h: &History, now: f64, window: f64, mid: f64, min_fall: f32) -> (bool, bool) {
    let (mut recent, mut older) = (false, false);
    for b in h.iter_instance(now - window) {
        if b.ws_fall >= min_fall {
            if b.t_mid() >= mid {
                recent = true;
            } else {
                older = true;
            }
        }
    }
    (recent, older)
}

/// Whether both halves of the last `window` seconds hold a GC collection
/// ([`falls_by_half`]), so that each half's maximum is a real peak. At a sparse scrape a GC
/// cycle of about 5 minutes puts one fall in one half of the 5 min window only, and
/// [`envelope_trusted`] rightly refuses it; over 10 minutes each half holds one whole cycle
/// and the two peaks give the creep.
fn falls_in_both_halves(h: &History, now: f64, window: f64, min_fall: f32) -> bool {
    half_window(h, now, window)
        .is_some_and(|(_, mid)| falls_by_half(h, now, window, mid, min_fall) == (true, true))
}

/// Whether the working set's rise over the last [`LONG_WINDOW`] is a fresh one: at least
/// [`FRESH_SHARE`] of it came in the last [`FRESH_RISE`] seconds, and the minutes before held
/// within [`FRESH_FLAT`] of it. A batch job or a burst of requests ramps like that and stops;
/// a leak, a stepwise leak between chunks and a creeping GC floor had risen before. `ws` is
/// the newest working set.
fn fresh_rise(h: &History, now: f64, ws: f64) -> bool {
    let (mut low_recent, mut low_all) = (f64::INFINITY, f64::INFINITY);
    let (mut lo_before, mut hi_before, mut before) = (f64::INFINITY, f64::NEG_INFINITY, 0);
    for b in h.iter_instance(now - LONG_WINDOW) {
        let v = f64::from(b.ws_mean());
        if !v.is_finite() {
            continue;
        }
        low_all = low_all.min(v);
        if b.t_last > now - FRESH_RISE {
            low_recent = low_recent.min(v);
        } else {
            (lo_before, hi_before) = (lo_before.min(v), hi_before.max(v));
            before += 1;
        }
    }
    let (rise, recent) = (ws - low_all, ws - low_recent);
    before >= 3
        && rise > 0.0
        && recent >= FRESH_SHARE * rise
        && hi_before - lo_before <= FRESH_FLAT * rise
}

/// Whether the working set of a young instance (started less than [`SETTLE_AGE`] ago) is
/// settling at a level below its limit rather than leaking toward it, so that the envelope's
/// `growth` (bytes per second) is an earlier ramp, not a trend: a heap sizing itself after a
/// start, a cache warming up, or the first run of a batch job. Either it stopped
/// ([`stalled`]) or it slows down so fast that it levels off short of the `headroom`
/// ([`levels_off`]). Older instances are not checked: there a level that steps up and holds
/// is more often a stepwise leak between two chunks.
fn settling(h: &History, now: f64, growth: f64, headroom: f64) -> bool {
    h.instance_span() < SETTLE_AGE && (stalled(h, now, growth) || levels_off(h, now, headroom))
}

/// Whether the working set stopped rising although the envelope still reports `growth`: the
/// line through the newest 3, 5, 10 or 15 bucket means ([`STALL_FITS`]) rises at under
/// [`STALL_SHARE`] of it even two standard errors above its slope. A ramp that ended keeps the
/// envelope's recent-half peak above the older one for up to a whole window; a leak keeps
/// rising. Several lengths, because the flat stretch after a ramp is short at first (two
/// scrapes at 15 s when the trust span opens) and the longer fits are the sharper ones.
fn stalled(h: &History, now: f64, growth: f64) -> bool {
    let mut pts = [(0.0, 0.0, 0.0); STALL_FITS[STALL_FITS.len() - 1]];
    let mut n = 0;
    for b in h.iter_instance(now - LONG_WINDOW).take(pts.len()) {
        pts[n] = bucket_mean(b);
        n += 1;
    }
    STALL_FITS.into_iter().filter(|&k| k <= n).any(|k| {
        weighted_least_squares(pts[..k].iter().rev().copied())
            .is_some_and(|f| f.slope + 2.0 * f.se < STALL_SHARE * growth)
    })
}

/// Whether the growth slows down so fast that it levels off before the limit, `headroom`
/// bytes away: the line through the bucket means of the recent half of the envelope window
/// rises slower than the one through the older half even two standard errors apart, and a
/// rate that keeps falling at the pace of the two slopes (`g₀` at the older half's mean time,
/// `g` at the recent one's, `Δt` apart: `τ = Δt / ln(g₀/g)`) adds at most `g(now) · τ` before
/// it stops, with `g(now) = g · e^(−(now − t)/τ)`. A leak holds its pace or speeds up. The
/// standard errors decide whether it slows at all; the rise left is taken from the slopes
/// themselves, as widening both by their errors and stopping the decay at the recent half's
/// middle overstated it about two-fold for a warm-up seen from its start.
fn levels_off(h: &History, now: f64, headroom: f64) -> bool {
    let Some((_, mid)) = half_window(h, now, LONG_WINDOW) else {
        return false;
    };
    let half = |recent: bool| {
        weighted_least_squares(
            h.iter_instance(now - LONG_WINDOW)
                .filter(|b| (b.t_mid() >= mid) == recent)
                .map(bucket_mean),
        )
        .filter(|f| f.n >= SETTLE_POINTS)
    };
    let (Some(older), Some(recent)) = (half(false), half(true)) else {
        return false;
    };
    let g_old = older.slope - 2.0 * older.se;
    let g_new = recent.slope + 2.0 * recent.se;
    if g_old <= 0.0 || g_new >= g_old {
        return false;
    }
    // Significantly slower than before and, at its best estimate, no longer rising.
    if g_new <= 0.0 || recent.slope <= 0.0 {
        return true;
    }
    let tau = (recent.t_mean - older.t_mean) / (older.slope / recent.slope).ln();
    let rate_now = recent.slope * (-(now - recent.t_mean) / tau).exp();
    rate_now * tau < headroom
}

/// A bucket's mean working set as a weighted point: its variance falls with its samples.
fn bucket_mean(b: &Bucket) -> (f64, f64, f64) {
    (b.t_mid(), b.ws_mean() as f64, f64::from(b.ws_n))
}

/// [`Features::swap_floor`]: `cache_room` is the room left in memory as the cache floor counts
/// it (bytes), `anon_env5` the growth of unreclaimable memory (bytes a second). Swapping
/// starts when the working set meets the limit, so a five-minute rate understates it for
/// minutes: the floor runs at the faster of the last minute's and the five minutes' (it only
/// postpones, and a faster pace postpones less).
fn swap_floor(h: &History, s: &Sample, cache_room: f64, anon_env5: Option<f64>) -> Option<f64> {
    swap_time(h, s, cache_room, anon_env5, &[60.0, LONG_WINDOW])
}

/// [`Features::swap_fill`]: the time [`swap_floor`] counts, while swap grows
/// ([`swap_grew`]), at the five minutes' pace alone. It is the only time there is, so a
/// burst of swapping as the limit is met must not make it short: a leak that has filled its
/// swap goes on to take the page cache, and is killed only when that is gone too.
fn swap_fill(h: &History, s: &Sample, cache_room: f64, anon_env5: Option<f64>) -> Option<f64> {
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

/// The bucket a rate over the last `window` seconds runs from: the newest at or before the
/// window's start (the oldest there is in a shorter history), but none of a dead instance. A
/// restarted container's counters began again from zero, so a bucket before the restart gives
/// no rate at all, and for the new instance's first minute its rate runs from the instance's
/// first bucket (it read 0 there: a container restarted into a CPU quota it burns whole looked
/// idle until a minute after the restart).
fn rate_start(h: &History, now: f64, window: f64) -> Option<&Bucket> {
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
fn delta(h: &History, now: f64, window: f64, cur: f32, get: impl Fn(&Bucket) -> f32) -> f32 {
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
fn restarts_10m(h: &History, s: &Sample, now: f64, cur: f32) -> f32 {
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
fn restarts_dated(h: &History, s: &Sample, now: f64, cur: f32, counted: f32) -> f32 {
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

/// The least task limit assumed where the samples carry none ([`assumed_pids_limit`]).
pub const PIDS_ASSUMED_MIN: u64 = 512;
/// Most a task count may have multiplied over 5 minutes and still be timed to an assumed
/// limit ([`pids_limit_guessable`]).
pub const PIDS_GUESS_GROWTH: f32 = 2.0;

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

fn opt_f(v: Option<f64>) -> f32 {
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
/// A trusted envelope rise is at least this many mean steps between neighbouring bucket
/// peaks (see [`envelope_trusted`]); a steady leak rises by one step per bucket.
pub const RISE_NOISE: f32 = 1.5;
/// t statistic of the line through the bucket means that a rise of the envelope without
/// GC cycles needs as well (see [`envelope_trusted`]).
pub const TREND_T: f64 = 3.0;
/// Mean sample interval below which [`TREND_T`] applies, seconds: a 30 s scrape still shows
/// a creeping GC floor in the means, a 60 s one aliases it into noise.
pub const TREND_MAX_GAP: f64 = 40.0;
/// History of the instance needed when fewer than [`TRUST_BUCKETS`] points are there: long
/// enough that a GC cycle of up to 2 minutes has shown at least one fall at a 30–60 s scrape
/// unless the scrape aliases it (the first ramp of a sawtooth looked like a leak at 150 s).
pub const SPARSE_TRUST_SPAN: f64 = 225.0;
/// t statistic of the working-set slope that counts as a climb on few points
/// ([`significant_climb`]).
pub const CLIMB_T: f64 = 6.0;
/// ... and the one that does when every point is above the one before.
pub const CLIMB_T_MONOTONE: f64 = 4.0;
/// Working set / limit above which a short but clean climb is trusted at once...
pub const NEAR_LIMIT: f64 = 0.92;
/// ...when it reaches the limit within this many seconds.
pub const EARLY_TTL: f64 = 60.0;
/// Instances younger than this may still be warming up ([`settling`]), seconds: the ring's
/// length, so their start is in view.
pub const SETTLE_AGE: f64 = 600.0;
/// Least bucket means per half-window fit of [`levels_off`].
pub const SETTLE_POINTS: usize = 5;
/// Newest bucket means fitted by [`stalled`], shortest first. The 3-point fit's standard error
/// rests on one degree of freedom; it is kept because it alone sees a ramp that ended two
/// scrapes ago, and it cost no hit on the held-out and outside traces (a few leads moved by
/// seconds; docs/predictor.md).
pub const STALL_FITS: [usize; 4] = [3, 5, 10, 15];
/// Share of the envelope growth under which the recent growth counts as stopped.
pub const STALL_SHARE: f64 = 0.25;
/// A rise most of which came within this many seconds is fresh ([`fresh_rise`])...
pub const FRESH_RISE: f64 = 60.0;
/// ... this share of it ...
pub const FRESH_SHARE: f64 = 0.8;
/// ... while the rest of the window held within this share of it.
pub const FRESH_FLAT: f64 = 0.2;
/// Memory PSI some (percent) at which a level is the kernel's doing, not the app's.
pub const PRESSED_PSI: f64 = 10.0;
/// Least history before an envelope slope is computed, seconds.
pub const MIN_ENVELOPE_SPAN: f64 = 20.0;
/// Window of `restarts_10m`, seconds.
const RESTARTS_WINDOW: f64 = 600.0;
/// Restarts behind a young instance that, without the kubelet's `finishedAt`, make a crash
/// loop in progress ([`restarts_10m`]).
pub const LOOP_RESTARTS: f32 = 3.0;
/// Age below which an instance restarted within the kubelet's longest back-off (5 min): the
/// restarts behind it are recent ([`restarts_10m`]).
pub const LOOP_AGE: f64 = 300.0;
/// [`LOOP_AGE`] after an OOM kill: a leak killed at its limit starts again from zero and
/// is killed minutes or hours later (its memory terms speak for it); a limit below what the
/// app needs at start-up kills every instance within a minute.
pub const LOOP_AGE_OOM: f64 = 60.0;
/// Window of the `oom_kills_10m` feature, seconds.
pub const OOM_KILLS_WINDOW: f64 = 600.0;
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
/// Share of its own working set a container without a limit must have grown by over 5 min to
/// count as growing ([`Features::grows_on_unknown_node`]): above GC and allocation noise.
pub const VICTIM_GROWTH: f64 = 0.05;
/// Least share of a node's falling available memory a container's own growth must take
/// ([`Features::shortage_share`]) for the trees' eviction verdict to stand. The kubelet evicts
/// the pod whose usage exceeds its request the most; on a node running short, that is the
/// pod growing into the shortage. A container that holds still while memory runs out around
/// it watches another pod's growth — one this node's samples may not show (a batch job, a
/// pod the agent does not see) — and that pod goes first, and the pressure with it.
pub const BYSTANDER_SHARE: f64 = 0.05;
/// Least page cache lost for [`cache_squeeze`] to count it, bytes: a small cache's churn
/// (a rotated log, a deleted temp file) is not reclaim.
pub const SQUEEZE_MIN_BYTES: f64 = 8.0 * 1024.0 * 1024.0;
/// Window of [`cache_squeeze`], seconds.
pub const SQUEEZE_WINDOW: f64 = 600.0;

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

/// Growth of swap over [`LONG_WINDOW`] from which a container is swapping ([`swap_grew`]),
/// bytes: cold pages swapped out once and left there do not move it.
pub const SWAP_GROWTH_MIN: f64 = 4.0 * 1024.0 * 1024.0;

/// Working set / limit from which the working set is saturated: reclaim keeps it from
/// rising further, so only the reclaim estimate (`reclaim_at_limit`) can time what follows.
pub const SATURATED_WS: f64 = 0.99;

/// Shortest interval between steps that [`step_clock`] times: a leak that steps faster is
/// timed by its trend, which its window then holds several steps of.
pub const STEP_CLOCK_MIN_INTERVAL: f64 = 120.0;
/// Largest ratio of the longer to the shorter of the last two intervals between steps, and of
/// the largest to the smallest of the last three steps, for [`step_clock`] to take them for a
/// rhythm.
pub const STEP_CLOCK_REGULAR: f64 = 2.0;
/// How much later than the longer of the last two intervals [`step_clock`] expects the next
/// step, at the latest (a rhythm's jitter).
pub const STEP_CLOCK_SLACK: f64 = 1.1;
/// Share of the smallest recent step by which a stepping leak may fall below the level a step
/// reached before the next ([`step_clock`]): noise, not a collection.
pub const STEP_FLAT: f64 = 0.25;
/// Share of the smallest recent step by which a stepping leak may grow between two steps
/// ([`step_clock`]): a slow growth beside the steps, which the clock then also times.
pub const STEP_DRIFT: f64 = 0.5;

/// A container held at its limit by reclaim ([`reclaim_at_limit`]).
#[derive(Debug, Clone, Copy)]
struct Reclaim {
    /// Page cache left to give up, bytes.
    room: f64,
    /// Seconds until it is gone at the pace it goes.
    ttl: f64,
}

/// The highest page cache (time, bytes) among this instance's buckets since `since` and
/// `newest` (the sample's own): `newest` unless a bucket holds more, else the earliest such
/// bucket of the highest.
fn file_peak(h: &History, since: f64, newest: (f64, f64)) -> (f64, f64) {
    h.iter_instance(since)
        .filter(|b| b.last.file.is_finite())
        .map(|b| (b.t_last, f64::from(b.last.file)))
        .fold(newest, |a, b| if b.1 > a.1 { b } else { a })
}

/// Room and time until a container held at its limit by reclaim runs out of page cache to give up:
/// usage pinned at the limit ([`PINNED_USAGE`]) while the page cache falls (by
/// [`RECLAIM_FALL`] or more from its peak in the last 5 minutes of this instance) is the
/// kernel trading cache for growing unreclaimable memory, and the kill comes when what is
/// left ([`HOT_CACHE`] of the cache kept) is gone at that pace. The working set says nothing
/// then: it sits at the limit, active page cache included, for as long as there is cache to
/// give. A filling tmpfs (counted in the page cache, never reclaimed) keeps the cache from
/// falling, so it is not taken for this.
fn reclaim_at_limit(h: &History, s: &Sample, limit: Option<f64>) -> Option<Reclaim> {
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
        ((1.0 - HOT_CACHE) * cache, fall / (s.ts - t_peak))
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

/// Window of [`slow_reclaim`], seconds.
pub const SLOW_RECLAIM_WINDOW: f64 = 600.0;
/// Least fall of the page cache over [`SLOW_RECLAIM_WINDOW`] that [`slow_reclaim`] takes
/// for reclaim, as a share of the limit.
pub const SLOW_RECLAIM_FALL: f64 = 0.01;
/// Page cache, as a share of the limit, that a slow reclaim ([`slow_reclaim`]) leaves when
/// the kill comes.
pub const SLOW_RECLAIM_FLOOR: f64 = 0.01;
/// Least working set, as a share of the limit, of every bucket in [`slow_reclaim`]'s window.
pub const SLOW_RECLAIM_HELD: f64 = 0.9;
/// Least r² of the page cache's line down in [`slow_reclaim`].
pub const SLOW_RECLAIM_R2: f64 = 0.6;

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
    let ttl_short = match (ws, limit) {
        (Some(w), Some(l)) => time_to(w, l, g_short),
        _ => None,
    };
    let r2 = ws_fit.map_or(0.0, |f| f.r2);
    // Trust the physical estimate once the growth is established over more than a typical
    // GC cycle of this instance (the first ramp of a sawtooth, or a container warming up
    // after a restart, is a straight line too), or when a clean, linear climb is already at
    // the limit's doorstep and about to cross it.
    let span = h.instance_span();
    let near = x[0] >= NEAR_LIMIT as f32;
    // Five 10 s buckets at least: noisy bucket means of a flat line rise with r² ≥ 0.95 about
    // once in 80 windows of four points, once in 450 of five (it is checked at every sample).
    let clean = r2 >= 0.95 && ws_fit.is_some_and(|f| f.n >= 5);
    let soon = ttl_long.is_some_and(|t| t <= EARLY_TTL);
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
    let c = h.counters_of(s);
    let pressed = || {
        delta(h, now, LONG_WINDOW, c.high_events, |b| b.last.high_events) > 0.0
            || s.memory_pressure_some_avg10
                .is_some_and(|p| p >= PRESSED_PSI)
    };
    let fresh = || !pressed() && ws.is_some_and(|w| fresh_rise(h, now, w));
    let trusted =
        ttl_long.filter(|_| ((established() && !fresh()) || (clean && near && soon)) && !settles());
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
    x[17] = throttle_ratio(60.0);
    x[26] = throttle_ratio(300.0);
    x[18] = opt_f(s.cpu_pressure_some_avg10);
    x[19] = match (
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

    let pids_limit = s.pids_limit.map(|v| v as f64).filter(|v| *v > 0.0);
    // The tasks that count against the limit: the pod's, where the limit is the pod's.
    let tasks = s
        .pids_current
        .map(|p| s.pod_pids_current.map_or(p, |q| q.max(p)));
    x[20] = match (tasks, pids_limit) {
        (Some(p), Some(l)) => (p as f64 / l) as f32,
        _ => UNKNOWN,
    };
    // The rise is judged (a walk of the window) only where it would give a time to a limit.
    // No pids.max in the samples (an export without it) is no limit: a rising count is timed
    // to an assumed one ([`assumed_pids_limit`]), by the physical floor only; the trees learnt
    // `ttl_pids_s` of limits the samples state.
    let ttl_pids = match (s.pids_current, pids_envelope.filter(|e| e.slope > 0.0)) {
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
                .filter(|_| pids_rise_held(h, now, p as f64, &e))
                .and_then(|l| time_to(n as f64, l, Some(e.slope)))
        }
        _ => None,
    };
    x[21] = ttl_feature(ttl_pids.filter(|_| pids_limit.is_some()));
    x[22] = restarts_10m(h, s, now, c.restarts);
    let restarts_recent = restarts_dated(h, s, now, c.restarts, x[22]);
    x[23] = reason_code(s.last_termination_reason.as_deref());

    let total = s
        .node_memory_total_bytes
        .map(|v| v as f64)
        .filter(|v| *v > 0.0);
    let avail = s.eviction_available().map(|v| v as f64);
    x[24] = match (avail, total) {
        (Some(a), Some(t)) => (a / t) as f32,
        _ => UNKNOWN,
    };
    // The kubelet evicts BestEffort first, then Burstable pods above their requests; a
    // Guaranteed pod is not an eviction candidate under memory pressure.
    let evictable = !matches!(s.qos, Some(Qos::Guaranteed));
    let ttl_node = match avail {
        Some(a) if evictable => {
            // Falling available memory is a negative slope of the envelope of −available.
            let fall = node_fall_envelope.map(|e| e.slope);
            let threshold = s
                .node_eviction_threshold_bytes
                .map_or(NODE_EVICTION_BYTES, |t| t as f64);
            time_to(-a, -threshold, fall)
        }
        _ => None,
    };
    x[25] = ttl_feature(ttl_node);

    let grows = own_reclaim_idle_on_unknown_node(s)
        && matches!((ws, ws_env5), (Some(w), Some(g)) if g * LONG_WINDOW >= VICTIM_GROWTH * w);
    Features {
        x,
        ttl_mem,
        ttl_pids,
        ttl_node,
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
        restarts_recent,
    }
}

/// Whether the pod of a sample (its `namespace/pod/container` id and, where the kubelet gave
/// it, its priority) is a critical pod, which the kubelet's eviction manager skips: priority
/// [`CRITICAL_PRIORITY`] or above (`system-cluster-critical`, `system-node-critical`). Without
/// the priority (a trace, a `POST /predict` body) a pod in `kube-system` counts as one:
/// admission allows those classes there only, and the node daemons that run there
/// (kube-proxy, the CNI agent, CSI node plugins, CoreDNS) use them. Such a pod can still be
/// OOM-killed, starved or crash-loop.
pub fn critical_pod(id: &str, priority: Option<i32>) -> bool {
    priority.map_or_else(
        || id.starts_with("kube-system/"),
        |p| p >= CRITICAL_PRIORITY,
    )
}

/// Whether the pod of a `namespace/pod/container` id is a CronJob's run: the Job controller
/// names it `<cronjob>-<scheduled minute since the epoch, 8 digits>-<5 random characters>`.
/// Such a pod runs a batch task to its end and, as a rule, has no liveness probe: one pinned at
/// its CPU quota runs longer, and nothing kills it for that.
pub fn cronjob_pod(id: &str) -> bool {
    let mut parts = id.split('/');
    let pod = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(pod), Some(_), None) => pod,
        _ => return false,
    };
    let mut tail = pod.rsplitn(3, '-');
    let (Some(suffix), Some(minute), Some(name)) = (tail.next(), tail.next(), tail.next()) else {
        return false;
    };
    !name.is_empty()
        && suffix.len() == 5
        && suffix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && minute.len() == 8
        && minute.bytes().all(|b| b.is_ascii_digit())
}

/// Whether, at a sparse scrape, one more step like the largest by which the working set
/// rose above all its earlier samples of this instance (a new high) over the last
/// [`LONG_WINDOW`] would cover the `headroom` left below the limit. A bursty leak climbs in
/// such steps, and the next scrape may come after the kill; a GC sawtooth's rebound from a
/// trough is no new high.
fn step_reaches_limit(h: &History, now: f64, sample_gap: f64, headroom: f64) -> bool {
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
fn step_clock(h: &History, now: f64, unreclaimable: f64, limit: f64) -> Option<StepClock> {
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

/// What [`step_clock`] says of a leak that grows in regular steps.
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
fn own_reclaim_idle_on_unknown_node(s: &Sample) -> bool {
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
pub fn cache_squeeze(h: &History, s: &Sample) -> Option<f64> {
    if !limitless_on_unknown_node(s) {
        return None;
    }
    let now = s.memory_file_bytes? as f64;
    let (_, peak) = file_peak(h, s.ts - SQUEEZE_WINDOW, (s.ts, now));
    Some(if peak - now >= SQUEEZE_MIN_BYTES {
        (peak - now) / peak
    } else {
        0.0
    })
}

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
/// newest one's (or in [`STARVED_RATIO`] or more, pinned), and they got there from an interval
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
    let mut intervals = throttle_shares(h, f64::NEG_INFINITY);
    let Some(newest) = intervals.next() else {
        return false;
    };
    let level = newest.share;
    if level < STEP_FROM {
        return false;
    }
    let held =
        |share: f64| share >= STARVED_RATIO.min(level - STEP_BAND) && share <= level + STEP_BAND;
    // The start of the oldest interval of the newest run at this level.
    let mut level_from = newest.start;
    let mut held_for = 1;
    let mut in_run = true;
    let mut between = 0;
    for i in intervals {
        if in_run && held(i.share) {
            level_from = i.start;
            held_for += 1;
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
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn base(ts: f64) -> Sample {
        Sample {
            ts,
            id: "ns/p/c".into(),
            memory_limit_bytes: Some(512 * MIB),
            ..Default::default()
        }
    }

    fn run(samples: impl Iterator<Item = Sample>) -> Features {
        let mut h = History::new();
        let mut last = None;
        for s in samples {
            h.push(&s);
            last = Some(extract(&h, &s));
        }
        last.unwrap_or_else(|| extract(&h, &base(0.0)))
    }

    /// Deterministic noise in [-1, 1] (no RNG: exact assertions stay exact).
    fn wobble(i: u64) -> f64 {
        ((i * 2_654_435_761) % 1000) as f64 / 500.0 - 1.0
    }

    /// A container with a 0.5-core quota sampled every 5 s whose throttled share of periods
    /// at time `t` is `share(t)`; `cpu_throttled_periods_total` accumulates it like cpu.stat.
    fn throttled(end: f64, share: impl Fn(f64) -> f64) -> Features {
        run(throttled_samples(end, share))
    }

    /// Whether the throttling of [`throttled`] stepped ([`throttle_stepped`]).
    fn stepped(end: f64, share: impl Fn(f64) -> f64) -> bool {
        let mut h = History::new();
        for s in throttled_samples(end, share) {
            h.push(&s);
        }
        throttle_stepped(&h, Some(0.5))
    }

    fn throttled_samples(end: f64, share: impl Fn(f64) -> f64) -> impl Iterator<Item = Sample> {
        let (mut periods, mut thr) = (0.0, 0.0);
        (0..=(end / 5.0) as u64).map(move |i| {
            let t = i as f64 * 5.0;
            periods += 50.0;
            thr += 50.0 * share(t).clamp(0.0, 1.0);
            let mut s = base(t);
            s.cpu_limit_cores = Some(0.5);
            s.cpu_usage_seconds_total = Some(t * 0.5);
            s.cpu_periods_total = Some(periods as u64);
            s.cpu_throttled_periods_total = Some(thr.round() as u64);
            s
        })
    }

    /// 5 s samples of a container with a 0.5-core quota using `share(t)` of it.
    fn cpu_used(end: f64, share: impl Fn(f64) -> f64) -> Features {
        let mut cpu = 0.0;
        run((0..=(end / 5.0) as u64).map(|i| {
            let t = i as f64 * 5.0;
            let mut s = base(t);
            s.cpu_limit_cores = Some(0.5);
            s.cpu_usage_seconds_total = Some(cpu);
            cpu += 5.0 * 0.5 * share(t + 2.5);
            s
        }))
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

    #[test]
    fn cpu_use_line_is_the_share_now_and_its_pace() {
        let (now, pace) = cpu_used(300.0, |_| 0.6).cpu_use.unwrap();
        assert!(
            (now - 0.6).abs() < 1e-9 && pace.abs() < 1e-9,
            "{now} {pace}"
        );
        // 0.3 + 0.12 per minute: 0.9 at 300 s, where the last minute's mean is 0.84.
        let f = cpu_used(300.0, |t| 0.3 + 0.002 * t);
        let (now, pace) = f.cpu_use.unwrap();
        assert!((now - 0.9).abs() < 0.01, "{now}");
        assert!((pace - 0.002).abs() < 1e-4, "{pace}");
        assert!((f64::from(f.x[19]) - 0.84).abs() < 0.01, "{}", f.x[19]);
    }

    #[test]
    fn a_restarted_container_reads_its_cpu_use_from_its_own_samples() {
        // Ten minutes at a tenth of a 1-core quota, then a new instance (its counter starts
        // from zero) that burns the whole quota: 30 s after the restart, a minute back is the
        // dead instance, whose counter says nothing about the new one's rate.
        let mut cpu = 0.0;
        let samples = (0..=126u64).map(|i| {
            let t = i as f64 * 5.0;
            if t == 600.0 {
                cpu = 0.0;
            }
            let mut s = base(t);
            s.cpu_limit_cores = Some(1.0);
            s.cpu_usage_seconds_total = Some(cpu);
            cpu += 5.0 * if t >= 600.0 { 1.0 } else { 0.1 };
            s
        });
        let f = run(samples);
        assert!((f64::from(f.x[19]) - 1.0).abs() < 1e-6, "{}", f.x[19]);
        let (now, pace) = f.cpu_use.unwrap();
        assert!((now - 1.0).abs() < 1e-9 && pace == 0.0, "{now} {pace}");
    }

    #[test]
    fn cpu_use_line_needs_a_quota_a_counter_and_an_earlier_sample() {
        assert_eq!(extract_once(&base(10.0)).cpu_use, None);
        let mut s = base(10.0);
        s.cpu_limit_cores = Some(1.0);
        s.cpu_usage_seconds_total = Some(5.0);
        assert_eq!(run(std::iter::once(s.clone())).cpu_use, None);
        s.cpu_limit_cores = None;
        let mut earlier = s.clone();
        earlier.ts = 0.0;
        earlier.cpu_usage_seconds_total = Some(0.0);
        assert_eq!(run([earlier, s].into_iter()).cpu_use, None);
    }

    #[test]
    fn throttling_climbing_to_starvation_gives_a_finite_time_to_the_probe_kill() {
        // 0 at t=100 s, +0.6 % per second: 0.6 at t=200, 0.9 at t=250, probes kill ≈ 280.
        let f = throttled(200.0, |t| (t - 100.0) * 0.006);
        let eta = f
            .ttl_starve
            .expect("a clean climb past half the periods is starvation");
        assert!((60.0..=100.0).contains(&eta), "eta {eta}");
        // Later on the same ramp the estimate shrinks.
        let later = throttled(230.0, |t| (t - 100.0) * 0.006)
            .ttl_starve
            .unwrap();
        assert!(later < eta, "{later} !< {eta}");
    }

    #[test]
    fn steady_or_levelling_throttling_is_not_starvation() {
        // A CPU-bound job pinned at its quota: throttled in ~97 % of periods for ever.
        let pinned = throttled(600.0, |t| 0.97 + 0.02 * wobble(t as u64));
        assert_eq!(pinned.ttl_starve, None);
        // Busy but coping: the share rose to 0.6 and stays there.
        let level = throttled(600.0, |t| (t * 0.004).min(0.6));
        assert_eq!(level.ttl_starve, None);
        // Rising, but still far from starvation (0.3): not yet.
        let low = throttled(200.0, |t| t * 0.0015);
        assert_eq!(low.ttl_starve, None);
    }

    #[test]
    fn restarts_before_first_sight_count_only_when_the_kubelet_says_they_are_recent() {
        // First sight of a container that already restarted 4 times (an agent started beside a
        // pod in CrashLoopBackOff), 60 s of samples.
        let first_seen = |finished: Option<f64>| {
            run((0..=6).map(|i| {
                let mut s = base(1_000_000.0 + i as f64 * 10.0);
                s.restarts_total = Some(4);
                s.last_termination_reason = Some("Error".into());
                s.last_termination_ts = finished;
                s
            }))
            .x[idx::RESTARTS_10M]
        };
        assert_eq!(first_seen(Some(1_000_000.0 - 90.0)), 4.0);
        // Last week's restarts, or restarts of unknown age (long-running pods carry old ones).
        assert_eq!(first_seen(Some(1_000_000.0 - 7.0 * 86_400.0)), 0.0);
        assert_eq!(first_seen(None), 0.0);
    }

    #[test]
    fn linear_leak_gives_positive_slope_and_finite_time_to_limit() {
        // 1 MiB/s from 100 MiB, sampled every 2 s with ±2 MiB noise; at t=200 s: 300 MiB.
        let f = run((0..=100).map(|i| {
            let t = i as f64 * 2.0;
            let mut s = base(t);
            let anon = (100.0 + t + 2.0 * wobble(i)) * MIB as f64;
            s.memory_anon_bytes = Some(anon as u64);
            s.memory_file_bytes = Some(20 * MIB);
            s.memory_working_set_bytes = Some(anon as u64 + 20 * MIB);
            s
        }));
        // 1 MiB/s = 60/512 limit per minute.
        let expect = 60.0 / 512.0;
        assert!(
            (f.x[3] as f64 - expect).abs() < 0.02,
            "short slope {}",
            f.x[3]
        );
        assert!(
            (f.x[4] as f64 - expect).abs() < 0.02,
            "envelope slope {}",
            f.x[4]
        );
        let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
        // 512 - 320 = 192 MiB left at 1 MiB/s.
        assert!((ttl - 192.0).abs() < 25.0, "ttl {ttl}");
        assert!(f.x[2] < 0.1, "file share {}", f.x[2]);
    }

    #[test]
    fn a_leak_after_a_restart_is_not_hidden_by_the_dead_instance() {
        // The first instance sat at 480 MiB for 5 min and died; the new one leaks 1 MiB/s
        // from 100 MiB. The old peak must not turn the new instance's trend negative.
        let f = run((0..=260).map(|i| {
            let t = i as f64 * 2.0;
            let mut s = base(t);
            let (ws, restarts, cpu) = if t < 300.0 {
                (480.0 + wobble(i), 0, t)
            } else {
                (100.0 + (t - 300.0) + wobble(i), 1, t - 300.0)
            };
            s.memory_working_set_bytes = Some((ws * MIB as f64) as u64);
            s.memory_anon_bytes = s.memory_working_set_bytes;
            s.restarts_total = Some(restarts);
            s.cpu_usage_seconds_total = Some(cpu);
            s
        }));
        // At t=520 s: 320 MiB, 192 MiB left at 1 MiB/s.
        let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
        assert!((ttl - 192.0).abs() < 25.0, "ttl {ttl}");
        assert!(f.x[4] > 0.0 && f.x[5] > 0.0, "slopes {} {}", f.x[4], f.x[5]);
    }

    #[test]
    fn page_cache_growth_is_not_a_leak() {
        // Cache grows 2 MiB/s (active file counts in the working set), anon flat at 50 MiB.
        let f = run((0..=150).map(|i| {
            let t = i as f64;
            let mut s = base(t);
            let file = (10.0 + 2.0 * t) as u64 * MIB;
            s.memory_anon_bytes = Some(50 * MIB);
            s.memory_file_bytes = Some(file);
            s.memory_usage_bytes = Some(50 * MIB + file);
            s.memory_working_set_bytes = Some(50 * MIB + file / 2);
            s
        }));
        assert!(f.x[4] > 0.0, "working set does grow");
        assert_eq!(f.ttl_mem, None);
        assert_eq!(f.x[8], TTL_CAP as f32);
        assert_eq!(f.x[7], 0.0);
        assert!(f.x[2] > 0.7);
    }

    /// Memory the kernel cannot reclaim growing at 1 MiB/s from 100 MiB: usage and working set
    /// grow, anon (50 MiB) and the page cache (40 MiB, half inactive) do not, unless
    /// `in_cache` (a tmpfs, which the cache counts, in samples without a shmem figure as in a
    /// cAdvisor export). 2 s samples, ±2 MiB noise, 200 s.
    fn unreclaimable_growth(in_cache: bool) -> Features {
        run((0..=100).map(|i| {
            let t = i as f64 * 2.0;
            let mut s = base(t);
            let grown = ((100.0 + t + 2.0 * wobble(i)) * MIB as f64) as u64;
            s.memory_anon_bytes = Some(50 * MIB);
            s.memory_file_bytes = Some(40 * MIB + if in_cache { grown } else { 0 });
            s.memory_usage_bytes = Some(50 * MIB + 40 * MIB + grown);
            s.memory_working_set_bytes = Some(50 * MIB + 20 * MIB + grown);
            s
        }))
    }

    #[test]
    fn a_kernel_memory_leak_with_anon_and_cache_flat_is_a_leak() {
        // Socket buffers pile up.
        let f = unreclaimable_growth(false);
        // At t=200 s: 370 MiB of 512, 142 MiB left at 1 MiB/s.
        let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
        assert!((ttl - 142.0).abs() < 25.0, "ttl {ttl}");
        assert!(f.x[7] > 0.05, "unreclaimable envelope slope {}", f.x[7]);
    }

    /// A leak of 0.2 MiB/s from 150 MiB of anon beside `cache` MiB of page cache, all of it
    /// active (in the working set). 5 s samples, ±1 MiB noise, 400 s.
    fn leak_beside_active_cache(cache: u64) -> Features {
        leak_beside_cache_from(150.0, cache, 80, None)
    }

    /// [`leak_beside_active_cache`] from `anon0` MiB of anon, over `last` 5 s samples, with
    /// anon `blip.1` MiB higher in sample `blip.0`.
    fn leak_beside_cache_from(
        anon0: f64,
        cache: u64,
        last: u64,
        blip: Option<(u64, f64)>,
    ) -> Features {
        run((0..=last).map(|i| {
            let t = i as f64 * 5.0;
            let mut s = base(t);
            let extra = blip.filter(|(at, _)| *at == i).map_or(0.0, |(_, b)| b);
            let anon = ((anon0 + 0.2 * t + wobble(i) + extra) * MIB as f64) as u64;
            s.memory_anon_bytes = Some(anon);
            s.memory_file_bytes = Some(cache * MIB);
            s.memory_shmem_bytes = Some(0);
            s.memory_usage_bytes = Some(anon + cache * MIB);
            s.memory_working_set_bytes = Some(anon + cache * MIB);
            s
        }))
    }

    #[test]
    fn active_page_cache_puts_the_kill_after_the_working_set_reaches_the_limit() {
        // At t=400 s: 230 MiB of anon and 200 of cache, 82 MiB to the limit at 0.2 MiB/s; but
        // the kernel takes the cache first, all but half of it: 182 MiB of room, 910 s.
        let f = leak_beside_active_cache(200);
        let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
        assert!((ttl - 410.0).abs() < 60.0, "ttl {ttl}");
        let floor = f.cache_floor.unwrap_or(f64::INFINITY);
        assert!((floor - 910.0).abs() < 120.0, "floor {floor}");
        // No cache in the working set: no later than the trend's time.
        let f = leak_beside_active_cache(0);
        let (ttl, floor) = (
            f.ttl_mem.unwrap_or(f64::NAN),
            f.cache_floor.unwrap_or(f64::NAN),
        );
        assert!(floor <= ttl + 1.0, "ttl {ttl} floor {floor}");
    }

    /// [`leak_beside_active_cache`] from 100 MiB with 200 MiB of cache, sampled for 600 s, and
    /// anon `blip` MiB higher in one sample 20 s before the end (a burst of requests).
    fn leak_beside_active_cache_blip(blip: f64) -> Features {
        leak_beside_cache_from(100.0, 200, 120, Some((116, blip)))
    }

    #[test]
    fn one_high_peak_does_not_set_the_pace_of_the_cache_floor() {
        // At t=600 s: 220 MiB of anon, 200 of cache (100 of them hot): 192 MiB of room at
        // 0.2 MiB/s, 960 s. A 15 MiB blip raises the 5-minute envelope to 0.3 MiB/s (640 s);
        // the 10-minute one, half as much, sets the pace.
        let clean = leak_beside_active_cache_blip(0.0)
            .cache_floor
            .unwrap_or(f64::NAN);
        let blip = leak_beside_active_cache_blip(15.0)
            .cache_floor
            .unwrap_or(f64::NAN);
        assert!((clean - 960.0).abs() < 100.0, "floor {clean}");
        assert!(
            blip > 0.75 * clean,
            "floor {blip} against {clean} without the blip"
        );
    }

    /// A container pinned at its 512 MiB limit with 10 MiB of page cache, its anon in memory
    /// flat at 500 MiB, while swap takes its growth: from `start` seconds at `rate` MiB/s.
    /// Sampled every 10 s up to 600 s; `swap_limit` MiB of swap it may use.
    fn swapping(start: f64, rate: f64, swap_limit: Option<u64>) -> Features {
        run((0..=60).map(|i| {
            let t = i as f64 * 10.0;
            let mut s = base(t);
            s.memory_usage_bytes = Some(510 * MIB);
            s.memory_working_set_bytes = Some(510 * MIB);
            s.memory_anon_bytes = Some(500 * MIB);
            s.memory_file_bytes = Some(10 * MIB);
            s.memory_shmem_bytes = Some(0);
            s.memory_swap_bytes = Some(((t - start).max(0.0) * rate * MIB as f64) as u64);
            s.memory_swap_limit_bytes = swap_limit.map(|l| l * MIB);
            s
        }))
    }

    #[test]
    fn swap_the_container_may_still_fill_puts_the_kill_after_it() {
        // 120 MiB of swap used of 300, at 0.2 MiB/s; 2 + 5 MiB of room in memory: 935 s.
        let floor = swapping(0.0, 0.2, Some(300)).swap_floor.unwrap();
        assert!((floor - 935.0).abs() < 60.0, "floor {floor}");
        // Swapping began 100 s ago at 0.6 MiB/s: the last minute's pace, not the five
        // minutes' (a third of it), times the 247 MiB left.
        let floor = swapping(500.0, 0.6, Some(300)).swap_floor.unwrap();
        assert!((floor - 410.0).abs() < 40.0, "floor {floor}");
        // No swap limit known, or the swap full: no floor.
        assert_eq!(swapping(0.0, 0.2, None).swap_floor, None);
        assert_eq!(swapping(0.0, 0.2, Some(100)).swap_floor, None);
    }

    #[test]
    fn a_leak_swapped_out_at_its_limit_is_timed_by_its_swap_filling() {
        // Pinned at the limit with anon flat: the working set gives no time. 180 MiB of swap
        // and 7 MiB of cache room left, at 0.2 MiB/s: 935 s.
        let f = swapping(0.0, 0.2, Some(300));
        assert_eq!(f.ttl_mem, None);
        let fill = f.swap_fill.unwrap();
        assert!((fill - 935.0).abs() < 60.0, "fill {fill}");
        // A burst of swapping as the limit is met is timed at the five minutes' pace
        // (0.2 MiB/s), not the last minute's 0.6 (the floor's 410 s): 247 MiB left, 1,235 s.
        let fill = swapping(500.0, 0.6, Some(300)).swap_fill.unwrap();
        assert!((fill - 1235.0).abs() < 80.0, "fill {fill}");
        // Swap that hardly moves (1.5 MiB in 5 minutes) is no leak swapped out; without a
        // swap limit there is nothing to fill.
        assert_eq!(swapping(0.0, 0.005, Some(300)).swap_fill, None);
        assert_eq!(swapping(0.0, 0.2, None).swap_fill, None);
    }

    #[test]
    fn a_small_cache_given_up_whole_at_a_large_limit_is_reclaim() {
        // 4 GiB limit, usage pinned, anon 4000 → 4060 MiB over 5 minutes while the page cache
        // goes 80 → 20 MiB: 60 MiB, under 2 % of the limit, but three quarters of the cache.
        let f = run((0..=30).map(|i| {
            let t = i as f64 * 10.0;
            let mut s = base(t);
            let anon = 4000.0 + 0.2 * t;
            s.memory_limit_bytes = Some(4096 * MIB);
            s.memory_usage_bytes = Some(4090 * MIB);
            s.memory_working_set_bytes = Some(4090 * MIB);
            s.memory_anon_bytes = Some((anon * MIB as f64) as u64);
            s.memory_file_bytes = Some(((4080.0 - anon) * MIB as f64) as u64);
            s.memory_shmem_bytes = Some(0);
            s
        }));
        // Half of the 20 MiB left kept hot, the rest gone at 0.2 MiB/s: 50 s.
        let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
        assert!((ttl - 50.0).abs() < 15.0, "ttl {ttl}");
    }

    /// A container pinned at its 512 MiB limit (usage 510 MiB) for 10 minutes, sampled every
    /// 10 s without a shmem figure, whose working set climbs from 470 to 500 MiB as inactive
    /// file shrinks. With `leak`, anon grows by 0.2 MiB/s from 200 MiB and the page cache gives
    /// way (310 → 190 MiB); without, the cache holds (a tmpfs filling as the inactive part goes).
    fn pinned(leak: bool) -> Features {
        run((0..=60).map(|i| {
            let t = i as f64 * 10.0;
            let mut s = base(t);
            let usage = 510.0 * MIB as f64;
            let anon = if leak { 200.0 + 0.2 * t } else { 200.0 } * MIB as f64;
            let inactive = (40.0 - 0.05 * t) * MIB as f64;
            s.memory_usage_bytes = Some(usage as u64);
            s.memory_anon_bytes = Some(anon as u64);
            s.memory_file_bytes = Some((usage - anon) as u64);
            s.memory_working_set_bytes = Some((usage - inactive) as u64);
            s
        }))
    }

    #[test]
    fn a_leak_the_page_cache_makes_room_for_at_the_limit_is_timed_by_the_cache_left() {
        // 190 MiB of cache left, half of it kept hot, given up at 0.2 MiB/s: 475 s, where the
        // working set's 10 MiB at 0.05 MiB/s says 200 s.
        let leak = pinned(true);
        let ttl = leak.ttl_mem.unwrap_or(f64::INFINITY);
        assert!((ttl - 475.0).abs() < 50.0, "ttl {ttl}");
        let held = pinned(false);
        let ttl = held.ttl_mem.unwrap_or(f64::INFINITY);
        assert!(
            ttl < 300.0,
            "a cache that does not give way is no room: ttl {ttl}"
        );
    }

    #[test]
    fn a_leak_eating_the_cache_under_a_saturated_working_set_is_timed_by_the_cache_left() {
        // Usage and working set at the 512 MiB limit (no inactive page cache left), anon
        // +0.2 MiB/s from 300 MiB: the cache falls from 212 to 92 MiB in 10 minutes. Half of
        // what is left, given up at 0.2 MiB/s: 230 s. The working set's flat trend gives none.
        let saturated = |anon_rate: f64| {
            run((0..=60).map(|i| {
                let t = i as f64 * 10.0;
                let mut s = base(t);
                let anon = ((300.0 + anon_rate * t) * MIB as f64) as u64;
                s.memory_usage_bytes = Some(512 * MIB);
                s.memory_working_set_bytes = Some(512 * MIB);
                s.memory_anon_bytes = Some(anon);
                s.memory_file_bytes = Some(512 * MIB - anon);
                s
            }))
        };
        let ttl = saturated(0.2).ttl_mem.unwrap_or(f64::INFINITY);
        assert!((ttl - 230.0).abs() < 30.0, "ttl {ttl}");
        assert_eq!(saturated(0.0).ttl_mem, None, "flat at the limit is no leak");
    }

    /// A 1 GiB container pinned at its limit for 15 minutes, sampled every 10 s without a
    /// shmem figure: anon grows 0.04 MiB/s from 900 MiB and the page cache gives way at the
    /// same pace from 115 MiB (plus `swing` MiB of a dip and refill every 2 minutes), while
    /// the working set, at 99 % of the limit, creeps up 0.005 MiB/s as inactive file goes
    /// (with `dip`, it falls below 90 % of the limit for one sample 5 minutes before the end).
    fn creeping_at_the_limit(swing: f64, dip: bool) -> Features {
        run((0..=90).map(|i| {
            let t = i as f64 * 10.0;
            let mut s = base(t);
            let anon = 900.0 + 0.04 * t;
            let wave = swing * (std::f64::consts::TAU * t / 120.0).sin();
            s.memory_limit_bytes = Some(1024 * MIB);
            s.memory_usage_bytes = Some(1023 * MIB);
            s.memory_anon_bytes = Some((anon * MIB as f64) as u64);
            s.memory_file_bytes = Some(((1015.0 - anon + wave) * MIB as f64) as u64);
            let ws = if dip && i == 60 {
                920.0
            } else {
                1014.0 + 0.005 * t
            };
            s.memory_working_set_bytes = Some((ws * MIB as f64) as u64);
            s
        }))
    }

    #[test]
    fn a_cache_given_up_slowly_along_a_line_at_the_limit_is_the_clock() {
        // The fall is 12 MiB in 5 minutes, under 2 % of the limit, but a line over 10: the
        // 79 MiB of cache left, less the last 1 % of the limit, at 0.04 MiB/s is 1720 s.
        let ttl = creeping_at_the_limit(0.0, false)
            .ttl_mem
            .unwrap_or(f64::INFINITY);
        assert!((ttl - 1720.0).abs() < 150.0, "ttl {ttl}");
        // A cache that dips and refills by 15 MiB is no line down: the trend's time stands
        // (about 400 s).
        let ttl = creeping_at_the_limit(15.0, false)
            .ttl_mem
            .unwrap_or(f64::INFINITY);
        assert!(ttl < 1300.0, "ttl {ttl}");
        // Nor is a working set that left the limit in the window (a sawtooth touching it at
        // its peaks sheds cache as its floor creeps, and dies at a peak): no time from the
        // cache (here none at all: the fall out of the trend leaves it untrusted).
        let ttl = creeping_at_the_limit(0.0, true).ttl_mem;
        assert!(ttl.is_none_or(|t| t < 1300.0), "ttl {ttl:?}");
    }

    #[test]
    fn indices_name_their_features() {
        let n = names();
        for (i, name) in [
            (idx::WS_LIMIT_RATIO, "ws_limit_ratio"),
            (idx::WS_ENV_SLOPE_5M, "ws_env_slope_5m"),
            (idx::TTL_MEM, "ttl_mem_s"),
            (idx::CPU_THROTTLE_1M, "cpu_throttle_ratio_1m"),
            (idx::PIDS_RATIO, "pids_ratio"),
            (idx::TTL_PIDS, "ttl_pids_s"),
            (idx::RESTARTS_10M, "restarts_10m"),
            (idx::LAST_REASON, "last_reason"),
            (idx::TTL_NODE, "ttl_node_s"),
            (idx::CPU_THROTTLE_5M, "cpu_throttle_ratio_5m"),
        ] {
            assert_eq!(n[i], name);
        }
    }

    #[test]
    fn a_filling_tmpfs_in_an_export_without_shmem_is_a_leak() {
        // An emptyDir in memory fills: inactive file (usage − working set) stays at 20 MiB.
        let f = unreclaimable_growth(true);
        let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
        assert!((ttl - 142.0).abs() < 25.0, "ttl {ttl}");
        // Page cache growing as fast, with its inactive part growing too, is not.
        let cache = run((0..=100).map(|i| {
            let t = i as f64 * 2.0;
            let mut s = base(t);
            let file = ((140.0 + t + 2.0 * wobble(i)) * MIB as f64) as u64;
            s.memory_anon_bytes = Some(50 * MIB);
            s.memory_file_bytes = Some(file);
            s.memory_usage_bytes = Some(50 * MIB + file);
            s.memory_working_set_bytes = Some(50 * MIB + file * 3 / 4);
            s
        }));
        assert_eq!(cache.ttl_mem, None);
    }

    #[test]
    fn gc_sawtooth_with_steady_peaks_is_not_a_leak() {
        // 60 s cycle from 200 to 400 MiB, 10 min, 1 s samples, no anon reported.
        let f = run((0..600).map(|i| {
            let t = i as f64;
            let mut s = base(t);
            let phase = (i % 60) as f64 / 60.0;
            s.memory_working_set_bytes = Some(((200.0 + 200.0 * phase) * MIB as f64) as u64);
            s
        }));
        assert_eq!(f.ttl_mem, None, "{:?}", f.x);
        assert!(f.x[4].abs() < 0.01, "envelope slope {}", f.x[4]);
    }

    #[test]
    fn gc_sawtooth_with_creeping_floor_is_a_leak() {
        // Same cycle, but everything rises 0.5 MiB/s.
        let f = run((0..600).map(|i| {
            let t = i as f64;
            let mut s = base(t);
            let phase = (i % 60) as f64 / 60.0;
            s.memory_working_set_bytes =
                Some(((50.0 + 0.5 * t + 100.0 * phase) * MIB as f64) as u64);
            s
        }));
        let expect = 30.0 / 512.0;
        assert!((f.x[4] as f64 - expect).abs() < 0.02, "{}", f.x[4]);
        assert!(
            f.ttl_mem.is_some_and(|t| t > 30.0 && t < 600.0),
            "{:?}",
            f.ttl_mem
        );
    }

    #[test]
    fn sparse_samples_wait_for_enough_points_before_a_time_to_limit() {
        // A 0.5 MiB/s leak scraped every 30 s: at 150 s only six points (a GC cycle's random
        // phases would look the same), at 300 s eleven.
        let leak = |until: u64| {
            run((0..=until / 30).map(|i| {
                let t = i as f64 * 30.0;
                let mut s = base(t);
                s.memory_working_set_bytes = Some(((100.0 + 0.5 * t) * MIB as f64) as u64);
                s
            }))
        };
        assert_eq!(leak(150).ttl_mem, None);
        // At 300 s: 250 MiB, 262 MiB left at 0.5 MiB/s.
        let ttl = leak(300).ttl_mem.unwrap_or(f64::INFINITY);
        assert!((ttl - 524.0).abs() < 60.0, "ttl {ttl}");
    }

    #[test]
    fn a_clean_climb_at_a_60_s_scrape_is_trusted_before_ten_points() {
        // Ten points at a 60 s scrape take nine minutes, longer than many leaks take. A climb
        // without a GC fall whose slope is unmistakable (t ≥ 6) is trusted from 225 s on.
        let at_60s = |until: u64, mib: &dyn Fn(f64, u64) -> f64| {
            run((0..=until / 60).map(|i| {
                let t = i as f64 * 60.0;
                let mut s = base(t);
                s.memory_working_set_bytes = Some((mib(t, i) * MIB as f64) as u64);
                s
            }))
        };
        let leak = |t: f64, i: u64| 100.0 + 0.5 * t + 3.0 * wobble(i);
        assert_eq!(at_60s(180, &leak).ttl_mem, None, "three minutes: not yet");
        let ttl = at_60s(240, &leak)
            .ttl_mem
            .expect("five clean points over four minutes");
        // 220 MiB at 240 s, 292 MiB left at 0.5 MiB/s: 584 s. With two and three points per
        // half window the envelope's peaks lie 180 s apart, not 120 s, so the estimate errs
        // early (≈ 410 s), the safe side.
        assert!((0.6 * 584.0..=1.1 * 584.0).contains(&ttl), "ttl {ttl}");
        // A 150 s GC cycle between 200 and 400 MiB at the same scrape: its falls show, so it
        // still waits for ten points.
        let gc = |t: f64, _| 200.0 + 200.0 * ((t % 150.0) / 150.0);
        assert_eq!(at_60s(420, &gc).ttl_mem, None);
    }

    #[test]
    fn an_accelerating_climb_at_a_60_s_scrape_is_trusted_on_five_points() {
        // From 90 MiB to 225 of 512 in four minutes, growing as t^2.5: the five points bend
        // away from a line (t ≈ 5 < 6), but each is above the one before.
        let mib = |t: f64| 90.0 + 135.0 * (t / 240.0).powf(2.5);
        let leak = |order: &[f64]| {
            run(order.iter().enumerate().map(|(i, at)| {
                let mut s = base(i as f64 * 60.0);
                s.memory_working_set_bytes = Some((mib(*at) * MIB as f64) as u64);
                s
            }))
        };
        let f = leak(&[0.0, 60.0, 120.0, 180.0, 240.0]);
        assert!(f.ttl_mem.is_some_and(|t| t < 600.0), "{:?}", f.ttl_mem);
        // The same points with one step back (noise on a slower climb) are not yet trusted.
        let f = leak(&[0.0, 120.0, 60.0, 180.0, 240.0]);
        assert_eq!(f.ttl_mem, None);
    }

    #[test]
    fn a_window_holding_part_of_a_slow_gc_cycle_is_not_a_trend() {
        // A steady 120 s cycle from 200 to 400 MiB, sampled every 5 s from phase 0. At 150 s
        // the older half-window peaks at 325 MiB (cut mid-ramp), the recent one at ~400 MiB.
        let f = run((0..=30).map(|i| {
            let t = i as f64 * 5.0;
            let mut s = base(t);
            let phase = (t % 120.0) / 120.0;
            s.memory_working_set_bytes = Some(((200.0 + 200.0 * phase) * MIB as f64) as u64);
            s
        }));
        assert!(f.x[4] > 0.1, "the envelope alone rises: {}", f.x[4]);
        assert_eq!(f.ttl_mem, None, "one GC fall, in one half only");
    }

    /// A container whose working set in MiB at second `i` is `mib(i)` ± 2 MiB, sampled
    /// every second up to `end`.
    fn working_set(end: u64, mib: impl Fn(f64) -> f64) -> Features {
        scraped_working_set(end, 1, mib)
    }

    #[test]
    fn a_fresh_ramp_from_a_level_held_for_minutes_is_not_yet_a_trend() {
        // 20 min at 150 MiB of 512, then a batch job allocates 8 MiB/s: 30 s into it, at
        // 390 MiB, the 5-min envelope says the limit in about a minute.
        let ramp = |t: f64| 150.0 + 8.0 * (t - 1170.0).max(0.0);
        let f = working_set(1200, ramp);
        assert_eq!(f.ttl_mem, None, "a 30 s ramp from a flat level");
        // The same level held by memory.high (its events climbing): a leak breaking through.
        let pressed = run((0..=1200).map(|i| {
            let mut s = base(i as f64);
            let v = ramp(i as f64) + 2.0 * wobble(i);
            s.memory_working_set_bytes = Some((v * MIB as f64) as u64);
            s.memory_high_events_total = Some(3 * i);
            s
        }));
        let ttl = pressed.ttl_mem.unwrap_or(f64::INFINITY);
        assert!(ttl < 300.0, "pressed against memory.high: ttl {ttl}");
    }

    /// [`working_set`] scraped every `every` seconds.
    fn scraped_working_set(end: u64, every: usize, mib: impl Fn(f64) -> f64) -> Features {
        run((0..=end).step_by(every).map(|i| {
            let mut s = base(i as f64);
            let v = mib(i as f64) + 2.0 * wobble(i);
            s.memory_working_set_bytes = Some((v * MIB as f64) as u64);
            s
        }))
    }

    #[test]
    fn a_leak_in_bursts_is_one_burst_from_its_limit_a_sawtooth_rebound_is_not() {
        // Scraped every 60 s: 200 MiB of 512, 40 MiB more every 2 minutes, flat in between.
        let bursts = |t: f64| 200.0 + 40.0 * (t / 120.0).floor();
        // At 400 MiB the largest burst is short of the 112 MiB left; at 480 MiB it covers 32.
        let early = scraped_working_set(660, 60, bursts);
        assert!(
            early.ttl_mem.is_some() && !early.step_reaches_limit,
            "{early:?}"
        );
        let late = scraped_working_set(900, 60, bursts);
        assert!(
            late.ttl_mem.is_some() && late.step_reaches_limit,
            "{late:?}"
        );

        // A steady GC sawtooth, 200 → 488 MiB every 150 s: its rebounds from a trough rise
        // 115 MiB between samples, more than the 82 MiB left at its highest sample, but none
        // sets a new high.
        let mut h = History::new();
        let mut rebound = 0.0f64;
        let mut prev = None;
        for i in (0..=1200u64).step_by(60) {
            let mut s = base(i as f64);
            let v = 200.0 + 1.92 * (i % 150) as f64;
            s.memory_working_set_bytes = Some((v * MIB as f64) as u64);
            h.push(&s);
            if i >= 900 {
                rebound = rebound.max(v - prev.unwrap_or(v));
            }
            prev = Some(v);
        }
        let headroom = (512.0 - 430.4) * MIB as f64;
        assert!(rebound * MIB as f64 > headroom, "rebound {rebound} MiB");
        assert!(!step_reaches_limit(&h, 1200.0, 60.0, headroom));
        // Dense samples are left to the time to limit: the next one is seconds away.
        assert!(!step_reaches_limit(&h, 1200.0, 10.0, 0.0));
    }

    /// 5 min at 1 s of a line from `start` MiB rising `rate` MiB/s, ±2 MiB of noise, and a
    /// 4 s burst of 30 MiB late in the window (a burst of requests).
    fn noisy_with_burst(start: f64, rate: f64) -> Features {
        working_set(300, |t| {
            let burst = if (250.0..254.0).contains(&t) {
                30.0
            } else {
                0.0
            };
            start + rate * t + burst
        })
    }

    #[test]
    fn a_heap_that_sized_itself_after_the_start_and_holds_is_not_a_leak() {
        // 20 → 440 of 512 MiB in the first 100 s, then flat. At 170 s the envelope still has
        // the ramp in its older half (130 s to the limit, trusted before); the last 70 s are
        // flat.
        let f = working_set(170, |t| 20.0 + 4.2 * t.min(100.0));
        assert!(f.x[4] > 0.0, "the envelope still rises: {}", f.x[4]);
        assert_eq!(f.ttl_mem, None);
    }

    #[test]
    fn a_ramp_that_ended_two_scrapes_ago_is_not_a_leak() {
        // 20 → 452 of 512 MiB in the first 120 s, scraped every 15 s, the same since: at 150 s
        // the two newest scrapes held where the ramp's pace would have reached the limit.
        let f = scraped_working_set(150, 15, |t| 20.0 + 3.6 * t.min(120.0));
        assert!(f.x[4] > 0.0, "the envelope still rises: {}", f.x[4]);
        assert_eq!(f.ttl_mem, None);
    }

    #[test]
    fn a_leak_scraped_every_15_s_is_trusted() {
        // 2 MiB/s from the start, scraped every 15 s: 440 MiB at 210 s, 36 s from the limit.
        let f = scraped_working_set(210, 15, |t| 20.0 + 2.0 * t);
        assert!(f.ttl_mem.is_some_and(|t| t < 120.0), "{:?}", f.ttl_mem);
    }

    #[test]
    fn a_leak_from_the_start_at_the_same_pace_is_trusted() {
        // The same start, 2 MiB/s throughout: 420 MiB at 200 s, 46 s from the limit.
        let f = working_set(200, |t| 20.0 + 2.0 * t);
        assert!(f.ttl_mem.is_some_and(|t| t < 120.0), "{:?}", f.ttl_mem);
    }

    #[test]
    fn a_warm_up_that_bends_over_below_the_limit_is_not_a_leak() {
        // A cache filling toward 460 MiB with τ = 90 s: at 240 s it is at about 430 MiB and
        // still rising, the 5-minute envelope gives about two minutes to the limit, but the
        // pace has fallen by e each 90 s and adds about 30 MiB more.
        let f = working_set(240, |t| 20.0 + 440.0 * (1.0 - (-t / 90.0).exp()));
        assert!(f.x[4] > 0.0, "the envelope still rises: {}", f.x[4]);
        assert_eq!(f.ttl_mem, None);
    }

    #[test]
    fn a_warm_up_from_the_start_toward_a_plateau_is_not_a_leak() {
        // 20 MiB rising toward 470 of 512 MiB with τ = 80 s: at 150 s it is at about 400 MiB
        // and rising 0.9 MiB/s (two minutes to the limit at that pace), but the pace has
        // fallen six-fold since the start and adds only 70 MiB more.
        let f = working_set(150, |t| 20.0 + 450.0 * (1.0 - (-t / 80.0).exp()));
        assert!(f.x[4] > 0.0, "the envelope still rises: {}", f.x[4]);
        assert_eq!(f.ttl_mem, None);
    }

    #[test]
    fn a_fast_ramp_that_ended_near_the_limit_is_not_a_leak() {
        // Toward 480 of 512 MiB with τ = 30 s, scraped every 10 s: at 130 s it is at 93 % and
        // rose 8 MiB in the last 30 s. The clean climb before it gives 40 s to the limit, which
        // the early path for a climb at the limit's doorstep trusts before the trust span.
        let f = scraped_working_set(130, 10, |t| 30.0 + 450.0 * (1.0 - (-t / 30.0).exp()));
        assert!(f.x[4] > 0.0, "the envelope still rises: {}", f.x[4]);
        assert_eq!(f.ttl_mem, None);
    }

    #[test]
    fn a_slowing_rise_that_would_level_off_above_the_limit_is_trusted() {
        // Toward 700 MiB, past the 512 MiB limit, with τ = 150 s: it slows down, but at 150 s
        // (450 MiB) it still has 250 MiB to go, four times the headroom.
        let f = working_set(150, |t| 20.0 + 680.0 * (1.0 - (-t / 150.0).exp()));
        assert!(f.ttl_mem.is_some_and(|t| t < 120.0), "{:?}", f.ttl_mem);
    }

    #[test]
    fn an_accelerating_leak_from_the_start_is_trusted() {
        // 20 MiB + 0.006 t² MiB: 260 MiB at 200 s and speeding up.
        let f = working_set(200, |t| 20.0 + 0.006 * t * t);
        assert!(f.ttl_mem.is_some_and(|t| t < 300.0), "{:?}", f.ttl_mem);
    }

    #[test]
    fn a_step_that_holds_in_an_old_instance_is_still_a_step_of_a_leak() {
        // Flat at 200 MiB for ten minutes, one chunk of 240 MiB at 600 s, held to 700 s: past
        // a start-up, a level that steps up and holds is how a stepwise leak looks between
        // two chunks.
        let f = working_set(700, |t| if t < 600.0 { 200.0 } else { 440.0 });
        assert!(f.ttl_mem.is_some_and(|t| t < 120.0), "{:?}", f.ttl_mem);
    }

    #[test]
    fn weighted_least_squares_trusts_full_buckets_over_a_lone_sample() {
        // A line of 3 per second through five buckets of ten samples, and a sixth bucket of one
        // sample 20 above it.
        let mut pts: Vec<_> = (0..5).map(|i| (i as f64, 3.0 * i as f64, 10.0)).collect();
        pts.push((5.0, 35.0, 1.0));
        let w = weighted_least_squares(pts.iter().copied()).map_or(f64::NAN, |f| f.slope);
        let u = least_squares(pts.iter().map(|&(t, y, _)| (t, y))).map_or(f64::NAN, |f| f.slope);
        assert!(
            (w - 3.0).abs() < (u - 3.0).abs() / 2.0,
            "weighted {w}, unweighted {u}"
        );
        let exact = weighted_least_squares(pts[..5].iter().copied());
        assert!(exact.is_some_and(|f| (f.slope - 3.0).abs() < 1e-9 && f.se < 1e-9));
        // Noise around a flat line: the slope is within a few standard errors of 0.
        let flat = least_squares((0..20u64).map(|i| (i as f64, wobble(i))));
        assert!(
            flat.is_some_and(|f| f.se > 0.0 && f.slope.abs() < 3.0 * f.se),
            "{flat:?}"
        );
    }

    #[test]
    fn a_leak_with_gaps_in_its_series_is_still_a_trend() {
        // 1.5 MiB/s from 100 MiB, 1 s samples, and one sample in 37 without any memory figure
        // (the series missing from that scrape): each gap used to blank its bucket and with it
        // the envelope for five minutes.
        let f = run((0..=200u64).map(|i| {
            let mut s = base(i as f64);
            if i % 37 != 5 {
                s.memory_working_set_bytes = Some(((100.0 + 1.5 * i as f64) * MIB as f64) as u64);
            }
            s
        }));
        assert!(
            f.ttl_mem.is_some_and(|t| (t - 75.0).abs() < 15.0),
            "{:?}",
            f.ttl_mem
        );
    }

    #[test]
    fn a_few_noisy_seconds_near_the_top_of_a_flat_line_are_not_a_trend() {
        // Flat at 460 of 512 MiB. The burst puts the recent half's peak 30 MiB above the older
        // one, ten mean steps between bucket peaks: the envelope test alone trusted that and
        // gave a time to the limit. The bucket means show no climb.
        let f = noisy_with_burst(460.0, 0.0);
        assert!(f.x[4] > 0.0, "the envelope alone rises: {}", f.x[4]);
        assert_eq!(f.ttl_mem, None);
    }

    #[test]
    fn a_slow_leak_under_the_same_noise_is_a_trend() {
        // 0.1 MiB/s (6 MiB a minute) under the same noise and burst.
        let f = noisy_with_burst(400.0, 0.1);
        assert!(f.ttl_mem.is_some_and(|t| t < 3600.0), "{:?}", f.ttl_mem);
    }

    #[test]
    fn four_points_in_a_row_near_the_limit_are_not_yet_a_clean_climb() {
        // At a 10 s scrape, four noisy samples of a flat line near the limit rise on a line
        // (r² ≥ 0.95) about once in 80 windows; five, once in 450.
        let at = |n: u64| {
            run((0..n).map(|i| {
                let mut s = base(i as f64 * 10.0);
                s.memory_working_set_bytes = Some((468 + 10 * i) * MIB);
                s
            }))
        };
        assert_eq!(at(4).ttl_mem, None);
        assert!(
            at(5).ttl_mem.is_some_and(|t| t < 60.0),
            "{:?}",
            at(5).ttl_mem
        );
    }

    #[test]
    fn two_noisy_maxima_of_a_flat_line_are_not_a_trend() {
        // Flat near the limit, ±3 MiB from one 10 s sample to the next; by chance the recent
        // half peaks 3 MiB above the older one (under 1.5 mean steps of 7 MiB).
        let f = run((0..=16).map(|i| {
            let t = i as f64 * 10.0;
            let mut s = base(t);
            let mib = match (t < 80.0, i % 2 == 0) {
                (true, true) => 470,
                (true, false) => 476,
                (false, true) => 471,
                (false, false) => 479,
            };
            s.memory_working_set_bytes = Some(mib * MIB);
            s
        }));
        assert!(f.x[4] > 0.0, "the envelope alone rises: {}", f.x[4]);
        assert_eq!(f.ttl_mem, None);
    }

    #[test]
    fn counter_reset_gives_no_negative_rate() {
        let f = run((0..120).map(|i| {
            let mut s = base(i as f64);
            // Restart at 60 s: counters start again from 0.
            let c = if i < 60 { 1000 + i * 10 } else { (i - 60) * 10 };
            s.cpu_periods_total = Some(c);
            s.cpu_throttled_periods_total = Some(c / 2);
            s.memory_max_events_total = Some(if i < 60 { 500 } else { 1 });
            s.restarts_total = Some(if i < 60 { 3 } else { 0 });
            s
        }));
        // Counted from the reset, as Prometheus' increase() does: 1 max event since restart.
        assert_eq!(f.x[13], 1.0);
        assert_eq!(f.x[22], 0.0);
        // The new cgroup's own throttling: half its periods.
        assert!((f.x[17] - 0.5).abs() < 0.02, "{}", f.x[17]);
    }

    #[test]
    fn missing_fields_fall_back_to_unknown() {
        let s = Sample {
            ts: 5.0,
            id: "x".into(),
            memory_usage_bytes: Some(900),
            ..Default::default()
        };
        let f = extract_once(&s);
        assert_eq!(f.x[0], UNKNOWN);
        assert_eq!(f.x[2], UNKNOWN);
        assert_eq!(f.x[15], UNKNOWN);
        assert_eq!(f.x[17], UNKNOWN);
        assert_eq!(f.x[8], TTL_CAP as f32);
        assert_eq!(f.ttl_mem, None);
        // Usage stands in for the working set when the latter is missing.
        let mut s2 = s.clone();
        s2.memory_limit_bytes = Some(1000);
        assert_eq!(extract_once(&s2).x[0], 0.9);
    }

    #[test]
    fn pids_growth_gives_time_to_pids_max() {
        // +2 pids/s toward 1000, 15 s samples.
        let f = run((0..=20).map(|i| {
            let t = i as f64 * 15.0;
            let mut s = base(t);
            s.pids_current = Some(100 + 30 * i);
            s.pids_limit = Some(1000);
            s
        }));
        // At t=300: 700 pids, 300 left at 2/s.
        let ttl = f.ttl_pids.unwrap_or(f64::INFINITY);
        assert!((ttl - 150.0).abs() < 20.0, "{ttl}");
        assert!((f.x[20] - 0.7).abs() < 1e-6);
    }

    #[test]
    fn a_critical_pod_is_told_by_its_priority_else_by_kube_system() {
        assert!(critical_pod(
            "kube-system/kube-proxy-x2x7b/kube-proxy",
            None
        ));
        assert!(!critical_pod("default/kube-proxy-x2x7b/kube-proxy", None));
        // The kubelet's word wins where it gave one: minikube's storage-provisioner runs in
        // kube-system without a PriorityClass.
        assert!(!critical_pod(
            "kube-system/storage-provisioner/storage-provisioner",
            Some(0)
        ));
        assert!(critical_pod(
            "monitoring/node-agent-5k2x9/agent",
            Some(2_000_001_000)
        ));
        assert!(critical_pod(
            "kube-system/coredns-668d6bf9bc-psw5k/coredns",
            Some(CRITICAL_PRIORITY)
        ));
    }

    #[test]
    fn a_cronjob_run_is_told_by_its_pod_name() {
        assert!(cronjob_pod("batch/report-28765440-t27bv/report"));
        assert!(cronjob_pod("ml/nightly-train-job-29001234-x9z8q/trainer"));
        // A Deployment's pod (a 10-character template hash), a StatefulSet's, a bare Job's,
        // a scheduled minute of the wrong width, capitals, and ids that are no pod's.
        for id in [
            "web/api-7d9f8c6b5d-x2k4q/app",
            "db/postgres-0/postgres",
            "batch/migrate-x2k4q/migrate",
            "batch/report-2876544-t27bv/report",
            "batch/report-28765440-T27BV/report",
            "batch/28765440-t27bv/report",
            "report-28765440-t27bv",
            "a/report-28765440-t27bv/b/c",
        ] {
            assert!(!cronjob_pod(id), "{id}");
        }
    }

    /// Samples every 5 s with pids.max 256 and the task counts `pids`.
    fn pids_every_5_s(pids: &[u64]) -> Vec<Sample> {
        pids.iter()
            .enumerate()
            .map(|(i, &p)| {
                let mut s = base(i as f64 * 5.0);
                s.pids_current = Some(p);
                s.pids_limit = Some(256);
                s
            })
            .collect()
    }

    #[test]
    fn a_pool_that_jumps_toward_pids_max_and_drains_is_no_leak() {
        // Flat at 40 for 4 minutes, then a request burst to 180 of 256 in one scrape.
        let mut pids = vec![40; 48];
        pids.push(180);
        assert_eq!(
            run(pids_every_5_s(&pids).into_iter()).ttl_pids,
            None,
            "one scrape's jump"
        );
        // Idle threads time out: 5 s later the pool is draining.
        pids.extend([174, 168]);
        assert_eq!(
            run(pids_every_5_s(&pids).into_iter()).ttl_pids,
            None,
            "draining"
        );
        // A second burst while the first still drains: the window holds a fall.
        pids.extend((0..10).map(|i| 160 - 8 * i));
        pids.extend([150, 190, 190]);
        assert_eq!(
            run(pids_every_5_s(&pids).into_iter()).ttl_pids,
            None,
            "a second burst"
        );
        // The same step that holds (a leak taking threads in batches) counts once the next
        // bucket confirms it.
        let mut leak = vec![40; 48];
        leak.extend([180, 181, 180, 182]);
        assert!(
            run(pids_every_5_s(&leak).into_iter()).ttl_pids.is_some(),
            "a held step"
        );
    }

    #[test]
    fn a_task_count_without_pids_max_is_timed_to_the_next_power_of_two() {
        // A thread leak creeping 3 tasks every 5 s from 300, in samples without pids.max: after
        // 10 minutes it is at 660, 364 tasks (607 s) short of 1024.
        let creep = |unset: bool| -> Vec<Sample> {
            let pids: Vec<u64> = (0..=120).map(|i| 300 + 3 * i).collect();
            let mut v = pids_every_5_s(&pids);
            for s in &mut v {
                s.pids_limit = None;
                s.pids_limit_unset = unset;
            }
            v
        };
        let ttl = run(creep(false).into_iter())
            .ttl_pids
            .expect("a time to 1024");
        assert!((ttl - 607.0).abs() < 30.0, "{ttl}");
        // The collector read `max` in both pids.max files: no limit at all, nothing to time.
        assert_eq!(run(creep(true).into_iter()).ttl_pids, None, "unset");
        // An instance that already reached 1100 was not stopped at 1024: the next is 2048.
        let mut high = creep(false);
        high.insert(0, {
            let mut s = high[0].clone();
            s.ts = -3600.0;
            s.pids_current = Some(1100);
            s
        });
        let ttl = run(high.into_iter()).ttl_pids.expect("a time to 2048");
        assert!((ttl - 2313.0).abs() < 100.0, "{ttl}");
        // A pool that more than doubled in 5 minutes, from 300 to 800, is answering load.
        let pool: Vec<u64> = (0..=120)
            .map(|i| if i < 60 { 300 } else { 300 + (i - 60) * 9 })
            .collect();
        let mut pool = pids_every_5_s(&pool);
        pool.iter_mut().for_each(|s| s.pids_limit = None);
        assert_eq!(run(pool.into_iter()).ttl_pids, None, "a pool");
        // A corrupt count past any power of two is no limit to time to (and no panic).
        let mut wild = creep(false);
        wild.last_mut().unwrap().pids_current = Some(u64::MAX - 1);
        assert_eq!(run(wild.into_iter()).ttl_pids, None, "a corrupt count");
    }

    /// A GC heap scraped every 60 s up to `end`: each cycle of `n` samples climbs `step` of
    /// the limit a sample from a floor that starts at `floor` and rises `creep` a cycle, then
    /// collects.
    fn sawtooth_every_60_s(n: u64, floor: f64, step: f64, creep: f64, end: u64) -> Vec<Sample> {
        (0..=end / 60)
            .map(|i| {
                let level = floor + creep * (i / n) as f64 + step * (i % n) as f64;
                let mut s = base(i as f64 * 60.0);
                s.memory_working_set_bytes = Some((level * 512.0 * MIB as f64) as u64);
                s
            })
            .collect()
    }

    #[test]
    fn a_sparse_scrape_in_a_gc_trough_runs_the_time_to_limit_from_the_peaks() {
        // Cycles of four samples climbing 0.1 each from a floor at 0.3 that creeps 0.05.
        // t=720 is the first sample of cycle 3 (at 0.45 of the limit), just after a collection;
        // the peaks so far were 0.60 (t=180), 0.65 (t=420), 0.70 (t=660). The next peak meets
        // the limit when the peaks' line does, so the time to limit runs from that line at
        // t=720, 0.70 + one minute of growth, not from the trough 0.25 of the limit lower.
        let f = run(sawtooth_every_60_s(4, 0.3, 0.1, 0.05, 720).into_iter());
        let w = f.x[0] as f64;
        assert!((w - 0.45).abs() < 1e-3, "{w}");
        let g = f.x[5] as f64 / 60.0; // the 10 min envelope, the slowest one here
        assert!(g > 0.0, "{:?}", f.x);
        let from_peaks = (1.0 - (0.70 + g * 60.0)) / g;
        let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
        assert!((ttl - from_peaks).abs() < 5.0, "{ttl} vs {from_peaks}");
        assert!(ttl < 0.6 * (1.0 - w) / g, "{ttl}");

        // A noise spike is no peak to run from: flat at 0.94 with one sample 0.03 higher.
        let flat = run((0..=12).map(|i| {
            let mut s = base(i as f64 * 60.0);
            let level = if i == 10 { 0.97 } else { 0.94 };
            s.memory_working_set_bytes = Some((level * 512.0 * MIB as f64) as u64);
            s
        }));
        let g = (flat.x[4].min(flat.x[5]) as f64 / 60.0).max(1e-9);
        let from_sample = (1.0 - 0.94) / g;
        let ttl = flat.ttl_mem.unwrap_or(f64::INFINITY);
        assert!(
            ttl >= from_sample.min(TTL_CAP) - 1.0,
            "{ttl} vs {from_sample}"
        );
    }

    #[test]
    fn a_gc_creep_with_cycles_as_long_as_the_window_is_trusted_from_whole_cycles() {
        // Cycles of five samples climbing 0.06 each from a floor at 0.4 that creeps 0.05.
        // At 60 s a 5-minute cycle puts a collection in one half of the 5 min window only;
        // over 10 minutes each half holds a whole cycle. Peaks 0.64, 0.69, 0.74, 0.79 (every
        // 300 s, at t=240, 540, 840, 1140): at t=1140 the limit is (1 − 0.79) / 0.05 cycles,
        // 21 minutes, away.
        let f = run(sawtooth_every_60_s(5, 0.4, 0.06, 0.05, 1140).into_iter());
        let ttl = f
            .ttl_mem
            .expect("a creeping 5-minute sawtooth at 60 s is trusted");
        assert!((900.0..=1500.0).contains(&ttl), "{ttl}");
        // The same heap without the creep: its peaks are level, so no time to limit.
        let steady = run(sawtooth_every_60_s(5, 0.4, 0.06, 0.0, 1140).into_iter());
        assert_eq!(steady.ttl_mem, None, "{:?}", steady.x);
    }

    #[test]
    fn least_squares_exact_line() {
        let fit = least_squares((0..10).map(|i| (i as f64, 3.0 * i as f64 + 1.0))).unwrap_or(Fit {
            slope: 0.0,
            r2: 0.0,
            n: 0,
            se: 0.0,
            t_mean: 0.0,
            y_mean: 0.0,
        });
        assert!((fit.slope - 3.0).abs() < 1e-9);
        assert!((fit.at(20.0) - 61.0).abs() < 1e-9);
        assert!((fit.r2 - 1.0).abs() < 1e-9);
        assert_eq!(least_squares([(0.0, 1.0), (1.0, 2.0)].into_iter()), None);
    }

    /// 15 s samples up to `end` of a leak whose anon memory starts at 290 MiB of a 512 MiB
    /// limit and jumps by 60 MiB at each of `steps` (seconds), with 10 MiB of page cache.
    fn stepping(end: f64, steps: &[f64]) -> impl Iterator<Item = Sample> + '_ {
        (0..=(end / 15.0) as u64).map(move |i| {
            let t = i as f64 * 15.0;
            let n = steps.iter().filter(|s| **s <= t).count() as u64;
            let anon = (290 + 60 * n) * MIB + (wobble(i) * 0.2 * MIB as f64) as u64;
            let mut s = base(t);
            s.memory_anon_bytes = Some(anon);
            s.memory_file_bytes = Some(10 * MIB);
            s.memory_usage_bytes = Some(anon + 10 * MIB);
            s.memory_working_set_bytes = Some(anon + 10 * MIB);
            s
        })
    }

    #[test]
    fn a_leak_in_regular_steps_is_timed_by_its_next_step() {
        let every = [900.0, 1800.0, 2700.0];
        // 100 s after the third step (to 470 MiB), the trend through it says minutes; the next
        // step, which no longer fits under the limit, comes about 15 minutes after the last.
        let applied = |end| {
            let f = run(stepping(end, &every));
            crate::predict::step_clock_applied(&f, f.ttl_mem, 0.0)
        };
        let (ttl, step_reaches_limit) = applied(2800.0);
        let ttl = ttl.unwrap();
        assert!(ttl > crate::predict::ALARM_HORIZON, "{ttl}");
        assert!(!step_reaches_limit);
        // Eight minutes on, the trend is flat, and the step that kills is due.
        assert!(applied(3200.0).1);
        // Long overdue, the rhythm has ended.
        assert!(!applied(4800.0).1);
        // Steps far apart but without a rhythm (5 and 25 minutes), or a heap that falls back
        // between its highs, get no clock.
        let mut h = History::new();
        for s in stepping(2800.0, &[900.0, 1200.0, 2700.0]) {
            h.push(&s);
        }
        assert!(step_clock(&h, 2800.0, 470.0 * MIB as f64, 512.0 * MIB as f64).is_none());
        let mut h = History::new();
        for mut s in stepping(2800.0, &every) {
            if s.ts % 900.0 == 450.0 {
                s.memory_anon_bytes = Some(200 * MIB);
                s.memory_usage_bytes = Some(210 * MIB);
            }
            h.push(&s);
        }
        assert!(h.steps().len() >= 3);
        assert!(step_clock(&h, 2800.0, 470.0 * MIB as f64, 512.0 * MIB as f64).is_none());
    }
}
