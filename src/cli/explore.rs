//! `grafana-source explore`: exhaustive bounded model checking of a small simulated world.
use super::{io_failure, Failure};
use grafana_source::explore::{self, Counterexample, Options, Summary, Target};
use grafana_source::invariants::Invariant;
use grafana_source::sim::{Alphabet, Bounds};
use grafana_source::Profile;
use serde_json::json;
use std::io::{self, Write};

/// Explore every action sequence of a small Juju world up to a depth (breadth first,
/// states deduplicated) and report the shortest one that breaks an invariant.
/// Exit status: 0 none found, 1 a counterexample, 2 usage.
#[derive(clap::Args)]
pub struct Args {
    /// Which fold every Grafana unit runs.
    #[arg(long, default_value = "verified")]
    profile: Profile,
    /// The longest action sequence explored.
    #[arg(long, value_name = "K")]
    depth: usize,
    /// Provider applications (prometheus, loki, tempo, alertmanager), 1 to 4.
    #[arg(long, value_name = "N", default_value_t = 1)]
    providers: usize,
    /// Units per provider application at most (1 to 4); each starts with this many.
    #[arg(long, value_name = "M", default_value_t = 2)]
    units: usize,
    /// Grafana units at most (1 to 3); the world starts with this many.
    #[arg(long, value_name = "G", default_value_t = 2)]
    grafana_units: usize,
    /// Only this invariant counts (`stale-datasource`, `hook-failed`, ...).
    #[arg(long, value_name = "NAME")]
    invariant: Option<Invariant>,
    /// Only hooks failing with this Python exception count (`IndexError`, `KeyError`, ...);
    /// implies `--invariant hook-failed` unless another is given.
    #[arg(long, value_name = "EXCEPTION")]
    error: Option<String>,
    /// Write the counterexample's hook log (JSON Lines) here instead of standard output.
    #[arg(long, value_name = "PATH")]
    counterexample: Option<String>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
    /// The actions explored: `core` (one value per behaviour: host set or cleared; app data
    /// set, removed, bad JSON or colliding; upgrade with legacy sources or deletions) or
    /// `full` (also changed hosts, changed extra fields, app data missing a key, an empty
    /// legacy state).
    #[arg(long, value_name = "SET", default_value = "core", value_parser = ["core", "full"])]
    alphabet: String,
    /// Leave `upgrade-charm` out of the alphabet (its legacy state reaches many invariants
    /// in one or two actions; without it the explorer finds the relation-lifecycle ones).
    #[arg(long)]
    no_upgrade: bool,
    /// Worker threads (default: the available cores).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
}

fn usage(message: String) -> Failure {
    Failure { code: 2, message }
}

pub fn run(a: Args) -> Result<(), Failure> {
    let bounds = Bounds::new(a.providers, a.units, a.grafana_units).map_err(usage)?;
    let mut opts = Options::new(a.profile, a.depth, bounds);
    opts.target = Target {
        invariant: a.invariant,
        error: a.error.clone(),
    };
    if a.alphabet == "full" {
        opts.alphabet = Alphabet::full();
    }
    if a.no_upgrade {
        opts.alphabet.legacy.clear();
    }
    if let Some(jobs) = a.jobs {
        if jobs == 0 {
            return Err(usage("--jobs must be at least 1".into()));
        }
        opts.jobs = jobs;
    }
    let summary = explore::explore(&opts);
    if let (Some(path), Some(cx)) = (&a.counterexample, &summary.counterexample) {
        std::fs::write(path, cx.jsonl())
            .map_err(|e| io_failure(&format!("cannot write {path}"), e))?;
    }
    let text = if a.json {
        format!("{}\n", json_summary(&a, &summary))
    } else {
        text_summary(&a, &summary)
    };
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| io_failure("cannot write output", e))?;
    if summary.counterexample.is_some() {
        return Err(Failure {
            code: 1,
            message: String::new(),
        });
    }
    Ok(())
}

fn target_text(a: &Args) -> String {
    match (&a.invariant, &a.error) {
        (Some(i), Some(e)) => format!("{} ({e})", i.name()),
        (Some(i), None) => i.name().to_string(),
        (None, Some(e)) => format!("hook-failed ({e})"),
        (None, None) => "any invariant".to_string(),
    }
}

fn text_summary(a: &Args, s: &Summary) -> String {
    let mut t = format!(
        "explore --profile {} --depth {} --providers {} --units {} --grafana-units {} --alphabet {}{} ({})\n",
        a.profile.name(),
        a.depth,
        a.providers,
        a.units,
        a.grafana_units,
        a.alphabet,
        if a.no_upgrade { " --no-upgrade" } else { "" },
        target_text(a)
    );
    t += &format!(
        "states explored: {}\ndistinct states: {}\nstates per second: {:.0}\nelapsed: {:.2} s\nunit steps folded: {} (and {} reused from the memo)\n",
        s.explored,
        s.distinct,
        s.states_per_second(),
        s.elapsed.as_secs_f64(),
        s.memo_misses,
        s.memo_hits
    );
    match &s.counterexample {
        None => t += &format!("no violation up to depth {}\n", s.depth),
        Some(cx) => {
            t += &format!(
                "counterexample ({} action{}):\n",
                cx.actions.len(),
                super::plural(cx.actions.len() as u64)
            );
            for (i, action) in cx.actions.iter().enumerate() {
                t += &format!("  {}. {action}\n", i + 1);
            }
            t += &format!(
                "violation: {} on {} at step {} ({}{})\n",
                names(cx).join(", "),
                cx.unit_name,
                cx.step,
                cx.hook,
                cx.error
                    .map_or(String::new(), |e| format!(", raised {}", e.name()))
            );
            match &a.counterexample {
                Some(path) => {
                    t += &format!(
                        "hook log of {} written to {path}; replay it with: grafana-source check --profile {} {path}\n",
                        cx.unit_name,
                        a.profile.name()
                    );
                }
                None => {
                    t += &format!("hook log of {}:\n{}", cx.unit_name, cx.jsonl());
                }
            }
        }
    }
    t
}

fn names(cx: &Counterexample) -> Vec<&'static str> {
    cx.invariants.iter().map(|i| i.name()).collect()
}

fn json_summary(a: &Args, s: &Summary) -> serde_json::Value {
    let mut obj = json!({
        "profile": a.profile.name(),
        "depth": a.depth,
        "providers": a.providers,
        "units": a.units,
        "grafana_units": a.grafana_units,
        "alphabet": a.alphabet,
        "no_upgrade": a.no_upgrade,
        "invariant": a.invariant.map(|i| i.name()),
        "error": a.error,
        "states_explored": s.explored,
        "distinct_states": s.distinct,
        "states_per_second": s.states_per_second().round(),
        "elapsed_seconds": s.elapsed.as_secs_f64(),
        "depth_explored": s.depth,
        "unit_steps_folded": s.memo_misses,
        "unit_steps_reused": s.memo_hits,
        "violation": s.counterexample.is_some(),
    });
    if let Some(cx) = &s.counterexample {
        let actions: Vec<String> = cx.actions.iter().map(|x| x.to_string()).collect();
        let mut c = json!({
            "actions": actions,
            "unit": cx.unit_name,
            "step": cx.step,
            "hook": cx.hook,
            "invariants": names(cx),
            "error": cx.error.map(|e| e.name()),
        });
        match &a.counterexample {
            Some(path) => c["log_path"] = json!(path),
            None => {
                let lines: Vec<serde_json::Value> =
                    cx.log.iter().map(grafana_source::sim::entry_json).collect();
                c["log"] = json!(lines);
            }
        }
        obj["counterexample"] = c;
    }
    obj
}
