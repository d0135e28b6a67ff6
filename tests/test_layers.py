"""Layers: hand-worked forward/backward values, the protocol (discovery, modes, state, dtype), bad input.

Gradients of every layer over random shapes are checked numerically in test_layer_gradients.py.
"""
import numpy as np
import pytest

from nn_scratch.layers import (Dropout, Flatten, Layer, LeakyReLU, Linear, Parameter, ReLU, Sequential,
                               Sigmoid, Softmax, Tanh, init_weights)


def linear_with(W, b):
    layer = Linear(*np.shape(W), dtype=np.float64)
    layer.W.value[...] = W
    layer.b.value[...] = b
    return layer


# ---------------------------------------------------------------- fixed values worked by hand
def test_linear_forward_backward_by_hand():
    # x = [[1, 2]], W = [[1, 0, -1], [2, 1, 0]], b = [0.5, 0, -0.5]
    # y = [1*1 + 2*2, 1*0 + 2*1, 1*-1 + 2*0] + b = [5.5, 2, -1.5]
    layer = linear_with([[1, 0, -1], [2, 1, 0]], [0.5, 0, -0.5])
    y = layer.forward(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(y, [[5.5, 2.0, -1.5]])
    # dy = [[1, -1, 2]]: dW = x^T dy = [[1, -1, 2], [2, -2, 4]]; db = dy; dx = dy W^T = [1 + 0 - 2, 2 - 1 + 0]
    dx = layer.backward(np.array([[1.0, -1.0, 2.0]]))
    np.testing.assert_array_equal(layer.W.grad, [[1, -1, 2], [2, -2, 4]])
    np.testing.assert_array_equal(layer.b.grad, [1, -1, 2])
    np.testing.assert_array_equal(dx, [[-1.0, 1.0]])


def test_backward_sets_rather_than_accumulates():
    layer = linear_with(np.eye(2), [0, 0])
    x = np.array([[1.0, 2.0]])
    for _ in range(3):
        layer.forward(x)
        layer.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(layer.W.grad, [[1, 1], [2, 2]])


def test_activations_by_hand():
    x = np.array([[-2.0, 0.0, 3.0]])
    relu, leaky, tanh, sig = ReLU(), LeakyReLU(0.1), Tanh(), Sigmoid()
    np.testing.assert_array_equal(relu.forward(x), [[0, 0, 3]])
    np.testing.assert_array_equal(relu.winners, [[False, False, True]])
    np.testing.assert_array_equal(relu.backward(np.ones_like(x)), [[0, 0, 1]])
    np.testing.assert_allclose(leaky.forward(x), [[-0.2, 0, 3]])
    np.testing.assert_allclose(leaky.backward(np.ones_like(x)), [[0.1, 0.1, 1]])
    np.testing.assert_allclose(tanh.forward(x), np.tanh(x))
    np.testing.assert_allclose(tanh.backward(np.ones_like(x)), 1 - np.tanh(x) ** 2)
    np.testing.assert_allclose(sig.forward(x), 1 / (1 + np.exp(-x)))
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(sig.backward(np.ones_like(x)), s * (1 - s))
    # sigmoid must not overflow or produce NaN far out
    np.testing.assert_array_equal(Sigmoid().forward(np.array([-1000.0, 1000.0])), [0.0, 1.0])


def test_softmax_layer_by_hand():
    # softmax([0, ln 3]) = [1/4, 3/4]
    sm = Softmax()
    y = sm.forward(np.array([[0.0, np.log(3.0)]]))
    np.testing.assert_allclose(y, [[0.25, 0.75]])
    # dx = y * (dy - sum(dy*y)); dy = [1, 0] -> sum = 0.25 -> dx = [0.25*0.75, 0.75*-0.25]
    np.testing.assert_allclose(sm.backward(np.array([[1.0, 0.0]])), [[0.1875, -0.1875]])
    assert np.all(np.isfinite(Softmax().forward(np.array([[1000.0, -1000.0]]))))


def test_dropout_is_inverted_and_replayable():
    x = np.ones((2000, 50))
    d = Dropout(drop_prob=0.3, rng=0)
    y = d.forward(x)
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01                    # drop_prob is the probability of dropping
    np.testing.assert_allclose(y[kept], 1 / 0.7)             # survivors scaled by 1/keep
    assert abs(y.mean() - 1.0) < 0.02                        # expectation preserved
    np.testing.assert_array_equal(d.backward(np.ones_like(x)), y)   # dx = dy * mask
    np.testing.assert_array_equal(Dropout(0.3, rng=0).forward(x), y)  # same seed, same mask
    d.eval()
    np.testing.assert_array_equal(d.forward(x), x)
    np.testing.assert_array_equal(d.backward(x), x)


def test_flatten_round_trip():
    x = np.arange(24.0).reshape(2, 3, 4)
    f = Flatten()
    assert f.forward(x).shape == (2, 12)
    assert f.backward(np.ones((2, 12))).shape == (2, 3, 4)


def test_sequential_chains_forward_and_backward():
    l1 = linear_with([[1.0, -1.0]], [0.0, 0.0])           # 1 -> 2
    l2 = linear_with([[2.0], [3.0]], [1.0])               # 2 -> 1
    model = Sequential([l1, ReLU(), l2])
    # x = 2: l1 -> [2, -2]; relu -> [2, 0]; l2 -> 2*2 + 0*3 + 1 = 5
    np.testing.assert_array_equal(model.forward(np.array([[2.0]])), [[5.0]])
    dx = model.backward(np.array([[1.0]]))
    # dl2/dh = [2, 3]; relu passes [2, 0]; dx = 2*1 + 0*(-1) = 2
    np.testing.assert_array_equal(dx, [[2.0]])
    np.testing.assert_array_equal(l2.W.grad, [[2.0], [0.0]])
    np.testing.assert_array_equal(l1.W.grad, [[4.0, 0.0]])


# ---------------------------------------------------------------- the protocol
class Scale(Layer):
    """A user's own layer: one Parameter attribute, nothing registered."""

    def __init__(self):
        super().__init__()
        self.a = Parameter(np.array([2.0]), "a")

    def forward(self, x):
        self.x = x
        return self.a.value * x

    def backward(self, dy):
        self.a.grad[...] = np.sum(dy * self.x)
        return self.a.value * dy


def test_user_layer_parameters_found_without_registration():
    model = Sequential([Linear(3, 2, rng=0), Scale(), Sequential([ReLU(), Linear(2, 1, rng=1)])])
    names = [n for n, _ in model.named_parameters()]
    assert names == ["layers.0.W", "layers.0.b", "layers.1.a", "layers.2.layers.1.W", "layers.2.layers.1.b"]
    assert len(model.parameters()) == 5
    assert len(model.modules()) == 6


def test_train_eval_propagate():
    model = Sequential([Linear(2, 2), Sequential([Dropout(0.5)])])
    model.eval()
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_state_dict_round_trip_is_exact_and_a_copy():
    a = Sequential([Linear(4, 3, rng=0), ReLU(), Linear(3, 2, rng=1)])
    b = Sequential([Linear(4, 3, rng=5), ReLU(), Linear(3, 2, rng=6)])
    state = a.state_dict()
    b.load_state_dict(state)
    for (_, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(pa.value, pb.value)
    state["layers.0.W"][...] = 99      # the dict holds copies
    assert not np.any(a.layers[0].W.value == 99)


def test_load_state_dict_rejects_mismatch():
    model = Sequential([Linear(4, 3)])
    with pytest.raises(ValueError, match="missing keys"):
        model.load_state_dict({})
    with pytest.raises(ValueError, match=r"expected shape \(4, 3\)"):
        model.load_state_dict({"layers.0.W": np.zeros((3, 4)), "layers.0.b": np.zeros(3)})


def test_astype_converts_parameters_and_grads():
    model = Sequential([Linear(4, 3), ReLU(), Linear(3, 2)])
    assert model.layers[0].W.value.dtype == np.float32       # training dtype by default
    model.astype(np.float64)
    for p in model.parameters():
        assert p.value.dtype == p.grad.dtype == np.float64


def test_float32_model_stays_float32():
    model = Sequential([Linear(4, 8, rng=0), ReLU(), Dropout(0.2, rng=1), Tanh(), Linear(8, 3, rng=2)])
    x = np.random.default_rng(0).standard_normal((5, 4))   # float64 input is converted, not upcast
    y = model.forward(x)
    assert y.dtype == np.float32
    dx = model.backward(np.ones_like(y))
    assert dx.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_init_schemes_have_stated_scale():
    W = init_weights((1000, 500), "he", rng=0)
    assert abs(W.std() - np.sqrt(2 / 1000)) < 1e-3
    W = init_weights((1000, 500), "xavier", rng=0)
    assert abs(W.std() - np.sqrt(2 / 1500)) < 1e-3
    W = init_weights((1000, 500), "gaussian", rng=0, weight_scale=0.01)
    assert abs(W.std() - 0.01) < 1e-4
    np.testing.assert_array_equal(Linear(5, 5, rng=3).W.value, Linear(5, 5, rng=3).W.value)
    with pytest.raises(ValueError, match="scheme"):
        init_weights((2, 2), "glorot")


def test_zeros_output_layer_starts_at_chance_and_still_learns():
    from nn_scratch.losses import SoftmaxCrossEntropy
    from nn_scratch.optim import SGD
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 6)), rng.integers(0, 4, 40)
    model = Sequential([Linear(6, 16, rng=0), ReLU(), Linear(16, 4, init="zeros", rng=1)])
    assert not model.layers[-1].W.value.any()
    loss, opt = SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.5)
    assert np.mean(loss.forward(model.forward(X), y)) == pytest.approx(np.log(4), abs=1e-6)
    hidden_W0 = model.layers[0].W.value.copy()
    first = None
    for _ in range(30):
        value = float(np.mean(loss.forward(model.forward(X), y)))
        first = value if first is None else first
        model.backward(loss.backward())
        opt.step()
    W_out = model.layers[-1].W.value
    assert np.linalg.matrix_rank(W_out) > 1             # the output columns did not stay equal
    assert not np.allclose(model.layers[0].W.value, hidden_W0)    # the hidden layer gets gradient too
    assert value < 0.8 * first


def test_linear_rejects_wrong_width_and_rank():
    layer = Linear(4, 2)
    with pytest.raises(ValueError, match=r"must have 4 features.*got 3"):
        layer.forward(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"must have at least 2 dimensions .*, got 1"):
        layer.forward(np.zeros(4))
    with pytest.raises(ValueError, match=r"must have 4 features.*got 1"):      # (N, T, D) is fine, but D = 4
        layer.forward(np.zeros((5, 4, 1)))
    with pytest.raises(TypeError, match="numeric"):
        layer.forward(np.array([["a", "b", "c", "d"]]))
    with pytest.raises(ValueError, match="in_features"):
        Linear(0, 3)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="drop_prob"):
        Dropout(1.0)
    with pytest.raises(ValueError, match="alpha"):
        LeakyReLU(-0.1)
    with pytest.raises(TypeError, match=r"layers\[1\]"):
        Sequential([ReLU(), "not a layer"])


def test_named_generators_found_in_nested_and_user_layers():
    class Noisy(Layer):
        def __init__(self):
            super().__init__()
            self.rngs = [np.random.default_rng(1)]

    shared = Dropout(0.5, rng=0)
    model = Sequential([Linear(2, 2), shared, Sequential([Noisy(), shared])])
    names = [n for n, _ in model.named_generators()]
    assert names == ["layers.1.rng", "layers.2.layers.0.rngs.0"]      # the shared Dropout listed once
