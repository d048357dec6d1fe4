//! `Guard`: the compiled policy, shared by every thread that scans with it.

use std::borrow::Cow;
use std::path::PathBuf;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};
use rayon::prelude::*;
use vallum::{Direction, Policy};

use crate::asyncio;
use crate::error::{Error, PolicyError, detached, utf8};
use crate::report::PyReport;
use crate::stream::PyOutputStream;
use crate::vault::PyVault;

/// Where a policy comes from, read from the Python argument with the interpreter attached;
/// parsing and compiling happen detached.
enum PolicySource {
    Default,
    Toml(String),
    Json(String),
    Path(PathBuf),
}

impl PolicySource {
    fn extract(policy: Option<&Bound<'_, PyAny>>) -> PyResult<PolicySource> {
        let Some(policy) = policy.filter(|p| !p.is_none()) else {
            return Ok(PolicySource::Default);
        };
        let py = policy.py();
        if let Ok(s) = policy.cast::<PyString>() {
            let s = utf8(s, "policy")?;
            return Ok(if looks_like_path(s) {
                PolicySource::Path(PathBuf::from(s))
            } else {
                PolicySource::Toml(s.to_owned())
            });
        }
        if policy.is_instance_of::<PyDict>() {
            let json = py
                .import("json")?
                .call_method1("dumps", (policy,))
                .map_err(|e| {
                    let err = PolicyError::new_err(format!(
                        "the policy dict cannot be written as JSON: {}",
                        e.value(py)
                    ));
                    err.set_cause(py, Some(e));
                    err
                })?;
            return Ok(PolicySource::Json(json.extract()?));
        }
        let os_path_like = py.import("os")?.getattr("PathLike")?;
        if policy.is_instance(&os_path_like)? {
            let path: PathBuf = py
                .import("os")?
                .call_method1("fspath", (policy,))?
                .extract()?;
            return Ok(PolicySource::Path(path));
        }
        Err(PyTypeError::new_err(format!(
            "policy must be a TOML string, a path to a .toml or .json file, or a dict, not {}",
            policy.get_type().name()?
        )))
    }

    fn build(self) -> Result<vallum::Guard, Error> {
        let policy = match self {
            PolicySource::Default => return Ok(vallum::Guard::new()?),
            PolicySource::Toml(s) => Policy::from_toml(&s)?,
            PolicySource::Json(s) => Policy::from_json(&s)?,
            PolicySource::Path(p) => Policy::from_path(p)?,
        };
        Ok(vallum::Guard::from_policy(&policy)?)
    }
}

/// A `str` policy is a file path when it is one line ending in `.toml` or `.json`; TOML
/// text always has a `=` or a `[table]` line and never ends that way.
fn looks_like_path(s: &str) -> bool {
    let s = s.trim();
    !s.contains('\n')
        && std::path::Path::new(s)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml") || e.eq_ignore_ascii_case("json"))
}

fn parse_direction(direction: &str) -> PyResult<Direction> {
    direction.parse().map_err(PyValueError::new_err)
}

/// Scans text going into and coming out of a model, as a policy says.
///
/// `Guard()` uses the built-in default policy; `Guard(policy)` takes a TOML string, a path to
/// a `.toml` or `.json` file, or a dict. A guard is immutable and thread-safe: build it once
/// and share it. Every scan releases the GIL. Guards pickle (they rebuild from their policy),
/// so they can be sent to worker processes.
#[pyclass(frozen, module = "vallum", name = "Guard")]
pub struct PyGuard {
    pub(crate) guard: vallum::Guard,
}

#[pymethods]
impl PyGuard {
    #[new]
    #[pyo3(signature = (policy = None))]
    fn new(py: Python<'_>, policy: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let source = PolicySource::extract(policy)?;
        let guard = detached(py, move || source.build())?;
        Ok(PyGuard { guard })
    }

    /// Scans text going into the model (a user prompt, a document, a tool result).
    fn scan_input(&self, py: Python<'_>, text: &Bound<'_, PyString>) -> PyResult<PyReport> {
        let text = utf8(text, "text")?;
        let guard = &self.guard;
        detached(py, || {
            guard.scan_input(text).map(|r| PyReport::from_core(text, r))
        })
    }

    /// Scans a model's answer; `prompt` is the prompt or context it answers (for canaries,
    /// system-prompt leaks and the hosts the user mentioned).
    #[pyo3(signature = (text, prompt = None))]
    fn scan_output(
        &self,
        py: Python<'_>,
        text: &Bound<'_, PyString>,
        prompt: Option<&Bound<'_, PyString>>,
    ) -> PyResult<PyReport> {
        let text = utf8(text, "text")?;
        let prompt = prompt.map(|p| utf8(p, "prompt")).transpose()?;
        let guard = &self.guard;
        detached(py, || {
            guard
                .scan_output(text, prompt)
                .map(|r| PyReport::from_core(text, r))
        })
    }

    /// Scans many texts in one call, releasing the GIL once and using every core.
    #[pyo3(signature = (texts, direction = "input"))]
    fn scan_batch(
        &self,
        py: Python<'_>,
        texts: &Bound<'_, PyAny>,
        direction: &str,
    ) -> PyResult<Vec<PyReport>> {
        let direction = parse_direction(direction)?;
        if texts.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "texts must be a sequence of str, not a str",
            ));
        }
        let objects = texts
            .try_iter()?
            .enumerate()
            .map(|(i, item)| {
                item?.cast_into::<PyString>().map_err(|e| {
                    PyTypeError::new_err(format!(
                        "texts[{i}] must be a str, not {}",
                        e.into_inner()
                            .get_type()
                            .name()
                            .map_or_else(|_| "?".into(), |n| n.to_string())
                    ))
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let strs = objects
            .iter()
            .enumerate()
            .map(|(i, s)| utf8(s, &format!("texts[{i}]")))
            .collect::<PyResult<Vec<&str>>>()?;
        let guard = &self.guard;
        detached(py, || {
            guard.scan_batch(&strs, direction).map(|reports| {
                vallum::pool::BATCH.install(|| {
                    reports
                        .into_par_iter()
                        .zip(strs.par_iter())
                        .map(|(r, t)| PyReport::from_core(t, r))
                        .collect()
                })
            })
        })
    }

    /// Scans a pyarrow array of strings (`string`, `large_string` or `string_view`; a
    /// `ChunkedArray` chunk by chunk) where it lies in memory, with the GIL released and
    /// the rows spread over every core. Returns a struct array, one row per input row (null
    /// where the input is null): `verdict`, `score` and `findings` (a list of `category`,
    /// `kind`, `rule`, `start`, `end`, `score`, `action`; code-point offsets). For Spark's
    /// `mapInArrow` and other Arrow pipelines; see `vallum.spark`.
    #[pyo3(signature = (array, direction = "input"))]
    fn scan_arrow<'py>(
        &self,
        array: &Bound<'py, PyAny>,
        direction: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let direction = parse_direction(direction)?;
        crate::arrow::scan_arrow(&self.guard, array, direction)
    }

    /// `scan_input` on a worker thread: returns an awaitable (an `asyncio.Future`) and never
    /// blocks the event loop.
    fn scan_input_async<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let text = utf8(text, "text")?.to_owned();
        let guard = self.guard.clone();
        asyncio::spawn(
            py,
            move || Ok(PyReport::from_core(&text, guard.scan_input(&text)?)),
            |py, report| Ok(Py::new(py, report)?.into_any()),
        )
    }

    /// `scan_output` on a worker thread: returns an awaitable (an `asyncio.Future`) and never
    /// blocks the event loop.
    #[pyo3(signature = (text, prompt = None))]
    fn scan_output_async<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyString>,
        prompt: Option<&Bound<'py, PyString>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let text = utf8(text, "text")?.to_owned();
        let prompt = prompt
            .map(|p| utf8(p, "prompt").map(str::to_owned))
            .transpose()?;
        let guard = self.guard.clone();
        asyncio::spawn(
            py,
            move || {
                let report = guard.scan_output(&text, prompt.as_deref())?;
                Ok(PyReport::from_core(&text, report))
            },
            |py, report| Ok(Py::new(py, report)?.into_any()),
        )
    }

    /// The text with personal data, secrets and every finding the policy marks `redact`
    /// replaced (by `<EMAIL>`-style placeholders unless the policy's `[redaction]` says
    /// otherwise). Returns the same `str` object when nothing changes.
    #[pyo3(signature = (text, direction = "input"))]
    fn redact<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyString>,
        direction: &str,
    ) -> PyResult<Bound<'py, PyString>> {
        let direction = parse_direction(direction)?;
        let s = utf8(text, "text")?;
        let guard = &self.guard;
        let redacted = detached(py, || {
            guard.redact(s, direction).map(|c| match c {
                Cow::Borrowed(_) => None,
                Cow::Owned(o) => Some(o),
            })
        })?;
        Ok(match redacted {
            None => text.clone(),
            Some(o) => PyString::new(py, &o),
        })
    }

    /// Replaces personal data and secrets with stable numbered placeholders (`<EMAIL_1>`;
    /// the same value always gets the same placeholder). Returns the masked text and the
    /// `Vault` that puts the values back into the model's answer.
    fn anonymize(&self, py: Python<'_>, text: &Bound<'_, PyString>) -> PyResult<(String, PyVault)> {
        let text = utf8(text, "text")?;
        let guard = &self.guard;
        let (masked, vault) = detached(py, || guard.anonymize(text))?;
        Ok((masked, PyVault { vault }))
    }

    /// A stream that scans a model's answer as it arrives, releasing text once it is safe;
    /// `prompt` is the prompt or context the answer responds to.
    #[pyo3(signature = (prompt = None))]
    fn output_stream(&self, prompt: Option<&Bound<'_, PyString>>) -> PyResult<PyOutputStream> {
        let prompt = prompt.map(|p| utf8(p, "prompt")).transpose()?;
        Ok(PyOutputStream::new(self.guard.output_stream(prompt)))
    }

    /// The policy this guard was built from, as TOML (every key spelled out).
    #[getter]
    fn policy_toml(&self) -> String {
        self.guard.policy().to_toml()
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyType>, Bound<'py, PyTuple>)> {
        Ok((
            py.get_type::<PyGuard>(),
            (self.guard.policy().to_toml(),).into_pyobject(py)?,
        ))
    }

    /// A guard is immutable: copies are the guard itself.
    fn __copy__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// A guard is immutable: copies are the guard itself.
    fn __deepcopy__<'a>(slf: PyRef<'a, Self>, _memo: &Bound<'_, PyAny>) -> PyRef<'a, Self> {
        slf
    }

    fn __repr__(&self) -> String {
        let rules = self.guard.rules().len();
        let detectors = self.guard.detectors().count();
        format!("Guard(rules={rules}, detectors={detectors})")
    }
}

/// For the benchmarks: seconds that `iterations` scans of `text` take in the core alone
/// (no argument conversion, no result objects), to set the binding's per-call cost against.
#[pyfunction]
#[pyo3(name = "_core_scan_seconds", signature = (guard, text, iterations, direction = "input"))]
pub(crate) fn core_scan_seconds(
    py: Python<'_>,
    guard: &Bound<'_, PyGuard>,
    text: &Bound<'_, PyString>,
    iterations: usize,
    direction: &str,
) -> PyResult<f64> {
    let direction = parse_direction(direction)?;
    let text = utf8(text, "text")?;
    let guard = &guard.get().guard;
    detached(py, || {
        let start = std::time::Instant::now();
        for _ in 0..iterations {
            std::hint::black_box(guard.scan(std::hint::black_box(text), direction, None)?);
        }
        Ok::<_, Error>(start.elapsed().as_secs_f64())
    })
}
