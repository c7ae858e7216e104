"""Summaries of a loaded run: the best trials, the incumbent over time."""

from __future__ import annotations

import pandas as pd

from syne_dyhpo.analysis._raw import LEVEL, METRIC, SECONDS, TRIAL
from syne_dyhpo.analysis.run import STATE


def _ascending(mode: str) -> bool:
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    return mode == "min"


def best_trials(results: pd.DataFrame, mode: str, top: int = 10) -> pd.DataFrame:
    """The ``top`` trials by their best metric at any level, best first: ``rank``,
    ``trial_id``, ``best_metric``, ``best_level`` (the level it was reached at),
    ``levels`` (the deepest level trained), ``state`` and the configuration.

    :param results: :attr:`~syne_dyhpo.analysis.Run.results`.
    :param mode: ``"min"`` or ``"max"``: which metric values are better.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be an integer >= 1, got {top!r}")
    finite = results[results[METRIC].notna() & results[METRIC].abs().ne(float("inf"))]
    ordered = finite.sort_values([METRIC, SECONDS], ascending=[_ascending(mode), True])
    best = ordered.drop_duplicates(TRIAL).head(top)
    deepest = results.groupby(TRIAL)[LEVEL].max()
    config = [c for c in results.columns if c.startswith("config_")]
    table = pd.DataFrame(
        {
            "rank": range(1, len(best) + 1),
            TRIAL: best[TRIAL].to_numpy(),
            "best_metric": best[METRIC].to_numpy(),
            "best_level": best[LEVEL].to_numpy(),
            "levels": deepest.loc[best[TRIAL]].to_numpy(),
            STATE: best[STATE].to_numpy(),
        }
    )
    configs = best[config].rename(columns=lambda c: c.removeprefix("config_"))
    return pd.concat([table, configs.reset_index(drop=True)], axis=1)


def incumbent(results: pd.DataFrame, mode: str) -> pd.DataFrame:
    """The best metric so far at each report that improved it: ``seconds``,
    ``metric``, ``trial_id``, ``level``; rows in time order."""
    finite = results[results[METRIC].notna() & results[METRIC].abs().ne(float("inf"))]
    finite = finite.sort_values(SECONDS, kind="stable")
    signed = finite[METRIC] if _ascending(mode) else -finite[METRIC]
    improved = signed < signed.cummin().shift(fill_value=float("inf"))
    return finite.loc[improved, [SECONDS, METRIC, TRIAL, LEVEL]].reset_index(drop=True)
