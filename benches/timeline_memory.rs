//! Bytes a `Timeline` keeps per step, counted by a global allocator.
//!
//! `Timeline::record` folds a generated log (`gen::generate`, 1,000 relations × 5 units,
//! seed 42 by default) and keeps every state and report. The allocator counts live heap
//! bytes; the entry iterator handed to `record` notes them when it is asked for the first
//! line after the setup and the first `WARM` steps (everything before is then folded and
//! kept), and again once `record` returns with the Timeline alive. The difference over the
//! steps in between is the marginal cost of keeping one more step, what a long log costs;
//! the whole-log average (setup included, whose steps are cheap) is printed as well.
//!
//! Environment: `BENCH_TIMELINE_RELATIONS` (default 1000), `BENCH_TIMELINE_STEPS` (steps
//! measured after the setup, default 100), `BENCH_RESULTS` (a TSV file to write, read by
//! `scripts/bench.sh`). Without `--bench` (as in `cargo test --benches`) it runs on a tiny
//! log and checks that the counts are sane.
mod common;
use grafana_source::gen::{generate, GenConfig};
use grafana_source::log::LogReader;
use grafana_source::replay::Timeline;
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

/// Passes entries through, noting the live bytes when entry `at` (0-based) is asked for.
struct Measured {
    profile: Profile,
    kept_steps: usize,
    prefix_steps: u64,
    marginal_bytes_per_step: f64,
    average_bytes_per_step: f64,
    total_bytes: usize,
}

/// Live heap bytes held by a `Timeline` of the whole of `text`, measured while it is kept
/// (the replay that built it is gone by then), and its number of steps.
fn kept_bytes(text: &[u8], profile: Profile) -> (usize, usize) {
    let before = LIVE.load(Relaxed);
    let timeline =
        Timeline::record(LogReader::new(text), profile, None).expect("generated logs parse");
    let held = LIVE.load(Relaxed) - before;
    let steps = timeline.len();
    drop(timeline);
    (held, steps)
}

/// The bytes a `Timeline` of the whole log holds beyond one of its first `prefix` lines,
/// per step: what keeping each of the later steps costs.
fn measure(text: &[u8], prefix: u64, profile: Profile) -> Measured {
    let cut = text
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(prefix as usize - 1)
        .map(|(i, _)| i + 1)
        .expect("the log is longer than its prefix");
    let (short, short_steps) = kept_bytes(&text[..cut], profile);
    assert_eq!(short_steps as u64, prefix, "one step per line");
    let (total, steps) = kept_bytes(text, profile);
    let measured = steps as u64 - prefix;
    Measured {
        profile,
        kept_steps: steps,
        prefix_steps: prefix,
        marginal_bytes_per_step: (total as f64 - short as f64) / measured as f64,
        average_bytes_per_step: total as f64 / steps as f64,
        total_bytes: total,
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
    let (relations, steps) = if bench_mode {
        (
            env_num("BENCH_TIMELINE_RELATIONS", 1000) as usize,
            env_num("BENCH_TIMELINE_STEPS", 100),
        )
    } else {
        (10, 20)
    };
    let mut text = Vec::new();
    let stats = generate(
        &GenConfig::new(relations, UNITS, WARM + steps, SEED),
        &mut text,
    )
    .expect("writing to memory cannot fail");
    let prefix = stats.setup_lines + WARM;
    let mut out = String::from(
        "profile\trelations\tunits\tprefix_steps\tmeasured_steps\tbytes_per_kept_step\taverage_bytes_per_step_whole_log\ttotal_bytes\n",
    );
    for profile in Profile::ALL {
        let m = measure(&text, prefix, profile);
        eprintln!(
            "Timeline {} on {relations} relations x {UNITS} units: {:.0} bytes per kept step \
             over {} steps after {} (whole log: {} steps, {:.0} bytes per step, {:.1} MiB)",
            m.profile.name(),
            m.marginal_bytes_per_step,
            m.kept_steps as u64 - m.prefix_steps,
            m.prefix_steps,
            m.kept_steps,
            m.average_bytes_per_step,
            m.total_bytes as f64 / (1 << 20) as f64,
        );
        assert!(
            m.total_bytes > 0 && m.marginal_bytes_per_step > 0.0,
            "a Timeline keeps something per step"
        );
        out.push_str(&format!(
            "{}\t{relations}\t{UNITS}\t{}\t{}\t{:.0}\t{:.0}\t{}\n",
            m.profile.name(),
            m.prefix_steps,
            m.kept_steps as u64 - m.prefix_steps,
            m.marginal_bytes_per_step,
            m.average_bytes_per_step,
            m.total_bytes
        ));
    }
    if !bench_mode {
        return;
    }
    common::emit_results(&out);
}
