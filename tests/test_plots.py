"""Every figure function: rendered with Agg, checked for what it should contain."""
import os
import re

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
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
    FigureCanvasAgg(fig)
    fig.canvas.draw()          # Agg: fails loudly if anything cannot be drawn
    assert_standard(fig)
    return fig


def _main_axes(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.get_visible()]


def assert_standard(fig, integer_x=None):
    """The plots module's visual standard, checked on the drawn figure (see its docstring)."""
    from matplotlib.colors import to_hex
    assert fig.get_layout_engine() is not None, "no layout engine"
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    main = _main_axes(fig)
    boxes = [tuple(np.round(ax.bbox.bounds, 1)) for ax in main]
    for ax, box in zip(main, boxes):
        twin = boxes.count(box) > 1                       # a twinx axes shares its partner's x label
        assert ax.get_ylabel(), f"axes {ax.get_title()!r} has no y label"
        assert ax.get_xlabel() or twin, f"axes {ax.get_title()!r} has no x label"
    legends = list(fig.legends) + [ax.get_legend() for ax in main if ax.get_legend() is not None]
    for leg in legends:                                   # legends never cover data: outside every axes
        lb = leg.get_window_extent(renderer)
        for ax in main:
            assert not lb.overlaps(ax.bbox), f"legend over the axes {ax.get_title()!r}"
    colours = {}
    for ax in main:                                       # one label, one colour, across all panels
        for line in ax.lines:
            label = line.get_label()
            if not label.startswith("_"):
                colours.setdefault(label, set()).add(to_hex(line.get_color()))
    assert all(len(c) == 1 for c in colours.values()), colours
    for ax in main if integer_x else ():
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
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
    assert a.lines[0].get_label() == "training loss, each batch"
    np.testing.assert_allclose(a.lines[0].get_ydata(), HISTORY["steps"]["loss"])
    assert_standard(fig, integer_x=True)
    fig = render(P.plot_step_loss(np.ones(40), smooth_window=4))
    assert "4 steps" in fig.axes[0].lines[1].get_label()


PENALIZED = {   # a run with an L2 penalty that dominates the objective (the demo's case), and flooding
    "meta": {"reg": 3e-3, "flood_level": 0.02},
    "epochs": {"epoch": [1, 2, 3, 4], "train_loss": [0.5, 0.1, 0.05, 0.03], "train_penalty": [0.2, 0.25, 0.25, 0.24],
               "train_objective": [0.7, 0.35, 0.3, 0.27], "train_loss_eval": [0.2, 0.06, 0.03, 0.027],
               "val_loss": [0.3, 0.15, 0.13, 0.12], "train_acc_eval": [0.9, 0.97, 0.99, 1.0],
               "val_acc": [0.88, 0.94, 0.95, 0.96]},
    "steps": {"step": list(range(1, 21)), "loss": list(np.geomspace(2.3, 0.027, 20)),
              "penalty": list(np.linspace(0.1, 0.24, 20)), "objective": list(np.geomspace(2.3, 0.027, 20) +
                                                                             np.linspace(0.1, 0.24, 20)),
              "lr": [0.1] * 20},
}


def test_loss_curves_draw_data_loss_penalty_and_objective_apart():
    fig = render(P.plot_step_loss(PENALIZED, smooth_window=1))
    a = fig.axes[0]
    by_label = {l.get_label(): l for l in a.lines}
    np.testing.assert_allclose(by_label["training loss, each batch"].get_ydata(), PENALIZED["steps"]["loss"])
    np.testing.assert_allclose(by_label[P.SERIES["penalty"][0]].get_ydata(), PENALIZED["steps"]["penalty"])
    np.testing.assert_allclose(by_label[P.SERIES["objective"][0]].get_ydata(), PENALIZED["steps"]["objective"])
    np.testing.assert_allclose(by_label["flood level b"].get_ydata(), [0.02, 0.02])
    loss_ax, acc_ax = render(P.plot_epoch_curves(PENALIZED)).axes
    by_label = {l.get_label(): l for l in loss_ax.lines}
    np.testing.assert_allclose(by_label["training loss, epoch average"].get_ydata(), [0.5, 0.1, 0.05, 0.03])
    np.testing.assert_allclose(by_label[P.SERIES["penalty"][0]].get_ydata(), [0.2, 0.25, 0.25, 0.24])
    assert "flood level b" in by_label
    # without penalty or flooding there is no penalty/objective series to confuse
    labels = [l.get_label() for l in render(P.plot_step_loss(HISTORY)).axes[0].lines]
    assert not any("penalty" in t or "objective" in t or "flood" in t for t in labels)


def test_epoch_curves_show_both_training_measures():
    fig = render(P.plot_epoch_curves(HISTORY))
    loss_ax, acc_ax = fig.axes
    labels = [l.get_label() for l in loss_ax.lines]
    assert labels == ["training loss, epoch average", "training loss, end of epoch", "validation loss"]
    assert [l.get_label() for l in acc_ax.lines] == ["training accuracy, end of epoch", "validation accuracy"]
    assert loss_ax.lines[0].get_linestyle() == "--"
    assert acc_ax.get_ylabel() == "accuracy"
    # the same training / validation series keep one colour across the two panels
    assert loss_ax.lines[1].get_color() == acc_ax.lines[0].get_color()
    assert loss_ax.lines[2].get_color() == acc_ax.lines[1].get_color()
    assert_standard(fig := P.plot_epoch_curves(HISTORY), integer_x=True)


def test_learning_rate_is_log():
    ax = render(P.plot_learning_rate(HISTORY)).axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 1
    np.testing.assert_allclose(ax.lines[0].get_ydata(), HISTORY["steps"]["lr"])


def test_update_ratios_band_and_one_line_per_parameter():
    ax = render(P.plot_update_ratios(HISTORY)).axes[0]
    assert ax.get_yscale() == "log"
    labels = [l.get_label() for l in ax.lines]
    assert labels == ["target 0.001", "layers.0.W", "layers.0.b (bias, not judged)"]
    assert len(ax.patches) == 1 and ax.patches[0].get_label().startswith("rule of thumb")
    from matplotlib.colors import to_hex
    band = to_hex(ax.patches[0].get_facecolor())
    assert band not in {to_hex(l.get_color()) for l in ax.lines}      # the band's colour is no series'
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
    fig = render(P.plot_first_layer_weights(rng.normal(size=shape)))
    ax = fig.axes[0]
    mosaic = ax.images[0].get_array()
    assert mosaic.shape == image                 # grid of ceil(sqrt(M)) columns, 1-pixel gaps
    assert f"all {shape[1]} units" in fig.get_suptitle()
    if len(image) == 2:                          # one channel: a shared symmetric scale and a colour bar
        W = rng.normal(size=shape)
        assert np.nanmax(np.abs(mosaic)) > 0 and any(a.get_label() == "<colorbar>" for a in fig.axes)
        lo, hi = ax.images[0].get_clim()
        assert lo == -hi


def test_first_layer_weights_counts_units_and_shows_the_change():
    W0 = rng.normal(size=(64, 128))
    W = W0 + 0.01 * rng.normal(size=(64, 128))
    fig = render(P.plot_first_layer_weights(W, initial=W0))
    assert fig.get_suptitle().endswith("64 of 128 units")
    main = _main_axes(fig)
    assert len(main) == 2 and main[1].get_title() == "change from the initial weights"
    assert sum(a.get_label() == "<colorbar>" for a in fig.axes) == 2
    change = main[1].images[0].get_array()
    np.testing.assert_allclose(np.nanmax(np.abs(change)), np.max(np.abs((W - W0)[:, :64])), rtol=1e-6)
    with pytest.raises(ValueError, match="initial"):
        P.plot_first_layer_weights(W, initial=W0[:, :3])


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
    assert len(fig.legends) == 1 and len(fig.legends[0].get_texts()) == 2
    title = ax.get_title()
    assert "raw loss" in title and "1 of 5 (20%) flagged at the last snapshot" in title
    assert "never outliers: 3 of 5, final loss median 3" in title
    for axis in (ax.xaxis, ax.yaxis):                                   # counts: integer ticks
        lo, hi = axis.get_view_interval()
        assert all(float(t).is_integer() for t in axis.get_ticklocs() if lo <= t <= hi)
    assert "log loss" in render(P.plot_outlier_epochs(L, log=True)).axes[0].get_title()


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
    # the old entry point draws the same figure, with a layout engine: the x label is inside the canvas
    old = render(result.plot())
    label = old.axes[0].xaxis.label.get_window_extent(old.canvas.get_renderer())
    assert label.y0 >= 0 and old.axes[0].get_xlabel() == "learning rate (log scale)"


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
    assert_standard(P.plot_epoch_curves(h), integer_x=True)
    assert len(render(P.plot_learning_rate(h)).axes[0].lines[0].get_ydata()) == 30
    assert [l.get_label() for l in render(P.plot_update_ratios(h)).axes[0].lines][1:] == \
        ["layers.0.W", "layers.0.b (bias, not judged)", "layers.2.W", "layers.2.b (bias, not judged)"]
    fig = render(P.plot_layer_histograms(h))
    assert len(fig.axes) == 3 and [len(ax.patches) for ax in fig.axes] == [2, 2, 2]
    fig = render(P.plot_layer_histograms(h, key="gradients", part="params"))
    assert fig.axes[0].get_title().endswith("layers.0.W")
    fig = render(P.plot_loss_heatmap(h))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0", "1", "4", "16", "30"]
    assert render(P.plot_first_layer_weights(model.layers[0].W.value)).axes[0].images[0].get_array().shape == (35, 35)


def test_layer_histograms_keep_step_colours_and_can_share_axes():
    snaps = {"a": {0: rng.normal(size=300), 9: rng.normal(size=300)},
             "b": {0: 0.01 * rng.normal(size=300), 9: 0.01 * rng.normal(size=300)}}
    fig = render(P.plot_layer_histograms(snaps))
    assert fig.axes[0].get_xlim() != fig.axes[1].get_xlim()           # each panel scales itself ...
    fig = render(P.plot_layer_histograms(snaps, share=True))
    assert fig.axes[0].get_xlim() == fig.axes[1].get_xlim()           # ... unless asked to compare


def test_search_plot_keeps_the_useful_range():
    from nn_scratch.search import LogUniform, random_search

    def objective(p):
        if p["lr"] > 0.5:
            raise FloatingPointError("diverged")
        return 1e14 if p["lr"] > 0.2 else (np.log10(p["lr"]) + 2) ** 2 + 0.1
    result = random_search(objective, {"lr": LogUniform(1e-4, 1.0)}, n_trials=40, seed=0, warn=False)
    assert result.failed and max(t.score for t in result.ok) == 1e14
    fig = render(P.plot_search(result, "lr"))
    ax = fig.axes[0]
    assert ax.get_ylim()[1] < 1e3                                     # not squashed by the 1e14 trials
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("exploded") and "top edge" in t for t in labels)
    assert any(t.startswith("failed") and "top edge" in t for t in labels)
    from nn_scratch import search
    assert render(search.plot_search(result, "lr")).axes[0].get_ylim() == ax.get_ylim()   # the old entry point
