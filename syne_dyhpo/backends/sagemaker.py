"""A Syne Tune backend that runs every trial, and every resume of a paused
trial, as a SageMaker training job, through boto3 (``pip install 'syne-dyhpo[aws]'``).

The training script runs in the user's image under SageMaker's training
toolkit (the AWS framework images have it): the source folder is uploaded to
S3 once per tuning run, the trial's configuration arrives as ``--key value``
arguments, and ``--st_checkpoint_dir /opt/ml/checkpoints`` is synced with the
trial's S3 checkpoint folder, so a resumed trial continues from its checkpoint.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from syne_tune.backend.trial_backend import TrialBackend
from syne_tune.backend.trial_status import Status, TrialResult
from syne_tune.util import random_string

from syne_dyhpo.backends import _sagemaker_settings as settings
from syne_dyhpo.backends._sagemaker_clients import AwsClients
from syne_dyhpo.backends._sagemaker_job import TrainingJob
from syne_dyhpo.backends._sagemaker_naming import (
    TOKEN_LENGTH,
    job_name,
    job_name_prefix,
    s3_uri,
)
from syne_dyhpo.backends._sagemaker_request import JobTemplate, hyperparameters
from syne_dyhpo.backends._sagemaker_storage import copy_prefix, delete_prefix, upload_source

__all__ = ["SageMakerBackend"]

logger = logging.getLogger(__name__)

SOURCE_ARCHIVE = "sourcedir.tar.gz"


class SageMakerBackend(TrialBackend):
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
    role and image formats, the region, and that the bucket exists.

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
    """

    def __init__(
        self,
        entry_point: str,
        *,
        role: str,
        image_uri: str,
        instance_type: str = "ml.m5.large",
        instance_count: int = 1,
        source_dir: str | None = None,
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
    ):
        super().__init__(delete_checkpoints=delete_checkpoints, pass_args_as_json=False)
        self.source_dir = Path(source_dir or Path(entry_point).parent).resolve()
        self.set_entrypoint(entry_point)
        if not poll_interval >= 0:
            raise ValueError(f"poll_interval must be >= 0 seconds, got {poll_interval!r}")
        self.poll_interval = poll_interval
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
            instance_count=settings.check_positive_int("instance_count", instance_count),
            volume_size_gb=settings.check_positive_int("volume_size_gb", volume_size_gb),
            keep_alive_seconds=settings.check_keep_alive(keep_alive_seconds),
            max_run=settings.check_positive_int("max_run", max_run),
            environment=dict(environment or {}),
            extra_request=dict(extra_request or {}),
        )
        if bucket is None:
            bucket = settings.default_bucket(self.clients.client("sts"), self.clients.region_name)
        self.bucket = settings.check_bucket(self.clients.client("s3"), bucket)
        self.s3_prefix = s3_prefix.strip("/")
        self.tuner_name = random_string(length=10)
        self._token = secrets.token_hex(TOKEN_LENGTH // 2)
        self._source_uri: str | None = None  # uploaded on the first job of the run
        self._jobs: dict[int, list[TrainingJob]] = {}
        self._ended_by_scheduler: dict[int, str] = {}  # trial_id -> Status.paused / stopped
        self._polled_at = -float("inf")  # time.monotonic() of the last poll

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

    def entrypoint_path(self) -> Path:
        return self.entry_point

    def set_entrypoint(self, entry_point: str):
        path = Path(entry_point).resolve()
        if not path.is_file() or not path.is_relative_to(self.source_dir):
            raise ValueError(
                f"entry_point must be an existing file inside source_dir {self.source_dir}, "
                f"got {entry_point!r}"
            )
        self.entry_point = path

    # --- jobs -------------------------------------------------------------------------

    def _ensure_source(self) -> str:
        if self._source_uri is None:
            key = self._run_key("source", SOURCE_ARCHIVE)
            upload_source(self.clients.client("s3"), self.source_dir, self.bucket, key)
            self._source_uri = s3_uri(self.bucket, key)
        return self._source_uri

    def _schedule(self, trial_id: int, config: dict[str, Any]):
        values = hyperparameters(
            config,
            program=self.entry_point.relative_to(self.source_dir).as_posix(),
            submit_directory=self._ensure_source(),
            region_name=self.clients.region_name,
        )
        jobs = self._jobs.setdefault(trial_id, [])
        name = job_name(job_name_prefix(self.tuner_name, self._token), trial_id, len(jobs))
        jobs.append(TrainingJob(name, values))
        if len(jobs) > 1 and not jobs[-2].done:
            self._refresh(jobs[-2])
        if len(jobs) == 1 or jobs[-2].done:
            self._launch(trial_id, jobs[-1])
        else:
            logger.info("Trial %d: job %s waits for %s to end", trial_id, name, jobs[-2].name)

    def _launch(self, trial_id: int, job: TrainingJob):
        request = self.template.request(
            job.name,
            job.hyperparameters,
            checkpoint_uri=self.checkpoint_uri(trial_id),
            output_uri=s3_uri(self.bucket, self._run_key(str(trial_id), "output")),
        )
        try:
            self.clients.client("sagemaker").create_training_job(**request)
        except Exception:
            self._jobs[trial_id].remove(job)  # never retried behind the caller's back
            raise
        job.status = "InProgress"
        logger.info("Trial %d: created training job %s", trial_id, job.name)

    def _refresh(self, job: TrainingJob):
        """Status, then the new log lines (so an ended job's log is read in full);
        a failed call (after retries) keeps the previous state."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if not job.ended:
                job.update(
                    self.clients.client("sagemaker").describe_training_job(TrainingJobName=job.name)
                )
            job.read_log(self.clients.client("logs"))
        except (BotoCoreError, ClientError) as error:
            logger.warning("Could not poll training job %s, will retry: %s", job.name, error)

    def _poll(self):
        """Refresh the jobs not done and create the waiting ones whose predecessor
        is done; at most once per ``poll_interval``."""
        now = time.monotonic()
        if now - self._polled_at < self.poll_interval:
            return
        self._polled_at = now
        for trial_id, jobs in self._jobs.items():
            for index, job in enumerate(jobs):
                if not job.launched and (index == 0 or jobs[index - 1].done):
                    self._launch(trial_id, job)
                elif job.launched and not job.done:
                    self._refresh(job)

    # --- pause, resume, stop ------------------------------------------------------------

    def _end_job(self, trial_id: int, status: str):
        from botocore.exceptions import ClientError

        self._ended_by_scheduler[trial_id] = status
        jobs = self._jobs[trial_id]
        if not jobs[-1].launched:
            jobs.pop()  # a resume that never started
            return
        if jobs[-1].ended:
            return
        jobs[-1].stop_requested = True
        try:
            self.clients.client("sagemaker").stop_training_job(TrainingJobName=jobs[-1].name)
            logger.info("Trial %d: stopping training job %s", trial_id, jobs[-1].name)
        except ClientError as error:  # e.g. it ended meanwhile: the next poll tells
            logger.info("Could not stop training job %s: %s", jobs[-1].name, error)

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
        if not job.done:
            return Status.in_progress
        return Status.failed if job.failed else Status.completed

    def _all_trial_results(self, trial_ids: list[int]) -> list[TrialResult]:
        self._poll()
        trial_results = []
        for trial_id in trial_ids:
            if not self._jobs.get(trial_id):  # its job was never created
                continue
            status = self._trial_status(trial_id)
            jobs = self._jobs[trial_id]
            results = [result for job in jobs for result in job.results()]
            end_time = None if status == Status.in_progress else jobs[-1].ended_at
            trial_results.append(
                self._trial_dict[trial_id].add_results(
                    metrics=results, status=status, training_end_time=end_time
                )
            )
        return trial_results

    def busy_trial_ids(self) -> list[tuple[int, str]]:
        self._poll()
        busy = []
        for trial_id, jobs in self._jobs.items():
            if jobs and not jobs[-1].ended:
                ended_by_scheduler = trial_id in self._ended_by_scheduler
                busy.append(
                    (trial_id, Status.stopping if ended_by_scheduler else Status.in_progress)
                )
        return busy

    def stdout(self, trial_id: int) -> list[str]:
        return [line + "\n" for job in self._jobs.get(trial_id, []) for line in job.log.lines]

    def stderr(self, trial_id: int) -> list[str]:
        return []  # SageMaker writes stdout and stderr to the same log stream

    def __str__(self):
        return f"SageMaker entry_point {self.entry_point.name} on {self.template.instance_type}"
