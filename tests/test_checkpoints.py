"""Checkpoints load all-or-nothing: real files truncated, emptied and byte-flipped, a real process killed with
SIGKILL in the middle of a write, crafted files with one bad entry each, callbacks matched by name."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from nn_scratch.callbacks import Checkpoint, EarlyStopping, WeightAverage
from nn_scratch.checkpoints import CheckpointError, read_checkpoint, trainer_state
from nn_scratch.files import _HOST, clean_stale_temporaries, save_npz
from nn_scratch.layers import Dropout, Linear, ReLU, Sequential
from nn_scratch.losses import SoftmaxCrossEntropy
from nn_scratch.optim import Adam
from nn_scratch.trainer import Trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    return (rng.standard_normal((3, 5))[y] * 2 + rng.standard_normal((n, 5))).astype(np.float32), y


def make(seed=0, callbacks=None, folder=None):
    model = Sequential([Linear(5, 8, rng=seed), ReLU(), Dropout(0.2, rng=seed + 1), Linear(8, 3, rng=seed + 2)])
    if callbacks is None:
        callbacks = [EarlyStopping(mode="min", patience=50, restore_best=False), WeightAverage(0.9)]
        if folder is not None:
            callbacks.append(Checkpoint(folder, save_best=False, every=1))
    return Trainer(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=1e-2), callbacks=callbacks,
                   progress=False)


def snapshot(t):
    """Everything a load could change, as plain copies."""
    return {"model": t.model.state_dict(), "optim": {k: np.array(v) for k, v in t.optimizer.state_dict().items()},
            "rng": json.dumps(t.rng.bit_generator.state), "counters": (t.epoch, t.step),
            "gens": [json.dumps(g.bit_generator.state) for _, g in t.model.named_generators()],
            "history": t.history.to_json(), "wa_t": t.callbacks[1].t, "es_best": t.callbacks[0].best}


def assert_unchanged(before, t):
    after = snapshot(t)
    for key in ("rng", "counters", "gens", "history", "wa_t", "es_best"):
        assert before[key] == after[key], key
    for key in ("model", "optim"):
        assert before[key].keys() == after[key].keys()
        assert all(np.array_equal(before[key][k], after[key][k], equal_nan=True) for k in before[key]), key


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real checkpoint after 2 epochs, and a second trainer that has trained differently (the target)."""
    folder = tmp_path_factory.mktemp("ckpt")
    X, y = data()
    t = make()
    t.fit(X, y, X, y, epochs=2, batch_size=16, seed=0)
    path = str(folder / "good.npz")
    t.save_checkpoint(path)
    return path, (X, y)


def target(xy):
    t = make(seed=7)
    t.fit(*xy, *xy, epochs=1, batch_size=16, seed=1)
    return t


# -- damaged files ---------------------------------------------------------------------------------------------
def damaged_copies(path, out):
    raw = open(path, "rb").read()
    n = len(raw)
    cases = {"empty": b"", "one byte": raw[:1], "header only": raw[:30], "half": raw[: n // 2],
             "all but the last byte": raw[:-1], "garbage": bytes(range(256)) * 4}
    for frac in (0.002, 0.05, 0.3, 0.6, 0.9, 0.97, 0.995):      # zip headers, npy headers, array data, directory
        i = int(frac * n)
        flipped = bytearray(raw)
        flipped[i] ^= 0xFF
        cases[f"byte {i} of {n} flipped"] = bytes(flipped)
    files = {}
    for name, content in cases.items():
        p = out / (name.replace(" ", "_") + ".npz")
        p.write_bytes(content)
        files[name] = str(p)
    return files


def test_damaged_files_give_a_clear_error_naming_the_file_and_change_nothing(saved, tmp_path):
    path, xy = saved
    t = target(xy)
    before = snapshot(t)
    loaded_anyway = []
    for name, p in damaged_copies(path, tmp_path).items():
        try:
            t.load_checkpoint(p)
        except CheckpointError as err:
            msg = str(err)
            assert p in msg and "allow_pickle" not in msg and "pickle" not in msg.lower(), (name, msg)
            assert_unchanged(before, t)
        else:                                        # a flip in a byte nothing reads (zip padding) is harmless,
            loaded_anyway.append(name)               # but then the load must be the good file's, exactly
            good = make(seed=3)
            good.load_checkpoint(path)
            assert_unchanged(snapshot(good), t)
            t = target(xy)
            before = snapshot(t)
    assert len(loaded_anyway) <= 2, loaded_anyway
    with pytest.raises(FileNotFoundError, match="does not exist"):
        t.load_checkpoint(tmp_path / "missing.npz")


# -- crafted files: readable, but one entry is wrong ------------------------------------------------------------
def _edit(st, case):
    st = dict(st)
    w = next(k for k in st if k.startswith("model/") and k.endswith("W"))
    m = next(k for k in st if k.startswith("optim/") and ".m." in k or k.startswith("optim/") and "m." in k)
    if case == "missing weight":
        del st[w]
    elif case == "extra weight":
        st["model/layers.9.W"] = st[w]
    elif case == "wrong shape":
        st[w] = st[w][:-1]
    elif case == "integer weights":
        st[w] = st[w].astype(np.int32)
    elif case == "NaN weight":
        st[w] = st[w].copy()
        st[w].flat[3] = np.nan
    elif case == "inf in optimizer state":
        st[m] = st[m].copy()
        st[m].flat[0] = np.inf
    elif case == "optimizer key missing":
        del st[m]
    elif case == "history not JSON":
        st["history"] = np.array("{not json")
    elif case == "history columns of unequal length":
        h = json.loads(str(st["history"]))
        h["steps"]["loss"] = h["steps"]["loss"][:-1]
        st["history"] = np.array(json.dumps(h))
    elif case == "rng state malformed":
        st["rng"] = np.array(json.dumps({"bit_generator": "PCG64", "state": {"state": "x"}}))
    elif case == "dropout generator missing":
        del st[next(k for k in st if k.startswith("model_rng/"))]
    elif case == "negative step":
        st["step"] = np.int64(-3)
    elif case == "format":
        st["format"] = np.array("something else")
    elif case == "wrong-shaped weight average":
        k = next(k for k in st if k.startswith("callback/WeightAverage/m/"))
        st[k] = np.zeros(3)
    elif case == "early-stopping state missing a key":
        del st["callback/EarlyStopping/best"]
    return st


CASES = ["missing weight", "extra weight", "wrong shape", "integer weights", "NaN weight", "inf in optimizer state",
         "optimizer key missing", "history not JSON", "history columns of unequal length", "rng state malformed",
         "dropout generator missing", "negative step", "format", "wrong-shaped weight average",
         "early-stopping state missing a key"]


@pytest.mark.parametrize("case", CASES)
def test_a_bad_entry_is_refused_before_anything_changes(saved, tmp_path, case):
    path, xy = saved
    st = read_checkpoint(path)
    bad = tmp_path / "bad.npz"
    save_npz(bad, _edit(st, case))
    t = target(xy)
    before = snapshot(t)
    with pytest.raises(CheckpointError, match="nothing was loaded") as info:
        t.load_checkpoint(bad)
    assert str(bad) in str(info.value)
    assert_unchanged(before, t)
    # through fit(resume_from=...) too: refused before the first step, model untouched
    with pytest.raises(CheckpointError):
        t.fit(*xy, *xy, epochs=4, batch_size=16, resume_from=bad)
    assert all(np.array_equal(before["model"][k], v) for k, v in t.model.state_dict().items())


def test_resume_with_other_data_is_refused_before_loading(saved):
    path, xy = saved
    t = target(xy)
    before = t.model.state_dict()
    with pytest.raises(CheckpointError, match="batch_size=16, this fit has batch_size=8"):
        t.fit(*xy, *xy, epochs=4, batch_size=8, resume_from=path)
    with pytest.raises(CheckpointError, match="drop_last=False, this fit has drop_last=True"):
        t.fit(*xy, *xy, epochs=4, batch_size=16, drop_last=True, resume_from=path)
    assert all(np.array_equal(before[k], v) for k, v in t.model.state_dict().items())


# -- callbacks matched by name ---------------------------------------------------------------------------------
def test_callbacks_are_matched_by_name_not_position(saved):
    path, xy = saved
    X, y = xy
    full = make()
    h_full = full.fit(X, y, X, y, epochs=4, batch_size=16, seed=0)
    es, wa = EarlyStopping(mode="min", patience=50, restore_best=False), WeightAverage(0.9)
    reordered = make(seed=3, callbacks=[wa, es])                 # reordered: same names
    h = reordered.fit(X, y, X, y, epochs=4, batch_size=16, seed=5, resume_from=path)
    assert h.equals(h_full), h.differences(h_full)
    assert es.best == full.callbacks[0].best and wa.t == full.callbacks[1].t
    added = make(seed=3, callbacks=[EarlyStopping(mode="min", patience=50, restore_best=False), WeightAverage(0.9),
                                    EarlyStopping(monitor="val_acc", mode="max", patience=3)])
    with pytest.raises(CheckpointError, match=r"callbacks do not match.*not in the file|no state in the file for "
                                              r"\['EarlyStopping#2'\]"):
        added.fit(X, y, X, y, epochs=4, batch_size=16, resume_from=path)
    removed = make(seed=3, callbacks=[WeightAverage(0.9)])
    with pytest.raises(CheckpointError, match=r"not in this trainer: \['EarlyStopping'\]"):
        removed.load_checkpoint(path)


def test_keep_best_still_deletes_the_previous_best_after_a_resume(tmp_path):
    X, y = data()
    Xv, yv = data(30, seed=1)

    def run(folder, epochs, resume=None):
        ck = Checkpoint(folder, monitor="val_loss", mode="min")
        t = make(callbacks=[ck])
        t.fit(X, y, Xv, yv, epochs=epochs, batch_size=16, seed=0, resume_from=resume)
        return ck

    first = run(tmp_path, 3)
    assert [p.name for p in tmp_path.glob("*.npz")] == [os.path.basename(first.best_path)]
    second = run(tmp_path, 12, resume=first.best_path)
    assert second.best_path != first.best_path                   # val loss kept falling on this easy set
    assert sorted(p.name for p in tmp_path.glob("*.npz")) == [os.path.basename(second.best_path)]


# -- kill -9 in the middle of a write --------------------------------------------------------------------------
WRITER = textwrap.dedent("""
    import sys, time
    from nn_scratch.files import atomic_write
    with atomic_write(sys.argv[1]) as f:
        f.write(b"x" * 100000)
        f.flush()
        print("writing", flush=True)
        time.sleep(60)
""")

TRAINER = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[2])
    from test_checkpoints import data, make
    X, y = data(600)
    print("training", flush=True)
    make(folder=sys.argv[1]).fit(X, y, X, y, epochs=100000, batch_size=8, seed=0)
""")


def _spawn(code, *args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, env=env, text=True)


def test_kill_9_mid_write_keeps_the_old_file_and_the_next_save_cleans_up(saved, tmp_path):
    path, xy = saved
    target_file = tmp_path / "run.npz"
    t = make()
    t.fit(*xy, *xy, epochs=1, batch_size=16)
    t.save_checkpoint(target_file)
    good = read_checkpoint(target_file)
    proc = _spawn(WRITER, str(target_file))
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    stale = sorted(p.name for p in tmp_path.glob(".tmp_*"))
    assert stale and stale[0].startswith(f".tmp_{_HOST}-{proc.pid}_")       # the killed write's temporary
    assert read_checkpoint(target_file).keys() == good.keys()              # the old file is intact
    # a live process's temporary is never touched; the dead one's goes at the next save in the folder
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".tmp_{_HOST}-{sleeper.pid}_abcdefgh.npz"
        live.write_bytes(b"in progress")
        t.save_checkpoint(tmp_path / "other.npz")
        assert sorted(p.name for p in tmp_path.glob(".tmp_*")) == [live.name]
    finally:
        sleeper.kill()
        sleeper.wait()
    assert clean_stale_temporaries(tmp_path) == [str(live)]


def test_kill_9_during_training_with_checkpoints_leaves_only_loadable_files(tmp_path):
    folder = tmp_path / "ck"
    proc = _spawn(TRAINER, str(folder), os.path.dirname(os.path.abspath(__file__)))
    assert proc.stdout.readline().strip() == "training"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(folder.glob("*.npz"))) < 3:
        time.sleep(0.05)
    time.sleep(0.137)                                  # somewhere inside a later epoch or its save
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    files = sorted(folder.glob("*.npz"))
    assert len(files) >= 3
    X, y = data(600)
    for f in files[-2:]:
        t = make(folder=tmp_path / "resumed")
        epoch = int(read_checkpoint(f)["epoch"])
        h = t.fit(X, y, X, y, epochs=epoch + 1, batch_size=8, seed=0, resume_from=f)
        assert len(h.epochs["epoch"]) == epoch + 1
    make(folder=folder).save_checkpoint(folder / "next.npz")     # the next save in the folder
    assert not list(folder.glob(".tmp_*"))


def test_a_version_1_file_with_positional_callback_states_still_resumes(saved, tmp_path):
    path, (X, y) = saved
    st = read_checkpoint(path)
    old = {"format": np.array("nn_scratch.checkpoint.v1")}
    for k, v in st.items():
        if k.startswith("callback/"):
            _, name, rest = k.split("/", 2)
            k = f"callback/{['UpdateRatio', 'EarlyStopping', 'WeightAverage'].index(name)}/{rest}"
        old.setdefault(k, v)
    save_npz(tmp_path / "v1.npz", old)
    full = make()
    h_full = full.fit(X, y, X, y, epochs=3, batch_size=16, seed=0)
    h = make(seed=3).fit(X, y, X, y, epochs=3, batch_size=16, seed=0, resume_from=tmp_path / "v1.npz")
    assert h.equals(h_full), h.differences(h_full)
