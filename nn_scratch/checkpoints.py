"""Checkpoints: the whole training state in one ``.npz``, written atomically, read all-or-nothing.

One home for both writers -- ``Trainer.save_checkpoint`` and the ``callbacks.Checkpoint`` callback -- and for
the one reader, ``Trainer.fit(resume_from=path)`` / ``Trainer.load_checkpoint``.

A file holds flat keys (``np.savez`` needs a flat dict of arrays):

* ``format`` (``CHECKPOINT_FORMAT``), ``epoch``, ``step``, ``rng`` (the trainer's generator state, JSON),
  ``history`` (``History.to_json()``);
* ``model/<name>`` -- the model's ``state_dict()``; ``model_rng/<path>`` -- its layers' generators (JSON);
* ``optim/<name>`` -- the optimizer's ``state_dict()``;
* ``callback/<name>/<key>`` -- the state of each callback or monitor that has ``state_dict``, under a
  stable name: its ``state_name`` attribute if it has one, else its class name, with ``#2``, ``#3`` for a
  second and third of the same name.  Adding, removing or reordering other callbacks does not move it.

Reading is all-or-nothing.  ``load_checkpoint`` first reads every array (a truncated, empty or byte-flipped
file fails here, with an error naming the file), then checks everything against the trainer -- keys,
shapes, dtypes, finiteness of the weights and the optimizer state, the JSON of the History and of the
random states, each callback's state (``check_state_dict``) -- and only then changes the model, the
optimizer, the generators, the counters, the History and the callbacks.  Any problem raises
``CheckpointError`` (a ``ValueError``) and leaves the trainer as it was.  Pickled objects are never loaded.
"""
from __future__ import annotations

import json
import os

import numpy as np

from .files import save_npz
from .history import History

__all__ = ["CHECKPOINT_FORMAT", "CheckpointError", "trainer_state", "restore_trainer", "save_checkpoint",
           "load_checkpoint", "read_checkpoint", "callback_names"]

CHECKPOINT_FORMAT = "nn_scratch.checkpoint.v2"
_OLD_FORMAT = "nn_scratch.checkpoint.v1"     # callback states by position; still read


class CheckpointError(ValueError):
    """A checkpoint cannot be used (unreadable, or not matching this trainer); nothing was changed."""


# -- names ---------------------------------------------------------------------------------------------------
def callback_names(objs) -> list:
    """``[(stable_name, obj)]`` for the objects with ``state_dict``, in order (see the module docstring)."""
    out, seen = [], {}
    for obj in objs:
        if not hasattr(obj, "state_dict"):
            continue
        base = str(getattr(obj, "state_name", None) or type(obj).__name__)
        seen[base] = seen.get(base, 0) + 1
        out.append((base if seen[base] == 1 else f"{base}#{seen[base]}", obj))
    return out


# -- writing -------------------------------------------------------------------------------------------------
def trainer_state(trainer) -> dict:
    """Everything a resumed ``fit`` needs, as a flat dict of arrays (for ``np.savez``)."""
    st = {"format": np.array(CHECKPOINT_FORMAT), "epoch": np.int64(trainer.epoch), "step": np.int64(trainer.step),
          "rng": np.array(json.dumps(trainer.rng.bit_generator.state)),
          "history": np.array(trainer.history.to_json())}
    st.update({f"model/{k}": v for k, v in trainer.model.state_dict().items()})
    if hasattr(trainer.optimizer, "state_dict"):
        st.update({f"optim/{k}": np.asarray(v) for k, v in trainer.optimizer.state_dict().items()})
    for path, g in _generators(trainer.model):
        st[f"model_rng/{path}"] = np.array(json.dumps(g.bit_generator.state))
    for name, cb in callback_names(trainer._hooked):
        st.update({f"callback/{name}/{k}": np.asarray(v) for k, v in cb.state_dict().items()})
    return st


def save_checkpoint(trainer, path) -> str:
    """Write ``trainer_state(trainer)`` to ``path`` (.npz) through a temporary file and ``os.replace``."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"save_checkpoint: 'path' must end with .npz, got {path!r}")
    save_npz(path, trainer_state(trainer))
    return path


# -- reading -------------------------------------------------------------------------------------------------
def read_checkpoint(path) -> dict:
    """Every array of the file, read in full (so a damaged member fails here), as a dict.

    Raises ``FileNotFoundError`` for a missing file and ``CheckpointError`` naming the file for an empty,
    truncated or corrupted one.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint file {path!r} does not exist")
    size = os.path.getsize(path)
    if size == 0:
        raise CheckpointError(f"checkpoint file {path!r} is empty (0 bytes): it was never completely written. "
                              "Use another checkpoint")
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files"):
                raise CheckpointError("it holds a single array, not an archive")
            return {k: np.array(f[k]) for k in f.files}
    except Exception as err:            # noqa: BLE001 -- a damaged file can fail in many ways
        reason = str(err)
        if "pickle" in reason or "Object arrays" in reason:
            reason = "it is not a NumPy .npz archive of plain arrays (or its start is damaged)"
        else:
            reason = f"{type(err).__name__}: {reason}" if reason else type(err).__name__
        raise CheckpointError(f"checkpoint file {path!r} ({size} bytes) cannot be read: it is truncated or "
                              f"corrupted ({reason}). Use another checkpoint") from None


def load_checkpoint(trainer, path, expect_meta=None) -> None:
    """Read ``path`` and restore ``trainer`` from it, all-or-nothing (see the module docstring).

    ``expect_meta``: History meta values the checkpoint must have been made with (``fit`` passes n_train,
    batch_size and drop_last, so a resume with other data is refused before anything changes).
    """
    path = os.fspath(path)
    restore_trainer(trainer, read_checkpoint(path), expect_meta=expect_meta, source=f"checkpoint file {path!r}")


def restore_trainer(trainer, st: dict, expect_meta=None, source="checkpoint") -> None:
    """Check ``st`` (a ``trainer_state`` dict) against ``trainer`` completely, then restore it."""
    plan = _validate(trainer, st, expect_meta, source)
    _apply(trainer, plan)


# -- the checks ----------------------------------------------------------------------------------------------
def _generators(model):
    named = getattr(model, "named_generators", None)
    return named() if callable(named) else []


def _part(st, prefix):
    return {k[len(prefix):]: (v.item() if np.ndim(v) == 0 else v) for k, v in st.items() if k.startswith(prefix)}


def _text(st, key, fail):
    if key not in st:
        fail(f"the entry '{key}' is missing")
    v = st[key]
    if np.ndim(v) != 0 or v.dtype.kind != "U":
        fail(f"'{key}' must be a text entry, got dtype {v.dtype} shape {np.shape(v)}")
    return str(v)


def _json(st, key, fail):
    try:
        return json.loads(_text(st, key, fail))
    except json.JSONDecodeError as err:
        fail(f"'{key}' is not valid JSON ({err})")


def _count(st, key, fail):
    if key not in st:
        fail(f"the entry '{key}' is missing")
    v = st[key]
    if np.ndim(v) != 0 or v.dtype.kind not in "iu" or int(v) < 0:
        fail(f"'{key}' must be an integer >= 0, got {v!r}")
    return int(v)


def _generator_state(bit_generator, state, what, fail):
    """Try ``state`` on a fresh bit generator of the same kind; return it if it is accepted."""
    if not isinstance(state, dict):
        fail(f"{what} must be a generator state (a JSON object), got {type(state).__name__}")
    try:
        type(bit_generator)().state = state
    except Exception as err:              # noqa: BLE001 -- numpy raises TypeError/ValueError/KeyError
        fail(f"{what} is not a valid {type(bit_generator).__name__} state ({type(err).__name__}: {err})")
    return state


def check_arrays(saved: dict, expected: dict, what: str, fail, finite=True, finite_skip=()):
    """``saved`` must have exactly the keys of ``expected``, the same shapes, numeric dtypes (floating where
    expected is floating) and, if ``finite``, no NaN/inf (keys in ``finite_skip`` excepted)."""
    missing, unexpected = sorted(set(expected) - set(saved)), sorted(set(saved) - set(expected))
    if missing or unexpected:
        fail(f"the {what} does not match: missing keys {missing[:6]}{' ...' if len(missing) > 6 else ''}, "
             f"unexpected keys {unexpected[:6]}{' ...' if len(unexpected) > 6 else ''}")
    for key, ref in expected.items():
        v, ref = np.asarray(saved[key]), np.asarray(ref)
        if v.shape != ref.shape:
            fail(f"{what} '{key}' has shape {v.shape}, expected {ref.shape}")
        if v.dtype.kind not in "biuf" or (ref.dtype.kind == "f" and v.dtype.kind != "f"):
            fail(f"{what} '{key}' has dtype {v.dtype}, expected {ref.dtype}")
        if finite and key not in finite_skip and v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            fail(f"{what} '{key}' contains NaN or inf")


def _validate(trainer, st, expect_meta, source):
    def fail(msg):
        raise CheckpointError(f"{source}: {msg}; nothing was loaded")

    if not isinstance(st, dict):
        fail(f"expected a dict of arrays, got {type(st).__name__}")
    st = {k: np.asarray(v) for k, v in st.items()}
    fmt = _text(st, "format", lambda m: fail("not an nn_scratch checkpoint (" + m + ")"))
    if fmt not in (CHECKPOINT_FORMAT, _OLD_FORMAT):
        fail(f"not an nn_scratch checkpoint (format {fmt!r}, expected {CHECKPOINT_FORMAT!r})")
    plan = {"epoch": _count(st, "epoch", fail), "step": _count(st, "step", fail)}
    plan["rng"] = _generator_state(trainer.rng.bit_generator, _json(st, "rng", fail), "'rng'", fail)
    history = _json(st, "history", fail)
    try:
        plan["history"] = History.from_dict(history)
    except ValueError as err:
        fail(f"'history' is malformed ({err})")
    meta = plan["history"].meta
    for key, want in (expect_meta or {}).items():
        got = meta.get(key, False if key == "drop_last" else None)
        if got != want:
            fail(f"it was made with {key}={got!r}, this fit has {key}={want!r}; resume with the same data, "
                 "batch size and drop_last")
    # the model
    model_state = _part(st, "model/")
    check_arrays(model_state, trainer.model.state_dict(), "model state", fail)
    plan["model"] = {k: np.asarray(v) for k, v in model_state.items()}
    # the optimizer
    plan["optim"] = None
    if hasattr(trainer.optimizer, "state_dict") and hasattr(trainer.optimizer, "load_state_dict"):
        saved = _part(st, "optim/")
        expected = trainer.optimizer.state_dict()
        check_arrays(saved, expected, "optimizer state", fail, finite_skip=("lr.best",))
        plan["optim"] = saved
    # the layers' generators
    gens = dict(_generators(trainer.model))
    saved_gens = _part(st, "model_rng/")
    if set(saved_gens) != set(gens):
        fail(f"the model's random generators do not match: saved {sorted(saved_gens)}, model has {sorted(gens)}")
    plan["gens"] = {}
    for path, text in saved_gens.items():
        try:
            state = json.loads(text) if isinstance(text, str) else None
        except json.JSONDecodeError:
            state = None
        plan["gens"][path] = _generator_state(gens[path].bit_generator, state, f"generator 'model_rng/{path}'", fail)
    # the callbacks, by stable name (v1 files: by position)
    names = callback_names(trainer._hooked)
    if fmt == _OLD_FORMAT:
        saved_cbs = {i: _part(st, f"callback/{i}/") for i in range(len(trainer._hooked))}
        ours = [(i, cb) for i, cb in enumerate(trainer._hooked) if hasattr(cb, "state_dict")]
        plan["callbacks"] = [(f"callback {i} ({type(cb).__name__})", cb, saved_cbs[i]) for i, cb in ours]
    else:
        in_file = sorted({k.split("/")[1] for k in st if k.startswith("callback/") and k.count("/") >= 2})
        have = [n for n, _ in names]
        missing, extra = [n for n in have if n not in in_file], [n for n in in_file if n not in have]
        if missing or extra:
            fail(f"the callbacks do not match: the file holds states for {in_file}, this trainer has {have} "
                 f"(no state in the file for {missing}; not in this trainer: {extra}). Resume with the "
                 "callbacks the run was saved with (give a callback a 'state_name' to tell two apart)")
        plan["callbacks"] = [(f"callback '{n}'", cb, _part(st, f"callback/{n}/")) for n, cb in names]
    for label, cb, state in plan["callbacks"]:
        check = getattr(cb, "check_state_dict", None)
        if check is not None:
            try:
                check(state, trainer)
            except (ValueError, TypeError, KeyError) as err:
                fail(f"the state of {label} is not valid ({err})")
    return plan


def _apply(trainer, plan):
    trainer.model.load_state_dict(plan["model"])
    if plan["optim"] is not None:
        trainer.optimizer.load_state_dict(plan["optim"])
    gens = dict(_generators(trainer.model))
    for path, state in plan["gens"].items():
        gens[path].bit_generator.state = state
    trainer.rng.bit_generator.state = plan["rng"]
    trainer.epoch, trainer.step = plan["epoch"], plan["step"]
    trainer.history = plan["history"]
    for _, cb, state in plan["callbacks"]:
        if hasattr(cb, "load_state_dict"):
            cb.load_state_dict(state)
