//! Arbitrary peer data states rendered under both profiles: see
//! `grafana_source::fuzzing::fuzz_render`.
#![no_main]
use grafana_source::fuzzing::{fuzz_render, RenderInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: RenderInput| fuzz_render(&input));
