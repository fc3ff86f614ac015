"""The methods an experiment compares, behind one calling convention.

Each method trains on one split and evaluates on the other, reporting accuracy,
predictions, wall times and a neuron count. Methods whose optional dependency is
missing report themselves unavailable instead of failing the run.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import ExperimentConfig


@dataclass
class MethodResult:
    accuracy: float
    predictions: np.ndarray
    train_time: float
    infer_time_per_image: float
    neurons: int
    extra: dict[str, Any] = field(default_factory=dict)
    #: arrays for figures (kernels, rasters, learning curve); not written to JSON
    artifacts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Split:
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    #: event data only: the samples' event streams (``*_images`` are their count
    #: images) and the sensor's (width, height, polarities)
    train_events: list[np.ndarray] | None = None
    test_events: list[np.ndarray] | None = None
    sensor_size: tuple[int, int, int] | None = None


Runner = Callable[[ExperimentConfig, Split, int, int], MethodResult]


def _timed(
    model: Any,
    split: Split,
    neurons: int,
    extra: dict[str, Any] | None = None,
    fit_kwargs: dict[str, Any] | None = None,
) -> MethodResult:
    t0 = time.perf_counter()
    model.fit(split.train_images, split.train_labels, **(fit_kwargs or {}))
    t1 = time.perf_counter()
    pred = np.asarray(model.predict(split.test_images))
    t2 = time.perf_counter()
    return MethodResult(
        accuracy=float(np.mean(pred == split.test_labels)),
        predictions=pred,
        train_time=t1 - t0,
        infer_time_per_image=(t2 - t1) / max(1, len(split.test_labels)),
        neurons=neurons,
        extra=extra or {},
    )


def _kernel_learner(cfg: ExperimentConfig, seed: int, threads: int) -> Any:
    from ..kernel_learner import KernelLearner

    return KernelLearner(**dataclasses.asdict(cfg.kernels), random_state=seed, n_threads=threads)


def run_probe(cfg: ExperimentConfig, split: Split, seed: int, threads: int) -> MethodResult:
    """Learned kernels, ReLU + sum pooling, logistic regression: the non-spiking
    upper reference for what the kernels make linearly separable."""
    from .probe import fit_probe, relu_pool_features

    t0 = time.perf_counter()
    kl = _kernel_learner(cfg, seed, threads).fit(split.train_images)
    f_train = relu_pool_features(kl.transform(split.train_images), cfg.conv_snn.pool)
    probe = fit_probe(f_train, split.train_labels)
    t1 = time.perf_counter()
    f_test = relu_pool_features(kl.transform(split.test_images), cfg.conv_snn.pool)
    pred = probe.predict(f_test)
    t2 = time.perf_counter()
    return MethodResult(
        accuracy=float(np.mean(pred == split.test_labels)),
        predictions=pred,
        train_time=t1 - t0,
        infer_time_per_image=(t2 - t1) / len(split.test_labels),
        neurons=0,
        extra={"kernels": int(kl.kernels_.shape[0])},
        artifacts={"kernels": kl.kernels_},
    )


def _csnn(cfg: ExperimentConfig, seed: int, threads: int) -> Any:
    from ..csnn import CSNNClassifier

    return CSNNClassifier.from_config(cfg, random_state=seed, n_threads=threads)


def run_csnn(cfg: ExperimentConfig, split: Split, seed: int, threads: int) -> MethodResult:
    """The CSNN on the split's images, or on its event streams when it has them (each
    polarity an input channel, the events as input spikes: ``event_input="events"``)."""
    model = _csnn(cfg, seed, threads)
    x_train, x_test = split.train_images, split.test_images
    events = split.train_events is not None
    if events:
        model.set_params(sensor_size=split.sensor_size, event_input="events")
        x_train, x_test = split.train_events, split.test_events
    t0 = time.perf_counter()
    if cfg.run.learning_curve:
        # Snapshots of the one training pass, scored on the test split (the scoring
        # time, timings_["learning_curve"], is left out of the training time).
        model.fit(
            x_train,
            split.train_labels,
            eval_set=(x_test, split.test_labels),
            curve_sample=cfg.run.curve_sample or None,
        )
    else:
        model.fit(x_train, split.train_labels)
    t1 = time.perf_counter()
    if cfg.run.learning_curve:
        # The curve's last snapshot scored the fitted model on the test split: its
        # predictions and their time (front-end pass + classifier) are the inference.
        pred, infer_time = model._eval_prediction
    else:
        pred = model.predict(x_test)
        infer_time = time.perf_counter() - t1
    artifacts: dict[str, Any] = {"kernels": model.kernel_learner_.kernels_}
    rasters: dict[str, Any] = {}
    if not events:  # the front-end's recording of one frame takes an image
        frame = model.front_end_.simulate(x_test[0])
        rasters = {k: frame[k] for k in ("input", "conv", "pool")}
    if hasattr(model.classifier_, "trace"):
        # CoLaNET's own frame for the same sample (its input is the pooled counts).
        trace = model.classifier_.trace(model.transform(x_test[:1])[0])
        rasters["CoLaNET L (copy 0)"] = trace["spike"] > 0
        rasters["CoLaNET OUT"] = trace["out"] > 0
    if rasters:
        artifacts["rasters"] = rasters
    if cfg.run.learning_curve:
        sizes, accs = zip(*model.learning_curve_, strict=True)
        artifacts["learning_curve"] = (list(sizes), list(accs))
    return MethodResult(
        accuracy=float(np.mean(pred == split.test_labels)),
        predictions=pred,
        train_time=t1 - t0 - model.timings_.get("learning_curve", 0.0),
        infer_time_per_image=infer_time / len(split.test_labels),
        neurons=model.n_neurons_,
        extra={
            **_input_record(model, events),
            "kernels": int(model.kernel_learner_.kernels_.shape[0]),
            "scale": np.asarray(model.front_end_.scale_).tolist(),
            "backlog_fraction": model.backlog_fraction_,
            "stage_times_s": model.timings_,
        },
        artifacts=artifacts,
    )


def _input_record(model: Any, events: bool) -> dict[str, Any]:
    """What the CSNN got: ``"events"`` (with the input channels, the bin width and
    the count scale of its kernels' frames) or ``"image"``."""
    if not events:
        return {"input": "image"}
    kernels = model.kernel_learner_.kernels_
    return {
        "input": "events",
        "input_channels": int(kernels.shape[1]) if kernels.ndim == 4 else 1,
        "bin_width_us": float(model.bin_width_us_),
        "event_scale": float(model.event_scale_),
    }


def _raw_colanet(kind: str) -> Runner:
    def run(cfg: ExperimentConfig, split: Split, seed: int, threads: int) -> MethodResult:
        from ..colanet.digital import DigitalCoLaNET
        from ..colanet.spiking import CoLaNET

        cls = CoLaNET if kind == "spiking" else DigitalCoLaNET
        params = {"random_state": seed, "n_threads": threads, **cfg.classifier.params}
        model = cls(**params)
        n_in = int(np.prod(split.train_images.shape[1:]))
        classes = len(np.unique(split.train_labels))
        neurons = n_in + int(model.n_copies) * classes * (int(model.microcolumns) + 2) + classes
        flat = Split(
            split.train_images.reshape(len(split.train_labels), -1),
            split.train_labels,
            split.test_images.reshape(len(split.test_labels), -1),
            split.test_labels,
        )
        return _timed(model, flat, neurons)

    return run


def _cnn(kind: str) -> Runner:
    def run(cfg: ExperimentConfig, split: Split, seed: int, threads: int) -> MethodResult:
        from ..baselines import cnn

        cls = getattr(cnn, kind.upper())
        model = cls(
            epochs=cfg.baselines.cnn_epochs or None,
            backend=cfg.baselines.cnn_backend,
            random_state=seed,
            n_threads=threads,
        )
        # neurons: units of every layer after the input (conv maps, pooled maps, outputs)
        shape = split.train_images.shape[1:]
        return _timed(model, split, _cnn_units(kind, shape, len(np.unique(split.train_labels))))

    return run


def _cnn_units(kind: str, shape: tuple[int, ...], classes: int) -> int:
    h, w = shape
    if kind == "cnn1":
        c1 = (h - 3, w - 3)  # conv 4x4 stride 1
        p1 = (c1[0] // 2, c1[1] // 2)
        c2 = (p1[0] - 2, p1[1] - 2)  # conv 3x3
        p2 = (c2[0] // 2, c2[1] // 2)
        return 32 * (c1[0] * c1[1] + p1[0] * p1[1]) + 64 * (c2[0] * c2[1] + p2[0] * p2[1]) + classes
    c1 = ((h - 9) // 2 + 1, (w - 9) // 2 + 1)  # conv 9x9 stride 2
    p1 = (c1[0] // 2, c1[1] // 2)
    return 28 * (c1[0] * c1[1] + p1[0] * p1[1]) + classes


def _ulsnn(n: int) -> Runner:
    def run(cfg: ExperimentConfig, split: Split, seed: int, threads: int) -> MethodResult:
        from ..baselines.ulsnn import ULSNN

        model = ULSNN(
            n_neurons=n,
            time=cfg.baselines.ulsnn_time,
            epochs=cfg.baselines.ulsnn_epochs,
            random_state=seed,
            n_threads=threads,
        )
        inputs = int(np.prod(split.train_images.shape[1:]))
        return _timed(model, split, inputs + 2 * n)

    return run


METHODS: dict[str, tuple[str, Runner, str | None]] = {
    # name: (label in tables, runner, module that must be importable)
    "csnn": ("CSNN (kernels + spiking front-end + CoLaNET)", run_csnn, None),
    "colanet": ("CoLaNET on raw pixels (no kernels)", _raw_colanet("spiking"), None),
    "digital": ("Digital CoLaNET on raw pixels", _raw_colanet("digital"), None),
    "probe": ("Kernel features + logistic regression", run_probe, "sklearn"),
    "cnn1": ("CNN1", _cnn("cnn1"), None),
    "cnn2": ("CNN2", _cnn("cnn2"), None),
    "ulsnn100": ("ULSNN, 100 neurons (Diehl & Cook)", _ulsnn(100), None),
    "ulsnn400": ("ULSNN, 400 neurons (Diehl & Cook)", _ulsnn(400), None),
}


def unavailable_reason(name: str) -> str | None:
    """Why method ``name`` cannot run here, or None if it can."""
    if name not in METHODS:
        return f"unknown method (known: {', '.join(METHODS)})"
    module = METHODS[name][2]
    if module and importlib.util.find_spec(module) is None:
        return f"needs the optional package {module!r}"
    try:
        if name == "csnn":
            from .. import csnn  # noqa: F401
        elif name.startswith(("cnn", "ulsnn")):
            from .. import baselines  # noqa: F401
    except ImportError as exc:
        return str(exc)
    return None


def unsupported_reason(name: str, height: int, width: int) -> str | None:
    """Why method ``name`` cannot run on images of ``height`` × ``width``, or None."""
    if name in ("cnn1", "cnn2"):
        from ..baselines._architectures import feature_shape

        try:
            feature_shape(name, height, width)
        except ValueError as exc:
            return str(exc).removeprefix("images: ")
    return None
