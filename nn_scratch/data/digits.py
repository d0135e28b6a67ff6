"""The embedded default data set: the UCI 8x8 handwritten digits, shipped inside the package.

The file ``digits.csv.gz`` next to this module is the original (as distributed with scikit-learn):
1797 rows of 65 integers, 64 pixel counts in 0..16 (an 8x8 image, row by row) then the label 0..9.
Licence CC BY 4.0 -- see ``LICENSE-digits.txt`` in the same folder.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import io
from importlib import resources

import numpy as np

from ._checks import check_image_options

DIGITS_FILE = "digits.csv.gz"
DIGITS_MD5 = "9b335364a7bfd63947c7480a5bd51f2d"
DIGITS_SHAPE = (1797, 65)
#: Number of images per label 0..9 in the full set.
DIGITS_LABEL_COUNTS = (178, 182, 177, 183, 181, 182, 181, 179, 174, 180)


@functools.lru_cache(maxsize=1)
def _read_digits():
    """Parse the embedded CSV once -> (pixels uint8 (1797, 64), labels int64 (1797,)), read-only."""
    raw = resources.files(__package__).joinpath(DIGITS_FILE).read_bytes()
    if hashlib.md5(raw).hexdigest() != DIGITS_MD5:
        raise OSError(f"the embedded {DIGITS_FILE} is corrupt (md5 {hashlib.md5(raw).hexdigest()}, "
                      f"expected {DIGITS_MD5}); reinstall nn_scratch")
    table = np.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",", dtype=np.int64)
    if table.shape != DIGITS_SHAPE:
        raise OSError(f"the embedded {DIGITS_FILE} has shape {table.shape}, expected {DIGITS_SHAPE}")
    pixels = table[:, :64].astype(np.uint8)
    labels = np.ascontiguousarray(table[:, 64])
    pixels.flags.writeable = False
    labels.flags.writeable = False
    return pixels, labels


def load_digits(dtype=np.float32, scale=True, return_images=False):
    """Load the 1797 embedded 8x8 digit images; no download, no files outside the package.

    Parameters
    ----------
    dtype : numpy dtype of X (default float32). With ``scale=False`` an integer dtype such as uint8 is
        allowed and gives the raw counts.
    scale : if True, divide the pixel counts 0..16 by 16 so X lies in [0, 1]; if False keep 0..16.
    return_images : if True, X has shape (N, 8, 8) instead of (N, 64).

    Returns
    -------
    X : (1797, 64) or (1797, 8, 8) array of ``dtype``; a fresh array the caller may modify.
    y : (1797,) int64 labels 0..9.

    Example
    -------
    >>> X, y = load_digits()
    >>> X.shape, X.dtype, y.shape, float(X.max())
    ((1797, 64), dtype('float32'), (1797,), 1.0)
    """
    dt, _ = check_image_options(dtype, scale, limit=None)
    pixels, labels = _read_digits()
    X = pixels.astype(dt)
    if scale:
        X /= dt.type(16)
    if return_images:
        X = X.reshape(-1, 8, 8)
    return X, labels.copy()
