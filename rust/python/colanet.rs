//! Bindings for CoLaNET (docs/algorithms.md §3–4): one core class holding an ensemble of spiking or
//! digital copies. Python's estimators validate, encode and drive it in chunks.

use ndarray::{Array2, Array3};
use numpy::{
    IntoPyArray, PyArray2, PyArray3, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::common::{shape_error, with_threads};
use crate::colanet::digital::DigitalCopy;
use crate::colanet::encode::check_counts;
use crate::colanet::ensemble::{Ensemble, Member};
use crate::colanet::network::{Links, Network};
use crate::colanet::Params;
use crate::error::Error;
use crate::limits;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyColanet>()?;
    Ok(())
}

enum Kind {
    Spiking(Ensemble<Network>),
    Digital(Ensemble<DigitalCopy>),
}

/// Dispatches `$body` with `$e` bound to the ensemble of either kind.
macro_rules! with_ensemble {
    ($self:expr, $e:ident => $body:expr) => {
        match $self {
            Kind::Spiking($e) => $body,
            Kind::Digital($e) => $body,
        }
    };
}

#[pyclass(name = "ColanetCore", module = "snnconv._core")]
struct PyColanet {
    kind: Kind,
    shape: (usize, usize, usize),
}

/// CoLaNET's hyperparameters as Python passes them: a dict with one item per
/// `Params` field (the same names); `silent_synapses` -1 = no conservation.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct ColanetArgs {
    n_inputs: usize,
    n_classes: usize,
    microcolumns: usize,
    threshold: f64,
    threshold_excess: f64,
    tau_v: f64,
    hebbian: f64,
    reward: f64,
    stability_ratio: f64,
    w_min: f64,
    w_max: f64,
    initial_weight: f64,
    silent_synapses: i64,
    renorm_threshold: f64,
    hebbian_window: u32,
    dopamine_time: u32,
    max_isi: u32,
    presentation_steps: u32,
    frame_steps: u32,
    label_step: u32,
    stochastic: f64,
}

impl ColanetArgs {
    /// The validated core parameters.
    fn into_params(self) -> PyResult<Params> {
        let silent = self.silent_synapses;
        let p =
            Params {
                n_inputs: self.n_inputs,
                n_classes: self.n_classes,
                microcolumns: self.microcolumns,
                threshold: self.threshold,
                threshold_excess: self.threshold_excess,
                tau_v: self.tau_v,
                hebbian: self.hebbian,
                reward: self.reward,
                stability_ratio: self.stability_ratio,
                w_min: self.w_min,
                w_max: self.w_max,
                initial_weight: self.initial_weight,
                silent_synapses: if silent < 0 {
                    None
                } else {
                    Some(u32::try_from(silent).map_err(|_| {
                        Error::param("silent_synapses", "must be -1 or in [0, 2^32)")
                    })?)
                },
                renorm_threshold: self.renorm_threshold,
                hebbian_window: self.hebbian_window,
                dopamine_time: self.dopamine_time,
                max_isi: self.max_isi,
                presentation_steps: self.presentation_steps,
                frame_steps: self.frame_steps,
                label_step: self.label_step,
                stochastic: self.stochastic,
            };
        p.validate()?;
        Ok(p)
    }
}

/// State arrays of every copy stacked: (copies, L, N) or (copies, L).
fn stack3<T: Member>(e: &Ensemble<T>, f: impl Fn(&T) -> Vec<f64>) -> Vec<f64> {
    e.copies.iter().flat_map(f).collect()
}

#[pymethods]
impl PyColanet {
    /// `kind` is "spiking" or "digital"; `params` holds the Rust `Params` fields.
    #[new]
    fn new(kind: &str, params: ColanetArgs, n_copies: usize, seed: u64) -> PyResult<Self> {
        let p = params.into_params()?;
        if n_copies < 1 {
            return Err(Error::param("n_copies", "must be >= 1").into());
        }
        limits::elements(
            "n_copies",
            &[n_copies, p.n_learning(), p.n_inputs],
            crate::colanet::params::SYNAPSE_BYTES,
        )?;
        let shape = (n_copies, p.n_learning(), p.n_inputs);
        let kind = match kind {
            "spiking" => Kind::Spiking(Ensemble::new(
                (0..n_copies)
                    .map(|_| Network::new(p.clone(), Links::default()))
                    .collect(),
                seed,
                0,
            )),
            "digital" => Kind::Digital(Ensemble::new(
                (0..n_copies).map(|_| DigitalCopy::new(p.clone())).collect(),
                seed,
                0,
            )),
            other => {
                return Err(Error::param(
                    "kind",
                    format!("must be 'spiking' or 'digital', got {other:?}"),
                )
                .into())
            }
        };
        Ok(Self { kind, shape })
    }

    /// Learns the rows of `x` (uint8 spike counts ≤ presentation_steps) in order.
    #[pyo3(signature = (x, y, n_threads=None))]
    fn train(
        &mut self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, u8>,
        y: PyReadonlyArray1<'_, i64>,
        n_threads: Option<usize>,
    ) -> PyResult<()> {
        let xs: Vec<u8> = x.as_array().iter().copied().collect();
        let labels: Vec<usize> = y
            .as_array()
            .iter()
            .map(|&v| usize::try_from(v).unwrap_or(usize::MAX))
            .collect();
        let kind = &mut self.kind;
        py.detach(|| {
            with_threads(
                n_threads,
                || with_ensemble!(kind, e => e.train(&xs, &labels)),
            )
        })?
        .map_err(PyErr::from)
    }

    /// Summed relative votes (n, C) of all copies, plasticity frozen.
    #[pyo3(signature = (x, n_threads=None))]
    fn votes<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, u8>,
        n_threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let n = x.shape()[0];
        let kind = &self.kind;
        let c = with_ensemble!(kind, e => e.params().n_classes);
        limits::elements_of::<f64>("x", &[n, c])?;
        let xs: Vec<u8> = x.as_array().iter().copied().collect();
        let v =
            py.detach(|| with_threads(n_threads, || with_ensemble!(kind, e => e.votes(&xs, n))))??;
        Ok(Array2::from_shape_vec((n, c), v)
            .map_err(shape_error)?
            .into_pyarray(py))
    }

    /// Restores learned state (resource, free pools, stability, counters).
    #[allow(clippy::too_many_arguments)]
    fn restore(
        &mut self,
        resource: PyReadonlyArray3<'_, f64>,
        free: PyReadonlyArray2<'_, f64>,
        stability: PyReadonlyArray2<'_, f64>,
        counters: PyReadonlyArray3<'_, u64>,
        seen: u64,
    ) -> PyResult<()> {
        let (c, l, n) = self.shape;
        if resource.shape() != [c, l, n]
            || free.shape() != [c, l]
            || stability.shape() != [c, l]
            || counters.shape() != [c, 3, l]
        {
            return Err(
                Error::corrupt("state", "saved arrays do not match the network's shape").into(),
            );
        }
        let r = resource.as_array();
        let fr = free.as_array();
        let st = stability.as_array();
        let cn = counters.as_array();
        if r.iter()
            .chain(fr.iter())
            .chain(st.iter())
            .any(|v| !v.is_finite())
            || st.iter().any(|&v| v < 0.0)
        {
            return Err(Error::corrupt("state", "saved arrays hold invalid values").into());
        }
        let rows = |k: usize| -> (Vec<f64>, Vec<f64>, Vec<f64>, [Vec<u64>; 3]) {
            (
                r.index_axis(ndarray::Axis(0), k).iter().copied().collect(),
                fr.index_axis(ndarray::Axis(0), k).iter().copied().collect(),
                st.index_axis(ndarray::Axis(0), k).iter().copied().collect(),
                [0, 1, 2].map(|q| {
                    cn.index_axis(ndarray::Axis(0), k)
                        .index_axis(ndarray::Axis(0), q)
                        .iter()
                        .copied()
                        .collect()
                }),
            )
        };
        match &mut self.kind {
            Kind::Spiking(e) => {
                for (k, net) in e.copies.iter_mut().enumerate() {
                    let (rr, ff, ss, [a, b, d]) = rows(k);
                    net.syn.restore(&rr, &ff);
                    net.learn.stability = ss;
                    (net.learn.fired, net.learn.forced, net.learn.rewarded) = (a, b, d);
                }
                e.seen = seen;
            }
            Kind::Digital(e) => {
                for (k, net) in e.copies.iter_mut().enumerate() {
                    let (rr, ff, ss, [a, b, d]) = rows(k);
                    net.syn.restore(&rr, &ff);
                    net.stability = ss;
                    (net.fired, net.forced, net.rewarded) = (a, b, d);
                }
                e.seen = seen;
            }
        }
        Ok(())
    }

    /// Runs one frame of copy `copy` from rest and returns its step-by-step record as a
    /// dict of numpy arrays; with a label it is a training frame (the copy learns).
    #[pyo3(signature = (copy, counts, label=None, seed=0))]
    fn trace<'py>(
        &mut self,
        py: Python<'py>,
        copy: usize,
        counts: PyReadonlyArray1<'py, u8>,
        label: Option<usize>,
        seed: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let Kind::Spiking(e) = &mut self.kind else {
            return Err(Error::param("trace", "only the spiking CoLaNET has a timeline").into());
        };
        let p = e.params().clone();
        let x: Vec<u8> = counts.as_array().iter().copied().collect();
        if x.len() != p.n_inputs {
            return Err(Error::input(
                "x",
                format!("expected {} features, got {}", p.n_inputs, x.len()),
            )
            .into());
        }
        check_counts(&x, p.presentation_steps)?;
        if label.is_some_and(|l| l >= p.n_classes) || copy >= e.copies.len() {
            return Err(Error::input("label", "class or copy index out of range").into());
        }
        // The record: potentials (f64) and spikes of every L neuron at every step.
        limits::elements_of::<f64>("frame_steps", &[p.frame_steps as usize, p.n_learning()])?;
        let mut rng = crate::rng::stream(seed, crate::rng::purpose::NETWORK, copy as u64);
        let tr = e.copies[copy].trace_frame(&x, label, &mut rng);
        let (steps, l, c) = (p.frame_steps as usize, p.n_learning(), p.n_classes);
        let d = PyDict::new(py);
        d.set_item(
            "potential",
            Array2::from_shape_vec((steps, l), tr.potential)
                .map_err(shape_error)?
                .into_pyarray(py),
        )?;
        d.set_item(
            "spike",
            Array2::from_shape_vec((steps, l), tr.spike)
                .map_err(shape_error)?
                .into_pyarray(py),
        )?;
        d.set_item(
            "out",
            Array2::from_shape_vec((steps, c), tr.out)
                .map_err(shape_error)?
                .into_pyarray(py),
        )?;
        d.set_item(
            "gate",
            Array2::from_shape_vec((steps, c), tr.gate)
                .map_err(shape_error)?
                .into_pyarray(py),
        )?;
        let rc: Vec<i64> = tr
            .reward_column
            .iter()
            .map(|r| r.map_or(-1, |v| v as i64))
            .collect();
        d.set_item("reward_column", ndarray::Array1::from(rc).into_pyarray(py))?;
        d.set_item("reset", ndarray::Array1::from(tr.reset).into_pyarray(py))?;
        Ok(d)
    }

    #[getter]
    fn resource<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray3<f64>>> {
        let v = match &self.kind {
            Kind::Spiking(e) => stack3(e, |m| m.syn.resource().to_vec()),
            Kind::Digital(e) => stack3(e, |m| m.syn.resource().to_vec()),
        };
        Ok(Array3::from_shape_vec(self.shape, v)
            .map_err(shape_error)?
            .into_pyarray(py))
    }

    #[getter]
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray3<f64>>> {
        let v = match &self.kind {
            Kind::Spiking(e) => stack3(e, |m| m.syn.weights()),
            Kind::Digital(e) => stack3(e, |m| m.syn.weights()),
        };
        Ok(Array3::from_shape_vec(self.shape, v)
            .map_err(shape_error)?
            .into_pyarray(py))
    }

    #[getter]
    fn free<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let v = match &self.kind {
            Kind::Spiking(e) => stack3(e, |m| m.syn.free().to_vec()),
            Kind::Digital(e) => stack3(e, |m| m.syn.free().to_vec()),
        };
        Ok(Array2::from_shape_vec((self.shape.0, self.shape.1), v)
            .map_err(shape_error)?
            .into_pyarray(py))
    }

    #[getter]
    fn stability<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let v = match &self.kind {
            Kind::Spiking(e) => stack3(e, |m| m.learn.stability.clone()),
            Kind::Digital(e) => stack3(e, |m| m.stability.clone()),
        };
        Ok(Array2::from_shape_vec((self.shape.0, self.shape.1), v)
            .map_err(shape_error)?
            .into_pyarray(py))
    }

    /// Per copy and L neuron: own firings, forced firings, rewards — (copies, 3, L).
    #[getter]
    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray3<u64>>> {
        let v: Vec<u64> = match &self.kind {
            Kind::Spiking(e) => e
                .copies
                .iter()
                .flat_map(|m| {
                    let l = &m.learn;
                    [&l.fired, &l.forced, &l.rewarded]
                        .into_iter()
                        .flatten()
                        .copied()
                })
                .collect(),
            Kind::Digital(e) => e
                .copies
                .iter()
                .flat_map(|m| {
                    [&m.fired, &m.forced, &m.rewarded]
                        .into_iter()
                        .flatten()
                        .copied()
                })
                .collect(),
        };
        Ok(Array3::from_shape_vec((self.shape.0, 3, self.shape.1), v)
            .map_err(shape_error)?
            .into_pyarray(py))
    }

    #[getter]
    fn seen(&self) -> u64 {
        with_ensemble!(&self.kind, e => e.seen)
    }
}
