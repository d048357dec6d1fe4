//! Python bindings for Vallum: the `vallum._vallum` extension module behind the `vallum`
//! package (built with maturin from `python/pyproject.toml`).
//!
//! Thin by design: every rule, threshold and decision is made by the `vallum` crate; this
//! crate converts arguments and results (code-point offsets), releases the GIL around every
//! scan and maps core errors to the `VallumError` hierarchy.
#![deny(missing_docs)]

mod arrow;
mod asyncio;
mod error;
mod guard;
mod report;
mod stream;
mod vault;

use pyo3::prelude::*;

/// A fresh random canary token to plant in a system prompt: `scan_output(text, prompt)`
/// reports a finding of category `canary` when a token from the prompt shows up in the output.
#[pyfunction]
fn canary() -> String {
    vallum::canary()
}

/// What `from vallum._vallum import *` exports.
const PUBLIC: [&str; 11] = [
    "Finding",
    "Guard",
    "InputError",
    "ModelError",
    "OutputStream",
    "PolicyError",
    "Report",
    "VallumError",
    "Vault",
    "__version__",
    "canary",
];

/// The `vallum._vallum` module.
#[pymodule(gil_used = false)]
fn _vallum(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<guard::PyGuard>()?;
    m.add_class::<report::PyReport>()?;
    m.add_class::<report::PyFinding>()?;
    m.add_class::<vault::PyVault>()?;
    m.add_class::<stream::PyOutputStream>()?;
    m.add_function(wrap_pyfunction!(canary, m)?)?;
    m.add_function(wrap_pyfunction!(guard::core_scan_seconds, m)?)?;
    m.add_function(wrap_pyfunction!(report::rebuild_finding, m)?)?;
    m.add_function(wrap_pyfunction!(report::rebuild_report, m)?)?;
    m.add_function(wrap_pyfunction!(asyncio::resolve, m)?)?;
    let shutdown = wrap_pyfunction!(asyncio::shutdown, m)?;
    py.import("atexit")?
        .call_method1("register", (&shutdown,))?;
    m.add_function(shutdown)?;
    m.add("VallumError", py.get_type::<error::VallumError>())?;
    m.add("PolicyError", py.get_type::<error::PolicyError>())?;
    m.add("InputError", py.get_type::<error::InputError>())?;
    m.add("ModelError", py.get_type::<error::ModelError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("_debug_build", cfg!(debug_assertions))?;
    // The public names only: the `_`-prefixed helpers (unpickling, future completion) stay out.
    m.setattr("__all__", PUBLIC)?;
    Ok(())
}
