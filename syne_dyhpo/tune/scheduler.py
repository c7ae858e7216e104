"""DyHPO as :func:`syne_dyhpo.tune` runs it: no new run once the run is done,
a failed configuration counts as diverged, and a resumed run's scheduler is
rebuilt from the journal of the earlier ones."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from syne_tune.backend.trial_status import Trial
from syne_tune.constants import ST_TUNER_TIME

from syne_dyhpo.ledger import RUNNING
from syne_dyhpo.scheduler import DyHPO
from syne_dyhpo.tune.backend import EPOCH_KEY
from syne_dyhpo.tune.worker import EPOCH, METRIC


class ObjectiveDyHPO(DyHPO):
    """DyHPO that decides nothing once ``is_done()`` (a run reaching its level
    pauses, a promotion too), and records a run that failed as a non-finite
    value at the level it was to reach.

    Syne Tune's Tuner starts new runs before it checks its stopping criterion;
    without the first, every run would end one epoch past its budget. Without
    the second, a region where the objective fails (say, out of memory) would
    stay unexplored in the model's eyes and be proposed again and again.

    :param is_done: whether the budget is spent (or the run gave up), given
        the number of epochs reported but not counted yet (the one a trial is
        reporting while DyHPO decides whether it goes on).
    :param kwargs: arguments of :class:`~syne_dyhpo.scheduler.DyHPO`.
    """

    def __init__(self, config_space: dict[str, Any], *, is_done: Callable[[int], bool], **kwargs):
        super().__init__(config_space, **kwargs)
        self.is_done = is_done
        self._uncounted = 0  # the result being reported reaches the recorder after us

    def _run_is_done(self) -> bool:
        """Once done, nothing is started, resumed, or goes on (a promotion neither)."""
        return self.is_done(self._uncounted)

    def on_trial_result(self, trial: Trial, result: dict[str, Any]) -> str:
        self._uncounted = 1
        try:
            return super().on_trial_result(trial, result)
        finally:
            self._uncounted = 0

    def on_trial_error(self, trial: Trial):
        trial_id = trial.trial_id
        if trial_id in self.trials and self.trials.status(trial_id) == RUNNING:
            self.trials.observe(trial_id, self.trials.target(trial_id), math.nan, seconds=0.0)
        super().on_trial_error(trial)


def replay(scheduler: DyHPO, events: list[dict[str, Any]]) -> None:
    """Tell ``scheduler`` what the journal ``events`` of earlier runs recorded,
    through its callbacks, in order: configurations started, their epochs
    (timed on the journal's clock), their failures; a configuration whose
    call was cut off is paused at its last epoch, to be resumed."""
    trials: dict[int, Trial] = {}
    for event in events:
        if event["event"] == "start":
            trial_id = event["configuration_id"]
            trials[trial_id] = Trial(trial_id, {**event["configuration"], EPOCH_KEY: 1}, None)
            scheduler.on_trial_add(trials[trial_id])
        elif event["event"] == "result":
            row = event["row"]
            result = {EPOCH: row[EPOCH], METRIC: row[METRIC], ST_TUNER_TIME: row["elapsed_seconds"]}
            scheduler.on_trial_result(trials[row["configuration_id"]], result)
        elif event["event"] == "failure":
            scheduler.on_trial_error(trials[event["configuration_id"]])
    for trial in trials.values():
        scheduler.on_trial_interrupted(trial)
