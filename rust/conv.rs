//! Valid cross-correlation (no flip, no padding) of one image with a kernel bank.
//!
//! Two versions: an exact f64 one that defines the learner's responses, and a fast
//! f32 one for feature extraction on large frames. Both compute every output as an
//! independent sum in a fixed order, so results never depend on the thread count.

use rayon::prelude::*;

/// Output size of a valid convolution along one axis (input ≥ k).
#[inline]
pub fn out_len(n: usize, k: usize, stride: usize) -> usize {
    (n - k) / stride + 1
}

/// Work (multiply-adds) below which running in parallel costs more than it saves.
const PARALLEL_MACS: usize = 1 << 20;

/// `out[a, p, q] = Σ_ij kernels[a, i, j] · g[p·s + i, q·s + j]`, f64, sums in
/// row-major kernel order (the order the numpy reference uses).
pub fn conv_f64(
    g: &[f64],
    (h, w): (usize, usize),
    kernels: &[f64],
    k: usize,
    stride: usize,
    out: &mut [f64],
) {
    let n = kernels.len() / (k * k);
    let (p_len, q_len) = (out_len(h, k, stride), out_len(w, k, stride));
    debug_assert_eq!(out.len(), n * p_len * q_len);
    let one = |(a, out_a): (usize, &mut [f64])| {
        let ker = &kernels[a * k * k..(a + 1) * k * k];
        for p in 0..p_len {
            for q in 0..q_len {
                let mut acc = 0.0;
                for i in 0..k {
                    let row = &g[(p * stride + i) * w + q * stride..][..k];
                    let kr = &ker[i * k..(i + 1) * k];
                    for j in 0..k {
                        acc += kr[j] * row[j];
                    }
                }
                out_a[p * q_len + q] = acc;
            }
        }
    };
    if n * p_len * q_len * k * k >= PARALLEL_MACS {
        out.par_chunks_mut(p_len * q_len).enumerate().for_each(one);
    } else {
        out.chunks_mut(p_len * q_len).enumerate().for_each(one);
    }
}

/// Width of the register block of output columns in the fast path.
const LANES: usize = 16;

/// Fast f32 version of [`conv_f64`] with the same semantics.
///
/// The input is first split into `stride` column phases so that, for a fixed kernel
/// cell, the pixels seen by consecutive outputs are contiguous; each output row is
/// then accumulated in blocks of `LANES` columns held in registers. Sums run in
/// row-major kernel order with separate multiply and add (no fused multiply-add), so
/// the result is the same on every x86-64 CPU and for any thread count.
pub fn conv_f32(
    g: &[f32],
    (h, w): (usize, usize),
    kernels: &[f32],
    k: usize,
    stride: usize,
    out: &mut [f32],
) {
    let n = kernels.len() / (k * k);
    let (p_len, q_len) = (out_len(h, k, stride), out_len(w, k, stride));
    debug_assert_eq!(out.len(), n * p_len * q_len);
    // phases[r][y][c] = g[y][c * stride + r], padded so block reads never overrun.
    let phase_w = q_len + k.div_ceil(stride) + LANES;
    let mut phases = vec![0f32; stride * h * phase_w];
    for r in 0..stride {
        for y in 0..h {
            let dst = &mut phases[(r * h + y) * phase_w..][..phase_w];
            for (c, d) in dst.iter_mut().enumerate() {
                let x = c * stride + r;
                if x < w {
                    *d = g[y * w + x];
                }
            }
        }
    }
    let phases = &phases;
    let row = |(idx, out_row): (usize, &mut [f32])| {
        let (a, p) = (idx / p_len, idx % p_len);
        let ker = &kernels[a * k * k..(a + 1) * k * k];
        conv_row(phases, h, phase_w, ker, k, stride, p, out_row);
    };
    if n * p_len * q_len * k * k >= PARALLEL_MACS {
        out.par_chunks_mut(q_len).enumerate().for_each(row);
    } else {
        out.chunks_mut(q_len).enumerate().for_each(row);
    }
}

#[allow(clippy::too_many_arguments)]
fn conv_row(
    phases: &[f32],
    h: usize,
    phase_w: usize,
    ker: &[f32],
    k: usize,
    stride: usize,
    p: usize,
    out_row: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { conv_row_avx2(phases, h, phase_w, ker, k, stride, p, out_row) };
            return;
        }
    }
    conv_row_generic(phases, h, phase_w, ker, k, stride, p, out_row);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn conv_row_avx2(
    phases: &[f32],
    h: usize,
    phase_w: usize,
    ker: &[f32],
    k: usize,
    stride: usize,
    p: usize,
    out_row: &mut [f32],
) {
    conv_row_generic(phases, h, phase_w, ker, k, stride, p, out_row)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn conv_row_generic(
    phases: &[f32],
    h: usize,
    phase_w: usize,
    ker: &[f32],
    k: usize,
    stride: usize,
    p: usize,
    out_row: &mut [f32],
) {
    let q_len = out_row.len();
    let mut q0 = 0;
    while q0 < q_len {
        let mut acc = [0f32; LANES];
        for i in 0..k {
            let y = p * stride + i;
            for j in 0..k {
                let wv = ker[i * k + j];
                let start = ((j % stride) * h + y) * phase_w + q0 + j / stride;
                let src: &[f32; LANES] = phases[start..start + LANES].try_into().unwrap();
                for l in 0..LANES {
                    acc[l] += wv * src[l];
                }
            }
        }
        let m = LANES.min(q_len - q0);
        out_row[q0..q0 + m].copy_from_slice(&acc[..m]);
        q0 += LANES;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn hand_case() {
        // 3x3 image, 2x2 kernel of ones, stride 1 -> sums of 2x2 blocks
        let g = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let ker = [1.0, 0.0, 0.0, -1.0];
        let mut out = [0.0; 4];
        conv_f64(&g, (3, 3), &ker, 2, 1, &mut out);
        assert_eq!(out, [-4.0, -4.0, -4.0, -4.0]);
        let mut out2 = [0.0; 1];
        conv_f64(&g, (3, 3), &ker, 2, 2, &mut out2);
        assert_eq!(out2, [-4.0]);
    }

    #[test]
    fn f32_matches_f64() {
        let mut s = 3;
        for &(h, w, k, stride, n) in &[
            (28, 28, 9, 2, 5),
            (31, 40, 5, 3, 3),
            (9, 9, 9, 1, 2),
            (50, 37, 4, 1, 4),
        ] {
            let g: Vec<f64> = (0..h * w).map(|_| lcg(&mut s)).collect();
            let ker: Vec<f64> = (0..n * k * k).map(|_| lcg(&mut s) - 0.3).collect();
            let (pl, ql) = (out_len(h, k, stride), out_len(w, k, stride));
            let mut o64 = vec![0.0; n * pl * ql];
            conv_f64(&g, (h, w), &ker, k, stride, &mut o64);
            let g32: Vec<f32> = g.iter().map(|&v| v as f32).collect();
            let k32: Vec<f32> = ker.iter().map(|&v| v as f32).collect();
            let mut o32 = vec![0f32; n * pl * ql];
            conv_f32(&g32, (h, w), &k32, k, stride, &mut o32);
            for (a, b) in o64.iter().zip(&o32) {
                assert!((a - *b as f64).abs() < 1e-4, "{a} vs {b}");
            }
        }
    }
}
