"""Datasets by name: the one registry every subcommand uses.

:func:`load_dataset` gives a :class:`Dataset` (images, labels, class names, the groups
folds must respect, the dataset's own test split); :func:`load` only the images and
labels. Names: ``mnist5k``, ``fashion-mnist``, ``digits``, ``idx`` (args: images path,
labels path), ``objects`` (args: path of an object array ``.npz``) and
``synthetic-neovision2`` (args: optionally the number of clips, default 10) and
``nmnist`` (args: the root of an N-MNIST-layout event tree, ``Train|Test/<label>/*.bin``,
and optionally which polarities count: ``both`` (default), ``on`` or ``off``; its
samples become event-count images, its Test folder the test split).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import ParameterError
from .idx import load_idx
from .sources import load_digits, load_fashion_mnist, load_mnist5k

if TYPE_CHECKING:
    from ..events.stream import EventSet

_FASHION_CLASSES = [
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


@dataclass
class Dataset:
    """Images, labels and what an experiment must know about them."""

    images: np.ndarray  # uint8 (N, H, W)
    labels: np.ndarray  # int64 (N,)
    class_names: list[str]
    #: folds never split a group (video clips); None for still-image sets
    groups: np.ndarray | None
    name: str
    #: the dataset's own test split (e.g. Fashion-MNIST's 10k), or None
    test_mask: np.ndarray | None = None
    #: event data (nmnist): sample i's event stream is ``events[i]``, ``images[i]`` its
    #: count image; None for image sets
    events: EventSet | None = None

    def __len__(self) -> int:
        return len(self.labels)


def _digits10(name: str) -> Callable[[Sequence[str], int], Dataset]:
    loader = {"mnist5k": load_mnist5k, "digits": load_digits}[name]

    def build(args: Sequence[str], seed: int) -> Dataset:
        images, labels = loader()
        return Dataset(images, labels, [str(c) for c in range(10)], None, name)

    return build


def _fashion(args: Sequence[str], seed: int) -> Dataset:
    tr = load_fashion_mnist(split="train")
    te = load_fashion_mnist(split="test")
    images, labels = np.concatenate([tr[0], te[0]]), np.concatenate([tr[1], te[1]])
    test_mask = np.arange(len(labels)) >= len(tr[1])
    return Dataset(images, labels, list(_FASHION_CLASSES), None, "fashion-mnist", test_mask)


def _idx(args: Sequence[str], seed: int) -> Dataset:
    if len(args) != 2:
        raise ParameterError("dataset_args: idx needs [images_path, labels_path]")
    # Mapped, not read: a run's workers share the file instead of a copy each.
    images, labels = load_idx(*args, mmap=True)
    return Dataset(images, labels, [str(c) for c in np.unique(labels)], None, "idx")


def _objects(args: Sequence[str], seed: int) -> Dataset:
    from ..preprocess.object_array import ObjectArray

    if len(args) != 1:
        raise ParameterError("dataset_args: objects needs [path/to/objects.npz]")
    return _from_objects(ObjectArray.load(args[0]), "objects")


def _synthetic_neovision2(args: Sequence[str], seed: int) -> Dataset:
    """Generates clips in a temporary folder and extracts their objects."""
    from ..preprocess.extract import extract_objects
    from .neovision2 import open_clip
    from .synth_neovision2 import generate_clips

    n_clips = _n_clips(args)
    with tempfile.TemporaryDirectory() as tmp:
        clips = generate_clips(tmp, n_clips, seed=seed, n_frames=120)
        opened = [open_clip(c.csv_path) for c in clips]
        objects = extract_objects(opened, every=2)
    return _from_objects(objects, "synthetic-neovision2")


#: The most clips ``synthetic-neovision2`` generates (each is 120 frames of 320×180).
MAX_SYNTHETIC_CLIPS = 1000


def _n_clips(args: Sequence[str]) -> int:
    if not args:
        return 10
    try:
        n = int(args[0])
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_SYNTHETIC_CLIPS:
        raise ParameterError(
            f"dataset_args: synthetic-neovision2 takes a number of clips in "
            f"[1, {MAX_SYNTHETIC_CLIPS}], got {args[0]!r}"
        )
    return n


def check_dataset(name: str, args: Sequence[str] = (), field: str = "name") -> None:
    """Checks a dataset name and its arguments (count, files that exist) without
    loading anything."""
    if name not in _DATASETS:
        raise ParameterError(f"{field}: unknown dataset {name!r}; known: {', '.join(names())}")
    args = [str(a) for a in args]
    wanted = {"idx": (2, 2), "objects": (1, 1), "synthetic-neovision2": (0, 1), "nmnist": (1, 2)}
    wanted = wanted.get(name, (0, 0))
    usage = {
        "idx": "IMAGES LABELS (two IDX files)",
        "objects": "FILE.npz (an object array)",
        "synthetic-neovision2": "an optional number of clips",
        "nmnist": "ROOT [both|on|off] (a folder with Train/<label>/*.bin and Test/...)",
    }.get(name, "no arguments")
    if not wanted[0] <= len(args) <= wanted[1]:
        raise ParameterError(f"dataset_args: {name} takes {usage}, got {args}")
    if name == "synthetic-neovision2":
        _n_clips(args)
    elif name == "nmnist":
        for split in ("Train", "Test"):
            if not (Path(args[0]) / split).is_dir():
                raise ParameterError(f"dataset_args: {args[0]}: no {split} folder (nmnist ROOT)")
        if len(args) > 1 and args[1] not in _POLARITIES:
            raise ParameterError(
                f"dataset_args: nmnist polarities must be both, on or off, got {args[1]!r}"
            )
    elif name in ("idx", "objects"):
        for a in args:
            p = Path(a)
            if not p.exists():
                raise ParameterError(f"dataset_args: {a}: no such file")
            if p.is_dir():
                raise ParameterError(f"dataset_args: {a} is a folder, not a file")


#: nmnist's second argument: the polarities kept (both, ON events only, OFF only).
_POLARITIES = ("both", "on", "off")


def _nmnist(args: Sequence[str], seed: int) -> Dataset:
    """An N-MNIST tree with its own Train/Test split: the event streams (``events``,
    for the CSNN) and their event-count images (both polarities summed, scaled on the
    training split only, for the methods that take images). With the polarity
    argument ``on`` or ``off``, only those events are kept, in one channel."""
    from ..events.binning import count_frames, count_scale, to_images
    from ..events.nmnist import load_nmnist
    from ..events.stream import NMNIST_SENSOR, EventSet

    root = args[0]
    polarity = args[1] if len(args) > 1 else "both"
    train_ev, train_y = load_nmnist(root, "train")
    test_ev, test_y = load_nmnist(root, "test")
    sensor = NMNIST_SENSOR
    if polarity != "both":
        on = polarity == "on"
        train_ev = [s[(s["p"] > 0) == on] for s in train_ev]
        test_ev = [s[(s["p"] > 0) == on] for s in test_ev]
        sensor = (*NMNIST_SENSOR[:2], 1)
    train_f = count_frames(train_ev, sensor)
    test_f = count_frames(test_ev, sensor)
    scale = count_scale(train_f)
    images = np.concatenate([to_images(train_f, scale), to_images(test_f, scale)])
    del train_f, test_f
    # one flat array on a temporary file, mapped: the run's worker processes share it
    events = EventSet.of(train_ev + test_ev, sensor).mapped()
    del train_ev, test_ev
    labels = np.concatenate([train_y, test_y])
    test_mask = np.arange(len(labels)) >= len(train_y)
    classes = [str(c) for c in np.unique(labels)]
    return Dataset(images, labels, classes, None, "nmnist", test_mask, events)


def _from_objects(objects: Any, name: str) -> Dataset:
    return Dataset(objects.images, objects.labels, list(objects.classes), objects.clip, name)


_DATASETS: dict[str, Callable[[Sequence[str], int], Dataset]] = {
    "mnist5k": _digits10("mnist5k"),
    "fashion-mnist": _fashion,
    "digits": _digits10("digits"),
    "idx": _idx,
    "objects": _objects,
    "synthetic-neovision2": _synthetic_neovision2,
    "nmnist": _nmnist,
}


#: Settings a dataset needs that differ from the defaults, as ``table.field`` values.
#: scikit-learn's digits are 8×8: the default 9×9 kernels at stride 2 do not fit, so
#: they get 3×3 kernels at stride 1 (6×6 maps, pooled to 3×3), one kernel size and one
#: scale for the layer (the CSNN's measured setting there). N-MNIST's training
#: folder gets five CoLaNET passes, the setting chosen on a validation split of the
#: synthetic tree's training folder (docs/events.md, "Results on the synthetic tree").
PRESETS: dict[str, dict[str, Any]] = {
    "digits": {
        "kernels.kernel_size": 3,
        "kernels.stride": 1,
        "kernels.scales": [],
        "conv_snn.scale_per_kernel": False,
    },
    "nmnist": {"classifier.params.epochs": 5},
}


def presets(name: str) -> dict[str, Any]:
    """The settings :data:`PRESETS` gives dataset ``name`` (empty for most)."""
    return dict(PRESETS.get(name, {}))


def names() -> list[str]:
    """Names accepted by :func:`load` and :func:`load_dataset`."""
    return sorted(_DATASETS)


def load_dataset(name: str, args: Sequence[str] = (), seed: int = 0) -> Dataset:
    """The dataset ``name``; ``args`` are its arguments (paths, number of clips) and
    ``seed`` seeds generated data."""
    check_dataset(name, args)
    return _DATASETS[name](list(args), seed)


#: Image sets whose loader takes its own arguments (Fashion-MNIST: ``path``, ``split``).
_IMAGE_LOADERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "mnist5k": load_mnist5k,
    "digits": load_digits,
    "fashion-mnist": load_fashion_mnist,
    "idx": load_idx,
}


def load(name: str, *args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8, N×H×W) and int64 labels of the dataset ``name``.

    Extra arguments go to the loader, e.g. ``load("fashion-mnist", split="test")``
    (the train split by default), ``load("idx", images_path, labels_path)`` or
    ``load("objects", path)``.
    """
    if name in _IMAGE_LOADERS:
        return _IMAGE_LOADERS[name](*args, **kwargs)
    data = load_dataset(name, [str(a) for a in args], **kwargs)
    return data.images, data.labels
