"""Resume an interrupted run from its results folder.

The tuner snapshot (``tuner.dill``) is at most ``results_update_interval``
seconds old when the tuner process dies; the trial folders hold the rest.
:func:`resume_tuner` reconciles the two:

1. processes still training a trial of the run are killed;
2. trials started after the snapshot are registered from their ``config.json``;
3. results the scripts printed after the snapshot are passed to the scheduler,
   the tuning status and (when the run starts) the callbacks, in the order they
   were reported, each exactly once;
4. trials whose run was cut off are paused at their last reported level
   (:meth:`~syne_dyhpo.DyHPO.on_trial_interrupted`), to be resumed from their
   checkpoints;
5. the tuning clock continues from the time already spent, so a
   ``max_wallclock_time`` stop criterion counts every run of the tuner.

The reconciled tuner is saved at once, so a second crash resumes from here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from syne_tune import Tuner
from syne_tune.backend import LocalBackend
from syne_tune.backend.trial_status import Status, Trial, TrialResult
from syne_tune.constants import ST_TUNER_START_TIMESTAMP, ST_TUNER_TIME, ST_WORKER_TIMESTAMP
from syne_tune.optimizer.scheduler import SchedulerDecision
from syne_tune.tuner_callback import TunerCallback
from syne_tune.tuning_status import TuningStatus

from syne_dyhpo import _syne_tune_internals as internals
from syne_dyhpo.crash_safety.snapshot import (
    ELAPSED_BEFORE_START,
    check_same_run,
    elapsed_at_save,
    load_snapshot,
    save_atomically,
    snapshot_time,
)
from syne_dyhpo.crash_safety.trial_outputs import (
    kill_leftover_runs,
    last_config,
    reported_results,
    trial_ids_on_disk,
)

__all__ = ["resume_tuner"]

logger = logging.getLogger(__name__)

# Trials whose later output the tuner would still have passed on.
_OPEN_STATUSES = (Status.in_progress, Status.paused)

ResultEvent = tuple[Trial, str, dict, str]  # trial, status, result, decision


class _EndedRun:
    """Stands in for the process of a run made by an earlier tuner process."""

    def __init__(self, returncode: int):
        self.returncode = returncode

    def poll(self) -> int:
        return self.returncode


class _ResumedRun(TunerCallback):
    """At the start of the resumed run (once): sets the tuning clock to the
    time already spent and passes the recovered results to the other callbacks."""

    def __init__(self, elapsed: float, events: list[ResultEvent]):
        self.elapsed: float | None = elapsed
        self.events = events

    def on_tuning_start(self, tuner: Tuner):
        if self.elapsed is None:
            return
        internals.start_clock_at(tuner, time.perf_counter() - self.elapsed)
        tuner.metadata[ELAPSED_BEFORE_START] = self.elapsed
        for callback in tuner.callbacks:
            if callback is self:
                continue
            for event in self.events:
                callback.on_trial_result(*event)
        self.elapsed, self.events = None, []


def resume_tuner(
    results_folder: str | Path, *, stop_criterion: Callable[[TuningStatus], bool] | None = None
) -> Tuner:
    """A tuner that continues the interrupted run in ``results_folder``.

    ``resume_tuner(path).run()`` picks up where the run stopped; call it as
    often as the run is interrupted. Works for runs on a
    :class:`~syne_tune.backend.LocalBackend` (or a subclass) with a scheduler
    that has ``on_trial_interrupted`` (:class:`~syne_dyhpo.DyHPO`).

    :param results_folder: the run's folder (``tuner.tuner_path``), holding
        ``tuner.dill``.
    :param stop_criterion: replaces the run's stop criterion (e.g. to extend
        its budget); time and trials already spent still count.
    """
    folder = Path(results_folder).expanduser().resolve()
    tuner = load_snapshot(folder)
    backend, scheduler = tuner.trial_backend, tuner.scheduler
    if not isinstance(backend, LocalBackend):
        raise TypeError(
            f"resume_tuner resumes LocalBackend runs; {folder} was run on a "
            f"{type(backend).__name__}"
        )
    if not hasattr(scheduler, "on_trial_interrupted"):
        raise TypeError(
            f"resume_tuner needs a scheduler that can pause interrupted trials (DyHPO); "
            f"{folder} was run with {type(scheduler).__name__}"
        )
    saved_at = snapshot_time(folder)
    elapsed = elapsed_at_save(tuner, saved_at)
    _relocate(tuner, folder)
    on_disk = trial_ids_on_disk(backend.local_path)
    check_same_run(tuner, folder, {t: last_config(backend.trial_path(t)) for t in on_disk})
    for trial_id in on_disk:
        kill_leftover_runs(backend.checkpoint_trial_path(trial_id))
    statuses = _trial_statuses(tuner, on_disk)
    recovered = _unseen_results(backend, statuses)
    events = _replay(tuner, recovered, statuses)
    num_paused = _pause_interrupted(tuner, statuses)
    for _, _, result, _ in events:
        # tuning time of the report; the clock went on from the snapshot
        reported_at = result.get(ST_WORKER_TIMESTAMP, saved_at)
        result[ST_TUNER_TIME] = elapsed + max(0.0, reported_at - saved_at)
    elapsed = max([elapsed] + [result[ST_TUNER_TIME] for _, _, result, _ in events])
    pending = [e for c in tuner.callbacks if isinstance(c, _ResumedRun) for e in c.events]
    tuner.callbacks = [c for c in tuner.callbacks if not isinstance(c, _ResumedRun)]
    tuner.callbacks.append(_ResumedRun(elapsed, pending + events))
    if stop_criterion is not None:
        tuner.stop_criterion = stop_criterion
    tuner.metadata[ST_TUNER_START_TIMESTAMP] = time.time()
    tuner.metadata[ELAPSED_BEFORE_START] = elapsed
    save_atomically(tuner, folder)
    logger.info(
        "Resuming %s after %.1f s of tuning: %d trials, %d results recovered from trial "
        "outputs, %d interrupted trials paused",
        folder,
        elapsed,
        len(backend.trial_ids),
        len(recovered),
        num_paused,
    )
    return tuner


def _relocate(tuner: Tuner, folder: Path) -> None:
    """Point the tuner (and the backend, if it shared the tuner's folder) to
    ``folder``, where the run is now."""
    if Path(tuner.trial_backend_path) == Path(tuner.tuner_path):
        tuner.trial_backend_path = str(folder)
        tuner.trial_backend.set_path(results_root=str(folder), tuner_name=tuner.name)
    tuner.tuner_path = folder


def _trial(backend: LocalBackend, trial_id: int) -> Trial:
    record = internals.trial_records(backend)[trial_id]
    return Trial(trial_id=trial_id, config=record.config, creation_time=record.creation_time)


def _trial_statuses(tuner: Tuner, on_disk: list[int]) -> dict[int, str]:
    """Status of every trial of the run, registering those started after the
    snapshot, and processes of earlier tuner runs replaced by their outcome."""
    backend = tuner.trial_backend
    statuses = {
        trial_id: internals.last_status_seen(tuner).get(trial_id, Status.in_progress)
        for trial_id in backend.trial_ids
    }
    for trial_id in on_disk:
        if trial_id < len(backend.trial_ids):
            continue
        if trial_id != len(backend.trial_ids):
            raise ValueError(
                f"trial folders in {backend.local_path} skip from {len(backend.trial_ids) - 1} "
                f"to {trial_id}; expected consecutive trial ids"
            )
        trial_folder = backend.trial_path(trial_id)
        config = last_config(trial_folder)
        if config is None and trial_id == on_disk[-1]:
            logger.info("Trial %d never started (no config.json); ignored", trial_id)
            break
        if config is None:
            raise ValueError(
                f"{trial_folder / 'config.json'} is missing, expected for trial {trial_id}"
            )
        _register(tuner, trial_id, config)
        statuses[trial_id] = Status.in_progress
    processes = internals.run_processes(backend)
    for trial_id, status in statuses.items():
        processes[trial_id] = _EndedRun(1 if status == Status.failed else 0)
    internals.forget_busy_candidates(backend)
    return statuses


def _register(tuner: Tuner, trial_id: int, config: dict) -> None:
    """Make a trial started after the snapshot known to backend, scheduler and
    tuning status."""
    backend = tuner.trial_backend
    backend.trial_ids.append(trial_id)
    internals.trial_records(backend)[trial_id] = TrialResult(
        trial_id=trial_id,
        config=config,
        creation_time=datetime.fromtimestamp(backend.trial_path(trial_id).stat().st_mtime),
        status=Status.in_progress,
        metrics=[],
    )
    trial = _trial(backend, trial_id)
    try:
        tuner.scheduler.on_trial_add(trial=trial)
    except (KeyError, ValueError, TypeError) as err:
        raise ValueError(
            f"trial {trial_id}'s config.json in {backend.local_path} does not fit the run's "
            f"scheduler ({type(err).__name__}: {err}): the trial folders and tuner.dill belong "
            "to different runs"
        ) from err
    tuner.tuning_status.update({trial_id: (trial, Status.in_progress)}, [])


def _unseen_results(backend: LocalBackend, statuses: dict[int, str]) -> list[tuple[int, dict]]:
    """Results reported by open trials and not yet passed on, in the order
    they were reported; marks them as passed on."""
    unseen = []
    passed_on, records = internals.results_passed_on(backend), internals.trial_records(backend)
    for trial_id, status in statuses.items():
        if status not in _OPEN_STATUSES:
            continue
        results = reported_results(backend.trial_path(trial_id))
        seen = passed_on[trial_id]
        unseen += [(trial_id, result) for result in results[seen:]]
        passed_on[trial_id] = max(seen, len(results))
        records[trial_id].metrics = results
    return sorted(unseen, key=lambda item: item[1].get(ST_WORKER_TIMESTAMP, 0.0))


def _replay(
    tuner: Tuner, recovered: list[tuple[int, dict]], statuses: dict[int, str]
) -> list[ResultEvent]:
    """Pass recovered results to the scheduler and the tuning status as the
    tuning loop would have; a trial stopped by the scheduler gets no more."""
    backend, scheduler = tuner.trial_backend, tuner.scheduler
    events = []
    for trial_id, result in recovered:
        if statuses[trial_id] == Status.stopped:
            continue
        trial = _trial(backend, trial_id)
        internals.record_result(tuner, trial_id, result)
        decision = scheduler.on_trial_result(trial=trial, result=result)
        status = Status.in_progress
        if decision == SchedulerDecision.STOP:
            status = Status.stopped
            internals.record_stopped_by_scheduler(tuner, trial_id)
            internals.marker_file(backend, trial_id, "stop").touch()
        elif decision == SchedulerDecision.PAUSE:
            status = Status.paused
        if decision != SchedulerDecision.CONTINUE:
            scheduler.on_trial_remove(trial=trial)
            statuses[trial_id] = status
        tuner.tuning_status.update({trial_id: (trial, status)}, [(trial_id, result)])
        events.append((trial, status, dict(result), decision))
    return events


def _pause_interrupted(tuner: Tuner, statuses: dict[int, str]) -> int:
    """Pause every trial whose run was cut off; returns how many."""
    backend, scheduler = tuner.trial_backend, tuner.scheduler
    interrupted = [t for t, status in statuses.items() if status == Status.in_progress]
    for trial_id in interrupted:
        trial = _trial(backend, trial_id)
        scheduler.on_trial_interrupted(trial)
        statuses[trial_id] = Status.paused
        tuner.tuning_status.update({trial_id: (trial, Status.paused)}, [])
    records = internals.trial_records(backend)
    for trial_id, status in statuses.items():
        if status == Status.paused:
            records[trial_id].status = Status.paused
            internals.marker_file(backend, trial_id, "stop").unlink(missing_ok=True)
            internals.marker_file(backend, trial_id, "pause").touch()
    return len(interrupted)
