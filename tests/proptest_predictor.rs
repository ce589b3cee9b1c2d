//! Property test over the prediction path (issue 8: bad input never crashes the agent): any run
//! of samples a trace, a `POST /predict` body or a garbled cgroup file may carry — counters at
//! `u64::MAX`, 2^63 or 2^53 + 1, floats at `f64::MAX` or the smallest subnormal, time standing
//! still, stepping back or leaping ahead, fields missing at random — goes through
//! `Predictor::observe`, `predict_once` and `replay` without a panic (`cargo test` builds with
//! overflow checks, so an unchecked add that a release build would wrap fails here), and every
//! risk stays a number in 0..1, every time to OOM a number ≥ 0.
use crashwatch::model::Model;
use crashwatch::predict::{predict_once, Predictor};
use crashwatch::replay::replay;
use crashwatch::sample::{Qos, Sample};
use proptest::prelude::*;

/// A count or size: mostly ordinary, often one of the values that overflow careless sums.
fn count() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        1 => Just(None),
        3 => (0u64..4096).prop_map(Some),
        3 => (0u64..1 << 40).prop_map(Some),
        3 => prop::sample::select(vec![
            u64::MAX,
            u64::MAX - 1,
            1 << 63,
            1 << 62,
            (1 << 53) + 1,
            u64::from(u32::MAX),
        ])
        .prop_map(Some),
        1 => any::<u64>().prop_map(Some),
    ]
}

/// A rate, a share or a counter in seconds, at its ordinary sizes and at the edges of `f64`.
fn real() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        1 => Just(None),
        4 => (0.0f64..100.0).prop_map(Some),
        2 => (0.0f64..1e12).prop_map(Some),
        2 => prop::sample::select(vec![0.0, 5e-324, 1e18, 1.7e308, f64::MAX]).prop_map(Some),
    ]
}

/// Seconds from one sample to the next: ordinary scrapes, none, a hair, a leap, a step back.
fn step() -> impl Strategy<Value = f64> {
    prop::sample::select(vec![1.0, 1.0, 5.0, 30.0, 0.0, 1e-9, 600.0, 1e7, -1.0])
}

/// Containers of two pods, one critical.
const IDS: &[&str] = &[
    "ns/a-1/app",
    "ns/a-1/side",
    "ns/b-2/app",
    "kube-system/c-3/c",
];

/// One sample's values, before its time and id are given.
#[derive(Debug, Clone)]
struct Draw {
    container: usize,
    step: f64,
    counts: Vec<Option<u64>>,
    reals: Vec<Option<f64>>,
    qos: Option<Qos>,
    reason: Option<&'static str>,
    unset: bool,
    priority: Option<i32>,
}

fn draw() -> impl Strategy<Value = Draw> {
    (
        0..IDS.len(),
        step(),
        prop::collection::vec(count(), 26),
        prop::collection::vec(real(), 8),
        prop::option::of(prop::sample::select(vec![
            Qos::Guaranteed,
            Qos::Burstable,
            Qos::Besteffort,
        ])),
        prop::option::of(prop::sample::select(vec![
            "OOMKilled",
            "Error",
            "Evicted",
            "Completed",
        ])),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![
            0,
            i32::MIN,
            i32::MAX,
            2_000_000_000,
        ])),
    )
        .prop_map(
            |(container, step, counts, reals, qos, reason, unset, priority)| Draw {
                container,
                step,
                counts,
                reals,
                qos,
                reason,
                unset,
                priority,
            },
        )
}

/// Every field of the schema is set, so a field added later must be drawn here too.
fn sample(ts: f64, d: &Draw) -> Sample {
    let c = &d.counts;
    let r = &d.reals;
    Sample {
        ts,
        id: IDS[d.container].to_string(),
        memory_usage_bytes: c[0],
        memory_working_set_bytes: c[1],
        memory_limit_bytes: c[2],
        memory_anon_bytes: c[3],
        memory_file_bytes: c[4],
        memory_shmem_bytes: c[5],
        memory_slab_reclaimable_bytes: c[6],
        memory_swap_bytes: c[7],
        memory_swap_limit_bytes: c[8],
        oom_events_total: c[9],
        oom_kills_total: c[10],
        pod_oom_kills_total: c[11],
        memory_high_events_total: c[12],
        memory_max_events_total: c[13],
        cpu_throttled_periods_total: c[14],
        cpu_periods_total: c[15],
        pids_current: c[16],
        pids_limit: c[17],
        pod_pids_current: c[18],
        restarts_total: c[19],
        memory_request_bytes: c[20],
        node_memory_available_bytes: c[21],
        node_memory_total_bytes: c[22],
        node_allocatable_available_bytes: c[23],
        node_eviction_threshold_bytes: c[24],
        memory_pressure_some_avg10: r[0],
        memory_pressure_full_avg10: r[1],
        cpu_usage_seconds_total: r[2],
        cpu_limit_cores: r[3],
        cpu_throttled_seconds_total: r[4],
        cpu_pressure_some_avg10: r[5],
        cpu_usage_cores: r[6],
        last_termination_ts: r[7].map(|t| ts - t),
        pids_limit_unset: d.unset,
        last_termination_reason: d.reason.map(str::to_string),
        qos: d.qos,
        pod_priority: d.priority,
    }
}

/// A risk and a time to OOM as the API promises them.
fn check(what: &str, risk: f64, ttl: Option<f64>) -> Result<(), TestCaseError> {
    prop_assert!((0.0..=1.0).contains(&risk), "{what}: risk {risk}");
    if let Some(t) = ttl {
        prop_assert!(t.is_finite() && t >= 0.0, "{what}: time to OOM {t}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_run_of_samples_is_predicted_without_a_panic_and_within_range(
        draws in prop::collection::vec(draw(), 1..160),
        start in prop::sample::select(vec![0.0, 1.7e9, 1e15]),
    ) {
        let model = Model::embedded();
        let mut ts = start;
        let samples: Vec<Sample> = draws
            .iter()
            .map(|d| {
                ts += d.step;
                sample(ts, d)
            })
            .collect();
        let mut p = Predictor::new(model.clone(), None);
        for s in &samples {
            let (pred, _) = p.observe(s);
            check(&format!("observe {s:?}"), pred.crash_risk, pred.time_to_oom_seconds)?;
            let once = predict_once(&model, s);
            check(&format!("predict_once {s:?}"), once.crash_risk, once.time_to_oom_seconds)?;
        }
        for r in replay(model, None, &samples) {
            check(&format!("replay {}", r.id), r.max_risk, None)?;
        }
    }
}
