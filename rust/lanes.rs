//! Four f64 lanes: one AVX2 register, or a plain array on other CPUs, for the kernel
//! learner's responses and CoLaNET's input sums.
//!
//! Hot loops are written once, generic over [`Lanes`], and compiled twice: inside
//! a `#[target_feature(enable = "avx2")]` function with `__m256d` (intrinsics, so
//! accumulators provably stay in registers), and with `[f64; 4]` for CPUs without
//! AVX2. Both give bit-identical results: every operation is a plain IEEE one.
//!
//! Crate-private on purpose: the `__m256d` methods are safe to call only where AVX2
//! is known to be present (inside those `target_feature` functions).

/// Four f64 lanes.
pub trait Lanes: Copy {
    fn zero() -> Self;
    fn splat(v: f64) -> Self;
    /// # Safety
    /// `p` must point to four readable f64.
    unsafe fn load(p: *const f64) -> Self;
    /// `self + o`, lane-wise.
    fn add(self, o: Self) -> Self;
    /// `self + w · v`, the product rounded before the sum (no fused multiply-add).
    fn add_product(self, w: Self, v: Self) -> Self;
    /// Lane-wise `if self > o { self } else { o }`.
    fn max(self, o: Self) -> Self;
    /// The largest lane.
    fn max_lane(self) -> f64;
    /// Lanes `tail..4` set to −∞.
    fn keep_lanes_below(self, tail: usize) -> Self;
    /// Lanes not below `upper` set to −∞.
    fn below(self, upper: f64) -> Self;
    /// Bit l set where lane l equals `v`.
    fn eq_bits(self, v: f64) -> u32;
    fn to_array(self) -> [f64; 4];
}

impl Lanes for [f64; 4] {
    #[inline(always)]
    fn zero() -> Self {
        [0.0; 4]
    }
    #[inline(always)]
    fn splat(v: f64) -> Self {
        [v; 4]
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        // SAFETY: the caller guarantees four readable f64.
        unsafe { p.cast::<[f64; 4]>().read_unaligned() }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        std::array::from_fn(|l| self[l] + o[l])
    }
    #[inline(always)]
    fn add_product(self, w: Self, v: Self) -> Self {
        std::array::from_fn(|l| self[l] + w[l] * v[l])
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        std::array::from_fn(|l| if self[l] > o[l] { self[l] } else { o[l] })
    }
    #[inline(always)]
    fn max_lane(self) -> f64 {
        let m = self.max([self[2], self[3], self[0], self[1]]);
        if m[0] > m[1] {
            m[0]
        } else {
            m[1]
        }
    }
    #[inline(always)]
    fn keep_lanes_below(self, tail: usize) -> Self {
        std::array::from_fn(|l| if l < tail { self[l] } else { f64::NEG_INFINITY })
    }
    #[inline(always)]
    fn below(self, upper: f64) -> Self {
        std::array::from_fn(|l| {
            if self[l] < upper {
                self[l]
            } else {
                f64::NEG_INFINITY
            }
        })
    }
    #[inline(always)]
    fn eq_bits(self, v: f64) -> u32 {
        (0..4).map(|l| u32::from(self[l] == v) << l).sum()
    }
    #[inline(always)]
    fn to_array(self) -> [f64; 4] {
        self
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::Lanes;
    use std::arch::x86_64::*;

    // SAFETY (all methods): these are only called from functions compiled with
    // `#[target_feature(enable = "avx2")]` after a runtime check, and are always
    // inlined into them.
    impl Lanes for __m256d {
        #[inline(always)]
        fn zero() -> Self {
            // SAFETY: AVX2 intrinsic; every caller has AVX2 enabled (see the impl note).
            unsafe { _mm256_setzero_pd() }
        }
        #[inline(always)]
        fn splat(v: f64) -> Self {
            // SAFETY: AVX2 intrinsic in an AVX2 caller (see the impl note).
            unsafe { _mm256_set1_pd(v) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> Self {
            // SAFETY: `p` points to four f64 (the contract of `Lanes::load`); AVX2 caller.
            unsafe { _mm256_loadu_pd(p) }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            // SAFETY: AVX2 intrinsic in an AVX2 caller (see the impl note).
            unsafe { _mm256_add_pd(self, o) }
        }
        #[inline(always)]
        fn add_product(self, w: Self, v: Self) -> Self {
            // SAFETY: AVX2 intrinsic in an AVX2 caller (see the impl note).
            unsafe { _mm256_add_pd(self, _mm256_mul_pd(w, v)) }
        }
        #[inline(always)]
        fn max(self, o: Self) -> Self {
            // maxpd(a, b) = a > b ? a : b, lane-wise.
            // SAFETY: AVX2 intrinsic in an AVX2 caller (see the impl note).
            unsafe { _mm256_max_pd(self, o) }
        }
        #[inline(always)]
        fn max_lane(self) -> f64 {
            // SAFETY: AVX/SSE2 intrinsics on registers only, in an AVX2 caller.
            unsafe {
                let half = _mm_max_pd(_mm256_castpd256_pd128(self), _mm256_extractf128_pd(self, 1));
                _mm_cvtsd_f64(_mm_max_sd(half, _mm_unpackhi_pd(half, half)))
            }
        }
        #[inline(always)]
        fn keep_lanes_below(self, tail: usize) -> Self {
            // SAFETY: AVX2 intrinsics on registers only, in an AVX2 caller.
            unsafe {
                let keep = _mm256_cmpgt_epi64(
                    _mm256_set1_epi64x(tail as i64),
                    _mm256_setr_epi64x(0, 1, 2, 3),
                );
                _mm256_blendv_pd(
                    _mm256_set1_pd(f64::NEG_INFINITY),
                    self,
                    _mm256_castsi256_pd(keep),
                )
            }
        }
        #[inline(always)]
        fn below(self, upper: f64) -> Self {
            // SAFETY: AVX intrinsics on registers only, in an AVX2 caller.
            unsafe {
                let keep = _mm256_cmp_pd::<_CMP_LT_OQ>(self, _mm256_set1_pd(upper));
                _mm256_blendv_pd(_mm256_set1_pd(f64::NEG_INFINITY), self, keep)
            }
        }
        #[inline(always)]
        fn eq_bits(self, v: f64) -> u32 {
            // SAFETY: AVX intrinsics on registers only, in an AVX2 caller.
            unsafe {
                _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_EQ_OQ>(self, _mm256_set1_pd(v))) as u32
            }
        }
        #[inline(always)]
        fn to_array(self) -> [f64; 4] {
            let mut a = [0.0; 4];
            // SAFETY: `a` holds four f64; AVX2 caller.
            unsafe { _mm256_storeu_pd(a.as_mut_ptr(), self) };
            a
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lanes;

    /// Every operation on `__m256d` equals the array version, bit for bit.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_lanes_equal_array_lanes() {
        use std::arch::x86_64::__m256d;
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        #[target_feature(enable = "avx2")]
        unsafe fn check(a: [f64; 4], b: [f64; 4], v: f64) {
            // SAFETY: `a` and `b` hold four f64 each; AVX2 was detected above.
            let (x, y) = unsafe { (__m256d::load(a.as_ptr()), __m256d::load(b.as_ptr())) };
            let bits = |q: [f64; 4]| q.map(f64::to_bits);
            assert_eq!(bits(x.add(y).to_array()), bits(a.add(b)));
            let prod = x.add_product(y, __m256d::splat(v)).to_array();
            assert_eq!(bits(prod), bits(a.add_product(b, [v; 4])));
            assert_eq!(bits(x.max(y).to_array()), bits(a.max(b)));
            assert_eq!(x.max_lane(), a.max_lane());
            for tail in 1..=4 {
                assert_eq!(
                    bits(x.keep_lanes_below(tail).to_array()),
                    bits(a.keep_lanes_below(tail))
                );
            }
            assert_eq!(bits(x.below(v).to_array()), bits(a.below(v)));
            assert_eq!(x.eq_bits(v), a.eq_bits(v));
        }
        let cases = [
            ([0.5, -1.0, 2.0, 0.25], [1.5, 3.0, -0.5, 0.25], 0.25),
            ([1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, -1.0], 1.0),
            ([-3.0, 7.5, 7.5, 2.0], [0.1, 0.2, 0.3, 0.4], 7.5),
        ];
        for (a, b, v) in cases {
            // SAFETY: AVX2 is available, checked above.
            unsafe { check(a, b, v) };
        }
    }
}
