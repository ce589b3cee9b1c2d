//! Container churn on a generated node tree, for `scripts/soak` (issue 8).
//!
//! Writes a cgroup v2 systemd/containerd tree of `--containers` single-container pods with
//! [`crashwatch::tree::TreeWriter`], prints `ready <N>`, then for `--duration` seconds replaces
//! the oldest pods with new ones at a steady rate so that `--churn` containers are created
//! (and as many removed) over the run, while rewriting the counters of a tenth of the live
//! containers every second (usage drifts, CPU time grows) like a busy node. The live count
//! stays at `--containers`. Ends with one line `done created=… removed=… live=… max_lag_ms=…`.
//!
//! Usage: `cargo run --release --example churn_tree -- --out DIR --containers 1000 --churn 100000 --duration 600`
//! (pass `DIR/sys/fs/cgroup` as `--cgroup-root` and `DIR/proc` as `--proc-root`).
use clap::Parser;
use crashwatch::sample::{NodeSample, Qos, Sample};
use crashwatch::tree::{ContainerSpec, TreeWriter};
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
/// Steps per second of the churn loop.
const STEPS_PER_SECOND: u64 = 20;

/// Container churn on a generated node tree.
#[derive(Debug, Parser)]
struct Args {
    /// Base directory (the tree goes to DIR/sys/fs/cgroup and DIR/proc).
    #[arg(long)]
    out: PathBuf,
    /// Live containers at any time.
    #[arg(long, default_value_t = 1000)]
    containers: u32,
    /// Containers created (and as many removed) over the run.
    #[arg(long, default_value_t = 100_000)]
    churn: u64,
    /// Seconds of churn.
    #[arg(long, default_value_t = 600)]
    duration: u64,
    /// Random seed (values only; names are deterministic).
    #[arg(long, default_value_t = 8)]
    seed: u64,
}

/// One live container and the state its files are written from.
struct Live {
    pod: u32,
    spec: ContainerSpec,
    sample: Sample,
}

fn qos_of(pod: u32) -> Qos {
    match pod % 10 {
        0..=5 => Qos::Burstable,
        6..=8 => Qos::Guaranteed,
        _ => Qos::Besteffort,
    }
}

fn new_container(pod: u32, rng: &mut impl Rng) -> Live {
    let qos = qos_of(pod);
    let limit = (qos != Qos::Besteffort).then_some((128u64 << (pod % 5)) * MIB);
    let scale = limit.unwrap_or(512 * MIB);
    let anon = scale * rng.random_range(10..60) / 100;
    let file = scale * rng.random_range(0..15) / 100;
    let sample = Sample {
        memory_usage_bytes: Some(anon + file + 3 * MIB),
        memory_working_set_bytes: Some(anon + file / 2 + 3 * MIB),
        memory_limit_bytes: limit,
        memory_anon_bytes: Some(anon),
        memory_file_bytes: Some(file),
        cpu_usage_seconds_total: Some(rng.random_range(0.0..5.0)),
        cpu_limit_cores: (qos == Qos::Guaranteed).then_some(0.5),
        cpu_periods_total: Some(0),
        pids_current: Some(rng.random_range(1..40)),
        pids_limit: Some(4096),
        ..Sample::calm()
    };
    Live {
        pod,
        spec: ContainerSpec::generated(pod, 0, qos),
        sample,
    }
}

/// One second of life: CPU time grows, anon memory drifts within 10..70 % of the scale.
fn drift(c: &mut Live, rng: &mut impl Rng) {
    let s = &mut c.sample;
    let scale = s.memory_limit_bytes.unwrap_or(512 * MIB);
    let anon = s.memory_anon_bytes.unwrap_or(0) as i64 + rng.random_range(-2i64..=2) * MIB as i64;
    let anon = (anon.max(0) as u64).clamp(scale / 10, scale * 7 / 10);
    let file = s.memory_file_bytes.unwrap_or(0);
    s.memory_anon_bytes = Some(anon);
    s.memory_usage_bytes = Some(anon + file + 3 * MIB);
    s.memory_working_set_bytes = Some(anon + file / 2 + 3 * MIB);
    s.cpu_usage_seconds_total = Some(s.cpu_usage_seconds_total.unwrap_or(0.0) + 0.05);
    s.cpu_periods_total = Some(s.cpu_periods_total.unwrap_or(0) + 10);
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed);
    let mut w = TreeWriter::create(&args.out)?;
    w.write_node(&NodeSample::quiet("soak-node", 64 << 30, 40 << 30))?;
    let mut live: VecDeque<Live> = VecDeque::with_capacity(args.containers as usize);
    for pod in 0..args.containers {
        let c = new_container(pod, &mut rng);
        w.write_container(&c.spec, &c.sample)?;
        live.push_back(c);
    }
    let mut out = std::io::stdout();
    writeln!(out, "ready {}", live.len())?;
    out.flush()?;

    let mut next_pod = args.containers;
    let (mut created, mut removed) = (0u64, 0u64);
    let mut updated_cursor = 0usize;
    let mut max_lag = Duration::ZERO;
    let start = Instant::now();
    let total_steps = args.duration * STEPS_PER_SECOND;
    let step = Duration::from_millis(1000 / STEPS_PER_SECOND);
    for i in 1..=total_steps {
        // Catch up to the planned count: the plan is linear in time, so a slow step is
        // followed by a bigger one rather than by a shortfall at the end.
        let due = args.churn * i / total_steps;
        while created < due {
            if let Some(old) = live.pop_front() {
                w.remove_pod(&old.spec)?;
                removed += 1;
            }
            let c = new_container(next_pod, &mut rng);
            next_pod += 1;
            w.write_container(&c.spec, &c.sample)?;
            live.push_back(c);
            created += 1;
        }
        // A tenth of the live containers per second, round robin.
        let per_step = (live.len() / 10 / STEPS_PER_SECOND as usize).max(1);
        for _ in 0..per_step.min(live.len()) {
            updated_cursor = (updated_cursor + 1) % live.len();
            let c = &mut live[updated_cursor];
            drift(c, &mut rng);
            w.write_container(&c.spec, &c.sample)?;
        }
        let target = step * i as u32;
        let now = start.elapsed();
        if now < target {
            std::thread::sleep(target - now);
        } else {
            max_lag = max_lag.max(now - target);
        }
    }
    let live_pods: Vec<u32> = live.iter().map(|c| c.pod).collect();
    writeln!(
        out,
        "done created={created} removed={removed} live={} first_live_pod={} max_lag_ms={}",
        live.len(),
        live_pods.first().copied().unwrap_or(0),
        max_lag.as_millis()
    )?;
    Ok(())
}
