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

/// How many entries [`decide_peer`] holds back at most while it waits for a peer hook:
/// real logs decide within their first few lines (Juju creates the peer relation right
/// after `install`), and what is held back is held in memory.
pub const PEER_READ_AHEAD_MAX: usize = 100_000;

/// Decide the peer relation's visibility at the start of a stream of entries.
///
/// With `known`, nothing is read ahead. Otherwise entries are read ahead until the first
/// `grafana-relation-*` line decides it (or the log ends); for real logs that is a short
/// prefix, and the returned iterator replays it before streaming the rest. A malformed
/// line inside the read-ahead is returned as an error at its position in the stream. Past
/// [`PEER_READ_AHEAD_MAX`] entries without a decision, the stream is
/// [`LogError::PeerUndecided`] before any entry: nothing is folded on a guess.
pub fn decide_peer<I>(
    entries: I,
    known: Option<PeerAtStart>,
) -> (PeerAtStart, impl Iterator<Item = Result<Entry, LogError>>)
where
    I: IntoIterator<Item = Result<Entry, LogError>>,
{
    decide_peer_within(entries, known, PEER_READ_AHEAD_MAX)
}

/// [`decide_peer`], holding back at most `max` entries.
fn decide_peer_within<I>(
    entries: I,
    known: Option<PeerAtStart>,
    max: usize,
) -> (PeerAtStart, impl Iterator<Item = Result<Entry, LogError>>)
where
    I: IntoIterator<Item = Result<Entry, LogError>>,
{
    let mut rest = entries.into_iter();
    let mut ahead: Vec<Result<Entry, LogError>> = Vec::new();
    let mut undecided = false;
    let peer = match known {
        Some(p) => p,
        None => loop {
            match rest.next() {
                None => break PeerAtStart::Visible,
                Some(Err(e)) => {
                    ahead.push(Err(e));
                    break PeerAtStart::Visible;
                }
                Some(Ok(e)) => match PeerAtStart::decided_by(&e.hook.name) {
                    Some(peer) => {
                        ahead.push(Ok(e));
                        break peer;
                    }
                    None if ahead.len() == max => {
                        let held = ahead.len();
                        ahead = vec![Err(LogError::PeerUndecided { line: e.line, held })];
                        undecided = true;
                        break PeerAtStart::Visible;
                    }
                    None => ahead.push(Ok(e)),
                },
            }
        },
    };
    // Nothing follows an undecided stream's error: no entry is folded on a guess.
    let rest = rest.take(if undecided { 0 } else { usize::MAX });
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

/// Every state of a replay, kept for time travel: the entries and reports of every step,
/// and whole states (checkpoints) far enough apart that their cost spreads thin.
///
/// A kept step costs what its line brought (the parsed [`Entry`], shared names and all)
/// and a 32-byte report; a checkpoint costs the paths its state does not share with the
/// one before, at most the world. Checkpoints are [`Spacing`] steps apart, a number that
/// grows with the world the checkpoint holds, so each step pays a bounded share of one
/// (see BENCHMARKS.md for the bytes). The state after any step is the nearest checkpoint
/// at or before it folded forward with the same pure reducer: [`Timeline::state_after`]
/// folds at most one spacing's worth of entries, and reading steps in ascending order
/// folds each entry once (a cursor stays where the last read left it).
///
/// ```
/// use grafana_source::log::LogReader;
/// use grafana_source::replay::{replay_str, Timeline};
/// use grafana_source::Profile;
///
/// let log = concat!(
///     r#"{"hook": "grafana-source-relation-created", "relation": "grafana-source", "#,
///     r#""relation_id": 3, "remote_app": "prom", "unit": "grafana/0", "leader": true}"#,
///     "\n",
///     r#"{"hook": "grafana-source-relation-joined", "relation": "grafana-source", "#,
///     r#""relation_id": 3, "remote_app": "prom", "remote_unit": "prom/0"}"#,
///     "\n",
/// );
/// let t = Timeline::record(LogReader::new(log.as_bytes()), Profile::Libpatch21, None)?;
/// assert_eq!(t.len(), 2);
/// let joined = t.state_after(1).unwrap();
/// assert_eq!(joined.relations[&3].units.len(), 1);
/// // The same report as a replay gives, made again from the kept state.
/// let replayed = replay_str(log, Profile::Libpatch21)?;
/// assert_eq!(t.report(1).unwrap().to_json(), replayed[1].to_json());
/// # Ok::<(), grafana_source::log::LogError>(())
/// ```
pub struct Timeline {
    profile: Profile,
    /// Every entry folded; entry `n` is step `n`.
    entries: Vec<Entry>,
    /// Each step's report without what the state after it gives back (see [`Kept`]).
    reports: Vec<Kept>,
    /// `(i, state)` ascending by `i`: the state after `i` steps (`(0, _)`: before any).
    checkpoints: Vec<(usize, State)>,
    /// The last state a read made, after `.0` steps, with its memo: a read at or after it
    /// (and after the checkpoint before it) folds on from there. `.0` is `usize::MAX`
    /// while a fold is under way, so a read after a panic in one starts again from a
    /// checkpoint instead of from a state taken apart.
    cursor: std::sync::Mutex<(usize, State)>,
}

/// How far apart a [`Timeline`]'s checkpoints are: the next checkpoint after one whose
/// state has `r` relations with `u` remote units between them is
/// `max(min, per_member × (r + u), 1)` steps later ([`Spacing::after`],
/// [`Spacing::for_members`]).
///
/// A checkpoint costs at most its whole state, which grows with units and relations;
/// spacing checkpoints in proportion spreads that cost to a constant per step, and a read
/// folds at most that many entries.
#[derive(Clone, Copy, Debug)]
pub struct Spacing {
    /// The fewest steps between checkpoints, whatever the world (a small world's
    /// checkpoint is cheap, but a read then folds no more than this).
    pub min: usize,
    /// Steps per remote unit and per relation: the spacing is this times the members
    /// when that is more than `min` (not `min` plus it).
    pub per_member: usize,
}

impl Spacing {
    /// The spacing [`Timeline::record`] uses.
    pub const DEFAULT: Spacing = Spacing {
        min: 256,
        per_member: 4,
    };

    /// Steps from a checkpoint holding `state` to the next one.
    pub fn after(&self, state: &State) -> usize {
        let members: usize = state.relations.values().map(|r| 1 + r.units.len()).sum();
        self.for_members(members)
    }

    /// Steps from a checkpoint whose relations and remote units number `members` in all to
    /// the next one: at least one (a spacing of zero keeps a checkpoint after every step).
    pub fn for_members(&self, members: usize) -> usize {
        self.min.max(self.per_member.saturating_mul(members)).max(1)
    }
}

/// What a [`Timeline`] keeps of a step's report: 32 bytes instead of a `StepReport`'s 152
/// (a kept step is its entry and this). The render is a pure function of the state after
/// the step and is made again when asked for; the peer databag is that state's; the line
/// and the hook are the entry's; the step is the index.
struct Kept {
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
            outcome: r.outcome,
            emitted: r.emitted.into_iter().collect(),
            findings,
        }
    }
}

impl Timeline {
    /// Fold a whole stream, keeping every step. `peer`: see [`decide_peer`].
    pub fn record<I>(
        entries: I,
        profile: Profile,
        peer: Option<PeerAtStart>,
    ) -> Result<Self, LogError>
    where
        I: IntoIterator<Item = Result<Entry, LogError>>,
    {
        Self::record_spaced(entries, profile, peer, Spacing::DEFAULT)
    }

    /// [`Timeline::record`] with checkpoints `spacing` apart.
    pub fn record_spaced<I>(
        entries: I,
        profile: Profile,
        peer: Option<PeerAtStart>,
        spacing: Spacing,
    ) -> Result<Self, LogError>
    where
        I: IntoIterator<Item = Result<Entry, LogError>>,
    {
        let (peer, entries) = decide_peer(entries, peer);
        let mut replay = Replay::new(profile, peer);
        let mut checkpoints = vec![(0, replay.state().without_memo())];
        let mut next = spacing.after(replay.state());
        let mut kept_entries = Vec::new();
        let mut reports = Vec::new();
        for entry in entries {
            let entry = entry?;
            reports.push(Kept::new(replay.step(&entry)));
            kept_entries.push(entry);
            if kept_entries.len() == next {
                checkpoints.push((next, replay.state().without_memo()));
                next += spacing.after(replay.state());
            }
        }
        // Built once, then only read: no slack kept beside the steps.
        kept_entries.shrink_to_fit();
        reports.shrink_to_fit();
        checkpoints.shrink_to_fit();
        let cursor = std::sync::Mutex::new(checkpoints[0].clone());
        Ok(Timeline {
            profile,
            entries: kept_entries,
            reports,
            checkpoints,
            cursor,
        })
    }

    /// Number of steps folded.
    pub fn len(&self) -> usize {
        self.reports.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }

    /// The steps after which a whole state is kept, ascending (0: before the first step).
    /// A read folds forward from the last of them at or before it.
    pub fn checkpoints(&self) -> impl Iterator<Item = usize> + '_ {
        self.checkpoints.iter().map(|(i, _)| *i)
    }

    /// The state after step `n` (0-based), if the log has it: the checkpoint before it,
    /// folded forward (from where the last read left off, when that is nearer).
    pub fn state_after(&self, n: usize) -> Option<State> {
        let target = n.checked_add(1).filter(|t| *t <= self.len())?;
        let at = self.checkpoints.partition_point(|(i, _)| *i <= target) - 1;
        let (from, checkpoint) = &self.checkpoints[at];
        let mut cursor = self
            .cursor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !(*from..=target).contains(&cursor.0) {
            *cursor = (*from, checkpoint.clone());
        }
        let (done, state) = &mut *cursor;
        let start = std::mem::replace(done, usize::MAX);
        for entry in &self.entries[start..target] {
            *state = reducer::step_moving_on(self.profile, state, entry).after;
        }
        *done = target;
        Some(state.without_memo())
    }

    /// The report of step `n`, as the replay gave it; its render is made again from the
    /// state after the step.
    pub fn report(&self, n: usize) -> Option<StepReport> {
        let (kept, entry) = (self.reports.get(n)?, self.entries.get(n)?);
        let after = self.state_after(n)?;
        let (violations, diagnostics) = kept.findings.as_deref().cloned().unwrap_or_default();
        Some(StepReport {
            step: n as u64,
            line: entry.line,
            hook: entry.hook.name.clone(),
            outcome: kept.outcome,
            emitted: kept.emitted.iter().copied().collect(),
            peer_app_data: after.peer_data().cloned().unwrap_or_default(),
            datasources: render::render(self.profile, &after),
            violations,
            diagnostics,
        })
    }

    /// The render after step `n`.
    pub fn rendered_after(&self, n: usize) -> Option<RenderResult> {
        self.state_after(n)
            .map(|s| render::render(self.profile, &s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream is held back until a peer hook decides, up to the limit; one entry past
    /// it with no decision, the stream is an error and nothing else; stating the answer
    /// holds nothing back.
    #[test]
    fn a_stream_is_held_back_only_so_far() {
        let status = r#"{"hook": "update-status"}"#;
        let peer = r#"{"hook": "grafana-relation-created", "relation": "grafana", "relation_id": 0, "remote_app": "grafana"}"#;
        let entries = |lines: &[&str]| -> Vec<Result<Entry, LogError>> {
            let text = lines.join("\n");
            log::LogReader::new(text.as_bytes()).collect()
        };
        let lines = |n: usize, last: &'static str| {
            let mut v = vec![status; n];
            v.push(last);
            v
        };
        // The peer hook as the entry just past the limit still decides.
        let (p, rest) = decide_peer_within(entries(&lines(3, peer)), None, 3);
        assert_eq!(p, PeerAtStart::Absent);
        assert_eq!(rest.filter(Result::is_ok).count(), 4);
        // A fourth entry that does not decide is one too many.
        let (_, rest) = decide_peer_within(entries(&lines(4, peer)), None, 3);
        let rest: Vec<_> = rest.collect();
        assert!(
            matches!(
                rest[..],
                [Err(LogError::PeerUndecided { line: 4, held: 3 })]
            ),
            "{rest:?}"
        );
        // Stated, nothing is read ahead and everything streams.
        let (p, rest) = decide_peer_within(entries(&lines(4, peer)), Some(PeerAtStart::Visible), 3);
        assert_eq!((p, rest.count()), (PeerAtStart::Visible, 5));
        // The log ending first decides `Visible`, as ever.
        let (p, rest) = decide_peer_within(entries(&[status, status]), None, 3);
        assert_eq!((p, rest.count()), (PeerAtStart::Visible, 2));
    }

    /// A kept report is the part of a kept step that does not depend on the world: it
    /// stays small (on 64-bit targets, where it is measured).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_kept_report_is_small() {
        assert_eq!(std::mem::size_of::<Kept>(), 32);
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

    /// Every state a Timeline gives back is the state the replay held after that step,
    /// whatever order the steps are read in and however far apart the checkpoints are.
    #[test]
    fn every_state_read_back_is_the_replays() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance/cases");
        let mut logs: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".jsonl"))
            .filter(|p| !p.to_string_lossy().ends_with(".expected.jsonl"))
            .collect();
        logs.sort();
        assert!(logs.len() > 50, "the conformance corpus is there");
        let spacings = [
            Spacing {
                min: 0,
                per_member: 0,
            },
            Spacing {
                min: 3,
                per_member: 1,
            },
            Spacing::DEFAULT,
        ];
        for path in &logs {
            let text = std::fs::read_to_string(path).unwrap();
            for profile in Profile::ALL {
                let mut want = Vec::new();
                replay_stream(
                    log::LogReader::new(text.as_bytes()),
                    profile,
                    None,
                    |r, _| {
                        want.push(r.state().clone());
                        Flow::Continue
                    },
                )
                .unwrap();
                let n = want.len();
                for spacing in spacings {
                    let t = Timeline::record_spaced(
                        log::LogReader::new(text.as_bytes()),
                        profile,
                        None,
                        spacing,
                    )
                    .unwrap();
                    assert_eq!(t.len(), n);
                    // Ascending (the cursor moves on), descending (every read starts again
                    // from a checkpoint), then strides both ways.
                    let order = (0..n)
                        .chain((0..n).rev())
                        .chain((0..n).step_by(2))
                        .chain((1..n).step_by(3).rev());
                    for i in order {
                        assert!(
                            t.state_after(i).unwrap() == want[i],
                            "{} {profile:?} {spacing:?}: step {i}",
                            path.display()
                        );
                    }
                    assert!(t.state_after(n).is_none() && t.state_after(usize::MAX).is_none());
                }
            }
        }
    }

    /// Checkpoints are taken where the spacing of the state at the one before says, and
    /// that spacing grows with the world.
    #[test]
    fn checkpoints_are_spaced_by_the_world_they_hold() {
        let mut text = Vec::new();
        crate::gen::generate(&crate::gen::GenConfig::new(8, 2, 300, 7), &mut text).unwrap();
        let record = |spacing| {
            Timeline::record_spaced(
                log::LogReader::new(&text[..]),
                Profile::Libpatch21,
                None,
                spacing,
            )
            .unwrap()
        };
        let spacing = Spacing {
            min: 10,
            per_member: 2,
        };
        let t = record(spacing);
        let at: Vec<usize> = t.checkpoints().collect();
        assert_eq!(at[0], 0);
        assert!(at.len() > 3, "{at:?}");
        for (i, (step, state)) in t.checkpoints.iter().enumerate() {
            let next = step + spacing.after(state);
            match at.get(i + 1) {
                Some(taken) => assert_eq!(*taken, next, "{at:?}"),
                None => assert!(next > t.len(), "{at:?}"),
            }
        }
        assert!(at.windows(2).any(|w| w[1] - w[0] > spacing.min), "{at:?}");
        let every = record(Spacing {
            min: 0,
            per_member: 0,
        });
        assert!(every.checkpoints().eq(0..=every.len()));
    }
}
