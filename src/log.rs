//! Hook log v1: one JSON object per line, one Juju hook as one Grafana unit saw it.
//!
//! Parsing is strict and streaming. Every line becomes a typed [`Entry`] or a
//! [`LogError`] that names the line and the field; blank lines are the only thing
//! skipped, as the format says. [`LogReader`] reads one line at a time into a reused
//! buffer, so memory does not grow with the length of the log.
//!
//! ```
//! use grafana_source::log::{parse_line, HookKind, Endpoint};
//! let e = parse_line(1, r#"{"hook": "grafana-source-relation-changed", "relation": "grafana-source",
//!     "relation_id": 7, "remote_app": "prometheus", "remote_unit": "prometheus/0",
//!     "unit_data": {"grafana_source_host": "10.0.0.1:9090"}}"#).unwrap();
//! assert_eq!(e.hook.kind, HookKind::RelationChanged);
//! assert_eq!(e.hook.endpoint, Endpoint::Source);
//! assert_eq!(e.relation.as_ref().unwrap().id, 7);
//! ```
use crate::py::PyValue;
use serde::Deserialize;
use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::Arc;

/// The consumer's relation endpoint (interface `grafana_datasource`).
pub const SOURCE_ENDPOINT: &str = "grafana-source";
/// The Grafana charm's peer endpoint.
pub const PEER_ENDPOINT: &str = "grafana";
/// The longest line accepted, in bytes. Real hooks carry kilobytes; a line past this is
/// almost certainly not a hook log, and refusing it keeps memory bounded.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

pub use crate::databag::Databag;

/// What kind of hook a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookKind {
    RelationCreated,
    RelationJoined,
    RelationChanged,
    RelationDeparted,
    RelationBroken,
    UpgradeCharm,
    LeaderElected,
    LeaderSettingsChanged,
    ConfigChanged,
    /// Any other hook Juju runs (install, start, update-status, `<container>-pebble-ready`,
    /// secrets, storage, ...): the consumer observes none of them.
    Other,
}

impl HookKind {
    /// Whether this is one of the five `<endpoint>-relation-*` hooks.
    pub fn is_relation(self) -> bool {
        matches!(
            self,
            HookKind::RelationCreated
                | HookKind::RelationJoined
                | HookKind::RelationChanged
                | HookKind::RelationDeparted
                | HookKind::RelationBroken
        )
    }
}

/// Which endpoint a relation hook belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `grafana-source`: the datasource relations.
    Source,
    /// `grafana`: the peer relation holding the consumer's state.
    Peer,
    /// Another endpoint of the charm (dashboards, ingress, ...), or not a relation hook.
    Other,
}

/// A parsed hook name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// The name as Juju gave it (`JUJU_HOOK_NAME`).
    pub name: Arc<str>,
    pub kind: HookKind,
    pub endpoint: Endpoint,
}

/// Most lines of a log are relation-changed hooks: that suffix is tried first.
const RELATION_SUFFIXES: [(&str, HookKind); 5] = [
    ("-relation-changed", HookKind::RelationChanged),
    ("-relation-created", HookKind::RelationCreated),
    ("-relation-joined", HookKind::RelationJoined),
    ("-relation-departed", HookKind::RelationDeparted),
    ("-relation-broken", HookKind::RelationBroken),
];

const PLAIN_HOOKS: [(&str, HookKind); 16] = [
    ("install", HookKind::Other),
    ("start", HookKind::Other),
    ("stop", HookKind::Other),
    ("remove", HookKind::Other),
    ("config-changed", HookKind::ConfigChanged),
    ("upgrade-charm", HookKind::UpgradeCharm),
    ("update-status", HookKind::Other),
    ("leader-elected", HookKind::LeaderElected),
    ("leader-settings-changed", HookKind::LeaderSettingsChanged),
    ("collect-metrics", HookKind::Other),
    ("secret-changed", HookKind::Other),
    ("secret-expired", HookKind::Other),
    ("secret-remove", HookKind::Other),
    ("secret-rotate", HookKind::Other),
    ("pre-series-upgrade", HookKind::Other),
    ("post-series-upgrade", HookKind::Other),
];

/// Suffixes of the hooks Juju names after a container or a storage.
const NAMED_HOOK_SUFFIXES: [&str; 6] = [
    "-pebble-ready",
    "-pebble-custom-notice",
    "-pebble-check-failed",
    "-pebble-check-recovered",
    "-storage-attached",
    "-storage-detaching",
];

/// Whether `s` is a valid Juju endpoint, container or storage name (`[a-z][a-z0-9-]*`).
/// Byte by byte: every allowed character is ASCII, and no byte of a longer UTF-8
/// character is.
fn is_juju_name(s: &str) -> bool {
    let b = s.as_bytes();
    matches!(b.first(), Some(b'a'..=b'z'))
        && b.iter()
            .all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'-'))
        && b.last() != Some(&b'-')
}

impl Hook {
    /// Parse a hook name; `None` when Juju has no such hook.
    pub fn parse(name: &str) -> Option<(Hook, Option<&str>)> {
        let (kind, endpoint, endpoint_name) = Hook::classify(name)?;
        let hook = Hook {
            name: intern(name),
            kind,
            endpoint,
        };
        Some((hook, endpoint_name))
    }

    /// What [`Hook::parse`] finds in a name: the kind, the endpoint and, on a relation
    /// hook, the endpoint's name.
    ///
    /// Relation hooks are tried first, the commonest lines: no plain hook name ends with a
    /// relation hook's suffix, so the order decides nothing (a test checks it).
    fn classify(name: &str) -> Option<(HookKind, Endpoint, Option<&str>)> {
        for (suffix, kind) in RELATION_SUFFIXES {
            if let Some(endpoint) = name.strip_suffix(suffix) {
                let ep = match endpoint {
                    SOURCE_ENDPOINT => Endpoint::Source,
                    PEER_ENDPOINT => Endpoint::Peer,
                    _ if is_juju_name(endpoint) => Endpoint::Other,
                    _ => return None,
                };
                return Some((kind, ep, Some(endpoint)));
            }
        }
        if let Some(&(_, kind)) = PLAIN_HOOKS.iter().find(|(n, _)| *n == name) {
            return Some((kind, Endpoint::Other, None));
        }
        for suffix in NAMED_HOOK_SUFFIXES {
            if let Some(prefix) = name.strip_suffix(suffix) {
                if is_juju_name(prefix) {
                    return Some((HookKind::Other, Endpoint::Other, None));
                }
            }
        }
        None
    }
}

/// The relation a relation hook runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationRef {
    /// `JUJU_RELATION`: the endpoint name.
    pub endpoint: Arc<str>,
    /// The number in `JUJU_RELATION_ID`.
    pub id: u64,
    /// `JUJU_REMOTE_APP`.
    pub remote_app: Arc<str>,
}

/// One hook invocation, typed. Field meanings: spec section 1.
#[derive(Clone)]
pub struct Entry {
    /// 1-based line number in the log this entry came from.
    pub line: u64,
    pub hook: Hook,
    /// `JUJU_UNIT_NAME`, when the line gives it (sticky).
    pub unit: Option<Arc<str>>,
    /// `is-leader` during this hook, when the line gives it (sticky).
    pub leader: Option<bool>,
    /// Present exactly on relation hooks.
    pub relation: Option<RelationRef>,
    /// `JUJU_REMOTE_UNIT`: never empty (a line's `""` is `None`, as ops reads it).
    pub remote_unit: Option<Arc<str>>,
    /// `JUJU_DEPARTING_UNIT`: never empty either.
    pub departing_unit: Option<Arc<str>>,
    /// The complete remote application databag, replacing the earlier view.
    pub app_data: Option<Databag>,
    /// The complete databag of `remote_unit`, replacing the earlier view.
    pub unit_data: Option<Databag>,
    /// Charm config values given on this line (merged into the sticky config).
    pub config: Option<Vec<(Arc<str>, PyValue)>>,
    /// Legacy `StoredState` of the consumer (`upgrade-charm` only).
    pub stored_state: Option<PyValue>,
}

impl Entry {
    /// Whether ops refuses to make this hook's event: a `grafana-source` or peer relation
    /// hook whose `remote_unit` is not a unit of its `remote_app`. ops takes the event's
    /// application from `JUJU_REMOTE_APP` (when that is empty, from the unit's name, which
    /// then needs a `/`) and `RelationEvent` raises `RuntimeError` when the unit's
    /// application, its name up to the first `/`, is another one. Juju never runs such a
    /// hook; a log can still say so. (An empty `remote_unit` is none from the parse on.)
    /// Hooks of other endpoints are left out: whether ops makes an event for them depends
    /// on the Grafana charm's metadata, which the log does not carry.
    ///
    /// ```
    /// use grafana_source::log::parse_line;
    /// let line = |unit: &str| format!(r#"{{"hook": "grafana-source-relation-joined",
    ///     "relation": "grafana-source", "relation_id": 1, "remote_app": "prometheus",
    ///     "remote_unit": "{unit}"}}"#);
    /// assert!(!parse_line(1, &line("prometheus/0")).unwrap().remote_unit_app_mismatch());
    /// assert!(parse_line(1, &line("loki/0")).unwrap().remote_unit_app_mismatch());
    /// ```
    pub fn remote_unit_app_mismatch(&self) -> bool {
        let (Some(rel), Some(unit)) = (&self.relation, &self.remote_unit) else {
            return false;
        };
        if !self.hook.kind.is_relation()
            || !matches!(self.hook.endpoint, Endpoint::Source | Endpoint::Peer)
        {
            return false;
        }
        if rel.remote_app.is_empty() {
            // The application comes from the unit's name, which needs a `/`.
            return memchr::memchr(b'/', unit.as_bytes()).is_none();
        }
        unit_application(unit) != &*rel.remote_app
    }
}

/// The application a unit name names, as ops takes it: the name up to its first `/` (the
/// whole name when it has none). One search (SIMD): every step of a replay asks.
pub(crate) fn unit_application(unit: &str) -> &str {
    memchr::memchr(b'/', unit.as_bytes()).map_or(unit, |i| &unit[..i])
}

/// `Debug` names which databags a line carries but never their values: relation data
/// carries `secure_extra_fields`, which must not reach logs or debug output.
impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = |d: &Option<Databag>| d.as_ref().map(|d| d.keys().cloned().collect::<Vec<_>>());
        f.debug_struct("Entry")
            .field("line", &self.line)
            .field("hook", &self.hook.name)
            .field("unit", &self.unit)
            .field("leader", &self.leader)
            .field("relation", &self.relation)
            .field("remote_unit", &self.remote_unit)
            .field("departing_unit", &self.departing_unit)
            .field("app_data_keys", &keys(&self.app_data))
            .field("unit_data_keys", &keys(&self.unit_data))
            .field("has_config", &self.config.is_some())
            .field("has_stored_state", &self.stored_state.is_some())
            .finish()
    }
}

/// A log line that is not a valid hook log v1 entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("line {line}: not valid JSON: {message}")]
    Json { line: u64, message: String },
    #[error("line {line}: field `{field}`: {message}")]
    Field {
        line: u64,
        field: String,
        message: String,
    },
    #[error("line {line}: not valid UTF-8")]
    Utf8 { line: u64 },
    #[error("line {line}: longer than {max} bytes", max = MAX_LINE_BYTES)]
    TooLong { line: u64 },
    #[error("reading the log failed after line {line}: {message}")]
    Io { line: u64, message: String },
    /// A stream read ahead as far as [`crate::replay::PEER_READ_AHEAD_MAX`] entries without
    /// a `grafana-relation-*` hook, which alone says whether the peer relation exists when
    /// the log starts (a file is scanned instead, and a caller may state it).
    #[error(
        "line {line}: no `grafana-relation-*` hook in the {held} entries before it says \
         whether the peer relation exists from the start, and a stream is held back no \
         further"
    )]
    PeerUndecided { line: u64, held: usize },
}

impl LogError {
    /// The 1-based line the error is about.
    pub fn line(&self) -> u64 {
        match self {
            LogError::Json { line, .. }
            | LogError::Field { line, .. }
            | LogError::Utf8 { line }
            | LogError::TooLong { line }
            | LogError::Io { line, .. }
            | LogError::PeerUndecided { line, .. } => *line,
        }
    }
}

/// The wire shape of a line. Unknown fields are refused: nothing a user wrote is dropped.
/// Strings are read straight into the `Arc<str>` the entry keeps (one allocation each, none
/// for the names every log repeats, see [`intern`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    hook: Name,
    #[serde(default)]
    unit: Option<Name>,
    #[serde(default)]
    leader: Option<bool>,
    #[serde(default)]
    relation: Option<Name>,
    #[serde(default)]
    relation_id: Option<u64>,
    #[serde(default)]
    remote_app: Option<Name>,
    #[serde(default)]
    remote_unit: Option<Name>,
    #[serde(default)]
    departing_unit: Option<Name>,
    #[serde(default)]
    app_data: Option<WireDatabag>,
    #[serde(default)]
    unit_data: Option<WireDatabag>,
    // Boxed: nearly no line has them, and the struct is moved several times a line.
    #[serde(default)]
    config: Option<Box<serde_json::Map<String, serde_json::Value>>>,
    #[serde(default)]
    stored_state: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

/// A JSON string read into an `Arc<str>`, shared when it is one of the names every log
/// repeats.
struct Name(Arc<str>);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor(intern)).map(Name)
    }
}

/// A JSON string read into a new `Arc<str>`: a databag value (addresses, JSON documents),
/// which no other line shares, so not looked up among the shared names.
struct Text(Arc<str>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor(|s: &str| Arc::from(s)))
            .map(Text)
    }
}

/// Reads a JSON string into an `Arc<str>` made by its function (generic, so inlined).
struct StrVisitor<F>(F);

impl<F: FnOnce(&str) -> Arc<str>> serde::de::Visitor<'_> for StrVisitor<F> {
    type Value = Arc<str>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Arc<str>, E> {
        Ok((self.0)(v))
    }
}

/// A databag object read straight into a [`Databag`]. A key given twice keeps its last
/// value, as `json.loads` does.
struct WireDatabag(Databag);

impl<'de> Deserialize<'de> for WireDatabag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = WireDatabag;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<WireDatabag, A::Error> {
                // One buffer per thread, reused line after line: the databag is the
                // only allocation (values are strings, so this never nests).
                thread_local!(static BUFFER: std::cell::Cell<Vec<crate::databag::Item>> =
                    const { std::cell::Cell::new(Vec::new()) });
                let mut items = BUFFER.take();
                items.clear();
                while let Some(Name(key)) = map.next_key()? {
                    let Text(value) = map.next_value()?;
                    items.push((key, value));
                }
                let bag = Databag::from_buffer(&mut items);
                BUFFER.set(items);
                Ok(WireDatabag(bag))
            }
        }
        d.deserialize_map(V)
    }
}

/// The `parts` joined as an `Arc<str>`, in one allocation when the result is short (a
/// datasource name, a url): `Arc::from(format!(..))` makes a `String` first, then copies it.
pub(crate) fn concat(parts: &[&str]) -> Arc<str> {
    let mut buf = [0u8; 256];
    let mut n = 0;
    for p in parts {
        let Some(dst) = buf.get_mut(n..n + p.len()) else {
            return Arc::from(parts.concat());
        };
        dst.copy_from_slice(p.as_bytes());
        n += p.len();
    }
    // `str`s joined are UTF-8: the fallback is never taken.
    std::str::from_utf8(&buf[..n]).map_or_else(|_| Arc::from(parts.concat()), Arc::from)
}

/// Whether two shared strings hold the same text: by pointer first. `Arc<str>`'s own `==`
/// compares the bytes even when both are one allocation (std compares by pointer first
/// only for sized types), and the text of an entry or a name that did not change is
/// usually the very same allocation, which on a big world is cold memory.
pub(crate) fn same_text(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// The names nearly every line carries, shared by [`intern`]: the two endpoints, their
/// hooks, the databag keys Juju and the provider write, the keys of a datasource entry.
const COMMON_NAMES: [&str; 29] = [
    SOURCE_ENDPOINT,
    PEER_ENDPOINT,
    "grafana-source-relation-created",
    "grafana-source-relation-joined",
    "grafana-source-relation-changed",
    "grafana-source-relation-departed",
    "grafana-source-relation-broken",
    "grafana-relation-created",
    "grafana-relation-joined",
    "grafana-relation-changed",
    "grafana-relation-departed",
    "grafana-relation-broken",
    "egress-subnets",
    "ingress-address",
    "private-address",
    crate::provider::SOURCE_HOST_KEY,
    crate::provider::SOURCE_DATA_KEY,
    "sources",
    "sources_to_delete",
    // The keys of a `sources` entry and of `grafana_source_data`.
    "unit",
    "source_name",
    "source_type",
    "url",
    "extra_fields",
    "secure_extra_fields",
    "model",
    "model_uuid",
    "application",
    "type",
];

/// `s` as an `Arc<str>`: a shared copy when it is one of [`COMMON_NAMES`], a new one
/// otherwise. Sharing saves an allocation per line and keeps a kept state from holding one
/// copy of the same key per unit.
pub(crate) fn intern(s: &str) -> Arc<str> {
    use std::sync::LazyLock;
    // The names grouped by length: a lookup indexes the group of its length (at most three
    // names today) and compares bytes. Hashing the name, as a map does, cost more.
    type Table = Box<[Box<[(&'static str, Arc<str>)]>]>;
    static SHARED: LazyLock<Table> = LazyLock::new(|| {
        let longest = COMMON_NAMES.iter().map(|c| c.len()).max().unwrap_or(0);
        (0..=longest)
            .map(|len| {
                COMMON_NAMES
                    .iter()
                    .filter(|c| c.len() == len)
                    .map(|c| (*c, Arc::from(*c)))
                    .collect()
            })
            .collect()
    });
    let same_length = SHARED.get(s.len()).map_or(&[][..], |c| &c[..]);
    match same_length
        .iter()
        .find(|(c, _)| same_length_eq(c.as_bytes(), s.as_bytes()))
    {
        Some((_, shared)) => shared.clone(),
        None => Arc::from(s),
    }
}

/// `a == b` for two slices of one length, compared eight bytes at a time in line. The
/// names [`intern`] compares are short, and a call to `memcmp` for each (about a dozen a
/// line) cost more than the comparison itself: 4% of a replay step.
fn same_length_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]));
    let n = a.len();
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    // Whole words from the start, then the last word (which may overlap the one before).
    (0..n - 8)
        .step_by(8)
        .chain([n - 8])
        .all(|i| word(a, i) == word(b, i))
}

/// Parse one line (without its newline) of a hook log.
pub fn parse_line(line: u64, text: &str) -> Result<Entry, LogError> {
    let field_err = |field: &str, message: String| LogError::Field {
        line,
        field: field.to_string(),
        message,
    };
    let raw: RawEntry = deserialize_line(line, text)?;

    let hook_name = raw.hook.0;
    let (kind, hook_endpoint, endpoint) = Hook::classify(&hook_name)
        .ok_or_else(|| field_err("hook", format!("unknown hook kind `{hook_name}`")))?;
    let hook = Hook {
        name: hook_name.clone(),
        kind,
        endpoint: hook_endpoint,
    };
    let relation = match endpoint {
        // Other endpoints' hooks only carry leader/config changes; their relation fields
        // are optional, but `relation`, when given, must still match.
        Some(endpoint) if hook.endpoint == Endpoint::Other => {
            if let Some(rel) = raw
                .relation
                .as_ref()
                .map(|r| &*r.0)
                .filter(|r| *r != endpoint)
            {
                return Err(field_err(
                    "relation",
                    format!("`{rel}` does not match the hook's endpoint `{endpoint}`"),
                ));
            }
            match (raw.relation_id, raw.remote_app) {
                (Some(id), Some(remote_app)) => Some(RelationRef {
                    endpoint: raw.relation.map_or_else(|| intern(endpoint), |r| r.0),
                    id,
                    remote_app: remote_app.0,
                }),
                _ => None,
            }
        }
        Some(endpoint) => {
            let rel = raw
                .relation
                .map(|r| r.0)
                .ok_or_else(|| field_err("relation", "missing on a relation hook".to_string()))?;
            if &*rel != endpoint {
                return Err(field_err(
                    "relation",
                    format!("`{rel}` does not match the hook's endpoint `{endpoint}`"),
                ));
            }
            let id = raw.relation_id.ok_or_else(|| {
                field_err("relation_id", "missing on a relation hook".to_string())
            })?;
            let remote_app = raw
                .remote_app
                .ok_or_else(|| field_err("remote_app", "missing on a relation hook".to_string()))?;
            Some(RelationRef {
                endpoint: rel,
                id,
                remote_app: remote_app.0,
            })
        }
        None => {
            let stray = [
                ("relation", raw.relation.is_some()),
                ("relation_id", raw.relation_id.is_some()),
                ("remote_app", raw.remote_app.is_some()),
                ("remote_unit", raw.remote_unit.is_some()),
                ("departing_unit", raw.departing_unit.is_some()),
                ("app_data", raw.app_data.is_some()),
                ("unit_data", raw.unit_data.is_some()),
            ];
            if let Some((field, _)) = stray.iter().find(|(_, present)| *present) {
                return Err(field_err(
                    field,
                    format!("only relation hooks carry it, not `{hook_name}`"),
                ));
            }
            None
        }
    };
    // `JUJU_REMOTE_UNIT` is empty when a hook names no unit (application data changed),
    // and ops reads an empty one as none: so does the log.
    let given = raw.remote_unit.is_some();
    let remote_unit = raw.remote_unit.map(|n| n.0).filter(|u| !u.is_empty());
    if raw.unit_data.is_some() && remote_unit.is_none() {
        let why = if given {
            "given with an empty `remote_unit`, which names no unit (as Juju and ops read it)"
        } else {
            "given without the `remote_unit` it belongs to"
        };
        return Err(field_err("unit_data", why.to_string()));
    }
    if raw.stored_state.is_some() && hook.kind != HookKind::UpgradeCharm {
        return Err(field_err(
            "stored_state",
            "only `upgrade-charm` carries it".to_string(),
        ));
    }
    Ok(Entry {
        line,
        hook,
        unit: raw.unit.map(|n| n.0),
        leader: raw.leader,
        relation,
        remote_unit,
        // Empty in Juju's environment when no unit departs: none, as ops reads it.
        departing_unit: raw.departing_unit.map(|n| n.0).filter(|u| !u.is_empty()),
        app_data: raw.app_data.map(|b| b.0),
        unit_data: raw.unit_data.map(|b| b.0),
        config: raw.config.map(|c| {
            c.iter()
                .map(|(k, v)| (Arc::from(k.as_str()), PyValue::from_json(v)))
                .collect()
        }),
        stored_state: raw
            .stored_state
            .map(|s| PyValue::from_json(&serde_json::Value::Object(*s))),
    })
}

/// Deserialize one JSON line into `T`, the whole line and nothing after it. Errors name
/// the log line and, for a wrong or unknown field, the field's path (`app_data.x`).
pub(crate) fn deserialize_line<T: serde::de::DeserializeOwned>(
    line: u64,
    text: &str,
) -> Result<T, LogError> {
    // Read without tracking the path first: a valid line (nearly every line) pays nothing
    // for it. Only a line that fails is read again, to name the field.
    let mut de = serde_json::Deserializer::from_str(text);
    if let Ok(value) = T::deserialize(&mut de).and_then(|v| de.end().map(|()| v)) {
        return Ok(value);
    }
    if text.starts_with('\u{feff}') {
        return Err(LogError::Json {
            line,
            message: "starts with a byte order mark (U+FEFF, which some editors write at the \
                      start of a file): a hook log line is plain JSON"
                .into(),
        });
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            LogError::Json {
                line,
                message: inner.to_string(),
            }
        } else {
            LogError::Field {
                line,
                field: path,
                message: strip_position(&inner.to_string()),
            }
        }
    })?;
    de.end().map_err(|e| LogError::Json {
        line,
        message: e.to_string(),
    })?;
    Ok(value)
}

/// serde_json appends " at line L column C" about the one-line text; the log line number
/// is what a person needs, and the error already names the field.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// `BufRead::read_until(b'\n')` reading at most `limit` bytes: appends to `buf` up to and
/// including the next newline, or `limit` bytes, or what is left, and returns how many
/// bytes it appended (0 at the end). The newline is looked for with the `memchr` crate
/// (SIMD): std's `read_until` scans a word at a time, and finding the end of each line was
/// 2.6% of a replay step's instructions.
fn read_line_within<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<usize> {
    let mut read = 0;
    while read < limit {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let available = &available[..available.len().min(limit - read)];
        if available.is_empty() {
            break;
        }
        let (taken, ends) = match memchr::memchr(b'\n', available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        buf.extend_from_slice(&available[..taken]);
        reader.consume(taken);
        read += taken;
        if ends {
            break;
        }
    }
    Ok(read)
}

/// Non-blank lines of a JSON Lines stream, one at a time into a reused buffer, with their
/// 1-based physical line numbers. Bounded ([`MAX_LINE_BYTES`]); the first error (I/O,
/// UTF-8, too long) ends the stream. Both log formats (hook log, provider log) read
/// through it.
struct Lines<R> {
    reader: R,
    /// The last line given out; its allocation is reused for the next one.
    text: String,
    line: u64,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R) -> Self {
        Lines {
            reader,
            text: String::new(),
            line: 0,
            done: false,
        }
    }

    /// The next non-blank line and its number; `None` at the end or after an error.
    fn next_text(&mut self) -> Option<Result<(u64, &str), LogError>> {
        while !self.done {
            let mut buf = std::mem::take(&mut self.text).into_bytes();
            buf.clear();
            let read = read_line_within(&mut self.reader, &mut buf, MAX_LINE_BYTES + 1);
            let error = match read {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {
                    self.line += 1;
                    if buf.last() == Some(&b'\n') {
                        buf.pop();
                        if buf.last() == Some(&b'\r') {
                            buf.pop();
                        }
                        None
                    } else if buf.len() > MAX_LINE_BYTES {
                        Some(LogError::TooLong { line: self.line })
                    } else {
                        None
                    }
                }
                Err(e) => Some(LogError::Io {
                    line: self.line,
                    message: e.to_string(),
                }),
            };
            if let Some(e) = error {
                self.done = true;
                return Some(Err(e));
            }
            // Checked once, then given out as the `String` it became.
            match String::from_utf8(buf) {
                Err(_) => {
                    self.done = true;
                    return Some(Err(LogError::Utf8 { line: self.line }));
                }
                Ok(text) => {
                    let blank = text.trim().is_empty();
                    self.text = text;
                    if !blank {
                        return Some(Ok((self.line, self.text.as_str())));
                    }
                }
            }
        }
        None
    }

    /// Stop after an error the caller found in a line.
    fn stop(&mut self) {
        self.done = true;
    }
}

/// Streams parsed lines from a reader: bounded non-blank lines plus a line parser. The first error
/// (reading or parsing) ends the stream.
///
/// By default a line is read and parsed when the consumer asks for it. [`Self::read_ahead`]
/// lets it parse a few lines ahead instead, which gives the same items in the same order.
pub struct LineParser<R, T> {
    lines: Lines<R>,
    parse: fn(u64, &str) -> Result<T, LogError>,
    /// Items parsed ahead of the consumer, oldest first; never more than `ahead.lines`.
    queue: VecDeque<Result<T, LogError>>,
    ahead: ReadAhead,
}

/// How far a [`LineParser`] parses ahead of its consumer: up to `lines` items at a time,
/// fewer once the lines read for them reach `bytes` (so a few huge lines are not held
/// together). Each refill waits for all of its lines, so reading ahead suits files, not a
/// live stream whose next line may be minutes away.
///
/// Parsing a batch of lines and then folding them keeps each phase's code in the
/// instruction cache for the whole batch, where alternating line by line evicts it every
/// step: a 100-relation replay runs 5-7% faster with 32 lines ahead (see
/// docs/performance.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadAhead {
    /// The most items parsed at a time (below one counts as one: no reading ahead).
    pub lines: usize,
    /// A refill stops once the lines it read hold this many bytes (the line that crosses
    /// it is kept).
    pub bytes: usize,
}

impl ReadAhead {
    /// Parse each line when it is asked for.
    pub const NONE: ReadAhead = ReadAhead { lines: 1, bytes: 1 };
    /// What the command line uses for files: 32 lines, at most 1 MiB of them.
    pub const FILE: ReadAhead = ReadAhead {
        lines: 32,
        bytes: 1 << 20,
    };
}

impl<R: BufRead, T> LineParser<R, T> {
    /// Read `reader`'s lines with `parse`.
    pub fn with_parser(reader: R, parse: fn(u64, &str) -> Result<T, LogError>) -> Self {
        LineParser {
            lines: Lines::new(reader),
            parse,
            queue: VecDeque::new(),
            ahead: ReadAhead::NONE,
        }
    }

    /// Parse up to `ahead` lines ahead of the consumer (see [`ReadAhead`]); `lines` below
    /// one counts as one, and so does `bytes` (a refill reads at least one line).
    ///
    /// ```
    /// use grafana_source::log::{LogReader, ReadAhead};
    ///
    /// let log = b"{\"hook\": \"start\"}\n{\"hook\": \"stop\"}\nnot json\n{\"hook\": \"start\"}\n";
    /// let lines = |r: Result<_, _>| r.map(|e: grafana_source::log::Entry| e.line);
    /// let ahead: Vec<_> = LogReader::new(&log[..]).read_ahead(ReadAhead::FILE).map(lines).collect();
    /// let one_by_one: Vec<_> = LogReader::new(&log[..]).map(lines).collect();
    /// assert_eq!(ahead, one_by_one);
    /// assert_eq!(ahead.len(), 3); // the stream ends at the first error, on line 3
    /// assert!(ahead[2].is_err());
    /// ```
    pub fn read_ahead(mut self, ahead: ReadAhead) -> Self {
        self.ahead = ReadAhead {
            lines: ahead.lines.max(1),
            bytes: ahead.bytes.max(1),
        };
        self
    }

    /// Read and parse the next line.
    fn parse_next(&mut self) -> Option<Result<T, LogError>> {
        let parsed = match self.lines.next_text()? {
            Ok((line, text)) => (self.parse)(line, text),
            Err(e) => Err(e),
        };
        if parsed.is_err() {
            self.lines.stop();
        }
        Some(parsed)
    }
}

impl<R: BufRead, T> Iterator for LineParser<R, T> {
    type Item = Result<T, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(item) = self.queue.pop_front() {
            return Some(item);
        }
        if self.ahead.lines <= 1 {
            return self.parse_next();
        }
        // Refill: a line's text stays in `self.lines` until the next is read.
        let mut bytes = 0;
        while self.queue.len() < self.ahead.lines && bytes < self.ahead.bytes {
            let Some(item) = self.parse_next() else {
                break;
            };
            bytes += self.lines.text.len();
            self.queue.push_back(item);
        }
        self.queue.pop_front()
    }
}

/// Streams hook log entries from a reader, one line at a time, with a reused line buffer.
pub type LogReader<R> = LineParser<R, Entry>;

impl<R: BufRead> LineParser<R, Entry> {
    pub fn new(reader: R) -> Self {
        Self::with_parser(reader, parse_line)
    }
}

/// Parse a whole log held in memory.
pub fn parse_str(text: &str) -> Result<Vec<Entry>, LogError> {
    LogReader::new(text.as_bytes()).collect()
}

/// Pre-scan a log for the peer relation's visibility at its start (see
/// [`crate::world::PeerAtStart`]). Reads only up to the first `grafana-relation-*` line,
/// looking at nothing but `hook`; malformed lines are left for the real parse to report.
/// Lines are read as the parse reads them (bounded by [`MAX_LINE_BYTES`]): the scan stops
/// at the first line that is too long, not UTF-8 or has no `hook` string.
///
/// ```
/// use grafana_source::{log::peer_at_start, world::PeerAtStart};
/// let log = "{\"hook\": \"update-status\"}\n\n{\"hook\": \"grafana-relation-created\"}\n";
/// assert_eq!(peer_at_start(log.as_bytes()), PeerAtStart::Absent);
/// // A line without a `hook` ends the scan: what follows it is not read.
/// let log = "{\"hook\": 1}\n{\"hook\": \"grafana-relation-created\"}\n";
/// assert_eq!(peer_at_start(log.as_bytes()), PeerAtStart::Visible);
/// ```
pub fn peer_at_start<R: BufRead>(reader: R) -> crate::world::PeerAtStart {
    #[derive(Deserialize)]
    struct HookOnly {
        hook: String,
    }
    use crate::world::PeerAtStart;
    let mut lines = Lines::new(reader);
    while let Some(Ok((_, text))) = lines.next_text() {
        let Ok(HookOnly { hook }) = serde_json::from_str(text) else {
            break;
        };
        if let Some(peer) = PeerAtStart::decided_by(&hook) {
            return peer;
        }
    }
    PeerAtStart::Visible
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What lets [`Hook::classify`] try the relation suffixes before the plain names, and
    /// lets it take the two endpoints of this charm without checking them.
    #[test]
    fn hook_name_tables_do_not_overlap() {
        for (plain, _) in PLAIN_HOOKS {
            for (suffix, _) in RELATION_SUFFIXES {
                assert!(!plain.ends_with(suffix), "{plain} ends with {suffix}");
            }
        }
        assert!(is_juju_name(SOURCE_ENDPOINT) && is_juju_name(PEER_ENDPOINT));
        for bad in ["", "-a", "a-", "A", "a_b", "1a", "aé", "é"] {
            assert!(!is_juju_name(bad), "{bad:?}");
        }
        assert!(is_juju_name("a") && is_juju_name("a-1-b"));
    }

    /// An empty `remote_unit` is `JUJU_REMOTE_UNIT` of a hook naming no unit: none, as ops
    /// reads it, so a unit databag given with it belongs to nobody and is refused.
    #[test]
    fn an_empty_remote_unit_is_none() {
        let line = |unit: &str, rest: &str| {
            format!(
                r#"{{"hook": "grafana-source-relation-departed", "relation": "grafana-source", "relation_id": 3, "remote_app": "prom", "remote_unit": {unit}{rest}}}"#
            )
        };
        let e = parse_line(4, &line(r#""""#, r#", "departing_unit": """#)).unwrap();
        assert_eq!((&e.remote_unit, &e.departing_unit), (&None, &None));
        assert_eq!(
            format!("{e:?}"),
            format!("{:?}", parse_line(4, &line("null", "")).unwrap())
        );
        let err = parse_line(4, &line(r#""""#, r#", "unit_data": {}"#)).unwrap_err();
        assert_eq!(err.line(), 4);
        let text = err.to_string();
        assert!(
            text.contains("unit_data") && text.contains("empty `remote_unit`"),
            "{text}"
        );
        let err = parse_line(4, &line("null", r#", "unit_data": {}"#)).unwrap_err();
        assert!(
            err.to_string().contains("without the `remote_unit`"),
            "{err}"
        );
    }

    /// ops' check of a relation event's unit against its application, case by case: the
    /// unit's name up to its first `/` against `remote_app`, or, with no `remote_app`, a
    /// `/` in the name; only the two endpoints' five relation hooks, only with a unit.
    #[test]
    fn remote_unit_of_another_application() {
        let entry = |hook: &str, relation: &str, app: &str, unit: Option<&str>| {
            let unit = unit.map_or("null".to_string(), |u| format!("{u:?}"));
            let text = format!(
                r#"{{"hook": "{hook}", "relation": "{relation}", "relation_id": 3, "remote_app": "{app}", "remote_unit": {unit}}}"#
            );
            parse_line(1, &text).unwrap().remote_unit_app_mismatch()
        };
        let source = |app: &str, unit: Option<&str>| {
            entry(
                "grafana-source-relation-changed",
                SOURCE_ENDPOINT,
                app,
                unit,
            )
        };
        assert!(!source("prom", Some("prom/0")));
        assert!(
            !source("prom", Some("prom")),
            "no `/`: the whole name is the application"
        );
        assert!(
            !source("prom", Some("prom/0/x")),
            "the application ends at the first `/`"
        );
        assert!(source("prom", Some("loki/0")));
        assert!(source("prom", Some("prom-k8s/0")));
        assert!(source("prom", Some("/0")));
        assert!(source("a/b", Some("a/b/0")), "an application holding `/`");
        assert!(!source("prom", Some("")), "an empty unit is none");
        assert!(!source("prom", None));
        assert!(
            !source("", Some("loki/0")),
            "no application: the unit's gives it"
        );
        assert!(source("", Some("loki")), "no application and no `/`");
        for kind in ["created", "joined", "departed", "broken"] {
            let hook = format!("grafana-source-relation-{kind}");
            assert!(
                entry(&hook, SOURCE_ENDPOINT, "prom", Some("loki/0")),
                "{kind}"
            );
        }
        let peer = |unit| {
            entry(
                "grafana-relation-joined",
                PEER_ENDPOINT,
                "grafana",
                Some(unit),
            )
        };
        assert!(!peer("grafana/1"));
        assert!(peer("prom/1"));
        let other = entry(
            "ingress-relation-changed",
            "ingress",
            "traefik",
            Some("loki/0"),
        );
        assert!(!other, "another endpoint's hook: not this crate's to say");
    }

    /// Reading ahead gives what reading line by line gives: the same entries with the same
    /// line numbers, blank lines skipped, the stream ending at the first error, whatever
    /// the limits.
    #[test]
    fn read_ahead_gives_the_same_items() {
        let good = r#"{"hook": "start"}"#;
        let logs = [
            format!("{good}\n\n{good}\n   \n{good}\n"),
            format!("{good}\n{good}\nnot json\n{good}\n"),
            format!("{good}\n{{\"hook\": 3}}\n{good}\n"),
            format!("not json\n{good}\n"),
            format!("{good}\n{good}"),
            String::new(),
            format!("{good}\n").repeat(70),
        ];
        let limits = [
            (0, 0),
            (1, 1 << 20),
            (2, 1),
            (3, 20),
            (5, 40),
            (32, 1 << 20),
            (100, 0),
        ];
        // Entries compare by line and their `Debug` (hook, fields present, sizes).
        let seen = |r: Result<Entry, LogError>| r.map(|e| (e.line, format!("{e:?}")));
        for log in &logs {
            let one: Vec<_> = LogReader::new(log.as_bytes()).map(seen).collect();
            for (lines, bytes) in limits {
                let ahead = ReadAhead { lines, bytes };
                let reader = LogReader::new(log.as_bytes()).read_ahead(ahead);
                let got: Vec<_> = reader.map(seen).collect();
                assert_eq!(got, one, "{ahead:?} on {log:?}");
            }
        }
    }

    /// A refill stops at `lines` items, or once the lines read reach `bytes`.
    #[test]
    fn read_ahead_is_bounded_by_lines_and_bytes() {
        let good = r#"{"hook": "start"}"#; // 17 bytes
        let log = format!("{good}\n").repeat(10);
        let queued = |lines, bytes| {
            let mut r = LogReader::new(log.as_bytes()).read_ahead(ReadAhead { lines, bytes });
            r.next().expect("an entry").expect("parses");
            r.queue.len()
        };
        assert_eq!(queued(4, 1 << 20), 3);
        assert_eq!(queued(100, 1 << 20), 9);
        assert_eq!(queued(100, 35), 2); // 17, 34, 51: three lines read, one given out
        assert_eq!(queued(100, 34), 1);
        assert_eq!(queued(1, 1 << 20), 0);
        assert_eq!(queued(100, 0), 0);
    }

    /// The pre-scan reads a line as the parse does, at most [`MAX_LINE_BYTES`] of it: an
    /// endless first line ends the scan instead of being held whole.
    #[test]
    fn peer_at_start_reads_a_bounded_line() {
        use std::io::{BufReader, Read};
        struct Counting<R>(R, std::rc::Rc<std::cell::Cell<usize>>);
        impl<R: Read> Read for Counting<R> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.read(buf)?;
                self.1.set(self.1.get() + n);
                Ok(n)
            }
        }
        let long = (MAX_LINE_BYTES as u64) * 3;
        let read = std::rc::Rc::new(std::cell::Cell::new(0));
        let text = std::io::repeat(b' ')
            .take(long)
            .chain(&b"\n{\"hook\": \"grafana-relation-created\"}\n"[..]);
        let reader = BufReader::new(Counting(text, read.clone()));
        assert_eq!(peer_at_start(reader), crate::world::PeerAtStart::Visible);
        assert!(
            read.get() <= MAX_LINE_BYTES + (64 << 10),
            "read {} bytes",
            read.get()
        );
        // The same line within the limit is blank and skipped, as the parse skips it.
        let text = std::io::repeat(b' ')
            .take(1 << 20)
            .chain(&b"\n{\"hook\": \"grafana-relation-created\"}\n"[..]);
        assert_eq!(
            peer_at_start(BufReader::new(text)),
            crate::world::PeerAtStart::Absent
        );
    }

    /// Lines longer than the reader's buffer, a cut at the limit, a last line without a
    /// newline: the same bytes and counts as `Read::take(limit)` + `read_until`.
    #[test]
    fn read_line_within_reads_as_take_and_read_until() {
        use std::io::{BufReader, Read};
        let text = b"first line\nsecond, longer than the buffer\n\nno newline at the end";
        for capacity in [1, 3, 7, 64] {
            for limit in [1, 5, 11, 12, 40, 1000] {
                let (mut mine, mut theirs) = (
                    BufReader::with_capacity(capacity, &text[..]),
                    BufReader::with_capacity(capacity, &text[..]),
                );
                loop {
                    let (mut a, mut b) = (b"kept".to_vec(), b"kept".to_vec());
                    let n = read_line_within(&mut mine, &mut a, limit).unwrap();
                    let m = (&mut theirs)
                        .take(limit as u64)
                        .read_until(b'\n', &mut b)
                        .unwrap();
                    assert_eq!((n, &a), (m, &b), "capacity {capacity}, limit {limit}");
                    if n == 0 {
                        break;
                    }
                }
            }
        }
    }

    #[test]
    fn same_length_eq_is_slice_equality() {
        for n in 0..40u8 {
            let a: Vec<u8> = (0..n).map(|i| b'a' + i % 26).collect();
            assert!(same_length_eq(&a, &a.clone()), "{n}");
            assert!(!same_length_eq(&a, &a[..a.len().saturating_sub(1)]) || n == 0);
            for at in 0..usize::from(n) {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same_length_eq(&a, &b), "length {n}, byte {at}");
            }
        }
    }

    #[test]
    #[allow(clippy::unnecessary_to_owned)] // a copy of each name in another allocation
    fn every_common_name_is_shared_and_no_other() {
        for name in COMMON_NAMES {
            let (a, b) = (intern(name), intern(name));
            assert!(Arc::ptr_eq(&a, &b) && &*a == name, "{name}");
            // The same text in another allocation finds the same shared copy.
            assert!(Arc::ptr_eq(&a, &intern(&name.to_string())), "{name}");
        }
        for other in [
            "",
            "sourcesx",
            "grafana-source/0",
            "x".repeat(40).as_str(),
            // One byte off a common name at its start, in its middle, at its end.
            "Xnit",
            "uniX",
            "grafana-source-relation-chXnged",
            "grafana-source-relation-changeX",
            "Xrafana-source-relation-changed",
            "egress-subnetX",
        ] {
            assert!(!Arc::ptr_eq(&intern(other), &intern(other)), "{other}");
        }
    }

    #[test]
    fn same_text_compares_text_not_only_pointers() {
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("10.0.0.1"), Arc::from("10.0.0.1"));
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(same_text(&a, &b) && same_text(&a, &a.clone()));
        assert!(!same_text(&a, &Arc::from("10.0.0.2")));
    }

    #[test]
    fn concat_joins_short_and_long_parts() {
        assert_eq!(&*concat(&[]), "");
        assert_eq!(
            &*concat(&["http://", "10.0.0.1:9090"]),
            "http://10.0.0.1:9090"
        );
        assert_eq!(&*concat(&["jüju_", "", "ü/0"]), "jüju_ü/0");
        // Past the stack buffer, and exactly at it.
        for len in [255, 256, 257, 1000] {
            let long = "x".repeat(len);
            assert_eq!(&*concat(&["a", &long]), format!("a{long}"));
        }
    }

    fn err(text: &str) -> LogError {
        parse_line(3, text).unwrap_err()
    }

    #[test]
    fn databags_keep_every_key_the_last_value_and_escapes() {
        let e = parse_line(
            3,
            r#"{"hook": "grafana-source-relation-changed", "relation": "grafana-source", "relation_id": 4, "remote_app": "p", "remote_unit": "p/0", "unit_data": {"grafana_source_host": "a", "z\u00e9": "\"q\"", "grafana_source_host": "b"}, "app_data": {}}"#,
        )
        .unwrap();
        let bag = e.unit_data.unwrap();
        assert_eq!(bag.len(), 2);
        assert_eq!(bag.get("grafana_source_host").map(|v| &**v), Some("b"));
        assert_eq!(bag.get("z\u{e9}").map(|v| &**v), Some("\"q\""));
        assert_eq!(e.app_data.map(|b| b.len()), Some(0));
        // Common names are shared, the rest are copies of the text.
        let again = parse_line(4, r#"{"hook": "grafana-source-relation-broken", "relation": "grafana-source", "relation_id": 4, "remote_app": "p"}"#).unwrap();
        let ep = |e: &Entry| e.relation.as_ref().unwrap().endpoint.clone();
        assert!(Arc::ptr_eq(&ep(&again), &intern(SOURCE_ENDPOINT)));
        assert!(!Arc::ptr_eq(&intern("p/0"), &intern("p/0")));
        let wrong = parse_line(5, r#"{"hook": "install", "unit": 7}"#).unwrap_err();
        assert!(
            matches!(wrong, LogError::Field { line: 5, ref field, .. } if field == "unit"),
            "{wrong}"
        );
    }

    #[test]
    fn relation_hook_fields_are_typed() {
        let e = parse_line(
            1,
            r#"{"hook": "grafana-source-relation-departed", "relation": "grafana-source", "relation_id": 4, "remote_app": "p", "remote_unit": null, "departing_unit": "grafana/0"}"#,
        )
        .unwrap();
        assert_eq!(e.hook.kind, HookKind::RelationDeparted);
        assert_eq!(e.remote_unit, None);
        assert_eq!(e.departing_unit.as_deref(), Some("grafana/0"));
    }

    #[test]
    fn errors_name_line_and_field() {
        assert_eq!(
            err(
                r#"{"hook": "grafana-source-relation-changed", "relation": "grafana-source", "relation_id": "x", "remote_app": "p"}"#
            ),
            LogError::Field {
                line: 3,
                field: "relation_id".into(),
                message: "invalid type: string \"x\", expected u64".into()
            }
        );
        let e = err(
            r#"{"hook": "grafana-source-relation-changed", "relation": "grafana", "relation_id": 1, "remote_app": "p"}"#,
        );
        assert!(
            matches!(&e, LogError::Field { field, .. } if field == "relation"),
            "{e}"
        );
        let e = err(
            r#"{"hook": "grafana-source-relation-changed", "relation": "grafana-source", "remote_app": "p"}"#,
        );
        assert!(
            matches!(&e, LogError::Field { field, .. } if field == "relation_id"),
            "{e}"
        );
        let e = err(r#"{"hook": "frobnicate"}"#);
        assert!(
            matches!(&e, LogError::Field { field, .. } if field == "hook"),
            "{e}"
        );
        let e = err(r#"{"hook": "install", "colour": 1}"#);
        assert!(e.to_string().contains("colour"), "{e}");
        let e = err(r#"{"hook": "install", "relation_id": 1}"#);
        assert!(
            matches!(&e, LogError::Field { field, .. } if field == "relation_id"),
            "{e}"
        );
        let e = err(
            r#"{"hook": "grafana-source-relation-changed", "relation": "grafana-source", "relation_id": 1, "remote_app": "p", "remote_unit": "p/0", "unit_data": {"a": 1}}"#,
        );
        assert!(
            matches!(&e, LogError::Field { field, .. } if field == "unit_data.a"),
            "{e}"
        );
        assert!(matches!(err("{\"hook\": "), LogError::Json { line: 3, .. }));
        assert!(matches!(
            err("[1]"),
            LogError::Json { line: 3, .. } | LogError::Field { line: 3, .. }
        ));
        let e = err(r#"{"hook": "install", "stored_state": {}}"#);
        assert!(
            matches!(&e, LogError::Field { field, .. } if field == "stored_state"),
            "{e}"
        );
    }

    #[test]
    fn hook_names() {
        assert!(parse_line(1, r#"{"hook": "ingress-relation-changed"}"#).is_ok());
        assert!(parse_line(
            1,
            r#"{"hook": "ingress-relation-changed", "relation": "x"}"#
        )
        .is_err());
        for ok in [
            "install",
            "grafana-pebble-ready",
            "ingress-relation-changed",
            "upgrade-charm",
            "data-storage-attached",
        ] {
            assert!(Hook::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "relation-changed",
            "Grafana-relation-changed",
            "x-relation-exploded",
            "-pebble-ready",
        ] {
            assert!(Hook::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn reader_skips_blank_lines_and_counts_physical_lines() {
        let text = "{\"hook\": \"install\"}\n\n  \n{\"hook\": \"start\"}\r\n{\"hook\": 5}\n";
        let got: Vec<_> = LogReader::new(text.as_bytes()).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].as_ref().unwrap().line, 4);
        assert!(matches!(&got[2], Err(LogError::Field { line: 5, field, .. }) if field == "hook"));
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let bytes = b"{\"hook\": \"install\"}\n{\"hook\": \"\xff\"}\n";
        let got: Vec<_> = LogReader::new(&bytes[..]).collect();
        assert!(matches!(got[1], Err(LogError::Utf8 { line: 2 })));
    }
}
