"""Containers and shape helpers: ``Sequential`` and ``Flatten``."""
from __future__ import annotations

import numpy as np

from .base import Layer


class Sequential(Layer):
    """Apply ``layers`` in order; itself a Layer, so it nests and checks like any other.

    ``forward`` feeds each output to the next layer; ``backward`` walks the list in reverse, passing
    each layer's dx on as the previous layer's dy (the chain rule, one link per layer).
    """

    def __init__(self, layers):
        super().__init__()
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: 'layers[{i}]' must be a Layer, got {type(layer).__name__}")
        self.layers = layers

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"


class Flatten(Layer):
    """Reshape (N, d1, d2, ...) to (N, d1*d2*...); backward restores the shape."""

    def forward(self, x):
        x = np.asarray(x)
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self.shape)
