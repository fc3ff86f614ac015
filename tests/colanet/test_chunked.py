"""Chunked encoding (snnconv.colanet.chunked): a fit or a prediction read a block of
rows at a time equals the whole-array one bit for bit, for any block size, thread
count and input container (array, memory map, other dtype)."""

from __future__ import annotations

import numpy as np
import pytest

from snnconv import CoLaNET, DigitalCoLaNET
from snnconv._util import blocks
from snnconv.colanet import chunked
from snnconv.exceptions import DataError

SMALL = {"n_copies": 2, "microcolumns": 3}


def _data(n=700, f=16, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.poisson(1.5, size=(n, f)).astype(np.uint16)
    X[:, :3] = 0  # silent features: quantiles that coincide
    return X, rng.integers(0, 3, n)


def _state(m, X):
    return (
        m.input_max_,
        m.resource_.copy(),
        m.stability_.copy(),
        m.votes(X),
        None if m.population_ is None else (m.population_.centres, m.population_.repeats),
    )


def _same(a, b):
    assert a[0] == b[0]
    for x, y in zip(a[1:4], b[1:4], strict=True):
        np.testing.assert_array_equal(x, y)
    if a[4] is None:
        assert b[4] is None
    else:
        np.testing.assert_array_equal(a[4][0], b[4][0])
        assert a[4][1] == b[4][1]


@pytest.mark.parametrize("cls", [CoLaNET, DigitalCoLaNET])
@pytest.mark.parametrize("encoding", ["rate", "population"])
@pytest.mark.parametrize("input_max", ["match", "max"])
def test_block_size_and_threads_do_not_change_the_model(
    monkeypatch, tmp_path, cls, encoding, input_max
):
    X, y = _data()
    params = dict(SMALL, encoding=encoding, population_size=3, input_max=input_max)
    # The whole array in one block: what the estimators did before they were chunked.
    monkeypatch.setattr(chunked, "BLOCK_BYTES", 1 << 40)
    monkeypatch.setattr(chunked, "COLUMN_BYTES", 1 << 40)
    whole = _state(cls(**params, n_threads=1).fit(X, y), X)
    # Blocks of a few rows and quantiles one feature per pass, two threads, a memmap.
    path = tmp_path / "x.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    for block, threads, data in (
        (8 * 100, 2, X),  # a few rows per block
        (8 * 16 * 3, 1, mapped),  # one row per block
        (600 * 8 * 48, 2, X.astype(np.float32)),  # blocks of 600 rows over two threads
    ):
        monkeypatch.setattr(chunked, "BLOCK_BYTES", block)
        monkeypatch.setattr(chunked, "COLUMN_BYTES", 8 * len(X))
        monkeypatch.setattr(blocks, "RELEASE_BYTES", 4096)
        _same(whole, _state(cls(**params, n_threads=threads).fit(data, y), data))


def test_partial_fit_and_checkpoints_in_blocks(monkeypatch):
    X, y = _data()
    m1 = CoLaNET(**SMALL, encoding="population", population_size=3)
    m1.partial_fit(X[:300], y[:300], classes=[0, 1, 2]).partial_fit(X[300:], y[300:])
    assert m1.n_examples_seen_ == 700
    seen = []
    m2 = CoLaNET(**SMALL, encoding="population", population_size=3)
    monkeypatch.setattr(chunked, "BLOCK_BYTES", 8 * 72 * 50)
    m2.partial_fit(X[:300], y[:300], classes=[0, 1, 2])
    # Checkpoints count every example seen (400 in the first pass, 300 in this one).
    m2._learn(m2._source(X[300:]), y[300:], checkpoints=[433, 650, 700], callback=seen.append)
    assert seen == [433, 650, 700]
    np.testing.assert_array_equal(m1.resource_, m2.resource_)


def test_quantiles_one_column_at_a_time_equal_numpy(monkeypatch):
    a = np.random.default_rng(3).normal(size=(501, 7))
    q = np.linspace(0, 1, 4)
    monkeypatch.setattr(chunked, "COLUMN_BYTES", 8 * 501)
    got = chunked.quantiles(chunked.Features(a, signed=True), q)
    np.testing.assert_array_equal(got, np.quantile(a, q, axis=0).T)


def test_features_keep_the_array_and_convert_blocks():
    X = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    f = chunked.Features(X)
    assert f.shape == (2, 12) and np.shares_memory(f.a, X)
    block = f.rows(np.array([1, 0]))
    assert block.dtype == np.float64 and block.flags.c_contiguous
    np.testing.assert_array_equal(block, X.reshape(2, 12)[[1, 0]])


def test_lazy_validation_names_the_defect(monkeypatch):
    monkeypatch.setattr(chunked, "BLOCK_BYTES", 64)
    neg = np.ones((50, 4), np.int16)
    neg[37, 2] = -5
    with pytest.raises(DataError, match=r"X: Negative values.*found -5"):
        CoLaNET(**SMALL, encoding="rate").fit(neg, np.arange(50) % 2)
    nan = np.ones((50, 4))
    nan[41, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        CoLaNET(**SMALL).fit(nan, np.arange(50) % 2)
    with pytest.raises(DataError, match="expecting 4 features"):
        CoLaNET(**SMALL).fit(np.ones((50, 4)), np.arange(50) % 2).predict(np.ones((3, 5)))


def test_mapping_is_found_only_for_shared_maps(tmp_path):
    path = tmp_path / "x.bin"
    np.arange(10, dtype=np.uint8).tofile(path)
    assert blocks.mapping(np.memmap(path, np.uint8, "r")[2:5]) is not None
    assert blocks.mapping(np.ascontiguousarray(np.memmap(path, np.uint8, "r"))) is not None
    assert blocks.mapping(np.memmap(path, np.uint8, "c")) is None  # changes would be lost
    assert blocks.mapping(np.arange(3)) is None
    m = np.memmap(path, np.uint8, "r")
    blocks.release(m)  # the data stay readable after their pages are dropped
    assert m[7] == 7


def test_gather_equals_fancy_indexing_and_releases_as_it_goes(tmp_path, monkeypatch):
    rows = np.random.default_rng(5).integers(0, 256, (2048, 1024), dtype=np.uint8)
    rows.tofile(tmp_path / "x.bin")
    m = np.memmap(tmp_path / "x.bin", np.uint8, "r", shape=rows.shape)
    # Regions of 16 KiB (16 rows), at most 4 of them mapped between two releases.
    monkeypatch.setattr(blocks, "FAULT_BYTES", 1 << 14)
    monkeypatch.setattr(blocks, "RELEASE_BYTES", 1 << 16)
    reader = blocks.Reader(m)
    released = []
    real = reader.release

    def release():
        released.append(reader._pending)
        real()

    monkeypatch.setattr(reader, "release", release)
    idx = np.random.default_rng(6).permutation(2048)[:300]
    idx[:3] = [-1, 7, 7]  # a negative index and a repeated row
    np.testing.assert_array_equal(reader.gather(m, idx), rows[idx])
    # Rows spread over most of the 128 regions: a release at least every 4 regions,
    # and never more than RELEASE_BYTES counted as mapped.
    regions = len(np.unique((idx % 2048) // 16))
    assert regions > 100 and len(released) >= regions // 4 - 1
    assert max(released) <= 1 << 16 and reader._pending <= 1 << 16
    mask = np.zeros(2048, bool)
    mask[[3, 2000]] = True
    np.testing.assert_array_equal(reader.gather(m, mask), rows[mask])
    back = np.array([0, 5, 1])  # a view with a negative stride
    np.testing.assert_array_equal(reader.gather(m[::-2], back), rows[::-2][back])
    with pytest.raises(IndexError):
        reader.gather(m, np.array([2048]))
    # In memory: plain indexing.
    np.testing.assert_array_equal(blocks.Reader(rows).gather(rows, idx), rows[idx])
