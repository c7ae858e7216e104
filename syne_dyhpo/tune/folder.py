"""The output folder of :func:`syne_dyhpo.tune`: a new or empty one, or, with
``resume=True``, that of an earlier run, whose journal brings recorder,
scheduler and backend to where that run left off."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from syne_tune.backend.trial_status import Status
from syne_tune.config_space import Domain
from syne_tune.util import experiment_path, name_from_base

from syne_dyhpo.tune.backend import EPOCH_KEY, WorkerPoolBackend
from syne_dyhpo.tune.recorder import RunRecorder
from syne_dyhpo.tune.records import JOURNAL_FILE, Journal, write_best
from syne_dyhpo.tune.scheduler import ObjectiveDyHPO, replay
from syne_dyhpo.tune.worker import EPOCH

logger = logging.getLogger(__name__)


def output_folder(output_path: str | Path | None, resume: bool) -> Path:
    """A new or empty folder, or with ``resume``, one of an earlier run
    (reused checkpoints would otherwise resume the wrong training)."""
    path = Path(output_path or experiment_path(name_from_base("dyhpo-tune"))).expanduser()
    path = path.resolve()
    if path.exists() and not path.is_dir():
        raise ValueError(f"output_path {str(path)!r} is a file; expected a folder")
    used = path.exists() and any(path.iterdir())
    if used and not resume:
        raise ValueError(
            f"output_path {str(path)!r} is not empty; pass resume=True to continue the run "
            "it holds, or choose a new or empty folder"
        )
    if used and not (path / JOURNAL_FILE).exists():
        raise ValueError(
            f"output_path {str(path)!r} holds no {JOURNAL_FILE}, so no run of tune() to "
            "resume; choose a new or empty folder"
        )
    return path


def earlier_run(folder: Path, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The journal events of the run in ``folder`` (none if there is none),
    checked against this run's ``settings``."""
    events = Journal(folder).read()
    if not events:
        return []
    earlier = events[0]
    changed = {k: (earlier.get(k), v) for k, v in settings.items() if earlier.get(k) != v}
    if changed:
        raise ValueError(
            f"resume=True continues the run in {folder}, which had different settings "
            f"(setting: (earlier, now)): {changed}; keep them or choose a new folder"
        )
    return events[1:]


def elapsed_seconds(events: list[dict[str, Any]]) -> float:
    """Tuning time of the earlier runs, up to their last reported epoch."""
    return max((e["row"]["elapsed_seconds"] for e in events if e["event"] == "result"), default=0)


def restore(
    events: list[dict[str, Any]],
    space: dict[str, Any],
    recorder: RunRecorder,
    scheduler: ObjectiveDyHPO,
    backend: WorkerPoolBackend,
) -> None:
    """Bring recorder, scheduler and backend to where the earlier runs left
    off, rewrite ``results.csv`` and ``best_configuration.json`` from the
    journal, and remove the checkpoints and outputs of configurations started
    after the journal's last line (the run gives their ids to new ones).
    Constants of the config ``space`` are taken from it, not from the journal."""
    constants = {k: v for k, v in space.items() if not isinstance(v, Domain)}
    last_epoch: dict[int, int] = {}
    for event in events:
        if event["event"] == "start":
            configuration = {**event["configuration"], **constants}
            recorder.add_configuration(event["configuration_id"], configuration)
        elif event["event"] == "result":
            row = event["row"]
            recorder.add_row(row)
            last_epoch[row["configuration_id"]] = row[EPOCH]
        elif event["event"] == "failure":
            recorder.add_failure(event["configuration_id"], event["message"])
    replay(scheduler, events)
    for configuration_id, configuration in recorder.configurations.items():
        status = Status.failed if configuration_id in recorder.failures else Status.paused
        epoch = last_epoch.get(configuration_id, 0)
        backend.restore(configuration_id, {**configuration, EPOCH_KEY: epoch}, epoch, status)
    for kind in ("checkpoints", "trials"):
        for child in (recorder.folder / kind).glob("*"):
            if child.name.isdigit() and int(child.name) >= len(recorder.configurations):
                shutil.rmtree(child)
    if not events:
        return
    recorder.table.rewrite(recorder.rows)
    if recorder.incumbent is not None:
        write_best(recorder.folder, recorder.best_record())
    logger.info(
        "Resuming %s: %d epochs of %d configurations (%d failed) done",
        recorder.folder,
        len(recorder.rows),
        len(recorder.configurations),
        len(recorder.failures),
    )
