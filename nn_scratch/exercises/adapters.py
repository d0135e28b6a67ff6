"""Layers and losses whose backward is a CS231n-style function: how a learner's (or a planted) function meets
the package's gradient checker.

``AffineLayer(D, M, backward_fn=affine_backward)`` is a ``Linear`` whose ``backward`` calls
``affine_backward(dout, x, w, b) -> (dx, dw, db)``; the others follow the same pattern.  The forward pass is
always the package's own, so a check tests the function's gradient against the package's numbers.
A subclass can fix the function as a class attribute (``backward_fn = staticmethod(f)``): that is how the
catalogue's planted bugs become layers the gradient checker's own tests use.
"""
from __future__ import annotations

import numpy as np

from ..layers import BatchNorm, Dropout, Layer, Linear, Parameter, ReLU, Softmax
from ..losses import Loss, MulticlassSVM, SoftmaxCrossEntropy


class ShapeMismatch(ValueError):
    """A function given to an adapter returned an array of the wrong shape (the message says which)."""


def _put(param, value, name):
    """Copy a returned gradient into ``param.grad``, or say in one line why its shape does not fit."""
    value = np.asarray(value)
    if value.shape != param.grad.shape:
        raise ShapeMismatch(f"`{name}` has shape {value.shape}, expected {param.grad.shape}")
    param.grad[...] = value


def _shaped(dx, like, name="dx"):
    dx = np.asarray(dx)
    if dx.shape != np.shape(like):
        raise ShapeMismatch(f"`{name}` has shape {dx.shape}, expected {np.shape(like)}")
    return dx


class _WithFunction:
    backward_fn = None

    def _set_fn(self, fn):
        if fn is not None:
            self.backward_fn = fn
        if self.backward_fn is None:
            raise TypeError(f"{type(self).__name__}: pass backward_fn=, the function that computes the backward")


class AffineLayer(_WithFunction, Linear):
    """``Linear`` whose backward is ``backward_fn(dout, x, w, b) -> (dx, dw, db)``."""

    def __init__(self, *args, backward_fn=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._set_fn(backward_fn)

    def backward(self, dy):
        dx, dw, db = self.backward_fn(dy, self.x, self.W.value, self.b.value)
        _put(self.W, dw, "dw")
        _put(self.b, db, "db")
        return _shaped(dx, self.x)


class ReLULayer(_WithFunction, ReLU):
    """``ReLU`` whose backward is ``backward_fn(dout, x) -> dx``."""

    def __init__(self, backward_fn=None):
        super().__init__()
        self._set_fn(backward_fn)

    def forward(self, x):
        self.x = np.asarray(x)
        return super().forward(x)

    def backward(self, dy):
        return _shaped(self.backward_fn(dy, self.x), self.x)


class SoftmaxLayer(_WithFunction, Softmax):
    """``Softmax`` whose backward is ``backward_fn(dout, probs) -> dx``."""

    def __init__(self, backward_fn=None):
        super().__init__()
        self._set_fn(backward_fn)

    def backward(self, dy):
        return self.backward_fn(dy, self.y)


class DropoutLayer(_WithFunction, Dropout):
    """``Dropout`` whose backward is ``backward_fn(dout, mask) -> dx`` (identity when no mask was drawn)."""

    def __init__(self, drop_prob=0.5, rng=None, backward_fn=None):
        super().__init__(drop_prob, rng=rng)
        self._set_fn(backward_fn)

    def backward(self, dy):
        return dy if self.mask is None else _shaped(self.backward_fn(dy, self.mask), dy)


class BatchNormLayer(_WithFunction, BatchNorm):
    """``BatchNorm`` on (N, D) in training mode whose backward is
    ``backward_fn(dout, x, gamma, eps) -> (dx, dgamma, dbeta)``."""

    def __init__(self, num_features, backward_fn=None, **kwargs):
        super().__init__(num_features, **kwargs)
        self._set_fn(backward_fn)

    def forward(self, x):
        self.x = np.asarray(x)
        return super().forward(x)

    def backward(self, dy):
        dx, dgamma, dbeta = self.backward_fn(dy, self.x, self.gamma.value, self.eps)
        _put(self.gamma, dgamma, "dgamma")
        _put(self.beta, dbeta, "dbeta")
        return _shaped(dx, self.x)


class FunctionLoss(Loss):
    """A loss given as ``fn(scores, y) -> (mean loss, dscores)``, for ``gradcheck.check_loss``.

    ``like`` (``"softmax"`` or ``"svm"``) names the package's loss whose ``winners`` (the hinge's kinks) are
    recorded too, so the checker does not blame a kink on the function.
    """

    def __init__(self, fn, like="softmax"):
        self.fn = fn
        self.like = {"softmax": SoftmaxCrossEntropy, "svm": MulticlassSVM}[like]()

    def forward(self, scores, y):
        self.like.forward(scores, y)
        loss, self.dscores = self.fn(scores, y)
        return np.full(scores.shape[0], float(np.asarray(loss).reshape(())))

    def backward(self):
        return _shaped(self.dscores, self.like.winners if hasattr(self.like, "winners") else
                       self.like.probs, "dscores")

    @property
    def winners(self):
        return getattr(self.like, "winners", None)


class LSTMStepLayer(_WithFunction, Layer):
    """One step of the package's LSTM as a layer the gradient checker can take, with its backward given as
    ``backward_fn(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b) -> (dx, dprev_h, dprev_c, dWx, dWh, db)``.

    Input ``[x, prev_h, prev_c]`` (N, D + 2H) side by side, output ``[next_h, next_c]`` (N, 2H): so every
    input of the step, both states included, is checked.
    """

    def __init__(self, input_size, hidden_size, rng=None, backward_fn=None):
        super().__init__()
        self._set_fn(backward_fn)
        rng = np.random.default_rng(rng)
        D, H = self.D, self.H = int(input_size), int(hidden_size)
        self.Wx = Parameter(0.5 * rng.standard_normal((D, 4 * H)), "Wx")
        self.Wh = Parameter(0.5 * rng.standard_normal((H, 4 * H)), "Wh")
        self.b = Parameter(0.5 * rng.standard_normal(4 * H), "b", regularize=False)

    def _split(self, z):
        D, H = self.D, self.H
        return z[:, :D], z[:, D:D + H], z[:, D + H:]

    def forward(self, z):
        from .reference import lstm_step_forward
        self.z = np.asarray(z)
        next_h, next_c = lstm_step_forward(*self._split(self.z), self.Wx.value, self.Wh.value, self.b.value)
        return np.concatenate([next_h, next_c], axis=1)

    def backward(self, dy):
        H = self.H
        x, h, c = self._split(self.z)
        dx, dh, dc, dWx, dWh, db = self.backward_fn(dy[:, :H], dy[:, H:], x, h, c, self.Wx.value,
                                                    self.Wh.value, self.b.value)
        _put(self.Wx, dWx, "dWx")
        _put(self.Wh, dWh, "dWh")
        _put(self.b, db, "db")
        return np.concatenate([_shaped(dx, x), _shaped(dh, h, "dprev_h"), _shaped(dc, c, "dprev_c")], axis=1)
