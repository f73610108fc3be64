//! Multisets of datasource names kept from step to step: how many relations derive, or
//! runs provision, each name. Persistent (`imbl`), so snapshots share them; changed by
//! summing a step's changes per name first ([`Delta`]) and applying the net result, so a
//! step that removes and re-adds the same names (a host moving) leaves the map untouched.
//!
//! ```
//! use grafana_source::names::{Delta, NameCounts};
//! let mut counts = NameCounts::default();
//! let a: std::sync::Arc<str> = "a".into();
//! let mut d = Delta::default();
//! d.add([&a, &a], 1);
//! let moved = d.apply(&mut counts);
//! assert_eq!(moved[0].before, 0);
//! assert_eq!(moved[0].after, 2);
//! let mut d = Delta::default();
//! d.add([&a], -1);
//! d.add([&a], 1);
//! assert!(d.apply(&mut counts).is_empty());
//! ```
use imbl::OrdMap;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Each name with its number of occurrences (absent: zero).
pub type NameCounts = NameMap<u32>;

/// A persistent map from names to values: an `imbl::OrdMap` keyed by each name's 64-bit
/// hash, the names themselves in the values (one per hash, but for collisions).
///
/// Not `imbl::HashMap`: the `small-chunks` feature this crate takes for its ordered maps
/// (see Cargo.toml) also narrows imbl's HAMT hashes to 8 bits, so that a map of 50,000
/// names holds them in 256 collision lists, each searched string by string. Here a lookup
/// walks the B-tree comparing integers held in its nodes, and compares one name at the end.
/// The hasher has a random seed (crafted names cannot pile up in one bucket on purpose),
/// kept by clones; the iteration order follows the hashes and means nothing.
///
/// ```
/// use grafana_source::names::NameMap;
/// let mut m: NameMap<u32> = NameMap::default();
/// m.insert("prometheus_0".into(), 2u32);
/// let snapshot = m.clone();
/// *m.get_mut("prometheus_0").unwrap() += 1;
/// assert_eq!((snapshot.get("prometheus_0"), m.get("prometheus_0")), (Some(&2), Some(&3)));
/// assert_eq!(m.remove("prometheus_0"), Some(3));
/// assert!(m.is_empty() && !snapshot.is_empty());
/// ```
///
/// `S` hashes the names; tests give one that collides on purpose.
#[derive(Clone)]
pub struct NameMap<V: Clone, S = foldhash::fast::RandomState> {
    by_hash: OrdMap<u64, Bucket<V>>,
    len: usize,
    hasher: S,
}

impl<V: Clone, S: Default> Default for NameMap<V, S> {
    fn default() -> Self {
        NameMap {
            by_hash: OrdMap::new(),
            len: 0,
            hasher: S::default(),
        }
    }
}

/// The names of one hash: nearly always one, held inline.
#[derive(Clone)]
enum Bucket<V> {
    One((Arc<str>, V)),
    Many(Vec<(Arc<str>, V)>),
}

impl<V> Bucket<V> {
    fn as_slice(&self) -> &[(Arc<str>, V)] {
        match self {
            Bucket::One(kv) => std::slice::from_ref(kv),
            Bucket::Many(all) => all,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [(Arc<str>, V)] {
        match self {
            Bucket::One(kv) => std::slice::from_mut(kv),
            Bucket::Many(all) => all,
        }
    }
}

impl<V: Clone, S: BuildHasher> NameMap<V, S> {
    fn hash(&self, name: &str) -> u64 {
        self.hasher.hash_one(name)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether both maps are the very same snapshot (O(1); `false` says nothing).
    pub fn ptr_eq(&self, other: &Self) -> bool {
        self.by_hash.ptr_eq(&other.by_hash)
    }

    pub fn get(&self, name: &str) -> Option<&V> {
        let b = self.by_hash.get(&self.hash(name))?;
        b.as_slice()
            .iter()
            .find(|(k, _)| **k == *name)
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The value of `name`, to change in place (copying the path to it if it is shared).
    pub fn get_mut(&mut self, name: &str) -> Option<&mut V> {
        let h = self.hash(name);
        let b = self.by_hash.get_mut(&h)?;
        b.as_mut_slice()
            .iter_mut()
            .find(|(k, _)| **k == *name)
            .map(|(_, v)| v)
    }

    /// Set `name` to `value`; the value it had. One walk of the tree for a name present,
    /// two for a new one.
    pub fn insert(&mut self, name: Arc<str>, value: V) -> Option<V> {
        let h = self.hash(&name);
        match self.by_hash.get_mut(&h) {
            None => {
                self.by_hash.insert(h, Bucket::One((name, value)));
            }
            Some(b) => {
                let slot = b.as_mut_slice().iter_mut().find(|(k, _)| *k == name);
                if let Some((_, v)) = slot {
                    return Some(std::mem::replace(v, value));
                }
                let mut all = b.as_slice().to_vec();
                all.push((name, value));
                *b = Bucket::Many(all);
            }
        }
        self.len += 1;
        None
    }

    /// Take `name` out; the value it had. One walk of the tree for a name absent, two
    /// for one present; the tree is not changed for a name absent.
    pub fn remove(&mut self, name: &str) -> Option<V> {
        let h = self.hash(name);
        let i = self
            .by_hash
            .get(&h)?
            .as_slice()
            .iter()
            .position(|(k, _)| **k == *name)?;
        let old = match self.by_hash.remove(&h)? {
            Bucket::One((_, v)) => v,
            Bucket::Many(mut all) => {
                let (_, v) = all.remove(i);
                let rest = match <[_; 1]>::try_from(all) {
                    Ok([one]) => Bucket::One(one),
                    Err(all) => Bucket::Many(all),
                };
                self.by_hash.insert(h, rest);
                v
            }
        };
        self.len -= 1;
        Some(old)
    }

    /// Every name and its value, in no meaningful order.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &V)> {
        self.by_hash
            .values()
            .flat_map(|b| b.as_slice().iter().map(|(k, v)| (k, v)))
    }

    /// Every name, in no meaningful order.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<str>> {
        self.iter().map(|(k, _)| k)
    }
}

impl<V: Clone + std::fmt::Debug, S: BuildHasher> std::fmt::Debug for NameMap<V, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The net change of each name's count over a step, in the order names were first met.
#[derive(Default)]
pub struct Delta(indexmap::IndexMap<Arc<str>, i64, foldhash::fast::RandomState>);

/// A name whose count moved.
#[derive(Debug)]
pub struct Moved {
    pub name: Arc<str>,
    pub before: u32,
    pub after: u32,
}

impl Moved {
    /// Whether the name went from absent to present.
    pub fn appeared(&self) -> bool {
        self.before == 0 && self.after > 0
    }

    /// Whether the name went from present to absent.
    pub fn vanished(&self) -> bool {
        self.before > 0 && self.after == 0
    }

    /// +1 when the name became a duplicate, -1 when it stopped being one, else 0.
    pub fn dup_change(&self) -> isize {
        match (self.before >= 2, self.after >= 2) {
            (false, true) => 1,
            (true, false) => -1,
            _ => 0,
        }
    }
}

impl Delta {
    /// Count each of `names` `by` (±1) more.
    pub fn add<'a>(&mut self, names: impl IntoIterator<Item = &'a Arc<str>>, by: i64) {
        for n in names {
            *self.0.entry(n.clone()).or_insert(0) += by;
        }
    }

    /// Replace `old` by `new` (names counted once per occurrence); nothing is noted when the
    /// two are the same names in the same order, the common case of a host moving.
    pub fn replace<'a, O, N>(&mut self, old: O, new: N)
    where
        O: IntoIterator<Item = &'a Arc<str>, IntoIter: Clone>,
        N: IntoIterator<Item = &'a Arc<str>, IntoIter: Clone>,
    {
        let (old, new) = (old.into_iter(), new.into_iter());
        let (mut a, mut b) = (old.clone(), new.clone());
        let same = loop {
            match (a.next(), b.next()) {
                (None, None) => break true,
                (Some(x), Some(y)) if crate::log::same_text(x, y) => {}
                _ => break false,
            }
        };
        if same {
            return;
        }
        self.add(old, -1);
        self.add(new, 1);
    }

    /// Apply the net changes to `counts`; the names whose count moved.
    pub fn apply(self, counts: &mut NameCounts) -> Vec<Moved> {
        let mut moved = Vec::new();
        for (name, d) in self.0 {
            if d == 0 {
                continue;
            }
            let moved_from = |before: u32| {
                let after = i64::from(before) + d;
                debug_assert!(after >= 0, "name count below zero");
                u32::try_from(after.max(0)).unwrap_or(u32::MAX)
            };
            // A name counted before changes where it stands: one walk of the map.
            let (before, after) = match counts.get_mut(&name) {
                Some(count) => {
                    let before = *count;
                    *count = moved_from(before);
                    (before, *count)
                }
                None => (0, moved_from(0)),
            };
            if before > 0 && after == 0 {
                counts.remove(&name);
            } else if before == 0 && after > 0 {
                counts.insert(name.clone(), after);
            }
            moved.push(Moved {
                name,
                before,
                after,
            });
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Hashes every name to one of three values, so that most names share a bucket.
    #[derive(Clone, Default)]
    struct Colliding;

    impl BuildHasher for Colliding {
        type Hasher = ModThree;
        fn build_hasher(&self) -> ModThree {
            ModThree(0)
        }
    }

    struct ModThree(u64);

    impl std::hash::Hasher for ModThree {
        fn finish(&self) -> u64 {
            self.0 % 3
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = self.0.wrapping_mul(31).wrapping_add(u64::from(*b));
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u32),
        Remove(u8),
        Bump(u8),
        Snapshot,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..12, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            (0u8..12).prop_map(Op::Remove),
            (0u8..12).prop_map(Op::Bump),
            Just(Op::Snapshot),
        ]
    }

    /// Runs `ops` on a `NameMap` and on a `HashMap`, checking every answer, every
    /// snapshot taken along the way (later writes leave it as it was) and the whole
    /// content (through `len`, `get` of every name, `iter`) after each op.
    fn check<S: BuildHasher + Clone + Default>(ops: &[Op]) {
        let name = |k: u8| -> Arc<str> { format!("ds_{k}").into() };
        let mut m: NameMap<u32, S> = NameMap::default();
        let mut model: HashMap<Arc<str>, u32> = HashMap::new();
        let mut snapshots = Vec::new();
        for op in ops {
            match *op {
                Op::Insert(k, v) => assert_eq!(m.insert(name(k), v), model.insert(name(k), v)),
                Op::Remove(k) => assert_eq!(m.remove(&name(k)), model.remove(&name(k))),
                Op::Bump(k) => {
                    let got = m.get_mut(&name(k)).map(|v| {
                        *v = v.wrapping_add(1);
                        *v
                    });
                    let want = model.get_mut(&name(k)).map(|v| {
                        *v = v.wrapping_add(1);
                        *v
                    });
                    assert_eq!(got, want);
                }
                Op::Snapshot => snapshots.push((m.clone(), model.clone())),
            }
            same(&m, &model);
        }
        for (m, model) in &snapshots {
            same(m, model);
        }
    }

    fn same<S: BuildHasher>(m: &NameMap<u32, S>, model: &HashMap<Arc<str>, u32>) {
        assert_eq!((m.len(), m.is_empty()), (model.len(), model.is_empty()));
        for k in 0u8..12 {
            let n = format!("ds_{k}");
            assert_eq!(m.get(&n), model.get(n.as_str()), "{n}");
            assert_eq!(m.contains_key(&n), model.contains_key(n.as_str()));
        }
        let mut all: Vec<(Arc<str>, u32)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        all.sort();
        let mut want: Vec<(Arc<str>, u32)> = model.iter().map(|(k, v)| (k.clone(), *v)).collect();
        want.sort();
        assert_eq!(all, want);
        assert_eq!(m.keys().count(), model.len());
    }

    proptest! {
        #[test]
        fn name_map_is_a_map(ops in proptest::collection::vec(op(), 0..60)) {
            check::<foldhash::fast::RandomState>(&ops);
        }

        /// Names sharing a hash: buckets of many names grow, shrink back to one, empty.
        #[test]
        fn name_map_with_collisions_is_a_map(ops in proptest::collection::vec(op(), 0..60)) {
            check::<Colliding>(&ops);
        }
    }

    /// A step's net changes: a count that moves is changed in place, one that falls to
    /// zero leaves the map, a new name enters it; a snapshot taken before keeps its counts.
    #[test]
    fn apply_moves_counts_and_leaves_snapshots() {
        let n = |t: &str| -> Arc<str> { t.into() };
        let (a, b, c) = (n("a"), n("b"), n("c"));
        let mut counts = NameCounts::default();
        counts.insert(a.clone(), 2);
        counts.insert(b.clone(), 1);
        let before = counts.clone();
        let mut d = Delta::default();
        d.add([&a, &b], -1);
        d.add([&c], 1);
        let moved: Vec<_> = d
            .apply(&mut counts)
            .into_iter()
            .map(|m| (m.name.to_string(), m.before, m.after))
            .collect();
        assert_eq!(
            moved,
            [("a".into(), 2, 1), ("b".into(), 1, 0), ("c".into(), 0, 1)]
        );
        assert_eq!(
            (counts.get("a"), counts.get("b"), counts.get("c")),
            (Some(&1), None, Some(&1))
        );
        assert_eq!(counts.len(), 2);
        assert_eq!(
            (before.get("a"), before.get("b"), before.get("c")),
            (Some(&2), Some(&1), None)
        );
    }

    /// The colliding hasher does put names in shared buckets (else the test above would
    /// test nothing more than the first).
    #[test]
    fn colliding_names_share_buckets() {
        let mut m: NameMap<u32, Colliding> = NameMap::default();
        for k in 0..12 {
            m.insert(format!("ds_{k}").into(), k);
        }
        assert_eq!(m.len(), 12);
        assert!(m.by_hash.len() <= 3);
        assert!(m
            .by_hash
            .values()
            .any(|b| matches!(b, Bucket::Many(v) if v.len() > 2)));
        for k in 0..12 {
            assert_eq!(m.remove(&format!("ds_{k}")), Some(k));
        }
        assert!(m.is_empty() && m.by_hash.is_empty());
    }
}
