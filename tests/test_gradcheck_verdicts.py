"""The gradient checker's own verdicts, pinned down: the error scale at its edges, planted errors of known
size in smooth and kinked layers, the refinement for curved functions, the noise floor, one-sided kinks.

A learner trusts the checker's verdict, so each test plants an error whose size is known and asks for the
verdict the lecture notes' scale gives (see ``nn_scratch.gradcheck``'s module docstring).
"""
import numpy as np
import pytest

from nn_scratch.gradcheck import (DirectionalReport, check_directional, check_layer, check_loss, check_model,
                                  rel_error, step_size_sweep)
from nn_scratch.layers import Layer, Linear, Parameter, ReLU, Sequential
from nn_scratch.losses import L2, MSE, Flooding, MulticlassSVM


class PlantedScale(Layer):
    """``y = a * x`` (elementwise, a learnable per-element ``a``) whose backward is off by a relative
    ``error`` in every gradient.  ``kinked=True`` records ``winners`` as a ReLU would (inputs are kept away
    from 0, so no kink is ever crossed), which tells the checker the objective has kinks."""

    def __init__(self, size, error=0.0, kinked=False):
        super().__init__()
        self.a = Parameter(np.linspace(0.5, 1.5, size), "a")
        self.error, self.kinked = error, kinked

    def forward(self, x):
        self.x = x
        if self.kinked:
            self.winners = x > 0
        return self.a.value * x

    def backward(self, dy):
        off = 1.0 + self.error
        self.a.grad[...] = np.sum(dy * self.x, axis=0) * off
        return dy * self.a.value * off


X = np.array([[0.8, -1.3, 2.1, -0.6]])
DY = np.array([[1.1, 0.7, -0.9, 1.4]])


# ----------------------------------------------------------------------------------------------------
# the scale of the notes, at its edges (DirectionalReport grades a single error with the same rule)
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("err, smooth, verdict", [
    (0.0, True, "PASS"), (1e-7, True, "PASS"), (1.01e-7, True, "SUSPICIOUS"), (1e-4, True, "SUSPICIOUS"),
    (1e-7, False, "PASS"), (1e-4, False, "PASS"), (1.01e-4, False, "SUSPICIOUS"),
    (1e-2, True, "SUSPICIOUS"), (1e-2, False, "SUSPICIOUS"), (1.01e-2, False, "WRONG"), (np.inf, True, "WRONG"),
    (np.nan, False, "WRONG")])
def test_the_verdict_scale_at_its_edges(err, smooth, verdict):
    r = DirectionalReport(analytic=1.0, numeric=1.0, rel_error=err, kinked=False, smooth=smooth, h=1e-5)
    assert r.verdict == verdict
    assert r.passed is (verdict == "PASS") and bool(r) is r.passed
    assert str(r).endswith(str(r).splitlines()[-1]) and f"Verdict: {verdict}" in str(r)


def test_a_crossed_kink_is_inconclusive_never_pass():
    r = DirectionalReport(1.0, 1.0, 0.0, kinked=True, smooth=False, h=1e-5)
    assert r.verdict == "INCONCLUSIVE" and not r.passed


# ----------------------------------------------------------------------------------------------------
# planted errors of known size
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("error, kinked, verdict", [
    (0.0, False, "PASS"), (5e-8, False, "PASS"), (2e-7, False, "SUSPICIOUS"),
    (1e-5, False, "SUSPICIOUS"),                # the notes: 1e-5 is too high for a smooth objective ...
    (1e-5, True, "PASS"),                       # ... and acceptable for one with kinks
    (5e-5, True, "PASS"), (2e-4, True, "SUSPICIOUS"), (2e-4, False, "SUSPICIOUS"),
    (5e-3, True, "SUSPICIOUS"), (2e-2, True, "WRONG"), (2e-2, False, "WRONG")])
def test_a_planted_relative_error_gets_the_notes_verdict(error, kinked, verdict):
    r = check_layer(PlantedScale(4, error, kinked), X, DY, num_coords=None)
    assert r.smooth is (not kinked) and r.kinks == 0
    assert r.verdict == verdict, str(r)
    assert r.passed is (verdict == "PASS")
    # the measured error is the planted one (|a - n| / max(|a|, |n|) = e / (1 + e) for a = (1 + e) n)
    assert r.max_rel_error == pytest.approx(error / (1 + error), rel=1e-2, abs=1e-10)


def test_a_smooth_layer_off_by_1e_5_is_suspicious_and_says_why():
    r = check_layer(PlantedScale(4, 1e-5), X, DY)
    assert r.verdict == "SUSPICIOUS" and r.passed is False and not r
    assert "too high for a smooth objective" in str(r)


# ----------------------------------------------------------------------------------------------------
# strong curvature: the refinement (Richardson) is needed and used
# ----------------------------------------------------------------------------------------------------
class Exp3(Layer):
    """``y = exp(3 x)``: strongly curved, so the centered difference at h = 1e-3 is off by ~ (3h)^2 / 6."""

    def forward(self, x):
        self.y = np.exp(3 * x)
        return self.y

    def backward(self, dy):
        return 3 * self.y * dy


def test_a_strongly_curved_layer_needs_and_uses_the_refinement():
    x, dy = np.array([[0.9, -0.4, 1.5]]), np.array([[0.6, -1.1, 0.8]])
    plain = step_size_sweep(Exp3(), x, hs=[1e-3], dy=dy, num_coords=None).error[0]
    assert plain == pytest.approx(1.5e-6, rel=0.05)          # (3h)^2 / 6 = h^2 f'''/(6 f'): not a PASS
    r = check_layer(Exp3(), x, dy, h=1e-3, num_coords=None)
    row = r["x (input)"]
    assert r.verdict == "PASS" and r.max_rel_error < 1e-9, str(r)
    assert row.refined.all()                                  # every coordinate was judged refined ...
    np.testing.assert_allclose(row.numeric, (3 * np.exp(3 * x) * dy).ravel(), rtol=1e-9)   # ... and right


def test_refinement_does_not_rescue_a_wrong_gradient():
    class Exp3Wrong(Exp3):
        def backward(self, dy):
            return 3.003 * self.y * dy                        # off by 1e-3
    r = check_layer(Exp3Wrong(), np.array([[0.9, -0.4, 1.5]]), h=1e-3, num_coords=None)
    assert r.verdict == "SUSPICIOUS" and r.max_rel_error == pytest.approx(1e-3, rel=1e-2)
    # the plain estimate (too high by the curvature, like the analytic one) is the closer: the smaller counts
    assert not r["x (input)"].refined.any()


# ----------------------------------------------------------------------------------------------------
# the noise floor: gradients far below the rounding noise are compared on the absolute scale
# ----------------------------------------------------------------------------------------------------
def test_a_gradient_far_below_rounding_noise_is_not_a_failure():
    layer = PlantedScale(4)
    layer.a.value[2] = 1e-13          # d(sum y dy)/dx_2 = a_2 dy_2 ~ 1e-13: below what f(x +- h) resolves
    r = check_layer(layer, X, DY, num_coords=None)
    row = r["x (input)"]
    assert abs(row.analytic[2]) < 1e-12
    assert rel_error(row.analytic[2], row.numeric[2], warn=False) > 1e-3   # the plain error is noise ...
    assert r.verdict == "PASS", str(r)                                       # ... and is not judged as one


def test_the_floor_does_not_hide_a_small_wrong_gradient():
    # coordinates of size ~1e-3 (below the floor, ~2e-3 * F, but far above the noise) and ~1 that are off by 10 %
    class Off(PlantedScale):
        def backward(self, dy):
            dx = super().backward(dy)
            dx[0, 1] *= 1.1
            return dx
    layer = Off(4)
    r = check_layer(layer, X, DY, num_coords=None)
    assert r.verdict == "WRONG" and r["x (input)"].errors[1] == pytest.approx(0.1 / 1.1, rel=1e-3)
    layer.a.value[1] = 1e-3
    r = check_layer(layer, X, DY, num_coords=None)
    assert not r.passed and r["x (input)"].max_rel_error > 1e-3, str(r)


EPS = np.finfo(np.float64).eps


class PlantedAbsolute(PlantedScale):
    """``y = a * x`` with ``a_2 = 0`` (so d/dx_2 is exactly 0) and an absolute 1e-6 planted in dx_2."""

    def __init__(self):
        super().__init__(4)
        self.a.value[2] = 0.0

    def backward(self, dy):
        dx = super().backward(dy)
        dx[..., 2] += 1e-6
        return dx


def test_the_floor_is_the_documented_one_for_a_layer():
    # error of a coordinate below the floor = |a - n| / floor,  floor = 1e8 eps F / h,  F = sum |dy| (|y| + 1)
    layer, h = PlantedAbsolute(), 1e-5
    r = check_layer(layer, X, DY, h=h, num_coords=None)
    F = np.sum(np.abs(DY) * (np.abs(layer.forward(X)) + 1))
    assert r["x (input)"].numeric[2] == 0.0
    assert r["x (input)"].errors[2] == pytest.approx(1e-6 / (1e8 * EPS * F / h), rel=1e-9)


class SquaredFirstColumn:
    """A loss that only looks at column 0: ``L_i = (s_i0 - y_i)^2``; its backward plants 1e-6 in column 1."""

    def forward(self, scores, y):
        self.s, self.y = scores, y
        return (scores[:, 0] - y) ** 2

    def backward(self):
        d = np.zeros_like(self.s)
        d[:, 0] = 2 * (self.s[:, 0] - self.y) / len(self.y)
        d[:, 1] = 1e-6
        return d


def test_the_floor_is_the_documented_one_for_a_loss_and_a_penalty():
    scores, y, h = np.array([[3.0, 0.5], [-1.0, 2.0]]), np.array([1.0, 1.0]), 1e-5
    per = (scores[:, 0] - y) ** 2                                   # [4, 4]: F = max(|J|, mean |L| + 1) = 5
    r = check_loss(SquaredFirstColumn(), scores, y, h=h, num_coords=None)
    assert r["scores"].errors[1] == pytest.approx(1e-6 / (1e8 * EPS * (np.mean(per) + 1) / h), rel=1e-9)

    # a model checked with its penalty: F gains the penalty 0.5 reg sum a^2
    model, reg, t = PlantedAbsolute(), 0.5, np.array([0.3])
    r = check_model(model, SquaredFirstColumn(), X, t, reg=L2(reg), num_coords=None)
    a = model.a.value
    F = (a[0] * X[0, 0] - t[0]) ** 2 + 1 + 0.5 * reg * np.sum(a ** 2)
    assert r["x (input)"].errors[2] == pytest.approx(1e-6 / (1e8 * EPS * F / h), rel=1e-9)


# ----------------------------------------------------------------------------------------------------
# rel_error below magnitude 1
# ----------------------------------------------------------------------------------------------------
def test_rel_error_is_relative_at_every_magnitude():
    assert rel_error(1e-3, 2e-3) == pytest.approx(0.5)
    assert rel_error(-1e-6, -1.1e-6) == pytest.approx(0.1 / 1.1)
    assert rel_error(3e-4, 3e-4) == 0.0
    np.testing.assert_allclose(rel_error(np.array([0.2, 5.0, 1e-8]), np.array([0.1, 4.0, 3e-8])),
                               [0.5, 0.2, 2 / 3])
    assert rel_error(1e-3, -1e-3) == pytest.approx(2.0)                   # opposite signs: 2


# ----------------------------------------------------------------------------------------------------
# kinks met on one side only
# ----------------------------------------------------------------------------------------------------
def test_directional_check_at_a_one_sided_kink_is_inconclusive():
    # one unit whose pre-activation is exactly 0: moving the parameters one way turns the ReLU on, the other
    # way leaves it off.  The difference straddles the kink, so the check must not judge it.
    model = Sequential([Linear(2, 1, rng=0, dtype=np.float64), ReLU()])
    model.layers[0].W.value[...] = 0.0
    r = check_directional(model, MSE(), np.array([[0.7, -1.2]]), np.array([[0.5]]))
    assert r.kinked and r.verdict == "INCONCLUSIVE" and not r.passed


def test_flooded_svm_keeps_its_hinge_kinks():
    scores = np.array([[1.0, 0.0, -3.0], [0.2, 2.5, -1.0]])   # row 0: s_1 - s_0 + 1 == 0 exactly
    y = np.array([0, 1])
    plain = check_loss(MulticlassSVM(), scores, y, num_coords=None)
    flooded = check_loss(Flooding(MulticlassSVM(), 0.1), scores, y, num_coords=None)
    assert not flooded.smooth
    assert list(np.flatnonzero(flooded["scores"].kinked)) == list(np.flatnonzero(plain["scores"].kinked)) == [0, 1]
    assert flooded.passed and flooded.kinks == 2


# ----------------------------------------------------------------------------------------------------
# what the report says about a backward that forgets part of its job
# ----------------------------------------------------------------------------------------------------
def test_a_gradient_set_only_in_part_is_reported_as_not_set():
    class HalfSet(PlantedScale):
        def backward(self, dy):
            self.a.grad[:2] = (dy * self.x)[0, :2]             # forgets a[2:]
            return dy * self.a.value
    r = check_layer(HalfSet(4), X, DY, num_coords=None)
    assert r.verdict == "WRONG" and r["a"].note == "backward did not set this gradient"
    assert r["a"].max_rel_error == np.inf == r.max_rel_error          # NaN compared: infinitely wrong


def test_every_first_layer_without_input_gradient_is_counted_in_the_notes():
    model = Sequential([Linear(3, 2, rng=0, dtype=np.float64, input_grad=False),
                        Linear(2, 2, rng=1, dtype=np.float64, input_grad=False)])
    r = check_model(model, MSE(), np.ones((2, 3)), np.zeros((2, 2)))
    assert r.passed and any("input_grad=False switched on in the copy of 2 layer(s)" in n for n in r.notes)


# ----------------------------------------------------------------------------------------------------
# kinks are reported as measured; exact zeros are not "tiny"; defaults
# ----------------------------------------------------------------------------------------------------
def test_a_coordinate_that_crossed_a_kink_is_never_refined():
    x = np.array([[7e-6, -8e-6, 2.0, -1.0]])           # within h = 1e-5 of the ReLU kink, but not h / 2
    r = check_layer(ReLU(), x, num_coords=None)
    row = r["x (input)"]
    assert list(np.flatnonzero(row.kinked)) == [0, 1]
    assert not row.refined.any() and row.max_rel_error_at_kinks > 0.1


def test_gradients_that_are_exactly_zero_raise_no_tiny_gradient_warning():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = check_layer(ReLU(), -np.ones((2, 3)), num_coords=None)     # every gradient exactly 0
    assert r.passed and r.max_rel_error == 0.0
    assert len(r.notes) == 1 and "exactly 0" in r.notes[0]      # the blind-tensor note, not a tiny warning


def test_the_defaults_are_h_1e_5_and_seed_0():
    layer, x = PlantedScale(4), np.ones((3, 4))
    default = check_layer(layer, x, num_coords=2)
    assert default.h == 1e-5
    assert np.array_equal(default["a"].indices, check_layer(layer, x, num_coords=2, seed=0)["a"].indices)
    assert not np.array_equal(default["a"].analytic, check_layer(layer, x, num_coords=2, seed=1)["a"].analytic)
    scores, y = np.random.default_rng(0).standard_normal((6, 5)), np.arange(6) % 5   # 30 > 20 coordinates
    picked = [check_loss(MulticlassSVM(), scores, y, **kw)["scores"].indices for kw in ({}, {"seed": 0}, {"seed": 1})]
    assert np.array_equal(picked[0], picked[1]) and not np.array_equal(picked[0], picked[2])
    assert check_loss(MulticlassSVM(), scores, y).h == 1e-5
    assert check_model(PlantedScale(2), MSE(), np.ones((1, 2)), np.zeros((1, 2))).h == 1e-5
    assert check_directional(PlantedScale(2), MSE(), np.ones((1, 2)), np.zeros((1, 2))).h == 1e-5


# ----------------------------------------------------------------------------------------------------
# the directional check: its floor, its refinement, its evaluations
# ----------------------------------------------------------------------------------------------------
class Exp3Param(Layer):
    """``y = exp(3 w) * x`` with a learnable ``w``: strongly curved in its parameter."""

    def __init__(self):
        super().__init__()
        self.w = Parameter(np.array([0.9, -0.4, 1.5]), "w")

    def forward(self, x):
        self.x, self.e = x, np.exp(3 * self.w.value)
        return self.e * x

    def backward(self, dy):
        self.w.grad[...] = np.sum(3 * self.e * self.x * dy, axis=0)
        return self.e * dy


def test_directional_check_refines_a_curved_direction_and_catches_a_bug():
    x, t = np.array([[0.5, 1.0, -0.2]]), np.zeros((1, 3))
    r = check_directional(Exp3Param(), MSE(), x, t, h=1e-3, seed=1)
    assert r.evaluations == 4 and r.passed and r.rel_error < 1e-9, str(r)

    class Wrong(Exp3Param):
        def backward(self, dy):
            dx = super().backward(dy)
            self.w.grad *= 1.001
            return dx
    r = check_directional(Wrong(), MSE(), x, t, h=1e-3, seed=1)
    assert r.verdict == "SUSPICIOUS" and r.rel_error == pytest.approx(1e-3, rel=0.01)


def test_directional_check_of_tiny_gradients_uses_the_floor():
    # gradients ~1e-13 next to a loss of ~1: the difference quotient is rounding noise (~1e-11)
    r = check_directional(PlantedScale(2), MSE(), np.array([[1e-13, 2e-13]]), np.ones((1, 2)))
    assert abs(r.analytic) < 1e-12 and r.verdict == "PASS", str(r)


def test_directional_check_of_a_nan_gradient_is_wrong_at_once():
    class NaNGrad(PlantedScale):
        def backward(self, dy):
            dx = super().backward(dy)
            self.a.grad[0] = np.nan
            return dx
    r = check_directional(NaNGrad(2), MSE(), np.ones((1, 2)), np.zeros((1, 2)))
    assert r.verdict == "WRONG" and r.evaluations == 2         # not borderline: no second look


# ----------------------------------------------------------------------------------------------------
# argument checks that had no test
# ----------------------------------------------------------------------------------------------------
def test_bad_arguments_of_the_building_blocks():
    from nn_scratch.gradcheck import numerical_gradient
    x = np.zeros((2, 2))
    with pytest.raises(TypeError, match="'f' must be a callable"):
        numerical_gradient("f", x)
    with pytest.raises(ValueError, match=r"'indices' entry \(5, 5\) is not a valid index for shape \(2, 2\)"):
        numerical_gradient(np.sum, x, indices=[(5, 5)])
    with pytest.raises(ValueError, match="'indices' entry 4 is out of range for shape"):
        numerical_gradient(np.sum, x, indices=[4])
    assert numerical_gradient(np.sum, x, indices=[3]) == pytest.approx([1.0])
    with pytest.raises(ValueError, match="'dtype' must be float32 or float64"):
        step_size_sweep(PlantedScale(2), np.ones((1, 2)), dtype=np.float16)
    with pytest.raises(TypeError, match="'model' must be a nn_scratch Layer"):
        step_size_sweep(lambda x: x, np.ones((1, 2)))
    for bad in (2.5, True):
        with pytest.raises(TypeError, match="'num_coords' must be a positive int or None"):
            check_layer(PlantedScale(2), np.ones((1, 2)), num_coords=bad)


def test_a_loss_that_refers_back_to_its_wrapper_is_walked_once():
    inner = MulticlassSVM()
    flood = Flooding(inner, 0.1)
    inner.owner = flood                                  # a cycle among the loss objects
    r = check_loss(flood, np.array([[2.0, 0.5, -1.0]]), np.array([1]), num_coords=None)
    assert r.passed and not r.smooth


def test_a_step_too_small_to_move_a_coordinate_is_refused():
    with pytest.raises(ValueError, match="'h'=1e-10 is too small to change 'x \\(input\\)'"):
        check_layer(PlantedScale(2), np.array([[1e10, 1.0]]), h=1e-10)


class ZeroAwarePenalty:
    """0.5 sum w^2 over the parameters, whose backward plants an absolute 1e-6 in every gradient."""

    def penalty(self, params):
        return 0.5 * sum(float(np.sum(p.value ** 2)) for p in params)

    def backward(self, params):
        for p in params:
            p.grad += p.value + 1e-6


def test_the_floor_of_a_penalty_check_is_the_penalty_alone():
    layer = PlantedScale(3)
    layer.a.value[...] = [2.0, 0.0, 1.0]                         # a_1 = 0: its penalty gradient is exactly 0
    r = check_model(layer, MSE(), np.ones((1, 3)), np.zeros((1, 3)), reg=ZeroAwarePenalty(), check="reg",
                    num_coords=None)
    F = 0.5 * (4.0 + 1.0)
    assert r["a"].errors[1] == pytest.approx(1e-6 / (1e8 * EPS * F / 1e-5), rel=1e-9)


def test_a_backward_that_returns_almost_nothing_is_wrong_not_tiny():
    import warnings

    class Vanishing(PlantedScale):
        def backward(self, dy):
            super().backward(dy)
            self.a.grad *= 1e-12
            return dy * self.a.value * 1e-12
    with warnings.catch_warnings():
        warnings.simplefilter("error")                         # the true gradients are ~1: no "tiny" warning
        r = check_layer(Vanishing(3), np.ones((1, 3)), num_coords=None)
    assert r.verdict == "WRONG" and not r.notes


def test_more_arguments_are_checked_before_any_work():
    layer, x = PlantedScale(2), np.ones((1, 2))
    with pytest.raises(ValueError, match="'hs' must be positive finite step sizes"):
        step_size_sweep(layer, x, hs=[1e-5, np.inf])
    with pytest.raises(TypeError, match="'loss' must be a loss with forward"):
        check_model(layer, "mse", x, np.zeros((1, 2)))
    # a seed may be None (fresh randomness) or a Generator as well as an int
    assert check_layer(layer, x, seed=None).passed
    assert check_layer(layer, x, seed=np.random.default_rng(3)).passed


def test_the_step_size_figure_shows_the_verdict_levels():
    from nn_scratch.gradcheck import plot_step_size_sweep
    sweep = step_size_sweep(PlantedScale(2), np.ones((1, 2)), hs=[1e-7, 1e-5, 1e-3])
    fig = plot_step_size_sweep(sweep)
    ax = fig.axes[0]
    levels = sorted(line.get_ydata()[0] for line in ax.get_lines() if len(set(line.get_ydata())) == 1)
    assert levels == [1e-7, 1e-4, 1e-2]                          # smooth pass, suspicious, wrong
    assert len(ax.get_legend().get_texts()) == 4


def test_the_default_sweep_spans_1e_12_to_1e_1_and_a_loss_needs_both_passes():
    sweep = step_size_sweep(PlantedScale(2), np.ones((1, 2)), num_coords=1)
    assert sweep.h[0] == pytest.approx(1e-12) and sweep.h[-1] == pytest.approx(0.1) and sweep.h.size == 23

    class ForwardOnly:
        def forward(self, scores, y):
            return scores.sum(axis=1)
    with pytest.raises(TypeError, match="'loss' must be a loss with forward"):
        check_loss(ForwardOnly(), np.ones((2, 2)), np.zeros(2))
