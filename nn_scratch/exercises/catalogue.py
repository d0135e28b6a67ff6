"""The catalogue of classic mistakes: one planted-bug function per mistake, in the exercise's own signature.

Each ``Mistake`` holds the buggy function, a short name for it and what to look at.  The grader runs every
mistake of an exercise on the inputs where a learner's function went wrong; when the learner's output equals a
planted bug's output, the report names that mistake.  The same planted functions, wrapped as layers
(``LinearTransposedDW``, ``LinearWrongSignDb``, ``SoftmaxMissingTerm``, ``DropoutForgotMask`` at the bottom),
are the bugs the gradient checker's own tests must catch: the list is built once, here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .adapters import AffineLayer, DropoutLayer, SoftmaxLayer

__all__ = ["Mistake", "CATALOGUE", "mistakes_for", "get_mistake", "LinearTransposedDW", "LinearWrongSignDb",
           "SoftmaxMissingTerm", "DropoutForgotMask"]


@dataclass(frozen=True)
class Mistake:
    """A classic mistake: ``key`` (unique), the ``exercise`` it belongs to, a short ``title``, ``look_at``
    (what to check in your code) and ``function``, the planted bug with the exercise's signature."""
    key: str
    exercise: str
    title: str
    look_at: str
    function: object


CATALOGUE: list = []


def _mistake(exercise, key, title, look_at):
    def register(fn):
        CATALOGUE.append(Mistake(key, exercise, title, look_at, fn))
        return fn
    return register


def mistakes_for(exercise: str) -> list:
    """The catalogued mistakes of one exercise, in catalogue order."""
    return [m for m in CATALOGUE if m.exercise == exercise]


def get_mistake(key: str) -> Mistake:
    for m in CATALOGUE:
        if m.key == key:
            return m
    raise KeyError(f"no catalogued mistake named {key!r}; known: {', '.join(m.key for m in CATALOGUE)}")


def _f(a):
    return np.asarray(a, dtype=np.float64)


def _onehot(y, C):
    out = np.zeros((len(y), C))
    out[np.arange(len(y)), y] = 1.0
    return out


# -- rel_error --------------------------------------------------------------------------------------------
@_mistake("rel_error", "rel_error_one_sided", "divides by |a| only",
          "the denominator must be max(|a|, |b|): symmetric in a and b, and finite when one of them is 0")
def rel_error_one_sided(a, b):
    a, b = _f(a), _f(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.max(np.abs(a - b) / np.abs(a)))


@_mistake("rel_error", "rel_error_no_abs", "no absolute value on the difference",
          "take |a - b|: without it an error where b > a comes out negative and the max misses it")
def rel_error_no_abs(a, b):
    a, b = _f(a), _f(b)
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.max(np.where(scale > 0, (a - b) / np.where(scale > 0, scale, 1), 0.0)))


@_mistake("rel_error", "rel_error_zero_over_zero", "0/0 where both numbers are zero",
          "where a and b are both 0 they agree: the error there is 0, not 0/0 = NaN (guard the division)")
def rel_error_zero_over_zero(a, b):
    a, b = _f(a), _f(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))))


@_mistake("rel_error", "rel_error_mean", "the mean instead of the worst coordinate",
          "return the largest elementwise error: one wrong coordinate among many must not be averaged away")
def rel_error_mean(a, b):
    a, b = _f(a), _f(b)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.mean(np.where(scale > 0, np.abs(a - b) / np.where(scale > 0, scale, 1), 0.0)))


# -- numerical_gradient -------------------------------------------------------------------------------------
@_mistake("numerical_gradient", "forward_difference", "a forward difference (f(x+h) - f(x)) / h",
          "use the centered difference (f(x+h) - f(x-h)) / 2h: its error is O(h^2), the forward one's O(h)")
def forward_difference(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=np.float64)
    fx = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        grad[i] = (f(x) - fx) / h
        x[i] = old
    return grad


@_mistake("numerical_gradient", "divided_by_h", "the centered difference divided by h instead of 2h",
          "x+h and x-h are 2h apart: divide the difference by 2h")
def divided_by_h(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / h
    return grad


@_mistake("numerical_gradient", "x_not_restored", "x left perturbed after each coordinate",
          "put every coordinate back to its old value before moving to the next one (x[i] = old)")
def x_not_restored(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        grad[i] = (fp - fm) / (2 * h)
    return grad


# -- affine_forward -----------------------------------------------------------------------------------------
@_mistake("affine_forward", "affine_forward_no_bias", "the bias b left out",
          "out = x2 @ w + b: add b, broadcast over the N rows")
def affine_forward_no_bias(x, w, b):
    return _f(x).reshape(x.shape[0], -1) @ w


@_mistake("affine_forward", "affine_forward_no_reshape", "x not reshaped to (N, D)",
          "an input of shape (N, d_1, ..., d_k) must be flattened first: x.reshape(x.shape[0], -1)")
def affine_forward_no_reshape(x, w, b):
    return _f(x) @ w + b


# -- affine_backward ----------------------------------------------------------------------------------------
def _affine_parts(dout, x, w):
    x2 = _f(x).reshape(x.shape[0], -1)
    return x2, _f(dout) @ _f(w).T


@_mistake("affine_backward", "transposed_dw", "a transposed dw",
          "dw must have w's shape (D, M): dw = x^T @ dout (input times the gradient of the output), "
          "not dout^T @ x")
def affine_backward_transposed_dw(dout, x, w, b):
    x2, dx = _affine_parts(dout, x, w)
    return dx.reshape(x.shape), (x2.T @ _f(dout)).T, np.sum(dout, axis=0)


@_mistake("affine_backward", "db_wrong_sign", "a wrong sign on db",
          "b enters out with a plus sign, so db = +sum over the rows of dout")
def affine_backward_db_wrong_sign(dout, x, w, b):
    x2, dx = _affine_parts(dout, x, w)
    return dx.reshape(x.shape), x2.T @ _f(dout), -np.sum(dout, axis=0)


@_mistake("affine_backward", "db_averaged", "db averaged over N instead of summed",
          "each of the N rows adds b, so db sums dout over the rows; the 1/N of a mean loss is already in dout")
def affine_backward_db_averaged(dout, x, w, b):
    x2, dx = _affine_parts(dout, x, w)
    return dx.reshape(x.shape), x2.T @ _f(dout), np.mean(dout, axis=0)


@_mistake("affine_backward", "dx_not_reshaped", "dx left flat, (N, D) instead of x's shape",
          "return dx with x's own shape: dx.reshape(x.shape)")
def affine_backward_dx_not_reshaped(dout, x, w, b):
    x2, dx = _affine_parts(dout, x, w)
    return dx, x2.T @ _f(dout), np.sum(dout, axis=0)


# -- relu_backward ------------------------------------------------------------------------------------------
@_mistake("relu_backward", "relu_no_mask", "dout passed through without the mask",
          "ReLU lets the gradient through only where x > 0: dx = dout * (x > 0)")
def relu_backward_no_mask(dout, x):
    return _f(dout).copy()


@_mistake("relu_backward", "relu_times_x", "dout multiplied by relu(x) instead of by the 0/1 mask",
          "the derivative of max(0, x) is 1 where x > 0 and 0 elsewhere, not the forward output max(0, x)")
def relu_backward_times_x(dout, x):
    return _f(dout) * np.maximum(_f(x), 0)


@_mistake("relu_backward", "relu_mask_inverted", "the mask inverted (x < 0 instead of x > 0)",
          "the gradient flows where the unit was active, x > 0")
def relu_backward_mask_inverted(dout, x):
    return _f(dout) * (_f(x) <= 0)


# -- softmax: the layer's backward and the loss -------------------------------------------------------------
def softmax_backward_missing_term(dprobs, probs):
    """Softmax backward without the ``- sum_k dout_k p_k`` term of the Jacobian ``p_i (delta_ij - p_j)``."""
    return probs * dprobs


def _softmax_probs(scores):
    shifted = _f(scores) - np.max(scores, axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


@_mistake("softmax_loss", "softmax_jacobian_term_dropped", "the softmax Jacobian's off-diagonal term dropped",
          "d p_i / d s_j = p_i (delta_ij - p_j): keeping both terms gives dscores = (p - onehot(y)) / N; "
          "dropping the -p_i p_j term leaves only -onehot(y) / N")
def softmax_loss_jacobian_term_dropped(scores, y):
    p = _softmax_probs(scores)
    N = p.shape[0]
    loss = -np.mean(np.log(p[np.arange(N), y]))
    dprobs = np.zeros_like(p)
    dprobs[np.arange(N), y] = -1.0 / (N * p[np.arange(N), y])      # d(-mean log p_y) / dp
    return loss, softmax_backward_missing_term(dprobs, p)


@_mistake("softmax_loss", "softmax_missing_1_over_n", "a missing 1/N (summed over the batch, not averaged)",
          "the loss is the mean over the N samples, so both the loss and dscores carry a 1/N")
def softmax_loss_missing_1_over_n(scores, y):
    p = _softmax_probs(scores)
    N = p.shape[0]
    return -np.sum(np.log(p[np.arange(N), y])), p - _onehot(y, p.shape[1])


@_mistake("softmax_loss", "softmax_wrong_sign", "a wrong sign on dscores",
          "raising the correct class's score lowers the loss: dscores = (p - onehot(y)) / N, negative at y")
def softmax_loss_wrong_sign(scores, y):
    p = _softmax_probs(scores)
    N = p.shape[0]
    return -np.mean(np.log(p[np.arange(N), y])), (_onehot(y, p.shape[1]) - p) / N


@_mistake("softmax_loss", "softmax_no_max_shift", "exp of the raw scores overflows",
          "subtract each row's maximum score before np.exp: softmax does not change, and exp never overflows")
def softmax_loss_no_max_shift(scores, y):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(_f(scores))
        p = e / e.sum(axis=1, keepdims=True)
        N = p.shape[0]
        return -np.mean(np.log(p[np.arange(N), y])), (p - _onehot(y, p.shape[1])) / N


# -- svm_loss -----------------------------------------------------------------------------------------------
def _margins(scores, y):
    s = _f(scores)
    N = s.shape[0]
    return s - s[np.arange(N), y][:, None] + 1.0, N


@_mistake("svm_loss", "hinge_counted_for_correct_class", "the hinge counted for the correct class",
          "skip j = y_i: its margin s_y - s_y + 1 is always 1, which adds exactly 1 to every sample's loss")
def svm_loss_hinge_for_correct_class(scores, y):
    m, N = _margins(scores, y)
    pos = (m > 0).astype(float)
    d = pos.copy()
    d[np.arange(N), y] = -pos.sum(axis=1)
    return np.sum(np.maximum(m, 0)) / N, d / N


@_mistake("svm_loss", "svm_missing_1_over_n", "a missing 1/N (summed over the batch, not averaged)",
          "the loss is the mean over the N samples, so both the loss and dscores carry a 1/N")
def svm_loss_missing_1_over_n(scores, y):
    m, N = _margins(scores, y)
    m[np.arange(N), y] = 0
    pos = (m > 0).astype(float)
    pos[np.arange(N), y] = -pos.sum(axis=1)
    return np.sum(np.maximum(m, 0)), pos


@_mistake("svm_loss", "svm_correct_class_gradient_missing", "no gradient for the correct class's score",
          "every positive margin s_j - s_y + 1 also depends on s_y: dscores[i, y_i] = -(number of positive "
          "margins) / N")
def svm_loss_correct_class_gradient_missing(scores, y):
    m, N = _margins(scores, y)
    m[np.arange(N), y] = 0
    pos = (m > 0).astype(float)
    return np.sum(np.maximum(m, 0)) / N, pos / N


@_mistake("svm_loss", "svm_wrong_sign", "a wrong sign on dscores",
          "a positive margin grows with s_j (gradient +1/N) and shrinks with s_y (gradient -1/N per margin)")
def svm_loss_wrong_sign(scores, y):
    m, N = _margins(scores, y)
    m[np.arange(N), y] = 0
    pos = (m > 0).astype(float)
    pos[np.arange(N), y] = -pos.sum(axis=1)
    return np.sum(np.maximum(m, 0)) / N, -pos / N


# -- dropout ------------------------------------------------------------------------------------------------
@_mistake("dropout_forward", "dropout_not_rescaled", "the mask not rescaled by 1/(1 - drop_prob)",
          "inverted dropout scales the kept units by 1/(1 - drop_prob) at training time, so the expected "
          "output equals x and evaluation needs no change")
def dropout_forward_not_rescaled(x, drop_prob, rng):
    mask = (rng.random(np.shape(x)) >= drop_prob).astype(np.float64)
    return _f(x) * mask, mask


@_mistake("dropout_forward", "dropout_keep_and_drop_swapped", "drop_prob used as the keep probability",
          "drop_prob is the probability of *dropping* a unit: keep it with probability 1 - drop_prob")
def dropout_forward_keep_and_drop_swapped(x, drop_prob, rng):
    mask = (rng.random(np.shape(x)) < drop_prob) / drop_prob
    return _f(x) * mask, mask


@_mistake("dropout_forward", "dropout_mask_returned_unscaled", "the mask returned without its 1/(1 - drop_prob)",
          "return the mask out was multiplied by (scale included), so out == x * mask and backward is "
          "dout * mask")
def dropout_forward_mask_returned_unscaled(x, drop_prob, rng):
    keep = rng.random(np.shape(x)) >= drop_prob
    return _f(x) * keep / (1 - drop_prob), keep.astype(np.float64)


@_mistake("dropout_backward", "dropout_backward_no_mask", "the mask forgotten in backward",
          "a dropped unit passed nothing forward, so it gets no gradient: dx = dout * mask")
def dropout_backward_no_mask(dout, mask):
    return _f(dout).copy()


@_mistake("dropout_backward", "dropout_backward_rescaled_twice", "the 1/(1 - drop_prob) scale applied twice",
          "the mask already carries the scale: dx = dout * mask, nothing more")
def dropout_backward_rescaled_twice(dout, mask):
    mask = _f(mask)
    return _f(dout) * mask * np.max(mask)


# -- sgd_momentum -------------------------------------------------------------------------------------------
@_mistake("sgd_momentum", "momentum_lr_in_wrong_place", "momentum's learning rate in the wrong place",
          "in the notes' form the learning rate scales the gradient inside the velocity: v = mu * v - lr * dw, "
          "then w = w + v (v already carries lr)")
def sgd_momentum_lr_in_wrong_place(w, dw, v, lr, mu):
    v = mu * _f(v) - _f(dw)
    return _f(w) + lr * v, v


@_mistake("sgd_momentum", "momentum_wrong_sign", "a wrong sign: the velocity climbs the gradient",
          "descend: v = mu * v - lr * dw")
def sgd_momentum_wrong_sign(w, dw, v, lr, mu):
    v = mu * _f(v) + lr * _f(dw)
    return _f(w) + v, v


@_mistake("sgd_momentum", "momentum_stale_velocity", "w moved with the old velocity",
          "update the velocity first, then move w by the new one")
def sgd_momentum_stale_velocity(w, dw, v, lr, mu):
    w_new = _f(w) + _f(v)
    return w_new, mu * _f(v) - lr * _f(dw)


# -- adam ---------------------------------------------------------------------------------------------------
def _adam_moments(dw, m, v, beta1, beta2):
    g = _f(dw)
    return beta1 * _f(m) + (1 - beta1) * g, beta2 * _f(v) + (1 - beta2) * g * g


@_mistake("adam", "adam_no_bias_correction", "Adam without bias correction",
          "m and v start at 0 and are biased towards 0 early on: divide by (1 - beta1^t) and (1 - beta2^t)")
def adam_no_bias_correction(w, dw, m, v, t, lr, beta1, beta2, eps):
    m, v = _adam_moments(dw, m, v, beta1, beta2)
    return _f(w) - lr * m / (np.sqrt(v) + eps), m, v


@_mistake("adam", "adam_eps_inside_sqrt", "eps inside the square root",
          "add eps after the root: sqrt(v_hat) + eps; inside it, sqrt(v_hat + eps) shrinks the steps of every "
          "coordinate whose gradient is below about sqrt(eps)")
def adam_eps_inside_sqrt(w, dw, m, v, t, lr, beta1, beta2, eps):
    m, v = _adam_moments(dw, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return _f(w) - lr * m_hat / np.sqrt(v_hat + eps), m, v


@_mistake("adam", "adam_t_off_by_one", "the bias correction with t + 1 (t counted from 0)",
          "t is the number of this step and starts at 1: on the first step 1 - beta1^1 undoes m's (1 - beta1)")
def adam_t_off_by_one(w, dw, m, v, t, lr, beta1, beta2, eps):
    m, v = _adam_moments(dw, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1 ** (t + 1)), v / (1 - beta2 ** (t + 1))
    return _f(w) - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@_mistake("adam", "adam_stores_corrected_moments", "the bias-corrected moments returned as the new m and v",
          "keep the raw running averages in m and v; the corrected m_hat, v_hat are only for this step")
def adam_stores_corrected_moments(w, dw, m, v, t, lr, beta1, beta2, eps):
    m, v = _adam_moments(dw, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return _f(w) - lr * m_hat / (np.sqrt(v_hat) + eps), m_hat, v_hat


# -- batchnorm_backward -------------------------------------------------------------------------------------
def _bn(dout, x, gamma, eps):
    x, dout = _f(x), _f(dout)
    mu, var = x.mean(axis=0), x.var(axis=0)
    inv = 1 / np.sqrt(var + eps)
    xhat = (x - mu) * inv
    return x, dout, inv, xhat


@_mistake("batchnorm_backward", "bn_mean_and_var_as_constants", "the batch mean and variance treated as constants",
          "in training mode mean and var are computed from the batch, so every x_i moves them: dx has two more "
          "terms, dx = gamma * inv_std * (dout - mean(dout) - xhat * mean(dout * xhat))")
def batchnorm_backward_mean_and_var_as_constants(dout, x, gamma, eps):
    x, dout, inv, xhat = _bn(dout, x, gamma, eps)
    return dout * gamma * inv, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)


@_mistake("batchnorm_backward", "bn_variance_path_dropped", "the path through the variance dropped",
          "the variance depends on x too: dx = gamma * inv_std * (dout - mean(dout) - xhat * mean(dout * xhat))")
def batchnorm_backward_variance_path_dropped(dout, x, gamma, eps):
    x, dout, inv, xhat = _bn(dout, x, gamma, eps)
    return gamma * inv * (dout - dout.mean(axis=0)), np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)


@_mistake("batchnorm_backward", "bn_dgamma_without_xhat", "dgamma = sum(dout), without xhat",
          "y = gamma * xhat + beta, so dgamma = sum over the batch of dout * xhat (dbeta is the plain sum)")
def batchnorm_backward_dgamma_without_xhat(dout, x, gamma, eps):
    x, dout, inv, xhat = _bn(dout, x, gamma, eps)
    dx = gamma * inv * (dout - dout.mean(axis=0) - xhat * np.mean(dout * xhat, axis=0))
    return dx, np.sum(dout, axis=0), np.sum(dout, axis=0)


# -- conv_forward_naive -------------------------------------------------------------------------------------
def _conv(x, w, b, stride, pad, flip=False, bias=True, use_pad=True):
    x, w = _f(x), _f(w)
    if flip:
        w = w[:, :, ::-1, ::-1]
    p = pad if use_pad else 0
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    N, C, H, W = xp.shape
    F, _, HH, WW = w.shape
    Ho, Wo = (H - HH) // stride + 1, (W - WW) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
    return out + (_f(b)[None, :, None, None] if bias else 0)


@_mistake("conv_forward_naive", "conv_kernel_flipped", "the kernel flipped (a true convolution)",
          "deep-learning 'convolution' is cross-correlation: out[i, j] = sum x[i*s + a, j*s + c] * w[a, c], "
          "with no flip of w")
def conv_forward_kernel_flipped(x, w, b, stride, pad):
    return _conv(x, w, b, stride, pad, flip=True)


@_mistake("conv_forward_naive", "conv_no_bias", "the bias b left out",
          "add b[f] to every output pixel of filter f")
def conv_forward_no_bias(x, w, b, stride, pad):
    return _conv(x, w, b, stride, pad, bias=False)


@_mistake("conv_forward_naive", "conv_padding_ignored", "the zero padding left out",
          "pad the input with `pad` zeros on every side of H and W first (np.pad), then slide the window: "
          "Ho = (H + 2 pad - HH) // stride + 1")
def conv_forward_padding_ignored(x, w, b, stride, pad):
    return _conv(x, w, b, stride, pad, use_pad=False)


# -- lstm_step_backward -------------------------------------------------------------------------------------
def _lstm_back(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b, variant):
    H = Wh.shape[0]
    a = _f(x) @ Wx + _f(prev_h) @ Wh + b
    sig = [1 / (1 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(4)]
    if variant == "pytorch_order":                         # i, f, g, o: the third block taken as the candidate
        i, f, o, g = sig[0], sig[1], sig[3], np.tanh(a[:, 2 * H:3 * H])
    else:
        i, f, o, g = sig[0], sig[1], sig[2], np.tanh(a[:, 3 * H:])
    c = f * prev_c + i * g
    tc = np.tanh(c)
    if variant == "dc_missing_h_path":
        dc = _f(dnext_c).copy()
    elif variant == "tanh_derivative_on_c":
        dc = dnext_c + dnext_h * o * (1 - c * c)
    else:
        dc = dnext_c + dnext_h * o * (1 - tc * tc)
    blocks = [dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tc * o * (1 - o), dc * i * (1 - g * g)]
    if variant == "pytorch_order":
        blocks = [blocks[0], blocks[1], blocks[3], blocks[2]]
    da = np.concatenate(blocks, axis=1)
    dprev_c = dc if variant == "dprev_c_without_f" else dc * f
    return da @ Wx.T, da @ Wh.T, dprev_c, _f(x).T @ da, _f(prev_h).T @ da, da.sum(axis=0)


@_mistake("lstm_step_backward", "lstm_dc_missing_h_path", "the cell's gradient taken from dnext_c alone",
          "next_h = o * tanh(next_c) also depends on the cell: dc = dnext_c + dnext_h * o * (1 - tanh(c)^2)")
def lstm_step_backward_dc_missing_h_path(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b):
    return _lstm_back(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b, "dc_missing_h_path")


@_mistake("lstm_step_backward", "lstm_dprev_c_without_f", "dprev_c without the forget gate",
          "next_c = f * prev_c + i * g, so dprev_c = dc * f: the forget gate scales what flows back in time")
def lstm_step_backward_dprev_c_without_f(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b):
    return _lstm_back(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b, "dprev_c_without_f")


@_mistake("lstm_step_backward", "lstm_tanh_derivative_on_c", "tanh's derivative taken as 1 - c^2",
          "the derivative of tanh(c) is 1 - tanh(c)^2: square the tanh of the cell, not the cell")
def lstm_step_backward_tanh_derivative_on_c(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b):
    return _lstm_back(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b, "tanh_derivative_on_c")


@_mistake("lstm_step_backward", "lstm_pytorch_gate_order", "the gates in PyTorch's order i, f, g, o",
          "this contract (CS231n's and nn_scratch's) stacks the blocks of a as i, f, o, g: the three sigmoids "
          "first, the tanh candidate last")
def lstm_step_backward_pytorch_gate_order(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b):
    return _lstm_back(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b, "pytorch_order")


# -- the planted bugs as layers, for the gradient checker's tests -------------------------------------------
class LinearTransposedDW(AffineLayer):
    """A Linear whose dW comes out transposed (dy^T x instead of x^T dy); it only fits a square layer."""
    backward_fn = staticmethod(affine_backward_transposed_dw)


class LinearWrongSignDb(AffineLayer):
    """A Linear whose db has the wrong sign."""
    backward_fn = staticmethod(affine_backward_db_wrong_sign)


class SoftmaxMissingTerm(SoftmaxLayer):
    """A Softmax whose backward forgets the ``- sum_k dy_k y_k`` term of the Jacobian."""
    backward_fn = staticmethod(softmax_backward_missing_term)


class DropoutForgotMask(DropoutLayer):
    """A Dropout whose backward forgets the mask."""
    backward_fn = staticmethod(dropout_backward_no_mask)
