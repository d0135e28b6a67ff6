"""Small synthetic data sets for tutorials and tests; every one is vectorized and fixed by ``seed``.

* ``make_spiral``      -- K interleaved spiral arms in 2-D: not linearly separable, the notes' classic.
* ``make_gaussians``   -- two overlapping Gaussian blobs, a binary classification task.
* ``make_sinusoid_classification`` -- points in the unit square labelled by which side of a sine curve
  they fall on, a binary classification task.
* ``make_sinusoid_regression``     -- t = sin(x) + noise, a 1-D regression task (``make_sinusoid`` is
  its old, deprecated name).
* ``make_rectangles``  -- images holding k rectangles; the target is k (counting as regression).

The flooding paper (Ishida et al. 2020, seed 002) tries flooding on three small binary classification
sets -- two Gaussians, a spiral and a sinusoid boundary -- with some labels flipped, so that a network that
drives its training loss to zero must memorize the flipped ones.  ``make_gaussians``, ``make_spiral`` and
``make_sinusoid_classification`` take ``label_noise=p`` for that: each label is replaced, with probability
``p``, by a different class drawn uniformly (for two classes: flipped).  Which samples were flipped is fixed
by ``seed``; the clean labels are not returned -- draw the set again with ``label_noise=0`` and the same
``seed`` to get them (the inputs do not depend on ``label_noise``).

``seed`` is an int, None or a ``numpy.random.Generator``. Classification sets are ordered by class;
shuffle with :func:`~nn_scratch.data.train_val_test_split` or :func:`~nn_scratch.data.batches`.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._checks import check_float_dtype, check_int, check_rng


def _check_nonneg(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name!r} must be a number, got {type(value).__name__} {value!r}")
    if not 0 <= value < float("inf"):
        raise ValueError(f"{name!r} must be >= 0 and finite, got {value!r}")
    return float(value)


def _flip_labels(y, n_classes, label_noise, rng):
    """Replace each label with probability ``label_noise`` by a different class (uniform over the others).

    Called after the inputs are drawn from ``rng``, so the inputs do not depend on ``label_noise``.
    """
    if label_noise == 0.0 or n_classes < 2:
        return y
    flip = rng.random(y.shape[0]) < label_noise
    shift = rng.integers(1, n_classes, size=y.shape[0])
    return np.where(flip, (y + shift) % n_classes, y).astype(np.int64)


def _check_prob(name, value):
    value = _check_nonneg(name, value)
    if value > 1:
        raise ValueError(f"{name!r} must be in [0, 1], got {value!r}")
    return value


def make_spiral(n_per_class=100, n_classes=3, noise=0.2, seed=None, dtype=np.float32, label_noise=0.0):
    """Spiral arms: sample i of class k sits at radius r = i/(n-1) and angle 4k + 4r (+ noise) radians.

    Returns ``X`` (n_per_class * n_classes, 2) in [-1, 1]^2 and ``y`` int64 class ids, ordered by class.
    ``noise`` is the standard deviation of the Gaussian jitter of the angle; ``label_noise`` the probability
    that a label is replaced by another class (see the module docstring).

    >>> X, y = make_spiral(100, 3, seed=0)
    >>> X.shape, y.shape, sorted(set(y.tolist()))
    ((300, 2), (300,), [0, 1, 2])
    """
    n = check_int("n_per_class", n_per_class, minimum=2)
    K = check_int("n_classes", n_classes, minimum=1)
    noise = _check_nonneg("noise", noise)
    label_noise = _check_prob("label_noise", label_noise)
    dt = check_float_dtype("dtype", dtype)
    rng = check_rng("seed", seed)
    r = np.tile(np.linspace(0.0, 1.0, n), K)                        # (K n,)
    k = np.repeat(np.arange(K), n)
    theta = 4.0 * k + 4.0 * r + noise * rng.standard_normal(K * n)  # each arm turns 4 rad
    X = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)
    return X.astype(dt), _flip_labels(k.astype(np.int64), K, label_noise, rng)


def make_gaussians(n=200, dim=2, separation=3.0, std=1.0, seed=None, dtype=np.float32, label_noise=0.0):
    """Two Gaussian classes with covariance std^2 I and means -/+ (separation/2) u, u = (1,..,1)/sqrt(dim).

    The distance between the means is ``separation``; class 0 gets n//2 samples, class 1 the rest.
    Returns ``X`` (n, dim) and ``y`` (n,) int64 in {0, 1}, ordered by (clean) class; ``label_noise`` is the
    probability that a label is flipped.
    """
    n = check_int("n", n, minimum=2)
    dim = check_int("dim", dim, minimum=1)
    separation = _check_nonneg("separation", separation)
    std = _check_nonneg("std", std)
    label_noise = _check_prob("label_noise", label_noise)
    dt = check_float_dtype("dtype", dtype)
    rng = check_rng("seed", seed)
    y = (np.arange(n) >= n // 2).astype(np.int64)
    u = np.ones(dim) / np.sqrt(dim)
    means = (y[:, None] - 0.5) * separation * u                    # (n, dim)
    X = means + std * rng.standard_normal((n, dim))
    return X.astype(dt), _flip_labels(y, 2, label_noise, rng)


def make_sinusoid_classification(n=200, label_noise=0.0, seed=None, amplitude=0.25, frequency=1.0,
                                 dtype=np.float32):
    """Binary classification with a sinusoidal boundary: x ~ U([0, 1]^2), label 1 when
    ``x2 > 0.5 + amplitude * sin(2 pi frequency x1)``, else 0; then each label flipped with probability
    ``label_noise``.

    Returns ``X`` (n, 2) and ``y`` (n,) int64 in {0, 1}, in the order drawn.  With ``amplitude=0.25`` and
    ``frequency=1`` the boundary is one full sine period across the square, which no linear model can follow.

    >>> X, y = make_sinusoid_classification(1000, seed=0)
    >>> bool(((X >= 0) & (X <= 1)).all()), round(float(y.mean()), 1)
    (True, 0.5)
    """
    n = check_int("n", n, minimum=1)
    label_noise = _check_prob("label_noise", label_noise)
    amplitude = _check_nonneg("amplitude", amplitude)
    frequency = _check_nonneg("frequency", frequency)
    if amplitude > 0.5:
        raise ValueError(f"'amplitude' must be <= 0.5 so the boundary stays inside the unit square, got {amplitude!r}")
    dt = check_float_dtype("dtype", dtype)
    rng = check_rng("seed", seed)
    X = rng.random((n, 2))
    y = (X[:, 1] > 0.5 + amplitude * np.sin(2 * np.pi * frequency * X[:, 0])).astype(np.int64)
    return X.astype(dt), _flip_labels(y, 2, label_noise, rng)


def make_sinusoid(*args, **kwargs):
    """Deprecated name of :func:`make_sinusoid_regression` (the flooding paper's sinusoid set is a
    classification task: :func:`make_sinusoid_classification`)."""
    import warnings
    warnings.warn("make_sinusoid is deprecated: it is the regression set, now make_sinusoid_regression; the "
                  "flooding paper's sinusoid set is make_sinusoid_classification", DeprecationWarning, stacklevel=2)
    return make_sinusoid_regression(*args, **kwargs)


def make_sinusoid_regression(n=100, noise=0.1, seed=None, low=-np.pi, high=np.pi, dtype=np.float32):
    """Noisy sine regression: x ~ U(low, high), target t = sin(x) + noise * N(0, 1).

    Returns ``X`` (n, 1) and ``t`` (n,) (the MSE loss accepts (n,) targets for (n, 1) scores),
    sorted by nothing: the x are in the order they were drawn.
    """
    n = check_int("n", n, minimum=1)
    noise = _check_nonneg("noise", noise)
    dt = check_float_dtype("dtype", dtype)
    if not high > low:
        raise ValueError(f"'high' must be > 'low', got low={low!r}, high={high!r}")
    rng = check_rng("seed", seed)
    x = rng.uniform(low, high, size=n)
    t = np.sin(x) + noise * rng.standard_normal(n)
    return x[:, None].astype(dt), t.astype(dt)


def make_rectangles(n=1000, size=16, max_count=5, seed=None, min_count=1, min_side=2, noise=0.0,
                    flatten=False, dtype=np.float32):
    """Images of ``size`` x ``size`` holding k filled rectangles (k uniform in min_count..max_count);
    the target is k, as a float: counting as a regression task.

    The image is cut into a g x g grid (g = ceil(sqrt(max_count))); each rectangle gets its own cell,
    a random side length (min_side up to the cell size - 1) and a position that leaves the cell's last
    row and column empty, so rectangles never overlap or touch and the count is well defined.
    Pixels are 1 inside a rectangle, 0 outside, plus ``noise`` * N(0, 1).

    Returns ``X`` (n, size, size) (or (n, size*size) with ``flatten``) and ``t`` (n,) of ``dtype``.
    """
    n = check_int("n", n, minimum=1)
    size = check_int("size", size, minimum=3)
    max_count = check_int("max_count", max_count, minimum=1)
    min_count = check_int("min_count", min_count, minimum=0)
    min_side = check_int("min_side", min_side, minimum=1)
    noise = _check_nonneg("noise", noise)
    dt = check_float_dtype("dtype", dtype)
    if min_count > max_count:
        raise ValueError(f"'min_count' must be <= 'max_count' ({max_count}), got {min_count}")
    g = int(np.ceil(np.sqrt(max_count)))
    cell = size // g
    if cell < min_side + 1:
        raise ValueError(f"'size'={size} is too small for max_count={max_count}: each of the {g}x{g} cells is "
                         f"{cell} px, needs >= min_side + 1 = {min_side + 1}; use size >= {g * (min_side + 1)}")
    rng = check_rng("seed", seed)
    C = g * g
    k = rng.integers(min_count, max_count + 1, size=n)
    # choose k distinct cells per image: rank random keys, keep the k smallest
    rank = np.argsort(np.argsort(rng.random((n, C)), axis=1), axis=1)
    active = rank < k[:, None]                                      # (n, C)
    h = rng.integers(min_side, cell, size=(n, C))                    # side lengths < cell leave a gap
    w = rng.integers(min_side, cell, size=(n, C))
    top = (np.arange(C) // g) * cell + (rng.random((n, C)) * (cell - h)).astype(np.int64)
    left = (np.arange(C) % g) * cell + (rng.random((n, C)) * (cell - w)).astype(np.int64)
    pix = np.arange(size)
    img = np.zeros((n, size, size), dtype=bool)
    for c in range(C):  # loop over the few grid cells; samples and pixels are vectorized
        rows = (pix >= top[:, c, None]) & (pix < (top + h)[:, c, None]) & active[:, c, None]   # (n, size)
        cols = (pix >= left[:, c, None]) & (pix < (left + w)[:, c, None])
        img |= rows[:, :, None] & cols[:, None, :]
    X = img.astype(dt)
    if noise:
        X += (noise * rng.standard_normal(X.shape)).astype(dt)
    if flatten:
        X = X.reshape(n, -1)
    return X, k.astype(dt)
