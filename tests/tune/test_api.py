"""``tune``: objective function in, best configuration and its checkpoint out."""

import csv
import json
import math

import pytest
from syne_tune.config_space import choice, uniform

from syne_dyhpo import tune
from tests.tune import objectives as tune_objectives

FAST = {
    "num_configurations": 32,
    "scheduler_kwargs": {"surrogate_kwargs": {"scratch_steps": 20, "refine_steps": 5}},
}
# The convergence checks fit the surrogate as users get it: 20 Adam steps leave
# the network near its initialization and the search close to random.
CONVERGING = {"num_configurations": 32}
SPACE = {"x": uniform(-10.0, 10.0)}


def _rows(result):
    with open(result.output_path / "results.csv") as file:
        return list(csv.DictReader(file))


def _assert_found_near_2(result):
    """Best x within 1 of 2 (searching the wrong direction ends at |x| > 7)."""
    assert abs(result.configuration["x"] - 2) < 1.0


def _assert_converged_near_2(result):
    """The best x near 2, and the search went there: at least 45 % of the
    epochs trained configurations within 3 of it (uniform sampling: 30 %; the
    wrong direction: 16-27 %). One worker: 48 % or more over 50 runs, idle and
    with both cores loaded. With two workers results arrive in real time, the
    order of decisions varies, and once x near 2 is found expected improvement
    explores the edges of the interval for a varying part of the budget (share
    25-80 %), so the two-worker test checks the best x alone."""
    _assert_found_near_2(result)
    rows = _rows(result)
    near = sum(abs(float(r["config_x"]) - 2) < 3 for r in rows)
    assert near / len(rows) >= 0.45


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_budget": 0}, "max_budget must be an integer >= 1, got 0"),
        ({"max_epochs": 2.5}, "max_epochs must be an integer >= 1, got 2.5"),
        ({"n_workers": True}, "n_workers must be an integer >= 1, got True"),
        ({"config_space": {"dyhpo_epoch": 3, **SPACE}}, "key 'dyhpo_epoch' is reserved"),
        ({"config_space": {"x": [1, 2]}}, "Hyperparameter 'x'"),
        ({"timeout": 0}, "timeout must be a number of seconds > 0 or None, got 0"),
        ({"max_wallclock_time": "1h"}, "max_wallclock_time must be a number of seconds"),
        ({"verbose": 3}, r"verbose must be 0, 1 \(progress line\) or 2"),
        ({"metric": "epoch"}, "metric must be a non-empty string other than 'epoch'"),
        ({"scheduler_kwargs": {"lookahead": "far"}}, "lookahead"),
    ],
)
def test_bad_arguments_are_named_before_anything_is_written(tmp_path, kwargs, message):
    arguments = {"config_space": SPACE, "max_budget": 5, "max_epochs": 3, **kwargs}
    output = tmp_path / "out"
    with pytest.raises(ValueError, match=message):
        tune(tune_objectives.quadratic, output_path=output, **arguments)
    assert not output.exists()


def test_a_used_output_folder_is_refused(tmp_path):
    (tmp_path / "old.csv").touch()
    with pytest.raises(ValueError, match="is not empty; pass resume=True to continue"):
        tune(tune_objectives.quadratic, SPACE, max_budget=5, max_epochs=3, output_path=tmp_path)
    with pytest.raises(ValueError, match="holds no journal.jsonl, so no run of tune"):
        tune(
            tune_objectives.quadratic,
            SPACE,
            max_budget=5,
            max_epochs=3,
            output_path=tmp_path,
            resume=True,
        )
    with pytest.raises(TypeError, match="objective must be callable"):
        tune("quadratic", SPACE, max_budget=5, max_epochs=3, output_path=tmp_path / "new")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The README's toy, minimized, pruning all checkpoints but the incumbent's."""
    output = tmp_path_factory.mktemp("toy") / "out"
    result = tune(
        tune_objectives.quadratic,
        SPACE,
        max_budget=30,
        max_epochs=3,
        minimize=True,
        output_path=output,
        prune_checkpoints=True,
        **CONVERGING,
    )
    return result


@pytest.mark.slow
def test_the_toy_converges_near_2_when_minimizing(toy):
    _assert_converged_near_2(toy)
    assert toy.metric == pytest.approx((toy.configuration["x"] - 2) ** 2)
    assert toy.failures == {}


@pytest.mark.slow
def test_the_output_folder_holds_results_best_configuration_and_its_checkpoint(toy):
    rows = _rows(toy)
    assert len(rows) == 30  # one worker: exactly the budget
    assert {"configuration_id", "epoch", "metric", "elapsed_seconds", "config_x"} <= set(rows[0])
    assert len({(r["configuration_id"], r["epoch"]) for r in rows}) == 30
    best_row = min(rows, key=lambda r: float(r["metric"]))
    assert float(best_row["metric"]) == toy.metric
    assert int(best_row["configuration_id"]) == toy.configuration_id
    best = json.loads((toy.output_path / "best_configuration.json").read_text())
    assert best["configuration"] == toy.configuration and best["metric"] == toy.metric
    assert best["checkpoint_path"] == str(toy.checkpoint_path)
    assert toy.checkpoint_path == toy.output_path / "checkpoints" / str(toy.configuration_id)
    assert list((toy.output_path / "checkpoints").iterdir()) == [toy.checkpoint_path]
    assert (toy.output_path / "trials" / str(toy.configuration_id) / "std.out").exists()


@pytest.mark.slow
def test_the_toy_converges_near_2_when_maximizing_with_two_workers(tmp_path):
    result = tune(
        tune_objectives.negative_quadratic,
        SPACE,
        max_budget=30,
        max_epochs=3,
        minimize=False,
        n_workers=2,
        output_path=tmp_path / "out",
        **CONVERGING,
    )
    _assert_found_near_2(result)
    assert result.metric == max(float(r["metric"]) for r in _rows(result))
    assert len(_rows(result)) in (30, 31)  # the second worker's epoch finishes


@pytest.mark.slow
def test_checkpoint_folders_persist_across_resumes(tmp_path):
    result = tune(
        tune_objectives.counting,  # raises unless its checkpoint is at previous_epoch
        {"x": uniform(0.0, 1.0)},
        max_budget=12,
        max_epochs=4,
        n_workers=2,
        output_path=tmp_path / "out",
        **FAST,
    )
    assert result.failures == {}
    rows = _rows(result)
    last_epoch = {}
    for row in rows:
        key = row["configuration_id"]
        last_epoch[key] = max(last_epoch.get(key, 0), int(row["epoch"]))
        assert row["resumed"] == str(int(row["epoch"]) > 1)
    assert max(last_epoch.values()) >= 2, "no configuration was resumed"
    for key, epoch in last_epoch.items():
        state = result.output_path / "checkpoints" / key / "state.json"
        assert json.loads(state.read_text()) == {"epoch": epoch}


@pytest.mark.slow
def test_bad_objectives_cost_only_their_configuration(tmp_path):
    modes = ["good", "raise", "no_metric", "nan", "wrong_epoch", "not_a_dict"]
    result = tune(
        tune_objectives.misbehaving,
        {"mode": choice(modes), "x": uniform(1.0, 2.0)},
        max_budget=6,
        max_epochs=3,
        output_path=tmp_path / "out",
        num_configurations=32,
        scheduler_kwargs={
            "points_to_evaluate": [{"mode": m} for m in modes],
            "surrogate_kwargs": {"scratch_steps": 20, "refine_steps": 5},
        },
    )
    messages = {m: result.failures.get(i, "") for i, m in enumerate(modes)}
    assert "ValueError: boom" in messages["raise"]
    assert "has no ['metric']" in messages["no_metric"]
    assert "epochs [2]; expected increasing epochs in 1 ... 1" in messages["wrong_epoch"]
    assert "returned 1.5; expected a dict" in messages["not_a_dict"]
    assert messages["good"] == messages["nan"] == ""
    rows = _rows(result)
    nan_rows = [r for r in rows if r["configuration_id"] == str(modes.index("nan"))]
    assert len(nan_rows) == 1 and math.isnan(float(nan_rows[0]["metric"]))  # never resumed
    assert result.configuration["mode"] == "good" and math.isfinite(result.metric)
    assert len(rows) == 6


@pytest.mark.slow
def test_a_broken_objective_ends_the_run_with_its_error(tmp_path):
    with pytest.raises(RuntimeError, match="ZeroDivisionError: always broken"):
        tune(
            tune_objectives.broken,
            SPACE,
            max_budget=10,
            max_epochs=3,
            max_consecutive_failures=2,
            output_path=tmp_path / "out",
            **FAST,
        )
    assert len(list((tmp_path / "out" / "trials").glob("*/std.err"))) == 2  # none after
