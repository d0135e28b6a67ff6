"""Element-wise nonlinearities and the softmax layer.  Each keeps what its backward needs.

ReLU and LeakyReLU have a kink at 0: they record ``self.winners`` (which inputs were on the positive
side) so the gradient checker can tell a crossed kink from a wrong derivative.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_number
from .base import Layer, check_dy, check_input


class ReLU(Layer):
    """``y = max(0, x)``; any shape.  dy/dx = 1 where x > 0, else 0 (0 chosen at x == 0)."""

    def forward(self, x):
        x = check_input(x, "x", layer="ReLU")
        self.winners = x > 0          # which side of max(0, x) won: the kink record
        return np.maximum(x, 0)

    def backward(self, dy):
        return check_dy(self, dy, "winners") * self.winners


class LeakyReLU(Layer):
    """``y = x`` for x > 0, ``alpha * x`` otherwise; any shape.  dy/dx = 1 or alpha."""

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        self.alpha = check_number("alpha", alpha, who="LeakyReLU", low=0, high=1, high_open=True)

    def forward(self, x):
        x = check_input(x, "x", layer="LeakyReLU")
        if x.dtype.kind != "f":                      # alpha * x must not be truncated to an integer
            x = x.astype(np.float64)
        self.winners = x > 0
        return np.where(self.winners, x, x * x.dtype.type(self.alpha))

    def backward(self, dy):
        dy = check_dy(self, dy, "winners")
        if dy.dtype.kind != "f":
            dy = dy.astype(np.float64)
        return np.where(self.winners, dy, dy * dy.dtype.type(self.alpha))


class Tanh(Layer):
    """``y = tanh(x)``; any shape.  dy/dx = 1 - y^2."""

    def forward(self, x):
        self.y = np.tanh(check_input(x, "x", layer="Tanh"))
        return self.y

    def backward(self, dy):
        return check_dy(self, dy, "y") * (1 - self.y * self.y)


class Sigmoid(Layer):
    """``y = 1 / (1 + exp(-x))``; any shape.  dy/dx = y (1 - y).

    Computed as ``(1 + tanh(x/2)) / 2``, which never overflows for large |x|.
    """

    def forward(self, x):
        x = check_input(x, "x", layer="Sigmoid")
        self.y = 0.5 * (1 + np.tanh(0.5 * x))
        return self.y

    def backward(self, dy):
        return check_dy(self, dy, "y") * self.y * (1 - self.y)


class GELU(Layer):
    """Gaussian error linear unit (Hendrycks & Gimpel 2016), the exact form (PyTorch's default)::

        y = x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2)))        Phi: the standard normal CDF

    Any shape.  Smooth (no kink, no ``winners``).  dy/dx = Phi(x) + x * phi(x), phi the normal density.
    erf is SciPy's (not the tanh approximation).
    """

    def forward(self, x):
        from scipy.special import erf          # imported here: scipy.special adds ~0.5 s to importing the layers
        x = check_input(x, "x", layer="GELU")
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float64)
        self.x = x
        self.cdf = 0.5 * (1 + erf(x * x.dtype.type(1 / np.sqrt(2))))     # SciPy's erf keeps float32
        return x * self.cdf

    def backward(self, dy):
        dy = check_dy(self, dy, "x")
        x = self.x
        pdf = np.exp(-0.5 * x * x) * x.dtype.type(1 / np.sqrt(2 * np.pi))
        return dy * (self.cdf + x * pdf)


class Softmax(Layer):
    """Softmax over the last axis: ``y_k = exp(x_k) / sum_j exp(x_j)``; x and y (N, C).

    The Jacobian is ``dy_k/dx_j = y_k (delta_kj - y_j)``, so ``dx = y * (dy - sum_k dy_k y_k)``.
    For classification prefer ``losses.SoftmaxCrossEntropy`` on raw scores: it is fused and more stable.
    """

    def forward(self, x):
        x = check_input(x, "x", layer="Softmax")
        if x.ndim == 0:
            raise ValueError("Softmax: 'x' must have at least one dimension (the classes are the last), got a scalar")
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        self.y = e / e.sum(axis=-1, keepdims=True)
        return self.y

    def backward(self, dy):
        dy = check_dy(self, dy, "y")
        return self.y * (dy - np.sum(dy * self.y, axis=-1, keepdims=True))
