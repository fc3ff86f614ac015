//! Bindings for the video preprocessing of docs/algorithms.md §6: the difference heat map and
//! connected-component boxes.

use ndarray::{Array2, ArrayView2};
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use super::common::{shape_error, with_threads};
use crate::error::Error;
use crate::preprocess::components::components as core_components;
use crate::preprocess::heat::HeatMap;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(components, m)?)?;
    m.add_class::<PyHeatMap>()?;
    Ok(())
}

/// Copies a 2-D array into `buf` (reused between calls) in row-major order.
fn fill<T: Copy>(buf: &mut Vec<T>, a: ArrayView2<'_, T>) {
    buf.clear();
    match a.as_slice() {
        Some(s) => buf.extend_from_slice(s),
        None => buf.extend(a.iter().copied()),
    }
}

/// Heat-map state; frames are copied into buffers owned here (no allocation per
/// frame) and the update runs without the GIL.
#[pyclass(name = "HeatMapCore", module = "snnconv._core")]
struct PyHeatMap {
    map: HeatMap,
    prev_u8: Vec<u8>,
    cur_u8: Vec<u8>,
    prev_f: Vec<f32>,
    cur_f: Vec<f32>,
    n_threads: Option<usize>,
}

#[pymethods]
impl PyHeatMap {
    #[new]
    #[pyo3(signature = (height, width, decay, n_threads=None))]
    fn new(height: usize, width: usize, decay: f64, n_threads: Option<usize>) -> PyResult<Self> {
        Ok(Self {
            map: HeatMap::new(height, width, decay)?,
            prev_u8: Vec::new(),
            cur_u8: Vec::new(),
            prev_f: Vec::new(),
            cur_f: Vec::new(),
            n_threads,
        })
    }

    /// Adds |current − previous|; both uint8 or both float32 greyscale (H, W).
    fn update(
        &mut self,
        py: Python<'_>,
        previous: &Bound<'_, PyAny>,
        current: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let (h, w) = self.map.shape();
        let check = |s: &[usize], name: &'static str| {
            if s != [h, w] {
                Err(Error::input(
                    name,
                    format!("expected shape ({h}, {w}), got {s:?}"),
                ))
            } else {
                Ok(())
            }
        };
        if let (Ok(p), Ok(c)) = (
            previous.extract::<PyReadonlyArray2<'_, u8>>(),
            current.extract::<PyReadonlyArray2<'_, u8>>(),
        ) {
            check(p.shape(), "previous")?;
            check(c.shape(), "current")?;
            fill(&mut self.prev_u8, p.as_array());
            fill(&mut self.cur_u8, c.as_array());
            let (map, a, b) = (&mut self.map, &self.prev_u8, &self.cur_u8);
            return py
                .detach(|| with_threads(self.n_threads, || map.update(a, b, f32::from)))?
                .map_err(PyErr::from);
        }
        if let (Ok(p), Ok(c)) = (
            previous.extract::<PyReadonlyArray2<'_, f32>>(),
            current.extract::<PyReadonlyArray2<'_, f32>>(),
        ) {
            check(p.shape(), "previous")?;
            check(c.shape(), "current")?;
            fill(&mut self.prev_f, p.as_array());
            fill(&mut self.cur_f, c.as_array());
            let (map, a, b) = (&mut self.map, &self.prev_f, &self.cur_f);
            return py
                .detach(|| with_threads(self.n_threads, || map.update(a, b, |v| v)))?
                .map_err(PyErr::from);
        }
        Err(PyTypeError::new_err(
            "frame: previous and current must both be 2-D uint8 or both float32 arrays",
        ))
    }

    /// The current heat map H_t as float32 (H, W).
    fn heat<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (h, w) = self.map.shape();
        let mut out = vec![0f32; h * w];
        py.detach(|| with_threads(self.n_threads, || self.map.heat_into(&mut out)))?;
        Ok(Array2::from_shape_vec((h, w), out)
            .map_err(shape_error)?
            .into_pyarray(py))
    }

    fn reset(&mut self) {
        self.map.reset();
    }

    #[getter]
    fn pairs(&self) -> u64 {
        self.map.pairs()
    }
}

/// Boxes of the connected components of `heat > threshold` as int64 rows
/// (x0, y0, x1, y1, area), half-open, in raster order of their first pixel.
#[pyfunction]
#[pyo3(signature = (heat, threshold, min_area=1, connectivity=8, ignore=None))]
fn components<'py>(
    py: Python<'py>,
    heat: PyReadonlyArray2<'py, f32>,
    threshold: f32,
    min_area: usize,
    connectivity: u8,
    ignore: Option<PyReadonlyArray2<'py, bool>>,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let (h, w) = (heat.shape()[0], heat.shape()[1]);
    let values: Vec<f32> = heat.as_array().iter().copied().collect();
    let mask: Option<Vec<bool>> = match ignore {
        None => None,
        Some(m) => {
            if m.shape() != [h, w] {
                return Err(Error::input(
                    "ignore",
                    format!("mask must have the heat map's shape ({h}, {w})"),
                )
                .into());
            }
            Some(m.as_array().iter().copied().collect())
        }
    };
    let found = py.detach(|| {
        core_components(
            &values,
            (h, w),
            threshold,
            mask.as_deref(),
            connectivity,
            min_area,
        )
    })?;
    let rows: Vec<i64> = found
        .iter()
        .flat_map(|c| [c.x0, c.y0, c.x1, c.y1, c.area].map(|v| v as i64))
        .collect();
    Ok(Array2::from_shape_vec((found.len(), 5), rows)
        .map_err(shape_error)?
        .into_pyarray(py))
}
