//! The calibration sample: what one bisection step of [`super::calibrate`] needs,
//! and nothing more, computed bit for bit as the full front-end computes it.
//!
//! An evaluation only needs each kernel's conv spike *count* over the sample, so
//! this runs the conv neurons alone: no pooling, no spike lists, no backlog. Three
//! things make it cheap:
//! - the input spike trains do not depend on α, so they are encoded once per image,
//!   as one bit per pixel and active step, and reused by every evaluation;
//! - each input spike adds its weight rows to the potentials of the positions that see
//!   it, with the kernels as SIMD lanes (AVX2 registers of 8 f32), only the kernels
//!   the search still needs, and the weights held as whole registers; the tail of a
//!   frame stops once no neuron can reach u_THR any more;
//! - a bisection step whose partial counts already decide it
//!   ([`super::calibrate::Request::decided`]) stops before the end of the sample.
//!
//! Every neuron sees exactly the operations of [`super::ConvSnn::run_frame`], in the
//! same order: per step the leak, then its input weights added one at a time in
//! raster order of the spiking pixels, then the threshold test and reset. Counts are
//! integers summed per image, so results do not depend on the thread count.

use rayon::prelude::*;

use super::calibrate::{calibrate_with, Calibration, CalibrationOptions, Request};
use super::conv_layer::{covering, ConvLayer, Reset, LANE_GRANULE};
use super::encoder::{advance_carry, InputEncoder};
use super::network::ConvSnn;
use crate::error::Result;
use crate::limits;

/// At most this many chunks per position are simulated together; more kernels are
/// simulated in several groups (kernels never interact).
const MAX_CHUNKS: usize = 8;
/// Images between two checks of [`Request::decided`].
const CHECK_EVERY: usize = 64;
/// The cached input rasters may use at most this share of the allocation budget;
/// beyond it they are encoded again in every evaluation.
const CACHE_SHARE: usize = 4;

/// The α-independent part of a calibration: images, encoder start states and (when
/// they fit) the input spike rasters.
pub struct CalibrationSample<'a> {
    net: &'a ConvSnn,
    images: &'a [f64],
    n: usize,
    /// u64 words per image row of a raster.
    words: usize,
    /// Words of one image's raster: `active_steps` bit planes, each of C·H rows
    /// (channel-major).
    raster_len: usize,
    /// Every image's raster, or empty when they are encoded in each evaluation.
    rasters: Vec<u64>,
    /// Starting encoder carry per image (carrying code only, and only when the
    /// rasters are not cached).
    starts: Vec<u64>,
    /// A copy of the conv layer whose α the evaluations set.
    layer: ConvLayer,
    rows: Vec<(usize, usize)>,
    cols: Vec<(usize, usize)>,
}

/// Per-thread buffers.
struct Scratch {
    encoder: InputEncoder,
    spikes: Vec<u32>,
    carry: Vec<u64>,
    raster: Vec<u64>,
    counts: Vec<u32>,
}

/// Geometry and constants read by the inner loop.
#[derive(Clone, Copy)]
struct Geometry<'a> {
    k: usize,
    stride: usize,
    p_len: usize,
    q_len: usize,
    words: usize,
    /// Words of one bit plane (channels × height × words).
    plane: usize,
    /// Image rows per channel.
    height: usize,
    /// Cells of one kernel channel (K²).
    kk: usize,
    active_steps: usize,
    frame_steps: usize,
    threshold: f32,
    decay: Option<f32>,
    reset: Reset,
    /// Per image row y / column x: the half-open range of conv rows / columns whose
    /// field holds it.
    rows: &'a [(usize, usize)],
    cols: &'a [(usize, usize)],
}

impl<'a> CalibrationSample<'a> {
    /// `images` (n, h, w) row-major, brightness in [0, 1]; the encoder starts from a
    /// zero carry and image i uses Bernoulli stream i, as in
    /// [`ConvSnn::kernel_rates`].
    pub fn new(net: &'a ConvSnn, images: &'a [f64]) -> Result<Self> {
        Self::with_cache(net, images, true)
    }

    /// As [`CalibrationSample::new`]; `cache = false` encodes the input in every
    /// evaluation even when the rasters would fit.
    pub fn with_cache(net: &'a ConvSnn, images: &'a [f64], cache: bool) -> Result<Self> {
        let (h, w) = (net.conv.height, net.conv.width);
        let hw = net.n_pixels();
        let n = images.len().checked_div(hw).unwrap_or(0);
        let words = w.div_ceil(64);
        let raster_len = net.params.active_steps * net.conv.channels * h * words;
        let cache = cache
            && limits::elements_of::<u64>("images", &[n, raster_len])
                .is_ok_and(|e| e.saturating_mul(8) <= limits::alloc_budget() / CACHE_SHARE);
        let mut starts = Vec::new();
        if net.params.encoding.carries() {
            let mut carry = vec![0u64; hw];
            starts.reserve_exact(n * hw);
            for img in images.chunks_exact(hw) {
                starts.extend_from_slice(&carry);
                advance_carry(
                    &mut carry,
                    img,
                    net.params.active_steps,
                    net.params.max_rate,
                );
            }
        }
        let mut sample = Self {
            net,
            images,
            n,
            words,
            raster_len,
            rasters: Vec::new(),
            starts,
            layer: net.conv.clone(),
            rows: (0..h)
                .map(|y| covering(y, net.conv.k, net.conv.stride, net.conv.p_len))
                .collect(),
            // Columns up to the raster's padded width (bits there are never set).
            cols: (0..words * 64)
                .map(|x| covering(x, net.conv.k, net.conv.stride, net.conv.q_len))
                .collect(),
        };
        if cache {
            let mut rasters = vec![0u64; n * raster_len];
            rasters
                .par_chunks_mut(raster_len.max(1))
                .enumerate()
                .for_each_init(|| sample.scratch(), |s, (i, r)| sample.encode(i, s, r));
            sample.rasters = rasters;
            sample.starts = Vec::new();
        }
        Ok(sample)
    }

    fn scratch(&self) -> Scratch {
        let hw = self.net.n_pixels();
        let encoder = InputEncoder::new(self.net.params.encoding, self.net.params.max_rate, hw);
        Scratch {
            spikes: encoder.spike_buffer(),
            encoder,
            carry: vec![0; if self.starts.is_empty() { 0 } else { hw }],
            raster: Vec::new(),
            counts: Vec::new(),
        }
    }

    /// Encodes image i's input spikes into `out` (zeroed, `raster_len` words).
    fn encode(&self, i: usize, s: &mut Scratch, out: &mut [u64]) {
        let hw = self.net.n_pixels();
        let h = self.net.conv.height;
        let g = &self.images[i * hw..(i + 1) * hw];
        if !self.starts.is_empty() {
            s.carry.copy_from_slice(&self.starts[i * hw..(i + 1) * hw]);
        }
        s.encoder.begin_frame(g, &s.carry, i as u64);
        let plane = self.net.conv.channels * h * self.words;
        for t in 0..self.net.params.active_steps {
            s.encoder.step(&mut s.spikes);
            let p = &mut out[t * plane..(t + 1) * plane];
            for &px in &s.spikes {
                let (c, y, x) = self.net.conv.pixel(px as usize);
                p[(c * h + y) * self.words + x / 64] |= 1u64 << (x % 64);
            }
        }
    }

    fn geometry(&self) -> Geometry<'_> {
        let c = &self.net.conv;
        Geometry {
            k: c.k,
            stride: c.stride,
            p_len: c.p_len,
            q_len: c.q_len,
            words: self.words,
            plane: c.channels * c.height * self.words,
            height: c.height,
            kk: c.k * c.k,
            active_steps: self.net.params.active_steps,
            frame_steps: self.net.params.frame_steps,
            threshold: c.threshold(),
            decay: c.decay(),
            reset: c.reset(),
            rows: &self.rows,
            cols: &self.cols,
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Mean conv spikes per neuron per frame of each needed kernel at `req.scales`
    /// (0 for the others), exactly [`ConvSnn::kernel_rates`]; or, once
    /// [`Request::decided`] holds for the rates of the images run so far (lower
    /// bounds of the full ones), those bounds.
    pub fn rates(&mut self, req: &Request<'_>) -> Result<Vec<f64>> {
        self.layer.set_scales(req.scales)?;
        let nk = self.layer.n_kernels;
        let kk = self.layer.channels * self.layer.k * self.layer.k;
        // Needed kernels in groups of at most MAX_CHUNKS·LANE_GRANULE lanes, each with its
        // weights packed as rows of `chunks` registers per kernel cell.
        let kernels: Vec<usize> = (0..nk).filter(|&a| req.needed[a]).collect();
        let groups: Vec<(Vec<usize>, usize, Vec<[f32; LANE_GRANULE]>)> = kernels
            .chunks(MAX_CHUNKS * LANE_GRANULE)
            .map(|ks| {
                let chunks = ks.len().div_ceil(LANE_GRANULE);
                let mut w = vec![[0f32; LANE_GRANULE]; kk * chunks];
                for c in 0..kk {
                    for (l, &a) in ks.iter().enumerate() {
                        w[c * chunks + l / LANE_GRANULE][l % LANE_GRANULE] =
                            self.layer.weight(a, c);
                    }
                }
                (ks.to_vec(), chunks, w)
            })
            .collect();
        let geo = self.geometry();
        let neurons = (self.n * geo.p_len * geo.q_len).max(1) as f64;
        let mut totals = vec![0u64; nk];
        let mut per_image = vec![0u32; CHECK_EVERY * nk];
        let this = &*self;
        let mut first = 0;
        while first < this.n {
            let end = (first + CHECK_EVERY).min(this.n);
            let block = &mut per_image[..(end - first) * nk];
            block.fill(0);
            block.par_chunks_mut(nk).enumerate().for_each_init(
                || this.scratch(),
                |s, (j, counts)| {
                    let i = first + j;
                    let mut raster = std::mem::take(&mut s.raster);
                    let r: &[u64] = if this.rasters.is_empty() {
                        raster.clear();
                        raster.resize(this.raster_len, 0);
                        this.encode(i, s, &mut raster);
                        &raster
                    } else {
                        &this.rasters[i * this.raster_len..(i + 1) * this.raster_len]
                    };
                    for (ks, chunks, w) in &groups {
                        s.counts.clear();
                        s.counts.resize(chunks * LANE_GRANULE, 0);
                        count_image(&geo, r, w, *chunks, &mut s.counts);
                        for (l, &a) in ks.iter().enumerate() {
                            counts[a] = s.counts[l];
                        }
                    }
                    s.raster = raster;
                },
            );
            for row in block.chunks_exact(nk) {
                for (t, &x) in totals.iter_mut().zip(row) {
                    *t += u64::from(x);
                }
            }
            first = end;
            let rates: Vec<f64> = totals.iter().map(|&t| t as f64 / neurons).collect();
            if first == this.n || req.decided(&rates) {
                return Ok(rates);
            }
        }
        Ok(totals.iter().map(|&t| t as f64 / neurons).collect())
    }
}

/// Conv spikes of one image per lane, added to `counts` (`chunks`·LANE_GRANULE).
fn count_image(
    geo: &Geometry,
    raster: &[u64],
    w: &[[f32; LANE_GRANULE]],
    chunks: usize,
    counts: &mut [u32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { avx2::count_image(geo, raster, w, chunks, counts) };
        }
    }
    dispatch::<Portable>(geo, raster, w, chunks, counts)
}

#[inline(always)]
fn dispatch<L: Lanes>(
    geo: &Geometry,
    raster: &[u64],
    w: &[[f32; LANE_GRANULE]],
    chunks: usize,
    counts: &mut [u32],
) {
    match chunks {
        1 => count_events::<L, 1>(geo, raster, w, counts),
        2 => count_events::<L, 2>(geo, raster, w, counts),
        3 => count_events::<L, 3>(geo, raster, w, counts),
        4 => count_events::<L, 4>(geo, raster, w, counts),
        5 => count_events::<L, 5>(geo, raster, w, counts),
        6 => count_events::<L, 6>(geo, raster, w, counts),
        7 => count_events::<L, 7>(geo, raster, w, counts),
        8 => count_events::<L, 8>(geo, raster, w, counts),
        _ => unreachable!("at most MAX_CHUNKS chunks per group"),
    }
}

/// One register of LANE_GRANULE neurons (potentials and spike counts) and the
/// operations of a step, each exactly the f32 operation of `ConvLayer`.
trait Lanes: Copy {
    type Count: Copy;
    fn zero() -> Self;
    fn zero_count() -> Self::Count;
    /// u ← u·d.
    fn leak(self, d: f32) -> Self;
    fn load(w: &[f32; LANE_GRANULE]) -> Self;
    /// u ← u + w.
    fn add(self, w: Self) -> Self;
    /// Threshold test and reset; counts the spikes. Returns the new potentials and
    /// whether every one of them lies below u_THR (false for NaN).
    fn fire(self, th: f32, reset: Reset, count: &mut Self::Count) -> (Self, bool);
    fn counts(count: Self::Count) -> [u32; LANE_GRANULE];
}

/// Plain arrays: the fallback without AVX2.
#[derive(Clone, Copy)]
struct Portable([f32; LANE_GRANULE]);

impl Lanes for Portable {
    type Count = [u32; LANE_GRANULE];
    #[inline(always)]
    fn zero() -> Self {
        Self([0.0; LANE_GRANULE])
    }
    #[inline(always)]
    fn zero_count() -> Self::Count {
        [0; LANE_GRANULE]
    }
    #[inline(always)]
    fn leak(mut self, d: f32) -> Self {
        for v in self.0.iter_mut() {
            *v *= d;
        }
        self
    }
    #[inline(always)]
    fn load(w: &[f32; LANE_GRANULE]) -> Self {
        Self(*w)
    }
    #[inline(always)]
    fn add(mut self, w: Self) -> Self {
        for (v, x) in self.0.iter_mut().zip(w.0) {
            *v += x;
        }
        self
    }
    #[inline(always)]
    fn fire(mut self, th: f32, reset: Reset, count: &mut Self::Count) -> (Self, bool) {
        let mut below = true;
        for (v, c) in self.0.iter_mut().zip(count.iter_mut()) {
            if *v >= th {
                *v = match reset {
                    Reset::Subtract => *v - th,
                    Reset::Zero => 0.0,
                };
                *c += 1;
            }
            below &= *v < th;
        }
        (self, below)
    }
    #[inline(always)]
    fn counts(count: Self::Count) -> [u32; LANE_GRANULE] {
        count
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{dispatch, Geometry, Lanes, Reset, LANE_GRANULE};

    /// One AVX register; the intrinsics are the IEEE operations of the portable
    /// code (`_CMP_GE_OQ`/`_CMP_LT_OQ` are false for NaN like `>=`/`<`).
    #[derive(Clone, Copy)]
    pub(super) struct Avx(__m256);

    /// # Safety
    /// The CPU supports AVX2 (checked by the caller).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn count_image(
        geo: &Geometry,
        raster: &[u64],
        w: &[[f32; LANE_GRANULE]],
        chunks: usize,
        counts: &mut [u32],
    ) {
        dispatch::<Avx>(geo, raster, w, chunks, counts)
    }

    // SAFETY (every method): only reached through `count_image`, which runs when
    // the CPU supports AVX2; loads and stores go through references of exactly
    // LANE_GRANULE f32/u32.
    impl Lanes for Avx {
        type Count = __m256i;
        #[inline(always)]
        fn zero() -> Self {
            // SAFETY: AVX intrinsic; `Avx` runs only under `count_image` (AVX2 checked).
            unsafe { Self(_mm256_setzero_ps()) }
        }
        #[inline(always)]
        fn zero_count() -> __m256i {
            // SAFETY: AVX intrinsic; `Avx` runs only under `count_image` (AVX2 checked).
            unsafe { _mm256_setzero_si256() }
        }
        #[inline(always)]
        fn leak(self, d: f32) -> Self {
            // SAFETY: AVX intrinsic; `Avx` runs only under `count_image` (AVX2 checked).
            unsafe { Self(_mm256_mul_ps(self.0, _mm256_set1_ps(d))) }
        }
        #[inline(always)]
        fn load(w: &[f32; LANE_GRANULE]) -> Self {
            // SAFETY: `w` is a reference to exactly eight f32; AVX caller (`count_image`).
            unsafe { Self(_mm256_loadu_ps(w.as_ptr())) }
        }
        #[inline(always)]
        fn add(self, w: Self) -> Self {
            // SAFETY: AVX intrinsic; `Avx` runs only under `count_image` (AVX2 checked).
            unsafe { Self(_mm256_add_ps(self.0, w.0)) }
        }
        #[inline(always)]
        fn fire(self, th: f32, reset: Reset, count: &mut __m256i) -> (Self, bool) {
            // SAFETY: AVX2 intrinsics on registers only; `Avx` is used only under `count_image`.
            unsafe {
                let t = _mm256_set1_ps(th);
                let fire = _mm256_cmp_ps::<_CMP_GE_OQ>(self.0, t);
                let after = match reset {
                    Reset::Subtract => _mm256_sub_ps(self.0, t),
                    Reset::Zero => _mm256_setzero_ps(),
                };
                let u = _mm256_blendv_ps(self.0, after, fire);
                // The mask is −1 where a neuron fired.
                *count = _mm256_sub_epi32(*count, _mm256_castps_si256(fire));
                let below = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_LT_OQ>(u, t)) == 0xff;
                (Self(u), below)
            }
        }
        #[inline(always)]
        fn counts(count: __m256i) -> [u32; LANE_GRANULE] {
            let mut out = [0u32; LANE_GRANULE];
            // SAFETY: `out` holds eight u32 (256 bits); AVX caller (`count_image`).
            unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), count) };
            out
        }
    }
}

/// The neurons of every position, `C` registers of kernels at a time, in the order
/// of `ConvSnn::run_frame`: per step the leak, then every input spike in raster
/// order adds its weights to each position that sees it (`ConvLayer::deliver`),
/// then the threshold test. Adds to different positions do not wait on one another.
#[inline(always)]
fn count_events<L: Lanes, const C: usize>(
    geo: &Geometry,
    raster: &[u64],
    w: &[[f32; LANE_GRANULE]],
    counts: &mut [u32],
) {
    let (k, s) = (geo.k, geo.stride);
    let th = geo.threshold;
    let n_pos = geo.p_len * geo.q_len;
    // Weights of cell c as whole registers.
    let wl: Vec<[L; C]> = w
        .chunks_exact(C)
        .map(|row| std::array::from_fn(|j| L::load(&row[j])))
        .collect();
    let mut u = vec![[L::zero(); C]; n_pos];
    let mut cnt = vec![[L::zero_count(); C]; n_pos];
    for t in 0..geo.frame_steps {
        if let Some(d) = geo.decay {
            for row in u.iter_mut() {
                for v in row.iter_mut() {
                    *v = v.leak(d);
                }
            }
        }
        if t < geo.active_steps {
            let plane = &raster[t * geo.plane..(t + 1) * geo.plane];
            for (r, row) in plane.chunks_exact(geo.words).enumerate() {
                // Row r of the plane is row y of channel c; that channel's cells
                // start at c·K² in the weights.
                let (c, y) = (r / geo.height, r % geo.height);
                let base = c * geo.kk;
                let (p0, p1) = geo.rows[y];
                if p0 == p1 {
                    continue;
                }
                for (wi, &word) in row.iter().enumerate() {
                    let mut bits = word;
                    while bits != 0 {
                        let x = wi * 64 + bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        let (q0, q1) = geo.cols[x];
                        if q0 == q1 {
                            continue;
                        }
                        // Position (p, q) sees cell (y − p·s, x − q·s). The covering
                        // ranges keep both coordinates in [0, K) and the positions
                        // inside the map; checked here once per spike, so the run
                        // below can go unchecked.
                        assert!(
                            p1 <= geo.p_len
                                && q1 <= geo.q_len
                                && y >= (p1 - 1) * s
                                && y < p0 * s + k
                                && x >= (q1 - 1) * s
                                && x < q0 * s + k
                                && base + k * k <= wl.len()
                                && u.len() == n_pos
                        );
                        let nq = q1 - q0;
                        // SAFETY: position (p, q) for p in [p0, p1), q in [q0, q1) lies in
                        // [0, P·Q) = u's range, and the cell it sees, base + (y − p·s)·K +
                        // x − q·s, in [base, base + K²) ⊆ wl's range (both asserted above).
                        // Each next q is one position on and s cells back; each next p, Q
                        // positions on and s·K cells back.
                        unsafe {
                            let mut up_row = u.as_mut_ptr().add(p0 * geo.q_len + q0);
                            let mut wp_row = wl.as_ptr().add(base + (y - p0 * s) * k + x - q0 * s);
                            for _ in p0..p1 {
                                let (mut up, mut wp) = (up_row, wp_row);
                                for _ in 0..nq {
                                    let (ur, wr) = (&mut *up, &*wp);
                                    for (v, x) in ur.iter_mut().zip(wr) {
                                        *v = v.add(*x);
                                    }
                                    up = up.add(1);
                                    wp = wp.wrapping_sub(s);
                                }
                                up_row = up_row.wrapping_add(geo.q_len);
                                wp_row = wp_row.wrapping_sub(s * k);
                            }
                        }
                    }
                }
            }
        }
        let mut below = true;
        for (ur, cr) in u.iter_mut().zip(cnt.iter_mut()) {
            for (v, c) in ur.iter_mut().zip(cr.iter_mut()) {
                let (nv, b) = v.fire(th, geo.reset, c);
                *v = nv;
                below &= b;
            }
        }
        // No input is left after the last active step, and the leak never raises a
        // potential below u_THR to it: nothing can fire any more.
        if below && t + 1 >= geo.active_steps {
            break;
        }
    }
    let mut total = [[0u32; LANE_GRANULE]; C];
    for cr in &cnt {
        for (tc, cc) in total.iter_mut().zip(cr) {
            for (x, y) in tc.iter_mut().zip(L::counts(*cc)) {
                *x += y;
            }
        }
    }
    for (c, tc) in counts.chunks_exact_mut(LANE_GRANULE).zip(&total) {
        for (x, y) in c.iter_mut().zip(tc) {
            *x += y;
        }
    }
}

impl ConvSnn {
    /// Calibrates α on `images` (encoder carry starting at zero, image i on
    /// Bernoulli stream i): the search of [`super::calibrate`] on the counts-only
    /// simulation of [`CalibrationSample`]. Gives exactly what [`super::calibrate`]
    /// gives with [`ConvSnn::kernel_rates`] as the rates, much faster.
    pub fn calibrate(&self, images: &[f64], o: &CalibrationOptions) -> Result<Calibration> {
        let mut sample = CalibrationSample::new(self, images)?;
        calibrate_with(self.conv.n_kernels, o, |req| sample.rates(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snn::{calibrate, ConvSnnParams, Encoding};

    struct Rnd(u64);
    impl Rnd {
        fn next(&mut self) -> f64 {
            self.0 = crate::rng::mix64(self.0);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Images with dark backgrounds and bright blobs, values on the uint8 grid or
    /// arbitrary.
    fn images(r: &mut Rnd, n: usize, h: usize, w: usize) -> Vec<f64> {
        (0..n * h * w)
            .map(|_| {
                let v = r.next();
                if v < 0.5 {
                    0.0
                } else if v < 0.7 {
                    1.0
                } else if v < 0.85 {
                    (r.next() * 255.0).floor() / 255.0
                } else {
                    r.next()
                }
            })
            .collect()
    }

    fn params(stride: usize, encoding: Encoding, tau: Option<f64>, reset: Reset) -> ConvSnnParams {
        ConvSnnParams {
            stride,
            pool: 1,
            tau,
            threshold: 1.0,
            frame_steps: 15,
            active_steps: 10,
            encoding,
            max_rate: 1.0,
            reset,
        }
    }

    /// The straightforward search: the full front-end over the whole sample in every
    /// bisection step.
    fn reference(net: &ConvSnn, images: &[f64], o: &CalibrationOptions) -> Result<Calibration> {
        let mut r = net.clone();
        let zero = vec![0u64; net.n_pixels()];
        calibrate(net.conv.n_kernels, o, |s| {
            r.conv.set_scales(s)?;
            Ok(r.kernel_rates(images, &zero))
        })
    }

    #[test]
    fn fast_calibration_gives_the_reference_alpha() {
        let mut r = Rnd(3);
        let encodings = [
            Encoding::Accumulator { reset_carry: false },
            Encoding::Accumulator { reset_carry: true },
            Encoding::Bernoulli { seed: 7 },
        ];
        let mut cases = 0;
        for (case, &(h, w, k, nk, stride)) in [
            (12, 11, 4, 3, 2),
            (10, 10, 3, 9, 1),
            (9, 13, 5, 12, 2),
            (8, 70, 3, 2, 1), // rows of two words
            (7, 7, 7, 17, 3),
        ]
        .iter()
        .enumerate()
        {
            let kernels: Vec<f64> = (0..nk * k * k).map(|_| r.next() * 1.3 - 0.3).collect();
            let imgs = images(&mut r, 13, h, w);
            let encoding = encodings[case % 3];
            let tau = if case % 2 == 0 { Some(6.0) } else { None };
            let reset = if case == 3 {
                Reset::Zero
            } else {
                Reset::Subtract
            };
            let net = ConvSnn::new(
                params(stride, encoding, tau, reset),
                &kernels,
                k,
                &vec![1.0; nk],
                (h, w),
            )
            .unwrap();
            for per_kernel in [false, true] {
                for target in [0.3, 1.0, 2.5] {
                    let o = CalibrationOptions::new(target, per_kernel);
                    let want = reference(&net, &imgs, &o);
                    let got = net.calibrate(&imgs, &o);
                    match (&want, &got) {
                        (Ok(a), Ok(b)) => assert_eq!(a, b, "case {case} {per_kernel} {target}"),
                        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                        _ => panic!("case {case}: {want:?} vs {got:?}"),
                    }
                    cases += usize::from(want.is_ok());
                }
            }
        }
        assert!(cases >= 20, "{cases}");
    }

    #[test]
    fn every_evaluation_matches_the_full_simulation() {
        // Rates at each step equal the front-end's, on the cached and the re-encoded
        // path, and with several groups of kernels (more than 64); an early stop
        // returns bounds below the full rates.
        let mut r = Rnd(11);
        let (h, w, k, nk) = (9, 10, 3, 70);
        let imgs = images(&mut r, 150, h, w);
        let zero = vec![0u64; h * w];
        let p = params(
            1,
            Encoding::Accumulator { reset_carry: false },
            Some(10.0),
            Reset::Subtract,
        );
        let mut total_early = 0;
        // Weak kernels: α doubles from 1 and overshoots, a point the search can
        // settle without the whole sample.
        for (cache, gain) in [(true, 1.0), (false, 1.0), (true, 0.01), (false, 0.01)] {
            let kernels: Vec<f64> = (0..nk * k * k)
                .map(|_| (r.next() * 1.5 - 0.4) * gain)
                .collect();
            let net = ConvSnn::new(p, &kernels, k, &vec![1.0; nk], (h, w)).unwrap();
            for per_kernel in [false, true] {
                let mut sample = CalibrationSample::with_cache(&net, &imgs, cache).unwrap();
                let mut full = net.clone();
                let (mut exact, mut early) = (0, 0);
                let o = CalibrationOptions::new(1.0, per_kernel);
                let cal = calibrate_with(nk, &o, |req| {
                    let got = sample.rates(req)?;
                    full.conv.set_scales(req.scales)?;
                    let want = full.kernel_rates(&imgs, &zero);
                    let needed = (0..nk).filter(|&a| req.needed[a]);
                    if req.decided(&got) && got != want {
                        early += 1;
                        assert!(needed.clone().all(|a| got[a] <= want[a]));
                        assert!(req.decided(&want));
                    } else {
                        exact += 1;
                        assert!(
                            needed.clone().all(|a| got[a] == want[a]),
                            "{got:?} {want:?}"
                        );
                    }
                    Ok(got)
                })
                .unwrap();
                assert_eq!(cal, reference(&net, &imgs, &o).unwrap());
                assert!(exact > 0);
                total_early += early;
            }
        }
        assert!(total_early > 0);
    }

    #[test]
    fn portable_lanes_count_like_the_simd_ones() {
        // The fallback for CPUs without AVX2 gives the same counts, for every number of
        // registers per position.
        let mut r = Rnd(17);
        let (h, w, k) = (11, 12, 3);
        let imgs = images(&mut r, 6, h, w);
        for (nk, tau, reset) in [
            (5, Some(4.0), Reset::Subtract),
            (16, None, Reset::Zero),
            (40, Some(10.0), Reset::Subtract),
            (64, Some(2.0), Reset::Zero),
        ] {
            let kernels: Vec<f64> = (0..nk * k * k).map(|_| r.next() * 1.2 - 0.3).collect();
            let p = params(1, Encoding::Bernoulli { seed: 2 }, tau, reset);
            let net = ConvSnn::new(p, &kernels, k, &vec![0.7; nk], (h, w)).unwrap();
            let sample = CalibrationSample::new(&net, &imgs).unwrap();
            let geo = sample.geometry();
            let chunks = nk.div_ceil(LANE_GRANULE);
            let mut wts = vec![[0f32; LANE_GRANULE]; k * k * chunks];
            for c in 0..k * k {
                for a in 0..nk {
                    wts[c * chunks + a / LANE_GRANULE][a % LANE_GRANULE] = net.conv.weight(a, c);
                }
            }
            for i in 0..sample.len() {
                let raster = &sample.rasters[i * sample.raster_len..(i + 1) * sample.raster_len];
                let mut simd = vec![0u32; chunks * LANE_GRANULE];
                let mut portable = vec![0u32; chunks * LANE_GRANULE];
                count_image(&geo, raster, &wts, chunks, &mut simd);
                dispatch::<Portable>(&geo, raster, &wts, chunks, &mut portable);
                assert_eq!(simd, portable, "nk = {nk}, image {i}");
                assert!(simd.iter().sum::<u32>() > 0);
            }
        }
    }

    #[test]
    fn thread_count_does_not_change_the_result() {
        let mut r = Rnd(5);
        let (h, w, k, nk) = (12, 12, 4, 6);
        let kernels: Vec<f64> = (0..nk * k * k).map(|_| r.next() - 0.2).collect();
        let imgs = images(&mut r, 200, h, w);
        let p = params(
            2,
            Encoding::Bernoulli { seed: 1 },
            Some(10.0),
            Reset::Subtract,
        );
        let net = ConvSnn::new(p, &kernels, k, &vec![1.0; nk], (h, w)).unwrap();
        let run = |threads| {
            crate::threads::install(Some(threads), || {
                net.calibrate(&imgs, &CalibrationOptions::new(1.0, true))
                    .unwrap()
            })
            .unwrap()
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn channels_calibrate_as_the_full_front_end() {
        // Several input channels: the counts-only simulation reads channel-major bit
        // planes and each channel's weights, and gives the reference's α.
        let mut r = Rnd(23);
        let mut cases = 0;
        for (h, w, k, nk, stride, ch, encoding) in [
            (
                10,
                11,
                3,
                5,
                1,
                2,
                Encoding::Accumulator { reset_carry: false },
            ),
            (9, 70, 4, 9, 2, 3, Encoding::Bernoulli { seed: 3 }),
        ] {
            let kernels: Vec<f64> = (0..nk * ch * k * k).map(|_| r.next() * 1.3 - 0.3).collect();
            let imgs = images(&mut r, 11 * ch, h, w);
            let p = params(stride, encoding, Some(6.0), Reset::Subtract);
            let net = ConvSnn::with_channels(p, &kernels, (ch, k), &vec![1.0; nk], (h, w)).unwrap();
            for per_kernel in [false, true] {
                let o = CalibrationOptions::new(1.0, per_kernel);
                let want = reference(&net, &imgs, &o).unwrap();
                assert_eq!(net.calibrate(&imgs, &o).unwrap(), want);
                cases += 1;
            }
        }
        assert_eq!(cases, 4);
    }
}
