"""One training job of a trial: its SageMaker status and the results it logged."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syne_tune.report import retrieve

from syne_dyhpo.backends._sagemaker_logs import JobLog

logger = logging.getLogger(__name__)

PENDING = "Pending"  # not created yet: it waits for the trial's previous job to end
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})


@dataclass
class TrainingJob:
    """A job of a trial, created (``launched``) once the previous job of the
    trial has ended and its log has been read to the end, so that a trial's
    results are the concatenation of its jobs' results, in order."""

    name: str
    hyperparameters: dict[str, str]
    status: str = PENDING  # SageMaker's TrainingJobStatus once launched
    failure_reason: str | None = None
    ended_at: datetime | None = None  # when the launcher first saw the job ended
    log_complete: bool = False  # the log was read after the job ended
    stop_requested: bool = False  # by a pause or stop decision
    config_uri: str | None = None  # S3 prefix of the configuration's JSON file, if passed so
    log: JobLog = field(init=False, repr=False)

    def __post_init__(self):
        self.log = JobLog(self.name)

    @property
    def launched(self) -> bool:
        return self.status != PENDING

    @property
    def terminal(self) -> bool:
        """SageMaker reports the job ended."""
        return self.status in TERMINAL

    @property
    def ended(self) -> bool:
        """Ended, and every line it logged has been read."""
        return self.terminal and self.log_complete

    @property
    def failed(self) -> bool:
        """Ended without success and not because the scheduler ended it."""
        return self.status == "Failed" or (self.status == "Stopped" and not self.stop_requested)

    def update(self, description: dict[str, Any]) -> None:
        """Take the status from a ``describe_training_job`` response."""
        self.status = description["TrainingJobStatus"]
        self.failure_reason = description.get("FailureReason")
        if self.terminal and self.ended_at is None:
            self.ended_at = datetime.now()
            if self.failed:
                logger.warning(
                    "Training job %s ended as %s (%s): its trial failed",
                    self.name,
                    self.status,
                    self.failure_reason or "stopped by SageMaker, e.g. at max_run",
                )
            else:
                logger.info("Training job %s ended: %s", self.name, self.status)

    def read_log(self, logs: Any) -> None:
        """Read the new log lines; the read after the job ended is its last."""
        terminal = self.terminal  # before reading: the log is complete once the job ended
        self.log.read(logs)
        self.log_complete = terminal

    def results(self) -> list[dict]:
        """Results reported so far (Syne Tune's ``[tune-metric]`` lines)."""
        return retrieve(log_lines=self.log.lines)

    def stdout(self) -> list[str]:
        return [line + "\n" for line in self.log.lines]

    def stderr(self) -> list[str]:
        return []  # SageMaker writes stdout and stderr to the same log stream
