"""Every layer and every loss gradient-checked across random shapes, scales and seeds, from float32 and
float64 (hypothesis).  The checker works on a float64 copy, so both must pass with the same verdict."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nn_scratch.gradcheck import check_directional, check_layer, check_loss, check_model
from nn_scratch.layers import (Dropout, Flatten, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Softmax,
                               Tanh)
from nn_scratch.losses import L2, MSE, Flooding, MulticlassSVM, SoftmaxCrossEntropy

SETTINGS = settings(max_examples=20, deadline=None)
dims = st.integers(1, 7)
seeds = st.integers(0, 2**16)
dtypes = st.sampled_from([np.float32, np.float64])
scales = st.sampled_from([0.1, 1.0, 4.0])


def _x(seed, shape, scale, dtype):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def _assert_passes(report):
    assert report.passed, f"\n{report}"
    assert report.judged > 0


@SETTINGS
@given(N=dims, D=dims, M=dims, seed=seeds, dtype=dtypes, scale=scales,
       init=st.sampled_from(["he", "xavier", "gaussian"]))
def test_linear(N, D, M, seed, dtype, scale, init):
    layer = Linear(D, M, init=init, rng=seed, dtype=dtype)
    layer.b.value[...] = np.random.default_rng(seed + 1).standard_normal(M)   # a non-zero bias too
    _assert_passes(check_layer(layer, _x(seed, (N, D), scale, dtype), seed=seed))


@SETTINGS
@given(N=dims, D=dims, seed=seeds, dtype=dtypes, scale=scales,
       make=st.sampled_from([ReLU, lambda: LeakyReLU(0.1), Tanh, Sigmoid, Softmax, Flatten]))
def test_activations_and_flatten(N, D, seed, dtype, scale, make):
    _assert_passes(check_layer(make(), _x(seed, (N, D), scale, dtype), seed=seed, num_coords=None))


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=4), seed=seeds, dtype=dtypes)
def test_flatten_any_rank(shape, seed, dtype):
    r = check_layer(Flatten(), _x(seed, tuple(shape), 1.0, dtype), seed=seed)
    _assert_passes(r)
    assert r.max_rel_error < 1e-8                     # a reshape: only rounding in f remains
    assert r.source_dtype == np.dtype(dtype).name


@SETTINGS
@given(N=dims, D=dims, seed=seeds, dtype=dtypes, p=st.sampled_from([0.1, 0.5, 0.9]))
def test_dropout_in_training_mode(N, D, seed, dtype, p):
    layer = Dropout(p, rng=seed)
    assert layer.training
    _assert_passes(check_layer(layer, _x(seed, (N, D), 1.0, dtype), seed=seed, num_coords=None))


@SETTINGS
@given(N=dims, D=dims, H=dims, C=st.integers(2, 6), seed=seeds, dtype=dtypes, scale=scales,
       act=st.sampled_from([ReLU, lambda: LeakyReLU(0.2), Tanh, Sigmoid, Softmax]))
def test_sequential(N, D, H, C, seed, dtype, scale, act):
    model = Sequential([Linear(D, H, rng=seed, dtype=dtype), act(), Dropout(0.3, rng=seed),
                        Sequential([Linear(H, C, rng=seed + 1, dtype=dtype), Tanh()])])
    _assert_passes(check_layer(model, _x(seed, (N, D), scale, dtype), seed=seed, num_coords=8))


@SETTINGS
@given(N=dims, C=st.integers(2, 7), seed=seeds, scale=st.sampled_from([0.1, 1.0, 5.0]), dtype=dtypes)
def test_softmax_cross_entropy(N, C, seed, scale, dtype):
    rng = np.random.default_rng(seed)
    _assert_passes(check_loss(SoftmaxCrossEntropy(), (rng.standard_normal((N, C)) * scale).astype(dtype),
                              rng.integers(0, C, N), num_coords=None))


@SETTINGS
@given(N=dims, C=st.integers(2, 7), seed=seeds, margin=st.sampled_from([0.5, 1.0, 2.0]), dtype=dtypes)
def test_multiclass_svm(N, C, seed, margin, dtype):
    rng = np.random.default_rng(seed)
    scores = (rng.standard_normal((N, C)) * 2).astype(dtype)
    _assert_passes(check_loss(MulticlassSVM(margin), scores, rng.integers(0, C, N),
                              num_coords=None))


@SETTINGS
@given(N=dims, K=dims, seed=seeds, flat=st.booleans(), dtype=dtypes)
def test_mse(N, K, seed, flat, dtype):
    rng = np.random.default_rng(seed)
    shape = (N,) if flat else (N, K)
    _assert_passes(check_loss(MSE(), rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype),
                              num_coords=None))


@SETTINGS
@given(N=dims, C=st.integers(2, 5), seed=seeds, level=st.sampled_from([0.0, 0.5, 1.0, 5.0]))
def test_flooding(N, C, seed, level):
    rng = np.random.default_rng(seed)
    r = check_loss(Flooding(SoftmaxCrossEntropy(), level), rng.standard_normal((N, C)), rng.integers(0, C, N),
                   num_coords=None)
    _assert_passes(r)
    assert not r.smooth                               # |J - b| is a kink, recorded in winners


@SETTINGS
@given(N=dims, D=dims, H=dims, C=st.integers(2, 5), seed=seeds, dtype=dtypes,
       reg=st.sampled_from([1e-3, 0.1, 10.0]), loss=st.sampled_from(["ce", "svm", "mse"]))
def test_model_data_penalty_and_total(N, D, H, C, seed, dtype, reg, loss):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    y = rng.standard_normal((N, C)) if loss == "mse" else rng.integers(0, C, N)
    loss_fn = {"ce": SoftmaxCrossEntropy(), "svm": MulticlassSVM(), "mse": MSE()}[loss]
    model = Sequential([Linear(D, H, rng=seed, dtype=dtype), ReLU(), Linear(H, C, rng=seed + 1, dtype=dtype)])
    for part in ("data", "reg", "total"):
        _assert_passes(check_model(model, loss_fn, X, y, reg=L2(reg), check=part, num_coords=6, seed=seed))


@SETTINGS
@given(N=dims, D=dims, H=dims, seed=seeds, dtype=dtypes)
def test_directional_on_smooth_models(N, D, H, seed, dtype):
    rng = np.random.default_rng(seed)
    model = Sequential([Linear(D, H, rng=seed, dtype=dtype), Tanh(), Dropout(0.2, rng=seed),
                        Linear(H, 3, rng=seed + 1, dtype=dtype)])
    r = check_directional(model, SoftmaxCrossEntropy(), rng.standard_normal((N, D)), rng.integers(0, 3, N),
                          reg=0.1, seed=seed)
    assert r.passed, str(r)
