//! Scheduling: the rayon pools the core's parallel loops run on.
//!
//! A pool of `n` threads is built once and kept: calls that process a few images
//! would otherwise spend more time starting threads than computing. `n` is capped
//! (`crate::limits::check_threads`: 4 × the available cores) and at most
//! `KEPT_POOLS` pools are kept, the least recently used dropped first, so a sequence
//! of different thread counts cannot pile up threads.

use std::sync::{Arc, Mutex, OnceLock};

use rayon::ThreadPool;

use crate::error::{Error, Result};
use crate::limits::check_threads;

/// How many pools (of distinct sizes) are kept at most.
pub const KEPT_POOLS: usize = 4;

/// The kept pools by size, most recently used last.
type Pools = Vec<(usize, Arc<ThreadPool>)>;

/// The kept pool of `n >= 1` threads.
fn pool(n: usize) -> Result<Arc<ThreadPool>> {
    static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(i) = pools.iter().position(|(m, _)| *m == n) {
        let kept = pools.remove(i);
        let p = Arc::clone(&kept.1);
        pools.push(kept);
        return Ok(p);
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| Error::resource("n_threads", format!("could not start threads: {e}")))?;
    let p = Arc::new(p);
    if pools.len() >= KEPT_POOLS {
        // Its threads end once the calls still running on it return.
        pools.remove(0);
    }
    pools.push((n, Arc::clone(&p)));
    Ok(p)
}

/// Runs `f` on a pool of `n_threads` threads, or on rayon's global pool (all cores)
/// when None. `Some(0)` and counts above the cap are rejected.
pub fn install<T: Send>(n_threads: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T> {
    match n_threads {
        None => Ok(f()),
        Some(n) => Ok(pool(check_threads(n)?)?.install(f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    fn work() -> Vec<u64> {
        (0..10_000u64)
            .into_par_iter()
            .map(|i| i.wrapping_mul(2_654_435_761) % 1_000_003)
            .collect()
    }

    #[test]
    fn same_result_on_one_and_two_threads() {
        let one = install(Some(1), work).unwrap();
        let two = install(Some(2), work).unwrap();
        let all = install(None, work).unwrap();
        assert_eq!(one, two);
        assert_eq!(one, all);
        assert_eq!(install(Some(2), rayon::current_num_threads).unwrap(), 2);
        assert_eq!(install(Some(1), rayon::current_num_threads).unwrap(), 1);
    }

    #[test]
    fn zero_threads_rejected() {
        let e = install(Some(0), || ()).unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidParameter {
                name: "n_threads",
                ..
            }
        ));
        assert!(e
            .to_string()
            .starts_with("n_threads: must be None or in [1, "));
        let e = install(Some(1 << 40), || ()).unwrap_err();
        assert_eq!(e.name(), "n_threads");
    }

    /// The pool tests that look at identity run one at a time.
    static POOL_TESTS: Mutex<()> = Mutex::new(());

    #[test]
    fn at_most_kept_pools_are_kept() {
        let _one = POOL_TESTS.lock().unwrap_or_else(|e| e.into_inner());
        let first = pool(1).unwrap();
        for n in 1..=KEPT_POOLS + 2 {
            pool(n).unwrap();
        }
        assert!(!Arc::ptr_eq(&first, &pool(1).unwrap()));
    }

    #[test]
    fn stack_loops_give_the_same_result_on_one_and_two_threads() {
        use crate::kernels::brightness::{brightness_u8_stack, saturate_stack};
        use crate::kernels::conv::{conv_f32, conv_stack_f32, out_len};
        let (n, h, w, k, stride) = (5, 13, 11, 3, 2);
        let src: Vec<u8> = (0..n * h * w).map(|i| (i * 37 % 251) as u8).collect();
        let bright = |t| {
            let mut out = vec![0.0; src.len()];
            install(Some(t), || {
                brightness_u8_stack(&src, h * w, Some(0.1), &mut out)
            })
            .unwrap();
            out
        };
        assert_eq!(bright(1), bright(2));
        let sat = |t| {
            let mut d: Vec<f64> = src.iter().map(|&x| f64::from(x) / 255.0).collect();
            install(Some(t), || saturate_stack(&mut d, h * w, 0.1)).unwrap();
            d
        };
        assert_eq!(sat(1), sat(2));
        let g: Vec<f32> = bright(1).iter().map(|&v| v as f32).collect();
        let kern: Vec<f32> = (0..2 * k * k).map(|i| (i as f32 - 8.0) / 9.0).collect();
        let per = 2 * out_len(h, k, stride) * out_len(w, k, stride);
        let conv = |t| {
            let mut out = vec![0f32; n * per];
            install(Some(t), || {
                conv_stack_f32(&g, n, (h, w), &kern, k, stride, &mut out)
            })
            .unwrap();
            out
        };
        let one = conv(1);
        assert_eq!(one, conv(2));
        let mut each = vec![0f32; n * per];
        for (i, o) in each.chunks_mut(per).enumerate() {
            conv_f32(&g[i * h * w..(i + 1) * h * w], (h, w), &kern, k, stride, o);
        }
        assert_eq!(one, each);
    }

    #[test]
    fn pools_are_kept() {
        let _one = POOL_TESTS.lock().unwrap_or_else(|e| e.into_inner());
        assert!(Arc::ptr_eq(&pool(3).unwrap(), &pool(3).unwrap()));
    }
}
