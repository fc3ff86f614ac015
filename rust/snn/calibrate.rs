//! Scale calibration of docs/algorithms.md §2: choose α (one per layer, or one per kernel) by
//! bisection so the mean conv firing rate over a calibration sample equals
//! `target` spikes per neuron per frame.
//!
//! The rate is a non-decreasing step function of α in practice (more drive, more
//! spikes), so: start at α = 1, double (or halve) until the target is bracketed,
//! then bisect. Kernels never interact in the conv layer, so per-kernel calibration
//! runs all kernels' bisections side by side on the same simulations and costs no
//! more than the per-layer one. The rate only moves in steps of one spike per
//! sample, so exact equality is generally impossible: the search stops within
//! `rel_tol` of the target, or when the bracket collapses, and keeps the best α seen.

use crate::error::{Error, Result};

/// Search controls.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalibrationOptions {
    /// Target spikes per conv neuron per frame (> 0).
    pub target: f64,
    /// One α per kernel instead of one for the layer.
    pub per_kernel: bool,
    /// Stop when |rate − target| ≤ rel_tol · target.
    pub rel_tol: f64,
    /// Maximum number of rate evaluations (full simulations of the sample).
    pub max_evaluations: usize,
}

impl CalibrationOptions {
    pub fn new(target: f64, per_kernel: bool) -> Self {
        Self {
            target,
            per_kernel,
            rel_tol: 1e-3,
            max_evaluations: 80,
        }
    }
}

/// Result of a calibration.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// α per kernel (all equal for a per-layer calibration).
    pub scales: Vec<f64>,
    /// Rate of each kernel's neurons at `scales`.
    pub kernel_rates: Vec<f64>,
    /// Mean over all conv neurons at `scales`.
    pub rate: f64,
    pub evaluations: usize,
    /// Kernels whose own target was out of reach (per-kernel calibration only): each
    /// is given the lower median of the other kernels' scales, and its rate there.
    pub unreachable: Vec<usize>,
}

/// Scales beyond this mean the target is out of reach (e.g. a kernel without any
/// positive cell on the data).
const MAX_SCALE: f64 = 1e12;

/// One bisection: bracket [lo, hi] and the best point seen.
#[derive(Clone, Copy, Debug)]
struct Search {
    alpha: f64,
    lo: f64,
    hi: Option<f64>,
    best: (f64, f64), // (|rate − target|, α)
    best_rate: f64,
    done: bool,
}

impl Search {
    fn new() -> Self {
        Self {
            alpha: 1.0,
            lo: 0.0,
            hi: None,
            best: (f64::INFINITY, 1.0),
            best_rate: 0.0,
            done: false,
        }
    }

    /// Feeds the rate at the current α and moves α. Returns whether this α is the
    /// new best (ties go to the latest, which lies closest to the jump), or the rate
    /// reached at [`MAX_SCALE`] if the target is out of reach.
    fn update(&mut self, rate: f64, o: &CalibrationOptions) -> std::result::Result<bool, f64> {
        let err = (rate - o.target).abs();
        let improved = err <= self.best.0;
        if improved {
            self.best = (err, self.alpha);
            self.best_rate = rate;
        }
        if err <= o.rel_tol * o.target {
            self.done = true;
            return Ok(improved);
        }
        if rate < o.target {
            self.lo = self.alpha;
        } else {
            self.hi = Some(self.alpha);
        }
        self.alpha = match self.hi {
            None => {
                if self.alpha >= MAX_SCALE {
                    return Err(rate);
                }
                self.alpha * 2.0
            }
            Some(hi) if self.lo == 0.0 => hi / 2.0,
            Some(hi) => 0.5 * (self.lo + hi),
        };
        if let Some(hi) = self.hi {
            if self.lo > 0.0 && hi - self.lo <= 1e-12 * hi {
                self.done = true;
            }
            if self.lo == 0.0 && hi < 1e-300 {
                self.done = true;
            }
        }
        Ok(improved)
    }
}

/// What one evaluation of the search needs from the simulator.
pub struct Request<'a> {
    /// α per kernel.
    pub scales: &'a [f64],
    /// Kernels whose rate the search reads in this evaluation: every kernel for a
    /// per-layer search, the kernels whose bisection is not done yet for a per-kernel
    /// one. The others' rates may be returned as anything.
    pub needed: &'a [bool],
    searches: &'a [Search],
    options: &'a CalibrationOptions,
}

impl Request<'_> {
    /// Whether per-kernel rates that are *lower bounds* of the true rates already
    /// decide this evaluation exactly, so the rest of the sample need not be run.
    ///
    /// `lower` must be computed with the same formula as the true rates (count /
    /// neurons of the whole sample) from counts that can only grow: every floating
    /// point operation on the way (division by a positive constant, sums in a fixed
    /// order, subtraction of the target) is monotone, so the true rate's error is at
    /// least the bound's. The evaluation is decided when, for every group still
    /// searching, the bound lies above the target by more than both the tolerance
    /// and the best error seen: then `Search::update` sees "above, not the best, not
    /// done" whatever the rest of the sample adds, sets `hi` to α and moves α
    /// without reading the rate again. Returning `lower` as the rates then gives the
    /// search exactly the state the full pass would.
    pub fn decided(&self, lower: &[f64]) -> bool {
        let o = self.options;
        let tol = o.rel_tol * o.target;
        let above = |rate: f64, s: &Search| {
            let err = rate - o.target;
            rate > o.target && err > s.best.0 && err > tol
        };
        if o.per_kernel {
            self.searches
                .iter()
                .zip(lower)
                .all(|(s, &r)| s.done || above(r, s))
        } else {
            let rate = lower.iter().sum::<f64>() / lower.len() as f64;
            above(rate, &self.searches[0])
        }
    }
}

/// Runs the search. `rates(scales)` simulates the sample with α per kernel and
/// returns the mean rate of each kernel's neurons (every kernel has the same
/// number of neurons, so the layer rate is their plain mean).
pub fn calibrate(
    n_kernels: usize,
    o: &CalibrationOptions,
    mut rates: impl FnMut(&[f64]) -> Result<Vec<f64>>,
) -> Result<Calibration> {
    calibrate_with(n_kernels, o, |req| rates(req.scales))
}

/// The same search, with an evaluator that may skip kernels not
/// [`Request::needed`] and stop early once [`Request::decided`] holds for the
/// lower bounds it returns. Gives exactly the result of [`calibrate`] with the full
/// rates.
pub fn calibrate_with(
    n_kernels: usize,
    o: &CalibrationOptions,
    mut rates: impl FnMut(&Request<'_>) -> Result<Vec<f64>>,
) -> Result<Calibration> {
    if !(o.target.is_finite() && o.target > 0.0) {
        return Err(Error::param(
            "target_rate",
            format!("must be finite and > 0, got {}", o.target),
        ));
    }
    let groups = if o.per_kernel { n_kernels } else { 1 };
    let mut search = vec![Search::new(); groups];
    let mut kernel_rates = vec![0.0; n_kernels];
    let mut scales = vec![1.0; n_kernels];
    let mut needed = vec![true; n_kernels];
    let mut unreachable = vec![false; groups];
    let mut evaluations = 0;
    while evaluations < o.max_evaluations && search.iter().any(|s| !s.done) {
        for (a, s) in scales.iter_mut().enumerate() {
            *s = search[if o.per_kernel { a } else { 0 }].alpha;
        }
        if o.per_kernel {
            for (n, s) in needed.iter_mut().zip(&search) {
                *n = !s.done;
            }
        }
        let r = rates(&Request {
            scales: &scales,
            needed: &needed,
            searches: &search,
            options: o,
        })?;
        evaluations += 1;
        for (g, s) in search.iter_mut().enumerate().filter(|(_, s)| !s.done) {
            let rate = if o.per_kernel {
                kernel_rates[g] = r[g];
                r[g]
            } else {
                r.iter().sum::<f64>() / n_kernels as f64
            };
            let improved = match s.update(rate, o) {
                Ok(improved) => improved,
                // One kernel out of reach (no positive cell meets these images) need
                // not sink the others' calibration: it is settled after the search.
                Err(_) if o.per_kernel => {
                    s.done = true;
                    unreachable[g] = true;
                    false
                }
                Err(got) => return Err(out_of_reach(o.target, "the layer", got)),
            };
            if !o.per_kernel && improved {
                kernel_rates.copy_from_slice(&r);
            }
        }
    }
    for (a, s) in scales.iter_mut().enumerate() {
        *s = search[if o.per_kernel { a } else { 0 }].best.1;
    }
    if o.per_kernel {
        for (a, s) in search.iter().enumerate() {
            kernel_rates[a] = s.best_rate;
        }
    }
    let unreachable: Vec<usize> = (0..groups).filter(|&g| unreachable[g]).collect();
    if let Some(&first) = unreachable.first() {
        // The lower median of the reachable kernels' scales: a typical drive, where
        // the search's own last α (2^40) would make the kernel fire at full rate on
        // any image its positive cells do meet.
        let mut reached: Vec<f64> = (0..n_kernels)
            .filter(|a| !unreachable.contains(a))
            .map(|a| scales[a])
            .collect();
        if reached.is_empty() {
            return Err(out_of_reach(
                o.target,
                &format!("any kernel (kernel {first} first)"),
                search[first].best_rate,
            ));
        }
        reached.sort_by(f64::total_cmp);
        let median = reached[(reached.len() - 1) / 2];
        for &a in &unreachable {
            scales[a] = median;
        }
        // Their rates at that scale: one more evaluation, of those kernels only, with
        // their searches marked undecided so the evaluator runs the whole sample.
        let mut settle = search.clone();
        for (a, (s, n)) in settle.iter_mut().zip(needed.iter_mut()).enumerate() {
            *n = unreachable.contains(&a);
            s.done = !*n;
            s.best.0 = f64::INFINITY;
        }
        let r = rates(&Request {
            scales: &scales,
            needed: &needed,
            searches: &settle,
            options: o,
        })?;
        evaluations += 1;
        for &a in &unreachable {
            kernel_rates[a] = r[a];
        }
    }
    let rate = kernel_rates.iter().sum::<f64>() / n_kernels.max(1) as f64;
    Ok(Calibration {
        scales,
        kernel_rates,
        rate,
        evaluations,
        unreachable,
    })
}

/// The target is out of reach of `which`: its rate at [`MAX_SCALE`] was `got`.
fn out_of_reach(target: f64, which: &str, got: f64) -> Error {
    Error::param(
        "target_rate",
        format!(
            "{target} cannot be reached by {which}: at scale {MAX_SCALE:e} its rate is only \
             {got} (kernels without positive cells on these images?)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth monotone stand-in: kernel a's rate is c_a · α² (capped at 15).
    fn fake(c: Vec<f64>) -> impl FnMut(&[f64]) -> Result<Vec<f64>> {
        move |s| {
            Ok(s.iter()
                .zip(&c)
                .map(|(a, c)| (c * a * a).min(15.0))
                .collect())
        }
    }

    #[test]
    fn per_layer_hits_the_mean() {
        let o = CalibrationOptions::new(1.0, false);
        let cal = calibrate(3, &o, fake(vec![0.01, 0.02, 0.03])).unwrap();
        assert!((cal.rate - 1.0).abs() <= 1e-3, "{cal:?}");
        assert!(cal.scales.iter().all(|&s| s == cal.scales[0]));
        // 0.02 α² = 1  →  α = √50.
        assert!((cal.scales[0] - 50f64.sqrt()).abs() < 0.01);
    }

    #[test]
    fn per_kernel_hits_each_kernel() {
        let o = CalibrationOptions::new(2.0, true);
        let cal = calibrate(3, &o, fake(vec![100.0, 1.0, 0.001])).unwrap();
        for r in &cal.kernel_rates {
            assert!((r - 2.0).abs() <= 2e-3, "{cal:?}");
        }
        assert!((cal.scales[2] - 2000f64.sqrt()).abs() < 0.1);
    }

    #[test]
    fn unreachable_target_is_an_error() {
        let o = CalibrationOptions::new(1.0, false);
        let e = calibrate(2, &o, fake(vec![0.0, 0.0])).unwrap_err();
        assert!(e.to_string().contains("the layer"), "{e}");
        let o = CalibrationOptions::new(1.0, true);
        let e = calibrate(2, &o, fake(vec![0.0, 0.0])).unwrap_err();
        assert!(e.to_string().contains("any kernel (kernel 0 first)"), "{e}");
    }

    #[test]
    fn an_unreachable_kernel_gets_the_median_scale_of_the_others() {
        // Kernels 1 and 3 never fire; 0, 2 and 4 reach the target as they would alone.
        let c = vec![100.0, 0.0, 1.0, 0.0, 0.25];
        let o = CalibrationOptions::new(2.0, true);
        let cal = calibrate(5, &o, fake(c.clone())).unwrap();
        assert_eq!(cal.unreachable, vec![1, 3]);
        for a in [0, 2, 4] {
            let alone = calibrate(1, &o, fake(vec![c[a]])).unwrap();
            assert_eq!(cal.scales[a], alone.scales[0], "kernel {a}");
            assert_eq!(cal.kernel_rates[a], alone.kernel_rates[0], "kernel {a}");
        }
        // The lower median of the three reached scales is kernel 2's.
        assert_eq!(cal.scales[1], cal.scales[2]);
        assert_eq!(cal.scales[3], cal.scales[2]);
        assert_eq!((cal.kernel_rates[1], cal.kernel_rates[3]), (0.0, 0.0));
        let mean = cal.kernel_rates.iter().sum::<f64>() / 5.0;
        assert_eq!(cal.rate, mean);
        // A kernel that fires a little at the median scale reports that rate.
        let c = vec![1.0, 1e-30, 4.0];
        let cal = calibrate(3, &o, fake(c.clone())).unwrap();
        assert_eq!(cal.unreachable, vec![1]);
        let s = cal.scales[1];
        assert_eq!(s, cal.scales[0].min(cal.scales[2]));
        assert_eq!(cal.kernel_rates[1], fake(c)(&[s, s, s]).unwrap()[1]);
    }

    #[test]
    fn step_functions_stop_at_the_closest_point() {
        // Rate jumps from 0.5 to 1.5 at α = 3: the target 1 is never hit exactly.
        let o = CalibrationOptions::new(1.0, false);
        let cal = calibrate(1, &o, |s| Ok(vec![if s[0] < 3.0 { 0.5 } else { 1.5 }])).unwrap();
        assert_eq!(cal.rate, 0.5);
        assert!(cal.evaluations <= o.max_evaluations);
        assert!((cal.scales[0] - 3.0).abs() < 1e-6);
    }
}
