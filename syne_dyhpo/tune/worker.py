"""A long-lived worker process of :func:`syne_dyhpo.tune`: load the objective
once, then run calls (any configuration, any epoch range) until told to stop.

Runs as a script (``python worker.py FD PARENT_PID``) so that it imports
neither ``syne_dyhpo`` (torch) nor ``syne_tune`` (pandas); a replacement worker
is ready in a fraction of a second. ``FD`` is its end of a socket pair to the
tuning process (:mod:`syne_dyhpo.tune.pool`), carrying pickled messages:

- in: ``("load", objective_bytes, metric)``, then ``("call", fields of a Call)`` any
  number of times (a plain dict: unpickling a :class:`Call` would import the package);
- out: ``("ready",)`` or ``("load_error", message)``, then per call
  ``("results", results)`` or ``("error", message)``.

Each call writes the objective's ``stdout``/``stderr`` to the files named in
its :class:`Call`. The worker dies with the tuning process (Linux) or at the
latest when its next message cannot be read.
"""

from __future__ import annotations

import ctypes
import math
import os
import signal
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import dill

EPOCH = "epoch"
METRIC = "metric"  # results.csv's column of the tuned metric, whatever the objective's key
EXTRA_TYPES = (str, int, float, bool)
PR_SET_PDEATHSIG = 1  # prctl option, <linux/prctl.h>


@dataclass(frozen=True)
class Call:
    """One call of the objective: train ``configuration`` from ``previous_epoch`` to ``epoch``."""

    configuration: dict[str, Any]
    epoch: int
    previous_epoch: int
    checkpoint_path: str
    stdout_path: str
    stderr_path: str


def dump_objective(objective: Any) -> bytes:
    """The caller's ``sys.path`` and ``objective``, pickled.

    Objectives defined in ``__main__`` (scripts, notebooks) or locally are
    pickled by value; others by reference to their module, which the worker
    imports with the caller's ``sys.path``. Raises what ``dill`` raises for an
    objective that cannot be pickled.
    """
    return dill.dumps((list(sys.path), dill.dumps(objective, recurse=True)))


def load_objective(data: bytes) -> Any:
    """The objective of :func:`dump_objective`, its modules imported with the caller's path."""
    path, objective = dill.loads(data)
    sys.path[:] = path
    return dill.loads(objective)


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


def _result(item: Any, metric: str, where: str) -> dict[str, Any]:
    """One returned result as ``{"epoch": int, "metric": float, **extras}``; the
    objective's ``metric`` key stays among the extras under its own name."""
    if not isinstance(item, Mapping):
        raise TypeError(f"{where} is {item!r}; expected a dict with 'epoch' and {metric!r}")
    missing = [key for key in (EPOCH, metric) if key not in item]
    if missing:
        raise ValueError(f"{where} has no {missing}; its keys are {sorted(map(str, item))}")
    epoch, value = _epoch(item[EPOCH]), _metric(item[metric])
    if epoch is None:
        raise ValueError(f"{where} has epoch={item[EPOCH]!r}; expected an integer")
    if value is None:
        raise TypeError(f"{where} has {metric}={item[metric]!r}; expected a real number")
    extras = {k: v for k, v in item.items() if k not in (EPOCH, METRIC)}
    for key, extra in extras.items():
        if not isinstance(key, str) or key.startswith("st_") or not isinstance(extra, EXTRA_TYPES):
            raise ValueError(
                f"{where} has extra entry {key!r}: {extra!r}; extras need a string key not "
                "starting with 'st_' and a str, int, float or bool value"
            )
    if METRIC in item and metric != METRIC:
        raise ValueError(
            f"{where} has a {METRIC!r} entry, but the metric is {metric!r}; "
            f"rename it ({METRIC!r} is the tuned metric's column in results.csv)"
        )
    if metric != METRIC:
        extras[metric] = value
    return {EPOCH: epoch, METRIC: value, **extras}


def validate_results(
    returned: Any, previous_epoch: int, epoch: int, metric: str = METRIC
) -> list[dict[str, Any]]:
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
            f"with 'epoch' and {metric!r}"
        )
    results = [_result(item, metric, f"{call} result {i}") for i, item in enumerate(items)]
    epochs = [r[EPOCH] for r in results]
    in_range = all(previous_epoch < e <= epoch for e in epochs)
    increasing = all(a < b for a, b in zip(epochs, epochs[1:], strict=False))
    if not (in_range and increasing and epochs[-1] == epoch):
        raise ValueError(
            f"{call} returned results for epochs {epochs}; expected increasing epochs in "
            f"{previous_epoch + 1} ... {epoch}, ending at {epoch}"
        )
    return results


class _Redirected:
    """File descriptors 1 and 2 appended to two files for the duration of a call."""

    def __init__(self, stdout_path: str, stderr_path: str):
        self.paths = (stdout_path, stderr_path)
        self.saved: list[int] = []

    def __enter__(self):
        sys.__stdout__.flush(), sys.__stderr__.flush()
        for fd, path in zip((1, 2), self.paths, strict=True):
            self.saved.append(os.dup(fd))
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(target, fd)
            os.close(target)

    def __exit__(self, *exc_info):
        sys.__stdout__.flush(), sys.__stderr__.flush()
        for fd, saved in zip((1, 2), self.saved, strict=True):
            os.dup2(saved, fd)
            os.close(saved)
        self.saved = []


def run_call(objective: Any, call: Call, metric: str) -> tuple:
    """The reply to ``call``: ``("results", [...])`` or ``("error", message)``.

    ``sys.exit`` in the objective is an error of its call like any exception;
    the traceback goes to the call's ``stderr``.
    """
    os.makedirs(call.checkpoint_path, exist_ok=True)
    with _Redirected(call.stdout_path, call.stderr_path):
        try:
            returned = objective(
                dict(call.configuration), call.epoch, call.previous_epoch, call.checkpoint_path
            )
            return ("results", validate_results(returned, call.previous_epoch, call.epoch, metric))
        except BaseException as err:  # noqa: BLE001 - SystemExit too: it fails the call only
            traceback.print_exc(file=sys.__stderr__)
            if isinstance(err, SystemExit):
                return ("error", f"the objective called sys.exit({err.code!r})")
            return ("error", f"{type(err).__name__}: {err}")


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when the tuning process dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (AttributeError, OSError):
        return  # not Linux: the closed socket ends the worker at its next read
    if os.getppid() != parent_pid:  # died before prctl took effect
        os._exit(1)


def serve(connection: Connection) -> None:
    """Load the objective, then answer calls until the connection closes."""
    _, data, metric = connection.recv()
    try:
        objective = load_objective(data)
    except BaseException as err:  # noqa: BLE001 - reported to the tuning process
        connection.send(("load_error", f"{type(err).__name__}: {err}"))
        return
    connection.send(("ready",))
    while True:
        try:
            _, fields = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(run_call(objective, Call(**fields), metric))


def main(argv: list[str]) -> None:
    fd, parent_pid = int(argv[0]), int(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the tuning process, which ends us
    _die_with_parent(parent_pid)
    serve(Connection(fd))


if __name__ == "__main__":
    main(sys.argv[1:])
