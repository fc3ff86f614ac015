//! Profiling driver: learns kernels on synthetic MNIST-like images.
//! `cargo run --release --example profile_learner [IMAGES.f64 [B]]`
//!
//! IMAGES.f64: preprocessed 28x28 f64 images (little endian); B: the brightness
//! threshold they were preprocessed with (default 0).
use snnconv::kernels::{KernelLearner, KernelParams};

mod common;
use common::{read_f64, rings, Lcg};

fn main() {
    let (h, w) = (28, 28);
    // A file of preprocessed 28x28 f64 images (little endian), if given; else rings.
    let images: Vec<Vec<f64>> = read_f64(&std::env::args().nth(1).unwrap_or_default())
        .unwrap_or_else(|| rings(2000, h, w, &mut Lcg(1)))
        .chunks(h * w)
        .map(<[f64]>::to_vec)
        .collect();
    let n_images = images.len() as f64;
    let params = KernelParams {
        kernel_size: 9,
        n_kernels: 28,
        stride: 2,
        w_min: -0.3,
        w_max: 1.0,
        learning_rate: 3.0 / n_images,
        brightness_threshold: std::env::args().nth(2).map_or(0.0, |b| b.parse().unwrap()),
        channels: 1,
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
