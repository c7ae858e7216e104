"""What one more level costs, for expected improvement per second.

DyHPO's decisions all buy one level of training, but levels of different
configurations cost different times (a wide network trains an epoch slower
than a narrow one), and the tuning budget is wall-clock time. Dividing the
expected improvement by the predicted seconds of the decision ("EI per
second", Snoek, Larochelle, Adams 2012, Sec. 3.2; the cost-aware acquisition
of Quick-Tune, Arango et al. 2024) makes the choice a rate.

A level that begins with a pause behind it costs more: :class:`LevelTimes`
measures that overhead, and the searcher charges it to every candidate but
the trial that may go on without a pause (and, until it is measured, lets
that trial go on).

Notation: ``X`` ``(k, d)`` encoded configurations; costs are log seconds.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

#: Started configurations whose measured cost predicts an unseen one's.
NEIGHBOURS = 5


def median_of_sorted(times: Sequence[float]) -> float:
    """Median of times already sorted ascending, in ``O(1)`` (``nan`` if none)."""
    k = len(times)
    if not k:
        return np.nan
    return (times[(k - 1) // 2] + times[k // 2]) / 2.0


class LevelTimes:
    """Measured level times per trial, told apart by how the level began.

    A level that begins with a *switch* (the trial's start, or its resume after
    a pause: on most backends a new process that loads the trial's checkpoint;
    in Syne Tune's simulator its start and stop delays) costs the backend's
    switch overhead on top of the training; a level that follows the trial's
    previous one without a pause costs the training only. Kept apart, they let
    a decision charge the overhead to the candidates that pay it: all but the
    trial that just reported and may go on.

    Trials are rows ``0 ... n-1`` in the order they were added. An update costs
    ``O(log k)`` for a trial's ``k`` times and ``O(n)`` at worst (a sorted list
    of the ``n`` trials' gaps); reading ``switch_seconds`` costs ``O(1)``.
    """

    def __init__(self):
        self._times: list[tuple[list[float], list[float]]] = []  # per trial: (straight, switched)
        self._medians = np.full((16, 2), np.nan)  # per trial: both medians, nan: none
        self._gaps: list[float] = []  # sorted: switched - straight median, per trial with both

    def add_trial(self) -> None:
        """A new trial, the next row, nothing measured."""
        if len(self._times) == len(self._medians):
            self._medians = np.vstack([self._medians, np.full_like(self._medians, np.nan)])
        self._times.append(([], []))

    def add(self, row: int, seconds: float, after_switch: bool) -> None:
        """A level of the trial in ``row`` took ``seconds`` (``> 0``), and began
        with a switch if ``after_switch``."""
        old_gap = self._gap_of(row)
        times = self._times[row][int(after_switch)]
        bisect.insort(times, float(seconds))
        self._medians[row, int(after_switch)] = median_of_sorted(times)
        if old_gap is not None:
            del self._gaps[bisect.bisect_left(self._gaps, old_gap)]
        gap = self._gap_of(row)
        if gap is not None:
            bisect.insort(self._gaps, gap)

    def _gap_of(self, row: int) -> float | None:
        """Switched minus straight median of the trial in ``row``; ``None``
        unless it is measured both ways."""
        straight, switched = self._medians[row]
        both = np.isfinite(straight) and np.isfinite(switched)
        return float(switched - straight) if both else None

    @property
    def switch_seconds(self) -> float:
        """The overhead of a switch: over the trials measured both ways, the
        median of their median switched level minus their median straight one;
        at least 0, and 0 until a trial is measured both ways."""
        return max(median_of_sorted(self._gaps), 0.0) if self._gaps else 0.0

    @property
    def switch_measured(self) -> bool:
        """Whether some trial is measured both ways, so that
        :attr:`switch_seconds` is measured rather than assumed 0."""
        return bool(self._gaps)

    def log_costs(self) -> np.ndarray:
        """``(n,)`` log seconds of each trial's level without the overhead: the
        median of its straight levels, or where it has none, the median of its
        switched levels less :attr:`switch_seconds`, but no less than the
        fastest straight median of any trial; ``nan`` where nothing was measured."""
        straight, switched = self._medians[: len(self._times)].T
        measured = np.isfinite(straight)
        if measured.any():
            net = np.maximum(switched - self.switch_seconds, straight[measured].min())
            straight = np.where(measured, straight, net)
        else:
            straight = switched
        return np.log(straight)

    @property
    def nbytes(self) -> int:
        """An estimate: its arrays, plus a float object and a pointer per time or gap."""
        times = sum(len(a) + len(b) for a, b in self._times) + 2 * len(self._gaps)
        return self._medians.nbytes + 32 * times


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
    paused = paused_log_costs(paused_costs, started_costs)
    if not len(new_X):
        return paused
    rows, _ = _nearest(new_X, started_X, min(NEIGHBOURS, len(started_costs)))
    return np.concatenate([paused, started_costs[rows].mean(axis=1)])


def paused_log_costs(paused_costs: np.ndarray, started_costs: np.ndarray) -> np.ndarray:
    """``(p,)`` each paused trial's log level cost, the median of the measured
    ``started_costs (s,)`` (``s >= 1``) where its own is unknown (``nan``)."""
    return np.where(np.isfinite(paused_costs), paused_costs, np.median(started_costs))


def _nearest(new_X: np.ndarray, started_X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``(c, k)`` of ``started_X (s, d)`` nearest to each of ``new_X (c, d)``
    (``k <= s``), and their squared distances ``(c, k)``."""
    # |a - b|^2 = |a|^2 - 2 a.b + |b|^2: one matrix product instead of a (c, s, d) array
    sq_dist = (
        np.square(new_X).sum(axis=1)[:, None]
        - 2.0 * new_X @ started_X.T
        + np.square(started_X).sum(axis=1)[None, :]
    )
    rows = np.argpartition(sq_dist, k - 1, axis=1)[:, :k]
    return rows, np.take_along_axis(sq_dist, rows, axis=1)


class NearestMeasured:
    """The :data:`NEIGHBOURS` nearest measured started configurations of each
    member of a pool of unseen ones, kept while both change: an update
    computes only the distances of new pool members and of newly measured
    configurations, so the costs of :func:`predicted_log_costs` come at
    ``O(new)`` per decision instead of ``O(pool x started)``.

    Started configurations are the rows of the ledger's ``X`` (``(s, d)``,
    rows never move); a row once measured stays measured.
    """

    def __init__(self, dim: int):
        self._X = np.zeros((0, dim))  # the pool
        self._rows = np.zeros((0, NEIGHBOURS), dtype=np.int64)  # nearest rows; -1: none
        self._dist = np.zeros((0, NEIGHBOURS))  # their squared distances; inf: none
        self._merged = np.zeros(0, dtype=bool)  # started rows taken into account

    def update(
        self, kept: np.ndarray, fresh_X: np.ndarray, X: np.ndarray, measured: np.ndarray
    ) -> None:
        """The pool is now its members ``kept (k,)`` (indices into the pool
        before) followed by ``fresh_X (f, d)``; ``X (s, d)`` are the started
        configurations and ``measured (s,)`` marks those with a measured cost."""
        merged = np.zeros(len(X), dtype=bool)
        merged[: len(self._merged)] = self._merged
        added = np.flatnonzero(measured & ~merged)
        pool_X = np.vstack([self._X[kept], fresh_X])
        rows = np.vstack([self._rows[kept], np.full((len(fresh_X), NEIGHBOURS), -1)])
        dist = np.vstack([self._dist[kept], np.full((len(fresh_X), NEIGHBOURS), np.inf)])
        fresh = slice(len(kept), None)
        if len(fresh_X) and merged.any():  # fresh members against all measured before
            known = np.flatnonzero(merged)
            near, d = _nearest(fresh_X, X[known], min(NEIGHBOURS, len(known)))
            rows[fresh, : near.shape[1]], dist[fresh, : near.shape[1]] = known[near], d
        if len(added) and len(pool_X):  # every member against the newly measured
            near, d = _nearest(pool_X, X[added], min(NEIGHBOURS, len(added)))
            rows, dist = np.hstack([rows, added[near]]), np.hstack([dist, d])
            best = np.argsort(dist, axis=1, kind="stable")[:, :NEIGHBOURS]
            rows, dist = np.take_along_axis(rows, best, 1), np.take_along_axis(dist, best, 1)
        self._X, self._rows, self._dist, self._merged = pool_X, rows, dist, measured.copy()

    def log_costs(self, started_costs: np.ndarray) -> np.ndarray:
        """``(pool,)`` mean of the ``started_costs (s,)`` of each pool member's
        nearest measured configurations; zeros if none is measured."""
        found = self._rows >= 0
        if not found.any():
            return np.zeros(len(self._rows))
        costs = np.where(found, started_costs[np.maximum(self._rows, 0)], 0.0)
        return costs.sum(axis=1) / found.sum(axis=1)
