"""Sanity checks to run before a long training run (lecture notes, "before learning").

* ``check_initial_loss``               -- with small weights and no penalty the first loss is the loss at
                                          chance: ``ln C`` for softmax, ``(C - 1) * margin`` for the SVM,
                                          within a tolerance derived from what "small" means (scores spread
                                          by at most 0.3: ``ln C + 0.045``)
* ``check_regularization_raises_loss`` -- a stronger L2 penalty must give a larger objective
* ``overfit_small_subset``             -- ~20 examples, no regularization: reach ~zero loss and 100 % training
                                          accuracy within a bounded number of steps
* ``check_learns_signal``              -- trained on a few hundred examples, the model beats chance on
                                          others (catches labels shuffled against their inputs, which a
                                          tiny subset would still be memorized with)
* ``run_all``                          -- all of the above, as one ``SanityReport``

Each returns a ``CheckResult`` with ``.passed``, the numbers measured and expected, and a ``str()`` that
says in words what was seen and, on failure, what to look at.  The model passed in is never changed:
pass a model (it is deep-copied) or a factory ``lambda: make_model()`` (called for a fresh one).

Example
-------
>>> import numpy as np
>>> from nn_scratch.layers import Linear, ReLU, Sequential
>>> from nn_scratch.losses import SoftmaxCrossEntropy
>>> rng = np.random.default_rng(0)
>>> X = rng.standard_normal((100, 5)); y = rng.integers(0, 3, 100)
>>> model = Sequential([Linear(5, 16, rng=0), ReLU(), Linear(16, 3, init="zeros")])
>>> r = check_initial_loss(model, SoftmaxCrossEntropy(), X, y)
>>> r.passed, round(r.expected, 4)
(True, 1.0986)
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from ._checks import check_int, check_number, check_seed
from .layers.base import Layer, skip_input_grad
from .losses import L2, MulticlassSVM, SequenceCrossEntropy, SoftmaxCrossEntropy, is_classification, unwrap_loss

#: losses whose loss at chance is ln C (per sample, or per counted token for a sequence)
_SOFTMAX = (SoftmaxCrossEntropy, SequenceCrossEntropy)

__all__ = ["CheckResult", "SanityReport", "check_initial_loss", "check_regularization_raises_loss",
           "overfit_small_subset", "check_learns_signal", "run_all", "SMALL_SCORE_STD"]


@dataclass
class CheckResult:
    """Outcome of one sanity check: ``name``, ``passed``, ``measured``, ``expected``, ``message`` and extra
    numbers in ``details``.  ``str()`` gives one readable paragraph.

    ``measured`` / ``expected`` per check: initial loss vs loss at chance; increase of the objective from
    the weakest to the strongest penalty vs 0 (must exceed); final loss vs the target; held-out accuracy
    (or MSE) vs the bar it must beat."""
    name: str
    passed: bool
    measured: float
    expected: float
    message: str
    details: dict = field(default_factory=dict)

    def __str__(self):
        return f"[{'PASS' if self.passed else 'FAIL'}] {self.name}: {self.message}"


@dataclass
class SanityReport:
    """The results of ``run_all``; ``passed`` when every check passed; ``report["overfit_small_subset"]``."""
    results: list

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def __getitem__(self, name):
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"no sanity check named {name!r}; have {[r.name for r in self.results]}")

    def __iter__(self):
        return iter(self.results)

    def __str__(self):
        head = "all sanity checks passed" if self.passed else \
            f"{sum(not r.passed for r in self.results)} of {len(self.results)} sanity checks FAILED"
        return "\n".join([head] + [str(r) for r in self.results])


# -- helpers ------------------------------------------------------------------------------------------------
def _fresh(model):
    if isinstance(model, Layer):
        return copy.deepcopy(model)
    if callable(model):
        m = model()
        if not isinstance(m, Layer):
            raise TypeError(f"sanity: the model factory must return a Layer, got {type(m).__name__}")
        return m
    raise TypeError(f"sanity: 'model' must be a Layer or a callable returning one, got {type(model).__name__}")


def _check_xy(who, X, y):
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim < 2 or X.shape[0] == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(f"{who}: 'X' (N, D...) and 'y' (N,) must have the same non-zero N; got shapes "
                         f"{X.shape} and {y.shape}")
    return X, y


def _eval(model, loss, X, y):
    """Mean data loss and accuracy (NaN for regression) in eval mode."""
    model.eval()
    scores = model.forward(X)
    model.train()
    inner = unwrap_loss(loss)
    value = float(inner.reduce(inner.forward(scores, y)))       # the loss's own mean (counted tokens only)
    acc = math.nan
    if is_classification(loss, y) and scores.ndim == np.ndim(y) + 1:
        hit = np.argmax(scores, axis=-1) == y                    # per sample, or per token for (N, T, C)
        counted = _counted(loss, y)
        acc = float(np.mean(hit[counted])) if counted.any() else math.nan
    return value, acc, scores


def _counted(loss, y):
    """Which labels count: all of them, except a sequence loss's ``ignore_index`` (padding)."""
    ignore = getattr(unwrap_loss(loss), "ignore_index", None)
    y = np.asarray(y)
    return y != ignore if ignore is not None else np.ones(y.shape, dtype=bool)


def _default_optimizer(params):
    from .optim import Adam
    return Adam(params, lr=1e-2)


def _train_full_batch(model, loss, X, y, steps, optimizer, stop=None, check_every=10):
    """Plain full-batch descent on the data loss; returns the loss curve (one value per step)."""
    opt = (optimizer or _default_optimizer)(model.parameters())
    inner, curve = unwrap_loss(loss), []
    model.train()
    for t in range(steps):
        with skip_input_grad(X):                    # the data's gradient is not needed
            scores = model.forward(X)
        if not np.all(np.isfinite(scores)):
            curve.append(math.nan)
            break
        value = float(inner.reduce(inner.forward(scores, y)))
        curve.append(value)
        if not math.isfinite(value):
            break
        model.backward(inner.backward())
        opt.step()
        if stop is not None and (t + 1) % check_every == 0 and stop():
            break
    return curve


# -- the checks -----------------------------------------------------------------------------------------------
#: the largest spread of initial scores that still counts as "small parameters" (see ``check_initial_loss``)
SMALL_SCORE_STD = 0.3


def _last_weight(model):
    """(name, std) of the model's last regularized parameter -- the output layer's weights -- or None."""
    named = [(n, p) for n, p in model.named_parameters() if getattr(p, "regularize", True)]
    if not named:
        return None
    name, p = named[-1]
    return name, float(np.std(p.value, dtype=np.float64))


def check_initial_loss(model, loss, X, y, tol=None) -> CheckResult:
    """Compare the untrained model's mean data loss (eval mode, no penalty) with the loss at chance.

    Expected: ``ln C`` for ``SoftmaxCrossEntropy`` (every class gets probability 1/C), ``(C - 1) * margin``
    for ``MulticlassSVM`` (all scores ~0, every wrong class violates the margin by exactly the margin).

    The tolerance ``tol`` (absolute, in loss units) follows from the notes' premise, "with small parameters
    the scores are all near zero": for softmax, scores that differ across classes by a standard deviation
    sigma give a loss above ``ln C`` by about ``sigma^2 / 2`` (second-order expansion of log-sum-exp around
    equal scores; the linear term averages out when the scores do not know the labels yet).  We call the
    scores small while sigma <= ``SMALL_SCORE_STD`` = 0.3 (every probability within about a third of 1/C),
    so the default ``tol`` is ``0.3^2 / 2 = 0.045``.  For the SVM the hinge is exactly linear while every
    score difference stays inside the margin, so the loss stays at ``(C - 1) * margin`` up to sampling
    noise: the default ``tol`` is ``0.3 * margin`` (sigma = 0.3 margin, the start of the margin's reach).
    A loss more than ``tol`` *below* chance is as suspicious as one above.

    On failure the message gives the measured spread of the scores (``details["score_std"]``: per sample,
    the standard deviation of its C scores, root-mean-squared over samples) and the fix that addresses
    it: start the output layer at zero (``Linear(..., init="zeros")``) or small (``init="gaussian",
    weight_scale=0.01``).  A He or Xavier output layer is *not* small: on 128 ReLU units of
    standardized 8x8 digits it spreads the scores by about 1.2 and starts the loss at 3.04 instead of
    ln 10 = 2.30 (1.2^2 / 2 = 0.73 is indeed the excess).
    """
    X, y = _check_xy("check_initial_loss", X, y)
    if tol is not None:
        check_number("tol", tol, who="check_initial_loss", low=0, low_open=True)
    inner = unwrap_loss(loss)
    if not isinstance(inner, _SOFTMAX + (MulticlassSVM,)):
        raise TypeError(f"check_initial_loss: the loss at chance is defined for SoftmaxCrossEntropy, "
                        f"SequenceCrossEntropy and MulticlassSVM, got {type(inner).__name__}")
    m = _fresh(model)
    measured, _, scores = _eval(m, loss, X, y)
    scores = np.asarray(scores, dtype=np.float64)
    C = scores.shape[-1]                      # classes are the last axis: (N, C), or (N, T, C) for tokens
    counted = _counted(loss, y)
    spread = float(np.sqrt(np.mean(np.var(scores, axis=-1)[counted]))) if np.all(np.isfinite(scores)) \
        else math.inf
    if isinstance(inner, _SOFTMAX):
        expected, formula = math.log(C), f"ln {C}"
        default_tol, why = SMALL_SCORE_STD ** 2 / 2, \
            f"sigma^2/2 for scores spread by sigma <= {SMALL_SCORE_STD:g} across classes"
    else:
        expected, formula = (C - 1) * inner.margin, f"({C} - 1) x margin {inner.margin:g}"
        default_tol, why = SMALL_SCORE_STD * inner.margin, \
            f"scores spread by up to {SMALL_SCORE_STD:g} x margin stay inside the hinge's linear part"
    tol = default_tol if tol is None else float(tol)
    diff = measured - expected
    passed = bool(abs(diff) <= tol)
    head = (f"initial loss {measured:.4f}, expected {expected:.4f} at chance ({formula}), tolerance +-{tol:.3g} "
            f"({why}); measured score spread {spread:.3g}: ")
    last = _last_weight(m)
    if passed:
        msg = head + f"within tolerance ({diff:+.4f})."
    elif diff > 0:
        where = f" The output layer's weights ({last[0]}) have std {last[1]:.3g}." if last else ""
        msg = head + (f"{diff:+.4f}, too high. The untrained scores already differ across classes, so the model is "
                      f"confidently wrong before learning.{where} Start the output layer at zero "
                      "(Linear(..., init=\"zeros\")) or small (init=\"gaussian\", weight_scale=0.01); the "
                      "hidden layers keep 'he'/'xavier'. If the spread comes from unscaled inputs, standardize them.")
    else:
        msg = head + (f"{diff:+.4f}, below chance before any training. The untrained model already predicts the "
                      "labels: look for labels leaking into the inputs, a loss that is normalized twice, or "
                      "weights loaded from a trained model.")
    return CheckResult("initial_loss", passed, measured, expected, msg,
                       {"classes": C, "difference": diff, "tolerance": tol, "score_std": spread,
                        "relative_error": abs(diff) / expected})


def check_regularization_raises_loss(model, loss, X, y, regs=(0.0, 1e-3, 1e-2, 1e-1, 1.0),
                                     penalty=L2) -> CheckResult:
    """The objective ``data loss + penalty(reg)`` must grow strictly with ``reg`` at fixed weights.

    ``penalty`` makes the penalty object from a strength (default ``losses.L2``: ``0.5 reg sum W^2``).
    """
    X, y = _check_xy("check_regularization_raises_loss", X, y)
    regs = [float(r) for r in regs]
    if len(regs) < 2 or any(b <= a for a, b in zip(regs, regs[1:])):
        raise ValueError(f"check_regularization_raises_loss: 'regs' must be at least two increasing strengths, "
                         f"got {regs}")
    m = _fresh(model)
    data, _, _ = _eval(m, loss, X, y)
    params = m.parameters()
    totals = [data + float(penalty(r).penalty(params)) for r in regs]
    steps = np.diff(totals)
    passed = bool(np.all(steps > 0))
    pairs = ", ".join(f"reg {r:g}: {t:.4f}" for r, t in zip(regs, totals))
    if passed:
        msg = f"the objective grows with the penalty strength ({pairs})."
    elif not any(getattr(p, "regularize", True) for p in params):
        msg = (f"no parameter has regularize=True, so the penalty is always 0 ({pairs}); "
               "the weights should be regularized (biases need not be).")
    else:
        msg = (f"the objective does not grow with the penalty strength ({pairs}): the penalty is not added, "
               "has the wrong sign, or ignores the weights.")
    return CheckResult("regularization_raises_loss", passed, totals[-1] - totals[0], 0.0, msg,
                       {"regs": regs, "objectives": totals})


def overfit_small_subset(model, loss, X, y, n: int = 20, steps: int = 300, optimizer=None, seed=0,
                         loss_tol=None) -> CheckResult:
    """Train (full batch, no regularization) on ``n`` random examples for up to ``steps`` steps.

    Passes when the data loss (eval mode) falls to ``loss_tol`` (default 1 % of the smaller of the initial
    loss and the loss at chance) and, for classification with one label per sample, the training accuracy
    is 100 % (per-token labels are judged by the loss alone: a context may be followed by different tokens).  ``optimizer`` is a callable ``params ->
    optimizer`` (default ``Adam(lr=1e-2)``).  ``details`` holds the loss curve and, when X has more
    samples, the accuracy on up to 500 of the others (``holdout_acc``), for the notes' warning that
    memorizing noise also succeeds here.
    """
    X, y = _check_xy("overfit_small_subset", X, y)
    check_seed("seed", seed, who="overfit_small_subset")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= X.shape[0]:
        raise ValueError(f"overfit_small_subset: 'n' must be an integer in [1, {X.shape[0]}], got {n!r}")
    check_int("steps", steps, minimum=1, who="overfit_small_subset")
    rng = np.random.default_rng(seed)
    order = rng.permutation(X.shape[0])
    idx, rest = order[:n], order[n:n + 500]
    Xs, ys = X[idx], y[idx]
    m = _fresh(model)
    initial, _, scores = _eval(m, loss, Xs, ys)
    inner, C = unwrap_loss(loss), scores.shape[-1]
    chance = math.log(C) if isinstance(inner, _SOFTMAX) else \
        (C - 1) * inner.margin if isinstance(inner, MulticlassSVM) else math.inf
    tol = 0.01 * min(initial, chance) if loss_tol is None else float(loss_tol)

    # 100 % training accuracy is required per sample, not per token: in a sequence the same context can be
    # followed by different tokens (two windows starting with the same character), so only the loss is judged.
    judge_acc = np.ndim(ys) == 1

    def reached():
        value, acc, _ = _eval(m, loss, Xs, ys)
        return value <= tol and (not judge_acc or math.isnan(acc) or acc == 1.0)

    curve = _train_full_batch(m, loss, Xs, ys, steps, optimizer, stop=reached)
    final, acc, _ = _eval(m, loss, Xs, ys) if math.isfinite(curve[-1]) else (math.nan, math.nan, None)
    passed = math.isfinite(final) and final <= tol and (not judge_acc or math.isnan(acc) or acc == 1.0)
    details = {"n": n, "steps_taken": len(curve), "initial_loss": initial, "train_acc": acc, "curve": curve}
    if rest.size and not math.isnan(acc):
        details["holdout_acc"] = _eval(m, loss, X[rest], y[rest])[1]
    acc_txt = "" if math.isnan(acc) else f", training accuracy {acc:.0%}"
    if passed:
        msg = (f"{n} examples memorized in {len(curve)} steps: loss {initial:.4f} -> {final:.4g} "
               f"(target <= {tol:.3g}){acc_txt}.")
    elif not math.isfinite(final):
        msg = (f"the loss became NaN/inf after {len(curve)} steps: the learning rate is too high, or a "
               "computation overflows (exp of large scores, log of 0).")
    elif final > initial:
        msg = (f"the loss went UP ({initial:.4f} -> {final:.4f}) in {len(curve)} steps: the learning rate is "
               "too high, or a gradient has the wrong sign (run the gradient check).")
    elif final > 0.9 * initial:
        msg = (f"the loss barely moved ({initial:.4f} -> {final:.4f}) in {len(curve)} steps{acc_txt}: the "
               "parameters are not learning. Check that backward sets every parameter's grad (gradient "
               "check), that the optimizer changes p.value in place, and that the learning rate is not tiny.")
    else:
        msg = (f"not memorized after {steps} steps: loss {initial:.4f} -> {final:.4f} (target <= {tol:.3g})"
               f"{acc_txt}. If the curve is still falling give more steps or a larger learning rate; if it "
               "has flattened, the model may lack capacity, dropout/regularization may be on, or identical "
               "inputs carry different labels.")
    return CheckResult("overfit_small_subset", passed, final, tol, msg, details)


def check_learns_signal(model, loss, X, y, n_train: int = 200, n_test: int = 300, steps: int = 200,
                        optimizer=None, seed=0) -> CheckResult:
    """Train on ``n_train`` examples, test on ``n_test`` others: the model must beat chance clearly.

    Classification: held-out accuracy above the majority-class rate by more than 3 binomial standard
    errors.  Regression: held-out MSE below 90 % of predicting the training mean.  A model can memorize
    a tiny subset even when labels are shuffled against the inputs; it cannot then generalize.
    """
    X, y = _check_xy("check_learns_signal", X, y)
    who = "check_learns_signal"
    n_train, n_test = check_int("n_train", n_train, 2, who), check_int("n_test", n_test, 10, who)
    check_int("steps", steps, minimum=1, who=who)
    check_seed("seed", seed, who=who)
    if n_train + n_test > X.shape[0]:
        n_test = X.shape[0] - n_train
    if n_train < 2 or n_test < 10:
        raise ValueError(f"check_learns_signal: need n_train >= 2 and at least 10 other samples; X has "
                         f"{X.shape[0]} rows for n_train={n_train}")
    order = np.random.default_rng(seed).permutation(X.shape[0])
    tr, te = order[:n_train], order[n_train:n_train + n_test]
    m = _fresh(model)
    _train_full_batch(m, loss, X[tr], y[tr], steps, optimizer)
    value, acc, _ = _eval(m, loss, X[te], y[te])
    if not math.isnan(acc):
        labels = np.asarray(y[te])[_counted(loss, y[te])]           # every label, or every counted token
        _, counts = np.unique(labels, return_counts=True)
        chance = counts.max() / labels.size                          # always predicting the commonest class
        bar = chance + 3 * math.sqrt(chance * (1 - chance) / labels.size)
        passed, measured, expected = acc > bar, acc, bar
        unit = "" if labels.size == len(te) else f" over {labels.size} tokens"
        what = f"held-out accuracy{unit} {acc:.3f} vs chance {chance:.3f} (must exceed {bar:.3f})"
    else:
        base = float(np.mean((y[te] - y[tr].mean(axis=0)) ** 2))
        passed, measured, expected = value < 0.9 * base, value, 0.9 * base
        what = f"held-out MSE {value:.4g} vs {base:.4g} for predicting the mean"
    msg = what + (": the model learns something that generalizes." if passed else
                  ": it does not generalize beyond chance. Check that the labels are aligned with the "
                  "inputs (not shuffled in a separate step), that the features are not scrambled or "
                  "constant, and that training and test rows come from the same source.")
    return CheckResult("learns_signal", bool(passed), measured, expected, msg, {"n_train": n_train, "n_test": len(te)})


def run_all(model, loss, X, y, n: int = 20, steps: int = 300, optimizer=None, seed=0) -> SanityReport:
    """Run every check and collect a report: the initial-loss check only for softmax / SVM losses, the
    signal check only when X has at least ``n + 12`` rows and 10 besides its training half (<= 200 rows)."""
    results = []
    if isinstance(unwrap_loss(loss), _SOFTMAX + (MulticlassSVM,)):
        results.append(check_initial_loss(model, loss, X, y))
    results.append(check_regularization_raises_loss(model, loss, X, y))
    results.append(overfit_small_subset(model, loss, X, y, n=n, steps=steps, optimizer=optimizer, seed=seed))
    N = np.asarray(X).shape[0]
    n_train = min(200, N // 2)
    if N >= n + 12 and N - n_train >= 10:               # also what check_learns_signal needs, for small n
        results.append(check_learns_signal(model, loss, X, y, n_train=n_train, optimizer=optimizer, seed=seed))
    return SanityReport(results)
