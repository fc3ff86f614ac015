"""Task streams built from one labelled image set.

- ``permuted`` (domain-incremental): every task has all classes; task i shows the images
  through a fixed seeded pixel permutation, task 0 through the identity.
- ``rotated`` (domain-incremental): task i shows the images rotated by i · 180° / T
  (task 0 unrotated), bilinear, corners filled with 0.
- ``split`` (class-incremental): the classes in a seeded order (or their natural order),
  ``classes_per_task`` per task (the last task takes what is left); a model must still
  choose among all classes it has seen, with no task identity at test time.

Every task has its own train and test images: the image set's split is made once
(its own test split when it has one, e.g. Fashion-MNIST's 10k, otherwise a seeded
stratified ``test_fraction``) and each task takes its part of both. Task images are
made on demand, so a stream of many permuted tasks costs one copy of the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._util.validation import check_int, check_real
from ..exceptions import DataError, ParameterError

SCENARIOS = ("permuted", "rotated", "split")
#: What each scenario holds fixed across tasks: the label set or the input domain.
KIND = {"permuted": "domain", "rotated": "domain", "split": "class"}
#: Largest number of tasks a stream may have.
MAX_TASKS = 1000


@dataclass
class Task:
    """One task: its name, its classes, and its train/test images made on demand."""

    index: int
    name: str
    classes: np.ndarray
    _images: np.ndarray = field(repr=False)
    _labels: np.ndarray = field(repr=False)
    _train: np.ndarray = field(repr=False)
    _test: np.ndarray = field(repr=False)
    _view: Callable[[np.ndarray], np.ndarray] = field(repr=False)

    def train(self) -> tuple[np.ndarray, np.ndarray]:
        """Training images (N, H, W) uint8 and labels of this task."""
        return self._view(self._images[self._train]), self._labels[self._train]

    def test(self) -> tuple[np.ndarray, np.ndarray]:
        """Test images and labels of this task."""
        return self._view(self._images[self._test]), self._labels[self._test]

    def test_labels(self) -> np.ndarray:
        """Labels of this task's test images (without making the images)."""
        return self._labels[self._test]

    @property
    def n_train(self) -> int:
        return int(self._train.size)

    @property
    def n_test(self) -> int:
        return int(self._test.size)


@dataclass
class Stream:
    """A scenario's tasks over one image set, with what describes it."""

    scenario: str
    dataset: str
    tasks: list[Task]
    #: every label of the stream, sorted (the classes a model declares at its first call)
    classes: np.ndarray
    class_names: list[str]
    params: dict[str, Any]

    def __len__(self) -> int:
        return len(self.tasks)

    def describe(self) -> dict[str, Any]:
        """JSON-ready description: scenario, parameters, each task's classes and sizes."""
        return {
            "scenario": self.scenario,
            "kind": KIND[self.scenario],
            "dataset": self.dataset,
            **self.params,
            "tasks": [
                {
                    "name": t.name,
                    "classes": t.classes.tolist(),
                    "n_train": t.n_train,
                    "n_test": t.n_test,
                }
                for t in self.tasks
            ],
        }


def train_test_indices(
    labels: np.ndarray, test_mask: np.ndarray | None, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The image set's own split when it has one, else a seeded stratified one."""
    n = labels.shape[0]
    if test_mask is not None:
        return np.flatnonzero(~test_mask), np.flatnonzero(test_mask)
    rng = np.random.default_rng([seed, 7])
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = round(test_fraction * idx.size)
        if k < 1 or k >= idx.size:
            raise DataError(
                f"test_fraction: {test_fraction} leaves class {c!r} ({idx.size} images) "
                "without train or test images"
            )
        test.append(idx[:k])
        train.append(idx[k:])
    if not train:
        raise DataError(f"labels: no images (got {n})")
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def make_stream(
    scenario: str,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    n_tasks: int = 5,
    classes_per_task: int = 2,
    class_order: str = "seeded",
    test_mask: np.ndarray | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    dataset: str = "images",
    class_names: list[str] | None = None,
) -> Stream:
    """Builds the tasks of ``scenario`` from uint8 images (N, H, W) and labels.

    ``n_tasks`` counts the tasks of ``permuted`` and ``rotated``; ``split`` makes as
    many tasks as ``classes_per_task`` cuts the classes into. ``class_order`` is
    ``"seeded"`` (a permutation drawn from ``seed``) or ``"natural"`` (sorted labels).
    """
    if scenario not in SCENARIOS:
        raise ParameterError(f"scenario: must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"images: must be uint8 (N, H, W), got {images.dtype} {images.shape}")
    if labels.shape != (images.shape[0],):
        raise DataError(f"labels: must be ({images.shape[0]},), got {labels.shape}")
    check_real("test_fraction", test_fraction, lambda v: 0 < v < 1, "in (0, 1)")
    classes = np.unique(labels)
    train, test = train_test_indices(labels, test_mask, test_fraction, seed)
    names = class_names if class_names is not None else [str(c) for c in classes]
    params: dict[str, Any] = {"seed": int(seed)}
    if scenario == "split":
        check_int("classes_per_task", classes_per_task, 1, max(1, classes.size))
        if class_order not in ("seeded", "natural"):
            raise ParameterError(f"class_order: must be 'seeded' or 'natural', got {class_order!r}")
        order = classes if class_order == "natural" else _seeded_order(classes, seed)
        k = int(classes_per_task)
        groups = [order[i : i + k] for i in range(0, order.size, k)]
        if len(groups) < 2:
            raise ParameterError(
                f"classes_per_task: {k} puts all {classes.size} classes in one task; "
                f"must be < {classes.size}"
            )
        tasks = []
        for i, g in enumerate(groups):
            tr = train[np.isin(labels[train], g)]
            te = test[np.isin(labels[test], g)]
            name = "classes " + ",".join(names[int(np.searchsorted(classes, c))] for c in g)
            tasks.append(Task(i, name, np.sort(g), images, labels, tr, te, _identity))
        params.update(classes_per_task=k, class_order=[c.item() for c in order])
    else:
        check_int("n_tasks", n_tasks, 1, MAX_TASKS)
        views = _permutations if scenario == "permuted" else _rotations
        tasks = [
            Task(i, name, classes, images, labels, train, test, view)
            for i, (name, view) in enumerate(views(int(n_tasks), images.shape[1:], seed))
        ]
        params.update(n_tasks=int(n_tasks))
    return Stream(scenario, dataset, tasks, classes, list(names), params)


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def _seeded_order(classes: np.ndarray, seed: int) -> np.ndarray:
    return classes[np.random.default_rng([seed, 11]).permutation(classes.size)]


def _permutations(n: int, shape: tuple[int, ...], seed: int) -> list[tuple[str, Any]]:
    """Task 0 the identity; task i a permutation of the pixels from (seed, i)."""
    size = int(np.prod(shape))
    out: list[tuple[str, Any]] = [("identity", _identity)]
    for i in range(1, n):
        perm = np.random.default_rng([seed, 13, i]).permutation(size)
        out.append((f"permutation {i}", _permute(perm)))
    return out


def _permute(perm: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    def view(x: np.ndarray) -> np.ndarray:
        flat = x.reshape(x.shape[0], -1)[:, perm]
        return np.ascontiguousarray(flat.reshape(x.shape))

    return view


def _rotations(n: int, shape: tuple[int, ...], seed: int) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [("0°", _identity)]
    for i in range(1, n):
        angle = 180.0 * i / n
        out.append((f"{angle:g}°", _rotate(angle)))
    return out


def _rotate(angle: float) -> Callable[[np.ndarray], np.ndarray]:
    def view(x: np.ndarray) -> np.ndarray:
        from scipy.ndimage import rotate

        r = rotate(x.astype(np.float32), angle, axes=(2, 1), reshape=False, order=1, cval=0.0)
        return np.clip(np.rint(r), 0, 255).astype(np.uint8)

    return view
