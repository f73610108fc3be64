//! Step reports (spec section 2): one JSON object per folded log line.
use crate::invariants::Violation;
use crate::peer::PeerBag;
use crate::py::PyExc;
use crate::reducer::{Diagnostic, Emitted};
use crate::render::RenderResult;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// What one step did, in the shape `replay --steps` prints.
#[derive(Clone)]
pub struct StepReport {
    /// 0-based index among the log's non-blank lines.
    pub step: u64,
    /// 1-based line in the log (an optional field the spec allows reports to add).
    pub line: u64,
    pub hook: Arc<str>,
    pub outcome: Result<(), PyExc>,
    pub emitted: Emitted,
    /// The peer application databag after the hook; empty when the relation is gone.
    pub peer_app_data: PeerBag,
    pub datasources: RenderResult,
    pub violations: Vec<Violation>,
    /// What the `verified` profile isolated instead of failing (an optional extension).
    pub diagnostics: Vec<Diagnostic>,
}

/// `Debug` shows the peer databag as keys and sizes, and datasources with
/// `secureJsonData` redacted: secrets stay out of debug output.
impl std::fmt::Debug for StepReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepReport")
            .field("step", &self.step)
            .field("line", &self.line)
            .field("hook", &self.hook)
            .field("outcome", &self.outcome)
            .field("emitted", &self.emitted)
            .field("peer_app_data", &self.peer_app_data)
            .field("datasources", &self.datasources)
            .field("violations", &self.violations)
            .field("diagnostics", &self.diagnostics)
            .finish()
    }
}

/// The report as [`StepReport::to_json`] has it, written straight to a serializer: the same
/// bytes without building the value, which holds the whole peer data and provisioning file
/// (`replay --steps` writes one a step). Machine-readable: `secureJsonData` included.
impl serde::Serialize for StepReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Peer<'a>(&'a PeerBag);
        impl serde::Serialize for Peer<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(k, v)| (&**k, &**v.text())))
            }
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("step", &self.step)?;
        m.serialize_entry("hook", &*self.hook)?;
        match self.outcome {
            Ok(()) => m.serialize_entry("outcome", "ok")?,
            Err(exc) => {
                m.serialize_entry("outcome", "error")?;
                m.serialize_entry("error", exc.name())?;
            }
        }
        let emitted: Vec<&str> = self.emitted.iter().map(|e| e.name()).collect();
        m.serialize_entry("emitted", &emitted)?;
        m.serialize_entry("peer_app_data", &Peer(&self.peer_app_data))?;
        match &self.datasources {
            Ok(r) => m.serialize_entry(
                "datasources",
                &crate::render::RenderedJson {
                    rendered: r,
                    redact: false,
                },
            )?,
            Err(exc) => {
                m.serialize_entry("datasources", &())?;
                m.serialize_entry("render_error", exc.name())?;
            }
        }
        let (spec, extended) = self.violation_names();
        m.serialize_entry("violations", &spec)?;
        if !extended.is_empty() {
            m.serialize_entry("extended_violations", &extended)?;
        }
        m.serialize_entry("line", &self.line)?;
        if !self.diagnostics.is_empty() {
            m.serialize_entry("diagnostics", &self.diagnostics_json())?;
        }
        m.end()
    }
}

impl StepReport {
    /// The report as the spec's JSON object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("step".into(), json!(self.step));
        m.insert("hook".into(), json!(&*self.hook));
        match self.outcome {
            Ok(()) => {
                m.insert("outcome".into(), json!("ok"));
            }
            Err(exc) => {
                m.insert("outcome".into(), json!("error"));
                m.insert("error".into(), json!(exc.name()));
            }
        }
        let emitted: Vec<&str> = self.emitted.iter().map(|e| e.name()).collect();
        m.insert("emitted".into(), json!(emitted));
        let peer: Map<String, Value> = self
            .peer_app_data
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.text().to_string())))
            .collect();
        m.insert("peer_app_data".into(), Value::Object(peer));
        match &self.datasources {
            Ok(r) => {
                m.insert("datasources".into(), r.to_json());
            }
            Err(exc) => {
                m.insert("datasources".into(), Value::Null);
                m.insert("render_error".into(), json!(exc.name()));
            }
        }
        let (spec, extended) = self.violation_names();
        m.insert("violations".into(), json!(spec));
        if !extended.is_empty() {
            m.insert("extended_violations".into(), json!(extended));
        }
        m.insert("line".into(), json!(self.line));
        if !self.diagnostics.is_empty() {
            m.insert("diagnostics".into(), Value::Array(self.diagnostics_json()));
        }
        Value::Object(m)
    }

    /// The names of the invariants broken: those the spec lists (`violations`), and the
    /// extension's (`extended_violations`).
    fn violation_names(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        let (spec, extended): (Vec<&Violation>, Vec<&Violation>) =
            self.violations.iter().partition(|v| v.invariant.in_spec());
        let names = |vs: Vec<&Violation>| vs.iter().map(|v| v.invariant.name()).collect();
        (names(spec), names(extended))
    }

    /// The `diagnostics` entries.
    fn diagnostics_json(&self) -> Vec<Value> {
        self.diagnostics
            .iter()
            .map(|d| {
                json!({"relation": d.relation, "unit": d.unit, "field": d.field, "message": d.message})
            })
            .collect()
    }
}
