//! Valid cross-correlation (no flip, no padding) of one image with a kernel bank.
//!
//! The fast dense f32 version for feature extraction on large frames (the learner's
//! exact f64 responses are in [`crate::kernels::responses`]). Every output is an independent
//! sum in a fixed order, so results never depend on the thread count.

use rayon::prelude::*;

/// Output size of a valid convolution along one axis (input ≥ k).
#[inline]
pub fn out_len(n: usize, k: usize, stride: usize) -> usize {
    (n - k) / stride + 1
}

/// Work (multiply-adds) below which running in parallel costs more than it saves.
pub const PARALLEL_MACS: usize = 1 << 20;

/// Width of the register block of output columns in the fast path.
const LANES: usize = 16;
/// Kernels accumulated together, so one load of input pixels feeds several
/// independent accumulator chains (hides add latency, cuts loads per MAC).
const GROUP: usize = 4;

/// [`conv_f32`] over a stack of `n_img` images (h × w each, concatenated in `g`) into
/// `out` (n_img, n_kernels, P, Q). Across images when there are many small ones;
/// within an image (the conv parallelises itself) when frames are large. Every output
/// is the same sum either way, so the split never changes a result.
pub fn conv_stack_f32(
    g: &[f32],
    n_img: usize,
    (h, w): (usize, usize),
    kernels: &[f32],
    k: usize,
    stride: usize,
    out: &mut [f32],
) {
    let n_k = kernels.len() / (k * k);
    let per = n_k * out_len(h, k, stride) * out_len(w, k, stride);
    assert_eq!(out.len(), n_img * per);
    if per == 0 {
        return;
    }
    if n_img > 1 && per * k * k < PARALLEL_MACS {
        out.par_chunks_mut(per).enumerate().for_each(|(i, o)| {
            conv_f32(
                &g[i * h * w..(i + 1) * h * w],
                (h, w),
                kernels,
                k,
                stride,
                o,
            )
        });
    } else {
        for (i, o) in out.chunks_mut(per).enumerate() {
            conv_f32(
                &g[i * h * w..(i + 1) * h * w],
                (h, w),
                kernels,
                k,
                stride,
                o,
            );
        }
    }
}

/// Output pointer shared by tasks that write disjoint rows.
#[derive(Clone, Copy)]
struct RowsPtr(*mut f32);
// SAFETY: tasks write disjoint regions only (see `conv_f32`).
unsafe impl Send for RowsPtr {}
// SAFETY: as for `Send`: the pointer is only written through at disjoint rows.
unsafe impl Sync for RowsPtr {}

/// Fast f32 valid cross-correlation, output (a, p, q).
///
/// The input is first split into `stride` column phases so that, for a fixed kernel
/// cell, the pixels seen by consecutive outputs are contiguous; then, per output row,
/// groups of `GROUP` kernels are accumulated over blocks of `LANES` columns held in
/// registers. Sums run in row-major kernel order with separate multiply and add (no
/// fused multiply-add), so the result is the same on every x86-64 CPU and for any
/// thread count.
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
    assert_eq!(out.len(), n * p_len * q_len);
    // phases[r][y][c] = g[y][c * stride + r], padded so block reads never overrun.
    let phase_w = q_len + k.div_ceil(stride) + LANES;
    let mut phases = crate::pages::zeroed::<f32>(stride * h * phase_w);
    for r in 0..stride.min(w) {
        for (y, row) in g.chunks_exact(w).enumerate() {
            let dst = &mut phases[(r * h + y) * phase_w..][..phase_w];
            for (d, &v) in dst.iter_mut().zip(row[r..].iter().step_by(stride)) {
                *d = v;
            }
        }
    }
    // Kernels padded to a multiple of GROUP with zeros (their outputs are dropped).
    let groups = n.div_ceil(GROUP);
    let mut padded = vec![0f32; groups * GROUP * k * k];
    padded[..kernels.len()].copy_from_slice(kernels);
    let geom = Geometry {
        h,
        phase_w,
        k,
        stride,
        n,
        p_len,
        q_len,
    };
    let (phases, padded) = (&phases, &padded);
    let ptr = RowsPtr(out.as_mut_ptr());
    let task = move |t: usize| {
        let (grp, p) = (t / p_len, t % p_len);
        // SAFETY: task (grp, p) writes only rows (a, p) for a in its group; tasks are
        // distinct (grp, p) pairs, so writes never overlap, and `out` outlives them.
        unsafe { conv_rows(phases, padded, &geom, grp, p, ptr) };
    };
    if n * p_len * q_len * k * k >= PARALLEL_MACS {
        (0..groups * p_len).into_par_iter().for_each(task);
    } else {
        (0..groups * p_len).for_each(task);
    }
}

struct Geometry {
    h: usize,
    phase_w: usize,
    k: usize,
    stride: usize,
    n: usize,
    p_len: usize,
    q_len: usize,
}

/// # Safety
/// `out` must point to `n * p_len * q_len` floats, and no other task may write the
/// rows of this (group, p).
unsafe fn conv_rows(
    phases: &[f32],
    kernels: &[f32],
    geom: &Geometry,
    grp: usize,
    p: usize,
    out: RowsPtr,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { conv_rows_avx2(phases, kernels, geom, grp, p, out) };
            return;
        }
    }
    // SAFETY: no AVX2: the portable build of the same body; `conv_rows`' contract is forwarded.
    unsafe { conv_rows_generic(phases, kernels, geom, grp, p, out) }
}

/// # Safety
/// As [`conv_rows`], and the CPU supports AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn conv_rows_avx2(
    phases: &[f32],
    kernels: &[f32],
    geom: &Geometry,
    grp: usize,
    p: usize,
    out: RowsPtr,
) {
    // SAFETY: `conv_rows`' contract is forwarded; the AVX2 feature was checked by `conv_rows`.
    unsafe { conv_rows_generic(phases, kernels, geom, grp, p, out) }
}

/// # Safety
/// As [`conv_rows`]: `out` points to `n * p_len * q_len` floats that live while the call
/// runs, and no other task writes rows (a, p) of this group and this p at the same time.
#[inline(always)]
unsafe fn conv_rows_generic(
    phases: &[f32],
    kernels: &[f32],
    geom: &Geometry,
    grp: usize,
    p: usize,
    out: RowsPtr,
) {
    let Geometry {
        h,
        phase_w,
        k,
        stride,
        n,
        p_len,
        q_len,
    } = *geom;
    let kk = k * k;
    let ker = &kernels[grp * GROUP * kk..(grp + 1) * GROUP * kk];
    // Where kernel column j reads, relative to its row: hoisted, since an integer
    // division per multiply-add block would cost more than the block itself.
    let column: Vec<usize> = (0..k)
        .map(|j| (j % stride) * h * phase_w + j / stride)
        .collect();
    let mut q0 = 0;
    while q0 < q_len {
        let mut acc = [[0f32; LANES]; GROUP];
        for i in 0..k {
            let y = p * stride + i;
            for (j, &col) in column.iter().enumerate() {
                let start = col + y * phase_w + q0;
                let src: &[f32; LANES] = phases[start..start + LANES].try_into().unwrap();
                for (m, acc_m) in acc.iter_mut().enumerate() {
                    let wv = ker[m * kk + i * k + j];
                    for l in 0..LANES {
                        acc_m[l] += wv * src[l];
                    }
                }
            }
        }
        let take = LANES.min(q_len - q0);
        for (m, acc_m) in acc.iter().enumerate() {
            let a = grp * GROUP + m;
            if a < n {
                // SAFETY: row (a, p) belongs to this task; q0 + take <= q_len.
                unsafe {
                    let dst = out.0.add((a * p_len + p) * q_len + q0);
                    std::ptr::copy_nonoverlapping(acc_m.as_ptr(), dst, take);
                }
            }
        }
        q0 += LANES;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `out[a, p, q] = Σ_ij kernels[a, i, j] · g[p·s + i, q·s + j]`, f64, sums in
    /// row-major kernel order (the order the numpy reference uses).
    pub(crate) fn conv_f64(
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
        out.chunks_mut(p_len * q_len).enumerate().for_each(one);
    }

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
