"""The methods a stream compares, each behind ``learn(images, labels)`` / ``predict``.

Every method sees the tasks one after the other and never goes back to an earlier
task's images, except ``cnn2-joint``, the upper bound, which by design retrains on
everything seen so far.

- ``colanet``: :class:`~snnconv.CoLaNET` on raw pixels, one ``partial_fit`` per task,
  all classes of the stream declared at the first call.
- ``csnn``: :class:`~snnconv.CSNNClassifier.partial_fit`: kernels learned without
  labels on the first task's images only, the front-end calibrated on them too, both
  fixed afterwards; CoLaNET learns every task from the pooled counts. Each task's
  test images go through the fixed front-end once: their pooled counts are kept and
  scored again after every later task.
- ``cnn2``: CNN2 fine-tuned task after task (``partial_fit``: its epochs on each task,
  continuing weights and optimiser): what back-propagation does without protection.
- ``cnn2-joint``: CNN2 trained from scratch, after each task, on all tasks so far.
- ``ulsnn``: the Diehl & Cook network (100 neurons) learning each task's images without
  labels; each neuron's class is read from per-class sums of its responses, added
  task by task when the task is learned (sums, no images kept).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import numpy as np

from ..exceptions import ParameterError


class Method:
    """One learner of a stream. ``params`` are the estimator's own parameters."""

    name = ""
    #: what it keeps of earlier tasks
    memory = "no images"
    #: whether :meth:`predict_task` keeps what it needs of each task's test images (the
    #: runner then makes them only when asked instead of holding them all)
    caches_tests = False

    def __init__(self, classes: np.ndarray, seed: int, threads: int | None, params: dict) -> None:
        self.classes = classes
        self.seed = seed
        self.threads = threads
        self.params = dict(params)

    def learn(self, images: np.ndarray, labels: np.ndarray) -> None:
        raise NotImplementedError

    def predict(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict_task(self, task: int, images: Callable[[], np.ndarray]) -> np.ndarray:
        """Predictions on test set ``task`` of the stream; ``images()`` makes its images."""
        return self.predict(images())


class ColanetMethod(Method):
    name = "colanet"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        from ..colanet.spiking import CoLaNET

        self.model = CoLaNET(random_state=self.seed, n_threads=self.threads, **self.params)

    def learn(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.model.partial_fit(images.reshape(len(images), -1), labels, classes=self.classes)

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.model.predict(images.reshape(len(images), -1))


class CSNNMethod(Method):
    name = "csnn"
    memory = "no images (kernels and front-end from the first task)"
    caches_tests = True

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        from ..colanet.spiking import CoLaNET
        from ..csnn import CLASSIFIER_DEFAULTS, CSNNClassifier

        clf = CoLaNET(
            random_state=self.seed,
            n_threads=self.threads,
            **{**CLASSIFIER_DEFAULTS, **self.params},
        )
        self.model = CSNNClassifier(classifier=clf, random_state=self.seed, n_threads=self.threads)
        #: pooled counts of each task's test images, made by the front-end ``_front``
        self._counts: dict[int, np.ndarray] = {}
        self._front: Any = None

    def learn(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.model.partial_fit(images, labels, classes=self.classes)

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.model.predict(images)

    def predict_task(self, task: int, images: Callable[[], np.ndarray]) -> np.ndarray:
        """The classifier on task ``task``'s test counts, which the front-end (fixed
        after the first task) makes once per task: the predictions of
        :meth:`predict`, without running the front-end again."""
        if not self.caches_tests:
            return super().predict_task(task, images)
        from .._util.images import as_stack
        from ..streaming import pooled_counts

        front = self.model.front_end_
        if front is not self._front:  # a new front-end: counts of the old one are stale
            self._counts, self._front = {}, front
        counts = self._counts.get(task)
        if counts is None:
            x = images()
            self.model._check_shape(x)
            counts = self._counts[task] = pooled_counts(front, as_stack(x, multichannel=True))[0]
        return self.model.classifier_.predict(counts)


class CNN2Method(Method):
    name = "cnn2"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        from ..baselines.cnn import CNN2

        self.model = CNN2(random_state=self.seed, n_threads=self.threads, **self.params)

    def learn(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.model.partial_fit(images, labels, classes=self.classes)

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.model.predict(images)


class CNN2JointMethod(Method):
    name = "cnn2-joint"
    memory = "every image of every task so far (upper bound)"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.images: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []

    def learn(self, images: np.ndarray, labels: np.ndarray) -> None:
        from ..baselines.cnn import CNN2

        self.images.append(images)
        self.labels.append(labels)
        self.model = CNN2(random_state=self.seed, n_threads=self.threads, **self.params)
        self.model.partial_fit(
            np.concatenate(self.images), np.concatenate(self.labels), classes=self.classes
        )

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.model.predict(images)


class ULSNNMethod(Method):
    name = "ulsnn"
    memory = "per-class sums of each neuron's responses"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        from ..baselines.ulsnn import ULSNN

        params = {"n_neurons": 100, **self.params}
        self.model = ULSNN(random_state=self.seed, n_threads=self.threads, **params)
        self.sums = np.zeros((len(self.classes), int(self.model.n_neurons)))
        self.counts = np.zeros(len(self.classes))
        self.tasks = 0

    def learn(self, images: np.ndarray, labels: np.ndarray) -> None:
        from .. import _core
        from ..baselines._common import brightness
        from ..baselines.ulsnn import _TRAIN_CHUNK

        m = self.model
        g = brightness(images)
        x = g.reshape(g.shape[0], -1)
        if self.tasks == 0:
            m._check_params()
            m.seed_ = int(self.seed)
            m.image_shape_ = tuple(int(s) for s in g.shape[1:])
            m.n_features_in_ = x.shape[1]
            m.norm_ = 0.1 * x.shape[1] if m.norm is None else float(m.norm)
            m._core = m._new_core(x.shape[1])
            m.classes_ = self.classes
        stats = []
        for epoch in range(int(m.epochs)):
            # the task number enters the order's stream: each task its own shuffles
            order = _core.permutation(x.shape[0], m.seed_, self.tasks * 1000 + epoch)
            for start in range(0, x.shape[0], _TRAIN_CHUNK):
                idx = order[start : start + _TRAIN_CHUNK].astype(np.int64)
                stats.append(m._core.train(np.ascontiguousarray(x[idx])))
        m._sync(stats)
        counts = m._respond(x, "assigning ULSNN neurons")
        y = np.searchsorted(self.classes, labels)
        for c in np.unique(y):
            self.sums[c] += counts[y == c].sum(axis=0)
            self.counts[c] += int((y == c).sum())
        seen = self.counts[:, None] > 0
        rates = np.divide(self.sums, self.counts[:, None], out=np.zeros_like(self.sums), where=seen)
        m.rates_ = rates
        m.assignments_ = np.argmax(rates, axis=0).astype(np.int64)
        m.assignments_[rates.max(axis=0) <= 0] = -1
        self.tasks += 1

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.model.predict(images)


METHODS: dict[str, Callable[..., Method]] = {
    "colanet": ColanetMethod,
    "csnn": CSNNMethod,
    "cnn2": CNN2Method,
    "cnn2-joint": CNN2JointMethod,
    "ulsnn": ULSNNMethod,
}


def check_methods(names: list[str]) -> list[str]:
    """The method names, checked (unknown or repeated names are a ParameterError)."""
    if not names:
        raise ParameterError(f"--methods: give at least one of {', '.join(METHODS)}")
    for n in names:
        if n not in METHODS:
            raise ParameterError(f"--methods: unknown method {n!r}; known: {', '.join(METHODS)}")
    if len(set(names)) != len(names):
        raise ParameterError(f"--methods: a method is listed twice: {names}")
    return names


def parse_assignments(items: list[str], methods: list[str]) -> dict[str, dict[str, Any]]:
    """``METHOD.PARAM=VALUE`` strings → {method: {param: value}}; values are Python
    literals (numbers, strings in quotes, True/False/None) or else plain strings."""
    out: dict[str, dict[str, Any]] = {m: {} for m in methods}
    for item in items:
        key, eq, raw = item.partition("=")
        method, dot, param = key.strip().partition(".")
        if not eq or not dot or not param:
            raise ParameterError(f"--set: expected METHOD.PARAM=VALUE, got {item!r}")
        if method not in METHODS:
            raise ParameterError(f"--set: unknown method {method!r}; known: {', '.join(METHODS)}")
        try:
            value: Any = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            value = raw.strip()
        out.setdefault(method, {})[param] = value
    return out
