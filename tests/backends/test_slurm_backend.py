"""SlurmBackend against a real single-node SLURM cluster (see slurm_cluster.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from syne_tune import StoppingCriterion, Tuner
from syne_tune.backend.trial_status import Status
from syne_tune.optimizer.baselines import RandomSearch
from syne_tune.report import retrieve

from syne_dyhpo.backends import _slurm_commands
from syne_dyhpo.backends._slurm_commands import SlurmSubmissionError
from syne_dyhpo.backends.slurm import SlurmBackend
from tests.backends.backend_driver import Driver
from tests.backends.slurm_cluster import bring_node_back, slurm, slurm_cluster  # noqa: F401

pytestmark = pytest.mark.usefixtures("slurm_cluster")

TRAINER = Path(__file__).resolve().parent / "slurm_counting_trainer.py"
POLL_TIMEOUT = 60.0  # seconds; a job starts in about one


def queue_state(job_id: str) -> str:
    return slurm("squeue", "--noheader", "--states=all", f"--jobs={job_id}", "--format=%T").strip()


def ended_queue_state(job_id: str) -> str:
    """The job's state once SLURM has finished ending it (not ``COMPLETING``)."""
    deadline = time.monotonic() + POLL_TIMEOUT
    while (state := queue_state(job_id)) in ("RUNNING", "COMPLETING"):
        assert time.monotonic() < deadline, f"job {job_id} still {state}"
        time.sleep(0.2)
    return state


def end_time_limit_now(job_id: str, attempts: int = 3) -> None:
    """Let ``job_id``'s time limit run out now. ``scontrol`` refused this once
    in about 25 loaded runs ("Invalid time specified"), so it is asked again a
    second later; the last refusal is raised with the job's record."""
    for attempt in range(attempts):
        try:
            slurm("scontrol", "update", f"jobid={job_id}", "EndTime=now")
            return
        except RuntimeError as err:
            if attempt == attempts - 1:
                raise RuntimeError(f"{err}; {slurm('scontrol', 'show', 'job', job_id)}") from err
            time.sleep(1.0)


def printed_epochs(output: Path) -> list[int]:
    return [result["epoch"] for result in retrieve(output.read_text().splitlines())]


def job_ids(backend: SlurmBackend, trial_id: int) -> list[str]:
    return [job.job_id for job in backend._jobs[trial_id]]


@pytest.fixture
def backend(tmp_path) -> SlurmBackend:
    backend = SlurmBackend(str(TRAINER), poll_interval=0.0, time_limit="5")
    backend.set_path(results_root=str(tmp_path), tuner_name="slurm-test")
    yield backend
    backend.stop_all()


def test_pause_then_resume_delivers_every_result_once_across_jobs(backend):
    driver = Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.2)
    # on scancel the script still checkpoints and reports the epoch in progress, 2 s later
    backend.start_trial({"epochs": 6, "sleep": 1.5, "term_delay": 2.0})
    driver.wait(lambda s: 2 in driver.epochs.get(0, []), "no epoch 2")
    backend.pause_trial(0)
    assert driver.poll() == {0: Status.paused}  # cancelled by the pause: not failed

    backend.resume_trial(0, new_config={"epochs": 8, "sleep": 0.0})
    first, _ = job_ids(backend, 0)
    assert queue_state(first) in ("RUNNING", "COMPLETING")  # still shutting down
    assert backend.busy_trial_ids() == [(0, Status.in_progress)]
    statuses = driver.wait(lambda s: s[0] == Status.completed, "resumed job did not complete")
    assert statuses == {0: Status.completed}
    # epoch 3, reported by the cancelled job after the pause, arrives once, after the resume,
    # and the resumed job starts from its checkpoint
    assert driver.epochs == {0: list(range(1, 9))}
    assert printed_epochs(backend.trial_path(0) / "job-1.out") == [4, 5, 6, 7, 8]
    outputs = sorted(p.name for p in backend.trial_path(0).glob("job-*.out"))
    assert outputs == ["job-0.out", "job-1.out"]
    assert sum("[tune-metric]" in line for line in backend.stdout(0)) == 8


def test_job_killed_by_its_time_limit_fails_its_trial_and_keeps_its_results(backend):
    driver = Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.2)
    backend.start_trial({"epochs": 60, "sleep": 1.0})
    driver.wait(lambda s: len(driver.epochs.get(0, [])) >= 2, "no epoch 2")
    (job,) = job_ids(backend, 0)
    end_time_limit_now(job)
    statuses = driver.wait(lambda s: s[0] != Status.in_progress, "time limit not seen")
    assert statuses == {0: Status.failed}
    assert ended_queue_state(job) == "TIMEOUT"
    epochs = driver.epochs[0]
    assert len(epochs) >= 3 and epochs == list(range(1, len(epochs) + 1))  # + the epoch in progress
    assert (backend.trial_path(0) / "job-0.exit").read_text().strip() == "143"


def test_failing_script_marks_its_trial_failed_after_delivering_its_results(backend):
    driver = Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.2)
    backend.start_trial({"epochs": 2, "exit_code": 3})
    statuses = driver.wait(lambda s: s[0] != Status.in_progress, "job did not end")
    assert statuses == {0: Status.failed}
    assert driver.epochs == {0: [1, 2]}
    assert (backend.trial_path(0) / "job-0.exit").read_text().strip() == "3"


def test_one_squeue_call_per_poll_for_all_jobs(tmp_path, monkeypatch):
    calls = []
    snapshot = _slurm_commands.queue_snapshot
    monkeypatch.setattr(
        _slurm_commands, "queue_snapshot", lambda user: calls.append(user) or snapshot(user)
    )
    backend = SlurmBackend(str(TRAINER), poll_interval=3600.0)
    backend.set_path(results_root=str(tmp_path))
    try:
        for _ in range(3):
            backend.start_trial({"epochs": 1})
        for _ in range(3):
            backend.fetch_status_results([0, 1, 2])
            backend.busy_trial_ids()
        assert len(calls) == 1
        backend._polled_at -= 3600.0  # the next poll is due
        backend.fetch_status_results([0, 1, 2])
        assert len(calls) == 2
    finally:
        backend.stop_all()


def test_queued_job_counts_as_a_busy_worker(tmp_path):
    backend = SlurmBackend(str(TRAINER), poll_interval=0.0, sbatch_lines=["--exclusive"])
    backend.set_path(results_root=str(tmp_path))
    driver = Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.2)
    try:
        for _ in range(2):
            backend.start_trial({"epochs": 1, "sleep": 60.0})
        running, queued = job_ids(backend, 0)[0], job_ids(backend, 1)[0]
        deadline = time.monotonic() + POLL_TIMEOUT
        while queue_state(running) != "RUNNING":
            assert time.monotonic() < deadline, queue_state(running)
            time.sleep(0.2)
        assert queue_state(queued) == "PENDING"  # the node is taken exclusively
        busy = [(0, Status.in_progress), (1, Status.in_progress)]
        assert sorted(backend.busy_trial_ids()) == busy
        assert driver.poll() == {0: Status.in_progress, 1: Status.in_progress}

        backend.stop_trial(1)  # a queued job is cancelled too
        assert backend.busy_trial_ids() == [(0, Status.in_progress)]
        assert queue_state(queued) == "CANCELLED"
    finally:
        backend.stop_all()


def test_job_killed_by_the_cluster_fails_its_trial_and_the_run_goes_on(backend):
    driver = Driver(backend, timeout=POLL_TIMEOUT, poll_seconds=0.2)
    backend.start_trial({"epochs": 60, "sleep": 1.0})
    backend.start_trial({"epochs": 60, "sleep": 1.0})
    driver.wait(lambda s: all(len(driver.epochs.get(t, [])) >= 1 for t in (0, 1)), "no results")
    backend.pause_trial(1)
    node = slurm("sinfo", "--noheader", "--format=%N").strip()
    slurm("scontrol", "update", f"nodename={node}", "state=down", "reason=syne-dyhpo test")
    try:
        statuses = driver.wait(lambda s: s[0] != Status.in_progress, "kill not seen")
        assert ended_queue_state(job_ids(backend, 0)[0]) == "NODE_FAIL"
    finally:
        bring_node_back(node)
    assert statuses == {0: Status.failed, 1: Status.paused}
    assert driver.poll() == {0: Status.failed, 1: Status.paused}
    # the run goes on: the paused trial resumes and a new one runs
    backend.resume_trial(1, new_config={"epochs": 3, "sleep": 0.0})
    backend.start_trial({"epochs": 2})
    statuses = driver.wait(lambda s: s[1] == s[2] == Status.completed, "run did not go on")
    assert driver.epochs[1] == [1, 2, 3] and driver.epochs[2] == [1, 2]


@pytest.mark.parametrize(
    ("setting", "value"),
    [("partition", "no-such-partition"), ("memory", "999999G"), ("gpus_per_trial", 1)],
)
def test_sbatch_rejection_names_the_setting_before_the_loop_spins(tmp_path, setting, value):
    backend = SlurmBackend(str(TRAINER), **{setting: value})
    tuner = Tuner(
        trial_backend=backend,
        scheduler=RandomSearch({"epochs": 2}, metrics=["loss"], do_minimize=True),
        stop_criterion=StoppingCriterion(max_wallclock_time=60),
        n_workers=2,
        sleep_time=0.1,
        max_failures=100,
        save_tuner=False,
        trial_backend_path=str(tmp_path),
    )
    start = time.monotonic()
    with pytest.raises(SlurmSubmissionError, match=f"{setting}={value!r}"):
        tuner.run()
    assert time.monotonic() - start < 20
    assert tuner.tuning_status.num_trials_started == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cpus_per_trial": 0},
        {"time_limit": "ten minutes"},
        {"gpus_per_trial": -1},
        {"sbatch_lines": ["qos=short"]},
        {"setup_lines": "module load cuda"},
        {"poll_interval": -1.0},
    ],
)
def test_invalid_settings_are_named(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SlurmBackend(str(TRAINER), **kwargs)
