# %% [markdown]
# # 06 -- Babysitting a training run: the monitors, healthy and sick
#
# While a network trains, a few numbers tell whether it is going well (lecture notes, "babysitting the
# learning process"):
#
# * the **loss per step** -- its shape says whether the learning rate is too low (a slow straight line),
#   too high (a fast drop to a high, noisy plateau, or an explosion) or about right;
# * **training vs validation accuracy** -- their gap is the overfitting;
# * the **update/weight ratio** of each parameter, ``||lr * update|| / ||W||`` -- around 1e-3 is healthy;
# * **activation and gradient histograms** per layer -- they expose a bad initialization at step 0;
# * the **first-layer weights** as images -- smooth templates once training works.
#
# ``Trainer`` records the update ratio by itself; ``monitors.ActivationStats``, ``GradientStats`` and
# ``PerSampleLoss`` record the rest into ``history.monitors``; ``nn_scratch.plots`` draws them and
# ``nn_scratch.analysis.diagnose`` puts them into words.  Runs in about 10 s.

# %%
import os
import time

import numpy as np

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
    return Sequential([Linear(64, 100, rng=seed), ReLU(), Linear(100, 10, init="gaussian", weight_scale=0.01,
                                                                  rng=seed + 1)])


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
# The healthy ratio sits near 1e-3; a hundredfold lower and the loss crawls; ten times higher and the
# weights are thrown around each step, so the loss plateaus high and noisy.  Far too high is a trap: the
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
# layer by layer (and the gradients with it); too large and every unit is saturated at +-1 (where tanh has
# no slope); Xavier keeps a healthy spread.

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


for name, init, scale in (("too small", "gaussian", 0.01), ("xavier", "xavier", None), ("too large", "gaussian", 1.0)):
    h = run(0.01, epochs=1, model=deep_tanh(init, scale or 0.01),
            monitors=[ActivationStats(X_probe, at_steps=[0]), GradientStats(X_probe, y_probe, at_steps=[0])])
    acts = [d for d in h.monitors["activations"]["layers"][0] if d["type"] == "Tanh"]
    grads = [d for d in h.monitors["gradients"]["layers"][0] if d["type"] == "Tanh"]
    print(f"init {name:9s}: tanh output std per layer " + " ".join(f"{d['std']:.3f}" for d in acts)
          + " | saturated (|a|>0.9) " + " ".join(f"{saturated(d):.0%}" for d in acts)
          + " | gradient std " + " ".join(f"{d['std']:.1e}" for d in grads))
    tanh_only = {k: v for k, v in plots.layer_snapshots(h, num=1).items() if "Tanh" in k}
    save(plots.plot_layer_histograms(tanh_only, title=f"init {name}"), f"activations_{name.replace(' ', '_')}")

# %% [markdown]
# ## 3. Per-sample losses: the distribution behind the mean
# ``PerSampleLoss`` records every validation sample's loss at log-spaced steps.  The heatmap (log loss,
# log colour) shows the bulk falling while a few samples keep high losses -- the Tukey outliers.

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
save(plots.plot_loss_heatmap({"validation": L}, steps=steps), "loss_heatmap")
save(plots.plot_outlier_epochs(L_epochs, unit="epochs"), "outliers")
print(f"figures written to {FIGURES}; total time {time.perf_counter() - t_start:.1f} s")
