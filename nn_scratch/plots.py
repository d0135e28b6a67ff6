"""The babysitting figures: each function takes a History (or plain arrays) and returns a ``Figure``.

Figures are built on ``matplotlib.figure.Figure`` directly -- no pyplot state, nothing shown, nothing
leaked between calls -- so they work in scripts, notebooks and tests alike.  Save one with
``save_figure(fig, "loss.png")`` (written atomically).

=============================  =====================================================================
``plot_step_loss``             batch loss per step, linear and log axes, with a moving average
``plot_epoch_curves``          loss per epoch (epoch average vs end-of-epoch eval vs validation), accuracy
``plot_learning_rate``         the learning rate per step
``plot_update_ratios``         update/weight ratio per parameter over time, with the ~1e-3 band
``plot_layer_histograms``      activation or gradient histograms per layer at a few points of training
``plot_first_layer_weights``   first-layer weights (or conv filters) as images
``plot_loss_heatmap``          per-sample loss distributions at log-spaced iterations, log colour
``plot_weight_distributions``  weight distributions per layer over training, same format
``plot_outlier_epochs``        how many epochs each sample was a Tukey outlier, and its final loss
``plot_lr_sweep``              loss curves for several learning rates side by side
``plot_step_size_sweep``       gradient-check error against the finite-difference step h
``plot_lr_range_test``         the learning-rate range test (from ``nn_scratch.lr_finder``)
=============================  =====================================================================
"""
from __future__ import annotations

import os

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from . import analysis
from .files import atomic_write
from .analysis import history_series, layer_snapshots, monitor_table, update_ratio_series

__all__ = ["save_figure", "history_series", "monitor_table", "update_ratio_series", "layer_snapshots",
           "plot_step_loss", "plot_epoch_curves", "plot_learning_rate", "plot_update_ratios",
           "plot_layer_histograms", "plot_first_layer_weights", "plot_loss_heatmap", "plot_weight_distributions",
           "plot_outlier_epochs", "plot_lr_sweep", "plot_step_size_sweep", "plot_lr_range_test"]


# -- saving --------------------------------------------------------------------------------------------------
def save_figure(fig, path, dpi: int = 100) -> str:
    """Write ``fig`` to ``path`` (format from the extension) via a temporary file and ``os.replace``.

    A reader never sees a half-written image.  Returns the path as a string.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"save_figure: 'fig' must be a matplotlib Figure, got {type(fig).__name__}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    ext = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    os.makedirs(folder, exist_ok=True)
    with atomic_write(path) as fh:
        fig.savefig(fh, format=ext, dpi=dpi)
    return path


# -- curves -----------------------------------------------------------------------------------------------------
def plot_step_loss(history, smooth_window=None, title="Batch loss per step"):
    """Two axes: the batch loss per step on a linear and on a log y-axis, raw and smoothed.

    ``history``: a History, or a 1-D array of losses.  ``smooth_window`` defaults to ~4% of the steps.
    A hockey stick on the linear axis reads as a straight-ish line on the log axis; the spread of the
    raw line shows the batch noise.
    """
    if _is_arraylike(history):
        y = np.asarray(history, dtype=np.float64)
        x = np.arange(y.size)
    else:
        x, y = history_series(history, "step", "loss")
    w = smooth_window or max(1, y.size // 25)
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    for ax, scale in zip(fig.subplots(1, 2), ("linear", "log")):
        ax.plot(x, y, lw=0.6, alpha=0.45, label="batch loss")
        ax.plot(x, analysis.smooth(y, w), lw=1.6, label=f"moving average ({w} steps)")
        ax.set_yscale(scale)
        ax.set_xlabel("step")
        ax.set_ylabel("loss" + (" (log scale)" if scale == "log" else ""))
        ax.set_title(f"{title} ({scale})")
        ax.legend(fontsize=8)
    return fig


def plot_epoch_curves(history, title=None):
    """Loss and accuracy per epoch.

    Left: the epoch-averaged training loss (dashed; measured on the fly with older weights, dropout on),
    the training loss re-measured at the end of the epoch in eval mode, and the validation loss -- the
    last two are the fair comparison.  Right: the same for accuracy (where recorded).  When the trainer
    re-measured a subset of the training set (its default for large sets), the legend says how many rows.
    Epoch columns read: ``train_loss``, ``train_loss_eval``, ``val_loss``, ``train_acc`` (if any),
    ``train_acc_eval``, ``val_acc``; missing ones are skipped.
    """
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    meta = getattr(history, "meta", {}) or {}
    rows, n_train = meta.get("train_eval_rows"), meta.get("n_train")
    end = "training, end of epoch" + (f" ({rows} of {n_train} rows)" if rows and n_train and rows < n_train else "")
    styles = {"train_loss": ("training, epoch average", "--"), "train_loss_eval": (end, "-"),
              "val_loss": ("validation", "-"), "train_acc": ("training, epoch average", "--"),
              "train_acc_eval": (end, "-"), "val_acc": ("validation", "-")}
    for ax, keys, ylabel in ((ax_loss, ("train_loss", "train_loss_eval", "val_loss"), "loss"),
                             (ax_acc, ("train_acc", "train_acc_eval", "val_acc"), "accuracy")):
        for key in keys:
            try:
                x, y = history_series(history, "epoch", key)
            except KeyError:
                continue
            label, ls = styles[key]
            ax.plot(x, y, ls, marker="o", ms=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{ylabel} per epoch" if title is None else f"{title}: {ylabel}")
        if ax.lines:
            ax.legend(fontsize=8)
    return fig


def plot_learning_rate(history, title="Learning rate"):
    """The learning rate per step (log y-axis).  ``history``: a History or a 1-D array of rates."""
    if _is_arraylike(history):
        y = np.asarray(history, dtype=np.float64)
        x = np.arange(y.size)
    else:
        x, y = history_series(history, "step", "lr")
    fig = Figure(figsize=(6, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(x, y)
    if np.all(y > 0):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_title(title)
    return fig


def plot_update_ratios(history, target: float = 1e-3, factor: float = 10.0, title="Update / weight ratio"):
    """Per parameter, ``||lr * update|| / ||W||`` over steps on a log axis, with the line at ``target``
    and the band ``[target/factor, target*factor]`` shaded.

    ``history``: a History (the ``"update_ratio"`` monitor table) or a dict ``{name: ratios}``
    (x = 0..n-1) or ``{name: (steps, ratios)}``.  Far above the band: learning rate too high; far below:
    too low.
    """
    if isinstance(history, dict) and history and not _is_history(history):
        series = {k: (v if isinstance(v, tuple) else (np.arange(len(v)), v)) for k, v in history.items()}
    else:
        series = update_ratio_series(history)
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    ax.axhspan(target / factor, target * factor, color="tab:green", alpha=0.12, label="healthy band")
    ax.axhline(target, color="tab:green", ls="--", lw=1, label=f"{target:g}")
    for name, (x, r) in series.items():
        r = np.asarray(r, dtype=np.float64)
        ax.plot(np.asarray(x), np.where(r > 0, r, np.nan), lw=1, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("update norm / weight norm")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    return fig


def plot_lr_sweep(results, title="Learning-rate sweep"):
    """Loss curves for several learning rates, and the final loss against the rate.

    ``results``: ``{lr: losses per step}``.  Too small a rate crawls, too large diverges or stalls high.
    """
    if not results:
        raise ValueError("plot_lr_sweep: 'results' is empty; pass {lr: losses}")
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax, ax_final = fig.subplots(1, 2)
    lrs = sorted(results)
    finals = []
    for lr in lrs:
        y = np.asarray(results[lr], dtype=np.float64)
        ax.plot(np.arange(y.size), y, lw=1, label=f"lr={lr:.3g}")
        finite = y[np.isfinite(y)]
        finals.append(finite[-max(1, finite.size // 10):].mean() if finite.size == y.size else np.nan)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax_final.plot(lrs, finals, "o-")
    ax_final.set_xscale("log")
    ax_final.set_xlabel("learning rate")
    ax_final.set_ylabel("final loss (diverged runs omitted)")
    ax_final.set_title("final loss vs learning rate")
    return fig


def plot_step_size_sweep(*sweeps, title=None):
    """The gradient checker's step-size sweep (``gradcheck.step_size_sweep`` results): relative error of the
    centered difference against h on log-log axes -- truncation error on the right, rounding on the left.
    Drawn by ``gradcheck.plot_step_size_sweep`` onto a fresh Figure."""
    from . import gradcheck
    fig = Figure(figsize=(5.5, 3.8))              # the helper applies tight_layout itself
    ax = fig.subplots()
    gradcheck.plot_step_size_sweep(*sweeps, ax=ax)
    if title is not None:
        ax.set_title(title)
    return fig


def plot_lr_range_test(result, title=None):
    """The learning-rate range test (``lr_finder.lr_range_test``'s result): loss against the rate on a log
    axis with the suggestion marked.  Drawn by ``lr_finder.plot_lr_range_test`` onto a pyplot-free Figure."""
    from . import lr_finder
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    lr_finder.plot_lr_range_test(result, ax=ax)
    if title is not None:
        ax.set_title(title)
    return fig


# -- distributions ----------------------------------------------------------------------------------------------
def plot_layer_histograms(snapshots, bins: int = 40, title="Activations", xlabel="value", log_counts=False,
                          key: str = "activations", part: str = "layers", num: int = 4):
    """One axes per layer, overlaying the histogram of that layer's values at a few points of training.

    ``snapshots``: ``{layer_name: {step: values}}`` where values is an array of raw values or a
    ``(counts, edges)`` pair already binned -- or a History, read through ``layer_snapshots(history, key,
    part, num)`` (``key="gradients"`` for the GradientStats monitor).  Healthy tanh activations spread over
    [-1, 1]; all near 0 or all at +-1 means a bad initialization; a ReLU layer that is all zeros is dead.
    """
    if _is_history(snapshots):
        snapshots = layer_snapshots(snapshots, key, part, num)
    if not snapshots:
        raise ValueError("plot_layer_histograms: 'snapshots' is empty; pass {layer: {step: values}}")
    n = len(snapshots)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig = Figure(figsize=(3.2 * cols, 2.9 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes[n:]:
        fig.delaxes(ax)
    for ax, (layer, by_step) in zip(axes, snapshots.items()):
        for step in sorted(by_step):
            v = by_step[step]
            if isinstance(v, tuple) and len(v) == 2:
                counts, edges = (np.asarray(a, dtype=np.float64) for a in v)
            else:
                v = np.asarray(v, dtype=np.float64).ravel()
                counts, edges = np.histogram(v[np.isfinite(v)], bins=bins)
            ax.stairs(counts, edges, label=f"step {step}")
        if log_counts:
            ax.set_yscale("log")
        ax.set_title(f"{title}: {layer}", fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count")
        ax.legend(fontsize=7)
    return fig


def plot_loss_heatmap(sets, steps=None, bins: int = 40, title="Per-sample loss distribution"):
    """Per-sample loss distributions over training as heatmaps (one axes per data set).

    ``sets``: a History (its ``"per_sample_loss"`` monitor), an (N, T) loss matrix, or
    ``{name: (N, T) matrix}`` (e.g. training and validation), with
    one column per snapshot taken at iterations ``steps`` (T,), ideally log-spaced
    (``analysis.log_spaced_steps``).  The y-axis (loss) and the colour (number of samples) are both
    log-scaled, so the few samples with extreme losses stay visible next to the many near zero.
    """
    if _is_history(sets):                                       # its per-sample loss monitor
        L, steps = analysis.history_loss_matrix(sets)
        sets = {"": L}
    elif not isinstance(sets, dict):
        sets = {"": sets}
    sets = {name: np.asarray(L, dtype=np.float64) for name, L in sets.items()}
    steps = np.arange(next(iter(sets.values())).shape[1]) if steps is None else np.asarray(steps)
    every = np.concatenate([L.ravel() for L in sets.values()])       # shared bins for all sets
    lo = np.min(every[every > 0], initial=np.inf)
    hi = np.max(every[np.isfinite(every)])
    lo = lo if np.isfinite(lo) else 1e-8
    fig = Figure(figsize=(8, 2.8 * len(sets) + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(sets), 1, squeeze=False)[:, 0])
    for ax, (name, L) in zip(axes, sets.items()):
        counts, edges = analysis.histogram_matrix(L, bins=bins, log=True, value_range=(lo, max(hi, lo * 10)))
        mesh = _heatmap(ax, counts, edges, steps)
        ax.set_yscale("log")
        ax.set_ylabel("per-sample loss (log)")
        ax.set_title(f"{title}{': ' + name if name else ''}", fontsize=10)
        fig.colorbar(mesh, ax=ax, label="samples (log scale)")
    axes[-1].set_xlabel("iteration (log-spaced snapshots)")
    return fig


def plot_weight_distributions(snapshots, steps=None, bins: int = 40, title="Weight distribution"):
    """Weight value distributions per layer over training, one heatmap per layer (log colour).

    ``snapshots``: ``{layer_name: list of weight arrays}`` (one per snapshot) or ``{layer: (T, n) array}``.
    Growing tails late in training go with samples whose validation loss keeps rising.
    """
    if not snapshots:
        raise ValueError("plot_weight_distributions: 'snapshots' is empty; pass {layer: [W at each snapshot]}")
    n = len(snapshots)
    fig = Figure(figsize=(8, 2.4 * n + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(n, 1, squeeze=False)[:, 0])
    for ax, (layer, ws) in zip(axes, snapshots.items()):
        M = np.stack([np.asarray(w, dtype=np.float64).ravel() for w in ws], axis=1)   # (n weights, T)
        st = np.arange(M.shape[1]) if steps is None else np.asarray(steps)
        counts, edges = analysis.histogram_matrix(M, bins=bins)
        mesh = _heatmap(ax, counts, edges, st)
        ax.set_ylabel("weight value")
        ax.set_title(f"{title}: {layer}", fontsize=10)
        fig.colorbar(mesh, ax=ax, label="weights (log scale)")
    axes[-1].set_xlabel("iteration (snapshots)")
    return fig


def _heatmap(ax, counts, edges, steps):
    """Draw counts (bins, T) as columns at evenly spaced positions labelled with their iteration."""
    T = counts.shape[1]
    data = np.ma.masked_equal(counts, 0)
    vmax = max(int(counts.max()), 2)
    mesh = ax.pcolormesh(np.arange(T + 1), edges, data, norm=LogNorm(vmin=1, vmax=vmax), cmap="inferno_r")
    every = max(1, T // 10)
    ticks = np.arange(0, T, every)
    ax.set_xticks(ticks + 0.5)
    ax.set_xticklabels([str(int(steps[i])) for i in ticks], fontsize=7)
    return mesh


def plot_outlier_epochs(L, k: float = 1.5, title="Tukey outliers per sample", unit="snapshots"):
    """For every sample that was ever an outlier (loss > Q3 + k IQR at a snapshot): how many snapshots it
    was one (left axis), and its final loss (right axis, log), samples sorted by that count.

    ``L`` is the (N, T) per-sample loss matrix, typically one column per epoch on the validation set
    (then pass ``unit="epochs"``).
    """
    L = np.asarray(L, dtype=np.float64)
    count, _ = analysis.outlier_epochs(L, k)
    idx = np.flatnonzero(count > 0)
    idx = idx[np.argsort(count[idx], kind="stable")]
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.subplots()
    x = np.arange(idx.size)
    ax.plot(x, count[idx], "o", ms=3, color="tab:blue", label=f"{unit} as outlier")
    ax.set_xlabel(f"samples that were ever outliers ({idx.size} of {L.shape[0]}), sorted")
    ax.set_ylabel(f"{unit} as outlier", color="tab:blue")
    ax.set_title(title)
    ax2 = ax.twinx()
    final = L[idx, -1]
    ax2.plot(x, np.where(final > 0, final, np.nan), "s", ms=3, color="tab:red", label="final loss")
    if np.any(final > 0):
        ax2.set_yscale("log")
    ax2.set_ylabel("final loss (log)", color="tab:red")
    return fig


# -- first-layer weights -----------------------------------------------------------------------------------------
_SQUARE_SHAPES = {64: (8, 8), 784: (28, 28), 1024: (32, 32), 3072: (3, 32, 32)}


def plot_first_layer_weights(W, image_shape=None, max_filters: int = 64, title="First-layer weights"):
    """Show each first-layer unit's weights as a small image, tiled into one mosaic.

    ``W``: a Linear weight (D, M) -- column m is unit m's template over the D inputs -- or conv filters
    (F, C, HH, WW).  For Linear, ``image_shape`` defaults to 8x8 (D=64, digits), 28x28 (D=784, MNIST),
    3x32x32 (D=3072, CIFAR-10, channel first).  Each filter is scaled to [0, 1] on its own.  Smooth,
    varied templates suggest healthy training; pure noise suggests too little training or regularization.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim == 2:
        D, M = W.shape
        shape = tuple(image_shape) if image_shape is not None else _SQUARE_SHAPES.get(D)
        if shape is None or int(np.prod(shape)) != D:
            raise ValueError(f"plot_first_layer_weights: cannot show {D} inputs as an image; pass image_shape "
                             f"(e.g. (8, 8) for 64 inputs), got {image_shape!r}")
        filters = W.T.reshape((M,) + shape)
        if filters.ndim == 4 and filters.shape[1] not in (1, 3):
            raise ValueError(f"plot_first_layer_weights: 'image_shape' {shape} must be (H, W) or (C, H, W) "
                             "with C = 1 or 3")
    elif W.ndim == 4:
        if W.shape[1] not in (1, 3):
            raise ValueError(f"plot_first_layer_weights: conv filters must have 1 or 3 channels, got shape {W.shape}")
        filters = W
    else:
        raise ValueError(f"plot_first_layer_weights: 'W' must be (D, M) or (F, C, HH, WW), got shape {W.shape}")
    filters = filters[:max_filters]
    if filters.ndim == 4:                      # (F, C, H, W) -> (F, H, W, C); one channel -> grey
        filters = filters.transpose(0, 2, 3, 1)
        if filters.shape[-1] == 1:
            filters = filters[..., 0]
    F = filters.shape[0]
    lo = filters.reshape(F, -1).min(axis=1)
    hi = filters.reshape(F, -1).max(axis=1)
    scale = np.where(hi > lo, hi - lo, 1.0)
    expand = (slice(None),) + (None,) * (filters.ndim - 1)
    filters = (filters - lo[expand]) / scale[expand]
    mosaic = _tile(filters)
    fig = Figure(figsize=(6, 6), layout="constrained")
    ax = fig.subplots()
    ax.imshow(mosaic, cmap="gray" if mosaic.ndim == 2 else None, interpolation="nearest", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title(f"{title} ({F} units)")
    return fig


def _tile(images, pad: int = 1):
    """(F, H, W[, 3]) in [0, 1] -> one mosaic image with a grid of ceil(sqrt(F)) columns and padding."""
    F, H, Wd = images.shape[:3]
    cols = int(np.ceil(np.sqrt(F)))
    rows = int(np.ceil(F / cols))
    extra = images.shape[3:]
    grid = np.ones((rows * cols, H + pad, Wd + pad) + extra)
    grid[:F, :H, :Wd] = images
    grid = grid.reshape((rows, cols, H + pad, Wd + pad) + extra)
    grid = np.moveaxis(grid, 2, 1).reshape((rows * (H + pad), cols * (Wd + pad)) + extra)
    return grid[:-pad, :-pad] if pad else grid


def _is_history(x):
    """A trainer.History or its ``to_dict()`` form (as opposed to plain arrays / dicts of arrays)."""
    if isinstance(x, dict):
        return bool({"steps", "epochs", "monitors"} & set(x))
    return hasattr(x, "monitors") and hasattr(x, "epochs")


def _is_arraylike(x):
    return isinstance(x, (np.ndarray, list, tuple))
