//! The ULSNN step loop, training (sequential, one network) and inference (parallel
//! over images, each with its own seeded input stream, so results do not depend on the
//! thread count).
//!
//! Wiring (BindsNET `DiehlAndCook2015`): input → E plastic; E → I one-to-one with
//! weight `exc`; I → every *other* E with weight −`inh`. All connections act with a
//! one-step delay: the currents computed from the spikes of step t arrive at t + 1,
//! as in BindsNET's synchronous network update. The inhibitory layer is simulated
//! explicitly (with the defaults it is a one-step-delayed copy of the excitatory
//! spikes, but a changed `exc` or inhibitory neuron need not be).

use rand_pcg::Pcg64;
use rayon::prelude::*;

use super::encoder::{unit_open0, PoissonEncoder};
use super::neurons::LifLayer;
use super::params::{UlsnnParams, MAX_RETRIES};
use super::stdp::{
    clamp_row, depress_row, normalise_columns, potentiate_column, PostTrace, PreTrace,
};
use crate::error::{Error, Result};
use crate::rng::{below, purpose, stream};

/// Outcome of one image: excitatory spikes of the final attempt and the number of
/// retries with raised intensity that were needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Presentation {
    pub spikes: u32,
    pub retries: u32,
}

/// What differs between learning and frozen inference: whether weights and θ change.
trait Synapses {
    const LEARNING: bool;
    fn w(&self) -> &[f64];
    fn theta(&self) -> &[f64];
    fn begin_step(&mut self) {}
    fn on_cross(&mut self, _j: usize) {}
    fn learn(&mut self, _t: usize, _input: &[u32], _exc: &[usize], _pre: &PreTrace, _post: &[f64]) {
    }
}

struct Frozen<'a> {
    w: &'a [f64],
    theta: &'a [f64],
}

impl Synapses for Frozen<'_> {
    const LEARNING: bool = false;
    fn w(&self) -> &[f64] {
        self.w
    }
    fn theta(&self) -> &[f64] {
        self.theta
    }
}

struct Plastic<'a> {
    w: &'a mut [f64],
    theta: &'a mut [f64],
    p: &'a UlsnnParams,
    theta_decay: f64,
}

impl Synapses for Plastic<'_> {
    const LEARNING: bool = true;
    fn w(&self) -> &[f64] {
        self.w
    }
    fn theta(&self) -> &[f64] {
        self.theta
    }
    fn begin_step(&mut self) {
        for th in self.theta.iter_mut() {
            *th *= self.theta_decay;
        }
    }
    fn on_cross(&mut self, j: usize) {
        self.theta[j] += self.p.theta_plus;
    }
    fn learn(&mut self, t: usize, input: &[u32], exc: &[usize], pre: &PreTrace, post: &[f64]) {
        let n = self.p.n_neurons;
        for &i in input {
            let row = &mut self.w[i as usize * n..(i as usize + 1) * n];
            depress_row(row, post, self.p.nu_pre);
        }
        for &j in exc {
            potentiate_column(self.w, n, j, pre, t, self.p.nu_post, self.p.w_max);
        }
        for &i in input {
            clamp_row(
                &mut self.w[i as usize * n..(i as usize + 1) * n],
                self.p.w_max,
            );
        }
    }
}

/// Per-presentation state and scratch of one simulation; reused across images so the
/// step loop allocates nothing.
#[derive(Debug, Clone)]
pub struct Sim {
    exc: LifLayer,
    inh: LifLayer,
    enc: PoissonEncoder,
    pre: PreTrace,
    post: PostTrace,
    x_exc: Vec<f64>,
    x_inh: Vec<f64>,
    crossed: Vec<usize>,
    exc_spikes: Vec<usize>,
    inh_spikes: Vec<usize>,
    /// Excitatory spike counts of the last presentation.
    pub counts: Vec<u32>,
    sums: Vec<f64>,
}

impl Sim {
    pub fn new(p: &UlsnnParams) -> Self {
        let n = p.n_neurons;
        Self {
            exc: LifLayer::new(p.exc_neuron, n),
            inh: LifLayer::new(p.inh_neuron, n),
            enc: PoissonEncoder::default(),
            pre: PreTrace::new(p.n_inputs, p.time, p.tc_trace),
            post: PostTrace::new(n, p.tc_trace),
            x_exc: vec![0.0; n],
            x_inh: vec![0.0; n],
            crossed: Vec::with_capacity(n),
            exc_spikes: Vec::with_capacity(n),
            inh_spikes: Vec::with_capacity(n),
            counts: vec![0; n],
            sums: vec![0.0; n],
        }
    }

    /// The rest between presentations: every state variable back to its initial value
    /// (θ and weights are learned state and are kept).
    fn reset_state(&mut self) {
        self.exc.reset_state();
        self.inh.reset_state();
        self.pre.reset_state();
        self.post.reset_state();
        self.x_exc.fill(0.0);
        self.x_inh.fill(0.0);
        self.counts.fill(0);
    }

    /// Runs `time` steps on the trains already in `self.enc`; returns the total number
    /// of excitatory spikes. `raster`, when given, receives the spikes (time × n).
    fn simulate<S: Synapses>(
        &mut self,
        p: &UlsnnParams,
        syn: &mut S,
        rng: &mut Pcg64,
        mut raster: Option<&mut [u8]>,
    ) -> u32 {
        let n = p.n_neurons;
        let mut total = 0u32;
        for t in 0..p.time {
            syn.begin_step();
            self.crossed.clear();
            self.exc
                .step(&self.x_exc, Some(syn.theta()), &mut self.crossed);
            self.exc_spikes.clear();
            if S::LEARNING {
                for &j in &self.crossed {
                    syn.on_cross(j);
                }
            }
            if p.one_spike && self.crossed.len() > 1 {
                let k = below(rng, self.crossed.len() as u64) as usize;
                self.exc_spikes.push(self.crossed[k]);
            } else {
                self.exc_spikes.extend_from_slice(&self.crossed);
            }
            self.inh_spikes.clear();
            self.inh.step(&self.x_inh, None, &mut self.inh_spikes);

            let input = self.enc.spikes(t);
            self.post.step(&self.exc_spikes);
            if S::LEARNING {
                self.pre.mark(t, input);
                syn.learn(t, input, &self.exc_spikes, &self.pre, &self.post.x);
            }
            for &j in &self.exc_spikes {
                self.counts[j] += 1;
                if let Some(r) = raster.as_deref_mut() {
                    r[t * n + j] = 1;
                }
            }
            total += self.exc_spikes.len() as u32;

            // Currents for step t + 1.
            let inh_total = p.inh * self.inh_spikes.len() as f64;
            self.x_exc.fill(-inh_total);
            for &j in &self.inh_spikes {
                self.x_exc[j] += p.inh;
            }
            let w = syn.w();
            for &i in input {
                let row = &w[i as usize * n..(i as usize + 1) * n];
                for (x, &wij) in self.x_exc.iter_mut().zip(row) {
                    *x += wij;
                }
            }
            self.x_inh.fill(0.0);
            for &j in &self.exc_spikes {
                self.x_inh[j] = p.exc;
            }
        }
        total
    }
}

/// The network's learned state and its training counter.
#[derive(Debug, Clone)]
pub struct Ulsnn {
    p: UlsnnParams,
    seed: u64,
    w: Vec<f64>,
    theta: Vec<f64>,
    images_seen: u64,
    sim: Sim,
}

impl Ulsnn {
    /// Fresh network: weights 0.3 · U(0, 1) (BindsNET), normalised; θ = 0.
    pub fn new(p: UlsnnParams, seed: u64) -> Result<Self> {
        p.validate()?;
        let mut rng = stream(seed, purpose::ULSNN_WEIGHTS, 0);
        let w = (0..p.n_inputs * p.n_neurons)
            .map(|_| 0.3 * (1.0 - unit_open0(&mut rng)))
            .collect();
        let theta = vec![0.0; p.n_neurons];
        let mut net = Self::restore(p, seed, w, theta, 0)?;
        net.normalise();
        Ok(net)
    }

    /// A network from saved state, exactly.
    pub fn restore(
        p: UlsnnParams,
        seed: u64,
        w: Vec<f64>,
        theta: Vec<f64>,
        images_seen: u64,
    ) -> Result<Self> {
        p.validate()?;
        if w.len() != p.n_inputs * p.n_neurons {
            return Err(Error::corrupt(
                "weights",
                format!("must have {} × {} entries", p.n_inputs, p.n_neurons),
            ));
        }
        if w.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err(Error::corrupt("weights", "must be finite and >= 0"));
        }
        if theta.len() != p.n_neurons || theta.iter().any(|x| !x.is_finite()) {
            return Err(Error::corrupt(
                "theta",
                format!("must hold {} finite values", p.n_neurons),
            ));
        }
        let sim = Sim::new(&p);
        Ok(Self {
            p,
            seed,
            w,
            theta,
            images_seen,
            sim,
        })
    }

    pub fn params(&self) -> &UlsnnParams {
        &self.p
    }
    pub fn weights(&self) -> &[f64] {
        &self.w
    }
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }
    pub fn images_seen(&self) -> u64 {
        self.images_seen
    }

    fn normalise(&mut self) {
        let n = self.p.n_neurons;
        normalise_columns(&mut self.w, n, self.p.norm, &mut self.sim.sums);
    }

    fn check_image(&self, image: &[f64]) -> Result<()> {
        if image.len() != self.p.n_inputs {
            return Err(Error::input(
                "images",
                format!(
                    "each image must have {} pixels (the size seen at fit), got {}",
                    self.p.n_inputs,
                    image.len()
                ),
            ));
        }
        Ok(())
    }

    /// One training image (brightness in [0, 1]): presentations with STDP and θ
    /// adaptation, repeated at raised intensity while fewer than `min_spikes`
    /// excitatory spikes occur (at most `max_retries` times). Weights are normalised
    /// after every presentation, i.e. before the next one (Diehl & Cook), and so at the
    /// end of training (BindsNET normalises after each run); they are not clamped
    /// after that last normalisation, as in BindsNET, where clamping is part of the
    /// learning step.
    pub fn train_image(&mut self, image: &[f64]) -> Result<Presentation> {
        self.check_image(image)?;
        let key = self.images_seen;
        let mut rate = self.p.intensity;
        let mut out = Presentation::default();
        for attempt in 0..=self.p.max_retries {
            let mut rng = presentation_stream(self.seed, purpose::ULSNN_TRAIN, key, attempt);
            // BindsNET clamps the whole matrix at every learning step; normalisation may
            // have lifted weights above w_max, so clamp once here, after which only the
            // weights STDP touches can leave [0, w_max] and they are clamped as touched.
            clamp_row(&mut self.w, self.p.w_max);
            self.sim.reset_state();
            self.sim.enc.encode(image, rate, self.p.time, &mut rng);
            let mut syn = Plastic {
                w: &mut self.w,
                theta: &mut self.theta,
                p: &self.p,
                theta_decay: (-1.0 / self.p.tc_theta_decay).exp(),
            };
            let spikes = self.sim.simulate(&self.p, &mut syn, &mut rng, None);
            self.normalise();
            out = Presentation {
                spikes,
                retries: attempt,
            };
            if spikes >= self.p.min_spikes {
                break;
            }
            rate += self.p.intensity_step;
        }
        self.images_seen += 1;
        Ok(out)
    }

    /// Frozen response of image number `index` (keys its input stream): excitatory
    /// spike counts of the final attempt are written to `sim.counts`.
    fn respond_one(
        &self,
        sim: &mut Sim,
        image: &[f64],
        index: u64,
        raster: Option<&mut [u8]>,
    ) -> Presentation {
        let mut rate = self.p.intensity;
        let mut raster = raster;
        let mut out = Presentation::default();
        for attempt in 0..=self.p.max_retries {
            let mut rng = presentation_stream(self.seed, purpose::ULSNN_INFER, index, attempt);
            sim.reset_state();
            sim.enc.encode(image, rate, self.p.time, &mut rng);
            if let Some(r) = raster.as_deref_mut() {
                r.fill(0);
            }
            let mut syn = Frozen {
                w: &self.w,
                theta: &self.theta,
            };
            let spikes = sim.simulate(&self.p, &mut syn, &mut rng, raster.as_deref_mut());
            out = Presentation {
                spikes,
                retries: attempt,
            };
            if spikes >= self.p.min_spikes {
                break;
            }
            rate += self.p.intensity_step;
        }
        out
    }

    /// Frozen responses of `images` (N × n_inputs, row-major), the k-th keyed by
    /// `first_index + k`: spike counts (N × n_neurons) and retries per image.
    /// Parallel over images; identical for any thread count.
    pub fn respond(
        &self,
        images: &[f64],
        first_index: u64,
        counts: &mut [u32],
        retries: &mut [u32],
    ) -> Result<()> {
        let (d, n) = (self.p.n_inputs, self.p.n_neurons);
        if images.len() % d != 0 {
            return Err(Error::input(
                "images",
                format!("size is not a multiple of {d} pixels"),
            ));
        }
        let n_img = images.len() / d;
        if counts.len() != n_img * n || retries.len() != n_img {
            return Err(Error::input("counts", "output buffers have the wrong size"));
        }
        counts
            .par_chunks_mut(n)
            .zip(retries.par_iter_mut())
            .enumerate()
            .for_each_init(
                || Sim::new(&self.p),
                |sim, (k, (c, r))| {
                    let img = &images[k * d..(k + 1) * d];
                    *r = self
                        .respond_one(sim, img, first_index + k as u64, None)
                        .retries;
                    c.copy_from_slice(&sim.counts);
                },
            );
        Ok(())
    }

    /// Frozen spike raster (time × n_neurons, 0/1) of one image keyed by `index`,
    /// for the final attempt.
    pub fn raster(&self, image: &[f64], index: u64) -> Result<(Vec<u8>, Presentation)> {
        self.check_image(image)?;
        let mut sim = Sim::new(&self.p);
        let mut r = vec![0u8; self.p.time * self.p.n_neurons];
        let pres = self.respond_one(&mut sim, image, index, Some(&mut r));
        Ok((r, pres))
    }
}

/// One stream per (image key, attempt): retries see fresh spike trains.
fn presentation_stream(seed: u64, family: u64, key: u64, attempt: u32) -> Pcg64 {
    let slots = u64::from(MAX_RETRIES) + 1;
    stream(
        seed,
        family,
        key.wrapping_mul(slots).wrapping_add(u64::from(attempt)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(n_inputs: usize, n: usize) -> UlsnnParams {
        let mut p = UlsnnParams::new(n_inputs, n);
        p.time = 60;
        p
    }

    #[test]
    fn theta_grows_by_theta_plus_per_crossing_and_norm_is_exact() {
        // One always-on pixel: a constant drive of `norm` per step.
        let mut p = tiny(1, 1);
        p.intensity = 1000.0;
        p.max_retries = 0;
        p.norm = 0.9;
        p.nu_pre = 0.0;
        p.nu_post = 0.0;
        p.tc_theta_decay = 1e300;
        let mut net = Ulsnn::new(p.clone(), 0).unwrap();
        assert_eq!(net.weights(), [0.9]);
        let pres = net.train_image(&[1.0]).unwrap();
        assert!(pres.spikes > 0);
        assert!((net.theta()[0] - 0.05 * pres.spikes as f64).abs() < 1e-12);
        assert_eq!(net.weights(), [0.9]);
    }

    #[test]
    fn lateral_inhibition_and_one_spike_rule() {
        // Two identical neurons, identical drive: they cross together, only one spikes
        // per step, and the inhibition arrives two steps after a spike.
        let mut p = tiny(1, 2);
        p.intensity = 1000.0;
        p.max_retries = 0;
        p.norm = 0.9;
        let net = Ulsnn::restore(p.clone(), 0, vec![0.9, 0.9], vec![0.0, 0.0], 0).unwrap();
        let (r, _) = net.raster(&[1.0], 0).unwrap();
        for t in 0..p.time {
            assert!(r[2 * t] + r[2 * t + 1] <= 1);
        }
        let total: u32 = r.iter().map(|&x| u32::from(x)).sum();
        assert!(total > 0);
        p.one_spike = false;
        let net = Ulsnn::restore(p.clone(), 0, vec![0.9, 0.9], vec![0.0, 0.0], 0).unwrap();
        let (r, _) = net.raster(&[1.0], 0).unwrap();
        // Without the rule both fire together at the first crossing.
        let first = (0..p.time).find(|&t| r[2 * t] == 1).unwrap();
        assert_eq!(r[2 * first + 1], 1);
    }

    #[test]
    fn retries_raise_intensity_until_enough_spikes() {
        let mut p = tiny(4, 3);
        p.time = 20;
        p.min_spikes = 1_000; // unreachable: every retry is used
        let net = Ulsnn::new(p.clone(), 1).unwrap();
        let mut c = vec![0; 3];
        let mut r = vec![0; 1];
        net.respond(&[0.5; 4], 0, &mut c, &mut r).unwrap();
        assert_eq!(r[0], p.max_retries);
        // A black image never reaches min_spikes either, and never spikes.
        let mut p2 = tiny(4, 3);
        p2.max_retries = 2;
        let net = Ulsnn::new(p2, 1).unwrap();
        net.respond(&[0.0; 4], 0, &mut c, &mut r).unwrap();
        assert_eq!((r[0], c.iter().sum::<u32>()), (2, 0));
    }

    #[test]
    fn inference_is_identical_for_any_thread_count() {
        let p = tiny(16, 5);
        let mut net = Ulsnn::new(p.clone(), 3).unwrap();
        let imgs: Vec<f64> = (0..16 * 6).map(|k| ((k * 7) % 11) as f64 / 10.0).collect();
        for k in 0..3 {
            net.train_image(&imgs[k * 16..(k + 1) * 16]).unwrap();
        }
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut c = vec![0; 6 * 5];
            let mut r = vec![0; 6];
            pool.install(|| net.respond(&imgs, 10, &mut c, &mut r))
                .unwrap();
            (c, r)
        };
        let a = run(1);
        assert_eq!(a, run(3));
        assert!(a.0.iter().sum::<u32>() > 0);
    }

    #[test]
    fn wrong_sizes_and_weights_are_rejected() {
        let p = tiny(4, 2);
        let mut net = Ulsnn::new(p.clone(), 0).unwrap();
        assert!(net
            .train_image(&[0.0; 3])
            .unwrap_err()
            .to_string()
            .starts_with("images:"));
        let e = Ulsnn::restore(p, 0, vec![-1.0; 8], vec![0.0; 2], 0).unwrap_err();
        assert!(e.to_string().starts_with("weights:"));
    }
}
