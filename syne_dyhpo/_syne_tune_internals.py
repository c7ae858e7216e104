"""Every part of Syne Tune's internals that crash safety relies on, in one place.

Resuming a run means changing state that Syne Tune keeps to itself: the
Tuner's record of results and stopped trials, the trial backend's records and
count of results passed on, ``LocalBackend``'s processes and marker files,
``StoreResultsCallback``'s clock; the benchmark harness charges the scheduler's
time through the simulator's time keeper. Nothing else in this package touches
these names. Each access goes through :func:`_attribute`, which raises
:class:`SyneTuneInternalsChanged` naming the attribute if a Syne Tune release
removed it, and :data:`INTERNALS` lists them all for the contract test
(``tests/test_syne_tune_internals.py``) and ``docs/crash_safety.md``.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from syne_tune import Tuner
from syne_tune.backend import LocalBackend
from syne_tune.backend.simulator_backend.simulator_backend import SimulatorBackend
from syne_tune.backend.trial_backend import TrialBackend
from syne_tune.backend.trial_status import TrialResult
from syne_tune.results_callback import StoreResultsCallback
from syne_tune.tuning_status import TuningStatus

# class -> attributes (set on instances or defined on the class) and methods with
# the parameters they are called with
INTERNALS: dict[type, dict[str, tuple[str, ...] | None]] = {
    Tuner: {
        "tuner_path": None,
        "trial_backend_path": None,
        "metadata": None,
        "callbacks": None,
        "tuning_status": None,
        "last_seen_result_per_trial": None,
        "trials_scheduler_stopped": None,
        "save": ("folder",),
    },
    TuningStatus: {
        "last_trial_status_seen": None,
        "start_time": None,
        "update": ("trial_status_dict", "new_results"),
    },
    TrialBackend: {
        "_trial_dict": None,
        "_last_metric_seen_index": None,
        "on_tuner_save": (),
    },
    LocalBackend: {
        "trial_subprocess": None,
        "_busy_trial_id_candidates": None,
        "_file_path": ("trial_id", "filename"),
        "_read_status": ("trial_id",),
        "_kill_process": ("trial_id",),
    },
    StoreResultsCallback: {
        "add_wallclock_time": None,
        "_start_time_stamp": None,
    },
    SimulatorBackend: {
        "_time_keeper": None,
    },
}


class SyneTuneInternalsChanged(RuntimeError):
    """The installed Syne Tune lacks an internal that crash safety relies on."""


def _attribute(owner: Any, name: str) -> Any:
    try:
        return getattr(owner, name)
    except AttributeError:
        raise SyneTuneInternalsChanged(_message(type(owner), name)) from None


def _message(cls: type, name: str) -> str:
    return (
        f"{cls.__module__}.{cls.__qualname__}.{name} is gone or changed in this Syne Tune "
        "release; syne-dyhpo's crash safety relies on it (see docs/crash_safety.md): "
        "install syne-tune 0.16"
    )


def check_internals(instances: dict[type, Any]) -> list[str]:
    """Messages for each internal of :data:`INTERNALS` that ``instances``
    (one per class, freshly built) lack, or whose method takes other parameters."""
    problems = []
    for cls, names in INTERNALS.items():
        for name, parameters in names.items():
            owner = instances[cls]
            if not hasattr(owner, name):
                problems.append(_message(cls, name))
                continue
            if parameters is None:
                continue
            signature = inspect.signature(getattr(owner, name))
            if tuple(signature.parameters)[: len(parameters)] != parameters:
                problems.append(_message(cls, f"{name}{signature}"))
    return problems


# --- Tuner and its tuning status -------------------------------------------------------------


def last_status_seen(tuner: Tuner) -> dict[int, str]:
    return _attribute(_attribute(tuner, "tuning_status"), "last_trial_status_seen")


def start_clock_at(tuner: Tuner, start: float) -> None:
    """Start the tuning clock (``time.perf_counter()`` seconds) at ``start``, and the
    wall-clock column of ``StoreResultsCallback`` with it."""
    _attribute(tuner, "tuning_status").start_time = start
    for callback in _attribute(tuner, "callbacks"):
        if isinstance(callback, StoreResultsCallback) and _attribute(
            callback, "add_wallclock_time"
        ):
            _attribute(callback, "_start_time_stamp")
            callback._start_time_stamp = start


def record_result(tuner: Tuner, trial_id: int, result: dict) -> None:
    _attribute(tuner, "last_seen_result_per_trial")[trial_id] = result


def record_stopped_by_scheduler(tuner: Tuner, trial_id: int) -> None:
    _attribute(tuner, "trials_scheduler_stopped").add(trial_id)


# --- TrialBackend and LocalBackend -----------------------------------------------------------


def trial_records(backend: TrialBackend) -> dict[int, TrialResult]:
    """The backend's record of each trial: configuration, status, results."""
    return _attribute(backend, "_trial_dict")


def results_passed_on(backend: TrialBackend) -> dict[int, int]:
    """Per trial, how many of its results the backend has handed to the tuner."""
    return _attribute(backend, "_last_metric_seen_index")


def run_processes(backend: LocalBackend) -> dict[int, Any]:
    """Per trial, the process of its last run (``Popen`` or a stand-in with ``poll``)."""
    return _attribute(backend, "trial_subprocess")


def forget_busy_candidates(backend: LocalBackend) -> None:
    """Drop the trials the backend would otherwise ask the OS about as busy."""
    _attribute(backend, "_busy_trial_id_candidates")
    backend._busy_trial_id_candidates = set()


def marker_file(backend: LocalBackend, trial_id: int, name: str) -> Path:
    """The ``stop`` or ``pause`` file by which ``LocalBackend`` knows a trial's status."""
    return _attribute(backend, "_file_path")(trial_id=trial_id, filename=name)


def run_status(backend: LocalBackend, trial_id: int) -> str:
    """The status of the trial's last run, as ``LocalBackend`` reads it."""
    return _attribute(backend, "_read_status")(trial_id=trial_id)


def kill_run(backend: LocalBackend, trial_id: int) -> None:
    """Kill the process of the trial's run and its children."""
    _attribute(backend, "_kill_process")(trial_id=trial_id)


# --- SimulatorBackend --------------------------------------------------------------------


def set_time_keeper(backend: SimulatorBackend, time_keeper: Any) -> None:
    """Replace the simulator's clock (Syne Tune has no public setter)."""
    _attribute(backend, "_time_keeper")
    backend._time_keeper = time_keeper
