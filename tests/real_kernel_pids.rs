//! Real-kernel end-to-end test: fork growth to a real task limit. A cgroup with a memory limit
//! (so host mode tracks it) and `pids.max` = 400, a real process adding two sleeping children a
//! second until the kernel refuses a fork (EAGAIN), and the real `crashwatch run` in host mode
//! on the real `/sys/fs/cgroup`. It checks that the alarm, cause `pid_exhaustion`, is logged at
//! least 30 s before the refused fork, and that `collect` reads the task count and its limit
//! as the kernel gives them.
//!
//! cgroup v2 with the memory and pids controllers: one directory. Hybrid or v1 (this machine):
//! one directory each under `memory/` and `pids/`, the same relative path, which is how the
//! collector pairs them. Skipped, with the reason printed, where neither can be created.
mod real_kernel;
use real_kernel::{collect_host, ours, remove_cgroups, skip_reason, spawn_in, HostAgent, Reaper};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PIDS_MAX: u64 = 400;
const FORKS_PER_S: u32 = 2;
const MEMORY_LIMIT: u64 = 256 << 20;

/// The test's cgroup directories (one, or one per v1 hierarchy), removed on drop.
struct Cgroups {
    /// Where `memory.*` and `pids.*` are; the same directory on v2.
    memory: PathBuf,
    pids: PathBuf,
}

impl Cgroups {
    fn create(name: &str) -> Result<Cgroups, String> {
        let root = Path::new("/sys/fs/cgroup");
        let v2 = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
        let (memory, pids) = if ["memory", "pids"]
            .iter()
            .all(|c| v2.split_whitespace().any(|x| x == *c))
        {
            (root.join(name), root.join(name))
        } else if root.join("memory/cgroup.procs").exists()
            && root.join("pids/cgroup.procs").exists()
        {
            (root.join("memory").join(name), root.join("pids").join(name))
        } else {
            return Err("neither cgroup v2 with memory and pids nor v1 memory and pids".into());
        };
        std::fs::create_dir(&memory).map_err(|e| format!("{}: {e}", memory.display()))?;
        let cg = Cgroups { memory, pids };
        if cg.pids != cg.memory {
            std::fs::create_dir(&cg.pids).map_err(|e| format!("{}: {e}", cg.pids.display()))?;
        }
        let limit_file = if cg.pids == cg.memory {
            "memory.max"
        } else {
            "memory.limit_in_bytes"
        };
        std::fs::write(cg.memory.join(limit_file), MEMORY_LIMIT.to_string())
            .map_err(|e| format!("cannot set {limit_file}: {e}"))?;
        std::fs::write(cg.pids.join("pids.max"), PIDS_MAX.to_string())
            .map_err(|e| format!("cannot set pids.max: {e}"))?;
        Ok(cg)
    }

    fn dirs(&self) -> Vec<PathBuf> {
        let mut d = vec![self.memory.clone()];
        if self.pids != self.memory {
            d.push(self.pids.clone());
        }
        d
    }

    /// Forks the kernel refused so far (`pids.events` max).
    fn refused_forks(&self) -> u64 {
        std::fs::read_to_string(self.pids.join("pids.events"))
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    let (k, v) = l.split_once(' ')?;
                    (k == "max").then(|| v.trim().parse().unwrap_or(0))
                })
            })
            .unwrap_or(0)
    }

    fn tasks(&self) -> Option<u64> {
        std::fs::read_to_string(self.pids.join("pids.current"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        remove_cgroups(&self.dirs());
    }
}

#[test]
fn fork_growth_is_predicted_before_the_task_limit_refuses_a_fork() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIP real_kernel_pids: {why}");
        return;
    }
    let name = format!("cw-e2e-forks-{}", std::process::id());
    let cg = match Cgroups::create(&name) {
        Ok(c) => c,
        Err(why) => {
            eprintln!("SKIP real_kernel_pids: cgroupfs not writable: {why}");
            return;
        }
    };
    let work = tempfile::Builder::new()
        .prefix("cw-e2e-forks")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let agent_log = work.path().join("agent.log");
    let agent = HostAgent::start(&agent_log, &[]);

    let procs: Vec<PathBuf> = cg.dirs().iter().map(|d| d.join("cgroup.procs")).collect();
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
