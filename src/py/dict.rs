//! `PyDict`: a Python dict, insertion-ordered, as `json.dumps` writes it.
//!
//! Most dicts the fold handles are small: the entries both profiles make for a unit have
//! four to six keys, and a host update copies one. A small dict is one vector of keys and
//! values searched in order (keys are mostly interned, so a match is a pointer
//! comparison): copying it is one allocation, against an `IndexMap`'s two (its entries
//! and its hash table) and the table's bytes. A dict that grows past [`SMALL`] keys moves
//! to an `IndexMap`, so lookups in big dicts (corrupt peer data can hold any) stay O(1).
use super::value::{PyKey, PyValue};
use indexmap::{Equivalent, IndexMap};
use std::hash::Hash;

/// The most keys a dict keeps in its vector; one more and it takes a hash index.
pub const SMALL: usize = 8;

type Big = IndexMap<PyKey, PyValue, foldhash::fast::RandomState>;

/// A Python dict: insertion-ordered, keys unique (see the module documentation).
#[derive(Clone)]
pub struct PyDict(Repr);

#[derive(Clone)]
enum Repr {
    /// At most [`SMALL`] entries, in insertion order, keys distinct.
    Small(Vec<(PyKey, PyValue)>),
    Big(Big),
}

impl Default for PyDict {
    fn default() -> Self {
        PyDict(Repr::Small(Vec::new()))
    }
}

impl std::fmt::Debug for PyDict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The place of the key `q` stands for among `entries`.
fn find<Q: ?Sized + Equivalent<PyKey>>(entries: &[(PyKey, PyValue)], q: &Q) -> Option<usize> {
    entries.iter().position(|(k, _)| q.equivalent(k))
}

impl PyDict {
    /// An empty dict.
    pub fn new() -> PyDict {
        PyDict::default()
    }

    /// An empty dict with room for `n` keys.
    pub fn with_capacity(n: usize) -> PyDict {
        if n <= SMALL {
            PyDict(Repr::Small(Vec::with_capacity(n)))
        } else {
            PyDict(Repr::Big(Big::with_capacity_and_hasher(
                n,
                Default::default(),
            )))
        }
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Small(v) => v.len(),
            Repr::Big(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `d.get(key)`.
    pub fn get<Q: ?Sized + Hash + Equivalent<PyKey>>(&self, key: &Q) -> Option<&PyValue> {
        match &self.0 {
            Repr::Small(v) => find(v, key).map(|i| &v[i].1),
            Repr::Big(m) => m.get(key),
        }
    }

    /// `key in d`.
    pub fn contains_key<Q: ?Sized + Hash + Equivalent<PyKey>>(&self, key: &Q) -> bool {
        self.get(key).is_some()
    }

    /// The value at `key`, to change in place.
    pub fn get_mut<Q: ?Sized + Hash + Equivalent<PyKey>>(
        &mut self,
        key: &Q,
    ) -> Option<&mut PyValue> {
        match &mut self.0 {
            Repr::Small(v) => find(v, key).map(|i| &mut v[i].1),
            Repr::Big(m) => m.get_mut(key),
        }
    }

    /// The `i`th key and value in insertion order.
    pub fn get_index(&self, i: usize) -> Option<(&PyKey, &PyValue)> {
        match &self.0 {
            Repr::Small(v) => v.get(i).map(|(k, v)| (k, v)),
            Repr::Big(m) => m.get_index(i),
        }
    }

    /// The `i`th key and its value, to change in place.
    pub fn get_index_mut(&mut self, i: usize) -> Option<(&PyKey, &mut PyValue)> {
        match &mut self.0 {
            Repr::Small(v) => v.get_mut(i).map(|(k, v)| (&*k, v)),
            Repr::Big(m) => m.get_index_mut(i),
        }
    }

    /// `d[key] = value`: in its place when the key is there (the old value is returned),
    /// else appended.
    pub fn insert(&mut self, key: PyKey, value: PyValue) -> Option<PyValue> {
        match &mut self.0 {
            Repr::Small(v) => {
                if let Some(i) = find(v, &key) {
                    return Some(std::mem::replace(&mut v[i].1, value));
                }
                if v.len() < SMALL {
                    v.push((key, value));
                    return None;
                }
                let mut m = Big::with_capacity_and_hasher(v.len() + 1, Default::default());
                m.extend(v.drain(..));
                m.insert(key, value);
                self.0 = Repr::Big(m);
                None
            }
            Repr::Big(m) => m.insert(key, value),
        }
    }

    /// `d.pop(key, None)`: the keys after it keep their order.
    pub fn shift_remove<Q: ?Sized + Hash + Equivalent<PyKey>>(
        &mut self,
        key: &Q,
    ) -> Option<PyValue> {
        match &mut self.0 {
            Repr::Small(v) => find(v, key).map(|i| v.remove(i).1),
            Repr::Big(m) => m.shift_remove(key),
        }
    }

    /// Keys and values in insertion order, the values to change in place.
    pub fn iter_mut(&mut self) -> IterMut<'_> {
        match &mut self.0 {
            Repr::Small(v) => IterMut::Small(v.iter_mut()),
            Repr::Big(m) => IterMut::Big(m.iter_mut()),
        }
    }

    /// Values in insertion order, to change in place.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut PyValue> {
        self.iter_mut().map(|(_, v)| v)
    }

    /// Put the entries in the order `cmp` gives (a stable sort: equal ones keep theirs).
    pub fn sort_by(
        &mut self,
        mut cmp: impl FnMut(&PyKey, &PyValue, &PyKey, &PyValue) -> std::cmp::Ordering,
    ) {
        match &mut self.0 {
            Repr::Small(v) => v.sort_by(|(k1, v1), (k2, v2)| cmp(k1, v1, k2, v2)),
            Repr::Big(m) => m.sort_by(cmp),
        }
    }

    /// Keys and values in insertion order.
    pub fn iter(&self) -> Iter<'_> {
        match &self.0 {
            Repr::Small(v) => Iter::Small(v.iter()),
            Repr::Big(m) => Iter::Big(m.iter()),
        }
    }

    /// Keys in insertion order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &PyKey> + ExactSizeIterator + Clone {
        self.iter().map(|(k, _)| k)
    }

    /// Values in insertion order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &PyValue> + ExactSizeIterator + Clone {
        self.iter().map(|(_, v)| v)
    }
}

/// [`PyDict::iter`].
#[derive(Clone)]
pub enum Iter<'a> {
    Small(std::slice::Iter<'a, (PyKey, PyValue)>),
    Big(indexmap::map::Iter<'a, PyKey, PyValue>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a PyKey, &'a PyValue);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Small(it) => it.next().map(|(k, v)| (k, v)),
            Iter::Big(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Small(it) => it.size_hint(),
            Iter::Big(it) => it.size_hint(),
        }
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Small(it) => it.next_back().map(|(k, v)| (k, v)),
            Iter::Big(it) => it.next_back(),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// [`PyDict::iter_mut`].
pub enum IterMut<'a> {
    Small(std::slice::IterMut<'a, (PyKey, PyValue)>),
    Big(indexmap::map::IterMut<'a, PyKey, PyValue>),
}

impl<'a> Iterator for IterMut<'a> {
    type Item = (&'a PyKey, &'a mut PyValue);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            IterMut::Small(it) => it.next().map(|(k, v)| (&*k, v)),
            IterMut::Big(it) => it.next(),
        }
    }
}

impl<'a> IntoIterator for &'a PyDict {
    type Item = (&'a PyKey, &'a PyValue);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Keys and values in insertion order, by value.
impl IntoIterator for PyDict {
    type Item = (PyKey, PyValue);
    type IntoIter = IntoIter;
    fn into_iter(self) -> IntoIter {
        match self.0 {
            Repr::Small(v) => IntoIter::Small(v.into_iter()),
            Repr::Big(m) => IntoIter::Big(m.into_iter()),
        }
    }
}

/// [`PyDict`]'s owning iterator.
pub enum IntoIter {
    Small(std::vec::IntoIter<(PyKey, PyValue)>),
    Big(indexmap::map::IntoIter<PyKey, PyValue>),
}

impl Iterator for IntoIter {
    type Item = (PyKey, PyValue);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            IntoIter::Small(it) => it.next(),
            IntoIter::Big(it) => it.next(),
        }
    }
}

/// `d[k] = v` for each pair, in order (a later pair with the same key replaces the
/// value in the first one's place, as in Python).
impl Extend<(PyKey, PyValue)> for PyDict {
    fn extend<I: IntoIterator<Item = (PyKey, PyValue)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl FromIterator<(PyKey, PyValue)> for PyDict {
    fn from_iter<I: IntoIterator<Item = (PyKey, PyValue)>>(iter: I) -> Self {
        let mut d = PyDict::default();
        d.extend(iter);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::py::StrKey;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn k(s: &str) -> PyKey {
        PyKey::Str(Arc::from(s))
    }

    fn int(n: i64) -> PyValue {
        PyValue::Int(crate::py::PyInt::Small(n))
    }

    fn keys(d: &PyDict) -> Vec<String> {
        d.keys()
            .map(|k| match k {
                PyKey::Str(s) => s.to_string(),
                PyKey::Int(n) => format!("#{n}"),
            })
            .collect()
    }

    /// One operation on a dict, with a key from a pool of ten (five `str`, five `int`,
    /// one `int` whose text is a `str` key's) so that sequences hit keys again.
    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, i64),
        Remove(u8),
        SetAt(usize, i64),
        Sort,
    }

    fn pool_key(n: u8) -> PyKey {
        match n % 10 {
            n @ 0..5 => k(&format!("{}", n + 3)),
            n => PyKey::Int(i64::from(n)),
        }
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u8>(), any::<i64>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => any::<u8>().prop_map(Op::Remove),
            1 => (0usize..12, any::<i64>()).prop_map(|(i, v)| Op::SetAt(i, v)),
            1 => Just(Op::Sort),
        ]
    }

    fn shown<'a>(it: impl Iterator<Item = (&'a PyKey, &'a PyValue)>) -> Vec<String> {
        it.map(|(k, v)| format!("{k:?}={v:?}")).collect()
    }

    proptest! {
        /// Any sequence of writes leaves a `PyDict` (small, big, or moved from one to the
        /// other) holding what an `IndexMap` given the same writes holds, in its order,
        /// and both answer every lookup alike.
        #[test]
        fn a_dict_is_an_index_map(ops in proptest::collection::vec(op(), 0..40)) {
            let mut d = PyDict::default();
            let mut m = Big::default();
            for op in &ops {
                match *op {
                    Op::Insert(key, v) => prop_assert_eq!(
                        format!("{:?}", d.insert(pool_key(key), int(v))),
                        format!("{:?}", m.insert(pool_key(key), int(v)))
                    ),
                    Op::Remove(key) => prop_assert_eq!(
                        format!("{:?}", d.shift_remove(&pool_key(key))),
                        format!("{:?}", m.shift_remove(&pool_key(key)))
                    ),
                    Op::SetAt(i, v) => {
                        if let Some((_, slot)) = d.get_index_mut(i) {
                            *slot = int(v);
                        }
                        if let Some((_, slot)) = m.get_index_mut(i) {
                            *slot = int(v);
                        }
                    }
                    Op::Sort => {
                        d.sort_by(|a, _, b, _| a.cmp(b)); // any total order serves
                        m.sort_by(|a, _, b, _| a.cmp(b));
                    }
                }
                prop_assert_eq!(d.len(), m.len());
                prop_assert_eq!(shown(d.iter()), shown(m.iter()));
                prop_assert_eq!(shown(d.iter().rev()), shown(m.iter().rev()));
                for n in 0..10 {
                    let key = pool_key(n);
                    prop_assert_eq!(
                        format!("{:?}", d.get(&key)),
                        format!("{:?}", m.get(&key))
                    );
                    if let PyKey::Str(s) = &key {
                        prop_assert_eq!(d.contains_key(&StrKey(s)), m.contains_key(&key));
                    }
                }
                prop_assert!(d.len() <= SMALL || matches!(d.0, Repr::Big(_)));
            }
            let owned: Vec<(PyKey, PyValue)> = d.clone().into_iter().collect();
            let want: Vec<(PyKey, PyValue)> = m.into_iter().collect();
            prop_assert_eq!(format!("{owned:?}"), format!("{want:?}"));
            let rebuilt: PyDict = owned.into_iter().collect();
            prop_assert_eq!(shown(rebuilt.iter()), shown(d.iter()));
        }
    }

    /// A ninth key moves a dict to the hash-indexed form, in the same order.
    #[test]
    fn a_ninth_key_moves_a_dict_to_an_index_map() {
        let mut d = PyDict::with_capacity(2);
        for n in 0..=SMALL as u8 {
            d.insert(pool_key(n), int(n.into()));
            assert_eq!(matches!(d.0, Repr::Big(_)), d.len() > SMALL);
        }
        let order: Vec<_> = (0..=SMALL as u8)
            .map(|n| format!("{:?}", pool_key(n)))
            .collect();
        assert_eq!(
            d.keys().map(|k| format!("{k:?}")).collect::<Vec<_>>(),
            order
        );
    }

    #[test]
    fn a_key_set_again_keeps_its_place_and_lookups_take_borrowed_keys() {
        let mut d: PyDict = [(k("a"), int(1)), (k("b"), int(2)), (k("a"), int(3))]
            .into_iter()
            .collect();
        assert_eq!(keys(&d), ["a", "b"]);
        assert!(matches!(
            d.get(&StrKey("a")),
            Some(PyValue::Int(crate::py::PyInt::Small(3)))
        ));
        assert!(d.get(&StrKey("c")).is_none());
        // An int key and the str key of its text are different keys.
        d.insert(PyKey::Int(7), int(4));
        assert!(d.get(&StrKey("7")).is_none());
        assert!(d.contains_key(&PyKey::Int(7)));
        assert_eq!(keys(&d), ["a", "b", "#7"]);
        *d.get_index_mut(1).unwrap().1 = int(5);
        assert!(matches!(
            d.get(&k("b")),
            Some(PyValue::Int(crate::py::PyInt::Small(5)))
        ));
        assert!(d.shift_remove(&StrKey("a")).is_some());
        assert_eq!(keys(&d), ["b", "#7"]);
    }
}
