//! A Juju-like world simulator: Grafana units and datasource provider applications, with
//! the hooks each Grafana unit sees.
//!
//! The world is small and explicit: one Grafana application (units `grafana/N`, one of
//! them the leader), and up to a few provider applications (`prometheus`, `loki`, ...)
//! that relate to Grafana's `grafana-source` endpoint, scale up and down, and publish (or
//! fail to publish) their databags the way the reference `GrafanaSourceProvider` does
//! (the databag text comes from [`crate::provider`]). An [`Action`] is one operator or
//! charm event; [`World::apply`] (or the plain [`next`]) performs it and returns, in
//! order, every hook entry each Grafana unit sees because of it, with Juju's ordering
//! guarantees:
//!
//! - `relation-created` before `relation-joined`, `joined` before `changed`, `departed`
//!   (with `departing_unit`) before `broken`;
//! - a provider unit leaving: every Grafana unit sees `departed` with `departing_unit` set
//!   to that provider unit; a relation removed: `departed` for each remote unit, then
//!   `broken`;
//! - a Grafana unit removed: it sees `departed` for every remote unit of every relation
//!   (`departing_unit` = itself), then `broken` for each, then the same on the peer
//!   relation; the surviving units see the peer `departed`; when it was the leader, the
//!   lowest surviving unit is elected;
//! - leadership moving: `leader-settings-changed` (`leader: false`) on every other unit,
//!   then `leader-elected` (`leader: true`) on the new leader.
//!
//! Every Grafana unit folds what it sees with [`reducer::step`] under the world's profile,
//! renders, and runs [`invariants::check`] on the step exactly as [`crate::replay::Replay`]
//! does. The peer relation `grafana` exists from the start ([`PeerAtStart::Visible`]);
//! whenever the leader's fold changes the peer application databag, every other Grafana
//! unit receives a `grafana-relation-changed` carrying the new `app_data`: that is how
//! non-leaders learn the consumer state. A unit's log is therefore exactly what `check`
//! replays: the first entry of each unit (`install`) sets `unit` and `leader`.
//!
//! Everything here is pure and deterministic: no clock, no randomness, no I/O. A
//! [`World`] clone is cheap (unit states are `imbl`-based), and [`World::fingerprint`]
//! hashes the whole world, every unit's [`State`] included, for deduplication.
//!
//! ```
//! use grafana_source::sim::{Action, AppData, Bounds, Host, World};
//! use grafana_source::Profile;
//! let bounds = Bounds::new(1, 1, 1).unwrap();
//! let (world, install) = World::new(Profile::Verified, bounds);
//! assert_eq!(install.len(), 1);
//! let (world, _) = world.apply(&Action::SetAppData(0, AppData::Plain));
//! let (world, _) = world.apply(&Action::SetHost(0, 0, Host::Fqdn));
//! let (world, seen) = world.apply(&Action::Relate(0));
//! assert!(seen.iter().all(|d| d.violations.is_empty()));
//! assert_eq!(world.leader_names(), ["juju_cos_5f3a6c1e-0d3b-4d8e-9a4f-2b7c1e9d0a11_prometheus_0"]);
//! ```
use crate::invariants::{self, StepView, Violation};
use crate::log::{Databag, Entry, Hook, RelationRef, PEER_ENDPOINT, SOURCE_ENDPOINT};
use crate::provider::{sanitize_source_url, ProviderArgs, ProviderConfig};
use crate::py::{self, PyExc, PyKey, PyValue};
use crate::reducer::{self, Profile};
use crate::render::{self, RenderResult};
use crate::world::{Peer, PeerAtStart, State};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A Grafana unit, by its unit number: `N` of `grafana/N` (stable while units come and go).
pub type GrafanaUnitIndex = u64;

/// The model every simulated application lives in.
pub const MODEL: &str = "cos";
/// The model's uuid.
pub const MODEL_UUID: &str = "5f3a6c1e-0d3b-4d8e-9a4f-2b7c1e9d0a11";
/// The Grafana application.
pub const GRAFANA_APP: &str = "grafana";
/// The peer relation's id.
pub const PEER_RELATION_ID: u64 = 0;
/// Provider applications, by index: name, Grafana datasource type and port.
pub const PROVIDERS: [(&str, &str, &str); 4] = [
    ("prometheus", "prometheus", "9090"),
    ("loki", "loki", "3100"),
    ("tempo", "tempo", "3200"),
    ("alertmanager", "alertmanager", "9093"),
];
/// At most this many Grafana units.
pub const MAX_GRAFANA_UNITS: usize = 3;
/// At most this many units per provider application.
pub const MAX_PROVIDER_UNITS: usize = 4;

/// The size of a world: provider applications, their units at most, Grafana units at most.
/// The world starts at these sizes; units can then scale down and back up to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bounds {
    pub providers: usize,
    pub units: usize,
    pub grafana_units: usize,
}

impl Bounds {
    /// `providers` in 1..=4, `units` in 1..=4, `grafana_units` in 1..=3.
    pub fn new(providers: usize, units: usize, grafana_units: usize) -> Result<Bounds, String> {
        if !(1..=PROVIDERS.len()).contains(&providers) {
            return Err(format!(
                "providers must be 1 to {}, not {providers}",
                PROVIDERS.len()
            ));
        }
        if !(1..=MAX_PROVIDER_UNITS).contains(&units) {
            return Err(format!(
                "units must be 1 to {MAX_PROVIDER_UNITS}, not {units}"
            ));
        }
        if !(1..=MAX_GRAFANA_UNITS).contains(&grafana_units) {
            return Err(format!(
                "grafana units must be 1 to {MAX_GRAFANA_UNITS}, not {grafana_units}"
            ));
        }
        Ok(Bounds {
            providers,
            units,
            grafana_units,
        })
    }
}

/// The address a provider unit publishes as `grafana_source_host`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// `http://{fqdn}:{port}`: the reference provider's default.
    Fqdn,
    /// An ingress URL given as `source_url` (without a scheme, which the provider adds).
    Ingress,
}

impl Host {
    pub const ALL: [Host; 2] = [Host::Fqdn, Host::Ingress];

    pub fn name(self) -> &'static str {
        match self {
            Host::Fqdn => "fqdn",
            Host::Ingress => "ingress",
        }
    }
}

/// What a provider application's databag holds under `grafana_source_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AppData {
    /// Nothing (never set, or removed).
    Unset,
    /// The reference provider's scrape data, no extra fields.
    Plain,
    /// The same with `extra_fields: {"timeout": 30}` (a changed configuration).
    Tuned,
    /// Text that is not JSON (truncated).
    BadJson,
    /// A JSON object without `model_uuid`.
    MissingKey,
    /// Well-formed data claiming the identity of the next provider application, so its
    /// source names collide with that application's (only with two providers or more).
    Alias,
}

impl AppData {
    pub const ALL: [AppData; 6] = [
        AppData::Unset,
        AppData::Plain,
        AppData::Tuned,
        AppData::BadJson,
        AppData::MissingKey,
        AppData::Alias,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AppData::Unset => "removed",
            AppData::Plain => "plain",
            AppData::Tuned => "tuned",
            AppData::BadJson => "bad-json",
            AppData::MissingKey => "missing-key",
            AppData::Alias => "alias",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The legacy `StoredState` an `upgrade-charm` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Legacy {
    /// `{"sources": {}, "sources_to_delete": []}`.
    Empty,
    /// One legacy source (hyphenated keys, as old versions stored it) of the first provider's
    /// first unit under relation id 1.
    Sources,
    /// A non-empty legacy `sources_to_delete`.
    ToDelete,
}

impl Legacy {
    pub const ALL: [Legacy; 3] = [Legacy::Empty, Legacy::Sources, Legacy::ToDelete];

    pub fn name(self) -> &'static str {
        match self {
            Legacy::Empty => "empty",
            Legacy::Sources => "legacy-sources",
            Legacy::ToDelete => "legacy-sources-to-delete",
        }
    }
}

/// Which parameter values the actions of an alphabet use. Every structural action
/// (relate, unrelate, scale, remove, elect) is always in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alphabet {
    pub hosts: Vec<Host>,
    pub app_data: Vec<AppData>,
    pub legacy: Vec<Legacy>,
}

impl Alphabet {
    /// Every value.
    pub fn full() -> Alphabet {
        Alphabet {
            hosts: Host::ALL.to_vec(),
            app_data: AppData::ALL.to_vec(),
            legacy: Legacy::ALL.to_vec(),
        }
    }

    /// One value per behaviour the consumer distinguishes: a host (set or cleared); data
    /// set, removed, corrupt or colliding; an upgrade with legacy sources or legacy
    /// deletions. Changing a host or the extra fields keeps every source name, and an
    /// empty legacy state changes nothing, so they are left to the full alphabet.
    pub fn core() -> Alphabet {
        Alphabet {
            hosts: vec![Host::Fqdn],
            app_data: vec![
                AppData::Unset,
                AppData::Plain,
                AppData::BadJson,
                AppData::Alias,
            ],
            legacy: vec![Legacy::Sources, Legacy::ToDelete],
        }
    }
}

/// One thing that happens to the world. Provider applications are numbered from 0 (see
/// [`PROVIDERS`]); units by their unit number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// `juju integrate grafana provider`.
    Relate(usize),
    /// `juju remove-relation grafana provider`.
    Unrelate(usize),
    /// `juju add-unit provider`: the new unit joins without a host yet.
    AddUnit(usize),
    /// `juju remove-unit provider/N`.
    RemoveUnit(usize, u64),
    /// Provider unit N publishes (or changes) its `grafana_source_host`.
    SetHost(usize, u64, Host),
    /// Provider unit N clears its `grafana_source_host`.
    ClearHost(usize, u64),
    /// The provider leader sets, changes, removes or corrupts `grafana_source_data`.
    SetAppData(usize, AppData),
    /// `juju add-unit grafana`.
    AddGrafanaUnit,
    /// `juju remove-unit grafana/N`.
    RemoveGrafanaUnit(GrafanaUnitIndex),
    /// Leadership moves to `grafana/N`.
    ElectLeader(GrafanaUnitIndex),
    /// `juju refresh grafana`: every Grafana unit runs `upgrade-charm`.
    UpgradeCharm(Legacy),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let app = |p: usize| PROVIDERS.get(p).map_or("?", |x| x.0);
        match *self {
            Action::Relate(p) => write!(f, "relate {}", app(p)),
            Action::Unrelate(p) => write!(f, "unrelate {}", app(p)),
            Action::AddUnit(p) => write!(f, "add-unit {}", app(p)),
            Action::RemoveUnit(p, n) => write!(f, "remove-unit {}/{n}", app(p)),
            Action::SetHost(p, n, h) => write!(f, "set-host {}/{n} {}", app(p), h.name()),
            Action::ClearHost(p, n) => write!(f, "clear-host {}/{n}", app(p)),
            Action::SetAppData(p, d) => write!(f, "app-data {} {}", app(p), d.name()),
            Action::AddGrafanaUnit => write!(f, "add-unit {GRAFANA_APP}"),
            Action::RemoveGrafanaUnit(g) => write!(f, "remove-unit {GRAFANA_APP}/{g}"),
            Action::ElectLeader(g) => write!(f, "elect {GRAFANA_APP}/{g}"),
            Action::UpgradeCharm(l) => write!(f, "upgrade-charm {}", l.name()),
        }
    }
}

/// A provider unit: its number and the host it publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProviderUnit {
    pub number: u64,
    pub host: Option<Host>,
}

/// A provider application.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProviderApp {
    /// The `grafana-source` relation id while related.
    pub relation: Option<u64>,
    /// Units, ascending by number.
    pub units: Vec<ProviderUnit>,
    /// The number the next unit gets.
    pub next_unit: u64,
    pub app_data: AppData,
}

/// A Grafana unit and its fold.
#[derive(Clone)]
pub struct GrafanaUnit {
    pub number: GrafanaUnitIndex,
    /// `grafana/N`.
    pub name: Arc<str>,
    /// The state its fold reached.
    pub state: State,
    /// The render of `state` (what the next step's invariants compare against).
    pub rendered: Arc<RenderResult>,
    /// A hash of `state`, kept with it so that fingerprints rehash only what changed.
    state_hash: u64,
}

/// One hook one Grafana unit ran because of an action, and how its fold took it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub unit: GrafanaUnitIndex,
    /// The hook log entry (`line` is 0: a unit's log numbers its lines).
    pub entry: Entry,
    /// `Err` when the hook failed.
    pub outcome: Result<(), PyExc>,
    /// What [`invariants::check`] found on the step.
    pub violations: Vec<Violation>,
}

/// The hooks the simulator emits, parsed once.
struct Hooks {
    install: Hook,
    upgrade_charm: Hook,
    leader_elected: Hook,
    leader_settings_changed: Hook,
    created: Hook,
    joined: Hook,
    changed: Hook,
    departed: Hook,
    broken: Hook,
    peer_joined: Hook,
    peer_changed: Hook,
    peer_departed: Hook,
    peer_broken: Hook,
}

fn hook(name: &str) -> Hook {
    Hook::parse(name).expect("a Juju hook name").0
}

/// Everything constant about a world: names, databag texts, legacy states.
struct Catalog {
    hooks: Hooks,
    source_endpoint: Arc<str>,
    peer_endpoint: Arc<str>,
    grafana_app: Arc<str>,
    apps: Vec<Arc<str>>,
    /// `[provider][n]`: `app/n`, for the first unit numbers.
    unit_names: Vec<Vec<Arc<str>>>,
    configs: Vec<ProviderConfig>,
    /// `[provider][AppData::index]`: the application databag.
    app_bags: Vec<Vec<Databag>>,
    legacy: Vec<PyValue>,
    /// `json.dumps` of each legacy state, made once: an `upgrade-charm`'s fold memo key
    /// hashes its state's text, which was ~9% of an exploration's instructions made anew.
    legacy_texts: Vec<String>,
}

impl Catalog {
    /// `json.dumps(state)`: the text made with the catalog when `state` is one of its legacy
    /// states (the very value), else made now. Either way the text of the content, so a
    /// hash of it does not depend on where the value came from.
    fn stored_state_text(&self, state: &PyValue) -> std::borrow::Cow<'_, str> {
        match self.legacy.iter().position(|l| l.is_same_object(state)) {
            Some(i) => std::borrow::Cow::Borrowed(&self.legacy_texts[i]),
            None => std::borrow::Cow::Owned(py::json::dumps(state)),
        }
    }
}

fn bag(pairs: &[(&str, &str)]) -> Databag {
    pairs
        .iter()
        .map(|(k, v)| (Arc::from(*k), Arc::from(*v)))
        .collect()
}

fn provider_config(p: usize, extra_fields: PyValue) -> ProviderConfig {
    let (app, source_type, port) = PROVIDERS[p];
    let mut args = ProviderArgs::new(MODEL, MODEL_UUID, app, source_type);
    args.source_port = PyValue::Str(Arc::from(port));
    args.containers = vec![app.to_string()];
    args.extra_fields = extra_fields;
    ProviderConfig::new(&args)
        .expect("the simulated provider configurations are valid")
        .0
}

/// The name the reference gives provider `p`'s unit `n`.
pub fn source_name(p: usize, n: u64) -> String {
    format!("juju_{MODEL}_{MODEL_UUID}_{}_{n}", PROVIDERS[p].0)
}

impl Catalog {
    fn new(bounds: Bounds) -> Catalog {
        let n = bounds.providers;
        let configs: Vec<ProviderConfig> =
            (0..n).map(|p| provider_config(p, PyValue::None)).collect();
        let app_bags = (0..n)
            .map(|p| {
                let plain = configs[p].source_data();
                let tuned = provider_config(
                    p,
                    py::json::loads(r#"{"timeout": 30}"#).expect("valid JSON"),
                )
                .source_data();
                let bad = plain[..plain.len() - 1].to_string();
                let missing = match configs[p].scrape_data() {
                    PyValue::Dict(mut d) => {
                        Arc::make_mut(&mut d).shift_remove(&PyKey::Str(Arc::from("model_uuid")));
                        py::json::dumps(&PyValue::Dict(d))
                    }
                    other => py::json::dumps(&other),
                };
                let alias = configs[(p + 1) % n].source_data();
                let key = crate::provider::SOURCE_DATA_KEY;
                AppData::ALL
                    .iter()
                    .map(|d| match d {
                        AppData::Unset => Databag::new(),
                        AppData::Plain => bag(&[(key, &plain)]),
                        AppData::Tuned => bag(&[(key, &tuned)]),
                        AppData::BadJson => bag(&[(key, &bad)]),
                        AppData::MissingKey => bag(&[(key, &missing)]),
                        AppData::Alias => bag(&[(key, &alias)]),
                    })
                    .collect()
            })
            .collect();
        let legacy_entry = format!(
            r#"{{"unit": "{app}/0", "source-name": "{name}", "source-type": "{ty}", "url": "http://{app}-0.{app}-endpoints.{MODEL}.svc.cluster.local:{port}"}}"#,
            app = PROVIDERS[0].0,
            name = source_name(0, 0),
            ty = PROVIDERS[0].1,
            port = PROVIDERS[0].2,
        );
        let legacy = [
            r#"{"sources": {}, "sources_to_delete": []}"#.to_string(),
            format!(r#"{{"sources": {{"1": [{legacy_entry}]}}, "sources_to_delete": []}}"#),
            format!(
                r#"{{"sources": {{}}, "sources_to_delete": ["juju_{MODEL}_{MODEL_UUID}_retired_0"]}}"#
            ),
        ]
        .iter()
        .map(|t| py::json::loads(t).expect("valid legacy state"))
        .collect::<Vec<_>>();
        let legacy_texts = legacy.iter().map(py::json::dumps).collect();
        Catalog {
            hooks: Hooks {
                install: hook("install"),
                upgrade_charm: hook("upgrade-charm"),
                leader_elected: hook("leader-elected"),
                leader_settings_changed: hook("leader-settings-changed"),
                created: hook("grafana-source-relation-created"),
                joined: hook("grafana-source-relation-joined"),
                changed: hook("grafana-source-relation-changed"),
                departed: hook("grafana-source-relation-departed"),
                broken: hook("grafana-source-relation-broken"),
                peer_joined: hook("grafana-relation-joined"),
                peer_changed: hook("grafana-relation-changed"),
                peer_departed: hook("grafana-relation-departed"),
                peer_broken: hook("grafana-relation-broken"),
            },
            source_endpoint: Arc::from(SOURCE_ENDPOINT),
            peer_endpoint: Arc::from(PEER_ENDPOINT),
            grafana_app: Arc::from(GRAFANA_APP),
            apps: (0..n).map(|p| Arc::from(PROVIDERS[p].0)).collect(),
            unit_names: (0..n)
                .map(|p| {
                    (0..64)
                        .map(|u| Arc::from(format!("{}/{u}", PROVIDERS[p].0)))
                        .collect()
                })
                .collect(),
            configs,
            app_bags,
            legacy,
            legacy_texts,
        }
    }

    fn host_url(&self, p: usize, n: u64, host: Host) -> String {
        let app = PROVIDERS[p].0;
        let fqdn = format!("{app}-{n}.{app}-endpoints.{MODEL}.svc.cluster.local");
        let source_url = match host {
            Host::Fqdn => String::new(),
            Host::Ingress => sanitize_source_url(
                Some(&format!("ingress.{MODEL}.example/{MODEL}-{app}-{n}")),
                &mut Vec::new(),
            ),
        };
        self.configs[p]
            .host_url(&source_url, || Ok::<_, std::convert::Infallible>(fqdn))
            .unwrap_or_else(|e| match e {})
    }
}

/// The whole simulated world, every Grafana unit's fold included.
#[derive(Clone)]
pub struct World {
    catalog: Arc<Catalog>,
    profile: Profile,
    bounds: Bounds,
    providers: Vec<ProviderApp>,
    /// Live Grafana units, ascending by number.
    grafana: Vec<GrafanaUnit>,
    leader: GrafanaUnitIndex,
    next_grafana: u64,
    next_relation: u64,
    /// The peer application databag as the leader last wrote it.
    peer_bag: crate::peer::PeerBag,
}

impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let grafana: Vec<&str> = self.grafana.iter().map(|g| &*g.name).collect();
        f.debug_struct("World")
            .field("profile", &self.profile.name())
            .field("grafana", &grafana)
            .field("leader", &self.leader)
            .field("providers", &self.providers)
            .field("fingerprint", &format_args!("{:016x}", self.fingerprint()))
            .finish()
    }
}

fn blank(hook: &Hook) -> Entry {
    Entry {
        line: 0,
        hook: hook.clone(),
        unit: None,
        leader: None,
        relation: None,
        remote_unit: None,
        departing_unit: None,
        app_data: None,
        unit_data: None,
        config: None,
        stored_state: None,
    }
}

/// Plain `next`: the world after `action` and the entries each Grafana unit saw, in order.
/// A disabled action changes nothing and yields no entry.
pub fn next(world: &World, action: &Action) -> (World, Vec<(GrafanaUnitIndex, Entry)>) {
    let (w, seen) = world.apply(action);
    (w, seen.into_iter().map(|d| (d.unit, d.entry)).collect())
}

impl World {
    /// The world at its bounds: every provider application deployed with `units` units that
    /// publish nothing yet and relate to nothing; `grafana_units` Grafana units, `grafana/0`
    /// the leader. Returns each Grafana unit's first entry (`install`, with `unit` and
    /// `leader`).
    pub fn new(profile: Profile, bounds: Bounds) -> (World, Vec<Delivery>) {
        let catalog = Arc::new(Catalog::new(bounds));
        let providers = (0..bounds.providers)
            .map(|_| ProviderApp {
                relation: None,
                units: (0..bounds.units as u64)
                    .map(|number| ProviderUnit { number, host: None })
                    .collect(),
                next_unit: bounds.units as u64,
                app_data: AppData::Unset,
            })
            .collect();
        let mut world = World {
            catalog,
            profile,
            bounds,
            providers,
            grafana: Vec::new(),
            leader: 0,
            next_grafana: 0,
            next_relation: 1,
            peer_bag: crate::peer::PeerBag::new(),
        };
        let mut cx = Cx {
            deliveries: Vec::new(),
            memo: None,
        };
        for _ in 0..bounds.grafana_units {
            let pos = world.spawn_grafana();
            let mut e = blank(&world.catalog.hooks.install);
            e.unit = Some(world.grafana[pos].name.clone());
            e.leader = Some(world.grafana[pos].number == world.leader);
            world.deliver(pos, e, &mut cx);
        }
        (world, cx.deliveries)
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    pub fn bounds(&self) -> Bounds {
        self.bounds
    }

    pub fn providers(&self) -> &[ProviderApp] {
        &self.providers
    }

    /// Provider `p`'s application name.
    pub fn app_name(&self, p: usize) -> &str {
        &self.catalog.apps[p]
    }

    /// Provider `p`'s application databag as it publishes it now.
    pub fn app_databag(&self, p: usize) -> &Databag {
        &self.catalog.app_bags[p][self.providers[p].app_data.index()]
    }

    /// The unit databag provider unit `p`/`n` publishes now (empty for an unknown unit).
    pub fn unit_databag(&self, p: usize, n: u64) -> Databag {
        let host = self.providers[p]
            .units
            .iter()
            .find(|u| u.number == n)
            .and_then(|u| u.host);
        match host {
            Some(h) => bag(&[(
                crate::provider::SOURCE_HOST_KEY,
                &self.catalog.host_url(p, n, h),
            )]),
            None => Databag::new(),
        }
    }

    /// Live Grafana units, ascending.
    pub fn grafana_units(&self) -> &[GrafanaUnit] {
        &self.grafana
    }

    pub fn grafana_unit(&self, g: GrafanaUnitIndex) -> Option<&GrafanaUnit> {
        self.grafana.iter().find(|u| u.number == g)
    }

    pub fn leader(&self) -> GrafanaUnitIndex {
        self.leader
    }

    /// The peer application databag the leader last wrote.
    pub fn peer_databag(&self) -> &crate::peer::PeerBag {
        &self.peer_bag
    }

    /// The names the leader's render provisions now, sorted (empty when it fails to render).
    pub fn leader_names(&self) -> Vec<String> {
        let mut names: Vec<String> = match self.grafana_unit(self.leader).map(|u| &*u.rendered) {
            Some(Ok(r)) => r
                .datasources
                .iter()
                .map(|d| match &d.name {
                    PyValue::Str(s) => s.to_string(),
                    other => other.py_repr(),
                })
                .collect(),
            _ => Vec::new(),
        };
        names.sort();
        names
    }

    fn provider_unit(&self, p: usize, n: u64) -> Option<&ProviderUnit> {
        self.providers.get(p)?.units.iter().find(|u| u.number == n)
    }

    fn pos(&self, g: GrafanaUnitIndex) -> Option<usize> {
        self.grafana.iter().position(|u| u.number == g)
    }

    /// Whether `action` can happen in this world.
    pub fn is_enabled(&self, action: &Action) -> bool {
        let related = |p: usize| self.providers.get(p).and_then(|a| a.relation);
        match *action {
            Action::Relate(p) => p < self.providers.len() && related(p).is_none(),
            Action::Unrelate(p) => related(p).is_some(),
            Action::AddUnit(p) => self
                .providers
                .get(p)
                .is_some_and(|a| a.units.len() < self.bounds.units),
            Action::RemoveUnit(p, n) => self.provider_unit(p, n).is_some(),
            Action::SetHost(p, n, h) => self.provider_unit(p, n).is_some_and(|u| u.host != Some(h)),
            Action::ClearHost(p, n) => self.provider_unit(p, n).is_some_and(|u| u.host.is_some()),
            Action::SetAppData(p, d) => self.providers.get(p).is_some_and(|a| {
                a.app_data != d && (d != AppData::Alias || self.providers.len() > 1)
            }),
            Action::AddGrafanaUnit => self.grafana.len() < self.bounds.grafana_units,
            Action::RemoveGrafanaUnit(g) => self.grafana.len() > 1 && self.pos(g).is_some(),
            Action::ElectLeader(g) => g != self.leader && self.pos(g).is_some(),
            Action::UpgradeCharm(_) => true,
        }
    }

    /// Every enabled action of the full alphabet, in a fixed order.
    pub fn actions(&self) -> Vec<Action> {
        self.actions_in(&Alphabet::full())
    }

    /// Every enabled action whose parameters `alphabet` admits, in a fixed order.
    pub fn actions_in(&self, alphabet: &Alphabet) -> Vec<Action> {
        let mut out = Vec::new();
        for (p, app) in self.providers.iter().enumerate() {
            out.push(if app.relation.is_some() {
                Action::Unrelate(p)
            } else {
                Action::Relate(p)
            });
            for &d in &alphabet.app_data {
                out.push(Action::SetAppData(p, d));
            }
            for u in &app.units {
                for &h in &alphabet.hosts {
                    out.push(Action::SetHost(p, u.number, h));
                }
                out.push(Action::ClearHost(p, u.number));
                out.push(Action::RemoveUnit(p, u.number));
            }
            out.push(Action::AddUnit(p));
        }
        for g in &self.grafana {
            out.push(Action::ElectLeader(g.number));
            out.push(Action::RemoveGrafanaUnit(g.number));
        }
        out.push(Action::AddGrafanaUnit);
        for &l in &alphabet.legacy {
            out.push(Action::UpgradeCharm(l));
        }
        out.retain(|a| self.is_enabled(a));
        out
    }

    /// Perform `action`: the world after it and every hook each Grafana unit ran, in order.
    /// A disabled action changes nothing and yields no hook.
    pub fn apply(&self, action: &Action) -> (World, Vec<Delivery>) {
        self.apply_memo(action, None)
    }

    /// [`Self::apply`], reusing the folds of (unit state, entry) pairs `memo` has seen.
    /// Folding is pure, so the result is the same with or without it; only faster when the
    /// same unit state receives the same hook in many worlds (as in an exhaustive search).
    pub fn apply_memo(&self, action: &Action, memo: Option<&mut Memo>) -> (World, Vec<Delivery>) {
        let mut w = self.clone();
        let mut cx = Cx {
            deliveries: Vec::with_capacity(16),
            memo,
        };
        let out = &mut cx;
        if !self.is_enabled(action) {
            return (w, cx.deliveries);
        }
        let hooks = &self.catalog.hooks;
        match *action {
            Action::Relate(p) => {
                let id = w.next_relation;
                w.next_relation += 1;
                w.providers[p].relation = Some(id);
                for e in w.relation_entries(p) {
                    w.broadcast(e, out);
                }
            }
            Action::Unrelate(p) => {
                let units: Vec<u64> = w.providers[p].units.iter().map(|u| u.number).collect();
                for n in units {
                    let unit = w.provider_unit_name(p, n);
                    let mut e = w.source_entry(&hooks.departed, p);
                    e.remote_unit = Some(unit.clone());
                    e.departing_unit = Some(unit);
                    w.broadcast(e, out);
                }
                let e = w.source_entry(&hooks.broken, p);
                w.broadcast(e, out);
                w.providers[p].relation = None;
            }
            Action::AddUnit(p) => {
                let n = w.providers[p].next_unit;
                w.providers[p].next_unit += 1;
                w.providers[p].units.push(ProviderUnit {
                    number: n,
                    host: None,
                });
                if w.providers[p].relation.is_some() {
                    for e in w.unit_entries(p, n) {
                        w.broadcast(e, out);
                    }
                }
            }
            Action::RemoveUnit(p, n) => {
                if w.providers[p].relation.is_some() {
                    let unit = w.provider_unit_name(p, n);
                    let mut e = w.source_entry(&hooks.departed, p);
                    e.remote_unit = Some(unit.clone());
                    e.departing_unit = Some(unit);
                    w.broadcast(e, out);
                }
                w.providers[p].units.retain(|u| u.number != n);
            }
            Action::SetHost(p, n, _) | Action::ClearHost(p, n) => {
                let host = match *action {
                    Action::SetHost(_, _, h) => Some(h),
                    _ => None,
                };
                if let Some(u) = w.providers[p].units.iter_mut().find(|u| u.number == n) {
                    u.host = host;
                }
                if w.providers[p].relation.is_some() {
                    let mut e = w.source_entry(&hooks.changed, p);
                    e.remote_unit = Some(w.provider_unit_name(p, n));
                    e.unit_data = Some(w.unit_databag(p, n));
                    w.broadcast(e, out);
                }
            }
            Action::SetAppData(p, d) => {
                w.providers[p].app_data = d;
                if w.providers[p].relation.is_some() {
                    let mut e = w.source_entry(&hooks.changed, p);
                    e.app_data = Some(w.app_databag(p).clone());
                    w.broadcast(e, out);
                }
            }
            Action::AddGrafanaUnit => w.add_grafana(out),
            Action::RemoveGrafanaUnit(g) => w.remove_grafana(g, out),
            Action::ElectLeader(g) => w.elect(g, out),
            Action::UpgradeCharm(l) => {
                let mut e = blank(&hooks.upgrade_charm);
                e.stored_state = Some(self.catalog.legacy[l as usize].clone());
                w.broadcast(e, out);
            }
        }
        (w, cx.deliveries)
    }

    /// A hash of the whole world: providers, Grafana units, leadership, counters, the peer
    /// databag and every unit's folded [`State`]. Equal worlds hash equal; two worlds with
    /// one fingerprint are, for every purpose here, the same state.
    pub fn fingerprint(&self) -> u64 {
        let mut h = fingerprint_hasher();
        self.profile.hash(&mut h);
        self.bounds.hash(&mut h);
        self.providers.hash(&mut h);
        self.leader.hash(&mut h);
        self.next_grafana.hash(&mut h);
        self.next_relation.hash(&mut h);
        self.peer_bag.hash(&mut h);
        self.grafana.len().hash(&mut h);
        for g in &self.grafana {
            g.number.hash(&mut h);
            g.state_hash.hash(&mut h);
        }
        h.finish()
    }

    // --- hook emission -------------------------------------------------------------

    fn provider_unit_name(&self, p: usize, n: u64) -> Arc<str> {
        match self.catalog.unit_names[p].get(n as usize) {
            Some(name) => name.clone(),
            None => Arc::from(format!("{}/{n}", self.catalog.apps[p])),
        }
    }

    fn source_entry(&self, hook: &Hook, p: usize) -> Entry {
        let mut e = blank(hook);
        e.relation = Some(RelationRef {
            endpoint: self.catalog.source_endpoint.clone(),
            id: self.providers[p].relation.expect("a related provider"),
            remote_app: self.catalog.apps[p].clone(),
        });
        e
    }

    fn peer_entry(&self, hook: &Hook, remote_unit: Option<Arc<str>>) -> Entry {
        let mut e = blank(hook);
        e.relation = Some(RelationRef {
            endpoint: self.catalog.peer_endpoint.clone(),
            id: PEER_RELATION_ID,
            remote_app: self.catalog.grafana_app.clone(),
        });
        e.remote_unit = remote_unit;
        e
    }

    /// What a unit sees of provider unit `n` joining: `joined`, then `changed` with its data.
    fn unit_entries(&self, p: usize, n: u64) -> [Entry; 2] {
        let unit = self.provider_unit_name(p, n);
        let mut joined = self.source_entry(&self.catalog.hooks.joined, p);
        joined.remote_unit = Some(unit.clone());
        let mut changed = self.source_entry(&self.catalog.hooks.changed, p);
        changed.remote_unit = Some(unit);
        changed.unit_data = Some(self.unit_databag(p, n));
        [joined, changed]
    }

    /// What a unit sees of entering provider `p`'s relation: `created`, the application
    /// data (when there is some), then every unit joining.
    fn relation_entries(&self, p: usize) -> Vec<Entry> {
        let mut out = vec![self.source_entry(&self.catalog.hooks.created, p)];
        if self.providers[p].app_data != AppData::Unset {
            let mut e = self.source_entry(&self.catalog.hooks.changed, p);
            e.app_data = Some(self.app_databag(p).clone());
            out.push(e);
        }
        for u in &self.providers[p].units {
            out.extend(self.unit_entries(p, u.number));
        }
        out
    }

    /// Related providers, ascending by relation id.
    fn related(&self) -> Vec<usize> {
        let mut ps: Vec<usize> = (0..self.providers.len())
            .filter(|&p| self.providers[p].relation.is_some())
            .collect();
        ps.sort_by_key(|&p| self.providers[p].relation);
        ps
    }

    /// A new Grafana unit with a fresh fold; returns its position.
    fn spawn_grafana(&mut self) -> usize {
        let number = self.next_grafana;
        self.next_grafana += 1;
        let state = State::new(PeerAtStart::Visible);
        let rendered = Arc::new(render::render(self.profile, &state));
        self.grafana.push(GrafanaUnit {
            number,
            name: Arc::from(format!("{GRAFANA_APP}/{number}")),
            state_hash: state_hash(&state),
            state,
            rendered,
        });
        self.grafana.len() - 1
    }

    fn add_grafana(&mut self, out: &mut Cx<'_>) {
        let catalog = self.catalog.clone();
        let hooks = &catalog.hooks;
        let name: Arc<str> = Arc::from(format!("{GRAFANA_APP}/{}", self.next_grafana));
        self.broadcast(self.peer_entry(&hooks.peer_joined, Some(name.clone())), out);
        self.broadcast(
            self.peer_entry(&hooks.peer_changed, Some(name.clone())),
            out,
        );
        let existing: Vec<Arc<str>> = self.grafana.iter().map(|g| g.name.clone()).collect();
        let pos = self.spawn_grafana();
        let mut e = blank(&hooks.install);
        e.unit = Some(name);
        e.leader = Some(false);
        self.deliver(pos, e, out);
        for other in existing {
            let joined = self.peer_entry(&hooks.peer_joined, Some(other.clone()));
            self.deliver(pos, joined, out);
            let mut changed = self.peer_entry(&hooks.peer_changed, Some(other));
            changed.app_data = Some(crate::peer::bag_texts(&self.peer_bag));
            self.deliver(pos, changed, out);
        }
        for p in self.related() {
            for e in self.relation_entries(p) {
                self.deliver(pos, e, out);
            }
        }
    }

    fn remove_grafana(&mut self, g: GrafanaUnitIndex, out: &mut Cx<'_>) {
        let catalog = self.catalog.clone();
        let hooks = &catalog.hooks;
        let Some(pos) = self.pos(g) else { return };
        let me = self.grafana[pos].name.clone();
        let related = self.related();
        for &p in &related {
            let units: Vec<u64> = self.providers[p].units.iter().map(|u| u.number).collect();
            for n in units {
                let mut e = self.source_entry(&hooks.departed, p);
                e.remote_unit = Some(self.provider_unit_name(p, n));
                e.departing_unit = Some(me.clone());
                self.deliver(pos, e, out);
            }
        }
        for &p in &related {
            let e = self.source_entry(&hooks.broken, p);
            self.deliver(pos, e, out);
        }
        let others: Vec<Arc<str>> = self
            .grafana
            .iter()
            .filter(|u| u.number != g)
            .map(|u| u.name.clone())
            .collect();
        for other in others {
            let mut e = self.peer_entry(&hooks.peer_departed, Some(other));
            e.departing_unit = Some(me.clone());
            self.deliver(pos, e, out);
        }
        self.deliver(pos, self.peer_entry(&hooks.peer_broken, None), out);
        self.grafana.remove(pos);
        let mut e = self.peer_entry(&hooks.peer_departed, Some(me.clone()));
        e.departing_unit = Some(me);
        self.broadcast(e, out);
        if self.leader == g {
            let next = self.grafana[0].number;
            self.elect(next, out);
        }
    }

    fn elect(&mut self, g: GrafanaUnitIndex, out: &mut Cx<'_>) {
        let catalog = self.catalog.clone();
        let hooks = &catalog.hooks;
        self.leader = g;
        for pos in 0..self.grafana.len() {
            if self.grafana[pos].number != g {
                let mut e = blank(&hooks.leader_settings_changed);
                e.leader = Some(false);
                self.deliver(pos, e, out);
            }
        }
        if let Some(pos) = self.pos(g) {
            let mut e = blank(&hooks.leader_elected);
            e.leader = Some(true);
            self.deliver(pos, e, out);
        }
    }

    /// Deliver `entry` to every live Grafana unit, ascending.
    fn broadcast(&mut self, entry: Entry, out: &mut Cx<'_>) {
        for pos in 0..self.grafana.len() {
            self.deliver(pos, entry.clone(), out);
        }
    }

    /// Fold `entry` on the unit at `pos`, check the step, and when the leader's fold
    /// changed the peer databag, tell every other unit.
    fn deliver(&mut self, pos: usize, entry: Entry, out: &mut Cx<'_>) {
        let profile = self.profile;
        let unit = &mut self.grafana[pos];
        let key = match &out.memo {
            Some(_) => Some((unit.state_hash, entry_hash(profile, &entry, &self.catalog))),
            None => None,
        };
        let cached = match (&mut out.memo, key) {
            (Some(memo), Some(key)) => memo.get(key),
            _ => None,
        };
        let folded = cached.unwrap_or_else(|| {
            let step = reducer::step(profile, &unit.state, &entry);
            let rendered = render::render(profile, &step.after);
            let violations = invariants::check(&StepView {
                entry: &entry,
                before: &unit.state,
                seen: &step.seen,
                after: &step.after,
                effects: &step.effects,
                rendered_before: &unit.rendered,
                rendered_after: &rendered,
            });
            let folded = Folded {
                state_hash: state_hash(&step.after),
                state: step.after,
                rendered: Arc::new(rendered),
                outcome: step.effects.outcome,
                violations,
            };
            if let (Some(memo), Some(key)) = (&mut out.memo, key) {
                memo.put(key, folded.clone());
            }
            folded
        });
        let outcome = folded.outcome;
        let violations = folded.violations;
        unit.state_hash = folded.state_hash;
        unit.state = folded.state;
        unit.rendered = folded.rendered;
        let number = unit.number;
        let leader_name = unit.name.clone();
        let written = match unit.state.peer_data() {
            Some(bag) if number == self.leader && *bag != self.peer_bag => Some(bag.clone()),
            _ => None,
        };
        out.deliveries.push(Delivery {
            unit: number,
            entry,
            outcome,
            violations,
        });
        if let Some(bag) = written {
            self.peer_bag = bag.clone();
            let mut e = self.peer_entry(&self.catalog.hooks.peer_changed, Some(leader_name));
            e.app_data = Some(crate::peer::bag_texts(&bag));
            for other in 0..self.grafana.len() {
                if other != pos {
                    self.deliver(other, e.clone(), out);
                }
            }
        }
    }
}

/// Where hooks delivered during one action go, and the memo of folds, if any.
struct Cx<'m> {
    deliveries: Vec<Delivery>,
    memo: Option<&'m mut Memo>,
}

/// One unit's fold of one entry: the state after it, its render, the outcome and the
/// violations of the step.
#[derive(Clone)]
struct Folded {
    state: State,
    state_hash: u64,
    rendered: Arc<RenderResult>,
    outcome: Result<(), PyExc>,
    violations: Vec<Violation>,
}

/// The memo's tables: keyed by two fingerprints already, which a fast hash spreads well.
type MemoMap = std::collections::HashMap<(u64, u64), Folded, foldhash::fast::FixedState>;

/// Folds already computed, by (hash of the unit's state before, hash of the profile and
/// the entry). A step depends on nothing else (reducers, render and the checker are pure),
/// so a hit gives exactly what folding again would. Bounded: two generations of at most
/// [`Memo::CAPACITY`] entries; when the young one is full the old one is dropped.
#[derive(Default)]
pub struct Memo {
    young: MemoMap,
    old: MemoMap,
    /// Lookups answered from the memo.
    pub hits: u64,
    /// Lookups that had to fold.
    pub misses: u64,
}

impl Memo {
    /// Entries per generation. An entry holds a unit's folded state and its render, a
    /// few KiB, and each explorer job has its own memo: at 2^17 the memos were most of an
    /// exploration's memory. Measured on the bench's run (depth 7, 2 providers x 2 units,
    /// 2 Grafana units): 2^16 reuses 1% fewer folds than 2^17 (2,812,340 vs 2,843,805 with
    /// one job) at a peak RSS of 578,460 KiB instead of 759,408 (955,172 instead of
    /// 1,269,816 with two jobs), and is no slower; 2^15 folds 17% more for 373,568 KiB.
    pub const CAPACITY: usize = 1 << 16;

    pub fn new() -> Memo {
        Memo::default()
    }

    fn get(&mut self, key: (u64, u64)) -> Option<Folded> {
        if let Some(hit) = self.young.get(&key) {
            self.hits += 1;
            return Some(hit.clone());
        }
        match self.old.remove(&key) {
            Some(hit) => {
                self.hits += 1;
                self.put(key, hit.clone());
                Some(hit)
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    fn put(&mut self, key: (u64, u64), folded: Folded) {
        if self.young.len() >= Memo::CAPACITY {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, folded);
    }
}

/// The hasher of fingerprints ([`World::fingerprint`], [`state_hash`], the memo's keys):
/// foldhash's quality variant under a fixed seed, so a world has the same fingerprint in
/// every run. SipHash (`DefaultHasher`) did the same job at a quarter of an exploration's
/// instructions; nothing here needs its resistance to crafted keys, only 64 well-mixed bits.
fn fingerprint_hasher() -> impl Hasher {
    use std::hash::BuildHasher;
    /// Any fixed value: fingerprints are compared within a run, never stored.
    const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
    foldhash::quality::FixedState::with_seed(SEED).build_hasher()
}

/// A hash of the profile folding it and of every field of an entry but its line number.
fn entry_hash(profile: Profile, e: &Entry, catalog: &Catalog) -> u64 {
    let mut h = fingerprint_hasher();
    profile.hash(&mut h);
    e.hook.name.hash(&mut h);
    e.unit.hash(&mut h);
    e.leader.hash(&mut h);
    match &e.relation {
        Some(r) => {
            1u8.hash(&mut h);
            r.endpoint.hash(&mut h);
            r.id.hash(&mut h);
            r.remote_app.hash(&mut h);
        }
        None => 0u8.hash(&mut h),
    }
    e.remote_unit.hash(&mut h);
    e.departing_unit.hash(&mut h);
    e.app_data.hash(&mut h);
    e.unit_data.hash(&mut h);
    match &e.config {
        Some(c) => {
            c.len().hash(&mut h);
            for (k, v) in c {
                k.hash(&mut h);
                py::json::dumps(v).hash(&mut h);
            }
        }
        None => usize::MAX.hash(&mut h),
    }
    e.stored_state
        .as_ref()
        .map(|s| catalog.stored_state_text(s))
        .hash(&mut h);
    h.finish()
}

/// A hash of every field of a unit's [`State`]. Config values are Python values (no
/// `Hash`): their `json.dumps` text is hashed instead.
pub fn state_hash(s: &State) -> u64 {
    let mut h = fingerprint_hasher();
    hash_state(s, &mut h);
    h.finish()
}

fn hash_state<H: Hasher>(s: &State, h: &mut H) {
    s.unit.hash(h);
    s.leader.hash(h);
    s.config.len().hash(h);
    for (k, v) in &s.config {
        k.hash(h);
        py::json::dumps(&v.0).hash(h);
    }
    s.relations.len().hash(h);
    for (id, r) in &s.relations {
        id.hash(h);
        r.app.hash(h);
        r.app_data.hash(h);
        r.units.hash(h);
    }
    match &s.peer {
        Peer::Absent => 0u8.hash(h),
        Peer::Visible(b) => {
            1u8.hash(h);
            b.hash(h);
        }
        Peer::Gone(b) => {
            2u8.hash(h);
            b.hash(h);
        }
    }
    s.leaving.hash(h);
    s.rendered_ever.hash(h);
}

// --- hook log v1 output ------------------------------------------------------------------

/// One entry as a hook log v1 object (fields in the spec's order; absent ones omitted).
pub fn entry_json(e: &Entry) -> serde_json::Value {
    use serde_json::{Map, Value};
    let bag_json = |b: &Databag| serde_json::json!(b);
    let mut m = Map::new();
    m.insert("hook".into(), Value::from(&*e.hook.name));
    if let Some(u) = &e.unit {
        m.insert("unit".into(), Value::from(&**u));
    }
    if let Some(l) = e.leader {
        m.insert("leader".into(), Value::Bool(l));
    }
    if let Some(r) = &e.relation {
        m.insert("relation".into(), Value::from(&*r.endpoint));
        m.insert("relation_id".into(), Value::from(r.id));
        m.insert("remote_app".into(), Value::from(&*r.remote_app));
    }
    if let Some(u) = &e.remote_unit {
        m.insert("remote_unit".into(), Value::from(&**u));
    }
    if let Some(u) = &e.departing_unit {
        m.insert("departing_unit".into(), Value::from(&**u));
    }
    if let Some(b) = &e.app_data {
        m.insert("app_data".into(), bag_json(b));
    }
    if let Some(b) = &e.unit_data {
        m.insert("unit_data".into(), bag_json(b));
    }
    if let Some(c) = &e.config {
        let obj = c
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_json()))
            .collect();
        m.insert("config".into(), Value::Object(obj));
    }
    if let Some(s) = &e.stored_state {
        m.insert("stored_state".into(), s.to_json());
    }
    Value::Object(m)
}

/// Entries as hook log v1 text: one JSON object per line.
pub fn to_jsonl<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str(&entry_json(e).to_string());
        out.push('\n');
    }
    out
}

/// Replay `actions` from the world at `bounds` and collect each Grafana unit's whole log
/// (its `install` included), in the order it ran them. Disabled actions are skipped.
pub fn unit_logs(
    profile: Profile,
    bounds: Bounds,
    actions: &[Action],
) -> (
    World,
    std::collections::BTreeMap<GrafanaUnitIndex, Vec<Delivery>>,
) {
    let (mut world, first) = World::new(profile, bounds);
    let mut logs: std::collections::BTreeMap<GrafanaUnitIndex, Vec<Delivery>> = Default::default();
    let mut add = |ds: Vec<Delivery>| {
        for d in ds {
            logs.entry(d.unit).or_default().push(d);
        }
    };
    add(first);
    for a in actions {
        let (w, ds) = world.apply(a);
        world = w;
        add(ds);
    }
    (world, logs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::parse_line;

    #[test]
    fn entries_round_trip_through_hook_log_v1() {
        let bounds = Bounds::new(2, 2, 2).unwrap();
        let actions = [
            Action::SetAppData(0, AppData::Plain),
            Action::SetHost(0, 0, Host::Fqdn),
            Action::Relate(0),
            Action::UpgradeCharm(Legacy::Sources),
            Action::RemoveGrafanaUnit(0),
            Action::AddGrafanaUnit,
        ];
        let (_, logs) = unit_logs(Profile::Verified, bounds, &actions);
        for ds in logs.values() {
            for d in ds {
                let text = entry_json(&d.entry).to_string();
                let back = parse_line(1, &text).unwrap();
                assert_eq!(entry_json(&back), entry_json(&d.entry), "{text}");
            }
        }
    }

    /// An `upgrade-charm`'s memo key hashes its legacy state's text, taken from the
    /// catalog for the catalog's own values: it is the key of the same content from
    /// anywhere else, and differs between different states.
    #[test]
    fn a_legacy_state_hashes_by_its_content() {
        let catalog = Catalog::new(Bounds::new(2, 2, 2).unwrap());
        let upgrade = |state: &PyValue| {
            let text = format!(
                r#"{{"hook": "upgrade-charm", "stored_state": {}}}"#,
                py::json::dumps(state)
            );
            let mut e = parse_line(1, &text).unwrap();
            e.stored_state = Some(state.clone());
            e
        };
        let mut keys = Vec::new();
        for state in &catalog.legacy {
            assert_eq!(catalog.stored_state_text(state), py::json::dumps(state));
            let elsewhere = py::json::loads(&py::json::dumps(state)).unwrap();
            assert!(!state.is_same_object(&elsewhere));
            let key = entry_hash(Profile::Libpatch21, &upgrade(state), &catalog);
            assert_eq!(
                key,
                entry_hash(Profile::Libpatch21, &upgrade(&elsewhere), &catalog)
            );
            keys.push(key);
        }
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), catalog.legacy.len());
    }

    #[test]
    fn fingerprints_are_deterministic_and_distinguish() {
        let bounds = Bounds::new(2, 2, 2).unwrap();
        let (a, _) = World::new(Profile::Libpatch21, bounds);
        let (b, _) = World::new(Profile::Libpatch21, bounds);
        assert_eq!(a.fingerprint(), b.fingerprint());
        let (c, _) = a.apply(&Action::Relate(0));
        assert_ne!(a.fingerprint(), c.fingerprint());
        let (d, seen) = a.apply(&Action::ElectLeader(0));
        assert!(seen.is_empty());
        assert_eq!(a.fingerprint(), d.fingerprint());
    }

    #[test]
    fn leader_writes_reach_the_other_units() {
        let bounds = Bounds::new(1, 1, 2).unwrap();
        let actions = [
            Action::Relate(0),
            Action::SetAppData(0, AppData::Plain),
            Action::SetHost(0, 0, Host::Fqdn),
        ];
        for profile in Profile::ALL {
            let (world, logs) = unit_logs(profile, bounds, &actions);
            let follower = world.grafana_unit(1).unwrap();
            assert_eq!(follower.state.peer_data(), Some(world.peer_databag()));
            assert!(logs[&1]
                .iter()
                .any(|d| &*d.entry.hook.name == "grafana-relation-changed"));
            assert_eq!(world.leader_names(), [source_name(0, 0)]);
        }
    }
}
