//! `grafana-source replay`: fold a log, print step reports or a summary.
use super::{io_failure, open_log, Failure, StepOut};
use grafana_source::replay::{self, Flow, Replay};
use grafana_source::summary::{self, Tally};
use grafana_source::Profile;
use std::io::{self, BufWriter, Write};

/// Fold a hook log and print the consumer's state (or one JSON report per step).
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: super::LogInput,
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
}

pub fn run(a: Args) -> Result<(), Failure> {
    run_replay(&a.input, a.profile, a.steps, a.at, a.json, a.show_secrets)
}

fn run_replay(
    input: &super::LogInput,
    profile: Profile,
    steps: bool,
    at: Option<u64>,
    json: bool,
    show_secrets: bool,
) -> Result<(), Failure> {
    let (entries, peer) = open_log(input)?;
    let mut out = StepOut::for_log(&input.log);
    let mut tally = Tally::default();
    let mut write_err = None;
    let last: Replay = replay::replay_stream(entries, profile, peer, |_, report| {
        tally.add(&report);
        if steps {
            if let Err(e) = out.json_line(&report) {
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
        return Err(io_failure("cannot write output", e));
    }
    if let Some(n) = at {
        if tally.steps <= n {
            return Err(super::no_such_step(&format!("--at {n}"), tally.steps));
        }
    }
    if !steps {
        let rendered = last.rendered().clone();
        if json {
            let summary = summary::JsonSummary {
                profile: profile.name(),
                tally: &tally,
                rendered: &rendered,
                show_secrets,
            };
            serde_json::to_writer(&mut out, &summary)
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|e| io_failure("cannot write output", e))?;
        } else {
            out.flush()
                .map_err(|e| io_failure("cannot write output", e))?;
            let mut styled = BufWriter::new(anstream::stdout().lock());
            let written = summary::write_summary(
                &mut styled,
                profile.name(),
                &tally,
                &rendered,
                show_secrets,
            )
            .and_then(|()| styled.flush());
            written.map_err(|e| io_failure("cannot write output", e))?;
        }
    }
    out.flush()
        .map_err(|e| io_failure("cannot write output", e))?;
    super::leave(last);
    Ok(())
}
