"""Helpers shared by the benchmark scripts: timing, thread counts, optional PyTorch, table printing."""
from __future__ import annotations

import os
import statistics
import time


def blas_threads() -> int:
    """Threads NumPy's BLAS uses: the usual environment variables, else every core (OpenBLAS's default)."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return os.cpu_count() or 1


def load_torch():
    """PyTorch with as many threads as NumPy's BLAS, or None (with a note) when it is not installed."""
    try:
        import torch
    except ImportError:
        print("note: PyTorch is not installed; its column is skipped (pip install torch to compare)")
        return None
    torch.set_num_threads(blas_threads())
    return torch


def timed(fn) -> float:
    """Wall-clock seconds of one call."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved(runs: int, contenders: dict) -> dict:
    """Time each contender ``runs`` times, round-robin, so load changes hit all of them alike.

    Returns ``{name: [seconds of round 1, round 2, ...]}``.
    """
    times = {name: [] for name in contenders}
    for _ in range(runs):
        for name, fn in contenders.items():
            times[name].append(timed(fn))
    return times


def interleaved_parts(runs: int, contenders: dict, parts: list) -> dict:
    """Like ``interleaved`` for long jobs cut into ``parts`` (e.g. slices of an epoch's batches).

    In each round every contender processes every part; the parts are interleaved (part 1 by all
    contenders, then part 2, ..., the order of contenders rotating), so a load change of a few seconds on
    a shared machine hits all contenders alike.  ``contenders[name](part)`` does the work of one part.
    Returns ``{name: [total seconds of round 1, round 2, ...]}``.
    """
    names = list(contenders)
    times = {name: [] for name in names}
    for _ in range(runs):
        total = dict.fromkeys(names, 0.0)
        for k, part in enumerate(parts):
            for name in names[k % len(names):] + names[:k % len(names)]:
                total[name] += timed(lambda: contenders[name](part))
        for name in names:
            times[name].append(total[name])
    return times


def median(ts) -> float:
    return statistics.median(ts)


def median_ratio(times: dict, name: str, reference: str) -> float:
    """Median over rounds of ``time[name] / time[reference]``, each ratio taken within one round."""
    return statistics.median(t / r for t, r in zip(times[name], times[reference]))


def print_table(title: str, header: list, rows: list) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print(f"\n{title}")
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
