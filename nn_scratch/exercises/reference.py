"""The reference solutions of the exercises: each one a thin CS231n-style wrapper around the package's own code.

A learner's function is compared with these on random inputs, so every wrapper runs the *package's*
implementation (a ``Linear``, a ``SoftmaxCrossEntropy``, an ``SGD`` ...) in float64 and hands its numbers back
in the exercise's calling convention.  Read them after trying: the line ``see:`` of each exercise says where
the real code lives.
"""
from __future__ import annotations

import numpy as np

from .. import gradcheck
from ..layers import BatchNorm, Conv2D, Dropout, Linear, Parameter, ReLU
from ..losses import MulticlassSVM, SoftmaxCrossEntropy
from ..optim import SGD, Adam

F64 = np.float64


def rel_error(a, b):
    """Largest elementwise ``|a - b| / max(|a|, |b|)`` (0 where both are 0): ``nn_scratch.gradcheck.rel_error``."""
    return float(np.max(gradcheck.rel_error(np.asarray(a, F64), np.asarray(b, F64), warn=False)))


def numerical_gradient(f, x, h=1e-5):
    """Centered differences, x perturbed in place and restored: ``nn_scratch.gradcheck.numerical_gradient``."""
    return gradcheck.numerical_gradient(f, x, h=h)


def _linear(x, w, b):
    layer = Linear(w.shape[0], w.shape[1], dtype=F64)
    layer.W.value[...] = w
    layer.b.value[...] = b
    out = layer.forward(np.asarray(x, F64).reshape(x.shape[0], -1))
    return layer, out


def affine_forward(x, w, b):
    return _linear(x, w, b)[1]


def affine_backward(dout, x, w, b):
    layer, _ = _linear(x, w, b)
    dx = layer.backward(np.asarray(dout, F64))
    return dx.reshape(x.shape), layer.W.grad.copy(), layer.b.grad.copy()


def relu_backward(dout, x):
    layer = ReLU()
    layer.forward(np.asarray(x, F64))
    return layer.backward(np.asarray(dout, F64))


def softmax_loss(scores, y):
    loss = SoftmaxCrossEntropy()
    per_sample = loss.forward(np.asarray(scores, F64), y)
    return loss.reduce(per_sample), loss.backward()


def svm_loss(scores, y):
    loss = MulticlassSVM(margin=1.0)
    per_sample = loss.forward(np.asarray(scores, F64), y)
    return loss.reduce(per_sample), loss.backward()


def dropout_forward(x, drop_prob, rng):
    layer = Dropout(drop_prob, rng=rng)
    out = layer.forward(np.asarray(x, F64))
    mask = np.ones_like(out) if layer.mask is None else layer.mask
    return out, mask


def dropout_backward(dout, mask):
    mask = np.asarray(mask, F64)
    layer = Dropout(0.5)
    layer.forward(np.zeros_like(mask))          # sets what backward checks; the mask is then the given one
    layer.mask = mask
    return layer.backward(np.asarray(dout, F64))


def sgd_momentum(w, dw, v, lr, mu):
    p = Parameter(np.array(w, F64, copy=True), "w")
    p.grad[...] = dw
    opt = SGD([p], lr=lr, momentum=mu)
    opt.chain[-1].state[0]["velocity"][...] = v
    opt.step()
    return p.value, opt.chain[-1].state[0]["velocity"].copy()


def adam(w, dw, m, v, t, lr, beta1, beta2, eps):
    p = Parameter(np.array(w, F64, copy=True), "w")
    p.grad[...] = dw
    opt = Adam([p], lr=lr, beta1=beta1, beta2=beta2, eps=eps)
    link = next(k for k in opt.chain if k.key == "adam")
    link.state[0]["m"][...] = m
    link.state[0]["v"][...] = v
    opt.t = int(t) - 1                    # the optimizer counts steps taken; the exercise's t is this step's number
    opt.step()
    return p.value, link.state[0]["m"].copy(), link.state[0]["v"].copy()


def batchnorm_backward(dout, x, gamma, eps):
    layer = BatchNorm(x.shape[1], eps=eps, dtype=F64)
    layer.gamma.value[...] = gamma
    layer.forward(np.asarray(x, F64))
    dx = layer.backward(np.asarray(dout, F64))
    return dx, layer.gamma.grad.copy(), layer.beta.grad.copy()


def conv_forward_naive(x, w, b, stride, pad):
    F, C, HH, WW = w.shape
    layer = Conv2D(C, F, (HH, WW), stride=stride, padding=pad, dtype=F64)
    layer.W.value[...] = w
    layer.b.value[...] = b
    return layer.forward(np.asarray(x, F64))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One step of the package's ``LSTM`` (gates i, f, o, g): returns (next_h, next_c)."""
    from ..layers import LSTM
    D, H = Wx.shape[0], Wh.shape[0]
    layer = LSTM(D, H, dtype=F64)
    layer.Wx.value[...], layer.Wh.value[...], layer.b.value[...] = Wx, Wh, b
    next_h = layer.forward(np.asarray(x, F64)[:, None, :], h0=np.asarray(prev_h, F64), c0=np.asarray(prev_c, F64))
    return next_h[:, 0], layer.last_state[1]


def lstm_step_backward(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b):
    """One pass of the loop in ``LSTM.backward``, with an upstream gradient on the cell too.

    (``LSTM.backward`` starts each sequence with no gradient on its last cell; here ``dnext_c`` comes from the
    step after, so this is the loop's body written out for one step.)"""
    H = Wh.shape[0]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(3))
    g = np.tanh(a[:, 3 * H:])
    c = f * prev_c + i * g
    tc = np.tanh(c)
    dc = dnext_c + dnext_h * o * (1 - tc * tc)          # h = o tanh(c)
    da = np.concatenate([dc * g * i * (1 - i),          # c = f c_prev + i g
                         dc * prev_c * f * (1 - f),
                         dnext_h * tc * o * (1 - o),
                         dc * i * (1 - g * g)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)
