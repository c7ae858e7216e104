"""A floor under the depth DyHPO trains to, and an optional ceiling over it: ASHA's share.

With rungs ``1, η, η², …`` below ``max_t`` and ``max_t`` itself, of the ``n_k``
trials that reached rung ``k``:

- **the floor**: at least ``⌊n_k / η⌋`` reach rung ``k + 1`` (successive
  halving's allocation; Li et al. 2020, "A System for Massively Parallel
  Hyperparameter Tuning"). Expected improvement is myopic about depth: where
  the first levels rank configurations differently from the last (a good
  configuration that starts worse than a plateau of poor ones), the model has
  seen few curves that turn and keeps starting new configurations instead.
  When a rung is short, the next decision resumes one of the paused trials
  between the two rungs and, as in ASHA, trains it up to rung ``k + 1``
  without further decisions; which one is the model's choice (the largest
  expected improvement among them). Promoting one level at a time instead
  lets the choice move from trial to trial as each level lowers the one just
  trained, spreading the promotion's levels over many trials none of which
  reaches the rung.
- **the ceiling** (``depth_ceiling=True``): at most ``⌈n_k / η⌉`` go past
  rung ``k``, unless they rank there: a paused trial at a full rung is not a
  candidate until more trials reach it, except the rung's ``⌈n_k / η⌉`` best
  by their value at it, which may always go on (ASHA's promotion rule).
  Training a level shrinks a trial's posterior spread, so expected
  improvement moves on to another paused trial and leaves the first between
  two rungs; without the ceiling a fifth of the levels went to trials left
  between two rungs (TaskSet at 1 s per step), and each of those levels is a
  configuration not started. The ceiling prices depth in new configurations
  as ASHA does; without the exemption of the rung's best, the few places
  past a rung go to the trials the model prefers and a configuration that
  leads its rung waits behind them. The trial that just reported is held
  only where a start or resume costs less than its level
  (:class:`~syne_dyhpo.cost.LevelTimes`): where a switch costs several
  levels (epochs of milliseconds), breadth would cost several times what
  ASHA's share assumes. A promotion the floor owes goes to a trial the
  ceiling does not hold where there is one (a trial between the two rungs
  rather than another past a full rung).
- **where a rung's order carries over** (``depth_ceiling="where_order_carries"``):
  the ceiling holds trials only at rungs whose order the run has shown to
  carry over to the next rung (:func:`order_carries_over`). Where the first
  epochs rank configurations by chance, a ceiling would hold trials by that
  order against the model, which knows their configurations and curves.

Between the two, and between rungs, the model decides one level at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from syne_dyhpo.ledger import DIVERGED, FAILED, RUNNING, STATUSES, TrialLedger

WHERE_ORDER_CARRIES = "where_order_carries"
#: The values of ``depth_ceiling``: none, at every full rung, at the full rungs
#: whose order carries over (:func:`order_carries_over`).
DEPTH_CEILINGS = (False, True, WHERE_ORDER_CARRIES)
MIN_PAIRS = 4
"""Trials seen at two rungs below which their order is not judged."""
LARGE_CORRELATION = 0.5
"""A large rank correlation (Cohen 1988): the order a rung must be shown to pass on."""
ONE_SIDED_95 = 1.6448536269514722
"""The standard normal's 95 % quantile."""


def rung_levels(max_t: int, reduction_factor: float) -> np.ndarray:
    """``(K,)`` rungs ``1, η, η², …`` (rounded, at least one level apart) below
    ``max_t``, then ``max_t``."""
    rungs = [1]
    while rungs[-1] < max_t:
        rungs.append(min(max(round(rungs[-1] * reduction_factor), rungs[-1] + 1), max_t))
    return np.array(rungs)


@dataclass(frozen=True)
class Promotion:
    """Resume one of ``trial_ids`` up to level ``rung``."""

    trial_ids: list[int]
    rung: int


@dataclass(frozen=True)
class RungDepths:
    """The trials of ``ledger`` that count at the rungs (not failed, not
    diverged): ``ids``, ``depth`` (the level reached, or for a running trial the
    level it runs to), whether each is ``resumable`` and its ``rows`` in the
    ledger's arrays, all ``(k,)``. Built once per decision for the floor and the
    ceiling."""

    ledger: TrialLedger
    ids: np.ndarray
    depth: np.ndarray
    resumable: np.ndarray
    rows: np.ndarray

    @classmethod
    def of(cls, ledger: TrialLedger) -> RungDepths:
        status = ledger.status_codes
        counted = ~np.isin(status, [STATUSES.index(FAILED), STATUSES.index(DIVERGED)])
        running = status == STATUSES.index(RUNNING)
        depth = np.where(
            running, np.maximum(ledger.last_levels, ledger.targets), ledger.last_levels
        )
        ids = ledger.ids[counted]
        resumable = np.isin(ids, ledger.resumable())
        return cls(ledger, ids, depth[counted], resumable, np.flatnonzero(counted))


def owed_promotion(trials: RungDepths, reduction_factor: float) -> Promotion | None:
    """The promotion the next decision owes, for the deepest rung short of its
    share; ``None`` if no rung is short (or none can be fed).

    A running trial counts at the level it is running to, so parallel workers
    are not all sent to fill the same shortfall; failed and diverged trials do
    not count.
    """
    depth = trials.depth
    rungs = rung_levels(trials.ledger.max_t, reduction_factor)
    for low, high in reversed(list(zip(rungs[:-1], rungs[1:], strict=True))):
        reached, promoted = int((depth >= low).sum()), int((depth >= high).sum())
        if promoted < reached // reduction_factor:
            owed = trials.ids[(depth >= low) & (depth < high) & trials.resumable]
            if len(owed):
                return Promotion(owed.tolist(), int(high))
    return None


def held_at_full_rungs(
    trials: RungDepths, reduction_factor: float, where_order_carries: bool = False
) -> list[int]:
    """Paused trials at a rung ``k`` below ``max_t`` past which ``⌈n_k / η⌉``
    trials went already, and which are not among the rung's ``⌈n_k / η⌉``
    best by their value there: the ceiling holds them. Counted as
    :func:`owed_promotion` counts. ``where_order_carries``: only at rungs
    whose order the run has shown to carry over to the next
    (:func:`order_carries_over`)."""
    depth = trials.depth
    rungs = rung_levels(trials.ledger.max_t, reduction_factor)
    held = np.zeros(len(depth), dtype=bool)
    for rung, next_rung in zip(rungs[:-1], rungs[1:], strict=True):
        reached, past = int((depth >= rung).sum()), int((depth > rung).sum())
        share = math.ceil(reached / reduction_factor)
        if past < share:
            continue
        values = trials.ledger.values_at(int(rung))[trials.rows]
        if where_order_carries and not order_carries_over(
            values, trials.ledger.values_at(int(next_rung))[trials.rows]
        ):
            continue
        held |= (depth == rung) & ~_smallest(values, share)
    return trials.ids[held & trials.resumable].tolist()


def order_carries_over(at_rung: np.ndarray, at_next_rung: np.ndarray) -> bool:
    """Whether the run has shown that a rung ranks trials as the next rung
    does: the lower one-sided 95 % bound on the rank correlation of the trials
    seen at both (``(n,)`` values each, ``nan`` where not seen) is at least
    :data:`LARGE_CORRELATION`.

    Successive halving assumes it; on some tasks the first epochs order
    configurations about as well as chance (LCBench: Spearman 0.05 between
    rungs 1 and 3 over a run's trials, against 0.95 on TaskSet). The burden of
    proof is on the order: among the rung's leaders, which the ceiling sends
    on, an order can seem to carry over where over all trials it does not.
    """
    return rank_correlation_lower_bound(at_rung, at_next_rung) >= LARGE_CORRELATION


def rank_correlation_lower_bound(x: np.ndarray, y: np.ndarray) -> float:
    """One-sided 95 % lower bound on Spearman's correlation of the pairs of
    ``x (n,)`` and ``y (n,)`` where both are observed; ``-1`` below
    :data:`MIN_PAIRS` pairs or where one side is all ties.

    Fisher's z with the standard error ``sqrt(1.06 / (m - 3))`` of Spearman's
    coefficient (Fieller, Hartley and Pearson 1957); a perfect order counts as
    the closest imperfect one, ``1 - 12 / (m (m² - 1))`` (one adjacent pair
    swapped), since its z is infinite.
    """
    both = np.isfinite(x) & np.isfinite(y)
    m = int(both.sum())
    if m < MIN_PAIRS or np.ptp(x[both]) == 0 or np.ptp(y[both]) == 0:
        return -1.0
    rho = np.corrcoef(rankdata(x[both]), rankdata(y[both]))[0, 1]
    closest = 1.0 - 12.0 / (m * (m * m - 1))
    z = math.atanh(float(np.clip(rho, -closest, closest)))
    return math.tanh(z - ONE_SIDED_95 * math.sqrt(1.06 / (m - 3)))


def _smallest(values: np.ndarray, k: int) -> np.ndarray:
    """``(n,)`` mask of the ``k`` smallest of ``values (n,)``; ``nan`` ranks
    last (as NumPy sorts it), ties go to the earlier."""
    mask = np.zeros(len(values), dtype=bool)
    mask[np.argsort(values, kind="stable")[:k]] = True
    return mask
