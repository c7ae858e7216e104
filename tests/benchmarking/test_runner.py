"""The simulated clock (CPU or real time of the scheduler) and reproducible baselines."""

import json
import time

import pytest
from syne_tune.optimizer.baselines import RandomSearch

from benchmarking.benchmarks import DIGITS_TABLE
from benchmarking.blackbox import config_space
from benchmarking.runner import RunSpec, run, simulate
from benchmarking.tables import load_tables

SLEEP = 1.0  # seconds a slow scheduler waits in each suggest(), without using CPU
BURN = 0.3  # seconds of CPU a busy scheduler spends in each suggest()


def _burn() -> None:
    start = time.process_time()
    while time.process_time() - start < BURN:
        pass


def _first_result_time(table, clock: str, wait=lambda: time.sleep(SLEEP)) -> float:
    scheduler = RandomSearch(config_space(table), metrics=[table.metric_name], random_seed=0)
    suggest = scheduler.suggest

    def slow_suggest():
        wait()
        return suggest()

    scheduler.suggest = slow_suggest
    record = simulate(table, scheduler, n_workers=1, budget=25.0, clock=clock)
    assert record["clock"] == clock and len(record["decisions"]["time"]) >= 1
    return min(record["results"]["time"])


def test_sleeping_scheduler_costs_simulated_time_only_on_the_wall_clock(taskset_file):
    (table,) = load_tables(taskset_file)  # one evaluation: 10 simulated seconds
    assert _first_result_time(table, "cpu") < 10.0 + SLEEP / 2
    assert _first_result_time(table, "wall") >= 10.0 + SLEEP


def test_the_uncharged_clock_leaves_the_scheduler_time_off_the_simulated_clock(taskset_file):
    (table,) = load_tables(taskset_file)
    assert _first_result_time(table, "cpu", _burn) >= 10.0 + BURN
    assert _first_result_time(table, "none", _burn) < 10.0 + BURN / 2


def test_unknown_clock_is_named(taskset_file):
    (table,) = load_tables(taskset_file)
    scheduler = RandomSearch(config_space(table), metrics=[table.metric_name])
    expected = "clock must be one of \\['cpu', 'none', 'wall'\\], got 'gpu'"
    with pytest.raises(ValueError, match=expected):
        simulate(table, scheduler, n_workers=1, budget=1.0, clock="gpu")


@pytest.mark.parametrize("method", ["random_search", "asha"])
def test_baselines_are_reproducible_from_their_seed(tmp_path, method):
    def run_twice(seed: int, folder: str) -> list:
        spec = RunSpec(method, "digits/digits_mlp", str(DIGITS_TABLE), seed, 1, 2.0)
        record = json.loads(run(spec, tmp_path / folder).read_text())
        return [c for c in record["decisions"]["config"] if c is not None]

    first = run_twice(0, "a")
    assert run_twice(0, "b") == first
    assert run_twice(1, "c")[0] != first[0]


def test_time_scale_shrinks_every_training_time_and_the_budget(tmp_path):
    def record_of(time_scale: float, folder: str) -> dict:
        spec = RunSpec("asha", "digits/digits_mlp", str(DIGITS_TABLE), 0, 1, 2.0, "cpu", time_scale)
        return json.loads(run(spec, tmp_path / folder).read_text())

    full, tenth = record_of(1.0, "a"), record_of(0.1, "b")
    assert tenth["budget"] == pytest.approx(0.1 * full["budget"])
    assert tenth["median_full_time"] == pytest.approx(0.1 * full["median_full_time"])
    assert min(tenth["results"]["time"]) < min(full["results"]["time"])


def test_dyhpo_runs_record_what_it_told_the_trials(tmp_path):
    spec = RunSpec("dyhpo", "digits/digits_mlp", str(DIGITS_TABLE), 0, 2, 2.0)
    record = json.loads(run(spec, tmp_path).read_text())
    counts = record["counts"]
    assert counts["starts"] == sum(record["decisions"]["new"]) > 0
    assert counts["pauses"] + counts["continues"] > 0
