//! Real-kernel end-to-end tests of the two limits besides memory, each with the real
//! `crashwatch run` in host mode on the real `/sys/fs/cgroup` (the two run side by side).
//!
//! Fork growth to a real task limit: a cgroup with a memory limit (so host mode tracks it) and
//! `pids.max` = 400, a real process adding two sleeping children a second until the kernel
//! refuses a fork (EAGAIN). The alarm, cause `pid_exhaustion`, must be logged at least 30 s
//! before the refused fork, and `collect` must read the task count and its limit as the kernel
//! gives them.
//!
//! A worker pinned at a real CFS quota: a busy loop under 0.2 cores, throttled in every period
//! for five and a half minutes and still running. That is no starvation (its probes would be
//! answered), and it must never alarm.
//!
//! cgroup v2 with the needed controllers: one directory. Hybrid or v1 (this machine): one
//! directory per hierarchy, the same relative path, which is how the collector pairs them.
//! Skipped, with the reason printed, where neither can be created.
mod real_kernel;
use real_kernel::{collect_host, metric, ours, skip_reason, spawn_in, Cgroups, HostAgent, Reaper};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const PIDS_MAX: u64 = 400;
const FORKS_PER_S: u32 = 2;

/// The test's cgroups (`create`, given the name), a work directory, and the agent (its log in
/// `agent.log` there); `None`, with the reason printed, where cgroups cannot be made here.
fn set_up(
    name: &str,
    create: impl FnOnce(&str) -> Result<Cgroups, String>,
) -> Option<(Cgroups, tempfile::TempDir, HostAgent)> {
    if let Some(why) = skip_reason() {
        eprintln!("SKIP real_kernel_limits: {why}");
        return None;
    }
    let cg = match create(name) {
        Ok(cg) => cg,
        Err(why) => {
            eprintln!("SKIP real_kernel_limits: cgroupfs not writable: {why}");
            return None;
        }
    };
    let work = tempfile::Builder::new()
        .prefix(name)
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let agent = HostAgent::start(&work.path().join("agent.log"), &[]);
    Some((cg, work, agent))
}

#[test]
fn fork_growth_is_predicted_before_the_task_limit_refuses_a_fork() {
    let name = format!("cw-e2e-forks-{}", std::process::id());
    let Some((cg, work, agent)) = set_up(&name, |name| {
        let cg = Cgroups::create(name, &["pids"])?;
        cg.set("pids", "pids.max", &PIDS_MAX.to_string())?;
        Ok(cg)
    }) else {
        return;
    };
    let agent_log = work.path().join("agent.log");

    let procs = cg.procs();
    let stress = PathBuf::from(env!("CARGO_BIN_EXE_cw-stress"));
    let rate = FORKS_PER_S.to_string();
    let forks_log = work.path().join("forks.log");
    let _forker = Reaper(spawn_in(
        &procs,
        &stress,
        &["forks", "--rate", &rate, "--max", "100000"],
        &forks_log,
    ));
    let started = Instant::now();

    // The kernel refuses a fork at pids.max: the forker says so and exits.
    let mut refused_at = None;
    let mut collected: Option<(f64, f64, u64)> = None;
    // At 2 a second the limit is reached after about 200 s.
    let deadline = Duration::from_secs(PIDS_MAX / u64::from(FORKS_PER_S) + 120);
    while started.elapsed() < deadline {
        if cg.refused_forks() > 0 {
            refused_at = Some(Instant::now());
            break;
        }
        // Once, mid-way: the collector's task count and limit against the kernel's own.
        if collected.is_none() && started.elapsed() > Duration::from_secs(60) {
            let before = cg.tasks();
            if let (Some(c), Some(before)) = (ours(&collect_host(), &name), before) {
                let tasks = c["pids_current"].as_f64();
                let limit = c["pids_limit"].as_f64();
                if let (Some(t), Some(l)) = (tasks, limit) {
                    collected = Some((t, l, before));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let refused_at = refused_at.expect("the kernel never refused a fork within the deadline");
    let forker_said = std::fs::File::open(&forks_log)
        .map(|f| {
            BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .any(|l| l.contains("forks failed"))
        })
        .unwrap_or(false);
    let alarm = agent.alarm_line(&name);
    let lead = alarm
        .as_ref()
        .map(|(t, _)| refused_at.saturating_duration_since(*t).as_secs_f64());
    println!(
        "E2E_RESULT kind=fork_growth lead_s={} refused_after_s={:.1} collected={:?}",
        lead.map_or("none".into(), |l| format!("{l:.1}")),
        refused_at.duration_since(started).as_secs_f64(),
        collected,
    );

    assert!(forker_said, "the forker did not report the refused fork");
    let (at, line) = alarm.unwrap_or_else(|| {
        panic!(
            "no alarm line for {name}; agent log in {}",
            agent_log.display()
        )
    });
    assert!(at < refused_at, "alarm came after the refused fork: {line}");
    assert!(line.contains("cause=pid_exhaustion"), "{line}");
    let lead = refused_at.duration_since(at).as_secs_f64();
    assert!(
        lead >= 30.0,
        "alarm only {lead:.1} s before the refused fork: {line}"
    );
    let (tasks, limit, kernel_tasks) =
        collected.expect("collect never gave the cgroup's task count and limit");
    assert_eq!(limit, PIDS_MAX as f64, "pids limit as the kernel has it");
    // The count grows by 2 a second; the kernel's read and the collector's are apart by the
    // collector's start-up.
    assert!(
        (tasks - kernel_tasks as f64).abs() <= 2.0 * f64::from(FORKS_PER_S) + 1.0,
        "collector's task count {tasks} against the kernel's {kernel_tasks}"
    );
    drop(agent);
}

/// How long the pinned worker is watched: past the agent's start-up allowance and a whole
/// 5-minute window of throttling in every period.
const PINNED_WATCH: Duration = Duration::from_secs(330);

#[test]
fn a_worker_pinned_at_its_cpu_quota_is_never_warned() {
    let name = format!("cw-e2e-pinned-{}", std::process::id());
    let Some((cg, work, agent)) = set_up(&name, |name| Cgroups::with_cpu_quota(name, 20_000))
    else {
        return;
    };
    // A loop that wants a whole core, under a quota of a fifth of one.
    let _busy = cg.busy_loop(&work.path().join("busy.log"));
    let started = Instant::now();
    let (mut max_risk, mut samples, mut predicted) = (0.0f64, 0u32, false);
    while started.elapsed() < PINNED_WATCH {
        if let Some(text) = agent.get("/metrics") {
            if let Some(r) = metric(&text, "crashwatch_crash_risk", &name) {
                // Printed for the record; only an alarm fails the test.
                max_risk = max_risk.max(r);
                samples += 1;
            }
            predicted |= metric(&text, "crashwatch_crash_predicted", &name) == Some(1.0);
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let throttled = collect_host();
    let c = ours(&throttled, &name).unwrap_or_else(|| panic!("{name} not collected"));
    let (periods, thr) = (
        c["cpu_periods_total"].as_f64().unwrap_or(0.0),
        c["cpu_throttled_periods_total"].as_f64().unwrap_or(0.0),
    );
    println!(
        "E2E_RESULT kind=cpu_pinned watched_s={} risk_max={max_risk:.3} samples={samples} throttled={thr}/{periods}",
        PINNED_WATCH.as_secs()
    );
    assert!(
        samples > 100,
        "the agent published a risk for {name} only {samples} times"
    );
    assert!(thr >= 0.9 * periods && periods > 0.0, "not throttled: {c}");
    let alarm = agent.alarm_line(&name);
    assert!(alarm.is_none(), "a pinned worker alarmed: {alarm:?}");
    assert!(!predicted, "crashwatch_crash_predicted was 1 for {name}");
    drop(agent);
}
