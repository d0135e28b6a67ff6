"""Where data files live, how they are checked, and the errors that say what to do when they are not right.

A loader looks for its files in one folder: the ``data_dir`` argument, else the ``NN_SCRATCH_DATA``
environment variable, else ``./datasets`` (relative to the current directory). Inside it, each data set
has its own subfolder (``mnist/``, ``fashion-mnist/``, ``cifar-10-batches-bin/``); files placed directly
in the folder are accepted too.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

ENV_VAR = "NN_SCRATCH_DATA"
DEFAULT_DIR = "datasets"


class DatasetError(Exception):
    """Base class: a data file is missing or not what it should be."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A data file is not in the data folder (the message says where it looked and how to fetch it)."""


class CorruptDatasetError(DatasetError, ValueError):
    """A data file is there but its checksum or structure is wrong (truncated, wrong magic, ...)."""


def fetch_hint(dataset):
    return f"get it with: python datasets/get_datasets.py {dataset} --dest <data folder>"


def resolve_data_dir(data_dir=None):
    """The folder to search: ``data_dir``, else ``$NN_SCRATCH_DATA``, else ``./datasets``."""
    if data_dir is None:
        data_dir = os.environ.get(ENV_VAR) or DEFAULT_DIR
    if not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"'data_dir' must be a path (str or os.PathLike) or None, got {type(data_dir).__name__}")
    return Path(data_dir).expanduser()


def find_file(data_dir, subfolder, filename, dataset):
    """Path of ``filename`` in ``data_dir/subfolder`` or directly in ``data_dir``; clear error if absent."""
    root = resolve_data_dir(data_dir)
    candidates = [root / subfolder / filename, root / filename]
    for path in candidates:
        if path.is_file():
            return path
    looked = " or ".join(str(p) for p in candidates)
    origin = ("from the data_dir argument" if data_dir is not None else
              f"from ${ENV_VAR}" if os.environ.get(ENV_VAR) else "the default ./datasets")
    raise DatasetNotFoundError(f"{dataset}: file {filename!r} is missing (looked in {looked}; data folder is "
                               f"{origin}). {fetch_hint(dataset)}, or pass data_dir=/set ${ENV_VAR}.")


def md5_of(path, chunk=1 << 20):
    """Hex MD5 of a file, read in chunks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def verify_md5(path, expected, dataset):
    """Raise :class:`CorruptDatasetError` unless the file's MD5 is ``expected``."""
    actual = md5_of(path)
    if actual != expected.lower():
        raise CorruptDatasetError(f"{dataset}: file {str(path)!r} is corrupt or not the original (md5 {actual}, "
                                  f"expected {expected}). Delete it and {fetch_hint(dataset)}.")


def corrupt(dataset, path, what):
    """A :class:`CorruptDatasetError` for a structural problem ``what`` in ``path``."""
    return CorruptDatasetError(f"{dataset}: file {str(path)!r} is corrupt: {what}. "
                               f"Delete it and {fetch_hint(dataset)}.")
