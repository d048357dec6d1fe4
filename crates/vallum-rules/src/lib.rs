//! Vallum's built-in rule packs, kept as data, and the validators they name.
//!
//! A pack is a TOML file under `rules/` compiled into the binary with `include_str!`.
//! Each [`RuleSpec`] says what to look for (a regex, optionally gated by literal
//! keywords), what it means (category and kind), how strongly (score, context words)
//! and how to confirm a candidate (a [`Validator`], an entropy floor, placeholder
//! rejection). The `vallum` crate compiles every enabled rule into one matcher.
#![deny(missing_docs)]

mod category;

pub mod validators;

pub use category::{Category, UnknownCategory};
pub mod spec;
pub use spec::{Anchor, Context, Direction, Examples, Pack, PackError, RuleSpec, ViewKind};
pub use validators::Validator;

use std::sync::OnceLock;

/// The source text of every built-in pack: `(pack name, TOML)`.
///
/// A pack name is what a policy's `[detectors]` table switches on and off.
pub const BUILTIN_PACK_SOURCES: &[(&str, &str)] = &[
    ("pii", include_str!("../rules/pii.toml")),
    ("secrets", include_str!("../rules/secrets.toml")),
    ("injection", include_str!("../rules/injection.toml")),
    ("injection-en", include_str!("../rules/injection-en.toml")),
    ("injection-de", include_str!("../rules/injection-de.toml")),
    ("injection-fr", include_str!("../rules/injection-fr.toml")),
    ("injection-es", include_str!("../rules/injection-es.toml")),
    ("injection-it", include_str!("../rules/injection-it.toml")),
    ("injection-pt", include_str!("../rules/injection-pt.toml")),
    ("injection-ru", include_str!("../rules/injection-ru.toml")),
    ("injection-zh", include_str!("../rules/injection-zh.toml")),
    ("injection-ja", include_str!("../rules/injection-ja.toml")),
];

/// The built-in packs, parsed once per process.
///
/// # Panics
/// Never at run time for a released build: every pack is parsed by the test suite, so a
/// malformed pack fails `cargo test` before it can ship.
pub fn builtin_packs() -> &'static [Pack] {
    static PACKS: OnceLock<Vec<Pack>> = OnceLock::new();
    PACKS.get_or_init(|| {
        BUILTIN_PACK_SOURCES
            .iter()
            .map(|(name, src)| {
                Pack::from_toml(name, src)
                    .unwrap_or_else(|e| panic!("built-in pack `{name}` is malformed: {e}"))
            })
            .collect()
    })
}

/// The built-in pack with this name, if there is one.
pub fn builtin_pack(name: &str) -> Option<&'static Pack> {
    builtin_packs().iter().find(|p| p.name == name)
}
