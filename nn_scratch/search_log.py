"""The save file of a search: one JSON line per finished trial, appended as each trial finishes.

The first line describes the search (which function, the space, the seed, and for ``coarse_to_fine`` its
stages); every other line is one trial::

    {"nn_scratch_search": 1, "search": "random_search", "space": [["lr", ["LogUniform", 0.0001, 0.1]]], ...}
    {"index": 3, "stage": 0, "params": {"lr": 0.0042}, "score": 0.31, "error": null, "seconds": 2.1, ...}

A line is written with one ``os.write`` on a file opened for appending, then ``fsync``: a kill leaves at
worst one partial last line, which the next reader ignores and cuts off before appending.  Extras that are
not JSON numbers, strings or booleans (a trained model) are not saved.

Reopening the file with the same search skips the trials it holds; a file written by a different search
(another space, seed or stages) is refused, naming what differs.
"""
from __future__ import annotations

import json
import math
import numbers
import os

import numpy as np

__all__ = ["SearchLog", "describe_space", "describe_seed"]

VERSION = 1


def _json_default(v):
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return repr(v)


def _dumps(obj) -> str:
    return json.dumps(obj, default=_json_default, sort_keys=True)


def describe_space(space: dict) -> list:
    """The space as JSON-able ``[name, description]`` pairs, in drawing order, with exact bounds."""
    from nn_scratch.search import Choice, IntUniform, Uniform

    out = []
    for name, d in space.items():
        if isinstance(d, (Uniform, IntUniform)):
            desc = [type(d).__name__, d.low, d.high]
        elif isinstance(d, Choice):
            desc = ["Choice", [_plain(o) for o in d.options]]
        else:
            desc = ["constant", _plain(d)]
        out.append([name, desc])
    return out


def _plain(v):
    """A JSON value that names ``v`` exactly: itself when JSON keeps it, else its repr."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real) and math.isfinite(v):
        return float(v)
    return repr(v)


def describe_seed(who, seed):
    """The seed as JSON, taken *before* the search draws from it; refuses a seed that cannot be replayed."""
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"{who}: 'seed' must be an int, a SeedSequence or a Generator, got {seed!r}")
    if isinstance(seed, numbers.Integral):
        return int(seed)
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": str(seed.entropy), "spawn_key": [int(k) for k in seed.spawn_key]}
    if isinstance(seed, np.random.Generator):
        return {"bit_generator": json.loads(_dumps(seed.bit_generator.state))}
    raise ValueError(f"{who}: with 'save_path', 'seed' must be replayable (an int, a SeedSequence or a "
                     f"Generator), got {seed!r}; without one a resumed search would draw other configurations")


def _jsonable_extras(extras):
    out = {}
    for k, v in extras.items():
        if isinstance(v, (bool, np.bool_)):
            out[k] = bool(v)
        elif isinstance(v, (numbers.Integral, numbers.Real, str)) or v is None:
            out[k] = v.item() if isinstance(v, np.generic) else v
    return out


class SearchLog:
    """An open save file: ``done`` maps a trial index to its saved line (a dict); ``append(trial)``.

    Use as a context manager (the file stays open, and locked, while the search runs)."""

    def __init__(self, path, header: dict, who: str):
        self.path, self.who = os.fspath(path), who
        self.header = {"nn_scratch_search": VERSION, **json.loads(_dumps(header))}
        self.done = {}
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{who}: the folder of 'save_path' does not exist: {folder}")
        self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            self._lock()
            self._read()
        except BaseException:
            os.close(self.fd)
            raise

    def _lock(self):
        try:
            import fcntl
        except ImportError:             # Windows: no lock
            return
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)     # per process: forked workers do not hold it
        except OSError:
            raise RuntimeError(f"{self.who}: {self.path} is being written by another running search; wait for it "
                               f"or use another 'save_path'") from None

    def _read(self):
        data = b""
        os.lseek(self.fd, 0, os.SEEK_SET)
        while chunk := os.read(self.fd, 1 << 20):
            data += chunk
        end = data.rfind(b"\n") + 1          # a partial last line (a kill mid-write) is cut off
        if end < len(data):
            os.ftruncate(self.fd, end)
            os.fsync(self.fd)
        lines = data[:end].splitlines()
        if not lines:
            self._write(self.header)
            return
        try:
            head = json.loads(lines[0])
        except ValueError:
            head = None
        if not isinstance(head, dict) or head.get("nn_scratch_search") != VERSION:
            raise ValueError(f"{self.who}: {self.path} is not a search save file (its first line is "
                             f"{lines[0][:80]!r}); use another 'save_path'")
        diff = [k for k in sorted(set(head) | set(self.header)) if _dumps(head.get(k)) != _dumps(self.header.get(k))]
        if diff:
            k = diff[0]
            raise ValueError(f"{self.who}: {self.path} holds a different search ({k} differs: the file has "
                             f"{_dumps(head.get(k))[:200]}, this call {_dumps(self.header.get(k))[:200]}); use the same "
                             f"space, seed and stages to resume it, or another 'save_path' to start afresh")
        for n, line in enumerate(lines[1:], start=2):
            try:
                rec = json.loads(line)
                index = int(rec["index"])
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"{self.who}: {self.path} line {n} is not a trial record: {line[:80]!r}") from None
            self.done.setdefault(index, rec)

    def _write(self, obj):
        data = (json.dumps(obj, default=_json_default) + "\n").encode("utf-8")
        while data:                     # one write in practice; a short write is finished, never interleaved
            data = data[os.write(self.fd, data):]
        os.fsync(self.fd)

    def check(self, index, params):
        """The saved record of trial ``index``, after checking it had the same ``params``."""
        rec = self.done[index]
        if _dumps(rec.get("params")) != _dumps(params):
            raise ValueError(f"{self.who}: {self.path} trial {index} had params {_dumps(rec.get('params'))[:200]} "
                             f"but this search draws {_dumps(params)[:200]}: the file was written by another search")
        return rec

    def append(self, trial):
        rec = {"index": trial.index, "stage": trial.stage, "params": trial.params, "score": trial.score,
               "error": trial.error, "seconds": round(trial.seconds, 6), "extras": _jsonable_extras(trial.extras)}
        self._write(rec)
        self.done.setdefault(trial.index, rec)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
