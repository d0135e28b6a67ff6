"""The learning-rate range test (Smith 2017; fastai's ``lr_find``): raise the rate exponentially, one
mini-batch per step, watch the loss, and stop when it explodes.

The curve is flat where the rate is too small to matter, falls where learning is fast, and shoots up where
the rate is too large.  A good rate sits on the falling part, well below the blow-up.  The model's weights
(and its random generators, and a given optimizer's state) are restored afterwards: the test leaves no trace.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from ._checks import check_number, check_seed
from .data._checks import check_Xy
from .layers.base import skip_input_grad
from .optim import SGD, Optimizer

__all__ = ["lr_range_test", "LRRangeResult", "plot_lr_range_test"]


@dataclass
class LRRangeResult:
    """The sweep: ``lrs[i]`` was used for the step whose batch loss (before the update) is ``losses[i]``.

    ``smoothed`` is the bias-corrected exponential moving average of ``losses``.  ``suggested_lr`` is the
    rate at the steepest descent of the smoothed curve against log(lr) (a secant over a tenth of the
    points), looked for between the first ``skip_start`` points and the minimum of the smoothed curve;
    ``min_loss_lr`` is the rate at that minimum
    (``min_loss_lr / 10`` is the other common rule of thumb).  ``diverged`` says whether the sweep stopped
    early because the smoothed loss passed ``diverge_factor`` x its best (or became non-finite).
    """
    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggested_lr: float
    min_loss_lr: float
    diverged: bool
    extra: dict = field(default_factory=dict)

    def plot(self, ax=None):
        """The loss against the rate (log axis) with the suggestion marked; returns the Figure."""
        return plot_lr_range_test(self, ax=ax)


def lr_range_test(model, loss, X, y, optimizer=None, *, start_lr=1e-7, end_lr=10.0, num_steps=100,
                  batch_size=64, seed=0, smoothing=0.95, diverge_factor=4.0, reg=None,
                  skip_start=10) -> LRRangeResult:
    """Sweep the learning rate from ``start_lr`` to ``end_lr`` geometrically over ``num_steps`` steps.

    ``optimizer`` is None (plain SGD), an ``Optimizer`` built on ``model.parameters()`` (its rate is replaced
    by the sweep for the duration and its state restored after), or a factory ``f(params, lr) -> Optimizer``
    (e.g. ``lambda p, lr: SGD(p, lr, momentum=0.9)``).  Mini-batches of ``batch_size`` are drawn without
    replacement from a permutation seeded by ``seed`` (reshuffled after each pass).  ``smoothing`` is the EMA
    coefficient beta in ``avg = beta avg + (1 - beta) loss`` (0 = no smoothing).  ``reg`` is an ``L2``
    object (its penalty is added to the loss) or None.

    Step i uses ``lr_i = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))``.
    """
    who = "lr_range_test"
    if not hasattr(model, "parameters") or not hasattr(model, "state_dict"):
        raise TypeError(f"{who}: 'model' must be a Layer, got {type(model).__name__}")
    for name, v in (("start_lr", start_lr), ("end_lr", end_lr), ("diverge_factor", diverge_factor)):
        check_number(name, v, who=who, low=0, low_open=True)
    check_number("smoothing", smoothing, who=who, low=0, high=1, high_open=True)
    check_seed("seed", seed, who=who)
    if not end_lr > start_lr:
        raise ValueError(f"{who}: 'end_lr' ({end_lr}) must exceed 'start_lr' ({start_lr})")
    for name, v, low in (("num_steps", num_steps, 3), ("batch_size", batch_size, 1), ("skip_start", skip_start, 0)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
            raise ValueError(f"{who}: '{name}' must be an integer >= {low}, got {v!r}")
    if not 0 <= smoothing < 1:
        raise ValueError(f"{who}: 'smoothing' must be in [0, 1), got {smoothing!r}")
    X, y = check_Xy(X, y)
    N = X.shape[0]

    ratio = float(end_lr) / float(start_lr)
    sweep_at = lambda i: float(start_lr) * ratio ** (i / (num_steps - 1))   # noqa: E731

    saved_opt = None                   # (state, rate) of a caller's optimizer, put back afterwards
    if optimizer is None:
        opt = SGD(model.parameters(), lr=start_lr)
    elif isinstance(optimizer, Optimizer):
        opt, saved_opt = optimizer, (optimizer.state_dict(), optimizer.lr)
    elif callable(optimizer):
        opt = optimizer(model.parameters(), start_lr)
        if not isinstance(opt, Optimizer):
            raise TypeError(f"{who}: the optimizer factory must return an Optimizer, got {type(opt).__name__}")
    else:
        raise TypeError(f"{who}: 'optimizer' must be None, an Optimizer or a factory f(params, lr), "
                        f"got {type(optimizer).__name__}")
    t0 = opt.t
    saved_model = model.state_dict()
    saved_rngs = [(g, g.bit_generator.state) for _, g in model.named_generators()]

    rng = np.random.default_rng(seed)
    order, pos = rng.permutation(N), 0
    lrs, losses, smoothed = [], [], []
    avg, best, diverged = 0.0, np.inf, False
    try:
        opt.lr = lambda t: sweep_at(t - t0)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):   # a blow-up is expected here
            for i in range(num_steps):
                if pos + batch_size > N:                       # next pass: reshuffle
                    order, pos = rng.permutation(N), 0
                idx = order[pos:pos + batch_size]
                pos += batch_size
                xb = X[idx]
                with skip_input_grad(xb):                      # the data's gradient is not needed
                    scores = model.forward(xb)
                if not np.all(np.isfinite(scores)):
                    diverged = True
                    break
                J = loss.reduce(loss.forward(scores, y[idx]))
                if reg is not None:
                    J += reg.penalty(model.parameters())
                if not np.isfinite(J):
                    diverged = True
                    break
                avg = smoothing * avg + (1 - smoothing) * J
                s = avg / (1 - smoothing ** (i + 1))
                lrs.append(opt.current_lr)
                losses.append(J)
                smoothed.append(s)
                if i > 0 and s > diverge_factor * best:
                    diverged = True
                    break
                best = min(best, s)
                model.backward(loss.backward())
                if reg is not None:
                    reg.backward(model.parameters())
                opt.step()
    finally:
        model.load_state_dict(saved_model)
        for g, st in saved_rngs:
            g.bit_generator.state = st
        if saved_opt is not None:      # the rate first: its keys (a ReduceOnPlateau's) are in the state
            opt.lr = saved_opt[1]
            opt.load_state_dict(saved_opt[0])

    lrs, losses, smoothed = np.array(lrs), np.array(losses), np.array(smoothed)
    suggested, at_min = _suggest(lrs, smoothed, skip_start)
    return LRRangeResult(lrs, losses, smoothed, suggested, at_min, diverged,
                         extra={"num_steps_run": len(lrs), "seed": seed})


def _suggest(lrs, smoothed, skip_start):
    """Steepest descent of the smoothed curve against log(lr), between ``skip_start`` and its minimum.

    The slope is a secant over a window of w = max(2, n // 10) points (n = points run), which averages out
    the noise a point-to-point difference would pick up; the suggestion is the rate in the middle of the
    steepest window.  With too few points before the minimum it falls back to min_loss_lr / 10.
    """
    if lrs.size == 0:
        return float("nan"), float("nan")
    i_min = int(np.argmin(smoothed))
    at_min = float(lrs[i_min])
    w = max(2, lrs.size // 10)
    lo = min(skip_start, max(i_min - w, 0))
    if i_min - lo < w:
        return at_min / 10, at_min
    starts = np.arange(lo, i_min - w + 1)
    log_lr = np.log(lrs)
    slope = (smoothed[starts + w] - smoothed[starts]) / (log_lr[starts + w] - log_lr[starts])
    return float(lrs[starts[int(np.argmin(slope))] + w // 2]), at_min


def plot_lr_range_test(result: LRRangeResult, ax=None):
    """Raw and smoothed loss against the learning rate (log x axis), suggestion marked; returns the Figure.
    Drawn by ``nn_scratch.plots.plot_lr_range_test`` (kept here so old code keeps working)."""
    from .plots import plot_lr_range_test as draw
    return draw(result, ax=ax)
