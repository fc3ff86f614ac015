//! Profiling driver: learns kernels on synthetic MNIST-like images.
//! `cargo run --release --example profile_learner [IMAGES.f64 [B]]`
//!
//! IMAGES.f64: preprocessed 28x28 f64 images (little endian); B: the brightness
//! threshold they were preprocessed with (default 0).
use snnconv::kernels::{KernelLearner, KernelParams};

fn main() {
    let (h, w) = (28, 28);
    let mut s = 1u64;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let images: Vec<Vec<f64>> = match std::fs::read(std::env::args().nth(1).unwrap_or_default()) {
        // A file of preprocessed 28x28 f64 images (little endian), if given.
        Ok(bytes) => bytes
            .chunks(8 * h * w)
            .map(|c| {
                c.chunks(8)
                    .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                    .collect()
            })
            .collect(),
        Err(_) => (0..2000)
            .map(|_| {
                let (cy, cx) = (8.0 + 12.0 * next(), 8.0 + 12.0 * next());
                (0..h * w)
                    .map(|i| {
                        let (y, x) = ((i / w) as f64, (i % w) as f64);
                        let d = ((y - cy).powi(2) + (x - cx).powi(2)).sqrt();
                        if (d - 6.0).abs() < 1.5 {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect(),
    };
    let n_images = images.len() as f64;
    let params = KernelParams {
        kernel_size: 9,
        n_kernels: 28,
        stride: 2,
        w_min: -0.3,
        w_max: 1.0,
        learning_rate: 3.0 / n_images,
        brightness_threshold: std::env::args().nth(2).map_or(0.0, |b| b.parse().unwrap()),
    };
    let mut kl = KernelLearner::new(params, 0).unwrap();
    let t = std::time::Instant::now();
    let mut tot = [0u32; 3];
    for img in &images {
        let st = kl.learn_image(img, (h, w)).unwrap();
        tot[0] += st.forced;
        tot[1] += st.spontaneous;
        tot[2] += st.picks;
    }
    println!(
        "{:.1} us/image {:?}",
        t.elapsed().as_secs_f64() * 1e6 / n_images,
        tot
    );
}
