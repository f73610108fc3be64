//! Exhaustive bounded model checking over the [`crate::sim`] world.
//!
//! [`explore`] runs a breadth-first search over every sequence of enabled
//! [`Action`]s of a small world, up to a depth, deduplicating states by
//! [`World::fingerprint`]. Each transition folds the hooks every Grafana unit runs and
//! [`crate::invariants::check`] judges each step (inside [`World::apply`]). Because the
//! search is breadth-first, the first violation found is a shortest one; it is rebuilt
//! into a [`Counterexample`]: the action sequence and the hook log of the Grafana unit
//! where the invariant broke, cut right after the failing step, so that
//! `grafana-source check --profile P` on that log reports the same violation at the same
//! step.
//!
//! Expanding one BFS level is parallel (`jobs` threads on contiguous slices of the
//! frontier); results are merged in frontier order, so counts and the counterexample do
//! not depend on the number of threads.
//!
//! ```
//! use grafana_source::explore::{explore, Options, Target};
//! use grafana_source::sim::Bounds;
//! use grafana_source::Profile;
//! let opts = Options::new(Profile::Libpatch21, 4, Bounds::new(1, 2, 1).unwrap());
//! let found = explore(&opts).counterexample.expect("libpatch21 breaks an invariant");
//! assert!(found.actions.len() <= 4);
//! ```
use crate::invariants::Invariant;
use crate::log::Entry;
use crate::py::PyExc;
use crate::reducer::Profile;
use crate::sim::{self, Action, Alphabet, Bounds, Delivery, GrafanaUnitIndex, Memo, World};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::ControlFlow;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Which violations count as a finding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// Only this invariant (any when `None`).
    pub invariant: Option<Invariant>,
    /// Only hooks that failed with this Python exception (`IndexError`, ...); implies
    /// `hook-failed`.
    pub error: Option<String>,
}

impl Target {
    /// The invariants of `d` that count as a finding.
    pub fn matches(&self, d: &Delivery) -> Vec<Invariant> {
        if let Some(want) = &self.error {
            if !matches!(d.outcome, Err(exc) if exc.name() == want) {
                return Vec::new();
            }
        }
        d.violations
            .iter()
            .map(|v| v.invariant)
            .filter(|i| match (self.invariant, &self.error) {
                (Some(want), _) => *i == want,
                (None, Some(_)) => *i == Invariant::HookFailed,
                (None, None) => true,
            })
            .collect()
    }

    fn hit(&self, ds: &[Delivery]) -> bool {
        ds.iter().any(|d| !self.matches(d).is_empty())
    }
}

/// What to explore.
#[derive(Debug, Clone)]
pub struct Options {
    pub profile: Profile,
    /// The longest action sequence explored.
    pub depth: usize,
    pub bounds: Bounds,
    pub target: Target,
    /// The actions explored (default [`Alphabet::core`]).
    pub alphabet: Alphabet,
    /// Worker threads for expanding a level (at least 1).
    pub jobs: usize,
}

impl Options {
    /// Any violation, one thread per available core.
    pub fn new(profile: Profile, depth: usize, bounds: Bounds) -> Options {
        Options {
            profile,
            depth,
            bounds,
            target: Target::default(),
            alphabet: Alphabet::core(),
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// A shortest violating run.
#[derive(Debug, Clone)]
pub struct Counterexample {
    pub actions: Vec<Action>,
    /// The Grafana unit whose step broke the invariant.
    pub unit: GrafanaUnitIndex,
    pub unit_name: String,
    /// The 0-based step of that unit's log (the last line of [`Self::log`]).
    pub step: usize,
    pub hook: String,
    /// The invariants broken there that the target asked for.
    pub invariants: Vec<Invariant>,
    /// The exception, when the hook failed.
    pub error: Option<PyExc>,
    /// That unit's hook log, from its first entry to the failing step.
    pub log: Vec<Entry>,
}

impl Counterexample {
    /// The log as hook log v1 JSON Lines.
    pub fn jsonl(&self) -> String {
        sim::to_jsonl(&self.log)
    }
}

/// What an exploration found.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Transitions computed (states reached, duplicates included), plus the initial state.
    pub explored: u64,
    /// Distinct states (by fingerprint), the initial one included.
    pub distinct: u64,
    /// The deepest level fully explored (the violation's depth when one was found).
    pub depth: usize,
    pub elapsed: Duration,
    /// Unit steps answered by the fold memo, and steps folded ([`Memo`]).
    pub memo_hits: u64,
    pub memo_misses: u64,
    pub counterexample: Option<Counterexample>,
}

impl Summary {
    pub fn states_per_second(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.explored as f64 / s
        } else {
            self.explored as f64
        }
    }
}

/// Fingerprints are already hashes: use them as they are.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type FingerprintSet = HashSet<u64, BuildHasherDefault<IdentityHasher>>;

/// A state in the search tree: the action that reached it from its parent.
struct Node {
    parent: u32,
    action: Option<Action>,
}

/// One successor computed by a worker.
struct Successor {
    parent: u32,
    action: Action,
    fingerprint: u64,
    hit: bool,
    world: Option<World>,
}

fn expand(slice: &[(u32, World)], opts: &Options, keep: bool, memo: &mut Memo) -> Vec<Successor> {
    let target = &opts.target;
    // Every parent's actions first, so that the successors (each holding a world) are
    // written once into a vector of their number, not copied each time it doubles.
    let actions: Vec<Vec<Action>> = slice
        .iter()
        .map(|(_, world)| world.actions_in(&opts.alphabet))
        .collect();
    let mut out = Vec::with_capacity(actions.iter().map(Vec::len).sum());
    for ((node, world), actions) in slice.iter().zip(actions) {
        for action in actions {
            let (next, seen) = world.apply_memo(&action, Some(&mut *memo));
            out.push(Successor {
                parent: *node,
                action,
                fingerprint: next.fingerprint(),
                hit: target.hit(&seen),
                world: keep.then_some(next),
            });
        }
    }
    out
}

/// Parents a job expands per chunk; bounds the memory held by not-yet-deduplicated
/// successors (those of `IN_FLIGHT + 1` chunks at most). Small under test, so that the
/// tests' small worlds span many chunks.
const CHUNK_PER_JOB: usize = if cfg!(test) { 16 } else { 512 };

/// Chunks handed out to the workers and not yet merged, at most: a worker that finishes
/// its part of one goes on with its part of the next instead of waiting for the slowest
/// part. Depth 7 of 2x2x2, two jobs, alternating runs: medians 3.98 s (one chunk ahead)
/// -> 3.45 s (2) -> 3.24 s (4); 8 gave no more.
const IN_FLIGHT: usize = 4;

/// Expand `frontier` chunk by chunk, handing each chunk's successors, part by part in
/// frontier order, to `merge` until it breaks. A chunk is split into one contiguous part per
/// memo, part `i` expanded with `memos[i]` (a chunk of one parent: one part, the first
/// memo). With more than one memo, the parts are expanded by one thread per memo that lives
/// for the whole level (threads started for every chunk cost a fifth of the exploration's
/// time: each new thread starts an allocator heap, and its blocks are freed from others),
/// and the next [`IN_FLIGHT`] chunks are being expanded while `merge` takes one.
fn expand_level<'a>(
    frontier: &'a [(u32, World)],
    opts: &Options,
    keep: bool,
    memos: &mut [Memo],
    mut merge: impl FnMut(Vec<Vec<Successor>>) -> ControlFlow<()>,
) {
    let jobs = memos.len();
    let mut chunks = frontier.chunks(CHUNK_PER_JOB * jobs);
    if jobs == 1 {
        for chunk in chunks {
            if merge(vec![expand(chunk, opts, keep, &mut memos[0])]).is_break() {
                return;
            }
        }
        return;
    }
    std::thread::scope(|s| {
        // Worker `i`: parts in on one channel, successors out on another, in order.
        let workers: Vec<_> = memos
            .iter_mut()
            .map(|memo| {
                let (part_tx, part_rx) = mpsc::channel::<&[(u32, World)]>();
                let (done_tx, done_rx) = mpsc::channel();
                s.spawn(move || {
                    for part in part_rx {
                        if done_tx.send(expand(part, opts, keep, memo)).is_err() {
                            break;
                        }
                    }
                });
                (part_tx, done_rx)
            })
            .collect();
        // Hand a chunk out, part `i` to worker `i`; returns how many parts it made.
        let hand_out = |chunk: &'a [(u32, World)]| {
            let per = chunk.len().div_ceil(jobs);
            let mut parts = 0;
            for (part, (to, _)) in chunk.chunks(per).zip(&workers) {
                to.send(part).expect("explorer worker panicked");
                parts += 1;
            }
            parts
        };
        // Chunks handed out and not yet taken back, oldest first.
        let mut in_flight: std::collections::VecDeque<usize> =
            chunks.by_ref().take(IN_FLIGHT).map(hand_out).collect();
        while let Some(parts) = in_flight.pop_front() {
            let done = workers[..parts]
                .iter()
                .map(|(_, from)| from.recv().expect("explorer worker panicked"))
                .collect();
            in_flight.extend(chunks.next().map(hand_out));
            if merge(done).is_break() {
                break;
            }
        }
        // Dropping `workers` closes the part channels: the threads end, the scope joins them.
    });
}

/// Explore every action sequence up to `opts.depth`; stop at the first level that has a
/// violating transition and report the first one in frontier order.
pub fn explore(opts: &Options) -> Summary {
    let start = Instant::now();
    let jobs = opts.jobs.max(1);
    let (root, first) = World::new(opts.profile, opts.bounds);
    let mut seen = FingerprintSet::default();
    seen.insert(root.fingerprint());
    let mut nodes = vec![Node {
        parent: 0,
        action: None,
    }];
    let mut summary = Summary {
        explored: 1,
        distinct: 1,
        depth: 0,
        elapsed: Duration::ZERO,
        memo_hits: 0,
        memo_misses: 0,
        counterexample: None,
    };
    if opts.target.hit(&first) {
        summary.counterexample = counterexample(opts.profile, opts.bounds, &[], &opts.target);
        summary.elapsed = start.elapsed();
        return summary;
    }
    let mut frontier: Vec<(u32, World)> = vec![(0, root)];
    let mut memos: Vec<Memo> = (0..jobs).map(|_| Memo::new()).collect();
    for level in 1..=opts.depth {
        let keep = level < opts.depth;
        let mut next_frontier = Vec::new();
        let mut hit = None;
        expand_level(&frontier, opts, keep, &mut memos, |parts| {
            for succ in parts.into_iter().flatten() {
                summary.explored += 1;
                if succ.hit {
                    let mut path = vec![succ.action];
                    let mut at = succ.parent as usize;
                    while let Some(a) = nodes[at].action {
                        path.push(a);
                        at = nodes[at].parent as usize;
                    }
                    path.reverse();
                    hit = Some(path);
                    return ControlFlow::Break(());
                }
                if seen.insert(succ.fingerprint) {
                    summary.distinct += 1;
                    if let Some(world) = succ.world {
                        let id = u32::try_from(nodes.len()).expect("fewer than 2^32 states");
                        nodes.push(Node {
                            parent: succ.parent,
                            action: Some(succ.action),
                        });
                        next_frontier.push((id, world));
                    }
                }
            }
            ControlFlow::Continue(())
        });
        summary.depth = level;
        frontier = next_frontier;
        if let Some(path) = hit {
            summary.counterexample = counterexample(opts.profile, opts.bounds, &path, &opts.target);
            break;
        }
        if frontier.is_empty() {
            break;
        }
    }
    summary.memo_hits = memos.iter().map(|m| m.hits).sum();
    summary.memo_misses = memos.iter().map(|m| m.misses).sum();
    summary.elapsed = start.elapsed();
    let_go((memos, frontier));
    summary
}

/// Drop `t` on a thread of its own: the memos are most of an exploration's memory, and
/// freeing them node by node took a third of the wait at depth 6 (1.5 s after 2.7 s of
/// exploring); the summary need not wait for it, and a process that exits does not. Dropped
/// here when no thread can be started.
fn let_go<T: Send + 'static>(t: T) {
    let _ = std::thread::Builder::new()
        .name("explore-drop".into())
        .spawn(move || drop(t));
}

/// Replay `actions` and cut out the first step that `target` counts as a violation:
/// that unit's log up to it. `None` when the run breaks nothing `target` asks for.
pub fn counterexample(
    profile: Profile,
    bounds: Bounds,
    actions: &[Action],
    target: &Target,
) -> Option<Counterexample> {
    let (mut world, first) = World::new(profile, bounds);
    let mut logs: std::collections::BTreeMap<GrafanaUnitIndex, Vec<Entry>> = Default::default();
    let mut batches = vec![first];
    for a in actions {
        let (w, ds) = world.apply(a);
        world = w;
        batches.push(ds);
    }
    for d in batches.into_iter().flatten() {
        let log = logs.entry(d.unit).or_default();
        log.push(d.entry.clone());
        let invariants = target.matches(&d);
        if !invariants.is_empty() {
            let step = log.len() - 1;
            let mut lines = log.clone();
            for (i, e) in lines.iter_mut().enumerate() {
                e.line = i as u64 + 1;
            }
            return Some(Counterexample {
                actions: actions.to_vec(),
                unit: d.unit,
                unit_name: format!("{}/{}", sim::GRAFANA_APP, d.unit),
                step,
                hook: d.entry.hook.name.to_string(),
                invariants,
                error: d.outcome.err(),
                log: lines,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_count_does_not_change_the_result() {
        // The last level spans more chunks than are in flight at once, even for 5
        // threads (chunks are handed out while earlier ones are merged), and 3 and 5
        // threads split a chunk into parts of unequal sizes.
        let bounds = Bounds::new(2, 2, 2).unwrap();
        let mut clean = Options::new(Profile::Verified, 4, bounds);
        clean.jobs = 1;
        let one = explore(&clean);
        assert!(one.counterexample.is_none());
        let distinct_to = |depth| {
            explore(&Options {
                depth,
                ..clean.clone()
            })
            .distinct
        };
        let chunks_of_5 = (distinct_to(3) - distinct_to(2)) / (5 * CHUNK_PER_JOB as u64);
        assert!(chunks_of_5 > 2 * IN_FLIGHT as u64, "{chunks_of_5} chunks");
        // A violation reachable along many runs of the same length: the one reported is
        // the first in frontier order, whichever thread expanded it.
        let mut failing = Options::new(Profile::Libpatch21, 6, bounds);
        failing.alphabet.legacy.clear();
        failing.target.error = Some("IndexError".into());
        failing.jobs = 1;
        let first = explore(&failing);
        let found = |s: &Summary| {
            let c = s
                .counterexample
                .as_ref()
                .expect("libpatch21 raises IndexError");
            (
                c.actions.clone(),
                c.unit,
                c.step,
                s.explored,
                s.distinct,
                s.depth,
            )
        };
        for jobs in [2, 3, 5] {
            let many = explore(&Options {
                jobs,
                ..clean.clone()
            });
            assert_eq!((one.explored, one.distinct), (many.explored, many.distinct));
            let many = explore(&Options {
                jobs,
                ..failing.clone()
            });
            assert_eq!(found(&first), found(&many), "{jobs} threads");
        }
    }
}
