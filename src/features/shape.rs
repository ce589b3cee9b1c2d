//! Shape: whether the working set's history is a trend worth timing. A climb that noise or
//! an aliased GC cycle cannot fake, an envelope that whole cycles (or none) make trustworthy,
//! a fresh ramp that batch work stops, a young instance settling below its limit. Kept apart
//! from `fit`, which gives the rates, because these checks are where the false alarms were
//! fought: each guards against one way a rate misled.
use super::fit::{half_window, least_squares, weighted_least_squares};
use super::LONG_WINDOW;
use crate::history::{Bucket, History};

/// A trusted envelope rise is at least this many mean steps between neighbouring bucket
/// peaks (see [`envelope_trusted`]); a steady leak rises by one step per bucket.
pub const RISE_NOISE: f32 = 1.5;

/// t statistic of the line through the bucket means that a rise of the envelope without
/// GC cycles needs as well (see [`envelope_trusted`]).
pub const TREND_T: f64 = 3.0;

/// Mean sample interval below which [`TREND_T`] applies, seconds: a 30 s scrape still shows
/// a creeping GC floor in the means, a 60 s one aliases it into noise.
pub const TREND_MAX_GAP: f64 = 40.0;

/// t statistic of the working-set slope that counts as a climb on few points
/// (`significant_climb`).
pub const CLIMB_T: f64 = 6.0;

/// ... and the one that does when every point is above the one before.
pub const CLIMB_T_MONOTONE: f64 = 4.0;

/// Instances younger than this may still be warming up (`settling`), seconds: the ring's
/// length, so their start is in view.
pub const SETTLE_AGE: f64 = 600.0;

/// Least bucket means per half-window fit of `levels_off`.
pub const SETTLE_POINTS: usize = 5;

/// Newest bucket means fitted by `stalled`, shortest first. The 3-point fit's standard error
/// rests on one degree of freedom; it is kept because it alone sees a ramp that ended two
/// scrapes ago, and it cost no hit on the held-out and outside traces (a few leads moved by
/// seconds; docs/predictor.md).
pub const STALL_FITS: [usize; 4] = [3, 5, 10, 15];

/// Share of the envelope growth under which the recent growth counts as stopped.
pub const STALL_SHARE: f64 = 0.25;

/// A rise most of which came within this many seconds is fresh (`fresh_rise`)...
pub const FRESH_RISE: f64 = 60.0;

/// ... this share of it ...
pub const FRESH_SHARE: f64 = 0.8;

/// ... while the rest of the window held within this share of it.
pub const FRESH_FLAT: f64 = 0.2;

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
pub(super) fn significant_climb(h: &History, now: f64, min_fall: f32) -> bool {
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
///
/// [`extract`]: super::extract
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
pub(super) fn falls_in_both_halves(h: &History, now: f64, window: f64, min_fall: f32) -> bool {
    half_window(h, now, window)
        .is_some_and(|(_, mid)| falls_by_half(h, now, window, mid, min_fall) == (true, true))
}

/// Whether the working set's rise over the last [`LONG_WINDOW`] is a fresh one: at least
/// [`FRESH_SHARE`] of it came in the last [`FRESH_RISE`] seconds, and the minutes before held
/// within [`FRESH_FLAT`] of it. A batch job or a burst of requests ramps like that and stops;
/// a leak, a stepwise leak between chunks and a creeping GC floor had risen before. `ws` is
/// the newest working set.
pub(super) fn fresh_rise(h: &History, now: f64, ws: f64) -> bool {
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
pub(super) fn settling(h: &History, now: f64, growth: f64, headroom: f64) -> bool {
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
