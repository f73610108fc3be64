//! The world view: what one Grafana unit can see of Juju, and the consumer's state in it.
//!
//! Everything is held in persistent collections (`imbl::OrdMap`), so a [`State`] clone is
//! O(1) and two snapshots share everything a step did not touch. Ordered maps make every
//! traversal deterministic: relations ascend by id, units by unit number.
//!
//! [`apply_world`] performs the part of a hook that Juju does before any handler runs
//! (spec section 1, "The world view, updated before the hook's handler runs"). It is the
//! same for every profile; profiles differ only in what their handlers do.
use crate::log::{Databag, Endpoint, Entry, HookKind};
use crate::peer::{PeerBag, PeerValue};
use crate::py::PyValue;
use imbl::{OrdMap, OrdSet};
use std::cmp::Ordering;
use std::sync::Arc;

/// A remote unit's name, ordered by unit number (then by name; names without a number
/// after their last `/` sort after every numbered one). The rank is taken once, when the
/// name is made: units are compared on every lookup in a relation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UnitName(pub Arc<str>, (bool, u64));

impl UnitName {
    /// The unit named `name`, ranked by the number after its last `/`.
    pub fn new(name: Arc<str>) -> UnitName {
        let rank = number_of(&name).map_or((true, 0), |n| (false, n));
        UnitName(name, rank)
    }

    /// The unit number: the digits after the last `/`, when that is all there is.
    pub fn number(&self) -> Option<u64> {
        (!self.1 .0).then_some(self.1 .1)
    }
}

fn number_of(name: &str) -> Option<u64> {
    let (_, n) = name.rsplit_once('/')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

impl Ord for UnitName {
    fn cmp(&self, other: &Self) -> Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            return Ordering::Equal;
        }
        self.1.cmp(&other.1).then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for UnitName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Debug for UnitName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A `grafana-source` relation as this unit sees it.
/// (`Debug` shows databag values as sizes: they may hold `secure_extra_fields`.)
#[derive(Clone, Debug)]
pub struct Relation {
    /// The remote application.
    pub app: Arc<str>,
    /// The remote application databag.
    pub app_data: Databag,
    /// Remote units that are members, with their databags.
    pub units: OrdMap<UnitName, Databag>,
}

impl Relation {
    fn new(app: Arc<str>) -> Self {
        Relation {
            app,
            app_data: Databag::new(),
            units: OrdMap::new(),
        }
    }
}

/// Equal content; shared parts (the common case between snapshots) compare by pointer.
impl PartialEq for Relation {
    fn eq(&self, other: &Self) -> bool {
        crate::log::same_text(&self.app, &other.app)
            && (self.app_data.ptr_eq(&other.app_data) || self.app_data == other.app_data)
            && (self.units.ptr_eq(&other.units) || self.units == other.units)
    }
}

/// Whether the peer relation `grafana` is visible to this unit.
#[derive(Clone, PartialEq)]
pub enum Peer {
    /// Not visible yet: reads give nothing, writes are skipped.
    Absent,
    /// Visible, with the peer application databag: the consumer's persistent state.
    Visible(PeerBag),
    /// Broken: as `Absent` for the handlers, but the last databag seen is remembered
    /// (the `verified` renderer keeps serving it while the unit is torn down).
    Gone(PeerBag),
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Absent => f.write_str("Absent"),
            Peer::Visible(bag) => f.debug_tuple("Visible").field(bag).finish(),
            Peer::Gone(bag) => f.debug_tuple("Gone").field(bag).finish(),
        }
    }
}

/// Whether the peer relation exists when a log starts. The conformance convention: it
/// does, unless the log's first `grafana-relation-*` line is `grafana-relation-created`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerAtStart {
    Visible,
    Absent,
}

impl PeerAtStart {
    /// Decide from the hook names of a log, in order; reads only up to the first peer hook.
    pub fn from_hooks<'a>(hooks: impl IntoIterator<Item = &'a str>) -> PeerAtStart {
        hooks
            .into_iter()
            .find_map(PeerAtStart::decided_by)
            .unwrap_or(PeerAtStart::Visible)
    }

    /// What `hook` decides when it is a peer relation hook (`grafana-relation-*`): the first
    /// one of a log decides; `None` for any other hook.
    pub fn decided_by(hook: &str) -> Option<PeerAtStart> {
        let kind = hook
            .strip_prefix(crate::log::PEER_ENDPOINT)?
            .strip_prefix("-relation-")?;
        match kind {
            "created" => Some(PeerAtStart::Absent),
            _ => Some(PeerAtStart::Visible),
        }
    }
}

/// Everything one Grafana unit knows after a hook: the world view and, in the peer
/// databag, the consumer's state. Cloning is O(1).
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// This unit's name, once a line has given it.
    pub unit: Option<Arc<str>>,
    pub leader: bool,
    /// Charm config values given so far (sticky, merged).
    pub config: OrdMap<Arc<str>, ConfigValue>,
    /// Visible `grafana-source` relations by id.
    /// Boxed: a path copy of the map copies a pointer per relation, not the relation.
    pub relations: OrdMap<u64, Arc<Relation>>,
    pub peer: Peer,
    /// Relations this unit itself has departed from (`departing_unit` was this unit), until
    /// they are created again.
    pub leaving: OrdSet<u64>,
    /// Every datasource name this unit has rendered so far (`verified` only; the local
    /// memory that keeps its `deleteDatasources` complete).
    pub rendered_ever: OrdSet<Arc<str>>,
    /// Memoised derivations (not state: a pure function of what they record, so they take
    /// no part in equality).
    pub memo: Memo,
}

/// Per-profile memoised derivations carried from step to step (see
/// [`crate::reducer::libpatch21::DeriveCache`]). Each is a pure function of the world it
/// records, checked against the current world before use, so it is never stale.
#[derive(Clone, Default)]
pub struct Memo {
    pub libpatch21: Option<Arc<crate::reducer::libpatch21::DeriveCache>>,
    pub verified: Option<Arc<crate::reducer::verified::ReconcileCache>>,
    pub verified_render: Option<Arc<crate::render::VerifiedRenderMemo>>,
}

impl PartialEq for Memo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

/// A charm config value. Kept as Python sees it: the renderer compares it with `<`.
#[derive(Clone, Debug)]
pub struct ConfigValue(pub PyValue);

impl PartialEq for ConfigValue {
    fn eq(&self, other: &Self) -> bool {
        crate::py::json::dumps(&self.0) == crate::py::json::dumps(&other.0)
    }
}

impl State {
    /// A copy of the state to keep or hand out, without the memo: that is a cache the fold
    /// carries forward, not state, and a kept copy of it would be as big as the world and
    /// make the fold's next step copy what it would otherwise change in place.
    pub fn without_memo(&self) -> State {
        let mut kept = self.clone();
        kept.memo = Memo::default();
        kept
    }

    /// Whether every relation id has a canonical place in a document derived relation by
    /// relation ([`crate::peer::placeable`]); the caches that derive one need it.
    pub(crate) fn ids_placeable(&self) -> bool {
        self.relations
            .get_max()
            .is_none_or(|(id, _)| crate::peer::placeable(*id))
    }

    /// The state before the first line of a log.
    pub fn new(peer: PeerAtStart) -> Self {
        State {
            unit: None,
            leader: false,
            config: OrdMap::new(),
            relations: OrdMap::new(),
            peer: match peer {
                PeerAtStart::Visible => Peer::Visible(PeerBag::new()),
                PeerAtStart::Absent => Peer::Absent,
            },
            leaving: OrdSet::new(),
            rendered_ever: OrdSet::new(),
            memo: Memo::default(),
        }
    }

    /// The peer application databag, when the peer relation is visible.
    pub fn peer_data(&self) -> Option<&PeerBag> {
        match &self.peer {
            Peer::Visible(bag) => Some(bag),
            Peer::Absent | Peer::Gone(_) => None,
        }
    }

    /// Whether rendering `self` is bound to give what rendering `other` gave: the inputs
    /// of both renderers (peer databag, last peer databag, config, rendered names) are the
    /// same objects. Cheap (pointer comparisons); `false` means "render again".
    pub fn renders_like(&self, other: &State) -> bool {
        let same_peer = match (&self.peer, &other.peer) {
            (Peer::Absent, Peer::Absent) => true,
            (Peer::Visible(a), Peer::Visible(b)) | (Peer::Gone(a), Peer::Gone(b)) => a.ptr_eq(b),
            _ => false,
        };
        same_peer
            && self.config.ptr_eq(&other.config)
            && self.rendered_ever.ptr_eq(&other.rendered_ever)
    }

    /// The visible peer value under `key`, unless missing or empty (`get_peer_data` then
    /// reads `{}`).
    pub fn peer_value(&self, key: &str) -> Option<&PeerValue> {
        self.peer_data()?.get(key).filter(|v| !v.is_empty())
    }

    /// The peer databag if visible, else the last one seen before it broke.
    pub fn last_peer_data(&self) -> Option<&PeerBag> {
        match &self.peer {
            Peer::Visible(bag) | Peer::Gone(bag) => Some(bag),
            Peer::Absent => None,
        }
    }
}

/// What a step did to the relations map: the map before it, when the caller still has it,
/// and the one relation its line can have changed (`None`: it changed none).
#[derive(Clone, Copy)]
pub struct RelationsHint<'a> {
    /// `None` when the step moved the map out of the state before it and changed it in
    /// place ([`crate::reducer::step_moving_on`]); the caches then know what changed from
    /// [`RelationsSeen`].
    pub before: Option<&'a OrdMap<u64, Arc<Relation>>>,
    pub touched: Option<u64>,
}

/// The relation a line can change: the `grafana-source` relation it is about.
pub fn touched_relation(entry: &Entry) -> Option<u64> {
    match (&entry.relation, entry.hook.endpoint) {
        (Some(r), Endpoint::Source) => Some(r.id),
        _ => None,
    }
}

/// The most relations a cache lets change in place before it derives again
/// ([`RelationsSeen::release`]); past it, the cache is dropped and built anew from the
/// world. Bounds the list for a leader that sees many hooks and no `relation-changed`.
pub const MAX_PENDING: usize = 1024;

/// The relations map a cache's results were derived from, as the cache knows it: a map it
/// holds, and the relations that may differ between that map and the one the results are
/// for.
///
/// A cache holds the map between steps, so nobody can change it in place behind the
/// cache's back (a change copies the path, and `ptr_eq` tells). For one moment of a
/// replay's step it lets go: when the map it holds is the one the step starts from, it
/// notes the relation the line touches as pending and drops its reference
/// ([`RelationsSeen::release`]), so that the world update changes the map in place instead
/// of copying the path to that relation; then it holds the map again
/// ([`RelationsSeen::hold`]). The results are brought up to date from the pending
/// relations and whatever the held map says changed since ([`RelationsSeen::changes`]).
#[derive(Clone)]
pub struct RelationsSeen {
    /// The map held; `None` between `release` and `hold`.
    map: Option<OrdMap<u64, Arc<Relation>>>,
    /// Relations that may differ between `map` and the map the results are for; no
    /// duplicates; at most [`MAX_PENDING`].
    pending: Vec<u64>,
}

impl Default for RelationsSeen {
    /// Results for no relations.
    fn default() -> Self {
        RelationsSeen {
            map: Some(OrdMap::new()),
            pending: Vec::new(),
        }
    }
}

/// What [`RelationsSeen::release`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Release {
    /// The cache holds a map other than `before` (or was released already): nothing to do.
    Kept,
    /// The cache let go of `before`; call [`RelationsSeen::hold`] once the step's world
    /// update is done.
    Released,
    /// Too many relations pending: drop the cache (it is built again from the world).
    Overflow,
}

impl RelationsSeen {
    /// Let go of the map when it is `before` (the map the step starts from) and the line
    /// touches a relation, noting that relation as pending.
    pub fn release(
        &mut self,
        before: &OrdMap<u64, Arc<Relation>>,
        touched: Option<u64>,
    ) -> Release {
        // A line that touches no relation leaves the map as it is: nothing to let go of.
        let Some(id) = touched else {
            return Release::Kept;
        };
        if !self.map.as_ref().is_some_and(|m| m.ptr_eq(before)) {
            return Release::Kept;
        }
        if !self.pending.contains(&id) {
            if self.pending.len() >= MAX_PENDING {
                return Release::Overflow;
            }
            self.pending.push(id);
        }
        self.map = None;
        Release::Released
    }

    /// Hold `now` again after a [`RelationsSeen::release`]: the step's world update is done.
    pub fn hold(&mut self, now: &OrdMap<u64, Arc<Relation>>) {
        if self.map.is_none() {
            self.map = Some(now.clone());
        }
    }

    /// The relations that may differ between the map the results are for and `now`,
    /// ascending, with their value in `now` (`None`: gone). `had(id)`: whether the results
    /// have relation `id`; a pending relation that is gone and was never had is left out.
    pub fn changes(
        &self,
        now: &OrdMap<u64, Arc<Relation>>,
        hint: RelationsHint,
        had: impl Fn(u64) -> bool,
    ) -> Vec<(u64, Option<Arc<Relation>>)> {
        let map = self
            .map
            .as_ref()
            .expect("a released map is held again before it is read");
        let mut changes = changed_relations(map, now, hint);
        if self.pending.is_empty() {
            return changes;
        }
        for &id in &self.pending {
            if changes.iter().any(|(c, _)| *c == id) {
                continue;
            }
            match now.get(&id) {
                Some(rel) => changes.push((id, Some(rel.clone()))),
                None if had(id) => changes.push((id, None)),
                None => {}
            }
        }
        changes.sort_unstable_by_key(|(id, _)| *id);
        changes
    }

    /// The results are now for `now`.
    pub fn set(&mut self, now: &OrdMap<u64, Arc<Relation>>) {
        self.map = Some(now.clone());
        self.pending.clear();
    }
}

/// The relations that differ between `old` and `now`, ascending, with their value in `now`
/// (`None`: gone). When `old` is the map before the step `hint` describes, only the touched
/// relation can differ and this is a lookup; otherwise an `imbl` diff, whose cost grows with
/// the depth of the maps even when little changed.
fn changed_relations(
    old: &OrdMap<u64, Arc<Relation>>,
    now: &OrdMap<u64, Arc<Relation>>,
    hint: RelationsHint,
) -> Vec<(u64, Option<Arc<Relation>>)> {
    use imbl::ordmap::DiffItem;
    if old.ptr_eq(now) {
        return Vec::new();
    }
    if hint.before.is_some_and(|b| b.ptr_eq(old)) {
        return hint
            .touched
            .into_iter()
            .filter_map(|id| match (old.get(&id), now.get(&id)) {
                (None, None) => None,
                (Some(a), Some(b)) if Arc::ptr_eq(a, b) => None,
                (_, b) => Some((id, b.cloned())),
            })
            .collect();
    }
    old.diff(now)
        .map(|d| match d {
            DiffItem::Add(id, rel) | DiffItem::Update { new: (id, rel), .. } => {
                (*id, Some(rel.clone()))
            }
            DiffItem::Remove(id, _) => (*id, None),
        })
        .collect()
}

/// Apply what Juju does before the handler runs: sticky fields, relation membership and
/// databags. A relation being broken is already invisible here (its handler cannot see it).
pub fn apply_world(state: &mut State, entry: &Entry) {
    if let Some(unit) = &entry.unit {
        state.unit = Some(unit.clone());
    }
    if let Some(leader) = entry.leader {
        state.leader = leader;
    }
    if let Some(config) = &entry.config {
        for (k, v) in config {
            state.config.insert(k.clone(), ConfigValue(v.clone()));
        }
    }
    let Some(rel) = &entry.relation else { return };
    match entry.hook.endpoint {
        Endpoint::Source => apply_source(state, entry, rel.id, &rel.remote_app),
        Endpoint::Peer => apply_peer(state, entry),
        Endpoint::Other => {}
    }
}

fn apply_source(state: &mut State, entry: &Entry, id: u64, remote_app: &Arc<str>) {
    let kind = entry.hook.kind;
    match kind {
        HookKind::RelationBroken => {
            state.relations.remove(&id);
            return;
        }
        HookKind::RelationCreated => {
            state
                .relations
                .insert(id, Arc::new(Relation::new(remote_app.clone())));
            state.leaving.remove(&id);
        }
        HookKind::RelationDeparted
            if entry.departing_unit.is_some() && entry.departing_unit == state.unit =>
        {
            state.leaving.insert(id);
        }
        _ => {}
    }
    let relation = Arc::make_mut(
        state
            .relations
            .entry(id)
            .or_insert_with(|| Arc::new(Relation::new(remote_app.clone()))),
    );
    if relation.app != *remote_app {
        relation.app = remote_app.clone();
    }
    if let Some(app_data) = &entry.app_data {
        relation.app_data = app_data.clone();
    }
    let Some(unit) = &entry.remote_unit else {
        return;
    };
    let unit = UnitName::new(unit.clone());
    match kind {
        HookKind::RelationDeparted => {
            relation.units.remove(&unit);
        }
        HookKind::RelationJoined | HookKind::RelationChanged => {
            let bag = relation.units.entry(unit).or_default();
            if let Some(data) = &entry.unit_data {
                *bag = data.clone();
            }
        }
        _ => {
            if let Some(data) = &entry.unit_data {
                relation.units.insert(unit, data.clone());
            }
        }
    }
}

fn apply_peer(state: &mut State, entry: &Entry) {
    match &state.peer {
        _ if entry.hook.kind == HookKind::RelationBroken => {
            let last = state.last_peer_data().cloned().unwrap_or_default();
            state.peer = Peer::Gone(last);
            return;
        }
        Peer::Absent | Peer::Gone(_) => state.peer = Peer::Visible(PeerBag::new()),
        Peer::Visible(_) => {}
    }
    if let (Peer::Visible(bag), Some(app_data)) = (&mut state.peer, &entry.app_data) {
        *bag = crate::peer::bag_from_texts(app_data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(app: &str) -> Arc<Relation> {
        Arc::new(Relation::new(Arc::from(app)))
    }

    /// A copy without the memo is the same state, and holds none of the memo's caches.
    #[test]
    fn without_memo_keeps_the_state_and_drops_the_caches() {
        let mut s = State::new(PeerAtStart::Visible);
        s.relations.insert(3, relation("prom"));
        let cache = Arc::new(crate::reducer::libpatch21::DeriveCache::default());
        s.memo.libpatch21 = Some(cache.clone());
        let kept = s.without_memo();
        assert!(kept == s);
        assert!(kept.memo.libpatch21.is_none() && s.memo.libpatch21.is_some());
        assert_eq!(
            Arc::strong_count(&cache),
            2,
            "the copy holds no reference to it"
        );
    }

    fn ids(changes: &[(u64, Option<Arc<Relation>>)]) -> Vec<(u64, bool)> {
        changes.iter().map(|(id, r)| (*id, r.is_some())).collect()
    }

    /// Relations 1..=n, and what a cache that derived from them knows.
    fn world(n: u64) -> (OrdMap<u64, Arc<Relation>>, RelationsSeen) {
        let map: OrdMap<u64, Arc<Relation>> = (1..=n).map(|id| (id, relation("a"))).collect();
        let mut seen = RelationsSeen::default();
        seen.set(&map);
        (map, seen)
    }

    /// The hint a replay's step passes (the map before it was moved out).
    fn moved(touched: Option<u64>) -> RelationsHint<'static> {
        RelationsHint {
            before: None,
            touched,
        }
    }

    #[test]
    fn a_released_map_changes_in_place_and_the_change_is_still_seen() {
        let (mut map, mut seen) = world(50);
        assert_eq!(seen.release(&map, Some(7)), Release::Released);
        // Nothing else holds the map: the update is in place, so the relation keeps its
        // address and no pointer comparison could tell the change.
        let at = Arc::as_ptr(&map[&7]);
        Arc::make_mut(map.get_mut(&7).unwrap()).app = Arc::from("b");
        assert_eq!(Arc::as_ptr(&map[&7]), at, "changed in place");
        seen.hold(&map);
        let changes = seen.changes(&map, moved(Some(7)), |_| true);
        assert_eq!(ids(&changes), [(7, true)]);
        assert_eq!(&*changes[0].1.as_ref().unwrap().app, "b");
        seen.set(&map);
        assert!(seen.changes(&map, moved(None), |_| true).is_empty());
    }

    #[test]
    fn pending_relations_add_up_until_the_results_are_brought_up_to_date() {
        let (mut map, mut seen) = world(5);
        // Four steps whose handler does not read the cache: 2 changes, 9 appears, 4 goes,
        // 2 changes again (pending once).
        for (touched, change) in [(2, true), (9, true), (4, false), (2, true)] {
            assert_eq!(seen.release(&map, Some(touched)), Release::Released);
            if change {
                map.insert(touched, relation("b"));
            } else {
                map.remove(&touched);
            }
            seen.hold(&map);
        }
        // 4 was had, so its removal is reported; a relation that came and went unseen is
        // not (`had` says no).
        let changes = seen.changes(&map, moved(None), |id| id <= 5);
        assert_eq!(ids(&changes), [(2, true), (4, false), (9, true)]);
        assert_eq!(seen.release(&map, Some(11)), Release::Released);
        seen.hold(&map);
        let changes = seen.changes(&map, moved(None), |id| id <= 5);
        assert_eq!(
            ids(&changes),
            [(2, true), (4, false), (9, true)],
            "11 is gone and was never had"
        );
    }

    #[test]
    fn a_map_changed_behind_the_cache_is_found_by_comparing() {
        let (mut map, mut seen) = world(20);
        // The cache holds the map, so a change copies the path: the map is not the one
        // released against, and `release` keeps it.
        map.insert(3, relation("b"));
        map.remove(&8);
        assert_eq!(seen.release(&map, Some(3)), Release::Kept);
        seen.hold(&map);
        let changes = seen.changes(&map, moved(Some(3)), |_| true);
        assert_eq!(ids(&changes), [(3, true), (8, false)]);
    }

    #[test]
    fn a_line_without_a_relation_releases_nothing() {
        let (map, mut seen) = world(3);
        assert_eq!(seen.release(&map, None), Release::Kept);
        assert!(seen.changes(&map, moved(None), |_| true).is_empty());
    }

    #[test]
    fn too_many_pending_relations_drop_the_cache() {
        let map: OrdMap<u64, Arc<Relation>> = OrdMap::new();
        let mut seen = RelationsSeen::default();
        seen.set(&map);
        for id in 0..MAX_PENDING as u64 {
            assert_eq!(seen.release(&map, Some(id)), Release::Released);
            seen.hold(&map);
        }
        // A relation already pending costs nothing more; a new one is one too many.
        assert_eq!(seen.release(&map, Some(0)), Release::Released);
        seen.hold(&map);
        assert_eq!(
            seen.release(&map, Some(MAX_PENDING as u64)),
            Release::Overflow
        );
    }

    #[test]
    fn units_order_by_number_then_name() {
        let mut names: Vec<UnitName> = ["p/10", "p/2", "p", "p/a/7", "q/1"]
            .iter()
            .map(|s| UnitName::new(Arc::from(*s)))
            .collect();
        names.sort();
        let got: Vec<&str> = names.iter().map(|u| &*u.0).collect();
        assert_eq!(got, ["q/1", "p/2", "p/a/7", "p/10", "p"]);
    }

    #[test]
    fn peer_at_start_follows_the_first_peer_hook() {
        assert_eq!(
            PeerAtStart::from_hooks(["install", "grafana-relation-created"]),
            PeerAtStart::Absent
        );
        assert_eq!(
            PeerAtStart::from_hooks([
                "install",
                "grafana-relation-changed",
                "grafana-relation-created"
            ]),
            PeerAtStart::Visible
        );
        assert_eq!(PeerAtStart::from_hooks(["install"]), PeerAtStart::Visible);
        // Only the peer endpoint's hooks decide.
        for other in [
            "install",
            "grafana-source-relation-created",
            "grafana-relation",
        ] {
            assert_eq!(PeerAtStart::decided_by(other), None, "{other}");
        }
    }
}
