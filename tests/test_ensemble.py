"""Ensembles: averaged probabilities on real digits, shape checks, and averaging of state dicts."""
import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nn_scratch.ensemble as E
from nn_scratch.data import Standardizer, load_digits, train_val_test_split
from nn_scratch.ensemble import Ensemble, average_state_dicts, average_weights, softmax
from nn_scratch.layers import BatchNorm, Dropout, Linear, ReLU, Sequential
from nn_scratch.losses import SoftmaxCrossEntropy
from nn_scratch.optim import SGD
from nn_scratch.trainer import Trainer


def mlp(seed, d_in=64, hidden=32, d_out=10):
    return Sequential([Linear(d_in, hidden, rng=seed), ReLU(), Linear(hidden, d_out, rng=seed + 100)])


@pytest.fixture(scope="module")
def digits_members():
    X, y = load_digits()
    Xtr, ytr, _, _, Xte, yte = train_val_test_split(X, y, val=0.1, test=0.3, seed=0)
    scaler = Standardizer().fit(Xtr)
    Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
    models = []
    for seed in range(3):
        m = mlp(seed)
        Trainer(m, SoftmaxCrossEntropy(), SGD(m.parameters(), lr=0.05, momentum=0.9), reg=1e-4, progress=False,
                update_ratio_every=0).fit(Xtr, ytr, epochs=3, batch_size=64, seed=seed, eval_train=False)
        models.append(m)
    return models, Xte, yte


def test_docstring_examples():
    assert doctest.testmod(E).failed == 0


def test_ensemble_of_three_digit_mlps(digits_members):
    models, X, y = digits_members
    ens = Ensemble(models, input_shape=(64,))
    r = ens.evaluate(X, y)
    assert len(r["member_acc"]) == 3 and min(r["member_acc"]) > 0.85
    assert r["acc"] >= r["mean_member_acc"]
    assert r["loss"] <= np.mean(r["member_loss"])              # Jensen: -log is convex
    P = ens.predict_proba(X)
    assert P.shape == (len(y), 10) and np.all(P >= 0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(ens.predict(X), np.argmax(P, axis=1))
    # the average of the members' softmax, computed by hand
    by_hand = np.mean([softmax(m.forward(X)) for m in models], axis=0)
    np.testing.assert_allclose(P, by_hand, rtol=1e-12)
    # each member's accuracy matches its own scores
    for m, acc in zip(models, r["member_acc"]):
        assert acc == pytest.approx(np.mean(np.argmax(m.forward(X), axis=1) == y))


def test_single_member_is_the_member():
    m = mlp(0, d_in=5, d_out=3)
    X = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)
    np.testing.assert_allclose(Ensemble([m]).predict_proba(X), softmax(m.forward(X)), rtol=1e-12)


def test_softmax_is_stable():
    P = softmax(np.array([[1000.0, 1000.0, -1000.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(P, [[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-15)
    S = np.random.default_rng(0).standard_normal((3, 4, 5))                         # members stacked
    np.testing.assert_allclose(softmax(S), [softmax(s) for s in S], rtol=1e-15)


def test_predict_uses_eval_mode_and_restores_training():
    rng = np.random.default_rng(0)
    m = Sequential([Linear(4, 8, rng=0), Dropout(0.5, rng=1), Linear(8, 3, rng=2)])
    X = rng.standard_normal((6, 4)).astype(np.float32)
    m.train()
    ens = Ensemble([m, m])
    np.testing.assert_array_equal(ens.predict_proba(X), ens.predict_proba(X))   # no dropout noise
    assert m.training


def test_regression_averages_outputs():
    rng = np.random.default_rng(0)
    models = [Linear(3, 2, rng=s) for s in range(4)]
    X = rng.standard_normal((5, 3)).astype(np.float32)
    t = rng.standard_normal((5, 2))
    ens = Ensemble(models, task="regression")
    mean = np.mean([m.forward(X).astype(np.float64) for m in models], axis=0)
    np.testing.assert_allclose(ens.predict(X), mean, rtol=1e-12)
    r = ens.evaluate(X, t)
    assert r["loss"] == pytest.approx(np.mean((mean - t) ** 2))
    assert r["loss"] <= r["mean_member_loss"]                   # the squared error is convex too
    with pytest.raises(ValueError, match="task='regression'"):
        ens.predict_proba(X)


def test_members_must_agree_on_shapes():
    with pytest.raises(ValueError, match="member 1 .*cannot take input"):
        Ensemble([mlp(0, d_in=64), mlp(1, d_in=32)], input_shape=(64,))
    with pytest.raises(ValueError, match="member 1 outputs shape"):
        Ensemble([mlp(0, d_out=10), mlp(1, d_out=5)], input_shape=(64,))
    ens = Ensemble([mlp(0, d_in=64), mlp(1, d_in=32)])               # without input_shape: found at predict
    with pytest.raises(ValueError, match="member 1"):
        ens.predict(np.zeros((2, 64), np.float32))
    with pytest.raises(ValueError, match="'models'"):
        Ensemble([])
    with pytest.raises(TypeError, match=r"'models\[1\]'"):
        Ensemble([mlp(0), "model"])
    with pytest.raises(ValueError, match="'task'"):
        Ensemble([mlp(0)], task="ranking")
    with pytest.raises(ValueError, match="labels 'y' must lie in 0..9"):
        Ensemble([mlp(0)]).evaluate(np.zeros((2, 64), np.float32), np.array([0, 10]))


# -- averaging weights ---------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(a=hnp.arrays(st.sampled_from([np.float32, np.float64]), hnp.array_shapes(max_dims=3, max_side=5),
                    elements=st.floats(allow_nan=False, allow_infinity=False, width=32)),
       k=st.integers(1, 6))
def test_average_of_identical_states_is_bit_exact(a, k):
    states = [{"W": a.copy(), "b": np.arange(3, dtype=np.int64)} for _ in range(k)]
    out = average_state_dicts(states)
    assert out["W"].dtype == a.dtype and out["b"].dtype == np.int64
    assert out["W"].tobytes() == a.tobytes()
    np.testing.assert_array_equal(out["b"], np.arange(3))


def test_average_state_dicts_values_and_weights():
    rng = np.random.default_rng(0)
    states = [{"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4).astype(np.float32)} for _ in range(3)]
    copies = [{k: v.copy() for k, v in s.items()} for s in states]
    out = average_state_dicts(states)
    np.testing.assert_allclose(out["W"], np.mean([s["W"] for s in states], axis=0), rtol=1e-12)
    assert out["b"].dtype == np.float32
    w = average_state_dicts(states, weights=[1, 0, 3])
    np.testing.assert_allclose(w["W"], (states[0]["W"] + 3 * states[2]["W"]) / 4, rtol=1e-12)
    for s, c in zip(states, copies):                                                # inputs untouched
        for k in s:
            np.testing.assert_array_equal(s[k], c[k])


def test_average_state_dicts_mismatch_errors():
    a = {"W": np.zeros((2, 3)), "b": np.zeros(3)}
    with pytest.raises(ValueError, match=r"states\[1\] has different keys.*missing \['b'\]"):
        average_state_dicts([a, {"W": np.zeros((2, 3))}])
    with pytest.raises(ValueError, match=r"'W' has shape \(3, 2\) in states\[1\] but \(2, 3\)"):
        average_state_dicts([a, {"W": np.zeros((3, 2)), "b": np.zeros(3)}])
    with pytest.raises(ValueError, match="'states'"):
        average_state_dicts([])
    with pytest.raises(ValueError, match="'weights'"):
        average_state_dicts([a, a], weights=[1, -1])


def test_average_weights_of_checkpoints():
    net = Sequential([Linear(4, 6, rng=0), BatchNorm(6), ReLU(), Linear(6, 2, rng=1)])
    X = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    checkpoints = []
    for step in range(3):                      # three "checkpoints" of one run
        for p in net.parameters():
            p.value += np.float32(0.1 * (step + 1))
        net.train()
        net.forward(X)                         # moves the batch-norm running statistics
        checkpoints.append(net.state_dict())
    import copy
    snaps = [copy.deepcopy(net) for _ in range(3)]
    for s, st_ in zip(snaps, checkpoints):
        s.load_state_dict(st_)
    before = [s.state_dict() for s in snaps]
    avg = average_weights(snaps)
    assert avg is not snaps[0]
    expected = average_state_dicts(checkpoints)
    for k, v in avg.state_dict().items():
        np.testing.assert_array_equal(v, expected[k])
    for s, b in zip(snaps, before):            # the inputs are unchanged
        for k, v in s.state_dict().items():
            np.testing.assert_array_equal(v, b[k])
    with pytest.raises(TypeError, match=r"'models\[1\]' is a Linear"):
        average_weights([mlp(0), Linear(64, 10)])
    with pytest.raises(ValueError, match="'W' has shape"):
        average_weights([Linear(3, 2, rng=0), Linear(4, 2, rng=0)])
