"""Load a run, from any of its sources, into pandas tables (see :func:`read_run`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from syne_dyhpo.analysis._raw import DECISION, LEVEL, METRIC, SECONDS, TRIAL, RawRun
from syne_dyhpo.analysis._segments import SEGMENT, closed_log, segments_of
from syne_dyhpo.analysis._sources import read_raw

STATE = "state"
#: Final states of a trial: trained to ``max_t``; paused and never resumed;
#: stopped by the scheduler; failed (its process); diverged (a NaN or infinite
#: metric); running when the run ended.
STATES = ("finished", "paused", "stopped", "failed", "diverged", "running")
_LAST_DECISION = {"PAUSE": "paused", "STOP": "stopped", "CONTINUE": "running"}
_LAST_EVENT = {
    "pause": "paused",
    "interrupt": "paused",  # by resume_tuner, when the run resumed
    "stop": "stopped",
    "complete": "finished",
    "fail": "failed",
}
_ENDING_OF_STATE = {
    "paused": "pause",
    "stopped": "stop",
    "diverged": "stop",
    "finished": "complete",
    "failed": "fail",
}


@dataclass(frozen=True)
class Run:
    """A tuning run as tables.

    ``results``: one row per reported level (a level reported twice, by a
    resumed process without checkpoint, keeps its last report): ``trial_id``,
    ``level``, ``metric``, ``seconds`` since the start of tuning, ``segment``
    (the trial's process that reported it, 0 first), ``state`` (the trial's at
    the end, one of :data:`STATES`) and a ``config_<name>`` column per
    hyperparameter. ``decisions``: ``seconds``, ``trial_id``, ``decision``
    (start, resume, pause, stop, complete, fail; a logged run also has
    tuning_start, tuning_end and interrupt: a trial running when the tuner was
    killed, paused when the run resumed), ``level`` (reached at a pause, stop or
    complete; trained to before a start or resume), ``source`` (``log``: the
    run's decision log; ``record``: the benchmark runner's record of each
    suggestion, whose resumed trial is inferred; ``results``: derived from
    the reports). ``segments``: one row per process of a trial, ``start``
    and ``end`` seconds and the ``worker`` (0, 1, ...) that ran it.
    """

    folder: Path
    source: str
    metric: str
    mode: str
    max_t: int | None
    results: pd.DataFrame
    decisions: pd.DataFrame
    segments: pd.DataFrame

    @property
    def n_workers(self) -> int:
        return int(self.segments["worker"].max()) + 1 if len(self.segments) else 0


def read_run(
    path: str | Path,
    *,
    metric: str | None = None,
    level_attr: str | None = None,
    mode: str | None = None,
    max_t: int | None = None,
) -> Run:
    """The run at ``path``: a Syne Tune Tuner results folder (``results.csv.zip``),
    a :func:`syne_dyhpo.tune` output folder (``results.csv``) or a run record of
    ``python -m benchmarking`` (``.json``).

    The keywords override what the run's metadata says: the metric's column,
    the level's column (the scheduler's ``time_attr``), ``"min"`` or ``"max"``,
    and the largest level.
    """
    raw = read_raw(path, metric=metric, level_attr=level_attr, mode=mode, max_t=max_t)
    index, segments = segments_of(raw)
    reports = raw.results.assign(**{SEGMENT: index})
    states = _states(raw, reports)
    results = reports.drop_duplicates([TRIAL, LEVEL], keep="last").sort_values(
        SECONDS, kind="stable"
    )
    results = results.assign(**{STATE: results[TRIAL].map(states)})
    config = [c for c in results.columns if c.startswith("config_")]
    results = results[[TRIAL, LEVEL, METRIC, SECONDS, SEGMENT, STATE, *config]]
    results = results.astype({TRIAL: int, LEVEL: int, METRIC: float}).reset_index(drop=True)
    if raw.log is not None:
        decisions = _logged_decisions(closed_log(raw.log))
    else:
        decisions = _derived_decisions(reports, segments, states, raw.source)
    return Run(
        folder=raw.folder,
        source=raw.source,
        metric=raw.metric,
        mode=raw.mode,
        max_t=raw.max_t,
        results=results,
        decisions=decisions,
        segments=segments,
    )


def load_run(path: str | Path, **kwargs) -> pd.DataFrame:
    """:attr:`Run.results` of :func:`read_run` (same arguments)."""
    return read_run(path, **kwargs).results


def load_decisions(path: str | Path, **kwargs) -> pd.DataFrame:
    """:attr:`Run.decisions` of :func:`read_run` (same arguments)."""
    return read_run(path, **kwargs).decisions


def _states(raw: RawRun, reports: pd.DataFrame) -> dict[int, str]:
    """Each trial's state at the end of the run (see :data:`STATES`)."""
    last_event = {}
    if raw.log is not None:
        log = closed_log(raw.log).dropna(subset=[TRIAL])
        last_event = log.groupby(TRIAL)["event"].last().to_dict()
    states = {}
    for trial_id, rows in reports.groupby(TRIAL):
        last = rows.iloc[-1]
        if trial_id in raw.failed or last_event.get(trial_id) == "fail":
            states[trial_id] = "failed"
        elif not np.isfinite(rows[METRIC].to_numpy(dtype=float)).all():
            states[trial_id] = "diverged"
        elif raw.max_t is not None and rows[LEVEL].max() >= raw.max_t:
            states[trial_id] = "finished"
        elif trial_id in last_event:
            states[trial_id] = _LAST_EVENT.get(last_event[trial_id], "running")
        elif DECISION in rows.columns and isinstance(last[DECISION], str):
            states[trial_id] = _LAST_DECISION.get(last[DECISION], "running")
        else:
            states[trial_id] = "paused"
    return states


def _logged_decisions(log: pd.DataFrame) -> pd.DataFrame:
    frame = log.rename(columns={"event": "decision"})[[SECONDS, TRIAL, "decision", LEVEL]]
    return frame.reset_index(drop=True).assign(source="log")


def _derived_decisions(
    reports: pd.DataFrame, segments: pd.DataFrame, states: dict[int, str], source: str
) -> pd.DataFrame:
    """Launches and endings of the segments; an ending is the decision on the
    segment's last report where the results name it, else read from the
    trial's state (the last segment) or a pause (earlier ones)."""
    segments = segments.sort_values([TRIAL, SEGMENT]).reset_index(drop=True)
    by_trial = segments.groupby(TRIAL)
    reached = by_trial["last_level"].transform(lambda levels: levels.ffill().shift())
    launches = pd.DataFrame(
        {
            SECONDS: segments["start"],
            TRIAL: segments[TRIAL],
            "decision": np.where(segments[SEGMENT] == 0, "start", "resume"),
            LEVEL: reached.fillna(0),
        }
    )
    if "decision_seconds" in segments.columns:
        launches["decision_seconds"] = segments["decision_seconds"]
    last = reports.groupby([TRIAL, SEGMENT]).tail(1)
    ended = segments.merge(last.drop(columns=[LEVEL, SECONDS]), on=[TRIAL, SEGMENT])
    is_last = ended[SEGMENT] == ended[TRIAL].map(by_trial[SEGMENT].max())
    by_state = ended[TRIAL].map(states).map(_ENDING_OF_STATE)
    ending = pd.Series(np.where(is_last, by_state, "pause"), index=ended.index)
    if DECISION in ended.columns:
        named = ended[DECISION].map({"PAUSE": "pause", "STOP": "stop", "CONTINUE": None})
        ending = ending.where(ended[DECISION].isna(), named)
    endings = pd.DataFrame(
        {SECONDS: ended["end"], TRIAL: ended[TRIAL], "decision": ending, LEVEL: ended["last_level"]}
    ).dropna(subset=["decision"])
    frame = pd.concat([launches, endings], ignore_index=True)
    frame = frame.sort_values(SECONDS, kind="stable").reset_index(drop=True)
    frame = frame.assign(source="record" if source == "benchmark" else "results")
    return frame.astype({TRIAL: "Int64"})
