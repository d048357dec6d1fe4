//! The extension point: a [`Detector`] looks at one text and reports findings.
//!
//! The rule-based packs do not implement it one by one: their rules are compiled into one
//! [`RuleSet`] that every scan runs once. Detectors are for what rules cannot express:
//! parsers (markdown links), decoders, the classifier, canaries.

use std::fmt;

use vallum_rules::ViewKind;

use crate::engine::{Engine, Selector, Triggers};
use crate::{Direction, Finding, Policy, ScanError, TextView};

/// What a detector gets to look at.
#[derive(Clone, Copy)]
pub struct ScanInput<'a> {
    /// The caller's text; findings are spans into it.
    pub text: &'a str,
    /// The normalised view of `text`.
    pub view: &'a TextView<'a>,
    /// Whether the text goes into the model or comes out of it.
    pub direction: Direction,
    /// For output scans, the prompt/context the output answers.
    pub prompt: Option<&'a str>,
    /// The guard's policy.
    pub policy: &'a Policy,
    /// The guard's compiled rules, to scan derived texts (decoded payloads, hidden text).
    pub rules: &'a RuleSet,
    /// The built-in detectors' trigger words that the rules' keyword pass found in `text`
    /// (`detectors::TRIGGERS`); `None` where no such pass ran, and a detector then searches
    /// the text itself.
    pub(crate) triggers: Option<&'a Triggers>,
}

impl fmt::Debug for ScanInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanInput")
            .field("len", &self.text.len())
            .field("direction", &self.direction)
            .field("has_prompt", &self.prompt.is_some())
            .finish_non_exhaustive()
    }
}

/// A detector: one required method, [`Detector::scan`].
pub trait Detector: Send + Sync + fmt::Debug {
    /// A short stable name, e.g. `invisible_text`.
    fn name(&self) -> &str;

    /// Appends what it finds in `input.text` to `findings` (spans into `input.text`).
    fn scan(&self, input: &ScanInput<'_>, findings: &mut Vec<Finding>) -> Result<(), ScanError>;

    /// Scans several texts at once; detectors that batch (the classifier) override it.
    fn scan_batch(
        &self,
        inputs: &[ScanInput<'_>],
        findings: &mut [Vec<Finding>],
    ) -> Result<(), ScanError> {
        for (input, out) in inputs.iter().zip(findings.iter_mut()) {
            self.scan(input, out)?;
        }
        Ok(())
    }

    /// How many bytes of text before a position this detector may still need to decide
    /// about it: a streamed scan holds back this much. `usize::MAX` means the detector
    /// needs the whole text (it then runs on the full text at the end of a stream).
    fn max_window(&self) -> usize {
        0
    }

    /// The SHA-256 (lowercase hex) of the model this detector runs, for detectors backed by
    /// a model file (the classifier); `None` for the others. Audit logs record it.
    fn model_sha256(&self) -> Option<&str> {
        None
    }
}

/// The guard's compiled rules, for detectors that scan text they derived.
#[derive(Debug)]
pub struct RuleSet {
    pub(crate) engine: Engine,
}

impl RuleSet {
    /// Runs the rules that read `view` kind over `text` (which the caller derived) and
    /// appends their findings, with spans into `text` and actions not yet decided.
    pub fn scan(&self, text: &str, view: ViewKind, direction: Direction, out: &mut Vec<Finding>) {
        let sel = Selector {
            view: Some(view),
            direction,
        };
        self.engine
            .scan(text, sel, &mut |hit| out.push(self.engine.finding(hit)));
    }

    /// How many rules are compiled.
    pub fn len(&self) -> usize {
        self.engine.rule_count()
    }

    /// Whether no rule is compiled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The longest window any rule needs around its keyword, in bytes.
    pub fn max_window(&self) -> usize {
        self.engine.max_window()
    }
}
