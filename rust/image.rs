//! Image preprocessing of SPEC §1: per-image saturation scaling and set-wide
//! brightness quantiles.
//!
//! Quantiles use the "inverted CDF" definition (numpy's `method="inverted_cdf"`):
//! the result is always an actual pixel value, which is what "the value at the
//! 97th percentile" means for the saturation rule.

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
/// image.
pub fn saturate_in_place(g: &mut [f64], saturation_quantile: f64, scratch: &mut Vec<f64>) {
    if g.is_empty() {
        return;
    }
    scratch.clear();
    scratch.extend_from_slice(g);
    let mut reference = quantile_in_place(scratch, 1.0 - saturation_quantile);
    if reference <= 0.0 {
        reference = g
            .iter()
            .copied()
            .filter(|&v| v > 0.0)
            .fold(f64::INFINITY, f64::min);
        if !reference.is_finite() {
            return; // all zero
        }
    }
    for v in g.iter_mut() {
        *v = (*v / reference).min(1.0);
    }
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
/// the bin that holds the wanted rank and selects among them.
#[derive(Debug, Clone)]
pub struct StreamQuantile {
    q: f64,
    counts: Vec<u64>,
    target: Option<(usize, usize)>,
    kept: Vec<f64>,
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
        })
    }

    /// First pass: count values.
    pub fn count(&mut self, values: &[f64]) {
        for &v in values {
            self.counts[bin_of(v)] += 1;
        }
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
            self.kept
                .extend(values.iter().copied().filter(|&v| bin_of(v) == b));
        }
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
        if self.kept.len() as u64 != self.counts[b] {
            return None;
        }
        let (_, v, _) = self
            .kept
            .select_nth_unstable_by(rank, |a, b| a.total_cmp(b));
        Some(*v)
    }
}

#[cfg(test)]
mod stream_tests {
    use super::*;

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
