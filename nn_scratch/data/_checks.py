"""Argument checks of the data modules (errors name the argument, the expected and the actual).

The generic number / dtype / seed checks live in ``nn_scratch._checks`` (one home for the package); they are
re-exported here for the data modules.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._checks import check_dtype, check_float_dtype, check_int, check_rng  # noqa: F401  (re-exported)


def check_fraction(name, value, low_open=False):
    """A float in [0, 1) (or (0, 1) with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name!r} must be a number in [0, 1), got {type(value).__name__} {value!r}")
    ok = (0 < value < 1) if low_open else (0 <= value < 1)
    if not ok:
        interval = "(0, 1)" if low_open else "[0, 1)"
        raise ValueError(f"{name!r} must be in {interval}, got {value!r}")
    return float(value)


def check_image_options(dtype, scale, limit):
    """Shared checks of ``dtype``/``scale``/``limit`` for the image loaders; returns (dtype, limit)."""
    dt = check_dtype("dtype", dtype)
    if scale and not np.issubdtype(dt, np.floating):
        raise TypeError(f"'dtype' must be a floating dtype when scale=True (pixels become 0..1), got {dt}")
    if limit is not None:
        limit = check_int("limit", limit, minimum=1)
    return dt, limit


def check_kind_checksums(kind, checksums):
    """The file loaders' ``kind`` ('train' or 'test') and ``checksums`` (a dict {filename: md5} or None)."""
    if kind not in ("train", "test"):
        raise ValueError(f"'kind' must be 'train' or 'test', got {kind!r}")
    if checksums is not None and not isinstance(checksums, dict):
        raise TypeError(f"'checksums' must be a dict {{filename: md5}} or None, got {type(checksums).__name__}")


def check_Xy(X, y, allow_y_none=False):
    """Arrays with the same first axis; returns them as numpy arrays."""
    X = np.asarray(X)
    if X.ndim < 1 or X.shape[0] == 0:
        raise ValueError(f"'X' must be an array with at least one sample on axis 0, got shape {X.shape}")
    if y is None:
        if allow_y_none:
            return X, None
        raise TypeError("'y' must be an array of targets, got None")
    y = np.asarray(y)
    if y.ndim < 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"'y' must have {X.shape[0]} samples on axis 0 (like X {X.shape}), got shape {y.shape}")
    return X, y
