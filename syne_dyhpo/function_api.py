"""One call from an objective function to the best configuration and its
checkpoint: DyHPO on Syne Tune's local backend, in the style of hpo4dl's
``Tuner(...).run()``.

The objective trains one configuration from ``previous_epoch`` to ``epoch``::

    def objective(configuration, epoch, previous_epoch, checkpoint_path):
        ...  # load checkpoint_path if previous_epoch > 0, train, save
        return [{"epoch": e, "metric": ...} for e in range(previous_epoch + 1, epoch + 1)]

Each call runs in a fresh process (that is how Syne Tune pauses and resumes),
so state must go through ``checkpoint_path``, a folder of its own per
configuration that persists across pauses.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from syne_tune import Tuner
from syne_tune.results_callback import StoreResultsCallback
from syne_tune.tuner_logger import TunerLogger
from syne_tune.util import experiment_path, name_from_base

from syne_dyhpo._tune_backend import ObjectiveBackend
from syne_dyhpo._tune_recorder import RunRecorder
from syne_dyhpo._tune_scheduler import ObjectiveDyHPO
from syne_dyhpo._tune_space import to_syne_tune_space
from syne_dyhpo._tune_worker import EPOCH, EPOCH_KEY, METRIC, OBJECTIVE_KEY, save_objective
from syne_dyhpo.decision_log import DecisionLog

__all__ = ["TuneResult", "tune"]

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05  # a short epoch takes milliseconds; a poll is a few file reads
RESULTS_FILE = "results.csv"
BEST_FILE = "best_configuration.json"


@dataclass(frozen=True)
class TuneResult:
    """The incumbent: the configuration with the best metric at any epoch.

    ``checkpoint_path`` holds what the objective last saved for it, at its
    highest epoch in ``results.csv`` (which may be past ``epoch``).
    """

    configuration: dict[str, Any]
    metric: float
    epoch: int
    configuration_id: int
    checkpoint_path: Path
    output_path: Path
    failures: dict[int, str]  # configuration_id -> error message


class _LogStream(io.TextIOBase):
    """Text stream logging each line at DEBUG: Syne Tune's Tuner prints."""

    def __init__(self):
        self._pending = ""

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            if line.strip():
                logger.debug("%s", line)
        return len(text)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def _output_folder(output_path: str | Path | None) -> Path:
    """A new or empty folder: reused checkpoints would resume the wrong training."""
    path = Path(output_path or experiment_path(name_from_base("dyhpo-tune"))).expanduser()
    path = path.resolve()
    if re.search(r"\s", str(path)):
        raise ValueError(
            f"output_path {str(path)!r} contains whitespace, which Syne Tune's LocalBackend "
            "cannot pass on its command lines; expected a path without whitespace"
        )
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ValueError(f"output_path {str(path)!r} exists and is not an empty folder")
    return path


def _check_space(space: dict[str, Any]) -> None:
    reserved = sorted({EPOCH_KEY, OBJECTIVE_KEY} & set(space))
    if reserved:
        raise ValueError(f"config_space keys {reserved} are reserved; rename them")


def _tuner(
    objective: Callable,
    scheduler: ObjectiveDyHPO,
    recorder: RunRecorder,
    output: Path,
    n_workers: int,
) -> Tuner:
    """A Syne Tune Tuner running ``objective`` in ``output`` (created here)."""
    trials = output / "trials"
    trials.mkdir(parents=True, exist_ok=True)
    save_objective(objective, trials / "objective.dill")
    tuner = Tuner(
        trial_backend=ObjectiveBackend(trials / "objective.dill", output / "checkpoints"),
        scheduler=scheduler,
        stop_criterion=recorder,
        n_workers=n_workers,
        sleep_time=POLL_SECONDS,
        max_failures=sys.maxsize,  # the recorder gives up on a broken objective instead
        tuner_name="dyhpo-tune",
        wait_trial_completion_when_stopping=True,
        callbacks=[StoreResultsCallback(), recorder, DecisionLog()],
        save_tuner=False,
        trial_backend_path=str(trials),
        output_logger=TunerLogger(use_colors=False, use_emojis=False),
    )
    tuner.tuner_path = output / "syne-tune"  # Syne Tune's own records, next to ours
    return tuner


def tune(
    objective: Callable[[dict[str, Any], int, int, str], Any],
    config_space: Any,
    *,
    max_budget: int,
    max_epochs: int,
    minimize: bool = True,
    num_configurations: int = 256,
    seed: int | None = 0,
    n_workers: int = 1,
    output_path: str | Path | None = None,
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
        configuration as diverged; an exception or a malformed return value
        fails it. Either way only that configuration is dropped.
    :param config_space: Syne Tune domains and constants, or a
        ``ConfigSpace.ConfigurationSpace`` (extra ``configspace``).
    :param max_budget: total epochs over all configurations. The run stops once
        that many were reported; epochs running then finish (up to
        ``n_workers - 1`` more) so no checkpoint is cut mid-write.
    :param max_epochs: epochs of a fully trained configuration.
    :param minimize: whether smaller metrics are better.
    :param num_configurations: unseen configurations DyHPO scores per decision.
    :param seed: seeds DyHPO's decisions (not the objective's own randomness).
    :param n_workers: objective processes running at the same time.
    :param output_path: new or empty folder for ``results.csv``,
        ``best_configuration.json``, ``checkpoints/<configuration_id>/`` and
        ``trials/<configuration_id>/`` (each run's output); by default a new
        folder under Syne Tune's experiment path.
    :param prune_checkpoints: keep only the incumbent's checkpoint folder.
    :param max_consecutive_failures: give up after this many configurations
        failed in a row (a broken objective); the incumbent, if any, is returned.
    :param scheduler_kwargs: further arguments of :class:`~syne_dyhpo.scheduler.DyHPO`
        (``points_to_evaluate``, ``surrogate_kwargs``, ...).
    :raises RuntimeError: if no configuration reported a finite metric.
    """
    if not callable(objective):
        raise TypeError(f"objective must be callable, got {objective!r}")
    for name, value in [
        ("max_budget", max_budget),
        ("max_epochs", max_epochs),
        ("n_workers", n_workers),
        ("max_consecutive_failures", max_consecutive_failures),
    ]:
        _positive_int(name, value)
    space = to_syne_tune_space(config_space)
    _check_space(space)
    recorder = RunRecorder(
        minimize=minimize,
        max_budget=max_budget,
        max_consecutive_failures=max_consecutive_failures,
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
        **(scheduler_kwargs or {}),
    )
    output = _output_folder(output_path)
    tuner = _tuner(objective, scheduler, recorder, output, n_workers)
    logger.info("Tuning for %d epochs; results in %s", max_budget, output)
    try:
        with contextlib.redirect_stdout(_LogStream()):
            tuner.run()
    finally:
        recorder.write_csv(output / RESULTS_FILE)
    return _finish(recorder, output, prune_checkpoints)


def _finish(recorder: RunRecorder, output: Path, prune_checkpoints: bool) -> TuneResult:
    """The incumbent as a :class:`TuneResult`, also written to ``BEST_FILE``."""
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
    checkpoints = output / "checkpoints"
    result = TuneResult(
        configuration=best.configuration,
        metric=best.metric,
        epoch=best.epoch,
        configuration_id=best.configuration_id,
        checkpoint_path=checkpoints / str(best.configuration_id),
        output_path=output,
        failures=dict(recorder.failures),
    )
    (output / BEST_FILE).write_text(json.dumps(asdict(result), indent=2, default=str))
    if prune_checkpoints and checkpoints.is_dir():
        for folder in checkpoints.iterdir():
            if folder != result.checkpoint_path:
                shutil.rmtree(folder)
    logger.info(
        "Best: metric %g at epoch %d of configuration %d %s",
        result.metric,
        result.epoch,
        result.configuration_id,
        result.configuration,
    )
    return result
