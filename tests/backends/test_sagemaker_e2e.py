"""DyHPO drives SageMaker training jobs of the digits MLP (moto + the runtime
emulator): pause with stop_training_job, resume from S3 checkpoints."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest
from syne_tune import Tuner
from syne_tune.config_space import choice
from syne_tune.tuner_callback import TunerCallback

from syne_dyhpo import DyHPO
from tests.backends.sagemaker_aws import BUCKET, aws, moto_endpoint  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "examples"))
from train_mlp_digits import config_space  # noqa: E402

METRIC_LINE = re.compile(r"\[tune-metric\]: (\{.*\})")
N_WORKERS = 2
MIN_RESUMES = 3
MAX_WALLCLOCK = 150  # seconds; a job takes 3 to 12 s (startup of torch on a busy machine)


class ResultCollector(TunerCallback):
    """Every (trial_id, result) the tuner passed to the scheduler, in order."""

    def __init__(self):
        self.results: list[tuple[int, dict]] = []
        self.resumed: list[int] = []

    def on_trial_result(self, trial, status, result, decision):
        self.results.append((trial.trial_id, dict(result)))

    def on_resume_trial(self, trial):
        self.resumed.append(trial.trial_id)

    def enough(self, status) -> bool:
        """Stop criterion: a few results from resumed jobs, or the time is up."""
        resumed_results = sum(result["epoch"] > 1 for _, result in self.results)
        return resumed_results >= MIN_RESUMES or status.wallclock_time > MAX_WALLCLOCK


def printed_epochs(lines: list[str]) -> list[int]:
    return [json.loads(m.group(1))["epoch"] for m in map(METRIC_LINE.search, lines) if m]


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """Largest number of intervals that overlap at one time."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


@pytest.mark.slow
def test_dyhpo_tunes_the_digits_mlp_through_sagemaker_training_jobs(aws, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path))
    # four configurations: once all started, every decision is a resume
    space = config_space(max_epochs=3) | {
        "learning_rate": choice([0.003, 0.03, 0.1, 0.3]),
        "batch_size": 32,
        "n_units": 32,
        "n_layers": 1,
        "dropout": 0.1,
        "weight_decay": 1e-4,
    }
    scheduler = DyHPO(
        space,
        metric="val_loss",
        time_attr="epoch",
        max_resource_attr="epochs",
        random_seed=0,
        surrogate_kwargs={"scratch_steps": 50, "refine_steps": 10},
    )
    backend = aws.backend(REPO / "examples" / "train_mlp_digits.py", poll_interval=0.2)
    collector = ResultCollector()
    tuner = Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        stop_criterion=collector.enough,
        n_workers=N_WORKERS,
        sleep_time=0.2,
        max_failures=100,
        callbacks=[collector],
        start_jobs_without_delay=False,  # a Stopping job still holds its worker
        tuner_name="dyhpo-sagemaker",
    )
    tuner.run()

    by_trial: dict[int, list[int]] = {}
    for trial_id, result in collector.results:
        by_trial.setdefault(trial_id, []).append(result["epoch"])
    jobs = {t: [aws.runtime.jobs[job.name] for job in backend._jobs[t]] for t in by_trial}
    all_jobs = [job for trial_jobs in backend._jobs.values() for job in trial_jobs]
    stopped = [job.name for job in all_jobs if job.status == "Stopped"]
    print(
        f"\n{len(by_trial)} trials, {len(all_jobs)} jobs ({len(stopped)} stopped), "
        f"{len(collector.resumed)} resumes, {len(collector.results)} results: {by_trial}"
    )
    assert len(by_trial) >= 2, by_trial
    trained_on = sum(epoch > 1 for epochs in by_trial.values() for epoch in epochs)
    assert trained_on >= MIN_RESUMES, f"too few levels past the first: {by_trial}"
    assert tuner.tuning_status.num_trials_failed == 0
    s3 = aws.client("s3")
    for trial_id, epochs in by_trial.items():
        # the scheduler saw levels in order (a resumed job reports its checkpoint's
        # level again; one a job printed after its pause decision may be skipped) ...
        assert epochs == sorted(epochs) and epochs[0] == 1, (trial_id, epochs)
        # ... one job per start or resume, each going on from the checkpoint the
        # previous job left in S3: every epoch trained once
        lines = [line for job in jobs[trial_id] for line in job.lines]
        printed = printed_epochs(lines)
        assert set(epochs) <= set(printed), (trial_id, printed)
        pairs = zip(printed, printed[1:], strict=False)
        assert printed[0] == 1 and all(b in (a, a + 1) for a, b in pairs), (trial_id, printed)
        assert len(jobs[trial_id]) == 1 + collector.resumed.count(trial_id), trial_id
        key = f"syne-dyhpo/{tuner.name}/{trial_id}/checkpoints/checkpoint.pt"
        s3.head_object(Bucket=BUCKET, Key=key)
    levels = {t: scheduler.trials[t].last_level for t in by_trial}
    assert levels == {t: max(epochs) for t, epochs in by_trial.items()}
    # never more jobs alive (InProgress or Stopping) than workers
    # (the tuner's final stop_all does not wait for the stopped jobs to end)
    now = time.monotonic()
    alive = [(job.created_at, job.ended_at or now) for job in aws.runtime.jobs.values()]
    assert most_at_once(alive) <= N_WORKERS
