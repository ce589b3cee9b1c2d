//! `/metrics` cost at 1,000 containers: publishing one sweep's rows (series diffing) and
//! gathering + text-encoding the registry, as the HTTP handler does per scrape.
//! Run: `cargo bench --bench metrics`.
use crashwatch::metrics::{ContainerRow, Metrics};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn rows(n: usize) -> Vec<ContainerRow> {
    (0..n)
        .map(|i| ContainerRow {
            namespace: format!("ns-{}", i % 20),
            pod: format!("pod-{i:05}-7d9f8b6c5d-x2k4q"),
            container: "app".to_string(),
            crash_risk: (i % 100) as f64 / 100.0,
            time_to_oom_seconds: (i % 3 == 0).then_some(120.0 + i as f64),
            working_set_bytes: Some(100_000_000 + i as u64 * 4096),
            limit_bytes: (i % 5 != 0).then_some(536_870_912),
            alarmed_cause: (i % 50 == 0).then(|| "oom_kill".to_string()),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let m = Metrics::new("bench").expect("metrics");
    let r = rows(1000);
    m.publish_containers(r.clone());
    let mut buf = Vec::with_capacity(256 * 1024);
    buf.clear();
    m.encode(&mut buf).expect("encode");
    eprintln!("/metrics body at 1,000 containers: {} bytes", buf.len());
    c.bench_function("metrics_encode_1000_containers", |b| {
        b.iter(|| {
            buf.clear();
            m.encode(&mut buf).expect("encode");
            black_box(buf.len())
        })
    });
    c.bench_function("metrics_publish_sweep_1000_containers", |b| {
        b.iter(|| m.publish_containers(black_box(r.clone())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
