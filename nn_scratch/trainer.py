"""The training loop (``Trainer``) and what it records (``History``).

The trainer owns no maths: it cuts the data into mini-batches, calls the model, the loss, the penalty and
the optimizer in the order of the one protocol, and hands the trainer itself to callbacks and monitors at
fixed hooks.  Everything it measures goes into a ``History``.

History layout (every table is a dict of equal-length lists; missing values are NaN)
------------------------------------------------------------------------------------
``history.steps`` -- one entry per optimizer step
    ``step``       int    steps taken, 1 for the first
    ``epoch``      float  fractional epoch = step / steps_per_epoch (1.0 = end of the first epoch)
    ``loss``       float  the batch objective that was minimized: ``loss.reduce(per_sample) + penalty``
                          (with ``losses.Flooding`` this is the flooded value ``|J - b| + b + penalty``)
    ``data_loss``  float  the plain mean per-sample loss of the batch (no penalty, no flooding)
    ``lr``         float  the learning rate this step used (``optimizer.current_lr`` before the step)

``history.epochs`` -- one entry per epoch (a stopped epoch's row covers the batches it ran)
    ``epoch``            int    1, 2, ...
    ``step``             int    steps taken at the end of the epoch
    ``train_loss``       float  the batch objectives averaged over the epoch (weighted by batch size).
                                The weights changed during the epoch, so this lags the model at its end.
    ``train_loss_eval``  float  the training set re-measured at the end of the epoch in eval mode
    ``train_acc_eval``   float  (dropout off, no penalty): the fair comparison with the validation numbers
    ``val_loss``         float  validation loss / accuracy (eval mode, no penalty); NaN without validation
    ``val_acc``          float  data.  Accuracies are NaN for regression (e.g. ``MSE``).
    ``flood_below_frac`` float  fraction of the epoch's batches whose ``data_loss`` was below the flood
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
    ``eval_every``, and what callbacks report (``early_stopping``: best epoch/value, stopped epoch).

``to_json`` / ``from_json`` round-trip exactly (NaN is written as ``null``); ``to_csv`` writes one table.
``h1.equals(h2, ignore=("time",))`` compares two histories value by value (NaN equals NaN);
``h1.differences(h2)`` says where they differ; ``history.best("val_loss", "min")`` -> (epoch, value).

Example
-------
>>> import numpy as np
>>> from nn_scratch.layers import Linear
>>> from nn_scratch.losses import SoftmaxCrossEntropy
>>> from nn_scratch.optim import SGD
>>> rng = np.random.default_rng(0)
>>> X = rng.standard_normal((200, 2)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
>>> model = Linear(2, 2, rng=0)
>>> trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.5), progress=False)
>>> history = trainer.fit(X, y, X[:50], y[:50], epochs=5, batch_size=32, seed=0)
>>> len(history.steps["step"]), len(history.epochs["epoch"])   # 7 batches of at most 32 per epoch
(35, 5)
>>> history.epochs["train_acc_eval"][-1] > 0.95
True
"""
from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import time

import numpy as np

from .callbacks import Callback, NaNGuard, TrainingDiverged
from .files import atomic_write_text, load_npz, save_npz
from .losses import L2, MSE, Flooding, MulticlassSVM, SoftmaxCrossEntropy, unwrap_loss

__all__ = ["History", "Trainer", "TrainingDiverged", "is_classification"]

STEP_COLUMNS = ("step", "epoch", "loss", "data_loss", "lr")
EPOCH_COLUMNS = ("epoch", "step", "train_loss", "train_loss_eval", "train_acc_eval", "val_loss", "val_acc",
                 "flood_below_frac", "time")
EVAL_COLUMNS = ("step", "epoch", "train_loss_eval", "train_acc_eval", "val_loss", "val_acc")
CHECKPOINT_FORMAT = "nn_scratch.checkpoint.v1"


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


def is_classification(loss, y) -> bool:
    """Accuracy makes sense when the loss is a classification loss, or ``y`` holds integer labels (N,)."""
    inner = unwrap_loss(loss)
    if isinstance(inner, (SoftmaxCrossEntropy, MulticlassSVM)) or getattr(inner, "is_classification", False):
        return True
    y = np.asarray(y)
    return y.ndim == 1 and np.issubdtype(y.dtype, np.integer) and not isinstance(inner, MSE)


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
        h = cls()
        for name in ("steps", "epochs", "evals", "monitors"):
            getattr(h, name).update(_unplain(d.get(name, {})))
        h.meta = dict(d.get("meta", {}))
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


# -- Trainer ------------------------------------------------------------------------------------------------
class Trainer:
    """Mini-batch training of ``model`` on ``loss`` (+ an optional L2 penalty) with ``optimizer``.

    Parameters
    ----------
    model : a ``Layer`` (e.g. ``Sequential``) mapping X (N, D...) to scores (N, C) or predictions (N, K).
    loss : a ``losses.Loss`` (``SoftmaxCrossEntropy``, ``MulticlassSVM``, ``MSE``, ``Flooding(...)``).
    optimizer : an ``optim`` optimizer built on ``model.parameters()``.
    reg : None, a number (taken as ``L2(reg)``: ``0.5 * reg * sum W^2``) or an ``L2`` object.
    callbacks : ``callbacks.Callback`` objects (``EarlyStopping``, ``Checkpoint``, ``WeightAverage``, ...).
    monitors : ``monitors`` objects recording into ``history.monitors``.
    update_ratio_every : the built-in ``monitors.UpdateRatio`` records every this many steps (0 turns it off;
        it is also off when ``monitors`` already holds an UpdateRatio).
    nan_guard : a ``callbacks.NaNGuard`` (default) or None: stop with ``TrainingDiverged`` on NaN/inf.  With
        the guard on, numpy's overflow / invalid-value warnings are silenced in training steps and in
        ``evaluate``: the guard reports a divergence, and an evaluation's loss shows it (inf / NaN).
    progress : show a tqdm bar; ``print_every`` : also print a plain line every this many steps.

    One step: ``scores = model.forward(Xb)``; ``J = loss.reduce(loss.forward(scores, yb)) + penalty``;
    ``model.backward(loss.backward())``; ``reg.backward(params)``; ``optimizer.step()``.

    Hooks, in this order for each object: monitors (``update_ratio`` first), then callbacks; an object with
    ``runs_last = True`` (``Checkpoint``) comes after all others so it saves the finished epoch.
    Attributes a callback may read: ``history``, ``step``, ``epoch`` (epochs completed), ``steps_per_epoch``,
    ``last_eval`` (the latest evaluation dict), ``last_batch`` (the latest step's row), ``batch_indices``
    (rows of X in the current batch), ``data`` (dict X, y, X_val, y_val), ``stop_training``.
    """

    def __init__(self, model, loss, optimizer, reg=None, callbacks=(), monitors=(), update_ratio_every=1,
                 nan_guard="default", progress=True, print_every=None):
        from .monitors import UpdateRatio

        for name, obj, needed in (("model", model, ("forward", "backward", "parameters")),
                                  ("loss", loss, ("forward", "backward", "reduce")),
                                  ("optimizer", optimizer, ("step",))):
            missing = [m for m in needed if not hasattr(obj, m)]
            if missing:
                raise TypeError(f"Trainer: '{name}' must have {', '.join(needed)}; "
                                f"{type(obj).__name__} lacks {', '.join(missing)}")
        if isinstance(reg, numbers.Real) and not isinstance(reg, bool):
            reg = L2(reg)
        if reg is not None and not (hasattr(reg, "penalty") and hasattr(reg, "backward")):
            raise TypeError(f"Trainer: 'reg' must be None, a number or an L2 object, got {type(reg).__name__}")
        callbacks, monitors = list(callbacks), list(monitors)
        for name, seq in (("callbacks", callbacks), ("monitors", monitors)):
            for i, c in enumerate(seq):
                if not isinstance(c, Callback):
                    raise TypeError(f"Trainer: '{name}[{i}]' must be a Callback (nn_scratch.callbacks/monitors), "
                                    f"got {type(c).__name__}")
        if print_every is not None and (not isinstance(print_every, numbers.Integral) or print_every < 1):
            raise ValueError(f"Trainer: 'print_every' must be None or a positive integer, got {print_every!r}")
        if not isinstance(update_ratio_every, numbers.Integral) or update_ratio_every < 0:
            raise ValueError(f"Trainer: 'update_ratio_every' must be an integer >= 0, got {update_ratio_every!r}")
        self.model, self.loss, self.optimizer, self.reg = model, loss, optimizer, reg
        if update_ratio_every and not any(isinstance(m, UpdateRatio) for m in monitors):
            monitors.insert(0, UpdateRatio(every=int(update_ratio_every)))
        self.callbacks, self.monitors = callbacks, monitors
        self.nan_guard = NaNGuard() if nan_guard == "default" else nan_guard
        self.progress, self.print_every = bool(progress), print_every
        self.params = model.parameters()
        self.history = History()
        self.step, self.epoch, self.steps_per_epoch = 0, 0, 0
        self.stop_training = False
        self.last_eval, self.last_batch, self.data, self.batch_indices = {}, {}, {}, None
        self.params_before_step = None      # copies of the values before the latest step (guard, ratios)
        self.rng = np.random.default_rng(0)

    # -- the parts of one step ------------------------------------------------------------------------------
    @property
    def _hooked(self):
        objs = list(self.monitors) + list(self.callbacks)
        return [o for o in objs if not getattr(o, "runs_last", False)] + \
               [o for o in objs if getattr(o, "runs_last", False)]

    def _hook(self, name):
        for obj in self._hooked:
            getattr(obj, name)(self)

    def penalty(self) -> float:
        return 0.0 if self.reg is None else float(self.reg.penalty(self.params))

    def _quiet(self):
        """numpy's floating-point warnings off while the NaN guard is on: it checks the values and reports."""
        if self.nan_guard is None:
            return contextlib.nullcontext()
        return np.errstate(over="ignore", invalid="ignore", divide="ignore")

    def _train_step(self, Xb, yb):
        with self._quiet():
            self.model.train()
            scores = self.model.forward(Xb)
            if self.nan_guard is not None:
                self.nan_guard.check(self, "scores", scores)
            per_sample = self.loss.forward(scores, yb)
            data_loss = float(np.mean(per_sample, dtype=np.float64))
            objective = float(self.loss.reduce(per_sample)) + self.penalty()
            if self.nan_guard is not None:
                self.nan_guard.check(self, "loss", objective)
            self.model.backward(self.loss.backward())
            if self.reg is not None:
                self.reg.backward(self.params)
            if self.nan_guard is not None:
                self.nan_guard.check(self, "gradients", [p.grad for p in self.params])
            if self.params_before_step is None:
                self.params_before_step = [p.value.copy() for p in self.params]
            else:
                for buf, p in zip(self.params_before_step, self.params):
                    np.copyto(buf, p.value)
            lr = float(getattr(self.optimizer, "current_lr", getattr(self.optimizer, "lr", float("nan"))))
            self.optimizer.step()
            below = data_loss < self.loss.level if isinstance(self.loss, Flooding) else None
        return objective, data_loss, lr, below

    # -- evaluation ---------------------------------------------------------------------------------------------
    def predict(self, X, batch_size: int = 1024):
        """Scores (N, C) or predictions (N, K) in eval mode, computed in batches."""
        X = np.asarray(X)
        was_training = getattr(self.model, "training", True)
        self.model.eval()
        try:
            outs = [self.model.forward(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)]
        finally:
            self.model.train(was_training)
        return np.concatenate(outs, axis=0)

    def evaluate(self, X, y, batch_size: int = 1024, per_sample: bool = False) -> dict:
        """``{"loss": mean per-sample loss, "acc": accuracy or NaN}`` in eval mode, without penalty or flooding.

        With ``per_sample=True`` the dict also holds ``"losses"`` (N,) and, for classification,
        ``"correct"`` (N,) booleans.
        """
        X, y = np.asarray(X), np.asarray(y)
        if X.shape[0] != y.shape[0] or X.shape[0] == 0:
            raise ValueError(f"Trainer.evaluate: 'X' and 'y' must have the same non-zero number of rows, "
                             f"got {X.shape[0]} and {y.shape[0]}")
        with self._quiet():
            scores = self.predict(X, batch_size)
            losses = np.asarray(unwrap_loss(self.loss).forward(scores, y))
        out = {"loss": float(np.mean(losses, dtype=np.float64)), "acc": float("nan")}
        if is_classification(self.loss, y) and scores.ndim == 2:
            correct = np.argmax(scores, axis=1) == y
            out["acc"] = float(np.mean(correct))
            if per_sample:
                out["correct"] = correct
        if per_sample:
            out["losses"] = losses.astype(np.float64)
        return out

    @contextlib.contextmanager
    def evaluation_weights(self):
        """The weights evaluation uses: callbacks with ``evaluation_context`` (``WeightAverage``) swap theirs in."""
        with contextlib.ExitStack() as stack:
            for cb in self._hooked:
                ctx = getattr(cb, "evaluation_context", None)
                if ctx is not None:
                    stack.enter_context(ctx(self))
            yield

    def _run_evaluation(self):
        d = self.data
        row = {"step": self.step, "epoch": self.step / self.steps_per_epoch}
        with self.evaluation_weights():
            if d.get("eval_train", True):
                r = self.evaluate(d["X"], d["y"])
                row["train_loss_eval"], row["train_acc_eval"] = r["loss"], r["acc"]
            if d.get("X_val") is not None:
                r = self.evaluate(d["X_val"], d["y_val"])
                row["val_loss"], row["val_acc"] = r["loss"], r["acc"]
            self.last_eval = {k: row.get(k, float("nan")) for k in EVAL_COLUMNS}
            History._append(self.history.evals, self.last_eval)
            self._hook("on_evaluate")   # inside: callbacks see the weights that were evaluated
        if self.print_every:
            print(f"eval  step {self.step:6d} | epoch {row['epoch']:7.2f} | "
                  + " | ".join(f"{k} {self.last_eval[k]:.4f}" for k in EVAL_COLUMNS[2:]
                               if not math.isnan(self.last_eval[k])), flush=True)

    # -- checkpoints ------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything a resumed ``fit`` needs, as a flat dict of arrays (for ``np.savez``)."""
        st = {"format": np.array(CHECKPOINT_FORMAT), "epoch": np.int64(self.epoch), "step": np.int64(self.step),
              "rng": np.array(json.dumps(self.rng.bit_generator.state)),
              "history": np.array(self.history.to_json())}
        st.update({f"model/{k}": v for k, v in self.model.state_dict().items()})
        if hasattr(self.optimizer, "state_dict"):
            st.update({f"optim/{k}": np.asarray(v) for k, v in self.optimizer.state_dict().items()})
        for path, g in self.model.named_generators():
            st[f"model_rng/{path}"] = np.array(json.dumps(g.bit_generator.state))
        for i, cb in enumerate(self._hooked):
            if hasattr(cb, "state_dict"):
                st.update({f"callback/{i}/{k}": np.asarray(v) for k, v in cb.state_dict().items()})
        return st

    def load_state_dict(self, st: dict) -> None:
        """Restore model, optimizer, random generators, counters, History and callback states."""
        fmt = str(st.get("format", ""))
        if fmt != CHECKPOINT_FORMAT:
            raise ValueError(f"Trainer: not an nn_scratch checkpoint (format {fmt!r}, expected {CHECKPOINT_FORMAT!r})")

        def part(prefix):
            return {k[len(prefix):]: (v.item() if np.ndim(v) == 0 else v) for k, v in st.items()
                    if k.startswith(prefix)}

        self.model.load_state_dict({k: np.asarray(v) for k, v in part("model/").items()})
        if hasattr(self.optimizer, "load_state_dict"):
            self.optimizer.load_state_dict(part("optim/"))
        gens = dict(self.model.named_generators())
        for path, s in part("model_rng/").items():
            if path in gens:
                gens[path].bit_generator.state = json.loads(s)
        self.rng.bit_generator.state = json.loads(str(st["rng"]))
        self.epoch, self.step = int(st["epoch"]), int(st["step"])
        self.history = History.from_json(str(st["history"]))
        for i, cb in enumerate(self._hooked):
            if hasattr(cb, "load_state_dict"):
                cb.load_state_dict(part(f"callback/{i}/"))

    def save_checkpoint(self, path) -> str:
        """Write ``state_dict()`` to ``path`` (.npz) through a temporary file and ``os.replace``."""
        path = os.fspath(path)
        if not path.endswith(".npz"):
            raise ValueError(f"Trainer.save_checkpoint: 'path' must end with .npz, got {path!r}")
        save_npz(path, self.state_dict())
        return path

    def load_checkpoint(self, path) -> None:
        """Load a file written by ``save_checkpoint`` (``allow_pickle=False``)."""
        self.load_state_dict(load_npz(path))

    # -- the loop ----------------------------------------------------------------------------------------------
    def _check_fit_args(self, X, y, X_val, y_val, epochs, batch_size, eval_every):
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim < 2 or X.shape[0] == 0:
            raise ValueError(f"Trainer.fit: 'X' must be an array (N, D...) with N >= 1, got shape {X.shape}")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"Trainer.fit: 'y' must have one entry per row of 'X' ({X.shape[0]}), got {y.shape[0]}")
        if np.issubdtype(X.dtype, np.floating) and not np.all(np.isfinite(X)):
            raise ValueError("Trainer.fit: 'X' contains NaN or inf; clean the data first")
        if (X_val is None) != (y_val is None):
            raise ValueError("Trainer.fit: give both 'X_val' and 'y_val' or neither")
        if X_val is not None:
            X_val, y_val = np.asarray(X_val), np.asarray(y_val)
            if X_val.shape[1:] != X.shape[1:] or y_val.shape[0] != X_val.shape[0] or X_val.shape[0] == 0:
                raise ValueError(f"Trainer.fit: 'X_val' must have rows shaped like 'X' {X.shape[1:]} and one "
                                 f"label each; got X_val {X_val.shape}, y_val {y_val.shape}")
        for name, v in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"Trainer.fit: '{name}' must be a positive integer, got {v!r}")
        if eval_every is not None and (isinstance(eval_every, bool) or not isinstance(eval_every, numbers.Integral)
                                       or eval_every < 1):
            raise ValueError(f"Trainer.fit: 'eval_every' must be None (each epoch) or a positive number of "
                             f"steps, got {eval_every!r}")
        return X, y, X_val, y_val

    def fit(self, X, y, X_val=None, y_val=None, epochs: int = 10, batch_size: int = 64, seed=0,
            eval_every=None, resume_from=None, eval_train: bool = True) -> History:
        """Train for ``epochs`` epochs (in total, counting those of a resumed checkpoint); return the History.

        Each epoch draws a fresh permutation of the N training rows from a Generator seeded by ``seed`` and
        walks it in batches of ``batch_size`` (the last one may be smaller): without replacement, every row
        once per epoch.  Evaluation (training set re-measured unless ``eval_train=False``, and validation
        set) runs at each epoch end, or every ``eval_every`` steps instead.  ``resume_from`` is a checkpoint
        path (``Checkpoint`` / ``save_checkpoint``): model, optimizer, random state, History and callback
        states are restored and training continues exactly where it stopped.
        """
        X, y, X_val, y_val = self._check_fit_args(X, y, X_val, y_val, epochs, batch_size, eval_every)
        N = X.shape[0]
        self.steps_per_epoch = -(-N // batch_size)
        self.data = {"X": X, "y": y, "X_val": X_val, "y_val": y_val, "eval_train": bool(eval_train)}
        self.rng = np.random.default_rng(seed)
        self.history, self.step, self.epoch, self.stop_training = History(), 0, 0, False
        self.params_before_step = None   # not a previous fit's: the guard must not restore those
        self.history.meta.update(steps_per_epoch=self.steps_per_epoch, batch_size=int(batch_size), n_train=N,
                                 seed=seed if isinstance(seed, (int, type(None))) else repr(seed),
                                 eval_every=eval_every)
        self._hook("on_fit_begin")       # callbacks reset here; a checkpoint then restores their state
        if resume_from is not None:
            self.load_checkpoint(resume_from)
            meta = self.history.meta
            if meta.get("n_train") != N or meta.get("batch_size") != batch_size:
                raise ValueError(f"Trainer.fit: the checkpoint was made with n_train={meta.get('n_train')}, "
                                 f"batch_size={meta.get('batch_size')}; got {N}, {batch_size}. Resume with the "
                                 "same data and batch size")
        time_offset = self.history.epochs["time"][-1] if self.history.epochs["time"] else 0.0
        t0 = time.perf_counter()
        bar = None
        if self.progress and self.epoch < epochs:
            from tqdm import tqdm
            bar = tqdm(total=epochs * self.steps_per_epoch, initial=self.step, unit="step", leave=False)
        try:
            while self.epoch < epochs and not self.stop_training:
                self._hook("on_epoch_begin")
                perm = self.rng.permutation(N)
                total, count, below = 0.0, 0, 0
                for b in range(self.steps_per_epoch):
                    idx = perm[b * batch_size:(b + 1) * batch_size]
                    self.batch_indices = idx
                    self._hook("on_step_begin")
                    obj, data_loss, lr, is_below = self._train_step(X[idx], y[idx])
                    self.step += 1
                    total, count, below = total + obj * len(idx), count + len(idx), below + bool(is_below)
                    self.last_batch = {"step": self.step, "epoch": self.step / self.steps_per_epoch,
                                       "loss": obj, "data_loss": data_loss, "lr": lr}
                    History._append(self.history.steps, self.last_batch)
                    self._hook("on_step_end")
                    if bar is not None:
                        bar.update(1)
                        if self.step % 10 == 0:
                            bar.set_postfix(loss=f"{obj:.4f}", epoch=self.epoch + 1)
                    if self.print_every and self.step % self.print_every == 0:
                        print(f"step {self.step:6d} | epoch {self.step / self.steps_per_epoch:7.2f} | "
                              f"loss {obj:.4f} | lr {lr:.3g}", flush=True)
                    if eval_every and self.step % eval_every == 0:
                        self._run_evaluation()
                    if self.stop_training:
                        break
                self.epoch += 1
                if not eval_every:
                    self._run_evaluation()
                at_end = self.history.evals["step"] and self.history.evals["step"][-1] == self.step
                row = dict(self.last_eval) if at_end else {}
                row.update(epoch=self.epoch, step=self.step, train_loss=total / count,
                           flood_below_frac=below / (b + 1) if isinstance(self.loss, Flooding) else float("nan"),
                           time=time_offset + time.perf_counter() - t0)
                History._append(self.history.epochs, row)
                self._hook("on_epoch_end")
        except TrainingDiverged as err:
            err.history = self.history
            raise
        finally:
            if bar is not None:
                bar.close()
        self._hook("on_fit_end")
        return self.history
