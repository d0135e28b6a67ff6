"""Data for nn_scratch: the embedded digits, loaders for standard files, synthetic sets, splits, batches.

* ``load_digits()``                       -- 1797 8x8 digits shipped in the package (no download)
* ``load_mnist``, ``load_fashion_mnist``  -- the four original IDX ``.gz`` files each, checksum-verified
* ``load_cifar10``                        -- the binary version (``cifar-10-batches-bin``)
* ``synthetic``: ``make_spiral``, ``make_gaussians``, ``make_sinusoid_classification``,
  ``make_sinusoid_regression``, ``make_rectangles`` (label noise on the classification sets)
* ``text``: ``load_tinyshakespeare`` (shipped in the package), ``CharVocab``, ``split_by_position``,
  ``random_windows`` -- character-level language modelling (``nn_scratch.generate`` samples from a model)
* ``train_val_test_split``, ``Standardizer``, ``batches``   -- seeded splits, scaling, minibatches

Files are looked for in ``data_dir``, else ``$NN_SCRATCH_DATA``, else ``./datasets``; fetch them with
``python datasets/get_datasets.py mnist fashion-mnist cifar10``.
"""
from . import synthetic, text
from .cifar import CIFAR10_CLASSES, load_cifar10
from .digits import load_digits
from .files import CorruptDatasetError, DatasetError, DatasetNotFoundError, resolve_data_dir
from .idx import read_idx, write_idx
from .mnist import FASHION_MNIST_CLASSES, load_fashion_mnist, load_mnist
from .splits import Split, Standardizer, batches, num_batches, split_indices, train_val_test_split
from .synthetic import (make_gaussians, make_rectangles, make_sinusoid, make_sinusoid_classification,
                        make_sinusoid_regression, make_spiral)

__all__ = [
    "load_digits", "load_mnist", "load_fashion_mnist", "load_cifar10", "CIFAR10_CLASSES", "FASHION_MNIST_CLASSES",
    "DatasetError", "DatasetNotFoundError", "CorruptDatasetError", "resolve_data_dir", "read_idx", "write_idx",
    "make_spiral", "make_gaussians", "make_sinusoid", "make_sinusoid_classification",
    "make_sinusoid_regression", "make_rectangles", "synthetic", "text",
    "Split", "train_val_test_split", "split_indices", "Standardizer", "batches", "num_batches",
]
