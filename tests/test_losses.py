"""Losses: hand-worked values, chance levels, stability, per-sample shape, conventions and bad input."""
import numpy as np
import pytest

from nn_scratch.layers import Linear, Parameter
from nn_scratch.losses import L2, MSE, Flooding, MulticlassSVM, SoftmaxCrossEntropy


def test_softmax_ce_by_hand():
    # scores [0, ln 3] for label 1: p = [1/4, 3/4]; L = -ln(3/4)
    loss = SoftmaxCrossEntropy()
    L = loss.forward(np.array([[0.0, np.log(3.0)], [0.0, 0.0]]), np.array([1, 0]))
    np.testing.assert_allclose(L, [-np.log(0.75), np.log(2)])
    # gradient of the mean: (p - onehot) / N
    np.testing.assert_allclose(loss.backward(), [[0.25 / 2, -0.25 / 2], [-0.5 / 2, 0.5 / 2]])


@pytest.mark.parametrize("C", [2, 3, 10, 100])
def test_softmax_ce_at_chance_is_ln_c(C):
    L = SoftmaxCrossEntropy().forward(np.zeros((4, C)), np.arange(4) % C)
    np.testing.assert_allclose(L, np.log(C))
    if C == 10:
        assert round(float(L[0]), 3) == 2.303       # the notes' 2.302 for CIFAR-10


def test_softmax_ce_stable_at_extreme_logits():
    loss = SoftmaxCrossEntropy()
    L = loss.forward(np.array([[1000.0, -1000.0], [1000.0, -1000.0]]), np.array([0, 1]))
    np.testing.assert_allclose(L, [0.0, 2000.0])      # exact, not inf or nan
    assert np.all(np.isfinite(loss.backward()))


def test_svm_by_hand():
    # scores [3, 1, 2.5], y = 0: margins 1-3+1 = -1 -> 0, 2.5-3+1 = 0.5 -> L = 0.5
    # scores [1, 2, 1], y = 2: margins 1-1+1 = 1, 2-1+1 = 2 -> L = 3
    loss = MulticlassSVM()
    L = loss.forward(np.array([[3.0, 1.0, 2.5], [1.0, 2.0, 1.0]]), np.array([0, 2]))
    np.testing.assert_allclose(L, [0.5, 3.0])
    np.testing.assert_allclose(loss.backward(), np.array([[-1, 0, 1], [1, 1, -2]]) / 2)
    np.testing.assert_array_equal(loss.winners, [[False, False, True], [True, True, False]])


def test_svm_at_chance_is_c_minus_one_times_margin():
    np.testing.assert_allclose(MulticlassSVM().forward(np.zeros((3, 10)), [0, 4, 9]), 9.0)
    np.testing.assert_allclose(MulticlassSVM(margin=2.0).forward(np.zeros((3, 5)), [0, 1, 2]), 8.0)


def test_mse_by_hand_matches_elementwise_mean():
    s = np.array([[1.0, 2.0], [0.0, 0.0]])
    t = np.array([[0.0, 0.0], [1.0, 3.0]])
    loss = MSE()
    L = loss.forward(s, t)
    np.testing.assert_allclose(L, [(1 + 4) / 2, (1 + 9) / 2])   # per-sample mean over outputs
    assert loss.reduce(L) == pytest.approx(np.mean((s - t) ** 2))
    np.testing.assert_allclose(loss.backward(), 2 * (s - t) / 4)
    # (N,) targets for (N, 1) scores
    np.testing.assert_allclose(MSE().forward(np.array([[1.0], [2.0]]), np.array([0.0, 0.0])), [1.0, 4.0])


def test_l2_convention_is_half_reg_sum_squares():
    W = Parameter(np.array([[1.0, -2.0]]), "W")
    b = Parameter(np.array([5.0]), "b", regularize=False)
    reg = L2(0.1)
    # 0.5 * 0.1 * (1 + 4) = 0.25; the bias is not penalized
    assert reg.penalty([W, b]) == pytest.approx(0.25)
    W.grad[...] = 1.0
    reg.backward([W, b])
    np.testing.assert_allclose(W.grad, [[1.1, 0.8]])               # adds reg * W
    np.testing.assert_array_equal(b.grad, [0.0])
    layer = Linear(3, 2)
    assert L2(0.0).penalty(layer.parameters()) == 0.0
    with pytest.raises(ValueError, match="reg"):
        L2(-1)


def test_flooding_flips_sign_below_level():
    scores = np.array([[2.0, 0.0], [0.0, 2.0]])
    y = np.array([0, 1])
    plain = SoftmaxCrossEntropy()
    plain.forward(scores, y)
    g = plain.backward()
    J = np.log(1 + np.exp(-2.0))                       # ~0.127, the same for both samples
    above = Flooding(SoftmaxCrossEntropy(), level=0.05)
    L = above.forward(scores, y)
    np.testing.assert_allclose(L, J)                   # per-sample values are the plain ones
    assert above.reduce(L) == pytest.approx(J)
    np.testing.assert_allclose(above.backward(), g)
    below = Flooding(SoftmaxCrossEntropy(), level=0.5)
    L = below.forward(scores, y)
    assert below.reduce(L) == pytest.approx(abs(J - 0.5) + 0.5)
    np.testing.assert_allclose(below.backward(), -g)   # gradient ascent below the flood level
    assert (below.below_count, below.calls) == (1, 1)


@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy(), MulticlassSVM()])
def test_classification_bad_input(loss):
    with pytest.raises(ValueError, match=r"labels 'y' must be in \[0, 2\].*\[0, 3\]"):
        loss.forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"'y' has 3 labels but 'scores' has 2 rows"):
        loss.forward(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="NaN or inf"):
        loss.forward(np.array([[0.0, np.nan, 1.0]]), np.array([0]))
    with pytest.raises(ValueError, match="must have 2 dimensions, got 1"):
        loss.forward(np.zeros(3), np.array([0]))
    with pytest.raises(TypeError, match="integer class indices"):
        loss.forward(np.zeros((1, 3)), np.array([0.5]))


def test_mse_bad_input():
    with pytest.raises(ValueError, match=r"shape of 'scores' \(2, 2\), got \(2, 3\)"):
        MSE().forward(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN or inf"):
        MSE().forward(np.zeros((2, 1)), np.array([np.inf, 0.0]))


def test_losses_keep_float32():
    s = np.zeros((3, 4), dtype=np.float32)
    for loss, y in [(SoftmaxCrossEntropy(), [0, 1, 2]), (MulticlassSVM(), [0, 1, 2]),
                    (MSE(), np.zeros((3, 4), np.float32))]:
        assert loss.forward(s, y).dtype == np.float32
        assert loss.backward().dtype == np.float32
