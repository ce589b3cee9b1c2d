//! Restarts: what an instance that died says of the next one. Whether its death was explained
//! (a resource risk that rose, a task count that kept multiplying), how long and how high an
//! unexplained restart holds the risk, the task limit a thread leak died at, and the swap an
//! OOM-killed instance had used. Apart because these are read at a crash or a restart and
//! carried into an instance whose own samples do not say them yet.
use super::{Assessment, State};
use crate::sample::{Cause, Sample};

/// An instance whose resource risk never reached this before it died died of something the
/// samples did not show (an exit the app chose, not a resource running out).
const EXPLAINED_RISK: f64 = 0.5;

/// Risk of a container right after an unexplained restart: just above the default threshold.
const UNEXPLAINED_RESTART_RISK: f64 = 0.76;

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
const SWAP_CEILING_MIN: u64 = 8 << 20;

/// How long an unexplained restart keeps its risk: the kubelet's back-off cap (5 min), the
/// longest a looping container waits before it runs (and fails) again.
const UNEXPLAINED_RESTART_SECONDS: f64 = 300.0;

/// An instance whose task count grew this many times over (and by at least
/// `PIDS_GROWTH_MIN` tasks) was leaking threads or processes: a restart resets that even
/// where the samples do not show `pids.max` (a scrape without it).
const PIDS_GROWTH_FACTOR: u64 = 4;
/// See `PIDS_GROWTH_FACTOR`.
const PIDS_GROWTH_MIN: u64 = 100;

/// How far apart a restart the samples report (`restarts_total`) and the reset of the CPU
/// counter that shows it may come and still be one restart, seconds: the kubelet's pod status
/// lags the new instance's cgroup by a poll or two (or, read in another sweep, leads it).
const RESTART_REPORT_LAG: f64 = 60.0;

impl State {
    /// Records the crash `cause` the sample at `ts` shows, and what it says of the next
    /// instance: an unexplained exit, or the task limit a count that kept multiplying died at.
    pub(super) fn note_crash(&mut self, ts: f64, cause: Cause) {
        self.last_crash = Some((ts, cause));
        // An app that exits on its own after a quiet run (a bad config, a failing
        // dependency, a panic) mostly does the same again after the restart: that is how
        // CrashLoopBackOff starts. A restart after a resource ran out resets the resource
        // (fresh pids, fresh heap), so it is left to the memory/pids/cpu terms.
        if cause == Cause::RestartLoop && !self.death_explained() {
            self.unexplained_restart = Some(ts);
        }
        // A count that kept multiplying until the instance died (not of an OOM kill)
        // stopped at a task limit the samples do not state: the next instance dies there.
        let leaked = |&(lo, last): &(u64, u64)| {
            cause != Cause::OomKill && self.stated.pids.is_none() && pids_multiplied(lo, last)
        };
        if let Some(count) = self
            .pids_span
            .filter(leaked)
            .and_then(|(_, last)| pids_limit_near(last))
        {
            self.hist.set_pids_ceiling(count);
        }
        self.peak_risk = 0.0;
        self.pids_span = None;
    }

    /// Takes `sample` (which shows the crash `crashed`, if any) into the history and the
    /// counts kept beside it, and judges whether an OOM kill the sample before showed ended
    /// the container. The sample with the swap limit a killed instance set
    /// ([`SWAP_CEILING_MIN`]), where it states none; `None` where it stands as it is.
    pub(super) fn take_in(&mut self, sample: &Sample, crashed: Option<Cause>) -> Option<Sample> {
        // A cgroup caught before its first process starts reads 0 tasks: no baseline.
        if let Some(p) = sample.pids_current.filter(|p| *p > 0) {
            self.pids_span = Some(self.pids_span.map_or((p, p), |(lo, _)| (lo.min(p), p)));
        }
        self.last_oom_kills = sample.oom_kills_total.or(self.last_oom_kills);
        self.last_restarts = sample.restarts_total.or(self.last_restarts);

        let seen_before = !self.hist.is_empty();
        self.hist.push(sample);
        // An OOM kill that a container survives is no crash: on cgroup v1, or where the kubelet
        // asks for single-process OOM kills, the kernel kills one process (a pre-fork server's
        // worker, which its master respawns) and the container goes on. A killed container
        // comes back as a new cgroup (`History::push` sees the restart) in the next sample;
        // a survivor's next sample is the same instance. Judged one sample after the kill, so
        // the kill opens no alarm by itself until then.
        let restarted = seen_before && self.hist.instance_start() == sample.ts;
        if std::mem::take(&mut self.kill_unconfirmed) && !restarted {
            self.survived_kill = self.last_crash.map(|(t, _)| t);
        }
        if crashed == Some(Cause::OomKill) && !restarted {
            self.kill_unconfirmed = true;
        }
        if restarted {
            let killed = self.last_crash.is_some_and(|(t, c)| {
                c == Cause::OomKill && (0.0..UNEXPLAINED_RESTART_SECONDS).contains(&(sample.ts - t))
            });
            if killed && self.swap_peak >= SWAP_CEILING_MIN {
                self.swap_ceiling = Some(self.swap_peak);
            }
            self.swap_peak = 0;
        }
        self.swap_peak = self.swap_peak.max(sample.memory_swap_bytes.unwrap_or(0));
        match self.swap_ceiling {
            Some(c) if sample.memory_swap_limit_bytes.is_none() => Some(Sample {
                memory_swap_limit_bytes: Some(c),
                ..sample.clone()
            }),
            _ => None,
        }
    }

    /// Holds the risk in `a` (assessed at `ts`) at [`UNEXPLAINED_RESTART_RISK`], as a
    /// `restart_loop`, for [`UNEXPLAINED_RESTART_SECONDS`] after an unexplained restart.
    pub(super) fn hold_unexplained_restart(&mut self, ts: f64, a: &mut Assessment) {
        let Some(t) = self.unexplained_restart else {
            return;
        };
        if ts - t >= UNEXPLAINED_RESTART_SECONDS || ts < t {
            self.unexplained_restart = None;
        } else {
            a.besides_starvation = a.besides_starvation.max(UNEXPLAINED_RESTART_RISK);
            if a.risk < UNEXPLAINED_RESTART_RISK {
                a.risk = UNEXPLAINED_RESTART_RISK;
                a.cause = Some(Cause::RestartLoop);
            }
        }
    }

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
            let before = self
                .reported_restarts
                .unwrap_or(0)
                .saturating_add(self.unreported_restarts - 1);
            self.last_restarts.get_or_insert(before);
        }
        (self.unreported_restarts > 0).then(|| Sample {
            restarts_total: Some(
                self.reported_restarts
                    .unwrap_or(0)
                    .saturating_add(self.unreported_restarts),
            ),
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
fn pids_limit_near(count: u64) -> Option<u64> {
    count.checked_next_power_of_two().filter(|l| {
        *l >= PIDS_GROWTH_MIN && (*l - count) as f64 <= PIDS_LIMIT_SHORTFALL * *l as f64
    })
}

/// Most a count an instance died at may fall short of the limit it stands for, as a share of
/// that limit ([`pids_limit_near`]).
const PIDS_LIMIT_SHORTFALL: f64 = 0.05;

/// Whether an instance's task count, from its fewest `lo` to its latest `last`, kept
/// multiplying ([`PIDS_GROWTH_FACTOR`]): a thread or process leak.
fn pids_multiplied(lo: u64, last: u64) -> bool {
    last >= lo.saturating_mul(PIDS_GROWTH_FACTOR) && last >= lo.saturating_add(PIDS_GROWTH_MIN)
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
