//! The input sums of the spiking step, four neurons at a time: one AVX2 register, or a
//! plain `[f64; 4]` on other CPUs.
//!
//! The loops are written once, generic over `Lanes`, and compiled twice: inside a
//! `#[target_feature(enable = "avx2")]` function with `__m256d`, and with `[f64; 4]`.
//! Every lane does exactly what the scalar reference does for its neuron — start at
//! +0.0 and add the weight of each spiking input in the schedule's order — so both
//! builds are bit-identical to it. Several chunks of four neurons are summed together,
//! their running sums kept in registers, so each weight is read once and each sum
//! written once: [`sum_schedule`] for all steps of a frame (the frame drivers),
//! [`sum_rows`] for one step over the chunks holding an awake neuron (a step driven
//! on its own).
//!
//! [`sum_schedule`] has a third build for CPUs with AVX-512F: eight f64 lanes per
//! register, each still adding its neuron's weights in the same order from +0.0, so it
//! too is bit-identical (only the number of neurons per instruction changes).
//!
//! [`Kernel`] names the implementation a running state uses: the fast one (AVX-512F
//! input sums and AVX2 elsewhere, AVX2, or portable, the best the CPU has), or the
//! reference one kept for tests and benchmarks.

use super::encode::Schedule;
use crate::lanes::Lanes;

/// Which implementation of the spiking step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// The straightforward implementation: every input row added to every neuron.
    Reference,
    /// Chunked sums over awake neurons only, `[f64; 4]` lanes.
    Portable,
    /// Chunked sums over awake neurons only, AVX2 lanes (falls back to `Portable`
    /// where the CPU lacks AVX2).
    Avx2,
    /// `Avx2` with the frame's input sums ([`sum_schedule`]) eight lanes wide with
    /// AVX-512F (falls back to `Avx2` where the CPU lacks AVX-512F).
    Avx512,
}

/// Environment variable selecting the kernel: `reference`, `portable`, `avx2` or
/// `fast` (default: the best the CPU runs). Meant for benchmarks and equivalence
/// tests only.
pub const KERNEL_ENV: &str = "SNNCONV_COLANET_KERNEL";

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn best() -> Self {
        if avx512_available() {
            Kernel::Avx512
        } else if avx2_available() {
            Kernel::Avx2
        } else {
            Kernel::Portable
        }
    }

    /// The kernel named by [`KERNEL_ENV`], else [`Kernel::best`].
    pub fn from_env() -> Self {
        match std::env::var(KERNEL_ENV).as_deref() {
            Ok("reference") => Kernel::Reference,
            Ok("portable") => Kernel::Portable,
            Ok("avx2") if avx2_available() => Kernel::Avx2,
            _ => Kernel::best(),
        }
    }

    pub fn is_reference(self) -> bool {
        self == Kernel::Reference
    }

    /// Whether this kernel runs its AVX2 builds (where the CPU has AVX2).
    pub fn uses_avx2(self) -> bool {
        matches!(self, Kernel::Avx2 | Kernel::Avx512)
    }
}

/// Whether the CPU has AVX2 (and BMI2, which the AVX2 builds also use).
#[inline]
pub(crate) fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("bmi2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the CPU has AVX-512F as well as AVX2 and BMI2, and this build has the
/// AVX-512 code (compiled by Rust ≥ 1.89, see `build.rs`).
#[inline]
pub(crate) fn avx512_available() -> bool {
    #[cfg(all(target_arch = "x86_64", snnconv_avx512))]
    {
        avx2_available() && std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(all(target_arch = "x86_64", snnconv_avx512)))]
    {
        false
    }
}

/// Whether every input indexes one of `n_in` rows (a maximum, which vectorises,
/// rather than a check per input).
#[inline]
fn rows_inside(inputs: &[u32], n_in: usize) -> bool {
    inputs
        .iter()
        .copied()
        .max()
        .is_none_or(|i| (i as usize) < n_in)
}

/// Sums of the weight rows of `inputs` (in their order, starting from +0.0) for the
/// neurons of the four-neuron chunks listed in `chunks`: neuron 4q + l gets lane l of
/// chunk q, written to `out[4q + l]` where that is inside `out`. Other entries of
/// `out` are left as they are.
///
/// `weights` is (n_in, stride) row-major with `stride` a multiple of 4.
///
/// # Panics
/// If an input row or a chunk lies outside `weights`.
pub fn sum_rows(
    kernel: Kernel,
    weights: &[f64],
    stride: usize,
    inputs: &[u32],
    chunks: &[u32],
    out: &mut [f64],
) {
    assert!(stride % 4 == 0 && stride > 0);
    let n_in = weights.len() / stride;
    assert!(rows_inside(inputs, n_in));
    assert!(chunks.iter().all(|&q| 4 * (q as usize) < stride));
    match kernel {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 | Kernel::Avx512 if avx2_available() => {
            // SAFETY: AVX2 is present; rows and chunks were checked above.
            unsafe { sum_rows_avx2(weights, stride, inputs, chunks, out) }
        }
        // SAFETY: rows and chunks were checked above.
        _ => unsafe { sum_rows_lanes::<[f64; 4]>(weights, stride, inputs, chunks, out) },
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_rows_avx2(
    weights: &[f64],
    stride: usize,
    inputs: &[u32],
    chunks: &[u32],
    out: &mut [f64],
) {
    // SAFETY: forwarded from `sum_rows`.
    unsafe { sum_rows_lanes::<std::arch::x86_64::__m256d>(weights, stride, inputs, chunks, out) }
}

/// The input sums of every step of a frame at once: `out[s · stride + j]` is the sum
/// of the weight rows of the inputs emitting at step s (`sched.at(s)`, in order, from
/// +0.0) for neuron j, padding lanes included. Each block of 16 neurons (two cache
/// lines of a row) runs through all steps before the next, so its slice of the
/// frame's rows stays in the L1 cache after the first step.
///
/// A schedule's step offsets rise from 0 to the length of its inputs by construction
/// and it knows its largest input, so the checks take constant time instead of a pass
/// over every entry (which cost about 2 % of training, once per frame and copy).
///
/// # Panics
/// If an input row lies outside `weights` or `out` is shorter than the steps.
pub fn sum_schedule(
    kernel: Kernel,
    weights: &[f64],
    stride: usize,
    sched: &Schedule,
    out: &mut [f64],
) {
    let (offsets, inputs) = sched.csr();
    sum_frames(
        kernel,
        weights,
        stride,
        &mut [(offsets, inputs, out)],
        sched.max_input(),
    );
}

/// [`sum_schedule`] for several frames against the same weights: `outs[e]` (resized to
/// the steps of `scheds[e]` times `stride`) gets frame e's sums, each bit-identical to
/// what [`sum_schedule`] gives it. The blocks of neurons run outermost and the frames
/// inside them, so a block's slice of the weight rows (32 neurons: 256 bytes a row)
/// is read from the L2 cache by every frame after the first, where one frame at a
/// time reads whole rows, which stop fitting there once the weights outgrow it (2,475
/// inputs × 200 neurons of f64 are 4 MB), from further out for every frame.
///
/// # Panics
/// As [`sum_schedule`], or if `outs` is shorter than `scheds`.
pub fn sum_schedules(
    kernel: Kernel,
    weights: &[f64],
    stride: usize,
    scheds: &[Schedule],
    outs: &mut [Vec<f64>],
) {
    assert!(outs.len() >= scheds.len());
    let max_input = scheds.iter().filter_map(Schedule::max_input).max();
    let mut frames: Vec<Frame<'_>> = scheds
        .iter()
        .zip(outs.iter_mut())
        .map(|(sc, out)| {
            out.resize(sc.steps() * stride, 0.0);
            let (offsets, inputs) = sc.csr();
            (offsets, inputs, out.as_mut_slice())
        })
        .collect();
    sum_frames(kernel, weights, stride, &mut frames, max_input);
}

/// One frame's schedule (step offsets, inputs) and its sums (steps × stride).
type Frame<'a> = (&'a [usize], &'a [u32], &'a mut [f64]);

/// The dispatch of [`sum_schedule`] and [`sum_schedules`]; `max_input` is the largest
/// input of all frames.
fn sum_frames(
    kernel: Kernel,
    weights: &[f64],
    stride: usize,
    frames: &mut [Frame<'_>],
    max_input: Option<u32>,
) {
    assert!(stride % 4 == 0 && stride > 0);
    let n_in = weights.len() / stride;
    assert!(max_input.is_none_or(|i| (i as usize) < n_in));
    for (offsets, _, out) in frames.iter() {
        assert!(out.len() >= offsets.len().saturating_sub(1) * stride);
    }
    // SAFETY (all arms): rows and `out` were checked above; a schedule's offsets are
    // ordered and end inside its inputs.
    match kernel {
        // SAFETY: AVX-512F is present (checked in the guard); rows and `out` were checked above.
        #[cfg(all(target_arch = "x86_64", snnconv_avx512))]
        Kernel::Avx512 if stride % 8 == 0 && avx512_available() => unsafe {
            // AVX-512F is present.
            sum_steps_avx512(weights, stride, frames)
        },
        // SAFETY: AVX2 is present (checked in the guard); rows and `out` were checked above.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 | Kernel::Avx512 if avx2_available() => unsafe {
            // AVX2 is present.
            sum_steps_avx2(weights, stride, frames)
        },
        // SAFETY: rows and `out` were checked above; portable lanes.
        _ => unsafe { sum_steps_lanes::<[f64; 4]>(weights, stride, frames) },
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_steps_avx2(weights: &[f64], stride: usize, frames: &mut [Frame<'_>]) {
    // SAFETY: forwarded from `sum_frames`.
    unsafe { sum_steps_lanes::<std::arch::x86_64::__m256d>(weights, stride, frames) }
}

/// [`sum_frames`] eight lanes wide: blocks of 32 neurons (four cache lines of a row),
/// their running sums in four AVX-512 registers, through every step of every frame.
/// (Four chains of additions rather than three: 7 % faster once the rows come from
/// the L2 cache; five were no faster.)
///
/// # Safety
/// As checked by [`sum_frames`], with `stride` a multiple of 8; the CPU has AVX-512F.
#[cfg(all(target_arch = "x86_64", snnconv_avx512))]
#[allow(clippy::incompatible_msrv)] // only built by Rust ≥ 1.89 (see build.rs)
#[target_feature(enable = "avx512f")]
unsafe fn sum_steps_avx512(weights: &[f64], stride: usize, frames: &mut [Frame<'_>]) {
    if let [(offsets, inputs, _)] = frames {
        prefetch_first_step(weights, stride, offsets, inputs);
    }
    let n_chunks = stride / 8;
    let mut q = 0;
    // SAFETY: (all calls) forwarded; chunks q..q + G of eight lie inside the stride.
    unsafe {
        while q + 4 <= n_chunks {
            for (offsets, inputs, out) in frames.iter_mut() {
                block8::<4>(weights, stride, offsets, inputs, q, out);
            }
            q += 4;
        }
        while q < n_chunks {
            for (offsets, inputs, out) in frames.iter_mut() {
                block8::<1>(weights, stride, offsets, inputs, q, out);
            }
            q += 1;
        }
    }
}

/// Chunks of eight q0..q0 + G through every step, running sums in registers.
///
/// # Safety
/// As [`sum_steps_avx512`]; q0 + G ≤ stride / 8; only called from it.
#[cfg(all(target_arch = "x86_64", snnconv_avx512))]
#[allow(clippy::incompatible_msrv)] // only built by Rust ≥ 1.89 (see build.rs)
#[inline(always)]
unsafe fn block8<const G: usize>(
    weights: &[f64],
    stride: usize,
    offsets: &[usize],
    inputs: &[u32],
    q0: usize,
    out: &mut [f64],
) {
    use std::arch::x86_64::*;
    // SAFETY: q0 + G chunks of eight lie inside the stride, so `8 * q0` is inside `weights`.
    let base = unsafe { weights.as_ptr().add(8 * q0) };
    for (s, w) in offsets.windows(2).enumerate() {
        // SAFETY: (intrinsics) AVX-512F is present (the caller's contract).
        let mut acc = [unsafe { _mm512_setzero_pd() }; G];
        // SAFETY: offsets were checked to lie inside `inputs`.
        for &i in unsafe { inputs.get_unchecked(w[0]..w[1]) } {
            // SAFETY: row i exists and chunks q0..q0 + G lie inside it.
            let row = unsafe { base.add(i as usize * stride) };
            for (g, a) in acc.iter_mut().enumerate() {
                // SAFETY: AVX-512F is present; row i exists and chunk q0 + g lies inside it.
                *a = unsafe { _mm512_add_pd(*a, _mm512_loadu_pd(row.add(8 * g))) };
            }
        }
        let o = s * stride + 8 * q0;
        for (g, a) in acc.iter().enumerate() {
            let dst = &mut out[o + 8 * g..o + 8 * g + 8];
            // SAFETY: `dst` holds eight f64.
            unsafe { _mm512_storeu_pd(dst.as_mut_ptr(), *a) };
        }
    }
}

/// The rows of the frame's first step (nearly all its rows) are fetched ahead, all at
/// once: they come in parallel rather than one miss at a time during the sums.
#[inline(always)]
fn prefetch_first_step(weights: &[f64], stride: usize, offsets: &[usize], inputs: &[u32]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(w) = offsets.get(..2) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        for &i in &inputs[w[0]..w[1]] {
            let row = &weights[i as usize * stride..(i as usize + 1) * stride];
            for line in row.chunks(8) {
                // SAFETY: a prefetch hint of an address inside `weights`.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (weights, stride, offsets, inputs);
}

/// # Safety
/// As checked by [`sum_frames`].
#[inline(always)]
unsafe fn sum_steps_lanes<L: Lanes>(weights: &[f64], stride: usize, frames: &mut [Frame<'_>]) {
    let n_chunks = stride / 4;
    if let [(offsets, inputs, _)] = frames {
        prefetch_first_step(weights, stride, offsets, inputs);
    }
    let mut q = 0;
    // SAFETY: (all calls) forwarded; chunks q..q + G lie inside the stride.
    unsafe {
        while q + 4 <= n_chunks {
            for (offsets, inputs, out) in frames.iter_mut() {
                block::<L, 4>(weights, stride, offsets, inputs, q, out);
            }
            q += 4;
        }
        if q + 2 <= n_chunks {
            for (offsets, inputs, out) in frames.iter_mut() {
                block::<L, 2>(weights, stride, offsets, inputs, q, out);
            }
            q += 2;
        }
        if q < n_chunks {
            for (offsets, inputs, out) in frames.iter_mut() {
                block::<L, 1>(weights, stride, offsets, inputs, q, out);
            }
        }
    }
}

/// Chunks q0..q0 + G through every step, running sums in registers.
///
/// # Safety
/// As [`sum_steps_lanes`]; q0 + G ≤ stride / 4.
#[inline(always)]
unsafe fn block<L: Lanes, const G: usize>(
    weights: &[f64],
    stride: usize,
    offsets: &[usize],
    inputs: &[u32],
    q0: usize,
    out: &mut [f64],
) {
    // SAFETY: q0 + G ≤ stride / 4, so `4 * q0` is inside `weights`.
    let base = unsafe { weights.as_ptr().add(4 * q0) };
    for (s, w) in offsets.windows(2).enumerate() {
        let mut acc = [L::zero(); G];
        // SAFETY: offsets were checked to lie inside `inputs`.
        for &i in unsafe { inputs.get_unchecked(w[0]..w[1]) } {
            // SAFETY: row i exists and chunks q0..q0 + G lie inside it.
            let row = unsafe { base.add(i as usize * stride) };
            for (g, a) in acc.iter_mut().enumerate() {
                // SAFETY: row i exists and chunk q0 + g lies inside it (the caller's contract).
                *a = a.add(unsafe { L::load(row.add(4 * g)) });
            }
        }
        let o = s * stride + 4 * q0;
        for (g, a) in acc.iter().enumerate() {
            out[o + 4 * g..o + 4 * g + 4].copy_from_slice(&a.to_array());
        }
    }
}

/// # Safety
/// Every `i · stride + 4q + 3` (i in `inputs`, q in `chunks`) indexes `weights`.
#[inline(always)]
unsafe fn sum_rows_lanes<L: Lanes>(
    weights: &[f64],
    stride: usize,
    inputs: &[u32],
    chunks: &[u32],
    out: &mut [f64],
) {
    let mut rest = chunks;
    // SAFETY: (all calls) forwarded.
    unsafe {
        while rest.len() >= 8 {
            group::<L, 8>(weights, stride, inputs, &rest[..8], out);
            rest = &rest[8..];
        }
        if rest.len() >= 4 {
            group::<L, 4>(weights, stride, inputs, &rest[..4], out);
            rest = &rest[4..];
        }
        if rest.len() >= 2 {
            group::<L, 2>(weights, stride, inputs, &rest[..2], out);
            rest = &rest[2..];
        }
        if !rest.is_empty() {
            group::<L, 1>(weights, stride, inputs, rest, out);
        }
    }
}

/// G chunks summed over all inputs with their running sums in registers.
///
/// # Safety
/// As [`sum_rows_lanes`]; `chunks.len() == G`.
#[inline(always)]
unsafe fn group<L: Lanes, const G: usize>(
    weights: &[f64],
    stride: usize,
    inputs: &[u32],
    chunks: &[u32],
    out: &mut [f64],
) {
    let offset: [usize; G] = std::array::from_fn(|g| 4 * chunks[g] as usize);
    let mut acc = [L::zero(); G];
    let base = weights.as_ptr();
    for &i in inputs {
        // SAFETY: the caller guarantees the row and its chunks lie in `weights`.
        let row = unsafe { base.add(i as usize * stride) };
        for g in 0..G {
            // SAFETY: row i exists and chunk offset[g] lies inside it (the caller's contract).
            acc[g] = acc[g].add(unsafe { L::load(row.add(offset[g])) });
        }
    }
    for g in 0..G {
        let lanes = acc[g].to_array();
        let o = offset[g];
        if o + 4 <= out.len() {
            out[o..o + 4].copy_from_slice(&lanes);
        } else if o < out.len() {
            let n = out.len() - o;
            out[o..].copy_from_slice(&lanes[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded stream of uniforms in [0, 1) (a 64-bit LCG's top 53 bits).
    fn uniforms(mut s: u64) -> impl FnMut() -> f64 {
        move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Scalar reference: every neuron's sum in input order from +0.0.
    fn reference(weights: &[f64], stride: usize, n: usize, inputs: &[u32]) -> Vec<f64> {
        let mut out = vec![0.0; n];
        for &i in inputs {
            for (o, w) in out.iter_mut().zip(&weights[i as usize * stride..]) {
                *o += w;
            }
        }
        out
    }

    #[test]
    fn step_sums_equal_the_scalar_sums_bit_for_bit() {
        let mut next = uniforms(11);
        for &(n_in, n, steps) in &[
            (1usize, 1usize, 1usize),
            (7, 3, 4),
            (40, 150, 10),
            (9, 61, 3),
            (30, 200, 5),
            (12, 16, 7),
        ] {
            let stride = n.div_ceil(4) * 4;
            let mut w = vec![0.0; n_in * stride];
            for i in 0..n_in {
                for j in 0..n {
                    w[i * stride + j] = (next() - 0.7) * 10f64.powi((next() * 6.0) as i32 - 3);
                }
            }
            // Random spike counts (a third of the inputs silent) as the frame's schedule.
            let counts: Vec<u8> = (0..n_in)
                .map(|_| (next() * 1.5 * (steps + 1) as f64) as u8)
                .map(|c| if usize::from(c) > steps { 0 } else { c })
                .collect();
            let mut sched = Schedule::default();
            sched.fill(&counts, steps as u32);
            for kernel in [Kernel::Portable, Kernel::Avx2, Kernel::Avx512] {
                let mut out = vec![f64::NAN; steps * stride];
                sum_schedule(kernel, &w, stride, &sched, &mut out);
                for s in 0..steps {
                    let want = reference(&w, stride, n, sched.at(s as u32));
                    for j in 0..n {
                        assert_eq!(out[s * stride + j].to_bits(), want[j].to_bits());
                    }
                }
            }
        }
    }

    #[test]
    fn block_sums_equal_one_frame_at_a_time() {
        // Frames of different lengths (one silent) against 36 neurons: blocks of four
        // chunks of eight, a single chunk, and padding lanes.
        let mut next = uniforms(3);
        let (n_in, n, steps) = (57usize, 36usize, 10u32);
        let stride = n.div_ceil(8) * 8;
        let w: Vec<f64> = (0..n_in * stride).map(|_| next() - 0.6).collect();
        let scheds: Vec<Schedule> = (0..7)
            .map(|e| {
                let counts: Vec<u8> = (0..n_in)
                    .map(|_| (next() * (steps + 1) as f64) as u8)
                    .map(|c| if e == 3 { 0 } else { c.min(steps as u8) })
                    .collect();
                let mut sched = Schedule::default();
                sched.fill(&counts, steps);
                sched
            })
            .collect();
        for kernel in [Kernel::Portable, Kernel::Avx2, Kernel::Avx512] {
            // Buffers left longer or shorter by an earlier block are resized.
            let mut outs = vec![vec![f64::NAN; 3], vec![f64::NAN; 999]];
            outs.resize(scheds.len() + 1, Vec::new());
            sum_schedules(kernel, &w, stride, &scheds, &mut outs);
            for (e, sched) in scheds.iter().enumerate() {
                let mut one = vec![f64::NAN; sched.steps() * stride];
                sum_schedule(kernel, &w, stride, sched, &mut one);
                assert_eq!(outs[e].len(), one.len(), "{kernel:?} frame {e}");
                assert_eq!(bits(&outs[e]), bits(&one), "{kernel:?} frame {e}");
                for k in 0..sched.steps() {
                    let want = reference(&w, stride, n, sched.at(k as u32));
                    assert_eq!(bits(&outs[e][k * stride..k * stride + n]), bits(&want));
                }
            }
            assert!(
                outs[scheds.len()].is_empty(),
                "a buffer past the frames is left alone"
            );
        }
    }

    #[test]
    fn chunked_sums_equal_the_scalar_sums_bit_for_bit() {
        let mut next = uniforms(7);
        for &(n_in, n) in &[(1usize, 1usize), (5, 3), (30, 17), (64, 150), (9, 40)] {
            let stride = n.div_ceil(4) * 4;
            let mut w = vec![0.0; n_in * stride];
            for i in 0..n_in {
                for j in 0..n {
                    w[i * stride + j] = (next() - 0.7) * 10f64.powi((next() * 6.0) as i32 - 3);
                }
            }
            let inputs: Vec<u32> = (0..n_in as u32).filter(|_| next() < 0.6).collect();
            let want = reference(&w, stride, n, &inputs);
            let n_chunks = (stride / 4) as u32;
            for kernel in [Kernel::Portable, Kernel::Avx2, Kernel::Avx512] {
                // All chunks, and a random subset (others untouched).
                let all: Vec<u32> = (0..n_chunks).collect();
                let some: Vec<u32> = (0..n_chunks).filter(|_| next() < 0.4).collect();
                for chunks in [all, some] {
                    let mut out = vec![f64::NAN; n];
                    sum_rows(kernel, &w, stride, &inputs, &chunks, &mut out);
                    for j in 0..n {
                        if chunks.contains(&((j / 4) as u32)) {
                            assert_eq!(out[j].to_bits(), want[j].to_bits(), "{kernel:?} {j}");
                        } else {
                            assert!(out[j].is_nan());
                        }
                    }
                }
            }
        }
    }
}
