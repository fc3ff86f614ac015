//! Budgets for what user-controlled sizes may make the core allocate and start.
//!
//! Every buffer whose length comes from a hyperparameter or an input shape
//! (n_kernels, kernel_size, image sizes, frame counts, time steps, copies,
//! microcolumns, neurons, output maps, raster recordings) is sized here with checked
//! arithmetic before it is allocated: a product that overflows, or a buffer above
//! the per-allocation budget, is an `Error::TooLarge` naming the parameter and the
//! bytes it would need (Python: `snnconv.exceptions.ResourceLimitError`, a
//! `MemoryError`), never a `capacity overflow` panic or an abort on allocation.
//!
//! A budget applies to one allocation, or to the arrays of one state allocated
//! together (a learner's resource and weights, a CoLaNET's synapses). It is the
//! smaller of 16 GiB and half the machine's physical memory;
//! the environment variable `SNNCONV_MAX_ALLOC_BYTES` (bytes) replaces it.
//! See docs/robustness.md.

use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The fixed ceiling of one allocation, before the machine's memory is considered.
pub const MAX_ALLOC_BYTES: usize = 16 << 30;

/// The largest accepted `n_threads`: this many threads per available core.
pub const THREADS_PER_CORE: usize = 4;

/// The per-allocation budget in bytes (see the module docs). The environment
/// variable is read at every check (a few per call, never per pixel), so a test or
/// a service can lower the budget at run time.
pub fn alloc_budget() -> usize {
    static MACHINE: OnceLock<usize> = OnceLock::new();
    if let Some(b) = std::env::var("SNNCONV_MAX_ALLOC_BYTES")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return b;
    }
    *MACHINE
        .get_or_init(|| MAX_ALLOC_BYTES.min(physical_memory().map_or(MAX_ALLOC_BYTES, |m| m / 2)))
}

#[cfg(target_os = "linux")]
fn physical_memory() -> Option<usize> {
    // SAFETY: sysconf only reads system configuration values.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages <= 0 || size <= 0 {
        return None;
    }
    (pages as usize).checked_mul(size as usize)
}

#[cfg(not(target_os = "linux"))]
fn physical_memory() -> Option<usize> {
    None
}

/// Readable size: "17.2 GB" style (decimal units, as `ls -lh --si`).
pub fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The number of elements of a buffer of shape `dims`, each `elem_bytes` bytes,
/// if it fits the budget; else `Error::TooLarge` naming `name`.
pub fn elements(name: &'static str, dims: &[usize], elem_bytes: usize) -> Result<usize> {
    let exact: Option<u128> = dims
        .iter()
        .try_fold(elem_bytes as u128, |acc, &d| acc.checked_mul(d as u128));
    let budget = alloc_budget();
    match exact {
        Some(bytes) if bytes <= budget as u128 => Ok(dims.iter().product()),
        Some(bytes) => Err(Error::too_large(
            name,
            format!(
                "would need {} ({bytes} bytes) for an array of shape {dims:?}, above the \
                 per-allocation budget of {} (SNNCONV_MAX_ALLOC_BYTES)",
                human_bytes(bytes),
                human_bytes(budget as u128)
            ),
        )),
        None => Err(Error::too_large(
            name,
            format!(
                "an array of shape {dims:?} would need more than 2^128 bytes, above the \
                 per-allocation budget of {}",
                human_bytes(budget as u128)
            ),
        )),
    }
}

/// `elements` for a buffer of `T`.
pub fn elements_of<T>(name: &'static str, dims: &[usize]) -> Result<usize> {
    elements(name, dims, std::mem::size_of::<T>().max(1))
}

/// The largest `n_threads` accepted: `THREADS_PER_CORE` × available parallelism.
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    THREADS_PER_CORE.saturating_mul(cores)
}

/// Checks an explicit thread count against `1..=max_threads()`.
pub fn check_threads(n: usize) -> Result<usize> {
    let cap = max_threads();
    if n == 0 || n > cap {
        return Err(Error::param(
            "n_threads",
            format!(
                "must be None or in [1, {cap}] ({THREADS_PER_CORE} x the {} available cores), \
                 got {n}",
                cap / THREADS_PER_CORE
            ),
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_buffers_pass_and_huge_ones_are_named() {
        assert_eq!(elements_of::<f64>("x", &[3, 4]).unwrap(), 12);
        assert_eq!(elements_of::<f64>("x", &[]).unwrap(), 1);
        assert_eq!(elements_of::<f64>("x", &[0, usize::MAX]).unwrap(), 0);
        let e = elements_of::<f64>("n_kernels", &[1 << 40, 81]).unwrap_err();
        assert_eq!(e.name(), "n_kernels");
        assert!(matches!(e, Error::TooLarge { .. }));
        assert!(e.to_string().contains("bytes"), "{e}");
        let e = elements_of::<f64>("frames", &[usize::MAX, usize::MAX, 9]).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }));
    }

    #[test]
    fn thread_cap() {
        assert!(check_threads(1).is_ok());
        assert!(check_threads(max_threads()).is_ok());
        assert!(check_threads(0).is_err());
        let e = check_threads(max_threads() + 1).unwrap_err();
        assert_eq!(e.name(), "n_threads");
        assert!(check_threads(usize::MAX).is_err());
    }

    #[test]
    fn human() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(17_200_000_000), "17.2 GB");
    }
}
