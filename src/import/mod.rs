//! Converters from real captures into hook log v1 (`grafana-source import`).
//!
//! Three capture formats are read, each by its own module:
//! - [`jhack`]: the replay database `event_db.json` that jhack's event recorder writes
//!   (one scene per hook: the hook's environment and its memoised hook-tool calls);
//! - [`show_unit`]: `juju show-unit UNIT --format json` of a Grafana unit, which becomes a
//!   log *prefix* recreating that unit's world view and peer data;
//! - [`env_jsonl`]: the plain recorder documented in `docs/recorder.md` (one JSON object
//!   per hook, appended by the charm's `dispatch` script).
//!
//! Every converter returns a [`Conversion`]: the hook log lines ([`LogLine`]) and notes
//! about what was skipped. Each line is serialised with serde_json and checked with
//! [`crate::log::parse_line`] before it is returned, so a conversion never yields a line the
//! replay would refuse. Unknown or missing fields are an [`ImportError`] naming the scene,
//! line or document and the field.
//!
//! Hooks of endpoints other than `grafana-source` and the peer `grafana` become bare hook
//! lines that carry only `unit`, `leader` and `config` (the spec: "hooks of other endpoints
//! only carry leader/config changes"); they are never rejected.
//!
//! ```
//! use grafana_source::import::{convert, Format};
//! // env-jsonl: one JSON object per line.
//! let line = concat!(
//!     r#"{"env": {"JUJU_HOOK_NAME": "install", "JUJU_UNIT_NAME": "grafana/0"}, "#,
//!     r#""is_leader": true, "config": null, "app_data": null, "unit_data": null}"#,
//! );
//! let c = convert(Format::EnvJsonl, line).unwrap();
//! assert_eq!(c.to_jsonl(), "{\"hook\":\"install\",\"unit\":\"grafana/0\",\"leader\":true}\n");
//! ```
use crate::log::{self, Endpoint, Hook, LogError};
use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;

pub mod env_jsonl;
pub mod jhack;
pub mod show_unit;

/// A capture format `grafana-source import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// jhack's replay database, `event_db.json`.
    Jhack,
    /// `juju show-unit UNIT --format json` of one Grafana unit.
    ShowUnit,
    /// The `dispatch` recorder of `docs/recorder.md`: JSON Lines.
    EnvJsonl,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Jhack, Format::ShowUnit, Format::EnvJsonl];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jhack => "jhack",
            Format::ShowUnit => "show-unit",
            Format::EnvJsonl => "env-jsonl",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown format `{s}` (expected jhack, show-unit or env-jsonl)"))
    }
}

/// Convert a whole capture held in memory.
pub fn convert(format: Format, text: &str) -> Result<Conversion, ImportError> {
    match format {
        Format::Jhack => jhack::convert(text),
        Format::ShowUnit => show_unit::convert(text),
        Format::EnvJsonl => env_jsonl::convert(text),
    }
}

/// Where in a capture an error or a note is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The capture as a whole (a jhack database's top level, the show-unit dump).
    Document,
    /// A jhack scene: its 0-based index in `scenes`, as `jhack replay list` numbers it.
    Scene(usize),
    /// A line of an env-jsonl capture, 1-based.
    Line(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Document => write!(f, "document"),
            Location::Scene(i) => write!(f, "scene {i}"),
            Location::Line(n) => write!(f, "line {n}"),
        }
    }
}

/// A capture that cannot be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The text (or one line of it) is not JSON.
    #[error("{at}: not valid JSON: {message}")]
    Json { at: Location, message: String },
    /// A field is unknown, missing, or not of the shape the capture format has.
    #[error("{at}: field `{field}`: {message}")]
    Field {
        at: Location,
        field: String,
        message: String,
    },
    /// A converted line that the hook log parser refuses (a converter bug, or a capture
    /// whose values the log cannot express).
    #[error("{at}: the converted hook log line is refused: {source}")]
    Rejected {
        at: Location,
        #[source]
        source: LogError,
    },
}

impl ImportError {
    /// The scene, line or document the error is about.
    pub fn location(&self) -> &Location {
        match self {
            ImportError::Json { at, .. }
            | ImportError::Field { at, .. }
            | ImportError::Rejected { at, .. } => at,
        }
    }

    /// The field named by a [`ImportError::Field`] error.
    pub fn field(&self) -> Option<&str> {
        match self {
            ImportError::Field { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// Something a converter left out on purpose, for the user to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub at: Location,
    pub message: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// A relation databag as a capture gives it: string keys to string values, in the
/// capture's order.
pub type Bag = IndexMap<String, String>;

/// One hook log v1 line (spec section 1). Absent fields are not written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogLine {
    pub hook: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_app: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub departing_unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_data: Option<Bag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_data: Option<Bag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Map<String, Value>>,
}

impl LogLine {
    /// A line with only its hook name.
    pub fn new(hook: impl Into<String>) -> Self {
        LogLine {
            hook: hook.into(),
            unit: None,
            leader: None,
            relation: None,
            relation_id: None,
            remote_app: None,
            remote_unit: None,
            departing_unit: None,
            app_data: None,
            unit_data: None,
            config: None,
        }
    }

    /// The line as JSON text (one line, no newline).
    pub fn to_json_text(&self) -> String {
        serde_json::to_string(self).expect("a LogLine always serialises")
    }
}

/// What a converter produced: the log lines, in order, and notes on what it skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversion {
    pub lines: Vec<LogLine>,
    pub notes: Vec<Note>,
}

impl Conversion {
    /// The hook log: one JSON object per line, each ending in a newline.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(&line.to_json_text());
            out.push('\n');
        }
        out
    }

    /// Append another conversion (e.g. a jhack log after a show-unit prefix).
    pub fn append(&mut self, mut other: Conversion) {
        self.lines.append(&mut other.lines);
        self.notes.append(&mut other.notes);
    }

    /// Add a line after checking it with the strict hook log parser.
    pub(crate) fn push(&mut self, at: &Location, line: LogLine) -> Result<(), ImportError> {
        let text = line.to_json_text();
        log::parse_line(self.lines.len() as u64 + 1, &text).map_err(|source| {
            ImportError::Rejected {
                at: at.clone(),
                source,
            }
        })?;
        self.lines.push(line);
        Ok(())
    }

    pub(crate) fn note(&mut self, at: &Location, message: String) {
        self.notes.push(Note {
            at: at.clone(),
            message,
        });
    }
}

// ---------------------------------------------------------------------------------------
// Walking untyped JSON with field paths in errors.

/// Append `key` to a field path: `a.b`, or `a["x.y"]` when the key has a `.`, `/`, space,
/// quote or bracket in it (memo names, unit names).
pub(crate) fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && !key
            .chars()
            .any(|c| matches!(c, '.' | '/' | ' ' | '"' | '[' | ']'));
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Value::String(key.to_string())),
    }
}

/// `path[i]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub(crate) fn field_err(at: &Location, field: &str, message: impl Into<String>) -> ImportError {
    ImportError::Field {
        at: at.clone(),
        field: field.to_string(),
        message: message.into(),
    }
}

/// The JSON type of a value, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A JSON object being read, with the path that names it in errors.
pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub path: String,
    pub at: &'a Location,
}

impl<'a> Obj<'a> {
    pub fn new(value: &'a Value, path: String, at: &'a Location) -> Result<Self, ImportError> {
        match value {
            Value::Object(map) => Ok(Obj { map, path, at }),
            other => Err(field_err(
                at,
                &display_path(&path),
                format!("expected an object, found {}", kind(other)),
            )),
        }
    }

    /// Refuse any key not in `known`.
    pub fn only(&self, known: &[&str]) -> Result<(), ImportError> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(field_err(
                self.at,
                &self.field(k),
                format!("unknown field (expected one of: {})", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    pub fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    pub fn req(&self, key: &str) -> Result<&'a Value, ImportError> {
        self.map
            .get(key)
            .ok_or_else(|| field_err(self.at, &self.field(key), "missing"))
    }

    pub fn obj(&self, key: &str) -> Result<Obj<'a>, ImportError> {
        Obj::new(self.req(key)?, self.field(key), self.at)
    }

    pub fn string(&self, key: &str) -> Result<&'a str, ImportError> {
        match self.req(key)? {
            Value::String(s) => Ok(s),
            other => Err(field_err(
                self.at,
                &self.field(key),
                format!("expected a string, found {}", kind(other)),
            )),
        }
    }

    pub fn boolean(&self, key: &str) -> Result<bool, ImportError> {
        match self.req(key)? {
            Value::Bool(b) => Ok(*b),
            other => Err(field_err(
                self.at,
                &self.field(key),
                format!("expected a boolean, found {}", kind(other)),
            )),
        }
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        ".".to_string()
    } else {
        path.to_string()
    }
}

/// An object of strings to strings (a databag, or an environment); `null` is refused.
pub(crate) fn string_map(v: &Value, path: &str, at: &Location) -> Result<Bag, ImportError> {
    let obj = Obj::new(v, path.to_string(), at)?;
    obj.map
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            other => Err(field_err(
                at,
                &obj.field(k),
                format!("expected a string, found {}", kind(other)),
            )),
        })
        .collect()
}

/// Parse a whole document as JSON (the jhack database, the show-unit dump).
pub(crate) fn parse_document(text: &str, hint: &str) -> Result<Value, ImportError> {
    serde_json::from_str(text).map_err(|e| ImportError::Json {
        at: Location::Document,
        message: format!("{e}{hint}"),
    })
}

// ---------------------------------------------------------------------------------------
// From a hook's environment to a log line: shared by jhack and env-jsonl.

/// The databags a capture recorded during one hook, looked up by what `relation-get`
/// was asked.
pub(crate) trait Recorded {
    /// The remote application of `relation_id`, when the capture recorded it otherwise
    /// than in `JUJU_REMOTE_APP`.
    fn remote_app_name(&self, relation_id: u64) -> Option<String>;
    /// The databag of `member` (a unit, or an application when `is_app`) on
    /// `relation_id`, when the capture recorded it.
    fn databag(&self, relation_id: u64, member: &str, is_app: bool) -> Option<Bag>;
}

/// What one hook's capture gives besides its environment.
pub(crate) struct Facts<'r> {
    pub leader: Option<bool>,
    pub config: Option<Map<String, Value>>,
    pub recorded: &'r dyn Recorded,
}

/// Turns hook environments into log lines, remembering each relation's remote
/// application for hooks that do not name it (`relation-broken` on older Juju).
#[derive(Default)]
pub(crate) struct EnvConverter {
    pub out: Conversion,
    remote_apps: HashMap<u64, String>,
}

/// Hook environment variables Juju sets to the empty string when they do not apply.
fn env_var<'e>(env: &'e Bag, name: &str) -> Option<&'e str> {
    env.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

impl EnvConverter {
    /// Convert one hook. `env_path` names the environment in errors (`event.env`, `env`).
    pub fn hook(
        &mut self,
        at: &Location,
        env: &Bag,
        env_path: &str,
        facts: Facts<'_>,
    ) -> Result<(), ImportError> {
        let var = |name: &str| join(env_path, name);
        let dispatch = match env_var(env, "JUJU_DISPATCH_PATH") {
            None => None,
            Some(d) => Some(split_dispatch(d).ok_or_else(|| {
                field_err(
                    at,
                    &var("JUJU_DISPATCH_PATH"),
                    format!("`{d}` is neither `hooks/<hook>` nor `actions/<action>`"),
                )
            })?),
        };
        let action = match dispatch {
            Some(("actions", name)) => Some(name),
            _ => None,
        };
        if let Some(action) = env_var(env, "JUJU_ACTION_NAME").or(action) {
            self.out.note(
                at,
                format!("action `{action}` skipped: actions are not hooks, the hook log has no line for them"),
            );
            return Ok(());
        }
        let from_dispatch = dispatch.map(|(_, name)| name);
        let (name, name_field) = match (env_var(env, "JUJU_HOOK_NAME"), from_dispatch) {
            (Some(h), Some(d)) if h != d => {
                return Err(field_err(
                    at,
                    &var("JUJU_DISPATCH_PATH"),
                    format!("names hook `{d}` but JUJU_HOOK_NAME is `{h}`"),
                ))
            }
            (Some(h), _) => (h, "JUJU_HOOK_NAME"),
            (None, Some(d)) => (d, "JUJU_DISPATCH_PATH"),
            (None, None) => {
                return Err(field_err(
                    at,
                    &var("JUJU_HOOK_NAME"),
                    "missing (and no JUJU_DISPATCH_PATH to derive it from)",
                ))
            }
        };
        let (hook, endpoint) = Hook::parse(name).ok_or_else(|| {
            field_err(
                at,
                &var(name_field),
                format!("`{name}` is not a hook Juju runs"),
            )
        })?;
        let unit = env_var(env, "JUJU_UNIT_NAME")
            .ok_or_else(|| field_err(at, &var("JUJU_UNIT_NAME"), "missing"))?;

        let mut line = LogLine::new(name);
        line.unit = Some(unit.to_string());
        line.leader = facts.leader;
        line.config = facts.config;

        // Other endpoints' hooks (and non-relation hooks) carry only leader/config.
        if let (Some(endpoint), Endpoint::Source | Endpoint::Peer) = (endpoint, hook.endpoint) {
            let relation = env_var(env, "JUJU_RELATION").ok_or_else(|| {
                field_err(at, &var("JUJU_RELATION"), "missing on a relation hook")
            })?;
            if relation != endpoint {
                return Err(field_err(
                    at,
                    &var("JUJU_RELATION"),
                    format!("`{relation}` does not match the hook's endpoint `{endpoint}`"),
                ));
            }
            let raw_id = env_var(env, "JUJU_RELATION_ID").ok_or_else(|| {
                field_err(at, &var("JUJU_RELATION_ID"), "missing on a relation hook")
            })?;
            let id = parse_relation_id(raw_id, endpoint)
                .map_err(|m| field_err(at, &var("JUJU_RELATION_ID"), m))?;
            let remote_app = match env_var(env, "JUJU_REMOTE_APP") {
                Some(app) => app.to_string(),
                None => facts
                    .recorded
                    .remote_app_name(id)
                    .or_else(|| self.remote_apps.get(&id).cloned())
                    .or_else(|| {
                        // On the peer relation the remote application is this one.
                        (hook.endpoint == Endpoint::Peer)
                            .then(|| unit.split('/').next().unwrap_or(unit).to_string())
                    })
                    .ok_or_else(|| {
                        field_err(
                            at,
                            &var("JUJU_REMOTE_APP"),
                            format!("missing, and nothing earlier in the capture names relation {id}'s remote application"),
                        )
                    })?,
            };
            let remote_unit = env_var(env, "JUJU_REMOTE_UNIT").map(str::to_string);
            line.app_data = facts.recorded.databag(id, &remote_app, true);
            line.unit_data = remote_unit
                .as_deref()
                .and_then(|u| facts.recorded.databag(id, u, false));
            line.relation = Some(relation.to_string());
            line.relation_id = Some(id);
            line.remote_unit = remote_unit;
            line.departing_unit = env_var(env, "JUJU_DEPARTING_UNIT").map(str::to_string);
            self.remote_apps.insert(id, remote_app.clone());
            line.remote_app = Some(remote_app);
        }
        self.out.push(at, line)
    }
}

/// `hooks/<name>` or `actions/<name>` (also as the tail of an absolute path, which is what
/// `dispatch` passes on when Juju did not set the variable): (`hooks`|`actions`, name).
fn split_dispatch(path: &str) -> Option<(&str, &str)> {
    let mut parts = path.rsplit('/');
    let name = parts.next().filter(|n| !n.is_empty())?;
    match parts.next()? {
        kind @ ("hooks" | "actions") => Some((kind, name)),
        _ => None,
    }
}

/// The number in `JUJU_RELATION_ID` (`grafana-source:7` gives 7).
fn parse_relation_id(raw: &str, endpoint: &str) -> Result<u64, String> {
    let Some((name, number)) = raw.split_once(':') else {
        return Err(format!("`{raw}` is not `<endpoint>:<number>`"));
    };
    if name != endpoint {
        return Err(format!(
            "`{raw}` names endpoint `{name}`, not the hook's endpoint `{endpoint}`"
        ));
    }
    number
        .parse::<u64>()
        .map_err(|_| format!("`{raw}`: `{number}` is not a relation number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_quote_keys_that_need_it() {
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a", "b"), "a.b");
        assert_eq!(
            join("context.memos", "_ModelBackend.is_leader"),
            "context.memos[\"_ModelBackend.is_leader\"]"
        );
        assert_eq!(join("units", "p/0"), "units[\"p/0\"]");
        assert_eq!(index("calls", 2), "calls[2]");
    }

    #[test]
    fn dispatch_paths() {
        assert_eq!(split_dispatch("hooks/install"), Some(("hooks", "install")));
        assert_eq!(
            split_dispatch("/var/lib/juju/agents/unit-grafana-0/charm/hooks/start"),
            Some(("hooks", "start"))
        );
        assert_eq!(
            split_dispatch("actions/backup"),
            Some(("actions", "backup"))
        );
        assert_eq!(split_dispatch("install"), None);
        assert_eq!(split_dispatch("hooks/"), None);
        assert_eq!(split_dispatch("bin/install"), None);
    }

    #[test]
    fn relation_ids() {
        assert_eq!(
            parse_relation_id("grafana-source:7", "grafana-source"),
            Ok(7)
        );
        assert!(parse_relation_id("7", "grafana-source").is_err());
        assert!(parse_relation_id("grafana:7", "grafana-source").is_err());
        assert!(parse_relation_id("grafana-source:x", "grafana-source").is_err());
    }

    #[test]
    fn formats_round_trip_their_names() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
        }
        assert!("yaml".parse::<Format>().is_err());
    }
}
