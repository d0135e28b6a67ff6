"""Issue 9 §2 cases, before/after: an exploding update right before an evaluation (full batch), with no
validation and eval_train=False, an optimizer on another model, float16 with Adam.

Run against any checkout: PYTHONPATH=<checkout> python benchmarks/fault_cases_divergence.py
(the "before" numbers of the closing note: git archive 6212e7f nn_scratch | tar -x -C /tmp/before)
"""
import numpy as np, traceback
from nn_scratch.layers import Linear
from nn_scratch.losses import MSE, SoftmaxCrossEntropy
from nn_scratch.optim import SGD, Adam
from nn_scratch.trainer import Trainer

def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = (10 * rng.standard_normal((n, 3))).astype(np.float32)
    return X, (X @ np.ones(3, np.float32) > 0).astype(int)

def run(label, **fit):
    X, y = data()
    model = Linear(3, 2, rng=0)
    t = Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=fit.pop("lr")), progress=False)
    try:
        h = t.fit(X, y, **fit)
        print(f"{label}: returned History with {len(h.steps['step'])} steps; weights finite: "
              f"{all(np.isfinite(p.value).all() for p in model.parameters())}")
    except Exception as e:
        print(f"{label}: {type(e).__name__}: {str(e)[:260]}")
        print(f"   history attached: {getattr(e, 'history', None) is not None}; weights finite: "
              f"{all(np.isfinite(p.value).all() for p in model.parameters())}")

# full-batch training: the exploding update is the last one before an evaluation
run("full batch, with validation", lr=1e38, X_val=data(32, 1)[0], y_val=data(32, 1)[1], epochs=3, batch_size=64)
run("full batch, eval_train only", lr=1e38, epochs=3, batch_size=64)
# no validation data, eval_train=False: the final step explodes
run("no validation, eval_train=False", lr=1e38, epochs=1, batch_size=64, eval_train=False)
# optimizer built on another model
X, y = data()
a, b = Linear(3, 2, rng=0), Linear(3, 2, rng=1)
try:
    w = a.W.value.copy()
    Trainer(a, SoftmaxCrossEntropy(), SGD(b.parameters(), lr=0.1), progress=False).fit(X, y, epochs=2, batch_size=16)
    print("foreign optimizer: trained silently; model changed:", not np.array_equal(w, a.W.value))
except Exception as e:
    print(f"foreign optimizer: {type(e).__name__}: {e}")
# float16
m = Linear(3, 2, rng=0, dtype=np.float16)
try:
    t = Trainer(m, SoftmaxCrossEntropy(), Adam(m.parameters(), lr=1e-3), progress=False)
    t.fit(X.astype(np.float16), y, epochs=1, batch_size=16)
    print("float16 Adam: trained; weights finite:", np.isfinite(m.W.value).all())
except Exception as e:
    print(f"float16 Adam: {type(e).__name__}: {str(e)[:250]}")
