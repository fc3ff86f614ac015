"""Every copy of an estimator default equals the estimator's signature default.

Config tables, command-line options and the theory's learner constants mirror
estimator parameters; these tests fail as soon as one copy drifts from the signature.
"""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from snnconv.cli.main import build_parser
from snnconv.colanet import CoLaNET, DigitalCoLaNET
from snnconv.colanet.base import PARAMS
from snnconv.conv_snn import ConvSNN
from snnconv.csnn import FRONT_DEFAULTS, LEARNER_DEFAULTS
from snnconv.experiment.config import ExperimentConfig
from snnconv.kernel_learner import KernelLearner
from snnconv.theory import TheoryParams


def signature_defaults(estimator: type) -> dict[str, object]:
    return {n: p.default for n, p in inspect.signature(estimator).parameters.items()}


def assert_mirrors(copy: dict[str, object], estimator: type) -> None:
    source = signature_defaults(estimator)
    assert copy, "nothing to compare"
    for name, value in copy.items():
        assert name in source, f"{name} is not a {estimator.__name__} parameter"
        assert value == source[name] and type(value) is type(source[name]), (
            f"{name}: copy {value!r} != {estimator.__name__} default {source[name]!r}"
        )


@pytest.mark.parametrize(
    ("table", "estimator", "csnn"),
    [("kernels", KernelLearner, LEARNER_DEFAULTS), ("conv_snn", ConvSNN, FRONT_DEFAULTS)],
)
def test_config_tables_mirror_the_estimator_signatures(table, estimator, csnn):
    section = dataclasses.asdict(getattr(ExperimentConfig(), table))
    assert csnn and all(section[n] == v for n, v in csnn.items())  # the CSNN's own choices
    assert_mirrors({n: v for n, v in section.items() if n not in csnn}, estimator)


def test_the_csnn_builds_its_stages_with_its_defaults():
    """The stages ``CSNNClassifier`` builds itself and those ``from_config`` builds
    from the default tables are the same."""
    from snnconv.csnn import CSNNClassifier

    c = CSNNClassifier()
    c.seed_ = 0
    learner, front, _ = c._templates()
    built = CSNNClassifier.from_config(ExperimentConfig())
    for mine, theirs, wanted in (
        (learner, built.kernel_learner, LEARNER_DEFAULTS),
        (front, built.front_end, FRONT_DEFAULTS),
    ):
        for name, value in wanted.items():
            assert mine.get_params()[name] == value == theirs.get_params()[name]


def test_front_end_is_an_alias_of_conv_snn():
    cfg = ExperimentConfig.from_dict({"front_end": {"pool": 3}})
    cfg.override("front_end.tau=5.0")
    assert (cfg.conv_snn.pool, cfg.conv_snn.tau) == (3, 5.0)
    assert "front_end" not in cfg.to_dict()


def kernels_option_defaults() -> dict[str, object]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    kernels = sub.choices["kernels"]
    return {a.dest: a.default for a in kernels._actions}


def test_kernels_command_defaults_mirror_kernel_learner():
    opts = kernels_option_defaults()
    copy = {n: opts[n] for n in ("kernel_size", "n_kernels", "stride")}
    copy.update(random_state=opts["seed"], n_threads=opts["threads"])
    assert_mirrors(copy, KernelLearner)


def test_theory_constants_mirror_colanet():
    p = TheoryParams()
    assert_mirrors({"reward": p.d, "w_min": p.w_min, "w_max": p.w_max}, CoLaNET)
    assert p.t_p == signature_defaults(CoLaNET)["presentation_steps"]


def test_digital_colanet_shares_the_spiking_defaults():
    spiking, digital = signature_defaults(CoLaNET), signature_defaults(DigitalCoLaNET)
    assert_mirrors(digital, CoLaNET)
    only_spiking = {p.name for p in PARAMS if p.spiking_only}
    assert set(spiking) - set(digital) == only_spiking
    # The digital core runs the spiking-only parameters at the spiking defaults.
    assert DigitalCoLaNET._fixed == {n: spiking[n] for n in only_spiking}


@pytest.mark.parametrize("estimator", [CoLaNET, DigitalCoLaNET])
def test_colanet_params_are_stored_as_given(estimator):
    est = estimator(5, n_copies=2, tau_v=None)
    assert (est.microcolumns, est.n_copies, est.tau_v) == (5, 2, None)
    assert est.get_params()["threshold"] == signature_defaults(estimator)["threshold"]
    with pytest.raises(TypeError):
        estimator(nope=1)
    assert "microcolumns : int, default=20" in estimator.__doc__
