//! The PyO3 binding layer: argument conversion, error mapping and GIL release.
//! Nothing here computes; every function forwards to the pure-Rust core.

mod colanet;
mod common;
mod kernels;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    kernels::register(m)?;
    colanet::register(m)?;
    Ok(())
}
