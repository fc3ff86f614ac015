//! Scheduling: the rayon pools the core's parallel loops run on.
//!
//! A pool of `n` threads is built once and kept: calls that process a few images
//! would otherwise spend more time starting threads than computing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::ThreadPool;

use crate::error::{Error, Result};

/// The kept pool of `n >= 1` threads.
fn pool(n: usize) -> Result<Arc<ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&n) {
        return Ok(Arc::clone(p));
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| Error::resource("n_threads", format!("could not start threads: {e}")))?;
    let p = Arc::new(p);
    pools.insert(n, Arc::clone(&p));
    Ok(p)
}

/// Runs `f` on a pool of `n_threads` threads, or on rayon's global pool (all cores)
/// when None. `Some(0)` is rejected.
pub fn install<T: Send>(n_threads: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T> {
    match n_threads {
        None => Ok(f()),
        Some(0) => Err(Error::param("n_threads", "must be None or >= 1, got 0")),
        Some(n) => Ok(pool(n)?.install(f)),
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
        assert_eq!(e.to_string(), "n_threads: must be None or >= 1, got 0");
    }

    #[test]
    fn pools_are_kept() {
        assert!(Arc::ptr_eq(&pool(3).unwrap(), &pool(3).unwrap()));
    }
}
