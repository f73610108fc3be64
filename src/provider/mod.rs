//! The provider side of `grafana-source`: what a datasource charm writes, as a pure fold.
//!
//! The reference's `GrafanaSourceProvider` is built anew in every hook (ops constructs the
//! charm for each dispatch) from the arguments the charm passes. [`ProviderArgs`] are those
//! arguments, plus what the provider reads from Juju that does not change (model name and
//! uuid, application name, the charm's containers); [`ProviderConfig::new`] applies the
//! constructor's rules and returns its log warnings as data ([`Warning`]).
//!
//! A provider unit's log ([`log`], documented in `docs/provider.md`) is folded step by step
//! with [`fold::step`]: the unit's own Juju state (leader, host name, which relations of the
//! endpoint exist) plus the databags it has written, the application databag's
//! `grafana_source_data` (leader only) and the unit databag's `grafana_source_host`.
//!
//! ```
//! use grafana_source::provider::{ProviderArgs, ProviderConfig, fold::ProviderFold};
//! let mut args = ProviderArgs::new("lma", "1234", "prometheus", "prometheus");
//! args.source_port = grafana_source::py::PyValue::Str("9090".into());
//! args.containers = vec!["prometheus".into()];
//! let (config, warnings) = ProviderConfig::new(&args).unwrap();
//! assert!(warnings.is_empty());
//! assert_eq!(config.refresh_events(), ["prometheus-pebble-ready"]);
//! let reports = ProviderFold::new(config)
//!     .run_str(concat!(
//!         r#"{"hook": "install", "unit": "prometheus/0", "leader": true, "fqdn": "p-0.lma"}"#, "\n",
//!         r#"{"hook": "grafana-source-relation-joined", "relation_id": 3}"#, "\n",
//!     ))
//!     .unwrap();
//! let last = &reports[1];
//! assert_eq!(&*last.unit_data[&3]["grafana_source_host"], "http://p-0.lma:9090");
//! assert_eq!(
//!     &*last.app_data[&3]["grafana_source_data"],
//!     r#"{"model": "lma", "model_uuid": "1234", "application": "prometheus", "type": "prometheus", "extra_fields": null, "secure_extra_fields": null}"#
//! );
//! ```
use crate::log::Hook;
use crate::metadata::{CharmMetadata, RelationError, RelationRole, DEFAULT_RELATION_NAME};
use crate::py::{self, PyKey, PyValue};
use serde::{Deserialize, Deserializer};
use std::fmt;

pub mod fold;
pub mod log;

/// The application databag key the leader writes (`json.dumps` of the scrape data).
pub const SOURCE_DATA_KEY: &str = "grafana_source_data";
/// The unit databag key every unit writes (its URL).
pub const SOURCE_HOST_KEY: &str = "grafana_source_host";

/// The arguments a charm gives `GrafanaSourceProvider(...)`, and what the provider reads
/// from the model. Build with [`ProviderArgs::new`] (the reference's defaults) or read a
/// JSON file with [`ProviderArgs::from_json_str`].
#[derive(Clone)]
pub struct ProviderArgs {
    /// `charm.model.name`.
    pub model: String,
    /// `charm.model.uuid`.
    pub model_uuid: String,
    /// `charm.model.app.name`.
    pub application: String,
    /// `source_type`: Grafana's datasource type (`prometheus`, `loki`, `alertmanager`,
    /// `mimir`, ...).
    pub source_type: String,
    /// `source_port`: any Python value, formatted with `str()` into the host URL. The
    /// reference's default is `""` (which gives `http://{fqdn}:`).
    pub source_port: PyValue,
    /// `source_url`: `None` and `""` both mean none (the reference's default is `""`).
    pub source_url: Option<String>,
    /// `relation_name`: the endpoint (default `grafana-source`).
    pub relation_name: String,
    /// `refresh_event`: hook names that refresh the unit's address. `None` or empty: the
    /// `<container>-pebble-ready` hook when the charm has exactly one container, else none.
    pub refresh_event: Option<Vec<String>>,
    /// `extra_fields` (Grafana's `jsonData`), usually a dict; default `None`.
    pub extra_fields: PyValue,
    /// `secure_extra_fields` (Grafana's `secureJsonData`), usually a dict; default `None`.
    pub secure_extra_fields: PyValue,
    /// The charm's containers (`charm.meta.containers`), for the default refresh event.
    pub containers: Vec<String>,
}

/// Secrets stay out of debug output: `secure_extra_fields` shows as its type only.
impl fmt::Debug for ProviderArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderArgs")
            .field("model", &self.model)
            .field("model_uuid", &self.model_uuid)
            .field("application", &self.application)
            .field("source_type", &self.source_type)
            .field("source_port", &self.source_port)
            .field("source_url", &self.source_url)
            .field("relation_name", &self.relation_name)
            .field("refresh_event", &self.refresh_event)
            .field("extra_fields", &self.extra_fields)
            .field("secure_extra_fields", &redacted(&self.secure_extra_fields))
            .field("containers", &self.containers)
            .finish()
    }
}

fn redacted(v: &PyValue) -> String {
    format!("<redacted {}>", v.type_name())
}

/// A JSON field that was given, even as `null` (absent stays `None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// `refresh_event`: one hook name or a list of them, as the reference takes one event or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawRefresh {
    One(String),
    Many(Vec<String>),
}

/// The configuration file's shape (see `docs/provider.md`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArgs {
    model: String,
    model_uuid: String,
    application: String,
    source_type: String,
    #[serde(default, deserialize_with = "present")]
    source_port: Option<serde_json::Value>,
    #[serde(default)]
    source_url: Option<String>,
    #[serde(default)]
    relation_name: Option<String>,
    #[serde(default)]
    refresh_event: Option<RawRefresh>,
    #[serde(default)]
    extra_fields: Option<serde_json::Value>,
    #[serde(default)]
    secure_extra_fields: Option<serde_json::Value>,
    #[serde(default)]
    containers: Vec<String>,
}

/// Why a provider cannot be configured (the constructor would raise, or the file is bad).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file is not JSON.
    #[error("not valid JSON: {message}")]
    Json {
        /// The parser's message.
        message: String,
    },
    /// A field of the configuration file is missing or has the wrong type.
    #[error("field `{field}`: {message}")]
    Field {
        /// The field's path (`extra_fields`, `refresh_event`, ...).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A refresh event that is not a Juju hook name.
    #[error("field `refresh_event`: `{name}` is not a Juju hook name")]
    UnknownRefreshEvent {
        /// The name given.
        name: String,
    },
    /// `source_type` is `alertmanager` and `extra_fields` is truthy but not a dict: the
    /// reference's `extra_fields.get(...)` raises `AttributeError`.
    #[error("AttributeError: `extra_fields` is a `{type_name}`, which has no attribute 'get' (source_type alertmanager)")]
    ExtraFieldsNotADict {
        /// Python's name of the type given.
        type_name: &'static str,
    },
    /// The endpoint fails the reference's metadata check.
    #[error(transparent)]
    Relation(#[from] RelationError),
}

impl ProviderArgs {
    /// The reference's defaults: `source_port=""`, `source_url=""`, relation
    /// `grafana-source`, no refresh event, no extra fields, no containers.
    pub fn new(
        model: impl Into<String>,
        model_uuid: impl Into<String>,
        application: impl Into<String>,
        source_type: impl Into<String>,
    ) -> Self {
        ProviderArgs {
            model: model.into(),
            model_uuid: model_uuid.into(),
            application: application.into(),
            source_type: source_type.into(),
            source_port: PyValue::Str("".into()),
            source_url: Some(String::new()),
            relation_name: DEFAULT_RELATION_NAME.to_string(),
            refresh_event: None,
            extra_fields: PyValue::None,
            secure_extra_fields: PyValue::None,
            containers: Vec::new(),
        }
    }

    /// Read a configuration file (one JSON object; see `docs/provider.md`). Unknown fields
    /// are refused; errors name the field.
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let raw: RawArgs = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                return ConfigError::Json {
                    message: inner.to_string(),
                };
            }
            let message = inner.to_string();
            let message = match message.rfind(" at line ") {
                Some(i) => message[..i].to_string(),
                None => message,
            };
            // A missing field is reported at the object that lacks it; name the field.
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|m| m.strip_suffix('`'));
            let field = match (field.as_str(), missing) {
                (".", Some(name)) => name.to_string(),
                (".", None) => "(top level)".to_string(),
                _ => field,
            };
            ConfigError::Field { field, message }
        })?;
        de.end().map_err(|e| ConfigError::Json {
            message: e.to_string(),
        })?;
        let value =
            |v: Option<serde_json::Value>| v.as_ref().map_or(PyValue::None, PyValue::from_json);
        Ok(ProviderArgs {
            model: raw.model,
            model_uuid: raw.model_uuid,
            application: raw.application,
            source_type: raw.source_type,
            source_port: raw
                .source_port
                .as_ref()
                .map_or(PyValue::Str("".into()), PyValue::from_json),
            source_url: raw.source_url,
            relation_name: raw
                .relation_name
                .unwrap_or_else(|| DEFAULT_RELATION_NAME.to_string()),
            refresh_event: raw.refresh_event.map(|r| match r {
                RawRefresh::One(s) => vec![s],
                RawRefresh::Many(v) => v,
            }),
            extra_fields: value(raw.extra_fields),
            secure_extra_fields: value(raw.secure_extra_fields),
            containers: raw.containers,
        })
    }
}

/// What the reference logs as a warning while configuring itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// Both `source_port` and `source_url` are truthy: the URL is used.
    PortIgnored {
        /// `str(source_port)`.
        port: String,
        /// The `source_url` given.
        url: String,
    },
    /// A `source_url` without `scheme://` (Python `^\w+://`) got `http://`.
    SchemeAdded {
        /// The URL given.
        given: String,
        /// The URL used.
        url: String,
    },
}

impl fmt::Display for Warning {
    /// The reference's log message, with the values in question appended.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::PortIgnored { port, url } => write!(
                f,
                "Both `source_port` and `source_url` were specified! Using `source_url` as the \
                 address. (source_port {port:?}, source_url {url:?})"
            ),
            Warning::SchemeAdded { given, url } => write!(
                f,
                "'source_url' should start with a scheme, such as 'http://'. Assuming 'http://' \
                 since none is present. ({given:?} becomes {url:?})"
            ),
        }
    }
}

/// The reference's `_sanitize_source_url`: a non-empty URL that does not match `^\w+://`
/// gets `http://` prepended, with a warning. `None` stays `""` (both are falsy there).
pub fn sanitize_source_url(url: Option<&str>, warnings: &mut Vec<Warning>) -> String {
    match url {
        Some(u) if !u.is_empty() && !py::match_word_scheme(u) => {
            let fixed = format!("http://{u}");
            warnings.push(Warning::SchemeAdded {
                given: u.to_string(),
                url: fixed.clone(),
            });
            fixed
        }
        Some(u) => u.to_string(),
        None => String::new(),
    }
}

/// A configured `GrafanaSourceProvider`: the constructor's rules applied.
#[derive(Clone)]
pub struct ProviderConfig {
    args: ProviderArgs,
    extra_fields: PyValue,
    refresh_events: Vec<String>,
    source_url: String,
    warnings: Vec<Warning>,
}

/// Secrets stay out of debug output.
impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("args", &self.args)
            .field("extra_fields", &self.extra_fields)
            .field("refresh_events", &self.refresh_events)
            .field("source_url", &self.source_url)
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl ProviderConfig {
    /// The constructor, in the reference's order: `alertmanager`'s default
    /// `extra_fields.implementation`, the refresh events, the port-and-URL warning, then the
    /// URL's scheme. Returns the warnings the reference logs, in its order.
    ///
    /// `alertmanager`: a falsy `extra_fields` becomes `{"implementation": "prometheus"}`; a
    /// dict whose `implementation` is absent or falsy gets it set to `"prometheus"` (in place,
    /// so an existing key keeps its position, as the reference's mutation of the caller's
    /// dict does); any other truthy value raises `AttributeError`
    /// ([`ConfigError::ExtraFieldsNotADict`]).
    pub fn new(args: &ProviderArgs) -> Result<(ProviderConfig, Vec<Warning>), ConfigError> {
        let mut extra_fields = args.extra_fields.clone();
        if args.source_type == "alertmanager" {
            let implementation = || PyValue::Str("prometheus".into());
            if !extra_fields.truthy() {
                extra_fields = PyValue::dict(
                    [(PyKey::Str("implementation".into()), implementation())]
                        .into_iter()
                        .collect(),
                );
            } else {
                match &mut extra_fields {
                    PyValue::Dict(d) => {
                        let key = PyKey::Str("implementation".into());
                        if !d.get(&key).is_some_and(PyValue::truthy) {
                            std::sync::Arc::make_mut(d).insert(key, implementation());
                        }
                    }
                    other => {
                        return Err(ConfigError::ExtraFieldsNotADict {
                            type_name: other.type_name(),
                        })
                    }
                }
            }
        }

        let refresh_events: Vec<String> = match &args.refresh_event {
            Some(events) if !events.is_empty() => {
                for name in events {
                    if Hook::parse(name).is_none() {
                        return Err(ConfigError::UnknownRefreshEvent { name: name.clone() });
                    }
                }
                events.clone()
            }
            _ => match args.containers.as_slice() {
                [container] => vec![format!("{container}-pebble-ready")],
                _ => Vec::new(),
            },
        };

        let (source_url, warnings) = construct_url(&args.source_port, args.source_url.as_deref());
        let config = ProviderConfig {
            args: args.clone(),
            extra_fields,
            refresh_events,
            source_url,
            warnings: warnings.clone(),
        };
        Ok((config, warnings))
    }

    /// [`Self::new`] after the reference's first step, the metadata check: the endpoint
    /// must exist, have interface `grafana_datasource` (or none) and be one the charm
    /// `provides`. The containers come from the metadata.
    pub fn with_metadata(
        args: &ProviderArgs,
        meta: &CharmMetadata,
    ) -> Result<(ProviderConfig, Vec<Warning>), ConfigError> {
        meta.validate_grafana_source(&args.relation_name, RelationRole::Provides)?;
        let mut args = args.clone();
        args.containers = meta.containers.clone();
        Self::new(&args)
    }

    /// The arguments this was built from.
    pub fn args(&self) -> &ProviderArgs {
        &self.args
    }

    /// The endpoint (`relation_name`).
    pub fn relation_name(&self) -> &str {
        &self.args.relation_name
    }

    /// `source_type`.
    pub fn source_type(&self) -> &str {
        &self.args.source_type
    }

    /// `extra_fields` after the `alertmanager` rule.
    pub fn extra_fields(&self) -> &PyValue {
        &self.extra_fields
    }

    /// `secure_extra_fields`, as given.
    pub fn secure_extra_fields(&self) -> &PyValue {
        &self.args.secure_extra_fields
    }

    /// The hook names that refresh the unit's address.
    pub fn refresh_events(&self) -> &[String] {
        &self.refresh_events
    }

    /// The sanitised `source_url` (`""` when none).
    pub fn source_url(&self) -> &str {
        &self.source_url
    }

    /// The warnings the constructor logs (in every hook, as it runs in every hook).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The reference's `_scrape_data`, key order included.
    pub fn scrape_data(&self) -> PyValue {
        let s = |v: &str| PyValue::Str(v.into());
        let entries = [
            ("model", s(&self.args.model)),
            ("model_uuid", s(&self.args.model_uuid)),
            ("application", s(&self.args.application)),
            ("type", s(&self.args.source_type)),
            ("extra_fields", self.extra_fields.clone()),
            ("secure_extra_fields", self.args.secure_extra_fields.clone()),
        ];
        PyValue::dict(
            entries
                .into_iter()
                .map(|(k, v)| (PyKey::Str(k.into()), v))
                .collect(),
        )
    }

    /// What the leader writes under [`SOURCE_DATA_KEY`]: `json.dumps(_scrape_data)`.
    pub fn source_data(&self) -> String {
        py::json::dumps(&self.scrape_data())
    }

    /// The URL `_set_unit_details` writes under [`SOURCE_HOST_KEY`] given the provider's
    /// current `source_url`: that URL, or `http://{fqdn}:{str(source_port)}` when it is
    /// empty; `mimir` appends `/prometheus`. `fqdn` is asked for only when needed.
    pub fn host_url<E>(
        &self,
        source_url: &str,
        fqdn: impl FnOnce() -> Result<String, E>,
    ) -> Result<String, E> {
        let url = if source_url.is_empty() {
            format!("http://{}:{}", fqdn()?, self.args.source_port.py_str())
        } else {
            source_url.to_string()
        };
        Ok(if self.args.source_type == "mimir" {
            format!("{url}/prometheus")
        } else {
            url
        })
    }
}

/// The constructor's URL handling: the port-and-URL warning (on the URL as given), then
/// [`sanitize_source_url`].
fn construct_url(port: &PyValue, url: Option<&str>) -> (String, Vec<Warning>) {
    let mut warnings = Vec::new();
    if let Some(u) = url.filter(|u| !u.is_empty() && port.truthy()) {
        warnings.push(Warning::PortIgnored {
            port: port.py_str(),
            url: u.to_string(),
        });
    }
    let url = sanitize_source_url(url, &mut warnings);
    (url, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(source_type: &str) -> ProviderArgs {
        ProviderArgs::new("m", "u", "app", source_type)
    }

    fn dict(json: &str) -> PyValue {
        py::json::loads(json).unwrap()
    }

    #[test]
    fn alertmanager_implementation_rules() {
        let ef = |given: PyValue| {
            let mut a = args("alertmanager");
            a.extra_fields = given;
            ProviderConfig::new(&a)
                .map(|(c, _)| py::json::dumps(c.extra_fields()))
                .map_err(|e| e.to_string())
        };
        let want = r#"{"implementation": "prometheus"}"#;
        assert_eq!(ef(PyValue::None).unwrap(), want);
        assert_eq!(ef(dict("{}")).unwrap(), want);
        assert_eq!(ef(dict("[]")).unwrap(), want);
        assert_eq!(ef(dict("0")).unwrap(), want);
        assert_eq!(
            ef(dict(r#"{"implementation": "", "a": 1}"#)).unwrap(),
            r#"{"implementation": "prometheus", "a": 1}"#
        );
        assert_eq!(
            ef(dict(r#"{"a": 1}"#)).unwrap(),
            r#"{"a": 1, "implementation": "prometheus"}"#
        );
        assert_eq!(
            ef(dict(r#"{"implementation": "cortex"}"#)).unwrap(),
            r#"{"implementation": "cortex"}"#
        );
        assert!(ef(dict("[1]")).unwrap_err().contains("AttributeError"));
        // Other types are left alone.
        let mut a = args("prometheus");
        a.extra_fields = dict("[1]");
        assert_eq!(
            py::json::dumps(ProviderConfig::new(&a).unwrap().0.extra_fields()),
            "[1]"
        );
    }

    #[test]
    fn url_rules_and_warnings() {
        let mut a = args("x");
        a.source_port = dict("9090");
        a.source_url = Some("1.2.3.4/v1".into());
        let (c, w) = ProviderConfig::new(&a).unwrap();
        assert_eq!(c.source_url(), "http://1.2.3.4/v1");
        assert!(matches!(
            w.as_slice(),
            [Warning::PortIgnored { .. }, Warning::SchemeAdded { .. }]
        ));
        assert_eq!(
            c.host_url::<()>(c.source_url(), || panic!("no fqdn needed")),
            Ok("http://1.2.3.4/v1".to_string())
        );
        // `0` is a falsy port: no warning; `^\w+://` accepts any word scheme.
        a.source_port = dict("0");
        a.source_url = Some("grpc://x".into());
        let (c, w) = ProviderConfig::new(&a).unwrap();
        assert!(w.is_empty());
        assert_eq!(c.source_url(), "grpc://x");
        // No URL: fqdn and str(port), the default port being "".
        let c = ProviderConfig::new(&args("mimir")).unwrap().0;
        assert_eq!(
            c.host_url::<()>("", || Ok("h".into())),
            Ok("http://h:/prometheus".into())
        );
    }

    #[test]
    fn default_refresh_event_needs_exactly_one_container() {
        let mut a = args("x");
        assert!(ProviderConfig::new(&a)
            .unwrap()
            .0
            .refresh_events()
            .is_empty());
        a.containers = vec!["my-app".into()];
        assert_eq!(
            ProviderConfig::new(&a).unwrap().0.refresh_events(),
            ["my-app-pebble-ready"]
        );
        a.refresh_event = Some(vec![]);
        assert_eq!(
            ProviderConfig::new(&a).unwrap().0.refresh_events(),
            ["my-app-pebble-ready"]
        );
        a.containers.push("b".into());
        a.refresh_event = None;
        assert!(ProviderConfig::new(&a)
            .unwrap()
            .0
            .refresh_events()
            .is_empty());
        a.refresh_event = Some(vec!["config-changed".into(), "nope".into()]);
        assert_eq!(
            ProviderConfig::new(&a).unwrap_err(),
            ConfigError::UnknownRefreshEvent {
                name: "nope".into()
            }
        );
    }

    #[test]
    fn config_file_is_strict_and_keeps_python_values() {
        let a = ProviderArgs::from_json_str(
            r#"{"model": "m", "model_uuid": "u", "application": "a", "source_type": "t",
                "source_port": null, "refresh_event": "update-status",
                "extra_fields": {"timeout": 1.0, "big": 123456789012345678901234567890}}"#,
        )
        .unwrap();
        assert!(matches!(a.source_port, PyValue::None));
        assert_eq!(a.refresh_event, Some(vec!["update-status".to_string()]));
        let c = ProviderConfig::new(&a).unwrap().0;
        assert_eq!(
            c.source_data(),
            r#"{"model": "m", "model_uuid": "u", "application": "a", "type": "t", "extra_fields": {"timeout": 1.0, "big": 123456789012345678901234567890}, "secure_extra_fields": null}"#
        );
        assert_eq!(
            c.host_url::<()>("", || Ok("h".into())),
            Ok("http://h:None".into())
        );
        let e = ProviderArgs::from_json_str(r#"{"model": "m"}"#).unwrap_err();
        assert!(
            matches!(&e, ConfigError::Field { field, .. } if field == "model_uuid"),
            "{e}"
        );
        let e = ProviderArgs::from_json_str("[1]").unwrap_err();
        assert!(matches!(&e, ConfigError::Field { .. }), "{e}");
        let e = ProviderArgs::from_json_str("{").unwrap_err();
        assert!(matches!(&e, ConfigError::Json { .. }), "{e}");
        let e = ProviderArgs::from_json_str(
            r#"{"model": "m", "model_uuid": "u", "application": "a", "source_type": "t", "colour": 1}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
        let e = ProviderArgs::from_json_str(
            r#"{"model": "m", "model_uuid": "u", "application": "a", "source_type": 5}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&e, ConfigError::Field { field, .. } if field == "source_type"),
            "{e}"
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let mut a = args("x");
        a.secure_extra_fields = dict(r#"{"password": "hunter2"}"#);
        let (c, _) = ProviderConfig::new(&a).unwrap();
        assert!(!format!("{a:?}{c:?}").contains("hunter2"));
    }
}
