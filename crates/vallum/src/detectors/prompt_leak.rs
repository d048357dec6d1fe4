//! System-prompt leaks: the output reproduces a substantial part of the prompt.
//!
//! Both texts are read as words (runs of letters and digits, lower-cased; punctuation,
//! markdown markup and whitespace separate words; invisible characters inside a word are
//! ignored), and the prompt is cut into overlapping shingles of [`SHINGLE`] words. The
//! output's coverage is the fraction of the prompt's distinct shingles that the output
//! also contains; at or above `policy.output.leak_threshold` (and with at least
//! [`MIN_SHINGLES`] shingles reproduced) it is a leak. The finding spans the output from the
//! first to the last stretch that reproduces the prompt (stretches of at least two
//! matching shingles; a lone common phrase elsewhere does not widen it).
//!
//! [`LeakTracker`] reads the output incrementally, in any pieces, with memory bounded by
//! the prompt: the one-shot detector feeds it the whole text at once and a stream feeds it
//! chunk by chunk, so both see the same words and give the same finding.

use std::collections::HashMap;

use crate::{Category, Detector, Direction, Finding, ScanError, ScanInput, Span, is_invisible};

/// The detector's name.
pub(crate) const NAME: &str = "prompt_leak";

/// Words per shingle.
pub(crate) const SHINGLE: usize = 5;

/// Fewest distinct prompt shingles an output must reproduce to be a leak.
pub(crate) const MIN_SHINGLES: usize = 4;

/// Most words between two matching shingles of one stretch.
const GAP_WORDS: usize = 8;

/// The prompt leak detector.
#[derive(Debug)]
pub(crate) struct PromptLeak {
    threshold: f32,
}

impl PromptLeak {
    pub(crate) fn new(threshold: f32) -> PromptLeak {
        PromptLeak { threshold }
    }
}

/// The prompt's shingles.
#[derive(Debug)]
pub(crate) struct LeakModel {
    /// Shingle hash → index of the distinct shingle.
    shingles: HashMap<u64, u32>,
}

impl LeakModel {
    /// The model of `prompt`; `None` when it has too few words to leak substantially.
    pub(crate) fn new(prompt: &str) -> Option<LeakModel> {
        let mut words = Words::default();
        let mut ring = Ring::default();
        let mut shingles = HashMap::new();
        let mut add = |w: Word| {
            if let Some(h) = ring.push(w) {
                let next = shingles.len() as u32;
                shingles.entry(h).or_insert(next);
            }
        };
        words.feed(prompt, 0, &mut add);
        words.finish(&mut add);
        (shingles.len() >= MIN_SHINGLES).then_some(LeakModel { shingles })
    }
}

/// One word: its hash and where it is.
#[derive(Clone, Copy, Debug, Default)]
struct Word {
    hash: u64,
    start: usize,
    end: usize,
}

/// Splits text fed in pieces into words.
#[derive(Debug, Default)]
struct Words {
    current: Option<Word>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Words {
    fn feed(&mut self, text: &str, base: usize, emit: &mut impl FnMut(Word)) {
        for (i, c) in text.char_indices() {
            let at = base + i;
            if c.is_alphanumeric() {
                let w = self.current.get_or_insert(Word {
                    hash: FNV_OFFSET,
                    start: at,
                    end: at,
                });
                if c.is_ascii() {
                    w.hash =
                        (w.hash ^ u64::from(c.to_ascii_lowercase() as u8)).wrapping_mul(FNV_PRIME);
                } else {
                    for l in c.to_lowercase() {
                        w.hash = (w.hash ^ u64::from(u32::from(l))).wrapping_mul(FNV_PRIME);
                    }
                }
                w.end = at + c.len_utf8();
            } else if is_invisible(c) {
                // Zero-width and other invisible characters do not split a word.
            } else if let Some(w) = self.current.take() {
                emit(w);
            }
        }
    }

    fn finish(&mut self, emit: &mut impl FnMut(Word)) {
        if let Some(w) = self.current.take() {
            emit(w);
        }
    }
}

/// The last [`SHINGLE`] words.
#[derive(Debug, Default)]
struct Ring {
    words: [Word; SHINGLE],
    count: usize,
}

impl Ring {
    /// Adds a word; returns the hash of the shingle it completes.
    fn push(&mut self, w: Word) -> Option<u64> {
        self.words[self.count % SHINGLE] = w;
        self.count += 1;
        (self.count >= SHINGLE).then(|| {
            let mut h = 0u64;
            for k in 0..SHINGLE {
                let word = self.words[(self.count + k) % SHINGLE];
                h = h.rotate_left(17) ^ word.hash.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            }
            h
        })
    }

    /// The first word of the last complete shingle.
    fn first(&self) -> Word {
        self.words[self.count % SHINGLE]
    }
}

/// Reads an output incrementally and measures how much of the prompt it reproduces.
#[derive(Debug)]
pub(crate) struct LeakTracker {
    model: LeakModel,
    words: Words,
    ring: Ring,
    seen: Vec<bool>,
    distinct: usize,
    /// The current stretch of matching shingles: start, end, last word index, matches.
    stretch: Option<(usize, usize, usize, usize)>,
    /// The span from the first to the last stretch of at least two matches.
    reported: Option<Span>,
    /// The first matching shingle, used when no stretch has two.
    first_match: Option<Span>,
}

impl LeakTracker {
    pub(crate) fn new(model: LeakModel) -> LeakTracker {
        let n = model.shingles.len();
        LeakTracker {
            model,
            words: Words::default(),
            ring: Ring::default(),
            seen: vec![false; n],
            distinct: 0,
            stretch: None,
            reported: None,
            first_match: None,
        }
    }

    /// Reads the next piece of the output, which starts at offset `base`.
    pub(crate) fn feed(&mut self, text: &str, base: usize) {
        let mut words = std::mem::take(&mut self.words);
        words.feed(text, base, &mut |w| self.word(w));
        self.words = words;
    }

    /// Ends the output (completes a word the text ended in).
    pub(crate) fn finish(&mut self) {
        let mut words = std::mem::take(&mut self.words);
        words.finish(&mut |w| self.word(w));
        self.words = words;
    }

    fn word(&mut self, w: Word) {
        let Some(h) = self.ring.push(w) else {
            return;
        };
        let Some(&idx) = self.model.shingles.get(&h) else {
            return;
        };
        let idx = idx as usize;
        if !self.seen[idx] {
            self.seen[idx] = true;
            self.distinct += 1;
        }
        let first = self.ring.first();
        let word_no = self.ring.count - 1;
        let span = Span::new(first.start, w.end);
        self.first_match.get_or_insert(span);
        let stretch = match self.stretch {
            Some((start, _, last, n)) if word_no - last <= GAP_WORDS + SHINGLE => {
                (start, w.end, word_no, n + 1)
            }
            _ => (first.start, w.end, word_no, 1),
        };
        self.stretch = Some(stretch);
        if stretch.3 >= 2 {
            let s = Span::new(stretch.0, stretch.1);
            self.reported = Some(self.reported.map_or(s, |r| r.union(s)));
        }
    }

    /// How many distinct prompt shingles the output reproduced so far.
    pub(crate) fn matched(&self) -> usize {
        self.distinct
    }

    /// The fraction of the prompt's shingles reproduced so far.
    pub(crate) fn coverage(&self) -> f32 {
        if self.seen.is_empty() {
            0.0
        } else {
            self.distinct as f32 / self.seen.len() as f32
        }
    }

    /// The leak finding, once the coverage reaches `threshold`.
    pub(crate) fn finding(&self, threshold: f32) -> Option<Finding> {
        let coverage = self.coverage();
        if self.distinct < MIN_SHINGLES || coverage < threshold {
            return None;
        }
        let span = self.reported.or(self.first_match)?;
        Some(
            Finding::new(
                Category::PromptLeak,
                "system_prompt",
                "prompt_leak.system_prompt",
                span,
                0.5 + 0.5 * coverage,
            )
            .with_detail(format!("{:.0}% of the prompt reproduced", coverage * 100.0)),
        )
    }
}

impl Detector for PromptLeak {
    fn name(&self) -> &str {
        NAME
    }

    fn scan(&self, input: &ScanInput<'_>, findings: &mut Vec<Finding>) -> Result<(), ScanError> {
        if input.direction != Direction::Output {
            return Ok(());
        }
        let Some(model) = input.prompt.and_then(LeakModel::new) else {
            return Ok(());
        };
        let mut tracker = LeakTracker::new(model);
        tracker.feed(input.text, 0);
        tracker.finish();
        findings.extend(tracker.finding(self.threshold));
        Ok(())
    }

    /// The coverage is a property of the whole output; a stream keeps a [`LeakTracker`]
    /// instead of holding text back.
    fn max_window(&self) -> usize {
        usize::MAX
    }
}
