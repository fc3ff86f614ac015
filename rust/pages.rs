//! Large zeroed buffers backed by huge pages where the OS allows it.
//!
//! A 1080p feature map is ~57 MB: with 4 KiB pages its first touch costs ~14,000
//! page faults, a quarter of the transform's time on a VM. Asking Linux for
//! transparent huge pages on the buffer (`MADV_HUGEPAGE`, honoured when THP is in
//! `madvise` or `always` mode) turns them into a few dozen.

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

#[cfg(target_os = "linux")]
fn advise_huge(start: *const u8, len: usize) {
    const HUGE: usize = 2 << 20;
    let (begin, end) = (start as usize, start as usize + len);
    let (begin, end) = (begin.next_multiple_of(HUGE), end / HUGE * HUGE);
    if end > begin {
        // SAFETY: the range lies inside the vector's own allocation; the advice
        // changes only how its (zero) pages are backed, never their contents. A
        // refusal (THP disabled) is harmless, so the result is ignored.
        unsafe {
            libc::madvise(begin as *mut libc::c_void, end - begin, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_start: *const u8, _len: usize) {}

#[cfg(test)]
mod tests {
    #[test]
    fn zeroed_buffers_are_zero_at_any_size() {
        for n in [0, 1, 1000, (9 << 20) / 4 + 3] {
            let v: Vec<f32> = super::zeroed(n);
            assert_eq!(v.len(), n);
            assert!(v.iter().all(|&x| x == 0.0));
        }
    }
}
