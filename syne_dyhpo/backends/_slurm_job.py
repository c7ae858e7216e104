"""One SLURM job of a trial: its status and the results it printed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from syne_tune.backend.trial_status import Status
from syne_tune.report import retrieve

from syne_dyhpo.backends._slurm_commands import QueueEntry
from syne_dyhpo.backends._slurm_job_script import JobFiles

logger = logging.getLogger(__name__)


def _read_lines(path: Path) -> list[str]:
    try:
        with open(path) as file:
            return file.readlines()
    except FileNotFoundError:  # the job has not started yet
        return []


@dataclass
class SlurmJob:
    """A job of a trial, its script written; ``job_id`` is set once it is
    submitted. Times are ``time.monotonic()`` seconds of the launcher.

    :param last_seen_at: when ``squeue`` last showed the job as not ended (or
        its submission); a job that vanished without an exit record is judged
        from here.
    """

    files: JobFiles
    job_id: str | None = None
    submitted_at: float = 0.0
    last_seen_at: float = 0.0
    ended_at: datetime | None = None  # when the launcher first saw the job ended
    stop_requested: bool = False  # by the launcher: a pause or stop
    _final_status: str | None = field(default=None, repr=False)
    _final_results: list[dict] | None = field(default=None, repr=False)

    def submitted(self, job_id: str, at: float) -> None:
        self.job_id, self.submitted_at, self.last_seen_at = job_id, at, at

    @property
    def launched(self) -> bool:
        return self.job_id is not None

    @property
    def ended(self) -> bool:
        """Seen to have ended (its output is then read in full, once)."""
        return self._final_status is not None

    @property
    def failed(self) -> bool:
        return self._final_status == Status.failed

    def exit_code(self) -> int | None:
        """The training command's exit code as the job script recorded it."""
        try:
            return int(self.files.exit_record.read_text().strip())
        except (FileNotFoundError, ValueError):  # not written (yet), or being written
            return None

    def status(
        self, entry: QueueEntry | None, *, snapshot_at: float, now: float, grace: float
    ) -> str:
        """``Status.in_progress``, ``completed`` or ``failed``; once the job is seen
        to have ended, its status and results are final (its output is complete
        then).

        :param entry: the job in the latest ``squeue`` snapshot (``None``: absent).
        :param snapshot_at: when that snapshot was taken.
        :param grace: seconds a job may be missing from ``squeue`` without an exit
            record (shared filesystems show files late) before it counts as failed.
        """
        if self._final_status is None:
            status = self._current_status(entry, snapshot_at=snapshot_at, now=now, grace=grace)
            if status != Status.in_progress:
                self._final_status, self.ended_at = status, datetime.now()
                self._final_results = retrieve(log_lines=_read_lines(self.files.stdout))
            return status
        return self._final_status

    def _current_status(
        self, entry: QueueEntry | None, *, snapshot_at: float, now: float, grace: float
    ) -> str:
        code = self.exit_code()
        if code is not None:
            return Status.completed if code == 0 else Status.failed
        if self.submitted_at >= snapshot_at:  # too new for the snapshot
            return Status.in_progress
        if entry is not None and entry.active:
            self.last_seen_at = snapshot_at
            return Status.in_progress
        if entry is not None and entry.state == "COMPLETED":
            return Status.completed  # the script exits with the training's exit code
        if entry is not None:
            how = f"ended as {entry.state} ({entry.reason})"
        elif now - self.last_seen_at > grace:
            how = f"left the queue {now - self.last_seen_at:.0f} s ago"
        else:
            return Status.in_progress
        log = logger.info if self.stop_requested else logger.warning
        log("SLURM job %s %s without an exit record: counted as failed", self.job_id, how)
        return Status.failed

    def results(self) -> list[dict]:
        """Results printed so far (Syne Tune's ``[tune-metric]`` lines); until the
        job is seen to have ended, complete lines only: a line being written is
        read at the next poll."""
        if self._final_results is not None:
            return self._final_results
        lines = _read_lines(self.files.stdout)
        if lines and not lines[-1].endswith("\n"):
            lines = lines[:-1]
        return retrieve(log_lines=lines)

    def stdout(self) -> list[str]:
        return _read_lines(self.files.stdout)

    def stderr(self) -> list[str]:
        return _read_lines(self.files.stderr)
