//! The provider fold: a provider unit's log → the databags it writes, step by step.
//!
//! [`step`] is pure: the configured provider, the unit's state before the line, and the
//! line give the state after it and the warnings the reference logs in that hook. Per step:
//!
//! 1. Sticky inputs (`unit`, `leader`, `fqdn`, `source_url`) take the line's values.
//! 2. Juju's part: a relation hook of the provider's endpoint makes its relation exist (a
//!    log may start mid-life); `relation-broken` removes it before any handler runs (ops
//!    leaves the broken relation out of `model.relations`), with its databags.
//! 3. The provider is constructed (as ops does in every hook), then its observers run in
//!    the order the reference registers them: `<endpoint>-relation-joined` →
//!    `_set_sources(joined relation)`, then each refresh event equal to the hook →
//!    `_set_unit_details`. An `update_source` line re-sanitises its URL and runs
//!    `_set_sources` for every relation of the endpoint, in id order.
//!
//! `_set_unit_details` writes `grafana_source_host` into *every* relation of the endpoint;
//! `_set_sources` does that and then, on the leader only, writes `grafana_source_data` into
//! the one relation it was given. Nothing else is observed: `relation-created`, `-changed`,
//! `leader-elected` and the rest write nothing unless named as refresh events.
use super::log::{Action, ProviderEntry, ProviderLogReader};
use super::{sanitize_source_url, ProviderConfig, Warning, SOURCE_DATA_KEY, SOURCE_HOST_KEY};
use crate::log::{Databag, HookKind, LogError};
use imbl::OrdMap;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use std::io::BufRead;
use std::sync::Arc;

/// What this unit (and, as leader, its application) has written into one relation.
/// (`Debug` shows databag values as sizes: `grafana_source_data` carries
/// `secure_extra_fields`.)
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RelationBags {
    /// The application databag as this unit wrote it (only a leader writes it).
    pub app: Databag,
    /// This unit's databag.
    pub unit: Databag,
}

/// A provider unit's Juju state between hooks, and what it has written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderState {
    /// The unit's name, as last given.
    pub unit: Option<Arc<str>>,
    /// `is-leader`, as last given (initially `false`).
    pub leader: bool,
    /// The host name `socket.getfqdn()` returns, as last given.
    pub fqdn: Option<Arc<str>>,
    /// The constructor's `source_url` as last given by the log; `None`: the configuration's.
    pub source_url: Option<String>,
    /// The relations of the provider's endpoint that exist, by id, with their databags.
    pub relations: OrdMap<u64, RelationBags>,
}

/// A line the fold cannot evaluate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The host URL needs `socket.getfqdn()` (no `source_url`) and no line gave `fqdn`.
    #[error("line {line}: the unit's host name is needed (the provider has no source_url), but no line has given `fqdn` yet")]
    FqdnUnknown {
        /// The line that needed it.
        line: u64,
    },
}

/// A provider log that cannot be folded: a malformed line or a line the fold cannot evaluate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// A malformed line.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A line the fold cannot evaluate.
    #[error(transparent)]
    Step(#[from] StepError),
}

/// What one step gives.
#[derive(Debug, Clone)]
pub struct ProviderStep {
    /// The state after the line.
    pub after: ProviderState,
    /// What the reference logs as warnings in this hook (the constructor's, then
    /// `update_source`'s).
    pub warnings: Vec<Warning>,
}

/// Sets `key` as ops' `RelationDataContent.__setitem__` does: `""` deletes the key.
fn write(bag: &mut Databag, key: &str, value: String) {
    if value.is_empty() {
        bag.remove(key);
    } else {
        bag.insert(Arc::from(key), Arc::from(value));
    }
}

/// One hook's provider object: the configuration and its current `_source_url`.
struct Hooked<'a> {
    config: &'a ProviderConfig,
    source_url: String,
    line: u64,
}

impl Hooked<'_> {
    /// `_set_unit_details`: the host URL into this unit's databag of every relation.
    fn set_unit_details(&self, state: &mut ProviderState) -> Result<(), StepError> {
        let ids: Vec<u64> = state.relations.keys().copied().collect();
        for id in ids {
            let fqdn = state.fqdn.clone();
            let url = self.config.host_url(&self.source_url, || {
                fqdn.map(|f| f.to_string())
                    .ok_or(StepError::FqdnUnknown { line: self.line })
            })?;
            if let Some(bags) = state.relations.get_mut(&id) {
                write(&mut bags.unit, SOURCE_HOST_KEY, url);
            }
        }
        Ok(())
    }

    /// `_set_sources(rel)`: unit details everywhere, then (leader only) the source data
    /// into `rel`'s application databag.
    fn set_sources(&self, state: &mut ProviderState, id: u64) -> Result<(), StepError> {
        self.set_unit_details(state)?;
        if !state.leader {
            return Ok(());
        }
        let data = self.config.source_data();
        if let Some(bags) = state.relations.get_mut(&id) {
            write(&mut bags.app, SOURCE_DATA_KEY, data);
        }
        Ok(())
    }
}

/// Fold one line.
pub fn step(
    config: &ProviderConfig,
    before: &ProviderState,
    entry: &ProviderEntry,
) -> Result<ProviderStep, StepError> {
    let mut state = before.clone();
    if let Some(unit) = &entry.unit {
        state.unit = Some(unit.clone());
    }
    if let Some(leader) = entry.leader {
        state.leader = leader;
    }
    if let Some(fqdn) = &entry.fqdn {
        state.fqdn = Some(fqdn.clone());
    }
    if let Some(url) = &entry.source_url {
        state.source_url = Some(url.clone());
    }

    // Juju's part, before any handler.
    let ours = match &entry.action {
        Action::Hook {
            hook,
            relation: Some((endpoint, id)),
        } if **endpoint == *config.relation_name() => Some((hook.kind, *id)),
        _ => None,
    };
    match ours {
        Some((HookKind::RelationBroken, id)) => {
            state.relations.remove(&id);
        }
        Some((_, id)) => {
            state.relations.entry(id).or_default();
        }
        None => {}
    }

    // The provider object of this hook.
    let (source_url, mut warnings) = match &state.source_url {
        None => (config.source_url().to_string(), config.warnings().to_vec()),
        Some(url) => super::construct_url(&config.args().source_port, Some(url)),
    };
    let mut hooked = Hooked {
        config,
        source_url,
        line: entry.line,
    };

    match &entry.action {
        Action::Hook { hook, .. } => {
            if let Some((HookKind::RelationJoined, id)) = ours {
                hooked.set_sources(&mut state, id)?;
            }
            for event in config.refresh_events() {
                if *event == *hook.name {
                    hooked.set_unit_details(&mut state)?;
                }
            }
        }
        Action::UpdateSource { url } => {
            hooked.source_url = sanitize_source_url(url.as_deref(), &mut warnings);
            let ids: Vec<u64> = state.relations.keys().copied().collect();
            for id in ids {
                hooked.set_sources(&mut state, id)?;
            }
        }
    }
    Ok(ProviderStep {
        after: state,
        warnings,
    })
}

/// What one step did, in the shape `grafana-source provider` prints. (`Debug` shows
/// databag values as sizes: `grafana_source_data` carries `secure_extra_fields`.)
#[derive(Clone, Debug)]
pub struct ProviderReport {
    /// 0-based index among the log's non-blank lines.
    pub step: u64,
    /// 1-based line in the log.
    pub line: u64,
    /// The hook's name (`None` on an `op` line).
    pub hook: Option<Arc<str>>,
    /// The operation (`update_source`) on an `op` line.
    pub op: Option<&'static str>,
    /// The unit's name, as last given.
    pub unit: Option<Arc<str>>,
    /// Whether the unit was the leader in this hook.
    pub leader: bool,
    /// Per existing relation: the application databag as this unit has written it.
    pub app_data: OrdMap<u64, Databag>,
    /// Per existing relation: this unit's databag.
    pub unit_data: OrdMap<u64, Databag>,
    /// What the reference logs as warnings in this hook.
    pub warnings: Vec<Warning>,
}

/// Databags by relation, keyed by the relation id as a string, in id order.
struct ByRelation<'a>(&'a OrdMap<u64, Databag>);

impl Serialize for ByRelation<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(id, bag)| (id.to_string(), bag)))
    }
}

/// The report as one JSON object: `step`, `line`, `hook`, `op`, `unit`, `leader`,
/// `app_data` and `unit_data` (relation id as a string → databag), `warnings` (texts).
/// Databag values are written in full, secrets included, as `replay --steps` does.
/// `grafana-source provider` writes it straight to its output, one line a step.
impl Serialize for ProviderReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Warnings<'a>(&'a [Warning]);
        impl Serialize for Warnings<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(|w| w.to_string()))
            }
        }
        let mut m = s.serialize_map(Some(9))?;
        m.serialize_entry("step", &self.step)?;
        m.serialize_entry("line", &self.line)?;
        m.serialize_entry("hook", &self.hook.as_deref())?;
        m.serialize_entry("op", &self.op)?;
        m.serialize_entry("unit", &self.unit.as_deref())?;
        m.serialize_entry("leader", &self.leader)?;
        m.serialize_entry("app_data", &ByRelation(&self.app_data))?;
        m.serialize_entry("unit_data", &ByRelation(&self.unit_data))?;
        m.serialize_entry("warnings", &Warnings(&self.warnings))?;
        m.end()
    }
}

impl ProviderReport {
    /// The report as a JSON value: what its [`Serialize`] writes.
    pub fn to_json(&self) -> Value {
        // Strings, integers, booleans and string-keyed maps: nothing for it to refuse.
        serde_json::to_value(self).expect("a provider report is JSON")
    }
}

/// A fold in progress: the configured provider, the unit's state, the step count.
#[derive(Debug, Clone)]
pub struct ProviderFold {
    config: ProviderConfig,
    state: ProviderState,
    steps: u64,
}

impl ProviderFold {
    /// A unit that has seen nothing yet: no relations, not the leader, no host name.
    pub fn new(config: ProviderConfig) -> Self {
        ProviderFold {
            config,
            state: ProviderState::default(),
            steps: 0,
        }
    }

    /// The configured provider.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The state after the last step.
    pub fn state(&self) -> &ProviderState {
        &self.state
    }

    /// Fold one entry and report on it. On error the state is unchanged.
    pub fn step(&mut self, entry: &ProviderEntry) -> Result<ProviderReport, StepError> {
        let ProviderStep { after, warnings } = step(&self.config, &self.state, entry)?;
        let (hook, op) = match &entry.action {
            Action::Hook { hook, .. } => (Some(hook.name.clone()), None),
            Action::UpdateSource { .. } => (None, Some(super::log::OP_UPDATE_SOURCE)),
        };
        let report = ProviderReport {
            step: self.steps,
            line: entry.line,
            hook,
            op,
            unit: after.unit.clone(),
            leader: after.leader,
            app_data: after
                .relations
                .iter()
                .map(|(id, b)| (*id, b.app.clone()))
                .collect(),
            unit_data: after
                .relations
                .iter()
                .map(|(id, b)| (*id, b.unit.clone()))
                .collect(),
            warnings,
        };
        self.state = after;
        self.steps += 1;
        Ok(report)
    }

    /// Fold a stream of lines, handing each report to `each`; stops at the first error.
    pub fn run<R: BufRead>(
        &mut self,
        reader: R,
        mut each: impl FnMut(ProviderReport),
    ) -> Result<(), ProviderError> {
        for entry in ProviderLogReader::new(reader) {
            each(self.step(&entry?)?);
        }
        Ok(())
    }

    /// Fold a whole log held in memory.
    pub fn run_str(mut self, text: &str) -> Result<Vec<ProviderReport>, ProviderError> {
        let mut reports = Vec::new();
        self.run(text.as_bytes(), |r| reports.push(r))?;
        Ok(reports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ProviderArgs;
    use crate::py::PyValue;

    fn fold(source_type: &str, log: &str) -> Result<Vec<ProviderReport>, ProviderError> {
        let mut a = ProviderArgs::new("m", "u", "app", source_type);
        a.source_port = PyValue::Str("9090".into());
        a.containers = vec!["app".into()];
        ProviderFold::new(ProviderConfig::new(&a).unwrap().0).run_str(log)
    }

    fn host(r: &ProviderReport, id: u64) -> Option<&str> {
        r.unit_data.get(&id)?.get(SOURCE_HOST_KEY).map(|v| &**v)
    }

    /// The report's JSON: its keys in one order, relations by id as numbers order them
    /// (2 before 10, where text order would put "10" first), warnings as their texts.
    #[test]
    fn report_json_keeps_its_key_order_and_relations_by_id() {
        let r = fold(
            "t",
            concat!(
                r#"{"hook": "grafana-source-relation-created", "relation_id": 10, "leader": true, "fqdn": "h"}"#, "\n",
                r#"{"hook": "grafana-source-relation-created", "relation_id": 2}"#, "\n",
                r#"{"op": "update_source", "url": "ing/x"}"#, "\n",
            ),
        )
        .unwrap();
        let last = r.last().unwrap();
        let text = serde_json::to_string(last).unwrap();
        let at: Vec<usize> = [
            "step",
            "line",
            "hook",
            "op",
            "unit",
            "leader",
            "app_data",
            "unit_data",
            "warnings",
        ]
        .iter()
        .map(|k| text.find(&format!("\"{k}\":")).expect(k))
        .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.contains(r#""unit_data":{"2":{"#), "{text}");
        assert!(text.contains(r#""op":"update_source""#), "{text}");
        let warning = last.warnings[0].to_string();
        assert!(
            text.ends_with(&format!("\"warnings\":[{}]}}", Value::from(warning))),
            "{text}"
        );
        assert_eq!(last.to_json().to_string(), text);
    }

    #[test]
    fn joined_gets_app_data_every_relation_gets_the_host() {
        let r = fold(
            "t",
            concat!(
                r#"{"hook": "grafana-source-relation-created", "relation_id": 1, "leader": true, "fqdn": "h"}"#, "\n",
                r#"{"hook": "grafana-source-relation-created", "relation_id": 2}"#, "\n",
                r#"{"hook": "grafana-source-relation-joined", "relation_id": 2}"#, "\n",
            ),
        )
        .unwrap();
        assert!(r[1].unit_data[&1].is_empty());
        let last = &r[2];
        assert_eq!(host(last, 1), Some("http://h:9090"));
        assert_eq!(host(last, 2), Some("http://h:9090"));
        assert!(last.app_data[&1].is_empty());
        assert!(last.app_data[&2].contains_key(SOURCE_DATA_KEY));
    }

    #[test]
    fn refresh_event_update_source_and_broken() {
        let r = fold(
            "mimir",
            concat!(
                r#"{"hook": "grafana-source-relation-created", "relation_id": 1, "fqdn": "h"}"#,
                "\n",
                r#"{"hook": "app-pebble-ready", "fqdn": "h2"}"#,
                "\n",
                r#"{"op": "update_source", "url": "ing/x"}"#,
                "\n",
                r#"{"hook": "app-pebble-ready"}"#,
                "\n",
                r#"{"op": "update_source"}"#,
                "\n",
                r#"{"hook": "grafana-source-relation-broken", "relation_id": 1}"#,
                "\n",
            ),
        )
        .unwrap();
        assert_eq!(host(&r[1], 1), Some("http://h2:9090/prometheus"));
        assert_eq!(host(&r[2], 1), Some("http://ing/x/prometheus"));
        assert_eq!(r[2].warnings.len(), 1);
        assert!(r[2].app_data[&1].is_empty(), "not the leader");
        // The next hook constructs the provider anew, with the configuration's URL.
        assert_eq!(host(&r[3], 1), Some("http://h2:9090/prometheus"));
        assert_eq!(host(&r[4], 1), Some("http://h2:9090/prometheus"));
        assert!(r[5].unit_data.is_empty());
    }

    #[test]
    fn sticky_source_url_and_missing_fqdn() {
        let r = fold(
            "t",
            concat!(
                r#"{"hook": "grafana-source-relation-joined", "relation_id": 1, "source_url": "x:1"}"#, "\n",
                r#"{"hook": "app-pebble-ready"}"#, "\n",
            ),
        )
        .unwrap();
        assert_eq!(host(&r[1], 1), Some("http://x:1"));
        assert_eq!(r[1].warnings.len(), 2, "{:?}", r[1].warnings);
        let e = fold(
            "t",
            "{\"hook\": \"install\"}\n{\"hook\": \"grafana-source-relation-joined\", \"relation_id\": 1}\n",
        )
        .unwrap_err();
        assert_eq!(e, ProviderError::Step(StepError::FqdnUnknown { line: 2 }));
    }

    #[test]
    fn debug_output_hides_source_data() {
        let mut a = ProviderArgs::new("m", "u", "app", "t");
        a.secure_extra_fields = crate::py::json::loads(r#"{"pw": "hunter2"}"#).unwrap();
        let mut fold = ProviderFold::new(ProviderConfig::new(&a).unwrap().0);
        let mut reports = Vec::new();
        fold.run(
            &br#"{"hook": "grafana-source-relation-joined", "relation_id": 1, "leader": true, "fqdn": "h"}"#[..],
            |r| reports.push(r),
        )
        .unwrap();
        assert!(reports[0].to_json().to_string().contains("hunter2"));
        let shown = format!("{reports:?}{fold:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn other_endpoints_are_not_ours() {
        let r = fold(
            "t",
            r#"{"hook": "metrics-relation-joined", "relation_id": 1, "fqdn": "h", "leader": true}"#,
        )
        .unwrap();
        assert!(r[0].unit_data.is_empty());
        assert!(r[0].leader);
    }
}
