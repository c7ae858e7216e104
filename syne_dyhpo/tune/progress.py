"""What :func:`syne_dyhpo.tune` shows on the console: with ``verbose >= 1``, a
plain progress line on ``stderr`` every few seconds and on each new best, the
same in a terminal, a log file and a notebook (no escape codes)::

    epochs 23/60 · configs 9 · best 0.956 (config 8, epoch 2) · 41 s

with ``verbose=2`` also the debug log; Syne Tune's own prints never.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import time
from collections.abc import Iterator

from syne_tune.tuner_callback import TunerCallback

from syne_dyhpo.tune.recorder import RunRecorder

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 5.0
LOGGERS = ("syne_dyhpo", "syne_tune")  # shown on stderr with verbose=2


def progress_line(recorder: RunRecorder) -> str:
    parts = [
        f"epochs {len(recorder.rows)}/{recorder.max_budget}",
        f"configs {len(recorder.configurations)}",
    ]
    if recorder.failures:
        parts.append(f"failed {len(recorder.failures)}")
    best = recorder.incumbent
    if best is not None:
        parts.append(f"best {best.metric:.4g} (config {best.configuration_id}, epoch {best.epoch})")
    parts.append(f"{recorder.elapsed:.0f} s")
    return " · ".join(parts)


class ProgressLine(TunerCallback):
    """Prints :func:`progress_line` every ``interval`` seconds and on each new best."""

    def __init__(self, recorder: RunRecorder, interval: float = INTERVAL_SECONDS):
        self.recorder = recorder
        self.interval = interval
        self._last = -float("inf")
        recorder.on_new_best.append(self.show)

    def show(self) -> None:
        print(progress_line(self.recorder), file=sys.stderr, flush=True)
        self._last = time.monotonic()

    def on_loop_end(self) -> None:
        if time.monotonic() - self._last >= self.interval:
            self.show()

    def on_tuning_end(self) -> None:
        self.show()


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


@contextlib.contextmanager
def console(verbose: int) -> Iterator[None]:
    """Syne Tune's prints logged at DEBUG; with ``verbose=2`` the package's and
    Syne Tune's logs on stderr (and not also through the program's handlers),
    else Syne Tune's from warnings on only."""
    loggers = [logging.getLogger(name) for name in LOGGERS]
    saved = [(log.level, log.propagate) for log in loggers]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    for log in loggers:
        if verbose == 2:
            log.setLevel(logging.DEBUG)
            log.addHandler(handler)
            log.propagate = False
        elif log.name == "syne_tune":
            log.setLevel(max(log.level, logging.WARNING))
    try:
        with contextlib.redirect_stdout(_LogStream()):
            yield
    finally:
        for log, (level, propagate) in zip(loggers, saved, strict=True):
            log.setLevel(level)
            log.propagate = propagate
            log.removeHandler(handler)
