//! Real kernel: a v1 memory cgroup with a known limit (plus a child in the unified v2 tree on
//! hybrid machines), a real process that allocates a known amount inside it, then
//! `crashwatch collect` in host mode on the real `/sys/fs/cgroup`; then an allocation past
//! the limit so the kernel OOM-kills it, and the counter must show it.
//!
//! Needs root and a writable v1 memory hierarchy; skipped with a printed reason otherwise.
//! Everything it creates is removed by a Drop guard, also when an assertion fails.
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

/// `collect --once --format json` in host mode on the real cgroup root.
fn collect_real() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args([
            "collect",
            "--once",
            "--format",
            "json",
            "--kubelet-url",
            "off",
            "--node-name",
            "real",
        ])
        .output()
        .expect("run crashwatch");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn ours<'a>(snap: &'a Value, name: &str) -> Option<&'a Value> {
    snap["containers"]
        .as_array()?
        .iter()
        .find(|c| c["cgroup"] == name)
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
    let snap = collect_real();
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
    let snap = collect_real();
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
