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

/// [`leak_and_add_uniforms`] with eight lanes in AVX-512 registers: lane l of a round
/// holds the generator state 8r + l + 1 steps on, all lanes step eight states at once
/// (state ← M⁸·state + c·(M⁷ + … + 1), the 128-bit products built from 32-bit ones),
/// and the output function, the conversion (exact, below 2⁵³) and the leak run eight
/// wide with the same IEEE operations (no fused multiply-add). Same values, same order,
/// same final generator state.
///
/// # Safety
/// The CPU has AVX-512F and AVX-512DQ.
#[cfg(all(target_arch = "x86_64", snnconv_avx512))]
#[allow(clippy::incompatible_msrv)] // only built by Rust ≥ 1.89 (see build.rs)
#[target_feature(enable = "avx512f,avx512dq")]
pub unsafe fn leak_and_add_uniforms_avx512(
    rng: &mut Pcg64,
    decay: f64,
    sigma: f64,
    values: &mut [f64],
) {
    use std::arch::x86_64::*;
    const M: u128 = PCG_MULTIPLIER;
    let inc = (rng.stream() << 1) | 1;
    let mut state = rng.state();
    let mut chunks = values.chunks_exact_mut(8);
    let rounds = chunks.len();
    if rounds > 0 {
        // M⁸ and c·(M⁷ + … + M + 1), mod 2¹²⁸.
        let (mut m8, mut c8) = (1u128, 0u128);
        for _ in 0..8 {
            c8 = c8.wrapping_mul(M).wrapping_add(inc);
            m8 = m8.wrapping_mul(M);
        }
        let mut hi = [0u64; 8];
        let mut lo = [0u64; 8];
        for l in 0..8 {
            state = state.wrapping_mul(M).wrapping_add(inc);
            hi[l] = (state >> 64) as u64;
            lo[l] = state as u64;
        }
        let mh = _mm512_set1_epi64((m8 >> 64) as u64 as i64);
        let ml = _mm512_set1_epi64(m8 as u64 as i64);
        let ml_hi = _mm512_srli_epi64::<32>(ml);
        let ch = _mm512_set1_epi64((c8 >> 64) as u64 as i64);
        let cl = _mm512_set1_epi64(c8 as u64 as i64);
        let low32 = _mm512_set1_epi64(0xFFFF_FFFF);
        let one = _mm512_set1_epi64(1);
        let scale = _mm512_set1_pd(1.0 / (1u64 << 53) as f64);
        let (vdecay, vsigma) = (_mm512_set1_pd(decay), _mm512_set1_pd(sigma));
        // SAFETY: eight u64 each.
        let mut h = unsafe { _mm512_loadu_si512(hi.as_ptr().cast()) };
        let mut o = unsafe { _mm512_loadu_si512(lo.as_ptr().cast()) };
        for (round, chunk) in chunks.by_ref().enumerate() {
            // Output (XSL RR), then 53 bits to [0, 1).
            let x = _mm512_xor_si512(h, o);
            let bits = _mm512_rorv_epi64(x, _mm512_srli_epi64::<58>(h));
            let xi = _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64::<11>(bits)), scale);
            // SAFETY: `chunk` holds eight f64.
            let v = unsafe { _mm512_loadu_pd(chunk.as_ptr()) };
            let v = _mm512_add_pd(_mm512_mul_pd(v, vdecay), _mm512_mul_pd(vsigma, xi));
            unsafe { _mm512_storeu_pd(chunk.as_mut_ptr(), v) };
            if round + 1 == rounds {
                break;
            }
            // (h, o) ← (h, o)·(mh, ml) + (ch, cl) mod 2¹²⁸, per lane.
            let t = _mm512_mul_epu32(o, ml);
            let o_hi = _mm512_srli_epi64::<32>(o);
            let u = _mm512_add_epi64(_mm512_mul_epu32(o_hi, ml), _mm512_srli_epi64::<32>(t));
            let w = _mm512_add_epi64(_mm512_mul_epu32(o, ml_hi), _mm512_and_si512(u, low32));
            let carry_hi = _mm512_add_epi64(
                _mm512_add_epi64(_mm512_mul_epu32(o_hi, ml_hi), _mm512_srli_epi64::<32>(u)),
                _mm512_srli_epi64::<32>(w),
            );
            let prod_lo = _mm512_mullo_epi64(o, ml);
            let prod_hi = _mm512_add_epi64(
                carry_hi,
                _mm512_add_epi64(_mm512_mullo_epi64(o, mh), _mm512_mullo_epi64(h, ml)),
            );
            let new_lo = _mm512_add_epi64(prod_lo, cl);
            let carry = _mm512_cmplt_epu64_mask(new_lo, cl);
            let new_hi = _mm512_add_epi64(prod_hi, ch);
            h = _mm512_mask_add_epi64(new_hi, carry, new_hi, one);
            o = new_lo;
        }
        // SAFETY: eight u64 each.
        unsafe {
            _mm512_storeu_si512(hi.as_mut_ptr().cast(), h);
            _mm512_storeu_si512(lo.as_mut_ptr().cast(), o);
        }
        state = (u128::from(hi[7]) << 64) | u128::from(lo[7]);
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

    /// [`Lif::leak`] with the draws eight at a time ([`leak_and_add_uniforms_avx512`]).
    ///
    /// # Safety
    /// The CPU has AVX-512F and AVX-512DQ.
    #[cfg(all(target_arch = "x86_64", snnconv_avx512))]
    #[inline(always)]
    pub unsafe fn leak_avx512(&mut self, sigma: f64, rng: &mut Pcg64) {
        if sigma > 0.0 {
            // SAFETY: forwarded.
            unsafe { leak_and_add_uniforms_avx512(rng, self.decay, sigma, &mut self.u) };
        } else {
            self.leak(sigma, rng);
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
        for n in 0..40 {
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
                let mut got = start.clone();
                #[cfg(all(target_arch = "x86_64", snnconv_avx512))]
                let mut c = b.clone();
                leak_and_add_uniforms(&mut b, 2.0 / 3.0, 2.212, &mut got);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "n = {n}");
                #[cfg(all(target_arch = "x86_64", snnconv_avx512))]
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                {
                    let mut wide = start.clone();
                    // SAFETY: the CPU has AVX-512F and DQ.
                    unsafe { leak_and_add_uniforms_avx512(&mut c, 2.0 / 3.0, 2.212, &mut wide) };
                    assert_eq!(bits(&wide), bits(&want), "eight lanes, n = {n}");
                    assert_eq!(
                        c.clone().next_u64(),
                        b.clone().next_u64(),
                        "eight lanes, n = {n}"
                    );
                }
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
