"""How outside NIR tools run snnconv's exported front-end (the table in docs/nir.md).

Usage::

    python benchmarks/nir_peers.py norse [--images 50]
    python benchmarks/nir_peers.py snntorch
    python benchmarks/nir_peers.py sinabs             # in a venv with sinabs (nir <= 1.0.4)
    python benchmarks/nir_peers.py sinabs-multispike  # Sinabs with its default spike rule

Fits the default front-end on the MNIST 5k sample (KernelLearner(random_state=0) on
1,000 images, ConvSNN calibrated on 200) with the tool's reset rule, exports it in the
form that tool reads (Norse: "portable", dt=1; snnTorch: "portable", dt=1e-4, its fixed
step; Sinabs: "exponential"), feeds it snnconv's own input spike rasters of ``--images``
test images, and prints: conv raster entries equal (step × neuron), conv spikes of both,
and pooled counts of both with snnconv's pooling backlog (conv spikes still waiting when
a frame ends). ``sinabs`` loads the graph with the settings docs/nir.md gives (one spike
per step, no potential floor); ``sinabs-multispike`` as ``sinabs.from_nir`` leaves it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import snnconv
from snnconv import nir as snir
from snnconv.datasets import load_mnist5k

#: tool → (ConvSNN reset rule the tool's neurons follow, to_nir keywords)
SETUP = {
    "norse": ("zero", {"form": "portable", "dt": 1.0}),
    "snntorch": ("zero", {"form": "portable", "dt": 1e-4}),
    "sinabs": ("subtract", {"form": "exponential"}),
    "sinabs-multispike": ("subtract", {"form": "exponential"}),
}


def sinabs_like_snnconv(net):
    """docs/nir.md's settings for Sinabs: at most one spike per step, no floor."""
    import sinabs
    from sinabs.activation import SingleSpike

    for layer in net.modules():
        if isinstance(layer, sinabs.layers.LIF):  # LIF, IAF and their Squeeze forms
            layer.spike_fn = SingleSpike
            layer.min_v_mem = None
    return net


def _conv_only(nir, graph):
    nodes = {k: graph.nodes[k] for k in ("input", "conv", "lif")}
    n = np.asarray(graph.nodes["conv"].weight).shape[0]
    shape = (n, *np.asarray(graph.nodes["lif"].v_threshold).shape[1:])
    nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    edges = [("input", "conv"), ("conv", "lif"), ("lif", "output")]
    return snir._graph(nir, nodes, edges, {})


def _first(y):
    return y[0] if isinstance(y, tuple) else y


def runner(tool, graph):
    """A function raster (T, 1, H, W) tensor → output spikes (T, ...) for ``graph``."""
    if tool == "norse":
        import norse.torch as norse

        net = norse.from_nir(graph, dt=1.0)

        def run(x):
            out, state = [], None
            for t in range(len(x)):
                y, state = net(x[t : t + 1], state)
                out.append(y[0].detach().numpy())
            return np.stack(out)

    elif tool == "snntorch":
        from snntorch.import_nir import import_from_nir

        net = import_from_nir(graph)

        def run(x):
            for m in net.modules():
                if hasattr(m, "reset_hidden"):
                    m.reset_hidden()
            return np.stack([_first(net(x[t : t + 1]))[0].detach().numpy() for t in range(len(x))])

    else:
        import sinabs

        net = sinabs.from_nir(graph, batch_size=1)
        if tool == "sinabs":
            net = sinabs_like_snnconv(net)

        def run(x):
            for m in net.modules():
                if hasattr(m, "reset_states"):
                    m.reset_states()
            return _first(net(x)).detach().numpy()

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tool", choices=sorted(SETUP))
    ap.add_argument("--images", type=int, default=50)
    args = ap.parse_args()
    import nir
    import torch

    torch.set_num_threads(1)
    images, _ = load_mnist5k()
    images = images[np.random.default_rng(0).permutation(len(images))]
    learner = snnconv.KernelLearner(random_state=0).fit(images[:1000])
    reset, export = SETUP[args.tool]
    snn = snnconv.ConvSNN(learner, reset=reset, on_backlog="ignore").fit(images[:200])
    graph = snir.to_nir(snn, (28, 28), **export)
    conv_run, full_run = runner(args.tool, _conv_only(nir, graph)), runner(args.tool, graph)
    t0 = time.perf_counter()
    equal = entries = conv_peer = conv_ours = pool_peer = pool_ours = backlog = 0
    carry = None
    for i, image in enumerate(images[2000 : 2000 + args.images]):
        frame = snn.simulate(image, i, carry)
        carry = frame["carry"]
        x = torch.from_numpy(frame["input"].astype(np.float32))[:, None]
        conv = conv_run(x)
        equal += int((conv == frame["conv"]).sum())
        entries += frame["conv"].size
        conv_peer += int(conv.sum())
        conv_ours += int(frame["conv"].sum())
        pool_peer += int(full_run(x).sum())
        pool_ours += int(frame["pooled"].sum())
        backlog += int(np.asarray(frame["backlog"]).sum())
    versions = {m: __import__(m).__version__ for m in ("nir", args.tool.split("-")[0])}
    print(
        f"{args.tool} {versions} export {export}, snnconv reset={reset!r}, "
        f"{args.images} images ({time.perf_counter() - t0:.1f} s)\n"
        f"  conv raster equal: {equal}/{entries} ({100 * equal / entries:.3f} %); "
        f"conv spikes {args.tool} {conv_peer}, snnconv {conv_ours}\n"
        f"  pooled spikes {args.tool} {pool_peer}, snnconv {pool_ours} "
        f"(difference {pool_peer - pool_ours:+d}; snnconv backlog {backlog})"
    )


if __name__ == "__main__":
    main()
