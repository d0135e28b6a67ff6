# %% [markdown]
# # 02 -- Sanity checks before a long training run
#
# Three cheap checks catch most wiring mistakes before any hyperparameter is tuned:
#
# 1. **Loss at chance.**  With small weights all scores are about equal, so the softmax gives every one
#    of C classes probability 1/C and the loss is ``-ln(1/C) = ln C`` (2.3026 for 10 digits); for the
#    multiclass SVM every wrong class violates its margin, ``(C - 1) * margin = 9``.  Measure it with the
#    penalty switched off.
# 2. **More regularization, more loss.**  At fixed weights the objective must grow with ``reg``.
# 3. **Overfit a tiny subset.**  Twenty examples, no regularization: the loss must go to about zero and
#    training accuracy to 100 %.  If it cannot memorize 20 examples, it will not learn 1000.
#
# Memorizing can still succeed when the labels are garbage, so ``check_learns_signal`` adds a fourth:
# trained on a few hundred examples, the model must beat chance on others.
# Each check returns a result with ``.passed`` and a sentence saying what it saw. The checks are the
# CS231n notes' ("Neural Networks Part 3: Learning and Evaluation", sanity checks before learning).
# Runs in about 1.5 s of CPU time on one core.

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nn_scratch import sanity  # noqa: E402
from nn_scratch.data import load_digits  # noqa: E402
from nn_scratch.layers import Linear, ReLU, Sequential  # noqa: E402
from nn_scratch.losses import MulticlassSVM, SoftmaxCrossEntropy  # noqa: E402
from nn_scratch.optim import SGD  # noqa: E402
from nn_scratch.plots import save_figure  # noqa: E402

FIGURES = Path(os.environ.get("NN_SCRATCH_FIGURES", Path(__file__).parent / "figures"))
FIGURES.mkdir(parents=True, exist_ok=True)

X, y = load_digits()
print(f"digits: X {X.shape}, {len(np.unique(y))} classes")


def small_init():
    """A correct two-layer net: He init in the hidden layer, the output layer at zero.

    W = 0 is fine for the *output* layer (its input, the hidden layer, already breaks the symmetry) and
    makes every score 0 at the start: the loss is exactly chance.
    """
    return Sequential([Linear(64, 50, rng=0), ReLU(), Linear(50, 10, init="zeros")])


def large_init():
    """The same net with every weight drawn with std 1.0: confidently wrong before it has learned."""
    return Sequential([Linear(64, 50, init="gaussian", weight_scale=1.0, rng=0), ReLU(),
                       Linear(50, 10, init="gaussian", weight_scale=1.0, rng=1)])


he_std = np.sqrt(2 / 64)
print(f"large init: std 1.0 in layer 1 is {1 / he_std:.1f}x He's {he_std:.3f}; in the output layer std 1.0 "
      f"where small_init starts at 0")


# %% 1. Loss at chance, for softmax and SVM, and what a wrong initialization looks like
results = []
for label, factory, loss in [("softmax, small init", small_init, SoftmaxCrossEntropy()),
                             ("svm, small init", small_init, MulticlassSVM()),
                             ("softmax, large init", large_init, SoftmaxCrossEntropy())]:
    r = sanity.check_initial_loss(factory, loss, X, y)
    results.append((label, r))
    print(f"{label}: {r}")

# %% 2. Regularization raises the loss
r = sanity.check_regularization_raises_loss(small_init, SoftmaxCrossEntropy(), X, y)
results.append(("softmax, small init", r))
print(r)

# %% 3. Overfit 20 examples -- and a learning rate too small to show progress in 100 steps
r = sanity.overfit_small_subset(small_init, SoftmaxCrossEntropy(), X, y, n=20, steps=300)
results.append(("softmax, small init", r))
print(r)
curve_ok = r.details["curve"]
slow = sanity.overfit_small_subset(small_init, SoftmaxCrossEntropy(), X, y, n=20, steps=100,
                                   optimizer=lambda params: SGD(params, lr=1e-4))
results.append(("learning rate 1e-4", slow))
print(slow)
slow_curve = np.asarray(slow.details["curve"])
print(f"lr 1e-4: nothing is broken -- the loss fell {slow_curve[0] - slow_curve[-1]:.4f} in 100 steps, just far "
      f"too slowly to memorize; the check cannot tell slow from broken, the loss curve can")
assert not slow.passed and slow_curve[-1] < slow_curve[0]

# %% 4. Shuffled labels: 20 examples are still memorized, but nothing generalizes
y_shuffled = np.random.default_rng(0).permutation(y)
memorized = sanity.overfit_small_subset(small_init, SoftmaxCrossEntropy(), X, y_shuffled)
print(f"shuffled labels, memorizing 20: passed={memorized.passed}, "
      f"accuracy on other digits {memorized.details['holdout_acc']:.3f}")
for label, labels in [("correct labels", y), ("shuffled labels", y_shuffled)]:
    r = sanity.check_learns_signal(small_init, SoftmaxCrossEntropy(), X, labels)
    results.append((label, r))
    print(f"{label}: {r}")

# %% 5. Everything at once
report = sanity.run_all(small_init, SoftmaxCrossEntropy(), X, y)
print(report)
print(f"run_all passed: {report.passed}")
assert report.passed and results[0][1].passed and not results[2][1].passed

# %% The summary table
print()
print("| check                        | setup                | passed | measured | expected |")
print("|------------------------------|----------------------|--------|---------:|---------:|")
for label, r in results:
    print(f"| {r.name:<28} | {label:<20} | {str(r.passed):<6} | {r.measured:8.4f} | {r.expected:8.4f} |")

# %% Figure: the loss while memorizing 20 examples, with a good and a tiny learning rate
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(curve_ok, label="Adam lr 1e-2 (default)")
ax.plot(slow.details["curve"], label="SGD lr 1e-4")
ax.axhline(np.log(10), color="k", ls=":", lw=1, label="ln 10 (chance)")
ax.set(yscale="log", xlabel="step", ylabel="loss on the 20 examples", title="Overfitting a tiny subset")
ax.legend()
fig.tight_layout()
save_figure(fig, FIGURES / "02_overfit_small_subset.png")
print(f"\nsaved {FIGURES / '02_overfit_small_subset.png'}")

# %% [markdown]
# ## Try this
# 1. Give ``large_init`` std 0.1 in the output layer only: how close to ln 10 does its initial loss come?
# 2. Run the overfitting check with SGD at lr 1e-2 instead of 1e-4 (``optimizer=lambda p: SGD(p, lr=1e-2)``):
#    does it memorize in 100 steps?
# 3. Swap in ``MulticlassSVM()`` for the overfitting check: the loss it must approach is 0, its start 9.
#
# Graded exercises for this tutorial: ``nn-scratch exercise start softmax_loss`` and ``svm_loss`` -- their
# hand-worked cases include the loss at chance (ln 3 for three equal scores).
