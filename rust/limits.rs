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
//! smallest of 16 GiB, half the memory the process may really use (the machine's
//! physical memory, or the container's cgroup limit — v2 `memory.max`, v1
//! `memory.limit_in_bytes` — when that is lower) and a quarter of the address-space
//! limit (`RLIMIT_AS`, `ulimit -v`: the address space also holds the libraries,
//! thread stacks and the other buffers of the call); the environment variable
//! `SNNCONV_MAX_ALLOC_BYTES` (bytes) replaces it. Python reads the same value
//! (`_core.alloc_budget()`). See docs/robustness.md.

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
    *MACHINE.get_or_init(machine_budget)
}

/// The budget from the process's limits (see the module docs), read once.
fn machine_budget() -> usize {
    let memory = [physical_memory(), cgroup_memory_limit()]
        .into_iter()
        .flatten()
        .min();
    let mut budget = MAX_ALLOC_BYTES;
    if let Some(m) = memory {
        budget = budget.min(m / 2);
    }
    if let Some(a) = address_space_limit() {
        budget = budget.min(a / 4);
    }
    budget
}

/// The lowest memory limit of the cgroups this process is in (v2 `memory.max` of its
/// cgroup and every ancestor; v1 `memory.limit_in_bytes`), None without one.
#[cfg(target_os = "linux")]
fn cgroup_memory_limit() -> Option<usize> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    cgroup_limit_from(&own, |p| std::fs::read_to_string(p).ok())
}

#[cfg(not(target_os = "linux"))]
fn cgroup_memory_limit() -> Option<usize> {
    None
}

/// `cgroup_memory_limit` over a `/proc/self/cgroup` text and a file reader (tested
/// with made-up trees).
fn cgroup_limit_from(own: &str, read: impl Fn(&str) -> Option<String>) -> Option<usize> {
    let parse = |text: Option<String>| -> Option<usize> {
        // "max" (v2) or a huge page-rounded number (v1) mean no limit.
        text?
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&v| v > 0 && v < (1u64 << 60))
            .map(|v| usize::try_from(v).unwrap_or(usize::MAX))
    };
    let mut limits: Vec<usize> = Vec::new();
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let path = path.trim_end_matches('/');
        if controllers.is_empty() {
            // v2: the process's cgroup and each ancestor up to the mount root.
            let mut dir = path.to_string();
            loop {
                limits.extend(parse(read(&format!("/sys/fs/cgroup{dir}/memory.max"))));
                match dir.rfind('/') {
                    Some(i) => dir.truncate(i),
                    None => break,
                }
            }
        } else if controllers.split(',').any(|c| c == "memory") {
            limits.extend(parse(read(&format!(
                "/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"
            ))));
            limits.extend(parse(read("/sys/fs/cgroup/memory/memory.limit_in_bytes")));
        }
    }
    limits.into_iter().min()
}

/// `RLIMIT_AS` (`ulimit -v`) in bytes, None when unlimited.
#[cfg(target_os = "linux")]
fn address_space_limit() -> Option<usize> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct it is given, which lives on this stack.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) };
    if rc != 0 || lim.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    Some(usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX))
}

#[cfg(not(target_os = "linux"))]
fn address_space_limit() -> Option<usize> {
    None
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
    fn cgroup_limits_are_read_from_v2_ancestors_and_v1() {
        let files = |p: &str| -> Option<String> {
            match p {
                "/sys/fs/cgroup/a/b/memory.max" => Some("max\n".into()),
                "/sys/fs/cgroup/a/memory.max" => Some("1073741824\n".into()),
                "/sys/fs/cgroup/memory.max" => None,
                "/sys/fs/cgroup/memory/x/memory.limit_in_bytes" => Some("536870912".into()),
                "/sys/fs/cgroup/memory/memory.limit_in_bytes" => Some("9223372036854771712".into()),
                _ => None,
            }
        };
        assert_eq!(cgroup_limit_from("0::/a/b\n", files), Some(1 << 30));
        assert_eq!(cgroup_limit_from("0::/\n", files), None);
        assert_eq!(
            cgroup_limit_from("4:cpu,memory:/x\n0::/a/b\n", files),
            Some(512 << 20)
        );
        assert_eq!(cgroup_limit_from("", files), None);
        assert_eq!(cgroup_limit_from("garbage", files), None);
    }

    #[test]
    fn human() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(17_200_000_000), "17.2 GB");
    }
}
