"""The trial entry point of ``tune``: result validation, progress, the report protocol."""

import json
import math
import sys
from pathlib import Path

import pytest
from syne_tune.constants import ST_METRIC_TAG, ST_WORKER_TIMESTAMP
from syne_tune.report import retrieve

from syne_dyhpo import _tune_worker as worker
from tests import tune_objectives


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


def test_report_lines_follow_syne_tunes_protocol(capsys):
    assert (worker.METRIC_TAG, worker.WORKER_TIMESTAMP) == (ST_METRIC_TAG, ST_WORKER_TIMESTAMP)
    worker.report({"epoch": 2, "metric": math.nan, "acc": 0.5})
    (result,) = retrieve(capsys.readouterr().out.splitlines())
    assert result["epoch"] == 2 and math.isnan(result["metric"]) and result["acc"] == 0.5
    assert ST_WORKER_TIMESTAMP in result


class _Writes(list):
    """A stdout that keeps each write."""

    write = list.append

    def flush(self):
        pass


def test_a_report_line_is_written_whole(monkeypatch):
    """Unbuffered ``print`` writes the newline apart; killed in between (a
    pause), the next run's line would be glued to this one."""
    writes = _Writes()
    monkeypatch.setattr(sys, "stdout", writes)
    worker.report({"epoch": 1, "metric": 0.5})
    assert len(writes) == 1 and writes[0].endswith("}\n")


def _trial(tmp_path, objective, epoch, **config):
    """A trial folder as the backend writes it; returns the config file."""
    objective_file = tmp_path / "objective.dill"
    if not objective_file.exists():
        worker.save_objective(objective, objective_file)
    config_file = tmp_path / "trial" / "config.json"
    config_file.parent.mkdir(exist_ok=True)
    config_file.write_text(
        json.dumps({**config, worker.EPOCH_KEY: epoch, worker.OBJECTIVE_KEY: str(objective_file)})
    )
    return config_file


def _reported(capsys):
    return [(r["epoch"], r["metric"]) for r in retrieve(capsys.readouterr().out.splitlines())]


def test_runs_resume_from_the_checkpoint_folder(tmp_path, capsys):
    checkpoints = tmp_path / "checkpoint"
    for epoch in (1, 2, 4):
        worker.run(_trial(tmp_path, tune_objectives.counting, epoch, x=1.0), checkpoints)
    # each later run first reports the epoch the run before it ended at
    assert _reported(capsys) == [(1, 2.0), (1, 2.0), (2, 1.5), (2, 1.5), (3, 1 + 1 / 3), (4, 1.25)]
    assert json.loads((checkpoints / "state.json").read_text()) == {"epoch": 4}


def test_an_epoch_already_trained_is_reported_again_without_training(tmp_path, capsys):
    checkpoints = tmp_path / "checkpoint"
    worker.run(_trial(tmp_path, tune_objectives.counting, 2, x=0.0), checkpoints)
    capsys.readouterr()
    worker.run(_trial(tmp_path, tune_objectives.counting, 2, x=0.0), checkpoints)
    assert _reported(capsys) == [(2, 0.5)]  # counting would raise if called again at epoch 2


def test_a_failing_objective_exits_with_a_tagged_one_line_error(tmp_path, capsys):
    config_file = _trial(tmp_path, tune_objectives.broken, 1, x=0.0)
    argv = ["--st_config_json_filename", str(config_file), "--st_checkpoint_dir", str(tmp_path)]
    with pytest.raises(SystemExit) as info:
        worker.main(argv)
    assert info.value.code == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == f"{worker.ERROR_TAG} ZeroDivisionError: always broken"
    assert any("Traceback" in line for line in err)


def test_a_local_function_is_pickled_by_value(tmp_path):
    offset = 3.0

    def shifted(configuration, epoch, previous_epoch, checkpoint_path):
        return {"epoch": epoch, "metric": configuration["x"] + offset}

    worker.save_objective(shifted, tmp_path / "f.dill")
    assert worker.load_objective(tmp_path / "f.dill")({"x": 1.0}, 1, 0, "")["metric"] == 4.0


def test_no_package_module_shadows_a_module_the_worker_imports():
    """The worker runs as a script, so the package folder heads its ``sys.path``
    until the caller's path replaces it."""
    names = {path.stem for path in Path(worker.__file__).parent.iterdir()}
    assert not names & (set(sys.stdlib_module_names) | {"dill"})
