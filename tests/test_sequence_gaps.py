"""Behaviour of the sequence layers that the mutation run found unpinned (tests/mutation/mutate.py on
layers/attention.py and layers/embedding.py)."""
import numpy as np
import pytest

from nn_scratch.layers import Embedding, MultiHeadAttention, TokenPositionEmbedding


def test_embedding_refuses_negative_ids_instead_of_reading_the_last_row():
    emb = Embedding(5, 3, rng=0)
    with pytest.raises(ValueError, match=r"\[0, 4\].*-1"):
        emb.forward(np.array([[0, -1, 2]]))          # numpy would silently pick row 4


def test_embedding_rows_are_drawn_with_the_stated_scale():
    for scale in (0.01, 1.0):
        W = Embedding(400, 50, weight_scale=scale, rng=0, dtype=np.float64).W.value
        assert abs(W.std() / scale - 1) < 0.02 and abs(W.mean()) < 0.05 * scale


def test_token_position_embedding_default_scale_is_0_1_and_one_step_windows_work():
    tpe = TokenPositionEmbedding(10, 8, 64, rng=0, dtype=np.float64)
    assert abs(tpe.tok.W.value.std() - 0.1) < 0.01
    y = tpe.forward(np.array([[3]]))                                  # T = 1: generation one step at a time
    assert np.allclose(y, tpe.tok.W.value[3] + tpe.pos.W.value[0])
    with pytest.raises(ValueError, match="1 <= T <= max_len"):
        tpe.forward(np.zeros((2, 0), dtype=np.int64))
    with pytest.raises(ValueError, match="1 <= T <= max_len"):
        tpe.forward(np.zeros((2, 9), dtype=np.int64))


def test_attention_stays_finite_for_huge_scores():
    """The row maximum is subtracted before exp: scores of ~1e4 must not overflow to inf / NaN."""
    mha = MultiHeadAttention(8, 2, rng=0, dtype=np.float64)
    x = 300.0 * np.random.default_rng(1).standard_normal((2, 5, 8))
    y = mha.forward(x)
    assert np.all(np.isfinite(y)) and np.allclose(mha.attn.sum(-1), 1)


def test_attention_dropout_acts_in_training_only():
    x = np.random.default_rng(1).standard_normal((2, 6, 8))
    plain = MultiHeadAttention(8, 2, rng=0, dtype=np.float64)
    dropped = MultiHeadAttention(8, 2, dropout=0.5, rng=0, dtype=np.float64)
    y_plain = plain.forward(x)
    y_train = dropped.forward(x)
    assert not np.allclose(y_train, y_plain)              # weights dropped and the rest scaled by 2
    dropped.eval()
    assert np.allclose(dropped.forward(x), y_plain)        # the same parameters, no dropout at evaluation


def test_a_bias_on_the_keys_changes_nothing():
    """Why bk has no effect (and a zero gradient): q . bk is the same for every key of a row, and softmax
    ignores a constant added to a row.  Documented here because a mutation that drops bk survives."""
    x = np.random.default_rng(1).standard_normal((2, 5, 8))
    mha = MultiHeadAttention(8, 2, rng=0, dtype=np.float64)
    y0 = mha.forward(x)
    mha.bk.value[...] = 5.0
    assert np.allclose(mha.forward(x), y0)
