//! Converting byte offsets to the units the bindings report: code points (Python) and
//! UTF-16 code units (JavaScript), in one pass over the text and without re-scanning.

/// A unit of text offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetUnit {
    /// UTF-8 bytes (Rust).
    Byte,
    /// Unicode scalar values (Python `str` indices).
    CodePoint,
    /// UTF-16 code units (JavaScript string indices).
    Utf16,
}

/// Converts byte offsets into `text` (each on a char boundary, at most `text.len()`) to
/// `unit`, in place. Offsets may come in any order; the work is one pass over the prefix
/// of `text` up to the largest offset, plus sorting the offsets.
///
/// ```
/// use vallum::offsets::{OffsetUnit, convert_offsets};
/// let text = "é😀a";
/// let mut offs = [0, 2, 6, 7];
/// convert_offsets(text, &mut offs, OffsetUnit::CodePoint);
/// assert_eq!(offs, [0, 1, 2, 3]);
/// let mut offs = [0, 2, 6, 7];
/// convert_offsets(text, &mut offs, OffsetUnit::Utf16);
/// assert_eq!(offs, [0, 1, 3, 4]);
/// ```
///
/// # Panics
/// If an offset is past the end of `text` or not on a char boundary (spans from a scan of
/// `text` never are).
pub fn convert_offsets(text: &str, offsets: &mut [usize], unit: OffsetUnit) {
    if unit == OffsetUnit::Byte || offsets.is_empty() {
        return;
    }
    let max = offsets.iter().copied().max().unwrap_or(0);
    assert!(
        max <= text.len(),
        "offset {max} is past the end of the text ({} bytes)",
        text.len()
    );
    if text.as_bytes()[..max].is_ascii() {
        return;
    }
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_unstable_by_key(|&i| offsets[i]);
    let mut byte = 0usize;
    let mut units = 0usize;
    let mut chars = text.char_indices();
    for i in order {
        let target = offsets[i];
        while byte < target {
            let (at, c) = chars.next().expect("offset within text");
            debug_assert_eq!(at, byte);
            byte += c.len_utf8();
            units += match unit {
                OffsetUnit::CodePoint => 1,
                OffsetUnit::Utf16 => c.len_utf16(),
                OffsetUnit::Byte => c.len_utf8(),
            };
        }
        assert_eq!(byte, target, "offset {target} is not on a char boundary");
        offsets[i] = units;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn agrees_with_counting(text in "\\PC{0,40}", picks in proptest::collection::vec(any::<prop::sample::Index>(), 0..8)) {
            let bounds: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
            let offs: Vec<usize> = picks.iter().map(|p| bounds[p.index(bounds.len())]).collect();
            let mut cp = offs.clone();
            convert_offsets(&text, &mut cp, OffsetUnit::CodePoint);
            let mut u16s = offs.clone();
            convert_offsets(&text, &mut u16s, OffsetUnit::Utf16);
            for (k, &o) in offs.iter().enumerate() {
                prop_assert_eq!(cp[k], text[..o].chars().count());
                prop_assert_eq!(u16s[k], text[..o].encode_utf16().count());
            }
        }
    }
}
