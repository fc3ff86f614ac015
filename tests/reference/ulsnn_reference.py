"""A straightforward dense numpy rendering of the ULSNN step loop (BindsNET's
DiehlAndCook2015 dynamics, as documented in rust/ulsnn/), for tests and benchmarks.

It takes the input spike trains as given (time, n_inputs) booleans, so a test can feed
deterministic trains (binary images at 1000 Hz spike every step or never) and compare
with the Rust engine exactly. No one-spike rule (tests set one_spike=False).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class P:
    time: int = 250
    exc: float = 22.5
    inh: float = 120.0
    nu_pre: float = 1e-4
    nu_post: float = 1e-2
    w_max: float = 1.0
    norm: float = 78.4
    theta_plus: float = 0.05
    tc_theta_decay: float = 1e7
    tc_trace: float = 20.0
    e_rest: float = -65.0
    e_reset: float = -60.0
    e_thresh: float = -52.0
    e_refrac: int = 5
    e_tc: float = 100.0
    i_rest: float = -60.0
    i_reset: float = -45.0
    i_thresh: float = -40.0
    i_refrac: int = 2
    i_tc: float = 10.0


def normalise(w: np.ndarray, norm: float) -> None:
    s = w.sum(axis=0)
    w *= np.divide(norm, s, out=np.zeros_like(s), where=s > 0)


def present(
    w: np.ndarray, theta: np.ndarray, trains: np.ndarray, p: P, learning: bool
) -> np.ndarray:
    """One presentation; updates w and theta in place when learning. Returns counts."""
    d, n = w.shape
    de, di = math.exp(-1 / p.e_tc), math.exp(-1 / p.i_tc)
    dtr, dth = math.exp(-1 / p.tc_trace), math.exp(-1 / p.tc_theta_decay)
    v = np.full(n, p.e_rest)
    r = np.zeros(n, dtype=np.int64)
    vi = np.full(n, p.i_rest)
    ri = np.zeros(n, dtype=np.int64)
    xe = np.zeros(n)
    xi = np.zeros(n)
    xpre = np.zeros(d)
    xpost = np.zeros(n)
    counts = np.zeros(n, dtype=np.int64)
    for t in range(p.time):
        if learning:
            theta *= dth
        v = p.e_rest + de * (v - p.e_rest)
        blocked = r > 0
        r[blocked] -= 1
        v[~blocked] += xe[~blocked]
        s = v >= p.e_thresh + theta
        v[s] = p.e_reset
        r[s] = p.e_refrac
        if learning:
            theta[s] += p.theta_plus
        vi = p.i_rest + di * (vi - p.i_rest)
        bi = ri > 0
        ri[bi] -= 1
        vi[~bi] += xi[~bi]
        si = vi >= p.i_thresh
        vi[si] = p.i_reset
        ri[si] = p.i_refrac
        pre = trains[t]
        xpre *= dtr
        xpre[pre] = 1.0
        xpost *= dtr
        xpost[s] = 1.0
        if learning:
            w[pre, :] -= p.nu_pre * xpost[None, :]
            w[:, s] += p.nu_post * xpre[:, None]
            np.clip(w, 0.0, p.w_max, out=w)
        counts += s
        xe = pre.astype(np.float64) @ w - p.inh * (si.sum() - si)
        xi = p.exc * s
    if learning:
        normalise(w, p.norm)
    return counts
