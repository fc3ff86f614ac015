"""A tampering suite over every model kind: each file is saved, edited the way a
tamperer who knows the format would (the SHA-256 record recomputed after the edit),
and loaded. Deleted or added keys, parameters and arrays, changed dtypes and shapes,
a lowered format version and values no fit can produce must all be refused with a
ModelFileError naming the file; none may load.

(Edits to *valid* values — another threshold, another seed — cannot be told from a
model trained with them; docs/robustness.md says so.)"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest

import snnconv
from snnconv._util import persistence
from snnconv.baselines import CNN1, CNN2, ULSNN
from snnconv.exceptions import ModelFileError, ModelFileNotFoundError

META = persistence._META_KEY


def _read(path):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(arrays.pop(META).tobytes().decode()), arrays


def _write(path, meta, arrays):
    meta = copy.deepcopy(meta)
    meta["arrays"] = {
        k: {
            "dtype": np.asarray(a).dtype.str,
            "shape": list(np.shape(a)),
            "sha256": persistence.sha256_array(np.asarray(a)),
        }
        for k, a in arrays.items()
    }
    with open(path, "wb") as fh:
        np.savez(fh, **{META: np.frombuffer(json.dumps(meta).encode(), np.uint8)}, **arrays)


def _images(n=30):
    rng = np.random.default_rng(0)
    return (rng.random((n, 12, 12)) * 255).astype(np.uint8), np.arange(n) % 2


def _learner():
    return snnconv.KernelLearner(kernel_size=3, n_kernels=4, stride=1, keep_only_fired=False)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    x, y = _images()
    feats = np.random.default_rng(1).integers(0, 255, (30, 6)).astype(np.uint8)
    signed = np.random.default_rng(2).normal(size=(30, 3))
    models = {
        "KernelLearner": _learner().fit(x),
        "KernelLearner-colour": _learner().fit(
            np.stack([x, x[::-1], x.transpose(0, 2, 1)], axis=-1)
        ),
        "ConvSNN": snnconv.ConvSNN(_learner().fit(x)).fit(x[:10]),
        "ConvSNN-fixed-scale": snnconv.ConvSNN(np.ones((2, 3, 3)), scale=0.5).fit(x[:4]),
        "CoLaNET": snnconv.CoLaNET(n_copies=2, microcolumns=2).fit(feats, y),
        "DigitalCoLaNET": snnconv.DigitalCoLaNET(n_copies=2, microcolumns=2).fit(feats, y),
        "population": snnconv.DigitalCoLaNET(n_copies=1, microcolumns=2, encoding="population").fit(
            signed, y
        ),
        "ULSNN": ULSNN(n_neurons=4, time=20).fit(x[:10], y[:10]),
        "CNN1": CNN1(epochs=1, backend="numpy").fit(x[:10], y[:10]),
        "CNN2": CNN2(epochs=1, backend="numpy").fit(x[:10], y[:10]),
    }
    root = tmp_path_factory.mktemp("models")
    return {k: (type(m), Path(m.save(root / k))) for k, m in models.items()}


#: Values no fit writes, per metadata field (besides the junk every field gets).
IMPOSSIBLE = {
    "keep_only_fired": [-1, 1, "yes"],
    "calibration_rate_": [1e308, -1.0],
    "learning_rate_": [1e308, 0.0, -1.0],
    "n_images_seen_": [-1, 2**63, 1.5],
    "epochs_done_": [-1, 2**63],
    "seen": [-1, 2**63, 10**6],
    "n_features_in_": [0, -1, 10**6],
    "input_max_": [0, -1.0, "big"],
    "norm_": [-1.0, 0.0, 1e308],
    "saturation_quantile_": [-1.0, 2.0],
    "image_shape_": [None, [], {}, [12], [0, 12], [2**20, 12]],
    "n_calibration_evaluations_": [-1, 2**63],
    "brightness_threshold_": [1e308, -5.0],
    "loss_curve_": [[], [1.0, 1e7], [-1.0], ["x"]],
    "backend_": ["cuda", 1],
    "classes_dtype": ["<f4", "", 1],
    "snnconv_version": ["", "bogus version", 1, None, ["0.1"]],
    "random_state": [None, "x", -1, 1.5],
}
JUNK = ["bogus", [[1]], {"a": 1}, float("nan")]
#: Parameter values the estimator's constructor takes but its fit refuses, per format.
IMPOSSIBLE_PARAMS = {
    # The core keeps potentials in float32: a threshold must be a normal float32.
    ("snnconv.ConvSNN", "threshold"): [1e308, 1e39, 1e-300],
}


def _meta_edits(meta):
    """(label, edit) pairs over the metadata and parameters."""
    for k in meta:
        if k != "arrays":
            yield f"del {k}", lambda m, a, k=k: m.pop(k)
    yield "add a key", lambda m, a: m.__setitem__("extra", 1)
    yield "format_version 1", lambda m, a: m.__setitem__("format_version", 1)
    params = meta.get("params", {})
    for k in params:
        yield f"del params.{k}", lambda m, a, k=k: m["params"].pop(k)
    yield "add params.__class__", lambda m, a: m["params"].__setitem__("__class__", "x")
    for k, v in params.items():
        bad = [b for b in JUNK if not isinstance(v, (list, dict))]
        if isinstance(v, bool):
            bad += [-1, 1, 0, "true"]
        bad += IMPOSSIBLE.get(k, []) if k in ("keep_only_fired", "random_state") else []
        bad += IMPOSSIBLE_PARAMS.get((meta.get("format"), k), [])
        for b in bad:
            yield f"params.{k}={b!r}", lambda m, a, k=k, b=b: m["params"].__setitem__(k, b)
    for k in meta:
        if k in ("arrays", "params", "format", "format_version"):
            continue
        for b in JUNK + IMPOSSIBLE.get(k, []):
            yield f"{k}={b!r}", lambda m, a, k=k, b=b: m.__setitem__(k, b)


#: Values no fit writes into an array (first element), per array.
IMPOSSIBLE_ARRAY = {
    "weights": [1e308, -1e308],
    "resource": [np.nan],
    "fired": [],
    "scale": [-1.0, 1e308],
    "calibration_rates": [-1.0, 1e308],
    "class_counts": [-1, np.iinfo(np.int64).max],
    "counters": [np.iinfo(np.uint64).max],
    "stability": [-1.0, np.inf],
    "free": [1e308],
    "theta": [-1.0, 1e308],
    "rates": [-1.0, 1e308],
    "assignments": [-2, np.iinfo(np.int64).max],
    "classes": ["max"],
    "population_widths": [1e308, -1.0],
    "population_centres": [1e308],
    "population_repeats": [0, 2**40],
    "w__conv0.w": [1e30],
    "w__dense.w": [np.inf],
}


def _set_first(a, v):
    a = a.copy()
    if isinstance(v, str):  # "max": a label above all others, so no longer sorted
        v = np.iinfo(a.dtype).max if a.dtype.kind in "iu" else a.max()
    a.reshape(-1)[0] = v
    return a


def _array_edits(arrays):
    yield "add an array", lambda m, a: a.__setitem__("extra", np.zeros(2))
    for k, v in arrays.items():
        yield f"del array {k}", lambda m, a, k=k: a.pop(k)
        for dt in (np.float32, np.float64, np.int32, np.int64, np.uint8, bool):
            if np.dtype(dt) != v.dtype:
                yield (
                    f"{k} as {np.dtype(dt)}",
                    lambda m, a, k=k, dt=dt: a.__setitem__(k, a[k].astype(dt)),
                )
        yield f"{k} with a leading axis", lambda m, a, k=k: a.__setitem__(k, a[k][None])
        if v.ndim and v.shape[0] > 1:
            yield f"{k} shorter", lambda m, a, k=k: a.__setitem__(k, a[k][:-1])
        for b in IMPOSSIBLE_ARRAY.get(k, []):
            if v.size and not (k == "classes" and v.size < 2):
                yield f"{k}[0]={b!r}", lambda m, a, k=k, b=b: a.__setitem__(k, _set_first(a[k], b))


@pytest.mark.parametrize(
    "name",
    [
        "KernelLearner",
        "KernelLearner-colour",
        "ConvSNN",
        "ConvSNN-fixed-scale",
        "CoLaNET",
        "DigitalCoLaNET",
        "population",
        "ULSNN",
        "CNN1",
        "CNN2",
    ],
)
def test_no_tampered_file_loads(saved, name, tmp_path):
    cls, path = saved[name]
    cls.load(path)  # the untouched file loads
    meta0, arrays0 = _read(path)
    accepted, n = [], 0
    target = tmp_path / "t.npz"
    for label, edit in [*_meta_edits(meta0), *_array_edits(arrays0)]:
        meta, arrays = copy.deepcopy(meta0), {k: v.copy() for k, v in arrays0.items()}
        with np.errstate(all="ignore"):
            edit(meta, arrays)
        _write(target, meta, arrays)
        n += 1
        try:
            cls.load(target)
        except ModelFileError as e:
            assert str(target) in str(e), (label, str(e))
            continue
        accepted.append(label)
    assert n > 40
    assert accepted == [], f"{len(accepted)} of {n} tampered {name} files loaded: {accepted}"


def _csnn(tmp_path):
    x, y = _images()
    m = snnconv.CSNNClassifier(
        kernel_learner=_learner(),
        classifier=snnconv.DigitalCoLaNET(n_copies=1, microcolumns=2),
        calibration_size=8,
    ).fit(x, y)
    return m, Path(m.save(tmp_path / "csnn"))


@pytest.mark.parametrize(
    "edit",
    [
        ("image_shape_", None),
        ("image_shape_", []),
        ("image_shape_", {}),
        ("image_shape_", [13, 12]),
        ("image_shape_", [2, 2]),
        ("n_neurons_", 7),
        ("extra", 1),
        ("del", "image_shape_"),
        ("del", "backlog_fraction_"),
    ],
    ids=str,
)
def test_tampered_csnn_json_is_refused(tmp_path, edit):
    _, folder = _csnn(tmp_path)
    meta = json.loads((folder / "csnn.json").read_text())
    key, value = edit
    if key == "del":
        meta.pop(value)
    else:
        meta[key] = value
    (folder / "csnn.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=r"csnn\.json"):
        snnconv.CSNNClassifier.load(folder)


def test_paths_that_are_not_model_files(tmp_path):
    """A folder or a dangling symlink given to load is a ModelFileError (the missing
    kinds also FileNotFoundErrors); a symlink the user passes is followed, one inside
    a CSNNClassifier folder is refused."""
    m, folder = _csnn(tmp_path)
    with pytest.raises(ModelFileError, match="not a regular file"):
        snnconv.KernelLearner.load(folder)
    (tmp_path / "dangling.npz").symlink_to(tmp_path / "nowhere.npz")
    with pytest.raises(ModelFileNotFoundError, match="dangling symlink") as info:
        snnconv.KernelLearner.load(tmp_path / "dangling.npz")
    assert isinstance(info.value, FileNotFoundError)
    (tmp_path / "dangling-folder").symlink_to(tmp_path / "nowhere")
    with pytest.raises(ModelFileNotFoundError):
        snnconv.CSNNClassifier.load(tmp_path / "dangling-folder")
    with pytest.raises(ModelFileNotFoundError):
        snnconv.DigitalCoLaNET.load(tmp_path / "missing.npz")
    # A link the user names is followed like any path they open.
    (tmp_path / "link").symlink_to(folder)
    x, _ = _images(4)
    again = snnconv.CSNNClassifier.load(tmp_path / "link")
    np.testing.assert_array_equal(again.predict(x), m.predict(x))
    stage = next(folder.glob("stages-*")) / "front_end.npz"
    real = stage.with_name("real.npz")
    os.replace(stage, real)
    stage.symlink_to(real)
    with pytest.raises(ModelFileError, match="symlink"):
        snnconv.CSNNClassifier.load(folder)
