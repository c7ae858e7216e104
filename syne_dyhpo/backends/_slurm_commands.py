"""``sbatch``, ``squeue`` and ``scancel``: run, parse, and explain their errors."""

from __future__ import annotations

import logging
import re
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

COMMAND_TIMEOUT = 60.0  # seconds; a controller that needs longer is treated as down
SUBMIT_RETRY_WAITS = (1.0, 2.0, 4.0)  # seconds between attempts on a transient sbatch error
TRANSIENT_SBATCH_ERRORS = re.compile(
    r"timed out|unable to contact|temporarily unavailable|zero bytes were transmitted|"
    r"slurm_persist_conn|communication connection failure",
    re.IGNORECASE,
)
# sbatch's words for a rejected option -> the SlurmBackend settings that produce it
SETTINGS_BY_ERROR = (
    # "Invalid account or account/partition combination specified"
    (re.compile(r"account", re.IGNORECASE), ("account", "partition")),
    (re.compile(r"partition", re.IGNORECASE), ("partition",)),
    (re.compile(r"--time|time limit", re.IGNORECASE), ("time_limit",)),
    (re.compile(r"--mem|memory", re.IGNORECASE), ("memory",)),
    (re.compile(r"gres|gpu", re.IGNORECASE), ("gpus_per_trial",)),
    (re.compile(r"cpus-per-task", re.IGNORECASE), ("cpus_per_trial",)),
    (
        re.compile(r"node configuration is not available", re.IGNORECASE),
        ("cpus_per_trial", "gpus_per_trial", "memory", "sbatch_lines"),
    ),
)
# squeue states of a job that has not ended yet (squeue --helpstate)
ACTIVE_STATES = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "RUNNING",
        "COMPLETING",
        "SUSPENDED",
        "REQUEUED",
        "REQUEUE_FED",
        "REQUEUE_HOLD",
        "RESIZING",
        "RESV_DEL_HOLD",
        "SIGNALING",
        "STAGE_OUT",
        "STOPPED",
    }
)


class SlurmSubmissionError(ValueError):
    """``sbatch`` rejected a job; the message names the backend settings involved."""


@dataclass(frozen=True)
class QueueEntry:
    """A job as ``squeue`` shows it: state (``RUNNING``, ``TIMEOUT``, ...) and reason."""

    state: str
    reason: str

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)


def _rejection_message(script: Path, error: str, settings: Mapping[str, Any]) -> str:
    named = next(
        (names for pattern, names in SETTINGS_BY_ERROR if pattern.search(error)),
        ("sbatch_lines", "setup_lines"),
    )
    values = ", ".join(f"{name}={settings.get(name)!r}" for name in named)
    return f"sbatch rejected the job script {script}: {error!r}. Check {values}."


def submit(script: Path, settings: Mapping[str, Any]) -> str:
    """Submit ``script`` with ``sbatch`` and return the job id.

    :param settings: backend settings by name, quoted in the error when sbatch
        rejects the job (``partition``, ``time_limit``, ...).
    :raises SlurmSubmissionError: sbatch rejected the job, or the controller
        stayed unreachable over all retries.
    """
    for wait in (*SUBMIT_RETRY_WAITS, None):
        try:
            done = _run(["sbatch", "--parsable", str(script)])
        except subprocess.TimeoutExpired:
            error = f"sbatch did not answer within {COMMAND_TIMEOUT:.0f} s"
        else:
            if done.returncode == 0:
                return done.stdout.strip().split(";")[0]
            error = " ".join(done.stderr.split()) or f"exit code {done.returncode}"
            if not TRANSIENT_SBATCH_ERRORS.search(error):
                raise SlurmSubmissionError(_rejection_message(script, error, settings))
        if wait is None:
            break
        logger.warning("sbatch failed (%s); retrying in %.0f s", error, wait)
        time.sleep(wait)
    raise SlurmSubmissionError(f"sbatch failed for {script} after retries: {error}")


def queue_snapshot(user: str) -> dict[str, QueueEntry] | None:
    """All jobs of ``user`` that ``squeue`` still knows, finished ones included,
    by job id; ``None`` (logged) if squeue failed."""
    try:
        done = _run(["squeue", "--noheader", "--states=all", f"--user={user}", "--format=%i|%T|%r"])
    except subprocess.TimeoutExpired:
        logger.warning("squeue did not answer within %.0f s", COMMAND_TIMEOUT)
        return None
    if done.returncode != 0:
        logger.warning("squeue failed: %s", done.stderr.strip())
        return None
    snapshot = {}
    for line in done.stdout.splitlines():
        job_id, state, reason = (line.split("|", 2) + ["", ""])[:3]
        snapshot[job_id.strip()] = QueueEntry(state.strip(), reason.strip())
    return snapshot


def cancel(job_id: str) -> None:
    """``scancel`` the job; a job that already ended is not an error (logged)."""
    try:
        done = _run(["scancel", job_id])
    except subprocess.TimeoutExpired:
        logger.warning("scancel %s did not answer within %.0f s", job_id, COMMAND_TIMEOUT)
        return
    if done.returncode != 0 or done.stderr.strip():
        logger.info("scancel %s: %s", job_id, done.stderr.strip())
