"""The README's Python examples run, and print what their comments say."""
import contextlib
import io
import re

from conftest import REPO, SHARED_DATA


def python_blocks():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_examples():
    assert len(python_blocks()) >= 2


def _stated(block):
    """What each print's comment says it prints: the first word, or everything before a ':' for text."""
    out = []
    for comment in re.findall(r"print\(.*\)\s+# (.+)$", block, flags=re.M):
        first = comment.split()[0].rstrip(":;")
        out.append(comment.strip() if "|" in comment else first)
    return out


def test_readme_examples_run_and_print_true(tmp_path, monkeypatch):
    """Every block runs in a fresh folder: the MNIST recipe with the shared data (skipped without it), the
    model-loading recipe after the demo it names (``nn-scratch demo --out runs/demo``), run here quickly."""
    monkeypatch.chdir(tmp_path)
    ran = 0
    for block in python_blocks():
        if "load_mnist" in block:
            if not (SHARED_DATA / "mnist").is_dir():
                continue
            monkeypatch.setenv("NN_SCRATCH_DATA", str(SHARED_DATA))
        if "runs/demo" in block and not (tmp_path / "runs" / "demo").exists():
            from nn_scratch.cli import main
            with contextlib.redirect_stdout(io.StringIO()):
                assert main(["demo", "--out", "runs/demo", "--epochs", "4", "--no-figures", "--no-progress"]) == 0
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
        # every print's comment states what it prints; check each
        printed = out.getvalue().strip().splitlines()
        assert printed == _stated(block), block
        ran += 1
    assert ran >= 6


def test_quickstart_lines():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert 'python -m pip install -e ".[test]" && python -m pytest' in lines
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert 'python -m pip install -e ".[test]" && python -m pytest' in ci
