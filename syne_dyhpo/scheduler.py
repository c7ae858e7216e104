"""DyHPO as a Syne Tune scheduler: pause every trial after one more level.

Wistuba, Kadra, Grabocka (2022): "Supervising the Multi-Fidelity Race of
Hyperparameter Configurations", NeurIPS.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from syne_tune.backend.trial_status import Trial
from syne_tune.config_space import Domain, config_space_to_json_dict
from syne_tune.constants import ST_TUNER_TIME
from syne_tune.optimizer.scheduler import SchedulerDecision, TrialScheduler, TrialSuggestion
from syne_tune.util import dump_json_with_numpy

from syne_dyhpo.conditional_encoding import make_encoder
from syne_dyhpo.conditions import Conditions
from syne_dyhpo.configspace_conditions import resolve_space
from syne_dyhpo.history import FAILED, FINISHED, PAUSED, RUNNING, LearningCurveHistory
from syne_dyhpo.searcher import DyHPOSearcher

logger = logging.getLogger(__name__)


def _resolve_max_t(
    config_space: Mapping[str, Any], max_t: int | None, max_resource_attr: str | None
) -> int:
    if max_t is None and max_resource_attr is not None:
        max_t = config_space.get(max_resource_attr)
        if max_t is None:
            raise ValueError(
                f"max_t is not given and config_space has no entry '{max_resource_attr}' "
                "(max_resource_attr) to read it from"
            )
    if max_t is None:
        raise ValueError("max_t is required (or config_space[max_resource_attr] as a constant)")
    if isinstance(max_t, bool) or not isinstance(max_t, int) or max_t < 1:
        raise ValueError(f"max_t must be an integer >= 1, got {max_t!r}")
    return max_t


class DyHPO(TrialScheduler):
    """DyHPO: every decision either starts a new configuration at level 1 or
    resumes a paused trial to its next level, whichever has the largest
    multi-fidelity expected improvement under a deep-kernel GP of the learning
    curves. A trial that reaches its level is paused; at ``max_t`` it is done.

    :param config_space: Syne Tune domains and constants, or a
        ``ConfigSpace.ConfigurationSpace`` (with its conditions and forbidden clauses).
    :param metric: key of the reported metric.
    :param do_minimize: whether smaller ``metric`` values are better.
    :param time_attr: key of the level (1, 2, ...) reported with every result.
    :param max_t: largest level; read from ``config_space[max_resource_attr]``
        if not given.
    :param max_resource_attr: config key the scheduler sets to the level a
        trial should stop at (the training script should honour it).
    :param random_seed: seeds every random choice; same seed and results, same
        decisions (with ``cost_aware``, same level times too).
    :param points_to_evaluate: configurations (possibly partial: missing values
        are the domain midpoints) started first, in order.
    :param num_new_candidates: unseen configurations scored per decision.
    :param refit_fraction: refit the network when the observations grew by this
        fraction since the last fit; otherwise only condition the GP.
    :param cost_aware: rank candidates by expected improvement per second of
        their next level (see :mod:`syne_dyhpo.cost`), with level times measured
        as results arrive; ``False``: by expected improvement alone, as published.
        On real backends the measured times vary from run to run, and so may
        the decisions of one seed; ``False`` makes them depend on the seed and
        the results alone.
    :param lookahead: ``"rate"``: a candidate is scored at horizons from its
        next level to ``max_t``, each by the expected improvement of its value
        there over the best value seen there, and keeps the best of these per
        level it would train to get there (see :mod:`syne_dyhpo.searcher` and
        the benchmarks in the README). ``"next"``: the next level only, as
        published. ``"final"``: ``max_t`` only, predicted from the curve so far
        (Kadra et al. 2023); it trains fewer configurations further, which pays
        where the first levels rank configurations differently from the last
        and costs where good configurations are rare and visible early.
    :param reduction_factor: ``η`` of the promotion floor: of the trials that
        reached a rung (levels ``1, η, η², …`` and ``max_t``), at least one in
        ``η`` is trained to the next, as ASHA would; the model chooses which
        (see :mod:`syne_dyhpo.promotion`). ``None``: no floor.
    :param surrogate_kwargs: options of the deep-kernel GP
        (:class:`~syne_dyhpo._surrogate.DeepKernelSurrogate`).
    :param conditions: when hyperparameters of a dict ``config_space`` are
        active and which configurations are forbidden
        (:class:`~syne_dyhpo.conditions.Conditions`, or a dict of clauses).
    """

    def __init__(
        self,
        config_space: dict[str, Any],
        metric: str,
        do_minimize: bool = True,
        time_attr: str = "epoch",
        max_t: int | None = None,
        max_resource_attr: str | None = None,
        random_seed: int | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        *,
        num_new_candidates: int = 256,
        refit_fraction: float = 0.1,
        cost_aware: bool = True,
        lookahead: str = "rate",
        reduction_factor: float | None = 3.0,
        surrogate_kwargs: dict[str, Any] | None = None,
        conditions: Conditions | dict[str, Any] | None = None,
    ):
        super().__init__(random_seed=random_seed)
        config_space, conditions = resolve_space(config_space, conditions)
        if not isinstance(config_space, Mapping):
            raise TypeError(
                "config_space must be a dict of Syne Tune domains and constants, "
                f"got {type(config_space).__name__}"
            )
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"metric must be a non-empty string, got {metric!r}")
        if not isinstance(time_attr, str) or not time_attr:
            raise ValueError(f"time_attr must be a non-empty string, got {time_attr!r}")
        if isinstance(config_space.get(max_resource_attr), Domain):
            raise ValueError(
                f"config_space['{max_resource_attr}'] (max_resource_attr) must be a constant, "
                "not a domain: DyHPO sets it to each trial's level"
            )
        if num_new_candidates < 1:
            raise ValueError(f"num_new_candidates must be >= 1, got {num_new_candidates}")
        if not refit_fraction >= 0:
            raise ValueError(f"refit_fraction must be >= 0, got {refit_fraction}")
        self.config_space = config_space
        self.metric = metric
        self.do_minimize = do_minimize
        self.time_attr = time_attr
        self.max_t = _resolve_max_t(config_space, max_t, max_resource_attr)
        self.max_resource_attr = max_resource_attr
        tunable_space = {k: v for k, v in config_space.items() if k != max_resource_attr}
        self.encoder = make_encoder(tunable_space, conditions)
        self.history = LearningCurveHistory(self.max_t)
        self.searcher = DyHPOSearcher(
            self.encoder,
            self.history,
            random_seed=self.random_seed,
            num_new_candidates=num_new_candidates,
            points_to_evaluate=points_to_evaluate,
            refit_fraction=refit_fraction,
            cost_aware=cost_aware,
            lookahead=lookahead,
            reduction_factor=reduction_factor,
            surrogate_kwargs=surrogate_kwargs,
        )
        self.decision_seconds: list[float] = []
        # Levels are timed on the simulator's clock where results carry one
        # (ST_TUNER_TIME), else on this process's monotonic clock (real backends).
        self._tuner_time = 0.0  # latest ST_TUNER_TIME seen
        self._level_started: dict[int, tuple[float, float]] = {}  # trial -> both clocks

    def _start_level_clock(self, trial_id: int) -> None:
        self._level_started[trial_id] = (self._tuner_time, time.monotonic())

    def _level_seconds(self, trial_id: int, result: Mapping[str, Any]) -> float:
        """Seconds since ``trial_id``'s run started or last reported; restarts the clock."""
        tuner_start, process_start = self._level_started[trial_id]  # set by add or resume
        if ST_TUNER_TIME in result:
            self._tuner_time = float(result[ST_TUNER_TIME])
            seconds = self._tuner_time - tuner_start
        else:
            seconds = time.monotonic() - process_start
        self._start_level_clock(trial_id)
        return seconds

    # --- decisions -----------------------------------------------------------------

    def _trial_config(self, config: Mapping[str, Any], level: int) -> dict[str, Any]:
        full = self.encoder.full_config(config)
        if self.max_resource_attr is not None:
            full[self.max_resource_attr] = level
        return full

    def suggest(self) -> TrialSuggestion | None:
        start = time.perf_counter()
        choice = self.searcher.suggest()
        self.decision_seconds.append(time.perf_counter() - start)
        if choice is None:
            return None
        if choice.config is not None:
            return TrialSuggestion.start_suggestion(self._trial_config(choice.config, 1))
        record = self.history.trials[choice.trial_id]
        record.status, record.target = RUNNING, record.last_level + 1
        self._start_level_clock(choice.trial_id)
        logger.debug("Resuming trial %d to level %d", choice.trial_id, record.target)
        return TrialSuggestion.resume_suggestion(
            choice.trial_id, self._trial_config(record.config, record.target)
        )

    def on_trial_add(self, trial: Trial):
        config = self.encoder.tunable_part(trial.config)
        self.history.add(trial.trial_id, config, self.encoder.encode([config])[0])
        self._start_level_clock(trial.trial_id)
        self.searcher.register(config)

    def _level(self, trial_id: int, result: Mapping[str, Any]) -> int | None:
        """The level of ``result``, or ``None`` (logged) if it has no valid one."""
        raw = result.get(self.time_attr)
        try:
            level = float(raw)
        except (TypeError, ValueError):
            level = math.nan
        if not math.isfinite(level) or level < 1 or level != int(level):
            logger.error(
                "Trial %d reported %s=%r; expected an integer level 1 ... %d (keys reported: %s)",
                trial_id,
                self.time_attr,
                raw,
                self.max_t,
                sorted(result),
            )
            return None
        if level > self.max_t:
            logger.warning(
                "Trial %d reported %s=%d beyond max_t=%d; counted as level %d",
                trial_id,
                self.time_attr,
                int(level),
                self.max_t,
                self.max_t,
            )
        return min(int(level), self.max_t)

    def _value(self, trial_id: int, result: Mapping[str, Any]) -> float | None:
        """The metric in the minimized direction (``nan`` if not finite), or
        ``None`` (logged) if the result has none."""
        if self.metric not in result:
            logger.error(
                "Trial %d reported no '%s' (metric); keys reported: %s",
                trial_id,
                self.metric,
                sorted(result),
            )
            return None
        try:
            value = float(result[self.metric])
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            logger.warning(
                "Trial %d reported %s=%r: treated as diverged, never resumed",
                trial_id,
                self.metric,
                result[self.metric],
            )
            return math.nan
        return value if self.do_minimize else -value

    def on_trial_result(self, trial: Trial, result: dict[str, Any]) -> str:
        trial_id = trial.trial_id
        if trial_id not in self.history.trials:
            self.on_trial_add(trial)
        record = self.history.trials[trial_id]
        level, value = self._level(trial_id, result), self._value(trial_id, result)
        if level is None or value is None:
            record.status = FAILED
            return SchedulerDecision.STOP
        self.history.record(trial_id, level, value)
        self.history.record_seconds(trial_id, level, self._level_seconds(trial_id, result))
        if math.isnan(value):
            record.status = FAILED
            return SchedulerDecision.STOP
        if record.status == PAUSED:  # late result of a run already told to pause
            return SchedulerDecision.PAUSE
        if record.status != RUNNING:
            return SchedulerDecision.STOP
        if level >= self.max_t:
            record.status = FINISHED
            return SchedulerDecision.STOP
        if level >= record.target:
            record.status = PAUSED
            return SchedulerDecision.PAUSE
        return SchedulerDecision.CONTINUE

    def on_trial_complete(self, trial: Trial, result: dict[str, Any]):
        record = self.history.trials.get(trial.trial_id)
        if record is None or record.status != RUNNING:
            return
        record.status = FINISHED
        if record.last_level < self.max_t:
            logger.warning(
                "Trial %d ended at level %d before its assigned level %d; it will not be "
                "resumed (does the script stop at config['%s']?)",
                trial.trial_id,
                record.last_level,
                record.target,
                self.max_resource_attr,
            )

    def on_trial_error(self, trial: Trial):
        record = self.history.trials.get(trial.trial_id)
        if record is not None:
            record.status = FAILED
        logger.warning("Trial %d failed; it will never be resumed", trial.trial_id)

    def on_trial_interrupted(self, trial: Trial):
        """The run of ``trial`` ended without a decision or an error (the tuner
        process died): pause the trial at its last observed level, so that it
        can be resumed from its checkpoint. Only a running trial changes."""
        record = self.history.trials.get(trial.trial_id)
        if record is not None and record.status == RUNNING:
            record.status = PAUSED
            logger.info(
                "Trial %d was interrupted at level %d; paused", trial.trial_id, record.last_level
            )

    # --- description -----------------------------------------------------------------

    def metric_names(self) -> list[str]:
        return [self.metric]

    def metric_mode(self) -> str:
        return "min" if self.do_minimize else "max"

    def metadata(self) -> dict[str, Any]:
        return {
            "scheduler_name": type(self).__name__,
            "config_space": dump_json_with_numpy(config_space_to_json_dict(self.config_space)),
            "metric": self.metric,
            "metric_names": self.metric_names(),
            "metric_mode": self.metric_mode(),
            "time_attr": self.time_attr,
            "max_t": self.max_t,
            "max_resource_attr": self.max_resource_attr,
            "random_seed": self.random_seed,
        }
