"""Writing files so that nothing the user saved is ever lost or half-written.

Every writer in the package goes through ``atomic_write``: the bytes go to a temporary file in the target's
folder, which is then renamed over the target with ``os.replace`` (atomic on POSIX and Windows).  A crash
midway leaves the old file intact and no stray temporary behind.
"""
from __future__ import annotations

import contextlib
import os
import tempfile

import numpy as np

__all__ = ["atomic_write", "atomic_write_text", "save_npz", "load_npz"]


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_write(path, binary: bool = True):
    """Context manager yielding a file object; on a clean exit it replaces ``path`` with what was written.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> with atomic_write(p, binary=False) as f:
    ...     _ = f.write("hello")
    >>> open(p).read()
    'hello'
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=suffix, dir=folder)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _default_mode())        # mkstemp makes the file private; a saved file is not
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path, binary=False) as f:
        f.write(text)


def save_npz(path, arrays: dict) -> str:
    """Save a dict of arrays to ``path`` (must end in .npz) atomically; returns the path."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"save_npz: 'path' must end with .npz, got {path!r}")
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return path


def load_npz(path) -> dict:
    """Read a .npz written by ``save_npz`` into a dict, refusing pickled objects (``allow_pickle=False``)."""
    with np.load(os.fspath(path), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}
