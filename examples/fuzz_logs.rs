//! The `fold` fuzz target's inputs as hook logs: each file of a corpus (by default
//! `fuzz/corpus/fold/`) decoded as libFuzzer decodes it ([`fuzzing::decode`]) and written
//! with [`FoldInput::to_log`], one log per input. The differential campaign against the
//! reference (`scripts/reference/differential.sh`) replays them: they carry what the
//! simulator never makes (peer data of any shape, non-object `extra_fields`, timeouts
//! Python's `int()` rejects, odd unit names).
//!
//! ```text
//! cargo run --release --example fuzz_logs -- OUT_DIR [CORPUS_DIR]
//! ```
//!
//! Inputs too short to decode are skipped, as libFuzzer skips them; the count is printed.
use grafana_source::fuzzing::{self, FoldInput};
use std::process::ExitCode;

fn run(args: &[String]) -> Result<(), String> {
    let out = args.get(1).ok_or("usage: fuzz_logs OUT_DIR [CORPUS_DIR]")?;
    let corpus = args.get(2).map_or("fuzz/corpus/fold", String::as_str);
    let mut files: Vec<_> = std::fs::read_dir(corpus)
        .map_err(|e| format!("cannot list {corpus}: {e}"))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot list {corpus}: {e}"))?;
    files.retain(|p| p.is_file());
    files.sort();
    std::fs::create_dir_all(out).map_err(|e| format!("cannot make {out}: {e}"))?;
    let (mut written, mut skipped) = (0, 0);
    for path in files {
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let Some(input) = fuzzing::decode::<FoldInput>(&bytes) else {
            skipped += 1;
            continue;
        };
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into());
        let target = format!("{out}/fuzz-{name}.jsonl");
        std::fs::write(&target, input.to_log()).map_err(|e| format!("{target}: {e}"))?;
        written += 1;
    }
    eprintln!("fuzz_logs: {written} logs from {corpus} ({skipped} inputs too short to decode)");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fuzz_logs: {e}");
            ExitCode::from(2)
        }
    }
}
