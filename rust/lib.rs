//! snnconv core: kernel learning, spiking front-end and CoLaNET in plain Rust.
//! The Python binding lives in `python/` and is compiled only with the
//! `python` feature.

pub mod colanet;
pub mod error;
pub mod kernels;
mod pages;
pub mod preprocess;
pub mod resource;
pub mod rng;
pub mod snn;
pub mod threads;
pub mod ulsnn;

#[cfg(feature = "python")]
mod python;
