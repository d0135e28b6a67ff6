"""Checkpoints: the whole training state in one ``.npz``, written atomically and read with ``allow_pickle=False``.

One home for both writers -- ``Trainer.save_checkpoint`` and the ``callbacks.Checkpoint`` callback -- and for
the one reader, ``Trainer.fit(resume_from=path)`` / ``Trainer.load_checkpoint``.

A file holds flat keys (``np.savez`` needs a flat dict of arrays):

* ``format`` (``CHECKPOINT_FORMAT``), ``epoch``, ``step``, ``rng`` (the trainer's generator state, JSON),
  ``history`` (``History.to_json()``);
* ``model/<name>`` -- the model's ``state_dict()``; ``model_rng/<path>`` -- its layers' generators (JSON);
* ``optim/<name>`` -- the optimizer's ``state_dict()``;
* ``callback/<i>/<name>`` -- the state of each callback or monitor that has ``state_dict``.
"""
from __future__ import annotations

import json
import os

import numpy as np

from .files import load_npz, save_npz
from .history import History

__all__ = ["CHECKPOINT_FORMAT", "trainer_state", "restore_trainer", "save_checkpoint", "load_checkpoint"]

CHECKPOINT_FORMAT = "nn_scratch.checkpoint.v1"


def trainer_state(trainer) -> dict:
    """Everything a resumed ``fit`` needs, as a flat dict of arrays (for ``np.savez``)."""
    st = {"format": np.array(CHECKPOINT_FORMAT), "epoch": np.int64(trainer.epoch), "step": np.int64(trainer.step),
          "rng": np.array(json.dumps(trainer.rng.bit_generator.state)),
          "history": np.array(trainer.history.to_json())}
    st.update({f"model/{k}": v for k, v in trainer.model.state_dict().items()})
    if hasattr(trainer.optimizer, "state_dict"):
        st.update({f"optim/{k}": np.asarray(v) for k, v in trainer.optimizer.state_dict().items()})
    for path, g in trainer.model.named_generators():
        st[f"model_rng/{path}"] = np.array(json.dumps(g.bit_generator.state))
    for i, cb in enumerate(trainer._hooked):
        if hasattr(cb, "state_dict"):
            st.update({f"callback/{i}/{k}": np.asarray(v) for k, v in cb.state_dict().items()})
    return st


def restore_trainer(trainer, st: dict) -> None:
    """Restore model, optimizer, random generators, counters, History and callback states from ``st``."""
    fmt = str(st.get("format", ""))
    if fmt != CHECKPOINT_FORMAT:
        raise ValueError(f"Trainer: not an nn_scratch checkpoint (format {fmt!r}, expected {CHECKPOINT_FORMAT!r})")

    def part(prefix):
        return {k[len(prefix):]: (v.item() if np.ndim(v) == 0 else v) for k, v in st.items()
                if k.startswith(prefix)}

    trainer.model.load_state_dict({k: np.asarray(v) for k, v in part("model/").items()})
    if hasattr(trainer.optimizer, "load_state_dict"):
        trainer.optimizer.load_state_dict(part("optim/"))
    gens = dict(trainer.model.named_generators())
    for path, s in part("model_rng/").items():
        if path in gens:
            gens[path].bit_generator.state = json.loads(s)
    trainer.rng.bit_generator.state = json.loads(str(st["rng"]))
    trainer.epoch, trainer.step = int(st["epoch"]), int(st["step"])
    trainer.history = History.from_json(str(st["history"]))
    for i, cb in enumerate(trainer._hooked):
        if hasattr(cb, "load_state_dict"):
            cb.load_state_dict(part(f"callback/{i}/"))


def save_checkpoint(trainer, path) -> str:
    """Write ``trainer_state(trainer)`` to ``path`` (.npz) through a temporary file and ``os.replace``."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"save_checkpoint: 'path' must end with .npz, got {path!r}")
    save_npz(path, trainer_state(trainer))
    return path


def load_checkpoint(trainer, path) -> None:
    """Load a file written by ``save_checkpoint`` into ``trainer``."""
    restore_trainer(trainer, load_npz(path))
