"""Searches survive real faults: worker processes killed, trials that exit or hang, a Ctrl-C, a kill -9 of the
search itself while it writes its save file -- and a resumed search gives the uninterrupted result."""
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from nn_scratch.search import LogUniform, SearchInterrupted, Uniform, coarse_to_fine, random_search

REPO = Path(__file__).resolve().parents[1]
SPACE = {"lr": LogUniform(1e-4, 1.0), "x": Uniform(0.0, 1.0)}
FORK = multiprocessing.get_context("fork")


def bowl(p):
    return (np.log10(p["lr"]) + 2.0) ** 2 + p["x"] ** 2


def bad(p):
    """The trials with x > 0.75 misbehave as p["fault"] says; the others return bowl(p)."""
    if p["x"] > 0.75:
        fault = p["fault"]
        if fault == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)           # what the out-of-memory killer does
        elif fault == "os_exit":
            os._exit(1)
        elif fault == "sys_exit":
            sys.exit(3)
        elif fault == "keyboard":
            raise KeyboardInterrupt
        elif fault == "hang":
            time.sleep(3600)
        elif fault == "hang_hard":                          # SIGALRM blocked: only killing the process stops it
            Path(p["pid_dir"], str(os.getpid())).touch()
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(3600)
    time.sleep(0.02)
    return bowl(p)


def expected(n, seed=0, **const):
    """The uninterrupted, fault-free answer: which trials misbehave, and every good trial's score."""
    r = random_search(bowl, {**SPACE, **const}, n_trials=n, seed=seed, warn=False)
    return {t.index for t in r.trials if t.params["x"] > 0.75}, {t.index: t.score for t in r.trials}


def key(result):
    return sorted((t.index, t.stage, json.dumps(t.params, sort_keys=True), None if not t.ok else t.score, t.error)
                  for t in result.trials)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def check(result, n, seed, reason, **const):
    bad_ones, scores = expected(n, seed, **const)
    assert 0 < len(bad_ones) < n
    assert len(result.trials) == n and not result.interrupted
    assert {t.index for t in result.failed} == bad_ones
    assert all(t.error.startswith(reason) for t in result.failed), [t.error for t in result.failed]
    assert {t.index: t.score for t in result.ok} == {i: s for i, s in scores.items() if i not in bad_ones}


# -- dead workers, exits, hangs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["sigkill", "os_exit"])
def test_a_dead_worker_is_a_crashed_trial_and_the_pool_is_replaced(fault, tmp_path):
    with ProcessPoolExecutor(max_workers=2, mp_context=FORK) as pool:
        r = random_search(bad, {**SPACE, "fault": fault}, n_trials=10, seed=0, executor=pool, warn=False,
                          save_path=tmp_path / "s.jsonl")
    check(r, 10, 0, "crashed: its worker process died", fault=fault)
    # how it died, when the pool's processes still tell (their exit codes are not always readable in time)
    how = "killed by SIGKILL" if fault == "sigkill" else "exit code 1"
    assert all(how in t.error or "os._exit, or a fault in native code" in t.error for t in r.failed), \
        [t.error for t in r.failed]
    # the save file holds every trial, the crashed ones too: a resume runs nothing again
    lines = (tmp_path / "s.jsonl").read_text().splitlines()
    assert len(lines) == 11 and sum(json.loads(s).get("error") is not None for s in lines[1:]) == len(r.failed)
    calls = []
    again = random_search(lambda p: calls.append(1) or bowl(p), {**SPACE, "fault": fault}, n_trials=10, seed=0,
                          warn=False, save_path=tmp_path / "s.jsonl")
    assert calls == [] and key(again) == key(r)


@pytest.mark.parametrize("executor", ["serial", "threads", "processes"])
def test_system_exit_and_keyboard_interrupt_in_a_trial_are_failed_trials(executor):
    make = {"serial": lambda: None, "threads": lambda: ThreadPoolExecutor(2),
            "processes": lambda: ProcessPoolExecutor(2, mp_context=FORK)}[executor]
    for fault, reason in [("sys_exit", "SystemExit: 3"), ("keyboard", "KeyboardInterrupt")]:
        pool = make()
        try:
            r = random_search(bad, {**SPACE, "fault": fault}, n_trials=8, seed=1, executor=pool, warn=False)
        finally:
            if pool is not None:
                pool.shutdown()
        check(r, 8, 1, reason, fault=fault)


def test_a_hung_trial_times_out_serially():
    t0 = time.perf_counter()
    r = random_search(bad, {**SPACE, "fault": "hang"}, n_trials=6, seed=0, timeout=0.5, warn=False)
    check(r, 6, 0, "timeout: still running after 0.5 s; stopped", fault="hang")
    assert time.perf_counter() - t0 < 0.6 * len(r.failed) + 3


def test_a_hung_process_is_killed_and_the_others_rerun(tmp_path):
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2, mp_context=FORK) as pool:
        r = random_search(bad, {**SPACE, "fault": "hang_hard", "pid_dir": str(tmp_path)}, n_trials=8, seed=0,
                          executor=pool, timeout=0.5, warn=False)
    check(r, 8, 0, "timeout: still running after 0.5 s; its worker process was killed", fault="hang_hard",
          pid_dir=str(tmp_path))
    pids = [int(p.name) for p in tmp_path.iterdir()]
    # every process that ran a hanging trial is dead (a hanging trial that was running beside the one that
    # timed out first lost its worker too and ran again: so there can be more processes than failed trials)
    assert len(pids) >= len(r.failed) and not any(alive(pid) for pid in pids)
    assert time.perf_counter() - t0 < 2.5 * len(r.failed) + 5


def test_a_hung_thread_is_abandoned_and_said_so():
    release = threading.Event()

    def stuck(p):
        if p["x"] > 0.75:
            release.wait(30)
        return bowl(p)

    pool = ThreadPoolExecutor(max_workers=3)
    try:
        r = random_search(stuck, SPACE, n_trials=8, seed=0, executor=pool, timeout=0.3, warn=False)
    finally:
        release.set()
        pool.shutdown()
    check(r, 8, 0, "timeout: still running after 0.3 s; a thread cannot be stopped")


@pytest.mark.parametrize("kwargs, match", [(dict(timeout=0), "'timeout'"), (dict(timeout=float("nan")), "'timeout'"),
                                           (dict(save_path=3), "'save_path'"), (dict(seed=None, save_path="x.jsonl"),
                                                                                "'seed'")])
def test_bad_timeout_and_save_path_are_refused_before_any_trial(kwargs, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    calls = []
    with pytest.raises((TypeError, ValueError), match=match):
        random_search(lambda p: calls.append(1) or 0.0, SPACE, n_trials=3, **kwargs)
    assert calls == [] and not (tmp_path / "x.jsonl").exists()


# -- Ctrl-C, kill -9 and resume ---------------------------------------------------------------------------------
SCRIPT = textwrap.dedent('''
    import multiprocessing, os, signal, sys, time
    from concurrent.futures import ProcessPoolExecutor
    # a terminal's Python turns Ctrl-C into KeyboardInterrupt; a CI job started in the background may hand us
    # SIGINT ignored, so put the terminal's handler back first
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np
    from nn_scratch.search import LogUniform, Uniform, random_search

    def slow_bowl(p):
        with open(os.path.join(sys.argv[2], str(os.getpid())), "w"):
            pass
        time.sleep(0.25)
        return (np.log10(p["lr"]) + 2.0) ** 2 + p["x"] ** 2

    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) if sys.argv[3] == "processes" else None
    r = random_search(slow_bowl, {"lr": LogUniform(1e-4, 1.0), "x": Uniform(0.0, 1.0)}, n_trials=40, seed=0,
                      executor=pool, warn=False, save_path=sys.argv[1])
    print("RESULT", len(r.trials), r.interrupted, flush=True)
''')


def start_search(tmp_path, executor):
    save, pids = tmp_path / "search.jsonl", tmp_path / "pids"
    pids.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO), OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(save), str(pids), executor], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    return proc, save, pids


def wait_for_lines(save, n, proc, limit=60):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if save.exists() and save.read_bytes().count(b"\n") >= n + 1:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"no {n} trials in {save} after {limit} s")


def uninterrupted(n=40):
    return random_search(bowl, SPACE, n_trials=n, seed=0, warn=False)


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_ctrl_c_stops_promptly_and_keeps_what_finished(executor, tmp_path):
    proc, save, pids = start_search(tmp_path, executor)
    try:
        wait_for_lines(save, 3, proc)
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)              # what Ctrl-C in a terminal does: the whole group
        out, err = proc.communicate(timeout=20)
        stopped = time.monotonic() - t0
    finally:
        with_suppressed_kill(proc)
    assert proc.returncode == 0, err
    assert stopped < 5
    n_lines = len(save.read_text().splitlines()) - 1
    assert f"RESULT {n_lines} True" in out and 3 <= n_lines < 40
    assert "interrupted (Ctrl-C)" in err and "to resume" in err
    assert not any(alive(int(p.name)) for p in pids.iterdir())         # no trial left running
    calls = []
    resumed = random_search(lambda p: calls.append(1) or bowl(p), SPACE, n_trials=40, seed=0, warn=False,
                            save_path=save)
    assert len(calls) == 40 - n_lines and key(resumed) == key(uninterrupted())


def with_suppressed_kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def test_kill_9_while_saving_then_resume_gives_the_uninterrupted_result(tmp_path):
    proc, save, _ = start_search(tmp_path, "serial")
    try:
        wait_for_lines(save, 4, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        with_suppressed_kill(proc)
    assert proc.returncode == -signal.SIGKILL
    data = save.read_bytes()
    lines = data.splitlines()
    # cut the file in the middle of its last line, as a kill during a write would leave it
    os.truncate(save, len(data) - len(lines[-1]) // 2 - 1)
    assert not save.read_bytes().endswith(b"\n")
    kept = len(lines) - 2                                  # header and the torn line do not count
    calls = []
    resumed = random_search(lambda p: calls.append(1) or bowl(p), SPACE, n_trials=40, seed=0, warn=False,
                            save_path=save)
    assert len(calls) == 40 - kept and key(resumed) == key(uninterrupted())
    text = save.read_text()
    assert text.endswith("\n") and len(text.splitlines()) == 41
    assert sorted(json.loads(s)["index"] for s in text.splitlines()[1:]) == list(range(40))


def test_resume_refuses_another_search_and_extends_a_longer_one(tmp_path):
    save = tmp_path / "s.jsonl"
    first = random_search(bowl, SPACE, n_trials=5, seed=0, warn=False, save_path=save)
    for kwargs, what in [(dict(seed=1), "seed differs"), (dict(space={**SPACE, "x": Uniform(0.0, 2.0)}), "space differs")]:
        with pytest.raises(ValueError, match=f"holds a different search \\({what}"):
            random_search(bowl, **{"space": SPACE, "n_trials": 5, "seed": 0, "save_path": save, **kwargs})
    with pytest.raises(ValueError, match="search differs"):
        coarse_to_fine(bowl, SPACE, stages=[3, 2], seed=0, save_path=save)
    calls = []
    longer = random_search(lambda p: calls.append(1) or bowl(p), SPACE, n_trials=8, seed=0, warn=False, save_path=save)
    assert len(calls) == 3 and key(longer) == key(uninterrupted(8))
    assert key(random_search(bowl, SPACE, n_trials=5, seed=0, warn=False, save_path=save)) == key(first)
    (tmp_path / "other.jsonl").write_text("hello\n")
    with pytest.raises(ValueError, match="not a search save file"):
        random_search(bowl, SPACE, n_trials=5, seed=0, save_path=tmp_path / "other.jsonl")


def test_coarse_to_fine_resumes_from_a_cut_file(tmp_path):
    save = tmp_path / "c2f.jsonl"
    full = coarse_to_fine(bowl, SPACE, stages=[6, 4], seed=0, warn=False, save_path=save)
    lines = save.read_text().splitlines(keepends=True)
    assert len(lines) == 11
    with open(save, "r+") as f:                             # keep the header and 7 trials: stage 1 half done
        f.truncate(len("".join(lines[:8])))
    calls = []
    resumed = coarse_to_fine(lambda p: calls.append(1) or bowl(p), SPACE, stages=[6, 4], seed=0, warn=False,
                             save_path=save)
    assert len(calls) == 3 and key(resumed) == key(full)
    assert [s["lr"].low for s in resumed.spaces] == [s["lr"].low for s in full.spaces]


def test_ctrl_c_in_process_returns_the_finished_trials_with_a_warning():
    """The same promise without a subprocess: SIGINT to ourselves while trials run serially."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("needs the main thread")
    seen = []

    def objective(p):
        seen.append(1)
        if len(seen) == 4:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)                                   # interrupted at once
        return bowl(p)

    # as in a terminal (a CI job started in the background may run us with SIGINT ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        t0 = time.perf_counter()
        with pytest.warns(SearchInterrupted, match="3 of 10 trials finished"):
            r = random_search(objective, SPACE, n_trials=10, seed=0, warn=False)
        assert time.perf_counter() - t0 < 3
        assert r.interrupted and len(r.trials) == 3 and "interrupted" in str(r) and "interrupted" in repr(r)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler     # the handler is restored
    finally:
        signal.signal(signal.SIGINT, previous)
