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

import heapq
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
#: Seconds a report may carry before the logged launch of its process: rounding.
CLOCK_TOLERANCE = 1e-3


def segments_of(raw: RawRun) -> tuple[pd.Series, pd.DataFrame]:
    """The segment index of each row of ``raw.results`` and the segments table
    (:data:`SEGMENT_COLUMNS`, plus ``decision_seconds`` for benchmark records)."""
    if raw.suggestions is not None:
        return _replayed_segments(raw.results, raw.suggestions, raw.n_workers or 1)
    if raw.log is not None:
        return _logged_segments(raw.results, closed_log(raw.log))
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
    return segments[SEGMENT_COLUMNS].astype({TRIAL: int, SEGMENT: int, WORKER: int})


def closed_log(log: list[dict]) -> pd.DataFrame:
    """The log's events in the order written, each segment ending once.

    A resumed tuner replays the reports it had not saved, and with them their
    pauses, before its ``tuning_start``; a replayed ending carries the time of
    its report. So an ending is dropped if its trial has no launch since its
    last ending, or if it is older than the trial's open launch (the trial had
    been resumed when the tuner was killed). A ``tuning_start`` of a resumed
    run ends every segment still open with an ``interrupt`` (the tuner was
    killed; the trial was paused on resuming).

    The clock of a resumed run goes on from the time its snapshot and the
    replayed reports account for, so events written between those and the
    kill may carry later times than the ``tuning_start`` after them."""
    kept, launched_at = [], {}  # open trials -> seconds of their launch
    for event in log:
        kind, trial_id = event["event"], event.get(TRIAL)
        if kind in LAUNCHES:
            launched_at[trial_id] = event[SECONDS]
        elif kind in ENDINGS:
            if trial_id not in launched_at or event[SECONDS] < launched_at[trial_id]:
                continue
            del launched_at[trial_id]
        elif kind == "tuning_start":
            kept += [{**event, "event": "interrupt", TRIAL: t} for t in sorted(launched_at)]
            launched_at.clear()
        kept.append(event)
    frame = pd.DataFrame(kept, columns=["event", SECONDS, TRIAL, LEVEL])
    return frame.astype({TRIAL: "Int64"})


def _logged_segments(results: pd.DataFrame, log: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Segments from the launches in a decision log (:func:`closed_log`): each
    report belongs to the last launch of its trial before it."""
    launches = log[log["event"].isin(LAUNCHES)].reset_index(drop=True)
    launches = launches.assign(segment=launches.groupby(TRIAL).cumcount())
    index = pd.Series(0, index=results.index)
    for trial_id, rows in results.groupby(TRIAL):
        times = np.maximum.accumulate(launches.loc[launches[TRIAL] == trial_id, SECONDS])
        found = np.searchsorted(times, rows[SECONDS].to_numpy() + CLOCK_TOLERANCE, side="right")
        index[rows.index] = np.maximum(found - 1, 0)
    reported = _table(results, index).set_index([TRIAL, SEGMENT])
    endings = log[log["event"].isin([*ENDINGS, "interrupt"])]
    rows = []
    for position, launch in enumerate(launches.itertuples()):
        trial_id = launch.trial_id
        later = launches.iloc[position + 1 :]
        next_launch = later.loc[later[TRIAL] == trial_id, SECONDS].min()
        ends = endings.loc[(endings[TRIAL] == trial_id) & (endings[SECONDS] >= launch.seconds)]
        ends = ends.loc[~(ends[SECONDS] >= next_launch), SECONDS]  # NaN: no next launch
        row = {TRIAL: trial_id, SEGMENT: launch.segment, "start": launch.seconds}
        row.update(first_level=np.nan, last_level=np.nan, first_seconds=launch.seconds)
        row["end"] = ends.min() if len(ends) else launch.seconds
        if (trial_id, launch.segment) in reported.index:
            report = reported.loc[(trial_id, launch.segment)]
            row.update(first_level=report["first_level"], last_level=report["last_level"])
            row["end"] = max(row["end"], report["end"])
        rows.append(row)
    return index.rename(SEGMENT), _assign_workers(pd.DataFrame(rows))


def _replayed_segments(
    results: pd.DataFrame, suggestions: pd.DataFrame, n_workers: int
) -> tuple[pd.Series, pd.DataFrame]:
    """Segments of a benchmark record, replaying its reports and ``suggest()``
    calls in time order on ``n_workers`` workers.

    A suggestion that starts a configuration starts the next trial id. One that
    does not resumes a trial; the record does not say which, so it is taken to
    be the paused trial that reports next. Each suggestion after the first
    ``n_workers`` is made for the worker freed by a running trial's report
    before it (see :func:`_freed`). With one worker this is exact;
    with several, two workers freed between two suggestions leave it open
    which trial took which, and the inferred segments can overlap.
    """
    times = {t: rows[SECONDS].tolist() for t, rows in results.groupby(TRIAL)}
    seen = defaultdict(int)  # reports of each trial replayed so far
    running: dict[int, dict] = {}  # trial -> its open segment
    last: dict[int, dict] = {}  # trial -> its latest segment
    idle = _Idle(times, seen)
    free, segments = list(range(n_workers)), []
    index = np.zeros(len(results), dtype=int)
    levels = results[LEVEL].to_numpy()
    timeline = pd.concat(
        [
            results[[SECONDS, TRIAL]].assign(kind=0, row=np.arange(len(results))),
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
            level = levels[event.row]
            segment["end"] = event.seconds
            segment["last_level"] = level
            if math.isnan(segment["first_level"]):
                segment["first_level"] = level
            index[event.row] = segment[SEGMENT]
            seen[trial_id] += 1
            if trial_id in idle.trials:  # a report while taken as paused: an inferred resume
                idle.add(trial_id)  # was another trial's; its next report is a later one
            continue
        if not free:
            freed = _freed(running, times, seen, event.seconds, event.compute_seconds)
            free.append(running.pop(freed)[WORKER])
            idle.add(freed)
        if event.new:
            trial_id, next_trial = next_trial, next_trial + 1
        else:
            trial_id = idle.reporting_next()
            if trial_id is None:
                continue  # the scheduler had nothing to suggest
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
        idle.trials.discard(trial_id)
        segments.append(segment)
    columns = [*SEGMENT_COLUMNS, "decision_seconds"]
    index = pd.Series(index, index=results.index, name=SEGMENT)
    return index, pd.DataFrame(segments, columns=columns)


class _Idle:
    """Trials started and not running, by the time of their next report."""

    def __init__(self, times: dict[int, list[float]], seen: dict[int, int]):
        self.times, self.seen = times, seen
        self.trials: set[int] = set()
        self._heap: list[tuple[float, int, int]] = []  # (next report, trial, reports seen)

    def add(self, trial_id: int) -> None:
        self.trials.add(trial_id)
        seen = self.seen[trial_id]
        if seen < len(self.times[trial_id]):
            heapq.heappush(self._heap, (self.times[trial_id][seen], trial_id, seen))

    def reporting_next(self) -> int | None:
        """The idle trial whose next report comes first, or ``None``."""
        while self._heap:
            _, trial_id, seen = heapq.heappop(self._heap)
            if trial_id in self.trials and seen == self.seen[trial_id]:
                return trial_id
        return None


def _freed(running, times, seen, seconds: float, compute_seconds: float) -> int:
    """The running trial whose report freed the worker for a suggestion at
    ``seconds``: among those that reported in their current segment before
    the suggestion was computed (if the clock counts the computation, as the
    runner charges it; else before the suggestion), the one that reports next
    the latest (a trial that goes on training reports again within a level's
    time; a paused or stopped one only once resumed, if ever). If none did
    (an earlier inference was wrong), the one running longest."""
    latest = {
        t: times[t][seen[t] - 1]
        for t, segment in running.items()
        if seen[t] and times[t][seen[t] - 1] >= segment["start"]
    }
    for cutoff in (seconds - compute_seconds, seconds):
        before = [t for t, at in latest.items() if at <= cutoff + 1e-9]
        if before:
            return max(
                before,
                key=lambda t: (times[t][seen[t]] if seen[t] < len(times[t]) else np.inf, latest[t]),
            )
    return min(running, key=lambda t: running[t]["start"])
