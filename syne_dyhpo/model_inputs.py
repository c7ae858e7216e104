"""What the surrogate sees: packed rows, their targets, and which rows it conditions on.

Notation:

- ``T``: ``max_t``; ``L``: curve length fed to the model, ``max(T - 1, 1)``: a
  prediction at level ``l`` sees the values at levels ``1 ... l - 1``.
- ``d``: encoded configuration dimension.
- A row is ``[x | l / T | curve before l | mask]``, ``(d + 1 + 2 L,)``: the
  encoded configuration, the level being predicted as a fraction of ``T``, the
  values observed before ``l`` on the target scale (zero elsewhere), and 1
  where the curve holds a value (:class:`RowLayout`).
- Targets ``y`` are metric values on a
  :class:`~syne_dyhpo.target_scale.TargetScale`: 0 at the best value seen
  when the scale was fitted, 1 at the worst.

The scale is fitted with the network and kept until the next fit, so that the
rows of past observations do not change in between and the GP can extend its
factorization instead of redoing it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from syne_dyhpo.ledger import TrialLedger
from syne_dyhpo.target_scale import TargetScale


@dataclass(frozen=True)
class RowLayout:
    """Column layout of a packed row (see the module docstring)."""

    config_dim: int
    max_t: int

    @property
    def curve_length(self) -> int:
        return max(self.max_t - 1, 1)

    @property
    def width(self) -> int:
        return self.config_dim + 1 + 2 * self.curve_length

    @property
    def budget_column(self) -> int:
        return self.config_dim

    def split(self, rows):
        """``rows (n, width)`` (numpy or torch) -> ``[x | budget] (n, d + 1)``
        and ``[curve; mask] (n, 2, L)``."""
        head = self.config_dim + 1
        return rows[:, :head], rows[:, head:].reshape(-1, 2, self.curve_length)

    def pack(self, X: np.ndarray, N: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """Rows ``(n, width)`` predicting ``levels (n,)`` of configurations ``X
        (n, d)`` from their curves ``N (n, T)`` on the target scale (``nan``
        unobserved); only the values before each level are kept."""
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

    def at_levels(self, rows: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """``rows (n, width)`` once per row of ``levels (h, n)``, predicting those
        levels from the same curves: ``(h * n, width)``, row ``j * n + i`` is row
        ``i`` at ``levels[j, i]``."""
        stacked = np.tile(rows, (len(levels), 1))
        stacked[:, self.budget_column] = levels.ravel() / self.max_t
        return stacked


def conditioning_order(ledger: TrialLedger) -> np.ndarray:
    """Indices of the observations (arrival order), most informative first:
    each trial's latest observation, then each trial's second latest, and so
    on; newest first among equals. A trial's latest value says most about
    its next ones, and every trial keeps its say before any gets a second."""
    rows, _ = ledger.arrivals
    o = len(rows)
    if not o:
        return np.zeros(0, dtype=np.int64)
    # rank within trial, counted from the newest: stable sort by trial, newest first
    newest_first = np.arange(o)[::-1]
    by_trial = newest_first[np.argsort(rows[newest_first], kind="stable")]
    trial_sorted = rows[by_trial]
    starts = np.r_[0, np.flatnonzero(np.diff(trial_sorted)) + 1]
    rank = np.empty(o, dtype=np.int64)
    rank[by_trial] = np.arange(o) - np.repeat(starts, np.diff(np.r_[starts, o]))
    return np.lexsort((-np.arange(o), rank))


class ModelInputs:
    """Builds the surrogate's rows from the ledger, on the target scale it owns.

    :param ledger: the trials.
    """

    def __init__(self, ledger: TrialLedger):
        self.ledger = ledger
        self.layout = RowLayout(ledger.config_dim, ledger.max_t)
        self._scale: TargetScale | None = None

    @property
    def scale(self) -> TargetScale:
        """The scale of the last :meth:`refit_scale`, or the current data's before."""
        return self._scale or self.fitted_scale()

    def fitted_scale(self) -> TargetScale:
        """The scale fitted to the finite observations now (see :meth:`TargetScale.fit`)."""
        return TargetScale.fit(self.ledger.curves.ravel())

    def use_scale(self, scale: TargetScale) -> None:
        """Keep ``scale`` (that of a successful fit) until the next call."""
        self._scale = scale

    def observations(
        self, index: np.ndarray, scale: TargetScale | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``(k, width)`` and targets ``(k,)`` of the observations ``index``
        (arrival order, see :attr:`TrialLedger.arrivals`)."""
        scale = scale or self.scale
        rows, levels = (a[index] for a in self.ledger.arrivals)
        N = scale(self.ledger.curves[rows])
        return self.layout.pack(self.ledger.X[rows], N, levels), N[np.arange(len(rows)), levels - 1]

    def next_level_rows(self, trial_ids: list[int]) -> np.ndarray:
        """Rows ``(k, width)`` of ``trial_ids`` at their next level (last observed + 1)."""
        rows = self.ledger.rows(trial_ids)
        N = self.scale(self.ledger.curves[rows])
        return self.layout.pack(self.ledger.X[rows], N, self.ledger.next_levels(trial_ids))

    def new_config_rows(self, X: np.ndarray) -> np.ndarray:
        """Rows ``(k, width)`` of unseen configurations ``X (k, d)`` at level 1."""
        N = np.full((len(X), self.ledger.max_t), np.nan)
        return self.layout.pack(X, N, np.ones(len(X), dtype=int))

    def best_per_level(self) -> np.ndarray:
        """``(T,)`` best value on the scale at each level; the overall best where
        no trial has reached a level yet."""
        curves = self.ledger.curves
        raw = np.where(np.isnan(curves), np.inf, curves).min(axis=0, initial=np.inf)
        reached = raw < np.inf
        best = np.full(len(raw), np.inf)
        best[reached] = self.scale(raw[reached])  # the scale is monotone: min commutes
        diverged_only = ~reached & ~np.isnan(curves).all(axis=0)
        best[diverged_only] = 1.0  # only non-finite values there: the worst
        overall = best.min()
        return np.where(np.isfinite(best), best, overall if np.isfinite(overall) else 1.0)


class ConditioningSet:
    """The observations the GP conditions on, bounded so that a decision costs
    the same at 500 observations and at 50,000.

    At most ``max_size`` observations are chosen by :func:`conditioning_order`
    (kept in arrival order); observations that arrive later are appended, so
    the GP's factorization is extended rather than redone, until the set is
    ``slack`` times larger than ``max_size``; then it is chosen again.

    :param max_size: observations chosen.
    :param slack: relative growth before choosing again.
    """

    def __init__(self, max_size: int, slack: float = 0.25):
        if max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {max_size}")
        self.max_size = max_size
        self.limit = int(max_size * (1 + slack))
        self._index = np.zeros(0, dtype=np.int64)
        self._seen = 0

    def update(self, ledger: TrialLedger, *, choose_again: bool = False) -> np.ndarray:
        """Indices ``(k,)`` of the set (arrival order), after adding the
        observations that arrived since the last call."""
        o = ledger.num_observations
        if choose_again or len(self._index) + o - self._seen > self.limit:
            self._index = np.sort(conditioning_order(ledger)[: self.max_size])
        else:
            self._index = np.concatenate([self._index, np.arange(self._seen, o)])
        self._seen = o
        return self._index
