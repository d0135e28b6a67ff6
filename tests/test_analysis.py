"""nn_scratch.analysis on constructed arrays with hand-computed expectations."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from nn_scratch import analysis as A


def outlier_case():
    # every column holds 1..5; a loss of 100 replaces a value where we want an outlier
    L = np.tile(np.arange(1.0, 6.0)[:, None], (1, 4))
    L[0, [0, 1, 3]] = 100.0     # column [100,2,3,4,5]: Q1=3, Q3=5, upper fence 5 + 1.5*2 = 8
    L[4, 2] = 100.0             # column [1,2,3,4,100]: Q1=2, Q3=4, upper fence 4 + 1.5*2 = 7
    return L


def test_tukey_fences_by_hand():
    lower, upper = A.tukey_fences(outlier_case())
    np.testing.assert_allclose(upper, [8.0, 8.0, 7.0, 8.0])
    np.testing.assert_allclose(lower, [0.0, 0.0, -1.0, 0.0])
    # 1-D input is one checkpoint; k scales the fence
    _, up = A.tukey_fences([1.0, 2.0, 3.0, 4.0, 5.0], k=3.0)
    np.testing.assert_allclose(up, [4.0 + 3.0 * 2.0])


def test_outlier_mask_and_epochs_by_hand():
    L = outlier_case()
    mask = A.outlier_mask(L)
    expected = np.zeros_like(L, dtype=bool)
    expected[0, [0, 1, 3]] = True
    expected[4, 2] = True
    np.testing.assert_array_equal(mask, expected)
    count, longest = A.outlier_epochs(L)
    np.testing.assert_array_equal(count, [3, 0, 0, 0, 1])
    np.testing.assert_array_equal(longest, [2, 0, 0, 0, 1])


@settings(max_examples=25, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 6), st.integers(1, 12))))
def test_longest_run_matches_a_loop(mask):
    # build losses whose outliers are exactly `mask`: 1000 above a column of ones never moves Q3 much
    N, T = mask.shape
    L = np.where(mask, 1000.0, 1.0)
    L = np.concatenate([L, np.ones((3 * N + 4, T))])     # the ones keep Q1 = Q3 = 1, fence = 1
    count, longest = A.outlier_epochs(L)
    for i in range(N):
        runs, r = [0], 0
        for v in mask[i]:
            r = r + 1 if v else 0
            runs.append(r)
        assert longest[i] == max(runs)
        assert count[i] == mask[i].sum()
    assert np.all(count[N:] == 0)


def test_loss_matrix_and_quantiles():
    L, steps = A.loss_matrix({10: [1.0, 2.0, 3.0], 0: [4.0, 5.0, 6.0]})
    np.testing.assert_array_equal(steps, [0, 10])
    np.testing.assert_array_equal(L, [[4, 1], [5, 2], [6, 3]])
    q = A.loss_quantiles(L, q=(0.0, 0.5, 1.0))
    np.testing.assert_array_equal(q, [[4, 1], [5, 2], [6, 3]])
    with pytest.raises(ValueError, match="same length"):
        A.loss_matrix([[1.0, 2.0], [1.0]])
    with pytest.raises(ValueError, match="empty"):
        A.loss_matrix([])


def test_log_spaced_steps():
    assert A.log_spaced_steps(1000, 5).tolist() == [0, 1, 10, 100, 1000]
    s = A.log_spaced_steps(50, 30)
    assert s[0] == 0 and s[-1] == 50 and np.all(np.diff(s) > 0)
    assert A.log_spaced_steps(0).tolist() == [0]
    with pytest.raises(ValueError, match="num"):
        A.log_spaced_steps(10, 1)


def test_histogram_matrix_by_hand():
    counts, edges = A.histogram_matrix([[0, 1], [1, 1], [2, 3]], bins=3)
    np.testing.assert_allclose(edges, [0, 1, 2, 3])
    np.testing.assert_array_equal(counts, [[1, 0], [1, 2], [1, 1]])
    counts, edges = A.histogram_matrix([[1e-3], [1e-1], [10.0]], bins=4, log=True, value_range=(1e-3, 10.0))
    np.testing.assert_allclose(edges, [1e-3, 1e-2, 1e-1, 1, 10])
    np.testing.assert_array_equal(counts[:, 0], [1, 0, 1, 1])


def test_rising_loss_holding_accuracy():
    loss = [1.0, 0.6, 0.5, 0.55, 0.7, 0.9]
    acc = [0.5, 0.8, 0.9, 0.91, 0.9, 0.895]
    r = A.rising_loss_holding_accuracy(loss, acc)
    assert (r.start, r.end) == (2, 5)
    assert r.loss_rise == pytest.approx(0.8)
    assert r.acc_change == pytest.approx(-0.005)
    assert "epoch 2 to 5" in str(r)
    r = A.rising_loss_holding_accuracy(loss, acc, epochs=[1, 2, 3, 4, 5, 6])
    assert (r.start, r.end) == (3, 6)
    # accuracy collapses at index 4: only epochs 2..3 hold, too short
    assert A.rising_loss_holding_accuracy(loss, [0.5, 0.8, 0.9, 0.91, 0.7, 0.6]) is None
    # loss keeps falling: nothing to report
    assert A.rising_loss_holding_accuracy([3, 2, 1, 0.5], [0.1, 0.2, 0.3, 0.4]) is None
    with pytest.raises(ValueError, match="same length"):
        A.rising_loss_holding_accuracy([1, 2], [1])


def test_update_ratio_diagnosis():
    d = A.update_ratio_diagnosis({"W": np.full(10, 1e-5), "b": np.full(10, 1e-3), "c": np.full(10, 0.1)})
    assert d["W"] == ("too low", pytest.approx(1e-5))
    assert d["b"][0] == "ok"
    assert d["c"][0] == "too high"
    # the first 10% (burn-in) is skipped: a huge first value does not move the verdict
    assert A.update_ratio_diagnosis({"W": [1.0] + [1e-3] * 19})["W"][0] == "ok"


def test_smooth():
    np.testing.assert_allclose(A.smooth([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])


def test_diagnose_arrays_findings():
    steps = np.arange(200)
    assert "NaN/inf at step 100" in A.diagnose_arrays(step_loss=np.r_[np.full(100, 2.3), np.full(100, np.nan)])[0]
    assert "too low" in A.diagnose_arrays(step_loss=2.3 - 1e-4 * steps)[0]
    assert "too high" in A.diagnose_arrays(step_loss=2.3 + 0.01 * steps)[0]
    assert "healthy" in A.diagnose_arrays(step_loss=2.3 * np.exp(-steps / 40))[0]
    spike_then_flat = np.r_[np.full(5, 2.3), np.full(10, 9.0), np.full(185, 2.3)]      # dead ReLUs after a blow-up
    assert "died" in A.diagnose_arrays(step_loss=spike_then_flat)[0]
    noisy = 0.4 + 0.3 * np.random.default_rng(0).standard_normal(200)
    noisy[:10] = 2.3
    assert "noisily" in A.diagnose_arrays(step_loss=noisy)[0]
    f = A.diagnose_arrays(train_acc=[0.9, 1.0], val_acc=[0.85, 0.9])
    assert any("overfitting" in s and "0.100" in s for s in f)
    f = A.diagnose_arrays(val_loss=[1.0, 0.6, 0.5, 0.55, 0.7, 0.9], val_acc=[0.5, 0.8, 0.9, 0.91, 0.9, 0.895])
    assert any("rose 80%" in s for s in f)
    f = A.diagnose_arrays(epoch_avg_loss=[0.5], val_loss=[0.3], train_loss=[0.2])
    assert any("epoch-averaged" in s and "0.2" in s for s in f)
    f = A.diagnose_arrays(update_ratios={"layers.0.W": np.full(5, 1e-6)})
    assert f == ["update/weight ratio of layers.0.W is too low (median 1.0e-06, aim for ~1e-3): raise the "
                 "learning rate"]


def test_tutorial_07_train_vs_validation(run_tutorial):
    import re
    out, figdir = run_tutorial("07_train_vs_validation.py")

    def row(name):
        m = re.search(rf"^{name}\s+epoch\s+\d+: epoch_avg=(\S+) end_of_epoch=(\S+) val=(\S+)$", out, re.M)
        return tuple(float(v) for v in m.groups())

    avg, fair, val = row("averaging")             # epoch 1: the average carries the untrained start
    assert avg > val > fair
    assert "end_of_epoch == val: True" in out
    for name in ("dropout", "weight decay", "augmentation"):
        avg, fair, val = row(name)
        assert avg > val > fair, name             # logged training loss above validation; the fair one below
    assert float(re.search(r"penalty 0\.5\*reg\*sum\(W\^2\) at the end: (\S+)", out).group(1)) > 0.05
    assert (figdir / "07_train_vs_validation.png").exists() and (figdir / "07_curves_dropout.png").exists()


def test_diagnose_reads_a_history():
    n = 200
    h = {"steps": {"step": list(range(1, n + 1)), "loss": list(2.3 * np.exp(-np.arange(n) / 40))},
         "epochs": {"epoch": [1, 2, 3, 4, 5, 6], "train_loss": [1.0, 0.5, 0.3, 0.2, 0.1, 0.05],
                    "train_loss_eval": [0.6, 0.3, 0.2, 0.1, 0.05, 0.02],
                    "val_loss": [1.0, 0.6, 0.5, 0.55, 0.7, 0.9],
                    "train_acc_eval": [0.6, 0.9, 0.95, 0.99, 1.0, 1.0],
                    "val_acc": [0.5, 0.8, 0.9, 0.91, 0.9, 0.895]},
         "monitors": {"update_ratio": {"step": list(range(1, n + 1)), "epoch": [0.0] * n,
                                       "layers.0.W": [1e-6] * n, "layers.0.b": [1e-3] * n}}}
    f = A.diagnose(h)
    assert len(f) == 4
    assert "healthy" in f[0]
    assert "overfitting" in f[1] and "gap 0.105" in f[1]
    assert "rose 80% from epoch 3 to 6" in f[2]                      # epoch numbers, not positions
    assert f[3].startswith("update/weight ratio of layers.0.W is too low")
    assert A.diagnose({"steps": {}, "epochs": {}}) == []              # nothing recorded, nothing said


def test_docstring_examples():
    import doctest
    result = doctest.testmod(A)
    assert result.attempted >= 5 and result.failed == 0
