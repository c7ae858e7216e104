"""DyHPO drives real SLURM jobs of the digits MLP: pause with scancel, resume from checkpoints."""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

import pytest
from syne_tune import Tuner
from syne_tune.optimizer.scheduler import SchedulerDecision
from syne_tune.tuner_callback import TunerCallback
from syne_tune.tuning_status import TuningStatus

from syne_dyhpo import DyHPO
from syne_dyhpo.backends.slurm import SlurmBackend
from tests.backends.slurm_cluster import slurm_cluster  # noqa: F401

pytestmark = pytest.mark.usefixtures("slurm_cluster")

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "examples"))
from train_mlp_digits import config_space  # noqa: E402

logger = logging.getLogger(__name__)
RESULTS_FROM_RESUMES = 1
FIXED = {"n_units": 64, "n_layers": 1, "dropout": 0.0, "weight_decay": 1e-4}
MAX_WALLCLOCK_TIME = 150.0  # seconds; it takes 15 to 40 on a 2-core machine
METRIC_LINE = re.compile(r"\[tune-metric\]: (\{.*\})")


class ResultCollector(TunerCallback):
    """Every (trial_id, result) the tuner passed to the scheduler, in order, and the
    trials paused and resumed."""

    def __init__(self):
        self.results: list[tuple[int, dict]] = []
        self.paused: list[int] = []
        self.resumed: list[int] = []
        self.from_resumes = 0  # results of jobs that resumed a trial

    def on_trial_result(self, trial, status, result, decision):
        self.results.append((trial.trial_id, dict(result)))
        self.from_resumes += trial.trial_id in self.resumed
        if decision == SchedulerDecision.PAUSE:
            self.paused.append(trial.trial_id)

    def on_resume_trial(self, trial):
        self.resumed.append(trial.trial_id)

    def enough(self, status: TuningStatus) -> bool:
        """Stop criterion: a result from a resumed job, or the time cap (the
        pace of jobs depends on the machine's load)."""
        return (
            self.from_resumes >= RESULTS_FROM_RESUMES or status.wallclock_time > MAX_WALLCLOCK_TIME
        )


def printed_epochs(trial_dir: Path) -> list[int]:
    """Epochs the script printed over all jobs of a trial, in job order."""
    outputs = sorted(trial_dir.glob("job-*.out"), key=lambda p: int(p.stem.split("-")[1]))
    text = "".join(path.read_text() for path in outputs)
    return [json.loads(m.group(1))["epoch"] for m in METRIC_LINE.finditer(text)]


@pytest.mark.slow
def test_dyhpo_tunes_the_digits_mlp_through_slurm_jobs(tmp_path):
    # learning rate and batch size tuned, the rest fixed, and a small pool of new
    # candidates: with two trials in flight, DyHPO resumes after a few trials
    scheduler = DyHPO(
        config_space(max_epochs=4) | FIXED,
        metric="val_loss",
        time_attr="epoch",
        max_resource_attr="epochs",
        random_seed=0,
        num_new_candidates=16,
        surrogate_kwargs={"scratch_steps": 50, "refine_steps": 10},
    )
    backend = SlurmBackend(
        str(REPO / "examples" / "train_mlp_digits.py"), time_limit="5", poll_interval=0.5
    )
    collector = ResultCollector()
    tuner = Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        stop_criterion=collector.enough,
        n_workers=2,
        sleep_time=0.2,
        max_failures=100,
        callbacks=[collector],
        save_tuner=False,
        trial_backend_path=str(tmp_path),
    )
    tuner.run()

    by_trial: dict[int, list[int]] = {}
    for trial_id, result in collector.results:
        by_trial.setdefault(trial_id, []).append(result["epoch"])
    logger.info(
        "%d trials, %d results, %d pauses, %d resumes, %d jobs: %s",
        len(by_trial),
        len(collector.results),
        len(collector.paused),
        len(collector.resumed),
        sum(len(jobs) for jobs in backend._jobs.values()),
        by_trial,
    )
    assert len(by_trial) >= 2, by_trial
    assert any(max(epochs) >= 2 for epochs in by_trial.values()), f"none went on: {by_trial}"
    assert tuner.tuning_status.num_trials_failed == 0
    for trial_id, epochs in by_trial.items():
        # the scheduler saw levels in order (a resumed job reports its checkpoint's
        # level again; one a job printed after its pause decision may be skipped) ...
        assert epochs == sorted(epochs) and epochs[0] == 1, (trial_id, epochs)
        # ... one job per start or resume, each going on from the checkpoint of the
        # previous one: every epoch trained once
        trial_dir = tmp_path / str(trial_id)
        printed = printed_epochs(trial_dir)
        assert set(epochs) <= set(printed), (trial_id, printed)
        pairs = zip(printed, printed[1:], strict=False)
        assert printed[0] == 1 and all(b in (a, a + 1) for a, b in pairs), (trial_id, printed)
        assert len(backend._jobs[trial_id]) == 1 + collector.resumed.count(trial_id)
        assert all(job.stop_requested for job in backend._jobs[trial_id][:-1])  # paused by scancel
        assert (trial_dir / "checkpoints" / "checkpoint.pt").exists()
    assert all(scheduler.trials[t].last_level == max(e) for t, e in by_trial.items())
