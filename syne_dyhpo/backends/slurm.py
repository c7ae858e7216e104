"""A Syne Tune backend that runs every trial, and every resume of a paused
trial, as a SLURM batch job.

The launcher runs on a login node; trial folders (job scripts, outputs, exit
records, checkpoints) must lie on a filesystem shared with the compute nodes:
the Tuner's folder (``SYNETUNE_FOLDER``, ``~/syne-tune`` by default) or
``Tuner(trial_backend_path=...)``.
"""

from __future__ import annotations

import getpass
import logging
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from syne_tune.backend.trial_backend import TrialBackend
from syne_tune.backend.trial_status import Status, TrialResult
from syne_tune.constants import ST_CHECKPOINT_DIR, ST_CONFIG_JSON_FNAME_ARG
from syne_tune.util import dump_json_with_numpy, experiment_path, random_string

from syne_dyhpo.backends import _slurm_commands
from syne_dyhpo.backends._slurm_commands import QueueEntry, SlurmSubmissionError
from syne_dyhpo.backends._slurm_job import SlurmJob
from syne_dyhpo.backends._slurm_job_script import JobFiles, job_script, training_command

__all__ = ["SlurmBackend", "SlurmSubmissionError"]

logger = logging.getLogger(__name__)


def _positive_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _sbatch_option(line: str) -> str:
    """``"--qos=short"`` or ``"#SBATCH --qos=short"`` -> ``"--qos=short"``."""
    option = line.strip().removeprefix("#SBATCH").strip()
    if not option.startswith("-"):
        raise ValueError(
            f"sbatch_lines entries must be sbatch options such as '--qos=short', got {line!r}"
        )
    return option


class SlurmBackend(TrialBackend):
    """Runs each trial, and each resume of a paused trial, as a SLURM batch job.

    Status comes from one ``squeue`` call per poll (at most one per
    ``poll_interval``) plus the exit code every job script records, since
    finished jobs leave ``squeue`` when the cluster has no accounting database.
    Results are the ``[tune-metric]`` lines of the jobs' outputs, each passed on
    once, a trial's jobs' results in the order the launcher reads them. Pause
    and stop are ``scancel``; a queued job counts as a busy worker; the job of a
    resume trains only once the trial's previous job has ended. A job the
    cluster ends (time limit, node failure, preemption, out of memory) marks its
    trial failed: the scheduler hears ``on_trial_error`` and the run goes on
    (set the Tuner's ``max_failures`` high enough). A job ended by a pause or
    stop decision is never reported as failed.

    :param entry_point: training script, run as ``binary entry_point --key value ...
        --st_checkpoint_dir DIR``.
    :param partition: ``sbatch --partition``; ``None``: the cluster's default.
    :param account: ``sbatch --account``.
    :param time_limit: ``sbatch --time`` of each job, e.g. ``"30"`` (minutes),
        ``"1:00:00"``, ``"1-00:00:00"``; ``None``: the partition's default.
    :param cpus_per_trial: ``sbatch --cpus-per-task``.
    :param gpus_per_trial: ``sbatch --gres=gpu:N`` if positive.
    :param memory: ``sbatch --mem``, e.g. ``"8G"``.
    :param sbatch_lines: further sbatch options, with or without ``#SBATCH``, e.g.
        ``["--qos=short", "--nodes=2", "--ntasks-per-node=4"]``.
    :param setup_lines: shell lines run before training, e.g.
        ``["module load cuda/12.1", "source ~/venv/bin/activate"]``.
    :param binary: the command that runs ``entry_point``; default: the launcher's
        Python (``sys.executable``). Use ``"python"`` when ``setup_lines``
        activate the environment, ``"srun python"`` or ``"torchrun ..."`` for
        multi-task jobs.
    :param poll_interval: least seconds between two ``squeue`` calls.
    :param vanished_job_grace: seconds a job may be absent from ``squeue``
        without an exit record before its trial counts as failed.
    :param delete_checkpoints: see Syne Tune's ``TrialBackend``.
    :param pass_args_as_json: see Syne Tune's ``TrialBackend``.
    """

    def __init__(
        self,
        entry_point: str,
        *,
        partition: str | None = None,
        account: str | None = None,
        time_limit: str | None = None,
        cpus_per_trial: int = 1,
        gpus_per_trial: int = 0,
        memory: str | None = None,
        sbatch_lines: Sequence[str] = (),
        setup_lines: Sequence[str] = (),
        binary: str | None = None,
        poll_interval: float = 1.0,
        vanished_job_grace: float = 60.0,
        delete_checkpoints: bool = False,
        pass_args_as_json: bool = False,
    ):
        super().__init__(delete_checkpoints=delete_checkpoints, pass_args_as_json=pass_args_as_json)
        if not Path(entry_point).is_file():
            raise ValueError(f"entry_point must be an existing file, got {entry_point!r}")
        if shutil.which("sbatch") is None:
            raise RuntimeError("sbatch not found on PATH: SlurmBackend runs on a SLURM login node")
        if isinstance(sbatch_lines, str) or isinstance(setup_lines, str):
            raise ValueError("sbatch_lines and setup_lines must be sequences of lines, not a str")
        if not poll_interval >= 0 or not vanished_job_grace >= 0:
            raise ValueError(
                f"poll_interval and vanished_job_grace must be >= 0 seconds, "
                f"got {poll_interval!r} and {vanished_job_grace!r}"
            )
        self.entry_point = str(Path(entry_point).resolve())
        self.partition = partition
        self.account = account
        self.time_limit = time_limit
        self.cpus_per_trial = _positive_int("cpus_per_trial", cpus_per_trial, 1)
        self.gpus_per_trial = _positive_int("gpus_per_trial", gpus_per_trial, 0)
        self.memory = memory
        self.sbatch_lines = [_sbatch_option(line) for line in sbatch_lines]
        self.setup_lines = list(setup_lines)
        self.binary = sys.executable if binary is None else binary
        self.poll_interval = poll_interval
        self.vanished_job_grace = vanished_job_grace
        self.user = getpass.getuser()
        self.tuner_name = random_string(length=10)
        self.local_path = experiment_path(tuner_name=self.tuner_name)
        self._jobs: dict[int, list[SlurmJob]] = {}
        self._results: dict[int, list[dict]] = {}  # trial_id -> results read so far, in order
        self._ended_by_scheduler: dict[int, str] = {}  # trial_id -> Status.paused / stopped
        self._queue: dict[str, QueueEntry] = {}
        self._queue_at = -float("inf")  # time.monotonic() of the last squeue snapshot

    # --- paths and checkpoints ---------------------------------------------------------

    def set_path(self, results_root: str | None = None, tuner_name: str | None = None):
        if results_root is not None:
            self.local_path = Path(results_root)
        if tuner_name is not None:
            self.tuner_name = tuner_name

    def trial_path(self, trial_id: int) -> Path:
        return self.local_path / str(trial_id)

    def checkpoint_trial_path(self, trial_id: int) -> Path:
        return self.trial_path(trial_id) / "checkpoints"

    def copy_checkpoint(self, src_trial_id: int, tgt_trial_id: int):
        shutil.copytree(
            self.checkpoint_trial_path(src_trial_id), self.checkpoint_trial_path(tgt_trial_id)
        )

    def delete_checkpoint(self, trial_id: int):
        shutil.rmtree(self.checkpoint_trial_path(trial_id), ignore_errors=True)

    def entrypoint_path(self) -> Path:
        return Path(self.entry_point)

    def set_entrypoint(self, entry_point: str):
        self.entry_point = str(Path(entry_point).resolve())

    # --- submission ----------------------------------------------------------------------

    def _sbatch_options(self) -> list[str]:
        options = [f"--cpus-per-task={self.cpus_per_trial}"]
        named = {"--partition": self.partition, "--account": self.account}
        named |= {"--time": self.time_limit, "--mem": self.memory}
        options += [f"{flag}={value}" for flag, value in named.items() if value is not None]
        if self.gpus_per_trial:
            options.append(f"--gres=gpu:{self.gpus_per_trial}")
        return options + self.sbatch_lines

    def _settings(self) -> dict[str, Any]:
        names = ("partition", "account", "time_limit", "cpus_per_trial", "gpus_per_trial")
        names += ("memory", "sbatch_lines", "setup_lines")
        return {name: getattr(self, name) for name in names}

    def _command(self, trial_id: int, config: dict[str, Any]) -> str:
        if self.pass_args_as_json:
            config_json = self.trial_path(trial_id) / "config.json"
            dump_json_with_numpy(config, config_json)
            arguments = {ST_CONFIG_JSON_FNAME_ARG: config_json}
        else:
            arguments = dict(config)
        arguments[ST_CHECKPOINT_DIR] = self.checkpoint_trial_path(trial_id)
        return training_command(self.binary, Path(self.entry_point), arguments)

    def _schedule(self, trial_id: int, config: dict[str, Any]):
        jobs = self._jobs.get(trial_id, [])
        files = JobFiles(self.trial_path(trial_id), index=len(jobs))
        files.folder.mkdir(parents=True, exist_ok=True)
        files.script.write_text(
            job_script(
                files,
                self._command(trial_id, config),
                job_name=f"{self.tuner_name}-{trial_id}",
                sbatch_options=self._sbatch_options(),
                setup_lines=self.setup_lines,
                previous=(jobs[-1].job_id, jobs[-1].files) if jobs else None,
            )
        )
        job_id = _slurm_commands.submit(files.script, self._settings())
        now = time.monotonic()
        self._jobs[trial_id] = [*jobs, SlurmJob(job_id, files, submitted_at=now, last_seen_at=now)]
        self._results.setdefault(trial_id, [])
        logger.info("Trial %d: submitted SLURM job %s (%s)", trial_id, job_id, files.script)

    # --- pause, resume, stop ------------------------------------------------------------

    def _end_job(self, trial_id: int, status: str):
        self._ended_by_scheduler[trial_id] = status
        job = self._jobs[trial_id][-1]
        job.cancelled = True
        _slurm_commands.cancel(job.job_id)

    def _pause_trial(self, trial_id: int, result: dict | None):
        self._end_job(trial_id, Status.paused)

    def _stop_trial(self, trial_id: int, result: dict | None):
        self._end_job(trial_id, Status.stopped)

    def _resume_trial(self, trial_id: int):
        self._ended_by_scheduler.pop(trial_id, None)

    # --- status and results ---------------------------------------------------------------

    def _refresh_queue(self):
        """One ``squeue`` call, unless the last one is younger than ``poll_interval``;
        on failure the previous snapshot stays (no job is judged on a failed call)."""
        now = time.monotonic()
        if now - self._queue_at < self.poll_interval:
            return
        snapshot = _slurm_commands.queue_snapshot(self.user)
        if snapshot is not None:
            self._queue, self._queue_at = snapshot, now

    def _job_status(self, job: SlurmJob) -> str:
        return job.status(
            self._queue.get(job.job_id),
            snapshot_at=self._queue_at,
            now=time.monotonic(),
            grace=self.vanished_job_grace,
        )

    def _trial_status(self, trial_id: int) -> str:
        """The status of the trial's last job, unless a pause or stop ended it."""
        # all jobs: one seen to have ended has its output read in full, once
        job_statuses = [self._job_status(job) for job in self._jobs[trial_id]]
        return self._ended_by_scheduler.get(trial_id, job_statuses[-1])

    def _trial_results(self, trial_id: int) -> list[dict]:
        """All results of the trial, in the order they were read. The list only
        grows at its end (Syne Tune hands on the results past the last count it
        saw), even when a cancelled job still reports after its successor's
        first results."""
        results = self._results[trial_id]
        for job in self._jobs[trial_id]:
            results.extend(job.new_results())
        return list(results)

    def _all_trial_results(self, trial_ids: list[int]) -> list[TrialResult]:
        self._refresh_queue()
        trial_results = []
        for trial_id in trial_ids:
            if trial_id not in self._jobs:  # its submission was rejected
                continue
            status = self._trial_status(trial_id)
            results = self._trial_results(trial_id)
            last_job = self._jobs[trial_id][-1]
            end_time = None if status == Status.in_progress else last_job.ended_at or datetime.now()
            trial_results.append(
                self._trial_dict[trial_id].add_results(
                    metrics=results, status=status, training_end_time=end_time
                )
            )
        return trial_results

    def busy_trial_ids(self) -> list[tuple[int, str]]:
        self._refresh_queue()
        busy = []
        for trial_id in self._jobs:
            status = self._trial_status(trial_id)
            if status == Status.in_progress:
                busy.append((trial_id, status))
        return busy

    def stdout(self, trial_id: int) -> list[str]:
        return [line for job in self._jobs.get(trial_id, []) for line in job.stdout()]

    def stderr(self, trial_id: int) -> list[str]:
        return [line for job in self._jobs.get(trial_id, []) for line in job.stderr()]

    def __str__(self):
        return f"SLURM entry_point {Path(self.entry_point).name}"
