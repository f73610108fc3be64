//! Conformance: every hook log in `tests/conformance/cases/` replayed under the `libpatch21`
//! profile must give the step reports of its `.expected.jsonl`, compared by the rules in
//! `tests/conformance/README.md` ("Comparing"; see `support/compare.rs`).
//!
//! All cases run; every mismatch is collected and the test fails once at the end, listing
//! case, step and field. With `CONFORMANCE_DIR=<dir>` set, the cases in that directory (same
//! layout: `NNN-slug.jsonl` + `NNN-slug.expected.jsonl`) are replayed too, e.g. a held-out set.
#[path = "support/compare.rs"]
mod compare;

use grafana_source::replay::replay_str;
use grafana_source::Profile;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The corpus copy inside this crate.
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases")
}

/// The corpus must not be empty (or nearly so): an empty copy would pass vacuously.
const MIN_CASES: usize = 60;

/// How many mismatches the failure message lists (the total is always given).
const MAX_LISTED: usize = 60;

const LOG_SUFFIX: &str = ".jsonl";
const EXPECTED_SUFFIX: &str = ".expected.jsonl";

/// One case: its name (the log's file name without `.jsonl`), the log, the expected reports.
struct Case {
    name: String,
    log: PathBuf,
    expected: PathBuf,
}

/// The cases in `dir`, sorted by name. An expected file without its log, or a log without
/// its expected file, is a problem reported in the second list.
fn cases_in(dir: &Path) -> (Vec<Case>, Vec<String>) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for file in &names {
        if let Some(stem) = file.strip_suffix(EXPECTED_SUFFIX) {
            if !names.iter().any(|n| *n == format!("{stem}{LOG_SUFFIX}")) {
                problems.push(format!("{stem}: {file} has no log {stem}{LOG_SUFFIX}"));
            }
        } else if let Some(stem) = file.strip_suffix(LOG_SUFFIX) {
            let expected = format!("{stem}{EXPECTED_SUFFIX}");
            if names.contains(&expected) {
                cases.push(Case {
                    name: stem.to_string(),
                    log: dir.join(file),
                    expected: dir.join(expected),
                });
            } else {
                problems.push(format!("{stem}: no expected reports {expected}"));
            }
        }
    }
    (cases, problems)
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic>".to_string())
}

/// Replay one case and compare; every problem, as `case step N: path: ...` lines.
fn run_case(case: &Case) -> Vec<String> {
    let name = &case.name;
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| format!("{name}: cannot read {}: {e}", p.display()))
    };
    let (log, expected_text) = match (read(&case.log), read(&case.expected)) {
        (Ok(l), Ok(e)) => (l, e),
        (l, e) => return [l.err(), e.err()].into_iter().flatten().collect(),
    };

    let mut failures = Vec::new();
    let mut expected = Vec::new();
    for (i, line) in expected_text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
    {
        match compare::parse_json(line) {
            Ok(v) => expected.push(v),
            Err(e) => {
                failures.push(format!("{name}: expected report #{i} is not JSON: {e}"));
                return failures;
            }
        }
    }

    let replayed = catch_unwind(AssertUnwindSafe(|| {
        replay_str(&log, Profile::Libpatch21)
            .map(|reports| reports.iter().map(|r| r.to_json()).collect::<Vec<_>>())
    }));
    let actual = match replayed {
        Ok(Ok(reports)) => reports,
        Ok(Err(e)) => {
            failures.push(format!("{name}: replay refused the log: {e}"));
            return failures;
        }
        Err(payload) => {
            failures.push(format!(
                "{name}: replay panicked: {}",
                panic_text(payload.as_ref())
            ));
            return failures;
        }
    };

    if actual.len() != expected.len() {
        failures.push(format!(
            "{name}: {} step reports, expected {} (one per non-blank log line)",
            actual.len(),
            expected.len()
        ));
    }
    for (step, (a, e)) in actual.iter().zip(&expected).enumerate() {
        for m in compare::report_mismatches(&compare::J::from(a), e) {
            failures.push(format!("{name} step {step}: {m}"));
        }
    }
    failures
}

/// Replay every case in `dir`; `(number of cases, failures)`.
fn run_dir(dir: &Path) -> (usize, Vec<String>) {
    let (cases, mut failures) = cases_in(dir);
    for case in &cases {
        failures.extend(run_case(case));
    }
    (cases.len(), failures)
}

/// Run `f` on a thread with a large stack: reports may nest deeply, and the comparator and
/// the parser recurse.
fn with_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let handle = std::thread::Builder::new()
        .name("conformance".into())
        .stack_size(256 << 20)
        .spawn(f)
        .expect("spawn the conformance thread");
    match handle.join() {
        Ok(v) => v,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// The case a failure line is about (each line starts with the case name).
fn case_of(failure: &str) -> &str {
    failure.split([':', ' ']).next().unwrap_or("")
}

/// Panic with a summary when there are failures: the first `MAX_LISTED` mismatches, the
/// total, and the count per failing case.
fn report(what: &str, dir: &Path, cases: usize, failures: &[String]) {
    if failures.is_empty() {
        eprintln!("{what}: {cases} cases in {} conform", dir.display());
        return;
    }
    let mut per_case: Vec<(&str, usize)> = Vec::new();
    for f in failures {
        match per_case.last_mut() {
            Some((case, n)) if *case == case_of(f) => *n += 1,
            _ => per_case.push((case_of(f), 1)),
        }
    }
    let mut msg = format!(
        "{what}: {} mismatch(es) in {} of {cases} cases ({})\n",
        failures.len(),
        per_case.len(),
        dir.display()
    );
    for f in failures.iter().take(MAX_LISTED) {
        let _ = writeln!(msg, "  {f}");
    }
    if failures.len() > MAX_LISTED {
        let _ = writeln!(
            msg,
            "  ... and {} more ({} in total)",
            failures.len() - MAX_LISTED,
            failures.len()
        );
    }
    let _ = writeln!(msg, "mismatches per failing case:");
    for (case, n) in &per_case {
        let _ = writeln!(msg, "  {case}: {n}");
    }
    panic!("{msg}");
}

#[test]
fn corpus_has_enough_cases() {
    let dir = corpus_dir();
    let (cases, problems) = cases_in(&dir);
    assert!(
        problems.is_empty(),
        "unpaired files in {}:\n{}",
        dir.display(),
        problems.join("\n")
    );
    assert!(
        cases.len() >= MIN_CASES,
        "only {} cases in {} (at least {MIN_CASES} expected): is the corpus copy complete?",
        cases.len(),
        dir.display()
    );
}

#[test]
fn corpus_conforms_under_libpatch21() {
    let dir = corpus_dir();
    let (cases, failures) = with_big_stack({
        let dir = dir.clone();
        move || run_dir(&dir)
    });
    report("conformance", &dir, cases, &failures);
}

/// Cases whose expected reports the reference itself gave through
/// `scripts/reference/harness.py` (`tests/reference/README.md`): what the shared corpus
/// does not reach.
#[test]
fn reference_cases_conform_under_libpatch21() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/cases");
    let (cases, failures) = with_big_stack({
        let dir = dir.clone();
        move || run_dir(&dir)
    });
    assert!(cases >= 6, "only {cases} cases in {}", dir.display());
    report("reference cases", &dir, cases, &failures);
}

/// `CONFORMANCE_DIR=<dir> cargo test --test conformance`: also replay a held-out set.
/// A relative path is taken from the crate root (where `cargo test` runs tests).
#[test]
fn extra_dir_from_env_conforms_under_libpatch21() {
    let Some(dir) = std::env::var_os("CONFORMANCE_DIR").filter(|d| !d.is_empty()) else {
        eprintln!("CONFORMANCE_DIR is not set: no extra cases replayed");
        return;
    };
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    assert!(
        dir.is_dir(),
        "CONFORMANCE_DIR {} is not a directory",
        dir.display()
    );
    // A corpus root (README.md + cases/) is accepted as well as its cases/ directory.
    if cases_in(&dir).0.is_empty() && dir.join("cases").is_dir() {
        dir = dir.join("cases");
    }
    let (cases, failures) = with_big_stack({
        let dir = dir.clone();
        move || run_dir(&dir)
    });
    assert!(
        cases > 0,
        "CONFORMANCE_DIR {} holds no cases (NNN-slug.jsonl + NNN-slug.expected.jsonl)",
        dir.display()
    );
    report("CONFORMANCE_DIR", &dir, cases, &failures);
}
