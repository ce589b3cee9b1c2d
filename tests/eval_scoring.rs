//! eval's scoring rules on tiny hand-made traces with a scripted detector (every count
//! exact), the predict_linear baseline's arithmetic, and an end-to-end `eval` run.
use crashwatch::eval::{
    self, linear_forecast, Alarm, Detector, EpisodeVerdict, Outcome, PredictLinear, HORIZON_SECONDS,
};
use crashwatch::sample::{Cause, Sample};
use crashwatch::sim::{self, Kind};
use crashwatch::trace::{Label, TraceLine};
use std::collections::{HashMap, VecDeque};

/// Alarms for given containers during given [from, to) intervals; nothing else.
struct Script(HashMap<String, Vec<(f64, f64)>>, Cause);

impl Script {
    fn new(spec: &[(&str, f64, f64)]) -> Self {
        let mut m: HashMap<String, Vec<(f64, f64)>> = HashMap::new();
        for &(id, a, b) in spec {
            m.entry(id.to_string()).or_default().push((a, b));
        }
        Script(m, Cause::OomKill)
    }

    fn naming(mut self, cause: Cause) -> Self {
        self.1 = cause;
        self
    }
}

impl Detector for Script {
    fn observe(&mut self, s: &Sample) -> Alarm {
        let on = self
            .0
            .get(&s.id)
            .is_some_and(|v| v.iter().any(|&(a, b)| s.ts >= a && s.ts < b));
        Alarm {
            alarmed: on,
            cause: on.then_some(self.1),
            risk: None,
        }
    }
}

fn sample(id: &str, ts: f64) -> TraceLine {
    TraceLine::Sample(Box::new(Sample {
        ts,
        id: id.into(),
        memory_usage_bytes: Some(1),
        ..Default::default()
    }))
}

fn crash(id: &str, ts: f64, cause: Cause) -> TraceLine {
    TraceLine::Label(Label {
        ts,
        id: id.into(),
        event: "crash".into(),
        cause,
    })
}

/// Samples every 10 s from `from` to `to` (inclusive) for `id`.
fn every10(id: &str, from: f64, to: f64) -> Vec<TraceLine> {
    let mut v = Vec::new();
    let mut t = from;
    while t <= to {
        v.push(sample(id, t));
        t += 10.0;
    }
    v
}

fn sorted(mut v: Vec<TraceLine>) -> Vec<TraceLine> {
    v.sort_by(|a, b| sim::engine::line_ts(a).total_cmp(&sim::engine::line_ts(b)));
    v
}

#[test]
fn hit_late_miss_false_and_censored_are_counted_exactly() {
    let mut lines = Vec::new();
    // a: alarm opens at 400, crash at 500 → hit, lead 100.
    lines.extend(every10("a", 0.0, 490.0));
    lines.push(crash("a", 500.0, Cause::OomKill));
    // b: alarm opens at 290, crash at 300.5 → late (10.5 s).
    lines.extend(every10("b", 0.0, 300.0));
    lines.push(crash("b", 300.5, Cause::OomKill));
    // c: crash at 200 with no alarm → miss.
    lines.extend(every10("c", 0.0, 190.0));
    lines.push(crash("c", 200.0, Cause::PidExhaustion));
    // d: alarm 100..150, never crashes, seen until 1000 → false alarm.
    lines.extend(every10("d", 0.0, 1000.0));
    // e: alarm at 900, seen until 950 → censored (the trace may hold crashes).
    lines.extend(every10("e", 0.0, 950.0));
    let lines = sorted(lines);
    let mut det = Script::new(&[
        ("a", 400.0, 1e9),
        ("b", 290.0, 1e9),
        ("d", 100.0, 150.0),
        ("e", 900.0, 1e9),
    ]);
    let r = eval::score_trace(&lines, &mut det, true);
    let t = &r.tally;
    assert_eq!((t.crashes, t.hits, t.late, t.misses), (3, 1, 1, 1));
    assert_eq!(
        (t.episodes, t.true_alarms, t.false_alarms, t.censored),
        (4, 2, 1, 1)
    );
    assert_eq!(t.leads, vec![100.0]);
    assert_eq!(t.cause_ok, 1);
    assert_eq!(t.recall(), Some(1.0 / 3.0));
    assert_eq!(t.precision(), Some(2.0 / 3.0));
    let f1 = t.f1().unwrap();
    assert!((f1 - 2.0 * (2.0 / 3.0) * (1.0 / 3.0) / (1.0 / 3.0 + 2.0 / 3.0)).abs() < 1e-12);
    let by_id: HashMap<&str, (Outcome, Option<f64>)> = r
        .crashes
        .iter()
        .map(|v| (v.crash.id.as_str(), (v.outcome, v.lead)))
        .collect();
    assert_eq!(by_id["a"], (Outcome::Hit, Some(100.0)));
    assert_eq!(by_id["b"], (Outcome::Late, Some(10.5)));
    assert_eq!(by_id["c"], (Outcome::Miss, None));
    // The episode of d closed at its first calm sample.
    let d = r.episodes.iter().position(|e| e.id == "d").unwrap();
    assert_eq!(
        (r.episodes[d].start, r.episodes[d].end),
        (100.0, Some(150.0))
    );
    assert_eq!(r.episode_verdicts[d], EpisodeVerdict::False);
    // Without the may-crash flag (a kind built never to crash) nothing is censored.
    let r2 = eval::score_trace(&lines, &mut Script::new(&[("e", 900.0, 1e9)]), false);
    assert_eq!((r2.tally.false_alarms, r2.tally.censored), (1, 0));
}

/// Container `x` sampled every 10 s from 100 s to `end`, crashing (restart_loop) at 400 and
/// 700 s with a 20 s restart gap after each crash.
fn two_restarts(end: f64) -> Vec<TraceLine> {
    let mut lines = every10("x", 100.0, 390.0);
    lines.push(crash("x", 400.0, Cause::RestartLoop));
    lines.extend(every10("x", 420.0, 690.0));
    lines.push(crash("x", 700.0, Cause::RestartLoop));
    lines.extend(every10("x", 720.0, end));
    lines
}

#[test]
fn a_crash_ends_the_episode_and_a_standing_alarm_reopens_after_the_restart() {
    // Alarmed the whole time; crashes at 400 and 700 (restart gap: no samples 400..420).
    let lines = two_restarts(800.0);
    let mut det = Script::new(&[("x", 0.0, 1e9)]);
    let r = eval::score_trace(&sorted(lines), &mut det, true);
    let spans: Vec<(f64, Option<f64>)> = r.episodes.iter().map(|e| (e.start, e.end)).collect();
    assert_eq!(
        spans,
        vec![(100.0, Some(400.0)), (420.0, Some(700.0)), (720.0, None)]
    );
    let leads: Vec<Option<f64>> = r.crashes.iter().map(|c| c.lead).collect();
    assert_eq!(leads, vec![Some(300.0), Some(280.0)]);
    assert_eq!(
        (r.tally.hits, r.tally.true_alarms, r.tally.censored),
        (2, 2, 1)
    );
    // The cause named was oom_kill, not restart_loop.
    assert_eq!(r.tally.cause_ok, 0);
}

#[test]
fn a_restart_loop_alarm_carries_through_the_back_off() {
    // The same alarm as above, naming restart_loop: it stands through each back-off, so the
    // episodes open at the crashes and the second crash counts from the first.
    let lines = two_restarts(1400.0);
    let mut det = Script::new(&[("x", 0.0, 1000.0)]).naming(Cause::RestartLoop);
    let r = eval::score_trace(&sorted(lines), &mut det, true);
    let spans: Vec<(f64, Option<f64>, bool)> = r
        .episodes
        .iter()
        .map(|e| (e.start, e.end, e.carried))
        .collect();
    assert_eq!(
        spans,
        vec![
            (100.0, Some(400.0), false),
            (400.0, Some(700.0), true),
            (700.0, Some(1000.0), true)
        ]
    );
    let leads: Vec<Option<f64>> = r.crashes.iter().map(|c| c.lead).collect();
    assert_eq!(leads, vec![Some(300.0), Some(300.0)]);
    // The last carried episode is not followed by a crash: a false alarm, not credited with
    // the crash it opened at.
    assert_eq!(r.episode_verdicts[2], EpisodeVerdict::False);
    assert_eq!(
        (
            r.tally.hits,
            r.tally.true_alarms,
            r.tally.false_alarms,
            r.tally.cause_ok
        ),
        (2, 2, 1, 2)
    );

    // Not alarmed any more at the first sample after the restart: the carried episode ends
    // there, but it still warned of a crash that follows within 10 minutes.
    let mut lines = every10("y", 100.0, 390.0);
    lines.push(crash("y", 400.0, Cause::RestartLoop));
    lines.extend(every10("y", 440.0, 490.0));
    lines.push(crash("y", 500.0, Cause::RestartLoop));
    let mut det = Script::new(&[("y", 300.0, 400.0)]).naming(Cause::RestartLoop);
    let r = eval::score_trace(&sorted(lines), &mut det, true);
    let spans: Vec<(f64, Option<f64>)> = r.episodes.iter().map(|e| (e.start, e.end)).collect();
    assert_eq!(spans, vec![(300.0, Some(400.0)), (400.0, Some(440.0))]);
    let o: Vec<Outcome> = r.crashes.iter().map(|c| c.outcome).collect();
    assert_eq!(o, vec![Outcome::Hit, Outcome::Hit]);

    // An OOM-kill alarm does not carry: a leak starts again from zero after the restart.
    let mut lines = every10("z", 100.0, 390.0);
    lines.push(crash("z", 400.0, Cause::OomKill));
    lines.extend(every10("z", 440.0, 490.0));
    lines.push(crash("z", 500.0, Cause::OomKill));
    let mut det = Script::new(&[("z", 300.0, 400.0)]);
    let r = eval::score_trace(&sorted(lines), &mut det, true);
    let o: Vec<Outcome> = r.crashes.iter().map(|c| c.outcome).collect();
    assert_eq!(o, vec![Outcome::Hit, Outcome::Miss]);
}

#[test]
fn an_alarm_older_than_the_horizon_is_a_miss_and_a_false_alarm() {
    let mut lines = every10("y", 0.0, 990.0);
    lines.push(crash("y", 1000.0, Cause::OomKill));
    let mut det = Script::new(&[("y", 300.0, 1e9)]);
    let r = eval::score_trace(&sorted(lines), &mut det, true);
    const { assert!(1000.0 - 300.0 > HORIZON_SECONDS) };
    assert_eq!(
        (r.tally.hits, r.tally.misses, r.tally.false_alarms),
        (0, 1, 1)
    );
}

#[test]
fn an_alarm_after_the_previous_crash_only_counts_for_the_next_one() {
    // Alarm opens at 50, crash at 100 (hit, lead 50); no alarm after the restart; crash at 200
    // must be a miss even though the first episode opened < 600 s before it.
    let mut lines = every10("z", 0.0, 90.0);
    lines.push(crash("z", 100.0, Cause::OomKill));
    lines.extend(every10("z", 120.0, 190.0));
    lines.push(crash("z", 200.0, Cause::OomKill));
    let mut det = Script::new(&[("z", 50.0, 100.0)]);
    let r = eval::score_trace(&sorted(lines), &mut det, true);
    let o: Vec<Outcome> = r.crashes.iter().map(|c| c.outcome).collect();
    assert_eq!(o, vec![Outcome::Hit, Outcome::Miss]);
}

#[test]
fn lead_quantiles_use_nearest_rank() {
    let t = eval::Tally {
        leads: vec![50.0, 10.0, 40.0, 30.0, 20.0],
        ..Default::default()
    };
    assert_eq!(t.lead_quantile(0.5), Some(30.0));
    assert_eq!(t.lead_quantile(0.1), Some(10.0));
    assert_eq!(eval::Tally::default().lead_quantile(0.5), None);
    assert_eq!(eval::Tally::default().recall(), None);
}

#[test]
fn linear_forecast_is_least_squares_extrapolated_from_now() {
    let pts: VecDeque<(f64, f64)> = [(0.0, 0.0), (10.0, 10.0), (20.0, 20.0)]
        .into_iter()
        .collect();
    assert_eq!(linear_forecast(&pts, 20.0, 320.0), Some(320.0));
    // Alternating noise: mean t 15, mean v 10, slope Σdxdy/Σdx² = 20/500 = 0.04, so
    // 300 s past the last point the line stands at 10 + 0.04 × (330 − 15) = 22.6: noise at
    // the end of a window is extrapolated, which is why predict_linear flickers.
    let noisy: VecDeque<(f64, f64)> = [(0.0, 9.0), (10.0, 11.0), (20.0, 9.0), (30.0, 11.0)]
        .into_iter()
        .collect();
    let f = linear_forecast(&noisy, 30.0, 330.0).unwrap();
    assert!((f - 22.6).abs() < 1e-9, "{f}");
    assert_eq!(
        linear_forecast(&[(5.0, 1.0)].into_iter().collect(), 5.0, 305.0),
        None
    );
}

#[test]
fn predict_linear_alarms_when_the_fitted_line_reaches_the_limit_within_300s() {
    // Working set grows 1 MB/s from 100 MB toward a 1000 MB limit, sampled every 10 s:
    // the line reaches the limit 300 s ahead once ws >= 700 MB, i.e. at t = 600.
    let mut b = PredictLinear::new();
    let mut first = None;
    for k in 0..=80 {
        let t = k as f64 * 10.0;
        let s = Sample {
            ts: t,
            id: "n/p/c".into(),
            memory_working_set_bytes: Some(100_000_000 + 1_000_000 * k * 10),
            memory_limit_bytes: Some(1_000_000_000),
            ..Default::default()
        };
        let a = b.observe(&s);
        if a.alarmed && first.is_none() {
            first = Some(t);
            assert_eq!(a.cause, Some(Cause::OomKill));
        }
    }
    assert_eq!(first, Some(600.0));
    // No limit, no alarm, however steep.
    let mut b = PredictLinear::new();
    for k in 0..50u64 {
        let s = Sample {
            ts: k as f64,
            id: "u".into(),
            memory_working_set_bytes: Some(k << 30),
            ..Default::default()
        };
        assert!(!b.observe(&s).alarmed);
    }
}

#[test]
fn baseline_on_generated_traces_gives_plausible_figures() {
    let dir = tempfile::tempdir().unwrap();
    let kinds = [
        Kind::LeakLinear,
        Kind::PageCache,
        Kind::Healthy,
        Kind::ForkGrowth,
    ];
    sim::write_set(dir.path(), 41, &kinds, 4).unwrap();
    let run = eval::evaluate_dir(
        dir.path(),
        crashwatch::model::Model::embedded(),
        Some(&[1, 2]),
    )
    .unwrap();
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    assert_eq!(run.seeds, vec![41]);
    let b = &run.baseline.kinds;
    // A linear leak is what predict_linear was written for.
    let leak = &b["leak_linear"];
    assert!(leak.crashes >= 4);
    assert!(
        leak.recall().unwrap() >= 0.5,
        "baseline leak recall {:?}",
        leak.recall()
    );
    // It only knows memory: fork growth crashes are invisible to it.
    assert_eq!(b["fork_growth"].hits, 0);
    // No limit → no alarm; page cache has its working set well below the limit.
    assert_eq!(b["healthy"].episodes, 0);
    assert_eq!(b["page_cache"].crashes, 0);
    // Both detectors saw the same crashes.
    assert_eq!(
        run.crashwatch.overall().crashes,
        run.baseline.overall().crashes
    );
}

#[test]
fn training_seed_overlap_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    sim::write_set(dir.path(), 9, &[Kind::Healthy], 1).unwrap();
    let run = eval::evaluate_dir(
        dir.path(),
        crashwatch::model::Model::embedded(),
        Some(&[8, 9]),
    )
    .unwrap();
    assert_eq!(run.warnings.len(), 1);
    assert!(
        run.warnings[0].contains("[9]") && run.warnings[0].contains("TRAIN"),
        "{}",
        run.warnings[0]
    );
    let v: serde_json::Value = serde_json::json!({"training": {"seeds": [3, 4]}});
    assert_eq!(eval::model_training_seeds(&v), Some(vec![3, 4]));
    let v = serde_json::json!({"training": {"manifest": {"seeds": [11], "generator_version": 2}}});
    assert_eq!(eval::model_training_seeds(&v), Some(vec![11]));
    assert_eq!(
        eval::model_training_seeds(&serde_json::json!({"training_seeds": [7]})),
        Some(vec![7])
    );
    assert_eq!(
        eval::model_training_seeds(&serde_json::json!({"version": "x"})),
        None
    );
}

#[test]
fn eval_command_prints_json_with_both_detectors() {
    let dir = tempfile::tempdir().unwrap();
    sim::write_set(dir.path(), 77, &[Kind::LeakStepwise, Kind::FlatHigh], 2).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args(["eval", "--format", "json", "--traces"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = sim::Manifest::read(dir.path()).unwrap().unwrap();
    let crashes: usize = m.crashes.values().sum();
    for det in ["crashwatch", "baseline_predict_linear"] {
        assert_eq!(v[det]["overall"]["crashes"], crashes as u64, "{det}");
        assert_eq!(v[det]["overall"]["traces"], 4);
        assert!(v[det]["kinds"]["flat_high"].is_object());
    }
    assert_eq!(v["trace_seeds"], serde_json::json!([77]));
    // One row per trace; its missed list and counts agree with the summary.
    let rows = v["traces"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let mut crashes_in_rows = 0;
    for r in rows {
        let cw = &r["crashwatch"];
        let not_hit = cw["late"].as_u64().unwrap() + cw["misses"].as_u64().unwrap();
        assert_eq!(r["missed"].as_array().unwrap().len() as u64, not_hit);
        assert_eq!(
            r["false_alarms"].as_array().unwrap().len() as u64,
            cw["false_alarms"].as_u64().unwrap()
        );
        crashes_in_rows += cw["crashes"].as_u64().unwrap();
    }
    assert_eq!(crashes_in_rows, crashes as u64);
    let table = std::process::Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args(["eval", "--traces"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("leak_stepwise") && text.contains("baseline: predict_linear"),
        "{text}"
    );
}

#[test]
fn crashes_without_30s_of_visible_life_are_not_warnable() {
    // Restarted at 415, dead again at 425: nothing could warn 30 s ahead of that, not even an
    // alarm carried through the back-off from the crash at 400.
    let mut lines = every10("q", 100.0, 390.0);
    lines.push(crash("q", 400.0, Cause::RestartLoop));
    lines.push(sample("q", 415.0));
    lines.push(crash("q", 425.0, Cause::RestartLoop));
    let r = eval::score_trace(&sorted(lines), &mut Script::new(&[]), true);
    let w: Vec<bool> = r.crashes.iter().map(|c| c.warnable).collect();
    assert_eq!(w, vec![true, false]);
    assert_eq!(
        (r.tally.crashes, r.tally.warnable, r.tally.misses),
        (2, 1, 2)
    );
    assert_eq!(r.tally.recall_warnable(), Some(0.0));
    // A crash of a container never sampled before it is not warnable either.
    let r = eval::score_trace(
        &[crash("ghost", 50.0, Cause::OomKill)],
        &mut Script::new(&[]),
        true,
    );
    assert_eq!((r.tally.crashes, r.tally.warnable), (1, 0));
    assert_eq!(r.tally.recall_warnable(), None);
}

#[test]
fn a_directory_without_traces_is_an_error_not_an_empty_table() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a trace").unwrap();
    let err = eval::evaluate_dir(dir.path(), crashwatch::model::Model::embedded(), None)
        .err()
        .expect("an empty directory must not evaluate");
    let msg = err.to_string();
    assert!(msg.contains("no *.jsonl traces"), "{msg}");
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
}

#[test]
fn a_trace_with_a_broken_line_is_scored_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    sim::write_set(dir.path(), 43, &[Kind::LeakLinear], 1).unwrap();
    let clean = eval::evaluate_dir(dir.path(), crashwatch::model::Model::embedded(), None)
        .unwrap()
        .crashwatch
        .overall();
    // Damage the trace as foreign writers do: a torn line, a runtime's -1 for "unlimited".
    let path = crashwatch::trace::list_dir(dir.path()).unwrap().remove(0);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"ts\": 1.0, \"id\": \"torn/li\n");
    text.push_str(r#"{"ts":2.0,"id":"other/pod/c","memory_usage_bytes":5,"pids_limit":-1}"#);
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    let run = eval::evaluate_dir(dir.path(), crashwatch::model::Model::embedded(), None).unwrap();
    let damaged = run.crashwatch.overall();
    // Every crash of the trace is still scored, as it was before the damage.
    assert!(clean.crashes > 0);
    assert_eq!(
        (damaged.crashes, damaged.hits, damaged.traces),
        (clean.crashes, clean.hits, clean.traces)
    );
    let w = run.warnings.join("\n");
    assert!(w.contains("skipped 1 unparsable line"), "{w}");
    assert!(w.contains(r#"field "pids_limit""#), "{w}");
}

/// Risk 0.9 from `from` on for container `a`, 0.05 everywhere else; never alarms.
struct Risky {
    from: f64,
}

impl Detector for Risky {
    fn observe(&mut self, s: &Sample) -> Alarm {
        let high = s.id == "a" && s.ts >= self.from;
        Alarm {
            alarmed: false,
            cause: None,
            risk: Some(if high { 0.9 } else { 0.05 }),
        }
    }
}

#[test]
fn calibration_counts_each_risk_against_a_crash_within_300_s_and_leaves_out_the_unknown() {
    // a: samples 0..=1000 s every 10 s, crash at 1000; risk 0.9 from 800 s.
    // b: samples 0..=1000 s, never crashes: its samples after 700 s have no 300 s to show.
    let mut lines = every10("a", 0.0, 1000.0);
    lines.push(crash("a", 1005.0, Cause::OomKill));
    lines.extend(every10("b", 0.0, 1000.0));
    let r = eval::score_trace(&sorted(lines), &mut Risky { from: 800.0 }, true);
    let c = &r.tally.calibration;
    // a at 0.9: 800..=1000 (21 samples), all within 300 s of the crash at 1005.
    assert_eq!((c.bins[9].samples, c.bins[9].crashed), (21, 21));
    // At 0.05: a's 0..=790 (80, of which 710..=790 are within 300 s: 9) and b's 0..=700 (71).
    assert_eq!((c.bins[0].samples, c.bins[0].crashed), (151, 9));
    let ece = c.ece().unwrap();
    let want = (21.0 * 0.1 + 151.0 * (0.05f64 - 9.0 / 151.0).abs()) / 172.0;
    assert!((ece - want).abs() < 1e-9, "{ece} vs {want}");
    // The baseline gives no risk: nothing is counted for it.
    let mut lines = every10("a", 0.0, 1000.0);
    lines.push(crash("a", 1005.0, Cause::OomKill));
    let r = eval::score_trace(&sorted(lines), &mut eval::PredictLinear::default(), true);
    assert_eq!(r.tally.calibration.samples(), 0);
}
