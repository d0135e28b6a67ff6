"""Batch normalization (Ioffe & Szegedy 2015) for (N, D) and spatial (N, C, H, W) inputs, and layer
normalization (Ba et al. 2016) over the last axis of (N, D) or (N, T, D)."""
from __future__ import annotations

import numpy as np

from .._checks import check_float_dtype, check_int, check_number
from .base import Layer, Parameter, check_dy, check_input


class BatchNorm(Layer):
    """Normalize each feature with the batch's mean and variance, then scale by gamma and shift by beta.

    ``y = gamma * (x - mean) / sqrt(var + eps) + beta``

    Shapes: x and y (N, D) with statistics over axis 0, or (N, C, H, W) with statistics per channel over
    axes (0, 2, 3) -- chosen from ``x.ndim`` on each call; gamma, beta (D,) or (C,); ``num_features`` = D or C.

    Training mode uses the batch statistics and updates the running averages::

        running = running_decay * running + (1 - running_decay) * batch_statistic

    so ``running_decay=0.9`` keeps 90 % of the old value (PyTorch's ``momentum=0.1`` is the same rule;
    the name here says which side the number weighs).  The variance is the biased batch variance (divide by
    the count), the one used to normalize.  Eval mode (``layer.eval()``) normalizes with the running averages.
    ``running_mean`` / ``running_var`` are buffers: ``state_dict`` saves them, ``astype`` converts them.
    """

    buffer_names = ("running_mean", "running_var")

    def __init__(self, num_features: int, running_decay: float = 0.9, eps: float = 1e-5, dtype=np.float32):
        super().__init__()
        check_int("num_features", num_features, minimum=1, who="BatchNorm")
        check_number("running_decay", running_decay, who="BatchNorm", low=0, high=1, high_open=True)
        check_number("eps", eps, who="BatchNorm", low=0, low_open=True)
        dtype = check_float_dtype("dtype", dtype, who="BatchNorm")
        self.num_features, self.running_decay, self.eps = int(num_features), float(running_decay), float(eps)
        self.gamma = Parameter(np.ones(num_features, dtype=dtype), "gamma", regularize=False)
        self.beta = Parameter(np.zeros(num_features, dtype=dtype), "beta", regularize=False)
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)

    def _axes(self, x):
        """Reduction axes and the broadcast shape of a per-feature vector for input ``x``."""
        if x.ndim == 2:
            return (0,), (1, -1)
        return (0, 2, 3), (1, -1, 1, 1)

    def forward(self, x):
        x = check_input(x, "x", ndim=(2, 4), layer="BatchNorm")
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm: 'x' must have {self.num_features} features on axis 1, "
                             f"got {x.shape[1]} (shape {x.shape})")
        dtype = self.gamma.value.dtype
        x = x.astype(dtype, copy=False)
        axes, bshape = self._axes(x)
        if self.training:
            count = x.size // self.num_features
            if count < 2:
                raise ValueError(f"BatchNorm: training needs more than one value per feature to compute a "
                                 f"variance, got input shape {x.shape}; use a larger batch or eval()")
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            a = dtype.type(self.running_decay)
            self.running_mean = a * self.running_mean + (1 - a) * mean
            self.running_var = a * self.running_var + (1 - a) * var
        else:
            mean, var = self.running_mean, self.running_var
        self.batch_stats = self.training
        self.inv_std = (1 / np.sqrt(var + dtype.type(self.eps))).reshape(bshape)
        self.xhat = (x - mean.reshape(bshape)) * self.inv_std
        return self.xhat * self.gamma.value.reshape(bshape) + self.beta.value.reshape(bshape)

    def backward(self, dy):
        dy = check_dy(self, dy, "xhat").astype(self.gamma.value.dtype, copy=False)
        axes, bshape = self._axes(dy)
        np.sum(dy, axis=axes, out=self.beta.grad)                       # dbeta  = sum dy
        np.sum(dy * self.xhat, axis=axes, out=self.gamma.grad)          # dgamma = sum dy * xhat
        g = self.gamma.value.reshape(bshape) * self.inv_std
        if not self.batch_stats:                                        # running mean, var: constants
            return dy * g
        # Training: xhat_j = (x_j - mean) * inv_std with mean and var functions of every x_i (m per feature):
        #   d xhat_j / d x_i = inv_std * (delta_ij - 1/m - xhat_i * xhat_j / m).
        # With dxhat = gamma * dy, summing over j gives the compact form
        #   dx = gamma * inv_std / m * (m * dy - sum(dy) - xhat * sum(dy * xhat))
        #      = gamma * inv_std * (dy - (dbeta + xhat * dgamma) / m).
        m = dy.size // self.num_features
        scale = g.dtype.type(1 / m)
        return g * (dy - scale * (self.beta.grad.reshape(bshape) + self.xhat * self.gamma.grad.reshape(bshape)))

    def __repr__(self):
        return f"BatchNorm({self.num_features}, running_decay={self.running_decay}, eps={self.eps})"


class LayerNorm(Layer):
    """Normalize each sample's features (the last axis) by their own mean and variance, then scale and shift.

    ``y = gamma * (x - mean) / sqrt(var + eps) + beta``, mean and (biased) var over the last axis only.

    Shapes: x and y (N, D) or (N, T, D) (any leading axes); gamma, beta (D,) with D = ``normalized_shape``.
    Unlike ``BatchNorm`` no statistic crosses samples or time steps, so training and evaluation compute the
    same thing and a batch of one works.  ``eps`` = 1e-5 (PyTorch's default) keeps a constant row finite.
    Parameters are in ``dtype`` (float32 by default); inputs are converted to it.
    """

    def __init__(self, normalized_shape: int, eps: float = 1e-5, dtype=np.float32):
        super().__init__()
        if isinstance(normalized_shape, bool) or not isinstance(normalized_shape, (int, np.integer)) \
                or normalized_shape < 1:
            raise ValueError(f"LayerNorm: 'normalized_shape' must be a positive integer (the size of the last "
                             f"axis), got {normalized_shape!r}")
        check_number("eps", eps, who="LayerNorm", low=0, low_open=True)
        dtype = check_float_dtype("dtype", dtype, who="LayerNorm")
        self.normalized_shape, self.eps = int(normalized_shape), float(eps)
        self.gamma = Parameter(np.ones(normalized_shape, dtype=dtype), "gamma", regularize=False)
        self.beta = Parameter(np.zeros(normalized_shape, dtype=dtype), "beta", regularize=False)

    def forward(self, x):
        x = check_input(x, "x", last_dim=self.normalized_shape, layer="LayerNorm")
        dtype = self.gamma.value.dtype
        x = x.astype(dtype, copy=False)
        mean = x.mean(axis=-1, keepdims=True)
        xc = x - mean
        var = np.mean(xc * xc, axis=-1, keepdims=True)
        self.inv_std = 1 / np.sqrt(var + dtype.type(self.eps))
        self.xhat = xc * self.inv_std
        return self.xhat * self.gamma.value + self.beta.value

    def backward(self, dy):
        dy = check_dy(self, dy, "xhat").astype(self.gamma.value.dtype, copy=False)
        D = self.normalized_shape
        rows = dy.reshape(-1, D)
        np.sum(rows, axis=0, out=self.beta.grad)                                   # dbeta  = sum dy
        np.sum(rows * self.xhat.reshape(-1, D), axis=0, out=self.gamma.grad)       # dgamma = sum dy * xhat
        # As BatchNorm's compact form but over the D features of one row:
        #   dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),   dxhat = gamma * dy
        dxhat = dy * self.gamma.value
        return self.inv_std * (dxhat - dxhat.mean(axis=-1, keepdims=True)
                               - self.xhat * np.mean(dxhat * self.xhat, axis=-1, keepdims=True))

    def __repr__(self):
        return f"LayerNorm({self.normalized_shape}, eps={self.eps})"
