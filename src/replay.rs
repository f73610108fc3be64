//! The replay driver: fold a log entry by entry, render, check, report.
//!
//! [`Replay`] holds the current state and its render; each [`Replay::step`] folds one
//! entry with the profile's reducer, renders the new state, runs the invariant checker
//! and returns the [`StepReport`]. It keeps nothing per step, so replaying a stream uses
//! memory bounded by the world, not by the log.
use crate::invariants::{self, StepView};
use crate::log::{self, Entry, LogError};
use crate::reducer::{self, Profile, Step};
use crate::render::{self, RenderResult};
use crate::report::StepReport;
use crate::world::{PeerAtStart, State};

/// A fold in progress.
pub struct Replay {
    profile: Profile,
    state: State,
    rendered: RenderResult,
    render_memo: render::RenderMemo,
    steps: u64,
    /// Recompute everything on every step (the oracle; see [`Replay::exact`]).
    exact: bool,
}

impl Replay {
    pub fn new(profile: Profile, peer: PeerAtStart) -> Self {
        let state = State::new(peer);
        let rendered = render::render(profile, &state);
        Replay {
            profile,
            state,
            rendered,
            render_memo: render::RenderMemo::default(),
            steps: 0,
            exact: false,
        }
    }

    /// A replay that keeps no memo and no render between steps: each step recomputes what
    /// the reference recomputes ([`reducer::step_exact`]) and renders from scratch. O(world)
    /// per step; the oracle that differential tests and fuzz targets hold the incremental
    /// replay to.
    pub fn exact(profile: Profile, peer: PeerAtStart) -> Self {
        Replay {
            exact: true,
            ..Replay::new(profile, peer)
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn rendered(&self) -> &RenderResult {
        &self.rendered
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Fold one entry and report on it.
    pub fn step(&mut self, entry: &Entry) -> StepReport {
        let Step {
            seen,
            after,
            effects,
            rendered,
        } = if self.exact {
            reducer::step_exact(self.profile, &self.state, entry)
        } else {
            reducer::step_moving_on(self.profile, &mut self.state, entry)
        };
        let rendered = match rendered {
            Some(r) => r,
            None if self.exact => render::render(self.profile, &after),
            None if after.renders_like(&self.state) => self.rendered.clone(),
            // May release the runs of `self.rendered` (see `render_incremental`): it is
            // only read by the checks below, then replaced.
            None => render::render_incremental(
                self.profile,
                &after,
                &mut self.render_memo,
                &mut self.rendered,
            ),
        };
        let violations = invariants::check(&StepView {
            entry,
            before: &self.state,
            seen: &seen,
            after: &after,
            effects: &effects,
            rendered_before: &self.rendered,
            rendered_after: &rendered,
        });
        let report = StepReport {
            step: self.steps,
            line: entry.line,
            hook: entry.hook.name.clone(),
            outcome: effects.outcome,
            emitted: effects.emitted,
            peer_app_data: after.peer_data().cloned().unwrap_or_default(),
            datasources: rendered.clone(),
            violations,
            diagnostics: effects.diagnostics,
        };
        self.state = after;
        self.rendered = rendered;
        self.steps += 1;
        report
    }
}

/// Replay a whole log held in memory.
pub fn replay_str(text: &str, profile: Profile) -> Result<Vec<StepReport>, LogError> {
    let entries = log::parse_str(text)?;
    let peer = PeerAtStart::from_hooks(entries.iter().map(|e| &*e.hook.name));
    let mut replay = Replay::new(profile, peer);
    Ok(entries.iter().map(|e| replay.step(e)).collect())
}

/// Whether the caller wants more steps after the one just reported.
pub enum Flow {
    Continue,
    Stop,
}

/// Decide the peer relation's visibility at the start of a stream of entries.
///
/// With `known`, nothing is read ahead. Otherwise entries are read ahead until the first
/// `grafana-relation-*` line decides it (or the log ends); for real logs that is a short
/// prefix, and the returned iterator replays it before streaming the rest. A malformed
/// line inside the read-ahead is returned as an error at its position in the stream.
pub fn decide_peer<I>(
    entries: I,
    known: Option<PeerAtStart>,
) -> (PeerAtStart, impl Iterator<Item = Result<Entry, LogError>>)
where
    I: IntoIterator<Item = Result<Entry, LogError>>,
{
    let mut rest = entries.into_iter();
    let mut ahead: Vec<Result<Entry, LogError>> = Vec::new();
    let peer = match known {
        Some(p) => p,
        None => loop {
            match rest.next() {
                None => break PeerAtStart::Visible,
                Some(Err(e)) => {
                    ahead.push(Err(e));
                    break PeerAtStart::Visible;
                }
                Some(Ok(e)) => {
                    let hook = e.hook.name.clone();
                    ahead.push(Ok(e));
                    if hook.starts_with("grafana-relation-") {
                        break PeerAtStart::from_hooks([&*hook]);
                    }
                }
            }
        },
    };
    (peer, ahead.into_iter().chain(rest))
}

/// Stream a log through a [`Replay`], calling `sink` after every step with the replay
/// (for its state) and the step's report. `peer`: see [`decide_peer`]. Returns the replay
/// as it stands after the last step folded.
pub fn replay_stream<I, F>(
    entries: I,
    profile: Profile,
    peer: Option<PeerAtStart>,
    mut sink: F,
) -> Result<Replay, LogError>
where
    I: IntoIterator<Item = Result<Entry, LogError>>,
    F: FnMut(&Replay, StepReport) -> Flow,
{
    let (peer, entries) = decide_peer(entries, peer);
    let mut replay = Replay::new(profile, peer);
    for entry in entries {
        let report = replay.step(&entry?);
        if let Flow::Stop = sink(&replay, report) {
            break;
        }
    }
    Ok(replay)
}

/// Every state of a replay, kept for time travel.
///
/// States share structure (`imbl`), so keeping one per step costs what each step changed,
/// not a copy of the world; any step's state, render and report are reachable without
/// folding again from the start.
pub struct Timeline {
    profile: Profile,
    /// `states[0]` is the state before the first line; `states[n + 1]` is after step `n`.
    states: Vec<State>,
    /// Each step's report without what the state after it gives back (see [`Kept`]).
    reports: Vec<Kept>,
}

/// What a [`Timeline`] keeps of a step's report: 56 bytes instead of a `StepReport`'s 152
/// (a kept step is its state's changed paths and this). The render is a pure function of
/// the state after the step and is made again when asked for (keeping each step's render
/// would keep a copy of the paths it changed in the list of runs); the peer databag is that
/// state's; the step is the index.
struct Kept {
    line: u64,
    hook: std::sync::Arc<str>,
    outcome: Result<(), crate::py::PyExc>,
    emitted: Box<[reducer::Event]>,
    /// Violations and diagnostics, which most steps have none of.
    findings: Option<Box<Findings>>,
}

type Findings = (Vec<invariants::Violation>, Vec<reducer::Diagnostic>);

impl Kept {
    fn new(r: StepReport) -> Kept {
        let findings = (!r.violations.is_empty() || !r.diagnostics.is_empty())
            .then(|| Box::new((r.violations, r.diagnostics)));
        Kept {
            line: r.line,
            hook: r.hook,
            outcome: r.outcome,
            emitted: r.emitted.into_boxed_slice(),
            findings,
        }
    }
}

impl Timeline {
    /// Fold a whole stream, keeping every state. `peer`: see [`decide_peer`].
    pub fn record<I>(
        entries: I,
        profile: Profile,
        peer: Option<PeerAtStart>,
    ) -> Result<Self, LogError>
    where
        I: IntoIterator<Item = Result<Entry, LogError>>,
    {
        let (peer, entries) = decide_peer(entries, peer);
        let mut replay = Replay::new(profile, peer);
        let mut states = vec![replay.state().clone()];
        let mut reports = Vec::new();
        for entry in entries {
            reports.push(Kept::new(replay.step(&entry?)));
            // The memo is a cache the live replay carries forward; a kept state needs
            // none (it is not state), and keeping one per step would cost more than the
            // step changed.
            let mut kept = replay.state().clone();
            kept.memo = Default::default();
            states.push(kept);
        }
        // Built once, then only read: no slack kept beside the steps.
        states.shrink_to_fit();
        reports.shrink_to_fit();
        Ok(Timeline {
            profile,
            states,
            reports,
        })
    }

    /// Number of steps folded.
    pub fn len(&self) -> usize {
        self.reports.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }

    /// The state after step `n` (0-based), if the log has it.
    pub fn state_after(&self, n: usize) -> Option<&State> {
        self.states.get(n + 1)
    }

    /// The report of step `n`, as the replay gave it; its render is made again from the
    /// state after the step ([`Timeline::rendered_after`]).
    pub fn report(&self, n: usize) -> Option<StepReport> {
        let kept = self.reports.get(n)?;
        let after = self.state_after(n)?;
        let (violations, diagnostics) = kept.findings.as_deref().cloned().unwrap_or_default();
        Some(StepReport {
            step: n as u64,
            line: kept.line,
            hook: kept.hook.clone(),
            outcome: kept.outcome,
            emitted: kept.emitted.to_vec(),
            peer_app_data: after.peer_data().cloned().unwrap_or_default(),
            datasources: self.rendered_after(n)?,
            violations,
            diagnostics,
        })
    }

    /// The render after step `n`.
    pub fn rendered_after(&self, n: usize) -> Option<RenderResult> {
        self.state_after(n).map(|s| render::render(self.profile, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kept report is the part of a kept step that does not depend on the world: it
    /// stays small (on 64-bit targets, where it is measured).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_kept_report_is_small() {
        assert_eq!(std::mem::size_of::<Kept>(), 56);
        assert!(std::mem::size_of::<Kept>() < std::mem::size_of::<StepReport>() / 2);
    }

    /// A report with findings keeps them, one without keeps no box for them, and the
    /// report comes back whole, step and peer databag from the state after it.
    #[test]
    fn timeline_gives_back_what_the_replay_reported() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/conformance/cases/024-edge-upgrade-legacy-merge-peer-wins.jsonl"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let replayed = replay_str(&text, Profile::Libpatch21).unwrap();
        let t = Timeline::record(
            log::LogReader::new(text.as_bytes()),
            Profile::Libpatch21,
            None,
        )
        .unwrap();
        let with_findings = |r: &StepReport| !r.violations.is_empty() || !r.diagnostics.is_empty();
        assert!(replayed.iter().any(with_findings) && !replayed.iter().all(with_findings));
        for (n, want) in replayed.iter().enumerate() {
            assert_eq!(
                t.reports[n].findings.is_some(),
                with_findings(want),
                "step {n}"
            );
            assert_eq!(t.report(n).unwrap().to_json(), want.to_json(), "step {n}");
        }
    }
}
