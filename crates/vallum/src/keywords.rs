//! The rule engine's keyword search: every overlapping, ASCII-case-insensitive occurrence
//! of the rules' keywords in a text.
//!
//! aho-corasick's own prefilters do not apply to a set this large (its packed Teddy takes a
//! few dozen patterns, its rare-byte filters three distinct bytes), so over ordinary prose
//! its automaton takes a transition per byte and follows failure links: about 52
//! instructions a byte over the default packs' 1,115 keywords (callgrind). Keywords are rare
//! in most text, so a cheaper filter reads it first, in two stages. The first is a
//! shift-or over byte pairs ([`PairStage`]): one table read a byte, which flags the
//! positions where the last four byte pairs fit some keyword's anchor (its rarest five
//! bytes; shorter keywords all of theirs). At a flagged position the second stage hashes the
//! anchor's bytes into an 8 KiB bitmap, and only anchors it lets through are compared with
//! the keywords anchored there.
//!
//! Keywords of one byte (`:`, `-`, `@`, the digits) would flag a position in every few
//! bytes of source code or chat, so they are kept out of the filter and found by one packed
//! (Teddy) search of their bytes; its matches are merged in order with the filter's.
//!
//! The automaton (a DFA) stays for texts where the filter lets too much through (CJK text
//! against CJK keywords, runs of `-` against `--`): once the comparisons exceed one per 16
//! bytes read, the whole text goes to the automaton, built on first need (or by
//! `Guard::warm_up`). Both report the same matches.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind, packed};

/// One keyword match: pattern id and byte range in the haystack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeywordHit {
    pub(crate) pattern: u32,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl KeywordHit {
    /// A match of the automaton in a haystack that starts `offset` bytes into the text.
    pub(crate) fn from_match(m: &aho_corasick::Match, offset: usize) -> KeywordHit {
        KeywordHit {
            pattern: m.pattern().as_u32(),
            start: offset + m.start(),
            end: offset + m.end(),
        }
    }
}

/// The order matches are reported in: by end, then start, then pattern id.
fn hit_order(hit: &KeywordHit) -> (usize, usize, u32) {
    (hit.end, hit.start, hit.pattern)
}

/// Appends `hit` to `out[first..]` in [`hit_order`]. The filter finds matches nearly in
/// order (an anchor ends at most a keyword's length before its keyword does), so a match
/// moves back past a few at most; one that would move further is appended as it is, and
/// the caller sorts what is out of order.
fn insert_in_order(out: &mut Vec<KeywordHit>, first: usize, hit: KeywordHit) {
    /// Most matches a new one moves back past.
    const MAX_MOVE: usize = 32;
    let mut at = out.len();
    while at > first && hit_order(&out[at - 1]) > hit_order(&hit) {
        if out.len() - at == MAX_MOVE {
            out.push(hit);
            return;
        }
        at -= 1;
    }
    out.insert(at, hit);
}

/// Keyword lists longer than this skip the filter (its bitmaps would let most positions
/// through) and get aho-corasick's own choice of automaton.
const MAX_FILTERED: usize = 4096;

/// ASCII letters fold to lower case under `| 0x20` (eight bytes at a time); other bytes
/// may collide with each other, which only lets more positions through to the comparison.
const FOLD8: u64 = 0x2020_2020_2020_2020;

/// The filter gives the text to the automaton once its comparisons exceed one per
/// `FILTER_RATIO` bytes read, plus `FILTER_SLACK`.
const FILTER_RATIO: usize = 16;
const FILTER_SLACK: usize = 1024;

/// The keywords of one engine and the means to find them.
pub(crate) struct KeywordIndex {
    /// The keywords, ASCII lowercased, by pattern id.
    patterns: Vec<Box<[u8]>>,
    filter: Option<AnchorFilter>,
    /// The one-byte keywords, when the filter leaves them to a search of their own.
    bytes: Option<ByteKeywords>,
    /// The automaton over `patterns`: built up front without a filter, else on first need.
    automaton: OnceLock<Option<AhoCorasick>>,
}

impl std::fmt::Debug for KeywordIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywordIndex")
            .field("patterns", &self.patterns.len())
            .field("filtered", &self.filter.is_some())
            .field("bytes_apart", &self.bytes.is_some())
            .finish_non_exhaustive()
    }
}

/// A keyword anchored at `offset` bytes into it.
#[derive(Clone, Copy, Debug)]
struct Anchored {
    pattern: u32,
    offset: u32,
    /// The anchor's folded bytes (as [`folded_at`] reads them, in the low bytes): a text
    /// position whose folded bytes differ cannot hold the keyword.
    word: u64,
    /// The keyword's head, as in [`AnchorFilter::heads`], kept here so that a candidate
    /// is rejected without another table read.
    head: (u64, u64),
}

/// Keywords of one byte, found by one packed search of their bytes (both cases of a
/// letter) instead of by the filter, where they would flag every few bytes of code or chat.
struct ByteKeywords {
    searcher: packed::Searcher,
    /// The keyword id of each of the searcher's patterns.
    ids: Vec<u32>,
}

impl ByteKeywords {
    /// The search for the one-byte keywords among `patterns` (lowercased); `None` when
    /// there are none, one is listed twice (the automaton reports each), or no packed
    /// searcher takes them (too many, or no SIMD to run it).
    fn build(patterns: &[Box<[u8]>]) -> Option<ByteKeywords> {
        let mut builder = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder();
        let mut ids = Vec::new();
        let mut seen = [false; 256];
        for (id, kw) in patterns.iter().enumerate() {
            let &[b] = &**kw else { continue };
            if std::mem::replace(&mut seen[usize::from(b)], true) {
                return None;
            }
            let id = u32::try_from(id).expect("fewer than 2^32 keywords");
            let upper = b.to_ascii_uppercase();
            for byte in std::iter::once(b).chain((upper != b).then_some(upper)) {
                builder.add([byte]);
                ids.push(id);
            }
        }
        let searcher = builder.build()?;
        Some(ByteKeywords { searcher, ids })
    }

    /// The matches in `hay`, in order, with spans moved by `offset`.
    fn hits<'h>(&'h self, hay: &'h [u8], offset: usize) -> impl Iterator<Item = KeywordHit> + 'h {
        self.searcher.find_iter(hay).map(move |m| KeywordHit {
            pattern: self.ids[m.pattern().as_usize()],
            start: offset + m.start(),
            end: offset + m.end(),
        })
    }
}

/// Two iterators of matches in [`hit_order`] merged into one in that order.
struct Merged<A: Iterator, B: Iterator> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A, B> Iterator for Merged<A, B>
where
    A: Iterator<Item = KeywordHit>,
    B: Iterator<Item = KeywordHit>,
{
    type Item = KeywordHit;

    fn next(&mut self) -> Option<KeywordHit> {
        match (self.a.peek(), self.b.peek()) {
            (Some(a), Some(b)) if hit_order(b) < hit_order(a) => self.b.next(),
            (Some(_), _) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

/// One table of the filter: a bitmap over 16-bit keys of the text's folded bytes at a
/// position, and the keywords anchored under each key (grouped in 4,096 buckets).
struct AnchorTable {
    bits: Box<[u64; 1024]>,
    /// Bucket `k >> 4` holds `entries[starts[k >> 4]..starts[(k >> 4) + 1]]`.
    starts: Box<[u32; BUCKETS + 1]>,
    /// Sorted by key.
    entries: Vec<Anchored>,
}

impl AnchorTable {
    fn new(mut entries: Vec<(u16, Anchored)>) -> AnchorTable {
        entries.sort_by_key(|e| e.0);
        let mut bits = Box::new([0u64; 1024]);
        let mut starts: Box<[u32; BUCKETS + 1]> = vec![0u32; BUCKETS + 1]
            .into_boxed_slice()
            .try_into()
            .expect("the table's length");
        for &(key, _) in &entries {
            set_bit(&mut bits, key);
            starts[usize::from(key >> 4) + 1] += 1;
        }
        for b in 0..BUCKETS {
            starts[b + 1] += starts[b];
        }
        AnchorTable {
            bits,
            starts,
            entries: entries.into_iter().map(|(_, a)| a).collect(),
        }
    }

    fn hit(&self, key: u16) -> bool {
        test_bit(&self.bits, key)
    }

    /// The keywords anchored in the bucket of `key`, among them those anchored under `key`:
    /// the caller compares anchor words, which tells them apart.
    fn bucket(&self, key: u16) -> &[Anchored] {
        let b = usize::from(key >> 4);
        self.entries
            .get(self.starts[b] as usize..self.starts[b + 1] as usize)
            .unwrap_or_default()
    }
}

/// Whether the text's folded bytes at `start` may begin a keyword with `head` (its first
/// eight bytes folded, and their mask): one comparison rejects most candidates. Near the
/// end of the text, where eight bytes are not there, the full comparison decides.
#[inline]
fn head_fits(hay: &[u8], start: usize, (head, mask): (u64, u64)) -> bool {
    hay.get(start..start + 8).is_none_or(|eight| {
        let x = u64::from_le_bytes(eight.try_into().expect("eight bytes")) | FOLD8;
        x & mask == head
    })
}

/// Buckets of an [`AnchorTable`].
const BUCKETS: usize = 1 << 12;

/// The filter: keywords of five bytes or more are anchored by a hash of their rarest five
/// bytes (`longs`), of four or three bytes by a hash of all of them (`quads`, `triples`),
/// of one or two bytes by their first byte (`short_ids`, grouped by folded first byte).
struct AnchorFilter {
    /// The first stage: bucket masks by byte pair (see [`PairStage`]).
    pairs: PairStage,
    /// Per keyword: its first eight bytes folded, and the mask of those it has, to reject
    /// most candidates with one comparison.
    heads: Vec<(u64, u64)>,
    longs: AnchorTable,
    quads: AnchorTable,
    triples: AnchorTable,
    /// Keyword ids of the short keywords starting with folded byte `b`:
    /// `short_ids[short_starts[b]..short_starts[b + 1]]`.
    short_starts: Box<[u32; 257]>,
    short_ids: Vec<u32>,
}

/// The key of an anchor's folded bytes in its [`AnchorTable`].
fn anchor_key(word: u64) -> u16 {
    // Fibonacci hashing: the top 16 bits of the product mix all the bytes.
    (word.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48) as u16
}

fn test_bit(map: &[u64; 1024], key: u16) -> bool {
    let k = usize::from(key);
    (map[k >> 6] >> (k & 63)) & 1 != 0
}

fn set_bit(map: &mut [u64; 1024], key: u16) {
    let k = usize::from(key);
    map[k >> 6] |= 1 << (k & 63);
}

/// A keyword's first eight bytes folded, and the mask of those it has.
fn head_of(kw: &[u8]) -> (u64, u64) {
    let n = kw.len().min(8);
    let mut b = [0u8; 8];
    b[..n].copy_from_slice(&kw[..n]);
    let mask = u64::MAX >> (8 * (8 - n));
    ((u64::from_le_bytes(b) | FOLD8) & mask, mask)
}

/// The `len` bytes (at most eight) of `hay` at `i`, folded, as a little-endian word; bytes
/// past the text's end read as a folded zero.
#[inline]
fn folded_at(hay: &[u8], i: usize, len: usize) -> u64 {
    let mask = u64::MAX >> (8 * (8 - len));
    if let Some(eight) = hay.get(i..i + 8) {
        return (u64::from_le_bytes(eight.try_into().expect("eight bytes")) | FOLD8) & mask;
    }
    let mut b = [0u8; 8];
    let avail = &hay[i..hay.len().min(i + len)];
    b[..avail.len()].copy_from_slice(avail);
    (u64::from_le_bytes(b) | FOLD8) & mask
}

/// How often a byte of a lowercased keyword is expected in ordinary text, in rough parts
/// per thousand (English letter frequencies; space most of all; other bytes rare).
fn byte_weight(b: u8) -> u64 {
    const LETTERS: [u64; 26] = [
        82, 15, 28, 43, 127, 22, 20, 61, 70, 2, 8, 40, 24, 67, 75, 19, 1, 60, 63, 91, 28, 10, 24,
        2, 20, 1,
    ];
    match b {
        b' ' => 180,
        b'a'..=b'z' => LETTERS[usize::from(b - b'a')],
        b'.' | b',' | b'\n' => 10,
        b'0'..=b'9' | b'-' | b'\'' | b'"' => 5,
        0x80.. => 4,
        _ => 1,
    }
}

/// The most frequent English letter pairs: a window holding one is less selective than its
/// letters' frequencies say.
const COMMON_PAIRS: [&[u8; 2]; 40] = [
    b"th", b"he", b"in", b"er", b"an", b"re", b"on", b"at", b"en", b"nd", b"ti", b"es", b"or",
    b"te", b"of", b"ed", b"is", b"it", b"al", b"ar", b"st", b"to", b"nt", b"ng", b"se", b"ha",
    b"as", b"ou", b"io", b"le", b"ve", b"co", b"me", b"de", b"hi", b"ri", b"ro", b"ic", b"ne",
    b"ea",
];

/// Expected frequency of `gram` in ordinary text, up to a constant: lower is rarer.
fn commonness(gram: &[u8]) -> u64 {
    let mut score: u64 = gram.iter().map(|&b| byte_weight(b)).product();
    for pair in gram.windows(2) {
        if COMMON_PAIRS.iter().any(|c| c.as_slice() == pair) {
            score = score.saturating_mul(4);
        }
    }
    score
}

/// The offset of the rarest `len`-byte window of `kw` (`kw.len() >= len`).
fn rarest_window(kw: &[u8], len: usize) -> usize {
    (0..=kw.len() - len)
        .min_by_key(|&o| commonness(&kw[o..o + len]))
        .unwrap_or(0)
}

/// The byte classes of the pair stage: ASCII letters (either case), digits, space, newline,
/// `.` and `,` each have their own; other bytes share the remaining 24 classes by value.
/// Classes that are shared only let more positions through to the tables.
const PAIR_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        t[b] = match byte {
            b'a'..=b'z' => byte - b'a',
            b'A'..=b'Z' => byte - b'A',
            b'0'..=b'9' => 26 + byte - b'0',
            b' ' => 36,
            b'\n' => 37,
            b'.' => 38,
            b',' => 39,
            _ => 40 + byte % 24,
        };
        b += 1;
    }
    t
};

/// Byte classes, so a pair of classes indexes a table of 4,096.
const PAIR_CLASSES: usize = 64;

/// The filter's first stage, a shift-or over byte pairs in the manner of Hyperscan's FDR.
///
/// Keywords are spread over 32 buckets. For a keyword's five-byte anchor `abcde`, the entry
/// of the pair `ab` clears the keyword's bucket bit in lane 0 of its mask, `bc` in lane 1,
/// `cd` in lane 2 and `de` in lane 3 (lanes are 32 bits, so four fill a `u128`). The scan
/// shifts a state left by a lane per byte and ors in the mask of the pair that ends there,
/// so lane 3 of the state holds, per bucket, a clear bit when the last four pairs fit the
/// bucket's anchors: the position may end an anchor. Shorter keywords use buckets of their
/// own, with the lanes before their first pair clear for every pair. One table read and two
/// operations a byte; clear bits are rare in ordinary text, and only then do the anchor
/// tables run. Anchors of five bytes are rarer in text than anchors of four (`from` is
/// common, `from ` less so), and 32 buckets hold fewer anchors each than the 21 that three
/// lanes of a `u64` would: on English prose 61% fewer positions pass.
struct PairStage {
    /// Bucket masks by the two bytes that end at a position, read from the text as a
    /// little-endian `u16` (`previous | current << 8`): built over pairs of byte classes
    /// and spread to every pair of bytes (1 MiB), so the scan reads one table a byte.
    /// Ordinary text touches a small part of it: the pairs that end in one byte lie together.
    masks: Box<[state::State; BYTE_PAIRS]>,
}

/// Entries of [`PairStage::masks`]: one per pair of bytes.
const BYTE_PAIRS: usize = 1 << 16;

/// Bits of a lane: one per bucket.
const LANE: u32 = 32;
/// Lanes of a state: one per byte pair of an anchor.
const LANES: u32 = 4;
/// Bytes of the anchors of long keywords.
const ANCHOR: usize = LANES as usize + 1;
const _: () = assert!(
    BYTE_BUCKET + 1 == LANE as u64 && LANE * LANES == u128::BITS,
    "the buckets fill a lane, the lanes a state"
);

/// Buckets 0-25 hold keywords of five bytes or more, 26-28 of four, 29-30 of three, 31 of
/// one or two. The more buckets the anchors of five bytes are spread over, the fewer
/// anchors each bucket's lanes let through, and the fewer positions of ordinary text pass
/// the stage.
const LONG_BUCKETS: u64 = 26;
/// The first bucket of four-byte keywords.
const FOUR_BYTE_BUCKET: u64 = LONG_BUCKETS;
/// The first bucket of three-byte keywords.
const THREE_BYTE_BUCKET: u64 = FOUR_BYTE_BUCKET + 3;
/// The bucket of one- and two-byte keywords, the lane's last: they are few, and those of
/// one byte mostly searched apart.
const BYTE_BUCKET: u64 = THREE_BYTE_BUCKET + 2;

impl PairStage {
    /// The stage over `patterns`, leaving out those of one byte if `bytes_apart`.
    fn build(patterns: &[Box<[u8]>], bytes_apart: bool) -> PairStage {
        let mut masks: Box<[u128; PAIR_CLASSES * PAIR_CLASSES]> =
            vec![u128::MAX; PAIR_CLASSES * PAIR_CLASSES]
                .into_boxed_slice()
                .try_into()
                .expect("the table's length");
        let class = |b: u8| usize::from(PAIR_CLASS[usize::from(b)]);
        // Clears `bucket` in `lane` for the pairs `(x, y)` that `x`, `y` allow (`None`:
        // any byte; a lane clear for every pair is cleared once).
        let mut all_clear = 0u128;
        let mut clear = |lane: u32, bucket: u64, x: Option<u8>, y: Option<u8>| {
            let bit = 1u128 << (LANE * lane + u32::try_from(bucket).expect("32 buckets"));
            let firsts = x.map_or(0..PAIR_CLASSES, |x| class(x)..class(x) + 1);
            match y {
                Some(y) => {
                    for first in firsts {
                        masks[first | class(y) << 6] &= !bit;
                    }
                }
                None if all_clear & bit == 0 => {
                    all_clear |= bit;
                    for mask in &mut *masks {
                        *mask &= !bit;
                    }
                }
                None => {}
            }
        };
        // Anchors in the order of their bytes' classes (letters, then digits, space and
        // punctuation; bytes that share a class side by side), cut into runs of equal
        // size: the anchors of a bucket then share leading classes, so each lane allows
        // few pairs.
        let mut anchors: Vec<&[u8]> = patterns
            .iter()
            .filter(|kw| kw.len() >= ANCHOR)
            .map(|kw| {
                let o = rarest_window(kw, ANCHOR);
                &kw[o..o + ANCHOR]
            })
            .collect();
        anchors.sort_unstable_by_key(|a| {
            let classes: [u8; ANCHOR] = std::array::from_fn(|k| PAIR_CLASS[usize::from(a[k])]);
            (classes, *a)
        });
        anchors.dedup();
        for (rank, a) in anchors.iter().enumerate() {
            let bucket = (rank as u64 * LONG_BUCKETS) / anchors.len() as u64;
            for lane in 0..LANES {
                let k = lane as usize;
                clear(lane, bucket, Some(a[k]), Some(a[k + 1]));
            }
        }
        for kw in patterns {
            // A keyword of `n` bytes fills the last `n - 1` lanes with its pairs; the lane
            // before them takes any byte before its first, and earlier lanes anything.
            let bucket = match kw.len() {
                0 | ANCHOR.. => continue,
                1 if bytes_apart => continue,
                1 | 2 => BYTE_BUCKET,
                // Split by the sum of the bytes, which spreads alike keywords (`sin`,
                // `ssn`, `sms`) better than their first byte does.
                n => {
                    let sum: u64 = kw.iter().map(|&b| u64::from(b)).sum();
                    if n == 4 {
                        FOUR_BYTE_BUCKET + sum % 3
                    } else {
                        THREE_BYTE_BUCKET + sum % 2
                    }
                }
            };
            let first = LANES + 1 - u32::try_from(kw.len()).expect("a short keyword");
            for lane in 0..first - 1 {
                clear(lane, bucket, None, None);
            }
            clear(first - 1, bucket, None, Some(kw[0]));
            for (k, pair) in kw.windows(2).enumerate() {
                let lane = first + u32::try_from(k).expect("a short keyword");
                clear(lane, bucket, Some(pair[0]), Some(pair[1]));
            }
        }
        let masks = (0..BYTE_PAIRS)
            .map(|pair| {
                let [first, second] = u16::try_from(pair).expect("16 bits").to_le_bytes();
                state::from_bits(masks[class(first) | class(second) << 6])
            })
            .collect::<Box<[state::State]>>()
            .try_into()
            .expect("the table's length");
        PairStage { masks }
    }

    /// Bucket bits of keywords of five bytes or more.
    const LONG: u32 = (1 << LONG_BUCKETS) - 1;
    /// Bucket bits of four-byte keywords.
    const FOUR_BYTES: u32 = 0b111 << FOUR_BYTE_BUCKET;
    /// Bucket bits of three-byte keywords.
    const THREE_BYTES: u32 = 0b11 << THREE_BYTE_BUCKET;
    /// Bucket bit of one- and two-byte keywords.
    const BYTES: u32 = 1 << BYTE_BUCKET;

    /// The buckets a state (or the AND of several) leaves clear in its last lane, as set
    /// bits.
    fn buckets(state: state::State) -> u32 {
        !state::last_lane(state)
    }
}

/// The pair stage's state: four lanes of 32 bits, as a `u128` (lane 0 in the low bits).
/// This is the reference; on x86-64 the scan uses [`sse2`].
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
mod portable {
    use super::{LANE, LANES};

    /// A state, or a mask of the table.
    pub(super) type State = u128;

    /// The state whose lanes are those of `bits`.
    pub(super) fn from_bits(bits: u128) -> State {
        bits
    }

    /// The state after one more byte: shifted a lane up, with the next pair's mask.
    #[inline]
    pub(super) fn step(state: State, mask: State) -> State {
        (state << LANE) | mask
    }

    /// The state after the masks of four bytes, from them alone (a state holds four).
    #[inline]
    pub(super) fn last_of([m0, m1, m2, m3]: [State; 4]) -> State {
        m0 << (3 * LANE) | m1 << (2 * LANE) | m2 << LANE | m3
    }

    /// The lanes clear in either state clear.
    #[inline]
    pub(super) fn and(a: State, b: State) -> State {
        a & b
    }

    /// The last lane.
    #[inline]
    pub(super) fn last_lane(state: State) -> u32 {
        (state >> ((LANES - 1) * LANE)) as u32
    }
}

/// [`portable`] in an SSE2 register: the shift by a lane is one byte shift of the register
/// (a `u128` in two general registers takes several instructions for it, and the scan ran
/// at two-thirds the speed).
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cvtsi128_si32, _mm_or_si128, _mm_set_epi64x, _mm_slli_si128,
        _mm_srli_si128,
    };

    /// See [`super::portable::State`].
    pub(super) type State = __m128i;

    /// See [`super::portable::from_bits`].
    pub(super) fn from_bits(bits: u128) -> State {
        // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 CPU has it. The casts
        // split the bits into halves.
        #[allow(unsafe_code)]
        unsafe {
            _mm_set_epi64x((bits >> 64) as i64, bits as i64)
        }
    }

    /// See [`super::portable::step`].
    #[inline]
    pub(super) fn step(state: State, mask: State) -> State {
        // SAFETY: as in `from_bits`.
        #[allow(unsafe_code)]
        unsafe {
            _mm_or_si128(_mm_slli_si128::<4>(state), mask)
        }
    }

    /// See [`super::portable::last_of`].
    #[inline]
    pub(super) fn last_of([m0, m1, m2, m3]: [State; 4]) -> State {
        // SAFETY: as in `from_bits`.
        #[allow(unsafe_code)]
        unsafe {
            _mm_or_si128(
                _mm_or_si128(_mm_slli_si128::<12>(m0), _mm_slli_si128::<8>(m1)),
                _mm_or_si128(_mm_slli_si128::<4>(m2), m3),
            )
        }
    }

    /// See [`super::portable::and`].
    #[inline]
    pub(super) fn and(a: State, b: State) -> State {
        // SAFETY: as in `from_bits`.
        #[allow(unsafe_code)]
        unsafe {
            _mm_and_si128(a, b)
        }
    }

    /// See [`super::portable::last_lane`].
    #[inline]
    pub(super) fn last_lane(state: State) -> u32 {
        // SAFETY: as in `from_bits`.
        #[allow(unsafe_code)]
        let lane = unsafe { _mm_cvtsi128_si32(_mm_srli_si128::<12>(state)) };
        u32::from_ne_bytes(lane.to_ne_bytes())
    }
}

#[cfg(not(target_arch = "x86_64"))]
use portable as state;
#[cfg(target_arch = "x86_64")]
use sse2 as state;

impl AnchorFilter {
    /// The filter over `patterns`, leaving out those of one byte if `bytes_apart`.
    fn build(patterns: &[Box<[u8]>], bytes_apart: bool) -> AnchorFilter {
        let (mut longs, mut quads, mut triples) = (Vec::new(), Vec::new(), Vec::new());
        let mut shorts: Vec<(u8, u32)> = Vec::new();
        for (id, kw) in patterns.iter().enumerate() {
            let pattern = u32::try_from(id).expect("fewer than 2^32 keywords");
            let anchored = |offset: usize, len: usize| {
                let word = folded_at(&kw[offset..offset + len], 0, len);
                let entry = Anchored {
                    pattern,
                    offset: u32::try_from(offset).expect("keywords under 4 GiB"),
                    word,
                    head: head_of(kw),
                };
                (anchor_key(word), entry)
            };
            match kw.len() {
                0 => {}
                1 if bytes_apart => {}
                1 | 2 => shorts.push((kw[0] | 0x20, pattern)),
                3 => triples.push(anchored(0, 3)),
                4 => quads.push(anchored(0, 4)),
                _ => longs.push(anchored(rarest_window(kw, ANCHOR), ANCHOR)),
            }
        }
        shorts.sort_unstable();
        let mut short_starts = Box::new([0u32; 257]);
        for &(b, _) in &shorts {
            short_starts[usize::from(b) + 1] += 1;
        }
        for b in 0..256 {
            short_starts[b + 1] += short_starts[b];
        }
        let heads = patterns.iter().map(|kw| head_of(kw)).collect();
        AnchorFilter {
            heads,
            pairs: PairStage::build(patterns, bytes_apart),
            longs: AnchorTable::new(longs),
            quads: AnchorTable::new(quads),
            triples: AnchorTable::new(triples),
            short_starts,
            short_ids: shorts.into_iter().map(|(_, id)| id).collect(),
        }
    }

    /// The keywords of one or two bytes that start with folded byte `b`.
    fn shorts(&self, b: u8) -> &[u32] {
        let b = usize::from(b);
        &self.short_ids[self.short_starts[b] as usize..self.short_starts[b + 1] as usize]
    }
}

impl KeywordIndex {
    /// The index over `keywords` (non-empty strings; matched ignoring ASCII case).
    pub(crate) fn build(keywords: &[String]) -> Result<KeywordIndex, String> {
        let patterns: Vec<Box<[u8]>> = keywords
            .iter()
            .map(|k| k.to_ascii_lowercase().into_bytes().into_boxed_slice())
            .collect();
        let filtered = patterns.len() <= MAX_FILTERED;
        let bytes = filtered.then(|| ByteKeywords::build(&patterns)).flatten();
        let index = KeywordIndex {
            filter: filtered.then(|| AnchorFilter::build(&patterns, bytes.is_some())),
            bytes,
            patterns,
            automaton: OnceLock::new(),
        };
        if index.filter.is_none() {
            let ac = index.build_automaton()?;
            let _ = index.automaton.set(Some(ac));
        }
        Ok(index)
    }

    fn build_automaton(&self) -> Result<AhoCorasick, String> {
        // The DFA for lists of a few thousand: it only sees the texts dense with keyword
        // bytes, where it scans 1.2-2x faster than the contiguous NFA (side by side over
        // English chat, docs and Chinese); its build (about 12 ms over the default packs)
        // is paid once per process, on first need. Huge user term lists get
        // aho-corasick's own choice.
        let kind = (self.patterns.len() <= MAX_FILTERED).then_some(AhoCorasickKind::DFA);
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(&self.patterns)
            .map_err(|e| e.to_string())
    }

    /// Builds the automaton now rather than on the first text the filter hands over.
    pub(crate) fn warm_up(&self) {
        self.automaton();
    }

    fn automaton(&self) -> Option<&AhoCorasick> {
        self.automaton
            .get_or_init(|| self.build_automaton().ok())
            .as_ref()
    }

    /// Calls `f` with every occurrence in `hay`, ordered by end, then start, then pattern
    /// id. `buf` holds the filter's matches (it is left empty, and keeps at most a modest
    /// capacity); a text handed to the automaton is streamed from it, so a dense 16 MiB
    /// input (a digit per byte) is never held as a list of matches.
    pub(crate) fn with_matches<R>(
        &self,
        hay: &[u8],
        buf: &mut Vec<KeywordHit>,
        f: impl FnOnce(&mut dyn Iterator<Item = KeywordHit>) -> R,
    ) -> R {
        /// Matches a kept buffer may hold room for (24 bytes each).
        const KEPT_CAPACITY: usize = 1 << 16;
        buf.clear();
        let result = match self.search(hay, 0, buf) {
            Err(ac) => f(&mut ac
                .find_overlapping_iter(hay)
                .map(|m| KeywordHit::from_match(&m, 0))),
            Ok(split) => {
                let (bytes, filtered) = buf.split_at(split);
                f(&mut Merged {
                    a: filtered.iter().copied().peekable(),
                    b: bytes.iter().copied().peekable(),
                })
            }
        };
        buf.clear();
        if buf.capacity() > KEPT_CAPACITY {
            *buf = Vec::new();
        }
        result
    }

    /// Appends every occurrence in `hay` to `out`, with spans moved by `offset`, ordered by
    /// end, then start, then pattern id.
    pub(crate) fn find_all(&self, hay: &[u8], offset: usize, out: &mut Vec<KeywordHit>) {
        let first = out.len();
        match self.search(hay, offset, out) {
            // The automaton reports by end, and at one end the longer match first: the
            // same order.
            Err(ac) => out.extend(
                ac.find_overlapping_iter(hay)
                    .map(|m| KeywordHit::from_match(&m, offset)),
            ),
            Ok(split) if split > first && split < out.len() => {
                out[first..].sort_unstable_by_key(hit_order);
            }
            Ok(_) => {}
        }
    }

    /// Appends the matches in `hay` to `out`: first the one-byte keywords' (when they are
    /// apart), then the filter's, each part sorted, and returns where the second part
    /// starts. When either needs more work than the filter's budget (about one match or
    /// comparison per `FILTER_RATIO` bytes read), leaves `out` as it was and returns the
    /// automaton (built now if this is its first text), whose matches the caller takes:
    /// over text that dense it is faster.
    fn search(
        &self,
        hay: &[u8],
        offset: usize,
        out: &mut Vec<KeywordHit>,
    ) -> Result<usize, &AhoCorasick> {
        let first = out.len();
        let bytes_kept = self.byte_hits(hay, offset, out, true);
        let mut split = out.len();
        let kept = bytes_kept
            && match &self.filter {
                Some(filter) => self.filter_scan(filter, hay, offset, out),
                None => false,
            };
        if !kept {
            out.truncate(first);
            if let Some(ac) = self.automaton() {
                return Err(ac);
            }
            // The automaton failed to build (it cannot for a filtered list of this size in
            // practice): the filter finishes the job, only slower.
            self.byte_hits(hay, offset, out, false);
            split = out.len();
            if let Some(filter) = &self.filter {
                self.filter_scan_unbounded(filter, hay, offset, out);
            }
        }
        if !out[split..].is_sorted_by_key(hit_order) {
            out[split..].sort_unstable_by_key(hit_order);
        }
        Ok(split)
    }

    /// Appends the one-byte keywords' matches in `hay` to `out` when they are apart from
    /// the filter, in order; `false` (with some appended) once they outnumber the filter's
    /// budget for the bytes read so far (unless `bounded` is `false`).
    fn byte_hits(
        &self,
        hay: &[u8],
        offset: usize,
        out: &mut Vec<KeywordHit>,
        bounded: bool,
    ) -> bool {
        let Some(bytes) = &self.bytes else {
            return true;
        };
        let first = out.len();
        for hit in bytes.hits(hay, offset) {
            let read = hit.end - offset;
            if bounded && out.len() - first > read / FILTER_RATIO + FILTER_SLACK {
                return false;
            }
            out.push(hit);
        }
        true
    }

    /// The filtered scan; `false` when it gave up (too many comparisons) for the automaton.
    fn filter_scan(
        &self,
        filter: &AnchorFilter,
        hay: &[u8],
        offset: usize,
        out: &mut Vec<KeywordHit>,
    ) -> bool {
        let mut work = 0usize;
        self.scan_positions(filter, hay, offset, out, |i, done| {
            work += done;
            work <= i / FILTER_RATIO + FILTER_SLACK
        })
    }

    fn filter_scan_unbounded(
        &self,
        filter: &AnchorFilter,
        hay: &[u8],
        offset: usize,
        out: &mut Vec<KeywordHit>,
    ) {
        self.scan_positions(filter, hay, offset, out, |_, _| true);
    }

    /// Reads every position of `hay`; at each one the bitmaps let through, compares the
    /// keywords anchored there and tells `go_on` the position and the comparisons made.
    /// Stops (returns `false`) when `go_on` says so.
    fn scan_positions(
        &self,
        filter: &AnchorFilter,
        hay: &[u8],
        offset: usize,
        out: &mut Vec<KeywordHit>,
        go_on: impl FnMut(usize, usize) -> bool,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked above.
            #[allow(unsafe_code)]
            return unsafe { self.scan_positions_avx2(filter, hay, offset, out, go_on) };
        }
        self.scan_positions_inline(filter, hay, offset, out, go_on)
    }

    /// [`KeywordIndex::scan_positions`] compiled for CPUs with AVX2: the same code, whose
    /// SSE2 operations then take the three-operand encoding and need no register copies
    /// (prose 1.04× side by side).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn scan_positions_avx2(
        &self,
        filter: &AnchorFilter,
        hay: &[u8],
        offset: usize,
        out: &mut Vec<KeywordHit>,
        go_on: impl FnMut(usize, usize) -> bool,
    ) -> bool {
        self.scan_positions_inline(filter, hay, offset, out, go_on)
    }

    /// See [`KeywordIndex::scan_positions`]; inlined into each caller, so that the AVX2 copy
    /// is compiled with AVX2.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn scan_positions_inline(
        &self,
        filter: &AnchorFilter,
        hay: &[u8],
        offset: usize,
        out: &mut Vec<KeywordHit>,
        mut go_on: impl FnMut(usize, usize) -> bool,
    ) -> bool {
        let scan = Scan {
            index: self,
            filter,
            hay,
            offset,
            first: out.len(),
        };
        let masks = &*filter.pairs.masks;
        let pair_at = |pair: [u8; 2]| masks[usize::from(u16::from_le_bytes(pair))];
        let mut visit = |end: usize, state: state::State| {
            let buckets = PairStage::buckets(state);
            buckets != 0 && !go_on(end, scan.check(end, buckets, out))
        };
        // The first byte pairs with a zero byte before the text.
        let Some(&b) = hay.first() else {
            return true;
        };
        let mut state = pair_at([0, b]);
        if visit(0, state) {
            return false;
        }
        // Four positions at a time (reading the byte before them too): a bucket left clear
        // in any of them shows in their AND. The block's last state is taken from its four
        // masks alone, so the chain of shifts runs within a block and the next block does
        // not wait for it: with the chain from block to block the scan was a fifth slower.
        let mut i = 1;
        for window in hay.windows(5).step_by(4) {
            let m: [state::State; 4] =
                std::array::from_fn(|k| pair_at(window[k..k + 2].try_into().expect("two bytes")));
            let s0 = state::step(state, m[0]);
            let s1 = state::step(s0, m[1]);
            let s2 = state::step(s1, m[2]);
            state = state::last_of(m);
            if PairStage::buckets(state::and(state::and(s0, s1), state::and(s2, state))) != 0 {
                for (k, &state) in [s0, s1, s2, state].iter().enumerate() {
                    if visit(i + k, state) {
                        return false;
                    }
                }
            }
            i += 4;
        }
        while i < hay.len() {
            state = state::step(state, pair_at([hay[i - 1], hay[i]]));
            if visit(i, state) {
                return false;
            }
            i += 1;
        }
        true
    }
}

/// What the filter's steps at one position share during a scan: the index, the text, the
/// offset its spans move by, and where this scan's matches begin in the output.
#[derive(Clone, Copy)]
struct Scan<'a> {
    index: &'a KeywordIndex,
    filter: &'a AnchorFilter,
    hay: &'a [u8],
    offset: usize,
    first: usize,
}

impl Scan<'_> {
    /// Compares the keywords whose anchors may end at `end` (the pair stage left `buckets`
    /// clear there); the number compared. Anchors of five bytes come first: they are most
    /// of what ordinary text lets through.
    #[inline(never)]
    fn check(&self, end: usize, buckets: u32, out: &mut Vec<KeywordHit>) -> usize {
        let mut compared = 0;
        if buckets & PairStage::LONG != 0 && end >= ANCHOR - 1 {
            compared += self.check_anchors(&self.filter.longs, end + 1 - ANCHOR, ANCHOR, out);
        }
        if buckets & !PairStage::LONG != 0 {
            compared += self.check_short(end, buckets, out);
        }
        compared
    }

    /// Compares the keywords of `table` whose anchor of `len` bytes may start at `at`; the
    /// number compared.
    #[inline]
    fn check_anchors(
        &self,
        table: &AnchorTable,
        at: usize,
        len: usize,
        out: &mut Vec<KeywordHit>,
    ) -> usize {
        let word = folded_at(self.hay, at, len);
        let key = anchor_key(word);
        if !table.hit(key) {
            return 0;
        }
        let mut compared = 0;
        for a in table.bucket(key) {
            if a.word == word
                && let Some(start) = at.checked_sub(a.offset as usize)
            {
                compared += 1;
                if head_fits(self.hay, start, a.head) {
                    self.compare(a.pattern, start, out);
                }
            }
        }
        compared
    }

    /// [`Scan::check`] for keywords of one to four bytes.
    #[inline(never)]
    fn check_short(&self, end: usize, buckets: u32, out: &mut Vec<KeywordHit>) -> usize {
        let Scan {
            index, filter, hay, ..
        } = *self;
        let mut compared = 0;
        if buckets & PairStage::FOUR_BYTES != 0 && end >= 3 {
            compared += self.check_anchors(&filter.quads, end - 3, 4, out);
        }
        if buckets & PairStage::THREE_BYTES != 0 && end >= 2 {
            compared += self.check_anchors(&filter.triples, end - 2, 3, out);
        }
        if buckets & PairStage::BYTES != 0 {
            let mut try_one = |pattern: u32, start: usize| {
                compared += 1;
                if head_fits(hay, start, filter.heads[pattern as usize]) {
                    self.compare(pattern, start, out);
                }
            };
            for &id in filter.shorts(hay[end] | 0x20) {
                if index.patterns[id as usize].len() == 1 {
                    try_one(id, end);
                }
            }
            if end >= 1 {
                for &id in filter.shorts(hay[end - 1] | 0x20) {
                    if index.patterns[id as usize].len() == 2 {
                        try_one(id, end - 1);
                    }
                }
            }
        }
        compared
    }

    /// Compares keyword `pattern` with the text at `start` (its head fits, see
    /// [`head_fits`]), and inserts the match if it is one.
    #[inline(never)]
    fn compare(&self, pattern: u32, start: usize, out: &mut Vec<KeywordHit>) {
        let Scan {
            index,
            hay,
            offset,
            first,
            ..
        } = *self;
        let kw = &index.patterns[pattern as usize];
        let end = start + kw.len();
        if hay
            .get(start..end)
            .is_some_and(|s| s.eq_ignore_ascii_case(kw))
        {
            insert_in_order(
                out,
                first,
                KeywordHit {
                    pattern,
                    start: offset + start,
                    end: offset + end,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_automaton(keywords: &[&str], hay: &str) -> Vec<KeywordHit> {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(keywords)
            .unwrap();
        let mut hits: Vec<KeywordHit> = ac
            .find_overlapping_iter(hay)
            .map(|m| KeywordHit::from_match(&m, 0))
            .collect();
        hits.sort_unstable_by_key(|h| (h.end, h.start, h.pattern));
        hits
    }

    fn index_of(keywords: &[&str]) -> KeywordIndex {
        let list: Vec<String> = keywords.iter().map(|k| (*k).to_owned()).collect();
        KeywordIndex::build(&list).unwrap()
    }

    /// The matches `with_matches` streams for `hay`, and the buffer it leaves.
    fn streamed(index: &KeywordIndex, hay: &str) -> (Vec<KeywordHit>, Vec<KeywordHit>) {
        let mut buf = Vec::new();
        let hits = index.with_matches(hay.as_bytes(), &mut buf, |it| it.collect::<Vec<_>>());
        (hits, buf)
    }

    fn by_index(keywords: &[&str], hay: &str) -> Vec<KeywordHit> {
        let index = index_of(keywords);
        let mut out = Vec::new();
        index.find_all(hay.as_bytes(), 0, &mut out);
        out
    }

    #[test]
    fn filter_finds_what_the_automaton_finds() {
        let keywords = [
            "-",
            ":",
            "@",
            "0",
            "ab",
            "sin",
            "tel",
            "ignore previous",
            "password",
            "AKIA",
            "系统",
            "ß",
            "-----BEGIN",
            "passw",
            "sys:",
            "bcde",
            "abcdef",
        ];
        for hay in [
            "",
            "a",
            "ab",
            "-",
            "sys:",
            "bcde",
            "abcdef",
            "xABCDEFbcdesys:abcde",
            "using a password: IGNORE PREVIOUS and Passw0rd @ 10:30",
            "x-----begin RSA-----BEGIN akia AKIAIOSFODNN7EXAMPLE",
            "系统提示 系统 ß ss tel:+1 Telephone single basin sin",
            "ab:ab-ab@ab0",
        ] {
            assert_eq!(
                by_index(&keywords, hay),
                by_automaton(&keywords, hay),
                "{hay:?}"
            );
        }
    }

    #[test]
    fn dense_text_goes_to_the_automaton_with_the_same_result() {
        // A keyword byte at every position: the comparisons outrun the bytes read.
        let keywords = ["-", "--", "---", "----x"];
        let hay = "-".repeat(20_000) + "----x";
        let index = index_of(&keywords);
        let filter = index.filter.as_ref().unwrap();
        let mut probe = Vec::new();
        assert!(!index.filter_scan(filter, hay.as_bytes(), 0, &mut probe));
        assert_eq!(by_index(&keywords, &hay), by_automaton(&keywords, &hay));
    }

    #[test]
    fn streamed_matches_equal_collected_ones() {
        let keywords = ["-", "--", "ab", "passw"];
        let index = index_of(&keywords);
        // A clean text stays with the filter, a dense one goes to the automaton.
        for hay in ["an ab and a passw0rd".to_owned(), "-".repeat(50_000)] {
            let (streamed, buf) = streamed(&index, &hay);
            assert_eq!(streamed, by_automaton(&keywords, &hay));
            assert!(buf.is_empty() && buf.capacity() <= 1 << 16);
        }
        // The dense text was the first to need the automaton.
        assert!(index.automaton.get().is_some());
        let fresh = index_of(&keywords);
        fresh.with_matches(b"an ab and a passw0rd", &mut Vec::new(), |it| it.count());
        assert!(
            fresh.automaton.get().is_none(),
            "a clean text built the automaton"
        );
    }

    /// Reads a state's lanes (lane 0 first) through its last lane, shifting each up.
    fn lanes(state: state::State) -> [u32; 4] {
        let zero = state::from_bits(0);
        let mut state = state;
        let mut out = [0; 4];
        for k in (0..4).rev() {
            out[k] = state::last_lane(state);
            state = state::step(state, zero);
        }
        out
    }

    proptest::proptest! {
        /// The state the scan uses (SSE2 on x86-64) steps as the `u128` reference does, and
        /// a block's last state from its four masks alone is the state after four steps
        /// from any state.
        #[test]
        fn states_step_as_the_reference(
            start: u128,
            masks: [u128; 4],
        ) {
            let mut state = state::from_bits(start);
            let mut reference = portable::from_bits(start);
            for &mask in &masks {
                state = state::step(state, state::from_bits(mask));
                reference = portable::step(reference, mask);
                proptest::prop_assert_eq!(state::last_lane(state), portable::last_lane(reference));
            }
            let expected: [u32; 4] = std::array::from_fn(|k| (reference >> (32 * k)) as u32);
            proptest::prop_assert_eq!(lanes(state), expected);
            proptest::prop_assert_eq!(lanes(state::last_of(masks.map(state::from_bits))), expected);
            proptest::prop_assert_eq!(portable::last_of(masks), reference);
            let other = state::from_bits(masks[0]);
            proptest::prop_assert_eq!(
                lanes(state::and(state, other)),
                std::array::from_fn(|k| expected[k] & (masks[0] >> (32 * k)) as u32)
            );
        }

        /// The filter, never handing over to the automaton, and the search for one-byte
        /// keywords (when they are apart) find exactly the automaton's matches, for
        /// keywords of every length class (the pair stage's buckets) and texts in mixed
        /// case, with digits, punctuation and multi-byte characters.
        #[test]
        fn filter_alone_equals_the_automaton(
            keywords in proptest::collection::vec("[abAB0:é -]{1,9}", 1..40),
            hay in "[abcABC0: é\n-]{0,300}",
        ) {
            let list: Vec<String> = keywords.clone();
            let index = KeywordIndex::build(&list).unwrap();
            let mut got = Vec::new();
            index.filter_scan_unbounded(index.filter.as_ref().unwrap(), hay.as_bytes(), 0, &mut got);
            index.byte_hits(hay.as_bytes(), 0, &mut got, false);
            got.sort_unstable_by_key(|h| (h.end, h.start, h.pattern));
            let refs: Vec<&str> = keywords.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(&got, &by_automaton(&refs, &hay));
            // The scan without the AVX2 copy (which this CPU may take above) finds the same.
            let mut plain = Vec::new();
            index.scan_positions_inline(index.filter.as_ref().unwrap(), hay.as_bytes(), 0, &mut plain, |_, _| true);
            index.byte_hits(hay.as_bytes(), 0, &mut plain, false);
            plain.sort_unstable_by_key(|h| (h.end, h.start, h.pattern));
            proptest::prop_assert_eq!(plain, got);
        }
    }

    #[test]
    fn one_byte_keywords_are_searched_apart_and_merged_in_order() {
        let keywords = [":", "-", "@", "x", "::", "key", "fn main"];
        let index = index_of(&keywords);
        assert!(
            index.bytes.is_some(),
            "a packed search takes the one-byte keywords"
        );
        // Source code: one of `:`, `-`, `@` or `x` every 20 or so bytes, which the
        // filter gave up on while it compared them itself.
        let line = "fn main() -> Result { let key = total(values, limit); Ok(key) } // sums X: mail@example.org\n";
        let hay = line.repeat(2_000);
        let filter = index.filter.as_ref().unwrap();
        let mut filtered = Vec::new();
        assert!(index.filter_scan(filter, hay.as_bytes(), 0, &mut filtered));
        assert!(filtered.iter().all(|h| h.end - h.start > 1));
        let (streamed, _) = streamed(&index, &hay);
        assert_eq!(streamed, by_automaton(&keywords, &hay));
        assert!(
            index.automaton.get().is_none(),
            "the text stayed with the filter"
        );
        // `x` is found in both cases, and `find_all` gives the same order.
        assert!(streamed.iter().any(|h| hay.as_bytes()[h.start] == b'X'));
        let mut all = vec![KeywordHit {
            pattern: 9,
            start: 0,
            end: 0,
        }];
        index.find_all(hay.as_bytes(), 0, &mut all);
        assert_eq!(all[1..], streamed[..]);
    }

    #[test]
    fn text_dense_with_one_byte_keywords_goes_to_the_automaton() {
        // A keyword byte in every other position outruns the filter's budget: the search
        // hands the text over, with the same matches, and keeps no list of them.
        let keywords = ["0", "1", ":", "key"];
        let index = index_of(&keywords);
        assert!(index.bytes.is_some());
        let hay = "10:01 key ".repeat(5_000);
        let mut probe = Vec::new();
        assert!(!index.byte_hits(hay.as_bytes(), 0, &mut probe, true));
        assert!(
            probe.len() < 2 * FILTER_SLACK,
            "gave up early: {}",
            probe.len()
        );
        let (streamed, _) = streamed(&index, &hay);
        assert_eq!(streamed, by_automaton(&keywords, &hay));
        assert!(
            index.automaton.get().is_some(),
            "the automaton took the text"
        );
    }

    #[test]
    fn a_one_byte_keyword_listed_twice_stays_with_the_filter() {
        // The automaton reports both ids at each `-`; a packed search would report one.
        let keywords = ["-", "ab", "-"];
        let index = index_of(&keywords);
        assert!(index.bytes.is_none());
        assert_eq!(
            by_index(&keywords, "a-b ab -"),
            by_automaton(&keywords, "a-b ab -")
        );
    }

    #[test]
    fn offsets_move_spans() {
        let list = vec!["key".to_owned()];
        let index = KeywordIndex::build(&list).unwrap();
        let mut out = Vec::new();
        index.find_all(b"a key", 100, &mut out);
        assert_eq!(
            out,
            vec![KeywordHit {
                pattern: 0,
                start: 102,
                end: 105
            }]
        );
    }

    /// Matches found out of order move back into place; one that would move past more than
    /// `MAX_MOVE` others is appended as it is, which the order check before the sort sees.
    #[test]
    fn matches_are_inserted_in_order() {
        let hit = |end: usize, len: usize| KeywordHit {
            pattern: 0,
            start: end - len,
            end,
        };
        let mut out = vec![hit(5, 1)];
        for h in [hit(9, 4), hit(7, 1), hit(8, 1), hit(8, 3), hit(10, 1)] {
            insert_in_order(&mut out, 1, h);
        }
        assert_eq!(out[0], hit(5, 1), "what lies before `first` stays");
        assert!(out.is_sorted_by_key(hit_order));
        assert_eq!(out.len(), 6);

        let mut far = (100..140).map(|end| hit(end, 1)).collect::<Vec<_>>();
        insert_in_order(&mut far, 0, hit(50, 2));
        assert_eq!(far.last(), Some(&hit(50, 2)));
        assert!(!far.is_sorted_by_key(hit_order));
    }

    #[test]
    fn rare_windows_are_chosen() {
        // `z`, `q` and `w` are rarer than `p`, `a`, `s` and `o` in ordinary text.
        assert_eq!(rarest_window(b"passzqword", 4), 3);
        assert_eq!(rarest_window(b"the ai", 4), 2);
    }
}
