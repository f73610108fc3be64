//! Structured hook sequences folded under both profiles: see
//! `grafana_source::fuzzing::fuzz_fold`.
#![no_main]
use grafana_source::fuzzing::{fuzz_fold, FoldInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: FoldInput| fuzz_fold(&input));
