"""The refractory and denoise filters: exact kept sets on hand-made streams, and
agreement with tonic's per-event loops (the stream starts late enough that the
documented differences at its start do not apply)."""

from __future__ import annotations

import numpy as np
import pytest

from snnconv.events import denoise, make_events, refractory
from snnconv.exceptions import ParameterError


def test_refractory_exact():
    # pixel (0,0): t = 0, 5, 20, 24 ; pixel (1,0): t = 3 ; period 5
    ev = make_events([0, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 3, 5, 20, 24], [1, 0, 0, 1, 1])
    kept = refractory(ev, 5)
    # 5 is exactly 5 after 0 (dropped); 20 kept; 24 is 4 after 20 (dropped)
    assert kept["t"].tolist() == [0, 3, 20]
    assert len(refractory(ev, 0)) == 5


def test_refractory_measures_from_dropped_events_too():
    ev = make_events([0, 0, 0], [0, 0, 0], [0, 4, 8], [1, 1, 1])
    # 4 is dropped (4 <= 5 after 0); 8 is 4 after the dropped 4: dropped as in tonic
    assert refractory(ev, 5)["t"].tolist() == [0]


def test_denoise_exact():
    # (1,1) at t=10 has neighbour (1,0) at t=5 within 10 -> kept; (1,0) has no earlier
    # neighbour -> dropped; (3,3) alone -> dropped; (2,1) at t=30 sees (1,1) at 10: 20 > 10
    ev = make_events([1, 1, 3, 2], [0, 1, 3, 1], [5, 10, 12, 30], [1, 1, 0, 0])
    assert denoise(ev, 10)["t"].tolist() == [10]
    assert denoise(ev, 21)["t"].tolist() == [10, 30]
    assert len(denoise(ev, 0)) == 0


def test_against_tonic_loops():
    tonic_f = pytest.importorskip("tonic.functional")
    rng = np.random.default_rng(5)
    n = 3000
    ev = make_events(
        rng.integers(0, 20, n),
        rng.integers(0, 20, n),
        np.sort(rng.choice(10**6, n, False)) + 10**5,
        rng.integers(0, 2, n),
    )
    ours = denoise(ev, 5000)
    theirs = tonic_f.denoise_numpy(ev.copy(), filter_time=5000)
    np.testing.assert_array_equal(ours["t"], theirs["t"])
    ours = refractory(ev, 20000)
    theirs = tonic_f.refractory_period_numpy(ev.copy(), refractory_period=20000)
    np.testing.assert_array_equal(ours["t"], theirs["t"])


def test_bad_times():
    ev = make_events([0], [0], [0], [1])
    with pytest.raises(ParameterError, match="period_us"):
        refractory(ev, -1)
    with pytest.raises(ParameterError, match="filter_us"):
        denoise(ev, float("nan"))
