//! Fuzz target `scan_output`: see `vallum_fuzz::scan_output` (fuzz/checks.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vallum_fuzz::scan_output(data));
