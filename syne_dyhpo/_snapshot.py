"""The tuner snapshot (``tuner.dill``) in a results folder: written atomically,
read back with clear errors, and dated in tuning time.

Syne Tune's :meth:`~syne_tune.Tuner.save` writes ``tuner.dill`` in place, so a
process killed during a save leaves a truncated file. :class:`CrashSafeTuner`
writes a temporary file and renames it: the snapshot on disk is always a
complete one.
"""

from __future__ import annotations

import os
from pathlib import Path

import dill
from syne_tune import Tuner
from syne_tune.constants import ST_TUNER_DILL_FILENAME, ST_TUNER_START_TIMESTAMP

ELAPSED_BEFORE_START = "dyhpo_elapsed_before_start"
"""Metadata key: tuning seconds spent before the current ``run()`` (by runs
that were interrupted and resumed)."""


class CrashSafeTuner(Tuner):
    """A :class:`~syne_tune.Tuner` whose snapshot survives being killed at any
    moment; same arguments. Resume its run with
    :func:`~syne_dyhpo.resume.resume_tuner`."""

    def save(self, folder: str | None = None):
        save_atomically(self, Path(self.tuner_path if folder is None else folder))
        self.trial_backend.on_tuner_save()


def save_atomically(tuner: Tuner, folder: Path) -> None:
    """Write ``folder/tuner.dill`` so that it is complete even if the process
    dies while writing."""
    path = folder / ST_TUNER_DILL_FILENAME
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        dill.dump(tuner, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_snapshot(results_folder: Path) -> Tuner:
    """The tuner saved in ``results_folder``."""
    if not results_folder.is_dir():
        raise FileNotFoundError(f"results folder {results_folder} does not exist")
    path = results_folder / ST_TUNER_DILL_FILENAME
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: the run was interrupted before its first save "
            "(the tuner saves every results_update_interval seconds once results arrive) "
            "or save_tuner=False; it cannot be resumed"
        )
    try:
        with open(path, "rb") as f:
            tuner = dill.load(f)
    except (EOFError, dill.UnpicklingError) as err:
        raise ValueError(
            f"{path} is truncated or corrupt ({err}); runs made with CrashSafeTuner "
            "always leave a complete snapshot"
        ) from err
    except (AttributeError, ImportError) as err:
        raise ValueError(
            f"{path} refers to code that is not installed ({err}); resume with the "
            "versions of syne-dyhpo and syne-tune that made the run"
        ) from err
    if not isinstance(tuner, Tuner):
        raise TypeError(f"{path} holds a {type(tuner).__name__}, expected a syne_tune Tuner")
    return tuner


def snapshot_time(results_folder: Path) -> float:
    """Wall-clock time (``time.time()``) at which the snapshot was written."""
    return (results_folder / ST_TUNER_DILL_FILENAME).stat().st_mtime


def elapsed_at_save(tuner: Tuner, saved_at: float) -> float:
    """Tuning seconds spent when ``tuner`` was saved at wall-clock ``saved_at``,
    counting the runs before any resume."""
    started = tuner.metadata.get(ST_TUNER_START_TIMESTAMP, saved_at)
    return tuner.metadata.get(ELAPSED_BEFORE_START, 0.0) + max(0.0, saved_at - started)
