"""Every error snnconv reports about bad input is an SnnconvError of its kind, and
still the builtin Python's convention names (ValueError, TypeError, IndexError,
FileNotFoundError, MemoryError). One row per case users met."""

from __future__ import annotations

import numpy as np
import pytest

import snnconv
from snnconv import exceptions as E
from snnconv.baselines import CNN2, ULSNN


def _images(n=6, side=10):
    rng = np.random.default_rng(0)
    return (rng.random((n, side, side)) * 255).astype(np.uint8)


def _fitted_colanet():
    x = np.random.default_rng(0).random((8, 4))
    return snnconv.DigitalCoLaNET(microcolumns=1, n_copies=1).fit(x, np.arange(8) % 2)


def _idx(tmp_path, blob):
    p = tmp_path / "f.idx"
    p.write_bytes(blob)
    return p


def _csv(tmp_path, text):
    p = tmp_path / "a.csv"
    p.write_text(text)
    return p


HEADER = (
    "Frame,BoundingBox_X1,BoundingBox_Y1,BoundingBox_X2,BoundingBox_Y2,BoundingBox_X3,"
    "BoundingBox_Y3,BoundingBox_X4,BoundingBox_Y4,ObjectType,Occlusion,Ambiguous,"
    "Confidence,SiteInfo,Version\n"
)

CASES = {
    # estimators and their parameters
    "calibration_size=0": (
        lambda t: snnconv.CSNNClassifier(calibration_size=0).fit(_images(), np.arange(6) % 2),
        E.ParameterError,
        ValueError,
    ),
    "on_backlog='bogus'": (
        lambda t: snnconv.ConvSNN(np.ones((1, 3, 3)), on_backlog="bogus").fit(_images()),
        E.ParameterError,
        ValueError,
    ),
    "ULSNN(readout='bogus')": (
        lambda t: ULSNN(readout="bogus").fit(_images(), np.arange(6) % 2),
        E.ParameterError,
        ValueError,
    ),
    "kernel larger than the images": (
        lambda t: snnconv.KernelLearner(kernel_size=12).fit(_images(side=10)),
        E.ParameterError,
        ValueError,
    ),
    "empty input": (
        lambda t: snnconv.KernelLearner().fit(np.zeros((0, 10, 10), np.uint8)),
        E.DataError,
        ValueError,
    ),
    "partial_fit with a label outside classes_": (
        lambda t: (
            snnconv.DigitalCoLaNET(microcolumns=1, n_copies=1)
            .partial_fit(np.ones((4, 3)), [0, 1, 0, 1])
            .partial_fit(np.ones((2, 3)), [0, 7])
        ),
        E.DataError,
        ValueError,
    ),
    "n_kernels a string": (
        lambda t: snnconv.KernelLearner(n_kernels="3").fit(_images()),
        E.ParameterTypeError,
        TypeError,
    ),
    "images None": (lambda t: snnconv.KernelLearner().fit(None), E.DataTypeError, TypeError),
    "output_shape(inf, 5)": (
        lambda t: snnconv.ConvSNN(np.ones((1, 3, 3))).fit(_images()).output_shape(np.inf, 5),
        E.ParameterTypeError,
        TypeError,
    ),
    "output_shape(2**64, 5)": (
        lambda t: snnconv.ConvSNN(np.ones((1, 3, 3))).fit(_images()).output_shape(2**64, 5),
        E.ParameterError,
        ValueError,
    ),
    "CSNNClassifier('kl')": (
        lambda t: snnconv.CSNNClassifier("kl").fit(_images(), np.arange(6) % 2),
        E.ParameterTypeError,
        TypeError,
    ),
    "short eval_set": (
        lambda t: snnconv.CSNNClassifier(calibration_size=4).fit(
            _images(), np.arange(6) % 2, eval_set=(_images(3), [0, 1])
        ),
        E.DataError,
        ValueError,
    ),
    "curve_points beyond the examples": (
        lambda t: snnconv.CSNNClassifier(calibration_size=4).fit(
            _images(), np.arange(6) % 2, eval_set=(_images(3), [0, 1, 0]), curve_points=50
        ),
        E.ParameterError,
        ValueError,
    ),
    "CoLaNET on a scalar": (
        lambda t: snnconv.CoLaNET().fit(np.float64(3.0), [0]),
        E.DataError,
        ValueError,
    ),
    "predict on a 1-D array": (
        lambda t: _fitted_colanet().predict(np.ones(4)),
        E.DataError,
        ValueError,
    ),
    "ConvSNN carry of 3 dimensions": (
        lambda t: (
            snnconv.ConvSNN(np.ones((1, 3, 3)))
            .fit(_images())
            .run(_images(), carry=np.zeros((1, 10, 10)))
        ),
        E.DataError,
        ValueError,
    ),
    "CNN epochs 10**12": (
        lambda t: CNN2(epochs=10**12, backend="numpy").fit(_images(), np.arange(6) % 2),
        E.ParameterError,
        ValueError,
    ),
    "CNN image too small": (
        lambda t: CNN2(epochs=1, backend="numpy").fit(_images(side=3), np.arange(6) % 2),
        E.DataError,
        ValueError,
    ),
    # data files
    "read_idx of a short file": (
        lambda t: snnconv.datasets.idx.read_idx(_idx(t, b"\x00")),
        E.DataError,
        ValueError,
    ),
    "read_idx bad magic": (
        lambda t: snnconv.datasets.idx.read_idx(_idx(t, b"\x01\x00\x08\x01\x00\x00\x00\x01x")),
        E.DataError,
        ValueError,
    ),
    "read_idx unknown type": (
        lambda t: snnconv.datasets.idx.read_idx(_idx(t, b"\x00\x00\x07\x01\x00\x00\x00\x01x")),
        E.DataError,
        ValueError,
    ),
    "read_idx 0 dimensions": (
        lambda t: snnconv.datasets.idx.read_idx(_idx(t, b"\x00\x00\x08\x00")),
        E.DataError,
        ValueError,
    ),
    "read_idx truncated": (
        lambda t: snnconv.datasets.idx.read_idx(_idx(t, b"\x00\x00\x08\x01\x00\x00\x00\x05ab")),
        E.DataError,
        ValueError,
    ),
    "read_idx corrupt gzip": (
        lambda t: snnconv.datasets.idx.read_idx(_idx(t, b"\x1f\x8b\x08\x00garbage")),
        E.DataError,
        ValueError,
    ),
    "read_idx missing file": (
        lambda t: snnconv.datasets.idx.read_idx(t / "none.idx"),
        E.DataFileNotFoundError,
        FileNotFoundError,
    ),
    "write_idx of objects": (
        lambda t: snnconv.datasets.idx.write_idx(t / "o.idx", np.array([None])),
        E.DataTypeError,
        TypeError,
    ),
    "CSV bad header": (
        lambda t: snnconv.datasets.neovision2_csv.read_annotations(_csv(t, "a,b\n")),
        E.DataError,
        ValueError,
    ),
    "CSV empty": (
        lambda t: snnconv.datasets.neovision2_csv.read_annotations(_csv(t, "")),
        E.DataError,
        ValueError,
    ),
    "CSV short row": (
        lambda t: snnconv.datasets.neovision2_csv.read_annotations(_csv(t, HEADER + "1,2\n")),
        E.DataError,
        ValueError,
    ),
    "CSV frame not a number": (
        lambda t: snnconv.datasets.neovision2_csv.read_annotations(
            _csv(t, HEADER + "x,0,0,1,0,1,1,0,1,Car,FALSE,FALSE,1.0,,1.4\n")
        ),
        E.DataError,
        ValueError,
    ),
    "CSV coordinate infinite": (
        lambda t: snnconv.datasets.neovision2_csv.read_annotations(
            _csv(t, HEADER + "1,inf,0,1,0,1,1,0,1,Car,FALSE,FALSE,1.0,,1.4\n")
        ),
        E.DataError,
        ValueError,
    ),
    "CSV occlusion not a bool": (
        lambda t: snnconv.datasets.neovision2_csv.read_annotations(
            _csv(t, HEADER + "1,0,0,1,0,1,1,0,1,Car,maybe,FALSE,1.0,,1.4\n")
        ),
        E.DataError,
        ValueError,
    ),
    "frame folder missing": (
        lambda t: snnconv.datasets.frames.open_frames(t / "nothing"),
        E.SnnconvError,
        ValueError,
    ),
    # model files
    "load of a folder": (
        lambda t: snnconv.KernelLearner.load(t),
        E.ModelFileError,
        ValueError,
    ),
    "load of a missing file": (
        lambda t: snnconv.KernelLearner.load(t / "none.npz"),
        E.ModelFileNotFoundError,
        FileNotFoundError,
    ),
    # experiment configuration
    "--set with an unknown key": (
        lambda t: snnconv.experiment.ExperimentConfig().override("run.bogus=1"),
        E.ParameterError,
        ValueError,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_an_snnconv_error_of_its_kind(case, tmp_path):
    import snnconv.datasets.frames
    import snnconv.datasets.idx
    import snnconv.datasets.neovision2_csv
    import snnconv.experiment  # noqa: F401

    call, kind, builtin = CASES[case]
    with pytest.raises(E.SnnconvError) as info:
        call(tmp_path)
    assert isinstance(info.value, kind), (type(info.value), info.value)
    assert isinstance(info.value, builtin)


def test_the_kinds_are_the_builtins_they_name():
    assert issubclass(E.ParameterTypeError, E.ParameterError)
    assert issubclass(E.ParameterTypeError, TypeError)
    assert issubclass(E.DataTypeError, TypeError) and issubclass(E.DataTypeError, E.DataError)
    assert issubclass(E.ParameterIndexError, IndexError)
    assert issubclass(E.DataFileNotFoundError, FileNotFoundError)
    assert issubclass(E.ModelFileNotFoundError, E.ModelFileError)
    assert issubclass(E.ResourceLimitError, MemoryError)
    import pickle

    e = pickle.loads(pickle.dumps(E.DataFileNotFoundError("x: not found")))
    assert type(e) is E.DataFileNotFoundError and str(e) == "x: not found"
