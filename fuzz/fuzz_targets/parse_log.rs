//! Arbitrary bytes as a hook log: see `grafana_source::fuzzing::fuzz_parse_log`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| grafana_source::fuzzing::fuzz_parse_log(data));
