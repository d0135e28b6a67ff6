"""Update rules: SGD (momentum, Nesterov), Adagrad, RMSprop, Adam, and full-batch L-BFGS.

An optimizer holds a list of ``Parameter`` objects and, on ``step()``, changes each ``p.value`` **in place**
from ``p.grad``.  Inside, it is a short chain of small transformations (the optax idea), each turning the
list of gradients into a list of updates::

    clip by global norm -> add weight decay -> (Adam / RMSprop / Adagrad scaling) -> learning rate
                                            -> (momentum, which in the notes' form comes after the rate)

Conventions, the same in every rule:

* ``t`` counts the steps taken.  Step number t (t = 0 for the first) reads every scheduled
  hyperparameter at t: ``lr(t)``, ``momentum(t)``.  ``current_lr`` is therefore the rate the *next* step
  will use.  A hyperparameter that the notes schedule (learning rate, momentum) may be a number or any
  callable of the step count, e.g. a function from ``nn_scratch.schedules``.
* Updates are computed in the parameter's dtype: a float32 parameter stays float32.
* ``weight_decay`` is the coupled L2 form, ``g <- g + weight_decay * x``, applied only to parameters with
  ``regularize=True`` (weights, not biases) -- the same set that ``losses.L2`` penalizes.
* ``clip_norm``: if the global norm ``sqrt(sum_p ||g_p||^2)`` exceeds it, all gradients are scaled by
  ``clip_norm / norm``.  The norm before clipping is kept in ``last_grad_norm`` (always, clipping or not).
* ``state_dict()`` is a flat dict of numpy arrays and scalars (``np.savez`` can store it);
  ``load_state_dict`` copies it back so a resumed run continues bit-exactly.

Example::

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_value = ...; model.backward(dscores)     # sets the grads
    opt.step()                                    # v <- 0.9 v - 0.1 g;  x <- x + v
"""
from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass

import numpy as np

from .layers.base import Parameter, skip_input_grad

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "lbfgs", "LBFGSResult",
           "ClipByGlobalNorm", "AddWeightDecay", "ScaleByLearningRate", "Momentum",
           "ScaleByAdagrad", "ScaleByRMS", "ScaleByAdam"]


# -- helpers -------------------------------------------------------------------------------------------
def _at(h, t):
    """Value of hyperparameter ``h`` at step ``t``: ``h(t)`` if it is a schedule, else ``h``."""
    return h(t) if callable(h) else h


def _scheduled(name, h, t, low=0.0, high=None):
    """``h(t)`` for a schedule, checked at every use (a constant was checked at construction): a rate that
    a schedule drives negative, NaN or (for momentum) to 1 or more would make the step climb the loss."""
    if not callable(h):
        return h
    v = h(t)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"the schedule of '{name}' must return a number, got {type(v).__name__} {v!r} at step {t}")
    if not np.isfinite(v) or v < low or (high is not None and v >= high):
        where = f"in [{low:g}, {high:g})" if high is not None else f">= {low:g}"
        why = ("NaN/inf would reach every weight" if not np.isfinite(v) else
               "a negative momentum flips the velocity's sign every step" if v < low and name == "momentum" else
               f"a negative {name} steps uphill" if v < low else "a momentum >= 1 lets the velocity grow without bound")
        raise ValueError(f"the schedule of '{name}' ({getattr(h, '__name__', type(h).__name__)}) gave {float(v):.6g} "
                         f"at step {t}; '{name}' must be finite and {where} ({why}); fix the schedule")
    return v


_SCHEDULABLE = (("lr", None), ("momentum", 1.0), ("weight_decay", None))


def _check_hyper(who, name, value, low=None, high=None, low_open=False, high_open=False, schedulable=True):
    """A number within [low, high] (open ends as asked), or a callable when ``schedulable``."""
    if schedulable and callable(value):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        kind = "a number or a schedule (a callable of the step)" if schedulable else "a number"
        raise TypeError(f"{who}: '{name}' must be {kind}, got {type(value).__name__} {value!r}")
    value = float(value)
    bad = (not np.isfinite(value)
           or (low is not None and (value <= low if low_open else value < low))
           or (high is not None and (value >= high if high_open else value > high)))
    if bad:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low}"
        hi = "" if high is None else f"{high}" + (")" if high_open else "]")
        raise ValueError(f"{who}: '{name}' must be in {lo or '(-inf'}, {hi or 'inf)'}, got {value!r}")
    return value


def _check_params(who, params):
    if hasattr(params, "parameters") and hasattr(params, "forward"):
        raise TypeError(f"{who}: 'params' must be a list of Parameters; pass model.parameters(), not the model "
                        f"({type(params).__name__})")
    if isinstance(params, Parameter):
        raise TypeError(f"{who}: 'params' must be a list of Parameters (e.g. model.parameters()), "
                        "got a single Parameter; wrap it in a list")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{who}: 'params' must be a list of Parameters, got {type(params).__name__}") from None
    if not params:
        raise ValueError(f"{who}: 'params' is empty; the model has no trainable parameters")
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(f"{who}: 'params[{i}]' must be a Parameter, got {type(p).__name__}")
    if len({id(p) for p in params}) != len(params):
        raise ValueError(f"{who}: 'params' lists the same Parameter twice; it would be updated twice per step")
    return params


def _check_eps_fits(who, eps, params):
    """eps must survive in the parameters' dtype: 1e-8 is 0 in float16, and g / (sqrt(cache) + 0) is 0/0."""
    for i, p in enumerate(params):
        if p.value.dtype.type(eps) == 0:
            raise ValueError(f"{who}: eps={eps!r} rounds to 0 in {p.value.dtype} (params[{i}]), so a zero gradient "
                             f"would give 0/0; use float32 parameters (float16 is not supported for training)")


# -- the small steps of a chain ----------------------------------------------------------------------------
class Transform:
    """One link of an update chain: ``__call__(updates, params, t) -> updates`` (lists, one per parameter).

    Per-parameter state lives in ``self.state`` (a list of dicts of arrays); ``slots`` names the arrays,
    created as zeros of the parameter's shape and dtype by ``init``.  A link never writes into the
    incoming arrays (the first one would be ``p.grad``).
    """

    slots: tuple = ()
    key = "transform"

    def init(self, params):
        self.state = [{k: np.zeros_like(p.value) for k in self.slots} for p in params]

    def __call__(self, updates, params, t):
        raise NotImplementedError


def global_norm(arrays) -> float:
    """``sqrt(sum_p ||a_p||^2)`` over all arrays together; one BLAS dot product per array, no temporaries."""
    return float(np.sqrt(sum(float(np.vdot(a, a)) for a in arrays)))


class ClipByGlobalNorm(Transform):
    """``g <- g * min(1, max_norm / ||g||)`` with ``||g||`` the norm over *all* parameters together."""

    key = "clip"

    def __init__(self, max_norm):
        self.max_norm = _check_hyper("ClipByGlobalNorm", "max_norm", max_norm, low=0, low_open=True,
                                     schedulable=False)

    def __call__(self, updates, params, t):
        norm = global_norm(updates)          # the optimizer keeps it as last_grad_norm
        if norm <= self.max_norm:
            return updates
        return [u * u.dtype.type(self.max_norm / norm) for u in updates]


class AddWeightDecay(Transform):
    """Coupled L2: ``g <- g + wd * x`` for parameters with ``regularize=True``."""

    key = "weight_decay"

    def __init__(self, weight_decay):
        self.weight_decay = weight_decay

    def __call__(self, updates, params, t):
        wd = _at(self.weight_decay, t)
        return [u + u.dtype.type(wd) * p.value if p.regularize else u for u, p in zip(updates, params)]


class ScaleByLearningRate(Transform):
    """``u <- -lr(t) * u``: the descent direction, scaled by the (possibly scheduled) learning rate."""

    key = "lr"

    def __init__(self, lr):
        self.lr = lr

    def __call__(self, updates, params, t):
        lr = _at(self.lr, t)
        return [u * u.dtype.type(-lr) for u in updates]


class Momentum(Transform):
    """The notes' momentum on an update ``u = -lr * g`` that already carries the learning rate.

    Classic:   ``v <- mu v + u``;  step ``v``                      (i.e. ``v = mu v - lr g; x += v``)
    Nesterov:  ``v_prev = v; v <- mu v + u``;  step ``-mu v_prev + (1 + mu) v``   (x stored "looked ahead")
    """

    slots = ("velocity",)
    key = "momentum"

    def __init__(self, momentum, nesterov=False):
        self.momentum, self.nesterov = momentum, bool(nesterov)

    def __call__(self, updates, params, t):
        out = []
        for u, s in zip(updates, self.state):
            mu = u.dtype.type(_at(self.momentum, t))
            v = s["velocity"]
            if self.nesterov:
                v_prev = v.copy()
                v *= mu
                v += u
                out.append((1 + mu) * v - mu * v_prev)
            else:
                v *= mu
                v += u
                out.append(v.copy())
        return out


class ScaleByAdagrad(Transform):
    """Adagrad: ``cache += g^2;  u = g / (sqrt(cache) + eps)`` (the rate is applied after)."""

    slots = ("cache",)
    key = "adagrad"

    def __init__(self, eps):
        self.eps = eps

    def __call__(self, updates, params, t):
        out = []
        for g, s in zip(updates, self.state):
            s["cache"] += g * g
            out.append(g / (np.sqrt(s["cache"]) + g.dtype.type(self.eps)))
        return out


class ScaleByRMS(Transform):
    """RMSprop: ``cache = decay cache + (1 - decay) g^2;  u = g / (sqrt(cache) + eps)``."""

    slots = ("cache",)
    key = "rmsprop"

    def __init__(self, decay, eps):
        self.decay, self.eps = decay, eps

    def __call__(self, updates, params, t):
        out = []
        for g, s in zip(updates, self.state):
            d = g.dtype.type(self.decay)
            c = s["cache"]
            c *= d
            c += (1 - d) * g * g
            out.append(g / (np.sqrt(c) + g.dtype.type(self.eps)))
        return out


class ScaleByAdam(Transform):
    """Adam with bias correction; at step number t (0-based) the correction uses k = t + 1::

        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
        m_hat = m / (1 - b1^k);  v_hat = v / (1 - b2^k);   u = m_hat / (sqrt(v_hat) + eps)
    """

    slots = ("m", "v")
    key = "adam"

    def __init__(self, beta1, beta2, eps):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def __call__(self, updates, params, t):
        k = t + 1
        c1, c2 = 1.0 - self.beta1 ** k, 1.0 - self.beta2 ** k   # float64 scalars, cast below
        out = []
        for g, s in zip(updates, self.state):
            f = g.dtype.type
            b1, b2 = f(self.beta1), f(self.beta2)
            m, v = s["m"], s["v"]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            out.append((m / f(c1)) / (np.sqrt(v / f(c2)) + f(self.eps)))
        return out


# -- the optimizer ---------------------------------------------------------------------------------------
class Optimizer:
    """Apply a chain of ``Transform`` links to the gradients of ``params`` and add the result in place.

    Attributes: ``params`` (list of Parameter), ``t`` (steps taken), ``current_lr`` (rate of the next step),
    ``lr`` (the number or schedule; assignable), ``last_grad_norm`` (global gradient norm before clipping,
    measured at the last step), ``last_updates`` (the arrays the last step added to the parameters, one per
    parameter, or None before the first step).
    """

    def __init__(self, params, chain, lr):
        who = type(self).__name__
        self.params = _check_params(who, params)
        self.chain = [link for link in chain if link is not None]
        self._lr_link = next(link for link in self.chain if isinstance(link, ScaleByLearningRate))
        self.lr = lr
        self.t = 0
        self.last_grad_norm = float("nan")
        self.last_updates = None
        for link in self.chain:
            link.init(self.params)

    # the learning rate lives in its link; exposing it here lets a user or callback change it
    @property
    def lr(self):
        return self._lr_link.lr

    @lr.setter
    def lr(self, value):
        self._lr_link.lr = _check_hyper(type(self).__name__, "lr", value, low=0)

    @property
    def clip_norm(self):
        """The ``max_norm`` of the chain's ``ClipByGlobalNorm`` link, or None without clipping."""
        link = next((k for k in self.chain if isinstance(k, ClipByGlobalNorm)), None)
        return None if link is None else link.max_norm

    @property
    def current_lr(self) -> float:
        """The learning rate the next ``step()`` will use (schedules read at ``t``)."""
        return float(_at(self.lr, self.t))

    def step(self, grad_norm=None) -> None:
        """Update every ``p.value`` in place from ``p.grad``; then ``t += 1``.

        A scheduled hyperparameter is checked first, so a schedule gone negative (or a momentum >= 1) stops
        the step with a ValueError before any weight or optimizer state changes.  ``grad_norm``: the global
        norm of the current gradients when the caller has measured it already (the Trainer does, for its
        NaN guard), so that it is not computed twice; None measures it here."""
        for link in self.chain:
            for name, high in _SCHEDULABLE:
                h = getattr(link, name, None)
                if callable(h):
                    _scheduled(name, h, self.t, high=high)
        updates = [p.grad for p in self.params]
        self.last_grad_norm = global_norm(updates) if grad_norm is None else float(grad_norm)
        for link in self.chain:
            updates = link(updates, self.params, self.t)
        for p, u in zip(self.params, updates):
            p.value += u
        self.last_updates = updates          # what was added (the update/weight ratio monitor reads its norm)
        self.t += 1

    def zero_grad(self) -> None:
        """Set every gradient to zero (layers overwrite grads anyway; handy for hand-made parameters)."""
        for p in self.params:
            p.grad[...] = 0

    # -- state ------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Flat ``{name: array or scalar}``: ``t``, each link's per-parameter slots as
        ``"<link>.<slot>.<i>"``, and the state of a stateful learning-rate schedule (``ReduceOnPlateau``)
        under ``"lr.<name>"``."""
        state = {"t": np.int64(self.t)}
        for link in self.chain:
            for i, s in enumerate(link.state):
                for name, arr in s.items():
                    state[f"{link.key}.{name}.{i}"] = arr.copy()
        if hasattr(self.lr, "state_dict"):
            state.update({f"lr.{k}": v for k, v in self.lr.state_dict().items()})
        return state

    def load_state_dict(self, state: dict) -> None:
        """Copy a ``state_dict()`` back (into the existing arrays); keys and shapes must match."""
        who = type(self).__name__
        expected = self.state_dict()
        missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        if missing or unexpected:
            raise ValueError(f"{who}.load_state_dict: keys do not match this optimizer; missing {missing}, "
                             f"unexpected {unexpected}")
        for key, arr in expected.items():
            if np.shape(state[key]) != np.shape(arr):
                raise ValueError(f"{who}.load_state_dict: '{key}' expected shape {np.shape(arr)}, "
                                 f"got {np.shape(state[key])}")
        self.t = int(state["t"])
        for link in self.chain:
            for i, s in enumerate(link.state):
                for name, arr in s.items():
                    arr[...] = state[f"{link.key}.{name}.{i}"]
        if hasattr(self.lr, "load_state_dict"):
            self.lr.load_state_dict({k[3:]: v for k, v in state.items() if k.startswith("lr.")})

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr!r}, t={self.t}, {len(self.params)} parameters)"


def _clip_and_decay(who, weight_decay, clip_norm):
    weight_decay = _check_hyper(who, "weight_decay", weight_decay, low=0)
    if clip_norm is not None:
        clip_norm = _check_hyper(who, "clip_norm", clip_norm, low=0, low_open=True, schedulable=False)
    clip = None if clip_norm is None else ClipByGlobalNorm(clip_norm)
    decay = AddWeightDecay(weight_decay) if callable(weight_decay) or weight_decay != 0 else None
    return clip, decay


class SGD(Optimizer):
    """Stochastic gradient descent, plain or with (Nesterov) momentum, in the lecture notes' form.

    * plain (``momentum=0``):  ``x += -lr * g``
    * momentum:                ``v = mu * v - lr * g;   x += v``
    * ``nesterov=True``:       ``v_prev = v;  v = mu * v - lr * g;   x += -mu * v_prev + (1 + mu) * v``

    The learning rate sits *inside* the velocity (as in the notes).  PyTorch instead keeps
    ``b = mu * b + g`` and steps ``-lr * b``; both agree while lr is constant, but when lr changes the
    notes' velocity still carries the old rates (a rate cut slows the ball gradually), whereas PyTorch's
    rescales the whole velocity at once.  ``lr`` and ``momentum`` may be schedules (e.g. momentum 0.5 -> 0.99).
    ``g`` includes ``weight_decay * x`` and is clipped first if ``clip_norm`` is set.
    """

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0, clip_norm=None):
        who = "SGD"
        momentum = _check_hyper(who, "momentum", momentum, low=0, high=1, high_open=True)
        if nesterov and not callable(momentum) and momentum == 0:
            raise ValueError("SGD: 'nesterov=True' needs a momentum > 0, got momentum=0")
        clip, decay = _clip_and_decay(who, weight_decay, clip_norm)
        lr_link = ScaleByLearningRate(None)
        mom = Momentum(momentum, nesterov) if callable(momentum) or momentum != 0 else None
        super().__init__(params, [clip, decay, lr_link, mom], lr)
        self.momentum, self.nesterov = momentum, bool(nesterov)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.): ``cache += g^2;   x += -lr * g / (sqrt(cache) + eps)``.

    Each coordinate's effective rate shrinks with the sum of its squared gradients, so it only decreases.
    """

    def __init__(self, params, lr, eps=1e-8, weight_decay=0.0, clip_norm=None):
        who = "Adagrad"
        eps = _check_hyper(who, "eps", eps, low=0, low_open=True, schedulable=False)
        clip, decay = _clip_and_decay(who, weight_decay, clip_norm)
        super().__init__(params, [clip, decay, ScaleByAdagrad(eps), ScaleByLearningRate(None)], lr)
        _check_eps_fits(who, eps, self.params)
        self.eps = eps


class RMSprop(Optimizer):
    """RMSprop: ``cache = decay * cache + (1 - decay) * g^2;   x += -lr * g / (sqrt(cache) + eps)``.

    Adagrad with a leaky cache, so the effective rate can grow again.  No bias correction (as in the notes):
    with decay 0.99 the first step moves each coordinate by about ``lr / sqrt(0.01) = 10 lr``.
    """

    def __init__(self, params, lr, decay=0.99, eps=1e-8, weight_decay=0.0, clip_norm=None):
        who = "RMSprop"
        decay_ = _check_hyper(who, "decay", decay, low=0, high=1, high_open=True, schedulable=False)
        eps = _check_hyper(who, "eps", eps, low=0, low_open=True, schedulable=False)
        clip, wd = _clip_and_decay(who, weight_decay, clip_norm)
        super().__init__(params, [clip, wd, ScaleByRMS(decay_, eps), ScaleByLearningRate(None)], lr)
        _check_eps_fits(who, eps, self.params)
        self.decay, self.eps = decay_, eps


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; k = number of this step (1 for the first)::

        m = beta1 * m + (1 - beta1) * g          v = beta2 * v + (1 - beta2) * g^2
        x += -lr * (m / (1 - beta1^k)) / (sqrt(v / (1 - beta2^k)) + eps)

    eps is added *after* the square root.  On the first step m_hat = g and v_hat = g^2, so every coordinate
    with |g| >> eps moves by almost exactly ``lr``.  ``weight_decay`` is coupled L2 (added to g), not AdamW.
    """

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, clip_norm=None):
        who = "Adam"
        beta1 = _check_hyper(who, "beta1", beta1, low=0, high=1, high_open=True, schedulable=False)
        beta2 = _check_hyper(who, "beta2", beta2, low=0, high=1, high_open=True, schedulable=False)
        eps = _check_hyper(who, "eps", eps, low=0, low_open=True, schedulable=False)
        clip, wd = _clip_and_decay(who, weight_decay, clip_norm)
        super().__init__(params, [clip, wd, ScaleByAdam(beta1, beta2, eps), ScaleByLearningRate(None)], lr)
        _check_eps_fits(who, eps, self.params)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps


# -- L-BFGS (full batch, through scipy) -----------------------------------------------------------------
@dataclass
class LBFGSResult:
    """What ``lbfgs`` found: final objective, iterations, function evaluations, whether scipy converged,
    its message, and the final gradient's max-abs value."""
    loss: float
    iterations: int
    evaluations: int
    converged: bool
    message: str
    grad_max: float


def lbfgs(model, loss, X, y, reg=None, maxiter: int = 500, tol: float = 1e-10) -> LBFGSResult:
    """Minimize ``loss.reduce(loss.forward(model.forward(X), y)) + reg.penalty`` over the *whole* batch with
    ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)``.

    The parameters are flattened into one float64 vector; objective and gradient come from the model's own
    ``forward``/``backward`` and the loss, evaluated on a float64 copy of the model (so a float32 model
    still gets an accurate optimum).  The result is written back into the original parameters in place
    (cast to their dtype).  ``reg`` is an ``L2`` object, a number (taken as ``L2(reg)``) or None.
    The objective must be deterministic: switch dropout off (``Dropout(0)``) for a full-batch fit.

    Returns an ``LBFGSResult``.
    """
    from scipy.optimize import minimize

    from .losses import L2

    if not hasattr(model, "parameters") or not hasattr(model, "backward"):
        raise TypeError(f"lbfgs: 'model' must be a Layer, got {type(model).__name__}")
    if not hasattr(loss, "forward") or not hasattr(loss, "backward"):
        raise TypeError(f"lbfgs: 'loss' must be a Loss, got {type(loss).__name__}")
    if isinstance(reg, numbers.Real) and not isinstance(reg, bool):
        reg = L2(reg)
    if reg is not None and not (hasattr(reg, "penalty") and hasattr(reg, "backward")):
        raise TypeError(f"lbfgs: 'reg' must be an L2 object, a number or None, got {type(reg).__name__}")
    if isinstance(maxiter, bool) or not isinstance(maxiter, numbers.Integral) or maxiter < 1:
        raise ValueError(f"lbfgs: 'maxiter' must be a positive integer, got {maxiter!r}")
    tol = _check_hyper("lbfgs", "tol", tol, low=0, low_open=True, schedulable=False)

    originals = model.parameters()
    work = copy.deepcopy(model).astype(np.float64)
    params = work.parameters()
    sizes = [p.size for p in params]
    splits = np.cumsum(sizes)[:-1]
    X64 = np.asarray(X, dtype=np.float64)

    def unpack(w):
        for p, chunk in zip(params, np.split(w, splits)):
            p.value[...] = chunk.reshape(p.shape)

    def objective(w):
        unpack(w)
        with skip_input_grad(X64):               # the data's gradient is not needed
            per_sample = loss.forward(work.forward(X64), y)
        J = loss.reduce(per_sample)
        work.backward(loss.backward())
        if reg is not None:
            J += reg.penalty(params)
            reg.backward(params)
        return J, np.concatenate([p.grad.ravel() for p in params])

    w0 = np.concatenate([p.value.ravel() for p in params])
    res = minimize(objective, w0, jac=True, method="L-BFGS-B", tol=tol, options={"maxiter": int(maxiter)})
    _, g = objective(res.x)               # unpacks res.x into the copy and gives the final gradient
    for p, q in zip(originals, params):
        p.value[...] = q.value            # in place, cast to p's dtype
    return LBFGSResult(loss=float(res.fun), iterations=int(res.nit), evaluations=int(res.nfev),
                       converged=bool(res.success), message=str(res.message),
                       grad_max=float(np.max(np.abs(g))))
