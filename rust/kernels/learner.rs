//! The unsupervised, local kernel learner of docs/algorithms.md §1.
//!
//! Kernels are never shared during learning: one image updates each kernel at most
//! once, at its own strongest free position, from the pixels that position sees.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::kernels::conv::{out_len, PARALLEL_MACS};
use crate::kernels::responses::{
    responses_row, row_maxima, KernelQuads, RowMax, SparseImage, ROW_MAX_KERNELS,
};
use crate::lanes::Lanes;
use crate::limits;
pub use crate::resource::{weight, zero_weight_resource};
use crate::rng::{derive_seed, mix64, purpose};

/// Hyperparameters of the learner (docs/algorithms.md §1 symbols in brackets).
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
    /// Input channels [C] (docs/algorithms.md §1.5): kernels are C × K × K, an
    /// image is C planes of h × w, and the rule runs over all C·K² cells at once.
    pub channels: usize,
}

/// Smallest accepted |w_min| and w_max.
pub const WEIGHT_MIN: f64 = 1e-6;
/// Largest accepted |w_min| and w_max.
pub const WEIGHT_MAX: f64 = 1e6;
/// Largest accepted resource step.
pub const LEARNING_RATE_MAX: f64 = 1e6;

impl KernelParams {
    pub fn validate(&self) -> Result<()> {
        if self.kernel_size < 1 {
            return Err(Error::param("kernel_size", "must be >= 1"));
        }
        if self.n_kernels < 1 {
            return Err(Error::param("n_kernels", "must be >= 1"));
        }
        if self.channels < 1 {
            return Err(Error::param(
                "channels",
                format!("must be >= 1, got {}", self.channels),
            ));
        }
        if self.stride < 1 {
            return Err(Error::param(
                "stride",
                format!("must be >= 1, got {}", self.stride),
            ));
        }
        // Magnitudes are kept inside [WEIGHT_MIN, WEIGHT_MAX] and the resource step
        // inside (0, LEARNING_RATE_MAX] so that w(W), the zero-weight resource
        // |w_min|·(w_max − w_min)/w_max and the resources reached by any realistic
        // number of updates stay finite (docs/robustness.md).
        if !(self.w_min.is_finite() && -WEIGHT_MAX <= self.w_min && self.w_min <= -WEIGHT_MIN) {
            return Err(Error::param(
                "w_min",
                format!(
                    "must be in [-{WEIGHT_MAX:e}, -{WEIGHT_MIN:e}], got {}",
                    self.w_min
                ),
            ));
        }
        if !(self.w_max.is_finite() && WEIGHT_MIN <= self.w_max && self.w_max <= WEIGHT_MAX) {
            return Err(Error::param(
                "w_max",
                format!(
                    "must be in [{WEIGHT_MIN:e}, {WEIGHT_MAX:e}], got {}",
                    self.w_max
                ),
            ));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= LEARNING_RATE_MAX) {
            return Err(Error::param(
                "learning_rate",
                format!(
                    "must be in (0, {LEARNING_RATE_MAX:e}], got {}",
                    self.learning_rate
                ),
            ));
        }
        if !self.brightness_threshold.is_finite() {
            return Err(Error::param("brightness_threshold", "must be finite"));
        }
        // The state, allocated together: resource, weights and the transposed
        // weights (3 × f64 per cell, kernels padded to quads).
        let cells = limits::elements_of::<f64>(
            "kernel_size",
            &[self.channels, self.kernel_size, self.kernel_size],
        )?;
        limits::elements("n_kernels", &[self.n_kernels.div_ceil(4), 4, cells], 24)?;
        Ok(())
    }

    /// Cells of one kernel: C·K².
    fn cells(&self) -> usize {
        self.channels * self.kernel_size * self.kernel_size
    }
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

/// The best kernel of one position. Only that kernel can ever be picked there: the
/// first pick at a position removes all of its candidates.
#[derive(Debug, Clone, Copy)]
struct PositionBest {
    c: f64,
    /// Seeded random key; among exact ties of `c` the larger key is picked first.
    key: u64,
    kernel: u32,
}

impl PositionBest {
    const NONE: Self = Self {
        c: f64::NEG_INFINITY,
        key: 0,
        kernel: u32::MAX,
    };

    /// Picked before `other`? Keys are distinct (a bijective hash of distinct
    /// inputs), so this is a strict total order on the positions of one image.
    #[inline]
    fn before(&self, other: &Self) -> bool {
        self.rank() > other.rank()
    }

    /// The pick order as one integer, larger first: `c` by its bits in an
    /// order-preserving map (−0 counted as +0, as `==` does), then the key. Compared
    /// without branches.
    #[inline(always)]
    fn rank(&self) -> u128 {
        let bits = (self.c + 0.0).to_bits();
        let ordered = if bits >> 63 == 1 {
            !bits
        } else {
            bits | 1 << 63
        };
        u128::from(ordered) << 64 | u128::from(self.key)
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
    /// The weights again, cell-major in quads of kernels, for the responses.
    weights_t: Vec<KernelQuads>,
    fired: Vec<bool>,
    images_seen: u64,
    scratch: Scratch,
}

/// Per-row buffers of the response scan.
#[derive(Debug, Clone, Default)]
struct RowScratch {
    maxima: Vec<RowMax>,
    responses: Vec<f64>,
}

/// Buffers reused across images, so learning allocates nothing per image.
#[derive(Debug, Clone, Default)]
struct Scratch {
    /// One indexed plane per channel.
    image: Vec<SparseImage>,
    rows: RowScratch,
    positions: Vec<PositionBest>,
    /// Per kernel: the rank and position of its best winning position.
    kernel_best: Vec<(u128, u32)>,
    tile: Vec<f64>,
    group: Vec<u64>,
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

    /// Learner starting from a given resource tensor (N_C·C·K·K values); weights are
    /// w(W).
    pub fn with_resource(params: KernelParams, seed: u64, resource: Vec<f64>) -> Result<Self> {
        params.validate()?;
        if resource.len() != params.n_kernels * params.cells() {
            return Err(Error::input(
                "initial_resource",
                format!(
                    "must have shape (n_kernels, channels, kernel_size, kernel_size) = \
                     ({}, {}, {}, {})",
                    params.n_kernels, params.channels, params.kernel_size, params.kernel_size
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
        let mut s = Self::with_resource(params, seed, resource).map_err(Error::in_saved_state)?;
        if weights.len() != s.weights.len() || fired.len() != s.fired.len() {
            return Err(Error::corrupt(
                "state",
                "kernels, resource and fired sizes disagree",
            ));
        }
        // w(W) lies in [w_min, w_max]; the margin allows for rounding.
        let (lo, hi) = (s.params.w_min, s.params.w_max);
        let tol = 1e-9 * (hi - lo);
        if let Some(bad) = weights
            .iter()
            .find(|v| !(lo - tol <= **v && **v <= hi + tol))
        {
            return Err(Error::corrupt(
                "weights",
                format!("must be finite and in [w_min={lo}, w_max={hi}], got {bad}"),
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
        let table = n.div_ceil(4) * params.cells();
        let mut s = Self {
            params,
            seed,
            resource,
            weights_t: vec![KernelQuads::default(); table],
            weights,
            fired: vec![false; n],
            images_seen: 0,
            scratch: Scratch::default(),
        };
        s.transpose_all();
        s
    }

    fn transpose_all(&mut self) {
        for a in 0..self.params.n_kernels {
            self.transpose_kernel(a);
        }
    }
    #[inline(always)]
    fn transpose_kernel(&mut self, a: usize) {
        let (quads, cells) = (self.params.n_kernels.div_ceil(4), self.params.cells());
        for c in 0..cells {
            self.weights_t[c * quads + a / 4].0[a % 4] = self.weights[a * cells + c];
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

    /// Learns from one preprocessed image (C planes of `h × w`, row-major, values in
    /// [0, 1]).
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
        if h.checked_mul(w).is_none_or(|v| v >= u32::MAX as usize) {
            return Err(Error::too_large(
                "images",
                format!("{h}x{w} images: at most {} pixels per image", u32::MAX - 1),
            ));
        }
        if Some(g.len()) != (h * w).checked_mul(self.params.channels) {
            return Err(Error::input(
                "images",
                "buffer size does not match its shape",
            ));
        }
        let n = self.params.n_kernels;
        let (p_len, q_len) = (out_len(h, k, s), out_len(w, k, s));
        let positions = p_len * q_len;
        if n.checked_mul(positions)
            .is_none_or(|v| v > u32::MAX as usize)
        {
            return Err(Error::input(
                "images",
                "image too large for one learning step",
            ));
        }
        // The per-position scratch of this image.
        limits::elements_of::<PositionBest>("images", &[p_len, q_len])?;
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return Ok(unsafe { self.learn_avx2(g, (h, w), (p_len, q_len)) });
            }
        }
        Ok(self.learn::<[f64; 4]>(g, (h, w), (p_len, q_len)))
    }

    /// [`learn`](Self::learn) compiled for AVX2: its per-cell and per-kernel loops
    /// vectorise four f64 wide.
    ///
    /// # Safety
    /// The CPU supports AVX2 (checked by the caller).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn learn_avx2(
        &mut self,
        g: &[f64],
        shape: (usize, usize),
        out_shape: (usize, usize),
    ) -> ImageStats {
        self.learn::<std::arch::x86_64::__m256d>(g, shape, out_shape)
    }

    /// One image of docs/algorithms.md §1 (inputs already checked).
    #[inline(always)]
    fn learn<Q: Lanes>(
        &mut self,
        g: &[f64],
        (h, w): (usize, usize),
        (p_len, q_len): (usize, usize),
    ) -> ImageStats {
        let (n, k, s) = (
            self.params.n_kernels,
            self.params.kernel_size,
            self.params.stride,
        );
        let mut scratch = std::mem::take(&mut self.scratch);
        let channels = self.params.channels;
        scratch.image.resize_with(channels, SparseImage::default);
        for (img, plane) in scratch.image.iter_mut().zip(g.chunks_exact(h * w)) {
            img.load(plane, (h, w), k);
        }
        let image_seed = derive_seed(self.seed, purpose::TIE_BREAK, self.images_seen);
        self.best_per_position(&mut scratch, image_seed, (p_len, q_len));

        // Each kernel is updated at most once, at the first position it wins in pick
        // order, and an update touches only that kernel's own cells, computed from
        // the image and the kernel as it was before. So the pick loop of docs/algorithms.md §1
        // reduces to: every kernel is updated at its best winning position, if that
        // position is picked at all — the first pick always, later ones while c ≥ 0.
        let (mut first_rank, mut first_pos, mut n_nonneg) = (0u128, 0usize, 0u32);
        scratch.kernel_best.clear();
        scratch.kernel_best.resize(n, (0, u32::MAX));
        for (pos, best) in scratch.positions.iter().enumerate() {
            let rank = best.rank();
            let Some(kb) = scratch.kernel_best.get_mut(best.kernel as usize) else {
                continue; // no kernel at all (cannot happen with finite weights)
            };
            if rank > kb.0 {
                *kb = (rank, pos as u32);
            }
            if rank > first_rank {
                (first_rank, first_pos) = (rank, pos);
            }
            n_nonneg += u32::from(best.c >= 0.0);
        }
        let first = scratch.positions[first_pos];
        let mut stats = ImageStats::default();
        let mut last = first;
        for a in 0..n {
            let pos = scratch.kernel_best[a].1;
            if pos == u32::MAX {
                continue; // a kernel that wins no position
            }
            let best = scratch.positions[pos as usize];
            if best.c < 0.0 && a != first.kernel as usize {
                continue;
            }
            if last.before(&best) {
                last = best; // the latest update in pick order so far
            }
            let pos = pos as usize;
            let origin = (pos / q_len) * s * w + (pos % q_len) * s;
            load_tile(&mut scratch.tile, g, (h, w), k, origin);
            if best.c < 1.0 {
                self.forced_update(a, &scratch.tile);
                stats.forced += 1;
            } else {
                self.spontaneous_update::<Q>(a, &scratch.tile, &mut scratch.group);
                stats.spontaneous += 1;
            }
        }
        stats.picks = if first.c < 0.0 {
            1
        } else if stats.forced + stats.spontaneous == n as u32 {
            // The loop stops at the pick that updates the last kernel.
            let picked = scratch
                .positions
                .iter()
                .filter(|b| b.c >= 0.0 && !last.before(b));
            picked.count() as u32
        } else {
            n_nonneg
        };
        self.scratch = scratch;
        self.images_seen += 1;
        stats
    }

    /// The best kernel of every position (ties broken by the seeded keys), computed
    /// row by row so the full response map is never held; rows run in parallel on
    /// large images, with the same result for any thread count.
    #[inline(always)]
    fn best_per_position(
        &self,
        scratch: &mut Scratch,
        image_seed: u64,
        (p_len, q_len): (usize, usize),
    ) {
        let (n, k, s) = (
            self.params.n_kernels,
            self.params.kernel_size,
            self.params.stride,
        );
        let quads = n.div_ceil(4);
        let positions = p_len * q_len;
        let img = &scratch.image;
        let key = |a: usize, pos: usize| mix64(image_seed ^ ((a * positions + pos) as u64));
        let rows = |p0: usize, out: &mut [PositionBest], buf: &mut RowScratch| {
            for (d, out_row) in out.chunks_exact_mut(q_len).enumerate() {
                let p = p0 + d;
                if n <= ROW_MAX_KERNELS {
                    // Usual case: the maxima come straight from the registers.
                    buf.maxima.resize(q_len, RowMax::default());
                    row_maxima(img, &self.weights_t, n, (k, s), p, &mut buf.maxima);
                    for (q, (m, best)) in buf.maxima.iter().zip(out_row).enumerate() {
                        *best =
                            best_of_ties(m.top, u64::from(m.ties), 0, |a| key(a, p * q_len + q));
                    }
                } else {
                    buf.responses.resize(4 * quads * q_len, 0.0);
                    responses_row(img, &self.weights_t, quads, (k, s), p, &mut buf.responses);
                    let per_q = buf.responses.chunks_exact(4 * quads);
                    for (q, (c, best)) in per_q.zip(out_row).enumerate() {
                        *best = position_best(&c[..n], |a| key(a, p * q_len + q));
                    }
                }
            }
        };
        scratch.positions.resize(positions, PositionBest::NONE);
        if n * positions * self.params.cells() >= PARALLEL_MACS {
            let rows_per_task = 4096usize.div_ceil(q_len);
            scratch
                .positions
                .par_chunks_mut(rows_per_task * q_len)
                .enumerate()
                .for_each_init(RowScratch::default, |buf, (t, out)| {
                    rows(t * rows_per_task, out, buf)
                });
        } else {
            let mut buf = std::mem::take(&mut scratch.rows);
            rows(0, &mut scratch.positions, &mut buf);
            scratch.rows = buf;
        }
    }

    /// Forced branch: potentiate cells brighter than B, depress the rest so the
    /// kernel's total resource is unchanged. Nothing happens if all or none are bright.
    #[inline(always)]
    fn forced_update(&mut self, a: usize, tile: &[f64]) {
        let cells = self.params.cells();
        let b = self.params.brightness_threshold;
        let l = self.params.learning_rate;
        let n_b = tile[..cells].iter().filter(|&&v| v > b).count();
        if n_b == 0 || n_b == cells {
            return;
        }
        let dec = l * n_b as f64 / (cells - n_b) as f64;
        let res = &mut self.resource[a * cells..(a + 1) * cells];
        for (r, &v) in res.iter_mut().zip(tile) {
            *r += if v > b { l } else { -dec };
        }
        self.refresh_weights(a);
    }

    /// Spontaneous branch: potentiate the brightest cells, value by value, until the
    /// potential they carried (with the weights before this update) reaches 1; depress
    /// the darker rest by the conserving amount.
    #[inline(always)]
    fn spontaneous_update<Q: Lanes>(&mut self, a: usize, tile: &[f64], group: &mut Vec<u64>) {
        let cells = self.params.cells();
        let l = self.params.learning_rate;
        self.fired[a] = true;
        // The walk visits value groups from the brightest down, each group in
        // row-major order (which fixes the summation order of P). It usually stops
        // after one or two groups, so each group is found by a scan, not a sort.
        let weights = &self.weights[a * cells..(a + 1) * cells];
        let mut potential = 0.0;
        let mut reached = false;
        let mut n_b = 0;
        let mut v = f64::INFINITY;
        while n_b < cells {
            v = max_below::<Q>(tile, v);
            group_bits::<Q>(tile, v, group);
            for (word, &bits) in group.iter().enumerate() {
                let mut bits = bits;
                while bits != 0 {
                    let c = word * 64 + bits.trailing_zeros() as usize;
                    potential += v * weights[c];
                    n_b += 1;
                    bits &= bits - 1;
                }
            }
            if potential >= 1.0 {
                reached = true;
                break;
            }
        }
        // Cells of the walked groups (value ≥ v) gain l; the darker rest loses the
        // conserving amount, unless the walk exhausted the tile (then no cell is
        // darker) or never reached 1 (then it did exhaust it).
        let dec = if reached && n_b < cells {
            l * n_b as f64 / (cells - n_b) as f64
        } else {
            0.0
        };
        let res = &mut self.resource[a * cells..(a + 1) * cells];
        for (r, &x) in res.iter_mut().zip(tile) {
            *r += if x >= v { l } else { -dec };
        }
        self.refresh_weights(a);
    }
    #[inline(always)]
    fn refresh_weights(&mut self, a: usize) {
        let cells = self.params.cells();
        let quads = self.params.n_kernels.div_ceil(4);
        let (lo, hi) = (self.params.w_min, self.params.w_max);
        let res = &self.resource[a * cells..(a + 1) * cells];
        let wts = &mut self.weights[a * cells..(a + 1) * cells];
        for (wt, &r) in wts.iter_mut().zip(res) {
            *wt = weight(r, lo, hi);
        }
        // The cell-major copy: lane a % 4 of quad a / 4 of every cell. (Indexing
        // compiles to fewer instructions per cell than a `step_by` iterator.)
        let (quad, lane) = (a / 4, a % 4);
        let table = &mut self.weights_t[..cells * quads];
        for (c, &wt) in wts.iter().enumerate() {
            table[c * quads + quad].0[lane] = wt;
        }
    }
}

/// The best kernel at one position from its responses `c`: the largest response,
/// and among exact ties the largest key (see [`best_of_ties`]).
#[inline(always)]
fn position_best(c: &[f64], key: impl Fn(usize) -> u64) -> PositionBest {
    // Four running maxima vectorise; responses are finite (inputs are validated).
    let mut m = [f64::NEG_INFINITY; 4];
    let mut chunks = c.chunks_exact(4);
    for ch in &mut chunks {
        for l in 0..4 {
            m[l] = if ch[l] > m[l] { ch[l] } else { m[l] };
        }
    }
    let mut top = f64::NEG_INFINITY;
    for &x in m.iter().chain(chunks.remainder()) {
        top = if x > top { x } else { top };
    }
    let mut best = PositionBest::NONE;
    for (w0, chunk) in c.chunks(64).enumerate() {
        let mut ties = 0u64;
        for (j, &x) in chunk.iter().enumerate() {
            ties |= u64::from(x == top) << j;
        }
        let b = best_of_ties(top, ties, 64 * w0, &key);
        if b.kernel != u32::MAX && (best.kernel == u32::MAX || b.key > best.key) {
            best = b;
        }
    }
    best
}

/// Among the kernels `offset + bit` set in `ties` (all with response `top`), the one
/// with the largest key. Keys are a counter-based hash of (seed, image, kernel,
/// position), so ties are broken uniformly and reproducibly, whatever the threads
/// or the data split.
#[inline(always)]
fn best_of_ties(
    top: f64,
    mut ties: u64,
    offset: usize,
    key: impl Fn(usize) -> u64,
) -> PositionBest {
    let mut best = PositionBest {
        c: top,
        ..PositionBest::NONE
    };
    while ties != 0 {
        let a = offset + ties.trailing_zeros() as usize;
        let kk = key(a);
        if best.kernel == u32::MAX || kk > best.key {
            best.key = kk;
            best.kernel = a as u32;
        }
        ties &= ties - 1;
    }
    best
}

/// Copies the C×K×K tile at `origin` (of every plane) of an image of C planes of
/// `h × w` pixels (row-major), channel by channel.
#[inline(always)]
fn load_tile(tile: &mut Vec<f64>, g: &[f64], (h, w): (usize, usize), k: usize, origin: usize) {
    let cells = g.len() / (h * w) * k * k;
    // Padded with NaN to whole quads: NaN is never equal to, above or below a value.
    let padded = cells.next_multiple_of(4);
    if tile.len() != padded {
        tile.clear();
        tile.resize(padded, f64::NAN);
    }
    for (plane, dst) in g
        .chunks_exact(h * w)
        .zip(tile[..cells].chunks_exact_mut(k * k))
    {
        for (i, dst) in dst.chunks_exact_mut(k).enumerate() {
            dst.copy_from_slice(&plane[origin + i * w..][..k]);
        }
    }
}

/// The largest tile value below `upper` (−∞ if none); the tile is padded to quads.
#[inline(always)]
fn max_below<Q: Lanes>(tile: &[f64], upper: f64) -> f64 {
    let mut m = Q::splat(f64::NEG_INFINITY);
    for quad in tile.chunks_exact(4) {
        // SAFETY: a chunk of four.
        m = m.max(unsafe { Q::load(quad.as_ptr()) }.below(upper));
    }
    m.max_lane()
}

/// Bit set of the tile cells equal to `v`, 64 cells per word, in row-major order
/// (the tile is padded to quads).
#[inline(always)]
fn group_bits<Q: Lanes>(tile: &[f64], v: f64, bits: &mut Vec<u64>) {
    bits.clear();
    for chunk in tile.chunks(64) {
        let mut word = 0u64;
        for (j, quad) in chunk.chunks_exact(4).enumerate() {
            // SAFETY: a chunk of four.
            word |= u64::from(unsafe { Q::load(quad.as_ptr()) }.eq_bits(v)) << (4 * j);
        }
        bits.push(word);
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
            channels: 1,
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
    fn a_pixel_equal_to_b_is_dark_in_the_forced_branch() {
        // B = 0.5 exactly: the 0.5 pixel is depressed like the darker ones (brighter
        // means strictly above B), so the total stays the same.
        let mut kl = KernelLearner::new(params(2, 1, 1, 0.5, 0.3), 0).unwrap();
        let g = [1.0, 0.5, 0.2, 0.4];
        let r0 = zero_weight_resource(-0.3, 1.0);
        let st = kl.learn_image(&g, (2, 2)).unwrap();
        assert_eq!(st.forced, 1);
        assert!((kl.resource()[0] - (r0 + 0.3)).abs() < 1e-15);
        assert!((kl.resource()[1] - (r0 - 0.1)).abs() < 1e-15);
        let total: f64 = kl.resource().iter().sum();
        assert!((total - 4.0 * r0).abs() < 1e-12);
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
    fn portable_path_equals_the_dispatched_one() {
        // On an AVX2 machine learn_image runs the AVX2 build; the portable build
        // (other CPUs) must give the same bits.
        let mut s = 17u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let (h, w) = (23, 19);
        let images: Vec<Vec<f64>> = (0..30)
            .map(|_| {
                (0..h * w)
                    .map(|_| {
                        let u = next();
                        if u < 0.5 {
                            0.0
                        } else {
                            (u * 6.0).floor() / 6.0
                        }
                    })
                    .collect()
            })
            .collect();
        for (k, n, stride) in [(5, 13, 2), (3, 40, 1), (12, 6, 3)] {
            let p = params(k, n, stride, 0.4, 0.05);
            let mut fast = KernelLearner::new(p.clone(), 9).unwrap();
            let mut portable = KernelLearner::new(p, 9).unwrap();
            let out = (out_len(h, k, stride), out_len(w, k, stride));
            for g in &images {
                let a = fast.learn_image(g, (h, w)).unwrap();
                let b = portable.learn::<[f64; 4]>(g, (h, w), out);
                assert_eq!(a, b);
            }
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(fast.resource()), bits(portable.resource()), "k={k}");
            assert_eq!(bits(fast.weights()), bits(portable.weights()));
            assert_eq!(fast.fired(), portable.fired());
            assert!(
                fast.fired().iter().any(|&f| f),
                "the spontaneous branch must run"
            );
        }
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
