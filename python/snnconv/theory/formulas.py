"""Closed-form predictions of the CoLaNET training-dynamics theory (docs/algorithms.md §5).

Units: x (and σ, χ, l, a, b) in units of the input axis; rates f_max in spikes per
time step; T_p in steps; n in input nodes per unit of x; d in resource units per
rewarded example; t in training examples; θ in the units of U (weight × spikes).

Derivations (checked in ``docs/theory.md``):

* w(W) = w_min + (w_max − w_min)·W⁺/(w_max − w_min + W⁺), so
  W(w) = (w_max − w_min)(w − w_min)/(w_max − w) and dw/dW = (w_max − w)²/(w_max − w_min)².
* Before the microcolumn reacts on its own it is trained only when forced, i.e. when
  an example falls in its activity region: dW_c/dt = d·l/(b − a). Integrating from the
  zero-weight resource W(0) = −w_min(w_max − w_min)/w_max to W_t0 = W(w_t0) gives
  t_0 = w_t0·(b − a)·(w_max − w_min)² / (d·l·w_max·(w_max − w_t0)). The printed slide
  lacks the factor l in the denominator (``t_0_printed``).
* After t_0: dW_c/dt = (d·l/(b − a))·(1 − l_f/(2l)) with l_f(w) = 2·sqrt(2(σ²+χ²)·ln(w/w_t0)).
  The fixed point is w_1 with l_f(w_1) = 2l, i.e. w_1 = w_t0·exp(l²/(2(σ²+χ²))).
  Linearising in W around W_1: dl_f/dW = 2(σ²+χ²)(w_max − w_1)²/(w_1·l·(w_max − w_min)²),
  so the time constant is t_1 = 2(b − a)/(d·dl_f/dW)
  = [w_1(b − a)/d]·[l/(σ²+χ²)]·(w_max − w_min)²/(w_max − w_1)²: the power of l is one,
  not two as printed (``t_1_printed``); only the first power is dimensionless.
* Centre-limited variant (``centre_limited=True``, found against the simulation, see
  ``docs/theory.md``): the centre synapse is potentiated only by forced examples within
  l/2 of the centre (its node must spike), and after t_0 forced examples occur only where
  the microcolumn is silent, |x − x_c| > l_f/2. So dW_c/dt = (d·l/(b − a))·max(0, 1 − l_f/l),
  not (1 − l_f/(2l)), which averages the centre's activity over the whole captured
  interval 2l although forcing and centre activity exclude each other. The fixed point is
  l_f = l: w_1c = w_t0·exp(l²/(8(σ²+χ²))), with time constant
  t_1c = (b − a)·w_1c·l·(w_max − w_min)²/(4·d·(σ²+χ²)·(w_max − w_1c)²).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import numpy as np

from ..colanet.spiking import CoLaNET
from ..exceptions import DataError, ParameterError

#: CoLaNET's signature defaults: the theory's learner constants that are estimator
#: parameters (T_p, d, w_min, w_max) start from them.
_COLANET = {n: p.default for n, p in inspect.signature(CoLaNET).parameters.items()}


@dataclass(frozen=True)
class TheoryParams:
    """The binary task and the learner's constants.

    The defaults are a regime where the theory's phases exist: w_t0 < w_1 < w_max.
    Note w_1/w_t0 = (f_max·T_p)^(4σ²/(σ²+χ²)), so the fixed point is reachable only
    for modest f_max·T_p or profiles wider than the receptive fields (χ > σ).
    """

    sigma: float = 0.02  # receptive-field width (x units)
    f_max: float = 0.3  # peak rate, spikes per step
    t_p: float = float(_COLANET["presentation_steps"])  # presentation steps
    density: float = 500.0  # n: input nodes per unit of x
    a: float = 0.25  # the class interval [a, b] inside x in [0, 1]
    b: float = 0.75
    d: float = _COLANET["reward"]  # resource increment per rewarded example (D)
    theta: float = 2.0  # L threshold in units of U
    chi: float = 0.04  # width of a microcolumn's weight profile
    w_min: float = _COLANET["w_min"]
    w_max: float = _COLANET["w_max"]

    def __post_init__(self) -> None:
        checks = {
            "sigma": self.sigma > 0,
            "f_max": self.f_max > 0,
            "t_p": self.t_p > 0,
            "density": self.density > 0,
            "b": self.b > self.a,
            "d": self.d > 0,
            "theta": self.theta > 0,
            "chi": self.chi > 0,
            "w_min": self.w_min < 0,
            "w_max": self.w_max > 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise DataError(f"{name}: out of range ({getattr(self, name)!r})")
        if self.f_max * self.t_p <= 1:
            raise ParameterError(
                f"f_max: f_max·t_p must exceed 1 for a non-empty activity region, got "
                f"{self.f_max * self.t_p}"
            )


def weight_from_resource(resource: float | np.ndarray, w_min: float, w_max: float):
    """w(W) of docs/algorithms.md §1 and §3."""
    r = np.maximum(resource, 0.0)
    span = w_max - w_min
    return w_min + span * r / (span + r)


def resource_from_weight(weight: float | np.ndarray, w_min: float, w_max: float):
    """The inverse W(w) = (w_max − w_min)(w − w_min)/(w_max − w), for w in [w_min, w_max)."""
    weight = np.asarray(weight, dtype=float)
    if np.any(weight < w_min) or np.any(weight >= w_max):
        raise ParameterError(f"weight: must lie in [w_min, w_max) = [{w_min}, {w_max})")
    out = (w_max - w_min) * (weight - w_min) / (w_max - weight)
    return float(out) if out.ndim == 0 else out


def activity_region(p: TheoryParams) -> float:
    """l = 2σ·sqrt(2·ln(f_max·T_p)): width over which a node expects ≥ 1 spike (x units)."""
    return 2.0 * p.sigma * math.sqrt(2.0 * math.log(p.f_max * p.t_p))


def n_microcolumns(p: TheoryParams) -> float:
    """N ≈ (b − a)/(2l): microcolumns tiling the class interval."""
    return (p.b - p.a) / (2.0 * activity_region(p))


def _profile_gain(p: TheoryParams) -> float:
    """T_p·f_max·n·sqrt(2πσ²χ²/(σ²+χ²)): U per unit centre weight at zero offset."""
    s2, c2 = p.sigma**2, p.chi**2
    return p.t_p * p.f_max * p.density * math.sqrt(2.0 * math.pi * s2 * c2 / (s2 + c2))


def excitation(p: TheoryParams, w_c: float, offset: float | np.ndarray):
    """U_j for centre weight w_c and input at distance ``offset`` from the profile centre."""
    s2, c2 = p.sigma**2, p.chi**2
    return _profile_gain(p) * w_c * np.exp(-np.square(offset) / (2.0 * (s2 + c2)))


def w_t0(p: TheoryParams) -> float:
    """Centre weight at which the microcolumn starts reacting on its own: θ / gain."""
    return p.theta / _profile_gain(p)


def l_f(p: TheoryParams, w: float | np.ndarray):
    """Width of the region the microcolumn reacts to at centre weight w (0 below w_t0)."""
    ratio = np.maximum(np.asarray(w, dtype=float) / w_t0(p), 1.0)
    return 2.0 * np.sqrt(2.0 * (p.sigma**2 + p.chi**2) * np.log(ratio))


def w_1(p: TheoryParams) -> float:
    """Centre weight at which l_f = 2l (the fixed point of the second phase)."""
    return w_t0(p) * math.exp(activity_region(p) ** 2 / (2.0 * (p.sigma**2 + p.chi**2)))


def _span2(p: TheoryParams) -> float:
    return (p.w_max - p.w_min) ** 2


def t_0(p: TheoryParams) -> float:
    """Examples until the microcolumn reacts on its own (derived; see module doc)."""
    w0 = w_t0(p)
    return w0 * (p.b - p.a) * _span2(p) / (p.d * activity_region(p) * p.w_max * (p.w_max - w0))


def t_0_printed(p: TheoryParams) -> float:
    """t_0 as printed on the slide (without the factor l)."""
    w0 = w_t0(p)
    return w0 * (p.b - p.a) * _span2(p) / (p.d * p.w_max * (p.w_max - w0))


def t_1(p: TheoryParams) -> float:
    """Time constant of the second phase, derived: first power of l."""
    w1 = w_1(p)
    s = p.sigma**2 + p.chi**2
    return w1 * (p.b - p.a) / p.d * (activity_region(p) / s) * _span2(p) / (p.w_max - w1) ** 2


def t_1_printed(p: TheoryParams) -> float:
    """t_1 as printed (second power of l)."""
    w1 = w_1(p)
    s = p.sigma**2 + p.chi**2
    return w1 * (p.b - p.a) / p.d * (activity_region(p) ** 2 / s) * _span2(p) / (p.w_max - w1) ** 2


def w_1_centre(p: TheoryParams) -> float:
    """Centre weight at which l_f = l: where the centre synapse stops being potentiated."""
    return w_t0(p) * math.exp(activity_region(p) ** 2 / (8.0 * (p.sigma**2 + p.chi**2)))


def t_1_centre(p: TheoryParams) -> float:
    """Time constant of the centre-limited second phase (module doc)."""
    w1 = w_1_centre(p)
    s = p.sigma**2 + p.chi**2
    return (p.b - p.a) * w1 * activity_region(p) * _span2(p) / (4.0 * p.d * s * (p.w_max - w1) ** 2)


def resource_trajectory(
    p: TheoryParams, t: float | np.ndarray, printed: bool = False, centre_limited: bool = False
):
    """W_c(t): linear growth from the zero-weight resource until t_0, then the
    exponential approach W_1 + (W_t0 − W_1)·exp(−(t − t_0)/t_1).

    ``printed``: t_0 and t_1 as printed; ``centre_limited``: the fixed point w_1c and
    time constant t_1c of the centre-limited rate (module doc)."""
    if printed and centre_limited:
        raise ParameterError("printed: the printed forms have no centre-limited variant")
    t = np.asarray(t, dtype=float)
    w0, w1 = w_t0(p), (w_1_centre(p) if centre_limited else w_1(p))
    if w1 >= p.w_max:
        raise ParameterError(
            f"w_1 = {w1:.4g} is not below w_max = {p.w_max}: the fixed point is unreachable "
            "in this regime (raise theta's reach: more density, larger chi, or smaller l)"
        )
    big_w0 = resource_from_weight(w0, p.w_min, p.w_max)
    big_w1 = resource_from_weight(w1, p.w_min, p.w_max)
    start = -p.w_min * (p.w_max - p.w_min) / p.w_max
    tz = t_0_printed(p) if printed else t_0(p)
    tau = t_1_printed(p) if printed else (t_1_centre(p) if centre_limited else t_1(p))
    rate = (big_w0 - start) / tz
    early = start + rate * t
    late = big_w1 + (big_w0 - big_w1) * np.exp(-(t - tz) / tau)
    out = np.where(t < tz, early, late)
    return float(out) if out.ndim == 0 else out


def accuracy(p: TheoryParams, w: float | np.ndarray):
    """1 − (b − a)(1 − l_f/(2l)), x normalised to a unit range (capped to [0, 1])."""
    frac = np.minimum(l_f(p, w) / (2.0 * activity_region(p)), 1.0)
    out = 1.0 - (p.b - p.a) * (1.0 - frac)
    return float(out) if np.ndim(out) == 0 else out
