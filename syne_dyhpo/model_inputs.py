"""What the surrogate sees: packed rows, their targets, and which rows it conditions on.

Notation:

- ``T``: ``max_t``; a prediction at level ``l`` sees its trial's values at
  levels ``1 ... l - 1``.
- ``K``: :data:`CURVE_POSITIONS`, the most curve positions a row holds.
- ``g``: ``(L,)`` the curve grid (:func:`curve_grid`), increasing levels from
  ``g_1 = 1`` to ``g_L = T - 1``, with ``L = min(max(T - 1, 1), K)``: curve
  position ``j`` stands for the levels ``(g_{j-1}, g_j]`` (``g_0 = 0``).
- ``d``: encoded configuration dimension.
- A row is ``[x | l / T | curve before l | mask]``, ``(d + 1 + 2 L,)``: the
  encoded configuration, the level being predicted as a fraction of ``T``, the
  curve summary before ``l`` on the target scale (zero where empty), and 1
  where it holds a value (:class:`RowLayout`).
- Targets ``y`` are metric values on a
  :class:`~syne_dyhpo.target_scale.TargetScale`: 0 at the best value seen
  when the scale was fitted, 1 at the worst.

The curve summary: position ``j`` holds the value of the trial's highest
observed level in ``(g_{j-1}, g_j]`` below ``l``. With ``T - 1 <= K`` the grid
is every level (``g_j = j``) and the summary is the curve itself, position
``j`` the value of level ``j``. Beyond, the grid is ``K`` levels spaced
geometrically from 1 to ``T - 1`` (consecutive levels first, while a geometric
step would be shorter than one level), so that a row's width, and the cost of
a decision, do not grow with ``T`` (a number of training steps, say). The
summary keeps what the model reads from a curve:

- the latest value: the highest level observed below ``l`` is the highest of
  its interval, so its value is the last one the mask marks, and the budget
  column says how far ahead the prediction is;
- the shape: the value at every grid level reached, at a resolution constant
  in log level. Learning curves change fastest early and are close to power
  laws (straight in log-log), so the first levels are kept one by one (the
  first 20 at ``K = 128``, ``T = 100,000``) and later ones at grid levels 9.5 %
  apart (11.5 % at ``T = 1,000,000``).

The scale is fitted with the network and kept until the next fit, so that the
rows of past observations do not change in between and the GP can extend its
factorization instead of redoing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from syne_dyhpo.ledger import TrialLedger
from syne_dyhpo.target_scale import TargetScale

#: The most curve positions a model row holds (``K``). Runs of up to ``K + 1``
#: levels (every table of the benchmarks, 20 to 52 levels; 100-epoch trainings)
#: keep their whole curve, one position per level; longer ones get the
#: geometric summary of the module docstring, whose grid levels are 9.5 % apart
#: at ``T = 100,000``. A row is at most ``2 K`` columns wider than ``[x | l / T]``,
#: whatever ``T``; the network's convolution over 128 positions costs little.
CURVE_POSITIONS = 128


def curve_grid(max_t: int, positions: int = CURVE_POSITIONS) -> np.ndarray:
    """``(L,)`` the increasing levels closing the curve positions' intervals:
    ``1 ... T - 1`` if there are at most ``positions`` of them, else
    ``positions`` levels from 1 to ``T - 1``, geometrically spaced and at least
    one level apart."""
    length = max(max_t - 1, 1)
    if length <= positions:
        return np.arange(1, length + 1)
    geometric = np.rint(np.geomspace(1, length, positions)).astype(np.int64)
    steps = np.arange(positions)
    # each at least one above the previous: g_j = max_{i <= j} (geometric_i + j - i)
    return steps + np.maximum.accumulate(geometric - steps)


@dataclass(frozen=True)
class RowLayout:
    """Column layout of a packed row (see the module docstring)."""

    config_dim: int
    max_t: int
    curve_positions: int = CURVE_POSITIONS  #: ``K``

    @cached_property
    def grid(self) -> np.ndarray:
        """``(L,)`` the curve grid ``g``."""
        return curve_grid(self.max_t, self.curve_positions)

    @property
    def curve_length(self) -> int:
        return len(self.grid)

    @property
    def width(self) -> int:
        return self.config_dim + 1 + 2 * self.curve_length

    @property
    def budget_column(self) -> int:
        return self.config_dim

    def positions(self, levels: np.ndarray) -> np.ndarray:
        """``(k,)`` the curve position whose interval holds each of ``levels
        (k,)`` (``0`` for level 0)."""
        return np.searchsorted(self.grid, levels)

    def split(self, rows):
        """``rows (n, width)`` (numpy or torch) -> ``[x | budget] (n, d + 1)``
        and ``[curve; mask] (n, 2, L)``."""
        head = self.config_dim + 1
        return rows[:, :head], rows[:, head:].reshape(-1, 2, self.curve_length)

    def pack(self, X: np.ndarray, levels: np.ndarray, N: np.ndarray) -> np.ndarray:
        """Rows ``(n, width)`` predicting ``levels (n,)`` of configurations ``X
        (n, d)`` from their curve summaries ``N (n, L)`` on the target scale
        (``nan`` where empty)."""
        observed = ~np.isnan(N)
        return np.hstack(
            [
                X,
                (levels / self.max_t)[:, None],
                np.where(observed, N, 0.0),
                observed.astype(np.float64),
            ]
        )

    def at_levels(self, rows: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """``rows (n, width)`` once per row of ``levels (h, n)``, predicting those
        levels from the same curves: ``(h * n, width)``, row ``j * n + i`` is row
        ``i`` at ``levels[j, i]``."""
        stacked = np.tile(rows, (len(levels), 1))
        stacked[:, self.budget_column] = levels.ravel() / self.max_t
        return stacked


class CurveIndex:
    """Which observation each curve position of each trial holds, for
    :class:`ModelInputs`' summaries: for every trial and position, the
    observation of the trial's highest level in the position's interval,
    ``-1`` if none. Kept up to date from the ledger's new arrivals; ``O(n L)``
    memory, however many levels were observed.

    :param layout: the rows' layout (its grid).
    """

    def __init__(self, layout: RowLayout):
        self.layout = layout
        self._held = np.full((16, layout.curve_length), -1, dtype=np.int64)
        self._seen = 0

    def update(self, ledger: TrialLedger) -> None:
        """Take in the observations that arrived since the last call."""
        if len(ledger) > len(self._held):
            grown = np.full((2 * len(ledger), self.layout.curve_length), -1, dtype=np.int64)
            grown[: len(self._held)] = self._held
            self._held = grown
        o = ledger.num_observations
        if o == self._seen:
            return
        all_rows, all_levels = ledger.arrivals
        new = np.arange(self._seen, o)
        new = new[all_levels[new] <= self.layout.grid[-1]]  # level T precedes none
        self._seen = o
        if not len(new):
            return
        rows, levels = all_rows[new], all_levels[new]
        positions = self.layout.positions(levels)
        # the highest new level per (trial, position), then against the one held
        order = np.lexsort((levels, positions, rows))
        keys = (rows * self.layout.curve_length + positions)[order]
        highest = order[np.r_[keys[1:] != keys[:-1], True]]
        rows, positions, levels, new = (a[highest] for a in (rows, positions, levels, new))
        held = self._held[rows, positions]
        higher = levels > _levels_of(held, all_levels)
        self._held[rows[higher], positions[higher]] = new[higher]

    def summaries(
        self, ledger: TrialLedger, rows: np.ndarray, levels: np.ndarray, latest: np.ndarray
    ) -> np.ndarray:
        """``(k, L)`` the observation each curve position holds (``-1``: empty)
        in the summaries of the trials in ``rows (k,)`` before ``levels (k,)``,
        given ``latest (k,)``, each one's observation of its highest level below
        its level (``-1``: none)."""
        self.update(ledger)
        grid = self.layout.grid
        edge = self.layout.positions(levels - 1)  # the interval of level l - 1
        held = self._held[rows]
        held[np.arange(self.layout.curve_length)[None, :] >= edge[:, None]] = -1
        # the edge interval holds the latest value below l, if it lies inside
        inside = _levels_of(latest, ledger.arrivals[1]) > np.where(edge > 0, grid[edge - 1], 0)
        held[np.flatnonzero(inside), edge[inside]] = latest[inside]
        return held


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


def _levels_of(observations: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The level of each of ``observations`` (any shape), 0 where it is -1 (none),
    given the ``levels (o,)`` of all observations."""
    out = np.zeros(observations.shape, dtype=np.int64)
    some = observations >= 0
    out[some] = levels[observations[some]]
    return out


class ModelInputs:
    """Builds the surrogate's rows from the ledger, on the target scale it owns.

    :param ledger: the trials.
    :param curve_positions: ``K``, the most curve positions a row holds.
    """

    def __init__(self, ledger: TrialLedger, *, curve_positions: int = CURVE_POSITIONS):
        self.ledger = ledger
        self.layout = RowLayout(ledger.config_dim, ledger.max_t, curve_positions)
        self.curve_index = CurveIndex(self.layout)
        self._scale: TargetScale | None = None
        self._arrival_rows = ArrivalRows(self.layout.width)

    @property
    def scale(self) -> TargetScale:
        """The scale of the last :meth:`use_scale`, or the current data's before."""
        return self._scale or self.fitted_scale()

    def fitted_scale(self) -> TargetScale:
        """The scale fitted to the finite observations now (see :meth:`TargetScale.fit`)."""
        return TargetScale.fit(self.ledger.observed_values)

    def use_scale(self, scale: TargetScale) -> None:
        """Keep ``scale`` (that of a successful fit) until the next call."""
        self._scale = scale

    def observations(
        self, index: np.ndarray, scale: TargetScale | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``(k, width)`` and targets ``(k,)`` of the observations ``index``
        (arrival order, see :attr:`TrialLedger.arrivals`)."""
        scale = scale or self.scale
        values = self.ledger.observed_values
        return self._arrival_rows.at(index, scale, self.ledger, self._rows_of), scale(values[index])

    def _rows_of(self, index: np.ndarray, scale: TargetScale) -> np.ndarray:
        """Rows ``(k, width)`` of the observations ``index`` on ``scale``."""
        ledger = self.ledger
        rows, levels = (a[index] for a in ledger.arrivals)
        N = self._summaries(rows, levels, ledger.predecessors[index], scale)
        return self.layout.pack(ledger.X[rows], levels, N)

    def next_level_rows(self, trial_ids: list[int]) -> np.ndarray:
        """Rows ``(k, width)`` of ``trial_ids`` at their next level (last observed + 1)."""
        ledger = self.ledger
        rows, levels = ledger.rows(trial_ids), ledger.next_levels(trial_ids)
        latest = ledger.last_observations[rows].copy()
        at_max_t = ledger.last_levels[rows] >= levels  # its level is its last one
        latest[at_max_t] = ledger.predecessors[latest[at_max_t]]
        N = self._summaries(rows, levels, latest, self.scale)
        return self.layout.pack(ledger.X[rows], levels, N)

    def new_config_rows(self, X: np.ndarray) -> np.ndarray:
        """Rows ``(k, width)`` of unseen configurations ``X (k, d)`` at level 1."""
        N = np.full((len(X), self.layout.curve_length), np.nan)
        return self.layout.pack(X, np.ones(len(X), dtype=int), N)

    def _summaries(
        self, rows: np.ndarray, levels: np.ndarray, latest: np.ndarray, scale: TargetScale
    ) -> np.ndarray:
        """``(k, L)`` curve summaries on ``scale`` (see :meth:`CurveIndex.summaries`)."""
        held = self.curve_index.summaries(self.ledger, rows, levels, latest)
        N = np.full(held.shape, np.nan)
        filled = held >= 0
        N[filled] = scale(self.ledger.observed_values[held[filled]])
        return N

    def best_at_levels(self, levels: np.ndarray) -> np.ndarray:
        """``(k,)`` best value on the scale at each of ``levels (k,)``; the
        overall best where no trial has reached a level yet."""
        raw = self.ledger.level_minima(levels)
        values = self.ledger.observed_values
        finite = values[np.isfinite(values)]
        overall = self.scale(finite.min(keepdims=True))[0] if len(finite) else 1.0
        best = np.full(len(raw), overall)
        reached = np.isfinite(raw)
        best[reached] = self.scale(raw[reached])  # the scale is monotone: min commutes
        best[raw == np.inf] = 1.0  # only non-finite values there: the worst
        return best


class ArrivalRows:
    """Rows of the observations (arrival order) on one scale, each built the
    first time it is asked for and kept across decisions: a row changes only
    with its scale, or with its trial's values before it (a level observed
    again, or one observed below the trial's deepest), which the kept values
    and predecessors are compared with. Only asked-for rows are built, so a
    new scale costs the rows of the conditioning set, not of every
    observation. In buffers that double when full.

    :param width: the rows' width.
    """

    def __init__(self, width: int):
        self._rows = np.zeros((0, width))
        self._built = np.zeros(0, dtype=bool)
        self._values = np.zeros(0)
        self._predecessors = np.zeros(0, dtype=np.int64)
        self._scale: TargetScale | None = None

    def at(self, index: np.ndarray, scale: TargetScale, ledger: TrialLedger, rows_of) -> np.ndarray:
        """Rows ``(k, width)`` of ``ledger``'s observations ``index`` on
        ``scale``; ``rows_of(index, scale)`` builds those not kept."""
        o, kept = ledger.num_observations, len(self._values)
        unchanged = (
            scale is self._scale
            and np.array_equal(ledger.observed_values[:kept], self._values)
            and np.array_equal(ledger.predecessors[:kept], self._predecessors)
        )
        if not unchanged:
            self._built[:], self._scale = False, scale
        if not unchanged or kept < o:
            self._values = ledger.observed_values.copy()
            self._predecessors = ledger.predecessors.copy()
        if len(self._rows) < o:
            rows = np.zeros((2 * o, self._rows.shape[1]))
            rows[: len(self._rows)] = self._rows
            built = np.zeros(2 * o, dtype=bool)
            built[: len(self._built)] = self._built
            self._rows, self._built = rows, built
        missing = index[~self._built[index]]
        if len(missing):
            self._rows[missing] = rows_of(missing, scale)
            self._built[missing] = True
        return self._rows[index]


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
