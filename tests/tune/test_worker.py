"""The worker of ``tune``: result validation, calls run in-process, the objective pickled."""

import math
import sys
from pathlib import Path

import pytest

from syne_dyhpo.tune import worker
from tests.tune import objectives


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        ({"epoch": 3, "metric": 0.5}, [(3, 0.5)]),
        ([{"epoch": 2, "metric": 1}, {"epoch": 3.0, "metric": 0.5}], [(2, 1.0), (3, 0.5)]),
        ([{"epoch": 3, "metric": math.nan}], [(3, math.nan)]),
    ],
)
def test_valid_results_are_normalized(returned, expected):
    results = worker.validate_results(returned, previous_epoch=1, epoch=3)
    got = [(r["epoch"], r["metric"]) for r in results]
    assert [e for e, _ in got] == [e for e, _ in expected]
    assert all(type(r["epoch"]) is int and type(r["metric"]) is float for r in results)
    assert str(got) == str(expected)  # nan compares equal as text


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (0.5, "expected a dict or a non-empty list"),
        ([], "expected a dict or a non-empty list"),
        ({"epoch": 3, "loss": 1.0}, "has no ['metric']"),
        ({"epoch": 3, "metric": "low"}, "metric='low'; expected a real number"),
        ({"epoch": 2.5, "metric": 1.0}, "epoch=2.5; expected an integer"),
        ({"epoch": 2, "metric": 1.0}, "epochs [2]; expected increasing epochs in 2 ... 3"),
        ([{"epoch": 3, "metric": 1}, {"epoch": 3, "metric": 1}], "epochs [3, 3]"),
        ({"epoch": 4, "metric": 1.0}, "epochs [4]"),
        ({"epoch": 3, "metric": 1.0, "weights": [1, 2]}, "extra entry 'weights'"),
        ({"epoch": 3, "metric": 1.0, "st_time": 1.0}, "extra entry 'st_time'"),
    ],
)
def test_malformed_results_are_named(returned, message):
    with pytest.raises((TypeError, ValueError)) as info:
        worker.validate_results(returned, previous_epoch=1, epoch=3)
    assert "objective(epoch=3, previous_epoch=1)" in str(info.value)
    assert message in str(info.value)


def test_the_metric_may_have_the_users_key():
    (result,) = worker.validate_results(
        {"epoch": 3, "val_acc": 0.5, "loss": 1.0}, previous_epoch=2, epoch=3, metric="val_acc"
    )
    assert result == {"epoch": 3, "metric": 0.5, "val_acc": 0.5, "loss": 1.0}
    with pytest.raises(ValueError, match="has no \\['val_acc'\\]"):
        worker.validate_results({"epoch": 3, "metric": 0.5}, 2, 3, metric="val_acc")
    with pytest.raises(ValueError, match="has a 'metric' entry, but the metric is 'val_acc'"):
        worker.validate_results({"epoch": 3, "val_acc": 0.5, "metric": 1}, 2, 3, metric="val_acc")


def _call(tmp_path, epoch, previous_epoch, **configuration):
    return worker.Call(
        configuration=configuration,
        epoch=epoch,
        previous_epoch=previous_epoch,
        checkpoint_path=str(tmp_path / "checkpoint"),
        stdout_path=str(tmp_path / "std.out"),
        stderr_path=str(tmp_path / "std.err"),
    )


def test_calls_resume_from_the_checkpoint_folder(tmp_path):
    replies = [
        worker.run_call(objectives.counting, _call(tmp_path, epoch, previous, x=1.0), "metric")
        for previous, epoch in [(0, 1), (1, 2), (2, 4)]
    ]
    metrics = [(r["epoch"], r["metric"]) for kind, results in replies for r in results]
    assert [kind for kind, _ in replies] == ["results"] * 3
    assert metrics == [(1, 2.0), (2, 1.5), (3, 1 + 1 / 3), (4, 1.25)]
    assert (tmp_path / "checkpoint" / "state.json").read_text() == '{"epoch": 4}'


@pytest.mark.parametrize(
    ("objective", "message"),
    [
        (objectives.broken, "ZeroDivisionError: always broken"),
        (objectives.exits, "the objective called sys.exit(0)"),
    ],
)
def test_a_failing_call_returns_its_error_and_logs_its_traceback(tmp_path, objective, message):
    assert worker.run_call(objective, _call(tmp_path, 1, 0, x=0.0), "metric") == ("error", message)
    assert "Traceback" in (tmp_path / "std.err").read_text()


def test_a_local_function_is_pickled_by_value():
    offset = 3.0

    def shifted(configuration, epoch, previous_epoch, checkpoint_path):
        return {"epoch": epoch, "metric": configuration["x"] + offset}

    loaded = worker.load_objective(worker.dump_objective(shifted))
    assert loaded({"x": 1.0}, 1, 0, "")["metric"] == 4.0


def test_no_package_module_shadows_a_module_the_worker_imports():
    """The worker runs as a script, so the package folder heads its ``sys.path``
    until the caller's path replaces it."""
    names = {path.stem for path in Path(worker.__file__).parent.iterdir()}
    assert not names & (set(sys.stdlib_module_names) | {"dill"})
