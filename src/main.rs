//! `grafana-source`: replay, check and render Juju `grafana-source` hook logs.
//!
//! The library does the work and returns typed errors; `cli` parses arguments, opens
//! files and turns errors into messages for people, with exit codes:
//! 0 success, 1 the command found something (violations), 2 unusable input or usage.
use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod allocator;
mod cli;

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
    allocator::keep_freed_pages();
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
