"""Large inputs through the whole classifier (snnconv.streaming, _util.blocks): a fit
from a memory map, from a stream of batches, in small front-end blocks or with the
counts spilled to disk is the fit from the array in memory, bit for bit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import snnconv
from snnconv import streaming
from snnconv._util import blocks


def _model(**kw):
    return snnconv.CSNNClassifier(
        classifier=snnconv.CoLaNET(
            n_copies=2, microcolumns=4, encoding="population", population_size=3
        ),
        calibration_size=50,
        **kw,
    )


@pytest.fixture(scope="module")
def small(mnist5k):
    images, labels = mnist5k
    return images[:500], labels[:500], images[4000:4300]


@pytest.fixture(scope="module")
def reference(small):
    images, labels, test = small
    model = _model().fit(images, labels)
    return model, model.predict_proba(test)


def _same(model, ref, test):
    np.testing.assert_array_equal(model.kernel_learner_.kernels_, ref[0].kernel_learner_.kernels_)
    np.testing.assert_array_equal(model.classifier_.resource_, ref[0].classifier_.resource_)
    assert model.backlog_fraction_ == ref[0].backlog_fraction_
    np.testing.assert_array_equal(model.predict_proba(test), ref[1])


@pytest.mark.parametrize("threads", [1, 2])
def test_memmap_small_blocks_and_spilled_counts(small, reference, tmp_path, monkeypatch, threads):
    images, labels, test = small
    path = tmp_path / "images.u8"
    images.tofile(path)
    mapped = np.memmap(path, np.uint8, "r", shape=images.shape)
    monkeypatch.setattr(streaming, "BLOCK_IMAGES", 37)
    monkeypatch.setattr(streaming, "SPILL_BYTES", 0)
    monkeypatch.setattr(blocks, "RELEASE_BYTES", 1 << 14)
    # Shuffled reads gathered a few rows at a time, and another thread count than the
    # reference's (every core): the same model.
    monkeypatch.setattr(blocks, "FAULT_BYTES", 1 << 12)
    _same(_model(n_threads=threads).fit(mapped, labels), reference, test)


def test_stream_of_batches(small, reference):
    images, labels, test = small
    cuts = [0, 120, 121, 333, 500]

    def batches():
        for s, e in itertools.pairwise(cuts):
            yield images[s:e], labels[s:e]

    _same(_model().fit(batches), reference, test)  # a callable: a fresh iterator
    _same(_model().fit(batches()), reference, test)  # a one-shot generator


def test_colanet_stream_of_batches_and_errors():
    rng = np.random.default_rng(0)
    X, y = rng.poisson(1.0, (300, 12)).astype(np.uint8), rng.integers(0, 3, 300)
    whole = snnconv.CoLaNET(n_copies=2, microcolumns=3).fit(X, y)
    streamed = snnconv.CoLaNET(n_copies=2, microcolumns=3).fit(
        iter([(X[:100], y[:100]), (X[100:], y[100:])])
    )
    np.testing.assert_array_equal(whole.resource_, streamed.resource_)
    with pytest.raises(ValueError, match="batch 1 is float64"):
        snnconv.CoLaNET().fit(iter([(X[:10], y[:10]), (X[10:20] * 1.0, y[10:20])]))
    with pytest.raises(ValueError, match="stream of batches is empty"):
        snnconv.CoLaNET().fit(iter([]))
    with pytest.raises(TypeError, match=r"\(X, y\) pairs"):
        snnconv.CoLaNET().fit(iter([X[:10]]))
