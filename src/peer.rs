//! Peer databag values: the text Juju stores, and the structure it stands for.
//!
//! The consumer keeps its state in two JSON texts in the peer application databag
//! (`sources`, `sources_to_delete`) and the reference rewrites them whole on most hooks.
//! Writing and re-reading that text on every step would make every step cost the size of the
//! world. A [`PeerValue`] therefore holds either the text (read from a log) or the parsed
//! document a handler wrote, and produces the other side on demand, once:
//!
//! - text → document: `json.loads` ([`crate::py::json::loads`]), kept as a [`Doc`];
//! - document → text: `json.dumps` of it, byte for byte what the reference writes.
//!
//! Documents are persistent ([`PDict`], [`PList`]): a handler that changes one relation's
//! entry shares everything else with the value before, so a step, and a kept snapshot,
//! cost what it changed plus a path copy per persistent map touched.
//!
//! ```
//! use grafana_source::peer::PeerValue;
//! let v = PeerValue::from_text("{\"3\": [], \"1\": [1]}".into());
//! let doc = v.doc().unwrap();
//! assert_eq!(doc.to_py().py_repr(), "{'3': [], '1': [1]}");
//! let w = PeerValue::from_doc(doc.clone());
//! assert_eq!(&**w.text(), "{\"3\": [], \"1\": [1]}");
//! assert_eq!(v, w);
//! ```
use crate::py::json::{self, MAX_DEPTH};
use crate::py::{PyDict, PyExc, PyKey, PyValue};
use imbl::OrdMap;
use smallvec::{smallvec, SmallVec};
use std::sync::{Arc, OnceLock};

/// The peer application databag: key → value.
pub type PeerBag = OrdMap<Arc<str>, PeerValue>;

/// A peer databag value. Cloning is O(1); equality is equality of the texts (with a pointer
/// shortcut), as Juju compares databags.
#[derive(Clone)]
pub struct PeerValue(Arc<Inner>);

struct Inner {
    text: OnceLock<Arc<str>>,
    doc: OnceLock<Result<Doc, PyExc>>,
}

impl PeerValue {
    /// A value as Juju hands it over: text, parsed when first read.
    pub fn from_text(text: Arc<str>) -> Self {
        let inner = Inner {
            text: OnceLock::from(text),
            doc: OnceLock::new(),
        };
        PeerValue(Arc::new(inner))
    }

    /// A value a handler wrote: `doc` must be what `json.loads` gives back for its text
    /// (string keys, no duplicates; see [`PeerValue::written`]). Its text is dumped when
    /// first read.
    pub fn from_doc(doc: Doc) -> Self {
        let inner = Inner {
            text: OnceLock::new(),
            doc: OnceLock::from(Ok(doc)),
        };
        PeerValue(Arc::new(inner))
    }

    /// `json.dumps(value)` as the reference's `set_peer_data` writes it. The document is
    /// kept when reading the text back gives exactly it; otherwise (an `int` key equal to a
    /// `str` key, or nesting `loads` refuses) the text is kept and parsed when read.
    pub fn written(value: PyValue) -> Self {
        match as_loaded(&value) {
            Some((loaded, depth)) if depth < MAX_DEPTH => PeerValue::from_doc(Doc::from_py(loaded)),
            _ => PeerValue::from_text(Arc::from(json::dumps(&value))),
        }
    }

    /// The text, dumped from the document on first use.
    pub fn text(&self) -> &Arc<str> {
        self.0.text.get_or_init(|| {
            let doc = self.0.doc.get().and_then(|d| d.as_ref().ok());
            let mut out = String::new();
            if let Some(doc) = doc {
                doc.write_json(&mut out);
            }
            Arc::from(out)
        })
    }

    /// Whether the text is empty (only text from a log can be).
    pub fn is_empty(&self) -> bool {
        match self.0.text.get() {
            Some(t) => t.is_empty(),
            None => false,
        }
    }

    /// Whether the text is already materialised (for tests and memory accounting).
    pub fn has_text(&self) -> bool {
        self.0.text.get().is_some()
    }

    /// `json.loads` of the text, parsed on first use.
    pub fn doc(&self) -> Result<&Doc, PyExc> {
        self.0
            .doc
            .get_or_init(|| json::loads(self.text()).map(Doc::from_py))
            .as_ref()
            .map_err(|e| *e)
    }

    /// The same object (cheap; `false` says nothing about the texts).
    pub fn ptr_eq(&self, other: &PeerValue) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl PartialEq for PeerValue {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other) || self.text() == other.text()
    }
}

/// Values hold `secure_extra_fields`: debug output shows whether the text is materialised,
/// never its content.
impl std::fmt::Debug for PeerValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.text.get() {
            Some(t) => write!(f, "<{} bytes>", t.len()),
            None => f.write_str("<document>"),
        }
    }
}

impl std::hash::Hash for PeerValue {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.text().hash(h);
    }
}

/// The texts of a peer databag (materialising each).
pub fn bag_texts(bag: &PeerBag) -> crate::log::Databag {
    bag.iter()
        .map(|(k, v)| (k.clone(), v.text().clone()))
        .collect()
}

/// A databag of texts (a log's `app_data`) as peer values.
pub fn bag_from_texts(bag: &crate::log::Databag) -> PeerBag {
    bag.iter()
        .map(|(k, v)| (k.clone(), PeerValue::from_text(v.clone())))
        .collect()
}

/// `value` as `json.loads(json.dumps(value))` returns it, with its nesting depth; `None`
/// when the round trip is not exact structure for structure (an `int` key and a `str` key
/// that dump to the same text: `loads` would merge them).
fn as_loaded(value: &PyValue) -> Option<(PyValue, usize)> {
    match value {
        PyValue::Dict(d) => {
            let mut depth = 0;
            let mut out = PyDict::with_capacity(d.len());
            for (k, v) in d.iter() {
                let k = match k {
                    PyKey::Int(n) => PyKey::Str(Arc::from(n.to_string())),
                    k => k.clone(),
                };
                let (v, dv) = as_loaded(v)?;
                depth = depth.max(dv);
                if out.insert(k, v).is_some() {
                    return None;
                }
            }
            Some((PyValue::dict(out), depth + 1))
        }
        PyValue::List(items) => {
            let mut depth = 0;
            let mut out = Vec::with_capacity(items.len());
            for v in items {
                let (v, dv) = as_loaded(v)?;
                depth = depth.max(dv);
                out.push(v);
            }
            Some((PyValue::List(out), depth + 1))
        }
        other => Some((other.clone(), 0)),
    }
}

/// A parsed peer value.
#[derive(Clone)]
pub enum Doc {
    /// A JSON object.
    Dict(PDict),
    /// A JSON array.
    List(PList),
    /// Anything else (a string, a number, `null`, a boolean).
    Other(Arc<PyValue>),
}

impl Doc {
    /// From a value as `json.loads` returns it (only `str` keys).
    pub fn from_py(value: PyValue) -> Doc {
        match value {
            PyValue::Dict(d) => {
                let mut out = PDict::default();
                for (k, v) in Arc::unwrap_or_clone(d) {
                    let k = match k {
                        PyKey::Str(s) => s,
                        PyKey::Int(n) => Arc::from(n.to_string()),
                    };
                    out.insert(k, Arc::new(v));
                }
                Doc::Dict(out)
            }
            PyValue::List(items) => Doc::List(items.into_iter().collect()),
            other => Doc::Other(Arc::new(other)),
        }
    }

    /// The Python value (a deep copy: O(size); the slow paths use it).
    pub fn to_py(&self) -> PyValue {
        match self {
            Doc::Dict(d) => PyValue::dict(
                d.iter()
                    .map(|(k, v)| (PyKey::Str(k.clone()), (**v).clone()))
                    .collect(),
            ),
            Doc::List(l) => PyValue::List(l.iter().cloned().collect()),
            Doc::Other(v) => (**v).clone(),
        }
    }

    /// Python truthiness.
    pub fn truthy(&self) -> bool {
        match self {
            Doc::Dict(d) => !d.is_empty(),
            Doc::List(l) => !l.is_empty(),
            Doc::Other(v) => v.truthy(),
        }
    }

    /// `json.dumps` of the document.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Doc::Dict(d) => {
                out.push('{');
                for (n, (k, v)) in d.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    json::write_str(out, k);
                    out.push_str(": ");
                    json::write_value(out, v);
                }
                out.push('}');
            }
            Doc::List(l) => {
                out.push('[');
                for (n, v) in l.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    json::write_value(out, v);
                }
                out.push(']');
            }
            Doc::Other(v) => json::write_value(out, v),
        }
    }
}

/// A position in a [`PDict`]: entries iterate in ascending position. A relation-id key
/// below `APPENDED` sits at its id; every other key is appended above it.
pub type Pos = u64;

/// Positions at and above this are for keys appended out of their canonical place. Half
/// of the `u64` range: Juju's relation ids are small, and a key too big for its canonical
/// place is appended like any other key (a derived document with such a relation is built
/// the reference's way instead, see [`placeable`]). Half the range of appends is more
/// than any document can hold.
const APPENDED: Pos = 1 << 63;

/// Whether relation `id` has a canonical position, so that a document derived relation by
/// relation (`PDict::set_canonical`) can hold it.
pub fn placeable(id: u64) -> bool {
    id < APPENDED
}

/// The canonical position of `key`, when it has one.
fn canonical_pos(key: &str) -> Option<Pos> {
    canonical_id(key).filter(|id| placeable(*id))
}

/// The relation id a key names when it is the canonical decimal of one (`"0"`, `"17"`).
pub fn canonical_id(key: &str) -> Option<u64> {
    let b = key.as_bytes();
    if b.is_empty() || b.len() > 20 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    if !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    key.parse().ok()
}

/// One entry of a [`PDict`]. Equality is identity: two slots are equal when they hold the
/// very same key and value objects (what a diff of two snapshots needs).
#[derive(Clone)]
pub struct Slot {
    pub key: Arc<str>,
    pub value: Arc<PyValue>,
}

impl PartialEq for Slot {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.key, &other.key) && Arc::ptr_eq(&self.value, &other.value)
    }
}

/// A persistent, insertion-ordered dict with `str` keys (a parsed JSON object).
///
/// A key that is the canonical decimal of a relation id sits at position `id` while that
/// keeps insertion order (the `sources` documents the leader writes: ascending relation ids);
/// any other key is appended after every position in use and found through `moved`. Lookups,
/// inserts and removals are O(log n); snapshots share structure.
#[derive(Clone, Default)]
pub struct PDict {
    entries: OrdMap<Pos, Slot>,
    /// Keys not at their canonical position, with the position they are at.
    moved: OrdMap<Arc<str>, Pos>,
    /// The writes since a sealed content (see [`Edits`]).
    edits: Edits<Slot>,
}

/// An identity for the content of a persistent map at one moment: a number no other
/// stamp of the process has, so two stamps are equal only when one was copied from the
/// other. Making one allocates nothing (a stamp was an `Arc<()>`: an allocation and a free
/// per document and step).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp(u64);

impl Stamp {
    /// Stamps a thread hands out before it takes another block: the shared counter is
    /// touched once per block, not once per stamp (explorer threads seal concurrently).
    const BLOCK: u64 = 1 << 20;

    fn new() -> Stamp {
        use std::cell::Cell;
        use std::sync::atomic::{AtomicU64, Ordering};
        static BLOCKS: AtomicU64 = AtomicU64::new(0);
        thread_local! {
            /// The next stamp of this thread's block, and the end of the block.
            static NEXT: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        NEXT.with(|next| {
            let (mut n, mut end) = next.get();
            if n == end {
                // 2^44 blocks: a process never runs out.
                n = BLOCKS.fetch_add(1, Ordering::Relaxed) * Self::BLOCK;
                end = n + Self::BLOCK;
            }
            next.set((n + 1, end));
            Stamp(n)
        })
    }

    fn is(&self, other: Option<&Stamp>) -> bool {
        other == Some(self)
    }
}

/// What a persistent map (`OrdMap<Pos, V>`) became since a content it was stamped with:
/// each position written, with the value it held before its first write. The old values
/// are here, so a reader finds the changes by lookups, without the older map: that one may
/// have been let go of, and the map then changed in place instead of path by path.
///
/// The map's owner calls [`Edits::note`] on every write, [`Edits::seal`] before handing
/// out a copy that a later version may be compared with, [`Edits::begin`] where a new
/// batch of writes starts (to bound a log that goes on across failed batches), and
/// [`Edits::release`] when it empties a copy kept only to be compared with;
/// [`Edits::changes`] is the one place versions are compared.
#[derive(Clone)]
pub struct Edits<V: Clone> {
    /// Names the current content (set by `seal`, cleared by every write).
    stamp: Option<Stamp>,
    log: Option<Arc<UndoLog<V>>>,
    /// The owner let go of the map's entries ([`Edits::release`]): only the stamp is left.
    released: bool,
}

impl<V: Clone> Default for Edits<V> {
    fn default() -> Self {
        Edits {
            stamp: None,
            log: None,
            released: false,
        }
    }
}

/// One position where two versions differ: the position, the old value, the new value.
pub type Changed<'a, V> = (Pos, Option<&'a V>, Option<&'a V>);

/// The positions where two versions differ ([`Edits::changes`]): one, most steps.
pub type Changes<'a, V> = SmallVec<[Changed<'a, V>; 1]>;

#[derive(Clone)]
struct UndoLog<V: Clone> {
    from: Stamp,
    /// Most logs hold one write (a step writes one entry of a document).
    old: SmallVec<[(Pos, Option<V>); 1]>,
}

impl<V: Clone> Edits<V> {
    /// Writes a log may hold beyond the size of the map before it is dropped.
    const SLACK: usize = 64;

    /// A new batch of writes starts. A map written since its last seal (a batch that
    /// failed) goes on with the log it has, whose writes still count from that content,
    /// until the log holds more writes than the map has entries (`len`) and some: then it
    /// is dropped, bounding what it keeps, and older versions are diffed instead.
    pub fn begin(&mut self, len: usize) {
        if self.stamp.is_none()
            && self
                .log
                .as_ref()
                .is_some_and(|l| l.old.len() > len + Self::SLACK)
        {
            self.log = None;
        }
    }

    /// Stamp the content as it is now.
    pub fn seal(&mut self) {
        if self.stamp.is_none() {
            self.stamp = Some(Stamp::new());
        }
    }

    /// Note a write at `pos`, which held `old`. The first write to a sealed content starts
    /// a log from it.
    pub fn note(&mut self, pos: Pos, old: Option<V>) {
        if let Some(from) = self.stamp.take() {
            self.log = Some(Arc::new(UndoLog {
                from,
                old: SmallVec::new(),
            }));
        }
        if let Some(log) = &mut self.log {
            Arc::make_mut(log).old.push((pos, old));
        }
    }

    /// Whether the content is the one `older` was sealed with, or every write since that
    /// content is logged here: `older`'s entries are then never read.
    pub fn traces_to(&self, older: &Edits<V>) -> bool {
        self.stamp_is(older) || self.log_from(older).is_some()
    }

    /// Whether the content is the one `older` was sealed with.
    fn stamp_is(&self, older: &Edits<V>) -> bool {
        self.stamp
            .as_ref()
            .is_some_and(|s| s.is(older.stamp.as_ref()))
    }

    /// The log, when it starts from the content `older` was sealed with.
    fn log_from(&self, older: &Edits<V>) -> Option<&UndoLog<V>> {
        self.log
            .as_deref()
            .filter(|l| l.from.is(older.stamp.as_ref()))
    }

    /// The owner emptied the map: a copy kept only to ask a later version what changed.
    pub fn release(&mut self) {
        self.released = true;
    }

    pub fn is_released(&self) -> bool {
        self.released
    }

    /// Where `new` (the map these edits belong to) differs from `old` (the map `older`
    /// belongs to), position by position with the old and the new value: looked up in the
    /// log when `self` traces back to `older` (`old` is not read), else a diff of the two
    /// maps. `None` when that would diff a released map.
    pub fn changes<'a>(
        &'a self,
        new: &'a OrdMap<Pos, V>,
        older: &Edits<V>,
        old: &'a OrdMap<Pos, V>,
    ) -> Option<Changes<'a, V>>
    where
        V: PartialEq,
    {
        use imbl::ordmap::DiffItem;
        if !older.released && new.ptr_eq(old) {
            return Some(Changes::new());
        }
        if self.stamp_is(older) {
            return Some(Changes::new());
        }
        if let Some(log) = self.log_from(older) {
            // One write, the common case (one entry of a document, one run of a render):
            // nothing to sort.
            if let [(p, a)] = &log.old[..] {
                let (a, b) = (a.as_ref(), new.get(p));
                return Some(if a != b {
                    smallvec![(*p, a, b)]
                } else {
                    Changes::new()
                });
            }
            // The first write of a position holds its value in `older`.
            let mut first: Vec<&(Pos, Option<V>)> = log.old.iter().collect();
            first.sort_by_key(|(p, _)| *p); // stable: the first write of a position stays first
            first.dedup_by_key(|(p, _)| *p);
            return Some(
                first
                    .into_iter()
                    .map(|(p, a)| (*p, a.as_ref(), new.get(p)))
                    .filter(|(_, a, b)| a != b)
                    .collect(),
            );
        }
        if older.released || self.released {
            return None;
        }
        Some(
            old.diff(new)
                .map(|d| match d {
                    DiffItem::Add(p, b) => (*p, None, Some(b)),
                    DiffItem::Remove(p, a) => (*p, Some(a), None),
                    DiffItem::Update {
                        old: (p, a),
                        new: (_, b),
                    } => (*p, Some(a), Some(b)),
                })
                .collect(),
        )
    }

    #[cfg(test)]
    pub(crate) fn has_log(&self) -> bool {
        self.log.is_some()
    }
}

impl PDict {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in dict order.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Arc<PyValue>)> {
        self.entries.values().map(|s| (&s.key, &s.value))
    }

    /// The entries by position (for diffs between snapshots).
    pub fn slots(&self) -> &OrdMap<Pos, Slot> {
        &self.entries
    }

    fn pos_of(&self, key: &str) -> Option<Pos> {
        if let Some(p) = self.moved.get(key) {
            return Some(*p);
        }
        let id = canonical_pos(key)?;
        self.entries.get(&id).filter(|s| &*s.key == key).map(|_| id)
    }

    /// `d.get(key)`.
    pub fn get(&self, key: &str) -> Option<&Arc<PyValue>> {
        self.pos_of(key)
            .and_then(|p| self.entries.get(&p))
            .map(|s| &s.value)
    }

    /// Log the writes from now on (see [`Edits::begin`]).
    pub fn begin_edit(&mut self) {
        self.edits.begin(self.entries.len());
    }

    /// Stamp the content (see [`Edits::seal`]): before storing a copy that a later
    /// version may be compared with.
    pub fn seal(&mut self) {
        self.edits.seal();
    }

    /// Where `self` differs from `older`: position, old slot, new slot (see
    /// [`Edits::changes`]); `None` when `older` was released and `self` does not trace
    /// back to it.
    pub fn changes_since<'a>(&'a self, older: &'a PDict) -> Option<Changes<'a, Slot>> {
        self.edits
            .changes(&self.entries, &older.edits, &older.entries)
    }

    /// Let go of the entries, keeping the stamp: a snapshot kept only to ask a later
    /// document what changed since ([`PDict::changes_since`]), which then holds no node of
    /// it, so its writer changes it in place. Reads of a released document find nothing.
    pub fn release(&mut self) {
        self.entries = OrdMap::new();
        self.moved = OrdMap::new();
        self.edits.release();
    }

    /// Whether both hold the content one seal stamped (equal, and sealed).
    pub fn is_same_sealed(&self, other: &PDict) -> bool {
        self.edits.stamp_is(&other.edits)
    }

    /// `d[key] = value`: in place when the key exists, else appended.
    pub fn insert(&mut self, key: Arc<str>, value: Arc<PyValue>) {
        if let Some(p) = self.pos_of(&key) {
            let key = self.entries[&p].key.clone();
            let old = self.entries.insert(p, Slot { key, value });
            self.edits.note(p, old);
            return;
        }
        let last = self.entries.get_max().map(|(p, _)| *p);
        match canonical_pos(&key) {
            Some(id) if last.is_none_or(|l| id > l) => {
                let old = self.entries.insert(id, Slot { key, value });
                self.edits.note(id, old);
            }
            _ => {
                let p = last.map_or(APPENDED, |l| l.saturating_add(1).max(APPENDED));
                self.moved.insert(key.clone(), p);
                let old = self.entries.insert(p, Slot { key, value });
                self.edits.note(p, old);
            }
        }
    }

    /// `d.pop(key, None)`.
    pub fn remove(&mut self, key: &str) -> Option<Arc<PyValue>> {
        let p = self.pos_of(key)?;
        self.moved.remove(key);
        let old = self.entries.remove(&p);
        let value = old.as_ref().map(|s| s.value.clone());
        self.edits.note(p, old);
        value
    }

    /// Set the entry of relation `id` (under its key, the decimal of `id`) at its
    /// canonical position (the leader's derived document, whose keys are all canonical and
    /// ascending); `None` removes it. `id` must be [`placeable`]: callers build other
    /// documents the reference's way.
    pub(crate) fn set_canonical(&mut self, id: u64, value: Option<Arc<PyValue>>) {
        debug_assert!(self.moved.is_empty());
        assert!(placeable(id), "relation {id} has no canonical position");
        let Some(value) = value else {
            let old = self.entries.remove(&id);
            self.edits.note(id, old);
            return;
        };
        let old = match self.entries.get_mut(&id) {
            // An entry written again keeps its key: most steps rewrite one.
            Some(slot) => Some(Slot {
                key: slot.key.clone(),
                value: std::mem::replace(&mut slot.value, value),
            }),
            None => {
                let key = Arc::from(id.to_string());
                self.entries.insert(id, Slot { key, value })
            }
        };
        self.edits.note(id, old);
    }
}

/// One item of a [`PList`]; equality is Python membership equality (`in`), so that a diff of
/// two snapshots reports changed items.
#[derive(Clone, Debug)]
pub struct Item(pub PyValue);

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (PyValue::Str(a), PyValue::Str(b)) => a == b,
            (a, b) => json::dumps(a) == json::dumps(b),
        }
    }
}

/// A persistent list (a parsed JSON array) with an index of its string items, so that
/// `name in l`, `l.append(name)` and `l.remove(name)` cost O(log n) for the names
/// `sources_to_delete` holds.
#[derive(Clone, Default)]
pub struct PList {
    items: OrdMap<u64, Item>,
    /// Positions of each string item, ascending.
    strings: crate::names::NameMap<Positions>,
    /// Settlement against a leader's derived names (see `reducer::libpatch21`). Behind a
    /// pointer: a [`Doc`] is as big as its biggest kind, and every peer value holds one;
    /// shared: the handler and the renderer clone the list every step.
    pub(crate) settled: Option<Arc<Settled>>,
}

/// Where a string stands in a [`PList`], ascending. Nearly every string of
/// `sources_to_delete` stands once: that position is held inline, not in an allocation of
/// its own.
#[derive(Clone, Debug)]
enum Positions {
    One(u64),
    Many(Arc<[u64]>),
}

impl Positions {
    fn as_slice(&self) -> &[u64] {
        match self {
            Positions::One(p) => std::slice::from_ref(p),
            Positions::Many(ps) => ps,
        }
    }

    /// These positions and then `p` (past all of them).
    fn then(&self, p: u64) -> Positions {
        let mut all = self.as_slice().to_vec();
        all.push(p);
        Positions::Many(all.into())
    }

    /// Without the first position; `None` when it was the only one.
    fn after_first(&self) -> Option<Positions> {
        match self.as_slice() {
            [_] => None,
            [_, p] => Some(Positions::One(*p)),
            [_, rest @ ..] => Some(Positions::Many(rest.into())),
            [] => unreachable!("a string in the index stands somewhere"),
        }
    }
}

/// What a leader's `relation-changed` last established about a [`PList`]: no string item
/// is a name in `names` except the ones in `pending` (appended since, or left over because
/// the list held more copies than the world has).
#[derive(Clone)]
pub(crate) struct Settled {
    pub names: crate::names::NameCounts,
    pub pending: Vec<Arc<str>>,
}

impl std::fmt::Debug for PList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a PList {
    type Item = &'a PyValue;
    type IntoIter = Box<dyn Iterator<Item = &'a PyValue> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl FromIterator<PyValue> for PList {
    fn from_iter<I: IntoIterator<Item = PyValue>>(iter: I) -> Self {
        let mut l = PList::default();
        for v in iter {
            l.push(v);
        }
        l
    }
}

impl PList {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &PyValue> {
        self.items.values().map(|i| &i.0)
    }

    /// The items by position (for diffs between snapshots).
    pub fn items(&self) -> &OrdMap<u64, Item> {
        &self.items
    }

    /// `l.append(v)`.
    pub fn push(&mut self, v: PyValue) {
        let p = self.items.get_max().map_or(0, |(p, _)| p + 1);
        if let PyValue::Str(s) = &v {
            match self.strings.get_mut(s) {
                Some(at) => *at = at.then(p),
                None => {
                    self.strings.insert(s.clone(), Positions::One(p));
                }
            }
            if let Some(settled) = &mut self.settled {
                Arc::make_mut(settled).pending.push(s.clone());
            }
        }
        self.items.insert(p, Item(v));
    }

    /// Whether every item is a string and no string occurs twice.
    pub fn is_set_of_strings(&self) -> bool {
        self.strings.len() == self.items.len()
    }

    /// How many items are the string `s`.
    pub fn count_str(&self, s: &str) -> usize {
        self.strings.get(s).map_or(0, |a| a.as_slice().len())
    }

    /// Whether the string `s` is an item (Python `s in l` for a `str`).
    pub fn contains_str(&self, s: &str) -> bool {
        self.strings.contains_key(s)
    }

    /// The distinct string items.
    pub fn strings(&self) -> impl Iterator<Item = &Arc<str>> {
        self.strings.keys()
    }

    /// `l.remove(s)` for a string present: drops its first occurrence.
    pub fn remove_str(&mut self, s: &str) -> bool {
        let Some(at) = self.strings.get_mut(s) else {
            return false;
        };
        self.items.remove(&at.as_slice()[0]);
        match at.after_first() {
            Some(rest) => *at = rest,
            None => {
                self.strings.remove(s);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_never_handed_out_twice() {
        // Across threads too: the explorer seals documents on several at once, and a
        // stamp made on one thread is compared with stamps made on another.
        let made = |n| move || (0..n).map(|_| Stamp::new().0).collect::<Vec<_>>();
        let threads: Vec<_> = (0..3).map(|_| std::thread::spawn(made(3000))).collect();
        let mut all = made(3000)();
        for t in threads {
            all.extend(t.join().unwrap());
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "a stamp was handed out twice");
        let (a, b) = (Stamp::new(), Stamp::new());
        assert!(a.is(Some(&a)) && !a.is(Some(&b)) && !a.is(None));
    }

    fn roundtrip(text: &str) {
        let v = PeerValue::from_text(text.into());
        let doc = v.doc().unwrap().clone();
        let w = PeerValue::from_doc(doc);
        assert_eq!(&**w.text(), text);
    }

    #[test]
    fn dumped_documents_reproduce_canonical_text() {
        roundtrip("{\"1\": [{\"a\": 1}], \"10\": [], \"2\": \"x\"}");
        roundtrip("{\"b\": 1, \"a\": 2, \"07\": 3, \"7\": 4}");
        roundtrip("[\"a\", 1, \"a\", null, {\"k\": [1.5, NaN]}]");
        roundtrip("\"\\u00e9\"");
        roundtrip("{}");
        roundtrip("[]");
    }

    #[test]
    fn dict_keeps_insertion_order_through_pops_and_appends() {
        let mut d = PDict::default();
        for k in ["3", "5", "4", "x", "9"] {
            d.insert(k.into(), Arc::new(PyValue::None));
        }
        assert!(d.remove("5").is_some());
        d.insert("5".into(), Arc::new(PyValue::Bool(true)));
        d.insert("3".into(), Arc::new(PyValue::Bool(false)));
        let keys: Vec<&str> = d.iter().map(|(k, _)| &**k).collect();
        assert_eq!(keys, ["3", "4", "x", "9", "5"]);
        assert!(d.get("05").is_none());
        assert!(matches!(**d.get("5").unwrap(), PyValue::Bool(true)));
    }

    /// A document written from a sealed one says what changed, with the old slots, from
    /// its log: what a diff says, and still once the older one is released. A released
    /// document that a version does not trace back to cannot be compared with it.
    #[test]
    fn logged_changes_are_the_diff_and_survive_release() {
        let v = |b: bool| Arc::new(PyValue::Bool(b));
        let mut d = PDict::default();
        for id in [1, 2, 4] {
            d.set_canonical(id, Some(v(false)));
        }
        d.seal();
        let mut old = d.clone();
        d.begin_edit();
        d.set_canonical(1, Some(v(true)));
        d.set_canonical(1, None); // twice: the old slot is the first one
        d.set_canonical(3, Some(v(true)));
        d.insert("x".into(), v(true));
        d.seal();
        // Old slot is `old`'s own, new slot present: per position.
        let shape = |c: Changes<Slot>, old: &PDict| -> Vec<_> {
            c.into_iter()
                .map(|(p, a, b)| (p, a.map(|a| Some(a) == old.entries.get(&p)), b.is_some()))
                .collect()
        };
        let mut unlogged = d.clone();
        unlogged.edits = Edits::default();
        let diffed = shape(unlogged.changes_since(&old).unwrap(), &old);
        assert_eq!(
            diffed,
            [
                (1, Some(true), false),
                (3, None, true),
                (APPENDED, None, true)
            ]
        );
        assert_eq!(shape(d.changes_since(&old).unwrap(), &old), diffed);
        let kept = old.clone();
        old.release();
        assert!(old.get("1").is_none());
        assert_eq!(shape(d.changes_since(&old).unwrap(), &kept), diffed);
        // The same content, sealed once: nothing changed.
        assert!(d.changes_since(&d.clone()).unwrap().is_empty());
        // Written after `d` was sealed: the log starts from `d`, not from `old`.
        let mut after_d = d.clone();
        after_d.remove("2");
        assert_eq!(after_d.changes_since(&d).unwrap().len(), 1);
        assert!(
            after_d.changes_since(&old).is_none(),
            "traced to a stamp it was not"
        );
        assert!(unlogged.changes_since(&old).is_none());
    }

    #[test]
    fn list_agrees_with_a_python_list_on_every_short_sequence_of_appends_and_removes() {
        // Every sequence of up to 5 operations: append "a", "b" or None, remove "a" or "b"
        // (when present, as the reference only removes names it found). Same items in the
        // same order, same counts and membership as a plain vector.
        let s = |t: &str| PyValue::Str(t.into());
        let text = |items: &mut dyn Iterator<Item = &PyValue>| -> Vec<String> {
            items.map(|v| format!("{v:?}")).collect()
        };
        for len in 0..=5u32 {
            for code in 0..5usize.pow(len) {
                let mut c = code;
                let mut list = PList::default();
                let mut model: Vec<PyValue> = Vec::new();
                for _ in 0..len {
                    match c % 5 {
                        0 | 1 => {
                            let v = s(["a", "b"][c % 5]);
                            list.push(v.clone());
                            model.push(v);
                        }
                        2 => {
                            list.push(PyValue::None);
                            model.push(PyValue::None);
                        }
                        op => {
                            let name = ["a", "b"][op - 3];
                            let at = model
                                .iter()
                                .position(|v| matches!(v, PyValue::Str(t) if &**t == name));
                            assert_eq!(list.remove_str(name), at.is_some());
                            if let Some(at) = at {
                                model.remove(at);
                            }
                        }
                    }
                    c /= 5;
                }
                assert_eq!(
                    text(&mut list.iter()),
                    text(&mut model.iter()),
                    "ops {code} of {len}"
                );
                for name in ["a", "b"] {
                    let n = model
                        .iter()
                        .filter(|v| matches!(v, PyValue::Str(t) if &**t == name))
                        .count();
                    assert_eq!(list.count_str(name), n);
                    assert_eq!(list.contains_str(name), n > 0);
                }
                let strings: Vec<&str> = model
                    .iter()
                    .filter_map(|v| match v {
                        PyValue::Str(t) => Some(&**t),
                        _ => None,
                    })
                    .collect();
                let distinct: std::collections::BTreeSet<&str> = strings.iter().copied().collect();
                assert_eq!(
                    list.is_set_of_strings(),
                    strings.len() == model.len() && distinct.len() == strings.len()
                );
            }
        }
    }

    #[test]
    fn list_removes_first_occurrence() {
        let s = |t: &str| PyValue::Str(t.into());
        let mut l: PList = [s("a"), s("b"), s("a"), PyValue::None]
            .into_iter()
            .collect();
        assert!(l.remove_str("a"));
        assert_eq!(l.count_str("a"), 1);
        let text = PeerValue::from_doc(Doc::List(l)).text().clone();
        assert_eq!(&*text, "[\"b\", \"a\", null]");
    }

    #[test]
    fn written_values_keep_text_when_keys_merge() {
        let mut d = PyDict::default();
        d.insert(PyKey::Str("1".into()), PyValue::None);
        d.insert(PyKey::Int(1), PyValue::Bool(true));
        let v = PeerValue::written(PyValue::dict(d));
        assert_eq!(&**v.text(), "{\"1\": null, \"1\": true}");
        assert_eq!(v.doc().unwrap().to_py().py_repr(), "{'1': True}");
    }
}
