"""A training job's log in CloudWatch Logs, read incrementally."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
FIRST_HOST = "algo-1"  # rank 0 of the job: its stream holds the reported results


class JobLog:
    """The lines of the job's first host, stream ``<job name>/algo-1-<id>``.

    Every :meth:`read` appends the events written since the previous one, so
    the lines only ever grow at their end.
    """

    def __init__(self, job_name: str):
        self.job_name = job_name
        self.lines: list[str] = []
        self._stream: str | None = None
        self._token: str | None = None

    def _find_stream(self, logs: Any) -> str | None:
        try:
            response = logs.describe_log_streams(
                logGroupName=LOG_GROUP, logStreamNamePrefix=f"{self.job_name}/{FIRST_HOST}-"
            )
        except logs.exceptions.ResourceNotFoundException:  # no job has logged yet
            return None
        names = sorted(stream["logStreamName"] for stream in response["logStreams"])
        return names[0] if names else None

    def read(self, logs: Any) -> None:
        """Append the new events; nothing if the stream does not exist yet."""
        if self._stream is None:
            self._stream = self._find_stream(logs)
            if self._stream is None:
                return
        while True:
            request = {"logGroupName": LOG_GROUP, "logStreamName": self._stream}
            if self._token is None:
                request["startFromHead"] = True
            else:
                request["nextToken"] = self._token
            response = logs.get_log_events(**request)
            self.lines += [event["message"].rstrip("\n") for event in response["events"]]
            token, self._token = self._token, response["nextForwardToken"]
            if token == self._token:  # the same token again: the end of the stream
                return
