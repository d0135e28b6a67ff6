"""The README's Python examples run, and print what their comments say."""
import contextlib
import io
import re

from conftest import REPO


def python_blocks():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_examples():
    assert len(python_blocks()) >= 2


def test_readme_examples_run_and_print_true():
    for block in python_blocks():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
        # every print's comment states what it prints; check each
        printed = out.getvalue().strip().splitlines()
        stated = re.findall(r"print\(.*\)\s+# (\S+)", block)
        assert printed == [s.rstrip(":;") for s in stated], block


def test_quickstart_lines():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert 'python -m pip install -e ".[test]" && python -m pytest' in lines
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert 'python -m pip install -e ".[test]" && python -m pytest' in ci
