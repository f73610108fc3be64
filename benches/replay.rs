//! Throughput of the replay paths, in steps (log lines) per second, on generated logs of
//! 10 to 10,000 `grafana-source` relations × 5 units (`gen::generate`, seed 42).
//!
//! Each log is generated and parsed in memory once per size. Its first lines (the setup
//! and a few steps after it, where leadership arrives) are folded outside the timing; the
//! timed part is a window of the steps after them. Groups (criterion group / relations):
//!
//! - `parse`: `LogReader` over the window's bytes.
//! - `serde_value`: the baseline, the same lines read into `serde_json::Value` and dropped.
//! - `fold_libpatch21`, `fold_verified`: `reducer::step_moving_on` (what a replay calls) in a loop on pre-parsed entries.
//! - `fold_check`: `Replay::step` on pre-parsed entries (fold, render, every invariant).
//! - `replay`: the full path of `grafana-source replay` without per-step output: parse
//!   (`LogReader`, 32 lines ahead as the command reads a file: `ReadAhead::FILE`),
//!   `Replay::step`, `Tally::add` per step, `summary::write_summary` at the end (into a
//!   sink, as the CLI writes it to standard output).
//!   Each iteration replays the whole window, so the summary is amortised over a log.
//!
//! The fold is far slower on a big world than on a small one, so the number of steps per
//! timed iteration is calibrated per benchmark (about 0.25 s, at most the whole window) and
//! throughput is reported per step (`Throughput::Elements(steps)`). A benchmark whose single
//! step takes longer than `BENCH_SINGLE_SHOT_S` (default 1 s) is timed once over one step
//! instead of by criterion (10 samples of it would take minutes); the results file says so.
//! Consecutive iterations fold consecutive windows of the log (a fold cannot restart
//! without folding the setup again), and start over at the end of the log.
//!
//! The targets are ratios of two of these, and this machine is shared: its speed moves by
//! tens of percent from one minute to the next, so two benchmarks timed one after the
//! other may each see a different machine. The two ratios the targets name are therefore
//! also measured interleaved ([`paired`]): rounds that time both sides back to back (in
//! alternating order), one ratio per round, the median reported with the spread.
//!
//! - `replay_vs_serde_value`: `replay` over the whole window against `serde_value` over
//!   the same lines, 100 relations.
//! - `fold_check_10000_vs_10`: `fold_check` per step at 10,000 relations against 10.
//!
//! Environment: `BENCH_SIZES` (e.g. `10,100`), `BENCH_RESULTS` (a TSV file to write, read by
//! `scripts/bench.sh`), `BENCH_PAIRED_RESULTS` (the same for the interleaved ratios;
//! `BENCH_PAIRED=0` skips them), `CRITERION_HOME` (where criterion keeps its estimates).
//! Without `--bench` (as in `cargo test --benches`), each routine runs once on a tiny log.
mod common;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use grafana_source::gen::{generate, GenConfig};
use grafana_source::log::{Entry, LogReader, ReadAhead};
use grafana_source::reducer;
use grafana_source::replay::Replay;
use grafana_source::summary::{self, Tally};
use grafana_source::world::{PeerAtStart, State};
use grafana_source::Profile;
use std::hint::black_box;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The allocator `grafana-source` itself runs with, with its options (see Cargo.toml),
/// so the figures are the command's.
#[path = "../src/allocator.rs"]
mod allocator;

const UNITS: usize = 5;
const SEED: u64 = 42;
/// Steps after the setup that are folded outside the timing (leadership arrives and the
/// leader's first full write happens there).
const WARM: u64 = 8;

/// One generated log, split and parsed.
struct Fixture {
    relations: usize,
    setup_lines: u64,
    peer: PeerAtStart,
    /// The setup and the first `WARM` steps.
    prefix: Vec<Entry>,
    /// The steps after the prefix, pre-parsed.
    window: Vec<Entry>,
    /// Their text, and the byte offset where each line starts (plus the end).
    window_text: Vec<u8>,
    line_starts: Vec<usize>,
    /// The state after the prefix, per profile (reducer only; `State` clones in O(1)).
    prefix_state: Vec<(Profile, State)>,
}

impl Fixture {
    fn new(relations: usize, steps: u64) -> Fixture {
        let mut text = Vec::new();
        let stats = generate(&GenConfig::new(relations, UNITS, steps, SEED), &mut text)
            .expect("writing to memory cannot fail");
        let prefix_lines = (stats.setup_lines + WARM) as usize;
        let mut line_starts = vec![0];
        for (i, b) in text.iter().enumerate() {
            if *b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        let split = line_starts[prefix_lines];
        let (prefix_text, window_text) = text.split_at(split);
        let parse = |t: &[u8]| -> Vec<Entry> {
            LogReader::new(t)
                .collect::<Result<_, _>>()
                .expect("generated logs parse")
        };
        let prefix = parse(prefix_text);
        let window = parse(window_text);
        let peer = PeerAtStart::from_hooks(prefix.iter().map(|e| &*e.hook.name));
        let prefix_state = Profile::ALL
            .into_iter()
            .map(|p| {
                let mut state = State::new(peer);
                for e in &prefix {
                    state = reducer::step(p, &state, e).after;
                }
                (p, state)
            })
            .collect();
        let line_starts = line_starts[prefix_lines..]
            .iter()
            .map(|o| o - split)
            .collect();
        Fixture {
            relations,
            setup_lines: stats.setup_lines,
            peer,
            prefix,
            window,
            window_text: window_text.to_vec(),
            line_starts,
            prefix_state,
        }
    }

    /// The text of window lines `from..from + k`.
    fn text(&self, from: usize, k: usize) -> &[u8] {
        &self.window_text[self.line_starts[from]..self.line_starts[from + k]]
    }

    fn state(&self, p: Profile) -> State {
        self.prefix_state
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, s)| s.clone())
            .expect("every profile is folded")
    }

    fn replay(&self, p: Profile) -> Replay {
        let mut r = Replay::new(p, self.peer);
        for e in &self.prefix {
            r.step(e);
        }
        r
    }
}

/// What a benchmark keeps between iterations: where in the window it is.
enum Carry {
    None,
    State(State),
    Replay(Box<Replay>),
}

#[derive(Clone, Copy, PartialEq)]
enum Group {
    Parse,
    SerdeValue,
    Fold(Profile),
    FoldCheck,
    Replay,
}

impl Group {
    fn name(self) -> &'static str {
        match self {
            Group::Parse => "parse",
            Group::SerdeValue => "serde_value",
            Group::Fold(Profile::Libpatch21) => "fold_libpatch21",
            Group::Fold(Profile::Verified) => "fold_verified",
            Group::FoldCheck => "fold_check",
            Group::Replay => "replay",
        }
    }
}

/// A benchmark's routine over consecutive windows of the log.
struct Routine<'a> {
    fx: &'a Fixture,
    group: Group,
    carry: Carry,
    pos: usize,
}

impl<'a> Routine<'a> {
    fn new(fx: &'a Fixture, group: Group) -> Self {
        Routine {
            fx,
            group,
            carry: Carry::None,
            pos: usize::MAX,
        }
    }

    fn reset(&mut self) {
        let fx = self.fx;
        self.carry = match self.group {
            Group::Parse | Group::SerdeValue => Carry::None,
            Group::Fold(p) => Carry::State(fx.state(p)),
            Group::FoldCheck | Group::Replay => {
                Carry::Replay(Box::new(fx.replay(Profile::Libpatch21)))
            }
        };
        self.pos = 0;
    }

    /// Time `k` steps (the next window; folding the prefix again first, untimed, when
    /// the log has fewer than `k` steps left).
    fn timed(&mut self, k: usize) -> Duration {
        if self.pos.saturating_add(k) > self.fx.window.len() {
            self.reset();
        }
        let from = self.pos;
        self.pos += k;
        let fx = self.fx;
        match (self.group, &mut self.carry) {
            (Group::Parse, _) => {
                let text = fx.text(from, k);
                let t = Instant::now();
                for e in LogReader::new(text) {
                    black_box(e.expect("generated logs parse"));
                }
                t.elapsed()
            }
            (Group::SerdeValue, _) => {
                let mut text = fx.text(from, k);
                let t = Instant::now();
                let mut buf = Vec::new();
                while text.read_until(b'\n', &mut buf).expect("reading memory") > 0 {
                    let v: serde_json::Value =
                        serde_json::from_slice(&buf).expect("generated logs are JSON");
                    drop(black_box(v));
                    buf.clear();
                }
                t.elapsed()
            }
            (Group::Fold(p), Carry::State(state)) => {
                let t = Instant::now();
                for e in &fx.window[from..from + k] {
                    let step = reducer::step_moving_on(p, state, e);
                    black_box(&step.effects);
                    *state = step.after;
                }
                t.elapsed()
            }
            (Group::FoldCheck, Carry::Replay(replay)) => {
                let t = Instant::now();
                for e in &fx.window[from..from + k] {
                    black_box(replay.step(e));
                }
                t.elapsed()
            }
            (Group::Replay, Carry::Replay(replay)) => {
                let text = fx.text(from, k);
                let t = Instant::now();
                let mut tally = Tally::default();
                // As `grafana-source replay FILE` reads: a few lines parsed ahead.
                for e in LogReader::new(text).read_ahead(ReadAhead::FILE) {
                    let report = replay.step(&e.expect("generated logs parse"));
                    tally.add(&report);
                }
                let profile = replay.profile().name();
                let mut sink = std::io::sink();
                summary::write_summary(&mut sink, profile, &tally, replay.rendered(), false)
                    .expect("a sink takes every byte");
                black_box(&mut sink);
                t.elapsed()
            }
            _ => unreachable!("reset() sets the carry for the group"),
        }
    }
}

/// One result line.
struct Row {
    group: &'static str,
    relations: usize,
    setup_lines: u64,
    steps_per_iter: usize,
    method: &'static str,
    /// Mean and 95% interval of ns per step (single-shot: one measurement).
    ns: (f64, f64, f64),
}

struct Bench {
    c: Criterion,
    bench_mode: bool,
    target: Duration,
    single_shot: Duration,
    rows: Vec<Row>,
}

impl Bench {
    fn run(&mut self, fx: &Fixture, group: Group) {
        let mut routine = Routine::new(fx, group);
        let max = fx.window.len();
        let (k, per_step) = if self.bench_mode {
            // Calibrate: grow the window until it takes a measurable time.
            let mut k = 1;
            loop {
                let t = routine.timed(k);
                if t >= Duration::from_millis(20) || k == max {
                    break (k, t / k as u32);
                }
                k = (k * 8).min(max);
            }
        } else {
            (4.min(max), Duration::ZERO)
        };
        if self.bench_mode && per_step > self.single_shot {
            let t = routine.timed(1).as_secs_f64() * 1e9;
            eprintln!(
                "{}/{}: one step takes {:.2} s; timed once (too slow for criterion's 10 samples)",
                group.name(),
                fx.relations,
                t / 1e9
            );
            self.rows.push(Row {
                group: group.name(),
                relations: fx.relations,
                setup_lines: fx.setup_lines,
                steps_per_iter: 1,
                method: "single-shot",
                ns: (t, t, t),
            });
            return;
        }
        let steps = if self.bench_mode && matches!(group, Group::Replay) {
            // A whole replay: the summary, written once at the end of a log, is amortised
            // over the log's steps as it is in `grafana-source replay` (a short window
            // would charge each step a share of one whole-world summary).
            max
        } else if self.bench_mode {
            let want = self.target.as_secs_f64() / per_step.as_secs_f64().max(1e-9);
            (want as usize).clamp(1, max)
        } else {
            k
        };
        let mut g = self.c.benchmark_group(group.name());
        g.throughput(Throughput::Elements(steps as u64));
        if per_step * steps as u32 > Duration::from_millis(50) {
            g.sampling_mode(SamplingMode::Flat);
        }
        g.bench_function(BenchmarkId::from_parameter(fx.relations), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| routine.timed(steps)).sum())
        });
        g.finish();
        self.rows.push(Row {
            group: group.name(),
            relations: fx.relations,
            setup_lines: fx.setup_lines,
            steps_per_iter: steps,
            method: "criterion",
            ns: (f64::NAN, f64::NAN, f64::NAN),
        });
    }
}

/// One interleaved comparison: its rounds' ratios of `a`'s time per step to `b`'s.
struct Paired {
    name: &'static str,
    a: String,
    b: String,
    ratios: Vec<f64>,
    a_ns: Vec<f64>,
    b_ns: Vec<f64>,
}

/// Time `a` (`ka` steps) and `b` (`kb` steps) back to back, `rounds` times, `a` first in
/// even rounds and `b` first in odd ones, so that both sides of each ratio ran on the
/// same machine within a fraction of a second of each other.
fn paired(
    name: &'static str,
    (a, ka): (&mut Routine, usize),
    (b, kb): (&mut Routine, usize),
    rounds: usize,
) -> Paired {
    let mut out = Paired {
        name,
        a: format!("{}/{}", a.group.name(), a.fx.relations),
        b: format!("{}/{}", b.group.name(), b.fx.relations),
        ratios: Vec::with_capacity(rounds),
        a_ns: Vec::with_capacity(rounds),
        b_ns: Vec::with_capacity(rounds),
    };
    // One untimed round: the first window of each side folds its prefix.
    a.timed(ka);
    b.timed(kb);
    for round in 0..rounds {
        let (ta, tb) = if round % 2 == 0 {
            let ta = a.timed(ka);
            (ta, b.timed(kb))
        } else {
            let tb = b.timed(kb);
            (a.timed(ka), tb)
        };
        let (pa, pb) = (
            ta.as_secs_f64() * 1e9 / ka as f64,
            tb.as_secs_f64() * 1e9 / kb as f64,
        );
        out.a_ns.push(pa);
        out.b_ns.push(pb);
        out.ratios.push(pa / pb);
    }
    out
}

/// The `q` quantile (0 to 1) of `v`, by the nearest rank.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

/// Steps of `r` that take about `target` (at most `max`).
fn calibrate(r: &mut Routine, target: Duration, max: usize) -> usize {
    let mut k = 1;
    loop {
        let t = r.timed(k);
        if t >= target / 4 || k == max {
            let per_step = t.as_secs_f64() / k as f64;
            return ((target.as_secs_f64() / per_step.max(1e-9)) as usize).clamp(1, max);
        }
        k = (k * 8).min(max);
    }
}

/// The interleaved ratios the targets name (see the module documentation).
fn paired_ratios(bench_mode: bool) -> Vec<Paired> {
    let (steps, rounds) = if bench_mode { (20_000, 21) } else { (40, 3) };
    let (small, mid, big) = if bench_mode {
        (10, 100, 10_000)
    } else {
        (2, 3, 4)
    };
    let mut out = Vec::new();
    {
        let fx = Fixture::new(mid, steps);
        let whole = fx.window.len();
        let (mut replay, mut base) = (
            Routine::new(&fx, Group::Replay),
            Routine::new(&fx, Group::SerdeValue),
        );
        // Both over the whole window: the replay's closing summary is amortised over a
        // log, as in `grafana-source replay`.
        out.push(paired(
            "replay_vs_serde_value",
            (&mut replay, whole),
            (&mut base, whole),
            rounds,
        ));
    }
    let (fs, fb) = (Fixture::new(small, steps), Fixture::new(big, steps));
    let (mut a, mut b) = (
        Routine::new(&fb, Group::FoldCheck),
        Routine::new(&fs, Group::FoldCheck),
    );
    let target = Duration::from_millis(if bench_mode { 60 } else { 1 });
    let (ka, kb) = (
        calibrate(&mut a, target, fb.window.len() / 4),
        calibrate(&mut b, target, fs.window.len() / 4),
    );
    out.push(paired(
        "fold_check_10000_vs_10",
        (&mut a, ka),
        (&mut b, kb),
        rounds,
    ));
    out
}

fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("criterion")
}

/// Criterion's mean (and 95% interval) of ns per iteration for one benchmark.
fn criterion_estimate(group: &str, relations: usize) -> Option<(f64, f64, f64)> {
    let path = criterion_home()
        .join(group)
        .join(relations.to_string())
        .join("new")
        .join("estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let mean = &v["mean"];
    let ci = &mean["confidence_interval"];
    Some((
        mean["point_estimate"].as_f64()?,
        ci["lower_bound"].as_f64()?,
        ci["upper_bound"].as_f64()?,
    ))
}

fn main() {
    allocator::keep_freed_pages();
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let env_secs = |name: &str, default: f64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(default)
    };
    let sizes: Vec<usize> = match std::env::var("BENCH_SIZES") {
        Ok(s) => s
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("BENCH_SIZES: comma-separated numbers")
            })
            .collect(),
        Err(_) if bench_mode => vec![10, 100, 1_000, 10_000],
        Err(_) => vec![10],
    };
    let steps = if bench_mode { 20_000 } else { 40 };
    let c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut bench = Bench {
        c,
        bench_mode,
        target: Duration::from_secs_f64(env_secs("BENCH_ITER_S", 0.25)),
        single_shot: Duration::from_secs_f64(env_secs("BENCH_SINGLE_SHOT_S", 1.0)),
        rows: Vec::new(),
    };
    for &relations in &sizes {
        let t = Instant::now();
        let fx = Fixture::new(relations, steps);
        eprintln!(
            "{relations} relations x {UNITS} units: {} setup lines, {} steps measured from; prepared in {:.1} s",
            fx.setup_lines,
            fx.window.len(),
            t.elapsed().as_secs_f64()
        );
        for group in [
            Group::Parse,
            Group::SerdeValue,
            Group::Fold(Profile::Libpatch21),
            Group::Fold(Profile::Verified),
            Group::FoldCheck,
            Group::Replay,
        ] {
            bench.run(&fx, group);
        }
    }
    bench.c.final_summary();
    let pairs = if std::env::var("BENCH_PAIRED").is_ok_and(|v| v == "0") {
        Vec::new()
    } else {
        paired_ratios(bench_mode)
    };
    let mut table = String::from(
        "name\ta\tb\trounds\tratio_median\tratio_p25\tratio_p75\tratio_min\tratio_max\ta_ns_median\tb_ns_median\n",
    );
    for p in &pairs {
        assert!(
            p.ratios.iter().all(|r| r.is_finite() && *r > 0.0),
            "{}: every round timed both sides",
            p.name
        );
        let [min, low, median, high, max] =
            [0.0, 0.25, 0.5, 0.75, 1.0].map(|x| quantile(&p.ratios, x));
        eprintln!(
            "{} ({} / {}, {} interleaved rounds): median {median:.2} (quartiles {low:.2} to {high:.2})",
            p.name,
            p.a,
            p.b,
            p.ratios.len(),
        );
        table.push_str(&format!(
            "{}\t{}\t{}\t{}\t{median:.3}\t{low:.3}\t{high:.3}\t{min:.3}\t{max:.3}\t{:.1}\t{:.1}\n",
            p.name,
            p.a,
            p.b,
            p.ratios.len(),
            quantile(&p.a_ns, 0.5),
            quantile(&p.b_ns, 0.5),
        ));
    }
    if !bench_mode {
        return;
    }
    if let Ok(path) = std::env::var("BENCH_PAIRED_RESULTS") {
        std::fs::write(&path, &table).expect("BENCH_PAIRED_RESULTS: cannot write");
        eprintln!("interleaved ratios written to {path}");
    }
    let mut out = String::from(
        "group\trelations\tunits\tsetup_lines\tsteps_per_iter\tmethod\tns_per_step\tns_per_step_low\tns_per_step_high\tsteps_per_s\n",
    );
    for row in &bench.rows {
        let (mean, low, high) = match row.method {
            "criterion" => match criterion_estimate(row.group, row.relations) {
                Some((m, l, h)) => {
                    let k = row.steps_per_iter as f64;
                    (m / k, l / k, h / k)
                }
                None => continue,
            },
            _ => row.ns,
        };
        out.push_str(&format!(
            "{}\t{}\t{UNITS}\t{}\t{}\t{}\t{mean:.1}\t{low:.1}\t{high:.1}\t{:.1}\n",
            row.group,
            row.relations,
            row.setup_lines,
            row.steps_per_iter,
            row.method,
            1e9 / mean
        ));
    }
    common::emit_results(&out);
}
