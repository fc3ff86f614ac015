//! Large buffers whose first touch costs fewer page faults, where the OS allows it.
//!
//! A 1080p feature map is ~57 MB: with 4 KiB pages its first touch costs ~14,000
//! page faults, a quarter of the transform's time on a VM. Asking Linux for
//! transparent huge pages on the buffer (`MADV_HUGEPAGE`, honoured when THP is in
//! `madvise` or `always` mode) turns them into a few dozen. Buffers that are filled
//! right away have their pages mapped in one call instead (`MADV_POPULATE_WRITE`).

/// Below this, the normal pages are cheap enough.
const HUGE_PAGE_MIN: usize = 8 << 20;

/// A zeroed vector of `n` values, its pages requested as huge pages if it is large.
pub fn zeroed<T: Copy + Default>(n: usize) -> Vec<T> {
    let v = vec![T::default(); n];
    let bytes = n * std::mem::size_of::<T>();
    if bytes >= HUGE_PAGE_MIN {
        advise_huge(v.as_ptr().cast(), bytes);
    }
    v
}

/// Below this, populating pages ahead is not worth a system call.
const POPULATE_MIN: usize = 64 << 10;

/// A vector of `n` copies of `value` whose pages the OS maps in one call before they
/// are written (`MADV_POPULATE_WRITE`, Linux 5.14 and later), instead of one page
/// fault per 4 KiB page during the fill: on a VM a fault costs microseconds, and a
/// CoLaNET ensemble touches tens of megabytes when it is built. Same contents as
/// `vec![value; n]`.
pub fn filled<T: Clone>(n: usize, value: T) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    let bytes = n * std::mem::size_of::<T>();
    if bytes >= POPULATE_MIN {
        advise_populate(v.as_mut_ptr().cast::<u8>().cast_const(), bytes);
    }
    v.resize(n, value);
    v
}

/// Advice on the pages of `[start, start + len)`, in whole `align`-sized units.
///
/// The range lies inside one vector's own allocation. Both advices only change how
/// its pages are backed (huge pages) or when they are mapped (populated ahead, as if
/// written, without touching them), never their contents. A refusal (THP disabled,
/// a kernel older than 5.14 for populating) leaves the pages to fault in as usual,
/// so the result is ignored.
#[cfg(target_os = "linux")]
fn advise(start: *const u8, len: usize, align: usize, advice: libc::c_int) {
    let (begin, end) = (start as usize, start as usize + len);
    let (begin, end) = (begin.next_multiple_of(align), end / align * align);
    if end > begin {
        // SAFETY: see above; madvise reads and writes no memory of ours.
        unsafe {
            libc::madvise(begin as *mut libc::c_void, end - begin, advice);
        }
    }
}

#[cfg(target_os = "linux")]
fn advise_populate(start: *const u8, len: usize) {
    advise(start, len, 4 << 10, libc::MADV_POPULATE_WRITE);
}

#[cfg(target_os = "linux")]
fn advise_huge(start: *const u8, len: usize) {
    advise(start, len, 2 << 20, libc::MADV_HUGEPAGE);
}

#[cfg(not(target_os = "linux"))]
fn advise_populate(_start: *const u8, _len: usize) {}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_start: *const u8, _len: usize) {}

#[cfg(test)]
mod tests {
    #[test]
    fn filled_buffers_hold_the_value_at_any_size() {
        for n in [0, 1, 1000, (300 << 10) / 8 + 3] {
            let v: Vec<f64> = super::filled(n, 0.25);
            assert_eq!(v.len(), n);
            assert!(v.iter().all(|&x| x == 0.25));
        }
    }

    #[test]
    fn zeroed_buffers_are_zero_at_any_size() {
        for n in [0, 1, 1000, (9 << 20) / 4 + 3] {
            let v: Vec<f32> = super::zeroed(n);
            assert_eq!(v.len(), n);
            assert!(v.iter().all(|&x| x == 0.0));
        }
    }
}
