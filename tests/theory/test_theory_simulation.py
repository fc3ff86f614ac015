"""The theory of docs/algorithms.md §5 against the digital CoLaNET on the binary task (seeded runs).

One module-scoped simulation (12 seeds × 1300 class examples, ~5 s) feeds the checks.
Findings they pin down (docs/theory.md): the microcolumn count, t_0 in its derived form
(with the factor l), and W_c(t) inside the predicted band after t_0 with the fitted
profile width; with the a-priori χ = 0.04 only the centre-limited fixed point holds.
"""

import numpy as np
import pytest

from snnconv.theory import (
    BinaryTask,
    TheoryParams,
    n_microcolumns,
    report,
    resource_from_weight,
    t_0,
    t_0_printed,
    w_t0,
)
from snnconv.theory.simulate import (
    centre_resource,
    learner_params,
    make_learner,
    profile_centre,
    simulate,
    spiking_tau_v,
)

P = TheoryParams()
HORIZON = 1040


@pytest.fixture(scope="module")
def sim():
    return simulate(P, range(12), "digital", 1300)


def _within_band(q, sim, form):
    grid, mean = report.mean_curve(sim, HORIZON)
    curve = report.curves(q, grid)[form]
    half = report.band(q, curve)
    after = grid >= t_0(q)
    a = sim.aligned(grid)[after]
    inside = np.abs(a - curve[after, None]) <= half[after, None]
    frac = inside[np.isfinite(a)].mean()
    return bool(np.all(np.abs(mean - curve)[after] <= half[after])), float(frac)


def test_learner_params_realise_the_theory_assumptions():
    kw = learner_params(P)
    assert kw["hebbian"] == -P.d and kw["reward"] == P.d
    assert kw["threshold"] == P.theta and kw["threshold_excess"] == 0.0
    assert kw["stability_ratio"] == 0.0 and kw["silent_synapses"] == -1
    assert kw["tau_v"] is None and kw["stochastic"] == 0.0 and kw["n_copies"] == 1
    with pytest.raises(ValueError, match="kind"):
        learner_params(P, "analog")


def test_one_forced_example_adds_d_to_exactly_its_active_synapses():
    _, counts, labels = BinaryTask(P, seed=5).sample(200)
    k = int(np.flatnonzero(labels == 1)[0])
    model = make_learner(P, "digital", seed=0)
    model.partial_fit(counts[k : k + 1].astype(float), [1], classes=[0, 1])
    # counts pass unchanged (no cap at T_p) and one microcolumn got +d on the active nodes
    np.testing.assert_array_equal(model.encode(counts[k : k + 1].astype(float)), counts[k : k + 1])
    res = model.resource_[0, 1]
    start = report.start_resource(P)
    used = np.flatnonzero(model.firing_counts_["rewarded"][0, 1])
    assert used.size == 1
    expected = np.where(counts[k] > 0, start + P.d, start)
    np.testing.assert_allclose(res[used[0]], expected, rtol=0, atol=1e-12)
    others = np.delete(res, used[0], axis=0)
    np.testing.assert_allclose(others, start, rtol=0, atol=1e-12)


def test_profile_width_of_a_gaussian_is_its_sigma():
    x = (np.arange(500) + 0.5) / 500
    w = np.stack([0.05 * np.exp(-((x - 0.4) ** 2) / (2 * 0.03**2)), np.zeros(500)])
    mu, chi = profile_centre(w, x)
    assert mu[0] == pytest.approx(0.4, abs=1e-9)
    assert chi[0] == pytest.approx(0.03, rel=1e-6)
    assert np.isnan(mu[1]) and np.isnan(chi[1])
    r = np.arange(1000.0).reshape(2, 500)
    wc = centre_resource(r, w, x)
    assert wc[0] == r[0, 199] and np.isnan(wc[1])  # node 199 is centred at 0.399


def test_most_probable_microcolumn_count_is_predicted_n(sim):
    n = n_microcolumns(P)  # 4.22
    # the nearest count (seeds 0-11, 12-23 and 24-35 all have mode 4)
    assert sim.mode_recruited() == round(n)
    # and not a degenerate network: every run recruits more than one
    assert sim.n_recruited.min() >= 2


def test_t0_is_the_derived_form_not_the_printed_one(sim):
    m = report.measure(sim, HORIZON)
    # mean W_c reaches W_t0 after ~t_0 = 28.7 class examples; printed: 1.7. Crossings
    # of 12 seeds: 23 (seeds 0-11, these), 26 (12-23), 20 (24-35), i.e. 0.70-0.91 t_0.
    # The window holds all three with about two examples to spare and rejects a
    # factor-2 slip either way (t_0 / 2 = 14.4, 2 t_0 = 57) as well as the printed form.
    assert 0.65 * t_0(P) <= m["crossing_time"] <= 1.1 * t_0(P)
    assert m["crossing_time"] > 5 * t_0_printed(P)
    # before t_0 the growth is the phase-1 line: at t_0/2 half-way (± the band)
    _grid, mean = report.mean_curve(sim, HORIZON)
    half = int(t_0(P) / 2)
    start = report.start_resource(P)
    big_w0 = resource_from_weight(w_t0(P), P.w_min, P.w_max)
    line = start + (big_w0 - start) * half / t_0(P)
    assert abs(mean[half] - line) <= report.band(P, np.array([line]))[0]


def test_centre_resource_stays_in_the_band_after_t0_with_fitted_chi(sim):
    q = report.with_chi(P, sim.chi())
    assert 0.035 < q.chi < 0.07  # fitted width, near the a-priori l·sqrt(5/12) = 0.038
    for form in ("derived", "centre_limited"):
        mean_ok, frac = _within_band(q, sim, form)
        assert mean_ok, form
        assert frac >= 0.9, (form, frac)


def test_apriori_chi_only_centre_limited_fixed_point_holds(sim):
    # With χ = 0.04 the stated fixed point W_1 = 5.39 is far above the simulated plateau
    # (≈ 2.0): the centre synapse stops growing at l_f = l, not 2l (docs/theory.md).
    mean_ok, _ = _within_band(P, sim, "derived")
    assert not mean_ok
    mean_ok, frac = _within_band(P, sim, "centre_limited")
    assert mean_ok and frac >= 0.95


def test_accuracy_learns_the_interval(sim):
    _t, acc, _ = sim.accuracy()
    assert acc[-1] >= 0.95
    # starts at the theory's 1 − (b − a): nothing answered, everything called "not the class"
    assert acc[0] == pytest.approx(1 - (P.b - P.a), abs=0.05)
    assert np.all(np.diff(acc) > -0.05)
    # the network ends up answering on the whole interval, beyond the centre-limited
    # coverage l_f = l (accuracy 0.75): the profile widens instead (docs/theory.md)
    assert acc[-1] > report.predictions(P)["accuracy_at_w_1c"] + 0.15


def test_spiking_tau_v_drains_the_forcing_residue_within_the_block():
    assert spiking_tau_v(2.0) == 6.0
    assert 10 * (1 - 1 / 6) ** 10 < 2.0 <= 10 * (1 - 1 / 7) ** 10
    assert spiking_tau_v(12.0) == float("inf")
    assert learner_params(P, "spiking")["tau_v"] == 6.0


def test_spiking_network_with_leak_recruits_about_n():
    sp = simulate(P, range(3), "spiking", 400)
    assert abs(sp.mode_recruited() - n_microcolumns(P)) <= 1
    assert sp.accuracy()[1][-1] >= 0.9


def test_spiking_network_without_leak_recruits_every_microcolumn(monkeypatch):
    # The forcing residue (+10, missed by the clearing impact while blocked) survives the
    # frame without leak and fires the unused microcolumns in the next one.
    import snnconv.theory.simulate as sim_mod

    monkeypatch.setattr(sim_mod, "spiking_tau_v", lambda theta: 1e9)
    sp = simulate(P, [0], "spiking", 300, microcolumns=12)
    assert sp.runs[0].n_recruited == 12
