"""Every figure function: rendered with Agg, checked for what it should contain."""
import os
import re

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from nn_scratch import plots as P

matplotlib.use("Agg")
rng = np.random.default_rng(0)

HISTORY = {   # the layout of trainer.History.to_dict()
    "epochs": {"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.4], "train_loss_eval": [0.8, 0.4, 0.3],
               "val_loss": [0.9, 0.5, 0.45], "train_acc_eval": [0.7, 0.85, 0.9], "val_acc": [0.7, 0.8, 0.85]},
    "steps": {"step": list(range(1, 11)), "loss": list(np.linspace(2.3, 0.3, 10)), "lr": [0.1] * 5 + [0.01] * 5},
    "monitors": {
        "update_ratio": {"step": list(range(1, 11)), "epoch": [0.1] * 10, "layers.0.W": [1e-3] * 10,
                         "layers.0.b": [float("nan")] + [1e-4] * 9},
        "activations": {"step": [0, 5, 10], "epoch": [0, 0.5, 1.0],
                        "layers": [[{"name": "layers.0", "type": "Linear", "hist": [1, 2], "edges": [0, 1, 2]},
                                    {"name": "layers.1", "type": "ReLU", "hist": [3, 0], "edges": [0, 1, 2]}]] * 3},
        "per_sample_loss": {"step": [0, 1, 10], "epoch": [0, 0.1, 1],
                            "losses": [[2.3, 2.3, 2.3, 2.3], [1.0, 2.0, 3.0, 4.0], [0.01, 0.02, 0.05, 9.0]],
                            "correct": [[False] * 4] * 3}},
}


def render(fig):
    assert isinstance(fig, Figure)
    fig.canvas.draw()          # Agg: fails loudly if anything cannot be drawn
    return fig


def test_history_readers():
    x, y = P.history_series(HISTORY, "step", "lr")
    np.testing.assert_array_equal(x, range(1, 11))
    np.testing.assert_array_equal(y, HISTORY["steps"]["lr"])
    x, y = P.history_series({"epochs": {"epoch": [1, 2, 3], "val_loss": [float("nan"), 0.5, None]}},
                            "epoch", "val_loss")
    np.testing.assert_array_equal(x, [2])                        # NaN or None = not measured
    np.testing.assert_array_equal(y, [0.5])
    x, y = P.history_series({"epochs": {"val_loss": [np.float32("nan"), 0.4]}}, "epoch", "val_loss")
    np.testing.assert_array_equal(x, [2])                        # no epoch column: epochs count from 1
    np.testing.assert_array_equal(y, [0.4])
    with pytest.raises(KeyError, match="val_nope"):
        P.history_series(HISTORY, "epoch", "val_nope")
    ratios = P.update_ratio_series(HISTORY)
    assert sorted(ratios) == ["layers.0.W", "layers.0.b"]
    np.testing.assert_array_equal(ratios["layers.0.b"][0], range(1, 11))
    snaps = P.layer_snapshots(HISTORY, num=2)
    assert list(snaps) == ["layers.0 (Linear)", "layers.1 (ReLU)"]
    assert sorted(snaps["layers.1 (ReLU)"]) == [0, 10]          # first and last record


def test_step_loss_linear_and_log():
    fig = render(P.plot_step_loss(HISTORY))
    a, b = fig.axes
    assert (a.get_yscale(), b.get_yscale()) == ("linear", "log")
    assert len(a.lines) == 2 and a.get_xlabel() == "step"
    np.testing.assert_allclose(a.lines[0].get_ydata(), HISTORY["steps"]["loss"])
    fig = render(P.plot_step_loss(np.ones(40), smooth_window=4))
    assert "4 steps" in fig.axes[0].lines[1].get_label()


def test_epoch_curves_show_both_training_measures():
    fig = render(P.plot_epoch_curves(HISTORY))
    loss_ax, acc_ax = fig.axes
    labels = [l.get_label() for l in loss_ax.lines]
    assert labels == ["training, epoch average", "training, end of epoch", "validation"]
    assert [l.get_label() for l in acc_ax.lines] == ["training, end of epoch", "validation"]
    assert loss_ax.lines[0].get_linestyle() == "--"
    assert acc_ax.get_ylabel() == "accuracy"


def test_learning_rate_is_log():
    ax = render(P.plot_learning_rate(HISTORY)).axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 1
    np.testing.assert_allclose(ax.lines[0].get_ydata(), HISTORY["steps"]["lr"])


def test_update_ratios_band_and_one_line_per_parameter():
    ax = render(P.plot_update_ratios(HISTORY)).axes[0]
    assert ax.get_yscale() == "log"
    labels = [l.get_label() for l in ax.lines]
    assert labels == ["0.001", "layers.0.W", "layers.0.b"]
    assert len(ax.patches) == 1 and ax.patches[0].get_label() == "healthy band"
    ax2 = render(P.plot_update_ratios({"W": np.full(5, 1e-2)})).axes[0]
    assert [l.get_label() for l in ax2.lines][1:] == ["W"]


def test_layer_histograms_one_axes_per_layer_one_stair_per_step():
    snaps = {"relu1": {0: rng.normal(size=500), 50: rng.normal(size=500)},
             "relu2": {0: (np.array([1.0, 2.0]), np.array([0.0, 0.5, 1.0]))}}
    fig = render(P.plot_layer_histograms(snaps, title="Activations"))
    assert len(fig.axes) == 2
    assert len(fig.axes[0].patches) == 2 and len(fig.axes[1].patches) == 1
    assert fig.axes[0].get_title() == "Activations: relu1"
    with pytest.raises(ValueError, match="empty"):
        P.plot_layer_histograms({})
    many = {f"layer{i}": {0: rng.normal(size=50)} for i in range(6)}
    fig = render(P.plot_layer_histograms(many))                     # wraps into rows of four
    assert len(fig.axes) == 6 and fig.axes[4].get_subplotspec().rowspan.start == 1
    fig = render(P.plot_layer_histograms(HISTORY, num=3))          # straight from a History
    assert len(fig.axes) == 2 and len(fig.axes[1].patches) == 3


@pytest.mark.parametrize("shape,image", [((64, 10), (26, 35)), ((784, 4), (57, 57)), ((3072, 4), (65, 65, 3))])
def test_first_layer_weights_mosaic(shape, image):
    ax = render(P.plot_first_layer_weights(rng.normal(size=shape))).axes[0]
    mosaic = ax.images[0].get_array()
    assert mosaic.shape == image                 # grid of ceil(sqrt(M)) columns, 1-pixel gaps
    assert mosaic.min() == 0 and mosaic.max() == 1
    assert f"{shape[1]} units" in ax.get_title()


def test_first_layer_weights_conv_and_errors():
    ax = render(P.plot_first_layer_weights(rng.normal(size=(9, 3, 5, 5)))).axes[0]
    assert ax.images[0].get_array().shape == (17, 17, 3)
    with pytest.raises(ValueError, match="image_shape"):
        P.plot_first_layer_weights(rng.normal(size=(50, 3)))
    ax = render(P.plot_first_layer_weights(rng.normal(size=(50, 3)), image_shape=(5, 10))).axes[0]
    assert ax.images[0].get_array().shape == (11, 21)


def test_loss_heatmap_log_axes_and_log_colour():
    L = np.exp(rng.normal(size=(200, 6)) - np.arange(6))
    steps = [0, 1, 3, 10, 30, 100]
    fig = render(P.plot_loss_heatmap({"training": L, "validation": 2 * L}, steps=steps, bins=20))
    main = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(main) == 2 and len(fig.axes) == 4          # two heatmaps, two colourbars
    mesh = main[0].collections[0]
    assert isinstance(mesh.norm, matplotlib.colors.LogNorm)
    assert main[0].get_yscale() == "log"
    np.testing.assert_array_equal(mesh.get_array().sum(axis=0), 200)   # every sample in every column
    assert [t.get_text() for t in main[0].get_xticklabels()] == [str(s) for s in steps]
    assert main[1].get_title().endswith("validation")


def test_loss_heatmap_from_history():
    fig = render(P.plot_loss_heatmap(HISTORY, bins=10))
    mesh = fig.axes[0].collections[0]
    np.testing.assert_array_equal(mesh.get_array().sum(axis=0), 4)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0", "1", "10"]


def test_weight_distributions_one_heatmap_per_layer():
    snaps = {"layers.0.W": [rng.normal(size=(8, 4)) * s for s in (1, 2, 3)], "layers.2.W": [np.ones(5)] * 3}
    fig = render(P.plot_weight_distributions(snaps, steps=[0, 10, 100]))
    main = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(main) == 2
    np.testing.assert_array_equal(main[1].collections[0].get_array().sum(axis=0), 5)


def test_outlier_epochs_plot():
    L = np.tile(np.arange(1.0, 6.0)[:, None], (1, 4))
    L[0, [0, 1, 3]] = 100.0
    L[4, 2] = 100.0
    fig = render(P.plot_outlier_epochs(L))
    ax, ax2 = fig.axes
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [1, 3])     # sample 4 then sample 0
    np.testing.assert_array_equal(ax2.lines[0].get_ydata(), [5.0, 100.0])
    assert ax2.get_yscale() == "log" and "2 of 5" in ax.get_xlabel()


def test_step_size_sweep_wraps_the_gradient_checker():
    from nn_scratch.gradcheck import step_size_sweep
    from nn_scratch.layers import Linear, Tanh, Sequential
    from nn_scratch.losses import SoftmaxCrossEntropy
    model = Sequential([Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1)])
    sweep = step_size_sweep(model, rng.standard_normal((2, 3)), SoftmaxCrossEntropy(), np.array([0, 1]),
                            hs=np.logspace(-10, -2, 5), num_coords=2)
    ax = render(P.plot_step_size_sweep(sweep, title="h sweep")).axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log") and ax.get_title() == "h sweep"
    assert len(ax.lines[0].get_xdata()) == 5


def test_lr_sweep():
    res = {1e-3: np.linspace(2, 1.8, 50), 1e-1: np.linspace(2, 0.1, 50), 10.0: np.r_[2.0, 50.0, np.nan]}
    ax, ax_final = render(P.plot_lr_sweep(res)).axes
    assert len(ax.lines) == 3 and ax_final.get_xscale() == "log"
    finals = ax_final.lines[0].get_ydata()
    assert finals[1] < finals[0] and np.isnan(finals[2])


def test_save_figure_is_atomic_and_typed(tmp_path):
    fig = P.plot_learning_rate(np.geomspace(1e-3, 1, 10))
    out = P.save_figure(fig, tmp_path / "sub" / "lr.png")
    assert open(out, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path / "sub") == ["lr.png"]          # no temporary file left behind
    P.save_figure(fig, tmp_path / "lr.svg")
    assert b"<svg" in (tmp_path / "lr.svg").read_bytes()[:400]
    with pytest.raises(TypeError, match="Figure"):
        P.save_figure("not a figure", tmp_path / "x.png")


def test_lr_range_test_wrapper():
    from nn_scratch.layers import Linear
    from nn_scratch.losses import SoftmaxCrossEntropy
    from nn_scratch.lr_finder import lr_range_test
    X = rng.standard_normal((200, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    result = lr_range_test(Linear(4, 2, rng=0), SoftmaxCrossEntropy(), X, y, num_steps=40, batch_size=32)
    fig = render(P.plot_lr_range_test(result, title="range test"))
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and ax.get_xscale() == "log" and ax.get_title() == "range test"
    assert len(ax.lines) >= 2


def test_tutorial_06_babysitting(run_tutorial):
    out, figdir = run_tutorial("06_babysitting.py")
    lines = {line.split(" lr=")[0].strip(): line for line in out.splitlines() if " lr=" in line}
    healthy = re.search(r"val acc (\d\.\d+), update/weight layers\.0\.W (\S+) \((\w+)\)", lines["healthy"])
    assert float(healthy.group(1)) > 0.9 and healthy.group(3) == "ok"
    assert 1e-4 < float(healthy.group(2)) < 1e-2
    assert "layers.0.W" in lines["too low"] and "(too low)" in lines["too low"]
    assert lines["too high"].count("(too high)") == 2
    after = out.split(lines["far too high"])[1].splitlines()[1]
    assert "rose" in after and "died" in after
    saturated = re.search(r"init too large: .*saturated \(\|a\|>0\.9\) ((?:\d+% ?)+)", out).group(1).split()
    assert int(saturated[-1].rstrip("%")) > 50
    small = re.search(r"init too small: tanh output std per layer ([\d. ]+)\|", out).group(1).split()
    assert float(small[-1]) < 0.01 < float(small[0])
    assert re.search(r"Tukey outliers: \d+% of validation samples", out)
    change, dead = re.search(r"W_init\|\| = (\S+); (\d+) of 100 units never changed", out).groups()
    assert 0.05 < float(change) < 2 and 0 <= int(dead) < 50
    for name in ("step_loss_healthy", "epoch_curves_healthy", "update_ratio_too_high", "activations_by_init",
                 "first_layer_trained", "first_layer_change", "loss_heatmap", "outliers", "lr_sweep",
                 "batch_size_noise"):
        assert (figdir / f"06_{name}.png").stat().st_size > 1000


def test_every_history_figure_from_a_real_training_run():
    from nn_scratch.data import load_digits
    from nn_scratch.layers import Linear, ReLU, Sequential
    from nn_scratch.losses import SoftmaxCrossEntropy
    from nn_scratch.monitors import ActivationStats, GradientStats, PerSampleLoss
    from nn_scratch.optim import SGD
    from nn_scratch.trainer import Trainer
    X, y = load_digits()
    X, y, Xv, yv = X[:300], y[:300], X[300:400], y[300:400]
    model = Sequential([Linear(64, 16, rng=0), ReLU(), Linear(16, 10, rng=1)])
    monitors = [PerSampleLoss(at_steps=[0, 1, 4, 16, 30]), ActivationStats(Xv[:50], at_steps=[0, 30]),
                GradientStats(Xv[:50], yv[:50], at_steps=[0, 30])]
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.05, momentum=0.9),
                      monitors=monitors, progress=False)
    h = trainer.fit(X, y, Xv, yv, epochs=3, batch_size=32, seed=0)          # 10 steps per epoch
    assert len(render(P.plot_step_loss(h)).axes[0].lines[0].get_xdata()) == 30
    loss_ax, acc_ax = render(P.plot_epoch_curves(h)).axes
    assert len(loss_ax.lines) == 3 and len(acc_ax.lines) == 2 and len(loss_ax.lines[2].get_xdata()) == 3
    assert len(render(P.plot_learning_rate(h)).axes[0].lines[0].get_ydata()) == 30
    assert [l.get_label() for l in render(P.plot_update_ratios(h)).axes[0].lines][1:] == \
        ["layers.0.W", "layers.0.b", "layers.2.W", "layers.2.b"]
    fig = render(P.plot_layer_histograms(h))
    assert len(fig.axes) == 3 and [len(ax.patches) for ax in fig.axes] == [2, 2, 2]
    fig = render(P.plot_layer_histograms(h, key="gradients", part="params"))
    assert fig.axes[0].get_title().endswith("layers.0.W")
    fig = render(P.plot_loss_heatmap(h))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0", "1", "4", "16", "30"]
    assert render(P.plot_first_layer_weights(model.layers[0].W.value)).axes[0].images[0].get_array().shape == (35, 35)
