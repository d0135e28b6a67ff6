"""Gradient checking: does a hand-written ``backward`` agree with the numbers?

Usage (``print`` shows one row per tensor, then the verdict line)::

    import numpy as np
    from nn_scratch import gradcheck, layers, losses
    model = layers.Sequential([layers.Linear(4, 6, rng=0), layers.Tanh(), layers.Linear(6, 3, rng=1)])
    x, y = np.random.default_rng(0).standard_normal((5, 4)), np.array([0, 2, 1, 1, 0])
    print(gradcheck.check_model(model, losses.SoftmaxCrossEntropy(), x, y))   # ... "Verdict: PASS ..."

How a check works
-----------------
* Everything runs on a **float64 deep copy** of the layer / loss and on float64 copies of the arrays: a
  float32 model is never converted in place and the caller's arrays are never perturbed.
* Each checked coordinate ``t`` of a tensor is moved to ``t + h`` and ``t - h`` and the objective is evaluated
  twice (centered difference, error O(h^2)).  The step used is the one actually stored, ``(t+h) - (t-h)``.
* Before every evaluation (f(t+h), f(t-h) and the analytic pass) each ``numpy.random.Generator`` found on the
  model's modules and on the loss is reset to its starting state, so dropout draws the same mask every time
  and is *checked* rather than switched off.  Training / eval mode is left as the caller set it.
* Every module and the loss may store ``winners`` (which side of each max won).  If the winners at
  f(t+h), f(t-h) and the unperturbed forward are not all equal, the coordinate crossed a kink: its numerical
  gradient is meaningless there, so it is counted in ``kinks`` and reported apart, never as a failure.
* ``num_coords`` coordinates are sampled from *every* tensor (all of them when the tensor is smaller), the
  input included, so a bias is never skipped.

How it is judged
----------------
Per coordinate, with analytic ``a`` and numerical ``n``::

    error = |a - n| / max(|a|, |n|, floor),      floor = 1e8 * eps64 * F / h

``F`` bounds the rounding in the objective: every output y (every per-sample loss L) is taken to carry an
error of about ``eps64 * (|y| + 1)``, the +1 because sigmoid, softmax or a log-normalizer compute small
results from O(1) intermediates; so ``F = sum(|dy| * (|y| + 1))`` for a layer, ``mean(|L|) + 1`` for a loss
(plus the penalty when it is included).  A centered difference in float64 cannot resolve a gradient
below about ``eps64 * F / h``; for such tiny coordinates the plain relative error is rounding noise, so they
are compared on the absolute scale of the floor instead (for h = 1e-5 the floor is about 2e-3 * F).  Larger coordinates get the plain
relative error ``|a - n| / max(|a|, |n|)`` of the lecture notes.  A coordinate still above 1e-7 gets a second
look: two more evaluations at h/2 and Richardson extrapolation ``(4 n(h/2) - n(h)) / 3``, which removes the
O(h^2) error that strong curvature (large inputs, saturated units) leaves in n(h); the smaller error counts.
A wrong gradient stays wrong under both.  The verdict on the largest error among the coordinates that
crossed no kink follows the notes:

    > 1e-2            WRONG        the gradient is probably wrong
    1e-4 .. 1e-2      SUSPICIOUS
    1e-7 .. 1e-4      PASS if the objective has kinks (any ``winners``), else SUSPICIOUS
    <= 1e-7           PASS
    nothing judged    INCONCLUSIVE (every checked coordinate crossed a kink)
"""
from __future__ import annotations

import copy
import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np

from .layers.base import Layer, check_input, find_generators

__all__ = ["rel_error", "numerical_gradient", "check_layer", "check_loss", "check_model", "check_directional",
           "step_size_sweep", "plot_step_size_sweep", "GradCheckReport", "TensorRow", "DirectionalReport",
           "StepSizeSweep", "TinyGradientWarning", "WRONG", "SUSPICIOUS", "SMOOTH", "TINY", "NOISE_FACTOR"]

WRONG = 1e-2          # above: the gradient is probably wrong
SUSPICIOUS = 1e-4     # above: uncomfortable; below: fine for objectives with kinks
SMOOTH = 1e-7         # at or below: fine for smooth objectives
TINY = 1e-10          # gradients below this are too small to compare; scale the loss up
NOISE_FACTOR = 1e8    # floor = NOISE_FACTOR * eps * F / h (see the module docstring)


class TinyGradientWarning(UserWarning):
    """Both gradients are so small that floating-point noise dominates their comparison."""


# ------------------------------------------------------------------------------------------------------
# building blocks
# ------------------------------------------------------------------------------------------------------
def rel_error(a, n, tiny: float = TINY, warn: bool = True):
    """Elementwise ``|a - n| / max(|a|, |n|)``: symmetric, 0 where both are 0, inf where either is NaN/inf.

    ``a`` and ``n`` must have the same shape (or one be a scalar); returns a float for scalars, else an array.
    Warns (``TinyGradientWarning``) when some pair is non-zero but both are below ``tiny`` in magnitude:
    such numbers sit where floats are sparse, so scale the loss up (e.g. by 1e4) before checking.
    """
    a = _float_array(a, "a", "rel_error").astype(np.float64)
    n = _float_array(n, "n", "rel_error").astype(np.float64)
    if a.shape != n.shape and a.ndim and n.ndim:
        raise ValueError(f"rel_error: 'a' and 'n' must have the same shape, got {a.shape} and {n.shape}")
    a, n = np.broadcast_arrays(a, n)
    scale = np.maximum(np.abs(a), np.abs(n))
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.where(scale > 0, np.abs(a - n) / np.where(scale > 0, scale, 1.0), 0.0)
    err = np.where(np.isfinite(a) & np.isfinite(n), err, np.inf)
    if warn and np.any((scale > 0) & (scale < tiny)):
        warnings.warn(f"rel_error: some gradients are below {tiny:g} in magnitude on both sides; the relative "
                      "error there is dominated by rounding. Scale the loss up (multiply it by a constant) so "
                      "the gradients are near 1 before checking.", TinyGradientWarning, stacklevel=2)
    return float(err) if err.ndim == 0 else err


def numerical_gradient(f, x, h: float = 1e-5, indices=None):
    """Centered-difference gradient of the scalar function ``f(x)`` at ``x``.

    ``x`` (a float ndarray) is perturbed **in place**, one coordinate at a time, and each coordinate is
    restored to its exact original value afterwards.  ``indices`` (flat ints or index tuples) limits the
    coordinates; then the result has shape ``(len(indices),)``, else the shape of ``x``.  The computation
    happens in ``x``'s dtype: a float32 ``x`` gives the naive float32 estimate (see the tutorial).
    """
    who = "numerical_gradient"
    if not callable(f):
        raise TypeError(f"{who}: 'f' must be a callable f(x) -> scalar, got {type(f).__name__}")
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{who}: 'x' must be a float numpy array (it is perturbed in place), got "
                        f"{type(x).__name__}{' of dtype ' + str(x.dtype) if isinstance(x, np.ndarray) else ''}")
    if x.size == 0:
        raise ValueError(f"{who}: 'x' is empty (shape {x.shape})")
    h = _check_h(h, who)
    flat = _flat_indices(indices, x.shape, who)

    def evaluate():
        v = np.asarray(f(x))
        if v.size != 1:
            raise ValueError(f"{who}: 'f' must return a scalar, got an array of shape {v.shape}")
        return float(v.reshape(())), 0.0, ()

    out = np.empty(len(flat))
    for k, i in enumerate(flat):
        (vp, _, _), (vm, _, _), step = _centered(evaluate, x, i, h)
        if step == 0:
            raise ValueError(f"{who}: 'h'={h:g} is too small to change x at index {i} in {x.dtype}; use a larger h")
        out[k] = (vp - vm) / step
    return out.reshape(x.shape) if indices is None else out


def _centered(evaluate, arr, i, h):
    """Evaluate at arr[i] + h and arr[i] - h; restore arr[i] exactly.  Returns (plus, minus, actual step)."""
    idx = np.unravel_index(i, arr.shape)
    old = arr[idx].copy()
    try:
        arr[idx] = old + h
        xp = float(arr[idx])
        plus = evaluate()
        arr[idx] = old - h
        xm = float(arr[idx])
        minus = evaluate()
    finally:
        arr[idx] = old
    return plus, minus, xp - xm


# ------------------------------------------------------------------------------------------------------
# reports
# ------------------------------------------------------------------------------------------------------
@dataclass
class TensorRow:
    """One checked tensor: which coordinates, their analytic and numerical gradients, errors and kinks."""
    name: str
    shape: tuple
    indices: np.ndarray = field(repr=False)       # flat indices checked
    analytic: np.ndarray = field(repr=False)
    numeric: np.ndarray = field(repr=False)
    errors: np.ndarray = field(repr=False)        # the floored relative error (see module docstring)
    kinked: np.ndarray = field(repr=False)        # bool: this coordinate crossed a kink
    note: str = ""
    refined: np.ndarray = field(default=None, repr=False)   # bool: judged on the Richardson estimate

    @property
    def checked(self) -> int:
        return int(self.indices.size)

    @property
    def kinks(self) -> int:
        return int(self.kinked.sum())

    @property
    def max_rel_error(self) -> float:
        """Largest error among coordinates that crossed no kink (nan if none)."""
        judged = self.errors[~self.kinked]
        return float(judged.max()) if judged.size else float("nan")

    @property
    def max_rel_error_at_kinks(self) -> float:
        at = self.errors[self.kinked]
        return float(at.max()) if at.size else float("nan")


def _grade(err, smooth, judged):
    """(verdict, passed, explanation) from the largest judged error, per the lecture notes' scale."""
    if judged == 0:
        return "INCONCLUSIVE", False, ("every checked coordinate (or the direction) crossed a kink; try a smaller h, "
                                      "another seed or fewer samples")
    if not np.isfinite(err) or err > WRONG:
        return "WRONG", False, f"max rel error {err:.1e} > {WRONG:g}: the gradient is probably wrong"
    if err > SUSPICIOUS:
        return "SUSPICIOUS", False, f"max rel error {err:.1e} in ({SUSPICIOUS:g}, {WRONG:g}]: look closer"
    if err <= SMOOTH:
        return "PASS", True, f"max rel error {err:.1e} <= {SMOOTH:g}"
    if not smooth:
        return "PASS", True, f"max rel error {err:.1e} < {SUSPICIOUS:g}, acceptable for an objective with kinks"
    return "SUSPICIOUS", False, (f"max rel error {err:.1e} > {SMOOTH:g} is too high for a smooth objective "
                                 "(no kinks)")


@dataclass
class GradCheckReport:
    """Result of ``check_layer`` / ``check_loss`` / ``check_model``.

    ``passed``, ``verdict`` ("PASS", "SUSPICIOUS", "WRONG", "INCONCLUSIVE"), ``max_rel_error`` (over the
    coordinates that crossed no kink), ``kinks`` (how many checked coordinates crossed one), ``rows`` (one
    ``TensorRow`` per tensor, also reachable as ``report["layers.0.W"]``), ``smooth`` (no ``winners`` anywhere).
    """
    what: str
    rows: list
    h: float
    smooth: bool
    source_dtype: str = "float64"
    notes: list = field(default_factory=list)

    def __getitem__(self, name):
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no tensor named {name!r}; have {[r.name for r in self.rows]}")

    @property
    def kinks(self) -> int:
        return sum(r.kinks for r in self.rows)

    @property
    def judged(self) -> int:
        return sum(r.checked - r.kinks for r in self.rows)

    @property
    def max_rel_error(self) -> float:
        errs = [r.errors[~r.kinked] for r in self.rows]
        errs = np.concatenate(errs) if errs else np.zeros(0)
        return float(errs.max()) if errs.size else float("nan")

    @property
    def verdict(self) -> str:
        return _grade(self.max_rel_error, self.smooth, self.judged)[0]

    @property
    def passed(self) -> bool:
        return _grade(self.max_rel_error, self.smooth, self.judged)[1]

    def __bool__(self):
        return self.passed

    def __str__(self):
        verdict, _, why = _grade(self.max_rel_error, self.smooth, self.judged)
        kind = "smooth objective" if self.smooth else "objective with kinks"
        lines = [f"Gradient check of {self.what}: {verdict} (max rel error {self.max_rel_error:.1e}, "
                 f"{self.kinks} kink{'s' if self.kinks != 1 else ''} crossed)",
                 f"  {self.source_dtype} copy checked in float64, h={self.h:g}, {kind}",
                 f"  {'tensor':<22}{'shape':<14}{'checked':>8}{'max rel error':>15}{'kinks':>7}  note"]
        for r in self.rows:
            lines.append(f"  {r.name:<22}{str(r.shape):<14}{r.checked:>8}{r.max_rel_error:>15.2e}"
                         f"{r.kinks:>7}  {r.note}".rstrip())
        lines += [f"  note: {n}" for n in self.notes]
        lines.append(f"Verdict: {verdict} -- {why}")
        return "\n".join(lines)


@dataclass
class DirectionalReport:
    """Result of ``check_directional``: one directional derivative, analytic vs numerical (2 evaluations)."""
    analytic: float
    numeric: float
    rel_error: float
    kinked: bool
    smooth: bool
    h: float
    evaluations: int = 2

    @property
    def verdict(self) -> str:
        return _grade(self.rel_error, self.smooth, 0 if self.kinked else 1)[0]

    @property
    def passed(self) -> bool:
        return _grade(self.rel_error, self.smooth, 0 if self.kinked else 1)[1]

    @property
    def max_rel_error(self) -> float:
        return self.rel_error

    def __bool__(self):
        return self.passed

    def __str__(self):
        verdict, _, why = _grade(self.rel_error, self.smooth, 0 if self.kinked else 1)
        return (f"Directional gradient check: {verdict} (analytic {self.analytic:.10e}, numerical "
                f"{self.numeric:.10e}, rel error {self.rel_error:.1e}, {self.evaluations} evaluations, h={self.h:g})\n"
                f"Verdict: {verdict} -- {why}")


# ------------------------------------------------------------------------------------------------------
# the problem: float64 copies, replayed randomness, winners, objective and analytic gradients
# ------------------------------------------------------------------------------------------------------
class _Problem:
    """Copies of what is checked, and ``evaluate()`` -> (objective, its size F, winners snapshot)."""

    def __init__(self, kind, who, model=None, loss=None, x=None, y=None, dy=None, reg=None, part="data",
                 dtype=np.float64, seed=0):
        self.kind, self.who, self.part, self.dtype = kind, who, part, np.dtype(dtype)
        self.source_dtype = _source_dtype(model, x)
        self.model = copy.deepcopy(model).astype(self.dtype) if model is not None else None
        self.loss = copy.deepcopy(loss)
        self.reg = reg
        # integer inputs (ids for an Embedding) stay integers: they have no coordinates to perturb
        self.int_input = np.issubdtype(np.asarray(x).dtype, np.integer) and kind != "loss"
        self.x = np.array(x, dtype=None if self.int_input else self.dtype, copy=True)
        self.y = None if y is None else np.array(y, copy=True)
        if self.y is not None and kind == "model" and np.issubdtype(self.y.dtype, np.floating):
            self.y = self.y.astype(self.dtype)
        self.params = self.model.named_parameters() if self.model is not None else []
        mods = self.model.modules() if self.model is not None else []
        self.input_grad_enabled = 0
        for m in mods:             # a first layer built with input_grad=False: compute dx in the copy anyway
            if getattr(m, "input_grad", True) is False:
                m.input_grad, self.input_grad_enabled = True, self.input_grad_enabled + 1
        self.watched = mods + _loss_chain(self.loss)
        self.generators = _generators(self.watched)
        self.states = [g.bit_generator.state for g in self.generators]
        self.dy = None
        if kind == "layer":
            out = np.asarray(self._forward())
            if dy is None:
                dy = _rng(seed, 1).standard_normal(out.shape)
            else:
                dy = _float_array(dy, "dy", who)
                if dy.shape != out.shape:
                    raise ValueError(f"{who}: 'dy' must have the shape of the layer's output {out.shape}, "
                                     f"got {dy.shape}")
            self.dy = np.array(dy, dtype=self.dtype, copy=True)

    def _replay(self):
        for g, s in zip(self.generators, self.states):
            g.bit_generator.state = s

    def _forward(self):
        self._replay()
        return self.model.forward(self.x.copy())

    def evaluate(self):
        self._replay()
        value = size = 0.0
        if self.kind == "layer":
            out = np.asarray(self.model.forward(self.x.copy()))
            value = float(np.sum(out * self.dy))
            size = float(np.sum(np.abs(self.dy) * (np.abs(out) + 1)))    # each output rounds by ~eps (|y| + 1)
        elif self.part != "reg":
            scores = self.x.copy() if self.kind == "loss" else self.model.forward(self.x.copy())
            per = np.asarray(self.loss.forward(scores, self.y.copy()))
            reduce = getattr(self.loss, "reduce", lambda p: float(np.mean(p)))
            value = float(reduce(per))
            size = max(abs(value), float(np.mean(np.abs(per))) + 1)     # each loss rounds by ~eps (|L| + 1)
        if self.part in ("reg", "total"):
            pen = float(self.reg.penalty(self.model.parameters()))
            value, size = value + pen, size + abs(pen)
        snap = tuple(np.array(w, copy=True) for w in
                     (getattr(m, "winners", None) for m in self.watched) if w is not None)
        return value, size, snap

    def analytic(self):
        """Run the unperturbed forward and the backward; returns (F, snapshot, [(name, array, grad, note)])."""
        _, size, snap = self.evaluate()
        params = [p for _, p in self.params]
        for p in params:                         # backward must *set* grads: NaN shows one it forgot
            p.grad[...] = 0 if self.part == "reg" else np.nan
        if self.kind == "layer":
            dx = self.model.backward(self.dy.copy())
        elif self.kind == "loss":
            dx = self.loss.backward()
        elif self.part == "reg":
            dx = None
        else:
            dx = self.model.backward(self.loss.backward())
        if self.part in ("reg", "total"):
            self.reg.backward(params)
        tensors = []
        if self.part != "reg" and not self.int_input:
            name = "scores" if self.kind == "loss" else "x (input)"
            note = ""
            dx = None if dx is None else np.asarray(dx)
            if dx is None or dx.shape != self.x.shape:
                note = (f"backward returned {'None' if dx is None else 'shape ' + str(dx.shape)}, "
                        f"expected shape {self.x.shape}")
                dx = np.full(self.x.shape, np.nan)
            tensors.append((name, self.x, np.array(dx, dtype=np.float64), note))
        for name, p in self.params:
            g = np.array(p.grad, dtype=np.float64)
            note = "backward did not set this gradient" if np.isnan(g).any() else ""
            tensors.append((name, p.value, g, note))
        return size, snap, tensors


def _floored_error(a, n, floor):
    a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
    return np.where(np.isfinite(a) & np.isfinite(n), err, np.inf)


def _richardson(evaluate, arr, i, h, n_h, snap0):
    """Second look at a borderline coordinate: with n(h/2), ``(4 n(h/2) - n(h)) / 3`` cancels the h^2 term of
    the centered difference (Richardson extrapolation), so curvature over the step is not mistaken for a
    wrong gradient.  Returns (extrapolated estimate, whether a kink was crossed at h/2)."""
    (vp, _, sp), (vm, _, sm), step = _centered(evaluate, arr, i, h / 2)
    if step == 0:
        return n_h, True
    crossed = not (_same(sp, sm) and _same(sp, snap0) and _same(sm, snap0))
    return (4 * (vp - vm) / step - n_h) / 3, crossed


def _run(problem, h, num_coords, seed, refine=True):
    """Check sampled coordinates of every tensor; returns (rows, smooth, plain relative errors per row).

    A non-kinked coordinate whose error exceeds ``SMOOTH`` gets a second look (``_richardson``, two more
    evaluations); the smaller error counts.  A wrong gradient stays wrong under extrapolation.
    """
    size, snap0, tensors = problem.analytic()
    eps = float(np.finfo(problem.dtype).eps)
    floor = max(NOISE_FACTOR * eps * size / h, 1e-300)
    rng = _rng(seed, 2)
    rows, plain = [], []
    for name, arr, grad, note in tensors:
        idx = _sample(arr.size, num_coords, rng)
        a = grad.reshape(-1)[idx]
        n = np.empty(idx.size)
        kinked = np.zeros(idx.size, dtype=bool)
        for k, i in enumerate(idx):
            (vp, _, sp), (vm, _, sm), step = _centered(problem.evaluate, arr, int(i), h)
            if step == 0 and problem.dtype == np.float64:
                raise ValueError(f"{problem.who}: 'h'={h:g} is too small to change '{name}' in float64; "
                                 "use h ~ 1e-5")
            n[k] = (vp - vm) / step if step != 0 else np.nan
            kinked[k] = not (_same(sp, sm) and _same(sp, snap0) and _same(sm, snap0))
        err = _floored_error(a, n, floor)
        plain.append(rel_error(a, n, warn=False))
        refined = np.zeros(idx.size, dtype=bool)
        if refine:
            for k in np.flatnonzero(~kinked & (err > SMOOTH) & np.isfinite(err)):
                n_r, crossed = _richardson(problem.evaluate, arr, int(idx[k]), h, n[k], snap0)
                e_r = _floored_error(a[k], n_r, floor)
                if not crossed and e_r < err[k]:
                    n[k], err[k], refined[k] = n_r, e_r, True
        rows.append(TensorRow(name, tuple(arr.shape), idx, a, n, err, kinked, note, refined))
    smooth = not any(w.size for w in snap0)
    return rows, smooth, plain


def _report(problem, what, h, num_coords, seed):
    rows, smooth, _ = _run(problem, h, num_coords, seed)
    report = GradCheckReport(what, rows, h, smooth, problem.source_dtype)
    mags = np.concatenate([np.maximum(np.abs(r.analytic), np.abs(r.numeric)) for r in rows])
    mags = mags[np.isfinite(mags)]
    if mags.size and 0 < mags.max() < TINY:
        msg = (f"all checked gradients are below {TINY:g}: the comparison is dominated by rounding; multiply "
               "the loss (or dy) by a constant to bring them near 1")
        report.notes.append(msg)
        warnings.warn(f"{problem.who}: {msg}", TinyGradientWarning, stacklevel=3)
    # A tensor whose sampled gradients are all exactly 0 on both sides "agrees" trivially: the check saw
    # nothing there.  Typical cause: a layer above starts at zero (Linear(init="zeros")) and blocks the
    # gradient, which would hide any mistake below it.  Say so, per tensor and in a note.
    blind = [r for r in rows if r.checked and not np.any(r.analytic) and not np.any(r.numeric)]
    for r in blind:
        r.note = (r.note + "; " if r.note else "") + "all gradients exactly 0: nothing was tested"
    if blind:
        report.notes.append(
            f"{len(blind)} tensor(s) ({', '.join(r.name for r in blind)}) had every checked gradient exactly 0, so "
            "a mistake there would go unseen; if a layer above starts at zero (init='zeros'), train a few steps "
            "first (burn-in) or check with a random init")
    if problem.input_grad_enabled:
        report.notes.append(f"input_grad=False switched on in the copy of {problem.input_grad_enabled} layer(s), "
                            "so their input gradient is checked too")
    if problem.int_input:
        report.notes.append("integer input (ids): no input gradient to check, parameters only")
    if problem.generators:
        report.notes.append(f"{len(problem.generators)} random generator(s) replayed before every evaluation")
    return report


# ------------------------------------------------------------------------------------------------------
# public checks
# ------------------------------------------------------------------------------------------------------
def check_layer(layer, x, dy=None, *, h: float = 1e-5, num_coords: int | None = 20, seed=0) -> GradCheckReport:
    """Check ``layer.backward`` for the input and every parameter, on a float64 copy.

    The objective is ``sum(layer(x) * dy)`` with ``dy`` fixed (drawn from ``seed`` when not given), whose
    gradient is exactly what ``backward(dy)`` must return / set.  x: any shape the layer accepts.
    """
    who = "check_layer"
    _check_layer_arg(layer, "layer", who)
    x = _float_array(x, "x", who, finite=True)
    h, num_coords = _check_h(h, who), _check_num_coords(num_coords, who)
    _check_seed(seed, who)
    problem = _Problem("layer", who, model=layer, x=x, dy=dy, seed=seed)
    return _report(problem, f"{type(layer).__name__} layer", h, num_coords, seed)


def check_loss(loss, scores, y, *, h: float = 1e-5, num_coords: int | None = 20, seed=0) -> GradCheckReport:
    """Check ``loss.backward()`` (gradient of the reduced objective) against the scores, on copies."""
    who = "check_loss"
    _check_loss_arg(loss, who)
    scores = _float_array(scores, "scores", who, finite=True)
    if y is None:
        raise TypeError(f"{who}: 'y' must be labels or targets, got None")
    h, num_coords = _check_h(h, who), _check_num_coords(num_coords, who)
    _check_seed(seed, who)
    problem = _Problem("loss", who, loss=loss, x=scores, y=y)
    return _report(problem, f"{type(loss).__name__} loss", h, num_coords, seed)


def check_model(model, loss, x, y, reg=None, check: str | None = None, *, h: float = 1e-5,
                num_coords: int | None = 20, seed=0) -> GradCheckReport:
    """Check a whole model + loss (+ L2 penalty) for the input and every parameter, on float64 copies.

    ``reg``: None, a float (meaning ``losses.L2(reg)``) or a penalty object with ``penalty(params)`` and
    ``backward(params)``.  ``check``: "data" (the loss alone), "reg" (the penalty alone) or "total" (both);
    default "data" without ``reg``, "total" with it.  Check "data" and "reg" apart first: a strong penalty
    has a simple gradient that can hide a wrong data gradient.
    """
    who = "check_model"
    reg, part = _prepare(model, loss, x, y, reg, check, who)
    h, num_coords = _check_h(h, who), _check_num_coords(num_coords, who)
    _check_seed(seed, who)
    problem = _Problem("model", who, model=model, loss=loss, x=x, y=y, reg=reg, part=part)
    objective = {"data": f"{type(loss).__name__}", "reg": "penalty only", "total": f"{type(loss).__name__} + penalty"}
    return _report(problem, f"{type(model).__name__} model ({objective[part]})", h, num_coords, seed)


def check_directional(model, loss, x, y, reg=None, check: str | None = None, *, h: float = 1e-5,
                      seed=0) -> DirectionalReport:
    """Fast check: the analytic directional derivative ``sum_p <grad_p, d_p>`` along a random unit direction
    ``d`` in the space of all parameters, against ``(f(theta + h d) - f(theta - h d)) / 2h``.

    Two evaluations of the objective whatever the number of parameters (plus the analytic pass; two more
    only when the first comparison is borderline, see ``_richardson``).  It tests every gradient at once
    but weighs them by the direction, so a small error in one tensor can drown: use it often, and
    ``check_model`` when it complains or a layer is new.
    """
    who = "check_directional"
    reg, part = _prepare(model, loss, x, y, reg, check, who)
    h = _check_h(h, who)
    _check_seed(seed, who)
    problem = _Problem("model", who, model=model, loss=loss, x=x, y=y, reg=reg, part=part)
    if not problem.params:
        raise ValueError(f"{who}: 'model' has no parameters to move along; use check_layer for its input")
    size, snap0, tensors = problem.analytic()
    grads = [g for name, _, g, _ in tensors if name != "x (input)"]
    values = [p.value for _, p in problem.params]
    rng = _rng(seed, 3)
    d = [rng.standard_normal(v.shape) for v in values]
    norm = np.sqrt(sum(float(np.sum(di * di)) for di in d))
    d = [di / norm for di in d]
    a = float(sum(np.sum(g * di) for g, di in zip(grads, d)))

    def centered(t):
        """(f(theta + t d) - f(theta - t d)) / actual step, and whether a kink was crossed."""
        start = [v.copy() for v in values]
        try:
            for v, v0, di in zip(values, start, d):
                v[...] = v0 + t * di
            plus = [v.copy() for v in values]
            vp, _, sp = problem.evaluate()
            for v, v0, di in zip(values, start, d):
                v[...] = v0 - t * di
            vm, _, sm = problem.evaluate()
            # the step as stored: the displacement projected on d (2t up to rounding)
            step = float(sum(np.sum((p1 - v) * di) for p1, v, di in zip(plus, values, d)))
        finally:
            for v, v0 in zip(values, start):
                v[...] = v0
        if step == 0:
            raise ValueError(f"{who}: 'h'={h:g} is too small to move the parameters in float64; use h ~ 1e-5")
        return (vp - vm) / step, not (_same(sp, sm) and _same(sp, snap0) and _same(sm, snap0))

    n, kinked = centered(h)
    floor = max(NOISE_FACTOR * np.finfo(np.float64).eps * size / h, 1e-300)
    err = float(_floored_error(a, n, floor))
    evaluations = 2
    if not kinked and SMOOTH < err < np.inf:        # borderline: cancel the h^2 term by extrapolation
        n_half, crossed = centered(h / 2)
        evaluations = 4
        n_r = (4 * n_half - n) / 3
        e_r = float(_floored_error(a, n_r, floor))
        if not crossed and e_r < err:
            n, err = n_r, e_r
    smooth = not any(w.size for w in snap0)
    return DirectionalReport(a, float(n), err, kinked, smooth, h, evaluations)


# ------------------------------------------------------------------------------------------------------
# step size
# ------------------------------------------------------------------------------------------------------
@dataclass
class StepSizeSweep:
    """``h`` and the largest plain relative error at each h (nan where no coordinate could be judged)."""
    h: np.ndarray
    error: np.ndarray
    dtype: str

    @property
    def best_h(self) -> float:
        return float(self.h[np.nanargmin(self.error)])


def step_size_sweep(model, x, loss=None, y=None, *, hs=None, reg=None, check=None, dy=None,
                    num_coords: int | None = 5, seed=0, dtype=np.float64) -> StepSizeSweep:
    """Relative error of the centered difference against the step h (for a plot: a V on log-log axes).

    Too large an h: truncation error O(h^2); too small: rounding error O(eps / h).  ``loss=None`` uses the
    layer objective ``sum(model(x) * dy)``.  ``dtype`` (float64 by default; float32 to see why the checker
    never uses it) is the precision of the copy.  The error is the plain ``|a - n| / max(|a|, |n|)``, without
    the checker's floor, so both arms of the V show.
    """
    who = "step_size_sweep"
    hs = np.logspace(-12, -1, 23) if hs is None else np.asarray(hs, dtype=np.float64).reshape(-1)
    if hs.size == 0 or not np.all(np.isfinite(hs) & (hs > 0)):
        raise ValueError(f"{who}: 'hs' must be positive finite step sizes, got {hs}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{who}: 'dtype' must be float32 or float64, got {dtype}")
    num_coords = _check_num_coords(num_coords, who)
    _check_seed(seed, who)
    if loss is None:
        _check_layer_arg(model, "model", who)
        x = _float_array(x, "x", who, finite=True)
        problem = _Problem("layer", who, model=model, x=x, dy=dy, dtype=dtype, seed=seed)
    else:
        reg, part = _prepare(model, loss, x, y, reg, check, who)
        problem = _Problem("model", who, model=model, loss=loss, x=x, y=y, reg=reg, part=part, dtype=dtype)
    errors = []
    for h in hs:
        rows, _, plain = _run(problem, float(h), num_coords, seed, refine=False)
        judged = np.concatenate([p[~r.kinked] for p, r in zip(plain, rows)])
        judged = judged[np.isfinite(judged)]
        errors.append(float(judged.max()) if judged.size else np.nan)
    return StepSizeSweep(hs, np.array(errors), dtype.name)


def plot_step_size_sweep(*sweeps, ax=None):
    """Log-log plot of one or more ``StepSizeSweep`` results; returns the Figure.  The figure is drawn by
    ``nn_scratch.plots.plot_step_size_sweep`` (kept here so old code keeps working)."""
    from .plots import plot_step_size_sweep as draw
    return draw(*sweeps, ax=ax)


# ------------------------------------------------------------------------------------------------------
# helpers: discovery and validation
# ------------------------------------------------------------------------------------------------------
def _loss_chain(loss):
    """The loss and every Loss-like object among its attributes (e.g. the loss inside ``Flooding``)."""
    out, todo, seen = [], [loss], set()
    while todo:
        obj = todo.pop()
        if obj is None or id(obj) in seen or isinstance(obj, Layer):
            continue
        seen.add(id(obj))
        out.append(obj)
        todo.extend(v for v in getattr(obj, "__dict__", {}).values()
                    if hasattr(v, "forward") and hasattr(v, "backward"))
    return out


def _generators(objects):
    """Every numpy Generator held by the objects' attributes, each once (``layers.find_generators``)."""
    found = {id(g): g for obj in objects for _, g in find_generators(obj)}
    return list(found.values())


def _rng(seed, stream):
    """A Generator for one purpose (1: dy, 2: coordinates, 3: direction), independent of a user's
    ``default_rng(seed)`` stream, so dy never equals data the caller drew with the same seed."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(None if seed is None else [int(seed), 0x6C1D, stream])


def _same(s1, s2):
    return len(s1) == len(s2) and all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(s1, s2))


def _sample(size, num_coords, rng):
    if num_coords is None or size <= num_coords:
        return np.arange(size)
    return np.sort(rng.choice(size, size=num_coords, replace=False))


def _source_dtype(model, x):
    if model is not None:
        params = model.parameters()
        if params:
            return str(params[0].value.dtype)
    return str(np.asarray(x).dtype)


def _flat_indices(indices, shape, who):
    size = int(np.prod(shape))
    if indices is None:
        return list(range(size))
    out = []
    for i in indices:
        try:
            flat = int(np.ravel_multi_index(tuple(i), shape)) if isinstance(i, (tuple, list)) else int(i)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{who}: 'indices' entry {i!r} is not a valid index for shape {shape}") from e
        if not 0 <= flat < size:
            raise ValueError(f"{who}: 'indices' entry {i!r} is out of range for shape {shape}")
        out.append(flat)
    return out


def _float_array(a, name, who, finite=False):
    arr = check_input(a, name, layer=who)        # a numeric (float or int) array, else TypeError
    if finite:
        if arr.size == 0:
            raise ValueError(f"{who}: '{name}' is empty (shape {arr.shape}); need at least one value")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{who}: '{name}' contains NaN or inf; a gradient check needs finite values")
    return arr


def _check_h(h, who):
    if isinstance(h, bool) or not isinstance(h, numbers.Real):
        raise TypeError(f"{who}: 'h' must be a positive float (e.g. 1e-5), got {type(h).__name__}")
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"{who}: 'h' must be a positive finite float (e.g. 1e-5), got {h!r}")
    return float(h)


def _check_num_coords(num_coords, who):
    if num_coords is None:
        return None
    if isinstance(num_coords, bool) or not isinstance(num_coords, numbers.Integral):
        raise TypeError(f"{who}: 'num_coords' must be a positive int or None (all), got {type(num_coords).__name__}")
    if num_coords < 1:
        raise ValueError(f"{who}: 'num_coords' must be >= 1 or None (all), got {num_coords}")
    return int(num_coords)


def _check_seed(seed, who):
    if seed is None or isinstance(seed, np.random.Generator):
        return
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"{who}: 'seed' must be a non-negative int, a Generator or None, got {seed!r}")


def _check_layer_arg(layer, name, who):
    if not isinstance(layer, Layer):
        raise TypeError(f"{who}: '{name}' must be a nn_scratch Layer (subclass of layers.Layer), "
                        f"got {type(layer).__name__}")


def _check_loss_arg(loss, who):
    if not (callable(getattr(loss, "forward", None)) and callable(getattr(loss, "backward", None))):
        raise TypeError(f"{who}: 'loss' must be a loss with forward(scores, y) and backward(), "
                        f"got {type(loss).__name__}")


def _prepare(model, loss, x, y, reg, check, who):
    """Validate the model-level arguments; returns (penalty object or None, part)."""
    from .losses import L2
    _check_layer_arg(model, "model", who)
    _check_loss_arg(loss, who)
    _float_array(x, "x", who, finite=True)
    if y is None:
        raise TypeError(f"{who}: 'y' must be labels or targets, got None")
    if reg is not None:
        if isinstance(reg, numbers.Real) and not isinstance(reg, bool):
            if not (np.isfinite(reg) and reg >= 0):
                raise ValueError(f"{who}: 'reg' must be >= 0, got {reg!r}")
            reg = L2(float(reg))
        elif not (callable(getattr(reg, "penalty", None)) and callable(getattr(reg, "backward", None))):
            raise TypeError(f"{who}: 'reg' must be None, a float or a penalty with penalty(params) and "
                            f"backward(params) (e.g. losses.L2), got {type(reg).__name__}")
    part = check if check is not None else ("data" if reg is None else "total")
    if part not in ("data", "reg", "total"):
        raise ValueError(f"{who}: 'check' must be 'data', 'reg' or 'total', got {check!r}")
    if part != "data" and reg is None:
        raise ValueError(f"{who}: check={part!r} needs a penalty: pass reg= (a float or losses.L2)")
    return reg, part
