//! Reports as plain JS objects.

use napi_derive::napi;
use vallum::offsets::{OffsetUnit, convert_offsets};

/// The decision for a whole text: the strongest action among its findings
/// (`redact` shows as `flag`).
#[napi(string_enum = "lowercase")]
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to act on.
    Allow,
    /// Something worth a look; the text may pass.
    Flag,
    /// The text must not pass.
    Block,
}

impl From<vallum::Verdict> for Verdict {
    fn from(v: vallum::Verdict) -> Self {
        match v {
            vallum::Verdict::Allow => Verdict::Allow,
            vallum::Verdict::Flag => Verdict::Flag,
            vallum::Verdict::Block => Verdict::Block,
        }
    }
}

/// What the policy does with a finding.
#[napi(string_enum = "lowercase")]
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Kept in the report; the text passes.
    Allow,
    /// The text passes and the report is marked.
    Flag,
    /// Replaced in `redact()` and in streamed output.
    Redact,
    /// The text must not pass.
    Block,
}

impl From<vallum::Action> for Action {
    fn from(a: vallum::Action) -> Self {
        match a {
            vallum::Action::Allow => Action::Allow,
            vallum::Action::Flag => Action::Flag,
            vallum::Action::Redact => Action::Redact,
            vallum::Action::Block => Action::Block,
        }
    }
}

/// What a finding is about.
#[napi(string_enum = "snake_case")]
#[derive(Debug, PartialEq, Eq)]
pub enum Category {
    /// Instruction override, jailbreaks, fake role delimiters, prompt extraction, smuggled
    /// instructions, and the classifier's verdict.
    PromptInjection,
    /// Personal data.
    Pii,
    /// Credentials, keys, tokens, private keys, passwords in assignments.
    Secret,
    /// Output that would carry data out: auto-loading images, data-bearing links.
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

/// Which side of the model a text is on.
#[napi(string_enum = "lowercase")]
#[derive(Debug, PartialEq, Eq)]
pub enum Direction {
    /// Text going into the model: user prompts, documents, tool results.
    Input,
    /// Text coming out of the model.
    Output,
}

/// One thing a detector found.
///
/// For a string, `start`/`end` are UTF-16 code unit offsets, so `text.slice(start, end)` is
/// the matched text; for a `Uint8Array` they are byte offsets (`bytes.subarray(start, end)`).
/// A finding never holds the matched text itself.
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct Finding {
    /// The category: one of the fixed vocabulary.
    #[napi(ts_type = "Category")]
    pub category: &'static str,
    /// The finer kind inside the category, e.g. `email`, `aws_access_key_id`.
    pub kind: String,
    /// The id of the rule or detector that reported it.
    pub rule: String,
    /// Where it starts in the scanned text.
    pub start: f64,
    /// Where it ends (exclusive).
    pub end: f64,
    /// How sure, in `[0, 1]`.
    pub score: f64,
    /// What the policy does with it.
    pub action: Action,
    /// Extra information that is safe to show (e.g. the ASCII hidden in tag characters);
    /// never set for secrets or personal data.
    pub detail: Option<String>,
}

/// The result of one scan.
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct Report {
    /// `allow`, `flag` or `block`.
    pub verdict: Verdict,
    /// The highest finding score, 0 when there are none.
    pub score: f64,
    /// What was found, sorted by position.
    pub findings: Vec<Finding>,
}

/// A score as JS sees it: the `f32` rounded to six decimals, so `0.9` reads `0.9` and not
/// `0.8999999761581421`.
fn score(s: f32) -> f64 {
    (f64::from(s) * 1e6).round() / 1e6
}

impl Report {
    /// Converts a core report; with `utf16 = Some(text)` the byte offsets into `text` become
    /// UTF-16 code unit offsets, with `None` they stay byte offsets.
    pub(crate) fn from_core(report: vallum::Report, utf16: Option<&str>) -> Report {
        let mut offsets: Vec<usize> = Vec::new();
        if let Some(text) = utf16 {
            offsets.reserve(report.findings.len() * 2);
            for f in &report.findings {
                offsets.push(f.span.start);
                offsets.push(f.span.end);
            }
            convert_offsets(text, &mut offsets, OffsetUnit::Utf16);
        }
        let findings = report
            .findings
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                let (start, end) = if offsets.is_empty() {
                    (f.span.start, f.span.end)
                } else {
                    (offsets[2 * i], offsets[2 * i + 1])
                };
                Finding {
                    category: f.category.as_str(),
                    kind: f.kind.to_string(),
                    rule: f.rule.to_string(),
                    start: start as f64,
                    end: end as f64,
                    score: score(f.score),
                    action: f.action.into(),
                    detail: f.detail.map(String::from),
                }
            })
            .collect();
        Report {
            verdict: report.verdict.into(),
            score: score(report.score),
            findings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_utf16_units() {
        let text = "😀 mail jane.doe@example.org";
        let guard = vallum::Guard::new().unwrap();
        let core = guard.scan_input(text).unwrap();
        let email = core.findings.iter().find(|f| &*f.kind == "email").unwrap();
        assert_eq!(email.span.start, "😀 mail ".len());
        let report = Report::from_core(core, Some(text));
        let f = report.findings.iter().find(|f| f.kind == "email").unwrap();
        let units: Vec<u16> = text.encode_utf16().collect();
        let matched = String::from_utf16(&units[f.start as usize..f.end as usize]).unwrap();
        assert_eq!(matched, "jane.doe@example.org");
        assert_eq!(f.category, "pii");
    }

    #[test]
    fn scores_read_as_written() {
        assert!((score(0.9) - 0.9).abs() < f64::EPSILON);
        assert!((score(1.0) - 1.0).abs() < f64::EPSILON);
        assert!(score(0.0).abs() < f64::EPSILON);
    }
}
