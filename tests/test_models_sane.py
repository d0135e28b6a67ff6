"""Every classifier the README and the demo build passes the package's own sanity checks (issue 8, section 3).

The models are read out of the README's code blocks (each ``Sequential([...])`` whose first layer takes 64
digit pixels or 784 MNIST pixels), so a README edit that breaks the rule fails here.  The tutorials' models
are checked in ``tests/test_tutorial_models.py``.
"""
import math
import re

import numpy as np
import pytest

from conftest import REPO
from nn_scratch import sanity
from nn_scratch.cli import _model
from nn_scratch.data import Standardizer, load_digits
from nn_scratch.layers import Linear, ReLU, Sequential  # noqa: F401  (used by the README's expressions)
from nn_scratch.losses import SoftmaxCrossEntropy


def readme_models():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        for expr in re.findall(r"Sequential\(\[(.*?)\]\)", block, flags=re.S):
            first = re.match(r"\s*Linear\((\d+),", expr)
            if first and int(first.group(1)) in (64, 784):
                found.append((int(first.group(1)), "Sequential([" + re.sub(r"#[^\n]*", "", expr) + "])"))
    return found


def _standardized(X):
    st = Standardizer().fit(X.reshape(-1, 1))
    return st.transform(X.reshape(-1, 1)).reshape(X.shape)


def test_readme_has_models_to_check():
    assert len(readme_models()) >= 4


@pytest.mark.parametrize("D, expr", readme_models())
def test_readme_model_passes_sanity(D, expr, request):
    if D == 64:
        X, y = load_digits()
    else:
        from nn_scratch.data import load_mnist
        X, y = load_mnist(request.getfixturevalue("shared_data"), kind="train", limit=600)
    model = eval(expr)
    report = sanity.run_all(model, SoftmaxCrossEntropy(), _standardized(X)[:600], y[:600])
    assert report.passed, f"{expr}\n{report}"
    r = report["initial_loss"]
    assert abs(r.measured - math.log(10)) <= r.details["tolerance"]


@pytest.mark.parametrize("hidden", [(128,), (256, 128)])
def test_demo_model_passes_sanity(hidden):
    X, y = load_digits()
    report = sanity.run_all(_model(64, hidden, 10, seed=0), SoftmaxCrossEntropy(), _standardized(X)[:600], y[:600])
    assert report.passed, str(report)
