"""What the spiking and the digital CoLaNET estimators share (docs/algorithms.md §3–4).

Both learn online, one example at a time, from non-negative features. A feature x
becomes a spike count per frame n = ⌊T_p · min(x / input_max_, 1)⌋ (T_p =
``presentation_steps``), sent as evenly spaced spikes. An input neuron cannot emit more
than one spike per step, so values above ``input_max_`` saturate at T_p spikes: that is
the encoder's range, not a clipping of the data.

Values below 0 send no spike and values above ``input_max_`` send T_p: at predict
time (and in ``partial_fit`` calls after the first) such values never raise. Signed,
real-valued features go through the population code instead (``encoding``, chosen by
``"auto"``: ``snnconv.colanet.input.choose_encoding``), whose fields clip a value to the
range [min, max] each feature had in the first training batch.

``input_max`` fixes the scale (``input_max_``) at the first ``fit`` / ``partial_fit``:

- a number: that feature value gives the full T_p spikes. Raw pixels: 255; counts
  from the spiking front-end that are already per-frame spikes: ``presentation_steps``.
- ``"max"``: the largest value of the batch.
- ``"match"`` (default): the scale at which the batch's mean number of input spikes per
  example equals ``target_spikes`` (None: ``input.DRIVE``, 937 for the rate code and
  2,000 for the population code). The defaults (threshold, weight range,
  rewards) were tuned for raw MNIST, which sends 937 spikes per example on average;
  matching that drive transfers the defaults to other features. On raw MNIST it gives
  input_max_ ≈ 254; on pooled kernel features "max" leaves about half of the test
  examples without any answer (52.7 % accuracy) where "match" reaches 92.8 %
  (docs/results.md).
"""

from __future__ import annotations

import inspect
import math
import os
from typing import Any, ClassVar, NamedTuple

import numpy as np
from sklearn.base import ClassifierMixin

from .. import _core
from .._util.estimator import (
    CoreStateMixin,
    SnnconvEstimator,
    check_random_state_param,
    classification_targets,
    seed_from,
)
from .._util.fitted import check_fitted
from .._util.persistence import (
    LABELS,
    check_classes,
    check_schema,
    field_float,
    field_int,
    field_params,
    load_npz,
    reading,
    save_npz,
    with_added_params,
)
from .._util.progress import progress_bar
from .._util.rows import map_rows
from .._util.validation import MAX_EPOCHS, check_int, check_n_threads, check_real
from ..exceptions import DataError, ModelFileError, ParameterError
from .chunked import Features, encoded, maximum, quantiles
from .input import MATCH_SAMPLE, as_features, choose_encoding, drive, match_scale
from .population import SAMPLE, PopulationCode, check_encoding, widths_for

#: Examples per call into the core: keeps progress and Ctrl-C responsive.
CHUNK_EXAMPLES = 256

_FORMAT_VERSION = 4  # 4: params hold drive_per_feature; 3: meta names the input code
# (encoding_); 2: arrays carry SHA-256 checksums; 1–3 load when they hold every key of
# the current schema (drive_per_feature, absent before 4, is None there)


class Param(NamedTuple):
    """One estimator parameter: declared once, it gives the signature, the default and
    the line in the docstring's parameter list."""

    name: str
    default: Any
    annotation: str
    doc: str
    #: Only the spiking CoLaNET has it (frame timing); the digital twin uses the default.
    spiking_only: bool = False


#: The parameters of both CoLaNET estimators, in signature order. The defaults are
#: Kiselev's KNP MNIST settings (docs/algorithms.md §3).
PARAMS: tuple[Param, ...] = (
    Param("microcolumns", 20, "int", "learning (L) neurons per class column"),
    Param("n_copies", 15, "int", "independent copies voting with relative votes"),
    Param("threshold", 8.571, "float", "H, the L-neuron threshold"),
    Param("threshold_excess", 0.218, "float", "k, the threshold's growth with Σw⁺"),
    Param(
        "tau_v",
        3.0,
        "float | None",
        "τ_v, the membrane leak time constant (None: no leak, digital only)",
    ),
    Param("hebbian", -0.177, "float", "d_H, the anti-Hebbian resource step (<= 0)"),
    Param("reward", 0.18, "float", "D, the dopamine resource step"),
    Param("stability_ratio", 0.05, "float", "r, the stability gained per reward"),
    Param("w_min", -0.253, "float", "lower end of the weight range [w_min, w_max)"),
    Param("w_max", 0.0924, "float", "upper end of the weight range [w_min, w_max)"),
    Param("initial_weight", 0.0, "float", "weight of every synapse before learning"),
    Param("silent_synapses", 27, "int", "n_s for resource conservation (-1: off)"),
    Param("renorm_threshold", 1.0, "float", "|F| above which the free pool is spread"),
    Param("hebbian_window", 10, "int", "T_H, the anti-Hebbian window (steps)", True),
    Param("dopamine_time", 10, "int", "T_D, the dopamine window (steps)", True),
    Param("max_isi", 10, "int", "ISI_max, the longest inter-spike interval (steps)", True),
    Param("presentation_steps", 10, "int", "T_p, steps carrying the input spikes"),
    Param("frame_steps", 15, "int", "steps per example frame", True),
    Param("label_step", 9, "int", "step at which the Target node fires", True),
    Param("stochastic", 2.212, "float", "σ, the uniform stimulation per step"),
    Param("input_max", "match", "float | str", "feature scale: a number, 'max' or 'match'"),
    Param(
        "target_spikes",
        None,
        "float | None",
        "mean input spikes per example ('match' scale, population repeats); "
        "None: 937 with the rate code, 2000 with the population code",
    ),
    Param(
        "drive_per_feature",
        None,
        "float | None",
        "least mean input spikes per example and feature: the drive is raised to "
        "drive_per_feature × n_features when that exceeds target_spikes, so wider "
        "inputs keep each feature's drive; None: target_spikes alone",
    ),
    Param(
        "encoding",
        "auto",
        "str",
        "'rate' (one input per feature), 'population' (Gaussian fields) or 'auto' "
        "(population for signed features or too few to drive the network)",
    ),
    Param("population_size", 10, "int", "Gaussian fields per feature for 'population'"),
    Param("epochs", 1, "int", "online passes made by fit"),
    Param("shuffle", True, "bool", "seeded shuffled order in each pass"),
    Param(
        "random_state",
        0,
        "int | None | RandomState | Generator",
        "seed (an int is used as is; from the others one is drawn per fit, see seed_)",
    ),
    Param("n_threads", None, "int | None", "threads (None: all cores)"),
    Param("progress", False, "bool", "show a progress bar"),
)


def _install_init(cls: type, params: tuple[Param, ...]) -> None:
    """Gives ``cls`` an ``__init__`` taking exactly ``params`` (stored as-is, as
    scikit-learn expects) with a real signature, and lists them in its docstring."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    sig = inspect.Signature(
        [inspect.Parameter("self", kind)]
        + [
            inspect.Parameter(p.name, kind, default=p.default, annotation=p.annotation)
            for p in params
        ]
    )

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = sig  # type: ignore[attr-defined]
    __init__.__qualname__ = f"{cls.__name__}.__init__"
    __init__.__module__ = cls.__module__
    cls.__init__ = __init__  # type: ignore[misc]
    lines = [
        f"    {p.name} : {p.annotation}, default={p.default!r}\n        {p.doc}" for p in params
    ]
    cls.__doc__ = f"{cls.__doc__ or ''}\n    Parameters\n    ----------\n" + "\n".join(lines) + "\n"


class ColanetBase(CoreStateMixin, ClassifierMixin, SnnconvEstimator):
    """fit / partial_fit / predict / predict_proba / score / save / load over a core.

    Labels may be of any type (ints, strings, ...): ``classes_`` holds them sorted and
    the core sees their index. Fitted models pickle (the model file's state)."""

    _kind: ClassVar[str]
    _format: ClassVar[str]
    #: Parameters of the Rust ``Params`` this estimator does not expose, with values.
    _fixed: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Each estimator takes the ``PARAMS`` of its kind; the digital twin runs the
        spiking-only ones at their defaults."""
        super().__init_subclass__(**kwargs)
        spiking = cls._kind == "spiking"
        _install_init(cls, tuple(p for p in PARAMS if spiking or not p.spiking_only))
        if not spiking:
            cls._fixed = {p.name: p.default for p in PARAMS if p.spiking_only}

    def __sklearn_tags__(self) -> Any:
        """A classifier of 2-D features (N, F), non-negative unless
        ``encoding="rate"``; N-D inputs are flattened."""
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self.encoding == "rate"
        # Features become spike counts of at most presentation_steps per input, and the
        # defaults are tuned for hundreds of sparse inputs (MNIST pixels): on
        # scikit-learn's 2-feature blobs the columns barely separate (accuracy < 0.83).
        tags.classifier_tags.poor_score = True
        return tags

    # ---------------------------------------------------------------- parameters
    # Ranges the core also checks are checked here first on purpose: this runs before any
    # pass over the data, before int()/float() in the core call could truncate (3.7 -> 3),
    # and load() uses it to vet a file's parameters. The core's check guards direct _core use.
    def _check_params(self) -> None:
        def integer(name: str, lo: int, hi: int | None = None) -> None:
            check_int(name, getattr(self, name), lo, hi)

        def real(name: str, ok: Any, rng: str, allow_none: bool = False) -> None:
            check_real(name, getattr(self, name), ok, rng, allow_none)

        p = self.get_params()
        integer("microcolumns", 1)
        integer("n_copies", 1, 10_000)
        integer("presentation_steps", 1, 255)
        integer("epochs", 1, MAX_EPOCHS)
        real("threshold", lambda v: v > 0, "> 0")
        real("threshold_excess", lambda v: v >= 0, ">= 0")
        real("hebbian", lambda v: v <= 0, "<= 0 (anti-Hebbian)")
        real("reward", lambda v: v >= 0, ">= 0")
        real("stability_ratio", lambda v: v >= 0, ">= 0")
        real("w_max", lambda v: True, "finite")
        real("w_min", lambda v: v < p["w_max"], f"< w_max = {p['w_max']}")
        real(
            "initial_weight",
            lambda v: p["w_min"] <= v < p["w_max"],
            f"in [w_min, w_max) = [{p['w_min']}, {p['w_max']})",
        )
        integer("silent_synapses", -1, 2**32 - 1)
        real("renorm_threshold", lambda v: v >= 0, ">= 0")
        if isinstance(self.input_max, str):
            if self.input_max not in ("max", "match"):
                raise ParameterError(
                    f"input_max: must be a number > 0, 'max' or 'match', got {self.input_max!r}"
                )
        else:
            real("input_max", lambda v: v > 0, "> 0, 'max' or 'match'")
        real("target_spikes", lambda v: v > 0, "> 0 or None", allow_none=True)
        real("drive_per_feature", lambda v: v > 0, "> 0 or None", allow_none=True)
        check_encoding(self.encoding, self.population_size)
        if "tau_v" in p:
            real(
                "tau_v",
                lambda v: v >= 1,
                ">= 1 (or None: no leak, digital only)",
                self._kind == "digital",
            )
        if "stochastic" in p:
            real("stochastic", lambda v: v >= 0, ">= 0")
        for name in ("hebbian_window", "dopamine_time", "max_isi", "frame_steps", "label_step"):
            if name in p:
                integer(name, 0, 2**32 - 1)  # 32-bit step counts in the core
        if "frame_steps" in p:
            lo = max(int(p["presentation_steps"]), 5)
            integer("frame_steps", lo, 100_000)
            integer("label_step", 0, int(p["frame_steps"]) - 1)
        check_random_state_param(self.random_state)
        check_n_threads(self.n_threads)

    def _core_params(self, n_features: int, n_classes: int) -> dict[str, Any]:
        d = dict(self._fixed)
        for k, v in self.get_params().items():
            if k in _RUST_PARAMS:
                d[k] = v
        d.update(n_inputs=n_features, n_classes=n_classes)
        if d.get("tau_v") is None:
            d["tau_v"] = math.inf
        for k in _FLOAT_PARAMS:
            d[k] = float(d[k])
        for k in _INT_PARAMS:
            d[k] = int(d[k])
        return d

    # ---------------------------------------------------------------- encoding
    def encode(self, X: Any) -> np.ndarray:
        """Spike counts per frame (N, F) uint8 that the network sees for ``X``."""
        self._check_fitted()
        return self._encode(self._features(X, self.n_features_in_))

    def _features(self, X: Any, n_features: int | None = None) -> np.ndarray:
        # Only the first training batch of an explicit rate code must be non-negative;
        # later (n_features known) the encoders clip values outside their range.
        signed = n_features is not None or self.encoding != "rate"
        return as_features(X, n_features, signed=signed, name=type(self).__name__)

    def _source(self, X: Any, n_features: int | None = None) -> Features:
        """X as validated features read a block at a time (``colanet.chunked``)."""
        signed = n_features is not None or self.encoding != "rate"  # as in _features
        return Features(X, n_features, signed=signed, name=type(self).__name__)

    def _n_inputs(self) -> int:
        code = getattr(self, "population_", None)
        return self.n_features_in_ if code is None else code.n_outputs

    def _encode(self, a: np.ndarray) -> np.ndarray:
        # Row-wise numpy over threads: the encoding is a large part of a population-coded
        # fit and would otherwise hold one core while the other waits.
        return map_rows(self._encode_rows, a, self.n_threads)

    def _encode_rows(self, a: np.ndarray) -> np.ndarray:
        if getattr(self, "population_", None) is not None:
            a = self.population_.transform(a)
        t_p = int(self.presentation_steps)
        # floor(min(a·T_p / input_max, T_p)) in one buffer: the same operations in the
        # same order as the expression, without three temporaries to allocate.
        x = np.multiply(a, t_p)
        np.divide(x, self.input_max_, out=x)
        np.minimum(x, t_p, out=x)
        np.maximum(x, 0, out=x)  # a value below 0 sends no spike (identity on x >= 0)
        np.floor(x, out=x)
        return x.astype(np.uint8)

    # ---------------------------------------------------------------- fitting
    def fit(self, X: Any, y: Any = None) -> ColanetBase:
        """Learns from scratch: ``epochs`` online passes over (X, y), shuffled if asked.

        X may be a ``numpy.memmap`` (read a block at a time, never copied whole) or,
        with ``y`` omitted, an iterable of ``(X, y)`` batches or a callable returning
        one: the stream is read once into a temporary file and fitted exactly as the
        concatenated batches (docs/memory.md)."""
        from .._util.blocks import is_batches, spool

        if is_batches(X, y):
            with spool(X) as sp:
                return self._fit(sp.X, sp.y)
        return self._fit(X, y)

    def _fit(self, X: Any, y: Any, checkpoints: Any = (), callback: Any = None) -> ColanetBase:
        """``fit`` that calls ``callback(n)`` once ``n`` training examples (counted over
        all epochs) have been learned, for each ``n`` in ``checkpoints``. Training is
        exactly that of ``fit``: the core numbers its per-example streams globally, so
        splitting the chunks at the checkpoints changes nothing."""
        self._check_params()
        a = self._source(X)
        classes, _ = classification_targets(y, len(a))
        yy = _labels(y, len(a))
        self._start(a, classes)
        for _ in range(int(self.epochs)):
            self._learn(a, yy, checkpoints, callback)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> ColanetBase:
        """One online pass over (X, y) continuing from the current state.

        As in scikit-learn, the first call fixes the classes: ``classes`` lists every
        label that will ever occur (one column each); without it the labels of this
        first batch are the classes. A later batch with a label outside ``classes_``
        raises :class:`~snnconv.exceptions.DataError`. The first call also fixes
        ``input_max_`` (from this batch unless ``input_max`` is a number).
        """
        a = self._source(X, getattr(self, "n_features_in_", None))
        yy = _labels(y, len(a))
        if not hasattr(self, "_core"):
            self._check_params()
            known = np.asarray(yy if classes is None else classes)
            self._start(a, classification_targets(known, known.shape[0])[0])
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ParameterError(
                f"classes: must equal classes_ = {self.classes_!r} after the first call"
            )
        self._learn(a, yy)
        return self

    def _drive(self, encoding: str, n_features: int) -> float:
        """Mean input spikes per example the scale is matched to: ``target_spikes``
        (or the code's default), raised to ``drive_per_feature`` per feature when given.
        Why: the L neurons' threshold and weight range were tuned for one drive; spread
        over many more inputs, the same drive leaves each feature too few spikes to
        carry its evidence (a 4× wider pooled map left every L neuron silent)."""
        target = drive(self.target_spikes, encoding)
        if self.drive_per_feature is not None:
            target = max(target, float(self.drive_per_feature) * n_features)
        return target

    def _start(self, feats: Features, classes: np.ndarray) -> None:
        # Statistics of the whole training set, taken a block (or a few features) at
        # a time: exactly the values of the whole-array expressions (colanet.chunked).
        self.seed_ = seed_from(self.random_state)
        self.population_ = None
        if self.encoding == "auto":  # its statistics cost a pass, read only for it
            self.encoding_ = choose_encoding(
                -maximum(feats, np.negative),
                feats.rows(slice(0, MATCH_SAMPLE)),
                int(self.presentation_steps),
                self._drive("rate", feats.shape[1]),
            )
        else:
            self.encoding_ = self.encoding
        target = self._drive(self.encoding_, feats.shape[1])
        code = None
        if self.encoding_ == "population":
            code = self.population_ = PopulationCode.from_centres(
                quantiles(feats, np.linspace(0.0, 1.0, int(self.population_size))),
                feats.rows(slice(0, SAMPLE)),
                int(self.presentation_steps),
                target,
            )
        self.n_features_in_ = feats.shape[1]
        # The core checks its sizes (synapses per copy against the budget) as it is
        # built: before the scale bisection below, so an oversized network is refused
        # at once rather than after the bisection's passes over the data.
        core = _core.ColanetCore(
            self._kind,
            self._core_params(self._n_inputs(), classes.size),
            int(self.n_copies),
            self.seed_,
        )
        if isinstance(self.input_max, str):
            # "match" reads the first MATCH_SAMPLE examples (their responses for the
            # population code, whose maximum is then also taken over them alone),
            # "max" every example.
            a = feats.rows(slice(0, MATCH_SAMPLE))
            if code is not None and self.input_max == "match":
                a = map_rows(code.transform, a, self.n_threads)
                top = float(a.max())
            else:
                top = maximum(feats, None if code is None else code.transform)
            if top <= 0:
                raise DataError("X: all features are 0; cannot derive input_max")
            if self.input_max == "max":
                self.input_max_ = top
            else:
                self.input_max_ = match_scale(
                    a, int(self.presentation_steps), target, self.n_threads
                )
        else:
            self.input_max_ = float(self.input_max)
        self.classes_ = classes
        self.class_counts_ = np.zeros(classes.size, np.int64)
        self.epochs_done_ = 0
        self._core = core

    def _learn(
        self, feats: Features, y: np.ndarray, checkpoints: Any = (), callback: Any = None
    ) -> None:
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, self.classes_.size - 1)
        unknown = self.classes_[idx] != y
        if unknown.any():
            raise DataError(
                f"y: label {_plain(y[unknown][0])!r} is not among "
                f"classes_ = {self.classes_.tolist()!r} (fixed at the first fit or partial_fit)"
            )
        n = len(feats)
        order = _core.permutation(n, self.seed_, self.epochs_done_) if self.shuffle else None
        core = self._core
        # Checkpoints within this pass (examples seen before it: epochs_done_ * n).
        before = self.epochs_done_ * n
        stops = sorted({int(c) - before for c in checkpoints} & set(range(1, n + 1)))
        bounds = sorted(set(range(0, n, CHUNK_EXAMPLES)) | set(stops) | {n})
        # Each block of examples is encoded when the copies reach it (colanet.chunked).
        blocks = encoded(feats, self._encode_rows, self._n_inputs(), bounds, order, self.n_threads)
        with progress_bar(self.progress, n, f"training {type(self).__name__}") as bar:
            for s, e, counts in blocks:
                part = order[s:e] if order is not None else np.arange(s, e)
                labels = idx[part].astype(np.int64)
                core.train(counts, labels, self.n_threads)
                np.add.at(self.class_counts_, labels, 1)
                bar.update(part.size)
                if callback is not None and e in stops:
                    callback(before + e)
        self.epochs_done_ += 1

    # ---------------------------------------------------------------- inference
    def votes(self, X: Any) -> np.ndarray:
        """Summed relative votes of the copies, (N, n_classes); a zero row = no answer."""
        self._check_fitted()
        feats = self._source(X, self.n_features_in_)
        n = len(feats)
        bounds = [*range(0, n, 4 * CHUNK_EXAMPLES), n]
        parts = []
        with progress_bar(self.progress, n, "predicting") as bar:
            for _, _, part in encoded(
                feats, self._encode_rows, self._n_inputs(), bounds, None, self.n_threads
            ):
                parts.append(self._core.votes(part, self.n_threads))
                bar.update(part.shape[0])
        return np.concatenate(parts)

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores as scikit-learn expects them: the :meth:`votes` (N, n_classes), or for
        two classes the vote margin (N,) = p₁ − p₀ of :meth:`predict_proba` (> 0: the
        second class). Rows where no copy answers are zero."""
        v = self.votes(X)
        if v.shape[1] != 2:
            return v
        p = self._proba(v)
        return p[:, 1] - p[:, 0]

    def predict(self, X: Any) -> np.ndarray:
        """Class with the most votes (lowest index on ties). Where no copy answers,
        the most frequent training class (``fallback_class_``) is predicted."""
        v = self.votes(X)
        best = np.argmax(v, axis=1)
        best[v.max(axis=1) <= 0] = int(np.argmax(self.class_counts_))
        return self.classes_[best]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Votes normalised per row; uniform where no copy answers."""
        return self._proba(self.votes(X))

    @staticmethod
    def _proba(v: np.ndarray) -> np.ndarray:
        total = v.sum(axis=1, keepdims=True)
        out = np.full_like(v, 1.0 / v.shape[1])
        np.divide(v, total, out=out, where=total > 0)
        return out

    def score(self, X: Any, y: Any) -> float:
        """Accuracy of :meth:`predict` on (X, y)."""
        yy = np.asarray(y)
        return float(np.mean(self.predict(X) == yy))

    # ---------------------------------------------------------------- learned state
    @property
    def fallback_class_(self) -> Any:
        self._check_fitted()
        return self.classes_[int(np.argmax(self.class_counts_))]

    def _state(self, arr: np.ndarray) -> np.ndarray:
        self._check_fitted()
        c, m = self.classes_.size, int(self.microcolumns)
        return arr.reshape(arr.shape[0], c, m, *arr.shape[2:])

    @property
    def resource_(self) -> np.ndarray:
        """Synaptic resources W, (n_copies, n_classes, microcolumns, n_features)."""
        return self._state(self._core.resource)

    @property
    def weights_(self) -> np.ndarray:
        """Weights w(W), same shape as ``resource_``."""
        return self._state(self._core.weights)

    @property
    def free_resource_(self) -> np.ndarray:
        """Free resource pool F per neuron, (n_copies, n_classes, microcolumns)."""
        return self._state(self._core.free)

    @property
    def stability_(self) -> np.ndarray:
        """Stability s per neuron, (n_copies, n_classes, microcolumns)."""
        return self._state(self._core.stability)

    @property
    def firing_counts_(self) -> dict[str, np.ndarray]:
        """Per neuron (n_copies, n_classes, microcolumns): own firings, forced firings
        (recruitments) and rewards received during training."""
        c = self._core.counters
        return {k: self._state(c[:, i]) for i, k in enumerate(("fired", "forced", "rewarded"))}

    @property
    def usage_(self) -> np.ndarray:
        """Microcolumns used (rewarded at least once) per copy and column, (n_copies, n_classes)."""
        return (self.firing_counts_["rewarded"] > 0).sum(axis=2)

    @property
    def n_examples_seen_(self) -> int:
        self._check_fitted()
        return int(self._core.seen)

    def _check_fitted(self) -> None:
        check_fitted(self, "_core", "fit(X, y) or load(path)")

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> str:
        """Writes parameters and learned state to an ``.npz`` file (no pickle),
        atomically. An existing file at ``path`` is replaced only if it is a model of
        the same class; anything else raises FileExistsError unless ``overwrite=True``."""
        self._check_fitted()
        meta, arrays = self._export()
        return str(save_npz(path, self._format, _FORMAT_VERSION, meta, arrays, overwrite))

    def _export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The metadata and arrays of the model file (also the pickled state)."""
        # the seed in use, whatever its source
        meta = {
            "params": {**self.get_params(), "random_state": self.seed_},
            "input_max_": self.input_max_,
            "encoding_": self.encoding_,
            "n_features_in_": self.n_features_in_,
            "epochs_done_": self.epochs_done_,
            "seen": int(self._core.seen),
            "snnconv_version": _core.__version__,
        }
        classes = self.classes_
        if classes.dtype == object:
            classes = classes.astype(str)
        meta["classes_dtype"] = classes.dtype.str  # so a changed dtype is refused
        arrays = {
            "classes": classes,
            "class_counts": self.class_counts_,
            "resource": self._core.resource,
            "free": self._core.free,
            "stability": self._core.stability,
            "counters": self._core.counters,
        }
        if self.population_ is not None:
            arrays.update(self.population_.arrays())
        return meta, arrays

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Any:
        """Reads a model written by :meth:`save`; it predicts exactly as before and can
        keep learning (the spiking timeline restarts from rest)."""
        meta, arrays = load_npz(path, cls._format, _FORMAT_VERSION)
        return cls._from_export(meta, arrays, str(path))

    @classmethod
    def _from_export(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], path: str) -> Any:
        with reading(path, cls.__name__):
            pop = {"population_centres", "population_widths", "population_repeats"}
            check_schema(
                meta,
                arrays,
                {
                    "params",
                    "input_max_",
                    "n_features_in_",
                    "epochs_done_",
                    "seen",
                    "classes_dtype",
                    "encoding_",
                },
                {
                    "classes": LABELS,
                    "class_counts": "int64",
                    "resource": "float64",
                    "free": "float64",
                    "stability": "float64",
                    "counters": "uint64",
                    "population_centres": "float64",
                    "population_widths": "float64",
                    "population_repeats": "int64",
                },
                optional_arrays=pop,
            )
            meta = with_added_params(meta, 4, {"drive_per_feature": None})
            self = cls(**field_params(meta, like=cls))
            self._check_params()
            if not isinstance(self.random_state, int):
                raise ModelFileError("params.random_state: must be the integer seed in use")
            # Files written before "auto" existed (format 1, 2) name the code in ``encoding``.
            if meta.get("format_version", 1) >= 3 and "encoding_" not in meta:
                raise ModelFileError("encoding_: missing")
            self.encoding_ = meta.get("encoding_", self.encoding)  # the code "auto" chose
            if self.encoding_ not in ("rate", "population") or (
                self.encoding != "auto" and self.encoding_ != self.encoding
            ):
                raise ModelFileError(
                    f"encoding_: must be 'rate' or 'population' (the encoding parameter's "
                    f"code unless it is 'auto'), got {self.encoding_!r}"
                )
            if (self.encoding_ == "population") != (pop <= set(arrays)) or (
                pop & set(arrays) and not pop <= set(arrays)
            ):
                raise ModelFileError(
                    "population_centres: present exactly with encoding='population'"
                )
            self.seed_ = seed_from(self.random_state)
            self.classes_ = check_classes(arrays["classes"])
            if meta["classes_dtype"] != self.classes_.dtype.str:
                raise ModelFileError(
                    f"classes: dtype {self.classes_.dtype.str}, recorded {meta['classes_dtype']!r}"
                )
            counts = np.asarray(arrays["class_counts"])
            if counts.dtype.kind not in "iu" or (counts < 0).any():
                raise ModelFileError("class_counts: must be non-negative integers")
            self.class_counts_ = counts.astype(np.int64)
            self.input_max_ = field_float(meta, "input_max_", lambda v: v > 0, "finite and > 0")
            self.n_features_in_ = field_int(meta, "n_features_in_", 1, 2**40)
            self.epochs_done_ = field_int(meta, "epochs_done_")
            seen = field_int(meta, "seen")
            # Every training example is counted once in its class and in `seen`.
            if int(counts.sum()) != seen:
                raise ModelFileError(
                    f"class_counts: sum to {int(counts.sum())}, the model has seen {seen}"
                )
            if not isinstance(self.input_max, str) and self.input_max_ != float(self.input_max):
                raise ModelFileError("input_max_: differs from the input_max parameter")
            # A neuron's free pool is spread over its synapses once |F| reaches
            # renorm_threshold, and stays 0 without silent synapses.
            free = np.asarray(arrays["free"])
            bound = float(self.renorm_threshold) if int(self.silent_synapses) >= 0 else 0.0
            if free.size and not bool(np.all((np.abs(free) < bound) | (free == 0))):
                raise ModelFileError(f"free: pools must lie in (-{bound}, {bound})")
            counters = np.asarray(arrays["counters"])
            if counters.size and int(counters.max()) > seen:
                raise ModelFileError(f"counters: exceed the {seen} examples seen")
            self.population_ = None
            if self.encoding_ == "population":
                self.population_ = _population(arrays, self.n_features_in_)
            if (
                self.classes_.ndim != 1
                or self.classes_.size < 1
                or self.class_counts_.shape != self.classes_.shape
            ):
                raise ModelFileError("classes: classes and class_counts disagree")
            expect = (int(self.n_copies), self.classes_.size * int(self.microcolumns))
            resource = np.ascontiguousarray(arrays["resource"], dtype=np.float64)
            if resource.shape != (*expect, self._n_inputs()):
                raise ModelFileError(
                    f"resource: shape {resource.shape}, expected {(*expect, self._n_inputs())}"
                )
            core = _core.ColanetCore(
                cls._kind,
                self._core_params(self._n_inputs(), self.classes_.size),
                int(self.n_copies),
                self.seed_,
            )
            core.restore(
                resource,
                np.ascontiguousarray(arrays["free"], dtype=np.float64),
                np.ascontiguousarray(arrays["stability"], dtype=np.float64),
                np.ascontiguousarray(arrays["counters"], dtype=np.uint64),
                seen,
            )
        self._core = core
        return self


def _population(arrays: dict[str, np.ndarray], n_features: int) -> PopulationCode:
    """The saved population code, checked against the feature count."""
    repeats = np.asarray(arrays["population_repeats"])
    if repeats.shape != () or repeats.dtype.kind not in "iu" or not 1 <= repeats <= 1 << 20:
        raise ModelFileError("population_repeats: must be one integer in [1, 2**20]")
    code = PopulationCode.from_arrays(arrays)
    if code.centres.size and not bool(np.all(np.diff(code.centres, axis=1) >= 0)):
        raise ModelFileError("population_centres: must be quantiles, increasing per feature")
    if code.centres.shape[1] < 2 or not np.array_equal(code.widths, widths_for(code.centres)):
        raise ModelFileError("population_widths: do not follow from the centres")
    if code.n_features != n_features or code.n_outputs > 1 << 26:
        raise ModelFileError(
            f"population_centres: shape {code.centres.shape} does not fit {n_features} features"
        )
    return code


def _labels(y: Any, n: int) -> np.ndarray:
    yy = np.asarray(y)
    if yy.ndim == 2 and yy.shape[1] == 1:  # classification_targets warned
        yy = yy.ravel()
    if yy.ndim != 1 or yy.shape[0] != n:
        raise DataError(f"y: expected a 1-D array of {n} labels, got shape {yy.shape}")
    return yy


_FLOAT_PARAMS = (
    "threshold",
    "threshold_excess",
    "tau_v",
    "hebbian",
    "reward",
    "stability_ratio",
    "w_min",
    "w_max",
    "initial_weight",
    "renorm_threshold",
    "stochastic",
)
_INT_PARAMS = (
    "microcolumns",
    "silent_synapses",
    "hebbian_window",
    "dopamine_time",
    "max_isi",
    "presentation_steps",
    "frame_steps",
    "label_step",
)
_RUST_PARAMS = frozenset(_FLOAT_PARAMS + _INT_PARAMS)


def _plain(v: object) -> object:
    """A numpy scalar as the Python value it holds (for messages: 2, not np.int64(2))."""
    return v.item() if isinstance(v, np.generic) else v
