"""Model ensembles: average the predictions of several models, or the weights of one run's checkpoints.

* ``Ensemble(models)`` -- independent models (different seeds, or the top configurations of a search):
  at test time their predicted class probabilities (softmax of the scores) are averaged; for regression
  their outputs are averaged.  Typically a few percent better than a single member.
* ``average_state_dicts(states)`` / ``average_weights(models)`` -- *one* model whose parameters are the
  mean of several states.  This only makes sense for states of the same run (checkpoints a few epochs
  apart, which sit around the same minimum); averaging independently trained networks does not work,
  because their hidden units are in different orders.

>>> import numpy as np
>>> from nn_scratch.layers import Linear
>>> members = [Linear(4, 3, rng=s) for s in range(3)]
>>> ens = Ensemble(members, input_shape=(4,))
>>> P = ens.predict_proba(np.ones((5, 4), dtype=np.float32))
>>> P.shape, bool(np.allclose(P.sum(axis=1), 1.0))
((5, 3), True)
>>> mean = average_weights(members)
>>> bool(np.allclose(mean.W.value, (members[0].W.value + members[1].W.value + members[2].W.value) / 3))
True
"""
from __future__ import annotations

import copy

import numpy as np

__all__ = ["Ensemble", "softmax", "average_state_dicts", "average_weights"]


def softmax(scores):
    """Softmax over the last axis in float64, shifted by the max so ``exp`` cannot overflow.
    (N, C) -> (N, C), or (M, N, C) -> (M, N, C)."""
    s = np.asarray(scores, dtype=np.float64)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _forward_eval(model, X, batch_size):
    """The model's output on X in eval mode (dropout off, batch-norm running stats), training flag restored."""
    was_training = getattr(model, "training", True)
    if hasattr(model, "eval"):
        model.eval()
    try:
        return np.concatenate([np.asarray(model.forward(X[i:i + batch_size]))
                               for i in range(0, X.shape[0], batch_size)], axis=0)
    finally:
        if hasattr(model, "train"):
            model.train(was_training)


class Ensemble:
    """The average of ``models``' predictions.

    Parameters
    ----------
    models : list of Layers, each mapping X (N, D...) to scores (N, C) (or outputs (N, K) for regression),
        all with the same output shape.
    task : "classification" (average of softmax probabilities) or "regression" (average of outputs).
    input_shape : optional shape of one sample, e.g. ``(64,)``; every member is then tried on two zero
        samples at once, so a member that needs another input shape is reported here, by index.

    Methods: ``predict_proba(X)`` (N, C); ``predict(X)`` -> labels (N,) or outputs (N, K);
    ``member_outputs(X)`` (M, N, C); ``evaluate(X, y)`` -> dict with the ensemble's and each member's numbers.
    """

    def __init__(self, models, task: str = "classification", input_shape=None):
        models = list(models) if isinstance(models, (list, tuple)) else models
        if not isinstance(models, list) or not models:
            raise ValueError(f"Ensemble: 'models' must be a non-empty list of models, got {models!r}")
        for i, m in enumerate(models):
            if not callable(getattr(m, "forward", None)):
                raise TypeError(f"Ensemble: 'models[{i}]' must have a forward(x) method, got {type(m).__name__}")
        if task not in ("classification", "regression"):
            raise ValueError(f"Ensemble: 'task' must be 'classification' or 'regression', got {task!r}")
        self.models, self.task = models, task
        if input_shape is not None:
            dtype = next((p.value.dtype for p in models[0].parameters()), np.float32) \
                if hasattr(models[0], "parameters") else np.float32
            self.member_outputs(np.zeros((2, *tuple(input_shape)), dtype=dtype))

    def __len__(self):
        return len(self.models)

    def member_outputs(self, X, batch_size: int = 1024):
        """Every member's raw output on X, stacked: (M, N, C).  Errors name the member that failed."""
        X = np.asarray(X)
        if X.ndim < 2 or X.shape[0] == 0:
            raise ValueError(f"Ensemble: 'X' must be an array (N, D...) with N >= 1, got shape {X.shape}")
        outs = []
        for i, m in enumerate(self.models):
            try:
                out = _forward_eval(m, X, batch_size)
            except (ValueError, TypeError, IndexError) as err:
                raise ValueError(f"Ensemble: member {i} ({type(m).__name__}) cannot take input of shape "
                                 f"{X.shape[1:]} per sample: {err}") from err
            if outs and out.shape != outs[0].shape:
                raise ValueError(f"Ensemble: member {i} outputs shape {out.shape}, member 0 outputs "
                                 f"{outs[0].shape}; all members must predict the same classes / outputs")
            outs.append(out)
        return np.stack(outs)

    def member_probas(self, X, batch_size: int = 1024):
        """Each member's probabilities (classification): (M, N, C), float64."""
        S = self.member_outputs(X, batch_size)
        if S.ndim != 3:
            raise ValueError(f"Ensemble: classification members must output scores (N, C), got {S.shape[1:]}")
        return softmax(S)

    def predict_proba(self, X, batch_size: int = 1024):
        """Mean over members of softmax(scores): (N, C), rows sum to 1.  Classification only."""
        if self.task != "classification":
            raise ValueError("Ensemble.predict_proba: this ensemble has task='regression'; use predict")
        return self.member_probas(X, batch_size).mean(axis=0)

    def predict(self, X, batch_size: int = 1024):
        """Labels (N,) = argmax of the mean probabilities, or the mean output for regression."""
        if self.task == "classification":
            return np.argmax(self.predict_proba(X, batch_size), axis=1)
        return self.member_outputs(X, batch_size).astype(np.float64).mean(axis=0)

    def evaluate(self, X, y, batch_size: int = 1024) -> dict:
        """The ensemble against each member on (X, y).

        Classification: ``acc``, ``loss`` (mean of -log p_y of the averaged probabilities), ``member_acc``,
        ``member_loss`` (lists, one per member) and ``mean_member_acc``.
        Regression: ``loss`` (mean squared error per element, as ``losses.MSE``), ``member_loss``,
        ``mean_member_loss``.
        """
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim < 1 or y.ndim < 1 or X.shape[0] != y.shape[0]:
            raise ValueError(f"Ensemble.evaluate: 'X' and 'y' must have the same number of rows, got "
                             f"{X.shape} and {y.shape}")
        if self.task == "classification":
            if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
                raise ValueError(f"Ensemble.evaluate: 'y' must be integer labels (N,), got {y.dtype} {y.shape}")
            P = self.member_probas(X, batch_size)                       # (M, N, C)
            if y.min() < 0 or y.max() >= P.shape[2]:
                raise ValueError(f"Ensemble.evaluate: labels 'y' must lie in 0..{P.shape[2] - 1}, "
                                 f"got {y.min()}..{y.max()}")
            rows = np.arange(len(y))
            nll = lambda p: float(np.mean(-np.log(np.maximum(p[rows, y], 1e-300))))  # noqa: E731
            acc = lambda p: float(np.mean(np.argmax(p, axis=1) == y))             # noqa: E731
            mean = P.mean(axis=0)
            member_acc = [acc(p) for p in P]
            return {"acc": acc(mean), "loss": nll(mean), "member_acc": member_acc,
                    "member_loss": [nll(p) for p in P], "mean_member_acc": float(np.mean(member_acc))}
        S = self.member_outputs(X, batch_size).astype(np.float64)
        t = y.astype(np.float64).reshape(S.shape[1:])
        mse = lambda s: float(np.mean((s - t) ** 2))                              # noqa: E731
        member_loss = [mse(s) for s in S]
        return {"loss": mse(S.mean(axis=0)), "member_loss": member_loss,
                "mean_member_loss": float(np.mean(member_loss))}

    def __repr__(self):
        return f"Ensemble({len(self.models)} x {type(self.models[0]).__name__}, task={self.task!r})"


def average_state_dicts(states, weights=None) -> dict:
    """The (weighted) mean of state dicts with the same keys and shapes; each array keeps its dtype.

    Computed as ``s_0 + sum_i w_i (s_i - s_0) / sum_i w_i`` in float64, so identical states give back
    exactly the same bits (signed zeros included).  Integer arrays are rounded to the nearest integer.
    """
    states = list(states) if isinstance(states, (list, tuple)) else states
    if not isinstance(states, list) or not states or not all(isinstance(s, dict) for s in states):
        raise ValueError("average_state_dicts: 'states' must be a non-empty list of state dicts "
                         f"(name -> array), got {type(states).__name__}")
    if weights is None:
        w = np.ones(len(states))
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(states),) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"average_state_dicts: 'weights' must be {len(states)} non-negative numbers with a "
                             f"positive sum, got {weights!r}")
    keys = list(states[0])
    for i, s in enumerate(states[1:], 1):
        if set(s) != set(keys):
            missing, extra = sorted(set(keys) - set(s)), sorted(set(s) - set(keys))
            raise ValueError(f"average_state_dicts: states[{i}] has different keys from states[0]: missing "
                             f"{missing}, unexpected {extra}")
        for k in keys:
            if np.shape(s[k]) != np.shape(states[0][k]):
                raise ValueError(f"average_state_dicts: '{k}' has shape {np.shape(s[k])} in states[{i}] but "
                                 f"{np.shape(states[0][k])} in states[0]")
    out = {}
    for k in keys:
        a0 = np.asarray(states[0][k])
        if not (np.issubdtype(a0.dtype, np.number) or a0.dtype == bool):
            raise TypeError(f"average_state_dicts: '{k}' has non-numeric dtype {a0.dtype}")
        base = a0.astype(np.float64)
        delta = sum(wi * (np.asarray(s[k], dtype=np.float64) - base) for wi, s in zip(w, states))
        mean = np.where(delta == 0, base, base + delta / w.sum())     # (-0.0 + 0.0 would lose the sign)
        out[k] = (np.rint(mean) if np.issubdtype(a0.dtype, np.integer) else mean).astype(a0.dtype)
    return out


def average_weights(models, weights=None):
    """A new model (a deep copy of ``models[0]``) holding the mean of the models' ``state_dict()``s.

    Meant for checkpoints of one run (same architecture); the inputs are not changed.
    """
    models = list(models) if isinstance(models, (list, tuple)) else models
    if not isinstance(models, list) or not models:
        raise ValueError(f"average_weights: 'models' must be a non-empty list of models, got {models!r}")
    for i, m in enumerate(models):
        if not callable(getattr(m, "state_dict", None)):
            raise TypeError(f"average_weights: 'models[{i}]' has no state_dict(); got {type(m).__name__}")
        if type(m) is not type(models[0]):
            raise TypeError(f"average_weights: 'models[{i}]' is a {type(m).__name__}, models[0] a "
                            f"{type(models[0]).__name__}; average checkpoints of one architecture")
    avg = average_state_dicts([m.state_dict() for m in models], weights)
    out = copy.deepcopy(models[0])
    out.load_state_dict(avg)
    return out
