//! `OutputStream`: incremental scanning of a model's answer as it arrives.

use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::error::{Error, detached, utf8};
use crate::report::PyReport;

/// Maps byte offsets of the streamed text to code-point offsets without keeping the text:
/// runs of characters of one UTF-8 width, as `(first byte, first code point, width)`.
/// English answers are one run; any text needs at most one run per character.
#[derive(Debug, Default)]
struct CodePoints {
    runs: Vec<(usize, usize, usize)>,
    bytes: usize,
    chars: usize,
}

impl CodePoints {
    fn extend(&mut self, chunk: &str) {
        if chunk.is_ascii() {
            self.add_run(1, chunk.len());
            return;
        }
        for c in chunk.chars() {
            self.add_run(c.len_utf8(), c.len_utf8());
        }
    }

    /// Appends `len` bytes of characters `width` bytes wide.
    fn add_run(&mut self, width: usize, len: usize) {
        if len == 0 {
            return;
        }
        if self.runs.last().is_none_or(|&(_, _, w)| w != width) {
            self.runs.push((self.bytes, self.chars, width));
        }
        self.bytes += len;
        self.chars += len / width;
    }

    /// The code-point offset of a byte offset (a character boundary within the text).
    fn convert(&self, byte: usize) -> usize {
        if byte >= self.bytes {
            return self.chars + (byte - self.bytes);
        }
        let i = self.runs.partition_point(|&(start, _, _)| start <= byte);
        match i.checked_sub(1).map(|i| self.runs[i]) {
            Some((start, chars, width)) => chars + (byte - start) / width,
            None => byte,
        }
    }
}

struct State {
    stream: vallum::OutputStream,
    offsets: CodePoints,
}

/// Scans a model's answer as it streams in (made by `Guard.output_stream`).
///
/// `push(chunk)` returns the text that is now safe to show, already redacted as the policy
/// says (it may be ""); `finish()` returns the rest. Once a blocking finding is seen
/// `blocked` is True and nothing more is released. `report` holds the findings so far with
/// code-point offsets into the whole streamed text; after `finish()` it has what
/// `scan_output` of the whole text reports. Safe to share between threads (calls are
/// serialised); every call releases the GIL.
#[pyclass(frozen, module = "vallum", name = "OutputStream")]
pub struct PyOutputStream {
    state: Mutex<State>,
}

impl PyOutputStream {
    pub(crate) fn new(stream: vallum::OutputStream) -> Self {
        PyOutputStream {
            state: Mutex::new(State {
                stream,
                offsets: CodePoints::default(),
            }),
        }
    }
}

fn lock(state: &Mutex<State>) -> Result<MutexGuard<'_, State>, Error> {
    state.lock().map_err(|_| {
        Error::Internal("the stream is unusable after an internal error in an earlier call")
    })
}

#[pymethods]
impl PyOutputStream {
    /// Adds the next chunk; returns the text that is now safe to show (may be "").
    fn push(&self, py: Python<'_>, chunk: &Bound<'_, PyString>) -> PyResult<String> {
        let chunk = utf8(chunk, "chunk")?;
        let state = &self.state;
        detached(py, || {
            let mut guard = lock(state)?;
            let st = &mut *guard;
            let before = st.stream.len();
            let out = st.stream.push(chunk);
            // The stream took the whole chunk or none of it.
            if st.stream.len() > before {
                st.offsets.extend(chunk);
            }
            Ok::<_, Error>(out?)
        })
    }

    /// Ends the stream: scans what is left and returns the rest of the safe text. The
    /// stream cannot be used after it (`InputError`).
    fn finish(&self, py: Python<'_>) -> PyResult<String> {
        let state = &self.state;
        detached(py, || Ok::<_, Error>(lock(state)?.stream.finish()?))
    }

    /// The findings so far (all of them after `finish()`), with code-point offsets into
    /// the whole streamed text.
    #[getter]
    fn report(&self, py: Python<'_>) -> PyResult<PyReport> {
        let state = &self.state;
        detached(py, || {
            let st = lock(state)?;
            let report = st.stream.report();
            let offsets: Vec<usize> = report
                .findings
                .iter()
                .flat_map(|f| [f.span.start, f.span.end])
                .map(|b| st.offsets.convert(b))
                .collect();
            Ok::<_, Error>(PyReport::with_offsets(report, &offsets))
        })
    }

    /// Whether a blocking finding was seen: `push` then returns "" and `finish` returns "".
    #[getter]
    fn blocked(&self, py: Python<'_>) -> PyResult<bool> {
        let state = &self.state;
        detached(py, || Ok::<_, Error>(lock(state)?.stream.is_blocked()))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let state = &self.state;
        let (chars, blocked) = detached(py, || {
            let st = lock(state)?;
            Ok::<_, Error>((st.offsets.chars, st.stream.is_blocked()))
        })?;
        Ok(format!(
            "OutputStream(streamed={chars}, blocked={})",
            if blocked { "True" } else { "False" }
        ))
    }
}
