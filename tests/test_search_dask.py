"""The same searches on a Dask cluster (``Client(...).get_executor()``): a LocalCluster of two worker
processes, with a worker killed mid-trial and a trial that hangs.  Skipped when ``dask[distributed]`` is not
installed (``pip install -e ".[dask]"``)."""
import logging

import pytest

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402  (after the skip)

from nn_scratch.search import coarse_to_fine, random_search  # noqa: E402
from test_search_faults import SPACE, alive, bad, bowl, check, key  # noqa: E402


@pytest.fixture(scope="module")
def executor():
    # a trial whose worker dies is given up at once (Dask's default retries it on 3 more workers): each death
    # costs a worker restart of several seconds on a busy machine
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                     silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster) as client:
        yield client.get_executor()


def test_healthy_searches_match_the_serial_ones(executor):
    r = random_search(bowl, SPACE, n_trials=8, seed=0, executor=executor, warn=False)
    assert key(r) == key(random_search(bowl, SPACE, n_trials=8, seed=0, warn=False))
    c = coarse_to_fine(bowl, SPACE, stages=[6, 4], seed=0, executor=executor, warn=False)
    assert key(c) == key(coarse_to_fine(bowl, SPACE, stages=[6, 4], seed=0, warn=False))


def test_a_worker_killed_mid_trial_is_a_crashed_trial(executor):
    r = random_search(bad, {**SPACE, "fault": "sigkill"}, n_trials=6, seed=6, executor=executor, warn=False)
    check(r, 6, 6, "crashed: the Dask worker running it died (KilledWorker", fault="sigkill")     # one bad trial
    again = random_search(bowl, SPACE, n_trials=4, seed=1, executor=executor, warn=False)     # the cluster recovered
    assert len(again.ok) == 4


def test_a_hung_trial_times_out_and_its_worker_is_replaced(executor, tmp_path):
    space = {**SPACE, "fault": "hang_hard", "pid_dir": str(tmp_path)}
    r = random_search(bad, space, n_trials=6, seed=6, executor=executor, timeout=4.0, warn=False)
    check(r, 6, 6, "timeout: still running after 4 s; cancelled and its Dask worker process killed",
          fault="hang_hard", pid_dir=str(tmp_path))
    pids = [int(p.name) for p in tmp_path.iterdir()]
    assert len(pids) == len(r.failed) and not any(alive(pid) for pid in pids)
