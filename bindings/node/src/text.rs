//! Reading text arguments: JS strings (UTF-16 inside V8, UTF-8 for the core) and
//! `Uint8Array`/`Buffer`s of UTF-8.

use napi::bindgen_prelude::{Either, Uint8ArraySlice};
use napi::{JsString, JsStringUtf8};

use crate::error::{Code, Failure, internal};

/// A text argument: a string, or UTF-8 bytes (a `Buffer` or any `Uint8Array`).
pub(crate) type TextArg<'a> = Either<JsString<'a>, Uint8ArraySlice<'a>>;

/// U+FFFD in UTF-8: what V8 writes for an unpaired surrogate.
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// A string argument as UTF-8, refusing unpaired surrogates.
///
/// V8's UTF-8 conversion replaces an unpaired surrogate with U+FFFD, which would hide it
/// from the scan and shift nothing, so it would pass unnoticed. The conversion is one copy;
/// only when the result holds a U+FFFD is the string read again as UTF-16 to tell a real
/// U+FFFD from a replaced surrogate.
pub(crate) fn utf8<'a>(s: JsString<'a>, what: &str) -> Result<JsStringUtf8<'a>, Failure> {
    let utf8 = s.into_utf8().map_err(|e| internal(&e))?;
    if memchr::memmem::find(utf8.as_slice(), REPLACEMENT).is_some() {
        let utf16 = s.into_utf16().map_err(|e| internal(&e))?;
        if let Some(at) = unpaired_surrogate(utf16.as_slice()) {
            return Err(Failure::new(
                Code::Input,
                format!(
                    "{what} has an unpaired UTF-16 surrogate at index {at}; it cannot be \
                     scanned as Unicode text (String.prototype.toWellFormed() replaces \
                     unpaired surrogates with U+FFFD)"
                ),
            ));
        }
    }
    Ok(utf8)
}

/// The borrowed `&str` of a converted string.
pub(crate) fn as_str<'s>(utf8: &'s JsStringUtf8<'_>) -> Result<&'s str, Failure> {
    utf8.as_str().map_err(|e| internal(&e))
}

/// A string argument as an owned `String` (for work that leaves the JS thread).
pub(crate) fn owned(s: JsString<'_>, what: &str) -> Result<String, Failure> {
    utf8(s, what)?.into_owned().map_err(|e| internal(&e))
}

/// The index of the first unpaired surrogate, if any.
pub(crate) fn unpaired_surrogate(units: &[u16]) -> Option<usize> {
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        if (0xD800..0xDC00).contains(&u) {
            if units
                .get(i + 1)
                .is_some_and(|next| (0xDC00..0xE000).contains(next))
            {
                i += 2;
                continue;
            }
            return Some(i);
        }
        if (0xDC00..0xE000).contains(&u) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Bytes given for scanning, as `&str`; invalid UTF-8 is an `INPUT` error.
pub(crate) fn bytes_as_str(bytes: &[u8]) -> Result<&str, Failure> {
    std::str::from_utf8(bytes).map_err(|e| {
        vallum::ScanError::InvalidUtf8 {
            valid_up_to: e.valid_up_to(),
        }
        .into()
    })
}

/// An owned text for async work, remembering which offset unit its report uses.
pub(crate) enum OwnedText {
    /// From a JS string: offsets in UTF-16 code units.
    Utf16(String),
    /// From a `Uint8Array`: offsets in bytes. Copied, so the caller may reuse the buffer
    /// while the scan runs.
    Bytes(Vec<u8>),
}

impl OwnedText {
    pub(crate) fn read(arg: TextArg<'_>, what: &str) -> Result<OwnedText, Failure> {
        Ok(match arg {
            Either::A(s) => OwnedText::Utf16(owned(s, what)?),
            Either::B(bytes) => OwnedText::Bytes(bytes.to_vec()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::unpaired_surrogate;

    #[test]
    fn finds_unpaired_surrogates() {
        let paired: Vec<u16> = "a😀b".encode_utf16().collect();
        assert_eq!(unpaired_surrogate(&paired), None);
        assert_eq!(unpaired_surrogate(&[0x61, 0xD83D]), Some(1));
        assert_eq!(unpaired_surrogate(&[0xDE00, 0x61]), Some(0));
        assert_eq!(unpaired_surrogate(&[0xD83D, 0x61, 0xDE00]), Some(0));
        assert_eq!(unpaired_surrogate(&[0xD83D, 0xDE00, 0xDE00]), Some(2));
        assert_eq!(unpaired_surrogate(&[0xFFFD, 0]), None);
    }
}
