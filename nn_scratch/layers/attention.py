"""Self-attention: multi-head attention, the pre-norm transformer block, and token + position embeddings.

Every head of every sample is handled by batched matrix products on arrays shaped (N, heads, T, .): no
Python loop over samples, heads or positions.
"""
from __future__ import annotations

import numpy as np

from .activations import GELU
from .._checks import check_bool, check_float_dtype, check_int, check_number, check_rng
from .base import Layer, Parameter, check_dy, check_input
from .dropout import Dropout
from .embedding import Embedding, check_indices
from .linear import Linear, init_weights
from .normalization import LayerNorm


class MultiHeadAttention(Layer):
    """Scaled dot-product self-attention with ``num_heads`` heads (Vaswani et al. 2017).

    For x (N, T, D), with h = ``num_heads`` and d = D / h the size of one head::

        q = x Wq + bq,  k = x Wk + bk,  v = x Wv + bv         each (N, T, D), split into h heads (N, h, T, d)
        S = q k^T / sqrt(d)                                    (N, h, T, T): how much position t looks at s
        A = softmax(S) over s     (with causal=True, S[t, s] = -inf for s > t: no peeking at the future)
        y = concat_heads(dropout(A) v) Wo + bo                 (N, T, D)

    Parameters Wq, Wk, Wv, Wo (D, D) and bq, bk, bv, bo (D,), each used as ``x @ W + b`` like ``Linear``.
    ``self.attn`` keeps the last A (N, h, T, T), before dropout, for plotting.  Attention dropout (probability
    ``dropout`` of dropping a weight, inverted scaling) draws from ``self.rng``, which the gradient checker
    replays.  Parameters are in ``dtype`` (float32 by default), drawn Xavier from ``rng``.
    """

    def __init__(self, embed_dim: int, num_heads: int, causal: bool = False, dropout: float = 0.0, rng=None,
                 dtype=np.float32):
        super().__init__()
        for name, v in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"MultiHeadAttention: '{name}' must be a positive integer, got {v!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiHeadAttention: 'embed_dim' ({embed_dim}) must be divisible by 'num_heads' "
                             f"({num_heads})")
        check_number("dropout", dropout, who="MultiHeadAttention", low=0, high=1, high_open=True)
        check_bool("causal", causal, who="MultiHeadAttention")
        dtype = check_float_dtype("dtype", dtype, who="MultiHeadAttention")
        D = int(embed_dim)
        self.embed_dim, self.num_heads, self.causal, self.dropout = D, int(num_heads), bool(causal), float(dropout)
        rng = check_rng("rng", rng, who="MultiHeadAttention")
        for name in ("q", "k", "v", "o"):
            setattr(self, "W" + name, Parameter(init_weights((D, D), "xavier", rng).astype(dtype), "W" + name))
            setattr(self, "b" + name, Parameter(np.zeros(D, dtype=dtype), "b" + name, regularize=False))
        self.rng = np.random.default_rng(rng.integers(2**63))

    def _heads(self, a, N, T):
        """(N*T, D) -> (N, h, T, d)"""
        return a.reshape(N, T, self.num_heads, -1).transpose(0, 2, 1, 3)

    def forward(self, x):
        x = check_input(x, "x", ndim=3, last_dim=self.embed_dim, layer="MultiHeadAttention")
        dtype = self.Wq.value.dtype
        N, T, D = x.shape
        self.x2 = x.astype(dtype, copy=False).reshape(N * T, D)
        self.q = self._heads(self.x2 @ self.Wq.value + self.bq.value, N, T)
        self.k = self._heads(self.x2 @ self.Wk.value + self.bk.value, N, T)
        self.v = self._heads(self.x2 @ self.Wv.value + self.bv.value, N, T)
        self.scale = dtype.type(1 / np.sqrt(D // self.num_heads))
        S = (self.q @ self.k.transpose(0, 1, 3, 2)) * self.scale                  # (N, h, T, T)
        if self.causal:
            S += np.triu(np.full((T, T), -np.inf, dtype=dtype), 1)               # s > t: weight exp(-inf) = 0
        S -= S.max(axis=-1, keepdims=True)
        np.exp(S, out=S)
        S /= S.sum(axis=-1, keepdims=True)
        self.attn = S
        self.mask = None
        A = self.attn
        if self.training and self.dropout > 0:
            keep = 1.0 - self.dropout
            self.mask = (self.rng.random(A.shape) < keep).astype(dtype) / dtype.type(keep)
            A = A * self.mask
        self.A = A
        ctx = (A @ self.v).transpose(0, 2, 1, 3).reshape(N * T, D)                 # heads side by side again
        self.ctx, self.y_shape = ctx, (N, T, D)
        return (ctx @ self.Wo.value + self.bo.value).reshape(N, T, D)

    def backward(self, dy):
        dy = check_dy(self, dy, "y_shape")
        dtype = self.Wq.value.dtype
        N, h, T, d = self.q.shape
        dy2 = dy.astype(dtype, copy=False).reshape(N * T, h * d)
        # y = ctx Wo + bo  =>  dWo = ctx^T dy,  dbo = sum dy,  dctx = dy Wo^T
        np.matmul(self.ctx.T, dy2, out=self.Wo.grad)
        np.sum(dy2, axis=0, out=self.bo.grad)
        dctx = self._heads(dy2 @ self.Wo.value.T, N, T)
        # ctx = A v  =>  dA = dctx v^T,  dv = A^T dctx
        dA = dctx @ self.v.transpose(0, 1, 3, 2)
        dv = self.A.transpose(0, 1, 3, 2) @ dctx
        if self.mask is not None:
            dA *= self.mask
        # softmax over s: dS = A * (dA - sum_s dA A); masked entries have A = 0 so they get no gradient
        dS = self.attn * (dA - np.sum(dA * self.attn, axis=-1, keepdims=True)) * self.scale
        # S = q k^T * scale  =>  dq = dS k,  dk = dS^T q   (scale already applied)
        dq = dS @ self.k
        dk = dS.transpose(0, 1, 3, 2) @ self.q
        dx = np.zeros((N * T, h * d), dtype=dtype)
        for W, b, dz in ((self.Wq, self.bq, dq), (self.Wk, self.bk, dk), (self.Wv, self.bv, dv)):
            dz2 = dz.transpose(0, 2, 1, 3).reshape(N * T, h * d)
            np.matmul(self.x2.T, dz2, out=W.grad)
            np.sum(dz2, axis=0, out=b.grad)
            dx += dz2 @ W.value.T
        return dx.reshape(N, T, h * d)

    def __repr__(self):
        return (f"MultiHeadAttention({self.embed_dim}, num_heads={self.num_heads}, causal={self.causal}, "
                f"dropout={self.dropout})")


class TransformerBlock(Layer):
    """Pre-norm transformer block (as GPT-2): attention, then a two-layer GELU MLP, each on a residual path::

        x = x + drop(MHA(LN1(x)))
        y = x + drop(W2 GELU(W1 LN2(x)))           W1 (D, mlp_ratio*D), W2 (mlp_ratio*D, D)

    Shapes: x and y (N, T, D).  Normalizing *before* each branch leaves the residual path an identity, so
    the gradient reaches early blocks undiminished.  ``causal=True`` (the default, for language models) masks
    the future in attention.  ``dropout`` applies to the attention weights and to each branch's output.
    Sub-layers: ``ln1``, ``attn``, ``ln2``, ``fc1``, ``act``, ``fc2`` (and ``drop1``, ``drop2``).
    """

    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio: int = 4, causal: bool = True,
                 dropout: float = 0.0, rng=None, dtype=np.float32):
        super().__init__()
        check_int("mlp_ratio", mlp_ratio, minimum=1, who="TransformerBlock")
        rng = check_rng("rng", rng, who="TransformerBlock")
        D = embed_dim
        self.ln1 = LayerNorm(D, dtype=dtype)
        self.attn = MultiHeadAttention(D, num_heads, causal=causal, dropout=dropout, rng=rng, dtype=dtype)
        self.ln2 = LayerNorm(D, dtype=dtype)
        self.fc1 = Linear(D, mlp_ratio * D, init="he", rng=rng, dtype=dtype)
        self.act = GELU()
        self.fc2 = Linear(mlp_ratio * D, D, init="xavier", rng=rng, dtype=dtype)
        self.drop1 = Dropout(dropout, rng=rng.integers(2**63))
        self.drop2 = Dropout(dropout, rng=rng.integers(2**63))

    def forward(self, x):
        x = check_input(x, "x", ndim=3, last_dim=self.ln1.normalized_shape, layer="TransformerBlock")
        x = x.astype(self.ln1.gamma.value.dtype, copy=False)
        x = x + self.drop1.forward(self.attn.forward(self.ln1.forward(x)))
        return x + self.drop2.forward(self.fc2.forward(self.act.forward(self.fc1.forward(self.ln2.forward(x)))))

    def backward(self, dy):
        # y = x + F(x): dx = dy + F'(x)^T dy, once per residual branch, last branch first
        dy = check_dy(self.ln1, dy, "xhat").astype(self.ln1.gamma.value.dtype, copy=False)
        dx = dy + self.ln2.backward(self.fc1.backward(self.act.backward(self.fc2.backward(self.drop2.backward(dy)))))
        return dx + self.ln1.backward(self.attn.backward(self.drop1.backward(dx)))

    def __repr__(self):
        return (f"TransformerBlock({self.ln1.normalized_shape}, num_heads={self.attn.num_heads}, "
                f"mlp_ratio={self.fc1.out_features // self.fc1.in_features}, causal={self.attn.causal})")


class TokenPositionEmbedding(Layer):
    """The input of a transformer language model: ``y[n, t] = tok.W[idx[n, t]] + pos.W[t]``.

    Attention alone does not know the order of its inputs; a learned position embedding (an ``Embedding``
    over the positions 0..T-1, as GPT-2) tells it.  Shapes: idx (N, T) integers with T <= ``max_len``;
    y (N, T, D).  Sub-layers ``tok`` (V, D) and ``pos`` (max_len, D), both drawn N(0, ``weight_scale``^2).
    ``backward`` returns None (integer input).
    """

    def __init__(self, vocab_size: int, max_len: int, embed_dim: int, weight_scale: float = 0.1, rng=None,
                 dtype=np.float32):
        super().__init__()
        check_int("max_len", max_len, minimum=1, who="TokenPositionEmbedding")
        rng = check_rng("rng", rng, who="TokenPositionEmbedding")
        self.tok = Embedding(vocab_size, embed_dim, weight_scale=weight_scale, rng=rng, dtype=dtype)
        self.pos = Embedding(max_len, embed_dim, weight_scale=weight_scale, rng=rng, dtype=dtype)
        self.max_len = int(max_len)

    def forward(self, idx):
        idx = check_indices(idx, self.tok.num_embeddings, layer="TokenPositionEmbedding")
        if idx.ndim != 2 or not 1 <= idx.shape[1] <= self.max_len:
            raise ValueError(f"TokenPositionEmbedding: 'idx' must have shape (N, T) with 1 <= T <= max_len = "
                             f"{self.max_len}, got shape {idx.shape}")
        return self.tok.forward(idx) + self.pos.forward(np.arange(idx.shape[1])[None])

    def backward(self, dy):
        # y = tok(idx) + pos(t): the same dy reaches both tables; pos sums it over the N sequences
        dy = check_dy(self.tok, dy, "idx", lambda idx: idx.shape + (self.tok.embedding_dim,))
        self.tok.backward(dy)
        self.pos.backward(np.sum(dy, axis=0, keepdims=True))
        return None

    def __repr__(self):
        return (f"TokenPositionEmbedding({self.tok.num_embeddings}, max_len={self.max_len}, "
                f"embed_dim={self.tok.embedding_dim})")
