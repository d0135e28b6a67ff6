"""Child process of ``exercises.check_file``: load the learner's file, grade it, write the status as JSON.

Usage: ``python -m nn_scratch.exercises._run LEARNER_FILE STATUS_JSON``.  The status file is rewritten at each
stage ("starting", "loading" the learner's file, "grading" with the function being graded, then "done" or
"load_error"), so the parent can time the learner's code alone and tell an import that hangs from a
function that loops.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import traceback

from ..files import atomic_write_text


def _write(path, **status):
    import json
    atomic_write_text(path, json.dumps(status))


def _load_message(err, path):
    if isinstance(err, SyntaxError) and os.path.abspath(err.filename or "") == path:
        return f"line {err.lineno}: SyntaxError: {err.msg}"
    frames = [f for f in traceback.extract_tb(err.__traceback__) if os.path.abspath(f.filename) == path]
    where = f"line {frames[-1].lineno}: " if frames else ""
    msg = " ".join(str(err).split())
    text = f"{where}{type(err).__name__}{': ' + msg if msg else ''}"
    if isinstance(err, ModuleNotFoundError):
        text += " (is it installed? the exercises need only numpy)"
    return text


def main(argv) -> int:
    path, status_file = os.path.abspath(argv[0]), argv[1]
    _write(status_file, stage="starting")
    from . import check, names             # noqa: E402  (our own import: not on the learner's clock)
    _write(status_file, stage="loading")
    printed = io.StringIO()
    try:
        spec = importlib.util.spec_from_file_location("learner_exercise", path)
        module = importlib.util.module_from_spec(spec)
        with contextlib.redirect_stdout(printed):
            spec.loader.exec_module(module)
    except BaseException as err:          # anything the learner's top level does, SystemExit included
        _write(status_file, stage="load_error", message=_load_message(err, path))
        return 0
    found = [(n, getattr(module, n)) for n in names() if callable(getattr(module, n, None))]
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem in dict(found):
        found = [(stem, dict(found)[stem])]
    if not found:
        _write(status_file, stage="load_error",
               message=f"it defines none of the exercise functions (nn-scratch exercise list shows their names)")
        return 0
    reports, passed = [], True
    for name, fn in found:
        _write(status_file, stage="grading", current=name)
        with contextlib.redirect_stdout(printed):
            result = check(name, fn)
        passed = passed and result.passed
        reports.append(str(result))
    text = "\n\n".join(reports)
    lines = printed.getvalue().splitlines()
    if lines:
        first = lines[0] if len(lines[0]) <= 60 else lines[0][:57] + "..."
        text += (f"\n  note: your code printed {len(lines)} line{'s' if len(lines) > 1 else ''} while being graded "
                 f"(the first: {first!r}); fine while debugging, the grader ignores it")
    _write(status_file, stage="done", passed=passed, report=text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
