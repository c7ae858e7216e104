"""What a trial left in its folder of a LocalBackend run: its configuration,
the results its script printed, and processes still running it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import psutil
from syne_tune.report import retrieve

logger = logging.getLogger(__name__)

KILL_WAIT_SECONDS = 10.0


def trial_ids_on_disk(backend_folder: Path) -> list[int]:
    """Ids of the trial folders (``0``, ``1``, ...) in ``backend_folder``, sorted."""
    return sorted(int(p.name) for p in backend_folder.iterdir() if p.is_dir() and p.name.isdigit())


def last_config(trial_folder: Path) -> dict[str, Any] | None:
    """The configuration of the trial's last run (``config.json``), or
    ``None`` if the trial never started (the tuner died while starting it)."""
    path = trial_folder / "config.json"
    return json.loads(path.read_text()) if path.is_file() else None


def reported_results(trial_folder: Path) -> list[dict[str, Any]]:
    """Every result the trial's script reported, over all its runs, in order."""
    path = trial_folder / "std.out"
    if not path.is_file():
        return []
    return retrieve(log_lines=path.read_text().splitlines())


def kill_leftover_runs(checkpoint_folder: Path) -> int:
    """Kill the processes (and their children) still training the trial whose
    checkpoints go to ``checkpoint_folder``, e.g. after the tuner was killed.

    :return: how many processes were killed.
    """
    target = str(checkpoint_folder)
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if target in (process.info["cmdline"] or []):
            try:
                found += [process, *process.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
    for process in found:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(found, timeout=KILL_WAIT_SECONDS)
    if alive:
        raise RuntimeError(f"processes {[p.pid for p in alive]} training {target} survived SIGKILL")
    if found:
        logger.info("Killed %d leftover process(es) training %s", len(found), target)
    return len(found)
