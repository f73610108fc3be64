//! `grafana-source validate-metadata`: the reference's relation check on a charm's metadata.
use super::Failure;
use grafana_source::metadata::{CharmMetadata, RelationRole, RELATION_INTERFACE_NAME};
use std::path::PathBuf;

/// Check that a charm's metadata declares the grafana-source endpoint as the reference
/// requires: it exists, has interface grafana_datasource (or none), and has the right role.
/// Exit 0 valid, 1 invalid, 2 unreadable or malformed.
#[derive(clap::Args)]
pub struct Args {
    /// metadata.yaml, charmcraft.yaml, or a charm directory holding one of them.
    path: PathBuf,
    /// Which side the charm is: `provider` (the endpoint must be under `provides`) or
    /// `consumer` (under `requires`).
    #[arg(long, value_enum)]
    role: Side,
    /// The endpoint's name.
    #[arg(long, default_value = grafana_source::metadata::DEFAULT_RELATION_NAME)]
    relation: String,
    /// Print the verdict as one JSON object (`valid`, `file`, `relation`, `error`).
    #[arg(long)]
    json: bool,
}

/// The side of the relation a charm is on.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Side {
    /// A datasource charm (`GrafanaSourceProvider`): `provides`.
    Provider,
    /// Grafana (`GrafanaSourceConsumer`): `requires`.
    Consumer,
}

/// Runs the subcommand.
pub fn run(a: Args) -> Result<(), Failure> {
    let (meta, file) = CharmMetadata::load(&a.path).map_err(|e| Failure {
        code: 2,
        message: e.to_string(),
    })?;
    let role = match a.role {
        Side::Provider => RelationRole::Provides,
        Side::Consumer => RelationRole::Requires,
    };
    let verdict = meta.validate_grafana_source(&a.relation, role);
    if a.json {
        let obj = serde_json::json!({
            "valid": verdict.is_ok(),
            "file": file.display().to_string(),
            "relation": a.relation,
            "role": role.to_string(),
            "error": verdict.as_ref().err().map(|e| e.to_string()),
        });
        println!("{obj}");
        return match verdict {
            Ok(()) => Ok(()),
            Err(_) => Err(Failure {
                code: 1,
                message: String::new(),
            }),
        };
    }
    verdict.map_err(|e| Failure {
        code: 1,
        message: format!("{}: {e}", file.display()),
    })?;
    println!(
        "{}: '{}' is a valid {RELATION_INTERFACE_NAME} endpoint ({role})",
        file.display(),
        a.relation
    );
    Ok(())
}
