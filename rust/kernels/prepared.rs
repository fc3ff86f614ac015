//! An image stack held for learning, preprocessed (docs/algorithms.md §1) image by image on
//! demand.
//!
//! uint8 stacks stay one byte per pixel: each image keeps only its saturation
//! reference level, and is expanded through a 256-entry lookup table when the
//! learner reads it — exactly the values `brightness_u8` gives, without an f64 copy
//! of the whole stack. Float stacks (brightness already in [0, 1]) are saturated
//! once and kept as values.

use rayon::prelude::*;

#[cfg(test)]
use crate::kernels::brightness::brightness_u8;
use crate::kernels::brightness::{
    level_value, levels_reference, saturate_in_place, LevelCounts, StreamQuantile,
};

/// A stack of `n` planes of `h × w` pixels, read as `n / channels` images of
/// `channels` consecutive planes each (docs/algorithms.md §1.5: each plane, i.e. each
/// image and channel, is normalised on its own).
#[derive(Debug, Clone)]
pub struct PreparedStack {
    n: usize,
    channels: usize,
    h: usize,
    w: usize,
    pixels: Pixels,
}

#[derive(Debug, Clone)]
enum Pixels {
    Levels {
        levels: Vec<u8>,
        /// Row of `tables` of each image: 0 plain brightness, 1 + r saturation
        /// reference level r.
        table_of: Vec<u16>,
        /// 257 lookup tables of 256 values, filled for the rows in use.
        tables: Vec<f64>,
        /// Pixel counts per (reference, level), when counted while building: the
        /// second pass of the brightness threshold then needs no image.
        counts: Option<Box<LevelCounts>>,
    },
    Values(Vec<f64>),
}

impl PreparedStack {
    /// uint8 levels (brightness = level / 255), `n × h × w`, with the saturation
    /// rule when `saturation_quantile` is set. With `counts`, also counts every
    /// pixel per (reference, level) — the first pass of the brightness threshold.
    /// Runs on the current rayon pool.
    pub fn from_levels(
        levels: Vec<u8>,
        (n, h, w): (usize, usize, usize),
        saturation_quantile: Option<f64>,
        counts: Option<&mut LevelCounts>,
    ) -> Self {
        assert_eq!(levels.len(), n * h * w);
        let size = (h * w).max(1);
        let mut hists = vec![[0u32; 256]; if counts.is_some() { n } else { 0 }];
        let mut references = vec![None; n];
        let images = levels.par_chunks(size).zip(references.par_iter_mut());
        if hists.is_empty() {
            images.for_each(|(img, r)| *r = reference_of(img, saturation_quantile, None));
        } else {
            images
                .zip(hists.par_iter_mut())
                .for_each(|((img, r), hist)| {
                    *r = reference_of(img, saturation_quantile, Some(hist));
                });
        }
        let kept_counts = counts.map(|counts| {
            let mut own = LevelCounts::default();
            for (hist, &r) in hists.iter().zip(&references) {
                own.add(hist, r);
            }
            counts.absorb(&own);
            Box::new(own)
        });
        let row = |r: Option<u8>| r.map_or(0, |r| 1 + u16::from(r));
        let table_of: Vec<u16> = references.iter().map(|&r| row(r)).collect();
        let mut tables = vec![0.0; 257 * 256];
        let mut used = [false; 257];
        for &r in &references {
            let t = usize::from(row(r));
            if !used[t] {
                used[t] = true;
                for (x, v) in tables[t * 256..(t + 1) * 256].iter_mut().enumerate() {
                    *v = level_value(x as u8, r);
                }
            }
        }
        Self {
            n,
            channels: 1,
            h,
            w,
            pixels: Pixels::Levels {
                levels,
                table_of,
                tables,
                counts: kept_counts,
            },
        }
    }

    /// Brightness values in [0, 1] (checked by the caller), `n × h × w`, saturated
    /// here when `saturation_quantile` is set. Runs on the current rayon pool.
    pub fn from_values(
        mut values: Vec<f64>,
        (n, h, w): (usize, usize, usize),
        saturation_quantile: Option<f64>,
    ) -> Self {
        assert_eq!(values.len(), n * h * w);
        if let (Some(sq), true) = (saturation_quantile, h * w > 0) {
            values
                .par_chunks_mut(h * w)
                .for_each_init(Vec::new, |scratch, img| saturate_in_place(img, sq, scratch));
        }
        Self {
            n,
            channels: 1,
            h,
            w,
            pixels: Pixels::Values(values),
        }
    }

    /// Reads the planes as images of `channels` consecutive planes (which must
    /// divide the number of planes).
    pub fn with_channels(mut self, channels: usize) -> Self {
        assert!(channels >= 1 && self.n % channels == 0);
        self.channels = channels;
        self
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.n / self.channels
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// (images, h, w).
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.len(), self.h, self.w)
    }

    /// Planes per image.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Writes preprocessed image `i` (its planes one after the other, each
    /// row-major, `channels × h × w` values) into `out`.
    #[inline]
    pub fn image(&self, i: usize, out: &mut [f64]) {
        let size = self.h * self.w;
        assert!(out.len() == self.channels * size);
        if size == 0 {
            return;
        }
        for (c, o) in out.chunks_exact_mut(size).enumerate() {
            self.plane(i * self.channels + c, o);
        }
    }

    /// Writes preprocessed plane `i` (row-major, `h × w` values) into `out`.
    #[inline]
    fn plane(&self, i: usize, out: &mut [f64]) {
        let size = self.h * self.w;
        assert!(i < self.n && out.len() == size);
        match &self.pixels {
            Pixels::Levels {
                levels,
                table_of,
                tables,
                ..
            } => {
                let t = usize::from(table_of[i]);
                let table: &[f64; 256] = tables[t * 256..(t + 1) * 256].try_into().unwrap();
                for (o, &x) in out.iter_mut().zip(&levels[i * size..(i + 1) * size]) {
                    *o = table[usize::from(x)];
                }
            }
            Pixels::Values(values) => out.copy_from_slice(&values[i * size..(i + 1) * size]),
        }
    }

    /// Feeds every preprocessed pixel to `f`, plane by plane, in order.
    pub fn for_each_image(&self, mut f: impl FnMut(&[f64])) {
        let mut buf = vec![0.0; self.h * self.w];
        for i in 0..self.n {
            self.plane(i, &mut buf);
            f(&buf);
        }
    }

    /// First pass of a quantile over every preprocessed pixel.
    pub fn count_into(&self, q: &mut StreamQuantile) {
        self.for_each_image(|img| q.count(img));
    }

    /// Second pass of a quantile over every preprocessed pixel.
    pub fn collect_into(&self, q: &mut StreamQuantile) {
        if let Pixels::Levels {
            counts: Some(counts),
            ..
        } = &self.pixels
        {
            counts.collect_into(q);
        } else if q.needs_second_pass() {
            self.for_each_image(|img| q.collect(img));
        }
    }
}

/// The saturation reference of one uint8 image (see `brightness_u8`), with its
/// histogram when wanted, without writing its values.
fn reference_of(img: &[u8], sq: Option<f64>, hist: Option<&mut [u32; 256]>) -> Option<u8> {
    match (sq, hist) {
        (None, None) => None,
        (sq, Some(hist)) => levels_reference(img, sq, hist),
        (sq, None) => levels_reference(img, sq, &mut [0; 256]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_equal_brightness_u8_and_counts_equal_direct_counting() {
        let mut s = 7u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as usize
        };
        let (n, h, w) = (30, 7, 9);
        let levels: Vec<u8> = (0..n * h * w)
            .map(|i| {
                if next() % 10 < (i / (h * w)) % 10 {
                    0
                } else {
                    (next() % 256) as u8
                }
            })
            .collect();
        let mut second_passes = 0;
        for sq in [None, Some(0.03), Some(0.5)] {
            let mut counts = LevelCounts::default();
            let stack =
                PreparedStack::from_levels(levels.clone(), (n, h, w), sq, Some(&mut counts));
            let mut direct = StreamQuantile::new(0.75).unwrap();
            let mut by_level = StreamQuantile::new(0.75).unwrap();
            let mut got = vec![0.0; h * w];
            let mut want = vec![0.0; h * w];
            for i in 0..n {
                stack.image(i, &mut got);
                brightness_u8(&levels[i * h * w..(i + 1) * h * w], sq, &mut want, None);
                assert_eq!(
                    got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                );
                direct.count(&want);
            }
            counts.count_into(&mut by_level);
            let (mut a, mut b) = (direct.clone(), by_level.clone());
            assert!(a.locate() && b.locate());
            // The second pass from the kept level counts equals the pass over
            // every expanded image.
            let mut expanded = a.clone();
            for i in 0..n {
                stack.image(i, &mut got);
                expanded.collect(&got);
            }
            second_passes += usize::from(a.needs_second_pass());
            stack.collect_into(&mut a);
            stack.collect_into(&mut b);
            let threshold = expanded.finish();
            assert!(threshold.is_some());
            assert_eq!(a.finish(), threshold);
            assert_eq!(b.finish(), threshold);
            let floats: Vec<f64> = levels.iter().map(|&x| f64::from(x) / 255.0).collect();
            let values = PreparedStack::from_values(floats, (n, h, w), sq);
            for i in 0..n {
                stack.image(i, &mut got);
                values.image(i, &mut want);
                assert_eq!(got, want);
            }
        }
        assert!(second_passes > 0, "the cases must need a second pass");
    }
}
