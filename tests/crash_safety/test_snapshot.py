"""The tuner snapshot: checksummed, refused when damaged or when it belongs to another run."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest
from syne_tune import StoppingCriterion
from syne_tune.backend import LocalBackend
from syne_tune.config_space import uniform

from syne_dyhpo import DyHPO
from syne_dyhpo.crash_safety import CrashSafeTuner, resume_tuner
from syne_dyhpo.crash_safety import snapshot as snapshot_module
from syne_dyhpo.crash_safety.snapshot import load_snapshot, save_atomically


def saved_run(folder: Path, space: dict) -> CrashSafeTuner:
    """A tuner of a DyHPO run saved in ``folder`` with its ``metadata.json``, as
    Syne Tune leaves them once the run started."""
    folder.mkdir()
    trainer = folder / "trainer.py"
    trainer.write_text("")
    tuner = CrashSafeTuner(
        trial_backend=LocalBackend(entry_point=str(trainer)),
        scheduler=DyHPO(space, metric="loss", max_resource_attr="epochs", random_seed=0),
        stop_criterion=StoppingCriterion(max_wallclock_time=1),
        n_workers=1,
        tuner_name=folder.name,
        suffix_tuner_name=False,
    )
    save_atomically(tuner, folder)
    (folder / "metadata.json").write_text(json.dumps(tuner.metadata))
    return tuner


def flip_bytes(data: bytes, rng: random.Random, count: int) -> bytes:
    damaged = bytearray(data)
    for position in rng.sample(range(len(damaged)), count):
        damaged[position] ^= 1 << rng.randrange(8)
    return bytes(damaged)


def test_a_damaged_snapshot_is_refused_with_the_file_named(tmp_path):
    folder = tmp_path / "run"
    saved_run(folder, {"x": uniform(0.0, 1.0), "epochs": 4})
    path = folder / "tuner.dill"
    intact = path.read_bytes()
    rng = random.Random(0)
    for _ in range(20):
        path.write_bytes(flip_bytes(intact, rng, count=3))
        with pytest.raises(ValueError, match=f"{path} is damaged"):
            load_snapshot(folder)
    path.write_bytes(intact)
    assert isinstance(load_snapshot(folder), CrashSafeTuner)


def test_a_save_cut_off_before_its_rename_leaves_a_snapshot_that_loads(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    tuner = saved_run(folder, {"x": uniform(0.0, 1.0), "epochs": 4})
    before = (folder / "tuner.dill").read_bytes()
    replace = os.replace

    def killed_before_the_snapshot_is_renamed(source, target):
        if Path(target).name == "tuner.dill":
            raise KeyboardInterrupt
        replace(source, target)

    tuner.metadata["more"] = 1
    monkeypatch.setattr(snapshot_module.os, "replace", killed_before_the_snapshot_is_renamed)
    with pytest.raises(KeyboardInterrupt):
        save_atomically(tuner, folder)
    monkeypatch.undo()
    assert len((folder / "tuner.dill.sha256").read_text().split()) == 2  # new and current
    assert (folder / "tuner.dill").read_bytes() == before
    assert "more" not in load_snapshot(folder).metadata
    save_atomically(tuner, folder)
    assert load_snapshot(folder).metadata["more"] == 1
    assert len((folder / "tuner.dill.sha256").read_text().split()) == 1


def test_another_runs_snapshot_is_refused_saying_why(tmp_path):
    space = {"x": uniform(0.0, 1.0), "epochs": 4}
    saved_run(tmp_path / "a", space)
    saved_run(tmp_path / "b", space)
    for name in ("tuner.dill", "tuner.dill.sha256"):
        shutil.copy(tmp_path / "a" / name, tmp_path / "b" / name)
    with pytest.raises(ValueError, match="belongs to another run: its tuner was created"):
        resume_tuner(tmp_path / "b")


def test_trial_folders_of_another_run_are_refused_saying_why(tmp_path):
    folder = tmp_path / "run"
    saved_run(folder, {"x": uniform(0.0, 1.0), "epochs": 4})
    (folder / "metadata.json").unlink()  # no creation time to compare
    trial = folder / "0"
    trial.mkdir()
    (trial / "config.json").write_text(json.dumps({"y": 0.5, "epochs": 1}))
    with pytest.raises(ValueError, match="trial 0's config.json .* belong to different runs"):
        resume_tuner(folder)
