"""Callbacks: early stopping (plain and adaptive), checkpoints and resume, weight averaging, NaN guard,
flooding -- and tutorial 05 that puts them side by side."""
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn_scratch.callbacks import Callback, Checkpoint, EarlyStopping, NaNGuard, TrainingDiverged, WeightAverage
from nn_scratch.data import load_digits
from nn_scratch.layers import BatchNorm, Dropout, Linear, ReLU, Sequential
from nn_scratch.losses import MSE, Flooding, SoftmaxCrossEntropy
from nn_scratch.monitors import PerSampleLoss
from nn_scratch.optim import SGD, Adam
from nn_scratch.trainer import History, Trainer


@pytest.fixture(scope="module")
def digits_small():
    """100 training digits (overfits quickly), 200 validation digits."""
    X, y = load_digits()
    order = np.random.default_rng(0).permutation(len(y))
    tr, va = order[:100], order[100:300]
    return X[tr], y[tr], X[va], y[va]


def net(seed=0, drop=0.0, batchnorm=False):
    layers = [Linear(64, 64, rng=seed)] + ([BatchNorm(64)] if batchnorm else []) + [ReLU()]
    layers += [Dropout(drop, rng=seed + 7)] if drop else []
    return Sequential(layers + [Linear(64, 10, rng=seed + 1)])


class EpochWeights(Callback):
    """Copies of the weights at each epoch end (index e-1 for epoch e)."""

    def __init__(self):
        self.states = []

    def on_epoch_end(self, trainer):
        self.states.append(trainer.model.state_dict())


class StepWeights(Callback):
    """weights[0] = before training, weights[k] = after step k."""

    def on_fit_begin(self, trainer):
        self.weights = [[p.value.copy() for p in trainer.params]]

    def on_step_end(self, trainer):
        self.weights.append([p.value.copy() for p in trainer.params])


def same_state(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)


# -- early stopping ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("patience, epochs", [(4, 60), (1000, 25)])
def test_early_stopping_restores_exactly_the_best_epoch(digits_small, patience, epochs):
    X, y, Xv, yv = digits_small
    model = net()
    spy, es = EpochWeights(), EarlyStopping("val_loss", mode="min", patience=patience)
    t = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1, momentum=0.9),
                callbacks=[spy, es], progress=False)
    h = t.fit(X, y, Xv, yv, epochs=epochs, batch_size=20)
    val = np.array(h.epochs["val_loss"])
    best = int(np.argmin(val)) + 1
    assert es.best_epoch == best and es.best == val[best - 1]
    assert best < len(h)                                   # validation turned: the best is not the last
    assert same_state(model.state_dict(), spy.states[best - 1])
    assert not same_state(model.state_dict(), spy.states[-1])
    assert es.restored and h.meta["early_stopping"]["best_epoch"] == best
    if patience == 4:                                      # stopped patience evaluations after the best
        assert es.stopped_epoch == len(h) == best + patience < epochs
    else:                                                  # ran to the end, still restored the best
        assert es.stopped_epoch is None and len(h) == epochs


def feed(es, values):
    """Drive EarlyStopping with a sequence of val_loss values; return the 1-based index where it stopped."""
    return feed_generic(es, [{"val_loss": v} for v in values])


def test_adaptive_patience_grows_to_the_epoch_of_the_best():
    values = [5, 4, 3, 2, 1] + [2] * 10            # last best at evaluation 5
    assert feed(EarlyStopping(mode="min", patience=2), values) == 7
    es = EarlyStopping(mode="min", patience=2, adaptive=True)
    assert feed(es, values) == 10 and es.patience_now == 5   # waits as long as the best took
    es = EarlyStopping(mode="min", patience=8, adaptive=True)
    assert feed(es, values) == 13 and es.patience_now == 8   # never shrinks


def test_nan_never_improves_and_a_first_value_is_always_a_best():
    es = EarlyStopping(mode="min", patience=3)
    assert feed(es, [float("nan")] * 5) == 3 and es.best is None and es.best_weights is None
    es = EarlyStopping(mode="min", patience=2)
    assert feed(es, [7.0, 8.0, 9.0]) == 3 and es.best == 7.0 and es.best_epoch == 1
    assert es.best_weights is not None


def test_min_delta_and_max_mode():
    assert feed(EarlyStopping(mode="min", patience=2, min_delta=0.5), [3, 2.8, 2.6, 2.4]) == 3
    es = EarlyStopping(monitor="val_acc", mode="max", patience=2)
    tr_values = [0.5, 0.7, 0.6, 0.65]
    stub_feed = [{"val_acc": v} for v in tr_values]
    assert feed_generic(es, stub_feed) == 4 and es.best == 0.7 and es.best_epoch == 2


def feed_generic(es, rows):
    """Drive EarlyStopping with a sequence of evaluation rows; return the 1-based index where it stopped."""
    class Stub:
        model = Linear(1, 1, rng=0)
        history = History()
        stop_training = False

    tr = Stub()
    for i, row in enumerate(rows, 1):
        tr.step, tr.epoch, tr.last_eval = i, i, dict(row, epoch=float(i))
        es.on_evaluate(tr)
        if tr.stop_training:
            return i


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=30),
       patience=st.integers(1, 6), adaptive=st.booleans())
def test_early_stopping_properties(values, patience, adaptive):
    es = EarlyStopping(mode="min", patience=patience, adaptive=adaptive)
    stop = feed(es, values)
    seen = values[:stop] if stop else values
    assert es.best == min(seen) and es.best_epoch == seen.index(min(seen)) + 1   # first occurrence
    if stop:
        assert stop - es.best_epoch == es.patience_now
        assert es.patience_now == (max(patience, es.best_epoch) if adaptive else patience)
    else:
        assert len(values) - es.best_epoch < es.patience_now


def test_early_stopping_arguments(digits_small):
    with pytest.raises(ValueError, match="'mode'"):
        EarlyStopping("val_loss")
    with pytest.raises(ValueError, match="'monitor'"):
        EarlyStopping("loss", mode="min")
    with pytest.raises(ValueError, match="'patience'"):
        EarlyStopping(mode="min", patience=0)
    X, y, _, _ = digits_small
    model = net()
    t = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1),
                callbacks=[EarlyStopping(mode="min")], progress=False)
    with pytest.raises(ValueError, match="validation data"):
        t.fit(X, y, epochs=1)


# -- checkpoints and resume -------------------------------------------------------------------------------
def setup_run(ckpt_dir, seed=0):
    model = net(seed, drop=0.3, batchnorm=True)        # random draws, optimizer state and running stats
    callbacks = [EarlyStopping(mode="min", patience=100), WeightAverage(0.9),
                 Checkpoint(ckpt_dir, save_best=False, every=1)]
    t = Trainer(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=3e-3), reg=1e-4,
                callbacks=callbacks, monitors=[PerSampleLoss()], progress=False)
    return t, callbacks


def test_resume_equals_an_uninterrupted_run(digits_small, tmp_path):
    X, y, Xv, yv = digits_small
    full, cb_full = setup_run(tmp_path / "a")
    h_full = full.fit(X, y, Xv, yv, epochs=6, batch_size=16, seed=3)
    path = cb_full[2].saved[2]
    assert "epoch003" in path
    resumed, cb_res = setup_run(tmp_path / "b", seed=42)     # another init: everything must come from the file
    h_res = resumed.fit(X, y, Xv, yv, epochs=6, batch_size=16, seed=99, resume_from=path)
    assert h_res.equals(h_full), h_res.differences(h_full)
    assert same_state(resumed.model.state_dict(), full.model.state_dict())
    assert cb_res[0].best == cb_full[0].best and cb_res[0].best_epoch == cb_full[0].best_epoch
    assert all(np.array_equal(a, b) for a, b in zip(cb_res[1].averaged(), cb_full[1].averaged()))
    with pytest.raises(ValueError, match="batch_size"):
        setup_run(tmp_path / "c")[0].fit(X, y, Xv, yv, epochs=6, batch_size=8, resume_from=path)


def test_checkpoint_round_trip_is_bit_exact(digits_small, tmp_path):
    X, y, Xv, yv = digits_small
    t, _ = setup_run(tmp_path / "a")
    t.fit(X, y, Xv, yv, epochs=2, batch_size=16)
    t.save_checkpoint(tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz", allow_pickle=False) as f:   # plain arrays only
        assert "history" in f.files and any(k.startswith("optim/") for k in f.files)
    other, _ = setup_run(tmp_path / "b", seed=5)
    other.load_checkpoint(tmp_path / "c.npz")
    assert same_state(other.model.state_dict(), t.model.state_dict())
    so, st_ = other.optimizer.state_dict(), t.optimizer.state_dict()
    assert so.keys() == st_.keys() and all(np.array_equal(so[k], st_[k]) for k in so)
    assert other.rng.bit_generator.state == t.rng.bit_generator.state
    assert other.model.layers[3].rng.bit_generator.state == t.model.layers[3].rng.bit_generator.state
    assert other.history.equals(t.history, ignore=()) and (other.step, other.epoch) == (t.step, t.epoch)
    with pytest.raises(ValueError, match=".npz"):
        t.save_checkpoint(tmp_path / "c.pkl")


def test_checkpoint_best_files_and_names(digits_small, tmp_path):
    X, y, Xv, yv = digits_small
    model = net()
    ck = Checkpoint(tmp_path, monitor="val_acc", mode="max", every=5)
    t = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1, momentum=0.9),
                callbacks=[ck], progress=False)
    h = t.fit(X, y, Xv, yv, epochs=10, batch_size=20)
    best_epoch, best = h.best("val_acc", "max")
    assert ck.best_path.endswith(f"ckpt_epoch{best_epoch:03d}_val_acc{best:.4f}.npz")
    files = sorted(p.name for p in tmp_path.glob("*.npz"))
    periodic = [f for f in files if re.match(r"ckpt_epoch(005|010)_", f)]
    assert len(periodic) == 2 and set(files) == set(periodic) | {ck.best_path.split("/")[-1]}
    assert not list(tmp_path.glob(".tmp_*"))
    with pytest.raises(ValueError, match="nothing to save"):
        Checkpoint(tmp_path, save_best=False)
    with pytest.raises(ValueError, match="'mode'"):
        Checkpoint(tmp_path)


# -- weight averaging -------------------------------------------------------------------------------------
def test_weight_average_is_bias_corrected(digits_small):
    X, y, Xv, yv = digits_small
    model = Sequential([Linear(64, 10, rng=0, dtype=np.float64)])
    spy, wa = StepWeights(), WeightAverage(decay=0.9)
    t = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.2), callbacks=[spy, wa],
                progress=False)
    h = t.fit(X, y, Xv, yv, epochs=2, batch_size=50)
    T, d = len(spy.weights) - 1, 0.9
    for i, avg in enumerate(wa.averaged()):
        m = sum((1 - d) * d ** (T - k) * spy.weights[k][i] for k in range(1, T + 1))
        assert np.allclose(avg, m / (1 - d ** T), rtol=1e-12, atol=1e-15)
        assert not np.allclose(avg, m, rtol=1e-3)                       # the uncorrected one is shrunk
    with wa.swapped():                                                  # evaluation used the average
        assert t.evaluate(Xv, yv)["loss"] == h.epochs["val_loss"][-1]
    assert np.array_equal(model.layers[0].W.value, spy.weights[-1][0])  # raw weights back afterwards


def test_weight_average_of_constant_weights_is_exact():
    X = np.random.default_rng(0).standard_normal((30, 3))
    y = np.arange(30) % 2
    model = Linear(3, 2, rng=0, dtype=np.float64)
    W0 = model.W.value.copy()
    wa = WeightAverage(decay=0.999, apply_at_end=True)
    Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.0), callbacks=[wa],
            progress=False).fit(X, y, epochs=1, batch_size=10)
    assert wa.t == 3 and np.allclose(wa.averaged()[0], W0, rtol=1e-13) and np.allclose(model.W.value, W0)
    with pytest.raises(ValueError, match="'decay'"):
        WeightAverage(decay=1.0)


# -- NaN guard --------------------------------------------------------------------------------------------
def test_nan_guard_stops_and_keeps_the_last_good_weights():
    rng = np.random.default_rng(0)
    X = (10 * rng.standard_normal((64, 3))).astype(np.float32)
    y = X @ np.ones((3, 1), np.float32)
    model = Linear(3, 1, rng=0)
    spy = StepWeights()
    t = Trainer(model, MSE(), SGD(model.parameters(), lr=1.0), callbacks=[spy], progress=False)
    with pytest.raises(TrainingDiverged, match=r"step \d+") as info, warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)        # the guard reports; numpy's warnings stay quiet
        t.fit(X, y, epochs=50, batch_size=64)
    err = info.value
    assert err.step == len(spy.weights) and err.step > 2 and "NaN/inf" in str(err)
    assert err.what in ("scores", "loss", "gradients") and err.history is not None
    assert len(err.history.steps["step"]) == err.step - 1
    # the latest snapshot: taken before step 1 and before every 50th step, after that step's checks passed
    last = max(m for m in range(1, err.step) if m == 1 or m % 50 == 0)
    assert f"after step {last - 1}" in str(err) and err.restored_step == last - 1
    expected = spy.weights[last - 1]
    assert all(np.array_equal(p.value, w) for p, w in zip(model.parameters(), expected))
    assert all(np.all(np.isfinite(p.value)) for p in model.parameters())
    # a snapshot every step: the weights before the previous update, the last with a finite loss
    model = Linear(3, 1, rng=0)
    t = Trainer(model, MSE(), SGD(model.parameters(), lr=1.0), callbacks=[spy], progress=False,
                nan_guard=NaNGuard(snapshot_every=1))
    with pytest.raises(TrainingDiverged) as info:
        t.fit(X, y, epochs=50, batch_size=64)
    expected = spy.weights[info.value.step - 2]
    assert all(np.array_equal(p.value, w) for p, w in zip(model.parameters(), expected))
    with pytest.raises(ValueError, match="snapshot_every"):
        NaNGuard(snapshot_every=0)


def test_nan_guard_catches_a_nan_gradient_before_the_update():
    class NaNGrad(Linear):                                    # finite forward, NaN gradient at the 3rd backward
        calls = 0

        def backward(self, dy):
            out = super().backward(dy)
            NaNGrad.calls += 1
            if NaNGrad.calls == 3:
                self.W.grad[0, 0] = np.nan
            return out

    X = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    model = NaNGrad(3, 2, rng=0)
    spy = StepWeights()
    t = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1, momentum=0.9), callbacks=[spy],
                progress=False)
    with pytest.raises(TrainingDiverged) as info:
        t.fit(X, y, epochs=2, batch_size=10)
    assert info.value.what == "gradients" and info.value.step == 3 and len(spy.weights) == 3
    assert np.all(np.isfinite(t.optimizer.chain[-1].state[0]["velocity"]))   # no update was made with it
    assert all(np.array_equal(p.value, w) for p, w in zip(model.parameters(), spy.weights[0]))


# -- flooding ---------------------------------------------------------------------------------------------
def test_flooding_gradient_flips_sign_below_the_level():
    rng = np.random.default_rng(0)
    scores, y = rng.standard_normal((8, 4)), rng.integers(0, 4, 8)
    plain = SoftmaxCrossEntropy()
    J = plain.reduce(plain.forward(scores, y))
    g = plain.backward()
    for level, sign in ((J - 0.1, 1.0), (J + 0.1, -1.0)):
        fl = Flooding(SoftmaxCrossEntropy(), level)
        value = fl.reduce(fl.forward(scores, y))
        assert np.isclose(value, abs(J - level) + level)
        assert np.allclose(fl.backward(), sign * g)
        # numerical check of the flooded objective
        h, E = 1e-6, np.zeros_like(scores)
        E[0, 1] = h
        f = lambda s: Flooding(SoftmaxCrossEntropy(), level).reduce(SoftmaxCrossEntropy().forward(s, y))  # noqa
        num = (abs(f(scores + E) - level) + level - abs(f(scores - E) - level) - level) / (2 * h)
        assert np.isclose(num, sign * g[0, 1], rtol=1e-5)


# -- tutorial 05 ------------------------------------------------------------------------------------------
def test_tutorial_05_table(run_tutorial):
    out, figdir = run_tutorial("05_early_stopping_and_flooding.py")
    number = r"\s*\|\s*([\d.]+)"
    pattern = r"^\| ([a-z][^|]+?)\s*\|\s*(\d+)\s*\|\s*(\d+)" + 4 * number + r"\s*\|$"
    rows = {m.group(1).strip(): m.groups()[1:] for m in re.finditer(pattern, out, flags=re.M)}
    assert {"last epoch", "early stopping", "flooding + early stopping", "weight average"} <= set(rows), out
    assert any(name.startswith("flooding b=") for name in rows)
    for method, (epochs_run, best_epoch, val_loss, val_acc, test_loss, test_acc) in rows.items():
        assert 0.5 < float(test_acc) <= 1.0 and int(best_epoch) <= int(epochs_run)
    assert int(rows["early stopping"][0]) < int(rows["last epoch"][0])      # it stopped early
    assert float(rows["early stopping"][4]) < float(rows["last epoch"][4])  # with a lower test loss
    assert "while validation accuracy went" in out                          # seed 004's effect, named
    for name in ("05_curves.png", "05_weight_distributions.png"):
        assert (figdir / name).stat().st_size > 1000


# -- plateau schedules ------------------------------------------------------------------------------------
def test_observe_metric_drives_a_plateau_schedule(digits_small):
    from nn_scratch.callbacks import ObserveMetric
    from nn_scratch.schedules import ReduceOnPlateau

    X, y, Xv, yv = digits_small
    model = net()
    plateau = ReduceOnPlateau(0.1, factor=0.5, patience=1)
    seen = []

    class Spy(Callback):
        def on_evaluate(self, tr):
            seen.append(tr.last_eval["val_loss"])

    t = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=plateau, momentum=0.9),
                callbacks=[ObserveMetric(plateau, "val_loss"), Spy()], progress=False)
    h = t.fit(X, y, Xv, yv, epochs=30, batch_size=20)
    reference = ReduceOnPlateau(0.1, factor=0.5, patience=1)
    for v in seen:
        reference.observe(v)
    assert plateau.num_reductions == reference.num_reductions >= 1
    assert h.steps["lr"][-1] == pytest.approx(0.1 * 0.5 ** plateau.num_reductions)
    with pytest.raises(TypeError, match="observe"):
        ObserveMetric(0.1)
