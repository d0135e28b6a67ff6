# %% [markdown]
# # 07 -- Why the training loss can sit above the validation loss
#
# A training loss *above* the validation loss looks impossible: the model has seen the training data.
# It is usually an artefact of *how* the training number is measured.  Four causes, each shown here on
# the real 8x8 digits with numbers, after 10 epochs of SGD with momentum:
#
# 1. **epoch averaging** -- the logged training loss is the mean over the epoch's batches, taken with the
#    weights as they were *during* the epoch; validation is measured once, with the weights at its end;
# 2. **dropout** -- active while training batches are measured, switched off for validation;
# 3. **weight decay** -- the objective the optimizer logs includes the penalty 0.5 reg sum W^2, the validation
#    loss does not;
# 4. **augmentation** -- training batches are shifted images, harder than the clean validation images.
#
# The fair comparison re-measures the training set at the end of each epoch exactly as validation is
# measured: eval mode, no penalty, no augmentation.  ``nn_scratch.trainer.History`` records it as
# ``train_loss_eval`` next to the epoch average of the data loss ``train_loss`` (and of the objective,
# ``train_objective``, which adds the penalty).  Runs in about 2 s of CPU time on one core.

# %%
import os
import time

import numpy as np
from matplotlib.figure import Figure

from nn_scratch.data import load_digits, train_val_test_split
from nn_scratch.layers import Dropout, Layer, Linear, ReLU, Sequential
from nn_scratch.losses import SoftmaxCrossEntropy
from nn_scratch.optim import SGD
from nn_scratch.plots import plot_epoch_curves, save_figure
from nn_scratch.trainer import Trainer

FIGURES = os.environ.get("NN_SCRATCH_FIGURES", os.path.join("tutorials", "figures"))
os.makedirs(FIGURES, exist_ok=True)
t_start = time.perf_counter()

X, y = load_digits()                       # pixels in [0, 1], (1797, 64)
X_train, y_train, X_val, y_val, _, _ = train_val_test_split(X, y, val=0.25, test=0.15, seed=0)
print(f"digits: {len(y_train)} training, {len(y_val)} validation images")


# %% [markdown]
# Augmentation needs a layer that acts only in training mode.  Any class that follows the Layer
# protocol works with the trainer -- here, a random shift of each image by up to one pixel.

# %%
class RandomShift(Layer):
    """Shift each (side x side) image by -1, 0 or +1 pixel in each direction, in training mode only.

    x, y: (N, side*side).  Zeros enter at the border.  backward routes each output pixel's gradient back
    to the input pixel it was copied from.
    """

    def __init__(self, side=8, max_shift=1, rng=None):
        super().__init__()
        self.side, self.max_shift = side, max_shift
        self.rng = np.random.default_rng(rng)

    def forward(self, x):
        if not self.training:
            self.index = None
            return x
        N, S, s = x.shape[0], self.side, self.max_shift
        padded = np.zeros((N, S + 2 * s, S + 2 * s), x.dtype)
        padded[:, s:s + S, s:s + S] = x.reshape(N, S, S)
        dr, dc = self.rng.integers(-s, s + 1, size=(2, N))
        rows = (s + dr)[:, None, None] + np.arange(S)[None, :, None]
        cols = (s + dc)[:, None, None] + np.arange(S)[None, None, :]
        self.index, self.padded_shape = (np.arange(N)[:, None, None], rows, cols), padded.shape
        return padded[self.index].reshape(N, S * S)

    def backward(self, dy):
        if self.index is None:
            return dy
        N, S, s = dy.shape[0], self.side, self.max_shift
        dpad = np.zeros(self.padded_shape, dy.dtype)
        dpad[self.index] = dy.reshape(N, S, S)          # each output pixel came from one padded pixel
        return dpad[:, s:s + S, s:s + S].reshape(N, S * S)


def mlp(seed, dropout=0.0, shift=False):
    layers = [RandomShift(rng=seed + 1)] if shift else []
    layers += [Linear(64, 128, rng=seed), ReLU()]
    layers += [Dropout(dropout, rng=seed + 2)] if dropout else []
    layers += [Linear(128, 10, init="zeros")]                  # output layer at zero: the loss starts at ln 10
    return Sequential(layers)


def train(model, epochs=10, reg=None, X_v=X_val, y_v=y_val, lr=0.05):
    opt = SGD(model.parameters(), lr=lr, momentum=0.9)
    trainer = Trainer(model, SoftmaxCrossEntropy(), opt, reg=reg, progress=False, update_ratio_every=0)
    return trainer, trainer.fit(X_train, y_train, X_v, y_v, epochs=epochs, batch_size=32, seed=0)


def row(history, i=-1, average="train_loss"):
    e = history.epochs
    return e[average][i], e["train_loss_eval"][i], e["val_loss"][i]


def show(name, history, i=-1, average="train_loss"):
    avg, fair, val = row(history, i, average)
    print(f"{name:<14s} epoch {history.epochs['epoch'][i]:2d}: epoch_avg={avg:.4f} end_of_epoch={fair:.4f} "
          f"val={val:.4f}")
    return avg, fair, val


# %% [markdown]
# ## 1. Epoch averaging
# In the first epoch the weights change most: the average over its batches mixes the loss of the
# untrained start (ln 10 = 2.30) with that of the much better model at its end.  To see that nothing
# else is at play, pass the *training set itself* as validation data: the two end-of-epoch numbers then
# agree exactly, and the epoch average still sits above both.

# %%
_, h_base = train(mlp(0))
_, h_self = train(mlp(0), epochs=3, X_v=X_train, y_v=y_train)
show("averaging", h_base, 0)
avg, fair, val = show("train-as-val", h_self, 0)
print(f"training set as validation: end_of_epoch == val: {fair == val}; epoch average above by {avg - val:.4f}")
assert fair == val and avg > val
results = {"no regularization": show("baseline", h_base)}

# %% [markdown]
# ## 2. Dropout
# Half of the hidden units are dropped while the training batches are measured; validation uses the
# whole network (inverted dropout keeps the scale right).  The epoch average pays for the noise.

# %%
_, h_drop = train(mlp(0, dropout=0.5))
results["dropout 0.5"] = show("dropout", h_drop)
above = [int(e) for e, a, v in zip(h_drop.epochs["epoch"], h_drop.epochs["train_loss"], h_drop.epochs["val_loss"])
         if a > v]
print(f"with dropout the epoch average sits above the validation loss in {len(above)} of "
      f"{len(h_drop.epochs['epoch'])} epochs here (digits, 10 epochs)")
assert len(above) == len(h_drop.epochs["epoch"])

# %% [markdown]
# ## 3. Weight decay
# The trainer minimizes loss + 0.5 reg sum W^2; the History keeps that objective (``train_objective``)
# apart from the data loss (``train_loss``).  The validation loss is the data loss alone, so only the
# objective's epoch average is lifted above it; the data loss's is not (the bar chart draws data losses).

# %%
reg = 3e-3
tr_wd, h_wd = train(mlp(0), reg=reg)
show("weight decay", h_wd, average="train_objective")
results[f"L2 reg={reg:g}"] = show("  data loss", h_wd)
print(f"penalty 0.5*reg*sum(W^2) at the end: {tr_wd.penalty():.4f}")
e = h_wd.epochs                                     # the History keeps the data loss apart from the penalty
assert np.allclose(np.array(e["train_objective"]) - np.array(e["train_loss"]), e["train_penalty"], rtol=1e-4)
assert min(e["train_penalty"]) > 0

# %% [markdown]
# ## 4. Augmentation
# Each training batch is shifted by up to one pixel -- a harder task than the clean validation images.
# The end-of-epoch re-measurement uses the clean training images (eval mode switches the shift off).

# %%
_, h_aug = train(mlp(0, shift=True))
results["shift augmentation"] = show("augmentation", h_aug)

# %% [markdown]
# ## 5. The fair comparison
# On these digits after 10 epochs: with dropout (in every epoch) or augmentation the logged epoch average
# of the data loss sits above the validation loss, with weight decay the objective's does; without them
# it does only in the first epochs. That is what this run shows, not a law: on a larger set such as MNIST
# the epoch average under dropout can dip below validation in a later epoch. Measured like validation --
# at the end of the epoch, eval mode, no penalty, clean images -- training is below validation again, as
# it should be for a model that has seen the data. The gap between those two is the honest measure of
# overfitting. Every bar of the chart below is a data loss; the penalty is in none of them.

# %%
print(f"\n{'setting':<22s} {'epoch average':>14s} {'end of epoch':>13s} {'validation':>11s}")
for name, (avg, fair, val) in results.items():
    print(f"{name:<22s} {avg:14.4f} {fair:13.4f} {val:11.4f}   fair gap {val - fair:+.4f}")
for name in ("dropout 0.5", "shift augmentation"):
    assert results[name][0] > results[name][2] > results[name][1], name
assert all(val > fair for _, fair, val in results.values())
wd_avg, _, wd_val = results[f"L2 reg={reg:g}"]
assert wd_avg < wd_val < h_wd.epochs["train_objective"][-1]        # data loss below val, objective above
assert h_base.epochs["train_loss"][0] > h_base.epochs["val_loss"][0] and results["no regularization"][0] < \
    results["no regularization"][2]                                # baseline: above only at the start

fig = Figure(figsize=(9, 3.8), layout="constrained")
ax = fig.subplots()
names = list(results)
x = np.arange(len(names))
for k, (label, offset) in enumerate((("epoch average (logged)", -0.27), ("end of epoch (fair)", 0.0),
                                    ("validation", 0.27))):
    ax.bar(x + offset, [results[n][k] for n in names], width=0.27, label=label)
ax.set_xticks(x)
ax.set_xticklabels(names)
ax.set_ylabel("cross-entropy (data loss, no penalty)\nafter 10 epochs")
ax.set_title("Training loss vs validation loss: how it is measured matters")
ax.legend()
save_figure(fig, os.path.join(FIGURES, "07_train_vs_validation.png"))
for name, h in (("baseline", h_base), ("dropout", h_drop), ("weight_decay", h_wd), ("augmentation", h_aug)):
    save_figure(plot_epoch_curves(h, title=name), os.path.join(FIGURES, f"07_curves_{name}.png"))
print(f"figures written to {FIGURES}; total time {time.perf_counter() - t_start:.1f} s")

# %% [markdown]
# ## Try this
# 1. Set dropout to 0.2: in how many of the 10 epochs is the epoch average still above validation?
# 2. Train the baseline with ``batch_size=8``: does the first-epoch gap between the epoch average and the
#    end-of-epoch loss grow or shrink?
# 3. Train with ``reg=3e-2`` and compare the bar of the data loss with ``train_objective``.
#
# Graded exercises for this tutorial: ``nn-scratch exercise start dropout_forward`` and
# ``dropout_backward`` -- inverted dropout, whose 1/(1 - drop_prob) scale is why validation needs no change.
