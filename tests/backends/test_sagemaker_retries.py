"""Throttling and transient errors: retried with backoff, never fatal to a poll;
credentials never logged."""

from __future__ import annotations

import logging

import dill
import pytest
from botocore.awsrequest import AWSResponse
from syne_tune.backend.trial_status import Status

from tests.backends.backend_driver import Driver
from tests.backends.sagemaker_aws import BUCKET, SECRET, aws, moto_endpoint  # noqa: F401
from tests.backends.test_sagemaker_backend import POLL_TIMEOUT, TRAINER

THROTTLED = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'


class Throttle:
    """A botocore ``before-send`` hook answering the first ``times`` calls of an
    operation with HTTP 400 ThrottlingException (as AWS does); later calls go
    through to moto."""

    def __init__(self, client, operation: str, times: int):
        self.times, self.calls = times, 0
        client.meta.events.register(
            f"before-send.{client.meta.service_model.service_name}.{operation}", self
        )

    def __call__(self, request, **kwargs):
        self.calls += 1
        if self.calls <= self.times:
            return AWSResponse(request.url, 400, {"x-amzn-requestid": "throttled"}, _Raw(THROTTLED))
        return None


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


def test_throttled_calls_are_retried_until_they_succeed(aws):  # noqa: F811
    backend = aws.backend(TRAINER, max_attempts=4)
    create = Throttle(backend.clients.client("sagemaker"), "CreateTrainingJob", times=2)
    describe = Throttle(backend.clients.client("sagemaker"), "DescribeTrainingJob", times=1)
    backend.start_trial({"epochs": 2})
    assert create.calls == 3
    Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.1).wait(
        lambda s: s[0] == Status.completed, "trial 0 completes"
    )
    assert describe.calls >= 2


def test_a_poll_failing_after_all_retries_keeps_the_status_and_warns(aws, caplog):  # noqa: F811
    backend = aws.backend(TRAINER, max_attempts=1)
    backend.start_trial({"epochs": 2, "sleep": 0.5})
    Throttle(backend.clients.client("sagemaker"), "DescribeTrainingJob", times=1)
    with caplog.at_level(logging.WARNING):
        assert Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.1).poll() == {
            0: Status.in_progress
        }
    assert "Could not poll training job" in caplog.text and "ThrottlingException" in caplog.text
    Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.1).wait(
        lambda s: s[0] == Status.completed, "trial 0 completes"
    )


def test_after_all_retries_a_create_error_names_the_aws_error(aws):  # noqa: F811
    backend = aws.backend(TRAINER, max_attempts=2)
    Throttle(backend.clients.client("sagemaker"), "CreateTrainingJob", times=2)
    with pytest.raises(Exception, match="ThrottlingException"):
        backend.start_trial({"epochs": 1})
    backend.stop_all()  # as the Tuner does on its way out: no job is created behind its back
    assert backend.busy_trial_ids() == []
    assert aws.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []


def test_credentials_are_never_logged(aws, caplog):  # noqa: F811
    with caplog.at_level(logging.DEBUG):
        backend = aws.backend(TRAINER)
        backend.start_trial({"epochs": 1})
        Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.1).wait(
            lambda s: s[0] == Status.completed, "trial 0 completes"
        )
        backend.stop_all()
    assert caplog.records and SECRET not in caplog.text
    saved = dill.dumps(backend)  # the Tuner saves itself with dill
    assert SECRET.encode() not in saved
    restored = dill.loads(saved)  # and its clients come back on first use
    assert restored.clients.client("s3").head_bucket(Bucket=BUCKET)
