//! Property tests of eval's scoring: on any sequence of samples, alarms and crashes the
//! counts add up, hits have at least 30 s of lead, and a detector that never alarms scores
//! no hit and no alarm.
use crashwatch::eval::{self, Alarm, Detector, Outcome, MIN_LEAD_SECONDS};
use crashwatch::sample::{Cause, Sample};
use crashwatch::trace::{Label, TraceLine};
use proptest::prelude::*;

/// Alarms exactly on the samples whose (id, index) bit is set.
struct Bits(Vec<bool>, usize);

impl Detector for Bits {
    fn observe(&mut self, _s: &Sample) -> Alarm {
        let on = self.0.get(self.1).copied().unwrap_or(false);
        self.1 += 1;
        Alarm {
            alarmed: on,
            cause: on.then_some(Cause::OomKill),
            risk: None,
        }
    }
}

fn trace(events: &[(u8, u16, bool)]) -> Vec<TraceLine> {
    // (container 0..3, time step, is_crash) → lines sorted by ts; samples every step.
    let mut lines: Vec<TraceLine> = events
        .iter()
        .map(|&(c, t, crash)| {
            let id = format!("ns/p{c}/c");
            let ts = f64::from(t) * 7.0;
            if crash {
                TraceLine::Label(Label {
                    ts: ts + 0.5,
                    id,
                    event: "crash".into(),
                    cause: Cause::OomKill,
                })
            } else {
                TraceLine::Sample(Box::new(Sample {
                    ts,
                    id,
                    ..Default::default()
                }))
            }
        })
        .collect();
    lines.sort_by(|a, b| {
        crashwatch::sim::engine::line_ts(a).total_cmp(&crashwatch::sim::engine::line_ts(b))
    });
    lines
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn counts_add_up(
        events in proptest::collection::vec((0u8..3, 0u16..400, proptest::bool::weighted(0.05)), 0..300),
        bits in proptest::collection::vec(proptest::bool::weighted(0.2), 0..300),
        may_crash in any::<bool>(),
    ) {
        let lines = trace(&events);
        let r = eval::score_trace(&lines, &mut Bits(bits, 0), may_crash);
        let t = &r.tally;
        let labels = lines.iter().filter(|l| matches!(l, TraceLine::Label(_))).count();
        prop_assert_eq!(t.crashes, labels);
        prop_assert_eq!(t.hits + t.late + t.misses, t.crashes);
        prop_assert_eq!(t.true_alarms + t.false_alarms + t.censored, t.episodes);
        prop_assert_eq!(t.episodes, r.episodes.len());
        prop_assert!(t.warnable <= t.crashes && t.hits <= t.warnable);
        prop_assert_eq!(t.leads.len(), t.hits);
        prop_assert!(t.leads.iter().all(|&l| (MIN_LEAD_SECONDS..=eval::HORIZON_SECONDS).contains(&l)));
        for v in &r.crashes {
            match v.outcome {
                Outcome::Hit => prop_assert!(v.lead.is_some_and(|l| l >= MIN_LEAD_SECONDS)),
                Outcome::Late => prop_assert!(v.lead.is_some_and(|l| l < MIN_LEAD_SECONDS)),
                Outcome::Miss => prop_assert!(v.lead.is_none()),
            }
        }
        if !may_crash {
            prop_assert_eq!(t.censored, 0);
        }
        // Episodes end after they start, and those of one container never overlap.
        for e in &r.episodes {
            prop_assert!(e.end.is_none_or(|end| end >= e.start));
        }
        for w in r.episodes.windows(2) {
            if w[0].id == w[1].id {
                prop_assert!(w[0].end.is_some_and(|end| end <= w[1].start));
            }
        }
    }

    #[test]
    fn a_silent_detector_scores_nothing(
        events in proptest::collection::vec((0u8..3, 0u16..400, proptest::bool::weighted(0.05)), 0..200),
    ) {
        let lines = trace(&events);
        let r = eval::score_trace(&lines, &mut Bits(Vec::new(), 0), true);
        prop_assert_eq!(r.tally.hits + r.tally.late, 0);
        prop_assert_eq!(r.tally.episodes, 0);
        prop_assert_eq!(r.tally.misses, r.tally.crashes);
        prop_assert_eq!(r.tally.precision(), None);
    }
}
