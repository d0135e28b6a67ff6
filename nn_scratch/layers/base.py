"""The one protocol every part of nn_scratch speaks: ``Parameter`` and ``Layer``.

A ``Parameter`` is a value array and a gradient array of the same shape and dtype.

A ``Layer`` has

* ``forward(x)``  -> y, keeping on ``self`` whatever backward needs;
* ``backward(dy)`` -> dx, and it *sets* (overwrites, never accumulates) ``p.grad`` of its parameters;
* ``parameters()`` -> list of its Parameters (found automatically, see below);
* ``train()`` / ``eval()`` -> switch behaviour such as dropout or batch norm.

A layer with a max-like choice (ReLU, max-pool, ...) stores which side won in its last forward in
``self.winners`` (any array); the gradient checker compares these between f(x+h) and f(x-h) to see whether
a kink was crossed.  A layer with randomness keeps a ``numpy.random.Generator`` as an attribute; the checker
finds it and replays the same draws.

Discovery is by attribute: a ``Parameter`` attribute is a parameter, a ``Layer`` attribute (or a list /
tuple of layers) is a sub-layer.  A user's own layer therefore needs no registration::

    class Scale(Layer):
        def __init__(self):
            super().__init__()
            self.a = Parameter(np.ones(1), "a")
        def forward(self, x):
            self.x = x
            return self.a.value * x
        def backward(self, dy):
            self.a.grad[...] = np.sum(dy * self.x)
            return self.a.value * dy

The data's gradient is skipped where nobody reads it
----------------------------------------------------
``backward`` returns dx whenever a caller asks for it: a gradient check of the input, a saliency map, a
user's own loop.  But everything in the package that *trains* (the ``Trainer``, the LR range test, the
sanity checks and through them the search helpers and the demo) throws the model's dx away: it is the
gradient of the data.  For the first ``Linear`` or ``Conv2D`` that gradient (``dy @ W.T``, or a
convolution and col2im) costs as much as the weights' own, so those loops run the forward pass inside
``skip_input_grad(X)``.  The rule:

* inside ``with skip_input_grad(X):`` the array ``X`` is *data*: a layer whose ``forward`` receives that
  very array object and that supports skipping (``needs_input_grad(self, x)`` is False) remembers it, and
  its next ``backward`` sets its parameters' grads as always but returns None instead of dx;
* ``Flatten`` and ``Dropout`` pass the mark on (their output is data when their input is), so a first
  ``Flatten() -> Linear`` skips too;
* only what the forward received decides, so it works the same for a ``Sequential`` and for your own model
  made of layers, at any depth; outside the block (``evaluate``, the gradient checker, the monitors, your
  own loop) nothing changes and dx is computed;
* a layer of yours needs no change: it does not ask ``needs_input_grad``, so it always returns its dx,
  which is correct, only not skipped.  To let it skip as well, test ``needs_input_grad(self, x)`` in its
  forward and return None from backward when that was False.  A model of yours that *adds* the dx of a
  layer fed the raw data to something else (``return fc1.backward(dh) + dy``) must allow for None.

``Linear(..., input_grad=False)`` / ``Conv2D(..., input_grad=False)`` skip dx always, everywhere.
"""
from __future__ import annotations

import contextlib
import contextvars

import numpy as np


class Parameter:
    """A trainable array: ``value`` and ``grad`` share shape and dtype.

    ``regularize`` says whether a weight penalty (``losses.L2``) applies to it: True for weights,
    False for biases and normalization shifts/scales.
    """

    def __init__(self, value, name: str = "param", regularize: bool = True):
        value = np.asarray(value)
        if not np.issubdtype(value.dtype, np.floating):
            if not (np.issubdtype(value.dtype, np.integer) or value.dtype == bool):
                raise TypeError(f"Parameter: 'value' must be an array of real numbers, got dtype {value.dtype}")
            value = value.astype(np.float64)
        self.value = value
        self.grad = np.zeros_like(value)
        self.name = name
        self.regularize = regularize

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def size(self):
        return self.value.size

    def astype(self, dtype) -> None:
        """Convert value and grad in place (of this object) to ``dtype``."""
        self.value = self.value.astype(dtype)
        self.grad = self.grad.astype(dtype)

    def __repr__(self):
        return f"Parameter({self.name!r}, shape={self.value.shape}, dtype={self.value.dtype})"


class Layer:
    """Base class of every layer; see the module docstring for the protocol.

    Subclasses implement ``forward`` and ``backward``.  Float arrays that are state but not trainable
    (batch norm's running averages) are listed by name in the class attribute ``buffer_names`` so that
    ``state_dict`` saves them and ``astype`` converts them.
    """

    buffer_names: tuple = ()

    def __init__(self):
        self.training = True

    # -- the protocol -------------------------------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, dy):
        raise NotImplementedError(f"{type(self).__name__} must implement backward(dy)")

    def __call__(self, x):
        return self.forward(x)

    # -- discovery ----------------------------------------------------------------------------------
    def sublayers(self) -> list:
        """Direct sub-layers, found among the attributes (a Layer, or a list/tuple of Layers)."""
        found = []
        for value in vars(self).values():
            if isinstance(value, Layer):
                found.append(value)
            elif isinstance(value, (list, tuple)):
                found.extend(v for v in value if isinstance(v, Layer))
        return found

    def named_parameters(self, prefix: str = "") -> list:
        """``[(qualified_name, Parameter), ...]``, own parameters first, then each sub-layer's.

        Names are attribute paths such as ``"layers.0.W"``; a parameter shared by two layers is listed once.
        """
        out, seen = [], set()

        def visit(obj, path):
            for key, value in vars(obj).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    out.append((path + key, value))
            for key, value in vars(obj).items():
                if isinstance(value, Layer):
                    visit(value, f"{path}{key}.")
                elif isinstance(value, (list, tuple)):
                    for i, v in enumerate(value):
                        if isinstance(v, Layer):
                            visit(v, f"{path}{key}.{i}.")

        visit(self, prefix)
        return out

    def parameters(self) -> list:
        """All trainable Parameters of this layer and its sub-layers."""
        return [p for _, p in self.named_parameters()]

    def named_generators(self) -> list:
        """``[(qualified_name, Generator)]`` for every ``numpy.random.Generator`` held by this layer or a layer
        below it (e.g. ``"layers.2.rng"`` of a Dropout).  The gradient checker replays their states, the
        trainer saves them in checkpoints, the LR range test restores them."""
        out, seen = [], set()
        for path, m in self._named_modules():
            for name, g in find_generators(m):
                if id(g) not in seen:
                    seen.add(id(g))
                    out.append((path + name, g))
        return out

    def modules(self) -> list:
        """This layer and every layer below it, depth first."""
        out = [self]
        for sub in self.sublayers():
            out.extend(sub.modules())
        return out

    # -- modes ----------------------------------------------------------------------------------------
    def train(self, mode: bool = True):
        """Training mode (dropout active, batch statistics); returns self."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        """Evaluation mode (dropout off, running statistics); returns self."""
        return self.train(False)

    # -- dtype and state --------------------------------------------------------------------------------
    def astype(self, dtype):
        """Convert every parameter and buffer to ``dtype`` in place; returns self."""
        for m in self.modules():
            for name in m.buffer_names:
                setattr(m, name, np.asarray(getattr(m, name)).astype(dtype))
        for p in self.parameters():
            p.astype(dtype)
        return self

    def state_dict(self) -> dict:
        """Plain arrays (copies): parameters under their qualified names, buffers likewise."""
        state = {name: p.value.copy() for name, p in self.named_parameters()}
        for path, m in self._named_modules():
            for name in m.buffer_names:
                state[path + name] = np.array(getattr(m, name), copy=True)
        return state

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays from ``state`` into this layer; names and shapes must match exactly."""
        expected = self.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        if missing or unexpected:
            raise ValueError(f"load_state_dict: state does not match the model; missing keys {missing}, "
                             f"unexpected keys {unexpected}")
        for key, arr in expected.items():         # every entry is checked before any is copied
            if np.shape(state[key]) != arr.shape:
                raise ValueError(f"load_state_dict: '{key}' expected shape {arr.shape}, got {np.shape(state[key])}")
            a = np.asarray(state[key])
            if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
                raise TypeError(f"load_state_dict: '{key}' must hold real numbers, got dtype {a.dtype}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"load_state_dict: '{key}' contains NaN or inf; the model was not changed")
        for name, p in self.named_parameters():
            p.value[...] = state[name]
        for path, m in self._named_modules():
            for name in m.buffer_names:
                setattr(m, name, np.array(state[path + name], dtype=np.asarray(getattr(m, name)).dtype))

    def _named_modules(self, prefix: str = ""):
        yield prefix, self
        for key, value in vars(self).items():
            if isinstance(value, Layer):
                yield from value._named_modules(f"{prefix}{key}.")
            elif isinstance(value, (list, tuple)):
                for i, v in enumerate(value):
                    if isinstance(v, Layer):
                        yield from v._named_modules(f"{prefix}{key}.{i}.")

    def __repr__(self):
        return f"{type(self).__name__}()"


# -- skipping the data's gradient (see the module docstring) ---------------------------------------------
_DATA = contextvars.ContextVar("nn_scratch_data_arrays", default=())


@contextlib.contextmanager
def skip_input_grad(*arrays):
    """Within the block, the given arrays are data: a layer fed one of them skips its dx in backward.

    Used by every training loop of the package around ``model.forward(X_batch)``; use it in your own
    loop when you do not read ``model.backward``'s return value::

        with skip_input_grad(xb):
            scores = model.forward(xb)
        model.backward(loss.backward())          # returns None (dx was not computed); grads are set

    Thread-safe (a ``contextvars`` variable): each thread sees only its own marks.
    """
    token = _DATA.set(list(arrays))
    try:
        yield
    finally:
        _DATA.reset(token)


def is_data(x) -> bool:
    """True inside ``skip_input_grad`` when ``x`` is one of the marked arrays (the very object)."""
    return any(x is a for a in _DATA.get())


def needs_input_grad(layer, x) -> bool:
    """Must ``layer``'s next backward compute dx for this forward input ``x``?  No when the layer was built
    with ``input_grad=False`` or when ``x`` is data (``skip_input_grad``).  Call it at the top of forward,
    before ``x`` is converted, and keep the answer for backward."""
    return getattr(layer, "input_grad", True) and not is_data(x)


def pass_on_data(x, y):
    """For a parameter-free layer whose output ``y`` depends on nothing but its input ``x``: if ``x`` is data,
    mark ``y`` as data too (so the layer after it skips its dx).  Returns ``y``."""
    marked = _DATA.get()
    if marked and y is not x and is_data(x):
        marked.append(y)
    return y


def find_generators(obj) -> list:
    """``[(attribute_name, Generator)]`` of the Generators among ``obj``'s attributes, directly or inside a
    list, tuple or dict attribute (named ``attr.i`` / ``attr.key``).  Works on any object (a loss too)."""
    out = []
    for key, v in getattr(obj, "__dict__", {}).items():
        if isinstance(v, np.random.Generator):
            out.append((key, v))
        elif isinstance(v, (list, tuple, dict)):
            items = v.items() if isinstance(v, dict) else enumerate(v)
            out.extend((f"{key}.{k}", g) for k, g in items if isinstance(g, np.random.Generator))
    return out


def check_input(x, name: str = "x", ndim=None, last_dim=None, layer: str = "layer"):
    """Validate a layer input before any work: a real float/int array without NaN, with the right rank.

    Returns ``x`` as an ndarray.  Errors name the argument, the expected and the actual.
    """
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise TypeError(f"{layer}: '{name}' must be a numeric array, got dtype {x.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            raise ValueError(f"{layer}: '{name}' must have {' or '.join(map(str, allowed))} dimensions, "
                             f"got {x.ndim} (shape {x.shape})")
    if last_dim is not None and x.shape[-1] != last_dim:
        raise ValueError(f"{layer}: '{name}' must have {last_dim} features in its last dimension, "
                         f"got {x.shape[-1]} (shape {x.shape})")
    return x


def check_dy(layer, dy, cache: str, expect=None):
    """Validate ``backward``'s ``dy`` at no real cost (no scan of the array): forward must have run, and ``dy``
    must have the shape of that forward's output.  ``cache`` names the attribute forward sets: an array of the
    output's shape or the output shape itself (a tuple); or give ``expect(cached) -> output shape``.
    Returns ``dy`` as an ndarray (None stays None: the data's gradient was skipped, see above).

    Without this, a ``dy`` of the wrong shape may broadcast silently (ReLU's ``dy * winners``) and a
    backward before any forward fails with an ``AttributeError`` that does not say what went wrong.
    """
    ref = getattr(layer, cache, None)
    who = type(layer).__name__
    if ref is None:
        raise RuntimeError(f"{who}: backward(dy) was called before forward(x); run forward first, it keeps "
                           "the values the gradient needs")
    if dy is None:                    # the layer after skipped its dx (``skip_input_grad``): nothing to check
        return None
    shape = tuple(expect(ref)) if expect is not None else ref if isinstance(ref, tuple) else ref.shape
    if not isinstance(dy, np.ndarray):
        dy = np.asarray(dy)
    if dy.shape != shape:
        raise ValueError(f"{who}: 'dy' must have the shape of the last forward's output {shape}, got {dy.shape}")
    return dy
