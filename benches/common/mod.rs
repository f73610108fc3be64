//! What the benches share: writing their results table.

/// Print the TSV `table`, and write it to the file `BENCH_RESULTS` names, if set (read by
/// `scripts/bench.sh`).
pub fn emit_results(table: &str) {
    use std::io::Write;
    print!("{table}");
    if let Ok(path) = std::env::var("BENCH_RESULTS") {
        let mut f = std::fs::File::create(&path).expect("BENCH_RESULTS: cannot create");
        f.write_all(table.as_bytes())
            .expect("BENCH_RESULTS: cannot write");
        eprintln!("results written to {path}");
    }
}
