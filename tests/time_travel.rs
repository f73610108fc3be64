//! Time travel: a `Timeline` gives back, for any step, read in any order, the state and the
//! report the streaming replay had there, whatever its checkpoint spacing.
//!
//! Logs come from `gen::generate` (leadership moving, relations and units coming and
//! going, and with the `verified` hint, departures that make `libpatch21` raise, so failed
//! hooks are folded again from checkpoints too). Failing cases are kept in
//! `proptest-regressions/time_travel.txt` and replayed first on every run.
use grafana_source::gen::{generate, GenConfig};
use grafana_source::log::LogReader;
use grafana_source::replay::{replay_stream, Flow, Spacing, Timeline};
use grafana_source::world::State;
use grafana_source::Profile;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

fn profile() -> impl Strategy<Value = Profile> {
    prop_oneof![Just(Profile::Libpatch21), Just(Profile::Verified)]
}

/// The states and report texts a streaming replay of `text` gives, step by step.
fn replayed(text: &[u8], profile: Profile) -> (Vec<State>, Vec<String>) {
    let (mut states, mut reports) = (Vec::new(), Vec::new());
    replay_stream(LogReader::new(text), profile, None, |r, report| {
        states.push(r.state().clone());
        reports.push(report.to_json().to_string());
        Flow::Continue
    })
    .expect("generated logs parse");
    (states, reports)
}

proptest! {
    #![proptest_config(Config {
        cases: 48,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/time_travel.txt",
        ))),
        ..Config::default()
    })]

    #[test]
    fn any_read_gives_the_replays_state_and_report(
        relations in 1usize..5,
        units in 1usize..4,
        steps in 0u64..60,
        seed in any::<u64>(),
        hint in profile(),
        leader_during_setup in any::<bool>(),
        profile in profile(),
        min in 0usize..12,
        per_member in 0usize..3,
        reads in prop::collection::vec(any::<prop::sample::Index>(), 1..40),
    ) {
        let mut text = Vec::new();
        let config = GenConfig {
            profile_hint: hint,
            leader_during_setup,
            ..GenConfig::new(relations, units, steps, seed)
        };
        generate(&config, &mut text).expect("writing to memory cannot fail");
        let (states, reports) = replayed(&text, profile);
        let spacing = Spacing { min, per_member };
        let t = Timeline::record_spaced(LogReader::new(&text[..]), profile, None, spacing)
            .expect("generated logs parse");
        prop_assert_eq!(t.len(), states.len());
        prop_assert!(t.checkpoints().next() == Some(0));
        prop_assert!(t.state_after(t.len()).is_none());
        for read in reads {
            let n = read.index(states.len());
            prop_assert!(t.state_after(n).as_ref() == Some(&states[n]), "state after step {}", n);
            let report = t.report(n).map(|r| r.to_json().to_string());
            prop_assert_eq!(report.as_deref(), Some(&*reports[n]), "report of step {}", n);
        }
    }
}
