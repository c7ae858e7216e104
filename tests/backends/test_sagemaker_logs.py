"""Reading a job's CloudWatch log incrementally, and joining the jobs of a trial."""

from __future__ import annotations

import json
import time

from syne_dyhpo.backends._sagemaker_job import TrainingJob
from syne_dyhpo.backends._sagemaker_logs import LOG_GROUP, JobLog
from tests.backends.sagemaker_aws import aws, moto_endpoint  # noqa: F401

TIME = int(time.time() * 1000)  # ms; CloudWatch rejects events older than 14 days


def metric_line(epoch: int) -> str:
    return "[tune-metric]: " + json.dumps({"epoch": epoch, "st_worker_timestamp": epoch})


def write(logs, stream: str, lines: list[str], start: int) -> None:
    events = [{"timestamp": TIME + start + i, "message": line} for i, line in enumerate(lines)]
    logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events)


def test_new_lines_are_appended_once_and_only_the_first_host_is_read(aws):  # noqa: F811
    logs = aws.client("logs")
    log = JobLog("run-0-0")
    log.read(logs)  # no stream yet
    assert log.lines == []
    for host in ("algo-2", "algo-1"):
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=f"run-0-0/{host}-1700")
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="run-0-01/algo-1-1700")
    write(logs, "run-0-0/algo-2-1700", [metric_line(9)], 0)
    write(logs, "run-0-01/algo-1-1700", [metric_line(8)], 0)
    log.read(logs)
    assert log.lines == []
    write(logs, "run-0-0/algo-1-1700", ["starting", metric_line(1)], 0)
    log.read(logs)
    log.read(logs)  # nothing new: nothing added
    write(logs, "run-0-0/algo-1-1700", [metric_line(2), "done"], 10)
    log.read(logs)
    assert log.lines == ["starting", metric_line(1), metric_line(2), "done"]


def test_a_trials_results_join_its_jobs_in_order(aws):  # noqa: F811
    logs = aws.client("logs")
    jobs = [TrainingJob(f"run-3-{index}", {}) for index in range(2)]
    for index, epochs in enumerate(([1, 2], [3])):
        stream = f"run-3-{index}/algo-1-1700"
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        write(logs, stream, [metric_line(epoch) for epoch in epochs], 100 * index)
    jobs[0].update({"TrainingJobStatus": "Stopped"})
    jobs[0].stop_requested = True
    for job in jobs:
        job.read_log(logs)
    assert jobs[0].ended and not jobs[0].failed and not jobs[1].ended
    results = [result["epoch"] for job in jobs for result in job.results()]
    assert results == [1, 2, 3]
    write(logs, "run-3-1/algo-1-1700", [metric_line(4)], 200)
    jobs[1].update({"TrainingJobStatus": "Completed"})
    jobs[1].read_log(logs)
    assert jobs[1].ended
    assert [result["epoch"] for job in jobs for result in job.results()] == [1, 2, 3, 4]


def test_a_job_stopped_by_sagemaker_itself_fails(aws):  # noqa: F811
    job = TrainingJob("run-4-0", {})
    job.update({"TrainingJobStatus": "Stopped"})
    assert job.failed
