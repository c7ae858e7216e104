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
from pathlib import Path
from typing import Any

from syne_tune.constants import ST_CHECKPOINT_DIR, ST_CONFIG_JSON_FNAME_ARG
from syne_tune.util import dump_json_with_numpy, experiment_path, random_string

from syne_dyhpo.backends import _slurm_commands
from syne_dyhpo.backends import _slurm_settings as settings
from syne_dyhpo.backends._job_backend import JobBackend, check_int
from syne_dyhpo.backends._slurm_commands import QueueEntry, SlurmSubmissionError
from syne_dyhpo.backends._slurm_job import SlurmJob
from syne_dyhpo.backends._slurm_job_script import JobFiles, job_script, training_command

__all__ = ["SlurmBackend", "SlurmSubmissionError"]

logger = logging.getLogger(__name__)


class SlurmBackend(JobBackend[SlurmJob]):
    """Runs each trial, and each resume of a paused trial, as a SLURM batch job.

    Status comes from one ``squeue`` call per poll (at most one per
    ``poll_interval``) plus the exit code every job script records, since
    finished jobs leave ``squeue`` when the cluster has no accounting database.
    Results are the ``[tune-metric]`` lines of the jobs' outputs, each passed on
    once, a trial's jobs' results in the order the launcher reads them. Pause
    and stop are ``scancel``; a queued job, and a cancelled one until it has
    ended, counts as a busy worker; the job of a resume is submitted at once and
    its script trains only once the trial's previous job has ended. A job the
    cluster ends (time limit, node failure, preemption, out of memory) marks its
    trial failed: the scheduler hears ``on_trial_error`` and the run goes on
    (set the Tuner's ``max_failures`` high enough). A job ended by a pause or
    stop decision is never reported as failed.

    Every setting that reaches the job script is checked here, before any job
    (see ``_slurm_settings``): ``#SBATCH`` values are single lines of the
    documented characters, configuration keys are command-line names.

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
        ``["--qos=short", "--nodes=2", "--ntasks-per-node=4"]``; not the options
        the backend sets (``--output``, ``--requeue``, ``--partition``, ...).
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
    :param pass_args_as_json: the configuration goes to the script in a JSON
        file (``--st_config_json_filename``), not as ``--key value`` arguments.
    """

    def __init__(
        self,
        entry_point: str | Path,
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
        super().__init__(
            entry_point,
            poll_interval=poll_interval,
            delete_checkpoints=delete_checkpoints,
            pass_args_as_json=pass_args_as_json,
        )
        if shutil.which("sbatch") is None:
            raise RuntimeError("sbatch not found on PATH: SlurmBackend runs on a SLURM login node")
        if not vanished_job_grace >= 0:
            raise ValueError(f"vanished_job_grace must be >= 0 seconds, got {vanished_job_grace!r}")
        self.partition = settings.check_value("partition", partition, settings.PARTITION, "gpu")
        self.account = settings.check_value("account", account, settings.ACCOUNT, "my-project")
        self.time_limit = settings.check_value(
            "time_limit", time_limit, settings.TIME_LIMIT, "1:00:00"
        )
        self.cpus_per_trial = check_int("cpus_per_trial", cpus_per_trial, 1)
        self.gpus_per_trial = check_int("gpus_per_trial", gpus_per_trial, 0)
        self.memory = settings.check_value("memory", memory, settings.MEMORY, "8G")
        gpus = self.gpus_per_trial > 0
        self.sbatch_lines = [
            settings.sbatch_option(line, gpus=gpus)
            for line in settings.check_lines("sbatch_lines", sbatch_lines)
        ]
        self.setup_lines = settings.check_lines("setup_lines", setup_lines)
        self.binary = sys.executable if binary is None else settings.check_line("binary", binary)
        self.vanished_job_grace = vanished_job_grace
        self.user = getpass.getuser()
        self.tuner_name = random_string(length=10)
        self.local_path = experiment_path(tuner_name=self.tuner_name)
        self._queue: dict[str, QueueEntry] = {}
        self._queue_at = -float("inf")  # time.monotonic() of the last squeue snapshot

    # --- paths and checkpoints ---------------------------------------------------------

    def set_path(self, results_root: str | None = None, tuner_name: str | None = None):
        if results_root is not None:
            self.local_path = settings.check_job_folder(Path(results_root))
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

    # --- jobs ---------------------------------------------------------------------------

    def _sbatch_options(self) -> list[str]:
        options = [f"--cpus-per-task={self.cpus_per_trial}"]
        named = {"--partition": self.partition, "--account": self.account}
        named |= {"--time": self.time_limit, "--mem": self.memory}
        options += [f"{flag}={value}" for flag, value in named.items() if value is not None]
        if self.gpus_per_trial:
            options.append(f"--gres=gpu:{self.gpus_per_trial}")
        return options + self.sbatch_lines

    def _settings_by_name(self) -> dict[str, Any]:
        names = ("partition", "account", "time_limit", "cpus_per_trial", "gpus_per_trial")
        names += ("memory", "sbatch_lines", "setup_lines")
        return {name: getattr(self, name) for name in names}

    def _command(self, trial_id: int, config: dict[str, Any]) -> str:
        if self.pass_args_as_json:
            config_json = self.trial_path(trial_id) / "config.json"
            dump_json_with_numpy(config, config_json)
            arguments = {ST_CONFIG_JSON_FNAME_ARG: config_json}
        else:
            settings.check_arguments(config)
            arguments = dict(config)
        arguments[ST_CHECKPOINT_DIR] = self.checkpoint_trial_path(trial_id)
        return training_command(self.binary, self.entry_point, arguments)

    def _new_job(self, trial_id: int, config: dict[str, Any], index: int) -> SlurmJob:
        files = JobFiles(settings.check_job_folder(self.trial_path(trial_id)), index=index)
        files.folder.mkdir(parents=True, exist_ok=True)
        previous = self._jobs[trial_id][index - 1] if index else None
        files.script.write_text(
            job_script(
                files,
                self._command(trial_id, config),
                job_name=settings.job_name(self.tuner_name, trial_id),
                sbatch_options=self._sbatch_options(),
                setup_lines=self.setup_lines,
                previous=None if previous is None else (previous.job_id, previous.files),
            )
        )
        return SlurmJob(files)

    def _launch(self, trial_id: int, job: SlurmJob) -> None:
        job.submitted(
            _slurm_commands.submit(job.files.script, self._settings_by_name()), time.monotonic()
        )
        logger.info("Trial %d: submitted SLURM job %s (%s)", trial_id, job.job_id, job.files.script)

    def _may_launch(self, previous: SlurmJob) -> bool:
        return True  # the job script waits for the previous job to end

    def _cancel(self, trial_id: int, job: SlurmJob) -> None:
        _slurm_commands.cancel(job.job_id)

    def _refresh(self, jobs: list[SlurmJob]) -> None:
        """One ``squeue`` call for all jobs; on failure the previous snapshot
        stays (no job is judged on a failed call)."""
        if not jobs:
            return
        asked_at = time.monotonic()
        snapshot = _slurm_commands.queue_snapshot(self.user)
        if snapshot is not None:
            self._queue, self._queue_at = snapshot, asked_at
        for job in jobs:
            job.status(
                self._queue.get(job.job_id),
                snapshot_at=self._queue_at,
                now=time.monotonic(),
                grace=self.vanished_job_grace,
            )

    def __str__(self):
        return f"SLURM entry_point {self.entry_point.name}"
