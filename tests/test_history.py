"""History columns: data loss, penalty and objective kept apart; evaluation uses the loss's own reduction."""
import json

import numpy as np
import pytest

import nn_scratch.history as history_module
from nn_scratch.history import EPOCH_COLUMNS, STEP_COLUMNS, History
from nn_scratch.layers import Linear
from nn_scratch.losses import Flooding, SoftmaxCrossEntropy
from nn_scratch.optim import SGD
from nn_scratch.trainer import History as ReExported
from nn_scratch.trainer import Trainer


def blobs(n=96, d=4, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    return (rng.standard_normal((c, d))[y] * 3 + rng.standard_normal((n, d))).astype(np.float32), y


def trainer(loss=None, reg=None, lr=0.1, seed=0):
    model = Linear(4, 3, rng=seed)
    return Trainer(model, loss or SoftmaxCrossEntropy(), SGD(model.parameters(), lr=lr), reg=reg,
                   progress=False, update_ratio_every=0)


def test_columns_and_reexport():
    assert ReExported is History
    h = History()
    assert tuple(h.steps) == STEP_COLUMNS and "data_loss" not in h.steps
    assert tuple(h.epochs) == EPOCH_COLUMNS
    assert history_module.__doc__.count("``penalty``") >= 1


def test_flooding_and_penalty_columns_are_apart():
    X, y = blobs()
    level, reg = 0.5, 1e-2
    t = trainer(Flooding(SoftmaxCrossEntropy(), level), reg=reg, lr=0.5)
    h = t.fit(X, y, epochs=4, batch_size=32, seed=0)
    s = {k: np.array(h.steps[k]) for k in STEP_COLUMNS}
    # objective = |J - b| + b + penalty with J the data loss; the penalty is 0.5 reg sum W^2 > 0
    np.testing.assert_allclose(s["objective"], np.abs(s["loss"] - level) + level + s["penalty"], rtol=1e-12)
    assert np.all(s["penalty"] > 0)
    assert (s["loss"] < level).any() and (s["objective"] > s["loss"]).all()
    assert h.meta["flood_level"] == level and h.meta["reg"] == reg
    # a step's data loss is the plain mean cross-entropy of its batch under the weights before that step
    t2 = trainer(lr=0.5)
    w0 = t2.model.W.value.copy(), t2.model.b.value.copy()
    h2 = t2.fit(X, y, epochs=1, batch_size=96, seed=0, eval_train=False)
    scores = X @ w0[0] + w0[1]
    expected = np.mean(SoftmaxCrossEntropy().forward(scores, y), dtype=np.float64)
    assert h2.steps["loss"][0] == pytest.approx(expected, rel=1e-6)
    assert h2.steps["penalty"] == [0.0] and h2.steps["objective"] == h2.steps["loss"]
    assert h2.meta["reg"] is None and h2.meta["flood_level"] is None


class TokenLoss(SoftmaxCrossEntropy):
    """A loss with its own reduction (a weighted mean): evaluation and History must use it."""

    def reduce(self, per_sample):
        w = np.arange(1, len(per_sample) + 1, dtype=np.float64)
        return float(np.sum(w * per_sample) / w.sum())


def test_evaluate_and_history_use_the_losss_own_reduce():
    X, y = blobs(40)
    t = trainer(TokenLoss())
    h = t.fit(X, y, epochs=1, batch_size=40, seed=0)
    r = t.evaluate(X, y, per_sample=True)
    assert r["loss"] == pytest.approx(TokenLoss().reduce(r["losses"]), rel=1e-12)
    assert r["loss"] != pytest.approx(np.mean(r["losses"]), rel=1e-6)
    assert h.epochs["train_loss_eval"][-1] == r["loss"]


def test_old_history_files_are_read_into_the_new_columns():
    old = {"steps": {"step": [1, 2], "epoch": [0.5, 1.0], "loss": [2.0, 1.5], "data_loss": [1.9, 1.4],
                     "lr": [0.1, 0.1]},
           "epochs": {"epoch": [1], "step": [2], "train_loss": [1.75], "train_loss_eval": [1.3],
                      "train_acc_eval": [0.5], "val_loss": [None], "val_acc": [None],
                      "flood_below_frac": [None], "time": [0.1]},
           "evals": {}, "monitors": {}, "meta": {"n_train": 10}}
    h = History.from_json(json.dumps(old))
    assert h.steps["loss"] == [1.9, 1.4] and h.steps["objective"] == [2.0, 1.5]
    assert np.isnan(h.steps["penalty"]).all()
    assert h.epochs["train_objective"] == [1.75] and np.isnan(h.epochs["train_loss"][0])
    assert h.epochs["train_loss_eval"] == [1.3] and h.meta == {"n_train": 10}


@pytest.mark.parametrize("bad, match", [
    ({"steps": []}, "table 'steps'"),
    ({"epochs": {"epoch": [1, 2], "step": [1]}}, "equal lengths"),
    ({"evals": {"step": 3}}, "must be a list"),
    ({"meta": [1]}, "'meta' must be a dict"),
    ({"monitors": {"x": {"step": [1], "epoch": []}}}, "monitors"),
])
def test_malformed_history_is_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        History.from_dict(bad)
