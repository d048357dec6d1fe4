//! Fuzz target `redact`: see `vallum_fuzz::redact` (fuzz/checks.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vallum_fuzz::redact(data));
