"""Predicted vs measured: the table behind ``snnconv theory`` and docs/theory.md.

Measured quantities (all on each microcolumn's own clock, t in class examples):

* N: microcolumns of the class column rewarded at least once (``recruited``), and those
  holding ≥ 5 % of the column's rewards (``effective``: leaves out one-off recruits).
* crossing time: first t at which the mean simulated W_c reaches W_t0 (compare t_0).
* plateau: mean W_c over the last fifth of the window (compare W_1 and W_1c).
* t_1 (measured): time after t_0 for the mean to cover 1 − 1/e of the way from W_t0 to
  the plateau (compare the time constants).
* band: the predicted curve ± 2·sqrt(d·(W(t) − W(0))), the shot noise of the number of
  rewards (each +d) a single centre synapse has received by then.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .formulas import (
    TheoryParams,
    accuracy,
    activity_region,
    n_microcolumns,
    resource_from_weight,
    resource_trajectory,
    t_0,
    t_0_printed,
    t_1,
    t_1_centre,
    t_1_printed,
    w_1,
    w_1_centre,
    w_t0,
)
from .simulate import Simulation

#: Share of the column's rewards that makes a microcolumn count as ``effective``.
EFFECTIVE_SHARE = 0.05


def start_resource(p: TheoryParams) -> float:
    """W(0): the resource of weight 0."""
    return -p.w_min * (p.w_max - p.w_min) / p.w_max


def band(p: TheoryParams, curve: np.ndarray) -> np.ndarray:
    """Half-width of the predicted band around ``curve`` (module doc)."""
    return 2.0 * np.sqrt(p.d * np.maximum(curve - start_resource(p), 0.0))


def effective_counts(sim: Simulation) -> np.ndarray:
    out = []
    for r in sim.runs:
        total = max(int(r.rewards.sum()), 1)
        out.append(int((r.rewards >= EFFECTIVE_SHARE * total).sum()))
    return np.array(out)


def mean_curve(sim: Simulation, t_max: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(own-clock grid, mean W_c over every used microcolumn of every run)."""
    n = min(r.t.size for r in sim.runs) - 1
    if t_max is not None:
        n = min(n, t_max)
    grid = np.arange(n + 1)
    a = sim.aligned(grid)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(a, axis=1) if np.isfinite(a).any() else np.full(grid.size, np.nan)
    return grid, mean


def measure(sim: Simulation, horizon: int) -> dict:
    """Measured counterparts of the predictions (see module doc); ``horizon`` bounds the
    own-clock window (microcolumns recruited late are observed for a shorter time)."""
    p = sim.params
    grid, mean = mean_curve(sim, horizon)
    big_w0 = resource_from_weight(w_t0(p), p.w_min, p.w_max)
    ok = np.isfinite(mean)
    grid, mean = grid[ok], mean[ok]
    cross = grid[np.argmax(mean >= big_w0)] if (mean >= big_w0).any() else math.nan
    tail = mean[-max(1, mean.size // 5) :]
    plateau = float(tail.mean())
    tau = math.nan
    if not math.isnan(cross) and plateau > big_w0:
        target = big_w0 + (1 - math.exp(-1)) * (plateau - big_w0)
        after = (grid >= cross) & (mean >= target)
        if after.any():
            tau = float(grid[np.argmax(after)] - cross)
    at, acc, acc_sd = sim.accuracy()
    n = sim.n_recruited
    return {
        "n_recruited": n.tolist(),
        "n_mode": sim.mode_recruited(),
        "n_effective": effective_counts(sim).tolist(),
        "chi_fitted": sim.chi(),
        "crossing_time": float(cross),
        "plateau": plateau,
        "t_1_measured": tau,
        "accuracy_t": at.tolist(),
        "accuracy": acc.tolist(),
        "accuracy_sd": acc_sd.tolist(),
        "final_accuracy": float(acc[-1]),
        "chi_t": np.nanmedian(np.stack([r.chi_t for r in sim.runs]), axis=0).tolist(),
    }


def predictions(p: TheoryParams) -> dict:
    """Every closed form of docs/algorithms.md §5 for ``p`` (plus the centre-limited variant)."""
    out = {
        "l": activity_region(p),
        "N": n_microcolumns(p),
        "w_t0": w_t0(p),
        "W_t0": resource_from_weight(w_t0(p), p.w_min, p.w_max),
        "t_0": t_0(p),
        "t_0_printed": t_0_printed(p),
        "w_1": w_1(p),
        "t_1": t_1(p),
        "t_1_printed": t_1_printed(p),
        "w_1c": w_1_centre(p),
        "W_1c": resource_from_weight(w_1_centre(p), p.w_min, p.w_max),
        "t_1c": t_1_centre(p),
        "accuracy_at_w_1c": accuracy(p, w_1_centre(p)),
    }
    out["W_1"] = resource_from_weight(w_1(p), p.w_min, p.w_max) if w_1(p) < p.w_max else math.inf
    return out


def with_chi(p: TheoryParams, chi: float) -> TheoryParams:
    """``p`` with the profile width replaced (e.g. by the fitted one)."""
    return dataclasses.replace(p, chi=float(chi))


def curves(p: TheoryParams, grid: np.ndarray) -> dict[str, np.ndarray]:
    """Predicted W_c(t): as derived, as printed, and centre-limited (NaN where a form has no
    reachable fixed point)."""
    out = {}
    for name, kw in (
        ("derived", {}),
        ("printed", {"printed": True}),
        ("centre_limited", {"centre_limited": True}),
    ):
        try:
            out[name] = np.asarray(resource_trajectory(p, grid, **kw), dtype=float)
        except ValueError:
            out[name] = np.full(grid.shape, np.nan)
    return out
