"""What a search does when one of its trials dies, exits, is interrupted or hangs.

Each case runs ``random_search`` (6 trials, trial 2 misbehaves) in a fresh Python process with a wall-clock
limit, and prints one line: what came back (trials ok / failed with their reasons), what was raised, or that
the search hung.  It measures; it is not a test (``tests/test_search_faults.py`` asserts the wanted
behaviour).

    python benchmarks/search_faults.py              # the package on sys.path
    python benchmarks/search_faults.py --limit 30   # seconds before a case counts as hung (default 20)
    python benchmarks/search_faults.py --dask       # also on a Dask LocalCluster of 2 worker processes
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

CASE = textwrap.dedent('''
    import inspect, os, signal, sys, time
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
    import multiprocessing
    from nn_scratch.search import Uniform, random_search

    def objective(p):
        if p["i"] == 2:
            {fault}
        time.sleep(0.05)
        return p["x"]

    class Counter:                       # the trial number as a parameter: trial 2 is the bad one
        def __init__(self):
            self.n = -1
        def sample(self, rng):
            self.n += 1
            return self.n

    import nn_scratch.search as S
    S.DIMENSIONS = S.DIMENSIONS + (Counter,)
    space = {{"x": Uniform(0, 1), "i": Counter()}}
    kwargs = {{"timeout": 2.0}} if "timeout" in inspect.signature(random_search).parameters else {{}}
    pool = {pool}
    if pool == "dask":
        from distributed import Client, LocalCluster
        import logging
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                               silence_logs=logging.CRITICAL)
        pool = Client(cluster).get_executor()
    try:
        r = random_search(objective, space, n_trials=6, seed=0, executor=pool, warn=False, **kwargs)
        reasons = sorted({{t.error.split(":")[0] for t in r.failed}})
        print(f"returned: {{len(r.ok)}} ok, {{len(r.failed)}} failed {{reasons}}")
    except BaseException as e:
        print(f"raised {{type(e).__name__}}; finished trials lost")
    finally:
        if pool is not None and hasattr(pool, "_max_workers"):
            pool.shutdown(wait=False, cancel_futures=True)
        sys.stdout.flush()
        os._exit(0)
''')

FAULTS = {
    "SIGKILL": "os.kill(os.getpid(), signal.SIGKILL)",
    "os._exit(1)": "os._exit(1)",
    "sys.exit(3)": "sys.exit(3)",
    "KeyboardInterrupt": "raise KeyboardInterrupt",
    "never returns": "time.sleep(3600)",
}
POOLS = {
    "serial": "None",
    "threads": "ThreadPoolExecutor(max_workers=2)",
    "processes": "ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context('fork'))",
}
# a process-killing fault in the serial or threaded case kills the search itself: nothing can survive that
SKIP = {("SIGKILL", "serial"), ("SIGKILL", "threads"), ("os._exit(1)", "serial"), ("os._exit(1)", "threads")}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=20.0, help="seconds before a case counts as hung")
    ap.add_argument("--dask", action="store_true", help="also run each case on a Dask LocalCluster")
    ap.add_argument("--only", nargs="+", choices=[*POOLS, "dask"], help="run these executors only")
    args = ap.parse_args(argv)
    pools = dict(POOLS, **({"dask": '"dask"'} if args.dask or (args.only and "dask" in args.only) else {}))
    pools = {k: v for k, v in pools.items() if not args.only or k in args.only}
    print(f"{'trial 2 does':<20} {'executor':<10} {'seconds':>7}  outcome")
    for fault, code in FAULTS.items():
        for pool, make in pools.items():
            if (fault, pool) in SKIP:
                continue
            src = CASE.format(fault=code, pool=make)
            t0 = time.perf_counter()
            with tempfile.TemporaryFile("w+") as out_file:      # a file, not a pipe: orphaned workers
                proc = subprocess.Popen([sys.executable, "-c", src], stdout=out_file, stderr=subprocess.STDOUT,
                                        text=True, start_new_session=True)
                try:
                    proc.wait(timeout=args.limit)
                    out_file.seek(0)
                    lines = [s for s in out_file.read().splitlines() if s.startswith(("returned", "raised"))]
                    out = lines[-1] if lines else f"no outcome printed, exit code {proc.returncode}"
                except subprocess.TimeoutExpired:
                    out = f"hung: still running after {args.limit:.0f} s (killed)"
                finally:                 # the case and any worker processes it left behind
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait()
            print(f"{fault:<20} {pool:<10} {time.perf_counter() - t0:7.1f}  {out}", flush=True)


if __name__ == "__main__":
    main()
