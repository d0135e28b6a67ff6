"""nn_scratch.data.synthetic: shapes, determinism for a seed, and the property each set is built to have."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from nn_scratch.data import (make_gaussians, make_rectangles, make_sinusoid, make_sinusoid_classification,
                             make_sinusoid_regression, make_spiral)

MAKERS = [
    (make_spiral, dict(n_per_class=20)),
    (make_gaussians, dict(n=30)),
    (make_sinusoid_regression, dict(n=25)),
    (make_sinusoid_classification, dict(n=25, label_noise=0.2)),
    (make_rectangles, dict(n=12)),
]


@pytest.mark.parametrize("make, kwargs", MAKERS)
def test_same_seed_same_data_other_seed_other_data(make, kwargs):
    a = make(**kwargs, seed=7)
    b = make(**kwargs, seed=7)
    c = make(**kwargs, seed=8)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])
    g = np.random.default_rng(7)                         # a Generator works too and advances
    d, e = make(**kwargs, seed=g), make(**kwargs, seed=g)
    assert not np.array_equal(d[0], e[0])


@pytest.mark.parametrize("make, kwargs", MAKERS)
def test_dtype_option(make, kwargs):
    X, y = make(**kwargs, seed=0, dtype=np.float64)
    assert X.dtype == np.float64
    assert make(**kwargs, seed=0)[0].dtype == np.float32
    with pytest.raises(TypeError, match="'dtype'"):
        make(**kwargs, dtype=np.int64)


def test_spiral_matches_the_recipe():
    X, y = make_spiral(100, 3, noise=0.0, seed=0)
    assert X.shape == (300, 2) and y.shape == (300,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [100, 100, 100]
    r = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(r[:100], np.linspace(0, 1, 100), atol=1e-6)   # radius grows 0 -> 1
    # without noise, the angle is 4k + 4r (measured from the y axis: x = r sin t, y = r cos t)
    i = 250                                                 # class 2, r = 50/99
    t = 8 + 4 * (50 / 99)
    np.testing.assert_allclose(X[i], [r[i] * np.sin(t), r[i] * np.cos(t)], atol=1e-6)
    Xn, _ = make_spiral(100, 3, noise=0.2, seed=0)
    np.testing.assert_allclose(np.linalg.norm(Xn, axis=1), r, atol=1e-6)    # noise moves the angle only
    assert np.abs(Xn - X).max() > 0.05


def test_spiral_is_not_linearly_separable():
    X, y = make_spiral(100, 3, seed=0, dtype=np.float64)
    A = np.c_[X, np.ones(len(X))]
    W, *_ = np.linalg.lstsq(A, np.eye(3)[y], rcond=None)   # best linear least-squares classifier
    acc = np.mean(np.argmax(A @ W, axis=1) == y)
    assert acc < 0.65                                        # a linear model cannot solve it


def test_gaussians_means_spread_and_balance():
    X, y = make_gaussians(4000, dim=3, separation=4.0, std=0.5, seed=1, dtype=np.float64)
    assert X.shape == (4000, 3) and np.bincount(y).tolist() == [2000, 2000]
    m0, m1 = X[y == 0].mean(0), X[y == 1].mean(0)
    assert abs(np.linalg.norm(m1 - m0) - 4.0) < 0.1
    np.testing.assert_allclose(m1 - m0, 4.0 / np.sqrt(3) * np.ones(3), atol=0.1)
    np.testing.assert_allclose(X[y == 0].std(0), 0.5, atol=0.03)
    X, y = make_gaussians(7, seed=0)
    assert np.bincount(y).tolist() == [3, 4]


def test_sinusoid_noise_level():
    X, t = make_sinusoid_regression(5000, noise=0.3, seed=2, dtype=np.float64)
    assert X.shape == (5000, 1) and t.shape == (5000,)
    assert -np.pi <= X.min() and X.max() <= np.pi
    resid = t - np.sin(X[:, 0])
    assert abs(resid.std() - 0.3) < 0.02 and abs(resid.mean()) < 0.02
    X0, t0 = make_sinusoid_regression(50, noise=0.0, seed=2)
    np.testing.assert_allclose(t0, np.sin(X0[:, 0]), atol=1e-6)
    with pytest.raises(ValueError, match="'high' must be > 'low'"):
        make_sinusoid_regression(10, low=1.0, high=0.0)


def test_make_sinusoid_is_a_deprecated_alias_of_the_regression_set():
    with pytest.warns(DeprecationWarning, match="make_sinusoid_regression"):
        X, t = make_sinusoid(20, seed=3)
    X2, t2 = make_sinusoid_regression(20, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(t, t2)


def test_sinusoid_classification_labels_follow_the_sine_boundary():
    X, y = make_sinusoid_classification(4000, seed=0, dtype=np.float64)
    assert X.shape == (4000, 2) and y.dtype == np.int64
    assert X.min() >= 0 and X.max() <= 1
    above = X[:, 1] > 0.5 + 0.25 * np.sin(2 * np.pi * X[:, 0])
    np.testing.assert_array_equal(y, above.astype(int))
    assert 0.45 < y.mean() < 0.55
    # not linearly separable: the best line through the data (least squares) misclassifies > 10 %
    A = np.c_[X, np.ones(len(X))]
    w = np.linalg.lstsq(A, 2.0 * y - 1, rcond=None)[0]
    assert np.mean((A @ w > 0) != y) > 0.1


@pytest.mark.parametrize("make, kwargs, K", [
    (make_sinusoid_classification, dict(n=20_000), 2),
    (make_gaussians, dict(n=20_000), 2),
    (make_spiral, dict(n_per_class=7000, n_classes=3), 3),
])
def test_label_noise_flips_that_fraction_and_keeps_the_inputs(make, kwargs, K):
    X0, y0 = make(**kwargs, seed=5, label_noise=0.0)
    X1, y1 = make(**kwargs, seed=5, label_noise=0.25)
    np.testing.assert_array_equal(X0, X1)                 # same inputs: only labels change
    flipped = y1 != y0
    assert abs(flipped.mean() - 0.25) < 0.015
    assert set(np.unique(y1)) == set(range(K))
    if K == 3:                                            # a replaced label goes to each other class alike
        other = (y1[flipped] - y0[flipped]) % 3
        assert abs(np.mean(other == 1) - 0.5) < 0.04


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.integers(9, 24), max_count=st.integers(1, 9))
def test_rectangles_target_is_the_number_of_separate_rectangles(seed, size, max_count):
    g = int(np.ceil(np.sqrt(max_count)))
    if size // g < 3:
        with pytest.raises(ValueError, match="'size'"):
            make_rectangles(5, size=size, max_count=max_count, seed=seed)
        return
    X, t = make_rectangles(30, size=size, max_count=max_count, seed=seed)
    assert X.shape == (30, size, size) and t.shape == (30,)
    assert set(np.unique(X)) <= {0.0, 1.0}
    assert t.min() >= 1 and t.max() <= max_count
    # 8-connected components: rectangles neither overlap nor touch, so each is one component
    counts = [ndimage.label(x, structure=np.ones((3, 3)))[1] for x in X]
    np.testing.assert_array_equal(counts, t)
    # each component is a filled rectangle: its pixel count equals its bounding-box area
    lab, n = ndimage.label(X[0], structure=np.ones((3, 3)))
    for sl, k in zip(ndimage.find_objects(lab), range(1, n + 1)):
        assert (lab[sl] == k).all()


def test_rectangles_count_distribution_noise_and_flatten():
    X, t = make_rectangles(3000, size=16, max_count=4, min_count=0, seed=0)
    counts = np.bincount(t.astype(int), minlength=5)
    assert counts.min() > 500 and len(counts) == 5             # roughly uniform over 0..4
    Xn, tn = make_rectangles(50, size=16, max_count=4, seed=0, noise=0.1, flatten=True)
    assert Xn.shape == (50, 256)
    Xc, tc = make_rectangles(50, size=16, max_count=4, seed=0, flatten=True)
    np.testing.assert_array_equal(tn, tc)
    assert 0.08 < (Xn - Xc).std() < 0.12


@pytest.mark.parametrize("call, err, pattern", [
    (lambda: make_spiral(1), ValueError, "'n_per_class' must be >= 2"),
    (lambda: make_spiral(10, n_classes=2.0), TypeError, "'n_classes'"),
    (lambda: make_spiral(10, noise=-1), ValueError, "'noise' must be >= 0"),
    (lambda: make_gaussians(10, std="1"), TypeError, "'std'"),
    (lambda: make_sinusoid_regression(0), ValueError, "'n' must be >= 1"),
    (lambda: make_sinusoid_classification(10, label_noise=1.5), ValueError, "'label_noise' must be in"),
    (lambda: make_gaussians(10, label_noise=-0.1), ValueError, "'label_noise' must be >= 0"),
    (lambda: make_sinusoid_classification(10, amplitude=0.7), ValueError, "'amplitude'"),
    (lambda: make_rectangles(5, max_count=3, min_count=4), ValueError, "'min_count'"),
    (lambda: make_rectangles(5, size=8, max_count=16), ValueError, "'size'=8 is too small"),
    (lambda: make_rectangles(5, seed="x"), TypeError, "'seed'"),
])
def test_bad_arguments(call, err, pattern):
    with pytest.raises(err, match=pattern):
        call()
