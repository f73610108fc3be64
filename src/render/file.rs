//! The provisioning file: a [`Rendered`] written as the YAML the Grafana charm writes
//! (`yaml.dump` of its dict, read by Grafana), or as JSON.
//!
//! The file is serialised straight from the render's Python values, so nothing is lost on
//! the way: a float NaN or infinity (Python's `json.loads` reads `NaN` and `Infinity` in
//! a databag) is written `.nan`, `.inf` or `-.inf` in YAML, as PyYAML writes it; an int
//! stays an int, and a dict's int key an int key. A value the chosen format cannot hold is
//! refused with the place it sits ([`WriteError::Unwritable`]), never changed: JSON has no
//! NaN or infinity, and the YAML writer takes ints of up to 128 bits. (Step reports are a
//! different contract: strict JSON with such a float written `null`, docs/extensions.md.)
use super::{has_dollar_text, Rendered, Seq};
use crate::py::{PyInt, PyKey, PyValue};
use serde::ser::{Error as _, Serialize, SerializeMap, Serializer};
use std::borrow::Cow;

/// The provisioning file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Yaml,
    Json,
}

impl std::fmt::Display for FileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileFormat::Yaml => "YAML",
            FileFormat::Json => "JSON",
        })
    }
}

/// Errors writing a provisioning file.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A value the format cannot hold. `place` names it (a field path and the datasource
    /// or deletion it belongs to), `what` describes it without its value when it may be a
    /// secret (an int's digits are counted, not shown).
    #[error("the provisioning file holds {what} at {place}: {reason}")]
    Unwritable {
        place: String,
        what: String,
        reason: &'static str,
    },
    #[error("YAML serialisation failed: {0}")]
    Yaml(String),
    #[error("JSON serialisation failed: {0}")]
    Json(#[from] serde_json::Error),
}

/// Write the provisioning file of `r` in `format`. When `r.dollars_escaped` (`verified`)
/// every `$`, keys included, is written `$$` (Grafana interpolates environment variables
/// in provisioning files and reads `$$` as `$`); otherwise (`libpatch21`) values are
/// written as the reference charm wrote them. `prune` adds `prune: true` (Grafana 11.1+
/// then deletes provisioned datasources no file lists).
///
/// YAML goes through `serde-saphyr`, which quotes every string a YAML 1.1 or 1.2 reader
/// would take for another type (`yes`, `on`, `1_000`, `12:30:00`, ...).
///
/// ```
/// use grafana_source::render::{write_file, FileFormat};
/// use grafana_source::replay::replay_str;
/// use grafana_source::Profile;
/// let log = r#"{"hook": "install", "unit": "grafana/0", "leader": true}"#;
/// let reports = replay_str(log, Profile::Libpatch21).unwrap();
/// let rendered = reports[0].datasources.as_ref().unwrap();
/// let yaml = write_file(rendered, true, FileFormat::Yaml).unwrap();
/// assert_eq!(yaml, "apiVersion: 1\ndatasources: []\ndeleteDatasources: []\nprune: true\n");
/// ```
pub fn write_file(r: &Rendered, prune: bool, format: FileFormat) -> Result<String, WriteError> {
    if let Some(e) = unwritable(r, format) {
        return Err(e);
    }
    let file = File { r, prune, format };
    match format {
        FileFormat::Yaml => {
            serde_saphyr::to_string(&file).map_err(|e| WriteError::Yaml(e.to_string()))
        }
        FileFormat::Json => Ok(serde_json::to_string_pretty(&file)? + "\n"),
    }
}

/// The first value of `r` that `format` cannot hold, as the error naming it.
fn unwritable(r: &Rendered, format: FileFormat) -> Option<WriteError> {
    let error = |place: String, what: String| WriteError::Unwritable {
        place,
        what,
        reason: match format {
            FileFormat::Json => {
                "JSON has no such number (the YAML file writes it as the charm does)"
            }
            FileFormat::Yaml => {
                "the YAML writer takes ints of up to 128 bits (the JSON file writes it exactly)"
            }
        },
    };
    for (i, d) in r.datasources.iter().enumerate() {
        for (field, v) in d.fields() {
            let mut path = field.to_string();
            if let Some(what) = first_unwritable(v, format, &mut path) {
                let of = match &d.name {
                    PyValue::Str(name) => format!("datasource {i} (`{name}`)"),
                    _ => format!("datasource {i}"),
                };
                return Some(error(format!("`{path}` of {of}"), what));
            }
        }
    }
    for (i, name) in r.delete.iter().enumerate() {
        let mut path = "name".to_string();
        if let Some(what) = first_unwritable(name, format, &mut path) {
            return Some(error(format!("`{path}` of deletion {i}"), what));
        }
    }
    None
}

/// What in `v` `format` cannot hold, first in the file's order, described; `path` is
/// extended to it (and left as it was when there is none).
fn first_unwritable(v: &PyValue, format: FileFormat, path: &mut String) -> Option<String> {
    match v {
        PyValue::List(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = first_unwritable(item, format, path);
            if found.is_none() {
                path.truncate(len);
            }
            found
        }),
        PyValue::Dict(d) => d.iter().find_map(|(k, item)| {
            let len = path.len();
            match k {
                PyKey::Str(s) if is_plain_key(s) => {
                    path.push('.');
                    path.push_str(s);
                }
                PyKey::Str(s) => path.push_str(&format!("[{}]", serde_json::json!(&**s))),
                PyKey::Int(n) => path.push_str(&format!("[{n}]")),
            }
            let found = first_unwritable(item, format, path);
            if found.is_none() {
                path.truncate(len);
            }
            found
        }),
        scalar => unwritable_scalar(scalar, format),
    }
}

/// What `format` cannot hold of a scalar, described (the one rule, for the pre-scan and
/// the writer alike): in JSON a NaN or an infinity, in YAML an int past 128 bits.
fn unwritable_scalar(v: &PyValue, format: FileFormat) -> Option<String> {
    match (v, format) {
        (PyValue::Float(f), FileFormat::Json) if !f.is_finite() => Some(
            match (f.is_nan(), *f > 0.0) {
                (true, _) => "NaN",
                (false, true) => "infinity",
                (false, false) => "-infinity",
            }
            .to_string(),
        ),
        (PyValue::Int(PyInt::Big(text)), FileFormat::Yaml) if text.parse::<i128>().is_err() => {
            let digits = text.trim_start_matches('-').len();
            Some(format!("an int of {digits} digits"))
        }
        _ => None,
    }
}

/// Whether a key reads unambiguously after a `.` in a path.
fn is_plain_key(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The whole file.
struct File<'a> {
    r: &'a Rendered,
    prune: bool,
    format: FileFormat,
}

impl Serialize for File<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let value = |v| Value {
            v,
            escape: self.r.dollars_escaped,
            format: self.format,
        };
        let datasources = || {
            self.r.datasources.iter().map(move |d| FileDatasource {
                name: value(&d.name),
                source_type: value(&d.source_type),
                url: value(&d.url),
                json_data: d.json_data.as_ref().map(value),
                secure_json_data: d.secure_json_data.as_ref().map(value),
            })
        };
        let delete = || self.r.delete.iter().map(move |name| Deletion(value(name)));
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("apiVersion", &1)?;
        m.serialize_entry("datasources", &Seq(datasources))?;
        m.serialize_entry("deleteDatasources", &Seq(delete))?;
        if self.prune {
            m.serialize_entry("prune", &true)?;
        }
        m.end()
    }
}

/// One entry of `datasources`, in the charm's key order.
struct FileDatasource<'a> {
    name: Value<'a>,
    source_type: Value<'a>,
    url: Value<'a>,
    json_data: Option<Value<'a>>,
    secure_json_data: Option<Value<'a>>,
}

impl Serialize for FileDatasource<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("orgId", "1")?;
        m.serialize_entry("access", "proxy")?;
        m.serialize_entry("isDefault", "false")?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("type", &self.source_type)?;
        m.serialize_entry("url", &self.url)?;
        if let Some(j) = &self.json_data {
            m.serialize_entry("jsonData", j)?;
        }
        if let Some(j) = &self.secure_json_data {
            m.serialize_entry("secureJsonData", j)?;
        }
        m.end()
    }
}

/// One entry of `deleteDatasources`.
struct Deletion<'a>(Value<'a>);

impl Serialize for Deletion<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("orgId", &1)?;
        m.serialize_entry("name", &self.0)?;
        m.end()
    }
}

/// A Python value as the file holds it: its `$` doubled when `escape`.
#[derive(Clone, Copy)]
struct Value<'a> {
    v: &'a PyValue,
    escape: bool,
    format: FileFormat,
}

impl Value<'_> {
    fn text<'s>(&self, s: &'s str) -> Cow<'s, str> {
        if self.escape && has_dollar_text(s) {
            Cow::Owned(s.replace('$', "$$"))
        } else {
            Cow::Borrowed(s)
        }
    }
}

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let at = |v| Value { v, ..*self };
        // `write_file` refused such a value before writing; never written changed.
        if let Some(what) = unwritable_scalar(self.v, self.format) {
            return Err(S::Error::custom(format!(
                "{what}, which {} cannot hold",
                self.format
            )));
        }
        match (self.v, self.format) {
            (PyValue::None, _) => s.serialize_unit(),
            (PyValue::Bool(b), _) => s.serialize_bool(*b),
            (PyValue::Int(PyInt::Small(n)), _) => s.serialize_i64(*n),
            (PyValue::Int(PyInt::Big(text)), _) => match text.parse::<i128>() {
                Ok(n) => s.serialize_i128(n),
                // JSON: serde_json writes the digits as they are (`arbitrary_precision`).
                Err(_) => self.v.json_number().serialize(s),
            },
            (PyValue::Float(f), FileFormat::Yaml) => s.serialize_f64(*f),
            // Python's text of the float, as `json.dumps` writes it.
            (PyValue::Float(_), FileFormat::Json) => self.v.json_number().serialize(s),
            (PyValue::Str(t), _) => s.serialize_str(&self.text(t)),
            (PyValue::List(items), _) => s.collect_seq(items.iter().map(at)),
            (PyValue::Dict(d), _) => {
                let mut m = s.serialize_map(Some(d.len()))?;
                for (k, v) in d.iter() {
                    match k {
                        PyKey::Str(k) => m.serialize_entry(&*self.text(k), &at(v))?,
                        PyKey::Int(n) => m.serialize_entry(n, &at(v))?,
                    }
                }
                m.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::py::json;
    use crate::render::{Datasource, DatasourceList};

    /// A render of one datasource whose `jsonData` is `json_data` (Python JSON text),
    /// deleting `delete`.
    fn rendered(json_data: &str, delete: &[PyValue], escaped: bool) -> Rendered {
        rendered_with(json::loads(json_data).unwrap(), delete, escaped)
    }

    /// [`rendered`] with a `jsonData` value JSON text cannot give (int keys).
    fn rendered_with(json_data: PyValue, delete: &[PyValue], escaped: bool) -> Rendered {
        let text = |t: &str| PyValue::Str(t.into());
        let d = Datasource {
            name: text("ds"),
            source_type: text("prometheus"),
            url: text("http://a:9090"),
            json_data: Some(json_data),
            secure_json_data: None,
        };
        Rendered::new(
            DatasourceList::from_vec(vec![d]),
            delete.iter().cloned().collect(),
            escaped,
            None,
        )
    }

    #[test]
    fn ambiguous_scalars_stay_strings() {
        let words = r##"["yes", "on", "1_000", "12:30:00", "null", "~", "0x1F", ".inf", "1e3", "true", "", "- x", "#c", "a: b", "$HOME", "007", "0o17", "Yes", "NO", "y", "n", "=", "<<"]"##;
        let r = rendered(&format!(r#"{{"a": {words}}}"#), &[], false);
        let text = write_file(&r, false, FileFormat::Yaml).unwrap();
        let back: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let want: serde_json::Value = serde_json::from_str(words).unwrap();
        assert_eq!(back["datasources"][0]["jsonData"]["a"], want, "{text}");
    }

    /// Keys a YAML reader would take for another type are quoted, and int keys stay ints.
    #[test]
    fn ambiguous_keys_stay_strings() {
        let keys = [
            "true", "no", "null", "~", "1", "0x1F", "1e3", ".nan", "<<", "? x", "a: b", "- x", "",
        ];
        let mut d = crate::py::PyDict::default();
        for (n, k) in keys.iter().enumerate() {
            d.insert(
                PyKey::Str((*k).into()),
                PyValue::Int(PyInt::Small(n as i64)),
            );
        }
        d.insert(PyKey::Int(7), PyValue::None);
        let r = rendered_with(PyValue::dict(d), &[], false);
        let text = write_file(&r, false, FileFormat::Yaml).unwrap();
        for (n, k) in keys.iter().enumerate() {
            let quoted = serde_json::to_string(k).unwrap();
            assert!(
                text.contains(&format!("\n    {quoted}: {n}\n")),
                "{k:?}\n{text}"
            );
        }
        assert!(text.contains("\n    7: null\n"), "an int key: {text}");
    }

    /// Floats JSON has no number for are written as PyYAML writes them, and read back by a
    /// YAML reader as the same floats.
    #[test]
    fn yaml_keeps_nan_and_infinities() {
        let r = rendered(r#"{"x": NaN, "y": -Infinity, "z": [Infinity]}"#, &[], false);
        let text = write_file(&r, false, FileFormat::Yaml).unwrap();
        assert!(text.contains("x: .nan\n"), "{text}");
        assert!(text.contains("\"y\": -.inf\n"), "{text}");
        assert!(text.contains("- .inf\n"), "{text}");
        #[derive(serde::Deserialize)]
        struct Back {
            x: f64,
            y: f64,
            z: Vec<f64>,
        }
        #[derive(serde::Deserialize)]
        struct D {
            #[serde(rename = "jsonData")]
            json_data: Back,
        }
        #[derive(serde::Deserialize)]
        struct F {
            datasources: Vec<D>,
        }
        let back: F = serde_saphyr::from_str(&text).unwrap();
        let b = &back.datasources[0].json_data;
        assert!(b.x.is_nan());
        assert_eq!((b.y, b.z[0]), (f64::NEG_INFINITY, f64::INFINITY));
    }

    #[test]
    fn json_refuses_nan_and_names_its_place() {
        let r = rendered(r#"{"a": {"odd key": [1, NaN]}}"#, &[], false);
        let e = write_file(&r, false, FileFormat::Json)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "the provisioning file holds NaN at `jsonData.a[\"odd key\"][1]` of datasource 0 \
             (`ds`): JSON has no such number (the YAML file writes it as the charm does)"
        );
        let r = rendered("{}", &[PyValue::Float(f64::NEG_INFINITY)], false);
        let e = write_file(&r, false, FileFormat::Json)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("the provisioning file holds -infinity at `name` of deletion 0:"),
            "{e}"
        );
        assert!(write_file(&r, false, FileFormat::Yaml).is_ok());
    }

    /// Ints are exact in both formats up to 128 bits; past that, JSON writes the digits and
    /// YAML refuses, counting the digits instead of showing them.
    #[test]
    fn big_ints_are_exact_or_refused() {
        let i128_max = i128::MAX.to_string();
        let big = format!("1{}", "0".repeat(45));
        let r = rendered(
            &format!(r#"{{"a": {i128_max}, "b": -{i128_max}}}"#),
            &[],
            false,
        );
        for format in [FileFormat::Yaml, FileFormat::Json] {
            let text = write_file(&r, false, format).unwrap();
            assert!(text.contains(&format!("-{i128_max}")), "{format}: {text}");
        }
        let r = rendered(
            &format!(r#"{{"timeout": 1, "secret": [{big}]}}"#),
            &[],
            false,
        );
        let json = write_file(&r, false, FileFormat::Json).unwrap();
        assert!(json.contains(&big), "{json}");
        let e = write_file(&r, false, FileFormat::Yaml)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "the provisioning file holds an int of 46 digits at `jsonData.secret[0]`"
            ),
            "{e}"
        );
        assert!(!e.contains(&big), "{e}");
    }

    /// `verified` doubles every `$`, keys included; `libpatch21` writes values as they are.
    #[test]
    fn dollars_are_doubled_only_where_the_profile_escapes() {
        let data = r#"{"$k": "a$b", "n": ["$"]}"#;
        let escaped = write_file(&rendered(data, &[], true), false, FileFormat::Json).unwrap();
        let plain = write_file(&rendered(data, &[], false), false, FileFormat::Json).unwrap();
        let j: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(
            j["datasources"][0]["jsonData"],
            serde_json::json!({"$$k": "a$$b", "n": ["$$"]})
        );
        let j: serde_json::Value = serde_json::from_str(&plain).unwrap();
        assert_eq!(
            j["datasources"][0]["jsonData"],
            serde_json::json!({"$k": "a$b", "n": ["$"]})
        );
    }

    /// The JSON file is the step report's `datasources` (spec section 2) where both can
    /// hold the values, and `prune` comes last.
    #[test]
    fn json_file_is_the_report_shape() {
        let r = rendered(
            r#"{"timeout": 300, "f": 1e16, "g": 0.1}"#,
            &[PyValue::Str("gone".into())],
            false,
        );
        let text = write_file(&r, false, FileFormat::Json).unwrap();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r.to_json());
        assert!(text.contains("1e+16"), "Python's text of the float: {text}");
        let pruned = write_file(&r, true, FileFormat::Json).unwrap();
        assert!(pruned.ends_with("  \"prune\": true\n}\n"), "{pruned}");
    }
}
