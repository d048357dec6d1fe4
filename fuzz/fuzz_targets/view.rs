//! Fuzz target `view`: see `vallum_fuzz::view` (fuzz/checks.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vallum_fuzz::view(data));
