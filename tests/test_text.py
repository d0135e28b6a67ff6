"""Tiny Shakespeare inside the package, the character vocabulary, the split by position, window batches and
text generation from RNN / LSTM / transformer language models."""
import hashlib
from pathlib import Path

import numpy as np
import pytest

import nn_scratch.data.text as text
from nn_scratch.generate import generate, sample_next
from nn_scratch.layers import (LSTM, RNN, Embedding, LayerNorm, Linear, Sequential, TokenPositionEmbedding,
                               TransformerBlock)

DATA_DIR = Path(text.__file__).parent


def test_embedded_corpus_is_the_original_file_and_its_licence_ships_beside_it(shared_data):
    corpus = text.load_tinyshakespeare()
    assert len(corpus) == 1115394 and len(set(corpus)) == 65
    original = (shared_data / "tinyshakespeare" / "input.txt").read_bytes()
    assert corpus.encode("utf-8") == original
    assert hashlib.md5(original).hexdigest() == text.TINYSHAKESPEARE_MD5
    licence = (DATA_DIR / "LICENSE-tinyshakespeare.txt").read_text()
    assert "MIT" in licence and text.TINYSHAKESPEARE_MD5 in licence and "public domain" in licence


def test_package_data_pattern_ships_the_gzip():
    cfg = (Path(__file__).resolve().parents[1] / "setup.cfg").read_text()
    line = next(ln for ln in cfg.splitlines() if ln.startswith("nn_scratch.data ="))
    assert "*.txt.gz" in line and "LICENSE*" in line
    assert (DATA_DIR / "tinyshakespeare.txt.gz").is_file()


def test_vocab_round_trip_sorted_ids_and_unknown_character():
    vocab = text.CharVocab("hello world")
    assert vocab.chars == sorted(set("hello world")) and vocab.size == len(vocab) == 8
    ids = vocab.encode("world hello")
    assert ids.dtype == np.int64 and vocab.decode(ids) == "world hello"
    assert vocab.encode(" ")[0] == 0                       # space sorts first
    with pytest.raises(ValueError, match="'z' is not in the vocabulary"):
        vocab.encode("zoo")
    with pytest.raises(ValueError, match=r"\[0, 7\]"):
        vocab.decode([8])


def test_full_corpus_vocab_round_trips():
    corpus = text.load_tinyshakespeare()
    vocab = text.CharVocab(corpus)
    ids = vocab.encode(corpus[:5000])
    assert vocab.decode(ids) == corpus[:5000] and vocab.size == 65


def test_split_by_position_is_the_last_ten_percent():
    ids = np.arange(1000)
    train, val = text.split_by_position(ids)
    np.testing.assert_array_equal(train, np.arange(900))
    np.testing.assert_array_equal(val, np.arange(900, 1000))
    train, val = text.split_by_position(ids, val=0.25)
    assert len(val) == 250 and val[0] == 750
    with pytest.raises(ValueError, match="'val' must be in"):
        text.split_by_position(ids, val=1.0)


def test_random_windows_targets_are_the_next_characters_and_seeded():
    ids = np.arange(100) * 3
    X, Y = text.random_windows(ids, T=7, batch_size=50, rng=1)
    assert X.shape == Y.shape == (50, 7)
    np.testing.assert_array_equal(Y, X + 3)                  # each target is the following entry
    assert np.all(np.diff(X, axis=1) == 3)                   # contiguous windows
    assert X.max() <= ids[-2] and Y.max() <= ids[-1]         # never runs off the end
    X2, _ = text.random_windows(ids, T=7, batch_size=50, rng=1)
    np.testing.assert_array_equal(X, X2)
    assert len(np.unique(X[:, 0])) > 10                     # starts vary
    with pytest.raises(ValueError, match="at least T \\+ 1 = 101"):
        text.random_windows(ids, T=100, batch_size=2)


def test_sequential_windows_cover_the_text_without_overlap():
    X, Y = text.sequential_windows(np.arange(23), T=5)
    np.testing.assert_array_equal(X.ravel(), np.arange(20))
    np.testing.assert_array_equal(Y.ravel(), np.arange(1, 21))
    assert text.sequential_windows(np.arange(23), T=5, max_windows=2)[0].shape == (2, 5)


def _models(V, seed=0):
    return {
        "rnn": Sequential([Embedding(V, 8, rng=seed), RNN(8, 12, rng=seed + 1), Linear(12, V, rng=seed + 2)]),
        "lstm": Sequential([Embedding(V, 8, rng=seed), LSTM(8, 12, rng=seed + 1), Linear(12, V, rng=seed + 2)]),
        "transformer": Sequential([TokenPositionEmbedding(V, 6, 8, rng=seed), TransformerBlock(8, 2, rng=seed + 1),
                                   LayerNorm(8), Linear(8, V, rng=seed + 2)]),
    }


@pytest.mark.parametrize("kind", ["rnn", "lstm", "transformer"])
def test_generate_is_seeded_and_equals_feeding_the_whole_text_again(kind):
    """Carrying the state (RNN/LSTM) or sliding the window (transformer) gives the same next-character
    distribution as running the model on the whole visible context from scratch."""
    vocab = text.CharVocab("abcdefgh ")
    model = _models(vocab.size)[kind]
    model.train()
    out = generate(model, "abc", 12, vocab=vocab, seed=3)
    assert isinstance(out, str) and len(out) == 12 and set(out) <= set(vocab.chars)
    assert out == generate(model, "abc", 12, vocab=vocab, seed=3)
    assert model.training                                   # mode restored
    greedy = generate(model, "abc", 12, vocab=vocab, temperature=0)
    ids = list(vocab.encode("abc"))
    model.eval()
    for _ in range(12):                                     # the slow way: the whole context every time
        ctx = ids if kind != "transformer" else ids[-6:]
        ids.append(int(np.argmax(model.forward(np.array([ctx]))[0, -1])))
    assert greedy == vocab.decode(ids[3:])


def test_generate_with_ids_and_top_k():
    model = _models(5)["lstm"]
    out = generate(model, [0, 1, 2], 30, seed=0, top_k=1)
    assert out.dtype == np.int64 and out.shape == (30,)
    np.testing.assert_array_equal(out, generate(model, [0, 1, 2], 30, temperature=0))   # top-1 = greedy
    assert not any(getattr(m, "carry_state", False) for m in model.modules())


def test_sample_next_temperature_and_top_k():
    scores = np.log(np.array([0.1, 0.2, 0.7]))
    rng = np.random.default_rng(0)
    draws = np.array([sample_next(scores, rng=rng) for _ in range(4000)])
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 4000, [0.1, 0.2, 0.7], atol=0.03)
    assert {sample_next(scores, top_k=2, rng=rng) for _ in range(200)} == {1, 2}
    cold = np.array([sample_next(scores, temperature=0.2, rng=rng) for _ in range(500)])
    assert np.mean(cold == 2) > 0.95


def test_generate_rejects_bad_arguments():
    model = _models(5)["rnn"]
    with pytest.raises(ValueError, match="needs 'vocab'"):
        generate(model, "ab", 3)
    with pytest.raises(ValueError, match="'temperature'"):
        generate(model, [0], 3, temperature=-1)
    with pytest.raises(ValueError, match="'top_k'"):
        generate(model, [0], 3, top_k=0)
    with pytest.raises(ValueError, match="at least one character"):
        generate(model, [], 3)
