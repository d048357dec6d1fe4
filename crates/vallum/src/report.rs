use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{Category, Span};

/// What a policy does with a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Keep the finding in the report but let the text through.
    Allow,
    /// Let the text through and mark the report.
    Flag,
    /// Replace the matched text in `redact` and in streamed output.
    Redact,
    /// Refuse the text.
    Block,
}

impl Action {
    /// The verdict this action contributes (`redact` shows as `flag`).
    pub fn verdict(self) -> Verdict {
        match self {
            Action::Allow => Verdict::Allow,
            Action::Flag | Action::Redact => Verdict::Flag,
            Action::Block => Verdict::Block,
        }
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Flag => "flag",
            Action::Redact => "redact",
            Action::Block => "block",
        }
    }
}

/// The decision for a whole text: the strongest action among its findings.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing to act on.
    #[default]
    Allow,
    /// Something worth a look; the text may pass.
    Flag,
    /// The text must not pass.
    Block,
}

impl Verdict {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Flag => "flag",
            Verdict::Block => "block",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side of the model a text is on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Text going into the model: user prompts, documents, tool results.
    #[default]
    Input,
    /// Text coming out of the model.
    Output,
}

impl Direction {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

impl std::str::FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "input" => Ok(Direction::Input),
            "output" => Ok(Direction::Output),
            other => Err(format!(
                "unknown direction `{other}` (expected `input` or `output`)"
            )),
        }
    }
}

/// One thing a detector found: a span of the caller's text and what it means.
///
/// A finding never holds the matched text itself, so printing it (`Debug`, logs, JSON)
/// never reveals a secret: use `&text[finding.span]` where the text is wanted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The category (the api's fixed vocabulary).
    pub category: Category,
    /// The finer kind inside the category, e.g. `email`, `aws_access_key_id`.
    pub kind: Arc<str>,
    /// The id of the rule or detector that reported it.
    pub rule: Arc<str>,
    /// Where it is, in the original text.
    pub span: Span,
    /// How sure, in `[0, 1]`.
    pub score: f32,
    /// What the policy does with it.
    pub action: Action,
    /// Extra information that is safe to show, e.g. the ASCII decoded from hidden tag
    /// characters. Never set for secrets or personal data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Box<str>>,
}

impl Finding {
    /// A finding with action `flag`; the guard sets the policy's action before reporting.
    pub fn new(
        category: Category,
        kind: impl Into<Arc<str>>,
        rule: impl Into<Arc<str>>,
        span: Span,
        score: f32,
    ) -> Finding {
        Finding {
            category,
            kind: kind.into(),
            rule: rule.into(),
            span,
            score: score.clamp(0.0, 1.0),
            action: Action::Flag,
            detail: None,
        }
    }

    /// The same finding with a detail attached.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<Box<str>>) -> Finding {
        self.detail = Some(detail.into());
        self
    }
}

/// The result of one scan.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// The decision: the strongest action among the findings.
    pub verdict: Verdict,
    /// The highest finding score, `0.0` when there are none.
    pub score: f32,
    /// What was found, sorted by position.
    pub findings: Vec<Finding>,
}

impl Report {
    /// A report over these findings, with verdict and score derived from them.
    pub fn from_findings(findings: Vec<Finding>) -> Report {
        let verdict = findings
            .iter()
            .map(|f| f.action.verdict())
            .max()
            .unwrap_or_default();
        let score = findings.iter().map(|f| f.score).fold(0.0_f32, f32::max);
        Report {
            verdict,
            score,
            findings,
        }
    }

    /// Whether the verdict is `block`.
    pub fn is_blocked(&self) -> bool {
        self.verdict == Verdict::Block
    }

    /// The findings of one category.
    pub fn by_category(&self, category: Category) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.category == category)
    }
}
