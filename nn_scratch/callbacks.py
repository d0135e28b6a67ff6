"""Callbacks: small objects the ``Trainer`` calls at fixed points of the loop.

Hooks (each receives the trainer; override the ones you need):
``on_fit_begin``, ``on_epoch_begin``, ``on_step_begin``, ``on_step_end`` (after the optimizer step),
``on_evaluate`` (after each evaluation, while the evaluated weights are in the model; read
``trainer.last_eval``), ``on_epoch_end`` (after the epoch's History row), ``on_fit_end``.
A callback stops training by setting ``trainer.stop_training = True``.  A callback with ``state_dict`` /
``load_state_dict`` is saved in checkpoints, so a resumed run continues it exactly.

* ``EarlyStopping``  -- stop when a monitored metric stops improving; restore the best weights
* ``Checkpoint``     -- save the best and/or every k-th epoch as ``.npz``; ``fit(resume_from=path)``
* ``WeightAverage``  -- bias-corrected exponential moving average of the weights, used for evaluation
* ``ObserveMetric``  -- feed a metric to a plateau schedule (``schedules.ReduceOnPlateau``)
* ``NaNGuard``       -- built into the trainer: stop with ``TrainingDiverged`` when the loss is NaN/inf
"""
from __future__ import annotations

import contextlib
import math
import numbers
import os

import numpy as np

from ._checks import check_bool, check_int, check_number
from .checkpoints import save_checkpoint
from .losses import is_classification

__all__ = ["Callback", "EarlyStopping", "Checkpoint", "WeightAverage", "ObserveMetric", "NaNGuard",
           "TrainingDiverged"]

MONITORABLE = ("val_loss", "val_acc", "train_loss_eval", "train_acc_eval")


class Callback:
    """Base class: every hook does nothing."""

    def on_fit_begin(self, trainer): pass
    def on_fit_end(self, trainer): pass
    def on_epoch_begin(self, trainer): pass
    def on_epoch_end(self, trainer): pass
    def on_step_begin(self, trainer): pass
    def on_step_end(self, trainer): pass
    def on_evaluate(self, trainer): pass


# -- improvement bookkeeping shared by EarlyStopping and Checkpoint -------------------------------------------
def _check_monitor(who, monitor, mode, min_delta=0.0):
    if monitor not in MONITORABLE:
        raise ValueError(f"{who}: 'monitor' must be one of {MONITORABLE}, got {monitor!r}")
    if mode not in ("min", "max"):
        raise ValueError(f"{who}: 'mode' must be given explicitly as 'min' (for a loss) or 'max' (for an "
                         f"accuracy), got {mode!r}")
    check_number("min_delta", min_delta, who=who, low=0)


def _check_monitor_available(who, monitor, trainer):
    d = trainer.data
    if monitor.startswith("val_") and d.get("X_val") is None:
        raise ValueError(f"{who}: monitor {monitor!r} needs validation data; pass X_val and y_val to fit, "
                         "or monitor 'train_loss_eval'")
    if monitor.startswith("train_") and not d.get("eval_train", True):
        raise ValueError(f"{who}: monitor {monitor!r} needs fit(eval_train=True)")
    if monitor.endswith("_acc") and not is_classification(trainer.loss, d["y"]):
        raise ValueError(f"{who}: monitor {monitor!r} is an accuracy, but this is a regression problem; "
                         "monitor a loss instead")


def _improved(value, best, mode, min_delta):
    if math.isnan(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _epoch_of(trainer):
    """The (possibly fractional) epoch of the latest evaluation; an int at epoch ends."""
    e = trainer.last_eval.get("epoch", trainer.epoch)
    return int(round(e)) if abs(e - round(e)) < 1e-12 else float(e)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` evaluations; keep the best weights.

    Parameters
    ----------
    monitor : "val_loss" (default), "val_acc", "train_loss_eval" or "train_acc_eval".
    mode : "min" or "max" -- required; there is no guessing from the name.
    min_delta : an improvement must beat the best by more than this.
    patience : evaluations without improvement before stopping.  Evaluations happen once per epoch by
        default, so patience is in epochs; with ``fit(eval_every=N)`` it counts evaluations (N steps each).
    adaptive : the rule from the on-line stopping thread of seed 000: when a new best arrives at the e-th
        evaluation, patience becomes ``max(patience, e)`` -- a best that took long to reach earns as long
        a wait for the next one.
    restore_best : put the best weights back at the end of training -- also when training ran to the last
        epoch without stopping early.  The first finite evaluation is always a best, so there is a defined
        best state even when the metric never improves afterwards.  A NaN value never improves; if every
        value is NaN there is no best (``best_epoch`` None) and nothing is restored.

    After ``fit``: ``best``, ``best_epoch``, ``best_step``, ``stopped_epoch`` (None if it never stopped),
    ``patience_now`` (grown by the adaptive rule) and ``restored`` (bool); the same summary is written to
    ``history.meta["early_stopping"]``.
    """

    def __init__(self, monitor="val_loss", mode=None, min_delta=0.0, patience=5, adaptive=False,
                 restore_best=True, verbose=False):
        _check_monitor("EarlyStopping", monitor, mode, min_delta)
        check_int("patience", patience, minimum=1, who="EarlyStopping")
        for name, flag in (("adaptive", adaptive), ("restore_best", restore_best), ("verbose", verbose)):
            check_bool(name, flag, who="EarlyStopping")
        self.monitor, self.mode, self.min_delta = monitor, mode, float(min_delta)
        self.patience, self.adaptive, self.restore_best = int(patience), bool(adaptive), bool(restore_best)
        self.verbose = verbose
        self._reset()

    def _reset(self):
        self.best, self.best_epoch, self.best_step, self.best_weights = None, None, None, None
        self.wait, self.evaluations, self.patience_now = 0, 0, self.patience
        self.stopped_epoch, self.restored = None, False

    def on_fit_begin(self, trainer):
        _check_monitor_available("EarlyStopping", self.monitor, trainer)
        self._reset()

    def on_evaluate(self, trainer):
        value = float(trainer.last_eval[self.monitor])
        self.evaluations += 1
        if _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.best_step = value, _epoch_of(trainer), trainer.step
            self.best_weights = trainer.model.state_dict()
            self.wait = 0
            if self.adaptive:
                self.patience_now = max(self.patience_now, self.evaluations)
        else:
            self.wait += 1
            if self.wait >= self.patience_now:
                trainer.stop_training = True
                self.stopped_epoch = _epoch_of(trainer)
                if self.verbose:
                    print(f"EarlyStopping: no improvement of {self.monitor} for {self.wait} evaluations; "
                          f"stopping at epoch {self.stopped_epoch} (best {self.best:.4f} at epoch "
                          f"{self.best_epoch})", flush=True)
        self._summary(trainer)

    def on_fit_end(self, trainer):
        if self.restore_best and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)
            self.restored = True
        self._summary(trainer)

    def _summary(self, trainer):
        trainer.history.meta["early_stopping"] = {
            "monitor": self.monitor, "mode": self.mode, "best": self.best, "best_epoch": self.best_epoch,
            "best_step": self.best_step, "stopped_epoch": self.stopped_epoch, "patience": self.patience_now,
            "restored": self.restored}

    # -- checkpointing ----------------------------------------------------------------------------------------
    def state_dict(self):
        st = {"best": np.nan if self.best is None else self.best,
              "best_epoch": np.nan if self.best_epoch is None else self.best_epoch,
              "best_step": -1 if self.best_step is None else self.best_step,
              "wait": self.wait, "evaluations": self.evaluations, "patience_now": self.patience_now}
        if self.best_weights is not None:
            st.update({f"w/{k}": v for k, v in self.best_weights.items()})
        return st

    def load_state_dict(self, st):
        self.best = None if math.isnan(st["best"]) else float(st["best"])
        be = st["best_epoch"]
        self.best_epoch = None if math.isnan(be) else (int(be) if float(be).is_integer() else float(be))
        self.best_step = None if st["best_step"] < 0 else int(st["best_step"])
        self.wait, self.evaluations = int(st["wait"]), int(st["evaluations"])
        self.patience_now = int(st["patience_now"])
        w = {k[2:]: np.array(v) for k, v in st.items() if k.startswith("w/")}
        self.best_weights = w or None


class Checkpoint(Callback):
    """Save the training state as ``.npz`` at epoch ends: the best so far and/or every ``every`` epochs.

    A file holds the model's ``state_dict``, the optimizer's state, the trainer's random state (and the
    layers' generators), the epoch and step counters, the History so far and the callbacks' states, so
    ``Trainer.fit(..., resume_from=path)`` continues exactly: the resumed History equals an uninterrupted
    run's.  Files are written to a temporary file and renamed (``os.replace``); they are read with
    ``allow_pickle=False``.

    ``filename`` is formatted with ``epoch``, ``step``, ``monitor`` and ``value`` (the monitored value of the
    latest evaluation), e.g. ``ckpt_epoch007_val_loss0.1234.npz``.  With ``keep="best"`` (default) only the
    latest best file is kept among the best saves; ``keep="all"`` keeps every file.
    After fit: ``best_path``, ``last_path``, ``saved`` (every path written, in order).
    """

    runs_last = True   # saves after every other callback has finished the epoch

    def __init__(self, dirpath, monitor="val_loss", mode=None, save_best=True, every=None,
                 filename="ckpt_epoch{epoch:03d}_{monitor}{value:.4f}.npz", keep="best"):
        if save_best:
            _check_monitor("Checkpoint", monitor, mode)
        if every is not None and (isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1):
            raise ValueError(f"Checkpoint: 'every' must be None or a positive number of epochs, got {every!r}")
        if not save_best and every is None:
            raise ValueError("Checkpoint: nothing to save; set save_best=True (with monitor and mode) or every=k")
        if not str(filename).endswith(".npz"):
            raise ValueError(f"Checkpoint: 'filename' must end with .npz, got {filename!r}")
        if keep not in ("best", "all"):
            raise ValueError(f"Checkpoint: 'keep' must be 'best' or 'all', got {keep!r}")
        if not isinstance(dirpath, (str, os.PathLike)) or not os.fspath(dirpath):
            raise TypeError(f"Checkpoint: 'dirpath' must be a non-empty folder path (str or Path), got {dirpath!r}")
        self.dirpath, self.monitor, self.mode = os.fspath(dirpath), monitor, mode
        self.save_best, self.every, self.filename, self.keep = bool(save_best), every, str(filename), keep
        self._reset()

    def _reset(self):
        self.best, self.best_path, self.last_path, self.saved, self._periodic = None, None, None, [], set()

    def on_fit_begin(self, trainer):
        if self.save_best:
            _check_monitor_available("Checkpoint", self.monitor, trainer)
        os.makedirs(self.dirpath, exist_ok=True)
        self._reset()

    def path_for(self, trainer) -> str:
        value = float(trainer.last_eval.get(self.monitor, float("nan"))) if self.monitor else float("nan")
        name = self.filename.format(epoch=trainer.epoch, step=trainer.step, monitor=self.monitor or "",
                                    value=value)
        return os.path.join(self.dirpath, name)

    def on_epoch_end(self, trainer):
        is_best = False
        if self.save_best:
            value = float(trainer.last_eval.get(self.monitor, float("nan")))
            is_best = _improved(value, self.best, self.mode, 0.0)
            if is_best:
                self.best = value
        periodic = self.every is not None and trainer.epoch % self.every == 0
        if not (is_best or periodic):
            return
        path = self.path_for(trainer)
        save_checkpoint(trainer, path)
        self.saved.append(path)
        self.last_path = path
        if periodic:
            self._periodic.add(path)
        if is_best:
            old, self.best_path = self.best_path, path
            if self.keep == "best" and old and old != path and old not in self._periodic:
                with contextlib.suppress(OSError):
                    os.remove(old)

    def state_dict(self):
        return {"best": np.nan if self.best is None else self.best}

    def load_state_dict(self, st):
        self.best = None if math.isnan(st["best"]) else float(st["best"])


class WeightAverage(Callback):
    """Exponential moving average of the parameters, bias-corrected, swapped in for evaluation.

    After step t:  ``m_t = decay * m_{t-1} + (1 - decay) * W_t``  with ``m_0 = 0``, and the average used is
    ``m_t / (1 - decay^t)`` -- without the correction the early average is pulled toward zero (after one
    step it would be ``(1 - decay) W_1``); with it, constant weights average to themselves exactly.
    The running sum is kept in float64.

    ``evaluate_with_average=True``: the trainer's evaluations (and the ``on_evaluate`` callbacks) see the
    averaged weights; ``apply_at_end=True`` leaves them in the model after ``fit``.  Anywhere else::

        with weight_average.swapped():
            trainer.evaluate(X_test, y_test)
    """

    def __init__(self, decay=0.999, evaluate_with_average=True, apply_at_end=False):
        check_number("decay", decay, who="WeightAverage", low=0, high=1, high_open=True)
        self.decay, self.evaluate_with_average, self.apply_at_end = float(decay), bool(evaluate_with_average), \
            bool(apply_at_end)
        self.params, self.m, self.t = None, None, 0

    def on_fit_begin(self, trainer):
        self.params = trainer.params
        self.m = [np.zeros(p.shape, dtype=np.float64) for p in self.params]
        self.t = 0

    def on_step_end(self, trainer):
        self.t += 1
        for m, p in zip(self.m, self.params):
            m *= self.decay
            m += (1.0 - self.decay) * p.value

    def averaged(self) -> list:
        """The bias-corrected average of each parameter, in the parameter's dtype."""
        if not self.t or self.params is None:
            raise ValueError("WeightAverage: no step has been averaged yet (use it as a Trainer callback)")
        c = 1.0 - self.decay ** self.t
        return [(m / c).astype(p.dtype) for m, p in zip(self.m, self.params)]

    @contextlib.contextmanager
    def swapped(self):
        """Within the block the parameters hold the average; the raw weights come back afterwards."""
        saved = [p.value.copy() for p in self.params]
        try:
            for p, a in zip(self.params, self.averaged()):
                p.value[...] = a
            yield self
        finally:
            for p, s in zip(self.params, saved):
                p.value[...] = s

    def evaluation_context(self, trainer):
        return self.swapped() if self.evaluate_with_average and self.t else contextlib.nullcontext()

    def on_fit_end(self, trainer):
        if self.apply_at_end and self.t:
            for p, a in zip(self.params, self.averaged()):
                p.value[...] = a

    def state_dict(self):
        return {"t": self.t, **{f"m/{i}": m for i, m in enumerate(self.m)}}

    def load_state_dict(self, st):
        self.t = int(st["t"])
        self.m = [np.array(st[f"m/{i}"], dtype=np.float64) for i in range(len(st) - 1)]


class ObserveMetric(Callback):
    """Hand a monitored metric to an object with ``observe(value)`` after every evaluation -- e.g. a
    ``schedules.ReduceOnPlateau`` used as the optimizer's learning rate::

        plateau = ReduceOnPlateau(0.1, factor=0.5, patience=3)
        trainer = Trainer(model, loss, SGD(model.parameters(), lr=plateau),
                          callbacks=[ObserveMetric(plateau, "val_loss")])

    (The schedule's state travels with the optimizer's ``state_dict``, so checkpoints resume it.)
    """

    def __init__(self, target, monitor="val_loss"):
        if not callable(getattr(target, "observe", None)):
            raise TypeError(f"ObserveMetric: 'target' must have an observe(value) method, "
                            f"got {type(target).__name__}")
        if monitor not in MONITORABLE:
            raise ValueError(f"ObserveMetric: 'monitor' must be one of {MONITORABLE}, got {monitor!r}")
        self.target, self.monitor = target, monitor

    def on_fit_begin(self, trainer):
        _check_monitor_available("ObserveMetric", self.monitor, trainer)

    def on_evaluate(self, trainer):
        self.target.observe(float(trainer.last_eval[self.monitor]))


class TrainingDiverged(FloatingPointError):
    """Training produced NaN or inf.  Attributes: ``step`` (the step that failed), ``epoch`` (fractional),
    ``what`` ("scores", "loss" or "gradients"), ``loss`` (the objective, NaN if not computed), ``history``."""

    def __init__(self, message, step, epoch, what, loss):
        super().__init__(message)
        self.step, self.epoch, self.what, self.loss, self.history = step, epoch, what, loss, None


class NaNGuard:
    """Built into the ``Trainer``: before each update, the scores, the loss and the gradients must be finite.

    When one is not, the parameters are put back to their values before the previous update (the last
    ones whose loss and gradients were finite; the optimizer's state is left as is) and
    ``TrainingDiverged`` is raised naming the step, the epoch and the loss value.  While it is on, the
    trainer silences numpy's overflow / invalid-value warnings: this report replaces them.
    """

    _loss = float("nan")     # the latest finite batch objective, reported when the gradients fail

    def check(self, trainer, what, value):
        arrays = value if isinstance(value, list) else [np.asarray(value)]
        if all(np.all(np.isfinite(a)) for a in arrays):
            if what == "loss":
                self._loss = float(value)
            return
        loss = float(value) if what == "loss" else (self._loss if what == "gradients" else float("nan"))
        step = trainer.step + 1
        restored = trainer.params_before_step is not None
        if restored:
            for p, v in zip(trainer.params, trainer.params_before_step):
                p.value[...] = v
        spe = max(trainer.steps_per_epoch, 1)
        raise TrainingDiverged(
            f"training diverged at step {step} (epoch {step / spe:.2f}): the {what} became NaN/inf "
            f"(batch objective {loss!r}). "
            + (f"The weights were reset to those before step {step - 1}, the last with finite loss and "
               "gradients. " if restored else "No update had been made in this fit yet: the weights are those it "
               "started from. ")
            + "Lower the learning rate, clip gradients (clip_norm=...), or check the data and the "
              "initialization scale.", step=step, epoch=step / spe, what=what, loss=loss)
