"""Fault injection: the tuner process of a real LocalBackend run on the digits
example is killed with SIGKILL at random moments and resumed each time."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from syne_dyhpo.crash_safety.snapshot import load_snapshot
from syne_dyhpo.crash_safety.trial_outputs import reported_results

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
NUM_KILLS = 3
MAX_EPOCHS = 4
BUDGET_RESULTS = 30  # counted over all runs of the tuner
KILL_DELAY_SECONDS = (0.0, 4.0)  # after a (re)started run reports again
RUN_TIMEOUT_SECONDS = 180.0

# Every report of the training script gets a unique id and is appended to a
# side log after it was printed.
TRAINER = """
import json, random, sys
from pathlib import Path
sys.path.insert(0, {examples!r})
import train_mlp_digits
from syne_tune import Reporter

args = train_mlp_digits.parse_args()
trial_id = int(Path(args.st_checkpoint_dir).parent.name)

class SideLogReporter(Reporter):
    def __call__(self, **result):
        uid = random.SystemRandom().getrandbits(52)
        super().__call__(report_uid=uid, **result)
        with open({side_log!r}, "a") as f:
            line = {{"trial_id": trial_id, "epoch": result["epoch"], "uid": uid}}
            f.write(json.dumps(line) + "\\n")

train_mlp_digits.Reporter = SideLogReporter
train_mlp_digits.train(args)
"""

DRIVER = """
import logging, sys
from pathlib import Path
from syne_tune import StoppingCriterion
from syne_tune.config_space import loguniform
sys.path.insert(0, {examples!r})
from train_mlp_digits import config_space
from syne_dyhpo import DyHPO
from syne_dyhpo.backends.local import SafeLocalBackend
from syne_dyhpo.crash_safety import CrashSafeTuner, resume_tuner

logging.basicConfig(level=logging.INFO)
folder = Path({folder!r})
if (folder / "tuner.dill").exists():
    tuner = resume_tuner(folder)
else:
    space = config_space(max_epochs={max_epochs})
    space["learning_rate"] = loguniform(1e-3, 0.1)  # no diverging runs
    scheduler = DyHPO(space, metric="val_loss", time_attr="epoch", max_resource_attr="epochs",
                      random_seed=0, surrogate_kwargs={{"scratch_steps": 20, "refine_steps": 5}})
    tuner = CrashSafeTuner(
        trial_backend=SafeLocalBackend(entry_point={trainer!r}, trial_timeout=60),
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_num_evaluations={budget}),
        n_workers=2, sleep_time=0.2, results_update_interval=1.0, max_failures=100,
        tuner_name=folder.name, suffix_tuner_name=False,
        wait_trial_completion_when_stopping=True,  # else the last reports are dropped
    )
tuner.run()
"""


def write_scripts(tmp_path: Path, folder: Path, side_log: Path) -> Path:
    trainer = tmp_path / "trainer.py"
    trainer.write_text(TRAINER.format(examples=str(EXAMPLES), side_log=str(side_log)))
    driver = tmp_path / "driver.py"
    driver.write_text(
        DRIVER.format(
            examples=str(EXAMPLES),
            folder=str(folder),
            trainer=str(trainer),
            budget=BUDGET_RESULTS,
            max_epochs=MAX_EPOCHS,
        )
    )
    return driver


def start(driver: Path, tmp_path: Path, log_name: str) -> subprocess.Popen:
    env = dict(os.environ, SYNETUNE_FOLDER=str(tmp_path))
    with open(tmp_path / log_name, "w") as log:
        return subprocess.Popen(
            [sys.executable, str(driver)], stdout=log, stderr=subprocess.STDOUT, env=env
        )


def reports(side_log: Path) -> int:
    return len(side_log.read_text().splitlines()) if side_log.exists() else 0


def wait_for_progress(process: subprocess.Popen, snapshot: Path, side_log: Path) -> None:
    """Until the (re)started tuner has a snapshot and its trials report again."""
    deadline, before = time.time() + RUN_TIMEOUT_SECONDS, reports(side_log)
    while not (snapshot.exists() and reports(side_log) > before):
        assert process.poll() is None, "the tuner ended before the kill"
        assert time.time() < deadline, "no progress"
        time.sleep(0.1)


def leftover_trainers(tmp_path: Path) -> list[int]:
    marker = str(tmp_path / "trainer.py")
    return [p.pid for p in psutil.process_iter(["cmdline"]) if marker in (p.info["cmdline"] or [])]


@pytest.mark.slow
def test_run_killed_three_times_loses_and_duplicates_nothing(tmp_path):
    folder, side_log = tmp_path / "crash-run", tmp_path / "side_log.jsonl"
    driver = write_scripts(tmp_path, folder, side_log)
    rng = random.Random(0)
    kills = 0
    for attempt in range(NUM_KILLS):
        process = start(driver, tmp_path, f"tuner_{attempt}.log")
        wait_for_progress(process, folder / "tuner.dill", side_log)
        time.sleep(rng.uniform(*KILL_DELAY_SECONDS))
        assert process.poll() is None, "the budget ran out before the kill"
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
    final = start(driver, tmp_path, "tuner_final.log")
    assert final.wait(timeout=RUN_TIMEOUT_SECONDS) == 0, (tmp_path / "tuner_final.log").read_text()

    results = pd.read_csv(folder / "results.csv.zip")
    reported = [json.loads(line) for line in side_log.read_text().splitlines()]
    uids = results["report_uid"].tolist()
    duplicates = len(uids) - len(set(uids))
    stored_levels = set(zip(results["trial_id"], results["epoch"], strict=True))
    unstored = [r for r in reported if r["uid"] not in set(uids)]
    print(f"kills survived: {kills}, results: {len(uids)}, unstored: {len(unstored)}")
    assert kills == NUM_KILLS and duplicates == 0
    # A run trains on while its pause (or the end of the tuning run) is on its
    # way: an epoch it printed after that decision may never reach DyHPO (Syne
    # Tune drops a trial's results after its pause). Every other report is
    # stored, and nothing twice.
    tuner = load_snapshot(folder)
    trials = tuner.scheduler.trials
    for r in unstored:
        again = (r["trial_id"], r["epoch"]) in stored_levels  # reported again on resume
        raced = np.isnan(trials[r["trial_id"]].curve[r["epoch"] - 1])  # DyHPO never had it
        assert again or raced, (r, trials[r["trial_id"]])
    # the budget is spent once; Syne Tune counts the results it dropped after a
    # pause decision too, so the stored ones fall short of it by those
    count = tuner.tuning_status.overall_metric_statistics.count
    # (the loop iteration that spends it holds results of the two runs going;
    # a pause in it frees a worker for a new run before the budget is checked,
    # and the runs going then finish: at most four runs of MAX_EPOCHS each)
    assert BUDGET_RESULTS < count <= BUDGET_RESULTS + 4 * MAX_EPOCHS + len(unstored)
    assert len(uids) <= count <= len(uids) + len(unstored)

    observed = {
        (trial_id, level + 1): value
        for trial_id, record in trials.items()
        for level, value in enumerate(record.curve)
        if not np.isnan(value)
    }
    last = results.groupby(["trial_id", "epoch"])["val_loss"].last().to_dict()
    assert observed == pytest.approx(last)  # DyHPO saw every result, and nothing else
    for trial_id in trials:  # resumed runs went on from their checkpoints
        epochs = [r["epoch"] for r in reported_results(folder / str(trial_id))]
        # each run reports its checkpoint's epoch again, then goes on
        assert epochs[:1] in ([], [1]), (trial_id, epochs)
        assert all(b in (a, a + 1) for a, b in zip(epochs, epochs[1:], strict=False)), (
            trial_id,
            epochs,
        )
    assert not leftover_trainers(tmp_path)
