//! The Python exception hierarchy, the one map from core errors to it, and the one helper
//! every call goes through ([`detached`]).

use std::convert::Infallible;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyString;

create_exception!(
    vallum,
    VallumError,
    PyException,
    "Base class of every error Vallum raises."
);
create_exception!(
    vallum,
    PolicyError,
    VallumError,
    "The policy is unusable: bad TOML/JSON, an unknown key, a value out of range, a custom rule that does not compile, or a policy file that cannot be read."
);
create_exception!(
    vallum,
    InputError,
    VallumError,
    "The guard refuses this input: over the policy's size limit, text that cannot be encoded as UTF-8 (lone surrogates), or a stream used after finish()."
);
create_exception!(
    vallum,
    ModelError,
    VallumError,
    "The injection classifier could not be loaded or failed on this input."
);

/// Any error of the core library.
#[derive(Debug)]
pub(crate) enum Error {
    Build(vallum::BuildError),
    Policy(vallum::PolicyError),
    Scan(vallum::ScanError),
    /// A state the binding cannot recover from (e.g. a lock poisoned by a panic).
    Internal(&'static str),
}

impl From<vallum::BuildError> for Error {
    fn from(e: vallum::BuildError) -> Self {
        Error::Build(e)
    }
}

impl From<vallum::PolicyError> for Error {
    fn from(e: vallum::PolicyError) -> Self {
        Error::Policy(e)
    }
}

impl From<vallum::ScanError> for Error {
    fn from(e: vallum::ScanError) -> Self {
        Error::Scan(e)
    }
}

impl From<Infallible> for Error {
    fn from(e: Infallible) -> Self {
        match e {}
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        use vallum::{BuildError, ScanError};
        let message = match &e {
            Error::Build(b) => b.to_string(),
            Error::Policy(p) => p.to_string(),
            Error::Scan(s) => s.to_string(),
            Error::Internal(m) => (*m).to_owned(),
        };
        match e {
            Error::Policy(_) | Error::Build(BuildError::Policy(_)) => PolicyError::new_err(message),
            Error::Build(BuildError::Model(_)) | Error::Scan(ScanError::Model(_)) => {
                ModelError::new_err(message)
            }
            Error::Scan(
                ScanError::InputTooLarge { .. }
                | ScanError::InvalidUtf8 { .. }
                | ScanError::StreamFinished,
            ) => InputError::new_err(message),
            Error::Build(_) | Error::Scan(_) | Error::Internal(_) => VallumError::new_err(message),
        }
    }
}

/// Runs `f` with the GIL released (detached from the interpreter, so other Python threads
/// run meanwhile) and maps a core error to the Python exception for it.
pub(crate) fn detached<T, E, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> Result<T, E> + Send,
    T: Send,
    E: Into<Error> + Send,
{
    py.detach(f).map_err(|e| PyErr::from(e.into()))
}

/// The UTF-8 view of a Python `str` (borrowed from CPython's cached UTF-8 form; no copy).
/// A `str` that cannot be encoded, i.e. one holding lone surrogates, is an `InputError`
/// naming the index of the first one. `what` names the argument in the message.
pub(crate) fn utf8<'a>(text: &'a Bound<'_, PyString>, what: &str) -> PyResult<&'a str> {
    text.to_str().map_err(|cause| {
        let py = text.py();
        let at = cause
            .value(py)
            .getattr("start")
            .and_then(|s| s.extract::<usize>())
            .map_or_else(|_| String::new(), |i| format!(" at index {i}"));
        let err = InputError::new_err(format!(
            "{what} contains a lone surrogate{at} and cannot be encoded as UTF-8"
        ));
        err.set_cause(py, Some(cause));
        err
    })
}
