"""The core's parameter defaults (``_core.default_params()``) agree with the Python
estimators' signature defaults, so changing either copy alone fails here."""

from __future__ import annotations

import inspect

import pytest

import snnconv
from snnconv import _core
from snnconv.baselines import ULSNN

# Rust default ≠ Python default on purpose: field -> reason.
_COLANET_DIFFERENT = {
    # Rust's Params::default() is the plain network (no noise); the estimators use
    # the tuned stimulation of docs/algorithms.md §3.10.
    "stochastic": "the core default is stimulation off, the estimators' the tuned 2.212",
}
_ULSNN_DIFFERENT: dict[str, str] = {}


def _signature_defaults(cls) -> dict:
    return {
        k: p.default
        for k, p in inspect.signature(cls.__init__).parameters.items()
        if k != "self" and p.default is not inspect.Parameter.empty
    }


def test_default_params_shape():
    d = _core.default_params()
    assert set(d) >= {"colanet", "ulsnn"}
    assert all(isinstance(v, dict) and v for v in d.values())


@pytest.mark.parametrize("cls", [snnconv.CoLaNET, snnconv.DigitalCoLaNET])
def test_colanet_defaults_match(cls):
    core = _core.default_params()["colanet"]
    py = _signature_defaults(cls)
    fixed = getattr(cls, "_fixed", {})
    shared = [k for k in core if k in py or k in fixed]
    assert len(shared) >= 12
    for k in shared:
        if k in _COLANET_DIFFERENT:
            assert py.get(k, fixed.get(k)) != core[k], f"{k} now agrees: drop the exception"
            continue
        v = py[k] if k in py else fixed[k]
        assert v == core[k], f"{cls.__name__}.{k}: Python {v!r} != core {core[k]!r}"


def test_ulsnn_defaults_match():
    core = _core.default_params()["ulsnn"]
    py = _signature_defaults(ULSNN)
    # Python takes nu=(nu_pre, nu_post) and norm=None meaning 0.1 per input.
    py["nu_pre"], py["nu_post"] = py["nu"]
    shared = [k for k in core if k in py]
    assert len(shared) >= 11
    for k in shared:
        if k in _ULSNN_DIFFERENT:
            continue
        assert py[k] == core[k], f"ULSNN.{k}: Python {py[k]!r} != core {core[k]!r}"
    assert py["norm"] is None and core["norm_per_input"] == 0.1
