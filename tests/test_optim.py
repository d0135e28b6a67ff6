"""Optimizers: hand-worked first steps, the lecture notes' formulas, properties, state, clipping, L-BFGS."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nn_scratch.layers import Linear, Parameter, ReLU, Sequential
from nn_scratch.losses import L2, MSE, SoftmaxCrossEntropy
from nn_scratch.optim import SGD, Adagrad, Adam, RMSprop, lbfgs
from nn_scratch.schedules import ReduceOnPlateau, linear, step_decay

X0 = [1.0, -2.0]
G1 = [0.5, -1.0]
G2 = [1.0, 1.0]


def two_steps(make, dtype=np.float64):
    """Run two steps with gradients G1 then G2 from X0; return the positions after each."""
    p = Parameter(np.array(X0, dtype=dtype))
    opt = make([p])
    out = []
    for g in (G1, G2):
        p.grad[...] = g
        opt.step()
        out.append(p.value.copy())
    return out


# -- hand-worked first steps (the arithmetic is in the comments) -------------------------------------------
HAND = {
    # x1 = x0 - 0.1 g1 = [1 - 0.05, -2 + 0.1];  x2 = x1 - 0.1 g2
    "sgd": (lambda p: SGD(p, lr=0.1), [0.95, -1.9], [0.85, -2.0]),
    # v1 = -0.1 g1 = [-0.05, 0.1];  v2 = 0.9 v1 - 0.1 g2 = [-0.145, -0.01]
    "momentum": (lambda p: SGD(p, lr=0.1, momentum=0.9), [0.95, -1.9], [0.805, -1.91]),
    # x1 = x0 + 1.9 v1 = [0.905, -1.81];  x2 = x1 - 0.9 v1 + 1.9 v2 = [0.905 + 0.045 - 0.2755, -1.81 - 0.09 - 0.019]
    "nesterov": (lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True), [0.905, -1.81], [0.6745, -1.919]),
    # cache1 = [0.25, 1] -> step 0.1 * g/sqrt(cache) = [0.1, -0.1];  cache2 = [1.25, 2] -> [0.1/sqrt(1.25), 0.1/sqrt(2)]
    "adagrad": (lambda p: Adagrad(p, lr=0.1), [0.9, -1.9], [0.9 - 0.0894427191, -1.9 - 0.0707106781]),
    # cache1 = 0.1 g1^2 = [0.025, 0.1] -> step 0.01 * [0.5/0.158114, -1/0.316228] = [0.0316228, -0.0316228]
    # cache2 = 0.9 cache1 + 0.1 g2^2 = [0.1225, 0.19] -> step 0.01 * [1/0.35, 1/0.435890]
    "rmsprop": (lambda p: RMSprop(p, lr=0.01, decay=0.9),
                [1 - 0.0316227766, -2 + 0.0316227766],
                [1 - 0.0316227766 - 0.0285714286, -2 + 0.0316227766 - 0.0229415734]),
    # step 1: m_hat = g1, v_hat = g1^2 -> each coordinate moves by lr = 0.1 (eps aside)
    # step 2: m2 = [0.145, 0.01], v2 = [0.00124975, 0.001999]; m_hat = m2/0.19, v_hat = v2/0.001999
    #         step = 0.1 * [0.7631579/0.7906880, 0.0526316/1] = [0.0965182, 0.00526316]
    "adam": (lambda p: Adam(p, lr=0.1), [0.9, -1.9], [0.9 - 0.0965182026, -1.9 - 0.0052631579]),
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_first_two_steps_match_hand_worked_numbers(name):
    make, want1, want2 = HAND[name]
    x1, x2 = two_steps(make)
    np.testing.assert_allclose(x1, want1, rtol=0, atol=1e-8)
    np.testing.assert_allclose(x2, want2, rtol=0, atol=1e-8)


# -- the notes' formulas, line by line, over many steps ----------------------------------------------------
def notes_reference(rule, x, grads, lr=0.05, mu=0.9, decay=0.95, b1=0.9, b2=0.999, eps=1e-8):
    """The update code of the lecture notes (Adam with the bias correction of the paper)."""
    x = x.copy()
    v = np.zeros_like(x)
    m = np.zeros_like(x)
    cache = np.zeros_like(x)
    for k, dx in enumerate(grads, start=1):
        if rule == "sgd":
            x += -lr * dx
        elif rule == "momentum":
            v = mu * v - lr * dx
            x += v
        elif rule == "nesterov":
            v_prev = v
            v = mu * v - lr * dx
            x += -mu * v_prev + (1 + mu) * v
        elif rule == "adagrad":
            cache += dx ** 2
            x += -lr * dx / (np.sqrt(cache) + eps)
        elif rule == "rmsprop":
            cache = decay * cache + (1 - decay) * dx ** 2
            x += -lr * dx / (np.sqrt(cache) + eps)
        elif rule == "adam":
            m = b1 * m + (1 - b1) * dx
            v = b2 * v + (1 - b2) * dx ** 2
            x += -lr * (m / (1 - b1 ** k)) / (np.sqrt(v / (1 - b2 ** k)) + eps)
    return x


MAKERS = {
    "sgd": lambda p: SGD(p, lr=0.05),
    "momentum": lambda p: SGD(p, lr=0.05, momentum=0.9),
    "nesterov": lambda p: SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "adagrad": lambda p: Adagrad(p, lr=0.05),
    "rmsprop": lambda p: RMSprop(p, lr=0.05, decay=0.95),
    "adam": lambda p: Adam(p, lr=0.05),
}


@pytest.mark.parametrize("rule", sorted(MAKERS))
def test_matches_the_notes_formulas_over_30_steps(rule):
    rng = np.random.default_rng(3)
    x0 = rng.normal(size=(4, 3))
    grads = rng.normal(size=(30, 4, 3))
    p = Parameter(x0.copy())
    opt = MAKERS[rule]([p])
    for g in grads:
        p.grad[...] = g
        opt.step()
    want = notes_reference(rule, x0, grads)
    assert np.max(np.abs(p.value - want)) < 1e-12
    assert opt.t == 30


def test_momentum_keeps_lr_inside_the_velocity_unlike_pytorch():
    # lr 0.1 for the first step, 0.01 afterwards; gradients g1 then g2
    lr = step_decay(0.1, 0.1, 1)
    g1, g2, mu = np.array(G1), np.array(G2), 0.9
    p = Parameter(np.array(X0))
    opt = SGD([p], lr=lr, momentum=mu)
    for g in (g1, g2):
        p.grad[...] = g
        opt.step()
    notes = np.array(X0) - 0.1 * g1 + (mu * (-0.1 * g1) - 0.01 * g2)    # v2 = mu v1 - lr1 g2
    pytorch = np.array(X0) - 0.1 * g1 - 0.01 * (mu * g1 + g2)           # b2 = mu b1 + g2, step -lr1 b2
    np.testing.assert_allclose(p.value, notes, rtol=0, atol=1e-15)
    assert np.max(np.abs(p.value - pytorch)) > 0.04                       # 0.09 * 0.5 = 0.045 apart
    # with a constant rate the two forms agree
    p2 = Parameter(np.array(X0))
    opt2 = SGD([p2], lr=0.1, momentum=mu)
    for g in (g1, g2):
        p2.grad[...] = g
        opt2.step()
    np.testing.assert_allclose(p2.value, np.array(X0) - 0.1 * g1 - 0.1 * (mu * g1 + g2), atol=1e-15)


def test_schedules_are_read_at_the_step_counter():
    p = Parameter(np.zeros(1))
    opt = SGD([p], lr=lambda t: 0.1 * (t + 1), momentum=linear(0.5, 0.9, 2))
    assert opt.current_lr == pytest.approx(0.1)
    xs = []
    for _ in range(3):
        p.grad[...] = 1.0
        opt.step()
        xs.append(p.value[0])
    assert opt.current_lr == pytest.approx(0.4)
    # v1 = -0.1;  v2 = 0.7 v1 - 0.2 = -0.27;  v3 = 0.9 v2 - 0.3 = -0.543
    np.testing.assert_allclose(xs, [-0.1, -0.37, -0.913], atol=1e-12)


# -- properties ----------------------------------------------------------------------------------------------
finite = st.floats(-10, 10, allow_nan=False, width=64)
vec = arrays(np.float64, st.integers(1, 6), elements=finite)


@settings(max_examples=25, deadline=None)
@given(x=vec, seed=st.integers(0, 1000), rule=st.sampled_from(sorted(MAKERS)))
def test_lr_zero_changes_nothing(x, seed, rule):
    rng = np.random.default_rng(seed)
    p = Parameter(x.copy())
    kwargs = {"momentum": 0.9} if rule in ("momentum", "nesterov") else {}
    cls = {"sgd": SGD, "momentum": SGD, "nesterov": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam}[rule]
    opt = cls([p], lr=0.0, nesterov=True, **kwargs) if rule == "nesterov" else cls([p], lr=0.0, **kwargs)
    for _ in range(3):
        p.grad[...] = rng.normal(size=x.shape)
        opt.step()
    np.testing.assert_array_equal(p.value, x)


@settings(max_examples=25, deadline=None)
@given(g=arrays(np.float64, st.integers(1, 8), elements=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3)),
       lr=st.floats(1e-4, 1.0))
def test_adam_first_step_moves_each_coordinate_by_lr(g, lr):
    p = Parameter(np.zeros_like(g))
    p.grad[...] = g
    Adam([p], lr=lr).step()
    np.testing.assert_allclose(np.abs(p.value), lr, rtol=1e-4)
    np.testing.assert_array_equal(np.sign(p.value), -np.sign(g))


@settings(max_examples=20, deadline=None)
@given(x=vec, seed=st.integers(0, 1000), lr=st.floats(1e-3, 1.0))
def test_momentum_zero_equals_plain_sgd(x, seed, lr):
    rng = np.random.default_rng(seed)
    a, b = Parameter(x.copy()), Parameter(x.copy())
    plain = SGD([a], lr=lr)
    with_mu0 = SGD([b], lr=lr, momentum=lambda t: 0.0)     # a schedule forces the momentum link in
    for _ in range(4):
        g = rng.normal(size=x.shape)
        a.grad[...] = g
        b.grad[...] = g
        plain.step()
        with_mu0.step()
    np.testing.assert_array_equal(a.value, b.value)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), mu=st.floats(0.1, 0.99))
def test_nesterov_differs_from_momentum(seed, mu):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=5)
    a, b = Parameter(x.copy()), Parameter(x.copy())
    classic, nag = SGD([a], lr=0.1, momentum=mu), SGD([b], lr=0.1, nesterov=True, momentum=mu)
    for _ in range(3):
        g = rng.normal(size=5)
        a.grad[...] = g
        b.grad[...] = g
        classic.step()
        nag.step()
    assert np.max(np.abs(a.value - b.value)) > 1e-6


# -- dtype, in place, state ------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", sorted(MAKERS))
def test_float32_stays_float32_and_values_are_updated_in_place(rule):
    p = Parameter(np.ones((3, 2), dtype=np.float32))
    value_obj = p.value
    opt = MAKERS[rule]([p])
    for _ in range(3):
        p.grad[...] = 0.5
        opt.step()
    assert p.value is value_obj and p.value.dtype == np.float32
    assert all(np.asarray(v).dtype in (np.float32, np.int64) for v in opt.state_dict().values())
    # and it agrees with the float64 computation to float32 precision
    q = Parameter(np.ones((3, 2)))
    opt64 = MAKERS[rule]([q])
    for _ in range(3):
        q.grad[...] = 0.5
        opt64.step()
    np.testing.assert_allclose(p.value, q.value, rtol=1e-5)


def _model_and_grads(seed=0):
    rng = np.random.default_rng(seed)
    model = Sequential([Linear(4, 5, rng=1), ReLU(), Linear(5, 3, rng=2)])
    X, y = rng.normal(size=(32, 4)).astype(np.float32), rng.integers(0, 3, 32)
    return model, X, y


def _train(model, opt, X, y, steps, plateau=None):
    loss = SoftmaxCrossEntropy()
    for _ in range(steps):
        J = loss.reduce(loss.forward(model.forward(X), y))
        model.backward(loss.backward())
        opt.step()
        if plateau is not None:
            plateau.observe(J)


@pytest.mark.parametrize("make", [
    lambda p: Adam(p, lr=1e-2, clip_norm=1.0),
    lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda p: RMSprop(p, lr=1e-2),
    lambda p: SGD(p, lr=ReduceOnPlateau(0.5, factor=0.5, patience=0, threshold=0.5)),
], ids=["adam-clip", "nesterov-wd", "rmsprop", "sgd-plateau"])
def test_state_dict_round_trip_through_npz_continues_bit_exactly(tmp_path, make):
    model, X, y = _model_and_grads()
    opt = make(model.parameters())
    plateau = opt.lr if isinstance(opt.lr, ReduceOnPlateau) else None
    _train(model, opt, X, y, 5, plateau)
    path = tmp_path / "opt.npz"
    np.savez(path, **opt.state_dict())
    weights = model.state_dict()
    _train(model, opt, X, y, 5, plateau)                       # the uninterrupted run

    model2, _, _ = _model_and_grads()
    model2.load_state_dict(weights)
    opt2 = make(model2.parameters())
    with np.load(path, allow_pickle=False) as f:
        opt2.load_state_dict(dict(f))
    assert opt2.t == 5
    plateau2 = opt2.lr if isinstance(opt2.lr, ReduceOnPlateau) else None
    _train(model2, opt2, X, y, 5, plateau2)                   # the resumed run
    for (k, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=k)
    if plateau is not None:
        assert plateau.num_reductions == plateau2.num_reductions > 0


def test_load_state_dict_rejects_a_mismatch():
    p = Parameter(np.zeros(3))
    state = Adam([p]).state_dict()
    with pytest.raises(ValueError, match="missing"):
        SGD([p], lr=0.1, momentum=0.9).load_state_dict(state)
    state["adam.m.0"] = np.zeros(4)
    with pytest.raises(ValueError, match="adam.m.0"):
        Adam([p]).load_state_dict(state)


def test_clipping_by_global_norm():
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(1))
    opt = SGD([a, b], lr=1.0, clip_norm=1.0)
    a.grad[...] = [3.0, 0.0]
    b.grad[...] = [4.0]                          # global norm 5 -> scaled by 1/5
    opt.step()
    assert opt.last_grad_norm == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([a.value, b.value]), [-0.6, 0.0, -0.8], atol=1e-15)
    np.testing.assert_array_equal(a.grad, [3.0, 0.0])          # the caller's gradient is left alone
    a.grad[...] = [0.3, 0.0]
    b.grad[...] = [0.4]                          # norm 0.5 < 1: untouched
    opt.step()
    np.testing.assert_allclose(np.concatenate([a.value, b.value]), [-0.9, 0.0, -1.2], atol=1e-15)


def test_weight_decay_skips_parameters_with_regularize_false():
    w, bias = Parameter(np.ones(2)), Parameter(np.ones(2), regularize=False)
    opt = SGD([w, bias], lr=0.1, weight_decay=0.5)
    w.grad[...] = 0
    bias.grad[...] = 0
    opt.step()
    np.testing.assert_allclose(w.value, 1 - 0.1 * 0.5)
    np.testing.assert_array_equal(bias.value, 1.0)


@pytest.mark.parametrize("call, match, exc", [
    (lambda p: SGD(p, lr=-0.1), "'lr'", ValueError),
    (lambda p: SGD(p, lr="fast"), "'lr'", TypeError),
    (lambda p: SGD(p, lr=0.1, momentum=1.0), "'momentum'", ValueError),
    (lambda p: SGD(p, lr=0.1, nesterov=True), "nesterov", ValueError),
    (lambda p: Adam(p, beta1=1.0), "'beta1'", ValueError),
    (lambda p: RMSprop(p, lr=0.1, eps=0), "'eps'", ValueError),
    (lambda p: SGD(p, lr=0.1, clip_norm=0), "SGD: 'clip_norm'", ValueError),
    (lambda p: SGD(p[0], lr=0.1), "single Parameter", TypeError),
    (lambda p: SGD([], lr=0.1), "empty", ValueError),
    (lambda p: SGD([p[0], p[0]], lr=0.1), "twice", ValueError),
    (lambda p: SGD([np.zeros(2)], lr=0.1), "params\\[0\\]", TypeError),
])
def test_bad_arguments_are_named(call, match, exc):
    with pytest.raises(exc, match=match):
        call([Parameter(np.zeros(2))])


# -- L-BFGS ----------------------------------------------------------------------------------------------------
def test_lbfgs_solves_least_squares_like_lstsq():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    t = X @ rng.normal(size=(5, 1)) + 0.3 + 0.1 * rng.normal(size=(80, 1))
    model = Linear(5, 1, rng=0, dtype=np.float64)
    res = lbfgs(model, MSE(), X, t)
    coef, *_ = np.linalg.lstsq(np.hstack([X, np.ones((80, 1))]), t, rcond=None)
    np.testing.assert_allclose(model.W.value, coef[:5], atol=1e-6)
    np.testing.assert_allclose(model.b.value, coef[5], atol=1e-6)
    assert res.converged and res.grad_max < 1e-6
    assert res.loss == pytest.approx(np.mean((X @ coef[:5] + coef[5] - t) ** 2), rel=1e-9)


def test_lbfgs_finds_the_softmax_regression_minimum_for_a_float32_model():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 4))
    y = np.argmax(X @ rng.normal(size=(4, 3)) + 0.5 * rng.normal(size=(150, 3)), axis=1)
    model = Linear(4, 3, rng=0)                          # float32
    W_obj = model.W.value
    loss, reg = SoftmaxCrossEntropy(), L2(0.01)
    res = lbfgs(model, loss, X, y, reg=reg)
    assert model.W.value is W_obj and W_obj.dtype == np.float32
    assert res.converged and res.grad_max < 1e-5

    def J(W, b):
        s = X @ W + b
        s = s - s.max(1, keepdims=True)
        return np.mean(np.log(np.exp(s).sum(1)) - s[np.arange(150), y]) + 0.005 * np.sum(W ** 2)

    W, b = model.W.value.astype(np.float64), model.b.value.astype(np.float64)
    assert res.loss == pytest.approx(J(W, b), abs=1e-6)
    # a strictly convex objective: every small move goes up (float32 rounding aside)
    for _ in range(10):
        dW, db = 1e-2 * rng.normal(size=W.shape), 1e-2 * rng.normal(size=b.shape)
        assert J(W + dW, b + db) > J(W, b) - 1e-7


def test_lbfgs_rejects_bad_arguments():
    model = Linear(2, 1, dtype=np.float64)
    with pytest.raises(TypeError, match="'reg'"):
        lbfgs(model, MSE(), np.zeros((3, 2)), np.zeros((3, 1)), reg="big")
    with pytest.raises(ValueError, match="'maxiter'"):
        lbfgs(model, MSE(), np.zeros((3, 2)), np.zeros((3, 1)), maxiter=0)


# -- tutorial 03 -------------------------------------------------------------------------------------------------
def test_tutorial_03_parameter_updates(run_tutorial):
    out, figdir = run_tutorial("03_parameter_updates.py")
    assert (figdir / "03_update_rules_ravine.png").exists()
    assert (figdir / "03_update_rules_saddle.png").exists()
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] in ("ravine", "saddle"):
            rows[(parts[0], parts[1])] = float(parts[4])
    # in the ravine momentum beats plain SGD by orders of magnitude
    assert rows[("ravine", "momentum")] < 1e-3 * rows[("ravine", "sgd")]
    # at the saddle plain SGD is still near the top (loss ~0) while the adaptive rules have left it
    assert rows[("saddle", "sgd")] > -0.05
    assert rows[("saddle", "rmsprop")] < -0.2 and rows[("saddle", "adam")] < -0.2
