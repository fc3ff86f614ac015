"""scikit-learn style front for the ULSNN baseline (Diehl & Cook 2015) on the Rust engine."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from .. import _core
from .._util.estimator import (
    CoreStateMixin,
    SnnconvEstimator,
    classification_targets,
    image_input_tags,
    seed_from,
)
from .._util.fitted import check_fitted
from .._util.persistence import (
    LABELS,
    check_classes,
    check_finite_range,
    check_schema,
    field_float,
    field_image_shape,
    field_int,
    field_params,
    load_npz,
    reading,
    save_npz,
)
from .._util.progress import progress_bar
from .._util.validation import MAX_EPOCHS
from ..exceptions import DataError, ModelFileError, ParameterError, ParameterTypeError
from . import _readout
from ._common import BrightnessRows, brightness, check_common, check_int, check_real

_FORMAT = "snnconv.ULSNN"
_FORMAT_VERSION = 2  # 2: arrays carry SHA-256 checksums; 1 still loads

#: Images per call into the core while training at the default ``time`` = 250 steps
#: (≈ 0.1–0.5 s with 100 neurons), so the progress bar moves and Ctrl-C is honoured
#: between calls; longer presentations get proportionally fewer images per call
#: (``_per_call``), at least one.
_TRAIN_CHUNK = 64
#: Images per call while responding (parallel inside the call), at ``time`` = 250.
_RESPOND_CHUNK = 512
_CHUNK_TIME = 250


def _per_call(chunk: int, time: int) -> int:
    """Images per core call: ``chunk`` at 250 steps each, fewer for longer ``time``."""
    return max(1, chunk * _CHUNK_TIME // max(int(time), 1))


class ULSNN(CoreStateMixin, ClassifierMixin, SnnconvEstimator):
    """The unsupervised STDP network of Diehl & Cook (2015), the "ULSNN" of docs/algorithms.md §7.

    Poisson-coded pixels drive ``n_neurons`` excitatory LIF neurons with adaptive
    thresholds θ through plastic weights (STDP with pre/post traces, learning rates
    ``nu = (pre, post)``, w ∈ [0, 1], each neuron's weights normalised to sum ``norm``).
    Each excitatory neuron excites one inhibitory neuron that inhibits all the others
    (soft winner-take-all). No labels are used while learning: afterwards each neuron is
    assigned the class it responds to most on the training set (one frozen pass over
    it, as in Diehl & Cook; BindsNET instead uses the responses recorded while learning
    the last 250 images), and an image is classified by the mean spike count of each
    class's neurons (``readout``: "all_activity" or "proportion_weighting").

    Dynamics and defaults follow BindsNET's ``DiehlAndCook2015`` reproduction
    (``examples/mnist/eth_mnist.py``; note its inhibition ``inh=120``, not the model
    class's 17.5, which measured ≈ 48 % instead of ≈ 81 % on the MNIST 5k sample):
    current-based LIF, 1 ms steps, ``time`` steps per image then a full state reset;
    ``intensity`` is the Poisson rate in Hz of a white pixel. When an image draws fewer
    than ``min_spikes`` excitatory spikes it is shown again with the rate raised by
    ``intensity_step`` Hz, at most ``max_retries`` times (in training and inference).
    ``norm=None`` means 0.1 per pixel (78.4 for 28×28).

    Input: images (N, H, W) (uint8 or floats in [0, 1]), all of the shape seen in
    ``fit``; labels of any type (a single class is accepted: the network learns
    without labels). Fitted networks pickle (the model file's state).

    Parameters
    ----------
    n_neurons : int, default=100
        Excitatory (and inhibitory) neurons (>= 1).
    time : int, default=250
        Steps (1 ms each) per image presentation, in [1, 100000].
    epochs : int, default=1
        Passes over the training images.
    intensity : float, default=128.0
        Poisson rate in Hz of a white pixel, in (0, 1000].
    intensity_step : float, default=32.0
        Rate increase in Hz per retry (>= 0); ``intensity + max_retries *
        intensity_step`` must be <= 1000.
    max_retries : int, default=5
        Most presentations again of an image that drew fewer than ``min_spikes``
        excitatory spikes, in [0, 63].
    min_spikes : int, default=5
        Excitatory spikes below which an image is shown again (>= 0).
    exc : float, default=22.5
        Weight of each excitatory neuron's synapse onto its inhibitory neuron (>= 0).
    inh : float, default=120.0
        Weight of each inhibitory neuron's synapses onto the other excitatory neurons
        (>= 0).
    nu : tuple of (float, float), default=(1e-4, 1e-2)
        STDP learning rates (pre, post), each >= 0.
    norm : float or None, default=None
        Sum each excitatory neuron's weights are normalised to (> 0). None means 0.1
        per pixel (78.4 for 28×28).
    theta_plus : float, default=0.05
        Increase of an excitatory neuron's adaptive threshold θ per threshold crossing
        while learning (>= 0).
    tc_theta_decay : float, default=1e7
        Time constant of the decay of θ in ms (> 0).
    one_spike : bool, default=True
        When several excitatory neurons cross the threshold in the same step, only
        one of them, chosen at random, spikes.
    readout : {"all_activity", "proportion_weighting"}, default="all_activity"
        How the class of an image is read from the spike counts of each class's
        neurons.
    shuffle : bool, default=True
        Present the training images of each epoch in a seeded random order.
    random_state : None, int, numpy RandomState or Generator, default=0
        An int is the seed itself; from the others a seed is drawn once per ``fit``
        (``seed_``).
    n_threads : int or None, default=None
        Threads of the Rust core (None: all cores).
    progress : bool, default=False
        Show a progress bar (needs the ``progress`` extra).

    Attributes
    ----------
    weights_ : ndarray
        Weights, (n_pixels, n_neurons).
    theta_ : ndarray
        Adaptive thresholds θ, (n_neurons,).
    assignments_ : ndarray
        Class index per neuron, −1 if silent.
    rates_ : ndarray
        Mean training count per class and neuron.
    classes_ : ndarray
        The class labels.
    image_shape_ : tuple
        (H, W) of the training images.
    norm_ : float
        The weight normalisation in use.
    n_images_seen_ : int
        Images learned from.
    train_stats_ : ndarray
        Per presentation: spikes of the final attempt, retries.
    n_features_in_ : int
        Pixels per image.
    seed_ : int
        The seed in use: ``random_state`` itself when an int, else drawn from it once
        per ``fit``.
    """

    def __init__(
        self,
        n_neurons: int = 100,
        time: int = 250,
        epochs: int = 1,
        intensity: float = 128.0,
        intensity_step: float = 32.0,
        max_retries: int = 5,
        min_spikes: int = 5,
        exc: float = 22.5,
        inh: float = 120.0,
        nu: tuple[float, float] = (1e-4, 1e-2),
        norm: float | None = None,
        theta_plus: float = 0.05,
        tc_theta_decay: float = 1e7,
        one_spike: bool = True,
        readout: str = "all_activity",
        shuffle: bool = True,
        random_state: Any = 0,
        n_threads: int | None = None,
        progress: bool = False,
    ) -> None:
        self.n_neurons = n_neurons
        self.time = time
        self.epochs = epochs
        self.intensity = intensity
        self.intensity_step = intensity_step
        self.max_retries = max_retries
        self.min_spikes = min_spikes
        self.exc = exc
        self.inh = inh
        self.nu = nu
        self.norm = norm
        self.theta_plus = theta_plus
        self.tc_theta_decay = tc_theta_decay
        self.one_spike = one_spike
        self.readout = readout
        self.shuffle = shuffle
        self.random_state = random_state
        self.n_threads = n_threads
        self.progress = progress

    # ------------------------------------------------------------------ checks
    # Ranges the core also checks are checked here first on purpose: this runs before any
    # pass over the data, before int()/float() in the core call could truncate (3.7 -> 3),
    # and load() uses it to vet a file's parameters. The core's check guards direct _core use.
    def _check_params(self) -> None:
        check_int("n_neurons", self.n_neurons, 1)
        check_int("time", self.time, 1, 100_000)
        check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        check_int("max_retries", self.max_retries, 0, 63)
        check_int("min_spikes", self.min_spikes, 0)
        check_real("intensity", self.intensity, lambda v: 0 < v <= 1000, "in (0, 1000] Hz")
        check_real("intensity_step", self.intensity_step, lambda v: v >= 0, ">= 0 Hz")
        top = self.intensity + self.max_retries * self.intensity_step
        if top > 1000:
            raise ParameterError(
                "intensity: intensity + max_retries * intensity_step must be <= 1000 Hz "
                f"(at most one spike per 1 ms step), got {top}"
            )
        check_real("exc", self.exc, lambda v: v >= 0, ">= 0")
        check_real("inh", self.inh, lambda v: v >= 0, ">= 0")
        nu = self.nu
        if not isinstance(nu, (tuple, list)) or len(nu) != 2:
            raise ParameterError(f"nu: must be a pair (pre, post) of rates >= 0, got {nu!r}")
        check_real("nu", nu[0], lambda v: v >= 0, "a pair of rates >= 0")
        check_real("nu", nu[1], lambda v: v >= 0, "a pair of rates >= 0")
        if self.norm is not None:
            check_real("norm", self.norm, lambda v: v > 0, "> 0 (or None for 0.1 per pixel)")
        check_real("theta_plus", self.theta_plus, lambda v: v >= 0, ">= 0")
        check_real("tc_theta_decay", self.tc_theta_decay, lambda v: v > 0, "> 0 ms")
        if not isinstance(self.one_spike, (bool, np.bool_)):
            raise ParameterTypeError(f"one_spike: must be True or False, got {self.one_spike!r}")
        if self.readout not in _readout.READOUTS:
            raise ParameterError(
                f"readout: must be one of {_readout.READOUTS}, got {self.readout!r}"
            )
        check_common(self)

    def _new_core(self, n_inputs: int, state: dict[str, Any] | None = None) -> Any:
        state = state or {}
        return _core.UlsnnCore(
            {
                "n_inputs": n_inputs,
                "n_neurons": int(self.n_neurons),
                "time": int(self.time),
                "intensity": float(self.intensity),
                "intensity_step": float(self.intensity_step),
                "max_retries": int(self.max_retries),
                "min_spikes": int(self.min_spikes),
                "exc": float(self.exc),
                "inh": float(self.inh),
                "nu_pre": float(self.nu[0]),
                "nu_post": float(self.nu[1]),
                "norm": float(self.norm_),
                "theta_plus": float(self.theta_plus),
                "tc_theta_decay": float(self.tc_theta_decay),
                "one_spike": bool(self.one_spike),
            },
            self.seed_,
            state.get("weights"),
            state.get("theta"),
            int(state.get("images_seen", 0)),
        )

    # ------------------------------------------------------------------ fitting
    def fit(self, images: Any, y: Any) -> ULSNN:
        """Learns the weights without labels for ``epochs`` passes, then assigns each
        neuron a class from its frozen responses to the same training images."""
        self._check_params()
        x = BrightnessRows(images)  # converted chunk by chunk, never whole
        # Learning ignores the labels, so one class is a valid (if trivial) fit.
        classes, y_idx = classification_targets(y, x.shape[0], min_classes=1)
        self.seed_ = seed_from(self.random_state)
        self.image_shape_ = x.image_shape
        self.n_features_in_ = int(np.prod(self.image_shape_))
        n_inputs = x.shape[1]
        self.norm_ = 0.1 * n_inputs if self.norm is None else float(self.norm)
        self._core = self._new_core(n_inputs)
        n = x.shape[0]
        stats: list[np.ndarray] = []
        seed = self.seed_
        try:
            with progress_bar(self.progress, self.epochs * n, "training ULSNN") as bar:
                for epoch in range(int(self.epochs)):
                    order = (
                        _core.permutation(n, seed, epoch).astype(np.int64)
                        if self.shuffle
                        else np.arange(n)
                    )
                    per = _per_call(_TRAIN_CHUNK, self.time)
                    for start in range(0, n, per):
                        idx = order[start : start + per]
                        stats.append(self._core.train(np.ascontiguousarray(x[idx])))
                        bar.update(len(idx))
        finally:
            self._sync(stats)
        self.classes_ = classes
        counts = self._respond(x, "assigning ULSNN neurons")
        self.rates_, self.assignments_ = _readout.assign(counts, y_idx, len(self.classes_))
        return self

    def _sync(self, stats: list[np.ndarray]) -> None:
        core = self._core
        self.weights_ = core.weights
        self.theta_ = core.theta
        self.n_images_seen_ = int(core.images_seen)
        self.train_stats_ = np.concatenate(stats) if stats else np.zeros((0, 2), np.uint32)

    def _respond(self, x: BrightnessRows, desc: str) -> np.ndarray:
        out = []
        with progress_bar(self.progress, x.shape[0], desc) as bar:
            per = _per_call(_RESPOND_CHUNK, self.time)
            for start in range(0, x.shape[0], per):
                part = np.ascontiguousarray(x[start : start + per])
                counts, _ = self._core.respond(part, start, self.n_threads)
                out.append(counts)
                bar.update(part.shape[0])
        return np.concatenate(out)

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        check_fitted(self, "assignments_", "fit(images, y) or load(path)")

    def __sklearn_tags__(self) -> Any:
        return image_input_tags(super().__sklearn_tags__())

    def transform(self, images: Any) -> np.ndarray:
        """Frozen excitatory spike counts (N, n_neurons), uint32. Learning and θ are off;
        image k's input spikes come from its own seeded stream, so the result does not
        depend on the thread count or on how the call is chunked."""
        self._check_fitted()
        x = BrightnessRows(images)
        if x.image_shape != self.image_shape_:
            raise DataError(
                f"images: expected images of shape {self.image_shape_} (as in fit), "
                f"got {x.image_shape}"
            )
        return self._respond(x, "ULSNN responses")

    def decision_function(self, images: Any) -> np.ndarray:
        """Class scores (N, n_classes) of the configured ``readout``."""
        self._check_fitted()
        self._check_params()
        return _readout.scores(self.transform(images), self.assignments_, self.rates_, self.readout)

    def predict(self, images: Any) -> np.ndarray:
        self._check_fitted()
        return self.classes_[np.argmax(self.decision_function(images), axis=1)]

    def raster(self, image: Any, index: int = 0) -> np.ndarray:
        """Frozen spike raster (time, n_neurons) of one (H, W) image, as uint8 0/1
        (the final presentation when the intensity rule repeated it)."""
        self._check_fitted()
        g = brightness(np.asarray(image)[None])
        if tuple(g.shape[1:]) != self.image_shape_:
            raise DataError(f"image: expected shape {self.image_shape_}, got {g.shape[1:]}")
        r, _ = self._core.raster(np.ascontiguousarray(g.ravel()), int(index))
        return r

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> str:
        """Writes parameters and learned state to an ``.npz`` file (no pickle),
        atomically. An existing file at ``path`` is replaced only if it is a ULSNN
        file; anything else raises FileExistsError unless ``overwrite=True``."""
        self._check_fitted()
        meta, arrays = self._export()
        return str(save_npz(path, _FORMAT, _FORMAT_VERSION, meta, arrays, overwrite))

    def _export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The metadata and arrays of the model file (also the pickled state)."""
        params = dict(self.get_params())
        params["random_state"] = self.seed_  # the seed in use, whatever its source
        params["nu"] = [float(v) for v in params["nu"]]
        meta = {
            "params": params,
            "image_shape_": list(self.image_shape_),
            "norm_": self.norm_,
            "n_images_seen_": self.n_images_seen_,
            "classes_dtype": self.classes_.dtype.str,
            "snnconv_version": _core.__version__,
        }
        arrays = {
            "weights": self.weights_,
            "theta": self.theta_,
            "assignments": self.assignments_,
            "rates": self.rates_,
            "classes": self.classes_,
        }
        return meta, arrays

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ULSNN:
        """Reads a network written by :meth:`save`; predictions are identical."""
        meta, arrays = load_npz(path, _FORMAT, _FORMAT_VERSION)
        return cls._from_export(meta, arrays, str(path))

    @classmethod
    def _from_export(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], path: str) -> ULSNN:
        with reading(path, "ULSNN"):
            check_schema(
                meta,
                arrays,
                {"params", "image_shape_", "norm_", "n_images_seen_", "classes_dtype"},
                {
                    "weights": "float64",
                    "theta": "float64",
                    "assignments": "int64",
                    "rates": "float64",
                    "classes": LABELS,
                },
            )
            params = field_params(meta, like=cls)
            if not isinstance(params["nu"], list):
                raise ModelFileError(f"params.nu: must be a pair, got {params['nu']!r}")
            params["nu"] = tuple(params["nu"])
            self = cls(**params)
            self._check_params()
            if not isinstance(self.random_state, int):
                raise ModelFileError("params.random_state: must be the integer seed in use")
            self.seed_ = seed_from(self.random_state)
            self.image_shape_ = field_image_shape(meta)
            self.n_features_in_ = int(np.prod(self.image_shape_))
            # norm_ is the given norm, or 0.1 per input (as fit sets it).
            norm = 0.1 * self.n_features_in_ if self.norm is None else float(self.norm)
            self.norm_ = field_float(meta, "norm_", lambda v: v == norm, f"{norm}")
            if meta["classes_dtype"] != arrays["classes"].dtype.str:
                raise ModelFileError(
                    f"classes: dtype {arrays['classes'].dtype.str}, recorded "
                    f"{meta['classes_dtype']!r}"
                )
            w = np.ascontiguousarray(arrays["weights"], dtype=np.float64)
            theta = np.ascontiguousarray(arrays["theta"], dtype=np.float64)
            # Weights are non-negative (STDP clips them) and sum to norm_ per neuron at
            # most; θ only grows by theta_plus and decays, so it is never negative.
            check_finite_range("weights", w, 0.0, self.norm_)
            check_finite_range("theta", theta, 0.0, 1e12)
            check_finite_range("rates", np.asarray(arrays["rates"]), 0.0, float(self.time))
            self._core = self._new_core(
                int(np.prod(self.image_shape_)),
                {"weights": w, "theta": theta, "images_seen": field_int(meta, "n_images_seen_")},
            )
            self.classes_ = check_classes(np.asarray(arrays["classes"]))
            self.rates_ = np.asarray(arrays["rates"], dtype=np.float64)
            assignments = np.asarray(arrays["assignments"])
            k = len(self.classes_)
            if self.rates_.shape != (k, self.n_neurons) or assignments.shape != (self.n_neurons,):
                raise ModelFileError("rates: readout arrays have the wrong shape")
            if assignments.dtype.kind not in "iu" or (
                assignments.size and (assignments.min() < -1 or assignments.max() >= k)
            ):
                raise ModelFileError(f"assignments: must be class indices in [-1, {k})")
            self.assignments_ = assignments.astype(np.int64)
        self._sync([])
        return self
