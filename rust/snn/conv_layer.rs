//! The convolution layer of docs/algorithms.md §2: one LIF neuron per (kernel a, position p, q),
//! synapses α_a·w[a, i, j] from its K×K receptive field (negative cells inhibit).
//!
//! Membrane potentials are f32 laid out position-major, `u[(p·Q + q)·lanes + a]`,
//! with the kernel count padded to `lanes` (a multiple of 8). An input spike at
//! pixel (y, x) then adds one contiguous weight row `wt[(i·K + j)·lanes ..]` to one
//! contiguous potential row per covering position: the event-driven update is a
//! short run of SIMD adds, and nothing is recomputed densely per step except the
//! O(1)-per-neuron leak and threshold test.

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

/// Padding granule of the kernel axis (one AVX register of f32).
const LANE_GRANULE: usize = 8;

/// Geometry, weights and neuron constants of one convolution layer.
#[derive(Clone, Debug)]
pub struct ConvLayer {
    pub n_kernels: usize,
    pub lanes: usize,
    pub k: usize,
    pub stride: usize,
    pub height: usize,
    pub width: usize,
    pub p_len: usize,
    pub q_len: usize,
    kernels: Vec<f64>,
    weights: Vec<f32>,
    threshold: f32,
    decay: Option<f32>,
    reset: Reset,
    /// Per image row y: the half-open range of conv rows p whose field holds y.
    rows: Vec<(usize, usize)>,
    /// Per image column x: the same for conv columns q.
    cols: Vec<(usize, usize)>,
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
        (height, width): (usize, usize),
        threshold: f64,
        tau: Option<f64>,
        reset: Reset,
    ) -> Result<Self> {
        if k == 0 || kernels.is_empty() || kernels.len() % (k * k) != 0 {
            return Err(Error::input(
                "kernels",
                "must have shape (n_kernels, K, K) with n_kernels >= 1 and K >= 1",
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
        let n_kernels = kernels.len() / (k * k);
        let lanes = n_kernels.div_ceil(LANE_GRANULE) * LANE_GRANULE;
        let p_len = (height - k) / stride + 1;
        let q_len = (width - k) / stride + 1;
        // Pixels and neurons are indexed with u32; every per-network buffer (carry,
        // potentials, spike lists, weights) must fit the allocation budget.
        let pixels = limits::elements_of::<u64>("images", &[height, width])?;
        let neurons = limits::elements_of::<(u32, u32)>("kernels", &[p_len, q_len, lanes])?;
        limits::elements_of::<f32>("kernel_size", &[k, k, lanes])?;
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
        let mut layer = Self {
            n_kernels,
            lanes,
            k,
            stride,
            height,
            width,
            p_len,
            q_len,
            kernels: kernels.to_vec(),
            weights: vec![0.0; k * k * lanes],
            threshold: threshold as f32,
            decay: decay_factor(tau),
            reset,
            rows: (0..height).map(|y| covering(y, k, stride, p_len)).collect(),
            cols: (0..width).map(|x| covering(x, k, stride, q_len)).collect(),
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
        for (a, &alpha) in scales.iter().enumerate() {
            for c in 0..kk {
                let w = (alpha * self.kernels[a * kk + c]) as f32;
                if !w.is_finite() {
                    return Err(Error::param(
                        "scale",
                        format!("{alpha} makes kernel {a}'s weights overflow float32"),
                    ));
                }
                self.weights[c * self.lanes + a] = w;
            }
        }
        Ok(())
    }

    /// The f32 weight α_a·w[a, c] of kernel `a`, cell `c` = i·K + j.
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

    /// Event-driven delivery of one input spike at pixel (y, x): for each covering
    /// position, one weight row added to one potential row, `LANE_GRANULE` at a time
    /// (fixed-width chunks compile to whole SIMD registers).
    #[inline(always)]
    pub fn deliver(&self, u: &mut [f32], y: usize, x: usize) {
        let (p0, p1) = self.rows[y];
        let (q0, q1) = self.cols[x];
        let (l, k, s) = (self.lanes, self.k, self.stride);
        for p in p0..p1 {
            let wrow = &self.weights[(y - p * s) * k * l..][..k * l];
            let urow = &mut u[(p * self.q_len + q0) * l..(p * self.q_len + q1) * l];
            for (dq, dst) in urow.chunks_exact_mut(l).enumerate() {
                let j = x - (q0 + dq) * s;
                let src = &wrow[j * l..(j + 1) * l];
                for (d, w) in dst
                    .chunks_exact_mut(LANE_GRANULE)
                    .zip(src.chunks_exact(LANE_GRANULE))
                {
                    add_lanes(d.try_into().unwrap(), w.try_into().unwrap());
                }
            }
        }
    }

    /// Threshold test of every neuron: spiking neurons are reset and their
    /// (position p·Q + q, kernel a) replace the contents of `spikes` (at most one
    /// spike per neuron per step; capacity for all neurons, so no allocation).
    #[inline(always)]
    pub fn fire(&self, u: &mut [f32], spikes: &mut Vec<(u32, u32)>) {
        spikes.clear();
        let th = self.threshold;
        for (pos, row) in u.chunks_exact_mut(self.lanes).enumerate() {
            for (c, chunk) in row.chunks_exact_mut(LANE_GRANULE).enumerate() {
                // One compare per register; padding lanes hold 0 < u_THR.
                let mut mask = 0u32;
                for (i, &v) in chunk.iter().enumerate() {
                    mask |= u32::from(v >= th) << i;
                }
                while mask != 0 {
                    let i = mask.trailing_zeros() as usize;
                    mask &= mask - 1;
                    let v = &mut chunk[i];
                    *v = match self.reset {
                        Reset::Subtract => *v - th,
                        Reset::Zero => 0.0,
                    };
                    spikes.push((pos as u32, (c * LANE_GRANULE + i) as u32));
                }
            }
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
                layer.deliver(&mut u, y, x);
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
    fn subtractive_and_zero_reset() {
        let mk = |reset| ConvLayer::new(&[1.7], 1, &[1.0], 1, (1, 1), 1.0, None, reset).unwrap();
        for (reset, expect) in [(Reset::Subtract, 0.7f32), (Reset::Zero, 0.0)] {
            let layer = mk(reset);
            let mut u = vec![0f32; layer.state_len()];
            layer.deliver(&mut u, 0, 0);
            let mut spikes = Vec::with_capacity(layer.state_len());
            layer.fire(&mut u, &mut spikes);
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
}
