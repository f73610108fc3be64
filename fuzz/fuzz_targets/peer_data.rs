//! Arbitrary text as peer databag content: see `grafana_source::fuzzing::fuzz_peer_data`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| grafana_source::fuzzing::fuzz_peer_data(data));
