"""Behaviour that mutation testing found unpinned (``tests/mutation/mutate.py``): each test states what a user
relies on, at the inputs where a small slip in the code would show (mixed signs, values in (0, 1), edge
arguments, several parameter tensors)."""
import numpy as np
import pytest

from nn_scratch.layers import Dropout, LeakyReLU, Linear, Parameter, ReLU, Sequential, Tanh
from nn_scratch.losses import L2, MSE, Flooding, MulticlassSVM, SoftmaxCrossEntropy
from nn_scratch.optim import SGD, Adagrad, Adam, RMSprop, lbfgs
from nn_scratch.schedules import cosine_decay, linear, one_cycle, step_decay


# -- losses ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy(), MulticlassSVM()], ids=["softmax", "svm"])
@pytest.mark.parametrize("y", [[-1, 0, 1], [0, 1, -2]])
def test_negative_labels_are_rejected_not_wrapped_around(loss, y):
    # -1 would silently index the last class
    with pytest.raises(ValueError, match=r"labels 'y' must be in \[0, 2\]"):
        loss.forward(np.zeros((3, 3)), np.array(y))


def test_mse_targets_of_shape_n_against_scores_n_by_1():
    s = np.array([[1.0], [2.0], [-1.0]])
    t = np.array([0.5, 2.5, 1.0])
    loss = MSE()
    per = loss.forward(s, t)
    np.testing.assert_allclose(per, [0.25, 0.25, 4.0])            # not an (N, N) broadcast
    d = loss.backward()
    assert d.shape == (3, 1)
    np.testing.assert_allclose(d, 2 * (s - t[:, None]) / 3)
    assert loss.reduce(per) == pytest.approx(1.5)


def test_l2_with_reg_one_adds_exactly_the_weights():
    W = Parameter(np.array([[-2.0, 0.5], [3.0, -0.1]]), "W")
    b = Parameter(np.array([1.0, -1.0]), "b", regularize=False)
    W.grad[...] = 0.25
    L2(1.0).backward([W, b])
    np.testing.assert_allclose(W.grad, 0.25 + W.value)
    np.testing.assert_array_equal(b.grad, 0.0)
    assert L2(1.0).penalty([W, b]) == pytest.approx(0.5 * (4 + 0.25 + 9 + 0.01))


def test_flooded_svm_exposes_the_hinge_winners_and_the_side_of_b():
    svm = MulticlassSVM()
    flood = Flooding(svm, level=5.0)
    scores = np.array([[2.0, 1.5, -1.0], [0.0, 0.3, 2.0]])
    flood.forward(scores, np.array([0, 1]))
    assert flood.winners[0] == np.False_                            # mean below b = 5
    np.testing.assert_array_equal(flood.winners[1:], svm.winners.ravel())
    assert svm.winners.sum() == 3


# -- layers ------------------------------------------------------------------------------------------------
def test_leaky_relu_between_zero_and_one():
    x = np.array([[0.5, -0.5, 0.01, 2.0, -3.0]])
    layer = LeakyReLU(0.1)
    np.testing.assert_allclose(layer.forward(x), [[0.5, -0.05, 0.01, 2.0, -0.3]])
    np.testing.assert_allclose(layer.backward(np.full_like(x, 2.0)), [[2.0, 0.2, 2.0, 2.0, 0.2]])
    np.testing.assert_allclose(ReLU().forward(x), [[0.5, 0.0, 0.01, 2.0, 0.0]])


def test_leaky_relu_default_slope_and_its_range():
    np.testing.assert_allclose(LeakyReLU().forward(np.array([-2.0, 3.0])), [-0.02, 3.0])   # alpha = 0.01
    np.testing.assert_array_equal(LeakyReLU(0.0).forward(np.array([-2.0, 3.0])), [0.0, 3.0])  # 0: a ReLU
    with pytest.raises(ValueError, match="'alpha'"):
        LeakyReLU(1.0)                                        # 1 would be the identity, not a leak


def test_dropout_default_drops_half_and_doubles_the_rest():
    layer = Dropout(rng=0)
    assert repr(layer) == "Dropout(drop_prob=0.5)"
    y = layer.forward(np.ones((100, 100)))
    assert set(np.unique(y)) == {0.0, 2.0}
    assert abs(np.mean(y == 0) - 0.5) < 0.02


def test_dropout_zero_is_allowed_and_is_the_identity_in_training():
    layer = Dropout(0.0, rng=0)
    x = np.array([[1.0, -2.0, 3.0]])
    assert layer.training
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)


# -- optimizers ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("wd", [0.3, 1.0])
def test_weight_decay_on_weights_of_mixed_sign_and_magnitude(wd):
    W = Parameter(np.array([[-2.0, 0.5], [3.0, -0.1]]), "W")
    b = Parameter(np.array([1.5, -4.0]), "b", regularize=False)
    g = np.array([[0.2, -0.4], [0.1, 0.3]])
    W.grad[...], b.grad[...] = g, 1.0
    W0 = W.value.copy()
    SGD([W, b], lr=0.1, weight_decay=wd).step()
    np.testing.assert_allclose(W.value, W0 - 0.1 * (g + wd * W0))
    np.testing.assert_allclose(b.value, [1.4, -4.1])               # biases are not decayed


def test_adam_weight_decay_enters_the_gradient():
    # coupled L2 (not AdamW): on the first step Adam moves each coordinate by lr * sign(g + wd * x)
    W = Parameter(np.array([-2.0, 0.5, 3.0]), "W")
    W.grad[...] = np.array([0.5, 0.1, -1.0])                      # g + 1.0 * x = [-1.5, 0.6, 2.0]
    Adam([W], lr=0.01, weight_decay=1.0).step()
    np.testing.assert_allclose(W.value, [-2.0 + 0.01, 0.5 - 0.01, 3.0 - 0.01], atol=1e-7)


def test_a_chain_built_by_hand_is_classic_momentum_by_default():
    from nn_scratch.optim import Momentum, Optimizer, ScaleByLearningRate
    a, b = Parameter(np.array([1.0, -2.0]), "a"), Parameter(np.array([1.0, -2.0]), "b")
    by_hand = Optimizer([a], [ScaleByLearningRate(None), Momentum(0.9)], lr=0.1)
    sgd = SGD([b], lr=0.1, momentum=0.9)
    assert np.isnan(by_hand.last_grad_norm)                      # no step measured yet
    for g in ([0.5, 1.0], [-0.3, 0.2], [0.1, 0.1]):
        a.grad[...] = b.grad[...] = g
        by_hand.step()
        sgd.step()
    np.testing.assert_array_equal(a.value, b.value)
    assert by_hand.last_grad_norm == pytest.approx(np.sqrt(0.02))
    assert repr(sgd) == "SGD(lr=0.1, t=3, 1 parameters)"


@pytest.mark.parametrize("make, name", [
    (lambda p: SGD(p, lr=0.1, clip_norm=lambda t: 1.0), "clip_norm"),
    (lambda p: Adam(p, eps=lambda t: 1e-8), "eps"),
    (lambda p: RMSprop(p, lr=0.1, decay=lambda t: 0.9), "decay"),
    (lambda p: Adagrad(p, lr=0.1, eps=lambda t: 1e-8), "eps")])
def test_only_the_rate_momentum_and_weight_decay_may_be_schedules(make, name):
    with pytest.raises(TypeError, match=f"'{name}' must be a number"):
        make([Parameter(np.zeros(2))])


@pytest.mark.parametrize("make, name", [
    (lambda p: Adam(p, beta1=1.0), "beta1"), (lambda p: Adam(p, beta2=1.0), "beta2"),
    (lambda p: SGD(p, lr=0.1, momentum=1.0), "momentum"), (lambda p: RMSprop(p, lr=0.1, decay=1.0), "decay")])
def test_decay_rates_of_one_are_refused(make, name):
    # a rate of 1 never forgets: Adam's bias correction divides by 1 - 1^k = 0
    with pytest.raises(ValueError, match=f"'{name}'"):
        make([Parameter(np.zeros(2))])


def test_lbfgs_on_a_model_with_several_parameter_tensors_reaches_the_least_squares_optimum():
    # a linear network (two Linear layers: four tensors) represents every affine map 3 -> 2, so its best
    # mean squared error is the least-squares one that scipy's lstsq finds
    from scipy.linalg import lstsq
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    T = X @ rng.normal(size=(3, 2)) + np.array([0.5, -1.0]) + 0.2 * rng.normal(size=(40, 2))
    model = Sequential([Linear(3, 4, rng=0, dtype=np.float64), Linear(4, 2, rng=1, dtype=np.float64)])
    res = lbfgs(model, MSE(), X, T)
    A = np.hstack([X, np.ones((40, 1))])
    coef = lstsq(A, T)[0]
    best = np.mean((A @ coef - T) ** 2)
    assert res.loss == pytest.approx(best, rel=1e-7)
    np.testing.assert_allclose(model.forward(X), A @ coef, atol=1e-4)


def test_lbfgs_with_a_hidden_nonlinearity_lowers_the_loss_and_writes_every_tensor_back():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 3))
    T = np.sin(X[:, :2])
    model = Sequential([Linear(3, 5, rng=0, dtype=np.float64), Tanh(), Linear(5, 2, rng=1, dtype=np.float64)])
    start = [p.value.copy() for p in model.parameters()]
    before = MSE().reduce(MSE().forward(model.forward(X), T))
    res = lbfgs(model, MSE(), X, T, maxiter=200)
    assert res.loss < 0.2 * before
    assert all(not np.array_equal(p.value, s) for p, s in zip(model.parameters(), start))
    assert MSE().reduce(MSE().forward(model.forward(X), T)) == pytest.approx(res.loss, rel=1e-9)


# -- schedules at their edge arguments ------------------------------------------------------------------
def test_one_cycle_with_the_rise_clamped_to_its_ends():
    late = one_cycle(1.0, 10, pct_start=0.99)          # round(9.9) = 10 steps of rise: clamped to 9
    assert late(9) == pytest.approx(1.0) and late(8) < 1.0
    assert late(10) == pytest.approx(1.0 / (25 * 1e4)) == late(50)
    early = one_cycle(2.0, 10, pct_start=0.01)         # round(0.1) = 0 steps: clamped to 1
    assert early(0) == pytest.approx(2.0 / 25) and early(1) == pytest.approx(2.0)
    shortest = one_cycle(1.0, 2)
    assert [shortest(t) for t in (0, 1, 2)] == pytest.approx([1 / 25, 1.0, 1 / 25e4])


def test_decays_at_their_first_and_last_steps():
    assert step_decay(1.0, 0.5, 1)(0) == 1.0 and step_decay(1.0, 0.5, 1)(3) == 0.125
    assert cosine_decay(2.0, 1)(0) == 2.0 and cosine_decay(2.0, 1)(1) == 0.0
    assert cosine_decay(2.0, 4, 0.5)(2) == pytest.approx(1.25)
    assert linear(0.5, 0.99, 1)(1) == pytest.approx(0.99) and linear(0.5, 0.99, 2)(1) == pytest.approx(0.745)


def test_labels_must_be_one_whole_number_per_row():
    scores = np.zeros((2, 3))
    with pytest.raises(ValueError, match="must be a 1-D array of class indices"):
        SoftmaxCrossEntropy().forward(scores, np.array([[0], [1]]))
    with pytest.raises(TypeError, match="must hold integer class indices"):
        SoftmaxCrossEntropy().forward(scores, np.array([0.0, 1.5]))            # one label is not whole
    per = SoftmaxCrossEntropy().forward(scores, np.array([0.0, 2.0]))           # whole floats are labels
    np.testing.assert_allclose(per, np.log(3))


def test_a_loss_is_callable_and_the_base_class_is_abstract():
    from nn_scratch.losses import Loss
    s, y = np.array([[2.0, 0.0]]), np.array([0])
    assert SoftmaxCrossEntropy()(s, y) == pytest.approx(SoftmaxCrossEntropy().forward(s, y))
    with pytest.raises(NotImplementedError):
        Loss().forward(s, y)
    with pytest.raises(NotImplementedError):
        Loss().backward()


def test_mse_refuses_non_numeric_targets():
    with pytest.raises(TypeError, match="targets 'y' must be numeric"):
        MSE().forward(np.zeros((2, 1)), np.array(["a", "b"]))


def test_flooding_exactly_at_the_level_descends_and_is_not_below():
    s, t = np.array([[1.0], [3.0]]), np.array([0.0, 2.0])          # per-sample losses 1 and 1: J = 1
    plain = MSE()
    plain.forward(s, t)
    flood = Flooding(MSE(), level=1.0)
    flood.forward(s, t)
    assert flood.reduce(flood.loss.forward(s, t)) == 1.0
    np.testing.assert_array_equal(flood.backward(), plain.backward())      # J == b: plain descent
    assert flood.below_count == 0 and flood.winners[0] == np.True_        # on the "descend" side of the kink


# -- weight initialization -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, scheme, std", [
    ((400, 300), "he", np.sqrt(2 / 400)), ((400, 300), "xavier", np.sqrt(2 / 700)),
    ((400, 300), "gaussian", 0.01),                        # the default weight_scale
    ((20, 10, 300), "he", np.sqrt(2 / 200)),                # fan_in: every axis but the last
    ((20, 10, 300), "xavier", np.sqrt(2 / 500)),            # fan_out: the last axis
    ((50000,), "he", np.sqrt(2 / 50000))])                  # 1-D: fan_in = fan_out = the length
def test_init_scales(shape, scheme, std):
    from nn_scratch.layers.linear import init_weights
    W = init_weights(shape, scheme, rng=0)
    assert W.shape == shape and abs(W.mean()) < 0.05 * std
    assert W.std() == pytest.approx(std, rel=0.03)


def test_init_by_callable_and_the_linear_defaults():
    from nn_scratch.layers.linear import init_weights
    np.testing.assert_array_equal(init_weights((2, 3), lambda rng, shape: np.full(shape, 0.5)), np.full((2, 3), 0.5))
    layer = Linear(500, 200, init="gaussian", rng=0)
    assert layer.W.value.std() == pytest.approx(0.01, rel=0.03)       # weight_scale=0.01 by default
    assert layer.training is True
    assert repr(layer) == "Linear(500, 200, dtype=float32)"


def test_softmax_over_the_last_axis_of_a_3d_input():
    from nn_scratch.layers import Softmax
    rng = np.random.default_rng(0)
    x, dy = 5 * rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    cube, rows = Softmax(), Softmax()                         # the same 6 rows, as (2, 3, 4) and as (6, 4)
    y = cube.forward(x)
    np.testing.assert_allclose(y.reshape(6, 4), rows.forward(x.reshape(6, 4)), rtol=1e-12)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0)
    np.testing.assert_allclose(cube.backward(dy).reshape(6, 4), rows.backward(dy.reshape(6, 4)), rtol=1e-12)


def test_one_cycle_may_start_above_its_peak_and_join_wants_integer_boundaries():
    from nn_scratch.schedules import join
    high_start = one_cycle(1.0, 10, div_factor=0.5)             # starts at 2.0, dips to the "peak" 1.0
    assert high_start(0) == pytest.approx(2.0) and high_start(3) == pytest.approx(1.0)
    f = cosine_decay(1.0, 5)
    for bad in (0, 2.5, -1):
        with pytest.raises(ValueError, match="'boundaries'"):
            join([f, f], [bad])


def test_plateau_counts_nan_observations_from_the_first():
    from nn_scratch.schedules import ReduceOnPlateau
    plateau = ReduceOnPlateau(1.0, factor=0.5, patience=1)
    assert plateau.observe(float("nan")) == 1.0                # one bad observation: tolerated
    assert plateau.observe(float("nan")) == 0.5                # the second: cut


def test_plateau_skips_a_cut_at_min_lr_and_keeps_its_scale():
    from nn_scratch.schedules import ReduceOnPlateau
    plateau = ReduceOnPlateau(1.0, factor=0.5, patience=0, min_lr=0.5)
    plateau.observe(1.0)
    assert plateau.observe(2.0) == 0.5 and plateau.num_reductions == 1
    assert plateau.observe(3.0) == 0.5 and plateau.num_reductions == 1     # already at min_lr: no cut ...
    assert plateau.scale == 0.5                                             # ... and the scale is kept


def test_lbfgs_reports_the_largest_final_gradient():
    rng = np.random.default_rng(2)
    X, T = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
    model = Sequential([Linear(3, 2, rng=0, dtype=np.float64)])
    res = lbfgs(model, MSE(), X, T, maxiter=1)                  # stopped early: the gradient is not small
    loss = MSE()
    loss.forward(model.forward(X), T)
    model.backward(loss.backward())
    largest = max(np.max(np.abs(p.grad)) for p in model.parameters())
    assert res.grad_max == pytest.approx(largest, rel=1e-9) and res.grad_max > 1e-3


def test_the_base_loss_wants_one_target_per_row():
    from nn_scratch.losses import Loss
    with pytest.raises(ValueError, match="one entry per row"):
        Loss().check_targets((3, 2), np.float64(1.0))
    with pytest.raises(ValueError, match="one entry per row"):
        Loss().check_targets((3, 2), np.zeros(2))
    assert Loss().check_targets((3, 2), np.zeros(3)).shape == (3,)


def test_which_targets_mean_classification():
    from nn_scratch.losses import Loss, is_classification

    class MyLoss(Loss):
        pass
    assert is_classification(SoftmaxCrossEntropy(), np.zeros(3))              # by the loss
    assert is_classification(MyLoss(), np.array([0, 2, 1]))                   # integer labels (N,)
    assert not is_classification(MyLoss(), np.array([[0], [2], [1]]))        # (N, 1) integers: targets
    assert not is_classification(MSE(), np.array([0, 2, 1]))                  # MSE regresses on integers


def test_class_losses_want_2d_scores_and_sequence_reduce_wants_its_own_tokens():
    from nn_scratch.losses import SequenceCrossEntropy
    for loss in (SoftmaxCrossEntropy(), MulticlassSVM()):
        with pytest.raises(ValueError, match=r"\(N, C\) class scores"):
            loss.check_targets((2, 3, 4), np.zeros(2, dtype=int))
    seq = SequenceCrossEntropy(ignore_index=0)
    per = seq.forward(np.zeros((1, 3, 4)), np.array([[1, 0, 2]]))
    assert seq.reduce(per) == pytest.approx(np.log(4))                       # the two counted tokens
    with pytest.raises(ValueError, match="per-token losses must come from the last forward"):
        seq.reduce(np.ones(5))


def test_a_gaussian_init_needs_a_positive_scale():
    with pytest.raises(ValueError, match="'weight_scale'"):
        Linear(2, 3, init="gaussian", weight_scale=0.0)


@pytest.mark.parametrize("bad", [np.zeros((3, 2)), np.full((2, 3), np.nan), np.full((2, 3), "w")])
def test_a_callable_init_must_return_finite_numbers_of_the_shape(bad):
    from nn_scratch.layers.linear import init_weights
    with pytest.raises(ValueError, match="must return finite numbers of shape"):
        init_weights((2, 3), lambda rng, shape: bad)


def test_softmax_of_one_vector_and_not_of_a_scalar():
    from nn_scratch.layers import Softmax
    np.testing.assert_allclose(Softmax().forward(np.log(np.array([1.0, 3.0]))), [0.25, 0.75])
    with pytest.raises(ValueError, match="at least one dimension"):
        Softmax().forward(np.float64(1.0))


def test_optimizer_arguments_and_attributes():
    p = [Parameter(np.zeros(2))]
    with pytest.raises(ValueError, match=r"'momentum' must be in \[0, 1\), got 1.5"):
        SGD(p, lr=0.1, momentum=1.5)
    assert SGD(p, lr=0.1, clip_norm=2.0).clip_norm == 2.0 and SGD(p, lr=0.1).clip_norm is None
    assert Adagrad(p, lr=0.1).eps == 1e-8
    with pytest.raises(ValueError, match="'eps'"):
        RMSprop(p, lr=0.1, eps=0.0)
    X, T = np.ones((3, 2)), np.zeros((3, 1))
    model = Linear(2, 1, dtype=np.float64)
    with pytest.raises(TypeError, match="'model' must be a Layer"):
        lbfgs("model", MSE(), X, T)
    with pytest.raises(TypeError, match="'loss' must be a Loss"):
        lbfgs(model, "mse", X, T)
    with pytest.raises(ValueError, match="'tol'"):
        lbfgs(model, MSE(), X, T, tol=0.0)


def test_one_cycle_rise_fraction_is_strictly_between_0_and_1():
    for pct in (0.0, 1.0):
        with pytest.raises(ValueError, match="'pct_start'"):
            one_cycle(1.0, 10, pct_start=pct)


def test_plateau_default_threshold_and_ties():
    from nn_scratch.schedules import ReduceOnPlateau
    plateau = ReduceOnPlateau(1.0, factor=0.5, patience=0)     # threshold 1e-4, relative
    plateau.observe(1.0)
    assert plateau.observe(1.0 - 1.5e-4) == 1.0                # better by 1.5e-4 of best: an improvement
    assert plateau.observe((1.0 - 1.5e-4) * (1 - 0.5e-4)) == 0.5   # by 0.5e-4: not enough, cut
    for mode in ("min", "max"):
        tie = ReduceOnPlateau(1.0, factor=0.5, patience=0, threshold=0.0, mode=mode)
        tie.observe(2.0)
        assert tie.observe(2.0) == 0.5                         # an equal value is no improvement


def test_a_zero_margin_or_scale_is_refused():
    from nn_scratch.layers.linear import init_weights
    with pytest.raises(ValueError, match="'margin'"):
        MulticlassSVM(0.0)
    with pytest.raises(ValueError, match="'weight_scale'"):
        init_weights((2, 2), "gaussian", weight_scale=0.0)
