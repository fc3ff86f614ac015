//! Profiling driver: one training pass and one inference pass of a spiking CoLaNET
//! ensemble (15 copies, 15 microcolumns, 10 classes).
//!
//! `cargo run --release --example profile_colanet -- [COUNTS_FILE] [N_TRAIN] [N_TEST]`
//!
//! COUNTS_FILE holds `n, f` (u32 little endian), then n·f spike counts (u8, ≤ 10) and
//! n labels (u8); without it, synthetic MNIST-like rings are used. Run single-threaded
//! (`RAYON_NUM_THREADS=1`) under `valgrind --tool=callgrind` for repeatable counts.
//! Times are process CPU time per image. `SNNCONV_COLANET_KERNEL=reference` runs the
//! reference implementation.
use snnconv::colanet::ensemble::{decide, Ensemble};
use snnconv::colanet::network::{Links, Network};
use snnconv::colanet::Params;

mod common;
use common::Lcg;

fn synthetic(n: usize) -> (Vec<u8>, Vec<usize>, usize) {
    let (h, w) = (28usize, 28usize);
    let mut rng = Lcg(1);
    let mut x = Vec::with_capacity(n * h * w);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let class = (rng.next_f64() * 10.0) as usize;
        let radius = 3.0 + 0.6 * class as f64;
        let (cy, cx) = (12.0 + 4.0 * rng.next_f64(), 12.0 + 4.0 * rng.next_f64());
        for i in 0..h * w {
            let (py, px) = ((i / w) as f64, (i % w) as f64);
            let d = ((py - cy).powi(2) + (px - cx).powi(2)).sqrt();
            let v = (1.0 - (d - radius).abs() / 2.0).max(0.0);
            x.push((v * 10.0).floor() as u8);
        }
        y.push(class);
    }
    (x, y, h * w)
}

/// CPU time of the process in seconds (steadier than wall time on a shared machine).
fn cpu_time() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer for clock_gettime.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + 1e-9 * ts.tv_nsec as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n_train: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200);
    let n_test: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(100);
    let (x, y, f) = match args.get(1).map(std::fs::read) {
        Some(Ok(b)) => {
            let n = u32::from_le_bytes(b[0..4].try_into().unwrap()) as usize;
            let f = u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize;
            let x = b[8..8 + n * f].to_vec();
            let y = b[8 + n * f..8 + n * f + n]
                .iter()
                .map(|&v| usize::from(v))
                .collect();
            (x, y, f)
        }
        _ => synthetic(n_train + n_test),
    };
    assert!(y.len() >= n_train + n_test, "not enough examples");
    // The Python estimator's defaults (σ = 2.212) with M = 15.
    let p = Params {
        n_inputs: f,
        n_classes: 10,
        microcolumns: 15,
        stochastic: 2.212,
        ..Params::default()
    };
    let copies = (0..15)
        .map(|_| Network::new(p.clone(), Links::default()))
        .collect();
    let mut e = Ensemble::new(copies, 1, 0);
    let t = cpu_time();
    e.train(&x[..n_train * f], &y[..n_train]).unwrap();
    let t_train = cpu_time() - t;
    let t = cpu_time();
    let votes = e
        .votes(&x[n_train * f..(n_train + n_test) * f], n_test)
        .unwrap();
    let t_test = cpu_time() - t;
    let pred = decide(&votes, 10);
    let correct = pred
        .iter()
        .zip(&y[n_train..n_train + n_test])
        .filter(|(p, &y)| **p == Some(y))
        .count();
    let checksum: f64 = e
        .copies
        .iter()
        .flat_map(|c| c.syn.resource().iter())
        .sum::<f64>()
        + votes.iter().sum::<f64>();
    println!(
        "train {:.3} ms/image, infer {:.3} ms/image, accuracy {}/{}, checksum {:e}",
        1e3 * t_train / n_train as f64,
        1e3 * t_test / n_test as f64,
        correct,
        n_test,
        checksum
    );
}
