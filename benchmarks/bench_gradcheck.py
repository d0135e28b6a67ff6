"""Benchmark 3: what a gradient check costs.

(a) ``check_model`` on a small MLP: checked coordinates per second (each coordinate costs two evaluations
    of the objective on the float64 copy).
(b) ``check_directional`` (one random direction through all parameters, two evaluations whatever the size)
    as the parameter count grows 10x and 100x.  The number of objective evaluations stays 2, so the cost per
    parameter ("us per 1k params": copying the model to float64, drawing the direction, two forwards)
    should stay flat; the last column estimates what checking every coordinate would take instead
    (2 evaluations per parameter).

    python benchmarks/bench_gradcheck.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import median, print_table, timed  # noqa: E402

from nn_scratch.gradcheck import check_directional, check_model  # noqa: E402
from nn_scratch.layers import Linear, ReLU, Sequential  # noqa: E402
from nn_scratch.losses import SoftmaxCrossEntropy  # noqa: E402


def mlp(d_in, hidden, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    return Sequential([Linear(d_in, hidden, rng=rng), ReLU(), Linear(hidden, classes, rng=rng)])


def data(n, d_in, classes=10, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d_in)), rng.integers(0, classes, n)


def coordinate_rate(d_in, hidden, n, num_coords):
    model, (x, y) = mlp(d_in, hidden), data(n, d_in)
    t0 = time.perf_counter()
    report = check_model(model, SoftmaxCrossEntropy(), x, y, num_coords=num_coords)
    seconds = time.perf_counter() - t0
    coords = sum(r.checked for r in report.rows)
    return coords, seconds, report.verdict


def directional_cost(d_in, hidden, n, runs):
    """(parameters, directional check time, one float64 objective evaluation time, verdict)."""
    model, (x, y), loss = mlp(d_in, hidden), data(n, d_in), SoftmaxCrossEntropy()
    params = sum(p.size for p in model.parameters())
    t_dir = median([timed(lambda: check_directional(model, loss, x, y)) for _ in range(runs)])
    m64 = mlp(d_in, hidden).astype(np.float64)
    t_eval = median([timed(lambda: loss.forward(m64.forward(x), y)) for _ in range(runs)])
    return params, t_dir, t_eval, check_directional(model, loss, x, y).verdict


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    runs = 3 if args.quick else 7

    rows = []
    for d_in, hidden, n, k in ([(64, 50, 20, 50)] if args.quick else [(64, 50, 20, None), (784, 100, 20, 500)]):
        coords, seconds, verdict = coordinate_rate(d_in, hidden, n, k)
        rows.append([f"{d_in}-{hidden}-10, batch {n}", coords, f"{seconds:.2f}", f"{coords / seconds:,.0f}", verdict])
    print_table(f"Benchmark 3a -- check_model on an MLP (float64 copy, 2 evaluations per coordinate); "
                f"{os.cpu_count()} cores", ["model", "coordinates", "time [s]", "coordinates / s", "verdict"], rows)

    sizes = [(100, 100), (100, 1000), (1000, 1000)][: 2 if args.quick else 3]
    base = None
    rows = []
    for d_in, hidden in sizes:
        params, t_dir, t_eval, verdict = directional_cost(d_in, hidden, 20, runs)
        base = base or (params, t_dir)
        rows.append([f"{d_in}-{hidden}-10", f"{params:,}", f"{params / base[0]:.0f}x", f"{1e3 * t_dir:.1f}",
                     f"{t_dir / base[1]:.0f}x", f"{1e6 * t_dir / params * 1e3:.0f}",
                     f"{2 * params * t_eval:,.0f}", verdict])
    print_table("Benchmark 3b -- check_directional as the parameter count grows (batch 20, median of "
                f"{runs}); every row: 2 objective evaluations + 1 backward", [
                    "model", "parameters", "growth", "directional [ms]", "time growth", "us per 1k params",
                    "coordinate-wise check, est. [s]", "verdict"], rows)


if __name__ == "__main__":
    main()
