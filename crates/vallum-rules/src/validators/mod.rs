//! Validators: cheap checks that confirm a regex candidate (checksums, structure).
//!
//! Each validator is a plain `fn(&str) -> bool` registered under a snake_case name that
//! pack files use (`validator = "luhn"`). The families live in their own modules and
//! expose a `VALIDATORS` table; [`Validator::by_name`] looks across all of them.

use std::fmt;

use serde::{Deserialize, Deserializer};

pub mod common;
pub mod pii;
pub mod secrets;

/// A named check on matched text.
#[derive(Clone, Copy)]
pub struct Validator {
    name: &'static str,
    check: fn(&str) -> bool,
}

/// A validator table: `(name, check)` pairs.
pub type Table = &'static [(&'static str, fn(&str) -> bool)];

/// Every registered validator table, searched in order.
const TABLES: &[Table] = &[common::VALIDATORS, pii::VALIDATORS, secrets::VALIDATORS];

impl Validator {
    /// The validator registered under `name`.
    pub fn by_name(name: &str) -> Option<Validator> {
        TABLES
            .iter()
            .flat_map(|t| t.iter())
            .find(|(n, _)| *n == name)
            .map(|&(name, check)| Validator { name, check })
    }

    /// Every registered validator name.
    pub fn names() -> impl Iterator<Item = &'static str> {
        TABLES.iter().flat_map(|t| t.iter()).map(|(n, _)| *n)
    }

    /// The validator's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether `text` passes the check.
    pub fn check(&self, text: &str) -> bool {
        (self.check)(text)
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Validator({})", self.name)
    }
}

impl PartialEq for Validator {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl<'de> Deserialize<'de> for Validator {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Validator::by_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown validator `{name}` (known: {})",
                Validator::names().collect::<Vec<_>>().join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = Validator::names().collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(n, names.len(), "a validator name is registered twice");
    }

    #[test]
    fn lookup_round_trips() {
        for name in Validator::names() {
            assert_eq!(Validator::by_name(name).unwrap().name(), name);
        }
        assert!(Validator::by_name("no_such_validator").is_none());
    }
}
