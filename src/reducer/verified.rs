//! The `verified` profile: reconcile semantics (ARCHITECTURE.md, "The `verified` profile").
//!
//! On the leader every hook recomputes the derived sources from the world view and
//! writes them, with the deletion list completed, only when the text changes. Malformed
//! remote data isolates its relation or unit with a [`Diagnostic`]; nothing here raises.
use super::{Diagnostic, Event, Handled};
use crate::log::{Endpoint, Entry, HookKind};
use crate::peer::{PeerBag, PeerValue};
use crate::py::{self, json, PyDict, PyKey, PyValue};
use crate::world::{Relation, State, UnitName};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Run the verified handler for `entry` on the world it sees.
pub fn handle(state: &State, entry: &Entry) -> Handled {
    let mut handled = Handled {
        peer: state.peer_data().cloned(),
        ..Handled::default()
    };
    let self_departing = entry.departing_unit.is_some() && entry.departing_unit == state.unit;
    if !state.leader {
        if entry.hook.endpoint == Endpoint::Peer && entry.hook.kind == HookKind::RelationChanged {
            handled.emitted = vec![Event::SourcesChanged, Event::SourcesToDeleteChanged];
        }
        return handled;
    }
    let Some(bag) = &mut handled.peer else {
        return handled;
    };
    if self_departing {
        return handled;
    }
    let legacy = match (entry.hook.kind, &entry.stored_state) {
        (HookKind::UpgradeCharm, Some(stored)) => legacy_names(stored),
        _ => Vec::new(),
    };
    let (emitted, diagnostics) = reconcile(state, bag, legacy);
    handled.emitted = emitted;
    handled.diagnostics = diagnostics;
    handled
}

fn key(s: &str) -> PyKey {
    PyKey::Str(Arc::from(s))
}

fn string(s: &str) -> PyValue {
    PyValue::Str(Arc::from(s))
}

/// The names in a list of peer source entries (entries without a string name are skipped).
fn entry_names(entries: &PyValue) -> Vec<Arc<str>> {
    let PyValue::List(items) = entries else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|e| match py::get_str(e, "source_name") {
            Ok(Some(PyValue::Str(n))) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// Lenient read of a JSON peer value; `None` when missing, empty or unreadable.
fn peer_json(bag: &PeerBag, k: &str) -> Option<PyValue> {
    bag.get(k)
        .filter(|t| !t.is_empty())
        .and_then(|t| t.doc().ok().map(|d| d.to_py()))
}

/// Every name a legacy `StoredState` knew: its `sources_to_delete` and the names of its
/// `sources` entries (`source_name`, or the older `source-name`). They were provisioned
/// once, so unless derivable now they belong in `sources_to_delete`.
fn legacy_names(stored: &PyValue) -> Vec<Arc<str>> {
    let mut names = Vec::new();
    if let Ok(Some(PyValue::List(items))) = py::get_str(stored, "sources_to_delete") {
        names.extend(items.iter().filter_map(|v| match v {
            PyValue::Str(s) => Some(s.clone()),
            _ => None,
        }));
    }
    if let Ok(Some(PyValue::Dict(by_rel))) = py::get_str(stored, "sources") {
        for entries in by_rel.values() {
            let PyValue::List(items) = entries else {
                continue;
            };
            for item in items {
                for k in ["source_name", "source-name"] {
                    if let Ok(Some(PyValue::Str(n))) = py::get_str(item, k) {
                        names.push(n.clone());
                        break;
                    }
                }
            }
        }
    }
    names
}

/// Recompute `sources` and `sources_to_delete` from the world view; write what changed.
/// `legacy`: names from a legacy `StoredState` (upgrade), treated as once provisioned.
fn reconcile(
    state: &State,
    bag: &mut PeerBag,
    legacy: Vec<Arc<str>>,
) -> (Vec<Event>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let old_sources = match peer_json(bag, "sources") {
        Some(PyValue::Dict(d)) => d,
        _ => PyDict::default(),
    };
    let old_delete: Vec<Arc<str>> = match peer_json(bag, "sources_to_delete") {
        Some(PyValue::List(items)) => items
            .into_iter()
            .filter_map(|v| match v {
                PyValue::Str(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };

    let mut sources = PyDict::default();
    let mut taken: BTreeSet<Arc<str>> = BTreeSet::new();
    // Relations this unit is leaving keep exactly what they had, first, so they keep
    // their names in any collision.
    for (k, entries) in &old_sources {
        let id = match k {
            PyKey::Str(s) => s.parse::<u64>().ok(),
            PyKey::Int(n) => u64::try_from(*n).ok(),
        };
        if id.is_some_and(|id| state.leaving.contains(&id)) {
            taken.extend(entry_names(entries));
            sources.insert(k.clone(), entries.clone());
        }
    }
    for (id, rel) in &state.relations {
        if state.leaving.contains(id) {
            continue;
        }
        let entries = derive_relation(*id, rel, &mut taken, &mut diagnostics);
        if !entries.is_empty() {
            sources.insert(PyKey::Int(*id as i64), PyValue::List(entries));
        }
    }
    sources.sort_by(|a, _, b, _| rel_id_of(a).cmp(&rel_id_of(b)));

    let now: BTreeSet<Arc<str>> = sources.values().flat_map(entry_names).collect();
    let mut delete: Vec<Arc<str>> = Vec::new();
    let old_names = old_sources.values().flat_map(entry_names);
    for name in old_delete.into_iter().chain(old_names).chain(legacy) {
        if !now.contains(&name) && !delete.contains(&name) {
            delete.push(name);
        }
    }
    let delete = PyValue::List(delete.iter().map(|n| PyValue::Str(n.clone())).collect());

    let mut emitted = Vec::new();
    if write_if_changed(bag, "sources", &PyValue::Dict(sources)) {
        emitted.push(Event::SourcesChanged);
    }
    if write_if_changed(bag, "sources_to_delete", &delete) {
        emitted.push(Event::SourcesToDeleteChanged);
    }
    (emitted, diagnostics)
}

fn rel_id_of(k: &PyKey) -> u64 {
    match k {
        PyKey::Str(s) => s.parse().unwrap_or(u64::MAX),
        PyKey::Int(n) => u64::try_from(*n).unwrap_or(u64::MAX),
    }
}

/// Write `value` under `k` unless the text would not change. A missing key counts as the
/// empty value, so a leader with nothing to say writes nothing.
fn write_if_changed(bag: &mut PeerBag, k: &str, value: &PyValue) -> bool {
    let text = json::dumps(value);
    let current = bag.get(k).map(|t| &**t.text());
    let unchanged = match current {
        Some(t) => *t == *text,
        None => !value.truthy(),
    };
    if unchanged {
        return false;
    }
    bag.insert(Arc::from(k), PeerValue::from_text(Arc::from(text)));
    true
}

/// The well-formed `grafana_source_data` of a relation.
struct SourceData {
    model: Arc<str>,
    uuid: Arc<str>,
    application: Arc<str>,
    source_type: PyValue,
    extra_fields: Option<PyValue>,
    secure_extra_fields: Option<PyValue>,
}

fn diag(relation: u64, unit: Option<&str>, field: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        relation: Some(relation),
        unit: unit.map(str::to_string),
        field: field.to_string(),
        message: message.into(),
    }
}

/// Parse and validate a relation's `grafana_source_data`. `Ok(None)`: nothing published yet.
fn source_data(id: u64, rel: &Relation) -> Result<Option<SourceData>, Diagnostic> {
    const FIELD: &str = "grafana_source_data";
    let Some(text) = rel.app_data.get(FIELD) else {
        return Ok(None);
    };
    let value = json::loads(text)
        .map_err(|e| diag(id, None, FIELD, format!("not valid JSON ({})", e.name())))?;
    if !value.truthy() {
        return Ok(None);
    }
    let PyValue::Dict(d) = &value else {
        return Err(diag(
            id,
            None,
            FIELD,
            format!("a JSON {}, not an object", value.type_name()),
        ));
    };
    let text_field = |name: &str| -> Result<Arc<str>, Diagnostic> {
        match d.get(&key(name)) {
            Some(PyValue::Str(s)) => Ok(s.clone()),
            Some(other) => Err(diag(
                id,
                None,
                &format!("{FIELD}.{name}"),
                format!("a {}, not a string", other.type_name()),
            )),
            None => Err(diag(id, None, &format!("{FIELD}.{name}"), "missing")),
        }
    };
    let model = text_field("model")?;
    let uuid = text_field("model_uuid")?;
    let application = text_field("application")?;
    let source_type = PyValue::Str(text_field("type")?);
    let object_field = |name: &str| -> Result<Option<PyValue>, Diagnostic> {
        match d.get(&key(name)) {
            Some(v @ PyValue::Dict(m)) if !m.is_empty() => Ok(Some(v.clone())),
            Some(v) if v.truthy() => Err(diag(
                id,
                None,
                &format!("{FIELD}.{name}"),
                format!("a {}, not an object", v.type_name()),
            )),
            _ => Ok(None),
        }
    };
    let extra_fields = object_field("extra_fields")?;
    let secure_extra_fields = object_field("secure_extra_fields")?;
    if let Some(PyValue::Dict(ef)) = &extra_fields {
        if let Some(t) = ef.get(&key("timeout")) {
            if py::py_int(t).is_err() {
                return Err(diag(
                    id,
                    None,
                    &format!("{FIELD}.extra_fields.timeout"),
                    format!("a {} that int() rejects", t.type_name()),
                ));
            }
        }
    }
    Ok(Some(SourceData {
        model,
        uuid,
        application,
        source_type,
        extra_fields,
        secure_extra_fields,
    }))
}

/// Whether `name` is a Juju unit name `app/N`.
fn unit_number(name: &UnitName) -> Option<&str> {
    let (app, n) = name.0.split_once('/')?;
    (!app.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(n)
}

/// The derived entries of one relation, in unit order; collisions and malformed units are
/// dropped with diagnostics.
fn derive_relation(
    id: u64,
    rel: &Relation,
    taken: &mut BTreeSet<Arc<str>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<PyValue> {
    let sd = match source_data(id, rel) {
        Ok(Some(sd)) => sd,
        Ok(None) => return Vec::new(),
        Err(d) => {
            diagnostics.push(d);
            return Vec::new();
        }
    };
    let mut entries = Vec::new();
    for (unit, bag) in &rel.units {
        let Some(host) = bag.get("grafana_source_host").filter(|h| !h.is_empty()) else {
            continue;
        };
        let Some(n) = unit_number(unit) else {
            diagnostics.push(diag(
                id,
                Some(&unit.0),
                "unit",
                "not a Juju unit name `app/N`",
            ));
            continue;
        };
        let name: Arc<str> = Arc::from(format!(
            "juju_{}_{}_{}_{}",
            sd.model, sd.uuid, sd.application, n
        ));
        if !taken.insert(name.clone()) {
            diagnostics.push(diag(
                id,
                Some(&unit.0),
                "source_name",
                format!("`{name}` is already provisioned by an earlier relation or unit; this one is not provisioned"),
            ));
            continue;
        }
        let url = if crate::invariants::has_rfc3986_scheme(host) {
            host.to_string()
        } else {
            format!("http://{host}")
        };
        let mut e = PyDict::default();
        e.insert(key("unit"), PyValue::Str(unit.0.clone()));
        e.insert(key("source_name"), PyValue::Str(name));
        e.insert(key("source_type"), sd.source_type.clone());
        e.insert(key("url"), string(&url));
        if let Some(ef) = &sd.extra_fields {
            e.insert(key("extra_fields"), ef.clone());
        }
        if let Some(sef) = &sd.secure_extra_fields {
            e.insert(key("secure_extra_fields"), sef.clone());
        }
        entries.push(PyValue::Dict(e));
    }
    entries
}
