"""resume_tuner: an interrupted LocalBackend run continues from its folder."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dill
import numpy as np
import pandas as pd
import psutil
import pytest
from syne_tune import StoppingCriterion, Tuner
from syne_tune.backend import LocalBackend
from syne_tune.backend.trial_status import Status, Trial
from syne_tune.config_space import uniform
from syne_tune.optimizer.baselines import RandomSearch

from syne_dyhpo import DyHPO
from syne_dyhpo.crash_safety import CrashSafeTuner, resume_tuner
from syne_dyhpo.crash_safety.snapshot import ELAPSED_BEFORE_START, elapsed_at_save, save_atomically
from syne_dyhpo.ledger import PAUSED, RUNNING

MAX_T = 4
EPOCH_SECONDS = 0.3

TRAINER = """
import argparse, json, time

def report(**result):  # Syne Tune's Reporter format, without importing syne_tune
    result["st_worker_timestamp"] = time.time()
    print("[tune-metric]: " + json.dumps(result), flush=True)

parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float)
parser.add_argument("--epochs", type=int)
parser.add_argument("--st_checkpoint_dir", type=str)
args, _ = parser.parse_known_args()
for epoch in range(1, args.epochs + 1):  # no checkpoint: a resumed run repeats levels
    time.sleep({epoch_seconds})
    report(epoch=epoch, loss=args.x / epoch)
"""

DRIVER = """
import sys
from syne_tune import StoppingCriterion
from syne_tune.backend import LocalBackend
from syne_tune.config_space import uniform
from syne_dyhpo import DyHPO
from syne_dyhpo.crash_safety import CrashSafeTuner

scheduler = DyHPO({{"x": uniform(0.0, 1.0), "epochs": {max_t}}}, metric="loss",
                  max_resource_attr="epochs", random_seed=0,
                  surrogate_kwargs={{"scratch_steps": 20, "refine_steps": 5}})
CrashSafeTuner(
    trial_backend=LocalBackend(entry_point={trainer!r}),
    scheduler=scheduler,
    stop_criterion=StoppingCriterion(max_wallclock_time=600),
    n_workers=2, sleep_time=0.1, results_update_interval=5.0, max_failures=100,
    tuner_name="interrupted", suffix_tuner_name=False, wait_trial_completion_when_stopping=True,
).run()
"""


def reported(folder: Path) -> dict[int, list[dict]]:
    """Results printed by each trial's script."""
    out = {}
    for trial in sorted(p for p in folder.iterdir() if p.name.isdigit()):
        lines = (trial / "std.out").read_text().splitlines()
        out[int(trial.name)] = [
            json.loads(x.split(": ", 1)[1]) for x in lines if "tune-metric" in x
        ]
    return out


def trainers_running(folder: Path) -> int:
    return sum(
        str(folder) in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])
    )


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory) -> Path:
    """A run whose tuner was killed with SIGKILL shortly after a snapshot,
    with trial processes still training."""
    root = tmp_path_factory.mktemp("resume")
    trainer = root / "trainer.py"
    trainer.write_text(TRAINER.format(epoch_seconds=EPOCH_SECONDS))
    driver = root / "driver.py"
    driver.write_text(DRIVER.format(max_t=MAX_T, trainer=str(trainer)))
    folder = root / "interrupted"
    snapshot = folder / "tuner.dill"
    with open(root / "driver.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, str(driver)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, SYNETUNE_FOLDER=str(root)),
        )
    deadline = time.time() + 120
    while not (snapshot.exists() and len(list(folder.glob("[0-9]*"))) >= 4):
        assert process.poll() is None and time.time() < deadline, (root / "driver.log").read_text()
        time.sleep(0.1)
    saved = snapshot.stat().st_mtime
    while snapshot.stat().st_mtime == saved:  # a fresh snapshot, then two more results
        time.sleep(0.05)
    printed = sum(map(len, reported(folder).values()))
    while sum(map(len, reported(folder).values())) < printed + 2:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return folder


def load_raw(folder: Path) -> Tuner:
    with open(folder / "tuner.dill", "rb") as f:
        return dill.load(f)


@pytest.mark.slow
def test_resume_recovers_every_result_and_pauses_interrupted_trials(interrupted_run):
    folder = interrupted_run
    snapshot = load_raw(folder)
    seen_at_save = sum(snapshot.trial_backend._last_metric_seen_index.values())
    # a training process that outlived the tuner
    leftover = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "--st_checkpoint_dir"]
        + [str(folder / "0" / "checkpoints")]
    )

    assert psutil.pid_exists(leftover.pid)

    tuner = resume_tuner(folder)

    assert not psutil.pid_exists(leftover.pid)  # killed and reaped
    assert trainers_running(folder) == 0
    printed = reported(folder)
    assert sum(map(len, printed.values())) > seen_at_save  # results came after the save
    trials = tuner.scheduler.trials
    assert sorted(trials) == sorted(printed) == tuner.trial_backend.trial_ids
    for trial_id, results in printed.items():
        curve, last_level = trials[trial_id].curve, trials[trial_id].last_level
        for result in results:  # no checkpoint: a repeated level has the same value
            if result["epoch"] <= last_level:
                assert curve[result["epoch"] - 1] == result["loss"]
            else:  # printed while the pause of its run was on its way: never forwarded
                assert np.isnan(curve[result["epoch"] - 1])
        assert tuner.trial_backend._last_metric_seen_index[trial_id] == len(results)
    assert not trials.with_status(RUNNING)
    for trial_id in trials.with_status(PAUSED):
        assert tuner.trial_backend._trial_dict[trial_id].status == Status.paused
        assert (folder / str(trial_id) / "pause").exists()
    assert tuner.metadata[ELAPSED_BEFORE_START] > 0
    assert elapsed_at_save(load_raw(folder), (folder / "tuner.dill").stat().st_mtime) == (
        pytest.approx(tuner.metadata[ELAPSED_BEFORE_START], abs=1.0)
    )


@pytest.mark.slow
def test_resumed_run_counts_spent_time_and_stores_each_result_once(interrupted_run):
    folder = interrupted_run
    spent = resume_tuner(folder).metadata[ELAPSED_BEFORE_START]
    tuner = resume_tuner(folder, stop_criterion=StoppingCriterion(max_wallclock_time=spent + 4))
    started = time.perf_counter()
    tuner.run()
    ran = time.perf_counter() - started
    # the clock went on from the time already spent, the time the tuner was down not counted
    assert spent + 4 < tuner.tuning_status.wallclock_time < spent + ran + 0.5
    assert ran < 4 + 5
    results = pd.read_csv(folder / "results.csv.zip")
    printed = reported(folder)
    keys = ["trial_id", "st_worker_timestamp"]
    stored = set(map(tuple, results[keys].itertuples(index=False)))
    assert len(stored) == len(results)  # no duplicates
    for trial_id, lines in printed.items():
        # a run prints until its pause reaches it (it restarts at epoch 1): what it
        # printed before the pause is stored, what it printed after is not
        runs = np.cumsum([r["epoch"] == 1 for r in lines])
        for run in set(runs):
            kept = [
                (trial_id, r["st_worker_timestamp"]) in stored
                for r, in_run in zip(lines, runs == run, strict=True)
                if in_run
            ]
            assert kept == sorted(kept, reverse=True), (trial_id, kept)
    assert stored <= {(t, r["st_worker_timestamp"]) for t, rs in printed.items() for r in rs}
    assert results["st_tuner_time"].is_monotonic_increasing or results["st_tuner_time"].max() > (
        spent
    )
    assert tuner.scheduler.trials.num_observations > 0
    assert trainers_running(folder) == 0


@pytest.mark.slow
def test_a_moved_run_resumes_in_its_new_folder_ignoring_a_trial_never_started(
    interrupted_run, tmp_path
):
    moved = tmp_path / "moved"
    shutil.copytree(interrupted_run, moved)
    never_started = max(int(p.name) for p in moved.iterdir() if p.name.isdigit()) + 1
    (moved / str(never_started)).mkdir()  # the tuner died before writing config.json

    tuner = resume_tuner(moved)

    assert tuner.tuner_path == moved and tuner.trial_backend.local_path == moved
    assert never_started not in tuner.trial_backend.trial_ids
    assert never_started not in tuner.scheduler.trials
    assert tuner.trial_backend.new_trial_id() == never_started


def test_interrupted_trial_is_paused_and_resumed_at_its_next_level():
    scheduler = DyHPO(
        {"x": uniform(0.0, 1.0), "epochs": MAX_T}, metric="loss", max_resource_attr="epochs"
    )
    first = scheduler.suggest()
    trial = Trial(trial_id=0, config=first.config, creation_time=None)
    scheduler.on_trial_add(trial)
    scheduler.on_trial_interrupted(trial)
    assert scheduler.trials[0].status == PAUSED
    assert scheduler.trials[0].last_level == 0
    scheduler.trials.resume(0)
    scheduler.on_trial_result(trial, {"epoch": 1, "loss": 0.5})  # paused at its target
    scheduler.on_trial_interrupted(trial)  # no effect on a paused trial
    assert scheduler.trials[0].status == PAUSED


def new_tuner(tmp_path: Path, scheduler, backend=None) -> Tuner:
    trainer = tmp_path / "trainer.py"
    trainer.write_text("")
    return CrashSafeTuner(
        trial_backend=backend or LocalBackend(entry_point=str(trainer)),
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_wallclock_time=1),
        n_workers=1,
        tuner_name="t",
        suffix_tuner_name=False,
    )


def test_resume_rejects_missing_or_corrupt_snapshots(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        resume_tuner(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="before its first save"):
        resume_tuner(tmp_path)
    (tmp_path / "tuner.dill").write_bytes(b"\x80\x04truncated")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        resume_tuner(tmp_path)
    (tmp_path / "tuner.dill").write_bytes(b"cmodule_of_another_version\nTuner\n.")
    with pytest.raises(ValueError, match="refers to code that is not installed"):
        resume_tuner(tmp_path)


def test_resume_rejects_a_scheduler_that_cannot_pause(tmp_path):
    tuner = new_tuner(tmp_path, RandomSearch({"x": uniform(0.0, 1.0)}, metrics=["loss"]))
    save_atomically(tuner, tmp_path)
    with pytest.raises(TypeError, match="can pause interrupted trials .* RandomSearch"):
        resume_tuner(tmp_path)


def test_crash_safe_save_keeps_the_last_complete_snapshot(tmp_path):
    space = {"x": uniform(0.0, 1.0), "epochs": MAX_T}
    tuner = new_tuner(tmp_path, DyHPO(space, metric="loss", max_resource_attr="epochs"))
    tuner.tuner_path = tmp_path
    tuner.save()
    tuner.metadata["unpicklable"] = (i for i in range(3))
    with pytest.raises(TypeError):
        tuner.save()
    assert isinstance(load_raw(tmp_path), CrashSafeTuner)  # the earlier snapshot
