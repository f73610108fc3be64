//! `grafana-source import`: convert a real capture into hook log v1.
use super::{io_failure, Failure};
use grafana_source::import::{self, Conversion, Format, ImportError};
use std::io::{self, Read, Write};

/// Convert a capture (jhack event_db.json, juju show-unit JSON, env-jsonl recorder) into a
/// hook log v1.
#[derive(clap::Args)]
pub struct Args {
    /// The capture's format: `jhack` (jhack's replay event_db.json), `show-unit`
    /// (`juju show-unit UNIT --format json`, becomes a log prefix) or `env-jsonl` (the
    /// dispatch recorder of docs/recorder.md).
    format: Format,
    /// The capture file, or `-` for standard input.
    path: String,
    /// Write the hook log to FILE instead of standard output (only once the whole capture
    /// has converted).
    #[arg(long, short, value_name = "FILE")]
    output: Option<String>,
    /// Start the log with the prefix converted from this `juju show-unit --format json`
    /// dump (the unit's world view and peer data before the capture began).
    #[arg(long, value_name = "SHOW_UNIT_JSON")]
    prefix: Option<String>,
}

pub fn run(a: Args) -> Result<(), Failure> {
    let mut conversion = match &a.prefix {
        Some(path) => convert(Format::ShowUnit, path)?,
        None => Conversion::default(),
    };
    conversion.append(convert(a.format, &a.path)?);
    for note in &conversion.notes {
        eprintln!("grafana-source: note: {note}");
    }
    let text = conversion.to_jsonl();
    match &a.output {
        Some(file) => {
            std::fs::write(file, text).map_err(|e| io_failure(&format!("cannot write {file}"), e))
        }
        None => {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| io_failure("cannot write output", e))
        }
    }
}

fn convert(format: Format, path: &str) -> Result<Conversion, Failure> {
    let text = read(path)?;
    import::convert(format, &text).map_err(|e: ImportError| Failure {
        code: 2,
        message: format!("cannot import {path} as {}: {e}", format.name()),
    })
}

fn read(path: &str) -> Result<String, Failure> {
    let mut text = String::new();
    if path == "-" {
        io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| io_failure("cannot read standard input", e))?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).map_err(|e| io_failure(&format!("cannot read {path}"), e))
    }
}
