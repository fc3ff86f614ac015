"""The whole convolutional SNN classifier: learned kernels → spiking front-end → CoLaNET.

Images in, labels out. Learning stays local at every stage: the kernels come from the
unsupervised rule of docs/algorithms.md §1, the front-end is frozen (only its weight scale is
calibrated to a firing rate), and CoLaNET learns with anti-Hebbian and dopamine
plasticity (docs/algorithms.md §3).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from ._util.estimator import (
    SnnconvEstimator,
    check_random_state_param,
    classification_targets,
    image_input_tags,
    seed_from,
)
from ._util.fitted import check_fitted
from .exceptions import DataError

_FORMAT = "snnconv.CSNNClassifier"
_FORMAT_VERSION = 1


def _clone(estimator: Any) -> Any:
    """A fresh, unfitted copy with the same parameters."""
    return type(estimator)(**estimator.get_params(deep=False))


class CSNNClassifier(ClassifierMixin, SnnconvEstimator):
    """Convolutional spiking classifier assembled from the three local learners.

    ``kernel_learner``: a :class:`KernelLearner` (fitted ones are used as they are,
    unfitted ones are cloned and fitted on the training images; default: docs/algorithms.md §1
    defaults). ``front_end``: a :class:`ConvSNN` used as a template (its ``kernels``
    and ``stride`` are taken from the kernel learner; default: docs/algorithms.md §2 defaults).
    ``classifier``: a :class:`CoLaNET` or :class:`DigitalCoLaNET` template (default:
    CoLaNET with its defaults). ``calibration_size`` training images (a
    seeded sample) set the front-end's scale. ``random_state``: None, an int (used as
    the seed of every stage), a numpy ``RandomState`` or ``Generator`` (one seed is
    drawn from it per ``fit``, ``seed_``); it seeds the default stages and the
    calibration sample, templates given explicitly keep their own.

    Input: images (N, H, W) (uint8 or floats in [0, 1]), all of the shape seen in
    ``fit``; labels of any type (ints, strings, ...).

    Attributes after ``fit``: ``kernel_learner_``, ``front_end_``, ``classifier_``,
    ``classes_``, ``n_neurons_`` (input + conv + pooling + CoLaNET neurons),
    ``backlog_fraction_`` (share of pooled spikes of the training set still held back
    at the end of the frame; see ``ConvSNN``), ``timings_`` (seconds per stage),
    ``image_shape_``, ``n_features_in_`` (pixels per image), ``seed_``. A fitted
    classifier pickles; ``sklearn.base.clone`` gives an unfitted one.
    """

    def __init__(
        self,
        kernel_learner: Any = None,
        front_end: Any = None,
        classifier: Any = None,
        calibration_size: int = 1000,
        random_state: Any = 0,
        n_threads: int | None = None,
        progress: bool = False,
    ) -> None:
        self.kernel_learner = kernel_learner
        self.front_end = front_end
        self.classifier = classifier
        self.calibration_size = calibration_size
        self.random_state = random_state
        self.n_threads = n_threads
        self.progress = progress

    # ------------------------------------------------------------------ building
    @classmethod
    def from_config(
        cls, cfg: Any, random_state: int = 0, n_threads: int | None = None, progress: bool = False
    ) -> CSNNClassifier:
        """Builds the classifier from an :class:`~snnconv.experiment.ExperimentConfig`."""
        from .colanet.digital import DigitalCoLaNET
        from .colanet.spiking import CoLaNET
        from .conv_snn import ConvSNN
        from .kernel_learner import KernelLearner

        # The config tables use the estimators' own parameter names.
        common = {"random_state": random_state, "n_threads": n_threads, "progress": progress}
        learner = KernelLearner(**dataclasses.asdict(cfg.kernels), **common)
        front = ConvSNN(
            None,
            stride=cfg.kernels.stride,
            on_backlog="ignore",
            **dataclasses.asdict(cfg.conv_snn),
            **common,
        )
        c = cfg.classifier
        kinds = {"spiking": CoLaNET, "digital": DigitalCoLaNET}
        if c.kind not in kinds:
            raise ValueError(f"classifier.kind: must be spiking or digital, got {c.kind!r}")
        params = {**common, **c.params}
        return cls(
            learner,
            front,
            kinds[c.kind](**params),
            random_state=random_state,
            n_threads=n_threads,
            progress=progress,
        )

    def _templates(self) -> tuple[Any, Any, Any]:
        from .colanet.spiking import CoLaNET
        from .conv_snn import ConvSNN
        from .kernel_learner import KernelLearner

        common = {
            "random_state": self.seed_,
            "n_threads": self.n_threads,
            "progress": self.progress,
        }
        learner = self.kernel_learner or KernelLearner(**common)
        front = self.front_end or ConvSNN(None, on_backlog="ignore", **common)
        clf = self.classifier or CoLaNET(**common)
        return learner, front, clf

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        images: np.ndarray,
        y: Any,
        eval_set: tuple[Any, Any] | None = None,
        curve_points: int = 5,
    ) -> CSNNClassifier:
        """Learns kernels, calibrates the front-end and trains the classifier.

        With ``eval_set=(images, labels)`` the model is trained exactly as without it
        (same weights, same predictions) and its classifier is scored on the eval set at
        ``curve_points`` evenly spaced points of its one online pass:
        ``learning_curve_`` = [(training examples seen, accuracy), ...] (examples counted
        over all of the classifier's epochs; the last point is the fitted model).
        """
        from ._util.images import as_stack

        stack = as_stack(images)
        if stack is None:
            raise TypeError("images: CSNNClassifier needs an array (N, H, W)")
        classification_targets(y, stack.shape[0])  # before the costly stages
        y = np.asarray(y).reshape(-1)
        check_random_state_param(self.random_state)
        if not isinstance(self.calibration_size, (int, np.integer)) or self.calibration_size < 1:
            raise ValueError(
                f"calibration_size: must be an integer >= 1, got {self.calibration_size!r}"
            )
        self.seed_ = seed_from(self.random_state)
        learner, front, clf = self._templates()
        t0 = time.perf_counter()
        if hasattr(learner, "kernels_"):
            self.kernel_learner_ = learner
        else:
            self.kernel_learner_ = _clone(learner).fit(stack)
        t1 = time.perf_counter()
        params = front.get_params(deep=False)
        params.update(kernels=self.kernel_learner_, stride=self.kernel_learner_.stride)
        self.front_end_ = type(front)(**params)
        rng = np.random.default_rng(self.seed_)
        n_cal = min(int(self.calibration_size), stack.shape[0])
        sample = np.sort(rng.choice(stack.shape[0], n_cal, replace=False))
        self.front_end_.fit(stack[sample])
        counts = self.front_end_.run(stack)
        t2 = time.perf_counter()
        if eval_set is None:
            self.classifier_ = _clone(clf).fit(counts.pooled, y)
        else:
            self.classifier_ = self._fit_with_curve(
                _clone(clf), counts.pooled, y, eval_set, curve_points
            )
        t3 = time.perf_counter()
        curve_time = getattr(self, "_curve_time", 0.0) if eval_set is not None else 0.0
        pooled_total = float(counts.pooled.sum()) + float(counts.backlog.sum())
        self.backlog_fraction_ = float(counts.backlog.sum()) / max(pooled_total, 1.0)
        self.timings_ = {
            "kernels": t1 - t0,
            "front_end": t2 - t1,
            "classifier": t3 - t2 - curve_time,
        }
        if eval_set is not None:
            self.timings_["learning_curve"] = curve_time
        self.classes_ = self.classifier_.classes_
        self.image_shape_ = (int(stack.shape[1]), int(stack.shape[2]))
        self.n_features_in_ = self.image_shape_[0] * self.image_shape_[1]
        self.n_neurons_ = self._count_neurons(stack.shape[1], stack.shape[2])
        return self

    def _fit_with_curve(
        self, clf: Any, features: np.ndarray, y: np.ndarray, eval_set: tuple[Any, Any], points: int
    ) -> Any:
        # Snapshots of the one training pass: the classifier learns exactly as without
        # eval_set and is scored on the eval set after each checkpoint.
        if not isinstance(points, (int, np.integer)) or points < 1:
            raise ValueError(f"curve_points: must be an integer >= 1, got {points!r}")
        t0 = time.perf_counter()
        eval_features = self.front_end_.run(eval_set[0]).pooled
        eval_labels = np.asarray(eval_set[1])
        front_time = time.perf_counter() - t0
        total = len(y) * int(clf.get_params().get("epochs", 1))
        checkpoints = [int(b) for b in np.linspace(0, total, points + 1).astype(int)[1:]]
        curve: list[tuple[int, float]] = []
        busy, last = 0.0, (None, 0.0)

        def snapshot(seen: int) -> None:
            nonlocal busy, last
            t = time.perf_counter()
            pred = clf.predict(eval_features)
            curve.append((seen, float(np.mean(pred == eval_labels))))
            last = (pred, time.perf_counter() - t)
            busy += last[1]

        clf._fit(features, y, checkpoints, snapshot)
        self.learning_curve_ = curve
        # The last snapshot is the fitted model's prediction of the eval set (what
        # predict(eval_set[0]) returns), kept so a caller need not run it again.
        self._eval_prediction = (last[0], front_time + last[1])
        self._curve_time = front_time + busy
        return clf

    def _count_neurons(self, h: int, w: int) -> int:
        n_k, pp, qq = self.front_end_.output_shape(h, w)
        k, s = self.kernel_learner_.kernel_size, self.kernel_learner_.stride
        conv = n_k * ((h - k) // s + 1) * ((w - k) // s + 1)
        clf = self.classifier_
        per_copy = len(self.classes_) * (int(clf.microcolumns) + 2)
        return h * w + conv + n_k * pp * qq + int(clf.n_copies) * per_copy + len(self.classes_)

    # ------------------------------------------------------------------ inference
    def transform(self, images: np.ndarray) -> np.ndarray:
        """Pooled spike counts (N, n_kernels, P', Q') the classifier sees."""
        self._check_fitted()
        shape = getattr(self, "image_shape_", None)  # absent in folders saved before
        if shape is not None and isinstance(images, np.ndarray) and images.ndim == 3:
            if tuple(images.shape[1:]) != shape:
                raise DataError(
                    f"images: expected images of shape {shape} (as in fit), "
                    f"got {tuple(images.shape[1:])}"
                )
        return self.front_end_.run(images).pooled

    def predict(self, images: np.ndarray) -> np.ndarray:
        features = self.transform(images)
        return self.classifier_.predict(features)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        features = self.transform(images)
        return self.classifier_.predict_proba(features)

    def _check_fitted(self) -> None:
        check_fitted(self, "classifier_", "fit(images, y) or load(path)")

    def __sklearn_tags__(self) -> Any:
        return image_input_tags(super().__sklearn_tags__())

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> str:
        """Writes a folder with one file per stage plus ``csnn.json``; written to a
        temporary folder first and renamed into place."""
        self._check_fitted()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            self.kernel_learner_.save(tmp / "kernel_learner.npz")
            self.front_end_.save(tmp / "front_end.npz")
            self.classifier_.save(tmp / "classifier.npz")
            meta = {
                "format": _FORMAT,
                "format_version": _FORMAT_VERSION,
                "classifier": type(self.classifier_).__name__,
                "calibration_size": int(self.calibration_size),
                "random_state": self.seed_,
                "n_neurons_": int(self.n_neurons_),
                "backlog_fraction_": self.backlog_fraction_,
                "image_shape_": list(getattr(self, "image_shape_", ())) or None,
            }
            (tmp / "csnn.json").write_text(json.dumps(meta, indent=2))
            old = None
            if target.exists():
                old = target.with_name(f".{target.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(target, old)
            os.replace(tmp, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return str(target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CSNNClassifier:
        """Reads a folder written by :meth:`save`."""
        from .colanet.digital import DigitalCoLaNET
        from .colanet.spiking import CoLaNET
        from .conv_snn import ConvSNN
        from .kernel_learner import KernelLearner

        root = Path(path)
        try:
            meta = json.loads((root / "csnn.json").read_text())
        except FileNotFoundError:
            raise
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{root}: corrupt csnn.json ({exc})") from exc
        if meta.get("format") != _FORMAT or meta.get("format_version") != _FORMAT_VERSION:
            raise ValueError(f"{root}: not a {_FORMAT} v{_FORMAT_VERSION} folder")
        kinds = {"CoLaNET": CoLaNET, "DigitalCoLaNET": DigitalCoLaNET}
        if meta.get("classifier") not in kinds:
            raise ValueError(f"{root}: unknown classifier {meta.get('classifier')!r}")
        self = cls(calibration_size=meta["calibration_size"], random_state=meta["random_state"])
        self.kernel_learner_ = KernelLearner.load(root / "kernel_learner.npz")
        self.front_end_ = ConvSNN.load(root / "front_end.npz")
        self.classifier_ = kinds[meta["classifier"]].load(root / "classifier.npz")
        self.classes_ = self.classifier_.classes_
        self.seed_ = seed_from(self.random_state)
        if meta.get("image_shape_"):
            self.image_shape_ = tuple(int(v) for v in meta["image_shape_"])
            self.n_features_in_ = self.image_shape_[0] * self.image_shape_[1]
        self.n_neurons_ = int(meta["n_neurons_"])
        self.backlog_fraction_ = float(meta["backlog_fraction_"])
        return self
