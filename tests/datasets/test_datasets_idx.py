"""IDX reading on hand-made files, corrupt headers, Fashion-MNIST from Debian, registry."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from snnconv.datasets import (
    load,
    load_fashion_mnist,
    load_idx,
    names,
    read_idx,
    write_idx,
)
from snnconv.datasets.sources import FASHION_MNIST_DIR


def _hand_idx(shape: tuple[int, ...], code: int, payload: bytes) -> bytes:
    """An IDX blob built byte by byte, independent of write_idx."""
    return bytes([0, 0, code, len(shape)]) + b"".join(struct.pack(">I", s) for s in shape) + payload


def test_reads_hand_made_raw_and_gzip(tmp_path):
    pixels = bytes(range(2 * 3 * 4))
    blob = _hand_idx((2, 3, 4), 0x08, pixels)
    (tmp_path / "raw").write_bytes(blob)
    (tmp_path / "gz").write_bytes(gzip.compress(blob))
    expected = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("raw", "gz"):
        a = read_idx(tmp_path / name)
        assert a.dtype == np.uint8
        np.testing.assert_array_equal(a, expected)


@pytest.mark.parametrize(
    ("code", "fmt", "dtype"),
    [
        (0x0B, ">h", np.int16),
        (0x0C, ">i", np.int32),
        (0x0D, ">f", np.float32),
        (0x0E, ">d", np.float64),
    ],
)
def test_multibyte_types(tmp_path, code, fmt, dtype):
    values = [1, -2, 300, 7]
    (tmp_path / "f").write_bytes(
        _hand_idx((4,), code, b"".join(struct.pack(fmt, v) for v in values))
    )
    a = read_idx(tmp_path / "f")
    assert a.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(a, np.array(values, dtype=dtype))


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_through_load_idx(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 7, 6), dtype=np.uint8)
    labels = np.array([3, 0, 9, 1, 1], dtype=np.uint8)
    ip = write_idx(tmp_path / "img", images, compress=compress)
    lp = write_idx(tmp_path / "lab", labels, compress=compress)
    assert (ip.read_bytes()[:2] == b"\x1f\x8b") == compress
    x, y = load_idx(ip, lp)
    np.testing.assert_array_equal(x, images)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, labels)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "two zero bytes"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "unknown IDX type code 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01", "header truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05\x06", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x05\x06", "trailing data"),
        (b"\x1f\x8b\x08\x00garbage", "corrupt gzip"),
    ],
)
def test_corrupt_headers_rejected_naming_the_file(tmp_path, blob, message):
    path = tmp_path / "bad-idx"
    path.write_bytes(blob)
    with pytest.raises(ValueError, match=message) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_load_idx_checks_the_pair(tmp_path):
    img = write_idx(tmp_path / "img", np.zeros((3, 2, 2), np.uint8))
    flat = write_idx(tmp_path / "flat", np.zeros((3, 4), np.uint8))
    lab2 = write_idx(tmp_path / "lab2", np.zeros(2, np.uint8))
    flab = write_idx(tmp_path / "flab", np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="3-D unsigned-byte"):
        load_idx(flat, lab2)
    with pytest.raises(ValueError, match="2 labels for 3 images"):
        load_idx(img, lab2)
    with pytest.raises(ValueError, match="integer labels"):
        load_idx(img, flab)


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="no IDX type code"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint16))


def test_registry_knows_all_sources(tmp_path):
    assert {"digits", "fashion-mnist", "idx", "mnist5k"} <= set(names())
    img = write_idx(tmp_path / "img", np.full((2, 3, 3), 7, np.uint8), compress=True)
    lab = write_idx(tmp_path / "lab", np.array([4, 2], np.uint8))
    x, y = load("idx", img, lab)
    assert x.shape == (2, 3, 3) and y.tolist() == [4, 2]
    with pytest.raises(ValueError, match="name: unknown dataset"):
        load("cifar")


def test_fashion_mnist_bad_split_and_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="split: must be 'train' or 'test'"):
        load_fashion_mnist(split="validation")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_fashion_mnist(tmp_path)


def test_fashion_mnist_from_user_folder_raw_files(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.ones((2, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([9, 0], np.uint8), compress=True)
    x, y = load_fashion_mnist(tmp_path, split="test")
    assert x.shape == (2, 28, 28) and y.tolist() == [9, 0]


needs_debian = pytest.mark.skipif(
    not (FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist not installed "
    "(apt-get install dataset-fashion-mnist; CI installs it)",
)


@needs_debian
@pytest.mark.parametrize(("split", "n"), [("train", 60000), ("test", 10000)])
def test_fashion_mnist_from_debian(split, n):
    x, y = load("fashion-mnist", split=split)
    assert x.shape == (n, 28, 28) and x.dtype == np.uint8
    assert y.shape == (n,) and y.dtype == np.int64
    assert y.min() == 0 and y.max() == 9
    # Balanced classes: 6,000 / 1,000 of each.
    np.testing.assert_array_equal(np.bincount(y), np.full(10, n // 10))
    assert 0 < x.mean() < 255


def test_idx_memory_map_raw_and_gzip(tmp_path, monkeypatch):
    """mmap=True maps the data (a gzip file through one decompressed copy in the
    cache, reused while the compressed file is unchanged) and checks it as strictly."""
    from snnconv.datasets.idx import idx_cache_dir, read_idx, write_idx

    monkeypatch.setenv("SNNCONV_CACHE_DIR", str(tmp_path / "cache"))
    images = np.random.default_rng(0).integers(0, 256, (7, 5, 4), dtype=np.uint8)
    floats = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    for i, a in enumerate((images, floats)):
        for compress in (False, True):
            path = write_idx(tmp_path / f"a{i}{int(compress)}", a, compress=compress)
            mapped = read_idx(path, mmap=True)
            assert isinstance(mapped, np.memmap) and mapped.shape == a.shape
            np.testing.assert_array_equal(mapped, a)
    cached = sorted(idx_cache_dir().iterdir())
    assert len(cached) == 2 and not any(p.name.endswith(".part") for p in cached)
    read_idx(tmp_path / "a01", mmap=True)
    assert sorted(idx_cache_dir().iterdir()) == cached  # decompressed once
    short = tmp_path / "short"
    short.write_bytes((tmp_path / "a00").read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(short, mmap=True)
