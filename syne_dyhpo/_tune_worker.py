"""Entry point of one trial run of :func:`syne_dyhpo.function_api.tune`: call the
objective one epoch at a time from the configuration's last epoch on, until
DyHPO pauses the run or it reaches the last epoch, and report the results the
way :class:`syne_tune.Reporter` does.

Runs as a script (``python _tune_worker.py --st_config_json_filename ...
--st_checkpoint_dir ...``) in a fresh process per epoch assignment, so it
imports neither ``syne_dyhpo`` (torch) nor ``syne_tune`` (pandas): each costs
seconds per epoch. Progress, the results of earlier runs of this
configuration, is kept in ``progress.json`` next to the trial's config file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dill

EPOCH = "epoch"
METRIC = "metric"
EPOCH_KEY = "dyhpo_epoch"  # config key: the epoch this run trains up to
OBJECTIVE_KEY = "dyhpo_objective_file"  # config key: the pickled objective
ERROR_TAG = "[dyhpo-objective-error]"  # prefixes the one-line error on stderr
PROGRESS_FILE = "progress.json"
# syne_tune.constants.ST_METRIC_TAG and ST_WORKER_TIMESTAMP (see module docstring)
METRIC_TAG = "tune-metric"
WORKER_TIMESTAMP = "st_worker_timestamp"
EXTRA_TYPES = (str, int, float, bool)


def save_objective(objective: Any, path: Path) -> None:
    """Pickle the caller's ``sys.path``, then ``objective``, into ``path``.

    Objectives defined in ``__main__`` (scripts, notebooks) or locally are
    pickled by value; others by reference to their module, which the worker
    imports with the caller's ``sys.path``.
    """
    with open(path, "wb") as file:
        dill.dump(list(sys.path), file)
        dill.dump(objective, file, recurse=True)


def load_objective(path: Path) -> Any:
    with open(path, "rb") as file:
        sys.path[:] = dill.load(file)
        return dill.load(file)


def _epoch(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number == int(number) else None


def _metric(value: Any) -> float | None:
    if isinstance(value, (str, bytes, bool)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _result(item: Any, where: str) -> dict[str, Any]:
    """One returned result as ``{"epoch": int, "metric": float, **extras}``."""
    if not isinstance(item, Mapping):
        raise TypeError(f"{where} is {item!r}; expected a dict with 'epoch' and 'metric'")
    missing = [key for key in (EPOCH, METRIC) if key not in item]
    if missing:
        raise ValueError(f"{where} has no {missing}; its keys are {sorted(map(str, item))}")
    epoch, metric = _epoch(item[EPOCH]), _metric(item[METRIC])
    if epoch is None:
        raise ValueError(f"{where} has epoch={item[EPOCH]!r}; expected an integer")
    if metric is None:
        raise TypeError(f"{where} has metric={item[METRIC]!r}; expected a real number")
    extras = {k: v for k, v in item.items() if k not in (EPOCH, METRIC)}
    for key, value in extras.items():
        if not isinstance(key, str) or key.startswith("st_") or not isinstance(value, EXTRA_TYPES):
            raise ValueError(
                f"{where} has extra entry {key!r}: {value!r}; extras need a string key not "
                "starting with 'st_' and a str, int, float or bool value"
            )
    return {EPOCH: epoch, METRIC: metric, **extras}


def validate_results(returned: Any, previous_epoch: int, epoch: int) -> list[dict[str, Any]]:
    """The objective's return value as a list of results, one per epoch in
    ``previous_epoch + 1 ... epoch`` (some may be skipped, not the last).

    Raises ``TypeError``/``ValueError`` saying what was returned and expected.
    A NaN or infinite metric is valid here: DyHPO records it as diverged.
    """
    call = f"objective(epoch={epoch}, previous_epoch={previous_epoch})"
    items = [returned] if isinstance(returned, Mapping) else returned
    if not isinstance(items, (list, tuple)) or not items:
        raise TypeError(
            f"{call} returned {returned!r}; expected a dict or a non-empty list of dicts "
            "with 'epoch' and 'metric'"
        )
    results = [_result(item, f"{call} result {i}") for i, item in enumerate(items)]
    epochs = [r[EPOCH] for r in results]
    in_range = all(previous_epoch < e <= epoch for e in epochs)
    increasing = all(a < b for a, b in zip(epochs, epochs[1:], strict=False))
    if not (in_range and increasing and epochs[-1] == epoch):
        raise ValueError(
            f"{call} returned results for epochs {epochs}; expected increasing epochs in "
            f"{previous_epoch + 1} ... {epoch}, ending at {epoch}"
        )
    return results


def _write_json(path: Path, content: Any) -> None:
    """Write atomically: a run killed mid-write leaves the previous file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(content))
    os.replace(tmp, path)


def report(result: Mapping[str, Any]) -> None:
    """Print ``result`` as a :class:`syne_tune.Reporter` line, in one write.

    ``print`` writes the newline separately when output is unbuffered
    (``PYTHONUNBUFFERED``); a pause that kills the process in between would
    glue the next run's line to this one, which Syne Tune cannot parse.
    """
    line = json.dumps({**result, WORKER_TIMESTAMP: time.time()})
    sys.stdout.write(f"[{METRIC_TAG}]: {line}\n")
    sys.stdout.flush()


def run(config_file: Path, checkpoint_dir: Path) -> None:
    """Train the configuration in ``config_file`` one epoch per call of the
    objective, up to the epoch it may reach (DyHPO pauses it earlier). The
    last epoch an earlier run trained is reported again first: that run may
    have been paused after it saved the epoch and before DyHPO saw it."""
    config = json.loads(config_file.read_text())
    objective = load_objective(Path(config.pop(OBJECTIVE_KEY)))
    last_epoch = int(config.pop(EPOCH_KEY))
    progress_file = config_file.parent / PROGRESS_FILE
    done = json.loads(progress_file.read_text()) if progress_file.exists() else []
    if done:
        report(done[-1])
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    for epoch in range(max((r[EPOCH] for r in done), default=0) + 1, last_epoch + 1):
        previous_epoch = done[-1][EPOCH] if done else 0
        returned = objective(config, epoch, previous_epoch, str(checkpoint_dir))
        results = validate_results(returned, previous_epoch, epoch)
        done = done + results
        _write_json(progress_file, done)
        for result in results:
            report(result)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run an objective for one epoch assignment.")
    parser.add_argument("--st_config_json_filename", type=Path, required=True)
    parser.add_argument("--st_checkpoint_dir", type=Path, required=True)
    args, _ = parser.parse_known_args(argv)
    try:
        run(args.st_config_json_filename, args.st_checkpoint_dir)
    except Exception as err:
        traceback.print_exc()
        print(f"{ERROR_TAG} {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
