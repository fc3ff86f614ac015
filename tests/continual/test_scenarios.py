"""Task streams: what each scenario shows of the images."""

import numpy as np
import pytest

from snnconv.continual import make_stream
from snnconv.exceptions import DataError, ParameterError


def _data(n=200, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 6, 5)).astype(np.uint8), np.arange(n) % classes


def test_permuted_task0_is_the_identity_and_others_permute_the_same_images():
    x, y = _data()
    s = make_stream("permuted", x, y, n_tasks=3, seed=1)
    assert len(s) == 3 and s.classes.tolist() == list(range(10))
    (a, ya), (b, yb) = s.tasks[0].train(), s.tasks[2].train()
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(a, x[s.tasks[0]._train])
    # one fixed permutation of the pixels: same multiset per image, same map for all
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(np.sort(a.reshape(len(a), -1)), np.sort(b.reshape(len(b), -1)))
    flat_a, flat_b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    perm = s.tasks[2]._view.__closure__[0].cell_contents
    np.testing.assert_array_equal(flat_b, flat_a[:, perm])
    # train and test never share an image; 20 % stratified test
    assert not set(s.tasks[0]._train) & set(s.tasks[0]._test)
    assert s.tasks[0].n_test == 40 and np.bincount(s.tasks[0].test()[1]).tolist() == [4] * 10


def test_split_tasks_partition_the_classes_in_a_seeded_order():
    x, y = _data()
    s = make_stream("split", x, y, classes_per_task=3, seed=4)
    groups = [t.classes.tolist() for t in s.tasks]
    assert [len(g) for g in groups] == [3, 3, 3, 1]
    assert sorted(g for group in groups for g in group) == list(range(10))
    assert s.params["class_order"] != list(range(10))  # seeded, not sorted
    assert make_stream("split", x, y, classes_per_task=3, seed=4).params == s.params
    for t in s.tasks:
        assert set(np.unique(t.train()[1])) == set(t.classes) == set(np.unique(t.test()[1]))
    nat = make_stream("split", x, y, class_order="natural")
    assert [t.classes.tolist() for t in nat.tasks] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]


def test_rotated_turns_a_bar():
    x = np.zeros((20, 9, 9), np.uint8)
    x[:, 4, :] = 255  # a horizontal bar
    s = make_stream("rotated", x, np.arange(20) % 2, n_tasks=2)
    assert s.tasks[1].name == "90°"
    r = s.tasks[1].train()[0][0]
    assert r[:, 4].min() == 255 and r[4].sum() == 255  # now vertical


def test_a_dataset_test_split_is_used():
    x, y = _data(100)
    mask = np.arange(100) >= 70
    s = make_stream("permuted", x, y, n_tasks=1, test_mask=mask)
    assert s.tasks[0].n_train == 70 and s.tasks[0].n_test == 30


def test_bad_values_are_named():
    x, y = _data()
    with pytest.raises(ParameterError, match="scenario"):
        make_stream("shuffled", x, y)
    with pytest.raises(ParameterError, match="classes_per_task"):
        make_stream("split", x, y, classes_per_task=10)
    with pytest.raises(ValueError, match="n_tasks"):
        make_stream("permuted", x, y, n_tasks=0)
    with pytest.raises(DataError, match="images"):
        make_stream("permuted", x.astype(float), y)
    with pytest.raises(DataError, match="test_fraction"):
        make_stream("permuted", x[:12], y[:12], test_fraction=0.2)
