"""Schedules: documented values at the boundaries, composition, plateau rule (also for negative metrics)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn_scratch.layers import Parameter
from nn_scratch.optim import SGD
from nn_scratch.schedules import (ReduceOnPlateau, constant, cosine_decay, exponential_decay, inverse_time,
                                  join, linear, linear_warmup, one_cycle, step_decay)


def test_documented_values_at_the_boundaries():
    f = step_decay(1.0, 0.5, 10)
    assert (f(0), f(9), f(10), f(19), f(20)) == (1.0, 1.0, 0.5, 0.5, 0.25)
    assert exponential_decay(2.0, 0.1)(0) == 2.0
    assert exponential_decay(2.0, 0.1)(10) == pytest.approx(2.0 / math.e, rel=1e-15)
    assert exponential_decay(1.0, 0.01)(100 * math.log(2)) == pytest.approx(0.5)
    assert inverse_time(0.3, 0.5)(0) == 0.3 and inverse_time(0.3, 0.5)(2) == pytest.approx(0.15)
    c = cosine_decay(1.0, 100, final_value=0.1)
    assert (c(0), c(100), c(250)) == (1.0, 0.1, 0.1)
    assert c(50) == pytest.approx(0.55)
    w = linear_warmup(0.4, 8)
    assert (w(0), w(4), w(8), w(80)) == (0.0, 0.2, 0.4, 0.4)
    m = linear(0.5, 0.99, 20)           # the notes' momentum schedule
    assert (m(0), m(20), m(40)) == (0.5, 0.99, 0.99)
    assert constant(3.0)(12345) == 3.0


def test_one_cycle_rises_to_the_peak_then_falls_to_the_floor():
    f = one_cycle(1.0, 100, pct_start=0.3, div_factor=25, final_div_factor=1e4)
    values = f(np.arange(101))
    assert values[0] == 0.04 and values[30] == 1.0 and values[100] == 4e-6
    assert np.argmax(values) == 30
    assert np.all(np.diff(values[:31]) > 0) and np.all(np.diff(values[30:]) < 0)
    assert f(500) == 4e-6


def test_join_restarts_the_count_at_each_boundary():
    f = join([constant(1.0), linear(0.0, 1.0, 10), constant(7.0)], boundaries=[5, 15])
    assert f(4) == 1.0
    assert f(5) == 0.0            # linear read at 5 - 5 = 0
    assert f(10) == 0.5           # linear read at 5
    assert f(14) == pytest.approx(0.9)
    assert f(15) == 7.0
    # warm-up then cosine in one line, continuous at the boundary
    g = join([linear_warmup(0.1, 5), cosine_decay(0.1, 95)], [5])
    assert (g(0), g(5), g(100)) == (0.0, 0.1, 0.0)
    assert abs(g(5) - g(4)) < 0.03 and abs(g(6) - g(5)) < 1e-3


@settings(max_examples=25, deadline=None)
@given(t=st.lists(st.integers(0, 300), min_size=1, max_size=20))
def test_array_evaluation_equals_scalar_evaluation(t):
    schedules = [step_decay(0.1, 0.3, 7), exponential_decay(0.1, 0.01), inverse_time(0.1, 0.05),
                 cosine_decay(0.1, 150, 0.001), linear_warmup(0.1, 30), one_cycle(0.5, 200),
                 join([linear_warmup(0.1, 20), cosine_decay(0.1, 100)], [20])]
    for f in schedules:
        np.testing.assert_allclose(f(np.array(t)), [f(s) for s in t], rtol=1e-14, atol=0)


@settings(max_examples=25, deadline=None)
@given(a0=st.floats(1e-4, 10), k=st.floats(1e-4, 1), t=st.integers(0, 500))
def test_decays_never_increase_and_stay_positive(a0, k, t):
    for f in (step_decay(a0, 0.5, 10), exponential_decay(a0, k), inverse_time(a0, k), cosine_decay(a0, 300)):
        assert 0 <= f(t + 1) <= f(t) <= a0


def test_a_schedule_drives_the_optimizer():
    p = Parameter(np.zeros(1))
    opt = SGD([p], lr=step_decay(0.1, 0.1, 2))
    lrs = []
    for _ in range(5):
        lrs.append(opt.current_lr)
        p.grad[...] = 1.0
        opt.step()
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.01, 0.01, 0.001])
    assert p.value[0] == pytest.approx(-(0.2 + 0.02 + 0.001))


@pytest.mark.parametrize("call, match", [
    (lambda: step_decay(0.1, 0.5, 0), "'step_size'"),
    (lambda: exponential_decay(0.1, -1), "'k'"),
    (lambda: cosine_decay("big", 10), "'init_value'"),
    (lambda: join([constant(1)], [3]), "len\\(boundaries\\)"),
    (lambda: join([constant(1), constant(2), constant(3)], [5, 5]), "increasing"),
    (lambda: step_decay(0.1, 0.5, 2)(-1), "step count"),
    (lambda: one_cycle(1.0, 100, pct_start=1.5), "'pct_start'"),
    (lambda: ReduceOnPlateau(mode="auto"), "'mode'"),
    (lambda: ReduceOnPlateau(factor=1.0), "'factor'"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# -- ReduceOnPlateau --------------------------------------------------------------------------------------------
def test_plateau_patience_cooldown_and_min_lr():
    r = ReduceOnPlateau(1.0, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    seen = [r.observe(v) for v in [5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]]
    # best 4 at obs 2; bad 3,4 tolerated; obs 5 (3rd bad) cuts; obs 6 is cooldown; bad again 7,8, cut at 9
    assert seen == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    assert r.num_reductions == 2
    for _ in range(20):
        r.observe(4)
    assert r(0) == 0.2 and r.observe(4) == 0.2                # floor
    values = r(np.arange(3))                                   # an array of steps, like every schedule
    assert values.shape == (3,) and np.all(values == 0.2)
    assert r.num_reductions == 3                               # 0.5, 0.25, 0.2; cuts at the floor are skipped


def test_plateau_relative_threshold_uses_abs_best_for_negative_metrics():
    r = ReduceOnPlateau(1.0, factor=0.1, patience=0, threshold=1e-3, mode="min")
    r.observe(-10.0)
    # -9.995 is *worse* than -10; best * (1 - threshold) = -9.99 would have called it an improvement
    assert r.observe(-9.995) == pytest.approx(0.1)
    r2 = ReduceOnPlateau(1.0, factor=0.1, patience=0, threshold=1e-3, mode="min")
    r2.observe(-10.0)
    assert r2.observe(-10.005) == pytest.approx(0.1) and r2.best == -10.0   # better by < 0.1%: a plateau
    r3 = ReduceOnPlateau(1.0, factor=0.1, patience=0, threshold=1e-3)
    r3.observe(-10.0)
    assert r3.observe(-10.02) == 1.0 and r3.best == -10.02        # better by 0.2%: a new best


def test_plateau_abs_threshold_max_mode_and_nan():
    r = ReduceOnPlateau(0.1, factor=0.5, patience=0, threshold=0.01, mode="max", threshold_mode="abs")
    r.observe(0.90)
    assert r.observe(0.915) == 0.1 and r.best == 0.915
    assert r.observe(0.92) == 0.05                                 # +0.005 < 0.01: not an improvement
    assert r.observe(float("nan")) == 0.025                        # NaN never improves


@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.floats(-100, 100), min_size=1, max_size=30), c=st.sampled_from([0.25, 2.0, 1024.0]),
       patience=st.integers(0, 3), cooldown=st.integers(0, 2))
def test_plateau_is_symmetric_in_sign_and_invariant_to_scale(values, c, patience, cooldown):
    def run(vals, mode):
        r = ReduceOnPlateau(1.0, factor=0.5, patience=patience, cooldown=cooldown, threshold=1e-2, mode=mode)
        return [r.observe(v) for v in vals]
    base = run(values, "min")
    assert run([-v for v in values], "max") == base              # minimizing v == maximizing -v
    assert run([c * v for v in values], "min") == base           # relative threshold: units do not matter


def test_plateau_as_the_optimizer_rate_on_top_of_a_schedule():
    plateau = ReduceOnPlateau(step_decay(0.1, 0.5, 3), factor=0.1, patience=0)
    p = Parameter(np.zeros(1))
    opt = SGD([p], lr=plateau)
    assert opt.current_lr == 0.1
    plateau.observe(1.0)
    plateau.observe(2.0)                                         # worse -> cut by 10
    assert opt.current_lr == pytest.approx(0.01)
    for _ in range(3):
        p.grad[...] = 1.0
        opt.step()
    assert opt.current_lr == pytest.approx(0.005)               # the step decay still applies underneath
    assert plateau.observe(3.0) == pytest.approx(0.0005)       # observe reports the rate at the last step read
    state = plateau.state_dict()
    fresh = ReduceOnPlateau(step_decay(0.1, 0.5, 3), factor=0.1, patience=0)
    fresh.load_state_dict(state)
    assert fresh(3) == plateau(3) and fresh.best == plateau.best == 1.0


# -- tutorial 04 --------------------------------------------------------------------------------------------------
def test_tutorial_04_learning_rate_schedules(run_tutorial):
    out, figdir = run_tutorial("04_learning_rate_schedules.py")
    for name in ("04_schedules.png", "04_lr_range_test.png", "04_plateau.png"):
        assert (figdir / name).exists(), name
    values = dict(line.split("=", 1) for line in out.splitlines() if line.startswith("RESULT "))
    suggested = float(values["RESULT suggested_lr"])
    assert 1e-5 < suggested < 10
    assert values["RESULT weights_restored"].strip() == "True"
    assert int(values["RESULT plateau_cuts"]) >= 1
    assert float(values["RESULT final_val_acc"]) > 0.85
