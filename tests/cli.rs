//! The command line as a person uses it: exit codes, error messages, redaction, stdin.
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_grafana-source"))
}

/// The command started from the crate's directory, its standard streams piped.
fn spawn(args: &[&str]) -> std::process::Child {
    bin()
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = spawn(args);
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

const EXAMPLE: &str = "examples/cos-lite-day.jsonl";

#[test]
fn example_summary_lists_datasources_failures_and_redacts_secrets() {
    let out = run(&["replay", EXAMPLE], None);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    assert!(s.contains("Datasources provisioned (2)"), "{s}");
    assert!(
        s.contains("juju_cos_0c1f3a9e-77d2-4f38-9a39-9f1d7c6e2b10_loki_0"),
        "{s}"
    );
    assert!(
        s.contains("step 20 (line 21) grafana-source-relation-departed: IndexError"),
        "{s}"
    );
    assert!(s.contains("secureJsonData: <redacted>"), "{s}");
    assert!(
        !s.contains("s3cr3t-token"),
        "a secret leaked into the summary:\n{s}"
    );
    let shown = text(&run(&["replay", "--show-secrets", EXAMPLE], None).stdout);
    assert!(shown.contains("s3cr3t-token"), "{shown}");
    let json = text(&run(&["replay", "--json", EXAMPLE], None).stdout);
    assert!(
        json.contains("<redacted>") && !json.contains("s3cr3t-token"),
        "{json}"
    );
}

#[test]
fn steps_print_one_report_per_nonblank_line_and_stdin_works() {
    let log = std::fs::read_to_string(format!("{}/{EXAMPLE}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let from_file = run(&["replay", "--steps", EXAMPLE], None);
    let from_stdin = run(&["replay", "--steps", "-"], Some(&log));
    assert_eq!(from_file.status.code(), Some(0));
    assert_eq!(text(&from_file.stdout), text(&from_stdin.stdout));
    assert_eq!(
        text(&from_file.stdout).lines().count(),
        log.lines().filter(|l| !l.trim().is_empty()).count()
    );
}

/// A file is parsed ahead of the fold, standard input line by line: a malformed line in
/// the middle of a file still comes after the reports of the lines before it, with the
/// same message and exit status as from standard input.
#[test]
fn a_file_read_ahead_fails_where_standard_input_fails() {
    let good =
        std::fs::read_to_string(format!("{}/{EXAMPLE}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut lines: Vec<&str> = good.lines().take(12).collect();
    lines.insert(
        5,
        r#"{"hook": "grafana-source-relation-changed", "relation_id": "x"}"#,
    );
    let log = lines.join("\n") + "\n";
    let path = std::env::temp_dir().join(format!("cli-read-ahead-{}.jsonl", std::process::id()));
    std::fs::write(&path, &log).unwrap();
    for args in [&["replay", "--steps"][..], &["check"], &["replay"]] {
        let file_arg = path.to_str().unwrap();
        let from_file = run(&[args, &[file_arg]].concat(), None);
        let from_stdin = run(&[args, &["-"]].concat(), Some(&log));
        assert_eq!(from_file.status.code(), Some(2), "{args:?}");
        assert_eq!(
            text(&from_file.stdout),
            text(&from_stdin.stdout),
            "{args:?}"
        );
        assert_eq!(
            text(&from_file.stderr),
            text(&from_stdin.stderr),
            "{args:?}"
        );
        assert!(text(&from_file.stderr).contains("line 6"), "{args:?}");
    }
    let steps = run(&["replay", "--steps", path.to_str().unwrap()], None);
    assert_eq!(text(&steps.stdout).lines().count(), 5);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn at_stops_after_the_chosen_step() {
    let out = run(&["replay", "--steps", "--at", "4", EXAMPLE], None);
    assert_eq!(text(&out.stdout).lines().count(), 5);
    let summary = text(&run(&["replay", "--at", "8", EXAMPLE], None).stdout);
    assert!(summary.contains("Replayed 9 steps"), "{summary}");
    assert!(summary.contains("Datasources provisioned (1)"), "{summary}");
    let past = run(&["replay", "--at", "99", EXAMPLE], None);
    assert_eq!(past.status.code(), Some(2));
    assert!(
        text(&past.stderr).contains("only 22 steps"),
        "{}",
        text(&past.stderr)
    );
    // Past the end of a log of one step, or of none: every command that takes a step
    // number says what the log has.
    for (log, has) in [
        (
            "{\"hook\": \"install\"}\n",
            "the log has only 1 step (step 0)",
        ),
        ("", "the log has no steps"),
    ] {
        for (args, what) in [
            (&["replay", "--at", "3", "-"][..], "--at 3"),
            (&["render", "--at", "3", "-"], "--at 3"),
            (&["diff", "-", "3", "5"], "step 3"),
        ] {
            let out = run(args, Some(log));
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let err = text(&out.stderr);
            assert!(err.contains(&format!("{what}: {has}")), "{args:?}: {err}");
        }
    }
}

#[test]
fn diff_names_what_changed_between_two_steps_either_way() {
    const LOKI: &str = "juju_cos_0c1f3a9e-77d2-4f38-9a39-9f1d7c6e2b10_loki_0";
    const PROM_0: &str = "juju_cos_0c1f3a9e-77d2-4f38-9a39-9f1d7c6e2b10_prometheus_0";
    const PROM_1: &str = "juju_cos_0c1f3a9e-77d2-4f38-9a39-9f1d7c6e2b10_prometheus_1";
    let out = run(&["diff", EXAMPLE, "3", "20"], None);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    assert!(
        s.starts_with("From step 3 to step 20 (profile libpatch21):"),
        "{s}"
    );
    assert!(
        s.contains(&format!("datasources added:     {LOKI}, {PROM_0}")),
        "{s}"
    );
    assert!(
        s.contains(&format!("deletions added:       {PROM_1}")),
        "{s}"
    );
    assert!(
        s.contains("peer data keys changed: sources, sources_to_delete"),
        "{s}"
    );
    let json = |a: &str, b: &str| -> serde_json::Value {
        let out = run(&["diff", "--json", EXAMPLE, a, b], None);
        assert_eq!(out.status.code(), Some(0));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (forward, back) = (json("3", "20"), json("20", "3"));
    assert_eq!(
        forward["datasources"]["added"],
        serde_json::json!([LOKI, PROM_0])
    );
    assert_eq!(
        back["datasources"]["removed"],
        forward["datasources"]["added"]
    );
    assert_eq!(back["datasources"]["added"], serde_json::json!([]));
    assert_eq!(
        back["deleteDatasources"]["removed"],
        forward["deleteDatasources"]["added"]
    );
    let same = json("7", "7");
    assert_eq!(same["peer_data_changed"], serde_json::json!([]));
    assert_eq!(same["datasources"]["added"], serde_json::json!([]));
}

#[test]
fn diff_reads_no_further_than_the_later_step() {
    let log = std::fs::read_to_string(format!("{}/{EXAMPLE}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let head: String = log.lines().take(10).map(|l| format!("{l}\n")).collect();
    let broken = format!("{head}not json\n");
    let out = run(&["diff", "-", "2", "9"], Some(&broken));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        text(&run(&["diff", "-", "2", "9"], Some(&head)).stdout)
    );
    let out = run(&["diff", "-", "2", "10"], Some(&broken));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 11"),
        "{}",
        text(&out.stderr)
    );
    for (a, b) in [("2", "99"), ("99", "2")] {
        let out = run(&["diff", EXAMPLE, a, b], None);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("step 99: the log has only 22 steps (0 to 21)"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn malformed_log_names_line_and_field_and_exits_2() {
    let log = "{\"hook\": \"install\"}\n\n{\"hook\": \"grafana-source-relation-changed\", \"relation\": \"grafana-source\", \"relation_id\": \"seven\", \"remote_app\": \"p\"}\n";
    for cmd in ["replay", "check", "diff-profiles"] {
        let out = run(&[cmd, "-"], Some(log));
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let err = text(&out.stderr);
        assert!(
            err.contains("line 3") && err.contains("relation_id"),
            "{cmd}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = run(&["replay", "-"], Some("not json\n"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("line 1"));
    let out = run(&["replay", "does/not/exist.jsonl"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot open does/not/exist.jsonl"));
    // A directory opens on Unix and fails only when read: named as what it is, not as a
    // log broken at line 0.
    let config = "tests/fixtures/provider/prometheus.json";
    for args in [
        &["replay", "tests"][..],
        &["check", "tests"],
        &["provider", "--config", config, "tests"],
    ] {
        let out = run(args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("cannot open tests: it is a directory"),
            "{args:?}: {err}"
        );
    }
    // A byte order mark before the first line (some editors write one) is named.
    let out = run(&["replay", "-"], Some("\u{feff}{\"hook\": \"install\"}\n"));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("line 1") && err.contains("byte order mark"),
        "{err}"
    );
}

#[test]
fn check_exit_status_says_whether_anything_broke() {
    let bad = run(&["check", EXAMPLE], None);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stdout)
        .contains("stale-datasource: juju_cos_0c1f3a9e-77d2-4f38-9a39-9f1d7c6e2b10_prometheus_2"));
    let good = run(&["check", "--profile", "verified", EXAMPLE], None);
    assert_eq!(good.status.code(), Some(0), "{}", text(&good.stdout));
    let json = run(&["check", "--json", EXAMPLE], None);
    let lines: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["invariant"], "stale-datasource");
    assert_eq!(lines[0]["step"], 19);
    assert_eq!(lines[1]["invariant"], "hook-failed");
    // The closing line counts in English.
    let one = run(&["check", "-"], Some("{\"hook\": \"install\"}\n"));
    assert_eq!(
        text(&one.stdout),
        "No invariant broken in 1 step (profile libpatch21).\n"
    );
    let failed = concat!(
        r#"{"hook": "grafana-source-relation-changed", "relation": "grafana-source", "#,
        r#""relation_id": 1, "remote_app": "p", "remote_unit": "p/0", "leader": true, "#,
        r#""app_data": {"grafana_source_data": "{"}}"#,
        "\n"
    );
    let out = text(&run(&["check", "-"], Some(failed)).stdout);
    assert!(
        out.ends_with("violation in 1 of 1 step (profile libpatch21).\n"),
        "{out}"
    );
}

#[test]
fn diff_profiles_shows_both_sides_where_they_disagree() {
    let out = run(&["diff-profiles", "--json", EXAMPLE], None);
    assert_eq!(out.status.code(), Some(1));
    let first: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["step"], 19);
    let deleted = first["verified"]["deleted"].as_array().unwrap();
    assert!(deleted
        .iter()
        .any(|n| n.as_str().unwrap().ends_with("prometheus_2")));
    assert!(!first["libpatch21"]["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().ends_with("prometheus_2")));
    let one = run(&["diff-profiles", "-"], Some("{\"hook\": \"install\"}\n"));
    assert_eq!(text(&one.stdout), "The profiles disagree on 0 of 1 step.\n");
}

#[test]
fn debug_output_never_shows_secrets() {
    use grafana_source::log::parse_str;
    use grafana_source::reducer::{step, Profile};
    use grafana_source::replay::replay_str;
    use grafana_source::world::{PeerAtStart, State};
    let log = std::fs::read_to_string(format!("{}/{EXAMPLE}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(
        log.contains("s3cr3t-token"),
        "the example must carry the secret this test looks for"
    );
    for profile in [Profile::Libpatch21, Profile::Verified] {
        let entries = parse_str(&log).unwrap();
        let mut state = State::new(PeerAtStart::Visible);
        for e in &entries {
            let s = step(profile, &state, e);
            let shown = format!("{e:?} {s:?}");
            assert!(
                !shown.contains("s3cr3t-token"),
                "{profile:?}: a secret in Debug output: {shown}"
            );
            state = s.after;
        }
        for r in replay_str(&log, profile).unwrap() {
            let shown = format!("{r:?}");
            assert!(
                !shown.contains("s3cr3t-token"),
                "{profile:?}: a secret in a report's Debug: {shown}"
            );
        }
    }
}

#[test]
fn a_reader_that_goes_away_is_not_an_error() {
    // `replay --steps | head -1`: the pipe closes after the first line.
    let mut child = bin()
        .args([
            "replay",
            "--steps",
            "tests/conformance/cases/053-gen-long-s651.jsonl",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    use std::io::Read;
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

/// The output `args` gives while its standard input stays open: sends `lines`, then reads
/// `want` lines of output before closing the input. A missing line fails after a minute
/// instead of hanging the suite (a guard, not a measure: a passing run takes milliseconds).
fn output_while_input_open(args: &[&str], lines: &[&str], want: usize) -> Vec<String> {
    use std::io::BufRead;
    use std::sync::mpsc;
    // Its standard error is not read: the few lines these logs give fit the pipe.
    let mut child = spawn(args);
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    let got: Result<Vec<String>, _> = (0..want)
        .map(|_| rx.recv_timeout(std::time::Duration::from_secs(60)))
        .collect();
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    got.unwrap_or_else(|_| panic!("{args:?}: fewer than {want} lines while the input was open"))
}

#[test]
fn a_live_stream_shows_each_step_as_its_line_is_folded() {
    let example =
        std::fs::read_to_string(format!("{}/{EXAMPLE}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    // Up to the departed hook that raises (line 21): `check` has something to say there.
    let head: Vec<&str> = example.lines().take(21).collect();
    let closed = |args: &[&str]| text(&run(args, Some(&(head.join("\n") + "\n"))).stdout);
    let steps = closed(&["replay", "--steps", "-"]);
    assert_eq!(steps.lines().count(), 21);
    assert_eq!(
        output_while_input_open(&["replay", "--steps", "-"], &head, 21),
        steps.lines().collect::<Vec<_>>()
    );
    // `check`'s findings and `diff-profiles`' differences, all but the closing count,
    // which waits for the end of the log.
    for (command, first) in [("check", "step 19 "), ("diff-profiles", "step 19 ")] {
        let all = closed(&[command, "-"]);
        let lines: Vec<&str> = all.lines().collect();
        let per_step = &lines[..lines.len() - 1];
        assert!(per_step[0].starts_with(first), "{all}");
        assert_eq!(
            output_while_input_open(&[command, "-"], &head, per_step.len()),
            per_step
        );
    }

    let fixture = |n: &str| format!("{}/tests/fixtures/provider/{n}", env!("CARGO_MANIFEST_DIR"));
    let provider_log = std::fs::read_to_string(fixture("prometheus-0.jsonl")).unwrap();
    let lines: Vec<&str> = provider_log.lines().collect();
    let args = ["provider", "--config", &fixture("prometheus.json"), "-"];
    let reports = text(&run(&args, Some(&provider_log)).stdout);
    assert_eq!(reports.lines().count(), lines.len());
    assert_eq!(
        output_while_input_open(&args, &lines, lines.len()),
        reports.lines().collect::<Vec<_>>()
    );
}

/// A float JSON has no number for (Python's `json.loads` reads `NaN` in a databag) is
/// written in the YAML file as the charm's `yaml.dump` writes it, and refused in the JSON
/// file with its place named: never turned into something else.
#[test]
fn render_keeps_nan_in_yaml_and_refuses_it_in_json() {
    let data = r#"{\"model\": \"cos\", \"model_uuid\": \"0c1f3a9e\", \"application\": \"prometheus\", \"type\": \"prometheus\", \"extra_fields\": {\"scrape\": NaN, \"step\": -Infinity}, \"secure_extra_fields\": null}"#;
    let log = [
        r#"{"hook": "install", "unit": "grafana/0", "leader": true}"#.to_string(),
        r#"{"hook": "grafana-relation-created", "relation": "grafana", "relation_id": 0, "remote_app": "grafana"}"#.to_string(),
        format!(r#"{{"hook": "grafana-source-relation-changed", "relation": "grafana-source", "relation_id": 3, "remote_app": "prometheus", "remote_unit": null, "app_data": {{"grafana_source_data": "{data}"}}}}"#),
        r#"{"hook": "grafana-source-relation-changed", "relation": "grafana-source", "relation_id": 3, "remote_app": "prometheus", "remote_unit": "prometheus/0", "unit_data": {"grafana_source_host": "10.0.3.0:9090"}}"#.to_string(),
    ]
    .join("\n");
    let out = run(&["render", "-"], Some(&log));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let yaml = text(&out.stdout);
    assert!(
        yaml.contains("    scrape: .nan\n    step: -.inf\n    timeout: 300\n"),
        "{yaml}"
    );
    let out = run(&["render", "--format", "json", "-"], Some(&log));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "grafana-source: the provisioning file holds NaN at `jsonData.scrape` of datasource 0 \
         (`juju_cos_0c1f3a9e_prometheus_0`): JSON has no such number (the YAML file writes it \
         as the charm does)\n"
    );
    // The step report stays strict JSON, the value null there (docs/extensions.md), while
    // the peer data it shows keeps Python's text.
    let out = run(&["replay", "--steps", "-"], Some(&log));
    let last: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().last().unwrap()).unwrap();
    let json_data = &last["datasources"]["datasources"][0]["jsonData"];
    assert_eq!(json_data["scrape"], serde_json::Value::Null);
    assert!(last["peer_app_data"]["sources"]
        .as_str()
        .unwrap()
        .contains(r#""scrape": NaN, "step": -Infinity"#));
}

/// A log captured mid-life has no peer hook near its start: from standard input its
/// steps are held back until one comes, unless `--peer-at-start` says; what it says is
/// what the fold assumes (absent: the leader's writes are skipped), file or stream alike.
#[test]
fn peer_at_start_stated_streams_at_once_and_is_what_the_fold_assumes() {
    let lines = [
        r#"{"hook": "update-status", "unit": "grafana/0", "leader": true}"#,
        r#"{"hook": "grafana-source-relation-changed", "relation": "grafana-source", "relation_id": 3, "remote_app": "prometheus", "remote_unit": null, "app_data": {"grafana_source_data": "{\"model\": \"cos\", \"model_uuid\": \"0c1f3a9e\", \"application\": \"prometheus\", \"type\": \"prometheus\"}"}}"#,
    ];
    let args = ["replay", "--steps", "--peer-at-start", "visible", "-"];
    let live = output_while_input_open(&args, &lines, 2);
    let closed = text(&run(&args, Some(&lines.join("\n"))).stdout);
    assert_eq!(live, closed.lines().collect::<Vec<_>>());
    let peer_data = |args: &[&str]| -> serde_json::Value {
        let out = text(&run(args, Some(&lines.join("\n"))).stdout);
        serde_json::from_str::<serde_json::Value>(out.lines().last().unwrap()).unwrap()
            ["peer_app_data"]
            .clone()
    };
    assert_eq!(peer_data(&args)["sources"], "{}");
    let absent = ["replay", "--steps", "--peer-at-start", "absent", "-"];
    assert_eq!(peer_data(&absent), serde_json::json!({}));
    // A file is not scanned when the answer is given.
    let path = std::env::temp_dir().join(format!("cli-peer-at-start-{}.jsonl", std::process::id()));
    std::fs::write(&path, lines.join("\n")).unwrap();
    let file = path.to_str().unwrap();
    let out = run(
        &["replay", "--steps", "--peer-at-start", "absent", file],
        None,
    );
    std::fs::remove_file(&path).unwrap();
    let last = text(&out.stdout);
    let last: serde_json::Value = serde_json::from_str(last.lines().last().unwrap()).unwrap();
    assert_eq!(last["peer_app_data"], serde_json::json!({}));
    // A stream with no peer hook is held back no further than the limit, then refused
    // with the way out named, before anything is printed.
    let status = format!("{}\n", r#"{"hook": "update-status"}"#);
    let long = status.repeat(grafana_source::replay::PEER_READ_AHEAD_MAX + 1);
    let out = run(&["replay", "--steps", "-"], Some(&long));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "grafana-source: line 100001: no `grafana-relation-*` hook in the 100000 entries \
         before it says whether the peer relation exists from the start, and a stream is held \
         back no further: give --peer-at-start visible|absent, or the log as a file (a file \
         is scanned for that hook)\n"
    );
    // (`check`, whose output here is one line: a pipe both ways must not fill.)
    let out = run(&["check", "--peer-at-start", "visible", "-"], Some(&long));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("in 100001 steps"), "{said}");
    let out = run(&["check", "--peer-at-start", "maybe", "-"], Some(""));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("neither `visible` nor `absent`"));
}

/// `diff` compares each name's datasources as the file holds them: a second datasource
/// under a name already provisioned is a change even when it equals the first, and a
/// NaN that becomes null is a change although the report's JSON writes both as null.
#[test]
fn diff_sees_a_duplicate_and_a_nan_that_json_would_hide() {
    let path = format!(
        "{}/tests/profiles/name-collision.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    // The second relation's unit publishes the very host of the first's.
    let log = std::fs::read_to_string(path)
        .unwrap()
        .replace("10.0.4.0:9090", "10.0.3.0:9090");
    let changed = |log: &str, a: &str, b: &str| -> serde_json::Value {
        let out = run(&["diff", "--json", "-", a, b], Some(log));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["datasources"]["changed"]
            .clone()
    };
    let name = "juju_cos_0c1f3a9e_prometheus_0";
    assert_eq!(changed(&log, "8", "9"), serde_json::json!([name]));
    assert_eq!(changed(&log, "9", "9"), serde_json::json!([]));
    // extra_fields {"x": NaN} on the first relation, then {"x": null}.
    let lines: Vec<&str> = log.lines().take(6).collect();
    let with = |x: &str| {
        lines[3].replace(
            r#"\"extra_fields\": null"#,
            &format!(r#"\"extra_fields\": {{\"x\": {x}}}"#),
        )
    };
    let nan_log = [lines.join("\n"), with("NaN"), with("null")].join("\n");
    assert_eq!(changed(&nan_log, "6", "7"), serde_json::json!([name]));
    assert_eq!(changed(&nan_log, "6", "6"), serde_json::json!([]));
}
