//! The `libpatch21` profile: `GrafanaSourceConsumer` of LIBPATCH 21, statement by
//! statement.
//!
//! Each handler below mirrors one method of the reference, in the same order of
//! evaluation, over Python values ([`PyValue`]) so that corrupt relation or peer data
//! fails (or, as often, does not fail) exactly as CPython would. Comments quote the
//! reference line being reproduced where the correspondence is not obvious.
use super::{Emitted, Event, Handled, UnitEntry};
use crate::log::{Endpoint, Entry, HookKind};
use crate::names::{Delta, NameCounts};
use crate::peer::{Doc, PDict, PList, PeerBag, PeerValue, Settled};
use crate::py::json;
use crate::py::{self, PyDict, PyExc, PyKey, PyValue};
use crate::world::{Memo, Relation, RelationsHint, RelationsSeen, State};
use imbl::{OrdMap, OrdSet};
use smallvec::{smallvec, SmallVec};
use std::sync::Arc;

const SOURCES: &str = "sources";
const TO_DELETE: &str = "sources_to_delete";

/// Run the consumer's handler for `entry` on the world it sees. `memo` carries the
/// per-relation derivations between steps (updated even when the hook fails: it records
/// the world, not the outcome).
///
/// `memo: None` runs the reference statement by statement, every relation derived again
/// on every `relation-changed`: the oracle the incremental path is tested against.
///
/// `stored`: the stored `sources` value, when the caller took it out of `state` (see
/// [`take_stored_sources`]); the handler lets go of it once the hook is bound to succeed,
/// and leaves it for the caller to put back when the hook fails.
pub fn handle(
    state: &State,
    entry: &Entry,
    memo: Option<(&mut Memo, RelationsHint)>,
    stored: &mut Option<PeerValue>,
) -> Result<Handled, PyExc> {
    if entry.remote_unit_app_mismatch() {
        // ops refuses to make the event before any handler runs, observed or not.
        return Err(PyExc::RuntimeError);
    }
    let mut tx = Tx::new(state);
    let emitted = match (entry.hook.endpoint, entry.hook.kind) {
        (Endpoint::Source, HookKind::RelationChanged) => relation_changed(&mut tx, memo, stored)?,
        (Endpoint::Source, HookKind::RelationDeparted) => relation_departed(&mut tx, entry)?,
        (Endpoint::Peer, HookKind::RelationChanged) => peer_changed(state),
        (_, HookKind::UpgradeCharm) => {
            upgrade_keys(&mut tx, entry.stored_state.as_ref())?;
            Emitted::new()
        }
        _ => Emitted::new(),
    };
    Ok(Handled {
        peer: tx.peer,
        emitted,
        diagnostics: Vec::new(),
    })
}

/// Whether the hook's handler writes `sources` anew from the relations and never reads
/// the stored value: a leader's `grafana-source-relation-changed`.
pub(crate) fn rewrites_sources(entry: &Entry, leader: bool) -> bool {
    leader
        && (entry.hook.endpoint, entry.hook.kind) == (Endpoint::Source, HookKind::RelationChanged)
}

/// Take the stored `sources` value out of `state`'s peer databag when the hook's handler
/// never reads it (`rewrites_sources`). Then no state holds the document while the
/// leader's cache rewrites it, and the cache changes it in place. The caller gives it to
/// [`handle`] and puts back what is left of it when the hook fails.
pub fn take_stored_sources(state: &mut State, entry: &Entry) -> Option<PeerValue> {
    match &mut state.peer {
        crate::world::Peer::Visible(bag) if rewrites_sources(entry, state.leader) => {
            bag.remove(SOURCES)
        }
        _ => None,
    }
}

/// The handler's view of the peer databag: reads parse the text (once per value), writes
/// stage new values. Nothing reaches the state unless the whole handler returns `Ok`.
struct Tx<'s> {
    state: &'s State,
    peer: Option<PeerBag>,
}

impl<'s> Tx<'s> {
    fn new(state: &'s State) -> Self {
        Tx {
            state,
            peer: state.peer_data().cloned(),
        }
    }

    /// The value under `key` when the relation is visible and the value non-empty.
    fn value(&self, key: &str) -> Option<PeerValue> {
        self.peer
            .as_ref()
            .and_then(|bag| bag.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
    }

    /// `get_peer_data(key)` as a document: `None` stands for the `{}` it returns without a
    /// peer relation or for an empty/missing value.
    fn get_doc(&self, key: &str) -> Result<Option<Doc>, PyExc> {
        match self.value(key) {
            Some(v) => v.doc().cloned().map(Some),
            None => Ok(None),
        }
    }

    /// `get_peer_data(key)` as a Python value (a deep copy; the slow paths use it).
    fn get_peer_data(&self, key: &str) -> Result<PyValue, PyExc> {
        Ok(match self.get_doc(key)? {
            Some(doc) => doc.to_py(),
            None => PyValue::dict(PyDict::default()),
        })
    }

    /// `set_peer_data(key, data)`: `json.dumps`; skipped without a peer relation.
    fn set_peer_data(&mut self, key: &str, data: PyValue) {
        if let Some(bag) = &mut self.peer {
            bag.insert(Arc::from(key), PeerValue::written(data));
        }
    }

    /// `set_peer_data(key, data)` for data already held as a document.
    fn set_doc(&mut self, key: &str, doc: Doc) {
        if let Some(bag) = &mut self.peer {
            bag.insert(crate::log::intern(key), PeerValue::from_doc(doc));
        }
    }
}

fn s(text: &str) -> PyValue {
    PyValue::Str(Arc::from(text))
}

fn key(text: &str) -> PyKey {
    PyKey::Str(crate::log::intern(text))
}

/// `_on_grafana_source_relation_changed`.
///
/// The reference rebuilds `sources` from every relation and strikes each name it derives
/// from `sources_to_delete`. When `sources_to_delete` is a list (or missing), that is done
/// incrementally ([`relation_changed_fast`]): per-relation results are memoised and only the
/// relations that changed since are derived again. Any other shape of `sources_to_delete`
/// goes through [`relation_changed_exact`], the reference statement by statement. The two
/// are checked against each other by the differential tests (`tests/incremental.rs`).
fn relation_changed(
    tx: &mut Tx,
    memo: Option<(&mut Memo, RelationsHint)>,
    stored: &mut Option<PeerValue>,
) -> Result<Emitted, PyExc> {
    if tx.state.leader {
        // A relation id too big for a canonical place: the document is built the
        // reference's way.
        let memo = memo.filter(|_| tx.state.ids_placeable());
        // An unreadable `sources_to_delete` raises only once a relation reads it: the
        // exact path keeps that order.
        match (memo, tx.get_doc(TO_DELETE)) {
            (Some(memo), Ok(None)) => relation_changed_fast(tx, memo, stored, PList::default())?,
            (Some(memo), Ok(Some(Doc::List(list)))) => {
                relation_changed_fast(tx, memo, stored, list)?
            }
            _ => relation_changed_exact(tx)?,
        }
    }
    Ok(smallvec![Event::SourcesChanged])
}

/// [`relation_changed`] for the leader, statement by statement.
fn relation_changed_exact(tx: &mut Tx) -> Result<(), PyExc> {
    let mut sources = PyDict::default();
    for (id, rel) in &tx.state.relations {
        let source = get_source_config(tx, rel)?;
        // `if source:` — None and the empty list are both skipped.
        if let Some(list) = source.filter(|l| !l.is_empty()) {
            sources.insert(super::relation_key(*id), PyValue::List(list));
        }
    }
    tx.set_peer_data(SOURCES, PyValue::dict(sources));
    Ok(())
}

/// What `_get_source_config(rel)` gives for one relation, apart from its effect on
/// `sources_to_delete`: the part that depends on the relation alone.
#[derive(Clone)]
enum RelResult {
    /// It raises (before or while deriving its hosts).
    Raises(PyExc),
    /// `grafana_source_data` is falsy: `None`, and `sources_to_delete` is not touched.
    Falsy,
    /// The list of host entries (possibly none), in unit order: the `entry` of each of
    /// [`Derived::units`].
    Hosts(Arc<PyValue>),
}

/// A relation's [`RelResult`] with what it was derived from, so that deriving it again
/// after one unit moved re-parses nothing and rebuilds only that unit's entry.
struct Derived {
    result: RelResult,
    /// The `grafana_source_data` text and what every unit's entry reads of its
    /// `json.loads` (`None`: the value is falsy).
    source: Option<(Arc<str>, Arc<Option<SourceParts>>)>,
    /// Per unit with a host, in unit order, when `result` is `Hosts`; otherwise none.
    units: Vec<Arc<UnitEntry>>,
}

/// [`RelResult`] of one relation: `_get_source_config` without `sources_to_delete`.
/// `prev`: the same relation derived before; what did not change is taken from it.
fn derive(rel: &Relation, prev: Option<&Derived>) -> Derived {
    let raw = rel.app_data.get_interned(&crate::databag::SOURCE_DATA);
    let reused = prev.and_then(|p| source_kept(raw, p)).cloned();
    let done = |result, source, units: Vec<_>| {
        debug_assert!(matches!(result, RelResult::Hosts(_)) || units.is_empty());
        Derived {
            result,
            source,
            units,
        }
    };
    let (source, source_data) = match reused {
        Some((t, v)) => (Some((t, v.clone())), v),
        None => match json::loads(raw.map_or("{}", |t| &**t)) {
            Ok(v) => {
                let v = Arc::new(v.truthy().then(|| SourceParts::new(&v)));
                (raw.map(|t| (t.clone(), v.clone())), v)
            }
            Err(e) => return done(RelResult::Raises(e), None, Vec::new()),
        },
    };
    let Some(parts) = &*source_data else {
        return done(RelResult::Falsy, source, Vec::new());
    };
    // Entries built from this very source data can be reused for an unchanged host.
    let old_units = prev
        .filter(|p| match (&p.source, &source) {
            (Some((_, a)), Some((_, b))) => Arc::ptr_eq(a, b),
            _ => false,
        })
        .map_or(&[][..], |p| &p.units[..]);
    // At most one entry per member unit: sized once instead of grown.
    let most = rel.units.len();
    let mut data = Vec::with_capacity(most);
    let mut units = Vec::with_capacity(most);
    for (i, (unit_name, host_addr)) in relation_hosts(rel).enumerate() {
        let before = super::unit_entry_before(old_units, i, unit_name);
        let unit = match super::made_at(before, host_addr) {
            Some(made) => made.clone(),
            None => match parts.host_entry(unit_name, host_addr, before.map(|e| &**e)) {
                Ok((entry, name)) => UnitEntry::new(unit_name, host_addr, entry, name),
                Err(e) => return done(RelResult::Raises(e), source, Vec::new()),
            },
        };
        data.push(unit.entry.clone());
        units.push(unit);
    }
    let result = RelResult::Hosts(Arc::new(PyValue::List(data)));
    done(result, source, units)
}

/// `prev`'s source data and what was read of it, when the relation's `grafana_source_data`
/// (`raw`) is still that text.
fn source_kept<'a>(
    raw: Option<&Arc<str>>,
    prev: &'a Derived,
) -> Option<&'a (Arc<str>, Arc<Option<SourceParts>>)> {
    let kept = prev.source.as_ref()?;
    raw.is_some_and(|r| crate::log::same_text(r, &kept.0))
        .then_some(kept)
}

/// [`derive`] in place, for a result nothing else holds, when the relation has the source
/// data and the units (the same, in the same order) it was derived from: only hosts may
/// have moved. A unit at the same host keeps its entry where it is (no reference count
/// moves); a moved unit's entry is made again from the one before, as [`derive`] makes it.
/// Returns the new host list; `None`, with `d` untouched, when the relation differs in any
/// other way: then [`derive`] does it.
fn rederive_hosts(rel: &Relation, d: &mut Derived) -> Option<Arc<PyValue>> {
    if !matches!(d.result, RelResult::Hosts(_)) {
        return None;
    }
    let raw = rel.app_data.get_interned(&crate::databag::SOURCE_DATA);
    let (_, parts) = source_kept(raw, d)?;
    let parts = parts.as_ref().as_ref()?;
    // One walk of the relation's units, before anything changes: `d` stays as it was if
    // they differ or an entry cannot be made.
    let mut hosts = relation_hosts(rel);
    let mut moved: SmallVec<[(usize, Arc<UnitEntry>); 1]> = SmallVec::new();
    for (i, u) in d.units.iter().enumerate() {
        let (unit_name, host_addr) = hosts.next()?;
        if !Arc::ptr_eq(unit_name, &u.unit) {
            return None;
        }
        if super::made_at(Some(u), host_addr).is_some() {
            continue;
        }
        let (entry, name) = parts.host_entry(unit_name, host_addr, Some(u)).ok()?;
        moved.push((i, UnitEntry::new(unit_name, host_addr, entry, name)));
    }
    if hosts.next().is_some() {
        return None;
    }
    for (i, unit) in moved {
        d.units[i] = unit;
    }
    let data = d.units.iter().map(|u| u.entry.clone()).collect();
    let list = Arc::new(PyValue::List(data));
    d.result = RelResult::Hosts(list.clone());
    Some(list)
}

/// Entries of the leader's `sources` document to write: relation id, and the entry (`None`
/// removes it).
/// Most steps write one.
type DocWrites = SmallVec<[(u64, Option<Arc<PyValue>>); 1]>;

/// The per-relation results of the leader's `relation-changed`, for the relations map it
/// records; carried from step to step in [`Memo`], brought up to date by diffing that map
/// against the current one (`imbl` skips the subtrees both share), so each step derives
/// only the relations that changed.
#[derive(Clone, Default)]
pub struct DeriveCache {
    /// The relations these results are for.
    pub(crate) seen: RelationsSeen,
    results: OrdMap<u64, Arc<Derived>>,
    /// Relations whose result raises.
    raising: OrdSet<u64>,
    /// How many relations have truthy `grafana_source_data` (and so rewrite
    /// `sources_to_delete`).
    truthy: usize,
    /// `sources` as the leader writes it: `{id: hosts}` for non-empty host lists.
    doc: PDict,
    /// Every derived name, with its number of occurrences.
    names: NameCounts,
}

impl DeriveCache {
    /// Whether `doc` is the document this cache wrote last, unchanged since.
    pub(crate) fn holds(&self, doc: &PDict) -> bool {
        self.doc.is_same_sealed(doc)
    }

    /// Bring the cache to `rels`, but for its document: returns the names whose count rose
    /// from zero, and the entries to write in the document ([`DeriveCache::write_doc`]),
    /// which waits until the stored copy of it is let go of.
    fn update(
        &mut self,
        rels: &OrdMap<u64, Arc<Relation>>,
        hint: RelationsHint,
    ) -> (Vec<Arc<str>>, DocWrites) {
        let changes = self
            .seen
            .changes(rels, hint, |id| self.results.contains_key(&id));
        let mut writes = DocWrites::new();
        // Net change of each name's count: a host moving keeps its name, and the shared
        // name map is then not touched at all.
        let mut delta = Delta::default();
        for (id, rel) in changes {
            let Some(rel) = rel else {
                let old = self.results.remove(&id);
                unrecord(&mut self.raising, &mut self.truthy, id, old.as_deref());
                delta.replace(names_of(old.as_deref()), names_of(None));
                writes.push((id, None));
                continue;
            };
            // A relation derived again is rewritten where it stands: one walk of the map.
            let mut slot = self.results.get_mut(&id);
            // Only hosts moved, and nothing else holds the result: its units stay in place.
            // Its kind and names are the same, so the counts beside it are too.
            if let Some(list) = slot
                .as_mut()
                .and_then(|d| Arc::get_mut(d))
                .and_then(|d| rederive_hosts(&rel, d))
            {
                writes.push((id, truthy_list(&list).then_some(list)));
                continue;
            }
            let old = slot.as_deref().map(|o| &**o);
            unrecord(&mut self.raising, &mut self.truthy, id, old);
            let derived = derive(&rel, old);
            record(&mut self.raising, &mut self.truthy, id, &derived);
            delta.replace(names_of(old), names_of(Some(&derived)));
            let entry = match &derived.result {
                RelResult::Hosts(list) if truthy_list(list) => Some(list.clone()),
                _ => None,
            };
            writes.push((id, entry));
            match slot {
                // In the old result's place when nothing else holds it (a replay's cache).
                Some(slot) => match Arc::get_mut(slot) {
                    Some(old) => *old = derived,
                    None => *slot = Arc::new(derived),
                },
                None => {
                    self.results.insert(id, Arc::new(derived));
                }
            }
        }
        let risen = delta
            .apply(&mut self.names)
            .into_iter()
            .filter(|m| m.appeared())
            .map(|m| m.name)
            .collect();
        self.seen.set(rels);
        (risen, writes)
    }

    /// Write `writes` in the document (in place when nothing else holds it) and seal it:
    /// it is stored in the peer databag next, and later documents are compared with it.
    fn write_doc(&mut self, writes: DocWrites) {
        self.doc.begin_edit();
        for (id, entry) in writes {
            self.doc.set_canonical(id, entry);
        }
        self.doc.seal();
    }
}

/// Count a relation's new result in the counts kept beside the results.
fn record(raising: &mut OrdSet<u64>, truthy: &mut usize, id: u64, new: &Derived) {
    match &new.result {
        RelResult::Raises(_) => {
            raising.insert(id);
        }
        RelResult::Hosts(_) => *truthy += 1,
        RelResult::Falsy => {}
    }
}

/// Take a relation's old result out of the counts kept beside the results ([`record`]).
fn unrecord(raising: &mut OrdSet<u64>, truthy: &mut usize, id: u64, old: Option<&Derived>) {
    match old.map(|o| &o.result) {
        Some(RelResult::Raises(_)) => {
            raising.remove(&id);
        }
        Some(RelResult::Hosts(_)) => *truthy -= 1,
        Some(RelResult::Falsy) | None => {}
    }
}

/// The names a relation's result derives, in unit order (none unless it has hosts).
fn names_of(d: Option<&Derived>) -> impl Iterator<Item = &Arc<str>> + Clone {
    super::unit_names(d.map_or(&[], |d| &d.units))
}

fn truthy_list(list: &PyValue) -> bool {
    matches!(list, PyValue::List(items) if !items.is_empty())
}

/// [`relation_changed`] for the leader when `sources_to_delete` is a list: the same result
/// as the reference, from the memoised per-relation results.
///
/// The reference strikes, relation by relation and unit by unit, the first occurrence of
/// each derived name from `sources_to_delete`; altogether a name is struck
/// min(occurrences in the list, occurrences derived) times, first occurrences first. Only
/// names derived now can be struck, and a list this function wrote already had every such
/// name struck ([`Settled`]): so only names newly derived, and the ones it left pending,
/// need looking at.
fn relation_changed_fast(
    tx: &mut Tx,
    (memo, hint): (&mut Memo, RelationsHint),
    stored: &mut Option<PeerValue>,
    mut list: PList,
) -> Result<(), PyExc> {
    // Changed in place: the memo moved along by a replay is the only owner of its cache.
    let cache = Arc::make_mut(memo.libpatch21.get_or_insert_with(Default::default));
    let names_before = cache.names.clone();
    let (risen, writes) = cache.update(&tx.state.relations, hint);
    // The first relation (in id order) that raises decides the outcome.
    let raised = cache
        .raising
        .get_min()
        .and_then(|id| match &cache.results[id].result {
            RelResult::Raises(e) => Some(*e),
            _ => None,
        });
    if raised.is_none() {
        // The hook succeeds and writes `sources` anew: the stored copy is not needed to
        // undo it, and letting go of it lets the cache write its document in place.
        *stored = None;
    }
    cache.write_doc(writes);
    let cache = &*cache;
    if let Some(e) = raised {
        return Err(e);
    }
    if cache.truthy > 0 {
        // The list as this function left it last time, against the same derived names.
        let settled = list
            .settled
            .as_ref()
            .filter(|s| s.names.ptr_eq(&names_before));
        let candidates: Vec<Arc<str>> = match settled {
            Some(s) => s.pending.iter().chain(&risen).cloned().collect(),
            None => list.strings().cloned().collect(),
        };
        let unchanged_names = cache.names.ptr_eq(&names_before);
        let same_pending = settled.map(|s| s.pending.clone());
        let mut pending = Vec::new();
        let mut struck = false;
        for name in candidates {
            let derived = cache.names.get(&name).copied().unwrap_or(0) as usize;
            if derived == 0 {
                continue;
            }
            for _ in 0..derived.min(list.count_str(&name)) {
                list.remove_str(&name);
                struck = true;
            }
            if list.count_str(&name) > 0 && !pending.contains(&name) {
                pending.push(name);
            }
        }
        // The reference writes the list back every time. When this function wrote it
        // last (so the stored text is already `json.dumps` of it) and nothing changed,
        // the value stored is the value it would write: keep it, and the peer databag
        // shares it with the state before.
        let rewrite = struck || !unchanged_names || same_pending.as_ref() != Some(&pending);
        if rewrite {
            list.settled = Some(Arc::new(Settled {
                names: cache.names.clone(),
                pending,
            }));
            tx.set_doc(TO_DELETE, Doc::List(list));
        }
    }
    tx.set_doc(SOURCES, Doc::Dict(cache.doc.clone()));
    Ok(())
}

/// `_get_source_config(rel)`.
fn get_source_config(tx: &mut Tx, rel: &Relation) -> Result<Option<Vec<PyValue>>, PyExc> {
    // rel.data[rel.app].get("grafana_source_data", "{}")
    let text = rel
        .app_data
        .get(crate::provider::SOURCE_DATA_KEY)
        .map_or("{}", |t| &**t);
    let source_data = json::loads(text)?;
    if !source_data.truthy() {
        return Ok(None);
    }
    let mut data = Vec::new();
    let mut sources_to_delete = tx.get_peer_data(TO_DELETE)?;
    let parts = SourceParts::new(&source_data);
    for (unit_name, host_addr) in relation_hosts(rel) {
        let (host_data, name) = parts.host_entry(unit_name, host_addr, None)?;
        // if host_data["source_name"] in sources_to_delete:
        //     sources_to_delete.remove(host_data["source_name"])
        let name = PyValue::Str(name);
        if py::contains(&sources_to_delete, &name)? {
            list_remove(&mut sources_to_delete, &name)?;
        }
        data.push(host_data);
    }
    // self.set_peer_data("sources_to_delete", list(sources_to_delete))
    let list = py::to_list(&sources_to_delete)?;
    tx.set_peer_data(TO_DELETE, PyValue::List(list));
    Ok(Some(data))
}

/// What `_get_source_config` reads of `source_data` for every unit: the same for each
/// unit of a relation, so read once per source instead of once per unit. Each read keeps
/// the exception it raises, and [`SourceParts::host_entry`] raises them in the order the
/// reference evaluates them.
struct SourceParts {
    /// `"juju_{model}_{model_uuid}_{application}_"`, or what reading the three raises.
    prefix: Result<String, PyExc>,
    /// `source_data["type"]`.
    source_type: Result<PyValue, PyExc>,
    /// `extra_fields` and `secure_extra_fields`, those that are truthy.
    extras: Result<Vec<(PyKey, PyValue)>, PyExc>,
}

impl SourceParts {
    fn new(source_data: &PyValue) -> SourceParts {
        let prefix = (|| {
            let model = py::getitem_str(source_data, "model")?.py_str();
            let uuid = py::getitem_str(source_data, "model_uuid")?.py_str();
            let app = py::getitem_str(source_data, "application")?.py_str();
            Ok(format!("juju_{model}_{uuid}_{app}_"))
        })();
        let source_type = py::getitem_str(source_data, "type").cloned();
        let extras = (|| {
            let keys = &*super::ENTRY_KEYS;
            let mut extras = Vec::new();
            let fields = [
                ("extra_fields", &keys.extra_fields),
                ("secure_extra_fields", &keys.secure_extra_fields),
            ];
            for (field, k) in fields {
                if let Some(v) = py::get_str(source_data, field)?.filter(|v| v.truthy()) {
                    extras.push((k.clone(), v.clone()));
                }
            }
            Ok(extras)
        })();
        SourceParts {
            prefix,
            source_type,
            extras,
        }
    }

    /// One unit's entry of `_get_source_config`, and its `source_name`. `before`: the entry
    /// made before for this unit from these very parts, at another host; the new one is
    /// that dict with the url this host gives, in the same place, and shares its name (the
    /// same text; shared, it compares by pointer wherever names are counted).
    fn host_entry(
        &self,
        unit_name: &Arc<str>,
        host_addr: &Arc<str>,
        before: Option<&UnitEntry>,
    ) -> Result<(PyValue, Arc<str>), PyExc> {
        let host = if py::match_word_scheme(host_addr) {
            host_addr.clone()
        } else {
            crate::log::concat(&["http://", host_addr])
        };
        // Made from these parts for this unit, the entry before raised nothing of what
        // follows, and its name is the one made below.
        if let Some((PyValue::Dict(d), name)) = before.map(|b| (&b.entry, &b.name)) {
            let made = (PyValue::dict(super::with_url(d, host)), name.clone());
            debug_assert!(
                self.host_entry(unit_name, host_addr, None)
                    .is_ok_and(|(e, n)| json::dumps(&e) == json::dumps(&made.0) && n == made.1),
                "an entry made again from the one before differs from one made anew"
            );
            return Ok(made);
        }
        // "juju_{}_{}_{}_{}".format(source_data["model"], source_data["model_uuid"],
        //     source_data["application"], unit_name.split("/")[1])
        let prefix = self.prefix.as_ref().map_err(|e| *e)?;
        let suffix = unit_name.split('/').nth(1).ok_or(PyExc::IndexError)?;
        let unique_source_name = crate::log::concat(&[prefix, suffix]);
        let keys = &*super::ENTRY_KEYS;
        let extras = self.extras.as_ref().map_err(|e| *e);
        // Sized for the keys it gets: an entry is kept as long as its unit and host stay.
        let len = 4 + extras.map_or(0, |x| x.len());
        let mut host_data = PyDict::with_capacity(len);
        host_data.insert(keys.unit.clone(), PyValue::Str(unit_name.clone()));
        host_data.insert(
            keys.source_name.clone(),
            PyValue::Str(unique_source_name.clone()),
        );
        let source_type = self.source_type.as_ref().map_err(|e| *e)?;
        host_data.insert(keys.source_type.clone(), source_type.clone());
        host_data.insert(keys.url.clone(), PyValue::Str(host));
        // `if source_data.get(field, None):` for each extra field.
        for (k, v) in extras? {
            host_data.insert(k.clone(), v.clone());
        }
        Ok((PyValue::dict(host_data), unique_source_name))
    }
}

/// `_relation_hosts(rel)`: units whose `grafana_source_host` is set and non-empty.
fn relation_hosts(rel: &Relation) -> impl Iterator<Item = (&Arc<str>, &Arc<str>)> {
    rel.units.iter().filter_map(|(unit, bag)| {
        let host = bag.get_interned(&crate::databag::SOURCE_HOST)?;
        (!host.is_empty()).then_some((&unit.0, host))
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
fn relation_departed(tx: &mut Tx, entry: &Entry) -> Result<Emitted, PyExc> {
    let removed = tx.state.leader && remove_source_from_datastore(tx, entry)?;
    Ok(if removed {
        smallvec![Event::SourcesToDeleteChanged]
    } else {
        Emitted::new()
    })
}

/// `_remove_source_from_datastore(event)`, on the persistent `sources` document: O(the
/// relation's entry), not O(every relation).
fn remove_source_from_datastore(tx: &mut Tx, entry: &Entry) -> Result<bool, PyExc> {
    let rel_id = entry.relation.as_ref().map_or(0, |r| r.id);
    let mut stored_sources = match tx.get_doc(SOURCES)? {
        // get_peer_data gave {}: pop finds nothing
        None => return Ok(false),
        Some(Doc::Dict(d)) => d,
        // list.pop takes at most one argument
        Some(Doc::List(_)) => return Err(PyExc::TypeError),
        Some(Doc::Other(_)) => return Err(PyExc::AttributeError),
    };
    stored_sources.begin_edit();
    // stored_sources.pop(str(rel_id), None)
    let rel_key = rel_id.to_string();
    let Some(removed_source) = stored_sources.remove(&rel_key).filter(|v| v.truthy()) else {
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
            // (an int key, appended: json.dumps writes it as the string popped above)
            let mut kept = Vec::new();
            for item in &items {
                if !py::py_eq(py::getitem_str(item, "unit")?, &unit) {
                    kept.push(item.clone());
                }
            }
            stored_sources.insert(Arc::from(rel_key), Arc::new(PyValue::List(kept)));
        }
        None => {
            for host in py::to_list(&removed_source)? {
                remove_source(tx, py::getitem_str(&host, "source_name")?.clone())?;
            }
        }
    }
    stored_sources.seal();
    tx.set_doc(SOURCES, Doc::Dict(stored_sources));
    Ok(true)
}

/// `_remove_source(source_name)`.
fn remove_source(tx: &mut Tx, source_name: PyValue) -> Result<(), PyExc> {
    // self.get_peer_data("sources_to_delete") or []
    let mut list = match tx.get_doc(TO_DELETE)? {
        None => PList::default(),
        Some(doc) if !doc.truthy() => PList::default(),
        Some(Doc::List(list)) => list,
        Some(doc) => {
            // A truthy dict, string or number: Python's own rules, on a copy.
            let mut sources_to_delete = doc.to_py();
            if !py::contains(&sources_to_delete, &source_name)? {
                list_append(&mut sources_to_delete, source_name)?;
                tx.set_peer_data(TO_DELETE, sources_to_delete);
            }
            return Ok(());
        }
    };
    let present = match &source_name {
        PyValue::Str(name) => list.contains_str(name),
        other => list.iter().any(|x| py::py_eq_member(x, other)),
    };
    if !present {
        list.push(source_name);
        tx.set_doc(TO_DELETE, Doc::List(list));
    }
    Ok(())
}

/// `_on_grafana_peer_changed`: only non-leaders re-emit, both events.
fn peer_changed(state: &State) -> Emitted {
    if state.leader {
        Emitted::new()
    } else {
        smallvec![Event::SourcesChanged, Event::SourcesToDeleteChanged]
    }
}

/// `upgrade_keys()`, with `stored_state` as the consumer's legacy `StoredState`.
fn upgrade_keys(tx: &mut Tx, stored_state: Option<&PyValue>) -> Result<(), PyExc> {
    if !tx.state.leader {
        return Ok(());
    }
    // _set_default_data()
    for (k, default) in [
        (SOURCES, PyValue::dict(PyDict::default())),
        (TO_DELETE, PyValue::List(Vec::new())),
    ] {
        if !tx.get_peer_data(k)?.truthy() {
            tx.set_peer_data(k, default);
        }
    }
    let stored = |k: &str| match stored_state {
        Some(PyValue::Dict(d)) => d.get(&key(k)).cloned(),
        _ => None,
    };
    let stored_sources = stored("sources").unwrap_or(PyValue::dict(PyDict::default()));
    let stored_to_delete = stored("sources_to_delete").unwrap_or(PyValue::List(Vec::new()));

    // sources = _type_convert_stored(self._stored.sources)
    let mut sources = stored_sources.clone();
    let PyValue::Dict(by_rel) = &mut sources else {
        return Err(PyExc::AttributeError); // .keys()
    };
    let by_rel = Arc::make_mut(by_rel);
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
                Arc::make_mut(d).extend(renamed);
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
            target.extend(Arc::unwrap_or_clone(d));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// See [`crate::reducer::test_relation::check_moved_host`].
    #[test]
    fn a_moved_host_keeps_its_unit_name() {
        crate::reducer::test_relation::check_moved_host(derive, |d: &Derived| &d.units);
    }
}
