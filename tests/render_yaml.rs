//! The provisioning file Grafana reads: YAML through serde-saphyr, parsed back by a YAML
//! 1.2 reader, gives exactly the datasources of the step report (after Grafana's `$$`
//! un-escaping for `verified`).
use grafana_source::py::{PyDict, PyKey, PyValue};
use grafana_source::render::{self, Datasource, DatasourceList, FileFormat, Rendered};
use grafana_source::replay::replay_str;
use grafana_source::Profile;
use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

/// What Grafana's interpolation does to `$$` (the only `$` form a verified file holds).
fn unescape(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(s.replace("$$", "$")),
        Value::Array(a) => Value::Array(a.into_iter().map(unescape).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k.replace("$$", "$"), unescape(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Numbers compared by value (YAML has no 300-vs-300.0 distinction to keep).
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn round_trip(r: &Rendered, profile: Profile) -> serde_json::Value {
    let yaml = render::write_file(r, false, FileFormat::Yaml).unwrap();
    let back: serde_json::Value =
        serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    if profile == Profile::Verified {
        assert!(
            !yaml.contains('$') || yaml.matches('$').count().is_multiple_of(2),
            "{yaml}"
        );
        unescape(back)
    } else {
        back
    }
}

#[test]
fn every_conformance_final_state_round_trips_through_yaml() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases");
    let mut checked = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.to_string_lossy().into_owned();
        if !name.ends_with(".jsonl") || name.ends_with(".expected.jsonl") {
            continue;
        }
        for profile in Profile::ALL {
            let reports = replay_str(&std::fs::read_to_string(&p).unwrap(), profile).unwrap();
            let last = reports.last().unwrap();
            let Ok(r) = &last.datasources else { continue };
            let back = round_trip(r, profile);
            assert!(
                same(&back, &last.to_json()["datasources"]),
                "{name} ({profile:?}):\n{back}\n{}",
                last.to_json()["datasources"]
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} renders checked");
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,12}",
        Just("yes".to_string()),
        Just("on".to_string()),
        Just("1_000".to_string()),
        Just("12:30:00".to_string()),
        Just("null".to_string()),
        Just("~".to_string()),
        Just("0x1F".to_string()),
        Just(".nan".to_string()),
        Just("$HOME".to_string()),
        Just("${A}$$".to_string()),
        Just("- a".to_string()),
        Just("a: b #c".to_string()),
        "\\PC{0,8}",
    ]
}

fn json() -> impl Strategy<Value = PyValue> {
    let leaf = prop_oneof![
        Just(PyValue::None),
        any::<bool>().prop_map(PyValue::Bool),
        any::<i64>().prop_map(|n| PyValue::Int(grafana_source::py::PyInt::Small(n))),
        (-1e9f64..1e9).prop_map(PyValue::Float),
        text().prop_map(|s| PyValue::Str(Arc::from(s))),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(PyValue::List),
            prop::collection::vec((text(), inner), 0..4).prop_map(|kv| {
                PyValue::dict(
                    kv.into_iter()
                        .map(|(k, v)| (PyKey::Str(Arc::from(k)), v))
                        .collect::<PyDict>(),
                )
            }),
        ]
    })
}

fn datasource() -> impl Strategy<Value = Datasource> {
    (
        text(),
        text(),
        text(),
        prop::option::of(json()),
        prop::option::of(json()),
    )
        .prop_map(|(n, t, u, j, s)| Datasource {
            name: PyValue::Str(Arc::from(n)),
            source_type: PyValue::Str(Arc::from(t)),
            url: PyValue::Str(Arc::from(u)),
            json_data: j,
            secure_json_data: s,
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/render_yaml.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn yaml_round_trip_equals_the_json_model(
        ds in prop::collection::vec(datasource(), 0..4),
        del in prop::collection::vec(text(), 0..3),
        verified in any::<bool>(),
    ) {
        let profile = if verified { Profile::Verified } else { Profile::Libpatch21 };
        let r = Rendered::new(
            DatasourceList::from_vec(ds),
            del.into_iter().map(|s| PyValue::Str(Arc::from(s))).collect(),
            verified,
            None,
        );
        let back = round_trip(&r, profile);
        prop_assert!(same(&back, &r.to_json()), "{}\n{}", back, r.to_json());
    }
}
