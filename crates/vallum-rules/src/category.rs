use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a finding is about: the fixed vocabulary of the public API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Category {
    /// Instruction override, jailbreaks, fake delimiters, prompt extraction, smuggled instructions.
    PromptInjection,
    /// Personal data.
    Pii,
    /// Credentials, keys, tokens, private keys, passwords in assignments.
    Secret,
    /// Output that would carry data out (auto-loading images, data-bearing URLs).
    Exfiltration,
    /// Characters that hide content: tag characters, zero-width runs, bidi controls.
    InvisibleText,
    /// A canary token planted in the prompt appears in the output.
    Canary,
    /// The output reproduces a substantial part of the system prompt.
    PromptLeak,
    /// User-defined rules.
    Custom,
}

impl Category {
    /// Every category, in a fixed order.
    pub const ALL: [Category; 8] = [
        Category::PromptInjection,
        Category::Pii,
        Category::Secret,
        Category::Exfiltration,
        Category::InvisibleText,
        Category::Canary,
        Category::PromptLeak,
        Category::Custom,
    ];

    /// The snake_case name used in policies, reports and the bindings.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::PromptInjection => "prompt_injection",
            Category::Pii => "pii",
            Category::Secret => "secret",
            Category::Exfiltration => "exfiltration",
            Category::InvisibleText => "invisible_text",
            Category::Canary => "canary",
            Category::PromptLeak => "prompt_leak",
            Category::Custom => "custom",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no category.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown category `{0}` (expected one of prompt_injection, pii, secret, exfiltration, invisible_text, canary, prompt_leak, custom)"
)]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCategory(s.to_owned()))
    }
}
