"""Re-run seed 004's setup and record its per-epoch curves (Venter, Theunissen & Davel 2021, section 4.1).

Fashion-MNIST, a 1x1000 ReLU MLP, 5 000 training and 5 000 validation images drawn from the training
files, plain SGD at lr 0.1, batch 64, 150 epochs.  Writes the per-epoch arrays of the run to an ``.npz``
(``--out``, default ``tests/data/seed004_fashion_1x1000.npz``) and prints what
``analysis.rising_loss_holding_accuracy`` finds on them.  Takes several minutes on two cores; it is not part
of the test suite -- ``tests/test_analysis.py`` tests the diagnosis on the recorded arrays.

    PYTHONPATH=$PWD python scripts/seed004_run.py [--epochs 150] [--seed 0] [--drop-last] [--out PATH]

Measured (2026-11-30, two cores shared with other jobs): 150 epochs in 340 s (seed 0), 838 s and 629 s
(seeds 1 and 2, under heavier load).  All three runs reach 100 % training accuracy (epochs 96, 112, 110)
and show the paper's effect: validation loss 30-35 % above its minimum (epochs 29, 22, 28) at the end
with validation accuracy within half a point.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--drop-last", action="store_true",
                    help="drop each epoch's short last batch (5000 = 78 x 64 + 8); the recorded fixture keeps it")
    ap.add_argument("--data-dir", default=os.environ.get("NN_SCRATCH_DATA", "/work/shared/data"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                  "seed004_fashion_1x1000.npz"))
    args = ap.parse_args(argv)

    from nn_scratch.analysis import rising_loss_holding_accuracy
    from nn_scratch.data import load_fashion_mnist
    from nn_scratch.layers import Linear, ReLU, Sequential
    from nn_scratch.losses import SoftmaxCrossEntropy
    from nn_scratch.optim import SGD
    from nn_scratch.trainer import Trainer

    X, y = load_fashion_mnist(args.data_dir, kind="train")          # pixels scaled to [0, 1]
    rng = np.random.default_rng(args.seed)
    idx = rng.permutation(X.shape[0])[:10_000]
    Xtr, ytr, Xva, yva = X[idx[:5000]], y[idx[:5000]], X[idx[5000:]], y[idx[5000:]]
    model = Sequential([Linear(784, 1000, rng=args.seed, input_grad=False), ReLU(),
                        Linear(1000, 10, rng=args.seed + 1)])
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), progress=False)
    t0 = time.perf_counter()
    h = trainer.fit(Xtr, ytr, Xva, yva, epochs=args.epochs, batch_size=64, seed=args.seed, drop_last=args.drop_last)
    seconds = time.perf_counter() - t0
    e = h.epochs
    arrays = {k: np.asarray(e[k], dtype=np.float64) for k in
              ("epoch", "train_loss", "train_loss_eval", "train_acc_eval", "val_loss", "val_acc")}
    arrays["seconds"] = np.float64(seconds)
    arrays["setup"] = np.array(f"Fashion-MNIST 5000 train / 5000 val (training files, seed {args.seed}), "
                               f"784-1000-10 ReLU MLP (He init), SGD lr 0.1, batch 64, {args.epochs} epochs"
                               f"{', drop_last' if args.drop_last else ''}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    i = int(np.argmin(arrays["val_loss"]))
    print(f"{args.epochs} epochs in {seconds:.0f} s; saved {os.path.abspath(args.out)}")
    print(f"min val loss {arrays['val_loss'][i]:.4f} at epoch {int(arrays['epoch'][i])} "
          f"(val acc {arrays['val_acc'][i]:.4f}); end: val loss {arrays['val_loss'][-1]:.4f}, "
          f"val acc {arrays['val_acc'][-1]:.4f}, train acc {arrays['train_acc_eval'][-1]:.4f}")
    print("diagnosis:", rising_loss_holding_accuracy(arrays["val_loss"], arrays["val_acc"], epochs=arrays["epoch"],
                                                     train_acc=arrays["train_acc_eval"]))


if __name__ == "__main__":
    main()
