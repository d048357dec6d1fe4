//! Fuzz target `scan_input`: see `vallum_fuzz::scan_input` (fuzz/checks.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vallum_fuzz::scan_input(data));
