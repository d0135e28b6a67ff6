"""Recurrent layers: a vanilla RNN and an LSTM over whole sequences (N, T, D) -> (N, T, H).

Both share one structure.  The input projection ``x_t Wx + b`` of every step is one (N*T, D) @ (D, .) product
before the time loop; the loop over t (a Python loop by nature: step t needs h_{t-1}) does one (N, H) @ (H, .)
product and a few element-wise operations per step; ``backward`` walks t backwards collecting the
pre-activation gradients of every step, then forms dWx, dWh and dx with one product each after the loop.
There is no loop over samples.

Hidden state:
* ``forward(x, h0=None)`` starts from ``h0`` (N, H) or zeros.  After ``backward``, ``self.dh0`` holds dL/dh0,
  for a caller that produced h0 (an encoder, or truncated backpropagation through time).
* ``carry_state = True`` makes each forward start from the final state of the previous one (unless ``h0`` is
  given): how ``text.generate`` feeds one character at a time.  ``reset_state()`` forgets it.
* ``self.grad_hidden`` (N, T, H), filled by ``backward``: the total dL/dh_t that reached each step -- from the
  output at t and from step t+1.  Its norm against t shows vanishing or exploding gradients.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_bool, check_float_dtype, check_number, check_rng
from .base import Layer, Parameter, check_dy, check_input, needs_input_grad
from .linear import init_weights


def _sigmoid(a):
    return 0.5 * (1 + np.tanh(0.5 * a))        # never overflows, unlike 1 / (1 + exp(-a))


class _Recurrent(Layer):
    """Shared checks and state handling of ``RNN`` and ``LSTM`` (not a layer to use on its own)."""

    n_gates = 1
    state_names = ("h",)

    def __init__(self, input_size, hidden_size, rng, dtype, input_grad):
        super().__init__()
        who = type(self).__name__
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{who}: '{name}' must be a positive integer, got {v!r}")
        dtype = check_float_dtype("dtype", dtype, who=who)
        input_grad = check_bool("input_grad", input_grad, who=who)
        D, H, G = int(input_size), int(hidden_size), self.n_gates * int(hidden_size)
        self.input_size, self.hidden_size, self.input_grad = D, H, input_grad
        rng = check_rng("rng", rng, who=who)
        # Xavier for the input weights; the recurrent weights N(0, 1/H) so h_{t-1} Wh starts at unit scale
        self.Wx = Parameter(init_weights((D, G), "xavier", rng, fan_in=D, fan_out=H).astype(dtype), "Wx")
        self.Wh = Parameter((rng.standard_normal((H, G)) / np.sqrt(H)).astype(dtype), "Wh")
        self.b = Parameter(np.zeros(G, dtype=dtype), "b", regularize=False)
        self.carry_state = False
        self.last_state = None

    def reset_state(self):
        """Forget the state carried between forwards (``carry_state``)."""
        self.last_state = None

    def _inputs(self, x, states):
        """Checked x (N, T, D) in the parameters' dtype and the start states (each (N, H))."""
        who = type(self).__name__
        self.dx_needed = needs_input_grad(self, x)       # False for the data: see layers.base
        x = check_input(x, "x", ndim=3, last_dim=self.input_size, layer=who)
        dtype = self.Wx.value.dtype
        N, H = x.shape[0], self.hidden_size
        carried = self.last_state if self.carry_state else None
        out = []
        for k, (name, s) in enumerate(zip(self.state_names, states)):
            if s is None and carried is not None and carried[k].shape == (N, H):
                s = carried[k]
            if s is None:
                s = np.zeros((N, H), dtype=dtype)
            s = check_input(s, f"{name}0", ndim=2, last_dim=H, layer=who)
            if s.shape[0] != N:
                raise ValueError(f"{who}: '{name}0' must have {N} rows (one per sequence in 'x'), got {s.shape[0]}")
            out.append(s.astype(dtype, copy=False))
        return x.astype(dtype, copy=False), out

    def _weight_grads(self, da, h_prev):
        """After the time loop: dWx, dWh, db from the pre-activation gradients da (N, T, G); returns dx."""
        N, T, G = da.shape
        da2 = da.reshape(N * T, G)
        # a_t = x_t Wx + h_{t-1} Wh + b  =>  dWx = sum_t x_t^T da_t,  dWh = sum_t h_{t-1}^T da_t,  dx_t = da_t Wx^T
        np.matmul(self.x.reshape(N * T, -1).T, da2, out=self.Wx.grad)
        np.matmul(h_prev.reshape(N * T, -1).T, da2, out=self.Wh.grad)
        np.sum(da2, axis=0, out=self.b.grad)
        if not self.dx_needed:
            return None
        return (da2 @ self.Wx.value.T).reshape(N, T, self.input_size)


class RNN(_Recurrent):
    """Vanilla (Elman) recurrent layer: ``h_t = tanh(x_t Wx + h_{t-1} Wh + b)`` for t = 1..T.

    Shapes: x (N, T, D), h0 (N, H) or None (zeros), output every hidden state (N, T, H); Wx (D, H),
    Wh (H, H), b (H,), with D = ``input_size`` and H = ``hidden_size``.  ``backward(dh)`` takes dL/dh_t for
    every t, (N, T, H), returns dx (N, T, D) (None with ``input_grad=False``) and sets ``self.dh0``.

    Parameters are in ``dtype`` (float32 by default); inputs are converted to it.  ``rng`` (Generator or seed)
    draws Wx (Xavier) and Wh (N(0, 1/H)).  See the module docstring for state carrying and ``grad_hidden``.
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", rng=None,
                 dtype=np.float32, input_grad: bool = True):
        if nonlinearity != "tanh":
            raise ValueError(f"RNN: 'nonlinearity' must be 'tanh' (the only one implemented), got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, rng, dtype, input_grad)
        self.nonlinearity = nonlinearity

    def forward(self, x, h0=None):
        x, (h,) = self._inputs(x, (h0,))
        N, T, _ = x.shape
        self.x, self.h0 = x, h
        xw = (x.reshape(N * T, -1) @ self.Wx.value + self.b.value).reshape(N, T, -1)
        hs = np.empty((N, T, self.hidden_size), dtype=x.dtype)
        Wh = self.Wh.value
        for t in range(T):
            h = np.tanh(xw[:, t] + h @ Wh)
            hs[:, t] = h
        self.hs = hs
        self.last_state = (h,)
        return hs

    def backward(self, dh):
        dh = check_dy(self, dh, "hs").astype(self.Wx.value.dtype, copy=False)
        N, T, H = self.hs.shape
        da = np.empty_like(self.hs)
        self.grad_hidden = np.empty_like(self.hs)
        WhT = self.Wh.value.T
        dh_next = np.zeros((N, H), dtype=da.dtype)
        for t in reversed(range(T)):
            g = dh[:, t] + dh_next                  # dL/dh_t: from the output at t and from step t+1
            self.grad_hidden[:, t] = g
            da[:, t] = g * (1 - self.hs[:, t] ** 2)  # h = tanh(a)  =>  da = dh (1 - h^2)
            dh_next = da[:, t] @ WhT                 # a_t = ... + h_{t-1} Wh  =>  dh_{t-1} += da_t Wh^T
        self.dh0 = dh_next
        h_prev = np.concatenate([self.h0[:, None], self.hs[:, :-1]], axis=1)
        return self._weight_grads(da, h_prev)

    def __repr__(self):
        return f"RNN({self.input_size}, {self.hidden_size}, dtype={self.Wx.value.dtype})"


class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

    With a_t = x_t Wx + h_{t-1} Wh + b split into four blocks of H columns, **in the order i, f, o, g**::

        i = sigmoid(a_i)   input gate        c_t = f * c_{t-1} + i * g
        f = sigmoid(a_f)   forget gate       h_t = o * tanh(c_t)
        o = sigmoid(a_o)   output gate
        g = tanh(a_g)      candidate

    Shapes: x (N, T, D), h0 and c0 (N, H) or None (zeros), output every h_t (N, T, H); Wx (D, 4H), Wh (H, 4H),
    b (4H,).  ``backward(dh)`` takes (N, T, H), returns dx (N, T, D) and sets ``self.dh0``, ``self.dc0``.

    Gate order: i, f, o, g is CS231n's (the three sigmoids side by side, then the tanh).  PyTorch's
    ``nn.LSTM`` stacks i, f, g, o, and its weights are transposed (``weight_ih_l0`` is (4H, D)) with two
    biases.  To load PyTorch weights: ``Wx = weight_ih.T[:, perm]``, ``Wh = weight_hh.T[:, perm]``,
    ``b = (bias_ih + bias_hh)[perm]`` with ``perm = LSTM.pytorch_to_ours(H)`` = (0:2H, 3H:4H, 2H:3H).

    ``forget_bias`` (default 1.0) initializes the forget block of b.  With 0, f starts at sigmoid(0) = 0.5 and
    the cell halves every step, so at initialization the gradient reaching t-k shrinks like 0.5^k; with 1,
    f starts near 0.73 and the cell remembers for longer from the first step (Gers et al. 2000;
    Jozefowicz et al. 2015 found it helps almost always).  PyTorch initializes it like every other bias.
    """

    n_gates = 4
    state_names = ("h", "c")

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 1.0, rng=None,
                 dtype=np.float32, input_grad: bool = True):
        super().__init__(input_size, hidden_size, rng, dtype, input_grad)
        check_number("forget_bias", forget_bias, who="LSTM")
        self.forget_bias = float(forget_bias)
        H = self.hidden_size
        self.b.value[H:2 * H] = forget_bias

    @staticmethod
    def pytorch_to_ours(hidden_size: int):
        """Column permutation taking PyTorch's gate blocks (i, f, g, o) to ours (i, f, o, g)."""
        H = hidden_size
        return np.concatenate([np.arange(0, 2 * H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)])

    def forward(self, x, h0=None, c0=None):
        x, (h, c) = self._inputs(x, (h0, c0))
        N, T, _ = x.shape
        H = self.hidden_size
        self.x, self.h0, self.c0 = x, h, c
        xw = (x.reshape(N * T, -1) @ self.Wx.value + self.b.value).reshape(N, T, 4 * H)
        self.gates = np.empty((N, T, 4 * H), dtype=x.dtype)     # i, f, o, g after their nonlinearities
        self.cs = np.empty((N, T, H), dtype=x.dtype)
        self.tanh_c = np.empty((N, T, H), dtype=x.dtype)
        hs = np.empty((N, T, H), dtype=x.dtype)
        Wh = self.Wh.value
        for t in range(T):
            a = xw[:, t] + h @ Wh
            gates = self.gates[:, t]
            gates[:, :3 * H] = _sigmoid(a[:, :3 * H])
            gates[:, 3 * H:] = np.tanh(a[:, 3 * H:])
            i, f, o, g = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
            c = f * c + i * g
            self.cs[:, t] = c
            self.tanh_c[:, t] = np.tanh(c)
            h = o * self.tanh_c[:, t]
            hs[:, t] = h
        self.hs = hs
        self.last_state = (h, c)
        return hs

    def backward(self, dh):
        dh = check_dy(self, dh, "hs").astype(self.Wx.value.dtype, copy=False)
        N, T, H = self.hs.shape
        da = np.empty_like(self.gates)
        self.grad_hidden = np.empty_like(self.hs)
        WhT = self.Wh.value.T
        dh_next = np.zeros((N, H), dtype=da.dtype)
        dc_next = np.zeros((N, H), dtype=da.dtype)
        for t in reversed(range(T)):
            gates = self.gates[:, t]
            i, f, o, g = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
            c_prev = self.cs[:, t - 1] if t > 0 else self.c0
            tc = self.tanh_c[:, t]
            g_h = dh[:, t] + dh_next                         # dL/dh_t: output at t and step t+1
            self.grad_hidden[:, t] = g_h
            dc = dc_next + g_h * o * (1 - tc * tc)           # h = o tanh(c)  =>  dc += dh o (1 - tanh^2 c)
            d = da[:, t]
            d[:, :H] = dc * g * i * (1 - i)                  # c = f c_prev + i g  =>  di = dc g, sigmoid' = i(1-i)
            d[:, H:2 * H] = dc * c_prev * f * (1 - f)        # df = dc c_prev
            d[:, 2 * H:3 * H] = g_h * tc * o * (1 - o)       # do = dh tanh(c)
            d[:, 3 * H:] = dc * i * (1 - g * g)              # dg = dc i, tanh' = 1 - g^2
            dc_next = dc * f                                 # dc_prev = dc f
            dh_next = d @ WhT
        self.dh0, self.dc0 = dh_next, dc_next
        h_prev = np.concatenate([self.h0[:, None], self.hs[:, :-1]], axis=1)
        return self._weight_grads(da, h_prev)

    def __repr__(self):
        return (f"LSTM({self.input_size}, {self.hidden_size}, forget_bias={self.forget_bias}, "
                f"dtype={self.Wx.value.dtype})")
