"""Benchmark 4: peak resident memory of benchmark 1 (one ``Trainer.fit`` epoch of the README's model, no
evaluation) against the float32 data size.

Each measurement runs in a fresh Python process that reports its own peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, kilobytes on Linux), so nothing earlier in this process
(PyTorch, other benchmarks) counts.  A second process that only imports NumPy and nn_scratch gives the
interpreter's own share.  Target: peak <= 2 x the data (X float32 + y int64).

    python benchmarks/bench_memory.py [--samples 60000]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = """
import resource, sys
sys.path.insert(0, {here!r})
import numpy as np
import bench_mlp
if {train}:
    X, y = bench_mlp.make_data({samples})
    from nn_scratch.losses import SoftmaxCrossEntropy
    from nn_scratch.optim import SGD
    from nn_scratch.trainer import Trainer
    model = bench_mlp.readme_model()
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=bench_mlp.LR), progress=False)
    trainer.fit(X, y, epochs=1, batch_size=bench_mlp.BATCH, eval_train=False)
    print(X.nbytes + y.nbytes)
else:
    print(0)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def child_peak(samples: int, train: bool):
    code = CHILD.format(here=HERE, samples=samples, train=train)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the measuring process failed:\n{proc.stderr}")
    out = proc.stdout.split()
    return int(out[0]), int(out[1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=60000)
    args = ap.parse_args(argv)
    data_bytes, peak = child_peak(args.samples, train=True)
    _, baseline = child_peak(args.samples, train=False)
    mb = lambda b: f"{b / 2**20:.0f}"
    rows = [["data (X float32 + y int64)", mb(data_bytes), "1.00x"],
            ["peak RSS, one Trainer.fit epoch", mb(peak), f"{peak / data_bytes:.2f}x"],
            ["  of which interpreter + numpy + nn_scratch", mb(baseline), f"{baseline / data_bytes:.2f}x"],
            ["  of which data and training", mb(peak - baseline), f"{(peak - baseline) / data_bytes:.2f}x"]]
    print_table(f"Benchmark 4 -- peak resident memory, {args.samples} samples of 784 float32 (target <= 2x data)",
                ["what", "MiB", "vs data"], rows)
    return peak / data_bytes


if __name__ == "__main__":
    main()
