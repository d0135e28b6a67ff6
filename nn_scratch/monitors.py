"""Monitors: what the trainer records during training beyond losses and accuracies ("babysitting").

A monitor is a ``Callback`` that writes one table into ``history.monitors[key]`` with
``history.record(key, **columns)``.  Every table is a dict of equal-length lists, one entry per record,
and always has the columns ``step`` (steps taken, int) and ``epoch`` (fractional, float).

Record keys and columns
-----------------------
``"update_ratio"`` -- ``UpdateRatio`` (built into the Trainer, every 10th step by default)
    ``step``, ``epoch``, and one column per parameter, named by ``model.named_parameters()``
    (e.g. ``"layers.0.W"``, ``"layers.0.b"``): ``||W_after - W_before|| / ||W_before||``, the size of the
    update actually made (learning rate, momentum and all) relative to the weights.  The lecture notes'
    rule of thumb: about 1e-3; much lower -> learning rate too low, much higher -> too high.
    NaN while ``||W_before|| = 0`` (biases initialized at zero, first step).

``"per_sample_loss"`` -- ``PerSampleLoss`` (validation set by default)
    ``step``, ``epoch``, ``losses`` (list of N floats, the per-sample losses in eval mode, no penalty),
    ``correct`` (list of N bools; empty list for regression).  ``np.array(table["losses"])`` is (T, N).

``"activations"`` -- ``ActivationStats`` (a fixed probe batch through the model in eval mode)
    ``step``, ``epoch``, ``layers``: per record a list with one dict per layer (the output of
    ``model.layers[i]`` for a ``Sequential``, else of the whole model)::

        {"name": "layers.1", "type": "ReLU", "mean", "std", "min", "max", "frac_zero",
         "hist": counts (bins,), "edges": bin edges (bins + 1,), "sample": up to sample_size values}

``"gradients"`` -- ``GradientStats`` (the probe batch forward in eval mode, then backward)
    ``step``, ``epoch``, ``layers``: per record one dict per layer as above (same keys) describing
    dLoss/d(output of that layer), and ``params``: one dict per parameter
    ``{"name", "mean", "std", "norm", "hist", "edges"}`` describing its gradient.

``WeightSnapshots`` keeps copies of every weight matrix in memory (``.steps``, ``.values[name]``: a list of
flat float64 arrays) rather than in the History, for the weight-distribution heatmap; it records nothing.

When: ``every`` epochs (at epoch ends) by default, or at explicit step counts ``at_steps`` (e.g.
``analysis.log_spaced_steps(total, 20)``; step 0 means before the first update).
"""
from __future__ import annotations

import numbers

import numpy as np

from ._checks import check_int, check_rng
from .callbacks import Callback
from .losses import unwrap_loss

__all__ = ["Monitor", "UpdateRatio", "PerSampleLoss", "ActivationStats", "GradientStats", "WeightSnapshots",
           "describe"]


def describe(a, bins=30, sample_size=100, rng=None) -> dict:
    """Summary of an array for histogram plots: mean, std, min, max, frac_zero, hist/edges, a sample."""
    a = np.asarray(a, dtype=np.float64).ravel()
    finite = a[np.isfinite(a)]
    counts, edges = np.histogram(finite, bins=bins) if finite.size else (np.zeros(bins, int), np.zeros(bins + 1))
    k = min(sample_size, a.size)
    sample = a[rng.choice(a.size, size=k, replace=False)] if rng is not None and k < a.size else a[:k]
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max()),
            "frac_zero": float(np.mean(a == 0)), "hist": counts.tolist(), "edges": edges.tolist(),
            "sample": sample.tolist()}


class Monitor(Callback):
    """Base of the monitors: decides *when* to record (``every`` epochs or ``at_steps``) and calls ``measure``."""

    key = "monitor"

    def __init__(self, every=1, at_steps=None):
        if at_steps is None:
            if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
                raise ValueError(f"{type(self).__name__}: 'every' must be a positive integer, got {every!r}")
            self.at_steps = None
        else:
            steps = np.asarray(at_steps)
            if steps.ndim != 1 or not np.issubdtype(steps.dtype, np.integer) or (steps < 0).any():
                raise ValueError(f"{type(self).__name__}: 'at_steps' must be a 1-D list of step counts >= 0, "
                                 f"got {at_steps!r}")
            self.at_steps = set(int(s) for s in steps)
        self.every = every

    def on_fit_begin(self, trainer):
        if self.at_steps is not None and 0 in self.at_steps and trainer.step == 0:
            self.measure(trainer)

    def on_step_end(self, trainer):
        if self.at_steps is not None and trainer.step in self.at_steps:
            self.measure(trainer)

    def on_epoch_end(self, trainer):
        if self.at_steps is None and trainer.epoch % self.every == 0:
            self.measure(trainer)

    def measure(self, trainer):
        raise NotImplementedError

    @staticmethod
    def _when(trainer):
        return {"step": trainer.step, "epoch": trainer.step / max(trainer.steps_per_epoch, 1)}


class UpdateRatio(Monitor):
    """Per parameter, ``||update|| / ||W||`` of the actual step taken (not of the raw gradient); key
    ``"update_ratio"``, recorded at the steps whose number is a multiple of ``every``.  Built into the
    Trainer (``update_ratio_every``, 10 by default).

    At those steps only: ``||W||`` before the step (one BLAS dot product per parameter, in its own dtype)
    and ``||update||`` after it, from what the optimizer added (``Optimizer.last_updates``).  An optimizer
    without ``last_updates`` gets the trainer's weight snapshot before those steps instead, and the update
    is the difference of the weights.  Sampling keeps it cheap: measured at every step of a 784-1000-10
    MLP with float64 copies (as it first was) it cost about a third of the step."""

    key = "update_ratio"

    def __init__(self, every=1):
        super().__init__(every=every)
        self.snapshot_every = 0              # asked of the trainer only for an optimizer without last_updates

    def on_fit_begin(self, trainer):
        named = trainer.model.named_parameters()
        self.names = [name for name, _ in named]
        # which ratios the 1e-3 rule judges (analysis.update_ratio_diagnosis): the weights, not the biases
        trainer.history.meta["regularized"] = [name for name, p in named if getattr(p, "regularize", True)]
        self.from_optimizer = hasattr(trainer.optimizer, "last_updates")
        self.snapshot_every = 0 if self.from_optimizer else self.every
        self.w2 = None

    def on_epoch_end(self, trainer):
        pass

    def on_step_begin(self, trainer):
        self.w2 = None
        if self.from_optimizer and (trainer.step + 1) % self.every == 0:
            self.w2 = [float(np.vdot(p.value, p.value)) for p in trainer.params]

    def on_step_end(self, trainer):
        if trainer.step % self.every:
            return
        if self.w2 is not None and trainer.optimizer.last_updates is not None:
            pairs = zip(self.w2, (float(np.vdot(u, u)) for u in trainer.optimizer.last_updates))
        elif trainer.params_before_step is not None and getattr(trainer, "snapshot_step", -2) == trainer.step - 1:
            def sq(p, old):
                d = (p.value - old).ravel()
                return float(np.vdot(old, old)), float(np.vdot(d, d))
            pairs = (sq(p, old) for p, old in zip(trainer.params, trainer.params_before_step))
        else:
            return
        row = self._when(trainer)
        for name, (w2, u2) in zip(self.names, pairs):
            row[name] = float(np.sqrt(u2 / w2)) if w2 > 0 else float("nan")
        trainer.history.record(self.key, **row)


class PerSampleLoss(Monitor):
    """Per-sample losses (and correctness) of the validation set (``on="val"``), the training set
    (``on="train"``) or given ``X, y``; key ``"per_sample_loss"`` -- the raw material of the
    pre-interpolation analysis (seed 004): distributions over time, Tukey outliers.  For a sequence loss the
    per-token losses are recorded flat, one entry per counted token (a token is a sample; padding is left
    out)."""

    key = "per_sample_loss"

    def __init__(self, on="val", X=None, y=None, every=1, at_steps=None, key=None):
        super().__init__(every, at_steps)
        if on not in ("val", "train") and X is None:
            raise ValueError(f"PerSampleLoss: 'on' must be 'val' or 'train' (or give X and y), got {on!r}")
        if (X is None) != (y is None):
            raise ValueError("PerSampleLoss: give both 'X' and 'y' or neither")
        if X is not None:
            X, y = _probe("PerSampleLoss", "X", X), np.asarray(y)
            if y.ndim < 1 or y.shape[0] != X.shape[0]:
                raise ValueError(f"PerSampleLoss: 'y' must have one target per row of 'X' ({X.shape[0]}), "
                                 f"got shape {y.shape}")
        self.on, self.X, self.y = on, X, y
        self.key = key or self.key

    def on_fit_begin(self, trainer):
        if self.X is None and self.on == "val" and trainer.data.get("X_val") is None:
            raise ValueError("PerSampleLoss: on='val' needs X_val and y_val in fit (or use on='train')")
        super().on_fit_begin(trainer)

    def measure(self, trainer):
        d = trainer.data
        X, y = (self.X, self.y) if self.X is not None else \
            ((d["X_val"], d["y_val"]) if self.on == "val" else (d["X"], d["y"]))
        with trainer.evaluation_weights():
            r = trainer.evaluate(X, y, per_sample=True)      # eval mode; the model's mode is restored
        losses = r["losses"]
        if losses.ndim > 1:          # per-token losses (N, T): a token is a sample; padding tokens are left out
            counted = getattr(unwrap_loss(trainer.loss), "counted", None)
            losses = losses[counted] if counted is not None and counted.shape == losses.shape else losses.ravel()
        trainer.history.record(self.key, **self._when(trainer), losses=losses,
                               correct=r.get("correct", np.zeros(0, bool)))


def _probe(who, name, X):
    """A probe batch: a numeric array with at least one row and no NaN (it is small; scanning it is cheap)."""
    X = np.asarray(X)
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise TypeError(f"{who}: '{name}' must be a numeric array, got dtype {X.dtype}")
    if X.ndim < 1 or X.shape[0] == 0:
        raise ValueError(f"{who}: '{name}' must hold at least one sample on axis 0, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{who}: '{name}' contains NaN or inf")
    return X


def _histogram_options(who, bins, sample_size, seed):
    check_rng("seed", seed, who=who)
    return check_int("bins", bins, minimum=1, who=who), check_int("sample_size", sample_size, minimum=0, who=who), seed


def _named_layers(model):
    layers = getattr(model, "layers", None)
    if isinstance(layers, (list, tuple)) and layers:
        return [(f"layers.{i}", m) for i, m in enumerate(layers)]
    return [("model", model)]


class ActivationStats(Monitor):
    """Statistics and histograms of each layer's output on a fixed probe batch ``X_probe`` (eval mode);
    key ``"activations"``.  Dead ReLUs show as ``frac_zero`` near 1; saturated tanh as mass at +-1."""

    key = "activations"

    def __init__(self, X_probe, every=1, at_steps=None, bins=30, sample_size=100, seed=0):
        super().__init__(every, at_steps)
        self.X = _probe("ActivationStats", "X_probe", X_probe)
        self.bins, self.sample_size, self.seed = _histogram_options("ActivationStats", bins, sample_size, seed)

    def measure(self, trainer):
        rng = np.random.default_rng(self.seed)
        model = trainer.model
        model.eval()
        x, rows = self.X, []
        try:
            for name, layer in _named_layers(model):
                x = layer.forward(x)
                rows.append({"name": name, "type": type(layer).__name__,
                             **describe(x, self.bins, self.sample_size, rng)})
        finally:
            model.train()
        trainer.history.record(self.key, **self._when(trainer), layers=rows)


class GradientStats(Monitor):
    """Statistics and histograms of the gradient arriving at each layer's output and of each parameter's
    gradient, on a fixed probe batch (eval mode, no penalty); key ``"gradients"``.  Vanishing gradients
    show as std shrinking layer by layer toward the input."""

    key = "gradients"

    def __init__(self, X_probe, y_probe, every=1, at_steps=None, bins=30, sample_size=100, seed=0):
        super().__init__(every, at_steps)
        self.X, self.y = _probe("GradientStats", "X_probe", X_probe), np.asarray(y_probe)
        if self.y.ndim < 1 or self.y.shape[0] != self.X.shape[0]:
            raise ValueError(f"GradientStats: 'y_probe' must have one target per row of 'X_probe' "
                             f"({self.X.shape[0]}), got shape {self.y.shape}")
        self.bins, self.sample_size, self.seed = _histogram_options("GradientStats", bins, sample_size, seed)

    def measure(self, trainer):
        rng = np.random.default_rng(self.seed)
        model = trainer.model
        loss = unwrap_loss(trainer.loss)          # the plain gradient, not flooding's possibly flipped one
        layers = _named_layers(model)
        model.eval()
        try:
            x = self.X
            for _, layer in layers:
                x = layer.forward(x)
            loss.forward(x, self.y)
            dy, rows = loss.backward(), []
            for name, layer in reversed(layers):
                rows.append({"name": name, "type": type(layer).__name__,
                             **describe(dy, self.bins, self.sample_size, rng)})
                dy = layer.backward(dy)
        finally:
            model.train()
        params = []
        for name, p in model.named_parameters():
            s = describe(p.grad, self.bins, 0)
            params.append({"name": name, "mean": s["mean"], "std": s["std"],
                           "norm": float(np.linalg.norm(p.grad.astype(np.float64))),
                           "hist": s["hist"], "edges": s["edges"]})
        trainer.history.record(self.key, **self._when(trainer), layers=rows[::-1], params=params)


class WeightSnapshots(Monitor):
    """Copies of every weight matrix (parameter name ending in ``W``) at ``at_steps`` (or every ``every``
    epochs), kept in memory as ``steps`` and ``values[name]`` (a list of flat float64 arrays) for
    ``plots.plot_weight_distributions``."""

    key = "weights"

    def __init__(self, every=1, at_steps=None):
        super().__init__(every=every, at_steps=at_steps)
        self.steps, self.values = [], {}

    def measure(self, trainer):
        self.steps.append(trainer.step)
        for name, p in trainer.model.named_parameters():
            if name.endswith("W"):
                self.values.setdefault(name, []).append(p.value.astype(np.float64).ravel())   # astype copies
