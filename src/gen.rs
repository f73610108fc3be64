//! Synthetic consumer hook logs (hook log v1) for benchmarks and load tests.
//!
//! [`generate`] writes, as JSON Lines, what one Grafana unit (`grafana/0`) sees of an
//! established COS deployment and of a long life after it:
//!
//! - **Setup.** `install`, the peer relation (`grafana-relation-created`, then the other
//!   Grafana unit joining), `config-changed`, `start`, and `leader-elected`; then `R`
//!   `grafana-source` relations, each `relation-created`, one application-level
//!   `relation-changed` carrying `grafana_source_data` exactly as the reference provider
//!   writes it (`json.dumps` of its `_scrape_data`, via [`crate::provider`]), and `U` units
//!   each `relation-joined` + `relation-changed` with a host in their unit databag.
//! - **Steps.** `N` lines after the setup, mostly `grafana-source-relation-changed` with a
//!   host update (a pod moved: new address) on a random unit of a random relation, plus
//!   scale-ups (`joined` + `changed`) and scale-downs (`departed` with `departing_unit`),
//!   relations removed (`departed` per unit, then `broken`) and added (`created`,
//!   application data, units), provider upgrades changing the application data, the peer
//!   unit's `grafana-relation-changed`, `update-status`, and now and then a leadership
//!   change (`leader-settings-changed` with `leader: false`, a few hooks as a follower, then
//!   `leader-elected` with `leader: true`).
//!
//! Remote applications are a mix of source types (Prometheus, Loki, Tempo, Alertmanager,
//! Mimir) with assorted `extra_fields` (and a few `secure_extra_fields`), some of them
//! across models (`remote-<hex>` application names, as Juju shows offers). Units are
//! Kubernetes-style: scaling down removes the highest ordinal and scaling up brings it
//! back, and a removed relation's application may be related again later, so the set of
//! datasource names a log can mention is bounded by the world's size, not by its length.
//! Relation and unit counts drift around `R` and `U` and are pulled back towards them.
//!
//! By default (`leader_during_setup: false`) this unit becomes the leader at the end of
//! the setup (`leader-elected` with `leader: true`), as when leadership passes to a unit
//! that watched the deployment being formed. The log is just as valid with leadership
//! from the start, but then every setup `relation-changed` makes the leader rewrite the
//! whole peer state, and setting up a big world costs a fold time quadratic in its size;
//! with the default, setup costs the same as any other hooks and the steps after it are
//! what a benchmark measures.
//!
//! The output is a pure function of the [`GenConfig`]: the same configuration gives the
//! same bytes, on every platform and with every version of the dependencies (the random
//! numbers come from a SplitMix64 written here, not from a crate whose streams may change).
//!
//! ```
//! use grafana_source::gen::{generate, GenConfig};
//! let mut out = Vec::new();
//! let stats = generate(&GenConfig::new(3, 2, 50, 7), &mut out).unwrap();
//! let entries = grafana_source::log::parse_str(std::str::from_utf8(&out).unwrap()).unwrap();
//! assert_eq!(entries.len() as u64, stats.setup_lines + stats.step_lines);
//! assert_eq!(stats.step_lines, 50);
//! ```
use crate::log::{PEER_ENDPOINT, SOURCE_ENDPOINT};
use crate::provider::{ProviderArgs, ProviderConfig, SOURCE_DATA_KEY, SOURCE_HOST_KEY};
use crate::py::PyValue;
use crate::reducer::Profile;
use serde_json::json;
use std::io::{self, Write};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenConfig {
    /// `grafana-source` relations after the setup (the steps keep the count near it).
    pub relations: usize,
    /// Units per relation after the setup (the steps keep counts near it).
    pub units: usize,
    /// Lines after the setup.
    pub steps: u64,
    /// The seed: the same configuration gives the same bytes.
    pub seed: u64,
    /// The fold the log is meant for. With `libpatch21`, no step makes the reference
    /// raise: a unit departs from a leader only once the leader's peer data lists it (the
    /// reference's `_remove_source_from_datastore` raises `IndexError` otherwise). With
    /// `verified`, units depart whenever they like.
    pub profile_hint: Profile,
    /// Be the leader from the first line instead of from the end of the setup.
    pub leader_during_setup: bool,
}

impl GenConfig {
    /// `relations` × `units` world, `steps` lines after the setup, the default hint
    /// (`libpatch21`) and leadership from the end of the setup.
    pub fn new(relations: usize, units: usize, steps: u64, seed: u64) -> Self {
        GenConfig {
            relations,
            units,
            steps,
            seed,
            profile_hint: Profile::Libpatch21,
            leader_during_setup: false,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenStats {
    /// Lines of the setup (the first lines of the log).
    pub setup_lines: u64,
    /// Lines after the setup (`GenConfig::steps`).
    pub step_lines: u64,
    /// Bytes written, newlines included.
    pub bytes: u64,
}

/// This unit.
const THIS_UNIT: &str = "grafana/0";
/// The other Grafana unit, seen on the peer relation.
const PEER_UNIT: &str = "grafana/1";
/// The peer relation's id.
const PEER_RELATION_ID: u64 = 0;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fixed forever, so a seed always
/// gives the same log.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`; multiply-shift, bias below 2^-32 for our `n`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn hex(&mut self, digits: usize) -> String {
        let mut s = String::with_capacity(digits);
        while s.len() < digits {
            let word = self.next_u64();
            s.push_str(&format!("{word:016x}"));
        }
        s.truncate(digits);
        s
    }

    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..]
        )
    }
}

/// A remote application that can be related (at most one relation at a time, as Juju
/// allows one relation per pair of endpoints).
struct App {
    /// `JUJU_REMOTE_APP`: the application name, or `remote-<hex>` across models.
    remote_name: String,
    /// The provider's configuration, as the reference constructs it.
    provider: ProviderConfig,
    /// `grafana_source_data`, as the provider's leader last wrote it.
    source_data: String,
    /// Writes a bare `host:port` (an old provider library) instead of a URL.
    bare_host: bool,
    /// Kubernetes-style scale: the units are `0..scale`.
    scale: u32,
    /// The relation it is in, if any.
    related: bool,
}

/// A `grafana-source` relation as the generator tracks it.
struct Rel {
    id: u64,
    app: usize,
    /// The member units' ordinals (`0..len`) and their current addresses.
    addresses: Vec<String>,
}

/// The source types and what their charms pass to the provider.
const SOURCE_TYPES: [(&str, &str, u64); 5] = [
    // (type, port, weight)
    ("prometheus", "9090", 40),
    ("loki", "3100", 25),
    ("tempo", "3200", 12),
    ("alertmanager", "9093", 13),
    ("mimir", "9009", 10),
];

struct Generator<W: Write> {
    out: W,
    rng: Rng,
    config: GenConfig,
    models: Vec<(String, String)>,
    apps: Vec<App>,
    rels: Vec<Rel>,
    next_rel_id: u64,
    leader: bool,
    /// Steps left as a follower before leadership comes back.
    regain_in: Option<u64>,
    /// Whether the leader's peer data lists exactly the units the world has (the last
    /// world change was folded by a leader's `relation-changed`).
    synced: bool,
    lines: u64,
    bytes: u64,
    buf: Vec<u8>,
}

/// Write a JSON string (the generator only writes ASCII, but escape what JSON needs).
fn json_str(buf: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *buf, s).expect("writing to a Vec cannot fail");
}

fn databag(buf: &mut Vec<u8>, bag: &[(&str, &str)]) {
    buf.push(b'{');
    for (i, (k, v)) in bag.iter().enumerate() {
        if i > 0 {
            buf.extend_from_slice(b", ");
        }
        json_str(buf, k);
        buf.extend_from_slice(b": ");
        json_str(buf, v);
    }
    buf.push(b'}');
}

/// One log line; fields in the order the spec lists them.
#[derive(Default)]
struct Line<'a> {
    hook: &'a str,
    unit: Option<&'a str>,
    leader: Option<bool>,
    /// (endpoint, relation id, remote app)
    relation: Option<(&'a str, u64, &'a str)>,
    /// `Some(None)` writes `"remote_unit": null`.
    remote_unit: Option<Option<&'a str>>,
    departing_unit: Option<&'a str>,
    app_data: Option<&'a [(&'a str, &'a str)]>,
    unit_data: Option<&'a [(&'a str, &'a str)]>,
    /// Raw JSON object text.
    config: Option<&'a str>,
}

impl Line<'_> {
    fn write(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(b"{\"hook\": ");
        json_str(buf, self.hook);
        if let Some(unit) = self.unit {
            buf.extend_from_slice(b", \"unit\": ");
            json_str(buf, unit);
        }
        if let Some(leader) = self.leader {
            buf.extend_from_slice(if leader {
                b", \"leader\": true"
            } else {
                b", \"leader\": false"
            });
        }
        if let Some((endpoint, id, app)) = self.relation {
            buf.extend_from_slice(b", \"relation\": ");
            json_str(buf, endpoint);
            buf.extend_from_slice(format!(", \"relation_id\": {id}, \"remote_app\": ").as_bytes());
            json_str(buf, app);
        }
        if let Some(remote_unit) = self.remote_unit {
            buf.extend_from_slice(b", \"remote_unit\": ");
            match remote_unit {
                Some(u) => json_str(buf, u),
                None => buf.extend_from_slice(b"null"),
            }
        }
        if let Some(d) = self.departing_unit {
            buf.extend_from_slice(b", \"departing_unit\": ");
            json_str(buf, d);
        }
        if let Some(bag) = self.app_data {
            buf.extend_from_slice(b", \"app_data\": ");
            databag(buf, bag);
        }
        if let Some(bag) = self.unit_data {
            buf.extend_from_slice(b", \"unit_data\": ");
            databag(buf, bag);
        }
        if let Some(config) = self.config {
            buf.extend_from_slice(b", \"config\": ");
            buf.extend_from_slice(config.as_bytes());
        }
        buf.extend_from_slice(b"}\n");
    }
}

/// What an operation needs to know about a unit to write its lines.
struct UnitLines {
    name: String,
    address: String,
    host: String,
}

impl<W: Write> Generator<W> {
    fn emit(&mut self, line: Line) -> io::Result<()> {
        self.buf.clear();
        line.write(&mut self.buf);
        self.out.write_all(&self.buf)?;
        self.lines += 1;
        self.bytes += self.buf.len() as u64;
        Ok(())
    }

    fn plain(&mut self, hook: &str) -> io::Result<()> {
        self.emit(Line {
            hook,
            ..Line::default()
        })
    }

    fn new_app(&mut self, i: usize) -> App {
        let rng = &mut self.rng;
        let pick = rng.below(SOURCE_TYPES.iter().map(|t| t.2).sum());
        let mut acc = 0;
        let &(source_type, port, _) = SOURCE_TYPES
            .iter()
            .find(|t| {
                acc += t.2;
                pick < acc
            })
            .expect("weights cover the range");
        let app_name = format!("{source_type}-{i}");
        // Most sources live in Grafana's model; some come across models through offers.
        let model = if rng.chance(700) {
            0
        } else {
            1 + rng.index(self.models.len() - 1)
        };
        let remote_name = if model == 0 {
            app_name.clone()
        } else {
            format!("remote-{}", rng.hex(32))
        };
        let (model_name, model_uuid) = &self.models[model];
        let mut args = ProviderArgs::new(model_name, model_uuid, &app_name, source_type);
        args.source_port = PyValue::Str(port.into());
        self.set_fields(&mut args, source_type);
        let (provider, _warnings) =
            ProviderConfig::new(&args).expect("generated provider arguments are valid");
        let source_data = provider.source_data();
        let bare_host = self.rng.chance(150);
        App {
            remote_name,
            provider,
            source_data,
            bare_host,
            scale: 0,
            related: false,
        }
    }

    /// `extra_fields` / `secure_extra_fields` as the source charms pass them.
    fn set_fields(&mut self, args: &mut ProviderArgs, source_type: &str) {
        let rng = &mut self.rng;
        let extra = match (source_type, rng.below(4)) {
            ("prometheus", 0) => json!({"timeInterval": "1m"}),
            ("prometheus", 1) => json!({"httpMethod": "POST", "timeout": 60}),
            ("loki", 0..=1) => json!({"maxLines": "1000", "timeout": 60}),
            ("loki", 2) => json!({"derivedFields": [{"name": "TraceID",
                "matcherRegex": "traceID=(\\w+)", "datasourceUid": "tempo"}]}),
            ("tempo", 0..=2) => json!({
                "tracesToLogsV2": {"datasourceUid": "loki", "spanStartTimeShift": "-1h"},
                "serviceMap": {"datasourceUid": "prometheus"},
                "nodeGraph": {"enabled": true}}),
            ("alertmanager", 0) => json!({"handleGrafanaManagedAlerts": false}),
            ("mimir", _) => json!({"httpHeaderName1": "X-Scope-OrgID", "timeout": 600}),
            _ => serde_json::Value::Null,
        };
        let secure = match source_type {
            "mimir" => json!({"httpHeaderValue1": format!("tenant-{}", rng.below(100))}),
            _ if rng.chance(100) => {
                json!({"httpHeaderValue1": format!("Bearer {}", rng.hex(40))})
            }
            _ => serde_json::Value::Null,
        };
        let mut extra = extra;
        if !secure.is_null() && source_type != "mimir" {
            let mut obj = match extra {
                serde_json::Value::Object(o) => o,
                _ => serde_json::Map::new(),
            };
            obj.insert("httpHeaderName1".into(), json!("Authorization"));
            extra = serde_json::Value::Object(obj);
        }
        args.extra_fields = PyValue::from_json(&extra);
        args.secure_extra_fields = PyValue::from_json(&secure);
    }

    fn address(&mut self) -> String {
        let a = 1 + self.rng.below(250);
        let b = self.rng.below(256);
        let c = 1 + self.rng.below(254);
        format!("10.{a}.{b}.{c}")
    }

    fn unit_lines(&self, rel: &Rel, ordinal: usize) -> UnitLines {
        let app = &self.apps[rel.app];
        let address = rel.addresses[ordinal].clone();
        let host = if app.bare_host {
            let port = app.provider.args().source_port.py_str();
            format!("{address}:{port}")
        } else {
            app.provider
                .host_url("", || Ok::<_, std::convert::Infallible>(address.clone()))
                .unwrap_or_else(|e| match e {})
        };
        UnitLines {
            name: format!("{}/{ordinal}", app.remote_name),
            address,
            host,
        }
    }

    /// A unit's databag as Juju shows it: the addresses Juju writes, and the host.
    fn write_unit_changed(&mut self, r: usize, ordinal: usize, hook: &str) -> io::Result<()> {
        let u = self.unit_lines(&self.rels[r], ordinal);
        let subnet = format!("{}/32", u.address);
        let bag = [
            ("egress-subnets", subnet.as_str()),
            (SOURCE_HOST_KEY, u.host.as_str()),
            ("ingress-address", u.address.as_str()),
            ("private-address", u.address.as_str()),
        ];
        let rel = &self.rels[r];
        let remote_app = self.apps[rel.app].remote_name.clone();
        let id = rel.id;
        self.emit(Line {
            hook,
            relation: Some((SOURCE_ENDPOINT, id, &remote_app)),
            remote_unit: Some(Some(&u.name)),
            unit_data: Some(&bag),
            ..Line::default()
        })?;
        self.world_changed(true);
        Ok(())
    }

    /// Book-keeping after a line that changes the world; `changed`: it was a
    /// `relation-changed`, which a leader folds into its peer data.
    fn world_changed(&mut self, changed: bool) {
        self.synced = self.leader && changed;
    }

    /// The relation id and remote application of relation `r`.
    fn rel_ref(&self, r: usize) -> (u64, String) {
        let rel = &self.rels[r];
        (rel.id, self.apps[rel.app].remote_name.clone())
    }

    fn write_app_changed(&mut self, r: usize) -> io::Result<()> {
        let data = self.apps[self.rels[r].app].source_data.clone();
        let bag = [(SOURCE_DATA_KEY, data.as_str())];
        let (id, app) = self.rel_ref(r);
        self.emit(Line {
            hook: "grafana-source-relation-changed",
            relation: Some((SOURCE_ENDPOINT, id, &app)),
            remote_unit: Some(None),
            app_data: Some(&bag),
            ..Line::default()
        })?;
        self.world_changed(true);
        Ok(())
    }

    /// A unit joins (`joined` + `changed`): two lines.
    fn scale_up(&mut self, r: usize) -> io::Result<()> {
        let ordinal = self.rels[r].addresses.len();
        let address = self.address();
        self.rels[r].addresses.push(address);
        let app = self.rels[r].app;
        self.apps[app].scale = self.apps[app].scale.max(ordinal as u32 + 1);
        let u = self.unit_lines(&self.rels[r], ordinal);
        let (id, app) = self.rel_ref(r);
        self.emit(Line {
            hook: "grafana-source-relation-joined",
            relation: Some((SOURCE_ENDPOINT, id, &app)),
            remote_unit: Some(Some(&u.name)),
            ..Line::default()
        })?;
        self.world_changed(false);
        self.write_unit_changed(r, ordinal, "grafana-source-relation-changed")
    }

    /// The highest unit leaves: one line.
    fn scale_down(&mut self, r: usize) -> io::Result<()> {
        let ordinal = self.rels[r].addresses.len() - 1;
        let u = self.unit_lines(&self.rels[r], ordinal);
        let (id, app) = self.rel_ref(r);
        self.emit(Line {
            hook: "grafana-source-relation-departed",
            relation: Some((SOURCE_ENDPOINT, id, &app)),
            remote_unit: Some(Some(&u.name)),
            departing_unit: Some(&u.name),
            ..Line::default()
        })?;
        self.rels[r].addresses.pop();
        let app = self.rels[r].app;
        self.apps[app].scale = self.rels[r].addresses.len() as u32;
        // A leader's departed handler removes the unit from its peer data; a follower's
        // does nothing, so its view and the world part ways.
        self.synced = self.synced && self.leader;
        Ok(())
    }

    /// Relate a free application: `created`, its application data, then its units.
    /// Lines: 2 + 2 × units.
    fn add_relation(&mut self, app: usize, units: usize) -> io::Result<()> {
        self.next_rel_id += 1 + self.rng.below(3);
        let id = self.next_rel_id;
        self.apps[app].related = true;
        self.rels.push(Rel {
            id,
            app,
            addresses: Vec::new(),
        });
        let r = self.rels.len() - 1;
        let (id, remote_app) = self.rel_ref(r);
        self.emit(Line {
            hook: "grafana-source-relation-created",
            relation: Some((SOURCE_ENDPOINT, id, &remote_app)),
            ..Line::default()
        })?;
        self.world_changed(false);
        self.write_app_changed(r)?;
        for _ in 0..units {
            self.scale_up(r)?;
        }
        Ok(())
    }

    /// Every unit departs, then the relation breaks. Lines: units + 1.
    fn remove_relation(&mut self, r: usize) -> io::Result<()> {
        let scale = self.apps[self.rels[r].app].scale;
        while !self.rels[r].addresses.is_empty() {
            self.scale_down(r)?;
        }
        let (id, app) = self.rel_ref(r);
        self.emit(Line {
            hook: "grafana-source-relation-broken",
            relation: Some((SOURCE_ENDPOINT, id, &app)),
            ..Line::default()
        })?;
        let rel = self.rels.swap_remove(r);
        // The application keeps running at its scale, unrelated.
        self.apps[rel.app].related = false;
        self.apps[rel.app].scale = scale;
        Ok(())
    }

    fn free_app(&mut self) -> Option<usize> {
        let free: Vec<usize> = (0..self.apps.len())
            .filter(|&i| !self.apps[i].related)
            .collect();
        (!free.is_empty()).then(|| free[self.rng.index(free.len())])
    }

    /// A pod moved: its unit's addresses (and host) change.
    fn host_update(&mut self) -> io::Result<bool> {
        for _ in 0..8 {
            if self.rels.is_empty() {
                break;
            }
            let r = self.rng.index(self.rels.len());
            let n = self.rels[r].addresses.len();
            if n == 0 {
                continue;
            }
            let ordinal = self.rng.index(n);
            self.rels[r].addresses[ordinal] = self.address();
            self.write_unit_changed(r, ordinal, "grafana-source-relation-changed")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Whether a unit may depart now without making the hinted profile raise.
    fn may_depart(&self) -> bool {
        match self.config.profile_hint {
            Profile::Libpatch21 => !self.leader || self.synced,
            Profile::Verified => true,
        }
    }

    fn setup(&mut self) -> io::Result<()> {
        let lead = self.config.leader_during_setup;
        self.leader = lead;
        self.emit(Line {
            hook: "install",
            unit: Some(THIS_UNIT),
            leader: Some(lead),
            ..Line::default()
        })?;
        self.emit(Line {
            hook: "grafana-relation-created",
            relation: Some((PEER_ENDPOINT, PEER_RELATION_ID, "grafana")),
            ..Line::default()
        })?;
        if lead {
            self.plain("leader-elected")?;
        }
        self.emit(Line {
            hook: "config-changed",
            config: Some(r#"{"datasource_query_timeout": 300}"#),
            ..Line::default()
        })?;
        self.plain("start")?;
        self.emit(Line {
            hook: "grafana-relation-joined",
            relation: Some((PEER_ENDPOINT, PEER_RELATION_ID, "grafana")),
            remote_unit: Some(Some(PEER_UNIT)),
            ..Line::default()
        })?;
        for i in 0..self.config.relations {
            self.add_relation(i, self.config.units)?;
        }
        if !lead {
            self.leader = true;
            self.emit(Line {
                hook: "leader-elected",
                leader: Some(true),
                ..Line::default()
            })?;
        }
        Ok(())
    }

    /// One operation of at most `budget` lines (at least one line is always written).
    fn step(&mut self, budget: u64) -> io::Result<()> {
        if let Some(n) = self.regain_in {
            if n == 0 {
                self.regain_in = None;
                self.leader = true;
                self.synced = false;
                return self.emit(Line {
                    hook: "leader-elected",
                    leader: Some(true),
                    ..Line::default()
                });
            }
            self.regain_in = Some(n - 1);
        }
        let target_rels = self.config.relations;
        let target_units = self.config.units;
        let roll = self.rng.below(10_000);
        match roll {
            // Leadership moves away for a few hooks.
            0..=19 if self.leader => {
                self.leader = false;
                self.regain_in = Some(1 + self.rng.below(8));
                return self.emit(Line {
                    hook: "leader-settings-changed",
                    leader: Some(false),
                    ..Line::default()
                });
            }
            20..=119 => {
                return self.emit(Line {
                    hook: "grafana-relation-changed",
                    relation: Some((PEER_ENDPOINT, PEER_RELATION_ID, "grafana")),
                    remote_unit: Some(Some(PEER_UNIT)),
                    ..Line::default()
                });
            }
            120..=219 => return self.plain("update-status"),
            // A provider upgrade changes its application data.
            220..=249 if !self.rels.is_empty() => {
                let r = self.rng.index(self.rels.len());
                let app = self.rels[r].app;
                let source_type = self.apps[app].provider.source_type().to_string();
                let mut args = self.apps[app].provider.args().clone();
                self.set_fields(&mut args, &source_type);
                let (provider, _) =
                    ProviderConfig::new(&args).expect("generated provider arguments are valid");
                self.apps[app].source_data = provider.source_data();
                self.apps[app].provider = provider;
                return self.write_app_changed(r);
            }
            // Scale a relation's application up or down, towards `units`.
            250..=449 if !self.rels.is_empty() => {
                let r = self.rng.index(self.rels.len());
                let n = self.rels[r].addresses.len();
                let min = usize::from(target_units > 0);
                let max = (2 * target_units).max(min);
                let up_per_mille = match n.cmp(&target_units) {
                    std::cmp::Ordering::Less => 750,
                    std::cmp::Ordering::Equal => 500,
                    std::cmp::Ordering::Greater => 250,
                };
                let up = self.rng.chance(up_per_mille);
                if up && n < max && budget >= 2 {
                    return self.scale_up(r);
                }
                if !up && n > min && self.may_depart() {
                    return self.scale_down(r);
                }
            }
            // A relation comes or goes, towards `relations`.
            450..=464 => {
                let n = self.rels.len();
                let add_per_mille = match n.cmp(&target_rels) {
                    std::cmp::Ordering::Less => 750,
                    std::cmp::Ordering::Equal => 500,
                    std::cmp::Ordering::Greater => 250,
                };
                let add = self.rng.chance(add_per_mille);
                if add && n < 2 * target_rels.max(1) {
                    if let Some(app) = self.free_app() {
                        // Kubernetes keeps an unrelated application's scale.
                        let units = match self.apps[app].scale as usize {
                            0 => target_units,
                            s => s,
                        };
                        if budget >= 2 + 2 * units as u64 {
                            return self.add_relation(app, units);
                        }
                    }
                }
                if !add && n > 0 && self.may_depart() {
                    let r = self.rng.index(n);
                    if budget > self.rels[r].addresses.len() as u64 {
                        return self.remove_relation(r);
                    }
                }
            }
            _ => {}
        }
        if !self.host_update()? {
            self.plain("update-status")?;
        }
        Ok(())
    }
}

/// Write a hook log for `config` to `out`, one JSON object per line.
pub fn generate(config: &GenConfig, out: impl Write) -> io::Result<GenStats> {
    let mut rng = Rng(config.seed ^ 0x6772_6166_616e_6121);
    let mut models = vec![("cos".to_string(), rng.uuid())];
    for i in 1..=4 {
        models.push((format!("edge-{i}"), rng.uuid()));
    }
    let mut g = Generator {
        out: io::BufWriter::with_capacity(1 << 16, out),
        rng,
        config: config.clone(),
        models,
        apps: Vec::new(),
        rels: Vec::new(),
        next_rel_id: 0,
        leader: false,
        regain_in: None,
        synced: true,
        lines: 0,
        bytes: 0,
        buf: Vec::with_capacity(1024),
    };
    // Twice the relations the steps may reach, so there is always an application to relate.
    let pool = 2 * config.relations.max(1) + 2;
    for i in 0..pool {
        let app = g.new_app(i);
        g.apps.push(app);
    }
    g.setup()?;
    let setup_lines = g.lines;
    let end = setup_lines + config.steps;
    while g.lines < end {
        g.step(end - g.lines)?;
    }
    g.out.flush()?;
    Ok(GenStats {
        setup_lines,
        step_lines: g.lines - setup_lines,
        bytes: g.bytes,
    })
}
