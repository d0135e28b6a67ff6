"""Character-level text data: Tiny Shakespeare shipped in the package, a character vocabulary, a split by
position and batches of random windows for next-character prediction.

    >>> from nn_scratch.data import text
    >>> corpus = text.load_tinyshakespeare()          # str, 1 115 394 characters
    >>> vocab = text.CharVocab(corpus)                # 65 characters, ids in sorted order
    >>> ids = vocab.encode(corpus)                    # int64 (1115394,)
    >>> train, val = text.split_by_position(ids)      # first 90 % / last 10 %
    >>> X, Y = text.random_windows(train, T=64, batch_size=32, rng=0)   # (32, 64) each; Y is X shifted by one

The file ``tinyshakespeare.txt.gz`` next to this module is karpathy/char-rnn's ``input.txt``, unchanged but
compressed; its licence is in ``LICENSE-tinyshakespeare.txt`` in the same folder.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
from importlib import resources

import numpy as np

from ._checks import check_fraction, check_int, check_rng

__all__ = ["load_tinyshakespeare", "CharVocab", "split_by_position", "random_windows", "sequential_windows",
           "TINYSHAKESPEARE_MD5"]

TINYSHAKESPEARE_FILE = "tinyshakespeare.txt.gz"
#: md5 of the decompressed text (the original ``input.txt``).
TINYSHAKESPEARE_MD5 = "6fb458f1232090904fb40fe944165e91"
TINYSHAKESPEARE_CHARS = 1115394


@functools.lru_cache(maxsize=1)
def load_tinyshakespeare() -> str:
    """The whole Tiny Shakespeare corpus as one string (1 115 394 characters, 65 distinct); no download.

    The decompressed bytes are checked against the original file's md5 first."""
    raw = gzip.decompress(resources.files(__package__).joinpath(TINYSHAKESPEARE_FILE).read_bytes())
    digest = hashlib.md5(raw).hexdigest()
    if digest != TINYSHAKESPEARE_MD5:
        raise OSError(f"the embedded {TINYSHAKESPEARE_FILE} is corrupt (md5 {digest}, expected "
                      f"{TINYSHAKESPEARE_MD5}); reinstall nn_scratch")
    return raw.decode("utf-8")


class CharVocab:
    """A character vocabulary: each distinct character of ``text`` gets an id, in sorted character order.

    ``encode(str) -> int64 array``, ``decode(ids) -> str``; ``size`` (V) is the number of characters, the
    number of classes a language model predicts.  A character not in the vocabulary is an error naming it.
    """

    def __init__(self, text: str):
        if not isinstance(text, str) or not text:
            raise ValueError(f"CharVocab: 'text' must be a non-empty string, got {type(text).__name__}")
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}
        self._table = np.array(self.chars)

    @property
    def size(self) -> int:
        return len(self.chars)

    def __len__(self):
        return len(self.chars)

    def encode(self, s: str) -> np.ndarray:
        if not isinstance(s, str):
            raise TypeError(f"CharVocab.encode: 's' must be a string, got {type(s).__name__}")
        try:
            return np.fromiter((self.index[c] for c in s), dtype=np.int64, count=len(s))
        except KeyError as e:
            raise ValueError(f"CharVocab.encode: character {e.args[0]!r} is not in the vocabulary of "
                             f"{self.size} characters") from None

    def decode(self, ids) -> str:
        ids = np.asarray(ids)
        if ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"CharVocab.decode: 'ids' must be integers in [0, {self.size - 1}], got dtype "
                             f"{ids.dtype} with values in [{ids.min()}, {ids.max()}]")
        return "".join(self._table[ids.reshape(-1)])

    def __repr__(self):
        return f"CharVocab({self.size} characters)"


def split_by_position(ids, val: float = 0.1):
    """``(train, val)``: the first ``1 - val`` of the sequence and the last ``val`` (10 % by default).

    The split is by position, not by random sampling, so it needs no seed and is always the same: windows
    drawn from the training part never overlap validation text (a random split of overlapping windows would
    let the model see validation characters while training).
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"split_by_position: 'ids' must be 1-D, got shape {ids.shape}")
    val = check_fraction("val", val, low_open=True)
    cut = len(ids) - int(round(val * len(ids)))
    if cut < 2 or len(ids) - cut < 2:
        raise ValueError(f"split_by_position: {len(ids)} ids are too few to split with val={val}")
    return ids[:cut], ids[cut:]


def random_windows(ids, T: int, batch_size: int, rng=None):
    """A batch of ``batch_size`` windows of length ``T`` at random start positions, and their targets.

    Returns ``(X, Y)``, both (batch_size, T) int64, with ``Y[b, t] = ids[start_b + t + 1]``: the character
    after each input character.  ``rng`` (a Generator or seed) draws the starts, uniformly over every start
    that fits, so the same seed gives the same batches.
    """
    ids = np.asarray(ids)
    T = check_int("T", T, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    if ids.ndim != 1 or len(ids) < T + 1:
        raise ValueError(f"random_windows: 'ids' must be 1-D with at least T + 1 = {T + 1} entries, got shape "
                         f"{ids.shape}")
    starts = check_rng("rng", rng, who="random_windows").integers(0, len(ids) - T, size=batch_size)
    offsets = starts[:, None] + np.arange(T)
    return ids[offsets], ids[offsets + 1]


def sequential_windows(ids, T: int, max_windows: int | None = None):
    """Consecutive non-overlapping windows ``(X, Y)`` (K, T) covering ``ids`` from the start, for evaluation.

    ``max_windows`` keeps only the first K; the final partial window is dropped.
    """
    ids = np.asarray(ids)
    T = check_int("T", T, 1)
    K = (len(ids) - 1) // T
    if max_windows is not None:
        K = min(K, check_int("max_windows", max_windows, 1))
    if ids.ndim != 1 or K < 1:
        raise ValueError(f"sequential_windows: 'ids' must be 1-D with at least T + 1 = {T + 1} entries, got shape "
                         f"{ids.shape}")
    X = ids[:K * T].reshape(K, T)
    Y = ids[1:K * T + 1].reshape(K, T)
    return X, Y
