//! The policy: which detectors run, what each category's findings do, limits, allowlists
//! and custom rules. TOML or JSON, every key optional; the default is the built-in policy.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::PolicyError;
use crate::{Action, Category};

/// Default `limits.max_input_bytes`: 16 MiB.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// A complete guard configuration.
///
/// ```
/// let policy = vallum::Policy::from_toml(r#"
///     [actions]
///     pii = "redact"
///     [thresholds]
///     prompt_injection = 0.7
///     [[custom]]
///     id = "codename"
///     terms = ["Project Bluebird"]
///     action = "block"
/// "#)?;
/// assert_eq!(policy.action(vallum::Category::Pii), vallum::Action::Redact);
/// # Ok::<(), vallum::PolicyError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Which detector packs run.
    pub detectors: Detectors,
    /// Action per category; categories not named keep the built-in default.
    pub actions: BTreeMap<Category, Action>,
    /// Action per `category.kind` (e.g. `"invisible_text.zero_width" = "flag"`), overriding
    /// the category's action.
    pub kind_actions: BTreeMap<String, Action>,
    /// Per category: a finding whose action is `block` but whose score is below this
    /// threshold is downgraded to `flag`. Default: `prompt_injection = 0.5`.
    pub thresholds: BTreeMap<Category, f32>,
    /// Findings scoring below this are dropped (default 0.0: keep all).
    pub min_score: f32,
    /// Input limits.
    pub limits: Limits,
    /// Allowlists.
    pub allow: Allow,
    /// How redaction replaces text.
    pub redaction: Redaction,
    /// Output-side settings.
    pub output: OutputSettings,
    /// The transformer classifier's settings.
    pub classifier: ClassifierSettings,
    /// User rules, reported with category `custom`.
    pub custom: Vec<CustomRule>,
}

/// Switches for the detector packs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[allow(clippy::struct_excessive_bools)]
pub struct Detectors {
    /// Personal data.
    pub pii: bool,
    /// Credentials.
    pub secrets: bool,
    /// Rule-based prompt injection.
    pub injection: bool,
    /// The transformer injection classifier, used when its model is installed (the guard
    /// runs without it when none is). On in the built-in default, reporting windows that
    /// score at least `classifier.min_score` (0.9, the operating point in the model card's
    /// known limits). A policy *source* that sets `classifier = true` explicitly (and does
    /// not set `classifier.require_model` itself) also sets
    /// `classifier.require_model`, so building a guard from it fails with
    /// [`BuildError::Model`](crate::BuildError::Model) when no model is installed.
    /// (Serialised only when it differs from the default.)
    #[serde(skip_serializing_if = "is_classifier_default")]
    pub classifier: bool,
    /// Invisible and smuggled unicode.
    pub invisible_text: bool,
    /// Decoding of base64/hex/url/rot13 segments for the injection rules.
    pub encoded: bool,
    /// Output exfiltration (images, links carrying data).
    pub exfiltration: bool,
    /// Canary tokens.
    pub canary: bool,
    /// System-prompt leaks.
    pub prompt_leak: bool,
}

impl Default for Detectors {
    fn default() -> Self {
        Detectors {
            pii: true,
            secrets: true,
            injection: true,
            classifier: CLASSIFIER_DEFAULT,
            invisible_text: true,
            encoded: true,
            exfiltration: true,
            canary: true,
            prompt_leak: true,
        }
    }
}

/// `detectors.classifier` when a policy does not set it.
const CLASSIFIER_DEFAULT: bool = true;

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn is_classifier_default(on: &bool) -> bool {
    *on == CLASSIFIER_DEFAULT
}

/// Input limits. Exceeding one is a typed error, never a silent truncation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest input accepted, in bytes.
    pub max_input_bytes: usize,
    /// How many times a decoded payload is decoded again (base64 inside hex...).
    pub max_decode_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_decode_depth: 3,
        }
    }
}

/// Things that are never findings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Allow {
    /// Hosts that output links and images may point to (a leading `*.` allows subdomains).
    pub hosts: Vec<String>,
    /// Exact texts that are never reported (e.g. a support email address).
    pub terms: Vec<String>,
}

/// How `redact` and streamed output replace findings.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Redaction {
    /// The replacement style.
    pub mode: RedactionMode,
    /// Key for `mode = "hash"`: equal values get equal tags without revealing them.
    /// Required for that mode; never printed.
    pub hash_key: Option<String>,
}

impl fmt::Debug for Redaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redaction")
            .field("mode", &self.mode)
            .field("hash_key", &self.hash_key.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// The replacement style for redaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedactionMode {
    /// `<EMAIL>`, `<AWS_ACCESS_KEY_ID>`: the kind in upper case.
    #[default]
    Placeholder,
    /// The same number of characters, all `*`.
    Mask,
    /// `<EMAIL:1a2b3c4d>`: a keyed HMAC-SHA256 tag, equal for equal values.
    Hash,
}

/// Output-side settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSettings {
    /// Fraction of the system prompt's word shingles that an output must reproduce to be
    /// reported as a prompt leak.
    pub leak_threshold: f32,
}

impl Default for OutputSettings {
    fn default() -> Self {
        OutputSettings {
            leak_threshold: 0.3,
        }
    }
}

/// The transformer classifier's settings (used when `detectors.classifier` is on and the
/// model is installed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifierSettings {
    /// Windows scoring at least this are reported (then `thresholds.prompt_injection`
    /// decides flag or block). Default 0.9: the model card's operating point, where the
    /// false-positive rate is at most 0.3% on its ordinary held-out benign sets.
    pub min_score: f32,
    /// `auto` (a GPU when built with CUDA and one is present), `cpu`, or `cuda:N`.
    pub device: String,
    /// CPU threads for inference; absent: the number of cores.
    pub threads: Option<usize>,
    /// Building a guard fails ([`BuildError::Model`](crate::BuildError::Model)) when
    /// `detectors.classifier` is on but no model is installed (or vallum was built without
    /// the `classifier` feature). Off: the guard then runs without the classifier. Set by an
    /// explicit `detectors.classifier = true` in a policy source.
    pub require_model: bool,
}

impl Default for ClassifierSettings {
    fn default() -> Self {
        ClassifierSettings {
            min_score: 0.9,
            device: "auto".to_owned(),
            threads: None,
            require_model: false,
        }
    }
}

/// A user-defined rule: banned substrings, a regex, or both.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRule {
    /// Identifier reported as `Finding::rule`.
    pub id: String,
    /// Kind reported (default `custom`).
    #[serde(default = "default_custom_kind")]
    pub kind: String,
    /// Literal substrings (ASCII case-insensitive unless `case_sensitive`).
    #[serde(default)]
    pub terms: Vec<String>,
    /// A regex (linear-time engine; size-limited).
    #[serde(default)]
    pub pattern: Option<String>,
    /// What its findings do (default `flag`).
    #[serde(default = "default_custom_action")]
    pub action: Action,
    /// Score in `[0, 1]` (default 1.0).
    #[serde(default = "default_custom_score")]
    pub score: f32,
    /// Match case exactly.
    #[serde(default)]
    pub case_sensitive: bool,
    /// Match on the normalised view, so look-alike letters and invisible characters do not
    /// hide the term (default true).
    #[serde(default = "default_true")]
    pub normalized: bool,
}

fn default_custom_kind() -> String {
    "custom".to_owned()
}
fn default_custom_action() -> Action {
    Action::Flag
}
fn default_custom_score() -> f32 {
    1.0
}
fn default_true() -> bool {
    true
}

/// The built-in action of a category (api.md's default policy).
pub fn default_action(category: Category) -> Action {
    match category {
        // Custom rules carry their own action; `flag` is only the fallback.
        Category::Pii | Category::Custom => Action::Flag,
        Category::Secret => Action::Redact,
        _ => Action::Block,
    }
}

/// The built-in per-kind overrides: stray zero-width characters and private-use characters
/// are suspicious but hide no content on their own.
const DEFAULT_KIND_ACTIONS: &[(&str, Action)] = &[
    ("invisible_text.zero_width", Action::Flag),
    ("invisible_text.private_use", Action::Flag),
];

/// The built-in block threshold of a category.
pub fn default_threshold(category: Category) -> f32 {
    match category {
        Category::PromptInjection => 0.5,
        _ => 0.0,
    }
}

impl Policy {
    /// Parses a TOML policy.
    pub fn from_toml(src: &str) -> Result<Policy, PolicyError> {
        let mut policy: Policy = toml::from_str(src).map_err(|e| PolicyError::Syntax {
            format: "TOML",
            message: e.to_string().trim_end().to_owned(),
        })?;
        if let Ok(table) = toml::from_str::<toml::Table>(src) {
            let set = table
                .get("detectors")
                .and_then(|d| d.get("classifier"))
                .and_then(toml::Value::as_bool);
            let require_set = table
                .get("classifier")
                .is_some_and(|c| c.get("require_model").is_some());
            policy.require_classifier_if(set, require_set);
        }
        policy.validate()?;
        Ok(policy)
    }

    /// Parses a JSON policy.
    pub fn from_json(src: &str) -> Result<Policy, PolicyError> {
        let mut policy: Policy = serde_json::from_str(src).map_err(|e| PolicyError::Syntax {
            format: "JSON",
            message: e.to_string(),
        })?;
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(src) {
            let set = value
                .pointer("/detectors/classifier")
                .and_then(serde_json::Value::as_bool);
            let require_set = value.pointer("/classifier/require_model").is_some();
            policy.require_classifier_if(set, require_set);
        }
        policy.validate()?;
        Ok(policy)
    }

    /// Reads a `.toml` or `.json` policy file (by extension; anything else is read as TOML).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        let src = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Policy::from_json(&src)
        } else {
            Policy::from_toml(&src)
        }
    }

    /// An explicit `detectors.classifier = true` in a source asks for the model, unless
    /// the source also says `classifier.require_model` itself (as `to_toml` and `to_json`
    /// write it, so a policy round-trips).
    fn require_classifier_if(&mut self, explicitly_set: Option<bool>, require_set: bool) {
        if explicitly_set == Some(true) && !require_set {
            self.classifier.require_model = true;
        }
    }

    /// The policy as TOML (round-trips through [`Policy::from_toml`]).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a policy always serialises")
    }

    /// The policy as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a policy always serialises")
    }

    /// The action for findings of `category`.
    pub fn action(&self, category: Category) -> Action {
        self.actions
            .get(&category)
            .copied()
            .unwrap_or_else(|| default_action(category))
    }

    /// The action for a finding of `category` and `kind`, before thresholds.
    pub fn action_for_kind(&self, category: Category, kind: &str) -> Action {
        if let Some(a) = self.kind_action(category, kind) {
            return a;
        }
        if !self.actions.contains_key(&category)
            && let Some((_, a)) = DEFAULT_KIND_ACTIONS
                .iter()
                .find(|(k, _)| kind_key_matches(k, category, kind))
        {
            return *a;
        }
        self.action(category)
    }

    /// The action `kind_actions` sets for `kind` of `category`, if it names it.
    pub(crate) fn kind_action(&self, category: Category, kind: &str) -> Option<Action> {
        self.kind_actions
            .iter()
            .find(|(k, _)| kind_key_matches(k, category, kind))
            .map(|(_, a)| *a)
    }

    /// The block threshold of `category`.
    pub fn threshold(&self, category: Category) -> f32 {
        self.thresholds
            .get(&category)
            .copied()
            .unwrap_or_else(|| default_threshold(category))
    }

    /// Checks ranges and names; parsing calls it, call it again after editing fields.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let unit = |key: String, v: f32| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(PolicyError::Value {
                    key,
                    message: format!("{v} is outside [0, 1]"),
                })
            }
        };
        for (c, v) in &self.thresholds {
            unit(format!("thresholds.{c}"), *v)?;
        }
        unit("min_score".into(), self.min_score)?;
        unit("output.leak_threshold".into(), self.output.leak_threshold)?;
        unit("classifier.min_score".into(), self.classifier.min_score)?;
        let device = self.classifier.device.as_str();
        let cuda_ordinal = device
            .strip_prefix("cuda:")
            .is_some_and(|n| n.parse::<usize>().is_ok());
        if !(matches!(device, "auto" | "cpu" | "cuda") || cuda_ordinal) {
            return Err(PolicyError::Value {
                key: "classifier.device".into(),
                message: format!("`{device}` is not one of auto, cpu, cuda, cuda:N"),
            });
        }
        if self.classifier.threads == Some(0) {
            return Err(PolicyError::Value {
                key: "classifier.threads".into(),
                message: "must be at least 1".into(),
            });
        }
        if self.limits.max_input_bytes == 0 {
            return Err(PolicyError::Value {
                key: "limits.max_input_bytes".into(),
                message: "must be at least 1".into(),
            });
        }
        if self.limits.max_decode_depth > 8 {
            return Err(PolicyError::Value {
                key: "limits.max_decode_depth".into(),
                message: format!("{} is over the maximum of 8", self.limits.max_decode_depth),
            });
        }
        for key in self.kind_actions.keys() {
            let category = key.split_once('.').map(|(c, _)| c.parse::<Category>());
            if !matches!(category, Some(Ok(_))) {
                return Err(PolicyError::Value {
                    key: format!("kind_actions.{key}"),
                    message: "expected `category.kind` with a known category".into(),
                });
            }
        }
        if self.redaction.mode == RedactionMode::Hash
            && self.redaction.hash_key.as_deref().is_none_or(str::is_empty)
        {
            return Err(PolicyError::Value {
                key: "redaction.hash_key".into(),
                message: "required when redaction.mode = \"hash\"".into(),
            });
        }
        let mut ids = std::collections::HashSet::new();
        for (i, rule) in self.custom.iter().enumerate() {
            if rule.id.is_empty() {
                return Err(PolicyError::Value {
                    key: format!("custom[{i}].id"),
                    message: "must not be empty".into(),
                });
            }
            if !ids.insert(rule.id.as_str()) {
                return Err(PolicyError::Rule {
                    rule: rule.id.clone(),
                    message: "the id is used by another custom rule".into(),
                });
            }
            if rule.terms.is_empty() && rule.pattern.is_none() {
                return Err(PolicyError::Rule {
                    rule: rule.id.clone(),
                    message: "needs `terms` or `pattern`".into(),
                });
            }
            if rule.terms.iter().any(String::is_empty) {
                return Err(PolicyError::Rule {
                    rule: rule.id.clone(),
                    message: "a term is empty".into(),
                });
            }
            unit(format!("custom.{}.score", rule.id), rule.score)?;
        }
        Ok(())
    }
}

/// Whether a `kind_actions` key (`category.kind`) names `kind` of `category`.
fn kind_key_matches(key: &str, category: Category, kind: &str) -> bool {
    key.strip_prefix(category.as_str())
        .and_then(|rest| rest.strip_prefix('.'))
        == Some(kind)
}
