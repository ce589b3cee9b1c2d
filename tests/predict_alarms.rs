//! Predictor behaviour on hand-made traces: alarms before a leak's OOM kill, once per episode,
//! with hysteresis; no alarm on page cache or flat-high usage; risk monotone in time to limit;
//! state dropped by `retain`; restarts, OOM loops and unexplained exits; node pressure on pods
//! without a limit; starvation at sparse scrapes, and none at a start-up burst or in a worker
//! pinned at its quota. Uses both the shipped model and small hand-built ones, so the
//! assertions hold for the physics path whatever the trees learned.
use crashwatch::features::{self, Features, N, TTL_CAP};
use crashwatch::model::{class_names, Model, ModelFile, TreeFile};
use crashwatch::predict::{assess, predict_once, Predictor, Transition};
use crashwatch::sample::{Cause, Qos, Sample};
use std::sync::Arc;

const MIB: u64 = 1024 * 1024;

/// Deterministic noise in [-1, 1].
fn wobble(i: u64) -> f64 {
    ((i.wrapping_mul(2_654_435_761)) % 1000) as f64 / 500.0 - 1.0
}

fn sample(ts: f64, id: &str) -> Sample {
    Sample {
        ts,
        id: id.into(),
        memory_limit_bytes: Some(256 * MIB),
        oom_kills_total: Some(0),
        restarts_total: Some(0),
        ..Default::default()
    }
}

/// An anon leak of `rate` MiB/s from 40 MiB, sampled every `dt` s (± jitter), with the OOM
/// kill visible in `oom_kills_total` at the first sample past the limit.
fn leak(rate: f64, dt: f64) -> (Vec<Sample>, f64) {
    let crash = (256.0 - 40.0) / rate;
    let mut out = Vec::new();
    let mut i = 0u64;
    loop {
        let t = i as f64 * dt + 0.2 * dt * wobble(i + 7).abs();
        let mut s = sample(t, "default/leaky/app");
        let anon = if t < crash {
            (40.0 + rate * t + 1.5 * wobble(i)) * MIB as f64
        } else {
            30.0 * MIB as f64
        };
        s.memory_anon_bytes = Some(anon as u64);
        s.memory_file_bytes = Some(8 * MIB);
        s.memory_working_set_bytes = Some(anon as u64 + 8 * MIB);
        s.memory_usage_bytes = Some(anon as u64 + 8 * MIB);
        if t >= crash {
            s.oom_kills_total = Some(1);
            out.push(s);
            break;
        }
        out.push(s);
        i += 1;
    }
    (out, crash)
}

fn run(p: &mut Predictor, samples: &[Sample]) -> Vec<(f64, Transition)> {
    let mut out = Vec::new();
    for s in samples {
        let (_, ts) = p.observe(s);
        out.extend(ts.into_iter().map(|t| (s.ts, t)));
    }
    out
}

/// When each `which` transition happened.
fn times(tr: &[(f64, Transition)], which: &Transition) -> Vec<f64> {
    tr.iter()
        .filter(|(_, t)| t == which)
        .map(|(ts, _)| *ts)
        .collect()
}

fn models() -> Vec<(&'static str, Arc<Model>)> {
    vec![
        ("shipped", Model::embedded()),
        ("physics-only", Arc::new(Model::physics_only())),
    ]
}

#[test]
fn leak_alarms_once_well_before_the_oom_kill_at_any_interval() {
    for (name, m) in models() {
        for dt in [1.0, 5.0, 15.0] {
            let (samples, crash) = leak(1.0, dt);
            let mut p = Predictor::new(m.clone(), None);
            let tr = run(&mut p, &samples);
            let alarms = times(&tr, &Transition::Alarmed);
            assert_eq!(alarms.len(), 1, "{name} dt={dt}: {tr:?}");
            let lead = crash - alarms[0];
            assert!(lead >= 60.0, "{name} dt={dt}: lead {lead}");
            match tr.last() {
                Some((_, Transition::Crashed { cause, alarmed_at })) => {
                    assert_eq!(*cause, Cause::OomKill);
                    assert_eq!(*alarmed_at, Some(alarms[0]));
                }
                other => panic!("{name} dt={dt}: last transition {other:?}"),
            }
        }
    }
}

#[test]
fn time_to_oom_tracks_the_real_remaining_time() {
    let (samples, crash) = leak(2.0, 1.0);
    let mut p = Predictor::new(Arc::new(Model::physics_only()), None);
    let mut first = None;
    for s in &samples {
        let (pred, _) = p.observe(s);
        if let (None, Some(t)) = (first, pred.time_to_oom_seconds) {
            first = Some((s.ts, t));
        }
    }
    let (at, ttl) = first.expect("a time to OOM was published");
    let real = crash - at;
    assert!(
        (ttl - real).abs() <= 0.3 * real,
        "published {ttl:.0} s at {at}, real {real:.0} s"
    );
}

#[test]
fn page_cache_and_flat_high_never_alarm() {
    for (name, m) in models() {
        // Page cache filling the limit and being reclaimed there; anon flat.
        let mut p = Predictor::new(m.clone(), None);
        let mut alarms = 0;
        for i in 0..1200u64 {
            let t = i as f64;
            let mut s = sample(t, "default/cache/app");
            let file = (20.0 + 1.5 * t).min(200.0) * MIB as f64;
            s.memory_anon_bytes = Some(50 * MIB);
            s.memory_file_bytes = Some(file as u64);
            s.memory_usage_bytes = Some(50 * MIB + file as u64);
            // Written once, the cache is inactive: the working set stays near anon.
            s.memory_working_set_bytes = Some(50 * MIB + (file * 0.1) as u64);
            alarms += p
                .observe(&s)
                .1
                .iter()
                .filter(|t| **t == Transition::Alarmed)
                .count();
        }
        assert_eq!(alarms, 0, "{name}: page cache alarmed");
        // Flat at 92 % of the limit with ±2 % noise, no anon reported (foreign-trace style).
        let mut p = Predictor::new(m.clone(), None);
        for i in 0..1200u64 {
            let mut s = sample(i as f64, "default/flat/app");
            let ws = (0.92 + 0.02 * wobble(i)) * 256.0 * MIB as f64;
            s.memory_working_set_bytes = Some(ws as u64);
            alarms += p
                .observe(&s)
                .1
                .iter()
                .filter(|t| **t == Transition::Alarmed)
                .count();
        }
        assert_eq!(alarms, 0, "{name}: flat-high alarmed");
    }
}

/// A one-split model: ws_limit_ratio ≥ 0.9 → oom_kill with 96 rows, else none.
fn step_model() -> Arc<Model> {
    let mut f: ModelFile = Model::physics_only().file().clone();
    f.model_version = "step".into();
    f.prior = vec![0.5, 0.5, 0.0, 0.0, 0.0, 0.0];
    f.trees = vec![TreeFile::stump(
        0,
        0.9,
        [96.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 96.0, 0.0, 0.0, 0.0, 0.0],
    )];
    assert_eq!(f.classes, class_names());
    Arc::new(Model::from_file(f).unwrap())
}

#[test]
fn hysteresis_gives_one_episode_per_excursion() {
    let mut p = Predictor::new(step_model(), Some(0.5));
    let ratio_at = |t: u64| -> f64 {
        match t {
            0..=99 => 0.5,
            // Flapping around the split every 3 s: still one episode.
            100..=299 => {
                if ((t - 100) / 3) % 2 == 0 {
                    0.91
                } else {
                    0.89
                }
            }
            // Calm for 90 s: clears once, 60 s after the risk fell.
            300..=389 => 0.5,
            _ => 0.95,
        }
    };
    let samples: Vec<Sample> = (0..420u64)
        .map(|t| {
            let mut s = sample(t as f64, "ns/p/c");
            s.memory_working_set_bytes = Some((ratio_at(t) * 256.0 * MIB as f64) as u64);
            s
        })
        .collect();
    let tr = run(&mut p, &samples);
    assert_eq!(
        tr,
        vec![
            (100.0, Transition::Alarmed),
            (360.0, Transition::Cleared),
            (390.0, Transition::Alarmed)
        ],
        "{tr:?}"
    );
}

/// Features of the vector `x` alone: no physical estimate, no flag, 10 minutes into the
/// instance, at the calibrated scrape interval.
fn bare(x: [f32; N]) -> Features {
    Features {
        x,
        ttl_mem: None,
        ttl_pids: None,
        ttl_node: None,
        ttl_node_guess: None,
        ttl_starve: None,
        node_psi: None,
        cache_squeeze: None,
        cpu_use: None,
        grows_on_unknown_node: false,
        ws_rise_5m: None,
        shortage_share: None,
        sample_gap: 0.0,
        step_reaches_limit: false,
        step_clock: None,
        cache_floor: None,
        swap_floor: None,
        swap_fill: None,
        instance_span: 600.0,
        cronjob: false,
        survivor: false,
        alarmed: false,
        critical: false,
        outranked: false,
        heads_besteffort: false,
        restarts_recent: 0.0,
    }
}

#[test]
fn risk_is_monotone_in_time_to_limit_and_high_when_close() {
    for (name, m) in models() {
        let mut prev = f64::INFINITY;
        for ttl in [1.0, 10.0, 20.0, 45.0, 90.0, 180.0, 400.0, 1000.0, 3000.0] {
            let mut x = [0f32; N];
            x[features::idx::WS_LIMIT_RATIO] = 0.8;
            x[features::idx::TTL_MEM] = ttl as f32;
            let f = Features {
                ttl_mem: Some(ttl),
                ..bare(x)
            };
            let a = assess(&m, &f, || false);
            // One burst from the limit is an alarm however far the mean rate puts it.
            let burst = assess(
                &m,
                &Features {
                    step_reaches_limit: true,
                    ..f.clone()
                },
                || false,
            );
            assert!(
                burst.risk >= m.threshold() && burst.cause == Some(Cause::OomKill),
                "{name}: a burst from the limit at ttl {ttl}: {burst:?}"
            );
            assert!(
                a.risk <= prev + 1e-9,
                "{name}: risk rose from {prev} to {} at ttl {ttl}",
                a.risk
            );
            prev = a.risk;
            if ttl <= 20.0 {
                assert!(
                    a.risk >= 0.95,
                    "{name}: {ttl} s from the limit but risk {}",
                    a.risk
                );
                assert_eq!(a.cause, Some(Cause::OomKill));
            }
        }
        let _ = TTL_CAP;
    }
}

#[test]
fn predict_once_accepts_the_predecessor_body() {
    let m = Model::embedded();
    let s: Sample =
        serde_json::from_str(r#"{"cpu_usage_cores":0.5,"memory_usage_bytes":1024}"#).unwrap();
    let p = predict_once(&m, &s);
    assert!(p.crash_risk < m.threshold(), "{p:?}");
    assert!(!p.crash_predicted);
    assert_eq!(p.time_to_oom_seconds, None);
}

#[test]
fn retain_drops_vanished_containers() {
    let mut p = Predictor::new(Arc::new(Model::physics_only()), None);
    for id in ["a/b/c", "a/b/d"] {
        p.observe(&sample(1.0, id));
    }
    assert_eq!(p.len(), 2);
    p.retain(|id| id == "a/b/d");
    assert_eq!(p.len(), 1);
    p.retain(|_| false);
    assert!(p.is_empty());
}

#[test]
fn restart_with_oomkilled_reason_is_a_crash_reported_once() {
    let mut p = Predictor::new(Arc::new(Model::physics_only()), None);
    let mut a = sample(1.0, "a/b/c");
    p.observe(&a);
    a.ts = 2.0;
    a.oom_kills_total = Some(1);
    let (_, t1) = p.observe(&a);
    // The kubelet's report of the same kill arrives later.
    a.ts = 5.0;
    a.restarts_total = Some(1);
    a.last_termination_reason = Some("OOMKilled".into());
    let (_, t2) = p.observe(&a);
    assert_eq!(
        t1,
        vec![Transition::Crashed {
            cause: Cause::OomKill,
            alarmed_at: None
        }]
    );
    assert!(t2.is_empty(), "{t2:?}");
    // A later restart with reason Error is a restart loop crash; two restarts within 10
    // minutes are the kubelet's back-off loop, so the next crash is predicted at once.
    a.ts = 100.0;
    a.restarts_total = Some(2);
    a.last_termination_reason = Some("Error".into());
    assert_eq!(
        p.observe(&a).1,
        vec![
            Transition::Crashed {
                cause: Cause::RestartLoop,
                alarmed_at: None
            },
            Transition::Alarmed
        ]
    );
}

#[test]
fn an_oom_kill_at_every_start_is_a_restart_loop() {
    // A limit below what the app needs at start-up: each instance climbs to it within 20 s
    // and is OOM-killed; the kubelet restarts it after 10, 20, 40 s of back-off. No memory
    // trend of 20 s is trusted, so it is the restarts that must give it away.
    let mut p = Predictor::new(Model::embedded(), None);
    let (mut t, mut kills, mut crashes, mut first_alarm) = (0.0, 0u64, Vec::new(), None);
    for (instance, back_off) in [10.0, 20.0, 40.0, 80.0].into_iter().enumerate() {
        for age in 0..20u32 {
            let mut s = sample(t + f64::from(age), "a/b/c");
            s.memory_working_set_bytes = Some((100 + 7 * u64::from(age)) * MIB);
            s.oom_kills_total = Some(kills);
            s.restarts_total = Some(kills);
            s.cpu_usage_seconds_total = Some(f64::from(age) * 0.1);
            if kills > 0 {
                s.last_termination_reason = Some("OOMKilled".into());
            }
            let (pred, tr) = p.observe(&s);
            if tr.contains(&Transition::Alarmed) {
                first_alarm.get_or_insert((instance, pred.cause));
            }
            if instance == 1 {
                // One OOM kill is not yet a loop (a leak restarted from zero looks the same).
                assert_ne!(pred.cause, Some(Cause::RestartLoop), "{pred:?}");
            }
        }
        t += 20.0;
        crashes.push(t);
        kills += 1;
        t += back_off;
    }
    // The third instance starts after two OOM kills within a minute: alarmed at its first
    // sample, as a loop (whose warning stands through the next back-off).
    assert_eq!(first_alarm, Some((2, Some(Cause::RestartLoop))));
}

#[test]
fn restarts_the_samples_do_not_count_are_seen_in_the_cpu_counter() {
    // The loop of `an_oom_kill_at_every_start_is_a_restart_loop`, written by a trace writer
    // that does not know the restart count (left out, or 0 as interface.md allows) nor why
    // the container died: each new instance's CPU counter starts again from zero.
    for restarts in [None, Some(0)] {
        let mut p = Predictor::new(Model::embedded(), None);
        let (mut t, mut crashes, mut first_alarm) = (0.0, Vec::new(), None);
        for (instance, back_off) in [10.0, 20.0, 40.0, 80.0].into_iter().enumerate() {
            for age in 0..20u32 {
                let mut s = sample(t + f64::from(age), "a/b/c");
                s.memory_working_set_bytes = Some((100 + 7 * u64::from(age)) * MIB);
                s.restarts_total = restarts;
                s.cpu_usage_seconds_total = Some(f64::from(age) * 0.1);
                let (pred, tr) = p.observe(&s);
                for t in &tr {
                    if let Transition::Crashed { .. } = t {
                        crashes.push((instance, age));
                    }
                }
                if tr.contains(&Transition::Alarmed) {
                    first_alarm.get_or_insert((instance, pred.cause));
                }
            }
            t += 20.0 + back_off;
        }
        // One crash at the start of each new instance. Without the kubelet's `OOMKilled` the
        // first restart is an exit nothing in the samples explained, warned of at once as the
        // start of a loop (with it, the third instance is: see the test above).
        assert_eq!(crashes, [(1, 0), (2, 0), (3, 0)], "{restarts:?}");
        assert_eq!(
            first_alarm,
            Some((1, Some(Cause::RestartLoop))),
            "{restarts:?}"
        );
    }
}

#[test]
fn a_restart_the_kubelet_reports_a_poll_apart_from_its_new_cgroup_is_one_crash() {
    // The new instance's CPU counter starts from zero at 100 s; the kubelet's count follows
    // 20 s later (or, read in an earlier sweep, comes 10 s before it).
    for report_at in [120.0, 90.0] {
        let mut p = Predictor::new(Arc::new(Model::physics_only()), None);
        let mut crashes = Vec::new();
        let mut t = 0.0;
        while t <= 200.0 {
            let mut s = sample(t, "a/b/c");
            s.memory_working_set_bytes = Some(60 * MIB);
            s.cpu_usage_seconds_total = Some(if t < 100.0 { 50.0 + t } else { t - 100.0 });
            s.restarts_total = Some(u64::from(t >= report_at));
            for tr in p.observe(&s).1 {
                if let Transition::Crashed { .. } = tr {
                    crashes.push(t);
                }
            }
            t += 10.0;
        }
        assert_eq!(crashes, [report_at.min(100.0)], "report at {report_at}");
    }
}

/// A quiet container sampled every 10 s from `from` to `to`, restarted `restarts` times so
/// far, with `pids` tasks at each instant.
fn quiet(id: &str, from: f64, to: f64, restarts: u64, pids: impl Fn(f64) -> u64) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        let mut s = sample(t, id);
        s.memory_working_set_bytes = Some(60 * MIB);
        s.restarts_total = Some(restarts);
        s.pids_current = Some(pids(t));
        if restarts > 0 {
            s.last_termination_reason = Some("Error".into());
        }
        out.push(s);
        t += 10.0;
    }
    out
}

#[test]
fn an_exit_nothing_explained_warns_of_the_next_one_for_the_back_off_cap() {
    for (name, m) in models() {
        // Ten quiet minutes, then the app exits on its own (reason Error) and is restarted.
        let mut p = Predictor::new(m.clone(), None);
        let mut samples = quiet("a/b/c", 0.0, 600.0, 0, |_| 40);
        samples.extend(quiet("a/b/c", 620.0, 1400.0, 1, |_| 40));
        // Exits again 13 minutes later: not explained by the warning that stood after the
        // first exit, so warned of again.
        samples.extend(quiet("a/b/c", 1420.0, 1500.0, 2, |_| 40));
        let tr = run(&mut p, &samples);
        assert_eq!(
            &tr[..2],
            &[
                (
                    620.0,
                    Transition::Crashed {
                        cause: Cause::RestartLoop,
                        alarmed_at: None
                    }
                ),
                (620.0, Transition::Alarmed)
            ],
            "{name}"
        );
        // No second exit: the warning lapses after the kubelet's 5-minute back-off cap and
        // the usual clearing delay.
        let cleared = times(&tr, &Transition::Cleared);
        assert_eq!(cleared.len(), 1, "{name}: {tr:?}");
        assert!((920.0..=1000.0).contains(&cleared[0]), "{name}: {tr:?}");
        assert_eq!(
            times(&tr, &Transition::Alarmed),
            [620.0, 1420.0],
            "{name}: {tr:?}"
        );

        // First seen before its first process started (0 tasks), then a steady 150: that is
        // not a task count that multiplied.
        let mut p = Predictor::new(m.clone(), None);
        let mut samples = quiet("a/b/d", 0.0, 600.0, 0, |t| if t < 1.0 { 0 } else { 150 });
        samples.extend(quiet("a/b/d", 620.0, 700.0, 1, |_| 150));
        let tr = run(&mut p, &samples);
        assert_eq!(times(&tr, &Transition::Alarmed), [620.0], "{name}: {tr:?}");
    }
}

#[test]
fn a_restart_after_a_resource_ran_out_is_not_read_as_a_loop() {
    for (name, m) in models() {
        // Tasks multiplying from 40 to 2000 with no pids.max in the samples (a scrape without
        // it), then an Error exit: the restart starts from 40 tasks again.
        let mut p = Predictor::new(m.clone(), None);
        let mut samples = quiet("a/b/forks", 0.0, 600.0, 0, |t| 40 + (t * 3.3) as u64);
        samples.extend(quiet("a/b/forks", 620.0, 900.0, 1, |_| 40));
        let tr = run(&mut p, &samples);
        assert!(
            !tr.contains(&(620.0, Transition::Alarmed)),
            "{name}: {tr:?}"
        );

        // Memory climbing to the limit, then the runtime gives up by itself (a JVM's
        // OutOfMemoryError exits with Error before the kernel kills anything).
        let mut p = Predictor::new(m.clone(), None);
        let (mut samples, crash) = leak(1.0, 5.0);
        samples.pop();
        let end = samples.last().map_or(0.0, |s| s.ts);
        assert!(end > crash - 6.0);
        let tr = run(&mut p, &samples);
        let alarmed_at = times(&tr, &Transition::Alarmed).first().copied();
        assert!(
            alarmed_at.is_some(),
            "{name}: the leak is warned of: {tr:?}"
        );
        let mut restarted = quiet("default/leaky/app", end + 20.0, end + 30.0, 1, |_| 40);
        restarted[0].memory_working_set_bytes = Some(40 * MIB);
        let (pred, tr) = p.observe(&restarted[0]);
        assert_eq!(
            tr,
            vec![Transition::Crashed {
                cause: Cause::RestartLoop,
                alarmed_at
            }],
            "{name}"
        );
        assert!(!pred.crash_predicted, "{name}: {pred:?}");
    }
}

/// A pod without a memory limit on a node whose memory the samples do not give (a foreign
/// trace): working set `ws(t)` MiB, memory PSI `some` = 2 × `full`, rising from 0 at 300 s
/// to `full_end` at 400 s.
fn unlimited_under_pressure(id: &str, ws: impl Fn(f64) -> f64, full_end: f64) -> Vec<Sample> {
    (0..=80)
        .map(|i| {
            let t = i as f64 * 5.0;
            let full = (full_end * (t - 300.0) / 100.0).max(0.0);
            let w = ((ws(t) + wobble(i) * 2.0) * MIB as f64) as u64;
            Sample {
                ts: t,
                id: id.into(),
                memory_working_set_bytes: Some(w),
                memory_usage_bytes: Some(w),
                memory_pressure_some_avg10: Some(full * 2.0),
                memory_pressure_full_avg10: Some(full),
                restarts_total: Some(0),
                ..Default::default()
            }
        })
        .collect()
}

#[test]
fn node_pressure_alarms_the_growing_pod_without_a_limit_before_a_flat_one() {
    for (name, m) in models() {
        let risk_at_end = |samples: &[Sample]| {
            let mut p = Predictor::new(m.clone(), None);
            let tr = run(&mut p, samples);
            let last = p.observe(samples.last().expect("samples")).0;
            (times(&tr, &Transition::Alarmed), last)
        };
        // 9.5 % of the time fully stalled on memory (19 % partly): the node is short of it.
        let (grow_alarms, grow) = risk_at_end(&unlimited_under_pressure(
            "a/grow/c",
            |t| 300.0 + 2.0 * t,
            9.5,
        ));
        let (flat_alarms, flat) =
            risk_at_end(&unlimited_under_pressure("a/flat/c", |_| 800.0, 9.5));
        assert_eq!(grow_alarms.len(), 1, "{name}: {grow:?}");
        assert!(
            grow_alarms[0] > 300.0,
            "{name}: alarmed before any pressure"
        );
        assert_eq!(grow.cause, Some(Cause::Evicted), "{name}");
        // Equal pressure, but the flat pod neither causes it nor tops the kubelet's ranking.
        assert!(flat_alarms.is_empty(), "{name}: {flat:?}");
        assert!(
            grow.crash_risk > flat.crash_risk,
            "{name}: growing {grow:?} vs flat {flat:?}"
        );
    }
}

/// Two pods on a 16 GiB node whose available memory falls from 4 GiB at 10 MiB/s from t=60 s
/// (the kubelet's 100 Mi threshold at about 460 s): `grower` (with `qos`) takes 6 of those
/// MiB/s, the other 4 go to something the samples do not show; `flat`, BestEffort, holds
/// 800 MiB. Both without a memory limit, sampled every 5 s up to 440 s. Returns the alarms
/// of each, by id.
fn node_running_short(qos: Qos) -> (Vec<f64>, Vec<f64>) {
    node_running_short_with(qos, Qos::Besteffort, None, None)
}

/// A sample of container `id` at `t` whose working set, `ws_mib` MiB, is all anonymous memory,
/// never restarted.
fn anon_sample(t: f64, id: &str, ws_mib: f64) -> Sample {
    let w = (ws_mib * MIB as f64) as u64;
    Sample {
        ts: t,
        id: id.into(),
        memory_working_set_bytes: Some(w),
        memory_usage_bytes: Some(w),
        memory_anon_bytes: Some(w),
        memory_file_bytes: Some(0),
        restarts_total: Some(0),
        ..Default::default()
    }
}

/// Feed `s` to `p`, noting when it alarms under `grower` (container `a/grower/c`) or `flat`
/// (any other).
fn observe_pair(p: &mut Predictor, s: &Sample, grower: &mut Vec<f64>, flat: &mut Vec<f64>) {
    if p.observe(s).1.contains(&Transition::Alarmed) {
        if s.id == "a/grower/c" { grower } else { flat }.push(s.ts);
    }
}

/// [`node_running_short`] with the flat pod's class, the memory requests the kubelet gave
/// (grower's, flat one's; MiB) and its eviction threshold (MiB) in the samples.
fn node_running_short_with(
    qos: Qos,
    flat_qos: Qos,
    requests: Option<(u64, u64)>,
    threshold: Option<u64>,
) -> (Vec<f64>, Vec<f64>) {
    node_running_short_reserved(qos, flat_qos, requests, threshold, None)
}

/// [`node_running_short_with`] on a node that keeps `reserved` (MiB, and whether the samples
/// give the pods' own headroom) from the pods: MemAvailable shows that much more than the
/// pods have left, which is what runs out.
fn node_running_short_reserved(
    qos: Qos,
    flat_qos: Qos,
    requests: Option<(u64, u64)>,
    threshold: Option<u64>,
    reserved: Option<(u64, bool)>,
) -> (Vec<f64>, Vec<f64>) {
    let m = Model::embedded();
    let mut p = Predictor::new(m, None);
    let (mut grower, mut flat) = (Vec::new(), Vec::new());
    for i in 0..=88 {
        let t = i as f64 * 5.0;
        let fall = (t - 60.0).max(0.0);
        let avail = ((4096.0 - 10.0 * fall + wobble(i) * 3.0) * MIB as f64) as u64;
        for (id, ws, q, request) in [
            ("a/grower/c", 600.0 + 6.0 * fall, qos, requests.map(|r| r.0)),
            ("b/flat/c", 800.0, flat_qos, requests.map(|r| r.1)),
        ] {
            let s = Sample {
                node_memory_available_bytes: Some(avail + reserved.map_or(0, |r| r.0 * MIB)),
                node_allocatable_available_bytes: reserved.filter(|r| r.1).map(|_| avail),
                node_memory_total_bytes: Some(16 << 30),
                qos: Some(q),
                memory_request_bytes: request.map(|r| r * MIB),
                node_eviction_threshold_bytes: threshold.map(|t| t * MIB),
                ..anon_sample(t, id, ws + wobble(i + 3) * 2.0)
            };
            observe_pair(&mut p, &s, &mut grower, &mut flat);
        }
    }
    (grower, flat)
}

#[test]
fn node_pressure_alarms_the_pod_growing_into_it_not_a_bystander() {
    // The kubelet evicts the pod whose usage exceeds its request the most: the grower.
    let (grower, flat) = node_running_short(Qos::Besteffort);
    assert!(
        grower.len() == 1 && (460.0 - 600.0..=460.0 - 30.0).contains(&grower[0]),
        "grower {grower:?}"
    );
    assert!(flat.is_empty(), "bystander {flat:?}");
    // A Guaranteed grower is not evicted: a pod that can be goes in its place.
    let (grower, flat) = node_running_short(Qos::Guaranteed);
    assert!(grower.is_empty(), "Guaranteed grower {grower:?}");
    assert!(
        flat.len() == 1 && (460.0 - 600.0..=460.0 - 30.0).contains(&flat[0]),
        "the BestEffort pod beside it {flat:?}"
    );
}

#[test]
fn where_memory_is_reserved_for_the_system_the_pods_run_out_first() {
    // kube- and system-reserved keep 2 GiB from the pods: the kubelet's
    // allocatableMemory.available (the pods' limit less their working set) reaches its
    // threshold at ≈ 460 s while MemAvailable still shows the 2 GiB the system does not use.
    let reserved = |pods_figure| {
        node_running_short_reserved(
            Qos::Besteffort,
            Qos::Besteffort,
            None,
            None,
            Some((2048, pods_figure)),
        )
    };
    let (grower, flat) = reserved(true);
    assert!(
        grower.len() == 1 && (460.0 - 600.0..=460.0 - 30.0).contains(&grower[0]),
        "grower {grower:?}"
    );
    assert!(flat.is_empty(), "bystander {flat:?}");
    // From MemAvailable alone the node has 2 GiB (≈ 200 s at its pace) more: the warning
    // comes later, or not before the eviction at all.
    let (late, _) = reserved(false);
    assert!(
        late.first().is_none_or(|t| *t > grower[0]),
        "{late:?} vs {grower:?}"
    );
}

#[test]
fn with_the_requests_the_kubelet_gave_the_pod_furthest_above_its_request_goes_first() {
    // The grower stays under its 8 GiB request; the flat Burstable pod holds 800 MiB against a
    // 256 MiB request. The kubelet evicts pods above their requests first: the flat one, for
    // all that it holds still.
    let (grower, flat) =
        node_running_short_with(Qos::Burstable, Qos::Burstable, Some((8192, 256)), None);
    assert!(grower.is_empty(), "grower under its request {grower:?}");
    assert!(
        flat.len() == 1 && (460.0 - 600.0..=460.0 - 30.0).contains(&flat[0]),
        "the pod above its request {flat:?}"
    );
    // Requests the grower outgrows put it first again (both above, its excess the larger).
    let (grower, flat) =
        node_running_short_with(Qos::Burstable, Qos::Burstable, Some((256, 512)), None);
    assert!(
        grower.len() == 1 && (460.0 - 600.0..=460.0 - 30.0).contains(&grower[0]),
        "grower {grower:?}"
    );
    assert!(flat.is_empty(), "flat pod further down {flat:?}");
}

#[test]
fn the_kubelets_own_eviction_threshold_sets_when_the_node_runs_out() {
    // Evicting at 1 GiB available rather than 100 MiB, this node runs out at ≈ 367 s, not
    // ≈ 460 s: the warning comes that much sooner, still 30 s to 10 min ahead.
    let (default, _) = node_running_short(Qos::Besteffort);
    let (sooner, flat) =
        node_running_short_with(Qos::Besteffort, Qos::Besteffort, None, Some(1024));
    assert!(
        sooner.len() == 1 && (367.0 - 600.0..=367.0 - 30.0).contains(&sooner[0]),
        "grower {sooner:?}"
    );
    assert!(sooner[0] < default[0], "{sooner:?} vs {default:?}");
    assert!(flat.is_empty(), "bystander {flat:?}");
}

/// A node whose available memory, `avail(t)` MiB, runs out while none of its pods grows (a
/// leak outside them): two flat BestEffort pods (400 and 250 MiB), a flat Burstable one with a
/// limit, sampled every 10 s for `until` s. The times each alarmed, by container.
fn node_draining(
    avail: impl Fn(f64) -> f64,
    until: f64,
) -> std::collections::HashMap<&'static str, Vec<f64>> {
    let mut p = Predictor::new(Model::embedded(), None);
    let mut alarms = std::collections::HashMap::new();
    for i in 0..=(until / 10.0) as u64 {
        let t = i as f64 * 10.0;
        let node = ((avail(t) + wobble(i) * 2.0) * MIB as f64) as u64;
        for (id, ws, qos, limit) in [
            ("a/notebook/main", 400.0, Qos::Besteffort, None),
            ("b/toolbox/shell", 250.0, Qos::Besteffort, None),
            ("c/api-7d9f/app", 300.0, Qos::Burstable, Some(512 * MIB)),
        ] {
            let s = Sample {
                node_memory_available_bytes: Some(node),
                qos: Some(qos),
                memory_limit_bytes: limit,
                ..anon_sample(t, id, ws + wobble(i + 5))
            };
            if p.observe(&s).1.contains(&Transition::Alarmed) {
                alarms.entry(id).or_insert_with(Vec::new).push(t);
            }
        }
    }
    alarms
}

#[test]
fn a_node_draining_with_no_pod_growing_evicts_its_largest_besteffort_pod() {
    // 2 MiB/s from 3 GiB: at the assumed threshold (750 MiB) at 1161 s. The kubelet evicts
    // BestEffort pods first (their whole usage exceeds their zero request), the largest first.
    let at = (3072.0 - 750.0) / 2.0;
    let alarms = node_draining(|t| 3072.0 - 2.0 * t, at);
    let first = alarms.get("a/notebook/main").cloned().unwrap_or_default();
    assert!(
        first.len() == 1 && (at - 600.0..=at - 30.0).contains(&first[0]),
        "largest BestEffort pod {first:?}"
    );
    assert_eq!(alarms.len(), 1, "only the one evicted first: {alarms:?}");
    // A dip that has just begun, as fast and as deep (a burst of allocations, freed after):
    // no pod is warned of.
    let dip = node_draining(|t| (3072.0 - 25.0 * (t - 900.0).max(0.0)).max(600.0), at);
    assert!(dip.is_empty(), "{dip:?}");
}

/// A container whose CFS throttling climbs from none at 100 s to every period at 400 s (its
/// demand outgrows the quota), sampled every `dt` s; it is starved (≥ 90 % throttled) from
/// 370 s and its liveness probe kills it 30 s later. Returns the samples up to the kill.
fn starving(dt: f64) -> (Vec<Sample>, f64) {
    starving_ramp(dt, 100.0, 300.0)
}

/// Throttling that climbs from none at `from` s to every period `len` s later; starved
/// (≥ 90 % throttled) at `from + 0.9 len` and killed by its liveness probe 30 s after that.
/// CPU use follows the throttled share to the whole quota.
fn starving_ramp(dt: f64, from: f64, len: f64) -> (Vec<Sample>, f64) {
    throttle_ramp(dt, from, len, |share| 0.5 + 0.5 * share)
}

/// The throttling of [`starving_ramp`] with CPU use `used(share)` cores (the quota is 1 core),
/// and the time its probe would kill a starving container.
fn throttle_ramp(dt: f64, from: f64, len: f64, used: impl Fn(f64) -> f64) -> (Vec<Sample>, f64) {
    let kill = from + 0.9 * len + 30.0;
    let share = |t: f64| ((t - from) / len).clamp(0.0, 1.0);
    (throttle_series(dt, kill, share, used), kill)
}

/// Samples every `dt` s until `until` of a container with a 1-core quota throttled in
/// `share(t)` of its periods at time t and using `used(share)` cores.
fn throttle_series(
    dt: f64,
    until: f64,
    share: impl Fn(f64) -> f64,
    used: impl Fn(f64) -> f64,
) -> Vec<Sample> {
    let (mut periods, mut throttled, mut cpu) = (0.0, 0.0, 0.0);
    let mut out = Vec::new();
    let mut t = 0.0;
    while t < until {
        let mut s = sample(t, "default/busy/app");
        s.memory_working_set_bytes = Some(100 * MIB);
        s.cpu_limit_cores = Some(1.0);
        s.cpu_usage_seconds_total = Some(cpu);
        s.cpu_periods_total = Some(periods as u64);
        s.cpu_throttled_periods_total = Some(throttled as u64);
        out.push(s);
        // Integrate the share over the next interval, one second at a time.
        for k in 0..dt as u64 {
            let x = share(t + k as f64);
            periods += 10.0;
            throttled += 10.0 * x;
            cpu += used(x);
        }
        t += dt;
    }
    out
}

#[test]
fn a_batch_run_whose_throttling_steps_to_a_level_and_holds_it_is_not_starvation() {
    // A cron job idles at a tenth of its quota, then starts at 400 s: throttled in every
    // period (or in 60 % of them) from that second on, its whole quota used, for 10 minutes.
    // It does its work; nothing kills it.
    for dt in [10.0, 30.0, 60.0] {
        for level in [1.0, 0.6] {
            let share = |t: f64| if t >= 400.0 { level } else { 0.0 };
            let samples = throttle_series(dt, 1000.0, share, |x| if x > 0.0 { 1.0 } else { 0.1 });
            let mut p = Predictor::new(Model::embedded(), None);
            let tr = run(&mut p, &samples);
            assert!(
                times(&tr, &Transition::Alarmed).is_empty(),
                "dt={dt} level={level}: {tr:?}"
            );
        }
    }
}

#[test]
fn throttling_that_climbs_while_a_fifth_of_the_quota_stays_unused_is_not_starvation() {
    // A bursty service: throttled in more and more periods (none to all in 300 s, as the
    // starving ramp), while it uses 60–75 % of its quota. Its probes get the CPU left over.
    for dt in [10.0, 30.0, 60.0] {
        let (samples, _) = throttle_ramp(dt, 100.0, 300.0, |share| 0.6 + 0.15 * share);
        let mut p = Predictor::new(Model::embedded(), None);
        let tr = run(&mut p, &samples);
        assert!(
            times(&tr, &Transition::Alarmed).is_empty(),
            "dt={dt}: {tr:?}"
        );
    }
    // The same throttling with the quota used up is starvation, at every interval.
    for dt in [10.0, 30.0, 60.0] {
        let (samples, kill) = starving_ramp(dt, 100.0, 300.0);
        first_alarm_30_s_ahead(&samples, kill, &format!("dt={dt}"));
    }
}

#[test]
fn a_cronjob_run_throttled_up_to_its_whole_quota_is_not_starvation() {
    // The starving ramp, in the pod of a CronJob's run: a batch task has no liveness probe to
    // fail, so it runs longer and nothing kills it. In a Deployment's pod the same samples
    // are starvation (the test above).
    for dt in [10.0, 30.0, 60.0] {
        let (mut samples, _) = starving_ramp(dt, 100.0, 300.0);
        for s in &mut samples {
            s.id = "batch/report-28765440-t27bv/report".into();
        }
        let mut p = Predictor::new(Model::embedded(), None);
        let tr = run(&mut p, &samples);
        assert!(
            times(&tr, &Transition::Alarmed).is_empty(),
            "dt={dt}: {tr:?}"
        );
    }
}

#[test]
fn a_fast_ramp_to_starvation_scraped_every_60_s_is_warned_30_s_ahead() {
    // From none to every period in 150 s, the kill 165 s after the ramp starts: a 60 s
    // scrape sees two intervals of it (shares 0.2 and 0.6) before the kill. The line through
    // the last four intervals (0, 0, 0.2, 0.6) is at 0.5 and climbs 0.2 a minute: 2 minutes
    // to starvation by it, when the newest interval is at 0.6 and climbing 0.4 a minute.
    let (samples, kill) = starving_ramp(60.0, 120.0, 150.0);
    first_alarm_30_s_ahead(&samples, kill, "dt=60");
}

/// When the compiled-in model first alarms on `samples`, asserting it is ≥ 30 s before `kill`.
fn first_alarm_30_s_ahead(samples: &[Sample], kill: f64, what: &str) -> f64 {
    let mut p = Predictor::new(Model::embedded(), None);
    let tr = run(&mut p, samples);
    let at = times(&tr, &Transition::Alarmed);
    assert!(!at.is_empty(), "{what}: no alarm: {tr:?}");
    assert!(
        kill - at[0] >= 30.0,
        "{what}: alarm at {} for a kill at {kill}",
        at[0]
    );
    at[0]
}

#[test]
fn a_sparse_scrape_warns_of_starvation_no_later_than_a_dense_one() {
    let first_alarm = |dt: f64| {
        let (samples, kill) = starving(dt);
        first_alarm_30_s_ahead(&samples, kill, &format!("dt={dt}"))
    };
    let dense = first_alarm(10.0);
    // The next chance to warn is a whole interval away, so a sparse scrape must not wait for
    // the time to crash a dense one waits for.
    for dt in [30.0, 60.0] {
        let sparse = first_alarm(dt);
        assert!(
            sparse <= dense,
            "dt={dt}: alarm at {sparse}, at 10 s it came at {dense}"
        );
    }
}

/// A container seen from its start (a JVM compiling its way up): throttled in every period
/// for its first 80 s, then in one period out of ten; 2 s samples for 10 min. `restarted`:
/// the samples begin with the end of an earlier instance, which exited 30 s before this one
/// started.
fn start_up_burst(restarted: bool) -> Vec<Sample> {
    let (mut periods, mut throttled, mut cpu) = (0u64, 0u64, 0.0);
    let mut out = Vec::new();
    let t0 = if restarted { 60.0 } else { 0.0 };
    if restarted {
        for i in 0..15 {
            let mut s = sample(i as f64 * 2.0, "default/jvm/app");
            s.memory_working_set_bytes = Some(100 * MIB);
            s.cpu_limit_cores = Some(0.5);
            s.cpu_usage_seconds_total = Some(500.0 + i as f64);
            s.cpu_periods_total = Some(90_000 + 20 * i);
            s.cpu_throttled_periods_total = Some(2_000 + 2 * i);
            out.push(s);
        }
    }
    for i in 0..300 {
        let t = t0 + i as f64 * 2.0;
        let mut s = sample(t, "default/jvm/app");
        s.memory_working_set_bytes = Some((60.0 + 40.0 * (i as f64 / 40.0).min(1.0)) as u64 * MIB);
        s.cpu_limit_cores = Some(0.5);
        s.cpu_usage_seconds_total = Some(cpu);
        s.cpu_periods_total = Some(periods);
        s.cpu_throttled_periods_total = Some(throttled);
        s.cpu_pressure_some_avg10 = Some(if t - t0 < 80.0 { 60.0 } else { 5.0 });
        s.restarts_total = Some(u64::from(restarted));
        out.push(s);
        let share = if t - t0 < 80.0 { 20 } else { 2 };
        periods += 20;
        throttled += share;
        cpu += 1.0;
    }
    out
}

#[test]
fn a_start_up_burst_throttled_in_every_period_is_not_starvation() {
    for (name, model) in models() {
        let mut p = Predictor::new(model, None);
        let tr = run(&mut p, &start_up_burst(false));
        assert!(
            times(&tr, &Transition::Alarmed).is_empty(),
            "{name}: a fresh container's start-up alarmed: {tr:?}"
        );
    }
}

#[test]
fn the_same_burst_right_after_a_restart_is_judged_at_once() {
    // The load that may have killed the last instance is still there: no start-up grace.
    let mut p = Predictor::new(Model::embedded(), None);
    let tr = run(&mut p, &start_up_burst(true));
    let at = times(&tr, &Transition::Alarmed);
    assert!(
        at.first().is_some_and(|t| *t < 60.0 + 80.0),
        "no alarm during the burst after a restart: {tr:?}"
    );
}

#[test]
fn most_periods_throttled_at_a_held_level_copes_unless_it_restarted_climbs_or_is_warned() {
    // The features of a service throttled in 89 % of its periods, at 98 % of its quota, for
    // five minutes at a held level and 20 minutes into its run, that went on running (a
    // blind generator's healthy throttled service): the trees call it starvation.
    let names = features::names();
    let mut x = [0f32; N];
    for (n, v) in [
        ("ws_limit_ratio", 0.40),
        ("anon_limit_ratio", 0.35),
        ("file_share", 0.21),
        ("fit_r2_short", 0.14),
        ("cpu_psi_some", 43.4),
        ("cpu_throttle_ratio_1m", 0.89),
        ("cpu_throttle_ratio_5m", 0.85),
        ("cpu_use_limit_ratio_1m", 0.98),
        ("node_available_ratio", -1.0),
        ("pids_ratio", -1.0),
        ("ttl_mem_s", 3600.0),
        ("ttl_mem_short_s", 3600.0),
        ("ttl_node_s", 3600.0),
        ("ttl_pids_s", 3600.0),
    ] {
        x[names.iter().position(|m| m == n).unwrap()] = v;
    }
    let held = Features {
        cpu_use: Some((0.98, 0.0)),
        sample_gap: 15.0,
        instance_span: 1200.0,
        ..bare(x)
    };
    let m = Model::embedded();
    let risk = |f: &Features| assess(&m, f, || false).risk;
    assert!(risk(&held) < m.threshold(), "{}", risk(&held));
    // Still climbing: the last minute is well above the five.
    let mut climbing = held.clone();
    climbing.x[features::idx::CPU_THROTTLE_1M] = 0.95;
    // Restarted within ten minutes: the load may have killed it already.
    let mut restarted = held.clone();
    restarted.x[features::idx::RESTARTS_10M] = 1.0;
    // Warned on the way up: the climb that opened the alarm is not taken back by its level.
    let warned = Features {
        alarmed: true,
        ..held.clone()
    };
    for (what, f) in [
        ("climbing", climbing),
        ("restarted", restarted),
        ("warned", warned),
    ] {
        let a = assess(&m, &f, || false);
        assert!(
            a.risk >= m.threshold() && a.cause == Some(Cause::CpuStarvation),
            "{what}: {a:?}"
        );
    }
}

#[test]
fn a_cpu_bound_worker_pinned_at_its_quota_is_not_starving() {
    // Throttled in 98 % of its periods for 20 minutes and still running (an encoder, a build):
    // 5 s samples of an instance first seen when it was already busy.
    let samples: Vec<Sample> = (0..240u64)
        .map(|i| {
            let mut s = sample(i as f64 * 5.0, "batch/encoder/worker");
            s.memory_working_set_bytes = Some(120 * MIB);
            s.cpu_limit_cores = Some(1.0);
            s.cpu_usage_seconds_total = Some(3_000.0 + 5.0 * i as f64);
            s.cpu_periods_total = Some(500_000 + 50 * i);
            s.cpu_throttled_periods_total = Some(400_000 + 49 * i);
            s.cpu_pressure_some_avg10 = Some(55.0 + 5.0 * wobble(i));
            s
        })
        .collect();
    for (name, model) in models() {
        let mut p = Predictor::new(model, None);
        let tr = run(&mut p, &samples);
        assert!(
            times(&tr, &Transition::Alarmed).is_empty(),
            "{name}: a pinned worker alarmed: {tr:?}"
        );
    }
}

/// A pre-fork server near 55 % of its 256 MiB limit (growing 2 MiB a minute), sampled every
/// 10 s for 20 minutes, one of whose workers is OOM-killed at 600 s: that sample reads the
/// limit full, memory.events counts the kill and the limit's reclaim, and memory stalls of
/// 27 % decay after it.
fn worker_kill() -> Vec<Sample> {
    (0..120)
        .map(|i| {
            let t = i as f64 * 10.0;
            let mut s = sample(t, "web/gunicorn-7d9f8c6b5d-x2k4q/app");
            let ws = if t == 600.0 {
                256 * MIB
            } else {
                ((140.0 + 0.03 * t) * MIB as f64) as u64
            };
            s.memory_working_set_bytes = Some(ws);
            s.memory_anon_bytes = Some(ws - 8 * MIB);
            s.memory_file_bytes = Some(8 * MIB);
            s.cpu_usage_seconds_total = Some(1000.0 + t * 0.2);
            s.oom_kills_total = Some(u64::from(t >= 600.0));
            s.oom_events_total = s.oom_kills_total;
            s.memory_max_events_total = Some(if t >= 600.0 { 62 } else { 0 });
            s.memory_high_events_total = Some(0);
            let psi = if t >= 600.0 {
                27.0 * (-(t - 600.0) / 25.0).exp()
            } else {
                0.0
            };
            s.memory_pressure_some_avg10 = Some(psi);
            s.memory_pressure_full_avg10 = Some(psi / 3.0);
            s
        })
        .collect()
}

#[test]
fn an_oom_kill_the_container_survives_opens_no_alarm() {
    let mut p = Predictor::new(Model::embedded(), None);
    let tr = run(&mut p, &worker_kill());
    assert_eq!(
        times(&tr, &Transition::Alarmed),
        Vec::<f64>::new(),
        "{tr:?}"
    );
    // The kill itself is still reported.
    assert!(
        tr.iter().any(|(t, x)| *t == 600.0
            && matches!(
                x,
                Transition::Crashed {
                    cause: Cause::OomKill,
                    ..
                }
            )),
        "{tr:?}"
    );
}

/// The pre-fork server above, then a second worker that balloons 0.25 MiB/s from 1,800 s
/// until it fills the limit and is OOM-killed too: a climb that would be warned in a
/// container not known to survive its kills.
fn second_worker_kill() -> Vec<Sample> {
    let mut out = worker_kill();
    let (mut bloat, mut done) = (0.0, false);
    for i in 120..240 {
        let t = i as f64 * 10.0;
        let mut s = out[0].clone();
        s.ts = t;
        if t >= 1800.0 && !done {
            bloat += 2.5;
        }
        let ws = (140.0 + 0.03 * t + bloat) * MIB as f64;
        let killed = ws >= (256 * MIB) as f64;
        let ws = if killed { 256 * MIB } else { ws as u64 };
        if killed {
            (bloat, done) = (0.0, true);
        }
        s.memory_working_set_bytes = Some(ws);
        s.memory_anon_bytes = Some(ws - 8 * MIB);
        s.cpu_usage_seconds_total = Some(1000.0 + t * 0.2);
        let kills = out.last().and_then(|l| l.oom_kills_total).unwrap_or(0) + u64::from(killed);
        s.oom_kills_total = Some(kills);
        s.oom_events_total = Some(kills);
        s.memory_max_events_total = Some(62 * kills);
        s.memory_pressure_some_avg10 = Some(if killed { 27.0 } else { 0.0 });
        s.memory_pressure_full_avg10 = Some(if killed { 9.0 } else { 0.0 });
        out.push(s);
    }
    out
}

#[test]
fn a_container_that_survived_an_oom_kill_is_not_warned_of_the_next() {
    for (name, m) in models() {
        let mut p = Predictor::new(m, None);
        let samples = second_worker_kill();
        let tr = run(&mut p, &samples);
        assert_eq!(
            times(&tr, &Transition::Alarmed),
            Vec::<f64>::new(),
            "{name}: {tr:?}"
        );
        // Both kills are still reported.
        let kills = tr
            .iter()
            .filter(|(_, x)| {
                matches!(
                    x,
                    Transition::Crashed {
                        cause: Cause::OomKill,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(kills, 2, "{name}: {tr:?}");
    }
}

#[test]
fn a_pod_limit_counts_the_tasks_of_the_pods_other_containers() {
    for (name, m) in models() {
        // The thread leak above beside a sidecar holding 100 tasks, in samples without
        // pids.max: the pod's podPidsLimit of 1024 counts both, so fork() fails when the
        // leaking container reaches 924, at t = 648 s (not 848 s).
        let leak = quiet("a/b/threads", 0.0, 640.0, 0, |t| 600 + (t * 0.5) as u64);
        let sidecar = quiet("a/b/proxy", 0.0, 640.0, 0, |_| 100);
        let mut both: Vec<Sample> = leak.into_iter().chain(sidecar).collect();
        both.sort_by(|a, b| a.ts.total_cmp(&b.ts));
        let mut p = Predictor::new(m.clone(), None);
        let mut alarms = Vec::new();
        for s in &both {
            let (_, tr) = p.observe(s);
            if tr.contains(&Transition::Alarmed) {
                alarms.push((s.id.as_str(), s.ts));
            }
        }
        assert!(
            alarms.len() == 1
                && alarms[0].0 == "a/b/threads"
                && (648.0 - 600.0..=648.0 - 30.0).contains(&alarms[0].1),
            "{name}: {alarms:?}"
        );
        // The sidecar alone on the node: its own tasks are flat, no alarm either way.
        let mut p = Predictor::new(m.clone(), None);
        let sidecar = quiet("a/b/proxy", 0.0, 640.0, 0, |_| 100);
        assert!(run(&mut p, &sidecar).is_empty(), "{name}");
    }
}

#[test]
fn a_thread_leak_without_pids_max_is_warned_before_the_next_power_of_two() {
    for (name, m) in models() {
        // Tasks creeping 0.5 a second from 600 in samples without pids.max (an export that
        // lacks it): fork() fails at the pod's podPidsLimit of 1024 at t = 848 s.
        let leak = |unset: bool| {
            let mut v = quiet("a/b/threads", 0.0, 840.0, 0, |t| 600 + (t * 0.5) as u64);
            v.iter_mut().for_each(|s| s.pids_limit_unset = unset);
            v
        };
        let mut p = Predictor::new(m.clone(), None);
        let tr = run(&mut p, &leak(false));
        let alarms = times(&tr, &Transition::Alarmed);
        assert!(
            alarms.len() == 1 && (848.0 - 600.0..=848.0 - 30.0).contains(&alarms[0]),
            "{name}: {tr:?}"
        );
        let (pred, _) = p.observe(&quiet("a/b/threads", 840.0, 850.0, 0, |_| 1020)[0]);
        assert_eq!(pred.cause, Some(Cause::PidExhaustion), "{name}: {pred:?}");
        // The collector read `max` in the container's and the pod's pids.max: no limit.
        let mut p = Predictor::new(m.clone(), None);
        let tr = run(&mut p, &leak(true));
        assert!(
            times(&tr, &Transition::Alarmed).is_empty(),
            "{name}: {tr:?}"
        );
    }
}

/// A container first seen with `restarts` restarts behind it, the last for `reason`, and no
/// `finishedAt` (a trace, an export): sampled every 10 s for a minute, using 0.1 CPU s/s
/// since an instance start `age` s before the first sample. Returns its alarms.
fn first_seen_after_restarts(restarts: u64, reason: &str, age: f64) -> Vec<f64> {
    let mut p = Predictor::new(Model::embedded(), None);
    let samples: Vec<Sample> = (0..7)
        .map(|i| {
            let t = i as f64 * 10.0;
            Sample {
                cpu_usage_seconds_total: Some(0.1 * (age + t)),
                memory_working_set_bytes: Some(60 * MIB),
                restarts_total: Some(restarts),
                last_termination_reason: Some(reason.into()),
                ..sample(t, "shop/cart-7d4b9-x2k4q/cart")
            }
        })
        .collect();
    times(&run(&mut p, &samples), &Transition::Alarmed)
}

#[test]
fn restarts_behind_an_instance_its_cpu_counter_dates_young_are_a_loop_in_progress() {
    // A restarted container is a new cgroup: its CPU counter says how long the instance has
    // run. 80 s after its fifth restart it is in CrashLoopBackOff, and says so as soon as
    // the counter has a pace (20 s of it).
    let young = first_seen_after_restarts(5, "Error", 80.0);
    assert!(young.len() == 1 && young[0] <= 20.0, "{young:?}");
    // The same restarts behind an instance that has run for a day are last week's news.
    assert!(first_seen_after_restarts(5, "Error", 86_400.0).is_empty());
    // Two restarts are not yet a loop to call from the counter alone.
    assert!(first_seen_after_restarts(2, "Error", 80.0).is_empty());
    // After OOM kills only an instance under a minute old counts (a limit below the app's
    // start-up need kills within seconds; a leak restarts from zero and dies much later).
    assert!(first_seen_after_restarts(5, "OOMKilled", 80.0).is_empty());
    let oom = first_seen_after_restarts(5, "OOMKilled", 20.0);
    assert!(oom.len() == 1 && oom[0] <= 20.0, "{oom:?}");
}

/// A node whose samples give neither its memory nor the requests (a foreign trace): memory
/// stalls (PSI) climb in every container from 200 s, a flat container without a limit sits at
/// 300 MiB in pod `b`, and, where `grower` says so, a container without a limit grows from 600
/// MiB by 6 MiB/s in pod `a`. Returns when each was alarmed (grower's, flat one's).
fn unknown_node_stalling(grower: bool) -> (Vec<f64>, Vec<f64>) {
    let mut p = Predictor::new(Model::embedded(), None);
    let (mut grew, mut flat) = (Vec::new(), Vec::new());
    for i in 0..=88 {
        let t = i as f64 * 5.0;
        let some = ((t - 200.0) / 2.0).clamp(0.0, 60.0);
        let pods = [
            ("a/grower/c", 600.0 + 6.0 * (t - 60.0).max(0.0)),
            ("b/flat/c", 300.0),
        ];
        for (id, ws) in pods
            .into_iter()
            .filter(|(id, _)| grower || *id == "b/flat/c")
        {
            let s = Sample {
                memory_pressure_some_avg10: Some(some),
                memory_pressure_full_avg10: Some(some / 2.0),
                qos: Some(Qos::Burstable),
                ..anon_sample(t, id, ws + wobble(i + 3) * 2.0)
            };
            observe_pair(&mut p, &s, &mut grew, &mut flat);
        }
    }
    (grew, flat)
}

#[test]
fn on_a_node_of_unknown_memory_the_stalls_are_the_growers_not_a_bystanders() {
    // Alone on the node, the flat container's stalls are all that tells of the shortage.
    let (_, alone) = unknown_node_stalling(false);
    assert_eq!(alone.len(), 1, "flat container alone {alone:?}");
    // Beside a pod without a limit that grows into it, the kubelet ranks the grower first (its
    // usage above its request grows) and the kernel's OOM killer picks its larger tasks: the
    // flat pod is not the next to go, the grower is.
    let (grew, flat) = unknown_node_stalling(true);
    assert!(flat.is_empty(), "bystander {flat:?}");
    assert_eq!(grew.len(), 1, "grower {grew:?}");
}

/// `anon` (a sample of a pod without a limit) with `cache` MiB of page cache beside it and of
/// class `qos`: as on cgroup v1, no PSI.
fn with_cache(anon: Sample, cache: f64, qos: Qos) -> Sample {
    let file = (cache * MIB as f64) as u64;
    Sample {
        memory_usage_bytes: anon.memory_usage_bytes.map(|u| u + file),
        memory_file_bytes: Some(file),
        qos: Some(qos),
        ..anon
    }
}

/// A node whose samples give neither its memory nor the requests, running short from 200 s:
/// memory stalls climb in every container (`psi`), or, on cgroup v1 without PSI, global
/// reclaim takes their page cache (200 MiB each, down to a tenth), while two pods without a
/// limit grow, `a` (Burstable) from 2000 MiB by 6 MiB/s and `b` (`second_qos`) from 600 MiB by
/// 3 MiB/s. Returns when each was alarmed (the larger's, the second's).
fn two_growers_stalling(second_qos: Qos, psi: bool) -> (Vec<f64>, Vec<f64>) {
    let mut p = Predictor::new(Model::embedded(), None);
    let (mut larger, mut second) = (Vec::new(), Vec::new());
    for i in 0..=88 {
        let t = i as f64 * 5.0;
        let some = ((t - 200.0) / 2.0).clamp(0.0, 60.0);
        let cache = 200.0 - 1.5 * (t - 200.0).clamp(0.0, 120.0);
        let pods = [
            ("a/grower/c", 2000.0 + 6.0 * t, Qos::Burstable),
            ("b/second/c", 600.0 + 3.0 * t, second_qos),
        ];
        for (id, ws, qos) in pods {
            let anon = anon_sample(t, id, ws + wobble(i + 5) * 2.0);
            let s = if psi {
                Sample {
                    memory_pressure_some_avg10: Some(some),
                    memory_pressure_full_avg10: Some(some / 2.0),
                    qos: Some(qos),
                    ..anon
                }
            } else {
                with_cache(anon, cache, qos)
            };
            observe_pair(&mut p, &s, &mut larger, &mut second);
        }
    }
    (larger, second)
}

#[test]
fn on_a_node_of_unknown_memory_the_larger_grower_goes_first() {
    // The kubelet evicts the pod whose usage exceeds its request the most: with the requests
    // unknown, of two Burstable pods growing into the shortage, the larger one goes first, and
    // its end relieves the node.
    // So on a cgroup v1 node, where the page cache global reclaim takes says so.
    for psi in [true, false] {
        let (larger, second) = two_growers_stalling(Qos::Burstable, psi);
        assert_eq!(larger.len(), 1, "larger {larger:?}, psi {psi}");
        assert!(second.is_empty(), "second {second:?}, psi {psi}");
    }
    // A BestEffort pod's whole usage exceeds its (zero) request: smaller or not, it may head
    // the order, so it is warned of too.
    let (larger, second) = two_growers_stalling(Qos::Besteffort, true);
    assert_eq!(larger.len(), 1, "larger {larger:?}");
    assert_eq!(second.len(), 1, "BestEffort second {second:?}");
}

/// A cgroup v1 node (no PSI) whose samples give neither its memory nor the requests: global
/// reclaim takes the page cache of two pods without a limit from 200 s (200 MiB each, down to
/// a tenth by 320 s) while they grow, `a` from 2000 MiB by 6 MiB/s and `b` from 600 MiB by
/// 3 MiB/s. The kubelet evicts `a` at 330 s; the cache refills by 0.3 MiB/s, and if
/// `short_again` reclaim takes it once more from 560 s. Returns when each was alarmed.
fn larger_grower_evicted(short_again: bool) -> (Vec<f64>, Vec<f64>) {
    let mut p = Predictor::new(Model::embedded(), None);
    let (mut larger, mut second) = (Vec::new(), Vec::new());
    for i in 0..=160 {
        let t = i as f64 * 5.0;
        // Refilling slowly after the eviction, as the apps read their files again.
        let mut cache = 200.0 - 1.5 * (t - 200.0).clamp(0.0, 120.0) + 0.3 * (t - 330.0).max(0.0);
        if short_again {
            cache = (cache - 1.5 * (t - 560.0).clamp(0.0, 60.0)).max(5.0);
        }
        let pods = [
            ("a/grower/c", 2000.0 + 6.0 * t),
            ("b/second/c", 600.0 + 3.0 * t),
        ];
        for (id, ws) in pods
            .into_iter()
            .filter(|(id, _)| t < 330.0 || *id == "b/second/c")
        {
            let anon = anon_sample(t, id, ws + wobble(i + 5) * 2.0);
            let s = with_cache(anon, cache, Qos::Burstable);
            observe_pair(&mut p, &s, &mut larger, &mut second);
        }
    }
    (larger, second)
}

#[test]
fn a_cache_lost_before_the_larger_grower_was_evicted_is_no_shortage_after() {
    // The larger grower goes first, and its eviction relieves the node: the page cache the
    // smaller one lost before then went in the shortage that ended, whether or not the larger
    // one is still remembered.
    let (larger, second) = larger_grower_evicted(false);
    assert_eq!(larger.len(), 1, "larger {larger:?}");
    assert!(second.is_empty(), "second, relieved {second:?}");
    // A loss after the eviction is a shortage of its own, and the smaller one heads the order.
    let (_, second) = larger_grower_evicted(true);
    assert_eq!(second.len(), 1, "second, short again {second:?}");
    assert!(second[0] > 560.0, "second, short again {second:?}");
}
