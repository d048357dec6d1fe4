//! Validators for credential formats (checksummed tokens, JWT structure).

/// Validators of this module, by name.
pub const VALIDATORS: &[(&str, fn(&str) -> bool)] = &[];
