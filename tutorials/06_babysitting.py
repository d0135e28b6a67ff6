# %% [markdown]
# # 06 -- Babysitting a training run: the monitors, healthy and sick
#
# While a network trains, a few numbers tell whether it is going well (CS231n notes, "Neural Networks
# Part 3", babysitting the learning process):
#
# * the **loss per step** -- its shape says whether the learning rate is too low (a slow straight line),
#   too high (a fast drop to a high, noisy plateau, or an explosion) or about right;
# * **training vs validation accuracy** -- their gap is the overfitting;
# * the **update/weight ratio** of each weight matrix, ``||dW|| / ||W||`` with ``dW`` the step actually
#   applied (the learning rate is already in it) -- around 1e-3 is healthy;
# * **activation and gradient histograms** per layer -- they expose a bad initialization at step 0;
# * the **first-layer weights** as images -- smooth templates once training works.
#
# ``Trainer`` records the update ratio by itself; ``monitors.ActivationStats``, ``GradientStats`` and
# ``PerSampleLoss`` record the rest into ``history.monitors``; ``nn_scratch.plots`` draws them and
# ``nn_scratch.analysis.diagnose`` puts them into words.  Runs in about 5 s of CPU time on one core.

# %%
import os
import time

import numpy as np
from matplotlib.figure import Figure

from nn_scratch import analysis, plots
from nn_scratch.data import load_digits, train_val_test_split
from nn_scratch.layers import Linear, ReLU, Sequential, Tanh
from nn_scratch.losses import SoftmaxCrossEntropy
from nn_scratch.monitors import ActivationStats, GradientStats, PerSampleLoss
from nn_scratch.optim import SGD
from nn_scratch.trainer import Trainer, TrainingDiverged

FIGURES = os.environ.get("NN_SCRATCH_FIGURES", os.path.join("tutorials", "figures"))
os.makedirs(FIGURES, exist_ok=True)
t_start = time.perf_counter()

X, y = load_digits()
X_train, y_train, X_val, y_val, _, _ = train_val_test_split(X, y, val=0.2, test=0.2, seed=0)
X_probe, y_probe = X_val[:200], y_val[:200]        # a fixed batch for the histograms


def save(fig, name):
    plots.save_figure(fig, os.path.join(FIGURES, f"06_{name}.png"))


def mlp(seed=0):
    return Sequential([Linear(64, 100, rng=seed), ReLU(), Linear(100, 10, init="zeros")])


def run(lr, epochs=6, model=None, monitors=()):
    model = model or mlp()
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=lr, momentum=0.9),
                      monitors=list(monitors), progress=False)
    try:
        return trainer.fit(X_train, y_train, X_val, y_val, epochs=epochs, batch_size=32, seed=0)
    except TrainingDiverged as err:
        print(f"  lr={lr:g}: training diverged at step {err.step} ({err.what} became NaN/inf)")
        return err.history


def ratio_medians(history):
    verdicts = analysis.update_ratio_diagnosis({k: r for k, (_, r) in analysis.update_ratio_series(history).items()})
    return {k: v for k, v in verdicts.items() if k.endswith("W")}


# %% [markdown]
# ## 1. A healthy run, and the learning rate too low and too high
# The same network and data with three learning rates.  Watch three numbers: how far the loss fell, how
# noisy it is at the end, and the median update/weight ratio of each weight matrix.

# %%
histories, healthy_model = {}, mlp()
RATES = {"too low": 1e-4, "healthy": 0.05, "too high": 0.5, "far too high": 1.5}
for name, lr in RATES.items():
    h = run(lr, model=healthy_model if name == "healthy" else None)
    histories[name] = h
    loss = np.asarray(h.steps["loss"], dtype=float)
    ratios = ratio_medians(h)
    acc = h.epochs["val_acc"][-1] if h.epochs["val_acc"] else float("nan")
    print(f"{name:12s} lr={lr:<7g} loss {loss[0]:.3f} -> {loss[-1]:.3f} over {loss.size} steps, "
          f"val acc {acc:.3f}, update/weight " + ", ".join(f"{k} {m:.1e} ({v})" for k, (v, m) in ratios.items()))
    for finding in analysis.diagnose(h)[:2]:
        print(f"    diagnosis: {finding}")

all_ratios = {name: ratio_medians(h) for name, h in histories.items()}
print(f"at lr 1e-4 the two weight matrices disagree: layers.0.W {all_ratios['too low']['layers.0.W'][1]:.1e}, "
      f"layers.2.W {all_ratios['too low']['layers.2.W'][1]:.1e} -- the output layer started at W = 0")
assert all_ratios["too low"]["layers.2.W"][1] > 100 * all_ratios["too low"]["layers.0.W"][1]
healthy = histories["healthy"]
save(plots.plot_step_loss(healthy, title="healthy"), "step_loss_healthy")
save(plots.plot_epoch_curves(healthy, title="healthy"), "epoch_curves_healthy")
for name in ("healthy", "too high"):
    save(plots.plot_update_ratios(histories[name], title=f"update / weight ratio, lr {name}"),
         f"update_ratio_{name.replace(' ', '_')}")
sweep = {lr: np.asarray(histories[n].steps["loss"], dtype=float) for n, lr in RATES.items()}
save(plots.plot_lr_sweep(sweep), "lr_sweep")
save(plots.plot_first_layer_weights(mlp().layers[0].W.value, title="first layer at initialization"),
     "first_layer_init")

# %% [markdown]
# The healthy ratio sits near 1e-3 (a few times above it here, early in training); at lr 1e-4 the first
# layer's ratio is a thousand times lower and the loss crawls; ten times higher and the weights are thrown
# around each step, so the loss plateaus high and noisy. One number surprises: at lr 1e-4 the *output*
# layer's ratio reads "too high". The ratio divides the step by the weight's size, and this layer started
# at W = 0: at a tiny rate its weights stay tiny, so even tiny steps are large next to them. Read the ratio
# of a layer whose weights have their working size (here the first layer), or read it later in training.  Far too high is a trap: the
# first steps blow the ReLUs dead, nothing moves any more, and the ratio collapses *below* 1e-3 -- read it
# together with the loss curve, which spiked before it went flat.
#
# The first layer's weights, one 8x8 image per hidden unit.  With 100 units on 8x8 digits and a few
# epochs, the trained weights still look like their random start (``06_first_layer_init.png``): each
# moved only ~0.3 % per step.  What training *added* is the difference, and that one shows strokes.
# A black square is a unit whose weights never changed: a ReLU that was never active on any batch (dead).

# %%
W0, W1 = mlp().layers[0].W.value, healthy_model.layers[0].W.value
dead = int(np.sum(np.all(W1 == W0, axis=0)))
print(f"first layer: ||W_trained - W_init|| / ||W_init|| = {np.linalg.norm(W1 - W0) / np.linalg.norm(W0):.2f}; "
      f"{dead} of {W1.shape[1]} units never changed (dead ReLUs)")
save(plots.plot_first_layer_weights(W1, title="first layer after training"), "first_layer_trained")
save(plots.plot_first_layer_weights(W1 - W0, title="first layer: change during training"), "first_layer_change")


# %% [markdown]
# ## 2. Initialization seen in the activation histograms
# A five-layer tanh network, its weights drawn with three standard deviations.  At step 0 -- before any
# learning -- the activation histograms already tell the story: too small and the signal shrinks toward 0
# layer by layer (and the gradients with it); too large and most units are saturated at +-1 (where tanh
# has no slope: 64 % in the first layer, up to 87 % in the fourth); Xavier keeps a healthy spread. The
# panels share their axes, so the three rows compare directly.

# %%
def deep_tanh(init, scale, seed=0):
    layers, sizes = [], [64, 100, 100, 100, 100]
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers += [Linear(a, b, init=init, weight_scale=scale, rng=seed + i), Tanh()]
    return Sequential(layers + [Linear(100, 10, init="gaussian", weight_scale=0.01, rng=seed + 9)])


def saturated(layer):
    counts, edges = np.asarray(layer["hist"], float), np.asarray(layer["edges"])
    centers = 0.5 * (edges[1:] + edges[:-1])
    return counts[np.abs(centers) > 0.9].sum() / counts.sum()


INITS = (("too small", "gaussian", 0.01), ("xavier", "xavier", None), ("too large", "gaussian", 1.0))
fig = Figure(figsize=(11, 6.5), layout="constrained")
grid = fig.subplots(len(INITS), 4, sharex=True, sharey=True)
sat = {}
for row, (name, init, scale) in enumerate(INITS):
    h = run(0.01, epochs=1, model=deep_tanh(init, scale or 0.01),
            monitors=[ActivationStats(X_probe, at_steps=[0]), GradientStats(X_probe, y_probe, at_steps=[0])])
    acts = [d for d in h.monitors["activations"]["layers"][0] if d["type"] == "Tanh"]
    grads = [d for d in h.monitors["gradients"]["layers"][0] if d["type"] == "Tanh"]
    sat[name] = [saturated(d) for d in acts]
    print(f"init {name:9s}: tanh output std per layer " + " ".join(f"{d['std']:.3f}" for d in acts)
          + " | saturated (|a|>0.9) " + " ".join(f"{v:.0%}" for v in sat[name])
          + " | gradient std " + " ".join(f"{d['std']:.1e}" for d in grads))
    for col, d in enumerate(acts):                 # re-binned to the same 20 bins on [-1, 1] in every panel
        counts, edges = np.asarray(d["hist"], float), np.asarray(d["edges"])
        common = np.linspace(-1, 1, 21)
        frac, _ = np.histogram(np.clip(0.5 * (edges[1:] + edges[:-1]), -1, 1), bins=common, weights=counts)
        ax = grid[row, col]
        ax.stairs(frac / counts.sum(), common, fill=True, color="C0")
        ax.set_yscale("log")
        ax.set_ylim(1e-3, 1.5)
        ax.set_title(f"init {name}, tanh layer {col + 1}", fontsize=9)
        if row == len(INITS) - 1:
            ax.set_xlabel("activation value")
        if col == 0:
            ax.set_ylabel("fraction of values (log)")
fig.suptitle("Activations at step 0 of a 4-layer tanh network, by initialization (shared axes)")
save(fig, "activations_by_init")
assert 0.6 < min(sat["too large"]) and max(sat["too large"]) < 0.9 and max(sat["xavier"]) < 0.01

# %% [markdown]
# ## 3. Per-sample losses: the distribution behind the mean
# ``PerSampleLoss`` records every validation sample's loss at log-spaced steps.  The heatmap (log loss,
# log colour) shows the bulk falling by orders of magnitude while the top of the distribution falls much
# less. Tukey's fence (Q3 + 1.5 IQR of the raw losses, as in Venter et al. 2021) flags the samples far
# above the bulk at each epoch: over 10 epochs more than a quarter of the validation samples are an
# outlier at some point, and a smaller set stays one for half the run or more.

# %%
epochs = 10
steps_total = epochs * -(-len(y_train) // 32)
h = run(0.05, epochs=epochs, monitors=[PerSampleLoss(at_steps=analysis.log_spaced_steps(steps_total, 16)),
                                       PerSampleLoss(every=1, key="per_epoch")])
L, steps = analysis.history_loss_matrix(h)
q = analysis.loss_quantiles(L, q=(0.5, 0.95))
print(f"validation per-sample loss: median {q[0, 0]:.3f} -> {q[0, -1]:.4f}, 95th percentile "
      f"{q[1, 0]:.3f} -> {q[1, -1]:.3f}, max {L[:, 0].max():.2f} -> {L[:, -1].max():.2f}")
L_epochs, _ = analysis.history_loss_matrix(h, key="per_epoch")
count, longest = analysis.outlier_epochs(L_epochs)
print(f"Tukey outliers: {np.mean(count > 0):.0%} of validation samples were ever one; "
      f"{np.sum(count >= epochs // 2)} were one for at least {epochs // 2} of {epochs} epochs")
assert np.mean(count > 0) > 0.25 and 0 < np.sum(count >= epochs // 2) < np.sum(count > 0)
save(plots.plot_loss_heatmap({"validation": L}, steps=steps), "loss_heatmap")
save(plots.plot_outlier_epochs(L_epochs, unit="epochs"), "outliers")

# %% [markdown]
# ## 4. Reading a loss curve: epochs, log scale, batch size
# Put *epochs* on the x-axis, not steps: runs with different batch sizes then line up. Put the loss on a
# *log* axis: the fast first drop and the slow later progress are both visible. The width of the band
# the batch losses draw is the batch noise: each batch loss is a mean over B samples, so its spread
# shrinks roughly like 1/sqrt(B). The notes' advice: the band may be wide, but its trend must fall.
# Evaluating on the validation set costs a pass over it, so long runs evaluate every N steps rather than
# after each one (``fit(..., eval_every=N)``; here once per epoch).

# %%
fig = Figure(figsize=(8, 4), layout="constrained")
ax = fig.subplots()
noise = {}
for i, B in enumerate((8, 128)):
    model = mlp()
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.05 * B / 32, momentum=0.9),
                      progress=False, update_ratio_every=0)
    hb = trainer.fit(X_train, y_train, X_val, y_val, epochs=4, batch_size=B, seed=0, eval_train=False)
    loss_b = np.asarray(hb.steps["loss"], float)
    ep = np.asarray(hb.steps["epoch"], float)                        # the step's position in epochs
    noise[B] = float(np.std(np.log(loss_b[ep > 3])))
    ax.plot(ep, loss_b, lw=0.7, color=f"C{i}", label=f"batch {B} (lr {0.05 * B / 32:g})")
    print(f"batch {B:3d}: {len(loss_b)} steps in 4 epochs; spread of log(batch loss) in the last epoch "
          f"{noise[B]:.2f}")
ax.set(yscale="log", xlabel="epoch", ylabel="batch data loss", title="The same 4 epochs at two batch sizes")
ax.legend(loc="lower left")
save(fig, "batch_size_noise")
assert noise[8] > 1.5 * noise[128]

# %% [markdown]
# ## Try this
# 1. Rerun section 1 with the output layer drawn ``init="gaussian", weight_scale=0.01``: does the
#    output layer's ratio at lr 1e-4 still read "too high"?
# 2. In section 2, try ``init="he"`` for the tanh layers: where between Xavier and "too large" does it land?
# 3. In section 4, keep lr 0.05 for batch 128 instead of scaling it with the batch: how does the curve change?
#
# Graded exercise near this topic: ``relu_backward`` -- the mask that decides which units pass a
# gradient, and why a dead ReLU passes none.

# %%
print(f"figures written to {FIGURES}; total time {time.perf_counter() - t_start:.1f} s")
