//! Running a scan off the event loop: the work goes to a small pool of Rust threads and the
//! result comes back to an `asyncio.Future` through `loop.call_soon_threadsafe`, so the
//! event loop never waits on a scan and no Python thread pool is involved.
//!
//! A foreign thread must not be inside the interpreter when it finalizes (a thread that
//! re-enters it then is torn down mid-call and the process aborts). So deliveries pass a
//! gate: an `atexit` hook, which runs before finalization, closes it and waits for the
//! deliveries under way; results of scans that finish later are dropped (nobody is left
//! to await them).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Condvar, Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyCFunction;

use crate::error::{Error, VallumError};

/// Sets a future's result or exception unless it is already done (cancelled meanwhile).
/// Runs on the event loop's thread.
#[pyfunction]
#[pyo3(name = "_resolve")]
pub(crate) fn resolve(
    future: &Bound<'_, PyAny>,
    ok: bool,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    if ok {
        future.call_method1("set_result", (value,))?;
    } else {
        future.call_method1("set_exception", (value,))?;
    }
    Ok(())
}

/// Deliveries under way, and whether the interpreter is shutting down.
struct Gate {
    state: Mutex<(bool, usize)>,
    idle: Condvar,
}

static GATE: Gate = Gate {
    state: Mutex::new((false, 0)),
    idle: Condvar::new(),
};

impl Gate {
    /// Counts a delivery in, unless the interpreter is shutting down.
    fn enter(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.0 {
            return false;
        }
        state.1 += 1;
        true
    }

    fn leave(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.1 -= 1;
        if state.1 == 0 {
            self.idle.notify_all();
        }
    }

    /// Closes the gate and waits for the deliveries under way.
    fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 = true;
        while state.1 > 0 {
            state = self
                .idle
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// The `atexit` hook: no async scan result enters the interpreter after it returns.
#[pyfunction]
#[pyo3(name = "_shutdown")]
pub(crate) fn shutdown(py: Python<'_>) {
    py.detach(|| GATE.close());
}

/// The async scan threads: a process pool, so that a forked child starts its own.
static POOL: vallum::pool::ProcessPool = vallum::pool::ProcessPool::new("vallum-async");

fn pool() -> PyResult<std::sync::Arc<rayon::ThreadPool>> {
    POOL.get()
        .map_err(|e| VallumError::new_err(format!("cannot start the async scan threads: {e}")))
}

/// Starts `work` on the pool and returns an `asyncio.Future` of the running loop that
/// `convert` (called with the interpreter attached) completes. Raises `RuntimeError` when
/// called outside a running event loop, as `asyncio.to_thread` does.
pub(crate) fn spawn<'py, T, W, C>(
    py: Python<'py>,
    work: W,
    convert: C,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    W: FnOnce() -> Result<T, Error> + Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Py<PyAny>> + Send + 'static,
{
    static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static RESOLVE: PyOnceLock<Py<PyCFunction>> = PyOnceLock::new();
    let get_loop = GET_RUNNING_LOOP.get_or_try_init(py, || {
        py.import("asyncio")?
            .getattr("get_running_loop")
            .map(Bound::unbind)
    })?;
    let resolve = RESOLVE
        .get_or_try_init(py, || wrap_pyfunction!(resolve, py).map(Bound::unbind))?
        .clone_ref(py);
    let event_loop = get_loop.bind(py).call0()?;
    let future = event_loop.call_method0("create_future")?;
    let pool = pool()?;
    let event_loop = event_loop.unbind();
    let target = future.clone().unbind();
    pool.spawn(move || {
        let outcome = catch_unwind(AssertUnwindSafe(work));
        if !GATE.enter() {
            // The interpreter is shutting down: there is no one left to tell. (The Python
            // objects this job holds go to PyO3's pool of deferred releases.)
            return;
        }
        Python::try_attach(|py| {
            let value = match outcome {
                Ok(Ok(v)) => convert(py, v),
                Ok(Err(e)) => Err(PyErr::from(e)),
                Err(_) => Err(VallumError::new_err(
                    "internal error: the scan panicked (please report this as a bug)",
                )),
            };
            let (ok, value) = match value {
                Ok(v) => (true, v),
                Err(e) => (false, e.into_value(py).into_any()),
            };
            // Fails only when the loop is closed: the result has nowhere to go.
            let _ =
                event_loop.call_method1(py, "call_soon_threadsafe", (resolve, target, ok, value));
            drop(event_loop);
        });
        GATE.leave();
    });
    Ok(future)
}
