"""Argument checks shared by the whole package: each returns the cleaned value or raises an error that names
the argument, what was expected and what was passed, so a constructor can refuse bad input before it does
any work.

``who`` (e.g. ``"Linear"``) prefixes the message when given::

    >>> check_number("margin", 1, who="MulticlassSVM", low=0, low_open=True)
    1.0
    >>> check_number("margin", float("nan"), who="MulticlassSVM", low=0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: MulticlassSVM: 'margin' must be a finite number > 0, got nan

Booleans are not numbers here (``True`` is refused where a count or a rate belongs), and NaN and infinity
are refused unless ``finite=False``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["check_number", "check_int", "check_bool", "check_float_dtype", "check_dtype", "check_rng", "check_seed",
           "check_choice", "check_has"]


def _who(who):
    return f"{who}: " if who else ""


def _interval(low, high, low_open, high_open):
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high}"
    return ""


def check_number(name, value, who=None, low=None, high=None, low_open=False, high_open=False, finite=True):
    """A real number (not a bool, not a string) within the given bounds -> float."""
    interval = _interval(low, high, low_open, high_open)
    wanted = ("a finite number" if finite else "a number") + (f" {interval}" if interval else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_who(who)}{name!r} must be {wanted}, got {type(value).__name__} {value!r}")
    v = float(value)
    bad = (math.isnan(v) or (finite and math.isinf(v))
           or (low is not None and (v <= low if low_open else v < low))
           or (high is not None and (v >= high if high_open else v > high)))
    if bad:
        raise ValueError(f"{_who(who)}{name!r} must be {wanted}, got {value!r}")
    return v


def check_int(name, value, minimum=None, who=None, maximum=None):
    """An integer (a Python or numpy int, not a bool or a float) within [minimum, maximum] -> int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{_who(who)}{name!r} must be an integer, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{_who(who)}{name!r} must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{_who(who)}{name!r} must be <= {maximum}, got {value!r}")
    return int(value)


def check_bool(name, value, who=None):
    """True or False (a numpy bool too); a string such as ``"no"`` would silently count as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{_who(who)}{name!r} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_float_dtype(name, dtype, who=None):
    """A numpy floating dtype (float16/32/64) -> np.dtype.  Integer parameters would train nothing."""
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{_who(who)}{name!r} must be a numpy floating dtype such as np.float32, "
                        f"got {dtype!r}") from err
    if not np.issubdtype(dt, np.floating):
        raise TypeError(f"{_who(who)}{name!r} must be a floating dtype such as np.float32, got {dt}")
    return dt


def check_dtype(name, dtype, who=None):
    """Any numpy dtype -> np.dtype."""
    try:
        return np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{_who(who)}{name!r} must be a numpy dtype, got {dtype!r}") from err


def check_rng(name, rng, who=None):
    """A seed (an int >= 0 or None), a ``numpy.random.Generator`` or a ``SeedSequence`` -> Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, np.random.SeedSequence) or rng is None:
        return np.random.default_rng(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"{_who(who)}{name!r} must be a seed >= 0, got {rng!r}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"{_who(who)}{name!r} must be an int seed >= 0, None or a numpy.random.Generator, "
                    f"got {type(rng).__name__} {rng!r}")


def check_seed(name, seed, who=None):
    """Like ``check_rng`` but returns the seed itself (for code that stores or spawns from it)."""
    check_rng(name, seed, who=who)
    return seed


def check_choice(name, value, options, who=None):
    """One of ``options`` (compared with ==; an unhashable value is simply not among them)."""
    if not any(isinstance(value, type(o)) and value == o for o in options):
        raise ValueError(f"{_who(who)}{name!r} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def check_has(name, obj, methods, what, who=None):
    """An object with every method in ``methods`` (duck typing, e.g. a loss); ``what`` names the expected kind."""
    if isinstance(obj, type):
        raise TypeError(f"{_who(who)}{name!r} must be {what}, an instance, got the class {obj.__name__}; "
                        f"write {obj.__name__}(...)")
    missing = [m for m in methods if not callable(getattr(obj, m, None))]
    if missing:
        raise TypeError(f"{_who(who)}{name!r} must be {what} (with {', '.join(methods)}), "
                        f"got {type(obj).__name__} {obj!r:.60}")
    return obj
