"""A small emulator of SageMaker's training runtime on top of moto's server.

moto records training jobs but never runs them (a job is ``Completed`` as soon
as it is created) and has no ``StopTrainingJob``. Installed into a moto server
running in this process, :class:`SageMakerRuntime` plays the container of every
created job, as SageMaker's training toolkit would:

- the job is ``InProgress`` from its creation;
- the source archive (``sagemaker_submit_directory``) is downloaded from moto's
  S3 and ``sagemaker_program`` runs as a local process, with the other
  hyperparameters as ``--key value`` and SageMaker's ``SM_*`` environment;
  container paths under ``/opt/ml`` are mapped to a folder of the job;
- the checkpoint folder (``CheckpointConfig.LocalPath``) is filled from its S3
  URI first and synced back while the script runs and after it ends; input
  channels (``S3Prefix``) are downloaded to ``/opt/ml/input/data/<channel>``;
- stdout and stderr go line by line to CloudWatch Logs, stream
  ``<job>/algo-1-<start time>`` of ``/aws/sagemaker/TrainingJobs``;
- ``StopTrainingJob`` moves the job to ``Stopping``, sends SIGTERM, and
  ``Stopped`` follows once the process ended (after ``stop_delay`` seconds);
  otherwise the exit code decides ``Completed`` or ``Failed``. Logs and
  checkpoints are complete before the job leaves ``InProgress``/``Stopping``.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
CONTAINER_ROOT = "/opt/ml"
SYNC_INTERVAL = 0.2  # seconds between checkpoint syncs while the script runs


@dataclass
class EmulatedJob:
    """What the runtime did for one job, for the tests to inspect."""

    name: str
    root: Path
    stop_requested: threading.Event = field(default_factory=threading.Event)
    lines: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    exit_code: int | None = None
    created_at: float = field(default_factory=time.monotonic)
    ended_at: float | None = None  # when its status left InProgress / Stopping
    thread: threading.Thread | None = None


def _split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


class SageMakerRuntime:
    """Runs the training jobs created on the moto server at ``endpoint_url``.

    :param workdir: folder of the jobs' local "containers".
    :param stop_delay: seconds a stopped job stays in ``Stopping`` after its
        process ended (real jobs take a minute or more).
    """

    def __init__(self, endpoint_url: str, region_name: str, workdir: Path, stop_delay: float = 0):
        self.endpoint_url = endpoint_url
        self.region_name = region_name
        self.workdir = workdir
        self.stop_delay = stop_delay
        self.jobs: dict[str, EmulatedJob] = {}
        self._fake_jobs: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._s3 = self._client("s3")
        self._logs = self._client("logs")
        self._logs.create_log_group(logGroupName=LOG_GROUP)

    def _client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region_name, endpoint_url=self.endpoint_url)

    # --- moto hooks ----------------------------------------------------------------------

    def install(self, monkeypatch) -> None:
        """Hook job creation and add ``StopTrainingJob`` to moto's SageMaker."""
        runtime = self
        create = SageMakerModelBackend.create_training_job

        def create_training_job(backend, *args, **kwargs):
            fake = create(backend, *args, **kwargs)
            fake.training_job_status, fake.secondary_status = "InProgress", "Starting"
            fake.training_end_time = None
            runtime._start(fake)
            return fake

        def stop_training_job(response):
            runtime._stop(response._get_param("TrainingJobName"))
            return ActionResult({})

        monkeypatch.setattr(SageMakerModelBackend, "create_training_job", create_training_job)
        monkeypatch.setattr(
            SageMakerResponse, "stop_training_job", stop_training_job, raising=False
        )

    def _start(self, fake: Any) -> None:
        job = EmulatedJob(fake.training_job_name, self.workdir / fake.training_job_name)
        with self._lock:
            self.jobs[job.name], self._fake_jobs[job.name] = job, fake
        job.thread = threading.Thread(target=self._run, args=(job,), daemon=True)
        job.thread.start()

    def _stop(self, name: str) -> None:
        with self._lock:
            fake = self._fake_jobs.get(name)
            if fake is None:
                raise ValidationError(message=f"Requested resource not found: {name}")
            if fake.training_job_status != "InProgress":
                raise ValidationError(
                    message=f"The request was rejected because the training job is in status "
                    f"{fake.training_job_status}."
                )
            fake.training_job_status, fake.secondary_status = "Stopping", "Stopping"
            self.jobs[name].stop_requested.set()

    def _finish(self, job: EmulatedJob, status: str, reason: str | None = None) -> None:
        with self._lock:
            fake = self._fake_jobs[job.name]
            fake.training_job_status = fake.secondary_status = status
            fake.training_end_time = fake.last_modified_time = utcnow()
            if reason is not None:
                fake.failure_reason = reason
        job.ended_at = time.monotonic()

    # --- the container -------------------------------------------------------------------

    def _local(self, job: EmulatedJob, container_path: str) -> str:
        """A container path under /opt/ml as a path in the job's folder."""
        if container_path.startswith(CONTAINER_ROOT):
            return str(job.root) + container_path
        return container_path

    def _run(self, job: EmulatedJob) -> None:
        try:
            sagemaker = self._client("sagemaker")
            description = sagemaker.describe_training_job(TrainingJobName=job.name)
            process, checkpoints = self._launch(job, description)
        except Exception as error:  # a container that cannot start fails its job
            self._finish(job, "Failed", f"ClientError: {error}")
            return
        pump = threading.Thread(target=self._pump, args=(job, process), daemon=True)
        pump.start()
        synced: dict[Path, tuple[int, int]] = {}
        while process.poll() is None:
            if job.stop_requested.is_set():
                os.killpg(process.pid, signal.SIGTERM)
                process.wait()
                time.sleep(self.stop_delay)
                break
            self._sync_checkpoints(checkpoints, synced)
            time.sleep(SYNC_INTERVAL)
        pump.join()
        job.exit_code = process.wait()
        self._sync_checkpoints(checkpoints, synced)
        if job.stop_requested.is_set():
            self._finish(job, "Stopped")
        elif job.exit_code == 0:
            self._finish(job, "Completed")
        else:
            self._finish(job, "Failed", f"AlgorithmError: ExitCode {job.exit_code}")

    def _launch(self, job: EmulatedJob, description: dict) -> tuple[subprocess.Popen, tuple]:
        values = description["HyperParameters"]
        code = Path(self._local(job, CONTAINER_ROOT + "/code"))
        code.mkdir(parents=True)
        bucket, key = _split_s3_uri(values["sagemaker_submit_directory"])
        archive = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            tar.extractall(code, filter="data")
        checkpoint = description.get("CheckpointConfig")
        checkpoints = ()
        if checkpoint is not None:
            local = Path(
                self._local(job, checkpoint.get("LocalPath", CONTAINER_ROOT + "/checkpoints"))
            )
            checkpoints = (local, *_split_s3_uri(checkpoint["S3Uri"]))
            self._download_prefix(*checkpoints)
        for channel in description.get("InputDataConfig", []):
            source = channel["DataSource"]["S3DataSource"]
            local = Path(self._local(job, f"{CONTAINER_ROOT}/input/data/{channel['ChannelName']}"))
            self._download_prefix(local, *_split_s3_uri(source["S3Uri"]))
        arguments = []
        for name, value in values.items():
            if not name.startswith("sagemaker_"):
                arguments += [f"--{name}", self._local(job, value)]
        job.command = [sys.executable, str(code / values["sagemaker_program"]), *arguments]
        self._logs.create_log_stream(
            logGroupName=LOG_GROUP, logStreamName=f"{job.name}/algo-1-{int(time.time())}"
        )
        self._fake_jobs[job.name].secondary_status = "Training"
        process = subprocess.Popen(
            job.command,
            cwd=code,
            env=self._environment(job, description),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # SIGTERM reaches the script's whole process group
        )
        return process, checkpoints

    def _environment(self, job: EmulatedJob, description: dict) -> dict[str, str]:
        values = description["HyperParameters"]
        user = {
            key: self._local(job, value)
            for key, value in description.get("Environment", {}).items()
        }
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "TRAINING_JOB_NAME": job.name,
            "SM_CURRENT_HOST": "algo-1",
            "SM_HOSTS": json.dumps(["algo-1"]),
            "SM_MODEL_DIR": self._local(job, CONTAINER_ROOT + "/model"),
            "SM_OUTPUT_DATA_DIR": self._local(job, CONTAINER_ROOT + "/output/data"),
            "SM_HPS": json.dumps(
                {k: v for k, v in values.items() if not k.startswith("sagemaker_")}
            ),
            "SM_USER_ENTRY_POINT": values["sagemaker_program"],
            **user,
        }

    def _pump(self, job: EmulatedJob, process: subprocess.Popen) -> None:
        """The script's output, line by line, to its log stream."""
        stream = next(
            s["logStreamName"]
            for s in self._logs.describe_log_streams(
                logGroupName=LOG_GROUP, logStreamNamePrefix=f"{job.name}/algo-1-"
            )["logStreams"]
        )
        for line in process.stdout:
            job.lines.append(line.rstrip("\n"))
            self._logs.put_log_events(
                logGroupName=LOG_GROUP,
                logStreamName=stream,
                logEvents=[{"timestamp": int(time.time() * 1000), "message": line.rstrip("\n")}],
            )

    def _download_prefix(self, local: Path, bucket: str, prefix: str) -> None:
        local.mkdir(parents=True, exist_ok=True)
        prefix = prefix.rstrip("/") + "/"
        listing = self._s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        for item in listing.get("Contents", []):
            target = local / item["Key"][len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            self._s3.download_file(bucket, item["Key"], str(target))

    def _sync_checkpoints(self, checkpoints: tuple, synced: dict[Path, tuple[int, int]]) -> None:
        """Upload new and changed files of the checkpoint folder."""
        if not checkpoints:
            return
        local, bucket, prefix = checkpoints
        for path in sorted(p for p in local.rglob("*") if p.is_file()):
            try:
                stat = path.stat()
                data = path.read_bytes()
            except FileNotFoundError:  # replaced meanwhile: the next sync takes the new one
                continue
            if synced.get(path) != (stat.st_mtime_ns, stat.st_size):
                key = prefix.rstrip("/") + "/" + path.relative_to(local).as_posix()
                self._s3.put_object(Bucket=bucket, Key=key, Body=data)
                synced[path] = (stat.st_mtime_ns, stat.st_size)

    def shutdown(self) -> None:
        """Stop every job still running and wait for all of them."""
        for name, job in list(self.jobs.items()):
            try:
                self._stop(name)
            except ValidationError:
                pass  # it has ended
            if job.thread is not None:
                job.thread.join(timeout=30)
