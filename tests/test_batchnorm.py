"""BatchNorm: training/eval behaviour, the running-average convention, gradients, state_dict, errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import assert_layer_gradients
from nn_scratch.layers import BatchNorm, Linear, ReLU, Sequential

SETTINGS = settings(max_examples=20, deadline=None)


@pytest.mark.parametrize("shape, axes", [((50, 4), (0,)), ((6, 3, 5, 4), (0, 2, 3))])
def test_training_normalizes_each_feature(shape, axes):
    rng = np.random.default_rng(0)
    x = 3.0 + 2.0 * rng.standard_normal(shape)
    bn = BatchNorm(shape[1], dtype=np.float64)
    y = bn.forward(x)
    np.testing.assert_allclose(y.mean(axis=axes), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=axes), 1, atol=1e-4)        # eps makes it slightly below 1
    bn.gamma.value[:] = 2.0
    bn.beta.value[:] = -1.0
    y = bn.forward(x)
    np.testing.assert_allclose(y.mean(axis=axes), -1, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=axes), 2, atol=1e-4)


def test_running_decay_convention():
    # running = running_decay * running + (1 - running_decay) * batch_statistic, starting from (0, 1)
    x = np.array([[1.0, 10.0], [3.0, 20.0]])                           # means (2, 15), biased vars (1, 25)
    bn = BatchNorm(2, running_decay=0.9, dtype=np.float64)
    bn.forward(x)
    np.testing.assert_allclose(bn.running_mean, [0.2, 1.5])
    np.testing.assert_allclose(bn.running_var, [0.9 + 0.1 * 1, 0.9 + 0.1 * 25])
    bn.forward(x)
    np.testing.assert_allclose(bn.running_mean, [0.9 * 0.2 + 0.2, 0.9 * 1.5 + 1.5])
    fast = BatchNorm(2, running_decay=0.0, dtype=np.float64)           # 0: the running value is the last batch
    fast.forward(x)
    np.testing.assert_allclose(fast.running_mean, [2, 15])
    np.testing.assert_allclose(fast.running_var, [1, 25])


def test_eval_uses_running_statistics_and_does_not_update_them():
    bn = BatchNorm(3, dtype=np.float64)
    bn.running_mean[:] = [1.0, 2.0, 3.0]
    bn.running_var[:] = [4.0, 9.0, 16.0]
    bn.gamma.value[:] = [1.0, 2.0, 3.0]
    bn.beta.value[:] = 0.5
    bn.eval()
    x = np.random.default_rng(1).standard_normal((5, 3, 2, 2))
    y = bn.forward(x)
    expected = ((x - [[[[1]], [[2]], [[3]]]]) / np.sqrt(np.array([4, 9, 16.0]) + 1e-5).reshape(1, 3, 1, 1)
                * np.array([1, 2, 3.0]).reshape(1, 3, 1, 1) + 0.5)
    np.testing.assert_allclose(y, expected)
    np.testing.assert_array_equal(bn.running_mean, [1, 2, 3])
    single = bn.forward(x[:1])                                         # one sample is fine in eval mode
    np.testing.assert_allclose(single, expected[:1])


def test_train_mode_after_eval_uses_batch_statistics_again():
    x = np.random.default_rng(2).standard_normal((8, 2)) + 5
    bn = BatchNorm(2, dtype=np.float64)
    bn.eval()
    far = bn.forward(x)
    bn.train()
    near = bn.forward(x)
    assert np.abs(far.mean()) > 4 and np.abs(near.mean()) < 1e-9


shapes = st.one_of(
    st.tuples(st.integers(2, 6), st.integers(1, 4)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))
).filter(lambda s: np.prod(s) // s[1] >= 2)


@SETTINGS
@given(shapes, st.booleans(), st.integers(0, 2**31))
def test_gradients_match_centered_differences(shape, training, seed):
    rng = np.random.default_rng(seed)
    bn = BatchNorm(shape[1])
    bn.gamma.value[:] = rng.uniform(0.5, 2, shape[1])
    bn.beta.value[:] = rng.standard_normal(shape[1])
    bn.running_mean[:] = rng.standard_normal(shape[1])
    bn.running_var[:] = rng.uniform(0.5, 2, shape[1])
    bn.train(training)
    assert_layer_gradients(bn, rng.standard_normal(shape) * 2 + 1, rng)


def test_state_dict_round_trip_keeps_buffers():
    rng = np.random.default_rng(3)
    model = Sequential([Linear(4, 6, rng=0), BatchNorm(6), ReLU(), Linear(6, 2, rng=1)])
    for _ in range(3):
        model.forward(rng.standard_normal((16, 4)))
    state = model.state_dict()
    assert {"layers.1.running_mean", "layers.1.running_var", "layers.1.gamma", "layers.1.beta"} <= set(state)
    assert not any(p.regularize for p in model.layers[1].parameters())      # gamma, beta: no weight decay
    fresh = Sequential([Linear(4, 6, rng=5), BatchNorm(6), ReLU(), Linear(6, 2, rng=6)])
    fresh.load_state_dict(state)
    x = rng.standard_normal((5, 4))
    np.testing.assert_array_equal(fresh.eval().forward(x), model.eval().forward(x))
    np.testing.assert_array_equal(fresh.layers[1].running_var, model.layers[1].running_var)


def test_astype_converts_buffers_and_float32_is_kept():
    bn = BatchNorm(3)
    y = bn.forward(np.random.default_rng(0).standard_normal((4, 3)))       # float64 input, float32 layer
    assert y.dtype == np.float32 and bn.running_mean.dtype == np.float32
    assert bn.backward(np.ones_like(y)).dtype == np.float32
    bn.astype(np.float64)
    assert bn.running_var.dtype == np.float64 and bn.gamma.value.dtype == np.float64


def test_bad_inputs():
    with pytest.raises(ValueError, match="'running_decay'"):
        BatchNorm(3, running_decay=1.0)
    with pytest.raises(ValueError, match="'num_features'"):
        BatchNorm(0)
    with pytest.raises(ValueError, match="3 features"):
        BatchNorm(3).forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="more than one value"):
        BatchNorm(3).forward(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="2 or 4 dimensions"):
        BatchNorm(3).forward(np.zeros((2, 3, 4)))
