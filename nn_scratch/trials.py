"""Running the trials of a search so that one bad trial never costs the others.

``run_trials(objective, jobs, executor, timeout, on_done)`` calls the objective once per ``(index, params)``
job -- one after another in this process, or on a ``concurrent.futures`` executor (threads, processes, or a
Dask cluster's ``Client.get_executor()``) -- and reports each *finished* trial to ``on_done`` as soon as it
finishes.  What can go wrong in a trial, and what the search records:

* the objective raises anything, ``SystemExit`` and ``KeyboardInterrupt`` included -- ``"SystemExit: 3"``;
* its process dies (the OOM killer's SIGKILL, ``os._exit``, a segfault) -- ``"crashed: ..."``.  A broken
  ``ProcessPoolExecutor`` is replaced by a new pool of the same size and start method.  When several trials
  were running as the pool broke, they are run again one at a time, so the blame lands on the right one;
  on Dask the scheduler reruns the task elsewhere and gives up after ``distributed.scheduler.allowed-failures``
  worker deaths (``KilledWorker``);
* it runs longer than ``timeout`` seconds -- ``"timeout: ..."``, and it is stopped: in this process by a
  SIGALRM (main thread only), in a process pool by killing the pool's worker processes (the other trials
  that were running are started again on a fresh pool), on Dask by restarting the worker.  A thread cannot
  be stopped: a timed-out trial on a ``ThreadPoolExecutor`` runs on in the background and its result is
  ignored -- use processes for trials that may hang.

The clock of a trial starts when it is handed to a free worker: at most as many trials are submitted as the
executor has workers, so none waits in a queue while its clock runs.

A Ctrl-C from the user (SIGINT) stops everything promptly: ``run_trials`` returns True, the trials not yet
reported are abandoned (running worker processes are killed), and the caller keeps what finished.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import os
import threading
import time
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, CancelledError, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

import numpy as np

__all__ = ["run_trial", "run_trials", "TrialTimeout", "INTERRUPTED"]

INTERRUPTED = "interrupted by the user"     # what run_trial returns when a Ctrl-C stopped the objective


class TrialTimeout(BaseException):
    """Raised inside a trial that ran past its ``timeout`` (a BaseException, so ``except Exception`` in the
    objective does not swallow it)."""


def _describe(err: BaseException) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


@contextlib.contextmanager
def _guards(timeout):
    """In the main thread: a SIGINT handler that notes the user's Ctrl-C (so it is told apart from a
    ``KeyboardInterrupt`` the objective raises itself), and a SIGALRM after ``timeout`` seconds.  Both only
    raise while ``state["running"]`` (inside the objective); elsewhere they only take note."""
    import signal

    state = {"running": False, "sigint": False, "alarm": False}
    main = threading.current_thread() is threading.main_thread()
    old_int = old_alarm = None

    def on_int(signum, frame):
        state["sigint"] = True
        if state["running"]:
            raise KeyboardInterrupt

    def on_alarm(signum, frame):
        state["alarm"] = True
        if state["running"]:
            raise TrialTimeout(f"still running after {timeout:g} s")

    if main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        old_int = signal.signal(signal.SIGINT, on_int)
    use_alarm = main and timeout is not None and hasattr(signal, "setitimer")
    if use_alarm:
        old_alarm = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        yield state
    finally:
        state["running"] = False
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_alarm)
        if old_int is not None:
            signal.signal(signal.SIGINT, old_int)


@contextlib.contextmanager
def _deferred_sigint():
    """In the main thread, while a search waits on its executor: Ctrl-C raises ``KeyboardInterrupt`` only
    during the wait (``state["waiting"]``); elsewhere -- recording a finished trial -- it is noted in
    ``state["seen"]`` and the loop stops at its next safe point."""
    import signal

    state = {"waiting": False, "seen": False}
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield state
        return

    def on_int(signum, frame):
        state["seen"] = True
        if state["waiting"]:
            raise KeyboardInterrupt

    old = signal.signal(signal.SIGINT, on_int)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, old)


def run_trial(objective, params, timeout=None):
    """Call ``objective(params)`` once and never raise.

    Returns ``(score, extras, error, seconds)`` -- ``error`` is None for a good trial, else the reason --
    or ``INTERRUPTED`` when the user's Ctrl-C stopped it (a trial that did not finish: it is not recorded).
    ``timeout`` is enforced here only in a main thread (by SIGALRM); the caller enforces it elsewhere."""
    t0 = time.perf_counter()
    out, error = None, None
    with _guards(timeout) as state:
        try:
            state["running"] = True
            out = objective(dict(params))
            state["running"] = False
        except TrialTimeout as err:
            state["running"] = False
            error = f"timeout: {err}; stopped"
        except BaseException as err:  # noqa: B902 -- SystemExit or KeyboardInterrupt in a trial is a result too
            state["running"] = False
            error = _describe(err)
    seconds = time.perf_counter() - t0
    if state["sigint"]:
        return INTERRUPTED
    if error is not None:
        return float("nan"), {}, error, seconds
    try:
        return _score(out) + (seconds,)
    except Exception as err:
        return float("nan"), {}, _describe(err), seconds


def _score(out):
    """``(score, extras, error)`` from what the objective returned."""
    extras = {}
    if isinstance(out, dict):
        if "score" not in out:
            raise KeyError(f"the objective returned a dict without a 'score' key (keys {sorted(out)})")
        extras = {k: v for k, v in out.items() if k != "score"}
        out = out["score"]
    if isinstance(out, bool) or not isinstance(out, (numbers.Real, np.ndarray)) or np.ndim(out) != 0:
        raise TypeError(f"the objective must return a number or a dict with 'score', got {out!r}")
    score = float(out)
    if not math.isfinite(score):
        return float("nan"), extras, f"score is {score}"
    return score, extras, None


# -- the loops -------------------------------------------------------------------------------------------------
def run_trials(objective, jobs, executor=None, timeout=None, on_done=None) -> bool:
    """Run ``objective`` on every ``(index, params)`` in ``jobs``; ``on_done(index, (score, extras, error,
    seconds))`` is called as each finishes.  Returns True when the user interrupted (Ctrl-C): the jobs not
    reported then did not finish."""
    if executor is None:
        return _run_serial(objective, jobs, timeout, on_done)
    return _ExecutorRun(objective, executor, timeout, on_done).run(jobs)


def _run_serial(objective, jobs, timeout, on_done):
    try:
        for index, params in jobs:
            out = run_trial(objective, params, timeout)
            if out is INTERRUPTED:
                return True
            on_done(index, out)
    except KeyboardInterrupt:           # a Ctrl-C between two trials
        return True
    return False


class _Job:
    __slots__ = ("index", "params", "start", "key", "task", "tries", "stuck", "worker")

    def __init__(self, index, params):
        self.index, self.params, self.start, self.key, self.task, self.tries = index, params, 0.0, None, None, 0
        self.stuck = self.worker = None


def _kind(executor):
    if type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "_client"):
        return "dask"
    if isinstance(executor, ProcessPoolExecutor):
        return "process"
    if isinstance(executor, ThreadPoolExecutor):
        return "thread"
    return "other"


async def _kill_this_worker(client_pid):
    """Run on a Dask worker by ``Client.run``: kill its process (never the client's own, for a worker that
    lives in the client process)."""
    import signal

    if os.getpid() != client_pid:
        os.kill(os.getpid(), signal.SIGKILL)


def _failed(error, seconds=0.0):
    return float("nan"), {}, error, seconds


class _ExecutorRun:
    """One pass over the jobs on an executor: throttled submission, deadlines, broken pools, Ctrl-C."""

    GRACE = 1.0        # a process-pool trial gets this long after its own SIGALRM before its worker is killed

    def __init__(self, objective, executor, timeout, on_done):
        self.objective, self.executor, self.timeout, self.on_done = objective, executor, timeout, on_done
        self.kind = _kind(executor)
        self.owned = []                 # replacement pools we made (and must shut down)
        self.queue = deque()
        self.inflight = {}              # future -> _Job
        self.suspects = set()           # indices to rerun alone: they were running when a pool broke
        self.killed = {}                # index -> timeout message, for trials whose worker we killed
        self.zombies = set()            # timed-out thread futures still running (a thread cannot be stopped)
        self.token = uuid.uuid4().hex[:8]
        self.procs = {}
        self.capacity = self._capacity()

    def _capacity(self):
        if self.kind == "dask":
            with contextlib.suppress(Exception):
                return max(1, sum(self.executor._client.nthreads().values()))
            return os.cpu_count() or 1
        n = getattr(self.executor, "_max_workers", None)
        return n if isinstance(n, int) and n > 0 else (os.cpu_count() or 1)

    # -- main loop ---------------------------------------------------------------------------------------------
    def run(self, jobs) -> bool:
        self.queue.extend(_Job(i, p) for i, p in jobs)
        try:
            with _deferred_sigint() as sigint:
                self._loop(sigint)
        except KeyboardInterrupt:
            self._abandon()
            return True
        finally:
            for pool in self.owned:
                pool.shutdown(wait=False, cancel_futures=True)
        return False

    def _loop(self, sigint):
        while self.queue or self.inflight:
            self._submit_more()
            if not self.inflight:           # every thread is stuck in a timed-out trial
                while self.queue:
                    job = self.queue.popleft()
                    self.on_done(job.index, _failed(
                        "not run: every worker thread is stuck in a timed-out trial (threads cannot be "
                        "stopped; use a ProcessPoolExecutor for trials that may hang)"))
                break
            sigint["waiting"] = True
            try:
                done, _ = wait(list(self.inflight), timeout=self._tick(), return_when=FIRST_COMPLETED)
            finally:
                sigint["waiting"] = False
            for f in sorted(done, key=lambda f: self.inflight[f].index if f in self.inflight else -1):
                if f in self.inflight:
                    self._finish(f)
            self._check_deadlines()
            if self.kind == "dask":
                self._resubmit_dropped()
            if sigint["seen"]:              # a Ctrl-C during the bookkeeping: stop now that it is consistent
                raise KeyboardInterrupt

    def _free(self):
        self.zombies = {f for f in self.zombies if not f.done()}
        return self.capacity - len(self.inflight) - len(self.zombies)

    def _submit_more(self):
        while self.queue and self._free() > 0:
            if any(j.index in self.suspects for j in self.inflight.values()):
                return                                  # a suspect runs alone
            if self.queue[0].index in self.suspects and self.inflight:
                return
            self._submit(self.queue.popleft())

    def _submit(self, job):
        kwargs = {}
        if self.kind == "dask":
            job.key = f"nn_scratch-trial-{job.index}-{self.token}-{uuid.uuid4().hex[:6]}"
            kwargs["key"] = job.key
        for attempt in range(2):
            try:
                f = self.executor.submit(run_trial, self.objective, job.params, self.timeout, **kwargs)
                break
            except BrokenProcessPool:
                if attempt:
                    raise
                self._replace_pool()
        job.start = None if self.kind == "dask" and self.timeout is not None else time.monotonic()
        job.tries += 1
        if self.kind == "dask":             # the Dask future itself, to see a task the cluster dropped
            job.task = next((d for d in list(getattr(self.executor, "_futures", ())) if d.key == job.key), None)
        self.inflight[f] = job
        self.procs.update(getattr(self.executor, "_processes", None) or {})      # pid -> Process, for exit codes

    def _tick(self):
        started = [j.start for j in self.inflight.values() if j.start is not None]
        if self.timeout is None:
            return 0.5
        if len(started) < len(self.inflight):
            return 0.1                  # Dask: watch for the tasks to start
        return min(0.5, max(0.01, min(started) + self._limit() - time.monotonic()))

    def _seconds(self, job):
        return 0.0 if job.start is None else time.monotonic() - job.start

    def _limit(self):
        return self.timeout + (self.GRACE if self.kind == "process" else 0.0)

    # -- a finished future -----------------------------------------------------------------------------------
    def _finish(self, f):
        job = self.inflight[f]
        if f.cancelled():
            del self.inflight[f]
            self.on_done(job.index, _failed("cancelled: its future was cancelled outside the search"))
            return
        exc = f.exception()
        if isinstance(exc, BrokenProcessPool):
            self._pool_broke()
            return
        del self.inflight[f]
        self.suspects.discard(job.index)
        seconds = self._seconds(job)
        if exc is None:
            out = f.result()
            if out is INTERRUPTED or out == INTERRUPTED:      # the worker saw the user's Ctrl-C
                raise KeyboardInterrupt
            self.on_done(job.index, out)
        elif type(exc).__name__ == "KilledWorker":
            self.on_done(job.index, _failed(f"crashed: the Dask worker running it died ({_describe(exc)})",
                                            seconds))
        elif isinstance(exc, CancelledError):
            self.on_done(job.index, _failed("cancelled: its task was cancelled outside the search", seconds))
        else:                            # e.g. the objective could not be pickled
            self.on_done(job.index, _failed(_describe(exc), seconds))

    def _pool_broke(self):
        """A worker process of the pool died: every trial that was running has failed with
        BrokenProcessPool.  Record the ones we killed (timeouts), blame a lone crasher, rerun the rest."""
        wait(list(self.inflight), timeout=30)
        codes = self._exit_codes()
        broken = []
        for f, job in sorted(self.inflight.items(), key=lambda kv: kv[1].index):
            if f.done() and not f.cancelled() and f.exception() is None:
                out = f.result()
                if out is not INTERRUPTED and out != INTERRUPTED:
                    self.suspects.discard(job.index)
                    self.on_done(job.index, out)
            else:
                broken.append(job)
        self.inflight.clear()
        ours = [j for j in broken if j.index in self.killed]
        others = [j for j in broken if j.index not in self.killed]
        for j in ours:
            self.on_done(j.index, _failed(self.killed.pop(j.index), self._seconds(j)))
        if not ours and len(others) == 1:
            j = others[0]
            self.suspects.discard(j.index)
            self.on_done(j.index, _failed(f"crashed: its worker process died ({codes})", self._seconds(j)))
            others = []
        elif not ours:
            self.suspects.update(j.index for j in others)      # several ran: rerun each alone to find it
        self.queue.extendleft(reversed(others))
        self._replace_pool()

    def _exit_codes(self):
        """How the pool's dead worker died, as far as its exit codes tell (the pool itself SIGTERMs the others)."""
        import signal

        deadline = time.monotonic() + 0.5
        while any(p.exitcode is None for p in self.procs.values()) and time.monotonic() < deadline:
            time.sleep(0.02)            # the pool's own thread reaps them (SIGTERMs the survivors first)
        codes = sorted({p.exitcode for p in self.procs.values() if p.exitcode not in (None, 0, -signal.SIGTERM)})
        if len(codes) != 1:
            return "killed by a signal (e.g. the out-of-memory killer), os._exit, or a fault in native code"
        c = codes[0]
        if c < 0:
            with contextlib.suppress(ValueError):
                name = signal.Signals(-c).name
                return f"killed by {name}" + (" -- the out-of-memory killer sends it" if name == "SIGKILL" else "")
            return f"killed by signal {-c}"
        return f"exit code {c}, without returning: os._exit?"

    def _replace_pool(self):
        old = self.executor
        kwargs = dict(max_workers=self.capacity, mp_context=getattr(old, "_mp_context", None),
                      initializer=getattr(old, "_initializer", None), initargs=getattr(old, "_initargs", ()))
        if getattr(old, "_max_tasks_per_child", None):
            kwargs["max_tasks_per_child"] = old._max_tasks_per_child
        if old in self.owned:
            old.shutdown(wait=False, cancel_futures=True)
            self.owned.remove(old)
        self.executor = ProcessPoolExecutor(**kwargs)
        self.owned.append(self.executor)
        self.procs = {}

    # -- deadlines ------------------------------------------------------------------------------------------------
    def _check_deadlines(self):
        if self.timeout is None:
            return
        now = time.monotonic()
        if self.kind == "dask":
            self._note_dask_starts(now)
        late = [(f, j) for f, j in self.inflight.items()
                if not f.done() and j.start is not None and now - j.start >= self._limit()]
        if not late:
            return
        if self.kind == "process" and self._kill_workers():
            for f, j in late:
                self.killed[j.index] = (f"timeout: still running after {self.timeout:g} s; its worker process "
                                        f"was killed")
            return                      # the pool now breaks: _pool_broke records them and reruns the others
        for f, j in late:
            del self.inflight[f]
            if self.kind == "dask":
                msg = self._stop_dask(f, j)
            else:
                f.cancel()
                if self.kind == "thread":
                    self.zombies.add(f)
                msg = (f"timeout: still running after {self.timeout:g} s; a thread cannot be stopped, so it runs "
                       f"on in the background and its result is ignored")
            self.on_done(j.index, _failed(msg, self._seconds(j)))

    def _resubmit_dropped(self):
        """Dask's executor can leave a future unresolved when a worker dies around the time a trial finishes
        (its result was on that worker, or fetching it failed): watch the Dask future itself, fetch the result
        ourselves, and submit the trial again when the cluster dropped it (a few times at most)."""
        now = time.monotonic()
        for f, j in list(self.inflight.items()):
            if f.done() or j.task is None:
                continue
            status = j.task.status
            if status in ("finished", "error"):
                j.stuck = j.stuck or now
                if now - j.stuck < 1.0:
                    continue            # the executor normally resolves it within milliseconds
                del self.inflight[f]
                try:
                    out = j.task.result(timeout=5)
                except Exception as err:
                    if type(err).__name__ == "KilledWorker":
                        self.on_done(j.index, _failed(f"crashed: the Dask worker running it died "
                                                      f"({_describe(err)})", self._seconds(j)))
                    else:
                        self._again(j, _describe(err))
                else:
                    self.on_done(j.index, out)
            elif status in ("cancelled", "lost"):
                del self.inflight[f]
                self._again(j, status)

    def _again(self, j, why):
        if j.tries >= 3:
            self.on_done(j.index, _failed(f"crashed: the Dask cluster lost it {j.tries} times ({why})",
                                          self._seconds(j)))
        else:
            j.stuck = None
            self.queue.appendleft(j)

    def _note_dask_starts(self, now):
        """A Dask task may wait in the scheduler's queue (a worker restarting), or run again on another worker
        after its first one died: its clock starts each time it starts running on a worker."""
        try:
            where = {k: w for w, keys in self.executor._client.processing().items() for k in keys}
        except Exception:
            where = None
        for f, j in self.inflight.items():
            if where is None:
                j.start = now if j.start is None else j.start
                continue
            w = where.get(j.key)
            if w is not None and (j.start is None or w != j.worker):
                j.start, j.worker = now, w
            elif w is None and j.worker is not None and not f.done():
                j.start, j.worker = None, None          # back in the queue after its worker died

    def _kill_workers(self) -> bool:
        kill = getattr(self.executor, "kill_workers", None)        # Python >= 3.14
        if kill is not None:
            kill()
            return True
        procs = getattr(self.executor, "_processes", None)
        if not procs:
            return False
        for p in list(procs.values()):
            with contextlib.suppress(Exception):
                p.kill()
        return True

    def _stop_dask(self, f, job):
        """Cancel the task, then kill the worker process running it; its nanny starts a fresh one."""
        client = self.executor._client
        where = []
        with contextlib.suppress(Exception):
            where = [w for w, keys in client.processing().items() if job.key in keys]
        f.cancel()
        with contextlib.suppress(Exception):
            client.cancel([k for k in self.executor._futures if k.key == job.key], force=True)
        stop = f"timeout: still running after {self.timeout:g} s; cancelled"
        try:
            info = client.scheduler_info()["workers"]
            nannied = [w for w in where if info.get(w, {}).get("nanny")]
            if not where:
                return f"{stop} (it was no longer running on any worker)"
            if not nannied:
                return f"{stop}, but its Dask worker has no nanny to restart it, so the stuck thread runs on"
            client.run(_kill_this_worker, os.getpid(), workers=nannied, wait=False)
            deadline = time.monotonic() + 10      # wait until the scheduler has dropped it, so that no other
            while time.monotonic() < deadline and set(nannied) & set(client.scheduler_info()["workers"]):
                time.sleep(0.05)                  # trial is handed to the dying worker
            return f"{stop} and its Dask worker process killed (its nanny starts a new one)"
        except Exception as err:
            return f"{stop}, but stopping its Dask worker failed ({_describe(err)})"

    # -- Ctrl-C ---------------------------------------------------------------------------------------------------
    def _abandon(self):
        """Stop at once: cancel what waits, kill the worker processes of a process pool."""
        for f in list(self.inflight):
            f.cancel()
        if self.kind == "process":
            self._kill_workers()
        elif self.kind == "dask":
            with contextlib.suppress(Exception):
                keys = {j.key for j in self.inflight.values()}
                self.executor._client.cancel([k for k in self.executor._futures if k.key in keys], force=True)
        self.inflight.clear()
