//! `Report` and `Finding`: frozen Python views of the core results, with code-point offsets.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use vallum::offsets::{OffsetUnit, convert_offsets};
use vallum::{Action, Category, Verdict};

/// One thing a detector found: where it is in the scanned text and what it means.
///
/// `start` and `end` are code-point offsets, so `text[f.start:f.end]` is the matched text.
/// A finding never holds the matched text itself, so printing it never reveals a secret.
#[pyclass(frozen, eq, module = "vallum", name = "Finding")]
#[derive(Clone, Debug, PartialEq)]
pub struct PyFinding {
    category: Category,
    kind: Arc<str>,
    rule: Arc<str>,
    start: usize,
    end: usize,
    score: f32,
    action: Action,
    detail: Option<Box<str>>,
}

/// Interned Python strings for the fixed vocabularies, so reading `verdict`, `category`
/// or `action` allocates nothing.
struct Names<const N: usize>([PyOnceLock<Py<PyString>>; N]);

impl<const N: usize> Names<N> {
    const fn new() -> Self {
        Names([const { PyOnceLock::new() }; N])
    }

    fn get<'py>(
        &self,
        py: Python<'py>,
        index: Option<usize>,
        name: &'static str,
    ) -> Bound<'py, PyString> {
        match index.and_then(|i| self.0.get(i)) {
            Some(cell) => cell
                .get_or_init(py, || PyString::intern(py, name).unbind())
                .bind(py)
                .clone(),
            None => PyString::new(py, name),
        }
    }
}

static CATEGORY_NAMES: Names<{ Category::ALL.len() }> = Names::new();
static ACTION_NAMES: Names<4> = Names::new();
static VERDICT_NAMES: Names<3> = Names::new();

fn category_name(py: Python<'_>, c: Category) -> Bound<'_, PyString> {
    CATEGORY_NAMES.get(py, Category::ALL.iter().position(|&x| x == c), c.as_str())
}

fn action_name(py: Python<'_>, a: Action) -> Bound<'_, PyString> {
    ACTION_NAMES.get(py, Some(a as usize), a.as_str())
}

fn verdict_name(py: Python<'_>, v: Verdict) -> Bound<'_, PyString> {
    VERDICT_NAMES.get(py, Some(v as usize), v.as_str())
}

/// The shortest decimal that reads back as this `f32`, as a Python float (`0.9`, not
/// `0.8999999761581421`).
pub(crate) fn py_float(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// Python's `repr()` of a `str` holding `s`.
pub(crate) fn py_repr(py: Python<'_>, s: &str) -> String {
    PyString::new(py, s)
        .repr()
        .map_or_else(|_| format!("{s:?}"), |r| r.to_string())
}

fn parse_category(s: &str) -> PyResult<Category> {
    s.parse()
        .map_err(|_| pyo3::exceptions::PyValueError::new_err(format!("unknown category `{s}`")))
}

fn parse_action(s: &str) -> PyResult<Action> {
    match s {
        "allow" => Ok(Action::Allow),
        "flag" => Ok(Action::Flag),
        "redact" => Ok(Action::Redact),
        "block" => Ok(Action::Block),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "unknown action `{other}`"
        ))),
    }
}

#[pymethods]
impl PyFinding {
    /// The category: `prompt_injection`, `pii`, `secret`, `exfiltration`,
    /// `invisible_text`, `canary`, `prompt_leak` or `custom`.
    #[getter]
    fn category<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        category_name(py, self.category)
    }

    /// The finer kind inside the category, e.g. `email`, `aws_access_key_id`.
    #[getter]
    fn kind(&self) -> &str {
        &self.kind
    }

    /// The id of the rule or detector that reported it.
    #[getter]
    fn rule(&self) -> &str {
        &self.rule
    }

    /// Code-point offset of the first character.
    #[getter]
    fn start(&self) -> usize {
        self.start
    }

    /// Code-point offset one past the last character.
    #[getter]
    fn end(&self) -> usize {
        self.end
    }

    /// How sure, in `[0, 1]`.
    #[getter]
    fn score(&self) -> f64 {
        py_float(self.score)
    }

    /// What the policy does with it: `allow`, `flag`, `redact` or `block`.
    #[getter]
    fn action<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        action_name(py, self.action)
    }

    /// Extra information that is safe to show (e.g. the text decoded from hidden tag
    /// characters), or None. Never set for secrets or personal data.
    #[getter]
    fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The finding as a plain dict (JSON-ready).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("category", self.category(py))?;
        d.set_item("kind", self.kind())?;
        d.set_item("rule", self.rule())?;
        d.set_item("start", self.start)?;
        d.set_item("end", self.end)?;
        d.set_item("score", self.score())?;
        d.set_item("action", self.action(py))?;
        d.set_item("detail", self.detail())?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Finding(category={}, kind={}, rule={}, start={}, end={}, score={}, action={})",
            py_repr(py, self.category.as_str()),
            py_repr(py, &self.kind),
            py_repr(py, &self.rule),
            self.start,
            self.end,
            self.score,
            py_repr(py, self.action.as_str()),
        )
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let rebuild = py.import("vallum._vallum")?.getattr("_finding")?;
        let args = (
            self.category(py),
            self.kind(),
            self.rule(),
            self.start,
            self.end,
            f64::from(self.score),
            self.action(py),
            self.detail(),
        )
            .into_pyobject(py)?;
        Ok((rebuild, args))
    }
}

/// Rebuilds a pickled `Finding`.
#[pyfunction]
#[pyo3(name = "_finding")]
#[allow(clippy::too_many_arguments)]
pub(crate) fn rebuild_finding(
    category: &str,
    kind: &str,
    rule: &str,
    start: usize,
    end: usize,
    score: f64,
    action: &str,
    detail: Option<&str>,
) -> PyResult<PyFinding> {
    if start > end {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "finding start {start} is after its end {end}"
        )));
    }
    if !(0.0..=1.0).contains(&score) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "finding score {score} is outside [0, 1]"
        )));
    }
    Ok(PyFinding {
        category: parse_category(category)?,
        kind: kind.into(),
        rule: rule.into(),
        start,
        end,
        score: score as f32,
        action: parse_action(action)?,
        detail: detail.map(Into::into),
    })
}

/// The result of one scan: the verdict, the highest score and the findings.
#[pyclass(frozen, eq, module = "vallum", name = "Report")]
#[derive(Clone, Debug, PartialEq)]
pub struct PyReport {
    verdict: Verdict,
    score: f32,
    findings: Vec<PyFinding>,
}

impl PyReport {
    /// Converts a core report on `text` (byte offsets) to code-point offsets, in one pass
    /// over the text up to the last finding.
    pub(crate) fn from_core(text: &str, report: vallum::Report) -> PyReport {
        let mut offsets: Vec<usize> = report
            .findings
            .iter()
            .flat_map(|f| [f.span.start, f.span.end])
            .collect();
        convert_offsets(text, &mut offsets, OffsetUnit::CodePoint);
        Self::with_offsets(report, &offsets)
    }

    /// A report whose findings take their offsets, in pairs, from `offsets`.
    pub(crate) fn with_offsets(report: vallum::Report, offsets: &[usize]) -> PyReport {
        let findings = report
            .findings
            .into_iter()
            .zip(offsets.chunks_exact(2))
            .map(|(f, se)| PyFinding {
                category: f.category,
                kind: f.kind,
                rule: f.rule,
                start: se[0],
                end: se[1],
                score: f.score,
                action: f.action,
                detail: f.detail,
            })
            .collect();
        PyReport {
            verdict: report.verdict,
            score: report.score,
            findings,
        }
    }
}

#[pymethods]
impl PyReport {
    /// The decision: `allow`, `flag` or `block` (the strongest action among the findings;
    /// `redact` shows as `flag`).
    #[getter]
    fn verdict<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        verdict_name(py, self.verdict)
    }

    /// The highest finding score, 0.0 when there are none.
    #[getter]
    fn score(&self) -> f64 {
        py_float(self.score)
    }

    /// What was found, sorted by position (a new list on each access).
    #[getter]
    fn findings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.findings.iter().cloned())
    }

    /// Whether the verdict is `block`.
    #[getter]
    fn blocked(&self) -> bool {
        self.verdict == Verdict::Block
    }

    /// The report as a plain dict (JSON-ready).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("verdict", self.verdict(py))?;
        d.set_item("score", self.score())?;
        let findings = PyList::empty(py);
        for f in &self.findings {
            findings.append(f.to_dict(py)?)?;
        }
        d.set_item("findings", findings)?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let findings: Vec<String> = self.findings.iter().map(|f| f.__repr__(py)).collect();
        format!(
            "Report(verdict={}, score={}, findings=[{}])",
            py_repr(py, self.verdict.as_str()),
            self.score,
            findings.join(", ")
        )
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let rebuild = py.import("vallum._vallum")?.getattr("_report")?;
        let findings = self.findings(py)?;
        Ok((rebuild, (findings,).into_pyobject(py)?))
    }
}

/// Rebuilds a pickled `Report`; the verdict and score are derived from the findings by the
/// core, as for a scan.
#[pyfunction]
#[pyo3(name = "_report")]
#[allow(clippy::needless_pass_by_value)] // pyo3 extracts arguments by value
pub(crate) fn rebuild_report(findings: Vec<Bound<'_, PyFinding>>) -> PyReport {
    let mut offsets = Vec::with_capacity(findings.len() * 2);
    let core = findings
        .iter()
        .map(|f| {
            let f = f.get();
            offsets.extend([f.start, f.end]);
            let mut core = vallum::Finding::new(
                f.category,
                Arc::clone(&f.kind),
                Arc::clone(&f.rule),
                vallum::Span::new(f.start, f.end),
                f.score,
            );
            core.action = f.action;
            core.detail.clone_from(&f.detail);
            core
        })
        .collect();
    PyReport::with_offsets(vallum::Report::from_findings(core), &offsets)
}
