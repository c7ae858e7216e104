"""The trial ledger: the one owner of what DyHPO knows of each trial.

Every trial moves through the states below by the transitions of
:class:`TrialLedger`; a transition that is not allowed from a trial's current
state raises :class:`TrialStateError`. Everybody else reads the ledger: as a
read-only mapping ``trial_id -> TrialView``, or through read-only arrays for
vectorized code (one row per trial, in the order trials were started, or one
entry per observation, in the order they arrived).

::

    start ──> running ──pause──> paused ──resume──> running
                 ├──finish──> finished      (reached max_t, or the run ended)
                 ├──diverge─> diverged      (a non-finite metric)
                 └──fail────> failed        (an error)
    (finish, diverge and fail also from paused)

Notation: ``T`` is ``max_t``, levels are ``1 ... T``; ``d`` the encoded
configuration dimension; ``n`` trials, ``o`` observations. An observation is
one level of one trial: its value in the minimized direction (``+inf`` where
the metric was not finite) and the level's measured seconds (``nan`` where
not measured). Storage is sparse: observations are kept in arrival order and
nothing is allocated for a level no trial reported, so memory is ``O(n + o)``
and no operation of a decision costs ``O(T)``: ``T`` may be a number of
training steps (hundreds of thousands). Dense ``(T,)`` curves exist only as
views built on request (:attr:`TrialView.curve`, :attr:`TrialLedger.curves`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from syne_dyhpo.cost import LevelTimes

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
    :param levels: ``(k,)`` the observed levels, increasing.
    :param values: ``(k,)`` their values (see the module notation).
    :param level_seconds: ``(k,)`` their measured times.
    :param status: one of :data:`STATUSES`.
    :param target: level the current (or last) run of the trial is decided up to.
    :param last_level: highest level observed, 0 if none.
    :param max_t: largest level ``T``.
    """

    trial_id: int
    config: dict[str, Any]
    levels: np.ndarray
    values: np.ndarray
    level_seconds: np.ndarray
    status: str
    target: int
    last_level: int
    max_t: int

    @property
    def curve(self) -> np.ndarray:
        """``(T,)`` values by level, ``nan`` where not observed (built on request:
        ``O(T)``)."""
        return self._dense(self.values)

    @property
    def seconds(self) -> np.ndarray:
        """``(T,)`` measured level times, ``nan`` where not measured (``O(T)``)."""
        return self._dense(self.level_seconds)

    def _dense(self, by_level: np.ndarray) -> np.ndarray:
        dense = np.full(self.max_t, np.nan)
        dense[self.levels - 1] = by_level
        return dense


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


def _doubled(array: np.ndarray, fill: float) -> np.ndarray:
    return np.concatenate([array, np.full_like(array, fill)])


class TrialLedger(Mapping[int, TrialView]):
    """Trials by id, their states, observations and level times.

    :param max_t: largest level ``T``.
    :param config_dim: encoded configuration dimension ``d``.
    """

    def __init__(self, max_t: int, config_dim: int):
        self.max_t = max_t
        self.config_dim = config_dim
        self._row: dict[int, int] = {}  # trial_id -> row of the per-trial arrays
        self._configs: list[dict[str, Any]] = []
        self._level_times = LevelTimes()
        capacity = 16
        self._ids = np.zeros(capacity, dtype=np.int64)
        self._X = np.zeros((capacity, config_dim))
        self._status = np.zeros(capacity, dtype=np.int8)
        self._target = np.zeros(capacity, dtype=np.int64)
        self._last = np.zeros(capacity, dtype=np.int64)
        self._last_obs = np.full(capacity, -1, dtype=np.int64)
        # per observation, in arrival order (capacity doubled when full)
        capacity = 64
        self._obs_rows = np.zeros(capacity, dtype=np.int64)
        self._obs_levels = np.zeros(capacity, dtype=np.int64)
        self._obs_values = np.full(capacity, np.nan)
        self._obs_seconds = np.full(capacity, np.nan)
        self._obs_previous = np.full(capacity, -1, dtype=np.int64)
        self._n_obs = 0
        self._level_min: dict[int, float] = {}  # level -> smallest value observed there
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
        self._level_times.add_trial()
        self._ids[n], self._X[n] = trial_id, x
        self._status[n], self._target[n] = STATUSES.index(RUNNING), 1
        self.version += 1

    def resume(self, trial_id: int, to_level: int | None = None) -> int:
        """Run a paused trial to its next level, or on to ``to_level``; the
        level it runs to."""
        row = self._transition(trial_id, "resume")
        self._target[row] = min(max(self._last[row] + 1, to_level or 0), self.max_t)
        return int(self._target[row])

    def pause(self, trial_id: int) -> None:
        self._transition(trial_id, "pause")

    def finish(self, trial_id: int) -> None:
        self._transition(trial_id, "finish")

    def diverge(self, trial_id: int) -> None:
        self._transition(trial_id, "diverge")

    def fail(self, trial_id: int) -> None:
        self._transition(trial_id, "fail")

    def observe(
        self, trial_id: int, level: int, value: float, seconds: float, after_switch: bool = False
    ) -> None:
        """``value`` (minimized direction; not finite -> ``+inf``) at ``level``,
        which took ``seconds`` (kept if positive and the level's first
        measurement) and began with the trial's start or resume if
        ``after_switch`` (see :class:`~syne_dyhpo.cost.LevelTimes`). A fact, not
        a transition: accepted in every state. A level observed again keeps its
        place in the arrival order and takes the new value."""
        row = self._row_of(trial_id)
        if not 1 <= level <= self.max_t:
            raise ValueError(f"trial {trial_id}: level {level} outside 1 ... {self.max_t}")
        value = float(value) if np.isfinite(value) else np.inf
        i = self._observation_at(row, level)
        old = None if i < 0 else float(self._obs_values[i])
        if i < 0:
            i = self._arrive(row, level)
        self._obs_values[i] = value
        self._update_level_min(level, old, value)
        if np.isnan(self._obs_seconds[i]) and seconds > 0:
            self._obs_seconds[i] = seconds
            self._level_times.add(row, seconds, after_switch)
        self.version += 1

    def _observation_at(self, row: int, level: int) -> int:
        """The observation of ``level`` of the trial in ``row``, -1 if none:
        ``O(1)`` for a level above or at the trial's last, ``O(o)`` below."""
        if level > self._last[row]:
            return -1
        if level == self._last[row]:
            return int(self._last_obs[row])
        mine = self._observations_of(row)
        hit = mine[self._obs_levels[mine] == level]
        return int(hit[0]) if len(hit) else -1

    def _observations_of(self, row: int) -> np.ndarray:
        """Indices of the observations of the trial in ``row``, in arrival order."""
        return np.flatnonzero(self._obs_rows[: self._n_obs] == row)

    def _arrive(self, row: int, level: int) -> int:
        """A new observation of an unobserved ``level``: its index. Keeps each
        trial's chain of predecessors in level order."""
        i = self._n_obs
        if i == len(self._obs_rows):
            self._grow_observations()
        if level > self._last[row]:  # the usual case: the trial's deepest level yet
            self._obs_previous[i] = self._last_obs[row]
            self._last_obs[row], self._last[row] = i, level
        else:  # below the trial's deepest: insert it in the chain
            mine = self._observations_of(row)
            levels = self._obs_levels[mine]
            below, above = mine[levels < level], mine[levels > level]
            self._obs_previous[i] = below[np.argmax(levels[levels < level])] if len(below) else -1
            self._obs_previous[above[np.argmin(levels[levels > level])]] = i
        self._obs_rows[i], self._obs_levels[i] = row, level
        self._n_obs += 1
        return i

    def _update_level_min(self, level: int, old: float | None, new: float) -> None:
        """Keep the smallest value at ``level`` after one of its values went from
        ``old`` (``None``: a new observation) to ``new``."""
        current = self._level_min.get(level)
        if current is None or new < current:
            self._level_min[level] = new
        elif old is not None and old == current and new > old:  # the best was replaced
            o = self._n_obs
            self._level_min[level] = float(
                self._obs_values[:o][self._obs_levels[:o] == level].min()
            )

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
        self._ids, self._X = _doubled(self._ids, 0), _doubled(self._X, 0.0)
        self._status, self._target = _doubled(self._status, 0), _doubled(self._target, 0)
        self._last, self._last_obs = _doubled(self._last, 0), _doubled(self._last_obs, -1)

    def _grow_observations(self) -> None:
        self._obs_rows = _doubled(self._obs_rows, 0)
        self._obs_levels = _doubled(self._obs_levels, 0)
        self._obs_values = _doubled(self._obs_values, np.nan)
        self._obs_seconds = _doubled(self._obs_seconds, np.nan)
        self._obs_previous = _doubled(self._obs_previous, -1)

    # --- mapping of read-only views --------------------------------------------------

    def __getitem__(self, trial_id: int) -> TrialView:
        row = self._row_of(trial_id)
        mine = self._observations_of(row)
        mine = mine[np.argsort(self._obs_levels[mine])]
        return TrialView(
            trial_id=trial_id,
            config=dict(self._configs[row]),
            levels=self._obs_levels[mine],
            values=self._obs_values[mine],
            level_seconds=self._obs_seconds[mine],
            status=STATUSES[self._status[row]],
            target=int(self._target[row]),
            last_level=int(self._last[row]),
            max_t=self.max_t,
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
        """The trial with the best finite observed value, ``None`` before any
        (among equal values, the earliest started trial's lowest level)."""
        values = self.observed_values
        finite = np.isfinite(values)
        if not finite.any():
            return None
        ties = np.flatnonzero(values == values[finite].min())
        rows, levels = self._obs_rows[ties], self._obs_levels[ties]
        i = ties[np.lexsort((levels, rows))[0]]
        row = int(self._obs_rows[i])
        trial_id = int(self._ids[row])
        return BestTrial(
            trial_id=trial_id,
            config=dict(self._configs[row]),
            level=int(self._obs_levels[i]),
            value=float(values[i]),
            last_level=int(self._last[row]),
            status=self.status(trial_id),
        )

    def level_minima(self, levels: np.ndarray) -> np.ndarray:
        """``(k,)`` smallest value any trial holds at each of ``levels (k,)``:
        ``nan`` where no trial reached the level, ``+inf`` where only non-finite
        values were seen there."""
        level_min = self._level_min
        unique, inverse = np.unique(levels, return_inverse=True)
        minima = np.array([level_min.get(int(level), np.nan) for level in unique])
        return minima[inverse].reshape(np.shape(levels))

    def values_at(self, level: int) -> np.ndarray:
        """``(n,)`` each trial's value at ``level``, ``nan`` where not observed
        (``O(o)`` for ``o`` observations)."""
        o = self._n_obs
        at = self._obs_levels[:o] == level
        values = np.full(len(self._row), np.nan)
        values[self._obs_rows[:o][at]] = self._obs_values[:o][at]
        return values

    # --- read-only arrays, one row per trial in start order ------------------------------

    def rows(self, trial_ids: list[int]) -> np.ndarray:
        """``(k,)`` array rows of ``trial_ids``."""
        try:
            return np.fromiter(map(self._row.__getitem__, trial_ids), dtype=np.int64)
        except KeyError as err:
            raise KeyError(f"trial {err.args[0]} is not in the ledger") from None

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
        """``(n, T)`` values by level, ``nan`` where not observed: a dense copy
        built on request, ``O(n T)`` in time and memory. For inspection with a
        small ``T``; DyHPO's decisions never build it."""
        curves = np.full((len(self._row), self.max_t), np.nan)
        o = self._n_obs
        curves[self._obs_rows[:o], self._obs_levels[:o] - 1] = self._obs_values[:o]
        return _read_only(curves)

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
    def last_observations(self) -> np.ndarray:
        """``(n,)`` index of the observation of each trial's highest level, -1 if none."""
        return _read_only(self._last_obs[: len(self._row)])

    @property
    def last_values(self) -> np.ndarray:
        """``(n,)`` value at each trial's highest observed level, ``nan`` if none."""
        last = self.last_observations
        return np.where(last >= 0, self._obs_values[last], np.nan)

    @property
    def log_costs(self) -> np.ndarray:
        """``(n,)`` log seconds of each trial's level without the switch overhead,
        ``nan`` if none was measured (:meth:`~syne_dyhpo.cost.LevelTimes.log_costs`)."""
        return self._level_times.log_costs()

    @property
    def switch_seconds(self) -> float:
        """Seconds a level costs more when it begins with a start or resume
        (:attr:`~syne_dyhpo.cost.LevelTimes.switch_seconds`)."""
        return self._level_times.switch_seconds

    @property
    def switch_measured(self) -> bool:
        """Whether :attr:`switch_seconds` is measured (some trial has levels
        that began both ways) rather than assumed 0."""
        return self._level_times.switch_measured

    # --- read-only arrays, one entry per observation in arrival order ---------------------

    @property
    def num_observations(self) -> int:
        return self._n_obs

    @property
    def arrivals(self) -> tuple[np.ndarray, np.ndarray]:
        """Array rows ``(o,)`` and levels ``(o,)`` of the observations, in the
        order they arrived (a level observed again is not a new arrival)."""
        o = self._n_obs
        return _read_only(self._obs_rows[:o]), _read_only(self._obs_levels[:o])

    @property
    def observed_values(self) -> np.ndarray:
        """``(o,)`` value of each observation (the latest, if its level was
        observed again). Not ``values``: that is the mapping's ``values()``."""
        return _read_only(self._obs_values[: self._n_obs])

    @property
    def predecessors(self) -> np.ndarray:
        """``(o,)`` for each observation, the index of its trial's observation
        at the highest level below it, -1 if none: a trial's curve before a
        level, latest value first, without a search."""
        return _read_only(self._obs_previous[: self._n_obs])

    @property
    def nbytes(self) -> int:
        """Bytes the ledger holds, configurations aside: its arrays, plus an
        estimate for its level times and per-level minima (100 bytes per dict
        entry). ``O(n + o)``, whatever ``T``."""
        arrays = sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))
        return arrays + self._level_times.nbytes + 100 * len(self._level_min)
