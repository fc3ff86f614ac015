//! The digital (non-spiking) CoLaNET of docs/algorithms.md §4: one dense excitation per
//! example instead of a spike simulation, with the same plasticity laws.
//!
//! Per example: counts n_i, excitation U_j = Σ_i w_ji·n_i, threshold
//! θ_j = H + k·Σw⁺_j; a microcolumn fires iff U_j ≥ θ_j and each column keeps its
//! largest-margin firer. Training: every column winner is depressed (anti-Hebbian) on
//! the active inputs; the winner of the label's column is then rewarded; if that
//! column stayed silent, its largest-margin microcolumn is forced and rewarded
//! (recruitment); the free pools are settled. Stability follows the spiking rules
//! exactly (a forced firing also moves s by r·d_H before its reward) so the two
//! learners share one meaning per hyperparameter.

use rand_pcg::Pcg64;

use super::neuron::uniform;
use super::params::Params;
use super::stability;
use super::synapses::Synapses;

/// What one training example did, for usage statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The neuron of the label's column that was rewarded, if any.
    pub rewarded: Option<usize>,
    /// Whether it had to be forced (recruitment).
    pub forced: bool,
    /// Number of winners in wrong columns (depressed without reward).
    pub wrong: u32,
}

#[derive(Debug, Clone)]
pub struct DigitalCopy {
    pub params: Params,
    pub syn: Synapses,
    pub stability: Vec<f64>,
    /// Own firings, forced firings and rewards per neuron.
    pub fired: Vec<u64>,
    pub forced: Vec<u64>,
    pub rewarded: Vec<u64>,
    /// Potential left at the end of the presentation by one input of count n (index n).
    drive: Vec<f64>,
}

/// Leak refinement of docs/algorithms.md §4 step 2: a spike arriving d steps before the end of
/// the presentation counts (1 − 1/τ_v)^d, so with τ_v = ∞ the drive is the count n
/// itself and with τ_v = 3 it is the spiking L neuron's potential at the last input
/// step (if it did not fire earlier). Spike times are those of the spiking encoder.
pub fn drive_table(p: &Params) -> Vec<f64> {
    let t_p = p.presentation_steps;
    let decay = 1.0 - 1.0 / p.tau_v;
    (0..=t_p)
        .map(|n| {
            (0..t_p)
                .filter(|&k| super::encode::emits(n, k, t_p))
                .map(|k| decay.powi((t_p - 1 - k) as i32))
                .sum()
        })
        .collect()
}

/// Per-example working memory, kept apart so inference can share a frozen copy.
#[derive(Debug, Clone)]
pub struct Scratch {
    /// Margins U_j − θ_j.
    pub margin: Vec<f64>,
    active: Vec<usize>,
    winners: Vec<Option<(usize, f64)>>,
}

impl DigitalCopy {
    pub fn new(params: Params) -> Self {
        let n = params.n_learning();
        let syn = Synapses::new(
            params.n_inputs,
            n,
            (params.w_min, params.w_max),
            params.silent_synapses,
            params.renorm_threshold,
            params.initial_resource(),
        );
        Self {
            syn,
            stability: vec![0.0; n],
            fired: vec![0; n],
            forced: vec![0; n],
            rewarded: vec![0; n],
            drive: drive_table(&params),
            params,
        }
    }

    pub fn scratch(&self) -> Scratch {
        Scratch {
            margin: vec![0.0; self.params.n_learning()],
            active: Vec::with_capacity(self.params.n_inputs),
            winners: vec![None; self.params.n_classes],
        }
    }

    /// Margins U_j − θ_j for all j and the per-column winners (largest margin among
    /// U ≥ θ, ties at random).
    fn excite(&self, counts: &[u8], s: &mut Scratch, rng: &mut Pcg64) {
        let p = &self.params;
        s.margin.fill(0.0);
        s.active.clear();
        for (i, &n) in counts.iter().enumerate() {
            if n > 0 {
                s.active.push(i);
                let n = self.drive[usize::from(n)];
                for (u, w) in s.margin.iter_mut().zip(self.syn.weight_row(i)) {
                    *u += n * w;
                }
            }
        }
        // Stochastic stimulation σ·ξ per step, leaked like the input (ξ ~ U[0, 1)).
        let decay = 1.0 - 1.0 / p.tau_v;
        for (j, u) in s.margin.iter_mut().enumerate() {
            if p.stochastic > 0.0 {
                let mut g = 1.0;
                for _ in 0..p.presentation_steps {
                    *u += p.stochastic * g * uniform(rng);
                    g *= decay;
                }
            }
            *u -= p.threshold + p.threshold_excess * self.syn.pos_sum(j);
        }
        let m = p.microcolumns;
        for c in 0..p.n_classes {
            s.winners[c] =
                argmax(&s.margin[c * m..(c + 1) * m], true, None, rng).map(|(j, v)| (c * m + j, v));
        }
    }

    /// Class of the largest-margin winner, if any microcolumn fires.
    pub fn predict_one(&self, counts: &[u8], s: &mut Scratch, rng: &mut Pcg64) -> Option<usize> {
        self.excite(counts, s, rng);
        let m = self.params.microcolumns;
        let mut best: Option<(usize, f64)> = None;
        for &(j, v) in s.winners.iter().flatten() {
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((j, v));
            }
        }
        best.map(|(j, _)| j / m)
    }

    fn change_active(&mut self, j: usize, active: &[usize], dw: f64) {
        for &i in active {
            self.syn.change(j, i, dw);
        }
        self.syn.settle(j);
    }

    /// Steps 1–8 of docs/algorithms.md §4 for one example.
    pub fn train_one(
        &mut self,
        counts: &[u8],
        label: usize,
        s: &mut Scratch,
        rng: &mut Pcg64,
    ) -> Outcome {
        self.excite(counts, s, rng);
        let p = self.params.clone();
        let (r, m) = (p.stability_ratio, p.microcolumns);
        let mut out = Outcome::default();
        // Anti-Hebbian on every column winner.
        for c in 0..p.n_classes {
            if let Some((j, _)) = s.winners[c] {
                self.fired[j] += 1;
                self.stability[j] = stability::on_firing(self.stability[j], r, p.hebbian);
                let dw = p.hebbian * stability::factor(self.stability[j]);
                self.change_active(j, &s.active, dw);
                if c != label {
                    out.wrong += 1;
                }
            }
        }
        // Reward the label column's winner, or force and reward its best neuron.
        let (j, forced) = match s.winners[label] {
            Some((j, _)) => (j, false),
            None => {
                let col = &s.margin[label * m..(label + 1) * m];
                let unused = |k: usize| self.fired[label * m + k] + self.forced[label * m + k] == 0;
                let (k, _) = argmax(col, false, Some(&unused), rng).expect("M >= 1");
                let j = label * m + k;
                self.forced[j] += 1;
                self.stability[j] = stability::on_firing(self.stability[j], r, p.hebbian);
                (j, true)
            }
        };
        let dw = p.reward * stability::factor(self.stability[j]);
        self.change_active(j, &s.active, dw);
        self.stability[j] = stability::on_reward(self.stability[j], r, p.reward, forced);
        self.rewarded[j] += 1;
        out.rewarded = Some(j);
        out.forced = forced;
        out
    }
}

/// Index and value of the maximum (only values ≥ 0 when `firing`); ties prefer
/// `preferred` entries, then uniformly at random.
fn argmax(
    v: &[f64],
    firing: bool,
    preferred: Option<&dyn Fn(usize) -> bool>,
    rng: &mut Pcg64,
) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64, bool)> = None;
    let mut ties = 0u32;
    for (j, &x) in v.iter().enumerate() {
        if firing && x < 0.0 {
            continue;
        }
        let pref = preferred.is_some_and(|f| f(j));
        match best {
            Some((_, b, bp)) if x < b || (x == b && bp && !pref) => {}
            Some((_, b, bp)) if x == b && bp == pref => {
                ties += 1;
                if uniform(rng) * f64::from(ties) < 1.0 {
                    best = Some((j, x, pref));
                }
            }
            _ => {
                best = Some((j, x, pref));
                ties = 1;
            }
        }
    }
    best.map(|(j, x, _)| (j, x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;

    fn two_class() -> Params {
        Params {
            n_inputs: 4,
            n_classes: 2,
            microcolumns: 3,
            silent_synapses: Some(0),
            tau_v: f64::INFINITY,
            // Two inputs of 10 spikes reach at most 20·w_max ≈ 1.85.
            threshold: 1.0,
            ..Params::default()
        }
    }

    #[test]
    fn drive_is_the_count_without_leak_and_the_potential_with_it() {
        let p = Params {
            tau_v: f64::INFINITY,
            ..Params::default()
        };
        assert_eq!(drive_table(&p), (0..=10).map(f64::from).collect::<Vec<_>>());
        let p = Params::default();
        let d = drive_table(&p);
        // 10 spikes, decay 2/3: the geometric sum 3·(1 − (2/3)^10).
        assert!((d[10] - 3.0 * (1.0 - (2.0f64 / 3.0).powi(10))).abs() < 1e-12);
        // 5 spikes at steps 1, 3, 5, 7, 9: the last arrives at the end.
        let r: f64 = 4.0 / 9.0;
        assert!((d[5] - (1.0 + r + r * r + r.powi(3) + r.powi(4))).abs() < 1e-12);
    }

    #[test]
    fn recruits_then_answers_and_conserves_resource() {
        let mut net = DigitalCopy::new(two_class());
        let mut r = rng::stream(1, rng::purpose::NETWORK, 0);
        let mut s = net.scratch();
        let total0: f64 = net.syn.resource().iter().sum();
        let a = [10u8, 10, 0, 0];
        let b = [0u8, 0, 10, 10];
        assert_eq!(net.predict_one(&a, &mut s, &mut r), None);
        let o = net.train_one(&a, 0, &mut s, &mut r);
        assert!(o.forced && o.rewarded.unwrap() < 3);
        let mut answered = false;
        for _ in 0..200 {
            net.train_one(&a, 0, &mut s, &mut r);
            net.train_one(&b, 1, &mut s, &mut r);
            if net.predict_one(&a, &mut s, &mut r) == Some(0)
                && net.predict_one(&b, &mut s, &mut r) == Some(1)
            {
                answered = true;
                break;
            }
        }
        assert!(answered, "never learned the two patterns");
        let total: f64 =
            net.syn.resource().iter().sum::<f64>() + net.syn.free().iter().sum::<f64>();
        assert!((total - total0).abs() < 1e-9, "{total} vs {total0}");
    }

    #[test]
    fn forced_neuron_gains_exactly_the_reward_on_active_inputs() {
        let p = Params {
            silent_synapses: None,
            ..two_class()
        };
        let w0 = p.initial_resource();
        let mut net = DigitalCopy::new(p);
        let mut r = rng::stream(2, rng::purpose::NETWORK, 0);
        let mut s = net.scratch();
        let o = net.train_one(&[3, 0, 0, 1], 1, &mut s, &mut r);
        let j = o.rewarded.unwrap();
        assert!(o.forced && (3..6).contains(&j));
        let row = &net.syn.resource()[j * 4..(j + 1) * 4];
        assert!((row[0] - (w0 + 0.18)).abs() < 1e-12);
        assert_eq!(row[1], w0);
        assert!((row[3] - (w0 + 0.18)).abs() < 1e-12);
        // s: forced firing r·d_H (clipped at 0), then forced reward −r·D (clipped).
        assert_eq!(net.stability[j], 0.0);
    }
}
