//! `grafana-source gen-log`: write a synthetic consumer hook log (for benchmarks).
use super::{io_failure, Failure};
use grafana_source::gen::{self, GenConfig};
use grafana_source::Profile;
use std::io::{self, Write};

/// Write a realistic consumer hook log (hook log v1, JSON Lines) to stdout: a setup of
/// `--relations` grafana-source relations with `--units` units each, then `--steps` lines
/// of host updates, scaling, relations coming and going, and leadership changes. The same
/// arguments always give the same bytes.
#[derive(clap::Args)]
pub struct Args {
    /// grafana-source relations in the world (the steps keep the count near it).
    #[arg(long, default_value_t = 10)]
    relations: usize,
    /// Units per relation (the steps keep counts near it).
    #[arg(long, default_value_t = 5)]
    units: usize,
    /// Lines to write after the setup.
    #[arg(long, default_value_t = 1000)]
    steps: u64,
    /// Seed of the generator's random choices.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The fold the log is for: with `libpatch21`, no line makes the reference raise;
    /// with `verified`, units also depart when the leader's state does not list them.
    #[arg(long, default_value = "libpatch21")]
    profile_hint: Profile,
    /// Be the leader from the first line (by default leadership arrives at the end of the
    /// setup, which keeps setting up a big world cheap to fold).
    #[arg(long)]
    leader_during_setup: bool,
}

pub fn run(a: Args) -> Result<(), Failure> {
    let config = GenConfig {
        relations: a.relations,
        units: a.units,
        steps: a.steps,
        seed: a.seed,
        profile_hint: a.profile_hint,
        leader_during_setup: a.leader_during_setup,
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match gen::generate(&config, &mut out).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // `gen-log ... | head`: the reader has what it wanted.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(io_failure("cannot write output", e)),
    }
}
