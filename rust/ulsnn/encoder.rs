//! Poisson input encoding: pixel i spikes in each 1 ms step independently with
//! probability p_i = brightness_i × rate / 1000.
//!
//! Spike times are drawn event by event (geometric gaps between spikes), so the cost is
//! proportional to the number of spikes, not to pixels × steps; the trains are kept as
//! a step-indexed list (CSR) in buffers reused across presentations.
//!
//! BindsNET draws Poisson-distributed inter-spike intervals instead (mean 1000 / rate
//! steps, at most one spike per step); the per-step Bernoulli process used here has
//! the same rate and is the usual discrete-time Poisson process.

use rand_core::Rng;
use rand_pcg::Pcg64;

#[derive(Debug, Clone, Default)]
pub struct PoissonEncoder {
    /// Spikes of step t are `indices[offsets[t]..offsets[t + 1]]`.
    offsets: Vec<usize>,
    indices: Vec<u32>,
    /// (step, pixel) pairs before the counting sort.
    events: Vec<(u32, u32)>,
    /// Write positions of the counting sort.
    cursor: Vec<usize>,
}

/// Uniform in (0, 1], from 53 random bits.
#[inline]
pub fn unit_open0(rng: &mut Pcg64) -> f64 {
    1.0 - (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl PoissonEncoder {
    /// Draws the trains of `image` (brightness in [0, 1]) at `rate` Hz for brightness 1
    /// over `time` steps. `rate` must be <= 1000 (validated with the parameters).
    pub fn encode(&mut self, image: &[f64], rate: f64, time: usize, rng: &mut Pcg64) {
        self.events.clear();
        for (i, &g) in image.iter().enumerate() {
            let p = (g * rate / 1000.0).min(1.0);
            if p <= 0.0 {
                continue;
            }
            if p >= 1.0 {
                self.events.extend((0..time as u32).map(|t| (t, i as u32)));
                continue;
            }
            // Gap to the next success of a Bernoulli(p) sequence: 1 + floor(ln U / ln(1-p)).
            let log_q = (-p).ln_1p();
            let mut t: i64 = -1;
            loop {
                let gap = (unit_open0(rng).ln() / log_q).floor();
                if gap >= time as f64 {
                    break;
                }
                t += 1 + gap as i64;
                if t >= time as i64 {
                    break;
                }
                self.events.push((t as u32, i as u32));
            }
        }
        // Counting sort by step; pixels stay in increasing order within a step.
        self.offsets.clear();
        self.offsets.resize(time + 1, 0);
        for &(t, _) in &self.events {
            self.offsets[t as usize + 1] += 1;
        }
        for t in 0..time {
            self.offsets[t + 1] += self.offsets[t];
        }
        self.indices.clear();
        self.indices.resize(self.events.len(), 0);
        self.cursor.clear();
        self.cursor.extend_from_slice(&self.offsets[..time]);
        for &(t, i) in &self.events {
            let slot = &mut self.cursor[t as usize];
            self.indices[*slot] = i;
            *slot += 1;
        }
    }

    /// Input spikes of step `t`, in increasing pixel order.
    #[inline]
    pub fn spikes(&self, t: usize) -> &[u32] {
        &self.indices[self.offsets[t]..self.offsets[t + 1]]
    }

    pub fn total(&self) -> usize {
        self.indices.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{purpose, stream};

    #[test]
    fn rates_match_and_extremes_are_exact() {
        let mut e = PoissonEncoder::default();
        let img = [0.0, 0.5, 1.0, 0.25];
        let mut rng = stream(3, purpose::ULSNN_TRAIN, 0);
        let time = 20_000;
        e.encode(&img, 100.0, time, &mut rng);
        let mut counts = [0usize; 4];
        for t in 0..time {
            let s = e.spikes(t);
            assert!(s.windows(2).all(|w| w[0] < w[1]));
            for &i in s {
                counts[i as usize] += 1;
            }
        }
        assert_eq!(counts[0], 0);
        // Expected 1000, 2000, 500 spikes; 5 standard deviations of slack.
        for (i, expect) in [(1, 1000.0), (2, 2000.0), (3, 500.0)] {
            let c = counts[i] as f64;
            assert!(
                (c - expect).abs() < 5.0 * expect.sqrt(),
                "{i}: {c} vs {expect}"
            );
        }
        assert_eq!(e.total(), counts.iter().sum::<usize>());
        // Rate 1000 Hz at brightness 1: one spike every step.
        e.encode(&[1.0], 1000.0, 7, &mut rng);
        assert!((0..7).all(|t| e.spikes(t) == [0]));
    }

    #[test]
    fn same_stream_same_trains() {
        let img: Vec<f64> = (0..50).map(|i| i as f64 / 50.0).collect();
        let mut a = PoissonEncoder::default();
        let mut b = PoissonEncoder::default();
        a.encode(&img, 128.0, 100, &mut stream(1, purpose::ULSNN_TRAIN, 9));
        b.encode(&img, 128.0, 100, &mut stream(1, purpose::ULSNN_TRAIN, 9));
        assert!((0..100).all(|t| a.spikes(t) == b.spikes(t)));
    }
}
