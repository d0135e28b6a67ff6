"""Benchmark 2: Conv 3->32 (3x3, padding 1) + ReLU + 2x2 max-pool, forward and backward, on 64x3x32x32.

nn_scratch's ``Conv2D`` / ``ReLU`` / ``MaxPool2D`` against PyTorch CPU (``torch.nn.functional``), both
float32, both computing the input gradient as well (as a layer in the middle of a network must), with as
many threads as NumPy's BLAS.  Rounds are interleaved; the table gives median times and the median of the
per-round ratios.  A second pair of rows skips the input gradient (a first layer: ``input_grad=False`` here,
an input without ``requires_grad`` there).  The per-layer split of nn_scratch's step is printed below.

    python benchmarks/bench_conv.py [--runs 20]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import blas_threads, interleaved, load_torch, median, median_ratio, print_table, timed  # noqa: E402

from nn_scratch.layers import Conv2D, MaxPool2D, ReLU  # noqa: E402

SHAPE = (64, 3, 32, 32)


def nn_scratch_step(x, input_grad=True):
    conv, relu, pool = Conv2D(3, 32, 3, padding=1, rng=0, input_grad=input_grad), ReLU(), MaxPool2D(2)
    dy = np.ones((64, 32, 16, 16), dtype=np.float32)

    def step():
        pool.forward(relu.forward(conv.forward(x)))
        conv.backward(relu.backward(pool.backward(dy)))
    return step, (conv, relu, pool, dy)


def torch_step(torch, x, input_grad=True):
    F = torch.nn.functional
    conv = torch.nn.Conv2d(3, 32, 3, padding=1)
    xt = torch.from_numpy(x).requires_grad_(input_grad)
    dy = torch.ones(64, 32, 16, 16)

    def step():
        conv.zero_grad(set_to_none=True)
        xt.grad = None
        F.max_pool2d(F.relu(conv(xt)), 2).backward(dy)
    return step


def layer_split(layers, x, runs):
    """Median time of each layer's forward and backward inside the nn_scratch step."""
    conv, relu, pool, dy = layers
    a = conv.forward(x)
    b = relu.forward(a)
    pool.forward(b)
    d2 = pool.backward(dy)
    d1 = relu.backward(d2)
    parts = {"Conv2D.forward": lambda: conv.forward(x), "ReLU.forward": lambda: relu.forward(a),
             "MaxPool2D.forward": lambda: pool.forward(b), "MaxPool2D.backward": lambda: pool.backward(dy),
             "ReLU.backward": lambda: relu.backward(d2), "Conv2D.backward": lambda: conv.backward(d1)}
    return {name: median([timed(fn) for _ in range(runs)]) for name, fn in parts.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)

    x = np.random.default_rng(0).standard_normal(SHAPE, dtype=np.float32)
    step, layers = nn_scratch_step(x)
    contenders = {"nn_scratch": step, "nn_scratch, no input grad": nn_scratch_step(x, False)[0]}
    torch = None if args.no_torch else load_torch()
    if torch is not None:
        contenders["PyTorch CPU"] = torch_step(torch, x)
        contenders["PyTorch CPU, no input grad"] = torch_step(torch, x, False)
    for fn in contenders.values():
        fn()
    times = interleaved(args.runs, contenders)
    rows = []
    for name, ts in times.items():
        ref = ("PyTorch CPU, no input grad" if "no input" in name else "PyTorch CPU")
        vs = f"{median_ratio(times, name, ref):.2f}x" if torch is not None else "n/a"
        rows.append([name, f"{1e3 * median(ts):.1f}", vs])
    print_table(f"Benchmark 2 -- Conv2D(3->32, 3x3, pad 1) + ReLU + MaxPool2D(2), forward + backward, "
                f"x {SHAPE} float32; median of {args.runs} runs; {os.cpu_count()} cores, "
                f"{blas_threads()} BLAS threads", ["implementation", "step [ms]", "vs PyTorch"], rows)
    split = layer_split(layers, x, args.runs)
    print_table("nn_scratch step, per layer", ["part", "time [ms]"],
                [[name, f"{1e3 * t:.2f}"] for name, t in split.items()])
    return times


if __name__ == "__main__":
    main()
