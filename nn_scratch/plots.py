"""The babysitting figures: each function takes a History (or plain arrays) and returns a ``Figure``.

Figures are built on ``matplotlib.figure.Figure`` directly -- no pyplot state, nothing shown, nothing
leaked between calls -- so they work in scripts, notebooks and tests alike.  Save one with
``save_figure(fig, "loss.png")`` (written atomically).

=============================  =====================================================================
``plot_step_loss``             training (data) loss per step, linear and log axes, moving average; the
                               L2 penalty and the objective as their own series; flood level b
``plot_epoch_curves``          loss per epoch (epoch average vs end-of-epoch eval vs validation, penalty,
                               objective), and accuracy
``plot_learning_rate``         the learning rate per step
``plot_update_ratios``         update/weight ratio per parameter over time, with the ~1e-3 band
``plot_layer_histograms``      activation or gradient histograms per layer at a few points of training
``plot_first_layer_weights``   first-layer weights (or conv filters) as images, and their change
``plot_loss_heatmap``          per-sample loss distributions at log-spaced iterations, log colour
``plot_weight_distributions``  weight distributions per layer over training, same format
``plot_outlier_epochs``        how many epochs each sample was a Tukey outlier, and its final loss
``plot_lr_sweep``              loss curves for several learning rates side by side
``plot_step_size_sweep``       gradient-check error against the finite-difference step h
``plot_lr_range_test``         the learning-rate range test (``LRRangeResult.plot()`` draws this)
``plot_search``                score against one hyperparameter of a random search
=============================  =====================================================================

The visual standard (every function here follows it; ``tests/test_plots.py`` checks it on the figures)
------------------------------------------------------------------------------------------------------
1. **One series, one look.**  A quantity keeps its colour, line style and label in every panel of a
   figure and in every figure of a run (``SERIES`` below): the training loss is always blue, validation
   always orange, the L2 penalty green, the objective red, the flood level b a grey dotted line.
   "Training loss" always means the **data loss** (no penalty, not flooded); the penalty and the
   objective are drawn as their own, labelled series, never folded into it.
2. **Integer axes get integer ticks** (epochs, steps, counts of epochs); no "2.5 epochs".
3. **Every axis is labelled**, with its unit or scale ("loss (log scale)").
4. **Legends never cover data**: a figure's legend sits outside the axes (right of them, or below),
   one legend per figure when the panels share their series.
5. **A layout engine on every figure** (constrained layout), so no label is cut off.
6. **Comparisons share axes** where the comparison is the point (``share=True`` in
   ``plot_layer_histograms``; the linear/log loss panels share x).
7. **Reference bands and lines use colours no series uses** (the update-ratio band is light grey with a
   black target line; thresholds are grey).
8. **Say what was cut or left out**: values outside a clipped range are drawn at the edge and marked
   (search plots), summaries name what a plot omits (samples that were never outliers), titles count
   what they show correctly ("64 of 128 units").
"""
from __future__ import annotations

import os

import matplotlib
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from . import analysis
from .files import atomic_write
from .analysis import history_series, layer_snapshots, monitor_table, update_ratio_series

__all__ = ["save_figure", "history_series", "monitor_table", "update_ratio_series", "layer_snapshots",
           "SERIES", "plot_step_loss", "plot_epoch_curves", "plot_learning_rate", "plot_update_ratios",
           "plot_layer_histograms", "plot_first_layer_weights", "plot_loss_heatmap", "plot_weight_distributions",
           "plot_outlier_epochs", "plot_lr_sweep", "plot_step_size_sweep", "plot_lr_range_test", "plot_search"]

#: series name -> (label, colour, line style).  The same quantity looks the same in every figure.
SERIES = {
    "train": ("training loss", "C0", "-"),
    "train_avg": ("training loss, epoch average", "C0", "--"),
    "train_eval": ("training loss, end of epoch", "C0", "-"),
    "val": ("validation loss", "C1", "-"),
    "penalty": ("L2 penalty 0.5*reg*sum(W^2)", "C2", "-"),
    "objective": ("objective (what the optimizer minimizes)", "C3", ":"),
    "flood": ("flood level b", "0.45", ":"),
    "train_acc_avg": ("training accuracy, epoch average", "C0", "--"),
    "train_acc_eval": ("training accuracy, end of epoch", "C0", "-"),
    "val_acc": ("validation accuracy", "C1", "-"),
}
# colours for per-parameter / per-item series: the tab10 cycle without grey (C7), kept for reference marks
_ITEM_COLOURS = ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C8", "C9"]
_BAND = "0.85"            # reference bands: light grey, used by no series


def _style(key, **extra):
    label, colour, ls = SERIES[key]
    return dict(label=label, color=colour, ls=ls, **extra)


def _int_axis(axis):
    """Integer ticks on an axis that counts something (epochs, steps, epochs as outlier)."""
    axis.set_major_locator(MaxNLocator(integer=True))


def _legend_outside(fig, axes, **kw):
    """One legend for the whole figure, right of the axes (never over data); labels de-duplicated."""
    handles, labels, seen = [], [], set()
    for ax in np.atleast_1d(axes).ravel():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in seen and not lab.startswith("_"):
                seen.add(lab)
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize=kw.pop("fontsize", 8), **kw)


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
def _optional_series(history, level, key):
    try:
        return history_series(history, level, key)
    except KeyError:
        return None


def _flood_level(history):
    meta = history.get("meta", {}) if isinstance(history, dict) else getattr(history, "meta", {})
    return meta.get("flood_level")


def plot_step_loss(history, smooth_window=None, title="Training loss per step"):
    """Two axes: the training (data) loss per step on a linear and on a log y-axis, raw and smoothed.

    ``history``: a History, or a 1-D array of data losses.  ``smooth_window`` defaults to ~4% of the steps.
    The training loss is the batch's data loss (``history.steps["loss"]``: no penalty, not flooded).  When
    the run had an L2 penalty, its value per step is drawn as its own series, and the objective (data loss
    + penalty, flooded under Flooding) too, both smoothed the same way; under Flooding the flood level b is
    a horizontal line.  A hockey stick on the linear axis reads as a straight-ish line on the log axis; the
    spread of the raw line shows the batch noise.
    """
    extra, b = {}, None
    if _is_arraylike(history):
        y = np.asarray(history, dtype=np.float64)
        x = np.arange(1, y.size + 1)
    else:
        x, y = history_series(history, "step", "loss")
        pen = _optional_series(history, "step", "penalty")
        obj = _optional_series(history, "step", "objective")
        b = _flood_level(history)
        if pen is not None and np.nanmax(pen[1], initial=0.0) > 0:
            extra["penalty"] = pen
        if obj is not None and ("penalty" in extra or b is not None):
            extra["objective"] = obj
    w = smooth_window or max(1, y.size // 25)
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    label, colour, _ = SERIES["train"]
    for ax, scale in zip(axes, ("linear", "log")):
        ax.plot(x, y, lw=0.6, alpha=0.35, color=colour, label=f"{label}, each batch")
        ax.plot(x, analysis.smooth(y, w), lw=1.8, color=colour, label=f"{label}, moving average ({w} steps)")
        for key, (xs, ys) in extra.items():
            ax.plot(xs, analysis.smooth(ys, w), lw=1.4, **_style(key))
        if b is not None:
            ax.axhline(b, lw=1.2, **_style("flood"))
        ax.set_yscale(scale)
        ax.set_xlabel("step")
        _int_axis(ax.xaxis)
        ax.set_ylabel("loss" + (" (log scale)" if scale == "log" else ""))
        ax.set_title(f"{title} ({scale})")
    _legend_outside(fig, axes)
    return fig


def plot_epoch_curves(history, title=None):
    """Loss and accuracy per epoch.

    Left: the training (data) loss averaged over the epoch (dashed; measured on the fly with older weights,
    dropout on), the training loss re-measured at the end of the epoch in eval mode, and the validation
    loss -- the last two are the fair comparison; when the run had them, the epoch-averaged L2 penalty and
    objective as their own series, and the flood level b as a line.  Right: the same for accuracy (where
    recorded).  When the trainer re-measured a subset of the training set (its default for large sets),
    the legend says how many rows.  Epoch columns read: ``train_loss``, ``train_loss_eval``, ``val_loss``, ``train_penalty``,
    ``train_objective``, ``train_acc`` (if any), ``train_acc_eval``, ``val_acc``; missing ones are skipped.
    """
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2, sharex=True)
    b = _flood_level(history)
    loss_keys = [("train_loss", "train_avg"), ("train_loss_eval", "train_eval"), ("val_loss", "val")]
    pen = _optional_series(history, "epoch", "train_penalty")
    has_penalty = pen is not None and np.nanmax(pen[1], initial=0.0) > 0
    if has_penalty:
        loss_keys.append(("train_penalty", "penalty"))
    if has_penalty or b is not None:
        loss_keys.append(("train_objective", "objective"))
    acc_keys = [("train_acc", "train_acc_avg"), ("train_acc_eval", "train_acc_eval"), ("val_acc", "val_acc")]
    meta = history.get("meta", {}) if isinstance(history, dict) else (getattr(history, "meta", {}) or {})
    rows, n_train = meta.get("train_eval_rows"), meta.get("n_train")
    subset = f" ({rows} of {n_train} rows)" if rows and n_train and rows < n_train else ""
    for ax, keys, ylabel in ((ax_loss, loss_keys, "loss"), (ax_acc, acc_keys, "accuracy")):
        for key, series in keys:
            got = _optional_series(history, "epoch", key)
            if got is None or got[1].size == 0:
                continue
            style = _style(series)
            if key.endswith("_eval"):          # the trainer re-measured a subset of a large training set
                style["label"] += subset
            ax.plot(got[0], got[1], marker="o", ms=3, **style)
        if ax is ax_loss and b is not None:
            ax.axhline(b, lw=1.2, **_style("flood"))
        ax.set_xlabel("epoch")
        _int_axis(ax.xaxis)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{ylabel} per epoch" if title is None else f"{title}: {ylabel}")
    _legend_outside(fig, (ax_loss, ax_acc))
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
    ax.plot(x, y, color="C0")
    log = bool(np.all(y > 0))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    _int_axis(ax.xaxis)
    ax.set_ylabel("learning rate" + (" (log scale)" if log else ""))
    ax.set_title(title)
    return fig


def plot_update_ratios(history, target: float = 1e-3, factor: float = 10.0, title="Update / weight ratio"):
    """Per parameter, ``||lr * update|| / ||W||`` over steps on a log axis, with the line at ``target``
    and the band ``[target/factor, target*factor]`` shaded (light grey, black line: no series uses them).

    ``history``: a History (the ``"update_ratio"`` monitor table) or a dict ``{name: ratios}``
    (x = 0..n-1) or ``{name: (steps, ratios)}``.  Far above the band: learning rate too high; far below:
    too low.  Only weights are judged by the rule (``analysis.update_ratio_diagnosis``): biases start at
    zero, so their ratio is large at any rate; they are drawn thin and dashed, labelled "not judged".
    """
    if isinstance(history, dict) and history and not _is_history(history):
        series = {k: (v if isinstance(v, tuple) else (np.arange(len(v)), v)) for k, v in history.items()}
        weights = None
    else:
        series = update_ratio_series(history)
        meta = history.get("meta", {}) if isinstance(history, dict) else getattr(history, "meta", {})
        weights = meta.get("regularized")
    fig = Figure(figsize=(8.5, 4), layout="constrained")
    ax = fig.subplots()
    ax.axhspan(target / factor, target * factor, color=_BAND, alpha=0.6, lw=0,
               label=f"rule of thumb: {target / factor:g} to {target * factor:g}")
    ax.axhline(target, color="k", ls="--", lw=1, label=f"target {target:g}")
    for i, (name, (x, r)) in enumerate(series.items()):
        r = np.asarray(r, dtype=np.float64)
        is_weight = name in weights if weights is not None else analysis._is_weight(name)
        colour = _ITEM_COLOURS[i % len(_ITEM_COLOURS)]
        ax.plot(np.asarray(x), np.where(r > 0, r, np.nan), color=colour, lw=1.1 if is_weight else 0.7,
                ls="-" if is_weight else "--", label=name if is_weight else f"{name} (bias, not judged)")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    _int_axis(ax.xaxis)
    ax.set_ylabel("update norm / weight norm (log scale)")
    ax.set_title(title)
    _legend_outside(fig, ax)
    return fig


def plot_lr_sweep(results, title="Learning-rate sweep"):
    """Loss curves for several learning rates, and the final loss against the rate.

    ``results``: ``{lr: losses per step}``.  Too small a rate crawls, too large diverges or stalls high.
    """
    if not results:
        raise ValueError("plot_lr_sweep: 'results' is empty; pass {lr: losses}")
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    ax, ax_final = fig.subplots(1, 2)
    lrs = sorted(results)
    finals = []
    for i, lr in enumerate(lrs):
        y = np.asarray(results[lr], dtype=np.float64)
        colour = _ITEM_COLOURS[i % len(_ITEM_COLOURS)]
        ax.plot(np.arange(1, y.size + 1), y, lw=1, color=colour, label=f"lr={lr:.3g}")
        finite = y[np.isfinite(y)]
        finals.append(finite[-max(1, finite.size // 10):].mean() if finite.size == y.size else np.nan)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    _int_axis(ax.xaxis)
    ax.set_ylabel("training loss (log scale)")
    ax.set_title(title)
    ax_final.plot(lrs, finals, "-", color="0.5", lw=1, zorder=0)
    for i, (lr, final) in enumerate(zip(lrs, finals)):          # each rate's dot in its curve's colour
        ax_final.plot([lr], [final], "o", color=_ITEM_COLOURS[i % len(_ITEM_COLOURS)])
    ax_final.set_xscale("log")
    ax_final.set_xlabel("learning rate (log scale)")
    ax_final.set_ylabel("final loss (diverged runs omitted)")
    ax_final.set_title("final loss vs learning rate")
    _legend_outside(fig, ax)
    return fig


def plot_step_size_sweep(*sweeps, title=None, ax=None):
    """The gradient checker's step-size sweep (``gradcheck.step_size_sweep`` results): relative error of the
    centered difference against h on log-log axes -- truncation error on the right, rounding on the left --
    with the checker's three thresholds as grey lines.  Draws onto ``ax`` when given (its figure is
    returned), else onto a new Figure.  ``gradcheck.plot_step_size_sweep`` is this function."""
    from .gradcheck import SMOOTH, SUSPICIOUS, WRONG, StepSizeSweep
    if not sweeps or not all(isinstance(s, StepSizeSweep) for s in sweeps):
        raise TypeError("plot_step_size_sweep: pass one or more StepSizeSweep results")
    if ax is None:
        fig = Figure(figsize=(7.5, 3.8), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    for i, s in enumerate(sweeps):
        ok = np.isfinite(s.error) & (s.error > 0)
        ax.loglog(s.h[ok], s.error[ok], "o-", ms=3, color=_ITEM_COLOURS[i % len(_ITEM_COLOURS)],
                  label=f"{s.dtype} (best h = {s.best_h:.0e})")
    for level, style, what in ((WRONG, ":", "wrong above"), (SUSPICIOUS, "--", "suspicious above"),
                               (SMOOTH, "-.", "smooth: pass below")):
        ax.axhline(level, color="0.45", lw=0.8, ls=style, label=f"{what} {level:g}")
    ax.set_xlabel("step h (log scale)")
    ax.set_ylabel("max relative error (log scale)")
    ax.set_title(title or "Centered difference: truncation vs rounding")
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("constrained")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return fig


def plot_lr_range_test(result, title=None, ax=None):
    """The learning-rate range test (``lr_finder.lr_range_test``'s result): raw and smoothed loss against the
    rate on a log axis, the suggestion marked, the blow-up clipped so the useful part stays readable.
    Draws onto ``ax`` when given, else a new Figure; ``LRRangeResult.plot()`` and
    ``lr_finder.plot_lr_range_test`` call this function."""
    if ax is None:
        fig = Figure(figsize=(7.5, 4), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
        if fig.get_layout_engine() is None:
            fig.set_layout_engine("constrained")
    lrs, losses, smoothed = (np.asarray(a, dtype=np.float64) for a in (result.lrs, result.losses, result.smoothed))
    ax.plot(lrs, losses, color="C0", alpha=0.35, lw=1, label="training loss, each batch")
    ax.plot(lrs, smoothed, color="C0", lw=2, label="training loss, smoothed")
    if np.isfinite(result.suggested_lr):
        ax.axvline(result.suggested_lr, color="k", ls="--", lw=1, label=f"suggested {result.suggested_lr:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss")
    finite = losses[np.isfinite(losses)]
    if smoothed.size > 1 and finite.size:          # clip the blow-up so the useful part stays readable
        bottom = float(finite.min())
        top = min(float(finite.max()), float(smoothed[0]) + 2 * abs(float(smoothed[0]) - bottom))
        if top > bottom:
            pad = 0.05 * (top - bottom)
            ax.set_ylim(bottom - pad, top + pad)
            if finite.max() > top + pad:
                ax.set_ylabel("loss (clipped: the blow-up runs off the top)")
    ax.set_title(title or ("LR range test" + (" (stopped at divergence)" if result.diverged else "")))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return fig


def plot_search(result, param: str, title=None, logy=None):
    """Score against the value of ``param`` for every trial of a random search (``search.SearchResult``).

    Log x-axis for LogUniform, one colour per stage, the best trial starred, the searched range dashed
    with its border zones shaded.  The y-axis keeps the useful range: trials whose score is far above the
    rest (above ``Q3 + 3 IQR`` of the scores, on a log scale when they are positive -- an exploding
    learning rate) are drawn as triangles on the top edge, and failed trials (an error, NaN or inf) as
    red crosses on the top edge; the legend counts both.  ``logy``: log y-axis; by default when the kept
    scores are positive and span more than a factor 100.  Returns a ``Figure``.
    ``search.plot_search`` is this function.
    """
    from .search import Choice, IntUniform, SearchResult, Uniform
    if not isinstance(result, SearchResult):
        raise TypeError(f"plot_search: 'result' must be a SearchResult, got {type(result).__name__}")
    if param not in result.space:
        raise ValueError(f"plot_search: 'param' must be one of {sorted(result.space)}, got {param!r}")
    d = result.space[param]
    fig = Figure(figsize=(7.5, 4), layout="constrained")
    ax = fig.add_subplot()
    categorical = isinstance(d, Choice)

    def xs(trials):
        v = [t.params[param] for t in trials]
        return [d.options.index(x) for x in v] if categorical else v

    sc = result.scores()
    cap = np.inf
    if sc.size >= 4:
        t = np.log10(sc) if sc.min() > 0 else sc
        q1, q3 = np.quantile(t, [0.25, 0.75])
        fence = q3 + 3 * max(q3 - q1, 1e-12)
        cap = float(10 ** fence) if sc.min() > 0 else float(fence)
    kept = [t for t in result.ok if t.score <= cap]
    exploded = [t for t in result.ok if t.score > cap]
    for s, stage in enumerate(result.stages):
        ok = [t for t in stage.ok if t.score <= cap]
        if ok:
            ax.scatter(xs(ok), [t.score for t in ok], s=22, alpha=0.8, color=_ITEM_COLOURS[s % len(_ITEM_COLOURS)],
                       label=f"stage {s} ({len(ok)})" if len(result.stages) > 1 else f"trials ({len(ok)})")
    if result.ok:
        b = result.best
        ax.scatter(xs([b]), [b.score], marker="*", s=220, c="gold", edgecolors="k", zorder=5,
                   label=f"best {b.score:.4g}")
    kept_scores = np.array([t.score for t in kept]) if kept else np.array([1.0])
    if logy is None:
        logy = kept_scores.min() > 0 and kept_scores.max() > 100 * kept_scores.min()
    if logy:
        ax.set_yscale("log")
    if exploded or result.failed:
        lo, hi = float(kept_scores.min()), float(kept_scores.max())
        top = hi * (hi / lo) ** 0.12 if logy and lo > 0 else hi + 0.12 * max(hi - lo, abs(hi) * 0.1, 1e-12)
        bottom = lo / (hi / lo) ** 0.05 if logy and lo > 0 else lo - 0.05 * max(hi - lo, abs(lo) * 0.1, 1e-12)
        ax.set_ylim(bottom, top)
        if exploded:
            ax.scatter(xs(exploded), [top] * len(exploded), marker="^", c="k", clip_on=False, zorder=6,
                       label=f"exploded, score > {cap:.3g} ({len(exploded)}; at the top edge)")
        if result.failed:
            ax.scatter(xs(result.failed), [top] * len(result.failed), marker="x", c="red", clip_on=False,
                       zorder=6, label=f"failed ({len(result.failed)}; at the top edge)")
    if isinstance(d, (Uniform, IntUniform)):
        for edge in d.bounds:
            ax.axvline(edge, ls="--", c="0.45", lw=1)
        if isinstance(d, Uniform) and result.border > 0:
            for u0, u1 in ((0, result.border), (1 - result.border, 1)):
                ax.axvspan(float(d._from_unit(u0)), float(d._from_unit(u1)), color=_BAND, alpha=0.6, lw=0)
    if isinstance(d, Uniform) and d.log:
        ax.set_xscale("log")
    if isinstance(d, IntUniform):
        _int_axis(ax.xaxis)
    if categorical:
        ax.set_xticks(range(len(d.options)), [str(o) for o in d.options])
    ax.set_xlabel(param + (" (log scale)" if getattr(d, "log", False) else ""))
    ax.set_ylabel("score (lower is better)" + (" (log scale)" if logy else ""))
    ax.set_title(title or f"Random search: score vs {param}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return fig


# -- distributions ----------------------------------------------------------------------------------------------
def plot_layer_histograms(snapshots, bins: int = 40, title="Activations", xlabel="value", log_counts=False,
                          key: str = "activations", part: str = "layers", num: int = 4, share: bool = False):
    """One axes per layer, overlaying the histogram of that layer's values at a few points of training.

    ``snapshots``: ``{layer_name: {step: values}}`` where values is an array of raw values or a
    ``(counts, edges)`` pair already binned -- or a History, read through ``layer_snapshots(history, key,
    part, num)`` (``key="gradients"`` for the GradientStats monitor).  Healthy tanh activations spread over
    [-1, 1]; all near 0 or all at +-1 means a bad initialization; a ReLU layer that is all zeros is dead.
    Each step keeps one colour in every panel, and one legend serves the figure.  ``share=True`` gives all
    panels the same x and y axes -- use it when the panels are to be compared with each other (e.g.
    activations shrinking from layer to layer), since each panel otherwise scales itself.
    """
    if _is_history(snapshots):
        snapshots = layer_snapshots(snapshots, key, part, num)
    if not snapshots:
        raise ValueError("plot_layer_histograms: 'snapshots' is empty; pass {layer: {step: values}}")
    n = len(snapshots)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig = Figure(figsize=(3.2 * cols + 1.6, 2.9 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=share, sharey=share, squeeze=False)).ravel()
    for ax in axes[n:]:
        fig.delaxes(ax)
    all_steps = sorted({int(st) for by_step in snapshots.values() for st in by_step})
    colour = {st: _ITEM_COLOURS[i % len(_ITEM_COLOURS)] for i, st in enumerate(all_steps)}
    for ax, (layer, by_step) in zip(axes, snapshots.items()):
        for step in sorted(by_step):
            v = by_step[step]
            if isinstance(v, tuple) and len(v) == 2:
                counts, edges = (np.asarray(a, dtype=np.float64) for a in v)
            else:
                v = np.asarray(v, dtype=np.float64).ravel()
                counts, edges = np.histogram(v[np.isfinite(v)], bins=bins)
            ax.stairs(counts, edges, color=colour[int(step)], label=f"step {step}")
        if log_counts:
            ax.set_yscale("log")
        ax.set_title(f"{title}: {layer}", fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count" + (" (log scale)" if log_counts else ""))
    _legend_outside(fig, axes[:n])
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
        ax.set_ylabel("per-sample loss (log scale)")
        ax.set_xlabel("iteration (log-spaced snapshots)")
        ax.set_title(f"{title}{': ' + name if name else ''}", fontsize=10)
        fig.colorbar(mesh, ax=ax, label="samples (log scale)")
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
        ax.set_xlabel("iteration (snapshots)")
        ax.set_title(f"{title}: {layer}", fontsize=10)
        fig.colorbar(mesh, ax=ax, label="weights (log scale)")
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


def plot_outlier_epochs(L, k: float = 1.5, title="Tukey outliers per sample", unit="snapshots", log=False):
    """For every sample that was ever an outlier (loss above the upper Tukey fence at a snapshot): how many
    snapshots it was one (blue dots, left axis) and its final loss (red squares, right axis, log), samples
    sorted by that count.  The samples that were never outliers are summarized in the title (how many, and
    the median and maximum of their final loss), and the title says which fence was used and what
    fraction of samples it flags at the last snapshot and ever.

    ``L`` is the (N, T) per-sample loss matrix, typically one column per epoch on the validation set
    (then pass ``unit="epochs"``).  ``log=False``: the fence Q3 + k IQR on the raw loss (Venter et al.
    2021); ``log=True``: on the log loss (``analysis.tukey_fences``).
    """
    L = np.asarray(L, dtype=np.float64)
    count, _ = analysis.outlier_epochs(L, k, log=log)
    last = analysis.outlier_mask(L[:, -1:], k, log=log)[:, 0]
    idx = np.flatnonzero(count > 0)
    idx = idx[np.argsort(count[idx], kind="stable")]
    never = np.flatnonzero(count == 0)
    N = L.shape[0]
    fence = f"Q3 + {k:g} IQR of {'log loss' if log else 'the raw loss'}"
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(1, idx.size + 1)
    ax.plot(x, count[idx], "o", ms=3, color="C0", label=f"{unit} as outlier (left axis)")
    ax.set_xlabel(f"samples that were ever outliers ({idx.size} of {N}), sorted by {unit} as outlier")
    _int_axis(ax.xaxis)
    _int_axis(ax.yaxis)
    ax.set_ylabel(f"{unit} as outlier", color="C0")
    ax.set_ylim(0, max(1, L.shape[1]) + 0.5)
    summary = f"never outliers: {never.size} of {N}"
    if never.size:
        fn = L[never, -1]
        summary += f", final loss median {np.median(fn):.2g}, max {np.max(fn):.2g}"
    ax.set_title(f"{title}\nfence {fence}: {last.sum()} of {N} ({100 * last.mean():.0f}%) flagged at the last "
                 f"{unit[:-1] if unit.endswith('s') else unit}, {idx.size} ({100 * idx.size / N:.0f}%) ever\n"
                 f"{summary}", fontsize=9)
    ax2 = ax.twinx()
    final = L[idx, -1]
    ax2.plot(x, np.where(final > 0, final, np.nan), "s", ms=3, color="C3", label="final loss (right axis)")
    if np.any(final > 0):
        ax2.set_yscale("log")
    ax2.set_ylabel("final loss (log scale)", color="C3")
    _legend_outside(fig, (ax, ax2))
    return fig


# -- first-layer weights -----------------------------------------------------------------------------------------
_SQUARE_SHAPES = {64: (8, 8), 784: (28, 28), 1024: (32, 32), 3072: (3, 32, 32)}


def plot_first_layer_weights(W, image_shape=None, max_filters: int = 64, title="First-layer weights",
                             initial=None):
    """Show each first-layer unit's weights as a small image, tiled into one mosaic, with a colour bar.

    ``W``: a Linear weight (D, M) -- column m is unit m's template over the D inputs -- or conv filters
    (F, C, HH, WW).  For Linear, ``image_shape`` defaults to 8x8 (D=64, digits), 28x28 (D=784, MNIST),
    3x32x32 (D=3072, CIFAR-10, channel first).  The title counts the units shown out of all of them.

    One-channel weights share one symmetric colour scale (blue negative, white zero, red positive) so
    units can be compared and the colour bar reads in weight units.  ``initial`` (the same layer's weights
    before training) adds a second panel with the *change* ``W - initial``: on small inputs such as the 8x8
    digits the trained weights still look like their random start, and only the change shows what was
    learned.  Three-channel (RGB) filters are scaled each to its own range (no common colour bar is
    possible); the title says so.
    """
    W = np.asarray(W, dtype=np.float64)
    panels = [("weights", W)]
    if initial is not None:
        W0 = np.asarray(initial, dtype=np.float64)
        if W0.shape != W.shape:
            raise ValueError(f"plot_first_layer_weights: 'initial' must have the shape of W {W.shape}, got {W0.shape}")
        panels.append(("change from the initial weights", W - W0))
    filters_list = [(name, _as_filters(A, image_shape)) for name, A in panels]
    total = filters_list[0][1].shape[0]
    shown = min(total, max_filters)
    rgb = filters_list[0][1].ndim == 4 and filters_list[0][1].shape[-1] == 3
    fig = Figure(figsize=(5.6 * len(panels) + 0.8, 5.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (name, filters) in zip(axes, filters_list):
        filters = filters[:shown]
        if rgb:
            F = filters.shape[0]
            lo = filters.reshape(F, -1).min(axis=1)
            hi = filters.reshape(F, -1).max(axis=1)
            scale = np.where(hi > lo, hi - lo, 1.0)
            expand = (slice(None),) + (None,) * (filters.ndim - 1)
            ax.imshow(_tile((filters - lo[expand]) / scale[expand]), interpolation="nearest", vmin=0, vmax=1)
            ax.set_title(f"{name} (each filter scaled to its own range)", fontsize=10)
        else:
            m = float(np.max(np.abs(filters))) or 1.0
            mosaic = _tile(filters, fill=np.nan)
            cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.25")     # dark gaps between tiles
            img = ax.imshow(mosaic, cmap=cmap, vmin=-m, vmax=m, interpolation="nearest")
            fig.colorbar(img, ax=ax, shrink=0.8, label="weight value" if name == "weights" else "change in weight")
            ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("one tile per unit: its weight on each input pixel")
        ax.set_ylabel(f"{shown} units, row by row")
    fig.suptitle(f"{title}: {shown} of {total} units" if shown < total else f"{title}: all {total} units")
    return fig


def _as_filters(W, image_shape):
    """(F, H, W) or (F, H, W, 3) images from a Linear weight (D, M) or conv filters (F, C, HH, WW)."""
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
    if filters.ndim == 4:                      # (F, C, H, W) -> (F, H, W, C); one channel -> grey
        filters = filters.transpose(0, 2, 3, 1)
        if filters.shape[-1] == 1:
            filters = filters[..., 0]
    return filters


def _tile(images, pad: int = 1, fill=1.0):
    """(F, H, W[, 3]) -> one mosaic image with a grid of ceil(sqrt(F)) columns, ``fill`` between tiles."""
    F, H, Wd = images.shape[:3]
    cols = int(np.ceil(np.sqrt(F)))
    rows = int(np.ceil(F / cols))
    extra = images.shape[3:]
    grid = np.full((rows * cols, H + pad, Wd + pad) + extra, fill)
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
