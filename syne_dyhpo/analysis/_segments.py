"""Segments of a run: each run of a trial's process, from its start or resume
to its pause, stop or failure, with the worker that ran it.

Where the run recorded when each process started (a decision log, or the
benchmark runner's record of every ``suggest()``), segments start then.
Otherwise they are read from the results: a process's first report
(``st_worker_iter == 0``) or the report after a pause begins a segment, which
started ``st_worker_time`` seconds before that report if the script reported
it, else when the worker it is assigned to became free (the tuner gives a
free worker its next trial at once).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd

from syne_dyhpo.analysis._raw import (
    DECISION,
    LEVEL,
    PROCESS_REPORT,
    PROCESS_SECONDS,
    SECONDS,
    TRIAL,
    RawRun,
)

SEGMENT, WORKER = "segment", "worker"
#: Columns of the segments table.
SEGMENT_COLUMNS = [TRIAL, SEGMENT, "start", "end", "first_level", "last_level", WORKER]
LAUNCHES = ("start", "resume")
ENDINGS = ("pause", "stop", "complete", "fail")
#: Seconds a report may carry before the logged launch of its process: the log
#: and the results are timed by two callbacks of one tuner loop.
CLOCK_TOLERANCE = 0.05


def segments_of(raw: RawRun) -> tuple[pd.Series, pd.DataFrame]:
    """The segment index of each row of ``raw.results`` and the segments table
    (:data:`SEGMENT_COLUMNS`, plus ``decision_seconds`` for benchmark records)."""
    if raw.suggestions is not None:
        return _replayed_segments(raw.results, raw.suggestions, raw.n_workers or 1)
    if raw.log is not None:
        return _logged_segments(raw.results, pd.DataFrame(raw.log))
    results = raw.results
    by_trial = results.groupby(TRIAL, sort=False)
    if PROCESS_REPORT in results.columns:
        first_report = results[PROCESS_REPORT].fillna(0).eq(0)
        index = first_report.groupby(results[TRIAL]).cumsum().sub(1).clip(lower=0)
    elif DECISION in results.columns:
        ended = results[DECISION].isin(["PAUSE", "STOP"]).astype(int)
        index = ended.groupby(results[TRIAL]).transform(lambda e: e.shift(fill_value=0).cumsum())
    else:
        index = by_trial.cumcount()
    return index.rename(SEGMENT), _assign_workers(_table(results, index))


def _table(results: pd.DataFrame, index: pd.Series) -> pd.DataFrame:
    """One row per (trial, segment) with its first and last report; its start
    if the script reported its process's age (``process_seconds``)."""
    if PROCESS_SECONDS not in results.columns:
        results = results.assign(**{PROCESS_SECONDS: np.nan})
    grouped = results.groupby([results[TRIAL], index.rename(SEGMENT)], sort=False)
    table = grouped.agg(
        first_seconds=(SECONDS, "first"),
        end=(SECONDS, "max"),
        first_level=(LEVEL, "first"),
        last_level=(LEVEL, "last"),
        age=(PROCESS_SECONDS, "first"),
    ).reset_index()
    table["start"] = (table["first_seconds"] - table["age"]).clip(lower=0.0)
    return table.drop(columns="age")


def _assign_workers(segments: pd.DataFrame) -> pd.DataFrame:
    """Give each segment the lowest-numbered worker free at its start; a segment
    whose start is unknown takes the worker free longest before its first
    report, and starts when that worker became free."""
    key = segments["start"].fillna(segments["first_seconds"])
    free: list[float] = []  # per worker: when its last segment ended
    workers, starts = {}, {}
    for row in segments.assign(key=key).sort_values("key", kind="stable").itertuples():
        known = not math.isnan(row.start)
        idle = [w for w, end in enumerate(free) if end <= row.key + CLOCK_TOLERANCE]
        if not idle:
            free.append(0.0)
            idle = [len(free) - 1]
        worker = idle[0] if known else min(idle, key=free.__getitem__)
        starts[row.Index] = row.start if known else min(free[worker], row.first_seconds)
        workers[row.Index] = worker
        free[worker] = max(row.end, starts[row.Index])
    segments = segments.assign(start=pd.Series(starts), worker=pd.Series(workers))
    segments["end"] = segments[["end", "start"]].max(axis=1)
    return segments[SEGMENT_COLUMNS]


def _logged_segments(results: pd.DataFrame, log: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Segments from the launches in a decision log: each report belongs to the
    last launch of its trial before it."""
    launches = log[log["event"].isin(LAUNCHES)].reset_index(drop=True)
    launches = launches.assign(segment=launches.groupby(TRIAL).cumcount())
    index = pd.Series(0, index=results.index)
    for trial_id, rows in results.groupby(TRIAL):
        times = launches.loc[launches[TRIAL] == trial_id, SECONDS].to_numpy()
        found = np.searchsorted(times, rows[SECONDS].to_numpy() + CLOCK_TOLERANCE, side="right")
        index[rows.index] = np.maximum(found - 1, 0)
    reported = _table(results, index).set_index([TRIAL, SEGMENT])
    endings = log[log["event"].isin(ENDINGS)]
    rows = []
    for launch in launches.itertuples():
        ends = endings.loc[
            (endings[TRIAL] == launch.trial_id) & (endings[SECONDS] >= launch.seconds), SECONDS
        ]
        key = (launch.trial_id, launch.segment)
        first_level = last_level = np.nan
        end = ends.min() if len(ends) else launch.seconds
        if key in reported.index:
            first_level, last_level = reported.loc[key, ["first_level", "last_level"]]
            end = max(end, reported.loc[key, "end"]) if len(ends) else reported.loc[key, "end"]
        rows.append(
            {
                TRIAL: launch.trial_id,
                SEGMENT: launch.segment,
                "start": launch.seconds,
                "end": end,
                "first_level": first_level,
                "last_level": last_level,
                "first_seconds": launch.seconds,
            }
        )
    return index.rename(SEGMENT), _assign_workers(pd.DataFrame(rows))


def _replayed_segments(
    results: pd.DataFrame, suggestions: pd.DataFrame, n_workers: int
) -> tuple[pd.Series, pd.DataFrame]:
    """Segments of a benchmark record, replaying its reports and ``suggest()``
    calls in time order on ``n_workers`` workers.

    A suggestion that starts a configuration starts the next trial id. One that
    does not resumes a trial; the record does not say which, so it is taken to
    be the paused trial that reports next. Each suggestion after the first
    ``n_workers`` is made for the worker freed by the latest report before it.
    """
    times = {t: rows[SECONDS].tolist() for t, rows in results.groupby(TRIAL)}
    seen = defaultdict(int)  # reports of each trial replayed so far
    running: dict[int, dict] = {}  # trial -> its open segment
    last: dict[int, dict] = {}  # trial -> its latest segment
    free, segments = list(range(n_workers)), []
    index = pd.Series(0, index=results.index)
    timeline = pd.concat(
        [
            results[[SECONDS, TRIAL]].assign(kind=0, row=results.index),
            suggestions.assign(kind=1, row=suggestions.index),
        ]
    ).sort_values([SECONDS, "kind"], kind="stable")
    next_trial = 0
    for event in timeline.itertuples():
        if event.kind == 0:
            trial_id = int(event.trial_id)
            if trial_id not in last:
                raise ValueError(
                    f"trial {trial_id} reported at {event.seconds} s before any suggest() "
                    "started it; expected trial ids in the order of the new configurations"
                )
            segment = running.get(trial_id) or last[trial_id]
            level = results.at[event.row, LEVEL]
            segment["end"] = event.seconds
            segment["last_level"] = level
            if math.isnan(segment["first_level"]):
                segment["first_level"] = level
            index[event.row] = segment[SEGMENT]
            seen[trial_id] += 1
            continue
        if not free:
            reported = [t for t in running if seen[t]]
            if not reported:
                continue
            freed = max(reported, key=lambda t: times[t][seen[t] - 1])
            free.append(running.pop(freed)[WORKER])
        if event.new:
            trial_id, next_trial = next_trial, next_trial + 1
        else:
            paused = [t for t in last if t not in running and seen[t] < len(times[t])]
            if not paused:
                continue  # the scheduler had nothing to suggest
            trial_id = min(paused, key=lambda t: times[t][seen[t]])
        segment = {
            TRIAL: trial_id,
            SEGMENT: last[trial_id][SEGMENT] + 1 if trial_id in last else 0,
            "start": event.seconds,
            "end": event.seconds,
            "first_level": np.nan,
            "last_level": np.nan,
            WORKER: free.pop(0),
            "decision_seconds": event.compute_seconds,
        }
        running[trial_id] = last[trial_id] = segment
        segments.append(segment)
    columns = [*SEGMENT_COLUMNS, "decision_seconds"]
    return index.rename(SEGMENT), pd.DataFrame(segments, columns=columns)
