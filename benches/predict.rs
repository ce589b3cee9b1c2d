//! Feature extraction + inference cost per container (target ≤ 2 µs): a steady state of
//! 1,000 containers with 10 minutes of 1 s history each; one iteration = one sample of one
//! container through `Predictor::observe` (history update, features, trees, risk, alarm).
//! Run: `cargo bench --bench predict`. `BENCH_CONTAINERS=100` keeps every history in the CPU
//! caches (about 6 KiB each), which separates their cache misses from the computation; the
//! benchmark keeps its name whatever the count. `BENCH_SWEEPS=K` skips criterion and only
//! runs K more sweeps after the warm-up: `scripts/instructions-per-sample` runs that under
//! cachegrind, a count of instructions that does not drift with the machine's load.
//! `observe_node_short_110_pods` is a full node (110 pods of 2 containers, with the requests
//! the kubelet gives) while its memory runs out: each sample then walks the kubelet's eviction
//! order over every pod, so its cost per sample grows with the pods on the node.
use crashwatch::model::Model;
use crashwatch::predict::{predict_once, Predictor};
use crashwatch::sample::{Qos, Sample};
use criterion::{criterion_group, Criterion, Throughput};
use std::hint::black_box;
use std::sync::Arc;

const MIB: u64 = 1024 * 1024;

fn sample(i: usize, t: f64) -> Sample {
    let leak = (i % 4 == 0) as u64;
    let anon =
        50 * MIB + leak * (t as u64) * 100_000 + ((i as u64 * 7919 + t as u64 * 104_729) % MIB);
    Sample {
        ts: t,
        id: format!("ns-{}/pod-{i}/app", i % 20),
        memory_working_set_bytes: Some(anon + 10 * MIB),
        memory_usage_bytes: Some(anon + 30 * MIB),
        memory_limit_bytes: Some(512 * MIB),
        memory_anon_bytes: Some(anon),
        memory_file_bytes: Some(30 * MIB),
        oom_kills_total: Some(0),
        memory_max_events_total: Some(0),
        memory_pressure_some_avg10: Some(0.1),
        memory_pressure_full_avg10: Some(0.0),
        cpu_usage_seconds_total: Some(t * 0.3),
        cpu_limit_cores: Some(1.0),
        cpu_periods_total: Some(t as u64 * 10),
        cpu_throttled_periods_total: Some(t as u64),
        pids_current: Some(20),
        pids_limit: Some(1000),
        restarts_total: Some(0),
        node_memory_available_bytes: Some(8 << 30),
        node_memory_total_bytes: Some(16 << 30),
        ..Default::default()
    }
}

/// Container `i` of a node whose available memory falls by 2 MiB/s from 4 GiB: two
/// containers per pod, each with a memory request, a quarter of them leaking.
fn short_sample(i: usize, t: f64) -> Sample {
    let mut s = sample(i, t);
    s.id = format!("ns-{}/pod-{}/c{}", i % 20, i / 2, i % 2);
    s.qos = Some(Qos::Burstable);
    s.memory_request_bytes = Some(64 * MIB);
    s.pod_priority = Some(0);
    s.node_memory_available_bytes = Some((4u64 << 30).saturating_sub(t as u64 * 2 * MIB));
    s
}

/// A predictor that has seen 10 minutes of 1 s samples of `n` containers, the samples it
/// was last given, and the time of the last sweep.
fn warmed_up(model: &Arc<Model>, n: usize) -> (Predictor, Vec<Sample>, f64) {
    warmed_up_with(model, n, sample)
}

/// [`warmed_up`] on the samples `make` gives.
fn warmed_up_with(
    model: &Arc<Model>,
    n: usize,
    make: fn(usize, f64) -> Sample,
) -> (Predictor, Vec<Sample>, f64) {
    let mut p = Predictor::new(model.clone(), None);
    let mut samples: Vec<Sample> = (0..n).map(|i| make(i, 0.0)).collect();
    for t in 0..600 {
        for (i, s) in samples.iter_mut().enumerate() {
            *s = make(i, t as f64);
            p.observe(s);
        }
    }
    (p, samples, 599.0)
}

/// One sample of every container, one second after the last.
fn sweep(p: &mut Predictor, samples: &mut [Sample], t: &mut f64) {
    *t += 1.0;
    for s in samples.iter_mut() {
        s.ts = *t;
        black_box(p.observe(black_box(s)));
    }
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// How many containers the predictor holds: `BENCH_CONTAINERS`, 1,000 by default.
fn containers() -> usize {
    env_usize("BENCH_CONTAINERS").unwrap_or(1000)
}

fn bench(c: &mut Criterion) {
    let model = Model::embedded();
    let n = containers();
    let (mut p, mut samples, mut t) = warmed_up(&model, n);
    let mut g = c.benchmark_group("predict");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("observe_1000_containers", |b| {
        b.iter(|| sweep(&mut p, &mut samples, &mut t))
    });
    let (mut p, mut samples, mut t) = warmed_up_with(&model, 220, short_sample);
    g.throughput(Throughput::Elements(220));
    g.bench_function("observe_node_short_110_pods", |b| {
        b.iter(|| sweep(&mut p, &mut samples, &mut t))
    });
    let one = sample(3, 100.0);
    g.throughput(Throughput::Elements(1));
    g.bench_function("predict_once", |b| {
        b.iter(|| black_box(predict_once(&model, black_box(&one))))
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    if let Some(k) = env_usize("BENCH_SWEEPS") {
        let (mut p, mut samples, mut t) = warmed_up(&Model::embedded(), containers());
        for _ in 0..k {
            sweep(&mut p, &mut samples, &mut t);
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
