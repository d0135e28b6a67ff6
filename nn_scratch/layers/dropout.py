"""Inverted dropout: scale at training time so evaluation is the identity."""
from __future__ import annotations

import numpy as np

from .._checks import check_number, check_rng
from .base import Layer, check_dy, check_input, pass_on_data


class Dropout(Layer):
    """Zero each input with probability ``drop_prob`` during training and scale the rest by 1/(1-drop_prob).

    Any shape.  In eval mode (``layer.eval()``) it is the identity.  The mask is drawn from
    ``self.rng`` (a ``numpy.random.Generator``; pass ``rng=`` a seed or Generator to replay it), which the
    gradient checker restores before each evaluation, so dropout is checked rather than switched off.

    Note the convention: the argument is the probability of *dropping*, not of keeping.
    """

    def __init__(self, drop_prob: float = 0.5, rng=None):
        super().__init__()
        self.drop_prob = check_number("drop_prob", drop_prob, who="Dropout", low=0, high=1, high_open=True)
        self.rng = check_rng("rng", rng, who="Dropout")

    def forward(self, x):
        given = x = check_input(x, "x", layer="Dropout")
        if x.dtype.kind != "f":                      # the mask's 1/keep scale must not be truncated
            x = x.astype(np.float64)
        self.y_shape = x.shape
        if not self.training or self.drop_prob == 0:
            self.mask = None
            return x
        keep = 1.0 - self.drop_prob
        # mask already carries the 1/keep scale, so y = x * mask and dx = dy * mask
        self.mask = (self.rng.random(x.shape) < keep).astype(x.dtype) / x.dtype.type(keep)
        return pass_on_data(given, x * self.mask)     # dropped-out data is still data (see layers.base)

    def backward(self, dy):
        mask = getattr(self, "mask", None)             # (a mask set by hand, as the exercises do, counts too)
        dy = check_dy(self, dy, "y_shape" if mask is None else "mask")
        return dy if self.mask is None or dy is None else dy * self.mask

    def __repr__(self):
        return f"Dropout(drop_prob={self.drop_prob})"
