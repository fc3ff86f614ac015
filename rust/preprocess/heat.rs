//! Difference heat map: |I_t − I_{t−1}| accumulated with exponential decay.
//!
//! With D_k the per-pixel absolute difference of frame pair k and λ ∈ [0, 1) the
//! decay, the state after t pairs is the decay-weighted mean
//!
//!   H_t = Σ_{k=1..t} λ^{t−k} D_k / Σ_{k=1..t} λ^{t−k}.
//!
//! It is kept as S_t = λ S_{t−1} + D_t and W_t = λ W_{t−1} + 1, H_t = S_t / W_t.
//! Dividing by W_t (rather than scaling D_t by 1 − λ) removes the start-up bias:
//! the first heat map is exactly |I_1 − I_0|, and a steady difference d gives d at
//! every step. λ = 0 is the plain frame difference.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Rows handed to one rayon task: big enough to amortise scheduling.
const ROWS_PER_TASK: usize = 64;

/// Running heat-map state of one clip (frame size fixed at creation).
#[derive(Debug, Clone)]
pub struct HeatMap {
    height: usize,
    width: usize,
    decay: f32,
    sum: Vec<f32>,
    weight: f64,
    pairs: u64,
}

impl HeatMap {
    pub fn new(height: usize, width: usize, decay: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&decay) {
            return Err(Error::param(
                "decay",
                format!("must lie in [0, 1), got {decay}"),
            ));
        }
        if height == 0 || width == 0 {
            return Err(Error::param(
                "frame_size",
                format!("must be at least 1x1, got {height}x{width}"),
            ));
        }
        Ok(Self {
            height,
            width,
            decay: decay as f32,
            sum: vec![0.0; height * width],
            weight: 0.0,
            pairs: 0,
        })
    }

    pub fn shape(&self) -> (usize, usize) {
        (self.height, self.width)
    }

    /// Number of frame pairs accumulated since creation or the last reset.
    pub fn pairs(&self) -> u64 {
        self.pairs
    }

    pub fn reset(&mut self) {
        self.sum.fill(0.0);
        self.weight = 0.0;
        self.pairs = 0;
    }

    /// Adds the pair (previous, current). Both are greyscale frames of the map's
    /// size, in any unit (the heat has the frames' unit).
    pub fn update<T: Copy + Sync>(
        &mut self,
        previous: &[T],
        current: &[T],
        to_f32: impl Fn(T) -> f32 + Sync,
    ) -> Result<()> {
        let n = self.height * self.width;
        if previous.len() != n || current.len() != n {
            return Err(Error::input(
                "frame",
                format!(
                    "expected {}x{} pixels ({n}), got {} and {}",
                    self.height,
                    self.width,
                    previous.len(),
                    current.len()
                ),
            ));
        }
        let lambda = self.decay;
        let chunk = ROWS_PER_TASK * self.width;
        self.sum
            .par_chunks_mut(chunk)
            .zip(previous.par_chunks(chunk).zip(current.par_chunks(chunk)))
            .for_each(|(s, (p, c))| {
                for ((s, &p), &c) in s.iter_mut().zip(p).zip(c) {
                    *s = lambda * *s + (to_f32(c) - to_f32(p)).abs();
                }
            });
        self.weight = f64::from(lambda) * self.weight + 1.0;
        self.pairs += 1;
        Ok(())
    }

    /// Writes H_t into `out` (all zeros before the first pair).
    pub fn heat_into(&self, out: &mut [f32]) {
        if self.weight == 0.0 {
            out.fill(0.0);
            return;
        }
        let scale = (1.0 / self.weight) as f32;
        let chunk = ROWS_PER_TASK * self.width;
        out.par_chunks_mut(chunk)
            .zip(self.sum.par_chunks(chunk))
            .for_each(|(o, s)| {
                for (o, &s) in o.iter_mut().zip(s) {
                    *o = s * scale;
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heat(h: &HeatMap) -> Vec<f32> {
        let mut out = vec![0.0; h.sum.len()];
        h.heat_into(&mut out);
        out
    }

    #[test]
    fn first_pair_is_the_plain_difference() {
        let mut h = HeatMap::new(1, 3, 0.5).unwrap();
        assert_eq!(heat(&h), vec![0.0; 3]);
        h.update(&[10u8, 20, 30], &[13, 20, 0], f32::from).unwrap();
        assert_eq!(heat(&h), vec![3.0, 0.0, 30.0]);
    }

    #[test]
    fn decayed_mean_matches_hand_values() {
        // D1 = 4, D2 = 1 with λ = 0.5: (0.5·4 + 1) / (0.5 + 1) = 2.
        let mut h = HeatMap::new(1, 1, 0.5).unwrap();
        h.update(&[0u8], &[4], f32::from).unwrap();
        h.update(&[4u8], &[5], f32::from).unwrap();
        assert_eq!(heat(&h), vec![2.0]);
        assert_eq!(h.pairs(), 2);
        h.reset();
        assert_eq!(heat(&h), vec![0.0]);
    }

    #[test]
    fn independent_of_thread_count() {
        let (hh, ww) = (300, 257);
        let a: Vec<u8> = (0..hh * ww).map(|i| (i * 7 % 251) as u8).collect();
        let b: Vec<u8> = (0..hh * ww).map(|i| (i * 13 % 239) as u8).collect();
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut h = HeatMap::new(hh, ww, 0.3).unwrap();
                h.update(&a, &b, f32::from).unwrap();
                h.update(&b, &a, f32::from).unwrap();
                heat(&h)
            })
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn rejects_bad_parameters_and_sizes() {
        assert!(HeatMap::new(2, 2, 1.0).is_err());
        assert!(HeatMap::new(2, 2, -0.1).is_err());
        assert!(HeatMap::new(0, 2, 0.1).is_err());
        let mut h = HeatMap::new(2, 2, 0.0).unwrap();
        let e = h.update(&[0u8; 3], &[0u8; 4], f32::from).unwrap_err();
        assert!(e.to_string().starts_with("frame:"));
    }
}
