//! The convolution layer of docs/algorithms.md §2: one LIF neuron per (kernel a, position p, q),
//! synapses α_a·w[a, c, i, j] from its C×K×K receptive field (negative cells inhibit;
//! C input channels as in §1.5, one input node per channel and pixel).
//!
//! Membrane potentials are f32 laid out position-major, `u[(p·Q + q)·lanes + a]`,
//! with the kernel count padded to `lanes` (a multiple of 8). The covering
//! positions q0..q1 of an input spike at pixel (y, x) in conv row p are contiguous in
//! `u`, and they see kernel columns j = x − q·s, which step down by the stride. The
//! weights are therefore stored per kernel row i with the columns regrouped by
//! j mod s, each group in descending j: the weights a spike adds in one conv row are
//! then one contiguous run, and its delivery is one contiguous SIMD add per conv row
//! (each neuron still receives exactly one add per input spike, in spike order).
//! The leak is dense; the threshold test visits only the positions that received
//! input in the step or still hold a potential at or above threshold (see
//! [`ConvLayer::fire_marked`]).

use crate::error::{Error, Result};
use crate::limits;

/// What a neuron does with its potential after a spike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reset {
    /// u ← u − u_THR (docs/algorithms.md §2): surplus charge is kept, so rates stay linear.
    Subtract,
    /// u ← 0 (the ArNI-X default), for comparison.
    Zero,
}

/// Padding granule of the kernel axis (one AVX register of f32); also the kernels per
/// chunk of the calibration's counts-only simulation.
pub(super) const LANE_GRANULE: usize = 8;

/// Geometry, weights and neuron constants of one convolution layer.
#[derive(Clone, Debug)]
pub struct ConvLayer {
    pub n_kernels: usize,
    pub lanes: usize,
    /// Input channels C.
    pub channels: usize,
    pub k: usize,
    pub stride: usize,
    pub height: usize,
    pub width: usize,
    pub p_len: usize,
    pub q_len: usize,
    kernels: Vec<f64>,
    /// α·w as f32, `weights[(c·K² + i·K + j)·lanes + a]`.
    weights: Vec<f32>,
    /// The same weights, columns regrouped for delivery:
    /// `by_col[(c·K + i)·K·lanes + col_slot[j]·lanes + a]`.
    by_col: Vec<f32>,
    /// Per kernel column j: its slot in a regrouped row (groups j mod s, each in
    /// descending j).
    col_slot: Vec<usize>,
    /// Per image column x: (offset of its run in a regrouped row, offset of position
    /// q0 in a row of `u`, length of the run), all in f32 units.
    col_run: Vec<(usize, usize, usize)>,
    threshold: f32,
    decay: Option<f32>,
    reset: Reset,
    /// Per image row y: the half-open range of conv rows p whose field holds y.
    rows: Vec<(usize, usize)>,
    /// Per image column x: the same for conv columns q.
    cols: Vec<(usize, usize)>,
    /// Words per conv row in a bit set over positions ([`ConvLayer::mark`]).
    row_words: usize,
    /// Per image column x: its covering conv columns as a bit mask of `row_words`
    /// words.
    col_bits: Vec<u64>,
    /// Per input node (c·H + y)·W + x: (c, y, x), so a spike's node needs no
    /// division.
    pixel_yx: Vec<(u32, u32, u32)>,
}

/// `d += w` on one register's worth of lanes (fixed-size arrays, so the adds
/// become one SIMD instruction).
#[inline(always)]
fn add_lanes(d: &mut [f32; LANE_GRANULE], w: &[f32; LANE_GRANULE]) {
    // Load both, add, store once: written this way the compiler need not prove
    // that `d` and `w` do not overlap before using one vector add.
    let (mut acc, add) = (*d, *w);
    for c in 0..LANE_GRANULE {
        acc[c] += add[c];
    }
    *d = acc;
}

/// `d += w` elementwise (equal lengths, a multiple of `LANE_GRANULE`), four
/// registers at a time when the length allows.
#[inline(always)]
fn add_run(d: &mut [f32], w: &[f32]) {
    const WIDE: usize = 4 * LANE_GRANULE;
    if d.len() % WIDE == 0 {
        for (d, w) in d.chunks_exact_mut(WIDE).zip(w.chunks_exact(WIDE)) {
            let (d, w): (&mut [f32; WIDE], &[f32; WIDE]) =
                (d.try_into().unwrap(), w.try_into().unwrap());
            let (mut acc, add) = (*d, *w);
            for c in 0..WIDE {
                acc[c] += add[c];
            }
            *d = acc;
        }
    } else {
        for (d, w) in d
            .chunks_exact_mut(LANE_GRANULE)
            .zip(w.chunks_exact(LANE_GRANULE))
        {
            add_lanes(d.try_into().unwrap(), w.try_into().unwrap());
        }
    }
}

/// `d += n·w` elementwise (n·w rounded to f32 first), as [`add_run`].
#[inline(always)]
fn add_run_times(d: &mut [f32], w: &[f32], n: f32) {
    for (d, w) in d
        .chunks_exact_mut(LANE_GRANULE)
        .zip(w.chunks_exact(LANE_GRANULE))
    {
        let (d, w): (&mut [f32; LANE_GRANULE], &[f32; LANE_GRANULE]) =
            (d.try_into().unwrap(), w.try_into().unwrap());
        // on local copies, so the lanes become one vector multiply and add
        let (mut acc, add) = (*d, *w);
        for c in 0..LANE_GRANULE {
            acc[c] += n * add[c];
        }
        *d = acc;
    }
}

/// Bit i set where `v[i] >= th`. With `AVX2` one vector compare and a move-mask
/// (the caller guarantees AVX2 and is compiled for it); otherwise lane by lane.
#[inline(always)]
fn ge_mask<const AVX2: bool>(v: &[f32; LANE_GRANULE], th: f32) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if AVX2 {
        use std::arch::x86_64::{
            _mm256_cmp_ps, _mm256_loadu_ps, _mm256_movemask_ps, _mm256_set1_ps, _CMP_GE_OQ,
        };
        // SAFETY: AVX2 is available (the caller's contract); the load reads the
        // eight f32 of `v`.
        return unsafe {
            let x = _mm256_loadu_ps(v.as_ptr());
            _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GE_OQ>(x, _mm256_set1_ps(th))) as u32
        };
    }
    let mut mask = 0u32;
    for (i, &x) in v.iter().enumerate() {
        mask |= u32::from(x >= th) << i;
    }
    mask
}

/// Half-open range of outputs along one axis whose window [o·s, o·s + k) holds `y`
/// (shared with the calibration's counts-only simulation, which must see the same
/// windows).
#[inline(always)]
pub(crate) fn covering(y: usize, k: usize, stride: usize, n_out: usize) -> (usize, usize) {
    let first = if y + 1 >= k {
        (y + 1 - k).div_ceil(stride)
    } else {
        0
    };
    let last = (y / stride + 1).min(n_out);
    (first.min(last), last)
}

/// Slot of each kernel column j in a regrouped weight row: columns grouped by
/// j mod `stride`, each group in descending j, so the columns x − q·s that covering
/// positions q = q0, q0 + 1, … see are consecutive slots.
fn column_slots(k: usize, stride: usize) -> Vec<usize> {
    let mut slot = vec![0; k];
    let mut next = 0;
    for r in 0..stride.min(k) {
        for j in (r..k).step_by(stride).rev() {
            slot[j] = next;
            next += 1;
        }
    }
    slot
}

/// Sets bits `start..end` of a bit set.
#[inline(always)]
fn set_bits(bits: &mut [u64], start: usize, end: usize) {
    let mut i = start;
    while i < end {
        let (word, bit) = (i / 64, i % 64);
        let n = (end - i).min(64 - bit);
        let ones = if n == 64 {
            u64::MAX
        } else {
            ((1u64 << n) - 1) << bit
        };
        bits[word] |= ones;
        i += n;
    }
}

/// The f32 leak factor 1 − 1/τ, or None for τ = ∞ (no leak).
pub fn decay_factor(tau: Option<f64>) -> Option<f32> {
    tau.filter(|t| t.is_finite())
        .map(|t| (1.0 - 1.0 / t) as f32)
}

impl ConvLayer {
    /// `kernels` is (n_kernels, k, k) row-major; `scales` holds α per kernel.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kernels: &[f64],
        k: usize,
        scales: &[f64],
        stride: usize,
        size: (usize, usize),
        threshold: f64,
        tau: Option<f64>,
        reset: Reset,
    ) -> Result<Self> {
        Self::with_channels(kernels, (1, k), scales, stride, size, threshold, tau, reset)
    }

    /// `kernels` is (n_kernels, channels, k, k) row-major; `scales` holds α per
    /// kernel. Input node (c, y, x) is pixel (y, x) of channel c.
    #[allow(clippy::too_many_arguments)]
    pub fn with_channels(
        kernels: &[f64],
        (channels, k): (usize, usize),
        scales: &[f64],
        stride: usize,
        (height, width): (usize, usize),
        threshold: f64,
        tau: Option<f64>,
        reset: Reset,
    ) -> Result<Self> {
        if channels == 0 {
            return Err(Error::param("channels", "must be >= 1, got 0"));
        }
        let cells = channels.checked_mul(k * k).unwrap_or(0);
        if k == 0 || cells == 0 || kernels.is_empty() || kernels.len() % cells != 0 {
            return Err(Error::input(
                "kernels",
                "must have shape (n_kernels, C, K, K) with n_kernels >= 1 and K >= 1",
            ));
        }
        if kernels.iter().any(|v| !v.is_finite()) {
            return Err(Error::input("kernels", "contains NaN or infinity"));
        }
        if stride == 0 {
            return Err(Error::param("stride", "must be >= 1, got 0"));
        }
        if height < k || width < k {
            return Err(Error::input(
                "images",
                format!("{height}x{width} images are smaller than the {k}x{k} kernels"),
            ));
        }
        if !(threshold > 0.0 && (threshold as f32).is_normal()) {
            return Err(Error::param(
                "threshold",
                format!("must be > 0 and representable in float32, got {threshold}"),
            ));
        }
        if let Some(t) = tau {
            if t.is_nan() || t < 1.0 {
                return Err(Error::param(
                    "tau",
                    format!("must be >= 1 step, or infinite for no leak, got {t}"),
                ));
            }
        }
        let n_kernels = kernels.len() / cells;
        let lanes = n_kernels.div_ceil(LANE_GRANULE) * LANE_GRANULE;
        let p_len = (height - k) / stride + 1;
        let q_len = (width - k) / stride + 1;
        // Pixels and neurons are indexed with u32; every per-network buffer (carry,
        // potentials, spike lists, weights) must fit the allocation budget.
        let pixels = limits::elements_of::<(u32, u32, u32)>("images", &[channels, height, width])?;
        let neurons = limits::elements_of::<(u32, u32)>("kernels", &[p_len, q_len, lanes])?;
        limits::elements_of::<f32>("kernel_size", &[channels, k, k, lanes])?;
        // Per image column, a bit mask over the conv columns (`col_bits`): width ×
        // ⌈Q/64⌉ words, which grows with the square of the width.
        limits::elements_of::<u64>("images", &[width, q_len.div_ceil(64)])?;
        if pixels > u32::MAX as usize || neurons > u32::MAX as usize {
            return Err(Error::too_large(
                "images",
                format!(
                    "{height}x{width} images with {n_kernels} kernels give {neurons} neurons; \
                     at most {} pixels and neurons are supported",
                    u32::MAX
                ),
            ));
        }
        let col_slot = column_slots(k, stride);
        let cols: Vec<(usize, usize)> = (0..width).map(|x| covering(x, k, stride, q_len)).collect();
        let col_run = (0..width)
            .zip(&cols)
            .map(|(x, &(q0, q1))| {
                if q1 > q0 {
                    (
                        col_slot[x - q0 * stride] * lanes,
                        q0 * lanes,
                        (q1 - q0) * lanes,
                    )
                } else {
                    (0, 0, 0)
                }
            })
            .collect();
        let row_words = q_len.div_ceil(64);
        let mut col_bits = vec![0u64; width * row_words];
        for (x, &(q0, q1)) in cols.iter().enumerate() {
            set_bits(&mut col_bits[x * row_words..][..row_words], q0, q1);
        }
        let mut layer = Self {
            n_kernels,
            lanes,
            channels,
            k,
            stride,
            height,
            width,
            p_len,
            q_len,
            kernels: kernels.to_vec(),
            weights: vec![0.0; cells * lanes],
            by_col: vec![0.0; cells * lanes],
            col_slot,
            col_run,
            threshold: threshold as f32,
            decay: decay_factor(tau),
            reset,
            rows: (0..height).map(|y| covering(y, k, stride, p_len)).collect(),
            cols,
            row_words,
            col_bits,
            pixel_yx: (0..channels * height * width)
                .map(|px| {
                    let (c, yx) = (px / (height * width), px % (height * width));
                    (c as u32, (yx / width) as u32, (yx % width) as u32)
                })
                .collect(),
        };
        layer.set_scales(scales)?;
        Ok(layer)
    }

    /// Sets α per kernel: weight = (α_a · w[a, i, j]) rounded once to f32.
    pub fn set_scales(&mut self, scales: &[f64]) -> Result<()> {
        if scales.len() != self.n_kernels {
            return Err(Error::input(
                "scale",
                format!(
                    "needs one value per kernel ({}), got {}",
                    self.n_kernels,
                    scales.len()
                ),
            ));
        }
        if let Some(s) = scales.iter().find(|s| !(s.is_finite() && **s >= 0.0)) {
            return Err(Error::param(
                "scale",
                format!("must be finite and >= 0, got {s}"),
            ));
        }
        let kk = self.k * self.k;
        let cells = self.channels * kk;
        for (a, &alpha) in scales.iter().enumerate() {
            for c in 0..cells {
                let w = (alpha * self.kernels[a * cells + c]) as f32;
                if !w.is_finite() {
                    return Err(Error::param(
                        "scale",
                        format!("{alpha} makes kernel {a}'s weights overflow float32"),
                    ));
                }
                self.weights[c * self.lanes + a] = w;
                // Row (channel, i) of the regrouped table: ch·K + i = c / K.
                let (row, j) = (c / self.k, c % self.k);
                self.by_col[(row * self.k + self.col_slot[j]) * self.lanes + a] = w;
            }
        }
        Ok(())
    }

    /// The f32 weight α_a·w[a, c] of kernel `a`, cell `c` = ch·K² + i·K + j.
    #[inline]
    pub fn weight(&self, a: usize, c: usize) -> f32 {
        self.weights[c * self.lanes + a]
    }

    /// u_THR as the neurons compare it.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The leak factor per step (None: no leak).
    pub fn decay(&self) -> Option<f32> {
        self.decay
    }

    pub fn reset(&self) -> Reset {
        self.reset
    }

    /// Number of neurons including padding lanes (the length of `u`).
    pub fn state_len(&self) -> usize {
        self.p_len * self.q_len * self.lanes
    }

    /// Synapses a spike at (y, x) reaches (kernels × covering positions).
    #[inline]
    pub fn fan_out(&self, y: usize, x: usize) -> usize {
        let (p0, p1) = self.rows[y];
        let (q0, q1) = self.cols[x];
        (p1 - p0) * (q1 - q0) * self.n_kernels
    }

    /// The leak u ← u·(1 − 1/τ) of one step (nothing for τ = ∞).
    #[inline(always)]
    pub fn leak(&self, u: &mut [f32]) {
        if let Some(d) = self.decay {
            for v in u.iter_mut() {
                *v *= d;
            }
        }
    }

    /// Event-driven delivery of one input spike at pixel (y, x) of channel `c`: per
    /// covering conv row, one contiguous run of weights added to the contiguous
    /// potentials of the covering positions, `LANE_GRANULE` lanes at a time.
    #[inline(always)]
    pub fn deliver(&self, u: &mut [f32], c: usize, y: usize, x: usize) {
        let (p0, p1) = self.rows[y];
        let (w_off, u_off, len) = self.col_run[x];
        let (kl, s, row) = (self.k * self.lanes, self.stride, self.q_len * self.lanes);
        let w_off = w_off + c * self.k * kl;
        for p in p0..p1 {
            let wrun = &self.by_col[(y - p * s) * kl + w_off..][..len];
            add_run(&mut u[p * row + u_off..][..len], wrun);
        }
    }

    /// `n` input spikes at once at pixel (y, x) of channel `c`: each covered
    /// potential gets n·w (the product rounded to f32, then added), as
    /// [`ConvLayer::deliver`] otherwise.
    #[inline(always)]
    pub fn deliver_times(&self, u: &mut [f32], c: usize, y: usize, x: usize, n: f32) {
        let (p0, p1) = self.rows[y];
        let (w_off, u_off, len) = self.col_run[x];
        let (kl, s, row) = (self.k * self.lanes, self.stride, self.q_len * self.lanes);
        let w_off = w_off + c * self.k * kl;
        for p in p0..p1 {
            let wrun = &self.by_col[(y - p * s) * kl + w_off..][..len];
            add_run_times(&mut u[p * row + u_off..][..len], wrun, n);
        }
    }

    /// (c, y, x) of input node (c·H + y)·W + x.
    #[inline(always)]
    pub fn pixel(&self, px: usize) -> (usize, usize, usize) {
        let (c, y, x) = self.pixel_yx[px];
        (c as usize, y as usize, x as usize)
    }

    /// Input nodes: C·H·W.
    pub fn n_inputs(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Words of a bit set over conv positions: `row_words` per conv row, bit q of
    /// row p marks position p·Q + q (see [`ConvLayer::mark`]).
    pub fn position_words(&self) -> usize {
        self.p_len * self.row_words
    }

    /// Marks the conv positions an input spike at (y, x) reaches in the bit set
    /// `marked`.
    #[inline(always)]
    pub fn mark(&self, marked: &mut [u64], y: usize, x: usize) {
        let (p0, p1) = self.rows[y];
        let rw = self.row_words;
        let bits = &self.col_bits[x * rw..][..rw];
        if rw == 1 {
            for m in &mut marked[p0..p1] {
                *m |= bits[0];
            }
        } else {
            for p in p0..p1 {
                for (m, &b) in marked[p * rw..][..rw].iter_mut().zip(bits) {
                    *m |= b;
                }
            }
        }
    }

    /// Threshold test of the neurons at the positions marked in the bit set
    /// `marked` (bit p·Q + q), in ascending position order: spiking neurons are
    /// reset and their (position p·Q + q, kernel a) replace the contents of `spikes`
    /// (at most one spike per neuron per step; capacity for all neurons, so no
    /// allocation). Every neuron of an unmarked
    /// position must be below threshold: true for positions that got no input since
    /// their last test left them below threshold, since the leak never raises a
    /// potential below u_THR (u·d with 0 ≤ d < 1 rounds to at most max(u, 0)). On
    /// return `marked` holds the positions where a neuron is still at or above
    /// threshold after its reset (u ≥ 2·u_THR before it), which must be tested again.
    #[inline(always)]
    pub fn fire_marked(&self, u: &mut [f32], marked: &mut [u64], spikes: &mut Vec<(u32, u32)>) {
        self.fire_marked_with::<false>(u, marked, spikes)
    }

    /// [`ConvLayer::fire_marked`]; with `AVX2` the compares use AVX intrinsics, so
    /// it must only be inlined into code compiled for AVX2 on a CPU that has it.
    #[inline(always)]
    pub(crate) fn fire_marked_with<const AVX2: bool>(
        &self,
        u: &mut [f32],
        marked: &mut [u64],
        spikes: &mut Vec<(u32, u32)>,
    ) {
        spikes.clear();
        let (th, l, rw, q_len) = (self.threshold, self.lanes, self.row_words, self.q_len);
        for (wi, word) in marked.iter_mut().enumerate() {
            let mut bits = *word;
            let mut keep = 0u64;
            // Word wi holds conv row wi / rw, columns from (wi % rw)·64.
            let first = if rw == 1 {
                wi * q_len
            } else {
                wi / rw * q_len + wi % rw * 64
            };
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let pos = first + b;
                let row = &mut u[pos * l..][..l];
                let mut again = false;
                for (c, chunk) in row.chunks_exact_mut(LANE_GRANULE).enumerate() {
                    // One compare per register; padding lanes hold 0 < u_THR.
                    let mut mask = ge_mask::<AVX2>((&*chunk).try_into().unwrap(), th);
                    while mask != 0 {
                        let i = mask.trailing_zeros() as usize;
                        mask &= mask - 1;
                        let v = &mut chunk[i];
                        *v = match self.reset {
                            Reset::Subtract => *v - th,
                            Reset::Zero => 0.0,
                        };
                        again |= *v >= th;
                        spikes.push((pos as u32, (c * LANE_GRANULE + i) as u32));
                    }
                }
                if again {
                    keep |= 1 << b;
                }
            }
            *word = keep;
        }
    }

    /// Potential of neuron (a, p, q) in a state vector.
    #[inline]
    pub fn potential(&self, u: &[f32], a: usize, p: usize, q: usize) -> f32 {
        u[(p * self.q_len + q) * self.lanes + a]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covering_ranges() {
        // 28 pixels, K = 9, stride 2: 10 outputs; pixel 0 only in output 0,
        // pixel 8 in outputs 0..=4, pixel 26 only in output 9 (window 18..=26), and
        // pixel 27 in none (it lies beyond the last window: an empty range).
        assert_eq!(covering(0, 9, 2, 10), (0, 1));
        assert_eq!(covering(8, 9, 2, 10), (0, 5));
        assert_eq!(covering(26, 9, 2, 10), (9, 10));
        assert_eq!(covering(27, 9, 2, 10), (10, 10));
        // 29 pixels give 11 outputs; the last (20..=28) holds pixel 28.
        assert_eq!(covering(28, 9, 2, 11), (10, 11));
    }

    #[test]
    fn delivery_equals_convolution() {
        // Delivering every pixel once with weight g must give the cross-correlation
        // of an all-ones image, i.e. the sum of each kernel.
        let k = 3;
        let kernels: Vec<f64> = (0..2 * 9).map(|v| v as f64 - 4.0).collect();
        let layer = ConvLayer::new(
            &kernels,
            k,
            &[1.0, 0.5],
            2,
            (7, 8),
            1.0,
            None,
            Reset::Subtract,
        )
        .unwrap();
        assert_eq!((layer.p_len, layer.q_len), (3, 3));
        let mut u = vec![0f32; layer.state_len()];
        for y in 0..7 {
            for x in 0..8 {
                layer.deliver(&mut u, 0, y, x);
            }
        }
        let s0: f64 = kernels[..9].iter().sum();
        let s1: f64 = kernels[9..].iter().sum::<f64>() * 0.5;
        for p in 0..3 {
            for q in 0..3 {
                assert_eq!(layer.potential(&u, 0, p, q) as f64, s0);
                assert_eq!(layer.potential(&u, 1, p, q) as f64, s1);
            }
        }
    }

    #[test]
    fn marks_are_the_positions_a_delivery_touches() {
        // Strides 1..=4, kernel sizes that are and are not multiples of the stride,
        // and conv rows wider than one 64-bit word (q_len > 64).
        for (k, stride, (h, w)) in [
            (3, 1, (6, 7)),
            (5, 2, (11, 13)),
            (4, 3, (13, 16)),
            (9, 4, (21, 30)),
            (3, 2, (7, 140)),
            (5, 1, (6, 140)),
        ] {
            let kernels: Vec<f64> = (0..2 * k * k).map(|v| 1.0 + v as f64).collect();
            let layer = ConvLayer::new(
                &kernels,
                k,
                &[1.0, 0.5],
                stride,
                (h, w),
                1.0,
                None,
                Reset::Subtract,
            )
            .unwrap();
            for y in 0..h {
                for x in 0..w {
                    let mut u = vec![0f32; layer.state_len()];
                    let mut marked = vec![0; layer.position_words()];
                    layer.deliver(&mut u, 0, y, x);
                    layer.mark(&mut marked, y, x);
                    for p in 0..layer.p_len {
                        for q in 0..layer.q_len {
                            let bit = p * layer.row_words * 64 + q;
                            let is_marked = marked[bit / 64] >> (bit % 64) & 1 == 1;
                            let inside = (p * stride..p * stride + k).contains(&y)
                                && (q * stride..q * stride + k).contains(&x);
                            assert_eq!(
                                is_marked, inside,
                                "k={k} s={stride} y={y} x={x} p={p} q={q}"
                            );
                            for a in 0..2 {
                                let want = if inside {
                                    let c = (y - p * stride) * k + (x - q * stride);
                                    layer.weight(a, c)
                                } else {
                                    0.0
                                };
                                assert_eq!(layer.potential(&u, a, p, q), want);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn subtractive_and_zero_reset() {
        let mk = |reset| ConvLayer::new(&[1.7], 1, &[1.0], 1, (1, 1), 1.0, None, reset).unwrap();
        for (reset, expect) in [(Reset::Subtract, 0.7f32), (Reset::Zero, 0.0)] {
            let layer = mk(reset);
            let mut u = vec![0f32; layer.state_len()];
            layer.deliver(&mut u, 0, 0, 0);
            let mut spikes = Vec::with_capacity(layer.state_len());
            let mut marked = vec![0; layer.position_words()];
            layer.mark(&mut marked, 0, 0);
            layer.fire_marked(&mut u, &mut marked, &mut spikes);
            assert_eq!(spikes, vec![(0, 0)]);
            assert!((u[0] - expect).abs() < 1e-6);
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        let e = ConvLayer::new(&[1.0; 9], 3, &[1.0], 1, (2, 5), 1.0, None, Reset::Subtract);
        assert!(matches!(e, Err(Error::InvalidInput { name: "images", .. })));
        let e = ConvLayer::new(
            &[1.0; 9],
            3,
            &[1.0],
            1,
            (5, 5),
            1.0,
            Some(0.0),
            Reset::Subtract,
        );
        assert!(matches!(
            e,
            Err(Error::InvalidParameter { name: "tau", .. })
        ));
        let e = ConvLayer::new(&[1.0; 9], 3, &[1.0], 1, (5, 5), 0.0, None, Reset::Subtract);
        assert!(matches!(
            e,
            Err(Error::InvalidParameter {
                name: "threshold",
                ..
            })
        ));
        let e = ConvLayer::new(
            &[1.0; 9],
            3,
            &[1.0, 2.0],
            1,
            (5, 5),
            1.0,
            None,
            Reset::Subtract,
        );
        assert!(matches!(e, Err(Error::InvalidInput { name: "scale", .. })));
    }

    #[test]
    fn channels_deliver_their_own_kernel_planes() {
        // Two channels: a spike of channel c at (y, x) adds α·w[a, c, y − p·s, x − q·s]
        // to every covering position, and one channel reproduces `new`.
        let (k, stride, (h, w)) = (3, 2, (7, 9));
        let kernels: Vec<f64> = (0..2 * 2 * k * k).map(|v| v as f64 * 0.25 - 2.0).collect();
        let layer = ConvLayer::with_channels(
            &kernels,
            (2, k),
            &[1.0, 0.5],
            stride,
            (h, w),
            1.0,
            None,
            Reset::Subtract,
        )
        .unwrap();
        assert_eq!(layer.n_inputs(), 2 * h * w);
        for px in 0..layer.n_inputs() {
            let (c, y, x) = layer.pixel(px);
            assert_eq!(px, (c * h + y) * w + x);
            let mut u = vec![0f32; layer.state_len()];
            layer.deliver(&mut u, c, y, x);
            for p in 0..layer.p_len {
                for q in 0..layer.q_len {
                    let inside = (p * stride..p * stride + k).contains(&y)
                        && (q * stride..q * stride + k).contains(&x);
                    for (a, alpha) in [(0, 1.0), (1, 0.5)] {
                        let want = if inside {
                            let cell = (y - p * stride) * k + (x - q * stride);
                            (alpha * kernels[(a * 2 + c) * k * k + cell]) as f32
                        } else {
                            0.0
                        };
                        assert_eq!(layer.potential(&u, a, p, q), want, "px={px} a={a}");
                    }
                }
            }
        }
        let one =
            ConvLayer::new(&kernels[..9], k, &[1.0], 1, (h, w), 1.0, None, Reset::Zero).unwrap();
        let same = ConvLayer::with_channels(
            &kernels[..9],
            (1, k),
            &[1.0],
            1,
            (h, w),
            1.0,
            None,
            Reset::Zero,
        )
        .unwrap();
        assert_eq!(one.by_col, same.by_col);
        assert_eq!(one.pixel_yx, same.pixel_yx);
    }
}
