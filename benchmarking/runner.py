"""One simulated tuning run, and a campaign of runs stored on disk.

A run replays a :class:`CurveTable` with Syne Tune's simulator backend and
records, in simulated seconds since the start:

- ``results``: every reported metric value (``time``, ``value``, ``trial_id``, ``level``);
- ``decisions``: every ``suggest()`` (``time``, ``seconds`` of computation,
  ``new``: whether it started a configuration, and its ``config`` if so);
- ``scheduler_seconds``: seconds (of ``clock``) spent in all scheduler calls;
- ``counts``: for DyHPO, trials started, resumed, paused, and gone on
  without a pause (:class:`~syne_dyhpo.scheduler.DecisionCounts`);
- ``wallclock_seconds`` and ``cpu_seconds`` of the whole run (this process).

The simulator adds the time spent outside the backend (the scheduler's and
the tuner loop's computation) to the simulated clock. With ``clock="cpu"`` (the
default) that time is the CPU time of the simulating process, which runs torch
on one thread, so results do not depend on how loaded the machine is; with
``clock="wall"`` it is real time, as in Syne Tune; ``clock="none"`` charges
nothing (``scheduler_seconds`` are then CPU time), to tell a method's choices
from the cost of making them.
A campaign stores each run as ``<out>/runs/<method>/<task>/seed<k>.json``
(``/`` in task names becomes ``__``) and skips runs whose file exists.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from syne_tune import StoppingCriterion, Tuner
from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
from syne_tune.backend.simulator_backend.time_keeper import SimulatedTimeKeeper
from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
from syne_tune.constants import ST_TUNER_TIME
from syne_tune.optimizer.scheduler import TrialScheduler

from benchmarking.benchmarks import task_table
from benchmarking.blackbox import (
    ELAPSED_TIME_ATTR,
    MAX_RESOURCE_ATTR,
    TIME_ATTR,
    TableBlackbox,
    conditions,
    config_space,
)
from benchmarking.methods import MethodArgs, make_scheduler
from benchmarking.tables import CurveTable
from syne_dyhpo._syne_tune_internals import set_time_keeper

logger = logging.getLogger(__name__)

#: Simulated seconds the tuner sleeps while all workers are busy, as a fraction
#: of the task's median epoch time: the resolution of the simulated clock.
SLEEP_FRACTION = 0.05
SCHEDULER_CALLS = (
    "suggest",
    "on_trial_add",
    "on_trial_result",
    "on_trial_complete",
    "on_trial_error",
    "on_trial_remove",
)


@dataclass(frozen=True)
class RunSpec:
    """One run of a campaign; ``budget_multiple`` × median full-training time,
    with every training time of the table multiplied by ``time_scale``."""

    method: str
    task: str
    table_file: str
    seed: int
    n_workers: int
    budget_multiple: float
    clock: str = "cpu"
    time_scale: float = 1.0

    def path(self, out: Path) -> Path:
        task = self.task.replace("/", "__")
        return (
            Path(out) / "runs" / self.method / f"{task}_w{self.n_workers}" / f"seed{self.seed}.json"
        )


def _uncharged() -> float:
    """A clock that never moves: time outside the simulator backend is not charged."""
    return 0.0


#: How time spent outside the simulator backend is charged to the simulated clock.
CLOCKS = {"cpu": time.process_time, "wall": time.time, "none": _uncharged}


class _ChargedTimeKeeper(SimulatedTimeKeeper):
    """Syne Tune's simulated clock, charging outside time as measured by ``measure``."""

    def __init__(self, measure):
        super().__init__()
        self.measure = measure

    def mark_exit(self):
        self._last_recent_exit = self.measure()

    def real_time_since_last_recent_exit(self) -> float:
        self._assert_has_started()
        return self.measure() - self._last_recent_exit


class _Recorder:
    """Times every scheduler call and logs results and decisions (see module docstring)."""

    def __init__(
        self, scheduler: TrialScheduler, backend: UserBlackboxBackend, metric: str, measure
    ):
        self.clock, self.metric, self.measure = backend.time_keeper, metric, measure
        self.results = {"time": [], "value": [], "trial_id": [], "level": []}
        self.decisions = {"time": [], "seconds": [], "new": [], "config": []}
        self.scheduler_seconds = 0.0
        for name in SCHEDULER_CALLS:
            setattr(scheduler, name, self._timed(name, getattr(scheduler, name)))

    def _timed(self, name, call):
        @functools.wraps(call)
        def timed(*args, **kwargs):
            start = self.measure()
            out = call(*args, **kwargs)
            seconds = self.measure() - start
            self.scheduler_seconds += seconds
            if name == "suggest":
                self._decision(out, seconds)
            elif name == "on_trial_result":
                self._result(*args, **kwargs)
            return out

        return timed

    def _decision(self, suggestion, seconds: float) -> None:
        self.decisions["time"].append(self.clock.time())
        self.decisions["seconds"].append(seconds)
        new = suggestion is not None and suggestion.spawn_new_trial_id
        self.decisions["new"].append(new)
        self.decisions["config"].append(suggestion.config if new else None)

    def _result(self, trial, result: dict) -> None:
        self.results["time"].append(float(result[ST_TUNER_TIME]))
        self.results["value"].append(float(result[self.metric]))
        self.results["trial_id"].append(trial.trial_id)
        self.results["level"].append(int(result[TIME_ATTR]))


def simulate(
    table: CurveTable,
    scheduler: TrialScheduler,
    *,
    n_workers: int,
    budget: float,
    sleep_fraction: float = SLEEP_FRACTION,
    clock: str = "cpu",
) -> dict:
    """Run ``scheduler`` on ``table`` for ``budget`` simulated seconds; the record of the run.

    ``clock``: how the scheduler's computation is charged, ``"cpu"``, ``"wall"`` or ``"none"``
    (see the module docstring).
    """
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {sorted(CLOCKS)}, got {clock!r}")
    blackbox = TableBlackbox(table)
    sleep_time = sleep_fraction * table.median_full_time / table.max_t
    backend = UserBlackboxBackend(
        blackbox=blackbox,
        elapsed_time_attr=ELAPSED_TIME_ATTR,
        max_resource_attr=MAX_RESOURCE_ATTR,
        seed=0,
        tuner_sleep_time=sleep_time,
    )
    set_time_keeper(backend, _ChargedTimeKeeper(CLOCKS[clock]))  # no public setter in Syne Tune
    # Uncharged scheduler time is still recorded, as CPU time.
    measure = time.process_time if clock == "none" else CLOCKS[clock]
    recorder = _Recorder(scheduler, backend, table.metric_name, measure)
    start, start_cpu = time.perf_counter(), time.process_time()
    # The tuner's files are not kept, and its closing report is not printed.
    with (
        tempfile.TemporaryDirectory() as folder,
        mock.patch.dict(os.environ, {"SYNETUNE_FOLDER": folder}),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        Tuner(
            trial_backend=backend,
            scheduler=scheduler,
            stop_criterion=StoppingCriterion(max_wallclock_time=budget),
            n_workers=n_workers,
            sleep_time=0,
            results_update_interval=1e9,
            print_update_interval=1e9,
            max_failures=1_000_000,
            callbacks=[SimulatorCallback()],
            save_tuner=False,
            tuner_name="simulated",
        ).run()
    return {
        "budget": budget,
        "clock": clock,
        "metric": table.metric_name,
        "do_minimize": table.do_minimize,
        "table_best": table.best,
        "table_worst": table.worst,
        "median_full_time": table.median_full_time,
        "results": recorder.results,
        "decisions": recorder.decisions,
        "scheduler_seconds": recorder.scheduler_seconds,
        "counts": asdict(scheduler.counts) if hasattr(scheduler, "counts") else None,
        "wallclock_seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - start_cpu,
    }


def _code_version() -> str | None:
    """``git describe --always --dirty`` of this repository, if it is a git checkout."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return described.stdout.strip()


def _init_worker() -> None:
    """Each process of the pool computes on one thread and logs only errors of Syne Tune."""
    torch.set_num_threads(1)
    logging.getLogger("syne_tune").setLevel(logging.ERROR)


def run(spec: RunSpec, out: Path, *, code_version: str | None = None) -> Path:
    """Run ``spec`` (unless its file exists) and store its record; the record's path.

    ``code_version``: what the record names as the code that ran (default: the
    checkout's ``git describe`` now).
    """
    path = spec.path(out)
    if path.exists():
        return path
    # Syne Tune 0.16's random searcher (used by random_search, asha, hyperband and
    # bohb) samples from numpy's global generator and ignores random_seed.
    np.random.seed(spec.seed)
    table = task_table(spec.task, Path(spec.table_file))
    table = replace(table, elapsed=table.elapsed * spec.time_scale)
    args = MethodArgs(
        config_space=config_space(table),
        metric=table.metric_name,
        do_minimize=table.do_minimize,
        max_t=table.max_t,
        random_seed=spec.seed,
        conditions=conditions(table),
    )
    record = simulate(
        table,
        make_scheduler(spec.method, args),
        n_workers=spec.n_workers,
        budget=spec.budget_multiple * table.median_full_time,
        clock=spec.clock,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(
            {**asdict(spec), **record, "code_version": code_version or _code_version()},
            default=lambda value: value.item(),  # numpy scalars in configurations
        )
    )
    os.replace(tmp, path)  # atomic: an interrupted run leaves no record
    return path


def run_campaign(specs: list[RunSpec], out: Path, *, jobs: int, progress: bool = True) -> None:
    """Run every spec without a stored record, ``jobs`` processes in parallel.

    A failing run is logged and skipped (rerunning the campaign retries it);
    :class:`RuntimeError` names the failures at the end. Every record names the
    code version of the campaign's start: the processes run the code loaded then,
    whatever is committed while they run.
    """
    from tqdm import tqdm

    todo = [s for s in specs if not s.path(out).exists()]
    logger.info("%d of %d runs stored already", len(specs) - len(todo), len(specs))
    failed = []
    bar = tqdm(total=len(specs), initial=len(specs) - len(todo), disable=not progress)
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker) as pool:
        version = _code_version()
        futures = {pool.submit(run, spec, out, code_version=version): spec for spec in todo}
        for future in as_completed(futures):
            spec = futures[future]
            if future.exception() is not None:
                logger.error("run %s failed", spec, exc_info=future.exception())
                failed.append(spec)
            bar.set_postfix_str(f"{spec.method} {spec.task} seed {spec.seed}")
            bar.update()
    bar.close()
    if failed:
        raise RuntimeError(f"{len(failed)} run(s) failed: {failed}")
