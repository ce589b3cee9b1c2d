//! Helpers shared by the real-kernel tests (`real_kernel_oom`, `real_kernel_limits`,
//! `real_kernel_collect`): the real `crashwatch run` agent in host mode on this machine's
//! `/sys/fs/cgroup`, its log lines with the instant each arrived, plain HTTP to it,
//! `collect` in host mode, and a way to start a process inside cgroups we made. Each test file
//! uses part of it.
#![allow(dead_code)]
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The memory limit of the tests' cgroups: host mode tracks only cgroups that have one.
pub const MEMORY_LIMIT: u64 = 256 << 20;

/// Why the test cannot run here (it creates cgroups), if it cannot.
pub fn skip_reason() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next().map(str::to_string));
    (uid.as_deref() != Some("0")).then(|| "not running as root".into())
}

/// The agent, `crashwatch run --kubelet-url off` on the real cgroup root (host mode: every
/// cgroup with a memory limit is tracked), sweeping every second. Killed on drop.
pub struct HostAgent {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl HostAgent {
    /// Starts the agent with `extra` flags, copies its stderr to `log`, and waits for its
    /// first sweep.
    pub fn start(log: &Path, extra: &[&str]) -> HostAgent {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
            .args(["run", "--kubelet-url", "off", "--interval", "1s"])
            .args(["--events", "off"])
            .args(["--cgroup-root", "/sys/fs/cgroup", "--proc-root", "/proc"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start crashwatch");
        let lines: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
        {
            let lines = Arc::clone(&lines);
            let stderr = child.stderr.take().expect("piped stderr");
            let mut file = std::fs::File::create(log).ok();
            std::thread::spawn(move || {
                for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(f) = file.as_mut() {
                        let _ = writeln!(f, "{l}");
                    }
                    lines.lock().unwrap().push((Instant::now(), l));
                }
            });
        }
        let agent = HostAgent { child, port, lines };
        let t0 = Instant::now();
        while agent.get("/readyz").is_none() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "agent never became ready; its log is in {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        agent
    }

    /// The body of `GET path`, if the agent answered 200.
    pub fn get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut buf = String::new();
        s.read_to_string(&mut buf).ok()?;
        let (head, body) = buf.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200").then(|| body.to_string())
    }

    /// The first alarm line the agent logged for host-mode cgroup `pod`, with when it came.
    pub fn alarm_line(&self, pod: &str) -> Option<(Instant, String)> {
        // Host mode names a cgroup `/<path>` (empty namespace, then the pod).
        let needle = format!("crash predicted for pod /{pod} ");
        self.lines
            .lock()
            .unwrap()
            .iter()
            .find(|(_, l)| l.contains(&needle))
            .cloned()
    }
}

impl Drop for HostAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Value of the series `name{...pod="<pod>"...}` in a Prometheus text exposition.
pub fn metric(text: &str, name: &str, pod: &str) -> Option<f64> {
    let needle = format!("pod=\"{pod}\"");
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?;
        if !rest.starts_with('{') || !rest.contains(&needle) {
            return None;
        }
        rest.rsplit(' ').next()?.parse().ok()
    })
}

/// `crashwatch collect --once --format json` in host mode on the real cgroup root.
pub fn collect_host() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args(["collect", "--once", "--format", "json"])
        .args(["--kubelet-url", "off", "--node-name", "real"])
        .output()
        .expect("run crashwatch");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The sample of the host-mode cgroup `name` in a `collect` snapshot.
pub fn ours<'a>(snap: &'a Value, name: &str) -> Option<&'a Value> {
    snap["containers"]
        .as_array()?
        .iter()
        .find(|c| c["cgroup"] == name)
}

/// Starts `program args` already inside every cgroup whose `cgroup.procs` is in `procs` (one
/// per v1 hierarchy): the shell writes its own pid there before exec, so nothing it does is
/// charged elsewhere. Its output goes to `log`.
pub fn spawn_in(procs: &[PathBuf], program: &Path, args: &[&str], log: &Path) -> Child {
    let joins: String = (1..=procs.len())
        .map(|i| format!("echo $$ > \"${i}\" && "))
        .collect();
    let out = std::fs::File::create(log).expect("log file");
    Command::new("sh")
        .arg("-c")
        .arg(format!("{joins}shift {} && exec \"$@\"", procs.len()))
        .arg("sh")
        .args(procs)
        .arg(program)
        .args(args)
        .stdout(out.try_clone().expect("log fd"))
        .stderr(out)
        .spawn()
        .expect("spawn a load process")
}

/// Kills every process in the cgroup directories `dirs`, then removes them (children first).
pub fn remove_cgroups(dirs: &[PathBuf]) {
    for dir in dirs {
        for _ in 0..50 {
            let pids = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            if pids.trim().is_empty() {
                break;
            }
            for pid in pids.split_whitespace() {
                let _ = Command::new("kill").arg("-9").arg(pid).status();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    for dir in dirs.iter().rev() {
        if let Err(e) = std::fs::remove_dir(dir) {
            eprintln!("warning: could not remove {}: {e}", dir.display());
        }
    }
}

/// The test's cgroups: one directory on v2, one per controller's hierarchy on v1 (plus the
/// unified tree's, for PSI, on hybrid machines). Removed on drop.
pub struct Cgroups {
    /// Each controller's directory (the same one on v2).
    dirs: Vec<(&'static str, PathBuf)>,
    v2: bool,
}

impl Cgroups {
    /// Creates cgroup `name` with `controllers` and a memory limit (host mode tracks only
    /// cgroups that have one).
    pub fn create(name: &str, controllers: &[&'static str]) -> Result<Cgroups, String> {
        let root = Path::new("/sys/fs/cgroup");
        let on_v2 = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
        let mut wanted = vec!["memory"];
        wanted.extend_from_slice(controllers);
        let v2 = wanted
            .iter()
            .all(|c| on_v2.split_whitespace().any(|x| x == *c));
        let mut dirs = Vec::new();
        if v2 {
            dirs.extend(wanted.iter().map(|c| (*c, root.join(name))));
        } else {
            for c in &wanted {
                let h = root.join(c);
                if !h.join("cgroup.procs").exists() {
                    return Err(format!(
                        "no cgroup v2 with {wanted:?}, nor a v1 {c} hierarchy"
                    ));
                }
                dirs.push((*c, h.join(name)));
            }
            if root.join("unified/cgroup.controllers").exists() {
                dirs.push(("unified", root.join("unified").join(name)));
            }
        }
        let cg = Cgroups { dirs, v2 };
        for d in cg.unique_dirs() {
            std::fs::create_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let limit_file = if v2 {
            "memory.max"
        } else {
            "memory.limit_in_bytes"
        };
        cg.set("memory", limit_file, &MEMORY_LIMIT.to_string())?;
        Ok(cg)
    }

    /// The directory of `controller` (one we made).
    pub fn dir(&self, controller: &str) -> &Path {
        &self
            .dirs
            .iter()
            .find(|(c, _)| *c == controller)
            .expect("a controller we made")
            .1
    }

    /// The distinct directories (v1 `cpu` and `cpuacct` may be one hierarchy).
    pub fn unique_dirs(&self) -> Vec<PathBuf> {
        let mut seen: Vec<PathBuf> = Vec::new();
        for (_, d) in &self.dirs {
            let real = d
                .parent()
                .and_then(|p| std::fs::canonicalize(p).ok())
                .map_or_else(|| d.clone(), |p| p.join(d.file_name().unwrap()));
            if !seen.contains(&real) {
                seen.push(real);
            }
        }
        seen
    }

    /// Writes `value` to the `controller`'s `file`.
    pub fn set(&self, controller: &str, file: &str, value: &str) -> Result<(), String> {
        std::fs::write(self.dir(controller).join(file), value)
            .map_err(|e| format!("cannot set {file}: {e}"))
    }

    /// Creates cgroup `name` with the `cpu` and `cpuacct` controllers and a memory limit, under
    /// a CFS quota of `quota_us` per 100 ms period.
    pub fn with_cpu_quota(name: &str, quota_us: u32) -> Result<Cgroups, String> {
        let cg = Cgroups::create(name, &["cpu", "cpuacct"])?;
        cg.set_cpu_quota_us(quota_us)?;
        Ok(cg)
    }

    /// Starts a shell loop that wants a whole core in these cgroups, its output to `log`.
    pub fn busy_loop(&self, log: &Path) -> Reaper {
        Reaper(spawn_in(
            &self.procs(),
            Path::new("sh"),
            &["-c", "while :; do :; done"],
            log,
        ))
    }

    /// Sets a CFS quota of `quota_us` per 100 ms period (`cpu.max` on v2).
    pub fn set_cpu_quota_us(&self, quota_us: u32) -> Result<(), String> {
        if self.v2 {
            self.set("cpu", "cpu.max", &format!("{quota_us} 100000"))
        } else {
            self.set("cpu", "cpu.cfs_period_us", "100000")?;
            self.set("cpu", "cpu.cfs_quota_us", &quota_us.to_string())
        }
    }

    /// The `cgroup.procs` file of each distinct directory: where a process joins them all.
    pub fn procs(&self) -> Vec<PathBuf> {
        self.unique_dirs()
            .iter()
            .map(|d| d.join("cgroup.procs"))
            .collect()
    }

    /// Forks the kernel refused so far (`pids.events` max).
    pub fn refused_forks(&self) -> u64 {
        std::fs::read_to_string(self.dir("pids").join("pids.events"))
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    let (k, v) = l.split_once(' ')?;
                    (k == "max").then(|| v.trim().parse().unwrap_or(0))
                })
            })
            .unwrap_or(0)
    }

    /// Tasks in the cgroup now (`pids.current`).
    pub fn tasks(&self) -> Option<u64> {
        std::fs::read_to_string(self.dir("pids").join("pids.current"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        remove_cgroups(&self.unique_dirs());
    }
}

/// A child process killed on drop.
pub struct Reaper(pub Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
