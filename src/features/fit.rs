//! Fit: the arithmetic of a series' rate. Least-squares lines (plain and weighted) through
//! points, and the upper envelope of a series over a window (the peak of its recent half over
//! that of its older half), with the half-window split they share. Nothing here judges whether
//! a rate is a trend (that is `shape`) or what it is a rate toward: these are the numbers the
//! rest of the extractor reads.
use super::LONG_WINDOW;
use crate::history::{Bucket, History};

/// Least history before an envelope slope is computed, seconds.
pub const MIN_ENVELOPE_SPAN: f64 = 20.0;

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
pub(super) fn half_window(h: &History, now: f64, window: f64) -> Option<(f64, f64)> {
    let oldest = h.iter_instance(now - window).next_back()?;
    let span = (now - oldest.t_first).min(window);
    Some((span, now - span / 2.0))
}

/// Envelope slope of `get` over the last 10 minutes (twice [`LONG_WINDOW`], with twice
/// [`MIN_ENVELOPE_SPAN`] of data at least): the longer window the working set's trend and the
/// cache floor each take beside the 5-minute one, for the slower of the two.
pub(super) fn envelope_slope_10m(
    h: &History,
    now: f64,
    get: impl Fn(&Bucket) -> f32,
) -> Option<f64> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::tests::wobble;

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
}
