"""Sanity checks pass on a correct model and name the problem on broken ones; tutorial 02."""
import doctest
import math
import re

import numpy as np
import pytest

import nn_scratch.sanity as sanity
from nn_scratch.data import load_digits
from nn_scratch.layers import Layer, Linear, Parameter, ReLU, Sequential
from nn_scratch.losses import L2, MSE, MulticlassSVM, SoftmaxCrossEntropy


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def good():
    return Sequential([Linear(64, 32, rng=0), ReLU(), Linear(32, 10, init="gaussian", weight_scale=1e-3, rng=1)])


def too_large():
    return Sequential([Linear(64, 32, init="gaussian", weight_scale=1.0, rng=0), ReLU(),
                       Linear(32, 10, init="gaussian", weight_scale=1.0, rng=1)])


class FrozenLinear(Linear):
    """A bug: backward forgets to set the weight gradients (they stay zero)."""

    def backward(self, dy):
        return dy @ self.W.value.T


def test_correct_model_passes_everything(digits):
    X, y = digits
    report = sanity.run_all(good, SoftmaxCrossEntropy(), X, y)
    assert report.passed, str(report)
    assert [r.name for r in report] == ["initial_loss", "regularization_raises_loss", "overfit_small_subset",
                                        "learns_signal"]
    assert str(report).startswith("all sanity checks passed")
    r = report["initial_loss"]
    assert abs(r.measured - math.log(10)) < 0.01 and r.expected == pytest.approx(2.302585, abs=1e-6)
    assert report["overfit_small_subset"].details["train_acc"] == 1.0
    with pytest.raises(KeyError, match="no sanity check"):
        report["nope"]


def test_svm_chance_is_c_minus_one_times_margin(digits):
    X, y = digits
    r = sanity.check_initial_loss(good, MulticlassSVM(margin=2.0), X, y)
    assert r.passed and r.expected == 18.0 and abs(r.measured - 18.0) < 0.05
    assert sanity.overfit_small_subset(good, MulticlassSVM(), X, y).passed


def test_wrong_init_scale_is_reported(digits):
    X, y = digits
    r = sanity.check_initial_loss(too_large, SoftmaxCrossEntropy(), X, y)
    assert not r.passed and r.measured > 3 * r.expected
    assert "too high" in str(r) and 'init="zeros"' in str(r) and str(r).startswith("[FAIL]")
    report = sanity.run_all(too_large, SoftmaxCrossEntropy(), X, y)
    assert not report.passed and not report["initial_loss"].passed


def test_initial_loss_tolerance_follows_from_small_scores(digits):
    """He output layer (the README's old model): scores spread ~0.5, loss ~ln 10 + 0.12 -> FAIL, with the
    measured spread and the output-layer fix; the same net with a zero or 0.01 output layer passes."""
    from nn_scratch.data import Standardizer
    X, y = digits
    X = Standardizer().fit(X).transform(X)
    he = lambda: Sequential([Linear(64, 128, rng=0), ReLU(), Linear(128, 10, rng=1)])      # noqa: E731
    r = sanity.check_initial_loss(he, SoftmaxCrossEntropy(), X, y)
    assert not r.passed and r.details["tolerance"] == pytest.approx(0.045)
    assert r.measured - math.log(10) > 0.045 and r.details["score_std"] > 0.3
    text = str(r)
    assert f"score spread {r.details['score_std']:.3g}" in text and "tolerance +-0.045" in text
    assert "layers.2.W" in text and 'init="zeros"' in text and "'he'/'xavier'" in text   # names the fix, not the default
    # sigma^2 / 2 is what the loss gains: the measured excess matches it within 30 %
    assert r.measured - math.log(10) == pytest.approx(r.details["score_std"] ** 2 / 2, rel=0.3)
    for out_init in (dict(init="zeros"), dict(init="gaussian", weight_scale=0.01)):
        ok = sanity.check_initial_loss(lambda: Sequential([Linear(64, 128, rng=0), ReLU(),
                                                           Linear(128, 10, rng=1, **out_init)]),
                                       SoftmaxCrossEntropy(), X, y)
        assert ok.passed and abs(ok.measured - math.log(10)) < 0.02, str(ok)
        assert "within tolerance" in str(ok)
    with pytest.raises(ValueError, match="'tol'"):
        sanity.check_initial_loss(he, SoftmaxCrossEntropy(), X, y, tol=-1)


def test_shuffled_labels_are_reported(digits):
    X, y = digits
    y_bad = np.random.default_rng(1).permutation(y)
    report = sanity.run_all(good, SoftmaxCrossEntropy(), X, y_bad)
    assert not report.passed
    assert report["overfit_small_subset"].passed            # 20 random labels can still be memorized ...
    bad = report["learns_signal"]                            # ... but nothing generalizes
    assert not bad.passed and bad.measured < bad.expected and "shuffled" in str(bad)
    assert "1 of 4 sanity checks FAILED" in str(report)


def test_broken_backward_does_not_overfit(digits):
    X, y = digits
    factory = lambda: Sequential([FrozenLinear(64, 10, init="gaussian", weight_scale=1e-3, rng=0)])  # noqa: E731
    r = sanity.overfit_small_subset(factory, SoftmaxCrossEntropy(), X, y, steps=60)
    # only the bias learns: the loss falls a little, the 20 examples are not memorized
    assert not r.passed and r.details["steps_taken"] == 60
    assert "not" in r.message and ("barely moved" in r.message or "not memorized" in r.message)


def test_overfit_failure_messages(digits):
    X, y = digits
    from nn_scratch.optim import SGD

    class Ascent:                          # a sign bug: the update goes up the gradient
        def __init__(self, params):
            self.params = params

        def step(self):
            for p in self.params:
                p.value += 0.05 * p.grad

    up = sanity.overfit_small_subset(good, SoftmaxCrossEntropy(), X, y, steps=20, optimizer=Ascent)
    assert not up.passed and "went UP" in up.message
    boom = sanity.overfit_small_subset(too_large, SoftmaxCrossEntropy(), X, y, steps=50,
                                       optimizer=lambda p: SGD(p, lr=1e4))
    assert not boom.passed and ("NaN" in boom.message or "UP" in boom.message)


def test_regularization_check(digits):
    X, y = digits
    ok = sanity.check_regularization_raises_loss(good, SoftmaxCrossEntropy(), X, y)
    objs = ok.details["objectives"]
    assert ok.passed and all(b > a for a, b in zip(objs, objs[1:]))
    model = good()
    expected = objs[0] + L2(1.0).penalty(model.parameters())
    assert objs[-1] == pytest.approx(expected, rel=1e-9)

    class Wrong(L2):                      # a penalty with the wrong sign
        def penalty(self, params):
            return -super().penalty(params)

    bad = sanity.check_regularization_raises_loss(good, SoftmaxCrossEntropy(), X, y, penalty=Wrong)
    assert not bad.passed and "wrong sign" in bad.message

    class NoWeights(Layer):
        def __init__(self):
            super().__init__()
            self.b = Parameter(np.zeros(10), "b", regularize=False)

        def forward(self, x):
            return np.zeros((x.shape[0], 10)) + self.b.value

        def backward(self, dy):
            self.b.grad[...] = dy.sum(0)
            return np.zeros((dy.shape[0], 64))

    none = sanity.check_regularization_raises_loss(NoWeights(), SoftmaxCrossEntropy(), X, y)
    assert not none.passed and "regularize=True" in none.message


def test_model_is_not_changed_and_regression_works(digits):
    X, y = digits
    model = good()
    before = model.state_dict()
    sanity.overfit_small_subset(model, SoftmaxCrossEntropy(), X, y)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    rng = np.random.default_rng(0)
    Xr = rng.standard_normal((300, 4)).astype(np.float32)
    yr = (Xr @ np.array([[1.0], [2.0], [-1.0], [0.5]])).astype(np.float32)
    report = sanity.run_all(lambda: Sequential([Linear(4, 16, rng=0), ReLU(), Linear(16, 1, rng=1)]), MSE(), Xr, yr)
    assert [r.name for r in report] == ["regularization_raises_loss", "overfit_small_subset", "learns_signal"]
    assert report.passed, str(report)
    with pytest.raises(TypeError, match="SoftmaxCrossEntropy"):
        sanity.check_initial_loss(model, MSE(), Xr, yr)


def test_bad_arguments(digits):
    X, y = digits
    with pytest.raises(TypeError, match="'model'"):
        sanity.check_initial_loss("net", SoftmaxCrossEntropy(), X, y)
    with pytest.raises(ValueError, match="'n'"):
        sanity.overfit_small_subset(good, SoftmaxCrossEntropy(), X, y, n=0)
    with pytest.raises(ValueError, match="same non-zero N"):
        sanity.check_initial_loss(good, SoftmaxCrossEntropy(), X, y[:10])
    with pytest.raises(ValueError, match="'regs'"):
        sanity.check_regularization_raises_loss(good, SoftmaxCrossEntropy(), X, y, regs=(1.0, 0.1))


def test_run_all_on_few_rows_skips_what_cannot_run():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((14, 3)), np.arange(14) % 2
    report = sanity.run_all(lambda: Linear(3, 2, init="gaussian", weight_scale=1e-3, rng=0), SoftmaxCrossEntropy(),
                            X, y, n=1, steps=20)      # 7 rows besides the training half: too few to test on
    assert [r.name for r in report] == ["initial_loss", "regularization_raises_loss", "overfit_small_subset"]


def test_docstring_example_runs():
    assert doctest.testmod(sanity).failed == 0


def test_tutorial_02(run_tutorial):
    out, figdir = run_tutorial("02_sanity_checks.py")
    rows = re.findall(r"^\| (\w+)\s+\| ([^|]+?)\s+\| (True|False)\s+\|\s+([-\d.]+) \|\s+([-\d.]+) \|$", out, re.M)
    table = {(name, setup): (passed == "True", float(m), float(e)) for name, setup, passed, m, e in rows}
    assert table[("initial_loss", "softmax, small init")][0] and \
        abs(table[("initial_loss", "softmax, small init")][1] - 2.3026) < 0.01
    assert abs(table[("initial_loss", "svm, small init")][1] - 9.0) < 0.05
    assert not table[("initial_loss", "softmax, large init")][0]
    assert table[("overfit_small_subset", "softmax, small init")][0]
    assert not table[("overfit_small_subset", "learning rate 1e-4")][0]
    assert table[("learns_signal", "correct labels")][0] and not table[("learns_signal", "shuffled labels")][0]
    assert "run_all passed: True" in out
    assert (figdir / "02_overfit_small_subset.png").stat().st_size > 1000
