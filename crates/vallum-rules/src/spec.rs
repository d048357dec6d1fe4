//! The rule schema of pack files.

use serde::Deserialize;

use crate::{Category, Validator};

/// Which text a rule reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewKind {
    /// The caller's text exactly as given (secrets, PII: exact bytes matter).
    #[default]
    Raw,
    /// The normalised view: NFKC, invisible characters removed, look-alike letters folded to
    /// Latin, lower-cased where the view says so. Evasion-resistant rules read this.
    Normalized,
}

/// Which side of the model a rule applies to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Both prompts (input) and answers (output).
    #[default]
    Both,
    /// Only text going into the model.
    Input,
    /// Only text coming out of the model.
    Output,
}

/// What a rule without keywords is anchored on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// Nothing: the rule runs over the whole text (in the shared set pass).
    #[default]
    None,
    /// Every match contains an ASCII digit and is at most `window` bytes long: the rule
    /// runs only in windows around the digits of the text (numbers, ids, phones, cards).
    Digit,
}

/// Words near a match that raise or lower its score.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Words (ASCII case-insensitive) whose presence near the match adds `boost`.
    #[serde(default)]
    pub words: Vec<String>,
    /// Added to the score when a context word is near.
    #[serde(default = "default_boost")]
    pub boost: f32,
    /// Words whose presence near the match subtracts `penalty` (e.g. "version", "order").
    #[serde(default)]
    pub negative: Vec<String>,
    /// Subtracted from the score when a negative word is near.
    #[serde(default = "default_boost")]
    pub penalty: f32,
    /// How many bytes before and after the match count as "near".
    #[serde(default = "default_distance")]
    pub distance: usize,
    /// When true, the rule only reports matches with a context word near.
    #[serde(default)]
    pub required: bool,
}

fn default_boost() -> f32 {
    0.25
}
fn default_distance() -> usize {
    48
}
fn default_score() -> f32 {
    0.8
}
fn default_window() -> usize {
    256
}

/// Example inputs a rule must and must not match; the test suite checks every one.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    /// Texts in which the rule must report a finding.
    #[serde(default, rename = "match")]
    pub matches: Vec<String>,
    /// Texts in which the rule must report nothing.
    #[serde(default, rename = "no_match")]
    pub non_matches: Vec<String>,
}

/// One rule, as written in a pack file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable identifier, `pack.name` style (e.g. `pii.email`), reported as `Finding::rule`.
    pub id: String,
    /// The category its findings carry.
    pub category: Category,
    /// The finer kind inside the category (e.g. `email`, `aws_access_key_id`).
    pub kind: String,
    /// The regex (regex-automata syntax; linear time, no look-around or back-references).
    pub pattern: String,
    /// Literal keywords gating the rule: the regex only runs in a window around a keyword
    /// occurrence (ASCII case-insensitive). Empty means the rule runs on the whole text.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// For rules without keywords: what every match contains (see [`Anchor`]).
    #[serde(default)]
    pub anchor: Anchor,
    /// With keywords or an anchor: how far (bytes) a match may extend on either side of
    /// the keyword or anchor byte.
    #[serde(default = "default_window")]
    pub window: usize,
    /// Match the regex case-insensitively.
    #[serde(default)]
    pub case_insensitive: bool,
    /// Base score in `[0, 1]`.
    #[serde(default = "default_score")]
    pub score: f32,
    /// A validator that must accept the matched text (checksums and the like).
    #[serde(default)]
    pub validator: Option<Validator>,
    /// Name of the capture group whose span is reported (and validated); default: whole match.
    #[serde(default)]
    pub group: Option<String>,
    /// Minimum Shannon entropy, in bits per character, of the reported text.
    #[serde(default)]
    pub min_entropy: Option<f32>,
    /// Reject obvious placeholders (`XXXX`, `<YOUR_KEY>`, `${TOKEN}`, `example`, ...).
    #[serde(default)]
    pub reject_placeholders: bool,
    /// Context words that raise, lower or are required for the score.
    #[serde(default)]
    pub context: Option<Context>,
    /// Which text the rule reads.
    #[serde(default)]
    pub view: ViewKind,
    /// Which direction the rule applies to.
    #[serde(default)]
    pub direction: Direction,
    /// One line on what the rule finds and where the format is documented.
    #[serde(default)]
    pub description: String,
    /// Examples checked by the test suite.
    #[serde(default)]
    pub examples: Examples,
}

/// A named set of rules, switched on and off together by a policy.
#[derive(Clone, Debug)]
pub struct Pack {
    /// The pack name (`pii`, `secrets`, `injection`, ...).
    pub name: String,
    /// The rules, in file order.
    pub rules: Vec<RuleSpec>,
}

/// A pack file that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// The TOML does not follow the rule schema.
    #[error("pack `{pack}`: {source}")]
    Syntax {
        /// The pack name.
        pack: String,
        /// What the TOML parser said.
        source: toml::de::Error,
    },
    /// Two rules share an id.
    #[error("pack `{pack}`: rule id `{id}` is used twice")]
    DuplicateId {
        /// The pack name.
        pack: String,
        /// The repeated id.
        id: String,
    },
    /// A score outside `[0, 1]`.
    #[error("pack `{pack}`, rule `{id}`: score {score} is outside [0, 1]")]
    Score {
        /// The pack name.
        pack: String,
        /// The rule id.
        id: String,
        /// The offending score.
        score: f32,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    #[serde(default, rename = "rule")]
    rules: Vec<RuleSpec>,
}

impl Pack {
    /// Parses a pack from TOML: a list of `[[rule]]` tables.
    pub fn from_toml(name: &str, src: &str) -> Result<Pack, PackError> {
        let file: PackFile = toml::from_str(src).map_err(|source| PackError::Syntax {
            pack: name.to_owned(),
            source,
        })?;
        let mut seen = std::collections::HashSet::new();
        for rule in &file.rules {
            if !seen.insert(rule.id.as_str()) {
                return Err(PackError::DuplicateId {
                    pack: name.to_owned(),
                    id: rule.id.clone(),
                });
            }
            if !(0.0..=1.0).contains(&rule.score) {
                return Err(PackError::Score {
                    pack: name.to_owned(),
                    id: rule.id.clone(),
                    score: rule.score,
                });
            }
        }
        Ok(Pack {
            name: name.to_owned(),
            rules: file.rules,
        })
    }
}
