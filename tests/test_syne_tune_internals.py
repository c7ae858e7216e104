"""Contract with the installed Syne Tune: every internal crash safety (and the
benchmark harness) relies on exists, with the parameters it is called with."""

from __future__ import annotations

from pathlib import Path

import pytest
from syne_tune import StoppingCriterion, Tuner
from syne_tune.backend import LocalBackend
from syne_tune.backend.simulator_backend.simulator_backend import SimulatorBackend
from syne_tune.backend.trial_backend import TrialBackend
from syne_tune.optimizer.baselines import RandomSearch
from syne_tune.results_callback import StoreResultsCallback
from syne_tune.tuning_status import TuningStatus

from syne_dyhpo import _syne_tune_internals as internals


@pytest.fixture
def instances(tmp_path) -> dict[type, object]:
    """A fresh object of every class in ``INTERNALS``."""
    trainer = tmp_path / "trainer.py"
    trainer.write_text("")
    backend = LocalBackend(entry_point=str(trainer))
    tuner = Tuner(
        trial_backend=backend,
        scheduler=RandomSearch({"x": 1}, metrics=["loss"]),
        stop_criterion=StoppingCriterion(max_wallclock_time=1),
        n_workers=1,
        trial_backend_path=str(tmp_path),
    )
    return {
        Tuner: tuner,
        TuningStatus: TuningStatus(metric_names=["loss"]),
        TrialBackend: backend,
        LocalBackend: backend,
        StoreResultsCallback: StoreResultsCallback(),
        SimulatorBackend: SimulatorBackend(entry_point=str(trainer), elapsed_time_attr="t"),
    }


def test_every_internal_is_there(instances):
    assert set(instances) == set(internals.INTERNALS)
    assert internals.check_internals(instances) == []


def test_a_missing_attribute_is_named(instances):
    backend = instances[LocalBackend]
    del backend.trial_subprocess
    (problem,) = internals.check_internals(instances)
    assert "syne_tune.backend.local_backend.LocalBackend.trial_subprocess is gone" in problem
    with pytest.raises(internals.SyneTuneInternalsChanged, match=r"LocalBackend\.trial_subprocess"):
        internals.run_processes(backend)


def test_a_method_with_other_parameters_is_named(instances, monkeypatch):
    monkeypatch.setattr(LocalBackend, "_file_path", lambda self, trial, name: Path(name))
    (problem,) = internals.check_internals(instances)
    assert "LocalBackend._file_path(trial, name) is gone or changed" in problem


def test_the_accessors_reach_the_state_they_name(instances, tmp_path):
    tuner, backend = instances[Tuner], instances[LocalBackend]
    tuner.tuning_status = instances[TuningStatus]
    assert internals.trial_records(backend) is backend._trial_dict
    assert internals.results_passed_on(backend) is backend._last_metric_seen_index
    assert internals.marker_file(backend, 3, "pause") == backend.trial_path(3) / "pause"
    callback = StoreResultsCallback()
    tuner.callbacks = [callback]
    internals.start_clock_at(tuner, 12.5)
    assert tuner.tuning_status.start_time == callback._start_time_stamp == 12.5
    internals.record_stopped_by_scheduler(tuner, 4)
    assert 4 in tuner.trials_scheduler_stopped
    simulator = instances[SimulatorBackend]
    internals.set_time_keeper(simulator, "clock")
    assert simulator._time_keeper == "clock"
