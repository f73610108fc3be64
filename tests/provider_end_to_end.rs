//! End to end: provider units fold their own logs; what they write becomes the hook log a
//! Grafana unit sees (hook log v1); the consumer folds that under both profiles; the
//! datasources are what a user would expect.
use grafana_source::log::Databag;
use grafana_source::provider::fold::{ProviderFold, ProviderReport};
use grafana_source::provider::{ProviderArgs, ProviderConfig};
use grafana_source::py::PyValue;
use grafana_source::replay::replay_str;
use grafana_source::Profile;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const MODEL: &str = "cos";
const UUID: &str = "0c1b5bd4-77a5-4b8e-8f0e-123456789abc";

/// One provider unit: its application's configuration, its name and its log.
struct Unit {
    args: ProviderArgs,
    name: &'static str,
    log: String,
}

fn provider_args(app: &str, source_type: &str, port: &str) -> ProviderArgs {
    let mut a = ProviderArgs::new(MODEL, UUID, app, source_type);
    a.source_port = PyValue::Str(port.into());
    a.containers = vec![app.to_string()];
    a
}

/// The hooks a unit of `app` runs when related to Grafana over relation `id`.
fn unit_log(app: &str, name: &str, leader: bool, fqdn: &str, id: u64) -> String {
    [
        json!({"hook": "install", "unit": name, "leader": leader, "fqdn": fqdn}),
        json!({"hook": format!("{app}-pebble-ready")}),
        json!({"hook": "grafana-source-relation-created", "relation_id": id}),
        json!({"hook": "grafana-source-relation-joined", "relation_id": id}),
        json!({"hook": "grafana-source-relation-changed", "relation_id": id}),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect()
}

fn fold(unit: &Unit) -> Vec<ProviderReport> {
    let (config, _) = ProviderConfig::new(&unit.args).unwrap();
    ProviderFold::new(config).run_str(&unit.log).unwrap()
}

fn bag(b: &Databag) -> Value {
    Value::Object(
        b.iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect(),
    )
}

/// Turns what the provider units wrote, unit after unit, into the hook log of the Grafana
/// leader `grafana/0`: `relation-created` the first time a relation appears, `joined` when a
/// unit appears in it, `changed` whenever a unit's databag or the application databag (as
/// its leader wrote it) changes. Relation ids are the provider's (Juju's ids are model-wide).
fn consumer_log(units: &[Unit]) -> String {
    let mut lines = vec![json!({
        "hook": "grafana-relation-created", "relation": "grafana", "relation_id": 0,
        "remote_app": "grafana", "unit": "grafana/0", "leader": true
    })];
    let mut created = BTreeSet::new();
    let mut app_bags: BTreeMap<u64, Databag> = BTreeMap::new();
    for unit in units {
        let app = unit.args.application.as_str();
        let rel = |hook: &str, id: u64| {
            json!({"hook": format!("grafana-source-relation-{hook}"), "relation": "grafana-source",
                   "relation_id": id, "remote_app": app})
        };
        let mut unit_bags: BTreeMap<u64, Databag> = BTreeMap::new();
        for report in fold(unit) {
            for (id, written) in &report.unit_data {
                if created.insert(*id) {
                    lines.push(rel("created", *id));
                }
                if !unit_bags.contains_key(id) {
                    let mut l = rel("joined", *id);
                    l["remote_unit"] = json!(unit.name);
                    lines.push(l);
                    unit_bags.insert(*id, Databag::new());
                }
                if unit_bags[id] != *written {
                    let mut l = rel("changed", *id);
                    l["remote_unit"] = json!(unit.name);
                    l["unit_data"] = bag(written);
                    lines.push(l);
                    unit_bags.insert(*id, written.clone());
                }
                let app_written = &report.app_data[id];
                if !app_written.is_empty()
                    && !matches!(app_bags.get(id), Some(seen) if seen == app_written)
                {
                    let mut l = rel("changed", *id);
                    l["remote_unit"] = Value::Null;
                    l["app_data"] = bag(app_written);
                    lines.push(l);
                    app_bags.insert(*id, app_written.clone());
                }
            }
        }
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The datasources of the last step, by name: (type, url, jsonData).
fn datasources(log: &str, profile: Profile) -> BTreeMap<String, (Value, Value, Value)> {
    let reports = replay_str(log, profile).unwrap();
    for r in &reports {
        let j = r.to_json();
        assert_eq!(j["outcome"], "ok", "{profile:?}: {j}");
        assert_eq!(j["violations"], json!([]), "{profile:?}: {j}");
    }
    let last = reports.last().unwrap().to_json();
    last["datasources"]["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                (d["type"].clone(), d["url"].clone(), d["jsonData"].clone()),
            )
        })
        .collect()
}

fn name(app: &str, n: u32) -> String {
    format!("juju_{MODEL}_{UUID}_{app}_{n}")
}

#[test]
fn what_providers_write_is_what_grafana_provisions() {
    let prometheus = provider_args("prometheus", "prometheus", "9090");
    let mut loki = provider_args("loki", "loki", "3100");
    // Behind ingress, given without a scheme: the provider adds `http://`.
    loki.source_url = Some("loki.cos.example/cos-loki-0".into());
    let mut alertmanager = provider_args("alertmanager", "alertmanager", "9093");
    alertmanager.extra_fields = grafana_source::py::json::loads(r#"{"timeout": 10}"#).unwrap();
    let mimir = provider_args("mimir", "mimir", "9009");

    let units = [
        Unit {
            args: prometheus.clone(),
            name: "prometheus/0",
            log: unit_log("prometheus", "prometheus/0", true, "prometheus-0.cos", 1),
        },
        Unit {
            args: prometheus,
            name: "prometheus/1",
            log: unit_log("prometheus", "prometheus/1", false, "prometheus-1.cos", 1),
        },
        Unit {
            args: loki,
            name: "loki/0",
            log: unit_log("loki", "loki/0", true, "loki-0.cos", 2),
        },
        Unit {
            args: alertmanager,
            name: "alertmanager/0",
            log: unit_log("alertmanager", "alertmanager/0", true, "am-0.cos", 3),
        },
        // A lone non-leader: it publishes its host, but no application ever publishes
        // the source data, so Grafana provisions nothing for it.
        Unit {
            args: mimir,
            name: "mimir/1",
            log: unit_log("mimir", "mimir/1", false, "mimir-1.cos", 4),
        },
    ];
    let log = consumer_log(&units);
    assert!(log.contains(r#""remote_unit":"mimir/1","unit_data":{"grafana_source_host":"http://mimir-1.cos:9009/prometheus"}"#), "{log}");

    let timeout = json!({"timeout": 300});
    let expected: BTreeMap<String, (Value, Value, Value)> = [
        (
            name("prometheus", 0),
            (
                "prometheus",
                "http://prometheus-0.cos:9090",
                timeout.clone(),
            ),
        ),
        (
            name("prometheus", 1),
            (
                "prometheus",
                "http://prometheus-1.cos:9090",
                timeout.clone(),
            ),
        ),
        (
            name("loki", 0),
            ("loki", "http://loki.cos.example/cos-loki-0", timeout),
        ),
        (
            name("alertmanager", 0),
            (
                "alertmanager",
                "http://am-0.cos:9093",
                // The provider's default implementation; Grafana raises the timeout.
                json!({"timeout": 300, "implementation": "prometheus"}),
            ),
        ),
    ]
    .into_iter()
    .map(|(n, (t, u, j))| (n, (json!(t), json!(u), j)))
    .collect();

    for profile in [Profile::Libpatch21, Profile::Verified] {
        assert_eq!(datasources(&log, profile), expected, "{profile:?}\n{log}");
    }
}

#[test]
fn a_relation_broken_on_the_provider_side_is_deleted_by_grafana() {
    // prometheus/0 leaves: its own fold forgets the relation; Grafana sees it depart.
    let args = provider_args("prometheus", "prometheus", "9090");
    let unit = Unit {
        args,
        name: "prometheus/0",
        log: unit_log("prometheus", "prometheus/0", true, "p0", 1)
            + "{\"hook\": \"grafana-source-relation-broken\", \"relation_id\": 1}\n",
    };
    let reports = fold(&unit);
    assert!(reports.last().unwrap().unit_data.is_empty());
    let log = consumer_log(std::slice::from_ref(&unit))
        + &json!({"hook": "grafana-source-relation-departed", "relation": "grafana-source",
                  "relation_id": 1, "remote_app": "prometheus", "remote_unit": "prometheus/0",
                  "departing_unit": "prometheus/0"})
        .to_string()
        + "\n";
    for profile in [Profile::Libpatch21, Profile::Verified] {
        let reports = replay_str(&log, profile).unwrap();
        let last = reports.last().unwrap().to_json();
        assert_eq!(last["datasources"]["datasources"], json!([]), "{profile:?}");
        assert_eq!(
            last["datasources"]["deleteDatasources"],
            json!([{"orgId": 1, "name": name("prometheus", 0)}]),
            "{profile:?}"
        );
    }
}
