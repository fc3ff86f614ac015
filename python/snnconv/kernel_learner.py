"""scikit-learn style front for the kernel learner of docs/algorithms.md §1."""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.base import TransformerMixin

from . import _core
from ._util.blocks import Reader, mapping
from ._util.estimator import (
    CoreStateMixin,
    SnnconvEstimator,
    check_random_state_param,
    image_input_tags,
    seed_from,
)
from ._util.fitted import check_fitted
from ._util.images import (
    as_stack,
    chunks,
    frames,
    image_size,
    n_channels,
    normalise_brightness,
)
from ._util.persistence import (
    check_schema,
    field_float,
    field_int,
    field_params,
    load_npz,
    reading,
    save_npz,
    with_added_params,
)
from ._util.progress import progress_bar
from ._util.validation import MAX_EPOCHS, check_alloc, check_int, check_n_threads, check_real
from .contrast import check_channels, contrast_channels
from .exceptions import DataError, ModelFileError, ParameterError, ParameterTypeError

_FORMAT = "snnconv.KernelLearner"
_FORMAT_VERSION = 3  # 3: params hold scales, each scale's state saved beside the main
# one; 2: arrays carry SHA-256 checksums; 1 and 2 still load (scales=() there)


class KernelLearner(CoreStateMixin, TransformerMixin, SnnconvEstimator, auto_wrap_output_keys=None):
    """Learns convolution kernels from a domain's images with a local, unsupervised rule.

    Each image updates every kernel at most once, at that kernel's strongest position
    not yet taken by another kernel; the update moves a synaptic *resource* W and the
    weight follows w(W) (docs/algorithms.md §1). Nothing is shared between positions while learning.

    Input: images (N, H, W) of any size >= ``kernel_size`` (uint8 or floats in [0, 1]),
    or an iterable of 2-D frames; not a 2-D feature matrix. Images of several channels
    (N, C, H, W), such as event counts of two polarities, learn C × K × K kernels
    (docs/algorithms.md §1.5): each channel of each image is normalised on its own, one
    brightness threshold covers all channels, and the rule runs over all C·K² cells of
    a tile at once. ``channels="on_off"`` (or ``"on_off_image"``) derives such channels
    from grey images itself (docs/algorithms.md §1.6).

    There is no ``n_features_in_``: any image size works. Fitted learners pickle (the
    state of the model file, see :meth:`save`).

    Parameters mirror docs/algorithms.md §1.

    Parameters
    ----------
    kernel_size : int, default=9
        Side K of the square kernels (>= 1).
    n_kernels : int, default=28
        Number of kernels learned (>= 1).
    stride : int, default=2
        Stride of the positions a kernel is compared at (>= 1).
    w_min : float, default=-0.3
        Lower bound of the weight function w(W), in [-1e6, -1e-6].
    w_max : float, default=1.0
        Upper bound of the weight function w(W), in [1e-6, 1e6].
    learning_rate : float or None, default=None
        Step of the resource updates, in (0, 1e6]. ``None`` means 3 / (number of
        images); it must be explicit for ``partial_fit``.
    brightness_threshold : float or None, default=None
        Brightness threshold of the learning rule (finite). ``None`` means the
        ``1 - brightness_quantile`` quantile of all preprocessed pixels of the fitting
        set.
    brightness_quantile : float, default=0.25
        In [0, 1]; used only when ``brightness_threshold`` is None.
    saturation_quantile : float or None, default=0.03
        Saturation quantile of the per-image brightness rescaling, in [0, 1);
        ``None`` switches the rescaling off.
    epochs : int, default=1
        Passes over the images.
    shuffle : bool, default=True
        Learn the images of each epoch in a seeded random order. Has no effect on a
        stream of frames (they are learned in the order given; a warning says so).
    keep_only_fired : bool, default=True
        ``kernels_`` keeps only the kernels that fired during learning (all of them
        stay in ``all_kernels_``).
    initial_resource : ndarray (n_kernels, K, K) or None, default=None
        Initial resource W of the kernels, instead of the core's initialisation. Not
        saved in model files.
    random_state : None, int, numpy RandomState or Generator, default=0
        An int is the seed, used unchanged; from a ``RandomState`` or ``Generator`` a
        seed is drawn once per ``fit`` (kept as ``seed_``).
    n_threads : int or None, default=None
        Threads of the Rust core (None: all cores).
    progress : bool, default=False
        Show a progress bar (needs the ``progress`` extra).
    channels : {"image", "on_off", "on_off_image"}, default="image"
        The input channels the kernels see (docs/algorithms.md §1.6). ``"image"``: the
        images as given (grey, or several channels of their own). ``"on_off"``: two
        contrast channels derived from grey images, ON = max(d, 0) and
        OFF = max(−d, 0) with d = g − the mean of g over a ``contrast_size`` window;
        ``"on_off_image"``: those two and the image. Applied in ``fit`` and
        ``transform`` alike (see :func:`snnconv.contrast.contrast_channels`).
    contrast_size : int, default=5
        Side of the centred window of the local mean (odd, in [1, 255]); used only
        with the contrast channels.
    scales : tuple of int, default=()
        Further kernel sides, each smaller than ``kernel_size`` (docs/algorithms.md
        §1.7): for each, ``n_kernels`` more candidates learn with the same rule, the
        same stride and the same images, on their own. Their kept kernels follow the
        main ones in ``kernels_``, each centred in zeros at ``kernel_size``, so one
        front-end runs every scale at the positions of the main size; pair them with
        ``ConvSNN(scale_per_kernel=True)`` (a small kernel gathers less input and
        would fire less under one scale). ``fit`` only: ``partial_fit``,
        ``initial_resource`` and one-shot streams of frames need ``scales=()``.

    Attributes
    ----------
    kernels_ : ndarray
        The kept kernels, float64 (n, K, K); (n, C, K, K) when the images have
        C > 1 channels.
    all_kernels_ : ndarray
        All learned kernels, fired or not.
    resource_ : ndarray
        The synaptic resource W of every kernel.
    fired_ : ndarray
        Whether each kernel fired during learning.
    brightness_threshold_ : float
        The brightness threshold in use.
    learning_rate_ : float
        The learning rate in use.
    n_images_seen_ : int
        Images learned from.
    stats_ : ndarray
        Per-image counts of forced and spontaneous updates and picks, for the last
        call.
    seed_ : int
        The seed in use.
    image_shape_ : tuple or None
        (H, W) of the images of the first fitting call; None for a stream of frames or a
        learner loaded from a file.
    n_channels_ : int
        Channels C of the images the kernels were learned on (1 for grey images).
    kernel_sizes_ : ndarray
        The side each kernel of ``kernels_`` was learned at (``kernel_size``, or one of
        ``scales``).
    scale_learners_ : list of KernelLearner
        One fitted learner per entry of ``scales`` (empty without scales);
        ``all_kernels_``, ``resource_``, ``fired_`` and ``stats_`` above are those of
        the main size.
    """

    def __init__(
        self,
        kernel_size: int = 9,
        n_kernels: int = 28,
        stride: int = 2,
        w_min: float = -0.3,
        w_max: float = 1.0,
        learning_rate: float | None = None,
        brightness_threshold: float | None = None,
        brightness_quantile: float = 0.25,
        saturation_quantile: float | None = 0.03,
        epochs: int = 1,
        shuffle: bool = True,
        keep_only_fired: bool = True,
        initial_resource: np.ndarray | None = None,
        random_state: Any = 0,
        n_threads: int | None = None,
        progress: bool = False,
        channels: str = "image",
        contrast_size: int = 5,
        scales: tuple[int, ...] = (),
    ) -> None:
        self.kernel_size = kernel_size
        self.n_kernels = n_kernels
        self.stride = stride
        self.w_min = w_min
        self.w_max = w_max
        self.learning_rate = learning_rate
        self.brightness_threshold = brightness_threshold
        self.brightness_quantile = brightness_quantile
        self.saturation_quantile = saturation_quantile
        self.epochs = epochs
        self.shuffle = shuffle
        self.keep_only_fired = keep_only_fired
        self.initial_resource = initial_resource
        self.random_state = random_state
        self.n_threads = n_threads
        self.progress = progress
        self.channels = channels
        self.contrast_size = contrast_size
        self.scales = scales

    # ------------------------------------------------------------------ checks
    # Ranges the core also checks are checked here first on purpose: this runs before any
    # pass over the data, before int()/float() in the core call could truncate (3.7 -> 3),
    # and load() uses it to vet a file's parameters. The core's check guards direct _core use.
    def _check_params(self) -> None:
        def integer(name: str, lo: int) -> None:
            check_int(name, getattr(self, name), lo)

        def real(name: str, ok: Any, rng: str, allow_none: bool = False) -> None:
            check_real(name, getattr(self, name), ok, rng, allow_none)

        integer("kernel_size", 1)
        integer("n_kernels", 1)
        integer("stride", 1)
        check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        # Bounded so the resource arithmetic stays finite (docs/robustness.md).
        real("w_min", lambda v: -1e6 <= v <= -1e-6, "in [-1e6, -1e-6]")
        real("w_max", lambda v: 1e-6 <= v <= 1e6, "in [1e-6, 1e6]")
        real(
            "learning_rate",
            lambda v: 0 < v <= 1e6,
            "in (0, 1e6] (or None for 3 / number of images)",
            True,
        )
        real("brightness_threshold", lambda v: True, "finite", True)
        real("brightness_quantile", lambda v: 0 <= v <= 1, "in [0, 1]")
        real("saturation_quantile", lambda v: 0 <= v < 1, "in [0, 1) or None", True)
        check_random_state_param(self.random_state)
        check_n_threads(self.n_threads)
        check_channels(self.channels, self.contrast_size)
        self._scale_sides()

    def _scale_sides(self) -> tuple[int, ...]:
        """``scales`` checked: distinct integers in [1, kernel_size)."""
        sc = self.scales
        if isinstance(sc, (str, bytes)) or not isinstance(sc, (tuple, list)):
            raise ParameterTypeError(
                f"scales: must be a tuple of kernel sides, got {type(sc).__name__} {sc!r:.60}"
            )
        k = int(self.kernel_size)
        for v in sc:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v < k:
                raise ParameterError(
                    f"scales: each side must be an integer in [1, kernel_size) = [1, {k}), "
                    f"got {v!r} (scales=() learns the main size alone)"
                )
        if len(set(int(v) for v in sc)) != len(sc):
            raise ParameterError(f"scales: sides must be distinct, got {tuple(sc)!r}")
        if sc and self.initial_resource is not None:
            raise ParameterError("initial_resource: needs scales=() (it sets the main size only)")
        return tuple(int(v) for v in sc)

    def _channels_of(self, images: Any) -> Any:
        """The input as the kernels see it: the images, or their contrast channels."""
        return with_channels(images, self.channels, self.contrast_size)

    # ------------------------------------------------------------------ fitting
    def fit(self, images: Any, y: Any = None) -> KernelLearner:
        """Learns kernels from scratch on ``images`` for ``epochs`` passes."""
        self._check_params()
        self.__dict__.pop("_core", None)
        self.scale_learners_: list[KernelLearner] = []
        self.seed_ = seed_from(self.random_state)
        sides = self._scale_sides()
        if sides and isinstance(images, Iterator):
            raise DataError(
                "images: scales learn one pass per kernel size, but a one-shot iterator can "
                "be read only once; pass a re-iterable such as a list, or scales=()"
            )
        self._learn(images, self.epochs, fresh=True)
        if sides:
            for side in sides:
                p = self.get_params(deep=False)
                p.update(kernel_size=side, scales=(), random_state=self.seed_)
                self.scale_learners_.append(type(self)(**p).fit(images))
            self._sync_scales()
        return self

    def partial_fit(self, images: Any, y: Any = None) -> KernelLearner:
        """One pass over ``images``, continuing from the current state.

        The first call fixes the brightness threshold (from this batch unless given).
        ``learning_rate`` must be explicit: 3 / |G| needs the whole set's size.
        """
        if self.scales:
            raise ParameterError(
                "scales: partial_fit learns one kernel size; use fit, or scales=()"
            )
        if not hasattr(self, "_core"):
            self._check_params()
            if self.learning_rate is None:
                raise ParameterError(
                    "learning_rate: partial_fit cannot use the default 3 / number of images "
                    "because the total is unknown; pass learning_rate explicitly"
                )
            self.seed_ = seed_from(self.random_state)
            return self._learn(images, 1, fresh=True)
        return self._learn(images, 1, fresh=False)

    def _learn(self, images: Any, epochs: int, fresh: bool) -> KernelLearner:
        if not fresh:
            self._check_params()
        images = self._channels_of(images)
        stack = as_stack(images, multichannel=True)
        if (
            stack is None
            and isinstance(images, Iterator)
            and (fresh and (self.brightness_threshold is None or self.learning_rate is None))
        ):
            raise DataError(
                "images: a one-shot iterator can be read only once, but the brightness "
                "threshold (brightness_threshold=None) and/or learning_rate=None need a first "
                "pass; pass both explicitly, or a re-iterable such as a list"
            )
        if stack is not None:
            k = self.kernel_size
            h, w = image_size(stack)
            if h < k or w < k:
                raise ParameterError(f"kernel_size: {k} is larger than the {h}x{w} images")
            if not fresh:
                self._check_channels(n_channels(stack))
        if stack is None and fresh and isinstance(images, Iterator):
            # The channel count comes from the first frame: keep it for learning.
            first = next(images, None)
            if first is None:
                raise DataError("images: empty input (0 images)")
            images = _Peeked(first, images)
        # The threshold's first pass is counted while preparing the stack, if needed.
        count = fresh and stack is not None and self.brightness_threshold is None
        q = _core.StreamQuantile(1.0 - float(self.brightness_quantile)) if count else None
        prepared = (
            None if stack is None else _Prepared(stack, self.saturation_quantile, self.n_threads, q)
        )
        if fresh:
            self._start(images, prepared)
        core = self._core
        seed = self.seed_
        total = epochs * (stack.shape[0] if stack is not None else _len_or_none(images) or 0)
        stats: list[np.ndarray] = []
        try:
            with progress_bar(self.progress, total or None, "learning kernels") as bar:
                for _ in range(epochs):
                    for batch, order in self._batches(images, prepared, seed, self.epochs_done_):
                        stats.append(core.learn(batch, order, self.n_threads))
                        bar.update(batch.shape[0] if order is None else order.shape[0])
                    self.epochs_done_ += 1
        finally:
            self._sync(stats)
        return self

    def _batches(
        self, images: Any, prepared: _Prepared | None, seed: int, epoch: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """(preprocessed images, learning order within them or None for all in order)."""
        sq = self.saturation_quantile
        if prepared is not None:
            n = prepared.stack.shape[0]
            order = _core.permutation(n, seed, epoch) if self.shuffle else None
            for idx in chunks(prepared.stack, order):
                if prepared.cache is not None:
                    yield prepared.cache, np.ascontiguousarray(idx, dtype=np.uint64)
                else:
                    yield prepared.batch(idx), None
            return
        if self.shuffle and isinstance(images, (list, tuple)):
            order = _core.permutation(len(images), seed, epoch)
            images = [images[int(i)] for i in order]
        elif self.shuffle and not getattr(self, "_warned_shuffle", False):
            warnings.warn(
                "shuffle=True has no effect on a stream of frames; they are learned in the "
                "order given (pass a list or an array to shuffle)",
                UserWarning,
                stacklevel=4,
            )
            self._warned_shuffle = True
        for frame in frames(images, multichannel=True):
            self._check_frame(frame)
            yield normalise_brightness(frame, sq, self.n_threads), None

    def _check_frame(self, frame: np.ndarray) -> None:
        k = self.kernel_size
        h, w = image_size(frame)
        if h < k or w < k:
            raise ParameterError(f"kernel_size: {k} is larger than a {h}x{w} frame")
        self._check_channels(n_channels(frame))

    def _check_channels(self, c: int) -> None:
        have = getattr(self, "n_channels_", None)
        if have is not None and c != have:
            raise DataError(f"images: {c} channels, but the kernels were learned on {have}")

    def _start(self, images: Any, prepared: _Prepared | None) -> None:
        """Fixes B and l for this fit and creates the core state."""
        if self.brightness_threshold is not None:
            b = float(self.brightness_threshold)
        else:
            b = self._brightness_from(images, prepared)
        if self.learning_rate is not None:
            lr = float(self.learning_rate)
        else:
            n = prepared.stack.shape[0] if prepared is not None else _len_or_none(images)
            if n is None:
                raise ParameterError(
                    "learning_rate: None means 3 / number of images, but the input has no "
                    "len(); pass learning_rate explicitly"
                )
            if n == 0:
                raise DataError("images: empty input (0 images)")
            lr = 3.0 / n
        c = n_channels(prepared.stack) if prepared is not None else _stream_channels(images)
        init = self.initial_resource
        if init is not None:
            init = np.ascontiguousarray(init, dtype=np.float64)
            want = _kernel_shape(int(self.n_kernels), c, int(self.kernel_size))
            if init.shape != want:
                raise ParameterError(f"initial_resource: must have shape {want}, got {init.shape}")
        self._core = _core.KernelLearnerCore(
            {
                "kernel_size": int(self.kernel_size),
                "n_kernels": int(self.n_kernels),
                "stride": int(self.stride),
                "w_min": float(self.w_min),
                "w_max": float(self.w_max),
                "learning_rate": lr,
                "brightness_threshold": b,
                "channels": c,
            },
            self.seed_,
            init,
        )
        self.brightness_threshold_ = b
        self.learning_rate_ = lr
        self.epochs_done_ = 0
        self.n_channels_ = c
        self.image_shape_ = None if prepared is None else image_size(prepared.stack)

    def _brightness_from(self, images: Any, prepared: _Prepared | None) -> float:
        """Exact quantile of all preprocessed pixels, in two bounded-memory passes
        (the first may already have been counted while preparing the stack)."""
        sq = self.saturation_quantile
        cache = prepared.cache if prepared is not None else None
        counted = prepared.counted if prepared is not None else None

        def passes() -> Iterator[np.ndarray]:
            if prepared is not None:
                for idx in chunks(prepared.stack):
                    yield prepared.batch(idx).ravel()
            else:
                for frame in frames(images, multichannel=True):
                    yield normalise_brightness(frame, sq, self.n_threads).ravel()

        if counted is not None:
            q = counted
        else:
            q = _core.StreamQuantile(1.0 - float(self.brightness_quantile))
            if cache is not None:
                cache.count_into(q)
            else:
                for v in passes():
                    q.count(v)
        if not q.locate():
            raise DataError("images: empty input (0 pixels)")
        if q.needs_second_pass():
            if cache is not None:
                cache.collect_into(q)
            else:
                for v in passes():
                    q.collect(v)
        b = q.finish()
        if b is None:
            raise DataError("images: the input changed between the two threshold passes")
        return float(b)

    def _sync(self, stats: list[np.ndarray]) -> None:
        core = self._core
        self.all_kernels_ = core.weights
        self.resource_ = core.resource
        self.fired_ = np.asarray(core.fired, dtype=bool)
        self.n_images_seen_ = int(core.images_seen)
        self.stats_ = np.concatenate(stats) if stats else np.zeros((0, 3), np.uint32)
        keep = self.fired_ if self.keep_only_fired else np.ones_like(self.fired_)
        self.kernels_ = self.all_kernels_[keep]
        self.kernel_sizes_ = np.full(self.kernels_.shape[0], int(self.kernel_size), np.int64)
        self.n_features_out_ = int(self.kernels_.shape[0])
        if getattr(self, "scale_learners_", None):
            self._sync_scales()

    def _sync_scales(self) -> None:
        """Appends each scale's kept kernels, centred in zeros at the main size."""
        k = int(self.kernel_size)
        parts, sides = [self.kernels_[: int((self.kernel_sizes_ == k).sum())]], []
        sides.append(np.full(parts[0].shape[0], k, np.int64))
        for sub in self.scale_learners_:
            side, o = int(sub.kernel_size), (k - int(sub.kernel_size)) // 2
            pad = np.zeros((*sub.kernels_.shape[:-2], k, k), np.float64)
            pad[..., o : o + side, o : o + side] = sub.kernels_
            parts.append(pad)
            sides.append(np.full(pad.shape[0], side, np.int64))
        self.kernels_ = np.concatenate(parts)
        self.kernel_sizes_ = np.concatenate(sides)
        self.n_features_out_ = int(self.kernels_.shape[0])

    # ------------------------------------------------------------------ features
    def transform(self, images: Any) -> np.ndarray | list[np.ndarray]:
        """Convolution maps (N, n_kernels, P, Q), float32, of the preprocessed images.

        Images are preprocessed exactly as in ``fit``. A stream of frames gives a list
        of (n_kernels, P, Q) arrays.
        """
        self._check_fitted()
        if self.kernels_.shape[0] == 0:
            warnings.warn(
                "no kernel fired during learning (keep_only_fired=True): the maps are empty; "
                "learn on more images or set keep_only_fired=False",
                UserWarning,
                stacklevel=2,
            )
        images = self._channels_of(images)
        stack = as_stack(images, multichannel=True)
        k, s = self.kernel_size, self.stride
        kern = np.ascontiguousarray(self.kernels_, dtype=np.float64)
        sq = self.saturation_quantile
        if stack is not None:
            self._check_channels(n_channels(stack))
            h, w = image_size(stack)
            if h < k or w < k:
                raise DataError(f"images: {h}x{w} images are smaller than kernel_size={k}")
            out_shape = (stack.shape[0], kern.shape[0], (h - k) // s + 1, (w - k) // s + 1)
            check_alloc("images", out_shape, 4)  # the float32 maps, concatenated here
            reader, parts = Reader(stack), []
            for idx in chunks(stack):
                g = normalise_brightness(stack[idx], sq, self.n_threads)
                parts.append(_conv(g, kern, s, self.n_threads))
                reader.read(len(idx), True, stack.strides[0])
            return np.concatenate(parts)
        out = []
        for frame in frames(images, multichannel=True):
            self._check_frame(frame)
            out.append(
                _conv(normalise_brightness(frame, sq, self.n_threads), kern, s, self.n_threads)[0]
            )
        return out

    def fit_transform(self, images: Any, y: Any = None) -> np.ndarray | list[np.ndarray]:
        return self.fit(images).transform(images)

    def _check_fitted(self) -> None:
        check_fitted(self, "kernels_", "fit(images) or load(path)")

    def __sklearn_tags__(self) -> Any:
        return image_input_tags(super().__sklearn_tags__())

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> str:
        """Writes the learner (parameters and full state) to an ``.npz`` file, atomically.

        An existing file at ``path`` is replaced only if it is a KernelLearner file;
        anything else raises FileExistsError unless ``overwrite=True``."""
        self._check_fitted()
        meta, arrays = self._export()
        return str(save_npz(path, _FORMAT, _FORMAT_VERSION, meta, arrays, overwrite))

    def _export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The metadata and arrays of the model file (also the pickled state)."""
        params = {k: v for k, v in self.get_params().items() if k != "initial_resource"}
        params["random_state"] = self.seed_  # the seed in use, whatever its source
        params["scales"] = [int(v) for v in self.scales]  # JSON holds lists
        meta = {
            "params": params,
            "brightness_threshold_": self.brightness_threshold_,
            "learning_rate_": self.learning_rate_,
            "n_images_seen_": self.n_images_seen_,
            "epochs_done_": self.epochs_done_,
            "snnconv_version": _core.__version__,
        }
        arrays = {
            "weights": self.all_kernels_,
            "resource": self.resource_,
            "fired": self.fired_,
        }
        # Each scale's own state, so a loaded learner holds exactly its kernels.
        for i, sub in enumerate(getattr(self, "scale_learners_", [])):
            m, a = sub._export()
            meta[f"scale_{i}"] = {key: m[key] for key in _SCALE_META}
            arrays.update({f"scale_{i}_{name}": v for name, v in a.items()})
        return meta, arrays

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> KernelLearner:
        """Reads a learner written by :meth:`save`; it can transform or keep learning."""
        meta, arrays = load_npz(path, _FORMAT, _FORMAT_VERSION)
        return cls._from_export(meta, arrays, str(path))

    @classmethod
    def _from_export(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], path: str
    ) -> KernelLearner:
        with reading(path, "KernelLearner"):
            meta = with_added_params(meta, 3, {"scales": []})
            raw = meta.get("params")
            n_scales = (
                len(raw["scales"])
                if isinstance(raw, dict) and isinstance(raw.get("scales"), list)
                else 0
            )
            names = {f"scale_{i}" for i in range(n_scales)}
            kinds = {"weights": "float64", "resource": "float64", "fired": "bool"}
            check_schema(
                meta,
                arrays,
                {
                    "params",
                    "brightness_threshold_",
                    "learning_rate_",
                    "n_images_seen_",
                    "epochs_done_",
                }
                | names,
                {**kinds, **{f"{s}_{a}": t for s in names for a, t in kinds.items()}},
            )
            params = field_params(meta, like=cls, exclude=("initial_resource",))
            params["scales"] = tuple(params["scales"])
            self = cls(**params)
            self._check_params()
            self.seed_ = seed_from(self.random_state)
            lr = field_float(meta, "learning_rate_", lambda v: 0 < v <= 1e6, "in (0, 1e6]")
            # The given threshold, or a quantile of brightness values (in [0, 1]).
            fixed = self.brightness_threshold
            bt = field_float(
                meta,
                "brightness_threshold_",
                (lambda v: 0 <= v <= 1) if fixed is None else (lambda v: v == float(fixed)),
                "in [0, 1]" if fixed is None else f"equal to brightness_threshold = {fixed}",
            )
            seen = field_int(meta, "n_images_seen_")
            epochs_done = field_int(meta, "epochs_done_", 0, 2**62) if "epochs_done_" in meta else 0
            k, n = int(self.kernel_size), int(self.n_kernels)
            w = np.ascontiguousarray(arrays["weights"], dtype=np.float64)
            r = np.ascontiguousarray(arrays["resource"], dtype=np.float64)
            fired_arr = np.asarray(arrays["fired"])
            # One channel is stored as (n, K, K), C > 1 channels as (n, C, K, K).
            c = int(w.shape[1]) if w.ndim == 4 and w.shape[1] > 1 else 1
            for name, a in (("weights", w), ("resource", r)):
                if a.shape != _kernel_shape(n, c, k):
                    raise ModelFileError(
                        f"{name}: shape {a.shape}, expected {_kernel_shape(n, c, k)}"
                    )
            if fired_arr.shape != (n,) or fired_arr.dtype != bool:
                raise ModelFileError(
                    f"fired: expected {n} booleans, got {fired_arr.dtype} {fired_arr.shape}"
                )
            if not isinstance(self.random_state, int):
                raise ModelFileError("params.random_state: must be the integer seed in use")
            if self.learning_rate is not None and lr != float(self.learning_rate):
                raise ModelFileError("learning_rate_: differs from the learning_rate parameter")
            span = float(self.w_max) - float(self.w_min)
            tol = 1e-9 * max(1.0, abs(span))
            # The weights are w(resource) (docs/algorithms.md §1), exactly as computed here.
            pos = np.maximum(r, 0.0)
            law = float(self.w_min) + span * pos / (span + pos)
            if not np.all(np.abs(law - w) <= tol):
                raise ModelFileError("resource: the weights are not w(resource)")
            if w.min() < float(self.w_min) - tol or w.max() > float(self.w_max) + tol:
                raise ModelFileError(
                    f"weights: outside [w_min, w_max] = [{self.w_min}, {self.w_max}]"
                )
            self._core = _core.KernelLearnerCore.restore(
                {
                    "kernel_size": k,
                    "n_kernels": n,
                    "stride": int(self.stride),
                    "w_min": float(self.w_min),
                    "w_max": float(self.w_max),
                    "learning_rate": lr,
                    "brightness_threshold": bt,
                    "channels": c,
                },
                self.seed_,
                r,
                w,
                [bool(x) for x in fired_arr],
                seen,
            )
        self.brightness_threshold_ = bt
        self.learning_rate_ = lr
        self.epochs_done_ = epochs_done
        self.n_channels_ = c
        self.image_shape_ = None
        self.scale_learners_ = []
        for i, side in enumerate(self.scales):
            entry = meta[f"scale_{i}"]
            if not isinstance(entry, dict) or set(entry) != set(_SCALE_META):
                raise ModelFileError(f"scale_{i}: must hold exactly {sorted(_SCALE_META)}")
            sub_meta = {
                **entry,
                "params": {**params, "kernel_size": int(side), "scales": []},
                "snnconv_version": meta.get("snnconv_version", _core.__version__),
            }
            sub_arrays = {a: arrays[f"scale_{i}_{a}"] for a in ("weights", "resource", "fired")}
            sub = cls._from_export(sub_meta, sub_arrays, path)
            if sub.n_channels_ != c or sub.brightness_threshold_ != bt:
                raise ModelFileError(
                    f"scale_{i}: its channels and brightness threshold must be the main size's"
                )
            self.scale_learners_.append(sub)
        self._sync([])
        return self


class _Prepared:
    """An image stack ready for learning. A stack of moderate size is held in the
    core as a ``PreparedStack`` (uint8 stays one byte per pixel and is preprocessed
    image by image when learned from, so it is never copied to float64 as a whole);
    a larger one is preprocessed batch by batch."""

    #: bytes of pixels held in the core at most (512 MiB)
    LIMIT = 1 << 29

    def __init__(
        self, stack: np.ndarray, sq: float | None, n_threads: int | None, count_into: Any = None
    ) -> None:
        self.stack, self.sq, self.n_threads = stack, sq, n_threads
        # A memory-mapped stack stays on disk: it is read batch by batch, its pages
        # released as it goes (_util.blocks), rather than copied into the core.
        self._reader = Reader(stack)
        small = stack.size * stack.dtype.itemsize <= self.LIMIT and mapping(stack) is None
        self.cache = _core.PreparedStack(stack, sq, n_threads, count_into) if small else None
        #: ``count_into`` once it holds the first-pass counts of every preprocessed pixel
        self.counted = count_into if small else None

    def batch(self, idx: np.ndarray) -> np.ndarray:
        if self.cache is not None:
            return self.cache.take(np.ascontiguousarray(idx, dtype=np.uint64))
        return normalise_brightness(self._reader.gather(self.stack, idx), self.sq, self.n_threads)


def with_channels(images: Any, channels: str, size: int) -> Any:
    """``images`` with the channels of the ``channels`` option: unchanged for
    ``"image"``; else their contrast channels (an array for an array, a stream for a
    stream, read lazily)."""
    if channels == "image":
        return images
    stack = as_stack(images)
    if stack is not None:
        return contrast_channels(stack, channels, size)
    if isinstance(images, Iterator):
        return (contrast_channels(f, channels, size)[0] for f in frames(images))
    if isinstance(images, (list, tuple)):
        return [contrast_channels(f, channels, size)[0] for f in frames(images)]
    return _ContrastFrames(images, channels, size)


class _ContrastFrames:
    """A re-iterable stream of frames read as their contrast channels."""

    def __init__(self, images: Any, channels: str, size: int) -> None:
        self.images, self.channels, self.size = images, channels, size

    def __iter__(self) -> Iterator[np.ndarray]:
        for f in frames(self.images):
            yield contrast_channels(f, self.channels, self.size)[0]

    def __len__(self) -> int:
        return len(self.images)


#: What each scale's entry in a model file holds besides its arrays (its parameters are
#: the main ones with its own side).
_SCALE_META = ("brightness_threshold_", "learning_rate_", "n_images_seen_", "epochs_done_")


def _kernel_shape(n: int, c: int, k: int) -> tuple[int, ...]:
    """(n, K, K) for one channel, (n, C, K, K) for several."""
    return (n, k, k) if c == 1 else (n, c, k, k)


class _Peeked:
    """A one-shot stream whose first frame has been read (for its channel count)."""

    def __init__(self, first: Any, rest: Iterator[Any]) -> None:
        self.first = first
        self._frames = itertools.chain([first], rest)

    def __iter__(self) -> Iterator[Any]:
        return self._frames

    def __next__(self) -> Any:
        return next(self._frames)


def _stream_channels(images: Any) -> int:
    """Channels of the first frame of a stream (1 for 2-D frames)."""
    if isinstance(images, _Peeked):
        images = [images.first]
    for frame in frames(images, multichannel=True):
        return n_channels(frame)
    return 1


def _conv(g: np.ndarray, kernels: np.ndarray, stride: int, n_threads: int | None) -> np.ndarray:
    """Float32 maps (N, n, P, Q) of normalised images (N, H, W) or (N, C, H, W); with
    channels, the per-channel maps are summed in channel order."""
    if g.ndim == 3:
        return _core.conv_features(g, kernels, stride, n_threads)
    out = _core.conv_features(
        np.ascontiguousarray(g[:, 0]), kernels[:, 0].copy(), stride, n_threads
    )
    for c in range(1, g.shape[1]):
        out += _core.conv_features(
            np.ascontiguousarray(g[:, c]), kernels[:, c].copy(), stride, n_threads
        )
    return out


def _len_or_none(x: Any) -> int | None:
    try:
        return len(x)
    except TypeError:
        return None
