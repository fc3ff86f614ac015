//! Input encoders of docs/algorithms.md §2: one input node per pixel, spiking during the active
//! steps of a frame.
//!
//! Two codes behind one interface ([`Encoding`] + [`InputEncoder`]):
//! - the deterministic accumulator z ← z + g·f_max, spike and z ← z − 1 when z ≥ 1;
//! - a seeded Bernoulli ("Poisson") code: spike with probability g·f_max per step.
//!
//! The accumulator runs in exact integer arithmetic on a fixed-point grid of
//! [`QUANTUM`] units per spike. With floats, g = 0.3 summed ten times gives
//! 2.9999…, and the spike owed at step 10 would be lost; on the grid, uint8
//! brightness v/255 and every one-decimal value are exact, the spike count of a
//! frame is exactly ⌊(z₀ + T_p·level) / QUANTUM⌋, and the carry after a frame is
//! exactly (z₀ + T_p·level) mod QUANTUM, which lets a batch compute every image's
//! starting carry up front and then simulate the images in parallel.

use rand_core::Rng;
use rand_pcg::Pcg64;

use crate::rng;

/// Accumulator units per spike: 255·2²³. Multiples of 1/255, of 1/10 and of 2⁻²³
/// are exact; any other brightness is rounded by at most 2.4·10⁻¹⁰.
pub const QUANTUM: u64 = 255 << 23;

/// The per-step increment of a pixel of brightness `g` (rate `g·max_rate` ≤ 1),
/// rounded half up onto the grid.
#[inline]
pub fn level(g: f64, max_rate: f64) -> u64 {
    // `as u64` truncates toward zero and saturates below at 0, which equals floor
    // followed by the cast for every input (negative values give 0 either way).
    ((g * max_rate) * QUANTUM as f64 + 0.5) as u64
}

/// Which input code to use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Encoding {
    /// Deterministic accumulator; with `reset_carry` every frame starts from z = 0,
    /// otherwise the carry persists from one frame to the next.
    Accumulator { reset_carry: bool },
    /// Bernoulli spikes, one independent stream per image:
    /// `rng::stream(seed, purpose::ENCODER, image_index)`.
    Bernoulli { seed: u64 },
}

impl Encoding {
    /// Whether frames depend on the previous frame (through the carry).
    pub fn carries(&self) -> bool {
        matches!(self, Encoding::Accumulator { reset_carry: false })
    }
}

/// Advances a carry over one frame of `active_steps` steps in closed form (the same
/// result as stepping the accumulator, which the tests check).
pub fn advance_carry(carry: &mut [u64], g: &[f64], active_steps: usize, max_rate: f64) {
    for (z, &v) in carry.iter_mut().zip(g) {
        *z = (*z + active_steps as u64 * level(v, max_rate)) % QUANTUM;
    }
}

/// Encoder state for one frame at a time; buffers are sized once per thread, so a
/// frame allocates nothing.
pub struct InputEncoder {
    encoding: Encoding,
    max_rate: f64,
    /// Pixels that can spike (non-zero rate), in raster order.
    active: Vec<u32>,
    /// Accumulator increment per active pixel.
    levels: Vec<u64>,
    /// Accumulator state per active pixel.
    carry: Vec<u64>,
    /// Bernoulli probability per active pixel.
    prob: Vec<f64>,
    rng: Pcg64,
}

impl InputEncoder {
    pub fn new(encoding: Encoding, max_rate: f64, n_pixels: usize) -> Self {
        Self {
            encoding,
            max_rate,
            active: Vec::with_capacity(n_pixels),
            levels: Vec::with_capacity(n_pixels),
            carry: Vec::with_capacity(n_pixels),
            prob: Vec::with_capacity(n_pixels),
            rng: rng::stream(0, rng::purpose::ENCODER, 0),
        }
    }

    /// Loads one image `g` (brightness in [0, 1]). `carry` is the accumulator state
    /// per pixel at the start of the frame (ignored by the Bernoulli code, which
    /// uses stream `image_index` instead).
    pub fn begin_frame(&mut self, g: &[f64], carry: &[u64], image_index: u64) {
        self.active.clear();
        self.levels.clear();
        self.carry.clear();
        self.prob.clear();
        match self.encoding {
            Encoding::Accumulator { reset_carry } => {
                for (i, &v) in g.iter().enumerate() {
                    let lv = level(v, self.max_rate);
                    if lv > 0 {
                        self.active.push(i as u32);
                        self.levels.push(lv);
                        self.carry.push(if reset_carry { 0 } else { carry[i] });
                    }
                }
            }
            Encoding::Bernoulli { seed } => {
                for (i, &v) in g.iter().enumerate() {
                    let p = v * self.max_rate;
                    if p > 0.0 {
                        self.active.push(i as u32);
                        self.prob.push(p);
                    }
                }
                self.rng = rng::stream(seed, rng::purpose::ENCODER, image_index);
            }
        }
    }

    /// One active step: replaces the contents of `spikes` with the spiking pixels
    /// in raster order. `spikes` needs capacity for every pixel, so pushing never
    /// allocates (see [`InputEncoder::spike_buffer`]).
    #[inline(always)]
    pub fn step(&mut self, spikes: &mut Vec<u32>) {
        spikes.clear();
        match self.encoding {
            Encoding::Accumulator { .. } => {
                for ((&px, z), &lv) in self.active.iter().zip(&mut self.carry).zip(&self.levels) {
                    *z += lv;
                    if *z >= QUANTUM {
                        *z -= QUANTUM;
                        spikes.push(px);
                    }
                }
            }
            Encoding::Bernoulli { .. } => {
                const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
                for (&px, &p) in self.active.iter().zip(&self.prob) {
                    let u = (self.rng.next_u64() >> 11) as f64 * SCALE;
                    if u < p {
                        spikes.push(px);
                    }
                }
            }
        }
    }

    /// A buffer for [`InputEncoder::step`] that can hold a spike from every pixel.
    pub fn spike_buffer(&self) -> Vec<u32> {
        Vec::with_capacity(self.active.capacity())
    }

    /// Writes the accumulator state back into the per-pixel `carry` (pixels that
    /// cannot spike keep theirs). No effect for the Bernoulli code.
    pub fn end_frame(&self, carry: &mut [u64]) {
        if let Encoding::Accumulator { reset_carry } = self.encoding {
            if reset_carry {
                carry.fill(0);
            }
            for (&px, &z) in self.active.iter().zip(&self.carry) {
                carry[px as usize] = z;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_spikes(enc: &mut InputEncoder, n_px: usize, steps: usize) -> Vec<u32> {
        let mut counts = vec![0u32; n_px];
        let mut buf = enc.spike_buffer();
        for _ in 0..steps {
            enc.step(&mut buf);
            for &px in &buf {
                counts[px as usize] += 1;
            }
        }
        counts
    }

    #[test]
    fn accumulator_counts_every_uint8_level() {
        let g: Vec<f64> = (0..=255).map(|v| f64::from(v) / 255.0).collect();
        let mut enc = InputEncoder::new(Encoding::Accumulator { reset_carry: true }, 1.0, 256);
        enc.begin_frame(&g, &[0; 256], 0);
        let counts = count_spikes(&mut enc, 256, 10);
        for (v, &c) in counts.iter().enumerate() {
            // Exact: floor(10 v / 255) with a zero carry.
            assert_eq!(c as usize, 10 * v / 255, "v = {v}");
        }
        assert_eq!(counts[255], 10);
        assert_eq!(counts[0], 0);
    }

    #[test]
    fn decimal_brightness_does_not_lose_the_last_spike() {
        let g = [0.1, 0.3, 0.7, 0.9, 0.5];
        let mut enc = InputEncoder::new(Encoding::Accumulator { reset_carry: true }, 1.0, 5);
        enc.begin_frame(&g, &[0; 5], 0);
        assert_eq!(count_spikes(&mut enc, 5, 10), vec![1, 3, 7, 9, 5]);
    }

    #[test]
    fn carry_persists_and_matches_closed_form() {
        let g: Vec<f64> = (0..=255).map(|v| f64::from(v) / 255.0).collect();
        let mut enc = InputEncoder::new(Encoding::Accumulator { reset_carry: false }, 1.0, 256);
        let mut carry = vec![0u64; 256];
        let mut closed = vec![0u64; 256];
        let mut totals = vec![0u32; 256];
        for frame in 0..7 {
            enc.begin_frame(&g, &carry, frame);
            let c = count_spikes(&mut enc, 256, 10);
            for v in 0..256 {
                let f = 10 * v / 255;
                assert!(c[v] as usize == f || c[v] as usize == f + 1, "v={v}");
                totals[v] += c[v];
            }
            enc.end_frame(&mut carry);
            advance_carry(&mut closed, &g, 10, 1.0);
            assert_eq!(carry, closed);
        }
        // Over 7 frames the carry makes the total exact: floor(70 v / 255).
        for (v, &t) in totals.iter().enumerate() {
            assert_eq!(t as usize, 70 * v / 255);
        }
    }

    #[test]
    fn bernoulli_is_seeded_and_has_the_right_rate() {
        let g = vec![0.3; 1000];
        let enc_counts = |seed, index| {
            let mut enc = InputEncoder::new(Encoding::Bernoulli { seed }, 0.5, 1000);
            enc.begin_frame(&g, &[], index);
            count_spikes(&mut enc, 1000, 10)
        };
        let a = enc_counts(5, 0);
        assert_eq!(a, enc_counts(5, 0));
        assert_ne!(a, enc_counts(5, 1));
        assert_ne!(a, enc_counts(6, 0));
        let total: u32 = a.iter().sum();
        // Binomial(10 000, 0.15): mean 1500, sd 35.7.
        assert!((1350..1650).contains(&total), "{total}");
    }
}
