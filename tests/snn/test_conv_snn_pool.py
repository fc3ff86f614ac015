"""Exact sum pooling (docs/algorithms.md §2): pooled count + backlog = block sum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from snnconv import _core


def block_sums(spikes: np.ndarray, pool: int) -> np.ndarray:
    _, c, p, q = spikes.shape
    pp, qp = p // pool, q // pool
    blocks = spikes[:, :, : pp * pool, : qp * pool].reshape(-1, c, pp, pool, qp, pool)
    return blocks.sum(axis=(0, 3, 5))


@st.composite
def rasters(draw):
    pool = draw(st.integers(1, 3))
    steps = draw(st.integers(1, 20))
    shape = (steps, draw(st.integers(1, 3)), draw(st.integers(pool, 7)), draw(st.integers(pool, 7)))
    return draw(arrays(np.bool_, shape)), pool


@settings(max_examples=200, deadline=None)
@given(rasters())
def test_pooled_plus_backlog_is_the_block_sum(case):
    spikes, pool = case
    counts, backlog = _core.sum_pool_spikes(spikes, pool)
    sums = block_sums(spikes, pool)
    np.testing.assert_array_equal(counts.astype(int) + backlog, sums)
    # At most one output spike per step, and no spike is invented.
    assert (counts <= spikes.shape[0]).all()
    assert (counts <= sums).all()


@settings(max_examples=100, deadline=None)
@given(rasters())
def test_backlog_drains_in_silent_steps(case):
    # After enough silent steps every input spike has come out: counts == sums.
    spikes, pool = case
    silent = np.zeros((pool * pool * spikes.shape[0], *spikes.shape[1:]), bool)
    counts, backlog = _core.sum_pool_spikes(np.concatenate([spikes, silent]), pool)
    np.testing.assert_array_equal(counts, block_sums(spikes, pool))
    assert not backlog.any()


def test_simultaneous_spikes_come_out_one_per_step():
    spikes = np.zeros((3, 1, 2, 2), bool)
    spikes[0] = True  # four conv spikes at step 0
    counts, backlog = _core.sum_pool_spikes(spikes, 2)
    assert (counts[0, 0, 0], backlog[0, 0, 0]) == (3, 1)


def test_edge_rows_are_not_pooled():
    spikes = np.zeros((1, 1, 3, 3), bool)
    spikes[0, 0, 2, :] = True
    spikes[0, 0, :, 2] = True
    counts, backlog = _core.sum_pool_spikes(spikes, 2)
    assert counts.shape == (1, 1, 1) and counts.sum() == 0 and backlog.sum() == 0


def test_pool_larger_than_map_is_rejected():
    with pytest.raises(ValueError, match="pool"):
        _core.sum_pool_spikes(np.zeros((2, 1, 3, 3), bool), 4)
