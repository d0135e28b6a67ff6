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
    layer = Dropout(0.5)
    layer.mask = np.asarray(mask, F64)
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
