//! `_core.default_params()`: the `Default` values of the core's parameter structs,
//! so Python can check its own defaults against them (tests/test_core_defaults.py).

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::colanet::Params;
use crate::ulsnn::UlsnnParams;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(default_params, m)?)?;
    m.add_function(wrap_pyfunction!(alloc_budget, m)?)?;
    Ok(())
}

/// The per-allocation budget in bytes (`crate::limits::alloc_budget`): the one source
/// Python's own checks of the arrays numpy allocates read too.
#[pyfunction]
fn alloc_budget() -> usize {
    crate::limits::alloc_budget()
}

/// {"colanet": {...}, "ulsnn": {...}}: field name → default value of each core params
/// struct that has defaults. CoLaNET's `silent_synapses` None is -1, as Python passes
/// it; ULSNN's `norm` is given per input (`norm_per_input`, norm = that × n_inputs)
/// and `n_inputs`/`n_neurons` are left out (they have no default).
#[pyfunction]
fn default_params(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let c = Params::default();
    let colanet = PyDict::new(py);
    colanet.set_item("n_inputs", c.n_inputs)?;
    colanet.set_item("n_classes", c.n_classes)?;
    colanet.set_item("microcolumns", c.microcolumns)?;
    colanet.set_item("threshold", c.threshold)?;
    colanet.set_item("threshold_excess", c.threshold_excess)?;
    colanet.set_item("tau_v", c.tau_v)?;
    colanet.set_item("hebbian", c.hebbian)?;
    colanet.set_item("reward", c.reward)?;
    colanet.set_item("stability_ratio", c.stability_ratio)?;
    colanet.set_item("w_min", c.w_min)?;
    colanet.set_item("w_max", c.w_max)?;
    colanet.set_item("initial_weight", c.initial_weight)?;
    colanet.set_item("silent_synapses", c.silent_synapses.map_or(-1, i64::from))?;
    colanet.set_item("renorm_threshold", c.renorm_threshold)?;
    colanet.set_item("hebbian_window", c.hebbian_window)?;
    colanet.set_item("dopamine_time", c.dopamine_time)?;
    colanet.set_item("max_isi", c.max_isi)?;
    colanet.set_item("presentation_steps", c.presentation_steps)?;
    colanet.set_item("frame_steps", c.frame_steps)?;
    colanet.set_item("label_step", c.label_step)?;
    colanet.set_item("stochastic", c.stochastic)?;

    let u = UlsnnParams::new(1, 1);
    let ulsnn = PyDict::new(py);
    ulsnn.set_item("time", u.time)?;
    ulsnn.set_item("intensity", u.intensity)?;
    ulsnn.set_item("intensity_step", u.intensity_step)?;
    ulsnn.set_item("max_retries", u.max_retries)?;
    ulsnn.set_item("min_spikes", u.min_spikes)?;
    ulsnn.set_item("exc", u.exc)?;
    ulsnn.set_item("inh", u.inh)?;
    ulsnn.set_item("nu_pre", u.nu_pre)?;
    ulsnn.set_item("nu_post", u.nu_post)?;
    ulsnn.set_item("w_max", u.w_max)?;
    ulsnn.set_item("norm_per_input", u.norm)?;
    ulsnn.set_item("theta_plus", u.theta_plus)?;
    ulsnn.set_item("tc_theta_decay", u.tc_theta_decay)?;
    ulsnn.set_item("tc_trace", u.tc_trace)?;
    ulsnn.set_item("one_spike", u.one_spike)?;

    let d = PyDict::new(py);
    d.set_item("colanet", colanet)?;
    d.set_item("ulsnn", ulsnn)?;
    Ok(d)
}
