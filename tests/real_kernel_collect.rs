//! Real kernel: a v1 memory cgroup with a known limit (plus a child in the unified v2 tree on
//! hybrid machines), a real process that allocates a known amount inside it, then
//! `crashwatch collect` in host mode on the real `/sys/fs/cgroup`; then an allocation past
//! the limit so the kernel OOM-kills it, and the counter must show it.
//!
//! Needs root and a writable v1 memory hierarchy; skipped with a printed reason otherwise.
//! Everything it creates is removed by a Drop guard, also when an assertion fails.
mod real_kernel;
use real_kernel::{collect_host, ours, Cgroups};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: u64 = 256 << 20;
const ALLOC: u64 = 64 << 20;

/// Removes the test cgroups and kills the test processes on drop.
struct Guard {
    dirs: Vec<PathBuf>,
    children: Vec<Child>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // A cgroup can only be removed once its last task has exited.
        for d in self.dirs.iter().rev() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while std::fs::remove_dir(d).is_err() && d.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Start python3 that joins `procs` files, allocates `bytes` (touching every page) and sleeps.
fn allocator(procs: &[PathBuf], bytes: u64) -> std::io::Result<Child> {
    let joins: String = procs
        .iter()
        .map(|p| {
            format!(
                "open({:?},'w').write(str(os.getpid()));",
                p.display().to_string()
            )
        })
        .collect();
    let script = format!(
        "import os,sys,time\n{joins}\nb=b'x'*{bytes}\nprint('ready',flush=True)\ntime.sleep(120)\n"
    );
    Command::new("python3")
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
}

/// Wait for the child's `ready` line (or its exit).
fn wait_ready(child: &mut Child) -> bool {
    let Some(out) = child.stdout.take() else {
        return false;
    };
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).is_ok() && line.trim() == "ready"
}

#[test]
fn real_v1_cgroup_limit_usage_and_oom_kill() {
    let mem_root = Path::new("/sys/fs/cgroup/memory");
    if !mem_root.join("cgroup.procs").exists() {
        eprintln!(
            "skipped: no cgroup v1 memory hierarchy at {}",
            mem_root.display()
        );
        return;
    }
    if Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        eprintln!("skipped: python3 not available to allocate memory in the test cgroup");
        return;
    }
    let name = format!("crashwatch-test-{}", std::process::id());
    let mem = mem_root.join(&name);
    if let Err(e) = std::fs::create_dir(&mem) {
        eprintln!(
            "skipped: cannot create {} ({e}); needs root and a writable cgroupfs",
            mem.display()
        );
        return;
    }
    let mut guard = Guard {
        dirs: vec![mem.clone()],
        children: Vec::new(),
    };
    let unified = Path::new("/sys/fs/cgroup/unified").join(&name);
    let mut procs = vec![mem.join("cgroup.procs")];
    if Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists()
        && std::fs::create_dir(&unified).is_ok()
    {
        guard.dirs.push(unified.clone());
        procs.push(unified.join("cgroup.procs"));
    }
    std::fs::write(mem.join("memory.limit_in_bytes"), LIMIT.to_string())
        .expect("set memory.limit_in_bytes");

    // 1. A process holding 64 MiB inside the 256 MiB cgroup.
    let mut child = allocator(&procs, ALLOC).expect("spawn python3");
    let ready = wait_ready(&mut child);
    guard.children.push(child);
    assert!(ready, "allocator did not start");
    let snap = collect_host();
    if snap["node"]["host_mode"] != true {
        eprintln!("skipped: this machine has a kubepods hierarchy, so collect is not in host mode");
        return;
    }
    let c = ours(&snap, &name).unwrap_or_else(|| panic!("{name} not reported: {snap}"));
    assert_eq!(c["pod"], name.as_str());
    assert_eq!(c["container"], "");
    assert_eq!(c["memory_limit_bytes"].as_u64(), Some(LIMIT));
    let usage = c["memory_usage_bytes"].as_u64().expect("usage");
    let ws = c["memory_working_set_bytes"].as_u64().expect("working set");
    let kernel_usage: u64 = std::fs::read_to_string(mem.join("memory.usage_in_bytes"))
        .expect("read")
        .trim()
        .parse()
        .expect("number");
    eprintln!("real cgroup: usage {usage} working set {ws} (kernel now says {kernel_usage}), limit {LIMIT}");
    assert!(
        (ALLOC..LIMIT).contains(&usage),
        "usage {usage} should hold the 64 MiB allocation and stay under the limit"
    );
    assert!(ws >= ALLOC && ws <= usage, "working set {ws}");
    assert_eq!(c["oom_kills_total"].as_u64(), Some(0));
    if procs.len() > 1 {
        assert!(
            c["memory_pressure_some_avg10"].as_f64().is_some(),
            "PSI from unified/{name}"
        );
    }

    // 2. Allocate past the limit: the kernel OOM-kills the process, and the counter shows it.
    let mut big = allocator(&procs, 2 * LIMIT).expect("spawn python3");
    let ready = wait_ready(&mut big);
    let status = big.wait().expect("wait");
    assert!(
        !ready && !status.success(),
        "allocating 512 MiB under a 256 MiB limit must be killed"
    );
    let snap = collect_host();
    let c = ours(&snap, &name).unwrap_or_else(|| panic!("{name} not reported: {snap}"));
    assert!(
        c["oom_kills_total"].as_u64().unwrap_or(0) >= 1,
        "oom_kill counted: {c}"
    );
    assert!(
        c["memory_max_events_total"].as_u64().unwrap_or(0) >= 1,
        "failcnt counted: {c}"
    );
}

/// A busy loop under a real CFS quota of 0.2 cores (v1 `memory`, `cpu` and `cpuacct`
/// hierarchies plus the unified tree for PSI on hybrid machines, one directory on v2):
/// `collect` gives the quota as the kernel holds it, a CPU use the quota caps, and throttled
/// periods and time that grow.
#[test]
fn real_cpu_quota_throttling_and_usage() {
    let name = format!("crashwatch-cpu-test-{}", std::process::id());
    let cg = match Cgroups::with_cpu_quota(&name, 20_000) {
        Ok(cg) => cg,
        Err(why) => {
            eprintln!("skipped: {why}; needs root and a writable cgroupfs");
            return;
        }
    };
    let work = tempfile::tempdir().unwrap();
    let _busy = cg.busy_loop(&work.path().join("busy.log"));
    // In every cgroup before the first read.
    let t0 = Instant::now();
    while cg.procs().iter().any(|p| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .is_empty()
    }) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "busy loop did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    let a = collect_host();
    if a["node"]["host_mode"] != true {
        eprintln!("skipped: this machine has a kubepods hierarchy, so collect is not in host mode");
        return;
    }
    std::thread::sleep(Duration::from_secs(4));
    let b = collect_host();
    let (ca, cb) = (
        ours(&a, &name).unwrap_or_else(|| panic!("{name} not reported: {a}")),
        ours(&b, &name).unwrap_or_else(|| panic!("{name} not reported: {b}")),
    );
    let num = |c: &Value, k: &str| c[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {c}"));
    let delta = |k: &str| num(cb, k) - num(ca, k);
    let wall = num(&b, "ts") - num(&a, "ts");
    assert!((num(cb, "cpu_limit_cores") - 0.2).abs() < 1e-9, "{cb}");
    let used = delta("cpu_usage_seconds_total") / wall;
    let (periods, throttled) = (
        delta("cpu_periods_total"),
        delta("cpu_throttled_periods_total"),
    );
    eprintln!(
        "real cpu cgroup: {used:.3} cores over {wall:.1} s, {throttled} of {periods} periods throttled, {:.2} s throttled",
        delta("cpu_throttled_seconds_total")
    );
    // The quota caps the loop at 0.2 cores (the kernel lets a period overrun by a little).
    assert!(
        (0.1..=0.25).contains(&used),
        "used {used:.3} cores under a 0.2 quota"
    );
    // A loop that wants a whole core is throttled in nearly every 100 ms period.
    assert!(
        periods >= 0.5 * wall * 10.0,
        "{periods} periods in {wall:.1} s"
    );
    assert!(
        throttled >= 0.8 * periods && throttled <= periods,
        "{throttled} throttled of {periods}"
    );
    assert!(delta("cpu_throttled_seconds_total") > 0.0, "{cb}");
    if Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists() {
        assert!(
            cb["cpu_pressure_some_avg10"].as_f64().is_some(),
            "CPU PSI from unified/{name}: {cb}"
        );
    }
}
