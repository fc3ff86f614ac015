"""``EventSet``: many streams as one flat array and offsets, as the experiment runner
sends event data to its workers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from snnconv._util.blocks import MappedFile
from snnconv.events import EVENT_DTYPE, make_events
from snnconv.events.stream import EventSet
from snnconv.exceptions import DataError, ParameterError


def _streams():
    rng = np.random.default_rng(3)
    out = []
    for n in (5, 0, 12, 1):
        out.append(
            make_events(
                rng.integers(0, 34, n),
                rng.integers(0, 34, n),
                np.arange(n) * 7,
                rng.integers(0, 2, n),
            )
        )
    return out


def test_streams_are_views_of_one_flat_array():
    streams = _streams()
    s = EventSet.of(streams, (34, 34, 2))
    assert len(s) == 4 and s.events.dtype == EVENT_DTYPE and len(s.events) == 18
    np.testing.assert_array_equal(s.offsets, [0, 5, 5, 17, 18])
    for i, ref in enumerate(streams):
        np.testing.assert_array_equal(s[i], ref)
        assert np.shares_memory(s[i], s.events) or len(ref) == 0
    picked = s.streams([3, 0])
    np.testing.assert_array_equal(picked[0], streams[3])
    np.testing.assert_array_equal(picked[1], streams[0])
    sub = s.subset([2, 3])
    np.testing.assert_array_equal(sub.offsets, [0, 12, 13])
    np.testing.assert_array_equal(sub.events, np.concatenate([streams[2], streams[3]]))
    # another integer dtype is converted field by field
    wide = np.dtype([("x", "i8"), ("y", "i8"), ("t", "i8"), ("p", "i8")])
    again = EventSet.of([e.astype(wide) for e in streams], (34, 34, 2))
    np.testing.assert_array_equal(again.events, s.events)


def test_a_set_in_memory_pickles_whole_and_a_mapped_one_travels_as_its_file(tmp_path):
    s = EventSet.of(_streams(), (34, 34, 2))
    assert s.portable() is s
    back = pickle.loads(pickle.dumps(s.portable())).open()
    np.testing.assert_array_equal(back.events, s.events)
    path = tmp_path / "events.bin"
    s.events.tofile(path)
    mapped = EventSet(
        np.memmap(path, EVENT_DTYPE, "r", shape=s.events.shape), s.offsets, (34, 34, 2)
    )
    sent = pickle.loads(pickle.dumps(mapped.portable()))
    assert isinstance(sent.events, MappedFile)
    opened = sent.open()
    assert isinstance(opened.events, np.memmap)
    np.testing.assert_array_equal(opened[2], s[2])
    assert opened.sensor_size == (34, 34, 2)


def test_bad_offsets_and_sensor_are_refused():
    ev = EventSet.of(_streams(), (34, 34, 2)).events
    for offsets in ([0, 5, 4, 18], [1, 18], [0, 17], []):
        with pytest.raises(DataError, match="offsets: must rise from 0 to the 18 events"):
            EventSet(ev, np.asarray(offsets, np.int64), (34, 34, 2))
    with pytest.raises(ParameterError, match="sensor_size"):
        EventSet(ev, [0, 18], (34, 34, 3))
