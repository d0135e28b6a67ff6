"""Sequence layers (Embedding, temporal Linear, RNN, LSTM, LayerNorm, GELU, attention, transformer block) and the
per-token loss: gradient checks over random shapes and seeds, forward passes against direct loops written
here, hand-worked tiny cases, causality, masking, dtypes and bad input."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn_scratch.gradcheck import check_layer, check_loss, check_model, numerical_gradient
from nn_scratch.layers import (GELU, LSTM, RNN, Embedding, LayerNorm, Linear, MultiHeadAttention, Sequential,
                               TokenPositionEmbedding, TransformerBlock)
from nn_scratch.losses import SequenceCrossEntropy, SoftmaxCrossEntropy

FEW = settings(max_examples=4, deadline=None)
small = st.integers(1, 4)
seeds = st.integers(0, 2**16)
dtypes = st.sampled_from([np.float32, np.float64])


def _x(seed, shape, dtype=np.float64, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def _passes(report):
    assert report.passed and report.judged > 0, f"\n{report}"


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


# ---------------------------------------------------------------------------------------------------------
# gradient checks over random shapes, seeds and source dtypes (the checker works on a float64 copy)
# ---------------------------------------------------------------------------------------------------------
@FEW
@given(N=small, T=small, V=st.integers(2, 6), D=small, seed=seeds, dtype=dtypes)
def test_embedding_gradients(N, T, V, D, seed, dtype):
    idx = np.random.default_rng(seed).integers(0, V, (N, T))
    _passes(check_layer(Embedding(V, D, rng=seed, dtype=dtype), idx, seed=seed, num_coords=None))


@FEW
@given(N=small, T=small, D=small, M=small, seed=seeds, dtype=dtypes)
def test_temporal_linear_gradients(N, T, D, M, seed, dtype):
    layer = Linear(D, M, rng=seed, dtype=dtype)
    layer.b.value[...] = _x(seed + 1, M)
    _passes(check_layer(layer, _x(seed, (N, T, D), dtype), seed=seed))


@FEW
@given(N=small, T=small, D=small, H=small, seed=seeds, dtype=dtypes, kind=st.sampled_from(["rnn", "lstm"]))
def test_recurrent_gradients(N, T, D, H, seed, dtype, kind):
    layer = RNN(D, H, rng=seed, dtype=dtype) if kind == "rnn" else LSTM(D, H, rng=seed, dtype=dtype)
    layer.b.value[...] += _x(seed + 1, layer.b.shape, scale=0.5)
    _passes(check_layer(layer, _x(seed, (N, T, D), dtype), seed=seed, num_coords=15))


@FEW
@given(N=small, T=small, D=st.integers(2, 6), seed=seeds, dtype=dtypes, scale=st.sampled_from([0.1, 1.0, 5.0]))
def test_layernorm_and_gelu_gradients(N, T, D, seed, dtype, scale):
    ln = LayerNorm(D, dtype=dtype)
    ln.gamma.value[...] = _x(seed + 1, D)
    ln.beta.value[...] = _x(seed + 2, D)
    x = _x(seed, (N, T, D), dtype, scale)
    _passes(check_layer(ln, x, seed=seed))
    _passes(check_layer(LayerNorm(D, dtype=dtype), x[0], seed=seed))     # (N, D) too
    _passes(check_layer(GELU(), x, seed=seed))


@FEW
@given(N=small, T=small, heads=st.integers(1, 3), d=st.integers(1, 3), seed=seeds, dtype=dtypes,
       causal=st.booleans(), dropout=st.sampled_from([0.0, 0.3]))
def test_attention_gradients(N, T, heads, d, seed, dtype, causal, dropout):
    layer = MultiHeadAttention(heads * d, heads, causal=causal, dropout=dropout, rng=seed, dtype=dtype)
    for b in (layer.bq, layer.bk, layer.bv, layer.bo):
        b.value[...] = _x(seed + 1, b.shape, scale=0.3)
    _passes(check_layer(layer, _x(seed, (N, T, heads * d), dtype), seed=seed, num_coords=10))


@FEW
@given(N=small, T=small, seed=seeds, dtype=dtypes, dropout=st.sampled_from([0.0, 0.2]))
def test_transformer_block_gradients(N, T, seed, dtype, dropout):
    block = TransformerBlock(4, 2, mlp_ratio=2, dropout=dropout, rng=seed, dtype=dtype)
    _passes(check_layer(block, _x(seed, (N, T, 4), dtype), seed=seed, num_coords=8))


@FEW
@given(N=small, T=small, C=st.integers(2, 5), seed=seeds, dtype=dtypes, ignore=st.booleans())
def test_sequence_loss_gradients(N, T, C, seed, dtype, ignore):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, (N, T))
    if ignore:
        y[rng.random((N, T)) < 0.4] = -100
        y[0, 0] = 0                                   # at least one token counts
    loss = SequenceCrossEntropy(ignore_index=-100 if ignore else None)
    _passes(check_loss(loss, _x(seed, (N, T, C), dtype, 2.0), y, seed=seed, num_coords=None))


@FEW
@given(seed=seeds, dtype=dtypes, kind=st.sampled_from(["rnn", "lstm", "transformer"]))
def test_whole_language_models_gradients(seed, dtype, kind):
    V, T = 5, 4
    if kind == "transformer":
        layers = [TokenPositionEmbedding(V, T, 4, rng=seed, dtype=dtype), TransformerBlock(4, 2, rng=seed + 1,
                  dtype=dtype), LayerNorm(4, dtype=dtype)]
    else:
        rec = RNN if kind == "rnn" else LSTM
        layers = [Embedding(V, 3, rng=seed, dtype=dtype), rec(3, 4, rng=seed + 1, dtype=dtype)]
    model = Sequential(layers + [Linear(4, V, rng=seed + 2, dtype=dtype)])
    idx = np.random.default_rng(seed).integers(0, V, (2, T))
    y = np.roll(idx, -1, axis=1)
    report = check_model(model, SequenceCrossEntropy(), idx, y, seed=seed, num_coords=6)
    _passes(report)
    assert "x (input)" not in [r.name for r in report.rows]       # integer input: parameters only


# ---------------------------------------------------------------------------------------------------------
# forward passes against direct loops written here
# ---------------------------------------------------------------------------------------------------------
def test_rnn_forward_matches_a_step_by_step_loop():
    N, T, D, H = 3, 5, 4, 6
    layer = RNN(D, H, rng=0, dtype=np.float64)
    layer.b.value[...] = _x(1, H)
    x, h0 = _x(2, (N, T, D)), _x(3, (N, H))
    out = layer.forward(x, h0=h0)
    for n in range(N):
        h = h0[n]
        for t in range(T):
            h = np.tanh(x[n, t] @ layer.Wx.value + h @ layer.Wh.value + layer.b.value)
            np.testing.assert_allclose(out[n, t], h, rtol=1e-12, atol=1e-12)


def test_lstm_forward_matches_a_loop_in_pytorch_gate_order():
    """The reference is written with PyTorch's (i, f, g, o) layout and transposed weights; ours equals it after
    the documented permutation, which checks both the equations and the mapping."""
    N, T, D, H = 2, 4, 3, 5
    rng = np.random.default_rng(0)
    w_ih, w_hh = rng.standard_normal((4 * H, D)), rng.standard_normal((4 * H, H))
    b_ih, b_hh = rng.standard_normal(4 * H), rng.standard_normal(4 * H)
    x, h0, c0 = _x(1, (N, T, D)), _x(2, (N, H)), _x(3, (N, H))
    layer = LSTM(D, H, dtype=np.float64)
    perm = LSTM.pytorch_to_ours(H)
    layer.Wx.value[...] = w_ih.T[:, perm]
    layer.Wh.value[...] = w_hh.T[:, perm]
    layer.b.value[...] = (b_ih + b_hh)[perm]
    out = layer.forward(x, h0=h0, c0=c0)
    for n in range(N):
        h, c = h0[n], c0[n]
        for t in range(T):
            a = w_ih @ x[n, t] + b_ih + w_hh @ h + b_hh
            i, f, g, o = sigmoid(a[:H]), sigmoid(a[H:2 * H]), np.tanh(a[2 * H:3 * H]), sigmoid(a[3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
            np.testing.assert_allclose(out[n, t], h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.last_state[1][-1], c, rtol=1e-10)


def test_attention_forward_matches_a_loop_over_heads_and_positions():
    N, T, heads, d = 2, 5, 3, 2
    D = heads * d
    for causal in (False, True):
        layer = MultiHeadAttention(D, heads, causal=causal, rng=0, dtype=np.float64)
        for b in (layer.bq, layer.bk, layer.bv, layer.bo):
            b.value[...] = _x(7, D)
        x = _x(1, (N, T, D))
        out = layer.forward(x)
        P = {k: getattr(layer, "W" + k).value for k in "qkvo"}
        B = {k: getattr(layer, "b" + k).value for k in "qkvo"}
        for n in range(N):
            ctx = np.zeros((T, D))
            for hd in range(heads):
                cols = slice(hd * d, (hd + 1) * d)
                for t in range(T):
                    q = x[n, t] @ P["q"][:, cols] + B["q"][cols]
                    visible = range(t + 1) if causal else range(T)
                    s = np.array([q @ (x[n, u] @ P["k"][:, cols] + B["k"][cols]) / math.sqrt(d) for u in visible])
                    w = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
                    np.testing.assert_allclose(layer.attn[n, hd, t, :len(w)], w, rtol=1e-10)
                    assert np.all(layer.attn[n, hd, t, len(w):] == 0)
                    ctx[t, cols] = sum(w[j] * (x[n, u] @ P["v"][:, cols] + B["v"][cols]) for j, u in enumerate(visible))
            np.testing.assert_allclose(out[n], ctx @ P["o"] + B["o"], rtol=1e-10, atol=1e-12)


def test_temporal_linear_applies_the_same_weights_at_every_step():
    layer = Linear(4, 3, rng=0, dtype=np.float64)
    x = _x(1, (2, 5, 4))
    y = layer.forward(x)
    assert y.shape == (2, 5, 3)
    for t in range(5):
        np.testing.assert_allclose(y[:, t], x[:, t] @ layer.W.value + layer.b.value, rtol=1e-12)
    assert layer.backward(np.ones_like(y)).shape == x.shape


def test_block_forward_is_the_pre_norm_recipe():
    block = TransformerBlock(4, 2, mlp_ratio=2, rng=3, dtype=np.float64)
    x = _x(0, (2, 3, 4))
    h = x + block.attn.forward(block.ln1.forward(x))
    z = block.ln2.forward(h) @ block.fc1.W.value + block.fc1.b.value
    gelu = 0.5 * z * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))
    np.testing.assert_allclose(block.forward(x), h + gelu @ block.fc2.W.value + block.fc2.b.value, rtol=1e-10)


# ---------------------------------------------------------------------------------------------------------
# hand-worked tiny cases
# ---------------------------------------------------------------------------------------------------------
def test_rnn_one_unit_by_hand():
    # Wx = 1, Wh = 0.5, b = 0, x = (1, 0): h1 = tanh(1) = 0.761594, h2 = tanh(0.5 * 0.761594) = 0.363399
    layer = RNN(1, 1, dtype=np.float64)
    layer.Wx.value[...], layer.Wh.value[...], layer.b.value[...] = 1.0, 0.5, 0.0
    np.testing.assert_allclose(layer.forward(np.array([[[1.0], [0.0]]])).ravel(), [0.761594, 0.363399], atol=1e-6)


def test_lstm_one_unit_by_hand():
    # all weights 0; b_g = atanh(0.5): i = f = o = 0.5, g = 0.5 at every step
    # c1 = 0.5*0 + 0.5*0.5 = 0.25, h1 = 0.5 tanh(0.25) = 0.122459
    # c2 = 0.5*0.25 + 0.25 = 0.375, h2 = 0.5 tanh(0.375) = 0.179179
    layer = LSTM(1, 1, forget_bias=0.0, dtype=np.float64)
    layer.Wx.value[...] = layer.Wh.value[...] = 0
    layer.b.value[...] = [0, 0, 0, np.arctanh(0.5)]
    np.testing.assert_allclose(layer.forward(np.zeros((1, 2, 1))).ravel(), [0.122459, 0.179179], atol=1e-6)


def test_lstm_forget_bias_sets_only_the_forget_block():
    H = 3
    b = LSTM(2, H, forget_bias=1.0).b.value
    np.testing.assert_array_equal(b, np.r_[np.zeros(H), np.ones(H), np.zeros(2 * H)])
    assert np.all(LSTM(2, H, forget_bias=0.0).b.value == 0)


def test_layernorm_gelu_embedding_by_hand():
    # (1, 2, 3): mean 2, var 2/3, xhat = (-1.224745, 0, 1.224745) (eps shifts the 7th digit)
    np.testing.assert_allclose(LayerNorm(3, dtype=np.float64).forward(np.array([[1.0, 2.0, 3.0]])),
                               [[-1.224745, 0.0, 1.224745]], atol=2e-5)
    # GELU(x) = x Phi(x): Phi(1) = 0.841345, so GELU(1) = 0.841345 and GELU(-1) = -(1 - 0.841345)
    np.testing.assert_allclose(GELU().forward(np.array([-1.0, 0.0, 1.0])), [-0.158655, 0.0, 0.841345], atol=1e-6)
    emb = Embedding(3, 2)
    emb.W.value[...] = [[0, 1], [2, 3], [4, 5]]
    np.testing.assert_array_equal(emb.forward(np.array([[2, 0]])), [[[4, 5], [0, 1]]])


def test_attention_over_one_position_is_the_value_path():
    # T = 1: the only weight is 1, so y = (x Wv + bv) Wo + bo whatever q and k are
    layer = MultiHeadAttention(4, 2, rng=0, dtype=np.float64)
    x = _x(0, (3, 1, 4))
    expected = (x @ layer.Wv.value + layer.bv.value) @ layer.Wo.value + layer.bo.value
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)
    np.testing.assert_array_equal(layer.attn, np.ones((3, 2, 1, 1)))


# ---------------------------------------------------------------------------------------------------------
# properties users rely on
# ---------------------------------------------------------------------------------------------------------
@settings(max_examples=8, deadline=None)
@given(T=st.integers(2, 7), t=st.integers(0, 5), seed=seeds, kind=st.sampled_from(["attention", "block"]))
def test_causal_outputs_ignore_the_future(T, t, seed, kind):
    t = min(t, T - 2)
    layer = (MultiHeadAttention(6, 3, causal=True, rng=seed, dtype=np.float64) if kind == "attention"
             else TransformerBlock(6, 3, causal=True, rng=seed, dtype=np.float64))
    x = _x(seed, (2, T, 6))
    y = layer.forward(x).copy()
    x2 = x.copy()
    x2[:, t + 1:] = _x(seed + 1, x2[:, t + 1:].shape, scale=10.0)      # change every later position
    y2 = layer.forward(x2)
    np.testing.assert_array_equal(y2[:, :t + 1], y[:, :t + 1])
    assert not np.allclose(y2[:, t + 1:], y[:, t + 1:])


def test_non_causal_attention_does_see_the_future():
    layer = MultiHeadAttention(4, 2, causal=False, rng=0, dtype=np.float64)
    x = _x(0, (1, 3, 4))
    y = layer.forward(x).copy()
    x[:, 2] += 1.0
    assert not np.allclose(layer.forward(x)[:, 0], y[:, 0])


def test_embedding_repeated_indices_sum_their_gradients():
    emb = Embedding(4, 2, dtype=np.float64)
    idx = np.array([[1, 3, 1], [1, 0, 3]])
    dy = _x(0, (2, 3, 2))
    assert emb.forward(idx).shape == (2, 3, 2)
    assert emb.backward(dy) is None
    np.testing.assert_allclose(emb.W.grad[1], dy[0, 0] + dy[0, 2] + dy[1, 0])
    np.testing.assert_allclose(emb.W.grad[3], dy[0, 1] + dy[1, 2])
    np.testing.assert_allclose(emb.W.grad[0], dy[1, 1])
    np.testing.assert_array_equal(emb.W.grad[2], 0)                 # an id not in the batch: zero, not stale


def test_masked_loss_is_the_mean_over_unmasked_tokens():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((3, 4, 5))
    y = rng.integers(0, 5, (3, 4))
    y[0, 1] = y[2, 3] = y[1, 0] = -1
    loss = SequenceCrossEntropy(ignore_index=-1)
    per = loss.forward(scores, y)
    keep = y != -1
    ref = SoftmaxCrossEntropy()
    flat = ref.forward(scores[keep], y[keep])
    assert per.shape == (3, 4) and np.all(per[~keep] == 0)
    np.testing.assert_allclose(per[keep], flat, rtol=1e-12)
    np.testing.assert_allclose(loss.reduce(per), flat.mean(), rtol=1e-12)
    assert loss.reduce(per) > per.mean()                               # a plain mean would be diluted
    d = loss.backward()
    assert np.all(d[~keep] == 0)
    np.testing.assert_allclose(d[keep], ref.backward(), rtol=1e-12)       # both divide by the counted tokens


def test_sequence_loss_at_chance_is_log_c_and_without_padding_is_the_plain_mean():
    loss = SequenceCrossEntropy()
    per = loss.forward(np.zeros((2, 3, 7)), np.zeros((2, 3), dtype=int))
    np.testing.assert_allclose(per, np.log(7))
    assert loss.reduce(np.ones(5)) == 1.0


def test_rnn_and_lstm_initial_state_gradient_and_carried_state():
    for layer in (RNN(3, 4, rng=0, dtype=np.float64), LSTM(3, 4, rng=0, dtype=np.float64)):
        x, h0, dy = _x(1, (2, 5, 3)), _x(2, (2, 4)), _x(3, (2, 5, 4))
        layer.forward(x, h0=h0)
        layer.backward(dy)
        numeric = numerical_gradient(lambda h: float(np.sum(layer.forward(x, h0=h) * dy)), h0.copy())
        np.testing.assert_allclose(layer.dh0, numeric, rtol=1e-6, atol=1e-9)
        whole = layer.forward(x).copy()
        layer.carry_state = True
        layer.reset_state()
        first = layer.forward(x[:, :2]).copy()
        second = layer.forward(x[:, 2:])
        np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-12)


def test_float32_model_stays_float32_through_every_new_layer():
    V, T = 6, 5
    model = Sequential([TokenPositionEmbedding(V, T, 4, rng=0), TransformerBlock(4, 2, rng=1), LayerNorm(4),
                        GELU(), Linear(4, 4, rng=2), RNN(4, 4, rng=3), LSTM(4, 4, rng=4),
                        MultiHeadAttention(4, 2, rng=5), Linear(4, V, rng=6)])
    idx = np.random.default_rng(0).integers(0, V, (2, T))
    scores = model.forward(idx)
    assert scores.dtype == np.float32
    loss = SequenceCrossEntropy()
    loss.forward(scores, idx)
    model.backward(loss.backward())
    for name, p in model.named_parameters():
        assert p.value.dtype == np.float32 and p.grad.dtype == np.float32, name
    for m in model.modules():
        for attr in ("hs", "gates", "attn", "xhat", "grad_hidden"):
            if isinstance(getattr(m, attr, None), np.ndarray):
                assert getattr(m, attr).dtype == np.float32, (type(m).__name__, attr)


def _after_forward(layer):
    layer.forward(np.zeros((2, 4, 3)))
    return layer


@pytest.mark.parametrize("call, error, words", [
    (lambda: Embedding(3, 2).forward(np.array([[0, 3]])), ValueError, "'idx' must hold ids in [0, 2]"),
    (lambda: Embedding(3, 2).forward(np.array([[0.0, 1.0]])), TypeError, "integer array"),
    (lambda: Embedding(0, 2), ValueError, "'num_embeddings'"),
    (lambda: RNN(3, 2).forward(np.zeros((2, 3))), ValueError, "3 dimensions"),
    (lambda: LSTM(3, 2).forward(np.zeros((2, 4, 5))), ValueError, "3 features"),
    (lambda: RNN(3, 2).forward(np.zeros((2, 4, 3)), h0=np.zeros((3, 2))), ValueError, "'h0' must have 2 rows"),
    (lambda: RNN(3, 2, nonlinearity="relu"), ValueError, "'nonlinearity'"),
    (lambda: MultiHeadAttention(5, 2), ValueError, "divisible"),
    (lambda: MultiHeadAttention(4, 2).forward(np.zeros((2, 4))), ValueError, "3 dimensions"),
    (lambda: LayerNorm(3).forward(np.zeros((2, 4))), ValueError, "3 features"),
    (lambda: TokenPositionEmbedding(5, 4, 2).forward(np.zeros((1, 5), dtype=int)), ValueError, "max_len = 4"),
    (lambda: LSTM(3, 2).backward(np.zeros((1, 2, 2))), RuntimeError, "before forward"),
    (lambda: MultiHeadAttention(4, 2).backward(np.zeros((1, 2, 4))), RuntimeError, "before forward"),
    (lambda: Embedding(3, 2).backward(np.zeros((1, 2, 2))), RuntimeError, "before forward"),
    (lambda: _after_forward(RNN(3, 2)).backward(np.zeros((2, 4, 3))), ValueError, "shape of the last forward"),
    (lambda: SequenceCrossEntropy().forward(np.zeros((2, 3, 4)), np.zeros((2, 4), dtype=int)), ValueError,
     "shape (N, T) = (2, 3)"),
    (lambda: SequenceCrossEntropy().forward(np.zeros((2, 3, 4)), np.full((2, 3), 4)), ValueError, "[0, 3]"),
    (lambda: SequenceCrossEntropy(ignore_index=-1).forward(np.zeros((1, 2, 4)), np.full((1, 2), -1)),
     ValueError, "every label equals ignore_index"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_trainer_fits_a_language_model_and_evaluates_with_the_masked_mean():
    from nn_scratch.optim import Adam
    from nn_scratch.trainer import Trainer
    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, (40, 6))
    Y = np.roll(X, -1, axis=1)
    Y[:, :2] = -1                                                   # padding: a third of the tokens
    model = Sequential([Embedding(5, 4, rng=0), LSTM(4, 8, rng=1), Linear(8, 5, rng=2)])
    loss = SequenceCrossEntropy(ignore_index=-1)
    trainer = Trainer(model, loss, Adam(model.parameters(), lr=1e-2))
    trainer.fit(X[:32], Y[:32], X_val=X[32:], y_val=Y[32:], epochs=2, batch_size=8)
    model.eval()
    per = loss.forward(model.forward(X[32:]), Y[32:])
    expected = per[Y[32:] != -1].mean()
    np.testing.assert_allclose(trainer.evaluate(X[32:], Y[32:])["loss"], expected, rtol=1e-6)
    assert expected > 1.2 * per.mean()                              # a plain mean would be diluted
    with pytest.raises(ValueError, match="'y_val'"):
        trainer.fit(X[:32], Y[:32], X_val=X[32:], y_val=Y[32:, :5], epochs=1)


def test_per_token_losses_feed_the_per_sample_analysis():
    from nn_scratch.analysis import history_loss_matrix, tukey_fences
    from nn_scratch.monitors import PerSampleLoss
    from nn_scratch.optim import Adam
    from nn_scratch.trainer import Trainer
    rng = np.random.default_rng(1)
    X = rng.integers(0, 5, (24, 6))
    Y = np.roll(X, -1, axis=1)
    Y[:, 0] = -1                                                    # one padding token per window
    model = Sequential([Embedding(5, 4, rng=0), RNN(4, 6, rng=1), Linear(6, 5, rng=2)])
    loss = SequenceCrossEntropy(ignore_index=-1)
    trainer = Trainer(model, loss, Adam(model.parameters(), lr=1e-2), monitors=[PerSampleLoss(on="val")])
    history = trainer.fit(X[:16], Y[:16], X_val=X[16:], y_val=Y[16:], epochs=3, batch_size=8)
    L, steps = history_loss_matrix(history)
    assert L.shape == (8 * 5, len(steps)) and len(steps) >= 2      # every counted validation token, per checkpoint
    assert np.all(L > 0)                                            # no zero from a padding token
    low, high = tukey_fences(L)
    assert np.all(low <= high)
