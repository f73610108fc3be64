//! The explorer's shortest counterexamples, kept as tests.
//!
//! Every log under `tests/counterexamples/` is the hook log of the Grafana unit where
//! `grafana-source explore` found a violation; [`CASES`] says which exploration produced
//! it. The tests check that:
//!
//! - the explorer still finds exactly that log, with that many actions (set
//!   `UPDATE_COUNTEREXAMPLES=1` to rewrite the files from the table instead);
//! - `grafana-source check` replays each log to the same violation at its last step (the
//!   report is an insta snapshot `snapshots/counterexample-<name>.snap`), and the
//!   `verified` profile breaks nothing on it;
//! - a small exploration finds a violation under `libpatch21` and none under `verified`.
use grafana_source::explore::{explore, Options, Target};
use grafana_source::invariants::Invariant;
use grafana_source::sim::Bounds;
use grafana_source::Profile;
use std::path::PathBuf;
use std::process::Command;

/// One kept counterexample: the exploration that finds it.
struct Case {
    name: &'static str,
    profile: Profile,
    /// Providers, units per provider, Grafana units.
    bounds: (usize, usize, usize),
    depth: usize,
    invariant: Invariant,
    error: Option<&'static str>,
    no_upgrade: bool,
    /// The length of the shortest counterexample.
    actions: usize,
}

const CASES: &[Case] = &[
    Case {
        name: "libpatch21-stale-datasource",
        profile: Profile::Libpatch21,
        bounds: (1, 1, 1),
        depth: 4,
        invariant: Invariant::StaleDatasource,
        error: None,
        no_upgrade: false,
        actions: 2,
    },
    Case {
        name: "libpatch21-stale-datasource-lifecycle",
        profile: Profile::Libpatch21,
        bounds: (1, 1, 1),
        depth: 4,
        invariant: Invariant::StaleDatasource,
        error: None,
        no_upgrade: true,
        actions: 4,
    },
    Case {
        name: "libpatch21-hook-failed-index-error",
        profile: Profile::Libpatch21,
        bounds: (1, 2, 1),
        depth: 4,
        invariant: Invariant::HookFailed,
        error: Some("IndexError"),
        no_upgrade: true,
        actions: 4,
    },
    Case {
        name: "libpatch21-hook-failed-json-decode-error",
        profile: Profile::Libpatch21,
        bounds: (1, 1, 1),
        depth: 4,
        invariant: Invariant::HookFailed,
        error: Some("JSONDecodeError"),
        no_upgrade: true,
        actions: 2,
    },
    Case {
        name: "libpatch21-hook-failed-type-error",
        profile: Profile::Libpatch21,
        bounds: (1, 1, 1),
        depth: 4,
        invariant: Invariant::HookFailed,
        error: Some("TypeError"),
        no_upgrade: false,
        actions: 1,
    },
    Case {
        name: "libpatch21-self-departure-deletes",
        profile: Profile::Libpatch21,
        bounds: (1, 1, 2),
        depth: 4,
        invariant: Invariant::SelfDepartureDeletes,
        error: None,
        no_upgrade: true,
        actions: 4,
    },
    Case {
        name: "libpatch21-duplicate-name",
        profile: Profile::Libpatch21,
        bounds: (2, 1, 1),
        depth: 6,
        invariant: Invariant::DuplicateName,
        error: None,
        no_upgrade: true,
        actions: 6,
    },
    Case {
        name: "libpatch21-delete-overlap",
        profile: Profile::Libpatch21,
        bounds: (2, 1, 1),
        depth: 7,
        invariant: Invariant::DeleteOverlap,
        error: None,
        no_upgrade: true,
        actions: 7,
    },
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/counterexamples")
}

fn options(c: &Case) -> Options {
    let (n, m, g) = c.bounds;
    let mut opts = Options::new(c.profile, c.depth, Bounds::new(n, m, g).unwrap());
    opts.target = Target {
        invariant: Some(c.invariant),
        error: c.error.map(str::to_string),
    };
    if c.no_upgrade {
        opts.alphabet.legacy.clear();
    }
    opts
}

/// The command line that finds `c`.
fn explore_command(c: &Case) -> String {
    let (n, m, g) = c.bounds;
    let mut cmd = format!(
        "grafana-source explore --profile {} --depth {} --providers {n} --units {m} --grafana-units {g} --invariant {}",
        c.profile.name(),
        c.depth,
        c.invariant.name()
    );
    if let Some(e) = c.error {
        cmd += &format!(" --error {e}");
    }
    if c.no_upgrade {
        cmd += " --no-upgrade";
    }
    cmd + &format!(" --counterexample tests/counterexamples/{}.jsonl", c.name)
}

/// With `UPDATE_COUNTEREXAMPLES` set, rewrite every kept log from [`CASES`] (once, before
/// any test reads them).
fn update_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("UPDATE_COUNTEREXAMPLES").is_none() {
            return;
        }
        std::fs::create_dir_all(dir()).unwrap();
        for c in CASES {
            if let Some(cx) = explore(&options(c)).counterexample {
                std::fs::write(dir().join(format!("{}.jsonl", c.name)), cx.jsonl()).unwrap();
            }
        }
    });
}

#[test]
fn the_explorer_still_finds_each_kept_counterexample() {
    update_once();
    for c in CASES {
        let found = explore(&options(c));
        let cx = found
            .counterexample
            .unwrap_or_else(|| panic!("{}: nothing found by `{}`", c.name, explore_command(c)));
        assert_eq!(cx.actions.len(), c.actions, "{}: {:?}", c.name, cx.actions);
        assert!(cx.invariants.contains(&c.invariant), "{}", c.name);
        let path = dir().join(format!("{}.jsonl", c.name));
        let kept = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            kept,
            cx.jsonl(),
            "{} is not what `{}` finds (UPDATE_COUNTEREXAMPLES=1 rewrites it)",
            path.display(),
            explore_command(c)
        );
    }
}

fn check(path: &PathBuf, profile: Profile) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_grafana-source"))
        .args(["check", "--profile", profile.name()])
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn check_replays_each_counterexample_to_its_violation() {
    update_once();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let listed: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    let stems: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for stem in &stems {
        assert!(
            listed.contains(&stem.as_str()) || stem.starts_with("verified-"),
            "tests/counterexamples/{stem}.jsonl is not in CASES"
        );
    }
    for c in CASES {
        let path = dir().join(format!("{}.jsonl", c.name));
        let lines = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        let (code, text) = check(&path, c.profile);
        assert_eq!(code, 1, "{}: {text}", c.name);
        let last_step = format!("step {} (line {})", lines - 1, lines);
        let at_last = text
            .split("\nstep ")
            .last()
            .map(|s| format!("step {s}"))
            .unwrap_or_default();
        assert!(
            at_last.starts_with(&last_step) || text.starts_with(&last_step),
            "{}: the last step is not reported:\n{text}",
            c.name
        );
        assert!(
            at_last.contains(&format!("  {}", c.invariant.name())),
            "{}: {} is not reported at the last step:\n{text}",
            c.name,
            c.invariant.name()
        );
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
            description => format!(
                "grafana-source check --profile {} tests/counterexamples/{}.jsonl\nfound by: {}",
                c.profile.name(), c.name, explore_command(c)
            ),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("counterexample-{}", c.name), format!("exit {code}\n{text}"));
        });
        let (code, text) = check(&path, Profile::Verified);
        assert_eq!(code, 0, "{} under verified:\n{text}", c.name);
    }
}

#[test]
fn a_small_exploration_separates_the_profiles() {
    let bounds = Bounds::new(1, 2, 2).unwrap();
    let found = explore(&Options::new(Profile::Libpatch21, 4, bounds));
    assert!(found.counterexample.is_some());
    let clean = explore(&Options::new(Profile::Verified, 4, bounds));
    assert!(clean.counterexample.is_none(), "{:?}", clean.counterexample);
    assert_eq!(clean.depth, 4);
    assert!(clean.distinct > 100 && clean.explored >= clean.distinct);
}

#[test]
fn the_cli_reports_and_writes_a_replayable_counterexample() {
    let bin = env!("CARGO_BIN_EXE_grafana-source");
    let out = Command::new(bin)
        .args([
            "explore",
            "--profile",
            "verified",
            "--depth",
            "3",
            "--providers",
            "1",
        ])
        .args(["--units", "1", "--grafana-units", "2", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["violation"], false);
    assert!(summary["distinct_states"].as_u64().unwrap() > 1);

    let path = std::env::temp_dir().join(format!("explore-cli-{}.jsonl", std::process::id()));
    let out = Command::new(bin)
        .args([
            "explore",
            "--profile",
            "libpatch21",
            "--depth",
            "4",
            "--providers",
            "1",
        ])
        .args(["--units", "2", "--grafana-units", "1", "--no-upgrade"])
        .args(["--invariant", "stale-datasource", "--counterexample"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("counterexample (4 actions):"), "{text}");
    assert!(
        text.contains("violation: stale-datasource on grafana/0"),
        "{text}"
    );
    let (code, report) = check(&path, Profile::Libpatch21);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code, 1);
    assert!(report.contains("stale-datasource"), "{report}");
}
