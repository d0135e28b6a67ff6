"""Benchmark 1: one epoch of a 784-1000-10 ReLU MLP, float32, batch 64, plain SGD.

The model is built exactly as the README builds one -- ``Sequential([Linear(784, 1000), ReLU(),
Linear(1000, 10)])``, no flags -- so the numbers are those a user gets without knowing any trick.

Contenders, all on the same data:

* ``fused NumPy``   -- the whole step written out by hand in this file (the reference, ratio 1.00); it
  does not compute the data's gradient (nobody reads it);
* ``nn_scratch Trainer.fit`` -- that model trained by ``Trainer(model, SoftmaxCrossEntropy(), SGD(...),
  progress=False).fit(X, y, epochs=1, batch_size=64, eval_train=False)``: the trainer's defaults (NaN
  guard, update/weight ratio every 10 steps), no evaluation.  The trainer runs the forward pass inside
  ``skip_input_grad``, so the first layer skips the data's gradient by itself;
* ``nn_scratch, own loop`` -- the same layers in a hand-written loop (forward, loss, backward,
  ``optim.SGD.step``) that does not say the data's gradient is unused: the first layer computes it, as
  ``backward`` must when a caller may read it.  Same batches and weights as the fused loop;
* ``PyTorch CPU``   -- ``torch.nn`` with ``torch.optim.SGD``, as many threads as NumPy's BLAS
  (skipped with a note when PyTorch is not installed).

The data is random of MNIST's shape (60000 x 784, float32) unless ``--mnist DIR`` points at the original
MNIST files.  Each round trains every contender for one epoch, cut into 10 slices that are interleaved
(slice 1 by every contender, then slice 2, ...; the trainer gets one ``fit`` per slice, on that slice's
rows), so that the load of a shared machine hits all of them alike; the table gives the median epoch time
over rounds and the median of the per-round ratios.

    python benchmarks/bench_mlp.py [--runs 5] [--samples 60000] [--mnist /path/to/mnist]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import blas_threads, interleaved_parts, load_torch, median, median_ratio, print_table  # noqa: E402

from nn_scratch.layers import Linear, ReLU, Sequential  # noqa: E402
from nn_scratch.losses import SoftmaxCrossEntropy  # noqa: E402
from nn_scratch.optim import SGD  # noqa: E402
from nn_scratch.trainer import Trainer  # noqa: E402

D, HIDDEN, CLASSES, BATCH, LR = 784, 1000, 10, 64, 0.01


def make_data(samples: int, mnist_dir=None, seed: int = 0):
    """(X float32 (samples, 784), y int64): MNIST's training images when a folder is given, else random."""
    if mnist_dir:
        from nn_scratch.data import load_mnist
        return load_mnist(mnist_dir, kind="train", limit=samples)       # flattened (N, 784) by default
    rng = np.random.default_rng(seed)
    return rng.random((samples, D), dtype=np.float32), rng.integers(0, CLASSES, samples)


def epoch_parts(n, parts=10, batch=BATCH):
    """The batch start indices of one epoch, cut into ``parts`` consecutive slices."""
    return [list(a) for a in np.array_split(np.arange(0, n, batch), parts)]


def readme_model(seed=1, hidden=HIDDEN):
    """The README's way: no flags, the defaults of every layer."""
    return Sequential([Linear(D, hidden, rng=seed), ReLU(), Linear(hidden, CLASSES, rng=seed + 1)])


def trainer_epoch(X, y, order, parts, seed=1, hidden=HIDDEN, batch=BATCH):
    """``Trainer.fit`` on the README's model; ``train(k)`` fits one epoch on the rows of slice k."""
    model = readme_model(seed, hidden)
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=LR), progress=False)
    rows = {}
    for k, starts in enumerate(parts):             # each slice's rows, gathered once (not timed)
        idx = np.concatenate([order[i:i + batch] for i in starts])
        rows[k] = (X[idx], y[idx])

    def train(k):
        trainer.fit(*rows[k], epochs=1, batch_size=batch, seed=k, eval_train=False)
    return train, trainer


def nn_scratch_epoch(X, y, order, parts, seed=1):
    """The README's model in a hand-written loop; ``train(k)`` trains on the batches of slice k."""
    model = readme_model(seed)
    loss = SoftmaxCrossEntropy()
    opt = SGD(model.parameters(), lr=LR)

    def train(k):
        for i in parts[k]:
            idx = order[i:i + BATCH]
            scores = model.forward(X[idx])
            loss.forward(scores, y[idx])
            model.backward(loss.backward())            # returns dx: this loop might read it
            opt.step()
    return train, model


def fused_numpy_epoch(X, y, order, parts, seed=1, hidden=HIDDEN, batch=BATCH):
    """The same network and update, hand-fused: in-place ops, no objects, no input gradient of layer 1."""
    W1 = (np.random.default_rng(seed).standard_normal((D, hidden)) * np.sqrt(2 / D)).astype(np.float32)
    W2 = (np.random.default_rng(seed + 1).standard_normal((hidden, CLASSES)) * np.sqrt(2 / hidden)).astype(np.float32)
    b1, b2 = np.zeros(hidden, np.float32), np.zeros(CLASSES, np.float32)
    lr = np.float32(LR)
    weights = (W1, b1, W2, b2)

    def train(k):
        W1, b1, W2, b2 = weights                                # updated in place below
        for i in parts[k]:
            idx = order[i:i + batch]
            x, t = X[idx], y[idx]
            n = len(idx)
            h = x @ W1
            h += b1
            np.maximum(h, 0, out=h)
            p = h @ W2
            p += b2
            p -= p.max(axis=1, keepdims=True)                   # softmax, in place
            np.exp(p, out=p)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(n), t] -= 1                             # d(mean CE)/d(scores) = (p - onehot) / n
            p *= np.float32(1 / n)
            dh = p @ W2.T
            dh *= h > 0
            W2 -= lr * (h.T @ p)
            b2 -= lr * p.sum(axis=0)
            W1 -= lr * (x.T @ dh)
            b1 -= lr * dh.sum(axis=0)
    return train, weights


def torch_epoch(torch, X, y, order, parts, seed=1, hidden=HIDDEN, batch=BATCH):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(D, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, CLASSES))
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    Xt, yt, order_t = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(order)

    def train(k):
        for i in parts[k]:
            idx = order_t[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            opt.step()
    return train


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--samples", type=int, default=60000)
    ap.add_argument("--mnist", default=None, help="folder with the MNIST .gz files (default: random data)")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)

    X, y = make_data(args.samples, args.mnist)
    order = np.random.default_rng(2).permutation(len(X))
    parts = epoch_parts(len(X))
    fused, fused_weights = fused_numpy_epoch(X, y, order, parts)
    own_loop, own_model = nn_scratch_epoch(X, y, order, parts)
    contenders = {"fused NumPy": fused,
                  "nn_scratch Trainer.fit (README model)": trainer_epoch(X, y, order, parts)[0],
                  "nn_scratch, own loop (computes dx)": own_loop}
    torch = None if args.no_torch else load_torch()
    if torch is not None:
        contenders["PyTorch CPU"] = torch_epoch(torch, X, y, order, parts)
    for train in contenders.values():                           # warm-up: one epoch each
        for k in range(len(parts)):
            train(k)
    # same start, same batches: after one epoch the own loop and the fused loop must agree (float32 rounding)
    diff = max(float(np.max(np.abs(p.value - w))) for p, w in zip(own_model.parameters(), fused_weights))
    times = interleaved_parts(args.runs, contenders, list(range(len(parts))))
    rows = []
    for name, ts in times.items():
        vs_torch = f"{median_ratio(times, name, 'PyTorch CPU'):.2f}x" if torch is not None else "n/a"
        rows.append([name, f"{median(ts):.3f}", f"{median_ratio(times, name, 'fused NumPy'):.2f}x", vs_torch])
    print_table(f"Benchmark 1 -- one epoch, {len(X)} samples, 784-1000-10 ReLU MLP, float32, batch {BATCH}, "
                f"SGD; median of {args.runs} runs; {os.cpu_count()} cores, {blas_threads()} BLAS threads",
                ["implementation", "epoch [s]", "vs fused NumPy", "vs PyTorch"], rows)
    print(f"check: after one epoch, the own loop's and the fused loop's weights differ by at most {diff:.1e}")
    return times


if __name__ == "__main__":
    main()
