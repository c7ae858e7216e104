"""One call from an objective function to the best configuration and its
checkpoint: DyHPO on a pool of long-lived worker processes, in the style of
hpo4dl's ``Tuner(...).run()``.

The objective trains one configuration from ``previous_epoch`` to ``epoch``::

    def objective(configuration, epoch, previous_epoch, checkpoint_path):
        ...  # load checkpoint_path if previous_epoch > 0, train, save
        return [{"epoch": e, "metric": ...} for e in range(previous_epoch + 1, epoch + 1)]

Each worker loads the objective once and runs any call of any configuration,
so state must go through ``checkpoint_path``, a folder of its own per
configuration that persists across pauses.
"""

from __future__ import annotations

import logging
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from syne_tune import Tuner
from syne_tune.tuner_logger import TunerLogger

from syne_dyhpo.decision_log import DecisionLog
from syne_dyhpo.spaces.configspace_conditions import resolve_space
from syne_dyhpo.tune.backend import EPOCH_KEY, WorkerPoolBackend
from syne_dyhpo.tune.folder import earlier_run, elapsed_seconds, output_folder, restore
from syne_dyhpo.tune.pool import SetupError, WorkerPool
from syne_dyhpo.tune.progress import ProgressLine, console
from syne_dyhpo.tune.recorder import RunRecorder
from syne_dyhpo.tune.records import BEST_FILE, JOURNAL_FILE, Journal, write_best
from syne_dyhpo.tune.scheduler import ObjectiveDyHPO
from syne_dyhpo.tune.worker import EPOCH, METRIC, dump_objective

__all__ = ["TuneResult", "tune"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TuneResult:
    """The incumbent: the configuration with the best metric at any epoch.

    ``checkpoint_path`` holds what the objective last saved for it, at its
    highest epoch in ``results`` (which may be past ``epoch``). ``results``
    has one row per reported epoch, as in ``results.csv``;
    ``decision_seconds`` is the time DyHPO spent deciding in this run.
    """

    configuration: dict[str, Any]
    metric: float
    epoch: int
    configuration_id: int
    checkpoint_path: Path
    output_path: Path
    failures: dict[int, str]  # configuration_id -> error message
    metric_name: str = METRIC
    decision_seconds: float = 0.0
    results: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def _seconds(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a number of seconds > 0 or None, got {value!r}")
    if not math.isfinite(value):
        return None
    return float(value)


def _check_arguments(objective: Any, metric: Any, verbose: Any, **counts: Any) -> None:
    if not callable(objective):
        raise TypeError(f"objective must be callable, got {objective!r}")
    for name, value in counts.items():
        _positive_int(name, value)
    if not isinstance(metric, str) or not metric or metric == EPOCH:
        raise ValueError(f"metric must be a non-empty string other than 'epoch', got {metric!r}")
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(
            f"verbose must be 0, 1 (progress line) or 2 (and debug log), got {verbose!r}"
        )


def _check_space(space: dict[str, Any]) -> None:
    if EPOCH_KEY in space:
        raise ValueError(f"config_space key {EPOCH_KEY!r} is reserved; rename it")


def _pickled(objective: Callable) -> bytes:
    try:
        return dump_objective(objective)
    except Exception as err:
        raise TypeError(
            f"objective {objective!r} cannot be pickled for the worker processes "
            f"({type(err).__name__}: {err}); define it at the top level of a module, "
            "a script or a notebook, and keep open files, locks and the like out of it"
        ) from err


def tune(
    objective: Callable[[dict[str, Any], int, int, str], Any],
    config_space: Any,
    *,
    max_budget: int,
    max_epochs: int,
    minimize: bool = True,
    metric: str = METRIC,
    num_configurations: int = 256,
    seed: int | None = 0,
    n_workers: int = 1,
    timeout: float | None = None,
    max_wallclock_time: float | None = None,
    output_path: str | Path | None = None,
    resume: bool = False,
    verbose: int = 1,
    prune_checkpoints: bool = False,
    max_consecutive_failures: int = 5,
    scheduler_kwargs: dict[str, Any] | None = None,
) -> TuneResult:
    """Tune ``objective`` with DyHPO for ``max_budget`` epochs in total.

    :param objective: ``objective(configuration, epoch, previous_epoch,
        checkpoint_path)`` trains ``configuration`` from ``previous_epoch`` (0 at
        first) to ``epoch`` and returns a dict or a list of dicts with ``epoch``
        and ``metric`` (the last one for ``epoch``; other keys with str, int,
        float or bool values are recorded too). A NaN metric marks the
        configuration as diverged; an exception, a malformed return value,
        ``sys.exit``, the death of its process or a timeout fails it. Either
        way only that configuration is dropped. To survive a killed run, save
        checkpoints atomically (write a temporary file, then ``os.replace``).
    :param config_space: Syne Tune domains and constants, or a
        ``ConfigSpace.ConfigurationSpace`` (extra ``configspace``).
    :param max_budget: total epochs over all configurations. The run stops once
        that many were reported; calls running then finish (up to
        ``n_workers - 1`` more epochs) so no checkpoint is cut mid-write.
    :param max_epochs: epochs of a fully trained configuration.
    :param minimize: whether smaller metrics are better.
    :param metric: the key under which the objective reports the metric.
    :param num_configurations: unseen configurations DyHPO scores per decision.
    :param seed: seeds DyHPO's decisions (not the objective's own randomness).
        With ``n_workers=1`` and ``scheduler_kwargs={"cost_aware": False}`` a
        run repeats exactly (decisions then do not depend on measured times).
    :param n_workers: worker processes calling the objective at the same time;
        each loads the objective once and runs any call.
    :param timeout: seconds a call may take; past it its worker is killed and
        its configuration fails. ``None``: no limit.
    :param max_wallclock_time: seconds for the whole run (earlier runs of a
        resumed folder included); calls running then are cut off and count
        nothing. ``None``: no limit.
    :param output_path: new or empty folder for ``results.csv``,
        ``best_configuration.json``, ``journal.jsonl``,
        ``checkpoints/<configuration_id>/`` and ``trials/<configuration_id>/``
        (each call's output); by default a new folder under Syne Tune's
        experiment path.
    :param resume: continue the run in ``output_path`` (killed, out of budget
        or done): its epochs and failures count, its paused configurations
        may be resumed. The budgets count the earlier runs too.
    :param verbose: 0 no progress line, 1 a progress line on stderr every few seconds and
        on each new best, 2 that and the debug log.
    :param prune_checkpoints: keep only the incumbent's checkpoint folder.
    :param max_consecutive_failures: give up after this many configurations
        failed in a row (a broken objective); the incumbent, if any, is returned.
    :param scheduler_kwargs: further arguments of :class:`~syne_dyhpo.scheduler.DyHPO`
        (``points_to_evaluate``, ``surrogate_kwargs``, ``cost_aware``, ...).
    :raises RuntimeError: if no configuration reported a finite metric, or the
        workers cannot load the objective (the output folder is left as it was).
    """
    _check_arguments(
        objective,
        metric,
        verbose,
        max_budget=max_budget,
        max_epochs=max_epochs,
        n_workers=n_workers,
        max_consecutive_failures=max_consecutive_failures,
    )
    timeout = _seconds("timeout", timeout)
    max_wallclock_time = _seconds("max_wallclock_time", max_wallclock_time)
    space, conditions = resolve_space(config_space)
    _check_space(space)
    pickled = _pickled(objective)
    output = output_folder(output_path, resume)
    settings = {"max_epochs": max_epochs, "minimize": minimize, "metric": metric}
    events = earlier_run(output, settings) if resume else []
    elapsed_before = elapsed_seconds(events)
    deadline = None
    if max_wallclock_time is not None:
        deadline = time.monotonic() + max_wallclock_time - elapsed_before
    recorder = RunRecorder(
        output,
        minimize=minimize,
        max_budget=max_budget,
        deadline=deadline,
        max_consecutive_failures=max_consecutive_failures,
        elapsed_before=elapsed_before,
        metric_name=metric,
    )
    scheduler = ObjectiveDyHPO(
        {**space, EPOCH_KEY: max_epochs},
        is_done=recorder.done,
        metric=METRIC,
        do_minimize=minimize,
        time_attr=EPOCH,
        max_resource_attr=EPOCH_KEY,
        random_seed=seed,
        num_new_candidates=num_configurations,
        conditions=conditions,
        **(scheduler_kwargs or {}),
    )
    gpus = torch.cuda.device_count()
    pool = WorkerPool(pickled, metric=metric, size=n_workers, timeout=timeout, gpus=gpus)
    try:
        try:
            pool.start()
        except SetupError as err:
            raise RuntimeError(f"{err}; {str(output)!r} was left as it was") from None
        backend = WorkerPoolBackend(
            pool,
            checkpoint_root=output / "checkpoints",
            trials_root=output / "trials",
            deadline=deadline,
        )
        output.mkdir(parents=True, exist_ok=True)
        if not (output / JOURNAL_FILE).exists():
            Journal(output).append("run", **settings)
        restore(events, space, recorder, scheduler, backend)
        callbacks = [recorder, DecisionLog()] + ([ProgressLine(recorder)] if verbose else [])
        logger.info("Tuning for %d epochs; results in %s", max_budget, output)
        with console(verbose):
            _tuner(backend, scheduler, recorder, callbacks, output, n_workers).run()
    finally:
        pool.close()
    return _finish(recorder, prune_checkpoints, round(sum(scheduler.decision_seconds), 3))


def _tuner(
    backend: WorkerPoolBackend,
    scheduler: ObjectiveDyHPO,
    recorder: RunRecorder,
    callbacks: list,
    output: Path,
    n_workers: int,
) -> Tuner:
    """A Syne Tune Tuner driving ``backend``; the backend waits for results, so
    the tuner never sleeps."""
    tuner = Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        stop_criterion=recorder,
        n_workers=n_workers,
        sleep_time=0.0,
        max_failures=sys.maxsize,  # the recorder gives up on a broken objective instead
        tuner_name="dyhpo-tune",
        wait_trial_completion_when_stopping=True,
        callbacks=callbacks,
        save_tuner=False,
        trial_backend_path=str(output / "trials"),
        output_logger=TunerLogger(use_colors=False, use_emojis=False),
    )
    tuner.tuner_path = output / "syne-tune"  # Syne Tune's metadata, next to ours
    return tuner


def _finish(recorder: RunRecorder, prune_checkpoints: bool, decision_seconds: float) -> TuneResult:
    """The incumbent as a :class:`TuneResult`, also written to ``BEST_FILE``."""
    output = recorder.folder
    if recorder.gave_up:
        logger.error(
            "Gave up after %d configurations failed in a row; is the objective broken?",
            recorder.consecutive_failures,
        )
    best = recorder.incumbent
    if best is None:
        last = list(recorder.failures.items())[-1:]
        raise RuntimeError(
            f"No configuration reported a finite metric in {len(recorder.rows)} epochs; "
            f"last failure (configuration, error): {last}; outputs in {output / 'trials'}"
        )
    content = {**recorder.best_record(), "decision_seconds": decision_seconds}
    write_best(output, content)
    result = TuneResult(
        configuration=best.configuration,
        metric=best.metric,
        epoch=best.epoch,
        configuration_id=best.configuration_id,
        checkpoint_path=Path(content["checkpoint_path"]),
        output_path=output,
        failures=dict(recorder.failures),
        metric_name=recorder.metric_name,
        decision_seconds=decision_seconds,
        results=pd.DataFrame(recorder.rows),
    )
    checkpoints = output / "checkpoints"
    if prune_checkpoints and checkpoints.is_dir():
        for folder in checkpoints.iterdir():
            if folder != result.checkpoint_path:
                shutil.rmtree(folder)
    logger.info(
        "Best: metric %g at epoch %d of configuration %d %s (%s)",
        result.metric,
        result.epoch,
        result.configuration_id,
        result.configuration,
        BEST_FILE,
    )
    return result
