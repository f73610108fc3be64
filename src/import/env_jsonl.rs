//! `import env-jsonl`: the plain `dispatch` recorder of `docs/recorder.md`.
//!
//! One JSON object per line, one line per hook, written before the charm runs:
//!
//! ```text
//! {"env": {"JUJU_HOOK_NAME": ..., "JUJU_UNIT_NAME": ..., ...},   // the JUJU_* environment
//!  "is_leader": true,                     // `is-leader --format=json`, or null
//!  "config": {...},                       // `config-get --format=json`, or null
//!  "app_data": {...},                     // `relation-get --format=json --app - $JUJU_REMOTE_APP`
//!  "unit_data": {...}}                    // `relation-get --format=json - $JUJU_REMOTE_UNIT`
//! ```
//!
//! All five fields are required; `null` means the recorder had nothing there (no relation,
//! no remote unit, or the hook tool failed). Blank lines are skipped. The line number in
//! errors is the physical line, 1-based.
use super::{
    kind, string_map, Bag, Conversion, EnvConverter, Facts, ImportError, Location, Obj, Recorded,
};
use serde_json::Value;

const FIELDS: [&str; 5] = ["env", "is_leader", "config", "app_data", "unit_data"];

/// Convert an env-jsonl capture.
pub fn convert(text: &str) -> Result<Conversion, ImportError> {
    let mut conv = EnvConverter::default();
    for (i, raw) in text.lines().enumerate() {
        let at = Location::Line(i as u64 + 1);
        if raw.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(raw).map_err(|e| ImportError::Json {
            at: at.clone(),
            message: e.to_string(),
        })?;
        let obj = Obj::new(&value, String::new(), &at)?;
        obj.only(&FIELDS)?;
        for f in FIELDS {
            obj.req(f)?;
        }
        let env = string_map(obj.req("env")?, "env", &at)?;
        let leader = match obj.req("is_leader")? {
            Value::Null => None,
            Value::Bool(b) => Some(*b),
            other => {
                return Err(super::field_err(
                    &at,
                    "is_leader",
                    format!("expected a boolean or null, found {}", kind(other)),
                ))
            }
        };
        let config = match obj.req("config")? {
            Value::Null => None,
            Value::Object(m) => Some(m.clone()),
            other => {
                return Err(super::field_err(
                    &at,
                    "config",
                    format!("expected an object or null, found {}", kind(other)),
                ))
            }
        };
        let optional_bag = |f: &str| match obj.req(f)? {
            Value::Null => Ok(None),
            v => string_map(v, f, &at).map(Some),
        };
        let recorded = Line {
            app_data: optional_bag("app_data")?,
            unit_data: optional_bag("unit_data")?,
        };
        let facts = Facts {
            leader,
            config,
            recorded: &recorded,
        };
        conv.hook(&at, &env, "env", facts)?;
    }
    Ok(conv.out)
}

/// The databags one line recorded: those of `JUJU_REMOTE_APP` and `JUJU_REMOTE_UNIT` on
/// the hook's own relation, which is exactly what the converter asks for.
struct Line {
    app_data: Option<Bag>,
    unit_data: Option<Bag>,
}

impl Recorded for Line {
    fn remote_app_name(&self, _relation_id: u64) -> Option<String> {
        None
    }

    fn databag(&self, _relation_id: u64, _member: &str, is_app: bool) -> Option<Bag> {
        if is_app {
            self.app_data.clone()
        } else {
            self.unit_data.clone()
        }
    }
}
