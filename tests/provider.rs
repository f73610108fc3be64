//! The provider side: configuration rules, the provider fold, metadata validation and the
//! two subcommands (`provider`, `validate-metadata`).
use grafana_source::log::Databag;
use grafana_source::metadata::{
    CharmMetadata, MetadataError, RelationError, RelationInterfaceMismatch, RelationNotFound,
    RelationRole, RelationRoleMismatch,
};
use grafana_source::provider::fold::{ProviderError, ProviderFold, ProviderReport, StepError};
use grafana_source::provider::{
    ConfigError, ProviderArgs, ProviderConfig, Warning, SOURCE_DATA_KEY, SOURCE_HOST_KEY,
};
use grafana_source::py::{self, PyValue};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/provider")
        .join(name)
}

fn args(source_type: &str) -> ProviderArgs {
    ProviderArgs::new("test-model", "abcdef", "provider", source_type)
}

fn value(json: &str) -> PyValue {
    py::json::loads(json).unwrap()
}

fn run(args: &ProviderArgs, log: &str) -> Vec<ProviderReport> {
    let (config, _) = ProviderConfig::new(args).unwrap();
    ProviderFold::new(config).run_str(log).unwrap()
}

fn get<'a>(bags: &'a imbl::OrdMap<u64, Databag>, id: u64, key: &str) -> Option<&'a str> {
    bags.get(&id)?.get(key).map(|v| &**v)
}

/// A leader joining relation 1 with the given host name.
fn leader_joins(fqdn: &str) -> String {
    format!(
        "{{\"hook\": \"install\", \"unit\": \"provider/0\", \"leader\": true, \"fqdn\": \"{fqdn}\"}}\n\
         {{\"hook\": \"grafana-source-relation-created\", \"relation_id\": 1}}\n\
         {{\"hook\": \"grafana-source-relation-joined\", \"relation_id\": 1}}\n"
    )
}

/// What a provider wrote in conformance case `case`, as the Grafana unit received it:
/// (`grafana_source_data`, `grafana_source_host`).
fn published(case: &str) -> (String, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with(case) && !name.ends_with(".expected.jsonl")
        })
        .unwrap_or_else(|| panic!("no case {case}"));
    let text = std::fs::read_to_string(file).unwrap();
    let (mut data, mut host) = (None, None);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(d) = v["app_data"][SOURCE_DATA_KEY].as_str() {
            data = Some(d.to_string());
        }
        if let Some(h) = v["unit_data"][SOURCE_HOST_KEY].as_str() {
            host = Some(h.to_string());
        }
    }
    (data.unwrap(), host.unwrap())
}

fn last_written(args: &ProviderArgs, log: &str) -> (String, String) {
    let reports = run(args, log);
    let last = reports.last().unwrap();
    (
        get(&last.app_data, 1, SOURCE_DATA_KEY).unwrap().to_string(),
        get(&last.unit_data, 1, SOURCE_HOST_KEY)
            .unwrap()
            .to_string(),
    )
}

/// The provider cases of the conformance corpus (010–017) were produced by the reference
/// provider: the fold writes the same text, byte for byte.
#[test]
fn byte_identical_to_the_reference_providers_of_the_corpus() {
    let port = |a: &mut ProviderArgs, p: &str| a.source_port = PyValue::Str(p.into());

    let mut a = args("foobar");
    port(&mut a, "9090");
    assert_eq!(
        last_written(
            &a,
            &leader_joins("provider-0.provider-endpoints.test-model.svc.cluster.local")
        ),
        published("010")
    );

    // 011: the address arrives on pebble-ready (the default refresh event).
    a.containers = vec!["provider".into()];
    let log = "{\"hook\": \"install\", \"leader\": true, \"fqdn\": \"fqdn1\"}\n\
               {\"hook\": \"grafana-source-relation-created\", \"relation_id\": 1}\n\
               {\"hook\": \"provider-pebble-ready\"}\n";
    let r = run(&a, log);
    assert_eq!(
        get(&r[2].unit_data, 1, SOURCE_HOST_KEY),
        Some(published("011").1.as_str())
    );
    assert!(
        r[2].app_data[&1].is_empty(),
        "a refresh event writes no app data"
    );
    assert_eq!(last_written(&a, &leader_joins("fqdn2")), published("012"));

    let mut a = args("alertmanager");
    port(&mut a, "9093");
    assert_eq!(last_written(&a, &leader_joins("fqdn")), published("013"));

    let mut a = args("mimir");
    a.source_url = Some("http://mimir:9009".into());
    assert_eq!(last_written(&a, &leader_joins("unused")), published("014"));

    let mut a = args("foobar");
    a.source_url = Some("http://1.2.3.4/v1".into());
    assert_eq!(last_written(&a, &leader_joins("unused")), published("015"));
    a.source_url = Some("1.2.3.4/v1".into());
    assert_eq!(last_written(&a, &leader_joins("unused")), published("016"));

    // 017: no port at all: the reference's default "" leaves a bare colon.
    assert_eq!(
        last_written(&args("foobar"), &leader_joins("fqdn")),
        published("017")
    );
}

#[test]
fn default_port_and_url_handling() {
    // Port only: fqdn and str(port); an int port formats like Python's str().
    let mut a = args("prometheus");
    a.source_port = value("9090");
    let (_, host) = last_written(&a, &leader_joins("h"));
    assert_eq!(host, "http://h:9090");
    a.source_port = value("null");
    assert_eq!(last_written(&a, &leader_joins("h")).1, "http://h:None");

    // Port and URL: the URL wins, with the reference's warning.
    a.source_port = value("9090");
    a.source_url = Some("https://prom.example/x".into());
    let (config, warnings) = ProviderConfig::new(&a).unwrap();
    assert_eq!(
        warnings,
        [Warning::PortIgnored {
            port: "9090".into(),
            url: "https://prom.example/x".into()
        }]
    );
    assert!(warnings[0]
        .to_string()
        .starts_with("Both `source_port` and `source_url` were specified! Using `source_url`"));
    assert_eq!(config.source_url(), "https://prom.example/x");
    assert_eq!(
        last_written(&a, &leader_joins("h")).1,
        "https://prom.example/x"
    );
}

#[test]
fn scheme_is_added_with_a_warning() {
    let mut a = args("loki");
    a.source_url = Some("loki.example:3100".into());
    let (config, warnings) = ProviderConfig::new(&a).unwrap();
    assert_eq!(config.source_url(), "http://loki.example:3100");
    assert_eq!(
        warnings,
        [Warning::SchemeAdded {
            given: "loki.example:3100".into(),
            url: "http://loki.example:3100".into()
        }]
    );
    // The constructor runs in every hook, so every step carries its warning.
    let reports = run(&a, &leader_joins("h"));
    assert!(reports.iter().all(|r| r.warnings == warnings));
    // `^\w+://`: a word scheme is enough; `-` is not a word char.
    a.source_url = Some("git+ssh://x".into());
    assert_eq!(
        ProviderConfig::new(&a).unwrap().0.source_url(),
        "http://git+ssh://x"
    );
}

#[test]
fn mimir_appends_prometheus_to_any_url() {
    let mut a = args("mimir");
    a.source_port = value("9009");
    assert_eq!(
        last_written(&a, &leader_joins("m")).1,
        "http://m:9009/prometheus"
    );
    a.source_url = Some("mimir.example/".into());
    assert_eq!(
        last_written(&a, &leader_joins("m")).1,
        "http://mimir.example//prometheus"
    );
}

#[test]
fn alertmanager_gets_the_prometheus_implementation() {
    let data = |extra: &str| {
        let mut a = args("alertmanager");
        a.extra_fields = value(extra);
        let (config, _) = ProviderConfig::new(&a).unwrap();
        py::json::dumps(config.extra_fields())
    };
    assert_eq!(data("null"), r#"{"implementation": "prometheus"}"#);
    assert_eq!(data("{}"), r#"{"implementation": "prometheus"}"#);
    assert_eq!(
        data(r#"{"timeout": 60}"#),
        r#"{"timeout": 60, "implementation": "prometheus"}"#
    );
    assert_eq!(
        data(r#"{"implementation": null, "timeout": 60}"#),
        r#"{"implementation": "prometheus", "timeout": 60}"#
    );
    assert_eq!(
        data(r#"{"implementation": "mimir"}"#),
        r#"{"implementation": "mimir"}"#
    );
    let mut a = args("alertmanager");
    a.extra_fields = value(r#""text""#);
    assert_eq!(
        ProviderConfig::new(&a).unwrap_err(),
        ConfigError::ExtraFieldsNotADict { type_name: "str" }
    );
    // Only alertmanager.
    let mut a = args("prometheus");
    a.extra_fields = value("{}");
    assert_eq!(
        py::json::dumps(ProviderConfig::new(&a).unwrap().0.extra_fields()),
        "{}"
    );
}

#[test]
fn only_the_leader_writes_application_data() {
    let mut a = args("prometheus");
    a.source_port = value("9090");
    a.secure_extra_fields = value(r#"{"basicAuthPassword": "s3cr\u00e9t"}"#);
    let log = "{\"hook\": \"install\", \"unit\": \"provider/1\", \"fqdn\": \"p1\"}\n\
               {\"hook\": \"grafana-source-relation-joined\", \"relation_id\": 1}\n\
               {\"op\": \"update_source\"}\n\
               {\"hook\": \"leader-elected\", \"leader\": true}\n\
               {\"hook\": \"grafana-source-relation-changed\", \"relation_id\": 1}\n\
               {\"op\": \"update_source\"}\n";
    let r = run(&a, log);
    // A non-leader still publishes its host.
    assert_eq!(
        get(&r[1].unit_data, 1, SOURCE_HOST_KEY),
        Some("http://p1:9090")
    );
    assert!(r[1].app_data[&1].is_empty());
    assert!(r[2].app_data[&1].is_empty());
    // Becoming leader writes nothing by itself, nor does relation-changed.
    assert!(r[3].app_data[&1].is_empty());
    assert!(r[4].app_data[&1].is_empty());
    // update_source does, on the leader; secrets are json.dumps'd with ensure_ascii.
    assert_eq!(
        get(&r[5].app_data, 1, SOURCE_DATA_KEY),
        Some(
            r#"{"model": "test-model", "model_uuid": "abcdef", "application": "provider", "type": "prometheus", "extra_fields": null, "secure_extra_fields": {"basicAuthPassword": "s3cr\u00e9t"}}"#
        )
    );
}

#[test]
fn joined_writes_app_data_to_its_relation_and_the_host_everywhere() {
    let mut a = args("prometheus");
    a.source_port = value("9090");
    let log = "{\"hook\": \"grafana-source-relation-joined\", \"relation_id\": 3, \"leader\": true, \"fqdn\": \"p\"}\n\
               {\"hook\": \"grafana-source-relation-created\", \"relation_id\": 5}\n\
               {\"hook\": \"grafana-source-relation-joined\", \"relation_id\": 5, \"fqdn\": \"q\"}\n\
               {\"hook\": \"grafana-source-relation-broken\", \"relation_id\": 3}\n";
    let r = run(&a, log);
    assert!(r[1].unit_data[&5].is_empty());
    assert_eq!(
        get(&r[2].unit_data, 3, SOURCE_HOST_KEY),
        Some("http://q:9090")
    );
    assert_eq!(
        get(&r[2].unit_data, 5, SOURCE_HOST_KEY),
        Some("http://q:9090")
    );
    assert!(r[2].app_data[&5].contains_key(SOURCE_DATA_KEY));
    assert_eq!(r[3].unit_data.keys().copied().collect::<Vec<_>>(), [5]);
}

#[test]
fn update_source_resanitises_and_resets() {
    let mut a = args("prometheus");
    a.source_port = value("9090");
    a.source_url = Some("http://ingress/p".into());
    let log =
        "{\"hook\": \"grafana-source-relation-joined\", \"relation_id\": 1, \"fqdn\": \"p\"}\n\
               {\"op\": \"update_source\", \"url\": \"new/p\"}\n\
               {\"op\": \"update_source\"}\n\
               {\"hook\": \"update-status\"}\n";
    let r = run(&a, log);
    assert_eq!(
        get(&r[0].unit_data, 1, SOURCE_HOST_KEY),
        Some("http://ingress/p")
    );
    assert_eq!(
        get(&r[1].unit_data, 1, SOURCE_HOST_KEY),
        Some("http://new/p")
    );
    assert!(r[1]
        .warnings
        .iter()
        .any(|w| matches!(w, Warning::SchemeAdded { given, .. } if given == "new/p")));
    assert_eq!(
        get(&r[2].unit_data, 1, SOURCE_HOST_KEY),
        Some("http://p:9090")
    );
    // update-status is no refresh event: nothing rewrites the host.
    assert_eq!(
        get(&r[3].unit_data, 1, SOURCE_HOST_KEY),
        Some("http://p:9090")
    );
}

#[test]
fn a_missing_host_name_is_an_error_naming_the_line() {
    let a = args("prometheus");
    let (config, _) = ProviderConfig::new(&a).unwrap();
    let e = ProviderFold::new(config)
        .run_str("\n{\"hook\": \"grafana-source-relation-joined\", \"relation_id\": 1}\n")
        .unwrap_err();
    assert_eq!(e, ProviderError::Step(StepError::FqdnUnknown { line: 2 }));
}

#[test]
fn metadata_validation_gives_typed_errors() {
    let load = |name: &str| CharmMetadata::load(fixture(name)).unwrap().0;
    let provider = RelationRole::Provides;
    assert_eq!(
        load("provider-metadata.yaml").validate_grafana_source("grafana-source", provider),
        Ok(())
    );
    assert_eq!(
        load("consumer-metadata.yaml")
            .validate_grafana_source("grafana-source", RelationRole::Requires),
        Ok(())
    );
    assert_eq!(
        load("no-interface.yaml").validate_grafana_source("grafana-source", provider),
        Ok(())
    );
    assert_eq!(
        load("missing-endpoint.yaml").validate_grafana_source("grafana-source", provider),
        Err(RelationError::NotFound(RelationNotFound {
            relation: "grafana-source".into()
        }))
    );
    let e = load("wrong-interface.yaml")
        .validate_grafana_source("grafana-source", provider)
        .unwrap_err();
    assert_eq!(
        e,
        RelationError::InterfaceMismatch(RelationInterfaceMismatch {
            relation: "grafana-source".into(),
            expected: "grafana_datasource".into(),
            actual: "grafana_dashboard".into(),
        })
    );
    assert_eq!(
        e.to_string(),
        "The 'grafana-source' relation has 'grafana_dashboard' as interface rather than the expected 'grafana_datasource'"
    );
    let e = load("wrong-role.yaml")
        .validate_grafana_source("grafana-source", provider)
        .unwrap_err();
    assert_eq!(
        e,
        RelationError::RoleMismatch(RelationRoleMismatch {
            relation: "grafana-source".into(),
            expected: RelationRole::Provides,
            actual: RelationRole::Requires,
        })
    );
    assert_eq!(
        e.to_string(),
        "The 'grafana-source' relation has role 'requires' rather than the expected 'provides'"
    );

    let e = CharmMetadata::load(fixture("malformed.yaml")).unwrap_err();
    assert!(
        matches!(&e, MetadataError::Yaml { path, .. } if path.ends_with("malformed.yaml")),
        "{e}"
    );
    assert!(matches!(
        CharmMetadata::load(fixture("no-such.yaml")),
        Err(MetadataError::Io { .. })
    ));
    assert!(matches!(
        CharmMetadata::load(fixture("")),
        Err(MetadataError::NoMetadataFile { .. })
    ));
    // Charm directories: metadata.yaml, else charmcraft.yaml; containers come along.
    let (meta, file) = CharmMetadata::load(fixture("charmcraft-dir")).unwrap();
    assert!(file.ends_with("charmcraft.yaml"));
    assert_eq!(meta.containers, ["loki"]);
    assert!(CharmMetadata::load(fixture("charm-dir"))
        .unwrap()
        .1
        .ends_with("metadata.yaml"));
}

#[test]
fn the_constructor_checks_metadata_first_and_takes_its_containers() {
    let meta = CharmMetadata::load(fixture("provider-metadata.yaml"))
        .unwrap()
        .0;
    let (config, _) = ProviderConfig::with_metadata(&args("prometheus"), &meta).unwrap();
    assert_eq!(config.refresh_events(), ["prometheus-pebble-ready"]);
    let meta = CharmMetadata::load(fixture("wrong-role.yaml")).unwrap().0;
    let mut bad = args("alertmanager");
    bad.extra_fields = value("[1]");
    assert!(matches!(
        ProviderConfig::with_metadata(&bad, &meta),
        Err(ConfigError::Relation(RelationError::RoleMismatch(_)))
    ));
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_grafana-source"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn validate_metadata_exit_codes() {
    let f = |n: &str| fixture(n).display().to_string();
    let (code, out, _) = cli(&[
        "validate-metadata",
        &f("provider-metadata.yaml"),
        "--role",
        "provider",
    ]);
    assert_eq!((code, out.contains("valid")), (0, true));
    assert_eq!(
        cli(&["validate-metadata", &f("charm-dir"), "--role", "provider"]).0,
        0
    );
    assert_eq!(
        cli(&[
            "validate-metadata",
            &f("consumer-metadata.yaml"),
            "--role",
            "consumer"
        ])
        .0,
        0
    );
    for (file, role, says) in [
        ("consumer-metadata.yaml", "provider", "has role 'requires'"),
        ("missing-endpoint.yaml", "provider", "No relation named"),
        (
            "wrong-interface.yaml",
            "provider",
            "as interface rather than",
        ),
        ("provider-metadata.yaml", "consumer", "has role 'provides'"),
    ] {
        let (code, _, err) = cli(&["validate-metadata", &f(file), "--role", role]);
        assert_eq!(code, 1, "{file}: {err}");
        assert!(err.contains(says), "{file}: {err}");
    }
    let (code, _, err) = cli(&[
        "validate-metadata",
        &f("provider-metadata.yaml"),
        "--role",
        "provider",
        "--relation",
        "metrics-endpoint",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("'prometheus_scrape' as interface"), "{err}");
    let (code, _, err) = cli(&[
        "validate-metadata",
        &f("malformed.yaml"),
        "--role",
        "provider",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("malformed.yaml"), "{err}");
    assert_eq!(
        cli(&["validate-metadata", &f("nope.yaml"), "--role", "provider"]).0,
        2
    );
}

#[test]
fn provider_command_prints_one_object_per_step() {
    let f = |n: &str| fixture(n).display().to_string();
    let (code, out, err) = cli(&[
        "provider",
        "--config",
        &f("prometheus.json"),
        "--metadata",
        &f("charm-dir"),
        &f("prometheus-0.jsonl"),
    ]);
    assert_eq!(code, 0, "{err}");
    let steps: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(steps.len(), 8);
    let joined = &steps[4];
    assert_eq!(joined["hook"], "grafana-source-relation-joined");
    assert_eq!(
        joined["unit_data"]["7"][SOURCE_HOST_KEY],
        "http://prometheus-0.prometheus-endpoints.cos.svc.cluster.local:9090"
    );
    assert!(joined["app_data"]["7"][SOURCE_DATA_KEY]
        .as_str()
        .unwrap()
        .starts_with(r#"{"model": "cos", "model_uuid": "#));
    let op = &steps[6];
    assert_eq!(
        (op["hook"].is_null(), &op["op"]),
        (true, &"update_source".into())
    );
    assert_eq!(op["warnings"].as_array().unwrap().len(), 1);
    assert_eq!(
        op["unit_data"]["7"][SOURCE_HOST_KEY],
        "http://prometheus.cos.example.com/cos-prometheus-0"
    );
    // The next pebble-ready constructs the provider again: back to fqdn:port.
    assert_eq!(
        steps[7]["unit_data"]["7"][SOURCE_HOST_KEY],
        "http://prometheus-0.prometheus-endpoints.cos.svc.cluster.local:9090"
    );

    // Unusable inputs: exit 2 with a message naming what is wrong.
    let (code, _, err) = cli(&[
        "provider",
        "--config",
        &f("prometheus.json"),
        "--metadata",
        &f("wrong-role.yaml"),
        &f("prometheus-0.jsonl"),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("has role 'requires'"), "{err}");
    let (code, _, err) = cli(&[
        "provider",
        "--config",
        &f("wrong-role.yaml"),
        &f("prometheus-0.jsonl"),
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = cli(&[
        "provider",
        "--config",
        &f("prometheus.json"),
        &f("provider-metadata.yaml"),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("line 1"), "{err}");
}

/// The configurations and logs in `tests/reference/provider/`, each with the reports the
/// reference's `GrafanaSourceProvider` gave through `scripts/reference/provider_harness.py`
/// (`tests/reference/README.md`): per step the databags byte for byte and each warning
/// beginning with the reference's message; a configuration the reference's constructor
/// raised on is refused (exit status 2).
#[test]
fn reference_provider_cases_agree() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/provider");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".config.json").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 4,
        "only {} cases in {}",
        names.len(),
        dir.display()
    );
    let lines = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let mut mismatches = Vec::new();
    for name in &names {
        let path = |suffix: &str| dir.join(format!("{name}{suffix}"));
        let theirs = lines(&std::fs::read_to_string(path(".reference.jsonl")).unwrap());
        let out = Command::new(env!("CARGO_BIN_EXE_grafana-source"))
            .arg("provider")
            .arg("--config")
            .arg(path(".config.json"))
            .arg(path(".jsonl"))
            .output()
            .unwrap();
        let ours = lines(&String::from_utf8(out.stdout).unwrap());
        if let Some(failed) = theirs.iter().find(|r| r.get("error").is_some()) {
            assert_eq!(
                failed["step"], 0,
                "{name}: the reference failed past construction"
            );
            if out.status.code() != Some(2) || !ours.is_empty() {
                mismatches.push(format!(
                    "{name}: the reference raised {}; we exited {:?} after {} steps",
                    failed["error"],
                    out.status.code(),
                    ours.len()
                ));
            }
            continue;
        }
        if !out.status.success() || ours.len() != theirs.len() {
            mismatches.push(format!(
                "{name}: exit {:?}, {} reports for the reference's {}",
                out.status.code(),
                ours.len(),
                theirs.len()
            ));
            continue;
        }
        for (o, t) in ours.iter().zip(&theirs) {
            for key in ["app_data", "unit_data"] {
                if o[key] != t[key] {
                    mismatches.push(format!(
                        "{name} step {}: {key}: ours {} reference {}",
                        t["step"], o[key], t[key]
                    ));
                }
            }
            let (ow, tw) = (
                o["warnings"].as_array().unwrap(),
                t["warnings"].as_array().unwrap(),
            );
            let agree = ow.len() == tw.len()
                && ow
                    .iter()
                    .zip(tw)
                    .all(|(a, b)| a.as_str().unwrap().starts_with(b.as_str().unwrap()));
            if !agree {
                mismatches.push(format!(
                    "{name} step {}: warnings: ours {ow:?} reference {tw:?}",
                    t["step"]
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
