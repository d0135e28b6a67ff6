"""Saved files are written atomically: a failure midway leaves the old file and no temporary behind."""
import os
import stat

import numpy as np
import pytest

from nn_scratch.files import atomic_write, atomic_write_text, load_npz, save_npz


def test_failure_midway_keeps_the_old_file(tmp_path):
    path = tmp_path / "ckpt.txt"
    atomic_write_text(path, "old")
    with pytest.raises(RuntimeError):
        with atomic_write(path, binary=False) as f:
            f.write("half of the new")
            raise RuntimeError("crash while writing")
    assert path.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["ckpt.txt"]


def test_saved_files_are_not_private(tmp_path):
    mask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(os.stat(tmp_path / "a.txt").st_mode) == 0o644


def test_npz_round_trip_is_bit_exact_and_refuses_pickles(tmp_path):
    arrays = {"W": np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32), "t": np.array(7)}
    save_npz(tmp_path / "s.npz", arrays)
    back = load_npz(tmp_path / "s.npz")
    assert back.keys() == arrays.keys()
    assert back["W"].dtype == np.float32 and np.array_equal(back["W"], arrays["W"])
    np.savez(tmp_path / "obj.npz", o=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        load_npz(tmp_path / "obj.npz")
    with pytest.raises(ValueError, match=r"must end with \.npz"):
        save_npz(tmp_path / "s.bin", arrays)
