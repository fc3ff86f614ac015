"""snnconv in one sitting: kernels → spiking front-end → CoLaNET on 1,000 MNIST images.

Run it with ``python examples/tutorial.py [output folder]`` (needs the ``data`` and
``plot`` extras; the NIR step runs when the ``nir`` extra is installed). Every file goes
to the output folder, a fresh temporary folder by default. It takes well under a minute.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import snnconv
from snnconv import plots
from snnconv.datasets import load_mnist5k


def main(out: Path) -> dict[str, float]:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    # The MNIST 5k sample is sorted by label: shuffle, then take 1,000 images.
    images, labels = load_mnist5k()
    order = np.random.default_rng(0).permutation(len(images))[:1000]
    images, labels = images[order], labels[order]
    train, test = slice(0, 800), slice(800, 1000)

    # 1. Kernels, learned without labels by a local rule (docs/algorithms.md §1).
    learner = snnconv.KernelLearner(random_state=0).fit(images[train])
    print(f"1. {learner.kernels_.shape[0]} kernels of {learner.kernels_.shape[1]}² pixels")
    plots.kernel_grid(learner.kernels_, out / "kernels.png", title="Learned kernels")

    # 2. The spiking front-end: LIF convolution + exact sum pooling (§2). Fitting only
    #    calibrates the weight scale α to a target firing rate.
    snn = snnconv.ConvSNN(learner, on_backlog="ignore").fit(images[:300])
    counts = snn.transform(images[test])
    print(f"2. front-end: α = {snn.scale_[0]:.4f}, pooled counts {counts.shape}")
    frame = snn.simulate(images[800])
    plots.spike_rasters(
        {layer: frame[layer] for layer in ("input", "conv", "pool")},
        out / "rasters.png",
        title=f"One frame of a test image (label {labels[800]})",
    )

    # 3. The whole classifier: kernels → front-end → CoLaNET (§3), trained online.
    model = snnconv.CSNNClassifier(kernel_learner=learner, calibration_size=300)
    model.fit(images[train], labels[train])
    accuracy = model.score(images[test], labels[test])
    print(f"3. CSNN test accuracy {accuracy:.3f} with {model.n_neurons_:,} neurons")

    # 4. Models are folders of .npz + JSON files (no pickle); a loaded model predicts
    #    exactly as the original.
    path = model.save(out / "csnn-model")
    same = snnconv.CSNNClassifier.load(path)
    assert np.array_equal(same.predict(images[test]), model.predict(images[test]))
    print(f"4. saved and reloaded {path}")

    # 5. The front-end as a NIR graph, for other simulators and neuromorphic hardware.
    try:
        import nir
    except ImportError:
        print("5. NIR export skipped (pip install 'snnconv[nir]')")
    else:
        from snnconv import nir as snnconv_nir

        graph = snnconv_nir.to_nir(model, image_shape=images.shape[1:])
        nir.write(out / "front_end.nir", graph)
        back = snnconv_nir.from_nir(out / "front_end.nir")
        assert np.array_equal(back.transform(images[test]), model.transform(images[test]))
        print(f"5. NIR graph {' → '.join(graph.nodes)} written to {out / 'front_end.nir'}")

    seconds = time.perf_counter() - t0
    print(f"done in {seconds:.0f} s; files in {out}")
    return {"accuracy": accuracy, "seconds": seconds}


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="snnconv-"))
    main(folder)
