"""ON/OFF contrast channels (snnconv.contrast) and the ``channels`` option."""

from __future__ import annotations

import numpy as np
import pytest

import snnconv
from snnconv.contrast import contrast_channels
from snnconv.exceptions import DataError, ParameterError


def _plain(g: np.ndarray, size: int) -> np.ndarray:
    """d = g − mean over the window cut to the image, pixel by pixel."""
    h, w = g.shape
    r = size // 2
    d = np.empty_like(g)
    for y in range(h):
        for x in range(w):
            win = g[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]
            d[y, x] = g[y, x] - win.mean()
    return d


@pytest.mark.parametrize("size", [1, 3, 5])
def test_on_off_split_the_local_contrast(size):
    rng = np.random.default_rng(size)
    g = rng.random((2, 7, 9))
    out = contrast_channels(g, "on_off_image", size)
    assert out.shape == (2, 3, 7, 9) and out.dtype == np.float64
    for i in range(2):
        d = _plain(g[i], size)
        np.testing.assert_allclose(out[i, 0], np.maximum(d, 0), atol=1e-12)
        np.testing.assert_allclose(out[i, 1], np.maximum(-d, 0), atol=1e-12)
        np.testing.assert_array_equal(out[i, 2], g[i])
    if size == 1:
        assert not out[:, :2].any()  # a pixel is its own mean


def test_uint8_gives_rounded_levels_and_a_hand_case():
    img = np.zeros((1, 3, 3), np.uint8)
    img[0, 1, 1] = 90
    out = contrast_channels(img, "on_off", 3)
    assert out.dtype == np.uint8 and out.shape == (1, 2, 3, 3)
    # Centre: 90 − 90/9 = 80 ON; corner (window of 4 pixels): 0 − 90/4 → OFF 22.5 → 22.
    assert out[0, 0, 1, 1] == 80 and out[0, 1, 1, 1] == 0
    assert out[0, 1, 0, 0] == 22 and out[0, 0, 0, 0] == 0
    # Edge middle (window of 6 pixels): 90 / 6 = 15 OFF.
    assert out[0, 1, 0, 1] == 15
    assert contrast_channels(img, "image", 3) is img


def test_bad_options_are_named():
    with pytest.raises(ParameterError, match="channels"):
        contrast_channels(np.zeros((1, 4, 4)), "on-off")
    with pytest.raises(ParameterError, match="contrast_size"):
        contrast_channels(np.zeros((1, 4, 4)), "on_off", 4)
    with pytest.raises(DataError, match="grey images"):
        contrast_channels(np.zeros((1, 2, 4, 4)), "on_off")
    with pytest.raises(ParameterError, match="channels"):
        snnconv.KernelLearner(channels="rgb").fit(np.zeros((2, 9, 9)))


def test_learner_front_end_and_files_use_the_channels(mnist5k, tmp_path):
    images, labels = mnist5k
    pick = np.random.default_rng(0).permutation(len(images))[:500]  # the file is sorted
    images, labels = images[pick], labels[pick]
    x = images[:400]
    kl = snnconv.KernelLearner(channels="on_off", random_state=0).fit(x)
    assert kl.n_channels_ == 2 and kl.kernels_.ndim == 4 and kl.kernels_.shape[1] == 2
    # The learner on the derived channels is the learner on them given directly.
    direct = snnconv.KernelLearner(random_state=0).fit(contrast_channels(x, "on_off", 5))
    np.testing.assert_array_equal(kl.all_kernels_, direct.all_kernels_)
    np.testing.assert_array_equal(kl.transform(x[:20]), direct.transform(contrast_channels(x[:20])))
    # A list of frames learns the same.
    np.testing.assert_array_equal(
        snnconv.KernelLearner(channels="on_off", random_state=0).fit(list(x)).all_kernels_,
        kl.all_kernels_,
    )
    snn = snnconv.ConvSNN(kl, on_backlog="ignore").fit(x[:100])
    assert (snn.channels_, snn.contrast_size_) == ("on_off", 5)
    counts = snn.transform(x[:30])
    assert counts.sum() > 0
    sim = snn.simulate(x[3])
    assert sim["input"].shape == (15, 2, 28, 28)
    np.testing.assert_array_equal(sim["pooled"], snn.run(x[3:4]).pooled[0])
    back = snnconv.ConvSNN.load(snn.save(tmp_path / "snn.npz"))
    np.testing.assert_array_equal(back.transform(x[:30]), counts)
    assert snnconv.KernelLearner.load(kl.save(tmp_path / "kl.npz")).channels == "on_off"
    clf = snnconv.CSNNClassifier(
        kernel_learner=snnconv.KernelLearner(channels="on_off_image", random_state=0)
    ).fit(x, labels[:400])
    assert clf.front_end_.kernels_.shape[1] == 3
    assert clf.score(images[400:500], labels[400:500]) > 0.5
