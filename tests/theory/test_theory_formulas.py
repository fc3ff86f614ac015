"""The theory's closed forms (docs/algorithms.md §5) against hand values and their derivation."""

import dataclasses
import math

import numpy as np
import pytest

from snnconv.theory import (
    BinaryTask,
    TheoryParams,
    accuracy,
    activity_region,
    excitation,
    l_f,
    n_microcolumns,
    resource_from_weight,
    resource_trajectory,
    t_0,
    t_0_printed,
    t_1,
    t_1_printed,
    w_1,
    w_t0,
    weight_from_resource,
)

P = TheoryParams()


def test_hand_values():
    # l = 2σ sqrt(2 ln(f_max T_p)) with σ = 0.02, f_max T_p = 3
    assert activity_region(P) == pytest.approx(0.04 * math.sqrt(2 * math.log(3.0)), rel=1e-12)
    assert activity_region(P) == pytest.approx(0.0592922, abs=1e-7)
    assert n_microcolumns(P) == pytest.approx(0.5 / (2 * 0.0592922), rel=1e-6)
    # gain = T_p f_max n sqrt(2π σ²χ²/(σ²+χ²)) = 3 * 500 * sqrt(2π * 0.00032)
    gain = 3 * 500 * math.sqrt(2 * math.pi * 0.0004 * 0.0016 / 0.002)
    assert w_t0(P) == pytest.approx(2.0 / gain, rel=1e-12)
    assert float(excitation(P, w_t0(P), 0.0)) == pytest.approx(P.theta, rel=1e-12)
    assert float(l_f(P, w_t0(P))) == 0.0
    assert float(l_f(P, w_1(P))) == pytest.approx(2 * activity_region(P), rel=1e-12)


def test_resource_weight_inverse_round_trips():
    w = np.linspace(P.w_min, P.w_max * 0.999, 50)
    back = weight_from_resource(resource_from_weight(w, P.w_min, P.w_max), P.w_min, P.w_max)
    np.testing.assert_allclose(back, w, rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="weight"):
        resource_from_weight(P.w_max, P.w_min, P.w_max)


def test_t0_is_the_integral_of_the_first_phase():
    start = -P.w_min * (P.w_max - P.w_min) / P.w_max
    direct = (
        (resource_from_weight(w_t0(P), P.w_min, P.w_max) - start)
        * (P.b - P.a)
        / (P.d * activity_region(P))
    )
    assert t_0(P) == pytest.approx(direct, rel=1e-12)
    assert t_0_printed(P) == pytest.approx(t_0(P) * activity_region(P), rel=1e-12)


def test_t1_is_the_linearised_time_constant():
    # dW/dt = (d l/(b-a)) (1 - l_f(w(W))/(2l)); t_1 = -1 / (d(dW/dt)/dW) at W_1
    big_w1 = resource_from_weight(w_1(P), P.w_min, P.w_max)

    def rate(big_w):
        w = weight_from_resource(big_w, P.w_min, P.w_max)
        lf = float(l_f(P, w))
        return P.d * activity_region(P) / (P.b - P.a) * (1 - lf / (2 * activity_region(P)))

    h = 1e-6 * big_w1
    slope = (rate(big_w1 + h) - rate(big_w1 - h)) / (2 * h)
    assert t_1(P) == pytest.approx(-1 / slope, rel=1e-6)
    assert t_1_printed(P) == pytest.approx(t_1(P) * activity_region(P), rel=1e-12)


def test_derived_times_are_invariant_under_rescaling_x_but_printed_are_not():
    lam = 3.0
    q = dataclasses.replace(
        P, sigma=P.sigma * lam, chi=P.chi * lam, a=P.a * lam, b=P.b * lam, density=P.density / lam
    )
    assert t_0(q) == pytest.approx(t_0(P), rel=1e-12)
    assert t_1(q) == pytest.approx(t_1(P), rel=1e-12)
    assert t_1_printed(q) != pytest.approx(t_1_printed(P), rel=1e-3)
    assert t_0_printed(q) != pytest.approx(t_0_printed(P), rel=1e-3)


def test_trajectory_is_continuous_and_converges():
    tz = t_0(P)
    before, after = resource_trajectory(P, [tz * (1 - 1e-9), tz * (1 + 1e-9)])
    assert before == pytest.approx(after, rel=1e-6)
    big_w1 = resource_from_weight(w_1(P), P.w_min, P.w_max)
    assert resource_trajectory(P, tz + 50 * t_1(P)) == pytest.approx(big_w1, rel=1e-9)
    start = -P.w_min * (P.w_max - P.w_min) / P.w_max
    assert resource_trajectory(P, 0.0) == pytest.approx(start, rel=1e-12)


def test_accuracy_limits():
    assert accuracy(P, 0.0) == pytest.approx(1 - (P.b - P.a))
    assert accuracy(P, w_1(P)) == pytest.approx(1.0)


def test_parameters_are_validated():
    with pytest.raises(ValueError, match="sigma"):
        TheoryParams(sigma=0.0)
    with pytest.raises(ValueError, match="f_max"):
        TheoryParams(f_max=0.05)
    with pytest.raises(ValueError, match="b"):
        TheoryParams(a=0.5, b=0.5)


def test_task_is_seeded_and_has_the_right_rates():
    task = BinaryTask(P, seed=3)
    x1, c1, y1 = task.sample(200)
    x2, c2, y2 = task.sample(200)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(c1, c2)
    assert c1.shape == (200, 500) and c1.dtype == np.uint16
    np.testing.assert_array_equal(y1, (x1 >= P.a) & (x1 <= P.b))
    big = task.sample(4000, stream=1)
    # mean count of the node nearest x matches f_max T_p
    nearest = np.abs(big[0][:, None] - task.centres[None]).argmin(1)
    mean = big[1][np.arange(4000), nearest].mean()
    assert mean == pytest.approx(3.0, rel=0.05)


def test_centre_limited_fixed_point_and_time_constant():
    from snnconv.theory import t_1_centre, w_1_centre

    # l_f(w_1c) = l, and t_1c = −1/(d rate/dW) of dW/dt = (d l/(b−a))(1 − l_f/l) at W_1c
    assert float(l_f(P, w_1_centre(P))) == pytest.approx(activity_region(P), rel=1e-12)
    big = resource_from_weight(w_1_centre(P), P.w_min, P.w_max)

    def rate(big_w):
        lf = float(l_f(P, weight_from_resource(big_w, P.w_min, P.w_max)))
        return P.d * activity_region(P) / (P.b - P.a) * (1 - lf / activity_region(P))

    h = 1e-6 * big
    slope = (rate(big + h) - rate(big - h)) / (2 * h)
    assert t_1_centre(P) == pytest.approx(-1 / slope, rel=1e-6)
    tz = t_0(P)
    late = resource_trajectory(P, tz + 50 * t_1_centre(P), centre_limited=True)
    assert late == pytest.approx(big, rel=1e-9)
    with pytest.raises(ValueError, match="printed"):
        resource_trajectory(P, 1.0, printed=True, centre_limited=True)
