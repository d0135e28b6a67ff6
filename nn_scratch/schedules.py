"""Learning-rate (and momentum) schedules: plain functions of the step count that compose.

Each builder returns a function ``f(t)`` of the step (or epoch) count ``t >= 0``; give it to an optimizer
as ``lr=f`` (it is read at the optimizer's step counter) or call it yourself once per epoch.  ``f`` takes
an int (returns a float) or an integer array (returns an array, handy for plotting)::

    warm_then_cosine = join([linear_warmup(0.1, 500), cosine_decay(0.1, 9500)], boundaries=[500])
    opt = SGD(model.parameters(), lr=warm_then_cosine, momentum=0.9)

The notes' three annealing rules are ``step_decay``, ``exponential_decay`` (``a0 e^{-kt}``) and
``inverse_time`` (``a0 / (1 + kt)``).  ``ReduceOnPlateau`` is different: it watches a validation metric
(``observe``) and is itself callable with the step, so it can be the optimizer's ``lr``.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["constant", "step_decay", "exponential_decay", "inverse_time", "cosine_decay", "linear",
           "linear_warmup", "one_cycle", "join", "ReduceOnPlateau"]


# -- helpers ----------------------------------------------------------------------------------------------
def _num(who, name, value, low=None, low_open=False, high=None, high_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise TypeError(f"{who}: '{name}' must be a finite number, got {value!r}")
    value = float(value)
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{who}: '{name}' must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value >= high if high_open else value > high):
        raise ValueError(f"{who}: '{name}' must be {'<' if high_open else '<='} {high}, got {value!r}")
    return value


def _count(who, name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{who}: '{name}' must be an integer >= {low}, got {value!r}")
    return int(value)


def _steps(t, who):
    """``t`` as a float64 array (scalar or array) checked to be >= 0."""
    if isinstance(t, (str, bytes)):
        raise TypeError(f"{who}: 't' (the step count) must be a number or an integer array, got {t!r}")
    a = np.asarray(t, dtype=np.float64)
    if np.any(~np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{who}: 't' (the step count) must be finite and >= 0, got {t!r}")
    return a


def _out(a):
    return float(a) if np.ndim(a) == 0 else a


def _named(f, text):
    f.__name__ = f.__qualname__ = text
    return f


# -- the schedules ----------------------------------------------------------------------------------------
def constant(value):
    """``f(t) = value``."""
    value = _num("constant", "value", value)
    return _named(lambda t: _out(np.full(np.shape(_steps(t, "constant")), value)), f"constant({value})")


def step_decay(init_value, factor, step_size):
    """``f(t) = init_value * factor ** floor(t / step_size)``: multiply by ``factor`` every ``step_size``.

    The drop happens *at* t = step_size (f(step_size - 1) = init, f(step_size) = init * factor).
    """
    a0 = _num("step_decay", "init_value", init_value)
    factor = _num("step_decay", "factor", factor, low=0)
    step_size = _count("step_decay", "step_size", step_size)
    return _named(lambda t: _out(a0 * factor ** np.floor(_steps(t, "step_decay") / step_size)),
                  f"step_decay({a0}, {factor}, {step_size})")


def exponential_decay(init_value, k):
    """``f(t) = init_value * exp(-k t)`` (the notes' form; half-life ``ln 2 / k``)."""
    a0 = _num("exponential_decay", "init_value", init_value)
    k = _num("exponential_decay", "k", k, low=0)
    return _named(lambda t: _out(a0 * np.exp(-k * _steps(t, "exponential_decay"))),
                  f"exponential_decay({a0}, {k})")


def inverse_time(init_value, k):
    """``f(t) = init_value / (1 + k t)`` (the notes' 1/t decay; halved at t = 1/k)."""
    a0 = _num("inverse_time", "init_value", init_value)
    k = _num("inverse_time", "k", k, low=0)
    return _named(lambda t: _out(a0 / (1.0 + k * _steps(t, "inverse_time"))), f"inverse_time({a0}, {k})")


def cosine_decay(init_value, decay_steps, final_value=0.0):
    """Half a cosine from ``init_value`` (t = 0) to ``final_value`` (t >= decay_steps), then flat::

        f(t) = final + (init - final) * (1 + cos(pi * min(t, T) / T)) / 2,   T = decay_steps

    With ``final_value > init_value`` it rises instead (``one_cycle`` uses both directions).
    """
    a0 = _num("cosine_decay", "init_value", init_value)
    a1 = _num("cosine_decay", "final_value", final_value)
    T = _count("cosine_decay", "decay_steps", decay_steps)

    def f(t):
        w = 0.5 * (1.0 + np.cos(np.pi * np.minimum(_steps(t, "cosine_decay"), T) / T))
        return _out(w * a0 + (1.0 - w) * a1)       # written so the end points are exact
    return _named(f, f"cosine_decay({a0}, {T}, {a1})")


def linear(init_value, end_value, steps):
    """Straight line from ``init_value`` (t = 0) to ``end_value`` (t >= steps), then flat.
    E.g. the notes' momentum schedule: ``linear(0.5, 0.99, 20)`` over 20 epochs."""
    a0 = _num("linear", "init_value", init_value)
    a1 = _num("linear", "end_value", end_value)
    n = _count("linear", "steps", steps)

    def f(t):
        s = np.minimum(_steps(t, "linear"), n) / n
        return _out((1.0 - s) * a0 + s * a1)
    return _named(f, f"linear({a0}, {a1}, {n})")


def linear_warmup(peak_value, warmup_steps, init_value=0.0):
    """Rise linearly from ``init_value`` to ``peak_value`` over ``warmup_steps``, then stay at the peak
    (f(0) = init_value, f(warmup_steps) = peak_value).  Join it with a decay for warm-up-then-decay."""
    return linear(init_value, peak_value, warmup_steps)


def one_cycle(max_value, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    """The one-cycle policy (Smith): a cosine rise from ``max_value / div_factor`` to ``max_value`` over the
    first ``round(pct_start * total_steps)`` steps, then a cosine fall to
    ``max_value / (div_factor * final_div_factor)`` at ``total_steps`` (flat afterwards).

    It is literally ``join`` of two ``cosine_decay`` pieces.
    """
    who = "one_cycle"
    peak = _num(who, "max_value", max_value, low=0, low_open=True)
    total = _count(who, "total_steps", total_steps, low=2)
    pct = _num(who, "pct_start", pct_start, low=0, low_open=True, high=1, high_open=True)
    div = _num(who, "div_factor", div_factor, low=0, low_open=True)
    final_div = _num(who, "final_div_factor", final_div_factor, low=0, low_open=True)
    up = min(max(int(round(pct * total)), 1), total - 1)
    start, end = peak / div, peak / (div * final_div)
    return _named(join([cosine_decay(start, up, peak), cosine_decay(peak, total - up, end)], [up]),
                  f"one_cycle({peak}, {total})")


def join(schedules, boundaries):
    """Run ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]`` until ``boundaries[1]``, ...

    Each schedule restarts its own count at its boundary: for ``boundaries[i-1] <= t < boundaries[i]``
    the value is ``schedules[i](t - boundaries[i-1])``.  So *at* a boundary b the next schedule is read
    at 0, and the value is continuous when that schedule starts where the previous one ended.
    Needs ``len(boundaries) == len(schedules) - 1``, boundaries strictly increasing positive integers.
    """
    schedules = list(schedules)
    boundaries = list(boundaries)
    if not schedules or not all(callable(s) for s in schedules):
        raise TypeError(f"join: 'schedules' must be a non-empty list of callables, got {schedules!r}")
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(f"join: need len(boundaries) == len(schedules) - 1 = {len(schedules) - 1}, "
                         f"got {len(boundaries)} boundaries")
    for b in boundaries:
        _count("join", "boundaries", b)
    if any(b1 <= b0 for b0, b1 in zip(boundaries, boundaries[1:])):
        raise ValueError(f"join: 'boundaries' must be strictly increasing, got {boundaries}")
    bounds = np.asarray(boundaries, dtype=np.float64)
    starts = np.concatenate([[0.0], bounds])

    def f(t):
        a = _steps(t, "join")
        if a.ndim == 0:                      # a scalar: hand the piece a plain int (or float) count
            i = int(np.searchsorted(bounds, a, side="right"))
            local = float(a - starts[i])
            return float(schedules[i](int(local) if local.is_integer() else local))
        piece = np.searchsorted(bounds, a, side="right")
        out = np.empty(a.shape)
        for i in np.unique(piece):
            mask = piece == i
            out[mask] = schedules[i](a[mask] - starts[i])
        return out
    return _named(f, f"join({len(schedules)} schedules at {boundaries})")


# -- plateau-driven ----------------------------------------------------------------------------------------
class ReduceOnPlateau:
    """Cut the rate by ``factor`` when a monitored metric stops improving.

    Use: ``plateau = ReduceOnPlateau(0.1, factor=0.5, patience=3)``; ``SGD(params, lr=plateau)``; after each
    validation, ``plateau.observe(val_loss)``.  The object is callable with the step count:
    ``plateau(t) = max(base(t) * scale, min_lr)`` where ``base`` is ``init_value`` (a number or another
    schedule, so plateau cuts can sit on top of a cosine) and ``scale`` starts at 1 and is multiplied by
    ``factor`` at each cut.

    Improvement (``mode="min"``; mirrored for ``"max"``)::

        rel:  value < best - threshold * |best|        abs:  value < best - threshold

    The ``|best|`` keeps the rule right for negative metrics (a log-likelihood of -10 must go below
    -10.001, not merely below -9.999).  The first observation sets ``best``.  A NaN never improves.
    ``patience`` = number of non-improving observations tolerated: the cut comes at observation
    ``patience + 1`` without improvement; after a cut, ``cooldown`` observations are ignored
    (their bad count stays 0).  A cut that would not lower the current rate (already at ``min_lr``) is
    skipped, so ``num_reductions`` counts real cuts.  ``observe`` returns the rate ``self(last_step)``,
    where ``last_step`` is the last (scalar) step it was called with (0 before any).
    """

    def __init__(self, init_value=1.0, factor=0.1, patience=10, cooldown=0, min_lr=0.0, threshold=1e-4,
                 mode="min", threshold_mode="rel"):
        who = "ReduceOnPlateau"
        self.init_value = init_value if callable(init_value) else _num(who, "init_value", init_value, low=0)
        self.factor = _num(who, "factor", factor, low=0, low_open=True, high=1, high_open=True)
        self.patience = _count(who, "patience", patience, low=0)
        self.cooldown = _count(who, "cooldown", cooldown, low=0)
        self.min_lr = _num(who, "min_lr", min_lr, low=0)
        self.threshold = _num(who, "threshold", threshold, low=0)
        if mode not in ("min", "max"):
            raise ValueError(f"{who}: 'mode' must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{who}: 'threshold_mode' must be 'rel' or 'abs', got {threshold_mode!r}")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.scale = 1.0
        self.best = None
        self.num_bad = 0
        self.cooldown_left = 0
        self.num_reductions = 0
        self.last_step = 0

    def __call__(self, t):
        if np.ndim(t) == 0:
            self.last_step = int(t)
        base = self.init_value(t) if callable(self.init_value) else np.full(np.shape(t), self.init_value)
        return _out(np.maximum(np.asarray(base, dtype=np.float64) * self.scale, self.min_lr))

    def is_better(self, value, best) -> bool:
        """Does ``value`` improve on ``best`` by more than the threshold?"""
        if best is None:
            return not np.isnan(value)
        margin = self.threshold * abs(best) if self.threshold_mode == "rel" else self.threshold
        return value < best - margin if self.mode == "min" else value > best + margin

    def observe(self, value) -> float:
        """Record one metric value; cut the scale if it has not improved for more than ``patience``."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"ReduceOnPlateau.observe: 'value' must be a number, got {value!r}")
        value = float(value)
        if self.is_better(value, self.best):
            self.best, self.num_bad = value, 0
        else:
            self.num_bad += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.num_bad = 0
        if self.num_bad > self.patience:
            before = self(self.last_step)
            self.scale *= self.factor
            if self(self.last_step) < before:
                self.num_reductions += 1
            else:                          # already at min_lr: a cut would change nothing
                self.scale /= self.factor
            self.cooldown_left, self.num_bad = self.cooldown, 0
        return self(self.last_step)

    # -- state (so an optimizer using it as lr resumes bit-exactly) ---------------------------------------
    def state_dict(self) -> dict:
        return {"scale": np.float64(self.scale), "best": np.float64(np.nan if self.best is None else self.best),
                "has_best": np.bool_(self.best is not None), "num_bad": np.int64(self.num_bad),
                "cooldown_left": np.int64(self.cooldown_left), "num_reductions": np.int64(self.num_reductions),
                "last_step": np.int64(self.last_step)}

    def load_state_dict(self, state: dict) -> None:
        missing = sorted(set(self.state_dict()) - set(state))
        if missing:
            raise ValueError(f"ReduceOnPlateau.load_state_dict: missing keys {missing}")
        self.scale = float(state["scale"])
        self.best = float(state["best"]) if bool(state["has_best"]) else None
        self.num_bad, self.cooldown_left = int(state["num_bad"]), int(state["cooldown_left"])
        self.num_reductions, self.last_step = int(state["num_reductions"]), int(state["last_step"])

    def __repr__(self):
        return (f"ReduceOnPlateau(scale={self.scale}, best={self.best}, num_bad={self.num_bad}, "
                f"reductions={self.num_reductions})")
