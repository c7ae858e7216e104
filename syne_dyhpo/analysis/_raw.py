"""A run as read from disk, before segments and states are worked out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

#: Columns of :attr:`RawRun.results` besides ``config_<name>`` ones. Optional
#: ones are missing where the source does not record them.
TRIAL, LEVEL, METRIC, SECONDS = "trial_id", "level", "metric", "seconds"
DECISION = "decision"  # Syne Tune's decision on the result: CONTINUE, PAUSE, STOP (optional)
PROCESS_REPORT = "process_report"  # index of the report within its process, 0 first (optional)
PROCESS_SECONDS = "process_seconds"  # seconds since the process started reporting (optional)
CONFIG_PREFIX = "config_"


@dataclass
class RawRun:
    """What a run's folder holds, in one shape for every source.

    ``results``: one row per report in the order of arrival, ``seconds`` since
    the start of tuning. ``log``: events of the run's decision log
    (:mod:`syne_dyhpo.decision_log`), if it kept one. ``suggestions``: the
    benchmark runner's record of every ``suggest()`` (``seconds``, ``new``,
    ``compute_seconds``), if it is such a record.
    """

    folder: Path
    source: str
    results: pd.DataFrame
    metric: str
    mode: str
    max_t: int | None
    n_workers: int | None = None
    log: list[dict[str, Any]] | None = None
    failed: dict[int, str] = field(default_factory=dict)
    suggestions: pd.DataFrame | None = None


def config_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith(CONFIG_PREFIX)]


def mode_of(value: Any, where: str) -> str:
    """``"min"`` or ``"max"`` from a metadata entry (a string or a list of them)."""
    mode = value[0] if isinstance(value, list) and value else value
    if mode not in ("min", "max"):
        raise ValueError(
            f"{where}: metric mode must be 'min' or 'max', got {value!r}; pass mode='min' or 'max'"
        )
    return mode


def require_columns(frame: pd.DataFrame, columns: dict[str, str], where: str) -> None:
    """Clear error for each ``column -> what it is`` missing from ``frame``."""
    missing = {c: what for c, what in columns.items() if c not in frame.columns}
    if missing:
        raise ValueError(
            f"{where} has no column(s) {missing}; columns found: {list(frame.columns)}. "
            "Name them with load_run(..., metric=..., level_attr=...)"
        )
