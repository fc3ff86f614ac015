"""The N-MNIST binary format: exact decoding of hand-made bytes, the writer's round
trip, and every defect's error message."""

from __future__ import annotations

import numpy as np
import pytest

from snnconv.datasets import load_nmnist as load_from_datasets
from snnconv.events import (
    EVENT_DTYPE,
    decode_nmnist_bytes,
    encode_nmnist_bytes,
    load_nmnist,
    make_events,
    read_nmnist_bin,
    write_nmnist_bin,
)
from snnconv.exceptions import DataError, ParameterError

# x=3, y=7, ON, t = 0x01_02_03 ; x=33, y=0, OFF, t = 0x7F_FF_FF (the largest)
HAND = bytes([3, 7, 0x80 | 0x01, 0x02, 0x03, 33, 0, 0x7F, 0xFF, 0xFF])


def test_hand_made_bytes_decode_exactly():
    ev = decode_nmnist_bytes(HAND)
    assert ev.dtype == EVENT_DTYPE
    assert ev["x"].tolist() == [3, 33]
    assert ev["y"].tolist() == [7, 0]
    assert ev["t"].tolist() == [0x010203, (1 << 23) - 1]
    assert ev["p"].tolist() == [1, 0]


def test_overflow_marker_adds_2_pow_13_to_later_events():
    marker = bytes([0, 240, 0, 0, 0])
    raw = bytes([1, 1, 0, 0, 5]) + marker + bytes([2, 2, 0, 0, 6])
    ev = decode_nmnist_bytes(raw, sensor_size=None)
    assert ev["t"].tolist() == [5, 6 + 8192]
    assert ev["x"].tolist() == [1, 2]


def test_round_trip_writer_reader(tmp_path):
    rng = np.random.default_rng(3)
    n = 1000
    ev = make_events(
        rng.integers(0, 34, n),
        rng.integers(0, 34, n),
        np.sort(rng.integers(0, 1 << 23, n)),
        rng.integers(0, 2, n),
    )
    path = write_nmnist_bin(tmp_path / "a.bin", ev)
    assert path.stat().st_size == 5 * n
    back = read_nmnist_bin(path)
    for f in "xytp":
        np.testing.assert_array_equal(back[f], ev[f])
    assert encode_nmnist_bytes(back) == path.read_bytes()


def test_truncated_file_names_file_and_offset(tmp_path):
    path = tmp_path / "cut.bin"
    path.write_bytes(HAND[:8])
    with pytest.raises(
        DataError, match=r"cut\.bin: length 8 bytes is not a multiple of 5.*byte offset 5"
    ):
        read_nmnist_bin(path)


def test_coordinate_beyond_sensor_names_offset():
    raw = HAND + bytes([34, 2, 0x7F, 0xFF, 0xFF])
    with pytest.raises(DataError, match=r"x.bin: event at byte offset 10 has \(x, y\) = \(34, 2\)"):
        decode_nmnist_bytes(raw, source="x.bin")
    assert len(decode_nmnist_bytes(raw, sensor_size=(35, 34, 2))) == 3


def test_time_going_back_beyond_tolerance_is_an_error_within_it_sorted():
    raw = bytes([1, 1, 0, 0x10, 0]) + bytes([2, 2, 0, 0x0C, 0]) + bytes([3, 3, 0, 0x20, 0])
    # t = 4096, 3072 (1024 back), 8192
    with pytest.raises(DataError, match=r"f.bin: event at byte offset 5 has t = 3072 µs, 1024 µs"):
        decode_nmnist_bytes(raw, time_tolerance_us=1000, source="f.bin")
    ev = decode_nmnist_bytes(raw, time_tolerance_us=1024)
    assert ev["t"].tolist() == [3072, 4096, 8192]
    assert ev["x"].tolist() == [2, 1, 3]


def test_writer_rejects_what_the_format_cannot_hold(tmp_path):
    with pytest.raises(DataError, match="field t must be in"):
        encode_nmnist_bytes(make_events([0], [0], [1 << 23], [1]))
    with pytest.raises(DataError, match="overflow marker"):
        encode_nmnist_bytes(make_events([0], [240], [0], [1]))
    with pytest.raises(DataError, match="structured array"):
        encode_nmnist_bytes(np.zeros(3))


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match=r"nope\.bin: cannot read"):
        read_nmnist_bin(tmp_path / "nope.bin")


def _tree(root, counts):
    for split, per_label in counts.items():
        for label, n in per_label.items():
            d = root / split / str(label)
            d.mkdir(parents=True)
            for k in range(n):
                write_nmnist_bin(d / f"{k}.bin", make_events([k], [label], [k], [1]))


def test_load_folder_layout_labels_and_limit(tmp_path):
    _tree(tmp_path, {"Train": {0: 2, 3: 3}, "Test": {1: 1}})
    ev, y = load_nmnist(tmp_path, "train")
    assert y.tolist() == [0, 0, 3, 3, 3]
    assert [int(e["y"][0]) for e in ev] == [0, 0, 3, 3, 3]
    ev, y = load_from_datasets(tmp_path, "train", limit=1)
    assert y.tolist() == [0, 3]
    assert load_nmnist(tmp_path, "test")[1].tolist() == [1]
    with pytest.raises(ParameterError, match="split"):
        load_nmnist(tmp_path, "valid")


def test_load_folder_defects(tmp_path):
    with pytest.raises(DataError, match="expected ROOT/Train and ROOT/Test"):
        load_nmnist(tmp_path, "train")
    (tmp_path / "Train" / "seven").mkdir(parents=True)
    with pytest.raises(DataError, match="named by integers"):
        load_nmnist(tmp_path, "train")
