# %% [markdown]
# # 05 -- Early stopping, flooding and weight averaging on a small real training set
#
# With only 200 training digits and a 128-unit hidden layer, the network can memorize its training set.
# The training loss keeps falling; the validation loss falls, reaches a minimum, and turns up again.
# Three answers to "when do I stop?":
#
# * **early stopping** -- keep the weights of the best validation epoch; stop when ``patience`` epochs
#   bring no new best (``EarlyStopping``; its ``adaptive`` rule lets the patience grow to the epoch of
#   the latest best);
# * **flooding** -- train on ``|J - b| + b``: below the flood level b the step goes *up* the loss, so the
#   training loss floats around b instead of reaching zero (``losses.Flooding``);
# * **weight averaging** -- evaluate a bias-corrected exponential moving average of the weights
#   (``WeightAverage``), a cheap smoothing of the noisy last steps.
#
# Every run uses the same initialization, data order and optimizer; only the rule differs.  The table at
# the end gives validation and test numbers of the weights each rule leaves in the model.
# Runs in about 5 seconds.

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nn_scratch.callbacks import EarlyStopping, WeightAverage  # noqa: E402
from nn_scratch.data import load_digits, train_val_test_split  # noqa: E402
from nn_scratch.layers import Linear, ReLU, Sequential  # noqa: E402
from nn_scratch.losses import Flooding, SoftmaxCrossEntropy  # noqa: E402
from nn_scratch.optim import SGD  # noqa: E402
from nn_scratch.plots import save_figure  # noqa: E402
from nn_scratch.trainer import Trainer  # noqa: E402

FIGURES = Path(os.environ.get("NN_SCRATCH_FIGURES", Path(__file__).parent / "figures"))
FIGURES.mkdir(parents=True, exist_ok=True)

# %% A small real training set: 200 digits; 360 for validation, the rest (~900) for the final test
X, y = load_digits()
split = train_val_test_split(X, y, val=0.2, test=0.5, seed=0)
X_train, y_train = split.X_train[:200], split.y_train[:200]
X_val, y_val, X_test, y_test = split.X_val, split.y_val, split.X_test, split.y_test
print(f"train {len(y_train)}, validation {len(y_val)}, test {len(y_test)} digits")

EPOCHS = 60


def run(loss, callbacks=()):
    model = Sequential([Linear(64, 128, rng=0), ReLU(), Linear(128, 10, rng=1)])
    trainer = Trainer(model, loss, SGD(model.parameters(), lr=0.05, momentum=0.9), callbacks=list(callbacks),
                      progress=False, update_ratio_every=0)
    history = trainer.fit(X_train, y_train, X_val, y_val, epochs=EPOCHS, batch_size=20, seed=0)
    return trainer, history


# %% 1. Train long and watch validation turn
# (A weight average rides along: it only watches the steps; ``evaluate_with_average=False`` keeps the
# recorded curves those of the raw weights.  Section 4 reads it.)
wa = WeightAverage(decay=0.98, evaluate_with_average=False)
plain, h_plain = run(SoftmaxCrossEntropy(), [wa])
val = np.array(h_plain.epochs["val_loss"])
turn = int(np.argmin(val)) + 1
print(f"plain run: validation loss lowest at epoch {turn} ({val[turn - 1]:.4f}), "
      f"{val[-1]:.4f} at epoch {EPOCHS}; training loss (eval mode) {h_plain.epochs['train_loss_eval'][-1]:.4f}")

# %% 2. Stop and restore: plain patience, and the adaptive rule
es = EarlyStopping("val_loss", mode="min", patience=10)
stopped, h_es = run(SoftmaxCrossEntropy(), [es])
print(f"early stopping: best epoch {es.best_epoch} (val loss {es.best:.4f}), stopped at epoch "
      f"{es.stopped_epoch}, weights restored: {es.restored}")
es_adapt = EarlyStopping("val_loss", mode="min", patience=5, adaptive=True)
adaptive, h_adapt = run(SoftmaxCrossEntropy(), [es_adapt])
print(f"adaptive patience: started at 5, grew to {es_adapt.patience_now}; stopped at epoch "
      f"{es_adapt.stopped_epoch}")

# %% 3. Flooding: the training loss floats around b instead of going to zero
LEVEL = 0.05
flood, h_flood = run(Flooding(SoftmaxCrossEntropy(), LEVEL))
frac = np.array(h_flood.epochs["flood_below_frac"])
print(f"flooding b={LEVEL}: training loss (eval mode) at the end {h_flood.epochs['train_loss_eval'][-1]:.4f} "
      f"(plain run: {h_plain.epochs['train_loss_eval'][-1]:.4f}); batches below b in the last 10 epochs: "
      f"{frac[-10:].mean():.0%}")
es_flood = EarlyStopping("val_loss", mode="min", patience=10)
flood_es, h_flood_es = run(Flooding(SoftmaxCrossEntropy(), LEVEL), [es_flood])

# %% 4. Weight averaging: the bias-corrected moving average of the plain run's weights
with wa.swapped():
    v_avg, t_avg = plain.evaluate(X_val, y_val), plain.evaluate(X_test, y_test)
v_last = plain.evaluate(X_val, y_val)
print(f"weight average (decay {wa.decay}, over {wa.t} steps): val loss {v_avg['loss']:.4f} vs "
      f"{v_last['loss']:.4f} for the last weights")


# %% The table: numbers of the weights each rule leaves in the model
def row(name, trainer, history, chosen_epoch):
    v, t = trainer.evaluate(X_val, y_val), trainer.evaluate(X_test, y_test)
    return name, len(history), chosen_epoch, v["loss"], v["acc"], t["acc"]


rows = [row("last epoch", plain, h_plain, EPOCHS),
        row("early stopping", stopped, h_es, es.best_epoch),
        row("adaptive early stopping", adaptive, h_adapt, es_adapt.best_epoch),
        row("flooding", flood, h_flood, EPOCHS),
        row("flooding + early stopping", flood_es, h_flood_es, es_flood.best_epoch),
        ("weight average", EPOCHS, EPOCHS, v_avg["loss"], v_avg["acc"], t_avg["acc"])]
print()
print("| method                    | epochs run | weights of epoch | val loss | val acc | test acc |")
print("|---------------------------|-----------:|-----------------:|---------:|--------:|---------:|")
for name, ran, chosen, vl, va, ta in rows:
    print(f"| {name:<25} | {ran:>10d} | {chosen:>16d} | {vl:8.4f} | {va:7.4f} | {ta:8.4f} |")

se = np.sqrt(rows[0][5] * (1 - rows[0][5]) / len(y_test))
print(f"\nstandard error of a test accuracy near {rows[0][5]:.2f} on {len(y_test)} digits: {se:.4f}")

# %% [markdown]
# Reading the table: early stopping keeps the weights of the epoch with the lowest validation loss, found
# after a few epochs, and saves most of the run; the adaptive rule started with a patience of 5 and grew
# it to the epoch of its best.  Flooding holds the training loss near b instead of letting it fall toward
# zero.  With ~900 test digits one standard error of accuracy is about one percentage point, so
# differences smaller than two of those are noise here -- compare the validation *losses* for the effect
# of each rule, and repeat with other seeds before believing a ranking.

# %% Figure: the curves of the plain run with the early-stopping choice, and flooding's batch losses
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
epochs = np.array(h_plain.epochs["epoch"])
ax1.plot(epochs, h_plain.epochs["train_loss"], label="train (epoch average)", alpha=0.6)
ax1.plot(epochs, h_plain.epochs["train_loss_eval"], label="train (re-measured, eval mode)")
ax1.plot(epochs, h_plain.epochs["val_loss"], label="validation")
ax1.axvline(es.best_epoch, color="k", ls="--", lw=1, label=f"best epoch {es.best_epoch}")
ax1.axvline(es.stopped_epoch or EPOCHS, color="r", ls=":", lw=1, label="early stop")
ax1.set(yscale="log", xlabel="epoch", ylabel="loss", title="Plain training: validation turns")
ax1.legend(fontsize=8)
ax2.plot(h_plain.steps["epoch"], h_plain.steps["loss"], lw=0.6, label="plain: batch loss")
ax2.plot(h_flood.steps["epoch"], h_flood.steps["loss"], lw=0.6, label=f"flooding b={LEVEL}: batch loss")
ax2.axhline(LEVEL, color="k", ls="--", lw=1, label="flood level b")
ax2.set(yscale="log", xlabel="epoch", ylabel="batch loss", title="Flooding keeps the training loss near b")
ax2.legend(fontsize=8)
fig.tight_layout()
save_figure(fig, FIGURES / "05_curves.png")
print(f"\nsaved {FIGURES / '05_curves.png'}")
