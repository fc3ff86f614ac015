//! The unsupervised, local kernel learner of SPEC §1.
//!
//! Kernels are never shared during learning: one image updates each kernel at most
//! once, at its own strongest free position, from the pixels that position sees.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::conv::{conv_f64_cell_major, out_len, padded_kernels};
use crate::error::{Error, Result};
use crate::rng::{derive_seed, mix64, purpose};

/// Hyperparameters of the learner (SPEC §1 symbols in brackets).
#[derive(Debug, Clone, PartialEq)]
pub struct KernelParams {
    /// Kernel side [K].
    pub kernel_size: usize,
    /// Number of candidate kernels [N_C].
    pub n_kernels: usize,
    /// Stride [s].
    pub stride: usize,
    /// Weight of a fully depressed synapse [w_min < 0].
    pub w_min: f64,
    /// Supremum of weights [w_max > 0].
    pub w_max: f64,
    /// Resource step [l > 0].
    pub learning_rate: f64,
    /// Brightness threshold [B], in preprocessed units.
    pub brightness_threshold: f64,
}

impl KernelParams {
    pub fn validate(&self) -> Result<()> {
        if self.kernel_size < 1 {
            return Err(Error::param("kernel_size", "must be >= 1"));
        }
        if self.n_kernels < 1 {
            return Err(Error::param("n_kernels", "must be >= 1"));
        }
        if self.stride < 1 {
            return Err(Error::param(
                "stride",
                format!("must be >= 1, got {}", self.stride),
            ));
        }
        if !self.w_min.is_finite() || self.w_min >= 0.0 {
            return Err(Error::param(
                "w_min",
                format!("must be a finite value < 0, got {}", self.w_min),
            ));
        }
        if !self.w_max.is_finite() || self.w_max <= 0.0 {
            return Err(Error::param(
                "w_max",
                format!("must be a finite value > 0, got {}", self.w_max),
            ));
        }
        if !self.learning_rate.is_finite() || self.learning_rate <= 0.0 {
            return Err(Error::param(
                "learning_rate",
                format!("must be a finite value > 0, got {}", self.learning_rate),
            ));
        }
        if !self.brightness_threshold.is_finite() {
            return Err(Error::param("brightness_threshold", "must be finite"));
        }
        Ok(())
    }

    fn cells(&self) -> usize {
        self.kernel_size * self.kernel_size
    }
}

/// w(W) of SPEC §1: w_min at W ≤ 0, rising towards w_max as W grows.
#[inline]
pub fn weight(resource: f64, w_min: f64, w_max: f64) -> f64 {
    let r = resource.max(0.0);
    let span = w_max - w_min;
    w_min + span * r / (span + r)
}

/// The resource at which w(W) = 0.
pub fn zero_weight_resource(w_min: f64, w_max: f64) -> f64 {
    -w_min * (w_max - w_min) / w_max
}

/// What one image did to the kernels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageStats {
    /// Kernels updated through the forced branch (c < 1).
    pub forced: u32,
    /// Kernels updated through the spontaneous branch (c ≥ 1).
    pub spontaneous: u32,
    /// Candidate picks in total (including picks of already-updated kernels).
    pub picks: u32,
}

/// A candidate position with its best kernel; ordered by response, then by a seeded
/// random key so exact ties are broken uniformly at random.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    c: f64,
    key: u64,
    kernel: u32,
    position: u32,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        // Responses are finite (inputs are validated); partial_cmp also makes
        // -0.0 == 0.0, which total_cmp would not.
        self.c
            .partial_cmp(&other.c)
            .unwrap_or(Ordering::Equal)
            .then(self.key.cmp(&other.key))
    }
}

/// Learner state: resources, weights and `fired` flags, plus scratch buffers reused
/// across images.
#[derive(Debug, Clone)]
pub struct KernelLearner {
    params: KernelParams,
    seed: u64,
    resource: Vec<f64>,
    weights: Vec<f64>,
    /// The weights again, cell-major (`[cell][kernel]`), for the vectorised conv.
    weights_t: Vec<f64>,
    fired: Vec<bool>,
    images_seen: u64,
    responses: Vec<f64>,
    tile: Vec<f64>,
    heap: Vec<Candidate>,
    updated: Vec<bool>,
}

impl KernelLearner {
    /// Fresh learner: every W at the zero-weight resource, every w exactly 0.
    pub fn new(params: KernelParams, seed: u64) -> Result<Self> {
        params.validate()?;
        let size = params.n_kernels * params.cells();
        let r0 = zero_weight_resource(params.w_min, params.w_max);
        Ok(Self::assemble(
            params,
            seed,
            vec![r0; size],
            vec![0.0; size],
        ))
    }

    /// Learner starting from a given resource tensor (N_C·K·K values); weights are
    /// w(W).
    pub fn with_resource(params: KernelParams, seed: u64, resource: Vec<f64>) -> Result<Self> {
        params.validate()?;
        if resource.len() != params.n_kernels * params.cells() {
            return Err(Error::input(
                "initial_resource",
                format!(
                    "must have shape (n_kernels, kernel_size, kernel_size) = ({}, {}, {})",
                    params.n_kernels, params.kernel_size, params.kernel_size
                ),
            ));
        }
        if resource.iter().any(|v| !v.is_finite()) {
            return Err(Error::input("initial_resource", "contains NaN or infinity"));
        }
        let weights = resource
            .iter()
            .map(|&r| weight(r, params.w_min, params.w_max))
            .collect();
        Ok(Self::assemble(params, seed, resource, weights))
    }

    /// Restores a saved state exactly (weights as saved, not recomputed).
    pub fn restore(
        params: KernelParams,
        seed: u64,
        resource: Vec<f64>,
        weights: Vec<f64>,
        fired: Vec<bool>,
        images_seen: u64,
    ) -> Result<Self> {
        let mut s = Self::with_resource(params, seed, resource)?;
        if weights.len() != s.weights.len() || fired.len() != s.fired.len() {
            return Err(Error::input(
                "state",
                "kernels, resource and fired sizes disagree",
            ));
        }
        s.weights = weights;
        s.transpose_all();
        s.fired = fired;
        s.images_seen = images_seen;
        Ok(s)
    }

    fn assemble(params: KernelParams, seed: u64, resource: Vec<f64>, weights: Vec<f64>) -> Self {
        let n = params.n_kernels;
        let table = padded_kernels(n) * params.cells();
        let mut s = Self {
            params,
            seed,
            resource,
            weights_t: vec![0.0; table],
            weights,
            fired: vec![false; n],
            images_seen: 0,
            responses: Vec::new(),
            tile: Vec::new(),
            heap: Vec::new(),
            updated: Vec::new(),
        };
        s.transpose_all();
        s
    }

    fn transpose_all(&mut self) {
        for a in 0..self.params.n_kernels {
            self.transpose_kernel(a);
        }
    }

    fn transpose_kernel(&mut self, a: usize) {
        let (n_pad, cells) = (padded_kernels(self.params.n_kernels), self.params.cells());
        for c in 0..cells {
            self.weights_t[c * n_pad + a] = self.weights[a * cells + c];
        }
    }

    pub fn params(&self) -> &KernelParams {
        &self.params
    }
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }
    pub fn resource(&self) -> &[f64] {
        &self.resource
    }
    pub fn fired(&self) -> &[bool] {
        &self.fired
    }
    pub fn images_seen(&self) -> u64 {
        self.images_seen
    }

    /// Learns from one preprocessed image (row-major, `h × w`, values in [0, 1]).
    ///
    /// The tie-breaking stream depends only on the seed and on how many images the
    /// learner has seen, so fitting in several calls equals fitting in one.
    pub fn learn_image(&mut self, g: &[f64], (h, w): (usize, usize)) -> Result<ImageStats> {
        let k = self.params.kernel_size;
        let s = self.params.stride;
        if h < k || w < k {
            return Err(Error::input(
                "images",
                format!("image of {h}x{w} is smaller than kernel_size={k}"),
            ));
        }
        if g.len() != h * w {
            return Err(Error::input(
                "images",
                "buffer size does not match its shape",
            ));
        }
        let n = self.params.n_kernels;
        let (p_len, q_len) = (out_len(h, k, s), out_len(w, k, s));
        let positions = p_len * q_len;
        if n * positions > u32::MAX as usize {
            return Err(Error::input(
                "images",
                "image too large for one learning step",
            ));
        }

        let mut responses = std::mem::take(&mut self.responses);
        let n_pad = padded_kernels(n);
        responses.resize(n_pad * positions, 0.0);
        conv_f64_cell_major(g, (h, w), &self.weights_t, n, k, s, &mut responses);

        // Only the best kernel of a position can ever be picked there: the first pick
        // at a position removes all of its candidates. Keys are a counter-based hash
        // of (seed, image, kernel, position), so ties are uniform and reproducible.
        let image_seed = derive_seed(self.seed, purpose::TIE_BREAK, self.images_seen);
        let key = |a: usize, pos: usize| mix64(image_seed ^ ((a * positions + pos) as u64));
        let mut heap = std::mem::take(&mut self.heap);
        heap.clear();
        for (pos, c_pos) in responses.chunks(n_pad).enumerate() {
            let c_pos = &c_pos[..n];
            let top = c_pos.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            // The best kernel; among exact ties the one with the largest key.
            let mut best: Option<(u64, usize)> = None;
            for (a, &c) in c_pos.iter().enumerate() {
                if c == top {
                    let kk = key(a, pos);
                    if best.is_none_or(|(bk, _)| kk > bk) {
                        best = Some((kk, a));
                    }
                }
            }
            let (key_best, a_best) = best.expect("at least one kernel");
            heap.push(Candidate {
                c: top,
                key: key_best,
                kernel: a_best as u32,
                position: pos as u32,
            });
        }
        let mut heap = BinaryHeap::from(heap);
        self.updated.clear();
        self.updated.resize(n, false);

        let mut n_updated = 0;
        let mut stats = ImageStats::default();
        let mut first = true;
        while let Some(cand) = heap.pop() {
            if !first && cand.c < 0.0 {
                break;
            }
            first = false;
            stats.picks += 1;
            let a = cand.kernel as usize;
            if !self.updated[a] {
                self.updated[a] = true;
                n_updated += 1;
                let pos = cand.position as usize;
                let (p, q) = (pos / q_len, pos % q_len);
                let origin = p * s * w + q * s;
                if cand.c < 1.0 {
                    self.forced_update(a, g, w, origin);
                    stats.forced += 1;
                } else {
                    self.spontaneous_update(a, g, w, origin);
                    stats.spontaneous += 1;
                }
            }
            if n_updated == n {
                break;
            }
        }
        self.responses = responses;
        self.heap = heap.into_vec();
        self.images_seen += 1;
        Ok(stats)
    }

    /// Copies the K×K tile at `origin` into `self.tile` (row-major).
    fn load_tile(&mut self, g: &[f64], w: usize, origin: usize) {
        let k = self.params.kernel_size;
        self.tile.clear();
        for i in 0..k {
            self.tile.extend_from_slice(&g[origin + i * w..][..k]);
        }
    }

    /// Forced branch: potentiate cells brighter than B, depress the rest so the
    /// kernel's total resource is unchanged. Nothing happens if all or none are bright.
    fn forced_update(&mut self, a: usize, g: &[f64], w: usize, origin: usize) {
        let cells = self.params.cells();
        let b = self.params.brightness_threshold;
        let l = self.params.learning_rate;
        self.load_tile(g, w, origin);
        let n_b = self.tile.iter().filter(|&&v| v > b).count();
        if n_b == 0 || n_b == cells {
            return;
        }
        let dec = l * n_b as f64 / (cells - n_b) as f64;
        let res = &mut self.resource[a * cells..(a + 1) * cells];
        for (r, &v) in res.iter_mut().zip(&self.tile) {
            *r += if v > b { l } else { -dec };
        }
        self.refresh_weights(a);
    }

    /// Spontaneous branch: potentiate the brightest cells, value by value, until the
    /// potential they carried (with the weights before this update) reaches 1; depress
    /// the darker rest by the conserving amount.
    fn spontaneous_update(&mut self, a: usize, g: &[f64], w: usize, origin: usize) {
        let cells = self.params.cells();
        let l = self.params.learning_rate;
        self.fired[a] = true;
        // The walk visits value groups from the brightest down, each group in
        // row-major order (which fixes the summation order of P). It usually stops
        // after a few groups, so each group is found by a scan instead of a sort.
        self.load_tile(g, w, origin);
        let tile = std::mem::take(&mut self.tile);
        let mut potential = 0.0;
        let mut reached = false;
        let mut n_b = 0;
        let mut upper = f64::INFINITY;
        while n_b < cells {
            let mut v = f64::NEG_INFINITY;
            for &x in &tile {
                if x < upper && x > v {
                    v = x;
                }
            }
            for (c, &x) in tile.iter().enumerate() {
                if x == v {
                    let i = a * cells + c;
                    potential += v * self.weights[i];
                    self.resource[i] += l;
                    n_b += 1;
                }
            }
            upper = v;
            if potential >= 1.0 {
                reached = true;
                break;
            }
        }
        if reached && n_b < cells {
            let dec = l * n_b as f64 / (cells - n_b) as f64;
            for (c, &x) in tile.iter().enumerate() {
                if x < upper {
                    self.resource[a * cells + c] -= dec;
                }
            }
        }
        self.tile = tile;
        self.refresh_weights(a);
    }

    fn refresh_weights(&mut self, a: usize) {
        let cells = self.params.cells();
        let (lo, hi) = (self.params.w_min, self.params.w_max);
        for c in a * cells..(a + 1) * cells {
            self.weights[c] = weight(self.resource[c], lo, hi);
        }
        self.transpose_kernel(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(k: usize, n: usize, s: usize, b: f64, l: f64) -> KernelParams {
        KernelParams {
            kernel_size: k,
            n_kernels: n,
            stride: s,
            w_min: -0.3,
            w_max: 1.0,
            learning_rate: l,
            brightness_threshold: b,
        }
    }

    #[test]
    fn zero_weight_resource_gives_zero_and_weights_are_bounded() {
        let r0 = zero_weight_resource(-0.3, 1.0);
        assert!(weight(r0, -0.3, 1.0).abs() < 1e-15);
        assert_eq!(weight(-5.0, -0.3, 1.0), -0.3);
        assert!(weight(1e12, -0.3, 1.0) < 1.0);
    }

    #[test]
    fn forced_branch_conserves_resource() {
        // 2x2 kernel on a 2x2 image: one bright pixel, three dark.
        let mut kl = KernelLearner::new(params(2, 1, 1, 0.5, 0.3), 0).unwrap();
        let g = [1.0, 0.0, 0.2, 0.4];
        let before: f64 = kl.resource().iter().sum();
        let st = kl.learn_image(&g, (2, 2)).unwrap();
        assert_eq!(st.forced, 1);
        let r0 = zero_weight_resource(-0.3, 1.0);
        assert!((kl.resource()[0] - (r0 + 0.3)).abs() < 1e-15);
        for c in 1..4 {
            assert!((kl.resource()[c] - (r0 - 0.1)).abs() < 1e-15);
        }
        let after: f64 = kl.resource().iter().sum();
        assert!((before - after).abs() < 1e-12);
    }

    #[test]
    fn no_update_when_all_or_no_pixels_bright() {
        for g in [[0.9; 4], [0.1; 4]] {
            let mut kl = KernelLearner::new(params(2, 1, 1, 0.5, 0.3), 0).unwrap();
            kl.learn_image(&g, (2, 2)).unwrap();
            let r0 = zero_weight_resource(-0.3, 1.0);
            assert!(kl.resource().iter().all(|&r| r == r0));
            assert!(kl.weights().iter().all(|&w| w == 0.0));
        }
    }

    #[test]
    fn one_winner_per_position_and_first_pass_always_runs() {
        // One position, two kernels: only one can be updated.
        let mut kl = KernelLearner::new(params(2, 2, 1, 0.5, 0.3), 3).unwrap();
        let st = kl.learn_image(&[1.0, 0.0, 0.0, 0.0], (2, 2)).unwrap();
        assert_eq!(st.picks, 1);
        assert_eq!(st.forced, 1);
        let changed = (0..2)
            .filter(|&a| kl.weights()[a * 4..a * 4 + 4].iter().any(|&w| w != 0.0))
            .count();
        assert_eq!(changed, 1);
    }

    #[test]
    fn bad_parameters_are_named() {
        let mut p = params(2, 1, 1, 0.5, 0.3);
        p.w_min = 0.0;
        assert!(matches!(
            KernelLearner::new(p, 0),
            Err(Error::InvalidParameter { name: "w_min", .. })
        ));
        let mut kl = KernelLearner::new(params(3, 1, 1, 0.5, 0.3), 0).unwrap();
        assert!(kl.learn_image(&[0.0; 4], (2, 2)).is_err());
    }
}
