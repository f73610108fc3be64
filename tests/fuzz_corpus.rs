//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the fuzz target
//! bodies in `grafana_source::fuzzing`, so plain `cargo test` on stable runs every seed and
//! every minimised finding as a regression test. Structured inputs are decoded from the
//! bytes exactly as `libfuzzer-sys` decodes them ([`fuzzing::decode`]).
use grafana_source::fuzzing::{self, FoldInput, RenderInput};
use grafana_source::log::{LogError, LogReader, MAX_LINE_BYTES};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What the committed corpora may weigh in total.
const MAX_CORPUS_BYTES: u64 = 512 * 1024;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// The corpus files of `target`, sorted by name; libFuzzer's hidden files are skipped.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    files
}

/// Run `body` on every file of `target`'s corpus; a failure names the file.
fn replay(target: &str, body: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    let mut failed = Vec::new();
    for (path, bytes) in corpus(target) {
        if std::panic::catch_unwind(|| body(&bytes)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: failing corpus files {failed:#?}"
    );
}

#[test]
fn parse_log_corpus() {
    replay("parse_log", fuzzing::fuzz_parse_log);
}

#[test]
fn peer_data_corpus() {
    replay("peer_data", fuzzing::fuzz_peer_data);
}

#[test]
fn fold_corpus() {
    replay("fold", |bytes| {
        if let Some(input) = fuzzing::decode::<FoldInput>(bytes) {
            fuzzing::fuzz_fold(&input);
        }
    });
}

#[test]
fn render_corpus() {
    replay("render", |bytes| {
        if let Some(input) = fuzzing::decode::<RenderInput>(bytes) {
            fuzzing::fuzz_render(&input);
        }
    });
}

/// Structured corpus files that no longer decode test nothing: after a change to an
/// input type, regenerate the corpus (README, "Fuzzing").
#[test]
fn structured_corpora_decode() {
    for (path, bytes) in corpus("fold") {
        assert!(
            fuzzing::decode::<FoldInput>(&bytes).is_some(),
            "{}",
            path.display()
        );
    }
    for (path, bytes) in corpus("render") {
        assert!(
            fuzzing::decode::<RenderInput>(&bytes).is_some(),
            "{}",
            path.display()
        );
    }
}

#[test]
fn corpora_stay_small() {
    let total: u64 = ["parse_log", "fold", "render", "peer_data"]
        .iter()
        .flat_map(|t| corpus(t))
        .map(|(_, bytes)| bytes.len() as u64)
        .sum();
    assert!(
        total <= MAX_CORPUS_BYTES,
        "committed fuzz corpora weigh {total} bytes; minimise them (`cargo fuzz cmin`)"
    );
}

/// The bound `parse_log` cannot reach (libFuzzer inputs are small): a line longer than
/// `MAX_LINE_BYTES`, even an endless one, is refused after reading `MAX_LINE_BYTES + 1`
/// bytes of it.
#[test]
fn log_reader_bounds_an_endless_line() {
    let endless = std::io::BufReader::new(std::io::repeat(b' '));
    let got: Vec<_> = LogReader::new(endless).take(2).collect();
    assert!(
        matches!(got.as_slice(), [Err(LogError::TooLong { line: 1 })]),
        "{got:?}"
    );
    let long = std::io::repeat(b'x').take(MAX_LINE_BYTES as u64 + 1);
    let got: Vec<_> = LogReader::new(std::io::BufReader::new(long)).collect();
    assert!(
        matches!(got.as_slice(), [Err(LogError::TooLong { line: 1 })]),
        "{got:?}"
    );
}

/// The fuzz workspace has its own lock file; when a dependency joins `Cargo.toml` and that
/// file is not brought along, every `--locked` cargo command in `fuzz/` (and so every
/// campaign run that way) stops before building. Checked here because CI builds only the
/// main workspace.
#[test]
fn fuzz_lock_file_lists_every_library_dependency() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let wanted: Vec<&str> = manifest
        .lines()
        .skip_while(|l| l.trim() != "[dependencies]")
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|l| l.split_once('=').map(|(name, _)| name.trim()))
        .collect();
    assert!(
        wanted.contains(&"serde"),
        "read the [dependencies] of Cargo.toml"
    );
    let lock = std::fs::read_to_string(root.join("fuzz/Cargo.lock")).expect("fuzz/Cargo.lock");
    let package = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"grafana-source\"\n"))
        .expect("fuzz/Cargo.lock has the grafana-source package");
    let listed: Vec<&str> = package
        .split_once("dependencies = [")
        .map_or("", |(_, rest)| rest.split(']').next().unwrap_or(""))
        .lines()
        .filter_map(|l| {
            l.trim()
                .trim_end_matches(',')
                .trim_matches('"')
                .split(' ')
                .next()
        })
        .filter(|name| !name.is_empty())
        .collect();
    let missing: Vec<&&str> = wanted.iter().filter(|d| !listed.contains(d)).collect();
    assert!(
        missing.is_empty(),
        "fuzz/Cargo.lock does not list {missing:?} under grafana-source: run `cargo update -p grafana-source` in fuzz/"
    );
}
