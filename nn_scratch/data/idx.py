"""Read and write IDX files, the format of MNIST and Fashion-MNIST, with numpy only.

An IDX file is a 4-byte big-endian magic number ``0x0000TTDD`` (TT = element type, DD = number of
dimensions), then DD big-endian uint32 sizes, then the elements, big-endian, row-major. MNIST images
are magic 2051 = 0x00000803 (uint8, 3 dims: N, 28, 28); labels are 2049 = 0x00000801 (uint8, N).
The files are usually gzip-compressed (``.gz``); both forms are read.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..files import atomic_write
from ._checks import check_int
from .files import corrupt

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32, 0x0D: np.float32, 0x0E: np.float64}
_CODES = {np.dtype(v): k for k, v in _TYPES.items()}


def _is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _read_at_most(f, size, chunk=1 << 24):
    """Read ``size`` bytes (fewer at the end of the stream) in chunks, so a header that promises far more
    than the file holds costs only what is really there, never a huge allocation up front."""
    parts, got = [], 0
    while got < size:
        part = f.read(min(chunk, size - got))
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def read_idx(path, limit=None, expected_magic=None, dataset="IDX"):
    """Parse an IDX file (gzip or plain) -> array of shape (n, *dims[1:]) in native byte order.

    ``limit`` reads only the first ``limit`` items (only that much is decompressed). Raises
    :class:`~nn_scratch.data.files.CorruptDatasetError` naming the file when the magic is not
    ``expected_magic``, the header is short, or the body is shorter or longer than the header says.
    """
    if limit is not None:
        limit = check_int("limit", limit, minimum=1)
    path = Path(path)
    try:
        opener = gzip.open if _is_gzip(path) else open
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4:
                raise corrupt(dataset, path, f"only {len(head)} bytes, too short for an IDX header")
            magic = int.from_bytes(head, "big")
            if expected_magic is not None and magic != expected_magic:
                raise corrupt(dataset, path, f"magic number {magic}, expected {expected_magic}")
            type_code, ndim = head[2], head[3]
            if head[:2] != b"\x00\x00" or type_code not in _TYPES or ndim == 0:
                raise corrupt(dataset, path, f"magic number {magic} is not a valid IDX header")
            dims_raw = f.read(4 * ndim)
            if len(dims_raw) < 4 * ndim:
                raise corrupt(dataset, path, f"header truncated: needs {ndim} sizes")
            dims = np.frombuffer(dims_raw, dtype=">u4").astype(np.int64)
            if not dims.all():
                raise corrupt(dataset, path, f"the header gives a size of 0 (sizes {dims.tolist()}): the file "
                                             "holds no items, nothing to load")
            n = int(dims[0]) if limit is None else min(int(limit), int(dims[0]))
            dt = np.dtype(_TYPES[type_code]).newbyteorder(">")
            item = int(np.prod(dims[1:])) * dt.itemsize
            if opener is open and 4 + 4 * ndim + n * item > path.stat().st_size:
                raise corrupt(dataset, path, f"truncated: the header promises {int(dims[0])} items of {item} "
                                             f"bytes, the file has {path.stat().st_size} bytes")
            body = _read_at_most(f, n * item)
            if len(body) < n * item:
                raise corrupt(dataset, path, f"truncated: the header promises {int(dims[0])} items of {item} "
                                             f"bytes, found {len(body) // item if item else 0} complete items")
            if n == dims[0] and f.read(1):
                raise corrupt(dataset, path, f"longer than its header says ({int(dims[0])} items of {item} bytes)")
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise corrupt(dataset, path, f"the gzip stream is damaged or truncated ({err})") from None
    return np.frombuffer(body, dtype=dt).reshape(n, *dims[1:]).astype(dt.newbyteorder("="))


def write_idx(path, array, compress=None):
    """Write ``array`` as an IDX file (gzip when ``compress`` or the name ends in ``.gz``), atomically.

    Used by the tests to make tiny MNIST-like files; handy to save your own data in the same format.
    """
    array = np.asarray(array)
    if array.dtype not in _CODES or array.ndim == 0:
        raise TypeError(f"'array' must be a non-scalar array of {sorted(map(str, _CODES))}, got {array.dtype}")
    path = Path(path)
    header = bytes([0, 0, _CODES[array.dtype], array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    with atomic_write(path) as f:
        f.write(data)
    return path
