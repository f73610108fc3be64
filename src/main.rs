//! `grafana-source`: replay, check and render Juju `grafana-source` hook logs.
//!
//! The library does the work and returns typed errors; this file parses arguments,
//! opens files and turns errors into messages for people, with exit codes:
//! 0 success, 1 the command found something (violations), 2 unusable input or usage.
use clap::{Parser, Subcommand};
use grafana_source::log::{self, LogReader};
use grafana_source::replay::{self, Flow, Replay};
use grafana_source::summary::{self, Tally};
use grafana_source::Profile;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::process::ExitCode;

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
    /// Fold a hook log and print the consumer's state (or one JSON report per step).
    Replay {
        /// The hook log (JSON Lines, hook log v1), or `-` for standard input.
        log: String,
        /// Which fold: `libpatch21` (the reference, bugs included) or `verified`.
        #[arg(long, default_value = "libpatch21")]
        profile: Profile,
        /// Print one step report (spec section 2) per log line, as JSON Lines.
        #[arg(long)]
        steps: bool,
        /// Stop after step N (0-based) and show the state there.
        #[arg(long, value_name = "N")]
        at: Option<u64>,
        /// Print the summary as one JSON object instead of text.
        #[arg(long, conflicts_with = "steps")]
        json: bool,
        /// Show `secureJsonData` values instead of `<redacted>` in the summary.
        #[arg(long)]
        show_secrets: bool,
    },
}

/// An error for people, with the exit code it deserves.
struct Failure {
    code: u8,
    message: String,
}

impl From<log::LogError> for Failure {
    fn from(e: log::LogError) -> Self {
        Failure {
            code: 2,
            message: format!("malformed hook log: {e}"),
        }
    }
}

fn io_failure(what: &str, e: io::Error) -> Failure {
    Failure {
        code: 2,
        message: format!("{what}: {e}"),
    }
}

/// Opens the log and, for a file, pre-scans it for the peer relation at its start.
fn open_log(
    path: &str,
) -> Result<(Box<dyn BufRead>, Option<grafana_source::world::PeerAtStart>), Failure> {
    if path == "-" {
        return Ok((Box::new(BufReader::new(io::stdin())), None));
    }
    let open = || File::open(path).map_err(|e| io_failure(&format!("cannot open {path}"), e));
    let peer = log::peer_at_start(BufReader::new(open()?));
    Ok((
        Box::new(BufReader::with_capacity(1 << 16, open()?)),
        Some(peer),
    ))
}

fn run_replay(
    path: &str,
    profile: Profile,
    steps: bool,
    at: Option<u64>,
    json: bool,
    show_secrets: bool,
) -> Result<(), Failure> {
    let (reader, peer) = open_log(path)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut tally = Tally::default();
    let mut write_err = None;
    let last: Option<Replay> =
        replay::replay_stream(LogReader::new(reader), profile, peer, |_, report| {
            tally.add(&report);
            if steps {
                if let Err(e) = serde_json::to_writer(&mut out, &report.to_json())
                    .and_then(|_| out.write_all(b"\n").map_err(serde_json::Error::io))
                {
                    write_err = Some(e);
                    return Flow::Stop;
                }
            }
            match at {
                Some(n) if report.step >= n => Flow::Stop,
                _ => Flow::Continue,
            }
        })?;
    if let Some(e) = write_err {
        return Err(Failure {
            code: 2,
            message: format!("cannot write output: {e}"),
        });
    }
    if let Some(n) = at {
        if tally.steps <= n {
            return Err(Failure {
                code: 2,
                message: format!(
                    "--at {n}: the log has only {} steps (0 to {})",
                    tally.steps,
                    tally.steps.saturating_sub(1)
                ),
            });
        }
    }
    if !steps {
        let rendered = match &last {
            Some(r) => r.rendered().clone(),
            None => Replay::new(profile, grafana_source::world::PeerAtStart::Visible)
                .rendered()
                .clone(),
        };
        if json {
            let failed: Vec<_> = tally
                .failed
                .iter()
                .map(|(step, line, hook, exc)| serde_json::json!({"step": step, "line": line, "hook": hook, "error": exc}))
                .collect();
            let violations: Vec<_> = tally
                .violations
                .iter()
                .map(|(name, count, first)| serde_json::json!({"invariant": name, "steps": count, "first_step": first}))
                .collect();
            let (datasources, render_error) = match &rendered {
                Ok(r) => (summary::redact_json(r.to_json(), show_secrets), None),
                Err(exc) => (serde_json::Value::Null, Some(exc.name())),
            };
            let mut obj = serde_json::json!({
                "profile": profile.name(),
                "steps": tally.steps,
                "datasources": datasources,
                "failed_hooks": failed,
                "violations": violations,
            });
            if let Some(e) = render_error {
                obj["render_error"] = serde_json::json!(e);
            }
            let _ = writeln!(out, "{obj}");
        } else {
            let _ = write!(
                out,
                "{}",
                summary::summary(profile.name(), &tally, &rendered, show_secrets)
            );
        }
    }
    out.flush()
        .map_err(|e| io_failure("cannot write output", e))?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay {
            log,
            profile,
            steps,
            at,
            json,
            show_secrets,
        } => run_replay(&log, profile, steps, at, json, show_secrets),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("grafana-source: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
