"""Benchmark 5: sequence layers -- an LSTM and a transformer block, forward + backward, against PyTorch CPU;
and the training throughput of tutorial 10's transformer in tokens per second.

* LSTM(128 -> 256) on x (N 32, T 64, D 128): nn_scratch ``LSTM`` vs ``torch.nn.LSTM(batch_first=True)``.
* Pre-norm causal transformer block, D 128, 4 heads, MLP 512 with exact GELU, on x (32, 128, 128):
  ``TransformerBlock`` vs ``torch.nn.TransformerEncoderLayer(norm_first=True, activation="gelu", dropout=0)``
  with a causal mask.
Both float32, both computing the input gradient, with as many threads as NumPy's BLAS.  Rounds are
interleaved so load changes on a shared machine hit both sides alike; the table gives median times and the
median of the per-round ratios (targets: LSTM <= 2.0x, block <= 1.5x).  PyTorch is optional: without it its
rows are skipped with a note.

    python benchmarks/bench_sequence.py [--runs 10] [--quick]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import blas_threads, interleaved, load_torch, median, median_ratio, print_table  # noqa: E402

from nn_scratch.data import text  # noqa: E402
from nn_scratch.layers import (LSTM, LayerNorm, Linear, Sequential, TokenPositionEmbedding,  # noqa: E402
                               TransformerBlock)
from nn_scratch.losses import SequenceCrossEntropy  # noqa: E402
from nn_scratch.optim import Adam  # noqa: E402


def ours_lstm(x, H):
    layer = LSTM(x.shape[2], H, rng=0)
    dy = np.ones((*x.shape[:2], H), dtype=np.float32)

    def step():
        layer.forward(x)
        layer.backward(dy)
    return step


def torch_lstm(torch, x, H):
    lstm = torch.nn.LSTM(x.shape[2], H, batch_first=True)
    xt = torch.from_numpy(x).requires_grad_(True)
    dy = torch.ones(*x.shape[:2], H)

    def step():
        lstm.zero_grad(set_to_none=True)
        xt.grad = None
        lstm(xt)[0].backward(dy)
    return step


def ours_block(x, heads):
    block = TransformerBlock(x.shape[2], heads, mlp_ratio=4, causal=True, rng=0)
    dy = np.ones_like(x)

    def step():
        block.forward(x)
        block.backward(dy)
    return step


def torch_block(torch, x, heads):
    D, T = x.shape[2], x.shape[1]
    block = torch.nn.TransformerEncoderLayer(D, heads, dim_feedforward=4 * D, dropout=0.0, activation="gelu",
                                             batch_first=True, norm_first=True)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(T)
    xt = torch.from_numpy(x).requires_grad_(True)
    dy = torch.ones(*x.shape)

    def step():
        block.zero_grad(set_to_none=True)
        xt.grad = None
        block(xt, src_mask=mask, is_causal=True).backward(dy)
    return step


def tutorial_transformer_throughput(steps, T=64, batch_size=32, seed=0):
    """Tokens per second of training tutorial 10's transformer (same sizes; Adam, clipping, real text)."""
    corpus = text.load_tinyshakespeare()
    vocab = text.CharVocab(corpus)
    train, _ = text.split_by_position(vocab.encode(corpus))
    V, D = vocab.size, 44
    model = Sequential([TokenPositionEmbedding(V, T, D, rng=seed), TransformerBlock(D, 4, rng=seed + 1),
                        LayerNorm(D), Linear(D, V, init="zeros", rng=seed + 2)])
    loss = SequenceCrossEntropy()
    opt = Adam(model.parameters(), lr=3e-3, clip_norm=1.0)
    rng = np.random.default_rng(seed)
    times = []
    for _ in range(steps + 2):
        X, Y = text.random_windows(train, T, batch_size, rng)
        t0 = time.perf_counter()
        loss.forward(model.forward(X), Y)
        model.backward(loss.backward())
        opt.step()
        times.append(time.perf_counter() - t0)
    step = median(times[2:])
    return batch_size * T / step, step, sum(p.size for p in model.parameters())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="small sizes: checks that everything runs")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    if args.quick:
        lstm_shape, H, block_shape, runs, steps = (4, 8, 16), 32, (4, 16, 32), 2, 3
    else:
        lstm_shape, H, block_shape, runs, steps = (32, 64, 128), 256, (32, 128, 128), args.runs, 20
    x_lstm = rng.standard_normal(lstm_shape, dtype=np.float32)
    x_block = rng.standard_normal(block_shape, dtype=np.float32)
    torch = None if args.no_torch else load_torch()
    rows = []
    for what, target, ours, theirs in (
            (f"LSTM({lstm_shape[2]}->{H}) x {lstm_shape}", 2.0, ours_lstm(x_lstm, H),
             torch_lstm(torch, x_lstm, H) if torch else None),
            (f"TransformerBlock(D {block_shape[2]}, 4 heads, causal) x {block_shape}", 1.5,
             ours_block(x_block, 4), torch_block(torch, x_block, 4) if torch else None)):
        contenders = {"nn_scratch": ours} | ({"PyTorch CPU": theirs} if theirs else {})
        for fn in contenders.values():
            fn()
        times = interleaved(runs, contenders)
        ratio = median_ratio(times, "nn_scratch", "PyTorch CPU") if theirs else float("nan")
        rows.append([what, f"{1e3 * median(times['nn_scratch']):.1f}",
                     f"{1e3 * median(times['PyTorch CPU']):.1f}" if theirs else "n/a",
                     f"{ratio:.2f}x" if theirs else "n/a", f"<= {target}x",
                     ("met" if ratio <= target else "MISSED") if theirs else "n/a"])
    print_table(f"Benchmark 5 -- sequence layers, forward + backward, float32; median of {runs} interleaved runs; "
                f"{os.cpu_count()} cores, {blas_threads()} BLAS threads",
                ["workload", "nn_scratch [ms]", "PyTorch [ms]", "ratio", "target", ""], rows)
    tps, step, n_params = tutorial_transformer_throughput(steps)
    print_table("Tutorial 10's transformer (1 block, D 44, 4 heads, T 64, batch 32), one training step "
                f"(forward, loss, backward, Adam); median of {steps} steps",
                ["parameters", "step [ms]", "tokens / s"], [[n_params, f"{1e3 * step:.1f}", f"{tps:,.0f}"]])
    print("note: the machine is shared with other jobs; ratios come from the same rounds, absolute times "
          "vary with the load.")


if __name__ == "__main__":
    main()
