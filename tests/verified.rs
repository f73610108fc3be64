//! The `verified` profile on every conformance log: no hook fails, no render fails, no
//! invariant (spec or extension) breaks; and `libpatch21` breaks exactly what the expected
//! files say, step by step.
use grafana_source::replay::replay_str;
use grafana_source::Profile;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn cases() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".jsonl") && !n.ends_with(".expected.jsonl")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn verified_breaks_nothing_on_any_conformance_log() {
    let mut steps = 0;
    for log in cases() {
        let reports =
            replay_str(&std::fs::read_to_string(&log).unwrap(), Profile::Verified).unwrap();
        for r in &reports {
            steps += 1;
            assert!(
                r.outcome.is_ok(),
                "{} step {}: hook failed",
                log.display(),
                r.step
            );
            assert!(
                r.datasources.is_ok(),
                "{} step {}: render failed",
                log.display(),
                r.step
            );
            let names: Vec<_> = r.violations.iter().map(|v| v.invariant.name()).collect();
            assert!(
                names.is_empty(),
                "{} step {}: {names:?}",
                log.display(),
                r.step
            );
        }
    }
    assert!(steps > 1000, "only {steps} steps replayed");
}

#[test]
fn libpatch21_violations_are_exactly_the_expected_ones() {
    let mut marked = 0;
    for log in cases() {
        let reports =
            replay_str(&std::fs::read_to_string(&log).unwrap(), Profile::Libpatch21).unwrap();
        let ours: BTreeSet<(u64, String)> = reports
            .iter()
            .flat_map(|r| {
                r.violations
                    .iter()
                    .map(move |v| (r.step, v.invariant.name().to_string()))
            })
            .collect();
        let expected_text =
            std::fs::read_to_string(log.with_extension("").with_extension("expected.jsonl"))
                .unwrap();
        let expected: BTreeSet<(u64, String)> = expected_text
            .lines()
            .flat_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let step = v["step"].as_u64().unwrap();
                v["violations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| (step, n.as_str().unwrap().to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        marked += expected.len();
        assert_eq!(ours, expected, "{}", log.display());
    }
    assert!(marked > 100, "only {marked} expected violations seen");
}

/// The replay reuses renders (the one `verified`'s step computed, or the previous one when
/// nothing it depends on changed); every reused render must equal rendering the state
/// afresh.
#[test]
fn reused_renders_equal_fresh_renders() {
    use grafana_source::log::parse_str;
    use grafana_source::render;
    use grafana_source::replay::{decide_peer, Replay};
    for profile in Profile::ALL {
        for log in cases() {
            let text = std::fs::read_to_string(&log).unwrap();
            let entries = parse_str(&text).unwrap();
            let (peer, _) = decide_peer(entries.iter().cloned().map(Ok), None);
            let mut replay = Replay::new(profile, peer);
            for (n, e) in entries.iter().enumerate() {
                let report = replay.step(e);
                let reused = report
                    .datasources
                    .as_ref()
                    .map(|r| r.to_json())
                    .map_err(|e| e.name());
                let fresh = render::render(profile, replay.state());
                let fresh = fresh.as_ref().map(|r| r.to_json()).map_err(|e| e.name());
                assert_eq!(reused, fresh, "{} step {n} ({profile:?})", log.display());
            }
        }
    }
}

/// A `Timeline` keeps each report without its render and makes the render again from the
/// state: what it gives back is the report the replay gave, field for field.
#[test]
fn timeline_reports_equal_replay_reports() {
    use grafana_source::log::LogReader;
    use grafana_source::replay::{replay_str, Timeline};
    for profile in Profile::ALL {
        for log in cases() {
            let text = std::fs::read_to_string(&log).unwrap();
            let replayed = replay_str(&text, profile).unwrap();
            let t = Timeline::record(LogReader::new(text.as_bytes()), profile, None).unwrap();
            assert_eq!(t.len(), replayed.len());
            for (n, want) in replayed.iter().enumerate() {
                let got = t.report(n).unwrap();
                assert_eq!(
                    got.to_json(),
                    want.to_json(),
                    "{} step {n} ({profile:?})",
                    log.display()
                );
            }
            assert!(t.report(replayed.len()).is_none());
        }
    }
}
