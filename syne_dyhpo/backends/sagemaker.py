"""A Syne Tune backend that runs every trial, and every resume of a paused
trial, as a SageMaker training job, through boto3 (``pip install 'syne-dyhpo[aws]'``).

The training script runs in the user's image under SageMaker's training
toolkit (the AWS framework images have it): the source folder is uploaded to
S3 once per tuning run, the trial's configuration arrives as ``--key value``
arguments, and ``--st_checkpoint_dir /opt/ml/checkpoints`` is synced with the
trial's S3 checkpoint folder, so a resumed trial continues from its checkpoint.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from syne_tune.util import random_string

from syne_dyhpo.backends import _sagemaker_settings as settings
from syne_dyhpo.backends._job_backend import JobBackend, check_int
from syne_dyhpo.backends._sagemaker_clients import AwsClients
from syne_dyhpo.backends._sagemaker_job import TrainingJob
from syne_dyhpo.backends._sagemaker_naming import (
    TOKEN_LENGTH,
    job_name,
    job_name_prefix,
    s3_uri,
)
from syne_dyhpo.backends._sagemaker_request import CONFIG_FILE, JobTemplate, hyperparameters
from syne_dyhpo.backends._sagemaker_storage import copy_prefix, delete_prefix, upload_source

__all__ = ["SageMakerBackend"]

logger = logging.getLogger(__name__)

SOURCE_ARCHIVE = "sourcedir.tar.gz"


class SageMakerBackend(JobBackend[TrainingJob]):
    """Runs each trial, and each resume of a paused trial, as a SageMaker training job.

    Status comes from ``describe_training_job`` of the jobs not yet ended, at
    most once per ``poll_interval``; results are the ``[tune-metric]`` lines the
    script's ``Reporter`` wrote to CloudWatch Logs (stream ``<job>/algo-1-...``),
    joined over a trial's jobs in order. Pause and stop are ``stop_training_job``;
    a job in ``Stopping`` still counts as a busy worker (``busy_trial_ids``, used
    by ``Tuner(start_jobs_without_delay=False)``), and a resumed trial's new job
    is created only once its previous job has ended, so that its checkpoint is
    complete in S3. A job that fails, or that SageMaker stops on its own
    (``max_run``), fails its trial. API calls are retried with exponential
    backoff on throttling and transient errors (botocore's standard mode);
    a poll that still fails keeps the previous status.

    Settings are checked when the backend is built, before any job starts:
    role and image formats, the region, and that the bucket exists; a
    configuration that cannot be passed as hyperparameters is refused before
    the source is uploaded.

    :param entry_point: training script, a file inside ``source_dir``.
    :param role: ARN of the IAM role the jobs run under.
    :param image_uri: ECR training image with SageMaker's training toolkit and
        the script's dependencies (e.g. an AWS PyTorch training image).
    :param instance_type: e.g. ``"ml.m5.large"``, ``"ml.g5.xlarge"``.
    :param instance_count: instances per job; results are read from the first.
    :param source_dir: folder uploaded as the job's code; default: the entry
        point's folder.
    :param bucket: S3 bucket of sources, checkpoints and outputs; default:
        SageMaker's default bucket ``sagemaker-<region>-<account>``.
    :param s3_prefix: key prefix in ``bucket``; a tuning run writes below
        ``<s3_prefix>/<tuner name>/``.
    :param region_name: default: the region of the default boto3 session.
    :param profile_name: AWS profile; default: boto3's default credentials.
    :param endpoint_urls: service (``"sagemaker"``, ``"s3"``, ``"logs"``, ``"sts"``)
        -> endpoint URL, e.g. VPC interface endpoints.
    :param volume_size_gb: EBS volume of each instance.
    :param keep_alive_seconds: SageMaker warm pool: keep a job's instances this
        long (at most 3600 s) for the next job of the same settings, which then
        starts in seconds instead of minutes; 0: no warm pool.
    :param max_run: ``MaxRuntimeInSeconds`` of each job.
    :param environment: environment variables of the training container.
    :param extra_request: further ``create_training_job`` fields, e.g.
        ``{"VpcConfig": {...}, "Tags": [...]}``.
    :param poll_interval: least seconds between two status polls.
    :param max_attempts: attempts per AWS API call, retries included.
    :param delete_checkpoints: see Syne Tune's ``TrialBackend``.
    :param pass_args_as_json: the configuration goes to the script in a JSON
        file (``--st_config_json_filename``, in the input channel ``st_config``),
        not as hyperparameters.
    """

    def __init__(
        self,
        entry_point: str | Path,
        *,
        role: str,
        image_uri: str,
        instance_type: str = "ml.m5.large",
        instance_count: int = 1,
        source_dir: str | Path | None = None,
        bucket: str | None = None,
        s3_prefix: str = "syne-dyhpo",
        region_name: str | None = None,
        profile_name: str | None = None,
        endpoint_urls: Mapping[str, str] | None = None,
        volume_size_gb: int = 30,
        keep_alive_seconds: int = 0,
        max_run: int = 24 * 3600,
        environment: Mapping[str, str] | None = None,
        extra_request: Mapping[str, Any] | None = None,
        poll_interval: float = 5.0,
        max_attempts: int = 10,
        delete_checkpoints: bool = False,
        pass_args_as_json: bool = False,
    ):
        self.source_dir = Path(source_dir or Path(entry_point).parent).resolve()
        super().__init__(
            entry_point,
            poll_interval=poll_interval,
            delete_checkpoints=delete_checkpoints,
            pass_args_as_json=pass_args_as_json,
        )
        self.clients = AwsClients(
            region_name=region_name,
            endpoint_urls=endpoint_urls or {},
            profile_name=profile_name,
            max_attempts=max_attempts,
        )
        self.template = JobTemplate(
            role=settings.check_role(role),
            image_uri=settings.check_image(image_uri, self.clients.region_name),
            instance_type=settings.check_instance_type(instance_type),
            instance_count=check_int("instance_count", instance_count, 1),
            volume_size_gb=check_int("volume_size_gb", volume_size_gb, 1),
            keep_alive_seconds=check_int("keep_alive_seconds", keep_alive_seconds, 0, 3600),
            max_run=check_int("max_run", max_run, 1),
            environment=dict(environment or {}),
            extra_request=dict(extra_request or {}),
        )
        if bucket is None:
            bucket = settings.default_bucket(self.clients.client("sts"), self.clients.region_name)
        self.bucket = settings.check_bucket(self.clients.client("s3"), bucket)
        self.s3_prefix = s3_prefix.strip("/")
        self.tuner_name = random_string(length=10)
        self._token = secrets.token_hex(TOKEN_LENGTH // 2)
        self._source_uploaded = False  # on the first job of the run

    # --- paths and checkpoints ---------------------------------------------------------

    def set_path(self, results_root: str | None = None, tuner_name: str | None = None):
        """Only the tuner name is used: the run's S3 prefix and job names."""
        if tuner_name is not None:
            self.tuner_name = tuner_name

    def _run_key(self, *parts: str) -> str:
        return "/".join([part for part in (self.s3_prefix, self.tuner_name) if part] + list(parts))

    def checkpoint_uri(self, trial_id: int) -> str:
        return s3_uri(self.bucket, self._run_key(str(trial_id), "checkpoints"))

    def copy_checkpoint(self, src_trial_id: int, tgt_trial_id: int):
        s3 = self.clients.client("s3")
        source = self._run_key(str(src_trial_id), "checkpoints")
        copy_prefix(s3, self.bucket, source, self._run_key(str(tgt_trial_id), "checkpoints"))

    def delete_checkpoint(self, trial_id: int):
        delete_prefix(
            self.clients.client("s3"), self.bucket, self._run_key(str(trial_id), "checkpoints")
        )

    def set_entrypoint(self, entry_point: str | Path):
        path = Path(entry_point).resolve()
        if not path.is_file() or not path.is_relative_to(self.source_dir):
            raise ValueError(
                f"entry_point must be an existing file inside source_dir {self.source_dir}, "
                f"got {str(entry_point)!r}"
            )
        self.entry_point = path

    # --- jobs -------------------------------------------------------------------------

    def _new_job(self, trial_id: int, config: dict[str, Any], index: int) -> TrainingJob:
        """Checks the configuration, then uploads the source (once per run) and,
        with ``pass_args_as_json``, the configuration's JSON file."""
        source_key = self._run_key("source", SOURCE_ARCHIVE)
        values = hyperparameters(
            config,
            program=self.entry_point.relative_to(self.source_dir).as_posix(),
            submit_directory=s3_uri(self.bucket, source_key),
            region_name=self.clients.region_name,
            as_json=self.pass_args_as_json,
        )
        config_json = self._config_json(config) if self.pass_args_as_json else None
        name = job_name(job_name_prefix(self.tuner_name, self._token), trial_id, index)
        s3 = self.clients.client("s3")
        if not self._source_uploaded:
            upload_source(s3, self.source_dir, self.bucket, source_key)
            self._source_uploaded = True
        job = TrainingJob(name, values)
        if config_json is not None:
            config_key = self._run_key(str(trial_id), "config", str(index))
            s3.put_object(Bucket=self.bucket, Key=f"{config_key}/{CONFIG_FILE}", Body=config_json)
            job.config_uri = s3_uri(self.bucket, config_key)
        return job

    @staticmethod
    def _config_json(config: dict[str, Any]) -> bytes:
        def numpy_value(value: Any) -> Any:
            if isinstance(value, np.generic):
                return value.item()
            raise TypeError(f"{type(value).__name__} {value!r}")

        try:
            return json.dumps(config, default=numpy_value).encode()
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"configuration {config!r} cannot be written as JSON: {error}"
            ) from error

    def _launch(self, trial_id: int, job: TrainingJob) -> None:
        request = self.template.request(
            job.name,
            job.hyperparameters,
            checkpoint_uri=self.checkpoint_uri(trial_id),
            output_uri=s3_uri(self.bucket, self._run_key(str(trial_id), "output")),
            config_uri=job.config_uri,
        )
        self.clients.client("sagemaker").create_training_job(**request)
        job.status = "InProgress"
        logger.info("Trial %d: created training job %s", trial_id, job.name)

    def _may_launch(self, previous: TrainingJob) -> bool:
        return previous.ended  # its checkpoint is complete in S3, its log read

    def _cancel(self, trial_id: int, job: TrainingJob) -> None:
        from botocore.exceptions import ClientError

        try:
            self.clients.client("sagemaker").stop_training_job(TrainingJobName=job.name)
            logger.info("Trial %d: stopping training job %s", trial_id, job.name)
        except ClientError as error:  # e.g. it ended meanwhile: the next poll tells
            logger.info("Could not stop training job %s: %s", job.name, error)

    def _refresh(self, jobs: list[TrainingJob]) -> None:
        """Per job: status, then the new log lines (so an ended job's log is
        read in full); a failed call (after retries) keeps the previous state."""
        from botocore.exceptions import BotoCoreError, ClientError

        for job in jobs:
            try:
                if not job.terminal:
                    job.update(
                        self.clients.client("sagemaker").describe_training_job(
                            TrainingJobName=job.name
                        )
                    )
                job.read_log(self.clients.client("logs"))
            except (BotoCoreError, ClientError) as error:
                logger.warning("Could not poll training job %s, will retry: %s", job.name, error)

    def __str__(self):
        return f"SageMaker entry_point {self.entry_point.name} on {self.template.instance_type}"
