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
use std::sync::Arc;

/// Each name with its number of occurrences (absent: zero).
pub type NameCounts = imbl::HashMap<Arc<str>, u32>;

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
        if old.clone().eq(new.clone()) {
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
            let before = counts.get(&name).copied().unwrap_or(0);
            let after = i64::from(before) + d;
            debug_assert!(after >= 0, "name count below zero");
            let after = u32::try_from(after.max(0)).unwrap_or(u32::MAX);
            if after == 0 {
                counts.remove(&name);
            } else {
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
