"""Random search: sampling distributions, determinism, executors, border warnings, coarse to fine, failures."""
import doctest
import multiprocessing
import re
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from scipy import stats

import nn_scratch.search as S
from nn_scratch.search import (BorderWarning, Choice, IntUniform, LogUniform, SearchResult, Trial, Uniform,
                               coarse_to_fine, narrow_space, plot_search, random_search)


def bowl(p):
    """Known minimum 0 at lr = 10**-2.5, reg = 0."""
    return (np.log10(p["lr"]) + 2.5) ** 2 + p["reg"] ** 2


SPACE = {"lr": LogUniform(1e-6, 1.0), "reg": Uniform(-1.0, 1.0)}


def test_docstring_examples():
    assert doctest.testmod(S).failed == 0


# -- dimensions ------------------------------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(a=st.floats(-8, 2), decades=st.floats(0.5, 8), seed=st.integers(0, 2**32 - 1))
def test_log_uniform_is_uniform_in_log_space(a, decades, seed):
    d = LogUniform(10.0 ** a, 10.0 ** (a + decades))
    rng = np.random.default_rng(seed)
    v = np.array([d.sample(rng) for _ in range(800)])
    assert np.all((v >= d.low * (1 - 1e-12)) & (v <= d.high * (1 + 1e-12)))
    u = (np.log10(v) - a) / decades                      # should be U(0, 1)
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    # ... and clearly not uniform on the linear scale: the lowest tenth of the range holds
    # log10(1 + 0.1 (10^decades - 1)) / decades of the mass (0.52 for 2 decades) instead of 0.1
    if decades >= 2:
        assert np.mean(v < d.low + 0.1 * (d.high - d.low)) > 0.4


def test_uniform_int_and_choice_samples():
    rng = np.random.default_rng(0)
    u = np.array([Uniform(-2, 3).sample(rng) for _ in range(2000)])
    assert u.min() >= -2 and u.max() < 3 and stats.kstest((u + 2) / 5, "uniform").pvalue > 1e-3
    ints = [IntUniform(2, 4).sample(rng) for _ in range(600)]
    assert set(ints) == {2, 3, 4} and all(isinstance(i, int) for i in ints)
    picks = [Choice(["a", "b", "c"]).sample(rng) for _ in range(600)]
    assert set(picks) == {"a", "b", "c"} and min(picks.count(c) for c in "abc") > 150


def test_position_is_in_log_space_for_log_params():
    d = LogUniform(1e-3, 1e1)
    assert d.position(1e-3) == pytest.approx(0) and d.position(1e1) == pytest.approx(1)
    assert d.position(1e-1) == pytest.approx(0.5)
    assert Uniform(0, 10).position(2.5) == pytest.approx(0.25)


@pytest.mark.parametrize("make, match", [
    (lambda: LogUniform(0, 1), "'low' must be > 0"),
    (lambda: LogUniform(1e-2, 1e-3), "'low' < 'high'"),
    (lambda: Uniform(1, float("nan")), "'high'"),
    (lambda: IntUniform(1.5, 3), "'low' must be an integer"),
    (lambda: Choice([]), "'options'"),
])
def test_bad_dimensions_name_the_argument(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


# -- random_search ---------------------------------------------------------------------------------------------
def test_same_seed_same_trials_and_prefix_stable():
    a = random_search(bowl, SPACE, n_trials=12, seed=3, warn=False)
    b = random_search(bowl, SPACE, n_trials=12, seed=3, warn=False)
    c = random_search(bowl, SPACE, n_trials=12, seed=4, warn=False)
    key = lambda r: [(t.index, t.params["lr"], t.params["reg"], t.score) for t in r.trials]  # noqa: E731
    assert key(a) == key(b) and key(a) != key(c)
    # configurations are drawn trial by trial: the first 5 of 12 are the 5 of a 5-trial search
    short = random_search(bowl, SPACE, n_trials=5, seed=3, warn=False)
    by_index = {t.index: t.params for t in a.trials}
    assert all(by_index[t.index] == t.params for t in short.trials)
    # sorted best first, and best really is the minimum
    scores = [t.score for t in a.trials]
    assert scores == sorted(scores) and a.best.score == min(bowl(t.params) for t in a.trials)


def test_executor_completion_order_does_not_matter():
    finished = []
    lock = threading.Lock()

    def uneven(p):
        time.sleep(0.015 * (1 + p["reg"]))          # trial durations vary with the params
        with lock:
            finished.append(p["lr"])
        return bowl(p)

    serial = random_search(bowl, SPACE, n_trials=16, seed=7, warn=False)
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = random_search(uneven, SPACE, n_trials=16, seed=7, executor=pool, warn=False)
    submitted = [t.params["lr"] for t in sorted(threaded.trials, key=lambda t: t.index)]
    assert finished != submitted                      # they really finished out of order ...
    assert [(t.index, t.params, t.score) for t in threaded.trials] == \
        [(t.index, t.params, t.score) for t in serial.trials]      # ... and nothing changed


def test_process_pool_gives_the_same_result():
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        r = random_search(bowl, SPACE, n_trials=6, seed=2, executor=pool, warn=False)
    serial = random_search(bowl, SPACE, n_trials=6, seed=2, warn=False)
    assert [(t.index, t.params, t.score) for t in r.trials] == [(t.index, t.params, t.score) for t in serial.trials]


def test_failed_trials_are_recorded_not_raised():
    def flaky(p):
        if p["lr"] > 1e-2:
            raise FloatingPointError("loss exploded")
        if p["lr"] < 1e-5:
            return float("nan")
        return {"score": bowl(p), "val_acc": 0.5}

    r = random_search(flaky, SPACE, n_trials=30, seed=1, warn=False)
    assert 0 < len(r.failed) < 30 and len(r.ok) + len(r.failed) == 30
    errors = {t.error for t in r.failed}
    assert "FloatingPointError: loss exploded" in errors and "score is nan" in errors
    assert all(np.isnan(t.score) for t in r.failed) and all(t.ok for t in r.trials[:len(r.ok)])
    assert r.trials[-len(r.failed):] == r.failed                      # failed trials last
    assert r.best.extras == {"val_acc": 0.5}
    text = str(r)
    assert "failed" in text and "val_acc" in text and "loss exploded" in text

    everything_fails = random_search(lambda p: 1 / 0, SPACE, n_trials=3, seed=0, warn=False)
    with pytest.raises(ValueError, match="every trial failed.*ZeroDivisionError"):
        everything_fails.best
    bad_return = random_search(lambda p: {"loss": 1.0}, SPACE, n_trials=2, seed=0, warn=False)
    assert "without a 'score' key" in bad_return.failed[0].error


def test_table_lists_params_and_ranks():
    r = random_search(lambda p: {"score": bowl(p), "acc": 1.0, "model": object()},
                      {**SPACE, "act": Choice(["relu", "tanh"])}, n_trials=15, seed=0, warn=False)
    lines = str(r).splitlines()
    header = lines[1].split()
    assert header == ["rank", "trial", "score", "lr", "reg", "act", "acc"]      # the model is not a column
    assert lines[2].split()[0] == "1" and lines[2].split()[1] == str(r.best.index)
    assert "... 5 more" in str(r)
    assert len(r.table(max_rows=None).splitlines()) == 16


@pytest.mark.parametrize("kwargs, match", [
    (dict(objective=3), "'objective'"),
    (dict(space={"lr": (1e-4, 1e-1)}), r"space\['lr'\].*LogUniform"),
    (dict(space={}), "'space'"),
    (dict(n_trials=0), "'n_trials'"),
    (dict(executor="threads"), "'executor'"),
    (dict(border=0.6), "'border'"),
])
def test_bad_input_names_the_argument(kwargs, match):
    args = dict(objective=bowl, space=SPACE, n_trials=3, seed=0)
    args.update(kwargs)
    with pytest.raises((TypeError, ValueError), match=match):
        random_search(**args)


# -- border warnings ---------------------------------------------------------------------------------------------
def test_border_warning_fires_when_best_is_at_the_edge():
    space = {"lr": LogUniform(1e-6, 1e-3), "reg": Uniform(0.0, 1.0)}    # the minimum lr=10**-2.5 lies above
    with pytest.warns(BorderWarning, match=r"lr = .*highest 10% .*\(log scale\)"):
        r = random_search(bowl, space, n_trials=20, seed=0)
    assert len(r.warnings) == 1 and "WARNING lr" in str(r)
    with pytest.warns(BorderWarning, match=r"reg = .*lowest 10% of the range \[0, 1\]; better values may lie "
                                           r"beyond 0 -- widen"):
        random_search(lambda p: p["reg"] ** 2, {"reg": Uniform(0.0, 1.0)}, n_trials=30, seed=0)


def test_no_border_warning_when_best_is_inside():
    with warnings.catch_warnings():
        warnings.simplefilter("error", BorderWarning)
        r = random_search(bowl, {"lr": LogUniform(1e-5, 1.0), "reg": Uniform(-1.0, 1.0)}, n_trials=40, seed=0)
    assert r.warnings == [] and "WARNING" not in str(r)


def test_border_is_measured_in_log_space():
    space = {"lr": LogUniform(1e-3, 1e1)}
    def result_with(lr):
        return SearchResult([Trial(0, {"lr": lr}, 1.0)], space)
    assert result_with(1e-2).warnings == []          # linear position 0.001, log position 0.25: fine
    assert len(result_with(2e-3).warnings) == 1       # log position 0.075: in the lowest 10%
    assert len(result_with(6.0).warnings) == 1        # log position 0.94
    lin = SearchResult([Trial(0, {"x": 0.5}, 1.0)], {"x": Uniform(0, 10)})
    assert len(lin.warnings) == 1 and lin.border_warnings(border=0.04) == []
    wide = SearchResult([Trial(0, {"x": 0.5}, 1.0)], {"x": Uniform(0, 10)}, border=0.04)
    assert wide.warnings == wide.border_warnings() == []              # the result's own border by default


# -- coarse to fine -----------------------------------------------------------------------------------------------
def test_coarse_to_fine_narrows_around_the_minimum_and_improves():
    r = coarse_to_fine(bowl, SPACE, stages=[25, 15, 15], top_k=3, shrink=0.5, seed=0, warn=False)
    assert len(r.stages) == 3 and len(r.spaces) == 3 and len(r.trials) == 55
    assert [t.stage for t in sorted(r.trials, key=lambda t: t.index)] == [0] * 25 + [1] * 15 + [2] * 15
    widths = [np.log10(s["lr"].high / s["lr"].low) for s in r.spaces]
    assert widths == pytest.approx([6, 3, 1.5])
    assert [s["reg"].high - s["reg"].low for s in r.spaces] == pytest.approx([2, 1, 0.5])
    for outer, inner in zip(r.spaces, r.spaces[1:]):               # each range inside the previous one
        assert outer["lr"].low <= inner["lr"].low * (1 + 1e-12) and inner["lr"].high <= outer["lr"].high * (1 + 1e-12)
        assert outer["reg"].low <= inner["reg"].low and inner["reg"].high <= outer["reg"].high
    final = r.spaces[-1]
    assert final["lr"].low < 10 ** -2.5 < final["lr"].high and final["reg"].low < 0 < final["reg"].high
    stage_best = [s.best.score for s in r.stages]
    assert stage_best[-1] <= stage_best[0] and r.best.score == min(stage_best)
    assert r.best.score < 0.05
    # trials of later stages were drawn inside their narrowed ranges
    for t in r.trials:
        d = r.spaces[t.stage]["lr"]
        assert d.low <= t.params["lr"] <= d.high
    # deterministic for a seed, with or without an executor
    with ThreadPoolExecutor(max_workers=2) as pool:
        again = coarse_to_fine(bowl, SPACE, stages=[25, 15, 15], seed=0, executor=pool, warn=False)
    assert [(t.index, t.params, t.score) for t in again.trials] == [(t.index, t.params, t.score) for t in r.trials]
    assert "stage" in str(r).splitlines()[1]


def test_narrow_space_keeps_choices_and_int_ranges_sensible():
    space = {"lr": LogUniform(1e-4, 1e0), "width": IntUniform(8, 64), "act": Choice(["relu", "tanh"]), "epochs": 3}
    trials = [Trial(0, {"lr": 1e-4, "width": 60, "act": "relu", "epochs": 3}, 0.1)]
    new = narrow_space(space, trials, shrink=0.5)
    assert new["act"] is space["act"] and new["epochs"] == 3
    assert new["lr"].low == pytest.approx(1e-4) and new["lr"].high == pytest.approx(1e-2)   # shifted inside
    assert (new["width"].low, new["width"].high) == (36, 64)
    with pytest.raises(ValueError, match="'trials' is empty"):
        narrow_space(space, [])


def test_coarse_to_fine_stage_params_and_errors():
    seen = []
    lock = threading.Lock()

    def obj(p):
        with lock:
            seen.append(p["epochs"])
        return bowl(p)

    r = coarse_to_fine(obj, SPACE, stages=[4, 3], stage_params=[{"epochs": 1}, {"epochs": 5}], seed=0, warn=False)
    assert seen == [1] * 4 + [5] * 3 and r.stages[1].trials[0].params["epochs"] == 5
    for kwargs, match in [(dict(stages=[]), "'stages'"), (dict(stages=[3, 0]), "'stages'"),
                          (dict(top_k=0), "'top_k'"), (dict(shrink=0), "'shrink'"),
                          (dict(stage_params=[{}]), "'stage_params'")]:
        with pytest.raises(ValueError, match=match):
            coarse_to_fine(bowl, SPACE, **{"stages": [3, 3], **kwargs})
    with pytest.raises(ValueError, match="every trial of stage 0 failed"):
        coarse_to_fine(lambda p: float("inf"), SPACE, stages=[2, 2], warn=False)


# -- figure ---------------------------------------------------------------------------------------------------------
def test_plot_search_axes():
    r = coarse_to_fine(lambda p: bowl(p) if p["lr"] < 0.1 else float("nan"), {**SPACE, "act": Choice(["a", "b"])},
                       stages=[10, 6], seed=0, warn=False)
    fig = plot_search(r, "lr")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "lr" in ax.get_xlabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(s.startswith("stage 0") for s in labels) and any(s.startswith("failed") for s in labels)
    assert plot_search(r, "reg").axes[0].get_xscale() == "linear"
    assert [t.get_text() for t in plot_search(r, "act").axes[0].get_xticklabels()] == ["a", "b"]
    with pytest.raises(ValueError, match="'param'"):
        plot_search(r, "momentum")


# -- the tutorial ---------------------------------------------------------------------------------------------------
def test_tutorial_09(run_tutorial):
    out, figdir = run_tutorial("09_search_and_ensembles.py")
    assert re.search(r"WARNING lr = \S+: the best value lies in the highest 10%", out)
    assert "TrainingDiverged" in out                                      # the widened range has failed trials
    rows = re.findall(r"^\s+(\d)\s+(\S+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    assert [r[0] for r in rows] == ["0", "1", "2"]
    val_losses = [float(r[3]) for r in rows]
    assert val_losses == sorted(val_losses)                               # the top 3, best first
    member_acc, member_loss = [float(r[4]) for r in rows], [float(r[5]) for r in rows]
    assert all(a > 0.9 for a in member_acc)
    ens = re.search(r"^ensemble\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    ens_acc, ens_loss = float(ens.group(1)), float(ens.group(2))
    assert ens_acc > 0.9 and ens_loss <= np.mean(member_loss) + 1e-4     # Jensen: never worse than the mean
    assert re.search(r"== Dask: (skipped \(dask\[distributed\] is not installed|stage 0 again .* the same table as "
                     r"on threads: True)", out)
    assert {p.name for p in figdir.iterdir()} >= {"09_search_first_lr.png", "09_search_lr.png", "09_search_reg.png"}
