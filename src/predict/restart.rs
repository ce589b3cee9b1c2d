//! Restarts: what an instance that died says of the next one. Whether its death was explained
//! (a resource risk that rose, a task count that kept multiplying), how long and how high an
//! unexplained restart holds the risk, the task limit a thread leak died at, and the swap an
//! OOM-killed instance had used. Apart because these are read at a crash or a restart and
//! carried into an instance whose own samples do not say them yet.
use super::State;
use crate::sample::Sample;

/// An instance whose resource risk never reached this before it died died of something the
/// samples did not show (an exit the app chose, not a resource running out).
const EXPLAINED_RISK: f64 = 0.5;

/// Risk of a container right after an unexplained restart: just above the default threshold.
pub(super) const UNEXPLAINED_RESTART_RISK: f64 = 0.76;

/// Least swap an instance killed by the OOM killer must have used for it to stand as the swap
/// limit of the next one. Where a node swaps (NodeSwap LimitedSwap, zram) the kubelet's swap
/// limit of a container is set from its memory request, and the samples may not state it
/// (`memory.swap.max` is an added field): at the memory limit the kernel swaps anonymous
/// memory out, and kills only once that swap is full (and the page cache gone). The swap of an
/// instance that died so is what the next one (same container, same request) may use, or less
/// than that: the kill of the next one is no nearer than its swap filling that much
/// ([`Features::swap_fill`], [`Features::swap_floor`]). A few MiB of swap at a kill says
/// nothing of the limit (a burst through it).
///
/// [`Features::swap_fill`]: crate::features::Features::swap_fill
/// [`Features::swap_floor`]: crate::features::Features::swap_floor
pub(super) const SWAP_CEILING_MIN: u64 = 8 << 20;

/// How long an unexplained restart keeps its risk: the kubelet's back-off cap (5 min), the
/// longest a looping container waits before it runs (and fails) again.
pub(super) const UNEXPLAINED_RESTART_SECONDS: f64 = 300.0;

/// An instance whose task count grew this many times over (and by at least
/// `PIDS_GROWTH_MIN` tasks) was leaking threads or processes: a restart resets that even
/// where the samples do not show `pids.max` (a scrape without it).
const PIDS_GROWTH_FACTOR: u64 = 4;
/// See `PIDS_GROWTH_FACTOR`.
const PIDS_GROWTH_MIN: u64 = 100;

/// How far apart a restart the samples report (`restarts_total`) and the reset of the CPU
/// counter that shows it may come and still be one restart, seconds: the kubelet's pod status
/// lags the new instance's cgroup by a poll or two (or, read in another sweep, leads it).
pub(super) const RESTART_REPORT_LAG: f64 = 60.0;

impl State {
    /// The sample with its restart count raised by the restarts its samples did not report:
    /// an instance whose CPU counter started again from zero (a new cgroup) while
    /// `restarts_total` stood still. interface.md lets a writer put 0 where it does not know
    /// the count, and a trace may leave it out; then a crash loop, and the crash that ends an
    /// alarm, would go unseen. A report and a reset within [`RESTART_REPORT_LAG`] of each
    /// other are one restart, whichever comes first. `None` while every restart was reported
    /// (the sample stands as it is).
    pub(super) fn count_unreported_restarts(&mut self, s: &Sample) -> Option<Sample> {
        let reported = match (self.reported_restarts, s.restarts_total) {
            (Some(p), Some(c)) => c.saturating_sub(p),
            _ => 0,
        };
        self.reported_restarts = s.restarts_total.or(self.reported_restarts);
        let reset = self.hist.cpu_started_over(s.cpu_usage_seconds_total);
        let near = |t: Option<f64>| t.is_some_and(|t| s.ts - t <= RESTART_REPORT_LAG);
        if reported > 0 {
            // The late report of a reset counted already.
            if near(self.reset_unreported.take()) {
                self.unreported_restarts = self.unreported_restarts.saturating_sub(1);
            }
            self.restart_reported = Some(s.ts);
        } else if reset && !near(self.restart_reported.take()) {
            // Not the new cgroup of a restart reported a moment ago.
            self.unreported_restarts += 1;
            self.reset_unreported = Some(s.ts);
            // Samples that never gave a count had none to compare this one with.
            let before = self.reported_restarts.unwrap_or(0) + self.unreported_restarts - 1;
            self.last_restarts.get_or_insert(before);
        }
        (self.unreported_restarts > 0).then(|| Sample {
            restarts_total: Some(self.reported_restarts.unwrap_or(0) + self.unreported_restarts),
            ..s.clone()
        })
    }

    /// Whether the instance that just died showed a resource running out: a resource risk
    /// that rose to `EXPLAINED_RISK`, or a task count that kept multiplying.
    pub(super) fn death_explained(&self) -> bool {
        self.peak_risk >= EXPLAINED_RISK
            || self
                .pids_span
                .is_some_and(|(lo, last)| pids_multiplied(lo, last))
    }
}

/// The task limit a count an instance died at stands for: such limits are set in powers of
/// two (the kubelet's podPidsLimit 1024 or 4096, CRI-O's default 1024), and the last sample
/// before the death may come a little short of one. `None` for a count that is no such limit:
/// threads piling up behind a deadlock until the liveness probe kills the container die at
/// whatever count they reached.
pub(super) fn pids_limit_near(count: u64) -> Option<u64> {
    count.checked_next_power_of_two().filter(|l| {
        *l >= PIDS_GROWTH_MIN && (*l - count) as f64 <= PIDS_LIMIT_SHORTFALL * *l as f64
    })
}

/// Most a count an instance died at may fall short of the limit it stands for, as a share of
/// that limit ([`pids_limit_near`]).
const PIDS_LIMIT_SHORTFALL: f64 = 0.05;

/// Whether an instance's task count, from its fewest `lo` to its latest `last`, kept
/// multiplying ([`PIDS_GROWTH_FACTOR`]): a thread or process leak.
pub(super) fn pids_multiplied(lo: u64, last: u64) -> bool {
    last >= lo.saturating_mul(PIDS_GROWTH_FACTOR) && last >= lo + PIDS_GROWTH_MIN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_a_thread_leak_died_at_stands_for_a_power_of_two_limit() {
        assert_eq!(pids_limit_near(256), Some(256));
        assert_eq!(pids_limit_near(245), Some(256));
        assert_eq!(pids_limit_near(1000), Some(1024));
        // Threads piled up behind a deadlock: no limit someone set.
        assert_eq!(pids_limit_near(267), None);
        assert_eq!(pids_limit_near(190), None);
        // Too few tasks to tell a limit from an app's own pool size.
        assert_eq!(pids_limit_near(60), None);
    }
}
