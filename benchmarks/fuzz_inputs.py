"""Throw bad inputs at nn_scratch and sort what happens.  Not a test: a measurement (issue 9's table).

For every category -- library constructors, layer calls, losses, data files and data functions, optimizers
and schedules in use, ``Trainer.fit``, the ``nn-scratch demo`` command line, checkpoints -- it tries many
inputs that cannot work and files each outcome under one of

* ``clear``    an error that names the argument (or the file) at fault;
* ``unclear``  an error that does not (a bare numpy/Python message, a MemoryError, an AttributeError ...);
* ``silent``   no error: the bad input was accepted (or, for a schedule, the run trained uphill);
* ``lost``     something the user had was damaged: weights changed before the error, a model half
               overwritten by a failed load, an earlier run's files overwritten;
* ``handled``  the input was legitimately converted and gave the right result (integer input to a layer).

Run it from the repository root; it measures the ``nn_scratch`` found first on ``sys.path``::

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/fuzz_inputs.py            # table
    OPENBLAS_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/fuzz_inputs.py --list     # every case
    ... --category cli --list                                                          # one category

It takes about a minute on one core (the command-line cases start a Python process each).
"""
from __future__ import annotations

import argparse
import gzip
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

import nn_scratch
from nn_scratch import callbacks as cb, monitors as mon, schedules as sch, search
from nn_scratch.data import batches, make_gaussians, make_spiral, read_idx, train_val_test_split
from nn_scratch.data.splits import Standardizer
from nn_scratch.layers import (BatchNorm, Conv2D, Dropout, Flatten, LeakyReLU, Linear, MaxPool2D, ReLU,
                               Sequential, Sigmoid, Softmax, Tanh)
from nn_scratch.losses import L2, MSE, Flooding, MulticlassSVM, SoftmaxCrossEntropy
from nn_scratch.optim import SGD, Adagrad, Adam, RMSprop
from nn_scratch.trainer import Trainer

NAN, INF = float("nan"), float("inf")
OUTCOMES = ("clear", "unclear", "silent", "lost", "handled")
# exceptions that never explain a bad argument, whatever their text
UNCLEAR_TYPES = (MemoryError, AttributeError, KeyError, IndexError, ZeroDivisionError, RecursionError,
                 NameError, UnboundLocalError, OverflowError)

CASES = []   # (category, label, run) ; run() -> outcome string


def case(category, label):
    def register(run):
        CASES.append((category, label, run))
        return run
    return register


def judge(fn, keys, lost=None, handled=None):
    """Run ``fn``; ``keys``: strings of which one must appear in a clear message; ``lost()``: was data damaged;
    ``handled(result)``: a legitimate conversion that gave the right answer."""
    keys = [keys] if isinstance(keys, str) else list(keys)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn()
    except Exception as err:              # noqa: BLE001 -- sorting every kind of failure is the point
        if lost is not None and lost():
            return "lost", err
        text = str(err)
        if not isinstance(err, UNCLEAR_TYPES) and text and any(k in text for k in keys):
            return "clear", err
        return "unclear", err
    if lost is not None and lost():
        return "lost", None
    if handled is not None and handled(result):
        return "handled", None
    return "silent", None


# -- bad values by kind of argument ------------------------------------------------------------------------
BAD = {
    "positive": [NAN, INF, -INF, 0, -1.0, "0.5", None, True, [0.5]],
    "positive_or_none": [NAN, INF, -INF, 0, -1.0, "0.5", True, [0.5]],
    "nonneg": [NAN, INF, -INF, -1e-3, "0.5", None, True, [0.5]],
    "fraction": [NAN, INF, -0.1, 1.0, 1.5, "0.5", None, True],
    "finite": [NAN, INF, -INF, "1", None],
    "int_pos": [0, -3, 2.5, 2.0, "3", None, True, NAN],
    "int_pos_or_none": [0, -3, 2.5, "3", True],
    "int_nonneg": [-1, 1.5, "3", None, True],
    "dtype": [np.int32, np.int64, np.uint8, bool, "int16", np.complex128, "xyz"],
    "seed": [-1, 1.5, "7", True, NAN],
    "bool": ["no", None, 2],
    "string": [None, 3, "nonsense"],
    "path": [None, 3, ""],
}


def _params():
    return Linear(2, 2, rng=0).parameters()


CONSTRUCTORS = [
    ("Linear", lambda **k: Linear(**{"in_features": 2, "out_features": 3, **k}), "in_features", "int_pos"),
    ("Linear", lambda **k: Linear(**{"in_features": 2, "out_features": 3, **k}), "out_features", "int_pos"),
    ("Linear", lambda **k: Linear(2, 3, init="gaussian", **k), "weight_scale", "positive"),
    ("Linear", lambda **k: Linear(2, 3, **k), "dtype", "dtype"),
    ("Linear", lambda **k: Linear(2, 3, **k), "rng", "seed"),
    ("Linear", lambda **k: Linear(2, 3, **k), "init", "string"),
    ("Linear", lambda **k: Linear(2, 3, **k), "bias", "bool"),
    ("Conv2D", lambda **k: Conv2D(**{"in_channels": 1, "out_channels": 2, "kernel_size": 3, **k}),
     "in_channels", "int_pos"),
    ("Conv2D", lambda **k: Conv2D(**{"in_channels": 1, "out_channels": 2, "kernel_size": 3, **k}),
     "kernel_size", "int_pos"),
    ("Conv2D", lambda **k: Conv2D(1, 2, 3, **k), "stride", "int_pos"),
    ("Conv2D", lambda **k: Conv2D(1, 2, 3, **k), "padding", "int_nonneg"),
    ("Conv2D", lambda **k: Conv2D(1, 2, 3, **k), "weight_scale", "positive"),
    ("Conv2D", lambda **k: Conv2D(1, 2, 3, **k), "dtype", "dtype"),
    ("Conv2D", lambda **k: Conv2D(1, 2, 3, **k), "rng", "seed"),
    ("MaxPool2D", lambda **k: MaxPool2D(**k), "pool_size", "int_pos"),
    ("MaxPool2D", lambda **k: MaxPool2D(**k), "stride", "int_pos_or_none"),
    ("BatchNorm", lambda **k: BatchNorm(**{"num_features": 3, **k}), "num_features", "int_pos"),
    ("BatchNorm", lambda **k: BatchNorm(3, **k), "running_decay", "fraction"),
    ("BatchNorm", lambda **k: BatchNorm(3, **k), "eps", "positive"),
    ("BatchNorm", lambda **k: BatchNorm(3, **k), "dtype", "dtype"),
    ("Dropout", lambda **k: Dropout(**k), "drop_prob", "fraction"),
    ("Dropout", lambda **k: Dropout(**k), "rng", "seed"),
    ("LeakyReLU", lambda **k: LeakyReLU(**k), "alpha", "fraction"),
    ("MulticlassSVM", lambda **k: MulticlassSVM(**k), "margin", "positive"),
    ("L2", lambda **k: L2(**k), "reg", "nonneg"),
    ("Flooding", lambda **k: Flooding(SoftmaxCrossEntropy(), **k), "level", "nonneg"),
    ("SGD", lambda **k: SGD(_params(), **{"lr": 0.1, **k}), "lr", "nonneg"),
    ("SGD", lambda **k: SGD(_params(), 0.1, **k), "momentum", "fraction"),
    ("SGD", lambda **k: SGD(_params(), 0.1, **k), "weight_decay", "nonneg"),
    ("SGD", lambda **k: SGD(_params(), 0.1, **k), "clip_norm", "positive_or_none"),
    ("Adam", lambda **k: Adam(_params(), **k), "beta1", "fraction"),
    ("Adam", lambda **k: Adam(_params(), **k), "beta2", "fraction"),
    ("Adam", lambda **k: Adam(_params(), **k), "eps", "positive"),
    ("RMSprop", lambda **k: RMSprop(_params(), 0.1, **k), "decay", "fraction"),
    ("Adagrad", lambda **k: Adagrad(_params(), 0.1, **k), "eps", "positive"),
    ("constant", lambda **k: sch.constant(**k), "value", "finite"),
    ("step_decay", lambda **k: sch.step_decay(**{"init_value": 0.1, "factor": 0.5, "step_size": 10, **k}),
     "factor", "nonneg"),
    ("step_decay", lambda **k: sch.step_decay(**{"init_value": 0.1, "factor": 0.5, "step_size": 10, **k}),
     "step_size", "int_pos"),
    ("cosine_decay", lambda **k: sch.cosine_decay(**{"init_value": 0.1, "decay_steps": 10, **k}),
     "decay_steps", "int_pos"),
    ("one_cycle", lambda **k: sch.one_cycle(**{"max_value": 0.1, "total_steps": 10, **k}), "pct_start", "fraction"),
    ("ReduceOnPlateau", lambda **k: sch.ReduceOnPlateau(0.1, **k), "factor", "fraction"),
    ("ReduceOnPlateau", lambda **k: sch.ReduceOnPlateau(0.1, **k), "patience", "int_nonneg"),
    ("EarlyStopping", lambda **k: cb.EarlyStopping(mode="min", **k), "patience", "int_pos"),
    ("EarlyStopping", lambda **k: cb.EarlyStopping(mode="min", **k), "min_delta", "nonneg"),
    ("EarlyStopping", lambda **k: cb.EarlyStopping(**{"mode": "min", **k}), "monitor", "string"),
    ("EarlyStopping", lambda **k: cb.EarlyStopping(**k), "mode", "string"),
    ("WeightAverage", lambda **k: cb.WeightAverage(**k), "decay", "fraction"),
    ("Checkpoint", lambda **k: cb.Checkpoint("ckpts", mode="min", **k), "every", "int_pos_or_none"),
    ("Checkpoint", lambda **k: cb.Checkpoint(**{"dirpath": "ckpts", "mode": "min", **k}), "dirpath", "path"),
    ("ActivationStats", lambda **k: mon.ActivationStats(np.zeros((2, 3)), **k), "bins", "int_pos"),
    ("ActivationStats", lambda **k: mon.ActivationStats(np.zeros((2, 3)), **k), "sample_size", "int_nonneg"),
    ("ActivationStats", lambda **k: mon.ActivationStats(np.zeros((2, 3)), **k), "seed", "seed"),
    ("UpdateRatio", lambda **k: mon.UpdateRatio(**k), "every", "int_pos"),
    ("Uniform", lambda **k: search.Uniform(**{"low": 0.0, "high": 1.0, **k}), "low", "finite"),
    ("LogUniform", lambda **k: search.LogUniform(**{"low": 1e-3, "high": 1.0, **k}), "low", "positive"),
    ("IntUniform", lambda **k: search.IntUniform(**{"low": 1, "high": 5, **k}), "high", "int_pos"),
    ("make_spiral", lambda **k: make_spiral(**k), "n_per_class", "int_pos"),
    ("make_spiral", lambda **k: make_spiral(**k), "noise", "nonneg"),
    ("make_spiral", lambda **k: make_spiral(**k), "seed", "seed"),
    ("make_gaussians", lambda **k: make_gaussians(**k), "std", "nonneg"),
    ("make_gaussians", lambda **k: make_gaussians(**k), "separation", "nonneg"),
    ("batches", lambda **k: batches(np.zeros((4, 2)), **k), "batch_size", "int_pos"),
    ("train_val_test_split", lambda **k: train_val_test_split(np.zeros((20, 2)), np.arange(20) % 2, **k),
     "val", "fraction"),
    ("Standardizer", lambda **k: Standardizer(**k), "eps", "nonneg"),
    ("Standardizer", lambda **k: Standardizer(**k), "dtype", "dtype"),
]

for _who, _make, _arg, _kind in CONSTRUCTORS:
    for _bad in BAD[_kind]:
        case("constructors", f"{_who}({_arg}={_bad!r})")(
            lambda make=_make, arg=_arg, bad=_bad: judge(lambda: make(**{arg: bad}), [f"'{arg}'", arg]))

# whole-argument cases the adversarial pass quoted
for _label, _fn, _keys in [
    ("Flooding(loss=None)", lambda: Flooding(None, 0.1), "loss"),
    ("Flooding(loss=<the class>)", lambda: Flooding(SoftmaxCrossEntropy, 0.1), "loss"),
    ("Sequential(None)", lambda: Sequential(None), "layers"),
    ("Sequential(Linear(2, 3))", lambda: Sequential(Linear(2, 3)), "layers"),
    ("Sequential([Linear, 'relu'])", lambda: Sequential([Linear(2, 3), "relu"]), "layers"),
    ("Conv2D(kernel_size=(3,))", lambda: Conv2D(1, 2, (3,)), "kernel_size"),
    ("Conv2D(kernel_size=(3, 3, 3))", lambda: Conv2D(1, 2, (3, 3, 3)), "kernel_size"),
    ("Conv2D(kernel_size=None)", lambda: Conv2D(1, 2, None), "kernel_size"),
    ("Conv2D(kernel_size='3')", lambda: Conv2D(1, 2, "3"), "kernel_size"),
    ("Trainer(loss=None)", lambda: Trainer(Linear(2, 2), None, SGD(Linear(2, 2).parameters(), 0.1)), "loss"),
    ("Trainer(reg=-1)", lambda: Trainer(Linear(2, 2), SoftmaxCrossEntropy(), SGD(Linear(2, 2).parameters(), 0.1),
                                        reg=-1.0), "reg"),
    ("Choice([])", lambda: search.Choice([]), "options"),
    ("Parameter('abc')", lambda: __import__("nn_scratch.layers", fromlist=["Parameter"]).Parameter("abc"), "value"),
    ("Parameter(None)", lambda: __import__("nn_scratch.layers", fromlist=["Parameter"]).Parameter(None), "value"),
    ("SGD(<the model>, 0.1)", lambda: SGD(Sequential([Linear(2, 2)]), 0.1), "params"),
    ("lbfgs(maxiter=True)", lambda: __import__("nn_scratch.optim", fromlist=["lbfgs"]).lbfgs(
        Linear(2, 3, rng=0), SoftmaxCrossEntropy(), np.zeros((3, 2)), np.zeros(3, int), maxiter=True), "maxiter"),
    ("join(boundaries=[5, 3])", lambda: sch.join([sch.constant(1), sch.constant(2), sch.constant(3)], [5, 3]),
     "boundaries"),
    ("PerSampleLoss(X 3 rows, y 2 rows)", lambda: mon.PerSampleLoss(X=np.zeros((3, 2)), y=np.zeros(2, int)), "y"),
    ("GradientStats(y_probe too short)", lambda: mon.GradientStats(np.zeros((3, 2)), np.zeros(2, int)), "y_probe"),
]:
    case("constructors", _label)(lambda fn=_fn, keys=_keys: judge(fn, keys))
def _trainer(**kwargs):
    model = Linear(2, 2, rng=0)
    return Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), 0.1), progress=False, **kwargs)


case("constructors", "Trainer(callbacks=None)")(          # None meaning "no callbacks" is fine, if documented
    lambda: judge(lambda: _trainer(callbacks=None), "callbacks", handled=lambda t: list(t.callbacks) == []))
case("constructors", "Trainer(callbacks=EarlyStopping(...))")(
    lambda: judge(lambda: _trainer(callbacks=cb.EarlyStopping(mode="min")), "callbacks"))
case("constructors", "Trainer(print_every=0)")(lambda: judge(lambda: _trainer(print_every=0), "print_every"))
case("constructors", "Trainer(update_ratio_every=-1)")(
    lambda: judge(lambda: _trainer(update_ratio_every=-1), "update_ratio_every"))


# -- layer calls -----------------------------------------------------------------------------------------
def _layer_zoo():
    img = np.random.default_rng(0).standard_normal((2, 1, 4, 4))
    vec = np.random.default_rng(1).standard_normal((3, 4))
    return [("ReLU", ReLU, vec), ("LeakyReLU", lambda: LeakyReLU(0.1), vec), ("Tanh", Tanh, vec),
            ("Sigmoid", Sigmoid, vec), ("Softmax", Softmax, vec), ("Dropout", lambda: Dropout(0.5, rng=0), vec),
            ("Flatten", Flatten, img), ("Linear", lambda: Linear(4, 2, rng=0), vec),
            ("Conv2D", lambda: Conv2D(1, 2, 3, rng=0), img), ("MaxPool2D", lambda: MaxPool2D(2), img),
            ("BatchNorm", lambda: BatchNorm(4), vec)]


for _name, _make, _x in _layer_zoo():
    case("layer calls", f"{_name}.backward before forward")(
        lambda make=_make: judge(lambda: make().backward(np.ones((3, 4))), "forward"))

    def _wrong_dy(make=_make, x=_x, variant=0):
        layer = make()
        y = layer.forward(x)
        bad = [np.ones(y.shape[1:]), np.ones((1,) + y.shape[1:]), np.ones(y.shape + (1,))][variant]
        return judge(lambda: layer.backward(bad), "dy")
    for _v, _what in enumerate(["without the batch axis", "with batch 1", "with an extra axis"]):
        case("layer calls", f"{_name}.backward(dy {_what})")(lambda f=_wrong_dy, v=_v: f(variant=v))
    case("layer calls", f"{_name}.forward(strings)")(
        lambda make=_make, x=_x: judge(lambda: make().forward(x.astype(str)), "x"))

for _name, _make, _x, _bad in [
    ("Linear", lambda: Linear(4, 2), np.zeros((3, 5)), "5 features"),
    ("Linear", lambda: Linear(4, 2), np.zeros(4), "1-D x"),
    ("Conv2D", lambda: Conv2D(3, 2, 3), np.zeros((2, 1, 5, 5)), "1 channel for 3"),
    ("Conv2D", lambda: Conv2D(1, 2, 5), np.zeros((2, 1, 3, 3)), "image smaller than the kernel"),
    ("MaxPool2D", lambda: MaxPool2D(2), np.zeros((2, 4, 4)), "3-D x"),
    ("BatchNorm", lambda: BatchNorm(4), np.zeros((1, 4)), "batch of 1 in training"),  # names the batch
    ("BatchNorm", lambda: BatchNorm(4), np.zeros((3, 5)), "5 features for 4"),
    ("Softmax", Softmax, np.float64(1.0), "a scalar"),
    ("Flatten", Flatten, np.float64(1.0), "a scalar"),
]:
    case("layer calls", f"{_name}.forward({_bad})")(
        lambda make=_make, x=_x: judge(lambda: make().forward(x), ["'x'", "input", "batch"]))


def _load_state(W):
    layer = Linear(2, 2, rng=0)
    before = layer.W.value.copy()
    return judge(lambda: layer.load_state_dict({"W": W, "b": np.ones(2)}), "W",
                 lost=lambda: not np.array_equal(layer.W.value, before) or np.any(layer.b.value != 0))


case("layer calls", "Linear.load_state_dict(W of strings)")(lambda: _load_state(np.full((2, 2), "a")))
case("layer calls", "Linear.load_state_dict(W with NaN)")(lambda: _load_state(np.full((2, 2), NAN)))
case("layer calls", "Linear.load_state_dict(W of the wrong shape)")(lambda: _load_state(np.zeros((3, 2))))


def _int_input(make, x_int, expected):
    def run():
        return make().forward(x_int)
    return judge(run, "x", handled=lambda y: y is not None and np.issubdtype(np.asarray(y).dtype, np.floating)
                 and np.allclose(y, expected))


case("layer calls", "LeakyReLU(0.1).forward(int array)")(
    lambda: _int_input(lambda: LeakyReLU(0.1), np.array([[-3, 2, -1]]), [[-0.3, 2.0, -0.1]]))
case("layer calls", "Dropout(0.5).forward(int array)")(
    lambda: _int_input(lambda: Dropout(0.5, rng=0), np.full((2, 4), 3),
                       Dropout(0.5, rng=0).forward(np.full((2, 4), 3.0))))
case("layer calls", "Dropout(0.5).backward(int dy)")(
    lambda: (lambda d: judge(lambda: d.backward(np.ones((2, 4), dtype=int)), "dy",
                             handled=lambda dx: np.allclose(dx, d.mask)))(
        (lambda d: (d.forward(np.ones((2, 4))), d)[1])(Dropout(0.5, rng=0))))


# -- sequence layers (when this version has them) ---------------------------------------------------------------
try:
    from nn_scratch.layers import (GELU, LSTM, RNN, Embedding, LayerNorm, MultiHeadAttention,  # noqa: E402
                                   TokenPositionEmbedding, TransformerBlock)
except ImportError:
    Embedding = None
if Embedding is not None:
    for _who, _make, _arg, _kind in [
        ("Embedding", lambda **k: Embedding(**{"num_embeddings": 5, "embedding_dim": 4, **k}), "num_embeddings",
         "int_pos"),
        ("Embedding", lambda **k: Embedding(5, 4, **k), "weight_scale", "positive"),
        ("Embedding", lambda **k: Embedding(5, 4, **k), "dtype", "dtype"),
        ("Embedding", lambda **k: Embedding(5, 4, **k), "rng", "seed"),
        ("RNN", lambda **k: RNN(**{"input_size": 3, "hidden_size": 4, **k}), "hidden_size", "int_pos"),
        ("RNN", lambda **k: RNN(3, 4, **k), "rng", "seed"),
        ("RNN", lambda **k: RNN(3, 4, **k), "dtype", "dtype"),
        ("LSTM", lambda **k: LSTM(3, 4, **k), "forget_bias", "finite"),
        ("LSTM", lambda **k: LSTM(3, 4, **k), "input_grad", "bool"),
        ("LayerNorm", lambda **k: LayerNorm(4, **k), "eps", "positive"),
        ("LayerNorm", lambda **k: LayerNorm(4, **k), "dtype", "dtype"),
        ("MultiHeadAttention", lambda **k: MultiHeadAttention(**{"embed_dim": 4, "num_heads": 2, **k}),
         "num_heads", "int_pos"),
        ("MultiHeadAttention", lambda **k: MultiHeadAttention(4, 2, **k), "dropout", "fraction"),
        ("MultiHeadAttention", lambda **k: MultiHeadAttention(4, 2, **k), "causal", "bool"),
        ("MultiHeadAttention", lambda **k: MultiHeadAttention(4, 2, **k), "rng", "seed"),
        ("TransformerBlock", lambda **k: TransformerBlock(4, 2, **k), "mlp_ratio", "int_pos"),
        ("TransformerBlock", lambda **k: TransformerBlock(4, 2, **k), "dropout", "fraction"),
        ("TokenPositionEmbedding", lambda **k: TokenPositionEmbedding(**{"vocab_size": 5, "max_len": 3,
                                                                         "embed_dim": 4, **k}), "max_len", "int_pos"),
    ]:
        for _bad in BAD[_kind]:
            case("sequence layers", f"{_who}({_arg}={_bad!r})")(
                lambda make=_make, arg=_arg, bad=_bad: judge(lambda: make(**{arg: bad}), [f"'{arg}'", arg]))
    _xs = np.random.default_rng(0).standard_normal((2, 3, 4))
    _idx = np.array([[0, 2, 1], [3, 3, 0]])
    for _name, _make, _x in [("GELU", GELU, _xs), ("LayerNorm", lambda: LayerNorm(4), _xs),
                             ("RNN", lambda: RNN(4, 5, rng=0), _xs), ("LSTM", lambda: LSTM(4, 5, rng=0), _xs),
                             ("MultiHeadAttention", lambda: MultiHeadAttention(4, 2, rng=0), _xs),
                             ("TransformerBlock", lambda: TransformerBlock(4, 2, rng=0), _xs),
                             ("Embedding", lambda: Embedding(5, 4, rng=0), _idx),
                             ("TokenPositionEmbedding", lambda: TokenPositionEmbedding(5, 3, 4, rng=0), _idx)]:
        case("sequence layers", f"{_name}.backward before forward")(
            lambda make=_make: judge(lambda: make().backward(np.ones((2, 3, 4))), "forward"))

        def _seq_wrong_dy(make=_make, x=_x):
            layer = make()
            y = layer.forward(x)
            return judge(lambda: layer.backward(np.ones((1,) + y.shape[1:])), "dy")
        case("sequence layers", f"{_name}.backward(dy with batch 1)")(_seq_wrong_dy)
    for _name, _fn in [
        ("Embedding.forward(ids 1.0, 2.0)", lambda: Embedding(5, 4).forward(np.array([[1.0, 2.0]]))),
        ("Embedding.forward(id 5 of 5)", lambda: Embedding(5, 4).forward(np.array([[1, 5]]))),
        ("RNN.forward(2-D x)", lambda: RNN(4, 5).forward(np.zeros((2, 4)))),
        ("LSTM.forward(h0 with 3 rows for 2)", lambda: LSTM(4, 5).forward(np.zeros((2, 3, 4)), h0=np.zeros((3, 5)))),
        ("MultiHeadAttention.forward(5 features for 4)", lambda: MultiHeadAttention(4, 2).forward(np.zeros((2, 3, 5)))),
        ("TokenPositionEmbedding.forward(T=4 > max_len 3)",
         lambda: TokenPositionEmbedding(5, 3, 4).forward(np.zeros((2, 4), int))),
    ]:
        case("sequence layers", _name)(lambda fn=_fn: judge(fn, ["'x'", "'idx'", "'h0'", "x", "idx"]))
    try:
        from nn_scratch.generate import sample_next
    except ImportError:
        sample_next = None
    if sample_next is not None:
        for _label, _kw, _keys in [("temperature=-1", {"temperature": -1.0}, "temperature"),
                                   ("temperature=inf", {"temperature": INF}, "temperature"),
                                   ("top_k=0", {"top_k": 0}, "top_k"), ("top_k=2.5", {"top_k": 2.5}, "top_k"),
                                   ("rng=-3", {"rng": -3}, "rng")]:
            case("sequence layers", f"sample_next({_label})")(
                lambda kw=_kw, keys=_keys: judge(lambda: sample_next(np.arange(5.0), **kw), keys))
    case("sequence layers", "GELU.forward(int array)")(
        lambda: _int_input(GELU, np.array([[-1, 0, 2]]), GELU().forward(np.array([[-1.0, 0.0, 2.0]]))))


# -- losses -----------------------------------------------------------------------------------------------
_S = np.random.default_rng(0).standard_normal((4, 3))
for _label, _loss, _scores, _y, _keys in [
    ("label 3 for 3 classes", SoftmaxCrossEntropy, _S, [0, 1, 2, 3], "y"),
    ("label -1", SoftmaxCrossEntropy, _S, [0, 1, 2, -1], "y"),
    ("label 1.5", SoftmaxCrossEntropy, _S, [0, 1, 2, 1.5], "y"),
    ("labels as strings", SoftmaxCrossEntropy, _S, ["a", "b", "c", "a"], "y"),
    ("3 labels for 4 rows", SoftmaxCrossEntropy, _S, [0, 1, 2], "y"),
    ("labels (4, 1)", SoftmaxCrossEntropy, _S, [[0], [1], [2], [0]], "y"),
    ("y None", SoftmaxCrossEntropy, _S, None, "y"),
    ("one-hot labels", SoftmaxCrossEntropy, _S, np.eye(3)[[0, 1, 2, 0]], "y"),
    ("NaN score", SoftmaxCrossEntropy, np.where(_S > 1, NAN, _S), [0, 1, 2, 0], "scores"),
    ("1-D scores", SoftmaxCrossEntropy, _S[:, 0], [0, 1, 2, 0], "scores"),
    ("empty batch", SoftmaxCrossEntropy, np.zeros((0, 3)), np.zeros(0, int), "scores"),
    ("string scores", SoftmaxCrossEntropy, _S.astype(str), [0, 1, 2, 0], "scores"),
    ("SVM label 5", MulticlassSVM, _S, [0, 1, 2, 5], "y"),
    ("SVM NaN score", MulticlassSVM, np.full((4, 3), NAN), [0, 1, 2, 0], "scores"),
    ("MSE target shape (4, 2) for (4, 3)", MSE, _S, np.zeros((4, 2)), "y"),
    ("MSE target (3,) for (4, 1)", MSE, _S[:, :1], np.zeros(3), "y"),
    ("MSE NaN target", MSE, _S, np.full((4, 3), NAN), "y"),
    ("MSE string target", MSE, _S, np.full((4, 3), "a"), "y"),
]:
    case("losses", f"{_loss.__name__}: {_label}")(
        lambda loss=_loss, s=_scores, y=_y, keys=_keys: judge(lambda: loss().forward(s, y), keys))
case("losses", "backward before forward")(lambda: judge(lambda: SoftmaxCrossEntropy().backward(), "forward"))
case("losses", "Flooding(MSE) with class labels")(
    lambda: judge(lambda: Flooding(MSE(), 0.1).forward(_S, [0, 1, 2, 0]), "y"))


# -- data files and data functions --------------------------------------------------------------------------
def _idx_header(dims, type_code=0x08):
    return bytes([0, 0, type_code, len(dims)]) + np.asarray(dims, dtype=">u4").tobytes()


_GOOD_IDX = _idx_header([5, 4, 4]) + bytes(80)
IDX_FILES = {
    "header promises 2^32-1 images (plain)": _idx_header([2 ** 32 - 1, 28, 28]) + bytes(784 * 3),
    "header promises 2^32-1 images (gzip)": gzip.compress(_idx_header([2 ** 32 - 1, 28, 28]) + bytes(784 * 3)),
    "zero items": _idx_header([0, 28, 28]),
    "zero items (gzip)": gzip.compress(_idx_header([0, 28, 28])),
    "a zero inner size": _idx_header([5, 0, 28]),
    "truncated body": _GOOD_IDX[:-7],
    "truncated gzip stream": gzip.compress(_GOOD_IDX)[:-12],
    "trailing bytes": _GOOD_IDX + b"junk",
    "empty file": b"",
    "3-byte file": b"\x00\x00\x08",
    "bad magic": b"\x12\x34\x08\x03" + _GOOD_IDX[4:],
    "unknown type code": _idx_header([5, 4, 4], type_code=0x07) + bytes(80),
    "ndim 0": bytes([0, 0, 8, 0]),
    "header cut inside the sizes": _GOOD_IDX[:9],
    "a text file": b"hello, this is not an IDX file\n" * 3,
}


def _file_case(raw, loader, keys_of_path=True):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "images.idx"
        path.write_bytes(raw)
        return judge(lambda: loader(path), [str(path)] if keys_of_path else [path.name])


for _label, _raw in IDX_FILES.items():
    case("data", f"read_idx: {_label}")(lambda raw=_raw: _file_case(raw, read_idx))


def _mnist_folder_case(images_raw, labels_raw):
    from nn_scratch.data import load_mnist
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "mnist"
        folder.mkdir()
        (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(images_raw))
        (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels_raw))
        return judge(lambda: load_mnist(d, kind="test", verify=False), ["idx", "ubyte"])


case("data", "load_mnist: 3 images, 2 labels")(
    lambda: _mnist_folder_case(_idx_header([3, 28, 28]) + bytes(3 * 784), _idx_header([2]) + bytes(2)))
case("data", "load_mnist: labels file holds images")(
    lambda: _mnist_folder_case(_idx_header([3, 28, 28]) + bytes(3 * 784), _idx_header([3, 28, 28]) + bytes(3 * 784)))
case("data", "load_mnist: label 200")(
    lambda: _mnist_folder_case(_idx_header([2, 28, 28]) + bytes(2 * 784), _idx_header([2]) + bytes([3, 200])))
case("data", "load_mnist: zero images")(
    lambda: _mnist_folder_case(_idx_header([0, 28, 28]), _idx_header([0])))


def _cifar_case(raw):
    from nn_scratch.data import load_cifar10
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "cifar-10-batches-bin"
        folder.mkdir()
        (folder / "test_batch.bin").write_bytes(raw)
        return judge(lambda: load_cifar10(d, kind="test", verify=False), ["test_batch"])


case("data", "load_cifar10: short test batch")(lambda: _cifar_case(bytes(3073 * 3 + 5)))
case("data", "load_cifar10: empty test batch")(lambda: _cifar_case(b""))
case("data", "load_cifar10: label byte 12")(lambda: _cifar_case(bytes([12]) + bytes(3072)))

for _label, _fn, _keys in [
    ("batches(X 4 rows, y 3)", lambda: list(batches(np.zeros((4, 2)), np.zeros(3))), "y"),
    ("batches(X empty)", lambda: list(batches(np.zeros((0, 2)), np.zeros(0))), "X"),
    ("train_val_test_split(val=0.6, test=0.6)",
     lambda: train_val_test_split(np.zeros((20, 2)), np.arange(20) % 2, val=0.6, test=0.6), "val"),
    ("train_val_test_split(y strings)", lambda: train_val_test_split(np.zeros((4, 2)), None), "y"),
    ("Standardizer().transform before fit", lambda: Standardizer().transform(np.zeros((2, 2))), "fit"),
    ("Standardizer.transform(wrong features)",
     lambda: Standardizer().fit(np.zeros((3, 2))).transform(np.zeros((3, 4))), "X"),
    ("Standardizer.fit(NaN)", lambda: Standardizer().fit(np.array([[1.0], [NAN]])), "X"),
    ("make_spiral(n_classes=0)", lambda: make_spiral(10, 0), "n_classes"),
]:
    case("data", _label)(lambda fn=_fn, keys=_keys: judge(fn, keys))


# -- optimizers and schedules in use ----------------------------------------------------------------------------
def _uphill(opt_kwargs, steps=6, make=SGD, keys=("lr", "momentum", "weight_decay")):
    """Train y = w on f(w) = w^2 with a schedule that goes bad; 'silent' if the loss went up unchecked."""
    model = Linear(1, 1, rng=0, bias=False)
    model.W.value[...] = 1.0
    opt = make(model.parameters(), **opt_kwargs)
    values = []

    def run():
        for _ in range(steps):
            model.W.grad[...] = 2 * model.W.value
            opt.step()
            values.append(float(model.W.value[0, 0] ** 2))
        return values
    outcome, err = judge(run, keys)
    if outcome == "silent" and (not np.all(np.isfinite(values)) or values[-1] < 1.0):
        return "silent", None        # no error; the loss either exploded or went down anyway (still unchecked)
    return outcome, err


for _label, _kw, _make in [
    ("lr schedule goes negative", {"lr": sch.linear(0.1, -0.2, 3)}, SGD),
    ("lr schedule returns NaN", {"lr": lambda t: NAN if t >= 2 else 0.1}, SGD),
    ("lr schedule returns inf", {"lr": lambda t: INF if t >= 2 else 0.1}, SGD),
    ("lr schedule returns a string", {"lr": lambda t: "0.1"}, SGD),
    ("momentum schedule reaches 1.2", {"lr": 0.01, "momentum": sch.linear(0.5, 1.2, 3)}, SGD),
    ("momentum schedule negative", {"lr": 0.01, "momentum": lambda t: -0.5}, SGD),
    ("weight decay schedule negative", {"lr": 0.01, "weight_decay": lambda t: -5.0}, SGD),
    ("Adam lr schedule negative", {"lr": lambda t: -0.1}, Adam),
    ("RMSprop lr schedule negative", {"lr": lambda t: -0.1}, RMSprop),
]:
    case("optimizers/schedules", _label)(lambda kw=_kw, make=_make: _uphill(kw, make=make))


def _set_lr(value):
    opt = SGD(_params(), 0.1)

    def run():
        opt.lr = value
    return judge(run, "lr")


for _v in (-1.0, NAN, "fast", None):
    case("optimizers/schedules", f"optimizer.lr = {_v!r}")(lambda v=_v: _set_lr(v))


def _load_opt_state(mutate):
    opt = SGD(_params(), 0.1, momentum=0.9)
    st = opt.state_dict()
    mutate(st)
    return judge(lambda: opt.load_state_dict(st), ["momentum", "t", "state", "key", "shape"])


case("optimizers/schedules", "SGD.load_state_dict(missing velocity)")(
    lambda: _load_opt_state(lambda st: st.pop(next(k for k in st if k.startswith("momentum")))))
case("optimizers/schedules", "SGD.load_state_dict(velocity of the wrong shape)")(
    lambda: _load_opt_state(lambda st: st.__setitem__(next(k for k in st if k.startswith("momentum")), np.zeros(7))))
for _label, _fn, _keys in [
    ("schedule(t=-1)", lambda: sch.cosine_decay(0.1, 10)(-1), "t"),
    ("schedule(t=nan)", lambda: sch.linear(0.1, 0.0, 10)(NAN), "t"),
    ("schedule(t='3')", lambda: sch.step_decay(0.1, 0.5, 2)("3"), "t"),
    ("ReduceOnPlateau.observe('low')", lambda: sch.ReduceOnPlateau(0.1).observe("low"), "value"),
    ("ReduceOnPlateau.observe(None)", lambda: sch.ReduceOnPlateau(0.1).observe(None), "value"),
    ("join([], [])", lambda: sch.join([], []), "schedules"),
    ("join([f, g], [0])", lambda: sch.join([sch.constant(1), sch.constant(2)], [0]), "boundaries"),
    ("one_cycle(total_steps=1)", lambda: sch.one_cycle(0.1, 1), "total_steps"),
]:
    case("optimizers/schedules", _label)(lambda fn=_fn, keys=_keys: judge(fn, keys))


# -- Trainer.fit ---------------------------------------------------------------------------------------------
def _problem(n=60, seed=0):
    X, y = make_spiral(n // 3, 3, seed=seed)
    model = Sequential([Linear(2, 16, rng=seed), ReLU(), Linear(16, 3, rng=seed + 1)])
    return X, y, model


def _fit_case(mutate, keys, loss=None, trainer_kwargs=None, fit_kwargs=None):
    X, y, model = _problem()
    loss = loss or SoftmaxCrossEntropy()
    trainer = Trainer(model, loss, SGD(model.parameters(), 0.1), progress=False, **(trainer_kwargs or {}))
    kw = dict(X=X, y=y, epochs=2, batch_size=8, **(fit_kwargs or {}))
    mutate(kw)
    before = [p.value.copy() for p in model.parameters()]

    def lost():
        return any(not np.array_equal(p.value, b) for p, b in zip(model.parameters(), before))
    return judge(lambda: trainer.fit(**kw), keys, lost=lost)


def _set(key, value):
    return lambda kw: kw.__setitem__(key, value)


def _edit_y(row, value):
    def mutate(kw):
        y = kw["y"].copy()
        y[row] = value
        kw["y"] = y
    return mutate


def _with_val(Xv_fn, yv_fn):
    def mutate(kw):
        X, y = kw["X"], kw["y"]
        kw["X_val"], kw["y_val"] = Xv_fn(X[:10].copy()), yv_fn(y[:10].copy())
    return mutate


def _nan_row(X, row=3):
    X[row, 0] = NAN
    return X


def _bad_label(y, value=7):
    y[4] = value
    return y


FIT = [
    ("label 3 at row 17 (3 classes)", _edit_y(17, 3), "y"),
    ("label -1 at row 40", _edit_y(40, -1), "y"),
    ("y float 0.5 labels", lambda kw: kw.__setitem__("y", kw["y"] + 0.5), "y"),
    ("y strings", lambda kw: kw.__setitem__("y", kw["y"].astype(str)), "y"),
    ("y one row short", lambda kw: kw.__setitem__("y", kw["y"][:-1]), "y"),
    ("y None", _set("y", None), "y"),
    ("y (N, 1)", lambda kw: kw.__setitem__("y", kw["y"][:, None]), "y"),
    ("X with NaN", lambda kw: kw.__setitem__("X", _nan_row(kw["X"].copy())), "X"),
    ("X with inf", lambda kw: kw.__setitem__("X", kw["X"] * np.where(np.arange(60)[:, None] == 5, INF, 1)), "X"),
    ("X 3 features for 2", lambda kw: kw.__setitem__("X", np.hstack([kw["X"], kw["X"][:, :1]])), ["X", "'x'"]),
    ("X strings", lambda kw: kw.__setitem__("X", kw["X"].astype(str)), ["X", "'x'"]),
    ("X empty", lambda kw: (kw.__setitem__("X", kw["X"][:0]), kw.__setitem__("y", kw["y"][:0])), "X"),
    ("X_val with NaN", _with_val(_nan_row, lambda y: y), "X_val"),
    ("y_val label 7", _with_val(lambda X: X, _bad_label), "y_val"),
    ("y_val label -2", _with_val(lambda X: X, lambda y: _bad_label(y, -2)), "y_val"),
    ("y_val one short", _with_val(lambda X: X, lambda y: y[:-1]), "y_val"),
    ("X_val 3 features", _with_val(lambda X: np.hstack([X, X[:, :1]]), lambda y: y), "X_val"),
    ("X_val without y_val", lambda kw: kw.__setitem__("X_val", kw["X"][:5]), "y_val"),
    ("epochs=0", _set("epochs", 0), "epochs"),
    ("epochs=2.5", _set("epochs", 2.5), "epochs"),
    ("batch_size=0", _set("batch_size", 0), "batch_size"),
    ("batch_size='8'", _set("batch_size", "8"), "batch_size"),
    ("batch_size=-8", _set("batch_size", -8), "batch_size"),
    ("seed=-1", _set("seed", -1), "seed"),
    ("eval_every=0", _set("eval_every", 0), "eval_every"),
    ("resume_from missing file", _set("resume_from", "/nonexistent/ckpt.npz"), "ckpt.npz"),
]
for _label, _mutate, _keys in FIT:
    case("trainer.fit", _label)(lambda m=_mutate, keys=_keys: _fit_case(m, keys))
case("trainer.fit", "MSE with (N,) targets for 3 outputs")(
    lambda: _fit_case(lambda kw: kw.__setitem__("y", kw["y"].astype(float)), "y", loss=MSE()))
case("trainer.fit", "MSE with NaN target")(
    lambda: _fit_case(lambda kw: kw.__setitem__("y", np.where(np.arange(60)[:, None] == 9, NAN,
                                                              np.eye(3)[kw["y"]])), "y", loss=MSE()))


def _foreign_optimizer():
    X, y, model = _problem()
    other = _problem()[2]
    return judge(lambda: Trainer(model, SoftmaxCrossEntropy(), SGD(other.parameters(), 0.1),
                                 progress=False).fit(X, y, epochs=1, batch_size=8), "optimizer")


case("trainer.fit", "optimizer built on another model's parameters")(_foreign_optimizer)


# -- checkpoints -------------------------------------------------------------------------------------------------
def _saved_checkpoint(folder):
    X, y, model = _problem()
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), 0.1, momentum=0.9), progress=False)
    trainer.fit(X, y, epochs=1, batch_size=8)
    path = Path(folder) / "good.npz"
    trainer.save_checkpoint(path)
    return path


def _rewrite_npz(src, dst, change):
    with np.load(src, allow_pickle=False) as z:
        st = {k: z[k] for k in z.files}
    change(st)
    np.savez(dst, **st)


def _key(st, start, end=""):
    return next(k for k in st if k.startswith(start) and k.endswith(end))


def _ckpt_case(make_file):
    with tempfile.TemporaryDirectory() as d:
        good = _saved_checkpoint(d)
        bad = Path(d) / "bad_ckpt.npz"
        make_file(good, bad)
        X, y, model = _problem(seed=5)
        trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), 0.1, momentum=0.9), progress=False)
        before = [p.value.copy() for p in model.parameters()]
        opt_before = {k: np.copy(v) for k, v in trainer.optimizer.state_dict().items()}

        def lost():
            changed = any(not np.array_equal(p.value, b) for p, b in zip(model.parameters(), before))
            now = trainer.optimizer.state_dict()
            return changed or any(not np.array_equal(now[k], v) for k, v in opt_before.items())
        return judge(lambda: trainer.load_checkpoint(bad), ["bad_ckpt"], lost=lost)


def _flip(offset_fraction):
    def make(good, bad):
        raw = bytearray(good.read_bytes())
        i = int(len(raw) * offset_fraction)
        raw[i] ^= 0xFF
        bad.write_bytes(bytes(raw))
    return make


CKPT = [
    ("truncated to half", lambda g, b: b.write_bytes(g.read_bytes()[: len(g.read_bytes()) // 2])),
    ("truncated by 10 bytes", lambda g, b: b.write_bytes(g.read_bytes()[:-10])),
    ("empty file", lambda g, b: b.write_bytes(b"")),
    ("random bytes", lambda g, b: b.write_bytes(np.random.default_rng(0).bytes(2000))),
    ("byte flipped at 30%", _flip(0.3)),
    ("byte flipped at 60%", _flip(0.6)),
    ("byte flipped at 95% (zip directory)", _flip(0.95)),
    ("a plain .npy saved as .npz", lambda g, b: np.save(open(b, "wb"), np.zeros(3))),
    ("an unrelated .npz", lambda g, b: np.savez(b, a=np.zeros(3))),
    ("pickled object array inside", lambda g, b: _rewrite_npz(g, b, lambda st: st.__setitem__(
        "history", np.array([{"x": 1}], dtype=object)))),
    ("missing a weight", lambda g, b: _rewrite_npz(g, b, lambda st: st.pop(_key(st, "model/", "W")))),
    ("extra weight", lambda g, b: _rewrite_npz(g, b, lambda st: st.__setitem__("model/layers.9.W", np.zeros(2)))),
    ("last weight of the wrong shape", lambda g, b: _rewrite_npz(g, b, lambda st: st.__setitem__(
        sorted(k for k in st if k.startswith("model/"))[-1], np.zeros((5, 5))))),
    ("NaN in the last weight", lambda g, b: _rewrite_npz(g, b, lambda st: st.__setitem__(
        sorted(k for k in st if k.startswith("model/"))[-1],
        np.full_like(st[sorted(k for k in st if k.startswith("model/"))[-1]], NAN)))),
    ("inf in the optimizer velocity", lambda g, b: _rewrite_npz(g, b, lambda st: st.__setitem__(
        _key(st, "optim/momentum"), np.full_like(st[_key(st, "optim/momentum")], INF)))),
    ("velocity of the wrong shape", lambda g, b: _rewrite_npz(g, b, lambda st: st.__setitem__(
        _key(st, "optim/momentum"), np.zeros(3)))),
    ("weights stored as strings", lambda g, b: _rewrite_npz(g, b, lambda st: st.__setitem__(
        _key(st, "model/", "W"), st[_key(st, "model/", "W")].astype(str)))),
    ("history is not JSON", lambda g, b: _rewrite_npz(g, b, lambda st: st.__setitem__("history", np.array("{oops")))),
    ("epoch is negative", lambda g, b: _rewrite_npz(g, b, lambda st: st.__setitem__("epoch", np.int64(-3)))),
    ("rng state is garbage", lambda g, b: _rewrite_npz(g, b, lambda st: st.__setitem__("rng", np.array("[1, 2]")))),
    ("format field missing", lambda g, b: _rewrite_npz(g, b, lambda st: st.pop("format"))),
    ("a folder, not a file", lambda g, b: b.mkdir()),
    ("the path does not exist", lambda g, b: None),
]
for _label, _make in CKPT:
    case("checkpoints", _label)(lambda make=_make: _ckpt_case(make))


# -- the command line --------------------------------------------------------------------------------------------
QUICK = ["--limit", "60", "--epochs", "1", "--no-figures", "--no-progress"]


def _cli(args, keys, out=True, prepare=None, lost=None, timeout=60):
    with tempfile.TemporaryDirectory() as d:
        run_dir = Path(d) / "run"
        if prepare is not None:
            prepare(run_dir)
        extra = ["--out", str(run_dir)] if out else []
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        cmd = [sys.executable, "-m", "nn_scratch", "demo", *QUICK, *extra, *args]

        def run():
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=d)
            if p.returncode != 0:
                tail = (p.stderr.strip().splitlines() or [""])[-1]
                raise RuntimeError(tail if "Traceback" not in p.stderr else f"traceback: {tail}")
            return p
        outcome, err = judge(run, keys, lost=(lambda: lost(run_dir)) if lost else None)
        if outcome == "clear" and err is not None and str(err).startswith("traceback"):
            outcome = "unclear"
        return outcome, err


for _args, _keys in [
    (["--epochs", "0"], "--epochs"), (["--epochs", "-1"], "--epochs"), (["--epochs", "abc"], "--epochs"),
    (["--epochs", "1.5"], "--epochs"), (["--batch-size", "0"], "--batch-size"),
    (["--batch-size", "1e9"], "--batch-size"), (["--reg", "-1"], "--reg"), (["--reg", "nan"], "--reg"),
    (["--reg", "inf"], "--reg"), (["--seed", "-1"], "--seed"), (["--seed", "x"], "--seed"),
    (["--limit", "0"], "--limit"), (["--limit", "-5"], "--limit"), (["--hidden", "0"], "--hidden"),
    (["--hidden", ""], "--hidden"), (["--hidden", "a,b"], "--hidden"), (["--hidden", "128,,64"], "--hidden"),
    (["--hidden", "-5"], "--hidden"), (["--dataset", "imagenet"], "--dataset"), (["--bogus"], "--bogus"),
    (["--dataset", "mnist", "--data-dir", "/nonexistent/folder"], ["mnist", "/nonexistent/folder"]),
]:
    case("cli", " ".join(_args) or "(empty)")(lambda a=_args, k=_keys: _cli(a, k))

case("cli", "--out ''")(lambda: _cli(["--out", ""], "--out", out=False))
case("cli", "--out names an existing file")(
    lambda: _cli([], ["--out", "run"], prepare=lambda p: p.write_text("precious"),
                 lost=lambda p: not p.is_file() or p.read_text() != "precious"))


def _old_run(p):
    p.mkdir()
    (p / "report.md").write_text("the earlier run's report")
    (p / "history.json").write_text("{}")


case("cli", "--out on a folder holding an earlier run")(
    lambda: _cli([], ["--out", "run", "not empty", "exists"], prepare=_old_run,
                 lost=lambda p: (p / "report.md").read_text() != "the earlier run's report"))


# -- a sweep over signatures: every numeric keyword of the public functions ------------------------------------------
def _sample_args():
    """Values for the required arguments the sweep knows by name (a function needing another is skipped)."""
    X, y = make_spiral(80, 3, seed=0)                 # 240 rows: enough for check_learns_signal
    rng = np.random.default_rng(0)
    return {
        "X": lambda: X, "y": lambda: y, "X_probe": lambda: X, "y_probe": lambda: y,
        "model": lambda: Sequential([Linear(2, 8, rng=0), ReLU(), Linear(8, 3, rng=1)]),
        "loss": SoftmaxCrossEntropy, "layer": lambda: Linear(2, 3, rng=0), "x": lambda: rng.standard_normal((3, 2)),
        "L": lambda: rng.random((6, 5)), "values": lambda: rng.random((6, 5)), "n_samples": lambda: 10,
        "shape": lambda: (3, 2), "objective": lambda: (lambda params: float(params["a"])),
        "space": lambda: {"a": search.Uniform(0.0, 1.0)}, "n_trials": lambda: 2, "total_steps": lambda: 100,
        "scores": lambda: rng.standard_normal(5), "ids": lambda: np.arange(60) % 7, "T": lambda: 5,
        "batch_size": lambda: 4,
        "trials": lambda: [search.Trial(0, {"a": 0.5}, 1.0)] if hasattr(search, "Trial") else None,
    }


SWEEP_MODULES = ("nn_scratch.data", "nn_scratch.lr_finder", "nn_scratch.sanity", "nn_scratch.gradcheck",
                 "nn_scratch.analysis", "nn_scratch.search", "nn_scratch.data.text", "nn_scratch.generate")
SWEEP_SKIP = {"make_sinusoid", "make_sinusoid_regression", "Trial", "DirectionalReport", "SearchResult"}
SWEEP_BAD_INT = [2.5, "3", True, NAN, -1]
SWEEP_BAD_FLOAT = [NAN, INF, "0.1", True]


def _sweep_cases():
    import importlib
    import inspect
    known = _sample_args()
    for modname in SWEEP_MODULES:
        try:
            mod = importlib.import_module(modname)
        except ImportError:                  # not in this version of the package
            continue
        for name in getattr(mod, "__all__", []):
            f = getattr(mod, name, None)
            if not callable(f) or name in SWEEP_SKIP or name.startswith(("plot", "load_")):
                continue
            try:
                sig = inspect.signature(f)
            except (TypeError, ValueError):
                continue
            required = [p.name for p in sig.parameters.values()
                        if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            if any(r not in known for r in required):
                continue
            for p in sig.parameters.values():
                d = p.default
                if isinstance(d, bool) or not isinstance(d, (int, float)) or d is None:
                    continue
                bad_values = SWEEP_BAD_INT if isinstance(d, int) else SWEEP_BAD_FLOAT
                for bad in bad_values:
                    def run(f=f, required=required, arg=p.name, bad=bad):
                        kwargs = {r: known[r]() for r in required}
                        kwargs[arg] = bad
                        return judge(lambda: f(**kwargs), [f"'{arg}'", arg])
                    case("signature sweep", f"{name}({p.name}={bad!r})")(run)


_sweep_cases()


# -- running and the table -------------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="print every case with its outcome and message")
    ap.add_argument("--category", default=None, help="run one category only")
    ap.add_argument("--only", default=None, help="print only cases with this outcome (with --list)")
    args = ap.parse_args(argv)
    np.seterr(all="ignore")
    print(f"nn_scratch from {Path(nn_scratch.__file__).parent}")
    counts, rows, t0 = {}, [], time.perf_counter()
    for category, label, run in CASES:
        if args.category and category != args.category:
            continue
        try:
            outcome, err = run()
        except Exception as e:            # noqa: BLE001 -- a case whose set-up failed on this version
            outcome, err = "unclear", e
        counts.setdefault(category, Counter())[outcome] += 1
        rows.append((category, label, outcome, err))
    if args.list:
        for category, label, outcome, err in rows:
            if args.only and outcome != args.only:
                continue
            msg = "" if err is None else f"{type(err).__name__}: {str(err)[:150]}"
            print(f"{category:22s} {outcome:8s} {label:45s} {msg}".replace("\n", " "))
        print()
    head = ["category", "tried", *OUTCOMES]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    total = Counter()
    for category, c in counts.items():
        total.update(c)
        print(f"| {category} | {sum(c.values())} | " + " | ".join(str(c[o]) for o in OUTCOMES) + " |")
    print(f"| **all** | {sum(total.values())} | " + " | ".join(str(total[o]) for o in OUTCOMES) + " |")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
