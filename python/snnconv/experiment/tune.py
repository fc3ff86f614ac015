"""Hyperparameter search for the CSNN (``snnconv tune``), built on Optuna.

The objective is the mean accuracy over inner stratified folds of the data given
(for a dataset with its own test split, its training part only). Trials run in
parallel threads (the Rust core releases the GIL), each with its share of the cores.
The search space is a dict of dotted config keys; the default covers the classifier's
drive, plasticity and noise and the front-end's rate.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import ParameterError
from .config import ExperimentConfig
from .data import ExperimentData
from .methods import Split, run_csnn

#: name -> ("float", low, high, log) | ("int", low, high) | ("choice", [values])
DEFAULT_SPACE: dict[str, tuple[Any, ...]] = {
    "classifier.params.threshold": ("float", 4.0, 16.0, True),
    "classifier.params.threshold_excess": ("float", 0.05, 0.5, True),
    "classifier.params.reward": ("float", 0.05, 0.4, True),
    "classifier.params.hebbian": ("float", -0.4, -0.05, False),
    "classifier.params.stochastic": ("float", 0.5, 5.0, True),
    "classifier.params.target_spikes": ("float", 500.0, 2000.0, True),
    "conv_snn.target_rate": ("float", 0.4, 2.0, True),
}


@dataclass
class TuneResult:
    best_params: dict[str, Any]
    best_value: float
    trials: list[dict[str, Any]]
    config: ExperimentConfig


def _suggest(trial: Any, name: str, spec: tuple[Any, ...]) -> Any:
    kind = spec[0]
    if kind == "float":
        return trial.suggest_float(name, spec[1], spec[2], log=bool(spec[3]))
    if kind == "int":
        return trial.suggest_int(name, spec[1], spec[2])
    if kind == "choice":
        return trial.suggest_categorical(name, list(spec[1]))
    raise ParameterError(f"space: unknown kind {kind!r} for {name}")


def apply_params(cfg: ExperimentConfig, params: dict[str, Any]) -> ExperimentConfig:
    """A copy of ``cfg`` with dotted ``params`` set."""
    out = copy.deepcopy(cfg)
    for key, value in params.items():
        out.set(key, value)
    return out


def tune(
    cfg: ExperimentConfig,
    data: ExperimentData,
    n_trials: int = 20,
    n_jobs: int = 1,
    inner_folds: int = 2,
    space: dict[str, tuple[Any, ...]] | None = None,
    timeout: float | None = None,
    seed: int = 0,
    progress: bool = False,
) -> TuneResult:
    """Searches ``space`` for the CSNN configuration with the best inner-fold accuracy."""
    from .._util.extras import require

    optuna = require("optuna", "snnconv tune")
    ms = require("sklearn.model_selection", "snnconv tune")
    if n_trials < 1:
        raise ParameterError(f"n_trials: must be >= 1, got {n_trials}")
    if n_jobs < 1:
        raise ParameterError(f"n_jobs: must be >= 1, got {n_jobs}")
    space = DEFAULT_SPACE if space is None else space
    if data.test_mask is not None:
        # Never tune on a dataset's own test split.
        keep = ~data.test_mask
        data = ExperimentData(
            data.images[keep],
            data.labels[keep],
            data.class_names,
            None if data.groups is None else data.groups[keep],
            data.name,
        )
    folds = list(
        ms.StratifiedKFold(inner_folds, shuffle=True, random_state=seed).split(
            data.images, data.labels
        )
    )
    threads = max(1, (os.cpu_count() or 1) // n_jobs)
    base = copy.deepcopy(cfg)
    base.run.learning_curve = False

    def objective(trial: Any) -> float:
        params = {name: _suggest(trial, name, spec) for name, spec in space.items()}
        trial_cfg = apply_params(base, params)
        accs = []
        for i, (tr, te) in enumerate(folds):
            split = Split(data.images[tr], data.labels[tr], data.images[te], data.labels[te])
            accs.append(run_csnn(trial_cfg, split, seed * 1000 + i, threads).accuracy)
            trial.report(float(np.mean(accs)), i)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(accs))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(
        direction="maximize",
        sampler=sampler,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5),
    )
    # Always measure the current configuration first, as the baseline to beat.
    study.enqueue_trial({k: _current(cfg, k) for k in space if _current(cfg, k) is not None})
    study.optimize(
        objective, n_trials=n_trials, n_jobs=n_jobs, timeout=timeout, show_progress_bar=progress
    )
    trials = [
        {"number": t.number, "value": t.value, "state": t.state.name, "params": t.params}
        for t in study.trials
    ]
    return TuneResult(
        dict(study.best_params),
        float(study.best_value),
        trials,
        apply_params(cfg, study.best_params),
    )


def _current(cfg: ExperimentConfig, key: str) -> Any:
    """The value ``key`` has in ``cfg`` (classifier params fall back to the estimator's
    default), or None if unknown."""
    table, _, rest = key.partition(".")
    name, _, sub = rest.partition(".")
    section = getattr(cfg, table)
    value = getattr(section, name)
    if not sub:
        return value
    if sub in value:
        return value[sub]
    from ..colanet.digital import DigitalCoLaNET
    from ..colanet.spiking import CoLaNET

    cls = CoLaNET if cfg.classifier.kind == "spiking" else DigitalCoLaNET
    import inspect

    param = inspect.signature(cls.__init__).parameters.get(sub)
    if param is None or param.default is inspect.Parameter.empty:
        return None
    return param.default
