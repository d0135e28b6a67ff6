"""The grader: hand-worked cases, random cases against the package, the gradient checker, and the diagnosis."""
from __future__ import annotations

import inspect
import traceback
from dataclasses import dataclass, field

import numpy as np

from .catalogue import mistakes_for

TOL = 1e-6          # largest elementwise relative error accepted against the reference


@dataclass
class Case:
    """One set of inputs: ``make()`` returns fresh arguments every call (arrays, a new Generator ...);
    ``expected`` holds hand-worked outputs (None: ask the reference); ``post(args)`` inspects the arguments
    after the call and returns a complaint or None."""
    label: str
    make: object
    expected: object = None
    post: object = None


@dataclass
class Stage:
    label: str
    ok: bool
    detail: str


@dataclass
class Result:
    """What ``exercises.check`` returns: ``passed``, the ``stages`` run, the ``mistake`` named (a catalogue
    ``Mistake`` or None), a generic ``hint`` when no catalogued mistake matched, and ``notes``.
    ``str(result)`` is the report."""
    exercise: object
    stages: list = field(default_factory=list)
    mistake: object = None
    hint: str = ""
    notes: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.stages) and all(s.ok for s in self.stages)

    def __str__(self):
        ex = self.exercise
        lines = [f"{ex.name}: {'PASS' if self.passed else 'FAIL'}"]
        width = max(len(s.label) for s in self.stages) if self.stages else 0
        for s in self.stages:
            lines.append(f"  {s.label:<{width}}  {'ok  ' if s.ok else 'FAIL'}  {s.detail}")
        if self.mistake is not None:
            lines.append(f"  likely mistake: {self.mistake.title}")
            lines.append(f"  look at: {self.mistake.look_at}")
        elif self.hint:
            lines.append(f"  what differs: {self.hint}")
        lines += [f"  note: {n}" for n in self.notes]
        if self.passed:
            lines.append(f"  the hand-worked case you passed: {ex.example}")
            lines.append(f"  well done. The package's own version, to compare: {ex.see}")
        else:
            lines.append(f"  the solution, after you have tried: {ex.see}")
        return "\n".join(lines)


# -- calling the learner's function -------------------------------------------------------------------------
class LearnerError(Exception):
    """The learner's function raised: the message is one line naming the exception and the line."""


def _raised(err, fn):
    """One line for an exception raised inside ``fn``: its type, message and the line in the learner's file."""
    if isinstance(err, NotImplementedError):
        return "not written yet: the body still raises NotImplementedError"
    where = ""
    filename = getattr(getattr(fn, "__code__", None), "co_filename", None)
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == filename]
    if frames:
        where = f" (line {frames[-1].lineno}: {frames[-1].line.strip()})" if frames[-1].line else \
            f" (line {frames[-1].lineno})"
    msg = " ".join(str(err).split())
    return f"raised {type(err).__name__}{': ' + msg if msg else ''}{where}"


def call(fn, args):
    with np.errstate(all="ignore"):
        try:
            return fn(*args)
        except Exception as err:            # the learner's code: anything can happen; report it in one line
            raise LearnerError(_raised(err, fn)) from err


# -- comparing outputs --------------------------------------------------------------------------------------
def _as_tuple(out, names):
    if len(names) == 1:
        return (out,)
    if not isinstance(out, (tuple, list)) or len(out) != len(names):
        got = f"a {type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
        raise ValueError(f"must return a tuple ({', '.join(names)}), got {got}")
    return tuple(out)


def _array(v, name):
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a number or an array, got {type(v).__name__}") from None
    return a


def compare(got, want, names, tol=TOL):
    """``(ok, message, max relative error)`` for the learner's output against the expected one."""
    try:
        got = _as_tuple(got, names)
    except ValueError as err:
        return False, str(err), np.inf
    want = _as_tuple(want, names)
    worst = 0.0
    for g, w, name in zip(got, want, names):
        try:
            g = _array(g, name)
        except ValueError as err:
            return False, str(err), np.inf
        w = np.asarray(w, dtype=np.float64)
        if w.ndim == 0 and g.size == 1:
            g = g.reshape(())
        if g.shape != w.shape:
            return False, f"`{name}` has shape {g.shape}, expected {w.shape}", np.inf
        bad_g, bad_w = ~np.isfinite(g), ~np.isfinite(w)
        if np.any(bad_g) or np.any(bad_w):
            if not (np.array_equal(bad_g, bad_w) and np.array_equal(g[bad_g], w[bad_w], equal_nan=True)):
                return False, f"`{name}` contains NaN or inf" if np.any(bad_g) else \
                    f"`{name}` is finite where NaN or inf was expected", np.inf
            g, w = np.where(bad_g, 0.0, g), np.where(bad_w, 0.0, w)
        scale = np.maximum(np.maximum(np.abs(g), np.abs(w)), 1e-9 * max(1.0, float(np.max(np.abs(w), initial=0))))
        err = float(np.max(np.abs(g - w) / scale, initial=0.0))
        if err > tol:
            k = np.unravel_index(np.argmax(np.abs(g - w) / scale), w.shape) if w.ndim else ()
            at = f" at index {tuple(int(i) for i in k)}" if w.ndim else ""
            return False, (f"`{name}` differs (max rel error {err:.1e}{at}: yours {float(g[k]):.6g}, "
                           f"expected {float(w[k]):.6g})"), err
        worst = max(worst, err)
    return True, "", worst


def generic_hint(got, want, names, N=None):
    """A guess for an output that matches no catalogued mistake: transposed, a constant factor, a sign."""
    try:
        got = _as_tuple(got, names)
    except ValueError:
        return ""
    want = _as_tuple(want, names)
    for g, w, name in zip(got, want, names):
        try:
            g = np.asarray(g, dtype=np.float64)
        except (TypeError, ValueError):
            return ""
        w = np.asarray(w, dtype=np.float64)
        if g.size == w.size and g.shape != w.shape:
            if w.ndim == 2 and g.shape == w.T.shape:
                if np.allclose(g, w.T, rtol=1e-6, atol=1e-12):
                    return f"`{name}` is the transpose of the right one"
                return f"`{name}` has the transposed shape {g.shape}: it must be {w.shape}"
            if np.allclose(g.ravel(), w.ravel(), rtol=1e-6, atol=1e-12):
                return f"`{name}` has the right numbers but shape {g.shape}: reshape it to {w.shape}"
            return ""
        if g.shape != w.shape or compare(g, w, (name,))[0]:
            continue
        if not np.all(np.isfinite(g)):
            return f"`{name}` has NaN or inf where the reference is finite: an overflow or a division by 0?"
        if not np.any(g):
            return f"`{name}` is all zeros"
        denom = float(np.sum(w * w))
        if denom == 0:
            return f"`{name}` should be all zeros here"
        c = float(np.sum(g * w)) / denom
        if abs(c - 1) > 1e-6 and np.allclose(g, c * w, rtol=1e-6, atol=1e-12 * max(1.0, np.max(np.abs(w)))):
            if abs(c + 1) < 1e-6:
                return f"`{name}` has the opposite sign of the right one: a wrong sign"
            if N and (abs(c - N) < 1e-6 * N or abs(c - 1 / N) < 1e-6):
                return (f"`{name}` is {c:.4g} times the right one and N = {N}: a 1/N missing or added "
                        f"(the loss is the mean over N)")
            return f"`{name}` is {c:.4g} times the right one: a stray constant factor"
        return f"`{name}` differs from the right one (not by a constant factor)"
    return ""


# -- grading ------------------------------------------------------------------------------------------------
def _signature_problem(ex, fn):
    if not callable(fn):
        return f"expected a function {ex.signature}, got {type(fn).__name__}"
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        sig.bind(*range(len(ex.params)))
    except TypeError:
        return f"expected the signature {ex.signature}, your function takes {sig}"
    return None


def run_cases(ex, fn, cases, label, result):
    """Run ``cases``; on the first failure add a failing stage and diagnose.  Returns True when all pass."""
    worst = 0.0
    seen = result.__dict__.setdefault("_seen", [])    # (case, output) of every case passed so far
    for case in cases:
        want = case.expected if case.expected is not None else call(ex.reference, case.make())
        if len(ex.returns) == 1 and isinstance(want, tuple) and len(want) == 1:
            want = want[0]
        args = case.make()
        try:
            got = call(fn, args)
        except LearnerError as err:
            result.stages.append(Stage(label, False, f"{case.label}: {err}"))
            _diagnose_exception(ex, case, err, result)
            return False
        if ex.compare is not None:
            ok, msg, err = ex.compare(got, want, case)
        else:
            ok, msg, err = compare(got, want, ex.returns)
        complaint = case.post(args) if case.post is not None and ok else None
        if not ok or complaint:
            result.stages.append(Stage(label, False, f"{case.label}: {msg or complaint}"))
            _diagnose(ex, seen + [(case, got, complaint is None)], want, complaint, result)
            return False
        seen.append((case, got, True))
        worst = max(worst, err)
        _note_inplace(ex, case, args, result)
    result.stages.append(Stage(label, True, f"max rel error {worst:.1e}" if worst else "exact"))
    return True


def _note_inplace(ex, case, args, result):
    if ex.inplace_ok:
        return
    fresh = case.make()
    for name, before, after in zip(ex.params, fresh, args):
        if isinstance(before, np.ndarray) and isinstance(after, np.ndarray) and before.shape == after.shape \
                and not np.array_equal(before, after, equal_nan=True):
            note = f"your function changed its argument `{name}` in place: the caller's array is modified"
            if note not in result.notes:
                result.notes.append(note)


def _reproduces(ex, mistake, case, got, post_ok):
    """Does the planted ``mistake`` give the learner's output ``got`` (and the same verdict of ``post``)?"""
    args = case.make()
    try:
        planted = call(mistake.function, args)
    except LearnerError:
        return False
    same = (ex.compare or (lambda g, w, c: compare(g, w, ex.returns)))(got, planted, case)[0]
    return same and (case.post is None or (case.post(args) is None) == post_ok)


def _diagnose(ex, seen, want, complaint, result):
    """Name the catalogued mistake that reproduces the learner's output on every case run so far."""
    case, got, _ = seen[-1]
    for m in mistakes_for(ex.name):
        if all(_reproduces(ex, m, *entry) for entry in seen):
            result.mistake = m
            return
    if complaint:
        result.hint = complaint
    elif ex.compare is None:
        result.hint = generic_hint(got, want, ex.returns, N=ex.batch_size(case))


def _diagnose_exception(ex, case, err, result):
    if isinstance(err.__cause__, NotImplementedError):
        return
    for m in mistakes_for(ex.name):
        try:
            call(m.function, case.make())
        except LearnerError as planted:
            if type(planted.__cause__) is type(err.__cause__):
                result.mistake = m
                return


def grade(ex, fn) -> Result:
    result = Result(ex)
    problem = _signature_problem(ex, fn)
    if problem:
        result.stages.append(Stage("signature", False, problem))
        return result
    if run_cases(ex, fn, ex.fixed_cases(), "hand-worked cases", result):
        run_cases(ex, fn, ex.random_cases(np.random.default_rng(12345)), f"random cases against {ex.against}",
                  result)
    if "not written yet" in result.stages[-1].detail:
        return result
    if ex.gradcheck is not None:        # also after a failure: it says whether the gradient fits the forward
        try:
            ok, detail = ex.gradcheck(fn)
        except LearnerError as err:
            ok, detail = False, str(err)
        result.stages.append(Stage("gradient check of your function", ok, detail))
    return result
