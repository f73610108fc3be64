//! The command-line interface: one module per subcommand, sharing input handling and
//! the mapping of library errors to messages and exit codes.
use grafana_source::log::{self, LogReader, ReadAhead};
use grafana_source::world::PeerAtStart;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};

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
        let message = match e {
            log::LogError::PeerUndecided { .. } => format!(
                "{e}: give --peer-at-start visible|absent, or the log as a file (a file is \
                 scanned for that hook)"
            ),
            e => format!("malformed hook log: {e}"),
        };
        Failure { code: 2, message }
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

/// The plural ending of a count's noun: `format!("{n} step{}", plural(n))`.
pub use grafana_source::summary::plural;

/// A datasource name as people read it: a string as it is, anything else (corrupt peer
/// data) as Python's repr.
pub fn name_text(v: &grafana_source::py::PyValue) -> String {
    match v {
        grafana_source::py::PyValue::Str(s) => s.to_string(),
        other => other.py_repr(),
    }
}

/// A step number past the end of the log (`what` names it as the user gave it: `--at 5`,
/// `step 5`), with the steps the log has.
pub fn no_such_step(what: &str, steps: u64) -> Failure {
    let has = match steps {
        0 => "the log has no steps".to_string(),
        1 => "the log has only 1 step (step 0)".to_string(),
        n => format!("the log has only {n} steps (0 to {})", n - 1),
    };
    Failure {
        code: 2,
        message: format!("{what}: {has}"),
    }
}

/// Leave a folded world to the end of the process instead of dropping it: the command
/// returns right after, and the process's exit gives all of its memory back at once,
/// where dropping it frees it object by object, chasing pointers through memory the fold
/// left cold (on a 10,000-relation log that was 15% of `replay`'s wall time).
pub fn leave<T>(world: T) {
    std::mem::forget(world);
}

/// Standard output for what a command writes step by step. Buffered; when the log comes
/// from standard input, which may be a live stream (`tail -f unit.jsonl | grafana-source
/// replay --steps -`), [`StepOut::step_done`] flushes it, so that a step's output shows
/// as its line is folded rather than when the buffer fills or the stream ends. A file's
/// output is written a buffer at a time.
pub struct StepOut {
    out: BufWriter<io::StdoutLock<'static>>,
    live: bool,
}

impl StepOut {
    /// Output for the log at `path` (`-`: standard input).
    pub fn for_log(path: &str) -> StepOut {
        StepOut {
            out: BufWriter::new(io::stdout().lock()),
            live: path == "-",
        }
    }

    /// One JSON value on a line of its own, as a step's whole output.
    pub fn json_line(&mut self, value: &impl serde::Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut *self, value)?;
        self.out.write_all(b"\n")?;
        self.step_done()
    }

    /// The output of one step is complete: shown now when the log is live.
    pub fn step_done(&mut self) -> io::Result<()> {
        if self.live {
            self.out.flush()
        } else {
            Ok(())
        }
    }
}

impl Write for StepOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A log's entries as the commands read them.
pub type Log = LogReader<Box<dyn BufRead>>;

/// The hook log a command reads, and what its user may state about the log's start.
#[derive(clap::Args)]
pub struct LogInput {
    /// The hook log (JSON Lines, hook log v1), or `-` for standard input.
    pub log: String,
    /// Whether the peer relation (`grafana`) exists when the log starts. By default the log
    /// says: absent when its first peer hook is `grafana-relation-created`. A file is
    /// scanned for that hook first; standard input holds back the lines before it until it
    /// comes, which stating it here avoids.
    #[arg(long, value_name = "visible|absent", value_parser = parse_peer_at_start)]
    pub peer_at_start: Option<PeerAtStart>,
}

fn parse_peer_at_start(s: &str) -> Result<PeerAtStart, String> {
    match s {
        "visible" => Ok(PeerAtStart::Visible),
        "absent" => Ok(PeerAtStart::Absent),
        _ => Err(format!("`{s}` is neither `visible` nor `absent`")),
    }
}

/// Opens the log and, for a file whose user did not state it, pre-scans it for the peer
/// relation at its start. A file is parsed a few lines ahead of the fold
/// ([`ReadAhead::FILE`]); standard input line by line, so that a live stream's lines are
/// folded as they arrive.
pub fn open_log(input: &LogInput) -> Result<(Log, Option<PeerAtStart>), Failure> {
    let path = input.log.as_str();
    if path == "-" {
        let stdin: Box<dyn BufRead> = Box::new(BufReader::new(io::stdin()));
        return Ok((LogReader::new(stdin), input.peer_at_start));
    }
    let peer = match input.peer_at_start {
        Some(peer) => peer,
        None => log::peer_at_start(BufReader::new(open_file(path)?)),
    };
    let file = open_file(path)?;
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

/// Opens a log file for reading. A directory opens on Unix and fails at the first read,
/// which would be reported as a broken log; it is refused here by name.
pub fn open_file(path: &str) -> Result<File, Failure> {
    let file = File::open(path).map_err(|e| io_failure(&format!("cannot open {path}"), e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(Failure {
            code: 2,
            message: format!("cannot open {path}: it is a directory, not a log file"),
        });
    }
    Ok(file)
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
