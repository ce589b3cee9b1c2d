//! Bounded per-container history: a fixed ring of time buckets (10 s each, 64 of them, so
//! about 10 minutes) that summarise the samples falling into them. Updating is O(1) and
//! allocation-free after the first sample; memory does not grow with uptime.
//!
//! Everything is keyed on sample time (`ts`), never on sample counts: the agent samples every
//! second, foreign traces every 5–15 s with jitter and gaps, and a window of "60 s" must mean
//! the same thing in both. A bucket is closed once it spans [`BUCKET_SECONDS`]; with sparse
//! samples a bucket simply holds one sample.
//!
//! This module must not interpret the data (no slopes, no thresholds): that is `features`.
use crate::sample::Sample;

/// Nominal span of one bucket, seconds.
pub const BUCKET_SECONDS: f64 = 10.0;
/// Number of buckets kept (64 × 10 s ≈ 10.7 min).
pub const CAPACITY: usize = 64;

/// Smallest rise of the unreclaimable series from one sample to the next that
/// [`History::steps`] records, as a share of the memory limit (of the value itself without
/// one): below it lie noise and the per-sample growth of a steady leak.
pub const JUMP_SHARE: f32 = 0.015;
/// Jumps less than this apart are one step (an allocation that two scrapes caught halfway).
pub const JUMP_MERGE_SECONDS: f64 = 60.0;
/// Steps [`History::steps`] keeps.
pub const STEPS_KEPT: usize = 4;

/// Buckets [`History::sample_gap`] averages over: a minute at a dense scrape, a few scrapes
/// at a sparse one, so one missed scrape does not double it.
pub const GAP_BUCKETS: usize = 6;

/// Summary of the samples that fell into one time bucket. Memory values are bytes as `f32`
/// (24-bit mantissa: ample for slopes, and half the size of `f64` per container); `NaN`
/// means "not reported by any sample in the bucket". A sample that lacks a value (a gap in
/// one exported series) is left out of that value's sum and maximum, not of the bucket.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    /// Time of the first sample in the bucket.
    pub t_first: f64,
    /// Time of the last sample in the bucket.
    pub t_last: f64,
    /// Number of samples.
    pub n: u16,
    /// Samples that reported a working set.
    pub ws_n: u16,
    /// Sum of working-set values (for the mean).
    pub ws_sum: f32,
    /// Largest working set seen in the bucket.
    pub ws_max: f32,
    /// Samples that reported unreclaimable memory ([`Sample::unreclaimable`]: anon, plus tmpfs
    /// and kernel memory where usage and page cache are reported); "anon" in these names.
    pub anon_n: u16,
    /// Sum of unreclaimable values.
    pub anon_sum: f32,
    /// Largest unreclaimable value seen.
    pub anon_max: f32,
    /// Largest usage (memory.current) seen in the bucket (NaN = none reported): the charge,
    /// which the working set never exceeds.
    pub usage_max: f32,
    /// Last working set reported up to this bucket (the one before when none in it).
    pub ws_last: f32,
    /// Largest fall of the working set over a run of falling samples ending in this bucket
    /// (0 when none or unknown): a GC cycle or a dropped cache shows up here, also when a
    /// sparse scrape catches it halfway down (an aliased sawtooth falls over two samples).
    pub ws_fall: f32,
    /// Swap in use (memory.swap.current) as of the bucket's last sample that reported it, or
    /// the bucket before (NaN = none reported by this instance). A gauge kept beside
    /// [`Bucket::last`], not in it: there it would cost 8 bytes a bucket in padding.
    pub swap_last: f32,
    /// Counters and gauges as of the bucket's last sample; a value the sample lacked is the
    /// last one reported before it (NaN = never reported).
    pub last: Counters,
}

/// Counters and slowly changing gauges carried at the end of each bucket, so a window's delta
/// is `now − bucket.last` of the bucket at the window start.
#[derive(Debug, Clone, Copy)]
pub struct Counters {
    /// memory.events oom.
    pub oom_events: f32,
    /// memory.events oom_kill.
    pub oom_kills: f32,
    /// memory.events max.
    pub max_events: f32,
    /// memory.events high.
    pub high_events: f32,
    /// cpu.stat nr_throttled.
    pub throttled_periods: f32,
    /// cpu.stat nr_periods.
    pub periods: f32,
    /// CPU seconds used (f64: it grows for months and its deltas are small).
    pub cpu_seconds: f64,
    /// Restart count.
    pub restarts: f32,
    /// pids.current.
    pub pids: f32,
    /// Memory the kubelet sees left on the node ([`Sample::eviction_available`]), bytes.
    pub node_available: f32,
    /// Page cache (memory.stat file), bytes.
    pub file: f32,
}

fn opt_u(v: Option<u64>) -> f32 {
    v.map_or(f32::NAN, |x| x as f32)
}

impl Counters {
    /// Counters of one sample (NaN where the sample has no value).
    pub fn of(s: &Sample) -> Counters {
        Counters {
            oom_events: opt_u(s.oom_events_total),
            oom_kills: opt_u(s.oom_kills_total),
            max_events: opt_u(s.memory_max_events_total),
            high_events: opt_u(s.memory_high_events_total),
            throttled_periods: opt_u(s.cpu_throttled_periods_total),
            periods: opt_u(s.cpu_periods_total),
            cpu_seconds: s.cpu_usage_seconds_total.unwrap_or(f64::NAN),
            restarts: opt_u(s.restarts_total),
            pids: opt_u(s.pids_current),
            node_available: opt_u(s.eviction_available()),
            file: opt_u(s.memory_file_bytes),
        }
    }

    /// These counters, with each unknown one taken from `earlier`: a gap in one series must
    /// not turn the next window's increase into "unknown" or hide a counter reset.
    fn or(self, earlier: &Counters) -> Counters {
        let f = |a: f32, b: f32| if a.is_nan() { b } else { a };
        // Throttled periods count only as a share of periods: both from the same sample.
        let (throttled_periods, periods) =
            if self.periods.is_nan() || self.throttled_periods.is_nan() {
                (earlier.throttled_periods, earlier.periods)
            } else {
                (self.throttled_periods, self.periods)
            };
        Counters {
            oom_events: f(self.oom_events, earlier.oom_events),
            oom_kills: f(self.oom_kills, earlier.oom_kills),
            max_events: f(self.max_events, earlier.max_events),
            high_events: f(self.high_events, earlier.high_events),
            throttled_periods,
            periods,
            cpu_seconds: if self.cpu_seconds.is_nan() {
                earlier.cpu_seconds
            } else {
                self.cpu_seconds
            },
            restarts: f(self.restarts, earlier.restarts),
            pids: f(self.pids, earlier.pids),
            node_available: f(self.node_available, earlier.node_available),
            file: f(self.file, earlier.file),
        }
    }
}

impl Bucket {
    /// A new bucket for `s`, whose working set `ws` fell by `fall` (see [`Bucket::ws_fall`]),
    /// whose unreclaimable memory is `anon` and whose counters are `last` (all already
    /// computed by [`History::push`]).
    fn start(
        s: &Sample,
        ws: f32,
        anon: f32,
        prev: (f32, f32),
        fall: f32,
        last: Counters,
    ) -> Bucket {
        let (ws_last, swap_last) = prev;
        let mut b = Bucket {
            t_first: s.ts,
            t_last: s.ts,
            n: 0,
            ws_n: 0,
            ws_sum: 0.0,
            ws_max: f32::NAN,
            anon_n: 0,
            anon_sum: 0.0,
            anon_max: f32::NAN,
            usage_max: f32::NAN,
            ws_last,
            ws_fall: 0.0,
            swap_last,
            last,
        };
        b.add(s, ws, anon, fall, last);
        b
    }

    fn add(&mut self, s: &Sample, ws: f32, anon: f32, fall: f32, last: Counters) {
        self.t_last = s.ts;
        // Counts of one 10 s bucket: u16 keeps the bucket at 104 B; a sweep faster than
        // 6,500 a second saturates, and only the means' weights would notice.
        self.n = self.n.saturating_add(1);
        if ws.is_finite() {
            self.ws_n = self.ws_n.saturating_add(1);
            self.ws_sum += ws;
            self.ws_max = self.ws_max.max(ws);
            self.ws_last = ws;
        }
        if anon.is_finite() {
            self.anon_n = self.anon_n.saturating_add(1);
            self.anon_sum += anon;
            self.anon_max = self.anon_max.max(anon);
        }
        if let Some(u) = s.memory_usage_bytes {
            self.usage_max = self.usage_max.max(u as f32);
        }
        self.ws_fall = self.ws_fall.max(fall);
        if let Some(v) = s.memory_swap_bytes {
            self.swap_last = v as f32;
        }
        self.last = last;
    }

    /// Mid time of the bucket.
    pub fn t_mid(&self) -> f64 {
        0.5 * (self.t_first + self.t_last)
    }

    /// Mean working set over the samples of the bucket that reported one (NaN if none).
    pub fn ws_mean(&self) -> f32 {
        self.ws_sum / self.ws_n as f32
    }

    /// Mean anon over the samples of the bucket that reported it (NaN if none).
    pub fn anon_mean(&self) -> f32 {
        self.anon_sum / self.anon_n as f32
    }
}

/// A jump of the unreclaimable series to a new high of the container instance (see
/// [`History::steps`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Step {
    /// Time of the sample that ended the jump.
    pub t: f64,
    /// Time of the sample before the jump.
    pub t_from: f64,
    /// Value before the jump, bytes.
    pub from: f32,
    /// Value after it, bytes.
    pub to: f32,
}

/// The ring of buckets of one container.
#[derive(Debug, Clone)]
pub struct History {
    buf: Box<[Bucket; CAPACITY]>,
    /// Index of the newest bucket.
    head: usize,
    /// Number of valid buckets.
    len: usize,
    /// Time of the first sample of the current container instance (see [`History::push`]).
    instance_start: f64,
    /// Working set where the current run of falling samples began (NaN when not falling).
    decline_top: f32,
    /// Whether samples of this container report `memory_working_set_bytes` itself.
    ws_reported: bool,
    /// The instance's newest jumps, newest first ([`History::steps`]); they outlive the ring,
    /// since a leak that grows in steps may take longer than the ring holds between two.
    steps: [Step; STEPS_KEPT],
    /// How many of `steps` are set.
    n_steps: usize,
    /// Last unreclaimable value of the instance (NaN before one), its time, and its highest.
    unreclaimable_last: f32,
    unreclaimable_ts: f64,
    unreclaimable_high: f32,
    /// Highest task count of any instance (0 before one): it outlives restarts and the ring,
    /// since where pids.max is not in the samples, a count some instance reached is no limit.
    pids_high: u64,
    /// Task count at which an earlier instance died while its count kept multiplying
    /// ([`History::set_pids_ceiling`]).
    pids_ceiling: Option<u64>,
}

impl Default for History {
    fn default() -> Self {
        Self::new()
    }
}

impl History {
    /// An empty history.
    pub fn new() -> History {
        let empty = Bucket {
            t_first: 0.0,
            t_last: 0.0,
            n: 1,
            ws_n: 0,
            ws_sum: f32::NAN,
            ws_max: f32::NAN,
            anon_n: 0,
            anon_sum: f32::NAN,
            anon_max: f32::NAN,
            usage_max: f32::NAN,
            ws_last: f32::NAN,
            ws_fall: 0.0,
            swap_last: f32::NAN,
            last: Counters::of(&Sample::default()),
        };
        History {
            buf: Box::new([empty; CAPACITY]),
            head: 0,
            len: 0,
            instance_start: f64::NEG_INFINITY,
            decline_top: f32::NAN,
            ws_reported: false,
            steps: [Step::default(); STEPS_KEPT],
            n_steps: 0,
            unreclaimable_last: f32::NAN,
            unreclaimable_ts: f64::NAN,
            unreclaimable_high: f32::NAN,
            pids_high: 0,
            pids_ceiling: None,
        }
    }

    /// Add a sample. Samples older than or equal to the newest one are ignored (returns
    /// false): a repeated or out-of-order line must not corrupt rates.
    pub fn push(&mut self, s: &Sample) -> bool {
        if !s.ts.is_finite() {
            return false;
        }
        self.ws_reported |= s.memory_working_set_bytes.is_some();
        let ws = opt_u(self.own_working_set(s));
        let raw = Counters::of(s);
        let mut now = raw;
        // Where the sample goes: into the newest bucket, or a new one (first sample, a
        // restart, or the bucket's time is up). A restart starts with no fall.
        let mut same_bucket = false;
        let (mut prev_ws, mut prev_swap) = (f32::NAN, f32::NAN);
        if self.len > 0 {
            let newest = &self.buf[self.head];
            if s.ts <= newest.t_last {
                return false;
            }
            // A restarted container is a new cgroup: its restart count went up or its CPU
            // counter started again from zero. Trends must not mix the dead instance's memory
            // with the new one's (the drop at the restart would hide a leak for 10 minutes).
            now = raw.or(&newest.last);
            let restarted = now.restarts > newest.last.restarts
                || self.cpu_started_over(s.cpu_usage_seconds_total);
            if restarted {
                self.instance_start = s.ts;
                self.forget_steps();
                now = raw;
            } else {
                prev_ws = newest.ws_last;
                prev_swap = newest.swap_last;
                same_bucket = s.ts - newest.t_first < BUCKET_SECONDS;
            }
        }
        self.pids_high = self.pids_high.max(s.pids_current.unwrap_or(0));
        let fall = self.fall_to(prev_ws, ws);
        let anon = opt_u(s.unreclaimable());
        self.log_jump(s, anon);
        if same_bucket {
            self.buf[self.head].add(s, ws, anon, fall, now);
            return true;
        }
        if self.len > 0 {
            self.head = (self.head + 1) % CAPACITY;
        }
        self.buf[self.head] = Bucket::start(s, ws, anon, (prev_ws, prev_swap), fall, now);
        self.len = (self.len + 1).min(CAPACITY);
        true
    }

    /// How far the working set has fallen since the current run of falling samples began
    /// (0 when it did not fall from `prev`, the last one reported, to `ws`).
    fn fall_to(&mut self, prev: f32, ws: f32) -> f32 {
        if ws.is_nan() {
            // A gap in the series: the run goes on from the last value reported.
            return 0.0;
        }
        // NaN compares false: without an earlier value (a restart) a new run begins.
        if ws < prev {
            if self.decline_top.is_nan() {
                self.decline_top = prev;
            }
            self.decline_top - ws
        } else {
            self.decline_top = f32::NAN;
            0.0
        }
    }

    /// Record `s`'s unreclaimable value `v` in [`History::steps`] when it jumped to a new high.
    fn log_jump(&mut self, s: &Sample, v: f32) {
        if v.is_nan() {
            return;
        }
        let (prev, high) = (self.unreclaimable_last, self.unreclaimable_high);
        let t_prev = self.unreclaimable_ts;
        self.unreclaimable_last = v;
        self.unreclaimable_ts = s.ts;
        self.unreclaimable_high = if high.is_nan() { v } else { high.max(v) };
        let scale = s
            .memory_limit_bytes
            .filter(|l| *l > 0)
            .map_or(v, |l| l as f32);
        // NaN compares false: no jump from an unknown value.
        if !(v - prev >= JUMP_SHARE * scale && v > high) {
            return;
        }
        let newest = &mut self.steps[0];
        if self.n_steps > 0 && s.ts - newest.t <= JUMP_MERGE_SECONDS {
            newest.t = s.ts;
            newest.to = v;
            return;
        }
        self.steps.copy_within(0..STEPS_KEPT - 1, 1);
        self.steps[0] = Step {
            t: s.ts,
            t_from: t_prev,
            from: prev,
            to: v,
        };
        self.n_steps = (self.n_steps + 1).min(STEPS_KEPT);
    }

    fn forget_steps(&mut self) {
        self.n_steps = 0;
        self.unreclaimable_last = f32::NAN;
        self.unreclaimable_high = f32::NAN;
    }

    /// The current instance's newest jumps of the unreclaimable series ([`Sample::unreclaimable`]),
    /// newest first, up to [`STEPS_KEPT`]: rises of at least [`JUMP_SHARE`] of the limit from
    /// one sample to the next to a new high of the instance (a GC heap's rebound is none),
    /// those less than [`JUMP_MERGE_SECONDS`] apart merged into one.
    pub fn steps(&self) -> &[Step] {
        &self.steps[..self.n_steps]
    }

    /// Number of buckets held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no sample was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forget everything (e.g. a container ID was reused).
    pub fn clear(&mut self) {
        self.len = 0;
        self.head = 0;
        self.instance_start = f64::NEG_INFINITY;
        self.decline_top = f32::NAN;
        self.ws_reported = false;
        self.forget_steps();
    }

    /// Bucket `i` counted back from the newest (0 = newest).
    pub fn back(&self, i: usize) -> Option<&Bucket> {
        if i >= self.len {
            return None;
        }
        Some(self.slot(i))
    }

    /// Bucket `i` back from the newest, unchecked against `len`.
    fn slot(&self, i: usize) -> &Bucket {
        &self.buf[(self.head + CAPACITY - i) % CAPACITY]
    }

    /// Buckets from newest to oldest.
    pub fn iter_back(&self) -> impl DoubleEndedIterator<Item = &Bucket> + '_ {
        self.newest(self.len)
    }

    /// The `k` newest buckets, newest first (`k` ≤ [`History::len`]).
    fn newest(&self, k: usize) -> impl DoubleEndedIterator<Item = &Bucket> + '_ {
        (0..k).map(move |i| self.slot(i))
    }

    /// How many of the newest buckets have their last sample after `since` and their first at
    /// or after `from`. Both tests pass for a run of the newest buckets and fail for the older
    /// ones, since samples are pushed in strictly increasing time. Extraction asks this of
    /// every window for every sample, so it starts where the mean spacing of the buckets puts
    /// the run's end and checks that guess (right at a steady scrape, and a branch the CPU
    /// predicts); a binary search, whose branches it cannot, finds the end otherwise.
    fn newest_run(&self, since: f64, from: f64) -> usize {
        let len = self.len;
        let keep = |i: usize| {
            let b = self.slot(i);
            b.t_last > since && b.t_first >= from
        };
        if len < 2 {
            return usize::from(len == 1 && keep(0));
        }
        let (newest, oldest) = (self.slot(0).t_last, self.slot(len - 1).t_last);
        let spacing = (newest - oldest) / (len - 1) as f64;
        // The guess is only a start: a float-to-int cast saturates (NaN is 0), and truncating
        // `x + 1` rounds up without a call to `ceil` (no SSE4.1 in the baseline target).
        let mut g = (((newest - since) / spacing + 1.0) as usize).min(len);
        for _ in 0..2 {
            if g > 0 && !keep(g - 1) {
                g -= 1;
            } else if g < len && keep(g) {
                g += 1;
            } else {
                return g;
            }
        }
        let (mut lo, mut hi) = (0, len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if keep(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Buckets of the current container instance whose newest sample is after `since`, newest
    /// first: the window every trend looks at (a restart is not a trend).
    pub fn iter_instance(&self, since: f64) -> impl DoubleEndedIterator<Item = &Bucket> + '_ {
        let from = self.instance_start;
        self.newest(self.newest_run(since, from))
    }

    /// The working set of a sample as this history sees it: the reported one, or, when the
    /// sample lacks it but the container's samples report it, the last one reported (a gap);
    /// otherwise [`Sample::working_set`]'s estimate.
    pub fn working_set_of(&self, s: &Sample) -> Option<f64> {
        match self.own_working_set(s) {
            Some(v) => Some(v as f64),
            None if !self.ws_reported => None,
            None => self
                .back(0)
                .map(|b| f64::from(b.ws_last))
                .filter(|v| v.is_finite()),
        }
    }

    /// The working set `s` itself gives: the reported one, or [`Sample::working_set`]'s
    /// estimate for a container whose samples never report it. `None` for a sample that lacks
    /// it when others report it: a gap, not a cue to estimate it another way (usage − cache
    /// is a different series, and usage alone holds the page cache).
    fn own_working_set(&self, s: &Sample) -> Option<u64> {
        if s.memory_working_set_bytes.is_none() && self.ws_reported {
            None
        } else {
            s.working_set()
        }
    }

    /// Counters of the newest sample with its gaps filled from earlier ones (see
    /// [`Bucket::last`]); those of `s` alone when it is not the newest sample pushed.
    pub fn counters_of(&self, s: &Sample) -> Counters {
        match self.back(0) {
            Some(b) if b.t_last == s.ts => b.last,
            _ => Counters::of(s),
        }
    }

    /// Whether a next sample's CPU counter `cpu` stands below the newest sample's: it started
    /// again from zero, in the new cgroup of a restarted container.
    pub fn cpu_started_over(&self, cpu: Option<f64>) -> bool {
        self.back(0)
            .is_some_and(|b| cpu.is_some_and(|c| c < b.last.cpu_seconds))
    }

    /// Time of the newest sample.
    pub fn newest_ts(&self) -> Option<f64> {
        self.back(0).map(|b| b.t_last)
    }

    /// Time of the first sample of the current container instance: the first sample after a
    /// detected restart, or −∞ when none was seen.
    pub fn instance_start(&self) -> f64 {
        self.instance_start
    }

    /// Highest `pids_current` of any instance of the container so far (0 before one).
    pub fn pids_high(&self) -> u64 {
        self.pids_high
    }

    /// Where the samples state no pids.max: the task count at which an earlier instance died
    /// while its count kept multiplying. Fork failures end a leak at the limit, so that count
    /// is the limit to time the next instance's rise to (it outlives restarts and the ring,
    /// like [`History::pids_high`]). Lowered by a later such death, never raised; set aside
    /// (not dropped) while a count is above it.
    pub fn set_pids_ceiling(&mut self, count: u64) {
        self.pids_ceiling = Some(self.pids_ceiling.map_or(count, |c| c.min(count)));
    }

    /// The task count set by [`History::set_pids_ceiling`], if any.
    pub fn pids_ceiling(&self) -> Option<u64> {
        self.pids_ceiling
    }

    /// Seconds covered by the current instance's buckets (≤ [`History::span`]).
    pub fn instance_span(&self) -> f64 {
        match (self.back(0), self.back(self.len.saturating_sub(1))) {
            (Some(n), Some(o)) if self.len > 0 => n.t_last - o.t_first.max(self.instance_start),
            _ => 0.0,
        }
    }

    /// Seconds covered, from the oldest bucket's first sample to the newest sample.
    pub fn span(&self) -> f64 {
        match (self.back(0), self.back(self.len.saturating_sub(1))) {
            (Some(n), Some(o)) if self.len > 0 => n.t_last - o.t_first,
            _ => 0.0,
        }
    }

    /// Mean seconds between the samples of the current instance over its newest
    /// [`GAP_BUCKETS`] buckets (0 with fewer than two samples): how long until the next one.
    pub fn sample_gap(&self) -> f64 {
        let (mut n, mut first, mut last) = (0u32, f64::NAN, f64::NAN);
        for b in self.iter_instance(f64::NEG_INFINITY).take(GAP_BUCKETS) {
            if n == 0 {
                last = b.t_last;
            }
            n += u32::from(b.n);
            first = b.t_first;
        }
        if n >= 2 {
            (last - first) / f64::from(n - 1)
        } else {
            0.0
        }
    }

    /// The newest bucket whose last sample is at or before `t` (the counter state at `t`).
    pub fn at_or_before(&self, t: f64) -> Option<&Bucket> {
        self.back(self.newest_run(t, f64::NEG_INFINITY))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ts: f64, ws: u64) -> Sample {
        Sample {
            ts,
            id: "a/b/c".into(),
            memory_working_set_bytes: Some(ws),
            ..Default::default()
        }
    }

    #[test]
    fn a_restart_starts_a_new_instance() {
        let mut h = History::new();
        for i in 0..20 {
            let mut x = s(i as f64 * 5.0, 100);
            x.restarts_total = Some(0);
            x.cpu_usage_seconds_total = Some(i as f64);
            h.push(&x);
        }
        assert_eq!(h.instance_start(), f64::NEG_INFINITY);
        assert_eq!(h.instance_span(), h.span());
        // The kubelet's restart count goes up: a new instance from this sample on.
        let mut x = s(100.0, 5);
        x.restarts_total = Some(1);
        x.cpu_usage_seconds_total = Some(0.1);
        h.push(&x);
        assert_eq!(h.instance_start(), 100.0);
        assert_eq!(h.instance_span(), 0.0);
        assert_eq!(h.span(), 100.0);
        // Without a restart count, a CPU counter that starts again from zero means the same.
        let mut x = s(107.0, 5);
        x.restarts_total = Some(1);
        x.cpu_usage_seconds_total = Some(0.05);
        h.push(&x);
        assert_eq!(h.instance_start(), 107.0);
        h.clear();
        assert_eq!(h.instance_start(), f64::NEG_INFINITY);
    }

    #[test]
    fn window_lookups_match_a_walk_of_the_ring() {
        // Rings that wrapped several times or are part full, at steady scrapes (where the
        // search's first guess is right) and uneven gaps, some with two restarts: the lookups
        // must pick exactly the buckets a walk from the newest one picks.
        // (samples, the gaps between them in turn, restarts)
        let uneven = [1.0, 7.0, 13.0, 31.0];
        let cases = [
            (3 * CAPACITY as u64, uneven, true),
            (3 * CAPACITY as u64, uneven, false),
            (700, [1.0; 4], true),
            (300, [15.0; 4], true),
            (200, [60.0; 4], false),
            (25, [1.0; 4], false),
            (2, [30.0; 4], false),
            (1, [1.0; 4], false),
        ];
        for (n, gap, restart) in cases {
            let mut h = History::new();
            let (mut t, mut restarts, mut cpu) = (0.0, 0, 0.0);
            for i in 0..n {
                t += gap[(i % 4) as usize];
                cpu += 0.5;
                if restart && (i == n - 50 || i == n - 20) {
                    restarts += 1;
                    cpu = 0.1;
                }
                let mut x = s(t, 100 + i);
                x.restarts_total = Some(restarts);
                x.cpu_usage_seconds_total = Some(cpu);
                h.push(&x);
            }
            let from = h.instance_start();
            if restart {
                // The restart lies inside the ring, so the instance cut is exercised too.
                assert!(from > h.iter_back().last().map_or(f64::INFINITY, |b| b.t_first));
            }
            let times =
                |it: &mut dyn Iterator<Item = &Bucket>| it.map(|b| b.t_first).collect::<Vec<_>>();
            let oldest = h.iter_back().last().map_or(0.0, |b| b.t_first);
            let mut probes = vec![f64::NEG_INFINITY, f64::INFINITY];
            let mut probe = oldest - 50.0;
            while probe < t + 50.0 {
                probes.push(probe);
                probe += 3.7;
            }
            for probe in probes {
                let walked = times(
                    &mut h
                        .iter_back()
                        .take_while(|b| b.t_last > probe && b.t_first >= from),
                );
                assert_eq!(
                    times(&mut h.iter_instance(probe)),
                    walked,
                    "{n}: since {probe}"
                );
                assert_eq!(
                    h.at_or_before(probe).map(|b| b.t_first),
                    h.iter_back().find(|b| b.t_last <= probe).map(|b| b.t_first),
                    "{n}: at {probe}"
                );
            }
            // Oldest first is the same walk reversed.
            let mut reversed = times(&mut h.iter_instance(t - 600.0).rev());
            reversed.reverse();
            assert_eq!(reversed, times(&mut h.iter_instance(t - 600.0)));
        }
    }

    #[test]
    fn buckets_follow_time_not_counts() {
        let mut h = History::new();
        // 1 s samples: 10 per bucket.
        for i in 0..30 {
            h.push(&s(i as f64, 100 + i));
        }
        assert_eq!(h.len(), 3);
        assert_eq!(h.back(0).map(|b| b.n), Some(10));
        assert_eq!(h.back(2).map(|b| b.ws_max), Some(109.0));
        // 15 s samples: one per bucket.
        let mut h = History::new();
        for i in 0..5 {
            h.push(&s(i as f64 * 15.0, 1));
        }
        assert_eq!(h.len(), 5);
        assert_eq!(h.span(), 60.0);
    }

    #[test]
    fn bounded_whatever_the_uptime() {
        let mut h = History::new();
        for i in 0..100_000 {
            h.push(&s(i as f64, i));
        }
        assert_eq!(h.len(), CAPACITY);
        assert_eq!(h.newest_ts(), Some(99_999.0));
        // 64 buckets of 10 samples: the oldest starts 639 s back.
        assert_eq!(h.span(), 639.0);
    }

    #[test]
    fn out_of_order_and_repeated_samples_are_ignored() {
        let mut h = History::new();
        assert!(h.push(&s(10.0, 1)));
        assert!(!h.push(&s(10.0, 2)));
        assert!(!h.push(&s(5.0, 3)));
        assert!(!h.push(&s(f64::NAN, 3)));
        assert_eq!(h.back(0).map(|b| (b.n, b.ws_max)), Some((1, 1.0)));
    }

    #[test]
    fn a_missing_value_is_left_out_of_its_bucket_not_the_bucket_out() {
        // Two samples in one bucket, the second without anon: the anon figures are the
        // first's alone. A bucket where no sample had anon has none.
        let mut h = History::new();
        let mut a = s(0.0, 10);
        a.memory_anon_bytes = Some(8);
        h.push(&a);
        h.push(&s(1.0, 12));
        let b = h.back(0).copied();
        assert_eq!(
            b.map(|b| (b.n, b.anon_n, b.anon_max, b.anon_mean())),
            Some((2, 1, 8.0, 8.0))
        );
        assert_eq!(
            b.map(|b| (b.ws_n, b.ws_max, b.ws_mean())),
            Some((2, 12.0, 11.0))
        );
        h.push(&s(20.0, 12));
        assert!(h
            .back(0)
            .is_some_and(|b| b.anon_max.is_nan() && b.anon_mean().is_nan()));
    }

    #[test]
    fn a_gap_in_the_working_set_is_no_value_and_no_fall() {
        // A container that reports its working set: one sample without it (usage and cache
        // only) is a gap, not usage − cache, and the fall across the gap is measured from the
        // last value reported.
        let mut h = History::new();
        for (i, ws) in [400u64, 380, 360].into_iter().enumerate() {
            h.push(&s(i as f64 * 10.0, ws));
        }
        let mut gap = s(30.0, 0);
        gap.memory_working_set_bytes = None;
        gap.memory_usage_bytes = Some(900);
        gap.memory_file_bytes = Some(10);
        h.push(&gap);
        assert!(h.back(0).is_some_and(|b| b.ws_n == 0 && b.ws_max.is_nan()));
        assert_eq!(h.working_set_of(&gap), Some(360.0));
        h.push(&s(40.0, 300));
        assert_eq!(h.back(0).map(|b| b.ws_fall), Some(100.0));
        // Without any reported working set the estimate is used throughout.
        let mut fresh = History::new();
        fresh.push(&gap);
        assert_eq!(fresh.working_set_of(&gap), Some(890.0));
    }

    #[test]
    fn a_gap_in_a_counter_carries_the_last_value_and_pairs_stay_together() {
        let mut h = History::new();
        let mut a = s(0.0, 1);
        (
            a.oom_kills_total,
            a.cpu_periods_total,
            a.cpu_throttled_periods_total,
        ) = (Some(2), Some(100), Some(40));
        h.push(&a);
        let mut b = s(10.0, 1);
        (
            b.oom_kills_total,
            b.cpu_periods_total,
            b.cpu_throttled_periods_total,
        ) = (None, None, Some(55));
        h.push(&b);
        let last = h.counters_of(&b);
        assert_eq!(
            (last.oom_kills, last.periods, last.throttled_periods),
            (2.0, 100.0, 40.0)
        );
    }

    #[test]
    fn a_fall_over_several_samples_counts_whole() {
        // A GC cycle caught halfway down by a 60 s scrape: 300 → 250 → 190 is one fall of
        // 110, not two of 50 and 60; a rise ends it, and a restart's drop is no fall.
        let mut h = History::new();
        let falls: Vec<f32> = [100, 200, 300, 250, 190, 240, 230]
            .iter()
            .enumerate()
            .map(|(i, ws)| {
                let mut x = s(i as f64 * 60.0, *ws);
                x.restarts_total = Some(0);
                h.push(&x);
                h.back(0).map_or(f32::NAN, |b| b.ws_fall)
            })
            .collect();
        assert_eq!(falls, [0.0, 0.0, 0.0, 50.0, 110.0, 0.0, 10.0]);
        let mut r = s(420.0, 20);
        r.restarts_total = Some(1);
        h.push(&r);
        assert_eq!(h.back(0).map(|b| b.ws_fall), Some(0.0));
    }

    #[test]
    fn sample_gap_is_the_mean_interval_of_this_instance() {
        let s = |ts: f64, restarts: u64| Sample {
            restarts_total: Some(restarts),
            ..s(ts, 1)
        };
        let mut h = History::new();
        assert_eq!(h.sample_gap(), 0.0);
        h.push(&s(0.0, 0));
        assert_eq!(h.sample_gap(), 0.0, "one sample has no interval");
        for i in 1..=120 {
            h.push(&s(f64::from(i), 0));
        }
        assert!((h.sample_gap() - 1.0).abs() < 1e-9, "{}", h.sample_gap());
        // A 60 s scrape with one scrape missed: averaged over a few, not doubled.
        for (i, t) in [180.0, 240.0, 300.0, 420.0, 480.0, 540.0]
            .into_iter()
            .enumerate()
        {
            h.push(&s(t, 0));
            if i == 5 {
                assert!((h.sample_gap() - 72.0).abs() < 1e-9, "{}", h.sample_gap());
            }
        }
        // A restart: the dead instance's intervals do not count.
        h.push(&s(545.0, 1));
        assert_eq!(h.sample_gap(), 0.0);
    }

    #[test]
    fn a_containers_history_stays_within_its_memory_budget() {
        // docs/predictor.md gives 6.5 KB per container: 64 buckets of 104 B.
        assert!(
            std::mem::size_of::<Bucket>() <= 104,
            "{}",
            std::mem::size_of::<Bucket>()
        );
        assert!(std::mem::size_of::<[Bucket; CAPACITY]>() <= 6656);
    }

    #[test]
    fn steps_log_jumps_to_a_new_high_and_merge_close_ones() {
        let h = &mut History::new();
        let push = |h: &mut History, ts: f64, anon: u64, restarts: u64| {
            let mut x = s(ts, anon);
            x.memory_anon_bytes = Some(anon);
            x.memory_limit_bytes = Some(1000);
            x.restarts_total = Some(restarts);
            h.push(&x);
            h.steps().to_vec()
        };
        push(h, 0.0, 500, 0);
        // Noise and a slow climb below 1.5 % of the limit per sample are no jump.
        assert!(push(h, 15.0, 510, 0).is_empty());
        assert!(push(h, 30.0, 524, 0).is_empty());
        let one = Step {
            t: 45.0,
            t_from: 30.0,
            from: 524.0,
            to: 600.0,
        };
        assert_eq!(push(h, 45.0, 600, 0), [one]);
        // A collection and the heap's rebound to where it was: no new high, no step.
        assert_eq!(push(h, 300.0, 520, 0), [one]);
        assert_eq!(push(h, 315.0, 600, 0), [one]);
        // A jump the next scrape finishes is one step.
        push(h, 600.0, 650, 0);
        let two = Step {
            t: 620.0,
            t_from: 315.0,
            from: 600.0,
            to: 700.0,
        };
        assert_eq!(push(h, 620.0, 700, 0), [two, one]);
        for i in 1..=4u32 {
            push(h, 600.0 + 300.0 * f64::from(i), 700 + 50 * u64::from(i), 0);
        }
        assert_eq!(h.steps().len(), STEPS_KEPT);
        assert_eq!(h.steps()[0].to, 900.0);
        // A new instance has no steps of its own yet.
        assert!(push(h, 2000.0, 300, 1).is_empty());
        assert!(push(h, 2015.0, 400, 1).len() == 1);
    }
}
