//! The learner's responses (docs/algorithms.md §1 step 1): the exact f64 valid cross-correlation
//! of one image with the kernel bank, computed only over the image's non-zero
//! pixels.
//!
//! Every response is accumulated from +0.0 in row-major kernel order, one product
//! `w · g` rounded and then added, so it is bit-identical to the plain definition
//! (`conv::tests::conv_f64`) on every CPU and for any split of rows across threads.
//! Skipping dark pixels is exact: adding w·0 = ±0.0 never changes such a sum.
//!
//! For each pixel the update runs across kernels four at a time ("quads"), with up
//! to eight quads held in registers for a whole tile. A tile's non-zero pixels are
//! found through a bit mask of its cells, in one loop (per-row loops, with their
//! varying trip counts, cost a branch misprediction per tile row). The same loops
//! run on AVX2 vectors or on plain arrays (other CPUs), through [`Lanes`].

use crate::lanes::Lanes;

/// Most quads accumulated at once: 32 kernels in 8 AVX2 registers.
const MAX_QUADS: usize = 8;

/// Most kernels [`row_maxima`] handles: one register block.
pub const ROW_MAX_KERNELS: usize = 4 * MAX_QUADS;

/// Kernel weights stored cell-major in quads of four kernels:
/// `kernels_t[cell * quads + a / 4].0[a % 4]`, kernels beyond `n` zero. Aligned so
/// that no vector load straddles two cache lines.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C, align(32))]
pub struct KernelQuads(pub [f64; 4]);

/// Largest kernel side whose tile fits two 64-bit masks of whole rows of cells.
const MASK_KERNEL: usize = 10;

/// An image indexed for the responses of one kernel size `k`, so that the non-zero
/// pixels of a tile are visited in row-major order without a loop per tile row
/// (whose varying trip counts cost a branch misprediction per row):
///
/// - k ≤ 10: one bit per pixel, so a tile's non-zero cells are two 64-bit masks;
/// - larger k: the non-zero pixels row by row, indexed by column, so those of one
///   tile row are a contiguous run.
#[derive(Debug, Clone, Default)]
pub struct SparseImage {
    w: usize,
    k: usize,
    /// k ≤ 10: the pixels, and `words` u64 per row of non-zero bits (bit x of row
    /// y is pixel (y, x)), with a spare zero word so two-word reads stay inside.
    pixels: Vec<f64>,
    bits: Vec<u64>,
    words: usize,
    /// Tile rows in the first mask word (as many whole rows as fit in 64 bits).
    first_rows: usize,
    /// The two masks of a tile without a zero pixel.
    full: (u64, u64),
    /// Offset in `pixels` of each tile cell from the tile's corner.
    cell_offset: Vec<u32>,
    /// Larger k: `first[y * (w + 1) + x]` indexes into `xs`/`vs` the first non-zero
    /// pixel of row y at a column ≥ x (`x = w` gives the end of the row).
    first: Vec<u32>,
    xs: Vec<u32>,
    vs: Vec<f64>,
}

impl SparseImage {
    /// Indexes `g` (row-major, `h × w`, fewer than 2³² pixels) for kernels of side
    /// `k`; reuses the buffers.
    #[inline(always)]
    pub fn load(&mut self, g: &[f64], (h, w): (usize, usize), k: usize) {
        assert_eq!(g.len(), h * w);
        assert!(h * w < u32::MAX as usize);
        self.w = w;
        self.k = k;
        if k <= MASK_KERNEL {
            self.load_bits(g, (h, w));
        } else {
            self.load_runs(g, (h, w));
        }
    }

    #[inline(always)]
    fn load_bits(&mut self, g: &[f64], (h, w): (usize, usize)) {
        let k = self.k;
        self.pixels.clear();
        self.pixels.extend_from_slice(g);
        self.words = w / 64 + 2;
        self.bits.clear();
        self.bits.resize(h * self.words, 0);
        for (row, bits) in g
            .chunks_exact(w)
            .zip(self.bits.chunks_exact_mut(self.words))
        {
            for (word, px) in bits.iter_mut().zip(row.chunks(64)) {
                *word = px
                    .iter()
                    .enumerate()
                    .fold(0, |b, (j, &v)| b | u64::from(v != 0.0) << j);
            }
        }
        self.first_rows = k.min(64 / k);
        let ones = |bits: usize| {
            if bits >= 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            }
        };
        self.full = (ones(self.first_rows * k), ones((k - self.first_rows) * k));
        self.cell_offset.clear();
        self.cell_offset
            .extend((0..k * k).map(|c| ((c / k) * w + c % k) as u32));
    }

    #[inline(always)]
    fn load_runs(&mut self, g: &[f64], (h, w): (usize, usize)) {
        self.first.resize(h * (w + 1), 0);
        if self.xs.len() < h * w {
            self.xs.resize(h * w, 0);
            self.vs.resize(h * w, 0.0);
        }
        let (xs, vs) = (&mut self.xs[..h * w], &mut self.vs[..h * w]);
        let mut m = 0;
        for (row, first) in g.chunks_exact(w).zip(self.first.chunks_exact_mut(w + 1)) {
            for (x, (&v, f)) in row.iter().zip(first.iter_mut()).enumerate() {
                // Branch-free compaction: m <= index of this pixel, always in bounds.
                *f = m as u32;
                xs[m] = x as u32;
                vs[m] = v;
                m += usize::from(v != 0.0);
            }
            first[w] = m as u32;
        }
    }

    /// The tile at (y0, x0) as two masks of its non-zero cells (k ≤ 10): bit c of
    /// the first is cell c, for the first `first_rows` rows; bit c of the second is
    /// cell `first_rows · k + c`.
    #[inline(always)]
    fn tile_mask(&self, y0: usize, x0: usize) -> (u64, u64) {
        let (k, words) = (self.k, self.words);
        let rows = &self.bits[y0 * words..(y0 + k) * words];
        let (first, rest) = rows.split_at(self.first_rows * words);
        let keep = (1u64 << k) - 1;
        let (word, shift) = (x0 / 64, x0 % 64);
        if words == 2 {
            // Rows narrower than 64 pixels: one word each.
            let window = |row: &[u64]| (row[0] >> shift) & keep;
            (
                stack_rows(first, words, k, window),
                stack_rows(rest, words, k, window),
            )
        } else {
            let window = |row: &[u64]| {
                let pair = u128::from(row[word]) | u128::from(row[word + 1]) << 64;
                ((pair >> shift) as u64) & keep
            };
            (
                stack_rows(first, words, k, window),
                stack_rows(rest, words, k, window),
            )
        }
    }
}

/// The windows of consecutive rows (`words` u64 each) side by side, `k` bits apart.
#[inline(always)]
fn stack_rows(rows: &[u64], words: usize, k: usize, window: impl Fn(&[u64]) -> u64) -> u64 {
    rows.chunks_exact(words)
        .enumerate()
        .fold(0, |mask, (i, row)| mask | window(row) << (k * i))
}

/// The largest response at one position and the kernels reaching it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RowMax {
    pub top: f64,
    /// Bit a is set when kernel a's response equals `top` exactly.
    pub ties: u32,
}

/// Responses of the positions of output row `p` of an image of C channels (one
/// [`SparseImage`] each):
/// `out[q * 4·quads + a] = Σ_cij kernels[a, c, i, j] · g[c, p·s + i, q·s + j]`,
/// summed in row-major (c, i, j) order.
pub fn responses_row(
    img: &[SparseImage],
    kernels_t: &[KernelQuads],
    quads: usize,
    (k, stride): (usize, usize),
    p: usize,
    out: &mut [f64],
) {
    assert_eq!(out.len() % (4 * quads), 0);
    let row = Row::new(img, kernels_t, quads, (k, stride), p);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { avx2::responses_row(&row, out) };
        }
    }
    row.responses::<[f64; 4]>(out)
}

/// The responses of row `p` reduced on the fly to each position's maximum over the
/// `n ≤ ROW_MAX_KERNELS` kernels and the set of kernels reaching it — all the
/// learner needs — without writing the responses out.
pub fn row_maxima(
    img: &[SparseImage],
    kernels_t: &[KernelQuads],
    n: usize,
    (k, stride): (usize, usize),
    p: usize,
    out: &mut [RowMax],
) {
    assert!((1..=ROW_MAX_KERNELS).contains(&n));
    let row = Row::new(img, kernels_t, n.div_ceil(4), (k, stride), p);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { avx2::row_maxima(&row, n, out) };
        }
    }
    row.maxima::<[f64; 4]>(n, out)
}

/// One output row of one image (its channels) against one kernel table.
struct Row<'a> {
    img: &'a [SparseImage],
    kernels_t: &'a [KernelQuads],
    quads: usize,
    k: usize,
    stride: usize,
    p: usize,
}

impl<'a> Row<'a> {
    fn new(
        img: &'a [SparseImage],
        kernels_t: &'a [KernelQuads],
        quads: usize,
        (k, stride): (usize, usize),
        p: usize,
    ) -> Self {
        // The unchecked table reads below rely on this length.
        assert!(!img.is_empty());
        assert_eq!(kernels_t.len(), quads * img.len() * k * k);
        Self {
            img,
            kernels_t,
            quads,
            k,
            stride,
            p,
        }
    }

    #[inline(always)]
    fn responses<Q: Lanes>(&self, out: &mut [f64]) {
        let mut b0 = 0;
        while b0 < self.quads {
            let width = (self.quads - b0).min(MAX_QUADS);
            match width {
                1 => self.responses_block::<Q, 1>(b0, out),
                2 => self.responses_block::<Q, 2>(b0, out),
                3 => self.responses_block::<Q, 3>(b0, out),
                4 => self.responses_block::<Q, 4>(b0, out),
                5 => self.responses_block::<Q, 5>(b0, out),
                6 => self.responses_block::<Q, 6>(b0, out),
                7 => self.responses_block::<Q, 7>(b0, out),
                _ => self.responses_block::<Q, MAX_QUADS>(b0, out),
            }
            b0 += width;
        }
    }

    /// Quads `b0..b0 + V` of every position of the row.
    #[inline(always)]
    fn responses_block<Q: Lanes, const V: usize>(&self, b0: usize, out: &mut [f64]) {
        for (q, out_q) in out.chunks_exact_mut(4 * self.quads).enumerate() {
            let acc = self.accumulate::<Q, V>(b0, q);
            for (dst, a) in out_q[4 * b0..4 * (b0 + V)].chunks_exact_mut(4).zip(acc) {
                dst.copy_from_slice(&a.to_array());
            }
        }
    }

    #[inline(always)]
    fn maxima<Q: Lanes>(&self, n: usize, out: &mut [RowMax]) {
        // The accumulator block size must be a constant to stay in registers.
        match self.quads {
            1 => self.maxima_block::<Q, 1>(n, out),
            2 => self.maxima_block::<Q, 2>(n, out),
            3 => self.maxima_block::<Q, 3>(n, out),
            4 => self.maxima_block::<Q, 4>(n, out),
            5 => self.maxima_block::<Q, 5>(n, out),
            6 => self.maxima_block::<Q, 6>(n, out),
            7 => self.maxima_block::<Q, 7>(n, out),
            _ => self.maxima_block::<Q, MAX_QUADS>(n, out),
        }
    }

    #[inline(always)]
    fn maxima_block<Q: Lanes, const V: usize>(&self, n: usize, out: &mut [RowMax]) {
        for (q, best) in out.iter_mut().enumerate() {
            let mut acc = self.accumulate::<Q, V>(0, q);
            // Padding kernels (a >= n) must never win.
            acc[V - 1] = acc[V - 1].keep_lanes_below(n - 4 * (V - 1));
            let mut m = acc[0];
            for &a in &acc[1..] {
                m = m.max(a);
            }
            let top = m.max_lane();
            let mut ties = 0u32;
            for (b, a) in acc.iter().enumerate() {
                ties |= a.eq_bits(top) << (4 * b);
            }
            *best = RowMax { top, ties };
        }
    }

    /// Responses of quads `b0..b0 + V` at position `q`: the accumulators stay in
    /// registers over all of the tile's non-zero pixels.
    #[inline(always)]
    fn accumulate<Q: Lanes, const V: usize>(&self, b0: usize, q: usize) -> [Q; V] {
        let mut acc = [Q::zero(); V];
        let kk_quads = self.k * self.k * self.quads;
        for (c, img) in self.img.iter().enumerate() {
            // Channel c's cells follow those of channels 0..c in the table.
            self.accumulate_channel::<Q, V>(img, c * kk_quads + b0, q, &mut acc);
        }
        acc
    }

    /// Adds one channel's products to `acc`; `b0` is the table offset of the
    /// channel's first cell plus the first quad of the block.
    #[inline(always)]
    fn accumulate_channel<Q: Lanes, const V: usize>(
        &self,
        img: &SparseImage,
        b0: usize,
        q: usize,
        acc: &mut [Q; V],
    ) {
        let (k, quads) = (self.k, self.quads);
        let (y0, x0) = (self.p * self.stride, q * self.stride);
        debug_assert_eq!(img.k, k, "the image was indexed for another kernel size");
        if k <= MASK_KERNEL {
            // Ascending bits are row-major cells: the summation order is kept.
            let (first, rest) = img.tile_mask(y0, x0);
            let corner = &img.pixels[y0 * img.w + x0..];
            let offsets = &img.cell_offset[..k * k];
            assert!(corner.len() > offsets[k * k - 1] as usize);
            if (first, rest) == img.full {
                // No zero pixel (dense images): every cell in row-major order, with
                // no mask to walk — the same sums.
                let w = img.w;
                for i in 0..k {
                    let line = &corner[i * w..i * w + k];
                    for (j, &v) in line.iter().enumerate() {
                        // i·k + j < k·k.
                        self.add_unchecked::<Q, V>(acc, (i * k + j) * quads + b0, v);
                    }
                }
                return;
            }
            for (base, mut bits) in [(0, first), (img.first_rows * k, rest)] {
                while bits != 0 {
                    let cell = base + bits.trailing_zeros() as usize;
                    // SAFETY: the mask has bits below k·k only, and the last cell
                    // offset (the largest) is inside `corner`, checked above.
                    let v = unsafe { *corner.get_unchecked(*offsets.get_unchecked(cell) as usize) };
                    self.add_unchecked::<Q, V>(acc, cell * quads + b0, v);
                    bits &= bits - 1;
                }
            }
        } else {
            let w1 = img.w + 1;
            for i in 0..k {
                let at = (y0 + i) * w1 + x0;
                let (lo, hi) = (img.first[at] as usize, img.first[at + k] as usize);
                for (&x, &v) in img.xs[lo..hi].iter().zip(&img.vs[lo..hi]) {
                    self.add::<Q, V>(acc, (i * k + x as usize - x0) * quads + b0, v);
                }
            }
        }
    }

    /// [`add`](Self::add) for a cell < k·k (then the block is inside the table).
    #[inline(always)]
    fn add_unchecked<Q: Lanes, const V: usize>(&self, acc: &mut [Q; V], at: usize, v: f64) {
        debug_assert!(at + V <= self.kernels_t.len());
        let v = Q::splat(v);
        for (b, a) in acc.iter_mut().enumerate() {
            // SAFETY: cell < k·k, channel < C and b0 + V <= quads, and the table
            // holds C·k·k·quads quads (checked by `Row::new`).
            *a = a.add_product(
                unsafe { Q::load(self.kernels_t.as_ptr().add(at + b).cast()) },
                v,
            );
        }
    }

    /// `acc += w[at..at + V] · v`: one pixel's products with a block of kernels.
    /// (A method, not a closure: closures do not inherit the caller's AVX2.)
    #[inline(always)]
    fn add<Q: Lanes, const V: usize>(&self, acc: &mut [Q; V], at: usize, v: f64) {
        assert!(at + V <= self.kernels_t.len());
        let wt = self.kernels_t[at..at + V].as_ptr();
        let v = Q::splat(v);
        for (b, a) in acc.iter_mut().enumerate() {
            // SAFETY: quad b of the block is inside the table, checked above.
            *a = a.add_product(unsafe { Q::load(wt.add(b).cast()) }, v);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The loops on AVX2 registers.
    use super::{Row, RowMax};
    use std::arch::x86_64::__m256d;

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn responses_row(row: &Row, out: &mut [f64]) {
        row.responses::<__m256d>(out)
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn row_maxima(row: &Row, n: usize, out: &mut [RowMax]) {
        row.maxima::<__m256d>(n, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::{out_len, tests::conv_f64};

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    /// (image, kernels (a, i, j), cell-major quads) for a random case.
    fn case(
        s: &mut u64,
        (h, w, k, n): (usize, usize, usize, usize),
        dark: f64,
    ) -> (Vec<f64>, Vec<f64>, Vec<KernelQuads>) {
        let g: Vec<f64> = (0..h * w)
            .map(|_| {
                let u = lcg(s);
                if u < dark {
                    0.0
                } else {
                    u
                }
            })
            .collect();
        // Coarse weights make exact ties between kernels common.
        let ker: Vec<f64> = (0..n * k * k)
            .map(|_| (lcg(s) * 8.0).floor() / 8.0 - 0.25)
            .collect();
        let quads = n.div_ceil(4);
        let mut kt = vec![KernelQuads::default(); quads * k * k];
        for a in 0..n {
            for c in 0..k * k {
                kt[c * quads + a / 4].0[a % 4] = ker[a * k * k + c];
            }
        }
        (g, ker, kt)
    }

    /// (h, w, k, stride, n, fraction of dark pixels): small and large kernels (bit
    /// masks up to k = 10, row runs above), images narrower and wider than 64, and
    /// dense images (no dark pixel: whole tiles without a mask walk) with k = 1, 8
    /// (one full mask word) and 10 (two words).
    const CASES: [(usize, usize, usize, usize, usize, f64); 14] = [
        (28, 28, 9, 2, 28, 0.0),
        (28, 28, 9, 2, 28, 0.8),
        (13, 17, 3, 1, 5, 0.5),
        (40, 33, 4, 3, 7, 0.3),
        (30, 31, 5, 2, 41, 0.6),
        (9, 70, 9, 1, 3, 1.0),
        (20, 20, 2, 2, 32, 0.5),
        (30, 40, 13, 2, 6, 0.5),
        (70, 130, 11, 3, 9, 0.7),
        (40, 100, 10, 3, 9, 0.6),
        (20, 21, 8, 2, 9, 0.0),
        (31, 70, 10, 3, 12, 0.0),
        (12, 9, 1, 1, 5, 0.0),
        (40, 40, 9, 2, 28, 0.02),
    ];

    #[test]
    fn responses_are_bit_identical_to_the_plain_definition() {
        let mut s = 5;
        for &(h, w, k, stride, n, dark) in &CASES {
            let (g, ker, kt) = case(&mut s, (h, w, k, n), dark);
            let quads = n.div_ceil(4);
            let (p_len, q_len) = (out_len(h, k, stride), out_len(w, k, stride));
            let positions = p_len * q_len;
            let mut plain = vec![0.0; n * positions];
            conv_f64(&g, (h, w), &ker, k, stride, &mut plain);
            let mut img = SparseImage::default();
            img.load(&g, (h, w), k);
            if dark == 0.0 && k <= MASK_KERNEL {
                assert_eq!(img.tile_mask(0, 0), img.full, "the dense path must run");
            }
            let mut fast = vec![f64::NAN; 4 * quads * q_len];
            let mut portable = fast.clone();
            for p in 0..p_len {
                responses_row(
                    std::slice::from_ref(&img),
                    &kt,
                    quads,
                    (k, stride),
                    p,
                    &mut fast,
                );
                let row = Row::new(std::slice::from_ref(&img), &kt, quads, (k, stride), p);
                row.responses::<[f64; 4]>(&mut portable);
                for q in 0..q_len {
                    for a in 0..4 * quads {
                        let i = q * 4 * quads + a;
                        let want = if a < n {
                            plain[a * positions + p * q_len + q]
                        } else {
                            0.0
                        };
                        assert_eq!(fast[i].to_bits(), want.to_bits(), "a={a} p={p} q={q}");
                        assert_eq!(portable[i].to_bits(), want.to_bits());
                    }
                }
            }
        }
    }

    #[test]
    fn row_maxima_give_the_top_response_and_every_kernel_reaching_it() {
        let mut s = 9;
        let mut tied = 0;
        for &(h, w, k, stride, n, dark) in CASES.iter().filter(|c| c.4 <= ROW_MAX_KERNELS) {
            let (g, ker, kt) = case(&mut s, (h, w, k, n), dark);
            let (p_len, q_len) = (out_len(h, k, stride), out_len(w, k, stride));
            let positions = p_len * q_len;
            let mut plain = vec![0.0; n * positions];
            conv_f64(&g, (h, w), &ker, k, stride, &mut plain);
            let mut img = SparseImage::default();
            img.load(&g, (h, w), k);
            let mut fast = vec![RowMax::default(); q_len];
            let mut portable = fast.clone();
            for p in 0..p_len {
                row_maxima(
                    std::slice::from_ref(&img),
                    &kt,
                    n,
                    (k, stride),
                    p,
                    &mut fast,
                );
                let row = Row::new(
                    std::slice::from_ref(&img),
                    &kt,
                    n.div_ceil(4),
                    (k, stride),
                    p,
                );
                row.maxima::<[f64; 4]>(n, &mut portable);
                assert_eq!(fast, portable);
                for (q, m) in fast.iter().enumerate() {
                    let c: Vec<f64> = (0..n)
                        .map(|a| plain[a * positions + p * q_len + q])
                        .collect();
                    let top = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let ties: u32 = (0..n).map(|a| u32::from(c[a] == top) << a).sum();
                    assert_eq!((m.top, m.ties), (top, ties), "p={p} q={q}");
                    tied += usize::from(ties.count_ones() > 1);
                }
            }
        }
        assert!(tied > 10, "the cases must exercise ties, got {tied}");
    }

    #[test]
    fn channels_sum_in_row_major_channel_cell_order() {
        // C channels: the response is Σ over (c, i, j) in row-major order, exactly.
        let mut s = 21;
        for &(h, w, k, stride, n, channels, dark) in &[
            (13, 17, 3, 1, 5, 2, 0.5),
            (28, 28, 9, 2, 28, 2, 0.6),
            (20, 21, 8, 2, 9, 3, 0.0),
            (30, 40, 13, 2, 6, 2, 0.5),
        ] {
            let planes: Vec<(Vec<f64>, Vec<f64>, Vec<KernelQuads>)> = (0..channels)
                .map(|_| case(&mut s, (h, w, k, n), dark))
                .collect();
            let quads = n.div_ceil(4);
            let kk = k * k;
            // The table of the C·K² cells: channel c's cells after those of 0..c.
            let mut kt = vec![KernelQuads::default(); quads * channels * kk];
            for (c, (_, ker, _)) in planes.iter().enumerate() {
                for a in 0..n {
                    for cell in 0..kk {
                        kt[(c * kk + cell) * quads + a / 4].0[a % 4] = ker[a * kk + cell];
                    }
                }
            }
            let imgs: Vec<SparseImage> = planes
                .iter()
                .map(|(g, _, _)| {
                    let mut img = SparseImage::default();
                    img.load(g, (h, w), k);
                    img
                })
                .collect();
            let (p_len, q_len) = (out_len(h, k, stride), out_len(w, k, stride));
            let mut fast = vec![f64::NAN; 4 * quads * q_len];
            let mut maxima = vec![RowMax::default(); q_len];
            for p in 0..p_len {
                responses_row(&imgs, &kt, quads, (k, stride), p, &mut fast);
                if n <= ROW_MAX_KERNELS {
                    row_maxima(&imgs, &kt, n, (k, stride), p, &mut maxima);
                }
                for q in 0..q_len {
                    let mut top = f64::NEG_INFINITY;
                    let plain: Vec<f64> = (0..n)
                        .map(|a| {
                            let mut sum = 0.0;
                            for (g, ker, _) in &planes {
                                for i in 0..k {
                                    for j in 0..k {
                                        sum += ker[a * kk + i * k + j]
                                            * g[(p * stride + i) * w + q * stride + j];
                                    }
                                }
                            }
                            top = top.max(sum);
                            sum
                        })
                        .collect();
                    for a in 0..n {
                        assert_eq!(fast[q * 4 * quads + a].to_bits(), plain[a].to_bits());
                    }
                    if n <= ROW_MAX_KERNELS {
                        assert_eq!(maxima[q].top, top);
                    }
                }
            }
        }
    }
}
