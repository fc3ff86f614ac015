//! Current-based LIF populations with BindsNET's update order (per 1 ms step):
//! decay towards rest, add the input unless refractory, count the refractory period
//! down, compare with the threshold, reset the ones that crossed.
//!
//! Current-based rather than conductance-based (the paper's choice) because the anchor
//! accuracy comes from BindsNET, which is current-based.

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LifParams {
    pub rest: f64,
    pub reset: f64,
    pub thresh: f64,
    /// Steps during which input is ignored after a spike.
    pub refrac: u32,
    /// Membrane time constant in ms.
    pub tc_decay: f64,
}

impl LifParams {
    /// BindsNET `DiehlAndCookNodes` as configured by `DiehlAndCook2015`.
    pub const EXCITATORY: LifParams = LifParams {
        rest: -65.0,
        reset: -60.0,
        thresh: -52.0,
        refrac: 5,
        tc_decay: 100.0,
    };
    /// BindsNET `LIFNodes` of the inhibitory layer.
    pub const INHIBITORY: LifParams = LifParams {
        rest: -60.0,
        reset: -45.0,
        thresh: -40.0,
        refrac: 2,
        tc_decay: 10.0,
    };

    pub fn validate(&self, name: &'static str) -> Result<()> {
        let finite = self.rest.is_finite() && self.reset.is_finite() && self.thresh.is_finite();
        if !(finite && self.tc_decay.is_finite() && self.tc_decay > 0.0) {
            return Err(Error::param(
                name,
                "potentials and tc_decay must be finite, tc_decay > 0",
            ));
        }
        // A reset or rest at or above threshold would fire every step.
        if self.reset >= self.thresh || self.rest >= self.thresh {
            return Err(Error::param(name, "rest and reset must lie below thresh"));
        }
        Ok(())
    }

    fn decay(&self) -> f64 {
        (-1.0 / self.tc_decay).exp()
    }
}

/// A population of LIF neurons. The excitatory layer passes its adaptive thresholds θ
/// (learned state owned by the network); the inhibitory layer passes none.
#[derive(Debug, Clone)]
pub struct LifLayer {
    p: LifParams,
    decay: f64,
    pub v: Vec<f64>,
    refrac: Vec<u32>,
}

impl LifLayer {
    pub fn new(p: LifParams, n: usize) -> Self {
        Self {
            p,
            decay: p.decay(),
            v: vec![p.rest; n],
            refrac: vec![0; n],
        }
    }

    /// The rest between presentations: potentials at rest, no refractoriness.
    pub fn reset_state(&mut self) {
        self.v.fill(self.p.rest);
        self.refrac.fill(0);
    }

    /// One step with input currents `x` and threshold offsets `theta`; pushes the
    /// indices that crossed `thresh + θ` (in increasing order) onto `crossed`.
    pub fn step(&mut self, x: &[f64], theta: Option<&[f64]>, crossed: &mut Vec<usize>) {
        let p = self.p;
        for (j, ((v, r), &xj)) in self
            .v
            .iter_mut()
            .zip(self.refrac.iter_mut())
            .zip(x)
            .enumerate()
        {
            *v = p.rest + self.decay * (*v - p.rest);
            if *r > 0 {
                *r -= 1;
            } else {
                *v += xj;
            }
            let th = theta.map_or(0.0, |t| t[j]);
            if *v >= p.thresh + th {
                *v = p.reset;
                *r = p.refrac;
                crossed.push(j);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Constant drive c from rest: the straightforward recurrence, spike steps listed.
    fn reference(p: LifParams, c: f64, theta: f64, steps: usize) -> Vec<usize> {
        let d = (-1.0 / p.tc_decay).exp();
        let (mut v, mut r, mut out) = (p.rest, 0u32, vec![]);
        for t in 0..steps {
            v = p.rest + d * (v - p.rest);
            if r > 0 {
                r -= 1;
            } else {
                v += c;
            }
            if v >= p.thresh + theta {
                v = p.reset;
                r = p.refrac;
                out.push(t);
            }
        }
        out
    }

    #[test]
    fn constant_drive_fires_at_expected_steps_and_respects_refractoriness() {
        let p = LifParams::EXCITATORY;
        let mut l = LifLayer::new(p, 1);
        let mut crossed = vec![];
        let mut fired = vec![];
        for t in 0..60 {
            crossed.clear();
            l.step(&[5.0], Some(&[0.0]), &mut crossed);
            if !crossed.is_empty() {
                fired.push(t);
            }
        }
        // By hand: v = -60, -55.05, -50.15 ≥ -52 → spike at step 2; steps 3..=7 are
        // refractory (v decays from -60 to -60.24), then -55.29, -50.39 → spike at 9.
        assert_eq!(fired[..2], [2, 9]);
        assert_eq!(fired, reference(p, 5.0, 0.0, 60));
        for w in fired.windows(2) {
            assert!(w[1] - w[0] > p.refrac as usize);
        }
        // A higher threshold offset delays the first spike.
        let mut l = LifLayer::new(p, 1);
        let mut first = None;
        for t in 0..60 {
            crossed.clear();
            l.step(&[5.0], Some(&[3.0]), &mut crossed);
            if !crossed.is_empty() && first.is_none() {
                first = Some(t);
            }
        }
        assert_eq!(first, reference(p, 5.0, 3.0, 60).first().copied());
        assert!(first.unwrap() > 2);
    }

    #[test]
    fn inhibitory_neuron_fires_on_one_excitatory_spike() {
        let mut l = LifLayer::new(LifParams::INHIBITORY, 2);
        let mut s = vec![];
        l.step(&[22.5, 0.0], None, &mut s);
        assert_eq!(s, [0]);
    }

    #[test]
    fn bad_lif_parameters_are_named() {
        let mut p = LifParams::EXCITATORY;
        p.reset = -50.0;
        assert!(p
            .validate("exc_neuron")
            .unwrap_err()
            .to_string()
            .starts_with("exc_neuron:"));
    }
}
