//! `grafana-source`: replay, check and render Juju `grafana-source` hook logs.
//!
//! The library does the work and returns typed errors; `cli` parses arguments, opens
//! files and turns errors into messages for people, with exit codes:
//! 0 success, 1 the command found something (violations), 2 unusable input or usage.
use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cli;

/// mimalloc: the fold allocates many small short-lived values (see Cargo.toml).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` of mimalloc v2's `mimalloc.h` (milliseconds a free page waits
/// before it is returned to the OS; -1: never). The bindings name no constant for it; the
/// test below checks that this index holds that option's default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keep freed pages instead of returning them to the OS after 10 ms: a command runs once
/// and exits, and its peak is held either way, but the explorer frees a level's worlds and
/// allocates the next level's soon after, so every purged page was faulted in and zeroed
/// again (depth 7 with two jobs: ~1.5 s of kernel time, ~20% of the wall time; a replay's
/// steady state purges almost nothing). `MIMALLOC_PURGE_DELAY` (or its old name
/// `MIMALLOC_RESET_DELAY`) in the environment still decides when set.
fn keep_freed_pages() {
    let set_by_user = ["MIMALLOC_PURGE_DELAY", "MIMALLOC_RESET_DELAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if !set_by_user {
        // SAFETY: sets one integer option, which mimalloc reads at every purge decision;
        // no memory is touched.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

#[derive(Parser)]
#[command(
    name = "grafana-source",
    version,
    about = "Replay and check Juju grafana-source hook logs (hook log v1)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Replay(cli::replay::Args),
    GenLog(cli::gen_log::Args),
    Explore(cli::explore::Args),
    Check(cli::check::Args),
    DiffProfiles(cli::diff_profiles::Args),
    Render(cli::render::Args),
    Diff(cli::diff::Args),
    Import(cli::import::Args),
    Provider(cli::provider::Args),
    ValidateMetadata(cli::validate_metadata::Args),
}

fn main() -> ExitCode {
    keep_freed_pages();
    let result = match Cli::parse().command {
        Command::Replay(a) => cli::replay::run(a),
        Command::GenLog(a) => cli::gen_log::run(a),
        Command::Explore(a) => cli::explore::run(a),
        Command::Check(a) => cli::check::run(a),
        Command::DiffProfiles(a) => cli::diff_profiles::run(a),
        Command::Render(a) => cli::render::run(a),
        Command::Diff(a) => cli::diff::run(a),
        Command::Import(a) => cli::import::run(a),
        Command::Provider(a) => cli::provider::run(a),
        Command::ValidateMetadata(a) => cli::validate_metadata::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("grafana-source: {}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_index_is_that_option_and_is_turned_off() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return; // the user's setting, whatever it is, stands
        }
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        // mimalloc v2's default purge delay (its neighbours default to 1 and 0).
        assert_eq!(
            get(),
            10,
            "index {MI_OPTION_PURGE_DELAY} is not the purge delay"
        );
        keep_freed_pages();
        assert_eq!(get(), -1);
    }
}
