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
    /// Lane layout of the stimulation draws over the population (AVX-512 build).
    #[cfg_attr(not(all(target_arch = "x86_64", snnconv_avx512)), allow(dead_code))]
    draws: DrawPlan,
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

/// Where the draws of one [`leak_and_add_uniforms_avx512`] call over `n` values come
/// from: the generator state k draws on from state s is M^k·s + c·S_k (S_k = M^(k−1) +
/// … + M + 1, c the increment), so each lane's first state is one 128-bit
/// multiply-add away from s and the two halves of the values run as two independent
/// chains of eight lanes. Depends only on `n`; computed once per population.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(all(target_arch = "x86_64", snnconv_avx512)), allow(dead_code))]
pub struct DrawPlan {
    n: usize,
    /// Rounds of eight values run by the first chain (the second runs the rest).
    half: usize,
    /// (M^k, S_k) of the first chain's lanes, k = 1..=8, and of the second chain's,
    /// k = 8·half + 1..=8·half + 8, as (high, low) u64 halves for vector loads.
    first: [[u64; 8]; 4],
    second: [[u64; 8]; 4],
    /// (M⁸, S₈): one round on, and (M^n, S_n): the state after the call.
    round: (u128, u128),
    end: (u128, u128),
}

impl DrawPlan {
    pub fn new(n: usize) -> Self {
        const M: u128 = PCG_MULTIPLIER;
        let half = n.div_ceil(8).div_ceil(2);
        let mut plan = Self {
            n,
            half,
            first: [[0; 8]; 4],
            second: [[0; 8]; 4],
            round: (0, 0),
            end: (1, 0),
        };
        let put = |lanes: &mut [[u64; 8]; 4], l: usize, (m, s): (u128, u128)| {
            lanes[0][l] = (m >> 64) as u64;
            lanes[1][l] = m as u64;
            lanes[2][l] = (s >> 64) as u64;
            lanes[3][l] = s as u64;
        };
        // (M^k, S_k) for k = 1, 2, …
        let (mut m, mut s) = (1u128, 0u128);
        for k in 1..=(8 * half + 8).max(n) {
            (m, s) = (m.wrapping_mul(M), s.wrapping_mul(M).wrapping_add(1));
            if k <= 8 {
                put(&mut plan.first, k - 1, (m, s));
            }
            if k > 8 * half && k <= 8 * half + 8 {
                put(&mut plan.second, k - 8 * half - 1, (m, s));
            }
            if k == 8 {
                plan.round = (m, s);
            }
            if k == n {
                plan.end = (m, s);
            }
        }
        plan
    }
}

/// (h, o)·(mh, ml) + (ch, cl) mod 2¹²⁸ in each of eight lanes (u128 as high and low
/// u64 halves), the 128-bit product built from 32-bit ones.
#[cfg(all(target_arch = "x86_64", snnconv_avx512))]
#[allow(clippy::incompatible_msrv)] // only built by Rust ≥ 1.89 (see build.rs)
#[target_feature(enable = "avx512f,avx512dq")]
#[inline]
fn mul_add_128(
    (h, o): (std::arch::x86_64::__m512i, std::arch::x86_64::__m512i),
    (mh, ml): (std::arch::x86_64::__m512i, std::arch::x86_64::__m512i),
    (ch, cl): (std::arch::x86_64::__m512i, std::arch::x86_64::__m512i),
) -> (std::arch::x86_64::__m512i, std::arch::x86_64::__m512i) {
    use std::arch::x86_64::*;
    let low32 = _mm512_set1_epi64(0xFFFF_FFFF);
    let ml_hi = _mm512_srli_epi64::<32>(ml);
    let t = mul_epu32(o, ml);
    let o_hi = _mm512_srli_epi64::<32>(o);
    let u = _mm512_add_epi64(mul_epu32(o_hi, ml), _mm512_srli_epi64::<32>(t));
    let w = _mm512_add_epi64(mul_epu32(o, ml_hi), _mm512_and_si512(u, low32));
    let carry_hi = _mm512_add_epi64(
        _mm512_add_epi64(mul_epu32(o_hi, ml_hi), _mm512_srli_epi64::<32>(u)),
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
    (
        _mm512_mask_add_epi64(new_hi, carry, new_hi, _mm512_set1_epi64(1)),
        new_lo,
    )
}

/// `vpmuludq` (the low 32 bits of each u64 lane multiplied into a u64) as an opaque
/// instruction: with the intrinsic, LLVM recognises the four partial products of
/// [`mul_add_128`] as a 64 × 64 → 128-bit high product, which AVX-512 lacks, and
/// computes it with eight scalar multiplications and lane moves instead.
#[cfg(all(target_arch = "x86_64", snnconv_avx512))]
#[allow(clippy::incompatible_msrv)] // only built by Rust ≥ 1.89 (see build.rs)
#[target_feature(enable = "avx512f")]
#[inline]
fn mul_epu32(
    a: std::arch::x86_64::__m512i,
    b: std::arch::x86_64::__m512i,
) -> std::arch::x86_64::__m512i {
    let out;
    // SAFETY: a register-only AVX-512F instruction (the CPU has AVX-512F).
    unsafe {
        std::arch::asm!(
            "vpmuludq {out}, {a}, {b}",
            out = lateout(zmm_reg) out,
            a = in(zmm_reg) a,
            b = in(zmm_reg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    out
}

/// A u128 broadcast to eight lanes as (high, low) halves.
#[cfg(all(target_arch = "x86_64", snnconv_avx512))]
#[allow(clippy::incompatible_msrv)] // only built by Rust ≥ 1.89 (see build.rs)
#[target_feature(enable = "avx512f,avx512dq")]
#[inline]
fn split_128(x: u128) -> (std::arch::x86_64::__m512i, std::arch::x86_64::__m512i) {
    use std::arch::x86_64::*;
    (
        _mm512_set1_epi64((x >> 64) as u64 as i64),
        _mm512_set1_epi64(x as u64 as i64),
    )
}

/// The eight lane states M^k·s + S_k·c of `lanes` ((M^k, S_k) as high and low halves).
#[cfg(all(target_arch = "x86_64", snnconv_avx512))]
#[allow(clippy::incompatible_msrv)] // only built by Rust ≥ 1.89 (see build.rs)
#[target_feature(enable = "avx512f,avx512dq")]
#[inline]
fn lane_states(
    state: u128,
    inc: u128,
    lanes: &[[u64; 8]; 4],
) -> (std::arch::x86_64::__m512i, std::arch::x86_64::__m512i) {
    use std::arch::x86_64::*;
    // SAFETY: eight u64 each.
    let [mh, ml, sh, sl] = unsafe {
        [
            _mm512_loadu_si512(lanes[0].as_ptr().cast()),
            _mm512_loadu_si512(lanes[1].as_ptr().cast()),
            _mm512_loadu_si512(lanes[2].as_ptr().cast()),
            _mm512_loadu_si512(lanes[3].as_ptr().cast()),
        ]
    };
    let zero = (_mm512_setzero_si512(), _mm512_setzero_si512());
    let c = mul_add_128(split_128(inc), (sh, sl), zero);
    mul_add_128(split_128(state), (mh, ml), c)
}

/// Round r of the leak: values[8r..] (eight, or the rest) ← v·decay + σ·ξ, ξ from the
/// lane states (h, o) through the output function (XSL RR) and 53 bits to [0, 1).
///
/// # Safety
/// 8r < values.len().
#[cfg(all(target_arch = "x86_64", snnconv_avx512))]
#[allow(clippy::incompatible_msrv)] // only built by Rust ≥ 1.89 (see build.rs)
#[target_feature(enable = "avx512f,avx512dq")]
#[inline]
unsafe fn leak_round(
    values: &mut [f64],
    r: usize,
    (h, o): (std::arch::x86_64::__m512i, std::arch::x86_64::__m512i),
    (decay, sigma): (std::arch::x86_64::__m512d, std::arch::x86_64::__m512d),
) {
    use std::arch::x86_64::*;
    let x = _mm512_xor_si512(h, o);
    let bits = _mm512_rorv_epi64(x, _mm512_srli_epi64::<58>(h));
    let scale = _mm512_set1_pd(1.0 / (1u64 << 53) as f64);
    let xi = _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64::<11>(bits)), scale);
    let left = values.len() - 8 * r;
    // SAFETY: 8r < len; a partial round reads and writes only its `left` lanes.
    unsafe {
        let at = values.as_mut_ptr().add(8 * r);
        if left >= 8 {
            let v = _mm512_loadu_pd(at);
            let v = _mm512_add_pd(_mm512_mul_pd(v, decay), _mm512_mul_pd(sigma, xi));
            _mm512_storeu_pd(at, v);
        } else {
            let k: __mmask8 = (1u8 << left) - 1;
            let v = _mm512_maskz_loadu_pd(k, at);
            let v = _mm512_add_pd(_mm512_mul_pd(v, decay), _mm512_mul_pd(sigma, xi));
            _mm512_mask_storeu_pd(at, k, v);
        }
    }
}

/// [`leak_and_add_uniforms`] with eight lanes in AVX-512 registers and two
/// independent chains: lane l of the first chain's round r holds the generator state
/// 8r + l + 1 draws on, the second chain starts 8·half draws further (see
/// [`DrawPlan`]); each chain steps eight states a round (state ← M⁸·state + c·S₈), so
/// the two 128-bit multiplication chains overlap. The output function, the conversion
/// (exact, below 2⁵³) and the leak run eight wide with the same IEEE operations (no
/// fused multiply-add); the last partial round is masked. Same values, same order
/// (each value gets the draw of its own position), same final generator state.
/// `plan` is `DrawPlan::new(values.len())` (one is built if it is not).
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
    plan: &DrawPlan,
) {
    use std::arch::x86_64::*;
    let n = values.len();
    if plan.n != n {
        // SAFETY: forwarded.
        return unsafe {
            leak_and_add_uniforms_avx512(rng, decay, sigma, values, &DrawPlan::new(n))
        };
    }
    let inc = (rng.stream() << 1) | 1;
    let state = rng.state();
    let end = plan
        .end
        .0
        .wrapping_mul(state)
        .wrapping_add(plan.end.1.wrapping_mul(inc));
    let rounds = n.div_ceil(8);
    if rounds > 0 {
        let zero = (_mm512_setzero_si512(), _mm512_setzero_si512());
        let step_m = split_128(plan.round.0);
        let step_c = split_128(plan.round.1.wrapping_mul(inc));
        let leak = (_mm512_set1_pd(decay), _mm512_set1_pd(sigma));
        let half = plan.half;
        let mut a = lane_states(state, inc, &plan.first);
        let mut b = if rounds > half {
            lane_states(state, inc, &plan.second)
        } else {
            zero
        };
        for r in 0..half {
            // SAFETY: round r < half ≤ rounds, and half + r < rounds, of `values`.
            unsafe { leak_round(values, r, a, leak) };
            let with_b = half + r < rounds;
            if with_b {
                // SAFETY: round half + r < rounds of `values` (checked on the line above).
                unsafe { leak_round(values, half + r, b, leak) };
            }
            if r + 1 < half {
                a = mul_add_128(a, step_m, step_c);
                if with_b && half + r + 1 < rounds {
                    b = mul_add_128(b, step_m, step_c);
                }
            }
        }
    }
    *rng = Pcg64::from_state(end, inc >> 1);
}

impl Lif {
    pub fn new(n: usize, tau_v: f64) -> Self {
        Self {
            u: vec![0.0; n],
            block: vec![0; n],
            input: vec![0.0; n],
            forced: vec![false; n],
            awake: vec![true; n],
            draws: DrawPlan::new(n),
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
            unsafe {
                leak_and_add_uniforms_avx512(rng, self.decay, sigma, &mut self.u, &self.draws)
            };
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
        for n in 0..70 {
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
                    unsafe {
                        leak_and_add_uniforms_avx512(
                            &mut c,
                            2.0 / 3.0,
                            2.212,
                            &mut wide,
                            &DrawPlan::new(n),
                        )
                    };
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
