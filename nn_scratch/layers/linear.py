"""Fully connected layer ``y = x @ W + b`` and the weight initializations of the lecture notes."""
from __future__ import annotations

import numpy as np

from .._checks import check_bool, check_float_dtype, check_int, check_number, check_rng
from .base import Layer, Parameter, check_dy, check_input, needs_input_grad


def init_weights(shape, scheme="he", rng=None, fan_in=None, fan_out=None, weight_scale=0.01):
    """Draw a weight array of ``shape`` with ``rng`` (a Generator or a seed).

    ``scheme`` is one of
      * ``"he"``       N(0, 2/fan_in)             -- for ReLU networks (He et al. 2015)
      * ``"xavier"``   N(0, 2/(fan_in+fan_out))   -- for tanh / sigmoid (Glorot & Bengio 2010)
      * ``"gaussian"`` N(0, weight_scale^2)       -- the notes' "small random numbers"
      * ``"zeros"``    all zero                   -- for a network's *output* layer only (see ``Linear``)
    or a callable ``f(rng, shape) -> array``.  ``fan_in`` defaults to the product of all axes but the last
    (``shape[0]`` for a 1-D shape), ``fan_out`` to the last axis.
    """
    rng = check_rng("rng", rng, who="init_weights")
    check_number("weight_scale", weight_scale, who="init_weights", low=0, low_open=True)
    shape = tuple(shape)
    fan_in = fan_in if fan_in is not None else int(np.prod(shape[:-1])) if len(shape) > 1 else shape[0]
    fan_out = fan_out if fan_out is not None else shape[-1]
    if callable(scheme):
        W = np.asarray(scheme(rng, shape))
        if W.shape != shape or not np.issubdtype(W.dtype, np.number) or not np.all(np.isfinite(W)):
            raise ValueError(f"init: the callable 'scheme' must return finite numbers of shape {shape}, "
                             f"got dtype {W.dtype}, shape {W.shape}")
        return W
    if isinstance(scheme, str) and scheme == "zeros":
        return np.zeros(shape)
    if scheme == "he":
        std = np.sqrt(2.0 / fan_in)
    elif scheme == "xavier":
        std = np.sqrt(2.0 / (fan_in + fan_out))
    elif scheme == "gaussian":
        std = weight_scale
    else:
        raise ValueError(f"init: 'scheme' must be 'he', 'xavier', 'gaussian', 'zeros' or a callable, got {scheme!r}")
    return rng.standard_normal(shape) * std


class Linear(Layer):
    """Affine layer: ``y = x @ W + b``.

    Shapes: x (N, D), W (D, M), b (M,), y (N, M), where D = ``in_features`` and M = ``out_features``.
    Any leading axes are allowed: x (N, T, D) gives y (N, T, M) -- the same W applied at every time step
    (the "temporal affine" layer of a language model's output), computed as one (N*T, D) @ (D, M) product.

    Parameters are created in ``dtype`` (float32 by default, the training dtype); inputs of another dtype
    are converted to it so no computation silently upcasts.  ``init`` picks the initialization
    (see ``init_weights``); ``rng`` is a Generator or seed so the draw can be replayed.

    ``init="zeros"`` (W = 0) is meant for the **output** layer of a classifier.  Its input, the last hidden
    layer's activations, already differs from unit to unit, so the gradients of its columns differ and
    training breaks the symmetry at the first step; the scores start at exactly 0, every class gets
    probability 1/C, and the initial softmax loss is exactly ``ln C`` (what ``sanity.check_initial_loss``
    expects).  Never use it for a hidden layer: all its units would get the same gradient and stay equal,
    and the layers before it would get no gradient at all.  ``init="gaussian", weight_scale=1e-2`` is the
    "small but not zero" alternative.

    ``backward`` returns None instead of dx (the parameter grads are set all the same) when the forward
    input was data inside ``skip_input_grad`` -- what every training loop of the package does, so a first
    layer never computes the data's gradient there (it costs as much as dW) -- or always with
    ``input_grad=False``.  See "The data's gradient" in ``layers.base``.
    """

    def __init__(self, in_features: int, out_features: int, init="he", weight_scale=0.01,
                 rng=None, dtype=np.float32, bias: bool = True, input_grad: bool = True):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            check_int(name, v, minimum=1, who="Linear")
        dtype = check_float_dtype("dtype", dtype, who="Linear")
        check_number("weight_scale", weight_scale, who="Linear", low=0, low_open=True)
        rng = check_rng("rng", rng, who="Linear")
        bias, input_grad = check_bool("bias", bias, who="Linear"), check_bool("input_grad", input_grad, who="Linear")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.input_grad = input_grad
        W = init_weights((in_features, out_features), init, rng, weight_scale=weight_scale)
        self.W = Parameter(W.astype(dtype), "W")
        self.b = Parameter(np.zeros(out_features, dtype=dtype), "b", regularize=False) if bias else None

    def forward(self, x):
        self.dx_needed = needs_input_grad(self, x)       # False for the data: see layers.base
        x = check_input(x, "x", layer="Linear")
        if x.ndim < 2:
            raise ValueError(f"Linear: 'x' must have at least 2 dimensions (N, ..., {self.in_features}), "
                             f"got {x.ndim} (shape {x.shape})")
        check_input(x, "x", last_dim=self.in_features, layer="Linear")
        self.lead = x.shape[:-1]                       # (N,) or (N, T, ...): flattened into the GEMM's rows
        self.x = x.astype(self.W.value.dtype, copy=False).reshape(-1, self.in_features)
        y = self.x @ self.W.value
        if self.b is not None:
            y += self.b.value
        return y.reshape(*self.lead, self.out_features)

    def backward(self, dy):
        dy = check_dy(self, dy, "lead", lambda lead: lead + (self.out_features,))
        dy = dy.astype(self.W.value.dtype, copy=False).reshape(-1, self.out_features)
        # y = x W + b  =>  dW = x^T dy,  db = sum_n dy_n,  dx = dy W^T   (rows n run over every leading index)
        np.matmul(self.x.T, dy, out=self.W.grad)
        if self.b is not None:
            np.sum(dy, axis=0, out=self.b.grad)
        if not self.dx_needed:
            return None
        return (dy @ self.W.value.T).reshape(*self.lead, self.in_features)

    def __repr__(self):
        return f"Linear({self.in_features}, {self.out_features}, dtype={self.W.value.dtype})"
