//! Image preprocessing of docs/algorithms.md §1: per-image saturation scaling and set-wide
//! brightness quantiles.
//!
//! Quantiles use the "inverted CDF" definition (numpy's `method="inverted_cdf"`):
//! the result is always an actual pixel value, which is what "the value at the
//! 97th percentile" means for the saturation rule.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Index into an ascending-sorted sample of length `n` (> 0) holding the
/// inverted-CDF quantile `q`, computed exactly as numpy does.
pub fn inverted_cdf_index(n: usize, q: f64) -> usize {
    let virtual_index = n as f64 * q - 1.0;
    let previous = virtual_index.floor();
    let index = if virtual_index - previous == 0.0 {
        previous
    } else {
        previous + 1.0
    };
    (index.max(0.0) as usize).min(n - 1)
}

/// Inverted-CDF quantile `q` of `values` (reorders them; must be non-empty).
pub fn quantile_in_place(values: &mut [f64], q: f64) -> f64 {
    let k = inverted_cdf_index(values.len(), q);
    let (_, v, _) = values.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
    *v
}

/// Checks a brightness image: finite and within [0, 1].
pub fn check_unit_range(g: &[f64], name: &'static str) -> Result<()> {
    for &v in g {
        if !v.is_finite() {
            return Err(Error::input(name, "contains NaN or infinity"));
        }
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::input(
                name,
                format!("float brightness must lie in [0, 1], found {v}"),
            ));
        }
    }
    Ok(())
}

/// The saturation rule: scale so the pixel at quantile `1 - saturation_quantile`
/// becomes 1 (if that pixel is 0, the smallest non-zero pixel is used instead), then
/// clip to [0, 1]. An all-zero image stays zero. `scratch` avoids an allocation per
/// image. Values must lie in [0, 1].
pub fn saturate_in_place(g: &mut [f64], saturation_quantile: f64, scratch: &mut Vec<f64>) {
    if g.is_empty() {
        return;
    }
    let k = inverted_cdf_index(g.len(), 1.0 - saturation_quantile);
    // Most pixels are usually dark, and zeros sort first: select among the non-zero
    // pixels only (branch-free compaction).
    scratch.clear();
    scratch.resize(g.len(), 0.0);
    let mut m = 0;
    for &v in g.iter() {
        scratch[m] = v;
        m += usize::from(v != 0.0);
    }
    let (zeros, bright) = (g.len() - m, &mut scratch[..m]);
    if bright.is_empty() {
        return; // all zero
    }
    let reference = if k >= zeros {
        *bright
            .select_nth_unstable_by(k - zeros, |a, b| a.total_cmp(b))
            .1
    } else {
        bright.iter().copied().fold(f64::INFINITY, f64::min)
    };
    for v in g.iter_mut() {
        *v = clip_to_one(*v / reference);
    }
}

/// `min(x, 1)` for a finite x, written so loops over it vectorise.
#[inline(always)]
fn clip_to_one(x: f64) -> f64 {
    if x < 1.0 {
        x
    } else {
        1.0
    }
}

/// Brightness `x / 255` of a uint8 image into `out`, with the saturation rule when
/// `saturation_quantile` is set — exactly `saturate_in_place` of the brightness, but
/// through a 256-entry histogram and lookup table instead of a selection and a
/// division per pixel. Returns the saturation reference level (None: no saturation,
/// or an all-zero image); with `hist`, also the image's histogram of levels, so the
/// preprocessed values can be counted per level (see [`level_value`]).
pub fn brightness_u8(
    img: &[u8],
    saturation_quantile: Option<f64>,
    out: &mut [f64],
    hist: Option<&mut [u32; 256]>,
) -> Option<u8> {
    assert_eq!(img.len(), out.len());
    let reference = match (saturation_quantile, hist) {
        (None, None) => None,
        (sq, Some(hist)) => levels_reference(img, sq, hist),
        (sq, None) => levels_reference(img, sq, &mut [0; 256]),
    };
    let lut: [f64; 256] = std::array::from_fn(|x| level_value(x as u8, reference));
    for (o, &x) in out.iter_mut().zip(img) {
        *o = lut[usize::from(x)];
    }
    reference
}

/// [`brightness_u8`] of every image of a stack (`pixels` each, concatenated) into
/// `out`, in parallel over images.
pub fn brightness_u8_stack(
    src: &[u8],
    pixels: usize,
    saturation_quantile: Option<f64>,
    out: &mut [f64],
) {
    assert_eq!(src.len(), out.len());
    if pixels == 0 {
        return;
    }
    out.par_chunks_mut(pixels)
        .zip(src.par_chunks(pixels))
        .for_each(|(o, img)| {
            brightness_u8(img, saturation_quantile, o, None);
        });
}

/// [`saturate_in_place`] on every image of a stack (`pixels` each, concatenated), in
/// parallel over images.
pub fn saturate_stack(data: &mut [f64], pixels: usize, saturation_quantile: f64) {
    if pixels == 0 {
        return;
    }
    data.par_chunks_mut(pixels)
        .for_each_init(Vec::new, |scratch, img| {
            saturate_in_place(img, saturation_quantile, scratch)
        });
}

/// The histogram of a uint8 image into `hist`, and its saturation reference level
/// (None without saturation, or for an all-zero image).
pub fn levels_reference(
    img: &[u8],
    saturation_quantile: Option<f64>,
    hist: &mut [u32; 256],
) -> Option<u8> {
    *hist = histogram_u8(img);
    match saturation_quantile {
        Some(sq) if !img.is_empty() => saturation_level(hist, img.len(), sq),
        _ => None,
    }
}

/// The preprocessed value of level `x` in an image whose saturation reference level
/// is `reference` (None: plain brightness).
#[inline]
pub fn level_value(x: u8, reference: Option<u8>) -> f64 {
    let brightness = f64::from(x) / 255.0;
    match reference {
        Some(r) => clip_to_one(brightness / (f64::from(r) / 255.0)),
        None => brightness,
    }
}

/// Pixel counts of uint8 images per (saturation reference, level): the values they
/// preprocess to depend on that pair only, so counting them for a quantile needs
/// one division per distinct pair rather than one per image and level.
#[derive(Debug, Clone)]
pub struct LevelCounts {
    /// Row 0: no saturation (or all-zero images); row 1 + r: reference level r.
    counts: Vec<u64>,
}

impl Default for LevelCounts {
    fn default() -> Self {
        Self {
            counts: vec![0; 257 * 256],
        }
    }
}

impl LevelCounts {
    /// Adds one image's histogram (as returned with [`brightness_u8`]).
    pub fn add(&mut self, hist: &[u32; 256], reference: Option<u8>) {
        let row = reference.map_or(0, |r| 1 + usize::from(r));
        for (c, &h) in self.counts[row * 256..(row + 1) * 256].iter_mut().zip(hist) {
            *c += u64::from(h);
        }
    }

    /// Adds the counts of `other`.
    pub fn absorb(&mut self, other: &LevelCounts) {
        for (c, &o) in self.counts.iter_mut().zip(&other.counts) {
            *c += o;
        }
    }

    /// Counts every pixel's preprocessed value into `q` (its first pass).
    pub fn count_into(&self, q: &mut StreamQuantile) {
        self.for_each_value(|v, c| q.count_repeated(v, c));
    }

    /// Feeds every pixel's preprocessed value to `q`'s second pass: the same
    /// values as [`StreamQuantile::collect`] on every preprocessed image, without
    /// expanding them.
    pub fn collect_into(&self, q: &mut StreamQuantile) {
        if q.needs_second_pass() {
            self.for_each_value(|v, c| q.collect_repeated(v, c));
        }
    }

    /// (value, number of pixels) for every (reference, level) seen.
    fn for_each_value(&self, mut f: impl FnMut(f64, u64)) {
        for (row, counts) in self.counts.chunks_exact(256).enumerate() {
            let reference = row.checked_sub(1).map(|r| r as u8);
            for (x, &c) in counts.iter().enumerate().filter(|(_, &c)| c > 0) {
                f(level_value(x as u8, reference), c);
            }
        }
    }
}

/// Counts of each level; four interleaved histograms keep consecutive increments
/// independent.
fn histogram_u8(img: &[u8]) -> [u32; 256] {
    let mut counts = [[0u32; 256]; 4];
    let mut quads = img.chunks_exact(4);
    for quad in &mut quads {
        for (c, &x) in counts.iter_mut().zip(quad) {
            c[usize::from(x)] += 1;
        }
    }
    for &x in quads.remainder() {
        counts[0][usize::from(x)] += 1;
    }
    std::array::from_fn(|x| counts.iter().map(|c| c[x]).sum())
}

/// The level that the saturation rule maps to 1: the inverted-CDF quantile
/// `1 - saturation_quantile` of the `n` pixels, or the smallest non-zero level if
/// that is 0; None for an all-zero image.
fn saturation_level(hist: &[u32; 256], n: usize, saturation_quantile: f64) -> Option<u8> {
    let k = inverted_cdf_index(n, 1.0 - saturation_quantile);
    let mut below = 0;
    let mut at_k = 255;
    for (x, &c) in hist.iter().enumerate() {
        if below + c as usize > k {
            at_k = x;
            break;
        }
        below += c as usize;
    }
    if at_k > 0 {
        return Some(at_k as u8);
    }
    (1..256).find(|&x| hist[x] > 0).map(|x| x as u8)
}

/// Validates a saturation quantile: `None` or a value in [0, 1).
pub fn check_saturation_quantile(q: Option<f64>) -> Result<()> {
    if let Some(q) = q {
        if !(0.0..1.0).contains(&q) {
            return Err(Error::param(
                "saturation_quantile",
                format!("must be None or in [0, 1), got {q}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverted_cdf_matches_hand_values() {
        // n = 4, q = 0.5 -> virtual 1.0 exactly -> index 1
        assert_eq!(inverted_cdf_index(4, 0.5), 1);
        // n = 4, q = 0.6 -> virtual 1.4 -> index 2
        assert_eq!(inverted_cdf_index(4, 0.6), 2);
        assert_eq!(inverted_cdf_index(4, 0.0), 0);
        assert_eq!(inverted_cdf_index(4, 1.0), 3);
        assert_eq!(inverted_cdf_index(784, 0.97), 760);
    }

    #[test]
    fn saturation_scales_and_clips() {
        // 100 pixels 0..=99 / 100; the 97th percentile value is 0.96
        let mut g: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        let mut s = Vec::new();
        saturate_in_place(&mut g, 0.03, &mut s);
        assert_eq!(g[96], 1.0);
        assert_eq!(g[99], 1.0);
        assert!((g[48] - 0.48 / 0.96).abs() < 1e-15);
    }

    #[test]
    fn uint8_lookup_equals_brightness_then_saturation() {
        let mut s = 3u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as usize
        };
        let mut scratch = Vec::new();
        for case in 0..200 {
            let n = 1 + next() % 900;
            // Mostly dark images, some all dark, some with few bright pixels.
            let dark = [0, 50, 90, 99, 100][case % 5];
            let img: Vec<u8> = (0..n)
                .map(|_| {
                    if next() % 100 < dark {
                        0
                    } else {
                        (next() % 256) as u8
                    }
                })
                .collect();
            for sq in [None, Some(0.0), Some(0.03), Some(0.5), Some(0.97)] {
                let mut want: Vec<f64> = img.iter().map(|&x| f64::from(x) / 255.0).collect();
                if let Some(q) = sq {
                    saturate_in_place(&mut want, q, &mut scratch);
                }
                let mut got = vec![f64::NAN; n];
                let mut hist = [0u32; 256];
                let reference = brightness_u8(&img, sq, &mut got, Some(&mut hist));
                for (&x, &v) in img.iter().zip(&got) {
                    assert_eq!(level_value(x, reference).to_bits(), v.to_bits());
                }
                for x in 0..=255u8 {
                    assert_eq!(
                        hist[x as usize] as usize,
                        img.iter().filter(|&&y| y == x).count()
                    );
                }
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "case {case}, sq {sq:?}");
            }
        }
    }

    #[test]
    fn saturation_uses_smallest_nonzero_when_quantile_is_zero() {
        let mut g = vec![0.0; 100];
        g[0] = 0.5;
        g[1] = 0.25;
        let mut s = Vec::new();
        saturate_in_place(&mut g, 0.03, &mut s);
        assert_eq!(g[0], 1.0);
        assert_eq!(g[1], 1.0);
        assert_eq!(g[2], 0.0);
        let mut z = vec![0.0; 10];
        saturate_in_place(&mut z, 0.03, &mut s);
        assert!(z.iter().all(|&v| v == 0.0));
    }
}

/// Exact quantile of a stream of values in [0, 1] in bounded memory, in two passes:
/// the first counts values per histogram bin, the second keeps only the values of
/// the bin that holds the wanted rank, as a count per distinct value, and finds the
/// rank among them. Brightness-normalised uint8 images take at most 257 × 256
/// distinct values, so the second pass holds a bounded number of pairs however many
/// images it reads.
#[derive(Debug, Clone)]
pub struct StreamQuantile {
    q: f64,
    counts: Vec<u64>,
    target: Option<(usize, usize)>,
    /// (value, occurrences) of the target bin: sorted by `total_cmp` and merged up to
    /// `merged`, appended after it; merged again when the appended part outgrows it.
    kept: Vec<(f64, u64)>,
    merged: usize,
    /// Scratch of `count`.
    mid: Vec<f64>,
}

const QUANTILE_BINS: usize = 1 << 16;

/// Bin 0 holds exact zeros and the last bin exact ones (values ≥ 1): preprocessed
/// images are mostly black or saturated, and a bin of equal values needs no second
/// pass — its value is the answer. Values strictly inside (0, 1) share the rest.
#[inline]
fn bin_of(v: f64) -> usize {
    if v <= 0.0 {
        0
    } else if v >= 1.0 {
        QUANTILE_BINS - 1
    } else {
        1 + ((v * (QUANTILE_BINS - 2) as f64) as usize).min(QUANTILE_BINS - 3)
    }
}

impl StreamQuantile {
    pub fn new(q: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&q) {
            return Err(Error::param(
                "brightness_quantile",
                format!("must be in [0, 1], got {q}"),
            ));
        }
        Ok(Self {
            q,
            counts: vec![0; QUANTILE_BINS],
            target: None,
            kept: Vec::new(),
            merged: 0,
            mid: Vec::new(),
        })
    }

    /// First pass: count values.
    pub fn count(&mut self, values: &[f64]) {
        // Exact zeros and ones dominate preprocessed images: count them with
        // vectorised compares, and bin only the rest (compacted without branches).
        let zeros = values.iter().filter(|&&v| v <= 0.0).count();
        let ones = values.iter().filter(|&&v| v >= 1.0).count();
        self.counts[0] += zeros as u64;
        self.counts[QUANTILE_BINS - 1] += ones as u64;
        if zeros + ones < values.len() {
            self.mid.clear();
            self.mid.resize(values.len(), 0.5);
            let mut m = 0;
            for &v in values {
                self.mid[m] = v;
                m += usize::from(v > 0.0 && v < 1.0);
            }
            for &v in &self.mid[..m] {
                self.counts[bin_of(v)] += 1;
            }
        }
    }

    /// First pass: count `times` occurrences of `value`.
    pub fn count_repeated(&mut self, value: f64, times: u64) {
        self.counts[bin_of(value)] += times;
    }

    /// Ends the first pass; returns false if no value was seen.
    pub fn locate(&mut self) -> bool {
        let total: u64 = self.counts.iter().sum();
        if total == 0 {
            return false;
        }
        let k = inverted_cdf_index(total as usize, self.q) as u64;
        let mut below = 0u64;
        for (b, &c) in self.counts.iter().enumerate() {
            if below + c > k {
                self.target = Some((b, (k - below) as usize));
                break;
            }
            below += c;
        }
        true
    }

    /// Whether [`collect`](Self::collect) is needed: not when the target bin holds
    /// a single value (exact zeros or exact ones).
    pub fn needs_second_pass(&self) -> bool {
        matches!(self.target, Some((b, _)) if b != 0 && b != QUANTILE_BINS - 1)
    }

    /// Second pass: keep the values of the target bin.
    pub fn collect(&mut self, values: &[f64]) {
        if self.needs_second_pass() {
            let b = self.target.expect("located").0;
            for &v in values {
                if bin_of(v) == b {
                    self.keep(v, 1);
                }
            }
        }
    }

    /// Second pass: `times` occurrences of `value`.
    pub fn collect_repeated(&mut self, value: f64, times: u64) {
        if times > 0 && self.needs_second_pass() && bin_of(value) == self.target.expect("located").0
        {
            self.keep(value, times);
        }
    }

    /// Appends `times` occurrences of `v`, merging the pairs when the appended ones
    /// outnumber the merged ones (and a fixed slack): the pairs held stay within
    /// about twice the number of distinct values, at an amortised O(log) per value.
    #[inline]
    fn keep(&mut self, v: f64, times: u64) {
        self.kept.push((v, times));
        if self.kept.len() >= 2 * self.merged + MERGE_SLACK {
            self.merge();
        }
    }

    /// Sorts the pairs by value (`total_cmp`) and sums the occurrences of equal values.
    fn merge(&mut self) {
        self.kept.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let mut m = 0;
        for i in 0..self.kept.len() {
            let (v, c) = self.kept[i];
            if m > 0 && self.kept[m - 1].0.total_cmp(&v).is_eq() {
                self.kept[m - 1].1 += c;
            } else {
                self.kept[m] = (v, c);
                m += 1;
            }
        }
        self.kept.truncate(m);
        self.merged = m;
    }

    /// Pairs of (value, occurrences) held by the second pass (for tests).
    #[cfg(test)]
    fn pairs_held(&self) -> usize {
        self.kept.len()
    }

    /// The quantile, or None if the passes were inconsistent (the data changed).
    pub fn finish(&mut self) -> Option<f64> {
        let (b, rank) = self.target?;
        if b == 0 {
            return Some(0.0);
        }
        if b == QUANTILE_BINS - 1 {
            return Some(1.0);
        }
        self.merge();
        if self.kept.iter().map(|&(_, c)| c).sum::<u64>() != self.counts[b] {
            return None;
        }
        // The value of rank `rank` in ascending (`total_cmp`) order: the element a
        // selection over every kept value would return (equal values have equal bits).
        let mut below = 0u64;
        for &(v, c) in &self.kept {
            below += c;
            if below > rank as u64 {
                return Some(v);
            }
        }
        None
    }
}

/// Pairs appended to a [`StreamQuantile`]'s second pass beyond twice the merged
/// ones before they are merged again.
const MERGE_SLACK: usize = 4096;

#[cfg(test)]
mod stream_tests {
    use super::*;

    #[test]
    fn level_counts_give_the_quantile_of_the_preprocessed_values() {
        let mut s = 5u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as usize
        };
        let images: Vec<Vec<u8>> = (0..40)
            .map(|i| {
                (0..300)
                    .map(|_| {
                        if next() % 10 < i % 10 {
                            0
                        } else {
                            (next() % 256) as u8
                        }
                    })
                    .collect()
            })
            .collect();
        for sq in [None, Some(0.03)] {
            let (mut counts, mut values) = (LevelCounts::default(), Vec::new());
            for img in &images {
                let mut out = vec![0.0; img.len()];
                let mut hist = [0u32; 256];
                let reference = brightness_u8(img, sq, &mut out, Some(&mut hist));
                counts.add(&hist, reference);
                values.extend(out);
            }
            for q in [0.0, 0.3, 0.75, 0.9, 1.0] {
                let (mut by_level, mut direct) = (
                    StreamQuantile::new(q).unwrap(),
                    StreamQuantile::new(q).unwrap(),
                );
                counts.count_into(&mut by_level);
                direct.count(&values);
                assert_eq!(by_level.counts, direct.counts);
                let mut v2 = values.clone();
                by_level.locate();
                by_level.collect(&values);
                assert_eq!(by_level.finish(), Some(quantile_in_place(&mut v2, q)));
            }
        }
    }

    #[test]
    fn second_pass_holds_a_count_per_distinct_value() {
        // A bin crowded with few distinct values, many times over (as uint8 images
        // give), plus distinct values that force merges: the quantile equals a
        // selection over every value, and the pairs held stay bounded.
        let mut s = 17u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s >> 11
        };
        let few = [0.5, 0.5 + 1e-9, 0.5 + 2e-9, 0.5 + 3e-9];
        let mut vals: Vec<f64> = (0..200_000)
            .map(|i| {
                if i % 50 == 0 {
                    // distinct values in the same bin as `few`
                    0.5 + (next() % 10_000) as f64 * 1e-12
                } else {
                    few[(next() % 4) as usize]
                }
            })
            .collect();
        vals.extend(std::iter::repeat_n(0.0, 100_000));
        vals.extend(std::iter::repeat_n(1.0, 50_000));
        for q in [0.3, 0.35, 0.45, 0.6] {
            let mut sq = StreamQuantile::new(q).unwrap();
            for ch in vals.chunks(1000) {
                sq.count(ch);
            }
            assert!(sq.locate());
            assert!(sq.needs_second_pass(), "q = {q}");
            let mut repeated = sq.clone();
            for ch in vals.chunks(999) {
                sq.collect(ch);
                assert!(sq.pairs_held() <= 2 * (4 + 10_000) + MERGE_SLACK);
            }
            // The same multiset given as (value, count) pairs.
            for &v in &few {
                let c = vals.iter().filter(|&&x| x.to_bits() == v.to_bits()).count();
                repeated.collect_repeated(v, c as u64);
            }
            for &v in vals
                .iter()
                .filter(|&&x| x > 0.0 && x < 1.0 && !few.contains(&x))
            {
                repeated.collect_repeated(v, 1);
            }
            repeated.collect_repeated(0.5, 0); // no occurrence: nothing held
            let mut v2 = vals.clone();
            let want = quantile_in_place(&mut v2, q);
            assert_eq!(
                sq.finish().map(f64::to_bits),
                Some(want.to_bits()),
                "q = {q}"
            );
            assert_eq!(repeated.finish().map(f64::to_bits), Some(want.to_bits()));
            assert!(sq.pairs_held() <= 4 + 10_000);
        }
        // A value missing from the second pass is noticed (the data changed).
        let mut sq = StreamQuantile::new(0.45).unwrap();
        sq.count(&vals);
        sq.locate();
        sq.collect(&vals[1..]);
        assert_eq!(sq.finish(), None);
    }

    #[test]
    fn stream_quantile_equals_sorting() {
        let mut s = 11u64;
        let vals: Vec<f64> = (0..10_001)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                ((s >> 11) as f64 / (1u64 << 53) as f64).powi(3)
            })
            .collect();
        let mut vals = vals;
        // mostly black and some saturated pixels, as in preprocessed images
        vals.extend(std::iter::repeat_n(0.0, 30_000));
        vals.extend(std::iter::repeat_n(1.0, 3_000));
        for q in [0.0, 0.25, 0.5, 0.75, 0.8, 0.97, 0.99, 1.0] {
            let mut sq = StreamQuantile::new(q).unwrap();
            for ch in vals.chunks(777) {
                sq.count(ch);
            }
            assert!(sq.locate());
            assert_eq!(sq.needs_second_pass(), q > 0.7 && q < 0.97, "q = {q}");
            for ch in vals.chunks(777) {
                sq.collect(ch);
            }
            let mut v2 = vals.clone();
            assert_eq!(sq.finish().unwrap(), quantile_in_place(&mut v2, q));
        }
    }
}
