# %% [markdown]
# # 08 -- A small convnet: convolution, ReLU, max-pooling, and what its first-layer filters look like
#
# A convolution slides the same small filter over every position of the image, so a layer with 16
# filters of 5x5 has only 16*25 + 16 weights however large the image is.  ``Conv2D`` computes all the
# window products at once: ``im2col`` lays every 5x5 window out as a column (built from a strided view of
# the input) and one matrix product applies every filter to every window.  ``MaxPool2D`` keeps the largest
# value of each 2x2 block and remembers which one won, so the gradient flows back to that input only.
#
# We train conv(5x5, 16) -> ReLU -> max-pool(2) -> linear on the 8x8 digits shipped with nn_scratch, with
# a plain minibatch SGD loop written out below, then look at the 16 learned filters next to the random
# ones they started from (the lecture notes: smooth, varied filters are a good sign; noise means the
# network has not learned much yet).  A second model puts ``BatchNorm`` after the convolution.  When the
# MNIST files are present (``$NN_SCRATCH_DATA/mnist``) a last section trains the same design on a subset.
# First of all, as for every layer we use: gradient checks of ``Conv2D``, ``MaxPool2D`` and ``BatchNorm``.
# Runs in about 2 s of CPU time on one core (about 3 s with MNIST; user + sys, measured).

# %%
import os
import time

import numpy as np

from nn_scratch import plots
from nn_scratch.gradcheck import check_layer
from nn_scratch.data import batches, load_digits, load_mnist, resolve_data_dir, train_val_test_split
from nn_scratch.layers import BatchNorm, Conv2D, Flatten, Linear, MaxPool2D, ReLU, Sequential
from nn_scratch.losses import SoftmaxCrossEntropy
from nn_scratch.optim import SGD

FIGURES = os.environ.get("NN_SCRATCH_FIGURES", os.path.join("tutorials", "figures"))
os.makedirs(FIGURES, exist_ok=True)
t_start = time.perf_counter()

X, y = load_digits(return_images=True)          # (1797, 8, 8) float32 in [0, 1]
X = X[:, None]                                  # add the channel axis: (N, C=1, H=8, W=8)
X_train, y_train, X_val, y_val, X_test, y_test = train_val_test_split(X, y, val=0.1, test=0.2, seed=0)
print(f"train {X_train.shape}, val {X_val.shape}, test {X_test.shape}")


# %% [markdown]
# ## Gradient checks first
# ``Conv2D`` and ``BatchNorm`` are smooth: every coordinate of the input and of each parameter must agree to
# about 1e-7 or better. ``MaxPool2D`` is a max, like ReLU in tutorial 01 section 5: it records ``winners``
# (which input of each window won), and when x+h and x-h pick different winners the coordinate crossed a
# kink -- reported apart, not failed. Random inputs almost never put two values of a window within h of each
# other; we plant one such near-tie to see it.

# %%
rng0 = np.random.default_rng(0)
xg = rng0.standard_normal((2, 2, 6, 6))
conv_check = check_layer(Conv2D(2, 3, 3, stride=1, padding=1, rng=1), xg, num_coords=None)
conv_s2 = check_layer(Conv2D(2, 3, 3, stride=2, padding=1, rng=2), xg, num_coords=None)
bn_check = check_layer(BatchNorm(2), xg, num_coords=None)              # training mode: batch statistics
pool_check = check_layer(MaxPool2D(2), xg, num_coords=None)
x_tie = xg.copy()
x_tie[0, 0, 0, 1] = x_tie[0, 0, 0, 0] = np.max(np.abs(xg)) + 1          # make both win-worthy ...
x_tie[0, 0, 0, 1] += 3e-6                                               # ... and within h = 1e-5 of each other
pool_tie = check_layer(MaxPool2D(2), x_tie, num_coords=None)
for name, r in (("Conv2D 3x3, pad 1", conv_check), ("Conv2D 3x3, stride 2", conv_s2), ("BatchNorm (training)", bn_check),
                ("MaxPool2D 2x2", pool_check), ("MaxPool2D, a near-tie", pool_tie)):
    print(f"{name:<22s} {r.verdict:<5s} max rel error {r.max_rel_error:.1e}, kinks crossed {r.kinks}")
assert conv_check.passed and conv_s2.passed and bn_check.passed and pool_check.passed
assert max(conv_check.max_rel_error, bn_check.max_rel_error) <= 1e-7 and pool_check.kinks == 0
assert pool_tie.passed and pool_tie.kinks == 2                          # the two tied inputs, set aside

# %% [markdown]
# ## The network and the loop
# Shapes through the network for one 8x8 image: (1, 8, 8) -> conv 5x5, padding 2 -> (16, 8, 8) -> ReLU ->
# max-pool 2 -> (16, 4, 4) -> flatten -> 256 -> linear -> 10 scores.  The first layer's input is the data,
# so it needs no input gradient (``input_grad=False`` saves that work).

# %%
def convnet(seed, batchnorm=False, channels=16, image=8):
    rng = np.random.default_rng(seed)
    layers = [Conv2D(1, channels, 5, padding=2, rng=rng, input_grad=False)]
    layers += [BatchNorm(channels)] if batchnorm else []
    layers += [ReLU(), MaxPool2D(2), Flatten(), Linear(channels * (image // 2) ** 2, 10, init="zeros")]
    return Sequential(layers)


def accuracy(model, X, y, batch_size=500):
    model.eval()
    correct = sum(int(np.sum(np.argmax(model.forward(X[i:i + batch_size]), axis=1) == y[i:i + batch_size]))
                  for i in range(0, len(X), batch_size))
    model.train()
    return correct / len(X)


def train(model, X, y, X_val, y_val, epochs, lr=0.05, batch_size=32, seed=0, weight_decay=0.0, label=""):
    loss = SoftmaxCrossEntropy()
    opt = SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    rng = np.random.default_rng(seed)           # one Generator: a fresh, reproducible order every epoch
    for epoch in range(1, epochs + 1):
        total = 0.0
        for xb, yb in batches(X, y, batch_size=batch_size, rng=rng):
            scores = model.forward(xb)
            total += float(np.sum(loss.forward(scores, yb)))
            model.backward(loss.backward())     # sets every parameter's grad
            opt.step()
        if epoch == 1 or epoch % 5 == 0 or epoch == epochs:
            val_acc = accuracy(model, X_val, y_val)
            print(f"{label} epoch {epoch:2d}: train loss {total / len(X):.3f}, val acc {val_acc:.3f}")
    return model


model = convnet(seed=0)
initial_filters = model.layers[0].W.value.copy()
train(model, X_train, y_train, X_val, y_val, epochs=15, label="conv")
test_acc = accuracy(model, X_test, y_test)
print(f"convnet test accuracy: {test_acc:.3f}")

# %% [markdown]
# ## The filters, before and after
# Each tile is one 5x5 filter, scaled to its own range.  At initialization they are independent Gaussian
# noise.  After fifteen epochs on 8x8 digits the trained filters still *look* like their start -- the same
# bright and dark pixels in the same places -- although the weights moved by a large fraction of their
# initial norm (printed below): what training added is laid on top of the initial noise, which nothing in
# the loss asks to remove. So we also draw the *change* W - W_init: it is smoother than the noise it
# started from (its roughness is printed): neighbouring weights moved together. A
# weight penalty does (the notes name too little regularization as one cause of noisy first-layer
# filters), so we train a second copy with ``weight_decay=1e-2`` -- and see what it costs. A number for
# "smooth": the mean squared difference between neighbouring weights divided by twice the filter's
# variance -- 1 for white noise, smaller when neighbours agree.

# %%
def roughness(W):
    W = W[:, 0] - W[:, 0].mean(axis=(1, 2), keepdims=True)
    neighbour_sq = np.mean(np.diff(W, axis=1) ** 2) + np.mean(np.diff(W, axis=2) ** 2)
    return float(neighbour_sq / (4 * np.mean(W ** 2)))


decayed = train(convnet(seed=0), X_train, y_train, X_val, y_val, epochs=15, weight_decay=1e-2, label="conv+wd")
decayed_test_acc = accuracy(decayed, X_test, y_test)
print(f"convnet with weight decay test accuracy: {decayed_test_acc:.3f}")
learned, smoothed = model.layers[0].W.value, decayed.layers[0].W.value
print(f"filter roughness: initial {roughness(initial_filters):.2f}, trained {roughness(learned):.2f}, "
      f"trained with weight decay {roughness(smoothed):.2f}")
change = np.linalg.norm(learned - initial_filters) / np.linalg.norm(initial_filters)
print(f"filters: ||W_trained - W_init|| / ||W_init|| = {change:.2f}; roughness of the change "
      f"{roughness(learned - initial_filters):.2f}")
assert roughness(learned - initial_filters) < 0.9 * roughness(initial_filters)
fewer = round((test_acc - decayed_test_acc) * len(y_test))
print(f"weight decay smooths the filters at a cost here: test accuracy {test_acc:.3f} -> {decayed_test_acc:.3f} "
      f"({fewer} more of {len(y_test)} test digits wrong)")
assert roughness(smoothed) < roughness(learned) < roughness(initial_filters) and decayed_test_acc < test_acc
for W, name, title in [(initial_filters, "initial", "at initialization"), (learned, "trained", "after training"),
                       (learned - initial_filters, "change", "change during training (W - W_init)"),
                       (smoothed, "weight_decay", "after training with weight decay")]:
    plots.save_figure(plots.plot_first_layer_weights(W, title=f"Conv filters {title}"),
                      os.path.join(FIGURES, f"08_filters_{name}.png"))

# %% [markdown]
# ## With batch normalization
# ``BatchNorm`` normalizes each channel with the batch's statistics while training and with running
# averages in eval mode (``accuracy`` above switches to ``model.eval()``).  Here it lets the same
# learning rate reach a similar accuracy; its running averages are part of ``state_dict``.

# %%
bn_model = train(convnet(seed=0, batchnorm=True), X_train, y_train, X_val, y_val, epochs=15, label="conv+bn")
bn_test_acc = accuracy(bn_model, X_test, y_test)
print(f"convnet + batchnorm test accuracy: {bn_test_acc:.3f}")
print("state_dict keys:", sorted(bn_model.state_dict()))

# %% [markdown]
# ## MNIST (when the files are present)
# The same design on 28x28 images: 8 filters of 5x5, a 14x14x8 map after pooling.  A subset of 6000
# training images and two epochs already give a high accuracy.

# %%
data_dir = resolve_data_dir()                   # $NN_SCRATCH_DATA, else ./datasets: where load_mnist looks
if (data_dir / "mnist" / "train-images-idx3-ubyte.gz").exists():
    Xm, ym = load_mnist(data_dir, kind="train", flatten=False, limit=7000)
    Xm_test, ym_test = load_mnist(data_dir, kind="test", flatten=False, limit=2000)
    Xm, Xm_test = Xm[:, None], Xm_test[:, None]
    mnist_model = train(convnet(seed=1, channels=8, image=28), Xm[:6000], ym[:6000], Xm[6000:], ym[6000:],
                        epochs=2, lr=0.02, batch_size=64, label="mnist")
    print(f"MNIST convnet test accuracy: {accuracy(mnist_model, Xm_test, ym_test):.3f}")
    plots.save_figure(plots.plot_first_layer_weights(mnist_model.layers[0].W.value, title="MNIST conv filters"),
                      os.path.join(FIGURES, "08_filters_mnist.png"))
else:
    print(f"MNIST section skipped: no MNIST files under {str(data_dir)!r}; to run it, fetch them with "
          f"'python datasets/get_datasets.py mnist' or set NN_SCRATCH_DATA to a folder holding mnist/")

print(f"done in {time.perf_counter() - t_start:.1f} s")

# %% [markdown]
# ## Try this
# 1. Plant a near-tie in a window of the trained model's input and check ``model`` with ``check_layer``:
#    the kink is counted through the whole network.
# 2. Train with ``weight_decay=1e-3``: is there a decay that smooths the filters without costing accuracy?
# 3. Replace ``MaxPool2D(2)`` by ``MaxPool2D(2, stride=1)`` (overlapping windows, a 7x7 map; the last
#    Linear then takes ``channels * 49`` inputs): accuracy and time?
#
# Graded exercises for this tutorial: ``nn-scratch exercise start conv_forward_naive`` (the sum that
# im2col turns into one matrix product) and ``batchnorm_backward`` (why dx has three terms).
