//! The `verified` profile: reconcile semantics (ARCHITECTURE.md, "The `verified` profile").
//!
//! On the leader every hook recomputes the derived sources from the world view and
//! writes them, with the deletion list completed, only when the text changes. Malformed
//! remote data isolates its relation or unit with a [`Diagnostic`]; nothing here raises.
use super::{Diagnostic, Emitted, Event, Handled, UnitEntry};
use crate::log::{Endpoint, Entry, HookKind};
use crate::peer::{Doc, PDict, PList, PeerBag, PeerValue};
use crate::py::{self, json, PyDict, PyKey, PyValue};
use crate::world::{Memo, Relation, RelationsHint, RelationsSeen, State, UnitName};
use imbl::OrdMap;
use std::collections::BTreeSet;
use std::sync::Arc;

const SOURCES: &str = "sources";
const TO_DELETE: &str = "sources_to_delete";

/// Run the verified handler for `entry` on the world it sees. With `memo`, the leader's
/// reconcile derives only the relations that changed since the last one
/// ([`ReconcileCache`]); without, it recomputes everything (the oracle).
///
/// A hook naming a remote unit of another application than the relation's
/// ([`Entry::remote_unit_app_mismatch`], which ops refuses with `RuntimeError`) runs like
/// any other, with a diagnostic saying so: the world view counts the unit as a member
/// either way, and the derivation never provisions it (`derive_units`).
pub fn handle(state: &State, entry: &Entry, memo: Option<(&mut Memo, RelationsHint)>) -> Handled {
    let mut handled = handle_hook(state, entry, memo);
    if let (true, Some(rel), Some(unit)) = (
        entry.remote_unit_app_mismatch(),
        &entry.relation,
        &entry.remote_unit,
    ) {
        let what = if rel.remote_app.is_empty() {
            format!("`{unit}` has no `/` and the hook names no application")
        } else {
            format!(
                "`{unit}` is not a unit of the hook's application `{}`",
                rel.remote_app
            )
        };
        let message = format!(
            "{what}: Juju never runs such a hook, and ops fails it (RuntimeError) before \
             any handler; this profile runs it as any other"
        );
        handled
            .diagnostics
            .insert(0, diag(rel.id, Some(unit), "remote_unit", message));
    }
    handled
}

fn handle_hook(state: &State, entry: &Entry, memo: Option<(&mut Memo, RelationsHint)>) -> Handled {
    let mut handled = Handled {
        peer: state.peer_data().cloned(),
        ..Handled::default()
    };
    let self_departing = entry.departing_unit.is_some() && entry.departing_unit == state.unit;
    if !state.leader {
        if entry.hook.endpoint == Endpoint::Peer && entry.hook.kind == HookKind::RelationChanged {
            handled.emitted =
                smallvec::smallvec![Event::SourcesChanged, Event::SourcesToDeleteChanged];
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
    // A relation id too big for a canonical place: the whole reconcile.
    let memo = memo.filter(|_| state.ids_placeable());
    let (emitted, diagnostics) = match memo {
        Some((memo, hint)) => {
            // Changed in place: the memo moved along by a replay is the only owner.
            let cache = Arc::make_mut(memo.verified.get_or_insert_with(Default::default));
            reconcile_incremental(state, bag, legacy, cache, hint)
        }
        None => reconcile(state, bag, legacy),
    };
    handled.emitted = emitted;
    handled.diagnostics = diagnostics;
    handled
}

/// One relation derived on its own: its entries (collisions inside the relation already
/// dropped), the units they were made for (with their names), and its diagnostics.
struct Derived {
    entries: Arc<PyValue>,
    diagnostics: Vec<Diagnostic>,
    /// The `grafana_source_data` text and what [`source_data`] made of it.
    source: Option<(Arc<str>, Arc<ParsedSource>)>,
    /// Each entry with the unit and host it was made from.
    units: Vec<Arc<UnitEntry>>,
    /// The relation's application they were made under (their units are its own).
    app: Arc<str>,
}

/// The names of a relation's entries (none when it is not derived).
fn names_of(d: Option<&Derived>) -> impl Iterator<Item = &Arc<str>> + Clone {
    super::unit_names(d.map_or(&[], |d| &d.units))
}

/// What [`source_data`] gives for a relation.
type ParsedSource = Result<Option<SourceData>, Diagnostic>;

/// [`derive_relation`] for one relation on its own, reusing what `prev` (the same relation
/// derived before) parsed and built when its inputs are unchanged.
fn derive_alone(id: u64, rel: &Relation, prev: Option<&Derived>) -> Derived {
    let raw = rel.app_data.get_interned(&crate::databag::SOURCE_DATA);
    let reused = prev
        .and_then(|p| p.source.as_ref())
        .filter(|(t, _)| raw.is_some_and(|r| crate::log::same_text(r, t)));
    let (source, sd) = match reused {
        Some((t, sd)) => (Some((t.clone(), sd.clone())), sd.clone()),
        None => {
            let sd = Arc::new(source_data(id, rel));
            (raw.map(|t| (t.clone(), sd.clone())), sd)
        }
    };
    let mut diagnostics = Vec::new();
    let units = match &*sd {
        Ok(Some(data)) => {
            let same_source = prev
                .filter(|p| crate::log::same_text(&p.app, &rel.app))
                .and_then(|p| p.source.as_ref())
                .is_some_and(|(_, old)| Arc::ptr_eq(old, &sd));
            let reuse = match prev {
                Some(p) if same_source => &p.units[..],
                _ => &[],
            };
            derive_units(id, rel, data, &mut OwnNames, &mut diagnostics, reuse)
        }
        Ok(None) => Vec::new(),
        Err(d) => {
            diagnostics.push(d.clone());
            Vec::new()
        }
    };
    let entries = PyValue::List(units.iter().map(|u| u.entry.clone()).collect());
    Derived {
        entries: Arc::new(entries),
        diagnostics,
        source,
        units,
        app: rel.app.clone(),
    }
}

/// Whether two values dump to the same JSON text (shared dicts compare by pointer).
fn same_json(a: &PyValue, b: &PyValue) -> bool {
    match (a, b) {
        (PyValue::Dict(x), PyValue::Dict(y)) => {
            Arc::ptr_eq(x, y)
                || (x.len() == y.len()
                    && x.iter().zip(y.iter()).all(|((ka, va), (kb, vb))| {
                        let text = |k: &PyKey| match k {
                            PyKey::Str(s) => s.to_string(),
                            PyKey::Int(n) => n.to_string(),
                        };
                        (ka == kb || text(ka) == text(kb)) && same_json(va, vb)
                    }))
        }
        (PyValue::List(x), PyValue::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (PyValue::Str(x), PyValue::Str(y)) => x == y,
        (PyValue::Float(x), PyValue::Float(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (PyValue::Int(x), PyValue::Int(y)) => x == y,
        (PyValue::Bool(x), PyValue::Bool(y)) => x == y,
        (PyValue::None, PyValue::None) => true,
        _ => false,
    }
}

/// The leader's reconcile, memoised: each relation derived on its own, for the relations
/// map it records (brought up to date by an `imbl` diff), the `sources` document those
/// give, the count of every name, and the peer values the last reconcile left.
///
/// When no name is derived twice and no relation is being left, deriving the relations
/// together (the full `reconcile`) gives what deriving them apart gives; and when the
/// peer values are still the ones the last reconcile left, the deletions follow from the
/// names that came and went. Otherwise the full reconcile runs.
#[derive(Clone, Default)]
pub struct ReconcileCache {
    /// The relations these results are for.
    pub(crate) seen: RelationsSeen,
    derived: OrdMap<u64, Arc<Derived>>,
    names: crate::names::NameCounts,
    /// Names derived more than once.
    dups: usize,
    /// `{id: entries}` for the relations with entries, ascending.
    doc: PDict,
    /// Relations with diagnostics.
    diagnosed: OrdMap<u64, Arc<Derived>>,
    /// `sources` and `sources_to_delete` as the last reconcile left them, when they are
    /// `doc` and a list disjoint from `names`.
    written: Option<(Option<PeerValue>, Option<PeerValue>)>,
}

/// What changed in a [`ReconcileCache::update`].
struct Changes {
    /// Names derived now and not before.
    entering: Vec<Arc<str>>,
    /// Names derived before and not now, in the order of the `sources` document before.
    leaving: Vec<Arc<str>>,
    /// Whether the document's text changed.
    doc_changed: bool,
}

impl ReconcileCache {
    fn update(&mut self, rels: &OrdMap<u64, Arc<Relation>>, hint: RelationsHint) -> Changes {
        let changed = self
            .seen
            .changes(rels, hint, |id| self.derived.contains_key(&id));
        self.doc.begin_edit();
        let mut delta = crate::names::Delta::default();
        // The results replaced, in order: only names that vanish on net are looked up in
        // them, which gives their order in `sources_to_delete`.
        let mut replaced: Vec<Arc<Derived>> = Vec::new();
        let mut doc_changed = false;
        for (id, rel) in changed {
            // A relation derived again is rewritten where it stands: one walk of the map.
            let slot = self.derived.get_mut(&id);
            let old = slot.as_deref().cloned();
            replaced.extend(old.clone());
            let old_names = names_of(old.as_deref());
            self.diagnosed.remove(&id);
            let new = rel.map(|rel| Arc::new(derive_alone(id, &rel, old.as_deref())));
            // Entering names are struck from a set, so the order they are noted in does not
            // matter: a relation whose names did not change notes none.
            delta.replace(old_names, names_of(new.as_deref()));
            let non_empty = |d: &Option<Arc<Derived>>| {
                d.as_ref()
                    .filter(|d| matches!(&*d.entries, PyValue::List(l) if !l.is_empty()))
                    .cloned()
            };
            let new = match (non_empty(&old), non_empty(&new)) {
                (Some(a), Some(b)) if same_json(&a.entries, &b.entries) => {
                    // Same text: keep the old value, so the document is unchanged.
                    Some(Arc::new(Derived {
                        entries: a.entries.clone(),
                        diagnostics: b.diagnostics.clone(),
                        source: b.source.clone(),
                        units: b.units.clone(),
                        app: b.app.clone(),
                    }))
                }
                (None, None) => new,
                (_, b) => {
                    doc_changed = true;
                    self.doc.set_canonical(id, b.map(|b| b.entries.clone()));
                    new
                }
            };
            match new {
                Some(new) => {
                    if !new.diagnostics.is_empty() {
                        self.diagnosed.insert(id, new.clone());
                    }
                    match slot {
                        Some(at) => *at = new,
                        None => {
                            self.derived.insert(id, new);
                        }
                    }
                }
                None if slot.is_some() => {
                    self.derived.remove(&id);
                }
                None => {}
            }
        }
        let mut entering = Vec::new();
        let mut left = std::collections::HashSet::new();
        for m in delta.apply(&mut self.names) {
            self.dups = self.dups.wrapping_add_signed(m.dup_change());
            if m.appeared() {
                entering.push(m.name);
            } else if m.vanished() {
                left.insert(m.name);
            }
        }
        let mut leaving = Vec::new();
        // Most steps see no name vanish: then no old name needs looking up.
        if !left.is_empty() {
            for n in replaced.iter().flat_map(|d| names_of(Some(d))) {
                if left.remove(n) {
                    leaving.push(n.clone());
                }
            }
        }
        self.seen.set(rels);
        // The document may be stored in the peer databag next: later ones compare with it.
        self.doc.seal();
        Changes {
            entering,
            leaving,
            doc_changed,
        }
    }
}

fn same_value(a: Option<&PeerValue>, b: Option<&PeerValue>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.ptr_eq(b),
        _ => false,
    }
}

/// [`reconcile`] through the [`ReconcileCache`]; the same result.
fn reconcile_incremental(
    state: &State,
    bag: &mut PeerBag,
    legacy: Vec<Arc<str>>,
    cache: &mut ReconcileCache,
    hint: RelationsHint,
) -> (Emitted, Vec<Diagnostic>) {
    let changes = cache.update(&state.relations, hint);
    let together_is_apart = cache.dups == 0 && state.leaving.is_empty();
    let ours = cache.written.as_ref().is_some_and(|(s, d)| {
        same_value(s.as_ref(), bag.get(SOURCES)) && same_value(d.as_ref(), bag.get(TO_DELETE))
    });
    let old_delete = match bag
        .get(TO_DELETE)
        .filter(|v| !v.is_empty())
        .map(|v| v.doc())
    {
        None => Some(PList::default()),
        Some(Ok(Doc::List(l))) if l.is_set_of_strings() => Some(l.clone()),
        Some(_) => None,
    };
    let (true, true, true, Some(mut delete)) =
        (together_is_apart, ours, legacy.is_empty(), old_delete)
    else {
        let out = reconcile(state, bag, legacy);
        // The full reconcile wrote `doc` and deletions disjoint from the names, unless
        // names collided or a relation is being left.
        cache.written =
            together_is_apart.then(|| (bag.get(SOURCES).cloned(), bag.get(TO_DELETE).cloned()));
        return out;
    };
    let mut emitted = Emitted::new();
    let sources_now = bag.get(SOURCES).cloned();
    if changes.doc_changed && !(sources_now.is_none() && cache.doc.is_empty()) {
        bag.insert(
            Arc::from(SOURCES),
            PeerValue::from_doc(Doc::Dict(cache.doc.clone())),
        );
        emitted.push(Event::SourcesChanged);
    }
    let mut delete_changed = false;
    for n in &changes.entering {
        delete_changed |= delete.remove_str(n);
    }
    for n in changes.leaving {
        if !delete.contains_str(&n) {
            delete.push(PyValue::Str(n));
            delete_changed = true;
        }
    }
    let delete_now = bag.get(TO_DELETE).cloned();
    if delete_changed && !(delete_now.is_none() && delete.is_empty()) {
        bag.insert(Arc::from(TO_DELETE), PeerValue::from_doc(Doc::List(delete)));
        emitted.push(Event::SourcesToDeleteChanged);
    }
    cache.written = Some((bag.get(SOURCES).cloned(), bag.get(TO_DELETE).cloned()));
    let diagnostics = cache
        .diagnosed
        .values()
        .flat_map(|d| d.diagnostics.iter().cloned())
        .collect();
    (emitted, diagnostics)
}

fn key(s: &str) -> PyKey {
    PyKey::Str(crate::log::intern(s))
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
) -> (Emitted, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let old_sources = match peer_json(bag, "sources") {
        Some(PyValue::Dict(d)) => Arc::unwrap_or_clone(d),
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
            sources.insert(super::relation_key(*id), PyValue::List(entries));
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

    let mut emitted = Emitted::new();
    if write_if_changed(bag, "sources", &PyValue::dict(sources)) {
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
    const FIELD: &str = crate::provider::SOURCE_DATA_KEY;
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

/// The `N` of a Juju unit name `app/N`, given its application `app`
/// ([`crate::log::unit_application`] of it); none for any other name.
fn unit_number<'a>(name: &'a str, app: &str) -> Option<&'a str> {
    // Past the first `/`; none without one.
    let n = name.get(app.len() + 1..)?;
    (!app.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(n)
}

/// Names already provisioned: a second unit deriving one is refused.
trait Taken {
    /// Take `name`; `false` when it was taken already.
    fn take(&mut self, name: &Arc<str>) -> bool;
}

/// The names of every relation derived so far (the full reconcile).
impl Taken for BTreeSet<Arc<str>> {
    fn take(&mut self, name: &Arc<str>) -> bool {
        self.insert(name.clone())
    }
}

/// A relation derived on its own: its units' names never collide. Each is
/// `..._<application>_<N>` for a unit `<application>/<N>` of the relation's own
/// application (`derive_units` refuses the others), and two units of one application
/// differ in `N`. Collisions across relations are the caller's (`ReconcileCache`).
struct OwnNames;

impl Taken for OwnNames {
    fn take(&mut self, _: &Arc<str>) -> bool {
        true
    }
}

/// The derived entries of one relation, in unit order; collisions and malformed units are
/// dropped with diagnostics.
fn derive_relation(
    id: u64,
    rel: &Relation,
    taken: &mut BTreeSet<Arc<str>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<PyValue> {
    match source_data(id, rel) {
        Ok(Some(sd)) => derive_units(id, rel, &sd, taken, diagnostics, &[])
            .into_iter()
            .map(|u| u.entry.clone())
            .collect(),
        Ok(None) => Vec::new(),
        Err(d) => {
            diagnostics.push(d);
            Vec::new()
        }
    }
}

/// The entries of a relation's units under `sd`, as `(unit, host, entry)`. An entry in
/// `reuse` made from the same source data for the same unit and host is taken as is.
fn derive_units(
    id: u64,
    rel: &Relation,
    sd: &SourceData,
    taken: &mut impl Taken,
    diagnostics: &mut Vec<Diagnostic>,
    reuse: &[Arc<UnitEntry>],
) -> Vec<Arc<UnitEntry>> {
    let mut entries = Vec::new();
    for (unit, bag) in &rel.units {
        let Some(host) = bag
            .get_interned(&crate::databag::SOURCE_HOST)
            .filter(|h| !h.is_empty())
        else {
            continue;
        };
        // An entry made before from the same source data for the same unit (whose name
        // was found a Juju unit name then) has the name this one gets (shared, it compares
        // by pointer); at the same host too, it is the entry this one would be.
        let before = super::unit_entry_before(reuse, entries.len(), &unit.0);
        let reused = super::made_at(before, host);
        let made = |n: &str| {
            crate::log::concat(&[
                "juju_",
                &sd.model,
                "_",
                &sd.uuid,
                "_",
                &sd.application,
                "_",
                n,
            ])
        };
        let name: Arc<str> = match before {
            Some(u) => {
                debug_assert!(
                    crate::log::unit_application(&unit.0) == &*rel.app
                        && unit_number(&unit.0, &rel.app).is_some_and(|n| *u.name == *made(n)),
                    "{}",
                    u.name
                );
                u.name.clone()
            }
            None => {
                // Checked once per entry made: an entry is reused only under the same
                // source data and the same application (`derive_alone`).
                let app = crate::log::unit_application(&unit.0);
                let Some(n) = unit_number(&unit.0, app).filter(|_| app == &*rel.app) else {
                    let why = if app == &*rel.app {
                        "not a Juju unit name `app/N`".to_string()
                    } else {
                        // Its name would be one of the relation's own units'
                        // (`..._<application>_<N>`), and could take that unit's datasource.
                        format!(
                            "a unit of application `{app}`, not of the relation's `{}`: not \
                             provisioned",
                            rel.app
                        )
                    };
                    diagnostics.push(diag(id, Some(&unit.0), "unit", why));
                    continue;
                };
                made(n)
            }
        };
        if !taken.take(&name) {
            diagnostics.push(diag(
                id,
                Some(&unit.0),
                "source_name",
                format!("`{name}` is already provisioned by an earlier relation or unit; this one is not provisioned"),
            ));
            continue;
        }
        if let Some(u) = reused {
            entries.push(u.clone());
            continue;
        }
        let e = match before.map(|u| &u.entry) {
            // Made from the same source data for this unit at another host: the same
            // dict but for the url, in the same place.
            Some(PyValue::Dict(d)) => {
                let e = super::with_url(d, url(host));
                debug_assert!(
                    json::dumps(&PyValue::dict(e.clone()))
                        == json::dumps(&PyValue::dict(unit_entry(sd, unit, &name, host))),
                    "an entry made again from the one before differs from one made anew"
                );
                e
            }
            _ => unit_entry(sd, unit, &name, host),
        };
        entries.push(UnitEntry::new(&unit.0, host, PyValue::dict(e), name));
    }
    entries
}

/// The url of an entry for `host`: the host, given a scheme when it has none.
fn url(host: &Arc<str>) -> Arc<str> {
    if crate::invariants::has_rfc3986_scheme(host) {
        host.clone()
    } else {
        crate::log::concat(&["http://", host])
    }
}

/// The entry dict of `unit` at `host` under `sd`, named `name`.
fn unit_entry(sd: &SourceData, unit: &UnitName, name: &Arc<str>, host: &Arc<str>) -> PyDict {
    // Sized for the keys it gets: an entry is kept as long as its unit and host stay.
    let len =
        4 + usize::from(sd.extra_fields.is_some()) + usize::from(sd.secure_extra_fields.is_some());
    let mut e = PyDict::with_capacity(len);
    let keys = &*super::ENTRY_KEYS;
    e.insert(keys.unit.clone(), PyValue::Str(unit.0.clone()));
    e.insert(keys.source_name.clone(), PyValue::Str(name.clone()));
    e.insert(keys.source_type.clone(), sd.source_type.clone());
    e.insert(keys.url.clone(), PyValue::Str(url(host)));
    if let Some(ef) = &sd.extra_fields {
        e.insert(keys.extra_fields.clone(), ef.clone());
    }
    if let Some(sef) = &sd.secure_extra_fields {
        e.insert(keys.secure_extra_fields.clone(), sef.clone());
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full reconcile's set of taken names refuses the second of two equal names
    /// (equal text, not the same allocation) and takes different ones.
    #[test]
    fn a_name_is_taken_once() {
        let taken = &mut BTreeSet::new();
        // `Taken::take`, not `BTreeSet::take` (which removes).
        let mut take = |name: &Arc<str>| Taken::take(taken, name);
        let (a, a_again, b): (Arc<str>, Arc<str>, Arc<str>) = (
            "juju_m_u_app_1".into(),
            "juju_m_u_app_1".into(),
            "juju_m_u_app_2".into(),
        );
        assert!(take(&a));
        assert!(take(&b));
        assert!(!take(&a_again));
        assert!(!take(&b));
    }

    /// A hook whose unit ops would refuse runs (no exception here) with one diagnostic
    /// first, worded for the application the hook names or the one it lacks; any other
    /// hook gets none.
    #[test]
    fn a_unit_of_another_application_is_diagnosed() {
        let state = State::new(crate::world::PeerAtStart::Visible);
        let notes = |app: &str, unit: &str| {
            let line = format!(
                r#"{{"hook": "grafana-source-relation-joined", "relation": "grafana-source",
                "relation_id": 3, "remote_app": "{app}", "remote_unit": "{unit}"}}"#
            );
            let entry = crate::log::parse_line(1, &line).unwrap();
            handle(&state, &entry, None).diagnostics
        };
        let other = notes("prom", "loki/1");
        assert_eq!(other.len(), 1);
        assert_eq!(
            (other[0].relation, &*other[0].field),
            (Some(3), "remote_unit")
        );
        assert!(other[0]
            .message
            .starts_with("`loki/1` is not a unit of the hook's application `prom`"));
        let none = notes("", "loki");
        assert!(none[0]
            .message
            .starts_with("`loki` has no `/` and the hook names no application"));
        assert!(notes("prom", "prom/1").is_empty());
        assert!(notes("", "loki/1").is_empty());
    }

    /// See [`crate::reducer::test_relation::check_moved_host`].
    #[test]
    fn a_moved_host_keeps_its_unit_name() {
        crate::reducer::test_relation::check_moved_host(
            |r, p| derive_alone(7, r, p),
            |d: &Derived| &d.units,
        );
    }

    /// A unit whose name is not `app/N` gets no entry and a diagnostic, every time its
    /// relation is derived, from scratch or from the result before.
    #[test]
    fn a_unit_not_named_app_n_is_diagnosed_each_time() {
        use crate::reducer::test_relation::{moved, with_hosts};
        let rel = with_hosts("prom", &[("prom/0", "10.0.0.1"), ("prom/x", "10.0.0.2")]);
        let first = derive_alone(7, &rel, None);
        let again = derive_alone(7, &moved(&rel, "prom/x", "10.0.0.9"), Some(&first));
        for d in [&first, &again] {
            assert_eq!(d.units.len(), 1);
            assert_eq!(&*d.units[0].unit, "prom/0");
            let fields: Vec<_> = d
                .diagnostics
                .iter()
                .map(|g| (g.unit.as_deref(), &*g.field))
                .collect();
            assert_eq!(fields, [(Some("prom/x"), "unit")]);
        }
    }
}
