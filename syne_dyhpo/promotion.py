"""A floor under the depth DyHPO trains to: at least ASHA's promotions.

Expected improvement is myopic about depth: where the first levels rank
configurations differently from the last (a good configuration that starts
worse than a plateau of poor ones), the model has seen few curves that turn
and keeps starting new configurations instead. The floor hedges that with
successive halving's allocation (Li et al. 2020, "A System for Massively
Parallel Hyperparameter Tuning"): with rungs ``1, η, η², …`` below ``max_t``
and ``max_t`` itself, of the ``n_k`` trials that reached rung ``k`` at least
``⌊n_k / η⌋`` reach rung ``k + 1``. When a rung is short of that, the next
decision resumes one of the paused trials between the two rungs, and, as in
ASHA, trains it up to rung ``k + 1`` without further decisions; which one is
the model's choice (the largest expected improvement among them). Promoting
one level at a time instead lets the choice move from trial to trial as each
level lowers the one just trained, spreading the promotion's levels over
many trials none of which reaches the rung. Above the floor DyHPO is free to
train deeper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from syne_dyhpo.ledger import DIVERGED, FAILED, RUNNING, STATUSES, TrialLedger


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


def owed_promotion(ledger: TrialLedger, reduction_factor: float) -> Promotion | None:
    """The promotion the next decision owes, for the deepest rung short of its
    share; ``None`` if no rung is short (or none can be fed).

    A running trial counts at the level it is running to, so parallel workers
    are not all sent to fill the same shortfall; failed and diverged trials do
    not count.
    """
    status = ledger.status_codes
    counted = ~np.isin(status, [STATUSES.index(FAILED), STATUSES.index(DIVERGED)])
    running = status == STATUSES.index(RUNNING)
    depth = np.where(running, np.maximum(ledger.last_levels, ledger.targets), ledger.last_levels)
    depth = depth[counted]
    ids = ledger.ids[counted]
    resumable = np.isin(ids, ledger.resumable())
    rungs = rung_levels(ledger.max_t, reduction_factor)
    for low, high in reversed(list(zip(rungs[:-1], rungs[1:], strict=True))):
        reached, promoted = int((depth >= low).sum()), int((depth >= high).sum())
        if promoted < reached // reduction_factor:
            owed = ids[(depth >= low) & (depth < high) & resumable]
            if len(owed):
                return Promotion(owed.tolist(), int(high))
    return None
