//! The simulator: determinism per seed, and the kernel/kubelet behaviour each scenario kind
//! must show (checked on several instances of each kind, from the written samples only).
use crashwatch::features;
use crashwatch::sample::{Cause, Qos, Sample};
use crashwatch::sim::{self, Kind, Manifest};
use crashwatch::trace::{Label, TraceLine};

const SEED: u64 = 20_261_125;

struct Split {
    samples: Vec<Sample>,
    labels: Vec<Label>,
}

fn split(lines: &[TraceLine]) -> Split {
    let mut s = Split {
        samples: Vec::new(),
        labels: Vec::new(),
    };
    for l in lines {
        match l {
            TraceLine::Sample(x) => s.samples.push((**x).clone()),
            TraceLine::Label(l) => s.labels.push(l.clone()),
        }
    }
    s
}

/// Samples of the scenario's main container (the first id in the file).
fn main_samples(s: &Split) -> (String, Vec<&Sample>) {
    let id = s.samples[0].id.clone();
    let v = s.samples.iter().filter(|x| x.id == id).collect();
    (id, v)
}

fn ratio(a: Option<u64>, b: Option<u64>) -> f64 {
    a.unwrap_or(0) as f64 / b.unwrap_or(1) as f64
}

#[test]
fn same_seed_same_traces_and_other_seed_differs() {
    for kind in [Kind::LeakLinear, Kind::PageCache, Kind::Eviction] {
        let a = sim::generate(kind, SEED, 0);
        let b = sim::generate(kind, SEED, 0);
        assert_eq!(a.lines, b.lines, "{kind:?} not deterministic");
        assert_eq!(a.file_name, format!("{}-{SEED}-0.jsonl", kind.as_str()));
        let c = sim::generate(kind, SEED + 1, 0);
        assert_ne!(a.lines, c.lines, "{kind:?}: seed ignored");
        let d = sim::generate(kind, SEED, 1);
        assert_ne!(a.lines, d.lines, "{kind:?}: instance number ignored");
    }
}

#[test]
fn subsets_reproduce_the_same_files() {
    let all = tempfile::tempdir().unwrap();
    let one = tempfile::tempdir().unwrap();
    sim::write_set(all.path(), 5, &[Kind::LeakLinear, Kind::Healthy], 2).unwrap();
    sim::write_set(one.path(), 5, &[Kind::Healthy], 1).unwrap();
    let a = std::fs::read(all.path().join("healthy-5-0.jsonl")).unwrap();
    let b = std::fs::read(one.path().join("healthy-5-0.jsonl")).unwrap();
    assert_eq!(a, b);
    let m = Manifest::read(all.path()).unwrap().unwrap();
    assert_eq!(m.seeds, vec![5]);
    assert_eq!(m.kinds, vec!["leak_linear", "healthy"]);
    assert_eq!(m.count, 2);
    assert_eq!(m.files.len(), 4);
    assert_eq!(m.generator_version, sim::GENERATOR_VERSION);
    // The manifest's crash counts are the label lines actually written.
    let mut labels = 0;
    for f in &m.files {
        labels += crashwatch::trace::read(&all.path().join(f))
            .unwrap()
            .iter()
            .filter(|l| matches!(l, TraceLine::Label(_)))
            .count();
    }
    assert_eq!(m.crashes.values().sum::<usize>(), labels);
}

#[test]
fn file_names_give_the_kind() {
    use std::path::Path;
    assert_eq!(
        sim::kind_of_file(Path::new("/x/leak_linear-7-12.jsonl")),
        Some(Kind::LeakLinear)
    );
    assert_eq!(
        sim::kind_of_file(Path::new("cpu_starvation-18446744073709551615-0.jsonl")),
        Some(Kind::CpuStarvation)
    );
    assert_eq!(sim::kind_of_file(Path::new("recorded-node1.jsonl")), None);
    assert_eq!(sim::kind_of_file(Path::new("meteor-1-2.jsonl")), None);
    for k in Kind::ALL {
        assert_eq!(Kind::parse(k.as_str()), Some(k));
        assert!(!k.as_str().contains('-'));
    }
}

#[test]
fn traces_are_sorted_and_use_scrape_intervals() {
    let mut seen = std::collections::BTreeSet::new();
    for n in 0..12 {
        let inst = sim::generate(Kind::Healthy, SEED, n);
        let ts: Vec<f64> = inst.lines.iter().map(sim::engine::line_ts).collect();
        assert!(
            ts.windows(2).all(|w| w[0] <= w[1]),
            "instance {n} not sorted by ts"
        );
        let s = split(&inst.lines);
        let (_, m) = main_samples(&s);
        let mut d: Vec<f64> = m.windows(2).map(|w| w[1].ts - w[0].ts).collect();
        d.sort_by(f64::total_cmp);
        let median = d[d.len() / 2].round();
        assert!(
            [1.0, 2.0, 5.0, 10.0, 15.0].contains(&median),
            "instance {n}: interval {median}"
        );
        seen.insert(median as u64);
    }
    assert!(seen.len() >= 3, "intervals are not randomised: {seen:?}");
}

#[test]
fn every_sample_is_internally_consistent() {
    for kind in Kind::ALL {
        for n in 0..3 {
            let s = split(&sim::generate(kind, SEED, n).lines);
            for x in &s.samples {
                let usage = x.memory_usage_bytes.unwrap();
                let ws = x.memory_working_set_bytes.unwrap();
                let anon = x.memory_anon_bytes.unwrap();
                let file = x.memory_file_bytes.unwrap();
                assert!(ws <= usage, "{kind:?}/{n}: working set above usage");
                assert!(ws >= anon, "{kind:?}/{n}: working set below anon");
                assert!(
                    anon + file <= usage,
                    "{kind:?}/{n}: anon + file above usage"
                );
                if let Some(l) = x.memory_limit_bytes {
                    assert!(usage <= l, "{kind:?}/{n}: usage {usage} above limit {l}");
                }
                if let (Some(p), Some(l)) = (x.pids_current, x.pids_limit) {
                    assert!(p <= l, "{kind:?}/{n}: pids above pids.max");
                }
                assert!(
                    x.node_memory_available_bytes.unwrap() <= x.node_memory_total_bytes.unwrap()
                );
                assert!(x.qos.is_some() && x.restarts_total.is_some());
            }
        }
    }
}

#[test]
fn traces_come_from_v2_v1_and_prometheus_sources() {
    // Field sets differ by source: v2 has PSI and a pod-level OOM counter, v1 has the pod
    // counter but no PSI, a Prometheus export has neither.
    let (mut v2, mut v1, mut prom) = (0, 0, 0);
    for n in 0..30 {
        let s = split(&sim::generate(Kind::Healthy, SEED, n).lines);
        let x = &s.samples[0];
        match (
            x.memory_pressure_some_avg10.is_some(),
            x.pod_oom_kills_total.is_some(),
        ) {
            (true, true) => v2 += 1,
            (false, true) => v1 += 1,
            (false, false) => prom += 1,
            (true, false) => panic!("instance {n}: PSI without a pod counter"),
        }
        let uniform = s.samples.iter().all(|y| {
            y.memory_pressure_some_avg10.is_some() == x.memory_pressure_some_avg10.is_some()
        });
        assert!(uniform, "instance {n}: mixed sources in one trace");
    }
    assert!(
        v2 > 0 && v1 > 0 && prom > 0,
        "v2 {v2}, v1 {v1}, prometheus {prom}"
    );
}

#[test]
fn page_cache_pins_usage_at_the_limit_but_not_the_working_set() {
    let mut pinned = 0;
    for n in 0..6 {
        let s = split(&sim::generate(Kind::PageCache, SEED, n).lines);
        assert!(
            s.labels.is_empty(),
            "page cache instance {n} crashed: {:?}",
            s.labels
        );
        let (_, m) = main_samples(&s);
        let max_ws = m
            .iter()
            .map(|x| ratio(x.memory_working_set_bytes, x.memory_limit_bytes))
            .fold(0.0, f64::max);
        assert!(
            max_ws < 0.8,
            "instance {n}: working set reached {max_ws:.2} of the limit"
        );
        let at_limit: Vec<&&Sample> = m
            .iter()
            .filter(|x| ratio(x.memory_usage_bytes, x.memory_limit_bytes) > 0.99)
            .collect();
        if !at_limit.is_empty() {
            pinned += 1;
            // Reclaim at the limit counts memory.events max and leaves page cache to drop.
            let last = m.last().unwrap();
            assert!(
                last.memory_max_events_total.unwrap() > 0,
                "instance {n}: no max events at the limit"
            );
            assert!(at_limit
                .iter()
                .all(|x| x.memory_file_bytes > x.memory_anon_bytes
                    || x.memory_file_bytes.unwrap() > 0));
        }
        // Reclaiming cold cache is cheap: PSI memory stays low (v2 only; v1 has no PSI).
        let psi = m
            .iter()
            .filter_map(|x| x.memory_pressure_some_avg10)
            .fold(0.0, f64::max);
        assert!(psi < 2.0, "instance {n}: memory PSI {psi} for easy reclaim");
    }
    assert!(
        pinned >= 3,
        "only {pinned} of 6 page-cache instances reached the limit"
    );
}

#[test]
fn flat_high_stays_between_80_and_97_percent_and_never_crashes() {
    for n in 0..6 {
        let s = split(&sim::generate(Kind::FlatHigh, SEED, n).lines);
        assert!(s.labels.is_empty());
        let (_, m) = main_samples(&s);
        let t0 = m[0].ts;
        for x in m.iter().filter(|x| x.ts > t0 + 60.0) {
            let r = ratio(x.memory_usage_bytes, x.memory_limit_bytes);
            assert!(
                (0.78..0.975).contains(&r),
                "instance {n}: usage at {r:.3} of the limit"
            );
            assert!(x.memory_pressure_some_avg10.unwrap_or(0.0) < 2.0);
        }
    }
}

#[test]
fn warm_ups_rise_by_a_fifth_or_more_then_hold_below_the_limit_and_never_crash() {
    for n in 0..8 {
        let s = split(&sim::generate(Kind::WarmUp, SEED, n).lines);
        assert!(s.labels.is_empty(), "instance {n} crashed");
        let (_, m) = main_samples(&s);
        let (t0, t_end) = (m[0].ts, m[m.len() - 1].ts);
        // Mean working-set ratio over a stretch (averages out the GC sawtooth's phase).
        let mean = |lo: f64, hi: f64| {
            let v: Vec<f64> = m
                .iter()
                .filter(|x| (lo..hi).contains(&(x.ts - t0)))
                .map(|x| ratio(x.memory_working_set_bytes, x.memory_limit_bytes))
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let span = t_end - t0;
        let (first, late, last) = (
            mean(0.0, 20.0),
            mean(span - 600.0, span - 300.0),
            mean(span - 300.0, span + 1.0),
        );
        // From 30–80 % of the final live set: at least a fifth of the GC floor or the heap.
        assert!(
            last > first + 0.04,
            "instance {n}: no warm-up ({first:.3} → {last:.3})"
        );
        // Once warm (τ ≤ 300 s, start ≤ 300 s in, traces ≥ 900 s), it holds.
        assert!(
            (last - late).abs() < 0.05,
            "instance {n}: still moving at the end ({late:.3} → {last:.3})"
        );
        for x in &m {
            let r = ratio(x.memory_usage_bytes, x.memory_limit_bytes);
            assert!(r < 0.975, "instance {n}: usage at {r:.3} of the limit");
        }
    }
}

/// The sample of `id` just before and just after `ts`.
fn around<'a>(s: &'a Split, id: &str, ts: f64) -> (Option<&'a Sample>, Option<&'a Sample>) {
    let before = s.samples.iter().rev().find(|x| x.id == id && x.ts < ts);
    let after = s.samples.iter().find(|x| x.id == id && x.ts > ts);
    (before, after)
}

#[test]
fn leaks_end_in_an_oom_kill_that_the_counters_show() {
    for kind in [
        Kind::LeakLinear,
        Kind::LeakStepwise,
        Kind::LeakAccelerating,
        Kind::GcCreep,
    ] {
        for n in 0..4 {
            let s = split(&sim::generate(kind, SEED, n).lines);
            let (id, _) = main_samples(&s);
            let kills: Vec<&Label> = s.labels.iter().filter(|l| l.id == id).collect();
            assert!(!kills.is_empty(), "{kind:?}/{n}: no crash");
            for k in &kills {
                assert_eq!(k.cause, Cause::OomKill, "{kind:?}/{n}");
                assert_eq!(k.event, "crash");
                let (before, _) = around(&s, &id, k.ts);
                let before = before.expect("a sample before the kill");
                // Sampled up to 15 s before the kill, the working set is close to the limit.
                let r = ratio(before.memory_working_set_bytes, before.memory_limit_bytes);
                assert!(
                    r > 0.8,
                    "{kind:?}/{n}: working set only {r:.2} of the limit before the kill"
                );
                let later: Vec<&Sample> = s
                    .samples
                    .iter()
                    .filter(|x| x.id == id && x.ts > k.ts)
                    .collect();
                let r0 = before.restarts_total.unwrap();
                // The killed container's cgroup may still be read for a moment: no memory, no
                // tasks, and its oom_kill counter one up.
                for d in later.iter().take_while(|x| x.restarts_total == Some(r0)) {
                    assert!(
                        d.ts - k.ts < 1.5,
                        "{kind:?}/{n}: dead cgroup read {:.2}s after the kill",
                        d.ts - k.ts
                    );
                    assert_eq!(
                        d.oom_kills_total.unwrap(),
                        before.oom_kills_total.unwrap() + 1
                    );
                    assert_eq!((d.memory_anon_bytes, d.pids_current), (Some(0), Some(0)));
                }
                if let Some(after) = later.iter().find(|x| x.restarts_total == Some(r0 + 1)) {
                    assert_eq!(after.last_termination_reason.as_deref(), Some("OOMKilled"));
                    // The kubelet restarts after its backoff (≥ 10 s) in a new cgroup: its own
                    // counters start from zero, the pod's (v2, hierarchical) keeps the kill.
                    assert!(
                        after.ts - k.ts >= 10.0,
                        "{kind:?}/{n}: restarted {:.1}s after the kill",
                        after.ts - k.ts
                    );
                    assert_eq!(after.oom_kills_total, Some(0));
                    // v2: hierarchical pod counter; v1: the pod's own limit was not hit;
                    // a Prometheus export has no pod-level series.
                    let v2 = before.memory_pressure_some_avg10.is_some();
                    match before.pod_oom_kills_total {
                        Some(p) if v2 => assert_eq!(after.pod_oom_kills_total, Some(p + 1)),
                        Some(_) => assert_eq!(after.pod_oom_kills_total, Some(0)),
                        None => assert_eq!(after.pod_oom_kills_total, None),
                    }
                    let r = ratio(after.memory_usage_bytes, after.memory_limit_bytes);
                    assert!(r < 0.7, "{kind:?}/{n}: usage {r:.2} right after restart");
                    assert!(
                        after.cpu_usage_seconds_total.unwrap()
                            < before.cpu_usage_seconds_total.unwrap()
                    );
                }
            }
        }
    }
}

#[test]
fn memory_pressure_rises_only_while_reclaiming_near_the_limit() {
    let mut saw_pressure = 0;
    for n in 0..8 {
        let s = split(&sim::generate(Kind::LeakLinear, SEED, n).lines);
        let (_, m) = main_samples(&s);
        for x in &m {
            let p = x.memory_pressure_some_avg10.unwrap_or(0.0);
            let r = ratio(x.memory_usage_bytes, x.memory_limit_bytes);
            // avg10 decays over ~10 s, so a killed container's lingering cgroup still shows it.
            if p > 5.0 && x.pids_current != Some(0) {
                saw_pressure += 1;
                assert!(r > 0.95, "instance {n}: PSI {p} at {r:.2} of the limit");
            }
            assert!(x.memory_pressure_full_avg10.unwrap_or(0.0) <= p + 1e-9);
        }
    }
    assert!(saw_pressure > 0, "no leak ever showed memory pressure");
}

#[test]
fn alloc_spikes_give_no_warning() {
    for n in 0..4 {
        let s = split(&sim::generate(Kind::AllocSpike, SEED, n).lines);
        let (id, _) = main_samples(&s);
        let first = s.labels.iter().find(|l| l.id == id).expect("a spike crash");
        assert_eq!(first.cause, Cause::OomKill);
        // The allocation itself takes up to 2 s; before it nothing stands out.
        let (before, _) = around(&s, &id, first.ts - 3.0);
        let r = ratio(
            before.unwrap().memory_working_set_bytes,
            before.unwrap().memory_limit_bytes,
        );
        assert!(
            r < 0.75,
            "instance {n}: {r:.2} of the limit before a 'sudden' spike"
        );
    }
}

#[test]
fn fork_growth_dies_at_pids_max() {
    for n in 0..4 {
        let s = split(&sim::generate(Kind::ForkGrowth, SEED, n).lines);
        let (id, _) = main_samples(&s);
        let first = s.labels.iter().find(|l| l.id == id).expect("a crash");
        assert_eq!(first.cause, Cause::PidExhaustion);
        let (before, after) = around(&s, &id, first.ts);
        let before = before.unwrap();
        assert!(
            ratio(before.pids_current, before.pids_limit) > 0.85,
            "instance {n}: pids far from pids.max"
        );
        assert!(
            ratio(before.memory_usage_bytes, before.memory_limit_bytes) < 0.9,
            "instance {n}: memory, not pids"
        );
        if let Some(after) = after {
            assert_eq!(after.last_termination_reason.as_deref(), Some("Error"));
            assert!(ratio(after.pids_current, after.pids_limit) < 0.5);
            assert_eq!(after.pod_oom_kills_total, before.pod_oom_kills_total);
        }
    }
}

fn throttle_ratio(a: &Sample, b: &Sample) -> f64 {
    let p = b.cpu_periods_total.unwrap() as f64 - a.cpu_periods_total.unwrap() as f64;
    let t = b.cpu_throttled_periods_total.unwrap() as f64
        - a.cpu_throttled_periods_total.unwrap() as f64;
    if p > 0.0 {
        t / p
    } else {
        0.0
    }
}

#[test]
fn cpu_starvation_is_preceded_by_heavy_throttling_and_plain_throttling_survives() {
    for n in 0..4 {
        let s = split(&sim::generate(Kind::CpuStarvation, SEED, n).lines);
        let (id, m) = main_samples(&s);
        let first = s.labels.iter().find(|l| l.id == id).expect("a crash");
        assert_eq!(first.cause, Cause::CpuStarvation);
        let before: Vec<&&Sample> = m.iter().filter(|x| x.ts < first.ts).collect();
        let k = before.len();
        assert!(k >= 2);
        let r = throttle_ratio(before[k - 2], before[k - 1]);
        assert!(
            r > 0.85,
            "instance {n}: throttled ratio {r:.2} just before the kill"
        );
        assert!(before[k - 1].cpu_limit_cores.is_some());
    }
    for n in 0..4 {
        let s = split(&sim::generate(Kind::CpuThrottled, SEED, n).lines);
        assert!(s.labels.is_empty(), "cpu_throttled {n} crashed");
        let (_, m) = main_samples(&s);
        let r = throttle_ratio(m[0], m[m.len() - 1]);
        assert!(
            r > 0.02 && r < 0.85,
            "instance {n}: overall throttled ratio {r:.2}"
        );
    }
}

#[test]
fn crash_loop_restarts_with_growing_backoff() {
    for n in 0..4 {
        let s = split(&sim::generate(Kind::CrashLoop, SEED, n).lines);
        let (id, _) = main_samples(&s);
        let crashes: Vec<&Label> = s.labels.iter().filter(|l| l.id == id).collect();
        assert!(
            crashes.len() >= 3,
            "instance {n}: {} crashes",
            crashes.len()
        );
        assert!(crashes.iter().all(|c| c.cause == Cause::RestartLoop));
        for w in crashes.windows(2) {
            // Backoff (≥ 10 s) plus the next instance's run time separate two exits.
            assert!(w[1].ts - w[0].ts >= 10.0);
            let (_, after) = around(&s, &id, w[0].ts);
            if let Some(a) = after.filter(|a| a.ts < w[1].ts) {
                assert_eq!(a.last_termination_reason.as_deref(), Some("Error"));
            }
        }
        // The kubelet doubles the backoff: the fourth gap is longer than the first.
        if crashes.len() >= 5 {
            assert!(crashes[4].ts - crashes[3].ts > crashes[1].ts - crashes[0].ts);
        }
    }
}

#[test]
fn eviction_removes_the_besteffort_or_burstable_pod_when_the_node_runs_dry() {
    for n in 0..4 {
        let s = split(&sim::generate(Kind::Eviction, SEED, n).lines);
        assert_eq!(s.labels.len(), 1, "instance {n}: {:?}", s.labels);
        let ev = &s.labels[0];
        assert_eq!(ev.cause, Cause::Evicted);
        let (before, after) = around(&s, &ev.id, ev.ts);
        let before = before.unwrap();
        assert!(after.is_none(), "an evicted pod is not restarted");
        assert!(matches!(
            before.qos,
            Some(Qos::Besteffort) | Some(Qos::Burstable)
        ));
        assert_eq!(before.memory_limit_bytes, None);
        let avail = before.node_memory_available_bytes.unwrap() as f64;
        assert!(
            avail < 600.0 * 1024.0 * 1024.0,
            "instance {n}: {avail} bytes still available"
        );
        // The guaranteed neighbour lives on.
        let other = s
            .samples
            .iter()
            .find(|x| x.id != ev.id)
            .expect("a neighbour");
        assert_eq!(other.qos, Some(Qos::Guaranteed));
        assert!(s.samples.iter().any(|x| x.id == other.id && x.ts > ev.ts));
    }
}

#[test]
fn cpu_counters_count_from_the_instance_start_and_old_restarts_are_old() {
    // An agent dates the restarts it finds at first sight by the instance's CPU counter over
    // its pace (`features::restarts_dated`): an instance that was already up when the trace
    // starts must carry the CPU seconds of its age, and a healthy pod's restarts lie at least
    // the kubelet's back-off reset (10 minutes) behind it.
    let (mut restarted, mut young) = (0, 0);
    for kind in Kind::ALL {
        for n in 0..10 {
            let s = split(&sim::generate(kind, SEED + 7, n).lines);
            let mut first: std::collections::HashMap<&str, &Sample> = Default::default();
            for x in &s.samples {
                let f = *first.entry(x.id.as_str()).or_insert(x);
                let span = x.ts - f.ts;
                if !(60.0..=90.0).contains(&span) || x.restarts_total != f.restarts_total {
                    continue;
                }
                let (c0, c1) = (
                    f.cpu_usage_seconds_total.unwrap(),
                    x.cpu_usage_seconds_total.unwrap(),
                );
                let pace = (c1 - c0) / span;
                if pace < 0.01 || s.labels.iter().any(|l| l.id == x.id && l.ts < x.ts) {
                    continue;
                }
                let age = c0 / pace;
                young += usize::from(age < 5.0);
                if f.restarts_total.unwrap() > 0 {
                    restarted += 1;
                    assert!(
                        age >= features::LOOP_AGE,
                        "{kind:?}/{n} {}: restarted {:?}, up {age:.0} s by its CPU counter",
                        x.id,
                        f.restarts_total
                    );
                }
                first.insert(x.id.as_str(), x);
            }
        }
    }
    assert!(restarted >= 20, "only {restarted} restarted pods seen");
    assert!(
        young < 20,
        "{young} instances look brand new at trace start"
    );
}

#[test]
fn quiet_kinds_never_crash() {
    for kind in [
        Kind::PageCache,
        Kind::FlatHigh,
        Kind::GcSawtooth,
        Kind::CpuThrottled,
        Kind::Healthy,
    ] {
        assert_eq!(kind.expected_cause(), None);
        for n in 0..5 {
            let s = split(&sim::generate(kind, SEED + 3, n).lines);
            assert!(s.labels.is_empty(), "{kind:?}/{n}: {:?}", s.labels);
        }
    }
    let s = split(&sim::generate(Kind::Healthy, SEED, 0).lines);
    assert!(s.samples.iter().all(|x| x.memory_limit_bytes.is_none()
        || x.id.ends_with("proxy")
        || x.id.ends_with("shipper")
        || x.id.ends_with("exporter")));
}

#[test]
fn simulate_command_writes_traces_and_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args([
            "simulate",
            "--seed",
            "3",
            "--scenarios",
            "leak_linear,page_cache",
            "--count",
            "2",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "leak_linear-3-0.jsonl",
            "leak_linear-3-1.jsonl",
            "manifest.json",
            "page_cache-3-0.jsonl",
            "page_cache-3-1.jsonl"
        ]
    );
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args(["simulate", "--scenarios", "meteor", "--out"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scenario \"meteor\""));
}
