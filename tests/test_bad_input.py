"""Bad input is refused before any work, with an error that names the argument.

The first test draws bad values (NaN, infinities, out-of-range numbers, strings, None, booleans, wrong
dtypes, bad seeds) for every numeric argument of the public constructors; the others pin the cases the
adversarial pass of issue 9 found: layers' backward, integer inputs, schedules read at use, IDX headers.
"""
import gzip
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nn_scratch import callbacks as cb, monitors as mon, schedules as sch, search
from nn_scratch.data import batches, make_gaussians, make_spiral, read_idx, write_idx
from nn_scratch.data.files import CorruptDatasetError
from nn_scratch.data.splits import Standardizer
from nn_scratch.layers import (BatchNorm, Conv2D, Dropout, Flatten, LeakyReLU, Linear, MaxPool2D, ReLU,
                               Sequential, Sigmoid, Softmax, Tanh)
from nn_scratch.losses import L2, MSE, Flooding, MulticlassSVM, SoftmaxCrossEntropy
from nn_scratch.optim import SGD, Adagrad, Adam, RMSprop

NAN, INF = float("nan"), float("inf")
_NOT_NUMBERS = [NAN, INF, -INF, "0.5", None, True, [0.5], np.array([0.5]), 1 + 2j]

# strategies of values that must be refused, one per kind of argument
BAD = {
    "positive": st.one_of(st.floats(max_value=0.0), st.sampled_from(_NOT_NUMBERS)),
    "positive_or_none": st.one_of(st.floats(max_value=0.0), st.sampled_from([v for v in _NOT_NUMBERS if v is not None])),
    "nonneg": st.one_of(st.floats(max_value=-1e-12), st.sampled_from(_NOT_NUMBERS)),
    "fraction": st.one_of(st.floats(min_value=1.0), st.floats(max_value=-1e-12), st.sampled_from(_NOT_NUMBERS)),
    "finite": st.sampled_from(_NOT_NUMBERS[:5]),
    "int_pos": st.one_of(st.integers(max_value=0), st.sampled_from([2.0, 2.5, "3", None, True, NAN, (3,)])),
    "int_pos_or_none": st.one_of(st.integers(max_value=0), st.sampled_from([2.0, "3", True, NAN])),
    "int_nonneg": st.one_of(st.integers(max_value=-1), st.sampled_from([1.0, "3", None, True, NAN])),
    "dtype": st.sampled_from([np.int32, np.int64, np.uint8, bool, "int16", np.complex128, "not-a-dtype", 3]),
    "seed": st.one_of(st.integers(max_value=-1), st.sampled_from([1.5, "7", True, [1, 2], NAN])),
    "bool": st.sampled_from(["no", "False", None, 2, 0.0]),
}


def _params():
    return Linear(2, 2, rng=0).parameters()


def _x():
    return np.zeros((2, 3))


# (constructor taking the bad value as keyword ``arg``, arg, kind)
CASES = [
    (lambda **k: Linear(**{"in_features": 2, "out_features": 3, **k}), "in_features", "int_pos"),
    (lambda **k: Linear(**{"in_features": 2, "out_features": 3, **k}), "out_features", "int_pos"),
    (lambda **k: Linear(2, 3, init="gaussian", **k), "weight_scale", "positive"),
    (lambda **k: Linear(2, 3, **k), "dtype", "dtype"),
    (lambda **k: Linear(2, 3, **k), "rng", "seed"),
    (lambda **k: Linear(2, 3, **k), "bias", "bool"),
    (lambda **k: Linear(2, 3, **k), "input_grad", "bool"),
    (lambda **k: Conv2D(**{"in_channels": 1, "out_channels": 2, "kernel_size": 3, **k}), "in_channels", "int_pos"),
    (lambda **k: Conv2D(**{"in_channels": 1, "out_channels": 2, "kernel_size": 3, **k}), "kernel_size", "int_pos"),
    (lambda **k: Conv2D(1, 2, 3, **k), "stride", "int_pos"),
    (lambda **k: Conv2D(1, 2, 3, **k), "padding", "int_nonneg"),
    (lambda **k: Conv2D(1, 2, 3, **k), "weight_scale", "positive"),
    (lambda **k: Conv2D(1, 2, 3, **k), "dtype", "dtype"),
    (lambda **k: Conv2D(1, 2, 3, **k), "rng", "seed"),
    (lambda **k: MaxPool2D(**k), "pool_size", "int_pos"),
    (lambda **k: MaxPool2D(**k), "stride", "int_pos_or_none"),
    (lambda **k: BatchNorm(**{"num_features": 3, **k}), "num_features", "int_pos"),
    (lambda **k: BatchNorm(3, **k), "running_decay", "fraction"),
    (lambda **k: BatchNorm(3, **k), "eps", "positive"),
    (lambda **k: BatchNorm(3, **k), "dtype", "dtype"),
    (lambda **k: Dropout(**k), "drop_prob", "fraction"),
    (lambda **k: Dropout(**k), "rng", "seed"),
    (lambda **k: LeakyReLU(**k), "alpha", "fraction"),
    (lambda **k: MulticlassSVM(**k), "margin", "positive"),
    (lambda **k: L2(**k), "reg", "nonneg"),
    (lambda **k: Flooding(SoftmaxCrossEntropy(), **k), "level", "nonneg"),
    (lambda **k: SGD(_params(), **{"lr": 0.1, **k}), "lr", "nonneg"),
    (lambda **k: SGD(_params(), 0.1, **k), "momentum", "fraction"),
    (lambda **k: SGD(_params(), 0.1, **k), "weight_decay", "nonneg"),
    (lambda **k: SGD(_params(), 0.1, **k), "clip_norm", "positive_or_none"),
    (lambda **k: Adam(_params(), **k), "beta1", "fraction"),
    (lambda **k: Adam(_params(), **k), "beta2", "fraction"),
    (lambda **k: Adam(_params(), **k), "eps", "positive"),
    (lambda **k: RMSprop(_params(), 0.1, **k), "decay", "fraction"),
    (lambda **k: Adagrad(_params(), 0.1, **k), "eps", "positive"),
    (lambda **k: sch.constant(**k), "value", "finite"),
    (lambda **k: sch.step_decay(**{"init_value": 0.1, "factor": 0.5, "step_size": 10, **k}), "factor", "nonneg"),
    (lambda **k: sch.step_decay(**{"init_value": 0.1, "factor": 0.5, "step_size": 10, **k}), "step_size", "int_pos"),
    (lambda **k: sch.exponential_decay(**{"init_value": 0.1, "k": 0.5, **k}), "k", "nonneg"),
    (lambda **k: sch.cosine_decay(**{"init_value": 0.1, "decay_steps": 10, **k}), "decay_steps", "int_pos"),
    (lambda **k: sch.ReduceOnPlateau(0.1, **k), "patience", "int_nonneg"),
    (lambda **k: sch.ReduceOnPlateau(0.1, **k), "min_lr", "nonneg"),
    (lambda **k: cb.EarlyStopping(mode="min", **k), "patience", "int_pos"),
    (lambda **k: cb.EarlyStopping(mode="min", **k), "min_delta", "nonneg"),
    (lambda **k: cb.EarlyStopping(mode="min", **k), "restore_best", "bool"),
    (lambda **k: cb.WeightAverage(**k), "decay", "fraction"),
    (lambda **k: cb.Checkpoint("ckpts", mode="min", **k), "every", "int_pos_or_none"),
    (lambda **k: mon.ActivationStats(_x(), **k), "bins", "int_pos"),
    (lambda **k: mon.ActivationStats(_x(), **k), "sample_size", "int_nonneg"),
    (lambda **k: mon.ActivationStats(_x(), **k), "seed", "seed"),
    (lambda **k: mon.UpdateRatio(**k), "every", "int_pos"),
    (lambda **k: search.Uniform(**{"low": 0.0, "high": 1.0, **k}), "low", "finite"),
    (lambda **k: search.LogUniform(**{"low": 1e-3, "high": 1.0, **k}), "low", "positive"),
    (lambda **k: make_spiral(**k), "n_per_class", "int_pos"),
    (lambda **k: make_spiral(**k), "noise", "nonneg"),
    (lambda **k: make_spiral(**k), "seed", "seed"),
    (lambda **k: make_gaussians(**k), "std", "nonneg"),
    (lambda **k: batches(_x(), **k), "batch_size", "int_pos"),
    (lambda **k: Standardizer(**k), "eps", "nonneg"),
    (lambda **k: Standardizer(**k), "dtype", "dtype"),
]


@settings(max_examples=150, deadline=None)
@given(case=st.sampled_from(CASES), data=st.data())
def test_constructors_refuse_bad_numbers_naming_the_argument(case, data):
    make, arg, kind = case
    bad = data.draw(BAD[kind], label=f"{arg} ({kind})")
    if kind in ("nonneg", "int_nonneg") and isinstance(bad, (int, float)) and not isinstance(bad, bool) \
            and math.isfinite(bad) and bad >= 0:
        return                                           # -0.0 is a fine "nonneg" value
    with pytest.raises((TypeError, ValueError)) as info:
        make(**{arg: bad})
    assert f"'{arg}'" in str(info.value), str(info.value)


@pytest.mark.parametrize("make, pattern", [
    (lambda: MulticlassSVM(margin=NAN), "'margin'"),
    (lambda: L2(INF), "'reg'"),
    (lambda: Flooding(SoftmaxCrossEntropy(), level=INF), "'level'"),
    (lambda: Flooding(loss=None, level=0.1), "'loss' must be a Loss"),
    (lambda: Flooding(SoftmaxCrossEntropy, 0.1), "the class SoftmaxCrossEntropy"),
    (lambda: Linear(2, 3, init="gaussian", weight_scale=NAN), "'weight_scale'"),
    (lambda: Linear(2, 3, dtype=np.int32), "'dtype' must be a floating dtype"),
    (lambda: Dropout("0.5"), "'drop_prob' must be a finite number in \\[0, 1\\), got str"),
    (lambda: Conv2D(1, 2, kernel_size=(3,)), "'kernel_size' must be an int or a pair"),
    (lambda: Conv2D(1, 2, kernel_size=(3, 3, 3)), "'kernel_size' must be an int or a pair"),
    (lambda: Conv2D(1, 2, kernel_size=None), "'kernel_size' must be an integer"),
    (lambda: Sequential(None), "'layers' must be a list of Layers"),
    (lambda: Sequential(Linear(2, 3)), "'layers' must be a list of Layers"),
    (lambda: Linear(2, 3, rng=-1), "'rng' must be a seed >= 0"),
    (lambda: cb.Checkpoint(None, mode="min"), "'dirpath'"),
])
def test_issue_cases_are_refused_at_construction(make, pattern):
    with pytest.raises((TypeError, ValueError), match=pattern):
        make()


def test_good_values_still_accepted():
    assert Linear(2, 3, dtype=np.float64, rng=np.random.default_rng(1)).W.dtype == np.float64
    assert Conv2D(1, 2, kernel_size=np.array([3, 2])).kernel_size == (3, 2)
    assert Dropout(np.float32(0.25)).drop_prob == 0.25
    assert Sequential((ReLU(), Tanh())).layers[1].__class__ is Tanh
    assert Flooding(MSE(), 0).level == 0.0


# -- layers: backward needs its forward, and a dy of the forward's output shape --------------------------
def _layers_and_inputs():
    img = np.random.default_rng(0).standard_normal((2, 1, 4, 4))
    vec = np.random.default_rng(1).standard_normal((3, 4))
    return [(ReLU(), vec), (LeakyReLU(0.1), vec), (Tanh(), vec), (Sigmoid(), vec), (Softmax(), vec),
            (Dropout(0.5, rng=0), vec), (Flatten(), img), (Linear(4, 2, rng=0), vec),
            (Conv2D(1, 2, 3, rng=0), img), (MaxPool2D(2), img), (BatchNorm(4), vec),
            (Sequential([Linear(4, 3, rng=0), ReLU()]), vec)]


@pytest.mark.parametrize("i", range(12))
def test_backward_before_forward_says_so(i):
    layer, x = _layers_and_inputs()[i]
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((3, 3)))


@pytest.mark.parametrize("i", range(12))
def test_dy_of_the_wrong_shape_is_refused(i):
    layer, x = _layers_and_inputs()[i]
    y = layer.forward(x)
    good = layer.backward(np.ones_like(y))               # the right shape works
    assert good.shape == x.shape
    for bad in (np.ones(y.shape[1:]), np.ones((1,) + y.shape[1:]), np.ones(y.shape + (1,))):
        with pytest.raises(ValueError, match=r"'dy' must have the shape of the last forward's output"):
            layer.backward(bad)


def test_relu_and_maxpool_no_longer_broadcast_dy():
    relu = ReLU()
    relu.forward(np.array([[1.0, -1.0], [2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"\(2, 2\), got \(2,\)"):
        relu.backward(np.array([1.0, 1.0]))               # used to broadcast into a (2, 2) gradient
    pool = MaxPool2D(2)
    pool.forward(np.arange(32.0).reshape(2, 1, 4, 4))
    with pytest.raises(ValueError, match=r"\(2, 1, 2, 2\), got \(1, 1, 2, 2\)"):
        pool.backward(np.ones((1, 1, 2, 2)))


def test_integer_inputs_are_converted_not_truncated():
    x = np.array([[-3, 2, 5, -1]])
    y = LeakyReLU(0.1).forward(x)
    np.testing.assert_allclose(y, [[-0.3, 2.0, 5.0, -0.1]])
    drop = Dropout(0.5, rng=0)
    yi = drop.forward(np.full((4, 50), 3))
    kept = yi != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_array_equal(yi[kept], 6.0)          # 3 / keep, not 3 * int(1 / 0.5) or inf
    np.testing.assert_array_equal(drop.backward(np.ones((4, 50)))[kept], 2.0)


# -- a schedule's value is checked when it is used -------------------------------------------------------
@pytest.mark.parametrize("kwargs, pattern", [
    ({"lr": sch.linear(0.2, -0.2, 4)}, "schedule of 'lr'.*gave -0.1 at step 3"),
    ({"lr": 0.1, "momentum": sch.linear(0.5, 1.5, 4)}, "schedule of 'momentum'.*gave 1 at step 2"),
    ({"lr": lambda t: float("nan") if t == 3 else 0.1}, "schedule of 'lr'.*gave nan at step 3"),
    ({"lr": 0.1, "weight_decay": lambda t: -1.0 if t == 3 else 0.0}, "schedule of 'weight_decay'"),
])
def test_schedule_gone_bad_stops_before_the_step(kwargs, pattern):
    model = Linear(3, 2, rng=0)
    opt = SGD(model.parameters(), **kwargs)
    for p in model.parameters():
        p.grad[...] = 1.0
    ok_steps = 3 if "momentum" not in kwargs else 2
    for _ in range(ok_steps):
        opt.step()
    before = [p.value.copy() for p in model.parameters()]
    state = {k: np.copy(v) for k, v in opt.state_dict().items()}
    with pytest.raises(ValueError, match=pattern):
        opt.step()
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.value, b)         # nothing moved uphill
    assert all(np.array_equal(v, state[k]) for k, v in opt.state_dict().items())
    assert opt.t == ok_steps


def test_adam_state_untouched_when_its_rate_schedule_fails():
    model = Linear(2, 2, rng=0)
    opt = Adam(model.parameters(), lr=lambda t: 1e-3 if t < 1 else -1e-3)
    for p in model.parameters():
        p.grad[...] = 0.5
    opt.step()
    m_before = opt.state_dict()["adam.m.0"].copy()
    with pytest.raises(ValueError, match="a negative lr steps uphill"):
        opt.step()
    np.testing.assert_array_equal(opt.state_dict()["adam.m.0"], m_before)


# -- IDX files whose header lies ------------------------------------------------------------------------
def _idx_header(dims, type_code=0x08):
    return bytes([0, 0, type_code, len(dims)]) + np.asarray(dims, dtype=">u4").tobytes()


@pytest.mark.parametrize("compress", [False, True])
def test_idx_header_promising_4_billion_images_is_caught_without_allocating(tmp_path, compress):
    raw = _idx_header([2 ** 32 - 1, 28, 28]) + bytes(784 * 5)
    path = tmp_path / ("huge.idx.gz" if compress else "huge.idx")
    path.write_bytes(gzip.compress(raw) if compress else raw)
    tracemalloc.start()
    try:
        with pytest.raises(CorruptDatasetError, match="promises 4294967295 items of 784 bytes") as info:
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    assert peak < 50 * 2 ** 20                              # a bare read would ask for 3.4 TB


@pytest.mark.parametrize("dims", [[0, 28, 28], [0], [5, 0, 28]])
def test_idx_file_with_zero_items_gives_a_clear_message(tmp_path, dims):
    path = tmp_path / "empty.idx"
    path.write_bytes(_idx_header(dims))
    with pytest.raises(CorruptDatasetError, match="holds no items"):
        read_idx(path)


def test_idx_limit_still_reads_a_prefix_of_a_long_file(tmp_path):
    a = np.arange(5 * 3 * 2, dtype=np.uint8).reshape(5, 3, 2)
    write_idx(tmp_path / "a.idx", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx", limit=2), a[:2])


# -- found by benchmarks/fuzz_inputs.py -----------------------------------------------------------------------
@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy(), MulticlassSVM(), MSE(), Flooding(MSE(), 0.1)])
def test_loss_backward_before_forward_says_so(loss):
    with pytest.raises(RuntimeError, match="before forward"):
        loss.backward()


def test_trainer_refuses_a_single_callback_and_a_bad_seed():
    from nn_scratch.trainer import Trainer
    model = Linear(2, 2, rng=0)
    make = lambda **k: Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), 0.1), progress=False, **k)
    assert make(callbacks=None).callbacks == []          # None means "no callbacks"
    with pytest.raises(TypeError, match="'monitors' must be a list"):
        make(monitors=cb.EarlyStopping(mode="min"))
    trainer = make()
    before = model.W.value.copy()
    with pytest.raises(ValueError, match="Trainer.fit: 'seed' must be a seed >= 0, got -1"):
        trainer.fit(np.zeros((4, 2)), np.zeros(4, int), epochs=1, batch_size=2, seed=-1)
    np.testing.assert_array_equal(model.W.value, before)


def test_standardizer_refuses_nan_and_schedules_refuse_a_string_step():
    with pytest.raises(ValueError, match=r"'X' contains NaN or inf \(first at index \(1, 0\)\)"):
        Standardizer().fit(np.array([[1.0], [NAN]]))
    with pytest.raises(TypeError, match="'t'"):
        sch.step_decay(0.1, 0.5, 2)("3")


def test_empty_cifar_batch_is_corrupt_not_an_empty_dataset(tmp_path):
    from nn_scratch.data import load_cifar10
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    (folder / "test_batch.bin").write_bytes(b"")
    with pytest.raises(CorruptDatasetError, match="test_batch.bin.*empty"):
        load_cifar10(tmp_path, kind="test", verify=False)


# -- the sequence layers ------------------------------------------------------------------------------------
def _sequence_layers():
    from nn_scratch.layers import (GELU, LSTM, RNN, Embedding, LayerNorm, MultiHeadAttention,
                                   TokenPositionEmbedding, TransformerBlock)
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    idx = np.array([[0, 2, 1], [3, 3, 0]])
    return [(GELU(), x), (LayerNorm(4), x), (RNN(4, 5, rng=0), x), (LSTM(4, 5, rng=0), x),
            (MultiHeadAttention(4, 2, rng=0), x), (TransformerBlock(4, 2, rng=0), x),
            (Embedding(5, 4, rng=0), idx), (TokenPositionEmbedding(5, 3, 4, rng=0), idx)]


@pytest.mark.parametrize("i", range(8))
def test_sequence_layers_check_backward_like_the_others(i):
    layer, x = _sequence_layers()[i]
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 3, 4)))
    y = layer.forward(x)
    layer.backward(np.ones_like(y))
    with pytest.raises(ValueError, match="'dy' must have the shape"):
        layer.backward(np.ones((1,) + y.shape[1:]))


@pytest.mark.parametrize("make, pattern", [
    (lambda L: L.Embedding(5, 4, weight_scale=INF), "'weight_scale'"),
    (lambda L: L.Embedding(5, 4, dtype=np.int64), "'dtype'"),
    (lambda L: L.LSTM(3, 4, forget_bias="1"), "'forget_bias'"),
    (lambda L: L.RNN(3, 4, rng=-2), "'rng'"),
    (lambda L: L.MultiHeadAttention(4, 2, dropout="0.1"), "'dropout'"),
    (lambda L: L.MultiHeadAttention(4, 2, causal="yes"), "'causal'"),
    (lambda L: L.TokenPositionEmbedding(5, 0, 4), "'max_len'"),
    (lambda L: L.LayerNorm(4, eps=NAN), "'eps'"),
    (lambda L: L.TransformerBlock(4, 2, mlp_ratio=2.0), "'mlp_ratio'"),
])
def test_sequence_layer_constructors_name_the_argument(make, pattern):
    import nn_scratch.layers as L
    with pytest.raises((TypeError, ValueError), match=pattern):
        make(L)


def test_gelu_converts_integer_input():
    from nn_scratch.layers import GELU
    np.testing.assert_allclose(GELU().forward(np.array([[-1, 0, 2]])), GELU().forward(np.array([[-1.0, 0.0, 2.0]])))


# -- functions' numeric keywords (the fuzz script's signature sweep) -------------------------------------------
def _sweep_calls():
    from nn_scratch import analysis, lr_finder, sanity
    X, y = make_spiral(5, 3, seed=0)
    model = lambda: Sequential([Linear(2, 4, rng=0), ReLU(), Linear(4, 3, rng=1)])   # noqa: E731
    L = np.random.default_rng(0).random((4, 3))
    space = {"a": search.Uniform(0.0, 1.0)}
    objective = lambda params: params["a"]                                             # noqa: E731
    trials = [search.Trial(0, {"a": 0.5}, 1.0)]
    return [
        (lambda: lr_finder.lr_range_test(model(), SoftmaxCrossEntropy(), X, y, seed=-1), "'seed'"),
        (lambda: lr_finder.lr_range_test(model(), SoftmaxCrossEntropy(), X, y, smoothing="0.9"), "'smoothing'"),
        (lambda: lr_finder.lr_range_test(model(), SoftmaxCrossEntropy(), X, y, end_lr=INF), "'end_lr'"),
        (lambda: sanity.check_initial_loss(model(), SoftmaxCrossEntropy(), X, y, tol=NAN), "'tol'"),
        (lambda: sanity.overfit_small_subset(model(), SoftmaxCrossEntropy(), X, y, n=5, steps=True), "'steps'"),
        (lambda: sanity.check_learns_signal(model(), SoftmaxCrossEntropy(), X, y, n_train=2.5), "'n_train'"),
        (lambda: sanity.run_all(model(), SoftmaxCrossEntropy(), X, y, n=5, seed="3"), "'seed'"),
        (lambda: analysis.histogram_matrix(L, bins=2.5), "'bins'"),
        (lambda: analysis.tukey_fences(L, k=INF), "'k'"),
        (lambda: analysis.outlier_epochs(L, k=NAN), "'k'"),
        (lambda: analysis.diagnose_arrays(gap="0.1"), "'gap'"),
        (lambda: search.random_search(objective, space, 2, seed=-1), "'seed'"),
        (lambda: search.coarse_to_fine(objective, space, stages=[2, 2], shrink=True), "'shrink'"),
        (lambda: search.narrow_space(space, trials, shrink=NAN), "'shrink'"),
    ]


@pytest.mark.parametrize("i", range(14))
def test_function_keywords_are_checked_before_any_work(i):
    call, pattern = _sweep_calls()[i]
    with pytest.raises((TypeError, ValueError), match=pattern):
        call()


def test_sampling_and_text_windows_check_their_numbers():
    from nn_scratch.data.text import random_windows
    from nn_scratch.generate import sample_next
    s = np.arange(5.0)
    for kw, pattern in [({"temperature": -1.0}, "'temperature'"), ({"temperature": INF}, "'temperature'"),
                        ({"top_k": 0}, "'top_k'"), ({"rng": -3}, "'rng'")]:
        with pytest.raises((TypeError, ValueError), match=pattern):
            sample_next(s, **kw)
    assert sample_next(s, temperature=0) == 4                    # greedy still works
    with pytest.raises(TypeError, match="'rng'"):
        random_windows(np.arange(20), 4, 2, rng="seed")


def test_parameters_state_and_optimizer_inputs():
    from nn_scratch.layers import Parameter
    for bad in ("abc", None, np.array([1 + 2j])):
        with pytest.raises(TypeError, match="'value' must be an array of real numbers"):
            Parameter(bad)
    layer = Linear(2, 2, rng=0)
    before = layer.W.value.copy()
    for W, err, pattern in [(np.full((2, 2), "a"), TypeError, "'W' must hold real numbers"),
                            (np.full((2, 2), NAN), ValueError, "'W' contains NaN or inf")]:
        with pytest.raises(err, match=pattern):
            layer.load_state_dict({"W": W, "b": np.ones(2)})
        np.testing.assert_array_equal(layer.W.value, before)          # nothing copied, not even b
        np.testing.assert_array_equal(layer.b.value, 0)
    with pytest.raises(TypeError, match="pass model.parameters\\(\\), not the model"):
        SGD(Sequential([layer]), 0.1)
