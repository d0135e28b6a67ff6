"""What to compute from a training record: loss distributions, Tukey outliers, update ratios, a diagnosis.

The average validation loss is one number per epoch; the per-sample losses behind it are a whole
distribution.  Following Venter, Theunissen & Davel (2021), most samples' losses keep falling while a
few grow without bound, and those few can push the *mean* up while accuracy holds.  The tools here make
that visible:

* ``loss_matrix``            -- stack per-sample loss snapshots into L of shape (N samples, T checkpoints)
* ``history_loss_matrix``    -- the same from a History's ``PerSampleLoss`` monitor
* ``log_spaced_steps``       -- which iterations to snapshot (many early, few late)
* ``histogram_matrix``       -- counts (bins, T) of any (N, T) matrix, the data of a distribution heatmap
* ``tukey_fences`` / ``outlier_mask`` -- per checkpoint, outliers are losses above Q3 + 1.5 (Q3 - Q1)
* ``outlier_epochs``         -- per sample, at how many checkpoints it was an outlier, and the longest run
* ``loss_quantiles``         -- summary quantiles per checkpoint
* ``rising_loss_holding_accuracy`` -- the epoch range where validation loss rises but accuracy holds
* ``update_ratio_diagnosis`` -- update/weight ratio per parameter vs the ~1e-3 rule of thumb
* ``diagnose``               -- plain-language findings from a History (or from arrays)
* ``history_series`` / ``monitor_table`` / ``update_ratio_series`` / ``layer_snapshots`` -- read a
  ``trainer.History`` (or its ``to_dict()``) into arrays

Everything is NumPy over whole arrays; no loop runs over samples.

Example: five samples, four checkpoints; sample 0 stays far above the rest for three of them::

    >>> import numpy as np
    >>> L = np.tile(np.arange(1.0, 6.0)[:, None], (1, 4))       # losses 1..5 at every checkpoint
    >>> L[0, [0, 1, 3]] = 100.0
    >>> tukey_fences(L)[1].tolist()                              # Q3 + 1.5 IQR = 5 + 1.5 * 2
    [8.0, 8.0, 7.0, 8.0]
    >>> count, longest = outlier_epochs(L)
    >>> count.tolist(), longest.tolist()
    ([3, 0, 0, 0, 0], [2, 0, 0, 0, 0])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import check_int, check_number

__all__ = ["history_series", "monitor_table", "update_ratio_series", "layer_snapshots", "loss_matrix",
           "history_loss_matrix", "log_spaced_steps", "histogram_matrix", "tukey_fences", "outlier_mask",
           "outlier_epochs", "loss_quantiles", "RisingLoss", "rising_loss_holding_accuracy",
           "update_ratio_diagnosis", "smooth", "diagnose", "diagnose_arrays"]


# -- per-sample loss matrices ----------------------------------------------------------------------------
def loss_matrix(snapshots):
    """Stack per-sample loss snapshots into a matrix.

    ``snapshots`` is a list of (N,) arrays (one per checkpoint) or a dict ``{step: (N,) array}``.
    Returns ``(L, steps)``: L of shape (N, T) with one column per checkpoint, and steps (T,) -- the dict's
    keys in increasing order, or 0..T-1 for a list.
    """
    if isinstance(snapshots, dict):
        steps = np.array(sorted(snapshots), dtype=np.int64)
        columns = [np.asarray(snapshots[s], dtype=np.float64) for s in steps]
    else:
        columns = [np.asarray(s, dtype=np.float64) for s in snapshots]
        steps = np.arange(len(columns), dtype=np.int64)
    if not columns:
        raise ValueError("loss_matrix: 'snapshots' is empty; record at least one checkpoint")
    shapes = {c.shape for c in columns}
    if len(shapes) != 1 or columns[0].ndim != 1:
        raise ValueError(f"loss_matrix: every snapshot must be a 1-D array of the same length, got shapes "
                         f"{sorted(shapes)}")
    return np.stack(columns, axis=1), steps


def history_loss_matrix(history, key: str = "per_sample_loss"):
    """``(L (N, T), steps (T,))`` from a History's ``PerSampleLoss`` monitor table ``key``."""
    tables = _monitors(history)
    if key not in tables or not tables[key]["step"]:
        raise KeyError(f"no per-sample losses recorded under {key!r}; add monitors.PerSampleLoss to the Trainer")
    t = tables[key]
    return np.asarray(t["losses"], dtype=np.float64).T, np.asarray(t["step"], dtype=np.int64)


def log_spaced_steps(total_steps: int, num: int = 20):
    """Up to ``num`` distinct iterations in [0, total_steps], log-spaced, always including 0 and the last.

    Many changes happen early (even inside the first epoch), so snapshots are dense at the start::

        >>> log_spaced_steps(1000, 5).tolist()
        [0, 1, 10, 100, 1000]
    """
    if not isinstance(total_steps, (int, np.integer)) or total_steps < 0:
        raise ValueError(f"log_spaced_steps: 'total_steps' must be an integer >= 0, got {total_steps!r}")
    if not isinstance(num, (int, np.integer)) or num < 2:
        raise ValueError(f"log_spaced_steps: 'num' must be an integer >= 2, got {num!r}")
    if total_steps == 0:
        return np.array([0], dtype=np.int64)
    rest = np.rint(np.geomspace(1, total_steps, num - 1)).astype(np.int64)
    return np.unique(np.concatenate([[0], rest]))


def histogram_matrix(L, bins=30, log=False, value_range=None):
    """Histogram each column of ``L`` (N, T) on shared bins: returns ``(counts (bins, T), edges (bins+1,))``.

    ``log=True`` spaces the bins logarithmically (for losses, which span decades); zero and negative values
    are then clipped to the smallest positive value.  This is the data behind a distribution heatmap.
    """
    check_int("bins", bins, minimum=1, who="histogram_matrix")
    L = np.asarray(L, dtype=np.float64)
    if L.ndim != 2 or L.size == 0:
        raise ValueError(f"histogram_matrix: 'L' must be a non-empty (N, T) array, got shape {L.shape}")
    finite = L[np.isfinite(L)]
    if finite.size == 0:
        raise ValueError("histogram_matrix: 'L' holds no finite values")
    if log:
        positive = finite[finite > 0]
        floor = positive.min() if positive.size else 1e-12
        L = np.maximum(L, floor)
        lo, hi = value_range if value_range is not None else (floor, max(L[np.isfinite(L)].max(), floor * 10))
        edges = np.geomspace(lo, hi, bins + 1)
    else:
        lo, hi = value_range if value_range is not None else (finite.min(), finite.max())
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, bins + 1)
    # bin index of every entry (values outside the range go to the end bins), then one bincount
    idx = np.clip(np.searchsorted(edges, L, side="right") - 1, 0, bins - 1)
    T = L.shape[1]
    flat = (idx * T + np.arange(T)[None, :])[np.isfinite(L)]
    counts = np.bincount(flat, minlength=bins * T).reshape(bins, T)
    return counts, edges


# -- Tukey outliers ------------------------------------------------------------------------------------------
def tukey_fences(L, k: float = 1.5):
    """Lower and upper Tukey fences per checkpoint (column) of ``L`` (N, T).

    ``upper = Q3 + k (Q3 - Q1)`` and ``lower = Q1 - k (Q3 - Q1)``, quartiles by linear interpolation
    (``numpy.quantile``'s default).  A 1-D input is treated as one checkpoint.  Returns two (T,) arrays.
    """
    L = _as_matrix(L, "tukey_fences")
    check_number("k", k, who="tukey_fences", low=0)
    q1, q3 = np.quantile(L, [0.25, 0.75], axis=0)
    iqr = q3 - q1
    return q1 - k * iqr, q3 + k * iqr


def outlier_mask(L, k: float = 1.5):
    """Boolean (N, T): True where a sample's loss is above its checkpoint's upper fence Q3 + k IQR."""
    L = _as_matrix(L, "outlier_mask")
    _, upper = tukey_fences(L, k)
    return L > upper[None, :]


def outlier_epochs(L, k: float = 1.5):
    """For each sample, how long it stays an outlier: returns ``(count (N,), longest_run (N,))``.

    ``count`` is the number of checkpoints (epochs, when one column per epoch) at which the sample is
    above the upper fence; ``longest_run`` the longest stretch of consecutive such checkpoints.
    """
    mask = outlier_mask(L, k)
    count = mask.sum(axis=1)
    # running count c, minus its value at the most recent non-outlier checkpoint = current run length
    c = np.cumsum(mask, axis=1)
    last_reset = np.maximum.accumulate(np.where(mask, 0, c), axis=1)
    longest = (c - last_reset).max(axis=1)
    return count, longest


def loss_quantiles(L, q=(0.05, 0.25, 0.5, 0.75, 0.95)):
    """Quantiles of each checkpoint's losses: array (len(q), T), rows in the order of ``q``."""
    L = _as_matrix(L, "loss_quantiles")
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 1 or np.any((q < 0) | (q > 1)):
        raise ValueError(f"loss_quantiles: 'q' must be a 1-D sequence of values in [0, 1], got {q!r}")
    return np.quantile(L, q, axis=0)


def _as_matrix(L, who):
    L = np.asarray(L, dtype=np.float64)
    if L.ndim == 1:
        L = L[:, None]
    if L.ndim != 2 or L.shape[0] == 0:
        raise ValueError(f"{who}: 'L' must be an (N samples, T checkpoints) array with N >= 1, got shape "
                         f"{L.shape}")
    return L


# -- loss rising while accuracy holds -------------------------------------------------------------------------
@dataclass
class RisingLoss:
    """An epoch range ``[start, end]`` (indices into the arrays, or epoch numbers if given) in which the
    validation loss rose from its minimum by ``loss_rise`` (relative) while accuracy fell by at most
    ``tolerance`` (``acc_change`` = accuracy at end minus at start, so ``acc_change >= -tolerance``)."""
    start: int
    end: int
    loss_rise: float
    acc_change: float

    def __str__(self):
        return (f"validation loss rose {100 * self.loss_rise:.0f}% from epoch {self.start} to {self.end} "
                f"while validation accuracy changed by {100 * self.acc_change:+.1f} points")


def rising_loss_holding_accuracy(val_loss, val_acc, epochs=None, tolerance: float = 0.01,
                                 min_rise: float = 0.05, min_epochs: int = 2):
    """Find where validation loss rises while validation accuracy holds (or improves).

    Start at the epoch of minimal validation loss; extend while accuracy stays at least
    ``acc[start] - tolerance``.  Within that stretch the end is the epoch of highest loss.  The range counts
    when it spans at least ``min_epochs`` epochs and the loss rose by at least ``min_rise`` (relative).
    Returns a ``RisingLoss`` or None.  ``epochs`` (optional) maps array positions to epoch numbers.
    """
    loss = np.asarray(val_loss, dtype=np.float64)
    acc = np.asarray(val_acc, dtype=np.float64)
    if loss.ndim != 1 or loss.shape != acc.shape:
        raise ValueError(f"rising_loss_holding_accuracy: 'val_loss' and 'val_acc' must be 1-D arrays of the "
                         f"same length, got shapes {loss.shape} and {acc.shape}")
    if loss.size < 2 or not np.all(np.isfinite(loss)):
        return None
    start = int(np.argmin(loss))
    holding = acc[start:] >= acc[start] - tolerance
    # length of the leading run of True in holding (it always starts True)
    run = int(np.argmin(holding)) if not holding.all() else holding.size
    stretch = loss[start:start + run]
    end = start + int(np.argmax(stretch))
    rise = (loss[end] - loss[start]) / max(abs(loss[start]), 1e-12)
    if end - start < min_epochs or rise < min_rise:
        return None
    ep = np.arange(loss.size) if epochs is None else np.asarray(epochs)
    return RisingLoss(int(ep[start]), int(ep[end]), float(rise), float(acc[end] - acc[start]))


# -- update / weight ratios ------------------------------------------------------------------------------------
def update_ratio_diagnosis(ratios, target: float = 1e-3, factor: float = 10.0, skip: float = 0.1):
    """Judge each parameter's update/weight ratio against the rule of thumb (~``target``).

    ``ratios`` is a dict ``{name: array of ratios over steps}``.  The first ``skip`` fraction of steps is
    ignored (the start is unrepresentative); the median of the rest is compared with
    ``[target / factor, target * factor]``.  Returns ``{name: (verdict, median)}`` with verdict one of
    ``"too low"`` (learning rate probably too low), ``"ok"``, ``"too high"`` (probably too high).
    """
    if not target > 0 or not factor >= 1:
        raise ValueError(f"update_ratio_diagnosis: need target > 0 and factor >= 1, got {target!r}, {factor!r}")
    out = {}
    for name, r in ratios.items():
        r = np.asarray(r, dtype=np.float64).ravel()
        r = r[int(skip * r.size):]
        r = r[np.isfinite(r)]
        if r.size == 0:
            continue
        med = float(np.median(r))
        verdict = "too low" if med < target / factor else "too high" if med > target * factor else "ok"
        out[name] = (verdict, med)
    return out


def smooth(x, window: int):
    """Moving average of ``x`` over ``window`` points (shorter at the start), via a cumulative sum."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x
    window = max(1, int(window))
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(1, x.size + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)


# -- reading a History ------------------------------------------------------------------------------------------
def history_series(history, level: str, key: str):
    """``(x, y)`` arrays of one recorded quantity: ``level`` is ``"step"`` or ``"epoch"``.

    ``history`` is a ``trainer.History`` or a plain dict ``{"step": {key: list}, "epoch": {key: list}}``
    (x is then ``"step"`` / ``"epoch"`` of that dict, else 0..n-1).  Entries that are None or NaN (not
    measured at that step or epoch) are dropped.  Raises KeyError when the quantity was not recorded.
    """
    if level not in ("step", "epoch"):
        raise ValueError(f"history_series: 'level' must be 'step' or 'epoch', got {level!r}")
    table = _table(history, level)
    if key not in table:
        raise KeyError(f"{key!r} was not recorded per {level}; recorded: {sorted(table)}")
    y = np.array([np.nan if v is None else v for v in table[key]], dtype=np.float64)
    start = 1 if level == "epoch" else 0
    x = np.asarray(table.get(level, range(start, start + y.size)), dtype=np.float64)
    keep = ~np.isnan(y)
    return x[keep], y[keep]


def _table(history, level):
    """The column table ``{key: list}`` of a History or dict at ``level``."""
    plural = level + "s"
    if isinstance(history, dict):
        return history.get(level, history.get(plural, {}))
    table = getattr(history, plural, None)
    if not isinstance(table, dict):
        raise TypeError(f"expected a History or a dict of '{level}' columns, got {type(history).__name__}")
    return table


def monitor_table(history, key: str) -> dict:
    """The monitor table ``history.monitors[key]`` (``{column: list}``; see ``nn_scratch.monitors``)."""
    tables = _monitors(history)
    if key not in tables:
        raise KeyError(f"monitor {key!r} was not recorded; recorded: {sorted(tables)}")
    return tables[key]


def _monitors(history) -> dict:
    return history.get("monitors", {}) if isinstance(history, dict) else getattr(history, "monitors", {})


def update_ratio_series(history, key: str = "update_ratio"):
    """``{param_name: (steps, ratios)}`` from the ``UpdateRatio`` monitor's table."""
    t = monitor_table(history, key)
    steps = np.asarray(t["step"], dtype=np.float64)
    return {name: (steps, np.asarray(col, dtype=np.float64)) for name, col in t.items()
            if name not in ("step", "epoch")}


def layer_snapshots(history, key: str = "activations", part: str = "layers", num: int = 4):
    """``{layer: {step: (counts, edges)}}`` at up to ``num`` records (first, last, evenly between) of an
    ``ActivationStats`` / ``GradientStats`` table; ``part`` is ``"layers"`` or (gradients) ``"params"``."""
    t = monitor_table(history, key)
    n = len(t["step"])
    if n == 0:
        raise KeyError(f"monitor {key!r} holds no records")
    picks = np.unique(np.rint(np.linspace(0, n - 1, min(num, n))).astype(int))
    out = {}
    for i in picks:
        for d in t[part][i]:
            label = d["name"] + (f" ({d['type']})" if "type" in d else "")
            out.setdefault(label, {})[int(t["step"][i])] = (np.asarray(d["hist"]), np.asarray(d["edges"]))
    return out


# -- diagnosis --------------------------------------------------------------------------------------------------
def diagnose_arrays(step_loss=None, train_loss=None, val_loss=None, train_acc=None, val_acc=None,
                    update_ratios=None, epoch_avg_loss=None, epochs=None, gap: float = 0.05):
    """Plain-language findings from training curves; each argument optional.  Returns a list of strings.

    * ``step_loss``: batch loss per step -- divergence (NaN/inf or ending above the start: lr too high),
      barely moving (lr too low), a fast drop to a noisy plateau (lr a little high, or batch too small);
    * ``train_loss`` / ``train_acc``: end-of-epoch training loss / accuracy in eval mode (the fair
      comparison); ``val_loss`` / ``val_acc``: validation; an accuracy gap above ``gap`` is overfitting;
    * ``epoch_avg_loss``: epoch-averaged training loss, to explain a training loss above validation;
    * ``epochs``: the epoch numbers of ``val_loss`` / ``val_acc`` (default 0, 1, ...);
    * ``update_ratios``: ``{name: ratios}`` judged by ``update_ratio_diagnosis``.
    """
    check_number("gap", gap, who="diagnose_arrays", low=0, high=1)
    findings = []
    if step_loss is not None and len(step_loss) >= 2:
        s = np.asarray(step_loss, dtype=np.float64)
        if not np.all(np.isfinite(s)):
            findings.append(f"the loss became NaN/inf at step {int(np.argmin(np.isfinite(s)))}: the learning "
                            "rate is far too high (or the data holds NaN)")
        else:
            w = max(1, s.size // 20)
            sm = smooth(s, w)
            first = float(s[:max(1, min(5, s.size // 10))].mean())      # the loss at the start
            last, peak = float(sm[-1]), float(sm.max())
            drop = 1 - last / first if first > 0 else 0.0
            tail = s[-max(2, s.size // 5):]
            noise = float(np.std(tail) / max(abs(np.mean(tail)), 1e-12))
            if last > first * 1.05 or peak > first * 1.5:
                findings.append(f"the loss rose (start {first:.3g}, peak {peak:.3g}, end {last:.3g}): the learning "
                                "rate is too high; if it then sits flat near the start value, ReLU units have "
                                "likely died")
            elif drop < 0.1:
                findings.append(f"the loss fell by only {100 * drop:.0f}% ({first:.3g} -> {last:.3g}): the "
                                "learning rate is probably too low (or the model cannot learn: check gradients)")
            elif noise > 0.3 and last > 0.1 * first:
                findings.append(f"the loss dropped fast and then plateaus noisily ({first:.3g} -> {last:.3g}, "
                                f"relative spread {noise:.2f}): the learning rate is a little high, or the batch "
                                "too small")
            else:
                findings.append(f"the loss fell by {100 * drop:.0f}% ({first:.3g} -> {last:.3g}) with a healthy "
                                "shape")
    if train_acc is not None and val_acc is not None and len(train_acc) and len(val_acc):
        ta, va = float(np.asarray(train_acc)[-1]), float(np.asarray(val_acc)[-1])
        if ta - va > gap:
            findings.append(f"overfitting: training accuracy {ta:.3f} vs validation {va:.3f} (gap "
                            f"{ta - va:.3f}); add regularization (L2, dropout), data, or stop earlier")
        elif ta < 0.9 and abs(ta - va) <= gap:
            findings.append(f"training and validation accuracy are close and low ({ta:.3f} / {va:.3f}): "
                            "underfitting; try a better learning rate, longer training or more capacity")
        else:
            findings.append(f"training accuracy {ta:.3f} and validation {va:.3f} are close: little overfitting")
    if val_loss is not None and val_acc is not None and len(val_loss) == len(val_acc):
        rising = rising_loss_holding_accuracy(val_loss, val_acc, epochs=epochs)
        if rising is not None:
            findings.append(f"{rising}: a few validation samples grow very confident mistakes while most keep "
                            "improving; look at the per-sample loss heatmap rather than the mean")
    if epoch_avg_loss is not None and val_loss is not None and len(epoch_avg_loss) and len(val_loss):
        ea, vl = float(np.asarray(epoch_avg_loss)[-1]), float(np.asarray(val_loss)[-1])
        if ea > vl:
            fair = "" if train_loss is None else \
                f"; measured at the end of the epoch it is {float(np.asarray(train_loss)[-1]):.3g}"
            findings.append(f"the epoch-averaged training loss {ea:.3g} is above the validation loss {vl:.3g}: "
                            f"it averages over the whole epoch's older weights and includes any dropout and weight penalty{fair}")
    if update_ratios:
        for name, (verdict, med) in update_ratio_diagnosis(update_ratios).items():
            if verdict != "ok":
                hint = "lower the learning rate" if verdict == "too high" else "raise the learning rate"
                findings.append(f"update/weight ratio of {name} is {verdict} (median {med:.1e}, aim for ~1e-3): {hint}")
    return findings


def diagnose(history):
    """Plain-language findings from a ``trainer.History``; see ``diagnose_arrays`` for what is judged."""
    def get(level, key, x=False):
        try:
            return history_series(history, level, key)[0 if x else 1]
        except KeyError:
            return None

    ratios = {}
    try:
        ratios = {k: r for k, (_, r) in update_ratio_series(history).items()}
    except KeyError:
        pass
    return diagnose_arrays(step_loss=get("step", "loss"), train_loss=get("epoch", "train_loss_eval"),
                           val_loss=get("epoch", "val_loss"), train_acc=get("epoch", "train_acc_eval"),
                           val_acc=get("epoch", "val_acc"), update_ratios=ratios,
                           epoch_avg_loss=get("epoch", "train_loss"), epochs=get("epoch", "val_loss", x=True))
