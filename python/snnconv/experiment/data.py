"""Datasets for experiments: images, labels, the groups folds must respect, class names."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

import numpy as np

from .config import RunConfig


@dataclass
class ExperimentData:
    images: np.ndarray  # uint8 (N, H, W)
    labels: np.ndarray  # int64 (N,)
    class_names: list[str]
    #: folds never split a group (video clips); None for still-image sets
    groups: np.ndarray | None
    name: str
    #: the dataset's own test split (e.g. Fashion-MNIST's 10k), or None
    test_mask: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)


def load_experiment_data(run: RunConfig) -> ExperimentData:
    """Loads ``run.dataset`` and applies the seeded ``limit``."""
    from .. import datasets

    name, args = run.dataset, list(run.dataset_args)
    groups = None
    test_mask = None
    if name in ("mnist5k", "digits"):
        images, labels = datasets.load(name)
        class_names = [str(c) for c in range(10)]
    elif name == "fashion-mnist":
        tr = datasets.load("fashion-mnist", split="train")
        te = datasets.load("fashion-mnist", split="test")
        images, labels = np.concatenate([tr[0], te[0]]), np.concatenate([tr[1], te[1]])
        test_mask = np.arange(len(labels)) >= len(tr[1])
        class_names = [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ]
    elif name == "idx":
        if len(args) != 2:
            raise ValueError("run.dataset_args: idx needs [images_path, labels_path]")
        images, labels = datasets.load("idx", *args)
        class_names = [str(c) for c in np.unique(labels)]
    elif name in ("objects", "synthetic-neovision2"):
        objects = _objects(name, args, run.seed)
        images, labels, groups = objects.images, objects.labels, objects.clip
        class_names = list(objects.classes)
    else:
        raise ValueError(
            f"run.dataset: unknown dataset {name!r}; choose mnist5k, fashion-mnist, digits, "
            "idx, objects or synthetic-neovision2"
        )
    if run.limit and run.limit < len(labels):
        keep = np.sort(np.random.default_rng(run.seed).permutation(len(labels))[: run.limit])
        images, labels = images[keep], labels[keep]
        groups = None if groups is None else groups[keep]
        test_mask = None if test_mask is None else test_mask[keep]
    return ExperimentData(
        np.ascontiguousarray(images),
        np.asarray(labels, np.int64),
        class_names,
        groups,
        name,
        test_mask,
    )


def _objects(name: str, args: list[str], seed: int):
    from ..preprocess import ObjectArray

    if name == "objects":
        if len(args) != 1:
            raise ValueError("run.dataset_args: objects needs [path/to/objects.npz]")
        return ObjectArray.load(args[0])
    # synthetic-neovision2: generate clips in a temporary folder and extract objects
    from ..datasets.neovision2 import open_clip
    from ..datasets.synth_neovision2 import generate_clips
    from ..preprocess import extract_objects

    n_clips = int(args[0]) if args else 10
    with tempfile.TemporaryDirectory() as tmp:
        clips = generate_clips(tmp, n_clips, seed=seed, n_frames=120)
        opened = [open_clip(c.csv_path) for c in clips]
        return extract_objects(opened, every=2)
