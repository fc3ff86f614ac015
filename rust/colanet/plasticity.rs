//! Learning rules of the L neurons' plastic afferents (docs/algorithms.md §3), per neuron:
//! tight spike sequences (TSS), anti-Hebbian depression once per TSS of the
//! contributing synapses, 3-factor dopamine and the stability updates.
//!
//! Every L neuron sees the same input spikes, so "received a spike in the window" is
//! decided from one last-arrival step per input (docs/algorithms.md §3).

#[cfg(target_arch = "x86_64")]
use super::lanes::avx2_available;
use super::lanes::Kernel;
use super::params::Params;
use super::stability;
use super::synapses::Synapses;

/// "Never" for step stamps, far from any real step but safe to subtract from.
pub const NEVER: i64 = i64::MIN / 4;

/// Per-neuron learning state plus usage counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Learning {
    n_in: usize,
    /// Stability s per neuron.
    pub stability: Vec<f64>,
    /// Step of the last spike, and of the first spike of the current TSS.
    pub last_spike: Vec<i64>,
    pub tss_start: Vec<i64>,
    /// Whether the last spike was forced (a forced spike is a TSS of its own).
    pub last_forced: Vec<bool>,
    /// Synapses contributing to the current TSS, (n_post, n_in).
    contrib: Vec<bool>,
    /// The same synapses as a list per neuron, (n_post, n_in), in the order they were
    /// marked; the first `contrib_len[j]` entries of row j are valid.
    contrib_list: Vec<u32>,
    contrib_len: Vec<usize>,
    /// Counters: own (non-forced) firings, forced firings, rewards applied.
    pub fired: Vec<u64>,
    pub forced: Vec<u64>,
    pub rewarded: Vec<u64>,
}

impl Learning {
    pub fn new(n_in: usize, n_post: usize) -> Self {
        Self {
            n_in,
            stability: vec![0.0; n_post],
            last_spike: vec![NEVER; n_post],
            tss_start: vec![NEVER; n_post],
            last_forced: vec![false; n_post],
            contrib: vec![false; n_in * n_post],
            contrib_list: vec![0; n_in * n_post],
            contrib_len: vec![0; n_post],
            fired: vec![0; n_post],
            forced: vec![0; n_post],
            rewarded: vec![0; n_post],
        }
    }

    /// Forgets spike timing (between independent runs); keeps s and counters.
    pub fn reset_timing(&mut self) {
        self.last_spike.fill(NEVER);
        self.tss_start.fill(NEVER);
        self.last_forced.fill(false);
        self.contrib.fill(false);
        self.contrib_len.fill(0);
    }

    /// Neuron j spikes at step t. Marks the contributing synapses (inputs that
    /// arrived since T_H steps before the TSS began) and, for a non-forced TSS,
    /// depresses each of them once by d_H·min(2^−s, 1). `kernel` chooses the
    /// implementation of the weight refresh (same results).
    #[allow(clippy::too_many_arguments)]
    pub fn on_spike(
        &mut self,
        syn: &mut Synapses,
        p: &Params,
        j: usize,
        t: i64,
        forced: bool,
        last_arrival: &[i64],
        kernel: Kernel,
    ) {
        let continues = !forced
            && !self.last_forced[j]
            && self.last_spike[j] != NEVER
            && t - self.last_spike[j] <= i64::from(p.max_isi);
        let row = &mut self.contrib[j * self.n_in..(j + 1) * self.n_in];
        let list = &mut self.contrib_list[j * self.n_in..(j + 1) * self.n_in];
        if !continues {
            row.fill(false);
            self.contrib_len[j] = 0;
            self.tss_start[j] = t;
            // Manual: the first firing of a TSS and every forced firing move s by r·d_H.
            self.stability[j] =
                stability::on_firing(self.stability[j], p.stability_ratio, p.hebbian);
        }
        self.last_spike[j] = t;
        self.last_forced[j] = forced;
        if forced {
            self.forced[j] += 1;
        } else {
            self.fired[j] += 1;
        }
        let since = self.tss_start[j] - i64::from(p.hebbian_window);
        let dw = p.hebbian * stability::factor(self.stability[j]);
        let mut changed = false;
        if kernel.is_reference() {
            let mut n = self.contrib_len[j];
            for (i, (&a, c)) in last_arrival.iter().zip(row.iter_mut()).enumerate() {
                if a > since && !*c {
                    *c = true;
                    list[n] = i as u32;
                    n += 1;
                    if !forced && dw != 0.0 {
                        syn.change(j, i, dw);
                        changed = true;
                    }
                }
            }
            self.contrib_len[j] = n;
        } else {
            // Marks the new contributors, appending them to the list in input order,
            // then depresses them all at once (the same dW on each, the same
            // subtractions from the pool), as the loop above does one by one.
            let from = self.contrib_len[j];
            let n = mark_with(kernel, last_arrival, since, row, list, from);
            self.contrib_len[j] = n;
            if !forced && dw != 0.0 && n > from {
                syn.change_all(j, &list[from..n], dw);
                changed = true;
            }
        }
        if changed {
            syn.settle_with(j, kernel);
        }
    }

    /// Reward r reaches neuron j at step t (3-factor rule): applied only if j fired at
    /// most T_D steps ago (after a forced firing only if r > 0), to the synapses
    /// contributing to its last TSS, scaled by min(2^−s, 1); then s per the table.
    /// Returns whether it was applied.
    /// `kernel` chooses the implementation of the weight refresh (same results).
    #[allow(clippy::too_many_arguments)]
    pub fn on_reward(
        &mut self,
        syn: &mut Synapses,
        p: &Params,
        j: usize,
        t: i64,
        r: f64,
        kernel: Kernel,
    ) -> bool {
        let last = self.last_spike[j];
        if r == 0.0 || last == NEVER || t - last > i64::from(p.dopamine_time) {
            return false;
        }
        let forced = self.last_forced[j];
        if forced && r < 0.0 {
            return false;
        }
        let dw = r * stability::factor(self.stability[j]);
        if kernel.is_reference() {
            let row = &self.contrib[j * self.n_in..(j + 1) * self.n_in];
            for (i, _) in row.iter().enumerate().filter(|(_, &c)| c) {
                syn.change(j, i, dw);
            }
        } else {
            // The contributors from their list, in the order they were marked: each
            // synapse gets the same dW, and the pool loses the same dW once per
            // synapse, so the order does not change any result.
            let list = &self.contrib_list[j * self.n_in..j * self.n_in + self.contrib_len[j]];
            syn.change_all(j, list, dw);
        }
        syn.settle_with(j, kernel);
        self.stability[j] = stability::on_reward(self.stability[j], p.stability_ratio, r, forced);
        self.rewarded[j] += 1;
        true
    }

    /// Contributing synapses of neuron j's current TSS as a list, in the order they
    /// were marked (for tests and inspection).
    pub fn contributing_list(&self, j: usize) -> &[u32] {
        &self.contrib_list[j * self.n_in..j * self.n_in + self.contrib_len[j]]
    }

    /// Contributing flags of neuron j (for tests and inspection).
    pub fn contributing(&self, j: usize) -> &[bool] {
        &self.contrib[j * self.n_in..(j + 1) * self.n_in]
    }
}

/// Marks the inputs that arrived after `since` and are not marked yet, appending them
/// to `list` from `n` on, in input order; returns the new length. The arrivals are
/// compared 64 at a time into a bit mask (vectorised); only its set bits are looked at
/// one by one.
#[inline(always)]
fn mark(last_arrival: &[i64], since: i64, row: &mut [bool], list: &mut [u32], n: usize) -> usize {
    let mut n = n;
    for (k, chunk) in last_arrival.chunks(64).enumerate() {
        let mut m = 0u64;
        for (b, &a) in chunk.iter().enumerate() {
            m |= u64::from(a > since) << b;
        }
        while m != 0 {
            let i = k * 64 + m.trailing_zeros() as usize;
            m &= m - 1;
            if !row[i] {
                row[i] = true;
                list[n] = i as u32;
                n += 1;
            }
        }
    }
    n
}

/// # Safety
/// The CPU supports AVX2, BMI1 and BMI2 (checked by the caller).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2")]
unsafe fn mark_avx2(
    last_arrival: &[i64],
    since: i64,
    row: &mut [bool],
    list: &mut [u32],
    n: usize,
) -> usize {
    mark(last_arrival, since, row, list, n)
}

/// [`mark`] in the AVX2 build where `kernel` runs it and the CPU has it.
fn mark_with(
    kernel: Kernel,
    last_arrival: &[i64],
    since: i64,
    row: &mut [bool],
    list: &mut [u32],
    n: usize,
) -> usize {
    #[cfg(target_arch = "x86_64")]
    if kernel.uses_avx2() && avx2_available() {
        // SAFETY: the CPU has AVX2, BMI1 and BMI2.
        return unsafe { mark_avx2(last_arrival, since, row, list, n) };
    }
    let _ = kernel;
    mark(last_arrival, since, row, list, n)
}
