"""A tensor whose gradients are all exactly zero was not tested: the checker must say so."""
import numpy as np

from nn_scratch.gradcheck import check_model
from nn_scratch.layers import Linear, ReLU, Sequential
from nn_scratch.losses import SoftmaxCrossEntropy


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((6, 5)), rng.integers(0, 3, 6)


def test_zero_output_layer_blinds_the_layers_below_and_the_report_says_so():
    X, y = _data()
    model = Sequential([Linear(5, 8, rng=0), ReLU(), Linear(8, 3, init="zeros")])
    report = check_model(model, SoftmaxCrossEntropy(), X, y, seed=0)
    blind = {r.name for r in report.rows if "nothing was tested" in r.note}
    assert blind == {"x (input)", "layers.0.W", "layers.0.b"}
    assert any("burn-in" in n and "layers.0.W" in n for n in report.notes)
    assert "nothing was tested" in str(report)


def test_random_init_has_no_blind_tensor():
    X, y = _data()
    model = Sequential([Linear(5, 8, rng=0), ReLU(), Linear(8, 3, rng=1)])
    report = check_model(model, SoftmaxCrossEntropy(), X, y, seed=0)
    assert report.passed
    assert not any("nothing was tested" in r.note for r in report.rows)
    assert not any("burn-in" in n for n in report.notes)
