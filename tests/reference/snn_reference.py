"""A plain numpy, step-by-step implementation of docs/algorithms.md §2, for tests and benchmarks.

Written straight from docs/algorithms.md §2, one step at a time, sharing nothing with the Rust
core except three documented conventions that make spike-for-spike agreement
possible: the accumulator counts in integer units of 1/(255·2²³) spike, conv
potentials are float32 with each input spike's weights added in raster order of
the pixels, and pooling charge is an integer in units of u_THR / 2²⁰.

Several input channels (docs/algorithms.md §1.5): an input raster (P, C, H, W) and
kernels (n, C, K, K); raster order is then channel by channel. A raster of counts
delivers a node's n spikes of one step one after the other.
"""

from __future__ import annotations

import math

import numpy as np

QUANTUM = 255 << 23
POOL_UNITS = 1 << 20


def accumulator_input(
    g: np.ndarray,
    frame_steps: int = 15,
    active_steps: int = 10,
    max_rate: float = 1.0,
    carry: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Input raster (P, H, W) of the accumulator z ← z + g; spike and z ← z − 1 at z ≥ 1."""
    level = np.floor((g * max_rate) * QUANTUM + 0.5).astype(np.int64)
    z = np.zeros(g.shape, np.int64) if carry is None else carry.astype(np.int64).copy()
    raster = np.zeros((frame_steps, *g.shape), bool)
    for t in range(active_steps):
        z += level
        raster[t] = z >= QUANTUM
        z[raster[t]] -= QUANTUM
    return raster, z


def simulate(
    inputs: np.ndarray,
    kernels: np.ndarray,
    scales: np.ndarray,
    stride: int = 2,
    pool: int = 2,
    tau: float | None = 10.0,
    threshold: float = 1.0,
    reset: str = "subtract",
) -> dict[str, np.ndarray]:
    """Conv LIF layer + sum pooling driven by an input raster (P, H, W) or (P, C, H, W)."""
    if inputs.ndim == 3:
        inputs, kernels = inputs[:, None], kernels[:, None]
    steps, _, h, w = inputs.shape
    nk, _, k, _ = kernels.shape
    pc, qc = (h - k) // stride + 1, (w - k) // stride + 1
    pp, qp = pc // pool, qc // pool
    aw = (np.asarray(scales, np.float64)[:, None, None, None] * kernels).astype(np.float32)
    decay = None if tau is None or math.isinf(tau) else np.float32(1.0 - 1.0 / tau)
    th = np.float32(threshold)
    u = np.zeros((nk, pc, qc), np.float32)
    v = np.zeros((nk, pp, qp), np.int64)
    conv = np.zeros((steps, nk, pc, qc), bool)
    pooled = np.zeros((steps, nk, pp, qp), bool)
    potential = np.zeros((steps, nk, pc, qc), np.float32)
    rows, cols = np.arange(pc) * stride, np.arange(qc) * stride
    for t in range(steps):
        if decay is not None:
            u *= decay
        for c, y, x in zip(*np.nonzero(inputs[t]), strict=True):  # raster order
            ps = np.nonzero((rows <= y) & (y < rows + k))[0]
            qs = np.nonzero((cols <= x) & (x < cols + k))[0]
            if len(ps) and len(qs):
                ii, jj = (y - ps * stride)[:, None], (x - qs * stride)[None, :]
                # n spikes of a node in one step add n·w at once (n·w rounded to
                # float32 first); an encoder never gives more than one
                n = np.float32(inputs[t, c, y, x])
                u[:, ps[:, None], qs[None, :]] += n * aw[:, c, ii, jj]
        spikes = u >= th
        if reset == "subtract":
            u[spikes] -= th
        else:
            u[spikes] = 0
        conv[t] = spikes
        potential[t] = u
        block = spikes[:, : pp * pool, : qp * pool].reshape(nk, pp, pool, qp, pool)
        v += block.sum(axis=(2, 4)) * (POOL_UNITS + 1)
        pooled[t] = v >= POOL_UNITS
        v[pooled[t]] -= POOL_UNITS
    return {
        "conv": conv,
        "pool": pooled,
        "conv_potential": potential,
        "pooled": pooled.sum(0).astype(np.uint16),
        "backlog": (v // POOL_UNITS).astype(np.uint16),
    }
