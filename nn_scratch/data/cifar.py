"""CIFAR-10, binary version: ``cifar-10-batches-bin/data_batch_1.bin`` .. ``data_batch_5.bin``, ``test_batch.bin``.

Each file holds 10 000 records of 3073 bytes: one label byte (0..9), then 1024 red, 1024 green and
1024 blue pixel bytes of a 32x32 image, each plane row by row. The published checksum is the MD5 of the
archive ``cifar-10-binary.tar.gz`` (checked by ``datasets/get_datasets.py`` when it downloads); the
extracted batch files have no published checksums, so the loader verifies their *structure*: exact size
(10 000 records), labels in 0..9. Pass ``checksums={filename: md5}`` to check MD5s of your own copies.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_image_options, check_kind_checksums
from .files import corrupt, find_file, verify_md5
from .mnist import to_float_images

SUBFOLDER = "cifar-10-batches-bin"
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILES = ("test_batch.bin",)
RECORD = 1 + 3 * 32 * 32
RECORDS_PER_FILE = 10_000
#: MD5 of the official archive (https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz).
ARCHIVE_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _read_batch(path, n_records, verify, dataset="cifar10"):
    """The first ``n_records`` records of one batch file -> (uint8 (n, 3, 32, 32), int64 (n,))."""
    size = path.stat().st_size
    if size == 0:
        raise corrupt(dataset, path, "the file is empty (0 records)")
    if size % RECORD:
        raise corrupt(dataset, path, f"size {size} bytes is not a whole number of {RECORD}-byte records "
                                     "(truncated?)")
    if verify and size != RECORD * RECORDS_PER_FILE:
        raise corrupt(dataset, path, f"{size // RECORD} records, expected {RECORDS_PER_FILE}")
    n = min(n_records, size // RECORD)
    with open(path, "rb") as f:
        raw = np.frombuffer(f.read(n * RECORD), dtype=np.uint8).reshape(n, RECORD)
    labels = raw[:, 0].astype(np.int64)
    if labels.size and labels.max() > 9:
        raise corrupt(dataset, path, f"label {int(labels.max())} outside 0..9 (not a CIFAR-10 batch?)")
    return raw[:, 1:].reshape(n, 3, 32, 32), labels


def load_cifar10(data_dir=None, kind="train", flatten=False, dtype=np.float32, scale=True, limit=None,
                 verify=True, checksums=None):
    """Load CIFAR-10 (32x32 colour images, 10 classes named in ``CIFAR10_CLASSES``) from the binary batches.

    Parameters
    ----------
    data_dir : folder holding ``cifar-10-batches-bin/`` (or the ``.bin`` files themselves); default
        ``$NN_SCRATCH_DATA`` or ``./datasets``.
    kind : ``"train"`` (data_batch_1..5, 50 000 images) or ``"test"`` (test_batch, 10 000 images).
    flatten : X of shape (N, 3072) if True, else (N, 3, 32, 32) (channels first, as stored).
    dtype, scale : X's dtype; with ``scale`` pixels 0..255 are divided by 255 into [0, 1].
    limit : keep only the first ``limit`` images (only the batch files needed are read).
    verify : check each file's structure (10 000 records of 3073 bytes, labels 0..9) and, for files named
        in ``checksums``, their MD5.

    Returns ``X`` and ``y`` (N,) int64. Missing files raise ``DatasetNotFoundError`` and corrupt ones
    ``CorruptDatasetError``, naming the file and how to fetch it.
    """
    check_kind_checksums(kind, checksums)
    dt, limit = check_image_options(dtype, scale, limit)
    names = TRAIN_FILES if kind == "train" else TEST_FILES
    paths = [find_file(data_dir, SUBFOLDER, name, "cifar10") for name in names]
    if verify and checksums:
        for name, path in zip(names, paths):
            if name in checksums:
                verify_md5(path, checksums[name], "cifar10")
    remaining = np.inf if limit is None else limit
    images, labels = [], []
    for path in paths:
        if remaining <= 0:
            break
        x, y = _read_batch(path, remaining, verify)
        images.append(x)
        labels.append(y)
        remaining -= len(y)
    X = to_float_images(np.concatenate(images), dt, scale)
    if flatten:
        X = X.reshape(X.shape[0], -1)
    return X, np.concatenate(labels)
