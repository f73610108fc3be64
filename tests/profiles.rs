//! The profile-difference table (docs/profiles.md): one minimal log per behaviour under
//! `tests/profiles/`. Each is pinned twice: the `check` report of both profiles as an insta
//! snapshot under `snapshots/`, and explicit assertions on which invariants break.
use grafana_source::invariants::Invariant;
use grafana_source::replay::replay_str;
use grafana_source::Profile;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/profiles")
}

fn logs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    v.sort();
    v
}

/// Invariant names broken anywhere in the log, and whether any hook failed.
fn broken(path: &PathBuf, profile: Profile) -> BTreeSet<&'static str> {
    let text = std::fs::read_to_string(path).unwrap();
    replay_str(&text, profile)
        .unwrap()
        .iter()
        .flat_map(|r| {
            r.violations
                .iter()
                .map(|v| v.invariant.name())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Steps whose render fails (the reference charm's renderer raises).
fn render_failures(path: &PathBuf, profile: Profile) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    replay_str(&text, profile)
        .unwrap()
        .iter()
        .filter(|r| r.datasources.is_err())
        .count()
}

#[test]
fn non_object_extra_fields_break_the_reference_renderer_only() {
    let path = dir().join("malformed-remote-data.jsonl");
    assert_eq!(render_failures(&path, Profile::Libpatch21), 1);
    assert_eq!(render_failures(&path, Profile::Verified), 0);
}

#[test]
fn every_behaviour_breaks_something_under_libpatch21_and_nothing_under_verified() {
    let expected: &[(&str, &[Invariant])] = &[
        ("departed-without-host", &[Invariant::HookFailed]),
        ("foreign-remote-unit", &[Invariant::HookFailed]),
        ("malformed-remote-data", &[Invariant::HookFailed]),
        (
            "name-collision",
            &[Invariant::DuplicateName, Invariant::DeleteOverlap],
        ),
        (
            "non-leader-after-leadership-loss",
            &[Invariant::StaleDatasource],
        ),
        ("peer-relation-broken", &[Invariant::StaleDatasource]),
        ("self-departure", &[Invariant::SelfDepartureDeletes]),
        ("stale-app-data-removed", &[Invariant::StaleDatasource]),
        ("stale-host-cleared", &[Invariant::StaleDatasource]),
        ("upgrade-legacy-sources-to-delete", &[Invariant::HookFailed]),
        ("url-without-word-scheme", &[Invariant::UrlWithoutScheme]),
    ];
    let found: Vec<String> = logs()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let listed: Vec<String> = expected.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        found, listed,
        "tests/profiles/ and this table must list the same logs"
    );
    for (name, invariants) in expected {
        let path = dir().join(format!("{name}.jsonl"));
        let want: BTreeSet<&str> = invariants.iter().map(|i| i.name()).collect();
        assert_eq!(
            broken(&path, Profile::Libpatch21),
            want,
            "{name} under libpatch21"
        );
        assert_eq!(
            broken(&path, Profile::Verified),
            BTreeSet::new(),
            "{name} under verified"
        );
    }
}

fn output(command: &str, path: &PathBuf, profile: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_grafana-source"))
        .args([command, "--profile", profile])
        .arg(path)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.contains('\u{1b}'),
        "colour codes on a pipe:\n{stdout}"
    );
    format!(
        "exit {code}\n{stdout}{}",
        String::from_utf8(out.stderr).unwrap()
    )
}

/// `check`, the `replay` summary and the rendered YAML of every curated log, under both
/// profiles, as insta snapshots under `snapshots/`.
#[test]
fn outputs_are_snapshotted() {
    for path in logs() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        for profile in ["libpatch21", "verified"] {
            for command in ["check", "replay", "render"] {
                let label = if command == "replay" {
                    "summary"
                } else {
                    command
                };
                insta::with_settings!({
                    snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
                    prepend_module_to_snapshot => false,
                    description => format!("grafana-source {command} --profile {profile} tests/profiles/{name}.jsonl"),
                    omit_expression => true,
                }, {
                    insta::assert_snapshot!(format!("{label}-{profile}-{name}"), output(command, &path, profile));
                });
            }
        }
    }
}
