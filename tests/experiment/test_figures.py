"""Experiment figures: readable titles, colour scales, spreads over folds, true indices."""

from __future__ import annotations

import numpy as np
import pytest
from _fake_results import fake_results

pytest.importorskip("matplotlib")

from snnconv import plots
from snnconv.experiment.figures import write_figures


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    """Writes the figures of fake results once; returns ({file name: Figure}, ...)."""
    import matplotlib.pyplot as plt

    saved = {}
    real = plots._save_atomic

    def record(fig, path):
        saved[path.name] = fig
        real(fig, path)

    res, data = fake_results(n_folds=3)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plots, "_save_atomic", record)
        mp.setattr(plt, "close", lambda *a: None)  # keep the figures for inspection
        paths = write_figures(res, data, tmp_path_factory.mktemp("figures"))
    assert {p.name for p in paths} == set(saved)
    yield saved, res, data
    plt.close("all")


def _texts(fig) -> str:
    parts = [fig._suptitle.get_text() if fig._suptitle else ""]
    for ax in fig.axes:
        parts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        legend = ax.get_legend()
        if legend is not None:
            parts += [t.get_text() for t in legend.get_texts()]
            parts.append(legend.get_title().get_text())
    return "\n".join(parts)


def test_titles_use_readable_method_names(figures):
    saved, _, _ = figures
    label = "CSNN (kernels + spiking front-end + CoLaNET)"
    for name in ("confusion_csnn.png", "per_class_csnn.png", "kernels_csnn.png"):
        assert label in _texts(saved[name]), name
    assert "Kernel features + logistic regression" in _texts(saved["confusion_probe.png"])
    for name, fig in saved.items():
        assert "csnn:" not in _texts(fig), name


def test_confusion_matrix_says_folds_and_has_a_colour_bar(figures):
    saved, _, _ = figures
    fig = saved["confusion_csnn.png"]
    assert "summed over 3 folds" in _texts(fig)
    assert len(fig.axes) == 2  # the matrix and its colour bar
    assert "fraction of the true class" in fig.axes[1].get_ylabel()


def test_kernel_grid_has_a_colour_scale(figures):
    saved, _, _ = figures
    fig = saved["kernels_csnn.png"]
    assert any("weight" in ax.get_ylabel() for ax in fig.axes)


def test_grouped_per_class_figure_has_error_bars_and_a_zoomed_axis(figures):
    saved, _, _ = figures
    fig = saved["per_class_accuracy.png"]
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "CSNN (kernels + spiking front-end + CoLaNET)",
        "Kernel features + logistic regression",
    ]
    assert "std over 3 folds" in ax.get_title()
    assert len(ax.containers) == 4  # two bar groups and their error bars
    lo, hi = ax.get_ylim()
    assert hi == 100 and 0 < lo < 80  # fake accuracies are about 80 %
    assert f"from {lo:.0f}" in ax.get_ylabel()


def test_learning_curve_has_baselines_and_explains_the_band(figures):
    saved, res, _ = figures
    fig = saved["learning_curve_csnn.png"]
    ax = fig.axes[0]
    text = _texts(fig)
    assert "mean ± 1 std over 3 folds" in text
    assert "Kernel features + logistic regression" in text
    probe = np.mean([t.result.accuracy for t in res.tasks if t.method == "probe"])
    flat = [ln for ln in ax.get_lines() if len(set(ln.get_ydata())) == 1]
    assert any(np.isclose(ln.get_ydata()[0], 100 * probe) for ln in flat)


def test_rasters_show_true_indices_labels_and_classes(figures):
    saved, res, data = figures
    fig = saved["rasters_csnn.png"]
    test0 = res.folds[0][1][0]
    csnn0 = next(t for t in res.tasks if t.method == "csnn" and t.fold == 0)
    title = fig._suptitle.get_text()
    assert f"true {data.class_names[data.labels[test0]]}" in title
    assert f"predicted {data.class_names[csnn0.result.predictions[0]]}" in title
    axes = {ax.get_title().split(":")[0]: ax for ax in fig.axes}
    assert axes["conv"].get_ylim() == (-0.5, 3 * 4 * 4 - 0.5)
    ticks = [t.get_text() for t in axes["CoLaNET OUT"].get_yticklabels()]
    assert ticks == data.class_names
    assert axes["CoLaNET L (copy 0)"].get_ylabel().startswith("class column")


def test_raster_subsets_keep_true_indices():
    r = np.zeros((5, 1000), dtype=bool)
    r[:, 900] = True
    r[2, 10] = True
    fig = plots.spike_rasters({"layer": r}, max_neurons=2)
    ax = fig.axes[0]
    ys = sorted(set(ax.collections[0].get_offsets()[:, 1].tolist()))
    assert ys == [10, 900]
    assert "2 most active of 1,000" in ax.get_title()


# ------------------------------------------------------------- the values drawn
def _task(res, method, fold=0):
    return next(t for t in res.tasks if t.method == method and t.fold == fold)


def _pooled(res, data, method):
    runs = [t for t in res.tasks if t.method == method]
    truth = np.concatenate([data.labels[res.folds[t.fold][1]] for t in runs])
    pred = np.concatenate([t.result.predictions for t in runs])
    return truth, pred, runs


def _per_class(res, data, method, k=4):
    _, _, runs = _pooled(res, data, method)
    acc = []
    for t in runs:
        truth = data.labels[res.folds[t.fold][1]]
        acc.append([np.mean(t.result.predictions[truth == c] == c) for c in range(k)])
    return 100 * np.array(acc)


def test_confusion_matrix_draws_the_pooled_counts(figures):
    saved, res, data = figures
    truth, pred, _ = _pooled(res, data, "csnn")
    cm = np.zeros((4, 4), int)
    for t, p in zip(truth, pred, strict=True):
        cm[t, p] += 1
    ax = saved["confusion_csnn.png"].axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), cm / cm.sum(axis=1, keepdims=True))
    cells = {
        (round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts
    }
    assert cells == {(i, j): str(cm[i, j]) for i in range(4) for j in range(4) if cm[i, j]}
    assert f"accuracy {100 * np.trace(cm) / cm.sum():.1f} %" in ax.get_title()


def test_kernel_grid_draws_each_kernel_on_one_symmetric_scale(figures):
    saved, res, _ = figures
    kernels = _task(res, "csnn").result.artifacts["kernels"]
    images = [ax.images[0] for ax in saved["kernels_csnn.png"].axes if ax.images]
    assert len(images) == len(kernels)
    lim = np.abs(kernels).max()
    for image, kernel in zip(images, kernels, strict=True):
        np.testing.assert_array_equal(image.get_array(), kernel)
        assert image.get_clim() == (-lim, lim)


def test_per_class_bars_are_the_fold_means_with_their_spread(figures):
    saved, res, data = figures
    ax = saved["per_class_accuracy.png"].axes[0]
    bars = [c for c in ax.containers if hasattr(c, "patches")]
    errors = [c for c in ax.containers if not hasattr(c, "patches")]
    for method, bar, err in zip(("csnn", "probe"), bars, errors, strict=True):
        acc = _per_class(res, data, method)
        mean, std = acc.mean(axis=0), acc.std(axis=0, ddof=1)
        np.testing.assert_allclose([p.get_height() for p in bar.patches], mean)
        # each error bar runs from mean - std to mean + std, clipped to [0, 100] %
        segments = err.lines[2][0].get_segments()
        np.testing.assert_allclose([s[0][1] for s in segments], np.maximum(mean - std, 0))
        np.testing.assert_allclose([s[1][1] for s in segments], np.minimum(mean + std, 100))


def test_learning_curve_draws_the_mean_over_folds_and_its_band(figures):
    saved, res, _ = figures
    ax = saved["learning_curve_csnn.png"].axes[0]
    curves = [_task(res, "csnn", f).result.artifacts["learning_curve"] for f in range(3)]
    sizes = curves[0][0]
    acc = 100 * np.array([c[1] for c in curves])  # (folds, sizes)
    mean, std = acc.mean(axis=0), acc.std(axis=0, ddof=1)
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), sizes)
    np.testing.assert_allclose(line.get_ydata(), mean)
    band = ax.collections[0].get_paths()[0].vertices
    for x, m, s in zip(sizes, mean, std, strict=True):
        ys = band[np.isclose(band[:, 0], x), 1]
        np.testing.assert_allclose([ys.min(), ys.max()], [m - s, m + s])


def test_rasters_draw_every_spike_at_its_step_and_neuron(figures):
    saved, res, _ = figures
    rasters = _task(res, "csnn").result.artifacts["rasters"]
    axes = {ax.get_title().split(":")[0]: ax for ax in saved["rasters_csnn.png"].axes}
    for name, r in rasters.items():
        steps, neurons = np.nonzero(r.reshape(r.shape[0], -1))
        drawn = axes[name].collections[0].get_offsets()
        assert sorted(map(tuple, np.asarray(drawn).tolist())) == sorted(
            zip(steps.tolist(), neurons.tolist(), strict=True)
        ), name
