//! A Juju databag: string keys to string values, as one sorted, immutable slice.
//!
//! Juju databags hold a handful of keys (a provider unit writes four or five), are written
//! whole by every hook line that carries one, and are then only read. A persistent map per
//! databag paid for what it was never asked to do: a node sized for six entries, a path
//! copy per insert while the line was parsed, a pointer hop per lookup. A `Databag` is one
//! allocation holding its entries sorted by key; cloning it is a reference count, and a
//! write (only the provider fold writes) builds a new slice, which at this size costs what
//! a path copy did.

use std::cmp::Ordering;
use std::sync::Arc;

/// One key and its value.
pub type Item = (Arc<str>, Arc<str>);

/// `grafana_source_host`, as `log::intern` shares it (see [`Databag::get_interned`]).
pub(crate) static SOURCE_HOST: std::sync::LazyLock<Arc<str>> =
    std::sync::LazyLock::new(|| crate::log::intern(crate::provider::SOURCE_HOST_KEY));

/// `grafana_source_data`, as `log::intern` shares it.
pub(crate) static SOURCE_DATA: std::sync::LazyLock<Arc<str>> =
    std::sync::LazyLock::new(|| crate::log::intern(crate::provider::SOURCE_DATA_KEY));

/// A databag: string keys to string values, as Juju stores it. Ordered by key, so every
/// output derived from it is deterministic; each key appears once. Cloning is O(1).
///
/// ```
/// use grafana_source::log::Databag;
/// use std::sync::Arc;
/// let bag: Databag = [("b", "2"), ("a", "1"), ("b", "3")]
///     .into_iter()
///     .map(|(k, v)| (Arc::from(k), Arc::from(v)))
///     .collect();
/// // Sorted by key, and a key given twice keeps its last value, as `json.loads` does.
/// let keys: Vec<&str> = bag.keys().map(|k| &**k).collect();
/// assert_eq!(keys, ["a", "b"]);
/// assert_eq!(bag.get("b").map(|v| &**v), Some("3"));
/// assert_eq!(&*bag["a"], "1");
/// ```
#[derive(Clone, Default)]
pub struct Databag {
    /// `None` when empty (no allocation); otherwise at least one entry, keys strictly
    /// ascending.
    items: Option<Arc<[Item]>>,
}

impl Databag {
    /// The empty databag.
    pub const fn new() -> Self {
        Databag { items: None }
    }

    /// From entries in any order; a key given more than once keeps its last value.
    pub fn from_items(mut items: Vec<Item>) -> Self {
        Self::from_buffer(&mut items)
    }

    /// [`Databag::from_items`] that leaves `items` empty with its capacity, so that a
    /// caller building one databag after another (the log reader) reuses one buffer: the
    /// databag is then the only allocation.
    pub(crate) fn from_buffer(items: &mut Vec<Item>) -> Self {
        // Juju and the capture tools write keys sorted: then there is nothing to sort and
        // no key twice.
        if items
            .windows(2)
            .all(|w| key_order(&w[0].0, &w[1].0) == Ordering::Less)
        {
            return Self::from_sorted(items);
        }
        // Stable: equal keys stay in the order given, so the last one given is the last of
        // its run; `dedup_by` keeps the first of a run, so it takes the later value over.
        items.sort_by(|a, b| key_order(&a.0, &b.0));
        items.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        Self::from_sorted(items)
    }

    /// From entries already strictly ascending by key (drained from `items`).
    fn from_sorted(items: &mut Vec<Item>) -> Self {
        debug_assert!(items.windows(2).all(|w| w[0].0 < w[1].0));
        Databag {
            // An exact-size source: one allocation, the right size.
            items: (!items.is_empty()).then(|| items.drain(..).collect()),
        }
    }

    fn items(&self) -> &[Item] {
        self.items.as_deref().unwrap_or(&[])
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.items().binary_search_by(|(k, _)| (**k).cmp(key))
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Arc<str>> {
        let at = self.position(key).ok()?;
        Some(&self.items()[at].1)
    }

    /// The value under `key`, a key `log::intern` shares (such as `SOURCE_HOST`): a bag
    /// read from a log holds that very key, so a small bag is scanned for it by pointer
    /// first; otherwise, or when it is not found so, as [`Databag::get`].
    pub(crate) fn get_interned(&self, key: &Arc<str>) -> Option<&Arc<str>> {
        /// The most entries scanned by pointer; Juju databags hold a handful.
        const SCAN: usize = 16;
        let items = self.items();
        let shared = items.len() <= SCAN;
        shared
            .then(|| items.iter().find(|(k, _)| Arc::ptr_eq(k, key)))
            .flatten()
            .map(|(_, v)| v)
            .or_else(|| self.get(key))
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.items().len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_none()
    }

    /// The entries, ascending by key.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Arc<str>, &Arc<str>)> {
        self.items().iter().map(|(k, v)| (k, v))
    }

    /// The keys, ascending.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Arc<str>> {
        self.items().iter().map(|(k, _)| k)
    }

    /// Set `key` to `value`, returning the value it replaces. Builds a new slice (other
    /// clones keep the old one).
    pub fn insert(&mut self, key: Arc<str>, value: Arc<str>) -> Option<Arc<str>> {
        let mut items = self.items().to_vec();
        let old = match self.position(&key) {
            Ok(at) => Some(std::mem::replace(&mut items[at].1, value)),
            Err(at) => {
                items.insert(at, (key, value));
                None
            }
        };
        *self = Self::from_sorted(&mut items);
        old
    }

    /// Remove `key`, returning its value. Builds a new slice when the key was there.
    pub fn remove(&mut self, key: &str) -> Option<Arc<str>> {
        let at = self.position(key).ok()?;
        let mut items = self.items().to_vec();
        let (_, old) = items.remove(at);
        *self = Self::from_sorted(&mut items);
        Some(old)
    }

    /// Whether both are the same allocation (or both empty): equal without looking.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        match (&self.items, &other.items) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl PartialEq for Databag {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other) || self.items() == other.items()
    }
}

impl Eq for Databag {}

impl std::hash::Hash for Databag {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.items().hash(state);
    }
}

/// Values may hold `secure_extra_fields`: debug output shows each key and the byte length
/// of its value, never the value.
impl std::fmt::Debug for Databag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Len(usize);
        impl std::fmt::Debug for Len {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "<{} bytes>", self.0)
            }
        }
        f.debug_map()
            .entries(self.iter().map(|(k, v)| (k, Len(v.len()))))
            .finish()
    }
}

impl FromIterator<Item> for Databag {
    fn from_iter<I: IntoIterator<Item = Item>>(iter: I) -> Self {
        Self::from_items(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Databag {
    type Item = (&'a Arc<str>, &'a Arc<str>);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, Item>, fn(&'a Item) -> Self::Item>;
    fn into_iter(self) -> Self::IntoIter {
        self.items().iter().map(|(k, v)| (k, v))
    }
}

/// A JSON object of strings, keys in the databag's (sorted) order: how hook logs and
/// provider reports write a databag. Values are written as they are: a caller that shows
/// one to people redacts it first.
impl serde::Serialize for Databag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|(k, v)| (&**k, &**v)))
    }
}

impl std::ops::Index<&str> for Databag {
    type Output = Arc<str>;
    /// Panics when `key` is missing, as indexing a map does.
    fn index(&self, key: &str) -> &Arc<str> {
        self.get(key).expect("key in databag")
    }
}

/// `a.cmp(b)`, deciding on the first eight bytes as one number when they differ (databag
/// keys nearly always do), without a call to `memcmp`: the keys of every line are ordered
/// once, and those calls (about four a line) were half a percent of a replay step's
/// instructions.
fn key_order(a: &str, b: &str) -> Ordering {
    // Big-endian, zero-padded: numbers ordered as the bytes are, and a string that is a
    // prefix of the other never ordered after it (a tie falls through to the whole text).
    let head = |s: &str| {
        let mut w = [0u8; 8];
        let n = s.len().min(8);
        w[..n].copy_from_slice(&s.as_bytes()[..n]);
        u64::from_be_bytes(w)
    };
    head(a).cmp(&head(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_is_str_order() {
        let keys = [
            "",
            "a",
            "a\0",
            "a\0\0",
            "ab",
            "egress-subnets",
            "egress-s",
            "egress-sz",
            "grafana_source_host",
            "grafana_source_data",
            "ingress-address",
            "private-address",
            "\u{7f}",
            "\u{80}",
            "é",
            "zzzzzzzzz",
            "zzzzzzzz",
            "\0\0\0\0\0\0\0\0",
            "\0\0\0\0\0\0\0\0\0",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(key_order(a, b), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn sorted_input_and_unsorted_input_make_the_same_bag() {
        let sorted = bag(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let unsorted = bag(&[("c", "3"), ("a", "1"), ("b", "2")]);
        let twice = bag(&[("a", "0"), ("b", "2"), ("a", "1"), ("c", "3")]);
        let pairs = |d: &Databag| {
            d.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(pairs(&sorted), ["a=1", "b=2", "c=3"]);
        assert_eq!(pairs(&unsorted), pairs(&sorted));
        assert_eq!(pairs(&twice), pairs(&sorted));
        // In order but for a key given twice in a row: still the later value, once.
        let adjacent = bag(&[("a", "0"), ("a", "1"), ("b", "2"), ("c", "3")]);
        assert_eq!(pairs(&adjacent), pairs(&sorted));
    }

    #[test]
    fn serialises_as_an_object_of_strings_in_key_order() {
        let b = bag(&[("b", "2"), ("a", "\"1\""), ("b", "3")]);
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            r#"{"a":"\"1\"","b":"3"}"#
        );
        assert_eq!(serde_json::to_string(&Databag::new()).unwrap(), "{}");
    }

    fn bag(pairs: &[(&str, &str)]) -> Databag {
        pairs
            .iter()
            .map(|(k, v)| (Arc::from(*k), Arc::from(*v)))
            .collect()
    }

    #[test]
    fn agrees_with_an_ordered_map_on_every_small_sequence_of_writes() {
        // Every sequence of up to 4 writes over 3 keys and 2 values, both as one batch
        // (a parsed line) and as single inserts (the provider fold): same entries, same
        // order, same lookups as a BTreeMap given the same writes.
        let keys = ["b", "a", "c"];
        let values = ["1", "2"];
        let choices: Vec<(&str, &str)> = keys
            .iter()
            .flat_map(|k| values.iter().map(move |v| (*k, *v)))
            .collect();
        let mut checked = 0;
        for len in 0..=4u32 {
            for code in 0..choices.len().pow(len) {
                let mut c = code;
                let writes: Vec<(&str, &str)> = (0..len)
                    .map(|_| {
                        let w = choices[c % choices.len()];
                        c /= choices.len();
                        w
                    })
                    .collect();
                let model: std::collections::BTreeMap<&str, &str> =
                    writes.iter().copied().collect();
                let batch = bag(&writes);
                let mut one_by_one = Databag::new();
                for (k, v) in &writes {
                    one_by_one.insert(Arc::from(*k), Arc::from(*v));
                }
                // Removing a key and giving it back is the same bag.
                for k in ["a", "d"] {
                    let mut again = one_by_one.clone();
                    let removed = again.remove(k);
                    assert_eq!(removed.as_deref(), model.get(k).copied());
                    assert!(!again.contains_key(k));
                    assert_eq!(again.len(), model.len() - usize::from(removed.is_some()));
                    if let Some(v) = removed {
                        again.insert(Arc::from(k), v);
                    }
                    assert_eq!(again, one_by_one);
                }
                for got in [&batch, &one_by_one] {
                    let entries: Vec<(&str, &str)> =
                        got.iter().map(|(k, v)| (&**k, &**v)).collect();
                    let want: Vec<(&str, &str)> = model.iter().map(|(k, v)| (*k, *v)).collect();
                    assert_eq!(entries, want, "writes {writes:?}");
                    assert_eq!(got.len(), model.len());
                    assert_eq!(got.is_empty(), model.is_empty());
                    for k in ["a", "b", "c", "d"] {
                        assert_eq!(got.get(k).map(|v| &**v), model.get(k).copied());
                        assert_eq!(got.contains_key(k), model.contains_key(k));
                    }
                }
                assert_eq!(batch, one_by_one);
                checked += 1;
            }
        }
        assert_eq!(checked, 1 + 6 + 36 + 216 + 1296);
    }

    #[test]
    fn insert_leaves_clones_as_they_were() {
        let a = bag(&[("k", "1")]);
        let mut b = a.clone();
        assert!(a.ptr_eq(&b));
        assert_eq!(
            b.insert(Arc::from("k"), Arc::from("2")).as_deref(),
            Some("1")
        );
        assert_eq!(&*a["k"], "1");
        assert_eq!(&*b["k"], "2");
        assert!(!a.ptr_eq(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn debug_shows_sizes_not_values() {
        let shown = format!("{:?}", bag(&[("password", "hunter2")]));
        assert_eq!(shown, r#"{"password": <7 bytes>}"#);
    }

    #[test]
    fn empty_bags_are_equal_and_hold_nothing() {
        let empty = bag(&[]);
        assert!(empty.is_empty() && empty.ptr_eq(&Databag::new()));
        assert_eq!(empty, Databag::default());
        assert_ne!(empty, bag(&[("k", "")]));
    }

    /// An interned key is found by pointer, by its text in a bag parsed without interning
    /// and in a bag too big to scan; a key the bag lacks is absent.
    #[test]
    fn an_interned_key_is_found_however_the_bag_holds_it() {
        let host = &*SOURCE_HOST;
        let shared =
            Databag::from_items(vec![("a".into(), "1".into()), (host.clone(), "h".into())]);
        let copied = bag(&[("grafana_source_host", "h"), ("z", "2")]);
        let mut many: Vec<(String, String)> = (0..40)
            .map(|i| (format!("k{i:02}"), i.to_string()))
            .collect();
        many.push(("grafana_source_host".into(), "h".into()));
        let big: Databag = many
            .into_iter()
            .map(|(k, v)| (Arc::from(k), Arc::from(v)))
            .collect();
        for b in [&shared, &copied, &big] {
            assert_eq!(b.get_interned(host).map(|v| &**v), Some("h"));
            assert!(b.get_interned(&SOURCE_DATA).is_none());
        }
        assert!(Databag::new().get_interned(host).is_none());
    }
}
