"""``nn-scratch demo`` end to end, its determinism, and its one-line errors."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from nn_scratch.cli import FIGURE_FILES, main
from nn_scratch.trainer import History

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_full_default_demo_on_digits(tmp_path):
    """The README's first line, as a user runs it (``python -m nn_scratch``), in a temporary folder."""
    out = tmp_path / "run"
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", "nn_scratch", "demo", "--out", str(out), "--no-progress"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    for k, what in enumerate(("gradient check", "loss at chance", "overfit 20 examples",
                              "learning-rate range test", "training", "test accuracy"), start=1):
        assert any(line.startswith(f"[{k}/6] {what}") for line in lines), proc.stdout
    assert re.search(r"\[1/6\] gradient check\s+Gradient check of .*: PASS", proc.stdout)
    assert re.search(r"\[2/6\] loss at chance\s+PASS: 2\.3\d+ vs ln 10 = 2\.3026", proc.stdout)
    acc = float(re.search(r"test accuracy (\d\.\d+)", proc.stdout).group(1))
    assert acc >= 0.95, proc.stdout

    names = set(os.listdir(out))
    assert {"report.md", "history.json", "history.csv", "history_steps.csv", "model.npz", "checkpoints"} <= names
    assert set(FIGURE_FILES) <= names
    for f in FIGURE_FILES:
        assert (out / f).read_bytes()[:4] == b"\x89PNG"
    ckpts = os.listdir(out / "checkpoints")
    assert len(ckpts) == 1 and ckpts[0].startswith("best_epoch") and ckpts[0].endswith(".npz")
    with np.load(out / "checkpoints" / ckpts[0], allow_pickle=False) as f:
        assert "model/layers.0.W" in f.files
    with np.load(out / "model.npz", allow_pickle=False) as f:
        assert f["model/layers.0.W"].shape == (64, 128) and f["standardizer/mean"].shape == (1,)

    report = (out / "report.md").read_text()
    assert f"**{100 * acc:.2f} %**" in report
    for f in FIGURE_FILES:
        assert f"]({f})" in report
    assert "Tukey outliers" in report and "update/weight ratio" in report
    h = History.from_json(out / "history.json")
    assert len(h) == len(h.epochs["val_loss"]) >= 1 and "per_sample_loss" in h.monitors
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert {"epoch", "train_loss", "train_loss_eval", "val_loss", "val_acc"} <= set(header)


def _numbers(stdout):
    """The printed lines without timings and paths: what must repeat exactly for the same seed."""
    return [re.sub(r"\(\d+\.\d s( in all)?\)| in \d+\.\d s", "", line) for line in stdout.splitlines()
            if not line.startswith(("nn-scratch demo", "wrote"))]


def test_same_seed_same_numbers(tmp_path, capsys):
    argv = ["demo", "--epochs", "2", "--hidden", "32", "--no-progress", "--no-figures", "--seed", "3"]
    assert main(argv + ["--out", str(tmp_path / "a")]) == 0
    first = capsys.readouterr().out
    assert main(argv + ["--out", str(tmp_path / "b")]) == 0
    second = capsys.readouterr().out
    assert _numbers(first) == _numbers(second) and len(_numbers(first)) >= 7
    ha, hb = (History.from_json(tmp_path / d / "history.json") for d in "ab")
    assert ha.equals(hb, ignore=("time",)), ha.differences(hb)
    assert (tmp_path / "a" / "report.md").read_text().count("|") > 20
    assert not [f for f in os.listdir(tmp_path / "a") if f.endswith(".png")]      # --no-figures


@pytest.mark.parametrize("argv,needle", [
    (["demo", "--epochs", "0"], "--epochs"),
    (["demo", "--dataset", "imagenet"], "--dataset"),
    (["demo", "--hidden", "12,x"], "--hidden"),
    (["demo", "--bogus"], "--bogus"),
    (["--seed", "-1"], "--seed"),
])
def test_bad_option_is_one_line_and_nonzero(argv, needle, capsys, tmp_path):
    assert main(argv + ["--out", str(tmp_path / "never")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nn-scratch: error:") and needle in err
    assert "Traceback" not in err
    assert not (tmp_path / "never").exists()


def test_missing_mnist_dir_is_a_clear_error(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("NN_SCRATCH_DATA", None)
    proc = subprocess.run([sys.executable, "-m", "nn_scratch", "demo", "--dataset", "mnist", "--data-dir",
                           str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "mnist" in proc.stderr and "missing" in proc.stderr and "get_datasets.py" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_a_run_shorter_than_the_update_ratio_sampling_still_reports(tmp_path, capsys):
    # two steps in all: no update ratio is recorded (every 10th step), and the report says so
    argv = ["demo", "--limit", "60", "--epochs", "1", "--no-progress", "--no-figures", "--out", str(tmp_path / "r")]
    assert main(argv) == 0
    assert "none recorded" in (tmp_path / "r" / "report.md").read_text()
