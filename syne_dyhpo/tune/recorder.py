"""What a run of :func:`syne_dyhpo.tune` produced, kept as it goes: every
configuration started, every reported epoch, the failed configurations and the
incumbent, written to the output folder at once (:mod:`syne_dyhpo.tune.records`).
Also the run's stopping criterion: the epoch budget, the wall-clock budget,
or too many failures in a row."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syne_tune.backend.trial_status import Status, Trial
from syne_tune.tuner_callback import TunerCallback
from syne_tune.tuning_status import TuningStatus

from syne_dyhpo.tune.backend import EPOCH_KEY, WorkerPoolBackend
from syne_dyhpo.tune.records import Journal, ResultsTable, write_best
from syne_dyhpo.tune.worker import EPOCH, METRIC

logger = logging.getLogger(__name__)

SYNE_TUNE_KEYS = ("trial_id",)  # besides the "st_" prefix


@dataclass(frozen=True)
class Incumbent:
    configuration_id: int
    configuration: dict[str, Any]
    epoch: int
    metric: float


def configuration_of(trial: Trial) -> dict[str, Any]:
    return {k: v for k, v in trial.config.items() if k != EPOCH_KEY}


class RunRecorder(TunerCallback):
    """Tuner callback and stopping criterion (call it with the tuning status).

    :param folder: the output folder, for the journal, ``results.csv`` and
        ``best_configuration.json``.
    :param minimize: whether smaller metrics are better.
    :param max_budget: stop once this many epochs have been reported.
    :param deadline: ``time.monotonic()`` at which to stop; ``None``: no time budget.
    :param max_consecutive_failures: stop once this many configurations failed
        in a row, with no result in between: the objective is likely broken.
    :param elapsed_before: tuning seconds spent by earlier runs of this folder.
    :param metric_name: the objective's key of the metric.
    """

    def __init__(
        self,
        folder: Path,
        *,
        minimize: bool,
        max_budget: int,
        deadline: float | None,
        max_consecutive_failures: int,
        elapsed_before: float,
        metric_name: str,
    ):
        self.folder = folder
        self.journal = Journal(folder)
        self.table = ResultsTable(folder)
        self.minimize = minimize
        self.max_budget = max_budget
        self.deadline = deadline
        self.max_consecutive_failures = max_consecutive_failures
        self.metric_name = metric_name
        self.backend: WorkerPoolBackend | None = None  # the Tuner's, set when tuning starts
        self.configurations: dict[int, dict[str, Any]] = {}
        self.rows: list[dict[str, Any]] = []
        self.failures: dict[int, str] = {}  # configuration_id -> error message
        self.consecutive_failures = 0
        self.incumbent: Incumbent | None = None
        self.on_new_best: list[Callable[[], None]] = []
        self._start = time.monotonic() - elapsed_before

    @property
    def elapsed(self) -> float:
        """Tuning seconds, those of earlier runs of the folder included."""
        return time.monotonic() - self._start

    @property
    def gave_up(self) -> bool:
        return self.consecutive_failures >= self.max_consecutive_failures

    @property
    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def best_record(self) -> dict[str, Any]:
        """The incumbent as ``best_configuration.json`` holds it."""
        best = self.incumbent
        return {
            "configuration": best.configuration,
            "metric": best.metric,
            "epoch": best.epoch,
            "configuration_id": best.configuration_id,
            "checkpoint_path": str(self.folder / "checkpoints" / str(best.configuration_id)),
            "output_path": str(self.folder),
            "failures": self.failures,
            "metric_name": self.metric_name,
            "epochs": len(self.rows),
        }

    def done(self, uncounted: int = 0) -> bool:
        """Whether the run is over, counting ``uncounted`` epochs reported but
        not recorded yet."""
        return self.gave_up or self.out_of_time or len(self.rows) + uncounted >= self.max_budget

    def __call__(self, status: TuningStatus) -> bool:
        return self.done()

    # --- the record, live or replayed from the journal --------------------------------

    def add_configuration(self, configuration_id: int, configuration: dict[str, Any]) -> None:
        self.configurations[configuration_id] = configuration

    def add_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """Keep ``row`` (``configuration_id``, ``epoch``, ``metric``, extras,
        ``elapsed_seconds``) with the configuration's ``config_<name>`` columns."""
        configuration_id = row["configuration_id"]
        configuration = self.configurations[configuration_id]
        full = {**row, **{f"config_{k}": v for k, v in configuration.items()}}
        self.rows.append(full)
        self.consecutive_failures = 0
        metric, best = float(row[METRIC]), self.incumbent
        if math.isfinite(metric) and (
            best is None or (metric < best.metric if self.minimize else metric > best.metric)
        ):
            self.incumbent = Incumbent(configuration_id, configuration, row[EPOCH], metric)
        return full

    def add_failure(self, configuration_id: int, message: str) -> None:
        self.failures[configuration_id] = message
        self.consecutive_failures += 1

    # --- live: the tuner's callbacks -------------------------------------------------

    def on_tuning_start(self, tuner) -> None:
        self.backend = tuner.trial_backend

    def on_start_trial(self, trial: Trial) -> None:
        configuration = configuration_of(trial)
        self.add_configuration(trial.trial_id, configuration)
        self.journal.append("start", configuration_id=trial.trial_id, configuration=configuration)

    def on_trial_result(self, trial: Trial, status: str, result: dict[str, Any], decision: str):
        extras = {
            k: v
            for k, v in result.items()
            if k not in (EPOCH, METRIC, *SYNE_TUNE_KEYS) and not k.startswith("st_")
        }
        row = {
            "configuration_id": trial.trial_id,
            EPOCH: int(result[EPOCH]),
            METRIC: float(result[METRIC]),
            **extras,
            "elapsed_seconds": round(self.elapsed, 3),
        }
        self.journal.append("result", row=row)
        previous = self.incumbent
        full = self.add_row(row)
        self.table.append(full, self.rows)
        if self.incumbent is not previous:
            write_best(self.folder, self.best_record())
            logger.info(
                "New best: metric %g at epoch %d of configuration %d %s",
                self.incumbent.metric,
                self.incumbent.epoch,
                trial.trial_id,
                self.incumbent.configuration,
            )
            for callback in self.on_new_best:
                callback()

    def on_fetch_status_results(self, trial_status_dict, new_results) -> None:
        for trial_id, (trial, status) in trial_status_dict.items():
            if status == Status.failed and trial_id not in self.failures:
                message = self.backend.failures.get(trial_id, "failed without a message")
                self.journal.append("failure", configuration_id=trial_id, message=message)
                self.add_failure(trial_id, message)
                logger.error(
                    "Configuration %d %s failed and will not be resumed: %s (output in %s)",
                    trial_id,
                    configuration_of(trial),
                    message,
                    self.folder / "trials" / str(trial_id),
                )
