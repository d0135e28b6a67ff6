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


def _run(argv, cwd, timeout=180):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-m", "nn_scratch", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


FAST = ["--epochs", "1", "--hidden", "16", "--no-progress", "--no-figures"]


def test_limit_is_the_number_of_training_images(tmp_path, capsys):
    assert main(["demo", *FAST, "--limit", "200", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "digits (200 train / 270 validation / 359 test)" in out           # test split stays whole
    report = (tmp_path / "a" / "report.md").read_text()
    assert "200 training, 270 validation, 359 test samples" in report


@pytest.mark.parametrize("limit, needle", [("10", "--limit 10 is too small: the demo needs at least 50"),
                                           ("5000", "--limit 5000 is more than the 1168 training images")])
def test_limit_out_of_range_is_one_line(limit, needle, tmp_path, capsys):
    assert main(["demo", *FAST, "--limit", limit, "--out", str(tmp_path / "never")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err
    assert not (tmp_path / "never").exists()


def test_out_folder_never_mixes_two_runs(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["demo", *FAST, "--out", str(run)]) == 0
    capsys.readouterr()
    (run / "stray.txt").write_text("from the first run")
    assert main(["demo", *FAST, "--out", str(run)]) == 2                      # refused, untouched
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not empty" in err and "--overwrite" in err
    assert (run / "stray.txt").exists()
    assert main(["demo", *FAST, "--out", str(run), "--overwrite"]) == 0      # cleared first
    capsys.readouterr()
    assert not (run / "stray.txt").exists() and (run / "report.md").exists()
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    assert main(["demo", *FAST, "--out", str(other), "--overwrite"]) == 2     # not a run folder: never cleared
    assert "not a demo run" in capsys.readouterr().err and (other / "thesis.tex").exists()
    assert main(["demo", *FAST, "--out", ""]) == 2
    assert "--out" in capsys.readouterr().err


def test_default_run_folders_are_unique_within_one_second(tmp_path):
    """Two runs started together (same second) write two folders under runs/."""
    argv = ["demo", *FAST, "--limit", "60"]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=REPO)
    procs = [subprocess.Popen([sys.executable, "-m", "nn_scratch", *argv], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    folders = sorted(os.listdir(tmp_path / "runs"))
    assert len(folders) == 2 and all((tmp_path / "runs" / f / "report.md").exists() for f in folders)


def test_diverged_run_is_one_line_naming_what_and_what_to_try(tmp_path):
    proc = _run(["demo", *FAST, "--epochs", "2", "--reg", "300", "--out", str(tmp_path / "run")], tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    err = proc.stderr
    assert "training diverged at step" in err and "became NaN/inf" in err
    assert "--reg 300" in err and "try --reg below" in err


def test_version(capsys):
    from nn_scratch import __version__
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"nn-scratch {__version__}"


def test_report_states_the_penalty_share_and_the_outlier_fence(tmp_path, capsys):
    assert main(["demo", "--epochs", "3", "--hidden", "32", "--no-progress", "--no-figures",
                 "--out", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    report = (tmp_path / "r" / "report.md").read_text()
    h = History.from_json(tmp_path / "r" / "history.json")
    pen, obj, data = h.epochs["train_penalty"][-1], h.epochs["train_objective"][-1], h.epochs["train_loss"][-1]
    assert pen > 0 and abs(obj - (data + pen)) < 1e-6 * max(1.0, obj)
    assert f"{pen:.4g} = {100 * pen / obj:.0f} % of the objective {obj:.4g}" in report
    assert "fence Q3 + 1.5 IQR on the raw loss" in report and "are flagged" in report
    assert "tolerance +-0.045" in report
