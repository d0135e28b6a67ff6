"""Benchmark 6: what the Trainer itself costs, on top of the training it runs.

The README's model (784-1000-10 ReLU MLP, float32, batch 64, ``optim.SGD``) on data of MNIST's shape
(50 000 training rows, 10 000 validation rows; random unless ``--mnist DIR``).  Three ways to run one
epoch, interleaved as in benchmark 1 (10 slices, the contenders alternating slice by slice):

* ``bare loop``        -- forward (inside ``skip_input_grad``, as the trainer does), loss, backward,
  ``optimizer.step()``, over a fresh permutation: the work of training and nothing else;
* ``Trainer.fit``      -- ``Trainer(..., progress=False).fit(X, y, epochs=1, eval_train=False)``: the default
  bookkeeping (NaN guard, weight snapshots and update/weight ratios every 10 steps, History rows), no
  evaluation;
* ``Trainer.fit, progress bar`` -- the same with the default tqdm bar (written to a null device).

Then, interleaved as well, what one end-of-epoch evaluation costs against that epoch: the training set
re-measured on the default seeded subset (as large as the validation set), the whole training set
(``fit(eval_train="all")``), and the validation set.  ``--profile`` adds a cProfile of one ``fit`` epoch.

    python benchmarks/bench_trainer.py [--runs 5] [--samples 60000] [--mnist DIR] [--profile]
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import blas_threads, interleaved, interleaved_parts, median, median_ratio, print_table  # noqa: E402

from nn_scratch.layers import Linear, ReLU, Sequential, skip_input_grad  # noqa: E402
from nn_scratch.losses import SoftmaxCrossEntropy  # noqa: E402
from nn_scratch.optim import SGD  # noqa: E402
from nn_scratch.trainer import Trainer  # noqa: E402

D, HIDDEN, CLASSES, BATCH, LR, PARTS = 784, 1000, 10, 64, 0.01, 10


def make_data(samples, mnist_dir=None, seed=0):
    if mnist_dir:
        from nn_scratch.data import load_mnist
        return load_mnist(mnist_dir, kind="train", limit=samples)
    rng = np.random.default_rng(seed)
    return rng.random((samples, D), dtype=np.float32), rng.integers(0, CLASSES, samples)


def readme_model(seed=1):
    return Sequential([Linear(D, HIDDEN, rng=seed), ReLU(), Linear(HIDDEN, CLASSES, rng=seed + 1)])


def bare_loop(slices, seed=1):
    """Forward / loss / backward / step over each slice's rows in a fresh order; nothing else."""
    model = readme_model(seed)
    loss, opt = SoftmaxCrossEntropy(), SGD(model.parameters(), lr=LR)
    rng = np.random.default_rng(0)

    def train(k):
        X, y = slices[k]
        perm = rng.permutation(len(X))
        for b in range(0, len(X), BATCH):
            idx = perm[b:b + BATCH]
            xb = X[idx]
            with skip_input_grad(xb):
                scores = model.forward(xb)
            loss.forward(scores, y[idx])
            model.backward(loss.backward())
            opt.step()
    return train


def trainer_fit(slices, seed=1, progress=False):
    model = readme_model(seed)
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=LR), progress=progress)

    def train(k):
        with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
            trainer.fit(*slices[k], epochs=1, batch_size=BATCH, seed=k, eval_train=False)
    return train, trainer


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--samples", type=int, default=60000, help="training + validation rows (5/6 : 1/6)")
    ap.add_argument("--mnist", default=None, help="folder with the MNIST .gz files (default: random data)")
    ap.add_argument("--profile", action="store_true", help="also print a cProfile of one Trainer.fit epoch")
    args = ap.parse_args(argv)

    X_all, y_all = make_data(args.samples, args.mnist)
    n_val = args.samples // 6
    X, y, X_val, y_val = X_all[n_val:], y_all[n_val:], X_all[:n_val], y_all[:n_val]
    slices = [(X[i], y[i]) for i in np.array_split(np.arange(len(X)), PARTS)]
    fit_plain, trainer = trainer_fit(slices)
    contenders = {"bare loop": bare_loop(slices), "Trainer.fit": fit_plain,
                  "Trainer.fit, progress bar": trainer_fit(slices, progress=True)[0]}
    for train in contenders.values():                                  # warm-up
        for k in range(PARTS):
            train(k)
    times = interleaved_parts(args.runs, contenders, list(range(PARTS)))
    rows = [[name, f"{median(ts):.3f}", f"{median_ratio(times, name, 'bare loop'):.3f}x"]
            for name, ts in times.items()]
    title = (f"Benchmark 6 -- the Trainer's own cost: one epoch of {len(X)} rows, 784-1000-10 MLP, float32, "
             f"batch {BATCH}, SGD; median of {args.runs} runs; {os.cpu_count()} cores, {blas_threads()} BLAS threads")
    print_table(title, ["one epoch", "time [s]", "vs bare loop"], rows)

    # one end-of-epoch evaluation against one epoch of training (both timed in the same rounds)
    subset = Trainer._train_eval_rows(True, len(X), n_val, seed=0)
    X_sub, y_sub = (X, y) if isinstance(subset, slice) else (X[subset], y[subset])
    epoch = lambda: [fit_plain(k) for k in range(PARTS)]                   # noqa: E731
    evals = {"epoch (Trainer.fit)": epoch,
             f"training set, default subset ({len(X_sub)} rows)": lambda: trainer.evaluate(X_sub, y_sub),
             f"training set, all ({len(X)} rows, eval_train='all')": lambda: trainer.evaluate(X, y),
             f"validation set ({len(X_val)} rows)": lambda: trainer.evaluate(X_val, y_val)}
    et = interleaved(args.runs, evals)
    rows = [[name, f"{median(ts):.3f}", "" if name.startswith("epoch") else
             f"{100 * median_ratio(et, name, 'epoch (Trainer.fit)'):.1f} %"] for name, ts in et.items()]
    print_table(f"End-of-epoch evaluation vs one training epoch (median of {args.runs})",
                ["work", "time [s]", "share of an epoch"], rows)
    default_share = median_ratio(et, f"training set, default subset ({len(X_sub)} rows)", "epoch (Trainer.fit)")
    print(f"targets: Trainer.fit <= 1.05x the bare loop: {median_ratio(times, 'Trainer.fit', 'bare loop'):.3f}x; "
          f"default re-measurement <= 15 % of an epoch: {100 * default_share:.1f} %")

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for k in range(PARTS):
            fit_plain(k)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
        print("\ncProfile of one Trainer.fit epoch (10 fits of one slice each), by own time:")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])
    return times, et


if __name__ == "__main__":
    main()
