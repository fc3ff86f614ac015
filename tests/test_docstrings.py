"""Every public estimator documents every ``__init__`` parameter in a numpydoc section."""

from __future__ import annotations

import inspect
import re

import pytest

import snnconv
import snnconv.baselines

ESTIMATORS = [
    snnconv.KernelLearner,
    snnconv.ConvSNN,
    snnconv.CoLaNET,
    snnconv.DigitalCoLaNET,
    snnconv.CSNNClassifier,
    snnconv.baselines.CNN1,
    snnconv.baselines.CNN2,
    snnconv.baselines.ULSNN,
]

_SECTION = re.compile(r"^Parameters\n-{10}\n(.*?)(?=^\S[^\n]*\n-{3,}\n|\Z)", re.M | re.S)


def parameters_section(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    match = _SECTION.search(doc)
    assert match, f"{cls.__name__}: no 'Parameters\\n----------' section in its docstring"
    return match.group(1)


def documented_names(cls: type) -> set[str]:
    """Names of the ``name : type`` lines of the Parameters section (unindented)."""
    return set(re.findall(r"^(\w+) : ", parameters_section(cls), re.M))


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_init_parameter_is_documented(cls: type) -> None:
    params = [p for p in inspect.signature(cls).parameters if p not in ("self",)]
    assert params, f"{cls.__name__}: no __init__ parameters found"
    missing = [p for p in params if p not in documented_names(cls)]
    assert not missing, f"{cls.__name__}: parameters missing from the docstring: {missing}"


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_no_unknown_parameter_is_documented(cls: type) -> None:
    params = set(inspect.signature(cls).parameters)
    extra = documented_names(cls) - params
    assert not extra, f"{cls.__name__}: documented but not parameters: {sorted(extra)}"


def test_check_detects_an_undocumented_parameter() -> None:
    class Extended(snnconv.baselines.CNN1):
        def __init__(self, extra: int = 0, **kwargs: object) -> None:  # pragma: no cover
            super().__init__(**kwargs)
            self.extra = extra

    Extended.__doc__ = snnconv.baselines.CNN1.__doc__
    assert "extra" not in documented_names(Extended)
    with pytest.raises(AssertionError, match="extra"):
        test_every_init_parameter_is_documented(Extended)
