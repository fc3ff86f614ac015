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
