"""Max pooling over 2-D windows, recording which input won each window (the kink record)."""
from __future__ import annotations

import numpy as np

from .._checks import check_int
from .base import Layer, check_dy, check_input


class MaxPool2D(Layer):
    """Maximum over each ``pool_size`` x ``pool_size`` window, moved by ``stride`` (default: pool_size).

    Shapes: x (N, C, H, W), y (N, C, Ho, Wo) with ``Ho = (H - pool_size) // stride + 1`` (likewise Wo);
    rows/columns that no window reaches are ignored.

    The maximum is separable: first over the k rows of each window (``m[h, w] = max_i x[s*h + i, w]``,
    row ``r[h, w]`` wins), then over its k columns (``y[h, v] = max_j m[h, s*v + j]``, column ``c[h, v]``
    wins).  Each step is one vectorized operation on a strided view of the whole batch; the loops run over
    the k offsets only, never over samples or pixels.  A tie has one winner: the leftmost of the tied
    columns, and the topmost entry within it.

    ``self.winners`` (N, C, Ho, Wo) is the offset ``i * k + j`` of each window's winner, so the gradient
    checker sees when x+h and x-h pick different inputs.  Backward sends each window's gradient to its
    winner only (dy/dx = 1 there, 0 elsewhere), undoing the two steps in reverse.
    """

    def __init__(self, pool_size: int = 2, stride: int | None = None):
        super().__init__()
        stride = pool_size if stride is None else stride
        check_int("pool_size", pool_size, minimum=1, maximum=127, who="MaxPool2D")   # offsets fit int8
        check_int("stride", stride, minimum=1, who="MaxPool2D")
        self.pool_size, self.stride = int(pool_size), int(stride)

    @staticmethod
    def _argmax_step(views):
        """Running maximum over ``views`` (same shape) and the index of the first view that attains it."""
        best = views[0].copy()
        index = np.zeros(best.shape, dtype=np.int8)
        for i, v in enumerate(views[1:], start=1):
            better = v > best                    # strict: an earlier view keeps the win on a tie
            np.maximum(best, v, out=best)
            np.maximum(index, better * np.int8(i), out=index)   # i exceeds every earlier index
        return best, index

    def forward(self, x):
        x = check_input(x, "x", ndim=4, layer="MaxPool2D")
        N, C, H, W = x.shape
        k, s = self.pool_size, self.stride
        if H < k or W < k:
            raise ValueError(f"MaxPool2D: input {H}x{W} is smaller than the pool window {k}x{k}")
        Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
        m, self.rows = self._argmax_step([x[:, :, i:i + s * Ho:s, :] for i in range(k)])      # (N, C, Ho, W)
        y, self.cols = self._argmax_step([m[..., j:j + s * Wo:s] for j in range(k)])         # (N, C, Ho, Wo)
        self.x_shape = x.shape
        return y

    def backward(self, dy):
        # y[h, v] = m[h, s*v + c[h, v]] and m[h, w] = x[s*h + r[h, w], w]: each step is 1 at its winner and 0
        # elsewhere, so dm[h, s*v + j] += dy[h, v] [c = j], then dx[s*h + i, w] += dm[h, w] [r = i]
        # (the += matters only when windows overlap, s < k).
        dy = check_dy(self, dy, "cols")
        k, s = self.pool_size, self.stride
        N, C, H, W = self.x_shape
        Ho, Wo = self.cols.shape[2:]
        overlap = s < k
        dm = (np.empty if s == k and s * Wo == W else np.zeros)((N, C, Ho, W), dtype=dy.dtype)
        for j in range(k):                       # undo the column step: dy goes to the winning column
            target = dm[..., j:j + s * Wo:s]
            if overlap:
                target += dy * (self.cols == j)
            else:
                np.multiply(dy, self.cols == j, out=target)
        dx = (np.empty if s == k and s * Ho == H else np.zeros)((N, C, H, W), dtype=dy.dtype)
        for i in range(k):                       # undo the row step: dm goes to the winning row
            target = dx[:, :, i:i + s * Ho:s, :]
            if overlap:
                target += dm * (self.rows == i)
            else:
                np.multiply(dm, self.rows == i, out=target)
        return dx

    @property
    def winners(self):
        """Offset ``i * k + j`` of the winner in each window, (N, C, Ho, Wo); computed when asked."""
        s, Wo = self.stride, self.cols.shape[-1]
        winning_column = s * np.arange(Wo) + self.cols                  # column of the winner, in m's axes
        i = np.take_along_axis(self.rows, winning_column, axis=-1)
        return i.astype(np.int32) * self.pool_size + self.cols

    def __repr__(self):
        return f"MaxPool2D(pool_size={self.pool_size}, stride={self.stride})"
