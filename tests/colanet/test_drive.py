"""``drive_per_feature``: the input drive CoLaNET's scale is matched to grows with the
number of features when asked, and files written before the parameter still load."""

from __future__ import annotations

from pathlib import Path

import npz_files
import numpy as np
import pytest

import snnconv
from snnconv.exceptions import ModelFileError, ParameterError


def _data(n=120, f=400, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 30, (n, f)).astype(np.float64), np.arange(n) % 3


def _clf(**kw):
    return snnconv.DigitalCoLaNET(n_copies=1, microcolumns=2, encoding="rate", **kw)


def test_a_small_drive_per_feature_changes_nothing():
    x, y = _data()
    plain = _clf().fit(x, y)
    low = _clf(drive_per_feature=0.5).fit(x, y)  # 0.5 × 400 = 200 < 937
    assert low.input_max_ == plain.input_max_
    np.testing.assert_array_equal(low.predict(x), plain.predict(x))


@pytest.mark.parametrize("per_feature", [4.0, 6.0])
def test_a_large_one_matches_its_drive_per_feature(per_feature):
    x, y = _data()
    c = _clf(drive_per_feature=per_feature).fit(x, y)
    spikes = c.encode(x).sum(axis=1).mean()
    assert spikes == pytest.approx(per_feature * x.shape[1], rel=0.02)
    assert c.input_max_ < _clf().fit(x, y).input_max_  # more drive: a smaller scale


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_values_are_refused_by_name(bad):
    x, y = _data()
    with pytest.raises(ParameterError, match="drive_per_feature"):
        _clf(drive_per_feature=bad).fit(x, y)


def test_files_written_before_the_parameter_load_without_it(tmp_path):
    x, y = _data()
    c = _clf().fit(x, y)
    path = Path(c.save(tmp_path / "c"))
    meta, arrays = npz_files.read(path)
    del meta["params"]["drive_per_feature"]
    meta["format_version"] = 3
    npz_files.write(path, meta, arrays)
    back = snnconv.DigitalCoLaNET.load(path)
    assert back.drive_per_feature is None
    np.testing.assert_array_equal(back.predict(x), c.predict(x))
    meta["format_version"] = 4  # a current file must hold it
    npz_files.write(path, meta, arrays)
    with pytest.raises(ModelFileError, match="drive_per_feature"):
        snnconv.DigitalCoLaNET.load(path)
