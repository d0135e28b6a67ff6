"""The LR range test: geometric sweep, early stop on divergence, a finite suggestion, nothing left changed."""
import matplotlib.figure
import numpy as np
import pytest

from nn_scratch.layers import Dropout, Linear, ReLU, Sequential
from nn_scratch.losses import L2, SoftmaxCrossEntropy
from nn_scratch.lr_finder import lr_range_test, plot_lr_range_test
from nn_scratch.optim import SGD, Adam
from nn_scratch.schedules import ReduceOnPlateau


def blobs(seed=0, n=300, d=5, c=3):
    rng = np.random.default_rng(seed)
    centers = 2.0 * rng.normal(size=(c, d))
    y = rng.integers(0, c, n)
    return (centers[y] + rng.normal(size=(n, d))).astype(np.float32), y


def model_with_dropout():
    return Sequential([Linear(5, 16, rng=1), ReLU(), Dropout(0.1, rng=3), Linear(16, 3, rng=2)])


def test_sweep_suggests_a_finite_rate_and_restores_everything():
    X, y = blobs()
    model = model_with_dropout()
    before = model.state_dict()
    dropout_state = model.layers[2].rng.bit_generator.state
    res = lr_range_test(model, SoftmaxCrossEntropy(), X, y, start_lr=1e-6, end_lr=100, num_steps=150,
                        batch_size=32, seed=0, reg=L2(1e-4))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    assert model.layers[2].rng.bit_generator.state == dropout_state
    assert res.diverged and len(res.lrs) < 150                   # 100 is far too large: it stopped early
    assert np.isfinite(res.suggested_lr) and 1e-6 < res.suggested_lr < res.min_loss_lr < 100
    # the suggestion lies where the loss was falling: its smoothed loss is below the starting one
    i = int(np.argmin(np.abs(res.lrs - res.suggested_lr)))
    assert res.smoothed[i] < res.smoothed[0]
    # the rates form the documented geometric sequence
    k = np.arange(len(res.lrs))
    np.testing.assert_allclose(res.lrs, 1e-6 * (1e8) ** (k / 149), rtol=1e-12)
    # and the suggestion is a rate that trains: plain SGD with it lowers the full-batch loss a lot
    loss = SoftmaxCrossEntropy()
    start = loss.reduce(loss.forward(model.eval().forward(X), y))
    model.train()
    opt = SGD(model.parameters(), lr=res.suggested_lr)
    for _ in range(100):
        loss.forward(model.forward(X), y)
        model.backward(loss.backward())
        opt.step()
    assert loss.reduce(loss.forward(model.eval().forward(X), y)) < 0.5 * start


def test_smoothing_is_a_bias_corrected_moving_average_and_seed_replays():
    X, y = blobs(1)
    kwargs = dict(start_lr=1e-4, end_lr=1e-1, num_steps=30, batch_size=16, seed=5, smoothing=0.8)
    a = lr_range_test(Sequential([Linear(5, 3, rng=0)]), SoftmaxCrossEntropy(), X, y, **kwargs)
    b = lr_range_test(Sequential([Linear(5, 3, rng=0)]), SoftmaxCrossEntropy(), X, y, **kwargs)
    np.testing.assert_array_equal(a.losses, b.losses)
    avg, want = 0.0, []
    for i, J in enumerate(a.losses):
        avg = 0.8 * avg + 0.2 * J
        want.append(avg / (1 - 0.8 ** (i + 1)))
    np.testing.assert_allclose(a.smoothed, want, rtol=1e-12)
    assert a.smoothed[0] == pytest.approx(a.losses[0], rel=1e-12)
    assert not a.diverged and len(a.lrs) == 30


def test_an_optimizer_instance_gets_its_rate_and_state_back():
    X, y = blobs(2)
    model = Sequential([Linear(5, 3, rng=0)])
    opt = Adam(model.parameters(), lr=3e-3)
    loss = SoftmaxCrossEntropy()
    for _ in range(3):
        loss.forward(model.forward(X), y)
        model.backward(loss.backward())
        opt.step()
    state = opt.state_dict()
    res = lr_range_test(model, loss, X, y, opt, start_lr=1e-4, end_lr=1.0, num_steps=20, batch_size=50)
    assert res.lrs[0] == pytest.approx(1e-4) and res.lrs[-1] == pytest.approx(1.0)
    assert opt.lr == 3e-3 and opt.t == 3
    for k, v in opt.state_dict().items():
        np.testing.assert_array_equal(v, state[k], err_msg=k)


def test_an_optimizer_whose_rate_is_a_plateau_schedule_gets_it_back():
    X, y = blobs(4)
    model = Sequential([Linear(5, 3, rng=0)])
    plateau = ReduceOnPlateau(0.1, factor=0.5, patience=0)
    opt = SGD(model.parameters(), lr=plateau, momentum=0.9)
    plateau.observe(1.0)
    plateau.observe(2.0)                                  # one cut: the schedule now has state to keep
    lr_range_test(model, SoftmaxCrossEntropy(), X, y, opt, num_steps=10, batch_size=50)
    assert opt.lr is plateau and opt.current_lr == pytest.approx(0.05) and plateau.num_reductions == 1


def test_plot_returns_a_figure():
    X, y = blobs(3)
    res = lr_range_test(Sequential([Linear(5, 3, rng=0)]), SoftmaxCrossEntropy(), X, y, num_steps=20)
    fig = res.plot()
    assert isinstance(fig, matplotlib.figure.Figure)
    assert fig.axes[0].get_xscale() == "log"
    assert isinstance(plot_lr_range_test(res), matplotlib.figure.Figure)


@pytest.mark.parametrize("kwargs, match", [
    (dict(start_lr=1.0, end_lr=0.1), "'end_lr'"),
    (dict(start_lr=-1.0), "'start_lr'"),
    (dict(num_steps=2), "'num_steps'"),
    (dict(smoothing=1.0), "'smoothing'"),
    (dict(optimizer="sgd"), "'optimizer'"),
])
def test_bad_arguments_are_named(kwargs, match):
    X, y = blobs()
    with pytest.raises((ValueError, TypeError), match=match):
        lr_range_test(Sequential([Linear(5, 3, rng=0)]), SoftmaxCrossEntropy(), X, y, **kwargs)
