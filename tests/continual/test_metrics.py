"""Continual-learning metrics on hand-made accuracy matrices."""

import numpy as np
import pytest

from snnconv.continual import metrics
from snnconv.exceptions import DataError

# Three tasks; row i after training task i, column j tested on task j.
R = np.array(
    [
        [0.90, 0.10, 0.20],
        [0.70, 0.80, 0.30],
        [0.60, 0.85, 0.95],
    ]
)


def test_values_by_hand():
    assert metrics.average_accuracy(R) == pytest.approx((0.60 + 0.85 + 0.95) / 3)
    assert metrics.learning_accuracy(R) == pytest.approx((0.90 + 0.80 + 0.95) / 3)
    # BWT: (0.60 - 0.90 + 0.85 - 0.80) / 2
    assert metrics.backward_transfer(R) == pytest.approx(-0.125)
    # forgetting: task 0 best before the end 0.90 -> 0.60; task 1 best 0.80 -> 0.85
    assert metrics.forgetting(R) == pytest.approx((0.30 + -0.05) / 2)


def test_entries_above_the_diagonal_do_not_count():
    other = R.copy()
    other[np.triu_indices(3, 1)] = 0.0
    assert metrics.summarise(other) == metrics.summarise(R)


def test_a_model_that_never_forgets():
    r = np.tril(np.full((4, 4), 0.9))
    assert metrics.backward_transfer(r) == 0 and metrics.forgetting(r) == 0
    assert metrics.average_accuracy(r) == pytest.approx(0.9)


def test_one_task_and_bad_shapes():
    assert metrics.summarise([[0.5]]) == {
        "average_accuracy": 0.5,
        "learning_accuracy": 0.5,
        "backward_transfer": 0.0,
        "forgetting": 0.0,
    }
    with pytest.raises(DataError, match="square"):
        metrics.forgetting(np.zeros((2, 3)))
    with pytest.raises(DataError, match="finite"):
        metrics.forgetting([[np.nan]])
