//! `crashwatch demo`: a simulated node in a temporary directory with the full agent on it.
//!
//! Four containers are driven by the simulator's kernel/kubelet physics ([`crate::sim::engine`])
//! in accelerated time (`--speed` simulated seconds per real second): a leak toward its memory
//! limit, a page-cache heavy writer (reclaimable: must not alarm), a steady web server, and a
//! CPU-throttled worker that copes. Every sweep the simulator writes the cgroup v2 tree with
//! [`crate::tree::TreeWriter`] and the agent reads it through the same path as `run`
//! (collector → predictor → metrics, `/predict`, alarm log lines), with sample times on the
//! simulated clock. The simulated kubelet supplies names, restarts and termination reasons.
//!
//! This module must not predict anything itself or feed the predictor directly: what the
//! agent sees comes only from the files it reads.
use crate::agent::engine::{Engine, TickReport};
use crate::cli::DemoArgs;
use crate::collect::{CollectConfig, Collector};
use crate::http::{self, AppState, Live, ServerConfig};
use crate::kube::Kube;
use crate::metrics::Metrics;
use crate::model::Model;
use crate::predict::Predictor;
use crate::sample::{Cause, NodeSample, Qos, Snapshot};
use crate::sim::engine::{Container, Node, Spec, GIB, MIB};
use crate::sim::scenarios::{Base, CpuLoad, Growth, Leak, PageCache, Wobble};
use crate::tree::{container_id_for, pod_uid_for, ContainerSpec, TreeWriter};
use anyhow::Context;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What happened in the simulated node during one advance (printed by the demo).
#[derive(Debug, Clone, PartialEq)]
pub enum SimEvent {
    /// The simulated kernel or kubelet killed a container.
    Crashed {
        /// Simulated time.
        ts: f64,
        /// `namespace/pod/container`.
        id: String,
        /// Why.
        cause: Cause,
    },
    /// The simulated kubelet started a new instance of a container.
    Restarted {
        /// Simulated time.
        ts: f64,
        /// `namespace/pod/container`.
        id: String,
        /// Restart count after this start.
        restarts: u64,
    },
}

/// One simulated container with its place in the tree.
struct SimContainer {
    namespace: String,
    pod: String,
    name: String,
    pod_index: u32,
    generation: u32,
    spec: ContainerSpec,
    sim: Container,
    /// The cgroup of a dead instance still exists (removed at the next advance).
    dead_cgroup: bool,
    /// What the simulated kubelet reports.
    restarts: u64,
    last_reason: Option<String>,
}

impl SimContainer {
    fn id(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.pod, self.name)
    }
}

/// The simulated node: physics, the tree it writes, and the simulated kubelet's view.
pub struct SimNode {
    writer: TreeWriter,
    node: Node,
    containers: Vec<SimContainer>,
    rng: ChaCha8Rng,
    t0: f64,
    now: f64,
}

impl SimNode {
    /// Build the four demo containers under `base` (a temp dir), starting at simulated time `t0`.
    pub fn new(base: &std::path::Path, seed: u64, t0: f64) -> crate::Result<SimNode> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let writer = TreeWriter::create(base)?;
        let node = Node::new(16.0 * GIB, 11.0 * GIB, &mut rng);
        let containers = vec![
            leaky_api(t0, &mut rng),
            log_archiver(t0, &mut rng),
            web(t0, &mut rng),
            report_worker(t0, &mut rng),
        ];
        let mut sim = SimNode {
            writer,
            node,
            containers,
            rng,
            t0,
            now: t0,
        };
        sim.write()?;
        Ok(sim)
    }

    /// `--cgroup-root` of the simulated node.
    pub fn cgroup_root(&self) -> &std::path::Path {
        self.writer.cgroup_root()
    }

    /// `--proc-root` of the simulated node.
    pub fn proc_root(&self) -> &std::path::Path {
        self.writer.proc_root()
    }

    /// Current simulated time.
    pub fn now(&self) -> f64 {
        self.now
    }

    /// Simulated seconds since the start.
    pub fn elapsed(&self) -> f64 {
        self.now - self.t0
    }

    /// Run the physics for `seconds` (whole simulated seconds) and write the tree.
    pub fn advance(&mut self, seconds: u32) -> crate::Result<Vec<SimEvent>> {
        let mut events = Vec::new();
        // Cgroups of instances that died at the previous advance are gone now, as the
        // runtime removes them once the kill has been recorded.
        for c in &mut self.containers {
            if c.dead_cgroup {
                self.writer.remove_container(&c.spec)?;
                c.dead_cgroup = false;
            }
        }
        for _ in 0..seconds {
            let now = self.now;
            self.node.step(&mut self.rng);
            for c in &mut self.containers {
                let was_alive = c.sim.alive();
                if let Some(label) = c.sim.step(now, &mut self.rng) {
                    c.last_reason = Some(
                        match label.cause {
                            Cause::OomKill => "OOMKilled",
                            Cause::Evicted => "Evicted",
                            _ => "Error",
                        }
                        .to_string(),
                    );
                    events.push(SimEvent::Crashed {
                        ts: label.ts,
                        id: c.id(),
                        cause: label.cause,
                    });
                    // The dead instance's cgroup still shows the kill until the next sweep.
                    c.dead_cgroup = true;
                } else if !was_alive && c.sim.alive() {
                    // A new instance: a new container ID, a new cgroup in the same pod.
                    if c.dead_cgroup {
                        self.writer.remove_container(&c.spec)?;
                        c.dead_cgroup = false;
                    }
                    c.generation += 1;
                    c.restarts += 1;
                    c.spec = ContainerSpec::new(
                        c.spec.pod_uid.clone(),
                        container_id_for(c.pod_index, c.generation),
                        c.spec.qos,
                    );
                    events.push(SimEvent::Restarted {
                        ts: now,
                        id: c.id(),
                        restarts: c.restarts,
                    });
                }
            }
            self.now += 1.0;
        }
        self.write()?;
        Ok(events)
    }

    /// Write every live (or just killed) container's files and the node's.
    fn write(&mut self) -> crate::Result<()> {
        let sims: Vec<&Container> = self.containers.iter().map(|c| &c.sim).collect();
        let avail = available(&self.node, &sims);
        let total = self.node.total;
        for c in &mut self.containers {
            if !c.sim.alive() && !c.dead_cgroup {
                continue;
            }
            let mut s = c.sim.sample(self.now, false, total, avail);
            if !c.sim.alive() {
                // Killed: the kernel freed its memory; the counters show the kill.
                s.memory_usage_bytes = Some(2 * 1024 * 1024);
                s.memory_working_set_bytes = Some(2 * 1024 * 1024);
                s.memory_anon_bytes = Some(0);
                s.memory_file_bytes = Some(0);
            }
            self.writer.write_container(&c.spec, &s)?;
        }
        self.writer.write_node(&NodeSample {
            name: "demo-node".into(),
            memory_total_bytes: Some(total as u64),
            memory_available_bytes: Some(avail as u64),
            ..NodeSample::default()
        })
    }

    /// The simulated kubelet: names, restart counts and termination reasons by container ID.
    fn kubelet_view(&self) -> HashMap<String, KubeletInfo> {
        self.containers
            .iter()
            .map(|c| {
                (
                    c.spec.container_id.clone(),
                    KubeletInfo {
                        namespace: c.namespace.clone(),
                        pod: c.pod.clone(),
                        container: c.name.clone(),
                        restarts: c.restarts,
                        last_reason: c.last_reason.clone(),
                    },
                )
            })
            .collect()
    }
}

/// A leak: 35 % of a 256 MiB limit, leaking from 40 s on, OOM-killed about 6 minutes later.
fn leaky_api(t0: f64, rng: &mut ChaCha8Rng) -> SimContainer {
    let limit = 256.0 * MIB;
    let mut base_load = Base::random(limit, Some(1.0), rng);
    base_load.cold_file = 4.0 * MIB;
    base_load.active_file = 6.0 * MIB;
    let anon0 = 0.35 * limit;
    let headroom = limit - anon0 - base_load.active_file * 0.3 - 8.0 * MIB;
    let leak = Leak {
        base: base_load,
        anon0,
        delay: 0.0,
        restart_delay: (180.0, 300.0),
        growth: Growth::Linear {
            rate: headroom / 380.0,
        },
        noise: Wobble::new(0.6 * MIB, 10.0),
        first_start: Some(40.0),
        t0,
    };
    sim_container(
        ("default", "leaky-api-7d9f8b6c5d-x2k4q", "api", 0),
        (Qos::Burstable, limit, Some(1.0)),
        Box::new(leak),
        t0,
        rng,
    )
}

/// Page cache: a log/backup writer streaming files through a 512 MiB limit; the kernel
/// reclaims the cache at the limit, nothing crashes.
fn log_archiver(t0: f64, rng: &mut ChaCha8Rng) -> SimContainer {
    let limit = 512.0 * MIB;
    let mut base_load = Base::random(limit, Some(0.5), rng);
    base_load.active_file = 20.0 * MIB;
    let cache = PageCache {
        base: base_load,
        anon0: 0.18 * limit,
        noise: Wobble::new(1.0 * MIB, 20.0),
        write_rate: 6.0 * MIB,
        duty: (400.0, 120.0),
        t0,
    };
    let mut c = sim_container(
        ("default", "log-archiver-5c7b9d4f8-q7w2e", "archiver", 1),
        (Qos::Burstable, limit, Some(0.5)),
        Box::new(cache),
        t0,
        rng,
    );
    c.sim.prefill_file(0.6 * limit);
    c
}

/// Steady: flat memory well under its limit.
fn web(t0: f64, rng: &mut ChaCha8Rng) -> SimContainer {
    let limit = 512.0 * MIB;
    let steady = Leak::steady(
        Base::random(limit, Some(2.0), rng),
        0.4 * limit,
        Wobble::new(2.0 * MIB, 30.0),
        t0,
    );
    sim_container(
        ("shop", "web-6b8f7c9d5-m4n8p", "nginx", 2),
        (Qos::Guaranteed, limit, Some(2.0)),
        Box::new(steady),
        t0,
        rng,
    )
}

/// CPU-throttled: traffic ramps to about 1.1× a 0.5-core quota; throttled but coping.
fn report_worker(t0: f64, rng: &mut ChaCha8Rng) -> SimContainer {
    let limit = 256.0 * MIB;
    let quota = 0.5;
    let cpu = CpuLoad {
        base: Base::random(limit, Some(quota), rng),
        anon0: 0.3 * limit,
        noise: Wobble::new(1.0 * MIB, 20.0),
        quota,
        start_ratio: 0.5,
        peak_ratio: 1.1,
        ramp_at: 30.0,
        ramp_len: 240.0,
        hold: 3600.0,
        load_noise: Wobble::new(0.05, 10.0),
        t0,
    };
    sim_container(
        ("batch", "report-worker-0", "worker", 3),
        (Qos::Burstable, limit, Some(quota)),
        Box::new(cpu),
        t0,
        rng,
    )
}

/// `Node::available` needs a slice of containers; ours are inside [`SimContainer`]s.
fn available(node: &Node, containers: &[&Container]) -> f64 {
    let used: f64 = containers
        .iter()
        .filter(|c| c.alive())
        .map(|c| c.usage())
        .sum();
    (node.free_other - used).max(0.0)
}

/// What the simulated kubelet knows about a container.
#[derive(Debug, Clone)]
struct KubeletInfo {
    namespace: String,
    pod: String,
    container: String,
    restarts: u64,
    last_reason: Option<String>,
}

/// Attach the simulated kubelet's view to a sweep, as `kube::Kube::enrich` does on a cluster.
fn apply_kubelet(view: &HashMap<String, KubeletInfo>, snapshot: &mut Snapshot) {
    for c in &mut snapshot.containers {
        let Some(info) = c.meta.container_id.as_ref().and_then(|id| view.get(id)) else {
            continue;
        };
        c.meta.namespace = info.namespace.clone();
        c.meta.pod = info.pod.clone();
        c.meta.container = info.container.clone();
        c.sample.id = c.meta.id();
        c.sample.restarts_total = Some(info.restarts);
        c.sample.last_termination_reason = info.last_reason.clone();
    }
}

fn spec(id: &str, qos: Qos, limit: f64, cpu: Option<f64>) -> Spec {
    Spec {
        id: id.to_string(),
        qos,
        mem_limit: Some(limit),
        cpu_limit: cpu,
        pids_limit: Some(4096),
        initial_restarts: 0,
        pid_death_after: 30.0,
        evictable: qos != Qos::Guaranteed,
    }
}

/// A demo container: pod `pod_index` of the node (which names its cgroups), with its
/// QoS class, memory limit (bytes) and CPU limit (cores).
fn sim_container(
    (namespace, pod, name, pod_index): (&str, &str, &str, u32),
    (qos, limit, cpu): (Qos, f64, Option<f64>),
    behaviour: Box<dyn crate::sim::engine::Behaviour>,
    t0: f64,
    rng: &mut ChaCha8Rng,
) -> SimContainer {
    let spec = spec(&format!("{namespace}/{pod}/{name}"), qos, limit, cpu);
    SimContainer {
        namespace: namespace.to_string(),
        pod: pod.to_string(),
        name: name.to_string(),
        pod_index,
        generation: 0,
        spec: ContainerSpec::new(
            pod_uid_for(pod_index + 1000),
            container_id_for(pod_index, 0),
            qos,
        ),
        sim: Container::new(spec, behaviour, t0, rng),
        dead_cgroup: false,
        restarts: 0,
        last_reason: None,
    }
}

/// How the demo went (returned for tests; printed at the end).
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    /// Simulated seconds run.
    pub simulated_seconds: f64,
    /// Sweeps done.
    pub sweeps: u64,
    /// Alarms opened, by id, with simulated time.
    pub alarms: Vec<(f64, String)>,
    /// Crashes the simulator caused, with simulated time.
    pub crashes: Vec<(f64, String, Cause)>,
    /// hit, late, miss, false_alarm counts of the online self-evaluation.
    pub outcomes: [u64; 4],
}

/// `crashwatch demo`.
pub fn command(args: DemoArgs) -> anyhow::Result<()> {
    let rt = crate::agent::runtime()?;
    rt.block_on(async {
        let mut out = std::io::stdout();
        run(args, crate::agent::shutdown_signal(), &mut out)
            .await
            .map(|_| ())
    })
}

/// Simulated seconds per sweep at `speed` (whole seconds: the physics steps in seconds), and
/// the real time between sweeps. About four sweeps per real second.
pub fn pacing(speed: f64) -> (u32, Duration) {
    let per_sweep = (speed / 4.0).round().clamp(1.0, 600.0);
    (per_sweep as u32, Duration::from_secs_f64(per_sweep / speed))
}

/// Run the demo until `--duration` passes or `shutdown` completes; prints to `out`.
pub async fn run(
    args: DemoArgs,
    shutdown: impl Future<Output = ()>,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<DemoSummary> {
    anyhow::ensure!(
        args.speed.is_finite() && args.speed > 0.0 && args.speed <= 3600.0,
        "--speed must be within (0, 3600], got {}",
        args.speed
    );
    let dir = tempfile::Builder::new()
        .prefix("crashwatch-demo-")
        .tempdir()
        .context("creating a temp dir")?;
    let t0 = crate::agent::engine::unix_now().floor();

    let model = Model::embedded();
    let metrics = Arc::new(Metrics::new(model.version()).context("registering metrics")?);
    let state = Arc::new(AppState::new(
        Arc::clone(&metrics),
        Arc::clone(&model),
        "demo-node",
    ));
    let listener = http::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let server = http::spawn(listener, Arc::clone(&state), ServerConfig::default())?;

    let (per_sweep, tick) = pacing(args.speed);
    let shown = if server.addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", server.addr.port())
    } else {
        server.addr.to_string()
    };
    writeln!(
        out,
        "crashwatch demo: a simulated node at {}x speed (sample times are simulated), model {}",
        args.speed,
        model.version()
    )?;
    writeln!(out, "  containers: leaky-api (memory leak, 256 MiB limit), log-archiver (page cache), web (steady), report-worker (CPU-throttled)")?;
    writeln!(
        out,
        "  serving on http://{} (listening on {})",
        shown, server.addr
    )?;
    writeln!(out, "  try: curl -s http://{shown}/predict   |   curl -s http://{shown}/metrics | grep '^crashwatch_'")?;
    writeln!(
        out,
        "  alarm lines are logged to stderr as `WARN crash predicted for pod ...`; Ctrl-C stops"
    )?;
    out.flush()?;

    // The simulator's behaviours are not `Send`, so the node lives on one blocking thread
    // for the whole demo (never on the async workers that serve HTTP).
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<crate::Result<Update>>(64);
    let worker = {
        let (stop, state, model) = (Arc::clone(&stop), Arc::clone(&state), Arc::clone(&model));
        let base = dir.path().to_path_buf();
        let seed = args.seed;
        tokio::task::spawn_blocking(move || {
            sim_loop(&base, seed, t0, per_sweep, tick, state, model, &stop, &tx)
        })
    };

    let mut summary = DemoSummary::default();
    let end = tokio::time::sleep(
        args.duration
            .unwrap_or(Duration::from_secs(100 * 365 * 86400)),
    );
    tokio::pin!(end);
    tokio::pin!(shutdown);
    let mut last_table = Instant::now();
    let result: anyhow::Result<()> = loop {
        let update = tokio::select! {
            u = rx.recv() => u,
            _ = &mut end => break Ok(()),
            _ = &mut shutdown => break Ok(()),
        };
        let update = match update {
            Some(Ok(u)) => u,
            Some(Err(e)) => break Err(anyhow::Error::new(e).context("simulating the node")),
            None => break Err(anyhow::anyhow!("the simulated node stopped")),
        };
        summary.sweeps += 1;
        summary.simulated_seconds = update.elapsed;
        record(&mut summary, &update.report, t0);
        for ev in &update.events {
            match ev {
                SimEvent::Crashed { ts, id, cause } => {
                    summary.crashes.push((ts - t0, id.clone(), *cause));
                    let what = match cause {
                        Cause::OomKill => "the kernel OOM-killed",
                        Cause::Evicted => "the kubelet evicted",
                        _ => "the kubelet restarted a failing",
                    };
                    writeln!(out, "[sim {}] {what} {id} ({cause})", clock(ts - t0))?;
                }
                SimEvent::Restarted { ts, id, restarts } => {
                    writeln!(
                        out,
                        "[sim {}] the kubelet restarted {id} (restart #{restarts})",
                        clock(ts - t0)
                    )?;
                }
            }
        }
        if last_table.elapsed() >= Duration::from_secs(3) {
            last_table = Instant::now();
            print_table(out, &state.live(), update.elapsed)?;
        }
        out.flush()?;
    };
    stop.store(true, Ordering::Release);
    drop(rx);
    let _ = worker.await;
    server.shutdown().await;
    let m = &metrics;
    summary.outcomes = [
        m.outcome_count("hit"),
        m.outcome_count("late"),
        m.outcome_count("miss"),
        m.outcome_count("false_alarm"),
    ];
    writeln!(
        out,
        "demo over after {} simulated: self-evaluation hit={} late={} miss={} false_alarm={}",
        clock(summary.simulated_seconds),
        summary.outcomes[0],
        summary.outcomes[1],
        summary.outcomes[2],
        summary.outcomes[3],
    )?;
    out.flush()?;
    result.map(|()| summary)
}

/// One sweep's worth of news from the simulator thread.
struct Update {
    events: Vec<SimEvent>,
    report: TickReport,
    elapsed: f64,
}

/// The simulator thread: every `tick`, advance the physics `per_sweep` simulated seconds,
/// write the tree, and run one agent sweep on it (the same [`Engine`] as `run`).
#[allow(clippy::too_many_arguments)]
fn sim_loop(
    base: &std::path::Path,
    seed: u64,
    t0: f64,
    per_sweep: u32,
    tick: Duration,
    state: Arc<AppState>,
    model: Arc<Model>,
    stop: &AtomicBool,
    tx: &tokio::sync::mpsc::Sender<crate::Result<Update>>,
) {
    let mut sim = match SimNode::new(base, seed, t0) {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.blocking_send(Err(e));
            return;
        }
    };
    let collector = Collector::new(CollectConfig {
        cgroup_root: sim.cgroup_root().to_path_buf(),
        proc_root: sim.proc_root().to_path_buf(),
        node_name: "demo-node".into(),
    });
    let mut engine = Engine::new(
        collector,
        Predictor::new(model, None),
        Kube::default(),
        state,
        "demo-node",
    );
    let mut next = Instant::now();
    while !stop.load(Ordering::Acquire) {
        let update = sim.advance(per_sweep).map(|events| {
            let view = sim.kubelet_view();
            let report = engine.tick_with(Some(sim.now()), |snap| apply_kubelet(&view, snap));
            Update {
                events,
                report,
                elapsed: sim.elapsed(),
            }
        });
        let failed = update.is_err();
        if tx.blocking_send(update).is_err() || failed {
            return;
        }
        next += tick;
        match next.checked_duration_since(Instant::now()) {
            Some(wait) => std::thread::sleep(wait),
            // Behind (a slow machine): do not try to catch up in a burst.
            None => next = Instant::now(),
        }
    }
}

fn record(summary: &mut DemoSummary, report: &TickReport, t0: f64) {
    for id in &report.alarmed {
        summary.alarms.push((report.ts - t0, id.clone()));
    }
}

/// `+mm:ss` of simulated time.
fn clock(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("+{:02}:{:02}", s / 60, s % 60)
}

fn print_table(out: &mut (dyn Write + Send), live: &Live, elapsed: f64) -> std::io::Result<()> {
    writeln!(
        out,
        "\n[sim {}] {:<44} {:>18} {:>6} {:>11}  {:<15} ALARM",
        clock(elapsed),
        "CONTAINER",
        "WORKING SET/LIMIT",
        "RISK",
        "TIME TO OOM",
        "CAUSE",
    )?;
    for p in &live.predictions {
        let mib = |b: Option<u64>| b.map_or("-".to_string(), |b| format!("{:.0}", b as f64 / MIB));
        writeln!(
            out,
            "           {:<44} {:>13} MiB {:>6.2} {:>11}  {:<15} {}",
            p.id,
            format!(
                "{}/{}",
                mib(p.memory_working_set_bytes),
                mib(p.memory_limit_bytes)
            ),
            p.crash_risk,
            p.time_to_oom_seconds
                .map_or("-".to_string(), |t| format!("{t:.0} s")),
            p.cause.map_or("-", Cause::as_str),
            if p.crash_predicted { "ALARM" } else { "" },
        )?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_keeps_whole_simulated_seconds() {
        assert_eq!(pacing(10.0), (3, Duration::from_secs_f64(0.3)));
        assert_eq!(pacing(1.0), (1, Duration::from_secs(1)));
        assert_eq!(pacing(60.0), (15, Duration::from_secs_f64(0.25)));
    }

    #[test]
    fn clock_format() {
        assert_eq!(clock(0.0), "+00:00");
        assert_eq!(clock(482.4), "+08:02");
    }
}
