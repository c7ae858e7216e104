"""The trial ledger: the one owner of what DyHPO knows of each trial.

Every trial moves through the states below by the transitions of
:class:`TrialLedger`; a transition that is not allowed from a trial's current
state raises :class:`TrialStateError`. Everybody else reads the ledger: as a
read-only mapping ``trial_id -> TrialView``, or through read-only arrays for
vectorized code (one row per trial, in the order trials were started).

::

    start ──> running ──pause──> paused ──resume──> running
                 ├──finish──> finished      (reached max_t, or the run ended)
                 ├──diverge─> diverged      (a non-finite metric)
                 └──fail────> failed        (an error)
    (finish, diverge and fail also from paused)

Notation: ``T`` is ``max_t``, levels are ``1 ... T``; ``d`` the encoded
configuration dimension. A curve is ``(T,)`` values in the minimized
direction, ``nan`` where not observed and ``+inf`` where the metric was not
finite; seconds are ``(T,)`` measured level times, ``nan`` where not measured.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from syne_dyhpo.cost import log_level_cost

RUNNING, PAUSED, FINISHED, FAILED, DIVERGED = "running", "paused", "finished", "failed", "diverged"
STATUSES = (RUNNING, PAUSED, FINISHED, FAILED, DIVERGED)
#: Allowed transitions: name -> (states it leaves, state it enters).
TRANSITIONS = {
    "pause": ((RUNNING,), PAUSED),
    "resume": ((PAUSED,), RUNNING),
    "finish": ((RUNNING, PAUSED), FINISHED),
    "diverge": ((RUNNING, PAUSED), DIVERGED),
    "fail": ((RUNNING, PAUSED), FAILED),
}


class TrialStateError(ValueError):
    """A transition that the trial's current state does not allow."""


@dataclass(frozen=True)
class TrialView:
    """A read-only copy of one trial's record.

    :param trial_id: Syne Tune's trial id.
    :param config: hyperparameters (tunable part).
    :param curve: ``(T,)`` observed values (see the module notation).
    :param seconds: ``(T,)`` measured level times.
    :param status: one of :data:`STATUSES`.
    :param target: level the current (or last) run of the trial is decided up to.
    :param last_level: highest level observed, 0 if none.
    """

    trial_id: int
    config: dict[str, Any]
    curve: np.ndarray
    seconds: np.ndarray
    status: str
    target: int
    last_level: int


@dataclass(frozen=True)
class BestTrial:
    """The incumbent: the trial with the best observed value (minimized direction)."""

    trial_id: int
    config: dict[str, Any]
    level: int  #: level the best value was observed at
    value: float  #: in the minimized direction
    last_level: int  #: deepest level the trial reached
    status: str


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class TrialLedger(Mapping[int, TrialView]):
    """Trials by id, their states, curves and level times.

    :param max_t: largest level ``T``.
    :param config_dim: encoded configuration dimension ``d``.
    """

    def __init__(self, max_t: int, config_dim: int):
        self.max_t = max_t
        self.config_dim = config_dim
        self._row: dict[int, int] = {}  # trial_id -> row of the arrays below
        self._configs: list[dict[str, Any]] = []
        capacity = 16
        self._ids = np.zeros(capacity, dtype=np.int64)
        self._X = np.zeros((capacity, config_dim))
        self._curves = np.full((capacity, max_t), np.nan)
        self._seconds = np.full((capacity, max_t), np.nan)
        self._status = np.zeros(capacity, dtype=np.int8)
        self._target = np.zeros(capacity, dtype=np.int64)
        self._last = np.zeros(capacity, dtype=np.int64)
        self._log_cost = np.full(capacity, np.nan)
        self._arrival_rows = np.zeros(64, dtype=np.int64)
        self._arrival_levels = np.zeros(64, dtype=np.int64)
        self._n_arrivals = 0
        #: Grows with every change, so that a cached decision can tell it is stale.
        self.version = 0

    # --- transitions ---------------------------------------------------------------

    def start(self, trial_id: int, config: dict[str, Any], x: np.ndarray) -> None:
        """A new trial, running to level 1."""
        if trial_id in self._row:
            raise TrialStateError(f"trial {trial_id} was started already")
        n = len(self._row)
        if n == len(self._ids):
            self._grow_trials()
        self._row[trial_id] = n
        self._configs.append(config)
        self._ids[n], self._X[n] = trial_id, x
        self._status[n], self._target[n] = STATUSES.index(RUNNING), 1
        self.version += 1

    def resume(self, trial_id: int) -> int:
        """Run a paused trial to its next level; that level."""
        row = self._transition(trial_id, "resume")
        self._target[row] = min(self._last[row] + 1, self.max_t)
        return int(self._target[row])

    def pause(self, trial_id: int) -> None:
        self._transition(trial_id, "pause")

    def finish(self, trial_id: int) -> None:
        self._transition(trial_id, "finish")

    def diverge(self, trial_id: int) -> None:
        self._transition(trial_id, "diverge")

    def fail(self, trial_id: int) -> None:
        self._transition(trial_id, "fail")

    def observe(self, trial_id: int, level: int, value: float, seconds: float) -> None:
        """``value`` (minimized direction; not finite -> ``+inf``) at ``level``,
        which took ``seconds`` (kept if positive and the level's first
        measurement). A fact, not a transition: accepted in every state."""
        row = self._row_of(trial_id)
        if not 1 <= level <= self.max_t:
            raise ValueError(f"trial {trial_id}: level {level} outside 1 ... {self.max_t}")
        if np.isnan(self._curves[row, level - 1]):
            if self._n_arrivals == len(self._arrival_rows):
                self._arrival_rows = np.concatenate([self._arrival_rows, self._arrival_rows])
                self._arrival_levels = np.concatenate([self._arrival_levels, self._arrival_levels])
            self._arrival_rows[self._n_arrivals] = row
            self._arrival_levels[self._n_arrivals] = level
            self._n_arrivals += 1
        self._curves[row, level - 1] = value if np.isfinite(value) else np.inf
        self._last[row] = max(self._last[row], level)
        if np.isnan(self._seconds[row, level - 1]) and seconds > 0:
            self._seconds[row, level - 1] = seconds
            self._log_cost[row] = log_level_cost(self._seconds[row])
        self.version += 1

    def _transition(self, trial_id: int, name: str) -> int:
        row = self._row_of(trial_id)
        sources, target = TRANSITIONS[name]
        current = STATUSES[self._status[row]]
        if current not in sources:
            raise TrialStateError(
                f"trial {trial_id} cannot {name}: it is {current} (allowed from {sources})"
            )
        self._status[row] = STATUSES.index(target)
        self.version += 1
        return row

    def _row_of(self, trial_id: int) -> int:
        try:
            return self._row[trial_id]
        except KeyError:
            raise KeyError(f"trial {trial_id} is not in the ledger") from None

    def _grow_trials(self) -> None:
        def doubled(array: np.ndarray, fill: float) -> np.ndarray:
            return np.concatenate([array, np.full_like(array, fill)])

        self._ids, self._X = doubled(self._ids, 0), doubled(self._X, 0.0)
        self._curves, self._seconds = doubled(self._curves, np.nan), doubled(self._seconds, np.nan)
        self._status, self._target = doubled(self._status, 0), doubled(self._target, 0)
        self._last, self._log_cost = doubled(self._last, 0), doubled(self._log_cost, np.nan)

    # --- mapping of read-only views --------------------------------------------------

    def __getitem__(self, trial_id: int) -> TrialView:
        row = self._row_of(trial_id)
        return TrialView(
            trial_id=trial_id,
            config=dict(self._configs[row]),
            curve=self._curves[row].copy(),
            seconds=self._seconds[row].copy(),
            status=STATUSES[self._status[row]],
            target=int(self._target[row]),
            last_level=int(self._last[row]),
        )

    def __iter__(self) -> Iterator[int]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)

    def status(self, trial_id: int) -> str:
        return STATUSES[self._status[self._row_of(trial_id)]]

    def config(self, trial_id: int) -> dict[str, Any]:
        return self._configs[self._row_of(trial_id)]

    def target(self, trial_id: int) -> int:
        return int(self._target[self._row_of(trial_id)])

    def last_level(self, trial_id: int) -> int:
        return int(self._last[self._row_of(trial_id)])

    def next_levels(self, trial_ids: list[int]) -> np.ndarray:
        """``(k,)`` next level of each trial: its last observed + 1, at most ``T``."""
        return np.minimum(self._last[self.rows(trial_ids)] + 1, self.max_t)

    def with_status(self, *statuses: str) -> list[int]:
        """Ids of the trials in any of ``statuses``, in the order they started."""
        codes = [STATUSES.index(s) for s in statuses]
        return self.ids[np.isin(self.status_codes, codes)].tolist()

    def resumable(self) -> list[int]:
        """Paused trials below level ``T``: the ones a decision may resume."""
        paused = self.status_codes == STATUSES.index(PAUSED)
        return self.ids[paused & (self.last_levels < self.max_t)].tolist()

    def best(self) -> BestTrial | None:
        """The trial with the best finite observed value, ``None`` before any."""
        curves = self.curves
        finite = np.isfinite(curves)
        if not finite.any():
            return None
        row, column = np.unravel_index(np.argmin(np.where(finite, curves, np.inf)), curves.shape)
        trial_id = int(self._ids[row])
        return BestTrial(
            trial_id=trial_id,
            config=dict(self._configs[row]),
            level=int(column) + 1,
            value=float(curves[row, column]),
            last_level=int(self._last[row]),
            status=self.status(trial_id),
        )

    # --- read-only arrays, one row per trial in start order ------------------------------

    def rows(self, trial_ids: list[int]) -> np.ndarray:
        """``(k,)`` array rows of ``trial_ids``."""
        return np.fromiter((self._row_of(t) for t in trial_ids), dtype=np.int64)

    @property
    def ids(self) -> np.ndarray:
        """``(n,)`` trial ids."""
        return _read_only(self._ids[: len(self._row)])

    @property
    def X(self) -> np.ndarray:
        """``(n, d)`` encoded configurations."""
        return _read_only(self._X[: len(self._row)])

    @property
    def curves(self) -> np.ndarray:
        """``(n, T)`` curves."""
        return _read_only(self._curves[: len(self._row)])

    @property
    def status_codes(self) -> np.ndarray:
        """``(n,)`` index of each trial's status in :data:`STATUSES`."""
        return _read_only(self._status[: len(self._row)])

    @property
    def targets(self) -> np.ndarray:
        """``(n,)`` level each trial's current (or last) run is decided up to."""
        return _read_only(self._target[: len(self._row)])

    @property
    def last_levels(self) -> np.ndarray:
        """``(n,)`` highest observed level of each trial, 0 if none."""
        return _read_only(self._last[: len(self._row)])

    @property
    def log_costs(self) -> np.ndarray:
        """``(n,)`` log of each trial's median measured level time, ``nan`` if none."""
        return _read_only(self._log_cost[: len(self._row)])

    @property
    def num_observations(self) -> int:
        return self._n_arrivals

    @property
    def arrivals(self) -> tuple[np.ndarray, np.ndarray]:
        """Array rows ``(o,)`` and levels ``(o,)`` of the observations, in the
        order they arrived (a level observed again is not a new arrival)."""
        o = self._n_arrivals
        return _read_only(self._arrival_rows[:o]), _read_only(self._arrival_levels[:o])
