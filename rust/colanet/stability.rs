//! Neuron stability s (docs/algorithms.md §3): every resource change of a neuron is scaled by
//! min(2^−s, 1), so well-trained prototypes change slowly.
//!
//! The reward rows are the manual's 3-factor table (the dopamine rule used here is the
//! 3-factor one); s never goes below 0 ("non-positive s can only increase").

/// Plasticity scale min(2^−s, 1).
#[inline]
pub fn factor(s: f64) -> f64 {
    (-s).exp2().min(1.0)
}

/// First firing of a tight spike sequence, and every forced firing: Δs = r·d_H.
#[inline]
pub fn on_firing(s: f64, r: f64, d_h: f64) -> f64 {
    (s + r * d_h).max(0.0)
}

/// Reward R delivered to a neuron whose last firing was `forced` or not:
///
/// | forced | R < 0 | R > 0   |
/// |--------|-------|---------|
/// | no     | r·R   | 2·r·R   |
/// | yes    | 0     | −r·R    |
#[inline]
pub fn on_reward(s: f64, r: f64, reward: f64, forced: bool) -> f64 {
    let ds = match (forced, reward > 0.0) {
        (false, false) => r * reward,
        (false, true) => 2.0 * r * reward,
        (true, false) => 0.0,
        (true, true) => -r * reward,
    };
    (s + ds).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows() {
        let r = 0.05;
        assert!((on_reward(1.0, r, 0.18, false) - 1.018).abs() < 1e-12);
        assert!((on_reward(1.0, r, 0.18, true) - 0.991).abs() < 1e-12);
        assert!((on_reward(1.0, r, -0.2, false) - 0.99).abs() < 1e-12);
        assert_eq!(on_reward(1.0, r, -0.2, true), 1.0);
        assert_eq!(on_reward(0.001, r, 0.18, true), 0.0);
        assert_eq!(on_firing(0.0, r, -0.177), 0.0);
        assert!((on_firing(1.0, r, -0.177) - (1.0 - 0.00885)).abs() < 1e-12);
        assert_eq!(factor(0.0), 1.0);
        assert_eq!(factor(2.0), 0.25);
    }
}
