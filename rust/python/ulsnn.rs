//! Bindings for the ULSNN baseline (Diehl & Cook 2015). Python's
//! `snnconv.baselines.ULSNN` drives training in chunks of images so progress is shown
//! and Ctrl-C is honoured between chunks.

use ndarray::{Array1, Array2};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use super::common::{shape_error, with_threads};
use crate::error::Error;
use crate::limits;
use crate::ulsnn::{Ulsnn, UlsnnParams};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyUlsnn>()?;
    Ok(())
}

#[pyclass(name = "UlsnnCore", module = "snnconv._core")]
struct PyUlsnn(Ulsnn);

/// The network's hyperparameters as Python passes them: a dict with one item per
/// field below (the `UlsnnParams` names); the rest keep `UlsnnParams::new`'s values.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct UlsnnArgs {
    n_inputs: usize,
    n_neurons: usize,
    time: usize,
    intensity: f64,
    intensity_step: f64,
    max_retries: u32,
    min_spikes: u32,
    exc: f64,
    inh: f64,
    nu_pre: f64,
    nu_post: f64,
    norm: f64,
    theta_plus: f64,
    tc_theta_decay: f64,
    one_spike: bool,
}

impl From<UlsnnArgs> for UlsnnParams {
    fn from(a: UlsnnArgs) -> Self {
        let mut p = UlsnnParams::new(a.n_inputs, a.n_neurons);
        p.time = a.time;
        p.intensity = a.intensity;
        p.intensity_step = a.intensity_step;
        p.max_retries = a.max_retries;
        p.min_spikes = a.min_spikes;
        p.exc = a.exc;
        p.inh = a.inh;
        p.nu_pre = a.nu_pre;
        p.nu_post = a.nu_post;
        p.norm = a.norm;
        p.theta_plus = a.theta_plus;
        p.tc_theta_decay = a.tc_theta_decay;
        p.one_spike = a.one_spike;
        p
    }
}

/// Rows of a (N, n_inputs) float64 array as one owned buffer, checked against the
/// network's input size.
fn rows(net: &Ulsnn, images: &PyReadonlyArray2<'_, f64>) -> PyResult<(Vec<f64>, usize)> {
    let d = net.params().n_inputs;
    if images.shape()[1] != d {
        return Err(Error::input(
            "images",
            format!("expected {d} pixels per image, got {}", images.shape()[1]),
        )
        .into());
    }
    Ok((
        images.as_array().iter().copied().collect(),
        images.shape()[0],
    ))
}

/// Spike counts (N, n_neurons) and retries (N,).
type Responses<'py> = (Bound<'py, PyArray2<u32>>, Bound<'py, PyArray1<u32>>);

#[pymethods]
impl PyUlsnn {
    /// Fresh network, or the saved state when `weights`/`theta` are given.
    /// `params`: dict of the `UlsnnArgs` fields.
    #[new]
    #[pyo3(signature = (params, seed, weights=None, theta=None, images_seen=0))]
    fn new(
        params: UlsnnArgs,
        seed: u64,
        weights: Option<PyReadonlyArray2<'_, f64>>,
        theta: Option<PyReadonlyArray1<'_, f64>>,
        images_seen: u64,
    ) -> PyResult<Self> {
        let p = UlsnnParams::from(params);
        let (n_inputs, n_neurons) = (p.n_inputs, p.n_neurons);
        let net = match (weights, theta) {
            (None, None) => Ulsnn::new(p, seed),
            (Some(w), Some(t)) => {
                if w.shape() != [n_inputs, n_neurons] {
                    return Err(Error::corrupt(
                        "weights",
                        format!(
                            "must have shape ({n_inputs}, {n_neurons}), got {:?}",
                            w.shape()
                        ),
                    )
                    .into());
                }
                Ulsnn::restore(
                    p,
                    seed,
                    w.as_array().iter().copied().collect(),
                    t.as_array().iter().copied().collect(),
                    images_seen,
                )
            }
            _ => Err(Error::param(
                "weights",
                "weights and theta must be given together",
            )),
        };
        Ok(Self(net?))
    }

    /// Trains on the rows of `images` (brightness in [0, 1]) in order; returns per-image
    /// (excitatory spikes of the final presentation, retries) as an (N, 2) array.
    fn train<'py>(
        &mut self,
        py: Python<'py>,
        images: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray2<u32>>> {
        let (data, n) = rows(&self.0, &images)?;
        let d = self.0.params().n_inputs;
        let net = &mut self.0;
        let stats = py.detach(|| {
            // Sequential: no pool needed, only the panic guard.
            with_threads(None, || {
                let mut stats = Vec::with_capacity(2 * n);
                for img in data.chunks_exact(d) {
                    let pr = net.train_image(img)?;
                    stats.extend([pr.spikes, pr.retries]);
                }
                Ok::<_, Error>(stats)
            })
        })??;
        Ok(Array2::from_shape_vec((n, 2), stats)
            .map_err(shape_error)?
            .into_pyarray(py))
    }

    /// Frozen spike counts (N, n_neurons) and retries (N,) of the rows of `images`,
    /// the k-th keyed by `first_index + k`. Parallel over images.
    #[pyo3(signature = (images, first_index=0, n_threads=None))]
    fn respond<'py>(
        &self,
        py: Python<'py>,
        images: PyReadonlyArray2<'py, f64>,
        first_index: u64,
        n_threads: Option<usize>,
    ) -> PyResult<Responses<'py>> {
        let (data, n) = rows(&self.0, &images)?;
        let k = self.0.params().n_neurons;
        let mut counts = vec![0u32; limits::elements_of::<u32>("images", &[n, k])?];
        let mut retries = vec![0u32; n];
        let net = &self.0;
        py.detach(|| {
            with_threads(n_threads, || {
                net.respond(&data, first_index, &mut counts, &mut retries)
            })
        })??;
        Ok((
            Array2::from_shape_vec((n, k), counts)
                .map_err(shape_error)?
                .into_pyarray(py),
            Array1::from(retries).into_pyarray(py),
        ))
    }

    /// Frozen spike raster (time, n_neurons) of one image (flat brightness vector).
    #[pyo3(signature = (image, index=0))]
    fn raster<'py>(
        &self,
        py: Python<'py>,
        image: PyReadonlyArray1<'py, f64>,
        index: u64,
    ) -> PyResult<(Bound<'py, PyArray2<u8>>, u32)> {
        let img: Vec<f64> = image.as_array().iter().copied().collect();
        let p = self.0.params();
        limits::elements_of::<u8>("time", &[p.time, p.n_neurons])?;
        let (r, pres) = self.0.raster(&img, index)?;
        let (t, k) = (self.0.params().time, self.0.params().n_neurons);
        Ok((
            Array2::from_shape_vec((t, k), r)
                .map_err(shape_error)?
                .into_pyarray(py),
            pres.retries,
        ))
    }

    /// Input → excitatory weights, (n_inputs, n_neurons).
    #[getter]
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let p = self.0.params();
        Ok(
            Array2::from_shape_vec((p.n_inputs, p.n_neurons), self.0.weights().to_vec())
                .map_err(shape_error)?
                .into_pyarray(py),
        )
    }
    #[getter]
    fn theta<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        Array1::from(self.0.theta().to_vec()).into_pyarray(py)
    }
    #[getter]
    fn images_seen(&self) -> u64 {
        self.0.images_seen()
    }
}
