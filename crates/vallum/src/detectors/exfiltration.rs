//! Exfiltration in model output: images that load by themselves, and links whose URL
//! carries data, to hosts the policy does not trust.
//!
//! The output is parsed as a renderer parses it, with pulldown-cmark (CommonMark plus the
//! GFM table extensions): inline and reference-style images and links (with
//! angle-bracket destinations, titles, backslash escapes and HTML entities resolved by the
//! parser), `<autolinks>`, GFM bare URLs (`https://…`, `www.…`) and raw HTML (`img`
//! `src`/`srcset`, `a href`, `iframe`, SVG `image`/`use`, media `poster`, CSS `url(…)`,
//! `meta refresh`), with entities decoded as a browser decodes them. Code blocks and code
//! spans are text, as a renderer shows them.
//!
//! Every URL is parsed the way a browser does (tabs and newlines dropped, `\` as `/`,
//! userinfo before the last `@`, percent-decoded and lower-cased host, trailing dot
//! dropped) and judged:
//! - allowed hosts (`policy.allow.hosts`, `*.` allows subdomains) are never reported;
//! - an image (or iframe, media, stylesheet, CSS url, refresh) to any other host is
//!   reported, since it loads without a click, unless the host appears in the prompt;
//! - a URL whose subdomain, userinfo, path, query (keys and values) or fragment carries
//!   data is reported: hex, base64/base32-like or otherwise random-looking runs, very long
//!   values, tokens with digits copied from the prompt, long verbatim copies of the prompt,
//!   or personal data and secrets the guard's own rules find in the decoded URL. For hosts
//!   named in the prompt (links the user asked about) only personal data, secrets and
//!   prompt content count;
//! - `data:` and `javascript:`/`vbscript:` URIs, and protocol-relative (`//host`) URLs
//!   to unknown hosts.
//!
//! A reference-style image or link is reported at whichever of its two parts comes last
//! in the text: the use (`![x][ref]`) or the destination of its definition
//! (`[ref]: https://…`). That is where the pair becomes complete, so a stream can decide
//! it at the same place (see `crate::stream`).

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use pulldown_cmark::{BrokenLink, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use vallum_rules::validators::common::shannon_entropy;

use crate::detector::RuleSet;
use crate::{Category, Detector, Direction, Finding, Policy, ScanError, ScanInput, Span, ViewKind};

/// The detector's name.
pub(crate) const NAME: &str = "exfiltration";

/// Longest stretch a stream holds back for one unfinished construct (an unclosed `[`,
/// `<` or code span, a growing URL); longer ones are decided as they stand.
pub(crate) const OPEN_CAP: usize = 16 * 1024;

/// Most remembered reference definitions and unresolved uses across a stream.
const MAX_REFS: usize = 4096;

/// Longest prompt text kept for the verbatim-copy check.
const MAX_PROMPT_COPY_LEN: usize = 1 << 20;

/// A decoded value at least this long is data by its length alone.
const LONG_VALUE: usize = 128;

/// A decoded value at least this long that the prompt contains verbatim is copied data.
const COPIED_RUN: usize = 48;

/// How the detector treats hosts: the policy's allowlist.
#[derive(Debug)]
pub(crate) struct Exfiltration {
    allow: Vec<HostPattern>,
    bare: AhoCorasick,
}

#[derive(Debug)]
struct HostPattern {
    host: String,
    subdomains: bool,
}

/// What the prompt tells about URLs in the answer.
#[derive(Debug, Default)]
pub(crate) struct PromptInfo {
    hosts: HashSet<String>,
    idents: HashSet<String>,
    lower: String,
}

/// A reference definition remembered across stream slices.
#[derive(Debug, Clone)]
struct RefDef {
    dest: String,
    title: String,
    dest_span: Span,
}

/// Reference definitions and unresolved reference uses carried from one stream slice to
/// the next (empty for a one-shot scan, where the parser sees the whole text).
#[derive(Debug, Default)]
pub(crate) struct RefState {
    defs: HashMap<String, RefDef>,
    uses: HashMap<String, UseKinds>,
}

#[derive(Debug, Default, Clone, Copy)]
struct UseKinds {
    image: bool,
    link: bool,
}

/// A reference link or image being read whose definition comes later in the text.
struct LaterRef {
    /// Its source text, `[text][label]` or `![text][label]`.
    range: Range<usize>,
    /// The link depth inside it.
    depth: usize,
    /// Whether everything inside it so far is plain text.
    plain: bool,
}

/// What the analysis of one text found besides findings, for a stream.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Fenced code blocks and HTML blocks: (range, length of their first line).
    pub(crate) raw_blocks: Vec<(Range<usize>, usize)>,
    defs: Vec<(String, RefDef)>,
    uses: Vec<(String, bool, usize)>,
}

/// Whether a URL loads by itself or needs a click, and what to call its finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Auto(&'static str),
    Click(&'static str),
}

impl Role {
    fn kind(self) -> &'static str {
        match self {
            Role::Auto(k) | Role::Click(k) => k,
        }
    }
}

/// Why a URL is reported.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Verdict {
    kind: &'static str,
    score: f32,
    reason: &'static str,
}

impl Exfiltration {
    pub(crate) fn new(policy: &Policy) -> Exfiltration {
        let allow = policy
            .allow
            .hosts
            .iter()
            .filter_map(|h| {
                let h = h.trim();
                let (host, subdomains) = match h.strip_prefix("*.") {
                    Some(rest) => (rest, true),
                    None => (h, false),
                };
                let host = normalize_host(host);
                (!host.is_empty()).then_some(HostPattern { host, subdomains })
            })
            .collect();
        let bare = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(["https://", "http://", "www."])
            .expect("three literal patterns always compile");
        Exfiltration { allow, bare }
    }

    fn allowed(&self, host: &str) -> bool {
        self.allow.iter().any(|p| {
            host == p.host
                || (p.subdomains
                    && host.len() > p.host.len()
                    && host.ends_with(p.host.as_str())
                    && host.as_bytes()[host.len() - p.host.len() - 1] == b'.')
        })
    }

    /// Analyses `text` (whose first `skip` bytes are context that reports nothing), adding
    /// findings with spans into `text`; URLs that start before `report_from` (a part a
    /// stream has decided) are not judged.
    #[expect(
        clippy::too_many_arguments,
        reason = "one internal call site each for the stream and the one-shot scan"
    )]
    pub(crate) fn analyze(
        &self,
        text: &str,
        skip: usize,
        report_from: usize,
        prompt: &PromptInfo,
        rules: &RuleSet,
        refs: &RefState,
        out: &mut Vec<Finding>,
    ) -> Outcome {
        let mut outcome = Outcome::default();
        if !might_have_constructs(text) {
            return outcome;
        }
        let ctx = Ctx {
            det: self,
            text,
            report_from: skip.max(report_from),
            prompt,
            rules,
        };
        let mut broken: Vec<(String, bool, usize)> = Vec::new();
        let callback = |link: BrokenLink<'_>| -> Option<(CowStr<'_>, CowStr<'_>)> {
            let label = normalize_label(&link.reference);
            if let Some(def) = refs.defs.get(&label) {
                return Some((def.dest.clone().into(), def.title.clone().into()));
            }
            let image = text.as_bytes().get(link.span.start) == Some(&b'!');
            broken.push((label, image, link.span.start));
            None
        };
        let options = Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_GFM;
        let mut iter =
            Parser::new_with_broken_link_callback(text, options, Some(callback)).into_offset_iter();
        let mut link_depth = 0usize;
        let mut code_depth = 0usize;
        // Uses resolved by a definition further on in this text: their finding lies at the
        // definition, which a stream may not decide in this slice, so they are remembered
        // like unresolved uses.
        let mut resolved_later: Vec<(String, bool, usize)> = Vec::new();
        let mut text_run: Option<Range<usize>> = None;
        let mut html_run: Option<Range<usize>> = None;
        // A reference whose definition comes later in the text, while its link text is
        // plain: a stream that has not seen the definition yet reads it as text, so the
        // text around it (a bare URL running into it) is read the same way here.
        let mut later: Option<LaterRef> = None;
        while let Some((event, range)) = iter.next() {
            let later_start = match &event {
                Event::Start(
                    Tag::Image { link_type, id, .. } | Tag::Link { link_type, id, .. },
                ) if later.is_none() && is_reference(*link_type) => {
                    let label = normalize_label(id);
                    (!refs.defs.contains_key(&label))
                        .then(|| iter.reference_definitions().get(id))
                        .flatten()
                        .and_then(|def| def_dest_span(text, def.span.clone()))
                        .filter(|d| d.start > range.start)
                }
                _ => None,
            };
            let closes_later = matches!(event, Event::End(TagEnd::Image | TagEnd::Link))
                && later.as_ref().is_some_and(|l| l.depth == link_depth);
            if let Some(l) = later.as_mut()
                && !closes_later
                && !matches!(event, Event::Text(_))
            {
                l.plain = false;
            }
            let hold_run = later_start.is_some() || later.as_ref().is_some_and(|l| l.plain);
            let is_text = matches!(event, Event::Text(_)) && link_depth == 0 && code_depth == 0;
            let is_html = matches!(event, Event::Html(_) | Event::InlineHtml(_));
            if !is_text
                && !hold_run
                && let Some(r) = text_run.take()
            {
                ctx.bare_urls(r, out);
            }
            if !is_html && let Some(r) = html_run.take() {
                ctx.html(r, out);
            }
            match event {
                Event::Start(
                    Tag::Image {
                        link_type,
                        dest_url,
                        id,
                        ..
                    }
                    | Tag::Link {
                        link_type,
                        dest_url,
                        id,
                        ..
                    },
                ) => {
                    let image = text.as_bytes().get(range.start) == Some(&b'!')
                        && link_type != LinkType::Autolink;
                    link_depth += 1;
                    let role = match (image, link_type) {
                        (true, _) => Role::Auto("markdown_image"),
                        (false, LinkType::Autolink) => Role::Click("autolink"),
                        (false, LinkType::Email) => continue,
                        (false, _) => Role::Click("markdown_link"),
                    };
                    let mut span = Span::from(range.clone());
                    let mut dest: String = dest_url.to_string();
                    if is_reference(link_type) {
                        let label = normalize_label(&id);
                        if let Some(def) = refs.defs.get(&label) {
                            // A definition from an earlier part of the stream comes first
                            // in the text, so it is the one CommonMark uses.
                            dest.clone_from(&def.dest);
                        } else if let Some(d) = later_start {
                            span = d;
                            resolved_later.push((label, image, range.start));
                            later = Some(LaterRef {
                                range: range.clone(),
                                depth: link_depth,
                                plain: true,
                            });
                        }
                    }
                    ctx.judge(&dest, role, span, out);
                }
                Event::End(TagEnd::Image | TagEnd::Link) => {
                    if closes_later
                        && let Some(l) = later.take()
                        && l.plain
                    {
                        match text_run.as_mut() {
                            Some(r) if r.end == l.range.start => r.end = l.range.end,
                            _ => {
                                if let Some(r) = text_run.replace(l.range) {
                                    ctx.bare_urls(r, out);
                                }
                            }
                        }
                    } else if closes_later {
                        later = None;
                    }
                    link_depth = link_depth.saturating_sub(1);
                }
                Event::Start(Tag::CodeBlock(_)) => {
                    code_depth += 1;
                    outcome
                        .raw_blocks
                        .push((range.clone(), first_line_len(text, &range)));
                }
                Event::End(TagEnd::CodeBlock) => code_depth = code_depth.saturating_sub(1),
                Event::Start(Tag::HtmlBlock) => {
                    outcome
                        .raw_blocks
                        .push((range.clone(), first_line_len(text, &range)));
                }
                _ if is_text => extend_run(&mut text_run, range),
                _ if is_html => extend_run(&mut html_run, range),
                _ => {}
            }
        }
        if let Some(r) = text_run.take() {
            ctx.bare_urls(r, out);
        }
        if let Some(r) = html_run.take() {
            ctx.html(r, out);
        }
        // Definitions in this text that complete uses seen earlier in a stream.
        for (key, def) in iter.reference_definitions().iter() {
            let label = normalize_label(key);
            let Some(dest_span) = def_dest_span(text, def.span.clone()) else {
                continue;
            };
            if dest_span.start < skip {
                continue;
            }
            // A label defined earlier in the stream keeps that definition: CommonMark
            // ignores later ones, so they complete nothing.
            if refs.defs.contains_key(&label) {
                continue;
            }
            if let Some(kinds) = refs.uses.get(&label) {
                if kinds.image {
                    ctx.judge(&def.dest, Role::Auto("markdown_image"), dest_span, out);
                }
                if kinds.link {
                    ctx.judge(&def.dest, Role::Click("markdown_link"), dest_span, out);
                }
            }
            outcome.defs.push((
                label,
                RefDef {
                    dest: def.dest.to_string(),
                    title: def.title.as_deref().unwrap_or_default().to_owned(),
                    dest_span,
                },
            ));
        }
        drop(iter);
        broken.extend(resolved_later);
        outcome.uses = broken;
        outcome
    }
}

impl RefState {
    /// Remembers the definitions and unresolved uses of `outcome` that lie before `upto`
    /// (spans shifted by `shift`, from the analysed text to the stream).
    pub(crate) fn absorb(&mut self, outcome: &mut Outcome, upto: usize, shift: isize) {
        let moved = |s: usize| s.saturating_add_signed(shift);
        for (label, mut def) in outcome.defs.drain(..) {
            def.dest_span = Span::new(moved(def.dest_span.start), moved(def.dest_span.end));
            if def.dest_span.end <= upto && self.defs.len() < MAX_REFS {
                self.defs.entry(label).or_insert(def);
            }
        }
        for (label, image, at) in outcome.uses.drain(..) {
            if moved(at) < upto && (self.uses.len() < MAX_REFS || self.uses.contains_key(&label)) {
                let kinds = self.uses.entry(label).or_default();
                if image {
                    kinds.image = true;
                } else {
                    kinds.link = true;
                }
            }
        }
    }
}

fn is_reference(t: LinkType) -> bool {
    matches!(
        t,
        LinkType::Reference
            | LinkType::ReferenceUnknown
            | LinkType::Collapsed
            | LinkType::CollapsedUnknown
            | LinkType::Shortcut
            | LinkType::ShortcutUnknown
    )
}

fn extend_run(run: &mut Option<Range<usize>>, range: Range<usize>) {
    match run {
        Some(r) if r.end == range.start => r.end = range.end,
        Some(_) | None => *run = Some(range),
    }
}

fn first_line_len(text: &str, range: &Range<usize>) -> usize {
    let block = &text.as_bytes()[range.clone()];
    memchr::memchr(b'\n', block).map_or(block.len(), |i| i + 1)
}

/// Whether the text has anything that could become a link, an image, raw HTML, a code
/// block or a bare URL; prose without any of these skips the parser.
fn might_have_constructs(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr3(b'[', b'<', b'`', b).is_some()
        || memchr::memchr(b'~', b).is_some()
        || memchr::memmem::find(b, b"://").is_some()
        || memchr::memmem::find(b, b"www.").is_some()
        || memchr::memmem::find(b, b"WWW.").is_some()
}

/// CommonMark label matching: case-insensitive, inner whitespace collapsed.
fn normalize_label(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    for word in label.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// The span of a reference definition's destination inside its source span.
fn def_dest_span(text: &str, span: Range<usize>) -> Option<Span> {
    let b = text.as_bytes();
    let end = span.end.min(b.len());
    let mut i = span.start;
    while i < end && b[i] == b' ' {
        i += 1;
    }
    if b.get(i) != Some(&b'[') {
        return None;
    }
    i += 1;
    while i < end && b[i] != b']' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    if i + 1 >= end || b[i + 1] != b':' {
        return None;
    }
    i += 2;
    while i < end && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let start = i;
    if b.get(i) == Some(&b'<') {
        while i < end && b[i] != b'>' {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        i = (i + 1).min(end);
    } else {
        while i < end && !b[i].is_ascii_whitespace() {
            i += 1;
        }
    }
    let i = crate::engine::floor_boundary(text, i.min(end));
    (i > start).then(|| Span::new(start, i))
}

struct Ctx<'a> {
    det: &'a Exfiltration,
    text: &'a str,
    /// Findings that start before it are not wanted.
    report_from: usize,
    prompt: &'a PromptInfo,
    rules: &'a RuleSet,
}

impl Ctx<'_> {
    fn judge(&self, raw_url: &str, role: Role, span: Span, out: &mut Vec<Finding>) {
        if span.start < self.report_from {
            return;
        }
        if let Some(v) = self.verdict(raw_url, role) {
            out.push(
                Finding::new(
                    Category::Exfiltration,
                    v.kind,
                    rule_id(v.kind),
                    span,
                    v.score,
                )
                .with_detail(v.reason),
            );
        }
    }

    fn verdict(&self, raw_url: &str, role: Role) -> Option<Verdict> {
        let url = parse_url(raw_url)?;
        let kind = role.kind();
        let auto = matches!(role, Role::Auto(_));
        match url.scheme {
            Scheme::Script => {
                return Some(Verdict {
                    kind: "script_uri",
                    score: 0.9,
                    reason: "script URI",
                });
            }
            Scheme::Data => {
                return Some(Verdict {
                    kind: "data_uri",
                    score: 0.8,
                    reason: "data URI",
                });
            }
            Scheme::Other => return None,
            Scheme::Network { .. } => {}
        }
        if url.host.is_empty() || self.det.allowed(&url.host) {
            return None;
        }
        let in_prompt = self.prompt.knows_host(&url.host);
        let data = self.carried_data(&url);
        match (in_prompt, data) {
            (_, Some((reason, true))) => Some(Verdict {
                kind,
                score: 1.0,
                reason,
            }),
            (false, Some((reason, false))) => Some(Verdict {
                kind,
                score: if auto { 1.0 } else { 0.9 },
                reason,
            }),
            (false, None) if auto => Some(Verdict {
                kind,
                score: 0.9,
                reason: "loads from a host that is not allowed",
            }),
            (false, None) if url.scheme == (Scheme::Network { relative: true }) => Some(Verdict {
                kind: "protocol_relative",
                score: 0.7,
                reason: "protocol-relative URL to a host that is not allowed",
            }),
            // Hosts the prompt names (only sensitive data counts there), and links
            // without data.
            _ => None,
        }
    }

    /// Whether the URL carries data, why, and whether it is sensitive (personal data,
    /// secrets or prompt content, reported even for hosts the prompt names).
    fn carried_data(&self, url: &Url) -> Option<(&'static str, bool)> {
        let mut carriers: Vec<(String, &'static str)> = Vec::new();
        for label in subdomain_labels(&url.host) {
            carriers.push((label.to_owned(), "data in the subdomain"));
        }
        if !url.userinfo.is_empty() {
            carriers.push((percent_decode(&url.userinfo, false), "data in the userinfo"));
        }
        for seg in url.path.split(['/', '\\']).filter(|s| !s.is_empty()) {
            carriers.push((percent_decode(seg, false), "data in the path"));
        }
        for part in [url.query.as_str(), url.fragment.as_str()] {
            for pair in part.split(['&', ';']).filter(|s| !s.is_empty()) {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                carriers.push((percent_decode(key, true), "data in the query"));
                if !value.is_empty() {
                    carriers.push((percent_decode(value, true), "data in the query"));
                }
            }
        }
        let mut joined = String::new();
        for (c, _) in &carriers {
            joined.push_str(c);
            joined.push('\n');
        }
        if self.sensitive(&joined) {
            return Some(("personal data or a secret in the URL", true));
        }
        for (c, reason) in &carriers {
            if self.prompt.copied(c) {
                return Some(("prompt content in the URL", true));
            }
            if c.len() >= LONG_VALUE || looks_encoded(c) {
                return Some((reason, false));
            }
        }
        None
    }

    fn sensitive(&self, decoded: &str) -> bool {
        if decoded.len() < 4 {
            return false;
        }
        let mut found = Vec::new();
        self.rules
            .scan(decoded, ViewKind::Raw, Direction::Output, &mut found);
        found
            .iter()
            .any(|f| matches!(f.category, Category::Pii | Category::Secret))
    }

    /// GFM bare URLs in a run of text.
    fn bare_urls(&self, run: Range<usize>, out: &mut Vec<Finding>) {
        let bytes = self.text.as_bytes();
        let hay = &self.text[run.clone()];
        let mut from = 0;
        while let Some(m) = self.det.bare.find(&hay[from..]) {
            let start = from + m.start();
            from += m.end();
            let prev = start.checked_sub(1).map(|i| hay.as_bytes()[i]);
            if prev.is_some_and(|p| p.is_ascii_alphanumeric() || p == b'/' || p == b'.') {
                continue;
            }
            let abs = run.start + start;
            let mut end = abs;
            while end < run.end && !bytes[end].is_ascii_whitespace() && bytes[end] != b'<' {
                end += 1;
            }
            let end = trim_url_end(self.text, abs, end);
            if end <= abs + m.len() {
                continue;
            }
            from = end - run.start;
            let raw = &self.text[abs..end];
            let url = if raw.as_bytes()[0].eq_ignore_ascii_case(&b'w') {
                format!("http://{}", decode_entities(raw))
            } else {
                decode_entities(raw)
            };
            self.judge(&url, Role::Click("bare_url"), Span::new(abs, end), out);
        }
    }

    /// Raw HTML: the tags in one run of HTML events.
    fn html(&self, run: Range<usize>, out: &mut Vec<Finding>) {
        let bytes = self.text.as_bytes();
        let mut i = run.start;
        while let Some(off) = memchr::memchr(b'<', &bytes[i..run.end]) {
            let lt = i + off;
            let Some(tag) = parse_tag(self.text, lt, run.end) else {
                i = lt + 1;
                continue;
            };
            i = tag.end.max(lt + 1);
            let span = Span::new(lt, tag.end);
            for (name, value) in &tag.attrs {
                let value = decode_entities(value);
                for (role, url) in attr_urls(&tag.name, name, &value, &tag.attrs) {
                    self.judge(&url, role, span, out);
                }
            }
        }
    }
}

fn rule_id(kind: &str) -> String {
    format!("exfiltration.{kind}")
}

/// Trims what GFM leaves out of a bare URL's end: trailing punctuation, an unbalanced
/// closing parenthesis, a trailing entity reference.
fn trim_url_end(text: &str, start: usize, mut end: usize) -> usize {
    let b = text.as_bytes();
    loop {
        let Some(&last) = b[start..end].last() else {
            return end;
        };
        match last {
            b'?' | b'!' | b'.' | b',' | b':' | b'*' | b'_' | b'~' | b'\'' | b'"' => end -= 1,
            b')' => {
                let s = &b[start..end];
                let open = memchr::memchr_iter(b'(', s).count();
                let close = memchr::memchr_iter(b')', s).count();
                if close > open {
                    end -= 1;
                } else {
                    return end;
                }
            }
            b';' => {
                let s = &b[start..end - 1];
                let alnum = s
                    .iter()
                    .rev()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .count();
                if alnum > 0 && s.len() > alnum && s[s.len() - alnum - 1] == b'&' {
                    end -= alnum + 2;
                } else {
                    return end;
                }
            }
            _ => return end,
        }
    }
}

struct HtmlTag {
    name: String,
    attrs: Vec<(String, String)>,
    end: usize,
}

/// Parses an HTML start tag at `lt` (a `<`), as a browser tokenizer does, up to `limit`.
fn parse_tag(text: &str, lt: usize, limit: usize) -> Option<HtmlTag> {
    let b = text.as_bytes();
    let mut i = lt + 1;
    let name_start = i;
    while i < limit && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b':') {
        i += 1;
    }
    if i == name_start || !b[name_start].is_ascii_alphabetic() {
        return None;
    }
    let name = text[name_start..i].to_ascii_lowercase();
    let mut attrs = Vec::new();
    loop {
        while i < limit && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= limit {
            return Some(HtmlTag {
                name,
                attrs,
                end: limit,
            });
        }
        if b[i] == b'>' {
            return Some(HtmlTag {
                name,
                attrs,
                end: i + 1,
            });
        }
        let a_start = i;
        while i < limit && !b[i].is_ascii_whitespace() && !matches!(b[i], b'>' | b'=' | b'/') {
            i += 1;
        }
        if i == a_start {
            i += 1;
            continue;
        }
        let attr = text[a_start..i].to_ascii_lowercase();
        let mut j = i;
        while j < limit && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if j < limit && b[j] == b'=' {
            j += 1;
            while j < limit && b[j].is_ascii_whitespace() {
                j += 1;
            }
            let (v_start, v_end, next) = match b.get(j) {
                Some(&q @ (b'"' | b'\'')) if j < limit => {
                    let close = memchr::memchr(q, &b[j + 1..limit]).map_or(limit, |k| j + 1 + k);
                    (j + 1, close, (close + 1).min(limit))
                }
                _ => {
                    let mut k = j;
                    while k < limit && !b[k].is_ascii_whitespace() && b[k] != b'>' {
                        k += 1;
                    }
                    (j, k, k)
                }
            };
            let v_end = crate::engine::floor_boundary(text, v_end);
            attrs.push((attr, text[v_start.min(v_end)..v_end].to_owned()));
            i = next;
        } else {
            attrs.push((attr, String::new()));
        }
    }
}

/// The URLs an attribute makes the browser load or link to.
fn attr_urls(
    tag: &str,
    attr: &str,
    value: &str,
    attrs: &[(String, String)],
) -> Vec<(Role, String)> {
    const IMAGE: Role = Role::Auto("html_image");
    const FRAME: Role = Role::Auto("iframe");
    const RESOURCE: Role = Role::Auto("html_resource");
    const LINK: Role = Role::Click("html_link");
    let one = |role: Role| vec![(role, value.to_owned())];
    match (tag, attr) {
        (_, "style") => css_urls(value).into_iter().map(|u| (IMAGE, u)).collect(),
        (_, "srcset" | "imagesrcset") => value
            .split(',')
            .filter_map(|c| c.split_whitespace().next())
            .map(|u| (IMAGE, u.to_owned()))
            .collect(),
        ("img" | "source" | "video" | "audio" | "track" | "input", "src" | "lowsrc" | "dynsrc")
        | ("video", "poster")
        | ("image" | "use" | "feimage", "href" | "xlink:href")
        | (_, "background") => one(IMAGE),
        ("iframe" | "frame" | "embed", "src") | ("object", "data") => one(FRAME),
        ("script", "src") | ("link", "href") => one(RESOURCE),
        ("meta", "content") => {
            let refresh = attrs
                .iter()
                .any(|(n, v)| n == "http-equiv" && v.eq_ignore_ascii_case("refresh"));
            let lower = value.to_ascii_lowercase();
            match lower.find("url=") {
                Some(at) if refresh => {
                    let u = value[at + 4..].trim().trim_matches(['"', '\'']);
                    vec![(RESOURCE, u.to_owned())]
                }
                _ => Vec::new(),
            }
        }
        ("a" | "area", "href") | ("form", "action") | ("button" | "input", "formaction") => {
            one(LINK)
        }
        _ => Vec::new(),
    }
}

/// The `url(...)` references in CSS text.
fn css_urls(css: &str) -> Vec<String> {
    let lower = css.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("url(") {
        let start = from + at + 4;
        let end = lower[start..].find(')').map_or(css.len(), |e| start + e);
        out.push(css[start..end].trim().trim_matches(['"', '\'']).to_owned());
        from = end;
    }
    out
}

/// Decodes HTML character references as a browser does in attribute values and text:
/// numeric ones (with or without `;`) and the named ones that can spell a URL.
pub(crate) fn decode_entities(s: &str) -> String {
    const NAMED: &[(&str, &str)] = &[
        ("amp", "&"),
        ("lt", "<"),
        ("gt", ">"),
        ("quot", "\""),
        ("apos", "'"),
        ("nbsp", "\u{a0}"),
        ("colon", ":"),
        ("sol", "/"),
        ("bsol", "\\"),
        ("period", "."),
        ("quest", "?"),
        ("equals", "="),
        ("num", "#"),
        ("percnt", "%"),
        ("lowbar", "_"),
        ("hyphen", "-"),
        ("dash", "-"),
        ("comma", ","),
        ("excl", "!"),
        ("lpar", "("),
        ("rpar", ")"),
        ("plus", "+"),
        ("commat", "@"),
        ("semi", ";"),
        ("dollar", "$"),
        ("ast", "*"),
        ("lsqb", "["),
        ("rsqb", "]"),
        ("tilde", "~"),
        ("Tab", "\t"),
        ("NewLine", "\n"),
    ];
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let after = &rest[1..];
        if let Some(num) = after.strip_prefix('#') {
            let (hex, digits) = match num.strip_prefix(['x', 'X']) {
                Some(h) => (true, h),
                None => (false, num),
            };
            let len = digits
                .bytes()
                .take_while(|c| {
                    if hex {
                        c.is_ascii_hexdigit()
                    } else {
                        c.is_ascii_digit()
                    }
                })
                .count();
            if len > 0 {
                let value = u32::from_str_radix(&digits[..len.min(8)], if hex { 16 } else { 10 })
                    .ok()
                    .and_then(char::from_u32)
                    .filter(|&c| c != '\0')
                    .unwrap_or('\u{fffd}');
                out.push(value);
                let used = 1 + 1 + usize::from(hex) + len;
                rest = &rest[used..];
                rest = rest.strip_prefix(';').unwrap_or(rest);
                continue;
            }
        } else if let Some((name, value)) = NAMED.iter().find(|(n, _)| after.starts_with(n)) {
            let tail = &after[name.len()..];
            let legacy = matches!(*name, "amp" | "lt" | "gt" | "quot" | "nbsp");
            if let Some(t) = tail.strip_prefix(';') {
                out.push_str(value);
                rest = t;
                continue;
            } else if legacy {
                out.push_str(value);
                rest = tail;
                continue;
            }
        }
        out.push('&');
        rest = after;
    }
    out.push_str(rest);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// http(s), ftp, ws(s), or a protocol-relative URL (`relative`).
    Network {
        relative: bool,
    },
    Data,
    Script,
    Other,
}

#[derive(Debug)]
struct Url {
    scheme: Scheme,
    userinfo: String,
    host: String,
    path: String,
    query: String,
    fragment: String,
}

/// Parses a URL the way a browser resolves a link on a web page (relative URLs stay on
/// the page's own host and are not network URLs here).
fn parse_url(raw: &str) -> Option<Url> {
    let cleaned: String = raw
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let s = cleaned.as_str();
    let b = s.as_bytes();
    let scheme_len = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))
        .filter(|&i| i > 0 && b[i] == b':' && b[0].is_ascii_alphabetic());
    let (scheme, rest) = if let Some(i) = scheme_len {
        let name = s[..i].to_ascii_lowercase();
        let scheme = match name.as_str() {
            "http" | "https" | "ftp" | "ws" | "wss" => Scheme::Network { relative: false },
            "data" => Scheme::Data,
            "javascript" | "vbscript" => Scheme::Script,
            _ => Scheme::Other,
        };
        (scheme, &s[i + 1..])
    } else {
        let slashes = b.iter().take_while(|&&c| c == b'/' || c == b'\\').count();
        if slashes < 2 {
            return None;
        }
        (Scheme::Network { relative: true }, s)
    };
    if !matches!(scheme, Scheme::Network { .. }) {
        return Some(Url {
            scheme,
            userinfo: String::new(),
            host: String::new(),
            path: String::new(),
            query: String::new(),
            fragment: String::new(),
        });
    }
    let rest = rest.trim_start_matches(['/', '\\']);
    let auth_end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let after = &rest[auth_end..];
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => (&authority[..at], &authority[at + 1..]),
        None => ("", authority),
    };
    let host = if hostport.starts_with('[') {
        hostport.find(']').map_or(hostport, |e| &hostport[..=e])
    } else {
        match hostport.rfind(':') {
            Some(c) if hostport[c + 1..].bytes().all(|d| d.is_ascii_digit()) => &hostport[..c],
            _ => hostport,
        }
    };
    let (before_frag, fragment) = after.split_once('#').unwrap_or((after, ""));
    let (path, query) = before_frag.split_once('?').unwrap_or((before_frag, ""));
    Some(Url {
        scheme,
        userinfo: userinfo.to_owned(),
        host: normalize_host(&percent_decode(host, false)),
        path: path.to_owned(),
        query: query.to_owned(),
        fragment: fragment.to_owned(),
    })
}

/// Lower case, ideographic full stops as dots, no trailing dot.
fn normalize_host(host: &str) -> String {
    let mut out: String = host
        .chars()
        .map(|c| match c {
            '\u{3002}' | '\u{ff0e}' | '\u{ff61}' => '.',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect();
    while out.ends_with('.') {
        out.pop();
    }
    out
}

/// The labels of a host left of its registrable domain (`a.b.example.co.uk` → a, b).
fn subdomain_labels(host: &str) -> Vec<&str> {
    if host.starts_with('[') || host.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return Vec::new();
    }
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    let keep = if n >= 3 && labels[n - 1].len() == 2 && labels[n - 2].len() <= 3 {
        3
    } else {
        2
    };
    labels[..n.saturating_sub(keep)].to_vec()
}

/// Percent-decodes (lossy UTF-8); in a query, `+` is a space.
fn percent_decode(value: &str, plus: bool) -> String {
    if !(value.contains('%') || plus && value.contains('+')) {
        return value.to_owned();
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'%' if at + 2 < bytes.len() => {
                let hex = |c: u8| char::from(c).to_digit(16);
                if let (Some(high), Some(low)) = (hex(bytes[at + 1]), hex(bytes[at + 2])) {
                    out.push((high * 16 + low) as u8);
                    at += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        at += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a decoded value looks like encoded or random data rather than words: hex,
/// base64-like mixed case, or digit-bearing runs with too few vowels to be words.
pub(crate) fn looks_encoded(value: &str) -> bool {
    value
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_')))
        .any(encoded_run)
}

fn encoded_run(run: &str) -> bool {
    let core = run;
    if core.len() < 16 {
        return false;
    }
    let (mut upper, mut lower, mut digit, mut vowels) = (0usize, 0usize, 0usize, 0usize);
    let mut transitions = 0usize;
    let mut prev = 0u8;
    for c in core.bytes() {
        let class = if c.is_ascii_uppercase() {
            upper += 1;
            1
        } else if c.is_ascii_lowercase() {
            lower += 1;
            2
        } else if c.is_ascii_digit() {
            digit += 1;
            3
        } else {
            4
        };
        if matches!(c.to_ascii_lowercase(), b'a' | b'e' | b'i' | b'o' | b'u') {
            vowels += 1;
        }
        if prev != 0 && class != prev {
            transitions += 1;
        }
        prev = class;
    }
    let letters = upper + lower;
    let len = core.len();
    let hex = core.bytes().all(|c| c.is_ascii_hexdigit()) && digit > 0 && letters > 0;
    if hex {
        return true;
    }
    let entropy = shannon_entropy(core);
    let mixed_case = upper >= 2 && lower >= 2;
    if len >= 20 && mixed_case && transitions * 10 >= len * 3 && entropy >= 3.5 {
        return true;
    }
    digit >= 2 && letters >= 4 && vowels * 4 < letters && entropy >= 3.3
}

impl PromptInfo {
    /// What `prompt` says about URLs: the hosts it names, digit-bearing tokens (ids,
    /// numbers, codes) and its text for verbatim-copy checks.
    pub(crate) fn new(prompt: Option<&str>) -> PromptInfo {
        let Some(prompt) = prompt else {
            return PromptInfo::default();
        };
        let mut hosts = HashSet::new();
        let mut idents = HashSet::new();
        for token in prompt.split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '(' | ')' | '[' | ']' | '<' | '>' | '"' | '\'' | '`' | ','
                )
        }) {
            let token = token.trim_end_matches(['.', ':', ';', '!', '?']);
            if token.is_empty() {
                continue;
            }
            if token.contains("://") || token.starts_with("//") {
                if let Some(url) = parse_url(token)
                    && !url.host.is_empty()
                {
                    hosts.insert(url.host);
                }
            } else if let Some(host) = domain_like(token) {
                hosts.insert(host);
            }
            for part in token.split(|c: char| !c.is_ascii_alphanumeric()) {
                if is_ident(part) {
                    idents.insert(part.to_ascii_lowercase());
                }
            }
        }
        let lower = if prompt.len() <= MAX_PROMPT_COPY_LEN {
            collapse_lower(prompt)
        } else {
            String::new()
        };
        PromptInfo {
            hosts,
            idents,
            lower,
        }
    }

    fn knows_host(&self, host: &str) -> bool {
        self.hosts.contains(host)
            || host
                .strip_prefix("www.")
                .is_some_and(|h| self.hosts.contains(h))
            || self.hosts.contains(&format!("www.{host}"))
    }

    /// Whether a decoded URL part holds a digit-bearing token of the prompt or a long
    /// verbatim stretch of it.
    fn copied(&self, value: &str) -> bool {
        if self.idents.is_empty() && self.lower.is_empty() {
            return false;
        }
        if value
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|p| is_ident(p) && self.idents.contains(&p.to_ascii_lowercase()))
        {
            return true;
        }
        value.len() >= COPIED_RUN && !self.lower.is_empty() && {
            let v = collapse_lower(value);
            v.len() >= COPIED_RUN && self.lower.contains(&v)
        }
    }
}

/// A token that identifies something: at least 6 characters with at least 3 digits.
fn is_ident(token: &str) -> bool {
    token.len() >= 6 && token.bytes().filter(u8::is_ascii_digit).count() >= 3
}

fn collapse_lower(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split(|c: char| c.is_whitespace() || c == '_' || c == '+') {
        if w.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(w.chars().flat_map(char::to_lowercase));
    }
    out
}

/// `example.com` or `docs.example.co.uk/path` as a host name.
fn domain_like(token: &str) -> Option<String> {
    let host = token.split(['/', '?', '#']).next()?;
    let host = host.rsplit('@').next()?;
    let host = normalize_host(host);
    let labels: Vec<&str> = host.split('.').collect();
    let tld = labels.last()?;
    let ok = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && (tld.len() >= 2 && tld.chars().all(char::is_alphabetic) || tld.starts_with("xn--"));
    ok.then_some(host)
}

/// Where, in the last stretch of `text`, a construct may still be unfinished: an
/// unclosed `[`/`![`, a `](` without its `)`, an unclosed `<tag` or `<autolink`, an
/// unclosed code span (which may yet turn what follows into code), or the last word (a
/// URL may still grow). `None` when nothing is open. `raw_blocks` are the analysis'
/// fenced code and HTML blocks: inside an open one only the last line is pending.
pub(crate) fn open_from(text: &str, raw_blocks: &[(Range<usize>, usize)]) -> Option<usize> {
    let b = text.as_bytes();
    let len = b.len();
    if len == 0 {
        return None;
    }
    let mut region = last_blank_line_end(b);
    for (r, _) in raw_blocks {
        if r.end >= len.saturating_sub(1) && r.start < len {
            // An open (or just closed) code or HTML block reaches the end: its content
            // is final; only the last line may still become a closing fence.
            let line = memchr::memrchr(b'\n', &b[..len - 1]).map_or(0, |i| i + 1);
            return if b[len - 1] == b'\n' {
                None
            } else {
                Some(line)
            };
        }
        if r.end > region && r.end <= len {
            region = r.end;
        }
    }
    let mut pending: Option<usize> = None;
    let mut note = |p: usize| pending = Some(pending.map_or(p, |q: usize| q.min(p)));
    let mut brackets: Vec<usize> = Vec::new();
    let mut tick: Option<(usize, usize)> = None;
    let mut i = region;
    while i < len {
        let c = b[i];
        if let Some((n, _)) = tick {
            if c == b'`' {
                let run = b[i..].iter().take_while(|&&x| x == b'`').count();
                if run == n {
                    tick = None;
                }
                i += run;
            } else {
                i += 1;
            }
            continue;
        }
        match c {
            b'\\' => i += 1,
            b'`' => {
                let run = b[i..].iter().take_while(|&&x| x == b'`').count();
                tick = Some((run, i));
                i += run - 1;
            }
            b'[' => brackets.push(if i > 0 && b[i - 1] == b'!' { i - 1 } else { i }),
            b']' => {
                let open = brackets.pop();
                match b.get(i + 1) {
                    None => {
                        if let Some(o) = open {
                            note(o);
                        }
                    }
                    Some(b'(') => match close_paren(b, i + 2) {
                        Some(e) => i = e,
                        None => note(open.unwrap_or(i)),
                    },
                    _ => {}
                }
            }
            b'<' => {
                let next = b.get(i + 1);
                if next.is_none_or(|n| n.is_ascii_alphabetic() || matches!(n, b'/' | b'!' | b'?')) {
                    match memchr::memchr(b'>', &b[i..]) {
                        Some(e) => i += e,
                        None => note(i),
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    if let Some((_, at)) = tick {
        note(at);
    }
    if let Some(&first) = brackets.first() {
        note(first);
    }
    if !b[len - 1].is_ascii_whitespace() {
        let word = b
            .iter()
            .rposition(u8::is_ascii_whitespace)
            .map_or(0, |i| i + 1);
        note(word);
    }
    pending
}

/// The offset just after the last blank line (a line of spaces and tabs only), or 0.
fn last_blank_line_end(b: &[u8]) -> usize {
    let mut end = b.len();
    while let Some(nl) = memchr::memrchr(b'\n', &b[..end]) {
        let line_start = memchr::memrchr(b'\n', &b[..nl]).map_or(0, |i| i + 1);
        if nl > 0
            && b[line_start..nl]
                .iter()
                .all(|c| matches!(c, b' ' | b'\t' | b'\r'))
            && line_start > 0
        {
            return nl + 1;
        }
        end = nl;
    }
    0
}

/// The index of the `)` closing a link destination that starts at `from`, if present.
fn close_paren(b: &[u8], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = from;
    if b.get(i) == Some(&b'<') {
        let e = memchr::memchr(b'>', &b[i..])?;
        i += e + 1;
    }
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' if depth == 0 => return Some(i),
            b')' => depth -= 1,
            b'\n' if b.get(i + 1) == Some(&b'\n') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

impl Detector for Exfiltration {
    fn name(&self) -> &str {
        NAME
    }

    fn scan(&self, input: &ScanInput<'_>, findings: &mut Vec<Finding>) -> Result<(), ScanError> {
        if input.direction != Direction::Output {
            return Ok(());
        }
        let prompt = PromptInfo::new(input.prompt);
        self.analyze(
            input.text,
            0,
            0,
            &prompt,
            input.rules,
            &RefState::default(),
            findings,
        );
        Ok(())
    }

    /// A stream holds back an unfinished construct (see [`open_from`]) up to this much.
    fn max_window(&self) -> usize {
        OPEN_CAP
    }
}
