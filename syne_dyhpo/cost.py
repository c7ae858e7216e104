"""What one more level costs, for expected improvement per second.

DyHPO's decisions all buy one level of training, but levels of different
configurations cost different times (a wide network trains an epoch slower
than a narrow one), and the tuning budget is wall-clock time. Dividing the
expected improvement by the predicted seconds of the decision ("EI per
second", Snoek, Larochelle, Adams 2012, Sec. 3.2; the cost-aware acquisition
of Quick-Tune, Arango et al. 2024) makes the choice a rate.

Notation: ``seconds`` ``(k,)`` per trial, the measured times of its observed
levels (``nan`` where not measured); ``X`` ``(k, d)`` encoded configurations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Started configurations whose measured cost predicts an unseen one's.
NEIGHBOURS = 5


def log_level_cost(seconds: np.ndarray) -> float:
    """Log of a trial's typical level time: the median of its measured ones
    (``nan`` if none)."""
    measured = seconds[np.isfinite(seconds) & (seconds > 0)]
    return log_median_of_sorted(np.sort(measured))


def log_median_of_sorted(times: Sequence[float]) -> float:
    """:func:`log_level_cost` of measured times already sorted ascending, in
    ``O(1)``: the ledger keeps each trial's times sorted as they arrive."""
    k = len(times)
    if not k:
        return np.nan
    return float(np.log((times[(k - 1) // 2] + times[k // 2]) / 2.0))


def predicted_log_costs(
    paused_costs: np.ndarray, started_X: np.ndarray, started_costs: np.ndarray, new_X: np.ndarray
) -> np.ndarray:
    """Log seconds of the next level of each paused trial, then of the first
    level of each unseen configuration, shape ``(p + k,)``; zeros if nothing
    was measured yet (all decisions cost the same).

    :param paused_costs: ``(p,)`` log level cost of each paused trial (``nan``
        unknown).
    :param started_X: ``(s, d)`` started configurations with a measured cost.
    :param started_costs: ``(s,)`` their log level costs.
    :param new_X: ``(k, d)`` unseen configurations; each gets the mean log cost
        of its :data:`NEIGHBOURS` nearest started configurations (unit-cube
        distance), since cost varies smoothly with size hyperparameters.
    """
    if not len(started_costs):
        return np.zeros(len(paused_costs) + len(new_X))
    typical = float(np.median(started_costs))
    paused = np.where(np.isfinite(paused_costs), paused_costs, typical)
    if not len(new_X):
        return paused
    k = min(NEIGHBOURS, len(started_costs))
    # |a - b|^2 = |a|^2 - 2 a.b + |b|^2: one matrix product instead of a (k, s, d) array
    sq_dist = (
        np.square(new_X).sum(axis=1)[:, None]
        - 2.0 * new_X @ started_X.T
        + np.square(started_X).sum(axis=1)[None, :]
    )
    nearest = np.argpartition(sq_dist, k - 1, axis=1)[:, :k]
    return np.concatenate([paused, started_costs[nearest].mean(axis=1)])
