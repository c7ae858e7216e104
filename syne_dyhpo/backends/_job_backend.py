"""What the job-based backends share: a job per run of a trial (its start and
every resume), results joined over a trial's jobs exactly once, pause and stop
as ending the job, and a worker held until the job has ended."""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from syne_tune.backend.trial_backend import TrialBackend
from syne_tune.backend.trial_status import Status, TrialResult

logger = logging.getLogger(__name__)


class Job(Protocol):
    """One run of a trial on the engine, as :class:`JobBackend` sees it."""

    @property
    def launched(self) -> bool:
        """Handed to the engine (queued or running or ended)."""

    @property
    def ended(self) -> bool:
        """Seen to have ended, and its output read to the end."""

    @property
    def failed(self) -> bool:
        """Ended without success (meaningful once ``ended``)."""

    ended_at: datetime | None  # when the launcher first saw the job ended
    stop_requested: bool  # ended by a pause or stop decision

    def results(self) -> list[dict]:
        """Results reported so far, in order; the list only grows."""

    def stdout(self) -> list[str]: ...

    def stderr(self) -> list[str]: ...


JobT = TypeVar("JobT", bound=Job)


def check_int(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """``value`` if it is an integer (not a bool) in ``[minimum, maximum]``."""
    too_big = maximum is not None and isinstance(value, int) and value > maximum
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or too_big:
        bounds = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")
    return value


class JobBackend(TrialBackend, Generic[JobT]):
    """A :class:`~syne_tune.backend.trial_backend.TrialBackend` that runs each
    trial, and each resume of a paused trial, as a job of an engine.

    - A trial's results are the results of its jobs, job after job; the list
      only grows at its end, so the Tuner passes each result on once.
    - A trial's status is ``paused``/``stopped`` once the scheduler ended it,
      else its last job's: in progress until it ended, then completed or failed
      (a job the engine ended on its own fails its trial).
    - A job not yet ended holds a worker (``busy_trial_ids``): ``in_progress``
      while queued or running, ``stopping`` once a pause or stop ended it.
    - A resume's job is launched once :meth:`_may_launch` allows it given the
      trial's previous job; it never trains while the previous job still does.

    Engines implement :meth:`_new_job`, :meth:`_launch`, :meth:`_cancel`,
    :meth:`_refresh` and :meth:`_may_launch`; the status of all jobs is
    refreshed at most once per ``poll_interval`` seconds.

    :param entry_point: the training script, an existing file.
    :param poll_interval: least seconds between two refreshes.
    """

    def __init__(
        self,
        entry_point: str | Path,
        *,
        poll_interval: float,
        delete_checkpoints: bool,
        pass_args_as_json: bool,
    ):
        super().__init__(delete_checkpoints=delete_checkpoints, pass_args_as_json=pass_args_as_json)
        if not poll_interval >= 0:
            raise ValueError(f"poll_interval must be >= 0 seconds, got {poll_interval!r}")
        self.poll_interval = poll_interval
        self.set_entrypoint(entry_point)
        self._jobs: dict[int, list[JobT]] = {}
        self._results: dict[int, list[dict]] = {}  # trial_id -> results passed on, in order
        self._taken: dict[int, list[int]] = {}  # trial_id -> results taken from each job
        self._ended_by_scheduler: dict[int, str] = {}  # trial_id -> Status.paused / stopped
        self._polled_at = -float("inf")  # time.monotonic() of the last refresh

    # --- the engine -----------------------------------------------------------------------

    @abstractmethod
    def _new_job(self, trial_id: int, config: dict[str, Any], index: int) -> JobT:
        """The ``index``-th job (0, 1, ...) of the trial, prepared, not launched;
        raises on a configuration the engine cannot run."""

    @abstractmethod
    def _launch(self, trial_id: int, job: JobT) -> None:
        """Hand ``job`` to the engine; raises if the engine rejects it."""

    @abstractmethod
    def _cancel(self, trial_id: int, job: JobT) -> None:
        """Ask the engine to end the launched, not ended ``job``."""

    @abstractmethod
    def _refresh(self, jobs: list[JobT]) -> None:
        """Update the status and results of the launched, not ended ``jobs``; a
        failed call to the engine keeps their previous state."""

    @abstractmethod
    def _may_launch(self, previous: JobT) -> bool:
        """Whether a resume's job may be handed to the engine while the
        trial's previous job is in this state."""

    # --- paths --------------------------------------------------------------------------

    def entrypoint_path(self) -> Path:
        return self.entry_point

    def set_entrypoint(self, entry_point: str | Path):
        path = Path(entry_point).resolve()
        if not path.is_file():
            raise ValueError(f"entry_point must be an existing file, got {str(entry_point)!r}")
        self.entry_point = path

    # --- jobs ---------------------------------------------------------------------------

    def _schedule(self, trial_id: int, config: dict[str, Any]):
        jobs = self._jobs.get(trial_id, [])
        job_index = len(jobs)
        job = self._new_job(trial_id, config, job_index)
        self._jobs[trial_id] = jobs = [*jobs, job]
        previous = jobs[-2] if len(jobs) > 1 else None
        if previous is not None and not self._may_launch(previous):
            self._refresh([previous])
        if previous is None or self._may_launch(previous):
            self._launch_or_forget(trial_id, job)
        else:
            logger.info("Trial %d: job %d waits for the previous one to end", trial_id, job_index)

    def _launch_or_forget(self, trial_id: int, job: JobT) -> None:
        try:
            self._launch(trial_id, job)
        except Exception:
            self._jobs[trial_id].remove(job)  # never retried behind the caller's back
            raise

    def _poll(self) -> None:
        """Refresh the launched jobs not ended, then launch the waiting ones
        now allowed to; at most once per ``poll_interval``."""
        now = time.monotonic()
        if now - self._polled_at < self.poll_interval:
            return
        self._polled_at = now
        every_job = [job for jobs in self._jobs.values() for job in jobs]
        self._refresh([job for job in every_job if job.launched and not job.ended])
        for trial_id, jobs in list(self._jobs.items()):
            for previous, job in zip(jobs, jobs[1:], strict=False):
                if not job.launched and self._may_launch(previous):
                    self._launch_or_forget(trial_id, job)

    # --- pause, resume, stop ------------------------------------------------------------

    def _end_job(self, trial_id: int, status: str):
        self._ended_by_scheduler[trial_id] = status
        jobs = self._jobs[trial_id]
        if not jobs[-1].launched:
            jobs.pop()  # a resume that never started
            return
        if jobs[-1].ended:
            return
        jobs[-1].stop_requested = True
        self._cancel(trial_id, jobs[-1])

    def _pause_trial(self, trial_id: int, result: dict | None):
        self._end_job(trial_id, Status.paused)

    def _stop_trial(self, trial_id: int, result: dict | None):
        self._end_job(trial_id, Status.stopped)

    def _resume_trial(self, trial_id: int):
        self._ended_by_scheduler.pop(trial_id, None)

    # --- status and results ---------------------------------------------------------------

    def _trial_status(self, trial_id: int) -> str:
        if trial_id in self._ended_by_scheduler:
            return self._ended_by_scheduler[trial_id]
        job = self._jobs[trial_id][-1]
        if not job.ended:
            return Status.in_progress
        return Status.failed if job.failed else Status.completed

    def _all_trial_results(self, trial_ids: list[int]) -> list[TrialResult]:
        self._poll()
        trial_results = []
        for trial_id in trial_ids:
            jobs = self._jobs.get(trial_id)
            if not jobs:  # its first job was rejected
                continue
            status = self._trial_status(trial_id)
            results = self._joined_results(trial_id)
            end_time = None
            if status != Status.in_progress:
                end_time = jobs[-1].ended_at or datetime.now()
            trial_results.append(
                self._trial_dict[trial_id].add_results(
                    metrics=results, status=status, training_end_time=end_time
                )
            )
        return trial_results

    def _joined_results(self, trial_id: int) -> list[dict]:
        """All results of the trial, in the order they were read. The list only
        grows at its end (the Tuner passes on the results past the last count it
        saw), even if a job reports after its successor's first results."""
        results = self._results.setdefault(trial_id, [])
        taken = self._taken.setdefault(trial_id, [])
        for index, job in enumerate(self._jobs[trial_id]):
            if index == len(taken):
                taken.append(0)
            new = job.results()[taken[index] :]
            taken[index] += len(new)
            results.extend(new)
        return list(results)

    def busy_trial_ids(self) -> list[tuple[int, str]]:
        self._poll()
        busy = []
        for trial_id, jobs in self._jobs.items():
            if jobs and not jobs[-1].ended:
                stopping = trial_id in self._ended_by_scheduler
                busy.append((trial_id, Status.stopping if stopping else Status.in_progress))
        return busy

    def stdout(self, trial_id: int) -> list[str]:
        return [line for job in self._jobs.get(trial_id, []) for line in job.stdout()]

    def stderr(self, trial_id: int) -> list[str]:
        return [line for job in self._jobs.get(trial_id, []) for line in job.stderr()]
