"""The CNN1 and CNN2 baselines of docs/algorithms.md §7, trained end-to-end with Adam.

Two interchangeable backends implement the same layers: PyTorch (optional extra
``baselines``) and a small pure-numpy one that needs nothing beyond numpy, so the
baselines also run where PyTorch wheels (with their multi-GB CUDA dependencies) are
not installed. ``backend="auto"`` takes the numpy backend: the torch backend runs on the
CPU, where it trained CNN2 on 4,000 MNIST images 2.5–3.4× slower than numpy
(docs/benchmarks.md), so torch is used only when asked for (``backend="torch"``).

Training defaults (the method description names no optimiser settings): Adam with lr 1e-3, betas
(0.9, 0.999), batch 32, cross-entropy, inputs as brightness in [0, 1] without further
normalisation; 10 epochs for CNN1 and 20 for the much smaller CNN2 (``epochs=None``).
With the numpy backend they reach ≥ 95 % on the MNIST 5k sample (4,000/1,000).
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from .._util.estimator import SnnconvEstimator, classification_targets, image_input_tags, seed_from
from .._util.extras import require
from .._util.fitted import check_fitted
from .._util.persistence import (
    LABELS,
    check_classes,
    check_schema,
    field_image_shape,
    field_params,
    load_npz,
    reading,
    save_npz,
)
from .._util.progress import progress_bar
from .._util.validation import MAX_EPOCHS
from ..exceptions import (
    DataError,
    DivergenceError,
    ModelFileError,
    ParameterError,
    ResourceLimitError,
)
from ._architectures import ARCHITECTURES, Conv, feature_shape
from ._common import brightness, check_common, check_int, check_real

BACKENDS = ("auto", "torch", "numpy")
#: Largest activation memory of one training/prediction batch (bytes).
MAX_BATCH_BYTES = 4 << 30
_FORMAT_VERSION = 2  # 2: arrays carry SHA-256 checksums; 1 still loads


def _torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def _class_indices(classes: np.ndarray, y: Any, n: int) -> np.ndarray:
    """Index of each label in ``classes``; a label outside them is a DataError."""
    yy = np.asarray(y).reshape(-1)
    if yy.shape[0] != n:
        raise DataError(f"y: expected {n} labels, got {yy.shape[0]}")
    idx = np.clip(np.searchsorted(classes, yy), 0, classes.size - 1)
    unknown = classes[idx] != yy
    if unknown.any():
        raise DataError(
            f"y: label {_plain(yy[unknown][0])!r} is not among "
            f"classes_ = {classes.tolist()!r} (fixed at the first fit or partial_fit)"
        )
    return idx.astype(np.int64)


class _CNN(ClassifierMixin, SnnconvEstimator):
    _ARCH = ""
    _EPOCHS = 10

    def __init__(
        self,
        epochs: int | None = None,
        batch_size: int = 32,
        learning_rate: float = 1e-3,
        dropout: float = 0.5,
        backend: str = "auto",
        random_state: Any = 0,
        n_threads: int | None = None,
        progress: bool = False,
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.dropout = dropout
        self.backend = backend
        self.random_state = random_state
        self.n_threads = n_threads
        self.progress = progress

    def _check_params(self) -> None:
        if self.epochs is not None:
            check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        check_int("batch_size", self.batch_size, 1)
        check_real("learning_rate", self.learning_rate, lambda v: v > 0, "> 0")
        check_real("dropout", self.dropout, lambda v: 0 <= v < 1, "in [0, 1)")
        if self.backend not in BACKENDS:
            raise ParameterError(f"backend: must be one of {BACKENDS}, got {self.backend!r}")
        check_common(self)

    def _resolve_backend(self) -> str:
        # "auto" is numpy: the torch backend has no GPU path, and on the CPU it trains
        # these small networks 2.5-3.4x slower (docs/benchmarks.md).
        return "numpy" if self.backend == "auto" else self.backend

    @contextlib.contextmanager
    def _threads(self, backend: str) -> Any:
        """Torch: intra-op threads capped at ``n_threads`` for the call. Numpy: BLAS on one
        thread, whatever ``n_threads`` says: a threaded BLAS splits its sums by thread
        count, so the trained weights (and every probability) would depend on it; on
        these small products one thread is as fast (CNN2 on 4,000 MNIST images, 20
        epochs: 5.4 s on one BLAS thread, 7.1 s on two)."""
        if backend == "torch":
            if self.n_threads is None:
                yield
                return
            import torch

            old = torch.get_num_threads()
            torch.set_num_threads(int(self.n_threads))
            try:
                yield
            finally:
                torch.set_num_threads(old)
        else:
            try:
                from threadpoolctl import threadpool_limits
            except ImportError:  # pragma: no cover - comes with scikit-learn
                yield
                return
            with threadpool_limits(1, user_api="blas"):
                yield

    @staticmethod
    def _inputs(images: Any) -> np.ndarray:
        x = brightness(images).astype(np.float32)
        # subnormal brightness (< 1.2e-38) is zero for any purpose and would slow every
        # product of the network several-fold
        x[np.abs(x) < np.finfo(np.float32).tiny] = 0
        return x[..., None]

    def _sized_inputs(self, images: Any) -> np.ndarray:
        """``_inputs`` after the per-batch budget is checked on the images' shape, so
        oversized images are refused before their float copies are made."""
        shape = getattr(images, "shape", None)
        if shape is not None and len(shape) == 3 and all(int(v) > 0 for v in shape):
            self._check_budget(int(shape[0]), int(self.batch_size), (int(shape[1]), int(shape[2])))
        return self._inputs(images)

    def fit(self, images: Any, y: Any) -> _CNN:
        """Trains from scratch for ``epochs`` passes (minibatches in a seeded order)."""
        self._check_params()
        x = self._sized_inputs(images)
        classes, y_idx = classification_targets(y, x.shape[0])
        self._build(x, classes)
        self.loss_curve_: list[float] = []
        self._train(x, y_idx, drop_on_error=True)
        return self

    def partial_fit(self, images: Any, y: Any, classes: Any = None) -> _CNN:
        """``epochs`` passes over this batch, continuing from the current weights and
        the optimiser's state: naive fine-tuning, as in a continual-learning stream.

        The first call builds the network with one output per class of ``classes``
        (default: the classes of this batch); later batches may only hold those
        classes (a :class:`~snnconv.exceptions.DataError` otherwise).
        """
        if not hasattr(self, "net_"):
            self._check_params()
        x = self._sized_inputs(images)
        if not hasattr(self, "net_"):
            given = np.unique(np.asarray(y) if classes is None else np.asarray(classes))
            known, _ = classification_targets(given, given.shape[0], min_classes=1)
            self._build(x, known)
            self.loss_curve_ = []
        y_idx = _class_indices(self.classes_, y, x.shape[0])
        self._train(x, y_idx, drop_on_error=False)
        return self

    def _build(self, x: np.ndarray, classes: np.ndarray) -> None:
        self.image_shape_ = (int(x.shape[1]), int(x.shape[2]))
        feature_shape(self._ARCH, *self.image_shape_)
        self._check_budget(x.shape[0], int(self.batch_size))
        self.classes_ = classes
        self.n_features_in_ = self.image_shape_[0] * self.image_shape_[1]
        self.seed_ = seed_from(self.random_state)
        h, w, c = feature_shape(self._ARCH, *self.image_shape_)
        dense = h * w * c * len(self.classes_) * 4 * 3  # weights + two Adam moments, float32
        if dense > MAX_BATCH_BYTES:
            raise ResourceLimitError(
                f"y: {len(self.classes_)} classes make a dense layer of "
                f"{dense / 2**30:.1f} GiB with Adam state (limit "
                f"{MAX_BATCH_BYTES / 2**30:.0f} GiB)"
            )
        backend = self._resolve_backend()
        if backend == "torch":
            require("torch", "backend='torch' of the CNN baselines")
            from ._cnn_torch import TorchCNN as Net
        else:
            from ._cnn_numpy import NumpyCNN as Net  # type: ignore[assignment]
        seed = self.seed_
        self.net_ = Net(
            self._ARCH, self.image_shape_, len(self.classes_), float(self.dropout), seed
        )
        self.backend_ = backend

    def _train(self, x: np.ndarray, y_idx: np.ndarray, drop_on_error: bool) -> None:
        n = x.shape[0]
        self._check_budget(n, int(self.batch_size))
        epochs = self._EPOCHS if self.epochs is None else int(self.epochs)
        desc = f"training {self._ARCH.upper()} ({self.backend_})"
        try:
            with (
                self._threads(self.backend_),
                progress_bar(self.progress, epochs * n, desc) as bar,
            ):
                for epoch in range(epochs):
                    loss = self.net_.train_epoch(
                        x, y_idx, int(self.batch_size), float(self.learning_rate), bar.update
                    )
                    self.loss_curve_.append(float(loss))
                    self._check_finite(epoch + 1, float(loss))
        except BaseException:
            if drop_on_error:
                del self.net_
            raise

    def _check_finite(self, epoch: int, loss: float) -> None:
        """Stops a diverged fit: the loss and every weight must stay finite."""
        bad = None if math.isfinite(loss) else f"mean loss {loss}"
        if bad is None:
            for k, v in self.net_.state().items():
                if not np.isfinite(v).all():
                    bad = f"non-finite weights in {k}"
                    break
        if bad is not None:
            raise DivergenceError(
                f"learning_rate: training diverged at epoch {epoch} ({bad}) with "
                f"learning_rate={self.learning_rate!r}; lower learning_rate"
            )

    def _bytes_per_image(self, shape: tuple[int, int] | None = None) -> int:
        """Largest activation memory (im2col patches and outputs) of one image of
        ``shape`` (default: the fitted image shape)."""
        h, w = self.image_shape_ if shape is None else shape
        c, need = 1, 0
        for layer in ARCHITECTURES[self._ARCH]:
            if isinstance(layer, Conv):
                p = (h - layer.kernel) // layer.stride + 1
                q = (w - layer.kernel) // layer.stride + 1
                need = max(need, p * q * (c * layer.kernel**2 + 2 * layer.filters) * 8)
                h, w, c = p, q, layer.filters
            else:
                h, w = h // layer.size, w // layer.size
        return need

    def _check_budget(self, n: int, batch: int, shape: tuple[int, int] | None = None) -> None:
        """Refuses, before allocating, image sizes whose per-batch activations would
        exceed ``MAX_BATCH_BYTES``."""
        shape = self.image_shape_ if shape is None else shape
        b = max(1, min(int(batch), int(n)))
        need = b * self._bytes_per_image(shape)
        if need > MAX_BATCH_BYTES:
            raise ResourceLimitError(
                f"images: {self._ARCH.upper()} on {shape[0]}x"
                f"{shape[1]} images needs about {need / 2**30:.1f} GiB per batch of "
                f"{b} (limit {MAX_BATCH_BYTES / 2**30:.0f} GiB); use smaller images or batch_size"
            )

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> str:
        """Writes parameters and weights to an ``.npz`` (no pickle; atomic). An
        existing file at ``path`` is replaced only if it is a model of the same class;
        anything else raises FileExistsError unless ``overwrite=True``.

        With the numpy backend the file also holds what training continues from
        (Adam's moments and step count, the random stream of shuffles and dropout):
        ``partial_fit`` on the loaded model gives bit-identically the weights the
        saved one would have. The torch backend saves the weights only (its dropout
        draws from torch's global generator): a loaded torch model predicts the same,
        but further training starts a fresh Adam."""
        self._check_fitted()
        meta = {
            # the seed in use, whatever its source
            "params": {**self.get_params(), "random_state": self.seed_},
            "backend_": self.backend_,
            "image_shape_": list(self.image_shape_),
            "loss_curve_": self.loss_curve_,
        }
        classes = self.classes_.astype(str) if self.classes_.dtype == object else self.classes_
        meta["classes_dtype"] = classes.dtype.str  # so a changed dtype is refused
        arrays = {"classes": classes}
        arrays.update({f"w__{k}": v for k, v in self.net_.state().items()})
        if hasattr(self.net_, "train_state"):
            # numpy backend: Adam's state and the random stream too, so a model saved
            # between two partial_fit calls continues exactly as the one kept in memory
            meta["train_state"], moments = self.net_.train_state()
            arrays.update(moments)
        return str(
            save_npz(
                path, f"snnconv.{type(self).__name__}", _FORMAT_VERSION, meta, arrays, overwrite
            )
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> _CNN:
        """Reads a model written by :meth:`save`; it predicts exactly as before."""
        meta, arrays = load_npz(path, f"snnconv.{cls.__name__}", _FORMAT_VERSION)
        with reading(path, cls.__name__):
            moments = {k for k in arrays if k.startswith(("m__", "v__"))}
            check_schema(
                meta,
                arrays,
                {"params", "backend_", "image_shape_", "loss_curve_", "classes_dtype"},
                {
                    "classes": LABELS,
                    **{k: "float32" for k in arrays if k.startswith(("w__", "m__", "v__"))},
                },
                optional_keys={"train_state"},
                optional_arrays=moments,
                versioned=False,
            )
            self = cls(**field_params(meta, like=cls))
            self._check_params()
            if not isinstance(self.random_state, int):
                raise ModelFileError("params.random_state: must be the integer seed in use")
            self.seed_ = seed_from(self.random_state)
            self.classes_ = check_classes(arrays.pop("classes"))
            if meta["classes_dtype"] != self.classes_.dtype.str:
                raise ModelFileError(
                    f"classes: dtype {self.classes_.dtype.str}, recorded {meta['classes_dtype']!r}"
                )
            for k, v in arrays.items():
                # Trained weights stay far inside float32: larger ones overflow the
                # activations to infinity.
                if v.size and float(np.abs(v).max()) > 1e10:
                    raise ModelFileError(f"{k}: weights beyond 1e10 in magnitude")
            self.image_shape_ = field_image_shape(meta)
            feature_shape(self._ARCH, *self.image_shape_)
            self.n_features_in_ = self.image_shape_[0] * self.image_shape_[1]
            curve = meta["loss_curve_"]
            if not isinstance(curve, list):
                raise ModelFileError("loss_curve_: must be a list of numbers")
            epochs = self._EPOCHS if self.epochs is None else int(self.epochs)
            # one loss per epoch: `epochs` per fit or partial_fit call
            if (
                not curve
                or len(curve) % epochs
                or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e6
                    for v in curve
                )
            ):
                raise ModelFileError(
                    f"loss_curve_: must be a list of losses >= 0, {epochs} per fit or "
                    "partial_fit call"
                )
            self.loss_curve_ = [float(v) for v in curve]
            backend = meta["backend_"]
            if backend not in ("torch", "numpy"):
                raise ModelFileError(f"backend_: must be 'torch' or 'numpy', got {backend!r}")
            if backend == "torch":
                require("torch", "loading a CNN trained with backend='torch'")
                from ._cnn_torch import TorchCNN as Net
            else:
                from ._cnn_numpy import NumpyCNN as Net  # type: ignore[assignment]
            self.net_ = Net(
                self._ARCH,
                self.image_shape_,
                len(self.classes_),
                float(self.dropout),
                self.seed_,
            )
            self.net_.load_state({k[3:]: v for k, v in arrays.items() if k.startswith("w__")})
            if "train_state" in meta or moments:
                if backend != "numpy" or "train_state" not in meta:
                    raise ModelFileError(
                        "train_state: only a numpy-backend file holds it, with its Adam moments"
                    )
                self.net_.load_train_state(meta["train_state"], {k: arrays[k] for k in moments})
            self.backend_ = backend
        return self

    def _check_fitted(self) -> None:
        check_fitted(self, "net_", "fit(images, y) or load(path)")

    def __sklearn_tags__(self) -> Any:
        return image_input_tags(super().__sklearn_tags__())

    def predict_proba(self, images: Any) -> np.ndarray:
        """Softmax class probabilities (N, n_classes), columns in ``classes_`` order."""
        self._check_fitted()
        x = self._inputs(images)
        if (x.shape[1], x.shape[2]) != self.image_shape_:
            raise DataError(
                f"images: expected images of shape {self.image_shape_} (as in fit), "
                f"got {(x.shape[1], x.shape[2])}"
            )
        batch = max(1, min(500, MAX_BATCH_BYTES // max(1, self._bytes_per_image())))
        self._check_budget(x.shape[0], batch)
        with self._threads(self.backend_):
            proba = self.net_.predict_proba(x, batch)
        if not np.isfinite(proba).all():
            raise DivergenceError(
                "images: the network's outputs overflow to non-finite probabilities "
                "(weights too large for these inputs)"
            )
        return proba

    def predict(self, images: Any) -> np.ndarray:
        self._check_fitted()
        return self.classes_[np.argmax(self.predict_proba(images), axis=1)]


class CNN1(_CNN):
    """CNN1 of docs/algorithms.md §7: conv 32×4×4 stride 1, ReLU, max-pool 2, conv 64×3×3, ReLU,
    max-pool 2, flatten, dropout 0.5, dense softmax; trained with Adam.

    Input: images (N, H, W), uint8 or floats in [0, 1]; labels of any type.

    Parameters
    ----------
    epochs : int or None, default=None
        Training passes over the data (>= 1). None means 10.
    batch_size : int, default=32
        Minibatch size (>= 1); minibatches are drawn in a seeded order.
    learning_rate : float, default=1e-3
        Adam learning rate (> 0).
    dropout : float, default=0.5
        Dropout rate before the dense layer, in [0, 1).
    backend : {"auto", "torch", "numpy"}, default="auto"
        "auto": numpy (faster on the CPU at these sizes); "torch" needs PyTorch.
    random_state : None, int, numpy RandomState or Generator, default=0
        An int is the seed itself; from the others a seed is drawn once per ``fit``
        (``seed_``).
    n_threads : int or None, default=None
        Caps torch's intra-op threads for the call (None: no cap). The numpy backend
        runs BLAS on one thread, so its results never depend on the thread count.
    progress : bool, default=False
        Show a progress bar (needs the ``progress`` extra).

    Attributes
    ----------
    classes_ : ndarray
        The class labels.
    backend_ : str
        The backend used, "torch" or "numpy".
    loss_curve_ : list of float
        Mean training loss per epoch.
    image_shape_ : tuple
        (H, W) of the training images.
    n_features_in_ : int
        Pixels per image.
    net_ : object
        The trained network.
    seed_ : int
        The seed in use: ``random_state`` itself when an int, else drawn from it once
        per fit.
    """

    _ARCH = "cnn1"


class CNN2(_CNN):
    """CNN2 of docs/algorithms.md §7: conv 28×9×9 stride 2, ReLU, max-pool 2, flatten, dropout 0.5,
    dense softmax; trained with Adam.

    Input: images (N, H, W), uint8 or floats in [0, 1]; labels of any type.

    Parameters
    ----------
    epochs : int or None, default=None
        Training passes over the data (>= 1). None means 20.
    batch_size : int, default=32
        Minibatch size (>= 1); minibatches are drawn in a seeded order.
    learning_rate : float, default=1e-3
        Adam learning rate (> 0).
    dropout : float, default=0.5
        Dropout rate before the dense layer, in [0, 1).
    backend : {"auto", "torch", "numpy"}, default="auto"
        "auto": numpy (faster on the CPU at these sizes); "torch" needs PyTorch.
    random_state : None, int, numpy RandomState or Generator, default=0
        An int is the seed itself; from the others a seed is drawn once per ``fit``
        (``seed_``).
    n_threads : int or None, default=None
        Caps torch's intra-op threads for the call (None: no cap). The numpy backend
        runs BLAS on one thread, so its results never depend on the thread count.
    progress : bool, default=False
        Show a progress bar (needs the ``progress`` extra).

    Attributes
    ----------
    classes_ : ndarray
        The class labels.
    backend_ : str
        The backend used, "torch" or "numpy".
    loss_curve_ : list of float
        Mean training loss per epoch.
    image_shape_ : tuple
        (H, W) of the training images.
    n_features_in_ : int
        Pixels per image.
    net_ : object
        The trained network.
    seed_ : int
        The seed in use: ``random_state`` itself when an int, else drawn from it once
        per fit.
    """

    _ARCH = "cnn2"
    _EPOCHS = 20


def _plain(v: object) -> object:
    """A numpy scalar as the Python value it holds (for messages: 2, not np.int64(2))."""
    return v.item() if isinstance(v, np.generic) else v
