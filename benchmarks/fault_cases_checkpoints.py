"""Issue 9 §4 cases, before/after: damaged files, readable files with one bad entry, callbacks reordered or
added, a wrong-shaped callback state, kill -9 during a write, keep="best" after a resume.

Run against any checkout: PYTHONPATH=<checkout> python benchmarks/fault_cases_checkpoints.py
"""
import json, os, signal, subprocess, sys, tempfile, time
import numpy as np
from nn_scratch.callbacks import Checkpoint, EarlyStopping, WeightAverage
from nn_scratch.files import save_npz
from nn_scratch.layers import Dropout, Linear, ReLU, Sequential
from nn_scratch.losses import SoftmaxCrossEntropy
from nn_scratch.optim import Adam
from nn_scratch.trainer import Trainer

rng = np.random.default_rng(0)
y = rng.integers(0, 3, 48)
X = (rng.standard_normal((3, 5))[y] * 2 + rng.standard_normal((48, 5))).astype(np.float32)

def make(seed=0, cbs=None):
    m = Sequential([Linear(5, 8, rng=seed), ReLU(), Dropout(0.2, rng=seed + 1), Linear(8, 3, rng=seed + 2)])
    cbs = [EarlyStopping(mode="min", patience=50, restore_best=False), WeightAverage(0.9)] if cbs is None else cbs
    return Trainer(m, SoftmaxCrossEntropy(), Adam(m.parameters(), lr=1e-2), callbacks=cbs, progress=False)

d = tempfile.mkdtemp()
t = make(); t.fit(X, y, X, y, epochs=2, batch_size=16); good = os.path.join(d, "good.npz"); t.save_checkpoint(good)
raw = open(good, "rb").read()
with np.load(good) as f:
    st = {k: f[k] for k in f.files}

def outcome(path, maker=make):
    u = maker(seed=7)
    w0 = u.model.state_dict(); o0 = {k: np.array(v) for k, v in u.optimizer.state_dict().items()}
    try:
        u.load_checkpoint(path); res = "LOADED without error"
    except Exception as e:
        m = str(e).replace(d, "<dir>")
        res = f"{type(e).__name__}: {m[:150]}" + (" [names file]" if "<dir>" in m else " [no path]")
        res += " [suggests allow_pickle]" if "allow_pickle" in m else ""
    w1 = u.model.state_dict(); o1 = u.optimizer.state_dict()
    changed = [k for k in w0 if not np.array_equal(w0[k], w1[k])]
    ochanged = any(not np.array_equal(o0[k], o1[k], equal_nan=True) for k in o0)
    return res + (f" | model changed ({len(changed)}/{len(w0)} arrays)" if changed else " | model unchanged") + \
        (", optimizer changed" if ochanged else "")

print("== damaged files ==")
for name, content in [("empty", b""), ("truncated to half", raw[:len(raw)//2]), ("last byte cut", raw[:-1]),
                      ("data byte flipped (30%)", raw[:int(.3*len(raw))] + bytes([raw[int(.3*len(raw))] ^ 255]) + raw[int(.3*len(raw))+1:]),
                      ("first byte flipped", bytes([raw[0] ^ 255]) + raw[1:])]:
    p = os.path.join(d, "dmg.npz"); open(p, "wb").write(content)
    print(f"{name:26s} {outcome(p)}")

print("== readable files with one bad entry ==")
optk = next(k for k in st if k.startswith("optim/") and ".m." in k)
wk = "model/layers.0.W"
cbk = next(k for k in st if k.startswith("callback/") and "/m/" in k)
def edit(case):
    s = dict(st)
    if case == "NaN in a weight": s[wk] = s[wk].copy(); s[wk].flat[0] = np.nan
    if case == "inf in Adam's m": s[optk] = s[optk].copy(); s[optk].flat[0] = np.inf
    if case == "optimizer slot wrong shape": s[optk] = s[optk][:1]
    if case == "history not JSON": s["history"] = np.array("{oops")
    if case == "rng not JSON": s["rng"] = np.array("{oops")
    if case == "layer generator state bad": k = next(k for k in s if k.startswith("model_rng/")); s[k] = np.array('{"x": 1}')
    if case == "integer weights": s[wk] = s[wk].astype(np.int32)
    if case == "callback state missing key": k = next(k for k in s if k.startswith("callback/") and k.endswith("/best")); del s[k]
    if case == "epoch counter text": s["epoch"] = np.array("two")
    return s
for case in ["NaN in a weight", "inf in Adam's m", "optimizer slot wrong shape", "history not JSON", "rng not JSON",
             "layer generator state bad", "integer weights", "callback state missing key", "epoch counter text"]:
    p = os.path.join(d, "bad.npz"); save_npz(p, edit(case))
    print(f"{case:28s} {outcome(p)}")

print("== callbacks ==")
print("reordered [WeightAverage, EarlyStopping]:", outcome(good, lambda seed: make(seed, [WeightAverage(0.9), EarlyStopping(mode="min", patience=50)])))
print("added a Checkpoint first:", outcome(good, lambda seed: make(seed, [Checkpoint(d, save_best=False, every=1), EarlyStopping(mode="min", patience=50), WeightAverage(0.9)])))
s = dict(st); s[cbk] = np.zeros(3); p = os.path.join(d, "wa.npz"); save_npz(p, s)
u = make(seed=7)
try:
    u.fit(X, y, X, y, epochs=4, batch_size=16, resume_from=p); print("wrong-shaped WeightAverage state: trained")
except Exception as e:
    print(f"wrong-shaped WeightAverage state: {type(e).__name__} at step {u.step}: {str(e).replace(d, '<dir>')[:160]}")

print("== kill -9 during a write ==")
code = "import sys,time\nfrom nn_scratch.files import atomic_write\nwith atomic_write(sys.argv[1]) as f:\n f.write(b'x'*1000); f.flush(); print('w', flush=True); time.sleep(60)"
p = subprocess.Popen([sys.executable, "-c", code, good], stdout=subprocess.PIPE, text=True, env=dict(os.environ))
p.stdout.readline(); os.kill(p.pid, signal.SIGKILL); p.wait()
print("after the kill:", sorted(f for f in os.listdir(d) if f.startswith(".tmp_")))
t.save_checkpoint(os.path.join(d, "next.npz"))
print("after the next save in the folder:", sorted(f for f in os.listdir(d) if f.startswith(".tmp_")))

print("== keep='best' after a resume ==")
e = tempfile.mkdtemp()
Xv, yv = X[::2], y[::2]
ck = Checkpoint(e, monitor="val_loss", mode="min"); make(cbs=[ck]).fit(X, y, Xv, yv, epochs=3, batch_size=16)
first = ck.best_path
ck2 = Checkpoint(e, monitor="val_loss", mode="min"); make(cbs=[ck2]).fit(X, y, Xv, yv, epochs=12, batch_size=16, resume_from=first)
print("best files left:", sorted(os.listdir(e)))
