# %% [markdown]
# # 03 -- Parameter updates: the update rules race on two 2-D surfaces
#
# A single 2-D ``Parameter`` stands in for the weights of a network, so every step can be drawn.
# The gradient comes from a formula instead of ``model.backward`` -- the optimizers cannot tell the
# difference: they only read ``p.grad`` and change ``p.value`` in place.
#
# * **ravine**: ``f(x, y) = 0.5 (0.1 x^2 + 10 y^2)``, 100 times steeper across than along.  Plain SGD must
#   keep its rate below 2/10 to stay stable across, and then crawls along the floor.  Momentum builds up
#   speed along the floor.
# * **saddle**: ``f(x, y) = x^2 + y^4/4 - y^2/2``, a saddle at the origin (f = 0) and two minima at
#   y = +-1 (f = -0.25).  Started almost exactly on the ridge, SGD sees a tiny gradient in y and stays;
#   RMSprop and Adam divide by the gradient's size, so a tiny gradient still gives a full-sized step.
#
# Runs in about 2 seconds.

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nn_scratch.layers import Parameter  # noqa: E402
from nn_scratch.optim import SGD, Adagrad, Adam, RMSprop  # noqa: E402

FIGURES = Path(os.environ.get("NN_SCRATCH_FIGURES", Path(__file__).parent / "figures"))
FIGURES.mkdir(parents=True, exist_ok=True)


# %% The two surfaces: value and gradient
def ravine(x, y):
    return 0.5 * (0.1 * x ** 2 + 10 * y ** 2), np.array([0.1 * x, 10 * y])


def saddle(x, y):
    return x ** 2 + y ** 4 / 4 - y ** 2 / 2, np.array([2 * x, y ** 3 - y])


# %% The racers: the same code path as in training -- set p.grad, call step()
# The three SGD variants share lr 0.1 in the ravine: at 0.15 Nesterov already diverges there (its look-ahead
# makes it less tolerant of the steep direction) while classic momentum does not.
RACERS = {
    "ravine": {"start": (-9.0, 1.0), "steps": 100, "rules": {
        "sgd": lambda p: SGD(p, lr=0.1),
        "momentum": lambda p: SGD(p, lr=0.1, momentum=0.9),
        "nesterov": lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        "adagrad": lambda p: Adagrad(p, lr=1.0),
        "rmsprop": lambda p: RMSprop(p, lr=0.1),
        "adam": lambda p: Adam(p, lr=0.5),
    }},
    "saddle": {"start": (1.0, 1e-3), "steps": 100, "rules": {
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
# At the saddle SGD has hardly left the ridge (loss still about 0), while every other rule sits at a
# minimum at y = +-1 (loss -0.25): momentum by piling up the tiny push, Adagrad, RMSprop and Adam by
# dividing by the gradient's size.

# %% Plot the paths over the contours
for name, spec in RACERS.items():
    lim = (-10, 10, -1.5, 1.5) if name == "ravine" else (-1.2, 1.2, -1.5, 1.5)
    gx, gy = np.meshgrid(np.linspace(lim[0], lim[1], 300), np.linspace(lim[2], lim[3], 300))
    gz, _ = SURFACES[name](gx, gy)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.contour(gx, gy, gz, levels=30, cmap="Greys", linewidths=0.6)
    for i, rule in enumerate(spec["rules"]):
        path = paths[name, rule]
        ax.plot(path[:, 0], path[:, 1], "-", color=f"C{i}", lw=1.5, label=rule)
        ax.plot(path[-1, 0], path[-1, 1], "o", color=f"C{i}", ms=5)
    ax.plot(*spec["start"], "k*", ms=12, label="start")
    ax.set_xlim(lim[0], lim[1])
    ax.set_ylim(lim[2], lim[3])
    ax.set_title(f"{name}: {spec['steps']} steps of each update rule")
    ax.legend(loc="upper right", fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(FIGURES / f"03_update_rules_{name}.png", dpi=90)
    plt.close(fig)
print("figures saved to", FIGURES)
