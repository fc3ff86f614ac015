//! One copy of the spiking CoLaNET v2 (docs/algorithms.md §3): C columns of M learning neurons
//! L, one OUT and one BIASGATE per column, and one Target node per class.
//!
//! Links (delay 1 unless stated): R→L plastic; L→L gating within a column (lateral
//! WTA); L→OUT; OUT→BIASGATE gating; Target→BIASGATE; BIASGATE→L forcing; Target→L
//! reward (delay 3) to its own column; Target→all L reset (delay 4).
//!
//! Frame timeline (local step k, docs/algorithms.md §3 with P = 15, T_p = 10, label at 9): inputs
//! emit at k < T_p and reach L at k+1; the label's Target spike at k = 9 excites its
//! BIASGATE at 10, which fires unless its OUT fired at k ≤ 9; the forced L fires at
//! 11; the reward arrives at 12 and the reset at 13.
//!
//! The learned state ([`Synapses`], [`Learning`]) is separate from the running state
//! ([`Dynamics`]), so inference runs any number of independent frames in parallel
//! against a frozen copy.

use rand_pcg::Pcg64;

use super::encode::Schedule;
#[cfg(all(target_arch = "x86_64", snnconv_avx512))]
use super::lanes::avx512_available;
use super::lanes::{avx2_available, sum_rows, sum_schedule, sum_schedules, Kernel};
use super::neuron::{uniform, Lif};
use super::params::Params;
use super::plasticity::{Learning, NEVER};
use super::synapses::Synapses;

/// Examples whose input sums [`Network::infer_block`] makes together: their sums
/// (10 steps × 200 neurons of f64 each, 16 KB) and a 32-neuron slice of the weights
/// (0.6 MB at 2,475 inputs) stay in a 2 MB L2 cache together. (16 was 10 % slower on
/// such a model, 64 no faster.)
pub const SUM_BLOCK: usize = 32;

/// Fixed link weights and delays (docs/algorithms.md §3, §12.B). Helper neurons (OUT,
/// BIASGATE) have no memory: they fire iff this step's input reaches `helper_threshold`.
#[derive(Debug, Clone, PartialEq)]
pub struct Links {
    /// L→L gating within a column: block the other L for this many steps.
    pub lateral_block: u32,
    /// L→OUT weight.
    pub l_out: f64,
    /// OUT→BIASGATE gating: block the gate for this many steps.
    pub out_gate_block: u32,
    /// Target→BIASGATE weight.
    pub target_gate: f64,
    /// BIASGATE→L forcing weight.
    pub forcing: f64,
    /// Target→L reward delay.
    pub reward_delay: u32,
    /// Target→all L reset weight and delay.
    pub reset: f64,
    pub reset_delay: u32,
    /// Threshold of OUT and BIASGATE.
    pub helper_threshold: f64,
}

impl Default for Links {
    fn default() -> Self {
        Self {
            lateral_block: 10,
            l_out: 10.0,
            out_gate_block: 10,
            target_gate: 20.0,
            forcing: 10.0,
            reward_delay: 3,
            reset: -30.0,
            reset_delay: 4,
            helper_threshold: 8.571,
        }
    }
}

/// Running state of one copy: potentials, blocks, spikes of the previous step.
#[derive(Debug, Clone)]
pub struct Dynamics {
    pub l: Lif,
    /// Step at which each input's last spike reached L.
    pub last_arrival: Vec<i64>,
    /// Global step counter (the next step to run).
    pub t: i64,
    /// L spikes of the current step: (neuron, forced).
    pub spikes: Vec<(usize, bool)>,
    /// Winner of each column in the previous step.
    prev_winner: Vec<Option<usize>>,
    pub out: Vec<bool>,
    pub gate: Vec<bool>,
    gate_block: Vec<u32>,
    /// Last Target spike: (step, class).
    target: Option<(i64, usize)>,
    /// Column whose L received a reward this step, and whether the reset arrived.
    pub reward_column: Option<usize>,
    pub reset_arrived: bool,
    /// OUT spikes per class since the last [`Dynamics::clear_votes`].
    pub votes: Vec<u32>,
    pub schedule: Schedule,
    /// Implementation of [`step`] (and of the schedule fill) this state runs with.
    pub kernel: Kernel,
    /// Four-neuron chunks holding an awake neuron in the current step (fast kernels).
    chunks: Vec<u32>,
    /// Input sums of every step of the current frame, (steps, weight stride), kept
    /// by the frame drivers of the fast kernels; valid while `sums_ready`.
    sums: Vec<f64>,
    sums_ready: bool,
    /// Awake neurons at or above threshold in the current step (fast kernels).
    candidate: Vec<bool>,
    /// Whether `l.forced` may hold a `true` (fast kernels refill it only then or when
    /// a gate fires).
    forced_set: bool,
}

impl Dynamics {
    pub fn new(p: &Params) -> Self {
        let c = p.n_classes;
        Self {
            l: Lif::new(p.n_learning(), p.tau_v),
            last_arrival: vec![NEVER; p.n_inputs],
            t: 0,
            spikes: Vec::with_capacity(c),
            prev_winner: vec![None; c],
            out: vec![false; c],
            gate: vec![false; c],
            gate_block: vec![0; c],
            target: None,
            reward_column: None,
            reset_arrived: false,
            votes: vec![0; c],
            schedule: Schedule::default(),
            kernel: Kernel::from_env(),
            chunks: Vec::with_capacity(p.n_learning().div_ceil(4)),
            sums: Vec::new(),
            sums_ready: false,
            candidate: vec![false; p.n_learning()],
            forced_set: false,
        }
    }

    /// Sets the frame's spike schedule from its counts.
    pub fn fill_schedule(&mut self, counts: &[u8], t_p: u32) {
        self.sums_ready = false;
        fill(self.kernel, &mut self.schedule, counts, t_p);
    }

    /// Back to rest (used before every inference frame, so frames are independent).
    pub fn reset(&mut self) {
        self.l.reset();
        self.last_arrival.fill(NEVER);
        self.t = 0;
        self.sums_ready = false;
        self.spikes.clear();
        self.prev_winner.fill(None);
        self.out.fill(false);
        self.gate.fill(false);
        self.gate_block.fill(0);
        self.target = None;
        self.reward_column = None;
        self.reset_arrived = false;
        self.votes.fill(0);
    }

    pub fn clear_votes(&mut self) {
        self.votes.fill(0);
    }

    /// Start of a frame driven by this module (fast kernels): the input sums of all
    /// its steps from the current weights, so each weight row is read once per frame
    /// instead of once per step.
    fn prepare_sums(&mut self, syn: &Synapses, sched: &Schedule) {
        if self.kernel.is_reference() {
            return;
        }
        let (w, stride) = syn.padded_weights();
        self.sums.resize(sched.steps() * stride, 0.0);
        sum_schedule(self.kernel, w, stride, sched, &mut self.sums);
        self.sums_ready = true;
    }

    /// After the plasticity of local step k: the neurons that spiked or were offered
    /// the reward may have new weights, so their sums for the inputs still to come
    /// (emitted at k and later) are summed again, in the same order.
    fn refresh_sums(&mut self, syn: &Synapses, sched: &Schedule, m: usize, k: u32) {
        let from = k as usize;
        if !self.sums_ready || from >= sched.steps() {
            return;
        }
        let (w, stride) = syn.padded_weights();
        let Dynamics {
            spikes,
            reward_column,
            sums,
            ..
        } = self;
        let mut again = |j: usize| {
            for s in from..sched.steps() {
                let mut acc = 0.0;
                for &i in sched.at(s as u32) {
                    acc += w[i as usize * stride + j];
                }
                sums[s * stride + j] = acc;
            }
        };
        for &(j, _) in spikes.iter() {
            again(j);
        }
        if let Some(c) = *reward_column {
            (c * m..(c + 1) * m).for_each(&mut again);
        }
    }
}

/// Fills `sched` with the fill of `kernel`.
fn fill(kernel: Kernel, sched: &mut Schedule, counts: &[u8], t_p: u32) {
    if kernel.is_reference() {
        sched.fill_reference(counts, t_p);
    } else {
        sched.fill(counts, t_p);
    }
}

/// L neuron threshold θ_j = H + k·Σ_i max(w_ji, 0).
#[inline]
pub fn threshold(p: &Params, syn: &Synapses, j: usize) -> f64 {
    p.threshold + p.threshold_excess * syn.pos_sum(j)
}

/// Advances one step at local frame step `k`. `label` makes that class's Target
/// node spike in this step. Records L spikes, OUT/BIASGATE spikes and reward/reset
/// arrivals in `d`; plasticity is applied separately by [`learn_step`].
///
/// Runs with `d.kernel`: [`step_reference`], or the fast step, which gives the same
/// results bit for bit: it applies the lateral gating before the input sum (it only
/// depends on last step's winners) and sums the input only for the four-neuron chunks
/// holding an awake neuron, each neuron's weights added in the same order from the
/// same +0.0. A blocked neuron's input is never read (it keeps its potential), so
/// its entry of `d.l.input` is left unsummed.
pub fn step(
    p: &Params,
    links: &Links,
    syn: &Synapses,
    d: &mut Dynamics,
    k: u32,
    label: Option<usize>,
    rng: &mut Pcg64,
) {
    let sched = std::mem::take(&mut d.schedule);
    step_with(p, links, syn, d, &sched, k, label, rng);
    d.schedule = sched;
}

/// [`step`] with the frame's schedule `sched` in place of `d.schedule` (so the copies
/// of an ensemble can share one schedule per example).
#[allow(clippy::too_many_arguments)]
pub fn step_with(
    p: &Params,
    links: &Links,
    syn: &Synapses,
    d: &mut Dynamics,
    sched: &Schedule,
    k: u32,
    label: Option<usize>,
    rng: &mut Pcg64,
) {
    if d.kernel.is_reference() {
        step_reference(p, links, syn, d, sched, k, label, rng);
    } else {
        step_fast(p, links, syn, d, sched, k, label, rng);
    }
}

#[allow(clippy::too_many_arguments)]
fn step_fast(
    p: &Params,
    links: &Links,
    syn: &Synapses,
    d: &mut Dynamics,
    sched: &Schedule,
    k: u32,
    label: Option<usize>,
    rng: &mut Pcg64,
) {
    #[cfg(all(target_arch = "x86_64", snnconv_avx512))]
    if d.kernel == Kernel::Avx512 && avx512_step_available() {
        // SAFETY: the CPU has the AVX-512 subsets, AVX2 and BMI2 (checked).
        return unsafe { step_fast_avx512(p, links, syn, d, sched, k, label, rng) };
    }
    #[cfg(target_arch = "x86_64")]
    if d.kernel.uses_avx2() && avx2_available() {
        // SAFETY: the CPU has AVX2 (and BMI2, which every AVX2 CPU has; checked too).
        return unsafe { step_fast_avx2(p, links, syn, d, sched, k, label, rng) };
    }
    step_fast_body::<false>(p, links, syn, d, sched, k, label, rng);
}

/// Whether the CPU runs [`step_fast_avx512`].
#[cfg(all(target_arch = "x86_64", snnconv_avx512))]
fn avx512_step_available() -> bool {
    use std::arch::is_x86_feature_detected as has;
    avx512_available() && has!("avx512dq") && has!("avx512vl") && has!("avx512bw")
}

/// The fast step compiled for AVX-512: the same IEEE operations, lanes eight wide
/// where the compiler chooses so, and exact vector u64 → f64 conversions of the
/// stimulation draws (values below 2^53), so the results are unchanged.
///
/// # Safety
/// The CPU supports every feature enabled above (checked by the dispatch).
#[cfg(all(target_arch = "x86_64", snnconv_avx512))]
#[allow(clippy::incompatible_msrv)] // only built by Rust ≥ 1.89 (see build.rs)
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,avx2,bmi2")]
#[allow(clippy::too_many_arguments)]
unsafe fn step_fast_avx512(
    p: &Params,
    links: &Links,
    syn: &Synapses,
    d: &mut Dynamics,
    sched: &Schedule,
    k: u32,
    label: Option<usize>,
    rng: &mut Pcg64,
) {
    step_fast_body::<true>(p, links, syn, d, sched, k, label, rng);
}

/// The fast step compiled for AVX2: its loops over neurons run four lanes wide, with
/// the same IEEE operations (no fused multiply-add), so the results are unchanged.
///
/// # Safety
/// The CPU supports AVX2 and BMI2 (checked by the dispatch).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi2")]
#[allow(clippy::too_many_arguments)]
unsafe fn step_fast_avx2(
    p: &Params,
    links: &Links,
    syn: &Synapses,
    d: &mut Dynamics,
    sched: &Schedule,
    k: u32,
    label: Option<usize>,
    rng: &mut Pcg64,
) {
    step_fast_body::<false>(p, links, syn, d, sched, k, label, rng);
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn step_fast_body<const W8: bool>(
    p: &Params,
    links: &Links,
    syn: &Synapses,
    d: &mut Dynamics,
    sched: &Schedule,
    k: u32,
    label: Option<usize>,
    rng: &mut Pcg64,
) {
    let t = d.t;
    let m = p.microcolumns;
    #[cfg(all(target_arch = "x86_64", snnconv_avx512))]
    if W8 {
        // SAFETY: W8 only in `step_fast_avx512`, which runs where AVX-512F and DQ are.
        unsafe { d.l.leak_avx512(p.stochastic, rng) };
    } else {
        d.l.leak(p.stochastic, rng);
    }
    #[cfg(not(all(target_arch = "x86_64", snnconv_avx512)))]
    d.l.leak(p.stochastic, rng);
    // Lateral gating from last step's winners: it decides who is awake this step.
    for c in 0..p.n_classes {
        if let Some(w) = d.prev_winner[c] {
            for j in c * m..(c + 1) * m {
                if j != w {
                    d.l.block_for(j, links.lateral_block);
                }
            }
        }
    }
    d.reward_column = None;
    d.reset_arrived = false;
    if let Some((ts, c)) = d.target {
        if t == ts + i64::from(links.reward_delay) {
            d.reward_column = Some(c);
        }
        d.reset_arrived = t == ts + i64::from(links.reset_delay);
    }
    let Dynamics {
        l,
        last_arrival,
        chunks,
        kernel,
        sums,
        sums_ready,
        gate,
        spikes,
        reset_arrived,
        candidate,
        forced_set,
        ..
    } = d;
    // Sensory spikes emitted at k − 1: this step's row of the frame's sums, or summed
    // now for the chunks holding an awake neuron (awake: no block left).
    let inputs = if k >= 1 { sched.at(k - 1) } else { &[] };
    let n = l.u.len();
    let src: &[f64] = if inputs.is_empty() {
        l.input.fill(0.0);
        &l.input
    } else if *sums_ready {
        let from = (k - 1) as usize * syn.padded_weights().1;
        &sums[from..from + n]
    } else {
        chunks.clear();
        for (q, b) in l.block.chunks(4).enumerate() {
            if b.contains(&0) {
                chunks.push(q as u32);
            }
        }
        let (w, stride) = syn.padded_weights();
        sum_rows(*kernel, w, stride, inputs, chunks, &mut l.input);
        &l.input
    };
    for &i in inputs {
        last_arrival[i as usize] = t;
    }
    // Per column: integration (input, then forcing, then reset, as the reference adds
    // them), the spike test with one winner (largest u − θ, ties uniformly at random,
    // columns in order so the draws come in the same order) and the floor.
    spikes.clear();
    let reset = *reset_arrived;
    let pos_sums = syn.pos_sums();
    // The forcing marks follow the gates; all false (nearly every step) needs no
    // rewrite when they already are.
    let any_gate = gate.contains(&true);
    if any_gate || *forced_set {
        for (c, &g) in gate.iter().enumerate() {
            l.forced[c * m..(c + 1) * m].fill(g);
        }
        *forced_set = any_gate;
    }
    let cells = Cells {
        u: &mut l.u,
        block: &mut l.block,
        awake: &mut l.awake,
        forced: &l.forced,
        input: src,
        pos_sum: pos_sums,
        candidate,
    };
    let any_candidate = if reset {
        cells.integrate::<true>(p, links)
    } else {
        cells.integrate::<false>(p, links)
    };
    // Winner search only in columns holding a candidate (none in most steps).
    for (c, &forced) in gate.iter().enumerate().filter(|_| any_candidate) {
        let r = c * m..(c + 1) * m;
        if !candidate[r.clone()].contains(&true) {
            continue;
        }
        let mut best: Option<(usize, f64)> = None;
        let mut ties = 0u32;
        for j in r {
            if !l.awake[j] {
                continue;
            }
            let margin = l.u[j] - (p.threshold + p.threshold_excess * pos_sums[j]);
            if margin < 0.0 {
                continue;
            }
            match best {
                Some((_, b)) if margin < b => {}
                Some((_, b)) if margin == b => {
                    ties += 1;
                    if uniform(rng) * f64::from(ties) < 1.0 {
                        best = Some((j, margin));
                    }
                }
                _ => {
                    best = Some((j, margin));
                    ties = 1;
                }
            }
        }
        if let Some((j, _)) = best {
            l.u[j] = 0.0;
            spikes.push((j, forced));
        }
    }
    for u in &mut l.u {
        *u = u.max(0.0);
    }
    helper_nodes(p, links, d, label);
}

/// The end of a step, the same in the fast and the reference step: OUT fires on last
/// step's L spike of its column; BIASGATE on the label unless gated by last step's OUT
/// spike; this step's L spikes become the next step's winners; the clock advances.
fn helper_nodes(p: &Params, links: &Links, d: &mut Dynamics, label: Option<usize>) {
    let (t, m) = (d.t, p.microcolumns);
    for c in 0..p.n_classes {
        let out_in = if d.prev_winner[c].is_some() {
            links.l_out
        } else {
            0.0
        };
        let out_fired_before = d.out[c];
        d.out[c] = out_in >= links.helper_threshold;
        if out_fired_before {
            d.gate_block[c] = d.gate_block[c].max(links.out_gate_block);
        }
        let gate_in = match d.target {
            Some((ts, tc)) if tc == c && t == ts + 1 => links.target_gate,
            _ => 0.0,
        };
        if d.gate_block[c] > 0 {
            d.gate_block[c] -= 1;
            d.gate[c] = false;
        } else {
            d.gate[c] = gate_in >= links.helper_threshold;
        }
        if d.out[c] {
            d.votes[c] += 1;
        }
    }
    d.prev_winner.fill(None);
    for &(j, _) in &d.spikes {
        d.prev_winner[j / m] = Some(j);
    }
    if let Some(c) = label {
        d.target = Some((t, c));
    }
    d.t += 1;
}

/// The L state for the fast step's integration pass.
struct Cells<'a> {
    u: &'a mut [f64],
    block: &'a mut [u32],
    awake: &'a mut [bool],
    forced: &'a [bool],
    input: &'a [f64],
    pos_sum: &'a [f64],
    candidate: &'a mut [bool],
}

impl Cells<'_> {
    /// `Lif::integrate` with the input, plus the forcing (neurons marked `forced`) and
    /// the reset (`R`) added after it in that order, as the reference adds them; branch
    /// free. Marks the awake neurons that pass the spike test's margin check (u − θ not
    /// below 0, θ as in [`threshold`]), so the winner search runs only where one does;
    /// returns whether any does.
    #[inline(always)]
    fn integrate<const R: bool>(self, p: &Params, links: &Links) -> bool {
        let cells = self
            .u
            .iter_mut()
            .zip(self.block.iter_mut())
            .zip(self.awake.iter_mut())
            .zip(self.forced)
            .zip(self.input)
            .zip(self.pos_sum)
            .zip(self.candidate.iter_mut());
        let mut any = 0u8;
        for ((((((u, b), awake), &forced), &input), &pos), candidate) in cells {
            let is_awake = *b == 0;
            *b = b.saturating_sub(1);
            *awake = is_awake;
            let with_forcing = input + links.forcing;
            let mut x = if forced { with_forcing } else { input };
            if R {
                x += links.reset;
            }
            let sum = *u + x;
            *u = if is_awake { sum } else { *u };
            let margin = sum - (p.threshold + p.threshold_excess * pos);
            // Not `margin >= 0.0`: the reference skips only margins below 0 (a NaN
            // margin would reach its winner search too).
            #[allow(clippy::neg_cmp_op_on_partial_ord)]
            let passes = !(margin < 0.0);
            *candidate = is_awake & passes;
            any |= u8::from(*candidate);
        }
        any != 0
    }
}

/// [`step`] as first written: every spiking input's weight row is added to every
/// neuron, blocked or not. Kept as the reference the fast kernels are tested and
/// benchmarked against.
#[allow(clippy::too_many_arguments)]
pub fn step_reference(
    p: &Params,
    links: &Links,
    syn: &Synapses,
    d: &mut Dynamics,
    sched: &Schedule,
    k: u32,
    label: Option<usize>,
    rng: &mut Pcg64,
) {
    let t = d.t;
    let m = p.microcolumns;
    d.l.begin_step(p.stochastic, rng);
    // Sensory spikes emitted at k − 1.
    if k >= 1 {
        let Dynamics {
            l, last_arrival, ..
        } = d;
        for &i in sched.at(k - 1) {
            let i = i as usize;
            for (x, w) in l.input.iter_mut().zip(syn.weight_row(i)) {
                *x += w;
            }
            last_arrival[i] = t;
        }
    }
    // Lateral gating from last step's winners; forcing from last step's gates.
    for c in 0..p.n_classes {
        if let Some(w) = d.prev_winner[c] {
            for j in c * m..(c + 1) * m {
                if j != w {
                    d.l.block_for(j, links.lateral_block);
                }
            }
        }
        if d.gate[c] {
            for j in c * m..(c + 1) * m {
                d.l.input[j] += links.forcing;
                d.l.forced[j] = true;
            }
        }
    }
    d.reward_column = None;
    d.reset_arrived = false;
    if let Some((ts, c)) = d.target {
        if t == ts + i64::from(links.reward_delay) {
            d.reward_column = Some(c);
        }
        if t == ts + i64::from(links.reset_delay) {
            d.reset_arrived = true;
            for x in &mut d.l.input {
                *x += links.reset;
            }
        }
    }
    d.l.integrate();
    // Spike test with one winner per column: largest u − θ, ties uniformly at random.
    d.spikes.clear();
    for c in 0..p.n_classes {
        let mut best: Option<(usize, f64)> = None;
        let mut ties = 0u32;
        for j in c * m..(c + 1) * m {
            if !d.l.awake[j] {
                continue;
            }
            let margin = d.l.u[j] - threshold(p, syn, j);
            if margin < 0.0 {
                continue;
            }
            match best {
                Some((_, b)) if margin < b => {}
                Some((_, b)) if margin == b => {
                    ties += 1;
                    if uniform(rng) * f64::from(ties) < 1.0 {
                        best = Some((j, margin));
                    }
                }
                _ => {
                    best = Some((j, margin));
                    ties = 1;
                }
            }
        }
        if let Some((j, _)) = best {
            d.l.u[j] = 0.0;
            d.spikes.push((j, d.l.forced[j]));
        }
    }
    d.l.floor();
    // The reference leaves this step's forcing marks in place.
    d.forced_set = true;
    helper_nodes(p, links, d, label);
}

/// Plasticity of the step just run: spikes first (anti-Hebbian, TSS bookkeeping),
/// then the reward to the column of the label (3-factor dopamine).
pub fn learn_step(p: &Params, syn: &mut Synapses, learn: &mut Learning, d: &Dynamics) {
    let t = d.t - 1;
    for &(j, forced) in &d.spikes {
        learn.on_spike(syn, p, j, t, forced, &d.last_arrival, d.kernel);
    }
    if let Some(c) = d.reward_column {
        let m = p.microcolumns;
        for j in c * m..(c + 1) * m {
            learn.on_reward(syn, p, j, t, p.reward, d.kernel);
        }
    }
}

/// Step-by-step record of one frame, (steps, neurons) row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// L potentials after the step (after a spike's reset and the floor).
    pub potential: Vec<f64>,
    /// L spikes: 0 none, 1 own, 2 forced.
    pub spike: Vec<u8>,
    pub out: Vec<bool>,
    pub gate: Vec<bool>,
    /// Column whose L neurons received the reward at that step.
    pub reward_column: Vec<Option<usize>>,
    /// Whether the −30 reset arrived at that step.
    pub reset: Vec<bool>,
}

/// One copy: learned state, the training timeline and its counters.
#[derive(Debug, Clone)]
pub struct Network {
    pub params: Params,
    pub links: Links,
    pub syn: Synapses,
    pub learn: Learning,
    pub dynamics: Dynamics,
}

impl Network {
    pub fn new(params: Params, links: Links) -> Self {
        let syn = Synapses::new(
            params.n_inputs,
            params.n_learning(),
            (params.w_min, params.w_max),
            params.silent_synapses,
            params.renorm_threshold,
            params.initial_resource(),
        );
        let learn = Learning::new(params.n_inputs, params.n_learning());
        let dynamics = Dynamics::new(&params);
        Self {
            params,
            links,
            syn,
            learn,
            dynamics,
        }
    }

    /// One training frame on the continuous timeline (state carries over between
    /// frames, as in the author's runs; the reset link clears potentials).
    pub fn train_frame(&mut self, counts: &[u8], label: usize, rng: &mut Pcg64) {
        let mut sched = std::mem::take(&mut self.dynamics.schedule);
        fill(
            self.dynamics.kernel,
            &mut sched,
            counts,
            self.params.presentation_steps,
        );
        self.train_scheduled(&sched, label, rng);
        self.dynamics.schedule = sched;
    }

    /// [`Network::train_frame`] from the example's schedule (filled by
    /// [`Schedule::fill`] from its counts).
    pub fn train_scheduled(&mut self, sched: &Schedule, label: usize, rng: &mut Pcg64) {
        let p = &self.params;
        let d = &mut self.dynamics;
        d.clear_votes();
        d.prepare_sums(&self.syn, sched);
        for k in 0..p.frame_steps {
            let lab = (k == p.label_step).then_some(label);
            step_with(p, &self.links, &self.syn, d, sched, k, lab, rng);
            learn_step(p, &mut self.syn, &mut self.learn, d);
            d.refresh_sums(&self.syn, sched, p.microcolumns, k);
        }
        d.sums_ready = false;
    }

    /// Runs one frame from rest on this copy and records every step (for inspection,
    /// plots and tests). With a label the frame is a training frame (Target, forcing,
    /// reward, reset, plasticity on this copy); without one it is an inference frame.
    pub fn trace_frame(&mut self, counts: &[u8], label: Option<usize>, rng: &mut Pcg64) -> Trace {
        let p = self.params.clone();
        let (steps, l, c) = (p.frame_steps as usize, p.n_learning(), p.n_classes);
        let mut tr = Trace {
            potential: vec![0.0; steps * l],
            spike: vec![0; steps * l],
            out: vec![false; steps * c],
            gate: vec![false; steps * c],
            reward_column: vec![None; steps],
            reset: vec![false; steps],
        };
        let mut d = Dynamics::new(&p);
        d.kernel = self.dynamics.kernel;
        let mut sched = Schedule::default();
        fill(d.kernel, &mut sched, counts, p.presentation_steps);
        d.prepare_sums(&self.syn, &sched);
        // The plasticity clocks continue from the copy's timeline.
        d.t = self.dynamics.t;
        for k in 0..p.frame_steps {
            let lab = label.filter(|_| k == p.label_step);
            step_with(&p, &self.links, &self.syn, &mut d, &sched, k, lab, rng);
            if label.is_some() {
                learn_step(&p, &mut self.syn, &mut self.learn, &d);
                d.refresh_sums(&self.syn, &sched, p.microcolumns, k);
            }
            let ks = k as usize;
            tr.potential[ks * l..(ks + 1) * l].copy_from_slice(&d.l.u);
            for &(j, forced) in &d.spikes {
                tr.spike[ks * l + j] = if forced { 2 } else { 1 };
            }
            tr.out[ks * c..(ks + 1) * c].copy_from_slice(&d.out);
            tr.gate[ks * c..(ks + 1) * c].copy_from_slice(&d.gate);
            tr.reward_column[ks] = d.reward_column;
            tr.reset[ks] = d.reset_arrived;
        }
        self.dynamics.t = d.t;
        tr
    }

    /// OUT spikes per class for one example with plasticity frozen, starting from
    /// rest in the scratch state `d`.
    pub fn infer_frame<'a>(
        &self,
        counts: &[u8],
        d: &'a mut Dynamics,
        rng: &mut Pcg64,
    ) -> &'a [u32] {
        let mut sched = std::mem::take(&mut d.schedule);
        fill(d.kernel, &mut sched, counts, self.params.presentation_steps);
        self.infer_scheduled(&sched, d, rng);
        d.schedule = sched;
        &d.votes
    }

    /// [`Network::infer_frame`] from the example's schedule (filled by
    /// [`Schedule::fill`] from its counts).
    pub fn infer_scheduled<'a>(
        &self,
        sched: &Schedule,
        d: &'a mut Dynamics,
        rng: &mut Pcg64,
    ) -> &'a [u32] {
        d.reset();
        d.prepare_sums(&self.syn, sched);
        self.run_inference(sched, d, rng)
    }

    /// [`Network::infer_scheduled`] for the examples of `scheds`, in order: `rng(e)` is
    /// example e's stream and `out(e, votes)` receives its OUT spikes per class.
    /// Bit-identical to one example at a time; faster because the input sums of
    /// [`SUM_BLOCK`] examples are made together ([`sum_schedules`], into `sums`, one
    /// buffer per example, kept for the next call) before their steps run.
    pub fn infer_block(
        &self,
        scheds: &[Schedule],
        d: &mut Dynamics,
        sums: &mut Vec<Vec<f64>>,
        rng: &mut dyn FnMut(usize) -> Pcg64,
        out: &mut dyn FnMut(usize, &[u32]),
    ) {
        if d.kernel.is_reference() {
            for (e, sched) in scheds.iter().enumerate() {
                out(e, self.infer_scheduled(sched, d, &mut rng(e)));
            }
            return;
        }
        let (w, stride) = self.syn.padded_weights();
        for (b, block) in scheds.chunks(SUM_BLOCK).enumerate() {
            if sums.len() < block.len() {
                sums.resize_with(block.len(), Vec::new);
            }
            sum_schedules(d.kernel, w, stride, block, sums);
            for (e, (sched, frame_sums)) in block.iter().zip(sums.iter_mut()).enumerate() {
                d.reset();
                std::mem::swap(&mut d.sums, frame_sums);
                d.sums_ready = true;
                let e = b * SUM_BLOCK + e;
                self.run_inference(sched, d, &mut rng(e));
                std::mem::swap(&mut d.sums, frame_sums);
                out(e, &d.votes);
            }
        }
    }

    /// The steps of an inference frame from rest, its sums made (or not, for the
    /// reference kernel).
    fn run_inference<'a>(
        &self,
        sched: &Schedule,
        d: &'a mut Dynamics,
        rng: &mut Pcg64,
    ) -> &'a [u32] {
        let p = &self.params;
        for k in 0..p.frame_steps {
            step_with(p, &self.links, &self.syn, d, sched, k, None, rng);
        }
        d.sums_ready = false;
        &d.votes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;

    /// 2 classes × 2 L, 2 inputs; weights span [−1, 5) so one input can drive a neuron.
    fn hand_built() -> Network {
        let p = Params {
            n_inputs: 2,
            n_classes: 2,
            microcolumns: 2,
            w_min: -1.0,
            w_max: 5.0,
            initial_weight: 0.0,
            silent_synapses: None,
            ..Params::default()
        };
        Network::new(p, Links::default())
    }

    fn resource(net: &Network, j: usize, i: usize) -> f64 {
        net.syn.resource()[j * 2 + i]
    }

    #[test]
    fn one_frame_forcing_reward_depression_and_reset() {
        let mut net = hand_built();
        let w0 = resource(&net, 0, 0);
        // Neuron 2 (column 1) gets a strong weight from input 0: it fires on its own.
        let mut r = net.syn.resource().to_vec();
        r[2 * 2] = 1e4;
        let free = vec![0.0; 4];
        net.syn.restore(&r, &free);
        let mut rng = rng::stream(3, rng::purpose::NETWORK, 0);
        let p = net.params.clone();
        net.dynamics.schedule.fill(&[10, 0], p.presentation_steps);
        let mut spikes: Vec<(u32, usize, bool)> = vec![];
        let mut gate_steps = vec![];
        for k in 0..p.frame_steps {
            let label = (k == p.label_step).then_some(0);
            step(
                &p,
                &net.links,
                &net.syn,
                &mut net.dynamics,
                k,
                label,
                &mut rng,
            );
            let d = &net.dynamics;
            spikes.extend(d.spikes.iter().map(|&(j, f)| (k, j, f)));
            if d.gate[0] {
                gate_steps.push(k);
            }
            if d.gate[1] {
                panic!("the wrong column's gate fired at {k}");
            }
            if k == 12 {
                assert_eq!(d.reward_column, Some(0));
            }
            if k == 13 {
                assert!(d.reset_arrived);
                // The reset clears every potential that is not blocked.
                for j in 0..4 {
                    if d.l.awake[j] {
                        assert_eq!(d.l.u[j], 0.0, "neuron {j}");
                    }
                }
            }
            learn_step(&p, &mut net.syn, &mut net.learn, &net.dynamics);
        }
        // Column 0 stayed silent until its gate fired at 10; one of its L fired forced at 11.
        assert_eq!(gate_steps, vec![10]);
        let col0: Vec<_> = spikes.iter().filter(|s| s.1 < 2).collect();
        assert_eq!(col0.len(), 1);
        let &&(k, winner, forced) = col0.first().unwrap();
        assert_eq!((k, forced), (11, true));
        // Only the forced winner was rewarded, on its active input only.
        assert!((resource(&net, winner, 0) - (w0 + p.reward)).abs() < 1e-12);
        assert_eq!(resource(&net, winner, 1), w0);
        let other = 1 - winner;
        assert_eq!(resource(&net, other, 0), w0);
        assert_eq!(
            net.learn.rewarded,
            vec![u64::from(winner == 0), u64::from(winner == 1), 0, 0]
        );
        // Neuron 2 fired on its own (first at k = 3) in one tight sequence: depressed
        // exactly once by d_H on input 0, never rewarded; neuron 3 never fired.
        let own: Vec<_> = spikes.iter().filter(|s| s.1 == 2).collect();
        assert!(own.len() >= 2 && own[0].0 == 3 && own.iter().all(|s| !s.2));
        assert!((resource(&net, 2, 0) - (1e4 + p.hebbian)).abs() < 1e-9);
        assert_eq!(resource(&net, 2, 1), w0);
        assert!(spikes.iter().all(|s| s.1 != 3));
    }

    #[test]
    fn inference_is_frozen_and_counts_out_spikes() {
        let mut net = hand_built();
        let mut r = net.syn.resource().to_vec();
        r[2 * 2] = 1e4;
        net.syn.restore(&r, &[0.0; 4]);
        let before = net.syn.resource().to_vec();
        let mut d = Dynamics::new(&net.params);
        let mut rng = rng::stream(0, rng::purpose::INFERENCE, 0);
        let votes = net.infer_frame(&[10, 0], &mut d, &mut rng).to_vec();
        assert_eq!(votes[0], 0);
        assert!(votes[1] >= 2);
        assert_eq!(net.syn.resource(), &before[..]);
        let again = net.infer_frame(&[10, 0], &mut d, &mut rng).to_vec();
        assert_eq!(votes, again);
    }

    #[test]
    fn own_firing_in_the_correct_column_is_rewarded_and_gates_the_forcing() {
        let mut net = hand_built();
        let w0 = resource(&net, 0, 0);
        let mut r = net.syn.resource().to_vec();
        r[0] = 1e4; // neuron 0 (column 0) reacts to input 0
        net.syn.restore(&r, &[0.0; 4]);
        let mut rng = rng::stream(5, rng::purpose::NETWORK, 0);
        let p = net.params.clone();
        net.train_frame(&[10, 0], 0, &mut rng);
        let l = &net.learn;
        // Fired on its own (no forcing: OUT_0 gated BIASGATE_0), one TSS, one reward.
        assert!(l.fired[0] >= 2);
        assert_eq!(l.forced, vec![0, 0, 0, 0]);
        assert_eq!(l.rewarded, vec![1, 0, 0, 0]);
        // ΔW = d_H (once per TSS, s = 0) + D; s = max(0, 0 + r·d_H) + 2·r·D.
        assert!((resource(&net, 0, 0) - (1e4 + p.hebbian + p.reward)).abs() < 1e-9);
        assert_eq!(resource(&net, 0, 1), w0);
        assert!((l.stability[0] - 2.0 * p.stability_ratio * p.reward).abs() < 1e-15);
        // Neuron 1 was blocked by the lateral gating and never fired.
        assert_eq!(l.fired[1], 0);
        assert_eq!(net.dynamics.votes, vec![l.fired[0] as u32, 0]);
    }
}
