"""The data's gradient: skipped by everything that trains, still returned to anyone who asks (layers.base)."""
import threading

import numpy as np
import pytest

from nn_scratch.gradcheck import check_layer, check_model
from nn_scratch.layers import (Conv2D, Dropout, Flatten, Layer, Linear, Parameter, ReLU, Sequential,
                               skip_input_grad)
from nn_scratch.losses import SoftmaxCrossEntropy
from nn_scratch.lr_finder import lr_range_test
from nn_scratch.optim import SGD, lbfgs
from nn_scratch.sanity import overfit_small_subset
from nn_scratch.trainer import Trainer


class Scale(Layer):
    """A user's own layer, written without knowing about the rule: always returns dx."""

    def __init__(self):
        super().__init__()
        self.a = Parameter(np.full(1, 1.5), "a", regularize=False)

    def forward(self, x):
        self.x = x
        return self.a.value * x

    def backward(self, dy):
        self.a.grad[...] = np.sum(dy * self.x)
        return self.a.value * dy


class Spy(Layer):
    """Wraps a model and keeps what its backward returned, as a user's own model made of layers would.
    The record is shared by deep copies (the sanity checks and L-BFGS train a copy)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.returned = Record()

    def forward(self, x):
        return self.inner.forward(x)

    def backward(self, dy):
        dx = self.inner.backward(dy)
        self.returned.append(dx)
        return dx


class Record(list):
    def __deepcopy__(self, memo):
        return self


class TwoLayers(Layer):
    """A user's own model made of layers, not a Sequential."""

    def __init__(self):
        super().__init__()
        self.fc1, self.act, self.fc2 = Linear(4, 6, rng=0), ReLU(), Linear(6, 3, rng=1)

    def forward(self, x):
        return self.fc2.forward(self.act.forward(self.fc1.forward(x)))

    def backward(self, dy):
        return self.fc1.backward(self.act.backward(self.fc2.backward(dy)))


def _data(n=40, d=4, c=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int) * (c > 2)


def test_backward_returns_dx_when_asked_and_it_is_right():
    model = Sequential([Linear(4, 6, rng=0, dtype=np.float64), ReLU(), Linear(6, 3, rng=1, dtype=np.float64)])
    x = np.random.default_rng(0).standard_normal((5, 4))
    model.forward(x)
    dx = model.backward(np.ones((5, 3)))
    assert dx is not None and dx.shape == (5, 4)
    report = check_layer(model, x, seed=0)                    # the input's gradient is checked numerically
    assert report.passed and report["x (input)"].checked > 0


def test_inside_the_block_only_the_marked_array_skips():
    X, _ = _data()
    model = Sequential([Linear(4, 6, rng=0), ReLU(), Linear(6, 3, rng=1)])
    dy = np.ones((len(X), 3), np.float32)
    with skip_input_grad(X):
        model.forward(X)
    assert model.backward(dy) is None                          # the data: not computed
    grads = [p.grad.copy() for p in model.parameters()]
    with skip_input_grad(X):
        model.forward(X.copy())                                # an equal array, but not the data object
    dx = model.backward(dy)
    assert dx is not None and dx.shape == X.shape
    for g, p in zip(grads, model.parameters()):                # the parameters' grads are the same either way
        np.testing.assert_array_equal(g, p.grad)
    model.forward(X)                                           # after the block: computed again
    assert model.backward(dy) is not None


def test_flatten_and_dropout_pass_the_mark_on_but_a_users_layer_does_not():
    x = np.random.default_rng(1).standard_normal((3, 1, 4, 4)).astype(np.float32)
    model = Sequential([Flatten(), Dropout(0.3, rng=0), Linear(16, 2, rng=0)])
    with skip_input_grad(x):
        model.forward(x)
    assert model.backward(np.ones((3, 2), np.float32)) is None
    assert model.layers[2].dx_needed is False
    user_first = Sequential([Scale(), Flatten(), Linear(16, 2, rng=0)])
    with skip_input_grad(x):
        user_first.forward(x)
    dx = user_first.backward(np.ones((3, 2), np.float32))
    assert dx is not None and dx.shape == x.shape              # Scale knows nothing of the rule: dx as always


def test_conv_first_layer_skips_under_the_block():
    x = np.random.default_rng(2).standard_normal((2, 1, 6, 6)).astype(np.float32)
    conv = Conv2D(1, 2, 3, padding=1, rng=0)
    with skip_input_grad(x):
        y = conv.forward(x)
    dy = np.ones_like(y)
    assert conv.backward(dy) is None
    w_grad = conv.W.grad.copy()
    conv.forward(x)
    assert conv.backward(dy).shape == x.shape
    np.testing.assert_array_equal(conv.W.grad, w_grad)


@pytest.mark.parametrize("make", [
    lambda: Sequential([Linear(4, 6, rng=0), ReLU(), Linear(6, 3, rng=1)]),
    TwoLayers,
    lambda: Sequential([Sequential([Linear(4, 6, rng=0), ReLU()]), Linear(6, 3, rng=1)]),   # nested
], ids=["Sequential", "own model", "nested"])
def test_trainer_does_not_compute_the_first_layers_input_gradient(make):
    X, y = _data()
    model = Spy(make())
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), progress=False)
    trainer.fit(X, y, epochs=1, batch_size=16, seed=0)
    assert len(model.returned) == 3 and all(dx is None for dx in model.returned)
    model.forward(X)                                           # the same model, used by hand: dx again
    assert model.backward(np.ones((len(X), 3), np.float32)).shape == X.shape


def test_skipping_does_not_change_training():
    X, y = _data(seed=3)
    trained = Sequential([Linear(4, 6, rng=0), ReLU(), Linear(6, 3, rng=1)])
    Trainer(trained, SoftmaxCrossEntropy(), SGD(trained.parameters(), lr=0.1), progress=False).fit(
        X, y, epochs=2, batch_size=16, seed=0)
    by_hand = Sequential([Linear(4, 6, rng=0), ReLU(), Linear(6, 3, rng=1)])
    loss, opt, rng = SoftmaxCrossEntropy(), SGD(by_hand.parameters(), lr=0.1), np.random.default_rng(0)
    for _ in range(2):                                         # the trainer's batches: a permutation per epoch
        perm = rng.permutation(len(X))
        for b in range(0, len(X), 16):
            idx = perm[b:b + 16]
            loss.forward(by_hand.forward(X[idx]), y[idx])
            assert by_hand.backward(loss.backward()) is not None
            opt.step()
    for p, q in zip(trained.parameters(), by_hand.parameters()):
        np.testing.assert_array_equal(p.value, q.value)


def test_lr_range_test_sanity_and_lbfgs_skip_it_too():
    X, y = _data(n=30)
    model = Spy(Sequential([Linear(4, 8, rng=0), ReLU(), Linear(8, 3, rng=1)]))
    lr_range_test(model, SoftmaxCrossEntropy(), X, y, SGD(model.parameters(), lr=0.1), num_steps=5,
                  batch_size=10, seed=0)
    overfit_small_subset(model, SoftmaxCrossEntropy(), X, y, n=10, steps=3)
    lbfgs(model, SoftmaxCrossEntropy(), X, y, maxiter=2)
    assert len(model.returned) >= 5 + 3 + 2 and all(dx is None for dx in model.returned)


def test_a_users_own_layer_first_trains_and_checks_unchanged():
    X, y = _data()
    model = Spy(Sequential([Scale(), Linear(4, 3, rng=0)]))
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), progress=False)
    before = trainer.evaluate(X, y)["loss"]
    history = trainer.fit(X, y, epochs=3, batch_size=8, seed=0)
    assert all(dx is not None and dx.shape == (8, 4) for dx in model.returned)   # its dx, as it wrote it
    assert history.epochs["train_loss_eval"][-1] < before
    assert model.inner.layers[0].a.value[0] != 1.5                              # its parameter was trained
    assert check_model(model, SoftmaxCrossEntropy(), X[:6].astype(np.float64), y[:6], seed=0).passed


def test_marks_are_per_thread():
    X, _ = _data()
    model = Linear(4, 3, rng=0)
    seen = {}

    def other_thread():
        model_b = Linear(4, 3, rng=0)
        model_b.forward(X)                                     # same array, no block in this thread
        seen["dx"] = model_b.backward(np.ones((len(X), 3), np.float32))

    with skip_input_grad(X):
        model.forward(X)
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    assert model.backward(np.ones((len(X), 3), np.float32)) is None
    assert seen["dx"] is not None and seen["dx"].shape == X.shape
