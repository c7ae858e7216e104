"""A SLURM job's script, status and results, without a cluster: the script runs
under bash (``#SBATCH`` lines are comments there), squeue answers are given."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from syne_tune.backend.trial_status import Status

from syne_dyhpo.backends._slurm_commands import QueueEntry
from syne_dyhpo.backends._slurm_job import SlurmJob
from syne_dyhpo.backends._slurm_job_script import JobFiles, job_script, training_command

TRAINER = Path(__file__).resolve().parent / "slurm_counting_trainer.py"
GRACE = 60.0


def metric_line(epoch: int) -> str:
    return f'[tune-metric]: {{"epoch": {epoch}}}\n'


@pytest.mark.parametrize(("exit_code", "setup"), [(0, []), (3, []), (3, ["set -e"])])
def test_job_script_records_the_exit_code_of_the_training(tmp_path, exit_code, setup):
    files = JobFiles(tmp_path / "trial folder", index=0)
    files.folder.mkdir()
    arguments = {"epochs": 2, "exit_code": exit_code, "st_checkpoint_dir": files.folder / "ck pt"}
    command = training_command(sys.executable, TRAINER, arguments)
    script = job_script(
        files, command, job_name="t-0", sbatch_options=["--time=5"], setup_lines=setup
    )
    assert f"#SBATCH --output={files.stdout}\n" in script and "#SBATCH --time=5\n" in script
    files.script.write_text(script)
    done = subprocess.run(["bash", str(files.script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == exit_code
    assert files.exit_record.read_text().strip() == str(exit_code)
    assert done.stdout.count("[tune-metric]") == 2
    assert (files.folder / "ck pt" / "epoch").read_text() == "2"


@pytest.mark.parametrize("previous_in_queue", [True, False])
def test_resume_script_waits_until_the_previous_job_has_ended(
    tmp_path, monkeypatch, previous_in_queue
):
    """The previous job records its exit 2 s late; ``squeue`` (a stub here) shows it
    until then, or not at all (already gone: no wait)."""
    previous, files = JobFiles(tmp_path, index=0), JobFiles(tmp_path, index=1)
    stub = tmp_path / "bin" / "squeue"
    stub.parent.mkdir()
    stub.write_text(f"#!/bin/bash\n{'echo 41' if previous_in_queue else 'true'}\n")
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{stub.parent}:{os.environ['PATH']}")
    command = f"test -e {previous.exit_record}"  # fails unless the previous job has ended
    script = job_script(
        files, command, job_name="t-1", sbatch_options=[], setup_lines=[], previous=("41", previous)
    )
    files.script.write_text(script)
    run = subprocess.Popen(["bash", str(files.script)])
    with contextlib.suppress(subprocess.TimeoutExpired):  # ends at once if it does not wait
        run.wait(timeout=2.0)
    previous.exit_record.write_text("143\n")
    assert run.wait(timeout=30) == (0 if previous_in_queue else 1)


@pytest.fixture
def job(tmp_path) -> SlurmJob:
    job = SlurmJob(JobFiles(tmp_path, index=0))
    job.submitted("7", at=100.0)
    return job


def status(job: SlurmJob, entry: QueueEntry | None, at: float = 110.0) -> str:
    return job.status(entry, snapshot_at=at, now=at, grace=GRACE)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (QueueEntry("PENDING", "Resources"), Status.in_progress),
        (QueueEntry("RUNNING", "None"), Status.in_progress),
        (QueueEntry("COMPLETING", "None"), Status.in_progress),
        (QueueEntry("COMPLETED", "None"), Status.completed),
        (QueueEntry("TIMEOUT", "TimeLimit"), Status.failed),
        (QueueEntry("NODE_FAIL", "NodeDown"), Status.failed),
        (QueueEntry("PREEMPTED", "None"), Status.failed),
        (QueueEntry("OUT_OF_MEMORY", "None"), Status.failed),
        (QueueEntry("CANCELLED", "None"), Status.failed),
    ],
)
def test_status_without_exit_record_follows_squeue(job, entry, expected):
    assert status(job, entry) == expected


def test_exit_record_decides_over_squeue(job):
    job.files.exit_record.write_text("143\n")
    assert status(job, QueueEntry("RUNNING", "None")) == Status.failed


def test_job_newer_than_the_snapshot_is_in_progress(job):
    assert status(job, None, at=99.0) == Status.in_progress


def test_job_missing_from_squeue_fails_only_after_the_grace_period(job):
    assert status(job, QueueEntry("RUNNING", "None"), at=200.0) == Status.in_progress
    assert status(job, None, at=200.0 + GRACE - 1) == Status.in_progress
    assert status(job, None, at=200.0 + GRACE + 1) == Status.failed


def epochs(results: list[dict]) -> list[int]:
    return [result["epoch"] for result in results]


def test_results_skip_a_line_being_written_and_freeze_once_ended(job):
    job.files.stdout.write_text(metric_line(1) + '[tune-metric]: {"epoch": 2}')
    assert epochs(job.results()) == [1]
    assert not job.ended
    job.files.stdout.write_text(metric_line(1) + metric_line(2))
    job.files.exit_record.write_text("0")
    assert status(job, None) == Status.completed
    assert job.ended and not job.failed
    with open(job.files.stdout, "a") as out:
        out.write(metric_line(3))
    job.files.exit_record.write_text("1")
    assert status(job, None) == Status.completed
    assert epochs(job.results()) == [1, 2]
