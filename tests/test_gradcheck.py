"""The gradient checker itself: building blocks, planted bugs caught, kinks, copies, randomness, reports."""
import copy
import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

from nn_scratch.gradcheck import (GradCheckReport, TinyGradientWarning, check_directional, check_layer,
                                  check_loss, check_model, numerical_gradient, plot_step_size_sweep,
                                  rel_error, step_size_sweep)
from nn_scratch.layers import (Dropout, Layer, LeakyReLU, Linear, Parameter, ReLU, Sequential, Softmax,
                               Tanh)
from nn_scratch.losses import L2, MSE, Flooding, MulticlassSVM, SoftmaxCrossEntropy
# the planted bugs of the exercises' catalogue, as layers: the learner's classic mistakes, listed once
from nn_scratch.exercises.catalogue import (DropoutForgotMask, LinearTransposedDW, LinearWrongSignDb,
                                            SoftmaxMissingTerm)


# ----------------------------------------------------------------------------------------------------
# planted bugs: each subclass breaks exactly one thing in an otherwise correct backward
# ----------------------------------------------------------------------------------------------------
class LinearScaledDW(Linear):
    """dW off by a factor 1.01."""

    def backward(self, dy):
        dx = super().backward(dy)
        self.W.grad *= 1.01
        return dx


class L2ForgotHalf(L2):
    """Adds 0.5 * reg * W although the penalty is 0.5 * reg * sum W^2 (whose gradient is reg * W)."""

    def backward(self, params):
        for p in self._targets(params):
            p.grad += 0.5 * self.reg * p.value


class Scale(Layer):
    """A user's own layer with a Parameter attribute and no registration: y = a * x."""

    def __init__(self, bug=False):
        super().__init__()
        self.a = Parameter(np.array([1.5]), "a")
        self.bug = bug

    def forward(self, x):
        self.x = x
        return self.a.value * x

    def backward(self, dy):
        self.a.grad[...] = np.sum(dy * self.x) * (2.0 if self.bug else 1.0)
        return self.a.value * dy


class Noisy(Layer):
    """A user's own random layer: multiplies by fresh noise from its own Generator kept in a list."""

    def __init__(self, seed):
        super().__init__()
        self.sources = [np.random.default_rng(seed)]

    def forward(self, x):
        self.noise = 1 + self.sources[0].standard_normal(x.shape)
        return x * self.noise

    def backward(self, dy):
        return dy * self.noise


def _data(seed=0, N=6, D=5, C=4):
    rng = np.random.default_rng(seed + 100)
    return rng.standard_normal((N, D)), rng.integers(0, C, N)


# ----------------------------------------------------------------------------------------------------
# rel_error and numerical_gradient
# ----------------------------------------------------------------------------------------------------
def test_rel_error_edge_cases():
    assert rel_error(0.0, 0.0) == 0.0                      # both zero: agreement
    assert rel_error(1.0, 0.0) == 1.0 == rel_error(0.0, 1.0)
    assert rel_error(2.0, 1.0) == pytest.approx(0.5)
    a, n = np.array([1.0, -3.0, 0.0]), np.array([1.1, 3.0, 0.0])
    np.testing.assert_allclose(rel_error(a, n), rel_error(n, a))  # symmetric
    np.testing.assert_allclose(rel_error(a, n), [0.1 / 1.1, 2.0, 0.0])
    assert rel_error(np.nan, 1.0) == np.inf
    assert isinstance(rel_error(1.0, 1.0), float)


def test_rel_error_warns_on_tiny_magnitudes_only():
    with pytest.warns(TinyGradientWarning, match="Scale the loss up"):
        rel_error(np.array([1e-12, 1.0]), np.array([2e-12, 1.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rel_error(np.zeros(3), np.zeros(3))                # exact zeros are fine, no warning
        rel_error(1e-3, 2e-3)


def test_rel_error_bad_input():
    with pytest.raises(ValueError, match="'a' and 'n' must have the same shape"):
        rel_error(np.zeros(3), np.zeros(4))
    with pytest.raises(TypeError, match="'a' must be a numeric array"):
        rel_error("x", 1.0)


def test_numerical_gradient_matches_derivative_and_restores_x_exactly():
    x = np.array([[0.1, -0.7, 2.3], [1e-3, 5.0, -1.9]])
    before = x.copy()
    g = numerical_gradient(lambda v: np.sum(v ** 3), x)
    np.testing.assert_allclose(g, 3 * before ** 2, rtol=1e-8, atol=1e-10)
    assert np.array_equal(x, before)                       # every coordinate restored bit for bit
    part = numerical_gradient(lambda v: np.sum(v ** 3), x, indices=[(0, 1), 5])
    np.testing.assert_allclose(part, 3 * before.ravel()[[1, 5]] ** 2, rtol=1e-8)


def test_numerical_gradient_naive_float32_is_much_worse():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((20, 10))

    def f(v):
        return np.sum(np.tanh(v @ W.astype(v.dtype)))

    x64 = rng.standard_normal((4, 20))
    exact = numerical_gradient(f, x64.copy())
    naive = numerical_gradient(f, x64.astype(np.float32))
    assert np.max(rel_error(naive, exact, warn=False)) > 1e-3     # float32: rounding swamps the step
    analytic = (1 - np.tanh(x64 @ W) ** 2) @ W.T
    assert np.max(rel_error(exact, analytic)) < 1e-7


def test_numerical_gradient_bad_input():
    with pytest.raises(TypeError, match="'x' must be a float numpy array"):
        numerical_gradient(np.sum, np.arange(3))
    with pytest.raises(ValueError, match="'h' must be a positive"):
        numerical_gradient(np.sum, np.ones(3), h=-1e-5)
    with pytest.raises(ValueError, match="'f' must return a scalar"):
        numerical_gradient(lambda v: v, np.ones(3))
    with pytest.raises(ValueError, match="too small"):
        numerical_gradient(np.sum, np.ones(3), h=1e-30)
    with pytest.raises(ValueError, match="'indices'"):
        numerical_gradient(np.sum, np.ones(3), indices=[7])


# ----------------------------------------------------------------------------------------------------
# planted bugs are caught; correct layers pass
# ----------------------------------------------------------------------------------------------------
BUGS = {
    "dW x 1.01": lambda dt: (LinearScaledDW(5, 4, rng=0, dtype=dt), Linear(5, 4, rng=0, dtype=dt)),
    "missing softmax term": lambda dt: (SoftmaxMissingTerm(), Softmax()),
    "transposed square dW": lambda dt: (LinearTransposedDW(5, 5, rng=0, dtype=dt), Linear(5, 5, rng=0, dtype=dt)),
    "wrong-sign db": lambda dt: (LinearWrongSignDb(5, 4, rng=0, dtype=dt), Linear(5, 4, rng=0, dtype=dt)),
    "forgotten dropout mask": lambda dt: (DropoutForgotMask(0.5, rng=0), Dropout(0.5, rng=0)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bug", sorted(BUGS))
def test_planted_bug_fails_and_correct_twin_passes(bug, dtype):
    buggy, correct = BUGS[bug](dtype)
    x = _data(0)[0].astype(dtype)
    bad = check_layer(buggy, x, seed=0)
    good = check_layer(correct, x, seed=0)
    assert not bad.passed and bad.verdict in ("WRONG", "SUSPICIOUS") and bad.max_rel_error > 1e-3
    assert good.passed and good.verdict == "PASS" and good.max_rel_error <= 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_planted_bugs_inside_a_model(dtype):
    X, y = _data(1)
    relu_svm = Sequential([LinearScaledDW(5, 8, rng=0, dtype=dtype), ReLU(), Linear(8, 4, rng=1, dtype=dtype)])
    r = check_model(relu_svm, MulticlassSVM(), X, y)
    assert not r.passed and not r.smooth and r["layers.0.W"].max_rel_error > 1e-3
    assert r["layers.2.W"].max_rel_error < 1e-7                  # the bug is pinned on the right tensor
    drop = Sequential([Linear(5, 8, rng=0, dtype=dtype), Tanh(), DropoutForgotMask(0.5, rng=1),
                       Linear(8, 4, rng=1, dtype=dtype)])
    assert check_model(drop, SoftmaxCrossEntropy(), X, y).verdict == "WRONG"
    fixed = Sequential([Linear(5, 8, rng=0, dtype=dtype), Tanh(), Dropout(0.5, rng=1),
                        Linear(8, 4, rng=1, dtype=dtype)])
    assert check_model(fixed, SoftmaxCrossEntropy(), X, y).passed


def test_backward_that_forgets_a_gradient_is_reported():
    class NoDb(Linear):
        def backward(self, dy):
            np.matmul(self.x.T, dy, out=self.W.grad)
            return dy @ self.W.value.T

    r = check_layer(NoDb(3, 2, rng=0), np.ones((2, 3)))
    assert not r.passed and r["b"].note == "backward did not set this gradient"


def test_regularization_checked_apart_from_data():
    X, y = _data(2)
    model = Sequential([Linear(5, 6, rng=0), Tanh(), Linear(6, 4, rng=1)])
    for part in ("data", "reg", "total"):
        r = check_model(model, SoftmaxCrossEntropy(), X, y, reg=0.3, check=part)
        assert r.passed, str(r)
        assert ("x (input)" in [row.name for row in r.rows]) == (part != "reg")
    bad = check_model(model, SoftmaxCrossEntropy(), X, y, reg=L2ForgotHalf(0.3), check="reg")
    assert bad.verdict == "WRONG" and bad.max_rel_error == pytest.approx(0.5)
    assert bad["layers.0.b"].max_rel_error == 0                    # biases are not penalized: both zero
    # the data check ignores the penalty entirely, so the bug in it cannot show there
    assert check_model(model, SoftmaxCrossEntropy(), X, y, reg=L2ForgotHalf(0.3), check="data").passed


# ----------------------------------------------------------------------------------------------------
# kinks
# ----------------------------------------------------------------------------------------------------
def test_relu_inputs_within_h_of_zero_are_kinks_not_failures():
    x = np.array([[3e-6, -1.0, 2.0, -4e-6], [0.5, 0.0, -2e-6, 1.2]])
    r = check_layer(ReLU(), x, h=1e-5, num_coords=None)
    near = np.flatnonzero(np.abs(x.ravel()) < 1e-5)
    assert r.kinks == near.size == 4
    assert np.array_equal(np.flatnonzero(r["x (input)"].kinked), near)
    assert r["x (input)"].max_rel_error_at_kinks > 0.1           # the numbers there really are off ...
    assert r.passed and not r.smooth and r.max_rel_error <= 1e-7  # ... but they are not failures
    assert check_layer(LeakyReLU(0.1), x, num_coords=None).kinks == 4


def test_svm_margin_exactly_at_zero_is_a_kink():
    scores = np.array([[1.0, 0.0, -3.0], [0.2, 2.5, -1.0]])   # row 0: s_1 - s_0 + 1 == 0 exactly
    y = np.array([0, 1])
    r = check_loss(MulticlassSVM(), scores, y, num_coords=None)
    kinked = np.flatnonzero(r["scores"].kinked)
    assert list(kinked) == [0, 1]                               # s_00 (the true class) and s_01
    assert r.passed and r.kinks == 2


def test_everything_at_a_kink_is_inconclusive():
    r = check_layer(ReLU(), np.zeros((2, 2)))
    assert r.verdict == "INCONCLUSIVE" and not r.passed and r.kinks == 4


# ----------------------------------------------------------------------------------------------------
# copies, dtypes, randomness
# ----------------------------------------------------------------------------------------------------
def test_callers_layer_and_arrays_are_left_unchanged():
    model = Sequential([Linear(5, 7, rng=0), ReLU(), Dropout(0.4, rng=3), Linear(7, 4, rng=1)])  # float32
    model.train()
    for p in model.parameters():
        p.grad[...] = 7.0
    state = model.state_dict()
    rng_state = copy.deepcopy(model.layers[2].rng.bit_generator.state)
    X, y = _data(3)
    X32 = X.astype(np.float32)
    X_before, y_before = X32.copy(), y.copy()
    loss = Flooding(SoftmaxCrossEntropy(), 0.1)
    assert check_model(model, loss, X32, y, reg=0.1).passed
    assert check_directional(model, loss, X32, y).passed
    assert check_layer(model, X32).passed
    for name, p in model.named_parameters():
        assert p.value.dtype == np.float32 and p.grad.dtype == np.float32
        assert np.array_equal(p.value, state[name]) and np.all(p.grad == 7.0)
    assert model.layers[2].rng.bit_generator.state == rng_state and model.training
    assert X32.dtype == np.float32 and np.array_equal(X32, X_before) and np.array_equal(y, y_before)
    assert loss.calls == 0


def test_dropout_is_checked_with_its_randomness_replayed():
    layer = Dropout(0.5, rng=7)
    x = _data(4)[0]
    r = check_layer(layer, x, num_coords=None)
    assert r.passed and r.max_rel_error <= 1e-7
    assert any("replayed" in note for note in r.notes)
    # the mask is not trivial: about half of the input gradient is zero
    zeros = np.mean(r["x (input)"].analytic == 0)
    assert 0.2 < zeros < 0.8
    # a layer in eval mode is checked as it is (identity), not switched back on
    assert check_layer(Dropout(0.5, rng=7).eval(), x).passed


def test_users_own_random_layer_inside_a_container_is_replayed():
    model = Sequential([Linear(5, 6, rng=0), Noisy(seed=5), Tanh(), Linear(6, 4, rng=1)])
    X, y = _data(5)
    assert check_model(model, SoftmaxCrossEntropy(), X, y).passed
    assert check_directional(model, SoftmaxCrossEntropy(), X, y).passed


def test_users_layer_with_a_parameter_attribute_needs_no_registration():
    x = _data(6)[0]
    good = check_layer(Scale(), x)
    assert good.passed and [r.name for r in good.rows] == ["x (input)", "a"]
    bad = check_layer(Scale(bug=True), x)
    assert bad.verdict == "WRONG" and bad["a"].max_rel_error == pytest.approx(0.5)


def test_every_tensor_is_sampled_so_a_bias_is_never_skipped():
    model = Sequential([Linear(30, 40, rng=0), Tanh(), Linear(40, 3, rng=1)])
    X, y = np.random.default_rng(0).standard_normal((10, 30)), np.arange(10) % 3
    r = check_model(model, SoftmaxCrossEntropy(), X, y, num_coords=6)
    assert [(row.name, row.checked) for row in r.rows] == [
        ("x (input)", 6), ("layers.0.W", 6), ("layers.0.b", 6), ("layers.2.W", 6), ("layers.2.b", 3)]
    assert len(set(r["layers.0.W"].indices)) == 6


def test_tiny_gradients_warn_and_suggest_scaling():
    class Tiny(Layer):
        def forward(self, x):
            return 1e-13 * x

        def backward(self, dy):
            return 1e-13 * dy

    with pytest.warns(TinyGradientWarning, match="multiply the loss"):
        r = check_layer(Tiny(), np.ones((2, 3)))
    assert any("below" in n for n in r.notes)


# ----------------------------------------------------------------------------------------------------
# the directional check and the step-size sweep
# ----------------------------------------------------------------------------------------------------
class Counting(Layer):
    calls = 0

    def forward(self, x):
        Counting.calls += 1
        return x

    def backward(self, dy):
        return dy


def test_directional_check_costs_two_evaluations_and_catches_a_bug():
    X, y = _data(7)
    big = Sequential([Counting(), Linear(5, 200, rng=0), Tanh(), Linear(200, 4, rng=1)])
    Counting.calls = 0
    r = check_directional(big, SoftmaxCrossEntropy(), X, y)
    assert r.passed and r.evaluations == 2
    assert Counting.calls == 3            # the analytic pass, f(theta + h d), f(theta - h d): for 2,000+ parameters
    bad = Sequential([LinearScaledDW(5, 8, rng=0), Tanh(), Linear(8, 4, rng=1)])
    assert not check_directional(bad, SoftmaxCrossEntropy(), X, y).passed
    assert "Verdict:" in str(r)


def test_step_size_sweep_has_the_v_shape_and_plots():
    x = _data(8)[0]
    layer = Sequential([Linear(5, 6, rng=0, dtype=np.float64), Tanh()])
    hs = np.logspace(-12, -1, 12)
    s64 = step_size_sweep(layer, x, hs=hs, num_coords=4)
    assert s64.h.shape == s64.error.shape == (12,) and s64.dtype == "float64"
    mid = s64.error[np.argmin(np.abs(np.log10(hs) + 5))]
    assert mid < 1e-7 and mid < s64.error[0] / 10 and mid < s64.error[-1] / 10
    s32 = step_size_sweep(layer, x, hs=hs, num_coords=4, dtype=np.float32)
    assert np.nanmin(s32.error) > 10 * np.nanmin(s64.error)        # float32 never gets as good
    model_sweep = step_size_sweep(layer, x, SoftmaxCrossEntropy(), np.arange(6) % 6, hs=[1e-5], num_coords=2)
    assert model_sweep.error[0] < 1e-6
    fig = plot_step_size_sweep(s64, s32)
    assert isinstance(fig, Figure) and fig.axes[0].get_xscale() == "log" and len(fig.axes[0].lines) >= 2
    with pytest.raises(ValueError, match="'hs'"):
        step_size_sweep(layer, x, hs=[0.0])


# ----------------------------------------------------------------------------------------------------
# the report and bad input
# ----------------------------------------------------------------------------------------------------
def test_report_table_and_verdict_line():
    X, y = _data(9)
    good = check_model(Sequential([Linear(5, 3, rng=0)]), SoftmaxCrossEntropy(), X, y % 3)
    text = str(good)
    assert isinstance(good, GradCheckReport)
    assert text.splitlines()[0].startswith("Gradient check of Sequential model") and "PASS" in text.splitlines()[0]
    assert "layers.0.W" in text and "layers.0.b" in text and "float32 copy checked in float64" in text
    assert text.splitlines()[-1].startswith("Verdict: PASS")
    bad = str(check_layer(LinearWrongSignDb(5, 3, rng=0), X))
    assert bad.splitlines()[-1].startswith("Verdict: WRONG")
    with pytest.raises(KeyError, match="no tensor named"):
        good["nope"]


@pytest.mark.parametrize("call, error, words", [
    (lambda: check_layer("not a layer", np.ones((2, 3))), TypeError, "'layer' must be"),
    (lambda: check_layer(Linear(3, 2), np.array([[1.0, np.nan, 0.0]])), ValueError, "'x' contains NaN"),
    (lambda: check_layer(Linear(3, 2), np.ones((2, 4))), ValueError, "3 features"),
    (lambda: check_layer(Linear(3, 2), np.ones(3)), ValueError, "2 dimensions"),
    (lambda: check_layer(Linear(3, 2), np.ones((2, 3)), dy=np.ones((2, 3))), ValueError, "'dy' must have"),
    (lambda: check_layer(ReLU(), np.ones(3), h=0), ValueError, "'h' must be"),
    (lambda: check_layer(ReLU(), np.ones(3), h="1e-5"), TypeError, "'h' must be"),
    (lambda: check_layer(ReLU(), np.ones(3), num_coords=0), ValueError, "'num_coords'"),
    (lambda: check_layer(ReLU(), np.ones(3), seed=-1), TypeError, "'seed'"),
    (lambda: check_loss(SoftmaxCrossEntropy(), np.ones((2, 3)), np.array([0, 3])), ValueError, "labels 'y'"),
    (lambda: check_loss(SoftmaxCrossEntropy(), np.ones((2, 3)), np.array([0, 1, 2])), ValueError, "rows"),
    (lambda: check_loss(SoftmaxCrossEntropy(), np.array([[np.inf, 0.0]]), [0]), ValueError, "'scores'"),
    (lambda: check_loss(object(), np.ones((2, 3)), [0, 1]), TypeError, "'loss' must be"),
    (lambda: check_model(Linear(3, 2), MSE(), np.ones((2, 3)), np.ones((2, 2)), check="both"), ValueError, "'check'"),
    (lambda: check_model(Linear(3, 2), MSE(), np.ones((2, 3)), np.ones((2, 2)), check="reg"), ValueError, "reg="),
    (lambda: check_model(Linear(3, 2), MSE(), np.ones((2, 3)), np.ones((2, 2)), reg="big"), TypeError, "'reg'"),
    (lambda: check_model(Linear(3, 2), MSE(), np.ones((2, 3)), np.ones((2, 2)), reg=-1.0), ValueError, "'reg'"),
    (lambda: check_model(Linear(3, 2), MSE(), np.ones((2, 3)), np.ones((3, 2))), ValueError, "targets 'y'"),
    (lambda: check_directional(ReLU(), MSE(), np.ones((2, 3)), np.ones((2, 3))), ValueError, "no parameters"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_tutorial_runs_and_prints_its_verdicts(run_tutorial):
    out, figdir = run_tutorial("01_gradient_checks.py")
    assert "Swish with a planted mistake -> WRONG" in out
    assert "Swish fixed -> PASS" in out
    assert "kinks crossed: 2" in out
    lines = out.splitlines()
    for name in ("Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax ", "Dropout", "Flatten", "Sequential",
                 "SoftmaxCrossEntropy", "MulticlassSVM", "Flooding", "MSE", "model, check='reg'"):
        assert any(line.startswith(name) and " PASS " in line for line in lines), name
    assert out.count("Verdict: PASS") >= 4 and "kinked coordinates: [(0, 0), (1, 1)]" in out
    float32_line = next(line for line in out.splitlines() if line.startswith("naive float32 numeric gradient"))
    assert float(float32_line.split()[-1]) > 1e-4
    assert (figdir / "01_step_size_sweep.png").stat().st_size > 10_000


def test_module_docstring_example_runs(capsys):
    import textwrap

    import nn_scratch.gradcheck as gradcheck
    code = textwrap.dedent(gradcheck.__doc__.split("::\n\n", 1)[1].split("\n\n")[0])
    assert len(code.strip().splitlines()) == 5
    exec(code, {})
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("Verdict: PASS")


def test_first_layer_without_input_gradient_is_checked_in_full_on_the_copy():
    model = Sequential([Linear(5, 6, rng=0, input_grad=False), Tanh(), Linear(6, 4, rng=1)])
    X, y = _data(10)
    r = check_model(model, SoftmaxCrossEntropy(), X, y)
    assert r.passed and r["x (input)"].checked > 0 and any("input_grad=False" in n for n in r.notes)
    assert model.layers[0].input_grad is False                   # the caller's layer keeps its setting


def test_backward_returning_nothing_for_the_input_is_a_failure():
    class NoDx(Tanh):
        def backward(self, dy):
            super().backward(dy)

    r = check_layer(NoDx(), np.ones((2, 3)))
    assert not r.passed and "backward returned None" in r["x (input)"].note
