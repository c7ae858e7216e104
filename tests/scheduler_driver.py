"""Drives a Syne Tune scheduler the way the Tuner does, without a backend.

Each of ``n_workers`` slots runs one trial; at every step one running trial
(chosen by ``random_state``) reports its next level. Like Syne Tune's simulator,
results carry ``st_tuner_time``: a clock advanced by ``seconds_fn(config,
level)`` per result, and by ``switch_seconds`` more for the first result after
a start or resume. Records every decision so tests can check the
pause/resume protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from syne_tune.backend.trial_status import Trial
from syne_tune.constants import ST_TUNER_TIME
from syne_tune.optimizer.scheduler import SchedulerDecision, TrialScheduler


@dataclass
class DriveLog:
    suggestions: list[tuple[str, int, dict]] = field(default_factory=list)  # (kind, trial, config)
    results: list[tuple[int, int, float, str]] = field(
        default_factory=list
    )  # (trial, level, value, decision)
    trials: dict[int, Trial] = field(default_factory=dict)
    clock: float = 0.0  # st_tuner_time of the last result


def drive(
    scheduler: TrialScheduler,
    metric_fn: Callable[[dict, int], float],
    *,
    decisions: int,
    n_workers: int = 1,
    seed: int = 0,
    time_attr: str = "epoch",
    metric: str = "loss",
    log: DriveLog | None = None,
    seconds_fn: Callable[[dict, int], float] = lambda config, level: 1.0,
    switch_seconds: float = 0.0,
) -> DriveLog:
    """Runs until ``decisions`` suggestions are in ``log`` (continued if given)
    and no trial is running."""
    log = DriveLog() if log is None else log
    random_state = np.random.RandomState(seed)
    running: dict[int, int] = {}  # trial_id -> next level to report
    switched: set[int] = set()  # running trials not reported since their start or resume
    while len(log.suggestions) < decisions or running:
        while len(running) < n_workers and len(log.suggestions) < decisions:
            suggestion = scheduler.suggest()
            if suggestion is None:
                break
            if suggestion.spawn_new_trial_id:
                trial = Trial(len(log.trials), dict(suggestion.config), datetime.now())
                log.trials[trial.trial_id] = trial
                scheduler.on_trial_add(trial)
                running[trial.trial_id] = 1
                switched.add(trial.trial_id)
                log.suggestions.append(("start", trial.trial_id, dict(trial.config)))
            else:
                trial_id = suggestion.checkpoint_trial_id
                assert trial_id not in running, f"trial {trial_id} resumed while running"
                log.trials[trial_id].config = dict(suggestion.config)
                levels = [lvl for tid, lvl, _, _ in log.results if tid == trial_id]
                running[trial_id] = max(levels) + 1
                switched.add(trial_id)
                log.suggestions.append(("resume", trial_id, dict(suggestion.config)))
        if not running:
            break
        trial_id = list(running)[random_state.randint(len(running))]
        trial, level = log.trials[trial_id], running[trial_id]
        value = metric_fn(trial.config, level)
        log.clock += seconds_fn(trial.config, level)
        if trial_id in switched:
            log.clock += switch_seconds
            switched.discard(trial_id)
        result = {time_attr: level, metric: value, ST_TUNER_TIME: log.clock}
        decision = scheduler.on_trial_result(trial, result)
        log.results.append((trial_id, level, value, decision))
        if decision == SchedulerDecision.CONTINUE:
            running[trial_id] = level + 1
        else:
            scheduler.on_trial_remove(trial)
            del running[trial_id]
    return log
