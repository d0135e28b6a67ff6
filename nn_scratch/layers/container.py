"""Containers and shape helpers: ``Sequential`` and ``Flatten``."""
from __future__ import annotations

import numpy as np

from .base import Layer, check_dy, check_input, pass_on_data


class Sequential(Layer):
    """Apply ``layers`` in order; itself a Layer, so it nests and checks like any other.

    ``forward`` feeds each output to the next layer; ``backward`` walks the list in reverse, passing
    each layer's dx on as the previous layer's dy (the chain rule, one link per layer).  Inside
    ``skip_input_grad`` the first layer with parameters gets the data itself and returns None for dx,
    which ``backward`` then returns (see ``layers.base``).
    """

    def __init__(self, layers):
        super().__init__()
        wanted = "a list of Layers, e.g. Sequential([Linear(2, 3), ReLU()])"
        if isinstance(layers, (Layer, str, bytes)) or layers is None:
            raise TypeError(f"Sequential: 'layers' must be {wanted}, got {type(layers).__name__}")
        try:
            layers = list(layers)
        except TypeError:
            raise TypeError(f"Sequential: 'layers' must be {wanted}, got {type(layers).__name__}") from None
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
            if dy is None:          # a layer fed the data skipped its dx; those before it only pass data on
                return None
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
    """Reshape (N, d1, d2, ...) to (N, d1*d2*...); backward restores the shape.

    Flattened data is data: inside ``skip_input_grad`` the layer after a first Flatten skips its dx too."""

    def forward(self, x):
        x = check_input(x, "x", layer="Flatten")
        if x.ndim == 0:
            raise ValueError("Flatten: 'x' must have a sample axis (N, ...), got a scalar")
        self.shape = x.shape
        return pass_on_data(x, x.reshape(x.shape[0], -1))    # flattened data is still data

    def backward(self, dy):
        dy = check_dy(self, dy, "shape", lambda s: (s[0], int(np.prod(s[1:]))))
        return None if dy is None else dy.reshape(self.shape)
