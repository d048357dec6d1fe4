//! Validators for personal-data formats (national ids, bank numbers, crypto addresses).

/// Validators of this module, by name.
pub const VALIDATORS: &[(&str, fn(&str) -> bool)] = &[];
