"""Model files: saves never destroy what is not theirs, replace atomically and clean
up after themselves; loads verify checksums, shapes, ranges and consistency and
refuse every tampered file with a ModelFileError naming the file and the field."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import snnconv
from snnconv._util import persistence
from snnconv.baselines import CNN2, ULSNN
from snnconv.exceptions import ModelFileError

META = persistence._META_KEY


def _images(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 12, 12)) * 255).astype(np.uint8), np.arange(n) % 2


def _learner(seed=0, n_kernels=4):
    return snnconv.KernelLearner(
        kernel_size=3, n_kernels=n_kernels, stride=1, random_state=seed, keep_only_fired=False
    )


def _csnn(seed=0, n_kernels=4):
    x, y = _images(seed=seed)
    return snnconv.CSNNClassifier(
        kernel_learner=_learner(seed, n_kernels),
        classifier=snnconv.DigitalCoLaNET(n_copies=2, microcolumns=2, random_state=seed),
        calibration_size=10,
        random_state=seed,
    ).fit(x, y)


@pytest.fixture(scope="module")
def models():
    x, y = _images()
    feats = np.random.default_rng(1).integers(0, 255, (30, 6)).astype(np.uint8)
    return {
        "KernelLearner": _learner().fit(x),
        "ConvSNN": snnconv.ConvSNN(_learner().fit(x)).fit(x[:10]),
        "CoLaNET": snnconv.CoLaNET(n_copies=2, microcolumns=2).fit(feats, np.arange(30) % 2),
        "DigitalCoLaNET": snnconv.DigitalCoLaNET(n_copies=2, microcolumns=2).fit(
            feats, np.arange(30) % 2
        ),
        "ULSNN": ULSNN(n_neurons=4, time=20).fit(x[:10], y[:10]),
        "CNN2": CNN2(epochs=1, backend="numpy").fit(x[:10], y[:10]),
    }


@pytest.fixture(scope="module")
def csnn_pair():
    return _csnn(0), _csnn(1)


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _hidden(root: Path) -> list[str]:
    return [p for p in _listing(root) if "snnconv-tmp" in p]


# ------------------------------------------------------------------ refusing to destroy
@pytest.mark.parametrize(
    "name", ["KernelLearner", "ConvSNN", "CoLaNET", "DigitalCoLaNET", "ULSNN", "CNN2"]
)
def test_npz_save_replaces_only_its_own_kind(models, name, tmp_path):
    model = models[name]
    plain = tmp_path / "notes.npz"
    plain.write_bytes(b"my thesis")
    with pytest.raises(FileExistsError, match="not an snnconv model file"):
        model.save(plain)
    assert plain.read_bytes() == b"my thesis"
    other = "ConvSNN" if name != "ConvSNN" else "KernelLearner"
    path = models[other].save(tmp_path / "other")
    before = Path(path).read_bytes()
    with pytest.raises(FileExistsError, match="holds a 'snnconv"):
        model.save(path)
    assert Path(path).read_bytes() == before
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(FileExistsError, match="directory"):
        model.save(tmp_path / "dir.npz", overwrite=True)
    own = model.save(tmp_path / "own")
    model.save(own)  # the same kind: replaced without asking
    type(model).load(own)
    model.save(plain, overwrite=True)
    type(model).load(plain)
    assert _hidden(tmp_path) == []


def test_csnn_save_refuses_unrelated_folder_and_file(csnn_pair, tmp_path):
    model, _ = csnn_pair
    thesis = tmp_path / "my_thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="not an snnconv CSNNClassifier folder"):
        model.save(thesis)
    assert _listing(thesis) == ["chapter1.tex"]
    plain = tmp_path / "plain"
    plain.write_text("data")
    with pytest.raises(FileExistsError):
        model.save(plain)
    assert plain.read_text() == "data"
    # an empty folder holds nothing to lose
    (tmp_path / "empty").mkdir()
    snnconv.CSNNClassifier.load(model.save(tmp_path / "empty"))
    # overwrite=True replaces both
    model.save(thesis, overwrite=True)
    model.save(plain, overwrite=True)
    for p in (thesis, plain):
        snnconv.CSNNClassifier.load(p)
    assert _hidden(tmp_path) == []


def test_csnn_overwrite_keeps_one_stage_folder(csnn_pair, tmp_path):
    a, b = csnn_pair
    x, _ = _images()
    target = tmp_path / "m"
    a.save(target)
    b.save(target)
    names = _listing(target)
    assert len([n for n in names if "/" not in n and n.startswith("stages-")]) == 1
    np.testing.assert_array_equal(snnconv.CSNNClassifier.load(target).predict(x), b.predict(x))


def test_csnn_version_1_folder_loads_and_is_replaced(csnn_pair, tmp_path):
    a, b = csnn_pair
    x, _ = _images()
    old = tmp_path / "old"
    old.mkdir()
    a.kernel_learner_.save(old / "kernel_learner.npz")
    a.front_end_.save(old / "front_end.npz")
    a.classifier_.save(old / "classifier.npz")
    meta = a._meta("", {})
    meta.update(format_version=1)
    del meta["stages"], meta["files"]
    (old / "csnn.json").write_text(json.dumps(meta))
    np.testing.assert_array_equal(snnconv.CSNNClassifier.load(old).predict(x), a.predict(x))
    b.save(old)
    assert not (old / "kernel_learner.npz").exists()
    np.testing.assert_array_equal(snnconv.CSNNClassifier.load(old).predict(x), b.predict(x))


def test_npz_version_1_without_checksums_still_loads(models, tmp_path):
    path = Path(models["KernelLearner"].save(tmp_path / "k"))
    meta, arrays = _read(path)
    del meta["arrays"]
    meta["format_version"] = 1
    _write(path, meta, arrays, checksums=False)
    back = snnconv.KernelLearner.load(path)
    np.testing.assert_array_equal(back.kernels_, models["KernelLearner"].kernels_)


# ------------------------------------------------------------------ failures mid-save
def _steps(monkeypatch, action):
    seen = []
    monkeypatch.setattr(persistence, "_step", seen.append)
    action()
    monkeypatch.undo()
    return seen


class Crash(BaseException):
    pass


@pytest.mark.parametrize("exc", [OSError, KeyboardInterrupt])
def test_npz_failure_at_each_step_keeps_old_file(models, tmp_path, monkeypatch, exc):
    model = models["KernelLearner"]
    path = Path(model.save(tmp_path / "k"))
    steps = _steps(monkeypatch, lambda: model.save(path))
    assert steps
    for step in steps:
        before = path.read_bytes()

        def fail(name, step=step):
            if name == step:
                raise exc(f"simulated failure at {step}")

        monkeypatch.setattr(persistence, "_step", fail)
        with pytest.raises(exc):
            model.save(path)
        monkeypatch.undo()
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["k.npz"]


@pytest.mark.parametrize("exc", [OSError, KeyboardInterrupt])
def test_csnn_failure_at_each_step_leaves_a_loadable_model(csnn_pair, tmp_path, monkeypatch, exc):
    a, b = csnn_pair
    x, _ = _images()
    target = tmp_path / "m"
    for fresh in (True, False):
        if not fresh:
            a.save(target)
        steps = _steps(monkeypatch, lambda: b.save(tmp_path / "probe", overwrite=True))
        if not fresh:
            steps = _steps(monkeypatch, lambda: b.save(tmp_path / "probe"))
        assert any(s.startswith("csnn") for s in steps)
        for step in steps:
            if not fresh:
                a.save(target)

            def fail(name, step=step):
                if name == step:
                    raise exc(f"simulated failure at {step}")

            monkeypatch.setattr(persistence, "_step", fail)
            try:
                b.save(target)
            except exc:
                pass
            monkeypatch.undo()
            # either the old or the new model (after the commit point), never none
            if fresh and not target.exists():
                assert _hidden(tmp_path) == []
                continue
            pred = snnconv.CSNNClassifier.load(target).predict(x)
            assert np.array_equal(pred, a.predict(x)) or np.array_equal(pred, b.predict(x))
            assert _hidden(tmp_path) == []
            stage_dirs = [n for n in os.listdir(target) if n.startswith("stages-")]
            assert len(stage_dirs) == 1, (step, stage_dirs)
            if fresh:
                persistence.remove_path(target)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temporaries_of_killed_saves_are_removed(models, csnn_pair, tmp_path):
    pid = _dead_pid()
    stale_file = tmp_path / f".k.npz.{pid}.snnconv-tmp-abc"
    stale_file.write_bytes(b"x" * 100)
    stale_dir = tmp_path / f".m.{pid}.snnconv-tmp-def"
    stale_dir.mkdir()
    (stale_dir / "junk").write_text("x")
    live = tmp_path / f".k.npz.{os.getpid()}.snnconv-tmp-live"  # our own: kept
    live.write_bytes(b"")
    models["KernelLearner"].save(tmp_path / "k")
    csnn_pair[0].save(tmp_path / "m")
    assert not stale_file.exists() and not stale_dir.exists() and live.exists()
    stale_stages = tmp_path / "m" / f"stages-{pid}-abc"
    stale_stages.mkdir()
    csnn_pair[1].save(tmp_path / "m")
    assert not stale_stages.exists()


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from test_model_files import _csnn
    a, b = _csnn(0), _csnn(1, n_kernels=5)
    print("ready", flush=True)
    i = 0
    while True:
        (a if i % 2 == 0 else b).save(sys.argv[1])
        i += 1
    """
)


def test_sigkill_mid_save_leaves_old_or_new_model(csnn_pair, tmp_path):
    x, _ = _images()
    a, b = _csnn(0), _csnn(1, n_kernels=5)
    expected = [a.predict(x), b.predict(x)]
    target = tmp_path / "m"
    a.save(target)
    script = _KILL_SCRIPT.format(tests=str(Path(__file__).parent))
    rng = np.random.default_rng(0)
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.05, 0.6)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        pred = snnconv.CSNNClassifier.load(target).predict(x)
        assert any(np.array_equal(pred, e) for e in expected)
    a.save(target)  # cleans what the killed saves left
    assert _hidden(tmp_path) == []
    assert len([n for n in os.listdir(target) if n.startswith("stages-")]) == 1


# ------------------------------------------------------------------ tampering
def _read(path):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop(META).tobytes().decode())
    return meta, arrays


def _write(path, meta, arrays, checksums=True, raw_meta=None):
    """Rewrites a model file; ``checksums`` recomputes the record (a tamperer who
    knows the format), so only the range and consistency checks can catch it."""
    if checksums:
        meta["arrays"] = {
            k: {
                "dtype": np.asarray(a).dtype.str,
                "shape": list(np.shape(a)),
                "sha256": persistence.sha256_array(np.asarray(a)),
            }
            for k, a in arrays.items()
        }
    raw = raw_meta if raw_meta is not None else json.dumps(meta).encode()
    with open(path, "wb") as fh:
        np.savez(fh, **{META: np.frombuffer(raw, np.uint8)}, **arrays)


def _nest(depth):
    return json.loads("[" * depth + "]" * depth)


TAMPERS = {
    # arrays altered, checksums left as they were
    "flip a value, old checksum": (
        "KernelLearner",
        lambda m, a: a["weights"].__setitem__((0, 0, 0), 0.123),
        False,
        "checksum",
    ),
    "change a shape, old record": (
        "ConvSNN",
        lambda m, a: a.__setitem__("scale", a["scale"][:-1]),
        False,
        "shape",
    ),
    "change a dtype, old record": (
        "CoLaNET",
        lambda m, a: a.__setitem__("free", a["free"].astype(np.float32)),
        False,
        "dtype",
    ),
    "add an array": ("ULSNN", lambda m, a: a.__setitem__("extra", np.zeros(2)), False, "arrays"),
    "drop the checksum record": ("CNN2", lambda m, a: m.pop("arrays"), False, "checksum record"),
    # tamperer recomputes the checksums: the range checks still refuse
    "NaN in resource": (
        "KernelLearner",
        lambda m, a: a["resource"].__setitem__((0, 0, 0), np.nan),
        True,
        "resource",
    ),
    "inf in CNN weights": (
        "CNN2",
        lambda m, a: a["w__dense.w"].__setitem__((0, 0), np.inf),
        True,
        "dense.w",
    ),
    "weights outside [w_min, w_max]": (
        "KernelLearner",
        lambda m, a: a["weights"].__setitem__((0, 0, 0), 1e6),
        True,
        "weights",
    ),
    "wrong resource shape": (
        "KernelLearner",
        lambda m, a: a.__setitem__("resource", a["resource"][:1]),
        True,
        "resource",
    ),
    "negative CoLaNET stability": (
        "DigitalCoLaNET",
        lambda m, a: a["stability"].__setitem__((0, 0), -1.0),
        True,
        "state",
    ),
    "resource of other size": (
        "CoLaNET",
        lambda m, a: a.__setitem__("resource", a["resource"][:, :, :3].copy()),
        True,
        "resource",
    ),
    "negative scale": ("ConvSNN", lambda m, a: a["scale"].__setitem__(0, -1.0), True, "scale"),
    "assignment out of range": (
        "ULSNN",
        lambda m, a: a["assignments"].__setitem__(0, 99),
        True,
        "assignments",
    ),
    "object array": (
        "CNN2",
        lambda m, a: a.__setitem__("classes", np.array([None, 1], dtype=object)),
        True,
        "pickle|Object arrays",
    ),
    # JSON metadata edits
    "missing params": ("KernelLearner", lambda m, a: m.pop("params"), True, "params"),
    "params of wrong type": (
        "ConvSNN",
        lambda m, a: m.__setitem__("params", [1, 2]),
        True,
        "params",
    ),
    "unknown parameter": (
        "CoLaNET",
        lambda m, a: m["params"].__setitem__("bogus", 1),
        True,
        "bogus",
    ),
    "n_threads 2**63": (
        "KernelLearner",
        lambda m, a: m["params"].__setitem__("n_threads", 2**63),
        True,
        "n_threads",
    ),
    "n_threads a string": (
        "ULSNN",
        lambda m, a: m["params"].__setitem__("n_threads", "8"),
        True,
        "n_threads",
    ),
    "huge int field": (
        "KernelLearner",
        lambda m, a: m.__setitem__("n_images_seen_", 10**40),
        True,
        "n_images_seen_",
    ),
    "learning rate 1e308": (
        "KernelLearner",
        lambda m, a: m.__setitem__("learning_rate_", 1e308),
        True,
        "learning_rate_",
    ),
    "NaN parameter": (
        "DigitalCoLaNET",
        lambda m, a: m["params"].__setitem__("threshold", float("nan")),
        True,
        "threshold",
    ),
    "w_min -1e150": (
        "KernelLearner",
        lambda m, a: m["params"].__setitem__("w_min", -1e150),
        True,
        "weights|w_min",
    ),
    "input_max_ a string": (
        "CoLaNET",
        lambda m, a: m.__setitem__("input_max_", "big"),
        True,
        "input_max_",
    ),
    "input_max_ zero": (
        "DigitalCoLaNET",
        lambda m, a: m.__setitem__("input_max_", 0),
        True,
        "input_max_",
    ),
    "image_shape_ nested": (
        "CNN2",
        lambda m, a: m.__setitem__("image_shape_", [[12], 12]),
        True,
        "image_shape_",
    ),
    "backend_ unknown": ("CNN2", lambda m, a: m.__setitem__("backend_", "cuda"), True, "backend_"),
    "deep nesting": ("ULSNN", lambda m, a: m.__setitem__("norm_", _nest(60)), True, "nested"),
    "format of another kind": (
        "ConvSNN",
        lambda m, a: m.__setitem__("format", "snnconv.ULSNN"),
        True,
        "format",
    ),
    "format_version true": (
        "ConvSNN",
        lambda m, a: m.__setitem__("format_version", True),
        True,
        "format_version",
    ),
    "format_version huge": (
        "ConvSNN",
        lambda m, a: m.__setitem__("format_version", 10**30),
        True,
        "format_version",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_tampered_npz_is_refused(models, tmp_path, case):
    name, edit, fix_checksums, field = TAMPERS[case]
    path = Path(models[name].save(tmp_path / "m"))
    meta, arrays = _read(path)
    arrays = {k: v.copy() for k, v in arrays.items()}
    edit(meta, arrays)
    if "object" in case:
        with open(path, "wb") as fh:
            np.savez(fh, **{META: np.frombuffer(json.dumps(meta).encode(), np.uint8)}, **arrays)
    else:
        _write(path, meta, arrays, checksums=fix_checksums and "arrays" in meta)
    with pytest.raises(ModelFileError, match=field) as info:
        type(models[name]).load(path)
    assert str(path) in str(info.value)


RAW = {
    "not JSON": b"{not json",
    "not UTF-8": b"\xff\xfe{}",
    "a JSON list": b"[1, 2]",
    "deep nesting beyond the recursion limit": b"[" * 100_000 + b"]" * 100_000,
    "an int of 5000 digits": b'{"format": ' + b"9" * 5000 + b"}",
}


@pytest.mark.parametrize("case", sorted(RAW))
def test_corrupt_json_record_is_refused(models, tmp_path, case):
    path = Path(models["KernelLearner"].save(tmp_path / "m"))
    meta, arrays = _read(path)
    _write(path, meta, arrays, raw_meta=RAW[case])
    with pytest.raises(ModelFileError, match=str(path)):
        snnconv.KernelLearner.load(path)


def test_flipped_byte_in_the_file_is_refused_or_harmless(models, tmp_path):
    model = models["ConvSNN"]
    path = Path(model.save(tmp_path / "m"))
    data = bytearray(path.read_bytes())
    refused = 0
    for offset in range(0, len(data)):
        bad = bytearray(data)
        bad[offset] ^= 0x40
        path.write_bytes(bytes(bad))
        try:
            back = snnconv.ConvSNN.load(path)
        except ModelFileError:
            refused += 1
            continue
        # a byte the zip reader never uses (local header copies of the sizes, ...)
        np.testing.assert_array_equal(back.kernels_, model.kernels_)
        np.testing.assert_array_equal(back.scale_, model.scale_)
    assert refused > 0.8 * len(data)


def test_tampered_csnn_folder_is_refused(csnn_pair, tmp_path):
    a, _ = csnn_pair
    other = _csnn(2, n_kernels=5)
    x, _ = _images()

    def fresh():
        root = tmp_path / "m"
        persistence.remove_path(root)
        a.save(root)
        meta = json.loads((root / "csnn.json").read_text())
        return root, meta, root / meta["stages"]

    def refused(root, match):
        with pytest.raises(ModelFileError, match=match):
            snnconv.CSNNClassifier.load(root)

    # a stage file swapped in from another model: checksum in csnn.json
    root, meta, stages = fresh()
    other_dir = tmp_path / "other"
    other.save(other_dir)
    other_stages = other_dir / json.loads((other_dir / "csnn.json").read_text())["stages"]
    (stages / "front_end.npz").write_bytes((other_stages / "front_end.npz").read_bytes())
    refused(root, "front_end.npz: SHA-256")
    # ... and with csnn.json's checksum fixed: the stages disagree
    meta["files"]["front_end.npz"] = persistence.sha256_file(stages / "front_end.npz")
    (root / "csnn.json").write_text(json.dumps(meta))
    refused(root, "front_end.npz: kernels")
    # the classifier of a model with a different kernel count
    root, meta, stages = fresh()
    (stages / "classifier.npz").write_bytes((other_stages / "classifier.npz").read_bytes())
    meta["files"]["classifier.npz"] = persistence.sha256_file(stages / "classifier.npz")
    (root / "csnn.json").write_text(json.dumps(meta))
    if other.classifier_.n_features_in_ % a.kernel_learner_.kernels_.shape[0]:
        refused(root, "n_features_in_")
    # a stage file that is a symlink to a file outside the folder
    root, meta, stages = fresh()
    outside = tmp_path / "outside.npz"
    outside.write_bytes((stages / "kernel_learner.npz").read_bytes())
    (stages / "kernel_learner.npz").unlink()
    (stages / "kernel_learner.npz").symlink_to(outside)
    refused(root, "symlink")
    # the stages folder a symlink out of the model folder
    root, meta, stages = fresh()
    link = root / "stages-1-link"
    link.symlink_to(other_stages, target_is_directory=True)
    meta["stages"] = link.name
    (root / "csnn.json").write_text(json.dumps(meta))
    refused(root, "symlink")
    # a path out of the folder in csnn.json
    for bad in ("../other", "/etc", "stages-1-x/../../other", 7):
        root, meta, stages = fresh()
        meta["stages"] = bad
        (root / "csnn.json").write_text(json.dumps(meta))
        refused(root, "stages")
    # csnn.json fields
    for key, value, match in [
        ("n_neurons_", -3, "n_neurons_"),
        ("n_neurons_", 10**40, "n_neurons_"),
        ("backlog_fraction_", "half", "backlog_fraction_"),
        ("random_state", None, "random_state"),
        ("classifier", "Pickle", "classifier"),
        ("classifier", ["CoLaNET"], "classifier"),
        ("format_version", 99, "format_version"),
        ("files", {"kernel_learner.npz": "0"}, "files"),
    ]:
        root, meta, stages = fresh()
        meta[key] = value
        (root / "csnn.json").write_text(json.dumps(meta))
        refused(root, match)
    root, meta, stages = fresh()
    del meta["calibration_size"]
    (root / "csnn.json").write_text(json.dumps(meta))
    refused(root, "calibration_size")
    # a missing stage, a csnn.json that is a symlink, a deeply nested csnn.json
    root, meta, stages = fresh()
    (stages / "classifier.npz").unlink()
    refused(root, "missing")
    root, meta, stages = fresh()
    (tmp_path / "j.json").write_text(json.dumps(meta))
    (root / "csnn.json").unlink()
    (root / "csnn.json").symlink_to(tmp_path / "j.json")
    refused(root, "symlink")
    root, meta, stages = fresh()
    (root / "csnn.json").write_text("[" * 100_000 + "]" * 100_000)
    refused(root, "csnn.json")
    # the untampered folder still loads
    root, meta, stages = fresh()
    np.testing.assert_array_equal(snnconv.CSNNClassifier.load(root).predict(x), a.predict(x))


def test_forged_array_header_and_npy_are_refused_without_allocating(tmp_path):
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    forged = tmp_path / "forged.npz"
    with zipfile.ZipFile(forged, "w") as zf:
        zf.writestr("weights.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(ModelFileError, match=r"weights\.npy: header declares"):
        snnconv.KernelLearner.load(forged)
    single = tmp_path / "single.npz"
    with open(single, "wb") as fh:
        np.save(fh, np.zeros(3))
    with pytest.raises(ModelFileError, match=r"single \.npy"):
        snnconv.KernelLearner.load(single)


_JUNK = [None, "x", -1, 0, 2**70, 10**400, 1e308, -1e308, float("nan"), float("inf"), [], {},
         [[[]]], True, 0.5, [1, 2], 2**63 - 1]  # fmt: skip
_VALUES = [np.nan, np.inf, -np.inf, 1e308, -1e308, 1e30, -1.0, 0.0, 1e-320, 255.0, 1e6]


def _json_paths(v, prefix=()):
    out = [prefix]
    if isinstance(v, dict):
        for k, x in v.items():
            out += _json_paths(x, (*prefix, k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out += _json_paths(x, (*prefix, i))
    return [p for p in out if p]


def _mutate_meta(meta, rng):
    paths = _json_paths(meta)
    for _ in range(int(rng.integers(1, 3))):
        path = paths[int(rng.integers(len(paths)))]
        parent = meta
        try:
            for k in path[:-1]:
                parent = parent[k]
            if rng.random() < 0.2 and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = json.loads(json.dumps(_JUNK[int(rng.integers(len(_JUNK)))]))
        except (KeyError, IndexError, TypeError):
            pass


def _mutate_arrays(arrays, rng):
    k = sorted(arrays)[int(rng.integers(len(arrays)))]
    a = arrays[k]
    r = rng.random()
    if r < 0.6 and a.size and a.dtype.kind == "f":
        a.reshape(-1)[int(rng.integers(a.size))] = _VALUES[int(rng.integers(len(_VALUES)))]
    elif r < 0.6 and a.size and a.dtype.kind in "iu":
        info = np.iinfo(a.dtype)
        a.reshape(-1)[int(rng.integers(a.size))] = info.max if rng.random() < 0.5 else info.min
    elif r < 0.8:
        arrays[k] = a.reshape(-1)[:-1] if a.size else np.zeros(1, a.dtype)
    elif a.dtype.kind == "f":
        arrays[k] = a.astype(np.float32 if a.dtype == np.float64 else np.float64)


def _use(name, model):
    x, _ = _images(6)
    feats = np.random.default_rng(1).integers(0, 255, (5, 6)).astype(np.uint8)
    if name in ("KernelLearner", "ConvSNN"):
        return model.transform(x)
    if name in ("CoLaNET", "DigitalCoLaNET"):
        return model.predict_proba(feats)
    if name == "ULSNN":
        return model.predict(x).astype(float)
    return model.predict_proba(x)


@pytest.mark.parametrize(
    "name", ["KernelLearner", "ConvSNN", "CoLaNET", "DigitalCoLaNET", "ULSNN", "CNN2"]
)
def test_randomly_tampered_files_are_refused_or_harmless(models, name, tmp_path):
    """Random edits of the metadata and the arrays, checksums recomputed: each load is
    a ModelFileError or gives a model whose outputs are finite."""
    rng = np.random.default_rng(sum(map(ord, name)))
    path = Path(models[name].save(tmp_path / "m"))
    meta0, arrays0 = _read(path)
    meta0.pop("arrays")
    outcomes = {"refused": 0, "loaded": 0}
    for i in range(60):
        meta = json.loads(json.dumps(meta0))
        arrays = {k: v.copy() for k, v in arrays0.items()}
        with np.errstate(all="ignore"):
            if i % 2:
                _mutate_meta(meta, rng)
            else:
                _mutate_arrays(arrays, rng)
        _write(tmp_path / "t.npz", meta, arrays)
        try:
            model = type(models[name]).load(tmp_path / "t.npz")
        except ModelFileError:
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = _use(name, model)
            except snnconv.exceptions.SnnconvError:
                continue
        assert np.isfinite(np.asarray(out, dtype=float)).all()
    assert outcomes["refused"] > 0


def test_saved_files_follow_the_umask(models, csnn_pair, tmp_path):
    old = os.umask(0o027)
    try:
        path = Path(models["ConvSNN"].save(tmp_path / "m"))
        folder = Path(csnn_pair[0].save(tmp_path / "c"))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640
    assert folder.stat().st_mode & 0o777 == 0o750
    assert (folder / "csnn.json").stat().st_mode & 0o777 == 0o640


def test_object_array_save_refuses_foreign_file_and_checks_on_load(tmp_path):
    from snnconv.preprocess.object_array import ObjectArray

    n = 3
    objs = ObjectArray(
        images=np.zeros((n, 4, 4), np.uint8),
        labels=np.array([0, 1, -1]),
        classes=("car", "person"),
        clip=np.zeros(n, np.int64),
        track=np.arange(n),
        frame=np.arange(n),
        boxes=np.tile([0, 0, 4, 4], (n, 1)),
        clip_names=("clip",),
    )
    plain = tmp_path / "objects.npz"
    plain.write_bytes(b"csv export")
    with pytest.raises(FileExistsError):
        objs.save(plain)
    assert plain.read_bytes() == b"csv export"
    path = objs.save(tmp_path / "o")
    assert len(ObjectArray.load(path)) == n
    meta, arrays = _read(path)
    arrays["labels"] = np.array([0, 1, 7])
    _write(path, meta, arrays)
    with pytest.raises(ModelFileError, match="labels"):
        ObjectArray.load(path)


def test_temporaries_of_older_versions_are_removed_once_old(models, csnn_pair, tmp_path):
    old = time.time() - 3600

    def make(p, files=(), is_dir=False, age=old):
        if is_dir:
            p.mkdir()
            for f in files:
                (p / f).write_bytes(b"x")
        else:
            p.write_bytes(b"x" * 10)
        os.utime(p, (age, age))
        return p

    gone = [
        make(tmp_path / ".k.npz.ab12_xyz.tmp"),
        make(tmp_path / ".m.q1w2e3r4", ["csnn.json", "kernel_learner.npz"], True),
        make(tmp_path / ".m.old", ["front_end.npz", ".classifier.npz.abcdefgh.tmp"], True),
    ]
    kept = [
        make(tmp_path / ".k.npz.ab12_xyz.tmp.bak"),  # not the pattern
        make(tmp_path / ".k.npz.fresh123.tmp", age=time.time()),  # may be a live save
        make(tmp_path / ".m.archive1", ["thesis.tex"], True),  # not ours
    ]
    models["KernelLearner"].save(tmp_path / "k")
    csnn_pair[0].save(tmp_path / "m")
    assert [p.name for p in gone if os.path.lexists(p)] == []
    assert all(p.exists() for p in kept)


def test_randomly_tampered_csnn_json_is_refused_or_harmless(csnn_pair, tmp_path):
    model, _ = csnn_pair
    x, _ = _images(6)
    root = Path(model.save(tmp_path / "m"))
    meta0 = json.loads((root / "csnn.json").read_text())
    rng = np.random.default_rng(3)
    refused = 0
    for _ in range(80):
        meta = json.loads(json.dumps(meta0))
        _mutate_meta(meta, rng)
        (root / "csnn.json").write_text(json.dumps(meta))
        try:
            back = snnconv.CSNNClassifier.load(root)
        except ModelFileError:
            refused += 1
            continue
        assert np.isfinite(back.predict_proba(x)).all()
    assert refused > 40


def test_population_coded_colanet_round_trip_and_tampered_code(tmp_path):
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(40, 3))
    y = np.arange(40) % 2
    model = snnconv.DigitalCoLaNET(
        n_copies=2, microcolumns=2, encoding="population", population_size=4
    ).fit(feats, y)
    path = Path(model.save(tmp_path / "pop"))
    np.testing.assert_array_equal(
        type(model).load(path).predict_proba(feats), model.predict_proba(feats)
    )
    meta, arrays = _read(path)
    for key, value, match in [
        ("population_repeats", np.array(2**40), "population_repeats"),
        ("population_centres", arrays["population_centres"][:2], "population_centres|widths"),
        ("population_widths", -arrays["population_widths"], "widths"),
    ]:
        _write(path, dict(meta), {**arrays, key: value})
        with pytest.raises(ModelFileError, match=match):
            type(model).load(path)
