//! The PyO3 binding layer: argument conversion, error mapping and GIL release.
//! Nothing here computes; every function forwards to the pure-Rust core.

mod colanet;
mod common;
mod defaults;
mod errors;
mod kernels;
mod preprocess;
mod snn;
mod ulsnn;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // The source commit at build time (build.rs; "" outside a git checkout).
    m.add("__git_commit__", env!("SNNCONV_GIT_COMMIT"))?;
    kernels::register(m)?;
    preprocess::register(m)?;
    snn::register(m)?;
    ulsnn::register(m)?;
    colanet::register(m)?;
    defaults::register(m)?;
    common::register(m)?;
    Ok(())
}
