//! `grafana-source provider`: fold a provider unit's log and print, after each step, what
//! the unit (and, as leader, its application) has written into each relation.
use super::{io_failure, open_file, Failure, StepOut};
use grafana_source::metadata::CharmMetadata;
use grafana_source::provider::fold::{ProviderError, ProviderFold};
use grafana_source::provider::{ProviderArgs, ProviderConfig};
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;

/// Fold a provider unit's log (see docs/provider.md) and print one JSON object per step:
/// the databags it has written by relation, and the warnings the reference logs.
#[derive(clap::Args)]
pub struct Args {
    /// The provider's configuration: a JSON object (model, model_uuid, application,
    /// source_type, source_port, source_url, ...).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The charm's metadata.yaml or charmcraft.yaml (or its directory): the endpoint is
    /// checked as the reference's constructor does, and the containers are taken from it.
    #[arg(long, value_name = "PATH")]
    metadata: Option<PathBuf>,
    /// The provider log (JSON Lines), or `-` for standard input.
    log: String,
}

fn unusable(message: String) -> Failure {
    Failure { code: 2, message }
}

/// Runs the subcommand: 0 when the whole log folds, 2 for unusable input.
pub fn run(a: Args) -> Result<(), Failure> {
    let config_path = a.config.display().to_string();
    let text = std::fs::read_to_string(&a.config)
        .map_err(|e| io_failure(&format!("cannot read {config_path}"), e))?;
    let args =
        ProviderArgs::from_json_str(&text).map_err(|e| unusable(format!("{config_path}: {e}")))?;
    let (config, _warnings) = match &a.metadata {
        Some(path) => {
            let (meta, file) = CharmMetadata::load(path).map_err(|e| unusable(e.to_string()))?;
            ProviderConfig::with_metadata(&args, &meta)
                .map_err(|e| unusable(format!("{}: {e}", file.display())))?
        }
        None => ProviderConfig::new(&args).map_err(|e| unusable(format!("{config_path}: {e}")))?,
    };

    let reader: Box<dyn BufRead> = if a.log == "-" {
        Box::new(BufReader::new(io::stdin()))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, open_file(&a.log)?))
    };
    let mut out = StepOut::for_log(&a.log);
    let mut write_err = None;
    let folded = ProviderFold::new(config).run(reader, |report| {
        if write_err.is_none() {
            if let Err(e) = out.json_line(&report) {
                write_err = Some(e);
            }
        }
    });
    if let Some(e) = write_err {
        return Err(io_failure("cannot write output", e));
    }
    out.flush()
        .map_err(|e| io_failure("cannot write output", e))?;
    folded.map_err(|e| match e {
        ProviderError::Log(e) => unusable(format!("malformed provider log: {e}")),
        ProviderError::Step(e) => unusable(format!("provider log: {e}")),
    })
}
