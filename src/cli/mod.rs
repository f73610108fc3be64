//! The command-line interface: one module per subcommand, sharing input handling and
//! the mapping of library errors to messages and exit codes.
use grafana_source::log::{self, LogReader, ReadAhead};
use grafana_source::world::PeerAtStart;
use std::fs::File;
use std::io::{self, BufRead, BufReader};

pub mod check;
pub mod diff;
pub mod diff_profiles;
pub mod explore;
pub mod gen_log;
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
    if e.kind() == io::ErrorKind::BrokenPipe {
        return Failure::quiet();
    }
    Failure {
        code: 2,
        message: format!("{what}: {e}"),
    }
}

impl Failure {
    /// The reader of our output went away (`| head`): stop, say nothing, succeed.
    pub fn quiet() -> Failure {
        Failure {
            code: 0,
            message: String::new(),
        }
    }
}

/// Leave a folded world to the end of the process instead of dropping it: the command
/// returns right after, and the process's exit gives all of its memory back at once,
/// where dropping it frees it object by object, chasing pointers through memory the fold
/// left cold (on a 10,000-relation log that was 15% of `replay`'s wall time).
pub fn leave<T>(world: T) {
    std::mem::forget(world);
}

/// A log's entries as the commands read them.
pub type Log = LogReader<Box<dyn BufRead>>;

/// Opens the log and, for a file, pre-scans it for the peer relation at its start. A file
/// is parsed a few lines ahead of the fold ([`ReadAhead::FILE`]); standard input line by
/// line, so that a live stream's lines are folded as they arrive.
pub fn open_log(path: &str) -> Result<(Log, Option<PeerAtStart>), Failure> {
    if path == "-" {
        let stdin: Box<dyn BufRead> = Box::new(BufReader::new(io::stdin()));
        return Ok((LogReader::new(stdin), None));
    }
    let open = || File::open(path).map_err(|e| io_failure(&format!("cannot open {path}"), e));
    let peer = log::peer_at_start(BufReader::new(open()?));
    let file = open()?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let reader: Box<dyn io::Read> = if size >= PROGRESS_FROM_BYTES {
        Box::new(progress_bar(size).wrap_read(file))
    } else {
        Box::new(file)
    };
    let reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(1 << 16, reader));
    Ok((
        LogReader::new(reader).read_ahead(ReadAhead::FILE),
        Some(peer),
    ))
}

/// Logs from this size (a few thousand hooks) get a progress bar on stderr.
const PROGRESS_FROM_BYTES: u64 = 1 << 20;

/// A byte progress bar on stderr; indicatif hides it when stderr is not a terminal, and
/// it clears itself when the log has been read.
fn progress_bar(size: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(size),
        indicatif::ProgressDrawTarget::stderr(),
    )
    .with_finish(indicatif::ProgressFinish::AndClear);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {eta}")
    {
        bar.set_style(style);
    }
    bar
}
