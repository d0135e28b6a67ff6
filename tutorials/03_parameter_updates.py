# %% [markdown]
# # 03 -- Parameter updates: the update rules race on two 2-D surfaces
#
# A single 2-D ``Parameter`` stands in for the weights of a network, so every step can be drawn.
# The gradient comes from a formula instead of ``model.backward`` -- the optimizers cannot tell the
# difference: they only read ``p.grad`` and change ``p.value`` in place.
#
# ## The update rules (CS231n notes, "Neural Networks Part 3", parameter updates)
# With gradient ``dx`` and learning rate ``lr``:
#
# * **SGD**: ``x += -lr * dx``.
# * **Momentum**: ``v = mu * v - lr * dx;  x += v``. The velocity ``v`` integrates past gradients, so
#   directions where the gradient keeps its sign build up speed and directions where it flips cancel.
#   ``mu`` is usually 0.9 (the notes cross-validate among 0.5, 0.9, 0.95, 0.99, sometimes annealing it
#   from 0.5 up to 0.99 over training).
# * **Nesterov momentum**: the gradient is taken at the looked-ahead point ``x + mu * v``; with ``x``
#   stored looked-ahead this becomes ``v_prev = v;  v = mu * v - lr * dx;  x += -mu * v_prev + (1 + mu) * v``.
# * **Adagrad**: ``cache += dx**2;  x += -lr * dx / (sqrt(cache) + eps)`` -- a per-coordinate rate that
#   only ever shrinks.
# * **RMSprop**: ``cache = decay * cache + (1 - decay) * dx**2``, same step: a leaky Adagrad whose rate
#   does not vanish (decay 0.9, 0.99 or 0.999).
# * **Adam** (Kingma & Ba 2015): ``m = beta1 * m + (1 - beta1) * dx;  v = beta2 * v + (1 - beta2) * dx**2``,
#   then the **bias correction** ``m_hat = m / (1 - beta1**t)``, ``v_hat = v / (1 - beta2**t)`` (t = 1, 2, ...)
#   and ``x += -lr * m_hat / (sqrt(v_hat) + eps)``. m and v start at zero, so without the correction the
#   first steps would be biased towards zero; with it the first step moves each coordinate by about lr.
#   The notes' defaults: beta1 = 0.9, beta2 = 0.999, eps = 1e-8.
#
# The two surfaces:
#
# * **ravine**: ``f(x, y) = 0.5 (0.1 x^2 + 10 y^2)``, 100 times steeper across than along.  Plain SGD must
#   keep its rate below 2/10 to stay stable across, and then crawls along the floor.  Momentum builds up
#   speed along the floor.
# * **saddle**: ``f(x, y) = x^2 + y^4/4 - y^2/2``, a saddle at the origin (f = 0) and two minima at
#   y = +-1 (f = -0.25).  Started almost exactly on the ridge, SGD sees a tiny gradient in y and leaves
#   slowly: each step multiplies y by about 1 + lr; RMSprop and Adam divide by the gradient's size, so a
#   tiny gradient still gives a full-sized step.
#
# Runs in about 2 s of CPU time on one core.

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nn_scratch.data import Standardizer, load_digits  # noqa: E402
from nn_scratch.layers import Linear, Parameter, Sequential  # noqa: E402
from nn_scratch.losses import L2, SoftmaxCrossEntropy  # noqa: E402
from nn_scratch.optim import SGD, Adagrad, Adam, RMSprop, lbfgs  # noqa: E402

FIGURES = Path(os.environ.get("NN_SCRATCH_FIGURES", Path(__file__).parent / "figures"))
FIGURES.mkdir(parents=True, exist_ok=True)


# %% The two surfaces: value and gradient
def ravine(x, y):
    return 0.5 * (0.1 * x ** 2 + 10 * y ** 2), np.array([0.1 * x, 10 * y])


def saddle(x, y):
    return x ** 2 + y ** 4 / 4 - y ** 2 / 2, np.array([2 * x, y ** 3 - y])


# %% The racers: the same code path as in training -- set p.grad, call step()
# The three SGD variants share lr 0.1 in the ravine. On a quadratic of curvature k (10 across the ravine)
# classic momentum is stable for lr * k < 2 (1 + mu), i.e. lr < 0.38 here, Nesterov only for
# lr * k < 2 (1 + mu) / (1 + 2 mu), i.e. lr < 0.136: its look-ahead makes it less tolerant of the steep
# direction (see "Try this").
STEPS = 100
RACERS = {
    "ravine": {"start": (-9.0, 1.0), "steps": STEPS, "rules": {
        "sgd": lambda p: SGD(p, lr=0.1),
        "momentum": lambda p: SGD(p, lr=0.1, momentum=0.9),
        "nesterov": lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        "adagrad": lambda p: Adagrad(p, lr=1.0),
        "rmsprop": lambda p: RMSprop(p, lr=0.1),
        "adam": lambda p: Adam(p, lr=0.5),
    }},
    "saddle": {"start": (1.0, 1e-3), "steps": STEPS, "rules": {
        "sgd": lambda p: SGD(p, lr=0.05),
        "momentum": lambda p: SGD(p, lr=0.05, momentum=0.9),
        "nesterov": lambda p: SGD(p, lr=0.05, momentum=0.9, nesterov=True),
        "adagrad": lambda p: Adagrad(p, lr=0.3),
        "rmsprop": lambda p: RMSprop(p, lr=0.02),
        "adam": lambda p: Adam(p, lr=0.05),
    }},
}
SURFACES = {"ravine": ravine, "saddle": saddle}


def race(surface, start, steps, make):
    p = Parameter(np.array(start, dtype=np.float64), "xy")
    opt = make([p])
    path = [p.value.copy()]
    for _ in range(steps):
        _, p.grad[...] = surface(*p.value)
        opt.step()
        path.append(p.value.copy())
    return np.array(path)


paths = {}
print(f"{'surface':8s} {'rule':9s} {'x':>10s} {'y':>10s} {'loss':>11s}")
for name, spec in RACERS.items():
    for rule, make in spec["rules"].items():
        path = race(SURFACES[name], spec["start"], spec["steps"], make)
        paths[name, rule] = path
        loss, _ = SURFACES[name](*path[-1])
        print(f"{name:8s} {rule:9s} {path[-1, 0]:10.4f} {path[-1, 1]:10.4f} {loss:11.3e}")

# %% [markdown]
# Read the table: in the ravine plain SGD is still far along the floor after 100 steps, momentum and
# Nesterov have arrived (Nesterov with less overshoot), and the adaptive rules equalize the two directions.
# At the saddle SGD is not stuck, only slow: y grew from 0.001 by a factor of about 1.05 per step and is
# still far from the minimum at 1, while every other rule sits at a minimum at y = +-1 (loss -0.25):
# momentum by piling up the tiny push, Adagrad, RMSprop and Adam by dividing by the gradient's size.

# %%
final = {key: SURFACES[key[0]](*path[-1])[0] for key, path in paths.items()}
sgd_y = paths["saddle", "sgd"][:, 1]
print(f"saddle, SGD: y {sgd_y[0]:.0e} -> {sgd_y[-1]:.3f} in {STEPS} steps (growing, not stuck)")
assert final["ravine", "sgd"] > 100 * max(final["ravine", r] for r in ("momentum", "nesterov"))
assert np.all(np.diff(sgd_y) > 0) and 10 * sgd_y[0] < sgd_y[-1] < 0.9
assert all(final["saddle", r] < -0.249 for r in ("momentum", "nesterov", "adagrad", "rmsprop", "adam"))

# %% Plot the paths over the contours: one panel per rule, the same axes in every panel
for name, spec in RACERS.items():
    lim = (-10, 10, -1.5, 1.5) if name == "ravine" else (-1.2, 1.2, -1.5, 1.5)
    gx, gy = np.meshgrid(np.linspace(lim[0], lim[1], 200), np.linspace(lim[2], lim[3], 200))
    gz, _ = SURFACES[name](gx, gy)
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.5), sharex=True, sharey=True, layout="constrained")
    for i, (ax, rule) in enumerate(zip(axes.flat, spec["rules"])):
        path = paths[name, rule]
        ax.contour(gx, gy, gz, levels=25, cmap="Greys", linewidths=0.5)
        ax.plot(path[:, 0], path[:, 1], "-", color=f"C{i}", lw=1.5, marker=".", ms=3, label="path")
        ax.plot(*spec["start"], "k*", ms=10, label="start")
        ax.plot(path[-1, 0], path[-1, 1], "o", color=f"C{i}", mec="k", ms=7, label="after the last step")
        ax.set_title(f"{rule}: f = {final[name, rule]:.2g}", fontsize=10)
        ax.set_xlim(lim[0], lim[1])
        ax.set_ylim(lim[2], lim[3])
    for ax in axes[-1]:
        ax.set_xlabel("x (first coordinate)")
    for ax in axes[:, 0]:
        ax.set_ylabel("y (second coordinate)")
    axes[0, 0].legend(loc="lower left", fontsize=7)
    fig.suptitle(f"{name}: {spec['steps']} steps of each update rule from the star")
    fig.savefig(FIGURES / f"03_update_rules_{name}.png", dpi=90)
    plt.close(fig)
print("figures saved to", FIGURES)

# %% [markdown]
# ## L-BFGS: a second-order method, full batch
# The notes also describe L-BFGS: it builds a picture of the curvature from the last few gradients and
# steps along it, with a line search, so it needs no learning rate. It wants the exact objective and
# gradient -- the *whole* data set, no dropout -- which is why mini-batch training uses the first-order
# rules above. On a problem small enough for full batches it is hard to beat: here softmax regression on
# the 1797 digits (``optim.lbfgs`` runs scipy's L-BFGS-B on the model's own forward and backward),
# against Adam given the same number of full-batch gradient evaluations.

# %%
X, y = load_digits()
X = Standardizer().fit(X).transform(X)
softmax_regression = Sequential([Linear(64, 10, init="zeros", dtype=np.float64)])
res = lbfgs(softmax_regression, SoftmaxCrossEntropy(), X, y, reg=1e-3, maxiter=200)
adam_model = Sequential([Linear(64, 10, init="zeros", dtype=np.float64)])
ce, penalty, adam = SoftmaxCrossEntropy(), L2(1e-3), Adam(adam_model.parameters(), lr=0.01)
for _ in range(res.evaluations):
    ce.forward(adam_model.forward(X), y)
    adam_model.backward(ce.backward())
    penalty.backward(adam_model.parameters())
    adam.step()
adam_J = ce.reduce(ce.forward(adam_model.forward(X), y)) + penalty.penalty(adam_model.parameters())
print(f"L-BFGS: objective {res.loss:.4f} after {res.iterations} iterations / {res.evaluations} evaluations, "
      f"converged {res.converged}; Adam (lr 0.01), the same {res.evaluations} full-batch steps: {adam_J:.4f}")
assert res.converged and res.loss < adam_J

# %% [markdown]
# ## Try this
# 1. Set ``STEPS = 200``: SGD at the saddle now reaches the minimum too -- it was slow, not stuck.
# 2. Give Nesterov lr 0.14 in the ravine: it diverges while classic momentum at 0.14 converges; both
#    limits are the formulas above (0.136 and 0.38).
# 3. Start the saddle race at y = 1e-8 instead of 1e-3: which rules still leave the ridge in 100 steps?
#
# Graded exercises for this tutorial: ``nn-scratch exercise start sgd_momentum`` and
# ``nn-scratch exercise start adam`` -- the grader knows the classic slips (the learning rate in the
# wrong place, Adam without bias correction, eps inside the square root).
