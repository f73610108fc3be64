//! The `libpatch21` profile: `GrafanaSourceConsumer` of LIBPATCH 21, statement by
//! statement.
//!
//! Each handler below mirrors one method of the reference, in the same order of
//! evaluation, over Python values ([`PyValue`]) so that corrupt relation or peer data
//! fails (or, as often, does not fail) exactly as CPython would. Comments quote the
//! reference line being reproduced where the correspondence is not obvious.
use super::{Event, Handled};
use crate::log::{Databag, Endpoint, Entry, HookKind};
use crate::py::json;
use crate::py::{self, PyDict, PyExc, PyKey, PyValue};
use crate::world::{PeerCache, Relation, State};
use std::sync::Arc;

/// Run the consumer's handler for `entry` on the world it sees.
pub fn handle(state: &State, entry: &Entry) -> Result<Handled, PyExc> {
    let mut tx = Tx::new(state);
    let emitted = match (entry.hook.endpoint, entry.hook.kind) {
        (Endpoint::Source, HookKind::RelationChanged) => relation_changed(&mut tx)?,
        (Endpoint::Source, HookKind::RelationDeparted) => relation_departed(&mut tx, entry)?,
        (Endpoint::Peer, HookKind::RelationChanged) => peer_changed(state),
        (_, HookKind::UpgradeCharm) => {
            upgrade_keys(&mut tx, entry.stored_state.as_ref())?;
            Vec::new()
        }
        _ => Vec::new(),
    };
    Ok(Handled {
        peer: tx.peer,
        emitted,
        diagnostics: Vec::new(),
        parsed: tx.written,
    })
}

/// The handler's view of the peer databag: reads parse the text, writes stage new text.
/// Nothing reaches the state unless the whole handler returns `Ok`.
struct Tx<'s> {
    state: &'s State,
    peer: Option<Databag>,
    /// What this handler wrote, parsed (the value it dumped).
    written: PeerCache,
}

impl<'s> Tx<'s> {
    fn new(state: &'s State) -> Self {
        Tx {
            state,
            peer: state.peer_data().cloned(),
            written: PeerCache::default(),
        }
    }

    /// `get_peer_data(key)`: `{}` without a peer relation or for an empty/missing value,
    /// otherwise `json.loads` of the text.
    fn get_peer_data(&self, key: &str) -> Result<PyValue, PyExc> {
        match self.peer.as_ref().and_then(|bag| bag.get(key)) {
            Some(text) if !text.is_empty() => {
                let cached = self
                    .written
                    .get(key, text)
                    .or_else(|| self.state.peer_parsed.get(key, text));
                match cached {
                    Some(v) => Ok((**v).clone()),
                    None => json::loads(text),
                }
            }
            _ => Ok(PyValue::Dict(PyDict::default())),
        }
    }

    /// `set_peer_data(key, data)`: `json.dumps`; skipped without a peer relation.
    fn set_peer_data(&mut self, key: &str, data: PyValue) {
        if let Some(bag) = &mut self.peer {
            let text: Arc<str> = Arc::from(json::dumps(&data));
            bag.insert(Arc::from(key), text.clone());
            let (value, depth) = as_loaded(data);
            // `loads` of text nested this deep raises instead: leave that to the real parse.
            if depth < json::MAX_DEPTH {
                self.written
                    .0
                    .insert(Arc::from(key), (text, Arc::new(value)));
            }
        }
    }
}

/// `data` as `json.loads(json.dumps(data))` returns it, with its nesting depth: `dumps`
/// writes int keys as strings (a duplicate keeps its first position and its last value, as
/// `loads` does); every other value reads back as it was written.
fn as_loaded(data: PyValue) -> (PyValue, usize) {
    match data {
        PyValue::Dict(d) => {
            let mut depth = 0;
            let d = d
                .into_iter()
                .map(|(k, v)| {
                    let k = match k {
                        PyKey::Int(n) => PyKey::Str(Arc::from(n.to_string())),
                        k => k,
                    };
                    let (v, dv) = as_loaded(v);
                    depth = depth.max(dv);
                    (k, v)
                })
                .collect();
            (PyValue::Dict(d), depth + 1)
        }
        PyValue::List(items) => {
            let mut depth = 0;
            let items = items
                .into_iter()
                .map(|v| {
                    let (v, dv) = as_loaded(v);
                    depth = depth.max(dv);
                    v
                })
                .collect();
            (PyValue::List(items), depth + 1)
        }
        other => (other, 0),
    }
}

fn s(text: &str) -> PyValue {
    PyValue::Str(Arc::from(text))
}

fn key(text: &str) -> PyKey {
    PyKey::Str(Arc::from(text))
}

/// `_on_grafana_source_relation_changed`.
fn relation_changed(tx: &mut Tx) -> Result<Vec<Event>, PyExc> {
    if tx.state.leader {
        let mut sources = PyDict::default();
        for (id, rel) in &tx.state.relations {
            let source = get_source_config(tx, rel)?;
            // `if source:` — None and the empty list are both skipped.
            if let Some(list) = source.filter(|l| !l.is_empty()) {
                sources.insert(PyKey::Int(*id as i64), PyValue::List(list));
            }
        }
        tx.set_peer_data("sources", PyValue::Dict(sources));
    }
    Ok(vec![Event::SourcesChanged])
}

/// `_get_source_config(rel)`.
fn get_source_config(tx: &mut Tx, rel: &Relation) -> Result<Option<Vec<PyValue>>, PyExc> {
    // rel.data[rel.app].get("grafana_source_data", "{}")
    let text = rel
        .app_data
        .get("grafana_source_data")
        .map_or("{}", |t| &**t);
    let source_data = json::loads(text)?;
    if !source_data.truthy() {
        return Ok(None);
    }
    let mut data = Vec::new();
    let mut sources_to_delete = tx.get_peer_data("sources_to_delete")?;
    for (unit_name, host_addr) in relation_hosts(rel) {
        // "juju_{}_{}_{}_{}".format(source_data["model"], source_data["model_uuid"],
        //     source_data["application"], unit_name.split("/")[1])
        let model = py::getitem_str(&source_data, "model")?.py_str();
        let uuid = py::getitem_str(&source_data, "model_uuid")?.py_str();
        let app = py::getitem_str(&source_data, "application")?.py_str();
        let suffix = unit_name.split('/').nth(1).ok_or(PyExc::IndexError)?;
        let unique_source_name = format!("juju_{model}_{uuid}_{app}_{suffix}");

        let host = if py::match_word_scheme(host_addr) {
            host_addr.to_string()
        } else {
            format!("http://{host_addr}")
        };
        let mut host_data = PyDict::default();
        host_data.insert(key("unit"), s(unit_name));
        host_data.insert(key("source_name"), s(&unique_source_name));
        host_data.insert(
            key("source_type"),
            py::getitem_str(&source_data, "type")?.clone(),
        );
        host_data.insert(key("url"), s(&host));
        for field in ["extra_fields", "secure_extra_fields"] {
            if let Some(v) = py::get_str(&source_data, field)?.filter(|v| v.truthy()) {
                host_data.insert(key(field), v.clone());
            }
        }
        // if host_data["source_name"] in sources_to_delete:
        //     sources_to_delete.remove(host_data["source_name"])
        let name = s(&unique_source_name);
        if py::contains(&sources_to_delete, &name)? {
            list_remove(&mut sources_to_delete, &name)?;
        }
        data.push(PyValue::Dict(host_data));
    }
    // self.set_peer_data("sources_to_delete", list(sources_to_delete))
    let list = py::to_list(&sources_to_delete)?;
    tx.set_peer_data("sources_to_delete", PyValue::List(list));
    Ok(Some(data))
}

/// `_relation_hosts(rel)`: units whose `grafana_source_host` is set and non-empty.
fn relation_hosts(rel: &Relation) -> impl Iterator<Item = (&str, &str)> {
    rel.units.iter().filter_map(|(unit, bag)| {
        let host = bag.get("grafana_source_host")?;
        (!host.is_empty()).then_some((&*unit.0, &**host))
    })
}

/// Python `x.remove(item)`: lists remove the first element equal as `in` tests it;
/// nothing else has the method.
fn list_remove(container: &mut PyValue, item: &PyValue) -> Result<(), PyExc> {
    match container {
        PyValue::List(items) => {
            let at = items
                .iter()
                .position(|e| py::py_eq_member(e, item))
                .ok_or(PyExc::ValueError)?;
            items.remove(at);
            Ok(())
        }
        _ => Err(PyExc::AttributeError),
    }
}

/// Python `x.append(item)`.
fn list_append(container: &mut PyValue, item: PyValue) -> Result<(), PyExc> {
    match container {
        PyValue::List(items) => {
            items.push(item);
            Ok(())
        }
        _ => Err(PyExc::AttributeError),
    }
}

/// `_on_grafana_source_relation_departed`.
fn relation_departed(tx: &mut Tx, entry: &Entry) -> Result<Vec<Event>, PyExc> {
    let removed = tx.state.leader && remove_source_from_datastore(tx, entry)?;
    Ok(if removed {
        vec![Event::SourcesToDeleteChanged]
    } else {
        Vec::new()
    })
}

/// `_remove_source_from_datastore(event)`.
fn remove_source_from_datastore(tx: &mut Tx, entry: &Entry) -> Result<bool, PyExc> {
    let rel_id = entry.relation.as_ref().map_or(0, |r| r.id);
    let mut stored_sources = tx.get_peer_data("sources")?;
    // stored_sources.pop(str(rel_id), None)
    let removed_source = match &mut stored_sources {
        PyValue::Dict(d) => d.shift_remove(&key(&rel_id.to_string())),
        // list.pop takes at most one argument
        PyValue::List(_) => return Err(PyExc::TypeError),
        _ => return Err(PyExc::AttributeError),
    };
    let Some(removed_source) = removed_source.filter(|v| v.truthy()) else {
        return Ok(false);
    };
    match &entry.remote_unit {
        Some(unit) => {
            let unit = s(unit);
            let items = py::to_list(&removed_source)?;
            // dead_unit = [s for s in removed_source if s["unit"] == event.unit.name][0]
            let mut matching = Vec::new();
            for item in &items {
                if py::py_eq(py::getitem_str(item, "unit")?, &unit) {
                    matching.push(item);
                }
            }
            let dead_unit = matching.first().ok_or(PyExc::IndexError)?;
            let dead_name = py::getitem_str(dead_unit, "source_name")?.clone();
            remove_source(tx, dead_name)?;
            // stored_sources[rel_id] = [dict(s) for s in removed_source if s["unit"] != ...]
            let mut kept = Vec::new();
            for item in &items {
                if !py::py_eq(py::getitem_str(item, "unit")?, &unit) {
                    kept.push(item.clone());
                }
            }
            if let PyValue::Dict(d) = &mut stored_sources {
                d.insert(PyKey::Int(rel_id as i64), PyValue::List(kept));
            }
        }
        None => {
            for host in py::to_list(&removed_source)? {
                remove_source(tx, py::getitem_str(&host, "source_name")?.clone())?;
            }
        }
    }
    tx.set_peer_data("sources", stored_sources);
    Ok(true)
}

/// `_remove_source(source_name)`.
fn remove_source(tx: &mut Tx, source_name: PyValue) -> Result<(), PyExc> {
    // self.get_peer_data("sources_to_delete") or []
    let mut sources_to_delete = tx.get_peer_data("sources_to_delete")?;
    if !sources_to_delete.truthy() {
        sources_to_delete = PyValue::List(Vec::new());
    }
    if !py::contains(&sources_to_delete, &source_name)? {
        list_append(&mut sources_to_delete, source_name)?;
        tx.set_peer_data("sources_to_delete", sources_to_delete);
    }
    Ok(())
}

/// `_on_grafana_peer_changed`: only non-leaders re-emit, both events.
fn peer_changed(state: &State) -> Vec<Event> {
    if state.leader {
        Vec::new()
    } else {
        vec![Event::SourcesChanged, Event::SourcesToDeleteChanged]
    }
}

/// `upgrade_keys()`, with `stored_state` as the consumer's legacy `StoredState`.
fn upgrade_keys(tx: &mut Tx, stored_state: Option<&PyValue>) -> Result<(), PyExc> {
    if !tx.state.leader {
        return Ok(());
    }
    // _set_default_data()
    for (k, default) in [
        ("sources", PyValue::Dict(PyDict::default())),
        ("sources_to_delete", PyValue::List(Vec::new())),
    ] {
        if !tx.get_peer_data(k)?.truthy() {
            tx.set_peer_data(k, default);
        }
    }
    let stored = |k: &str| match stored_state {
        Some(PyValue::Dict(d)) => d.get(&key(k)).cloned(),
        _ => None,
    };
    let stored_sources = stored("sources").unwrap_or(PyValue::Dict(PyDict::default()));
    let stored_to_delete = stored("sources_to_delete").unwrap_or(PyValue::List(Vec::new()));

    // sources = _type_convert_stored(self._stored.sources)
    let mut sources = stored_sources.clone();
    let PyValue::Dict(by_rel) = &mut sources else {
        return Err(PyExc::AttributeError); // .keys()
    };
    for entries in by_rel.values_mut() {
        hyphens_to_underscores(entries)?;
    }
    if stored_sources.truthy() {
        let peer_sources = tx.get_peer_data("sources")?;
        dict_update(by_rel, peer_sources)?;
        tx.set_peer_data("sources", sources);
    }
    if stored_to_delete.truthy() {
        // set(self.get_peer_data("sources_to_delete")), then set.union(StoredSet, set):
        // `set.union` refuses a StoredSet, so this always raises TypeError.
        tx.get_peer_data("sources_to_delete")?;
        return Err(PyExc::TypeError);
    }
    Ok(())
}

/// `for i in range(len(sources[rel_id])): sources[rel_id][i].update({k.replace("-", "_"): v
/// for k, v in sources[rel_id][i].items()})`.
fn hyphens_to_underscores(entries: &mut PyValue) -> Result<(), PyExc> {
    match entries {
        PyValue::List(items) => {
            for item in items {
                let PyValue::Dict(d) = item else {
                    return Err(PyExc::AttributeError); // .items()
                };
                let renamed: Vec<(PyKey, PyValue)> = d
                    .iter()
                    .map(|(k, v)| match k {
                        PyKey::Str(k) => Ok((key(&k.replace('-', "_")), v.clone())),
                        PyKey::Int(_) => Err(PyExc::AttributeError), // int has no .replace
                    })
                    .collect::<Result<_, _>>()?;
                d.extend(renamed);
            }
            Ok(())
        }
        // A dict's keys are strings: `d[0]` raises KeyError.
        PyValue::Dict(d) if !d.is_empty() => Err(PyExc::KeyError),
        PyValue::Dict(_) => Ok(()),
        // A string indexes to one-character strings, which have no `.items()`.
        PyValue::Str(t) if !t.is_empty() => Err(PyExc::AttributeError),
        PyValue::Str(_) => Ok(()),
        _ => Err(PyExc::TypeError), // len()
    }
}

/// Python `dict.update(other)`.
fn dict_update(target: &mut PyDict, other: PyValue) -> Result<(), PyExc> {
    match other {
        PyValue::Dict(d) => {
            target.extend(d);
            Ok(())
        }
        PyValue::List(items) => {
            for item in items {
                let pair = py::to_list(&item)?;
                let [k, v] = <[PyValue; 2]>::try_from(pair).map_err(|_| PyExc::ValueError)?;
                let k = match k {
                    PyValue::Str(t) => PyKey::Str(t),
                    PyValue::Int(crate::py::PyInt::Small(n)) => PyKey::Int(n),
                    _ => return Err(PyExc::TypeError),
                };
                target.insert(k, v);
            }
            Ok(())
        }
        // Each character is a sequence of length 1, not a key/value pair.
        PyValue::Str(t) if !t.is_empty() => Err(PyExc::ValueError),
        PyValue::Str(_) => Ok(()),
        _ => Err(PyExc::TypeError),
    }
}
