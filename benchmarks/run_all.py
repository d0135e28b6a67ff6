"""Run the benchmarks one after another, each in its own process, and print their tables.

    python benchmarks/run_all.py            # full size (a few minutes on 2 cores)
    python benchmarks/run_all.py --quick    # small sizes, to see that everything runs (under a minute)

Exits 0 even when a target is missed: these are measurements, not tests.  The targets and the numbers
measured on the development machine are in ``benchmarks/README.md``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# (script, arguments, extra environment).  Benchmark 1 runs twice: with NumPy's default BLAS threads (all
# cores) and with one thread, which is far less disturbed when other processes share the machine.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
FULL = [("bench_mlp.py", [], {}), ("bench_mlp.py", [], ONE_THREAD), ("bench_conv.py", [], {}),
        ("bench_gradcheck.py", [], {}), ("bench_memory.py", [], {}), ("bench_sequence.py", [], ONE_THREAD),
        ("bench_trainer.py", [], {}), ("bench_scaling.py", [], {})]
QUICK = [("bench_mlp.py", ["--runs", "2", "--samples", "3200"], {}), ("bench_conv.py", ["--runs", "3"], {}),
         ("bench_gradcheck.py", ["--quick"], {}), ("bench_memory.py", ["--samples", "6000"], {}),
         ("bench_sequence.py", ["--quick"], {}), ("bench_trainer.py", ["--runs", "2", "--samples", "3600"], {}),
         ("bench_scaling.py", ["--runs", "1", "--samples", "1000", "--no-torch"], {})]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: checks that every benchmark runs")
    args = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    failed = []
    for script, extra, env in (QUICK if args.quick else FULL):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, os.path.join(HERE, script), *extra], env={**os.environ, **env})
        print(f"({script}: {time.perf_counter() - t0:.0f} s)")
        if proc.returncode != 0:
            failed.append(script)
    if failed:
        print(f"these benchmarks crashed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
