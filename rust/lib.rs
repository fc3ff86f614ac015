//! snnconv core: kernel learning, spiking front-end and CoLaNET in plain Rust.
//! The Python binding lives in `python.rs` and is compiled only with the
//! `python` feature.

pub mod colanet;
pub mod conv;
pub mod error;
pub mod image;
pub mod kernels;
mod lanes;
mod pages;
pub mod prepared;
pub mod preprocess;
pub mod responses;
pub mod rng;
pub mod snn;
pub mod ulsnn;

#[cfg(feature = "python")]
mod python;
