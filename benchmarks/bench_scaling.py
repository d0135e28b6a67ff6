"""Benchmark 7: how the cost grows -- batch size, hidden width, and a whole convnet epoch.

Part 1, MLP (784-H-10, ReLU, float32, SGD, one epoch of ``--samples`` rows of MNIST's shape, random data):
the epoch time of nn_scratch (``Trainer.fit`` on the README's model, default bookkeeping, no evaluation),
the hand-fused NumPy loop of benchmark 1 and PyTorch CPU, against the batch size (8, 32, 64, 256; H = 1000)
and against the hidden width (100, 300, 1000, 3000; batch 64).  Each configuration runs ``--runs`` rounds
in which the three contenders alternate; medians and per-round ratios.  The arithmetic of one epoch is
``N (4 D H + 6 H C)`` floating-point operations (forward 2DH + 2HC; backward 2DH for dW1, 4HC for dW2 and
dh; nobody computes the data's gradient), which gives GFLOP/s, set against the machine's GEMM peak
measured in the same run (the best of three 2048 x 2048 float32 products).

Part 2, the convnet of tutorial 08 on MNIST (conv 5x5, 8 filters, padding 2 -> ReLU -> 2x2 max-pool ->
linear 1568 -> 10; SGD lr 0.02, momentum 0.9, batch 64) for one ``Trainer.fit`` epoch on 10 000 MNIST
images, against the same network and loop in PyTorch.  Rows: ``fit`` without evaluation (the same work
as PyTorch's loop) and ``fit`` with its default end-of-epoch re-measurement.  Needs the MNIST files
(``--mnist``, default ``$NN_SCRATCH_SHARED_DATA/mnist`` or ``/work/shared/data/mnist``); skipped without.

Writes the figure ``scaling.png`` (``--out``, default ``benchmarks/figures``).

    python benchmarks/bench_scaling.py [--runs 3] [--samples 10000] [--mnist DIR] [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import blas_threads, interleaved, load_torch, median, median_ratio, print_table  # noqa: E402
from bench_mlp import CLASSES, D, fused_numpy_epoch, make_data, torch_epoch, trainer_epoch  # noqa: E402

from nn_scratch.layers import Conv2D, Flatten, Linear, MaxPool2D, ReLU, Sequential  # noqa: E402
from nn_scratch.losses import SoftmaxCrossEntropy  # noqa: E402
from nn_scratch.optim import SGD  # noqa: E402
from nn_scratch.trainer import Trainer  # noqa: E402

BATCHES, WIDTHS = (8, 32, 64, 256), (100, 300, 1000, 3000)
NAMES = ("nn_scratch Trainer.fit", "fused NumPy", "PyTorch CPU")


def gemm_peak(n=2048, repeats=3) -> float:
    """GFLOP/s of the best of ``repeats`` float32 (n x n) @ (n x n) products: 2 n^3 operations each."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    a @ b                                                     # warm-up (threads, pages)
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def mlp_flops(n, hidden):
    return n * (4 * D * hidden + 6 * hidden * CLASSES)


def mlp_config(X, y, torch, hidden, batch, runs):
    """Times of one epoch per contender (``{name: [round 1, ...]}``) for one (hidden, batch)."""
    order = np.random.default_rng(2).permutation(len(X))
    parts = [list(range(0, len(X), batch))]                  # one part: the whole epoch per call
    contenders = {NAMES[0]: trainer_epoch(X, y, order, parts, hidden=hidden, batch=batch)[0],
                  NAMES[1]: fused_numpy_epoch(X, y, order, parts, hidden=hidden, batch=batch)[0]}
    if torch is not None:
        contenders[NAMES[2]] = torch_epoch(torch, X, y, order, parts, hidden=hidden, batch=batch)
    calls = {name: (lambda f=f: f(0)) for name, f in contenders.items()}
    for f in calls.values():                                 # warm-up
        f()
    return interleaved(runs, calls)


# -- the convnet of tutorial 08 --------------------------------------------------------------------------------
def convnet(seed=1):
    rng = np.random.default_rng(seed)
    return Sequential([Conv2D(1, 8, 5, padding=2, rng=rng), ReLU(), MaxPool2D(2), Flatten(),
                       Linear(8 * 14 * 14, 10, rng=rng)])


def conv_contenders(torch, X, y):
    def nn(eval_train):
        model = convnet()
        trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.02, momentum=0.9),
                          progress=False)
        return lambda: trainer.fit(X, y, epochs=1, batch_size=64, seed=0, eval_train=eval_train)

    out = {"nn_scratch Trainer.fit, no evaluation": nn(False),
           "nn_scratch Trainer.fit, default evaluation": nn(True)}
    if torch is not None:
        F = torch.nn.functional
        conv, lin = torch.nn.Conv2d(1, 8, 5, padding=2), torch.nn.Linear(8 * 14 * 14, 10)
        opt = torch.optim.SGD(list(conv.parameters()) + list(lin.parameters()), lr=0.02, momentum=0.9)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        gen = np.random.default_rng(0)

        def torch_fit():
            perm = torch.from_numpy(gen.permutation(len(X)))
            for b in range(0, len(X), 64):
                idx = perm[b:b + 64]
                opt.zero_grad(set_to_none=True)
                h = F.max_pool2d(F.relu(conv(Xt[idx])), 2)
                F.cross_entropy(lin(h.flatten(1)), yt[idx]).backward()
                opt.step()
        out["PyTorch CPU"] = torch_fit
    return out


def find_mnist(arg):
    for d in ([arg] if arg else [os.path.join(os.environ.get("NN_SCRATCH_SHARED_DATA", "/work/shared/data"),
                                              "mnist")]):
        if d and os.path.exists(os.path.join(d, "train-images-idx3-ubyte.gz")):
            return d
    return None


# -- the figure -----------------------------------------------------------------------------------------------
def plot(batch_rows, width_rows, peak, n, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    fig = Figure(figsize=(14, 4.2), layout="constrained")
    ax_b, ax_w, ax_g = fig.subplots(1, 3)
    styles = {NAMES[0]: ("C0", "o"), NAMES[1]: ("C2", "s"), NAMES[2]: ("C3", "^")}
    for ax, rows, key, xlabel in ((ax_b, batch_rows, "batch", "batch size (hidden width 1000)"),
                                  (ax_w, width_rows, "hidden", "hidden width (batch 64)")):
        xs = [r[key] for r in rows]
        for name in NAMES:
            if name in rows[0]["times"]:
                c, m = styles[name]
                ax.plot(xs, [median(r["times"][name]) for r in rows], color=c, marker=m, label=name)
        ax.set_xscale("log", base=2 if key == "batch" else 10)
        ax.set_yscale("log")
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"epoch time [s] ({n} rows)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ax_b.set_title("Small batches: a fixed cost per step and layer", fontsize=10)
    ax_w.set_title("Wide layers: the matrix products (BLAS) dominate", fontsize=10)
    xs = [r["hidden"] for r in width_rows]
    for name in NAMES:
        if name in width_rows[0]["times"]:
            c, m = styles[name]
            ax_g.plot(xs, [mlp_flops(n, r["hidden"]) / median(r["times"][name]) / 1e9 for r in width_rows],
                      color=c, marker=m, label=name)
    ax_g.axhline(peak, color="k", ls="--", label=f"GEMM peak, 2048x2048 float32: {peak:.0f} GFLOP/s")
    ax_g.set_xscale("log")
    ax_g.set_xticks(xs, [str(x) for x in xs])
    ax_g.set_xlabel("hidden width (batch 64)")
    ax_g.set_ylabel("GFLOP/s of the epoch")
    ax_g.set_ylim(bottom=0)
    ax_g.set_title("Arithmetic rate vs the machine's GEMM peak", fontsize=10)
    ax_g.grid(True, alpha=0.3)
    ax_g.legend(fontsize=8)
    fig.suptitle(f"MLP 784-H-10, float32, SGD, one epoch of {n} rows; {os.cpu_count()} cores, "
                 f"{blas_threads()} BLAS threads; medians", fontsize=10)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--mnist", default=None)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures"))
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    torch = None if args.no_torch else load_torch()
    X, y = make_data(args.samples)
    peak = gemm_peak()
    where = f"{os.cpu_count()} cores, {blas_threads()} BLAS threads; median of {args.runs} runs"

    batch_rows = [{"batch": b, "hidden": 1000, "times": mlp_config(X, y, torch, 1000, b, args.runs)}
                  for b in BATCHES]
    width_rows = [next(r for r in batch_rows if r["batch"] == 64) if h == 1000 else
                  {"batch": 64, "hidden": h, "times": mlp_config(X, y, torch, h, 64, args.runs)} for h in WIDTHS]
    for rows, key, label in ((batch_rows, "batch", "batch size (H = 1000)"),
                             (width_rows, "hidden", "hidden width H (batch 64)")):
        table = []
        for r in rows:
            t = r["times"]
            flops = mlp_flops(args.samples, r["hidden"])
            cells = [r[key], f"{median(t[NAMES[0]]):.3f}", f"{median(t[NAMES[1]]):.3f}",
                     f"{median(t[NAMES[2]]):.3f}" if NAMES[2] in t else "n/a",
                     f"{median_ratio(t, NAMES[0], NAMES[1]):.2f}x",
                     f"{median_ratio(t, NAMES[0], NAMES[2]):.2f}x" if NAMES[2] in t else "n/a",
                     f"{flops / median(t[NAMES[0]]) / 1e9:.1f}", f"{flops / median(t[NAMES[1]]) / 1e9:.1f}"]
            table.append(cells)
        print_table(f"MLP 784-H-10, one epoch of {args.samples} rows, by {label}; {where}",
                    [key, "nn_scratch [s]", "fused [s]", "PyTorch [s]", "nn/fused", "nn/PyTorch",
                     "nn GFLOP/s", "fused GFLOP/s"], table)
    big = width_rows[-1]
    rate = mlp_flops(args.samples, big["hidden"]) / median(big["times"][NAMES[0]]) / 1e9
    print(f"GEMM peak (best of 3, 2048x2048 float32): {peak:.1f} GFLOP/s; the largest MLP (H = {big['hidden']}) "
          f"runs at {rate:.1f} GFLOP/s in nn_scratch = {100 * rate / peak:.0f} % of it")
    path = os.path.join(args.out, "scaling.png")
    plot(batch_rows, width_rows, peak, args.samples, path)
    print(f"figure: {path}")

    mnist = find_mnist(args.mnist)
    if mnist is None:
        print("note: MNIST files not found (--mnist DIR); the convnet comparison is skipped")
        return batch_rows, width_rows, None
    from nn_scratch.data import load_mnist
    Xm, ym = load_mnist(mnist, kind="train", flatten=False, limit=10000)
    Xm = np.ascontiguousarray(Xm[:, None], dtype=np.float32)
    calls = conv_contenders(torch, Xm, ym.astype(np.int64))
    for f in calls.values():                                 # warm-up
        f()
    ct = interleaved(args.runs, calls)
    ref = "PyTorch CPU" if "PyTorch CPU" in ct else None
    rows = [[name, f"{median(ts):.3f}", f"{median_ratio(ct, name, ref):.2f}x" if ref else "n/a"]
            for name, ts in ct.items()]
    print_table(f"Convnet of tutorial 08 (conv 5x5x8, ReLU, max-pool 2, linear), one epoch of {len(Xm)} MNIST "
                f"images, batch 64; {where}", ["implementation", "epoch [s]", "vs PyTorch"], rows)
    return batch_rows, width_rows, ct


if __name__ == "__main__":
    main()
