//! Hyperparameters shared by the spiking and the digital CoLaNET, with the defaults
//! of docs/algorithms.md §3.10 (Kiselev's KNP MNIST settings).

use crate::error::{Error, Result};
use crate::limits;

/// Largest accepted magnitude of the weights and the resource steps.
pub const MAGNITUDE_MAX: f64 = 1e6;
/// Longest frame in steps (bounds the time one example can take).
pub const MAX_FRAME_STEPS: u32 = 100_000;
/// Bytes of state per plastic synapse (resource, weight, contribution flag and its
/// place in the list of contributors).
pub const SYNAPSE_BYTES: usize = 21;
/// Largest accepted magnitude of the initial resource.
pub const RESOURCE_MAX: f64 = 1e12;

/// Hyperparameters (notes symbols in brackets).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Number of input nodes (features).
    pub n_inputs: usize,
    /// Number of columns (classes) [C].
    pub n_classes: usize,
    /// Learning neurons per column [M].
    pub microcolumns: usize,
    /// Base threshold of L neurons [H].
    pub threshold: f64,
    /// Threshold excess per unit of positive afferent weight [k].
    pub threshold_excess: f64,
    /// Membrane time constant in steps [τ_v]; 1 means no memory, ∞ no leak.
    pub tau_v: f64,
    /// Anti-Hebbian resource step, negative [d_H].
    pub hebbian: f64,
    /// Reward (dopamine) resource step, positive [D].
    pub reward: f64,
    /// Stability change ratio [r].
    pub stability_ratio: f64,
    /// Weight of a fully depressed synapse [w_min].
    pub w_min: f64,
    /// Supremum of weights [w_max].
    pub w_max: f64,
    /// Initial weight of every plastic synapse (mapped to its resource).
    pub initial_weight: f64,
    /// Imaginary silent synapses sharing renormalisation [n_s]; None = no conservation.
    pub silent_synapses: Option<u32>,
    /// |free pool| at which it is spread over the synapses.
    pub renorm_threshold: f64,
    /// Window before a tight spike sequence in which an input counts as contributing [T_H].
    pub hebbian_window: u32,
    /// Reward is applied if the neuron fired at most this many steps ago [T_D].
    pub dopamine_time: u32,
    /// Longest inter-spike interval inside a tight spike sequence [ISI_max].
    pub max_isi: u32,
    /// Steps during which inputs emit [T_p]; also the largest spike count per frame.
    pub presentation_steps: u32,
    /// Steps per frame [P].
    pub frame_steps: u32,
    /// Local step at which the Target node of the label fires (training only).
    pub label_step: u32,
    /// Amplitude of the per-step uniform stochastic stimulation [σ]; 0 = off.
    pub stochastic: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            n_inputs: 1,
            n_classes: 2,
            microcolumns: 20,
            threshold: 8.571,
            threshold_excess: 0.218,
            tau_v: 3.0,
            hebbian: -0.177,
            reward: 0.18,
            stability_ratio: 0.05,
            w_min: -0.253,
            w_max: 0.0924,
            initial_weight: 0.0,
            silent_synapses: Some(27),
            renorm_threshold: 1.0,
            hebbian_window: 10,
            dopamine_time: 10,
            max_isi: 10,
            presentation_steps: 10,
            frame_steps: 15,
            label_step: 9,
            stochastic: 0.0,
        }
    }
}

fn finite(name: &'static str, v: f64, ok: bool, range: &str) -> Result<()> {
    if v.is_finite() && ok {
        Ok(())
    } else {
        Err(Error::param(name, format!("must be {range}, got {v}")))
    }
}

impl Params {
    /// Number of L neurons of one copy.
    pub fn n_learning(&self) -> usize {
        self.n_classes * self.microcolumns
    }

    pub fn validate(&self) -> Result<()> {
        if self.n_inputs < 1 {
            return Err(Error::param("n_inputs", "must be >= 1"));
        }
        if self.n_classes < 2 {
            return Err(Error::param(
                "n_classes",
                format!("must be >= 2, got {}", self.n_classes),
            ));
        }
        if self.microcolumns < 1 {
            return Err(Error::param("microcolumns", "must be >= 1"));
        }
        // One copy's plastic synapses: resource and weight (f64), a contribution flag
        // and a contributor list entry (u32) per L neuron and input.
        limits::elements(
            "microcolumns",
            &[self.n_classes, self.microcolumns, self.n_inputs],
            SYNAPSE_BYTES,
        )?;
        finite("threshold", self.threshold, self.threshold > 0.0, "> 0")?;
        finite(
            "threshold_excess",
            self.threshold_excess,
            self.threshold_excess >= 0.0,
            ">= 0",
        )?;
        if self.tau_v.is_nan() || self.tau_v < 1.0 {
            return Err(Error::param(
                "tau_v",
                format!("must be >= 1 (inf = no leak), got {}", self.tau_v),
            ));
        }
        // Resource steps and weights are bounded in magnitude (MAGNITUDE_MAX) so
        // that w(W), its inverse and the resources reached stay finite
        // (docs/robustness.md).
        finite(
            "hebbian",
            self.hebbian,
            (-MAGNITUDE_MAX..=0.0).contains(&self.hebbian),
            "in [-1e6, 0]",
        )?;
        finite(
            "reward",
            self.reward,
            (0.0..=MAGNITUDE_MAX).contains(&self.reward),
            "in [0, 1e6]",
        )?;
        finite(
            "stability_ratio",
            self.stability_ratio,
            self.stability_ratio >= 0.0,
            ">= 0",
        )?;
        finite(
            "w_max",
            self.w_max,
            self.w_max.abs() <= MAGNITUDE_MAX,
            "in [-1e6, 1e6]",
        )?;
        finite(
            "w_min",
            self.w_min,
            self.w_min < self.w_max && self.w_min.abs() <= MAGNITUDE_MAX,
            &format!("in [-1e6, w_max = {})", self.w_max),
        )?;
        finite(
            "initial_weight",
            self.initial_weight,
            self.initial_weight >= self.w_min && self.initial_weight < self.w_max,
            &format!("in [w_min, w_max) = [{}, {})", self.w_min, self.w_max),
        )?;
        let r0 = self.initial_resource();
        if !(r0.is_finite() && r0.abs() <= RESOURCE_MAX) {
            return Err(Error::param(
                "initial_weight",
                format!(
                    "{} is too close to w_max = {}: its resource {r0} is not below {RESOURCE_MAX:e}",
                    self.initial_weight, self.w_max
                ),
            ));
        }
        finite(
            "renorm_threshold",
            self.renorm_threshold,
            self.renorm_threshold >= 0.0,
            ">= 0",
        )?;
        finite(
            "stochastic",
            self.stochastic,
            self.stochastic >= 0.0,
            ">= 0",
        )?;
        if self.presentation_steps < 1 || self.presentation_steps > 255 {
            return Err(Error::param(
                "presentation_steps",
                format!("must be in [1, 255], got {}", self.presentation_steps),
            ));
        }
        // The label, its gate, the forced firing, the reward (+3) and the reset (+4)
        // must all happen before the next frame's label.
        if self.frame_steps > MAX_FRAME_STEPS {
            return Err(Error::param(
                "frame_steps",
                format!("must be <= {MAX_FRAME_STEPS}, got {}", self.frame_steps),
            ));
        }
        if self.frame_steps < self.presentation_steps.max(5) {
            return Err(Error::param(
                "frame_steps",
                format!(
                    "must be >= max(presentation_steps, 5) = {}, got {}",
                    self.presentation_steps.max(5),
                    self.frame_steps
                ),
            ));
        }
        if self.label_step >= self.frame_steps {
            return Err(Error::param(
                "label_step",
                format!(
                    "must be in [0, frame_steps) = [0, {}), got {}",
                    self.frame_steps, self.label_step
                ),
            ));
        }
        Ok(())
    }

    /// Resource that gives the initial weight (inverse of w(W), docs/algorithms.md §3).
    pub fn initial_resource(&self) -> f64 {
        let span = self.w_max - self.w_min;
        let o = self.initial_weight - self.w_min;
        o * span / (span - o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::weight;

    #[test]
    fn defaults_validate_and_zero_weight_resource_matches_notes() {
        let p = Params::default();
        p.validate().unwrap();
        let w0 = p.initial_resource();
        assert!((w0 - 0.253 * 0.3454 / 0.0924).abs() < 1e-3, "{w0}");
        assert!(weight(w0, p.w_min, p.w_max).abs() < 1e-12);
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let p = Params {
            hebbian: 0.1,
            ..Params::default()
        };
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("hebbian:"));
        let p = Params {
            initial_weight: 0.0924,
            ..Params::default()
        };
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("initial_weight:"));
    }
}
