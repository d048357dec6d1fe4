//! `Vault`: the original values behind the placeholders of one `Guard.anonymize` call.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::error::{Error, detached, utf8};

/// The original values behind the placeholders of one `Guard.anonymize` call.
///
/// `restore` puts them back into the model's answer. Its `repr` shows the placeholders, never
/// the values, and it cannot be pickled (it holds personal data and secrets).
#[pyclass(frozen, module = "vallum", name = "Vault")]
pub struct PyVault {
    pub(crate) vault: vallum::Vault,
}

#[pymethods]
impl PyVault {
    /// Puts the original values back where `text` has their placeholders. Lightly altered
    /// placeholders count too (any case, other or no brackets, `EMAIL 1`); placeholders this
    /// vault did not issue are left as they are.
    fn restore(&self, py: Python<'_>, text: &Bound<'_, PyString>) -> PyResult<String> {
        let text = utf8(text, "text")?;
        let vault = &self.vault;
        detached(py, || Ok::<_, Error>(vault.restore(text)))
    }

    /// The placeholders it knows, as they appear in masked text (e.g. `<EMAIL_1>`).
    #[getter]
    fn placeholders(&self) -> Vec<String> {
        self.vault.placeholders().collect()
    }

    fn __len__(&self) -> usize {
        self.vault.len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let placeholders: Vec<String> = self
            .vault
            .placeholders()
            .map(|p| crate::report::py_repr(py, &p))
            .collect();
        format!("Vault(placeholders=[{}])", placeholders.join(", "))
    }

    #[allow(clippy::unused_self)] // a method, so that pickle finds it
    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "a Vault holds personal data and secrets and cannot be pickled",
        ))
    }

    /// A vault is immutable: copies are the vault itself.
    fn __copy__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// A vault is immutable: copies are the vault itself.
    fn __deepcopy__<'a>(slf: PyRef<'a, Self>, _memo: &Bound<'_, PyAny>) -> PyRef<'a, Self> {
        slf
    }
}
