//! Peer databag text is byte-identical to what the reference's `json.dumps` wrote.
//!
//! The reference iterates Python sets for a relation's units and for `sources_to_delete`,
//! and the harness that produced the corpus handed relations to it in set order too, so
//! the order of those lists and of the relation keys is not reproducible; everything else
//! is. For every step of every conformance case, our text must equal the expected text
//! byte for byte once those entries are put in the expected order (and only then).
use grafana_source::py::{self, PyKey, PyValue};
use grafana_source::replay::replay_str;
use grafana_source::Profile;
use std::path::PathBuf;

/// Reorder `ours` (a list) to follow `theirs`, matching entries by their exact text.
/// `None` when the two are not the same multiset.
fn reorder(ours: &[PyValue], theirs: &[PyValue]) -> Option<Vec<PyValue>> {
    let mut pool: Vec<Option<&PyValue>> = ours.iter().map(Some).collect();
    let mut out = Vec::new();
    for t in theirs {
        let want = py::json::dumps(t);
        let slot = pool
            .iter_mut()
            .find(|p| p.is_some_and(|v| py::json::dumps(v) == want))?;
        out.push(slot.take()?.clone());
    }
    pool.iter().all(Option::is_none).then_some(out)
}

/// Our value with set-ordered lists put in the expected order.
fn align(key: &str, ours: PyValue, theirs: &PyValue) -> PyValue {
    match (key, ours, theirs) {
        ("sources_to_delete", PyValue::List(o), PyValue::List(t)) => {
            PyValue::List(reorder(&o, t).unwrap_or(o))
        }
        ("sources", PyValue::Dict(o), PyValue::Dict(t)) => {
            let mut o = std::sync::Arc::unwrap_or_clone(o);
            for (k, v) in o.iter_mut() {
                let k = match k {
                    PyKey::Str(s) => PyKey::Str(s.clone()),
                    PyKey::Int(n) => PyKey::Str(n.to_string().into()),
                };
                if let (PyValue::List(ov), Some(PyValue::List(tv))) = (&*v, t.get(&k)) {
                    if let Some(r) = reorder(ov, tv) {
                        *v = PyValue::List(r);
                    }
                }
            }
            // The same relations, in the expected key order.
            let text = |k: &PyKey| match k {
                PyKey::Str(s) => s.to_string(),
                PyKey::Int(n) => n.to_string(),
            };
            let mut keyed: Vec<(String, PyKey, PyValue)> =
                o.into_iter().map(|(k, v)| (text(&k), k, v)).collect();
            let mut out = py::PyDict::default();
            for tk in t.keys() {
                if let Some(i) = keyed.iter().position(|(s, _, _)| *s == text(tk)) {
                    let (_, k, v) = keyed.remove(i);
                    out.insert(k, v);
                }
            }
            for (_, k, v) in keyed {
                out.insert(k, v);
            }
            PyValue::dict(out)
        }
        (_, o, _) => o,
    }
}

#[test]
fn peer_text_matches_the_reference_byte_for_byte() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.to_string_lossy().ends_with(".jsonl")
                && !p.to_string_lossy().ends_with(".expected.jsonl")
        })
        .collect();
    logs.sort();
    let (mut exact, mut aligned, mut failures) = (0usize, 0usize, Vec::new());
    for log in &logs {
        let reports =
            replay_str(&std::fs::read_to_string(log).unwrap(), Profile::Libpatch21).unwrap();
        let expected =
            std::fs::read_to_string(log.with_extension("").with_extension("expected.jsonl"))
                .unwrap();
        for (r, line) in reports.iter().zip(expected.lines()) {
            let e: serde_json::Value = serde_json::from_str(line).unwrap();
            let e = e["peer_app_data"].as_object().unwrap();
            for (k, want) in e {
                let want = want.as_str().unwrap();
                let Some(got) = r.peer_app_data.get(k.as_str()) else {
                    failures.push(format!("{} step {}: {k} missing", log.display(), r.step));
                    continue;
                };
                let got = &**got.text();
                if got == want {
                    exact += 1;
                    continue;
                }
                let (Ok(o), Ok(t)) = (py::json::loads(got), py::json::loads(want)) else {
                    failures.push(format!(
                        "{} step {}: {k}: {got:?} != {want:?}",
                        log.display(),
                        r.step
                    ));
                    continue;
                };
                let ours = py::json::dumps(&align(k, o, &t));
                if ours == want {
                    aligned += 1;
                } else {
                    failures.push(format!(
                        "{} step {}: {k}:\n  ours {ours}\n  want {want}",
                        log.display(),
                        r.step
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences, first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(exact > 1000, "only {exact} peer values compared exactly");
    eprintln!("{exact} peer values identical as written, {aligned} identical after set-ordered lists were aligned");
}

/// Structural equality: same variants, same keys (an int key is not its string), floats by
/// bits.
fn identical(a: &PyValue, b: &PyValue) -> bool {
    match (a, b) {
        (PyValue::None, PyValue::None) => true,
        (PyValue::Bool(x), PyValue::Bool(y)) => x == y,
        (PyValue::Int(x), PyValue::Int(y)) => x == y,
        (PyValue::Float(x), PyValue::Float(y)) => x.to_bits() == y.to_bits(),
        (PyValue::Str(x), PyValue::Str(y)) => x == y,
        (PyValue::List(x), PyValue::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| identical(a, b))
        }
        (PyValue::Dict(x), PyValue::Dict(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && identical(va, vb))
        }
        _ => false,
    }
}

/// A peer value a handler wrote as a document (its text not yet dumped) is exactly what
/// `json.loads` of the text it dumps to gives, key kinds and order included, at every step
/// of every conformance case.
#[test]
fn written_documents_equal_parsing_their_text() {
    use grafana_source::log::parse_str;
    use grafana_source::reducer::step;
    use grafana_source::world::{PeerAtStart, State};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases");
    let mut served = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.to_string_lossy().into_owned();
        if !name.ends_with(".jsonl") || name.ends_with(".expected.jsonl") {
            continue;
        }
        let entries = parse_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let peer = PeerAtStart::from_hooks(entries.iter().map(|e| &*e.hook.name));
        let mut state = State::new(peer);
        for (n, entry) in entries.iter().enumerate() {
            state = step(Profile::Libpatch21, &state, entry).after;
            let Some(bag) = state.peer_data() else {
                continue;
            };
            for (k, value) in bag.iter() {
                if value.has_text() {
                    continue;
                }
                let doc = value.doc().unwrap().to_py();
                served += 1;
                let text = value.text();
                let parsed = py::json::loads(text).unwrap();
                assert!(
                    identical(&doc, &parsed),
                    "{name} step {n}: document for {k} differs from parsing {text}"
                );
            }
        }
    }
    assert!(served > 500, "only {served} documents checked");
}
