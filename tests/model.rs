//! State-machine proptests over the world simulator (`grafana_source::sim`).
//!
//! Random sequences of Juju operations (relate, unrelate, scale providers and Grafana up and
//! down, publish / change / clear hosts, set / change / remove / corrupt application data,
//! move leadership, upgrade with legacy state) run against two simulated worlds, one per
//! profile. Every hook each Grafana unit sees is also folded by an independent
//! [`Replay`] per unit, exactly as `grafana-source check` folds a log, and:
//!
//! - the simulator's own fold and the `Replay` agree on every step's violations and state;
//! - under `verified`, no hook fails and no invariant breaks, at any step, on any unit;
//! - under `verified`, after every operation, the leader provisions exactly what a small
//!   reference model of the declarative spec (ARCHITECTURE.md) derives straight from the
//!   simulated world: for each related provider in relation-id order whose application
//!   data is well-formed, each unit with a non-empty host gives one datasource, the first
//!   of two equal names winning; every other Grafana unit provisions the same;
//! - at the end, every unit's log, written as hook log v1 text and replayed from it, breaks
//!   the same invariants at the same steps.
//!
//! The simulator delivers an operation's hooks to every unit before the next operation, so
//! every point between operations is quiescent: the leader has processed the latest change
//! and the other units have received what it wrote.
//!
//! Cases: `PROPTEST_CASES` (default [`DEFAULT_CASES`] in release, [`DEFAULT_DEBUG_CASES`] in
//! a debug build). Failures are persisted to
//! `proptest-regressions/model.txt` and replayed first on every run.
use grafana_source::log::Entry;
use grafana_source::py::PyValue;
use grafana_source::replay::{replay_str, Replay};
use grafana_source::sim::{self, Action, Bounds, GrafanaUnitIndex, World};
use grafana_source::world::{PeerAtStart, State};
use grafana_source::Profile;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use std::collections::BTreeMap;

/// About a minute on two shared cores in release (`cargo test --release --test model`);
/// a debug build (plain `cargo test`, as CI runs it) folds about 8 times slower, so it runs
/// [`DEFAULT_DEBUG_CASES`] in about half a minute.
const DEFAULT_CASES: u32 = 16_000;
const DEFAULT_DEBUG_CASES: u32 = 1_500;

fn config() -> Config {
    let base = Config::default();
    let cases = match std::env::var("PROPTEST_CASES") {
        Ok(_) => base.cases,
        Err(_) if cfg!(debug_assertions) => DEFAULT_DEBUG_CASES,
        Err(_) => DEFAULT_CASES,
    };
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/model.txt",
        ))),
        ..base
    }
}

/// The reference state machine: the simulated world under `verified` drives which
/// operations are possible (bounds are generated too, so they shrink).
struct Operations;

impl ReferenceStateMachine for Operations {
    type State = World;
    type Transition = Action;

    fn init_state() -> BoxedStrategy<World> {
        (1usize..=3, 1usize..=3, 1usize..=3)
            .prop_map(|(n, m, g)| World::new(Profile::Verified, Bounds::new(n, m, g).unwrap()).0)
            .boxed()
    }

    fn transitions(state: &World) -> BoxedStrategy<Action> {
        // Never empty: an upgrade is always possible.
        proptest::sample::select(state.actions()).boxed()
    }

    fn apply(state: World, action: &Action) -> World {
        state.apply(action).0
    }

    fn preconditions(state: &World, action: &Action) -> bool {
        state.is_enabled(action)
    }
}

/// One profile's run: its world, a `Replay` per Grafana unit, and each unit's log with the
/// invariants each step broke.
struct Run {
    world: World,
    replays: BTreeMap<GrafanaUnitIndex, Replay>,
    logs: BTreeMap<GrafanaUnitIndex, Vec<(Entry, Vec<&'static str>)>>,
    actions: Vec<Action>,
}

impl Run {
    fn new(profile: Profile, bounds: Bounds) -> Run {
        let (world, first) = World::new(profile, bounds);
        let mut run = Run {
            world,
            replays: BTreeMap::new(),
            logs: BTreeMap::new(),
            actions: Vec::new(),
        };
        run.fold(first);
        run
    }

    fn profile(&self) -> Profile {
        self.world.profile()
    }

    fn apply(&mut self, action: Action) {
        let (world, seen) = self.world.apply(&action);
        self.world = world;
        self.actions.push(action);
        self.fold(seen);
    }

    fn fold(&mut self, seen: Vec<sim::Delivery>) {
        let profile = self.profile();
        for d in seen {
            let replay = self
                .replays
                .entry(d.unit)
                .or_insert_with(|| Replay::new(profile, PeerAtStart::Visible));
            let report = replay.step(&d.entry);
            let got: Vec<&'static str> = report
                .violations
                .iter()
                .map(|v| v.invariant.name())
                .collect();
            let sim_saw: Vec<&'static str> =
                d.violations.iter().map(|v| v.invariant.name()).collect();
            let log = self.logs.entry(d.unit).or_default();
            let step = log.len();
            assert_eq!(
                got,
                sim_saw,
                "{}: the simulator's fold and Replay disagree on grafana/{} step {step} ({})",
                profile.name(),
                d.unit,
                d.entry.hook.name
            );
            if profile == Profile::Verified {
                assert!(
                    report.outcome.is_ok() && got.is_empty(),
                    "verified broke {got:?} (outcome {:?}) on grafana/{} at step {step} ({}) after {:?}\nlog:\n{}",
                    report.outcome,
                    d.unit,
                    d.entry.hook.name,
                    self.actions.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                    sim::to_jsonl(log.iter().map(|(e, _)| e).chain([&d.entry])),
                );
            }
            log.push((d.entry, got));
        }
        for unit in self.world.grafana_units() {
            let replayed: &State = self.replays[&unit.number].state();
            assert!(
                *replayed == unit.state,
                "{}: grafana/{} folded to a different state in the simulator",
                profile.name(),
                unit.number
            );
        }
    }
}

/// The system under test: both profiles' runs.
struct Sut {
    libpatch21: Run,
    verified: Run,
}

/// Provisioned names and urls, from a render.
fn provisioned(replay: &Replay) -> BTreeMap<String, String> {
    let text = |v: &PyValue| match v {
        PyValue::Str(s) => s.to_string(),
        other => other.py_repr(),
    };
    match replay.rendered() {
        Ok(r) => r
            .datasources
            .iter()
            .map(|d| (text(&d.name), text(&d.url)))
            .collect(),
        Err(e) => panic!("the verified render failed: {}", e.name()),
    }
}

/// The identity in a well-formed `grafana_source_data` (spec terms, ARCHITECTURE.md):
/// a JSON object with string `model`, `model_uuid`, `application` and `type`, and
/// `extra_fields` / `secure_extra_fields` absent, null or objects (`extra_fields.timeout`,
/// if any, an integer).
fn identity(app_data: &grafana_source::log::Databag) -> Option<(String, String, String)> {
    use serde_json::Value;
    let text = app_data.get("grafana_source_data")?;
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    s("type")?;
    for k in ["extra_fields", "secure_extra_fields"] {
        match m.get(k) {
            None | Some(Value::Null) => {}
            Some(Value::Object(o)) => {
                if k == "extra_fields" && o.get("timeout").is_some_and(|t| !t.is_i64()) {
                    return None;
                }
            }
            Some(_) => return None,
        }
    }
    Some((s("model")?, s("model_uuid")?, s("application")?))
}

/// The reference model: what the leader must provision in `world` (name to url).
fn expected(world: &World) -> BTreeMap<String, String> {
    let mut related: Vec<(u64, usize)> = world
        .providers()
        .iter()
        .enumerate()
        .filter_map(|(p, app)| app.relation.map(|id| (id, p)))
        .collect();
    related.sort();
    let mut out = BTreeMap::new();
    for (_, p) in related {
        let Some((model, uuid, app)) = identity(world.app_databag(p)) else {
            continue;
        };
        for unit in &world.providers()[p].units {
            let data = world.unit_databag(p, unit.number);
            let Some(host) = data.get("grafana_source_host").filter(|h| !h.is_empty()) else {
                continue;
            };
            let url = if host.contains("://") {
                host.to_string()
            } else {
                format!("http://{host}")
            };
            out.entry(format!("juju_{model}_{uuid}_{app}_{}", unit.number))
                .or_insert(url);
        }
    }
    out
}

struct ModelTest;

impl StateMachineTest for ModelTest {
    type SystemUnderTest = Sut;
    type Reference = Operations;

    fn init_test(reference: &World) -> Sut {
        Sut {
            libpatch21: Run::new(Profile::Libpatch21, reference.bounds()),
            verified: Run::new(Profile::Verified, reference.bounds()),
        }
    }

    fn apply(mut sut: Sut, reference: &World, action: Action) -> Sut {
        sut.libpatch21.apply(action);
        sut.verified.apply(action);
        assert_eq!(
            sut.verified.world.fingerprint(),
            reference.fingerprint(),
            "the simulator is not deterministic"
        );
        sut
    }

    fn check_invariants(sut: &Sut, reference: &World) {
        let run = &sut.verified;
        let want = expected(reference);
        let leader = &run.replays[&run.world.leader()];
        assert_eq!(
            provisioned(leader),
            want,
            "the leader grafana/{} provisions other datasources than the spec derives, after {:?}",
            run.world.leader(),
            run.actions
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
        );
        for unit in run.world.grafana_units() {
            assert_eq!(
                provisioned(&run.replays[&unit.number]),
                want,
                "grafana/{} provisions other datasources than the leader, after {:?}",
                unit.number,
                run.actions
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
            );
        }
    }

    fn teardown(sut: Sut, _reference: World) {
        for run in [&sut.libpatch21, &sut.verified] {
            for (unit, log) in &run.logs {
                let text = sim::to_jsonl(log.iter().map(|(e, _)| e));
                let reports = replay_str(&text, run.profile()).expect("the log parses");
                assert_eq!(reports.len(), log.len());
                for (r, (_, want)) in reports.iter().zip(log) {
                    let got: Vec<&str> = r.violations.iter().map(|v| v.invariant.name()).collect();
                    assert_eq!(
                        &got,
                        want,
                        "{}: grafana/{unit}'s log replayed from text differs at step {}",
                        run.profile().name(),
                        r.step
                    );
                }
            }
        }
    }
}

prop_state_machine! {
    #![proptest_config(config())]

    #[test]
    fn operations_keep_the_verified_profile_sound(sequential 1..100 => ModelTest);
}
