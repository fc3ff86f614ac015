"""Datasets for experiments: the registry's :class:`~snnconv.datasets.registry.Dataset`
with the run's seeded ``limit`` applied."""

from __future__ import annotations

import numpy as np

from .._util.blocks import Reader
from ..datasets.registry import Dataset, load_dataset
from .config import RunConfig

#: The name the experiment package uses for :class:`~snnconv.datasets.registry.Dataset`.
ExperimentData = Dataset


def load_experiment_data(run: RunConfig) -> Dataset:
    """Loads ``run.dataset`` and applies the seeded ``limit``."""
    data = load_dataset(run.dataset, run.dataset_args, seed=run.seed)
    if run.limit and run.limit < len(data.labels):
        keep = np.sort(np.random.default_rng(run.seed).permutation(len(data.labels))[: run.limit])
        data.images, data.labels = Reader(data.images).gather(data.images, keep), data.labels[keep]
        data.groups = None if data.groups is None else data.groups[keep]
        data.test_mask = None if data.test_mask is None else data.test_mask[keep]
        if data.events is not None:  # kept on a file when the whole set was
            sub = data.events.subset(keep)
            data.events = sub.mapped() if isinstance(data.events.events, np.memmap) else sub
    data.images = np.ascontiguousarray(data.images)
    data.labels = np.asarray(data.labels, np.int64)
    return data
