"""Worker faults on the real LocalBackend: each fault fails only its trial,
with the reason logged; the slot is reused and the trial never resumed."""

import logging
import sys
from pathlib import Path

import pytest
from syne_tune import StoppingCriterion, Tuner
from syne_tune.backend.trial_status import Status
from syne_tune.config_space import uniform
from syne_tune.results_callback import StoreResultsCallback

from syne_dyhpo import DyHPO
from syne_dyhpo.backends.local import SafeLocalBackend
from syne_dyhpo.ledger import FAILED

TIMEOUT_SECONDS = 10.0  # longer than a start of Python on a busy machine

# One epoch per 0.05 s; the first run of trial 0 misbehaves with ``fault``
# before it reaches its level (after that, DyHPO would pause it anyway).
TRAINER = """
import argparse, json, os, signal, sys, time

def report(**result):  # Syne Tune's Reporter format, without importing syne_tune
    result["st_worker_timestamp"] = time.time()
    print("[tune-metric]: " + json.dumps(result), flush=True)

parser = argparse.ArgumentParser()
parser.add_argument("--fault", type=str)
parser.add_argument("--x", type=float)
parser.add_argument("--epochs", type=int)
parser.add_argument("--st_checkpoint_dir", type=str)
args, _ = parser.parse_known_args()
if os.path.basename(os.path.dirname(args.st_checkpoint_dir)) == "0":
    if args.fault == "raise":
        raise RuntimeError("training blew up")
    if args.fault == "exit":
        sys.exit(3)
    if args.fault == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    if args.fault == "hang":
        time.sleep(3600)
    if args.fault == "silent":
        sys.exit(0)
for epoch in range(1, args.epochs + 1):
    time.sleep(0.05)
    report(epoch=epoch, loss=args.x / epoch)
"""

FAULTS = {  # fault -> what the logged reason says
    "raise": ["exited with code 1", "RuntimeError: training blew up"],
    "exit": ["exited with code 3"],
    "killed": ["killed by signal SIGKILL"],
    "hang": [f"exceeded trial_timeout={TIMEOUT_SECONDS:g} s"],
    "silent": ["exited with code 0 without reporting any result"],
}


class Resumes(StoreResultsCallback):
    """Results, plus the trials the tuner resumed."""

    def __init__(self):
        super().__init__()
        self.resumed: list[int] = []

    def on_resume_trial(self, trial):
        self.resumed.append(trial.trial_id)


def run_with_fault(tmp_path: Path, fault: str) -> tuple[DyHPO, Tuner, Resumes]:
    trainer = tmp_path / "trainer.py"
    trainer.write_text(TRAINER)
    scheduler = DyHPO(
        {"fault": fault, "x": uniform(1.0, 4.0), "epochs": 4},
        metric="loss",
        max_resource_attr="epochs",
        random_seed=0,
        points_to_evaluate=[{"x": 1.0}, {"x": 4.0}],
        surrogate_kwargs={"scratch_steps": 20, "refine_steps": 5},
        go_on=False,  # every level a run: the budget counts stored results only
    )
    callback = Resumes()
    tuner = Tuner(
        trial_backend=SafeLocalBackend(
            entry_point=str(trainer), binary=sys.executable, trial_timeout=TIMEOUT_SECONDS
        ),
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_num_evaluations=6, max_wallclock_time=120),
        n_workers=1,
        sleep_time=0.1,
        max_failures=100,
        callbacks=[callback],
        save_tuner=False,
        tuner_name=f"fault-{fault}",
    )
    tuner.run()
    return scheduler, tuner, callback


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_worker_fault_fails_only_its_trial(tmp_path, monkeypatch, caplog, fault):
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path))
    with caplog.at_level(logging.ERROR, logger="syne_dyhpo.backends.local"):
        scheduler, tuner, callback = run_with_fault(tmp_path, fault)
    assert scheduler.trials[0].status == FAILED
    assert tuner.tuning_status.last_trial_status_seen[0] == Status.failed
    failures = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Trial 0 ")]
    assert len(failures) == 1, failures
    for reason in FAULTS[fault]:
        assert reason in failures[0]
    assert 0 not in callback.resumed  # never resumed
    # the single worker went on: later trials ran, and past their first epoch
    later = [r for r in callback.results if r["trial_id"] > 0]
    assert len(later) >= 4 and any(r["epoch"] > 1 for r in later)
    assert all(r.status != FAILED for t, r in scheduler.trials.items() if t > 0)


def test_trial_timeout_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="trial_timeout must be > 0 seconds or None, got -1"):
        SafeLocalBackend(entry_point=__file__, trial_timeout=-1)
