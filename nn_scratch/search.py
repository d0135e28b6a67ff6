"""Random hyperparameter search: log-uniform ranges, border warnings, coarse-to-fine stages, any executor.

A *space* is a dict ``name -> dimension``; a dimension is a small object that draws one value:

* ``LogUniform(low, high)``  -- ``10 ** uniform(log10 low, log10 high)``: learning rates, L2 strengths
  (their effect is multiplicative, so the search should be even in log space)
* ``Uniform(low, high)``     -- e.g. a dropout probability
* ``IntUniform(low, high)``  -- an integer in ``[low, high]`` (both ends included), e.g. a hidden width
* ``Choice([a, b, ...])``    -- one of a few values, each equally likely
* anything else that is not a tuple/list (a number, a string) is a constant passed as is.

The *objective* takes the params dict and returns a score where **lower is better** (a validation loss,
or ``1 - val_acc``), either as a number or as a dict ``{"score": s, **extras}`` -- numeric extras appear
in the table, any extra (even a trained model) is kept on the trial.  A trial whose objective raises or
returns NaN/inf is recorded as *failed* with its message; the search goes on.

Every configuration is drawn up front from ``seed``, so the same seed gives the same trials whether they
run one after another or on a ``concurrent.futures`` executor finishing in any order.

>>> space = {"lr": LogUniform(1e-4, 1e-1), "reg": LogUniform(1e-6, 1e-1)}
>>> objective = lambda p: (np.log10(p["lr"]) + 2.5) ** 2 + p["reg"]
>>> result = random_search(objective, space, n_trials=30, seed=0, warn=False)
>>> print(f"best lr {result.best.params['lr']:.4f} of {len(result.ok)} trials")   # the minimum is at 10**-2.5
best lr 0.0038 of 30 trials
>>> fine = coarse_to_fine(objective, space, stages=[20, 20], seed=0, warn=False)
>>> [round(float(np.log10(s["lr"].high / s["lr"].low)), 2) for s in fine.spaces]   # lr range in decades
[3.0, 1.5]
"""
from __future__ import annotations

import math
import numbers
import os
import signal
import threading
import warnings
from dataclasses import dataclass, field

import numpy as np

from nn_scratch._checks import check_number, check_seed
from nn_scratch.search_log import SearchLog, describe_seed, describe_space
from nn_scratch.trials import run_trials

__all__ = ["LogUniform", "Uniform", "IntUniform", "Choice", "Trial", "SearchResult", "BorderWarning",
           "SearchInterrupted", "random_search", "coarse_to_fine", "narrow_space", "plot_search"]


class BorderWarning(UserWarning):
    """The best value of a parameter lies near the edge of its search range: widen the range."""


class SearchInterrupted(UserWarning):
    """The user stopped the search (Ctrl-C): the result holds only the trials that had finished."""


def _check_bounds(who, low, high, positive=False, integer=False):
    for name, v in (("low", low), ("high", high)):
        ok = isinstance(v, numbers.Integral) if integer else isinstance(v, numbers.Real)
        if isinstance(v, bool) or not ok or not math.isfinite(v):
            kind = "an integer" if integer else "a finite number"
            raise TypeError(f"{who}: '{name}' must be {kind}, got {v!r}")
        if positive and v <= 0:
            raise ValueError(f"{who}: '{name}' must be > 0 (the range is searched in log space), got {v!r}")
    if not low < high:
        raise ValueError(f"{who}: need 'low' < 'high', got low={low!r}, high={high!r}")


# -- dimensions ----------------------------------------------------------------------------------------------
class Uniform:
    """A real number drawn uniformly from ``[low, high)``."""

    log = False

    def __init__(self, low, high):
        _check_bounds(type(self).__name__, low, high, positive=self.log)
        self.low, self.high = float(low), float(high)

    @property
    def bounds(self):
        return self.low, self.high

    def sample(self, rng):
        return float(self._from_unit(rng.random()))

    # the unit interval <-> the range (linear here, log10 for LogUniform)
    def _warp(self, v):
        return np.asarray(v, dtype=np.float64)

    def _unwarp(self, u):
        return u

    def _from_unit(self, t):
        a, b = self._warp(self.low), self._warp(self.high)
        return self._unwarp(a + t * (b - a))

    def position(self, value) -> float:
        """Where ``value`` lies in the range as a fraction 0..1 (in log space for LogUniform)."""
        a, b = self._warp(self.low), self._warp(self.high)
        return float((self._warp(value) - a) / (b - a))

    def narrowed(self, values, shrink):
        """A range ``shrink`` times as wide (in warped space), centred on the mean of ``values`` (warped),
        shifted so it stays inside this range."""
        a, b = float(self._warp(self.low)), float(self._warp(self.high))
        width = shrink * (b - a)
        centre = float(np.mean(self._warp(values)))
        lo = min(max(centre - width / 2, a), b - width)
        return type(self)(float(self._unwarp(lo)), float(self._unwarp(lo + width)))

    def __repr__(self):
        return f"{type(self).__name__}({self.low:.4g}, {self.high:.4g})"


class LogUniform(Uniform):
    """A positive real whose log10 is uniform: ``10 ** uniform(log10 low, log10 high)``."""

    log = True                          # Uniform.__init__ then requires low > 0

    def _warp(self, v):
        return np.log10(np.asarray(v, dtype=np.float64))

    def _unwarp(self, u):
        return 10.0 ** u


class IntUniform:
    """An integer drawn uniformly from ``low, low+1, ..., high`` (both ends included)."""

    log = False

    def __init__(self, low, high):
        _check_bounds("IntUniform", low, high, integer=True)
        self.low, self.high = int(low), int(high)

    @property
    def bounds(self):
        return self.low, self.high

    def sample(self, rng):
        return int(rng.integers(self.low, self.high + 1))

    def position(self, value) -> float:
        return (value - self.low) / (self.high - self.low)

    def narrowed(self, values, shrink):
        width = max(1, int(round(shrink * (self.high - self.low))))
        lo = int(round(np.mean(values) - width / 2))
        lo = min(max(lo, self.low), self.high - width)
        return IntUniform(lo, lo + width)

    def __repr__(self):
        return f"IntUniform({self.low}, {self.high})"


class Choice:
    """One of ``options``, each equally likely.  Not narrowed by ``coarse_to_fine``."""

    log = False

    def __init__(self, options):
        if isinstance(options, (str, bytes)) or not hasattr(options, "__len__") or len(options) == 0:
            raise ValueError(f"Choice: 'options' must be a non-empty list, got {options!r}")
        self.options = list(options)

    def sample(self, rng):
        return self.options[int(rng.integers(len(self.options)))]

    def __repr__(self):
        return f"Choice({self.options!r})"


DIMENSIONS = (Uniform, IntUniform, Choice)


def _check_space(who, space):
    if not isinstance(space, dict) or not space:
        raise TypeError(f"{who}: 'space' must be a non-empty dict name -> LogUniform/Uniform/IntUniform/Choice, "
                        f"got {type(space).__name__}")
    for k, v in space.items():
        if not isinstance(k, str):
            raise TypeError(f"{who}: 'space' keys must be strings, got {k!r}")
        if isinstance(v, (tuple, list)):
            raise TypeError(f"{who}: space[{k!r}] is a {type(v).__name__} {v!r}; write LogUniform(low, high), "
                            f"Uniform(low, high), IntUniform(low, high) or Choice([...])")


def _sample_configs(space, n_trials, rng):
    """``n_trials`` dicts, drawn trial by trial (the first k do not depend on n_trials)."""
    return [{k: (d.sample(rng) if isinstance(d, DIMENSIONS) else d) for k, d in space.items()}
            for _ in range(n_trials)]


# -- trials and results --------------------------------------------------------------------------------------
@dataclass
class Trial:
    """One evaluated configuration.  ``score`` is NaN and ``error`` holds the reason when it failed: the
    objective's exception (``"ValueError: ..."``, ``"SystemExit: 3"``), ``"score is nan"``, ``"crashed: ..."``
    (its process died) or ``"timeout: ..."``."""

    index: int
    params: dict
    score: float = float("nan")
    extras: dict = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    stage: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


class SearchResult:
    """The trials of a search, best first (lower score is better); failed trials last.

    ``best`` -- the best Trial; ``ok`` / ``failed`` -- lists; ``top(k)``; ``values(param)`` and ``scores()``
    as arrays over the successful trials; ``warnings`` -- the border warnings (strings);
    ``stages`` / ``spaces`` -- per-stage results and spaces (one stage for ``random_search``);
    ``interrupted`` -- True when a Ctrl-C stopped the search (unfinished trials are left out).
    ``str(result)`` is a table.
    """

    def __init__(self, trials, space, border=0.1, stages=None, spaces=None, interrupted=False):
        self.space = space
        self.interrupted = bool(interrupted)
        self.trials = sorted((t for t in trials if t.ok), key=lambda t: (t.score, t.index)) + \
            sorted((t for t in trials if not t.ok), key=lambda t: t.index)
        self.stages = stages if stages is not None else [self]
        self.spaces = spaces if spaces is not None else [space]
        self.border = border
        self.warnings = self.border_warnings() if self.ok else []

    @property
    def ok(self):
        return [t for t in self.trials if t.ok]

    @property
    def failed(self):
        return [t for t in self.trials if not t.ok]

    @property
    def best(self) -> Trial:
        if not self.ok:
            first = self.failed[0].error if self.failed else "no trials"
            raise ValueError(f"SearchResult: every trial failed, so there is no best (first error: {first})")
        return self.trials[0]

    def top(self, k: int) -> list:
        return self.ok[:k]

    def values(self, param):
        if param not in self.space:
            raise KeyError(f"SearchResult: no parameter {param!r}; the space has {sorted(self.space)}")
        return np.array([t.params[param] for t in self.ok])

    def scores(self):
        return np.array([t.score for t in self.ok], dtype=np.float64)

    def border_warnings(self, space=None, border=None) -> list:
        """Messages for each Uniform/LogUniform parameter whose best value lies in the outer ``border``
        fraction (default: the search's own) of its range in ``space`` (default: the searched one) -- in log
        space for LogUniform."""
        space = self.space if space is None else space
        border = self.border if border is None else border
        out = []
        for name, d in space.items():
            if not isinstance(d, Uniform):
                continue
            v = self.best.params[name]
            u = d.position(v)
            if u < border or u > 1 - border:
                side, edge = ("lowest", d.low) if u < border else ("highest", d.high)
                out.append(f"{name} = {v:.3g}: the best value lies in the {side} {border:.0%} of the range "
                           f"[{d.low:.3g}, {d.high:.3g}]{' (log scale)' if d.log else ''}; better values may lie "
                           f"beyond {edge:.3g} -- widen the range and search again")
        return out

    def __len__(self):
        return len(self.trials)

    def table(self, max_rows: int | None = 10) -> str:
        names = list(self.space)
        extras = sorted({k for t in self.ok for k, v in t.extras.items()
                         if isinstance(v, numbers.Real) and not isinstance(v, bool)})
        head = ["rank", "trial"] + (["stage"] if len(self.stages) > 1 else []) + ["score"] + names + extras
        rows = []
        shown = self.trials if max_rows is None else self.trials[:max_rows]
        for r, t in enumerate(shown, 1):
            row = [str(r) if t.ok else "-", str(t.index)] + ([str(t.stage)] if len(self.stages) > 1 else [])
            row += [_fmt(t.score) if t.ok else "failed"] + [_fmt(t.params[n]) for n in names]
            row += [_fmt(t.extras.get(k, "")) for k in extras]
            rows.append(row)
        width = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
        lines = ["  ".join(h.rjust(w) for h, w in zip(head, width))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, width)) for r in rows]
        if len(shown) < len(self.trials):
            lines.append(f"... {len(self.trials) - len(shown)} more")
        return "\n".join(lines)

    def __str__(self):
        stop = "; interrupted (Ctrl-C): trials that had not finished are left out" if self.interrupted else ""
        text = [f"{len(self.ok)} trials ok, {len(self.failed)} failed; lower score is better{stop}", self.table()]
        text += [f"  failed trial {t.index}: {t.error}" for t in self.failed[:5]]
        text += [f"  WARNING {w}" for w in self.warnings]
        return "\n".join(text)

    def __repr__(self):
        best = f", best {self.best.score:.4g}" if self.ok else ""
        stop = ", interrupted" if self.interrupted else ""
        return f"SearchResult({len(self.trials)} trials, {len(self.failed)} failed{best}{stop})"


# -- the searches ----------------------------------------------------------------------------------------------
def _check_common(who, objective, executor, border, timeout, save_path):
    if not callable(objective):
        raise TypeError(f"{who}: 'objective' must be callable params -> score, got {type(objective).__name__}")
    if executor is not None and not hasattr(executor, "submit"):
        raise TypeError(f"{who}: 'executor' must be None or a concurrent.futures Executor, "
                        f"got {type(executor).__name__}")
    if not isinstance(border, numbers.Real) or not 0 <= border < 0.5:
        raise ValueError(f"{who}: 'border' must be in [0, 0.5), got {border!r}")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not (
                math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"{who}: 'timeout' must be None or a positive number of seconds, got {timeout!r}")
        if executor is None and (threading.current_thread() is not threading.main_thread()
                                 or not hasattr(signal, "setitimer")):
            raise ValueError(f"{who}: 'timeout' without an executor stops a trial with SIGALRM, which works only in "
                             f"the main thread on POSIX; pass executor=ProcessPoolExecutor(...) instead")
    if save_path is not None and not isinstance(save_path, (str, bytes, os.PathLike)):
        raise TypeError(f"{who}: 'save_path' must be None or a path to a .jsonl file, got {type(save_path).__name__}")


class _Stage:
    """Runs one batch of configurations (a whole random search, or one stage of coarse to fine), skipping the
    trials already in the save file and appending the others to it as they finish."""

    def __init__(self, objective, executor, timeout, log):
        self.objective, self.executor, self.timeout, self.log = objective, executor, timeout, log

    def run(self, configs, first_index=0, stage=0):
        """``(trials, interrupted)``."""
        trials, todo = [], []
        for i, c in enumerate(configs):
            index = first_index + i
            if self.log is not None and index in self.log.done:
                rec = self.log.check(index, c)
                trials.append(Trial(index, c, float(rec["score"]) if rec["error"] is None else float("nan"),
                                    dict(rec.get("extras") or {}), rec["error"], float(rec.get("seconds", 0.0)),
                                    stage))
            else:
                todo.append((index, c))

        def on_done(index, out):
            score, extras, error, seconds = out
            t = Trial(index, configs[index - first_index], score, extras, error, seconds, stage)
            trials.append(t)            # then saved: a Ctrl-C in between only means it runs again on resume
            if self.log is not None:
                self.log.append(t)

        interrupted = run_trials(self.objective, todo, self.executor, self.timeout, on_done)
        return trials, interrupted


def _open_log(who, save_path, header):
    return SearchLog(save_path, header, who) if save_path is not None else None


def _emit(result, warn, who, planned, save_path):
    if result.interrupted:
        again = (f"; call {who} again with save_path={save_path!r} to resume" if save_path is not None else
                 "; pass save_path= to be able to resume")
        warnings.warn(f"{who}: interrupted (Ctrl-C) with {len(result.trials)} of {planned} trials finished; the "
                      f"result holds those{again}", SearchInterrupted, stacklevel=3)
    if warn:
        for w in result.warnings:
            warnings.warn(w, BorderWarning, stacklevel=3)


def random_search(objective, space: dict, n_trials: int, seed=0, executor=None, border: float = 0.1,
                  warn: bool = True, timeout=None, save_path=None) -> SearchResult:
    """Evaluate ``objective`` on ``n_trials`` configurations drawn at random from ``space``.

    ``objective(params) -> score`` (lower is better) or ``{"score": score, **extras}``.  ``seed`` (int,
    SeedSequence or Generator) fixes every configuration before any trial runs.  ``executor``: None runs
    the trials one after another in this process; any ``concurrent.futures`` Executor (threads, processes --
    then the objective must be picklable --, or a Dask cluster's ``Client(...).get_executor()``) runs them in
    parallel with the same results.  Border warnings (``BorderWarning``, also in ``result.warnings``) are
    issued when ``warn``.

    One bad trial never costs the others: an exception (even ``SystemExit``), a worker process that dies
    (``"crashed"``; a broken process pool is replaced) and a trial still running after ``timeout`` seconds
    (``"timeout"``; it is stopped -- see ``nn_scratch.trials`` for how on each executor) are recorded as
    failed trials.  Ctrl-C stops the search and returns the finished trials (``result.interrupted``).

    ``save_path``: a ``.jsonl`` file that gets one line per trial as it finishes; calling again with the same
    file, space and seed skips the trials it holds and returns the same trials as an uninterrupted search
    (extras that are not numbers or strings, such as a trained model, are not saved).
    """
    _check_common("random_search", objective, executor, border, timeout, save_path)
    check_seed("seed", seed, who="random_search")
    _check_space("random_search", space)
    if isinstance(n_trials, bool) or not isinstance(n_trials, numbers.Integral) or n_trials < 1:
        raise ValueError(f"random_search: 'n_trials' must be a positive integer, got {n_trials!r}")
    header = None if save_path is None else {
        "search": "random_search", "space": describe_space(space), "seed": describe_seed("random_search", seed)}
    configs = _sample_configs(space, int(n_trials), np.random.default_rng(seed))
    log = _open_log("random_search", save_path, header)
    try:
        trials, interrupted = _Stage(objective, executor, timeout, log).run(configs)
    finally:
        if log is not None:
            log.close()
    result = SearchResult(trials, space, border, interrupted=interrupted)
    _emit(result, warn, "random_search", int(n_trials), save_path)
    return result


def narrow_space(space: dict, trials, shrink: float = 0.5) -> dict:
    """A new space: each numeric range ``shrink`` times as wide (in log space for LogUniform), centred on the
    mean of the ``trials``' values (log-mean for LogUniform) and kept inside the old range.  Choices and
    constants are unchanged."""
    if not trials:
        raise ValueError("narrow_space: 'trials' is empty -- no successful trial to narrow around")
    check_number("shrink", shrink, who="narrow_space", low=0, high=1, low_open=True)
    out = {}
    for name, d in space.items():
        if isinstance(d, (Uniform, IntUniform)):
            out[name] = d.narrowed([t.params[name] for t in trials], shrink)
        else:
            out[name] = d
    return out


def coarse_to_fine(objective, space: dict, stages=(20, 10), top_k: int = 3, shrink: float = 0.5, seed=0,
                   executor=None, stage_params=None, border: float = 0.1, warn: bool = True, timeout=None,
                   save_path=None) -> SearchResult:
    """Random search in stages: after each stage, every numeric range is narrowed around its ``top_k`` trials
    (``narrow_space``), and the next stage searches the narrower space.

    ``stages``: trials per stage, e.g. ``[20, 10]``.  ``stage_params``: optional list (one dict per stage) of
    constants merged into that stage's configurations -- e.g. ``[{"epochs": 1}, {"epochs": 5}]`` for a
    cheap coarse stage (then compare scores within a stage: ``result.stages[-1].best``).  The result holds
    all trials (``trial.stage`` says which), ``.stages`` (one SearchResult each) and ``.spaces``; its border
    warnings refer to the *original* ranges.  Stage ``i`` draws from ``SeedSequence(seed).spawn``'s i-th child.
    ``executor``, ``timeout`` and ``save_path`` (one file for all stages) work as in ``random_search``; a
    Ctrl-C returns the stages so far, the last one holding its finished trials.
    """
    _check_common("coarse_to_fine", objective, executor, border, timeout, save_path)
    check_seed("seed", seed, who="coarse_to_fine")
    _check_space("coarse_to_fine", space)
    stages = list(stages) if isinstance(stages, (list, tuple)) else stages
    if not isinstance(stages, list) or not stages or any(
            isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1 for n in stages):
        raise ValueError(f"coarse_to_fine: 'stages' must be a non-empty list of positive trial counts, got {stages!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
        raise ValueError(f"coarse_to_fine: 'top_k' must be a positive integer, got {top_k!r}")
    check_number("shrink", shrink, who="coarse_to_fine", low=0, high=1, low_open=True)
    if stage_params is not None and (not isinstance(stage_params, (list, tuple)) or len(stage_params) != len(stages)
                                     or not all(isinstance(p, dict) for p in stage_params)):
        raise ValueError(f"coarse_to_fine: 'stage_params' must be None or one dict per stage ({len(stages)}), "
                         f"got {stage_params!r}")
    header = None if save_path is None else {
        "search": "coarse_to_fine", "space": describe_space(space), "seed": describe_seed("coarse_to_fine", seed),
        "stages": [int(n) for n in stages], "top_k": int(top_k), "shrink": float(shrink),
        "stage_params": None if stage_params is None else [sorted(describe_space(p)) for p in stage_params]}
    seeds = (seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(
        seed if not isinstance(seed, np.random.Generator) else seed.integers(2**63))).spawn(len(stages))
    spaces, results, trials, current = [], [], [], dict(space)
    interrupted = False
    log = _open_log("coarse_to_fine", save_path, header)
    try:
        runner = _Stage(objective, executor, timeout, log)
        for i, n in enumerate(stages):
            if i > 0:
                prev = results[-1]
                if not prev.ok:
                    raise ValueError(f"coarse_to_fine: every trial of stage {i - 1} failed (first error: "
                                     f"{prev.failed[0].error}); cannot narrow")
                current = narrow_space(current, prev.top(top_k), shrink)
            spaces.append(current)
            run_space = {**current, **(stage_params[i] if stage_params else {})}
            configs = _sample_configs(run_space, int(n), np.random.default_rng(seeds[i]))
            stage_trials, interrupted = runner.run(configs, first_index=sum(stages[:i]), stage=i)
            results.append(SearchResult(stage_trials, run_space, border, interrupted=interrupted))
            trials += stage_trials
            if interrupted:
                break
    finally:
        if log is not None:
            log.close()
    result = SearchResult(trials, space, border, stages=results, spaces=spaces, interrupted=interrupted)
    _emit(result, warn, "coarse_to_fine", sum(stages), save_path)
    return result


# -- the figure ---------------------------------------------------------------------------------------------------
def plot_search(result: SearchResult, param: str, title=None, logy=None):
    """Score against ``param`` for every trial; drawn by ``nn_scratch.plots.plot_search`` (see there: the
    useful range is kept, exploded and failed trials sit on the top edge, marked)."""
    from .plots import plot_search as draw
    return draw(result, param, title=title, logy=logy)
