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
  (on the raw loss as in the paper; ``log=True`` on the log loss)
* ``outlier_epochs``         -- per sample, at how many checkpoints it was an outlier, and the longest run
* ``loss_quantiles``         -- summary quantiles per checkpoint
* ``rising_loss_holding_accuracy`` -- validation loss at its minimum vs later (the end, first 100 % training
  accuracy): did it rise while accuracy held?
* ``update_ratio_diagnosis`` / ``update_ratio_advice`` -- each weight's update/weight ratio vs the ~1e-3
  rule of thumb, and one piece of advice that never contradicts itself
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

import math
from dataclasses import dataclass, field

import numpy as np

from ._checks import check_int, check_number

__all__ = ["history_series", "monitor_table", "update_ratio_series", "layer_snapshots", "loss_matrix",
           "history_loss_matrix", "log_spaced_steps", "histogram_matrix", "tukey_fences", "outlier_mask",
           "outlier_epochs", "loss_quantiles", "Comparison", "RisingLoss", "rising_loss_holding_accuracy",
           "update_ratio_diagnosis", "update_ratio_advice", "smooth", "diagnose", "diagnose_arrays"]


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
def _fence_scale(L, log):
    """The values the fence is computed on: the losses themselves, or their natural log (``log=True``)."""
    if not log:
        return L
    positive = L[L > 0]
    floor = positive.min() if positive.size else 1e-300
    return np.log(np.maximum(L, floor))


def tukey_fences(L, k: float = 1.5, log: bool = False):
    """Lower and upper Tukey fences per checkpoint (column) of ``L`` (N, T).

    ``upper = Q3 + k (Q3 - Q1)`` and ``lower = Q1 - k (Q3 - Q1)``, quartiles by linear interpolation
    (``numpy.quantile``'s default).  A 1-D input is treated as one checkpoint.  Returns two (T,) arrays.

    ``log=False`` (default, as in Venter et al. 2021): the fence on the raw losses.  Losses are skewed --
    most near 0, a long tail -- so Q3 and the IQR are small and the raw fence flags many samples whose loss
    is still small in absolute terms.  ``log=True`` computes the fence on ``ln(loss)`` and returns it
    mapped back (``exp``), so it is a factor above the typical loss rather than an offset: it flags only
    the samples that are far out on a log scale.
    """
    L = _as_matrix(L, "tukey_fences")
    check_number("k", k, who="tukey_fences", low=0)
    V = _fence_scale(L, log)
    q1, q3 = np.quantile(V, [0.25, 0.75], axis=0)
    iqr = q3 - q1
    lower, upper = q1 - k * iqr, q3 + k * iqr
    return (np.exp(lower), np.exp(upper)) if log else (lower, upper)


def outlier_mask(L, k: float = 1.5, log: bool = False):
    """Boolean (N, T): True where a sample's loss is above its checkpoint's upper fence (``tukey_fences``;
    ``log=True`` for the fence on log loss)."""
    L = _as_matrix(L, "outlier_mask")
    check_number("k", k, who="outlier_mask", low=0)
    V = _fence_scale(L, log)
    q1, q3 = np.quantile(V, [0.25, 0.75], axis=0)
    return V > (q3 + k * (q3 - q1))[None, :]


def outlier_epochs(L, k: float = 1.5, log: bool = False):
    """For each sample, how long it stays an outlier: returns ``(count (N,), longest_run (N,))``.

    ``count`` is the number of checkpoints (epochs, when one column per epoch) at which the sample is
    above the upper fence (raw loss by default, log loss with ``log=True``); ``longest_run`` the longest
    stretch of consecutive such checkpoints.
    """
    mask = outlier_mask(L, k, log)
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
class Comparison:
    """Validation loss and accuracy at one later epoch, compared with the epoch of minimum validation loss.

    ``label`` names the epoch (``"end of training"``, ``"first 100 % training accuracy"``); ``loss`` and
    ``acc`` are the (windowed median) values there; ``loss_rise`` is relative to the minimum's value,
    ``acc_change`` in accuracy units (0.01 = one point); ``holds`` is True when the loss rose by at least
    ``min_rise`` while the accuracy fell by at most ``tolerance``."""
    label: str
    epoch: int
    loss: float
    acc: float
    loss_rise: float
    acc_change: float
    holds: bool

    def __str__(self):
        return (f"at epoch {self.epoch} ({self.label}) validation loss {self.loss:.4g} "
                f"({100 * self.loss_rise:+.0f}%), accuracy {self.acc:.4f} ({100 * self.acc_change:+.1f} points)")


@dataclass
class RisingLoss:
    """Validation loss rose after its minimum while validation accuracy held (seed 004's effect).

    ``start``: the epoch of minimum validation loss; ``end``, ``loss_rise``, ``acc_change``: the first of the
    ``comparisons`` that shows the effect (the end of training, else the first epoch of 100 % training
    accuracy); ``start_loss`` / ``start_acc``: the values at the minimum; ``window``: how many epochs each
    later value is the median of.  Epochs are array positions unless ``epochs=`` was given."""
    start: int
    end: int
    loss_rise: float
    acc_change: float
    start_loss: float = float("nan")
    start_acc: float = float("nan")
    comparisons: list = field(default_factory=list)
    window: int = 1

    def __str__(self):
        main = next(c for c in self.comparisons if c.epoch == self.end) if self.comparisons else None
        where = f" ({main.label})" if main is not None else ""
        text = (f"validation loss rose {100 * self.loss_rise:.0f}% from epoch {self.start} (its minimum) to epoch "
                f"{self.end}{where} while validation accuracy changed by {100 * self.acc_change:+.1f} points")
        others = [c for c in self.comparisons if c is not main]
        if others:
            text += "; " + "; ".join(str(c) for c in others)
        if self.window > 1:
            text += f" (later values: medians of {self.window} epochs around each)"
        return text


def _windowed_median(x, window):
    """Median of ``x`` over ``window`` points centred on each index (fewer at the two ends)."""
    if window <= 1:
        return np.asarray(x, dtype=np.float64)
    h = window // 2
    n = x.size
    padded = np.concatenate([np.full(h, np.nan), x, np.full(h, np.nan)])
    view = np.lib.stride_tricks.sliding_window_view(padded, 2 * h + 1)[:n]
    return np.nanmedian(view, axis=1)


def rising_loss_holding_accuracy(val_loss, val_acc, epochs=None, train_acc=None, tolerance: float = 0.01,
                                 min_rise: float = 0.05, min_epochs: int = 2, window=None):
    """Did validation loss rise after its minimum while validation accuracy held?  (Venter et al. 2021.)

    What is compared, as in the paper: the epoch of **minimum validation loss** with later epochs -- the
    **end of training** and, when ``train_acc`` is given and reaches 1.0, the **first epoch of 100 %
    training accuracy** (interpolation).  At each of them the effect holds when the validation loss is at
    least ``min_rise`` (relative) above its value at the minimum while the validation accuracy is at most
    ``tolerance`` below its value there (it may also have improved).  Only these epochs are compared: what
    accuracy does at the epochs in between does not matter, so one noisy epoch cannot hide the effect.

    Epoch-to-epoch noise: the minimum is the paper's -- the epoch with the lowest validation loss, with
    its own loss and accuracy.  Each *later* value (loss and accuracy) is the median over ``window`` epochs
    centred on that epoch (fewer at the end of the run), so one spiky epoch at the end or at interpolation
    does not decide the verdict.  The default window is 5 epochs for runs of 50 epochs or more, shrinking to
    1 (the raw values) for runs of 10 epochs or fewer.  A compared epoch must be at least ``min_epochs``
    after the minimum.

    Returns a ``RisingLoss`` (with every comparison made, holding or not) when at least one comparison shows
    the effect, else None.  ``epochs`` (optional) maps array positions to epoch numbers.
    """
    loss = np.asarray(val_loss, dtype=np.float64)
    acc = np.asarray(val_acc, dtype=np.float64)
    if loss.ndim != 1 or loss.shape != acc.shape:
        raise ValueError(f"rising_loss_holding_accuracy: 'val_loss' and 'val_acc' must be 1-D arrays of the "
                         f"same length, got shapes {loss.shape} and {acc.shape}")
    tr = None if train_acc is None else np.asarray(train_acc, dtype=np.float64)
    if tr is not None and tr.shape != loss.shape:
        raise ValueError(f"rising_loss_holding_accuracy: 'train_acc' must have the shape of 'val_loss' "
                         f"{loss.shape}, got {tr.shape}")
    n = loss.size
    if n < 2 or not np.all(np.isfinite(loss)) or not np.all(np.isfinite(acc)):
        return None
    if window is None:
        window = int(np.clip(n // 10, 1, 5))
    window = max(1, int(window)) | 1                                 # odd, so it is centred
    m_loss, m_acc = _windowed_median(loss, window), _windowed_median(acc, window)
    start = int(np.argmin(loss))
    ep = np.arange(n) if epochs is None else np.asarray(epochs)
    base_loss, base_acc = loss[start], acc[start]
    later = [("end of training", n - 1)]
    if tr is not None:
        full = np.flatnonzero(tr >= 1.0 - 1e-9)
        if full.size:
            later.append(("first 100 % training accuracy", int(full[0])))
    comparisons = []
    for label, i in later:
        if i - start < min_epochs:
            continue
        rise = (m_loss[i] - base_loss) / max(abs(base_loss), 1e-12)
        change = m_acc[i] - base_acc
        comparisons.append(Comparison(label, int(ep[i]), float(m_loss[i]), float(m_acc[i]), float(rise),
                                      float(change), bool(rise >= min_rise and change >= -tolerance)))
    holding = [c for c in comparisons if c.holds]
    if not holding:
        return None
    first = holding[0]
    return RisingLoss(int(ep[start]), first.epoch, first.loss_rise, first.acc_change, float(base_loss),
                      float(base_acc), comparisons, window)


# -- update / weight ratios ------------------------------------------------------------------------------------
_NOT_WEIGHTS = ("b", "bias", "beta", "gamma")


def _is_weight(name) -> bool:
    """Guess from a parameter name whether it is a weight matrix (judged by the 1e-3 rule)."""
    return str(name).rsplit(".", 1)[-1] not in _NOT_WEIGHTS


def update_ratio_diagnosis(ratios, target: float = 1e-3, factor: float = 10.0, skip: float = 0.1,
                           weights=None):
    """Judge each weight's update/weight ratio against the rule of thumb (~``target``).

    ``ratios`` is a dict ``{name: array of ratios over steps}``.  The first ``skip`` fraction of steps is
    ignored (the start is unrepresentative); the median of the rest is compared with
    ``[target / factor, target * factor]``.  Returns ``{name: (verdict, median)}`` with verdict one of
    ``"too low"`` (learning rate probably too low), ``"ok"``, ``"too high"`` (probably too high) -- or
    ``"not judged"`` for parameters that are not weights.

    Only weights are judged: ``weights`` is the collection of their names (the parameters with
    ``regularize=True``; ``diagnose`` reads it from ``history.meta["regularized"]``); without it, a name
    ending in ``.b``, ``.bias``, ``.beta`` or ``.gamma`` is taken as not a weight.  Biases start at zero,
    so ``||update|| / ||b||`` is huge at first and stays large at any learning rate: the rule says
    nothing about them.
    """
    if not target > 0 or not factor >= 1:
        raise ValueError(f"update_ratio_diagnosis: need target > 0 and factor >= 1, got {target!r}, {factor!r}")
    judged = (lambda name: name in weights) if weights is not None else _is_weight
    if weights is not None:
        weights = set(weights)
    out = {}
    for name, r in ratios.items():
        r = np.asarray(r, dtype=np.float64).ravel()
        r = r[int(skip * r.size):]
        r = r[np.isfinite(r)]
        if r.size == 0:
            continue
        med = float(np.median(r))
        if not judged(name):
            out[name] = ("not judged", med)
            continue
        verdict = "too low" if med < target / factor else "too high" if med > target * factor else "ok"
        out[name] = (verdict, med)
    return out


def update_ratio_advice(diagnosis, target: float = 1e-3) -> list:
    """Sentences (at most one) from an ``update_ratio_diagnosis`` result: never both "raise" and "lower".

    All judged weights too low -> raise the learning rate; all too high (or too high and ok) -> lower it;
    some too low and others too high -> one learning rate cannot suit both, so the advice is about the
    layers (their initialization scale, or a per-parameter method such as Adam), not the rate.
    Too low next to ok weights gets no advice either: raising the rate would push the others out.
    """
    low = {k: m for k, (v, m) in diagnosis.items() if v == "too low"}
    high = {k: m for k, (v, m) in diagnosis.items() if v == "too high"}
    ok = {k: m for k, (v, m) in diagnosis.items() if v == "ok"}
    fmt = lambda d: ", ".join(f"{k} {m:.1e}" for k, m in d.items())   # noqa: E731
    if high and low:
        return [f"update/weight ratios of the weights disagree (median; aim for ~{target:g}): too high {fmt(high)}; "
                f"too low {fmt(low)}. No single learning rate suits both: check those layers' initialization "
                "scale, or use a per-parameter method such as Adam"]
    if high:
        return [f"update/weight ratio too high for {fmt(high)} (median; aim for ~{target:g}): lower the learning rate"]
    if low and not ok:
        return [f"update/weight ratio too low for {fmt(low)} (median; aim for ~{target:g}): raise the learning rate"]
    if low:
        return [f"update/weight ratio too low for {fmt(low)} while {fmt(ok)} are in range (median; aim for "
                f"~{target:g}): those layers learn slowly; their initialization scale is the place to look"]
    return []


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
                    update_ratios=None, epoch_avg_loss=None, epochs=None, gap: float = 0.05, penalty=None,
                    objective=None, flood_level=None, flood_below_frac=None, dropout=None, weights=None):
    """Plain-language findings from training curves; each argument optional.  Returns a list of strings.

    Every sentence speaks only of what was passed in (a run without penalty hears nothing about one) and
    gives the measured number it rests on.  Learning-rate advice is given at most once in one direction:
    when the loss curve and the update ratios point opposite ways, the ratios' sentence says so instead of
    advising.

    * ``step_loss``: data loss per step -- divergence (NaN/inf or ending above the start: lr too high),
      barely moving (lr too low), a fast drop to a noisy plateau (lr a little high, or batch too small);
    * ``train_loss`` / ``train_acc``: end-of-epoch training loss / accuracy in eval mode (the fair
      comparison); ``val_loss`` / ``val_acc``: validation; an accuracy gap above ``gap`` is overfitting;
      ``train_acc`` also gives the first epoch of 100 % training accuracy to
      ``rising_loss_holding_accuracy``;
    * ``epoch_avg_loss``: epoch-averaged training (data) loss, to explain a training loss above validation;
    * ``penalty`` / ``objective``: the epoch-averaged L2 penalty and objective, for the penalty's share;
    * ``flood_level`` (b) and ``flood_below_frac``: flooding, how often batches fell below b;
    * ``dropout``: the drop probabilities of the model's Dropout layers (list), if it has any;
    * ``epochs``: the epoch numbers of ``val_loss`` / ``val_acc`` (default 0, 1, ...);
    * ``update_ratios``: ``{name: ratios}`` judged by ``update_ratio_diagnosis`` (``weights``: which names
      are weights) and turned into advice by ``update_ratio_advice``.
    """
    check_number("gap", gap, who="diagnose_arrays", low=0, high=1)
    findings = []
    lr_direction = 0                           # +1: the loss curve says "too high", -1 "too low"
    if step_loss is not None and len(step_loss) >= 2:
        s = np.asarray(step_loss, dtype=np.float64)
        if not np.all(np.isfinite(s)):
            lr_direction = 1
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
                lr_direction = 1
                findings.append(f"the loss rose (start {first:.3g}, peak {peak:.3g}, end {last:.3g}): the learning "
                                "rate is too high; if it then sits flat near the start value, ReLU units have "
                                "likely died")
            elif drop < 0.1:
                lr_direction = -1
                findings.append(f"the loss fell by only {100 * drop:.0f}% ({first:.3g} -> {last:.3g}): the "
                                "learning rate is probably too low (or the model cannot learn: check gradients)")
            elif noise > 0.3 and last > 0.1 * first:
                lr_direction = 1
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
        tr = train_acc if train_acc is not None and len(train_acc) == len(val_loss) else None
        rising = rising_loss_holding_accuracy(val_loss, val_acc, epochs=epochs, train_acc=tr)
        if rising is not None:
            findings.append(f"{rising}: a few validation samples grow very confident mistakes while most keep "
                            "improving; look at the per-sample loss heatmap rather than the mean")
    if epoch_avg_loss is not None and val_loss is not None and len(epoch_avg_loss) and len(val_loss):
        ea, vl = float(np.asarray(epoch_avg_loss)[-1]), float(np.asarray(val_loss)[-1])
        if ea > vl:
            why = "it averages the batches over the epoch, while the weights were still changing"
            if dropout:
                why += (f", with dropout on (drop probability {', '.join(f'{p:g}' for p in dropout)}) that "
                        "evaluation turns off")
            fair = "" if train_loss is None or not len(train_loss) else \
                f"; measured at the end of the epoch in eval mode it is {float(np.asarray(train_loss)[-1]):.3g}"
            findings.append(f"the epoch-averaged training loss {ea:.3g} is above the validation loss {vl:.3g}: "
                            f"{why}{fair}")
    if penalty is not None and len(penalty) and float(np.asarray(penalty)[-1]) > 0:
        pen = float(np.asarray(penalty)[-1])
        obj = float(np.asarray(objective)[-1]) if objective is not None and len(objective) else math.nan
        share = f", {100 * pen / obj:.0f}% of the objective {obj:.3g} the optimizer minimizes" \
            if math.isfinite(obj) and obj > 0 else ""
        data = f"; the training-loss curves show the data loss ({float(np.asarray(epoch_avg_loss)[-1]):.3g}) " \
            "without it" if epoch_avg_loss is not None and len(epoch_avg_loss) else ""
        findings.append(f"the L2 penalty 0.5*reg*sum(W^2) averaged {pen:.3g} over the last epoch{share}{data}")
    if flood_level is not None and flood_below_frac is not None and len(flood_below_frac):
        frac = float(np.asarray(flood_below_frac)[-1])
        if math.isfinite(frac):
            findings.append(f"flooding at b = {flood_level:g}: {100 * frac:.0f}% of the last epoch's batches had a "
                            "data loss below b, where the step goes uphill")
    if update_ratios:
        diagnosis = update_ratio_diagnosis(update_ratios, weights=weights)
        for sentence in update_ratio_advice(diagnosis):
            says_up, says_down = "raise the learning rate" in sentence, "lower the learning rate" in sentence
            if (says_up and lr_direction > 0) or (says_down and lr_direction < 0):
                sentence = sentence.split(": ")[0] + (": the loss curve points the other way (see above); "
                                                      "follow the loss curve first")
            findings.append(sentence)
    return findings


def diagnose(history, model=None):
    """Plain-language findings from a ``trainer.History``; see ``diagnose_arrays`` for what is judged.

    ``model`` (optional) lets the findings mention dropout (with its probability) when the model has any.
    """
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
    meta = history.get("meta", {}) if isinstance(history, dict) else getattr(history, "meta", {})
    dropout = None
    if model is not None:
        from .layers.dropout import Dropout
        dropout = [float(m.drop_prob) for m in model.modules() if isinstance(m, Dropout) and m.drop_prob > 0]
    val_loss, val_acc, train_acc = get("epoch", "val_loss"), get("epoch", "val_acc"), get("epoch", "train_acc_eval")
    return diagnose_arrays(step_loss=get("step", "loss"), train_loss=get("epoch", "train_loss_eval"),
                           val_loss=val_loss, train_acc=train_acc, val_acc=val_acc, update_ratios=ratios,
                           epoch_avg_loss=get("epoch", "train_loss"), epochs=get("epoch", "val_loss", x=True),
                           penalty=get("epoch", "train_penalty"), objective=get("epoch", "train_objective"),
                           flood_level=meta.get("flood_level"), flood_below_frac=get("epoch", "flood_below_frac"),
                           dropout=dropout, weights=meta.get("regularized"))
