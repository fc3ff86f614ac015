"""Hand-made cases for every branch and edge of the kernel learner (docs/algorithms.md §1)."""

import numpy as np
import pytest

import snnconv

import kernel_reference as ref

W_MIN, W_MAX = -0.3, 1.0
R0 = ref.zero_weight_resource(W_MIN, W_MAX)


def learner(k, nk, s=1, lr=0.1, b=0.5, init=None, **kw):
    return snnconv.KernelLearner(
        kernel_size=k,
        n_kernels=nk,
        stride=s,
        learning_rate=lr,
        brightness_threshold=b,
        saturation_quantile=None,
        shuffle=False,
        keep_only_fired=False,
        initial_resource=init,
        **kw,
    )


def test_initial_state_has_exactly_zero_weights():
    kl = learner(3, 2).fit(np.zeros((1, 3, 3)))
    assert np.all(kl.all_kernels_ == 0.0)
    assert np.all(kl.resource_ == R0)


def test_forced_branch_exact_values_and_conservation():
    g = np.array([[[0.9, 0.1], [0.6, 0.2]]])  # two pixels > B = 0.5
    kl = learner(2, 1, lr=0.1).fit(g)
    expected = R0 + np.array([[0.1, -0.1], [0.1, -0.1]])
    np.testing.assert_allclose(kl.resource_[0], expected, rtol=0, atol=1e-15)
    assert kl.resource_.sum() == pytest.approx(4 * R0, abs=1e-14)
    np.testing.assert_array_equal(kl.all_kernels_, ref.weight(kl.resource_, W_MIN, W_MAX))
    assert not kl.fired_[0]
    assert kl.stats_.tolist() == [[1, 0, 1]]


def test_forced_branch_unbalanced_depression():
    g = np.array([[[0.9, 0.1, 0.0], [0.2, 0.3, 0.0], [0.0, 0.0, 0.4]]])  # n_b = 1 of 9
    kl = learner(3, 1, lr=0.08).fit(g)
    res = kl.resource_[0]
    assert res[0, 0] == pytest.approx(R0 + 0.08, abs=1e-15)
    others = np.delete(res.ravel(), 0)
    np.testing.assert_allclose(others, R0 - 0.08 / 8, rtol=0, atol=1e-15)


@pytest.mark.parametrize("value", [0.2, 0.8])
def test_no_update_when_no_pixel_or_every_pixel_is_bright(value):
    kl = learner(2, 1).fit(np.full((3, 2, 2), value))
    assert np.all(kl.resource_ == R0) and np.all(kl.all_kernels_ == 0.0)
    assert kl.stats_[:, 0].tolist() == [1, 1, 1]  # the branch ran, n_b = 0 or K²


def test_all_dark_images_change_nothing():
    kl = learner(3, 4, s=1).fit(np.zeros((5, 8, 8)))
    assert np.all(kl.resource_ == R0)
    assert not kl.fired_.any()
    # c = 0 everywhere, so later passes continue (c >= 0) until every kernel was picked
    assert kl.stats_[:, 0].tolist() == [4] * 5


def test_spontaneous_branch_exact_values():
    # One 2x2 kernel with known weights; the brightest pixel alone does not reach P >= 1,
    # the two brightest together do; the darker two are depressed by l * 2 / 2.
    init = np.full((1, 2, 2), 3.0)  # w = w(3) for every cell
    w = ref.weight(3.0, W_MIN, W_MAX)
    g = np.array([[[1.0, 0.2], [0.9, 0.1]]])
    assert 1.0 * w < 1 <= 1.0 * w + 0.9 * w and (1.0 + 0.2 + 0.9 + 0.1) * w >= 1
    kl = learner(2, 1, lr=0.1, init=init).fit(g)
    expected = np.array([[3.1, 2.9], [3.1, 2.9]])
    np.testing.assert_allclose(kl.resource_[0], expected, rtol=0, atol=1e-15)
    assert kl.fired_[0]
    assert kl.stats_.tolist() == [[0, 1, 1]]


def test_spontaneous_branch_equal_values_are_taken_together():
    init = np.full((1, 2, 2), 3.0)
    w = ref.weight(3.0, W_MIN, W_MAX)
    g = np.array([[[0.8, 0.8], [0.8, 0.05]]])
    assert 0.8 * w < 1 <= 0.8 * w * 3  # P reaches 1 only within the group of equal values
    kl = learner(2, 1, lr=0.1, init=init).fit(g)
    # all three equal cells are potentiated (the whole value group), the last depressed 3x
    np.testing.assert_allclose(kl.resource_[0], [[3.1, 3.1], [3.1, 2.7]], rtol=0, atol=1e-15)


def _exhausting_case():
    """Finds weights and a tile with c >= 1 in row-major summation order but a walk
    potential < 1 in brightness order (pure float round-off), deterministically."""
    rng = np.random.default_rng(123)
    for _ in range(20000):
        resource = rng.uniform(0.5, 3.0, size=4)
        w = ref.weight(resource, W_MIN, W_MAX)
        g = rng.uniform(0.3, 1.0, size=4)
        g = g / float(np.dot(w, g))
        if g.max() > 1:
            continue
        for _ in range(8):
            c = 0.0
            for wi, gi in zip(w, g, strict=True):
                c += wi * gi
            walk = 0.0
            for i in np.argsort(-g, kind="stable"):
                walk += g[i] * w[i]
            if c >= 1.0 > walk and len(set(g)) == 4:
                return resource, g
            g = np.nextafter(g, 2.0)
    raise AssertionError("no exhausting case found")


def test_spontaneous_walk_exhausting_the_tile_depresses_nothing():
    resource, g = _exhausting_case()
    kl = learner(2, 1, lr=0.1, init=resource.reshape(1, 2, 2)).fit(g.reshape(1, 2, 2))
    assert kl.fired_[0]
    np.testing.assert_allclose(kl.resource_[0].ravel(), resource + 0.1, rtol=0, atol=1e-15)


def test_repeated_pick_of_an_updated_kernel_still_takes_the_position():
    # Kernel 0 is the best at both positions; its second pick updates nothing but
    # removes position 1 for kernel 1 too, so kernel 1 is never updated.
    init = np.stack([np.full((2, 2), 2.0), np.full((2, 2), 0.5)])
    g = np.array([[[1.0, 0.2, 0.9], [0.0, 0.3, 0.0]]])
    kl = learner(2, 2, lr=0.1, init=init).fit(g)
    assert kl.stats_.tolist() == [[1, 0, 2]]
    np.testing.assert_array_equal(kl.resource_[1], init[1])
    np.testing.assert_allclose(
        kl.resource_[0], [[2.1, 2.0 - 0.1 / 3], [2.0 - 0.1 / 3] * 2], rtol=0, atol=1e-15
    )


def test_first_pass_runs_even_when_every_response_is_negative():
    init = np.zeros((2, 2, 2))  # W = 0 gives w = w_min < 0: every c < 0
    g = np.array([[[0.9, 0.1, 0.8], [0.2, 0.7, 0.3]]])
    kl = learner(2, 2, lr=0.1, init=init).fit(g)
    assert kl.stats_.tolist() == [[1, 0, 1]]
    changed = [not np.all(kl.resource_[a] == 0.0) for a in range(2)]
    assert sum(changed) == 1


def test_one_kernel_update_per_image_and_position_winner():
    # Three kernels, two positions: each image picks both positions (one winner each)
    # and updates one or two kernels, each at most once (a forced update of a tile with
    # every pixel on one side of B counts but changes nothing). Fed one image at a time
    # (the resource carried over), the result is the whole fit.
    rng = np.random.default_rng(0)
    images = rng.random((4, 2, 3))
    whole = learner(2, 3, lr=0.1).fit(images)
    resource = np.full((3, 2, 2), R0)
    for i, g in enumerate(images):
        one = learner(2, 3, lr=0.1, init=resource).fit(g[None])
        changed = sum(not np.array_equal(one.resource_[a], resource[a]) for a in range(3))
        forced, spontaneous, picks = one.stats_[0]
        assert picks == 2
        assert 1 <= changed <= forced + spontaneous <= picks
        np.testing.assert_array_equal(whole.stats_[i], one.stats_[0])
        resource = one.resource_
    np.testing.assert_array_equal(whole.resource_, resource)
    assert whole.stats_[:, :2].sum() == 6  # 1 + 2 + 1 + 2 kernels updated


def test_keep_only_fired_selects_fired_kernels():
    init = np.stack([np.full((2, 2), 3.0), np.full((2, 2), R0)])
    g = np.array([[[1.0, 0.2], [0.9, 0.1]]])
    kl = snnconv.KernelLearner(
        kernel_size=2,
        n_kernels=2,
        stride=1,
        learning_rate=0.1,
        brightness_threshold=0.5,
        saturation_quantile=None,
        initial_resource=init,
    ).fit(g)
    assert kl.fired_.tolist() == [True, False]
    np.testing.assert_array_equal(kl.kernels_, kl.all_kernels_[:1])
