"""Export the spiking front-end to NIR, the Neuromorphic Intermediate Representation.

``to_nir(model, image_shape)`` turns a fitted :class:`~snnconv.ConvSNN` (or the
front-end of a fitted :class:`~snnconv.CSNNClassifier`) into a ``nir.NIRGraph``::

    input (C, H, W) → conv: Conv2d → lif: LIF (or IF when τ = ∞)
        → pool: SumPool2d → pool_neurons: IF → output (n_kernels, P', Q')

and ``from_nir(graph)`` turns such a graph (or a NIR file) back into a fitted
``ConvSNN``. Needs the optional ``nir`` package (``pip install 'snnconv[nir]'``).

Parameter mapping (time unit: one simulation step of length ``dt``, default 1)
--------------------------------------------------------------------------------
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
- **Reset.** NIR neurons reset *to* ``v_reset``; snnconv's conv and pooling neurons
  reset *by subtraction* (u ← u − u_THR, the surplus is kept). NIR 1.0 has no
  subtractive reset, so the graph carries ``metadata["reset"] = "subtract"`` on the
  ``lif`` and ``pool_neurons`` nodes; a simulator that ignores it runs the
  reset-to-zero variant (``ConvSNN(reset="zero")`` for the conv layer), which fires
  less, and pooling neurons that lose the spikes which arrive together.
- **Spike condition.** snnconv spikes when u ≥ u_THR, NIR when v > v_threshold.
  They differ only when a potential equals the threshold exactly.
- **Discrete vs continuous time.** The mapping above is exact for forward Euler
  with step ``dt``. A simulator that integrates the LIF ODE exactly (decay
  e^(−dt/τ_s) per step) leaks slightly more (0.9048 instead of 0.9 per step at τ = 10).
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
from .exceptions import ModelFileError, ParameterError

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
    raise TypeError(
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


def to_nir(model: Any, image_shape: tuple[int, int] | None = None, *, dt: float = 1.0) -> Any:
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
    dt : float
        Length of one simulation step in the unit of the graph's time constants
        (``LIF.tau`` = τ·dt, ``LIF.r`` = τ, ``IF.r`` = 1/dt); the default 1 measures
        time in steps. A step stands for 1 ms, so ``dt=1e-3`` gives seconds.

    Notes
    -----
    The graph's nodes are named ``input``, ``conv``, ``lif``, ``pool``,
    ``pool_neurons`` and ``output``; ``graph.metadata["snnconv"]`` is a JSON record
    of everything outside the graph (encoder, frame schedule, preprocessing, the
    unfolded kernels and scale).
    """
    nir = _nir()
    snn = _front_end(model)
    snn._check_fitted()
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
    k = kernels.shape[-1]
    per_channel = kernels if kernels.ndim == 4 else kernels[:, None]
    channels = per_channel.shape[1]
    s = int(snn.stride)
    pool = int(snn.pool)
    pc, qc = (h - k) // s + 1, (w - k) // s + 1
    # The simulator's own weights: (α_a · w) computed in float64, rounded once to float32.
    weight = (scale[:, None, None, None] * per_channel).astype(np.float32)
    conv_shape = (n_kernels, pc, qc)
    threshold = float(snn.threshold)
    tau = snn.tau
    leaky = tau is not None and math.isfinite(tau)
    reset_note = {"reset": str(snn.reset), "spike_condition": "v >= v_threshold"}
    if leaky:
        neuron = nir.LIF(
            tau=np.full(conv_shape, float(tau) * dt),
            r=np.full(conv_shape, float(tau)),
            v_leak=np.zeros(conv_shape),
            v_threshold=np.full(conv_shape, threshold),
            v_reset=np.zeros(conv_shape),
            metadata=reset_note,
        )
    else:
        neuron = nir.IF(
            r=np.full(conv_shape, 1.0 / dt),
            v_threshold=np.full(conv_shape, threshold),
            v_reset=np.zeros(conv_shape),
            metadata=reset_note,
        )
    pool_shape = (n_kernels, pp, qq)
    pool_neurons = nir.IF(
        r=np.full(pool_shape, (1.0 + POOL_EPSILON) / dt),
        v_threshold=np.ones(pool_shape),
        v_reset=np.zeros(pool_shape),
        metadata={"reset": "subtract", "spike_condition": "v >= v_threshold"},
    )
    params = {
        name: _jsonable(value)
        for name, value in snn.get_params(deep=False).items()
        if name not in ("kernels", "n_threads", "progress", "scale")
    }
    record = {
        "format": "snnconv.ConvSNN",
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
        "output": nir.Output(output_type={"output": np.array(pool_shape)}),
    }
    edges = list(itertools.pairwise(_CHAIN))
    metadata = {
        "producer": "snnconv",
        "snnconv_version": __version__,
        "dt": dt,
        "snnconv": json.dumps(record, sort_keys=True),
    }
    # SumPool2d declares no shapes, so NIR's type check cannot follow the chain.
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=False)


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

    if isinstance(graph, (str, os.PathLike)):
        graph = nir.read(os.fspath(graph))
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph: expected a nir.NIRGraph or a path, got {type(graph).__name__}")
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

    # Input and convolution.
    shape = np.asarray(inp.input_type["input"]).astype(int).ravel().tolist()
    if len(shape) == 2:
        shape = [1, *shape]
    if len(shape) != 3 or shape[0] < 1:
        raise ModelFileError(f"graph: Input shape {shape} must be (C, H, W)")
    channels, h, w = shape
    weight = np.asarray(conv.weight)
    if weight.ndim != 4 or weight.shape[1] != channels or weight.shape[2] != weight.shape[3]:
        raise ModelFileError(
            f"graph: node {cname!r}: weight shape {weight.shape} must be "
            f"(n_kernels, {channels}, K, K) for an Input of {channels} channel(s)"
        )
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

    # Conv neurons: gain g = R·dt/τ_s (LIF) or R·dt (IF) multiplies the input.
    if isinstance(lif, nir.LIF):
        tau_s = _uniform(lname, "tau", lif.tau)
        r = _uniform(lname, "r", lif.r)
        if _uniform(lname, "v_leak", lif.v_leak) != 0:
            raise ModelFileError(f"graph: node {lname!r}: v_leak must be 0")
        tau = tau_s / dt
        gain = r * dt / tau_s
        if tau < 1:
            raise ModelFileError(f"graph: node {lname!r}: tau/dt = {tau} < 1 step has no ConvSNN")
    else:
        tau = None
        gain = _uniform(lname, "r", lif.r) * dt
    threshold = _uniform(lname, "v_threshold", lif.v_threshold)
    if _uniform(lname, "v_reset", lif.v_reset) != 0:
        raise ModelFileError(f"graph: node {lname!r}: v_reset must be 0")
    reset = _meta_str(getattr(lif, "metadata", None), "reset") or "zero"

    # Pooling.
    pool_k = _pair(pname, "kernel_size", pool.kernel_size)
    if _pair(pname, "stride", pool.stride) != pool_k:
        raise ModelFileError(f"graph: node {pname!r}: stride must equal kernel_size")
    if _pair(pname, "padding", pool.padding) != 0:
        raise ModelFileError(f"graph: node {pname!r}: padding must be 0")
    q_gain = _uniform(qname, "r", qif.r) * dt
    q_thr = _uniform(qname, "v_threshold", qif.v_threshold)
    if not q_gain > q_thr > 0 or q_gain >= 2 * q_thr:
        raise ModelFileError(
            f"graph: node {qname!r}: the pooling neurons must fire once per input spike "
            f"(v_threshold < r·dt < 2·v_threshold), got r·dt = {q_gain}, v_threshold = {q_thr}"
        )

    # Kernels: the original (kernels, scale) if they reproduce the graph's weights
    # exactly, else the graph's weights with the gain folded in and scale 1.
    # One channel is (n_kernels, K, K), as ConvSNN holds it.
    kernels = (weight[:, 0] if channels == 1 else weight).astype(np.float64)
    scale = np.ones(kernels.shape[0])
    if gain != 1.0:
        kernels = kernels * gain
    if "kernels" in record and "scale" in record and gain == 1.0:
        k0 = np.asarray(record["kernels"], dtype=np.float64)
        s0 = np.asarray(record["scale"], dtype=np.float64)
        if k0.shape == kernels.shape and s0.shape == scale.shape:
            s0b = s0.reshape(-1, *([1] * (k0.ndim - 1)))
            if np.array_equal((s0b * k0).astype(np.float32).reshape(weight.shape), weight):
                kernels, scale = k0, s0

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
        raise TypeError(f"from_nir: ConvSNN has no parameter(s) {unknown}")
    settings.update(params)
    snn = ConvSNN(kernels, **{k: v for k, v in settings.items() if k in names})
    # With ``scale`` given, fitting only resolves the kernels (no calibration).
    # Contrast channels are derived from grey images; other channels are given.
    derived = settings.get("channels", "auto") not in ("auto", "image")
    grey = channels == 1 or derived
    snn.fit(np.zeros((1, h, w) if grey else (1, channels, h, w), dtype=np.uint8))
    expect = tuple(int(v) for v in np.asarray(order[-1][1].output_type["output"]).ravel())
    got = snn.output_shape(h, w)
    if expect and expect != tuple(got):
        raise ModelFileError(f"graph: Output shape {expect} does not match the chain's {got}")
    snn._nir_image_shape = (h, w)
    return snn
