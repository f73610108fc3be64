//! The provider log: JSON Lines, one hook (or one call of `update_source`) as one unit of a
//! datasource charm saw it. The format is documented in `docs/provider.md`.
//!
//! Parsing is strict, as for the consumer's hook log ([`crate::log`]): unknown fields and
//! hook names are refused, and every error is a [`LogError`] naming the line and the field.
//!
//! ```
//! use grafana_source::provider::log::{parse_line, Action};
//! let e = parse_line(1, r#"{"hook": "grafana-source-relation-joined", "relation_id": 4, "leader": true}"#).unwrap();
//! assert!(matches!(e.action, Action::Hook { relation: Some((_, 4)), .. }));
//! let e = parse_line(2, r#"{"op": "update_source", "url": "ingress.example/prom"}"#).unwrap();
//! assert!(matches!(e.action, Action::UpdateSource { url: Some(_) }));
//! ```
use crate::log::{Hook, LogError};
use serde::{Deserialize, Deserializer};
use std::io::BufRead;
use std::sync::Arc;

/// The only operation a line can name: the charm calls `update_source(url)`.
pub const OP_UPDATE_SOURCE: &str = "update_source";

/// What a line makes happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Juju runs a hook. `relation` is `(endpoint, relation id)` for relation hooks.
    Hook {
        /// The hook.
        hook: Hook,
        /// The relation of a relation hook: its endpoint and id.
        relation: Option<(Arc<str>, u64)>,
    },
    /// The charm calls `update_source(source_url=url)` (in a hook the library does not
    /// otherwise observe). `None` is the call without an argument (or with `None`).
    UpdateSource {
        /// The argument; absent and `null` both give `None`.
        url: Option<String>,
    },
}

/// One line of a provider log, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEntry {
    /// 1-based line number in the log.
    pub line: u64,
    /// The hook or operation.
    pub action: Action,
    /// This unit's name (`JUJU_UNIT_NAME`), when given (sticky; reported, not used).
    pub unit: Option<Arc<str>>,
    /// `is-leader` from this line on (sticky, initially `false`).
    pub leader: Option<bool>,
    /// What `socket.getfqdn()` returns from this line on (sticky).
    pub fqdn: Option<Arc<str>>,
    /// The `source_url` the charm passes to the constructor from this line on (sticky;
    /// initially the configuration's).
    pub source_url: Option<String>,
}

/// A field that was given, even as `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The wire shape of a line. Unknown fields are refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    #[serde(default)]
    hook: Option<String>,
    #[serde(default)]
    op: Option<String>,
    #[serde(default, deserialize_with = "present")]
    url: Option<Option<String>>,
    #[serde(default)]
    relation_id: Option<u64>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    leader: Option<bool>,
    #[serde(default)]
    fqdn: Option<String>,
    #[serde(default)]
    source_url: Option<String>,
}

/// Parse one line (without its newline) of a provider log.
pub fn parse_line(line: u64, text: &str) -> Result<ProviderEntry, LogError> {
    let field_err = |field: &str, message: &str| LogError::Field {
        line,
        field: field.to_string(),
        message: message.to_string(),
    };
    let raw: RawLine = crate::log::deserialize_line(line, text)?;

    let action = match (raw.hook, raw.op) {
        (Some(_), Some(_)) => return Err(field_err("op", "a line has `hook` or `op`, not both")),
        (None, None) => return Err(field_err("hook", "missing (a line has `hook` or `op`)")),
        (None, Some(op)) => {
            if op != OP_UPDATE_SOURCE {
                return Err(field_err(
                    "op",
                    &format!("unknown operation `{op}` (expected `{OP_UPDATE_SOURCE}`)"),
                ));
            }
            if raw.relation_id.is_some() {
                return Err(field_err("relation_id", "only relation hooks carry it"));
            }
            Action::UpdateSource {
                url: raw.url.flatten(),
            }
        }
        (Some(name), None) => {
            if raw.url.is_some() {
                return Err(field_err("url", "only `op` lines carry it"));
            }
            let (hook, endpoint) = Hook::parse(&name)
                .ok_or_else(|| field_err("hook", &format!("unknown hook kind `{name}`")))?;
            let relation = match (endpoint, raw.relation_id) {
                (Some(ep), Some(id)) => Some((Arc::from(ep), id)),
                (Some(_), None) => {
                    return Err(field_err("relation_id", "missing on a relation hook"))
                }
                (None, Some(_)) => {
                    return Err(field_err(
                        "relation_id",
                        &format!("only relation hooks carry it, not `{name}`"),
                    ))
                }
                (None, None) => None,
            };
            Action::Hook { hook, relation }
        }
    };
    Ok(ProviderEntry {
        line,
        action,
        unit: raw.unit.map(Arc::from),
        leader: raw.leader,
        fqdn: raw.fqdn.map(Arc::from),
        source_url: raw.source_url,
    })
}

/// Streams provider log entries from a reader, one line at a time, with a reused line
/// buffer; blank lines are skipped, and the first error ends the stream.
pub type ProviderLogReader<R> = crate::log::LineParser<R, ProviderEntry>;

impl<R: BufRead> ProviderLogReader<R> {
    /// A reader over `reader`'s lines.
    pub fn new(reader: R) -> Self {
        Self::with_parser(reader, parse_line)
    }
}

/// Parse a whole provider log held in memory.
pub fn parse_str(text: &str) -> Result<Vec<ProviderEntry>, LogError> {
    ProviderLogReader::new(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(text: &str) -> String {
        match parse_line(7, text).unwrap_err() {
            LogError::Field { line: 7, field, .. } => field,
            e => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn errors_name_line_and_field() {
        assert_eq!(field(r#"{"leader": true}"#), "hook");
        assert_eq!(field(r#"{"hook": "install", "op": "update_source"}"#), "op");
        assert_eq!(field(r#"{"op": "add_source"}"#), "op");
        assert_eq!(field(r#"{"hook": "install", "url": "x"}"#), "url");
        assert_eq!(
            field(r#"{"hook": "install", "relation_id": 1}"#),
            "relation_id"
        );
        assert_eq!(
            field(r#"{"op": "update_source", "relation_id": 1}"#),
            "relation_id"
        );
        assert_eq!(
            field(r#"{"hook": "grafana-source-relation-joined"}"#),
            "relation_id"
        );
        assert_eq!(field(r#"{"hook": "frobnicate"}"#), "hook");
        assert_eq!(field(r#"{"hook": "install", "leader": "yes"}"#), "leader");
        assert_eq!(field(r#"{"hook": "install", "fqdn": 1}"#), "fqdn");
        let e = parse_line(7, r#"{"hook": "install", "colour": 1}"#).unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
        assert!(matches!(
            parse_line(7, r#"{"hook": "#),
            Err(LogError::Json { line: 7, .. })
        ));
    }

    #[test]
    fn url_absent_null_or_given() {
        let url = |t: &str| match parse_line(1, t).unwrap().action {
            Action::UpdateSource { url } => url,
            a => panic!("{a:?}"),
        };
        assert_eq!(url(r#"{"op": "update_source"}"#), None);
        assert_eq!(url(r#"{"op": "update_source", "url": null}"#), None);
        assert_eq!(
            url(r#"{"op": "update_source", "url": "h:1"}"#).as_deref(),
            Some("h:1")
        );
    }

    #[test]
    fn reader_counts_physical_lines_and_stops_at_the_first_error() {
        let text = "{\"hook\": \"install\"}\n\n{\"hook\": \"start\"}\r\n{\"hook\": 5}\n{\"hook\": \"stop\"}\n";
        let got: Vec<_> = ProviderLogReader::new(text.as_bytes()).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].as_ref().unwrap().line, 3);
        assert!(matches!(&got[2], Err(LogError::Field { line: 4, .. })));
        let got: Vec<_> = ProviderLogReader::new(&b"{\"hook\": \"\xff\"}\n"[..]).collect();
        assert!(matches!(got[..], [Err(LogError::Utf8 { line: 1 })]));
    }
}
