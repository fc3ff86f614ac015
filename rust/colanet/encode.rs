//! The input side of a frame: spike counts become evenly spaced spike trains.
//!
//! An input with count n (0 ≤ n ≤ T_p) emits at local step k < T_p iff
//! ⌊(k+1)·n/T_p⌋ > ⌊k·n/T_p⌋. This is the accumulator rate code of docs/algorithms.md §3
//! started from z = 0 with increment n/T_p, in integer arithmetic so no rounding can
//! add or lose a spike. Choice: the accumulator restarts at every frame (the notes
//! carry it across objects); then a prediction depends only on its own example, not
//! on the order or chunking of a batch.

use crate::error::{Error, Result};

/// Which inputs emit at each presentation step, in CSR form; reused between frames.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    offsets: Vec<usize>,
    inputs: Vec<u32>,
    /// Steps at which a count emits, one bit per step, for every count 0..=255 and
    /// `masks_tp` steps.
    masks_tp: u32,
    masks: Vec<u64>,
    /// Emitting inputs of the frame with their step masks, in input order.
    active: Vec<(u32, u64)>,
    /// The largest input of the schedule (none if no input emits).
    max_input: Option<u32>,
}

/// Does an input of count `n` emit at local step `k` of a `t_p`-step presentation?
#[inline]
pub fn emits(n: u32, k: u32, t_p: u32) -> bool {
    (k + 1) * n / t_p > k * n / t_p
}

/// Checks that every count fits one spike per step.
pub fn check_counts(counts: &[u8], t_p: u32) -> Result<()> {
    match counts.iter().find(|&&c| u32::from(c) > t_p) {
        Some(&c) => Err(Error::input(
            "X",
            format!("spike count {c} exceeds presentation_steps = {t_p}"),
        )),
        None => Ok(()),
    }
}

impl Schedule {
    /// Rebuilds the schedule for one example's counts: one pass over the counts
    /// lists the emitting inputs with the steps they emit at (a table of bit masks per
    /// count), then each step takes them in input order. The result equals
    /// [`Schedule::fill_reference`]'s.
    pub fn fill(&mut self, counts: &[u8], t_p: u32) {
        if t_p > 64 {
            return self.fill_reference(counts, t_p);
        }
        if self.masks_tp != t_p || self.masks.is_empty() {
            self.masks_tp = t_p;
            self.masks = (0..=u32::from(u8::MAX))
                .map(|n| {
                    (0..t_p)
                        .filter(|&k| emits(n, k, t_p))
                        .fold(0, |m, k| m | 1 << k)
                })
                .collect();
        }
        self.active.clear();
        for (c, chunk) in counts.chunks(16).enumerate() {
            if chunk.iter().all(|&n| n == 0) {
                continue;
            }
            for (o, &n) in chunk.iter().enumerate() {
                if n > 0 {
                    self.active
                        .push(((16 * c + o) as u32, self.masks[usize::from(n)]));
                }
            }
        }
        // Each step writes every active input and keeps it only if it emits (no
        // branch to mispredict).
        self.inputs.clear();
        self.inputs.resize(self.active.len() * t_p as usize, 0);
        self.offsets.clear();
        self.offsets.push(0);
        let mut len = 0;
        for k in 0..t_p {
            for &(i, m) in &self.active {
                self.inputs[len] = i;
                len += ((m >> k) & 1) as usize;
            }
            self.offsets.push(len);
        }
        self.inputs.truncate(len);
        self.find_max_input();
    }

    /// Rebuilds the schedule for one example's counts, step by step (the reference
    /// implementation).
    pub fn fill_reference(&mut self, counts: &[u8], t_p: u32) {
        self.offsets.clear();
        self.inputs.clear();
        self.offsets.push(0);
        for k in 0..t_p {
            for (i, &n) in counts.iter().enumerate() {
                if n > 0 && emits(u32::from(n), k, t_p) {
                    self.inputs.push(i as u32);
                }
            }
            self.offsets.push(self.inputs.len());
        }
        self.find_max_input();
    }

    /// Each step lists its inputs in rising order, so the largest input is the largest
    /// of the steps' last ones.
    fn find_max_input(&mut self) {
        self.max_input = (0..self.steps() as u32)
            .filter_map(|k| self.at(k).last().copied())
            .max();
    }

    /// The largest input of the schedule, if any emits (the kernels check it against
    /// the weight rows once per frame instead of scanning every entry).
    pub fn max_input(&self) -> Option<u32> {
        self.max_input
    }

    /// The whole schedule: inputs of step k are `inputs[offsets[k]..offsets[k + 1]]`.
    pub fn csr(&self) -> (&[usize], &[u32]) {
        (&self.offsets, &self.inputs)
    }

    /// Asks the CPU to fetch the schedule into its cache ahead of use (a hint; no
    /// effect on results).
    pub fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            for line in self.inputs.chunks(16) {
                // SAFETY: a prefetch hint of an address inside `inputs`.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
            }
            for line in self.offsets.chunks(8) {
                // SAFETY: as above, inside `offsets`.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
            }
        }
    }

    /// Number of presentation steps.
    pub fn steps(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Inputs emitting at local step k (empty outside the presentation).
    #[inline]
    pub fn at(&self, k: u32) -> &[u32] {
        let k = k as usize;
        if k + 1 >= self.offsets.len() {
            return &[];
        }
        &self.inputs[self.offsets[k]..self.offsets[k + 1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_exact_and_evenly_spaced() {
        for n in 0..=10u32 {
            let steps: Vec<u32> = (0..10).filter(|&k| emits(n, k, 10)).collect();
            assert_eq!(steps.len() as u32, n);
        }
        let five: Vec<u32> = (0..10).filter(|&k| emits(5, k, 10)).collect();
        assert_eq!(five, vec![1, 3, 5, 7, 9]);
        let ten: Vec<u32> = (0..10).filter(|&k| emits(10, k, 10)).collect();
        assert_eq!(ten, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn schedule_lists_inputs_per_step() {
        let mut s = Schedule::default();
        s.fill(&[0, 10, 5, 1], 10);
        assert_eq!(s.at(0), &[1]);
        assert_eq!(s.at(1), &[1, 2]);
        assert_eq!(s.at(9), &[1, 2, 3]);
        assert!(s.at(10).is_empty());
        let total: usize = (0..10).map(|k| s.at(k).len()).sum();
        assert_eq!(total, 16);
        assert!(check_counts(&[11], 10).is_err());
    }

    #[test]
    fn fast_fill_equals_the_reference_fill() {
        let mut s = 3u64;
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as u32
        };
        let (mut a, mut b) = (Schedule::default(), Schedule::default());
        for t_p in [1, 3, 10, 10, 17, 10] {
            for len in [0, 1, 7, 200] {
                let counts: Vec<u8> = (0..len)
                    .map(|_| {
                        if next() % 3 == 0 {
                            0
                        } else {
                            (next() % (t_p + 1)) as u8
                        }
                    })
                    .collect();
                a.fill(&counts, t_p);
                b.fill_reference(&counts, t_p);
                assert_eq!((&a.offsets, &a.inputs), (&b.offsets, &b.inputs));
                assert_eq!(a.max_input(), a.inputs.iter().copied().max());
                assert_eq!(b.max_input(), a.max_input());
                for k in 0..t_p + 2 {
                    assert_eq!(a.at(k), b.at(k));
                }
            }
        }
    }
}
