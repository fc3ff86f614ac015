//! Profiling driver for the spiking front-end's batch run (`ConvSnn::run_batch`):
//! times one-thread runs over MNIST-like images and prints a checksum of every
//! output (pooled counts, backlogs, conv counts, stats, carry), so a change can be
//! checked for bit-identical results and compared by instruction counts.
//! `cargo run --release --example profile_front_end [IMAGES.bin KERNELS.bin SCALES.bin [ROUNDS]]`
//! (little-endian f64 files: preprocessed 28×28 brightness images, (n, 9, 9) kernels,
//! and α per kernel).
use std::time::Instant;

mod common;
use common::{front_end_params, read_f64, rings, Lcg};

use snnconv::snn::ConvSnn;

/// FNV-1a over a stream of u64 words.
fn fnv(h: &mut u64, x: u64) {
    for b in x.to_le_bytes() {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (h, w, k) = (28, 28, 9);
    let mut rng = Lcg(1);
    let images = args
        .get(1)
        .and_then(|p| read_f64(p))
        .unwrap_or_else(|| rings(500, h, w, &mut rng));
    let kernels = args.get(2).and_then(|p| read_f64(p)).unwrap_or_else(|| {
        (0..28 * k * k)
            .map(|_| rng.next_f64() * 0.2 - 0.05)
            .collect()
    });
    let nk = kernels.len() / (k * k);
    let scales = args
        .get(3)
        .and_then(|p| read_f64(p))
        .unwrap_or_else(|| vec![0.6; nk]);
    let rounds: usize = args.get(4).and_then(|r| r.parse().ok()).unwrap_or(3);
    let params = front_end_params();
    let net = ConvSnn::new(params, &kernels, k, &scales, (h, w)).unwrap();
    let n = images.len() / (h * w);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    for _ in 0..rounds {
        let mut carry = vec![0u64; h * w];
        let t0 = Instant::now();
        let out = pool.install(|| net.run_batch(&images, &mut carry, 0));
        let dt = t0.elapsed().as_secs_f64();
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        out.pooled.iter().for_each(|&x| fnv(&mut hash, x.into()));
        out.backlog.iter().for_each(|&x| fnv(&mut hash, x.into()));
        out.conv_counts
            .iter()
            .for_each(|&x| fnv(&mut hash, x.into()));
        for st in &out.stats {
            for x in [
                st.input_spikes,
                st.conv_spikes,
                st.pool_spikes,
                st.synaptic_events,
            ] {
                fnv(&mut hash, x);
            }
        }
        carry.iter().for_each(|&x| fnv(&mut hash, x));
        let conv: u64 = out.stats.iter().map(|s| s.conv_spikes).sum();
        println!(
            "{n} images in {dt:.3} s: {:.0} images/s, {conv} conv spikes, checksum {hash:016x}",
            n as f64 / dt
        );
    }
}
