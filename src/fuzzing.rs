//! Fuzz target bodies and their structured inputs (issue 7; the cargo-fuzz project is
//! `fuzz/`, built with the `arbitrary` feature).
//!
//! Each `fuzz_*` function is the whole body of one fuzz target: it panics when a property
//! breaks and does nothing else. The targets in `fuzz/fuzz_targets/` call them on what
//! libFuzzer generates; `tests/fuzz_corpus.rs` calls them on every file of the committed
//! corpora `fuzz/corpus/<target>/`, decoding structured inputs with [`decode`] exactly as
//! `libfuzzer-sys` does, so an input added to a corpus is a regression test on stable.
//!
//! | target | input | properties |
//! |---|---|---|
//! | `parse_log` | bytes | [`LogReader`] yields entries or one typed [`LogError`], then stops; the entries fold as in `fuzz_fold` |
//! | `fold` | [`FoldInput`] | no panic under either profile; the same log gives the same reports twice; `verified`: no hook fails, no invariant breaks |
//! | `render` | [`RenderInput`] | the report JSON survives a text round trip; `verified` renders and breaks no invariant |
//! | `peer_data` | text | `json.loads` → `dumps` → `loads` → `dumps` is stable; strict JSON loads as serde_json reads it; errors are typed |
//!
//! Invariants are evaluated only by [`invariants::check`] (through [`Replay`], or directly
//! on a render): nothing here re-implements one.
use crate::invariants::{self, StepView};
use crate::log::{self, Databag, Entry, LogError, LogReader};
use crate::provider::{SOURCE_DATA_KEY, SOURCE_HOST_KEY};
use crate::py::{self, json, PyDict, PyExc, PyInt, PyKey, PyValue};
use crate::reducer::{Effects, Profile};
use crate::render::{self, FileFormat, Rendered, TIMEOUT_KEY};
use crate::replay::Replay;
use crate::world::{ConfigValue, Peer, PeerAtStart, State};
use arbitrary::{Arbitrary, Unstructured};
use serde_json::{json as js, Map, Value};
use std::sync::Arc;

/// Decode a structured input from raw fuzzer bytes exactly as `libfuzzer-sys`'s
/// `fuzz_target!(|input: T| ...)` does: too few bytes for `T`'s size hint, or bytes
/// `arbitrary` cannot decode, give `None` (libFuzzer then skips the input).
pub fn decode<'a, T: Arbitrary<'a>>(data: &'a [u8]) -> Option<T> {
    if data.len() < T::size_hint(0).0 {
        return None;
    }
    T::arbitrary_take_rest(Unstructured::new(data)).ok()
}

// ---------------------------------------------------------------------------------------
// parse_log

/// `parse_log`: arbitrary bytes as a hook log.
///
/// [`LogReader`] yields entries with strictly increasing line numbers within the input,
/// then at most one typed [`LogError`] (never `Io` or `TooLong` for an in-memory input
/// shorter than [`log::MAX_LINE_BYTES`]), and nothing after it. The entries read before
/// any error (what `replay` folds before it stops) then go through the same fold checks as
/// the `fold` target, so byte-level mutations of real logs also exercise the reducers.
pub fn fuzz_parse_log(data: &[u8]) {
    let physical_lines = data.split(|&b| b == b'\n').count() as u64;
    let mut reader = LogReader::new(data);
    let mut entries = Vec::new();
    let mut failed: Option<LogError> = None;
    let mut last = 0;
    for item in reader.by_ref() {
        if let Some(e) = &failed {
            panic!("LogReader yielded another item after the error `{e}`");
        }
        match item {
            Ok(entry) => {
                assert!(
                    entry.line > last && entry.line <= physical_lines,
                    "entry line {} after line {last}, input has {physical_lines} lines",
                    entry.line
                );
                last = entry.line;
                let _ = format!("{entry:?}");
                entries.push(entry);
            }
            Err(e) => {
                assert!(
                    e.line() > last && e.line() <= physical_lines,
                    "error `{e}` names line {} after line {last}, input has {physical_lines} lines",
                    e.line()
                );
                if data.len() <= log::MAX_LINE_BYTES {
                    assert!(
                        !matches!(e, LogError::Io { .. } | LogError::TooLong { .. }),
                        "in-memory input of {} bytes gave `{e}`",
                        data.len()
                    );
                }
                let _ = e.to_string();
                failed = Some(e);
            }
        }
    }
    assert!(reader.next().is_none(), "LogReader is not fused");
    read_ahead_reads_the_same(data, &entries, failed.as_ref());
    fold_and_check(&entries, None);
}

/// Reading `data` ahead (limits taken from the input) gives what reading it line by line
/// gave: `entries` (compared by line and `Debug`), then `failed`, then nothing.
fn read_ahead_reads_the_same(data: &[u8], entries: &[Entry], failed: Option<&LogError>) {
    let ahead = log::ReadAhead {
        lines: data.len() % 7,
        bytes: usize::from(data.first().copied().unwrap_or(0)) * 4,
    };
    let mut reader = LogReader::new(data).read_ahead(ahead);
    for entry in entries {
        match reader.next() {
            Some(Ok(e)) => assert_eq!(
                (e.line, format!("{e:?}")),
                (entry.line, format!("{entry:?}")),
                "{ahead:?}"
            ),
            other => panic!("{ahead:?}: line {} read ahead as {other:?}", entry.line),
        }
    }
    match (reader.next(), failed) {
        (None, None) => {}
        (Some(Err(e)), Some(f)) if e == *f => {}
        (got, want) => panic!("{ahead:?}: ended with {got:?}, line by line with {want:?}"),
    }
    assert!(reader.next().is_none(), "{ahead:?}: not fused");
}

// ---------------------------------------------------------------------------------------
// fold

/// Hooks folded per input at most; the rest of a longer input is ignored.
pub const MAX_HOOKS: usize = 40;

/// Relation id of the peer relation `grafana` in generated logs.
pub const PEER_RELATION_ID: u64 = 10;

/// Remote application of `grafana-source` relation `id` (0..=4) in generated logs.
const SOURCE_APPS: [&str; 5] = ["prometheus", "loki", "tempo", "prometheus", "mimir"];

/// A hook log over a small alphabet: relation ids 0..=4, remote units `app/0..3` and odd
/// names, hosts with and without scheme, valid and corrupt remote and peer data, leader
/// flips, upgrades with legacy stored state, this unit departing.
#[derive(Arbitrary, Debug, Clone)]
pub struct FoldInput {
    /// This unit, given on the first line.
    pub unit: SelfUnit,
    /// Leadership on the first line.
    pub leader: bool,
    pub hooks: Vec<HookLine>,
}

/// One line: a hook, and whether it also states leadership.
#[derive(Arbitrary, Debug, Clone)]
pub struct HookLine {
    pub leader: Option<bool>,
    pub hook: HookSpec,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum HookSpec {
    SourceCreated(RelId),
    SourceJoined(RelId, RemoteUnit, Option<UnitData>),
    SourceChanged(SourceChanged),
    SourceDeparted(RelId, Option<RemoteUnit>, Departing),
    SourceBroken(RelId),
    PeerCreated,
    PeerJoined(PeerUnit),
    PeerChanged(Option<PeerUnit>, Option<PeerBag>),
    /// `true`: this unit is the departing unit.
    PeerDeparted(PeerUnit, bool),
    PeerBroken,
    LeaderElected,
    LeaderSettingsChanged,
    ConfigChanged(Option<TimeoutValue>),
    UpgradeCharm(Option<StoredState>),
    Other(OtherHook),
    /// `install` stating another unit name (the sticky `unit` changes).
    Reinstall(SelfUnit),
}

#[derive(Arbitrary, Debug, Clone)]
pub struct SourceChanged {
    pub rel: RelId,
    pub unit: Option<RemoteUnit>,
    pub app_data: Option<AppData>,
    /// Only written when `unit` is given (the log format requires it).
    pub unit_data: Option<UnitData>,
}

/// Relation id `self.0 % 5`.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct RelId(pub u8);

impl RelId {
    pub fn id(self) -> u64 {
        u64::from(self.0 % 5)
    }
    fn app(self) -> &'static str {
        SOURCE_APPS[self.id() as usize]
    }
}

/// This unit's name.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum SelfUnit {
    G0,
    G1,
    G2,
}

impl SelfUnit {
    pub fn name(self) -> &'static str {
        match self {
            SelfUnit::G0 => "grafana/0",
            SelfUnit::G1 => "grafana/1",
            SelfUnit::G2 => "grafana/2",
        }
    }
}

/// A remote peer unit `grafana/(n % 3)` (may be this unit's own name).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct PeerUnit(pub u8);

impl PeerUnit {
    fn name(self) -> String {
        format!("grafana/{}", self.0 % 3)
    }
}

/// A remote unit of a `grafana-source` relation.
#[derive(Arbitrary, Debug, Clone)]
pub enum RemoteUnit {
    /// `app/(n % 4)`
    N(u8),
    NoSlash,
    TrailingSlash,
    NotANumber,
    Nested,
    LeadingZero,
    /// `""`: no unit, as ops reads an empty `JUJU_REMOTE_UNIT` (given with no databag).
    Empty,
    OtherApp,
    Huge,
    /// This unit's own name as a remote unit.
    Grafana,
}

impl RemoteUnit {
    fn name(&self, app: &str) -> String {
        match self {
            RemoteUnit::N(n) => format!("{app}/{}", n % 4),
            RemoteUnit::NoSlash => app.to_string(),
            RemoteUnit::TrailingSlash => format!("{app}/"),
            RemoteUnit::NotANumber => format!("{app}/x"),
            RemoteUnit::Nested => format!("{app}/0/1"),
            RemoteUnit::LeadingZero => format!("{app}/01"),
            RemoteUnit::Empty => String::new(),
            RemoteUnit::OtherApp => "other/1".to_string(),
            RemoteUnit::Huge => format!("{app}/18446744073709551616"),
            RemoteUnit::Grafana => "grafana/0".to_string(),
        }
    }
}

/// `departing_unit` of a `grafana-source-relation-departed` line.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Departing {
    Absent,
    Null,
    /// This unit (the sticky `unit`).
    ThisUnit,
    /// The line's `remote_unit`.
    Remote,
    /// Another Grafana unit.
    OtherGrafana,
}

/// Hooks the consumer does not observe.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum OtherHook {
    Install,
    Start,
    UpdateStatus,
    PebbleReady,
    Stop,
    Remove,
    SecretChanged,
    /// A relation hook of another endpoint, with relation fields.
    IngressChanged,
}

/// A remote unit databag.
#[derive(Arbitrary, Debug, Clone)]
pub enum UnitData {
    Host(Host),
    NoHost,
    HostAndMore(Host),
}

impl UnitData {
    fn databag(&self) -> Map<String, Value> {
        let mut m = Map::new();
        match self {
            UnitData::Host(h) => {
                m.insert(SOURCE_HOST_KEY.into(), Value::String(h.text()));
            }
            UnitData::NoHost => {
                m.insert("ingress-address".into(), js!("10.1.1.1"));
            }
            UnitData::HostAndMore(h) => {
                m.insert("egress-subnets".into(), js!("10.1.1.1/32"));
                m.insert(SOURCE_HOST_KEY.into(), Value::String(h.text()));
            }
        }
        m
    }
}

/// A `grafana_source_host` value (also a peer entry's `url`).
#[derive(Arbitrary, Debug, Clone)]
pub enum Host {
    Empty,
    Ip,
    Http,
    Https,
    NoSchemeWithPath,
    DigitScheme,
    UnderscoreScheme,
    UnicodeScheme,
    SchemeOnly,
    OneSlash,
    LeadingSpace,
    Text(Text),
}

impl Host {
    fn text(&self) -> String {
        match self {
            Host::Empty => "",
            Host::Ip => "10.1.2.3:9090",
            Host::Http => "http://prometheus-0.prometheus-endpoints.cos.svc:9090",
            Host::Https => "https://loki:3100/api",
            Host::NoSchemeWithPath => "prom-0.svc:9090/prometheus",
            Host::DigitScheme => "9090://x",
            Host::UnderscoreScheme => "my_scheme://x",
            Host::UnicodeScheme => "ü://x",
            Host::SchemeOnly => "http://",
            Host::OneSlash => "http:/x",
            Host::LeadingSpace => " http://x",
            Host::Text(t) => return t.text(),
        }
        .to_string()
    }
}

/// Short text: a word from a small alphabet (collisions are likely), or any string.
#[derive(Arbitrary, Debug, Clone)]
pub enum Text {
    Word(u8),
    Any(String),
}

const WORDS: [&str; 12] = [
    "",
    "a",
    "cos",
    "prometheus",
    "timeout",
    "source_name",
    "x y",
    "é",
    "\u{2028}",
    "📈",
    "\u{100000}",
    "juju_cos_u1_prometheus_0",
];

impl Text {
    fn text(&self) -> String {
        match self {
            Text::Word(n) => WORDS[usize::from(*n) % WORDS.len()].to_string(),
            Text::Any(s) => s.clone(),
        }
    }
}

/// The remote application databag.
#[derive(Arbitrary, Debug, Clone)]
pub enum AppData {
    /// No keys at all.
    Empty,
    Source(SourceData),
    /// `grafana_source_data` plus an unrelated key.
    SourceAndMore(SourceData),
    /// `grafana_source_data` is valid JSON, but not an object.
    NotObject(NonObject),
    /// `grafana_source_data` is not valid JSON (or not what it seems).
    Invalid(Invalid),
    Raw(String),
}

impl AppData {
    fn databag(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |text: String| {
            m.insert(SOURCE_DATA_KEY.into(), Value::String(text));
        };
        match self {
            AppData::Empty => {}
            AppData::Source(sd) => put(json::dumps(&sd.value())),
            AppData::SourceAndMore(sd) => {
                put(json::dumps(&sd.value()));
                m.insert("other".into(), js!("x"));
            }
            AppData::NotObject(v) => put(json::dumps(&v.value())),
            AppData::Invalid(i) => put(i.text()),
            AppData::Raw(s) => put(s.clone()),
        }
        m
    }
}

/// A `grafana_source_data` object; each field may be wrong.
#[derive(Arbitrary, Debug, Clone)]
pub struct SourceData {
    pub model: Field,
    pub model_uuid: Field,
    pub application: Field,
    pub source_type: Field,
    pub extra_fields: Extra,
    pub secure_extra_fields: Extra,
}

impl SourceData {
    fn value(&self) -> PyValue {
        let mut d = PyDict::default();
        let fields = [
            ("model", &self.model, ["cos", "lma"]),
            ("model_uuid", &self.model_uuid, ["u1", "u2"]),
            ("application", &self.application, ["prometheus", "loki"]),
            ("type", &self.source_type, ["prometheus", "loki"]),
        ];
        for (k, f, words) in fields {
            if let Some(v) = f.value(words) {
                d.insert(key(k), v);
            }
        }
        for (k, e) in [
            ("extra_fields", &self.extra_fields),
            ("secure_extra_fields", &self.secure_extra_fields),
        ] {
            if let Some(v) = e.value() {
                d.insert(key(k), v);
            }
        }
        PyValue::dict(d)
    }
}

/// A field that should be a string.
#[derive(Arbitrary, Debug, Clone)]
pub enum Field {
    First,
    Second,
    Missing,
    Null,
    Int(i8),
    Empty,
    List,
    Text(Text),
}

impl Field {
    fn value(&self, words: [&str; 2]) -> Option<PyValue> {
        Some(match self {
            Field::First => s(words[0]),
            Field::Second => s(words[1]),
            Field::Missing => return None,
            Field::Null => PyValue::None,
            Field::Int(n) => PyValue::Int(PyInt::Small(i64::from(*n))),
            Field::Empty => s(""),
            Field::List => PyValue::List(vec![s(words[0])]),
            Field::Text(t) => s(&t.text()),
        })
    }
}

/// `extra_fields` / `secure_extra_fields`.
#[derive(Arbitrary, Debug, Clone)]
pub enum Extra {
    Absent,
    Null,
    Empty,
    Timeout(TimeoutValue),
    TimeoutAndMore(TimeoutValue, Json),
    NotObject(NonObject),
    Json(Json),
}

impl Extra {
    fn value(&self) -> Option<PyValue> {
        let obj = |pairs: Vec<(&str, PyValue)>| {
            PyValue::dict(pairs.into_iter().map(|(k, v)| (key(k), v)).collect())
        };
        Some(match self {
            Extra::Absent => return None,
            Extra::Null => PyValue::None,
            Extra::Empty => PyValue::dict(PyDict::default()),
            Extra::Timeout(t) => obj(vec![("timeout", t.value())]),
            Extra::TimeoutAndMore(t, j) => obj(vec![
                ("httpMethod", s("POST")),
                ("timeout", t.value()),
                ("extra", j.value(0)),
            ]),
            Extra::NotObject(v) => v.value(),
            Extra::Json(j) => j.value(0),
        })
    }
}

/// A timeout value (`extra_fields.timeout`, the `datasource_query_timeout` config).
#[derive(Arbitrary, Debug, Clone)]
pub enum TimeoutValue {
    Int(i32),
    Float(f64),
    Str(IntText),
    Null,
    Bool(bool),
    Big,
    List,
    Object,
}

impl TimeoutValue {
    fn value(&self) -> PyValue {
        match self {
            TimeoutValue::Int(n) => PyValue::Int(PyInt::Small(i64::from(*n))),
            TimeoutValue::Float(f) => PyValue::Float(*f),
            TimeoutValue::Str(t) => s(&t.text()),
            TimeoutValue::Null => PyValue::None,
            TimeoutValue::Bool(b) => PyValue::Bool(*b),
            TimeoutValue::Big => PyValue::Int(
                PyInt::parse_decimal("100000000000000000000000000000").expect("decimal"),
            ),
            TimeoutValue::List => PyValue::List(vec![PyValue::Int(PyInt::Small(60))]),
            TimeoutValue::Object => PyValue::dict(PyDict::default()),
        }
    }
}

/// Text that Python's `int()` may or may not accept.
#[derive(Arbitrary, Debug, Clone)]
pub enum IntText {
    Digits(u16),
    Padded(u16),
    Underscored,
    Signed(i16),
    Junk,
    Empty,
    Arabic,
    Fraction,
    Huge,
    Text(Text),
}

impl IntText {
    fn text(&self) -> String {
        match self {
            IntText::Digits(n) => n.to_string(),
            IntText::Padded(n) => format!(" \t{n}\n"),
            IntText::Underscored => "1_000".into(),
            IntText::Signed(n) => format!("{n:+}"),
            IntText::Junk => "abc".into(),
            IntText::Empty => String::new(),
            IntText::Arabic => "٦٠".into(),
            IntText::Fraction => "1.5".into(),
            IntText::Huge => "9".repeat(4301),
            IntText::Text(t) => t.text(),
        }
    }
}

/// A JSON value that is not an object.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum NonObject {
    EmptyList,
    List,
    Str,
    EmptyStr,
    Int,
    Zero,
    True,
    False,
    Null,
    Float,
    NaN,
}

impl NonObject {
    fn value(self) -> PyValue {
        match self {
            NonObject::EmptyList => PyValue::List(Vec::new()),
            NonObject::List => PyValue::List(vec![s("a"), PyValue::Int(PyInt::Small(1))]),
            NonObject::Str => s("x"),
            NonObject::EmptyStr => s(""),
            NonObject::Int => PyValue::Int(PyInt::Small(1)),
            NonObject::Zero => PyValue::Int(PyInt::Small(0)),
            NonObject::True => PyValue::Bool(true),
            NonObject::False => PyValue::Bool(false),
            NonObject::Null => PyValue::None,
            NonObject::Float => PyValue::Float(1.5),
            NonObject::NaN => PyValue::Float(f64::NAN),
        }
    }
}

/// Text that is not the JSON it seems to be.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Invalid {
    Empty,
    Truncated,
    PythonRepr,
    Trailing,
    LoneSurrogate,
    Deep,
    LongInt,
    BadEscape,
    ControlChar,
    Whitespace,
}

impl Invalid {
    fn text(self) -> String {
        match self {
            Invalid::Empty => String::new(),
            Invalid::Truncated => "{\"model\": ".into(),
            Invalid::PythonRepr => "{'model': 'cos'}".into(),
            Invalid::Trailing => "{} x".into(),
            Invalid::LoneSurrogate => "\"\\ud800\"".into(),
            Invalid::Deep => format!("{}{}", "[".repeat(1001), "]".repeat(1001)),
            Invalid::LongInt => "1".repeat(4301),
            Invalid::BadEscape => "\"\\x\"".into(),
            Invalid::ControlChar => "\"\u{1}\"".into(),
            Invalid::Whitespace => " \u{a0}{}".into(),
        }
    }
}

/// Any JSON value (nesting past a few levels is cut to `null`).
#[derive(Arbitrary, Debug, Clone)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Text),
    List(Vec<Json>),
    Object(Vec<(Text, Json)>),
}

impl Json {
    fn value(&self, depth: usize) -> PyValue {
        if depth > 6 {
            return PyValue::None;
        }
        match self {
            Json::Null => PyValue::None,
            Json::Bool(b) => PyValue::Bool(*b),
            Json::Int(n) => PyValue::Int(PyInt::Small(*n)),
            Json::Float(f) => PyValue::Float(*f),
            Json::Str(t) => s(&t.text()),
            Json::List(items) => PyValue::List(items.iter().map(|j| j.value(depth + 1)).collect()),
            Json::Object(pairs) => PyValue::dict(
                pairs
                    .iter()
                    .map(|(k, v)| (key(&k.text()), v.value(depth + 1)))
                    .collect(),
            ),
        }
    }
}

/// The peer application databag: the consumer's persistent state.
#[derive(Arbitrary, Debug, Clone)]
pub struct PeerBag {
    pub sources: PeerText,
    pub sources_to_delete: PeerText,
    pub other_key: bool,
}

impl PeerBag {
    fn databag(&self) -> Databag {
        let mut bag = Databag::new();
        for (k, t) in [
            ("sources", &self.sources),
            ("sources_to_delete", &self.sources_to_delete),
        ] {
            if let Some(text) = t.text() {
                bag.insert(Arc::from(k), Arc::from(text));
            }
        }
        if self.other_key {
            bag.insert(Arc::from("grafana_version"), Arc::from("10.0"));
        }
        bag
    }

    fn json(&self) -> Map<String, Value> {
        self.databag()
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect()
    }
}

/// A peer value (`sources` / `sources_to_delete`), as text in the databag or as a value
/// in a legacy stored state.
#[derive(Arbitrary, Debug, Clone)]
pub enum PeerText {
    Missing,
    Empty,
    Sources(Vec<PeerRelation>),
    Names(Vec<NameValue>),
    NotObject(NonObject),
    Invalid(Invalid),
    Json(Json),
    Raw(String),
}

impl PeerText {
    /// The value as `json.loads` would give it; text-only variants are strings.
    fn value(&self) -> Option<PyValue> {
        Some(match self {
            PeerText::Missing => return None,
            PeerText::Empty => s(""),
            PeerText::Sources(rels) => PyValue::dict(
                rels.iter()
                    .map(|r| (key(&r.key.text()), r.entries.value()))
                    .collect(),
            ),
            PeerText::Names(names) => PyValue::List(names.iter().map(NameValue::value).collect()),
            PeerText::NotObject(v) => v.value(),
            PeerText::Invalid(i) => s(&i.text()),
            PeerText::Json(j) => j.value(0),
            PeerText::Raw(t) => s(t),
        })
    }

    /// The databag text, as a leader (`json.dumps`) or a corrupting hand wrote it.
    fn text(&self) -> Option<String> {
        match self {
            PeerText::Missing => None,
            PeerText::Empty => Some(String::new()),
            PeerText::Invalid(i) => Some(i.text()),
            PeerText::Raw(t) => Some(t.clone()),
            other => other.value().map(|v| json::dumps(&v)),
        }
    }
}

/// One relation's entry in peer `sources`.
#[derive(Arbitrary, Debug, Clone)]
pub struct PeerRelation {
    pub key: RelKey,
    pub entries: PeerEntries,
}

/// A key of peer `sources`: a relation id, or not.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum RelKey {
    Id(u8),
    RelId,
    Negative,
    LeadingZero,
    Empty,
    Word,
}

impl RelKey {
    fn text(self) -> String {
        match self {
            RelKey::Id(n) => (n % 5).to_string(),
            RelKey::RelId => "rel_id".into(),
            RelKey::Negative => "-1".into(),
            RelKey::LeadingZero => "04".into(),
            RelKey::Empty => String::new(),
            RelKey::Word => "x".into(),
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub enum PeerEntries {
    List(Vec<PeerItem>),
    NotList(NonObject),
}

impl PeerEntries {
    fn value(&self) -> PyValue {
        match self {
            PeerEntries::List(items) => PyValue::List(items.iter().map(PeerItem::value).collect()),
            PeerEntries::NotList(v) => v.value(),
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub enum PeerItem {
    Entry(PeerEntry),
    NotObject(NonObject),
}

impl PeerItem {
    fn value(&self) -> PyValue {
        match self {
            PeerItem::Entry(e) => e.value(),
            PeerItem::NotObject(v) => v.value(),
        }
    }
}

/// A peer `sources` entry as the reference writes it, each field possibly wrong.
#[derive(Arbitrary, Debug, Clone)]
pub struct PeerEntry {
    pub unit: Option<RemoteUnit>,
    pub name: NameValue,
    pub source_type: Field,
    pub url: Option<Host>,
    pub extra_fields: Extra,
    pub secure_extra_fields: Extra,
    /// Also the legacy `source-name` / `source-type` keys.
    pub legacy_keys: bool,
}

impl PeerEntry {
    fn value(&self) -> PyValue {
        let mut d = PyDict::default();
        if let Some(u) = &self.unit {
            d.insert(key("unit"), s(&u.name("prometheus")));
        }
        let name = self.name.value();
        let source_type = self.source_type.value(["prometheus", "loki"]);
        if self.legacy_keys {
            d.insert(key("source-name"), name.clone());
            if let Some(t) = &source_type {
                d.insert(key("source-type"), t.clone());
            }
        }
        if !matches!(self.name, NameValue::Missing) {
            d.insert(key("source_name"), name);
        }
        if let Some(t) = source_type {
            d.insert(key("source_type"), t);
        }
        if let Some(h) = &self.url {
            d.insert(key("url"), s(&h.text()));
        }
        if let Some(v) = self.extra_fields.value() {
            d.insert(key("extra_fields"), v);
        }
        if let Some(v) = self.secure_extra_fields.value() {
            d.insert(key("secure_extra_fields"), v);
        }
        PyValue::dict(d)
    }
}

/// A datasource name: one the `fold` generator can derive, another string, or not a string.
#[derive(Arbitrary, Debug, Clone)]
pub enum NameValue {
    /// `juju_{cos|lma}_{u1|u2}_{prometheus|loki}_{0..3}`, chosen by the bits of `n`.
    Derived(u8),
    Plain(u8),
    Text(Text),
    Missing,
    Int(i64),
    Null,
    NaN,
    List,
}

impl NameValue {
    fn value(&self) -> PyValue {
        match self {
            NameValue::Derived(_) | NameValue::Plain(_) | NameValue::Text(_) => {
                s(&self.as_str().unwrap_or_default())
            }
            NameValue::Missing | NameValue::Null => PyValue::None,
            NameValue::Int(n) => PyValue::Int(PyInt::Small(*n)),
            NameValue::NaN => PyValue::Float(f64::NAN),
            NameValue::List => PyValue::List(vec![s("a")]),
        }
    }

    fn as_str(&self) -> Option<String> {
        Some(match self {
            NameValue::Derived(n) => format!(
                "juju_{}_{}_{}_{}",
                ["cos", "lma"][usize::from(n & 1)],
                ["u1", "u2"][usize::from((n >> 1) & 1)],
                ["prometheus", "loki"][usize::from((n >> 2) & 1)],
                (n >> 3) % 4
            ),
            NameValue::Plain(n) => format!("ds{}", n % 3),
            NameValue::Text(t) => t.text(),
            _ => return None,
        })
    }
}

/// The legacy `StoredState` an `upgrade-charm` line carries.
#[derive(Arbitrary, Debug, Clone)]
pub struct StoredState {
    pub sources: PeerText,
    pub sources_to_delete: PeerText,
}

impl StoredState {
    fn json(&self) -> Value {
        let mut m = Map::new();
        for (k, t) in [
            ("sources", &self.sources),
            ("sources_to_delete", &self.sources_to_delete),
        ] {
            if let Some(v) = t.value() {
                m.insert(k.into(), v.to_json());
            }
        }
        Value::Object(m)
    }
}

fn s(text: &str) -> PyValue {
    PyValue::Str(Arc::from(text))
}

fn key(text: &str) -> PyKey {
    PyKey::Str(Arc::from(text))
}

impl FoldInput {
    /// The hook log this input describes, one JSON object per line (at most [`MAX_HOOKS`]
    /// lines; the first also states the unit and leadership). Replay it with the CLI to
    /// reproduce a `fold` finding.
    pub fn to_log(&self) -> String {
        let mut lines = Vec::new();
        let mut me = self.unit.name().to_string();
        let hooks = self.hooks.iter().take(MAX_HOOKS);
        for (i, line) in hooks.enumerate() {
            let mut m = hook_line(&line.hook, &mut me);
            if i == 0 {
                m.insert("unit".into(), js!(me));
                m.insert("leader".into(), js!(self.leader));
            }
            if let Some(leader) = line.leader {
                m.insert("leader".into(), js!(leader));
            }
            lines.push(Value::Object(m).to_string());
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }
}

fn hook_line(hook: &HookSpec, me: &mut String) -> Map<String, Value> {
    let mut m = Map::new();
    let named = |m: &mut Map<String, Value>, name: &str| {
        m.insert("hook".into(), js!(name));
    };
    let source = |m: &mut Map<String, Value>, kind: &str, rel: RelId| {
        m.insert(
            "hook".into(),
            js!(format!("grafana-source-relation-{kind}")),
        );
        m.insert("relation".into(), js!("grafana-source"));
        m.insert("relation_id".into(), js!(rel.id()));
        m.insert("remote_app".into(), js!(rel.app()));
    };
    let peer = |m: &mut Map<String, Value>, kind: &str| {
        m.insert("hook".into(), js!(format!("grafana-relation-{kind}")));
        m.insert("relation".into(), js!("grafana"));
        m.insert("relation_id".into(), js!(PEER_RELATION_ID));
        m.insert("remote_app".into(), js!("grafana"));
    };
    match hook {
        HookSpec::SourceCreated(rel) => source(&mut m, "created", *rel),
        HookSpec::SourceJoined(rel, unit, data) => {
            source(&mut m, "joined", *rel);
            let name = unit.name(rel.app());
            m.insert("remote_unit".into(), js!(name));
            // An empty name is no unit (as ops reads it): there is no databag to give.
            if let Some(d) = data.as_ref().filter(|_| !name.is_empty()) {
                m.insert("unit_data".into(), Value::Object(d.databag()));
            }
        }
        HookSpec::SourceChanged(c) => {
            source(&mut m, "changed", c.rel);
            let name = c.unit.as_ref().map(|u| u.name(c.rel.app()));
            m.insert("remote_unit".into(), js!(name));
            if let Some(a) = &c.app_data {
                m.insert("app_data".into(), Value::Object(a.databag()));
            }
            // An empty name is no unit (as ops reads it): there is no databag to give.
            if let (Some(name), Some(d)) = (&name, &c.unit_data) {
                if !name.is_empty() {
                    m.insert("unit_data".into(), Value::Object(d.databag()));
                }
            }
        }
        HookSpec::SourceDeparted(rel, unit, departing) => {
            source(&mut m, "departed", *rel);
            let remote = unit.as_ref().map(|u| u.name(rel.app()));
            m.insert("remote_unit".into(), js!(remote));
            let departing = match departing {
                Departing::Absent => None,
                Departing::Null => Some(Value::Null),
                Departing::ThisUnit => Some(js!(me)),
                Departing::Remote => Some(js!(remote)),
                Departing::OtherGrafana => Some(js!("grafana/7")),
            };
            if let Some(d) = departing {
                m.insert("departing_unit".into(), d);
            }
        }
        HookSpec::SourceBroken(rel) => source(&mut m, "broken", *rel),
        HookSpec::PeerCreated => peer(&mut m, "created"),
        HookSpec::PeerJoined(u) => {
            peer(&mut m, "joined");
            m.insert("remote_unit".into(), js!(u.name()));
        }
        HookSpec::PeerChanged(u, bag) => {
            peer(&mut m, "changed");
            m.insert("remote_unit".into(), js!(u.map(PeerUnit::name)));
            if let Some(bag) = bag {
                m.insert("app_data".into(), Value::Object(bag.json()));
            }
        }
        HookSpec::PeerDeparted(u, this_unit) => {
            peer(&mut m, "departed");
            m.insert("remote_unit".into(), js!(u.name()));
            let departing = if *this_unit { me.clone() } else { u.name() };
            m.insert("departing_unit".into(), js!(departing));
        }
        HookSpec::PeerBroken => peer(&mut m, "broken"),
        HookSpec::LeaderElected => named(&mut m, "leader-elected"),
        HookSpec::LeaderSettingsChanged => named(&mut m, "leader-settings-changed"),
        HookSpec::ConfigChanged(t) => {
            named(&mut m, "config-changed");
            if let Some(t) = t {
                m.insert("config".into(), js!({ TIMEOUT_KEY: t.value().to_json() }));
            }
        }
        HookSpec::UpgradeCharm(stored) => {
            named(&mut m, "upgrade-charm");
            if let Some(st) = stored {
                m.insert("stored_state".into(), st.json());
            }
        }
        HookSpec::Other(o) => match o {
            OtherHook::Install => named(&mut m, "install"),
            OtherHook::Start => named(&mut m, "start"),
            OtherHook::UpdateStatus => named(&mut m, "update-status"),
            OtherHook::PebbleReady => named(&mut m, "grafana-pebble-ready"),
            OtherHook::Stop => named(&mut m, "stop"),
            OtherHook::Remove => named(&mut m, "remove"),
            OtherHook::SecretChanged => named(&mut m, "secret-changed"),
            OtherHook::IngressChanged => {
                m.insert("hook".into(), js!("ingress-relation-changed"));
                m.insert("relation".into(), js!("ingress"));
                m.insert("relation_id".into(), js!(3));
                m.insert("remote_app".into(), js!("traefik"));
            }
        },
        HookSpec::Reinstall(u) => {
            *me = u.name().to_string();
            named(&mut m, "install");
            m.insert("unit".into(), js!(me));
        }
    }
    m
}

/// `fold`: the log an input describes, folded under both profiles.
///
/// Every generated line must parse. Under each profile the fold must not panic and the
/// incremental replay must give the same reports (`StepReport::to_json`, and the names each
/// violation lists) as the exact replay that recomputes everything ([`Replay::exact`]);
/// under `verified` no hook may fail and no invariant may break.
pub fn fuzz_fold(input: &FoldInput) {
    let text = input.to_log();
    let entries = log::parse_str(&text)
        .unwrap_or_else(|e| panic!("generated log does not parse: {e}\nlog:\n{text}"));
    fold_and_check(&entries, Some(&text));
}

/// A report as JSON, with the names each violation lists (which `to_json` leaves out).
/// Also checks that the report written straight to a serializer (what `replay --steps`
/// writes) is the bytes of `to_json`.
pub fn report_fingerprint(report: &crate::report::StepReport) -> Value {
    let mut v = report.to_json();
    let streamed = serde_json::to_string(report).expect("a report serialises");
    assert_eq!(
        streamed,
        v.to_string(),
        "step {}: the report written by its Serialize differs from to_json",
        report.step
    );
    let names: Vec<Value> = report
        .violations
        .iter()
        .map(|v| {
            let names: Vec<String> = v.names.iter().map(|n| n.py_repr()).collect();
            serde_json::json!([v.invariant.name(), names])
        })
        .collect();
    v["violation_names"] = Value::Array(names);
    v
}

fn exact_reports(profile: Profile, peer: PeerAtStart, entries: &[Entry]) -> Vec<Value> {
    let mut replay = Replay::exact(profile, peer);
    entries
        .iter()
        .map(|e| report_fingerprint(&replay.step(e)))
        .collect()
}

/// The fold checks shared by `fold` and `parse_log`; `log` is shown in panic messages.
fn fold_and_check(entries: &[Entry], log: Option<&str>) {
    let context = || log.map_or(String::new(), |t| format!("\nlog:\n{t}"));
    let peer = PeerAtStart::from_hooks(entries.iter().map(|e| &*e.hook.name));
    for profile in Profile::ALL {
        let mut replay = Replay::new(profile, peer);
        let mut first = Vec::with_capacity(entries.len());
        for entry in entries {
            let report = replay.step(entry);
            if profile == Profile::Verified {
                let failed = report.outcome.err().map(PyExc::name);
                if failed.is_some() || !report.violations.is_empty() {
                    let broken: Vec<String> = report
                        .violations
                        .iter()
                        .map(|v| {
                            let names: Vec<String> = v.names.iter().map(|n| n.py_repr()).collect();
                            format!("{} {:?}", v.invariant.name(), names)
                        })
                        .collect();
                    panic!(
                        "verified: step {} (line {}, `{}`): hook failed: {failed:?}, broke {broken:?}\nreport: {}{}",
                        report.step,
                        report.line,
                        report.hook,
                        report.to_json(),
                        context()
                    );
                }
            }
            first.push(report_fingerprint(&report));
        }
        let second = exact_reports(profile, peer, entries);
        for (i, (a, b)) in first.iter().zip(&second).enumerate() {
            assert!(
                a == b,
                "{}: step {i}: the incremental fold differs from the exact one\nincremental: {a}\nexact: {b}{}",
                profile.name(),
                context()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// render

/// A consumer state to render: peer relation visibility, peer databag, configured
/// timeout, and the names this unit rendered before (`verified`'s local memory).
#[derive(Arbitrary, Debug, Clone)]
pub struct RenderInput {
    pub peer: PeerVisibility,
    pub bag: PeerBag,
    pub timeout: Option<TimeoutValue>,
    pub rendered_ever: Vec<NameValue>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum PeerVisibility {
    Absent,
    Visible,
    Gone,
}

impl RenderInput {
    /// The state this input describes.
    pub fn state(&self) -> State {
        let mut state = State::new(PeerAtStart::Visible);
        let bag = self.bag.databag();
        state.peer = match self.peer {
            PeerVisibility::Absent => Peer::Absent,
            PeerVisibility::Visible => Peer::Visible(crate::peer::bag_from_texts(&bag)),
            PeerVisibility::Gone => Peer::Gone(crate::peer::bag_from_texts(&bag)),
        };
        if let Some(t) = &self.timeout {
            state
                .config
                .insert(Arc::from(TIMEOUT_KEY), ConfigValue(t.value()));
        }
        state.rendered_ever = self
            .rendered_ever
            .iter()
            .filter_map(NameValue::as_str)
            .map(Arc::from)
            .collect();
        state
    }
}

/// `render`: a state rendered under both profiles.
///
/// Rendering is deterministic; a render's report JSON ([`Rendered::to_json`]) written as
/// text and parsed back is equal to itself, with every datasource's name, type, url,
/// `jsonData` and `secureJsonData` and every deleted name as the [`Rendered`] holds them.
/// `verified` always renders, and [`invariants::check`] finds nothing on its render
/// (checked as a step that changes nothing).
pub fn fuzz_render(input: &RenderInput) {
    let state = input.state();
    let entry = log::parse_line(1, r#"{"hook": "update-status"}"#).expect("a valid line");
    let effects = Effects {
        outcome: Ok(()),
        emitted: crate::reducer::Emitted::new(),
        diagnostics: Vec::new(),
    };
    for profile in Profile::ALL {
        let rendered = render::render(profile, &state);
        let again = render::render(profile, &state);
        let as_json = |r: &render::RenderResult| r.as_ref().map(|r| r.to_json()).map_err(|e| *e);
        assert!(
            as_json(&rendered) == as_json(&again),
            "{}: two renders of one state differ\n{input:?}",
            profile.name()
        );
        match &rendered {
            Ok(r) => check_rendered_json(r, profile),
            Err(e) => assert!(
                profile != Profile::Verified,
                "verified failed to render: {}\n{input:?}",
                e.name()
            ),
        }
        let violations = invariants::check(&StepView {
            entry: &entry,
            before: &state,
            seen: &state,
            after: &state,
            effects: &effects,
            rendered_before: &rendered,
            rendered_after: &rendered,
        });
        if profile == Profile::Verified && !violations.is_empty() {
            let broken: Vec<&str> = violations.iter().map(|v| v.invariant.name()).collect();
            panic!(
                "verified render breaks {broken:?}\nrendered: {}\n{input:?}",
                as_json(&rendered).unwrap_or(Value::Null)
            );
        }
    }
}

fn check_rendered_json(r: &Rendered, profile: Profile) {
    let value = r.to_json();
    let text = serde_json::to_string(&value)
        .unwrap_or_else(|e| panic!("{}: rendered JSON does not serialize: {e}", profile.name()));
    for redact in [false, true] {
        let streamed = serde_json::to_string(&render::RenderedJson {
            rendered: r,
            redact,
        })
        .unwrap_or_else(|e| panic!("{}: RenderedJson does not serialize: {e}", profile.name()));
        let want = crate::summary::redact_json(value.clone(), !redact).to_string();
        assert_eq!(
            streamed,
            want,
            "{}: RenderedJson (redact: {redact}) writes other bytes than to_json",
            profile.name()
        );
    }
    let back: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{}: rendered JSON text does not parse back: {e}\n{text}",
            profile.name()
        )
    });
    assert!(
        back == value,
        "{}: rendered JSON changes in a text round trip\nbefore: {value}\nafter:  {back}",
        profile.name()
    );
    let datasources = back["datasources"]
        .as_array()
        .expect("`datasources` is an array");
    assert_eq!(datasources.len(), r.datasources.len(), "{text}");
    for (d, j) in r.datasources.iter().zip(datasources) {
        let same = j["name"] == d.name.to_json()
            && j["type"] == d.source_type.to_json()
            && j["url"] == d.url.to_json()
            && j.get("jsonData") == d.json_data.as_ref().map(PyValue::to_json).as_ref()
            && j.get("secureJsonData")
                == d.secure_json_data.as_ref().map(PyValue::to_json).as_ref()
            && j["orgId"] == "1"
            && j["access"] == "proxy"
            && j["isDefault"] == "false";
        assert!(
            same,
            "{}: datasource {j} does not hold name {}, url {}, jsonData {:?}",
            profile.name(),
            d.name.py_repr(),
            d.url.py_repr(),
            d.json_data.as_ref().map(PyValue::py_repr)
        );
    }
    let deleted = back["deleteDatasources"]
        .as_array()
        .expect("`deleteDatasources` is an array");
    assert_eq!(deleted.len(), r.delete.len(), "{text}");
    for (n, j) in r.delete.iter().zip(deleted) {
        assert!(
            j["name"] == n.to_json() && j["orgId"] == 1,
            "{}: deleted {j} is not {}",
            profile.name(),
            n.py_repr()
        );
    }
    // The provisioning file Grafana reads: YAML out, a YAML 1.2 reader back, the very
    // values of the render (NaN and infinities included; after Grafana's `$$` -> `$` where
    // the profile escapes). YAML refuses only an int beyond 128 bits, JSON only a float it
    // has no number for; the JSON file is the report's `datasources` otherwise.
    for format in [FileFormat::Yaml, FileFormat::Json] {
        let unwritable = |v: &PyValue| match (v, format) {
            (PyValue::Float(f), FileFormat::Json) => !f.is_finite(),
            (PyValue::Int(PyInt::Big(t)), FileFormat::Yaml) => t.parse::<i128>().is_err(),
            _ => false,
        };
        let text = match render::write_file(r, false, format) {
            Ok(text) => text,
            Err(e @ render::WriteError::Unwritable { .. }) => {
                let holds = file_values(r).any(|v| holds_any(v, &unwritable));
                assert!(
                    holds,
                    "{}: {format} refused a writable render: {e}",
                    profile.name()
                );
                continue;
            }
            Err(e) => panic!(
                "{}: the {format} file cannot be written: {e}",
                profile.name()
            ),
        };
        if format == FileFormat::Json {
            let back: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
                panic!(
                    "{}: the JSON file does not parse: {e}\n{text}",
                    profile.name()
                )
            });
            let want = if r.dollars_escaped {
                escape_dollars(value.clone())
            } else {
                value.clone()
            };
            assert!(
                back == want,
                "{}: the JSON file is not the report's\nfile:   {back}\nreport: {want}",
                profile.name()
            );
            continue;
        }
        // NaN and infinities come back as floats (serde-saphyr refuses them by default).
        let keep_floats = serde_saphyr::options! {
            non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
        };
        let read: Read =
            serde_saphyr::from_str_with_options(&text, keep_floats).unwrap_or_else(|e| {
                panic!(
                    "{}: the YAML file does not parse back: {e}\n{text}",
                    profile.name()
                )
            });
        let digits_missing =
            |v: &PyValue| matches!(v, PyValue::Int(PyInt::Big(t)) if !text.contains(&**t));
        let big_ints_written = file_values(r).all(|v| !holds_any(v, &digits_missing));
        assert!(
            big_ints_written,
            "{}: the YAML file does not hold a big int's digits\n{text}",
            profile.name()
        );
        let unescape = r.dollars_escaped;
        let field = |m: &Read, key: &str| m.get(key).unwrap_or(&Read::Absent).clone();
        let same_file = field(&read, "apiVersion") == Read::Int(1)
            && matches!(field(&read, "datasources"), Read::List(ds) if ds.len() == r.datasources.len()
            && r.datasources.iter().zip(&ds).all(|(d, j)| {
                let opt = |v: &Option<PyValue>, key| match v {
                    Some(v) => field(j, key).is(v, unescape),
                    None => field(j, key) == Read::Absent,
                };
                field(j, "orgId") == Read::Str("1".into())
                    && field(j, "access") == Read::Str("proxy".into())
                    && field(j, "isDefault") == Read::Str("false".into())
                    && field(j, "name").is(&d.name, unescape)
                    && field(j, "type").is(&d.source_type, unescape)
                    && field(j, "url").is(&d.url, unescape)
                    && opt(&d.json_data, "jsonData")
                    && opt(&d.secure_json_data, "secureJsonData")
            }))
            && matches!(field(&read, "deleteDatasources"), Read::List(del) if del.len() == r.delete.len()
            && r.delete.iter().zip(&del).all(|(n, j)| {
                field(j, "orgId") == Read::Int(1) && field(j, "name").is(n, unescape)
            }));
        assert!(
            same_file,
            "{}: the YAML file reads back differently\nread: {read:?}\n{text}",
            profile.name()
        );
    }
}

/// Every Python value the provisioning file of `r` holds, at the top of its field.
fn file_values(r: &Rendered) -> impl Iterator<Item = &PyValue> {
    let fields = r
        .datasources
        .iter()
        .flat_map(|d| d.fields().map(|(_, v)| v));
    fields.chain(r.delete.iter())
}

/// Whether `v` or a value inside it is one `pick` picks.
fn holds_any(v: &PyValue, pick: &impl Fn(&PyValue) -> bool) -> bool {
    pick(v)
        || match v {
            PyValue::List(items) => items.iter().any(|x| holds_any(x, pick)),
            PyValue::Dict(d) => d.values().any(|x| holds_any(x, pick)),
            _ => false,
        }
}

/// `$` written `$$`, keys included: what a `verified` file holds.
fn escape_dollars(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace('$', "$$")),
        Value::Array(a) => Value::Array(a.into_iter().map(escape_dollars).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k.replace('$', "$$"), escape_dollars(v)))
                .collect(),
        ),
        other => other,
    }
}

/// A YAML value as a reader gives it back, numbers as the reader types them, keys of any
/// kind, in order: what the provisioning file says, with nothing mapped to JSON's types.
#[derive(Debug, Clone, PartialEq)]
enum Read {
    /// A key the file does not have.
    Absent,
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    List(Vec<Read>),
    Map(Vec<(Read, Read)>),
}

impl Read {
    /// The value under the string key `key` of a map.
    fn get(&self, key: &str) -> Option<&Read> {
        match self {
            Read::Map(m) => m
                .iter()
                .find(|(k, _)| matches!(k, Read::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Whether this is `v` as written to the file (NaN is NaN; an int is an int; a dict's
    /// keys in order, an int key an int; `$$` read as `$` when `unescape`).
    fn is(&self, v: &PyValue, unescape: bool) -> bool {
        let text = |a: &str, b: &str| {
            if unescape {
                a.replace("$$", "$") == b
            } else {
                a == b
            }
        };
        match (self, v) {
            (Read::Null, PyValue::None) => true,
            (Read::Bool(a), PyValue::Bool(b)) => a == b,
            (Read::Int(a), PyValue::Int(PyInt::Small(b))) => *a == i128::from(*b),
            (Read::Int(a), PyValue::Int(PyInt::Big(b))) => b.parse() == Ok(*a),
            // The reader gives an int past 64 bits as its nearest float; the writer wrote
            // the digits (the caller checks that the text holds them).
            (Read::Float(a), PyValue::Int(PyInt::Big(b))) => b.parse() == Ok(*a),
            (Read::Float(a), PyValue::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Read::Str(a), PyValue::Str(b)) => text(a, b),
            (Read::List(a), PyValue::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.is(y, unescape))
            }
            (Read::Map(a), PyValue::Dict(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b.iter()).all(|((ka, va), (kb, vb))| {
                        let key = match (ka, kb) {
                            (Read::Str(x), PyKey::Str(y)) => text(x, y),
                            (Read::Int(x), PyKey::Int(y)) => *x == i128::from(*y),
                            _ => false,
                        };
                        key && va.is(vb, unescape)
                    })
            }
            _ => false,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Read {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Read, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Read;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_unit<E>(self) -> Result<Read, E> {
                Ok(Read::Null)
            }
            fn visit_none<E>(self) -> Result<Read, E> {
                Ok(Read::Null)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Read, D::Error> {
                <Read as serde::Deserialize>::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Read, E> {
                Ok(Read::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Read, E> {
                Ok(Read::Int(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Read, E> {
                Ok(Read::Int(n.into()))
            }
            fn visit_i128<E>(self, n: i128) -> Result<Read, E> {
                Ok(Read::Int(n))
            }
            fn visit_u128<E: serde::de::Error>(self, n: u128) -> Result<Read, E> {
                i128::try_from(n)
                    .map(Read::Int)
                    .map_err(|_| E::custom("an int beyond i128"))
            }
            fn visit_f64<E>(self, f: f64) -> Result<Read, E> {
                Ok(Read::Float(f))
            }
            fn visit_str<E>(self, s: &str) -> Result<Read, E> {
                Ok(Read::Str(s.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Read, A::Error> {
                let mut items = Vec::new();
                while let Some(x) = a.next_element()? {
                    items.push(x);
                }
                Ok(Read::List(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Read, A::Error> {
                let mut entries = Vec::new();
                while let Some(e) = a.next_entry()? {
                    entries.push(e);
                }
                Ok(Read::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------
// peer_data

/// `peer_data`: arbitrary text (lossily decoded UTF-8) as a peer databag value.
///
/// - `json.loads` returns a value or a typed [`PyExc`], never panics;
/// - when it returns a value `v`, `loads(dumps(v))` succeeds and `dumps` of it is
///   `dumps(v)` again (the text a leader writes is stable);
/// - strict JSON (what serde_json accepts, a subset of what CPython accepts) loads to the
///   value serde_json reads, except an int of more than 4300 digits, which CPython refuses
///   with `ValueError`.
pub fn fuzz_peer_data(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let loaded = json::loads(&text);
    if let Ok(v) = &loaded {
        let once = json::dumps(v);
        let again = json::loads(&once).unwrap_or_else(|e| {
            panic!(
                "json.loads raises {} on json.dumps output {once:?} (input {text:?})",
                e.name()
            )
        });
        let twice = json::dumps(&again);
        assert!(
            once == twice,
            "dumps(loads(dumps(v))) != dumps(v)\ninput: {text:?}\nonce:  {once:?}\ntwice: {twice:?}"
        );
    }
    if let Ok(strict) = serde_json::from_str::<Value>(&text) {
        let want = json::dumps(&PyValue::from_json(&strict));
        match &loaded {
            Ok(v) => {
                let got = json::dumps(v);
                assert!(
                    got == want,
                    "json.loads disagrees with serde_json on strict JSON {text:?}\njson.loads: {got:?}\nserde_json: {want:?}"
                );
            }
            Err(PyExc::ValueError) if has_long_int(&strict) => {}
            Err(e) => panic!("json.loads raises {} on strict JSON {text:?}", e.name()),
        }
    }
}

/// Whether a JSON value holds an integer of more than [`py::INT_MAX_STR_DIGITS`] digits.
fn has_long_int(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            let t = n.to_string();
            !t.contains(['.', 'e', 'E']) && t.trim_start_matches('-').len() > py::INT_MAX_STR_DIGITS
        }
        Value::Array(items) => items.iter().any(has_long_int),
        Value::Object(m) => m.values().any(has_long_int),
        _ => false,
    }
}
