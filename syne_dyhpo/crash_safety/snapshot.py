"""The tuner snapshot (``tuner.dill``) in a results folder: written atomically
with a checksum, read back with clear errors, checked to belong to the run in
its folder, and dated in tuning time.

Syne Tune's :meth:`~syne_tune.Tuner.save` writes ``tuner.dill`` in place, so a
process killed during a save leaves a truncated file. :class:`CrashSafeTuner`
writes a temporary file and renames it: the snapshot on disk is always a
complete one. Before the rename, ``tuner.dill.sha256`` is replaced by the
SHA-256 digests of the new and the current snapshot, so whichever of the two
is on disk when the process dies matches, and a snapshot damaged later matches
neither. The snapshot is a pickle: loading one runs code it names, so resume
only runs you trust.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import dill
from syne_tune import Tuner
from syne_tune.constants import (
    ST_METADATA_FILENAME,
    ST_TUNER_CREATION_TIMESTAMP,
    ST_TUNER_DILL_FILENAME,
    ST_TUNER_START_TIMESTAMP,
)

from syne_dyhpo import _syne_tune_internals as internals

logger = logging.getLogger(__name__)

CHECKSUM_SUFFIX = ".sha256"

ELAPSED_BEFORE_START = "dyhpo_elapsed_before_start"
"""Metadata key: tuning seconds spent before the current ``run()`` (by runs
that were interrupted and resumed)."""


class CrashSafeTuner(Tuner):
    """A :class:`~syne_tune.Tuner` whose snapshot survives being killed at any
    moment; same arguments. Resume its run with
    :func:`~syne_dyhpo.crash_safety.resume_tuner`."""

    def save(self, folder: str | None = None):
        save_atomically(self, Path(self.tuner_path if folder is None else folder))
        self.trial_backend.on_tuner_save()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_durably(path: Path, data: bytes) -> None:
    """``path`` holds ``data`` in full or keeps its previous content."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_atomically(tuner: Tuner, folder: Path) -> None:
    """Write ``folder/tuner.dill`` and its checksums so that both are complete
    and agree even if the process dies while writing."""
    path = folder / ST_TUNER_DILL_FILENAME
    checksums = path.with_name(path.name + CHECKSUM_SUFFIX)
    data = dill.dumps(tuner)
    digests = [_digest(data)] + ([_digest(path.read_bytes())] if path.is_file() else [])
    _write_durably(checksums, "\n".join(digests).encode() + b"\n")
    _write_durably(path, data)
    _write_durably(checksums, digests[0].encode() + b"\n")


def _check_digest(path: Path) -> None:
    checksums = path.with_name(path.name + CHECKSUM_SUFFIX)
    if not checksums.is_file():
        logger.warning("%s has no checksum (%s): it is loaded unverified", path, checksums.name)
        return
    if _digest(path.read_bytes()) not in checksums.read_text().split():
        raise ValueError(
            f"{path} is damaged: its SHA-256 digest is not the one recorded in "
            f"{checksums} when it was saved; it cannot be resumed"
        )


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
    _check_digest(path)
    try:
        with open(path, "rb") as f:
            tuner = dill.load(f)
    except (AttributeError, ImportError) as err:
        raise ValueError(
            f"{path} refers to code that is not installed ({err}); resume with the "
            "versions of syne-dyhpo and syne-tune that made the run"
        ) from err
    except Exception as err:  # a damaged pickle fails in any of the classes it rebuilds
        raise ValueError(
            f"{path} is truncated or corrupt ({type(err).__name__}: {err}); runs made with "
            "CrashSafeTuner always leave a complete snapshot"
        ) from err
    if not isinstance(tuner, Tuner):
        raise TypeError(f"{path} holds a {type(tuner).__name__}, expected a syne_tune Tuner")
    return tuner


def check_same_run(
    tuner: Tuner, results_folder: Path, configs: dict[int, dict[str, Any] | None]
) -> None:
    """Refuse a snapshot of another run than the one in ``results_folder``.

    :param configs: the ``config.json`` of each trial folder (``None``: none).
    """
    path = results_folder / ST_TUNER_DILL_FILENAME
    metadata_file = results_folder / ST_METADATA_FILENAME
    if metadata_file.is_file():
        created = json.loads(metadata_file.read_text()).get(ST_TUNER_CREATION_TIMESTAMP)
        saved = tuner.metadata.get(ST_TUNER_CREATION_TIMESTAMP)
        if created != saved:
            raise ValueError(
                f"{path} belongs to another run: its tuner was created at {saved}, the run "
                f"in {results_folder} at {created} ({ST_METADATA_FILENAME}); resume a run "
                "from the folder it was saved in"
            )
    records = internals.trial_records(tuner.trial_backend)
    for trial_id, config in configs.items():
        if config is None or trial_id not in records:
            continue
        if set(config) != set(records[trial_id].config):
            raise ValueError(
                f"{path} belongs to another run: trial {trial_id}'s config.json in "
                f"{results_folder} has the keys {sorted(config)}, the snapshot's trial "
                f"{trial_id} {sorted(records[trial_id].config)}"
            )


def snapshot_time(results_folder: Path) -> float:
    """Wall-clock time (``time.time()``) at which the snapshot was written."""
    return (results_folder / ST_TUNER_DILL_FILENAME).stat().st_mtime


def elapsed_at_save(tuner: Tuner, saved_at: float) -> float:
    """Tuning seconds spent when ``tuner`` was saved at wall-clock ``saved_at``,
    counting the runs before any resume."""
    started = tuner.metadata.get(ST_TUNER_START_TIMESTAMP, saved_at)
    return tuner.metadata.get(ELAPSED_BEFORE_START, 0.0) + max(0.0, saved_at - started)
