"""Faults in training: divergence caught wherever it first shows, input checked before any weight changes,
refused optimizers and dtypes, drop_last.  Every divergence here is a real run with a too-large step."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn_scratch.callbacks import Callback, EarlyStopping, NaNGuard, TrainingDiverged, WeightAverage
from nn_scratch.layers import Linear, ReLU, Sequential
from nn_scratch.losses import MSE, Flooding, MulticlassSVM, SoftmaxCrossEntropy
from nn_scratch.optim import SGD, Adam
from nn_scratch.trainer import Trainer


def blobs(n=64, d=3, c=2, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = (scale * rng.standard_normal((n, d))).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int) % c


class StepWeights(Callback):
    """The weights after each step (index k = after step k + 1) and before the first."""

    def on_fit_begin(self, trainer):
        self.weights = [[p.value.copy() for p in trainer.params]]

    def on_step_end(self, trainer):
        self.weights.append([p.value.copy() for p in trainer.params])


def trainer_for(model, lr, loss=None, opt=SGD, **kw):
    spy = StepWeights()
    t = Trainer(model, loss or SoftmaxCrossEntropy(), opt(model.parameters(), lr=lr), progress=False,
                callbacks=[spy] + kw.pop("callbacks", []), **kw)
    return t, spy


def assert_weights(model, expected):
    assert all(np.array_equal(p.value, w) for p, w in zip(model.parameters(), expected))
    assert all(np.all(np.isfinite(p.value)) for p in model.parameters())


# -- divergence --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fit_kw", [
    dict(with_val=True),                           # full batch: the bad update is the last before evaluation
    dict(with_val=False),                          # evaluation of the training set only
    dict(with_val=False, eval_train=False),        # no evaluation at all: only the weight check can see it
])
def test_an_exploding_last_update_is_caught_and_undone(fit_kw):
    X, y = blobs(scale=10)
    model = Linear(3, 2, rng=0)
    t, spy = trainer_for(model, lr=1e38)           # lr * gradient overflows float32: W becomes inf at step 1
    val = (blobs(32, seed=1, scale=10)) if fit_kw.pop("with_val") else (None, None)
    with pytest.raises(TrainingDiverged) as info, warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        t.fit(X, y, *val, epochs=3, batch_size=64, **fit_kw)
    err = info.value
    assert err.what == "weights" and err.step == 1 and err.names == ["W"]
    assert "step 1" in str(err) and "weights (W)" in str(err) and "update" in str(err)
    assert err.history is not None and err.history.steps["step"] == [] and err.restored_step == 0
    assert_weights(model, spy.weights[0])


def test_scores_overflowing_at_evaluation_restore_the_weights_before_the_last_update():
    # finite but huge weights: the training batches (|x| ~ 1) stay finite, the validation rows (|x| ~ 1e4) overflow
    X, y = blobs()
    Xv, yv = blobs(16, seed=2, scale=1e4)
    model = Linear(3, 2, rng=0)
    t, spy = trainer_for(model, lr=1e35)
    with pytest.raises(TrainingDiverged) as info:
        t.fit(X, y, Xv, yv, epochs=5, batch_size=64)
    err = info.value
    assert err.what == "scores on the validation set" and err.step == 1 and err.restored_step == 0
    assert "evaluation after step 1" in str(err)
    assert len(err.history.steps["step"]) == 1 and err.history.evals["step"] == []
    assert_weights(model, spy.weights[0])


def test_full_batch_regression_divergence_keeps_history_and_last_good_weights():
    rng = np.random.default_rng(0)
    X = (10 * rng.standard_normal((64, 3))).astype(np.float32)
    y = X @ np.ones((3, 1), np.float32)
    model = Linear(3, 1, rng=0)
    t, spy = trainer_for(model, lr=1.0, loss=MSE(), callbacks=[WeightAverage(0.9)])
    with pytest.raises(TrainingDiverged) as info:
        t.fit(X, y, X[:16], y[:16], epochs=100, batch_size=64)
    err = info.value
    assert err.step > 3 and str(err.step) in str(err) and err.what in ("scores", "loss", "gradients", "weights")
    assert len(err.history.steps["step"]) == err.step - 1 == len(err.history.epochs["epoch"])
    # the guard's latest snapshot (one before step 1 and before every 50th step), at most 50 steps back
    assert err.restored_step == max(m - 1 for m in range(1, err.step) if m == 1 or m % 50 == 0)
    assert_weights(model, spy.weights[err.restored_step])
    model = Linear(3, 1, rng=0)                    # a snapshot before every step: the last good weights
    t, spy = trainer_for(model, lr=1.0, loss=MSE(), callbacks=[WeightAverage(0.9)],
                         nan_guard=NaNGuard(snapshot_every=1))
    with pytest.raises(TrainingDiverged) as info:
        t.fit(X, y, X[:16], y[:16], epochs=100, batch_size=64)
    assert info.value.restored_step in (info.value.step - 1, info.value.step - 2)
    assert_weights(model, spy.weights[info.value.restored_step])


def test_nan_guard_off_still_raises_the_losss_own_error():
    X, y = blobs(scale=10)
    model = Linear(3, 2, rng=0)
    t, _ = trainer_for(model, lr=1e38, nan_guard=None)
    with pytest.raises(ValueError, match="NaN or inf"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        t.fit(X, y, X, y, epochs=2, batch_size=64)


# -- refused at construction ---------------------------------------------------------------------------------
def test_an_optimizer_on_another_models_parameters_is_refused():
    a, b = Linear(3, 2, rng=0), Linear(3, 2, rng=1)
    with pytest.raises(ValueError, match="not this model's"):
        Trainer(a, SoftmaxCrossEntropy(), SGD(b.parameters(), lr=0.1), progress=False)
    # a subset of the model's own parameters (freezing the rest) is fine
    m = Sequential([Linear(3, 4, rng=0), ReLU(), Linear(4, 2, rng=1)])
    Trainer(m, SoftmaxCrossEntropy(), SGD(m.parameters()[2:], lr=0.1), progress=False)


def test_float16_is_refused_with_the_reason():
    m = Linear(3, 2, rng=0, dtype=np.float16)
    with pytest.raises(TypeError, match="float16.*eps.*float32"):          # SGD has no eps, the Trainer refuses
        Trainer(m, SoftmaxCrossEntropy(), SGD(m.parameters(), lr=1e-3), progress=False)


def test_callbacks_none_is_empty_and_a_single_callback_is_refused():
    m = Linear(3, 2, rng=0)
    t = Trainer(m, SoftmaxCrossEntropy(), SGD(m.parameters(), lr=0.1), callbacks=None, monitors=None,
                progress=False)
    assert t.callbacks == [] and len(t.monitors) == 1          # only the built-in UpdateRatio
    with pytest.raises(TypeError, match="'callbacks' must be a list.*wrap it in a list"):
        Trainer(m, SoftmaxCrossEntropy(), SGD(m.parameters(), lr=0.1), callbacks=EarlyStopping(mode="min"))


# -- fit checks its input before the first step --------------------------------------------------------------
def _bad_labels():
    X, y = blobs(40)
    y17 = y.copy()
    y17[17] = 5
    return X, y, y17


@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy(), MulticlassSVM(), Flooding(SoftmaxCrossEntropy(), 0.1)])
@pytest.mark.parametrize("case, exc, match", [
    ("y", ValueError, r"Trainer.fit: .*labels 'y' must be in \[0, 1\].*first bad label 5 at row 17"),
    ("y_val", ValueError, r"labels 'y_val' must be in \[0, 1\].*row 17"),
    ("y float", TypeError, r"'y' must hold integer class indices"),
    ("y 2-D", ValueError, r"'y' must be a 1-D array"),
    ("X_val nan", ValueError, r"'X_val' contains NaN or inf \(first at row 3\)"),
    ("X nan", ValueError, r"'X' contains NaN or inf \(first at row 3\)"),
    ("X_val shape", ValueError, r"'X_val' must have N >= 1 rows shaped like"),
    ("y_val rows", ValueError, r"'y_val' must have one entry per row of 'X_val'"),
])
def test_bad_input_is_refused_before_any_update(loss, case, exc, match):
    X, y, y17 = _bad_labels()
    Xv, yv = X.copy(), y.copy()
    if case == "y":
        y = y17
    elif case == "y_val":
        yv = y17
    elif case == "y float":
        y = y + 0.5
    elif case == "y 2-D":
        y = y[:, None]
    elif case == "X_val nan":
        Xv[3, 1] = np.nan
    elif case == "X nan":
        X = X.copy()
        X[3, 0] = np.inf
    elif case == "X_val shape":
        Xv = Xv[:, :2]
    elif case == "y_val rows":
        yv = yv[:-1]
    model = Linear(3, 2, rng=0)
    before = [p.value.copy() for p in model.parameters()]
    t, spy = trainer_for(model, lr=0.5, loss=loss)
    with pytest.raises(exc, match=match):
        t.fit(X, y, Xv, yv, epochs=2, batch_size=8)
    assert_weights(model, before)                                # not one step was taken
    assert not hasattr(spy, "weights")                           # refused before the fit began


def test_mse_targets_are_checked_before_any_update():
    X, _ = blobs(20)
    model = Linear(3, 2, rng=0)
    before = [p.value.copy() for p in model.parameters()]
    t, spy = trainer_for(model, lr=0.1, loss=MSE())
    with pytest.raises(ValueError, match=r"Trainer.fit: MSE: targets 'y' must have the shape of 'scores' \(20, 2\)"):
        t.fit(X, np.zeros((20, 3)), epochs=1)
    yv = np.zeros((20, 2))
    yv[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"'y_val' contain NaN or inf \(first at row 4\)"):
        t.fit(X, np.zeros((20, 2)), X, yv, epochs=1)
    assert_weights(model, before)


# -- drop_last ---------------------------------------------------------------------------------------------------
def test_drop_last_skips_the_short_batch():
    X, y = blobs(70)
    sizes = {}

    class Sizes(Callback):
        def on_step_begin(self, trainer):
            sizes.setdefault(trainer.history.meta["drop_last"], []).append(len(trainer.batch_indices))

    for drop in (False, True):
        model = Linear(3, 2, rng=0)
        t = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), callbacks=[Sizes()],
                    progress=False)
        h = t.fit(X, y, epochs=3, batch_size=32, drop_last=drop, seed=0)
        assert h.meta["steps_per_epoch"] == (2 if drop else 3) and h.meta["drop_last"] is drop
        assert h.steps["epoch"][-1] == 3.0
    assert sizes[False] == [32, 32, 6] * 3 and sizes[True] == [32, 32] * 3
    with pytest.raises(ValueError, match="drop_last=True with batch_size=80 but only 70"):
        t.fit(X, y, epochs=1, batch_size=80, drop_last=True)
    with pytest.raises(TypeError, match="'drop_last' must be True or False"):
        t.fit(X, y, epochs=1, drop_last="yes")


def test_per_token_labels_are_checked_through_the_loss():
    from nn_scratch.layers import Embedding
    from nn_scratch.losses import SequenceCrossEntropy
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 10, (12, 5))
    labels = np.roll(tokens, -1, axis=1)
    labels[:, -1] = -1                                           # padding, ignored
    model = Sequential([Embedding(10, 4, rng=0), Linear(4, 10, rng=1)])
    before = [p.value.copy() for p in model.parameters()]
    t = Trainer(model, SequenceCrossEntropy(ignore_index=-1), SGD(model.parameters(), lr=0.5), progress=False)
    bad = labels.copy()
    bad[7, 2] = 10
    with pytest.raises(ValueError, match=r"Trainer.fit: SequenceCrossEntropy: labels 'y_val' must be in \[0, 9\]"):
        t.fit(tokens, labels, tokens, bad, epochs=1, batch_size=4)
    with pytest.raises(ValueError, match=r"labels 'y' must have shape \(N, T\) = \(12, 5\)"):
        t.fit(tokens, labels[:, :4], epochs=1, batch_size=4)
    assert_weights(model, before)
    h = t.fit(tokens, labels, tokens, labels, epochs=3, batch_size=4)
    assert h.epochs["val_loss"][-1] < h.epochs["val_loss"][0]


@settings(max_examples=25, deadline=None)
@given(row=st.integers(0, 29), bad=st.sampled_from([-1, 3, 7, 10**9, 0.5, np.nan, np.inf]),
       where=st.sampled_from(["y", "y_val"]))
def test_any_bad_label_anywhere_is_refused_before_a_step(row, bad, where):
    rng = np.random.default_rng(row)
    X = rng.standard_normal((30, 3)).astype(np.float32)
    y = rng.integers(0, 3, 30).astype(np.float64 if isinstance(bad, float) else np.int64)
    labels = {"y": y.copy(), "y_val": y.copy()}
    labels[where][row] = bad
    model = Linear(3, 3, rng=0)
    before = [p.value.copy() for p in model.parameters()]
    t, spy = trainer_for(model, lr=0.5)
    with pytest.raises((ValueError, TypeError), match=rf"Trainer.fit: .*'{where}'"):
        t.fit(X, labels["y"], X, labels["y_val"], epochs=1, batch_size=4)
    assert_weights(model, before)
    assert not hasattr(spy, "weights")


@pytest.mark.parametrize("rule", ["Adagrad", "RMSprop", "Adam"])
def test_an_eps_that_rounds_to_zero_is_refused(rule):
    import nn_scratch.optim as optim
    m = Linear(3, 2, rng=0, dtype=np.float16)
    with pytest.raises(ValueError, match=r"eps=1e-08 rounds to 0 in float16 \(params\[0\]\)"):
        getattr(optim, rule)(m.parameters(), lr=1e-3)
    getattr(optim, rule)(Linear(3, 2, rng=0).parameters(), lr=1e-3)          # float32: fine


def test_an_exploding_update_before_a_callback_stops_mid_epoch_is_caught():
    class StopAtOnce(Callback):
        def on_step_end(self, trainer):
            trainer.stop_training = True

    X, y = blobs(scale=10)
    model = Linear(3, 2, rng=0)
    t, spy = trainer_for(model, lr=1e38, callbacks=[StopAtOnce()])
    with pytest.raises(TrainingDiverged, match=r"weights at the stop \(W\)") as info:
        t.fit(X, y, epochs=3, batch_size=16, eval_train=False)        # no evaluation would have seen it
    assert info.value.step == 1 and info.value.restored_step == 0
    assert_weights(model, spy.weights[0])
