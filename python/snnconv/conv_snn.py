"""scikit-learn style front for the convolutional spiking front-end of docs/algorithms.md §2."""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import TransformerMixin

from . import _core
from ._util.blocks import Reader
from ._util.estimator import (
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
    check_finite_range,
    check_schema,
    field_float,
    field_int,
    field_params,
    load_npz,
    reading,
    save_npz,
)
from ._util.progress import progress_bar
from ._util.validation import (
    alloc_budget,
    check_alloc,
    check_int,
    check_n_threads,
    check_real,
)
from .contrast import check_channels, n_channels_of
from .exceptions import DataError, ModelFileError, ParameterError, ParameterTypeError

_FORMAT = "snnconv.ConvSNN"
_FORMAT_VERSION = 2  # 2: arrays carry SHA-256 checksums; 1 still loads
_DEFAULT_SATURATION = 0.03


def _normal_float32(v: float) -> bool:
    """Whether ``v`` rounds to a normal float32 (the core's test of the threshold)."""
    with np.errstate(over="ignore"):
        f = np.float32(v)
    return bool(np.isfinite(f) and abs(f) >= np.finfo(np.float32).tiny)


#: Learned state, cleared at the start of every fit.
_FITTED = (
    "_cores",
    "kernels_",
    "scale_",
    "saturation_quantile_",
    "calibration_rate_",
    "calibration_rates_",
    "n_calibration_evaluations_",
    "kernel_learner_",
    "seed_",
    "image_shape_",
    "channels_",
    "contrast_size_",
)
#: Parameters baked into a compiled network.
_CORE_PARAMS = (
    "stride",
    "pool",
    "tau",
    "threshold",
    "frame_steps",
    "active_steps",
    "encoding",
    "max_rate",
    "reset_carry",
    "reset",
)


@dataclass(frozen=True)
class SpikeCounts:
    """Everything :meth:`ConvSNN.run` measures, one row per image.

    ``pooled`` and ``backlog`` are (N, n_kernels, P', Q') uint16: the pooled spike
    counts, and the spikes each pooling neuron still held when the frame ended (all
    zero when the silent steps were long enough; ``pooled + backlog`` is the exact
    sum of the block's conv spikes). ``conv_counts`` (N, n_kernels) uint32 are conv
    spikes per kernel; ``input_spikes``, ``conv_spikes``, ``pool_spikes`` and
    ``synaptic_events`` (N,) uint64 are totals per image (events = input→conv
    synapse activations + conv→pool ones, an energy proxy). ``carry`` (H, W) uint64
    is the accumulator state after the last image (units of 1/(255·2²³) spike).
    """

    pooled: np.ndarray
    backlog: np.ndarray
    conv_counts: np.ndarray
    input_spikes: np.ndarray
    conv_spikes: np.ndarray
    pool_spikes: np.ndarray
    synaptic_events: np.ndarray
    carry: np.ndarray | None


class ConvSNN(TransformerMixin, SnnconvEstimator, auto_wrap_output_keys=None):
    """Learned kernels ported into a fixed-step spiking network (docs/algorithms.md §2).

    Each image is one frame of ``frame_steps`` steps: pixels spike during the first
    ``active_steps`` (rate g·``max_rate`` per step), a layer of LIF neurons (one per
    kernel and position, synapses α·w, leak 1 − 1/``tau``, threshold ``threshold``,
    reset by subtraction) integrates them, and sum-pooling neurons count the conv
    spikes of each ``pool``×``pool`` block exactly. α is calibrated by bisection so
    the conv neurons fire ``target_rate`` spikes per frame on average.

    Input: images (N, H, W) of any size >= the kernels (uint8 or floats in [0, 1]), or
    an iterable of equal-size 2-D frames; not a 2-D feature matrix. Images of C > 1
    channels (N, C, H, W) need kernels (n_kernels, C, K, K): there is one input node
    per channel and pixel, each channel encoded as an image is, and each conv neuron
    has synapses from its C×K×K receptive field (docs/algorithms.md §1.5). Input that
    already is spikes skips the encoder: :meth:`run_events` takes event-camera streams
    (one input channel per polarity), :meth:`run_rasters` spike-count rasters, each
    with its own calibration. A fitted front-end pickles; ``sklearn.base.clone`` gives
    an unfitted one.

    Parameters
    ----------
    kernels : None, array (n_kernels, K, K) or (n_kernels, C, K, K), or KernelLearner, \
default=None
        The kernels. A fitted ``KernelLearner`` contributes its ``kernels_`` as they
        are; an unfitted one is cloned and fitted on the images given to ``fit``
        (kept as ``kernel_learner_``), so ``ConvSNN(KernelLearner())`` is a complete
        unsupervised feature extractor in a scikit-learn Pipeline. ``None`` (the
        default) is ``KernelLearner(stride=stride)`` with this estimator's
        ``random_state``, ``n_threads`` and ``progress``: ``ConvSNN().fit(images)``
        learns kernels on ``images`` first, then calibrates.
    stride : int, default=2
        Convolution stride (>= 1).
    pool : int, default=2
        Side of the sum-pooling blocks (>= 1; conv rows/columns past the last full block
        are not pooled). ``pool² · frame_steps`` must be <= 65535.
    tau : float or None, default=10.0
        Leak time constant in steps (>= 1); ``None`` or ``math.inf``: no leak.
    threshold : float, default=1.0
        u_THR of the conv neurons (> 0). Only α/threshold matters once calibrated.
    target_rate : float, default=1.0
        Mean conv spikes per neuron per frame that calibration aims at, in
        (0, frame_steps).
    frame_steps : int, default=15
        P of docs/algorithms.md §2: steps per frame (one image), in [1, 65535].
    active_steps : int, default=10
        T_p of docs/algorithms.md §2: the first steps of the frame, during which the
        pixels spike (1 <= T_p <= P); the remaining steps are silent.
    encoding : {"accumulator", "poisson"}, default="accumulator"
        Deterministic accumulator (spikes ≈ T_p·g, exact integer arithmetic) or
        seeded Bernoulli spikes with probability g·max_rate per step (one stream per
        image index, seeded by ``random_state``).
    max_rate : float, default=1.0
        f_max, spikes per step at brightness 1, in (0, 1].
    reset_carry : bool, default=False
        Accumulator only: start every frame from zero carry instead of carrying the
        fractional remainder from the previous image. Each call (``fit``,
        ``transform``, ...) is one presentation that starts from zero carry, so a
        call's result depends on the order of its images but never on earlier calls.
    reset : {"subtract", "zero"}, default="subtract"
        Conv neuron reset after a spike: u − u_THR (docs/algorithms.md §2) or 0 (for comparison).
    scale : None, float or array (n_kernels,), default=None
        Fixed α instead of calibration (``fit`` then only resolves the kernels).
    scale_per_kernel : bool, default=False
        Calibrate one α per kernel (each kernel fires at ``target_rate``) instead of
        one for the layer. A kernel that cannot reach ``target_rate`` on the calibration
        images (none of its positive cells meets them) gets the lower median of the
        other kernels' α, with a warning naming it; if no kernel can, the calibration
        fails.
    saturation_quantile : "auto", float or None, default="auto"
        Per-image brightness preprocessing of docs/algorithms.md §1, so the network sees the
        brightness the kernels were learned on. "auto": the KernelLearner's own
        setting when ``kernels`` is one, else the docs/algorithms.md §1 default 0.03. ``None``:
        plain g = pixel / 255.
    channels : "auto" or {"image", "on_off", "on_off_image"}, default="auto"
        The input channels (docs/algorithms.md §1.6), as ``KernelLearner``'s option of
        the same name: the network sees what the kernels were learned on. "auto": the
        KernelLearner's own setting when ``kernels`` is one, else ``KernelLearner``'s
        default.
    contrast_size : "auto" or int, default="auto"
        Window side of the contrast channels; "auto" as for ``channels``.
    flatten : bool, default=False
        ``transform`` returns (N, n_kernels·P'·Q') instead of (N, n_kernels, P', Q').
    on_backlog : {"warn", "ignore", "raise"}, default="warn"
        What ``transform`` does when a pooling neuron still holds spikes at the end
        of a frame (its count is then short of the block sum; a pooling neuron emits
        at most one spike per step, so busy blocks need more than the silent steps
        to drain). "warn" warns once per fitted model (the condition is a property of
        the settings, not of one batch); ``run`` always reports the backlog.
    random_state : None, int, numpy RandomState or Generator, default=0
        Seed of the Poisson encoder (and of the kernel learner for ``kernels=None``).
        An int is the seed itself; from the others a seed is drawn once per ``fit``
        (kept as ``seed_``, used by every later ``transform``).
    n_threads : int or None, default=None
        Threads of the Rust core (None: all cores). Results do not depend on it.
    progress : bool, default=False
        Show a progress bar (needs the ``progress`` extra).

    Attributes
    ----------
    kernels_ : ndarray
        The kernels in use, (n_kernels, K, K), or (n_kernels, C, K, K) for C > 1 input
        channels.
    scale_ : ndarray
        α per kernel, float64 (n_kernels,); all equal for a per-layer scale.
    calibration_rate_ : float
        Mean conv rate reached on the calibration sample.
    calibration_rates_ : ndarray
        The same per kernel.
    n_calibration_evaluations_ : int
        Bisection passes the calibration took.
    saturation_quantile_ : float
        The brightness normalisation's saturation quantile in use.
    kernel_learner_ : KernelLearner
        Only when a KernelLearner was fitted here.
    channels_, contrast_size_ : str, int
        The channel option in use (``channels`` resolved).
    seed_ : int
        The seed in use: ``random_state`` itself when an int, else drawn from it in fit.
    image_shape_ : tuple or None
        (H, W) of the calibration images; None when loaded from a file. There is no
        ``n_features_in_``: any image size >= the kernels works.
    """

    def __init__(
        self,
        kernels: Any = None,
        stride: int = 2,
        pool: int = 2,
        tau: float | None = 10.0,
        threshold: float = 1.0,
        target_rate: float = 1.0,
        frame_steps: int = 15,
        active_steps: int = 10,
        encoding: str = "accumulator",
        max_rate: float = 1.0,
        reset_carry: bool = False,
        reset: str = "subtract",
        scale: Any = None,
        scale_per_kernel: bool = False,
        saturation_quantile: float | str | None = "auto",
        channels: str = "auto",
        contrast_size: int | str = "auto",
        flatten: bool = False,
        on_backlog: str = "warn",
        random_state: Any = 0,
        n_threads: int | None = None,
        progress: bool = False,
    ) -> None:
        self.kernels = kernels
        self.stride = stride
        self.pool = pool
        self.tau = tau
        self.threshold = threshold
        self.target_rate = target_rate
        self.frame_steps = frame_steps
        self.active_steps = active_steps
        self.encoding = encoding
        self.max_rate = max_rate
        self.reset_carry = reset_carry
        self.reset = reset
        self.scale = scale
        self.scale_per_kernel = scale_per_kernel
        self.saturation_quantile = saturation_quantile
        self.channels = channels
        self.contrast_size = contrast_size
        self.flatten = flatten
        self.on_backlog = on_backlog
        self.random_state = random_state
        self.n_threads = n_threads
        self.progress = progress

    # ------------------------------------------------------------------ checks
    # Ranges the core also checks are checked here first on purpose: this runs before any
    # pass over the data, before int()/float() in the core call could truncate (3.7 -> 3),
    # and load() uses it to vet a file's parameters. The core's check guards direct _core use.
    def _check_params(self) -> None:
        def integer(name: str, lo: int, hi: int | None = None) -> int:
            return check_int(name, getattr(self, name), lo, hi)

        def real(name: str, ok: Any, rng: str) -> float:
            return check_real(name, getattr(self, name), ok, rng, allow_inf=True)

        integer("stride", 1)
        pool = integer("pool", 1)
        steps = integer("frame_steps", 1, 65535)
        integer("active_steps", 1, steps)
        if pool * pool * steps > 65535:
            raise ParameterError(
                f"pool: pool² · frame_steps must be <= 65535 (uint16 counts, exact pooling), "
                f"got {pool}² · {steps}"
            )
        if self.tau is not None:
            real("tau", lambda v: v >= 1, ">= 1 step, or None / math.inf for no leak")
        # The core keeps potentials in float32: the threshold must be a normal float32
        # (a model file cannot bring in one that a fit would refuse).
        real(
            "threshold",
            lambda v: v > 0 and _normal_float32(v),
            "> 0 and representable as a normal float32 (about 1.2e-38 to 3.4e38)",
        )
        real(
            "target_rate",
            lambda v: 0 < v < steps,
            f"in (0, frame_steps={steps}) spikes per neuron per frame",
        )
        real("max_rate", lambda v: 0 < v <= 1, "in (0, 1] spikes per step")
        if self.encoding not in ("accumulator", "poisson"):
            raise ParameterError(
                f"encoding: must be 'accumulator' or 'poisson', got {self.encoding!r}"
            )
        if self.on_backlog not in ("warn", "ignore", "raise"):
            raise ParameterError(
                f"on_backlog: must be 'warn', 'ignore' or 'raise', got {self.on_backlog!r}"
            )
        if self.reset not in ("subtract", "zero"):
            raise ParameterError(f"reset: must be 'subtract' or 'zero', got {self.reset!r}")
        sq = self.saturation_quantile
        if sq is not None and sq != "auto":
            real("saturation_quantile", lambda v: 0 <= v < 1, "in [0, 1), None or 'auto'")
        check_random_state_param(self.random_state)
        check_n_threads(self.n_threads)
        if self.channels != "auto" or self.contrast_size != "auto":
            defaults = _learner_defaults()
            check_channels(
                defaults["channels"] if self.channels == "auto" else self.channels,
                defaults["contrast_size"] if self.contrast_size == "auto" else self.contrast_size,
            )

    # ------------------------------------------------------------------ kernels
    def _resolve(self, images: Any, fitting: bool) -> tuple[np.ndarray, float | None]:
        """The kernel array and the saturation quantile to use."""
        from .kernel_learner import KernelLearner

        k = self.kernels
        sq = self.saturation_quantile
        ch, size = self.channels, self.contrast_size
        if k is None:
            own = {"channels": ch, "contrast_size": size}
            k = KernelLearner(
                stride=self.stride,
                random_state=self.seed_,
                n_threads=self.n_threads,
                progress=self.progress,
                **{name: v for name, v in own.items() if v != "auto"},
            )
        if isinstance(k, KernelLearner):
            if hasattr(k, "kernels_"):
                learner = k
            elif fitting:
                learner = type(k)(**k.get_params(deep=False))
                learner.fit(images)
                self.kernel_learner_ = learner
            else:
                check_fitted(k, "kernels_", "fit(images) or load(path)")
                learner = k
            arr = learner.kernels_
            if arr.shape[0] == 0:
                raise ParameterError(
                    "kernels: the KernelLearner kept no kernel (none fired); learn on more "
                    "images or use keep_only_fired=False"
                )
            if sq == "auto":
                sq = learner.saturation_quantile
            ch = learner.channels if ch == "auto" else ch
            size = learner.contrast_size if size == "auto" else size
        else:
            arr = k
            if sq == "auto":
                sq = _DEFAULT_SATURATION
        defaults = _learner_defaults()
        self.channels_ = str(defaults["channels"] if ch == "auto" else ch)
        self.contrast_size_ = int(defaults["contrast_size"] if size == "auto" else size)
        return _check_kernels(arr), (None if sq is None else float(sq))

    def _scales(self, n_kernels: int) -> np.ndarray:
        try:
            s = np.asarray(self.scale, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise ParameterTypeError(
                f"scale: must be a number or an array of one value per kernel, got "
                f"{type(self.scale).__name__}"
            ) from None
        if s.ndim == 0:
            s = np.full(n_kernels, float(s))
        if s.shape != (n_kernels,):
            raise ParameterError(
                f"scale: must be a number or an array of one value per kernel ({n_kernels}), "
                f"got shape {s.shape}"
            )
        if not np.isfinite(s).all() or (s < 0).any():
            raise ParameterError("scale: values must be finite and >= 0")
        return s

    # ------------------------------------------------------------------ fitting
    def fit(self, images: Any, y: Any = None) -> ConvSNN:
        """Calibrates α on ``images`` (see :meth:`calibrate`)."""
        return self.calibrate(images)

    def calibrate(self, images: Any) -> ConvSNN:
        """Sets ``scale_`` so the mean conv rate over ``images`` equals ``target_rate``.

        The whole sample is simulated once per bisection step (12–14 on MNIST), so
        pass a representative sample (a few hundred images), not a whole data set.
        With ``scale`` given, only the kernels are resolved.
        """
        self._check_params()
        for attr in _FITTED:  # a failed calibration leaves the estimator unfitted
            self.__dict__.pop(attr, None)
        self._backlog_warned = False
        self.seed_ = seed_from(self.random_state)
        raw = _stack(images)
        kernels, sq = self._resolve(raw, fitting=True)
        stack = _stack(self._channels_of(raw))
        _check_size(image_size(stack), kernels.shape[-1])
        _check_channels(stack, kernels)
        n = kernels.shape[0]
        if self.scale is not None:
            scales, evaluations = self._scales(n), 0
        else:
            core = self._new_core(kernels, *image_size(stack), np.ones(n))
            check_alloc("images", stack.shape, 8)  # the sample's brightness, float64
            g = np.concatenate(
                [normalise_brightness(stack[i], sq, self.n_threads) for i in chunks(stack)]
            )
            scales, rates, rate, evaluations, unreachable = core.calibrate(
                g, float(self.target_rate), bool(self.scale_per_kernel), self.n_threads
            )
            _warn_unreachable(unreachable, scales, rates, self.target_rate)
            self.calibration_rates_ = rates
            self.calibration_rate_ = float(rate)
        self.kernels_ = kernels
        self.saturation_quantile_ = sq
        self.image_shape_ = image_size(stack)
        self.n_calibration_evaluations_ = int(evaluations)
        self.scale_ = scales
        return self

    # ------------------------------------------------------------------ running
    def _new_core(self, kernels: np.ndarray, h: int, w: int, scales: np.ndarray) -> Any:
        tau = self.tau
        if tau is not None and math.isinf(tau):
            tau = None
        return _core.ConvSNNCore(
            np.ascontiguousarray(kernels, dtype=np.float64),
            np.ascontiguousarray(scales, dtype=np.float64),
            int(h),
            int(w),
            {
                "stride": int(self.stride),
                "pool": int(self.pool),
                "tau": None if tau is None else float(tau),
                "threshold": float(self.threshold),
                "frame_steps": int(self.frame_steps),
                "active_steps": int(self.active_steps),
                "encoding": str(self.encoding),
                "max_rate": float(self.max_rate),
                "reset_carry": bool(self.reset_carry),
                "reset": str(self.reset),
            },
            self.seed_,
        )

    def _core_for(self, h: int, w: int) -> Any:
        """The compiled network for h×w images, rebuilt whenever a parameter it
        depends on has changed (set_params after fit takes effect)."""
        self._check_fitted()
        _check_size((h, w), self.kernels_.shape[-1])
        self._check_params()
        key = (
            h,
            w,
            *(repr(getattr(self, p)) for p in _CORE_PARAMS),
            self.seed_,
            self.scale_.tobytes(),
            self.kernels_.tobytes(),
        )
        cores = self.__dict__.setdefault("_cores", {})
        if key not in cores:
            # At most 8 networks, and together no more memory than one allocation
            # budget beside the new one: each is sized for its image size, so a few
            # calls on huge (allowed) sizes must not pile up beyond the process's limit.
            size = self._core_bytes(h, w)
            if len(cores) >= 8 or size + sum(b for _, b in cores.values()) > alloc_budget():
                cores.clear()
            cores[key] = (self._new_core(self.kernels_, h, w, self.scale_), size)
        return cores[key][0]

    def _core_bytes(self, h: int, w: int) -> int:
        """A generous estimate of what the compiled network for h×w images keeps:
        index tables per input pixel, per image row and column (one a bit mask over
        the conv columns, which grows with the square of the width) and per neuron."""
        k, s = self.kernels_.shape[-1], int(self.stride)
        c = self.kernels_.shape[1] if self.kernels_.ndim == 4 else 1
        p, q = (h - k) // s + 1, (w - k) // s + 1
        lanes = -(-self.kernels_.shape[0] // 8) * 8
        return 12 * c * h * w + 8 * w * -(-q // 64) + 40 * w + 16 * h + 8 * p * q * lanes

    def run(
        self, images: Any, carry: np.ndarray | None = None, first_index: int = 0
    ) -> SpikeCounts:
        """Simulates every image (one frame each, in order) and returns all counts.

        A stream cut into batches continues seamlessly by passing the previous
        result's ``carry`` (accumulator) and the number of images already seen as
        ``first_index`` (Poisson streams are numbered by image index).
        """
        self._check_fitted()
        stack = _stack(self._channels_of(images))
        _check_channels(stack, self.kernels_)
        core = self._core_for(*image_size(stack))
        sq = self.saturation_quantile_
        carry = _carry(carry)
        if isinstance(first_index, bool) or not isinstance(first_index, (int, np.integer)):
            raise ParameterTypeError("first_index: must be an integer")
        if first_index < 0 or first_index >= 2**64:
            raise ParameterError(f"first_index: must be in [0, 2**64), got {first_index}")
        # The counts and backlogs (uint16) of every image, concatenated here.
        check_alloc("images", (stack.shape[0], *core.output_shape), 2)
        parts: list[tuple[np.ndarray, ...]] = []
        first = int(first_index)
        reader = Reader(stack)  # a memory map's pages are released as they are read
        with progress_bar(self.progress, stack.shape[0], "spiking front-end") as bar:
            for idx in chunks(stack):
                g = normalise_brightness(stack[idx], sq, self.n_threads)
                reader.read(len(idx), True, stack.strides[0])
                pooled, backlog, conv, stats, carry = core.run(g, carry, first, self.n_threads)
                parts.append((pooled, backlog, conv, stats))
                first += len(idx)
                bar.update(len(idx))
        pooled, backlog, conv, stats = (np.concatenate(p) for p in zip(*parts, strict=True))
        return _counts(
            pooled, backlog, conv, stats, carry if self.encoding == "accumulator" else None
        )

    # ------------------------------------------------------------------ given input spikes
    def calibrate_rasters(self, rasters: Any) -> ConvSNN:
        """Sets ``scale_`` as :meth:`calibrate` does, on input that already is spikes.

        ``rasters`` holds each frame's input spike counts per step and input node:
        (N, T, H, W) for one channel, (N, T, C, H, W) for C channels, with
        1 <= T <= ``frame_steps`` (the first T steps of the frame get the counts; the
        encoder, brightness normalisation and contrast channels are not used). Event
        streams become such rasters with :func:`snnconv.events.to_frames`. The kernels
        must be an array or a fitted ``KernelLearner`` (a raster is not an image to
        learn kernels on).
        """
        return self._calibrate_given(lambda k: (_rasters(rasters, k, int(self.frame_steps)),))

    def run_rasters(self, rasters: Any) -> SpikeCounts:
        """Simulates one frame per raster of given input spike counts (as
        :meth:`calibrate_rasters` takes them) and returns all counts, as :meth:`run`
        does (``carry`` is None: there is no encoder). A node with n > 1 spikes in a
        step delivers them at once: each neuron it reaches gets n·α·w (the product
        rounded to float32). Frames are independent, so a set may be cut into
        batches anywhere."""
        self._check_fitted()
        self._check_given_channels(self._channel_option()[0])
        counts = _rasters(rasters, self.kernels_, int(self.frame_steps))
        core = self._core_for(*counts.shape[-2:])
        check_alloc("rasters", (counts.shape[0], *core.output_shape), 2)
        return _counts(*core.run_rasters(counts, self.n_threads))

    def calibrate_events(
        self,
        events: Any,
        sensor_size: Any,
        bin_width_us: float,
        start_us: float = 0.0,
    ) -> ConvSNN:
        """Sets ``scale_`` as :meth:`calibrate` does, on event streams: each stream
        (a structured array with fields ``x``, ``y``, ``t`` µs, ``p``) is one frame
        whose events are its input spikes, time binned into the ``active_steps``
        steps (step k gets the events with ``start_us + k·bin_width_us <= t <
        start_us + (k + 1)·bin_width_us``; later ones are dropped), each polarity an
        input channel (channel 0 OFF, 1 ON; one channel when ``sensor_size`` says one
        polarity). The same as :meth:`calibrate_rasters` on
        ``snnconv.events.to_frames(events, sensor_size, active_steps, bin_width_us,
        start_us)``, without building those rasters. Kernels as for
        :meth:`calibrate_rasters`.
        """
        return self._calibrate_given(
            lambda k: self._event_index(events, sensor_size, bin_width_us, start_us, k)
        )

    def run_events(
        self,
        events: Any,
        sensor_size: Any,
        bin_width_us: float,
        start_us: float = 0.0,
    ) -> SpikeCounts:
        """Simulates one frame per event stream (binned as :meth:`calibrate_events`
        says) and returns all counts, as :meth:`run_rasters` does on the rasters
        the events fill."""
        self._check_fitted()
        self._check_given_channels(self._channel_option()[0])
        index, offsets, (h, w) = self._event_index(
            events, sensor_size, bin_width_us, start_us, self.kernels_
        )
        core = self._core_for(h, w)
        check_alloc("events", (len(offsets) - 1, *core.output_shape), 2)
        out = core.run_events(index, offsets, int(self.active_steps), self.n_threads)
        return _counts(*out)

    def _event_index(
        self, events: Any, sensor_size: Any, bin_width_us: float, start_us: float, kernels: Any
    ) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        from .events.binning import raster_index
        from .events.input import as_streams
        from .events.stream import check_sensor_size

        w, h, c = check_sensor_size(sensor_size)
        want = kernels.shape[1] if kernels.ndim == 4 else 1
        if c != want:
            raise DataError(
                f"sensor_size: {c} polarity channel(s), but the kernels have {want} "
                f"(kernels of shape {kernels.shape})"
            )
        _check_size((h, w), kernels.shape[-1])
        streams = as_streams(events)
        index, offsets = raster_index(
            streams, sensor_size, int(self.active_steps), bin_width_us, start_us
        )
        return index, offsets, (h, w)

    def _check_given_channels(self, channels: str) -> None:
        if channels != "image":
            raise ParameterError(
                f"channels: given input spikes are the network's input as they are; the "
                f"contrast channels {channels!r} cannot be derived from them"
            )

    def _calibrate_given(self, prepare: Any) -> ConvSNN:
        """Calibration on given input spikes: ``prepare(kernels)`` gives the core's
        input, (counts,) for rasters or (index, offsets, (H, W)) for events."""
        from .kernel_learner import KernelLearner

        self._check_params()
        for attr in _FITTED:  # a failed calibration leaves the estimator unfitted
            self.__dict__.pop(attr, None)
        self._backlog_warned = False
        self.seed_ = seed_from(self.random_state)
        if self.kernels is None or (
            isinstance(self.kernels, KernelLearner) and not hasattr(self.kernels, "kernels_")
        ):
            raise ParameterError(
                "kernels: calibration on given input spikes needs kernels (an array or a "
                "fitted KernelLearner); learn them first, e.g. on the streams' event-count "
                "frames (snnconv.events.count_frames)"
            )
        kernels, sq = self._resolve(None, fitting=False)
        self._check_given_channels(self.channels_)
        given = prepare(kernels)
        h, w = given[-1] if len(given) == 3 else given[0].shape[-2:]
        n = kernels.shape[0]
        if self.scale is not None:
            scales, evaluations = self._scales(n), 0
        else:
            core = self._new_core(kernels, h, w, np.ones(n))
            args = (float(self.target_rate), bool(self.scale_per_kernel), self.n_threads)
            if len(given) == 3:
                index, offsets, _ = given
                out = core.calibrate_events(index, offsets, int(self.active_steps), *args)
            else:
                out = core.calibrate_rasters(given[0], *args)
            scales, rates, rate, evaluations, unreachable = out
            _warn_unreachable(unreachable, scales, rates, self.target_rate)
            self.calibration_rates_ = rates
            self.calibration_rate_ = float(rate)
        self.kernels_ = kernels
        self.saturation_quantile_ = sq
        self.image_shape_ = (int(h), int(w))
        self.n_calibration_evaluations_ = int(evaluations)
        self.scale_ = scales
        return self

    def transform(self, images: Any) -> np.ndarray:
        """Pooled spike counts, uint16 (N, n_kernels, P', Q') (flattened if ``flatten``).

        When some pooling neuron still held spikes at the end of its frame (a frame
        too short for the rates), warns or raises as ``on_backlog`` says; :meth:`run`
        reports the backlog itself.
        """
        out = self.run(images)
        lagging = int(np.count_nonzero(out.backlog))
        if lagging and self.on_backlog != "ignore":
            msg = (
                f"{lagging} of {out.backlog.size} pooling neurons still held "
                f"{int(out.backlog.sum())} spikes at the end of their frame, so their counts "
                "are short of the block sums; lengthen frame_steps, lower target_rate, or "
                "set on_backlog='ignore' (ConvSNN.run reports the backlog)"
            )
            if self.on_backlog == "raise":
                raise RuntimeError(msg)
            if not getattr(self, "_backlog_warned", False):
                self._backlog_warned = True
                warnings.warn(msg, UserWarning, stacklevel=2)
        pooled = out.pooled
        return pooled.reshape(pooled.shape[0], -1) if self.flatten else pooled

    def fit_transform(self, images: Any, y: Any = None) -> np.ndarray:
        return self.fit(images).transform(images)

    def simulate(
        self, image: Any, image_index: int = 0, carry: np.ndarray | None = None
    ) -> dict[str, Any]:
        """One frame of one image (H, W), or (C, H, W) for C channels, with full
        recordings.

        Returns a dict: ``input`` (P, H, W) (or (P, C, H, W)), ``conv``
        (P, n_kernels, P_c, Q_c) and
        ``pool`` (P, n_kernels, P', Q') boolean spike rasters; ``conv_potential``
        (float32) and ``pool_charge`` (float64, in thresholds) after each step;
        ``pooled``, ``backlog``, ``carry`` (accumulator state after the frame),
        ``synaptic_events``, ``active_steps`` and ``image`` (the preprocessed
        brightness). The frame starts from ``carry`` (zeros by default);
        ``image_index`` picks the Poisson stream, so ``simulate(x[i], i)`` reproduces
        image i of ``run(x)``.
        """
        self._check_fitted()
        a = np.asarray(image)
        if self._channel_option()[0] != "image" and a.ndim == 2:
            a = self._channels_of(a[None])[0]
        channels = self.kernels_.shape[1] if self.kernels_.ndim == 4 else 1
        if a.ndim != (2 if channels == 1 else 3):
            want = "(H, W)" if channels == 1 else f"({channels}, H, W)"
            raise DataError(f"image: must be one image {want}, got shape {a.shape}")
        stack = _stack(a[None], "image")
        _check_channels(stack, self.kernels_)
        core = self._core_for(*image_size(stack))
        g = normalise_brightness(stack, self.saturation_quantile_, self.n_threads)[0]
        if isinstance(image_index, bool) or not isinstance(image_index, (int, np.integer)):
            raise ParameterTypeError("image_index: must be an integer")
        if image_index < 0 or image_index >= 2**64:
            raise ParameterError(f"image_index: must be in [0, 2**64), got {image_index}")
        carry = _carry(carry)
        out = core.simulate(g, carry, int(image_index))
        out["image"] = g
        out["active_steps"] = int(self.active_steps)
        return out

    def _channel_option(self) -> tuple[str, int]:
        """(channels, contrast_size) in use; files written before the option: images."""
        default = _learner_defaults()
        return (
            getattr(self, "channels_", default["channels"]),
            getattr(self, "contrast_size_", default["contrast_size"]),
        )

    def _channels_of(self, images: Any) -> Any:
        from .kernel_learner import with_channels

        return with_channels(images, *self._channel_option())

    def output_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(n_kernels, P', Q') of ``transform`` for images of ``height``×``width``."""
        h, w = check_int("height", height, 1), check_int("width", width, 1)
        return tuple(self._core_for(h, w).output_shape)

    def __getstate__(self) -> dict[str, Any]:
        # Compiled networks are caches; dropping them lets joblib / multiprocessing
        # copy a fitted front-end (model files use save/load, not pickle).
        state = self.__dict__.copy()
        state.pop("_cores", None)
        return state

    def _check_fitted(self) -> None:
        check_fitted(self, "scale_", "fit(images), calibrate(images) or load(path)")

    def __sklearn_tags__(self) -> Any:
        return image_input_tags(super().__sklearn_tags__())

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> str:
        """Writes parameters, kernels and the calibrated scale to an ``.npz`` file,
        atomically. An existing file at ``path`` is replaced only if it is a ConvSNN
        file; anything else raises FileExistsError unless ``overwrite=True``."""
        self._check_fitted()
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "kernels"}
        params["random_state"] = self.seed_  # the seed in use, whatever its source
        if params["scale"] is not None:
            params["scale"] = np.asarray(params["scale"], dtype=np.float64).tolist()
        meta = {
            "params": params,
            "saturation_quantile_": self.saturation_quantile_,
            "channels_": self._channel_option()[0],
            "contrast_size_": self._channel_option()[1],
            "calibration_rate_": getattr(self, "calibration_rate_", None),
            "n_calibration_evaluations_": self.n_calibration_evaluations_,
            "snnconv_version": _core.__version__,
        }
        arrays = {"kernels": self.kernels_, "scale": self.scale_}
        if hasattr(self, "calibration_rates_"):
            arrays["calibration_rates"] = self.calibration_rates_
        return str(save_npz(path, _FORMAT, _FORMAT_VERSION, meta, arrays, overwrite))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ConvSNN:
        """Reads a front-end written by :meth:`save` (``kernels`` becomes the array)."""
        meta, arrays = load_npz(path, _FORMAT, _FORMAT_VERSION)
        with reading(path, "ConvSNN"):
            check_schema(
                meta,
                arrays,
                {
                    "params",
                    "saturation_quantile_",
                    "calibration_rate_",
                    "n_calibration_evaluations_",
                    "channels_",
                    "contrast_size_",
                },
                {"kernels": "float64", "scale": "float64", "calibration_rates": "float64"},
                optional_arrays={"calibration_rates"},
            )
            params = field_params(meta, like=cls, exclude=("kernels",))
            kernels = _check_kernels(arrays["kernels"])
            self = cls(kernels=kernels, **params)
            self._check_params()
            self.seed_ = seed_from(self.random_state)
            scale = np.ascontiguousarray(arrays["scale"], dtype=np.float64)
            if scale.shape != (kernels.shape[0],) or not (scale >= 0).all():
                raise ModelFileError(
                    f"scale: expected {kernels.shape[0]} non-negative values, "
                    f"got shape {scale.shape}"
                )
            # The core weighs inputs by α·w in float32: both must stay far inside it.
            peak = float(np.abs(kernels).max()) * float(scale.max()) if scale.size else 0.0
            if not peak <= 1e30:
                raise ModelFileError(f"scale: α·w reaches {peak:.3g}, beyond float32 range")
            if self.scale is not None and not np.array_equal(scale, self._scales(len(scale))):
                raise ModelFileError("scale: differs from the scale parameter it was set from")
            steps = float(self.frame_steps)
            calibrated = self.scale is None
            if calibrated != ("calibration_rates" in arrays) or calibrated != (
                meta["calibration_rate_"] is not None
            ):
                raise ModelFileError(
                    "calibration_rate_: present exactly when the scale was calibrated"
                )
            if not isinstance(self.random_state, int):
                raise ModelFileError("params.random_state: must be the integer seed in use")
            sq = field_float(meta, "saturation_quantile_", lambda v: 0 <= v <= 1, "in [0, 1]", True)
            if self.saturation_quantile != "auto" and sq != self.saturation_quantile:
                raise ModelFileError(
                    "saturation_quantile_: differs from the saturation_quantile parameter"
                )
            self.kernels_ = kernels
            self.image_shape_ = None
            self.scale_ = scale
            self.saturation_quantile_ = sq
            if not isinstance(meta["channels_"], str):
                raise ModelFileError(f"channels_: must be a string, got {meta['channels_']!r}")
            self.channels_ = meta["channels_"]
            self.contrast_size_ = field_int(meta, "contrast_size_", 1, 2**31 - 1)
            try:
                check_channels(self.channels_, self.contrast_size_)
            except ParameterError as exc:
                raise ModelFileError(f"{exc}") from None
            held = kernels.shape[1] if kernels.ndim == 4 else 1
            if self.channels_ != "image" and held != n_channels_of(self.channels_):
                raise ModelFileError(
                    f"channels_: {self.channels_!r} makes {n_channels_of(self.channels_)} "
                    f"channels, but the kernels read {held}"
                )
            self.n_calibration_evaluations_ = (
                field_int(meta, "n_calibration_evaluations_", 0, 1_000_000)
                if "n_calibration_evaluations_" in meta
                else 0
            )
            if calibrated:
                # Mean spikes per conv neuron and frame: in [0, frame_steps].
                self.calibration_rate_ = field_float(
                    meta, "calibration_rate_", lambda v: 0 <= v <= steps, f"in [0, {steps:g}]"
                )
                rates = np.asarray(arrays["calibration_rates"], np.float64)
                if rates.shape != (kernels.shape[0],):
                    raise ModelFileError(
                        f"calibration_rates: shape {rates.shape}, expected ({kernels.shape[0]},)"
                    )
                check_finite_range("calibration_rates", rates, 0.0, steps)
                self.calibration_rates_ = rates
        return self


def _warn_unreachable(
    unreachable: list[int], scales: np.ndarray, rates: np.ndarray, target: float
) -> None:
    """With a scale per kernel, kernels that could not reach ``target`` on the
    calibration sample (no positive cell meets its images) get the lower median of the
    other kernels' scales instead of stopping the calibration: said here, by name."""
    if not unreachable:
        return
    shown = ", ".join(f"{k} (rate {rates[k]:.3g})" for k in unreachable[:10])
    more = f" and {len(unreachable) - 10} more" if len(unreachable) > 10 else ""
    warnings.warn(
        f"target_rate: {target} cannot be reached by kernel {shown}{more} on the "
        f"calibration images, even at scale 1e12; they get the lower median scale of the "
        f"other kernels ({float(scales[unreachable[0]]):.4g}). Calibrate on images these kernels "
        "see, or set scale_per_kernel=False.",
        UserWarning,
        stacklevel=3,
    )


def _carry(carry: Any) -> np.ndarray | None:
    """The accumulator state as uint64 (H, W), or (C, H, W) for C channels, or None;
    junk is a DataError (the core checks the shape against the network)."""
    if carry is None:
        return None
    try:
        with np.errstate(all="raise"):
            a = np.asarray(carry)
            if a.ndim not in (2, 3):
                raise DataError(f"must be a 2-D array (H, W) or (C, H, W), got shape {a.shape}")
            if a.dtype.kind not in "iuf" or (a.size and not (a.min() >= 0 and a.max() < 2**64)):
                raise DataError("values must be in [0, 2**64)")
            return np.ascontiguousarray(a, dtype=np.uint64)
    except (TypeError, ValueError, OverflowError, FloatingPointError) as e:
        raise DataError(f"carry: not a uint64 array (H, W) of accumulator states: {e}") from None


def _counts(pooled: Any, backlog: Any, conv: Any, stats: Any, carry: Any = None) -> SpikeCounts:
    """The core's outputs as :class:`SpikeCounts` (``carry``: the accumulator's, None on
    given input spikes, which have no encoder)."""
    return SpikeCounts(
        pooled=pooled,
        backlog=backlog,
        conv_counts=conv,
        input_spikes=stats[:, 0],
        conv_spikes=stats[:, 1],
        pool_spikes=stats[:, 2],
        synaptic_events=stats[:, 3],
        carry=carry,
    )


def _rasters(rasters: Any, kernels: np.ndarray, frame_steps: int) -> np.ndarray:
    """Input spike counts as the core takes them: uint16 (N, T, H, W) for one-channel
    kernels, (N, T, C, H, W) for C channels, 1 <= T <= frame_steps, images no smaller
    than the kernels; anything else is a DataError naming the accepted shape."""
    c = kernels.shape[1] if kernels.ndim == 4 else 1
    want = "(N, T, H, W)" if c == 1 else f"(N, T, {c}, H, W)"
    if not isinstance(rasters, np.ndarray):
        raise DataError(
            f"rasters: expected a numpy array {want} of spike counts, got {type(rasters).__name__}"
        )
    a = rasters
    if c == 1 and a.ndim == 5 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim != (4 if c == 1 else 5) or (c > 1 and a.shape[2] != c):
        raise DataError(
            f"rasters: expected {want} spike counts for kernels of {c} channel(s), got "
            f"shape {rasters.shape}"
        )
    if a.shape[0] == 0:
        raise DataError("rasters: empty input (0 frames)")
    if not 1 <= a.shape[1] <= frame_steps:
        raise DataError(
            f"rasters: T = {a.shape[1]} steps; must be in [1, frame_steps={frame_steps}]"
        )
    _check_size((int(a.shape[-2]), int(a.shape[-1])), kernels.shape[-1])
    if a.dtype != np.uint16:
        if a.dtype.kind not in "iu" and a.dtype != np.bool_:
            raise DataError(f"rasters: spike counts must be integers, got dtype {a.dtype}")
        if a.size and (int(a.min()) < 0 or int(a.max()) > 65535):
            raise DataError(
                f"rasters: spike counts must be in [0, 65535], got [{int(a.min())}, {int(a.max())}]"
            )
        a = a.astype(np.uint16)
    return np.ascontiguousarray(a)


def _check_kernels(k: Any) -> np.ndarray:
    if not isinstance(k, np.ndarray):
        raise ParameterTypeError(
            f"kernels: expected a numpy array (n_kernels, K, K) or a KernelLearner, "
            f"got {type(k).__name__}"
        )
    if k.ndim == 4 and k.shape[1] == 1:
        k = k[:, 0]  # one channel is (n_kernels, K, K)
    if (
        k.ndim not in (3, 4)
        or k.shape[-1] != k.shape[-2]
        or k.shape[0] == 0
        or k.shape[-1] == 0
        or (k.ndim == 4 and k.shape[1] == 0)
    ):
        hint = "; for one kernel use kernels[None]" if k.ndim == 2 else ""
        raise ParameterError(
            f"kernels: must have shape (n_kernels, K, K), or (n_kernels, C, K, K) for C "
            f"channels, with n_kernels, C, K >= 1, got {k.shape}{hint}"
        )
    if not np.issubdtype(k.dtype, np.number) or np.issubdtype(k.dtype, np.complexfloating):
        raise ParameterTypeError(f"kernels: dtype {k.dtype} is not a real number type")
    out = np.ascontiguousarray(k, dtype=np.float64)
    if not np.isfinite(out).all():
        raise ParameterError("kernels: contains NaN or infinity")
    return out


def _check_channels(stack: np.ndarray, kernels: np.ndarray) -> None:
    """The images have the kernels' channels."""
    want = kernels.shape[1] if kernels.ndim == 4 else 1
    if n_channels(stack) != want:
        raise DataError(
            f"images: {n_channels(stack)} channels, but the kernels have {want} "
            f"(kernels of shape {kernels.shape})"
        )


def _learner_defaults() -> dict[str, Any]:
    """KernelLearner's defaults (the one source of "auto")."""
    import inspect

    from .kernel_learner import KernelLearner

    params = inspect.signature(KernelLearner).parameters
    return {n: params[n].default for n in ("channels", "contrast_size")}


def _stack(images: Any, name: str = "images") -> np.ndarray:
    """A validated (N, H, W) or (N, C, H, W) uint8/float64 stack; iterables of
    equal-size frames too."""
    stack = as_stack(images, name, multichannel=True)
    if stack is not None:
        return stack
    parts = list(frames(images, name, multichannel=True))
    shapes = {p.shape[1:] for p in parts}
    if len(shapes) > 1:
        raise DataError(f"{name}: frames must all have the same size, got {sorted(shapes)}")
    if len({p.dtype for p in parts}) > 1:
        parts = [p.astype(np.float64) / 255.0 if p.dtype == np.uint8 else p for p in parts]
    return np.concatenate(parts)


def _check_size(hw: tuple[int, ...], k: int) -> None:
    h, w = hw
    if h < k or w < k:
        raise DataError(f"images: {h}x{w} images are smaller than the {k}x{k} kernels")
