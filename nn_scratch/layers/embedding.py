"""Embedding: a learned lookup table from integer ids (characters, words, positions) to vectors."""
from __future__ import annotations

import numpy as np

from .._checks import check_float_dtype, check_number, check_rng
from .base import Layer, Parameter, check_dy


def check_indices(idx, size: int, name: str = "idx", layer: str = "Embedding"):
    """An integer array with every value in [0, size); else a clear error naming ``name``.  Returns an ndarray."""
    idx = np.asarray(idx)
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"{layer}: '{name}' must be an integer array of ids, got dtype {idx.dtype}; "
                        "convert with .astype(np.int64) if the values are whole numbers")
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        raise ValueError(f"{layer}: '{name}' must hold ids in [0, {size - 1}], got values in "
                         f"[{idx.min()}, {idx.max()}]")
    return idx


class Embedding(Layer):
    """Row lookup ``y[n, t] = W[idx[n, t]]``: each of V ids owns a trainable D-vector.

    Shapes: idx an integer array of any shape, typically (N, T); W (V, D) with V = ``num_embeddings`` and
    D = ``embedding_dim``; y (*idx.shape, D).  Ids outside [0, V) or a non-integer dtype are rejected.

    The lookup equals ``onehot(idx) @ W``, so ``W.grad`` is ``onehot(idx)^T @ dy``: the rows of dy summed into
    the row of their id -- an id that occurs several times in the batch collects the sum of its gradients.
    ``backward`` returns None: an integer input has no gradient.

    W is drawn N(0, ``weight_scale``^2) (default 1, as PyTorch) in ``dtype`` (float32 by default) from
    ``rng`` (a Generator or seed).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, weight_scale: float = 1.0, rng=None,
                 dtype=np.float32):
        super().__init__()
        for name, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"Embedding: '{name}' must be a positive integer, got {v!r}")
        check_number("weight_scale", weight_scale, who="Embedding", low=0, low_open=True)
        dtype = check_float_dtype("dtype", dtype, who="Embedding")
        rng = check_rng("rng", rng, who="Embedding")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        W = rng.standard_normal((num_embeddings, embedding_dim)) * weight_scale
        self.W = Parameter(W.astype(dtype), "W")

    def forward(self, idx):
        self.idx = check_indices(idx, self.num_embeddings)
        return self.W.value[self.idx]

    def backward(self, dy):
        dy = check_dy(self, dy, "idx", lambda idx: idx.shape + (self.embedding_dim,))
        dy = dy.astype(self.W.value.dtype, copy=False).reshape(-1, self.embedding_dim)
        # y = onehot(idx) W  =>  dW = onehot(idx)^T dy: add each row of dy into the row of its id
        self.W.grad[...] = 0
        np.add.at(self.W.grad, self.idx.reshape(-1), dy)
        return None

    def __repr__(self):
        return f"Embedding({self.num_embeddings}, {self.embedding_dim}, dtype={self.W.value.dtype})"
