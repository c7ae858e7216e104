"""Learning curves observed so far and the model inputs built from them.

Notation:

- ``T``: ``max_t``, the largest level; levels are ``1 ... T``.
- ``L``: curve length fed to the model, ``max(T - 1, 1)``: a prediction at level
  ``l`` sees the values at levels ``1 ... l - 1``.
- ``curve``: ``(T,)`` values of one trial in the minimized direction; ``nan``
  where not observed, ``+inf`` where the metric was not finite (diverged).
- ``seconds``: ``(T,)`` measured time of each level of one trial, ``nan``
  where not measured.
- ``inputs``: ``(n, d + 1 + 2 L)`` packed model rows (see
  :mod:`~syne_dyhpo._surrogate.feature_extractor`), one per observation in the
  order they arrived, ``y``: ``(n,)`` targets on a
  :class:`~syne_dyhpo.target_scale.TargetScale`: 0 at the best value seen when
  the scale was fitted, 1 at the worst. Better values than that best fall
  below 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from syne_dyhpo.cost import log_level_cost
from syne_dyhpo.target_scale import TargetScale

RUNNING, PAUSED, FINISHED, FAILED = "running", "paused", "finished", "failed"


@dataclass
class TrialRecord:
    """What DyHPO knows of one trial.

    :param config: hyperparameters (tunable part).
    :param x: ``(d,)`` encoded configuration.
    :param curve: ``(T,)`` observed values, see module notation.
    :param seconds: ``(T,)`` measured level times, see module notation.
    :param status: one of ``running``, ``paused``, ``finished``, ``failed``.
    :param target: level the current (or last) run of the trial stops at.
    """

    config: dict[str, Any]
    x: np.ndarray
    curve: np.ndarray
    seconds: np.ndarray
    status: str = RUNNING
    target: int = 1

    @property
    def last_level(self) -> int:
        """Highest level observed, 0 if none."""
        return int(last_observed(self.curve[None])[0])


def last_observed(C: np.ndarray) -> np.ndarray:
    """``(k,)`` highest observed level of each row of curves ``C (k, T)``, 0 if none."""
    observed = ~np.isnan(C)
    return np.where(observed.any(axis=1), C.shape[1] - np.argmax(observed[:, ::-1], axis=1), 0)


class LearningCurveHistory:
    """Per-trial learning curves and their encoding for the surrogate.

    :param max_t: largest level ``T``.
    """

    def __init__(self, max_t: int):
        self.max_t = max_t
        self.curve_length = max(max_t - 1, 1)
        self.trials: dict[int, TrialRecord] = {}
        self._arrivals: list[tuple[int, int]] = []  # (trial_id, level) in arrival order
        self._log_costs: dict[int, float] = {}  # trial_id -> log_level_cost, once measured
        self._cost_X = np.zeros((0, 0))  # encodings of the trials in _log_costs, same order

    def add(self, trial_id: int, config: dict[str, Any], x: np.ndarray) -> TrialRecord:
        record = TrialRecord(
            config=config,
            x=x,
            curve=np.full(self.max_t, np.nan),
            seconds=np.full(self.max_t, np.nan),
        )
        self.trials[trial_id] = record
        return record

    def record(self, trial_id: int, level: int, value: float) -> None:
        """Store ``value`` (minimized direction) at ``level``; non-finite -> ``+inf``."""
        curve = self.trials[trial_id].curve
        if np.isnan(curve[level - 1]):
            self._arrivals.append((trial_id, level))
        curve[level - 1] = value if np.isfinite(value) else np.inf

    def record_seconds(self, trial_id: int, level: int, seconds: float) -> None:
        """``level`` of ``trial_id`` took ``seconds`` (kept if positive and the
        level's first measurement)."""
        record = self.trials[trial_id]
        if np.isnan(record.seconds[level - 1]) and seconds > 0:
            record.seconds[level - 1] = seconds
            if trial_id not in self._log_costs:
                self._cost_X = np.vstack([self._cost_X.reshape(-1, len(record.x)), record.x])
            self._log_costs[trial_id] = log_level_cost(record.seconds)

    def log_cost(self, trial_id: int) -> float:
        """Log of the trial's median measured level time, ``nan`` if none."""
        return self._log_costs.get(trial_id, np.nan)

    def measured_costs(self) -> tuple[np.ndarray, np.ndarray]:
        """``X (s, d)`` and log level costs ``(s,)`` of the trials with a measured time."""
        return self._cost_X, np.fromiter(self._log_costs.values(), dtype=np.float64)

    def with_status(self, *statuses: str) -> list[int]:
        return [tid for tid, rec in self.trials.items() if rec.status in statuses]

    def resumable(self) -> list[int]:
        """Paused trials below level ``T``: the ones a decision may resume."""
        paused = self.with_status(PAUSED)
        below = self.last_levels(paused) < self.max_t
        return [t for t, keep in zip(paused, below, strict=True) if keep]

    def last_levels(self, trial_ids: list[int]) -> np.ndarray:
        """``(k,)`` highest observed level of each trial, 0 if none."""
        if not trial_ids:
            return np.zeros(0, dtype=int)
        return last_observed(np.vstack([self.trials[t].curve for t in trial_ids]))

    @property
    def num_observations(self) -> int:
        return len(self._arrivals)

    def _matrices(self, trial_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """``X (k, d)`` and raw curves ``C (k, T)`` of ``trial_ids``."""
        X = np.vstack([self.trials[t].x for t in trial_ids])
        C = np.vstack([self.trials[t].curve for t in trial_ids])
        return X, C

    def target_scale(self) -> TargetScale:
        """The scale fitted to the finite observations so far (see :meth:`TargetScale.fit`)."""
        if not self.trials:
            return TargetScale.fit(np.zeros(0))
        return TargetScale.fit(np.concatenate([r.curve for r in self.trials.values()]))

    def _pack(self, X: np.ndarray, N: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """Rows ``[x | l / T | curve before l | mask]`` for levels ``l`` ``(n,)``
        (:meth:`predicting` moves the budget column to a later level).

        :param X: ``(n, d)`` encoded configurations.
        :param N: ``(n, T)`` curves on the target scale (``nan`` unobserved).
        :param levels: ``(n,)`` level of each row, ``1 ... T``: the curve is
            seen up to ``l - 1``.
        """
        L = self.curve_length
        observed = ~np.isnan(N)
        values = np.where(observed, N, 0.0)
        if N.shape[1] < L:  # T == 1: pad the single position
            pad = ((0, 0), (0, L - N.shape[1]))
            values, observed = np.pad(values, pad), np.pad(observed, pad)
        before = np.arange(L)[None, :] < (levels[:, None] - 1)
        return np.hstack(
            [
                X,
                (levels / self.max_t)[:, None],
                values[:, :L] * before,
                (observed[:, :L] & before).astype(np.float64),
            ]
        )

    def training_data(self, scale: TargetScale) -> tuple[np.ndarray, np.ndarray]:
        """All observations, in arrival order, as ``inputs (n, p)`` and ``y (n,)``.

        Rows of past observations are unchanged by later ones (for a fixed scale),
        so the model can extend its factorization instead of redoing it.
        """
        trial_ids = list(self.trials)
        position = {trial_id: i for i, trial_id in enumerate(trial_ids)}
        rows = np.array([position[t] for t, _ in self._arrivals], dtype=int)
        levels = np.array([level for _, level in self._arrivals], dtype=int)
        X, C = self._matrices(trial_ids)
        N = scale(C)[rows]
        return self._pack(X[rows], N, levels), N[np.arange(len(rows)), levels - 1]

    def next_level(self, trial_ids: list[int]) -> np.ndarray:
        """``(k,)`` next level of each trial (last observed + 1, at most ``T``)."""
        return np.minimum(self.last_levels(trial_ids) + 1, self.max_t)

    def next_level_inputs(self, trial_ids: list[int], scale: TargetScale) -> np.ndarray:
        """Inputs ``(k, p)`` of ``trial_ids`` at their next level (last observed + 1)."""
        X, C = self._matrices(trial_ids)
        levels = np.minimum(last_observed(C) + 1, self.max_t)
        return self._pack(X, scale(C), levels)

    def predicting(self, rows: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """``rows (n, p)`` of :meth:`next_level_inputs` or :meth:`new_config_inputs`
        once per row of ``predicted (h, n)``, predicting those levels from the same
        curves: shape ``(h * n, p)``, row ``j * n + i`` is row ``i`` at
        ``predicted[j, i]``."""
        budget_column = rows.shape[1] - 2 * self.curve_length - 1
        stacked = np.tile(rows, (len(predicted), 1))
        stacked[:, budget_column] = predicted.ravel() / self.max_t
        return stacked

    def new_config_inputs(self, X: np.ndarray) -> np.ndarray:
        """Inputs ``(k, p)`` of unseen configurations ``X (k, d)`` at level 1."""
        N = np.full((len(X), self.max_t), np.nan)
        return self._pack(X, N, np.ones(len(X), dtype=int))

    def best_per_level(self, scale: TargetScale) -> np.ndarray:
        """``(T,)`` best value on ``scale`` at each level; the overall best where
        no trial has reached a level yet."""
        _, C = self._matrices(list(self.trials))
        N = scale(C)
        best = np.where(np.isnan(N), np.inf, N).min(axis=0)
        overall = best.min()
        return np.where(np.isfinite(best), best, overall if np.isfinite(overall) else 1.0)
