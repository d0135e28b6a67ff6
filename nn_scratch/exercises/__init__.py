"""Exercises the package grades: you write a function, and the grader says whether it is right -- and when
it is not, which classic mistake it looks like and what to look at.

From the command line::

    nn-scratch exercise list                                   # the exercises in course order
    nn-scratch exercise start affine_backward --dir mywork     # writes mywork/affine_backward.py
    nn-scratch exercise check mywork/affine_backward.py        # exit 0 pass, 1 fail, 2 cannot load

From Python::

    from nn_scratch import exercises
    result = exercises.check("relu_backward", lambda dout, x: dout * (x > 0))
    print(result.passed)        # True; print(result) shows the report

Each exercise has the CS231n contract a learner meets elsewhere (``affine_backward(dout, x, w, b) -> (dx, dw,
db)``, ...).  Grading runs hand-worked cases (stated in the exercise's docstring), random cases against the
package's own implementation (``exercises.reference`` calls it in the exercise's form) and, for a backward,
the package's gradient checker on your function.  When a case fails, every planted bug of the catalogue
(``exercises.catalogue``) for that exercise runs on the same inputs; a match names the mistake.
``check_file`` grades a learner's file in a separate process with a time limit, so a file that loops
forever, prints, or imports something missing gets a one-line report instead of a hang or a traceback.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

from ..files import atomic_write_text
from ._exercises import EXERCISES, Exercise
from ._grading import Result, grade
from .catalogue import CATALOGUE, Mistake, get_mistake, mistakes_for

__all__ = ["EXERCISES", "Exercise", "Result", "CATALOGUE", "Mistake", "mistakes_for", "get_mistake", "names",
           "get", "check", "template", "start", "check_file", "listing", "command", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 30.0


def names() -> list:
    """The exercise names in course order."""
    return [ex.name for ex in EXERCISES]


def get(name: str) -> Exercise:
    for ex in EXERCISES:
        if ex.name == name:
            return ex
    raise KeyError(f"unknown exercise {name!r}; the exercises are: {', '.join(names())}")


def check(name: str, function) -> Result:
    """Grade ``function`` as exercise ``name``; returns a ``Result`` (``.passed``, ``.mistake``, ``str()`` is the
    report).  Runs in this process, without a time limit: use ``check_file`` for code you do not trust."""
    return grade(get(name), function)


def listing() -> str:
    """One line per exercise, in course order (what ``nn-scratch exercise list`` prints)."""
    width = max(len(n) for n in names())
    lines = [f"{k:>2}. {ex.name:<{width}}  tutorial {ex.tutorial}  {ex.summary}" for k, ex in enumerate(EXERCISES, 1)]
    lines.append("start one with: nn-scratch exercise start NAME [--dir DIR]")
    return "\n".join(lines)


def template(name: str) -> str:
    """The text of the file ``start`` writes: the signature, the contract as a docstring, a worked example,
    and a body that raises NotImplementedError."""
    ex = get(name)
    k = names().index(name) + 1
    filename = f"{name}.py"
    runs = (f"the hand-worked case below, random cases against {ex.against}, and the package's gradient checker "
            f"on your function" if ex.gradcheck is not None else
            f"the hand-worked case below and random cases against {ex.against}")
    mistakes = "; ".join(m.title for m in mistakes_for(name))
    head = textwrap.fill(f"The grader runs {runs}. When something is off it names the classic mistake it looks "
                         f"like ({mistakes}).", 100)
    example = textwrap.fill(ex.example, 96, initial_indent="        ", subsequent_indent="        ")
    tail = textwrap.fill(f"Only numpy is needed. The package's own solution, after you have tried: {ex.see}.", 100)
    return f'''"""Exercise {k} of {len(EXERCISES)} of the nn_scratch course (tutorial {ex.tutorial}): {name}.

{ex.summary[0].upper() + ex.summary[1:]}. Write the body of {name} below, then grade it:

    nn-scratch exercise check {filename}

{head}
{tail}
"""
import numpy as np


def {ex.signature}:
    """{ex.doc}

    Worked example (the grader's first case):
{example}
    """
    raise NotImplementedError("write {name}, then run: nn-scratch exercise check {filename}")
'''


def start(name: str, directory=".", overwrite: bool = False) -> str:
    """Write ``directory/NAME.py`` (the ``template``); refuses to overwrite unless ``overwrite``.  Returns the path."""
    text = template(name)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}.py")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} already exists (your work?); pass --force to replace it with a fresh start")
    atomic_write_text(path, text)
    return path


def check_file(path, timeout: float = DEFAULT_TIMEOUT):
    """Grade the exercise functions defined in the learner's file ``path`` in a separate Python process.

    Returns ``(status, text)``: status 0 when every exercise function in the file passes, 1 when one fails
    (or does not return within ``timeout`` seconds), 2 when the file cannot be loaded (missing, a syntax
    error, a failing import, no exercise function in it, or an import that does not finish); ``text`` is the
    report (status 0/1) or one line saying why (status 2).
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise ValueError(f"check_file: 'timeout' must be a positive number of seconds, got {timeout!r}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        return 2, f"cannot load {path}: no such file"
    if not path.endswith(".py"):
        return 2, f"cannot load {path}: expected a Python file ending in .py"
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_root] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
               MPLBACKEND="Agg", OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
    with tempfile.TemporaryDirectory() as tmp:
        status_file = os.path.join(tmp, "status.json")
        status, timed_out, rc, stderr = _run_child(path, status_file, env, timeout)
    stage = status.get("stage")
    if stage == "done":
        return (0 if status["passed"] else 1), status["report"]
    if stage == "load_error":
        return 2, f"cannot load {path}: {status['message']}"
    if stage == "grading":
        name = status.get("current", "your function")
        if timed_out:
            return 1, (f"{name}: FAIL\n  stopped after {timeout:g} s: {name} did not return (an endless loop? "
                       f"a loop that never reaches its end condition?)")
        return 1, f"{name}: FAIL\n  the grading stopped: your code ended the process (exit status {rc})"
    if timed_out and stage in (None, "starting"):
        return 2, f"cannot load {path}: the grading process did not start within 120 s (is the machine very busy?)"
    if timed_out:
        return 2, (f"cannot load {path}: importing it did not finish within {timeout:g} s (code at the top level "
                   f"of the file runs on import: an endless loop there?)")
    err = " ".join((stderr or "").strip().splitlines()[-1:]) if rc else ""
    return 2, f"cannot load {path}: the grading process ended early (exit status {rc}) {err}".strip()


def _read_status(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _run_child(path, status_file, env, timeout, startup=120.0):
    """Run the grading child; the time limit counts only the learner's code: the import of the file, then each
    function's grading, each on its own clock.  The child's own start (Python, NumPy, nn_scratch) gets
    ``startup`` seconds, however busy the machine.  Returns (status, timed_out, exit code, stderr)."""
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "nn_scratch.exercises._run", os.path.abspath(path), status_file],
                                env=env, stdout=subprocess.DEVNULL, stderr=err, cwd=os.path.dirname(os.path.abspath(path)))
        phase, since = None, time.monotonic()
        timed_out = False
        while proc.poll() is None:
            status = _read_status(status_file)
            key = (status.get("stage"), status.get("current"))
            if key != phase:
                phase, since = key, time.monotonic()
            limit = startup if phase[0] in (None, "starting") else timeout
            if time.monotonic() - since > limit:
                proc.kill()
                proc.wait()
                timed_out = True
                break
            time.sleep(0.02)
        err.seek(0)
        return _read_status(status_file), timed_out, proc.returncode, err.read()


def command(args) -> int:
    """``nn-scratch exercise list|start|check`` (arguments parsed by ``nn_scratch.cli``); returns the exit status."""
    if args.exercise_command == "list":
        print(listing())
        return 0
    if args.exercise_command == "start":
        try:
            path = start(args.name, args.dir, overwrite=args.force)
        except (KeyError, FileExistsError, OSError) as err:
            print(f"nn-scratch exercise: error: {err.args[0] if err.args else err}", file=sys.stderr)
            return 2
        print(f"wrote {path}: write the body of {args.name}, then run: nn-scratch exercise check {path}")
        return 0
    if args.exercise_command == "check":
        status, text = check_file(args.file, timeout=args.timeout)
        if status == 2:
            print(f"nn-scratch exercise: {text}", file=sys.stderr)
        else:
            print(text)
        return status
    print("usage: nn-scratch exercise list | start NAME [--dir DIR] | check FILE", file=sys.stderr)
    return 2
