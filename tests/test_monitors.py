"""Monitors: update/weight ratio, per-sample losses, activation and gradient statistics."""
import numpy as np
import pytest

from nn_scratch.callbacks import Callback
from nn_scratch.layers import Linear, ReLU, Sequential, Tanh
from nn_scratch.losses import Flooding, SoftmaxCrossEntropy
from nn_scratch.monitors import ActivationStats, GradientStats, PerSampleLoss, UpdateRatio, describe
from nn_scratch.optim import SGD
from nn_scratch.trainer import History, Trainer


def data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = (rng.standard_normal((3, 5))[y] * 2 + rng.standard_normal((n, 5))).astype(np.float32)
    return X, y


def net(act=ReLU):
    return Sequential([Linear(5, 12, rng=0), act(), Linear(12, 3, rng=1)])


def fit(monitors=(), callbacks=(), epochs=3, lr=0.1, momentum=0.9, loss=None, **kw):
    X, y = data()
    model = net(kw.pop("act", ReLU))
    t = Trainer(model, loss or SoftmaxCrossEntropy(), SGD(model.parameters(), lr=lr, momentum=momentum),
                monitors=list(monitors), callbacks=list(callbacks), progress=False, **kw)
    return t, t.fit(X, y, X[:30], y[:30], epochs=epochs, batch_size=16)


def test_update_ratio_is_built_in_and_measures_the_actual_step():
    class Before(Callback):
        def on_step_begin(self, tr):
            self.w = tr.model.layers[0].W.value.astype(np.float64).copy()

        def on_step_end(self, tr):
            self.ratio = np.linalg.norm(tr.model.layers[0].W.value - self.w) / np.linalg.norm(self.w)

    spy = Before()
    t, h = fit(callbacks=[spy], epochs=4)                     # 24 steps: recorded at steps 10 and 20 by default
    table = h.monitors["update_ratio"]
    names = [n for n, _ in t.model.named_parameters()]
    assert list(table) == ["step", "epoch"] + names == ["step", "epoch", "layers.0.W", "layers.0.b",
                                                         "layers.2.W", "layers.2.b"]
    assert table["step"] == [10, 20] and h.meta["update_ratio_every"] == 10
    t, h = fit(callbacks=[spy], update_ratio_every=1)
    table = h.monitors["update_ratio"]
    assert table["step"] == h.steps["step"]
    assert np.isclose(table["layers.0.W"][-1], spy.ratio, rtol=1e-5)    # float32 norms of the float32 weights
    assert np.isnan(table["layers.0.b"][0])                  # zero-initialized bias: ratio undefined
    # plain SGD: the ratio is lr * ||g|| / ||W||, proportional to the learning rate
    _, h1 = fit(lr=1e-3, momentum=0.0, epochs=1, update_ratio_every=1)
    _, h2 = fit(lr=2e-3, momentum=0.0, epochs=1, update_ratio_every=1)
    assert np.isclose(h2.monitors["update_ratio"]["layers.2.W"][0] / h1.monitors["update_ratio"]["layers.2.W"][0],
                      2.0, rtol=1e-3)


def test_update_ratio_every_and_off():
    _, h = fit(update_ratio_every=4)
    assert h.monitors["update_ratio"]["step"] == [s for s in h.steps["step"] if s % 4 == 0]
    _, h = fit(update_ratio_every=0)
    assert "update_ratio" not in h.monitors
    _, h = fit(monitors=[UpdateRatio(every=2)])               # a user's UpdateRatio replaces the built-in
    assert h.monitors["update_ratio"]["step"][:2] == [2, 4]


def test_per_sample_loss_matches_validation_numbers():
    t, h = fit(monitors=[PerSampleLoss(every=1)], epochs=4)
    table = h.monitors["per_sample_loss"]
    L = np.array(table["losses"])
    assert L.shape == (4, 30) and table["epoch"] == [1.0, 2.0, 3.0, 4.0]
    assert np.allclose(L.mean(axis=1), h.epochs["val_loss"], rtol=1e-12)
    assert np.allclose(np.mean(table["correct"], axis=1), h.epochs["val_acc"])
    _, h = fit(monitors=[PerSampleLoss(on="train", at_steps=[0, 1, 10])])
    table = h.monitors["per_sample_loss"]
    assert table["step"] == [0, 1, 10] and np.array(table["losses"]).shape == (3, 90)


def test_per_sample_loss_ignores_flooding_and_checks_arguments():
    _, h = fit(monitors=[PerSampleLoss()], loss=Flooding(SoftmaxCrossEntropy(), 1.0), epochs=1)
    assert np.isclose(np.mean(h.monitors["per_sample_loss"]["losses"][0]), h.epochs["val_loss"][0])
    with pytest.raises(ValueError, match="'on'"):
        PerSampleLoss(on="test")
    with pytest.raises(ValueError, match="'every'"):
        PerSampleLoss(every=0)


def test_activation_stats_describe_each_layer():
    X, _ = data()
    t, h = fit(monitors=[ActivationStats(X[:40], every=2, bins=10, sample_size=25)], epochs=4, act=Tanh)
    table = h.monitors["activations"]
    assert table["step"] == [h.epochs["step"][1], h.epochs["step"][3]]
    layers = table["layers"][-1]
    assert [d["name"] for d in layers] == ["layers.0", "layers.1", "layers.2"]
    assert [d["type"] for d in layers] == ["Linear", "Tanh", "Linear"]
    t.model.eval()
    a1 = t.model.layers[1].forward(t.model.layers[0].forward(X[:40]))
    d = layers[1]
    assert np.isclose(d["mean"], a1.mean(), rtol=1e-5) and np.isclose(d["std"], a1.std(), rtol=1e-4)
    assert sum(d["hist"]) == a1.size and len(d["edges"]) == 11 and len(d["sample"]) == 25
    assert -1 <= d["min"] and d["max"] <= 1


def test_dead_relus_show_as_zeros():
    X, _ = data()
    t, h = fit(monitors=[ActivationStats(X, at_steps=[0])], epochs=1)
    relu = h.monitors["activations"]["layers"][0][1]
    assert relu["type"] == "ReLU" and 0.2 < relu["frac_zero"] < 0.8   # about half are off at init


def test_gradient_stats_match_a_manual_backward():
    X, y = data()
    t, h = fit(monitors=[GradientStats(X[:20], y[:20], at_steps=[3])], epochs=1)
    rec = h.monitors["gradients"]
    assert rec["step"] == [3]
    last = rec["layers"][0][-1]
    assert last["name"] == "layers.2"
    # the last layer's incoming gradient is d(mean loss)/d(scores), whose rows sum to zero for softmax
    assert abs(last["mean"]) < 1e-7 and sum(last["hist"]) == 20 * 3
    names = [p["name"] for p in rec["params"][0]]
    assert names == ["layers.0.W", "layers.0.b", "layers.2.W", "layers.2.b"]
    assert all(p["norm"] > 0 for p in rec["params"][0])


def test_gradient_stats_equal_backward_on_the_probe():
    X, y = data()
    model = net()
    mon = GradientStats(X[:10], y[:10])

    class Stub:
        pass

    tr = Stub()
    tr.model, tr.loss, tr.step, tr.steps_per_epoch, tr.history = model, SoftmaxCrossEntropy(), 0, 1, History()
    mon.measure(tr)
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(X[:10]), y[:10])
    model.backward(loss.backward())
    rec = tr.history.monitors["gradients"]
    for p_rec, (name, p) in zip(rec["params"][0], model.named_parameters()):
        assert p_rec["name"] == name and np.isclose(p_rec["norm"], np.linalg.norm(p.grad), rtol=1e-6)


def test_describe_and_history_round_trip():
    d = describe(np.array([0.0, 0.0, 1.0, 3.0]), bins=3, sample_size=10)
    assert d["frac_zero"] == 0.5 and d["hist"] == [2, 1, 1] and d["sample"] == [0.0, 0.0, 1.0, 3.0]
    X, y = data()
    _, h = fit(monitors=[ActivationStats(X[:10]), PerSampleLoss()], epochs=2)
    back = History.from_json(h.to_json())
    assert back.equals(h, ignore=()), back.differences(h, ignore=())
