"""The trainer's own work, bounded: the training set re-measured on a seeded subset, sampled snapshots,
the gradient norm measured once for the NaN guard and the optimizer."""
import numpy as np
import pytest

from nn_scratch.layers import Linear, ReLU, Sequential
from nn_scratch.losses import SoftmaxCrossEntropy
from nn_scratch.optim import SGD, global_norm
from nn_scratch.plots import plot_epoch_curves
from nn_scratch.trainer import Trainer


def setup(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = Sequential([Linear(5, 8, rng=0), ReLU(), Linear(8, 2, rng=1)])
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), progress=False)
    return trainer, X, y


def test_a_large_training_set_is_re_measured_on_a_seeded_subset_as_large_as_validation():
    trainer, X, y = setup(n=36000)
    Xtr, ytr, Xva, yva = X[:24000], y[:24000], X[24000:], y[24000:]
    h = trainer.fit(Xtr, ytr, Xva, yva, epochs=1, batch_size=4000, seed=3)
    assert h.meta["train_eval_rows"] == 12000
    assert h.meta["train_eval_subset"] == "12000 of 24000 rows drawn with seed 3"
    rows = np.sort(np.random.default_rng(3).choice(24000, size=12000, replace=False))
    expected = trainer.evaluate(Xtr[rows], ytr[rows])
    assert h.epochs["train_loss_eval"][-1] == expected["loss"] and h.epochs["train_acc_eval"][-1] == expected["acc"]
    assert expected["loss"] != trainer.evaluate(Xtr, ytr)["loss"]                    # really a subset
    labels = [t.get_text() for t in plot_epoch_curves(h).legends[0].get_texts()]
    assert "training loss, end of epoch (12000 of 24000 rows)" in labels             # the plot says so
    h = trainer.fit(Xtr, ytr, Xva, yva, epochs=1, batch_size=4000, seed=3, eval_train="all")
    assert h.meta["train_eval_rows"] == 24000 and h.meta["train_eval_subset"] is None
    assert h.epochs["train_loss_eval"][-1] == trainer.evaluate(Xtr, ytr)["loss"]
    h = trainer.fit(X, y, epochs=1, batch_size=6000)                 # no validation: a fifth, at least 5000
    assert h.meta["train_eval_rows"] == 7200
    h = trainer.fit(X[:8000], y[:8000], X[:100], y[:100], epochs=1, batch_size=4000)
    assert h.meta["train_eval_rows"] == 5000                         # a small validation set: 5000 rows
    h = trainer.fit(Xtr[:1000], ytr[:1000], epochs=1, batch_size=500, eval_train=300)
    assert h.meta["train_eval_rows"] == 300


def test_a_small_training_set_is_re_measured_whole_by_default():
    trainer, X, y = setup()
    h = trainer.fit(X[:2000], y[:2000], X[2000:], y[2000:], epochs=1, batch_size=500)
    assert h.meta["train_eval_rows"] == 2000 and h.meta["train_eval_subset"] is None
    assert h.epochs["train_loss_eval"][-1] == trainer.evaluate(X[:2000], y[:2000])["loss"]
    labels = [t.get_text() for t in plot_epoch_curves(h).legends[0].get_texts()]
    assert "training loss, end of epoch" in labels
    h = trainer.fit(X, y, epochs=1, batch_size=500, eval_train=False)
    assert h.meta["train_eval_rows"] == 0 and np.isnan(h.epochs["train_loss_eval"][-1])
    with pytest.raises(ValueError, match="'eval_train'.*'some'"):
        trainer.fit(X, y, epochs=1, eval_train="some")


def test_the_optimizer_gets_the_norm_the_guard_measured():
    trainer, X, y = setup(n=100)
    norms = []

    class Spy(SGD):
        def step(self, grad_norm=None):
            norms.append((grad_norm, global_norm([p.grad for p in self.params])))
            super().step(grad_norm=grad_norm)

    trainer.optimizer = Spy(trainer.model.parameters(), lr=0.1)
    trainer.fit(X, y, epochs=1, batch_size=50)
    assert len(norms) == 2 and all(given == exact for given, exact in norms)
    assert trainer.optimizer.last_grad_norm == norms[-1][1]


def test_snapshots_are_sampled_and_the_update_ratio_reads_the_optimizers_update():
    trainer, X, y = setup(n=600)
    copies = []
    take = trainer._take_snapshot
    trainer._take_snapshot = lambda: (copies.append(trainer.step + 1), take())
    h = trainer.fit(X, y, epochs=2, batch_size=10)                    # 120 steps
    assert copies == [1, 50, 100] and h.meta["snapshot_every"] == 50 and trainer.snapshot_step == 99
    assert h.monitors["update_ratio"]["step"] == list(range(10, 121, 10))
    # the ratio from the optimizer's update equals the one from the weights before and after the step
    class NoUpdates:                                                  # an optimizer without last_updates
        def __init__(self, opt):
            self.opt, self.params = opt, opt.params

        def step(self):
            self.opt.step()

    for opt_wrap in (lambda o: o, NoUpdates):
        trainer, X, y = setup(n=200)
        trainer.optimizer = opt_wrap(SGD(trainer.model.parameters(), lr=0.1, momentum=0.9))
        h = trainer.fit(X, y, epochs=1, batch_size=10, seed=0)
        assert h.monitors["update_ratio"]["step"] == [10, 20]
        if opt_wrap is NoUpdates:
            assert trainer.snapshot_step == 19                         # the monitor asked for snapshots
            np.testing.assert_allclose(h.monitors["update_ratio"]["layers.0.W"], ratios, rtol=1e-4)
        else:
            ratios = h.monitors["update_ratio"]["layers.0.W"]
