//! Rendering: the Grafana provisioning config the charm writes from the consumer state.
//!
//! [`render`] reproduces the Grafana charm's `_generate_datasource_config` (same commit
//! as the reference library) over the peer databag: `GrafanaSourceConsumer.sources` and
//! `.sources_to_delete` read it, then each source becomes a datasource with
//! `orgId "1"`, `access proxy`, `isDefault "false"`, `jsonData` from `extra_fields`,
//! `secureJsonData` from `secure_extra_fields`, and `jsonData.timeout` raised to the
//! config's `datasource_query_timeout` (default 300) when Python's `int()` of it is lower.
//! When that code raises, the render fails with the Python exception it raises.
use crate::peer::{Changes, Doc, Edits, PDict, PList, Pos};
use crate::py::{self, PyDict, PyExc, PyInt, PyKey, PyValue};
use crate::reducer::{Field, Profile, ENTRY_KEYS};
use crate::world::State;
use imbl::OrdMap;
use smallvec::SmallVec;
use std::cmp::Ordering;
use std::sync::Arc;

mod file;
pub use file::{write_file, FileFormat, WriteError};

/// The config key that floors `jsonData.timeout`.
pub const TIMEOUT_KEY: &str = "datasource_query_timeout";
/// The Grafana charm's default for [`TIMEOUT_KEY`].
pub const DEFAULT_TIMEOUT: i64 = 300;

/// One provisioned datasource. Values are Python values: corrupt peer data can put any
/// JSON there, and the report shows it as the reference would.
#[derive(Clone)]
pub struct Datasource {
    pub name: PyValue,
    pub source_type: PyValue,
    pub url: PyValue,
    pub json_data: Option<PyValue>,
    /// Secrets: shown only in machine-readable output, redacted for people.
    pub secure_json_data: Option<PyValue>,
}

/// `Debug` shows `secureJsonData` as `<redacted>`: secrets stay out of debug output.
impl std::fmt::Debug for Datasource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Datasource")
            .field("name", &self.name)
            .field("source_type", &self.source_type)
            .field("url", &self.url)
            .field("json_data", &self.json_data)
            .field(
                "secure_json_data",
                &self.secure_json_data.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A run of datasources rendered from one entry of the peer `sources` document. Equality
/// is identity: a diff of two renders finds the runs that were rendered anew.
#[derive(Clone, Debug)]
pub struct Segment(pub Arc<Run>);

/// The datasources of a [`Segment`], with the counts [`Aggregates`] needs, taken once.
#[derive(Debug)]
pub struct Run {
    /// Shared one by one: a run rendered again keeps the datasources of unchanged items.
    pub items: Vec<Arc<Datasource>>,
    /// How many have a `url` without an RFC 3986 scheme.
    pub bad_urls: usize,
    /// How many hold a `$`.
    pub dollars: usize,
    /// How many names are not strings (the string ones: [`Run::names`]).
    pub odd_names: usize,
    /// Per item: [`BAD_URL`], [`DOLLAR`] and [`DOLLAR_DATA`] bits, so a run made again
    /// from the same datasources does not scan them again.
    flags: Vec<u8>,
}

/// A [`Run`] item's `url` has no RFC 3986 scheme.
const BAD_URL: u8 = 1;
/// A [`Run`] item holds a `$`.
const DOLLAR: u8 = 2;
/// A [`Run`] item's `jsonData` or `secureJsonData` holds a `$` (then so does the item).
const DOLLAR_DATA: u8 = 4;

/// The flags of `d`. `data_dollar`: the [`DOLLAR_DATA`] bit of an item with the very
/// `jsonData` and `secureJsonData` objects `d` has, when known (an item made again for a
/// moved host shares them), so that they are not scanned again.
fn item_flags(d: &Datasource, data_dollar: Option<u8>) -> u8 {
    let bad = !matches!(&d.url, PyValue::Str(u) if crate::invariants::has_rfc3986_scheme(u));
    let data = data_dollar.unwrap_or_else(|| u8::from(d.data_has_dollar()) * DOLLAR_DATA);
    let dollar = data != 0 || d.fields_have_dollar();
    u8::from(bad) * BAD_URL + u8::from(dollar) * DOLLAR + data
}

/// Whether two optional values are the very same object (`None` on both counts): a dict
/// or a string shared by pointer; nothing else is assumed the same.
fn same_object(a: &Option<PyValue>, b: &Option<PyValue>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => x.is_same_object(y),
        _ => false,
    }
}

impl Run {
    /// The string names, in order.
    pub fn names(&self) -> impl Iterator<Item = &Arc<str>> + Clone {
        self.items.iter().filter_map(str_name)
    }
}

impl Segment {
    fn new(items: Vec<Arc<Datasource>>) -> Segment {
        Segment::after(items, None)
    }

    /// A run of `items`; those that are items of `prev` (the same `Arc`) keep the flags
    /// taken there, and one made anew at a place where `prev` has an item with the same
    /// `jsonData` and `secureJsonData` objects keeps what was found in those.
    fn after(items: Vec<Arc<Datasource>>, prev: Option<&Segment>) -> Segment {
        let (prev_items, prev_flags) =
            prev.map_or((&[][..], &[][..]), |p| (&p.0.items[..], &p.0.flags[..]));
        let flag = |i: usize, d: &Arc<Datasource>| {
            let same = |j: &usize| Arc::ptr_eq(&prev_items[*j], d);
            let data_dollar = || {
                let p = prev_items.get(i)?;
                (same_object(&p.json_data, &d.json_data)
                    && same_object(&p.secure_json_data, &d.secure_json_data))
                .then(|| prev_flags[i] & DOLLAR_DATA)
            };
            Some(i)
                .filter(|i| *i < prev_items.len())
                .filter(same)
                .or_else(|| (0..prev_items.len()).find(same))
                .map_or_else(|| item_flags(d, data_dollar()), |j| prev_flags[j])
        };
        let flags: Vec<u8> = items.iter().enumerate().map(|(i, d)| flag(i, d)).collect();
        let (bad_urls, dollars) = seg_stats(&flags);
        let odd_names = items
            .iter()
            .filter(|d| !matches!(d.name, PyValue::Str(_)))
            .count();
        Segment(Arc::new(Run {
            odd_names,
            items,
            bad_urls,
            dollars,
            flags,
        }))
    }

    /// The datasources, in order.
    pub fn items(&self) -> &[Arc<Datasource>] {
        &self.0.items
    }
}

impl PartialEq for Segment {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The provisioned datasources, in order: persistent runs keyed by the position of the
/// `sources` entry they come from, so that a render shares every run it did not redo with
/// the render before it.
#[derive(Clone, Default)]
pub struct DatasourceList {
    segs: OrdMap<Pos, Segment>,
    len: usize,
    /// The runs replaced since a sealed content, so that a later list can tell what it
    /// changed without the older list's runs.
    edits: Edits<Segment>,
}

impl std::fmt::Debug for DatasourceList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl DatasourceList {
    /// One run holding `items`.
    pub fn from_vec(items: Vec<Datasource>) -> Self {
        let mut l = DatasourceList::default();
        l.set(0, items.into_iter().map(Arc::new).collect());
        l
    }

    fn set(&mut self, pos: Pos, items: Vec<Arc<Datasource>>) {
        self.put(pos, Some(Segment::new(items)));
    }

    /// Log the writes from now on (see [`Edits::begin`]; a failed render's writes stay in
    /// the log, which then still starts from the last good render).
    fn begin_edit(&mut self) {
        self.edits.begin(self.segs.len());
    }

    /// Stamp the content as it is now (before handing out a copy that a later list may be
    /// compared with).
    fn seal(&mut self) {
        self.edits.seal();
    }

    /// Whether `self` holds the content of `older`, or was written from it with every
    /// write logged: `older`'s runs are then never read.
    fn logged_from(&self, older: &DatasourceList) -> bool {
        self.edits.traces_to(&older.edits)
    }

    /// Let go of the runs, keeping only what [`DatasourceList::changes_since`] needs of a
    /// list that a later one was logged from: the owner of a later list then holds the only
    /// reference to the runs and changes them in place.
    fn release(&mut self) {
        self.segs = OrdMap::new();
        self.len = 0;
        self.edits.release();
    }

    /// The runs where `self` and `older` differ: (position, old, new), from the log when
    /// `self` was logged from `older` (`older`'s runs are not read), a diff otherwise.
    pub fn changes_since<'a>(&'a self, older: &'a DatasourceList) -> Changes<'a, Segment> {
        self.edits
            .changes(&self.segs, &older.edits, &older.segs)
            .expect("a released list of runs is only compared with a list logged from it")
    }

    /// Write the run at `pos` (an empty run or `None` removes it): one walk of the map.
    fn put(&mut self, pos: Pos, seg: Option<Segment>) {
        debug_assert!(!self.edits.is_released(), "write to released runs");
        let old = match seg.filter(|s| !s.items().is_empty()) {
            Some(seg) => {
                self.len += seg.items().len();
                self.segs.insert(pos, seg)
            }
            None => self.segs.remove(&pos),
        };
        if let Some(old) = &old {
            self.len -= old.items().len();
        }
        self.edits.note(pos, old);
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &Datasource> {
        debug_assert!(!self.edits.is_released(), "iteration over released runs");
        self.segs
            .values()
            .flat_map(|s| s.items().iter().map(|d| &**d))
    }
}

impl<'a> IntoIterator for &'a DatasourceList {
    type Item = &'a Datasource;
    type IntoIter = Box<dyn Iterator<Item = &'a Datasource> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// Counts over a render that the invariants read, kept up to date from the render before
/// (see `Aggregates::update`) so that checking a step costs what the step changed.
#[derive(Clone, Debug, Default)]
pub struct Aggregates {
    /// Provisioned string names, with their number of datasources.
    pub names: crate::names::NameCounts,
    /// Provisioned datasources whose name is not a string (corrupt peer data).
    pub odd_names: usize,
    /// Distinct names provisioned more than once.
    pub dups: usize,
    /// Distinct string names both provisioned and in `delete`.
    pub overlap: usize,
    /// Provisioned datasources whose `url` lacks an RFC 3986 scheme.
    pub bad_urls: usize,
    /// Datasources and deletions holding a `$` somewhere.
    pub dollars: usize,
    /// The string names whose being provisioned or being deleted may differ from the render
    /// these aggregates were brought over from (sorted, distinct).
    pub touched: Vec<Arc<str>>,
    /// The provisioned names of that render (the base `touched` is relative to).
    pub from: crate::names::NameCounts,
}

/// The provisioning file: datasources to provision and names to delete.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    pub datasources: DatasourceList,
    pub delete: PList,
    /// Whether the file this profile writes escapes `$` as `$$` ([`write_file`]).
    pub dollars_escaped: bool,
    pub agg: Aggregates,
}

/// How many of a run's items have a bad url, and how many hold a `$`.
fn seg_stats(flags: &[u8]) -> (usize, usize) {
    let count = |bit: u8| flags.iter().filter(|f| *f & bit != 0).count();
    (count(BAD_URL), count(DOLLAR))
}

impl Datasource {
    /// Its Python-valued fields under their names in the provisioning file, in the file's
    /// order (`jsonData` and `secureJsonData` when present).
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &PyValue)> {
        [
            ("name", Some(&self.name)),
            ("type", Some(&self.source_type)),
            ("url", Some(&self.url)),
            ("jsonData", self.json_data.as_ref()),
            ("secureJsonData", self.secure_json_data.as_ref()),
        ]
        .into_iter()
        .filter_map(|(field, v)| Some((field, v?)))
    }

    /// Whether any of its values (keys included) holds a `$`.
    pub fn has_dollar(&self) -> bool {
        self.fields_have_dollar() || self.data_has_dollar()
    }

    /// Whether its name, type or url holds a `$`.
    fn fields_have_dollar(&self) -> bool {
        [&self.name, &self.source_type, &self.url]
            .into_iter()
            .any(py_has_dollar)
    }

    /// Whether its `jsonData` or `secureJsonData` (keys included) holds a `$`.
    fn data_has_dollar(&self) -> bool {
        [&self.json_data, &self.secure_json_data]
            .into_iter()
            .flatten()
            .any(py_has_dollar)
    }
}

/// Whether `s` holds a `$`: every search for one in this module. With the `memchr` crate
/// (SIMD): `str::contains` scans a word at a time, and the datasources a step renders
/// anew are scanned field by field.
fn has_dollar_text(s: &str) -> bool {
    memchr::memchr(b'$', s.as_bytes()).is_some()
}

/// Whether a value, keys included, holds a `$` anywhere.
pub fn py_has_dollar(v: &PyValue) -> bool {
    match v {
        PyValue::Str(s) => has_dollar_text(s),
        PyValue::List(items) => items.iter().any(py_has_dollar),
        PyValue::Dict(d) => d
            .iter()
            .any(|(k, v)| matches!(k, PyKey::Str(s) if has_dollar_text(s)) || py_has_dollar(v)),
        _ => false,
    }
}

impl Rendered {
    /// A render of `datasources` and `delete`, its aggregates brought over from `prev` (the
    /// render before, if any): only the runs and deletions that differ are visited.
    pub fn new(
        datasources: DatasourceList,
        delete: PList,
        dollars_escaped: bool,
        prev: Option<&Rendered>,
    ) -> Rendered {
        let agg = Aggregates::update(prev, &datasources, &delete);
        Rendered {
            datasources,
            delete,
            dollars_escaped,
            agg,
        }
    }
}

/// The string names of a run, in order (none for no run).
fn run_names(s: Option<&Segment>) -> impl Iterator<Item = &Arc<str>> + Clone {
    s.map_or(&[][..], |s| s.items()).iter().filter_map(str_name)
}

/// A datasource's name when it is a string.
fn str_name(d: &Arc<Datasource>) -> Option<&Arc<str>> {
    match &d.name {
        PyValue::Str(n) => Some(n),
        _ => None,
    }
}

impl Aggregates {
    fn update(prev: Option<&Rendered>, ds: &DatasourceList, delete: &PList) -> Aggregates {
        use imbl::ordmap::DiffItem;
        let empty = Rendered::default();
        let prev = prev.unwrap_or(&empty);
        let p = &prev.agg;
        let mut agg = Aggregates {
            names: p.names.clone(),
            odd_names: p.odd_names,
            dups: p.dups,
            overlap: p.overlap,
            bad_urls: p.bad_urls,
            dollars: p.dollars,
            // Set below; the render before's list is not copied to be thrown away.
            touched: Vec::new(),
            from: p.names.clone(),
        };
        // Names whose provisioned count or deletion presence crossed zero.
        let mut touched: Vec<Arc<str>> = Vec::new();
        // Net change of each name's count over the runs that differ: a run rendered again
        // with the same names leaves the shared name map untouched.
        let mut delta = crate::names::Delta::default();
        for (_, old, new) in ds.changes_since(&prev.datasources) {
            if let Some(old) = old {
                agg.bad_urls -= old.0.bad_urls;
                agg.dollars -= old.0.dollars;
                agg.odd_names -= old.0.odd_names;
            }
            if let Some(new) = new {
                agg.bad_urls += new.0.bad_urls;
                agg.dollars += new.0.dollars;
                agg.odd_names += new.0.odd_names;
            }
            delta.replace(run_names(old), run_names(new));
        }
        for m in delta.apply(&mut agg.names) {
            agg.dups = agg.dups.wrapping_add_signed(m.dup_change());
            if m.appeared() || m.vanished() {
                touched.push(m.name);
            }
        }
        let mut item = |agg: &mut Aggregates, v: &PyValue, add: bool| {
            if py_has_dollar(v) {
                if add {
                    agg.dollars += 1;
                } else {
                    agg.dollars -= 1;
                }
            }
            if let PyValue::Str(s) = v {
                touched.push(s.clone());
            }
        };
        for d in prev.delete.items().diff(delete.items()) {
            match d {
                DiffItem::Add(_, v) => item(&mut agg, &v.0, true),
                DiffItem::Remove(_, v) => item(&mut agg, &v.0, false),
                DiffItem::Update { old, new } => {
                    item(&mut agg, &old.1 .0, false);
                    item(&mut agg, &new.1 .0, true);
                }
            }
        }
        touched.sort();
        touched.dedup();
        for s in &touched {
            let was = prev.agg.names.contains_key(s) && prev.delete.contains_str(s);
            let is = agg.names.contains_key(s) && delete.contains_str(s);
            match (was, is) {
                (false, true) => agg.overlap += 1,
                (true, false) => agg.overlap -= 1,
                _ => {}
            }
        }
        agg.touched = touched;
        agg
    }
}

/// What rendering a state gives: the config (shared: reports, timelines and the render
/// cache hold it without copying), or the exception the charm's renderer raises.
pub type RenderResult = Result<Arc<Rendered>, PyExc>;

impl Rendered {
    /// The provisioning file as JSON, in the step report's shape (spec section 2).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{json, Value};
        let datasources: Vec<Value> = self.datasources.iter().map(Datasource::to_json).collect();
        let delete: Vec<Value> = self.delete.iter().map(delete_json).collect();
        json!({"apiVersion": 1, "datasources": datasources, "deleteDatasources": delete})
    }
}

impl Datasource {
    /// Its entry of the provisioning file's `datasources`, as [`Rendered::to_json`] has it.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{json, Map, Value};
        let mut m = Map::new();
        m.insert("orgId".into(), json!("1"));
        m.insert("access".into(), json!("proxy"));
        m.insert("isDefault".into(), json!("false"));
        m.insert("name".into(), self.name.to_json());
        m.insert("type".into(), self.source_type.to_json());
        m.insert("url".into(), self.url.to_json());
        if let Some(j) = &self.json_data {
            m.insert("jsonData".into(), j.to_json());
        }
        if let Some(s) = &self.secure_json_data {
            m.insert("secureJsonData".into(), s.to_json());
        }
        Value::Object(m)
    }
}

/// [`Rendered::to_json`] written straight to a serializer, the same bytes without building
/// the value, which is as big as the world: what `replay --steps` writes on every step and
/// `replay --json` at the end. With `redact`, every `secureJsonData` value is written as
/// `<redacted>` (the bytes of [`crate::summary::redact_json`]); machine-readable output
/// that asks for secrets writes them as they are.
pub struct RenderedJson<'a> {
    pub rendered: &'a Rendered,
    pub redact: bool,
}

impl serde::Serialize for RenderedJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Delete<'a>(&'a PyValue);
        impl serde::Serialize for Delete<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("orgId", &1)?;
                m.serialize_entry("name", &crate::py::Json(self.0))?;
                m.end()
            }
        }
        let r = self.rendered;
        let redact = self.redact;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("apiVersion", &1)?;
        let datasources = || r.datasources.iter().map(|d| DatasourceJson { d, redact });
        m.serialize_entry("datasources", &Seq(datasources))?;
        m.serialize_entry("deleteDatasources", &Seq(|| r.delete.iter().map(Delete)))?;
        m.end()
    }
}

/// A sequence serialised from the items its function gives.
struct Seq<F>(F);

impl<F, I> serde::Serialize for Seq<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: serde::Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// [`Datasource::to_json`] written straight to a serializer, `secureJsonData` redacted or
/// not (see [`RenderedJson`]).
struct DatasourceJson<'a> {
    d: &'a Datasource,
    redact: bool,
}

impl serde::Serialize for DatasourceJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use crate::py::Json;
        use serde::ser::SerializeMap;
        let d = self.d;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("orgId", "1")?;
        m.serialize_entry("access", "proxy")?;
        m.serialize_entry("isDefault", "false")?;
        m.serialize_entry("name", &Json(&d.name))?;
        m.serialize_entry("type", &Json(&d.source_type))?;
        m.serialize_entry("url", &Json(&d.url))?;
        if let Some(j) = &d.json_data {
            m.serialize_entry("jsonData", &Json(j))?;
        }
        match &d.secure_json_data {
            Some(j) if self.redact => {
                let mut v = serde_json::json!({ "secureJsonData": j.to_json() });
                crate::summary::redact_datasource(&mut v);
                m.serialize_entry("secureJsonData", &v["secureJsonData"])?;
            }
            Some(j) => m.serialize_entry("secureJsonData", &Json(j))?,
            None => {}
        }
        m.end()
    }
}

/// An entry of the provisioning file's `deleteDatasources`, as [`Rendered::to_json`] has it.
fn delete_json(name: &PyValue) -> serde_json::Value {
    serde_json::json!({"orgId": 1, "name": name.to_json()})
}

fn peer_value(state: &State, key: &str) -> Result<Arc<PyValue>, PyExc> {
    match state.peer_value(key) {
        Some(v) => Ok(Arc::new(v.doc()?.to_py())),
        None => Ok(Arc::new(PyValue::dict(PyDict::default()))),
    }
}

/// The configured timeout: the config value as given, or the charm default.
fn configured_timeout(state: &State) -> PyValue {
    state
        .config
        .get(TIMEOUT_KEY)
        .map(|c| c.0.clone())
        .unwrap_or(PyValue::Int(PyInt::Small(DEFAULT_TIMEOUT)))
}

/// Python `int < value` for the configured timeout.
fn int_lt(timeout: &PyInt, configured: &PyValue) -> Result<bool, PyExc> {
    Ok(match configured {
        PyValue::Int(c) => timeout.cmp(c) == Ordering::Less,
        PyValue::Bool(b) => timeout.cmp(&PyInt::Small(*b as i64)) == Ordering::Less,
        PyValue::Float(f) => int_lt_f64(timeout, *f),
        _ => return Err(PyExc::TypeError),
    })
}

/// Render `state` as `profile` does.
pub fn render(profile: Profile, state: &State) -> RenderResult {
    match profile {
        Profile::Libpatch21 => render_reference(state),
        Profile::Verified => Ok(Arc::new(render_verified(state))),
    }
}

/// Python `int < float`. Exact for machine-sized ints; a big int is compared through its
/// nearest double.
fn int_lt_f64(n: &PyInt, f: f64) -> bool {
    if f.is_nan() {
        return false;
    }
    match n {
        // n < f  <=>  n < ceil(f), and ceil(f) is exact in i128 below 2^100.
        PyInt::Small(n) if f.abs() < 1e30 => (*n as i128) < f.ceil() as i128,
        PyInt::Small(_) => f > 0.0,
        PyInt::Big(text) => text.parse::<f64>().is_ok_and(|x| x < f),
    }
}

/// `jsonData` with `timeout` set to the configured one (a missing or non-dict `jsonData`
/// becomes a dict holding just that).
fn raise_timeout(json_data: Option<PyValue>, configured: &PyValue) -> PyValue {
    let mut d = match json_data {
        Some(PyValue::Dict(d)) => Arc::unwrap_or_clone(d),
        _ => PyDict::default(),
    };
    d.insert(PyKey::Str(Arc::from("timeout")), configured.clone());
    PyValue::dict(d)
}

/// `_generate_datasource_config()` over the peer databag, from scratch.
pub fn render_reference(state: &State) -> RenderResult {
    // GrafanaSourceConsumer.sources
    let stored_sources = peer_value(state, "sources")?;
    let PyValue::Dict(by_rel) = &*stored_sources else {
        return Err(PyExc::AttributeError); // .values()
    };
    let mut sources = Vec::new();
    for source in by_rel.values() {
        sources.extend(py::to_list(source)?);
    }
    let configured = configured_timeout(state);
    let mut datasources = Vec::with_capacity(sources.len());
    for info in &sources {
        datasources.push(reference_datasource(info, &configured, None)?);
    }
    let delete = reference_delete(state)?;
    Ok(Arc::new(Rendered::new(
        DatasourceList::from_vec(datasources),
        delete,
        false,
        None,
    )))
}

/// `GrafanaSourceConsumer.sources_to_delete`: `get_peer_data(...) or []`, as a list.
fn reference_delete(state: &State) -> Result<PList, PyExc> {
    let Some(v) = state.peer_value("sources_to_delete") else {
        return Ok(PList::default());
    };
    Ok(match v.doc()? {
        Doc::List(l) => l.clone(),
        doc if !doc.truthy() => PList::default(),
        doc => py::to_list(&doc.to_py())?.into_iter().collect(),
    })
}

/// One `sources` entry of the charm's loop: `info` → datasource. `json_data`: the
/// `jsonData` already made for this entry's `extra_fields` ([`Before::JsonData`]).
fn reference_datasource(
    info: &PyValue,
    configured: &PyValue,
    json_data: Option<&Option<PyValue>>,
) -> Result<Datasource, PyExc> {
    // info["source_name"] and so on: `TypeError` for anything but a dict.
    let PyValue::Dict(d) = info else {
        return Err(PyExc::TypeError);
    };
    let keys = &*ENTRY_KEYS;
    let item = |field| keys.get(d, field).cloned().ok_or(PyExc::KeyError);
    let name = item(Field::SourceName)?;
    let source_type = item(Field::SourceType)?;
    let url = item(Field::Url)?;
    // `.get` on a dict cannot raise, and the order of the two picks does not matter.
    let pick = |field| keys.get(d, field).filter(|v| v.truthy()).cloned();
    let secure_json_data = pick(Field::SecureExtraFields);
    let json_data = match json_data {
        Some(made) => made.clone(),
        None => {
            let json_data = pick(Field::ExtraFields);
            // timeout = source.get("jsonData", {}).get("timeout", 0)
            let timeout = match &json_data {
                None => PyValue::Int(PyInt::Small(0)),
                Some(PyValue::Dict(d)) => d
                    .get(&py::StrKey("timeout"))
                    .cloned()
                    .unwrap_or(PyValue::Int(PyInt::Small(0))),
                Some(_) => return Err(PyExc::AttributeError),
            };
            if int_lt(&py::py_int(&timeout)?, configured)? {
                Some(raise_timeout(json_data, configured))
            } else {
                json_data
            }
        }
    };
    Ok(Datasource {
        name,
        source_type,
        url,
        json_data,
        secure_json_data,
    })
}

/// The runs a renderer made from the `sources` document it saw last, under the config it
/// saw last.
#[derive(Clone, Default)]
struct Runs {
    doc: PDict,
    /// The config, with the [`configured_timeout`] it gives.
    config: Option<(OrdMap<Arc<str>, crate::world::ConfigValue>, PyValue)>,
    ok: DatasourceList,
}

impl Runs {
    /// Whether the runs were made under `state`'s config.
    fn made_under(&self, state: &State) -> bool {
        self.config
            .as_ref()
            .is_some_and(|(c, _)| c.ptr_eq(&state.config))
    }

    /// Forget every run when the config is not the one they were made under.
    fn keep_if_config(&mut self, state: &State) {
        if !self.made_under(state) {
            self.start_over(state);
        }
    }

    /// No runs, for no document, under `state`'s config.
    fn start_over(&mut self, state: &State) {
        *self = Runs {
            config: Some((state.config.clone(), configured_timeout(state))),
            ..Runs::default()
        };
    }

    /// [`configured_timeout`] for `state`: read once per config the runs were made under.
    fn configured(&self, state: &State) -> PyValue {
        match &self.config {
            Some((c, timeout)) if c.ptr_eq(&state.config) => timeout.clone(),
            _ => configured_timeout(state),
        }
    }
}

/// What the incremental reference renderer keeps between renders of one replay: each
/// `sources` entry's datasources (or the exception it raises), for the document and
/// config it rendered last.
#[derive(Clone, Default)]
pub struct RenderMemo {
    runs: Runs,
    /// Entries whose `list()` raises, and entries one of whose items raises.
    list_failing: OrdMap<Pos, PyExc>,
    info_failing: OrdMap<Pos, PyExc>,
    /// The last successful render (the base its aggregates are brought over from) while
    /// the caller's render before is a failure; when that one succeeded, it is the base
    /// and the memo holds no second reference to it.
    last_ok: Option<Arc<Rendered>>,
}

impl RenderMemo {
    /// Render every entry again from the next document on, with no base for the
    /// aggregates (after a config change, or for a document the runs cannot be traced to).
    fn start_over(&mut self, state: &State) {
        self.runs.start_over(state);
        self.list_failing = OrdMap::new();
        self.info_failing = OrdMap::new();
        self.last_ok = None;
    }
}

/// [`render`], reusing what `memo` kept from the render before: for `libpatch21`, only the
/// `sources` entries that changed are rendered again, and the invariants' aggregates are
/// brought over. Gives exactly what [`render`] gives (tests/incremental.rs).
///
/// `before` is what the previous call with this memo returned (or what the caller reused
/// in its place). When the caller holds the only reference to it, its runs are let go of
/// (it keeps its aggregates and deletions, and [`DatasourceList::changes_since`] still
/// answers for it from the new render's log): the memo's runs are then changed in place
/// instead of path by path, and the old paths are not freed a step later. Such a `before`
/// can no longer be iterated; it is meant for the invariant checks of this step only.
pub fn render_incremental(
    profile: Profile,
    state: &State,
    memo: &mut RenderMemo,
    before: &mut RenderResult,
) -> RenderResult {
    let r = match profile {
        Profile::Libpatch21 => render_reference_incremental(state, memo, before),
        Profile::Verified => Ok(Arc::new(render_verified(state))),
    };
    match (&r, &*before) {
        (Ok(_), _) => memo.last_ok = None,
        (Err(_), Ok(b)) => memo.last_ok = Some(b.clone()),
        (Err(_), Err(_)) => {}
    }
    r
}

/// What changed between two `sources` documents: (position, old value, new value).
type Change = (Pos, Option<Arc<PyValue>>, Option<Arc<PyValue>>);

/// The changes from `old` to `new` (see [`PDict::changes_since`]); a removed entry comes
/// without its old value (nothing of it is reused).
fn doc_changes(old: &PDict, new: &PDict) -> Option<SmallVec<[Change; 1]>> {
    let value = |s: Option<&crate::peer::Slot>| s.map(|s| s.value.clone());
    Some(
        new.changes_since(old)?
            .into_iter()
            .map(|(p, a, b)| (p, value(a.filter(|_| b.is_some())), value(b)))
            .collect(),
    )
}

/// What was rendered before for `info`, the `i`th item of an entry, when `before` (the
/// entry's old value and the run rendered from it) corresponds to the run item for item:
/// the datasource itself when one old item is the very dict `info` is, otherwise the
/// `jsonData` of the old `i`th item when it was made from what `info`'s is made from (the
/// very `extra_fields` object, or none on either: see [`JsonSource`]).
fn rendered_before<'a>(
    before: Option<&'a (Arc<PyValue>, Segment)>,
    i: usize,
    info: &PyValue,
) -> Before<'a> {
    let Some((old, seg)) = before else {
        return Before::Nothing;
    };
    let PyValue::List(old_items) = &**old else {
        return Before::Nothing;
    };
    if old_items.len() != seg.items().len() {
        return Before::Nothing;
    }
    let PyValue::Dict(d) = info else {
        return Before::Nothing;
    };
    let same = |j: &usize| matches!(old_items.get(*j), Some(PyValue::Dict(o)) if Arc::ptr_eq(o, d));
    match Some(i)
        .filter(same)
        .or_else(|| (0..old_items.len()).find(same))
    {
        Some(j) => Before::Same(seg.items()[j].clone()),
        None => match (old_items.get(i).and_then(json_source), json_source(info)) {
            (Some(a), Some(b)) if a == b => Before::JsonData(&seg.items()[i].json_data),
            _ => Before::Nothing,
        },
    }
}

/// What a datasource's `jsonData` is made from, for an entry dict whose `extra_fields` is
/// absent or falsy (`Absent`: then it depends on the configured timeout alone) or an
/// object (that very object); `None` for anything else.
#[derive(PartialEq)]
enum JsonSource {
    Absent,
    Object(*const PyDict),
}

fn json_source(v: &PyValue) -> Option<JsonSource> {
    let PyValue::Dict(d) = v else { return None };
    match ENTRY_KEYS.get(d, Field::ExtraFields) {
        None => Some(JsonSource::Absent),
        Some(e) if !e.truthy() => Some(JsonSource::Absent),
        Some(PyValue::Dict(e)) => Some(JsonSource::Object(Arc::as_ptr(e))),
        Some(_) => None,
    }
}

/// See [`rendered_before`].
enum Before<'a> {
    Nothing,
    /// The datasource rendered from this very entry dict.
    Same(Arc<Datasource>),
    /// The `jsonData` made, under the same configured timeout (the memo's runs are dropped
    /// when the config changes), from what this entry's is made from ([`JsonSource`]: the
    /// very `extra_fields` object, which the entries of one relation share, or none on
    /// either): this entry's is the same, timeout raised already, so a host update builds
    /// no `jsonData` dict again. Made from those inputs before, it raised nothing then.
    JsonData(&'a Option<PyValue>),
}

impl<'a> Before<'a> {
    /// The `jsonData` a datasource made anew takes as it is.
    fn json_data(self) -> Option<&'a Option<PyValue>> {
        match self {
            Before::JsonData(j) => Some(j),
            _ => None,
        }
    }
}

fn render_reference_incremental(
    state: &State,
    memo: &mut RenderMemo,
    before: &mut RenderResult,
) -> RenderResult {
    let empty = PDict::default();
    let doc = match state.peer_value("sources") {
        None => &empty,
        Some(v) => match v.doc()? {
            Doc::Dict(d) => d,
            _ => return Err(PyExc::AttributeError), // .values()
        },
    };
    // The runs start over, unlogged, when the config changed: a base kept from before
    // could only be diffed with them, and may have been released, so the aggregates start
    // over too.
    if !memo.runs.made_under(state) {
        memo.start_over(state);
    }
    let changes = match doc_changes(&memo.runs.doc, doc) {
        Some(changes) => changes,
        None => {
            // The memo let go of the document it rendered and this one was not written
            // from it: render every entry again, as after a config change.
            memo.start_over(state);
            doc_changes(&memo.runs.doc, doc).unwrap_or_default()
        }
    };
    let configured = memo.runs.configured(state);
    memo.runs.ok.begin_edit();
    if let Ok(b) = before {
        // A render that succeeded is the base itself: the memo keeps no second reference
        // to it (`render_incremental`), which would keep its runs from being released.
        debug_assert!(memo.last_ok.is_none(), "the memo holds a successful base");
        if let Some(b) = Arc::get_mut(b).filter(|b| memo.runs.ok.logged_from(&b.datasources)) {
            b.datasources.release();
        }
    }
    for (pos, old, value) in changes {
        // The datasources this entry rendered before, item for item, to reuse for the
        // items (shared dicts) that did not change.
        let before: Option<(Arc<PyValue>, Segment)> = old.zip(memo.runs.ok.segs.get(&pos).cloned());
        memo.list_failing.remove(&pos);
        memo.info_failing.remove(&pos);
        // Each changed entry ends as one run, or none; the run is written once.
        let run = value.and_then(|value| {
            // list(entry): a list is read in place, anything else converted.
            let converted;
            let items: &[PyValue] = match &*value {
                PyValue::List(items) => items,
                other => match py::to_list(other) {
                    Ok(items) => {
                        converted = items;
                        &converted
                    }
                    Err(e) => {
                        memo.list_failing.insert(pos, e);
                        return None;
                    }
                },
            };
            let rendered = items
                .iter()
                .enumerate()
                .map(
                    |(i, info)| match rendered_before(before.as_ref(), i, info) {
                        Before::Same(ds) => Ok(ds),
                        b => reference_datasource(info, &configured, b.json_data()).map(Arc::new),
                    },
                )
                .collect::<Result<Vec<_>, _>>();
            match rendered {
                Ok(ds) => Some(ds),
                Err(e) => {
                    memo.info_failing.insert(pos, e);
                    None
                }
            }
        });
        let prev = before.as_ref().map(|(_, seg)| seg);
        memo.runs
            .ok
            .put(pos, run.map(|items| Segment::after(items, prev)));
    }
    memo.runs.doc = doc.clone();
    if state.memo.libpatch21.as_ref().is_some_and(|c| c.holds(doc)) {
        // The leader's cache holds this very document and logs what it writes from here
        // (as does every handler that edits the stored one): keeping its nodes would only
        // make the next write copy them.
        memo.runs.doc.release();
    }
    // Every entry's list() runs before any item is read: a list() failure comes first.
    if let Some((_, e)) = memo.list_failing.get_min() {
        return Err(*e);
    }
    if let Some((_, e)) = memo.info_failing.get_min() {
        return Err(*e);
    }
    let delete = reference_delete(state)?;
    memo.runs.ok.seal();
    // A released base is usable while the runs are logged from it (its runs are gone).
    let base = match &*before {
        Ok(b) => Some(&**b),
        Err(_) => memo.last_ok.as_deref(),
    }
    .filter(|b| !b.datasources.edits.is_released() || memo.runs.ok.logged_from(&b.datasources));
    Ok(Arc::new(Rendered::new(
        memo.runs.ok.clone(),
        delete,
        false,
        base,
    )))
}

/// The configured timeout as a number the `verified` renderer can compare with; a value
/// Python could not compare falls back to the charm default.
fn verified_timeout(state: &State) -> PyValue {
    comparable_timeout(configured_timeout(state))
}

/// [`verified_timeout`] of a configured timeout.
fn comparable_timeout(configured: PyValue) -> PyValue {
    match configured {
        v @ (PyValue::Int(_) | PyValue::Float(_) | PyValue::Bool(_)) => v,
        _ => PyValue::Int(PyInt::Small(DEFAULT_TIMEOUT)),
    }
}

/// One peer `sources` entry as the `verified` renderer accepts it, or `None` to skip it.
/// `json_data`: as for [`reference_datasource`].
fn verified_datasource(
    info: &PyValue,
    configured: &PyValue,
    json_data: Option<&Option<PyValue>>,
) -> Option<Datasource> {
    let PyValue::Dict(d) = info else { return None };
    let keys = &*ENTRY_KEYS;
    let text = |k| match keys.get(d, k) {
        Some(v @ PyValue::Str(_)) => Some(v.clone()),
        _ => None,
    };
    let object = |k| match keys.get(d, k) {
        Some(v @ PyValue::Dict(m)) if !m.is_empty() => Ok(Some(v.clone())),
        Some(v) if v.truthy() => Err(()),
        _ => Ok(None),
    };
    let name = text(Field::SourceName)?;
    let source_type = text(Field::SourceType)?;
    let url = match text(Field::Url)? {
        PyValue::Str(u) if !crate::invariants::has_rfc3986_scheme(&u) => {
            PyValue::Str(crate::log::concat(&["http://", &u]))
        }
        u => u,
    };
    let secure_json_data = object(Field::SecureExtraFields).ok()?;
    // A `jsonData` made from this very `extra_fields` object was made from a dict, which
    // `object` takes: only a fresh one can skip the datasource.
    let json_data = match json_data {
        Some(made) => made.clone(),
        None => made_json_data(object(Field::ExtraFields).ok()?, configured),
    };
    Some(Datasource {
        name,
        source_type,
        url,
        json_data,
        secure_json_data,
    })
}

/// The `verified` renderer's `jsonData`: `extra_fields` with a lower `timeout` raised to
/// the configured one.
fn made_json_data(json_data: Option<PyValue>, configured: &PyValue) -> Option<PyValue> {
    let timeout = match &json_data {
        Some(PyValue::Dict(j)) => j.get(&py::StrKey("timeout")).cloned(),
        _ => None,
    };
    let timeout = timeout
        .and_then(|t| py::py_int(&t).ok())
        .unwrap_or(PyInt::Small(0));
    if int_lt(&timeout, configured).unwrap_or(false) {
        Some(raise_timeout(json_data, configured))
    } else {
        json_data
    }
}

/// What the incremental `verified` renderer keeps between the renders of one lineage of
/// states (it travels in [`crate::world::Memo`]).
#[derive(Clone, Default)]
pub struct VerifiedRenderMemo {
    runs: Runs,
    /// The last render with the peer deletions as its `delete` (the base of the next).
    base: Option<Arc<Rendered>>,
    /// Names rendered before that are neither provisioned now nor in the peer deletions.
    extras: imbl::OrdSet<Arc<str>>,
}

/// [`render_verified`], reusing `memo`: only `sources` entries that changed are rendered
/// again, and the deletions are the peer list itself unless a provisioned name is in it or
/// a name rendered before is in neither. Returns the render and the names it provisions
/// that `state.rendered_ever` lacks. Equal to [`render_verified`] (tests/incremental.rs).
pub fn render_verified_incremental(
    state: &State,
    memo: &mut VerifiedRenderMemo,
) -> (Arc<Rendered>, Vec<Arc<str>>) {
    let full = |memo: &mut VerifiedRenderMemo| {
        let r = render_verified(state);
        let fresh = r
            .datasources
            .iter()
            .filter_map(|d| match &d.name {
                PyValue::Str(n) if !state.rendered_ever.contains(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        memo.base = None;
        (Arc::new(r), fresh)
    };
    let Some(bag) = state.last_peer_data() else {
        return full(memo);
    };
    let read = |k: &str| {
        bag.get(k)
            .filter(|v| !v.is_empty())
            .and_then(|v| v.doc().ok())
    };
    let doc = match read("sources") {
        Some(Doc::Dict(d)) => d.clone(),
        _ => PDict::default(),
    };
    let peer_delete = match read("sources_to_delete") {
        Some(Doc::List(l)) if l.is_set_of_strings() => l.clone(),
        Some(Doc::List(_)) => return full(memo),
        _ => PList::default(),
    };
    memo.runs.keep_if_config(state);
    let configured = comparable_timeout(memo.runs.configured(state));
    memo.runs.ok.begin_edit();
    let changes =
        doc_changes(&memo.runs.doc, &doc).expect("the verified memo keeps whole snapshots");
    for (pos, old, value) in changes {
        let before = old.zip(memo.runs.ok.segs.get(&pos).cloned());
        let items = match value.as_deref() {
            Some(PyValue::List(items)) => items
                .iter()
                .enumerate()
                .filter_map(
                    |(i, info)| match rendered_before(before.as_ref(), i, info) {
                        Before::Same(ds) => Some(ds),
                        b => verified_datasource(info, &configured, b.json_data()).map(Arc::new),
                    },
                )
                .collect(),
            _ => Vec::new(),
        };
        let prev = before.as_ref().map(|(_, seg)| seg);
        memo.runs.ok.put(pos, Some(Segment::after(items, prev)));
    }
    memo.runs.doc = doc;
    memo.runs.ok.seal();
    let r1 = Arc::new(Rendered::new(
        memo.runs.ok.clone(),
        peer_delete.clone(),
        true,
        memo.base.as_deref(),
    ));
    if r1.agg.dups > 0 {
        // The first of two equal names wins: the full renderer decides which.
        return full(memo);
    }
    let is_extra = |s: &Arc<str>| {
        state.rendered_ever.contains(s)
            && !r1.agg.names.contains_key(s)
            && !peer_delete.contains_str(s)
    };
    if memo.base.is_some() {
        for s in &r1.agg.touched {
            if is_extra(s) {
                memo.extras.insert(s.clone());
            } else {
                memo.extras.remove(s);
            }
        }
    } else {
        memo.extras = state
            .rendered_ever
            .iter()
            .filter(|s| is_extra(s))
            .cloned()
            .collect();
    }
    let fresh: Vec<Arc<str>> = r1
        .agg
        .touched
        .iter()
        .filter(|s| r1.agg.names.contains_key(s) && !state.rendered_ever.contains(*s))
        .cloned()
        .collect();
    memo.base = Some(r1.clone());
    if r1.agg.overlap == 0 && memo.extras.is_empty() {
        return (r1, fresh);
    }
    let delete: PList = peer_delete
        .iter()
        .filter(|v| !matches!(v, PyValue::Str(s) if r1.agg.names.contains_key(s)))
        .cloned()
        .chain(memo.extras.iter().map(|s| PyValue::Str(s.clone())))
        .collect();
    let r = Rendered::new(memo.runs.ok.clone(), delete, true, Some(&r1));
    (Arc::new(r), fresh)
}

/// The `verified` renderer: total (never fails) and local (ARCHITECTURE.md, rule 6).
/// Malformed entries are skipped, the first of two equal names wins, urls lacking a scheme
/// get `http://`, and `deleteDatasources` is (peer `sources_to_delete` ∪ every name this
/// unit rendered before) − the names rendered now.
pub fn render_verified(state: &State) -> Rendered {
    let bag = state.last_peer_data();
    let read = |k: &str| {
        bag.and_then(|b| b.get(k))
            .filter(|t| !t.is_empty())
            .and_then(|t| t.doc().ok().map(|d| d.to_py()))
    };
    let configured = verified_timeout(state);
    let mut datasources: Vec<Datasource> = Vec::new();
    let mut names: std::collections::BTreeSet<Arc<str>> = Default::default();
    if let Some(PyValue::Dict(by_rel)) = read("sources") {
        for entries in by_rel.values() {
            let PyValue::List(items) = entries else {
                continue;
            };
            for info in items {
                let Some(ds) = verified_datasource(info, &configured, None) else {
                    continue;
                };
                let PyValue::Str(n) = &ds.name else { continue };
                if names.insert(n.clone()) {
                    datasources.push(ds);
                }
            }
        }
    }
    let mut delete = PList::default();
    let mut deleted: std::collections::BTreeSet<Arc<str>> = Default::default();
    let peer_delete = match read("sources_to_delete") {
        Some(PyValue::List(items)) => items,
        _ => Vec::new(),
    };
    let candidates = peer_delete
        .into_iter()
        .filter_map(|v| match v {
            PyValue::Str(s) => Some(s),
            _ => None,
        })
        .chain(state.rendered_ever.iter().cloned());
    for n in candidates {
        if !names.contains(&n) && deleted.insert(n.clone()) {
            delete.push(PyValue::Str(n));
        }
    }
    Rendered::new(DatasourceList::from_vec(datasources), delete, true, None)
}

#[cfg(test)]
mod reuse_tests {
    use super::*;

    fn entry(url: &str, extra: &PyValue) -> PyValue {
        let mut d = PyDict::default();
        for (k, v) in [
            ("source_name", "n"),
            ("source_type", "prometheus"),
            ("url", url),
        ] {
            d.insert(PyKey::Str(k.into()), PyValue::Str(v.into()));
        }
        d.insert(PyKey::Str("extra_fields".into()), extra.clone());
        PyValue::dict(d)
    }

    fn timeout(t: i64) -> PyValue {
        let mut d = PyDict::default();
        d.insert(PyKey::Str("timeout".into()), PyValue::Int(PyInt::Small(t)));
        PyValue::dict(d)
    }

    fn json_ptr(ds: &Datasource) -> *const PyDict {
        match &ds.json_data {
            Some(PyValue::Dict(d)) => Arc::as_ptr(d),
            other => panic!("jsonData {other:?}"),
        }
    }

    /// The datasource rendered from `old` alone, and a renderer of an entry made again in
    /// its place (reusing what `rendered_before` finds).
    fn rendered_once(
        old: PyValue,
        configured: &PyValue,
    ) -> (Datasource, impl Fn(&PyValue) -> Datasource + '_) {
        let first = reference_datasource(&old, configured, None).unwrap();
        let before = (
            Arc::new(PyValue::List(vec![old])),
            Segment::new(vec![Arc::new(first.clone())]),
        );
        let render = move |info: &PyValue| {
            let b = rendered_before(Some(&before), 0, info);
            reference_datasource(info, configured, b.json_data()).unwrap()
        };
        (first, render)
    }

    /// An entry made again with the very `extra_fields` object of the entry before it
    /// shares that entry's raised `jsonData`; an equal but distinct object gets its own,
    /// with the same value.
    #[test]
    fn json_data_is_shared_only_for_the_same_extra_fields() {
        let configured = PyValue::Int(PyInt::Small(600));
        let extra = timeout(300);
        let old = entry("http://a", &extra);
        let (first, render) = rendered_once(old, &configured);
        let again = render(&entry("http://b", &extra));
        assert_eq!(json_ptr(&again), json_ptr(&first));
        assert_eq!(again.url.to_json(), serde_json::json!("http://b"));
        let own = render(&entry("http://b", &timeout(300)));
        assert_ne!(json_ptr(&own), json_ptr(&first));
        assert_eq!(
            own.json_data.unwrap().to_json(),
            serde_json::json!({"timeout": 600})
        );
    }

    fn datasource(url: &str, json_data: &PyValue) -> Arc<Datasource> {
        let text = |t: &str| PyValue::Str(t.into());
        Arc::new(Datasource {
            name: text("n"),
            source_type: text("prometheus"),
            url: text(url),
            json_data: Some(json_data.clone()),
            secure_json_data: None,
        })
    }

    /// An item made anew with the very `jsonData` object of the item at its place before
    /// takes what was found in it, not a scan of it; anything else is scanned.
    #[test]
    fn a_shared_json_data_is_not_scanned_again() {
        let mut dollar = PyDict::default();
        dollar.insert(PyKey::Str("q".into()), PyValue::Str("$x".into()));
        let dollar = PyValue::dict(dollar);
        let plain = timeout(5);
        let prev = Segment::new(vec![
            datasource("http://a", &dollar),
            datasource("http://a", &plain),
        ]);
        assert_eq!(prev.0.flags, [DOLLAR | DOLLAR_DATA, 0]);
        let next = Segment::after(
            vec![
                datasource("http://b", &dollar),
                datasource("b", &timeout(5)),
            ],
            Some(&prev),
        );
        assert_eq!(next.0.flags, [DOLLAR | DOLLAR_DATA, BAD_URL]);
        assert_eq!((next.0.dollars, next.0.bad_urls), (1, 1));
        // The bit is taken, not found again: a (made up) bit on the plain object is kept
        // at its place, and only there.
        let lying = Segment(Arc::new(Run {
            odd_names: 0,
            items: prev.items().to_vec(),
            bad_urls: 0,
            dollars: 2,
            flags: vec![DOLLAR | DOLLAR_DATA, DOLLAR | DOLLAR_DATA],
        }));
        let moved = Segment::after(
            vec![
                datasource("http://c", &plain),
                datasource("http://c", &plain),
            ],
            Some(&lying),
        );
        assert_eq!(moved.0.flags, [0, DOLLAR | DOLLAR_DATA]);
    }

    /// Without `extra_fields` (absent, or falsy: `null`, `{}`), the `jsonData` depends on
    /// the configured timeout alone: an entry made again without them shares the one
    /// rendered before; an entry that gained an object gets its own.
    #[test]
    fn json_data_without_extra_fields_is_shared() {
        let configured = PyValue::Int(PyInt::Small(600));
        let old = entry("http://a", &PyValue::None);
        let (first, render) = rendered_once(old, &configured);
        let mut bare = entry("http://b", &PyValue::None);
        if let PyValue::Dict(d) = &mut bare {
            Arc::make_mut(d).shift_remove(&PyKey::Str("extra_fields".into()));
        }
        for again in [bare, entry("http://b", &PyValue::dict(PyDict::default()))] {
            let again = render(&again);
            assert_eq!(json_ptr(&again), json_ptr(&first));
            assert_eq!(again.url.to_json(), serde_json::json!("http://b"));
        }
        let own = render(&entry("http://b", &timeout(300)));
        assert_ne!(json_ptr(&own), json_ptr(&first));
        assert_eq!(
            first.json_data.unwrap().to_json(),
            serde_json::json!({"timeout": 600})
        );
    }
}

#[cfg(test)]
mod undo_log_tests {
    use super::*;

    fn run(name: &str) -> Option<Segment> {
        Some(Segment::new(vec![Arc::new(Datasource {
            name: PyValue::Str(name.into()),
            source_type: PyValue::Str("prometheus".into()),
            url: PyValue::Str("http://h".into()),
            json_data: None,
            secure_json_data: None,
        })]))
    }

    /// (position, old first name, new first name) of each change.
    fn names(
        changes: &[crate::peer::Changed<Segment>],
    ) -> Vec<(Pos, Option<String>, Option<String>)> {
        let first = |s: Option<&Segment>| s.map(|s| format!("{:?}", s.items()[0].name));
        changes
            .iter()
            .map(|(p, a, b)| (*p, first(*a), first(*b)))
            .collect()
    }

    /// The log gives what a diff gives, and still does once the old list is released.
    #[test]
    fn logged_changes_are_the_diff_and_survive_release() {
        let mut list = DatasourceList::default();
        for (p, n) in [(1, "a"), (2, "b"), (4, "d")] {
            list.put(p, run(n));
        }
        list.seal();
        let mut old = list.clone();
        list.begin_edit();
        list.put(1, run("a2")); // replaced twice: the old run is the first one
        list.put(2, None);
        list.put(1, run("a3"));
        list.put(3, run("c"));
        // Another edit before the next seal (a failed render) goes on with the same log.
        list.begin_edit();
        list.put(4, run("d2"));
        list.put(5, run("e"));
        list.put(5, None);
        list.seal();
        let mut unlogged = list.clone();
        unlogged.edits = Edits::default();
        let diffed = names(&unlogged.changes_since(&old));
        assert_eq!(diffed.len(), 4, "{diffed:?}");
        assert_eq!(names(&list.changes_since(&old)), diffed);
        assert!(list.logged_from(&old));
        old.release();
        assert_eq!(names(&list.changes_since(&old)), diffed);
        // A list stamped from other content is not taken for `old`.
        let other = DatasourceList::from_vec(Vec::new());
        assert!(!list.logged_from(&other));
        // The same content sealed once has no changes.
        assert!(list.changes_since(&list.clone()).is_empty());
    }

    /// One logged write (the fast path) gives what a diff gives: the run it put, or
    /// nothing when it put back the very run that was there.
    #[test]
    fn one_logged_write_is_the_diff() {
        let mut list = DatasourceList::default();
        let a = run("a");
        list.put(1, a.clone());
        list.put(2, run("b"));
        list.seal();
        let old = list.clone();
        for (p, put, changes) in [(2, run("b2"), 1), (1, a, 0), (3, None, 0), (4, run("d"), 1)] {
            let mut l = old.clone();
            l.begin_edit();
            l.put(p, put);
            l.seal();
            let mut unlogged = l.clone();
            unlogged.edits = Edits::default();
            assert!(l.logged_from(&old));
            let logged = names(&l.changes_since(&old));
            assert_eq!(logged, names(&unlogged.changes_since(&old)), "at {p}");
            assert_eq!(logged.len(), changes, "at {p}: {logged:?}");
        }
    }

    /// A write after sealing starts a log from that seal (a copy taken at an earlier seal
    /// is then diffed), and a log that outgrows the runs is dropped.
    #[test]
    fn a_write_after_a_seal_logs_from_it_and_long_logs_are_dropped() {
        let mut list = DatasourceList::default();
        list.put(1, run("a"));
        list.seal();
        let first = list.clone();
        list.begin_edit();
        list.put(2, run("b"));
        list.seal();
        let second = list.clone();
        list.put(3, run("c")); // the first write after a seal logs from it
        list.begin_edit();
        assert!(list.logged_from(&second));
        assert!(!list.logged_from(&first));
        list.put(1, None);
        let mut unlogged = list.clone();
        unlogged.edits = Edits::default();
        for older in [&first, &second] {
            assert_eq!(
                names(&list.changes_since(older)),
                names(&unlogged.changes_since(older))
            );
        }
        for i in 0..=64 + 2 {
            list.begin_edit();
            list.put(10, run(&format!("x{i}")));
        }
        assert!(
            !list.edits.has_log(),
            "the log outgrew the runs and was kept"
        );
        assert!(!list.logged_from(&second));
    }
}
