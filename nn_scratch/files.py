"""Writing files so that nothing the user saved is ever lost or half-written.

Every writer in the package goes through ``atomic_write``: the bytes go to a temporary file in the target's
folder, which is then renamed over the target with ``os.replace`` (atomic on POSIX and Windows).  An
exception midway leaves the old file intact and no stray temporary behind.  A process killed outright
(``kill -9``, the OOM killer) cannot clean up: its temporary stays until the next save in that folder, which
removes the temporaries of our own naming (``.tmp_<host>-<pid>_...``) whose process on this host is gone.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import tempfile
import threading
import time

import numpy as np

__all__ = ["atomic_write", "atomic_write_text", "save_npz", "load_npz", "clean_stale_temporaries"]


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]
_OURS = re.compile(r"^\.tmp_(?P<host>[0-9a-f]{6})-(?P<pid>\d+)_[a-z0-9_]+(\.[A-Za-z0-9]+)?$")
_OLD_STYLE = re.compile(r"^\.tmp_[a-z0-9_]{8}(\.[A-Za-z0-9]+)?$")    # before the pid was in the name
_OLD_STYLE_AGE = 3600.0       # seconds: an old-style temporary this old is not being written any more
_live, _live_lock = set(), threading.Lock()


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True               # exists (another user's) or cannot tell: leave its file alone
    return True


def clean_stale_temporaries(folder) -> list:
    """Remove the temporaries ``atomic_write`` left in ``folder`` when its process was killed; return them.

    Only files of our own naming are touched: ``.tmp_<host>-<pid>_...`` made on this host by a process that
    no longer exists (and not being written by this process), and old-style ``.tmp_xxxxxxxx`` files last
    modified more than an hour ago.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    with _live_lock:
        live = set(_live)
    now = time.time()
    for name in names:
        full = os.path.join(folder, name)
        m = _OURS.match(name)
        try:
            if m:
                stale = (m["host"] == _HOST and full not in live and int(m["pid"]) != os.getpid()
                         and not _process_alive(int(m["pid"])))
            else:
                stale = bool(_OLD_STYLE.match(name)) and now - os.path.getmtime(full) > _OLD_STYLE_AGE
            if stale and os.path.isfile(full):
                os.remove(full)
                removed.append(full)
        except OSError:
            continue              # gone already, or not ours to remove
    return removed


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
    clean_stale_temporaries(folder)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp_{_HOST}-{os.getpid()}_", suffix=suffix, dir=folder)
    with _live_lock:
        _live.add(tmp)
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
    finally:
        with _live_lock:
            _live.discard(tmp)


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
