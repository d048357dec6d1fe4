//! Overlapping token windows that cover a whole text.

use std::ops::Range;

/// One planned window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedWindow {
    /// Token indices (into the text's encoding, without special tokens).
    pub tokens: Range<usize>,
    /// Byte offset where the window's span starts (char boundary).
    pub start: usize,
    /// Byte offset where it ends, exclusive (char boundary).
    pub end: usize,
}

/// Plans windows of at most `content` tokens, consecutive windows sharing `overlap` tokens,
/// over a text whose tokens have the byte `offsets` given. The byte spans cover
/// `0..text.len()` with no gap: the first starts at 0, the last ends at `text.len()`, and
/// each ends no earlier than the next starts. A non-empty text with no tokens (only
/// whitespace or control characters) gets one window with no tokens. The last window is
/// shifted back to be full length rather than left short.
pub fn plan_windows(
    offsets: &[(usize, usize)],
    text: &str,
    content: usize,
    overlap: usize,
) -> Vec<PlannedWindow> {
    let len = text.len();
    if len == 0 {
        return Vec::new();
    }
    let n = offsets.len();
    if n == 0 {
        return vec![PlannedWindow {
            tokens: 0..0,
            start: 0,
            end: len,
        }];
    }
    let content = content.max(1);
    let step = content.saturating_sub(overlap).max(1);
    let mut starts = vec![0usize];
    while starts.last().unwrap() + content < n {
        let next = starts.last().unwrap() + step;
        starts.push(next.min(n.saturating_sub(content)));
    }
    starts.dedup();
    let mut out: Vec<PlannedWindow> = starts
        .iter()
        .map(|&s| {
            let e = (s + content).min(n);
            PlannedWindow {
                tokens: s..e,
                start: offsets[s].0,
                end: offsets[e - 1].1,
            }
        })
        .collect();
    let last = out.len() - 1;
    out[0].start = 0;
    out[last].end = len;
    for i in 0..last {
        let next_start = out[i + 1].start;
        if out[i].end < next_start {
            out[i].end = next_start;
        }
    }
    for w in &mut out {
        w.start = floor_char_boundary(text, w.start.min(len));
        w.end = ceil_char_boundary(text, w.end.min(len));
    }
    out
}

/// Fewest tokens a paragraph window holds: a shorter paragraph (a heading, a sign-off) is
/// joined to the paragraphs after it, or at the end of the text to the one before it.
/// Scored alone, such fragments read like commands ("## Systems you will use").
pub const MIN_PARAGRAPH_TOKENS: usize = 16;

/// Plans one window per paragraph of `text` (paragraphs are separated by blank lines), for
/// texts of at least two paragraphs. A short injection inside a long window of ordinary
/// prose is outweighed by the text around it; scored on its own, its paragraph is not.
/// Paragraphs of fewer than [`MIN_PARAGRAPH_TOKENS`] tokens are joined to their
/// neighbours. A group of more than `content` tokens gets no window of its own (the windows
/// of [`plan_windows`] already cover it almost alone), and neither does one holding every
/// token (the first window is exactly that). Each span runs from the group's first to its
/// last non-whitespace byte.
pub fn plan_paragraphs(
    offsets: &[(usize, usize)],
    text: &str,
    content: usize,
) -> Vec<PlannedWindow> {
    let bounds = paragraph_bounds(text);
    if bounds.len() < 2 {
        return Vec::new();
    }
    let tokens_of = |start: usize, end: usize| {
        offsets.partition_point(|&(s, _)| s < start)..offsets.partition_point(|&(s, _)| s < end)
    };
    // Groups of whole paragraphs, each of at least MIN_PARAGRAPH_TOKENS tokens but the last.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut open: Option<(usize, usize)> = None;
    for (start, end) in bounds {
        let (s, _) = *open.get_or_insert((start, end));
        open = Some((s, end));
        if tokens_of(s, end).len() >= MIN_PARAGRAPH_TOKENS {
            groups.extend(open.take());
        }
    }
    if let Some((s, e)) = open {
        match groups.last_mut() {
            Some(last) => last.1 = e,
            None => groups.push((s, e)),
        }
    }
    groups
        .into_iter()
        .filter_map(|(start, end)| {
            let tokens = tokens_of(start, end);
            let n = tokens.len();
            (n > 0 && n <= content && n < offsets.len()).then_some(PlannedWindow {
                tokens,
                start,
                end,
            })
        })
        .collect()
}

/// Byte spans of the paragraphs of `text`, trimmed of whitespace: runs of text separated
/// by whitespace that holds at least two line breaks.
fn paragraph_bounds(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut last_end = 0; // end of the last non-whitespace char of the current paragraph
    let mut breaks = 0; // line breaks since it
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if c == '\n' {
                breaks += 1;
            }
            continue;
        }
        match start {
            Some(s) if breaks >= 2 => {
                out.push((s, last_end));
                start = Some(i);
            }
            Some(_) => {}
            None => start = Some(i),
        }
        breaks = 0;
        last_end = i + c.len_utf8();
    }
    if let Some(s) = start {
        out.push((s, last_end));
    }
    debug_assert!(out.iter().all(|&(s, e)| s < e && e <= text.len()));
    out
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices() {
            if c.is_whitespace() {
                if let Some(s) = start.take() {
                    v.push((s, i));
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            v.push((s, text.len()));
        }
        v
    }

    fn check_cover(text: &str, ws: &[PlannedWindow], n: usize) {
        assert_eq!(ws[0].start, 0);
        assert_eq!(ws.last().unwrap().end, text.len());
        for p in ws.windows(2) {
            assert!(p[0].end >= p[1].start, "gap between {p:?}");
            assert!(p[0].tokens.start < p[1].tokens.start);
        }
        for w in ws {
            assert!(text.is_char_boundary(w.start) && text.is_char_boundary(w.end));
        }
        let mut covered = vec![false; n];
        for w in ws {
            covered[w.tokens.clone()].iter_mut().for_each(|c| *c = true);
        }
        assert!(covered.iter().all(|&c| c));
    }

    #[test]
    fn covers_every_byte_and_token() {
        let text = "  héllo wörld ünïcode   text with many words in it, more and more words  ";
        let offs = words(text);
        for content in 1..8 {
            for overlap in 0..content {
                let ws = plan_windows(&offs, text, content, overlap);
                check_cover(text, &ws, offs.len());
                assert!(ws.iter().all(|w| w.tokens.len() <= content));
            }
        }
    }

    #[test]
    fn short_and_degenerate() {
        assert!(plan_windows(&[], "", 10, 2).is_empty());
        let ws = plan_windows(&[], "   ", 10, 2);
        assert_eq!(
            ws,
            vec![PlannedWindow {
                tokens: 0..0,
                start: 0,
                end: 3
            }]
        );
        let ws = plan_windows(&[(1, 3)], " ab ", 10, 2);
        assert_eq!(
            ws,
            vec![PlannedWindow {
                tokens: 0..1,
                start: 0,
                end: 4
            }]
        );
    }

    #[test]
    fn last_window_is_full_length() {
        let text = "a b c d e f g h i j";
        let offs = words(text);
        let ws = plan_windows(&offs, text, 4, 1);
        assert_eq!(ws.last().unwrap().tokens, 6..10);
        check_cover(text, &ws, offs.len());
    }

    /// `n` words of `w`.
    fn para(w: &str, n: usize) -> String {
        vec![w; n].join(" ")
    }

    #[test]
    fn paragraphs_are_split_at_blank_lines() {
        let (a, b, c) = (para("alpha", 20), para("beta", 16), para("gamma", 30));
        let text = format!("{a}\nstill first.\n\n  {b} \r\n\r\n\n{c}\n");
        let offs = words(&text);
        let ps = plan_paragraphs(&offs, &text, 100);
        let spans: Vec<&str> = ps.iter().map(|p| &text[p.start..p.end]).collect();
        let first = format!("{a}\nstill first.");
        assert_eq!(spans, [first.as_str(), b.as_str(), c.as_str()]);
        let toks: Vec<usize> = ps.iter().map(|p| p.tokens.len()).collect();
        assert_eq!(toks, [22, 16, 30]);
        // Token ranges are contiguous and in order, covering every token.
        assert_eq!(ps[0].tokens.start, 0);
        assert_eq!(ps[2].tokens.end, offs.len());
        assert!(ps.windows(2).all(|p| p[0].tokens.end == p[1].tokens.start));
    }

    #[test]
    fn short_paragraphs_join_their_neighbours() {
        // A heading joins the paragraph after it; a short last paragraph joins the one
        // before it; the groups in between stand alone.
        let (body, other) = (para("body", 20), para("other", 18));
        let text = format!("## A heading\n\n{body}\n\n{other}\n\nThanks!");
        let ps = plan_paragraphs(&words(&text), &text, 100);
        let spans: Vec<&str> = ps.iter().map(|p| &text[p.start..p.end]).collect();
        let head = format!("## A heading\n\n{body}");
        let tail = format!("{other}\n\nThanks!");
        assert_eq!(spans, [head.as_str(), tail.as_str()]);
        // Short paragraphs only, all joined: that is the whole text, which the first plain
        // window already scores.
        assert!(plan_paragraphs(&words("a b\n\nc d\n\ne"), "a b\n\nc d\n\ne", 100).is_empty());
    }

    #[test]
    fn paragraphs_only_for_several_short_ones() {
        // One paragraph: the windows already score it.
        assert!(plan_paragraphs(&words("a b c\n"), "a b c\n", 10).is_empty());
        assert!(plan_paragraphs(&[], "", 10).is_empty());
        // A paragraph longer than a window gets none of its own.
        let (long, short, accented) = (para("a", 40), para("short", 16), para("\u{e9}t\u{e9}", 16));
        let text = format!("{long}\n\n{short}\n\n{accented}");
        let ps = plan_paragraphs(&words(&text), &text, 30);
        let spans: Vec<&str> = ps.iter().map(|p| &text[p.start..p.end]).collect();
        assert_eq!(spans, [short.as_str(), accented.as_str()]);
        for p in &ps {
            assert!(text.is_char_boundary(p.start) && text.is_char_boundary(p.end));
        }
    }
}
