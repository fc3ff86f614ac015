//! The fast kernels against the reference step: same weights, free pools, stability,
//! counters, potentials, traces and votes, bit for bit, on random ensembles and inputs.

use super::encode::Schedule;
use super::ensemble::Ensemble;
use super::lanes::Kernel;
use super::network::{Links, Network};
use super::params::Params;
use crate::rng;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Sparse counts: a third of the inputs silent, a third at full rate, a third at random.
fn counts(rng: &mut Lcg, n: usize, f: usize, t_p: u32) -> Vec<u8> {
    (0..n * f)
        .map(|_| match rng.next() % 6 {
            0 | 1 => t_p as u8,
            2 | 3 => (rng.next() % u64::from(t_p + 1)) as u8,
            _ => 0,
        })
        .collect()
}

fn ensemble(p: &Params, copies: usize, seed: u64, kernel: Kernel) -> Ensemble<Network> {
    let copies = (0..copies)
        .map(|_| {
            let mut net = Network::new(p.clone(), Links::default());
            net.dynamics.kernel = kernel;
            net
        })
        .collect();
    Ensemble::new(copies, seed, 0)
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn assert_same(a: &Ensemble<Network>, b: &Ensemble<Network>, what: &str) {
    for (ci, (x, y)) in a.copies.iter().zip(&b.copies).enumerate() {
        let at = format!("{what}, copy {ci}");
        assert_eq!(
            bits(x.syn.resource()),
            bits(y.syn.resource()),
            "resource, {at}"
        );
        assert_eq!(bits(x.syn.free()), bits(y.syn.free()), "free, {at}");
        assert_eq!(
            bits(&x.syn.weights()),
            bits(&y.syn.weights()),
            "weights, {at}"
        );
        assert_eq!(
            bits(&x.learn.stability),
            bits(&y.learn.stability),
            "stability, {at}"
        );
        assert_eq!(x.learn.fired, y.learn.fired, "fired, {at}");
        assert_eq!(x.learn.forced, y.learn.forced, "forced, {at}");
        assert_eq!(x.learn.rewarded, y.learn.rewarded, "rewarded, {at}");
        assert_eq!(x.learn.last_spike, y.learn.last_spike, "last spike, {at}");
        assert_eq!(
            bits(x.syn.pos_sums()),
            bits(y.syn.pos_sums()),
            "sums of positive weights, {at}"
        );
        for j in 0..x.learn.stability.len() {
            let (fx, fy) = (x.learn.contributing(j), y.learn.contributing(j));
            assert_eq!(fx, fy, "contributing synapses of {j}, {at}");
            assert_eq!(
                x.learn.contributing_list(j),
                y.learn.contributing_list(j),
                "list of contributing synapses of {j}, {at}"
            );
            // The list holds each flagged synapse once, and nothing else.
            let mut sorted = y.learn.contributing_list(j).to_vec();
            sorted.sort_unstable();
            let flagged: Vec<u32> = (0..fy.len() as u32).filter(|&i| fy[i as usize]).collect();
            assert_eq!(sorted, flagged, "list against flags of {j}, {at}");
        }
        assert_eq!(
            bits(&x.dynamics.l.u),
            bits(&y.dynamics.l.u),
            "potential, {at}"
        );
        assert_eq!(x.dynamics.l.block, y.dynamics.l.block, "block, {at}");
        assert_eq!(x.dynamics.t, y.dynamics.t, "clock, {at}");
    }
}

/// Cases: (inputs, classes, microcolumns, copies, stochastic, initial weight,
/// threshold H).
#[allow(clippy::type_complexity)]
const CASES: [(usize, usize, usize, usize, f64, f64, f64); 5] = [
    (120, 3, 5, 2, 0.0, 0.05, 3.0),
    (200, 4, 7, 3, 0.0, 0.0, 1.0),
    (90, 2, 13, 2, 2.0, 0.08, 4.0),
    (301, 5, 3, 1, 0.0, 0.09, 8.571),
    (64, 10, 15, 2, 0.5, 0.07, 2.0),
];

#[test]
fn fast_kernels_train_and_answer_exactly_as_the_reference() {
    for (case, &(f, c, m, copies, sigma, w0, h)) in CASES.iter().enumerate() {
        for seed in 0..3u64 {
            let mut r = Lcg(seed * 977 + case as u64);
            let p = Params {
                n_inputs: f,
                n_classes: c,
                microcolumns: m,
                stochastic: sigma,
                initial_weight: w0,
                threshold: h,
                ..Params::default()
            };
            let (n_train, n_test) = (40, 150);
            let x = counts(&mut r, n_train + n_test, f, p.presentation_steps);
            let y: Vec<usize> = (0..n_train)
                .map(|_| (r.next() % c as u64) as usize)
                .collect();
            let mut reference = ensemble(&p, copies, seed, Kernel::Reference);
            reference.train(&x[..n_train * f], &y).unwrap();
            let want = reference.votes(&x[n_train * f..], n_test).unwrap();
            let fired: u64 = reference.copies.iter().flat_map(|n| &n.learn.fired).sum();
            assert!(fired > 0, "case {case}: no neuron ever fired on its own");
            for kernel in [Kernel::Portable, Kernel::Avx2, Kernel::Avx512] {
                let what = format!("case {case}, seed {seed}, {kernel:?}");
                let mut fast = ensemble(&p, copies, seed, kernel);
                // Two calls, so state carried between training calls is covered.
                fast.train(&x[..n_train / 2 * f], &y[..n_train / 2])
                    .unwrap();
                fast.train(&x[n_train / 2 * f..n_train * f], &y[n_train / 2..])
                    .unwrap();
                assert_same(&reference, &fast, &what);
                let got = fast.votes(&x[n_train * f..], n_test).unwrap();
                assert_eq!(bits(&want), bits(&got), "votes, {what}");
            }
        }
    }
}

#[test]
fn fast_kernels_trace_exactly_as_the_reference() {
    let p = Params {
        n_inputs: 150,
        n_classes: 3,
        microcolumns: 6,
        initial_weight: 0.06,
        stochastic: 1.0,
        threshold: 3.0,
        ..Params::default()
    };
    let mut r = Lcg(5);
    let x = counts(&mut r, 12, p.n_inputs, p.presentation_steps);
    let mut nets: Vec<Network> = [
        Kernel::Reference,
        Kernel::Portable,
        Kernel::Avx2,
        Kernel::Avx512,
    ]
    .into_iter()
    .map(|k| {
        let mut net = Network::new(p.clone(), Links::default());
        net.dynamics.kernel = k;
        net
    })
    .collect();
    for (e, ex) in x.chunks(p.n_inputs).enumerate() {
        let label = (e % 4 != 3).then_some(e % p.n_classes);
        let traces: Vec<_> = nets
            .iter_mut()
            .map(|net| {
                let mut g = rng::stream(9, rng::purpose::NETWORK, e as u64);
                net.trace_frame(ex, label, &mut g)
            })
            .collect();
        for tr in &traces[1..] {
            assert_eq!(bits(&tr.potential), bits(&traces[0].potential), "frame {e}");
            assert_eq!(tr.spike, traces[0].spike, "frame {e}");
            assert_eq!(tr.out, traces[0].out);
            assert_eq!(tr.gate, traces[0].gate);
            assert_eq!(tr.reward_column, traces[0].reward_column);
            assert_eq!(tr.reset, traces[0].reset);
        }
    }
    let spikes: usize = nets[0].learn.fired.iter().sum::<u64>() as usize;
    assert!(spikes > 0);
    for net in &nets[1..] {
        assert_eq!(bits(net.syn.resource()), bits(nets[0].syn.resource()));
        assert_eq!(net.learn, nets[0].learn);
    }
}

#[test]
fn step_by_step_driving_matches_the_frame_drivers() {
    // `step` called directly (sums computed per step over awake chunks) against
    // `train_frame` (sums of the whole frame up front).
    let p = Params {
        n_inputs: 100,
        n_classes: 3,
        microcolumns: 9,
        initial_weight: 0.07,
        threshold: 3.0,
        ..Params::default()
    };
    let mut r = Lcg(77);
    let x = counts(&mut r, 20, p.n_inputs, p.presentation_steps);
    let mut a = Network::new(p.clone(), Links::default());
    let mut b = Network::new(p.clone(), Links::default());
    a.dynamics.kernel = Kernel::Reference;
    b.dynamics.kernel = Kernel::best();
    for (e, ex) in x.chunks(p.n_inputs).enumerate() {
        let label = e % p.n_classes;
        let mut g = rng::stream(1, rng::purpose::NETWORK, e as u64);
        a.train_frame(ex, label, &mut g);
        let mut g = rng::stream(1, rng::purpose::NETWORK, e as u64);
        let mut sched = Schedule::default();
        sched.fill(ex, p.presentation_steps);
        b.dynamics.schedule = sched;
        b.dynamics.clear_votes();
        for k in 0..p.frame_steps {
            let lab = (k == p.label_step).then_some(label);
            super::network::step(&p, &b.links, &b.syn, &mut b.dynamics, k, lab, &mut g);
            super::network::learn_step(&p, &mut b.syn, &mut b.learn, &b.dynamics);
        }
        assert_eq!(bits(a.syn.resource()), bits(b.syn.resource()), "frame {e}");
        assert_eq!(a.learn, b.learn, "frame {e}");
        assert_eq!(bits(&a.dynamics.l.u), bits(&b.dynamics.l.u), "frame {e}");
        assert_eq!(a.dynamics.votes, b.dynamics.votes, "frame {e}");
    }
}

#[test]
fn training_over_several_blocks_of_examples_equals_the_reference() {
    // More examples than one training block (schedules prepared once per block for
    // all copies), in one call and in calls that end inside a block.
    use super::ensemble::TRAIN_BLOCK;
    let p = Params {
        n_inputs: 40,
        n_classes: 3,
        microcolumns: 4,
        stochastic: 1.0,
        initial_weight: 0.06,
        threshold: 2.0,
        ..Params::default()
    };
    let n = TRAIN_BLOCK + TRAIN_BLOCK / 2 + 7;
    let mut r = Lcg(31);
    let x = counts(&mut r, n, p.n_inputs, p.presentation_steps);
    let y: Vec<usize> = (0..n).map(|_| (r.next() % 3) as usize).collect();
    let f = p.n_inputs;
    let mut reference = ensemble(&p, 3, 7, Kernel::Reference);
    reference.train(&x, &y).unwrap();
    for kernel in [Kernel::Portable, Kernel::Avx2, Kernel::Avx512] {
        let mut whole = ensemble(&p, 3, 7, kernel);
        whole.train(&x, &y).unwrap();
        assert_same(&reference, &whole, &format!("one call, {kernel:?}"));
        let mut parts = ensemble(&p, 3, 7, kernel);
        let cut = TRAIN_BLOCK - 5;
        parts.train(&x[..cut * f], &y[..cut]).unwrap();
        parts.train(&x[cut * f..], &y[cut..]).unwrap();
        assert_same(&reference, &parts, &format!("two calls, {kernel:?}"));
    }
}
