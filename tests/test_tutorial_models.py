"""Every classifier the tutorials train passes the package's own sanity checks (``sanity.run_all``): loss at
chance (the output layers start at zero), regularization raises the loss, 20 examples memorized, signal
learned.  The architectures are the tutorials' own, built here the same way.  (Tutorial 03's softmax
regression is left out: its only weight matrix starts at zero, so the L2 penalty is 0 at every strength and
``check_regularization_raises_loss`` cannot see it grow -- a limit of that check, not of the model.)"""
import numpy as np
import pytest

from nn_scratch import sanity
from nn_scratch.data import Standardizer, load_digits
from nn_scratch.data.synthetic import make_sinusoid_classification
from nn_scratch.layers import BatchNorm, Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU, Sequential, Tanh
from nn_scratch.losses import SoftmaxCrossEntropy


def digits(images=False):
    X, y = load_digits(return_images=images)
    if images:
        return X[:, None], y
    return Standardizer().fit(X).transform(X), y


def sinusoid():
    X, y = make_sinusoid_classification(400, label_noise=0.1, seed=0)
    return Standardizer().fit(X).transform(X), y


def deep_tanh():                                                # tutorial 06, the Xavier network
    layers = []
    for i, (a, b) in enumerate(zip([64, 100, 100, 100], [100, 100, 100, 100])):
        layers += [Linear(a, b, init="xavier", rng=i), Tanh()]
    return Sequential(layers + [Linear(100, 10, init="zeros")])


MODELS = {
    "02 small_init": (lambda: Sequential([Linear(64, 50, rng=0), ReLU(), Linear(50, 10, init="zeros")]), digits),
    "04 make_model": (lambda: Sequential([Linear(64, 64, rng=1), ReLU(), Linear(64, 10, init="zeros")]), digits),
    "05 noisy sinusoid MLP": (lambda: Sequential([Linear(2, 100, rng=0), ReLU(), Linear(100, 100, rng=1), ReLU(),
                                                  Linear(100, 2, init="zeros")]), sinusoid),
    "06 mlp": (lambda: Sequential([Linear(64, 100, rng=0), ReLU(), Linear(100, 10, init="zeros")]), digits),
    "06 deep tanh, xavier": (deep_tanh, digits),
    "07 mlp with dropout": (lambda: Sequential([Linear(64, 128, rng=0), ReLU(), Dropout(0.5, rng=2),
                                                Linear(128, 10, init="zeros")]), digits),
    "08 convnet + batchnorm": (lambda: Sequential([Conv2D(1, 16, 5, padding=2, rng=0, input_grad=False), BatchNorm(16),
                                                   ReLU(), MaxPool2D(2), Flatten(), Linear(256, 10, init="zeros")]),
                               lambda: digits(images=True)),
    "09 make_mlp": (lambda: Sequential([Linear(64, 48, rng=0), ReLU(), Linear(48, 10, init="zeros")]), digits),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_tutorial_model_passes_the_sanity_checks(name):
    build, data = MODELS[name]
    X, y = data()
    report = sanity.run_all(build, SoftmaxCrossEntropy(), X[:300], y[:300])
    assert report.passed, f"{name}:\n{report}"
    initial = next(r for r in report.results if r.name == "initial_loss")
    assert initial.measured == pytest.approx(np.log(len(np.unique(y))), abs=1e-3)   # exactly chance: W = 0
