//! Canary tokens: a token planted in the prompt (made by [`crate::canary()`], or any
//! `vlm-canary-…` token the user chose) that shows up in the output.
//!
//! The output is compared on a skeleton of its normalised view (NFKC, invisible characters
//! removed, look-alike letters folded): ASCII letters and digits, lower-cased, with up to
//! [`MAX_GAP`] other characters (spaces, hyphens, punctuation) allowed between two
//! characters of the token. So `VLM-Canary-ABC…`, `v l m - c a n a r y …` and a token with
//! zero-width characters inside all match. The random part alone (at least 12
//! characters) is reported too: it is the secret.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::{
    CANARY_PREFIX, Category, Detector, Direction, Finding, ScanError, ScanInput, Span, TextView,
};

/// The detector's name.
pub(crate) const NAME: &str = "canary";

/// Longest stretch of the original text one reported token may cover; longer matches
/// (a token spread over many invisible characters) are not reported, in one-shot and
/// streamed scans alike, so a stream never needs more hold-back than this.
pub(crate) const MAX_SPAN: usize = 512;

/// Most characters that may stand between two characters of a token.
pub(crate) const MAX_GAP: usize = 3;

/// Longest token suffix taken from the prompt.
const MAX_SUFFIX: usize = 64;

/// Shortest suffix taken from the prompt.
const MIN_SUFFIX: usize = 4;

/// Shortest random part reported on its own.
const MIN_BARE_SUFFIX: usize = 12;

/// The canary detector.
#[derive(Debug, Default)]
pub(crate) struct Canary;

/// The tokens of one prompt, compiled for matching outputs.
#[derive(Debug)]
pub(crate) struct CanaryMatcher {
    ac: AhoCorasick,
    /// For each pattern: whether it is a whole token (else the random part alone).
    whole: Vec<bool>,
}

impl CanaryMatcher {
    /// The matcher for the canary tokens in `prompt`; `None` when it has none.
    pub(crate) fn new(prompt: &str) -> Option<CanaryMatcher> {
        let prefix_skeleton = skeleton_of(CANARY_PREFIX);
        let mut patterns: Vec<String> = Vec::new();
        let mut whole = Vec::new();
        let bytes = prompt.as_bytes();
        let finder = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build([CANARY_PREFIX])
            .ok()?;
        for m in finder.find_iter(prompt) {
            let suffix_len = bytes[m.end()..]
                .iter()
                .take(MAX_SUFFIX)
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            if suffix_len < MIN_SUFFIX {
                continue;
            }
            let suffix = prompt[m.end()..m.end() + suffix_len].to_ascii_lowercase();
            let full = format!("{prefix_skeleton}{suffix}");
            if !patterns.contains(&full) {
                patterns.push(full);
                whole.push(true);
            }
            if suffix_len >= MIN_BARE_SUFFIX && !patterns.contains(&suffix) {
                patterns.push(suffix);
                whole.push(false);
            }
        }
        if patterns.is_empty() {
            return None;
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok()?;
        Some(CanaryMatcher { ac, whole })
    }

    /// Appends a finding for every token in `view` (spans into its original text).
    pub(crate) fn find(&self, view: &TextView<'_>, out: &mut Vec<Finding>) {
        let text = view.as_str();
        let mut skeleton: Vec<u8> = Vec::with_capacity(text.len().min(1 << 16));
        let mut offsets: Vec<usize> = Vec::with_capacity(text.len().min(1 << 16));
        let mut gap = 0usize;
        for (i, c) in text.char_indices() {
            if c.is_ascii_alphanumeric() {
                skeleton.push(c.to_ascii_lowercase() as u8);
                offsets.push(i);
                gap = 0;
            } else if c.is_alphanumeric() {
                // A letter of another script ends any token.
                gap = MAX_GAP;
                if skeleton.last() != Some(&b'#') {
                    skeleton.push(b'#');
                    offsets.push(i);
                }
            } else {
                gap += 1;
                if gap == MAX_GAP + 1 {
                    skeleton.push(b'#');
                    offsets.push(i);
                }
            }
        }
        for m in self.ac.find_iter(&skeleton) {
            let start = offsets[m.start()];
            let end = offsets[m.end() - 1] + 1;
            let span = view.to_original(Span::new(start, end));
            if span.len() > MAX_SPAN {
                continue;
            }
            let whole = self.whole[m.pattern().as_usize()];
            let (kind, score) = if whole {
                ("token", 1.0)
            } else {
                ("token_suffix", 0.95)
            };
            out.push(Finding::new(
                Category::Canary,
                kind,
                format!("canary.{kind}"),
                span,
                score,
            ));
        }
    }
}

/// The ASCII letters and digits of `s`, lower-cased.
fn skeleton_of(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl Detector for Canary {
    fn name(&self) -> &str {
        NAME
    }

    fn scan(&self, input: &ScanInput<'_>, findings: &mut Vec<Finding>) -> Result<(), ScanError> {
        if input.direction != Direction::Output {
            return Ok(());
        }
        if let Some(matcher) = input.prompt.and_then(CanaryMatcher::new) {
            matcher.find(input.view, findings);
        }
        Ok(())
    }

    fn max_window(&self) -> usize {
        MAX_SPAN
    }
}
