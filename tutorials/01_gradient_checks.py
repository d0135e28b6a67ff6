# %% [markdown]
# # 01 -- Gradient checks: is my backward right?
#
# Every layer in nn_scratch has a hand-written `backward`. Before training anything we compare it with
# the numbers: nudge one input or weight by `h` up and down, evaluate the objective twice, and divide
# (the centered difference). The recipe and its pitfalls follow the CS231n notes "Neural Networks Part 3:
# Learning and Evaluation" (gradient checks). This script shows the building blocks, checks every layer
# and loss, shows why the checks run in float64 (a float32 model is checked on a float64 copy), what a
# kink looks like, how to choose `h`, the pitfalls the notes warn about, and finally walks you through
# writing and checking a layer of your own -- and why a check at a "nice" parameter value can miss a bug.
# Runs in about 1.5 s of CPU time on one core.

# %%
import os
import warnings

import numpy as np

from nn_scratch.files import atomic_write
from nn_scratch.gradcheck import (check_directional, check_layer, check_loss, check_model,
                                  numerical_gradient, plot_step_size_sweep, rel_error, step_size_sweep)
from nn_scratch.layers import (Dropout, Flatten, Layer, LeakyReLU, Linear, Parameter, ReLU, Sequential,
                               Sigmoid, Softmax, Tanh)
from nn_scratch.losses import L2, MSE, Flooding, MulticlassSVM, SoftmaxCrossEntropy
from nn_scratch.optim import SGD
# two classic mistakes from the exercises' catalogue, planted in an otherwise correct Linear
from nn_scratch.exercises.catalogue import LinearTransposedDW

FIGURES = os.environ.get("NN_SCRATCH_FIGURES", os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures"))
os.makedirs(FIGURES, exist_ok=True)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The two building blocks
# `numerical_gradient(f, x)` moves each coordinate of `x` in place to x+h and x-h (and puts it back
# exactly). `rel_error(a, n) = |a - n| / max(|a|, |n|)` compares two gradients on a scale-free basis.
# For f(x) = sum(x^3) the true gradient is 3x^2.

# %%
x = np.array([0.5, -1.2, 2.0])
numeric = numerical_gradient(lambda v: np.sum(v ** 3), x)
print("numeric ", numeric)
print("analytic", 3 * x ** 2)
err_centered = np.max(rel_error(3 * x ** 2, numeric))
print(f"max rel error {err_centered:.1e}   (centered difference: error O(h^2))")

# %% [markdown]
# Why centered? The one-sided difference (f(x+h) - f(x)) / h looks simpler, but its error is O(h): the
# Taylor term h/2 f''(x) does not cancel. For x^3 that is 3 x h, about 1e-5 relative -- a
# thousand times worse than the centered one, with one evaluation fewer per coordinate.

# %%
h = 1e-5
f = lambda v: np.sum(v ** 3)                      # noqa: E731
forward_diff = np.array([(f(x + h * e) - f(x)) / h for e in np.eye(3)])
err_forward = np.max(rel_error(3 * x ** 2, forward_diff))
print(f"forward difference: max rel error {err_forward:.1e}; centered: {err_centered:.1e}")
assert err_forward > 1000 * err_centered          # the claim above, on these numbers

# %% [markdown]
# ## 2. Check every layer
# `check_layer` uses the objective sum(layer(x) * dy) for a fixed random dy: its gradient is exactly what
# `backward(dy)` returns (for x) and sets (for the parameters). The layers are float32, as for training;
# the checker works on a float64 copy and leaves yours alone. Dropout is checked *with* its randomness:
# the checker replays the layer's Generator before every evaluation.

# %%
X = rng.standard_normal((4, 5))
layers = [Linear(5, 3, rng=0), ReLU(), LeakyReLU(0.1), Tanh(), Sigmoid(), Softmax(), Dropout(0.5, rng=1),
          Flatten(), Sequential([Linear(5, 8, rng=2), Tanh(), Dropout(0.2, rng=3), Linear(8, 3, rng=4)])]
for layer in layers:
    report = check_layer(layer, X, seed=0)
    print(f"{type(layer).__name__:<12} {report.verdict:<5} max rel error {report.max_rel_error:.1e}  "
          f"kinks {report.kinks}")
print()
print(report)          # the full table of the last one: one row per tensor, then the verdict

# %% [markdown]
# ## 3. Check every loss, and the L2 penalty on its own
# `forward(scores, y)` returns per-sample losses; the objective is their mean. The penalty
# 0.5 * reg * sum W^2 is checked apart from the data loss (`check="reg"`): when both are mixed, a big
# penalty with its simple gradient can hide a wrong data gradient.

# %%
scores, labels = rng.standard_normal((6, 4)) * 2, rng.integers(0, 4, 6)
for loss in [SoftmaxCrossEntropy(), MulticlassSVM(), Flooding(SoftmaxCrossEntropy(), level=0.5)]:
    r = check_loss(loss, scores, labels)
    print(f"{type(loss).__name__:<20} {r.verdict}  max rel error {r.max_rel_error:.1e}")
r = check_loss(MSE(), scores, rng.standard_normal((6, 4)))
print(f"{'MSE':<20} {r.verdict}  max rel error {r.max_rel_error:.1e}")
net = Sequential([Linear(5, 8, rng=5), ReLU(), Linear(8, 4, rng=6)])
Xs, ys = rng.standard_normal((6, 5)), rng.integers(0, 4, 6)
for part in ("data", "reg", "total"):
    r = check_model(net, SoftmaxCrossEntropy(), Xs, ys, reg=L2(0.1), check=part)
    print(f"model, check={part!r:<8} {r.verdict}  max rel error {r.max_rel_error:.1e}")
print(check_model(net, SoftmaxCrossEntropy(), Xs, ys, reg=L2(0.1), check="reg"))

# %% [markdown]
# Every row passes, so the claim needs a bug to show. Plant one of the classic mistakes -- the first
# layer's dW transposed (`LinearTransposedDW`, from the catalogue the exercises grade against) -- and
# check with a very strong penalty. The penalty's gradient reg * W is simple and huge next to the data
# gradient, so the *total* relative error shrinks by the ratio of the two and the check passes; the data
# check alone still finds the bug.

# %%
planted = Sequential([LinearTransposedDW(5, 5, rng=5), ReLU(), Linear(5, 4, rng=6)])
data_only = check_model(planted, SoftmaxCrossEntropy(), Xs, ys)
hidden = check_model(planted, SoftmaxCrossEntropy(), Xs, ys, reg=1e6, check="total")
print(f"planted transposed dW, check='data':             {data_only.verdict} "
      f"(max rel error {data_only.max_rel_error:.1e})")
print(f"same model, check='total' with reg=1e6 penalty:  {hidden.verdict} "
      f"(max rel error {hidden.max_rel_error:.1e}) -- the penalty hides it")
assert data_only.verdict == "WRONG" and hidden.passed

# %% [markdown]
# ## 4. float32 vs float64
# Computing the centered difference in single precision is the classic pitfall: f(x+h) and f(x-h) agree
# in their first 5-6 digits and float32 only has 7, so the difference is mostly rounding. That is why the
# checker always runs in float64, on a copy. Here is the naive float32 estimate for a float32
# Linear + Tanh next to the checker's float64 copy.

# %%
layer32 = Sequential([Linear(5, 8, rng=7), Tanh()])          # float32 parameters
x32 = X.astype(np.float32)
dy = rng.standard_normal((4, 8)).astype(np.float32)
layer32.forward(x32)
analytic32 = layer32.backward(dy)                            # dx in float32
naive = numerical_gradient(lambda v: float(np.sum(layer32.forward(v) * dy)), x32.copy())
err32 = np.max(rel_error(analytic32, naive))
report64 = check_layer(layer32, x32, dy=dy)
print(f"naive float32 numeric gradient: max rel error {err32:.1e}")
print(f"checker on a float64 copy:      max rel error {report64.max_rel_error:.1e}")
print("the caller's layer is still", layer32.layers[0].W.value.dtype)
assert err32 > 1e3 * report64.max_rel_error and layer32.layers[0].W.value.dtype == np.float32

# %% [markdown]
# ## 5. A kink
# ReLU is max(0, x): at x within h of 0, f(x+h) and f(x-h) fall on different sides and the centered
# difference is meaningless there. ReLU records `winners` (x > 0) in forward; the checker compares them
# between the evaluations and reports such coordinates apart instead of failing them.

# %%
x_kink = np.array([[3e-6, -1.0, 2.0], [0.5, -4e-6, 1.2]])
r = check_layer(ReLU(), x_kink, num_coords=None)
row = r["x (input)"]
print("kinked coordinates:", [tuple(int(k) for k in np.unravel_index(i, x_kink.shape))
                              for i in row.indices[row.kinked]])
print(f"error there {row.max_rel_error_at_kinks:.2f} (meaningless), elsewhere {row.max_rel_error:.1e}")
print(f"kinks crossed: {r.kinks}, verdict {r.verdict}")
svm = check_loss(MulticlassSVM(), np.array([[1.0, 0.0, -3.0]]), np.array([0]), num_coords=None)
print(f"SVM with a margin exactly at zero: kinks {svm.kinks}, verdict {svm.verdict}")

# %% [markdown]
# ## 6. Choosing h
# Too large an h and the O(h^2) truncation error dominates; too small and rounding (about eps/h) takes
# over. On log-log axes the error is a V; its bottom is near 1e-5 in float64 and much higher, near 1e-2,
# in float32.

# %%
sweep_model = Sequential([Linear(5, 6, rng=8), Tanh(), Linear(6, 3, rng=9)])
s64 = step_size_sweep(sweep_model, X, num_coords=6)
s32 = step_size_sweep(sweep_model, X, num_coords=6, dtype=np.float32)
for s in (s64, s32):
    print(f"{s.dtype}: best h {s.best_h:.0e}, error there {np.nanmin(s.error):.1e}, "
          f"at h=1e-12 {s.error[0]:.1e}")
assert 1e-7 <= s64.best_h <= 1e-3 and np.nanmin(s32.error) > 100 * np.nanmin(s64.error)
fig = plot_step_size_sweep(s64, s32)
path = os.path.join(FIGURES, "01_step_size_sweep.png")
with atomic_write(path) as f:                 # a temporary file, then os.replace: never half-written
    fig.savefig(f, format="png", dpi=110)
print("saved", path)

# %% [markdown]
# ## 7. The pitfalls the notes warn about
# * **Few datapoints.** Every sample adds ReLU inputs and SVM margins that a nudge of h can push across
#   a kink; check on a handful of samples, where few kinks are near.
# * **Tiny numbers.** When the gradients are around 1e-10 while the loss is computed from numbers of
#   size 1, the two evaluations differ by less than their rounding and the relative error is noise:
#   scale the loss up (a constant factor changes nothing else) before checking.
# * **Burn-in.** At initialization some terms are zero or nearly so and a wrong one can hide; check
#   again after a few training steps, when every part of the network is active. (Measured below: with
#   the output layer at W = 0 -- the right start for a classifier -- every layer below gets exactly zero
#   gradient, so a planted transposed dW passes until a few steps have been taken.)
# * **Every parameter.** Check a few coordinates of *every* tensor (the checker samples `num_coords` of
#   each, biases included): a bug in one small bias hides in a large sample of big weight matrices.
# * **Depth.** Errors compound through layers, so a deep network shows larger relative errors even
#   when every backward is right; judge a new layer alone first, then the whole model.

# %%
kinks_by_n, errs_t, depth_err = {}, {}, {}
for N in (4, 1000):                                            # few datapoints: fewer kinks nearby
    Xn, yn = rng.standard_normal((N, 8)), rng.integers(0, 4, N)
    relu_svm = Sequential([Linear(8, 16, rng=20), ReLU(), Linear(16, 4, rng=21)])
    r = check_model(relu_svm, MulticlassSVM(), Xn, yn, num_coords=20, h=1e-3)
    print(f"ReLU net + SVM, N = {N:4d}, h = 1e-3: {r.kinks} of {sum(row.checked for row in r.rows)} checked "
          f"coordinates crossed a kink")
    kinks_by_n[N] = r.kinks
assert kinks_by_n[1000] > kinks_by_n[4]

W_t = rng.standard_normal((4, 3))                              # tiny numbers: scale the loss up
x_t = rng.standard_normal((2, 4))
analytic_t = (1 - np.tanh(x_t @ W_t) ** 2) @ W_t.T
for scale in (1e-12, 1.0):
    # the 1.0 stands for the O(1) numbers a loss is computed from: their rounding (~1e-16) swamps a tiny part
    numeric_t = numerical_gradient(lambda v: 1.0 + scale * np.sum(np.tanh(v @ W_t)), x_t.copy())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        err_t = np.max(rel_error(scale * analytic_t, numeric_t))
    print(f"loss scaled by {scale:g}: max rel error {err_t:.1e}"
          + (f"  -- warning: {str(caught[0].message)[:60]}..." if caught else ""))
    errs_t[scale] = err_t
assert errs_t[1e-12] > 1e3 * errs_t[1.0]

burn = Sequential([LinearTransposedDW(6, 6, rng=40), ReLU(), Linear(6, 4, init="zeros")])   # burn-in
Xb, yb = rng.standard_normal((8, 6)), rng.integers(0, 4, 8)
at_init = check_model(burn, SoftmaxCrossEntropy(), Xb, yb)
ce_b, sgd_b = SoftmaxCrossEntropy(), SGD(burn.parameters(), lr=0.1)
for _ in range(5):                                             # five training steps
    ce_b.forward(burn.forward(Xb), yb)
    burn.backward(ce_b.backward())
    sgd_b.step()
after_burn_in = check_model(burn, SoftmaxCrossEntropy(), Xb, yb)
print(f"planted transposed dW under a zero output layer: at initialization {at_init.verdict} (its dW is "
      f"{'all zero' if not np.any(at_init['layers.0.W'].analytic) else 'non-zero'}), after 5 steps "
      f"{after_burn_in.verdict}")
assert at_init.passed and not np.any(at_init["layers.0.W"].analytic) and after_burn_in.verdict == "WRONG"

ce = SoftmaxCrossEntropy()                                     # depth: the raw centered error grows
Xd, yd = rng.standard_normal((6, 8)), rng.integers(0, 4, 6)
for depth in (1, 4, 16):
    deep = Sequential(sum([[Linear(8, 8, init="xavier", rng=30 + i, dtype=np.float64), Tanh()]
                           for i in range(depth)], []) + [Linear(8, 4, rng=29, dtype=np.float64)])
    ce.forward(deep.forward(Xd), yd)
    dx = deep.backward(ce.backward())
    num = numerical_gradient(lambda v: ce.reduce(ce.forward(deep.forward(v), yd)), Xd.copy())
    depth_err[depth] = np.max(rel_error(dx, num))
    print(f"{depth:2d} tanh layers: raw centered-difference error on dx {depth_err[depth]:.1e}")
assert depth_err[16] > 10 * depth_err[1]

# %% [markdown]
# ## 8. The fast check
# Checking every coordinate costs two evaluations each. `check_directional` checks the derivative along
# one random direction through all parameters at once: two evaluations, whatever the size of the model.

# %%
big = Sequential([Linear(20, 200, rng=10), Tanh(), Dropout(0.3, rng=11), Linear(200, 10, rng=12)])
d = check_directional(big, SoftmaxCrossEntropy(), rng.standard_normal((8, 20)), rng.integers(0, 10, 8))
print(f"{sum(p.size for p in big.parameters())} parameters, {d.evaluations} evaluations")
print(d)

# %% [markdown]
# ## 9. Your own layer: Swish
# y = x * sigmoid(beta * x) with a learnable beta. Any `Parameter` attribute is found automatically:
# nothing to register. With s = sigmoid(beta x) and s' = s (1 - s):
#   dy/dx    = s + beta * x * s'
#   dy/dbeta = x * x * s'
# First a version with a typical slip: the chain-rule factor beta forgotten in dy/dx.

# %%
class Swish(Layer):
    """y = x * sigmoid(beta * x); any shape; beta is a learnable scalar."""

    def __init__(self, beta=1.0, planted_mistake=False):
        super().__init__()
        self.beta = Parameter(np.array(beta), "beta", regularize=False)
        self.planted_mistake = planted_mistake

    def forward(self, x):
        self.x = x
        self.s = 0.5 * (1 + np.tanh(0.5 * self.beta.value * x))    # sigmoid without overflow
        return x * self.s

    def backward(self, dy):
        ds = self.s * (1 - self.s)
        self.beta.grad[...] = np.sum(dy * self.x * self.x * ds)
        inner = 1.0 if self.planted_mistake else self.beta.value     # the chain-rule factor d(beta x)/dx
        return dy * (self.s + inner * self.x * ds)


x_swish = rng.standard_normal((4, 6))
at_one = check_layer(Swish(beta=1.0, planted_mistake=True), x_swish)
print(f"Swish with a planted mistake, checked at beta = 1.0 -> {at_one.verdict} "
      f"(max rel error {at_one.max_rel_error:.1e})")
assert at_one.passed

# %% [markdown]
# It passes -- and the mistake is still there. At beta = 1 the forgotten factor is 1, so the wrong formula
# and the right one give the same numbers: a check can only see a mistake where it changes the result.
# Check at a "generic" value -- not 0, not 1, not a symmetric input -- such as beta = 1.7:

# %%
wrong = check_layer(Swish(beta=1.7, planted_mistake=True), x_swish)
print(wrong)
print(f"Swish with a planted mistake -> {wrong.verdict} (max rel error {wrong.max_rel_error:.1e})")
assert wrong.verdict == "WRONG"

# %% [markdown]
# The table points at the input gradient (`x (input)`), while `beta`'s gradient is fine: the slip is in
# dy/dx. Put the factor beta back:

# %%
fixed = check_layer(Swish(beta=1.7), x_swish)
print(fixed)
print(f"Swish fixed -> {fixed.verdict} (max rel error {fixed.max_rel_error:.1e})")
model = Sequential([Linear(6, 8, rng=13), Swish(), Linear(8, 3, rng=14)])
inside = check_model(model, SoftmaxCrossEntropy(), x_swish, np.array([0, 1, 2, 1]))
print(f"Swish inside a model -> {inside.verdict} (max rel error {inside.max_rel_error:.1e})")
assert fixed.passed and inside.passed

# %% [markdown]
# ## Try this
# 1. Check the planted Swish at beta = 1.0, 1.01 and 3.0. Which checks see the mistake, and why does the
#    error grow with |beta - 1|?
# 2. In section 6, sweep `h` for a Sequential of ten Tanh layers: where does the bottom of the V move?
# 3. In section 3, lower `reg` from 1e6 to 1e3: at what strength does the planted bug start to show?
#
# Graded exercises for this tutorial (`nn-scratch exercise list`): write `rel_error`,
# `numerical_gradient`, `affine_forward`, `affine_backward` and `relu_backward` yourself, e.g.
# `nn-scratch exercise start affine_backward`, then `nn-scratch exercise check affine_backward.py`. When
# one is wrong the report names the classic mistake it looks like (a transposed dw, a forward difference,
# ...) -- the same planted bugs as in section 3.
