//! Portable, explicitly seeded randomness.
//!
//! Every independent unit of work (an image, an epoch, a network copy) gets its own
//! stream derived from the user's seed and the unit's index, so results never depend
//! on the order in which threads reach the work.

use rand_core::Rng;
use rand_pcg::Pcg64;

/// SplitMix64 finaliser: a fixed, well-mixed bijection on u64.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Seed of stream `index` in the family `purpose` derived from the user seed.
#[inline]
pub fn derive_seed(seed: u64, purpose: u64, index: u64) -> u64 {
    mix64(mix64(seed ^ mix64(purpose)) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03))
}

/// A PCG-64 generator for one independent unit.
pub fn stream(seed: u64, purpose: u64, index: u64) -> Pcg64 {
    let s = derive_seed(seed, purpose, index);
    let state = ((mix64(s) as u128) << 64) | s as u128;
    Pcg64::new(state, (purpose as u128) << 1 | 1)
}

/// Uniform integer in `0..n` (n > 0) by rejection, independent of any crate's
/// sampling code so the stream stays stable across dependency upgrades.
pub fn below(rng: &mut Pcg64, n: u64) -> u64 {
    debug_assert!(n > 0);
    let zone = u64::MAX - (u64::MAX - n + 1) % n;
    loop {
        let x = rng.next_u64();
        if x <= zone {
            return x % n;
        }
    }
}

/// Fisher–Yates permutation of `0..n`.
pub fn permutation(n: usize, rng: &mut Pcg64) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        p.swap(i, j);
    }
    p
}

/// Stream families, so two uses of one seed never share a stream.
pub mod purpose {
    pub const SHUFFLE: u64 = 1;
    pub const TIE_BREAK: u64 = 2;
    pub const ENCODER: u64 = 3;
    pub const NETWORK: u64 = 4;
    /// ULSNN baseline: initial weights, training presentations, inference presentations.
    pub const ULSNN_WEIGHTS: u64 = 0x554C_0001;
    pub const ULSNN_TRAIN: u64 = 0x554C_0002;
    pub const ULSNN_INFER: u64 = 0x554C_0003;
    pub const INFERENCE: u64 = 5;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_permutation_and_seeded() {
        let mut a = stream(7, purpose::SHUFFLE, 0);
        let mut b = stream(7, purpose::SHUFFLE, 0);
        let pa = permutation(1000, &mut a);
        assert_eq!(pa, permutation(1000, &mut b));
        let mut sorted = pa.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        let mut c = stream(7, purpose::SHUFFLE, 1);
        assert_ne!(pa, permutation(1000, &mut c));
    }

    #[test]
    fn below_is_roughly_uniform() {
        let mut r = stream(1, purpose::TIE_BREAK, 0);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[below(&mut r, 3) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }
}
