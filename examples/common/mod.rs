//! What the profiling drivers share: reading little-endian f64 files, a seeded
//! stand-in for MNIST when no file is given, and the MNIST front-end's parameters.
// Each driver compiles this module on its own and uses only part of it.
#![allow(dead_code)]

/// A little-endian f64 file as a vector, or None when it cannot be read.
pub fn read_f64(path: &str) -> Option<Vec<f64>> {
    let bytes = std::fs::read(path).ok()?;
    Some(
        bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect(),
    )
}

/// A 64-bit LCG giving uniforms in [0, 1): enough for synthetic profiling data.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` images of h × w pixels, one bright ring (radius 6, width 3) at a random place
/// in each, flattened image after image.
pub fn rings(n: usize, h: usize, w: usize, rng: &mut Lcg) -> Vec<f64> {
    (0..n)
        .flat_map(|_| {
            let (cy, cx) = (8.0 + 12.0 * rng.next_f64(), 8.0 + 12.0 * rng.next_f64());
            (0..h * w).map(move |i| {
                let (y, x) = ((i / w) as f64, (i % w) as f64);
                let d = ((y - cy).powi(2) + (x - cx).powi(2)).sqrt();
                if (d - 6.0).abs() < 1.5 {
                    1.0
                } else {
                    0.0
                }
            })
        })
        .collect()
}

/// The front-end of the MNIST experiments (docs/algorithms.md §2): 9×9 kernels at
/// stride 2, 2×2 sum pooling, τ = 10, 15-step frames with 10 input steps.
pub fn front_end_params() -> snnconv::snn::ConvSnnParams {
    use snnconv::snn::{ConvSnnParams, Encoding, Reset};
    ConvSnnParams {
        stride: 2,
        pool: 2,
        tau: Some(10.0),
        threshold: 1.0,
        frame_steps: 15,
        active_steps: 10,
        encoding: Encoding::Accumulator { reset_carry: false },
        max_rate: 1.0,
        reset: Reset::Subtract,
    }
}
