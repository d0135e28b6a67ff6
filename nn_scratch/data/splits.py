"""Seeded train/validation/test splits, standardization fitted on the training split, and minibatches."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import check_number
from ._checks import check_float_dtype, check_fraction, check_int, check_rng, check_Xy


class Split(NamedTuple):
    """The result of :func:`train_val_test_split`; unpacks as six arrays in this order."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _quotas(class_sizes, fraction, cap=None):
    """Per-class counts summing to round(fraction * N), each at most ``cap``: floor each class's share,
    then hand the missing samples one at a time to the classes with the largest fractional parts
    (largest-remainder rounding), skipping classes that are full."""
    share = fraction * class_sizes
    cap = class_sizes if cap is None else cap
    k = np.minimum(np.floor(share).astype(np.int64), cap)
    missing = min(int(round(fraction * class_sizes.sum())), int(cap.sum())) - int(k.sum())
    while missing > 0:  # loops over classes, rarely more than once
        room = np.flatnonzero(k < cap)
        give = room[np.argsort(-(share[room] - k[room]), kind="stable")][:missing]
        k[give] += 1
        missing -= len(give)
    return k


def split_indices(y, val=0.1, test=0.1, seed=None, stratify=True):
    """Index arrays ``(train_idx, val_idx, test_idx)``: disjoint, together every index 0..N-1 once.

    ``y`` is the (N,) target array (or an int N for a plain random split). The validation and test sets
    get ``round(val*N)`` and ``round(test*N)`` samples. With ``stratify=True`` and discrete labels
    (integer, bool or string dtype) each class is split in the same proportions (up to rounding);
    float targets (regression) are split at random. The same seed gives the same split. Each index
    array is sorted.
    """
    if isinstance(y, (int, np.integer)) and not isinstance(y, bool):
        N = check_int("y", y, minimum=1)
        labels = None
    else:
        labels = np.asarray(y)
        if labels.ndim != 1 or labels.shape[0] == 0:
            raise ValueError(f"'y' must be a non-empty 1-D array of targets (or an int N), got shape {labels.shape}")
        N = labels.shape[0]
    val = check_fraction("val", val)
    test = check_fraction("test", test)
    if val + test >= 1:
        raise ValueError(f"'val' + 'test' must be < 1 to leave a training set, got {val} + {test}")
    rng = check_rng("seed", seed)

    discrete = labels is not None and labels.dtype.kind in "biuUSO"
    if stratify and discrete:
        classes, codes = np.unique(labels, return_inverse=True)
        sizes = np.bincount(codes, minlength=len(classes))
        n_test = _quotas(sizes, test)
        n_val = _quotas(sizes, val, cap=sizes - n_test)
        # random order, then grouped by class: position within the class decides the part
        perm = rng.permutation(N)
        perm = perm[np.argsort(codes[perm], kind="stable")]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        rank = np.arange(N) - np.repeat(starts, sizes)  # rank of perm[i] inside its class
        c = codes[perm]
        part = np.where(rank < n_test[c], 2, np.where(rank < n_test[c] + n_val[c], 1, 0))
    else:
        perm = rng.permutation(N)
        n_test, n_val = int(round(test * N)), int(round(val * N))
        part = np.zeros(N, dtype=np.int64)
        part[:n_test] = 2
        part[n_test:n_test + n_val] = 1
    if not np.any(part == 0):
        raise ValueError(f"'val'={val} and 'test'={test} leave no training samples out of N={N}")
    return tuple(np.sort(perm[part == p]) for p in (0, 1, 2))


def train_val_test_split(X, y, val=0.1, test=0.1, seed=None, stratify=True):
    """Split ``X`` (N, ...) and ``y`` (N, ...) into training, validation and test parts.

    Returns a :class:`Split` ``(X_train, y_train, X_val, y_val, X_test, y_test)``; see
    :func:`split_indices` for how samples are chosen (seeded, stratified by class for discrete labels;
    2-D targets such as one-hot rows or regression vectors are split at random).

    Example
    -------
    >>> from nn_scratch.data import load_digits
    >>> X, y = load_digits()
    >>> s = train_val_test_split(X, y, val=0.1, test=0.2, seed=0)
    >>> len(s.y_train), len(s.y_val), len(s.y_test)
    (1258, 180, 359)
    """
    X, y = check_Xy(X, y)
    tr, va, te = split_indices(y if y.ndim == 1 else X.shape[0], val=val, test=test, seed=seed,
                               stratify=stratify)
    return Split(X[tr], y[tr], X[va], y[va], X[te], y[te])


class Standardizer:
    """Per-feature standardization ``z = (x - mean) / std`` with statistics from the training split only.

    ``fit(X_train)`` stores ``mean`` and ``std`` over axis 0 (shape X.shape[1:]); a feature whose std is
    at most ``eps`` (constant, e.g. the always-blank border pixels of the digits) gets std 1, so it
    becomes 0 after centering instead of dividing by zero. ``transform`` keeps a floating input dtype
    (integer input becomes ``dtype``); ``inverse_transform`` undoes it.

    Example
    -------
    >>> st = Standardizer().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> st.transform(np.array([[2.0, 5.0], [3.0, 6.0]])).tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    """

    def __init__(self, eps=1e-8, dtype=np.float32):
        self.eps = check_number("eps", eps, who="Standardizer", low=0)
        self.dtype = check_float_dtype("dtype", dtype)
        self.mean = None
        self.std = None

    def fit(self, X):
        X, _ = check_Xy(X, None, allow_y_none=True)
        X64 = X.astype(np.float64)
        if not np.all(np.isfinite(X64)):
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(X64))[0])
            raise ValueError(f"Standardizer.fit: 'X' contains NaN or inf (first at index {bad}); the mean and "
                             "std would be NaN and so would every transformed value -- clean the data first")
        self.mean = X64.mean(axis=0)
        std = X64.std(axis=0)
        self.std = np.where(std > self.eps, std, 1.0)
        return self

    def _out_dtype(self, X):
        return X.dtype if np.issubdtype(X.dtype, np.floating) else self.dtype

    def _check(self, X, where):
        if self.mean is None:
            raise RuntimeError(f"Standardizer.{where}: call fit(X_train) first")
        X = np.asarray(X)
        if X.shape[1:] != self.mean.shape:
            raise ValueError(f"Standardizer.{where}: 'X' must have feature shape {self.mean.shape} "
                             f"(as in fit), got {X.shape[1:]}")
        return X

    def transform(self, X):
        X = self._check(X, "transform")
        dt = self._out_dtype(X)
        return ((X - self.mean.astype(dt)) / self.std.astype(dt)).astype(dt, copy=False)

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        Z = self._check(Z, "inverse_transform")
        dt = self._out_dtype(Z)
        return (Z * self.std.astype(dt) + self.mean.astype(dt)).astype(dt, copy=False)

    def state_dict(self):
        """``{"mean": ..., "std": ...}`` (float64 arrays), e.g. to save beside a checkpoint."""
        if self.mean is None:
            raise RuntimeError("Standardizer.state_dict: call fit(X_train) first")
        return {"mean": self.mean.copy(), "std": self.std.copy()}

    def load_state_dict(self, state):
        self.mean = np.asarray(state["mean"], dtype=np.float64).copy()
        self.std = np.asarray(state["std"], dtype=np.float64).copy()
        if self.mean.shape != self.std.shape:
            raise ValueError(f"Standardizer.load_state_dict: 'mean' {self.mean.shape} and 'std' "
                             f"{self.std.shape} must have the same shape")
        return self

    def __repr__(self):
        shape = None if self.mean is None else self.mean.shape
        return f"Standardizer(features={shape}, eps={self.eps})"


def num_batches(n_samples, batch_size, drop_last=False):
    """How many batches :func:`batches` yields for ``n_samples`` (for progress bars and schedules)."""
    n_samples = check_int("n_samples", n_samples, minimum=0)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    return n_samples // batch_size if drop_last else -(-n_samples // batch_size)


def batches(X, y=None, batch_size=32, rng=None, shuffle=True, drop_last=False):
    """Yield ``(X_batch, y_batch)`` minibatches covering each sample once (one epoch, no replacement).

    With ``shuffle`` the order is a fresh permutation drawn from ``rng`` (a seed or a Generator; pass the
    same Generator every epoch to get a new order each time, reproducibly). The last batch is smaller
    when ``batch_size`` does not divide N, unless ``drop_last=True`` drops it. ``y`` may be None, then
    ``y_batch`` is None.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> [len(xb) for xb, yb in batches(np.zeros((10, 3)), np.arange(10), batch_size=4, rng=rng)]
    [4, 4, 2]
    """
    # checks run now, at the call, not at the first next()
    X, y = check_Xy(X, y, allow_y_none=True)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    N = X.shape[0]
    order = check_rng("rng", rng).permutation(N) if shuffle else np.arange(N)
    stop = N - N % batch_size if drop_last else N
    return _generate(X, y, order, batch_size, stop)


def _generate(X, y, order, batch_size, stop):
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], (None if y is None else y[idx])
