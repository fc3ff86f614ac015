//! Plastic afferents of the learning neurons: resources W, weights w(W) with
//! per-population w_min/w_max (docs/algorithms.md §3), running Σw⁺ for the threshold excess, and
//! resource conservation with n_s silent synapses (docs/algorithms.md §3).
//!
//! Resources are stored neuron-major (plasticity touches one neuron's row); weights
//! input-major, so one input spike adds one contiguous row to all potentials. Each
//! weight row is padded with zeros to a multiple of eight neurons and starts on a cache
//! line, so the input sum reads whole four-lane chunks that never straddle two lines
//! (see [`super::lanes`]).

use super::lanes::{avx2_available, Kernel};
use crate::resource::weight;

/// One cache line of weights: the storage unit of the weight rows (64-byte aligned).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, align(64))]
struct Line([f64; 8]);

/// Zero-filled weight storage of `len` f64 (a multiple of 8), cache-line aligned.
#[derive(Debug, Clone, PartialEq)]
struct AlignedWeights(Vec<Line>);

impl AlignedWeights {
    fn zeros(len: usize) -> Self {
        debug_assert!(len % 8 == 0);
        Self(crate::pages::filled(len / 8, Line([0.0; 8])))
    }
    #[inline]
    fn as_slice(&self) -> &[f64] {
        // SAFETY: `Line` is `repr(C)` around `[f64; 8]`, 64 bytes with no padding, so
        // the lines are 8·len contiguous, initialised f64.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<f64>(), self.0.len() * 8) }
    }
    #[inline]
    fn as_mut_slice(&mut self) -> &mut [f64] {
        // SAFETY: as in `as_slice`, with exclusive access.
        unsafe {
            std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<f64>(), self.0.len() * 8)
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Synapses {
    n_in: usize,
    n_post: usize,
    w_min: f64,
    w_max: f64,
    silent: Option<u32>,
    renorm_threshold: f64,
    /// W, (n_post, n_in).
    resource: Vec<f64>,
    /// w(W) transposed, (n_in, stride): row i holds the n_post weights of input i,
    /// then zeros up to `stride` (n_post rounded up to a multiple of 8).
    weight_t: AlignedWeights,
    stride: usize,
    /// Σ_i max(w_ji, 0) per neuron.
    pos_sum: Vec<f64>,
    /// Free resource pool F per neuron.
    free: Vec<f64>,
}

impl Synapses {
    pub fn new(
        n_in: usize,
        n_post: usize,
        (w_min, w_max): (f64, f64),
        silent: Option<u32>,
        renorm_threshold: f64,
        initial_resource: f64,
    ) -> Self {
        let stride = n_post.div_ceil(8) * 8;
        let mut s = Self {
            n_in,
            n_post,
            w_min,
            w_max,
            silent,
            renorm_threshold,
            resource: crate::pages::filled(n_in * n_post, initial_resource),
            weight_t: AlignedWeights::zeros(n_in * stride),
            stride,
            pos_sum: vec![0.0; n_post],
            free: vec![0.0; n_post],
        };
        // Every synapse starts with the same resource, so every neuron gets what
        // `refresh` would give it: the same weight everywhere and the same Σw⁺ (summed
        // in input order once), written row by row instead of neuron by neuron.
        if n_post > 0 {
            s.refresh(0);
            let (w, pos) = (s.weight(0, 0), s.pos_sum[0]);
            for row in s.weight_t.as_mut_slice().chunks_exact_mut(stride) {
                row[..n_post].fill(w);
            }
            s.pos_sum.fill(pos);
        }
        s
    }

    /// Restores a saved state (resources and free pools); weights are recomputed.
    pub fn restore(&mut self, resource: &[f64], free: &[f64]) {
        self.resource.copy_from_slice(resource);
        self.free.copy_from_slice(free);
        for j in 0..self.n_post {
            self.refresh(j);
        }
    }

    pub fn n_in(&self) -> usize {
        self.n_in
    }
    pub fn resource(&self) -> &[f64] {
        &self.resource
    }
    pub fn free(&self) -> &[f64] {
        &self.free
    }
    /// Weights of all inputs to all neurons, input-major (n_in, n_post).
    #[inline]
    pub fn weight_row(&self, input: usize) -> &[f64] {
        &self.weight_t.as_slice()[input * self.stride..input * self.stride + self.n_post]
    }
    /// All weight rows with their zero padding, (n_in, stride), and the stride (a
    /// multiple of 8; every row starts on a 64-byte boundary).
    #[inline]
    pub fn padded_weights(&self) -> (&[f64], usize) {
        (self.weight_t.as_slice(), self.stride)
    }
    #[inline]
    pub fn weight(&self, post: usize, input: usize) -> f64 {
        self.weight_t.as_slice()[input * self.stride + post]
    }
    #[inline]
    pub fn pos_sum(&self, post: usize) -> f64 {
        self.pos_sum[post]
    }
    /// Σ_i max(w_ji, 0) of every neuron.
    #[inline]
    pub fn pos_sums(&self) -> &[f64] {
        &self.pos_sum
    }

    /// Weights in neuron-major layout (n_post, n_in), for inspection.
    pub fn weights(&self) -> Vec<f64> {
        let mut w = vec![0.0; self.n_in * self.n_post];
        for j in 0..self.n_post {
            for i in 0..self.n_in {
                w[j * self.n_in + i] = self.weight(j, i);
            }
        }
        w
    }

    /// ΔW on one synapse, taken from (or returned to) the neuron's free pool.
    /// Weights are refreshed by [`Synapses::settle`] once the neuron's changes are done.
    #[inline]
    pub fn change(&mut self, post: usize, input: usize, dw: f64) {
        self.resource[post * self.n_in + input] += dw;
        if self.silent.is_some() {
            self.free[post] -= dw;
        }
    }

    /// [`Synapses::change`] of `dw` on each of `inputs` of `post`: the same addition to
    /// each resource and the same subtractions from the pool, one per input (all of the
    /// same dW, so their order does not matter), the pool kept in a register meanwhile.
    #[inline]
    pub fn change_all(&mut self, post: usize, inputs: &[u32], dw: f64) {
        let resource = &mut self.resource[post * self.n_in..(post + 1) * self.n_in];
        for &i in inputs {
            resource[i as usize] += dw;
        }
        if self.silent.is_some() {
            let mut f = self.free[post];
            for _ in inputs {
                f -= dw;
            }
            self.free[post] = f;
        }
    }

    /// Ends a plasticity event of one neuron: spreads the free pool over the N real
    /// and n_s silent synapses when |F| reaches the threshold (the silent share is
    /// lost), then recomputes its weights and Σw⁺.
    pub fn settle(&mut self, post: usize) {
        self.spread_free_pool(post);
        self.refresh(post);
    }

    /// Spreads neuron `post`'s free pool over its N real and n_s silent synapses when
    /// |F| reaches the threshold (the silent share is lost).
    #[inline(always)]
    fn spread_free_pool(&mut self, post: usize) {
        if let Some(ns) = self.silent {
            let f = self.free[post];
            if f != 0.0 && f.abs() >= self.renorm_threshold {
                let share = f / (self.n_in as f64 + f64::from(ns));
                for w in &mut self.resource[post * self.n_in..(post + 1) * self.n_in] {
                    *w += share;
                }
                self.free[post] = 0.0;
            }
        }
    }

    /// [`Synapses::settle`] with the refresh of `kernel`: the fast kernels compute a
    /// neuron's weights 64 at a time in a vectorised loop (the same IEEE operations
    /// per weight), then store them and add up Σw⁺ in input order as before.
    pub fn settle_with(&mut self, post: usize, kernel: Kernel) {
        if kernel.is_reference() {
            return self.settle(post);
        }
        #[cfg(target_arch = "x86_64")]
        if kernel.uses_avx2() && avx2_available() {
            // SAFETY: the CPU has AVX2 and BMI2.
            return unsafe { self.settle_avx2(post) };
        }
        self.spread_free_pool(post);
        self.refresh_chunked(post);
    }

    /// The spread and the refresh of [`Synapses::settle_with`] compiled for AVX2.
    ///
    /// # Safety
    /// The CPU supports AVX2 and BMI2 (checked by the caller).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,bmi2")]
    unsafe fn settle_avx2(&mut self, post: usize) {
        self.spread_free_pool(post);
        self.refresh_chunked(post);
    }

    #[inline(always)]
    fn refresh_chunked(&mut self, post: usize) {
        const CHUNK: usize = 64;
        let (w_min, w_max, stride) = (self.w_min, self.w_max, self.stride);
        let resource = &self.resource[post * self.n_in..(post + 1) * self.n_in];
        let weight_t = self.weight_t.as_mut_slice();
        let mut buf = [0.0; CHUNK];
        let mut pos = 0.0;
        for (c, chunk) in resource.chunks(CHUNK).enumerate() {
            for (b, &r) in buf.iter_mut().zip(chunk) {
                *b = weight(r, w_min, w_max);
            }
            for (o, &w) in buf[..chunk.len()].iter().enumerate() {
                weight_t[(c * CHUNK + o) * stride + post] = w;
                pos += w.max(0.0);
            }
        }
        self.pos_sum[post] = pos;
    }

    fn refresh(&mut self, post: usize) {
        let mut pos = 0.0;
        let weight_t = self.weight_t.as_mut_slice();
        for i in 0..self.n_in {
            let w = weight(self.resource[post * self.n_in + i], self.w_min, self.w_max);
            weight_t[i * self.stride + post] = w;
            pos += w.max(0.0);
        }
        self.pos_sum[post] = pos;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conservation_is_exact_without_silent_synapses() {
        let mut s = Synapses::new(5, 2, (-0.25, 0.1), Some(0), 0.3, 0.9);
        let total = |s: &Synapses, j: usize| -> f64 {
            s.resource()[j * 5..(j + 1) * 5].iter().sum::<f64>() + s.free()[j]
        };
        let before = total(&s, 1);
        for step in 0..20 {
            s.change(1, step % 3, 0.07);
            s.change(1, 4, -0.02);
            s.settle(1);
            assert!((total(&s, 1) - before).abs() < 1e-12);
        }
        // The pool was spread at least once: inactive input 3 lost resource.
        assert!(s.resource()[5 + 3] < 0.9);
        assert_eq!(s.resource()[3], 0.9);
    }

    #[test]
    fn silent_synapses_absorb_a_share_and_weights_stay_in_range() {
        let mut s = Synapses::new(4, 1, (-0.25, 0.1), Some(4), 0.5, 0.0);
        s.change(0, 0, 1.0);
        s.settle(0);
        // F = -1 spread over 4 + 4 synapses: each real one loses 1/8.
        assert_eq!(s.resource()[0], 1.0 - 0.125);
        assert_eq!(s.resource()[1], -0.125);
        assert_eq!(s.free()[0], 0.0);
        for _ in 0..1000 {
            s.change(0, 0, 50.0);
            s.settle(0);
        }
        for i in 0..4 {
            let w = s.weight(0, i);
            assert!((-0.25..0.1).contains(&w), "{w}");
        }
        assert!((s.pos_sum(0) - s.weight(0, 0)).abs() < 1e-12);
    }

    #[test]
    fn no_conservation_keeps_no_pool() {
        let mut s = Synapses::new(3, 1, (-0.25, 0.1), None, 0.0, 0.0);
        s.change(0, 1, 2.0);
        s.settle(0);
        assert_eq!(s.free()[0], 0.0);
        assert_eq!(s.resource(), &[0.0, 2.0, 0.0]);
    }
}
