//! Helpers shared by the bindings: the panic guard around core calls.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::error::Error;
use crate::threads;

/// An output array that does not match its buffer (a bug), as an error instead of
/// a panic.
pub fn shape_error(e: ndarray::ShapeError) -> PyErr {
    Error::resource("output", format!("internal shape mismatch: {e}")).into()
}

/// Runs `f` on `n_threads` threads (all cores when None; the pools and the check of
/// `n_threads` are the core's, `crate::threads`). A panic inside becomes a
/// RuntimeError instead of reaching Python as a crash.
pub fn with_threads<T: Send>(
    n_threads: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    let run = || std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    threads::install(n_threads, run)?.map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown".into());
        PyRuntimeError::new_err(format!(
            "internal error in snnconv core (please report): {msg}"
        ))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_panic_for_test, m)?)?;
    Ok(())
}

/// Test hook, not part of the API: panics inside a parallel loop on `n_threads`
/// threads, so a test can check that the guard of [`with_threads`] turns a panic on
/// a worker thread into the RuntimeError the user sees (no code path of the core
/// panics on purpose, so nothing else can exercise the guard).
#[pyfunction]
#[pyo3(signature = (n_threads=None))]
fn _panic_for_test(py: Python<'_>, n_threads: Option<usize>) -> PyResult<()> {
    use rayon::prelude::*;
    py.detach(|| {
        with_threads(n_threads, || {
            (0..64usize).into_par_iter().for_each(|i| {
                if i == 63 {
                    panic!("deliberate panic of the test hook");
                }
            })
        })
    })
}
