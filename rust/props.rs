//! A bounded property test of the core's allocation and validation paths, on
//! stable Rust (cargo-fuzz needs nightly): seeded random, often hostile, parameters
//! and shapes are fed to every constructor and learning step. Each call must return
//! `Ok` with finite state or a named `Err` — a panic (capacity overflow, index out of
//! bounds, ...) fails the test, and sizes above the budget must be refused before
//! anything is allocated. `SNNCONV_PROPS_CASES` sets the cases per entry point
//! (default 400). See docs/robustness.md.

use rand_core::Rng;
use rand_pcg::Pcg64;

use crate::colanet::digital::DigitalCopy;
use crate::colanet::ensemble::Ensemble;
use crate::colanet::Params;
use crate::error::Error;
use crate::kernels::{KernelLearner, KernelParams};
use crate::rng::{below, stream};
use crate::snn::{ConvSnn, ConvSnnParams, Encoding, Reset};
use crate::ulsnn::{Ulsnn, UlsnnParams};

fn cases() -> u64 {
    std::env::var("SNNCONV_PROPS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

/// Mostly a small valid size in `lo..=hi`, sometimes 0 or something huge.
fn size(r: &mut Pcg64, lo: usize, hi: usize) -> usize {
    match below(r, 10) {
        0 => 0,
        1 => [1 << 20, 1 << 31, 1 << 40, usize::MAX / 3, usize::MAX][below(r, 5) as usize],
        _ => lo + below(r, (hi - lo + 1) as u64) as usize,
    }
}

/// Mostly a float in `lo..hi`, sometimes extreme or non-finite.
fn real(r: &mut Pcg64, lo: f64, hi: f64) -> f64 {
    match below(r, 10) {
        0 => [0.0, -0.0, 1e-320, 1e-300, 1e150, -1e150, 1e308, -1e308][below(r, 8) as usize],
        1 => [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][below(r, 3) as usize],
        _ => lo + (hi - lo) * (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64,
    }
}

fn image(r: &mut Pcg64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
        .collect()
}

/// A refused size must be refused as too large or as an invalid parameter/input.
fn named(e: &Error) {
    assert!(!e.name().is_empty(), "{e}");
}

/// Runs under a small budget so "large but allowed" sizes stay cheap (the unit
/// tests read the environment only through std, which serialises access).
fn small_budget() {
    std::env::set_var("SNNCONV_MAX_ALLOC_BYTES", (4usize << 20).to_string());
}

#[test]
fn kernel_learner_never_panics_and_stays_finite() {
    small_budget();
    let mut r = stream(1, 0xF022, 0);
    for _ in 0..cases() {
        let p = KernelParams {
            kernel_size: size(&mut r, 1, 6),
            n_kernels: size(&mut r, 1, 9),
            stride: size(&mut r, 1, 3),
            w_min: -real(&mut r, 1e-3, 2.0),
            w_max: real(&mut r, 1e-3, 2.0),
            learning_rate: real(&mut r, 1e-4, 5.0),
            brightness_threshold: real(&mut r, 0.0, 1.0),
            channels: size(&mut r, 1, 3),
        };
        let channels = p.channels;
        let mut learner = match KernelLearner::new(p, r.next_u64()) {
            Ok(l) => l,
            Err(e) => {
                named(&e);
                continue;
            }
        };
        let (h, w) = (size(&mut r, 1, 16).min(64), size(&mut r, 1, 16).min(64));
        let g = image(&mut r, channels * h * w);
        for _ in 0..3 {
            match learner.learn_image(&g, (h, w)) {
                Ok(_) => {}
                Err(e) => named(&e),
            }
        }
        assert!(learner.resource().iter().all(|v| v.is_finite()));
        assert!(learner.weights().iter().all(|v| v.is_finite()));
    }
}

#[test]
fn conv_snn_never_panics() {
    small_budget();
    let mut r = stream(2, 0xF022, 0);
    for _ in 0..cases() {
        let steps = size(&mut r, 1, 12);
        let params = ConvSnnParams {
            stride: size(&mut r, 1, 3),
            pool: size(&mut r, 1, 3),
            tau: if below(&mut r, 2) == 0 {
                None
            } else {
                Some(real(&mut r, 1.0, 30.0))
            },
            threshold: real(&mut r, 0.01, 3.0),
            frame_steps: steps,
            active_steps: size(&mut r, 1, steps.clamp(1, 12)),
            encoding: if below(&mut r, 2) == 0 {
                Encoding::Accumulator {
                    reset_carry: below(&mut r, 2) == 0,
                }
            } else {
                Encoding::Bernoulli { seed: r.next_u64() }
            },
            max_rate: real(&mut r, 0.01, 1.0),
            reset: if below(&mut r, 2) == 0 {
                Reset::Subtract
            } else {
                Reset::Zero
            },
        };
        let (n, k) = (1 + below(&mut r, 4) as usize, 1 + below(&mut r, 5) as usize);
        let kernels: Vec<f64> = image(&mut r, n * k * k).iter().map(|v| v - 0.4).collect();
        let scales = vec![real(&mut r, 0.0, 3.0); n];
        let (h, w) = (size(&mut r, 1, 14), size(&mut r, 1, 14));
        let net = match ConvSnn::new(params, &kernels, k, &scales, (h, w)) {
            Ok(net) => net,
            Err(e) => {
                named(&e);
                continue;
            }
        };
        let images = image(&mut r, 2 * h * w);
        let mut carry = vec![0u64; h * w];
        let out = net.run_batch(&images, &mut carry, 0);
        assert_eq!(out.stats.len(), 2);
    }
}

#[test]
fn colanet_and_ulsnn_never_panic() {
    small_budget();
    let mut r = stream(3, 0xF022, 0);
    for _ in 0..cases() {
        let p = Params {
            n_inputs: size(&mut r, 1, 8),
            n_classes: size(&mut r, 2, 4),
            microcolumns: size(&mut r, 1, 3),
            hebbian: -real(&mut r, 0.0, 1.0),
            reward: real(&mut r, 0.0, 1.0),
            w_min: -real(&mut r, 0.01, 1.0),
            w_max: real(&mut r, 0.01, 1.0),
            initial_weight: 0.0,
            ..Params::default()
        };
        match p.validate() {
            Err(e) => named(&e),
            Ok(()) => {
                let mut e = Ensemble::new(vec![DigitalCopy::new(p.clone())], r.next_u64(), 0);
                let n = 4;
                let x: Vec<u8> = (0..n * p.n_inputs)
                    .map(|_| below(&mut r, u64::from(p.presentation_steps) + 1) as u8)
                    .collect();
                let labels: Vec<usize> = (0..n)
                    .map(|_| below(&mut r, p.n_classes as u64 + 1) as usize)
                    .collect();
                if let Err(err) = e.train(&x, &labels) {
                    named(&err);
                }
                let v = e.votes(&x, n).expect("valid inputs");
                assert!(v.iter().all(|v| v.is_finite()));
            }
        }
        let mut u = UlsnnParams::new(size(&mut r, 1, 9), size(&mut r, 1, 4));
        u.time = size(&mut r, 1, 20);
        u.exc = real(&mut r, 0.0, 40.0);
        u.inh = real(&mut r, 0.0, 150.0);
        u.nu_post = real(&mut r, 0.0, 0.1);
        match Ulsnn::new(u, r.next_u64()) {
            Err(e) => named(&e),
            Ok(mut net) => {
                let d = net.params().n_inputs;
                if let Err(e) = net.train_image(&image(&mut r, d)) {
                    named(&e);
                }
                assert!(net.weights().iter().all(|v| v.is_finite()));
                assert!(net.theta().iter().all(|v| v.is_finite()));
            }
        }
    }
}
