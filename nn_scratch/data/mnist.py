"""MNIST and Fashion-MNIST from their four original IDX ``.gz`` files, checksum-verified.

Files (the same names for both data sets), in ``<data folder>/mnist/`` or ``<data folder>/fashion-mnist/``
(or directly in the data folder)::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz  t10k-images-idx3-ubyte.gz  t10k-labels-idx1-ubyte.gz

Get them with ``python datasets/get_datasets.py mnist fashion-mnist``.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_image_options, check_kind_checksums
from .files import corrupt, find_file, verify_md5
from .idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

#: Published MD5 of each original file (the values torchvision checks), per data set.
#: A test or a user with their own copies may pass ``checksums=`` to the loaders instead.
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def to_float_images(pixels, dt, scale):
    """uint8 pixels -> ``dt``, divided by 255 when ``scale``."""
    X = pixels.astype(dt)
    if scale:
        X /= dt.type(255)
    return X


def _load_idx_pair(dataset, data_dir, kind, flatten, dtype, scale, limit, verify, checksums):
    check_kind_checksums(kind, checksums)
    dt, limit = check_image_options(dtype, scale, limit)
    table = CHECKSUMS[dataset] if checksums is None else checksums
    names = FILES[kind]
    paths = [find_file(data_dir, dataset, name, dataset) for name in names]  # both missing-checks first
    if verify:
        for name, path in zip(names, paths):
            if name not in table:
                raise ValueError(f"'checksums' has no entry for {name!r}; pass verify=False to skip the check")
            verify_md5(path, table[name], dataset)
    images = read_idx(paths[0], limit=limit, expected_magic=IMAGES_MAGIC, dataset=dataset)
    labels = read_idx(paths[1], limit=limit, expected_magic=LABELS_MAGIC, dataset=dataset)
    if images.shape[1:] != (28, 28):
        raise corrupt(dataset, paths[0], f"images are {images.shape[1:]}, expected (28, 28)")
    if images.shape[0] != labels.shape[0]:
        raise corrupt(dataset, paths[1], f"{labels.shape[0]} labels for {images.shape[0]} images in {names[0]}")
    if labels.size and labels.max() > 9:
        raise corrupt(dataset, paths[1], f"label {int(labels.max())} outside 0..9")
    X = to_float_images(images, dt, scale)
    if flatten:
        X = X.reshape(X.shape[0], -1)
    return X, labels.astype(np.int64)


def load_mnist(data_dir=None, kind="train", flatten=True, dtype=np.float32, scale=True, limit=None,
               verify=True, checksums=None):
    """Load MNIST handwritten digits from the original IDX files.

    Parameters
    ----------
    data_dir : folder holding ``mnist/`` (or the files themselves); default ``$NN_SCRATCH_DATA`` or ``./datasets``.
    kind : ``"train"`` (60 000 images) or ``"test"`` (the 10 000 ``t10k`` images).
    flatten : X of shape (N, 784) if True, else (N, 28, 28).
    dtype, scale : X's dtype; with ``scale`` pixels 0..255 are divided by 255 into [0, 1]
        (``scale=False, dtype=np.uint8`` gives the raw bytes).
    limit : keep only the first ``limit`` images (only that much is decompressed; quick for tests).
    verify : check each file's MD5 against ``checksums`` (default: the published values in ``CHECKSUMS``).

    Returns ``X`` (N, 784) or (N, 28, 28) and ``y`` (N,) int64 labels 0..9. A missing file raises
    ``DatasetNotFoundError`` and a corrupt one ``CorruptDatasetError``, each naming the file and the fix.
    """
    return _load_idx_pair("mnist", data_dir, kind, flatten, dtype, scale, limit, verify, checksums)


def load_fashion_mnist(data_dir=None, kind="train", flatten=True, dtype=np.float32, scale=True, limit=None,
                       verify=True, checksums=None):
    """Load Fashion-MNIST (Zalando's 28x28 clothing images, 10 classes named in ``FASHION_MNIST_CLASSES``).

    Same files, options and returns as :func:`load_mnist`, looked for in ``<data folder>/fashion-mnist/``.
    """
    return _load_idx_pair("fashion-mnist", data_dir, kind, flatten, dtype, scale, limit, verify, checksums)
