//! Bindings for the spiking front-end ConvSNN (docs/algorithms.md §2).

use ndarray::{Array1, Array2, Array3, Array4, ArrayD, IxDyn};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArray3, PyArray4, PyArrayDyn, PyReadonlyArray1,
    PyReadonlyArray4, PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::common::{shape_error, with_threads};
use crate::error::Error;
use crate::kernels::brightness::check_unit_range;
use crate::limits;
use crate::snn::{
    calibrate, pool_raster, BatchOut, Calibration, CalibrationOptions, ConvSnn, ConvSnnParams,
    Encoding, FrameOut, GivenInput, Raster, Reset,
};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sum_pool_spikes, m)?)?;
    m.add_function(wrap_pyfunction!(event_entries, m)?)?;
    m.add_class::<PyConvSnn>()?;
    Ok(())
}

type U16x3<'py> = Bound<'py, PyArray3<u16>>;
type F64x1<'py> = Bound<'py, PyArray1<f64>>;
/// A calibration as Python gets it: (scales, per-kernel rates, mean rate, evaluations,
/// kernels whose own target was out of reach).
type Calibrated<'py> = (F64x1<'py>, F64x1<'py>, f64, usize, Vec<usize>);

/// Runs the pooling layer alone on a conv raster (steps, n_kernels, P, Q) of bools;
/// returns pooled counts and end-of-run backlog, each (n_kernels, P // pool, Q // pool).
#[pyfunction]
fn sum_pool_spikes<'py>(
    py: Python<'py>,
    spikes: PyReadonlyArray4<'py, bool>,
    pool: usize,
) -> PyResult<(U16x3<'py>, U16x3<'py>)> {
    let s = spikes.shape();
    let shape = (s[0], s[1], s[2], s[3]);
    let data: Vec<bool> = spikes.as_array().iter().copied().collect();
    let (mut counts, mut backlog) = (Vec::new(), Vec::new());
    let layer = pool_raster(&data, shape, pool, &mut counts, &mut backlog)?;
    let dims = (layer.n_kernels, layer.p_len, layer.q_len);
    Ok((
        Array3::from_shape_vec(dims, counts)
            .map_err(shape_error)?
            .into_pyarray(py),
        Array3::from_shape_vec(dims, backlog)
            .map_err(shape_error)?
            .into_pyarray(py),
    ))
}

/// Raster entries of packed event records (uint8, the bytes of N records of
/// `x`, `y` u16, `t` i64, `p` u8, little-endian), streams ending at `ends` records:
/// returns (entries uint32, offsets uint64 with a leading 0, -1) with entry
/// step·nodes + (c·H + y)·W + x for each event with 0 <= ⌊(t − start) / bin⌋ < steps
/// (c = 1 for p > 0 with two channels, else 0), or (empty, empty, i) when record i
/// has a coordinate outside the sensor.
#[pyfunction]
#[pyo3(signature = (records, ends, channels, height, width, steps, bin, start))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn event_entries<'py>(
    py: Python<'py>,
    records: PyReadonlyArray1<'py, u8>,
    ends: PyReadonlyArray1<'py, u64>,
    channels: usize,
    height: usize,
    width: usize,
    steps: usize,
    bin: i64,
    start: i64,
) -> PyResult<(Bound<'py, PyArray1<u32>>, Bound<'py, PyArray1<u64>>, i64)> {
    use crate::snn::events::{EventBins, RECORD_BYTES};
    let nodes = (channels as u64) * (height as u64) * (width as u64);
    let limit = 1i64 << 62;
    if !(1..=2).contains(&channels)
        || !(1..limit).contains(&bin)
        || !(-limit + 1..limit).contains(&start)
        || (steps as u64).saturating_mul(nodes) > 1 << 32
    {
        return Err(Error::param(
            "bins",
            format!(
                "channels 1 or 2, bin in [1, 2**62), |start| < 2**62 and steps x nodes \
                 <= 2**32, got channels {channels}, bin {bin}, start {start}, \
                 {steps} x {nodes}"
            ),
        )
        .into());
    }
    let records = records.as_slice()?;
    if records.len() % RECORD_BYTES != 0 {
        return Err(Error::input(
            "records",
            format!(
                "{} bytes are not whole {RECORD_BYTES}-byte records",
                records.len()
            ),
        )
        .into());
    }
    let ends: Vec<usize> = ends.as_array().iter().map(|&e| e as usize).collect();
    if ends.windows(2).any(|w| w[0] > w[1])
        || ends
            .last()
            .is_some_and(|&e| e * RECORD_BYTES != records.len())
    {
        return Err(Error::input("ends", "must rise to the number of records").into());
    }
    let bins = EventBins {
        channels,
        height,
        width,
        steps,
        bin,
        start,
    };
    let (mut index, mut offsets) = (Vec::new(), Vec::new());
    let bad = py.detach(|| {
        crate::snn::events::event_entries(records, &ends, &bins, &mut index, &mut offsets)
    });
    Ok(match bad {
        Ok(()) => (index.into_pyarray(py), offsets.into_pyarray(py), -1),
        Err(i) => (
            Vec::new().into_pyarray(py),
            Vec::new().into_pyarray(py),
            i as i64,
        ),
    })
}

/// `ConvSNNCore`: the ConvSNN front-end for images of one size, built from validated
/// parameters.
#[pyclass(name = "ConvSNNCore", module = "snnconv._core")]
struct PyConvSnn {
    net: ConvSnn,
    scales: Vec<f64>,
}

fn parse_encoding(encoding: &str, reset_carry: bool, seed: u64) -> PyResult<Encoding> {
    match encoding {
        "accumulator" => Ok(Encoding::Accumulator { reset_carry }),
        "poisson" => Ok(Encoding::Bernoulli { seed }),
        other => Err(Error::param(
            "encoding",
            format!("must be 'accumulator' or 'poisson', got {other:?}"),
        )
        .into()),
    }
}

fn parse_reset(reset: &str) -> PyResult<Reset> {
    match reset {
        "subtract" => Ok(Reset::Subtract),
        "zero" => Ok(Reset::Zero),
        other => Err(Error::param(
            "reset",
            format!("must be 'subtract' or 'zero', got {other:?}"),
        )
        .into()),
    }
}

/// The front-end's hyperparameters as Python passes them: a dict with one item per
/// field (the ConvSNN parameter names; `tau` None = no leak).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct ConvSnnArgs {
    stride: usize,
    pool: usize,
    tau: Option<f64>,
    threshold: f64,
    frame_steps: usize,
    active_steps: usize,
    encoding: String,
    max_rate: f64,
    reset_carry: bool,
    reset: String,
}

impl ConvSnnArgs {
    fn into_params(self, seed: u64) -> PyResult<ConvSnnParams> {
        Ok(ConvSnnParams {
            stride: self.stride,
            pool: self.pool,
            tau: self.tau,
            threshold: self.threshold,
            frame_steps: self.frame_steps,
            active_steps: self.active_steps,
            encoding: parse_encoding(&self.encoding, self.reset_carry, seed)?,
            max_rate: self.max_rate,
            reset: parse_reset(&self.reset)?,
        })
    }
}

#[pymethods]
impl PyConvSnn {
    /// `kernels` (n_kernels, K, K), or (n_kernels, C, K, K) for C input channels,
    /// `scales` α per kernel, images of height × width (per channel);
    /// `params`: dict of the `ConvSnnArgs` fields.
    #[new]
    fn new(
        kernels: PyReadonlyArrayDyn<'_, f64>,
        scales: PyReadonlyArray1<'_, f64>,
        height: usize,
        width: usize,
        params: ConvSnnArgs,
        seed: u64,
    ) -> PyResult<Self> {
        let s = kernels.shape();
        let (n, c, k, k2) = match *s {
            [n, k, k2] => (n, 1, k, k2),
            [n, c, k, k2] => (n, c, k, k2),
            _ => (0, 0, 0, 0),
        };
        if k != k2 || n == 0 || c == 0 || k == 0 {
            return Err(Error::input(
                "kernels",
                format!(
                    "must have shape (n_kernels, K, K) or (n_kernels, C, K, K) with \
                     n_kernels, C, K >= 1, got {s:?}"
                ),
            )
            .into());
        }
        let params = params.into_params(seed)?;
        let kv: Vec<f64> = kernels.as_array().iter().copied().collect();
        let scales: Vec<f64> = scales.as_array().iter().copied().collect();
        let net = ConvSnn::with_channels(params, &kv, (c, k), &scales, (height, width))?;
        Ok(Self { net, scales })
    }

    /// Input channels C.
    #[getter]
    fn channels(&self) -> usize {
        self.net.conv.channels
    }

    /// (n_kernels, P, Q) of the convolution layer.
    #[getter]
    fn conv_shape(&self) -> (usize, usize, usize) {
        let c = &self.net.conv;
        (c.n_kernels, c.p_len, c.q_len)
    }

    /// (n_kernels, P', Q') of the pooled output.
    #[getter]
    fn output_shape(&self) -> (usize, usize, usize) {
        let p = &self.net.pool;
        (p.n_kernels, p.p_len, p.q_len)
    }

    #[getter]
    fn scales<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        Array1::from(self.scales.clone()).into_pyarray(py)
    }

    /// Simulates a batch (N, H, W) of brightness images, or (N, C, H, W) for C
    /// channels. `carry` (H, W) or (C, H, W) is the accumulator state before the
    /// first image (zeros when None). Returns pooled counts and backlogs
    /// (N, n_kernels, P', Q') uint16, conv spikes per kernel (N, n_kernels) uint32,
    /// per-image stats (N, 4) uint64 [input spikes, conv spikes, pool spikes,
    /// synaptic events], and the carry after the last image.
    #[pyo3(signature = (images, carry=None, first_index=0, n_threads=None))]
    #[allow(clippy::type_complexity)]
    fn run<'py>(
        &self,
        py: Python<'py>,
        images: PyReadonlyArrayDyn<'py, f64>,
        carry: Option<PyReadonlyArrayDyn<'py, u64>>,
        first_index: u64,
        n_threads: Option<usize>,
    ) -> PyResult<(
        Bound<'py, PyArray4<u16>>,
        Bound<'py, PyArray4<u16>>,
        Bound<'py, PyArray2<u32>>,
        Bound<'py, PyArray2<u64>>,
        Bound<'py, PyArrayDyn<u64>>,
    )> {
        let (n, data) = self.images(&images)?;
        self.batch_fits(n)?;
        let mut c = self.carry(carry)?;
        let net = &self.net;
        let out =
            py.detach(|| with_threads(n_threads, || net.run_batch(&data, &mut c, first_index)))?;
        let (pooled, backlog, conv, stats) = self.batch_arrays(py, n, out)?;
        let carry = ArrayD::from_shape_vec(IxDyn(&self.plane_dims(&[])), c)
            .map_err(shape_error)?
            .into_pyarray(py);
        Ok((pooled, backlog, conv, stats, carry))
    }

    /// Simulates a batch of frames whose input spikes are given instead of
    /// encoded: `rasters` uint16 (N, T, H, W), or (N, T, C, H, W) for C channels,
    /// holds each frame's spike counts per step and input node for its first
    /// T <= frame_steps steps. Returns pooled counts, backlogs, conv spikes per
    /// kernel and per-frame stats as `run` does.
    #[pyo3(signature = (rasters, n_threads=None))]
    #[allow(clippy::type_complexity)]
    fn run_rasters<'py>(
        &self,
        py: Python<'py>,
        rasters: PyReadonlyArrayDyn<'py, u16>,
        n_threads: Option<usize>,
    ) -> PyResult<(
        Bound<'py, PyArray4<u16>>,
        Bound<'py, PyArray4<u16>>,
        Bound<'py, PyArray2<u32>>,
        Bound<'py, PyArray2<u64>>,
    )> {
        let (n, steps, data) = self.rasters(&rasters)?;
        self.batch_fits(n)?;
        let net = &self.net;
        let out = py.detach(|| with_threads(n_threads, || net.run_batch_rasters(&data, steps)))?;
        self.batch_arrays(py, n, out)
    }

    /// Bisection on α over given input rasters (as `run_rasters` takes them); keeps
    /// the result. Returns (scales, per-kernel rates, mean rate, evaluations, kernels
    /// out of reach). Every
    /// evaluation runs the whole front-end on the sample.
    #[pyo3(signature = (rasters, target_rate, per_kernel=false, n_threads=None))]
    fn calibrate_rasters<'py>(
        &mut self,
        py: Python<'py>,
        rasters: PyReadonlyArrayDyn<'py, u16>,
        target_rate: f64,
        per_kernel: bool,
        n_threads: Option<usize>,
    ) -> PyResult<Calibrated<'py>> {
        let (n, steps, data) = self.rasters(&rasters)?;
        self.batch_fits(n)?;
        self.check_target(target_rate)?;
        let net = self.net.clone();
        let opts = CalibrationOptions::new(target_rate, per_kernel);
        let nk = net.conv.n_kernels;
        let cal = py.detach(|| {
            with_threads(n_threads, || {
                let mut r = net.clone();
                calibrate(nk, &opts, |s| {
                    r.conv.set_scales(s)?;
                    Ok(r.kernel_rates_rasters(&data, steps))
                })
            })
        })??;
        self.keep(py, net, cal)
    }

    /// Simulates a batch of frames whose input spikes are events: frame i's are
    /// `index[offsets[i]:offsets[i+1]]`, each the flat raster entry t·nodes + node
    /// (t < `steps` <= frame_steps, node = (c·H + y)·W + x) it adds one spike to.
    /// The same results as `run_rasters` on the rasters they fill.
    #[pyo3(signature = (index, offsets, steps, n_threads=None))]
    #[allow(clippy::type_complexity)]
    fn run_events<'py>(
        &self,
        py: Python<'py>,
        index: PyReadonlyArray1<'py, u32>,
        offsets: PyReadonlyArray1<'py, u64>,
        steps: usize,
        n_threads: Option<usize>,
    ) -> PyResult<(
        Bound<'py, PyArray4<u16>>,
        Bound<'py, PyArray4<u16>>,
        Bound<'py, PyArray2<u32>>,
        Bound<'py, PyArray2<u64>>,
    )> {
        let (index, offsets) = self.events(&index, &offsets, steps)?;
        let n = offsets.len() - 1;
        self.batch_fits(n)?;
        let net = &self.net;
        let input = GivenInput::Events {
            index: &index,
            offsets: &offsets,
            steps,
        };
        let out = py.detach(|| with_threads(n_threads, || net.run_batch_given(&input)))?;
        self.batch_arrays(py, n, out)
    }

    /// Bisection on α over events (as `run_events` takes them); keeps the result.
    /// Returns (scales, per-kernel rates, mean rate, evaluations, kernels out of
    /// reach).
    #[pyo3(signature = (index, offsets, steps, target_rate, per_kernel=false, n_threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn calibrate_events<'py>(
        &mut self,
        py: Python<'py>,
        index: PyReadonlyArray1<'py, u32>,
        offsets: PyReadonlyArray1<'py, u64>,
        steps: usize,
        target_rate: f64,
        per_kernel: bool,
        n_threads: Option<usize>,
    ) -> PyResult<Calibrated<'py>> {
        let (index, offsets) = self.events(&index, &offsets, steps)?;
        self.batch_fits(offsets.len() - 1)?;
        self.check_target(target_rate)?;
        let net = self.net.clone();
        let opts = CalibrationOptions::new(target_rate, per_kernel);
        let nk = net.conv.n_kernels;
        let cal = py.detach(|| {
            with_threads(n_threads, || {
                let mut r = net.clone();
                let input = GivenInput::Events {
                    index: &index,
                    offsets: &offsets,
                    steps,
                };
                calibrate(nk, &opts, |s| {
                    r.conv.set_scales(s)?;
                    Ok(r.kernel_rates_given(&input))
                })
            })
        })??;
        self.keep(py, net, cal)
    }

    /// Bisection on α over the sample `images` (encoder carry starting at zero);
    /// keeps the result. Returns (scales, per-kernel rates, mean rate, evaluations,
    /// kernels out of reach).
    #[pyo3(signature = (images, target_rate, per_kernel=false, n_threads=None))]
    fn calibrate<'py>(
        &mut self,
        py: Python<'py>,
        images: PyReadonlyArrayDyn<'py, f64>,
        target_rate: f64,
        per_kernel: bool,
        n_threads: Option<usize>,
    ) -> PyResult<Calibrated<'py>> {
        let (n, data) = self.images(&images)?;
        self.batch_fits(n)?;
        self.check_target(target_rate)?;
        let net = self.net.clone();
        let opts = CalibrationOptions::new(target_rate, per_kernel);
        let cal = py.detach(|| with_threads(n_threads, || net.calibrate(&data, &opts)))??;
        self.keep(py, net, cal)
    }

    /// One frame of one image (H, W), or (C, H, W) for C channels, with full
    /// recordings; a dict of arrays.
    #[pyo3(signature = (image, carry=None, image_index=0))]
    fn simulate<'py>(
        &self,
        py: Python<'py>,
        image: PyReadonlyArrayDyn<'py, f64>,
        carry: Option<PyReadonlyArrayDyn<'py, u64>>,
        image_index: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let net = &self.net;
        let want = self.plane_dims(&[]);
        if image.shape() != want.as_slice() {
            return Err(Error::input(
                "image",
                format!("must have shape {want:?}, got {:?}", image.shape()),
            )
            .into());
        }
        let g: Vec<f64> = image.as_array().iter().copied().collect();
        check_unit_range(&g, "image")?;
        let mut c = self.carry(carry)?;
        let steps = net.params.frame_steps;
        // The recordings: input (bool), conv spikes (bool) and potentials (f32) per
        // neuron, pool spikes (bool) and charges (f64), for every step.
        limits::elements_of::<bool>("frame_steps", &[steps, net.n_pixels()])?;
        limits::elements_of::<f32>("frame_steps", &[steps, net.conv.state_len()])?;
        limits::elements_of::<f64>("frame_steps", &[steps, net.pool.len()])?;
        let mut rec = Raster::new(steps, net.n_pixels(), &net.conv, &net.pool);
        let (nk, pp, pq) = self.output_shape();
        let (_, cp, cq) = self.conv_shape();
        let (mut pooled, mut backlog, mut cc) =
            (vec![0; rec.n_pool], vec![0; rec.n_pool], vec![0; nk]);
        let mut scratch = net.scratch();
        let st = net.run_frame(
            &g,
            &mut c,
            image_index,
            &mut scratch,
            FrameOut {
                pooled: &mut pooled,
                backlog: &mut backlog,
                conv_counts: &mut cc,
            },
            &mut rec,
        );
        let d = PyDict::new(py);
        let conv4 = (steps, nk, cp, cq);
        let pool4 = (steps, nk, pp, pq);
        d.set_item(
            "input",
            ArrayD::from_shape_vec(IxDyn(&self.plane_dims(&[steps])), rec.input)
                .map_err(shape_error)?
                .into_pyarray(py),
        )?;
        d.set_item(
            "conv",
            Array4::from_shape_vec(conv4, rec.conv)
                .map_err(shape_error)?
                .into_pyarray(py),
        )?;
        d.set_item(
            "pool",
            Array4::from_shape_vec(pool4, rec.pool)
                .map_err(shape_error)?
                .into_pyarray(py),
        )?;
        d.set_item(
            "conv_potential",
            Array4::from_shape_vec(conv4, rec.potential)
                .map_err(shape_error)?
                .into_pyarray(py),
        )?;
        d.set_item(
            "pool_charge",
            Array4::from_shape_vec(pool4, rec.charge)
                .map_err(shape_error)?
                .into_pyarray(py),
        )?;
        d.set_item(
            "pooled",
            Array3::from_shape_vec((nk, pp, pq), pooled)
                .map_err(shape_error)?
                .into_pyarray(py),
        )?;
        d.set_item(
            "backlog",
            Array3::from_shape_vec((nk, pp, pq), backlog)
                .map_err(shape_error)?
                .into_pyarray(py),
        )?;
        d.set_item(
            "carry",
            ArrayD::from_shape_vec(IxDyn(&want), c)
                .map_err(shape_error)?
                .into_pyarray(py),
        )?;
        d.set_item("synaptic_events", st.synaptic_events)?;
        Ok(d)
    }
}

impl PyConvSnn {
    /// Keeps a calibration's scales in `net` and returns (scales, per-kernel rates,
    /// mean rate, evaluations, kernels out of reach), as every calibration entry point
    /// reports them.
    fn keep<'py>(
        &mut self,
        py: Python<'py>,
        mut net: ConvSnn,
        cal: Calibration,
    ) -> PyResult<Calibrated<'py>> {
        net.conv.set_scales(&cal.scales)?;
        self.net = net;
        self.scales = cal.scales.clone();
        Ok((
            Array1::from(cal.scales).into_pyarray(py),
            Array1::from(cal.kernel_rates).into_pyarray(py),
            cal.rate,
            cal.evaluations,
            cal.unreachable,
        ))
    }

    /// The outputs of a batch of `n` images fit the budget: pooled counts and backlogs
    /// (u16), conv counts (u32) and the starting carry of every image (u64).
    fn batch_fits(&self, n: usize) -> PyResult<()> {
        let net = &self.net;
        limits::elements_of::<u16>("images", &[n, net.pool.len()])?;
        limits::elements_of::<u32>("images", &[n, net.conv.n_kernels])?;
        limits::elements_of::<u64>("images", &[n, net.n_pixels()])?;
        Ok(())
    }

    /// `lead` followed by (H, W) for one channel, (C, H, W) for several.
    fn plane_dims(&self, lead: &[usize]) -> Vec<usize> {
        let c = &self.net.conv;
        let mut d = lead.to_vec();
        if c.channels > 1 {
            d.push(c.channels);
        }
        d.extend([c.height, c.width]);
        d
    }

    fn check_target(&self, target_rate: f64) -> PyResult<()> {
        let max_rate = self.net.params.frame_steps as f64;
        if !(target_rate > 0.0 && target_rate < max_rate) {
            return Err(Error::param(
                "target_rate",
                format!(
                    "must be in (0, frame_steps={max_rate}) spikes per neuron per frame, \
                     got {target_rate}"
                ),
            )
            .into());
        }
        Ok(())
    }

    /// The arrays `run` returns, from a batch's output.
    #[allow(clippy::type_complexity)]
    fn batch_arrays<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        out: BatchOut,
    ) -> PyResult<(
        Bound<'py, PyArray4<u16>>,
        Bound<'py, PyArray4<u16>>,
        Bound<'py, PyArray2<u32>>,
        Bound<'py, PyArray2<u64>>,
    )> {
        let (nk, pp, pq) = self.output_shape();
        let stats: Vec<u64> = out
            .stats
            .iter()
            .flat_map(|s| {
                [
                    s.input_spikes,
                    s.conv_spikes,
                    s.pool_spikes,
                    s.synaptic_events,
                ]
            })
            .collect();
        Ok((
            Array4::from_shape_vec((n, nk, pp, pq), out.pooled)
                .map_err(shape_error)?
                .into_pyarray(py),
            Array4::from_shape_vec((n, nk, pp, pq), out.backlog)
                .map_err(shape_error)?
                .into_pyarray(py),
            Array2::from_shape_vec((n, nk), out.conv_counts)
                .map_err(shape_error)?
                .into_pyarray(py),
            Array2::from_shape_vec((n, 4), stats)
                .map_err(shape_error)?
                .into_pyarray(py),
        ))
    }

    /// Owned copy of a (N, H, W) (or (N, C, H, W)) brightness stack of this
    /// network's image size and channels.
    fn images(&self, images: &PyReadonlyArrayDyn<'_, f64>) -> PyResult<(usize, Vec<f64>)> {
        let s = images.shape();
        let want = self.plane_dims(&[]);
        if s.len() != want.len() + 1 || s[1..] != want[..] {
            return Err(Error::input(
                "images",
                format!("must be (N, {want:?}) for this network, got {s:?}"),
            )
            .into());
        }
        let data: Vec<f64> = images.as_array().iter().copied().collect();
        check_unit_range(&data, "images")?;
        Ok((s[0], data))
    }

    /// Owned copy of input rasters (N, T, [C,] H, W) of this network's input; (N, T,
    /// data).
    fn rasters(&self, rasters: &PyReadonlyArrayDyn<'_, u16>) -> PyResult<(usize, usize, Vec<u16>)> {
        let s = rasters.shape();
        let want = self.plane_dims(&[]);
        let steps = self.net.params.frame_steps;
        if s.len() != want.len() + 2 || s[2..] != want[..] || s[1] > steps {
            return Err(Error::input(
                "rasters",
                format!(
                    "must be (N, T, {want:?}) spike counts with T <= frame_steps={steps}, \
                     got {s:?}"
                ),
            )
            .into());
        }
        limits::elements_of::<u16>("rasters", s)?;
        Ok((s[0], s[1], rasters.as_array().iter().copied().collect()))
    }

    /// Event indices and frame offsets checked: 1 <= steps <= frame_steps, offsets
    /// non-decreasing from 0 to the number of events (at least one frame), every
    /// index below steps · input nodes.
    fn events(
        &self,
        index: &PyReadonlyArray1<'_, u32>,
        offsets: &PyReadonlyArray1<'_, u64>,
        steps: usize,
    ) -> PyResult<(Vec<u32>, Vec<usize>)> {
        let frame_steps = self.net.params.frame_steps;
        if steps == 0 || steps > frame_steps {
            return Err(Error::param(
                "steps",
                format!("must be in [1, frame_steps={frame_steps}], got {steps}"),
            )
            .into());
        }
        let index: Vec<u32> = index.as_array().iter().copied().collect();
        let per_frame = (steps as u64).saturating_mul(self.net.n_pixels() as u64);
        if let Some(bad) = index.iter().position(|&e| u64::from(e) >= per_frame) {
            return Err(Error::input(
                "index",
                format!(
                    "event {bad} has raster entry {}, beyond the {per_frame} entries of \
                     {steps} steps x {} input nodes",
                    index[bad],
                    self.net.n_pixels()
                ),
            )
            .into());
        }
        let offsets: Vec<u64> = offsets.as_array().iter().copied().collect();
        let ok = offsets.len() >= 2
            && offsets[0] == 0
            && offsets[offsets.len() - 1] == index.len() as u64
            && offsets.windows(2).all(|w| w[0] <= w[1]);
        if !ok {
            return Err(Error::input(
                "offsets",
                format!(
                    "must be non-decreasing from 0 to the {} events, one more than the \
                     frames (at least 2 entries)",
                    index.len()
                ),
            )
            .into());
        }
        Ok((index, offsets.iter().map(|&o| o as usize).collect()))
    }

    fn carry(&self, carry: Option<PyReadonlyArrayDyn<'_, u64>>) -> PyResult<Vec<u64>> {
        let want = self.plane_dims(&[]);
        match carry {
            None => Ok(vec![0; self.net.n_pixels()]),
            Some(c) => {
                if c.shape() != want.as_slice() {
                    return Err(Error::input(
                        "carry",
                        format!("must have shape {want:?}, got {:?}", c.shape()),
                    )
                    .into());
                }
                let v: Vec<u64> = c.as_array().iter().copied().collect();
                if let Some(bad) = v.iter().find(|&&z| z >= crate::snn::encoder::QUANTUM) {
                    return Err(Error::input(
                        "carry",
                        format!(
                            "accumulator states must be < {}, got {bad}",
                            crate::snn::encoder::QUANTUM
                        ),
                    )
                    .into());
                }
                Ok(v)
            }
        }
    }
}
