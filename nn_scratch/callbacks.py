"""Callbacks: small objects the ``Trainer`` calls at fixed points of the loop.

Hooks (each receives the trainer; override the ones you need):
``on_fit_begin``, ``on_epoch_begin``, ``on_step_begin``, ``on_step_end`` (after the optimizer step),
``on_evaluate`` (after each evaluation, while the evaluated weights are in the model; read
``trainer.last_eval``), ``on_epoch_end`` (after the epoch's History row), ``on_fit_end``.
A callback stops training by setting ``trainer.stop_training = True``.  A callback with ``state_dict`` /
``load_state_dict`` is saved in checkpoints, so a resumed run continues it exactly; it is found again by
its ``state_name`` (default: its class name), and an optional ``check_state_dict(state, trainer)`` lets the
checkpoint reader refuse a bad state before anything is loaded (``nn_scratch.checkpoints``).

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


def _check_state(who, st, scalars, arrays=None):
    """A saved callback state: the ``scalars`` present as 0-d numbers, ``arrays`` ({key: shape}) present with
    those shapes and finite.  Raises ValueError naming the key."""
    missing = sorted(set(scalars) - set(st))
    if missing:
        raise ValueError(f"{who}: missing keys {missing}")
    for k in scalars:
        if np.ndim(st[k]) != 0 or not isinstance(np.asarray(st[k]).item(), numbers.Real):
            raise ValueError(f"{who}: '{k}' must be a number, got {st[k]!r}")
    for k, shape in (arrays or {}).items():
        if k not in st:
            raise ValueError(f"{who}: missing key {k!r}")
        v = np.asarray(st[k])
        if v.shape != tuple(shape) or v.dtype.kind != "f" or not np.all(np.isfinite(v)):
            raise ValueError(f"{who}: {k!r} must be a finite float array of shape {tuple(shape)}, got dtype "
                             f"{v.dtype} shape {v.shape}")


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

    def check_state_dict(self, st, trainer):
        """Raise ValueError unless ``st`` is a state this callback can load for ``trainer``'s model."""
        _check_state("EarlyStopping", st, ("best", "best_epoch", "best_step", "wait", "evaluations", "patience_now"))
        w = {k[2:] for k in st if k.startswith("w/")}
        if w:
            expected = trainer.model.state_dict()
            if w != set(expected):
                raise ValueError(f"EarlyStopping: the saved best weights have keys {sorted(w)[:4]}..., the model "
                                 f"has {sorted(expected)[:4]}...")
            _check_state("EarlyStopping", st, (), {f"w/{k}": v.shape for k, v in expected.items()})

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
    latest best file is kept among the best saves; ``keep="all"`` keeps every file.  The best file's path
    travels in the checkpoint, so after ``fit(resume_from=...)`` the next best still replaces it.
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
        self._best_periodic = False

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
        old, old_periodic = self.best_path, self._best_periodic
        if is_best:       # before saving: the file then knows it is the best, and a resume can delete it later
            self.best_path, self._best_periodic = path, periodic
        save_checkpoint(trainer, path)
        self.saved.append(path)
        self.last_path = path
        if periodic:
            self._periodic.add(path)
        if is_best and self.keep == "best" and old and old != path and not old_periodic \
                and old not in self._periodic:
            with contextlib.suppress(OSError):
                os.remove(old)

    def state_dict(self):
        return {"best": np.nan if self.best is None else self.best, "best_path": self.best_path or "",
                "best_periodic": bool(self._best_periodic)}

    def check_state_dict(self, st, trainer):
        """Raise ValueError unless ``st`` is a state this callback can load."""
        _check_state("Checkpoint", st, ("best",))
        if not isinstance(st.get("best_path", ""), str):
            raise ValueError(f"Checkpoint: 'best_path' must be text, got {st['best_path']!r}")

    def load_state_dict(self, st):
        self.best = None if math.isnan(st["best"]) else float(st["best"])
        self.best_path = st.get("best_path") or None         # so keep="best" still deletes it after a resume
        self._best_periodic = bool(st.get("best_periodic", False))


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
        return {"t": self.t, **{f"m/{i}": m for i, m in enumerate(self.m or [])}}   # m is None before a fit

    def check_state_dict(self, st, trainer):
        """Raise ValueError unless ``st`` holds a finite average of each of ``trainer``'s parameters."""
        if np.ndim(st.get("t")) == 0 and st.get("t") == 0 and not any(k.startswith("m/") for k in st):
            return                                     # saved before any step: nothing averaged yet
        _check_state("WeightAverage", st, ("t",), {f"m/{i}": p.value.shape for i, p in enumerate(trainer.params)})
        extra = sorted(k for k in st if k.startswith("m/") and k[2:] not in {str(i) for i in range(len(trainer.params))})
        if extra or int(st["t"]) < 0:
            raise ValueError(f"WeightAverage: 't' must be >= 0 and one average per parameter; got t={st['t']}, "
                             f"extra keys {extra}")

    def load_state_dict(self, st):
        self.t = int(st["t"])
        n = sum(k.startswith("m/") for k in st)
        if n or self.m is None:
            self.m = [np.array(st[f"m/{i}"], dtype=np.float64) for i in range(n)]


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
    """Training produced NaN or inf.  Attributes: ``step`` (the step whose values, or whose update, went
    non-finite), ``epoch`` (fractional), ``what`` (what became non-finite: "scores", "loss", "gradients",
    "weights" -- after the update -- or "scores on the validation set" / "scores on the training set" at an
    evaluation), ``names`` (the offending parameters for "gradients" / "weights", else empty), ``loss``
    (the batch objective, NaN if not computed), ``restored_step`` (the weights now in the model are those
    after this many steps; 0 = the start of the fit) and ``history`` (what was recorded up to the failure)."""

    def __init__(self, message, step, epoch, what, loss, names=(), restored_step=None):
        super().__init__(message)
        self.step, self.epoch, self.what, self.loss, self.history = step, epoch, what, loss, None
        self.names, self.restored_step = list(names), restored_step


class NaNGuard:
    """Built into the ``Trainer``: stop with ``TrainingDiverged`` as soon as a value goes NaN/inf.

    Checked at every step: the scores, the loss and the gradients before the update; the weights after the
    update of an epoch's last step and before each snapshot (below); at every evaluation, the scores.  The
    model's parameters are then put back to the trainer's latest snapshot and the exception names the step,
    what became non-finite and which parameters; it carries the History recorded so far.  The optimizer's
    state (momentum, Adam's moments) is left as it was.  While the guard is on, the trainer silences numpy's
    overflow / invalid-value warnings: this report replaces them.

    What it costs, and why it is sampled: copying every weight before every update, and scanning every
    gradient and every weight for NaN, took about 15 % of a step of a 784-1000-10 MLP (batch 64).  So:

    * the gradients are judged by their global norm, which the optimizer needs anyway (the Trainer hands
      it on: ``Optimizer.step(grad_norm=...)``); NaN or inf anywhere makes it NaN or inf, and only then
      are the arrays scanned (to name them; a finite but huge gradient that overflows the sum of squares
      is not reported);
    * the snapshot -- the weights restored on failure -- is copied before the first step of a fit and then
      before every ``snapshot_every``-th step (50 by default; more often if a monitor asks), after that
      step's scores, loss and gradients proved finite and the weights were scanned (by their norm, as the
      gradients): the restored weights are good and at most ``snapshot_every`` steps old
      (``err.restored_step`` says which);
    * a non-finite weight between two scans shows in the next step's scores or loss, or at the epoch's end.
    """

    _loss = float("nan")     # the latest finite batch objective, reported when a later check fails

    def __init__(self, snapshot_every: int = 50):
        if isinstance(snapshot_every, bool) or not isinstance(snapshot_every, numbers.Integral) or snapshot_every < 1:
            raise ValueError(f"NaNGuard: 'snapshot_every' must be a positive integer, got {snapshot_every!r}")
        self.snapshot_every = int(snapshot_every)

    @staticmethod
    def _finite(value):
        arrays = value if isinstance(value, list) else [np.asarray(value)]
        return [i for i, a in enumerate(arrays) if not np.all(np.isfinite(a))]

    def check(self, trainer, what, value, norm=None):
        """Raise ``TrainingDiverged`` if ``value`` (an array, a number or a list of arrays) is not finite.
        ``norm``: the global norm of the arrays when already known -- finite means they all are.

        ``trainer.step`` counts the finished steps, k.  "scores", "loss", "gradients" are checked before the
        update of step k + 1; "weights" right after it (not yet counted); "scores on ..." at an evaluation
        after step k, and "weights at the stop" when a callback stopped training mid-epoch after step k.  The
        weights restored are the trainer's snapshot (``params_before_step``), those after
        ``trainer.snapshot_step`` steps: at most k for "weights", at most k - 1 otherwise (their scores, loss
        and gradients were finite).  ``restore`` copies them back once every context (e.g. swapped-in
        averaged weights) has closed.
        """
        if norm is not None and math.isfinite(norm):
            return
        bad = self._finite(value)
        if not bad:
            if what == "loss":
                self._loss = float(value)
            return
        names = []
        if what in ("gradients", "weights", "weights at the stop"):
            all_names = _param_names(trainer)
            names = [all_names[i] for i in bad]
        k = trainer.step
        evaluation = what.startswith("scores on") or what == "weights at the stop"
        step = k if evaluation else k + 1
        updated = trainer.params_before_step is not None        # a snapshot was taken, an update made
        restored_step = trainer.snapshot_step if updated else k
        loss = float(value) if what == "loss" else self._loss
        spe = max(trainer.steps_per_epoch, 1)
        where = {"weights": f"in the update of step {step}", "scores": f"in the forward pass of step {step}",
                 "loss": f"in the loss of step {step}", "gradients": f"in the backward pass of step {step}",
                 "weights at the stop": f"in an update up to step {step}"}
        who = f" ({', '.join(names[:4])}{', ...' if len(names) > 4 else ''})" if names else ""
        back = (f"The weights were reset to those after step {restored_step} (the guard's latest snapshot; it "
                f"keeps one every {self.snapshot_every} steps), whose scores, loss and gradients were finite. "
                if updated else
                "No update had been made in this fit: the weights are those it started from. ")
        raise TrainingDiverged(
            f"training diverged at step {step} (epoch {step / spe:.2f}): the {what}{who} became NaN/inf "
            f"{where.get(what, f'at the evaluation after step {step}')} (last finite batch objective "
            f"{self._loss:.6g}). " + back + "Lower the learning rate, clip gradients (clip_norm=...), or check "
            "the data and the initialization scale.",
            step=step, epoch=step / spe, what=what, loss=loss, names=names, restored_step=restored_step)

    @staticmethod
    def restore(trainer):
        """Copy back the latest snapshot of the weights (no-op if no update was made in this fit)."""
        if trainer.params_before_step is not None:
            for p, v in zip(trainer.params, trainer.params_before_step):
                p.value[...] = v


def _param_names(trainer):
    named = getattr(trainer.model, "named_parameters", None)
    if callable(named):
        pairs = named()
        if len(pairs) == len(trainer.params):
            return [n for n, _ in pairs]
    return [f"parameter {i}" for i in range(len(trainer.params))]
