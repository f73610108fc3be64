//! `tests/conformance/` must be an exact copy of the shared corpus `../shared/conformance`
//! (relative to the crate root): the same files, recursively, with the same bytes.
//!
//! Where the shared corpus is not present (a fresh clone, CI), there is nothing to compare
//! with and the test passes, saying so.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every file under `root`, by its path relative to `root` (`/`-separated), following
/// symbolic links. Directories themselves are not listed: an empty directory is no file.
fn files_under(root: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, rel: &str, out: &mut BTreeMap<String, PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let path = entry.path();
            if path.is_dir() {
                walk(&path, &rel, out);
            } else {
                out.insert(rel, path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, "", &mut out);
    out
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// How two byte strings differ, for the message.
fn describe_difference(a: &[u8], b: &[u8]) -> String {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let line = a[..at].iter().filter(|&&c| c == b'\n').count() + 1;
    format!("first difference at byte {at} (line {line}); {} bytes in the shared corpus, {} in the copy", a.len(), b.len())
}

#[test]
fn conformance_copy_matches_shared_corpus() {
    let crate_root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = crate_root.join("../shared/conformance");
    let copy = crate_root.join("tests/conformance");
    if !shared.is_dir() {
        eprintln!(
            "note: corpus sync check skipped: no shared corpus at {} (expected outside a workspace checkout)",
            shared.display()
        );
        return;
    }
    assert!(
        copy.is_dir(),
        "{} is missing: copy {} there",
        copy.display(),
        shared.display()
    );

    let want = files_under(&shared);
    let have = files_under(&copy);
    assert!(
        !want.is_empty(),
        "the shared corpus {} holds no files",
        shared.display()
    );

    let mut problems = Vec::new();
    for (rel, path) in &want {
        match have.get(rel) {
            None => problems.push(format!("missing from the copy: tests/conformance/{rel}")),
            Some(copied) => {
                let (a, b) = (read(path), read(copied));
                if a != b {
                    problems.push(format!(
                        "differs: tests/conformance/{rel}: {}",
                        describe_difference(&a, &b)
                    ));
                }
            }
        }
    }
    for rel in have.keys() {
        if !want.contains_key(rel) {
            problems.push(format!("not in the shared corpus: tests/conformance/{rel}"));
        }
    }

    if !problems.is_empty() {
        let shown: Vec<&str> = problems.iter().take(20).map(String::as_str).collect();
        panic!(
            "tests/conformance/ is not an exact copy of {} ({} problem(s); first: {})\n  {}{}\nrefresh it with: rm -r tests/conformance && cp -r {} tests/conformance",
            shared.display(),
            problems.len(),
            problems[0],
            shown.join("\n  "),
            if problems.len() > shown.len() { format!("\n  ... and {} more", problems.len() - shown.len()) } else { String::new() },
            shared.display(),
        );
    }
    eprintln!(
        "corpus sync: {} files in tests/conformance/ match {}",
        want.len(),
        shared.display()
    );
}

/// `docs/spec/hook-log-v1.md` is the contract this crate implements, copied so a clone is
/// self-contained; it must stay the shared spec, byte for byte, where that exists.
#[test]
fn spec_copy_matches_shared_spec() {
    let crate_root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = crate_root.join("../shared/spec/hook-log-v1.md");
    let copy = crate_root.join("docs/spec/hook-log-v1.md");
    assert!(
        copy.is_file(),
        "the spec copy {} is missing",
        copy.display()
    );
    if !shared.is_file() {
        eprintln!(
            "note: spec sync check skipped: no shared spec at {}",
            shared.display()
        );
        return;
    }
    let (a, b) = (read(&shared), read(&copy));
    assert!(
        a == b,
        "docs/spec/hook-log-v1.md differs from {}: {}",
        shared.display(),
        describe_difference(&a, &b)
    );
}
