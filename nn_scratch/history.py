"""What a ``Trainer.fit`` records: the ``History`` tables, their columns, and their files.

Three losses are kept apart, because a curve must say which one it shows:

* the **data loss** -- the loss's own reduction of the per-sample losses of a batch (``unwrap_loss(loss)
  .reduce(per_sample)``): no weight penalty, not flooded.  This is what "training loss" means in every
  plot and table;
* the **penalty** -- ``0.5 * reg * sum W^2`` of ``losses.L2`` at that step (0.0 without ``reg``);
* the **objective** -- what the optimizer minimizes: ``loss.reduce(per_sample) + penalty`` (with
  ``losses.Flooding`` the flooded ``|J - b| + b`` plus the penalty).

Layout (every table is a dict of equal-length lists; missing values are NaN)
--------------------------------------------------------------------------
``history.steps`` -- one entry per optimizer step
    ``step``       int    steps taken, 1 for the first
    ``epoch``      float  fractional epoch = step / steps_per_epoch (1.0 = end of the first epoch)
    ``loss``       float  the data loss of the batch (no penalty, not flooded)
    ``penalty``    float  the L2 penalty at that step (0.0 without ``reg``)
    ``objective``  float  the value the step minimized: the loss's ``reduce`` (flooded under Flooding) + penalty
    ``lr``         float  the learning rate this step used (``optimizer.current_lr`` before the step)

``history.epochs`` -- one entry per epoch (a stopped epoch's row covers the batches it ran)
    ``epoch``            int    1, 2, ...
    ``step``             int    steps taken at the end of the epoch
    ``train_loss``       float  the batches' data losses averaged over the epoch (weighted by batch size).
                                The weights changed during the epoch, so this lags the model at its end.
    ``train_penalty``    float  the penalty averaged the same way (0.0 without ``reg``)
    ``train_objective``  float  the objective averaged the same way
    ``train_loss_eval``  float  the training set re-measured at the end of the epoch in eval mode
    ``train_acc_eval``   float  (dropout off, no penalty): the fair comparison with the validation numbers.
                                Above 5000 training rows, by default on a fixed seeded subset as
                                large as the validation set (``meta["train_eval_rows"]``, at least
                                5000); ``fit(eval_train="all")`` for every row
    ``val_loss``         float  validation loss / accuracy (eval mode, no penalty); NaN without validation
    ``val_acc``          float  data.  Accuracies are NaN for regression (e.g. ``MSE``).
    ``flood_below_frac`` float  fraction of the epoch's batches whose data loss was below the flood
                                level b (NaN unless the loss is ``losses.Flooding``)
    ``time``             float  seconds since ``fit`` began (cumulative; continues across a resume)
    The four ``*_eval`` / ``val_*`` columns are filled when an evaluation happened exactly at the end of
    the epoch -- always with the default ``eval_every=None``; with ``eval_every=N`` steps only when N
    divides the epoch's last step, NaN otherwise (read ``history.evals`` then).

``history.evals`` -- one entry per evaluation (each epoch end by default, every ``eval_every`` steps else)
    ``step``, ``epoch`` (fractional), ``train_loss_eval``, ``train_acc_eval``, ``val_loss``, ``val_acc``

``history.monitors`` -- ``{key: {column: list}}``, one table per monitor (see ``nn_scratch.monitors`` for
    each monitor's key and columns); every monitor table has ``step`` and ``epoch`` columns.  A custom
    monitor appends a row with ``history.record(key, step=..., epoch=..., **more_columns)``.

``history.meta`` -- a small JSON-able dict: ``steps_per_epoch``, ``batch_size``, ``n_train``, ``seed``,
    ``eval_every``, ``drop_last``, ``reg`` (the L2 strength, or None), ``flood_level`` (b, or None),
    ``train_eval_rows`` (training rows re-measured at each evaluation; 0 when off, ``n_train`` for all) and
    ``train_eval_subset`` (None for all, else e.g. "10000 of 50000 rows drawn with seed 0"),
    ``update_ratio_every`` (the ``UpdateRatio`` monitor's interval in steps; 0 when off),
    ``snapshot_every`` (the NaN guard's weight-snapshot interval; None without the guard), and
    what callbacks report (``early_stopping``: best epoch/value, stopped epoch).

``to_json`` / ``from_json`` round-trip exactly (NaN is written as ``null``); ``to_csv`` writes one table.
``h1.equals(h2, ignore=("time",))`` compares two histories value by value (NaN equals NaN);
``h1.differences(h2)`` says where they differ; ``history.best("val_loss", "min")`` -> (epoch, value).
A History saved before these columns existed (steps ``loss`` = objective, ``data_loss``) is read into the
new names: its objective and data loss land in ``objective`` and ``loss``; what it never recorded is NaN.
"""
from __future__ import annotations

import json
import math
import numbers
import os

import numpy as np

from .files import atomic_write_text

__all__ = ["History", "STEP_COLUMNS", "EPOCH_COLUMNS", "EVAL_COLUMNS"]

STEP_COLUMNS = ("step", "epoch", "loss", "penalty", "objective", "lr")
EPOCH_COLUMNS = ("epoch", "step", "train_loss", "train_penalty", "train_objective", "train_loss_eval",
                 "train_acc_eval", "val_loss", "val_acc", "flood_below_frac", "time")
EVAL_COLUMNS = ("step", "epoch", "train_loss_eval", "train_acc_eval", "val_loss", "val_acc")


# -- small helpers ------------------------------------------------------------------------------------------
def _plain(obj):
    """Numpy scalars/arrays -> Python numbers/lists; NaN -> None (JSON null)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        try:                                  # fast path: a (nested) list of numbers, e.g. per-sample losses
            arr = np.asarray(obj)
        except ValueError:                    # ragged
            arr = None
        if arr is not None and arr.dtype.kind in "biuf" and arr.size:
            return _plain(arr)
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray) and obj.dtype.kind == "f":
        out = obj.astype(np.float64).astype(object)
        out[np.isnan(obj)] = None
        return out.tolist()
    if isinstance(obj, np.ndarray) and obj.dtype.kind in "biu":
        return obj.tolist()
    if isinstance(obj, np.ndarray):
        return [_plain(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        obj = float(obj)
        return None if math.isnan(obj) else obj
    return obj


def _unplain(obj):
    """Inverse of ``_plain`` for what History stores: None -> NaN, recursively."""
    if obj is None:
        return float("nan")
    if isinstance(obj, dict):
        return {k: _unplain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unplain(v) for v in obj]
    return obj


def _same(a, b) -> bool:
    """Exact equality where NaN equals NaN, through nested lists and dicts."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, z) for x, z in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


def _check_table(name, table):
    """A table is a dict of equal-length lists of numbers (None for NaN)."""
    if not isinstance(table, dict):
        raise ValueError(f"History: table '{name}' must be a dict of columns, got {type(table).__name__}")
    lengths = {}
    for col, values in table.items():
        if not isinstance(values, list):
            raise ValueError(f"History: column '{name}[{col!r}]' must be a list, got {type(values).__name__}")
        lengths[col] = len(values)
    if len(set(lengths.values())) > 1:
        raise ValueError(f"History: the columns of table '{name}' must have equal lengths, got {lengths}")


def _upgrade(d):
    """Read a History written before the loss / penalty / objective split into today's columns."""
    steps, epochs = d.get("steps"), d.get("epochs")
    if not (isinstance(steps, dict) and "data_loss" in steps and "objective" not in steps):
        return d
    d = dict(d)
    n = len(steps.get("step", []))
    d["steps"] = {"step": steps.get("step", []), "epoch": steps.get("epoch", []),
                  "loss": steps["data_loss"], "penalty": [None] * n, "objective": steps.get("loss", [None] * n),
                  "lr": steps.get("lr", [None] * n)}
    if isinstance(epochs, dict) and "train_objective" not in epochs:
        m = len(epochs.get("epoch", []))
        e = {k: v for k, v in epochs.items() if k != "train_loss"}
        e.update(train_loss=[None] * m, train_penalty=[None] * m, train_objective=epochs.get("train_loss", [None] * m))
        d["epochs"] = {k: e.get(k, [None] * m) for k in EPOCH_COLUMNS}
    return d


# -- History ------------------------------------------------------------------------------------------------
class History:
    """What a ``Trainer.fit`` recorded; the layout is in the module docstring.

    Tables are plain dicts of lists, so ``np.asarray(history.epochs["val_loss"])`` is all a plot needs.
    """

    def __init__(self):
        self.steps = {k: [] for k in STEP_COLUMNS}
        self.epochs = {k: [] for k in EPOCH_COLUMNS}
        self.evals = {k: [] for k in EVAL_COLUMNS}
        self.monitors = {}
        self.meta = {}

    # -- recording ----------------------------------------------------------------------------------------
    @staticmethod
    def _append(table, row):
        for k in table:
            table[k].append(row.get(k, float("nan")))

    def record(self, key: str, **columns) -> None:
        """Append one entry to monitor table ``key``; every call must give the same columns."""
        table = self.monitors.setdefault(key, {c: [] for c in columns})
        if set(table) != set(columns):
            raise ValueError(f"History.record: monitor '{key}' has columns {sorted(table)}, got {sorted(columns)}")
        for c, v in columns.items():
            table[c].append(_unplain(_plain(v)))

    def __len__(self):
        return len(self.epochs["epoch"])

    def __repr__(self):
        return (f"History({len(self)} epochs, {len(self.steps['step'])} steps, {len(self.evals['step'])} "
                f"evaluations, monitors {sorted(self.monitors)})")

    def best(self, key: str = "val_loss", mode: str = "min"):
        """``(epoch, value)`` of the best finite value of epoch column ``key``; ``(None, nan)`` if none."""
        if mode not in ("min", "max"):
            raise ValueError(f"History.best: 'mode' must be 'min' or 'max', got {mode!r}")
        v = np.asarray(self.epochs[key], dtype=np.float64)
        ok = np.isfinite(v)
        if not ok.any():
            return None, float("nan")
        i = np.flatnonzero(ok)[np.argmin(v[ok]) if mode == "min" else np.argmax(v[ok])]
        return int(self.epochs["epoch"][i]), float(v[i])

    # -- files --------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return _plain({"steps": self.steps, "epochs": self.epochs, "evals": self.evals,
                       "monitors": self.monitors, "meta": self.meta})

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        """The inverse of ``to_dict``; a malformed dict raises ``ValueError`` saying which part is wrong."""
        if not isinstance(d, dict):
            raise ValueError(f"History.from_dict: expected a dict of tables, got {type(d).__name__}")
        d = _upgrade(d)
        h = cls()
        for name in ("steps", "epochs", "evals"):
            table = d.get(name, {})
            _check_table(name, table)
            getattr(h, name).update(_unplain(table))
        monitors = d.get("monitors", {})
        if not isinstance(monitors, dict):
            raise ValueError(f"History: 'monitors' must be a dict of tables, got {type(monitors).__name__}")
        for key, table in monitors.items():
            _check_table(f"monitors[{key!r}]", table)
        h.monitors.update(_unplain(monitors))
        meta = d.get("meta", {})
        if not isinstance(meta, dict):
            raise ValueError(f"History: 'meta' must be a dict, got {type(meta).__name__}")
        h.meta = dict(meta)
        return h

    def to_json(self, path=None):
        """The JSON text; written atomically to ``path`` if given (NaN becomes ``null``)."""
        text = json.dumps(self.to_dict(), allow_nan=True)
        if path is not None:
            atomic_write_text(path, text)
        return text

    @classmethod
    def from_json(cls, path_or_text) -> "History":
        """Read a History from a ``.json`` file or from JSON text."""
        s = os.fspath(path_or_text) if isinstance(path_or_text, os.PathLike) else path_or_text
        if not isinstance(s, str):
            raise TypeError(f"History.from_json: expected a path or JSON text, got {type(s).__name__}")
        if s.lstrip().startswith("{"):
            return cls.from_dict(json.loads(s))
        with open(s, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    def to_csv(self, path, table: str = "epochs") -> None:
        """Write ``table`` ("steps", "epochs" or "evals") as CSV with a header row, atomically."""
        if table not in ("steps", "epochs", "evals"):
            raise ValueError(f"History.to_csv: 'table' must be 'steps', 'epochs' or 'evals', got {table!r}")
        t = getattr(self, table)
        cols = list(t)
        lines = [",".join(cols)]
        lines += [",".join(repr(float(v)) if isinstance(v, float) else str(v) for v in row)
                  for row in zip(*(t[c] for c in cols))]
        atomic_write_text(path, "\n".join(lines) + "\n")

    # -- comparison ----------------------------------------------------------------------------------------
    def differences(self, other: "History", ignore=("time",)) -> list:
        """Human-readable list of where ``other`` differs (empty when equal); columns in ``ignore`` skipped."""
        out = []
        tables = [(name, getattr(self, name), getattr(other, name)) for name in ("steps", "epochs", "evals")]
        if set(self.monitors) != set(other.monitors):
            out.append(f"monitors: keys {sorted(self.monitors)} vs {sorted(other.monitors)}")
        tables += [(f"monitors[{k!r}]", self.monitors[k], other.monitors[k])
                   for k in self.monitors if k in other.monitors]
        for name, a, b in tables:
            if set(a) != set(b):
                out.append(f"{name}: columns {sorted(a)} vs {sorted(b)}")
                continue
            for col in a:
                x, z = a[col], b[col]
                if col in ignore or _same(x, z):
                    continue
                if len(x) != len(z):
                    out.append(f"{name}[{col!r}]: lengths {len(x)} vs {len(z)}")
                else:
                    i = next(i for i in range(len(x)) if not _same(x[i], z[i]))
                    out.append(f"{name}[{col!r}][{i}]: {x[i]!r} vs {z[i]!r}")
        return out

    def equals(self, other: "History", ignore=("time",)) -> bool:
        """True when every recorded value matches exactly (NaN equals NaN), apart from ``ignore`` columns."""
        return not self.differences(other, ignore)


