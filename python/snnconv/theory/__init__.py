"""Training-dynamics theory of CoLaNET on the binary task (docs/algorithms.md §5).

``formulas`` holds every closed-form quantity; ``task`` generates the task's
spike counts; ``simulate`` runs the digital / spiking CoLaNET on it in the theory's
configuration; ``report`` sets predictions against measurements (``snnconv theory``,
docs/theory.md).
"""

from .formulas import (
    TheoryParams,
    accuracy,
    activity_region,
    excitation,
    l_f,
    n_microcolumns,
    resource_from_weight,
    resource_trajectory,
    t_0,
    t_0_printed,
    t_1,
    t_1_centre,
    t_1_printed,
    w_1,
    w_1_centre,
    w_t0,
    weight_from_resource,
)
from .task import BinaryTask

__all__ = [
    "BinaryTask",
    "TheoryParams",
    "accuracy",
    "activity_region",
    "excitation",
    "l_f",
    "n_microcolumns",
    "resource_from_weight",
    "resource_trajectory",
    "t_0",
    "t_0_printed",
    "t_1",
    "t_1_centre",
    "t_1_printed",
    "w_1",
    "w_1_centre",
    "w_t0",
    "weight_from_resource",
]
