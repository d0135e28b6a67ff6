"""Trainer and History: batching, recording, evaluation, the optimum, real data."""
import doctest
import gzip
import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn_scratch.trainer as trainer_module
from nn_scratch.callbacks import Callback
from nn_scratch.layers import Dropout, Layer, Linear, ReLU, Sequential
from nn_scratch.losses import MSE, Flooding, SoftmaxCrossEntropy
from nn_scratch.optim import SGD, Adam, lbfgs
from nn_scratch.trainer import History, Trainer


def blobs(n=120, d=4, c=3, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    centers = rng.standard_normal((c, d)) * 3
    return (centers[y] + rng.standard_normal((n, d))).astype(dtype), y


def mlp(d=4, h=16, c=3, seed=0, drop=0.0, dtype=np.float32):
    layers = [Linear(d, h, rng=seed, dtype=dtype), ReLU()]
    if drop:
        layers.append(Dropout(drop, rng=seed + 1))
    return Sequential(layers + [Linear(h, c, rng=seed + 2, dtype=dtype)])


def make_trainer(model=None, lr=0.1, **kw):
    model = model or mlp()
    return Trainer(model, kw.pop("loss", SoftmaxCrossEntropy()), SGD(model.parameters(), lr=lr, momentum=0.9),
                   progress=False, **kw)


class Spy(Layer):
    """Identity layer that records the first input column in training mode (rows carry their index there)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        if self.training:
            self.seen.append(x[:, 0].astype(int).copy())
        return x

    def backward(self, dy):
        return dy


# -- batching ------------------------------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 50), epochs=st.integers(1, 3), seed=st.integers(0, 99))
def test_each_epoch_is_a_permutation_in_batches(n, batch_size, epochs, seed):
    X = np.column_stack([np.arange(n), np.zeros(n)]).astype(np.float32)
    y = np.arange(n) % 2
    spy = Spy()
    model = Sequential([spy, Linear(2, 2, rng=0)])
    t = make_trainer(model, lr=0.0, update_ratio_every=0)
    h = t.fit(X, y, epochs=epochs, batch_size=batch_size, seed=seed, eval_train=False)
    per_epoch = -(-n // batch_size)
    assert len(spy.seen) == epochs * per_epoch
    for e in range(epochs):
        batches = spy.seen[e * per_epoch:(e + 1) * per_epoch]
        assert [len(b) for b in batches[:-1]] == [batch_size] * (per_epoch - 1)
        assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(n))   # without replacement
    # history lengths agree with the loop
    assert len(h.steps["step"]) == epochs * per_epoch and h.steps["step"][-1] == epochs * per_epoch
    assert len(h.epochs["epoch"]) == epochs == len(h.evals["step"])
    assert h.epochs["step"] == [per_epoch * (e + 1) for e in range(epochs)]
    assert h.steps["epoch"][per_epoch - 1] == 1.0
    assert all(len(col) == len(h.steps["step"]) for col in h.steps.values())


def test_reshuffled_every_epoch_and_seed_controls_order():
    X = np.column_stack([np.arange(30), np.zeros(30)]).astype(np.float32)
    y = np.arange(30) % 2
    orders = []
    for seed in (0, 0, 1):
        spy = Spy()
        make_trainer(Sequential([spy, Linear(2, 2, rng=0)]), lr=0.0).fit(X, y, epochs=2, batch_size=30, seed=seed)
        orders.append(spy.seen)
    assert np.array_equal(orders[0][0], orders[1][0]) and np.array_equal(orders[0][1], orders[1][1])
    assert not np.array_equal(orders[0][0], orders[0][1])      # a new permutation each epoch
    assert not np.array_equal(orders[0][0], orders[2][0])      # another seed, another order


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2 ** 31), batch_size=st.integers(5, 60))
def test_same_seed_same_history(seed, batch_size):
    X, y = blobs(60)

    def run(s):
        t = make_trainer(mlp(drop=0.3))
        return t.fit(X, y, X[:20], y[:20], epochs=2, batch_size=batch_size, seed=s)

    a, b = run(seed), run(seed)
    assert a.equals(b), a.differences(b)
    assert not a.equals(run(seed + 1))


@settings(max_examples=15, deadline=None)
@given(eval_every=st.integers(1, 12), n=st.integers(10, 50))
def test_eval_every_steps(eval_every, n):
    X, y = blobs(n)
    t = make_trainer()
    h = t.fit(X, y, X, y, epochs=3, batch_size=8, eval_every=eval_every)
    total = 3 * -(-n // 8)
    assert h.evals["step"] == list(range(eval_every, total + 1, eval_every))
    assert np.allclose(h.evals["epoch"], np.array(h.evals["step"]) / -(-n // 8))
    for e, s, v in zip(h.epochs["epoch"], h.epochs["step"], h.epochs["val_loss"]):
        assert np.isnan(v) == (s % eval_every != 0)   # epoch rows filled only when an evaluation fell there


# -- what is recorded ------------------------------------------------------------------------------------------
def test_recorded_values_match_direct_measurements():
    X, y = blobs(90)
    model = mlp(drop=0.5)
    t = make_trainer(model, reg=1e-3)
    lrs = []

    class LR(Callback):
        def on_step_begin(self, tr):
            lrs.append(tr.optimizer.current_lr)

    t.callbacks.append(LR())
    h = t.fit(X, y, X[:30], y[:30], epochs=3, batch_size=32)
    # the end-of-epoch re-measurement is eval mode without penalty: exactly evaluate() at that point
    assert h.epochs["train_loss_eval"][-1] == t.evaluate(X, y)["loss"]
    assert h.epochs["val_acc"][-1] == t.evaluate(X[:30], y[:30])["acc"]
    scores = t.predict(X[:30])
    assert h.epochs["val_acc"][-1] == np.mean(scores.argmax(1) == y[:30])
    assert h.steps["lr"] == lrs
    # batch objective = data loss + penalty > data loss; the epoch columns are size-weighted means of the steps'
    steps = {k: np.array(h.steps[k]) for k in ("loss", "penalty", "objective")}
    assert np.all(steps["penalty"] > 0) and np.all(steps["objective"] > steps["loss"])
    np.testing.assert_allclose(steps["objective"], steps["loss"] + steps["penalty"], rtol=1e-12)
    sizes = np.array([32, 32, 26] * 3)
    for e in range(3):
        sl = slice(3 * e, 3 * e + 3)
        for col, key in (("train_loss", "loss"), ("train_penalty", "penalty"), ("train_objective", "objective")):
            assert np.isclose(h.epochs[col][e], np.sum(steps[key][sl] * sizes[sl]) / 90, rtol=1e-12)
    assert h.meta["reg"] == 1e-3 and h.meta["flood_level"] is None
    assert np.all(np.diff(h.epochs["time"]) >= 0)
    assert h.meta["steps_per_epoch"] == 3 and h.meta["n_train"] == 90


def test_evaluate_is_eval_mode_and_without_penalty():
    X, y = blobs(50)
    model = mlp(drop=0.9)
    t = make_trainer(model, reg=10.0)
    r = t.evaluate(X, y, per_sample=True)
    assert model.training is True                   # evaluated in eval mode, then the mode is restored
    model.eval()
    expected = SoftmaxCrossEntropy().forward(model.forward(X), y)
    assert np.allclose(r["losses"], expected) and np.isclose(r["loss"], expected.mean())
    assert r["correct"].shape == (50,)
    assert t.evaluate(X, y)["loss"] == t.evaluate(X, y, batch_size=7)["loss"] or \
        np.isclose(t.evaluate(X, y)["loss"], t.evaluate(X, y, batch_size=7)["loss"], rtol=1e-6)


def test_evaluate_of_exploded_weights_reports_without_numpy_warnings():
    model = Linear(2, 2, rng=0)                     # float32 scores of +-3e38: s - max(s) overflows to -inf
    model.W.value[...] = [[1e38, -1e38], [0.0, 0.0]]
    X, y = np.array([[3.0, 0.0]], np.float32), np.array([1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r = make_trainer(model).evaluate(X, y)
    assert r["loss"] == np.inf and r["acc"] == 0.0
    with pytest.warns(RuntimeWarning, match="overflow"):      # without the guard numpy's warning is the report
        make_trainer(model, nan_guard=None).evaluate(X, y)


def test_regression_with_mse_has_no_accuracy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3)).astype(np.float32)
    w = np.array([[1.0], [-2.0], [0.5]], np.float32)
    y = X @ w + 0.01 * rng.standard_normal((200, 1)).astype(np.float32)
    model = Linear(3, 1, rng=0)
    t = Trainer(model, MSE(), SGD(model.parameters(), lr=0.1), progress=False)
    h = t.fit(X, y, X[:50], y[:50], epochs=30, batch_size=20)
    assert np.isnan(h.epochs["val_acc"]).all() and np.isnan(h.epochs["train_acc_eval"]).all()
    assert h.epochs["val_loss"][-1] < 1e-3 < h.epochs["val_loss"][0]
    assert np.allclose(model.W.value, w, atol=0.01)


def test_flooding_fraction_recorded():
    X, y = blobs(64)
    h_high = make_trainer(loss=Flooding(SoftmaxCrossEntropy(), 50.0), lr=0.01).fit(X, y, epochs=2, batch_size=16)
    h_zero = make_trainer(loss=Flooding(SoftmaxCrossEntropy(), 0.0)).fit(X, y, epochs=2, batch_size=16)
    h_none = make_trainer().fit(X, y, epochs=1, batch_size=16)
    assert h_high.epochs["flood_below_frac"] == [1.0, 1.0]
    assert h_zero.epochs["flood_below_frac"] == [0.0, 0.0]
    assert np.isnan(h_none.epochs["flood_below_frac"][0])
    # with the level far above the loss every step ascends: the training loss goes up
    assert h_high.steps["loss"][-1] > h_high.steps["loss"][0]


# -- the optimum -----------------------------------------------------------------------------------------------
def test_softmax_regression_reaches_the_lbfgs_optimum():
    X, y = blobs(80, d=3, c=3, seed=1, dtype=np.float64)
    reg = 1e-2
    ref = Linear(3, 3, rng=0, dtype=np.float64)
    res = lbfgs(ref, SoftmaxCrossEntropy(), X, y, reg=reg, tol=1e-14, maxiter=2000)
    model = Linear(3, 3, rng=5, dtype=np.float64)
    t = Trainer(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=0.1), reg=reg, progress=False,
                update_ratio_every=0)
    h = t.fit(X, y, epochs=400, batch_size=80, eval_train=False)
    final = h.steps["objective"][-1]
    assert abs(final - res.loss) < 1e-6 * max(1.0, res.loss)
    assert np.allclose(model.W.value, ref.W.value, atol=1e-3)
    # the bias is not penalized and softmax ignores a common shift of all scores: compare up to that shift
    assert np.allclose(model.b.value - model.b.value.mean(), ref.b.value - ref.b.value.mean(), atol=1e-3)


# -- files and comparison --------------------------------------------------------------------------------------
def test_history_json_csv_round_trip(tmp_path):
    X, y = blobs(40)
    h = make_trainer().fit(X, y, epochs=2, batch_size=16)          # no validation: NaN columns
    h.record("custom", step=1, epoch=0.5, values=[1.0, float("nan")])
    h.to_json(tmp_path / "h.json")
    assert json.loads((tmp_path / "h.json").read_text())["epochs"]["val_loss"] == [None, None]
    back = History.from_json(tmp_path / "h.json")
    assert back.equals(h, ignore=()) and back.meta == h.meta
    assert History.from_json(h.to_json()).equals(h, ignore=())
    back.epochs["train_loss"][1] += 1e-12
    assert not back.equals(h) and "train_loss" in back.differences(h)[0]
    h.to_csv(tmp_path / "e.csv")
    rows = (tmp_path / "e.csv").read_text().strip().splitlines()
    assert rows[0].split(",")[:3] == ["epoch", "step", "train_loss"] and len(rows) == 3
    assert float(rows[1].split(",")[2]) == h.epochs["train_loss"][0]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp_")]
    with pytest.raises(ValueError, match="table"):
        h.to_csv(tmp_path / "x.csv", table="nope")


def test_best_of_history():
    h = History()
    for e, v in enumerate([3.0, 1.0, float("nan"), 2.0], 1):
        History._append(h.epochs, {"epoch": e, "val_loss": v})
    assert h.best("val_loss", "min") == (2, 1.0) and h.best("val_loss", "max") == (1, 3.0)


# -- input checks and printing ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "'epochs'"), ({"batch_size": 2.5}, "'batch_size'"), ({"eval_every": 0}, "'eval_every'"),
    ({"X_val": np.zeros((3, 4))}, "X_val"), ({"y": np.zeros(3)}, "'y'")])
def test_bad_fit_arguments(kwargs, match):
    X, y = blobs(10)
    args = dict(X=X, y=y)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        make_trainer().fit(**args)


def test_bad_constructor_arguments():
    model = mlp()
    with pytest.raises(TypeError, match="'reg'"):
        Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), reg="big")
    with pytest.raises(TypeError, match="callbacks"):
        Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), callbacks=[print])
    with pytest.raises(ValueError, match="NaN"):
        make_trainer().fit(np.full((4, 4), np.nan, np.float32), np.zeros(4, int))


def test_print_every_and_progress_off(capsys):
    X, y = blobs(40)
    make_trainer(print_every=3).fit(X, y, X, y, epochs=2, batch_size=10)
    out, err = capsys.readouterr()
    assert out.count("step ") - out.count("eval  step") == 2 and out.count("eval  step") == 2
    assert "loss" in out and err == ""


def test_docstring_examples_run():
    assert doctest.testmod(trainer_module).failed == 0


# -- real data ------------------------------------------------------------------------------------------------
def test_small_mlp_on_digits_reaches_90_percent(shared_data):
    with gzip.open(shared_data / "digits" / "digits.csv.gz", "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    X, y = (data[:, :64] / 16).astype(np.float32), data[:, 64].astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    tr, va = order[:1400], order[1400:]
    model = Sequential([Linear(64, 64, rng=0), ReLU(), Linear(64, 10, rng=1)])
    t = Trainer(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=3e-3), reg=1e-4, progress=False)
    h = t.fit(X[tr], y[tr], X[va], y[va], epochs=15, batch_size=64, seed=0)
    assert h.epochs["val_acc"][-1] >= 0.9
    assert h.epochs["train_acc_eval"][-1] >= h.epochs["val_acc"][-1] - 0.05


def test_progress_bar_writes_to_stderr_and_can_be_off(capsys):
    X, y = blobs(40)
    model = mlp()
    Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1)).fit(X, y, epochs=1, batch_size=10)
    assert "step" in capsys.readouterr().err
    make_trainer().fit(X, y, epochs=1, batch_size=10)
    assert capsys.readouterr().err == ""
