//! Invisible text: characters that hide content or reorder what a reader sees.
//!
//! Kinds (category `invisible_text`):
//! - `tag_characters`: Unicode tag characters (U+E0000–E007F); the ASCII they spell is
//!   decoded into `Finding::detail`. Emoji subdivision flags (🏴 + tag letters + cancel tag)
//!   are legitimate and not reported.
//! - `variation_selector_payload`: two or more variation selectors in a row after one base
//!   character; each selector encodes a byte (VS1–16 → 0–15, VS17–256 → 16–255), decoded
//!   into the detail when the bytes are text. One selector after a base (emoji and text
//!   presentation, keycaps, ideographic variants) is legitimate.
//! - `zero_width_payload`: a run of zero-width characters that decodes to text as binary
//!   (two kinds of character) or base 4 (four kinds).
//! - `bidi_override`: LRO/RLO overrides anywhere; embeddings and isolates in text without
//!   any right-to-left script, or left open to the end of the paragraph.
//! - `zero_width`: stray zero-width characters and runs (ZWSP, ZWNJ, ZWJ, word joiner,
//!   BOM inside text, invisible operators, Hangul fillers ...), and LRM/RLM/ALM marks in
//!   text without right-to-left script. Not reported: ZWJ inside emoji sequences,
//!   ZWJ/ZWNJ next to scripts that need them (Arabic, Persian, Indic ...), ZWSP next to
//!   scripts written without spaces (Thai, Khmer, CJK ...), a leading BOM, a soft hyphen
//!   inside a word.
//! - `private_use`: private-use characters.
//!
//! Text uncovered from tag characters, variation selectors, zero-width payloads and
//! right-to-left overrides (in display order) is scanned with the injection rules; a hit is
//! reported as a `prompt_injection` finding on the carrier's span.
//!
//! Every decision is local: it reads at most [`REACH`] bytes on either side of a control
//! (right-to-left letters "in the text" means within that reach, a bidi scope closes within
//! it or is reported as left open, tag runs are joined when less than [`TAG_JOIN_GAP`] bytes
//! apart). So a streamed scan needs only a bounded window and gives the one-shot findings,
//! as long as no single run of invisible characters (or chain of merged runs) is longer than
//! the reach.

use std::collections::HashSet;
use std::ops::Range;

use vallum_rules::Category;

use super::derived::{carried, clip, injection_findings, looks_like_text, strongest};
use crate::engine::{ceil_boundary, floor_boundary};
use crate::{Detector, Finding, ScanError, ScanInput, Span};

/// The detector's name.
pub(crate) const NAME: &str = "invisible_text";

/// Findings of one kind closer than this (bytes) are merged into one.
const MERGE_GAP: usize = 16;

/// How far (bytes) the detector reads around a control character: for right-to-left
/// letters that make bidi marks legitimate, and for the closer of a bidi scope.
pub(crate) const REACH: usize = 512;

/// Tag runs closer than this (bytes) are read as one hidden text.
const TAG_JOIN_GAP: usize = 256;

/// Invisible and smuggled Unicode (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct InvisibleText;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Tag,
    VariationSelector,
    ZeroWidth,
    BidiOpen,
    BidiClose,
    BidiMark,
    PrivateUse,
    Other,
}

fn class(c: char) -> Class {
    match c {
        '\u{E0000}'..='\u{E007F}' => Class::Tag,
        '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' => Class::VariationSelector,
        '\u{200B}'..='\u{200D}'
        | '\u{2060}'..='\u{2064}'
        | '\u{FEFF}'
        | '\u{180B}'..='\u{180F}'
        | '\u{115F}'
        | '\u{1160}'
        | '\u{3164}'
        | '\u{FFA0}'
        | '\u{034F}'
        | '\u{00AD}'
        | '\u{17B4}'
        | '\u{17B5}'
        | '\u{1D173}'..='\u{1D17A}' => Class::ZeroWidth,
        '\u{202A}' | '\u{202B}' | '\u{202D}' | '\u{202E}' | '\u{2066}'..='\u{2068}' => {
            Class::BidiOpen
        }
        '\u{202C}' | '\u{2069}' => Class::BidiClose,
        '\u{200E}' | '\u{200F}' | '\u{061C}' => Class::BidiMark,
        '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{FFFFD}' | '\u{100000}'..='\u{10FFFD}' => {
            Class::PrivateUse
        }
        _ => Class::Other,
    }
}

/// Characters of scripts written right to left.
fn is_rtl(c: char) -> bool {
    matches!(c,
        '\u{0590}'..='\u{08FF}' | '\u{FB1D}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFC}'
        | '\u{10800}'..='\u{10FFF}' | '\u{1E800}'..='\u{1EFFF}')
}

/// Scripts whose shaping uses ZWJ/ZWNJ (Arabic, Syriac, Thaana, N'Ko, Indic, Sinhala,
/// Tibetan, Mongolian, Hebrew).
fn joins(c: char) -> bool {
    matches!(c,
        '\u{0590}'..='\u{08FF}' | '\u{0900}'..='\u{0DFF}' | '\u{0F00}'..='\u{0FFF}'
        | '\u{1800}'..='\u{18AF}' | '\u{A8E0}'..='\u{A8FF}' | '\u{FB1D}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFC}')
}

/// Scripts written without spaces, where ZWSP marks word breaks.
fn spaceless(c: char) -> bool {
    matches!(c,
        '\u{0E00}'..='\u{0EFF}' | '\u{0F00}'..='\u{0FFF}' | '\u{1000}'..='\u{109F}'
        | '\u{1780}'..='\u{17FF}' | '\u{1950}'..='\u{19DF}' | '\u{2E80}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}' | '\u{FF00}'..='\u{FFEF}'
        | '\u{20000}'..='\u{3FFFF}')
}

/// Emoji and their components, around which ZWJ is legitimate.
fn emoji_like(c: char) -> bool {
    matches!(c,
        '\u{00A9}' | '\u{00AE}' | '\u{203C}' | '\u{2049}' | '\u{2122}' | '\u{2139}'
        | '\u{2194}'..='\u{21FF}' | '\u{2300}'..='\u{23FF}' | '\u{24C2}' | '\u{25A0}'..='\u{27BF}'
        | '\u{2900}'..='\u{297F}' | '\u{2B00}'..='\u{2BFF}' | '\u{3030}' | '\u{303D}'
        | '\u{3297}' | '\u{3299}' | '\u{FE0F}' | '\u{20E3}' | '\u{1F000}'..='\u{1FAFF}'
        | '\u{1FC00}'..='\u{1FFFD}' | '\u{E0020}'..='\u{E007F}')
}

fn prev_char(text: &str, i: usize) -> Option<char> {
    text[..i].chars().next_back()
}

fn next_char(text: &str, i: usize) -> Option<char> {
    text[i..].chars().next()
}

/// The end of the run of characters of `class` starting at `start`.
fn run_end(text: &str, start: usize, class_of: Class) -> (usize, usize) {
    let mut end = start;
    let mut count = 0;
    for c in text[start..].chars() {
        if class(c) != class_of {
            break;
        }
        end += c.len_utf8();
        count += 1;
    }
    (end, count)
}

/// Collects nearby spans of one kind into merged findings.
#[derive(Default)]
struct Merger {
    current: Option<(usize, usize, usize)>,
    done: Vec<(Span, usize)>,
}

impl Merger {
    fn add(&mut self, start: usize, end: usize, count: usize) {
        match &mut self.current {
            Some((_, e, n)) if start <= *e + MERGE_GAP => {
                *e = end;
                *n += count;
            }
            _ => {
                if let Some((s, e, n)) = self.current.take() {
                    self.done.push((Span::new(s, e), n));
                }
                self.current = Some((start, end, count));
            }
        }
    }

    fn finish(mut self) -> Vec<(Span, usize)> {
        if let Some((s, e, n)) = self.current.take() {
            self.done.push((Span::new(s, e), n));
        }
        self.done
    }
}

struct Pass<'i, 'a> {
    input: &'i ScanInput<'a>,
    out: &'i mut Vec<Finding>,
    zero_width: Merger,
    private_use: Merger,
    /// The last right-to-left letter before the scan position.
    last_rtl: Option<usize>,
    /// The first right-to-left letter found by looking ahead, and how far the look-ahead
    /// went (it never reads a byte twice).
    next_rtl: Option<usize>,
    searched_to: usize,
    /// Closers that end a bidi scope opened before them.
    matched_closers: HashSet<usize>,
    /// Decoded tag text of the current cluster of nearby tag runs.
    tags: Vec<(Span, String)>,
}

impl Pass<'_, '_> {
    fn text(&self) -> &str {
        self.input.text
    }

    /// Whether a right-to-left letter lies within [`REACH`] bytes of `at`.
    fn rtl_near(&mut self, at: usize) -> bool {
        if self.last_rtl.is_some_and(|p| at - p <= REACH) {
            return true;
        }
        if let Some(p) = self.next_rtl
            && p > at
        {
            return p - at <= REACH;
        }
        let text = self.input.text;
        let from = ceil_boundary(text, at.max(self.searched_to));
        let to = floor_boundary(text, at.saturating_add(REACH + 1).min(text.len())).max(from);
        self.next_rtl = text[from..to]
            .char_indices()
            .find(|&(_, c)| is_rtl(c))
            .map(|(i, _)| from + i);
        self.searched_to = self.next_rtl.unwrap_or(to);
        self.next_rtl.is_some()
    }

    /// Adds a tag run's decoded text to the current cluster, first scanning the cluster
    /// for hidden injection when the run is too far from it.
    fn join_tags(&mut self, span: Span, decoded: String) {
        if self
            .tags
            .last()
            .is_some_and(|(last, _)| span.start > last.end + TAG_JOIN_GAP)
        {
            self.flush_tags();
        }
        self.tags.push((span, decoded));
    }

    /// Tag text split over several nearby runs: scans it as a whole.
    fn flush_tags(&mut self) {
        let tags = std::mem::take(&mut self.tags);
        if tags.len() < 2 {
            return;
        }
        let span = tags
            .iter()
            .map(|(s, _)| *s)
            .reduce(Span::union)
            .unwrap_or_default();
        let all: String = tags.iter().map(|(_, t)| t.as_str()).collect();
        self.hidden_injection(
            &all,
            span,
            "invisible.tag_characters",
            "tag characters (joined)",
        );
    }

    fn invisible(&mut self, kind: &str, span: Span, score: f32, detail: String) {
        self.out.push(
            Finding::new(
                Category::InvisibleText,
                kind,
                format!("invisible.{kind}"),
                span,
                score,
            )
            .with_detail(detail),
        );
    }

    /// Scans uncovered text for injection; reports the strongest hit on `span`.
    fn hidden_injection(&mut self, hidden: &str, span: Span, rule: &str, carrier: &str) {
        let hits = injection_findings(self.input, hidden);
        if let Some(best) = strongest(&hits) {
            let f = carried(rule, "encoded_payload", span, best, 0.1, carrier);
            self.out.push(f);
        }
    }

    fn tag_run(&mut self, range: Range<usize>) {
        let text = self.input.text;
        let run = &text[range.clone()];
        let span = Span::new(range.start, range.end);
        // An emoji subdivision flag: 🏴 + tag letters/digits + cancel tag.
        let flag = prev_char(text, range.start) == Some('\u{1F3F4}')
            && run.ends_with('\u{E007F}')
            && run.chars().count() <= 8
            && run[..run.len() - '\u{E007F}'.len_utf8()]
                .chars()
                .all(|c| matches!(c, '\u{E0030}'..='\u{E0039}' | '\u{E0061}'..='\u{E007A}'));
        if flag {
            return;
        }
        let decoded: String = run
            .chars()
            .filter_map(|c| {
                let v = u32::from(c) - 0xE0000;
                (0x20..=0x7E).contains(&v).then(|| char::from(v as u8))
            })
            .collect();
        let score = if decoded.is_empty() { 0.7 } else { 0.95 };
        let detail = if decoded.is_empty() {
            format!("{} tag control characters", run.chars().count())
        } else {
            clip(&decoded)
        };
        self.invisible("tag_characters", span, score, detail);
        if !decoded.is_empty() {
            self.hidden_injection(&decoded, span, "invisible.tag_characters", "tag characters");
            self.join_tags(span, decoded);
        }
    }

    fn variation_run(&mut self, range: Range<usize>, count: usize) {
        if count < 2 {
            return;
        }
        let text = self.input.text;
        let span = Span::new(range.start, range.end);
        let bytes: Vec<u8> = text[range]
            .chars()
            .map(|c| match c {
                '\u{FE00}'..='\u{FE0F}' => (u32::from(c) - 0xFE00) as u8,
                _ => (u32::from(c) - 0xE0100 + 16) as u8,
            })
            .collect();
        let decoded = std::str::from_utf8(&bytes)
            .ok()
            .filter(|s| looks_like_text(s));
        match decoded {
            Some(hidden) => {
                let hidden = hidden.to_owned();
                self.invisible("variation_selector_payload", span, 0.9, clip(&hidden));
                self.hidden_injection(
                    &hidden,
                    span,
                    "invisible.variation_selector_payload",
                    "variation selectors",
                );
            }
            None => self.invisible(
                "variation_selector_payload",
                span,
                0.8,
                format!("{count} variation selectors in a row"),
            ),
        }
    }

    fn zero_width_run(&mut self, range: Range<usize>, count: usize) {
        let text = self.input.text;
        if count == 1 {
            let c = next_char(text, range.start).unwrap_or(' ');
            let before = prev_char(text, range.start);
            let after = next_char(text, range.end);
            let either = |f: fn(char) -> bool| before.is_some_and(f) || after.is_some_and(f);
            let legit = match c {
                '\u{200D}' => {
                    (before.is_some_and(emoji_like) && after.is_some_and(emoji_like))
                        || either(joins)
                }
                '\u{200C}' => either(joins),
                '\u{200B}' => either(spaceless),
                '\u{FEFF}' => range.start == 0,
                '\u{00AD}' => {
                    before.is_some_and(char::is_alphabetic)
                        && after.is_some_and(char::is_alphabetic)
                }
                '\u{115F}' | '\u{1160}' => either(|c| matches!(c, '\u{1100}'..='\u{11FF}')),
                '\u{180B}'..='\u{180F}' => {
                    before.is_some_and(|c| matches!(c, '\u{1800}'..='\u{18AF}'))
                }
                '\u{17B4}' | '\u{17B5}' => either(|c| matches!(c, '\u{1780}'..='\u{17FF}')),
                '\u{034F}' => before
                    .is_some_and(|c| unicode_normalization::char::is_combining_mark(c) || joins(c)),
                _ => false,
            };
            if legit {
                return;
            }
        } else if count >= 8 && self.zero_width_payload(range.clone()) {
            return;
        }
        self.zero_width.add(range.start, range.end, count);
    }

    /// Tries to read a zero-width run as binary or base-4 text; reports it when it is.
    fn zero_width_payload(&mut self, range: Range<usize>) -> bool {
        let text = self.input.text;
        let chars: Vec<char> = text[range.clone()].chars().collect();
        let mut symbols: Vec<char> = chars.clone();
        symbols.sort_unstable();
        symbols.dedup();
        let bits_per = match symbols.len() {
            2 => 1u32,
            4 => 2,
            _ => return false,
        };
        let digits = if bits_per == 1 { 2usize } else { 4 };
        // Every assignment of digit values to the symbols (2 or 24 of them).
        let mut perm: Vec<usize> = (0..digits).collect();
        let mut tried = 0;
        loop {
            tried += 1;
            let value = |c: char| perm[symbols.iter().position(|&s| s == c).unwrap_or(0)] as u32;
            let total_bits = chars.len() as u32 * bits_per;
            if total_bits.is_multiple_of(8) {
                let mut bytes = Vec::with_capacity(chars.len() * bits_per as usize / 8);
                let mut acc = 0u32;
                let mut n = 0u32;
                for &c in &chars {
                    acc = (acc << bits_per) | value(c);
                    n += bits_per;
                    if n == 8 {
                        bytes.push(acc as u8);
                        acc = 0;
                        n = 0;
                    }
                }
                if let Ok(s) = std::str::from_utf8(&bytes)
                    && looks_like_text(s)
                {
                    let hidden = s.to_owned();
                    let span = Span::new(range.start, range.end);
                    self.invisible("zero_width_payload", span, 0.9, clip(&hidden));
                    self.hidden_injection(
                        &hidden,
                        span,
                        "invisible.zero_width_payload",
                        "zero-width characters",
                    );
                    return true;
                }
            }
            if !next_permutation(&mut perm) || tried >= 24 {
                return false;
            }
        }
    }

    /// A bidi control opening at `start`; returns where scanning continues.
    fn bidi(&mut self, start: usize, c: char) -> usize {
        let text = self.input.text;
        let open_len = c.len_utf8();
        let isolate = matches!(c, '\u{2066}'..='\u{2068}');
        // Find the matching closer (nesting) within reach, or the end of the paragraph.
        let mut depth = 0usize;
        let mut close: Option<(usize, usize)> = None;
        let scope_from = start + open_len;
        let mut para_end = floor_boundary(text, scope_from.saturating_add(REACH).min(text.len()));
        for (off, d) in text[scope_from..para_end].char_indices() {
            let at = start + open_len + off;
            match d {
                '\n' | '\u{2029}' => {
                    para_end = at;
                    break;
                }
                '\u{202A}' | '\u{202B}' | '\u{202D}' | '\u{202E}' if !isolate => depth += 1,
                '\u{2066}'..='\u{2068}' if isolate => depth += 1,
                '\u{202C}' if !isolate => {
                    if depth == 0 {
                        close = Some((at, at + d.len_utf8()));
                        break;
                    }
                    depth -= 1;
                }
                '\u{2069}' if isolate => {
                    if depth == 0 {
                        close = Some((at, at + d.len_utf8()));
                        break;
                    }
                    depth -= 1;
                }
                _ => {}
            }
        }
        if let Some((at, _)) = close {
            self.matched_closers.insert(at);
        }
        let (content_end, end) = close.unwrap_or((para_end, para_end));
        let content = &text[start + open_len..content_end];
        let span = Span::new(start, end);
        let override_ = matches!(c, '\u{202D}' | '\u{202E}');
        let report = override_ || close.is_none() || !self.rtl_near(start);
        if report {
            let name = match c {
                '\u{202E}' => "right-to-left override",
                '\u{202D}' => "left-to-right override",
                '\u{202B}' => "right-to-left embedding",
                '\u{202A}' => "left-to-right embedding",
                '\u{2067}' => "right-to-left isolate",
                '\u{2066}' => "left-to-right isolate",
                _ => "first-strong isolate",
            };
            let open = if close.is_none() { ", left open" } else { "" };
            let chars = content.chars().filter(|&d| !crate::is_invisible(d)).count();
            self.invisible(
                "bidi_override",
                span,
                if override_ { 0.9 } else { 0.75 },
                format!("{name} over {chars} characters{open}"),
            );
        }
        if c == '\u{202E}' {
            // What a reader sees: the content reversed.
            let shown: String = content
                .chars()
                .rev()
                .filter(|&d| class(d) == Class::Other)
                .collect();
            let hits = injection_findings(self.input, &shown);
            if let Some(best) = strongest(&hits) {
                let f = carried(
                    "invisible.bidi_override",
                    &best.kind,
                    span,
                    best,
                    0.1,
                    "right-to-left override (display order)",
                );
                self.out.push(f);
            }
        }
        // Continue inside the scope: nested controls are handled when reached; the closer
        // is skipped.
        start + open_len
    }
}

fn next_permutation(p: &mut [usize]) -> bool {
    let n = p.len();
    if n < 2 {
        return false;
    }
    let mut i = n - 1;
    while i > 0 && p[i - 1] >= p[i] {
        i -= 1;
    }
    if i == 0 {
        return false;
    }
    let mut j = n - 1;
    while p[j] <= p[i - 1] {
        j -= 1;
    }
    p.swap(i - 1, j);
    p[i..].reverse();
    true
}

impl Detector for InvisibleText {
    fn name(&self) -> &str {
        NAME
    }

    fn scan(&self, input: &ScanInput<'_>, out: &mut Vec<Finding>) -> Result<(), ScanError> {
        let text = input.text;
        if text.is_ascii() {
            return Ok(());
        }
        let mut pass = Pass {
            input,
            out,
            zero_width: Merger::default(),
            private_use: Merger::default(),
            last_rtl: None,
            next_rtl: None,
            searched_to: 0,
            matched_closers: HashSet::new(),
            tags: Vec::new(),
        };
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] < 0x80 {
                i += crate::view::ascii_prefix_len(&bytes[i..]);
                continue;
            }
            let c = next_char(pass.text(), i).unwrap_or(' ');
            let len = c.len_utf8();
            match class(c) {
                Class::Other => {
                    if is_rtl(c) {
                        pass.last_rtl = Some(i);
                    }
                    i += len;
                }
                Class::Tag => {
                    let (end, _) = run_end(pass.text(), i, Class::Tag);
                    pass.tag_run(i..end);
                    i = end;
                }
                Class::VariationSelector => {
                    let (end, count) = run_end(pass.text(), i, Class::VariationSelector);
                    pass.variation_run(i..end, count);
                    i = end;
                }
                Class::ZeroWidth => {
                    let (end, count) = run_end(pass.text(), i, Class::ZeroWidth);
                    pass.zero_width_run(i..end, count);
                    i = end;
                }
                Class::BidiOpen => i = pass.bidi(i, c),
                Class::BidiClose => {
                    // A closer without an opener before it hides nothing but is invisible.
                    if !pass.matched_closers.remove(&i) && !pass.rtl_near(i) {
                        pass.zero_width.add(i, i + len, 1);
                    }
                    i += len;
                }
                Class::BidiMark => {
                    if !pass.rtl_near(i) {
                        pass.zero_width.add(i, i + len, 1);
                    }
                    i += len;
                }
                Class::PrivateUse => {
                    let (end, count) = run_end(pass.text(), i, Class::PrivateUse);
                    pass.private_use.add(i, end, count);
                    i = end;
                }
            }
        }
        pass.flush_tags();
        let zero_width = std::mem::take(&mut pass.zero_width).finish();
        for (span, n) in zero_width {
            let what = if n == 1 {
                "1 zero-width character".to_owned()
            } else {
                format!("{n} zero-width characters")
            };
            pass.invisible("zero_width", span, 0.5, what);
        }
        let private_use = std::mem::take(&mut pass.private_use).finish();
        for (span, n) in private_use {
            pass.invisible(
                "private_use",
                span,
                0.4,
                format!("{n} private-use characters"),
            );
        }
        Ok(())
    }

    /// Every decision reads at most [`REACH`] bytes around a control (module docs); the
    /// window doubles it so that a scope opened near a slice's end is seen whole.
    fn max_window(&self) -> usize {
        2 * REACH
    }
}
