"""Real runs for the analysis and plot tests, each small: a LocalBackend Tuner run of
a tiny training script, the same run killed and resumed, a tune() run, a simulated
run of the benchmark harness; and synthetic benchmark records of any size."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from syne_tune import StoppingCriterion
from syne_tune.backend import LocalBackend
from syne_tune.config_space import choice, uniform
from syne_tune.results_callback import StoreResultsCallback

from syne_dyhpo import CrashSafeTuner, DecisionLog, DyHPO, resume_tuner, tune
from syne_dyhpo.crash_safety.trial_outputs import reported_results, trial_ids_on_disk
from tests.tune.objectives import misbehaving, quadratic

MAX_T = 4
FAST_SURROGATE = {"scratch_steps": 20, "refine_steps": 5}

#: Reports as syne_tune.Reporter does (same keys), without importing syne_tune: fast.
TRAINER = """
import argparse, json, time
from pathlib import Path

START = time.perf_counter()
ITERATION = 0

def report(**result):
    global ITERATION
    result.update(st_worker_timestamp=time.time(), st_worker_time=time.perf_counter() - START,
                  st_worker_iter=ITERATION)
    ITERATION += 1
    print("[tune-metric]: " + json.dumps(result), flush=True)

parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float)
parser.add_argument("--epochs", type=int)
parser.add_argument("--st_checkpoint_dir", type=str)
args, _ = parser.parse_known_args()
checkpoint = Path(args.st_checkpoint_dir) / "epoch.txt"
done = int(checkpoint.read_text()) if checkpoint.exists() else 0
for epoch in range(done + 1, args.epochs + 1):
    time.sleep(0.15)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.write_text(str(epoch))
    report(epoch=epoch, loss=(args.x - 0.3) ** 2 + 1.0 / epoch)
"""

DRIVER = """
import sys
from syne_tune import StoppingCriterion
from tests.analysis.runs import tuner
tuner(sys.argv[1], sys.argv[2], StoppingCriterion(max_wallclock_time=600)).run()
"""


def tuner(folder, trainer, stop_criterion, *, n_workers: int = 2) -> CrashSafeTuner:
    """DyHPO on ``trainer`` writing to ``folder``, with a decision log."""
    scheduler = DyHPO(
        {"x": uniform(0.0, 1.0), "epochs": MAX_T},
        metric="loss",
        time_attr="epoch",
        max_resource_attr="epochs",
        random_seed=0,
        surrogate_kwargs=FAST_SURROGATE,
        go_on=False,  # one process per level: no line is printed after a pause decision
    )
    folder = Path(folder)
    run = CrashSafeTuner(
        trial_backend=LocalBackend(entry_point=str(trainer)),
        scheduler=scheduler,
        stop_criterion=stop_criterion,
        n_workers=n_workers,
        sleep_time=0.05,
        results_update_interval=1.0,
        max_failures=100,
        wait_trial_completion_when_stopping=True,
        callbacks=[StoreResultsCallback(), DecisionLog()],
        tuner_name=folder.name,
        suffix_tuner_name=False,
        trial_backend_path=str(folder),
    )
    run.tuner_path = folder
    return run


def write_trainer(root: Path) -> Path:
    trainer = root / "trainer.py"
    trainer.write_text(TRAINER)
    return trainer


def tuner_run(root: Path) -> Path:
    """A LocalBackend run of 16 reports on 2 workers."""
    folder = root / "tuner-run"
    tuner(folder, write_trainer(root), StoppingCriterion(max_num_evaluations=16)).run()
    return folder


def killed_and_resumed_run(root: Path) -> Path:
    """A run whose tuner is killed with SIGKILL after 6 reports and resumed
    for 8 more reports."""
    folder = root / "resumed-run"
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=f"{repo}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    driver = root / "driver.py"
    driver.write_text(DRIVER)
    with open(root / "driver.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, str(driver), str(folder), str(write_trainer(root))],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.time() + 180
    while not ((folder / "tuner.dill").exists() and len(reports(folder)) >= 6):
        assert process.poll() is None and time.time() < deadline, (root / "driver.log").read_text()
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = resume_tuner(folder)
    spent = len(reports(folder))
    resumed.stop_criterion = StoppingCriterion(max_num_evaluations=spent + 8)
    resumed.run()
    return folder


def reports(folder: Path) -> list[tuple[int, int, float]]:
    """(trial_id, level, loss) of every report the trial scripts printed."""
    if not folder.is_dir():
        return []
    return [
        (trial_id, result["epoch"], result["loss"])
        for trial_id in trial_ids_on_disk(folder)
        for result in reported_results(folder / str(trial_id))
    ]


def tune_run(root: Path) -> Path:
    output = root / "tune-run"
    tune(
        quadratic,
        {"x": uniform(-3.0, 3.0)},
        max_budget=10,
        max_epochs=3,
        n_workers=2,
        output_path=output,
        scheduler_kwargs={"surrogate_kwargs": FAST_SURROGATE},
    )
    return output


def misbehaving_tune_run(root: Path) -> Path:
    """A tune() run where some configurations raise and some return NaN."""
    output = root / "misbehaving-run"
    space = {"mode": choice(["good", "raise", "nan"]), "x": uniform(0.0, 1.0)}
    tune(
        misbehaving,
        space,
        max_budget=8,
        max_epochs=2,
        output_path=output,
        max_consecutive_failures=20,
        scheduler_kwargs={
            "surrogate_kwargs": FAST_SURROGATE,
            "points_to_evaluate": [{"mode": m, "x": 0.5} for m in ("nan", "raise", "good")],
        },
    )
    return output


def benchmark_record(root: Path) -> Path:
    """A simulated run of the benchmark harness on the embedded digits table."""
    from benchmarking.benchmarks import DIGITS_TABLE
    from benchmarking.runner import RunSpec, run

    spec = RunSpec("dyhpo", "digits/digits_mlp", str(DIGITS_TABLE), 0, 2, 4.0)
    return run(spec, root / "campaign", code_version="test")


def synthetic_record(
    path: Path, *, n_trials: int, n_workers: int, max_t: int, seed: int, max_levels: int = 1
) -> dict:
    """A benchmark record of a made-up asynchronous run: each free worker gets,
    after a short decision, a new trial or a paused one for 1 … ``max_levels``
    levels. Writes it to ``path``; returns the truth: ``segments``, a list of
    (trial_id, start, worker) per run of a trial, in order."""
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0.5, 2.0, n_trials)
    free, ends = [0.0] * n_workers, {}  # worker -> free at; trial -> end of its last run
    decided = 0.0  # suggestions are computed one after another
    levels: dict[int, int] = {}
    results = {"time": [], "value": [], "trial_id": [], "level": []}
    decisions = {"time": [], "seconds": [], "new": [], "config": []}
    truth = []
    while True:
        worker = int(np.argmin(free))
        seconds = float(rng.uniform(0.01, 0.05))
        decided = now = max(decided, free[worker]) + seconds
        paused = [t for t, e in ends.items() if e <= now and levels[t] < max_t]
        if len(levels) < n_trials and (not paused or rng.random() < 0.5):
            trial_id = len(levels)
            levels[trial_id] = 0
            config = {"x": float(rng.random()), "epochs": 1}
        elif paused:
            trial_id, config = int(rng.choice(paused)), None
        else:
            break
        decisions["time"].append(now)
        decisions["seconds"].append(seconds)
        decisions["new"].append(config is not None)
        decisions["config"].append(config)
        truth.append((trial_id, now, worker))
        run_levels = min(int(rng.integers(1, max_levels + 1)), max_t - levels[trial_id])
        for _ in range(run_levels):
            now += cost[trial_id]
            levels[trial_id] += 1
            results["time"].append(now)
            results["value"].append(float(cost[trial_id] / levels[trial_id]))
            results["trial_id"].append(trial_id)
            results["level"].append(levels[trial_id])
        free[worker] = ends[trial_id] = now
    order = np.argsort(results["time"], kind="stable")
    results = {key: [values[i] for i in order] for key, values in results.items()}
    record = {
        "metric": "loss",
        "do_minimize": True,
        "n_workers": n_workers,
        "results": results,
        "decisions": decisions,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return {"segments": truth}
