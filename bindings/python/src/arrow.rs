//! `Guard.scan_arrow`: scans a pyarrow string array where it lies (the Arrow offsets and
//! data buffers are read through the buffer protocol, not copied into Python strings),
//! with the GIL released and the rows spread over every core, and returns the reports as
//! an Arrow struct column built from buffers.
//!
//! The result type (one struct per row, null where the input row is null):
//! `struct<verdict: string, score: double, findings: list<struct<category: string,
//! kind: string, rule: string, start: int64, end: int64, score: double, action: string>>>`,
//! with code-point offsets, as the rest of the Python API.

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyBytes, PyList};
use rayon::prelude::*;
use vallum::offsets::{OffsetUnit, convert_offsets};
use vallum::{Direction, Report};

use crate::error::{InputError, detached};
use crate::report::py_float;

/// The width of an Arrow string array's offsets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Width {
    /// `string` / `utf8`: 32-bit offsets.
    I32,
    /// `large_string` / `large_utf8`: 64-bit offsets.
    I64,
}

/// One exported Arrow buffer, held (and so kept alive and in place) for the whole call.
struct Exported(Option<PyUntypedBuffer>);

impl Exported {
    fn get(buffer: &Bound<'_, PyAny>, what: &str) -> PyResult<Exported> {
        if buffer.is_none() {
            return Ok(Exported(None));
        }
        let b = PyUntypedBuffer::get(buffer)?;
        if !b.is_c_contiguous() || b.item_size() != 1 {
            return Err(PyValueError::new_err(format!(
                "the array's {what} buffer is not a contiguous byte buffer"
            )));
        }
        Ok(Exported(Some(b)))
    }

    /// The buffer's bytes, borrowed.
    #[allow(unsafe_code)]
    fn bytes(&self) -> &[u8] {
        let Some(b) = &self.0 else { return &[] };
        if b.len_bytes() == 0 {
            return &[];
        }
        // SAFETY: `b` holds a buffer export (`PyObject_GetBuffer`) of a pyarrow `Buffer`
        // for as long as `self` lives; while exported, the memory stays allocated at
        // `buf_ptr` with `len_bytes` readable bytes, and it is C-contiguous with 1-byte
        // items (checked in `get`). The borrow cannot outlive `self`. The bytes are not
        // written during the call: Arrow arrays are immutable once built, and pyarrow has
        // no API that writes into an array's buffers (writing into them through a
        // memoryview from another thread while a reader runs breaks Arrow's contract for
        // every zero-copy consumer). Every offset read from them is bounds-checked and
        // every string UTF-8-validated before use, so even malformed buffers cannot cause
        // an out-of-bounds read.
        unsafe { std::slice::from_raw_parts(b.buf_ptr().cast::<u8>(), b.len_bytes()) }
    }
}

/// The rows of one string array: `None` for null rows.
fn rows<'a>(
    width: Width,
    length: usize,
    offset: usize,
    validity: Option<&[u8]>,
    offsets: &[u8],
    data: &'a [u8],
) -> PyResult<Vec<Option<&'a str>>> {
    let w = match width {
        Width::I32 => 4,
        Width::I64 => 8,
    };
    let need = (offset + length + 1) * w;
    if length > 0 && offsets.len() < need {
        return Err(PyValueError::new_err(format!(
            "the offsets buffer holds {} bytes, {need} needed",
            offsets.len()
        )));
    }
    let at = |i: usize| -> PyResult<usize> {
        let b = &offsets[i * w..(i + 1) * w];
        let v = match width {
            Width::I32 => i64::from(i32::from_le_bytes(b.try_into().expect("4 bytes"))),
            Width::I64 => i64::from_le_bytes(b.try_into().expect("8 bytes")),
        };
        usize::try_from(v).map_err(|_| PyValueError::new_err(format!("negative offset {v}")))
    };
    let mut out = Vec::with_capacity(length);
    for i in 0..length {
        let j = offset + i;
        let valid =
            validity.is_none_or(|bits| bits.get(j / 8).is_some_and(|b| b >> (j % 8) & 1 == 1));
        if !valid {
            out.push(None);
            continue;
        }
        let (start, end) = (at(j)?, at(j + 1)?);
        let bytes = data.get(start..end).ok_or_else(|| {
            PyValueError::new_err(format!(
                "row {i}: offsets {start}..{end} are outside the data buffer ({} bytes)",
                data.len()
            ))
        })?;
        let text = std::str::from_utf8(bytes)
            .map_err(|e| InputError::new_err(format!("row {i} is not valid UTF-8: {e}")))?;
        out.push(Some(text));
    }
    Ok(out)
}

/// Arrow buffers of the result, built with the GIL released.
#[derive(Default)]
struct Columns {
    length: usize,
    /// Row validity bitmap (struct level); `None` when no row is null.
    validity: Option<Vec<u8>>,
    nulls: usize,
    verdict: Strings,
    score: Vec<u8>,
    /// List offsets into the findings (i32, little-endian).
    list_offsets: Vec<u8>,
    findings: usize,
    category: Strings,
    kind: Strings,
    rule: Strings,
    start: Vec<u8>,
    end: Vec<u8>,
    f_score: Vec<u8>,
    action: Strings,
}

/// A string column under construction: i32 offsets and data.
struct Strings {
    offsets: Vec<u8>,
    data: Vec<u8>,
}

impl Default for Strings {
    fn default() -> Self {
        Strings {
            offsets: 0i32.to_le_bytes().to_vec(),
            data: Vec::new(),
        }
    }
}

impl Strings {
    fn push(&mut self, s: &str) -> Result<(), &'static str> {
        self.data.extend_from_slice(s.as_bytes());
        let end = i32::try_from(self.data.len()).map_err(|_| "over 2 GiB of result strings")?;
        self.offsets.extend_from_slice(&end.to_le_bytes());
        Ok(())
    }
}

impl Columns {
    fn build(rows: &[Option<&str>], reports: &[Report]) -> Result<Columns, &'static str> {
        let mut c = Columns {
            length: rows.len(),
            list_offsets: 0i32.to_le_bytes().to_vec(),
            ..Columns::default()
        };
        let nulls = rows.iter().filter(|r| r.is_none()).count();
        if nulls > 0 {
            let mut bits = vec![0u8; rows.len().div_ceil(8)];
            for (i, r) in rows.iter().enumerate() {
                if r.is_some() {
                    bits[i / 8] |= 1 << (i % 8);
                }
            }
            c.validity = Some(bits);
            c.nulls = nulls;
        }
        // Code-point offsets, converted in parallel.
        let texts: Vec<&str> = rows.iter().filter_map(|r| *r).collect();
        let offsets: Vec<Vec<usize>> = reports
            .par_iter()
            .zip(texts.par_iter())
            .map(|(r, t)| {
                let mut o: Vec<usize> = r
                    .findings
                    .iter()
                    .flat_map(|f| [f.span.start, f.span.end])
                    .collect();
                convert_offsets(t, &mut o, OffsetUnit::CodePoint);
                o
            })
            .collect();
        let mut scanned = reports.iter().zip(&offsets);
        for row in rows {
            let Some((report, se)) = row.and_then(|_| scanned.next()) else {
                // A null row: empty children.
                c.verdict.push("")?;
                c.score.extend_from_slice(&0f64.to_le_bytes());
                let n = i32::try_from(c.findings).map_err(|_| "over 2^31 findings")?;
                c.list_offsets.extend_from_slice(&n.to_le_bytes());
                continue;
            };
            c.verdict.push(report.verdict.as_str())?;
            c.score
                .extend_from_slice(&py_float(report.score).to_le_bytes());
            for (f, se) in report.findings.iter().zip(se.chunks_exact(2)) {
                c.category.push(f.category.as_str())?;
                c.kind.push(&f.kind)?;
                c.rule.push(&f.rule)?;
                c.start.extend_from_slice(&(se[0] as i64).to_le_bytes());
                c.end.extend_from_slice(&(se[1] as i64).to_le_bytes());
                c.f_score
                    .extend_from_slice(&py_float(f.score).to_le_bytes());
                c.action.push(f.action.as_str())?;
                c.findings += 1;
            }
            let n = i32::try_from(c.findings).map_err(|_| "over 2^31 findings")?;
            c.list_offsets.extend_from_slice(&n.to_le_bytes());
        }
        Ok(c)
    }
}

/// The pyarrow type of `scan_arrow` results.
pub(crate) fn result_type<'py>(pa: &Bound<'py, PyModule>) -> PyResult<Bound<'py, PyAny>> {
    let field = |name: &str, ty: Bound<'py, PyAny>, nullable: bool| {
        pa.call_method(
            "field",
            (name, ty),
            Some(&[("nullable", nullable)].into_py_dict(pa.py())?),
        )
    };
    let string = pa.call_method0("string")?;
    let int64 = pa.call_method0("int64")?;
    let float64 = pa.call_method0("float64")?;
    let finding = pa.call_method1(
        "struct",
        (PyList::new(
            pa.py(),
            [
                field("category", string.clone(), false)?,
                field("kind", string.clone(), false)?,
                field("rule", string.clone(), false)?,
                field("start", int64.clone(), false)?,
                field("end", int64, false)?,
                field("score", float64.clone(), false)?,
                field("action", string.clone(), false)?,
            ],
        )?,),
    )?;
    let list = pa.call_method1("list_", (field("element", finding, false)?,))?;
    pa.call_method1(
        "struct",
        (PyList::new(
            pa.py(),
            [
                field("verdict", string, false)?,
                field("score", float64, false)?,
                field("findings", list, false)?,
            ],
        )?,),
    )
}

fn buffer<'py>(pa: &Bound<'py, PyModule>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    pa.call_method1("py_buffer", (PyBytes::new(pa.py(), bytes),))
}

fn string_array<'py>(
    pa: &Bound<'py, PyModule>,
    n: usize,
    s: &Strings,
) -> PyResult<Bound<'py, PyAny>> {
    let none = pa.py().None().into_bound(pa.py());
    let buffers = PyList::new(
        pa.py(),
        [none, buffer(pa, &s.offsets)?, buffer(pa, &s.data)?],
    )?;
    pa.getattr("Array")?
        .call_method1("from_buffers", (pa.call_method0("string")?, n, buffers))
}

fn primitive_array<'py>(
    pa: &Bound<'py, PyModule>,
    ty: &str,
    n: usize,
    bytes: &[u8],
) -> PyResult<Bound<'py, PyAny>> {
    let none = pa.py().None().into_bound(pa.py());
    let buffers = PyList::new(pa.py(), [none, buffer(pa, bytes)?])?;
    pa.getattr("Array")?
        .call_method1("from_buffers", (pa.call_method0(ty)?, n, buffers))
}

fn to_arrow<'py>(pa: &Bound<'py, PyModule>, c: &Columns) -> PyResult<Bound<'py, PyAny>> {
    let py = pa.py();
    let ty = result_type(pa)?;
    let findings_ty = ty.call_method1("field", ("findings",))?.getattr("type")?;
    let finding_ty = findings_ty.getattr("value_type")?;
    let n = c.findings;
    let finding = pa.getattr("Array")?.call_method(
        "from_buffers",
        (finding_ty, n, PyList::new(py, [py.None()])?),
        Some(
            &[(
                "children",
                PyList::new(
                    py,
                    [
                        string_array(pa, n, &c.category)?,
                        string_array(pa, n, &c.kind)?,
                        string_array(pa, n, &c.rule)?,
                        primitive_array(pa, "int64", n, &c.start)?,
                        primitive_array(pa, "int64", n, &c.end)?,
                        primitive_array(pa, "float64", n, &c.f_score)?,
                        string_array(pa, n, &c.action)?,
                    ],
                )?,
            )]
            .into_py_dict(py)?,
        ),
    )?;
    let len = c.length;
    let none = py.None().into_bound(py);
    let list = pa.getattr("Array")?.call_method(
        "from_buffers",
        (
            findings_ty,
            len,
            PyList::new(py, [none, buffer(pa, &c.list_offsets)?])?,
        ),
        Some(&[("children", PyList::new(py, [finding])?)].into_py_dict(py)?),
    )?;
    let validity = match &c.validity {
        Some(bits) => buffer(pa, bits)?,
        None => py.None().into_bound(py),
    };
    pa.getattr("Array")?.call_method(
        "from_buffers",
        (ty, len, PyList::new(py, [validity])?, c.nulls),
        Some(
            &[(
                "children",
                PyList::new(
                    py,
                    [
                        string_array(pa, len, &c.verdict)?,
                        primitive_array(pa, "float64", len, &c.score)?,
                        list,
                    ],
                )?,
            )]
            .into_py_dict(py)?,
        ),
    )
}

/// Scans one pyarrow `Array` of strings.
fn scan_array<'py>(
    guard: &vallum::Guard,
    pa: &Bound<'py, PyModule>,
    array: &Bound<'py, PyAny>,
    direction: Direction,
) -> PyResult<Bound<'py, PyAny>> {
    let types = pa.getattr("types")?;
    let mut array = array.clone();
    let mut ty = array.getattr("type")?;
    if types.call_method1("is_string_view", (&ty,))?.is_truthy()? {
        array = array.call_method1("cast", (pa.call_method0("large_string")?,))?;
        ty = array.getattr("type")?;
    }
    let width = if types.call_method1("is_string", (&ty,))?.is_truthy()? {
        Width::I32
    } else if types.call_method1("is_large_string", (&ty,))?.is_truthy()? {
        Width::I64
    } else {
        return Err(PyTypeError::new_err(format!(
            "scan_arrow needs an array of strings (string, large_string or string_view), not {}",
            ty.str()?
        )));
    };
    let length: usize = array.len()?;
    let offset: usize = array.getattr("offset")?.extract()?;
    let buffers = array.call_method0("buffers")?;
    let get =
        |i: usize, what: &str| -> PyResult<Exported> { Exported::get(&buffers.get_item(i)?, what) };
    let (validity, offsets, data) = (get(0, "validity")?, get(1, "offsets")?, get(2, "data")?);
    let null_count: usize = array.getattr("null_count")?.extract()?;
    let validity_bits = (null_count > 0).then(|| validity.bytes());
    let rows = rows(
        width,
        length,
        offset,
        validity_bits,
        offsets.bytes(),
        data.bytes(),
    )?;
    let columns = detached(pa.py(), || {
        let texts: Vec<&str> = rows.iter().filter_map(|r| *r).collect();
        let reports = guard.scan_batch(&texts, direction)?;
        vallum::pool::BATCH
            .install(|| Columns::build(&rows, &reports))
            .map_err(crate::error::Error::Internal)
    })?;
    to_arrow(pa, &columns)
}

/// `Guard.scan_arrow`: an `Array` gives a `StructArray`, a `ChunkedArray` a
/// `ChunkedArray` of them, chunk by chunk.
pub(crate) fn scan_arrow<'py>(
    guard: &vallum::Guard,
    array: &Bound<'py, PyAny>,
    direction: Direction,
) -> PyResult<Bound<'py, PyAny>> {
    let py = array.py();
    let pa = py.import("pyarrow")?;
    if array.is_instance(&pa.getattr("ChunkedArray")?)? {
        let chunks = array
            .getattr("chunks")?
            .try_iter()?
            .map(|c| scan_array(guard, &pa, &c?, direction))
            .collect::<PyResult<Vec<_>>>()?;
        return pa.call_method1(
            "chunked_array",
            (PyList::new(py, chunks)?, result_type(&pa)?),
        );
    }
    if !array.is_instance(&pa.getattr("Array")?)? {
        return Err(PyTypeError::new_err(format!(
            "scan_arrow needs a pyarrow Array or ChunkedArray of strings, not {}",
            array.get_type().name()?
        )));
    }
    scan_array(guard, &pa, array, direction)
}
