//! The L population's membrane state (docs/algorithms.md §3): leaky integration with a floor at 0,
//! optional uniform stochastic stimulation, and the gating counter that makes a
//! neuron "sleepy" (deaf to input, unable to fire) for a number of steps.

use rand_core::Rng;
use rand_pcg::Pcg64;

#[derive(Debug, Clone, PartialEq)]
pub struct Lif {
    /// Membrane potentials u.
    pub u: Vec<f64>,
    /// Remaining blocked steps (the gating counter A of the manual, as a count-down).
    pub block: Vec<u32>,
    /// Impacts arriving in the current step.
    pub input: Vec<f64>,
    /// Whether a fixed excitatory (forcing) impact arrived in the current step.
    pub forced: Vec<bool>,
    /// Whether the neuron may fire in the current step (not blocked).
    pub awake: Vec<bool>,
    decay: f64,
}

/// Uniform in [0, 1) with 53 random bits.
#[inline]
pub fn uniform(rng: &mut Pcg64) -> f64 {
    unit(rng.next_u64())
}

#[inline(always)]
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The LCG multiplier of `Pcg64` (PCG XSL RR 128/64).
const PCG_MULTIPLIER: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;

/// `Pcg64`'s output function (XSL RR) of a state.
#[inline(always)]
fn pcg_output(state: u128) -> u64 {
    let rot = (state >> 122) as u32;
    (((state >> 64) as u64) ^ (state as u64)).rotate_right(rot)
}

/// `v ← v · decay`, then `v += sigma · uniform(rng)`, for every v in order: the same
/// products, draws, sums and final generator state as those two loops, four draws at
/// a time. The four lanes step the LCG
/// four states apart (state ← M⁴·state + c·(M³ + M² + M + 1)), so the 128-bit
/// multiplications of consecutive draws no longer wait for each other.
#[inline(always)]
pub fn leak_and_add_uniforms(rng: &mut Pcg64, decay: f64, sigma: f64, values: &mut [f64]) {
    const M: u128 = PCG_MULTIPLIER;
    let inc = (rng.stream() << 1) | 1;
    let mut state = rng.state();
    let mut chunks = values.chunks_exact_mut(4);
    let rounds = chunks.len();
    if rounds > 0 {
        let m2 = M.wrapping_mul(M);
        let m4 = m2.wrapping_mul(m2);
        let c4 = inc.wrapping_mul(
            m2.wrapping_mul(M)
                .wrapping_add(m2)
                .wrapping_add(M)
                .wrapping_add(1),
        );
        let mut lanes = [0u128; 4];
        for lane in &mut lanes {
            state = state.wrapping_mul(M).wrapping_add(inc);
            *lane = state;
        }
        for (round, chunk) in chunks.by_ref().enumerate() {
            for (v, &x) in chunk.iter_mut().zip(&lanes) {
                *v = *v * decay + sigma * unit(pcg_output(x));
            }
            state = lanes[3];
            if round + 1 < rounds {
                for x in &mut lanes {
                    *x = x.wrapping_mul(m4).wrapping_add(c4);
                }
            }
        }
    }
    for v in chunks.into_remainder() {
        state = state.wrapping_mul(M).wrapping_add(inc);
        *v = *v * decay + sigma * unit(pcg_output(state));
    }
    *rng = Pcg64::from_state(state, inc >> 1);
}

impl Lif {
    pub fn new(n: usize, tau_v: f64) -> Self {
        Self {
            u: vec![0.0; n],
            block: vec![0; n],
            input: vec![0.0; n],
            forced: vec![false; n],
            awake: vec![true; n],
            decay: 1.0 - 1.0 / tau_v,
        }
    }

    pub fn reset(&mut self) {
        self.u.fill(0.0);
        self.block.fill(0);
        self.awake.fill(true);
    }

    /// Step start: leak u ← u(1 − 1/τ_v), then u += σ·ξ; clears the step's impacts.
    pub fn begin_step(&mut self, sigma: f64, rng: &mut Pcg64) {
        for u in &mut self.u {
            *u *= self.decay;
        }
        if sigma > 0.0 {
            for u in &mut self.u {
                *u += sigma * uniform(rng);
            }
        }
        self.input.fill(0.0);
        self.forced.fill(false);
    }

    /// The leak and the stochastic stimulation of [`Lif::begin_step`] alone, in one
    /// pass with the draws four at a time ([`leak_and_add_uniforms`]; same results).
    #[inline(always)]
    pub fn leak(&mut self, sigma: f64, rng: &mut Pcg64) {
        if sigma > 0.0 {
            leak_and_add_uniforms(rng, self.decay, sigma, &mut self.u);
        } else {
            for u in &mut self.u {
                *u *= self.decay;
            }
        }
    }

    /// A gating spike of weight −g blocks neuron j for g steps, counting the current
    /// one; a longer running block is kept.
    #[inline]
    pub fn block_for(&mut self, j: usize, steps: u32) {
        self.block[j] = self.block[j].max(steps);
    }

    /// Applies the impacts to awake neurons; a blocked neuron keeps its pre-impact
    /// potential (the leak still acts) and counts its block down.
    pub fn integrate(&mut self) {
        for j in 0..self.u.len() {
            if self.block[j] > 0 {
                self.block[j] -= 1;
                self.awake[j] = false;
            } else {
                self.u[j] += self.input[j];
                self.awake[j] = true;
            }
        }
    }

    /// After the spike test: reset the firing neurons to 0 (done by the caller) and
    /// clamp every potential at the floor u_MIN = 0.
    pub fn floor(&mut self) {
        for u in &mut self.u {
            *u = u.max(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;

    #[test]
    fn four_lane_draws_equal_one_at_a_time() {
        for n in 0..23 {
            for seed in 0..3 {
                let mut a = rng::stream(seed, rng::purpose::NETWORK, n as u64);
                let mut b = a.clone();
                let start: Vec<f64> = (0..n).map(|j| j as f64 * 0.37).collect();
                let mut want = start.clone();
                for v in &mut want {
                    *v *= 2.0 / 3.0;
                }
                for v in &mut want {
                    *v += 2.212 * uniform(&mut a);
                }
                let mut got = start;
                leak_and_add_uniforms(&mut b, 2.0 / 3.0, 2.212, &mut got);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "n = {n}");
                assert_eq!(a.next_u64(), b.next_u64(), "state after n = {n}");
            }
        }
    }

    #[test]
    fn leak_block_and_floor() {
        let mut r = rng::stream(0, rng::purpose::NETWORK, 0);
        let mut l = Lif::new(2, 3.0);
        l.u = vec![9.0, 9.0];
        l.block_for(1, 2);
        l.begin_step(0.0, &mut r);
        l.input = vec![-10.0, -10.0];
        l.integrate();
        l.floor();
        assert_eq!(l.u[0], 0.0);
        assert!((l.u[1] - 6.0).abs() < 1e-12);
        assert_eq!(l.awake, vec![true, false]);
        l.begin_step(0.0, &mut r);
        l.input = vec![1.0, 1.0];
        l.integrate();
        assert_eq!(l.u[0], 1.0);
        assert!((l.u[1] - 4.0).abs() < 1e-12);
        l.begin_step(0.0, &mut r);
        l.input = vec![1.0, 1.0];
        l.integrate();
        assert!(l.awake[1]);
        assert!((l.u[1] - (4.0 * 2.0 / 3.0 + 1.0)).abs() < 1e-12);
    }
}
