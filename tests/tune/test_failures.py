"""``tune`` when things go wrong, with real worker processes: calls that crash,
exit, are killed or hang, objectives that cannot be pickled or loaded, and a
time budget."""

import csv
import json
import math

import pytest
from syne_tune.config_space import choice, uniform

from syne_dyhpo import tune
from syne_dyhpo.tune.pool import SetupError, WorkerPool
from syne_dyhpo.tune.worker import Call, dump_objective
from tests.tune import objectives

FAST = {"scratch_steps": 20, "refine_steps": 5}
SPACE = {"x": uniform(-10.0, 10.0)}


def _call(tmp_path, **configuration):
    return Call(configuration, 1, 0, str(tmp_path / "ck"), str(tmp_path / "o"), str(tmp_path / "e"))


def _outcomes(pool, count):
    outcomes = []
    while len(outcomes) < count:
        outcomes += pool.wait(1.0)
    return {o.key: o for o in outcomes}


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("sigkill", "its worker process was killed by SIGKILL (out of memory?)"),
        ("os_exit", "its worker process exited with code 0 (os._exit?)"),
        ("sys_exit", "the objective called sys.exit(0)"),
        ("hang", "timed out after 0.5 s (timeout); its worker was killed"),
    ],
)
def test_a_dying_or_hung_call_fails_alone_and_its_worker_is_replaced(tmp_path, mode, message):
    pool = WorkerPool(dump_objective(objectives.misbehaving), metric="metric", size=2, timeout=0.5)
    try:
        pool.start()
        pids = {w.process.pid for w in pool.workers}
        pool.submit("bad", _call(tmp_path, mode=mode, x=1.0))
        pool.submit("good", _call(tmp_path, mode="good", x=2.0))
        outcomes = _outcomes(pool, 2)
        assert outcomes["bad"].error.endswith(message) and outcomes["bad"].results is None
        assert outcomes["good"].results == [{"epoch": 1, "metric": 2.0}]
        pool.submit("after", _call(tmp_path, mode="good", x=3.0))  # on any of the two workers
        pool.submit("after 2", _call(tmp_path, mode="good", x=4.0))
        assert {k: o.error for k, o in _outcomes(pool, 2).items()} == {
            "after": None,
            "after 2": None,
        }
        replaced = {w.process.pid for w in pool.workers} != pids
        assert replaced == (mode != "sys_exit")  # sys.exit is caught: the worker lives on
    finally:
        pool.close()


def test_a_worker_that_cannot_load_the_objective_is_a_setup_error(tmp_path):
    pool = WorkerPool(
        dump_objective(objectives.Unloadable()), metric="metric", size=1, timeout=None
    )
    try:
        with pytest.raises(SetupError, match="ImportError: no such module in the worker"):
            pool.start()
    finally:
        pool.close()


@pytest.mark.slow
def test_misbehaving_calls_cost_only_their_configuration(tmp_path, capfd):
    modes = ["good", "sigkill", "os_exit", "sys_exit", "hang", "good"]
    result = tune(
        objectives.misbehaving,
        {"mode": choice(modes[:-1]), "x": uniform(1.0, 2.0)},
        max_budget=4,
        max_epochs=3,
        n_workers=2,
        timeout=1.0,
        output_path=tmp_path / "out",
        num_configurations=16,
        verbose=2,
        scheduler_kwargs={
            "points_to_evaluate": [{"mode": m} for m in modes],
            "surrogate_kwargs": FAST,
        },
    )
    assert sorted(result.failures) == [1, 2, 3, 4]
    assert "killed by SIGKILL" in result.failures[1]
    assert "exited with code 0" in result.failures[2]
    assert "sys.exit(0)" in result.failures[3]
    assert "timed out after 1 s" in result.failures[4]
    assert result.configuration["mode"] == "good"
    assert set(result.results["configuration_id"]) >= {0, 5}
    best = json.loads((tmp_path / "out" / "best_configuration.json").read_text())
    assert best["failures"] == {str(k): v for k, v in result.failures.items()}
    log = capfd.readouterr().err  # verbose=2: the debug log, each line once
    assert log.count("Configuration 4 {'mode': 'hang'") == 1 and "DEBUG" in log


def test_an_objective_that_cannot_be_pickled_leaves_no_trace(tmp_path):
    values = (float(i) for i in range(100))

    def uses_a_generator(configuration, epoch, previous_epoch, checkpoint_path):
        return {"epoch": epoch, "metric": next(values)}

    with pytest.raises(TypeError, match="cannot be pickled for the worker processes.*generator"):
        tune(uses_a_generator, SPACE, max_budget=2, max_epochs=2, output_path=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_objective_the_workers_cannot_load_leaves_the_folder_as_it_was(tmp_path):
    with pytest.raises(RuntimeError, match="cannot load the objective.*left as it was"):
        tune(objectives.Unloadable(), SPACE, max_budget=2, max_epochs=2, output_path=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_time_budget_cuts_off_a_hung_call_without_failing_it(tmp_path, capfd):
    result = tune(
        objectives.misbehaving,
        {"mode": choice(["good", "hang"]), "x": uniform(1.0, 2.0)},
        max_budget=10,
        max_epochs=3,
        max_wallclock_time=4.0,
        output_path=tmp_path / "out",
        num_configurations=16,
        scheduler_kwargs={
            "points_to_evaluate": [{"mode": "good"}, {"mode": "hang"}],
            "surrogate_kwargs": FAST,
        },
    )
    assert result.failures == {} and result.configuration["mode"] == "good"
    assert len(result.results) == 1
    lines = capfd.readouterr().err.splitlines()
    assert lines[-1].startswith("epochs 1/10 · configs 2 · best 1.")
    with open(tmp_path / "out" / "results.csv") as file:
        assert [r["configuration_id"] for r in csv.DictReader(file)] == ["0"]


@pytest.mark.slow
def test_the_metric_may_be_reported_under_the_users_key(tmp_path, capfd):
    result = tune(
        objectives.val_acc,
        {"x": uniform(0.0, 1.0)},
        max_budget=6,
        max_epochs=2,
        minimize=False,
        metric="val_acc",
        output_path=tmp_path / "out",
        num_configurations=16,
        verbose=0,
        scheduler_kwargs={"surrogate_kwargs": FAST},
    )
    table = result.results
    assert list(table["metric"]) == list(table["val_acc"]) and len(table) == 6
    assert result.metric == table["val_acc"].max() and result.metric_name == "val_acc"
    assert math.isfinite(result.metric)
    assert capfd.readouterr().err == ""  # verbose=0


def test_workers_import_the_objectives_modules_with_the_callers_path(tmp_path, monkeypatch):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "only_on_callers_path.py").write_text("def value():\n    return 7.0\n")
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    import only_on_callers_path

    def local(configuration, epoch, previous_epoch, checkpoint_path):  # pickled by value
        return {"epoch": epoch, "metric": only_on_callers_path.value()}

    pool = WorkerPool(dump_objective(local), metric="metric", size=1, timeout=None)
    try:
        pool.start()
        pool.submit("call", _call(tmp_path))
        assert _outcomes(pool, 1)["call"].results == [{"epoch": 1, "metric": 7.0}]
    finally:
        pool.close()


def test_workers_are_spread_over_the_gpus(tmp_path):
    pool = WorkerPool(
        dump_objective(objectives.visible_gpu), metric="metric", size=3, timeout=None, gpus=2
    )
    try:
        pool.start()
        for key in range(3):
            pool.submit(key, _call(tmp_path))
        gpus = sorted(o.results[0]["gpu"] for o in _outcomes(pool, 3).values())
        assert gpus == ["0", "0", "1"]
    finally:
        pool.close()
