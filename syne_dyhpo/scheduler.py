"""DyHPO as a Syne Tune scheduler: every level, decide which trial trains next.

Wistuba, Kadra, Grabocka (2022): "Supervising the Multi-Fidelity Race of
Hyperparameter Configurations", NeurIPS.

The scheduler is an adapter between Syne Tune's callbacks and the trial
ledger (:mod:`syne_dyhpo.ledger`); the searcher decides. A trial may run up
to ``max_t`` (``config[max_resource_attr]``); when it reports the level it was
given, the next decision is made at once, with the trial as a paused
candidate: if it wins, it goes on without a pause and a resume (a new process
on most backends); otherwise it is paused, and the decision already made is
the one the free worker gets.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syne_tune.backend.trial_status import Trial
from syne_tune.config_space import Domain, config_space_to_json_dict
from syne_tune.constants import ST_TUNER_TIME
from syne_tune.optimizer.scheduler import SchedulerDecision, TrialScheduler, TrialSuggestion
from syne_tune.util import dump_json_with_numpy

from syne_dyhpo.ledger import PAUSED, RUNNING, TrialLedger
from syne_dyhpo.searcher import DyHPOSearcher, SecondsSince
from syne_dyhpo.spaces.conditional_encoding import make_encoder
from syne_dyhpo.spaces.conditions import Conditions
from syne_dyhpo.spaces.configspace_conditions import resolve_space

logger = logging.getLogger(__name__)


@dataclass
class DecisionCounts:
    """What the scheduler told the trials: new configurations started, paused
    trials resumed, trials paused after a level, trials that went on instead
    (chosen again, or promoted to a rung above)."""

    starts: int = 0
    resumes: int = 0
    pauses: int = 0
    continues: int = 0


def _finite_float(raw: Any) -> float:
    """``raw`` as a float; ``nan`` if it is not a number (a bool is not one) or
    does not fit one."""
    if isinstance(raw, bool):
        return math.nan
    try:
        return float(raw)
    except (TypeError, ValueError, OverflowError):
        return math.nan


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
    trains a paused trial one more level, whichever has the largest
    multi-fidelity expected improvement under a deep-kernel GP of the learning
    curves. A trial that reaches its level goes on if it is the next choice
    and is paused otherwise; at ``max_t`` it is done.

    :param config_space: Syne Tune domains and constants, or a
        ``ConfigSpace.ConfigurationSpace`` (with its conditions and forbidden clauses).
    :param metric: key of the reported metric.
    :param do_minimize: whether smaller ``metric`` values are better.
    :param time_attr: key of the level (1, 2, ...) reported with every result.
    :param max_t: largest level; read from ``config_space[max_resource_attr]``
        if not given. It may be large (levels that are training steps): the
        trials' records grow with the levels observed, not with ``max_t``, and
        the model sees at most :data:`~syne_dyhpo.model_inputs.CURVE_POSITIONS`
        positions of a curve, a geometric summary beyond that many levels.
    :param max_resource_attr: config key the scheduler sets to ``max_t``, the
        level a trial may train to: DyHPO pauses it earlier. The training script
        must checkpoint every level before it reports it, and when resumed,
        report its checkpoint's last level again before it trains on (a pause
        can come after the next level was checkpointed).
    :param random_seed: seeds every random choice; same seed and results, same
        decisions (with ``cost_aware``, same level times too).
    :param points_to_evaluate: configurations (possibly partial: missing values
        are the domain midpoints) started first, in order.
    :param num_new_candidates: unseen configurations scored per decision.
    :param refit_fraction: refit the network when the observations grew by this
        fraction since the last fit; otherwise only condition the GP.
    :param max_fit_share: refit only while the seconds spent fitting the
        network stay below this share of the tuning time elapsed (on the
        simulator's clock where results carry one): where levels take
        milliseconds, refits would otherwise eat the budget. A refit is made
        whenever the observations doubled since the last one, whatever it costs.
    :param go_on: ``True``: ``config[max_resource_attr]`` is ``max_t`` and a
        trial that reports its level goes on when it is DyHPO's next choice
        (decided at once); ``False``: it is the level the trial was given, and
        every level ends in a pause (on process-based backends one process per
        level, and no result is printed after a pause decision).
    :param max_conditioning: observations the GP conditions on: each trial's
        latest first (see :class:`~syne_dyhpo.model_inputs.ConditioningSet`);
        bounds the cost of a decision.
    :param cost_aware: rank candidates by expected improvement per second of
        their next level (see :mod:`syne_dyhpo.cost`), with level times measured
        as results arrive (until a level after a start or resume has been
        measured against one without, a trial that reports goes on);
        ``False``: by expected improvement alone, as published.
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
    :param reduction_factor: ``η`` of the promotion floor: of the ``n`` trials
        that reached a rung (levels ``1, η, η², …`` and ``max_t``), at least
        ``⌊n / η⌋`` are trained to the next, as ASHA would; the model chooses
        which (see :mod:`syne_dyhpo.promotion`). ``None``: no floor and no ceiling.
    :param depth_ceiling: ``True``: ... and at most ``⌈n / η⌉`` go past the
        rung, besides the rung's ``⌈n / η⌉`` best by their value there (ASHA's
        promotion rule): any other paused trial at a full rung waits until more
        trials reach it (unless nothing else is left to run, or it just
        reported and a start or resume costs more than its level), so that
        depth costs configurations started as in ASHA (see
        :mod:`syne_dyhpo.promotion` and the benchmarks in the README).
        ``"where_order_carries"``: so only at rungs whose order the run has
        shown to carry over to the next (the rank correlation of the trials
        seen at both, :func:`~syne_dyhpo.promotion.order_carries_over`).
        ``False``: DyHPO may train any paused trial deeper.
    :param surrogate_kwargs: options of the deep-kernel GP
        (:class:`~syne_dyhpo._surrogate.DeepKernelSurrogate`).
    :param conditions: when hyperparameters of a dict ``config_space`` are
        active and which configurations are forbidden
        (:class:`~syne_dyhpo.spaces.conditions.Conditions`, or a dict of clauses).
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
        max_fit_share: float = 0.05,
        max_conditioning: int = 512,
        go_on: bool = True,
        cost_aware: bool = True,
        lookahead: str = "rate",
        reduction_factor: float | None = 3.0,
        depth_ceiling: bool | str = False,
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
        for name, value in (
            ("num_new_candidates", num_new_candidates),
            ("max_conditioning", max_conditioning),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not refit_fraction >= 0:
            raise ValueError(f"refit_fraction must be >= 0, got {refit_fraction}")
        if not 0 < max_fit_share <= 1:
            raise ValueError(f"max_fit_share must be in (0, 1], got {max_fit_share}")
        if time_attr == metric:
            raise ValueError(f"time_attr and metric must differ, both are {metric!r}")
        for name, key in (("metric", metric), ("time_attr", time_attr)):
            if key.startswith("st_") or key == "trial_id":
                raise ValueError(
                    f"{name} {key!r} is a key Syne Tune adds to every result; "
                    "expected another name (not 'trial_id', not starting with 'st_')"
                )
        self.config_space = config_space
        self.metric = metric
        self.do_minimize = do_minimize
        self.time_attr = time_attr
        self.max_t = _resolve_max_t(config_space, max_t, max_resource_attr)
        self.max_resource_attr = max_resource_attr
        tunable_space = {k: v for k, v in config_space.items() if k != max_resource_attr}
        self.encoder = make_encoder(tunable_space, conditions)
        #: The trials: a read-only mapping ``trial_id -> TrialView`` for everyone
        #: but this scheduler.
        self.trials = TrialLedger(self.max_t, self.encoder.dim)
        self.searcher = DyHPOSearcher(
            self.encoder,
            self.trials,
            random_seed=self.random_seed,
            num_new_candidates=num_new_candidates,
            points_to_evaluate=points_to_evaluate,
            refit_fraction=refit_fraction,
            max_fit_share=max_fit_share,
            clock=self._elapsed,
            max_conditioning=max_conditioning,
            cost_aware=cost_aware,
            lookahead=lookahead,
            reduction_factor=reduction_factor,
            depth_ceiling=depth_ceiling,
            surrogate_kwargs=surrogate_kwargs,
        )
        self.go_on = go_on
        self.decision_seconds: list[float] = []
        self.counts = DecisionCounts()
        # Levels are timed on the simulator's clock where results carry one
        # (ST_TUNER_TIME), else on this process's monotonic clock (real backends).
        self._tuner_time: float | None = None  # latest ST_TUNER_TIME seen
        self._elapsed_since_made = SecondsSince(time.time())
        # trial -> both clocks when its level began, and whether it began with a
        # start or resume (a switch) rather than straight after the previous level
        self._level_started: dict[int, tuple[float, float, bool]] = {}

    def _start_level_clock(self, trial_id: int, switch: bool) -> None:
        self._level_started[trial_id] = (self._tuner_time or 0.0, time.monotonic(), switch)

    def _elapsed(self) -> float:
        """Seconds of tuning so far: on the simulator's clock if results carry
        one, else since this scheduler was made."""
        if self._tuner_time is not None:
            return self._tuner_time
        return self._elapsed_since_made()

    def _level_seconds(self, trial_id: int, result: Mapping[str, Any]) -> tuple[float, bool]:
        """Seconds since ``trial_id``'s run started or last reported, and
        whether the level began with a switch; restarts the clock."""
        tuner_start, process_start, switch = self._level_started[trial_id]  # set by add or resume
        tuner_time = _finite_float(result.get(ST_TUNER_TIME))
        if math.isfinite(tuner_time):
            self._tuner_time = tuner_time
            seconds = self._tuner_time - tuner_start
        else:
            seconds = time.monotonic() - process_start
        self._start_level_clock(trial_id, switch=False)
        return seconds, switch

    # --- decisions -----------------------------------------------------------------

    def _trial_config(self, config: Mapping[str, Any], level: int) -> dict[str, Any]:
        full = self.encoder.full_config(config)
        if self.max_resource_attr is not None:
            full[self.max_resource_attr] = self.max_t if self.go_on else level
        return full

    def _run_is_done(self) -> bool:
        """Whether nothing may start, resume or go on any more (never, here:
        the Tuner's stopping criterion ends the run)."""
        return False

    def _decide(self, continuing: int | None = None):
        if self._run_is_done():
            return None
        start = time.perf_counter()
        choice = self.searcher.suggest(continuing)
        self.decision_seconds.append(time.perf_counter() - start)
        return choice

    def suggest(self) -> TrialSuggestion | None:
        choice = self._decide()
        if choice is None:
            return None
        if choice.config is not None:
            self.counts.starts += 1
            return TrialSuggestion.start_suggestion(self._trial_config(choice.config, 1))
        level = self.trials.resume(choice.trial_id, choice.to_level)
        self.counts.resumes += 1
        self._start_level_clock(choice.trial_id, switch=True)
        logger.debug("Resuming trial %d to level %d", choice.trial_id, level)
        return TrialSuggestion.resume_suggestion(
            choice.trial_id, self._trial_config(self.trials.config(choice.trial_id), level)
        )

    def on_trial_add(self, trial: Trial):
        config = self.encoder.tunable_part(trial.config)
        self.trials.start(trial.trial_id, config, self.encoder.encode([config])[0])
        self._start_level_clock(trial.trial_id, switch=True)
        self.searcher.register(config)

    def _level(self, trial_id: int, result: Mapping[str, Any]) -> int | None:
        """The level of ``result``, or ``None`` (logged) if it has no valid one."""
        raw = result.get(self.time_attr)
        level = _finite_float(raw)
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
        value = _finite_float(result[self.metric])
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
        if trial_id not in self.trials:
            self.on_trial_add(trial)
        status = self.trials.status(trial_id)
        active = status in (RUNNING, PAUSED)
        level, value = self._level(trial_id, result), self._value(trial_id, result)
        if level is None or value is None:
            if active:
                self.trials.fail(trial_id)
            return SchedulerDecision.STOP
        seconds, after_switch = self._level_seconds(trial_id, result)
        self.trials.observe(trial_id, level, value, seconds, after_switch)
        if math.isnan(value):
            if active:
                self.trials.diverge(trial_id)
            return SchedulerDecision.STOP
        if status == PAUSED:  # late result of a run already told to pause
            return SchedulerDecision.PAUSE
        if status != RUNNING:
            return SchedulerDecision.STOP
        if level >= self.max_t:
            self.trials.finish(trial_id)
            return SchedulerDecision.STOP
        if level < self.trials.target(trial_id) and not self._run_is_done():
            self.counts.continues += 1  # a promotion on its way to its rung
            return SchedulerDecision.CONTINUE
        return self._pause_or_continue(trial_id)

    def _pause_or_continue(self, trial_id: int) -> str:
        """``trial_id`` reached its level: the next decision, made now with the
        trial paused, either picks it (it goes on) or is kept for the next
        :meth:`suggest` (it pauses)."""
        self.trials.pause(trial_id)
        if not self.go_on:
            self.counts.pauses += 1
            return SchedulerDecision.PAUSE
        choice = self._decide(continuing=trial_id)
        if choice is not None and choice.trial_id == trial_id:
            self.trials.resume(trial_id, choice.to_level)
            self.counts.continues += 1
            return SchedulerDecision.CONTINUE
        self.counts.pauses += 1
        return SchedulerDecision.PAUSE

    def on_trial_complete(self, trial: Trial, result: dict[str, Any]):
        if trial.trial_id not in self.trials or self.trials.status(trial.trial_id) != RUNNING:
            return
        self.trials.finish(trial.trial_id)
        last = self.trials.last_level(trial.trial_id)
        if last < self.max_t:
            logger.warning(
                "Trial %d ended at level %d before max_t=%d; it will not be resumed "
                "(does the script stop at config['%s']?)",
                trial.trial_id,
                last,
                self.max_t,
                self.max_resource_attr,
            )

    def on_trial_error(self, trial: Trial):
        if trial.trial_id in self.trials and self.trials.status(trial.trial_id) in (
            RUNNING,
            PAUSED,
        ):
            self.trials.fail(trial.trial_id)
        logger.warning("Trial %d failed; it will never be resumed", trial.trial_id)

    def on_trial_interrupted(self, trial: Trial):
        """The run of ``trial`` ended without a decision or an error (the tuner
        process died): pause the trial at its last observed level, so that it
        can be resumed from its checkpoint. Only a running trial changes."""
        trial_id = trial.trial_id
        if trial_id in self.trials and self.trials.status(trial_id) == RUNNING:
            self.trials.pause(trial_id)
            logger.info(
                "Trial %d was interrupted at level %d; paused",
                trial_id,
                self.trials.last_level(trial_id),
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
