"""Losses, the L2 penalty and flooding.

Protocol of a loss (``Loss``):

* ``forward(scores, y)`` -> the **per-sample** losses, shape (N,), keeping what backward needs;
* ``reduce(per_sample)`` -> the scalar objective (the mean; ``Flooding`` changes it);
* ``backward()`` -> d(objective)/d(scores), same shape as ``scores``.

Shapes: scores (N, C) for classification with integer labels y (N,) in [0, C); for ``MSE`` scores and
targets (N, K) or (N,); for ``SequenceCrossEntropy`` scores (N, T, C) and labels (N, T), one loss per
token, averaged over the tokens that count.  The regularization penalty is separate (``L2``) so it can be checked on its own.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_has, check_number

__all__ = ["Loss", "SoftmaxCrossEntropy", "SequenceCrossEntropy", "MulticlassSVM", "MSE", "L2", "Flooding",
           "unwrap_loss", "is_classification"]


def _check_scores(scores, name="scores", who="loss", ndim=(2,)):
    scores = np.asarray(scores)
    if not np.issubdtype(scores.dtype, np.floating):
        if np.issubdtype(scores.dtype, np.integer):
            scores = scores.astype(np.float64)
        else:
            raise TypeError(f"{who}: '{name}' must be a float array, got dtype {scores.dtype}")
    if scores.ndim not in ndim:
        raise ValueError(f"{who}: '{name}' must have {' or '.join(map(str, ndim))} dimensions, "
                         f"got {scores.ndim} (shape {scores.shape})")
    if scores.shape[0] == 0:
        raise ValueError(f"{who}: '{name}' is empty (shape {scores.shape}); need at least one sample")
    if not np.all(np.isfinite(scores)):
        bad = np.argwhere(~np.isfinite(scores))[0]
        raise ValueError(f"{who}: '{name}' contains NaN or inf (first at index {tuple(int(i) for i in bad)}); "
                         "the network has diverged or the input holds NaN -- lower the learning rate or "
                         "check the data")
    return scores


def _check_labels(y, n, num_classes, who, name="y"):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{who}: '{name}' must be a 1-D array of class indices, got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"{who}: '{name}' has {y.shape[0]} labels but 'scores' has {n} rows; they must match")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise TypeError(f"{who}: '{name}' must hold integer class indices, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        row = int(np.flatnonzero((y < 0) | (y >= num_classes))[0])
        raise ValueError(f"{who}: labels '{name}' must be in [0, {num_classes - 1}] for {num_classes} score "
                         f"columns, got values in [{y.min()}, {y.max()}] (first bad label {y[row]} at row {row})")
    return y


def _require_forward(loss, attr):
    """``backward`` needs what ``forward`` kept; say so instead of an AttributeError."""
    if getattr(loss, attr, None) is None:
        raise RuntimeError(f"{type(loss).__name__}: backward() was called before forward(scores, y); "
                           "run forward first, it keeps what the gradient needs")


class Loss:
    """Base class: subclasses implement ``forward`` (per-sample) and ``backward`` (of the mean)."""

    def __call__(self, scores, y):
        return self.forward(scores, y)

    def reduce(self, per_sample):
        """The scalar objective from the per-sample losses: their mean (accumulated in float64, so a batch of
        large but finite float32 losses does not overflow to inf)."""
        return float(np.mean(per_sample, dtype=np.float64))

    def forward(self, scores, y):
        raise NotImplementedError

    def check_targets(self, scores_shape, y, name="y"):
        """Check the targets ``y`` of a whole data set before training, given the shape ``scores_shape`` the
        scores of those rows will have (e.g. (N, C)); raise a clear error naming ``name``, else return ``y``.

        ``Trainer.fit`` calls it for ``y`` and ``y_val`` before the first step.  The base class checks
        only the number of rows; a loss with its own targets (labels per token, ...) overrides it.
        """
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != scores_shape[0]:
            raise ValueError(f"{type(self).__name__}: '{name}' must have one entry per row ({scores_shape[0]}), "
                             f"got shape {y.shape}")
        return y

    def backward(self):
        raise NotImplementedError


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by the negative log-likelihood of the true class.

    ``L_i = -log( exp(s_{i,y_i}) / sum_j exp(s_ij) ) = logsumexp(s_i) - s_{i,y_i}``

    Computed with the max subtracted, so logits of +-1000 give finite, exact values.  At chance
    (all scores equal) every sample's loss is ``ln C``.
    Gradient of the mean: ``dL/ds = (softmax(s) - onehot(y)) / N``.
    """

    def forward(self, scores, y):
        scores = _check_scores(scores, who="SoftmaxCrossEntropy")
        y = _check_labels(y, scores.shape[0], scores.shape[1], "SoftmaxCrossEntropy")
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(shifted).sum(axis=1))
        rows = np.arange(scores.shape[0])
        self.probs = np.exp(shifted - log_z[:, None])
        self.y = y
        return log_z - shifted[rows, y]

    def check_targets(self, scores_shape, y, name="y"):
        """Integer class labels (N,) in [0, C) for scores (N, C)."""
        who = type(self).__name__
        if len(scores_shape) != 2:
            raise ValueError(f"{who}: the model's scores must be (N, C) class scores, got shape {tuple(scores_shape)}")
        return _check_labels(y, scores_shape[0], scores_shape[1], who, name)

    def backward(self):
        _require_forward(self, "probs")
        N = self.probs.shape[0]
        d = self.probs.copy()
        d[np.arange(N), self.y] -= 1
        return d / d.dtype.type(N)


class SequenceCrossEntropy(Loss):
    """Softmax cross-entropy at every position of a sequence (a language model's next-token loss).

    Shapes: scores (N, T, C), labels y (N, T) in [0, C) or equal to ``ignore_index`` (padding: such a token
    counts for nothing).  ``forward`` returns the per-token losses (N, T), 0 where ignored;
    ``reduce(per_token)`` and ``backward`` use the **mean over the counted tokens**, so padding never dilutes
    the loss.  Each token's loss is ``SoftmaxCrossEntropy``'s formula; a separate class because the
    per-sample shape (N, T) and the reduction differ, and the (N, C) loss stays a short read.
    Gradient: ``dL/ds[n, t] = (softmax(s[n, t]) - onehot(y[n, t])) / count``, 0 at ignored tokens.

    ``reduce`` counts with the mask of the last ``forward`` (its per-token losses have that shape).  Without
    ``ignore_index`` every token counts and any array of per-token losses reduces to its mean.
    """

    is_classification = True

    def __init__(self, ignore_index: int | None = None):
        if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer))):
            raise TypeError(f"SequenceCrossEntropy: 'ignore_index' must be an int or None, got {ignore_index!r}")
        self.ignore_index = ignore_index

    def check_targets(self, scores_shape, y, name="y"):
        """Labels (N, T) of integers in [0, C) or ``ignore_index`` for scores of shape (N, T, C); returns y as int64."""
        who = "SequenceCrossEntropy"
        y = np.asarray(y)
        if len(scores_shape) != 3:
            raise ValueError(f"{who}: the model's scores must be (N, T, C), got shape {tuple(scores_shape)}")
        if y.shape != tuple(scores_shape[:2]):
            raise ValueError(f"{who}: labels '{name}' must have shape (N, T) = {tuple(scores_shape[:2])} to match "
                             f"'scores' {tuple(scores_shape)}, got {y.shape}")
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"{who}: '{name}' must hold integer class indices, got dtype {y.dtype}")
        C = scores_shape[2]
        counted = y != self.ignore_index if self.ignore_index is not None else np.ones(y.shape, dtype=bool)
        vals = y[counted]
        if vals.size and (vals.min() < 0 or vals.max() >= C):
            raise ValueError(f"{who}: labels '{name}' must be in [0, {C - 1}] for {C} score columns"
                             f"{'' if self.ignore_index is None else f' (or ignore_index={self.ignore_index})'}, "
                             f"got values in [{vals.min()}, {vals.max()}]")
        return y.astype(np.int64, copy=False)

    def forward(self, scores, y):
        scores = _check_scores(scores, who="SequenceCrossEntropy", ndim=(3,))
        y = self.check_targets(scores.shape, y)
        self.counted = y != self.ignore_index if self.ignore_index is not None else np.ones(y.shape, dtype=bool)
        self.count = int(self.counted.sum())
        if self.count == 0:
            raise ValueError("SequenceCrossEntropy: every label equals ignore_index; no token to average over")
        N, T, C = scores.shape
        s = scores.reshape(N * T, C)
        safe_y = np.where(self.counted, y, 0).reshape(-1)           # any valid class where ignored
        shifted = s - s.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(shifted).sum(axis=1))
        self.probs = np.exp(shifted - log_z[:, None])
        self.y = safe_y
        per = (log_z - shifted[np.arange(N * T), safe_y]).reshape(N, T)
        return np.where(self.counted, per, per.dtype.type(0))

    def reduce(self, per_sample):
        per_sample = np.asarray(per_sample)
        if self.ignore_index is None:
            return super().reduce(per_sample)
        counted = getattr(self, "counted", None)
        if counted is None or per_sample.shape != counted.shape:
            raise ValueError(f"SequenceCrossEntropy.reduce: with ignore_index the per-token losses must come from "
                             f"the last forward (shape {None if counted is None else counted.shape}), got shape "
                             f"{per_sample.shape}")
        return float(np.sum(per_sample, dtype=np.float64) / self.count)

    def backward(self):
        _require_forward(self, "probs")
        d = self.probs.copy()
        d[np.arange(d.shape[0]), self.y] -= 1
        d *= self.counted.reshape(-1, 1)
        return (d / d.dtype.type(self.count)).reshape(*self.counted.shape, -1)


class MulticlassSVM(Loss):
    """Weston-Watkins multiclass hinge loss: ``L_i = sum_{j != y_i} max(0, s_ij - s_{i,y_i} + margin)``.

    At chance (all scores equal) each sample's loss is ``(C - 1) * margin``.  The hinge is a kink: which
    margins were positive is recorded in ``self.winners`` for the gradient checker.
    Gradient of the mean: for j != y_i, ``1[m_ij > 0] / N``; for y_i, ``-(number of positive margins) / N``.
    """

    def __init__(self, margin: float = 1.0):
        self.margin = check_number("margin", margin, who="MulticlassSVM", low=0, low_open=True)

    def forward(self, scores, y):
        scores = _check_scores(scores, who="MulticlassSVM")
        y = _check_labels(y, scores.shape[0], scores.shape[1], "MulticlassSVM")
        rows = np.arange(scores.shape[0])
        margins = scores - scores[rows, y][:, None] + scores.dtype.type(self.margin)
        margins[rows, y] = 0
        self.winners = margins > 0        # which side of each hinge max(0, m) won
        self.y, self.dtype = y, scores.dtype
        return np.where(self.winners, margins, 0).sum(axis=1)

    def check_targets(self, scores_shape, y, name="y"):
        """Integer class labels (N,) in [0, C) for scores (N, C)."""
        who = type(self).__name__
        if len(scores_shape) != 2:
            raise ValueError(f"{who}: the model's scores must be (N, C) class scores, got shape {tuple(scores_shape)}")
        return _check_labels(y, scores_shape[0], scores_shape[1], who, name)

    def backward(self):
        _require_forward(self, "winners")
        N = self.winners.shape[0]
        d = self.winners.astype(self.dtype)
        d[np.arange(N), self.y] = -d.sum(axis=1)
        return d / d.dtype.type(N)


class MSE(Loss):
    """Mean squared error: ``L_i = mean_k (s_ik - t_ik)^2`` per sample, so the mean over samples equals the
    mean over all elements (as ``torch.nn.MSELoss``).  Scores and targets (N, K) or (N,); a target of shape
    (N,) is accepted for scores of shape (N, 1).

    Gradient of the mean over samples: ``2 (s - t) / (N K)``.
    """

    def check_targets(self, scores_shape, y, name="y"):
        """Numeric, finite targets of the scores' shape (or (N,) for scores (N, 1))."""
        t = np.asarray(y)
        scores_shape = tuple(scores_shape)
        if not (np.issubdtype(t.dtype, np.floating) or np.issubdtype(t.dtype, np.integer)):
            raise TypeError(f"MSE: targets '{name}' must be numeric, got dtype {t.dtype}")
        if t.shape != scores_shape and not (len(scores_shape) == 2 and scores_shape[1] == 1
                                            and t.shape == scores_shape[:1]):
            raise ValueError(f"MSE: targets '{name}' must have the shape of 'scores' {scores_shape}, got {t.shape}")
        if not np.all(np.isfinite(t)):
            row = int(np.argwhere(~np.isfinite(t))[0][0])
            raise ValueError(f"MSE: targets '{name}' contain NaN or inf (first at row {row})")
        return t

    def forward(self, scores, y):
        scores = _check_scores(scores, who="MSE", ndim=(1, 2))
        t = self.check_targets(scores.shape, y)
        t = t.reshape(scores.shape).astype(scores.dtype, copy=False)
        self.diff = scores - t
        sq = self.diff * self.diff
        return sq.reshape(sq.shape[0], -1).mean(axis=1)

    def backward(self):
        _require_forward(self, "diff")
        return 2 * self.diff / self.diff.dtype.type(self.diff.size)


class L2:
    """L2 weight penalty ``R = 0.5 * reg * sum_W ||W||^2`` over the Parameters with ``regularize=True``
    (weights, not biases).  The 0.5 makes the gradient simply ``dR/dW = reg * W``.

    ``penalty(params)`` returns R; ``backward(params)`` *adds* reg * W to each ``W.grad`` (call it after
    the model's backward, which sets the grads).
    """

    def __init__(self, reg: float):
        self.reg = check_number("reg", reg, who="L2", low=0)

    @staticmethod
    def _targets(params):
        return [p for p in params if getattr(p, "regularize", True)]

    def penalty(self, params) -> float:
        return 0.5 * self.reg * float(sum(np.sum(p.value.astype(np.float64) ** 2) for p in self._targets(params)))

    def backward(self, params) -> None:
        if self.reg == 0:
            return
        for p in self._targets(params):
            p.grad += p.value.dtype.type(self.reg) * p.value


class Flooding(Loss):
    """Flooding (Ishida et al. 2020): train on ``|J - b| + b`` where J is the mini-batch mean loss.

    Above the flood level b this is plain descent on J; below it the sign flips and the step *ascends*,
    so the training loss floats around b instead of going to zero.  ``forward`` returns the wrapped loss's
    per-sample values unchanged (they are what you monitor); ``reduce`` and ``backward`` use the flooded
    objective.  ``below_count`` / ``calls`` say how often the batch mean was below b.
    """

    def __init__(self, loss: Loss, level: float):
        check_has("loss", loss, ("forward", "backward", "reduce"), "a Loss such as SoftmaxCrossEntropy()",
                  who="Flooding")
        self.loss, self.level = loss, check_number("level", level, who="Flooding", low=0)
        self.below_count = 0
        self.calls = 0

    def forward(self, scores, y):
        per_sample = self.loss.forward(scores, y)
        self.mean = self.loss.reduce(per_sample)
        self.calls += 1
        self.below_count += self.mean < self.level
        return per_sample

    def reduce(self, per_sample):
        return abs(self.loss.reduce(per_sample) - self.level) + self.level

    def check_targets(self, scores_shape, y, name="y"):
        """The wrapped loss's check."""
        return self.loss.check_targets(scores_shape, y, name)

    def backward(self):
        # d|J - b|/dJ = sign(J - b); at J == b we take +1 (plain descent)
        _require_forward(self, "mean")
        sign = 1.0 if self.mean >= self.level else -1.0
        return sign * self.loss.backward()

    @property
    def winners(self):
        # the absolute value is a kink too: which side of b the batch mean fell on
        inner = getattr(self.loss, "winners", None)
        side = np.array([self.mean >= self.level])
        return side if inner is None else np.concatenate([side, np.ravel(inner)])


def unwrap_loss(loss):
    """The loss whose per-sample values are measured: the wrapped one for ``Flooding``, else ``loss`` itself."""
    return loss.loss if isinstance(loss, Flooding) else loss


def is_classification(loss, y) -> bool:
    """Accuracy makes sense when the loss is a classification loss (``SoftmaxCrossEntropy``,
    ``MulticlassSVM``, or any loss with ``is_classification = True``), or ``y`` holds integer labels (N,)
    and the loss is not ``MSE``.  ``Flooding`` is looked through."""
    inner = unwrap_loss(loss)
    if isinstance(inner, (SoftmaxCrossEntropy, MulticlassSVM)) or getattr(inner, "is_classification", False):
        return True
    y = np.asarray(y)
    return y.ndim == 1 and np.issubdtype(y.dtype, np.integer) and not isinstance(inner, MSE)
