"""Long-lived worker processes (:mod:`syne_dyhpo.tune.worker`) that run the
objective's calls: a call per idle worker, a replacement for every worker that
dies, a kill for every call past its timeout.

A call ends one of three ways, each reported once by :meth:`WorkerPool.wait`:
its results, its error (the objective raised, returned a malformed value,
called ``sys.exit``), or the death of its worker (``os._exit``, a signal, out
of memory, a timeout), which costs only that call.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from syne_dyhpo.tune import worker as worker_script
from syne_dyhpo.tune.worker import Call

logger = logging.getLogger(__name__)

WORKER_START_SECONDS = 120.0  # loading the objective (its imports) may take a while
MAX_DEATHS_BEFORE_READY = 3  # replacements in a row that die loading: the objective is broken


class SetupError(RuntimeError):
    """The workers cannot load the objective."""


@dataclass(frozen=True)
class Outcome:
    """How the call of ``key`` ended: ``results`` (a list of result dicts) or ``error``."""

    key: Any
    results: list[dict[str, Any]] | None = None
    error: str | None = None


@dataclass
class _Worker:
    process: subprocess.Popen
    connection: Connection
    ready: bool = False
    key: Any = None  # of the call it runs, None if idle
    deadline: float = float("inf")  # time.monotonic() by which its call must end


def _death(returncode: int | None) -> str:
    if returncode is None:
        return "its worker process closed its connection"
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (out of memory?)" if -returncode == signal.SIGKILL else ""
        return f"its worker process was killed by {name}{hint}"
    return f"its worker process exited with code {returncode} (os._exit?)"


class WorkerPool:
    """``size`` worker processes running calls of one pickled objective.

    :param objective: from :func:`~syne_dyhpo.tune.worker.dump_objective`.
    :param metric: the key under which the objective reports the metric.
    :param size: number of workers.
    :param timeout: seconds a call may take before its worker is killed; ``None``: no limit.
    :param gpus: GPUs of the machine; if several, worker ``i`` sees only GPU
        ``i % gpus`` (``CUDA_VISIBLE_DEVICES``), and so does its replacement.
    """

    def __init__(
        self, objective: bytes, *, metric: str, size: int, timeout: float | None, gpus: int = 0
    ):
        self.objective = objective
        self.metric = metric
        self.timeout = timeout
        self.gpus = gpus
        self.queue: deque[tuple[Any, Call]] = deque()  # calls waiting for a ready worker
        self.deaths_before_ready = 0
        self.workers = [self._spawn(slot) for slot in range(size)]

    def _spawn(self, slot: int) -> _Worker:
        env = None
        if self.gpus > 1:
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": str(slot % self.gpus)}
        ours, theirs = socket.socketpair()
        process = subprocess.Popen(
            [sys.executable, worker_script.__file__, str(theirs.fileno()), str(os.getpid())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        theirs.close()
        connection = Connection(ours.detach())
        connection.send(("load", self.objective, self.metric))
        return _Worker(process, connection)

    def start(self) -> None:
        """Wait until every worker loaded the objective; raises :class:`SetupError`
        with the first worker's error if one cannot."""
        deadline = time.monotonic() + WORKER_START_SECONDS
        for worker in self.workers:
            left = deadline - time.monotonic()
            if not worker.connection.poll(max(left, 0.0)):
                raise SetupError(f"a worker did not load the objective in {WORKER_START_SECONDS} s")
            try:
                message = worker.connection.recv()
            except (EOFError, OSError):
                raise SetupError(
                    f"a worker died loading the objective: {_death(worker.process.wait())}"
                ) from None
            if message[0] == "load_error":
                raise SetupError(f"a worker cannot load the objective: {message[1]}")
            worker.ready = True

    @property
    def busy_keys(self) -> list[Any]:
        return [w.key for w in self.workers if w.key is not None] + [k for k, _ in self.queue]

    def submit(self, key: Any, call: Call) -> None:
        """Run ``call`` on the next idle worker; ``key`` names it in its :class:`Outcome`."""
        self.queue.append((key, call))
        self._dispatch()

    def _dispatch(self) -> None:
        for worker in self.workers:
            if not self.queue:
                return
            if worker.ready and worker.key is None:
                key, call = self.queue.popleft()
                worker.key = key
                worker.deadline = time.monotonic() + (self.timeout or float("inf"))
                worker.connection.send(("call", vars(call)))  # plain: no import

    def cancel(self, key: Any) -> None:
        """End the call of ``key``, waiting or running (its worker is killed); no outcome."""
        self.queue = deque((k, c) for k, c in self.queue if k != key)
        for worker in self.workers:
            if worker.key == key:
                self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.process.kill()
        worker.process.wait()
        worker.connection.close()
        slot = self.workers.index(worker)
        self.workers[slot] = self._spawn(slot)

    def wait(self, seconds: float) -> list[Outcome]:
        """Outcomes of the calls that ended, waiting up to ``seconds`` for the
        first one while a call runs."""
        running = [w for w in self.workers if w.key is not None]
        if running:
            first_deadline = min(w.deadline for w in running)
            seconds = min(seconds, max(0.0, first_deadline - time.monotonic()))
        elif not self.queue:
            seconds = 0.0
        waiting = [w for w in self.workers if w.key is not None or not w.ready]
        ready = wait([w.connection for w in waiting], timeout=seconds) if waiting else []
        outcomes = [o for w in waiting if w.connection in ready for o in self._receive(w)]
        outcomes += self._time_out()
        self._dispatch()
        return outcomes

    def _receive(self, worker: _Worker) -> list[Outcome]:
        key = worker.key
        try:
            message = worker.connection.recv()
        except (EOFError, OSError):
            returncode = worker.process.wait()
            self._replace(worker)
            if key is None and not worker.ready:  # the objective loaded before: a crash
                self.deaths_before_ready += 1
                if self.deaths_before_ready >= MAX_DEATHS_BEFORE_READY:
                    raise SetupError(
                        f"{self.deaths_before_ready} workers in a row died loading the "
                        f"objective; the last: {_death(returncode)}"
                    ) from None
            if key is None:
                logger.warning("A worker died outside a call (replaced): %s", _death(returncode))
                return []
            return [Outcome(key, error=f"the call did not return: {_death(returncode)}")]
        if message[0] == "ready":
            worker.ready, self.deaths_before_ready = True, 0
            return []
        if message[0] == "load_error":
            raise SetupError(f"a replacement worker cannot load the objective: {message[1]}")
        worker.key = None
        if message[0] == "results":
            return [Outcome(key, results=message[1])]
        return [Outcome(key, error=message[1])]

    def _time_out(self) -> list[Outcome]:
        now = time.monotonic()
        late = [w for w in self.workers if w.key is not None and w.deadline <= now]
        outcomes = []
        for worker in late:
            outcomes.append(
                Outcome(
                    worker.key,
                    error=f"timed out after {self.timeout:g} s (timeout); its worker was killed",
                )
            )
            self._replace(worker)
        return outcomes

    def close(self) -> None:
        """Kill every worker (a running call is cut off)."""
        for worker in self.workers:
            worker.connection.close()
            worker.process.kill()
        for worker in self.workers:
            worker.process.wait()
        self.workers, self.queue = [], deque()
