"""A panic in the Rust core reaches Python as a RuntimeError asking for a report, not
as a crash, and the thread pool it happened on keeps working.

No code path of the core panics on purpose, so the test uses a hook compiled into the
module for this alone (`_core._panic_for_test`, private, not in the stubs): it panics
on one iteration of a parallel loop run under the same guard as every core call."""

import numpy as np
import pytest

import snnconv
from snnconv import _core
from snnconv.exceptions import SnnconvError


@pytest.mark.parametrize("n_threads", [None, 1, 2])
def test_panic_in_a_worker_becomes_a_runtime_error_asking_for_a_report(n_threads):
    with pytest.raises(RuntimeError) as info:
        _core._panic_for_test(n_threads=n_threads)
    assert not isinstance(info.value, SnnconvError)  # a bug, not bad input
    assert str(info.value) == (
        "internal error in snnconv core (please report): deliberate panic of the test hook"
    )


@pytest.mark.parametrize("n_threads", [1, 2])
def test_pool_works_after_a_panic(n_threads):
    g = np.array([[[0.9, 0.1], [0.6, 0.2]]])
    params = dict(kernel_size=2, n_kernels=1, saturation_quantile=None, shuffle=False)
    before = snnconv.KernelLearner(n_threads=n_threads, **params).fit(g).resource_
    with pytest.raises(RuntimeError):
        _core._panic_for_test(n_threads=n_threads)
    after = snnconv.KernelLearner(n_threads=n_threads, **params).fit(g).resource_
    np.testing.assert_array_equal(after, before)
