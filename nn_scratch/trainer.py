"""The training loop: ``Trainer``.

The trainer owns no maths: it cuts the data into mini-batches, calls the model, the loss, the penalty and
the optimizer in the order of the one protocol, and hands the trainer itself to callbacks and monitors at
fixed hooks.  Everything it measures goes into a ``History``.

The History's tables and columns (data loss, penalty and objective kept apart) are described in
``nn_scratch.history``; checkpoint files in ``nn_scratch.checkpoints``.  ``History`` and ``is_classification``
are re-exported here, so ``from nn_scratch.trainer import History`` keeps working.

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
import math
import numbers
import time

import numpy as np

from . import checkpoints
from ._checks import check_rng
from .callbacks import Callback, NaNGuard, TrainingDiverged
from .history import EVAL_COLUMNS, History
from .layers.base import skip_input_grad
from .losses import L2, Flooding, is_classification, unwrap_loss
from .optim import Optimizer, global_norm

__all__ = ["History", "Trainer", "TrainingDiverged", "is_classification"]


def _check_finite(name, X):
    if np.issubdtype(X.dtype, np.floating) and not np.all(np.isfinite(X)):
        row = int(np.argwhere(~np.isfinite(X))[0][0])
        raise ValueError(f"Trainer.fit: '{name}' contains NaN or inf (first at row {row}); clean the data first")


def _as_list(name, objs):
    """None -> []; a list/tuple -> a list; a single hook object -> a clear error."""
    if objs is None:
        return []
    if isinstance(objs, Callback) or not isinstance(objs, (list, tuple)):
        raise TypeError(f"Trainer: '{name}' must be a list of Callback objects (or None), got "
                        f"{type(objs).__name__}" + ("; wrap it in a list" if isinstance(objs, Callback) else ""))
    return list(objs)


def _check_optimizer_params(params, optimizer):
    """The optimizer must update this model's parameters (the same objects), else training changes nothing."""
    opt_params = getattr(optimizer, "params", None)
    if opt_params is None:
        return
    own = {id(p) for p in params}
    foreign = [i for i, p in enumerate(opt_params) if id(p) not in own]
    if foreign:
        raise ValueError(f"Trainer: the optimizer's parameters are not this model's ({len(foreign)} of "
                         f"{len(opt_params)} are not in model.parameters(), e.g. parameter {foreign[0]}): it "
                         "would update another model. Build it on model.parameters() of the model you train")


# -- Trainer ------------------------------------------------------------------------------------------------
class Trainer:
    """Mini-batch training of ``model`` on ``loss`` (+ an optional L2 penalty) with ``optimizer``.

    Parameters
    ----------
    model : a ``Layer`` (e.g. ``Sequential``) mapping X (N, D...) to scores (N, C) or predictions (N, K).
    loss : a ``losses.Loss`` (``SoftmaxCrossEntropy``, ``MulticlassSVM``, ``MSE``, ``Flooding(...)``).
    optimizer : an ``optim`` optimizer built on ``model.parameters()`` (or on some of them); one holding a
        parameter that is not the model's is refused -- it would train nothing of this model.
    reg : None, a number (taken as ``L2(reg)``: ``0.5 * reg * sum W^2``) or an ``L2`` object.
    callbacks : a list of ``callbacks.Callback`` objects (``EarlyStopping``, ``Checkpoint``, ``WeightAverage``,
        ...); None is the same as an empty list.
    monitors : a list of ``monitors`` objects recording into ``history.monitors``; None = empty.
    update_ratio_every : the built-in ``monitors.UpdateRatio`` records at every this-many-th step (default 10;
        0 turns it off; it is also off when ``monitors`` already holds an UpdateRatio).  Sampled, because
        it needs a copy of every weight before the step and two norms after it.
    nan_guard : a ``callbacks.NaNGuard`` (default) or None: stop with ``TrainingDiverged`` on NaN/inf in the
        scores, loss, gradients, the weights after an update or an evaluation's scores, with the latest good
        snapshot of the weights put back (one every 50 steps: see ``NaNGuard`` for what each check costs)
        and the History attached to the exception.  With
        the guard on, numpy's overflow / invalid-value warnings are silenced in training steps and in
        ``evaluate``: the guard reports a divergence, and an evaluation's loss shows it (inf / NaN).
    progress : show a tqdm bar; ``print_every`` : also print a plain line every this many steps.

    dtypes: float32 (the usual) and float64 models train; float16 is refused at construction, because
    optimizer epsilons (1e-8) round to zero and losses above 65504 overflow in float16.

    One step: ``scores = model.forward(Xb)``; ``J = loss.reduce(loss.forward(scores, yb)) + penalty``;
    ``model.backward(loss.backward())``; ``reg.backward(params)``; ``optimizer.step()``.

    Hooks, in this order for each object: monitors (``update_ratio`` first), then callbacks; an object with
    ``runs_last = True`` (``Checkpoint``) comes after all others so it saves the finished epoch.
    Attributes a callback may read: ``history``, ``step``, ``epoch`` (epochs completed), ``steps_per_epoch``,
    ``last_eval`` (the latest evaluation dict), ``last_batch`` (the latest step's row), ``batch_indices``
    (rows of X in the current batch), ``data`` (dict X, y, X_val, y_val), ``stop_training``.
    """

    def __init__(self, model, loss, optimizer, reg=None, callbacks=(), monitors=(), update_ratio_every=10,
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
        callbacks, monitors = _as_list("callbacks", callbacks), _as_list("monitors", monitors)
        for name, seq in (("callbacks", callbacks), ("monitors", monitors)):
            for i, c in enumerate(seq):
                if not isinstance(c, Callback):
                    raise TypeError(f"Trainer: '{name}[{i}]' must be a Callback (nn_scratch.callbacks/monitors), "
                                    f"got {type(c).__name__}")
        if print_every is not None and (not isinstance(print_every, numbers.Integral) or print_every < 1):
            raise ValueError(f"Trainer: 'print_every' must be None or a positive integer, got {print_every!r}")
        if not isinstance(update_ratio_every, numbers.Integral) or update_ratio_every < 0:
            raise ValueError(f"Trainer: 'update_ratio_every' must be an integer >= 0, got {update_ratio_every!r}")
        params = model.parameters()
        _check_optimizer_params(params, optimizer)
        half = [i for i, p in enumerate(params) if np.asarray(p.value).dtype == np.float16]
        if half:
            raise TypeError(f"Trainer: float16 parameters are not supported (parameter {half[0]} of the model "
                            "is float16): an optimizer's eps=1e-8 rounds to 0 in float16 and losses above 65504 "
                            "overflow to inf. Build the model with dtype=np.float32 (or float64)")
        self.model, self.loss, self.optimizer, self.reg = model, loss, optimizer, reg
        if update_ratio_every and not any(isinstance(m, UpdateRatio) for m in monitors):
            monitors.insert(0, UpdateRatio(every=int(update_ratio_every)))
        self.callbacks, self.monitors = callbacks, monitors
        self.nan_guard = NaNGuard() if nan_guard == "default" else nan_guard
        self.progress, self.print_every = bool(progress), print_every
        self.params = params
        self.history = History()
        self.step, self.epoch, self.steps_per_epoch = 0, 0, 0
        self.stop_training = False
        self.last_eval, self.last_batch, self.data, self.batch_indices = {}, {}, {}, None
        self.params_before_step = None      # the latest snapshot: copies of the values (guard, update ratios)
        self.snapshot_step = -1              # ... taken after this many steps, i.e. before step snapshot_step + 1
        self._snapshot_intervals = ()
        self._modules = model.modules()
        self._eval_batch = 1024
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

    def _train_step(self, Xb, yb, last=False):
        """One step on the batch; ``last``: the epoch's last step (the weights are scanned after it)."""
        with self._quiet():
            if not all(m.training for m in self._modules):     # cheaper than model.train() at every step
                self.model.train()
            with skip_input_grad(Xb):          # nobody reads the data's gradient: the first layer skips it
                scores = self.model.forward(Xb)
            if self.nan_guard is not None:
                self.nan_guard.check(self, "scores", scores)
            per_sample = self.loss.forward(scores, yb)
            data_loss = float(unwrap_loss(self.loss).reduce(per_sample))   # no penalty, not flooded
            penalty = self.penalty()
            objective = float(self.loss.reduce(per_sample)) + penalty
            if self.nan_guard is not None:
                self.nan_guard.check(self, "loss", objective)
            self.model.backward(self.loss.backward())
            if self.reg is not None:
                self.reg.backward(self.params)
            # the global gradient norm serves the guard and the optimizer (which would measure it anyway)
            grad_norm = None
            if self.nan_guard is not None and isinstance(self.optimizer, Optimizer):
                grad_norm = global_norm([p.grad for p in self.params])
            if self.nan_guard is not None:
                self.nan_guard.check(self, "gradients", [p.grad for p in self.params], norm=grad_norm)
            if self.params_before_step is None or self._snapshot_due(self.step + 1):
                self._take_snapshot()
            lr = float(getattr(self.optimizer, "current_lr", getattr(self.optimizer, "lr", float("nan"))))
            if grad_norm is None:
                self.optimizer.step()
            else:
                self.optimizer.step(grad_norm=grad_norm)
            # the weights are scanned when the next step takes a snapshot (it must be good) and at an epoch's
            # end (an exploding last update shows nowhere else before evaluation); in between, a non-finite
            # weight shows in the next step's scores or loss
            if self.nan_guard is not None and (last or self._snapshot_due(self.step + 2)):
                weights = [p.value for p in self.params]
                self.nan_guard.check(self, "weights", weights, norm=global_norm(weights))
            below = data_loss < self.loss.level if isinstance(self.loss, Flooding) else None
        return {"loss": data_loss, "penalty": penalty, "objective": objective, "lr": lr}, below

    def _snapshot_due(self, step) -> bool:
        """Copy the weights before step number ``step``?  When it is a multiple of an interval that the NaN
        guard or a monitor asked for (their ``snapshot_every``, collected in ``fit``); the trainer also
        copies them before a fit's first step, so the guard always has something to restore."""
        return any(step % k == 0 for k in self._snapshot_intervals)

    def _take_snapshot(self):
        if self.params_before_step is None:
            self.params_before_step = [p.value.copy() for p in self.params]
        else:
            for buf, p in zip(self.params_before_step, self.params):
                np.copyto(buf, p.value)
        self.snapshot_step = self.step

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
        """``{"loss": data loss, "acc": accuracy or NaN}`` in eval mode, without penalty or flooding.

        The loss is the loss's own reduction of the per-sample losses (``unwrap_loss(loss).reduce``: the
        mean for the built-in losses), the same "data loss" the History's ``loss`` columns hold.

        With ``per_sample=True`` the dict also holds ``"losses"`` (N,) and, for classification,
        ``"correct"`` (N,) booleans.
        """
        return self._evaluate(X, y, batch_size, per_sample)

    def _evaluate(self, X, y, batch_size=1024, per_sample=False, guard_as=None):
        """``evaluate``; inside ``fit`` (``guard_as`` = "training set" / "validation set") the NaN guard
        checks the scores first, so a diverged model stops with ``TrainingDiverged``."""
        X, y = np.asarray(X), np.asarray(y)
        if X.shape[0] != y.shape[0] or X.shape[0] == 0:
            raise ValueError(f"Trainer.evaluate: 'X' and 'y' must have the same non-zero number of rows, "
                             f"got {X.shape[0]} and {y.shape[0]}")
        with self._quiet():
            scores = self.predict(X, batch_size)
            if guard_as is not None and self.nan_guard is not None:
                self.nan_guard.check(self, f"scores on the {guard_as}", scores)
            losses = np.asarray(unwrap_loss(self.loss).forward(scores, y))
        out = {"loss": float(unwrap_loss(self.loss).reduce(losses)), "acc": float("nan")}
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
            if d.get("X_train_eval") is not None:
                r = self._evaluate(d["X_train_eval"], d["y_train_eval"], self._eval_batch,
                                   guard_as="training set")
                row["train_loss_eval"], row["train_acc_eval"] = r["loss"], r["acc"]
            if d.get("X_val") is not None:
                r = self._evaluate(d["X_val"], d["y_val"], self._eval_batch, guard_as="validation set")
                row["val_loss"], row["val_acc"] = r["loss"], r["acc"]
            self.last_eval = {k: row.get(k, float("nan")) for k in EVAL_COLUMNS}
            History._append(self.history.evals, self.last_eval)
            self._hook("on_evaluate")   # inside: callbacks see the weights that were evaluated
        if self.print_every:
            print(f"eval  step {self.step:6d} | epoch {row['epoch']:7.2f} | "
                  + " | ".join(f"{k} {self.last_eval[k]:.4f}" for k in EVAL_COLUMNS[2:]
                               if not math.isnan(self.last_eval[k])), flush=True)

    # -- checkpoints (the format and its checks live in nn_scratch.checkpoints) ------------------------------
    def state_dict(self) -> dict:
        """Everything a resumed ``fit`` needs, as a flat dict of arrays (for ``np.savez``)."""
        return checkpoints.trainer_state(self)

    def load_state_dict(self, st: dict) -> None:
        """Restore model, optimizer, random generators, counters, History and callback states."""
        checkpoints.restore_trainer(self, st)

    def save_checkpoint(self, path) -> str:
        """Write ``state_dict()`` to ``path`` (.npz) atomically (temporary file, then ``os.replace``)."""
        return checkpoints.save_checkpoint(self, path)

    def load_checkpoint(self, path) -> None:
        """Load a file written by ``save_checkpoint`` (``allow_pickle=False``)."""
        checkpoints.load_checkpoint(self, path)

    # -- the loop ----------------------------------------------------------------------------------------------
    def _check_fit_args(self, X, y, X_val, y_val, epochs, batch_size, eval_every, drop_last):
        """Every argument of ``fit``, checked before any weight changes (the labels through the loss)."""
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim < 2 or X.shape[0] == 0:
            raise ValueError(f"Trainer.fit: 'X' must be an array (N, D...) with N >= 1, got shape {X.shape}")
        if y.ndim == 0 or y.shape[0] != X.shape[0]:
            raise ValueError(f"Trainer.fit: 'y' must have one entry per row of 'X' ({X.shape[0]}), got shape "
                             f"{y.shape}")
        _check_finite("X", X)
        if (X_val is None) != (y_val is None):
            raise ValueError("Trainer.fit: give both 'X_val' and 'y_val' or neither")
        if X_val is not None:
            X_val, y_val = np.asarray(X_val), np.asarray(y_val)
            if X_val.ndim != X.ndim or X_val.shape[1:] != X.shape[1:] or X_val.shape[0] == 0:
                raise ValueError(f"Trainer.fit: 'X_val' must have N >= 1 rows shaped like those of 'X' "
                                 f"{X.shape[1:]}, got shape {X_val.shape}")
            if y_val.ndim == 0 or y_val.shape[0] != X_val.shape[0]:
                raise ValueError(f"Trainer.fit: 'y_val' must have one entry per row of 'X_val' ({X_val.shape[0]}), "
                                 f"got shape {y_val.shape}")
            _check_finite("X_val", X_val)
        for name, v in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"Trainer.fit: '{name}' must be a positive integer, got {v!r}")
        if eval_every is not None and (isinstance(eval_every, bool) or not isinstance(eval_every, numbers.Integral)
                                       or eval_every < 1):
            raise ValueError(f"Trainer.fit: 'eval_every' must be None (each epoch) or a positive number of "
                             f"steps, got {eval_every!r}")
        if not isinstance(drop_last, (bool, np.bool_)):
            raise TypeError(f"Trainer.fit: 'drop_last' must be True or False, got {drop_last!r}")
        if drop_last and batch_size > X.shape[0]:
            raise ValueError(f"Trainer.fit: drop_last=True with batch_size={batch_size} but only {X.shape[0]} "
                             "training rows: no full batch is left; lower batch_size or set drop_last=False")
        # the labels, through the loss (it knows its targets: class indices, per-token labels, values)
        check = getattr(self.loss, "check_targets", None)
        if check is not None:
            shape = self._scores_shape(X)
            for name, rows, targets in (("y", X.shape[0], y), ("y_val", None if X_val is None else X_val.shape[0],
                                                                y_val)):
                if rows is None:
                    continue
                try:
                    checked = check((rows,) + tuple(shape[1:]), targets, name=name)
                except (ValueError, TypeError) as err:
                    raise type(err)(f"Trainer.fit: {err}") from None
                if name == "y":
                    y = y if checked is None else np.asarray(checked)
                else:
                    y_val = y_val if checked is None else np.asarray(checked)
        return X, y, X_val, y_val

    def _scores_shape(self, X):
        """The shape of the model's output for one row of ``X`` (eval mode, so nothing random is drawn)."""
        was_training = getattr(self.model, "training", True)
        self.model.eval()
        try:
            with self._quiet():
                return np.shape(self.model.forward(X[:1]))
        finally:
            self.model.train(was_training)

    @staticmethod
    def _train_eval_rows(eval_train, N, n_val, seed):
        """Rows of X re-measured at each evaluation: None (off), ``slice(None)`` (all) or sorted indices."""
        if eval_train is False:
            return None
        if eval_train is True:
            n = max(5000, n_val if n_val is not None else N // 5)
        elif isinstance(eval_train, str) and eval_train == "all":
            return slice(None)
        elif isinstance(eval_train, numbers.Integral) and not isinstance(eval_train, bool) and eval_train >= 1:
            n = int(eval_train)
        else:
            raise ValueError(f"Trainer.fit: 'eval_train' must be True (a seeded subset of a large training set), "
                             f"'all', a positive number of rows or False; got {eval_train!r}")
        if n >= N:
            return slice(None)
        subset_seed = seed if isinstance(seed, numbers.Integral) else 0
        return np.sort(np.random.default_rng(subset_seed).choice(N, size=n, replace=False))

    def fit(self, X, y, X_val=None, y_val=None, epochs: int = 10, batch_size: int = 64, seed=0,
            eval_every=None, resume_from=None, eval_train=True, drop_last: bool = False) -> History:
        """Train for ``epochs`` epochs (in total, counting those of a resumed checkpoint); return the History.

        Each epoch draws a fresh permutation of the N training rows from a Generator seeded by ``seed`` and
        walks it in batches of ``batch_size``: without replacement, every row once per epoch.  When N is not
        a multiple of ``batch_size`` the last batch is short (N mod batch_size rows).  ``drop_last=True``
        skips it instead (those rows, different ones each epoch, sit that epoch out), so every step sees a
        full batch.  It matters when the short batch is much smaller than ``batch_size`` and evaluation
        follows it: with 5000 rows and batch 64 each epoch ends with an 8-row step at the full learning
        rate -- a noisy gradient with 8x the usual variance -- right before the end-of-epoch evaluation,
        which makes the validation curve visibly spikier.
        Evaluation (training set re-measured unless ``eval_train=False``, and validation set) runs at each
        epoch end, or every ``eval_every`` steps instead.

        ``eval_train`` says which training rows are re-measured: True (default) the whole training set up
        to 5000 rows; for a larger set a fixed subset drawn once per fit with ``seed``, as large as the
        validation set (a fifth of N without one) and at least 5000 rows.  Re-measuring every row costs
        about a third of an epoch (a forward pass is about half the arithmetic of a training step); the
        subset bounds it (MNIST 50 000 + 10 000 validation rows: 10 000 rows, about 6 % of an epoch).
        ``"all"``: every row; an int: that many rows; False: none.  ``history.meta["train_eval_rows"]`` and
        ``["train_eval_subset"]`` record which.  ``resume_from`` is a checkpoint path
        (``Checkpoint`` / ``save_checkpoint``): model, optimizer, random state, History and callback
        states are restored and training continues exactly where it stopped.

        Checked before the first step (the weights are untouched on error): shapes, NaN/inf in ``X`` and
        ``X_val``, and ``y`` / ``y_val`` against the loss (``loss.check_targets``: class labels in range
        for classification, the scores' shape for ``MSE``).  On NaN/inf during training (with the default
        NaN guard) it raises ``TrainingDiverged``, the last good weights in the model and the History so
        far in ``err.history``.
        """
        X, y, X_val, y_val = self._check_fit_args(X, y, X_val, y_val, epochs, batch_size, eval_every, drop_last)
        N = X.shape[0]
        self.steps_per_epoch = N // batch_size if drop_last else -(-N // batch_size)
        self.rng = check_rng("seed", seed, who="Trainer.fit")
        rows = self._train_eval_rows(eval_train, N, None if X_val is None else X_val.shape[0], seed)
        whole = isinstance(rows, slice)
        self.data = {"X": X, "y": y, "X_val": X_val, "y_val": y_val, "eval_train": rows is not None,
                     "X_train_eval": X if whole else (None if rows is None else X[rows]),
                     "y_train_eval": y if whole else (None if rows is None else y[rows])}
        self.history, self.step, self.epoch, self.stop_training = History(), 0, 0, False
        self.params_before_step = None   # not a previous fit's: the guard must not restore those
        self._modules = self.model.modules()
        # evaluation batches: large for rows of features (bigger matrix products), 256 for images, whose
        # convolutions unroll each one into columns ~25x its size (1024 images: ~80 MB, 3x slower per image)
        self._eval_batch = 1024 if X.ndim == 2 else 256
        self.history.meta.update(steps_per_epoch=self.steps_per_epoch, batch_size=int(batch_size), n_train=N,
                                 seed=seed if isinstance(seed, (int, type(None))) else repr(seed),
                                 eval_every=eval_every, drop_last=bool(drop_last),
                                 reg=None if self.reg is None else float(getattr(self.reg, "reg", float("nan"))),
                                 flood_level=self.loss.level if isinstance(self.loss, Flooding) else None,
                                 train_eval_rows=0 if rows is None else (N if whole else len(rows)),
                                 train_eval_subset=None if rows is None or whole else
                                 f"{len(rows)} of {N} rows drawn with seed "
                                 f"{seed if isinstance(seed, numbers.Integral) else 0}",
                                 update_ratio_every=next((int(m.every) for m in self.monitors
                                                          if getattr(m, "key", None) == "update_ratio"), 0),
                                 snapshot_every=getattr(self.nan_guard, "snapshot_every", None))
        self._hook("on_fit_begin")       # callbacks reset here; a checkpoint then restores their state
        # weight snapshots: as often as the guard and the monitors ask (their ``snapshot_every``, 0 = never)
        self._snapshot_intervals = tuple(sorted({int(k) for k in (getattr(o, "snapshot_every", 0) for o in
                                                                   [self.nan_guard, *self._hooked]) if k}))
        if resume_from is not None:
            checkpoints.load_checkpoint(self, resume_from, expect_meta={
                "n_train": N, "batch_size": int(batch_size), "drop_last": bool(drop_last)})
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
                totals, count, below = {"loss": 0.0, "penalty": 0.0, "objective": 0.0}, 0, 0
                for b in range(self.steps_per_epoch):
                    idx = perm[b * batch_size:(b + 1) * batch_size]
                    self.batch_indices = idx
                    self._hook("on_step_begin")
                    values, is_below = self._train_step(X[idx], y[idx], last=b == self.steps_per_epoch - 1)
                    self.step += 1
                    for k in totals:
                        totals[k] += values[k] * len(idx)
                    count, below = count + len(idx), below + bool(is_below)
                    self.last_batch = {"step": self.step, "epoch": self.step / self.steps_per_epoch, **values}
                    History._append(self.history.steps, self.last_batch)
                    self._hook("on_step_end")
                    if bar is not None:
                        bar.update(1)
                        if self.step % 10 == 0:
                            bar.set_postfix(loss=f"{values['loss']:.4f}", epoch=self.epoch + 1)
                    if self.print_every and self.step % self.print_every == 0:
                        print(f"step {self.step:6d} | epoch {self.step / self.steps_per_epoch:7.2f} | "
                              f"loss {values['loss']:.4f} | objective {values['objective']:.4f} | "
                              f"lr {values['lr']:.3g}", flush=True)
                    if eval_every and self.step % eval_every == 0:
                        self._run_evaluation()
                    if self.stop_training:
                        if self.nan_guard is not None and b < self.steps_per_epoch - 1:   # not scanned yet
                            with self._quiet():
                                self.nan_guard.check(self, "weights at the stop",
                                                     [p.value for p in self.params])
                        break
                self.epoch += 1
                if not eval_every:
                    self._run_evaluation()
                at_end = self.history.evals["step"] and self.history.evals["step"][-1] == self.step
                row = dict(self.last_eval) if at_end else {}
                row.update(epoch=self.epoch, step=self.step, train_loss=totals["loss"] / count,
                           train_penalty=totals["penalty"] / count, train_objective=totals["objective"] / count,
                           flood_below_frac=below / (b + 1) if isinstance(self.loss, Flooding) else float("nan"),
                           time=time_offset + time.perf_counter() - t0)
                History._append(self.history.epochs, row)
                self._hook("on_epoch_end")
        except TrainingDiverged as err:
            # here every context (swapped-in averaged weights) has closed: put back the last good weights
            if self.nan_guard is not None and hasattr(self.nan_guard, "restore"):
                self.nan_guard.restore(self)
            err.history = self.history
            raise
        finally:
            if bar is not None:
                bar.close()
        self._hook("on_fit_end")
        return self.history
