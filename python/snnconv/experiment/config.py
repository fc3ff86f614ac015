"""Experiment configuration: dataclasses, TOML files and command-line overrides.

A configuration has one table per stage. Every field can be set in a TOML file
(``snnconv run --config FILE``) and overridden on the command line with
``--set table.field=value`` (the value is parsed as TOML, so ``--set run.folds=3``,
``--set run.methods=["csnn","cnn2"]``, ``--set kernels.stride=1``).
``snnconv config --print-defaults`` prints every field with its default.

The ``kernels`` and ``conv_snn`` tables are built from the signatures of
:class:`~snnconv.kernel_learner.KernelLearner` and :class:`~snnconv.conv_snn.ConvSNN`:
their fields are those estimators' parameters, with the same defaults. The
``conv_snn`` table was called ``front_end`` before; that name is still accepted in
TOML files and ``--set`` (``--set front_end.pool=3`` sets ``conv_snn.pool``).
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

from ..conv_snn import ConvSNN
from ..csnn import FRONT_DEFAULTS, LEARNER_DEFAULTS
from ..exceptions import ParameterError, ParameterTypeError
from ..kernel_learner import KernelLearner


@dataclass
class RunConfig:
    """What to run and where."""

    #: mnist5k | fashion-mnist | digits | idx | objects | synthetic-neovision2
    dataset: str = "mnist5k"
    #: idx: [images_path, labels_path]; objects: [path.npz]
    dataset_args: list[str] = field(default_factory=list)
    #: cap on the number of images used (0: all), taken after a seeded shuffle
    limit: int = 0
    #: repeated runs: stratified folds (grouped by clip for video objects)
    folds: int = 5
    #: folds | split | auto. "split": the dataset's own train/test split, run `folds`
    #: times with different seeds; "auto": split where the dataset has one
    #: (fashion-mnist), folds otherwise
    protocol: str = "auto"
    seed: int = 0
    #: methods to run; ones whose optional dependency is missing are skipped
    methods: list[str] = field(default_factory=lambda: ["csnn", "cnn2", "ulsnn100"])
    #: local (joblib processes) | dask | serial
    backend: str = "local"
    #: dask scheduler address ("" with backend=dask: a LocalCluster)
    scheduler: str = ""
    #: parallel tasks (local backend); 0 = number of cores
    n_jobs: int = 0
    #: threads each task may use (0 = cores / n_jobs), so tasks never oversubscribe
    threads_per_task: int = 0
    out: str = "snnconv-out"
    figures: bool = True
    #: CSNN learning curve (accuracy vs training images, scored on each fold's test split
    #: at snapshots of the reported model's one training pass)
    learning_curve: bool = True
    #: test examples that score the curve's intermediate points (one seeded sample per
    #: fold, the same at every point; 0 = the whole test split); the last point always
    #: scores the whole test split
    curve_sample: int = 250
    progress: bool = True


def _table(
    name: str, estimator: type, names: tuple[str, ...], doc: str, csnn: dict[str, Any]
) -> type:
    """A config table whose fields are ``names``, with the types and defaults of
    ``estimator``'s signature, except where the CSNN builds the stage with other values
    (``csnn``, its ``LEARNER_DEFAULTS`` or ``FRONT_DEFAULTS``): the table cannot drift
    from the estimator or the CSNN."""
    params = inspect.signature(estimator).parameters
    fields = [
        (n, params[n].annotation, field(default=csnn.get(n, params[n].default))) for n in names
    ]
    return dataclasses.make_dataclass(
        name, fields, namespace={"__doc__": doc, "__module__": __name__}
    )


KernelConfig = _table(
    "KernelConfig",
    KernelLearner,
    (
        "kernel_size",
        "n_kernels",
        "stride",
        "w_min",
        "w_max",
        "brightness_quantile",
        "saturation_quantile",
        "epochs",
        "channels",
        "contrast_size",
        "scales",
    ),
    "KernelLearner parameters (docs/algorithms.md §1), as the CSNN builds its learner.",
    LEARNER_DEFAULTS,
)

ConvSNNConfig = _table(
    "ConvSNNConfig",
    ConvSNN,
    (
        "pool",
        "tau",
        "threshold",
        "target_rate",
        "frame_steps",
        "active_steps",
        "encoding",
        "scale_per_kernel",
    ),
    "ConvSNN parameters (docs/algorithms.md §2), as the CSNN builds its front-end; its "
    "stride is ``kernels.stride``.",
    FRONT_DEFAULTS,
)

_UNSET = object()

#: Old table names still accepted in TOML files and ``--set``.
TABLE_ALIASES = {"front_end": "conv_snn"}


@dataclass
class ClassifierConfig:
    """The classifier on top of the front-end: spiking CoLaNET or its digital twin.

    ``params`` are passed to the estimator as keyword arguments. Anything not given
    keeps the CSNN's classifier defaults (``snnconv.csnn.CLASSIFIER_DEFAULTS``: the
    estimator's own defaults with a population code of 3 fields per pooled count) in
    the CSNN, and the estimator's own defaults in the "colanet" and "digital" rows on
    raw pixels.
    """

    kind: str = "spiking"  # spiking | digital
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class BaselineConfig:
    """Baseline settings."""

    #: 0: each network's own default (CNN1 10, CNN2 20 epochs)
    cnn_epochs: int = 0
    cnn_backend: str = "auto"
    ulsnn_time: int = 250
    ulsnn_epochs: int = 1


@dataclass
class ExperimentConfig:
    run: RunConfig = field(default_factory=RunConfig)
    kernels: KernelConfig = field(default_factory=KernelConfig)  # type: ignore[valid-type]
    conv_snn: ConvSNNConfig = field(default_factory=ConvSNNConfig)  # type: ignore[valid-type]
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    baselines: BaselineConfig = field(default_factory=BaselineConfig)

    # ------------------------------------------------------------------ I/O
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentConfig:
        cfg = cls()
        for table, values in data.items():
            if not isinstance(values, dict):
                raise ParameterError(f"config: top-level key {table!r} must be a table")
            for key, value in values.items():
                cfg.set(f"{table}.{key}", value)
        return cfg

    @classmethod
    def from_toml(cls, path: str | Path) -> ExperimentConfig:
        p = Path(path)
        if p.is_dir():
            raise ParameterError(f"config: {p} is a folder, not a TOML file")
        if not p.exists():
            raise ParameterError(f"config: {p}: no such file")
        try:
            with open(p, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ParameterError(f"config: cannot read {p} ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise ParameterError(f"config: {p} is not a UTF-8 text (TOML) file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ParameterError(f"config: {p}: not valid TOML ({exc})") from None
        return cls.from_dict(data)

    def validate(self) -> ExperimentConfig:
        """Checks every field (ranges, names, the estimators' own parameter checks)
        before any work starts; see :mod:`snnconv.experiment.validate`."""
        from .validate import check_config

        check_config(self)
        return self

    def set(self, dotted: str, value: Any) -> None:
        """Sets ``table.field`` with a type check against the default's type."""
        table, _, name = dotted.partition(".")
        name, _, subkey = name.partition(".")
        table = TABLE_ALIASES.get(table, table)
        tables = {f.name for f in dataclasses.fields(self)}
        if table not in tables or not name:
            raise ParameterError(f"config: unknown key {dotted!r}; tables: {sorted(tables)}")
        section = getattr(self, table)
        names = {f.name: f for f in dataclasses.fields(section)}
        if name not in names:
            raise ParameterError(f"config: {table} has no field {name!r}; fields: {sorted(names)}")
        current = getattr(section, name)
        if subkey:
            if not isinstance(current, dict):
                raise ParameterError(f"config: {table}.{name} is not a table")
            current[subkey] = value
            return
        setattr(section, name, _coerce(dotted, current, value))

    def apply_dataset_presets(self) -> dict[str, Any]:
        """Gives fields still at their defaults the values the dataset needs
        (:data:`snnconv.datasets.registry.PRESETS`; e.g. 3×3 kernels for the 8×8
        digits). Values set in a file or with ``--set`` win. Returns what was applied."""
        from ..datasets.registry import presets

        default, applied = type(self)(), {}
        for dotted, value in presets(self.run.dataset).items():
            table, _, name = dotted.partition(".")
            name, _, key = name.partition(".")
            mine, theirs = (
                getattr(getattr(self, table), name),
                getattr(getattr(default, table), name),
            )
            if (mine.get(key, _UNSET) == theirs.get(key, _UNSET)) if key else mine == theirs:
                self.set(dotted, value)
                applied[dotted] = value
        return applied

    def override(self, assignment: str) -> None:
        """Applies ``table.field=value`` (value in TOML syntax; bare words are strings)."""
        key, sep, raw = assignment.partition("=")
        if not sep:
            raise ParameterError(f"--set: expected table.field=value, got {assignment!r}")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        self.set(key.strip(), value)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        lines: list[str] = []
        for table, values in self.to_dict().items():
            lines.append(f"[{table}]")
            nested = {k: v for k, v in values.items() if isinstance(v, dict)}
            for key, value in values.items():
                if key not in nested:
                    lines.append(f"{key} = {_toml_value(value)}")
            for key, value in nested.items():
                lines.append(f"\n[{table}.{key}]")
                lines.extend(f"{k} = {_toml_value(v)}" for k, v in value.items())
            lines.append("")
        return "\n".join(lines)


def _coerce(key: str, current: Any, value: Any) -> Any:
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ParameterError(f"{key}: expected true or false, got {value!r}")
        return value
    if isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"{key}: expected an integer, got {value!r}")
        return value
    if isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if isinstance(current, str):
        if not isinstance(value, str):
            raise ParameterError(f"{key}: expected a string, got {value!r}")
        return value
    if isinstance(current, tuple):  # a tuple of integers (kernels.scales)
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        try:
            return tuple(int(v) for v in value if not isinstance(v, bool))
        except (TypeError, ValueError):
            raise ParameterError(f"{key}: expected a list of integers, got {value!r}") from None
    if isinstance(current, list):
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        if not isinstance(value, list):
            raise ParameterError(f"{key}: expected a list, got {value!r}")
        return [str(v) for v in value]
    if isinstance(current, dict):
        if not isinstance(value, dict):
            raise ParameterError(f"{key}: expected a table, got {value!r}")
        return dict(value)
    return value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ParameterTypeError(f"cannot write {value!r} as TOML")
