# %% [markdown]
# # 10 -- Sequence models: an RNN, an LSTM and a small transformer read Shakespeare
#
# A character-level language model reads text one character at a time and, at every position, scores
# the 65 characters that could come next.  Its loss is the softmax cross-entropy of the true next
# character at every position, averaged over the positions (``SequenceCrossEntropy``); divided by ln 2 it
# is the number of **bits per character** the model would need to encode the text.  Guessing uniformly
# costs log2(65) = 6.02 bits.
#
# We first gradient-check every new layer (and catch a bug planted in an LSTM gate), then look at *why*
# LSTMs were invented -- how fast the gradient dies as it travels back through time in a vanilla RNN and in an
# LSTM, and what happens when it explodes instead -- then train three models of about the same number of
# parameters on the same task and compare their validation bits per character and their samples.  Last,
# the trained transformer's attention weights for one line of text.
#
# Runs in about a minute on two cores (48 s of CPU time measured).  ``NN_SCRATCH_QUICK=1`` shrinks the training (as the tests do); every
# claim printed below is asserted on the numbers computed in this very run.

# %%
import os
import time

import numpy as np
from matplotlib.figure import Figure

from nn_scratch import plots, sanity
from nn_scratch.data import text
from nn_scratch.generate import generate
from nn_scratch.gradcheck import check_layer, check_loss, check_model
from nn_scratch.layers import (GELU, LSTM, RNN, Embedding, LayerNorm, Linear, MultiHeadAttention, Sequential,
                               TokenPositionEmbedding, TransformerBlock)
from nn_scratch.losses import SequenceCrossEntropy
from nn_scratch.optim import SGD, Adam, global_norm

FIGURES = os.environ.get("NN_SCRATCH_FIGURES", os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures"))
os.makedirs(FIGURES, exist_ok=True)
QUICK = os.environ.get("NN_SCRATCH_QUICK", "") == "1"
STEPS = 60 if QUICK else 900             # training steps per model (batch 32 windows of 64 characters)
EVAL_EVERY = 20 if QUICK else 100
t_start = time.perf_counter()

# %% [markdown]
# ## 1. Gradient checks first
# Each new layer against centered differences, on small random shapes, checked in float64 on a copy of the
# float32 layer.  The recurrent layers use their weights at *every* time step, so one perturbed weight moves
# every output after it: the check covers backpropagation through time as a whole.  An ``Embedding`` takes
# integer ids: there is no input gradient, only the rows of its table.

# %%
rng = np.random.default_rng(0)
x_seq = rng.standard_normal((3, 5, 4))                         # (N, T, D)
ids = rng.integers(0, 7, (3, 5))                               # (N, T) character ids
checks = {
    "Embedding(7, 4)": check_layer(Embedding(7, 4, rng=0), ids),
    "Linear on (N, T, D)": check_layer(Linear(4, 3, rng=0), x_seq),
    "RNN(4, 6)": check_layer(RNN(4, 6, rng=0), x_seq),
    "LSTM(4, 6)": check_layer(LSTM(4, 6, rng=0), x_seq),
    "LayerNorm(4)": check_layer(LayerNorm(4), x_seq),
    "GELU": check_layer(GELU(), x_seq),
    "MultiHeadAttention causal": check_layer(MultiHeadAttention(4, 2, causal=True, dropout=0.2, rng=0), x_seq),
    "TransformerBlock": check_layer(TransformerBlock(4, 2, rng=0), x_seq),
    "TokenPositionEmbedding": check_layer(TokenPositionEmbedding(7, 5, 4, rng=0), ids),
    "SequenceCrossEntropy, padding": check_loss(SequenceCrossEntropy(ignore_index=-1), x_seq,
                                                np.where(ids % 3 == 0, -1, ids % 4)),
    "Embedding->LSTM->Linear model": check_model(
        Sequential([Embedding(7, 4, rng=0), LSTM(4, 6, rng=1), Linear(6, 7, rng=2)]),
        SequenceCrossEntropy(), ids, np.roll(ids, -1, axis=1)),
}
for name, report in checks.items():
    print(f"{name:<32} {report.verdict:<5} max rel error {report.max_rel_error:.1e}")
assert all(r.passed for r in checks.values())
print("every new layer passes")

# %% [markdown]
# ### A bug planted in an LSTM gate
# The forget gate multiplies the *previous* cell, c = f * c_prev + i * g, so df = dc * c_prev.  A classic slip
# is to write the current cell c_t instead.  Below is ``LSTM.backward`` copied with exactly that one line
# changed; the forward pass is untouched, so the model trains and its loss looks plausible -- only the
# gradient check catches it.

# %%
class BuggyLSTM(LSTM):
    def backward(self, dh):
        N, T, H = self.hs.shape
        da = np.empty_like(self.gates)
        dh_next = np.zeros((N, H), dtype=da.dtype)
        dc_next = np.zeros((N, H), dtype=da.dtype)
        for t in reversed(range(T)):
            i, f, o, g = np.split(self.gates[:, t], 4, axis=1)
            c_prev = self.cs[:, t - 1] if t > 0 else self.c0
            tc = self.tanh_c[:, t]
            g_h = dh[:, t] + dh_next
            dc = dc_next + g_h * o * (1 - tc * tc)
            da[:, t, :H] = dc * g * i * (1 - i)
            da[:, t, H:2 * H] = dc * self.cs[:, t] * f * (1 - f)        # BUG: should be c_prev
            da[:, t, 2 * H:3 * H] = g_h * tc * o * (1 - o)
            da[:, t, 3 * H:] = dc * i * (1 - g * g)
            dc_next = dc * f
            dh_next = da[:, t] @ self.Wh.value.T
        self.dh0, self.dc0 = dh_next, dc_next
        h_prev = np.concatenate([self.h0[:, None], self.hs[:, :-1]], axis=1)
        return self._weight_grads(da, h_prev)


buggy = check_layer(BuggyLSTM(4, 6, rng=0), x_seq)
print(buggy)
assert buggy.verdict == "WRONG" and checks["LSTM(4, 6)"].passed
print("the planted bug is caught (WRONG); the real LSTM passes")

# %% [markdown]
# ## 2. The data
# Tiny Shakespeare ships inside nn_scratch (1.1 million characters).  The last 10 % is validation -- split by
# position, so no training window overlaps it.  A batch is 32 windows of 64 characters at random positions;
# the targets are the same windows shifted by one character.

# %%
corpus = text.load_tinyshakespeare()
vocab = text.CharVocab(corpus)
train_ids, val_ids = text.split_by_position(vocab.encode(corpus))
V, T, BATCH = vocab.size, 64, 32
X_val, Y_val = text.sequential_windows(val_ids, T, max_windows=64 if QUICK else 256)
print(f"{len(corpus):,} characters, vocabulary of {V}; train {len(train_ids):,}, validation {len(val_ids):,} "
      f"(evaluated on {X_val.size:,})")
print(f"uniform guessing: log2({V}) = {np.log2(V):.2f} bits per character")

# %% [markdown]
# ## 3. Three models of about the same size
# * RNN: embedding 32 -> RNN with 128 hidden units -> linear to 65 scores at every step;
# * LSTM: embedding 32 -> LSTM with 64 hidden units (4 gates, so 4x the weights per unit) -> linear;
# * transformer: token + learned position embeddings (44) -> one causal pre-norm block (4 heads of 11,
#   MLP 176) -> layer norm -> linear.
# The output layer starts at zero (``init="zeros"``), so every model starts at exactly log2(65) bits.

# %%
def make_model(kind, seed=0, head_init="zeros", forget_bias=1.0):
    if kind == "RNN":
        body = [Embedding(V, 32, rng=seed), RNN(32, 128, rng=seed + 1)]
        width = 128
    elif kind == "LSTM":
        body = [Embedding(V, 32, rng=seed), LSTM(32, 64, forget_bias=forget_bias, rng=seed + 1)]
        width = 64
    else:
        width = 44
        body = [TokenPositionEmbedding(V, T, width, rng=seed), TransformerBlock(width, 4, rng=seed + 1),
                LayerNorm(width)]
    return Sequential(body + [Linear(width, V, init=head_init, rng=seed + 2)])


KINDS = ["RNN", "LSTM", "transformer"]
sizes = {k: sum(p.size for p in make_model(k).parameters()) for k in KINDS}
print("parameters:", ", ".join(f"{k} {n:,}" for k, n in sizes.items()))
assert max(sizes.values()) / min(sizes.values()) < 1.1
print("the three sizes are within 10 % of each other")

# %% [markdown]
# Before training, the sanity checks of tutorial 02 on each model: the loss per character starts at chance,
# ln V (the output layer starts at zero, so every character gets probability 1/V), more L2 penalty means more
# loss, and 20 windows can be memorized (the loss falls to a tiny fraction of its start).  For per-token
# labels the memorizing check judges the loss only, not 100 % accuracy: two windows that start with the same
# character have the same context and different next characters.
#
# The fourth check of `sanity.run_all`, "learns something that generalizes", trains full batch on a small
# held-in set and tests on held-out windows.  On a few dozen windows a sequence model memorizes them (the
# transformer even falls below always guessing the commonest character), so here the generalization check is
# the real one: the validation bits per character of section 6 must fall well below uniform guessing.

# %%
X_sanity, Y_sanity = text.random_windows(train_ids, 48, 64, rng=5)
for kind in KINDS:
    checks = [sanity.check_initial_loss(make_model(kind), SequenceCrossEntropy(), X_sanity, Y_sanity),
              sanity.check_regularization_raises_loss(make_model(kind), SequenceCrossEntropy(), X_sanity, Y_sanity),
              sanity.overfit_small_subset(make_model(kind), SequenceCrossEntropy(), X_sanity, Y_sanity)]
    for c in checks:
        assert c.passed, c.message
    assert abs(checks[0].measured - np.log(V)) < 1e-4
    print(f"{kind:<12} initial loss {checks[0].measured:.4f} = ln {V}; penalty raises the loss; "
          f"{checks[2].details['steps_taken']} steps memorize 20 windows (loss {checks[2].measured:.3f})")
print("all three models pass the initial-loss, penalty and memorizing checks")

# %% [markdown]
# ## 4. Why LSTMs: the gradient travelling back in time
# Take each untrained model, feed 100 characters, and put the loss on the **last** character only.  Backward
# then carries dL/dh_t from t = 100 back to t = 1; ``grad_hidden`` holds its value at every step.  In the RNN
# it is multiplied at each step by Wh^T and by tanh' <= 1 and shrinks geometrically: what the model saw 50
# characters ago has practically no say in its weight update.  The LSTM's cell is updated additively
# (c = f * c_prev + ...) so the gradient along the cell is only scaled by the forget gate f.  With the default
# ``forget_bias=1`` f starts near 0.73; with 0 it starts at 0.5 and the LSTM loses most of its advantage.

# %%
def grad_vs_distance(model, X, Y):
    rec = model.layers[1]
    scores = model.forward(X)
    loss = SequenceCrossEntropy()
    loss.forward(scores[:, -1:], Y[:, -1:])                  # the loss at the last position only
    dscores = np.zeros_like(scores)
    dscores[:, -1:] = loss.backward()
    model.backward(dscores)
    return np.linalg.norm(rec.grad_hidden, axis=2).mean(axis=0)[::-1]     # index = distance from the loss


X100, Y100 = text.random_windows(train_ids, 100, 16, rng=1)
# a zero output layer would pass no gradient back at all: this experiment uses a random (Xavier) one
curves = {"RNN": make_model("RNN", head_init="xavier"),
          "LSTM (forget_bias=1, default)": make_model("LSTM", head_init="xavier"),
          "LSTM (forget_bias=0)": make_model("LSTM", head_init="xavier", forget_bias=0.0)}
norms = {name: grad_vs_distance(m, X100, Y100) for name, m in curves.items()}
fig = Figure(figsize=(6.5, 4))
ax = fig.add_subplot()
for name, g in norms.items():
    ax.semilogy(np.arange(100), g / g[0], label=name)
ax.set_xlabel("distance from the loss (time steps back)")
ax.set_ylabel("||dL/dh_t|| / ||dL/dh_T||")
ax.set_title("Gradient reaching earlier steps, at initialization")
ax.grid(True, which="major", alpha=0.3)
ax.legend()
fig.tight_layout()
plots.save_figure(fig, os.path.join(FIGURES, "10_gradient_vs_distance.png"))
rnn50 = norms["RNN"][50] / norms["RNN"][0]
lstm50 = norms["LSTM (forget_bias=1, default)"][50] / norms["LSTM (forget_bias=1, default)"][0]
lstm0_50 = norms["LSTM (forget_bias=0)"][50] / norms["LSTM (forget_bias=0)"][0]
print(f"50 steps back the gradient is {rnn50:.1e} of its size at the loss in the RNN, {lstm50:.1e} in the LSTM "
      f"({lstm50 / rnn50:.0f}x more), {lstm0_50:.1e} in an LSTM with forget_bias=0")
assert lstm50 > 100 * rnn50 and lstm50 > 100 * lstm0_50

# %% [markdown]
# ## 5. The opposite failure: exploding gradients, and clipping
# Scale the RNN's recurrent weights by 3: now each step back *multiplies* the gradient, and its norm at
# initialization is millions of times larger.  Plain SGD steps in proportion to the gradient, so with a learning
# rate that suits ordinary gradients (2.0 here) the very first step moves the recurrent weights by millions:
# every hidden unit saturates at +-1, no gradient passes through tanh any more, and from then on only the output
# layer moves -- with steps far too big for it, so the loss jumps by many bits.  Global-norm clipping
# (``clip_norm``, in every optimizer) rescales all gradients together whenever their joint norm exceeds the
# threshold, keeping their direction, so no step can be longer than lr * clip_norm.  The clipped run is not
# perfectly smooth either (the learning rate is high), but its units are not all stuck at +-1 and it learns.

# %%
def exploding_rnn():
    model = make_model("RNN", seed=3, head_init="xavier")
    model.layers[1].Wh.value *= 3
    return model


loss_fn = SequenceCrossEntropy()
Xb, Yb = text.random_windows(train_ids, T, BATCH, rng=2)
grad_norm = {}
for name, model in (("Wh as drawn", make_model("RNN", seed=3, head_init="xavier")), ("Wh x 3", exploding_rnn())):
    loss_fn.forward(model.forward(Xb), Yb)
    model.backward(loss_fn.backward())
    grad_norm[name] = global_norm([p.grad for p in model.parameters()])
print("global gradient norm at initialization: " + ", ".join(f"{v:.2g} ({k})" for k, v in grad_norm.items()))
assert grad_norm["Wh x 3"] > 1000 * grad_norm["Wh as drawn"]

explode_steps = 40 if QUICK else 150
runs, trained_rnns = {}, {}
for clip in (None, 1.0):
    model = exploding_rnn()
    opt = SGD(model.parameters(), lr=2.0, clip_norm=clip)
    batch_rng = np.random.default_rng(4)
    losses, norms_seen = [], []
    for step in range(explode_steps):
        Xb, Yb = text.random_windows(train_ids, T, BATCH, rng=batch_rng)
        losses.append(loss_fn.reduce(loss_fn.forward(model.forward(Xb), Yb)) / np.log(2))
        model.backward(loss_fn.backward())
        opt.step()
        norms_seen.append(opt.last_grad_norm)
    name = "no clipping" if clip is None else f"clip_norm={clip:g}"
    runs[name], trained_rnns[name] = (np.array(losses), np.array(norms_seen)), model
fig = Figure(figsize=(10, 3.6))
ax1, ax2 = fig.subplots(1, 2)
for name, (losses, gn) in runs.items():
    ax1.plot(np.arange(len(losses)), losses, label=name)
    ax2.semilogy(np.arange(len(gn)), gn, label=name)
ax1.set_xlabel("step")
ax1.set_ylabel("training loss [bits / char]")
ax1.set_title("RNN with Wh x 3, SGD lr 2.0")
ax1.legend()
ax2.set_xlabel("step")
ax2.set_ylabel("global gradient norm (before clipping)")
ax2.set_title("Gradient norm")
ax2.legend()
fig.tight_layout()
plots.save_figure(fig, os.path.join(FIGURES, "10_exploding_and_clipping.png"))
unclipped, clipped = runs["no clipping"][0], runs["clip_norm=1"][0]
jump_u, jump_c = unclipped.max() - unclipped[0], clipped.max() - clipped[0]
saturated = {}
for name, model in trained_rnns.items():
    saturated[name] = float(np.mean(np.abs(model.layers[1].forward(model.layers[0].forward(Xb))) > 0.99))
tail_u, tail_c = float(np.mean(unclipped[-10:])), float(np.mean(clipped[-10:]))
print(f"worst loss above the start: {jump_u:.1f} bits without clipping, {jump_c:.1f} with clip_norm=1; "
      f"mean of the last 10 steps: {tail_u:.2f} without, {tail_c:.2f} bits/char with")
print(f"hidden values with |h| > 0.99 at the end: {saturated['no clipping']:.0%} without clipping, "
      f"{saturated['clip_norm=1']:.0%} with")
assert jump_u > 3 and jump_u > 2 * jump_c and tail_c < tail_u
assert saturated["no clipping"] > 0.9 > saturated["clip_norm=1"]

# %% [markdown]
# ## 6. Training the three models
# Adam with lr 1e-2 for all three (in a short trial of 1000 steps it beat 3e-3 for the RNN and for the
# transformer) and ``clip_norm=1``, the same batches for all three.  Every ``EVAL_EVERY`` steps the
# validation bits per character are measured in eval mode.  A sample of 200 characters from each model before training
# and after, from the prompt "ROMEO:" (temperature 0.8, same seed): the RNN and LSTM carry their hidden
# state from one character to the next; the transformer re-reads the last 64 characters each time.

# %%
LR = 1e-2
PROMPT = "ROMEO:"


def val_bits(model):
    model.eval()
    value = loss_fn.reduce(loss_fn.forward(model.forward(X_val), Y_val)) / np.log(2)
    model.train()
    return value


curves_bpc, samples, models, step_time = {}, {}, {}, {}
for kind in KINDS:
    model = make_model(kind)
    samples[kind] = [generate(model, PROMPT, 200, vocab=vocab, temperature=0.8, seed=0)]
    opt = Adam(model.parameters(), lr=LR, clip_norm=1.0)
    batch_rng = np.random.default_rng(0)
    steps, bits = [0], [val_bits(model)]
    t0 = time.perf_counter()
    for step in range(1, STEPS + 1):
        Xb, Yb = text.random_windows(train_ids, T, BATCH, rng=batch_rng)
        loss_fn.forward(model.forward(Xb), Yb)
        model.backward(loss_fn.backward())
        opt.step()
        if step % EVAL_EVERY == 0:
            steps.append(step)
            bits.append(val_bits(model))
    step_time[kind] = (time.perf_counter() - t0) / STEPS
    curves_bpc[kind] = (np.array(steps), np.array(bits))
    samples[kind].append(generate(model, PROMPT, 200, vocab=vocab, temperature=0.8, seed=0))
    models[kind] = model
    print(f"{kind:<12} validation {bits[0]:.2f} -> {bits[-1]:.3f} bits/char after {STEPS} steps "
          f"({1e3 * step_time[kind]:.0f} ms/step)")

fig = Figure(figsize=(6.5, 4))
ax = fig.add_subplot()
for kind, (s, b) in curves_bpc.items():
    ax.plot(s, b, "o-", ms=3, label=f"{kind} ({sizes[kind]:,} parameters)")
ax.axhline(np.log2(V), color="grey", ls=":", label=f"uniform: log2({V})")
ax.set_xlabel("training step (32 x 64 characters each)")
ax.set_ylabel("validation bits per character")
ax.set_title("Character-level Tiny Shakespeare")
ax.legend()
fig.tight_layout()
plots.save_figure(fig, os.path.join(FIGURES, "10_bits_per_character.png"))

final = {k: float(curves_bpc[k][1][-1]) for k in KINDS}
for kind in KINDS:
    assert abs(curves_bpc[kind][1][0] - np.log2(V)) < 1e-3          # zero output layer: exactly uniform
    assert final[kind] < np.log2(V) - 1.0                            # every model learned something
best = min(final, key=final.get)
print(f"all three start at {np.log2(V):.2f} bits and end more than 1 bit lower; best: {best} "
      f"({final[best]:.3f} bits/char), order " + " < ".join(sorted(final, key=final.get)))

# The ranking printed above holds for this budget only (STEPS steps, windows of 64 characters, ~31k parameters):
# it says which model learns fastest here, not which architecture is better.  Section 4 showed the LSTM's
# gradient reaching much further back; whether that pays depends on how far back the useful context lies.
assert samples["RNN"][0] == samples["LSTM"][0] == samples["transformer"][0]
print(f"\n--- every model before training (a zero output layer predicts uniformly, so all three draw the same "
      f"characters) ---\n{PROMPT}{samples['RNN'][0]}")
for kind in KINDS:
    print(f"--- {kind}, after {STEPS} steps ---\n{PROMPT}{samples[kind][1]}")

# %% [markdown]
# ## 7. What the transformer attends to
# ``MultiHeadAttention`` keeps its last attention weights (N, heads, T, T).  For one line of validation text,
# row t of each panel is how character t spreads its attention over characters 0..t (the causal mask leaves
# the upper triangle at exactly zero).  Compare the heads: how much weight each puts on the character itself
# and on the one before, and how far back it looks on average.

# %%
line = "First Citizen:\nBefore we proceed any further"
attn_layer = models["transformer"].layers[1].attn
models["transformer"].eval()
models["transformer"].forward(vocab.encode(line)[None])
A = attn_layer.attn[0]                                           # (heads, T, T)
assert np.all(np.triu(A, 1) == 0) and np.allclose(A.sum(axis=-1), 1, atol=1e-5)
labels = [{"\n": "\\n", " ": "_"}.get(c, c) for c in line]
fig = Figure(figsize=(10, 10))
axes = fig.subplots(2, 2).ravel()
for h, ax in enumerate(axes):
    ax.imshow(A[h], cmap="viridis", vmin=0, vmax=1)
    ax.set_title(f"head {h}")
    ax.set_xticks(range(len(line)))
    ax.set_xticklabels(labels, fontsize=6)
    ax.set_yticks(range(len(line)))
    ax.set_yticklabels(labels, fontsize=6)
    ax.set_xlabel("attends to (earlier character)", fontsize=8)
    ax.set_ylabel("character t", fontsize=8)
fig.suptitle("Attention weights of the trained transformer (row t sums to 1; bright = large)", fontsize=10)
fig.tight_layout()
plots.save_figure(fig, os.path.join(FIGURES, "10_attention_heads.png"))
lag = np.arange(len(line))[:, None] - np.arange(len(line))[None, :]          # t - s
for h in range(A.shape[0]):
    print(f"head {h}: weight on itself {np.mean(np.diagonal(A[h])):.2f}, on the previous character "
          f"{np.mean(np.diagonal(A[h], offset=-1)):.2f}, mean distance back {np.mean(np.sum(A[h] * lag, axis=1)):.1f}")
print("rows sum to 1 and no weight falls on a later character")

# %% [markdown]
# ## Try this
# - Set `forget_bias=0.0` in the LSTM and rerun the gradient-versus-distance figure: how far back does the
#   gradient reach now?
# - Train the transformer with `causal=False`. The validation loss drops fast; why is that number worthless
#   for generating text? (Look at what the attention weights are allowed to see.)
# - Write one time step of the LSTM's backward pass yourself and let the package grade it:
#   `nn-scratch exercise start lstm_step_backward`, then `nn-scratch exercise check lstm_step_backward.py`.
#   The grader names the classic mistakes (gate order, the cell's tanh derivative, the forget gate on dc).

# %%
print(f"figures in {FIGURES}: 10_gradient_vs_distance.png, 10_exploding_and_clipping.png, "
      "10_bits_per_character.png, 10_attention_heads.png")
print(f"done in {time.perf_counter() - t_start:.1f} s")
