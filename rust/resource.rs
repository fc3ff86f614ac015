//! The resource–weight law shared by both local learners (the kernel learner and
//! CoLaNET's plastic synapses): a synapse holds a resource W, and its weight is
//! w(W), saturating between w_min and w_max.

/// w(W) of docs/algorithms.md §1: w_min at W ≤ 0, rising towards w_max as W grows.
#[inline]
pub fn weight(resource: f64, w_min: f64, w_max: f64) -> f64 {
    // Not f64::max: its NaN handling keeps loops from vectorising (W is finite).
    let r = if resource > 0.0 { resource } else { 0.0 };
    let span = w_max - w_min;
    w_min + span * r / (span + r)
}

/// The resource at which w(W) = 0.
pub fn zero_weight_resource(w_min: f64, w_max: f64) -> f64 {
    -w_min * (w_max - w_min) / w_max
}
