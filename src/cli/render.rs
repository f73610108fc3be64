//! `grafana-source render`: the provisioning file Grafana would read.
use super::{open_log, Failure};
use grafana_source::render::{self, FileFormat};
use grafana_source::replay::{self, Flow};
use grafana_source::Profile;
use std::io::Write;

/// Write the provisioning file Grafana would read after the log (or after step N).
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: super::LogInput,
    /// Which fold renders it.
    #[arg(long, default_value = "libpatch21")]
    profile: Profile,
    /// Render the state after step N (0-based) instead of after the last line.
    #[arg(long, value_name = "N")]
    at: Option<u64>,
    /// `yaml` (what the charm writes) or `json`.
    #[arg(long, default_value = "yaml", value_parser = parse_format)]
    format: FileFormat,
    /// Add `prune: true` (Grafana 11.1+ deletes provisioned datasources no file lists).
    #[arg(long)]
    prune: bool,
}

fn parse_format(s: &str) -> Result<FileFormat, String> {
    match s {
        "yaml" => Ok(FileFormat::Yaml),
        "json" => Ok(FileFormat::Json),
        _ => Err(format!("unknown format `{s}` (expected yaml or json)")),
    }
}

pub fn run(a: Args) -> Result<(), Failure> {
    let (entries, peer) = open_log(&a.input)?;
    let mut steps = 0u64;
    let last = replay::replay_stream(entries, a.profile, peer, |_, r| {
        steps += 1;
        match a.at {
            Some(n) if r.step >= n => Flow::Stop,
            _ => Flow::Continue,
        }
    })?;
    if let Some(n) = a.at.filter(|n| *n >= steps) {
        return Err(super::no_such_step(&format!("--at {n}"), steps));
    }
    let rendered = last.rendered().as_ref().map_err(|exc| Failure {
        code: 1,
        message: format!(
            "the Grafana charm's renderer raises {} on this state: there is no provisioning file",
            exc.name()
        ),
    })?;
    let text = render::write_file(rendered, a.prune, a.format).map_err(|e| Failure {
        code: 2,
        message: e.to_string(),
    })?;
    super::leave(last);
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| super::io_failure("cannot write output", e))
}
