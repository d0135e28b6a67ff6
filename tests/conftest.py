"""Shared test fixtures: headless plotting, the real-data folder, and a tutorial runner."""
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

from nn_scratch.gradcheck import check_layer

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NN_SCRATCH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data():
    """The folder holding the original MNIST / Fashion-MNIST / digits files; skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture
def run_tutorial(tmp_path):
    """Run ``tutorials/<name>`` as a script in a fresh process; figures go to a temporary folder.

    Returns ``(stdout, figures_dir)``; fails the test with the script's stderr when it exits non-zero.
    """

    def run(name, timeout=120):
        # one BLAS thread: these small problems run faster without threading overhead on a busy machine
        env = dict(os.environ, MPLBACKEND="Agg", NN_SCRATCH_FIGURES=str(tmp_path / "figures"),
                   OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        proc = subprocess.run([sys.executable, str(REPO / "tutorials" / name)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        return proc.stdout, tmp_path / "figures"

    return run


def assert_layer_gradients(layer, x, rng):
    """Every coordinate of the input and of each parameter against centered differences (the project's
    checker, on a float64 copy): verdict PASS and no kink crossed."""
    report = check_layer(layer, x, rng.standard_normal(layer.forward(x).shape), num_coords=None)
    assert report.passed and report.kinks == 0, str(report)
