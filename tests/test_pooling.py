"""MaxPool2D: forward against a direct loop, gradients, the winners (kink record), ties, errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import assert_layer_gradients
from nn_scratch.gradcheck import check_layer
from nn_scratch.layers import MaxPool2D

SETTINGS = settings(max_examples=20, deadline=None)


def loop_pool(x, k, s):
    N, C, H, W = x.shape
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    y = np.zeros((N, C, Ho, Wo))
    arg = np.zeros((N, C, Ho, Wo), dtype=int)
    for n in range(N):
        for c in range(C):
            for h in range(Ho):
                for w in range(Wo):
                    window = x[n, c, h * s:h * s + k, w * s:w * s + k]
                    y[n, c, h, w] = window.max()
                    arg[n, c, h, w] = np.argmax(window)       # first maximum, row-major: offset i*k + j
    return y, arg


pool_cases = st.fixed_dictionaries(dict(
    N=st.integers(1, 2), C=st.integers(1, 3), H=st.integers(1, 7), W=st.integers(1, 7),
    k=st.integers(1, 3), stride=st.one_of(st.none(), st.integers(1, 3)), seed=st.integers(0, 2**31))
).filter(lambda c: c["H"] >= c["k"] and c["W"] >= c["k"])


@SETTINGS
@given(pool_cases)
def test_forward_and_winners_match_direct_loop(c):
    rng = np.random.default_rng(c["seed"])
    x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"]))
    layer = MaxPool2D(c["k"], c["stride"])
    y = layer.forward(x)
    expected, arg = loop_pool(x, c["k"], c["stride"] or c["k"])
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(layer.winners, arg)


@SETTINGS
@given(pool_cases)
def test_gradients_match_centered_differences(c):
    rng = np.random.default_rng(c["seed"])
    # distinct values spaced far more than the step h, so no perturbation crosses a kink
    x = rng.permutation(c["N"] * c["C"] * c["H"] * c["W"]).reshape(c["N"], c["C"], c["H"], c["W"]) * 0.1
    assert_layer_gradients(MaxPool2D(c["k"], c["stride"]), x, rng)


def test_gradient_goes_to_the_winner_only():
    x = np.array([[[[1., 5., 2., 0.],
                    [3., 4., 9., 8.]]]])
    layer = MaxPool2D(2)
    np.testing.assert_array_equal(layer.forward(x), [[[[5., 9.]]]])
    dx = layer.backward(np.array([[[[10., 20.]]]]))
    np.testing.assert_array_equal(dx, [[[[0., 10., 0., 0.], [0., 0., 20., 0.]]]])


def test_ties_give_one_winner_per_window():
    layer = MaxPool2D(2, stride=1)                      # overlapping windows, all values equal
    x = np.ones((1, 1, 3, 3), dtype=np.float32)
    y = layer.forward(x)
    np.testing.assert_array_equal(layer.winners, 0)     # the first (top-left) entry wins each window
    dx = layer.backward(np.ones_like(y))
    assert dx.sum() == y.size                           # each window's gradient sent exactly once
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    # the documented rule: the leftmost tied column, then its topmost entry -> (row 1, col 0) = offset 2
    layer = MaxPool2D(2)
    layer.forward(np.array([[[[0.0, 1.0], [1.0, 0.0]]]]))
    assert layer.winners[0, 0, 0, 0] == 2
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1)))[0, 0], [[0, 0], [1, 0]])


def test_winners_record_a_crossed_kink():
    # a centered difference whose two sides pick different winners must be visible to the checker
    layer = MaxPool2D(2)
    x = np.array([[[[1.0, 1.0 + 1e-7], [0.0, 0.0]]]])
    h = 1e-6
    x_plus, x_minus = x.copy(), x.copy()
    x_plus[0, 0, 0, 0] += h
    x_minus[0, 0, 0, 0] -= h
    layer.forward(x_plus)
    w_plus = layer.winners.copy()
    layer.forward(x_minus)
    assert not np.array_equal(w_plus, layer.winners)
    layer.forward(x_plus + 1)                            # same side of the kink: same record
    np.testing.assert_array_equal(layer.winners, w_plus)


def test_dtype_is_kept():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    layer = MaxPool2D(2)
    y = layer.forward(x)
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


def test_bad_arguments():
    with pytest.raises(ValueError, match="'pool_size'"):
        MaxPool2D(0)
    with pytest.raises(ValueError, match="'stride'"):
        MaxPool2D(2, stride=0)
    with pytest.raises(ValueError, match="smaller than the pool window"):
        MaxPool2D(3).forward(np.zeros((1, 1, 2, 5)))
    with pytest.raises(ValueError, match="4 dimensions"):
        MaxPool2D(2).forward(np.zeros((4, 4)))


def test_gradient_checker_sees_the_kinks_at_ties():
    # every window holds a tie: moving one entry by +-h changes the winner, which the checker must notice
    x = np.zeros((1, 2, 4, 4))
    report = check_layer(MaxPool2D(2), x, num_coords=None)
    assert report.kinks > 0
    assert report["x (input)"].kinks == report.kinks
    clean = check_layer(MaxPool2D(2), np.arange(32.0).reshape(1, 2, 4, 4), num_coords=None)
    assert clean.kinks == 0 and clean.passed
