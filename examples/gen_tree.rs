//! Writes a realistic cgroup v2 node tree (systemd driver, containerd) with N containers,
//! for `scripts/bench-http` and `scripts/agent-footprint`.
//!
//! Usage: `cargo run --release --example gen_tree -- --out DIR [--containers 1000]`
//! writes `DIR/sys/fs/cgroup` (pass as `--cgroup-root`) and `DIR/proc` (`--proc-root`).
use crashwatch::sample::{NodeSample, Qos, Sample};
use crashwatch::tree::{ContainerSpec, TreeWriter};
use std::path::PathBuf;

const MIB: u64 = 1 << 20;

fn main() -> anyhow::Result<()> {
    let mut out: Option<PathBuf> = None;
    let mut n: u32 = 1000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().map(PathBuf::from),
            "--containers" => n = args.next().and_then(|v| v.parse().ok()).unwrap_or(n),
            other => anyhow::bail!("unknown argument {other:?}; usage: --out DIR [--containers N]"),
        }
    }
    let out = out.ok_or_else(|| anyhow::anyhow!("--out DIR is required"))?;
    let mut w = TreeWriter::create(&out)?;
    w.write_node(&NodeSample::quiet("generated-node", 64 << 30, 40 << 30))?;
    let mut written = 0u32;
    let mut pod = 0u32;
    while written < n {
        // Pods of one to three containers; a QoS mix like a busy node's.
        let per_pod = 1 + pod % 3;
        let qos = match pod % 10 {
            0..=5 => Qos::Burstable,
            6..=8 => Qos::Guaranteed,
            _ => Qos::Besteffort,
        };
        for c in 0..per_pod.min(n - written) {
            let i = written as u64;
            let limit = (qos != Qos::Besteffort).then_some((128 << (i % 5)) * MIB);
            let scale = limit.unwrap_or(512 * MIB);
            let anon = scale * (20 + i % 60) / 100;
            let file = scale * (i % 15) / 100;
            let inactive = file / 2;
            let sample = Sample {
                ts: 0.0,
                memory_usage_bytes: Some(anon + file + 3 * MIB),
                memory_working_set_bytes: Some(anon + file + 3 * MIB - inactive),
                memory_limit_bytes: limit,
                memory_anon_bytes: Some(anon),
                memory_file_bytes: Some(file),
                memory_max_events_total: Some(i % 4),
                cpu_usage_seconds_total: Some(100.0 + i as f64 * 3.25),
                cpu_limit_cores: (qos == Qos::Guaranteed).then_some(0.5),
                cpu_periods_total: Some(1000 + i),
                cpu_pressure_some_avg10: Some(0.5),
                pids_current: Some(5 + i % 40),
                pids_limit: Some(4096),
                ..Sample::calm()
            };
            w.write_container(&ContainerSpec::generated(pod, c, qos), &sample)?;
            written += 1;
        }
        pod += 1;
    }
    eprintln!(
        "wrote {written} containers in {pod} pods: --cgroup-root {} --proc-root {}",
        w.cgroup_root().display(),
        w.proc_root().display()
    );
    Ok(())
}
