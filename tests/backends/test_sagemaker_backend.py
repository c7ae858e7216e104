"""SageMakerBackend over real boto3 against moto's server and the runtime emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from syne_tune.backend.trial_status import Status

from syne_dyhpo.backends.sagemaker import SageMakerBackend
from tests.backends.backend_driver import Driver
from tests.backends.sagemaker_aws import BUCKET, REGION, Aws, aws, moto_endpoint  # noqa: F401

TRAINER = Path(__file__).resolve().parent / "sagemaker_counting_trainer.py"
POLL_TIMEOUT = 30.0  # seconds; a job of the counting trainer takes about one


@pytest.fixture
def backend(aws: Aws) -> SageMakerBackend:  # noqa: F811
    backend = aws.backend(TRAINER)
    backend.set_path(tuner_name="sagemaker-test")
    yield backend
    backend.stop_all()


def job_names(backend: SageMakerBackend, trial_id: int) -> list[str]:
    return [job.name for job in backend._jobs[trial_id]]


def s3_keys(aws: Aws, prefix: str) -> list[str]:  # noqa: F811
    listing = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_a_trial_runs_as_a_training_job_and_reports_through_cloudwatch(aws):  # noqa: F811
    backend = aws.backend(TRAINER, instance_type="ml.c5.xlarge", keep_alive_seconds=600)
    backend.set_path(tuner_name="sagemaker-test")
    trial = backend.start_trial({"epochs": 3, "sleep": 0.0})
    driver = Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.1)
    driver.wait(lambda s: s[trial.trial_id] == Status.completed, "trial 0 completes")
    assert driver.epochs == {0: [1, 2, 3]}
    (name,) = job_names(backend, 0)
    described = aws.client("sagemaker").describe_training_job(TrainingJobName=name)
    assert described["TrainingJobStatus"] == "Completed"
    values = described["HyperParameters"]
    assert values["epochs"] == "3" and values["st_checkpoint_dir"] == "/opt/ml/checkpoints"
    assert values["sagemaker_program"] == TRAINER.name
    assert described["CheckpointConfig"]["S3Uri"] == backend.checkpoint_uri(0)
    resources = described["ResourceConfig"]
    assert resources["InstanceType"] == "ml.c5.xlarge"
    assert resources["KeepAlivePeriodInSeconds"] == 600
    # the source was uploaded once, the checkpoint synced to S3
    assert s3_keys(aws, "syne-dyhpo/sagemaker-test/") == [
        "syne-dyhpo/sagemaker-test/0/checkpoints/epoch",
        "syne-dyhpo/sagemaker-test/source/sourcedir.tar.gz",
    ]
    assert any('"epoch": 3' in line for line in backend.stdout(0))


def test_pause_stops_the_job_and_resume_continues_from_the_s3_checkpoint(aws, backend):  # noqa: F811
    aws.runtime.stop_delay = 1.0  # a stopped job stays in Stopping for a second
    trial = backend.start_trial({"epochs": 50, "sleep": 0.3})
    driver = Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.1)
    driver.wait(lambda s: len(driver.epochs.get(0, [])) >= 2, "two epochs of trial 0")
    backend.pause_trial(trial.trial_id)
    first = job_names(backend, 0)[0]
    # Stopping: not a free worker, and a resume waits for the job to end
    assert backend.busy_trial_ids() == [(0, Status.stopping)]
    backend.resume_trial(0, new_config={"epochs": 4, "sleep": 0.0})
    assert len(backend._jobs[0]) == 2 and not backend._jobs[0][1].launched
    statuses = driver.wait(lambda s: s[0] == Status.completed, "resumed trial 0 completes")
    assert statuses == {0: Status.completed}
    assert driver.epochs[0] == list(range(1, 5)), "every epoch exactly once, in order"
    described = aws.client("sagemaker").describe_training_job(TrainingJobName=first)
    assert described["TrainingJobStatus"] == "Stopped"
    second = aws.runtime.jobs[job_names(backend, 0)[1]]
    assert second.lines[0].startswith("[tune-metric]") and '"epoch": ' in second.lines[0]
    assert backend.busy_trial_ids() == []


def test_a_failing_script_fails_its_trial_and_keeps_its_results(aws, backend):  # noqa: F811
    backend.start_trial({"epochs": 2, "exit_code": 3})
    driver = Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.1)
    driver.wait(lambda s: s[0] == Status.failed, "trial 0 fails")
    assert driver.epochs == {0: [1, 2]}
    (name,) = job_names(backend, 0)
    described = aws.client("sagemaker").describe_training_job(TrainingJobName=name)
    assert described["FailureReason"] == "AlgorithmError: ExitCode 3"


def test_stop_all_stops_running_jobs_and_checkpoints_copy_between_trials(aws, backend):  # noqa: F811
    backend.start_trial({"epochs": 2})
    driver = Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.1)
    driver.wait(lambda s: s[0] == Status.completed, "trial 0 completes")
    trial = backend.start_trial({"epochs": 3}, checkpoint_trial_id=0)
    driver.wait(lambda s: s[1] == Status.completed, "trial 1 completes")
    assert driver.epochs[1] == [3], "trial 1 started from trial 0's checkpoint"
    backend.start_trial({"epochs": 100, "sleep": 0.2})
    driver.wait(lambda s: 2 in driver.epochs, "trial 2 reports")
    backend.stop_all()
    job = backend._jobs[2][-1]
    driver.wait(lambda s: job.ended, "trial 2's job ends")
    assert job.status == "Stopped" and driver.poll()[2] == Status.stopped
    backend.delete_checkpoint(trial.trial_id)
    assert s3_keys(aws, "syne-dyhpo/sagemaker-test/1/") == []


def test_job_names_are_valid_and_unique_per_trial_and_resume(aws, backend):  # noqa: F811
    backend.set_path(tuner_name="a_very/long tuner name " * 5)
    for _ in range(2):
        backend.start_trial({"epochs": 1})
    names = [job.name for jobs in backend._jobs.values() for job in jobs]
    assert len(set(names)) == 2 and all(len(name) <= 63 for name in names)
    other = aws.backend(TRAINER)
    other.set_path(tuner_name=backend.tuner_name)
    other.start_trial({"epochs": 1})
    assert other._jobs[0][0].name not in names, "a second run of the same tuner name"


def test_bad_settings_fail_before_any_job_starts(aws):  # noqa: F811
    cases = {
        "role must be the ARN": {"role": None},
        "image_uri must be an ECR image URI": {"image_uri": "pytorch:latest"},
        "is not a SageMaker region": {"region_name": "mars-north-1"},
        "S3 bucket 'missing-bucket' does not exist": {"bucket": "missing-bucket"},
        "instance_type must be": {"instance_type": "m5.large"},
        "instance_count must be an integer >= 1": {"instance_count": 0},
        "max_run must be an integer >= 1": {"max_run": 1.5},
        "max_attempts must be an integer >= 1": {"max_attempts": 0},
        "extra_request must not set": {"extra_request": {"RoleArn": "x"}},
        r"keep_alive_seconds must be an integer in \[0, 3600\]": {"keep_alive_seconds": 7200},
        "endpoint_urls keys must be among": {"endpoint_urls": {"sagemker": "http://x"}},
        "entry_point must be an existing file": {"source_dir": str(TRAINER.parents[1] / "e2e")},
    }
    for message, override in cases.items():
        with pytest.raises(ValueError, match=message):
            aws.backend(TRAINER, **override)
    listing = aws.client("sagemaker").list_training_jobs()
    assert listing["TrainingJobSummaries"] == []


def test_default_bucket_is_sagemakers_and_config_values_must_be_elementary(aws):  # noqa: F811
    with pytest.raises(ValueError, match=f"'sagemaker-{REGION}-123456789012' does not exist"):
        aws.backend(TRAINER, bucket=None)
    backend = aws.backend(TRAINER)
    with pytest.raises(ValueError, match=r"config\['layers'\].*strings or numbers, got list"):
        backend.start_trial({"layers": [1, 2]})
    with pytest.raises(ValueError, match="config key 'sagemaker_program' is reserved"):
        backend.start_trial({"sagemaker_program": "other.py"})
    with pytest.raises(ValueError, match="hyperparameter 'text': SageMaker takes .* at most 2500"):
        backend.start_trial({"text": "x" * 2501})
    assert s3_keys(aws, "syne-dyhpo/") == [], "refused before the source upload"
    assert aws.client("sagemaker").list_training_jobs()["TrainingJobSummaries"] == []


def test_pass_args_as_json_sends_the_configuration_as_a_file(aws):  # noqa: F811
    backend = aws.backend(TRAINER, pass_args_as_json=True)
    backend.set_path(tuner_name="sagemaker-json")
    config = {"epochs": 2, "layers": [1, 2], "sleep": 0.0}
    backend.start_trial(config)
    driver = Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.1)
    driver.wait(lambda s: s[0] == Status.completed, "trial 0 completes")
    assert driver.epochs == {0: [1, 2]}  # the script read --epochs from the JSON file
    (name,) = job_names(backend, 0)
    values = aws.client("sagemaker").describe_training_job(TrainingJobName=name)["HyperParameters"]
    assert "epochs" not in values
    path = aws.runtime.jobs[name].root / values["st_config_json_filename"].lstrip("/")
    assert json.loads(path.read_text()) == config
    with pytest.raises(ValueError, match="cannot be written as JSON"):
        backend.start_trial({"epochs": object()})
