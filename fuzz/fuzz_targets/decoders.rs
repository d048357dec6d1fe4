//! Fuzz target `decoders`: see `vallum_fuzz::decoders` (fuzz/checks.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vallum_fuzz::decoders(data));
