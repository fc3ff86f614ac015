//! Helpers shared by the bindings: error mapping and thread pools.

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::ThreadPool;

use crate::error::Error;

/// The pool of `n` threads, built once and kept: calls that process a few images
/// would otherwise spend more time starting threads than computing.
fn pool(n: usize) -> PyResult<Arc<ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&n) {
        return Ok(Arc::clone(p));
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("could not start threads: {e}")))?;
    let p = Arc::new(p);
    pools.insert(n, Arc::clone(&p));
    Ok(p)
}

/// Every core error is a ValueError whose message starts with the parameter name.
pub fn to_py(err: Error) -> PyErr {
    PyValueError::new_err(err.to_string())
}

/// Runs `f` on a rayon pool of `n_threads` threads (all cores when None). A panic
/// inside becomes a RuntimeError instead of reaching Python as a crash.
pub fn with_threads<T: Send>(
    n_threads: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    let run = || std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let result = match n_threads {
        None => run(),
        Some(0) => {
            return Err(PyValueError::new_err(
                "n_threads: must be None or >= 1, got 0",
            ))
        }
        Some(n) => pool(n)?.install(run),
    };
    result.map_err(|p| {
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
