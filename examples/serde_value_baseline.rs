//! The benchmarks' baseline as a program: read a hook log's lines into `serde_json::Value`
//! and drop them, as the `serde_value` group of `benches/replay.rs` does, but from a file,
//! as `grafana-source replay` reads one. `scripts/bench.sh` counts its instructions and
//! cache misses with cachegrind beside the replay's, on the same lines.
//!
//! ```sh
//! cargo run --release --example serde_value_baseline -- LOG   # prints the number of lines
//! ```
use std::io::{BufRead, BufReader};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .ok_or("usage: serde_value_baseline LOG")?;
    let mut reader = BufReader::new(std::fs::File::open(path)?);
    let mut buf = Vec::new();
    let mut lines = 0u64;
    while reader.read_until(b'\n', &mut buf)? > 0 {
        let v: serde_json::Value = serde_json::from_slice(&buf)?;
        drop(std::hint::black_box(v));
        buf.clear();
        lines += 1;
    }
    println!("{lines}");
    Ok(())
}
