"""What a run of :func:`syne_dyhpo.function_api.tune` produced: every reported epoch,
the failed configurations and the incumbent. Also the run's stopping
criterion: the epoch budget, or too many failures in a row."""

from __future__ import annotations

import csv
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syne_tune.backend import LocalBackend
from syne_tune.backend.trial_status import Status, Trial
from syne_tune.tuner_callback import TunerCallback
from syne_tune.tuning_status import TuningStatus

from syne_dyhpo._tune_worker import EPOCH, EPOCH_KEY, ERROR_TAG, METRIC

logger = logging.getLogger(__name__)

SYNE_TUNE_KEYS = ("trial_id",)  # besides the "st_" prefix


@dataclass(frozen=True)
class Incumbent:
    configuration_id: int
    configuration: dict[str, Any]
    epoch: int
    metric: float


class RunRecorder(TunerCallback):
    """Tuner callback and stopping criterion (call it with the tuning status).

    :param minimize: whether smaller metrics are better.
    :param max_budget: stop once this many epochs have been reported.
    :param max_consecutive_failures: stop once this many configurations failed
        in a row, with no result in between: the objective is likely broken.
    """

    def __init__(self, *, minimize: bool, max_budget: int, max_consecutive_failures: int):
        self.backend: LocalBackend | None = None  # the Tuner's, set when tuning starts
        self.minimize = minimize
        self.max_budget = max_budget
        self.max_consecutive_failures = max_consecutive_failures
        self.rows: dict[tuple[int, int], dict[str, Any]] = {}  # (configuration_id, epoch) -> row
        self.failures: dict[int, str] = {}  # configuration_id -> error message
        self.consecutive_failures = 0
        self.incumbent: Incumbent | None = None
        self._start = time.perf_counter()

    @property
    def gave_up(self) -> bool:
        return self.consecutive_failures >= self.max_consecutive_failures

    def done(self) -> bool:
        return self.gave_up or len(self.rows) >= self.max_budget

    def __call__(self, status: TuningStatus) -> bool:
        return self.done()

    def on_tuning_start(self, tuner) -> None:
        self.backend = tuner.trial_backend
        self._start = time.perf_counter()

    def on_trial_result(self, trial: Trial, status: str, result: dict[str, Any], decision: str):
        configuration = {k: v for k, v in trial.config.items() if k != EPOCH_KEY}
        epoch, metric = int(result[EPOCH]), float(result[METRIC])
        extras = {
            k: v
            for k, v in result.items()
            if k not in (EPOCH, METRIC, *SYNE_TUNE_KEYS) and not k.startswith("st_")
        }
        self.rows[(trial.trial_id, epoch)] = {
            "configuration_id": trial.trial_id,
            EPOCH: epoch,
            METRIC: metric,
            **extras,
            "elapsed_seconds": round(time.perf_counter() - self._start, 3),
            **{f"config_{k}": v for k, v in configuration.items()},
        }
        self.consecutive_failures = 0
        best = self.incumbent
        if math.isfinite(metric) and (
            best is None or (metric < best.metric if self.minimize else metric > best.metric)
        ):
            self.incumbent = Incumbent(trial.trial_id, configuration, epoch, metric)
            logger.info(
                "New best: metric %g at epoch %d of configuration %d %s",
                metric,
                epoch,
                trial.trial_id,
                configuration,
            )

    def on_fetch_status_results(self, trial_status_dict, new_results) -> None:
        for trial_id, (trial, status) in trial_status_dict.items():
            if status == Status.failed and trial_id not in self.failures:
                self._record_failure(trial)

    def _record_failure(self, trial: Trial) -> None:
        tagged = [ln for ln in self.backend.stderr(trial.trial_id) if ln.startswith(ERROR_TAG)]
        message = tagged[-1][len(ERROR_TAG) :].strip() if tagged else "exited without a message"
        self.failures[trial.trial_id] = message
        self.consecutive_failures += 1
        logger.error(
            "Configuration %d %s failed and will not be resumed: %s (output in %s)",
            trial.trial_id,
            {k: v for k, v in trial.config.items() if k != EPOCH_KEY},
            message,
            self.backend.trial_path(trial.trial_id),
        )

    def write_csv(self, path: Path) -> None:
        """All reported epochs, one row each, in the order they arrived."""
        rows = list(self.rows.values())
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with open(path, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
