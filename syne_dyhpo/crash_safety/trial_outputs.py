"""What a trial left in its folder of a LocalBackend run: its configuration,
the results its script printed, and processes still running it."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import psutil
from syne_tune.constants import ST_METRIC_TAG
from syne_tune.report import retrieve

logger = logging.getLogger(__name__)

KILL_WAIT_SECONDS = 10.0
_REPORT_TAG = f"[{ST_METRIC_TAG}]: "
_REPORT = re.compile(re.escape(_REPORT_TAG) + r"(\{.*\})")  # as in syne_tune.report.retrieve


def trial_ids_on_disk(backend_folder: Path) -> list[int]:
    """Ids of the trial folders (``0``, ``1``, ...) in ``backend_folder``, sorted."""
    return sorted(int(p.name) for p in backend_folder.iterdir() if p.is_dir() and p.name.isdigit())


def last_config(trial_folder: Path) -> dict[str, Any] | None:
    """The configuration of the trial's last run (``config.json``), or
    ``None`` if the trial never started (the tuner died while starting it)."""
    path = trial_folder / "config.json"
    return json.loads(path.read_text()) if path.is_file() else None


def complete_report_lines(lines: list[str]) -> list[str]:
    """``lines`` of a script's output with every report on a line of its own
    and reports that were cut off dropped.

    A run killed while printing a report (between ``print``'s writes of the
    text and of the newline, or within the text) leaves a partial line, and
    the next run of the trial appends its first report to it. Syne Tune's
    :func:`~syne_tune.report.retrieve` would fail on the glued line and stop
    the tuner; the cut-off report was never complete, so it is left out.
    """
    out = []
    for line in lines:
        for piece in _split_at_reports(line):
            match = _REPORT.search(piece)
            if match is not None and not _is_json(match.group(1)):
                logger.warning("Ignored a report cut off mid-write: %r", piece.strip())
                continue
            out.append(piece)
    return out


def _split_at_reports(line: str) -> list[str]:
    starts = [i for i in range(len(line)) if line.startswith(_REPORT_TAG, i)]
    if len(starts) <= 1:
        return [line]
    cuts = [0, *starts[1:], len(line)]
    return [line[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def reported_results(trial_folder: Path) -> list[dict[str, Any]]:
    """Every result the trial's script reported, over all its runs, in order."""
    path = trial_folder / "std.out"
    if not path.is_file():
        return []
    return retrieve(log_lines=complete_report_lines(path.read_text().splitlines()))


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
