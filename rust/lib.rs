//! snnconv core in plain Rust: kernel learning (`kernels`), the ConvSNN spiking
//! front-end (`snn`), CoLaNET (`colanet`), the ULSNN baseline (`ulsnn`), video
//! preprocessing (`preprocess`), scheduling (`threads`) and one error type by kind
//! (`error`). The Python binding is the `python` module (`rust/python/`), the only
//! place that uses pyo3, compiled only with the `python` feature.

pub mod colanet;
pub mod error;
pub mod kernels;
mod lanes;
pub mod limits;
mod pages;
pub mod preprocess;
#[cfg(test)]
mod props;
pub mod resource;
pub mod rng;
pub mod snn;
pub mod threads;
pub mod ulsnn;

#[cfg(feature = "python")]
mod python;
