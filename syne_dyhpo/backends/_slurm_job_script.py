"""The batch script of one SLURM job: ``#SBATCH`` options, setup lines, the
training command, and a record of its exit code.

Without an accounting database a finished job disappears from ``squeue``
(after ``MinJobAge``, 300 s by default), so the script writes the exit code of
the setup lines and training command, run in a subshell, to a file the
launcher reads: a setup line that fails under ``set -e``, or ``exit``, ends the
subshell, not the script. SIGTERM (time limit, preemption, ``scancel``) is
trapped with a handler, not ignored, so the training process still dies of it
while the script and the subshell survive to record 143.

The values this module writes are checked by ``_slurm_settings`` or quoted here.

A job that resumes a paused trial first waits until the trial's previous job,
cancelled by the pause, has ended (its exit record is written, or ``squeue``
no longer shows it, its processes gone): SLURM counts a cancelled job as ended
at once, but its training may still be writing the trial's checkpoint.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class JobFiles:
    """Files of the ``index``-th job (0, 1, ...) of a trial, in the trial's folder."""

    folder: Path
    index: int

    def _path(self, suffix: str) -> Path:
        return self.folder / f"job-{self.index}.{suffix}"

    @property
    def script(self) -> Path:
        return self._path("sh")

    @property
    def stdout(self) -> Path:
        return self._path("out")

    @property
    def stderr(self) -> Path:
        return self._path("err")

    @property
    def exit_record(self) -> Path:
        return self._path("exit")


def training_command(binary: str, entry_point: Path, arguments: Mapping[str, Any]) -> str:
    """``binary entry_point --key value ...``; ``binary`` is shell text (``"srun python"``
    is fine), the entry point and every argument are quoted."""
    words = [binary, shlex.quote(str(entry_point))]
    for key, value in arguments.items():
        words += [shlex.quote(f"--{key}"), shlex.quote(str(value))]
    return " ".join(words)


def _wait_for(job_id: str, files: JobFiles) -> str:
    record = shlex.quote(str(files.exit_record))
    in_queue = f'"$(squeue --noheader --jobs={shlex.quote(job_id)} --format=%i 2>/dev/null)"'
    return f"while [[ ! -e {record} && -n {in_queue} ]]; do sleep 1; done"


def job_script(
    files: JobFiles,
    command: str,
    *,
    job_name: str,
    sbatch_options: Sequence[str],
    setup_lines: Sequence[str],
    previous: tuple[str, JobFiles] | None = None,
) -> str:
    """Text of the batch script: one output and one error file per job, never
    requeued (a requeued run would rewrite the output the launcher has read).

    :param previous: job id and files of the trial's previous job, to wait for.
    """
    exit_file = shlex.quote(str(files.exit_record))
    options = [
        f"--job-name={job_name}",
        f"--output={files.stdout}",
        f"--error={files.stderr}",
        "--no-requeue",
        *sbatch_options,
    ]
    lines = [
        "#!/bin/bash",
        *(f"#SBATCH {option}" for option in options),
        "",
        *([] if previous is None else [_wait_for(*previous)]),
        "trap 'true' TERM",
        "(",
        "trap 'true' TERM",
        *setup_lines,
        command,
        ")",
        "code=$?",
        f'echo "$code" > {exit_file}.tmp && mv {exit_file}.tmp {exit_file}',
        'exit "$code"',
    ]
    return "\n".join(lines) + "\n"
