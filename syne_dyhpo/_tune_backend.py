"""Syne Tune's LocalBackend running an objective function through
:mod:`syne_dyhpo._tune_worker`, with one checkpoint folder per configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from syne_tune.backend import LocalBackend

from syne_dyhpo import _tune_worker


class ObjectiveBackend(LocalBackend):
    """Each trial is one configuration; each of its runs (start, resume) is a
    worker process told, through its config, which pickled objective to call.

    :param objective_file: written by :func:`~syne_dyhpo._tune_worker.save_objective`.
    :param checkpoint_root: checkpoint folder of trial ``i`` is ``checkpoint_root / str(i)``;
        it persists across pauses, so the objective resumes its own training.

    GPUs are rotated over trials only if there are several: Syne Tune's GPU
    detection warns on CPU machines and writes a file into the working folder.
    """

    def __init__(self, objective_file: Path, checkpoint_root: Path):
        super().__init__(
            entry_point=_tune_worker.__file__,
            pass_args_as_json=True,
            rotate_gpus=torch.cuda.device_count() > 1,
        )
        self.objective_file = objective_file
        self.checkpoint_root = checkpoint_root

    def checkpoint_trial_path(self, trial_id: int) -> Path:
        return self.checkpoint_root / str(trial_id)

    def _schedule(self, trial_id: int, config: dict[str, Any]):
        config = {**config, _tune_worker.OBJECTIVE_KEY: str(self.objective_file)}
        super()._schedule(trial_id=trial_id, config=config)
