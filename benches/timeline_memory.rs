//! Bytes a `Timeline` keeps per step, counted by a global allocator, and what a read costs.
//!
//! `Timeline::record` folds a generated log (`gen::generate`, 1,000 relations × 5 units,
//! seed 42 by default) and keeps every step's entry and report, and a whole state at each
//! checkpoint (`Spacing::DEFAULT` apart). The allocator counts live heap bytes held by a
//! Timeline once `record` has returned (the replay that built it is gone by then). Bytes
//! per kept step: a Timeline of the log up to the end of one checkpoint period after the
//! setup and the first `WARM` steps, minus a Timeline of the log up to its start, divided
//! by the period's steps. The period holds exactly one checkpoint (its end), so the figure
//! is the cost of a step with its share of a checkpoint, what a long log costs; the
//! whole-log average (setup included, whose steps are cheap) is printed as well. The log
//! is generated long enough for that period (about two spacings after the setup).
//!
//! A read (`Timeline::state_after`) folds from the checkpoint before it: the bench times
//! the worst one, the step just before a checkpoint, read from a fresh cursor.
//!
//! Environment: `BENCH_TIMELINE_RELATIONS` (default 1000), `BENCH_RESULTS` (a TSV file to
//! write, read by `scripts/bench.sh`). Without `--bench` (as in `cargo test --benches`) it
//! runs on a small log and checks that the counts are sane.
mod common;
use grafana_source::gen::{generate, GenConfig};
use grafana_source::log::LogReader;
use grafana_source::replay::{Spacing, Timeline};
use grafana_source::Profile;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counter is only arithmetic on the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Relaxed);
            LIVE.fetch_sub(layout.size(), Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const UNITS: usize = 5;
const SEED: u64 = 42;
/// Steps after the setup folded before the measured ones (leadership arrives there).
const WARM: u64 = 8;

struct Measured {
    profile: Profile,
    kept_steps: usize,
    /// The checkpoint period measured: the steps after which its two ends are kept.
    period: (usize, usize),
    marginal_bytes_per_step: f64,
    average_bytes_per_step: f64,
    total_bytes: usize,
    /// Seconds to read the state after the period's last step but one from a fresh
    /// Timeline: a fold of every entry in the period but one.
    worst_read_s: f64,
}

/// A Timeline of the first `lines` lines of `text`, and the live heap bytes it holds (the
/// replay that built it is gone by then).
fn kept(text: &[u8], lines: usize, profile: Profile) -> (Timeline, usize) {
    let cut = if lines == 0 {
        0
    } else {
        text.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(lines - 1)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    let before = LIVE.load(Relaxed);
    let timeline = Timeline::record(LogReader::new(&text[..cut]), profile, None)
        .expect("generated logs parse");
    let held = LIVE.load(Relaxed) - before;
    assert_eq!(timeline.len(), lines, "one step per line");
    (timeline, held)
}

/// The bytes a Timeline holds per step over the first checkpoint period that starts at or
/// after `prefix` steps.
fn measure(text: &[u8], prefix: usize, profile: Profile) -> Measured {
    let (whole, total) = kept(text, text.iter().filter(|b| **b == b'\n').count(), profile);
    let kept_steps = whole.len();
    let after_prefix: Vec<usize> = whole.checkpoints().filter(|c| *c >= prefix).collect();
    let (Some(&from), Some(&to)) = (after_prefix.first(), after_prefix.get(1)) else {
        panic!("the log ends before two checkpoints after step {prefix}: generate more steps")
    };
    drop(whole);
    let (_, short) = kept(text, from, profile);
    let (long, long_bytes) = kept(text, to, profile);
    let started = std::time::Instant::now();
    let read = long.state_after(to - 2).expect("the period has steps");
    let worst_read_s = started.elapsed().as_secs_f64();
    drop(read);
    Measured {
        profile,
        kept_steps,
        period: (from, to),
        marginal_bytes_per_step: (long_bytes as f64 - short as f64) / (to - from) as f64,
        average_bytes_per_step: total as f64 / kept_steps as f64,
        total_bytes: total,
        worst_read_s,
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}: not a number")))
        .unwrap_or(default)
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let relations = if bench_mode {
        env_num("BENCH_TIMELINE_RELATIONS", 1000) as usize
    } else {
        10
    };
    // Two spacings of the generated world after the setup, and some: the measured period
    // starts at the first checkpoint after the warm-up and ends at the next.
    let spacing = Spacing::DEFAULT.for_members(relations * (UNITS + 1)) as u64;
    let mut text = Vec::new();
    let stats = generate(
        &GenConfig::new(relations, UNITS, WARM + spacing * 5 / 2, SEED),
        &mut text,
    )
    .expect("writing to memory cannot fail");
    let prefix = (stats.setup_lines + WARM) as usize;
    let mut out = String::from(
        "profile\trelations\tunits\tperiod_from\tmeasured_steps\tbytes_per_kept_step\taverage_bytes_per_step_whole_log\ttotal_bytes\tworst_read_ms\n",
    );
    for profile in Profile::ALL {
        let m = measure(&text, prefix, profile);
        let (from, to) = m.period;
        eprintln!(
            "Timeline {} on {relations} relations x {UNITS} units: {:.0} bytes per kept step \
             over the {} steps from checkpoint {from} to checkpoint {to} (whole log: {} steps, \
             {:.0} bytes per step, {:.1} MiB); reading step {} folds {} entries: {:.1} ms",
            m.profile.name(),
            m.marginal_bytes_per_step,
            to - from,
            m.kept_steps,
            m.average_bytes_per_step,
            m.total_bytes as f64 / (1 << 20) as f64,
            to - 2,
            to - 1 - from,
            m.worst_read_s * 1e3,
        );
        assert!(
            m.total_bytes > 0 && m.marginal_bytes_per_step > 0.0,
            "a Timeline keeps something per step"
        );
        out.push_str(&format!(
            "{}\t{relations}\t{UNITS}\t{from}\t{}\t{:.0}\t{:.0}\t{}\t{:.1}\n",
            m.profile.name(),
            to - from,
            m.marginal_bytes_per_step,
            m.average_bytes_per_step,
            m.total_bytes,
            m.worst_read_s * 1e3,
        ));
    }
    if !bench_mode {
        return;
    }
    common::emit_results(&out);
}
