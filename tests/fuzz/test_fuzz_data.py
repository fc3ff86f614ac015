"""Fuzz: the data readers (IDX, NEOVISION2 CSV), shape queries, the population code's
size and the CNN baseline's parameters, each with hostile and with valid input."""

from __future__ import annotations

import csv
import dataclasses
import io
import struct

import numpy as np
from fuzzing import FUZZ, HOSTILE, HUGE_INTS, MIN_SHARE, Tally, run
from hypothesis import given
from hypothesis import strategies as st

from snnconv.datasets.idx import read_idx, write_idx
from snnconv.datasets.neovision2_csv import HEADER, format_row, read_annotations

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@st.composite
def idx_bytes(draw):
    """Mostly a valid IDX file with one defect: a forged size, a wrong type code or
    dimension count, truncation, trailing bytes, gzip (sometimes corrupt) or junk."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=64))
    code = draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x07, 0xFF]))
    ndim = draw(st.integers(0, 4))
    dims = draw(
        st.lists(
            st.sampled_from([0, 1, 2, 3, 2**16, 2**31, 2**32 - 1]), min_size=ndim, max_size=ndim
        )
    )
    head = bytes([0, 0, code, ndim]) + b"".join(struct.pack(">I", d) for d in dims)
    body = draw(st.binary(max_size=48))
    blob = head + body
    if kind == 1:
        blob = blob[: draw(st.integers(0, len(blob)))]
    if kind == 2:
        import gzip

        blob = gzip.compress(blob)
        if draw(st.booleans()):
            blob = blob[:-4]
    return blob


@FUZZ
@given(blob=idx_bytes())
def test_read_idx_hostile(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("idx") / "f.idx"
    path.write_bytes(blob)
    run("read_idx", lambda: read_idx(path))


def test_read_idx_valid_round_trips(tmp_path):
    tally = Tally()

    @FUZZ
    @given(
        dtype=st.sampled_from(IDX_DTYPES),
        shape=st.lists(st.integers(0, 5), min_size=1, max_size=3),
        compress=st.booleans(),
        seed=st.integers(0, 2**16),
    )
    def check(dtype, shape, compress, seed):
        a = (np.random.default_rng(seed).random(shape) * 100).astype(dtype)
        path = write_idx(tmp_path / "v.idx", a, compress=compress)

        def same(b):
            assert b.dtype == a.dtype and b.shape == a.shape
            np.testing.assert_array_equal(b, a)

        run("read_idx", lambda: read_idx(path), same, tally)

    check()
    tally.require("read_idx", MIN_SHARE)


def _valid_rows(draw, n):
    rows = []
    for _ in range(n):
        x, y = draw(st.floats(0, 300)), draw(st.floats(0, 200))
        w, h = draw(st.floats(1, 50)), draw(st.floats(1, 50))
        quad = (x, y, x + w, y, x + w, y + h, x, y + h)
        kind = draw(st.sampled_from(["Car", "Truck", "Person", "DCR", "Bus"]))
        rows.append(format_row(draw(st.integers(0, 100)), quad, kind))
    return rows


@st.composite
def csv_text(draw, valid: bool = False):
    rows = _valid_rows(draw, draw(st.integers(0, 6)))
    if not valid:
        n_bad = draw(st.integers(1, 3))
        for _ in range(n_bad):
            if not rows:
                rows.append(["x"])
            i = draw(st.integers(0, len(rows) - 1))
            j = draw(st.integers(0, max(len(rows[i]) - 1, 0)))
            value = draw(
                st.one_of(
                    st.sampled_from(["", "nan", "inf", "-1", "1e400", "TRUE", "maybe", "é"]),
                    st.text(max_size=8),
                )
            )
            if draw(st.integers(0, 4)) == 0:
                rows[i] = rows[i][:j]  # a short row
            elif rows[i]:
                rows[i][j] = value
    out = io.StringIO()
    out.write(HEADER + "\n" if valid or draw(st.integers(0, 5)) else "Frame,Bogus\n")
    csv.writer(out).writerows(rows)
    return out.getvalue(), len(rows)


@FUZZ
@given(text=csv_text(), raw=st.one_of(st.none(), st.binary(max_size=40)))
def test_read_annotations_hostile(tmp_path_factory, text, raw):
    path = tmp_path_factory.mktemp("csv") / "a.csv"
    path.write_bytes(raw if raw is not None else text[0].encode("utf-8"))
    run("read_annotations", lambda: _empty_confidence_checked(path))


def _empty_confidence_checked(path):
    """``read_annotations(path)`` with the NaN of each empty Confidence field (the
    documented value) replaced by 0 once it is checked that the field was empty, so
    that the finiteness check sees every other value."""
    a = read_annotations(path)
    nan = np.isnan(a.confidence)
    if nan.any():
        with open(path, newline="", encoding="utf-8-sig") as fh:  # as the reader does
            reader = csv.reader(fh)
            fields = {}
            for row in reader:
                fields[reader.line_num] = row
        for line in a.line[nan]:
            assert fields[int(line)][12].strip() == "", f"NaN confidence on line {line}"
    return dataclasses.replace(a, confidence=np.where(nan, 0.0, a.confidence))


def test_read_annotations_valid(tmp_path):
    tally = Tally()

    @FUZZ
    @given(text=csv_text(valid=True))
    def check(text):
        body, n = text
        path = tmp_path / "v.csv"
        path.write_text(body, encoding="utf-8")

        def rows(ann):
            assert len(ann) == n and ann.quad.shape == (n, 8)

        run("read_annotations", lambda: read_annotations(path), rows, tally)

    check()
    tally.require("read_annotations", MIN_SHARE)


_SNN = {}


def _snn():
    if not _SNN:
        from fuzzing import digit_like

        from snnconv import ConvSNN

        _SNN["m"] = ConvSNN(np.ones((2, 3, 3)), pool=2, on_backlog="ignore").fit(digit_like())
    return _SNN["m"]


@FUZZ
@given(h=st.one_of(HOSTILE, st.integers(3, 40)), w=st.one_of(HOSTILE, st.integers(3, 40)))
def test_output_shape(h, w):
    est = _snn()

    def shape(out):
        assert len(out) == 3 and out[0] == 2

    run("ConvSNN.output_shape", lambda: est.output_shape(h, w), shape)


@FUZZ
@given(
    target=st.one_of(st.floats(1.0, 2000.0), st.sampled_from([1e9, 1e12, 1e300, 2.0**63])),
    steps=st.integers(1, 255),
    seed=st.integers(0, 99),
)
def test_population_code_size(target, steps, seed):
    """A target_spikes so large that the repeated population code would not fit is
    refused by name (it used to abort on a 4 GB allocation)."""
    from snnconv import DigitalCoLaNET

    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(8, 2)), np.arange(8) % 2
    est = DigitalCoLaNET(
        encoding="population",
        target_spikes=target,
        presentation_steps=steps,
        n_copies=1,
        microcolumns=1,
    )
    run("DigitalCoLaNET.fit[population]", lambda: est.fit(x, y))


@FUZZ
@given(
    epochs=st.one_of(
        st.none(), st.integers(1, 2), HUGE_INTS, st.sampled_from([0, -1, "3", 1.5, True])
    ),
    batch_size=st.one_of(st.integers(1, 64), HOSTILE),
    learning_rate=st.one_of(st.floats(1e-4, 1e-2), HOSTILE),
    dropout=st.one_of(st.floats(0.0, 0.9), HOSTILE),
)
def test_cnn_parameters(epochs, batch_size, learning_rate, dropout):
    """CNN2's parameters: a huge epochs is refused up front (it used to run forever)."""
    from fuzzing import digit_like

    from snnconv.baselines import CNN2

    x, y = digit_like(6, 12), np.arange(6) % 2
    est = CNN2(
        epochs=1 if epochs is None else epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        dropout=dropout,
        backend="numpy",
    )
    run("CNN2.fit", lambda: est.fit(x, y))
