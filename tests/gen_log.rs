//! The log generator (`gen::generate`, `grafana-source gen-log`): valid, deterministic,
//! realistic enough to exercise every kind of hook the benchmarks rely on.
use grafana_source::gen::{generate, GenConfig, GenStats};
use grafana_source::log::{parse_line, Endpoint, HookKind};
use grafana_source::py::{json, PyKey, PyValue};
use grafana_source::replay::{replay_stream, Flow};
use grafana_source::Profile;
use std::collections::BTreeMap;
use std::process::Command;

fn gen(config: &GenConfig) -> (String, GenStats) {
    let mut out = Vec::new();
    let stats = generate(config, &mut out).unwrap();
    (String::from_utf8(out).unwrap(), stats)
}

fn configs() -> Vec<GenConfig> {
    let mut v = vec![
        GenConfig::new(0, 0, 50, 1),
        GenConfig::new(1, 0, 50, 2),
        GenConfig::new(0, 3, 50, 3),
        GenConfig::new(1, 1, 300, 4),
        GenConfig::new(4, 3, 2000, 5),
        GenConfig::new(30, 2, 500, 6),
    ];
    let mut lead = GenConfig::new(3, 2, 300, 7);
    lead.leader_during_setup = true;
    v.push(lead);
    let mut verified = GenConfig::new(3, 2, 2000, 8);
    verified.profile_hint = Profile::Verified;
    v.push(verified);
    v
}

#[test]
fn every_line_parses_and_the_counts_add_up() {
    for config in configs() {
        let (text, stats) = gen(&config);
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if let Err(e) = parse_line(i as u64 + 1, line) {
                panic!("{config:?}: line {}: {e}\n{line}", i + 1);
            }
        }
        assert!(text.ends_with('\n'));
        assert_eq!(stats.step_lines, config.steps, "{config:?}");
        assert_eq!(lines.len() as u64, stats.setup_lines + stats.step_lines);
        assert_eq!(stats.bytes, text.len() as u64);
        // install, peer created, config-changed, start, peer joined, leader-elected, and
        // per relation: created, application data, joined + changed per unit.
        let per_relation = 2 + 2 * config.units as u64;
        assert_eq!(
            stats.setup_lines,
            6 + config.relations as u64 * per_relation,
            "{config:?}"
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    for config in configs() {
        assert_eq!(gen(&config).0, gen(&config).0, "{config:?}");
    }
    let a = gen(&GenConfig::new(5, 3, 500, 1)).0;
    let b = gen(&GenConfig::new(5, 3, 500, 2)).0;
    assert_ne!(a, b, "another seed gives another log");
    // A longer log starts with the shorter one's setup.
    let short = gen(&GenConfig::new(5, 3, 0, 9));
    let long = gen(&GenConfig::new(5, 3, 100, 9)).0;
    assert!(long.starts_with(&short.0));
}

#[test]
fn the_cli_writes_what_the_library_writes() {
    let out = Command::new(env!("CARGO_BIN_EXE_grafana-source"))
        .args([
            "gen-log",
            "--relations",
            "4",
            "--units",
            "2",
            "--steps",
            "300",
            "--seed",
            "11",
            "--profile-hint",
            "verified",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut config = GenConfig::new(4, 2, 300, 11);
    config.profile_hint = Profile::Verified;
    assert_eq!(String::from_utf8(out.stdout).unwrap(), gen(&config).0);
}

/// Counts of (hook, detail) over a log.
fn hook_counts(text: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let e = parse_line(i as u64 + 1, line).unwrap();
        let mut key = e.hook.name.to_string();
        if let (HookKind::LeaderElected | HookKind::LeaderSettingsChanged, Some(l)) =
            (e.hook.kind, e.leader)
        {
            key.push_str(&format!(" leader={l}"));
        }
        if e.hook.endpoint == Endpoint::Source && e.hook.kind == HookKind::RelationDeparted {
            assert_eq!(e.departing_unit, e.remote_unit, "line {}", i + 1);
            assert!(e.remote_unit.is_some());
        }
        if e.hook.kind == HookKind::RelationChanged && e.hook.endpoint == Endpoint::Source {
            if e.app_data.is_some() {
                key.push_str(" app_data");
            } else if e.unit_data.is_some() {
                key.push_str(" unit_data");
            }
        }
        *counts.entry(key).or_default() += 1;
    }
    counts
}

#[test]
fn a_long_log_has_every_kind_of_step() {
    let (text, stats) = gen(&GenConfig::new(6, 3, 20_000, 3));
    let steps: String = text
        .lines()
        .skip(stats.setup_lines as usize)
        .map(|l| format!("{l}\n"))
        .collect();
    let counts = hook_counts(&steps);
    for kind in [
        "grafana-source-relation-changed unit_data",
        "grafana-source-relation-changed app_data",
        "grafana-source-relation-joined",
        "grafana-source-relation-departed",
        "grafana-source-relation-created",
        "grafana-source-relation-broken",
        "leader-settings-changed leader=false",
        "leader-elected leader=true",
        "grafana-relation-changed",
        "update-status",
    ] {
        assert!(
            counts.get(kind).copied().unwrap_or(0) > 0,
            "{kind}: {counts:?}"
        );
    }
    let host_updates = counts["grafana-source-relation-changed unit_data"];
    assert!(
        host_updates * 10 > 8 * stats.step_lines as usize,
        "mostly host updates: {counts:?}"
    );
}

#[test]
fn the_setup_is_as_described() {
    let (text, stats) = gen(&GenConfig::new(2, 2, 0, 5));
    assert_eq!(stats.setup_lines, 6 + 2 * 6);
    let lines: Vec<_> = text
        .lines()
        .enumerate()
        .map(|(i, l)| parse_line(i as u64 + 1, l).unwrap())
        .collect();
    assert_eq!(&*lines[0].hook.name, "install");
    assert_eq!(lines[0].unit.as_deref(), Some("grafana/0"));
    assert_eq!(&*lines[1].hook.name, "grafana-relation-created");
    let last = lines.last().unwrap();
    assert_eq!(
        (&*last.hook.name, last.leader),
        ("leader-elected", Some(true))
    );
    let mut lead = GenConfig::new(2, 2, 0, 5);
    lead.leader_during_setup = true;
    let (text, _) = gen(&lead);
    let third = parse_line(3, text.lines().nth(2).unwrap()).unwrap();
    assert_eq!(&*third.hook.name, "leader-elected");
    assert_eq!(
        parse_line(1, text.lines().next().unwrap()).unwrap().leader,
        Some(true)
    );
}

#[test]
fn application_data_is_what_the_reference_provider_writes() {
    let (text, _) = gen(&GenConfig::new(40, 1, 0, 12));
    let mut types = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let e = parse_line(i as u64 + 1, line).unwrap();
        let Some(bag) = e.app_data else { continue };
        let data = &bag["grafana_source_data"];
        let PyValue::Dict(d) = json::loads(data).unwrap() else {
            panic!("not an object: {data}")
        };
        let keys: Vec<&str> = d
            .keys()
            .map(|k| match k {
                PyKey::Str(s) => &**s,
                other => panic!("{other:?} in {data}"),
            })
            .collect();
        assert_eq!(
            keys,
            [
                "model",
                "model_uuid",
                "application",
                "type",
                "extra_fields",
                "secure_extra_fields"
            ],
            "{data}"
        );
        // `json.dumps` spelling, byte for byte.
        assert_eq!(json::dumps(&json::loads(data).unwrap()), **data);
        *types
            .entry(data.contains("\"extra_fields\": null"))
            .or_insert(0) += 1;
    }
    assert!(
        types.len() == 2,
        "some sources have extra_fields, some not: {types:?}"
    );
}

/// Replays a log and returns (steps, failed hooks, steps with violations, relations at the end).
fn replay(text: &str, profile: Profile) -> (u64, u64, u64, usize) {
    let (mut steps, mut failed, mut violated) = (0, 0, 0);
    let last = replay_stream(
        grafana_source::log::LogReader::new(text.as_bytes()),
        profile,
        None,
        |_, r| {
            steps += 1;
            failed += u64::from(r.outcome.is_err());
            violated += u64::from(!r.violations.is_empty());
            Flow::Continue
        },
    )
    .unwrap();
    (steps, failed, violated, last.state().relations.len())
}

#[test]
fn logs_for_libpatch21_replay_without_failed_hooks() {
    for seed in 0..2 {
        let config = GenConfig::new(4, 3, 1000, seed);
        let (text, stats) = gen(&config);
        let (steps, failed, _, relations) = replay(&text, Profile::Libpatch21);
        assert_eq!(steps, stats.setup_lines + stats.step_lines);
        assert_eq!(failed, 0, "seed {seed}");
        assert!(
            (1..=8).contains(&relations),
            "relations drift near 4: {relations}"
        );
        let (_, failed, violated, _) = replay(&text, Profile::Verified);
        assert_eq!(
            (failed, violated),
            (0, 0),
            "verified breaks nothing, seed {seed}"
        );
    }
}
