"""2-D convolution as one matrix product: ``im2col`` unrolls the input windows, ``col2im`` folds them back.

im2col builds every (C, HH, WW) window of the padded input as a strided *view*
(``sliding_window_view``); the only copy is the one that lays the windows out as matrix columns for the
GEMM.  col2im is its adjoint: the gradient of each column entry is added back to the input pixel it was
read from, one kernel offset (i, j) at a time -- HH*WW vectorized additions, no loop over samples or pixels.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._checks import check_bool, check_float_dtype, check_int, check_number, check_rng
from .base import Layer, Parameter, check_dy, check_input, needs_input_grad
from .linear import init_weights


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length along one axis: ``(size + 2*padding - kernel) // stride + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(x, HH, WW, stride=1, padding=0):
    """Unroll the windows of ``x`` (N, C, H, W) into columns (N, C*HH*WW, Ho*Wo).

    Column ``p`` of sample ``n`` holds the window whose top-left corner is output pixel p (row-major),
    flattened in (c, i, j) order -- the order of ``W.reshape(F, -1)``, so ``W2d @ cols[n]`` is the
    convolution of sample n.
    """
    N, C, H, W = x.shape
    if padding:
        xp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=x.dtype)
        xp[:, :, padding:padding + H, padding:padding + W] = x
    else:
        xp = x
    windows = sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]  # view (N,C,Ho,Wo,HH,WW)
    Ho, Wo = windows.shape[2:4]
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * HH * WW, Ho * Wo)        # the one copy


def col2im(cols, x_shape, HH, WW, stride=1, padding=0):
    """Adjoint of ``im2col``: sum the column entries (N, C*HH*WW, Ho*Wo) back into an (N, C, H, W) array.

    A pixel read by several windows receives the sum of their gradients.
    """
    N, C, H, W = x_shape
    Ho = conv_output_size(H, HH, stride, padding)
    Wo = conv_output_size(W, WW, stride, padding)
    dxp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=cols.dtype)
    c6 = cols.reshape(N, C, HH, WW, Ho, Wo)
    for i in range(HH):                 # one shifted, strided view of the padded input per kernel offset
        for j in range(WW):
            dxp[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride] += c6[:, :, i, j]
    if padding:
        return dxp[:, :, padding:padding + H, padding:padding + W]
    return dxp


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in every deep-learning library) with F filters.

    Shapes: x (N, C, H, W), W (F, C, HH, WW), b (F,), y (N, F, Ho, Wo) with
    ``Ho = (H + 2*padding - HH) // stride + 1`` and ``Wo = (W + 2*padding - WW) // stride + 1``.

    ``y[n, f] = b[f] + sum_{c,i,j} W[f, c, i, j] * xpad[n, c, stride*h + i, stride*w + j]``

    ``kernel_size`` is an int or a pair (HH, WW).  ``init`` and ``rng`` as for ``Linear`` (fan-in C*HH*WW).
    ``backward`` returns None instead of dx when the forward input was data (``skip_input_grad``, used by
    every training loop of the package) or always with ``input_grad=False``; see ``layers.base``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride: int = 1, padding: int = 0,
                 init="he", weight_scale=0.01, rng=None, dtype=np.float32, input_grad: bool = True):
        super().__init__()
        if isinstance(kernel_size, (tuple, list, np.ndarray)) and np.shape(kernel_size) == (2,):
            HH, WW = kernel_size
        elif isinstance(kernel_size, (tuple, list, np.ndarray)):
            raise ValueError(f"Conv2D: 'kernel_size' must be an int or a pair (HH, WW), got {kernel_size!r}")
        else:
            HH = WW = kernel_size
        for name, v, low in (("in_channels", in_channels, 1), ("out_channels", out_channels, 1),
                             ("kernel_size", HH, 1), ("kernel_size", WW, 1), ("stride", stride, 1),
                             ("padding", padding, 0)):
            check_int(name, v, minimum=low, who="Conv2D")
        dtype = check_float_dtype("dtype", dtype, who="Conv2D")
        check_number("weight_scale", weight_scale, who="Conv2D", low=0, low_open=True)
        rng = check_rng("rng", rng, who="Conv2D")
        input_grad = check_bool("input_grad", input_grad, who="Conv2D")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = (int(HH), int(WW)), int(stride), int(padding)
        self.input_grad = input_grad
        shape = (out_channels, in_channels, HH, WW)
        Wv = init_weights(shape, init, rng, fan_in=in_channels * HH * WW, fan_out=out_channels * HH * WW,
                          weight_scale=weight_scale)
        self.W = Parameter(Wv.astype(dtype), "W")
        self.b = Parameter(np.zeros(out_channels, dtype=dtype), "b", regularize=False)

    def forward(self, x):
        self.dx_needed = needs_input_grad(self, x)       # False for the data: see layers.base
        x = check_input(x, "x", ndim=4, layer="Conv2D")
        N, C, H, W = x.shape
        HH, WW = self.kernel_size
        if C != self.in_channels:
            raise ValueError(f"Conv2D: 'x' must have {self.in_channels} channels (axis 1 of N, C, H, W), "
                             f"got {C} (shape {x.shape})")
        if H + 2 * self.padding < HH or W + 2 * self.padding < WW:
            raise ValueError(f"Conv2D: padded input {H + 2 * self.padding}x{W + 2 * self.padding} is smaller "
                             f"than the kernel {HH}x{WW}")
        x = x.astype(self.W.value.dtype, copy=False)
        Ho = conv_output_size(H, HH, self.stride, self.padding)
        Wo = conv_output_size(W, WW, self.stride, self.padding)
        self.x_shape, self.y_shape = x.shape, (N, self.out_channels, Ho, Wo)
        self.cols = im2col(x, HH, WW, self.stride, self.padding)          # (N, K, P), K = C*HH*WW
        y = self.W.value.reshape(self.out_channels, -1) @ self.cols      # (F, K) @ (N, K, P) -> (N, F, P)
        y += self.b.value[:, None]
        return y.reshape(N, self.out_channels, Ho, Wo)

    def backward(self, dy):
        dy = check_dy(self, dy, "y_shape").astype(self.W.value.dtype, copy=False)
        N, F = dy.shape[:2]
        d3 = dy.reshape(N, F, -1)                                          # (N, F, P)
        # y_n = W2d cols_n + b  =>  dW2d = sum_n dy_n cols_n^T,  db = sum over n and pixels,  dcols_n = W2d^T dy_n
        np.sum(dy, axis=(0, 2, 3), out=self.b.grad)
        self.W.grad[...] = np.matmul(d3, self.cols.transpose(0, 2, 1)).sum(axis=0).reshape(self.W.shape)
        if not self.dx_needed:
            return None
        dcols = self.W.value.reshape(F, -1).T @ d3                        # (N, K, P)
        return col2im(dcols, self.x_shape, *self.kernel_size, self.stride, self.padding)

    def __repr__(self):
        return (f"Conv2D({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dtype={self.W.value.dtype})")
