//! Fuzz target `stream`: see `vallum_fuzz::stream` (fuzz/checks.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vallum_fuzz::stream(data));
