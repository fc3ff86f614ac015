//! CoLaNET (docs/algorithms.md §3–4): the spiking classifier with local anti-Hebbian and dopamine
//! plasticity, and its non-spiking "digital" approximation.
//!
//! Shared pieces live in their own files: the hyperparameters ([`params`]), the spike
//! schedule of an input frame ([`encode`]), the plastic synapses with resource
//! conservation ([`synapses`]) and the stability law ([`stability`]).

pub mod digital;
pub mod encode;
pub mod ensemble;
#[cfg(test)]
mod equivalence;
pub mod lanes;
pub mod network;
pub mod neuron;
pub mod params;
pub mod plasticity;
pub mod stability;
pub mod synapses;

pub use params::Params;
