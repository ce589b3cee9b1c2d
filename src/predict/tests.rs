//! Tests of the predictor as a whole: each feeds samples to a [`Predictor`] (or asks
//! [`assess`] of a predictor's model) and checks the alarms, risks and state it gives. The
//! fixtures here build predictors whose one tree calls a cause at one split, so that a test
//! knows what the trees say.
use super::risk::class_index;
use super::*;
use crate::features::Features;
use crate::sample::Qos;

#[test]
fn the_swap_an_oom_killed_instance_used_is_the_next_ones_swap_limit() {
    let mut p = Predictor::new(Model::embedded(), None);
    let id = "a/b-1/c";
    let at = |t: f64, swap: u64, restarts: u64| Sample {
        ts: t,
        id: id.into(),
        memory_limit_bytes: Some(256 << 20),
        memory_working_set_bytes: Some(250 << 20),
        memory_swap_bytes: Some(swap),
        cpu_usage_seconds_total: Some(t - 300.0 * restarts as f64),
        restarts_total: Some(restarts),
        last_termination_reason: (restarts > 0).then(|| "OOMKilled".to_string()),
        ..Default::default()
    };
    // The first instance swaps up to 100 MiB at its limit, then is OOM-killed.
    for i in 0..=30 {
        p.observe(&at(f64::from(i) * 10.0, (i as u64 * 100 / 30) << 20, 0));
    }
    assert_eq!(p.states[id].swap_ceiling, None);
    p.observe(&at(310.0, 0, 1));
    assert_eq!(p.states[id].swap_ceiling, Some(100 << 20));
    // A kill after only a few MiB of swap says nothing of the limit.
    let mut q = Predictor::new(Model::embedded(), None);
    for i in 0..=30 {
        q.observe(&at(f64::from(i) * 10.0, 2 << 20, 0));
    }
    q.observe(&at(310.0, 0, 1));
    assert_eq!(q.states[id].swap_ceiling, None);
}

/// Alarm times of a container whose samples state no pids.max and whose task count climbs
/// from 30 by `per_s` tasks a second until `died_at`, twice: the first instance dies there
/// (the kubelet reports `Error`), and the second climbs the same way.
fn pids_leak_twice(died_at: u64, per_s: f64) -> (Vec<f64>, Option<u64>, f64) {
    let mut p = Predictor::new(Model::embedded(), None);
    let id = "a/b-1/c";
    let life = (died_at - 30) as f64 / per_s;
    let at = |t: f64, start: f64, restarts: u64| Sample {
        ts: t,
        id: id.into(),
        memory_working_set_bytes: Some(100 << 20),
        pids_current: Some(30 + ((t - start) * per_s) as u64),
        cpu_usage_seconds_total: Some(t - start),
        restarts_total: Some(restarts),
        last_termination_reason: (restarts > 0).then(|| "Error".to_string()),
        ..Default::default()
    };
    let mut alarms = Vec::new();
    for (instance, start) in [0.0, life + 20.0].into_iter().enumerate() {
        let mut t = start;
        while t <= start + life {
            let (_, tr) = p.observe(&at(t, start, instance as u64));
            if tr.contains(&Transition::Alarmed) {
                alarms.push(t);
            }
            t += 10.0;
        }
    }
    let ceiling = p.states[id].hist.pids_ceiling();
    (alarms, ceiling, 2.0 * life + 20.0)
}

#[test]
fn the_count_an_instance_died_at_times_the_next_ones_leak() {
    // Dead at 256 tasks of an unstated limit (the assumed one is 512): the next instance
    // is warned before its count gets there, as one with pids.max stated would be.
    let (alarms, ceiling, second_death) = pids_leak_twice(256, 0.16);
    assert_eq!(ceiling, Some(256));
    assert!(
        alarms.len() == 1 && (second_death - 600.0..=second_death - 30.0).contains(&alarms[0]),
        "{alarms:?} vs {second_death}"
    );
    // Dead at 267: threads piling up until something else killed it. No limit to time to.
    let (alarms, ceiling, _) = pids_leak_twice(267, 0.16);
    assert_eq!(ceiling, None);
    assert!(alarms.is_empty(), "{alarms:?}");
}

/// A predictor whose one tree calls `cause` wherever feature `name` is above `split`, and
/// nothing else anywhere.
fn one_split_predictor(name: &str, split: f32, cause: Cause) -> Predictor {
    split_predictor(name, split, None, Some(cause))
}

/// A predictor whose one tree calls `below` where feature `name` is at most `split` and
/// `above` where it is more (`None`: no crash).
fn split_predictor(
    name: &str,
    split: f32,
    below: Option<Cause>,
    above: Option<Cause>,
) -> Predictor {
    use crate::model::TreeFile;
    let feature = features::docs()
        .iter()
        .position(|d| d.name == name)
        .unwrap();
    let leaf = |class: usize| std::array::from_fn(|c| if c == class { 96.0 } else { 0.0 });
    let mut file = Model::physics_only().file().clone();
    file.threshold = 0.75;
    file.prior = vec![0.5, 0.0, 0.0, 0.0, 0.5, 0.0];
    file.trees = vec![TreeFile::stump(
        feature,
        split,
        leaf(below.map_or(0, class_index)),
        leaf(above.map_or(0, class_index)),
    )];
    Predictor::new(Arc::new(Model::from_file(file).unwrap()), None)
}

/// A predictor whose one tree calls CPU starvation wherever cpu.pressure is above 50 %,
/// and nothing else anywhere.
fn psi_starvation_predictor() -> Predictor {
    one_split_predictor("cpu_psi_some", 50.0, Cause::CpuStarvation)
}

/// Feed five quiet minutes at `gap` s (a service at its 1-core quota, throttled in 30 % of
/// its periods for 150 s and in half since: no level held or come back to, no step from
/// unthrottled, no clean climb; cpu.pressure 10 %),
/// then one sample per `psi` value; returns each of those samples' (risk, alarm open).
fn starvation_run(gap: f64, psi: &[f64]) -> Vec<(f64, bool)> {
    let mut p = psi_starvation_predictor();
    let quiet = (300.0 / gap) as usize;
    let mut out = Vec::new();
    for (i, v) in std::iter::repeat_n(10.0, quiet)
        .chain(psi.iter().copied())
        .enumerate()
    {
        let t = i as f64 * gap;
        let periods = (t * 10.0) as u64;
        // 10 periods a second.
        let throttled = (10.0 * (0.3 * t.min(150.0) + 0.5 * (t - 150.0).max(0.0))) as u64;
        let s = Sample {
            ts: t,
            id: "ns/p/c".into(),
            cpu_limit_cores: Some(1.0),
            cpu_usage_seconds_total: Some(t * 0.99),
            cpu_periods_total: Some(periods),
            cpu_throttled_periods_total: Some(throttled.min(periods)),
            cpu_pressure_some_avg10: Some(v),
            restarts_total: Some(0),
            ..Default::default()
        };
        let (pred, _) = p.observe(&s);
        if i >= quiet {
            out.push((pred.crash_risk, pred.crash_predicted));
        }
    }
    out
}

#[test]
fn a_lone_sample_of_starvation_waits_for_the_next_one() {
    // At a 10 s scrape one sample of it is above the threshold but opens nothing ...
    let burst = starvation_run(10.0, &[80.0, 10.0, 10.0]);
    assert!(burst[0].0 >= 0.75, "{burst:?}");
    assert!(burst.iter().all(|(_, open)| !open), "{burst:?}");
    // ... two in a row open the alarm at the second.
    let held = starvation_run(10.0, &[80.0, 80.0]);
    assert_eq!(
        held.iter().map(|(_, open)| *open).collect::<Vec<_>>(),
        [false, true]
    );
    // At a 30 s scrape one sample spans half the minute: it opens at once.
    let sparse = starvation_run(30.0, &[80.0]);
    assert!(sparse[0].1, "{sparse:?}");
    // Nor does a verdict wait where the risk stands without it: the same sample 20 s from
    // its memory limit is at risk whatever the trees say.
    let p = psi_starvation_predictor();
    let mut f = features::extract_once(&Sample {
        cpu_limit_cores: Some(1.0),
        cpu_pressure_some_avg10: Some(80.0),
        ..Default::default()
    });
    let a = assess(p.model(), &f, || false);
    assert_eq!(a.cause, Some(Cause::CpuStarvation));
    assert!(a.risk >= 0.75 && a.besides_starvation < 0.1, "{a:?}");
    f.ttl_mem = Some(20.0);
    let a = assess(p.model(), &f, || false);
    assert_eq!(a.cause, Some(Cause::CpuStarvation));
    assert!(a.besides_starvation >= 0.75, "{a:?}");
}

#[test]
fn the_trees_oom_verdict_waits_while_the_limit_is_more_than_the_horizon_away() {
    // Trees that call an OOM kill for any working set above 90 % of the limit.
    let p = one_split_predictor("ws_limit_ratio", 0.9, Cause::OomKill);
    let mut f = features::extract_once(&Sample {
        memory_working_set_bytes: Some(950),
        memory_limit_bytes: Some(1000),
        ..Default::default()
    });
    let at = |f: &Features| assess(p.model(), f, || false);
    // No trusted growth: the trees speak.
    assert_eq!(f.ttl_mem, None);
    let a = at(&f);
    assert!(a.risk >= 0.75, "{a:?}");
    assert_eq!(a.cause, Some(Cause::OomKill));
    // Growth trusted to reach the limit in 5 minutes: still.
    f.ttl_mem = Some(300.0);
    assert!(at(&f).risk >= 0.75, "{:?}", at(&f));
    // In 7: the time says how far off it is, and it is too far for an alarm yet (a leak
    // that slows near its limit is not warned more than ten minutes ahead).
    f.ttl_mem = Some(420.0);
    let a = at(&f);
    assert!(a.risk < 0.1, "{a:?}");
    // In 15: beyond the horizon an alarm speaks for, and page cache will give first.
    f.ttl_mem = Some(900.0);
    let a = at(&f);
    assert!(a.risk < 0.1, "{a:?}");
    // At a 2-minute scrape each time to crash is judged as it will be up to a minute
    // later, when the next sample may not yet have come: 6 minutes away is 5 then.
    f.sample_gap = 120.0;
    f.ttl_mem = Some(360.0);
    assert!(at(&f).risk >= 0.75, "{:?}", at(&f));
}

#[test]
fn the_trees_read_an_oom_kill_at_the_time_the_cache_floor_gives() {
    // Trees that call an OOM kill wherever the limit is less than 5 minutes away.
    let p = split_predictor("ttl_mem_s", 300.0, Some(Cause::OomKill), None);
    let mut f = features::extract_once(&Sample {
        memory_working_set_bytes: Some(950),
        memory_limit_bytes: Some(1000),
        ..Default::default()
    });
    let at = |f: &Features| assess(p.model(), f, || false);
    f.ttl_mem = Some(200.0);
    f.x[features::idx::TTL_MEM] = 200.0;
    let a = at(&f);
    assert!(a.risk >= 0.75 && a.time_to_oom == Some(200.0), "{a:?}");
    // The working set holds active page cache, which the kernel takes before it kills:
    // the kill is 8 minutes away, and the trees are asked about that.
    f.cache_floor = Some(480.0);
    let a = at(&f);
    assert!(a.risk < 0.75 && a.time_to_oom == Some(480.0), "{a:?}");
    // A floor short of the trend's time changes nothing.
    f.cache_floor = Some(100.0);
    let a = at(&f);
    assert!(a.risk >= 0.75 && a.time_to_oom == Some(200.0), "{a:?}");
    // Swap the container may still fill comes first too, and the later floor stands.
    f.swap_floor = Some(600.0);
    let a = at(&f);
    assert!(a.risk < 0.75 && a.time_to_oom == Some(600.0), "{a:?}");
}

#[test]
fn memory_stalls_of_a_container_growing_well_below_its_limit_mean_eviction() {
    const MIB: u64 = 1 << 20;
    // 15 min at a 10 s scrape of a container with a 4 GiB limit on a node the samples say
    // nothing of; from the 10th minute on, memory PSI climbs by 5 points a minute. The
    // first alarm and its cause.
    let run_as =
        |qos: Qos, grow: f64, usage_of_limit: f64, high_events: Option<u64>, max_events: u64| {
            let mut p = Predictor::new(Model::embedded(), None);
            (0..90).find_map(|i| {
                let t = i as f64 * 10.0;
                let ws = (usage_of_limit * 4096.0 - 100.0 + grow * t / 60.0) as u64 * MIB;
                let psi = ((t - 600.0).max(0.0) / 12.0).min(60.0);
                let (pred, _) = p.observe(&Sample {
                    ts: 1e9 + t,
                    id: "ns/p/c".into(),
                    memory_usage_bytes: Some(ws + 100 * MIB),
                    memory_working_set_bytes: Some(ws),
                    memory_limit_bytes: Some(4096 * MIB),
                    memory_anon_bytes: Some(ws),
                    memory_file_bytes: Some(100 * MIB),
                    memory_high_events_total: high_events.map(|h| h * i),
                    memory_max_events_total: Some(max_events * i),
                    memory_pressure_some_avg10: Some(psi),
                    memory_pressure_full_avg10: Some(psi / 10.0),
                    qos: Some(qos),
                    ..Default::default()
                });
                pred.crash_predicted.then_some((t, pred.cause))
            })
        };
    let run = |grow, usage_of_limit, high_events, max_events| {
        run_as(
            Qos::Burstable,
            grow,
            usage_of_limit,
            high_events,
            max_events,
        )
    };
    // 40 MiB a minute from half the limit: 50 minutes from it, and the node gives first.
    let (at, cause) = run(40.0, 0.5, Some(0), 0).expect("no alarm on a growing pod");
    assert!(at > 600.0, "alarm at {at} s, before any stall");
    assert_eq!(cause, Some(Cause::Evicted));
    // A flat one beside it stalls as much: a Guaranteed pod, evicted last.
    assert_eq!(run(0.0, 0.5, Some(0), 0), None);
    // memory.high throttling it, or uncounted (it would stall it short of the limit too).
    assert_eq!(run(40.0, 0.5, Some(3), 0), None);
    assert_eq!(run(40.0, 0.5, None, 0), None);
    // Its own limit reclaiming (memory.events max climbing): the stalls are its own.
    assert_eq!(run(40.0, 0.5, Some(0), 5), None);
    // A Guaranteed pod growing into the shortage is evicted after every other.
    assert_eq!(run_as(Qos::Guaranteed, 40.0, 0.5, Some(0), 0), None);
}

#[test]
fn a_growing_container_without_a_limit_losing_its_page_cache_is_evicted() {
    const MIB: u64 = 1 << 20;
    // 20 min at a 15 s scrape of a container without a memory limit on a node the samples
    // say nothing of: anon as `anon(t)`, page cache as `cache(t)`. The first alarm.
    let run = |anon: &dyn Fn(f64) -> u64, cache: &dyn Fn(f64) -> u64| {
        let mut p = Predictor::new(Model::embedded(), None);
        (0..80).find_map(|i| {
            let t = i as f64 * 15.0;
            let (a, f) = (anon(t), cache(t));
            let (pred, _) = p.observe(&Sample {
                ts: 1e9 + t,
                id: "ns/p/c".into(),
                memory_usage_bytes: Some(a + f),
                memory_working_set_bytes: Some(a + f / 2),
                memory_anon_bytes: Some(a),
                memory_file_bytes: Some(f),
                ..Default::default()
            });
            pred.crash_predicted.then_some((t, pred.cause))
        })
    };
    let leak = |t: f64| 1024 * MIB + (t * 1.5) as u64 * MIB;
    let flat = |_: f64| 1024 * MIB;
    // Global reclaim takes the cache from the 10th minute on: 600 MiB down to 60.
    let squeezed = |t: f64| {
        let left = (1.0 - (t - 600.0).max(0.0) / 400.0).max(0.1);
        (600.0 * left) as u64 * MIB
    };
    let kept = |_: f64| 600 * MIB;
    let (at, cause) = run(&leak, &squeezed).expect("no alarm on a squeezed, growing pod");
    assert!(at > 600.0, "alarm at {at} s, before any squeeze");
    assert_eq!(cause, Some(Cause::Evicted));
    // Growing with its cache intact: nothing says the node is short.
    assert_eq!(run(&leak, &kept), None);
    // The cache falls but the container does not grow: an app deleting its files.
    assert_eq!(run(&flat, &squeezed), None);
}

#[test]
fn a_container_that_never_restarted_is_in_no_restart_loop() {
    // Trees that call a restart loop for any working set above half the limit: what they
    // learn from a loop's first instance, which looks like any healthy container.
    let p = one_split_predictor("ws_limit_ratio", 0.5, Cause::RestartLoop);
    let mut f = features::extract_once(&Sample {
        memory_working_set_bytes: Some(600),
        memory_limit_bytes: Some(1000),
        restarts_total: Some(0),
        ..Default::default()
    });
    let at = |f: &Features| assess(p.model(), f, || false);
    let a = at(&f);
    assert!(a.risk < 0.05 && a.cause.is_none(), "{a:?}");
    // Once it restarted (an exit the kubelet calls `Error`), the trees' loop stands.
    f.restarts_recent = 1.0;
    f.x[features::idx::RESTARTS_10M] = 1.0;
    f.x[features::idx::LAST_REASON] = 2.0;
    let a = at(&f);
    assert!(a.risk >= 0.75, "{a:?}");
    assert_eq!(a.cause, Some(Cause::RestartLoop));
    // And so it does for a restart older than 10 minutes: the kubelet keeps its reason.
    f.restarts_recent = 0.0;
    f.x[features::idx::RESTARTS_10M] = 0.0;
    assert!(at(&f).risk >= 0.75, "{:?}", at(&f));
}
