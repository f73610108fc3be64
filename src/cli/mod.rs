//! The command-line interface: one module per subcommand, sharing input handling and
//! the mapping of library errors to messages and exit codes.
use grafana_source::log;
use std::fs::File;
use std::io::{self, BufRead, BufReader};

pub mod check;
pub mod diff;
pub mod diff_profiles;
pub mod import;
pub mod provider;
pub mod render;
pub mod replay;
pub mod validate_metadata;

/// An error for people, with the exit code it deserves.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl From<log::LogError> for Failure {
    fn from(e: log::LogError) -> Self {
        Failure {
            code: 2,
            message: format!("malformed hook log: {e}"),
        }
    }
}

pub fn io_failure(what: &str, e: io::Error) -> Failure {
    Failure {
        code: 2,
        message: format!("{what}: {e}"),
    }
}

/// Opens the log and, for a file, pre-scans it for the peer relation at its start.
pub fn open_log(
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
