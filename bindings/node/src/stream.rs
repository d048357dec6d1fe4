//! `OutputStream`: incremental scanning of a streamed answer.

use napi::JsString;
use napi_derive::napi;
use vallum::offsets::{OffsetUnit, convert_offsets};

use crate::error::{Code, Failure, internal};
use crate::report::Report;
use crate::text;

/// Options of `outputStream`.
#[napi(object, object_to_js = false)]
pub struct OutputStreamOptions<'a> {
    /// The prompt or context the answer responds to (for canary tokens, prompt leaks and
    /// hosts the user mentioned).
    pub prompt: Option<JsString<'a>>,
}

/// Scans a model's answer as it streams in.
///
/// `push(chunk)` returns the text that is safe to show now (possibly `''`), already
/// redacted as the policy says; `finish()` returns the rest. Once a blocking finding is
/// seen, `blocked` is `true` and nothing more is released, but scanning goes on, so after
/// `finish()` the `report` holds the same findings as `scanOutputSync` of the whole text.
/// Offsets in `report` are UTF-16 code units into the whole streamed text.
#[napi]
pub struct OutputStream {
    inner: vallum::OutputStream,
    /// Bytes of the all-ASCII start of the stream (where bytes and UTF-16 units agree).
    ascii_prefix: usize,
    /// The streamed text after that start, for converting offsets past it.
    tail: String,
    /// A high surrogate that ended the last chunk, waiting for its low half.
    pending_high: Option<u16>,
}

impl OutputStream {
    pub(crate) fn start(
        guard: &vallum::Guard,
        options: Option<OutputStreamOptions<'_>>,
    ) -> Result<OutputStream, Failure> {
        let prompt = options
            .and_then(|o| o.prompt)
            .map(|p| text::owned(p, "prompt"))
            .transpose()?;
        Ok(OutputStream {
            inner: guard.output_stream(prompt.as_deref()),
            ascii_prefix: 0,
            tail: String::new(),
            pending_high: None,
        })
    }

    /// The chunk as UTF-8, joining a surrogate pair split across chunks.
    fn chunk_text(&mut self, chunk: JsString<'_>) -> Result<String, Failure> {
        if self.pending_high.is_none()
            && let Ok(s) = text::owned(chunk, "chunk")
        {
            return Ok(s);
        }
        // Slow path: a chunk with U+FFFD or unpaired surrogates, or a pair to complete.
        let utf16 = chunk.into_utf16().map_err(|e| internal(&e))?;
        let mut units: Vec<u16> = Vec::with_capacity(utf16.len() + 1);
        units.extend(self.pending_high.take());
        // The napi buffer ends with the C string's terminating zero.
        if let Some((_, body)) = utf16.as_slice().split_last() {
            units.extend_from_slice(body);
        }
        if units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
            self.pending_high = units.pop();
        }
        if let Some(at) = text::unpaired_surrogate(&units) {
            return Err(Failure::new(
                Code::Input,
                format!(
                    "chunk has an unpaired UTF-16 surrogate at index {at} of the chunk (a pair \
                     split across two chunks is joined; anything else cannot be scanned)"
                ),
            ));
        }
        String::from_utf16(&units).map_err(|e| Failure::new(Code::Input, e.to_string()))
    }

    fn record(&mut self, chunk: &str) {
        if self.tail.is_empty() && chunk.is_ascii() {
            self.ascii_prefix += chunk.len();
        } else {
            self.tail.push_str(chunk);
        }
    }
}

#[napi]
impl OutputStream {
    /// Adds the next chunk of the answer; returns the text that is safe to show now (may
    /// be `''`). A surrogate pair split across two chunks is joined.
    #[napi]
    pub fn push(&mut self, chunk: JsString<'_>) -> napi::Result<String, Code> {
        let chunk = self.chunk_text(chunk)?;
        let safe = self.inner.push(&chunk).map_err(Failure::from)?;
        self.record(&chunk);
        Ok(safe)
    }

    /// Ends the stream; returns the rest of the safe text. Using the stream afterwards
    /// throws a `STREAM` error.
    #[napi]
    pub fn finish(&mut self) -> napi::Result<String, Code> {
        if self.pending_high.take().is_some() {
            return Err(Failure::new(
                Code::Input,
                "the stream ended with an unpaired UTF-16 surrogate (the first half of a pair)",
            )
            .into());
        }
        Ok(self.inner.finish().map_err(Failure::from)?)
    }

    /// The findings so far (all of them after `finish()`), with verdict and score;
    /// offsets are UTF-16 code units into the whole streamed text.
    #[napi(getter)]
    pub fn report(&self) -> Report {
        let mut report = Report::from_core(self.inner.report(), None);
        let prefix = self.ascii_prefix;
        let mut past: Vec<usize> = Vec::new();
        for f in &report.findings {
            for o in [f.start, f.end] {
                let o = o as usize;
                if o > prefix {
                    past.push(o - prefix);
                }
            }
        }
        if past.is_empty() {
            return report;
        }
        convert_offsets(&self.tail, &mut past, OffsetUnit::Utf16);
        let mut converted = past.into_iter();
        for f in &mut report.findings {
            for o in [&mut f.start, &mut f.end] {
                if *o as usize > prefix {
                    let units = converted.next().unwrap_or_default();
                    *o = (prefix + units) as f64;
                }
            }
        }
        report
    }

    /// Whether a blocking finding was seen: `push` and `finish` release nothing more.
    #[napi(getter)]
    pub fn blocked(&self) -> bool {
        self.inner.is_blocked()
    }
}
