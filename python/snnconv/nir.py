"""Export the spiking front-end to NIR, the Neuromorphic Intermediate Representation.

``to_nir(model, image_shape)`` turns a fitted :class:`~snnconv.ConvSNN` (or the
front-end of a fitted :class:`~snnconv.CSNNClassifier`) into a ``nir.NIRGraph``::

    input (C, H, W) → conv: Conv2d → lif: LIF (or IF when τ = ∞)
        → pool: SumPool2d → pool_neurons: IF → output (n_kernels, P', Q')

and ``from_nir(graph)`` turns such a graph (or a NIR file) back into a fitted
``ConvSNN``. Needs the optional ``nir`` package, 1.0.3 or later
(``pip install 'snnconv[nir]'``).

Export forms
------------
NIR's neurons are ODEs, snnconv's are discrete, and NIR tools step the ODE
differently, so ``to_nir(..., form=...)`` writes one of three equivalent graphs:
``"portable"`` (default; r = 1 with the input gain folded into the weights, read
exactly by tools that take one forward-Euler step per time step: Norse, snnTorch),
``"exponential"`` (decay e^(−dt/τ_s) and unit input gain per step: Sinabs) and
``"exact"`` (the lossless form below, which reproduces snnconv's float32 weights).
docs/nir.md has the per-tool results.

Parameter mapping of the exact form (time unit: one step of length ``dt``, default 1)
--------------------------------------------------------------------------------------
NIR's LIF is the ODE τ_s·dv/dt = (v_leak − v) + R·I. One forward-Euler step of
length ``dt`` gives v ← (1 − dt/τ_s)·v + (R·dt/τ_s)·I. snnconv's conv neuron does
u ← (1 − 1/τ)·u + Σ α_a·w·s (leak, then this step's input spikes). The two agree
exactly with

- ``Conv2d.weight`` (n_kernels, C, K, K) = α_a·w[a] rounded to float32 (C = 1 for
  grey images, C > 1 for kernels learned on several input channels; the
  calibrated scale α is folded into the weights; these are the very float32 weights
  the simulator adds), ``stride`` = (s, s), no padding, no dilation, zero bias;
- ``LIF.tau`` = τ·dt, ``LIF.r`` = τ, ``v_leak`` = 0, ``v_threshold`` = u_THR,
  ``v_reset`` = 0; without leak (τ = ∞) an ``IF`` with ``r`` = 1/dt;
- ``SumPool2d`` kernel = stride = (pool, pool), no padding (rows and columns past
  the last full block are dropped, as in snnconv);
- the pooling neurons: ``IF`` with ``r`` = (1 + 2⁻²⁰)/dt, ``v_threshold`` = 1,
  ``v_reset`` = 0, i.e. each conv spike adds slightly more than one threshold, so the
  neuron fires once per conv spike (at most one spike per step; spikes that arrive
  together wait), exactly as snnconv's integer pooling charge.

LIF is the faithful primitive: with R = τ it *is* the discrete leak 1 − 1/τ. CubaLIF
would add a synaptic current filter that the front-end does not have.

What differs from NIR's semantics (and how the graph says so)
-------------------------------------------------------------
- **Reset.** NIR neurons reset *to* ``v_reset`` from nir 1.0.6 on (by subtraction
  before); snnconv's conv and pooling neurons reset *by subtraction* (u ← u − u_THR,
  the surplus is kept). The graph carries ``metadata["reset"]`` on the ``lif`` and
  ``pool_neurons`` nodes; a simulator that ignores it and resets to zero runs the
  reset-to-zero variant (``ConvSNN(reset="zero")`` for the conv layer), which fires
  less, and pooling neurons that lose the spikes which arrive together.
- **Spike condition.** snnconv spikes when u ≥ u_THR, NIR when v > v_threshold.
  They differ only when a potential equals the threshold exactly.
- **Discrete vs continuous time.** The mapping above is exact for forward Euler
  with step ``dt``. A simulator that integrates the LIF ODE exactly (decay
  e^(−dt/τ_s) per step) leaks slightly more (0.9048 instead of 0.9 per step at τ = 10);
  the ``"exponential"`` form is written for such simulators.
- **What stays outside the graph.** The per-image brightness preprocessing
  (``saturation_quantile``), the input encoder (deterministic accumulator, carried
  from image to image, or seeded Bernoulli spikes), the frame schedule (``frame_steps``
  steps per image, input on during the first ``active_steps``) and the reset of all
  potentials at the start of each frame. The graph's input is the encoder's spike
  raster, one (1, H, W) frame of 0/1 values per step (a spike adds its weight once,
  whatever ``dt``), and the pooled counts are the number of output spikes per frame.
  All these settings travel in the graph's metadata (``metadata["snnconv"]``, a JSON
  record) so ``from_nir`` restores the model; get the spike trains themselves from
  ``ConvSNN.simulate(image)["input"]``.
- **Precision.** snnconv keeps conv potentials in float32 and adds each input spike
  in raster order; a simulator that sums a convolution first rounds differently, so
  in rare cases a potential within ~10⁻⁶ of the threshold fires one step apart.

What does not map: CoLaNET
--------------------------
The CoLaNET classifier is not exported, not even for inference. Its frozen network
still needs (docs/algorithms.md §3): a winner-take-all *choice* per column (the
awake neuron with the largest u − θ fires, ties broken at random), gating spikes that
make neurons deaf for a number of steps (a per-neuron countdown state), potentials
floored at zero, uniform random stimulation each step, and votes normalised by each
copy's total answer count (a division) followed by an argmax. None of these is a NIR
1.0 primitive; an export would silently compute something else. ``DigitalCoLaNET``
does not spike at all. Export the front-end and feed its pooled counts to CoLaNET in
snnconv.
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
import os
from typing import Any

import numpy as np

from ._util.extras import require
from .exceptions import ModelFileError, ParameterError, ParameterTypeError

#: Extra charge per pooled conv spike, in thresholds (snnconv's pooling ε).
POOL_EPSILON = 2.0**-20

_PURPOSE = "NIR export/import"
#: The node names of an exported graph, in order.
_CHAIN = ("input", "conv", "lif", "pool", "pool_neurons", "output")


def _nir() -> Any:
    return require("nir", _PURPOSE)


def _front_end(model: Any) -> Any:
    """The fitted ConvSNN inside ``model`` (a ConvSNN or a fitted CSNNClassifier)."""
    from .conv_snn import ConvSNN

    if isinstance(model, ConvSNN):
        return model
    for attr in ("conv_snn_", "front_end_"):
        inner = getattr(model, attr, None)
        if isinstance(inner, ConvSNN):
            return inner
    raise ParameterTypeError(
        f"model: expected a fitted ConvSNN or CSNNClassifier, got {type(model).__name__}"
        + (" (not fitted yet?)" if hasattr(model, "front_end") else "")
    )


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return v.item()
    if isinstance(v, float) and math.isinf(v):
        return None  # τ = ∞ is stored as no leak
    return v


#: Export forms of :func:`to_nir` (see its docstring); the first is the default.
FORMS = ("portable", "exponential", "exact")
#: Pooling threshold of the portable forms, in units of one conv spike's charge: just
#: below 1, so a neuron fires on every arrival under NIR's ``v > v_threshold`` and
#: under ``v >= v_threshold`` alike (exactly representable in float32).
POOL_THRESHOLD = 1.0 - 2.0**-20


def _accepts(cls: Any, name: str) -> bool:
    """Whether the installed nir's node class takes the keyword ``name``."""
    try:
        return name in inspect.signature(cls).parameters
    except (TypeError, ValueError):  # pragma: no cover - C-level signatures
        return False


def _neuron(nir: Any, cls: Any, shape: tuple[int, ...], reset_note: dict, **values: float) -> Any:
    """A nir.LIF / nir.IF with every parameter ``np.full(shape, value)``.

    ``v_reset`` (nir >= 1.0.6) is 0 and written only where this nir has it: older nir
    defines the reset as subtraction, with no field for it.
    """
    params = {k: np.full(shape, float(v)) for k, v in values.items()}
    if _accepts(cls, "v_reset"):
        params["v_reset"] = np.zeros(shape)
    return cls(**params, metadata=dict(reset_note))


def _graph(nir: Any, nodes: dict, edges: list, metadata: dict) -> Any:
    # SumPool2d declares no shapes, so NIR's type check cannot follow the chain
    # (nir < 1.0.5 has no type check and no such keyword).
    extra = {"type_check": False} if _accepts(nir.NIRGraph, "type_check") else {}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, **extra)


def _weights(kernels: np.ndarray, scale: np.ndarray, form: str, tau: float | None, dt: float):
    """The Conv2d weights of ``form``: snnconv's α·w (computed in float64, rounded once
    to float32), times the inverse of the input gain the form's neuron applies (a
    portable LIF: Euler with r = 1, dt/τ_s = 1/τ; IF neurons add r·w per spike)."""
    weight = scale[:, None, None, None] * kernels
    if form == "portable" and tau is not None:
        weight = weight * tau
    return weight.astype(np.float32)


def to_nir(
    model: Any,
    image_shape: tuple[int, int] | None = None,
    *,
    form: str = "portable",
    dt: float = 1.0,
) -> Any:
    """The fitted spiking front-end of ``model`` as a ``nir.NIRGraph``.

    Parameters
    ----------
    model : ConvSNN or CSNNClassifier
        Fitted (calibrated). For a classifier its front-end is exported; CoLaNET has
        no NIR equivalent (see the module documentation).
    image_shape : (H, W)
        Size of the images the graph will see. A ConvSNN runs on any image size but a
        NIR graph has fixed shapes. Required unless ``model`` came from
        :func:`from_nir` (which remembers the graph's size).
    form : {"portable", "exponential", "exact"}
        How the discrete conv neuron is written as NIR's continuous LIF (all three
        give the same network; they differ in what a simulator must assume):

        - ``"portable"`` (default): ``r`` = 1 with the input gain folded into the
          weights (τ·α·w), ``tau`` = τ·dt, and pooling neurons with ``r`` = 1 and a
          threshold just below 1 (IF neurons add r·w per spike, whatever dt, as the
          NIR tools do). Exact for simulators that take one forward-Euler
          step per time step (Norse with ``dt``, snnTorch with ``dt=1e-4``).
        - ``"exponential"``: for simulators that decay by e^(−dt/τ_s) per step and
          add each step's input once (Sinabs): ``tau`` = −dt / ln(1 − 1/τ),
          ``r`` = tau/dt (unit input gain), weights α·w, neuron parameters of shape
          (n_kernels, 1, 1) (read such a file with ``nir.read(path,
          type_check=False)`` on nir >= 1.0.5).
        - ``"exact"``: the lossless form for snnconv's own round trip: the float32
          weights α·w snnconv adds, ``r`` = τ, full-size parameter arrays and
          pooling neurons with ``r`` = 1 + 2⁻²⁰ and threshold 1.
    dt : float
        Length of one simulation step in the unit of the graph's time constants
        (``LIF.tau`` = τ·dt in the Euler forms); the default 1 measures time in
        steps. A step stands for 1 ms, so ``dt=1e-3`` gives seconds.

    Notes
    -----
    The graph's nodes are named ``input``, ``conv``, ``lif``, ``pool``,
    ``pool_neurons`` and ``output``; ``graph.metadata["snnconv"]`` is a JSON record
    of everything outside the graph (encoder, frame schedule, preprocessing, the
    unfolded kernels and scale). The ``lif`` and ``pool_neurons`` nodes carry
    ``metadata["reset"]``: NIR (from 1.0.6) resets to ``v_reset``, snnconv by
    subtraction unless ``reset="zero"``.
    """
    nir = _nir()
    snn = _front_end(model)
    snn._check_fitted()
    if form not in FORMS:
        raise ParameterError(f"form: must be one of {list(FORMS)}, got {form!r}")
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ParameterError(f"dt: must be a finite number > 0, got {dt!r}")
    dt = float(dt)
    if image_shape is None:
        image_shape = getattr(snn, "_nir_image_shape", None)
    if image_shape is None:
        raise ParameterError(
            "image_shape: pass (H, W), the size of the images the graph will see "
            "(a ConvSNN runs on any size, a NIR graph has fixed shapes)"
        )
    h, w = (int(v) for v in image_shape)
    n_kernels, pp, qq = snn.output_shape(h, w)
    kernels = np.asarray(snn.kernels_, dtype=np.float64)
    scale = np.asarray(snn.scale_, dtype=np.float64)
    # (n, K, K) kernels read one input channel; (n, C, K, K) read C channels.
    unfolded = kernels[:, None] if kernels.ndim == 3 else kernels
    channels, k = unfolded.shape[1], unfolded.shape[-1]
    s = int(snn.stride)
    pool = int(snn.pool)
    pc, qc = (h - k) // s + 1, (w - k) // s + 1
    threshold = float(snn.threshold)
    tau = snn.tau
    leaky = tau is not None and math.isfinite(tau)
    weight = _weights(unfolded, scale, form, float(tau) if leaky else None, dt)
    reset_note = {"reset": str(snn.reset), "spike_condition": "v >= v_threshold"}
    if form == "exponential":
        # One value per channel, broadcast over the map: Sinabs' importer refuses full
        # 3-D parameter arrays (nir >= 1.0.5 then reads the file with type_check=False).
        conv_shape = pool_shape = (n_kernels, 1, 1)
    else:
        conv_shape, pool_shape = (n_kernels, pc, qc), (n_kernels, pp, qq)
    if leaky:
        tau = float(tau)
        if form == "exact":
            lif = {"tau": tau * dt, "r": tau}
        elif form == "portable":
            lif = {"tau": tau * dt, "r": 1.0}
        else:
            tau_s = -dt / math.log1p(-1.0 / tau) if tau > 1 else dt * 2.0**-30
            lif = {"tau": tau_s, "r": tau_s / dt}
        neuron = _neuron(
            nir, nir.LIF, conv_shape, reset_note, v_leak=0.0, v_threshold=threshold, **lif
        )
    else:
        r = 1.0 / dt if form == "exact" else 1.0  # portable: r·w per spike, whatever dt
        neuron = _neuron(nir, nir.IF, conv_shape, reset_note, r=r, v_threshold=threshold)
    if form == "exact":
        pool_values = {"r": (1.0 + POOL_EPSILON) / dt, "v_threshold": 1.0}
    else:  # NIR tools add r·I per step to an IF whatever dt is
        pool_values = {"r": 1.0, "v_threshold": POOL_THRESHOLD}
    pool_neurons = _neuron(
        nir,
        nir.IF,
        pool_shape,
        {"reset": "subtract", "spike_condition": "v >= v_threshold"},
        **pool_values,
    )
    params = {
        name: _jsonable(value)
        for name, value in snn.get_params(deep=False).items()
        if name not in ("kernels", "n_threads", "progress", "scale")
    }
    record = {
        "format": "snnconv.ConvSNN",
        "form": form,
        "params": params,
        "saturation_quantile_": snn.saturation_quantile_,
        "channels_": snn._channel_option()[0],
        "contrast_size_": snn._channel_option()[1],
        "kernels": kernels.tolist(),
        "scale": scale.tolist(),
        "image_shape": [h, w],
        "dt": dt,
    }
    from . import __version__

    nodes = {
        "input": nir.Input(input_type={"input": np.array([channels, h, w])}),
        "conv": nir.Conv2d(
            input_shape=(h, w),
            weight=weight,
            stride=(s, s),
            padding=(0, 0),
            dilation=(1, 1),
            groups=1,
            bias=np.zeros(n_kernels, dtype=np.float32),
        ),
        "lif": neuron,
        "pool": nir.SumPool2d(
            kernel_size=np.array([pool, pool]),
            stride=np.array([pool, pool]),
            padding=np.array([0, 0]),
        ),
        "pool_neurons": pool_neurons,
        "output": nir.Output(output_type={"output": np.array([n_kernels, pp, qq])}),
    }
    metadata = {
        "producer": "snnconv",
        "snnconv_version": __version__,
        "form": form,
        "dt": dt,
        "snnconv": json.dumps(record, sort_keys=True),
    }
    return _graph(nir, nodes, list(itertools.pairwise(_CHAIN)), metadata)


def write(model: Any, path: str | os.PathLike[str], image_shape: Any = None, **kw: Any) -> str:
    """``to_nir`` then ``nir.write``: the front-end as a NIR (HDF5) file at ``path``."""
    nir = _nir()
    graph = to_nir(model, image_shape, **kw)
    nir.write(os.fspath(path), graph)
    return os.fspath(path)


# ---------------------------------------------------------------------- import
def _chain(graph: Any) -> list[tuple[str, Any]]:
    """The nodes of a linear graph from its one Input to its one Output."""
    nir = _nir()
    nodes = dict(graph.nodes)
    succ: dict[str, list[str]] = {}
    for a, b in graph.edges:
        succ.setdefault(str(a), []).append(str(b))
    inputs = [k for k, v in nodes.items() if isinstance(v, nir.Input)]
    if len(inputs) != 1:
        raise ModelFileError(f"graph: needs exactly one Input node, found {len(inputs)}")
    order, cur = [], inputs[0]
    while True:
        order.append((cur, nodes[cur]))
        nxt = succ.get(cur, [])
        if len(nxt) > 1:
            raise ModelFileError(f"graph: node {cur!r} feeds {len(nxt)} nodes; only a chain maps")
        if not nxt:
            break
        cur = nxt[0]
        if cur in dict(order):
            raise ModelFileError(f"graph: node {cur!r} closes a loop; recurrent graphs do not map")
    if len(order) != len(nodes):
        extra = sorted(set(nodes) - {n for n, _ in order})
        raise ModelFileError(f"graph: nodes {extra} are not on the Input → Output chain")
    return order


def _uniform(node_name: str, field: str, value: Any) -> float:
    a = np.asarray(value, dtype=np.float64)
    if a.size == 0 or not np.all(a == a.flat[0]):
        raise ModelFileError(
            f"graph: node {node_name!r}: {field} differs between neurons; a ConvSNN has one "
            "value for the whole layer"
        )
    return float(a.flat[0])


def _pair(node_name: str, field: str, value: Any) -> int:
    a = np.atleast_1d(np.asarray(value)).astype(np.int64).ravel()
    if a.size == 1:
        a = np.repeat(a, 2)
    if a.size != 2 or a[0] != a[1]:
        raise ModelFileError(
            f"graph: node {node_name!r}: {field} {a.tolist()} must be the same along both axes"
        )
    return int(a[0])


def _older_than(version: Any, minimum: tuple[int, ...]) -> bool:
    """Whether a version string such as "1.0.4" is below ``minimum`` (False if unknown)."""
    try:
        parts = tuple(int(p) for p in str(version).split("+")[0].split(".")[:3])
    except ValueError:
        return False
    return parts < minimum


def _meta_str(meta: Any, key: str) -> str | None:
    v = (meta or {}).get(key)
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, np.ndarray) and v.shape == ():
        v = v.item()
        v = v.decode() if isinstance(v, bytes) else v
    return None if v is None else str(v)


def from_nir(graph: Any, **params: Any) -> Any:
    """A fitted :class:`~snnconv.ConvSNN` from a NIR graph (or a NIR file's path).

    Accepts exactly the chain ``to_nir`` writes: Input → Conv2d (one input channel,
    no padding/dilation/groups/bias, one stride for both axes) → LIF or IF (the same
    parameters for every neuron, ``v_leak`` = 0, ``v_reset`` = 0) → SumPool2d
    (kernel = stride, no padding) → IF (pooling neurons that fire once per input) →
    Output. Any other graph is refused with a ``ModelFileError`` (a ``ValueError``)
    naming the node that does not map.

    Settings the graph does not hold (encoder, frame schedule, preprocessing) come
    from ``graph.metadata["snnconv"]`` when snnconv wrote the graph; otherwise from
    the ConvSNN defaults with ``saturation_quantile=None`` and, per NIR's own reset
    semantics, ``reset="zero"``. Keyword arguments override either (e.g.
    ``frame_steps=20``). A graph written by ``to_nir`` comes back with its original
    kernels and scale and gives identical counts.
    """
    nir = _nir()
    from .conv_snn import ConvSNN

    file_version = None
    if isinstance(graph, (str, os.PathLike)):
        path = os.fspath(graph)
        # The chain is checked below; the exponential form's broadcast parameter
        # shapes do not pass nir's own type check.
        extra = {"type_check": False} if _accepts(nir.read, "type_check") else {}
        graph = nir.read(path, **extra)
        try:
            file_version = nir.read_version(path)
        except (AttributeError, KeyError, OSError, ValueError):
            file_version = None
    if not isinstance(graph, nir.NIRGraph):
        raise ParameterTypeError(
            f"graph: expected a nir.NIRGraph or a path, got {type(graph).__name__}"
        )
    order = _chain(graph)
    expected = (nir.Input, nir.Conv2d, (nir.LIF, nir.IF), nir.SumPool2d, nir.IF, nir.Output)
    labels = ("Input", "Conv2d", "LIF or IF", "SumPool2d", "IF", "Output")
    for i, (name, node) in enumerate(order):
        if i >= len(expected):
            raise ModelFileError(
                f"graph: node {name!r} ({type(node).__name__}) follows the Output position; "
                "only Input → Conv2d → LIF/IF → SumPool2d → IF → Output maps to a ConvSNN"
            )
        if not isinstance(node, expected[i]):
            raise ModelFileError(
                f"graph: unsupported node {name!r} ({type(node).__name__}) where a "
                f"{labels[i]} belongs; only Input → Conv2d → LIF/IF → SumPool2d → IF → "
                "Output maps to a ConvSNN"
            )
    if len(order) != len(expected):
        raise ModelFileError(
            f"graph: the chain has {len(order)} nodes; only Input → Conv2d → LIF/IF → "
            "SumPool2d → IF → Output maps to a ConvSNN"
        )
    (_, inp), (cname, conv), (lname, lif), (pname, pool), (qname, qif), _ = order
    meta = dict(getattr(graph, "metadata", None) or {})
    record: dict[str, Any] = {}
    raw = _meta_str(meta, "snnconv")
    if raw:
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"graph: metadata['snnconv'] is not valid JSON ({exc})") from exc
    dt = float(record.get("dt", meta.get("dt", 1.0)))
    form = _meta_str(meta, "form") or record.get("form")
    if form is not None and form not in FORMS:
        raise ModelFileError(f"graph: metadata form {form!r} is not one of {list(FORMS)}")

    # An IF adds R·dt·I per step in the exact form (forward Euler), R·I in the portable
    # forms (what NIR tools do whatever dt is); for foreign graphs dt is 1 anyway.
    _if_dt = dt if form in (None, "exact") else 1.0

    # Input and convolution.
    shape = np.asarray(inp.input_type["input"]).astype(int).ravel().tolist()
    if len(shape) == 2:
        shape = [1, *shape]
    weight = np.asarray(conv.weight)
    if weight.ndim != 4 or weight.shape[2] != weight.shape[3]:
        raise ModelFileError(
            f"graph: node {cname!r}: weight shape {weight.shape} must be (n_kernels, C, K, K)"
        )
    if len(shape) != 3 or shape[0] != weight.shape[1]:
        raise ModelFileError(
            f"graph: Input shape {shape} must be (C, H, W) with the conv's C = {weight.shape[1]}"
        )
    h, w = shape[1], shape[2]
    if int(np.asarray(conv.groups)) != 1:
        raise ModelFileError(f"graph: node {cname!r}: groups must be 1")
    if _pair(cname, "dilation", conv.dilation) != 1:
        raise ModelFileError(f"graph: node {cname!r}: dilation must be 1")
    padding = conv.padding
    if isinstance(padding, bytes):
        padding = padding.decode()
    if not (isinstance(padding, str) and padding == "valid"):
        if isinstance(padding, str) or _pair(cname, "padding", padding) != 0:
            raise ModelFileError(f"graph: node {cname!r}: padding {padding!r} must be 0 / 'valid'")
    stride = _pair(cname, "stride", conv.stride)
    bias = np.asarray(conv.bias, dtype=np.float64)
    if bias.size and np.any(bias != 0):
        raise ModelFileError(f"graph: node {cname!r}: a non-zero bias has no ConvSNN equivalent")

    # Conv neurons: gain g = R·dt/τ_s (LIF) or R·dt (IF) multiplies the input; the
    # leak per step is 1 − dt/τ_s (forward Euler) or e^(−dt/τ_s) ("exponential" form).
    if isinstance(lif, nir.LIF):
        tau_s = _uniform(lname, "tau", lif.tau)
        r = _uniform(lname, "r", lif.r)
        if _uniform(lname, "v_leak", lif.v_leak) != 0:
            raise ModelFileError(f"graph: node {lname!r}: v_leak must be 0")
        if not (math.isfinite(tau_s) and tau_s > 0):
            raise ModelFileError(f"graph: node {lname!r}: tau must be > 0, got {tau_s}")
        if form == "exponential":
            tau = 1.0 / -math.expm1(-dt / tau_s)
        else:
            tau = tau_s / dt
        gain = r * dt / tau_s
        if tau < 1:
            raise ModelFileError(f"graph: node {lname!r}: tau/dt = {tau} < 1 step has no ConvSNN")
    else:
        tau = None
        gain = _uniform(lname, "r", lif.r) * _if_dt
    threshold = _uniform(lname, "v_threshold", lif.v_threshold)
    if getattr(lif, "v_reset", None) is not None and _uniform(lname, "v_reset", lif.v_reset):
        raise ModelFileError(f"graph: node {lname!r}: v_reset must be 0")
    # NIR resets to v_reset from 1.0.6 on; before, by subtracting the threshold.
    old = file_version if file_version is not None else getattr(nir, "version", None)
    reset = _meta_str(getattr(lif, "metadata", None), "reset") or (
        "subtract" if _older_than(old, (1, 0, 6)) else "zero"
    )

    # Pooling.
    pool_k = _pair(pname, "kernel_size", pool.kernel_size)
    if _pair(pname, "stride", pool.stride) != pool_k:
        raise ModelFileError(f"graph: node {pname!r}: stride must equal kernel_size")
    if _pair(pname, "padding", pool.padding) != 0:
        raise ModelFileError(f"graph: node {pname!r}: padding must be 0")
    q_gain = _uniform(qname, "r", qif.r) * _if_dt
    q_thr = _uniform(qname, "v_threshold", qif.v_threshold)
    # NIR's standard IF (r·dt = v_threshold = 1, as Sinabs writes it) is accepted too:
    # its first input reaches the threshold, which snnconv's pooling (u ≥ threshold) fires on.
    if not q_gain >= q_thr > 0 or q_gain >= 2 * q_thr:
        raise ModelFileError(
            f"graph: node {qname!r}: the pooling neurons must fire once per input spike "
            f"(v_threshold <= r·dt < 2·v_threshold), got r·dt = {q_gain}, v_threshold = {q_thr}"
        )

    # Kernels: the original (kernels, scale) if they reproduce the graph's weights
    # exactly, else the graph's weights with the gain folded in and scale 1.
    kernels = weight.astype(np.float64) * gain
    scale = np.ones(kernels.shape[0])
    if "kernels" in record and "scale" in record and form in FORMS:
        k0 = np.asarray(record["kernels"], dtype=np.float64)
        s0 = np.asarray(record["scale"], dtype=np.float64)
        unfolded = k0[:, None] if k0.ndim == 3 else k0
        if unfolded.shape == weight.shape and s0.shape == scale.shape:
            if np.array_equal(_weights(unfolded, s0, form, tau, dt), weight):  # float32
                kernels, scale = unfolded, s0
    if kernels.shape[1] == 1:
        kernels = kernels[:, 0]  # one input channel: (n, K, K)

    names = [p for p in inspect.signature(ConvSNN).parameters if p != "kernels"]
    settings: dict[str, Any] = {"saturation_quantile": None}
    settings.update({k: v for k, v in record.get("params", {}).items() if k in names})
    if "saturation_quantile_" in record:
        settings["saturation_quantile"] = record["saturation_quantile_"]
    # The contrast channels are preprocessing outside the graph, kept in its record.
    for name in ("channels", "contrast_size"):
        if f"{name}_" in record:
            settings[name] = record[f"{name}_"]
    settings.update(
        stride=stride, pool=pool_k, tau=tau, threshold=threshold, reset=reset, scale=scale
    )
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ParameterTypeError(f"from_nir: ConvSNN has no parameter(s) {unknown}")
    settings.update(params)
    snn = ConvSNN(kernels, **{k: v for k, v in settings.items() if k in names})
    # With ``scale`` given, fitting only resolves the kernels (no calibration).
    # Contrast channels are derived from grey images; other channels are given.
    derived = settings.get("channels", "auto") not in ("auto", "image")
    grey = shape[0] == 1 or derived
    snn.fit(np.zeros((1, h, w) if grey else (1, shape[0], h, w), dtype=np.uint8))
    expect = tuple(int(v) for v in np.asarray(order[-1][1].output_type["output"]).ravel())
    got = snn.output_shape(h, w)
    if expect and expect != tuple(got):
        raise ModelFileError(f"graph: Output shape {expect} does not match the chain's {got}")
    snn._nir_image_shape = (h, w)
    return snn
