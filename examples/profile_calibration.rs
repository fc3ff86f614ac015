//! Profiling driver: calibrates α on MNIST-like images with the counts-only sample
//! simulation and, for comparison, with the full front-end run in every bisection
//! step; checks that both give the same calibration.
//! `cargo run --release --example profile_calibration [IMAGES.bin KERNELS.bin [fast|reference|both [ROUNDS]]]`
//! (little-endian f64 files: preprocessed 28×28 images, and (n, 9, 9) kernels).
use std::time::Instant;

mod common;
use common::{front_end_params, read_f64, rings, Lcg};

use snnconv::snn::{calibrate, CalibrationOptions, ConvSnn};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (h, w, k) = (28, 28, 9);
    let mut rng = Lcg(1);
    let images = args
        .get(1)
        .and_then(|p| read_f64(p))
        .unwrap_or_else(|| rings(1000, h, w, &mut rng));
    let kernels = args.get(2).and_then(|p| read_f64(p)).unwrap_or_else(|| {
        (0..12 * k * k)
            .map(|_| rng.next_f64() * 1.3 - 0.3)
            .collect()
    });
    let which = args.get(3).map_or("both", String::as_str);
    let rounds: usize = args.get(4).and_then(|r| r.parse().ok()).unwrap_or(3);
    let nk = kernels.len() / (k * k);
    let params = front_end_params();
    let net = ConvSnn::new(params, &kernels, k, &vec![1.0; nk], (h, w)).unwrap();
    let zero = vec![0u64; h * w];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        for per_kernel in [false, true] {
            let o = CalibrationOptions::new(1.0, per_kernel);
            // Alternating rounds, best of each: the machine's load drifts.
            let (mut t_fast, mut t_ref) = (f64::INFINITY, f64::INFINITY);
            for _ in 0..rounds {
                let mut fast = None;
                if which != "reference" {
                    let t = Instant::now();
                    fast = Some(net.calibrate(&images, &o).unwrap());
                    t_fast = t_fast.min(t.elapsed().as_secs_f64());
                }
                if which != "fast" {
                    let mut reference = net.clone();
                    let t = Instant::now();
                    let cal = calibrate(nk, &o, |s| {
                        reference.conv.set_scales(s)?;
                        Ok(reference.kernel_rates(&images, &zero))
                    })
                    .unwrap();
                    t_ref = t_ref.min(t.elapsed().as_secs_f64());
                    if let Some(f) = &fast {
                        assert_eq!(f, &cal, "the fast calibration differs");
                    }
                }
                if let Some(f) = &fast {
                    println!(
                        "per_kernel={per_kernel}: {} passes, α[0] = {}",
                        f.evaluations, f.scales[0]
                    );
                }
            }
            println!(
                "per_kernel={per_kernel}: fast {t_fast:.3} s, reference {t_ref:.3} s, \
                 ratio {:.1} (identical results)",
                t_ref / t_fast
            );
        }
    });
}
