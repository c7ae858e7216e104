"""``tune(..., resume=True)`` after the tuning process was killed with SIGKILL at
random moments, and seeded runs that repeat."""

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from syne_tune.config_space import uniform

from syne_dyhpo import tune
from tests.tune import objectives

ROOT = Path(__file__).resolve().parents[2]
BUDGET = 60  # leaves each killed run more epochs than it can train before the kill
DRIVER = f"""
import sys
from syne_tune.config_space import uniform
from syne_dyhpo import tune
from tests.tune import objectives

tune(
    objectives.cut_off_counting,
    {{"x": uniform(0.0, 1.0)}},
    max_budget={BUDGET},
    max_epochs=4,
    n_workers=2,
    output_path=sys.argv[1],
    resume=True,
    verbose=0,
    num_configurations=16,
    scheduler_kwargs={{"surrogate_kwargs": {{"scratch_steps": 20, "refine_steps": 5}}}},
)
"""


def _start(output: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(output)], env=env, cwd=ROOT)


def _rows(output: Path) -> list[dict]:
    if not (output / "results.csv").exists():
        return []
    with open(output / "results.csv") as file:
        return list(csv.DictReader(file))


def _wait_for(condition, what: str, seconds: float = 120.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as file:  # a zombie is dead
        return file.read().split()[2] != "Z"


@pytest.mark.slow
def test_a_run_killed_three_times_resumes_without_losing_or_repeating_an_epoch(tmp_path):
    output, rng = tmp_path / "out", random.Random(0)
    for _ in range(3):
        before = len(_rows(output))
        run = _start(output)
        _wait_for(
            lambda b=before, r=run: r.poll() is not None or len(_rows(output)) >= b + 3,
            "3 more epochs",
        )
        assert run.poll() is None, "the run ended before it was killed"
        time.sleep(rng.uniform(0.0, 0.3))
        run.send_signal(signal.SIGKILL)
        run.wait()
        assert (output / "best_configuration.json").exists()
        pids = {int(p) for p in (output / "pids.txt").read_text().split()}
        _wait_for(lambda p=pids: not any(map(_alive, p)), "the workers to die with the tuner")
    run = _start(output)
    assert run.wait(timeout=300) == 0
    rows = _rows(output)
    journal = [
        json.loads(line)["row"]
        for line in (output / "journal.jsonl").read_text().splitlines()
        if '"result"' in line
    ]
    assert [(str(r["configuration_id"]), str(r["epoch"])) for r in journal] == [
        (r["configuration_id"], r["epoch"]) for r in rows
    ]
    epochs: dict[str, list[int]] = {}
    for row in rows:
        epochs.setdefault(row["configuration_id"], []).append(int(row["epoch"]))
    assert all(e == list(range(1, len(e) + 1)) for e in epochs.values()), epochs
    assert BUDGET <= len(rows) <= BUDGET + 1  # the second worker's last epoch may finish
    assert max(map(len, epochs.values())) >= 2, "no configuration was resumed"
    best = json.loads((output / "best_configuration.json").read_text())
    assert best["failures"] == {} and best["epochs"] == len(rows)
    assert best["metric"] == min(float(r["metric"]) for r in rows)
    for configuration_id, trained in epochs.items():
        state = output / "checkpoints" / configuration_id / "state.json"
        assert json.loads(state.read_text())["epoch"] >= trained[-1]


def test_resuming_with_other_settings_is_refused(tmp_path):
    (tmp_path / "journal.jsonl").write_text(
        json.dumps({"event": "run", "max_epochs": 4, "minimize": True, "metric": "metric"}) + "\n"
    )
    with pytest.raises(ValueError, match=r"different settings .*'max_epochs': \(4, 5\)"):
        tune(
            objectives.quadratic,
            {"x": uniform(0.0, 1.0)},
            max_budget=3,
            max_epochs=5,
            output_path=tmp_path,
            resume=True,
        )


def _seeded_run(output: Path):
    return tune(
        objectives.quadratic,
        {"x": uniform(-10.0, 10.0)},
        max_budget=12,
        max_epochs=3,
        seed=3,
        output_path=output,
        verbose=0,
        num_configurations=16,
        scheduler_kwargs={"cost_aware": False, "surrogate_kwargs": {"scratch_steps": 20}},
    )


@pytest.mark.slow
def test_a_seeded_sequential_run_repeats(tmp_path):
    first, second = _seeded_run(tmp_path / "a"), _seeded_run(tmp_path / "b")
    columns = ["configuration_id", "epoch", "metric", "config_x"]
    assert first.results[columns].equals(second.results[columns])
    assert first.results["configuration_id"].nunique() >= 3
    assert (first.configuration, first.metric) == (second.configuration, second.metric)


def _counting_run(output: Path, max_budget: int):
    return tune(
        objectives.counting,  # raises unless its checkpoint is at previous_epoch
        {"x": uniform(0.0, 1.0)},
        max_budget=max_budget,
        max_epochs=3,
        output_path=output,
        resume=True,
        verbose=0,
        num_configurations=16,
        scheduler_kwargs={"surrogate_kwargs": {"scratch_steps": 20, "refine_steps": 5}},
    )


@pytest.mark.slow
def test_a_finished_run_resumed_with_a_larger_budget_goes_on_from_its_checkpoints(tmp_path):
    first = _counting_run(tmp_path, 5)
    again = _counting_run(tmp_path, 5)  # the budget is spent: nothing to do
    assert again.results.equals(first.results) and again.configuration == first.configuration
    more = _counting_run(tmp_path, 9)
    assert more.failures == {} and len(more.results) == 9
    assert more.results.iloc[:5].equals(first.results)
    assert set(more.results["configuration_id"]) == set(
        range(len(more.results.groupby("configuration_id")))
    )  # ids go on
    assert sum(1 for _ in open(tmp_path / "results.csv")) == 1 + 9
