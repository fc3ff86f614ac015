//! ULSNN: the unsupervised STDP network of Diehl & Cook (2015), the baseline of docs/algorithms.md §7.
//!
//! The dynamics follow BindsNET's `DiehlAndCook2015` reproduction (current-based LIF,
//! 1 ms steps, `time` steps per image then a rest that resets the state), because that
//! is the implementation whose accuracy (≈ 80 % with 100 neurons) is the usual reference point:
//!
//! - `encoder`: Poisson input spikes, one seeded stream per presentation;
//! - `neurons`: excitatory LIF with adaptive threshold θ, inhibitory LIF;
//! - `stdp`: pre/post traces, the `PostPre` rule and column normalisation;
//! - `network`: the step loop wiring them together (input → E, E → I one-to-one,
//!   I → all other E), the intensity-increase retries, training and inference.
//!
//! The class readout (assignment by mean response) works on the spike counts returned
//! here and lives in Python (`snnconv.baselines.ulsnn`).

mod encoder;
mod network;
mod neurons;
mod params;
mod stdp;

pub use encoder::PoissonEncoder;
pub use network::{Presentation, Sim, Ulsnn};
pub use neurons::{LifLayer, LifParams};
pub use params::UlsnnParams;
pub use stdp::{normalise_columns, PostTrace, PreTrace};
