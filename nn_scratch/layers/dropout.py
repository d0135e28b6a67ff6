"""Inverted dropout: scale at training time so evaluation is the identity."""
from __future__ import annotations

import numpy as np

from .base import Layer, pass_on_data


class Dropout(Layer):
    """Zero each input with probability ``drop_prob`` during training and scale the rest by 1/(1-drop_prob).

    Any shape.  In eval mode (``layer.eval()``) it is the identity.  The mask is drawn from
    ``self.rng`` (a ``numpy.random.Generator``; pass ``rng=`` a seed or Generator to replay it), which the
    gradient checker restores before each evaluation, so dropout is checked rather than switched off.

    Note the convention: the argument is the probability of *dropping*, not of keeping.
    """

    def __init__(self, drop_prob: float = 0.5, rng=None):
        super().__init__()
        if not 0 <= drop_prob < 1:
            raise ValueError(f"Dropout: 'drop_prob' must be in [0, 1), got {drop_prob!r}")
        self.drop_prob = drop_prob
        self.rng = np.random.default_rng(rng)

    def forward(self, x):
        x = np.asarray(x)
        if not self.training or self.drop_prob == 0:
            self.mask = None
            return x
        keep = 1.0 - self.drop_prob
        # mask already carries the 1/keep scale, so y = x * mask and dx = dy * mask
        self.mask = (self.rng.random(x.shape) < keep).astype(x.dtype) / x.dtype.type(keep)
        return pass_on_data(x, x * self.mask)     # dropped-out data is still data (see layers.base)

    def backward(self, dy):
        return dy if self.mask is None or dy is None else dy * self.mask

    def __repr__(self):
        return f"Dropout(drop_prob={self.drop_prob})"
