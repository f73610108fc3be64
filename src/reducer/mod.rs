//! The reducers: `(state, entry) → (state', effects)`, one per profile.
//!
//! A step has three phases, and only the middle one differs between profiles:
//! 1. [`apply_world`]: what Juju does before any handler runs (sticky fields, membership,
//!    databags). Always applies, even when the handler then fails.
//! 2. The profile's handler, which sees that world and returns the peer databag it
//!    leaves, the events it emits, or the error it raises.
//! 3. Commit: a failed hook leaves the peer databag as it was (Juju rolls back a failed
//!    hook's relation-data writes).
//!
//! Reducers are pure: no I/O, no clock, no randomness. Everything they read is in the
//! state or the entry.
use crate::log::Entry;
use crate::peer::PeerBag;
use crate::py::PyExc;
use crate::world::{apply_world, Memo, Peer, Relation, RelationsSeen, Release, State};
use imbl::OrdMap;
use std::sync::Arc;

pub mod libpatch21;
pub mod verified;

/// Which fold to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// The reference library (LIBPATCH 21), reproduced exactly, bugs included.
    Libpatch21,
    /// Reconcile semantics that break no invariant (see ARCHITECTURE.md).
    Verified,
}

impl Profile {
    pub const ALL: [Profile; 2] = [Profile::Libpatch21, Profile::Verified];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Libpatch21 => "libpatch21",
            Profile::Verified => "verified",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown profile `{s}` (expected libpatch21 or verified)"))
    }
}

/// A custom event the consumer emits to the Grafana charm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    SourcesChanged,
    SourcesToDeleteChanged,
}

impl Event {
    pub fn name(self) -> &'static str {
        match self {
            Event::SourcesChanged => "sources_changed",
            Event::SourcesToDeleteChanged => "sources_to_delete_changed",
        }
    }
}

/// Something the `verified` profile noticed and handled instead of failing the hook:
/// malformed remote data isolated, a name collision resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub relation: Option<u64>,
    pub unit: Option<String>,
    pub field: String,
    pub message: String,
}

/// The events a step emits, in order: at most two (each of [`Event`] once), held inline.
pub type Emitted = smallvec::SmallVec<[Event; 2]>;

/// What a handler did, when it did not raise.
#[derive(Clone, Default)]
pub struct Handled {
    /// The peer databag it leaves; `None` when the peer relation is not visible.
    pub peer: Option<PeerBag>,
    pub emitted: Emitted,
    pub diagnostics: Vec<Diagnostic>,
}

/// `Debug` shows the peer databag as keys and sizes (it holds `secure_extra_fields`).
impl std::fmt::Debug for Handled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handled")
            .field("peer", &self.peer)
            .field("emitted", &self.emitted)
            .field("diagnostics", &self.diagnostics)
            .finish()
    }
}

/// The effects of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Effects {
    /// `Err` names the Python exception the reference raises; the hook failed as a whole.
    pub outcome: Result<(), PyExc>,
    pub emitted: Emitted,
    pub diagnostics: Vec<Diagnostic>,
}

/// One folded step: the state the handler saw, the state after, and the effects.
#[derive(Debug, Clone)]
pub struct Step {
    pub seen: State,
    pub after: State,
    pub effects: Effects,
    /// The render of `after`, when the step had to compute it (`verified` keeps the names
    /// it renders): callers reuse it instead of rendering twice.
    pub rendered: Option<crate::render::RenderResult>,
}

/// The keys of a `sources` entry (one unit's datasource), in the order the reference
/// inserts them: the `Arc`s [`crate::log::intern`] shares, looked up once for every entry
/// either profile builds (a lookup per key per entry was 1% of a replay step).
pub(crate) struct EntryKeys {
    pub unit: crate::py::PyKey,
    pub source_name: crate::py::PyKey,
    pub source_type: crate::py::PyKey,
    pub url: crate::py::PyKey,
    pub extra_fields: crate::py::PyKey,
    pub secure_extra_fields: crate::py::PyKey,
}

pub(crate) static ENTRY_KEYS: std::sync::LazyLock<EntryKeys> = std::sync::LazyLock::new(|| {
    let key = |k| crate::py::PyKey::Str(crate::log::intern(k));
    EntryKeys {
        unit: key("unit"),
        source_name: key("source_name"),
        source_type: key("source_type"),
        url: key("url"),
        extra_fields: key("extra_fields"),
        secure_extra_fields: key("secure_extra_fields"),
    }
});

/// A key of an entry dict, for [`EntryKeys::get`].
#[derive(Clone, Copy)]
pub(crate) enum Field {
    SourceName,
    SourceType,
    Url,
    ExtraFields,
    SecureExtraFields,
}

impl EntryKeys {
    /// `d.get(field)`. Both profiles make entry dicts with the interned keys in one order
    /// (`unit`, `source_name`, `source_type`, `url`, then `extra_fields` and
    /// `secure_extra_fields` when given), so the place such a dict has the key is looked
    /// at first, by pointer; any other dict (one parsed from peer data, say) is looked up
    /// by hash as usual, with the same result.
    pub(crate) fn get<'a>(
        &self,
        d: &'a crate::py::PyDict,
        field: Field,
    ) -> Option<&'a crate::py::PyValue> {
        let (key, at) = self.placed(field, d.len());
        match d.get_index(at) {
            Some((k, v)) if is_key(k, key) => Some(v),
            _ => d.get(key),
        }
    }

    /// `field`'s key, and the place a dict of `len` entries either profile made holds it.
    fn placed(&self, field: Field, len: usize) -> (&crate::py::PyKey, usize) {
        match field {
            Field::SourceName => (&self.source_name, 1),
            Field::SourceType => (&self.source_type, 2),
            Field::Url => (&self.url, URL_AT),
            Field::ExtraFields => (&self.extra_fields, 4),
            Field::SecureExtraFields => (&self.secure_extra_fields, len.saturating_sub(1)),
        }
    }
}

/// Whether `k` is the shared key `want`: by pointer (the key either profile put there),
/// then by text.
fn is_key(k: &crate::py::PyKey, want: &crate::py::PyKey) -> bool {
    use crate::py::PyKey;
    match (k, want) {
        (PyKey::Str(k), PyKey::Str(want)) => crate::log::same_text(k, want),
        _ => k == want,
    }
}

/// Where both profiles put `url` in an entry dict: after `unit`, `source_name` and
/// `source_type`.
const URL_AT: usize = 3;

/// `entry` (an entry dict either profile made) with `url` in place of its url: same keys,
/// same order.
pub(crate) fn with_url(entry: &crate::py::PyDict, url: Arc<str>) -> crate::py::PyDict {
    let mut entry = entry.clone();
    let (key, at) = ENTRY_KEYS.placed(Field::Url, entry.len());
    match entry.get_index_mut(at) {
        Some((k, v)) if is_key(k, key) => *v = crate::py::PyValue::Str(url),
        _ => {
            debug_assert!(false, "an entry dict has its url at {URL_AT}");
            entry.insert(key.clone(), crate::py::PyValue::Str(url));
        }
    }
    entry
}

/// One unit's entry of the `sources` document, with the unit and host it was made from
/// and its `source_name`, as either profile derives it. Made once for a unit at a host and
/// shared (`Arc`) by every result derived while both stay: deriving a relation again moves
/// one reference count per unchanged unit, not one per field.
pub(crate) struct UnitEntry {
    pub unit: Arc<str>,
    pub host: Arc<str>,
    /// The entry dict, as the list in `sources` holds it.
    pub entry: crate::py::PyValue,
    /// Its `source_name`.
    pub name: Arc<str>,
}

impl UnitEntry {
    /// The entry made for `unit` at `host`, shared.
    pub(crate) fn new(
        unit: &Arc<str>,
        host: &Arc<str>,
        entry: crate::py::PyValue,
        name: Arc<str>,
    ) -> Arc<UnitEntry> {
        Arc::new(UnitEntry {
            unit: unit.clone(),
            host: host.clone(),
            entry,
            name,
        })
    }
}

/// The names of a relation's unit entries, in order.
#[inline]
pub(crate) fn unit_names(units: &[Arc<UnitEntry>]) -> impl Iterator<Item = &Arc<str>> + Clone {
    units.iter().map(|u| &u.name)
}

/// The entry made before for `unit` among `old` (a relation's unit entries, in unit order,
/// one per unit), if any; `i` is where this unit's entry goes now. Units keep their order,
/// so the entry at `i` is the likely one; only otherwise are the others compared. Made from
/// the same source data, it has the `source_name` this unit's entry gets at any host, and
/// is this unit's entry when its host is the same too ([`made_at`]).
#[inline]
pub(crate) fn unit_entry_before<'a>(
    old: &'a [Arc<UnitEntry>],
    i: usize,
    unit: &Arc<str>,
) -> Option<&'a Arc<UnitEntry>> {
    match old.get(i) {
        Some(e) if Arc::ptr_eq(&e.unit, unit) => Some(e),
        _ => old.iter().find(|e| crate::log::same_text(&e.unit, unit)),
    }
}

/// `before` ([`unit_entry_before`]) when it was made at `host`.
#[inline]
pub(crate) fn made_at<'a>(
    before: Option<&'a Arc<UnitEntry>>,
    host: &Arc<str>,
) -> Option<&'a Arc<UnitEntry>> {
    before.filter(|e| crate::log::same_text(&e.host, host))
}

/// `rel.id` as a key of the `sources` dict. Python's ints have no bound; an id past
/// `i64` is kept as its decimal text, which is what `json.dumps` writes for the int.
pub(crate) fn relation_key(id: u64) -> crate::py::PyKey {
    use crate::py::PyKey;
    i64::try_from(id).map_or_else(|_| PyKey::Str(id.to_string().into()), PyKey::Int)
}

/// Fold one entry. `before` is not modified; `Step::after` shares structure with it.
pub fn step(profile: Profile, before: &State, entry: &Entry) -> Step {
    fold(profile, before, None, before.memo.clone(), entry, true)
}

/// [`step`] for a caller that moves on from `before` (a replay): the memo and the
/// relations map are taken out of `before` (left empty; the caller drops it) instead of
/// shared with it, so the step updates the memo's collections and the world in place
/// rather than copying the paths it changes. For a `libpatch21` leader's
/// `grafana-source-relation-changed`, the peer databag is taken too, and the stored
/// `sources` value, which that handler never reads (it writes `sources` anew), is left out
/// of `seen`, so that the leader's cache rewrites the document in place (a failed hook
/// gets it back in `after`). Otherwise the result is [`step`]'s.
///
/// ```
/// use grafana_source::{log::parse_line, reducer, world::{PeerAtStart, State}, Profile};
/// let e = parse_line(1, r#"{"hook": "leader-elected", "leader": true}"#).unwrap();
/// let mut before = State::new(PeerAtStart::Visible);
/// let shared = reducer::step(Profile::Libpatch21, &before, &e);
/// let moved = reducer::step_moving_on(Profile::Libpatch21, &mut before, &e);
/// assert_eq!(shared.after, moved.after);
/// ```
pub fn step_moving_on(profile: Profile, before: &mut State, entry: &Entry) -> Step {
    let memo = std::mem::take(&mut before.memo);
    let relations = std::mem::take(&mut before.relations);
    // A `libpatch21` leader's `grafana-source-relation-changed` also takes the peer
    // databag (the world update leaves it alone; `leader` is sticky, as there), so that
    // the handler may let go of the stored `sources` (`libpatch21::take_stored_sources`).
    // Other steps leave it: a replay compares the state after with it to reuse a render.
    let peer = (profile == Profile::Libpatch21
        && libpatch21::rewrites_sources(entry, entry.leader.unwrap_or(before.leader)))
    .then(|| std::mem::replace(&mut before.peer, Peer::Absent));
    fold(
        profile,
        before,
        Some(Moved { relations, peer }),
        memo,
        entry,
        true,
    )
}

/// What [`step_moving_on`] took out of the state before.
struct Moved {
    relations: OrdMap<u64, Arc<Relation>>,
    peer: Option<Peer>,
}

/// The memo's caches that derived from `before` let go of it for the world update (see
/// [`crate::world::RelationsSeen`]); a cache with too many relations pending is dropped.
/// A cache shared with another state is left alone (the world update then copies).
fn release_relations(memo: &mut Memo, before: &OrdMap<u64, Arc<Relation>>, touched: Option<u64>) {
    fn release<C>(
        cache: &mut Option<Arc<C>>,
        seen: fn(&mut C) -> &mut RelationsSeen,
        before: &OrdMap<u64, Arc<Relation>>,
        touched: Option<u64>,
    ) {
        let outcome = cache
            .as_mut()
            .and_then(Arc::get_mut)
            .map(|c| seen(c).release(before, touched));
        if outcome == Some(Release::Overflow) {
            *cache = None;
        }
    }
    release(&mut memo.libpatch21, |c| &mut c.seen, before, touched);
    release(&mut memo.verified, |c| &mut c.seen, before, touched);
}

/// The caches released by [`release_relations`] hold the map again, now changed.
fn hold_relations(memo: &mut Memo, now: &OrdMap<u64, Arc<Relation>>) {
    if let Some(c) = memo.libpatch21.as_mut().and_then(Arc::get_mut) {
        c.seen.hold(now);
    }
    if let Some(c) = memo.verified.as_mut().and_then(Arc::get_mut) {
        c.seen.hold(now);
    }
}

/// [`step`] without memoisation: every handler recomputes what the reference recomputes.
/// Slow (O(world) per step) and equal to [`step`] by construction; differential tests and
/// fuzz targets use it as the oracle for the incremental fold.
pub fn step_exact(profile: Profile, before: &State, entry: &Entry) -> Step {
    fold(profile, before, None, before.memo.clone(), entry, false)
}

/// `memo`: the memo to start from (`before`'s, shared or moved out of it). `moved`:
/// `before`'s relations map (and maybe its peer databag) when the caller moved them out.
fn fold(
    profile: Profile,
    before: &State,
    moved: Option<Moved>,
    mut memo: Memo,
    entry: &Entry,
    incremental: bool,
) -> Step {
    let touched = crate::world::touched_relation(entry);
    let mut seen = before.clone();
    // The memo travels by itself, so that a moved one is the only owner of its caches.
    seen.memo = Memo::default();
    let mut stored = None;
    let hint_before = match moved {
        Some(Moved { relations, peer }) => {
            let peer_moved = peer.is_some();
            if let Some(peer) = peer {
                seen.peer = peer;
            }
            // The caches let go of the moved map, so the world update changes it in place.
            release_relations(&mut memo, &relations, touched);
            seen.relations = relations;
            apply_world(&mut seen, entry);
            hold_relations(&mut memo, &seen.relations);
            if peer_moved {
                stored = libpatch21::take_stored_sources(&mut seen, entry);
            }
            None
        }
        None => {
            apply_world(&mut seen, entry);
            Some(&before.relations)
        }
    };
    let hint = crate::world::RelationsHint {
        before: hint_before,
        touched,
    };
    let handled = match profile {
        Profile::Libpatch21 => libpatch21::handle(
            &seen,
            entry,
            incremental.then_some((&mut memo, hint)),
            &mut stored,
        ),
        Profile::Verified => Ok(verified::handle(
            &seen,
            entry,
            incremental.then_some((&mut memo, hint)),
        )),
    };
    let mut after = seen.clone();
    after.memo = memo;
    let effects = match handled {
        Ok(h) => {
            if let (Peer::Visible(bag), Some(new)) = (&mut after.peer, h.peer) {
                *bag = new;
            }
            Effects {
                outcome: Ok(()),
                emitted: h.emitted,
                diagnostics: h.diagnostics,
            }
        }
        Err(exc) => {
            // The peer databag stays as it was: with the `sources` taken out, if any.
            if let (Peer::Visible(bag), Some(v)) = (&mut after.peer, stored.take()) {
                bag.insert(crate::log::intern("sources"), v);
            }
            Effects {
                outcome: Err(exc),
                emitted: Emitted::new(),
                diagnostics: Vec::new(),
            }
        }
    };
    let mut rendered = None;
    if profile == Profile::Verified && !after.renders_like(before) {
        // Rule 6: remember every name this unit renders, so later renders delete them.
        // Rendering again after this gives the same config: the names added are exactly
        // the ones it provisions, which its deletions exclude.
        let r = if incremental {
            // Taken out while the render reads `after`, changed in place (a replay's
            // memo is its only owner) and put back.
            let mut memo = after.memo.verified_render.take().unwrap_or_default();
            let (r, fresh) = crate::render::render_verified_incremental(
                &after,
                std::sync::Arc::make_mut(&mut memo),
            );
            after.memo.verified_render = Some(memo);
            for n in fresh {
                after.rendered_ever.insert(n);
            }
            r
        } else {
            let r = crate::render::render_verified(&after);
            for d in &r.datasources {
                if let crate::py::PyValue::Str(n) = &d.name {
                    after.rendered_ever.insert(n.clone());
                }
            }
            std::sync::Arc::new(r)
        };
        rendered = Some(Ok(r));
    }
    Step {
        seen,
        after,
        effects,
        rendered,
    }
}

#[cfg(test)]
mod entry_key_tests {
    use super::*;
    use crate::py::{PyDict, PyKey, PyValue};

    fn dict(pairs: &[(PyKey, &str)]) -> PyDict {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), PyValue::Str((*v).into())))
            .collect()
    }

    /// A field is found wherever the dict has it: at the reducers' place with the interned
    /// key, elsewhere, or under a key that is equal text but another allocation; and a
    /// field the dict lacks is absent even when another key sits at its place.
    #[test]
    fn a_field_is_found_by_its_key_not_its_place() {
        let k = &*ENTRY_KEYS;
        let own = |t: &str| PyKey::Str(t.into());
        let made = dict(&[
            (k.unit.clone(), "u"),
            (k.source_name.clone(), "n"),
            (k.source_type.clone(), "t"),
            (k.url.clone(), "http://h"),
        ]);
        let shuffled = dict(&[
            (k.url.clone(), "http://h"),
            (own("source_type"), "t"),
            (k.source_name.clone(), "n"),
            (own("unit"), "u"),
        ]);
        for d in [&made, &shuffled] {
            let get = |f| k.get(d, f).map(|v| v.to_json());
            assert_eq!(get(Field::SourceName), Some("n".into()));
            assert_eq!(get(Field::SourceType), Some("t".into()));
            assert_eq!(get(Field::Url), Some("http://h".into()));
            assert_eq!(get(Field::ExtraFields), None);
            assert_eq!(get(Field::SecureExtraFields), None);
        }
        let secure_at_url = dict(&[(k.secure_extra_fields.clone(), "s")]);
        assert!(k.get(&secure_at_url, Field::Url).is_none());
        assert!(k.get(&secure_at_url, Field::SecureExtraFields).is_some());
        assert!(k
            .get(&PyDict::default(), Field::SecureExtraFields)
            .is_none());
    }
}

#[cfg(test)]
pub(crate) mod test_relation {
    use crate::databag::{Databag, SOURCE_DATA, SOURCE_HOST};
    use crate::world::{Relation, UnitName};
    use std::sync::Arc;

    /// A databag of one key, the interned one, as a bag read from a log holds it.
    fn bag(key: &Arc<str>, value: &str) -> Databag {
        Databag::from_items(vec![(key.clone(), value.into())])
    }

    /// A `grafana-source` relation of `app` whose units have the given hosts.
    pub(crate) fn with_hosts(app: &str, hosts: &[(&str, &str)]) -> Relation {
        let source = format!(
            r#"{{"model": "cos", "model_uuid": "0000", "application": "{app}", "type": "prometheus"}}"#
        );
        Relation {
            app: app.into(),
            app_data: bag(&SOURCE_DATA, &source),
            units: hosts
                .iter()
                .map(|(u, h)| (UnitName::new(Arc::from(*u)), bag(&SOURCE_HOST, h)))
                .collect(),
        }
    }

    /// What either profile's derivation of one relation must do when a unit's host moves
    /// (`derive`: the relation, the result before; `units`: a result's unit entries): the
    /// moved unit gets a new entry with the very name its entry had (shared, so names
    /// compare by pointer downstream) that is the entry made anew, key order included; the
    /// other units keep their entries; a unit new to the relation gets a name of its own.
    pub(crate) fn check_moved_host<D>(
        derive: impl Fn(&Relation, Option<&D>) -> D,
        units: impl Fn(&D) -> &[Arc<super::UnitEntry>],
    ) {
        let rel = with_hosts("prom", &[("prom/0", "10.0.0.1"), ("prom/1", "10.0.0.2")]);
        let first = derive(&rel, None);
        let again = derive(&moved(&rel, "prom/1", "10.0.0.9"), Some(&first));
        let (was, is) = (units(&first), units(&again));
        assert!(Arc::ptr_eq(&was[0], &is[0]));
        assert!(!Arc::ptr_eq(&was[1], &is[1]));
        assert_eq!(&*is[1].host, "10.0.0.9");
        assert!(Arc::ptr_eq(&was[1].name, &is[1].name));
        let fresh = derive(&moved(&rel, "prom/1", "10.0.0.9"), None);
        let text = |d: &D| crate::py::json::dumps(&units(d)[1].entry);
        assert_eq!(text(&again), text(&fresh));
        assert!(
            text(&again).contains("\"url\": \"http://10.0.0.9\""),
            "{}",
            text(&again)
        );
        let grown = with_hosts("prom", &[("prom/0", "10.0.0.1"), ("prom/2", "10.0.0.2")]);
        let other = derive(&grown, Some(&first));
        assert_eq!(&*units(&other)[1].name, "juju_cos_0000_prom_2");
    }

    /// `rel` with `unit`'s host changed to `host` (the other units' databags shared).
    pub(crate) fn moved(rel: &Relation, unit: &str, host: &str) -> Relation {
        let mut rel = rel.clone();
        let name = rel
            .units
            .keys()
            .find(|n| &*n.0 == unit)
            .cloned()
            .expect("a unit");
        rel.units.insert(name, bag(&SOURCE_HOST, host));
        rel
    }
}
