//! Fuzz target `policy`: see `vallum_fuzz::policy` (fuzz/checks.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vallum_fuzz::policy(data));
