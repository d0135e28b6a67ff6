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
    assert "from epoch 2 (its minimum) to epoch 5 (end of training)" in str(r)
    r = A.rising_loss_holding_accuracy(loss, acc, epochs=[1, 2, 3, 4, 5, 6])
    assert (r.start, r.end) == (3, 6)
    # accuracy collapses by the end: the classic overfitting, not the paper's effect
    assert A.rising_loss_holding_accuracy(loss, [0.5, 0.8, 0.9, 0.91, 0.7, 0.6]) is None
    # loss keeps falling: nothing to report
    assert A.rising_loss_holding_accuracy([3, 2, 1, 0.5], [0.1, 0.2, 0.3, 0.4]) is None
    with pytest.raises(ValueError, match="same length"):
        A.rising_loss_holding_accuracy([1, 2], [1])
    with pytest.raises(ValueError, match="train_acc"):
        A.rising_loss_holding_accuracy([1, 2], [1, 2], train_acc=[1])


def _paper_like(n=120, seed=0, noise=0.02):
    """Loss falls to a minimum at epoch 30 then climbs 40 %; accuracy plateaus; both with epoch noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    loss = np.where(t < 30, 1.0 - 0.6 * t / 30, 0.4 + 0.16 * (t - 30) / (n - 30)) + noise * rng.standard_normal(n)
    acc = np.minimum(0.6 + 0.3 * t / 30, 0.9) + 0.01 * np.maximum(t - 30, 0) / n + 0.003 * rng.standard_normal(n)
    train_acc = np.minimum(0.6 + 0.4 * t / 60, 1.0)
    return loss, acc, train_acc


def test_rising_loss_survives_noisy_epochs_between_and_at_the_end():
    loss, acc, train_acc = _paper_like()
    acc[[40, 55, 70]] -= 0.08                 # three bad epochs after the minimum: the old rule stopped there
    r = A.rising_loss_holding_accuracy(loss, acc, train_acc=train_acc)
    assert r is not None and r.end == 119 and 0.25 < r.loss_rise < 0.55
    labels = [c.label for c in r.comparisons]
    assert labels == ["end of training", "first 100 % training accuracy"]
    assert r.comparisons[1].epoch == 60 and r.comparisons[1].holds
    # one spiky final epoch neither makes nor breaks the verdict (median of the last epochs)
    flat = np.r_[np.linspace(1.0, 0.4, 30), np.full(90, 0.4)]
    spiked = flat.copy()
    spiked[-1] = 0.9
    assert A.rising_loss_holding_accuracy(spiked, np.full(120, 0.9)) is None
    acc_dip = acc.copy()
    acc_dip[-1] -= 0.2
    assert A.rising_loss_holding_accuracy(loss, acc_dip) is not None


def test_rising_loss_on_the_recorded_seed_004_run():
    """Seed 004's setup (Fashion-MNIST, 1x1000 ReLU, 5000/5000, SGD 0.1, batch 64, 150 epochs), recorded by
    scripts/seed004_run.py: the paper's effect is there, and the rule finds it."""
    import pathlib
    d = np.load(pathlib.Path(__file__).parent / "data" / "seed004_fashion_1x1000.npz")
    r = A.rising_loss_holding_accuracy(d["val_loss"], d["val_acc"], epochs=d["epoch"], train_acc=d["train_acc_eval"])
    i = int(np.argmin(d["val_loss"]))
    assert r is not None and r.start == int(d["epoch"][i]) == 29
    end, interp = r.comparisons
    assert end.epoch == 150 and end.holds and end.loss_rise > 0.25 and abs(end.acc_change) < 0.01
    first_full = int(d["epoch"][np.argmax(d["train_acc_eval"] >= 1.0)])
    assert interp.label == "first 100 % training accuracy" and interp.epoch == first_full
    assert interp.holds and interp.loss_rise > 0.1
    # what the old rule required -- accuracy within 1 point at *every* epoch after the minimum -- fails here
    assert np.any(d["val_acc"][i:] < d["val_acc"][i] - 0.01)
    text = A.diagnose_arrays(val_loss=d["val_loss"], val_acc=d["val_acc"], train_acc=d["train_acc_eval"],
                             epochs=d["epoch"])
    assert any("from epoch 29 (its minimum) to epoch 150" in f for f in text)


def test_update_ratio_diagnosis_judges_weights_only():
    d = A.update_ratio_diagnosis({"W": np.full(10, 1e-5), "b": np.full(10, 1e-3), "c.W": np.full(10, 0.1),
                                  "d.W": np.full(10, 2e-3)})
    assert d["W"] == ("too low", pytest.approx(1e-5))
    assert d["b"] == ("not judged", pytest.approx(1e-3))         # a bias, by its name
    assert d["c.W"][0] == "too high" and d["d.W"][0] == "ok"
    # the names of the regularized parameters, when known, decide
    d = A.update_ratio_diagnosis({"p": np.full(10, 1.0), "q": np.full(10, 1.0)}, weights=["q"])
    assert d["p"][0] == "not judged" and d["q"][0] == "too high"
    # the first 10% (burn-in) is skipped: a huge first value does not move the verdict
    assert A.update_ratio_diagnosis({"W": [1.0] + [1e-3] * 19})["W"][0] == "ok"


@pytest.mark.parametrize("medians, says", [
    ({"a.W": 1e-5, "b.W": 1e-5}, "raise"),
    ({"a.W": 0.1, "b.W": 2e-3}, "lower"),
    ({"a.W": 0.1, "b.W": 1e-6}, "disagree"),
    ({"a.W": 1e-5, "b.W": 1e-3}, "initialization scale"),
    ({"a.W": 1e-3}, None),
])
def test_update_ratio_advice_never_contradicts_itself(medians, says):
    advice = A.update_ratio_advice(A.update_ratio_diagnosis({k: np.full(5, v) for k, v in medians.items()}))
    joined = " ".join(advice)
    assert len(advice) <= 1
    assert not ("raise the learning rate" in joined and "lower the learning rate" in joined)
    assert (says is None and advice == []) or (says is not None and says in joined)


def test_diagnosis_across_learning_rates_gives_one_direction():
    """From lr 1e-4 to 1 on real data: the findings never advise both raising and lowering the rate."""
    from nn_scratch.data import Standardizer, load_digits
    from nn_scratch.layers import Linear, ReLU, Sequential
    from nn_scratch.losses import SoftmaxCrossEntropy
    from nn_scratch.optim import SGD
    from nn_scratch.trainer import Trainer, TrainingDiverged
    X, y = load_digits()
    X = Standardizer().fit(X).transform(X)
    up_words = ("raise the learning rate", "learning rate is probably too low")
    down_words = ("lower the learning rate", "rate is too high", "far too high", "a little high")
    seen = {}
    for lr in (1e-4, 1e-3, 1e-2, 1e-1, 1.0):
        model = Sequential([Linear(64, 32, rng=0), ReLU(), Linear(32, 10, init="zeros")])
        tr = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=lr), progress=False)
        try:
            h = tr.fit(X[:300], y[:300], X[300:400], y[300:400], epochs=4, batch_size=32)
        except TrainingDiverged as err:
            h = err.history
        text = " | ".join(A.diagnose(h))
        up, down = any(w in text for w in up_words), any(w in text for w in down_words)
        assert not (up and down), (lr, text)
        seen[lr] = "up" if up else "down" if down else "none"
        assert "bias" not in text and ".b " not in text           # biases are not judged
    assert seen[1e-4] == "up"


def test_diagnose_names_only_what_the_run_has():
    base = dict(epoch_avg_loss=[0.5], val_loss=[0.3], train_loss=[0.2])
    plain = " ".join(A.diagnose_arrays(**base))
    assert "dropout" not in plain and "penalty" not in plain and "0.2" in plain
    with_all = A.diagnose_arrays(**base, dropout=[0.5], penalty=[0.27], objective=[0.297])
    assert any("dropout on (drop probability 0.5)" in f for f in with_all)
    pen = [f for f in with_all if "L2 penalty" in f]
    assert len(pen) == 1 and "0.27" in pen[0] and "91% of the objective 0.297" in pen[0]
    assert not any("penalty" in f for f in A.diagnose_arrays(**base, penalty=[0.0], objective=[0.5]))
    fl = A.diagnose_arrays(flood_level=0.02, flood_below_frac=[0.25])
    assert fl == ["flooding at b = 0.02: 25% of the last epoch's batches had a data loss below b, where the step "
                  "goes uphill"]


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
    f = A.diagnose_arrays(update_ratios={"layers.0.W": np.full(5, 1e-6), "layers.0.b": np.full(5, 1.0)})
    assert f == ["update/weight ratio too low for layers.0.W 1.0e-06 (median; aim for ~0.001): raise the "
                 "learning rate"]
    # the loss curve says "too high" and the ratios "too low": the ratio sentence does not advise
    f = A.diagnose_arrays(step_loss=2.3 + 0.01 * steps, update_ratios={"layers.0.W": np.full(5, 1e-6)})
    assert "raise the learning rate" not in " ".join(f) and "points the other way" in f[-1]


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
    assert "rose 80% from epoch 3 (its minimum) to epoch 6" in f[2]   # epoch numbers, not positions
    assert "at epoch 5 (first 100 % training accuracy)" in f[2]
    assert f[3].startswith("update/weight ratio too low for layers.0.W")
    assert A.diagnose({"steps": {}, "epochs": {}}) == []              # nothing recorded, nothing said


def test_docstring_examples():
    import doctest
    result = doctest.testmod(A)
    assert result.attempted >= 5 and result.failed == 0
