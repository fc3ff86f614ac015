//! STDP of the input → excitatory weights: BindsNET's `PostPre` rule with
//! nearest-spike traces, plus the weight normalisation of Diehl & Cook.
//!
//! Traces jump to 1 on a spike and decay with `tc_trace`. On a presynaptic spike of
//! input i: w[i, ·] −= nu_pre · x_post (depression: post fired shortly *before*).
//! On a postsynaptic spike of neuron j: w[·, j] += nu_post · x_pre (potentiation: pre
//! fired shortly before). Weights are then kept in [0, w_max].
//! Weights are stored input-major (`w[i * n + j]`) so an input spike reads and
//! updates one contiguous row.

/// Presynaptic traces, evaluated lazily: only the last spike step of each input is
/// stored, and the trace is read from a table of decay powers. With hundreds of inputs
/// and few postsynaptic spikes this avoids decaying every trace every step.
#[derive(Debug, Clone)]
pub struct PreTrace {
    last: Vec<i64>,
    pow: Vec<f64>,
}

const NEVER: i64 = i64::MIN;

impl PreTrace {
    pub fn new(n_inputs: usize, time: usize, tc_trace: f64) -> Self {
        let d = (-1.0 / tc_trace).exp();
        let mut pow = Vec::with_capacity(time + 1);
        let mut x = 1.0;
        for _ in 0..=time {
            pow.push(x);
            x *= d;
        }
        Self {
            last: vec![NEVER; n_inputs],
            pow,
        }
    }

    pub fn reset_state(&mut self) {
        self.last.fill(NEVER);
    }

    #[inline]
    pub fn mark(&mut self, t: usize, spikes: &[u32]) {
        for &i in spikes {
            self.last[i as usize] = t as i64;
        }
    }

    /// Trace of input `i` at step `t` (after the spikes of step t were marked).
    #[inline]
    pub fn value(&self, i: usize, t: usize) -> f64 {
        let l = self.last[i];
        if l == NEVER {
            0.0
        } else {
            self.pow[(t as i64 - l) as usize]
        }
    }
}

/// Postsynaptic traces, decayed every step (there are few neurons).
#[derive(Debug, Clone)]
pub struct PostTrace {
    pub x: Vec<f64>,
    decay: f64,
}

impl PostTrace {
    pub fn new(n: usize, tc_trace: f64) -> Self {
        Self {
            x: vec![0.0; n],
            decay: (-1.0 / tc_trace).exp(),
        }
    }

    pub fn reset_state(&mut self) {
        self.x.fill(0.0);
    }

    #[inline]
    pub fn step(&mut self, spikes: &[usize]) {
        for x in &mut self.x {
            *x *= self.decay;
        }
        for &j in spikes {
            self.x[j] = 1.0;
        }
    }
}

/// Depression of one input's row on its spike (clamping is done by the caller after
/// the potentiation of the same step, as BindsNET clamps once per step).
#[inline]
pub fn depress_row(row: &mut [f64], x_post: &[f64], nu_pre: f64) {
    for (w, &x) in row.iter_mut().zip(x_post) {
        *w -= nu_pre * x;
    }
}

/// Potentiation of neuron `j`'s column on its spike at step `t`, then clamping.
pub fn potentiate_column(
    w: &mut [f64],
    n: usize,
    j: usize,
    pre: &PreTrace,
    t: usize,
    nu_post: f64,
    w_max: f64,
) {
    for (i, wij) in w.iter_mut().skip(j).step_by(n).enumerate() {
        *wij = (*wij + nu_post * pre.value(i, t)).clamp(0.0, w_max);
    }
}

#[inline]
pub fn clamp_row(row: &mut [f64], w_max: f64) {
    for w in row {
        *w = w.clamp(0.0, w_max);
    }
}

/// Scales each neuron's input weights to sum exactly `norm` (Diehl & Cook: before every
/// example). A column of zeros stays zero: there is nothing to scale. `sums` is scratch
/// of length n.
pub fn normalise_columns(w: &mut [f64], n: usize, norm: f64, sums: &mut [f64]) {
    sums.fill(0.0);
    for row in w.chunks_exact(n) {
        for (s, &x) in sums.iter_mut().zip(row) {
            *s += x;
        }
    }
    for s in sums.iter_mut() {
        *s = if *s > 0.0 { norm / *s } else { 0.0 };
    }
    for row in w.chunks_exact_mut(n) {
        for (x, &f) in row.iter_mut().zip(sums.iter()) {
            *x *= f;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_before_post_potentiates_post_before_pre_depresses() {
        // One input, one neuron, w = 0.5, traces tau = 20.
        let (nu_pre, nu_post) = (1e-4, 1e-2);
        let d: f64 = (-1.0f64 / 20.0).exp();
        // Pre at step 0, post at step 3: potentiation by nu_post * d^3.
        let mut pre = PreTrace::new(1, 10, 20.0);
        let mut w = vec![0.5];
        pre.mark(0, &[0]);
        potentiate_column(&mut w, 1, 0, &pre, 3, nu_post, 1.0);
        assert!((w[0] - (0.5 + nu_post * d.powi(3))).abs() < 1e-15);
        // Post at step 0, pre at step 3: depression by nu_pre * d^3.
        let mut post = PostTrace::new(1, 20.0);
        post.step(&[0]);
        for _ in 0..3 {
            post.step(&[]);
        }
        let mut row = vec![0.5];
        depress_row(&mut row, &post.x, nu_pre);
        assert!((row[0] - (0.5 - nu_pre * d.powi(3))).abs() < 1e-15);
        // No earlier pre spike: no potentiation.
        let fresh = PreTrace::new(1, 10, 20.0);
        let mut w = vec![0.5];
        potentiate_column(&mut w, 1, 0, &fresh, 3, nu_post, 1.0);
        assert_eq!(w[0], 0.5);
    }

    #[test]
    fn potentiation_clamps_and_touches_one_column() {
        let mut pre = PreTrace::new(2, 5, 20.0);
        pre.mark(1, &[0, 1]);
        let mut w = vec![0.999, 0.2, 0.3, 0.4]; // 2 inputs × 2 neurons
        potentiate_column(&mut w, 2, 0, &pre, 1, 0.01, 1.0);
        assert_eq!(w, [1.0, 0.2, 0.31, 0.4]);
        let mut r = vec![-0.1, 0.5, 1.5];
        clamp_row(&mut r, 1.0);
        assert_eq!(r, [0.0, 0.5, 1.0]);
    }

    #[test]
    fn normalisation_makes_column_sums_exact() {
        let mut w: Vec<f64> = (0..12).map(|k| (k as f64 * 0.37).sin().abs()).collect();
        w[1] = 0.0;
        w[4] = 0.0;
        w[7] = 0.0;
        w[10] = 0.0; // column 1 of 3 is all zero
        let mut s = vec![0.0; 3];
        normalise_columns(&mut w, 3, 7.84, &mut s);
        for j in [0, 2] {
            let sum: f64 = (0..4).map(|i| w[i * 3 + j]).sum();
            assert!((sum - 7.84).abs() < 1e-12, "{sum}");
        }
        assert!((0..4).all(|i| w[i * 3 + 1] == 0.0));
    }
}
