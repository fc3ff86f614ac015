//! Bindings for the brightness normalisation, the kernel learner (docs/algorithms.md §1) and feature maps.

use ndarray::{Array1, Array2, Array3, Array4, ArrayD, IxDyn};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArray3, PyArray4, PyArrayDyn, PyReadonlyArray1,
    PyReadonlyArray3, PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use super::common::{shape_error, with_threads};
use crate::error::Error;
use crate::kernels::brightness::{
    brightness_u8_stack, check_saturation_quantile, check_unit_range, saturate_stack, LevelCounts,
    StreamQuantile,
};
use crate::kernels::conv::{conv_stack_f32, out_len};
use crate::kernels::prepared::PreparedStack;
use crate::kernels::{KernelLearner, KernelParams};
use crate::limits;
use crate::rng;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(normalise_brightness, m)?)?;
    m.add_function(wrap_pyfunction!(permutation, m)?)?;
    m.add_function(wrap_pyfunction!(conv_features, m)?)?;
    m.add_class::<PyStreamQuantile>()?;
    m.add_class::<PyPreparedStack>()?;
    m.add_class::<PyKernelLearner>()?;
    Ok(())
}

/// Owned copy of a (N, H, W) stack as brightness in f64: uint8 is divided by 255,
/// float64 must already lie in [0, 1].
fn brightness_stack(images: &Bound<'_, PyAny>) -> PyResult<(Vec<f64>, [usize; 3])> {
    if let Ok(a) = images.extract::<PyReadonlyArray3<'_, u8>>() {
        let shape = [a.shape()[0], a.shape()[1], a.shape()[2]];
        stack_fits(shape)?;
        let v = a.as_array().iter().map(|&x| f64::from(x) / 255.0).collect();
        return Ok((v, shape));
    }
    if let Ok(a) = images.extract::<PyReadonlyArray3<'_, f64>>() {
        let shape = [a.shape()[0], a.shape()[1], a.shape()[2]];
        stack_fits(shape)?;
        let v: Vec<f64> = a.as_array().iter().copied().collect();
        check_unit_range(&v, "images")?;
        return Ok((v, shape));
    }
    Err(PyTypeError::new_err(
        "images: expected a 3-D numpy array of uint8 or float64 (N, H, W)",
    ))
}

/// (N, C, H, W) of a stack given as (N, H, W) (one channel) or (N, C, H, W).
fn stack_dims(shape: &[usize]) -> PyResult<[usize; 4]> {
    match *shape {
        [n, h, w] => Ok([n, 1, h, w]),
        [n, c, h, w] if c >= 1 => Ok([n, c, h, w]),
        _ => Err(Error::input(
            "images",
            format!("expected shape (N, H, W) or (N, C, H, W) with C >= 1, got {shape:?}"),
        )
        .into()),
    }
}

/// An owned copy of a stack of uint8 levels or float64 brightness, (N, H, W) or
/// (N, C, H, W), as its planes (N·C, H, W) and the channel count.
enum Planes {
    Levels(Vec<u8>),
    Values(Vec<f64>),
}

fn planes_of(images: &Bound<'_, PyAny>) -> PyResult<(Planes, [usize; 4])> {
    if let Ok(a) = images.extract::<PyReadonlyArrayDyn<'_, u8>>() {
        let dims = stack_dims(a.shape())?;
        stack_fits([dims[0] * dims[1], 1, 1])?;
        let v = match a.as_slice() {
            Ok(s) => s.to_vec(),
            Err(_) => a.as_array().iter().copied().collect(),
        };
        return Ok((Planes::Levels(v), dims));
    }
    if let Ok(a) = images.extract::<PyReadonlyArrayDyn<'_, f64>>() {
        let dims = stack_dims(a.shape())?;
        stack_fits([dims[0] * dims[1], dims[2], dims[3]])?;
        let v: Vec<f64> = a.as_array().iter().copied().collect();
        check_unit_range(&v, "images")?;
        return Ok((Planes::Values(v), dims));
    }
    Err(PyTypeError::new_err(
        "images: expected a numpy array of uint8 or float64, (N, H, W) or (N, C, H, W)",
    ))
}

/// A kernel-shaped array: (n, K, K) for one channel, (n, C, K, K) for several.
fn kernel_dims(p: &KernelParams) -> Vec<usize> {
    if p.channels == 1 {
        vec![p.n_kernels, p.kernel_size, p.kernel_size]
    } else {
        vec![p.n_kernels, p.channels, p.kernel_size, p.kernel_size]
    }
}

/// The per-image and per-pixel buffers of an (N, H, W) stack fit the budget: f64
/// values of every pixel, and a histogram per image.
fn stack_fits([n, h, w]: [usize; 3]) -> PyResult<()> {
    limits::elements_of::<f64>("images", &[n, h, w])?;
    limits::elements_of::<[u32; 256]>("images", &[n])?;
    Ok(())
}

/// Brightness normalisation of a stack: values in [0, 1], then the per-image saturation rule.
#[pyfunction]
#[pyo3(signature = (images, saturation_quantile=None, n_threads=None))]
fn normalise_brightness<'py>(
    py: Python<'py>,
    images: &Bound<'py, PyAny>,
    saturation_quantile: Option<f64>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray3<f64>>> {
    check_saturation_quantile(saturation_quantile)?;
    if let Ok(a) = images.extract::<PyReadonlyArray3<'_, u8>>() {
        // uint8 (the usual case): one lookup table per image, no float selection.
        let [n, h, w] = [a.shape()[0], a.shape()[1], a.shape()[2]];
        stack_fits([n, h, w])?;
        let src: Vec<u8> = match a.as_slice() {
            Ok(s) => s.to_vec(),
            Err(_) => a.as_array().iter().copied().collect(),
        };
        let mut data = crate::pages::zeroed::<f64>(n * h * w);
        py.detach(|| {
            with_threads(n_threads, || {
                brightness_u8_stack(&src, h * w, saturation_quantile, &mut data)
            })
        })?;
        let arr = Array3::from_shape_vec((n, h, w), data).map_err(shape_error)?;
        return Ok(arr.into_pyarray(py));
    }
    let (mut data, [n, h, w]) = brightness_stack(images)?;
    if let Some(sq) = saturation_quantile {
        py.detach(|| with_threads(n_threads, || saturate_stack(&mut data, h * w, sq)))?;
    }
    let arr = Array3::from_shape_vec((n, h, w), data).map_err(shape_error)?;
    Ok(arr.into_pyarray(py))
}

/// Seeded permutation of 0..n for epoch `epoch` (one PCG stream per epoch).
#[pyfunction]
fn permutation<'py>(
    py: Python<'py>,
    n: usize,
    seed: u64,
    epoch: u64,
) -> PyResult<Bound<'py, PyArray1<u64>>> {
    limits::elements_of::<u64>("n", &[n, 2])?;
    let mut r = rng::stream(seed, rng::purpose::SHUFFLE, epoch);
    let p: Vec<u64> = rng::permutation(n, &mut r)
        .into_iter()
        .map(|i| i as u64)
        .collect();
    Ok(Array1::from(p).into_pyarray(py))
}

/// Valid cross-correlation of brightness-normalised images (N, H, W) with kernels (n, K, K)
/// at `stride`; returns float32 maps (N, n, P, Q).
#[pyfunction]
#[pyo3(signature = (images, kernels, stride, n_threads=None))]
fn conv_features<'py>(
    py: Python<'py>,
    images: PyReadonlyArray3<'py, f64>,
    kernels: PyReadonlyArray3<'py, f64>,
    stride: usize,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray4<f32>>> {
    let (n_img, h, w) = (images.shape()[0], images.shape()[1], images.shape()[2]);
    let (n_k, k, k2) = (kernels.shape()[0], kernels.shape()[1], kernels.shape()[2]);
    if k != k2 || k == 0 {
        return Err(
            Error::input("kernels", "must have shape (n_kernels, K, K) with K >= 1").into(),
        );
    }
    if stride < 1 {
        return Err(Error::param("stride", format!("must be >= 1, got {stride}")).into());
    }
    if h < k || w < k {
        return Err(Error::input(
            "images",
            format!("image of {h}x{w} is smaller than the {k}x{k} kernels"),
        )
        .into());
    }
    let g: Vec<f32> = match images.as_slice() {
        Ok(s) => s.iter().map(|&v| v as f32).collect(),
        Err(_) => images.as_array().iter().map(|&v| v as f32).collect(),
    };
    let kern: Vec<f32> = kernels.as_array().iter().map(|&v| v as f32).collect();
    let (p, q) = (out_len(h, k, stride), out_len(w, k, stride));
    limits::elements_of::<f32>("images", &[n_img, h, w])?;
    let size = limits::elements_of::<f32>("n_kernels", &[n_img, n_k, p, q])?;
    let mut out = crate::pages::zeroed::<f32>(size);
    py.detach(|| {
        with_threads(n_threads, || {
            conv_stack_f32(&g, n_img, (h, w), &kern, k, stride, &mut out)
        })
    })?;
    Ok(Array4::from_shape_vec((n_img, n_k, p, q), out)
        .map_err(shape_error)?
        .into_pyarray(py))
}

/// Exact quantile over a stream of arrays, in two passes (see the Rust docs).
#[pyclass(name = "StreamQuantile", module = "snnconv._core")]
struct PyStreamQuantile(StreamQuantile);

#[pymethods]
impl PyStreamQuantile {
    #[new]
    fn new(q: f64) -> PyResult<Self> {
        Ok(Self(StreamQuantile::new(q)?))
    }
    fn count(&mut self, values: PyReadonlyArray1<'_, f64>) -> PyResult<()> {
        self.0.count(values.as_slice()?);
        Ok(())
    }
    fn locate(&mut self) -> bool {
        self.0.locate()
    }
    fn needs_second_pass(&self) -> bool {
        self.0.needs_second_pass()
    }
    fn collect(&mut self, values: PyReadonlyArray1<'_, f64>) -> PyResult<()> {
        self.0.collect(values.as_slice()?);
        Ok(())
    }
    fn finish(&mut self) -> Option<f64> {
        self.0.finish()
    }
}

/// An image stack held in the core for learning: uint8 stays one byte per pixel
/// and is brightness-normalised image by image when learned from (see the Rust docs).
#[pyclass(name = "PreparedStack", module = "snnconv._core", frozen)]
struct PyPreparedStack(PreparedStack);

#[pymethods]
impl PyPreparedStack {
    /// `images`: uint8, or float64 brightness in [0, 1], (N, H, W) or (N, C, H, W)
    /// (each channel of each image normalised on its own). With `count_into`,
    /// also counts every brightness-normalised pixel into that quantile.
    #[new]
    #[pyo3(signature = (images, saturation_quantile=None, n_threads=None, count_into=None))]
    fn new(
        py: Python<'_>,
        images: &Bound<'_, PyAny>,
        saturation_quantile: Option<f64>,
        n_threads: Option<usize>,
        count_into: Option<PyRefMut<'_, PyStreamQuantile>>,
    ) -> PyResult<Self> {
        check_saturation_quantile(saturation_quantile)?;
        let (planes, [n, c, h, w]) = planes_of(images)?;
        let shape = (n * c, h, w);
        let stack = match planes {
            Planes::Levels(levels) => {
                let mut counts = count_into.as_ref().map(|_| LevelCounts::default());
                let stack = py.detach(|| {
                    with_threads(n_threads, || {
                        PreparedStack::from_levels(
                            levels,
                            shape,
                            saturation_quantile,
                            counts.as_mut(),
                        )
                    })
                })?;
                if let (Some(mut q), Some(counts)) = (count_into, counts) {
                    counts.count_into(&mut q.0);
                }
                stack
            }
            Planes::Values(values) => {
                let stack = py.detach(|| {
                    with_threads(n_threads, || {
                        PreparedStack::from_values(values, shape, saturation_quantile)
                    })
                })?;
                if let Some(mut q) = count_into {
                    stack.count_into(&mut q.0);
                }
                stack
            }
        };
        Ok(Self(stack.with_channels(c)))
    }

    /// (N, H, W).
    #[getter]
    fn shape(&self) -> (usize, usize, usize) {
        self.0.shape()
    }

    /// Channels per image.
    #[getter]
    fn channels(&self) -> usize {
        self.0.channels()
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    /// The brightness-normalised images `idx` as a new float64 array (len(idx), H, W),
    /// or (len(idx), C, H, W) for several channels.
    fn take<'py>(
        &self,
        py: Python<'py>,
        idx: PyReadonlyArray1<'py, u64>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let (n, h, w) = self.0.shape();
        let c = self.0.channels();
        let idx: Vec<usize> = idx.as_array().iter().map(|&i| i as usize).collect();
        if let Some(&bad) = idx.iter().find(|&&i| i >= n) {
            return Err(
                Error::input("idx", format!("index {bad} out of range for {n} images")).into(),
            );
        }
        let size = limits::elements_of::<f64>("idx", &[idx.len(), c, h, w])?;
        let mut out = crate::pages::zeroed::<f64>(size);
        if h * w > 0 {
            for (o, &i) in out.chunks_exact_mut(c * h * w).zip(&idx) {
                self.0.image(i, o);
            }
        }
        let dims = if c == 1 {
            vec![idx.len(), h, w]
        } else {
            vec![idx.len(), c, h, w]
        };
        let arr = ArrayD::from_shape_vec(IxDyn(&dims), out).map_err(shape_error)?;
        Ok(arr.into_pyarray(py))
    }

    /// First pass of `q` over every brightness-normalised pixel.
    fn count_into(&self, mut q: PyRefMut<'_, PyStreamQuantile>) {
        self.0.count_into(&mut q.0);
    }

    /// Second pass of `q` over every brightness-normalised pixel (if it needs one).
    fn collect_into(&self, mut q: PyRefMut<'_, PyStreamQuantile>) {
        self.0.collect_into(&mut q.0);
    }
}

/// Images copied into the core per batch when learning from a numpy array.
const BATCH: usize = 64;

/// The learner state; Python's `KernelLearner` drives it in chunks of images so
/// progress is shown and Ctrl-C is honoured between chunks.
#[pyclass(name = "KernelLearnerCore", module = "snnconv._core")]
struct PyKernelLearner(KernelLearner);

/// The learner's hyperparameters as Python passes them: a dict with one item per
/// `KernelParams` field (the same names).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct KernelArgs {
    kernel_size: usize,
    n_kernels: usize,
    stride: usize,
    w_min: f64,
    w_max: f64,
    learning_rate: f64,
    brightness_threshold: f64,
    #[pyo3(default = 1)]
    channels: usize,
}

impl From<KernelArgs> for KernelParams {
    fn from(a: KernelArgs) -> Self {
        KernelParams {
            kernel_size: a.kernel_size,
            n_kernels: a.n_kernels,
            stride: a.stride,
            w_min: a.w_min,
            w_max: a.w_max,
            learning_rate: a.learning_rate,
            brightness_threshold: a.brightness_threshold,
            channels: a.channels,
        }
    }
}

#[pymethods]
impl PyKernelLearner {
    /// `params`: dict of the `KernelParams` fields.
    #[new]
    #[pyo3(signature = (params, seed, initial_resource=None))]
    fn new(
        params: KernelArgs,
        seed: u64,
        initial_resource: Option<PyReadonlyArrayDyn<'_, f64>>,
    ) -> PyResult<Self> {
        let params = KernelParams::from(params);
        let want = kernel_dims(&params);
        let learner = match initial_resource {
            None => KernelLearner::new(params, seed),
            Some(r) => {
                let s = r.shape();
                if s != want.as_slice() {
                    return Err(Error::input(
                        "initial_resource",
                        format!("must have shape {want:?}, got {s:?}"),
                    )
                    .into());
                }
                KernelLearner::with_resource(params, seed, r.as_array().iter().copied().collect())
            }
        };
        Ok(Self(learner?))
    }

    /// Restores a saved state exactly.
    #[staticmethod]
    fn restore(
        params: KernelArgs,
        seed: u64,
        resource: PyReadonlyArrayDyn<'_, f64>,
        weights: PyReadonlyArrayDyn<'_, f64>,
        fired: Vec<bool>,
        images_seen: u64,
    ) -> PyResult<Self> {
        let params = KernelParams::from(params);
        let shape = kernel_dims(&params);
        if resource.shape() != shape.as_slice() || weights.shape() != shape.as_slice() {
            return Err(Error::corrupt("state", "kernel arrays have the wrong shape").into());
        }
        let learner = KernelLearner::restore(
            params,
            seed,
            resource.as_array().iter().copied().collect(),
            weights.as_array().iter().copied().collect(),
            fired,
            images_seen,
        );
        Ok(Self(learner?))
    }

    /// Learns from a `PreparedStack`, or from brightness-normalised images as a
    /// float64 array, (N, H, W) for one channel or (N, C, H, W), in the given order
    /// (all of them in index order when `order` is None). Returns per-image counts
    /// (forced, spontaneous, picks) as (N, 3).
    #[pyo3(signature = (images, order=None, n_threads=None))]
    fn learn<'py>(
        &mut self,
        py: Python<'py>,
        images: &Bound<'py, PyAny>,
        order: Option<PyReadonlyArray1<'py, u64>>,
        n_threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray2<u32>>> {
        let prepared = images.cast::<PyPreparedStack>().ok();
        let array = match prepared {
            Some(_) => None,
            None => Some(
                images
                    .extract::<PyReadonlyArrayDyn<'py, f64>>()
                    .map_err(|_| {
                        PyTypeError::new_err(
                            "images: expected a PreparedStack or a float64 array (N, H, W) \
                             or (N, C, H, W)",
                        )
                    })?,
            ),
        };
        let (n, c, h, w) = match (&prepared, &array) {
            (Some(p), _) => {
                let (n, h, w) = p.get().0.shape();
                (n, p.get().0.channels(), h, w)
            }
            (None, Some(a)) => {
                let [n, c, h, w] = stack_dims(a.shape())?;
                (n, c, h, w)
            }
            (None, None) => unreachable!(),
        };
        let channels = self.0.params().channels;
        if c != channels {
            return Err(Error::input(
                "images",
                format!("have {c} channels, the learner {channels}"),
            )
            .into());
        }
        let order: Vec<usize> = match order {
            None => (0..n).collect(),
            Some(o) => o.as_array().iter().map(|&i| i as usize).collect(),
        };
        if let Some(&bad) = order.iter().find(|&&i| i >= n) {
            return Err(
                Error::input("order", format!("index {bad} out of range for {n} images")).into(),
            );
        }
        if h * w == 0 {
            return Err(Error::input("images", "images have no pixels").into());
        }
        limits::elements_of::<f64>("images", &[BATCH.min(order.len()), c, h, w])?;
        let mut stats = Vec::with_capacity(limits::elements_of::<u32>("order", &[order.len(), 3])?);
        let learner = &mut self.0;
        if let Some(p) = &prepared {
            // The stack lives in the core: no copy, and the GIL is released for
            // the whole call.
            let (stack, stats) = (&p.get().0, &mut stats);
            py.detach(|| {
                with_threads(n_threads, || {
                    let mut img = vec![0.0; c * h * w];
                    for &i in &order {
                        stack.image(i, &mut img);
                        let st = learner.learn_image(&img, (h, w))?;
                        stats.extend([st.forced, st.spontaneous, st.picks]);
                    }
                    Ok::<_, Error>(())
                })
            })??;
        } else if let Some(images) = &array {
            // Copy the images in learning order, a few at a time (numpy memory is
            // only read with the GIL held), and learn each batch without the GIL.
            let all = images.as_array();
            let contiguous = images.as_slice().ok();
            let size = c * h * w;
            let mut data = Vec::with_capacity(BATCH.min(order.len()) * size);
            for batch in order.chunks(BATCH) {
                data.clear();
                for &i in batch {
                    match contiguous {
                        Some(s) => data.extend_from_slice(&s[i * size..(i + 1) * size]),
                        None => data.extend(all.index_axis(ndarray::Axis(0), i).iter().copied()),
                    }
                }
                let (data, stats, learner) = (&data, &mut stats, &mut *learner);
                py.detach(|| {
                    with_threads(n_threads, || {
                        for img in data.chunks_exact(size) {
                            let st = learner.learn_image(img, (h, w))?;
                            stats.extend([st.forced, st.spontaneous, st.picks]);
                        }
                        Ok::<_, Error>(())
                    })
                })??;
            }
        }
        Ok(Array2::from_shape_vec((order.len(), 3), stats)
            .map_err(shape_error)?
            .into_pyarray(py))
    }

    /// (n, K, K) for one channel, (n, C, K, K) for several.
    #[getter]
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        self.kernel_array(py, self.0.weights())
    }
    #[getter]
    fn resource<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        self.kernel_array(py, self.0.resource())
    }
    #[getter]
    fn fired(&self) -> Vec<bool> {
        self.0.fired().to_vec()
    }
    #[getter]
    fn images_seen(&self) -> u64 {
        self.0.images_seen()
    }
}

impl PyKernelLearner {
    fn kernel_array<'py>(
        &self,
        py: Python<'py>,
        v: &[f64],
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let dims = kernel_dims(self.0.params());
        Ok(ArrayD::from_shape_vec(IxDyn(&dims), v.to_vec())
            .map_err(shape_error)?
            .into_pyarray(py))
    }
}
