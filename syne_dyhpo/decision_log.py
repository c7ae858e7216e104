"""What the tuner did with each trial, and when: a :class:`~syne_tune.Tuner`
callback appending every start, resume, pause, stop, completion and failure to
``decisions.jsonl`` in the run's results folder.

One JSON object per line: ``{"event": ..., "seconds": ..., "trial_id": ...}``
with ``seconds`` since the start of tuning (the clock of ``st_tuner_time`` in
``results.csv.zip``; simulated seconds on Syne Tune's simulator), ``level``
for pause, stop and complete, ``config`` for start and resume. ``tuning_start``
marks every ``run()`` of the tuner, so a resumed run shows where it resumed.
Each line is written and closed at once: a killed tuner loses nothing but the
line it was writing, which :func:`read_decision_log` skips.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from syne_tune.backend.trial_status import Status, Trial
from syne_tune.constants import ST_TUNER_TIME
from syne_tune.optimizer.scheduler import SchedulerDecision
from syne_tune.results_callback import StoreResultsCallback
from syne_tune.tuner_callback import TunerCallback

__all__ = ["DECISIONS_FILE", "DecisionLog", "read_decision_log"]

logger = logging.getLogger(__name__)

DECISIONS_FILE = "decisions.jsonl"

_ENDING = {SchedulerDecision.PAUSE: "pause", SchedulerDecision.STOP: "stop"}


def _plain(value: Any) -> Any:
    """JSON for numpy scalars (``.item()``) and anything else (``str``)."""
    return value.item() if hasattr(value, "item") else str(value)


class DecisionLog(TunerCallback):
    """Appends the tuner's decisions to ``<tuner_path>/decisions.jsonl``.

    Pass it with Syne Tune's default results callback::

        Tuner(..., callbacks=[StoreResultsCallback(), DecisionLog()])

    It is saved with the tuner, so a run resumed with
    :func:`~syne_dyhpo.resume_tuner` keeps appending to the same file.
    """

    def __init__(self):
        self._tuner = None
        self._failed: set[int] = set()
        self._starting = False

    @property
    def path(self) -> Path:
        return Path(self._tuner.tuner_path) / DECISIONS_FILE

    def _seconds(self) -> float:
        """Seconds since the start of tuning: on the backend's clock if it
        simulates one, else on the clock of ``st_tuner_time`` (the results
        callback's, which resume_tuner moves back by the time already spent)."""
        time_keeper = getattr(self._tuner.trial_backend, "time_keeper", None)
        if time_keeper is not None:
            return float(time_keeper.time())
        start = self._tuner.tuning_status.start_time
        for callback in self._tuner.callbacks:
            if isinstance(callback, StoreResultsCallback) and callback._start_time_stamp:
                start = callback._start_time_stamp
        return time.perf_counter() - start

    def _write(
        self, event: str, trial_id: int | None = None, seconds: float | None = None, **fields: Any
    ) -> None:
        seconds = self._seconds() if seconds is None else seconds
        line = {"event": event, "seconds": round(seconds, 6), "trial_id": trial_id}
        line.update((key, value) for key, value in fields.items() if value is not None)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as file:
                file.write(json.dumps(line, default=_plain) + "\n")
        except OSError as err:  # the log is a record; it never stops the run
            logger.warning("Could not append %s to %s: %s", line, self.path, err)

    def _level(self, result: dict[str, Any]) -> Any:
        return result.get(getattr(self._tuner.scheduler, "time_attr", None))

    def on_tuning_start(self, tuner) -> None:
        self._tuner = tuner
        self._starting = True

    def on_loop_start(self) -> None:
        # written here, once every callback has started: resume_tuner sets the clock then
        if self._starting:
            self._starting = False
            self._write("tuning_start")

    def on_tuning_end(self) -> None:
        self._write("tuning_end")

    def on_start_trial(self, trial: Trial) -> None:
        self._write("start", trial.trial_id, config=trial.config)

    def on_resume_trial(self, trial: Trial) -> None:
        self._write("resume", trial.trial_id, config=trial.config)

    def on_trial_result(self, trial: Trial, status: str, result: dict, decision: str) -> None:
        event = _ENDING.get(decision)
        if event is not None:
            # results replayed by resume_tuner carry the time they were reported
            seconds = result.get(ST_TUNER_TIME)
            self._write(event, trial.trial_id, seconds, level=self._level(result))

    def on_trial_complete(self, trial: Trial, result: dict) -> None:
        self._write("complete", trial.trial_id, level=self._level(result))

    def on_fetch_status_results(self, trial_status_dict, new_results) -> None:
        for trial_id, (_, status) in trial_status_dict.items():
            if status == Status.failed and trial_id not in self._failed:
                self._failed.add(trial_id)
                self._write("fail", trial_id)


def read_decision_log(folder: str | Path) -> list[dict[str, Any]] | None:
    """The events of ``folder/decisions.jsonl`` in the order written, or
    ``None`` if the run kept no log. A line cut off by a killed tuner is skipped."""
    path = Path(folder) / DECISIONS_FILE
    if not path.is_file():
        return None
    events = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            logger.warning("Skipped line %d of %s, cut off mid-write: %r", number, path, line)
    return events
