"""Sample text from a trained character-level language model: ``generate(model, prompt, n, vocab=...)``.

The model maps ids (N, T) to scores (N, T, V) (e.g. ``Sequential([Embedding, LSTM, Linear])`` or
``Sequential([TokenPositionEmbedding, TransformerBlock, ..., LayerNorm, Linear])``).  How the context is fed
depends on what the model holds:

* an ``RNN`` or ``LSTM``: the prompt is read once, then one character per step, **carrying the hidden state**
  from step to step (each step costs the same however long the text already is);
* otherwise (a transformer): the last ``context`` characters are fed again at every step -- a sliding window,
  since a ``TokenPositionEmbedding`` only knows ``max_len`` positions (its ``max_len`` is the default).

Sampling: ``softmax(scores / temperature)`` over the next character (temperature < 1 sharpens, > 1 flattens,
0 takes the most likely character), optionally restricted to the ``top_k`` most likely ones, drawn with a
Generator from ``seed`` so the same call gives the same text.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._checks import check_int, check_number, check_rng, check_seed
from .layers.attention import TokenPositionEmbedding
from .layers.base import Layer
from .layers.recurrent import _Recurrent

__all__ = ["generate", "sample_next"]


def sample_next(scores, temperature: float = 1.0, top_k: int | None = None, rng=None) -> int:
    """One id drawn from the scores (V,) of the next character (see the module docstring)."""
    check_number("temperature", temperature, who="sample_next", low=0)     # a negative one inverts the choice
    if top_k is not None:
        check_int("top_k", top_k, minimum=1, who="sample_next")
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if temperature == 0:
        return int(np.argmax(s))
    s = s / temperature
    if top_k is not None and top_k < s.size:
        cut = np.partition(s, -top_k)[-top_k]
        s = np.where(s >= cut, s, -np.inf)
    p = np.exp(s - s.max())
    p /= p.sum()
    return int(check_rng("rng", rng, who="sample_next").choice(s.size, p=p))


def generate(model, prompt, n: int, vocab=None, temperature: float = 1.0, seed=None, top_k: int | None = None,
             context: int | None = None):
    """``n`` new characters continuing ``prompt``; returns the continuation (without the prompt).

    ``prompt``: a string (then ``vocab``, a ``data.text.CharVocab``, is required and a string is returned) or a
    sequence of ids (then an int64 array of ids is returned).  ``context``: the window of a model without
    recurrent layers (default: the ``max_len`` of its ``TokenPositionEmbedding``, else the whole text).
    The model runs in eval mode and is left in the mode it was in; recurrent layers' carried state is reset.
    """
    who = "generate"
    if not isinstance(model, Layer):
        raise TypeError(f"{who}: 'model' must be a nn_scratch Layer, got {type(model).__name__}")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"{who}: 'n' must be a non-negative integer, got {n!r}")
    check_number("temperature", temperature, who=who, low=0)
    check_seed("seed", seed, who=who)
    if context is not None:
        check_int("context", context, minimum=1, who=who)
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1):
        raise ValueError(f"{who}: 'top_k' must be a positive integer or None, got {top_k!r}")
    if isinstance(prompt, str):
        if vocab is None:
            raise ValueError(f"{who}: a string 'prompt' needs 'vocab' (a CharVocab) to encode it")
        ids = list(vocab.encode(prompt))
    else:
        ids = [int(i) for i in np.asarray(prompt).reshape(-1)]
    if not ids:
        raise ValueError(f"{who}: 'prompt' must hold at least one character")
    rng = np.random.default_rng(seed)
    recurrent = [m for m in model.modules() if isinstance(m, _Recurrent)]
    if context is None:
        pos = [m for m in model.modules() if isinstance(m, TokenPositionEmbedding)]
        context = pos[0].max_len if pos else None
    modes = [(m, m.training) for m in model.modules()]
    carried = [(m, m.carry_state) for m in recurrent]
    out = []
    try:
        model.eval()
        for m in recurrent:
            m.carry_state = True
            m.reset_state()
        feed = ids if recurrent else None
        for _ in range(n):
            if recurrent:                     # only the new characters; the state holds the rest
                x = np.array(feed)[None]
            else:
                window = ids if context is None else ids[-context:]
                x = np.array(window)[None]
            scores = model.forward(x)
            nxt = sample_next(scores[0, -1], temperature, top_k, rng)
            ids.append(nxt)
            out.append(nxt)
            feed = [nxt]
    finally:
        for m, mode in modes:
            m.training = mode
        for m, flag in carried:
            m.carry_state = flag
            m.reset_state()
    out = np.array(out, dtype=np.int64)
    return vocab.decode(out) if isinstance(prompt, str) else out
