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
import re
import secrets
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from ._util import persistence
from ._util.blocks import Reader
from ._util.estimator import (
    SnnconvEstimator,
    check_random_state_param,
    classification_targets,
    image_input_tags,
    seed_from,
)
from ._util.fitted import check_fitted
from .exceptions import (
    DataError,
    DataTypeError,
    ModelFileError,
    ModelFileNotFoundError,
    ParameterError,
    ParameterTypeError,
)
from .streaming import blocks, pooled_counts

_FORMAT = "snnconv.CSNNClassifier"
_FORMAT_VERSION = 2  # 2: versioned stages-* folder with SHA-256 per file; 1 still loads


#: Where the CSNN's classifier departs from CoLaNET's own defaults (Kiselev's settings
#: for raw MNIST pixels). The pooled counts of the front-end are read through a
#: population code of 3 Gaussian fields per count: with a rate code an absent feature
#: sends no spike and carries no evidence, with the fields it drives an input of its
#: own. Measured on three domains in docs/results.md (MNIST +1.1, Fashion-MNIST +3.4,
#: synthetic NEOVISION2 objects +0.6 points); applies to a classifier built by the
#: CSNN (``classifier=None`` or ``from_config``), not to a template passed in. The
#: drive stays that of raw MNIST (937 input spikes per example), with which those
#: gains were measured; CoLaNET's own population default (2,000) was set on tabular data.
#: A wider front-end (more kernels, several scales) raises it to 1.4 spikes per pooled
#: count: spread over more counts, 937 spikes left each too weak to vote. 1.78, the
#: drive per count of the one-size front-end on Fashion-MNIST, trains 2.4 times as long
#: as the one-size CSNN; 1.4 keeps training within twice that and inference under 1 ms
#: per image (docs/results.md, "Richer features").
#: Where the CSNN's kernel learner and front-end depart from their own defaults
#: (docs/algorithms.md §1, §2): kernels at two sizes, the §1 9 × 9 ones and 5 × 5 ones
#: learned beside them by the same rule (§1.7), each kernel on its own scale (§2.5), since
#: a 5 × 5 kernel gathers less input than a 9 × 9 one. Measured on three domains in
#: docs/results.md ("Richer features"); like ``CLASSIFIER_DEFAULTS`` they apply to the
#: stages the CSNN builds itself (``None``, or ``from_config``: the ``kernels`` and
#: ``conv_snn`` tables of ``snnconv run`` start from them), not to templates passed in.
LEARNER_DEFAULTS: dict[str, Any] = {"scales": (5,)}
FRONT_DEFAULTS: dict[str, Any] = {"scale_per_kernel": True}

CLASSIFIER_DEFAULTS: dict[str, Any] = {
    "encoding": "population",
    "population_size": 3,
    "target_spikes": 937.0,
    "drive_per_feature": 1.4,
}


def _clone(estimator: Any) -> Any:
    """A fresh, unfitted copy with the same parameters."""
    return type(estimator)(**estimator.get_params(deep=False))


class CSNNClassifier(ClassifierMixin, SnnconvEstimator):
    """Convolutional spiking classifier assembled from the three local learners.

    Input: images (N, H, W) (uint8 or floats in [0, 1]), all of the shape seen in
    ``fit``; labels of any type (ints, strings, ...).

    A fitted classifier pickles; ``sklearn.base.clone`` gives an unfitted one.

    Parameters
    ----------
    kernel_learner : KernelLearner or None, default=None
        A fitted one is used as it is; an unfitted one is cloned and fitted on the
        training images. None: a :class:`KernelLearner` with the docs/algorithms.md §1
        defaults and a second kernel size, ``scales=(5,)`` (``LEARNER_DEFAULTS``, §1.7).
    front_end : ConvSNN or None, default=None
        Template of the front-end; its ``kernels`` and ``stride`` are taken from the
        kernel learner. None: a :class:`ConvSNN` with the docs/algorithms.md §2 defaults
        and one scale per kernel, ``scale_per_kernel=True`` (``FRONT_DEFAULTS``).
    classifier : CoLaNET, DigitalCoLaNET or None, default=None
        Template of the classifier. None: :class:`CoLaNET` with its defaults except
        a population code of 3 fields per pooled count (``CLASSIFIER_DEFAULTS``).
    calibration_size : int, default=100
        Number of training images (a seeded sample) that set the front-end's scale
        (>= 1; all images when there are fewer). The scale only sets a mean firing
        rate over all conv neurons of the sample, which 100 images pin to within a
        few percent of what 1,000 give, and the accuracy does not move with it
        (docs/results.md); each image costs one simulation per bisection pass.
    random_state : None, int, numpy RandomState or Generator, default=0
        An int is used as the seed of every stage; from a ``RandomState`` or
        ``Generator`` one seed is drawn per ``fit`` (``seed_``). It seeds the default
        stages and the calibration sample; templates given explicitly keep their own.
    n_threads : int or None, default=None
        Threads of the default stages (None: all cores); templates given explicitly
        keep their own.
    progress : bool, default=False
        Show progress bars in the default stages (needs the ``progress`` extra).
    sensor_size : tuple or None, default=None
        ``(width, height, polarities)`` of an event camera, e.g. ``(34, 34, 2)``:
        needed to pass event streams (a list of structured arrays with fields ``x``,
        ``y``, ``t``, ``p``, as tonic gives) instead of images (docs/events.md).
    event_input : {"events", "image"}, default="events"
        How event streams enter. ``"events"``: each polarity is an input channel
        (``sensor_size[2]`` of them); the kernels are learned on the streams'
        event-count frames (uint8, ``event_scale_`` events mapped to 255, the scale
        taken on the training streams) and the front-end receives the events
        themselves as input spikes, time binned into its ``active_steps``
        (``ConvSNN.run_events``). ``"image"``: each stream is its event-count image,
        polarities summed, scaled on the training streams, rate-coded like any image.
    bin_width_us : float or None, default=None
        ``event_input="events"`` only: the time bin (µs) of one front-end step,
        counted from t = 0. None: the longest training stream fills the active steps
        (``bin_width_us_``).

    Attributes
    ----------
    kernel_learner_ : KernelLearner
        The fitted kernel learner.
    front_end_ : ConvSNN
        The calibrated front-end.
    classifier_ : CoLaNET or DigitalCoLaNET
        The trained classifier.
    classes_ : ndarray
        The class labels.
    n_neurons_ : int
        Input + conv + pooling + CoLaNET neurons.
    backlog_fraction_ : float
        Share of pooled spikes of the training set still held back at the end of the
        frame (see ``ConvSNN``).
    timings_ : dict
        Seconds per stage.
    image_shape_ : tuple
        (H, W) of the training images.
    n_features_in_ : int
        Pixels per image.
    seed_ : int
        The seed in use.
    """

    def __init__(
        self,
        kernel_learner: Any = None,
        front_end: Any = None,
        classifier: Any = None,
        calibration_size: int = 100,
        random_state: Any = 0,
        n_threads: int | None = None,
        progress: bool = False,
        sensor_size: tuple[int, int, int] | None = None,
        event_input: str = "events",
        bin_width_us: float | None = None,
    ) -> None:
        self.kernel_learner = kernel_learner
        self.front_end = front_end
        self.classifier = classifier
        self.calibration_size = calibration_size
        self.random_state = random_state
        self.n_threads = n_threads
        self.progress = progress
        self.sensor_size = sensor_size
        self.event_input = event_input
        self.bin_width_us = bin_width_us

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
            raise ParameterError(f"classifier.kind: must be spiking or digital, got {c.kind!r}")
        params = {**common, **CLASSIFIER_DEFAULTS, **c.params}
        return cls(
            learner,
            front,
            kinds[c.kind](**params),
            random_state=random_state,
            n_threads=n_threads,
            progress=progress,
        )

    def _check_stages(self) -> None:
        """Each stage is None (the default) or an estimator (``fit`` and
        ``get_params``), so a stray string is refused by name instead of failing deep
        inside ``fit``."""
        for name in ("kernel_learner", "front_end", "classifier"):
            v = getattr(self, name)
            if v is not None and not (hasattr(v, "fit") and hasattr(v, "get_params")):
                raise ParameterTypeError(
                    f"{name}: must be None or an estimator, got {type(v).__name__} {v!r:.60}"
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
        learner = self.kernel_learner or KernelLearner(**LEARNER_DEFAULTS, **common)
        front = self.front_end or ConvSNN(None, on_backlog="ignore", **FRONT_DEFAULTS, **common)
        clf = self.classifier or CoLaNET(**CLASSIFIER_DEFAULTS, **common)
        return learner, front, clf

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        images: Any,
        y: Any = None,
        eval_set: tuple[Any, Any] | None = None,
        curve_points: int = 5,
        curve_sample: int | None = 250,
    ) -> CSNNClassifier:
        """Learns kernels, calibrates the front-end and trains the classifier.

        With ``eval_set=(images, labels)`` the model is trained exactly as without it
        (same weights, same predictions) and its classifier is scored on the eval set at
        ``curve_points`` evenly spaced points of its one online pass:
        ``learning_curve_`` = [(training examples seen, accuracy), ...] (examples counted
        over all of the classifier's epochs; the last point is the fitted model).

        The intermediate points are scored on one seeded random sample of
        ``curve_sample`` eval examples (the same sample at every point; ``None`` or a
        sample at least as large as the eval set: all of it), the last point on the
        whole eval set. Scoring is inference, and CoLaNET's inference costs about as much
        per example as its training: scoring every point on a large eval set would cost
        more than the training it describes.

        Large inputs: ``images`` may be a ``numpy.memmap`` (uint8 or float64; read a
        block at a time, never copied whole), or, with ``y`` omitted, an iterable of
        ``(images, labels)`` batches (or a callable returning one). A stream is read
        once and written to a temporary file, then fitted exactly as the concatenated
        batches would be (docs/memory.md). The pooled counts of a large training set
        are kept in a temporary file rather than in memory (``snnconv.streaming``).
        """
        from ._util.blocks import is_batches, spool
        from ._util.images import as_stack, image_size, n_channels

        events = self._event_streams(images)
        if events is not None:
            images = self._event_frames(events, fitting=True)
        else:
            images = self._from_events(images, fitting=True)
        if is_batches(images, y):
            with spool(images, "images", lambda b: as_stack(b, "images", multichannel=True)) as sp:
                return self.fit(sp.X, sp.y, eval_set, curve_points, curve_sample)
        stack = as_stack(images, multichannel=True)
        if stack is None:
            raise DataTypeError("images: CSNNClassifier needs an array (N, H, W) or (N, C, H, W)")
        classification_targets(y, stack.shape[0])  # before the costly stages
        y = np.asarray(y).reshape(-1)
        check_random_state_param(self.random_state)
        if not isinstance(self.calibration_size, (int, np.integer)) or self.calibration_size < 1:
            raise ParameterError(
                f"calibration_size: must be an integer >= 1, got {self.calibration_size!r}"
            )
        self._check_stages()
        if eval_set is not None:
            eval_set = _check_eval_set(eval_set)
        self.seed_ = seed_from(self.random_state)
        learner, front, clf = self._templates()
        t0 = time.perf_counter()
        t1 = self._learn_front(stack, learner, front, events)
        if events is None:
            pooled, pooled_sum, backlog_sum = pooled_counts(self.front_end_, stack)
        else:
            pooled, pooled_sum, backlog_sum = self._event_counts(events)
        t2 = time.perf_counter()
        if eval_set is None:
            self.classifier_ = _clone(clf).fit(pooled, y)
        else:
            self.classifier_ = self._fit_with_curve(
                _clone(clf), pooled, y, eval_set, curve_points, curve_sample
            )
        del pooled
        t3 = time.perf_counter()
        curve_time = getattr(self, "_curve_time", 0.0) if eval_set is not None else 0.0
        self.backlog_fraction_ = backlog_sum / max(pooled_sum + backlog_sum, 1.0)
        self.timings_ = {
            "kernels": t1 - t0,
            "front_end": t2 - t1,
            "classifier": t3 - t2 - curve_time,
        }
        if eval_set is not None:
            self.timings_["learning_curve"] = curve_time
        self.classes_ = self.classifier_.classes_
        self.image_shape_ = image_size(stack)
        self.n_features_in_ = n_channels(stack) * self.image_shape_[0] * self.image_shape_[1]
        self.n_neurons_ = self._count_neurons(*self.image_shape_, n_channels(stack))
        return self

    def _learn_front(
        self, stack: np.ndarray, learner: Any, front: Any, events: list[np.ndarray] | None = None
    ) -> float:
        """Fits the kernels (unless the learner is fitted) and calibrates the front-end
        on ``stack`` (on ``events``, the streams ``stack`` holds the count frames of,
        when given); returns the time the kernels were done."""
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
        if events is None:
            # A memory map's rows are gathered a few 2 MiB regions at a time (_util.blocks).
            self.front_end_.fit(Reader(stack).gather(stack, sample))
        else:
            self.front_end_.calibrate_events(
                [events[i] for i in sample], self.sensor_size, self.bin_width_us_
            )
        return t1

    def partial_fit(self, images: np.ndarray, y: Any, classes: Any = None) -> CSNNClassifier:
        """Learns one more batch, as in a continual-learning stream.

        The first call learns the kernels (without labels) and calibrates the
        front-end on this batch's images only; both then stay fixed, so later batches
        change only the classifier, whose ``partial_fit`` sees their pooled counts.
        ``classes`` lists every label that will ever occur (default: this first batch's
        labels); a later label outside ``classes_`` raises
        :class:`~snnconv.exceptions.DataError`. ``timings_`` holds the last call's.
        """
        from ._util.images import as_stack, image_size, n_channels

        first = not hasattr(self, "classifier_")
        events = self._event_streams(images)
        if events is not None:
            images = self._event_frames(events, fitting=first)
        else:
            images = self._from_events(images, fitting=first)
        stack = as_stack(images, multichannel=True)
        if stack is None:
            raise DataTypeError("images: CSNNClassifier needs an array (N, H, W) or (N, C, H, W)")
        y = np.asarray(y).reshape(-1)
        if y.shape[0] != stack.shape[0]:
            raise DataError(f"y: expected {stack.shape[0]} labels, got {y.shape[0]}")
        t0 = time.perf_counter()
        if first:
            known = y if classes is None else np.asarray(classes).reshape(-1)
            classification_targets(known, known.shape[0])  # before the costly stages
            check_random_state_param(self.random_state)
            if (
                not isinstance(self.calibration_size, (int, np.integer))
                or self.calibration_size < 1
            ):
                raise ParameterError(
                    f"calibration_size: must be an integer >= 1, got {self.calibration_size!r}"
                )
            self.seed_ = seed_from(self.random_state)
            learner, front, clf = self._templates()
            t1 = self._learn_front(stack, learner, front, events)
            self.image_shape_ = image_size(stack)
            self.n_features_in_ = n_channels(stack) * self.image_shape_[0] * self.image_shape_[1]
        else:
            t1 = t0
            self._check_shape(stack)
        if events is None:
            counts, pooled_sum, backlog_sum = pooled_counts(self.front_end_, stack)
        else:
            counts, pooled_sum, backlog_sum = self._event_counts(events)
        t2 = time.perf_counter()
        if first:
            self.classifier_ = _clone(clf).partial_fit(counts, y, classes=known)
            self.classes_ = self.classifier_.classes_
            self.n_neurons_ = self._count_neurons(*self.image_shape_, n_channels(stack))
            self.backlog_fraction_ = backlog_sum / max(pooled_sum + backlog_sum, 1.0)
        else:
            self.classifier_.partial_fit(counts, y)
        t3 = time.perf_counter()
        self.timings_ = {"kernels": t1 - t0, "front_end": t2 - t1, "classifier": t3 - t2}
        return self

    def _fit_with_curve(
        self,
        clf: Any,
        features: np.ndarray,
        y: np.ndarray,
        eval_set: tuple[Any, Any],
        points: int,
        sample: int | None,
    ) -> Any:
        # Snapshots of the one training pass: the classifier learns exactly as without
        # eval_set and is scored on the eval set after each checkpoint.
        if not isinstance(points, (int, np.integer)) or points < 1:
            raise ParameterError(f"curve_points: must be an integer >= 1, got {points!r}")
        if sample is not None and (not isinstance(sample, (int, np.integer)) or sample < 1):
            raise ParameterError(f"curve_sample: must be None or an integer >= 1, got {sample!r}")
        t0 = time.perf_counter()
        eval_features = self._features(eval_set[0])
        eval_labels = np.asarray(eval_set[1])
        front_time = time.perf_counter() - t0
        n_eval = len(eval_labels)
        if sample is None or sample >= n_eval:
            part = np.arange(n_eval)
        else:
            # Its own stream (not the calibration sample's), sorted to keep eval order.
            part = np.sort(np.random.default_rng([self.seed_, 1]).choice(n_eval, sample, False))
        total = len(y) * int(clf.get_params().get("epochs", 1))
        if points > total:
            raise ParameterError(
                f"curve_points: must be in [1, {total}] (the training examples seen over "
                f"all epochs), got {points}"
            )
        checkpoints = [int(b) for b in np.linspace(0, total, points + 1).astype(int)[1:]]
        curve: list[tuple[int, float]] = []
        busy, last = 0.0, (None, 0.0)

        def snapshot(seen: int) -> None:
            nonlocal busy, last
            t = time.perf_counter()
            if seen == checkpoints[-1]:
                pred = clf.predict(eval_features)
                curve.append((seen, float(np.mean(pred == eval_labels))))
                last = (pred, time.perf_counter() - t)
            else:
                pred = clf.predict(eval_features[part])
                curve.append((seen, float(np.mean(pred == eval_labels[part]))))
            busy += time.perf_counter() - t

        clf._fit(features, y, checkpoints, snapshot)
        self.learning_curve_ = curve
        # The last snapshot is the fitted model's prediction of the eval set (what
        # predict(eval_set[0]) returns), kept so a caller need not run it again.
        self._eval_prediction = (last[0], front_time + last[1])
        self._curve_time = front_time + busy
        return clf

    def _count_neurons(self, h: int, w: int, c: int = 1) -> int:
        n_k, pp, qq = self.front_end_.output_shape(h, w)
        k, s = self.kernel_learner_.kernel_size, self.kernel_learner_.stride
        conv = n_k * ((h - k) // s + 1) * ((w - k) // s + 1)
        clf = self.classifier_
        per_copy = len(self.classes_) * (int(clf.microcolumns) + 2)
        return c * h * w + conv + n_k * pp * qq + int(clf.n_copies) * per_copy + len(self.classes_)

    # ------------------------------------------------------------------ inference
    def transform(self, images: np.ndarray) -> np.ndarray:
        """Pooled spike counts (N, n_kernels, P', Q') the classifier sees."""
        self._check_fitted()
        events = self._event_streams(images)
        if events is not None:
            return self._event_counts(events)[0]
        images = self._from_events(images, fitting=False)
        self._check_shape(images)
        return self.front_end_.run(images).pooled

    def _features(self, images: Any) -> np.ndarray:
        """The front-end's pooled counts of ``images`` (or streams) during ``fit``,
        before the classifier exists."""
        events = self._event_streams(images)
        if events is not None:
            return self._event_counts(events)[0]
        return self.front_end_.run(self._from_events(images, fitting=False)).pooled

    def _check_shape(self, images: Any) -> None:
        self._check_fitted()
        shape = getattr(self, "image_shape_", None)  # absent in folders saved before
        if shape is not None and isinstance(images, np.ndarray) and images.ndim in (3, 4):
            if tuple(images.shape[-2:]) != shape:
                raise DataError(
                    f"images: expected images of shape {shape} (as in fit), "
                    f"got {tuple(images.shape[-2:])}"
                )

    def _by_blocks(self, images: Any, fn: Any) -> np.ndarray:
        """``fn(pooled counts)`` of consecutive blocks of images, concatenated: the
        counts of a large set are never held at once (the same values as one run)."""
        from ._util.images import as_stack

        events = self._event_streams(images)
        if events is not None:
            step = 4096  # streams per block: their counts and raster indices stay small
            return np.concatenate(
                [
                    fn(self._event_counts(events[i : i + step])[0])
                    for i in range(0, len(events), step)
                ]
            )
        images = self._from_events(images, fitting=False)
        self._check_shape(images)
        stack = as_stack(images, multichannel=True)
        if stack is None:  # a stream of frames: run as before
            return fn(self.front_end_.run(images).pooled)
        return np.concatenate([fn(part.pooled) for part in blocks(self.front_end_, stack)])

    def predict(self, images: np.ndarray) -> np.ndarray:
        self._check_fitted()  # before classifier_ is looked up
        return self._by_blocks(images, self.classifier_.predict)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        self._check_fitted()
        return self._by_blocks(images, self.classifier_.predict_proba)

    def _event_mode(self) -> str:
        from .events.input import EVENT_INPUTS

        if self.event_input not in EVENT_INPUTS:
            raise ParameterError(
                f"event_input: must be one of {', '.join(map(repr, EVENT_INPUTS))}, "
                f"got {self.event_input!r}"
            )
        return str(self.event_input)

    def _event_streams(self, x: Any) -> list[np.ndarray] | None:
        """``x`` as a list of event streams when it is event input and the events
        enter the front-end as spikes (``event_input="events"``); else None."""
        from .events.input import as_streams, is_event_input

        if not is_event_input(x) or self._event_mode() != "events":
            return None
        if self.sensor_size is None:
            raise ParameterError(
                "sensor_size: event streams need the sensor's (width, height, polarities), "
                "e.g. (34, 34, 2) for N-MNIST"
            )
        return as_streams(x)

    def _event_frames(self, events: list[np.ndarray], fitting: bool) -> np.ndarray:
        """The streams' uint8 event-count frames (N, P, H, W) the kernels are learned
        on; when fitting, also sets ``event_scale_`` and ``bin_width_us_``."""
        from .events.input import default_bin_width, event_frames

        frames, scale = event_frames(
            events, self.sensor_size, None if fitting else self.event_scale_
        )
        if fitting:
            self.event_scale_ = scale
            bw = self.bin_width_us
            if bw is None:
                steps = self._templates_front_steps()
                bw = default_bin_width(events, steps)
            elif (
                isinstance(bw, bool)
                or not isinstance(bw, (int, float, np.number))
                or not (np.isfinite(bw) and bw > 0)
            ):
                raise ParameterError(f"bin_width_us: must be None or a number > 0, got {bw!r}")
            self.bin_width_us_ = float(bw)
        return frames

    def _templates_front_steps(self) -> int:
        """``active_steps`` of the front-end that will run (its template's)."""
        from .conv_snn import ConvSNN

        front = self.front_end if self.front_end is not None else ConvSNN
        if front is ConvSNN:
            import inspect

            return int(inspect.signature(ConvSNN).parameters["active_steps"].default)
        return int(front.get_params(deep=False)["active_steps"])

    def _event_counts(self, events: list[np.ndarray]) -> tuple[np.ndarray, float, float]:
        """(pooled counts, their total, the backlog's total) of event streams run as
        input spikes."""
        out = self.front_end_.run_events(events, self.sensor_size, self.bin_width_us_)
        return (
            out.pooled,
            float(out.pooled.sum(dtype=np.uint64)),
            float(out.backlog.sum(dtype=np.uint64)),
        )

    def _from_events(self, x: Any, fitting: bool) -> Any:
        """Event streams → their count images (the training scale kept), for
        ``event_input="image"``; other input unchanged."""
        from .events.input import event_images, is_event_input

        if not is_event_input(x):
            return x
        scale = None if fitting else getattr(self, "event_scale_", None)
        images, scale = event_images(x, self.sensor_size, scale)
        if fitting:
            self.event_scale_ = scale
        return images

    def _check_fitted(self) -> None:
        check_fitted(self, "classifier_", "fit(images, y) or load(path)")

    def __sklearn_tags__(self) -> Any:
        return image_input_tags(super().__sklearn_tags__())

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> str:
        """Writes a folder: ``csnn.json`` plus one ``.npz`` per stage in a versioned
        sub-folder ``stages-*`` that ``csnn.json`` names with the files' SHA-256.

        The model becomes visible in one rename: a new folder is written complete
        under a temporary name and renamed into place (target absent or an empty
        folder); over an existing CSNNClassifier folder the new stages go to a fresh
        ``stages-*`` sub-folder and ``csnn.json`` is replaced atomically, after which
        the old stages are deleted. A crash at any point leaves the old or the new
        model loadable. Anything else at ``path`` (a file, an unrelated folder) raises
        FileExistsError and is left untouched, unless ``overwrite=True``.
        """
        self._check_fitted()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        state = _folder_state(target)
        if state == "other" and not overwrite:
            raise persistence.refuse(
                target, "exists and is not an snnconv CSNNClassifier folder (no csnn.json)"
            )
        persistence.clean_stale(target.parent, target.name)
        persistence.clean_legacy(target.parent, target.name)
        if state == "model":
            self._save_into(target)
        else:
            self._save_fresh(target, replace_other=state == "other")
        return str(target)

    def _meta(self, stages: str, files: dict[str, str]) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "classifier": type(self.classifier_).__name__,
            "calibration_size": int(self.calibration_size),
            "random_state": int(self.seed_),  # the seed in use, whatever its source
            "n_neurons_": int(self.n_neurons_),
            "backlog_fraction_": float(self.backlog_fraction_),
            "image_shape_": list(getattr(self, "image_shape_", ())) or None,
            "sensor_size": None if self.sensor_size is None else list(self.sensor_size),
            "event_scale_": getattr(self, "event_scale_", None),
            "event_input": self.event_input,
            "bin_width_us_": getattr(self, "bin_width_us_", None),
            "bin_width_us": self.bin_width_us,
            "stages": stages,
            "files": files,
        }

    def _write_stages(self, folder: Path) -> dict[str, str]:
        folder.mkdir()
        stages = (self.kernel_learner_, self.front_end_, self.classifier_)
        files = {}
        for name, est in zip(_STAGE_FILES, stages, strict=True):
            est.save(folder / name)
            persistence._step(f"csnn-stage-{name}")
            files[name] = persistence.sha256_file(folder / name)
        persistence.fsync_dir(folder)
        return files

    def _write_json(self, folder: Path, stages: str, files: dict[str, str]) -> None:
        target = folder / _JSON
        with persistence.temp_file(target) as (fd, tmp):
            with os.fdopen(os.dup(fd), "w", encoding="utf-8") as fh:
                json.dump(self._meta(stages, files), fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            persistence._step("csnn-json-written")
            os.replace(tmp, target)
        persistence.fsync_dir(folder)

    def _save_fresh(self, target: Path, replace_other: bool) -> None:
        """Target absent, an empty folder or (overwrite=True) something else."""
        tmp = Path(tempfile.mkdtemp(prefix=persistence.tmp_prefix(target), dir=target.parent))
        aside = None
        try:
            persistence.publish_mode(tmp, directory=True)
            stages = _stage_dir_name()
            files = self._write_stages(tmp / stages)
            self._write_json(tmp, stages, files)
            persistence._step("csnn-fresh-complete")
            if replace_other:
                aside = target.with_name(persistence.tmp_prefix(target) + "old")
                os.rename(target, aside)
                persistence._step("csnn-other-moved-aside")
            try:
                os.replace(tmp, target)
            except BaseException:
                if aside is not None:
                    os.rename(aside, target)
                    aside = None
                raise
            persistence.fsync_dir(target.parent)
        finally:
            persistence.remove_path(tmp)
            if aside is not None:
                persistence.remove_path(aside)

    def _save_into(self, target: Path) -> None:
        """Target is a CSNNClassifier folder: new stages beside the old ones, then
        ``csnn.json`` swapped in one rename (the commit point)."""
        old = _read_json(target)
        old_stages = old.get("stages") if isinstance(old.get("stages"), str) else None
        _clean_stale_stages(target, old_stages)
        stages = _stage_dir_name()
        committed = False
        try:
            files = self._write_stages(target / stages)
            self._write_json(target, stages, files)
            committed = True
        finally:
            if not committed:
                persistence.remove_path(target / stages)
        try:
            persistence._step("csnn-committed")
        finally:  # the new model is visible: the old stages go, whatever happens
            if old_stages is not None and _STAGES_RE.match(old_stages) and old_stages != stages:
                persistence.remove_path(target / old_stages)
            else:  # format version 1: the stages lay in the folder itself
                for name in _STAGE_FILES:
                    (target / name).unlink(missing_ok=True)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CSNNClassifier:
        """Reads a folder written by :meth:`save`, verifying ``csnn.json``, the stage
        files' SHA-256 (format version 2) and the consistency of the stages. Stage
        files must be regular files inside the folder (no symlinks)."""
        from .colanet.digital import DigitalCoLaNET
        from .colanet.spiking import CoLaNET
        from .conv_snn import ConvSNN
        from .kernel_learner import KernelLearner

        root = Path(path)
        if not root.is_dir():
            if not root.exists():
                raise ModelFileNotFoundError(f"{root}: no such CSNNClassifier folder")
            raise ModelFileError(f"{root}: not a folder; a CSNNClassifier is saved as a folder")
        meta = _read_json(root)
        where = root / _JSON
        if meta.get("format") != _FORMAT:
            raise ModelFileError(f"{where}: format: holds {meta.get('format')!r}, not {_FORMAT!r}")
        version = meta.get("format_version")
        if version not in (1, 2) or isinstance(version, bool):
            raise ModelFileError(
                f"{where}: format_version {version!r} is not supported (this snnconv reads 1..2)"
            )
        kinds = {"CoLaNET": CoLaNET, "DigitalCoLaNET": DigitalCoLaNET}
        if not isinstance(meta.get("classifier"), str) or meta["classifier"] not in kinds:
            raise ModelFileError(f"{where}: classifier: unknown {meta.get('classifier')!r}")
        folder = root
        files: dict[str, Any] = {}
        if version >= 2:
            stages = meta.get("stages")
            if not isinstance(stages, str) or not _STAGES_RE.match(stages):
                raise ModelFileError(f"{where}: stages: not a stages-* folder name: {stages!r}")
            folder = root / stages
            _check_inside(root, folder, is_dir=True)
            files = meta.get("files")  # type: ignore[assignment]
            if not isinstance(files, dict) or set(files) != set(_STAGE_FILES):
                raise ModelFileError(f"{where}: files: must list {list(_STAGE_FILES)}")
        for name in _STAGE_FILES:
            _check_inside(root, folder / name, is_dir=False)
            if version >= 2 and persistence.sha256_file(folder / name) != files[name]:
                raise ModelFileError(
                    f"{folder / name}: SHA-256 differs from csnn.json files.{name} "
                    f"(altered or from another model)"
                )
        with persistence.reading(where, "CSNNClassifier"):
            required = {"format", "format_version", "classifier", "calibration_size"}
            required |= {"random_state", "n_neurons_", "backlog_fraction_"}
            if version >= 2:  # image_shape_, stages and files came with version 2
                required |= {"image_shape_", "stages", "files"}
            # sensor_size and event_scale_ came with event input, event_input and the
            # bin widths with events as input spikes; older folders lack them (and
            # their event input was the count image).
            optional = frozenset(
                {
                    "image_shape_",
                    "sensor_size",
                    "event_scale_",
                    "event_input",
                    "bin_width_us_",
                    "bin_width_us",
                }
            )
            persistence._exact_keys("metadata", meta, required, optional)
            calibration_size = persistence.field_int(meta, "calibration_size", 1, 2**62)
            random_state = persistence.field_int(meta, "random_state", 0, 2**63 - 1)
            n_neurons = persistence.field_int(meta, "n_neurons_", 1, 2**62)
            backlog = persistence.field_float(
                meta, "backlog_fraction_", lambda v: 0 <= v <= 1, "in [0, 1]"
            )
            sensor_size, event_scale = _event_fields(meta)
            event_input, bin_width, bin_width_fitted = _event_input_fields(meta)
        self = cls(
            calibration_size=calibration_size,
            random_state=random_state,
            sensor_size=sensor_size,
            event_input=event_input,
            bin_width_us=bin_width,
        )
        if event_scale is not None:
            self.event_scale_ = event_scale
        if bin_width_fitted is not None:
            self.bin_width_us_ = bin_width_fitted
        self.kernel_learner_ = KernelLearner.load(folder / "kernel_learner.npz")
        self.front_end_ = ConvSNN.load(folder / "front_end.npz")
        self.classifier_ = kinds[meta["classifier"]].load(folder / "classifier.npz")
        _check_stages(folder, self.kernel_learner_, self.front_end_, self.classifier_)
        self.classes_ = self.classifier_.classes_
        self.seed_ = seed_from(self.random_state)
        if version >= 2 or "image_shape_" in meta:
            with persistence.reading(where, "CSNNClassifier"):
                self.image_shape_ = persistence.field_image_shape(meta)
                kern = self.kernel_learner_.kernels_
                c = int(kern.shape[1]) if kern.ndim == 4 else 1  # input channels
                self.n_features_in_ = c * self.image_shape_[0] * self.image_shape_[1]
                h, w = self.image_shape_
                k = self.kernel_learner_.kernel_size
                if h < k or w < k or self._count_neurons(h, w, c) != n_neurons:
                    raise ModelFileError(
                        f"image_shape_: {h}x{w} images do not give the n_neurons_ = "
                        f"{n_neurons} recorded with the stages"
                    )
        self.n_neurons_ = n_neurons
        self.backlog_fraction_ = backlog
        return self


def _event_fields(meta: dict[str, Any]) -> tuple[tuple[int, int, int] | None, float | None]:
    """``sensor_size`` and ``event_scale_`` of csnn.json (absent in older folders)."""
    size, scale = meta.get("sensor_size"), meta.get("event_scale_")
    if size is not None:
        if not (
            isinstance(size, list)
            and len(size) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size)
        ):
            raise ModelFileError(f"sensor_size: must be 3 positive integers, got {size!r}")
        size = tuple(size)
    if scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise ModelFileError(f"event_scale_: must be a number > 0, got {scale!r}")
        scale = float(scale)
    return size, scale


def _event_input_fields(meta: dict[str, Any]) -> tuple[str, float | None, float | None]:
    """``event_input``, ``bin_width_us`` and ``bin_width_us_`` of csnn.json; folders
    written before events entered as spikes used the count image."""
    from .events.input import EVENT_INPUTS

    mode = meta.get("event_input", "image")
    if mode not in EVENT_INPUTS:
        raise ModelFileError(f"event_input: must be one of {list(EVENT_INPUTS)}, got {mode!r}")
    widths = []
    for key in ("bin_width_us", "bin_width_us_"):
        v = meta.get(key)
        if v is not None and (
            isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 < v < float("inf"))
        ):
            raise ModelFileError(f"{key}: must be null or a number > 0, got {v!r}")
        widths.append(None if v is None else float(v))
    return str(mode), widths[0], widths[1]


_JSON = "csnn.json"
_STAGE_FILES = ("kernel_learner.npz", "front_end.npz", "classifier.npz")
_STAGES_RE = re.compile(r"^stages-(\d+)-[A-Za-z0-9_]+$")


def _stage_dir_name() -> str:
    return f"stages-{os.getpid()}-{secrets.token_hex(6)}"


def _folder_state(target: Path) -> str:
    """'absent', 'empty' (an empty folder), 'model' (a CSNNClassifier folder) or 'other'."""
    if not os.path.lexists(target):
        return "absent"
    if target.is_symlink() or not target.is_dir():
        return "other"
    if not any(target.iterdir()):
        return "empty"
    try:
        meta = _read_json(target)
    except (ModelFileError, OSError):
        return "other"
    return "model" if meta.get("format") == _FORMAT else "other"


def _read_json(root: Path) -> dict[str, Any]:
    where = root / _JSON
    _check_inside(root, where, is_dir=False)
    try:
        raw = where.read_bytes() if where.stat().st_size <= (1 << 20) else None
    except OSError as exc:
        raise ModelFileError(f"{where}: unreadable ({exc})") from exc
    if raw is None:
        raise ModelFileError(f"{where}: larger than 1 MiB; not a csnn.json")
    return persistence.parse_json(raw, str(where))


def _check_inside(root: Path, p: Path, is_dir: bool) -> None:
    """``p`` (a name inside ``root``, fixed or checked against a pattern by the caller)
    must be a regular file or folder, not a symlink: nothing is followed out of the
    model folder."""
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        raise ModelFileError(f"{p}: missing from the CSNNClassifier folder") from None
    ok = stat.S_ISDIR(st.st_mode) if is_dir else stat.S_ISREG(st.st_mode)
    if not ok:
        kind = "a symlink" if stat.S_ISLNK(st.st_mode) else "not a regular entry"
        raise ModelFileError(f"{p}: is {kind}; model folders hold only regular files")


def _clean_stale_stages(target: Path, keep: str | None) -> None:
    """Stage folders of killed saves (not named by csnn.json, process gone)."""
    for entry in target.iterdir():
        m = _STAGES_RE.match(entry.name)
        if m and entry.name != keep and not persistence._pid_alive(int(m.group(1))):
            persistence.remove_path(entry)
    persistence.clean_stale(target, _JSON)


def _check_stages(folder: Path, learner: Any, front: Any, clf: Any) -> None:
    """Kernel count = front-end channels = a divisor of the classifier's features."""
    n_k = learner.kernels_.shape[0]
    if front.kernels_.shape != learner.kernels_.shape or not np.allclose(
        front.kernels_, learner.kernels_
    ):
        raise ModelFileError(
            f"{folder / 'front_end.npz'}: kernels: {front.kernels_.shape[0]} kernels that differ "
            f"from the kernel learner's {n_k} (stages from different models)"
        )
    if int(front.stride) != int(learner.stride):
        raise ModelFileError(
            f"{folder / 'front_end.npz'}: stride differs from the kernel learner's"
        )
    if n_k == 0 or clf.n_features_in_ % n_k:
        raise ModelFileError(
            f"{folder / 'classifier.npz'}: n_features_in_: {clf.n_features_in_} features are "
            f"not a whole number of maps of the {n_k} front-end channels (stages from different "
            f"models)"
        )


def _check_eval_set(eval_set: Any) -> tuple[Any, np.ndarray]:
    """``eval_set`` as (images, labels) with one label per image."""
    from ._util.images import as_stack
    from .events.input import as_streams, is_event_input

    if not isinstance(eval_set, (tuple, list)) or len(eval_set) != 2:
        raise ParameterTypeError("eval_set: must be a pair (images, labels)")

    if is_event_input(eval_set[0]):
        stack = as_streams(eval_set[0])
        n = len(stack)
    else:
        stack = as_stack(eval_set[0], "eval_set[0]", multichannel=True)
        if stack is None:
            raise DataTypeError("eval_set[0]: expected an array of images (N, H, W)")
        n = stack.shape[0]
    labels = np.asarray(eval_set[1])
    if labels.ndim != 1 or len(labels) != n:
        raise DataError(
            f"eval_set[1]: expected {n} labels (one per image), got shape {labels.shape}"
        )
    return stack, labels
