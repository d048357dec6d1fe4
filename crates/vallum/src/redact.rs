//! Replacing findings in text: placeholders, masks or keyed hashes.

use std::borrow::Cow;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::policy::{Redaction, RedactionMode};
use crate::{Finding, Span};

/// The placeholder for a kind: `email` becomes `<EMAIL>`.
pub fn placeholder(kind: &str) -> String {
    format!("<{}>", kind.to_ascii_uppercase())
}

/// Replaces the given findings' spans in `text`, merging overlapping spans so that no byte
/// is replaced twice. Borrows `text` when there is nothing to replace.
///
/// The replacement of a merged group is chosen by its highest-scoring finding.
pub fn redact_spans<'a>(
    text: &'a str,
    findings: &[&Finding],
    settings: &Redaction,
) -> Cow<'a, str> {
    if findings.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut order: Vec<&Finding> = findings.to_vec();
    order.sort_by_key(|f| (f.span.start, std::cmp::Reverse(f.span.end)));
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0;
    let mut i = 0;
    while i < order.len() {
        let mut span = order[i].span;
        let mut best = order[i];
        i += 1;
        while i < order.len() && order[i].span.start < span.end {
            span = span.union(order[i].span);
            if order[i].score > best.score {
                best = order[i];
            }
            i += 1;
        }
        if span.start < cursor {
            continue;
        }
        out.push_str(&text[cursor..span.start]);
        out.push_str(&replacement(&text[span], &best.kind, settings));
        cursor = span.end;
    }
    out.push_str(&text[cursor..]);
    Cow::Owned(out)
}

fn replacement(value: &str, kind: &str, settings: &Redaction) -> String {
    match settings.mode {
        RedactionMode::Placeholder => placeholder(kind),
        RedactionMode::Mask => "*".repeat(value.chars().count()),
        RedactionMode::Hash => {
            let key = settings.hash_key.as_deref().unwrap_or_default();
            let tag = keyed_hash(key.as_bytes(), &[kind.as_bytes(), &[0], value.as_bytes()]);
            let hex = tag[..4].iter().fold(String::new(), |mut acc, b| {
                use std::fmt::Write;
                let _ = write!(acc, "{b:02x}");
                acc
            });
            format!("<{}:{hex}>", kind.to_ascii_uppercase())
        }
    }
}

/// HMAC-SHA-256 under `key` of the concatenation of `parts`: equal inputs get equal tags,
/// and without the key a tag reveals nothing about its input. Redaction's `hash` mode and
/// the audit log's input hashes use it.
pub fn keyed_hash(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Merges overlapping spans into a sorted list of disjoint spans.
pub fn merge_spans(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start < last.end => *last = last.union(s),
            _ => out.push(s),
        }
    }
    out
}
