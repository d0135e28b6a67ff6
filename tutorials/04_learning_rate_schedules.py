# %% [markdown]
# # 04 -- Learning-rate schedules, the LR range test, and decay on a plateau
#
# **Why anneal at all** (CS231n notes, "Neural Networks Part 3", annealing the learning rate): with a
# high rate the update has too much energy -- the parameters bounce around chaotically and cannot settle
# into the deeper, narrower parts of the loss; a smaller rate lets them settle. Decay too fast and the
# run crawls for the rest of its time; too slow and it bounces for most of it. The notes name three
# forms -- **step decay** (halve every few epochs, or cut by 10 when the validation error stops
# improving), **exponential decay** ``lr0 * exp(-k t)`` and **1/t decay** ``lr0 / (1 + k t)`` -- and prefer
# step decay in practice: its parameters (the factor, the epochs between cuts) are easier to interpret.
#
# 1. Every schedule of ``nn_scratch.schedules`` is a plain function of the step count; we plot them.
# 2. The **LR range test** (Smith 2017, "Cyclical learning rates for training neural networks") sweeps
#    the rate up exponentially from 1e-5 to 10 over 200 mini-batches, one step each, and records the
#    loss. Too small a rate: the loss does not move; too large: it explodes. The suggestion is the rate
#    where the smoothed loss falls fastest against log(lr) -- below the minimum, where training is still
#    stable. Smith's one-cycle policy then ramps up to such a peak and anneals down within one run.
# 3. A small network on the digits is trained with that rate, cut by ``ReduceOnPlateau`` (the step decay
#    that watches the validation loss) whenever the validation loss stalls.
#
# Runs in about 2 s of CPU time on one core.  Lines starting with ``RESULT`` are the numbers the test suite checks.

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nn_scratch.data import load_digits  # noqa: E402
from nn_scratch.layers import Linear, ReLU, Sequential  # noqa: E402
from nn_scratch.losses import SoftmaxCrossEntropy  # noqa: E402
from nn_scratch.lr_finder import lr_range_test  # noqa: E402
from nn_scratch.optim import SGD  # noqa: E402
from nn_scratch.schedules import (ReduceOnPlateau, constant, cosine_decay, exponential_decay,  # noqa: E402
                                  inverse_time, join, linear_warmup, one_cycle, step_decay)

FIGURES = Path(os.environ.get("NN_SCRATCH_FIGURES", Path(__file__).parent / "figures"))
FIGURES.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## 1. The schedules, over 100 epochs, all peaking at 0.1
# Most start at 0.1 and decay; two do not: warm-up-then-cosine starts at 0 and climbs to 0.1 over the
# first 10 epochs (``join``: the cosine's own count restarts at the boundary), and one-cycle starts at
# 0.1/25 = 0.004, climbs to 0.1 by epoch 30 and then anneals far below the others.

# %%
T = 100
schedules = {
    "constant": constant(0.1),
    "step_decay(x0.5 every 20)": step_decay(0.1, 0.5, 20),
    "exponential (k=0.03)": exponential_decay(0.1, 0.03),
    "1/t (k=0.1)": inverse_time(0.1, 0.1),
    "cosine": cosine_decay(0.1, T),
    "warm-up 10 + cosine": join([linear_warmup(0.1, 10), cosine_decay(0.1, T - 10)], [10]),
    "one-cycle (peak 0.1)": one_cycle(0.1, T),
}
epochs = np.arange(T + 1)
fig, ax = plt.subplots(figsize=(8, 4.5))
print(f"{'schedule':28s} {'t=0':>8s} {'t=10':>8s} {'t=50':>8s} {'t=100':>8s}")
for name, f in schedules.items():
    ax.plot(epochs, f(epochs), label=name)
    print(f"{name:28s} {f(0):8.4f} {f(10):8.4f} {f(50):8.4f} {f(100):8.2e}")
assert schedules["warm-up 10 + cosine"](0) == 0 and schedules["one-cycle (peak 0.1)"](0) == 0.1 / 25
assert all(abs(f(0) - 0.1) < 1e-12 for n, f in schedules.items() if n[:4] not in ("warm", "one-"))
ax.set_xlabel("epoch")
ax.set_ylabel("learning rate")
ax.set_title("Learning-rate schedules")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(FIGURES / "04_schedules.png", dpi=90)
plt.close(fig)

# %% [markdown]
# ## 2. The LR range test on the digits (8x8 images, 10 classes, shipped with the package)

# %%
X, y = load_digits()                                     # float32 pixels scaled to [0, 1], int labels
order = np.random.default_rng(0).permutation(len(y))
n_val = len(y) // 5
val, train = order[:n_val], order[n_val:]
mean, std = X[train].mean(0), X[train].std(0) + 1e-6      # statistics of the training part only
X = (X - mean) / std
C = int(y.max()) + 1
print(f"data: digits, {len(train)} training / {len(val)} validation samples, {X.shape[1]} features")


def make_model():
    return Sequential([Linear(X.shape[1], 64, rng=1), ReLU(), Linear(64, C, init="zeros")])


loss = SoftmaxCrossEntropy()
model = make_model()
before = model.state_dict()
result = lr_range_test(model, loss, X[train], y[train], lambda p, lr: SGD(p, lr, momentum=0.9),
                       start_lr=1e-5, end_lr=10, num_steps=200, batch_size=64, seed=0)
restored = all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
print(f"range test: {len(result.lrs)} steps, stopped at divergence: {result.diverged}, "
      f"loss minimum at lr {result.min_loss_lr:.3g}")
print(f"RESULT suggested_lr={result.suggested_lr:.4g}")
print(f"the suggestion sits {result.min_loss_lr / result.suggested_lr:.0f}x below the rate of the lowest loss: "
      f"where the loss falls fastest, not where it is lowest (just before it blows up)")
assert result.suggested_lr < result.min_loss_lr
print(f"RESULT weights_restored={restored}")
fig = result.plot()                                      # a plain Figure, not registered with pyplot
fig.savefig(FIGURES / "04_lr_range_test.png", dpi=90)

# %% [markdown]
# ## 3. Train with the suggested rate and cut it by 5 on every validation plateau
# ``ReduceOnPlateau`` is the optimizer's ``lr``: the optimizer reads it at every step, and we tell it the
# validation loss once per epoch with ``observe``.

# %%
plateau = ReduceOnPlateau(result.suggested_lr, factor=0.2, patience=2, threshold=1e-2, min_lr=1e-4)
opt = SGD(model.parameters(), lr=plateau, momentum=0.9)
rng = np.random.default_rng(1)
steps_per_epoch = -(-len(train) // 64)
history = []
for epoch in range(40):
    model.train()
    perm = rng.permutation(train)
    for start in range(0, len(perm), 64):
        idx = perm[start:start + 64]
        loss.forward(model.forward(X[idx]), y[idx])
        model.backward(loss.backward())
        opt.step()
    model.eval()
    scores = model.forward(X[val])
    val_loss = loss.reduce(loss.forward(scores, y[val]))
    val_acc = float(np.mean(scores.argmax(1) == y[val]))
    lr_used = opt.current_lr
    new_lr = plateau.observe(val_loss)
    history.append((epoch, lr_used, val_loss, val_acc))
    if new_lr < lr_used:
        print(f"epoch {epoch:2d}: val loss {val_loss:.4f} has not improved by 1% for 3 epochs -> lr {new_lr:.3g}")
print(f"RESULT plateau_cuts={plateau.num_reductions}")
print(f"RESULT final_val_acc={history[-1][3]:.4f}")
print(f"final: val loss {history[-1][2]:.4f}, best {plateau.best:.4f}, lr {opt.current_lr:.3g}")

h = np.array(history)
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(h[:, 0], h[:, 2], "C0-o", ms=3, label="validation loss")
ax.set_xlabel("epoch")
ax.set_ylabel("validation loss", color="C0")
ax2 = ax.twinx()
ax2.step(h[:, 0], h[:, 1], "C3-", where="post", label="learning rate")
ax2.set_yscale("log")
ax2.set_ylabel("learning rate", color="C3")
ax.set_title("Decay on plateau")
fig.tight_layout()
fig.savefig(FIGURES / "04_plateau.png", dpi=90)
plt.close(fig)
print("figures saved to", FIGURES)

# %% [markdown]
# ## Try this
# 1. Replace ``ReduceOnPlateau`` by ``step_decay(result.suggested_lr, 0.2, 10 * steps_per_epoch)``, the
#    notes' fixed step decay: does the final validation accuracy change?
# 2. Run the range test with ``batch_size=8``: the curve gets noisier -- does the suggestion move?
# 3. Train with ``one_cycle(result.suggested_lr * 3, 40 * steps_per_epoch)`` and compare the final
#    validation loss.
