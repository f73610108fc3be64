//! `grafana-source import`: real capture formats to hook log v1.
//!
//! Fixtures (`tests/fixtures/import/`, see its README): a jhack `event_db.json` built by hand
//! in the shape of jhack's recorder, two `juju show-unit --format json` dumps (a leader and
//! a non-leader Grafana unit), and an env-jsonl capture as the `docs/recorder.md` line
//! writes it. Each converts to a log whose every line the strict parser accepts, and which
//! replays to the expected datasources.
use grafana_source::import::{self, Conversion, Format, ImportError, Location};
use grafana_source::log::parse_line;
use grafana_source::replay::replay_str;
use grafana_source::Profile;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const UUID: &str = "0c1f3a9e-77d2-4f38-9a39-9f1d7c6e2b10";

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap()
}

fn name(app_unit: &str) -> String {
    format!("juju_cos_{UUID}_{app_unit}")
}

/// The converted log's lines as JSON values, each checked with the strict parser.
fn lines(c: &Conversion) -> Vec<Value> {
    c.to_jsonl()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            parse_line(i as u64 + 1, l).unwrap_or_else(|e| panic!("{e}: {l}"));
            serde_json::from_str(l).unwrap()
        })
        .collect()
}

/// The last step report of replaying `log` under `profile`, after checking that no step
/// failed or broke an invariant.
fn replay_last(log: &str, profile: Profile) -> Value {
    let reports = replay_str(log, profile).unwrap();
    for r in &reports {
        let j = r.to_json();
        assert_eq!(j["outcome"], "ok", "{j}");
        assert_eq!(j["violations"], json!([]), "{j}");
    }
    reports.last().expect("a non-empty log").to_json()
}

/// (name, url) of the provisioned datasources, sorted; names in deleteDatasources, sorted.
fn datasources(report: &Value) -> (Vec<(String, String)>, Vec<String>) {
    let ds = &report["datasources"];
    let mut provisioned: Vec<(String, String)> = ds["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["url"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    provisioned.sort();
    let mut deleted: Vec<String> = ds["deleteDatasources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect();
    deleted.sort();
    (provisioned, deleted)
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// A change to a capture, and where the error it causes must point.
type Mutation = Box<dyn Fn(&mut Value)>;

fn field_error(e: &ImportError) -> (&Location, &str) {
    match e {
        ImportError::Field { at, field, .. } => (at, field),
        other => panic!("expected a field error, got {other}"),
    }
}

const PROM0_URL: &str = "http://prometheus-0.prometheus-endpoints.cos.svc.cluster.local:9090";
const PROM2_URL: &str = "http://prometheus-2.prometheus-endpoints.cos.svc.cluster.local:9090";
const PROM10_URL: &str = "http://prometheus-10.prometheus-endpoints.cos.svc.cluster.local:9090";
const LOKI0_URL: &str = "http://loki-0.loki-endpoints.cos.svc.cluster.local:3100";

// ---------------------------------------------------------------------------------------
// jhack

fn jhack_db() -> Value {
    serde_json::from_str(&read("jhack/event_db.json")).unwrap()
}

fn jhack(db: &Value) -> Result<Conversion, ImportError> {
    import::convert(Format::Jhack, &db.to_string())
}

#[test]
fn jhack_database_replays_to_the_captured_datasources() {
    let c = import::convert(Format::Jhack, &read("jhack/event_db.json")).unwrap();
    let got = lines(&c);
    // 15 scenes, one of them an action.
    assert_eq!(got.len(), 14);
    assert_eq!(c.notes.len(), 1);
    assert_eq!(c.notes[0].at, Location::Scene(4));
    assert!(
        c.notes[0].message.contains("get-admin-password"),
        "{}",
        c.notes[0]
    );

    for p in Profile::ALL {
        let last = replay_last(&c.to_jsonl(), p);
        let (provisioned, deleted) = datasources(&last);
        assert_eq!(
            provisioned,
            vec![(name("prometheus_0"), PROM0_URL.to_string())],
            "{}",
            p.name()
        );
        assert_eq!(deleted, vec![name("loki_0")], "{}", p.name());
        // config-changed raised datasource_query_timeout to 600.
        assert_eq!(
            last["datasources"]["datasources"][0]["jsonData"]["timeout"],
            600
        );
    }
}

#[test]
fn jhack_scenes_map_environment_and_memos_to_fields() {
    let c = import::convert(Format::Jhack, &read("jhack/event_db.json")).unwrap();
    let got = lines(&c);
    // Scene 8: remote unit prometheus/0; the first relation_get of each bag is used, and
    // relation_get calls on other relations (the peer's bag, read too) are not.
    assert_eq!(
        got[7],
        json!({"hook": "grafana-source-relation-changed", "unit": "grafana/0", "leader": true,
            "relation": "grafana-source", "relation_id": 4, "remote_app": "prometheus",
            "remote_unit": "prometheus/0",
            "app_data": {"grafana_source_data": format!("{{\"model\": \"cos\", \"model_uuid\": \"{UUID}\", \"application\": \"prometheus\", \"type\": \"prometheus\"}}")},
            "unit_data": {"egress-subnets": "10.152.183.41/32", "ingress-address": "10.152.183.41",
                "private-address": "10.152.183.41",
                "grafana_source_host": "prometheus-0.prometheus-endpoints.cos.svc.cluster.local:9090"}})
    );
    // Scene 6: an application-data change: JUJU_REMOTE_UNIT is empty, so no remote unit.
    assert_eq!(got[5]["hook"], "grafana-source-relation-changed");
    assert!(got[5].get("remote_unit").is_none());
    assert!(got[5].get("app_data").is_some());
    // Scene 3: config from the loose config_get memo.
    assert_eq!(got[3]["config"]["datasource_query_timeout"], 600);
    // Departed carries the departing unit; broken has no JUJU_REMOTE_APP in its scene and
    // takes it from the relation's earlier scenes.
    assert_eq!(got[12]["departing_unit"], "loki/0");
    assert_eq!(got[13]["hook"], "grafana-source-relation-broken");
    assert_eq!(got[13]["remote_app"], "loki");
}

#[test]
fn jhack_foreign_relations_become_bare_hook_lines() {
    let c = import::convert(Format::Jhack, &read("jhack/event_db.json")).unwrap();
    let got = lines(&c);
    let ingress = &got[8];
    assert_eq!(ingress["hook"], "ingress-relation-changed");
    assert_eq!(keys(ingress), ["hook", "unit", "leader", "config"]);

    // Never rejected, even when its relation variables are missing or odd.
    let mut db = jhack_db();
    let env = &mut db["scenes"][9]["event"]["env"];
    let env = env.as_object_mut().unwrap();
    env.remove("JUJU_RELATION_ID");
    env.insert("JUJU_RELATION".into(), json!("something-else"));
    let c = jhack(&db).unwrap();
    assert_eq!(keys(&lines(&c)[8]), ["hook", "unit", "leader", "config"]);
}

#[test]
fn jhack_errors_name_the_scene_and_the_field() {
    let cases: Vec<(Mutation, usize, &str)> = vec![
        (
            Box::new(|db| {
                db["scenes"][7]["event"]["env"]
                    .as_object_mut()
                    .unwrap()
                    .remove("JUJU_RELATION_ID");
            }),
            7,
            "event.env.JUJU_RELATION_ID",
        ),
        (
            Box::new(|db| db["scenes"][2]["event"]["colour"] = json!("red")),
            2,
            "event.colour",
        ),
        (
            Box::new(|db| {
                db["scenes"][5].as_object_mut().unwrap().remove("context");
            }),
            5,
            "context",
        ),
        (
            Box::new(|db| {
                db["scenes"][0]["event"]
                    .as_object_mut()
                    .unwrap()
                    .remove("timestamp");
            }),
            0,
            "event.timestamp",
        ),
        (
            Box::new(|db| db["scenes"][3]["event"]["env"]["JUJU_HOOK_NAME"] = json!("frobnicate")),
            3,
            "event.env.JUJU_DISPATCH_PATH",
        ),
        (
            Box::new(|db| {
                let env = &mut db["scenes"][3]["event"]["env"];
                env["JUJU_HOOK_NAME"] = json!("frobnicate");
                env["JUJU_DISPATCH_PATH"] = json!("hooks/frobnicate");
            }),
            3,
            "event.env.JUJU_HOOK_NAME",
        ),
        (
            Box::new(|db| {
                db["scenes"][1]["event"]["env"]
                    .as_object_mut()
                    .unwrap()
                    .remove("JUJU_UNIT_NAME");
            }),
            1,
            "event.env.JUJU_UNIT_NAME",
        ),
        (
            Box::new(|db| {
                db["scenes"][2]["context"]["memos"]["_ModelBackend.is_leader"]["calls"][0][1] =
                    json!("yes")
            }),
            2,
            "context.memos[\"_ModelBackend.is_leader\"].calls[0][1]",
        ),
        (
            Box::new(|db| {
                db["scenes"][8]["context"]["memos"]["_ModelBackend.relation_get"]["calls"][2][1]
                    ["grafana_source_host"] = json!(9090)
            }),
            8,
            "context.memos[\"_ModelBackend.relation_get\"].calls[2][1].grafana_source_host",
        ),
        (
            Box::new(|db| {
                db["scenes"][8]["context"]["memos"]["_ModelBackend.relation_get"]["calls"][0][0] =
                    json!([[4], {}])
            }),
            8,
            "context.memos[\"_ModelBackend.relation_get\"].calls[0]",
        ),
        (
            Box::new(|db| {
                db["scenes"][3]["context"]["memos"]["_ModelBackend.config_get"]["calls"] =
                    json!({"not json": {}})
            }),
            3,
            "context.memos[\"_ModelBackend.config_get\"].calls[\"not json\"]",
        ),
        (
            Box::new(|db| {
                db["scenes"][3]["context"]["memos"]["_ModelBackend.config_get"]["serializer"] =
                    json!("json")
            }),
            3,
            "context.memos[\"_ModelBackend.config_get\"].serializer",
        ),
    ];
    for (mutate, scene, field) in cases {
        let mut db = jhack_db();
        mutate(&mut db);
        let e = jhack(&db).unwrap_err();
        assert_eq!(field_error(&e), (&Location::Scene(scene), field), "{e}");
        assert!(
            e.to_string()
                .starts_with(&format!("scene {scene}: field `{field}`")),
            "{e}"
        );
    }

    // A broken hook whose remote application nothing names.
    let mut db = jhack_db();
    let scenes = db["scenes"].as_array_mut().unwrap();
    let broken = scenes.pop().unwrap();
    scenes.truncate(4);
    scenes.push(broken);
    let e = jhack(&db).unwrap_err();
    assert_eq!(
        field_error(&e),
        (&Location::Scene(4), "event.env.JUJU_REMOTE_APP"),
        "{e}"
    );

    // Not JSON, and a top level jhack does not write.
    assert!(matches!(
        import::convert(Format::Jhack, "{\"scenes\": ["),
        Err(ImportError::Json {
            at: Location::Document,
            ..
        })
    ));
    let e = jhack(&json!({"scenes": [], "version": 2})).unwrap_err();
    assert_eq!(field_error(&e), (&Location::Document, "version"));
}

#[test]
fn jhack_older_memo_names_without_caching_policy_are_read() {
    // jhack before `caching_policy`: memos named by the bare function, strict lists only.
    let db = json!({"scenes": [{
    "event": {"env": {"JUJU_DISPATCH_PATH": "hooks/grafana-source-relation-changed",
        "JUJU_UNIT_NAME": "grafana/1", "JUJU_RELATION": "grafana-source",
        "JUJU_RELATION_ID": "grafana-source:3", "JUJU_REMOTE_APP": "tempo",
        "JUJU_REMOTE_UNIT": "tempo/0"}, "timestamp": "2022-10-10T14:53:03"},
    "context": {"memos": {
        "is_leader": {"calls": [[[[], {}], false]], "cursor": 0},
        "relation_get": {"calls": [[[[3, "tempo/0", false], {}], {"grafana_source_host": "t:3200"}]], "cursor": 1}
    }}}]});
    let c = jhack(&db).unwrap();
    assert_eq!(
        lines(&c),
        vec![
            json!({"hook": "grafana-source-relation-changed", "unit": "grafana/1",
            "leader": false, "relation": "grafana-source", "relation_id": 3,
            "remote_app": "tempo", "remote_unit": "tempo/0",
            "unit_data": {"grafana_source_host": "t:3200"}})
        ]
    );
}

// ---------------------------------------------------------------------------------------
// show-unit

#[test]
fn show_unit_of_a_leader_recreates_its_world_and_peer_data() {
    let dump = read("show-unit/grafana-0-leader.json");
    let c = import::convert(Format::ShowUnit, &dump).unwrap();
    let got = lines(&c);
    let hooks: Vec<&str> = got.iter().map(|l| l["hook"].as_str().unwrap()).collect();
    assert_eq!(
        hooks,
        [
            "install",
            "grafana-source-relation-created",
            "grafana-source-relation-changed",
            "grafana-source-relation-joined",
            "grafana-source-relation-changed",
            "grafana-source-relation-joined",
            "grafana-source-relation-changed",
            "grafana-source-relation-created",
            "grafana-source-relation-changed",
            "grafana-source-relation-joined",
            "grafana-source-relation-changed",
            "grafana-relation-created",
            "grafana-relation-changed",
        ]
    );
    assert_eq!(
        got[0],
        json!({"hook": "install", "unit": "grafana/0", "leader": true})
    );
    // Relations by ascending id, units by ascending number (2 before 10), the unit out
    // of scope (prometheus/3) and the other endpoints (ingress, catalogue) left out.
    let ids: Vec<u64> = got[1..11]
        .iter()
        .map(|l| l["relation_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [4, 4, 4, 4, 4, 4, 7, 7, 7, 7]);
    let units: Vec<&str> = got
        .iter()
        .filter_map(|l| l.get("remote_unit").and_then(Value::as_str))
        .collect();
    assert_eq!(
        units,
        [
            "prometheus/2",
            "prometheus/2",
            "prometheus/10",
            "prometheus/10",
            "loki/0",
            "loki/0"
        ]
    );
    assert!(got[2]["app_data"]["grafana_source_data"].is_string());
    assert!(got[4]["unit_data"]["grafana_source_host"].is_string());
    assert_eq!(got[12]["remote_app"], "grafana");

    let dumped: Value = serde_json::from_str(&dump).unwrap();
    let peer = dumped["grafana/0"]["relation-info"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["endpoint"] == "grafana")
        .unwrap()["application-data"]
        .clone();
    for p in Profile::ALL {
        let last = replay_last(&c.to_jsonl(), p);
        let (provisioned, deleted) = datasources(&last);
        assert_eq!(
            provisioned,
            vec![
                (name("loki_0"), LOKI0_URL.to_string()),
                (name("prometheus_10"), PROM10_URL.to_string()),
                (name("prometheus_2"), PROM2_URL.to_string()),
            ],
            "{}",
            p.name()
        );
        assert_eq!(deleted, vec![name("tempo_0")], "{}", p.name());
        // The prefix ends with exactly the dumped peer data.
        assert_eq!(last["peer_app_data"], peer, "{}", p.name());
    }
}

#[test]
fn show_unit_of_a_non_leader_reads_what_the_leader_wrote() {
    let c = import::convert(
        Format::ShowUnit,
        &read("show-unit/grafana-1-non-leader.json"),
    )
    .unwrap();
    assert_eq!(
        lines(&c)[0],
        json!({"hook": "install", "unit": "grafana/1", "leader": false})
    );
    // The leader has not written prometheus/10 yet: a non-leader renders the peer data,
    // not the relations it sees.
    let last = replay_last(&c.to_jsonl(), Profile::Libpatch21);
    let (provisioned, deleted) = datasources(&last);
    assert_eq!(
        provisioned,
        vec![
            (name("loki_0"), LOKI0_URL.to_string()),
            (name("prometheus_2"), PROM2_URL.to_string()),
        ]
    );
    assert_eq!(deleted, vec![name("tempo_0")]);
}

#[test]
fn show_unit_errors_name_the_field() {
    let dump: Value = serde_json::from_str(&read("show-unit/grafana-0-leader.json")).unwrap();
    let convert = |v: &Value| import::convert(Format::ShowUnit, &v.to_string());
    let cases: Vec<(Mutation, &str)> = vec![
        (
            Box::new(|d| {
                d["grafana/0"]["relation-info"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("relation-id");
            }),
            "[\"grafana/0\"].relation-info[1].relation-id",
        ),
        (
            Box::new(|d| d["grafana/0"]["colour"] = json!("red")),
            "[\"grafana/0\"].colour",
        ),
        (
            Box::new(|d| {
                d["grafana/0"].as_object_mut().unwrap().remove("leader");
            }),
            "[\"grafana/0\"].leader",
        ),
        (
            Box::new(|d| {
                d["grafana/0"]["relation-info"][3]["related-units"]["prometheus/2"]["data"]
                    ["grafana_source_host"] = json!(["x"])
            }),
            "[\"grafana/0\"].relation-info[3].related-units[\"prometheus/2\"].data.grafana_source_host",
        ),
        (
            Box::new(|d| {
                d["grafana/0"]["relation-info"][3]["related-units"]["prometheus/2"]
                    .as_object_mut()
                    .unwrap()
                    .remove("in-scope");
            }),
            "[\"grafana/0\"].relation-info[3].related-units[\"prometheus/2\"].in-scope",
        ),
        (
            Box::new(|d| d["grafana/1"] = json!({"leader": false})),
            "[\"grafana/1\"]",
        ),
    ];
    for (mutate, field) in cases {
        let mut d = dump.clone();
        mutate(&mut d);
        let e = convert(&d).unwrap_err();
        assert_eq!(field_error(&e), (&Location::Document, field), "{e}");
    }
    // YAML (the default format of show-unit) is not JSON.
    let e = import::convert(Format::ShowUnit, "grafana/0:\n  leader: true\n").unwrap_err();
    assert!(e.to_string().contains("--format json"), "{e}");
}

#[test]
fn show_unit_relation_without_units_is_skipped_with_a_note() {
    let d = json!({"grafana/0": {"leader": true, "relation-info": [
        {"relation-id": 5, "endpoint": "grafana-source", "related-endpoint": "grafana-source",
         "application-data": {"grafana_source_data": "{}"},
         "local-unit": {"in-scope": true, "data": null}}]}});
    let c = import::convert(Format::ShowUnit, &d.to_string()).unwrap();
    assert_eq!(lines(&c).len(), 1);
    assert_eq!(c.notes.len(), 1);
    assert!(c.notes[0].message.contains("relation 5"), "{}", c.notes[0]);
}

// ---------------------------------------------------------------------------------------
// env-jsonl

#[test]
fn env_jsonl_capture_replays_and_filters_foreign_relations() {
    let c = import::convert(Format::EnvJsonl, &read("env-jsonl/hooks.jsonl")).unwrap();
    let got = lines(&c);
    assert_eq!(got.len(), 7);
    let ingress = &got[5];
    assert_eq!(ingress["hook"], "ingress-relation-joined");
    assert_eq!(keys(ingress), ["hook", "unit", "leader", "config"]);
    // The blank line counts: the action is on physical line 9.
    assert_eq!(c.notes.len(), 1);
    assert_eq!(c.notes[0].at, Location::Line(9));

    let last = replay_last(&c.to_jsonl(), Profile::Libpatch21);
    let (provisioned, deleted) = datasources(&last);
    assert_eq!(
        provisioned,
        vec![(name("prometheus_0"), PROM0_URL.to_string())]
    );
    assert!(deleted.is_empty());
}

#[test]
fn env_jsonl_errors_name_the_line_and_the_field() {
    let text = read("env-jsonl/hooks.jsonl");
    let with_line = |n: usize, f: &dyn Fn(&mut Value)| {
        let mut out: Vec<String> = text.lines().map(str::to_string).collect();
        let mut v: Value = serde_json::from_str(&out[n - 1]).unwrap();
        f(&mut v);
        out[n - 1] = v.to_string();
        import::convert(Format::EnvJsonl, &out.join("\n"))
    };
    let cases: Vec<(usize, Mutation, &str)> = vec![
        (
            3,
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("config");
            }),
            "config",
        ),
        (2, Box::new(|v| v["extra"] = json!(1)), "extra"),
        (4, Box::new(|v| v["is_leader"] = json!("true")), "is_leader"),
        (
            5,
            Box::new(|v| v["unit_data"]["grafana_source_host"] = json!(null)),
            "unit_data.grafana_source_host",
        ),
        (
            5,
            Box::new(|v| v["env"]["JUJU_RELATION_ID"] = json!("grafana-source")),
            "env.JUJU_RELATION_ID",
        ),
        (
            5,
            Box::new(|v| v["env"]["JUJU_RELATION"] = json!("grafana")),
            "env.JUJU_RELATION",
        ),
        (
            8,
            Box::new(|v| {
                v["env"].as_object_mut().unwrap().remove("JUJU_HOOK_NAME");
                v["env"]
                    .as_object_mut()
                    .unwrap()
                    .remove("JUJU_DISPATCH_PATH");
            }),
            "env.JUJU_HOOK_NAME",
        ),
    ];
    for (line, mutate, field) in cases {
        let e = with_line(line, &*mutate).unwrap_err();
        assert_eq!(
            field_error(&e),
            (&Location::Line(line as u64), field),
            "{e}"
        );
    }
    let e = import::convert(Format::EnvJsonl, "\n{\"env\": \n").unwrap_err();
    assert!(
        matches!(
            e,
            ImportError::Json {
                at: Location::Line(2),
                ..
            }
        ),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// The recorder line of docs/recorder.md, run for real with stand-in hook tools.

/// The shell line under the `recorder-line` marker in docs/recorder.md.
fn recorder_line() -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/recorder.md"))
            .unwrap();
    let after = doc.split("<!-- recorder-line").nth(1).expect("the marker");
    let block = after.split("```sh\n").nth(1).expect("a sh block");
    let body = block.split("```").next().unwrap();
    let lines: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "the recorder must be one line: {body}");
    lines[0].to_string()
}

fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn the_documented_recorder_line_writes_what_import_env_jsonl_reads() {
    let line = recorder_line();
    assert!(line.contains("python3"), "the doc says it uses python3");
    if !have("python3", &["--version"]) || !have("sh", &["-c", "true"]) {
        eprintln!("skipped: python3 or sh not available");
        return;
    }
    let dir = std::env::temp_dir().join(format!("grafana-source-recorder-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let tool = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    };
    tool("is-leader", r#"[ "$*" = "--format=json" ] && echo true"#);
    tool(
        "config-get",
        r#"[ "$*" = "--format=json" ] && echo '{"datasource_query_timeout": 450}'"#,
    );
    tool(
        "relation-get",
        &format!(
            r#"case "$*" in
  "--format=json --app - prometheus") echo '{{"grafana_source_data": "{{\"model\": \"cos\", \"model_uuid\": \"{UUID}\", \"application\": \"prometheus\", \"type\": \"prometheus\"}}"}}' ;;
  "--format=json - prometheus/0") echo '{{"grafana_source_host": "10.1.2.3:9090", "ingress-address": "10.1.2.3"}}' ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac"#
        ),
    );
    let log = dir.join("hooks.jsonl");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |env: &[(&str, &str)]| {
        let status = Command::new("sh")
            .arg("-c")
            .arg(&line)
            .env_clear()
            .env("PATH", &path)
            .env("GRAFANA_SOURCE_HOOK_LOG", &log)
            .env("NOT_JUJU", "left out")
            .envs(env.iter().copied())
            .status()
            .unwrap();
        assert!(status.success());
    };
    let unit = [("JUJU_UNIT_NAME", "grafana/0"), ("JUJU_MODEL_NAME", "cos")];
    let rel = [
        ("JUJU_RELATION", "grafana-source"),
        ("JUJU_RELATION_ID", "grafana-source:4"),
        ("JUJU_REMOTE_APP", "prometheus"),
    ];
    run(&[
        unit[0],
        unit[1],
        ("JUJU_HOOK_NAME", "install"),
        ("JUJU_DISPATCH_PATH", "hooks/install"),
    ]);
    run(&[
        unit[0],
        unit[1],
        ("JUJU_HOOK_NAME", "grafana-relation-created"),
        ("JUJU_RELATION", "grafana"),
        ("JUJU_RELATION_ID", "grafana:0"),
        ("JUJU_REMOTE_APP", "grafana2"),
    ]);
    run(&[
        unit[0],
        unit[1],
        ("JUJU_HOOK_NAME", "grafana-source-relation-created"),
        rel[0],
        rel[1],
        rel[2],
    ]);
    run(&[
        unit[0],
        unit[1],
        ("JUJU_HOOK_NAME", "grafana-source-relation-changed"),
        rel[0],
        rel[1],
        rel[2],
        ("JUJU_REMOTE_UNIT", "prometheus/0"),
    ]);

    let text = std::fs::read_to_string(&log).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the capture holds secrets");
    }
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(
        keys(&first),
        ["env", "is_leader", "config", "app_data", "unit_data"]
    );
    assert!(first["env"].get("NOT_JUJU").is_none());
    assert!(first["env"].get("GRAFANA_SOURCE_HOOK_LOG").is_none());

    let c = import::convert(Format::EnvJsonl, &text).unwrap();
    let got = lines(&c);
    assert_eq!(got.len(), 4);
    // The peer relation-get failed (the stand-in knows no `grafana2`): app_data is null
    // in the capture and absent from the line.
    assert!(got[1].get("app_data").is_none());
    let last = replay_last(&c.to_jsonl(), Profile::Libpatch21);
    assert_eq!(
        datasources(&last).0,
        vec![(name("prometheus_0"), "http://10.1.2.3:9090".to_string())]
    );
    assert_eq!(
        last["datasources"]["datasources"][0]["jsonData"]["timeout"],
        450
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// The command line.

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_grafana-source"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn cli_imports_with_a_prefix_into_a_file_and_reports_errors() {
    let dir =
        std::env::temp_dir().join(format!("grafana-source-import-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_file = dir.join("log.jsonl");
    let out = bin()
        .args([
            "import",
            "env-jsonl",
            "tests/fixtures/import/env-jsonl/hooks.jsonl",
            "--prefix",
            "tests/fixtures/import/show-unit/grafana-1-non-leader.json",
            "--output",
        ])
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("note: line 9: action `get-admin-password` skipped"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&out_file).unwrap();
    // 13 prefix lines, then the 7 hooks.
    assert_eq!(text.lines().count(), 20);
    assert!(text.starts_with("{\"hook\":\"install\",\"unit\":\"grafana/1\",\"leader\":false}\n"));
    replay_str(&text, Profile::Libpatch21).unwrap();

    let out = bin()
        .args([
            "import",
            "jhack",
            "tests/fixtures/import/show-unit/grafana-0-leader.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("document: field `[\"grafana/0\"]`: unknown field"),
        "{stderr}"
    );

    let out = bin().args(["import", "yaml", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
