//! The invariants of spec section 3, as data, and the one checker that evaluates them.
//!
//! Each invariant is a named value of [`Invariant`]; [`check`] evaluates every one of them
//! on a [`StepView`] (state before, entry, state the handler saw, state after, effects,
//! and the renders before and after). The CLI, the conformance tests, the proptests, the
//! explorer and the fuzz targets all call this function and nothing else.
//!
//! ```
//! use grafana_source::invariants::Invariant;
//! assert_eq!(Invariant::StaleDatasource.name(), "stale-datasource");
//! assert_eq!("delete-overlap".parse::<Invariant>(), Ok(Invariant::DeleteOverlap));
//! ```
use crate::log::Entry;
use crate::py::{self, PyValue};
use crate::reducer::Effects;
use crate::render::{py_has_dollar, RenderResult, Rendered};
use crate::world::State;

/// A named property that must hold after every step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Invariant {
    /// A name provisioned before the step is neither provisioned nor deleted after it.
    StaleDatasource,
    /// A name is both provisioned and in `deleteDatasources`.
    DeleteOverlap,
    /// Two provisioned datasources share a name.
    DuplicateName,
    /// The peer databag changed in a hook where this unit is not the leader.
    NonLeaderWrite,
    /// The hook failed.
    HookFailed,
    /// A provisioned `url` does not start with an RFC 3986 `scheme://`.
    UrlWithoutScheme,
    /// A hook whose `departing_unit` is this unit added names to `sources_to_delete`.
    SelfDepartureDeletes,
    /// Extension: the provisioning file holds a `$` that is not escaped as `$$`, so
    /// Grafana's environment interpolation rewrites the value.
    UnescapedDollar,
}

impl Invariant {
    /// Every invariant, in the order reports list them.
    pub const ALL: [Invariant; 8] = [
        Invariant::StaleDatasource,
        Invariant::DeleteOverlap,
        Invariant::DuplicateName,
        Invariant::NonLeaderWrite,
        Invariant::HookFailed,
        Invariant::UrlWithoutScheme,
        Invariant::SelfDepartureDeletes,
        Invariant::UnescapedDollar,
    ];

    /// Whether spec section 3 lists it. Step reports' `violations` carry only these;
    /// the others are this project's extensions, reported by `check` and in the optional
    /// report field `extended_violations`.
    pub fn in_spec(self) -> bool {
        !matches!(self, Invariant::UnescapedDollar)
    }

    /// The name used in step reports.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::StaleDatasource => "stale-datasource",
            Invariant::DeleteOverlap => "delete-overlap",
            Invariant::DuplicateName => "duplicate-name",
            Invariant::NonLeaderWrite => "non-leader-write",
            Invariant::HookFailed => "hook-failed",
            Invariant::UrlWithoutScheme => "url-without-scheme",
            Invariant::SelfDepartureDeletes => "self-departure-deletes",
            Invariant::UnescapedDollar => "unescaped-dollar",
        }
    }

    /// One sentence for people: what breaking it means in production.
    pub fn explanation(self) -> &'static str {
        match self {
            Invariant::StaleDatasource => "a datasource Grafana had is no longer provisioned but was not scheduled for deletion, so Grafana keeps serving it",
            Invariant::DeleteOverlap => "a name is provisioned and scheduled for deletion at once, so Grafana deletes a datasource that should exist",
            Invariant::DuplicateName => "two datasources share a name, so one silently overwrites the other in Grafana",
            Invariant::NonLeaderWrite => "a non-leader unit changed the peer application databag, which only the leader may write",
            Invariant::HookFailed => "the hook raised, so Juju marks the unit in error and retries it",
            Invariant::UrlWithoutScheme => "a provisioned URL has no scheme://, which Grafana cannot use",
            Invariant::SelfDepartureDeletes => "this unit leaving the relation scheduled deletions, which removes datasources the remaining Grafana units still serve",
            Invariant::UnescapedDollar => "a value holds a `$` written as is, which Grafana's environment interpolation of provisioning files replaces",
        }
    }
}

impl std::str::FromStr for Invariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Invariant::ALL
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| format!("unknown invariant `{s}`"))
    }
}

/// Everything the checker may look at for one step.
pub struct StepView<'a> {
    pub entry: &'a Entry,
    pub before: &'a State,
    /// The state the handler saw: `before` with the line's own world changes applied.
    pub seen: &'a State,
    pub after: &'a State,
    pub effects: &'a Effects,
    pub rendered_before: &'a RenderResult,
    pub rendered_after: &'a RenderResult,
}

/// One broken invariant, with the datasource names involved (for people).
#[derive(Debug, Clone)]
pub struct Violation {
    pub invariant: Invariant,
    pub names: Vec<PyValue>,
}

/// A set of datasource names under Python's membership equality (`in`: identity, then
/// `==`, so the NaN `json.loads` returns equals itself): strings (nearly every name) by hash, the
/// rare non-string name (corrupt peer data) by linear comparison.
#[derive(Default)]
struct NameSet {
    strings: std::collections::HashSet<std::sync::Arc<str>>,
    others: Vec<PyValue>,
}

impl NameSet {
    fn insert(&mut self, name: &PyValue) -> bool {
        match name {
            PyValue::Str(s) => self.strings.insert(s.clone()),
            other if self.contains(other) => false,
            other => {
                self.others.push(other.clone());
                true
            }
        }
    }

    fn contains(&self, name: &PyValue) -> bool {
        match name {
            PyValue::Str(s) => self.strings.contains(s),
            other => self.others.iter().any(|o| py::py_eq_member(o, other)),
        }
    }
}

impl<'a> FromIterator<&'a PyValue> for NameSet {
    fn from_iter<I: IntoIterator<Item = &'a PyValue>>(iter: I) -> Self {
        let mut set = NameSet::default();
        for n in iter {
            set.insert(n);
        }
        set
    }
}

/// `^[A-Za-z][A-Za-z0-9+.-]*://`
///
/// One pass over the scheme's bytes: a scheme holds no `:`, so the `://` that ends it is
/// the first one in the url.
pub fn has_rfc3986_scheme(url: &str) -> bool {
    let b = url.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    let scheme_char = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-');
    let end = b.iter().position(|c| !scheme_char(c)).unwrap_or(b.len());
    b[end..].starts_with(b"://")
}

/// The names in a peer `sources_to_delete` value, as a Python set would hold them.
fn delete_names(state: &State) -> Vec<PyValue> {
    state
        .peer_value("sources_to_delete")
        .and_then(|v| v.doc().ok())
        .filter(|d| d.truthy())
        .and_then(|d| py::to_list(&d.to_py()).ok())
        .unwrap_or_default()
}

/// Names of the datasources (and deletions) whose provisioning entry holds a `$`.
fn dollar_names(r: &Rendered) -> Vec<PyValue> {
    r.datasources
        .iter()
        .filter(|d| d.has_dollar())
        .map(|d| d.name.clone())
        .chain(r.delete.iter().filter(|n| py_has_dollar(n)).cloned())
        .collect()
}

/// Whether `name` is provisioned in `r` (membership as Python's `in`).
fn provisioned(r: &Rendered, name: &PyValue) -> bool {
    match name {
        PyValue::Str(s) => r.agg.names.contains_key(s),
        other => r
            .datasources
            .iter()
            .any(|d| py::py_eq_member(&d.name, other)),
    }
}

/// Whether `name` is in `r`'s `deleteDatasources`.
fn deleted(r: &Rendered, name: &PyValue) -> bool {
    match name {
        PyValue::Str(s) => r.delete.contains_str(s),
        other => r.delete.iter().any(|d| py::py_eq_member(d, other)),
    }
}

/// Evaluate every invariant on one step; violations come in [`Invariant::ALL`] order.
///
/// Each render carries [`crate::render::Aggregates`] (name counts, duplicates, overlap,
/// bad urls, dollars) brought over from the render before, so a step costs what it
/// changed: stale names are looked for only in the runs of datasources that were rendered
/// anew, and the state properties are read from counts; names are listed (a full pass)
/// only when a count says a violation holds.
pub fn check(view: &StepView) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut add = |invariant, names: Vec<PyValue>| out.push(Violation { invariant, names });

    let after_ok = view.rendered_after.as_ref().ok();
    if let (Ok(before), Some(after)) = (view.rendered_before, after_ok) {
        // A reused render is the same object: nothing it provisioned can have gone. A render
        // brought over from `before` lists every name whose count fell to zero in `touched`:
        // when none did, nothing can be stale.
        let vanished =
            || {
                before.agg.odd_names > 0
                    || !after.agg.from.ptr_eq(&before.agg.names)
                    || after.agg.touched.iter().any(|s| {
                        before.agg.names.contains_key(s) && !after.agg.names.contains_key(s)
                    })
            };
        if !std::sync::Arc::ptr_eq(before, after) && vanished() {
            let mut stale = Vec::new();
            for (_, gone, _) in after.datasources.changes_since(&before.datasources) {
                let Some(gone) = gone else { continue };
                stale.extend(
                    gone.items()
                        .iter()
                        .map(|d| &d.name)
                        .filter(|n| !provisioned(after, n) && !deleted(after, n))
                        .cloned(),
                );
            }
            if !stale.is_empty() {
                add(Invariant::StaleDatasource, stale);
            }
        }
    }
    if let Some(after) = after_ok {
        let odd = after.agg.odd_names > 0;
        if odd || after.agg.overlap > 0 {
            let overlap: Vec<PyValue> = after
                .datasources
                .iter()
                .map(|d| &d.name)
                .filter(|n| deleted(after, n))
                .cloned()
                .collect();
            if !overlap.is_empty() {
                add(Invariant::DeleteOverlap, overlap);
            }
        }
        if odd || after.agg.dups > 0 {
            // One pass: the names seen a second time, in the order of that second time.
            let (mut now, mut dup_seen, mut dup) =
                (NameSet::default(), NameSet::default(), Vec::new());
            for d in &after.datasources {
                if !now.insert(&d.name) && dup_seen.insert(&d.name) {
                    dup.push(d.name.clone());
                }
            }
            if !dup.is_empty() {
                add(Invariant::DuplicateName, dup);
            }
        }
    }
    if !view.seen.leader && view.seen.peer_data() != view.after.peer_data() {
        add(Invariant::NonLeaderWrite, Vec::new());
    }
    if view.effects.outcome.is_err() {
        add(Invariant::HookFailed, Vec::new());
    }
    if let Some(after) = after_ok.filter(|r| r.agg.bad_urls > 0) {
        let bad: Vec<PyValue> = after
            .datasources
            .iter()
            .filter(|d| !matches!(&d.url, PyValue::Str(u) if has_rfc3986_scheme(u)))
            .map(|d| d.name.clone())
            .collect();
        add(Invariant::UrlWithoutScheme, bad);
    }
    if let Some(r) = after_ok.filter(|r| !r.dollars_escaped && r.agg.dollars > 0) {
        add(Invariant::UnescapedDollar, dollar_names(r));
    }
    let departing_self = match (&view.entry.departing_unit, &view.after.unit) {
        (Some(d), Some(me)) => d == me,
        _ => false,
    };
    if departing_self {
        let before: NameSet = delete_names(view.seen).iter().collect();
        let grown: Vec<PyValue> = delete_names(view.after)
            .into_iter()
            .filter(|n| !before.contains(n))
            .collect();
        if !grown.is_empty() {
            add(Invariant::SelfDepartureDeletes, grown);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_rule_is_rfc3986() {
        for ok in ["http://x", "a+b.c-d://", "H://", "a://", "http://x://y"] {
            assert!(has_rfc3986_scheme(ok), "{ok}");
        }
        for bad in [
            "x",
            "9090://z",
            "_x://y",
            "ü://x",
            "://x",
            "http:/x",
            "ht tp://x",
            "a:b://x",
            "ab:/x://",
            "h",
            "",
            "http:",
        ] {
            assert!(!has_rfc3986_scheme(bad), "{bad}");
        }
    }

    /// The one-pass scan agrees with the rule read literally (split at the first `://`,
    /// then check the part before it) on every string of up to 5 characters over an
    /// alphabet with a member of each class the rule tells apart.
    #[test]
    fn scheme_scan_is_the_rule() {
        let literal = |url: &str| {
            url.split_once("://").is_some_and(|(scheme, _)| {
                let mut chars = scheme.chars();
                chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                    && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
            })
        };
        let alphabet = ['a', 'Z', '0', '+', '.', '-', '_', 'ü', ' ', ':', '/'];
        let mut urls = vec![String::new()];
        let mut frontier = urls.clone();
        for _ in 0..5 {
            frontier = frontier
                .iter()
                .flat_map(|u| alphabet.iter().map(move |c| format!("{u}{c}")))
                .collect();
            urls.extend_from_slice(&frontier);
        }
        assert_eq!(urls.len(), (0..=5).map(|n| 11usize.pow(n)).sum::<usize>());
        for url in &urls {
            assert_eq!(has_rfc3986_scheme(url), literal(url), "{url:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for i in Invariant::ALL {
            assert_eq!(i.name().parse::<Invariant>(), Ok(i));
        }
        assert!("nope".parse::<Invariant>().is_err());
    }
}
