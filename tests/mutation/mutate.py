#!/usr/bin/env python
"""Mutation testing: plant one small bug at a time in a module and see whether the tests notice.

    python tests/mutation/mutate.py nn_scratch/gradcheck.py                 # every mutant
    python tests/mutation/mutate.py nn_scratch/optim.py --sample 120 --seed 0
    python tests/mutation/mutate.py nn_scratch/losses.py --list             # only list the mutants
    python tests/mutation/mutate.py nn_scratch/gradcheck.py:100 nn_scratch/losses.py:60   # per-module samples

How it works
------------
* The repository is copied to a temporary folder and every mutant is written *there*; tests run with
  ``PYTHONPATH=<copy>`` and ``cwd=<copy>``.  The working tree the command runs from is never written.
* Mutants come from the module's syntax tree, one change each (``--list`` shows them all):
  comparison flips (``<`` to ``>=``, ``==`` to ``!=``) and boundary changes (``<`` to ``<=``), arithmetic
  swaps (``+``/``-``, ``*``/``/``, ``**`` to ``*``, ``&``/``|``), dropped terms (``a + b`` to ``a``,
  ``a * b`` to ``a``), dropped unary ``-`` and ``not``, ``and``/``or``, constants (0 to 1, 1 to 0,
  n to n + 1, a float doubled, True/False), min/max-like name swaps, dropped slice bounds, ``return x`` to
  ``return None``, and dropped statements (calls, augmented or attribute/item assignments, ``raise``).
  Not mutated: docstrings, f-strings, the arguments of ``raise`` (error messages), class-level field
  declarations, cosmetic keywords (figure sizes, colours, ``stacklevel``), lines marked
  ``# pragma: no mutate``.
* Once per module, the whole suite runs traced (also in the Python subprocesses the tests start) to learn
  which test files execute which of its lines.  A mutant on a line no test executes survives without a
  run.  Otherwise it first meets the module's related test files (``tests/test_<name>*.py``; for a layer
  ``test_layers.py`` and ``test_layer_gradients.py``; ``--tests`` overrides) that run its line, with ``-x``
  and a timeout, and only if it survives them, the other test files that run its line (all of them when
  the line runs at import; for a default argument, the files that call its function).  Tutorial tests
  are deselected (``-k "not tutorial"``).  A mutant is *caught* when pytest fails or times out, and *survives* when every test passes.
* One pytest process at a time, one BLAS thread: the run shares the machine politely.

Reading survivors
-----------------
A survivor is a change in the code that no test notices.  Either a test is missing (write one that pins
the behaviour a user relies on: not a copy of the code), or the mutant is *equivalent*: the same behaviour
written differently, e.g. ``<`` vs ``<=`` where equality cannot happen for floats that matter, ``x * 1.0``
vs ``x * 2.0`` on a value multiplied by zero, or a dropped ``copy()`` whose array is never written.
Equivalent mutants cannot be killed by any test; say why in the report and leave them.
"""
from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

COMPARE_BOUNDARY = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
COMPARE_NEGATE = {ast.Lt: ast.GtE, ast.LtE: ast.Gt, ast.Gt: ast.LtE, ast.GtE: ast.Lt, ast.Eq: ast.NotEq,
                  ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
BINOP_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
              ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd}
NAME_SWAP = {"min": "max", "max": "min", "minimum": "maximum", "maximum": "minimum", "argmin": "argmax",
             "argmax": "argmin", "amin": "amax", "amax": "amin", "nanmin": "nanmax", "nanmax": "nanmin",
             "any": "all", "all": "any", "floor": "ceil", "ceil": "floor"}
COSMETIC_KEYWORDS = {"figsize", "fontsize", "ms", "lw", "color", "ls", "dpi", "label", "stacklevel", "fmt",
                     "markersize", "linewidth", "linestyle"}
OP_TEXT = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
           ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}


@dataclass
class Mutant:
    module: str          # path relative to the repository, e.g. nn_scratch/gradcheck.py
    line: int
    start: int           # byte offsets of the replaced span in the module's source
    end: int
    original: str
    replacement: str
    operator: str
    end_line: int = 0
    status: str = "pending"      # caught-related, caught-suite, timeout, survived
    seconds: float = 0.0
    note: str = ""
    call_line: int = 0   # for a default argument: the function's first line (run when it is called)

    def describe(self, width=70):
        def short(s):
            s = " ".join(s.split())
            return s if len(s) <= width else s[:width - 3] + "..."
        note = f"  ({self.note})" if self.note else ""
        return (f"{self.module}:{self.line}  [{self.operator}]  {short(self.original)}  ->  "
                f"{short(self.replacement)}{note}")


# ------------------------------------------------------------------------------------------------------
# finding mutants
# ------------------------------------------------------------------------------------------------------
class _Finder(ast.NodeVisitor):
    """Walk a module's tree and collect (node, replacement text, operator) for every mutation."""

    def __init__(self, source: bytes, lines_skipped: set):
        self.source = source
        self.skipped_lines = lines_skipped
        self.found = []          # (lineno, col, end_lineno, end_col, replacement, operator, call_line)
        self.call_line = 0       # inside a function's default arguments: the line a call event reports

    # -- helpers ---------------------------------------------------------------------------------------
    def add(self, node, new, operator, statement=False):
        if node.lineno in self.skipped_lines:
            return
        text = new if isinstance(new, str) else ast.unparse(new)
        if not statement and text != "pass":
            text = f"({text})"
        self.found.append((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, text, operator,
                           self.call_line))

    def generic_visit(self, node):
        for field, value in ast.iter_fields(node):
            if field in ("annotation", "returns", "decorator_list", "type_comment"):
                continue
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    def _body(self, body):
        """Visit a statement list, skipping a leading docstring."""
        for i, stmt in enumerate(body):
            if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
                    and isinstance(stmt.value.value, str):
                continue
            self.visit(stmt)

    # -- skipped parts --------------------------------------------------------------------------------
    def visit_Module(self, node):
        self._body(node.body)

    def visit_FunctionDef(self, node):
        # a default value is evaluated at import but matters only when the function is called
        self.call_line = min([node.lineno] + [d.lineno for d in node.decorator_list])
        self.visit(node.args)
        self.call_line = 0
        self._body(node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        for stmt in node.body:                  # class-level field declarations are data, not behaviour
            if isinstance(stmt, ast.AnnAssign):
                continue
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue
            self.visit(stmt)

    def visit_JoinedStr(self, node):            # f-strings: messages
        return

    def visit_If(self, node):
        test = node.test
        if (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"):
            return
        self.generic_visit(node)

    def visit_Assign(self, node):
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return
        if any(isinstance(t, (ast.Attribute, ast.Subscript)) for t in node.targets):
            self.add(node, "pass", "drop statement", statement=True)
        self.generic_visit(node)

    def visit_keyword(self, node):
        if node.arg in COSMETIC_KEYWORDS:
            return
        self.generic_visit(node)

    # -- statements --------------------------------------------------------------------------------------
    def visit_Raise(self, node):
        self.add(node, "pass", "drop statement", statement=True)     # not its message

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Call):
            self.add(node, "pass", "drop statement", statement=True)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self.add(node, "pass", "drop statement", statement=True)
        swap = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}.get(type(node.op))
        if swap:
            new = copy.deepcopy(node)
            new.op = swap()
            self.add(node, ast.unparse(new), "arithmetic swap", statement=True)
        self.generic_visit(node)

    def visit_Return(self, node):
        if node.value is not None and not (isinstance(node.value, ast.Constant) and node.value.value is None):
            self.add(node, "return None", "return value", statement=True)
        self.generic_visit(node)

    # -- expressions ---------------------------------------------------------------------------------------
    def visit_Compare(self, node):
        for i, op in enumerate(node.ops):
            for table, name in ((COMPARE_BOUNDARY, "boundary"), (COMPARE_NEGATE, "comparison flip")):
                if type(op) in table:
                    new = copy.deepcopy(node)
                    new.ops[i] = table[type(op)]()
                    self.add(node, new, name)
        self.generic_visit(node)

    def visit_BinOp(self, node):
        swap = BINOP_SWAP.get(type(node.op))
        if swap:
            new = copy.deepcopy(node)
            new.op = swap()
            self.add(node, new, "arithmetic swap")
        if isinstance(node.op, (ast.Add, ast.Sub, ast.BitAnd, ast.BitOr)):
            self.add(node, node.left, "drop term")
            self.add(node, node.right, "drop term")
        elif isinstance(node.op, (ast.Mult, ast.Div, ast.FloorDiv, ast.Pow)):
            self.add(node, node.left, "drop term")
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        if isinstance(node.op, (ast.USub, ast.Not)):
            self.add(node, node.operand, "drop unary")
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        self.add(node, new, "and/or")
        self.generic_visit(node)

    def visit_Constant(self, node):
        v = node.value
        if isinstance(v, bool):
            self.add(node, repr(not v), "constant")
        elif isinstance(v, int):
            self.add(node, repr(1 if v == 0 else 0 if v == 1 else v + 1), "constant")
        elif isinstance(v, float):
            self.add(node, repr(1.0 if v == 0 else v * 2), "constant")

    def visit_Name(self, node):
        if node.id in NAME_SWAP and isinstance(node.ctx, ast.Load):
            self.add(node, NAME_SWAP[node.id], "name swap")

    def visit_Attribute(self, node):
        if node.attr in NAME_SWAP and isinstance(node.ctx, ast.Load):
            new = copy.deepcopy(node)
            new.attr = NAME_SWAP[node.attr]
            self.add(node, new, "name swap")
        self.generic_visit(node)

    def visit_Slice(self, node):
        for part in ("lower", "upper", "step"):
            if getattr(node, part) is not None:
                new = copy.deepcopy(node)
                setattr(new, part, None)
                text = ast.unparse(new)
                self.add(node, text, "slice bound", statement=True)
        self.generic_visit(node)


def find_mutants(module: str, repo: Path = REPO) -> list:
    """Every mutant of ``module`` (a path relative to ``repo``), in source order; each one compiles."""
    source = (repo / module).read_bytes()
    tree = ast.parse(source)
    text_lines = source.decode("utf-8").splitlines()
    skipped = {i + 1 for i, line in enumerate(text_lines) if "pragma: no mutate" in line}
    finder = _Finder(source, skipped)
    finder.visit(tree)
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    mutants, seen = [], set()
    for lineno, col, end_lineno, end_col, text, operator, call_line in finder.found:
        start, end = starts[lineno - 1] + col, starts[end_lineno - 1] + end_col
        original = source[start:end].decode("utf-8")
        key = (start, end, text)
        if key in seen or " ".join(original.split()) == " ".join(text.strip("()").split()):
            continue
        seen.add(key)
        m = Mutant(module, lineno, start, end, original, text, operator, end_line=end_lineno, call_line=call_line)
        try:
            compile(apply(m, source), module, "exec")
        except SyntaxError:
            continue
        mutants.append(m)
    mutants.sort(key=lambda m: (m.start, m.end, m.replacement))
    return mutants


def apply(m: Mutant, source: bytes) -> bytes:
    return source[:m.start] + m.replacement.encode("utf-8") + source[m.end:]


# ------------------------------------------------------------------------------------------------------
# running the tests
# ------------------------------------------------------------------------------------------------------
def related_tests(module: str, repo: Path = REPO) -> list:
    """The test files most related to ``module``: tests/test_<name>.py (or test_<name>s.py; for a layer also
    test_layers.py and test_layer_gradients.py); failing that, the test files that import it."""
    path = Path(module)
    stem = path.stem
    names = [f"test_{stem}.py", f"test_{stem}s.py"]
    if path.parent.name == "layers":
        names += ["test_layers.py", "test_layer_gradients.py"]
    names += sorted(f.name for f in (repo / "tests").glob(f"test_{stem}_*.py"))     # e.g. test_gradcheck_verdicts
    found = [f"tests/{n}" for n in dict.fromkeys(names) if (repo / "tests" / n).is_file()]
    if not found:
        dotted = ".".join(path.with_suffix("").parts)
        found = [f"tests/{f.name}" for f in sorted((repo / "tests").glob("test_*.py"))
                 if dotted in f.read_text(encoding="utf-8")
                 or re.search(rf"from nn_scratch(\.\w+)* import .*\b{stem}\b", f.read_text(encoding="utf-8"))]
    return found


def _env(copy_dir: Path) -> dict:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(copy_dir), PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg",
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


# ------------------------------------------------------------------------------------------------------
# which test files run which lines (one traced run of the suite per module)
# ------------------------------------------------------------------------------------------------------
SITECUSTOMIZE = """
import atexit, json, os, sys, threading
_targets = set(filter(None, os.environ.get("NN_MUTATE_TRACE", "").split(os.pathsep)))
if _targets:
    _lines = {}
    def _local(frame, event, arg):
        if event == "line":
            _lines[frame.f_code.co_filename].add(frame.f_lineno)
        return _local
    def _global(frame, event, arg):
        name = frame.f_code.co_filename
        if name in _targets:
            _lines.setdefault(name, set()).add(frame.f_lineno)
            return _local
        return None
    sys.settrace(_global)
    threading.settrace(_global)
    def _dump():
        out = os.path.join(os.environ["NN_MUTATE_OUT"], "sub-%d.json" % os.getpid())
        with open(out, "w") as f:
            json.dump({"test": os.environ.get("NN_MUTATE_TEST", "<subprocess>"),
                       "lines": {k: sorted(v) for k, v in _lines.items()}}, f)
    atexit.register(_dump)
"""


class _TracePlugin:
    """Records, per module and test file, the lines of the modules that the tests execute (also in the
    Python subprocesses they start, through a ``sitecustomize`` on their path).  Lines run while importing
    or collecting are filed under ``<import>``: every test depends on them."""

    def __init__(self, targets: list, out_dir: str):
        self.targets, self.out_dir = set(targets), out_dir
        self.hits = {t: {} for t in targets}          # module file -> test file -> lines
        self.current = "<import>"
        site = os.path.join(out_dir, "site")
        os.makedirs(site, exist_ok=True)
        with open(os.path.join(site, "sitecustomize.py"), "w") as f:
            f.write(SITECUSTOMIZE)
        os.environ.update(NN_MUTATE_TRACE=os.pathsep.join(targets), NN_MUTATE_OUT=out_dir,
                          PYTHONPATH=os.environ.get("PYTHONPATH", "") + os.pathsep + site)
        import threading
        sys.settrace(self._global)
        threading.settrace(self._global)

    def _local(self, frame, event, arg):
        if event == "line":
            self.hits[frame.f_code.co_filename].setdefault(self.current, set()).add(frame.f_lineno)
        return self._local

    def _global(self, frame, event, arg):
        name = frame.f_code.co_filename
        if name in self.targets:
            self.hits[name].setdefault(self.current, set()).add(frame.f_lineno)
            return self._local
        return None

    def pytest_runtest_logstart(self, nodeid, location):
        self.current = nodeid.split("::")[0]
        os.environ["NN_MUTATE_TEST"] = self.current

    def pytest_sessionfinish(self, session):
        sys.settrace(None)
        hits = {t: {k: set(v) for k, v in per.items()} for t, per in self.hits.items()}
        for f in Path(self.out_dir).glob("sub-*.json"):
            sub = json.loads(f.read_text())
            for t, lines in sub["lines"].items():
                hits[t].setdefault(sub["test"], set()).update(lines)
        Path(self.out_dir, "coverage.json").write_text(
            json.dumps({t: {k: sorted(v) for k, v in per.items()} for t, per in hits.items()}))


def tests_covering(coverage: dict, first: int, last: int, call_line: int = 0):
    """The test files that run a line in [first, last]; ``None`` when an import runs one (every file
    depends on it).  For a default argument (``call_line``: its function's first line), the files that
    call the function."""
    lines = {call_line} if call_line else set(range(first, last + 1))
    if not call_line and lines & set(coverage.get("<import>", ())):
        return None
    return sorted(f for f, hit in coverage.items() if f != "<import>" and lines & set(hit))




PYTEST_ARGS = ["-x", "-q", "-p", "no:cacheprovider", "--no-header", "-k", "not tutorial"]


class Runner:
    """Runs pytest in the copy, one process at a time.

    By default a small server process (started with the copy's environment) imports numpy, scipy,
    matplotlib, pytest, hypothesis ... once, and forks a fresh child per run: the child imports nn_scratch
    and the tests from the copy (never imported in the server), so each run sees the mutated source, at a
    fraction of a cold start.  ``fork=False`` starts a new interpreter per run instead.
    """

    def __init__(self, copy_dir: Path, fork: bool = True):
        self.copy_dir, self.fork = copy_dir, fork and hasattr(os, "fork")
        self.server = None
        if self.fork:
            self.server = subprocess.Popen([sys.executable, str(copy_dir / "tests" / "mutation" / "mutate.py"),
                                            "--_server"], cwd=copy_dir, env=_env(copy_dir), text=True,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            if self.server.stdout.readline().strip() != "ready":
                raise RuntimeError("the mutation test server did not start")

    def __call__(self, args: list, timeout: float, trace=None, log=None, stop_first=True, fresh=False):
        """Run pytest with ``args``; returns ('passed' | 'failed' | 'timeout', seconds).  ``trace``:
        (module file, output folder) to record which test files run which of its lines."""
        t0 = time.perf_counter()
        if trace is not None and not self.fork:
            raise RuntimeError("tracing needs the fork server")
        if self.fork and not fresh:
            base = PYTEST_ARGS if stop_first else [a for a in PYTEST_ARGS if a != "-x"]
            self.server.stdin.write(json.dumps({"args": base + args, "timeout": timeout,
                                                "trace": trace, "log": log}) + "\n")
            self.server.stdin.flush()
            code = json.loads(self.server.stdout.readline())["code"]
        else:
            cmd = [sys.executable, "-m", "pytest", *PYTEST_ARGS, *args]
            out = open(log, "w") if log else subprocess.DEVNULL
            proc = subprocess.Popen(cmd, cwd=self.copy_dir, env=_env(self.copy_dir), stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                code = None
        seconds = time.perf_counter() - t0
        if code is None:
            return "timeout", seconds
        if code in (2, 3, 4, 5):      # interrupted, internal error, usage error, nothing collected
            raise RuntimeError(f"pytest exited with code {code} for {args}: a mistake in the command, "
                               "not a caught mutant")
        return ("passed" if code == 0 else "failed"), seconds

    def close(self):
        if self.server is not None:
            self.server.stdin.close()
            self.server.wait()


def _serve():
    """The fork server (runs inside the copy, see ``Runner``)."""
    # import once what the tests import, except the package and the tests themselves
    probe_code = ("import sys, pytest\n"
                  "class P:\n"
                  "    def pytest_collection_finish(self, session):\n"
                  "        print('MODULES', ' '.join(sorted(sys.modules)))\n"
                  "pytest.main(['-q', '--collect-only', '-p', 'no:cacheprovider', 'tests'], plugins=[P()])\n")
    probe = subprocess.run([sys.executable, "-c", probe_code], capture_output=True, text=True)
    names = next((line.split()[1:] for line in probe.stdout.splitlines() if line.startswith("MODULES")), [])
    here = str(Path.cwd().resolve())
    import importlib
    for name in names:
        if name.split(".")[0] in ("nn_scratch", "tests", "conftest", "__main__") or name.startswith("test_"):
            continue
        try:
            mod = importlib.import_module(name)
        except Exception:
            continue
        if str(getattr(mod, "__file__", "") or "").startswith(here):
            sys.modules.pop(name, None)
    import pytest
    print("ready", flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:                                   # the child: run the tests, never return
            os.setsid()
            out = os.open(job["log"] or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(out, 1)
            os.dup2(out, 2)
            try:
                plugins = [_TracePlugin(*job["trace"])] if job.get("trace") else []
                code = int(pytest.main(job["args"], plugins=plugins))
            except BaseException:
                code = 3
            os._exit(code)
        deadline = time.monotonic() + job["timeout"]
        code = None
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                code = 1 if code < 0 else code            # killed by a signal (e.g. a segfault): caught
                break
            if time.monotonic() > deadline:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                os.waitpid(pid, 0)
                break
            time.sleep(0.02)
        print(json.dumps({"code": code}), flush=True)


def make_copy(repo: Path) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="nn_scratch_mutation_"))
    dest = tmp / "repo"
    shutil.copytree(repo, dest, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", "*.pyc", ".pytest_cache", ".hypothesis", "*.egg-info", "runs", "*.png",
        ".benchmarks", "figures", "output", "build", "dist"))
    return dest


def check_copy(copy_dir: Path):
    """The copy's tests must import nn_scratch from the copy (not the installed or editable package)."""
    out = subprocess.run([sys.executable, "-c", "import nn_scratch; print(nn_scratch.__file__)"], cwd=copy_dir,
                         env=_env(copy_dir), capture_output=True, text=True, check=True).stdout.strip()
    if not Path(out).resolve().is_relative_to(copy_dir.resolve()):
        raise RuntimeError(f"the copy imports nn_scratch from {out}, not from {copy_dir}")


def mutate_module(module, run, tests, coverage, timeouts, mutants, log, related_only=False, fresh_files=()):
    """Run each mutant against the tests that execute its lines: the related files first, then the rest."""
    target = run.copy_dir / module
    original = target.read_bytes()
    try:
        for k, m in enumerate(mutants, 1):
            cover = tests_covering(coverage, m.line, m.end_line, m.call_line)
            if cover == []:
                m.status, m.note = "survived", "no test runs this line"
            else:
                target.write_bytes(apply(m, original))
                first = [t for t in tests if cover is None or t in cover]
                rest = ["tests", *[f"--ignore={t}" for t in first]] if cover is None else \
                    [t for t in cover if t not in first]
                status, seconds = run(first, timeouts[0]) if first else ("passed", 0.0)
                m.status = {"passed": "survived", "failed": "caught-related", "timeout": "timeout"}[status]
                if cover is None:
                    rest += [f"--ignore={f}" for f in fresh_files]
                    apart = sorted(fresh_files)
                else:
                    apart = [f for f in rest if f in fresh_files]
                    rest = [f for f in rest if f not in fresh_files]
                for args, fresh in ((rest, False), (apart, True)):
                    if status == "passed" and args and not related_only:
                        status, more = run(args, timeouts[1], fresh=fresh)
                        m.status = {"passed": "survived", "failed": "caught-suite", "timeout": "timeout"}[status]
                        seconds += more
                m.seconds = seconds
            log(f"[{module} {k}/{len(mutants)}] {m.status:<14} {m.seconds:5.1f}s  {m.describe(60)}")
    finally:
        target.write_bytes(original)
    return mutants


def table(results) -> str:
    rows = ["| module | mutants tried | caught by related tests | caught by the whole suite | score |",
            "|---|---|---|---|---|"]
    for module, total, mutants in results:
        n = len(mutants)
        related = sum(m.status in ("caught-related", "timeout") for m in mutants)
        caught = sum(m.status != "survived" for m in mutants)
        tried = f"{n} (all)" if n == total else f"{n} sampled of {total}"
        rows.append(f"| {module} | {tried} | {related} | {caught} | {100 * caught / max(n, 1):.0f} % |")
    return "\n".join(rows)


def main(argv=None):
    # started in the background by a shell, a process ignores Ctrl-C, and so would every test subprocess
    # (tests that interrupt a child would fail): restore Python's handler
    signal.signal(signal.SIGINT, signal.default_int_handler)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("modules", nargs="+", help="module paths relative to the repository, e.g. nn_scratch/optim.py; "
                   "'path:N' samples N mutants of that module")
    p.add_argument("--sample", type=int, default=None, help="run N mutants drawn at random per module")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    p.add_argument("--tests", nargs="+", default=None, help="the related test files (default: found by name)")
    p.add_argument("--related-only", action="store_true", help="skip the whole-suite stage")
    p.add_argument("--list", action="store_true", help="list the mutants and exit")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument("--no-fork", action="store_true", help="a fresh interpreter per pytest run (slower)")
    if argv is None and sys.argv[1:] == ["--_server"]:
        return _serve()
    args = p.parse_args(argv)
    samples = {}
    for i, spec in enumerate(args.modules):
        module, _, n = spec.partition(":")
        args.modules[i] = module
        samples[module] = int(n) if n else args.sample

    for module in args.modules:
        if not (REPO / module).is_file():
            p.error(f"no module {module} in {REPO}")
    if args.list:
        for module in args.modules:
            mutants = find_mutants(module)
            for m in mutants:
                print(m.describe())
            print(f"{module}: {len(mutants)} mutants")
        return 0

    def log(msg):
        print(msg, flush=True)

    copy_dir = make_copy(REPO)
    run = None
    try:
        check_copy(copy_dir)
        run = Runner(copy_dir, fork=not args.no_fork)
        results = []
        related, t_rel = {}, {}
        for module in args.modules:
            related[module] = args.tests or related_tests(module)
            if not related[module]:
                p.error(f"no related test files found for {module}; pass --tests")
            baseline_log = str(copy_dir.parent / "baseline.log")
            status, t_rel[module] = run(related[module], 600, log=baseline_log)
            if status != "passed":
                raise RuntimeError(f"the related tests {related[module]} fail on the unmutated code:\n"
                                   + Path(baseline_log).read_text()[-3000:])
        out_dir = tempfile.mkdtemp(prefix="trace_", dir=copy_dir.parent)
        files = [str(copy_dir / module) for module in args.modules]
        baseline_log = str(copy_dir.parent / "baseline.log")
        fresh_files = set()
        status, t_suite = run(["tests"], 1800, trace=(files, out_dir), log=baseline_log, stop_first=False)
        if status != "passed":
            # tracing slows the tests (and the subprocesses they start) several times: a timing test may
            # fail.  Those test files must pass untraced, or the suite is broken before any mutation.
            # A file may also fail only in a forked child (e.g. a Dask cluster): it then runs in a fresh
            # interpreter for every mutant.
            text = Path(baseline_log).read_text()
            failed = sorted({m.split("::")[0] for m in re.findall(r"^(?:FAILED|ERROR) (\S+)", text, flags=re.M)})
            if not failed:
                raise RuntimeError("the suite fails on the unmutated code:\n" + text[-3000:])
            for f in failed:
                if run([f], 600, log=baseline_log)[0] == "passed":
                    continue
                if run([f], 600, log=baseline_log, fresh=True)[0] != "passed":
                    raise RuntimeError(f"{f} fails on the unmutated code:\n" + Path(baseline_log).read_text()[-3000:])
                fresh_files.add(f)
            log(f"(under tracing {', '.join(failed)} failed; untraced they pass"
                + (f"; {', '.join(sorted(fresh_files))} only in a fresh interpreter)" if fresh_files else ")"))
        traced = json.loads(Path(out_dir, "coverage.json").read_text())
        log(f"the traced suite took {t_suite:.1f}s")
        for module, file in zip(args.modules, files):
            tests, coverage = related[module], traced[file]
            covering = sorted((f for f in coverage if f != "<import>"), key=lambda f: -len(coverage[f]))
            if covering and not set(tests) & set(covering):
                tests = covering[:1]         # the named files never run it: take the file that runs most of it
            timeouts = (4 * t_rel[module] + 10, 4 * t_suite + 20)
            log(f"{module}: related tests {tests} take {t_rel[module]:.1f}s; "
                f"{len(set(coverage) - {'<import>'})} test files run its lines")
            mutants = find_mutants(module, copy_dir)
            total = len(mutants)
            if samples[module] is not None and samples[module] < total:
                mutants = sorted(random.Random(args.seed).sample(mutants, samples[module]), key=lambda m: m.start)
            mutate_module(module, run, tests, coverage, timeouts, mutants, log, args.related_only, fresh_files)
            results.append((module, total, mutants))
    finally:
        if run is not None:
            run.close()
        shutil.rmtree(copy_dir.parent, ignore_errors=True)

    print()
    print(table(results))
    for module, total, mutants in results:
        survivors = [m for m in mutants if m.status == "survived"]
        print(f"\nSurvivors in {module} ({len(survivors)}):")
        for m in survivors:
            print("  " + m.describe(90))
    if args.json:
        Path(args.json).write_text(json.dumps(
            [{"module": mod, "total": total, "mutants": [asdict(m) for m in ms]} for mod, total, ms in results],
            indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
