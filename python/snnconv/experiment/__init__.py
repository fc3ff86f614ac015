"""End-to-end experiments (``snnconv run``): data, folds, methods, backends, reports."""

from .config import ExperimentConfig
from .data import ExperimentData, load_experiment_data
from .runner import ExperimentResults, make_folds, run_experiment

__all__ = [
    "ExperimentConfig",
    "ExperimentData",
    "ExperimentResults",
    "load_experiment_data",
    "make_folds",
    "run_experiment",
]
