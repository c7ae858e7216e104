"""The progress line of :func:`syne_dyhpo.tune` (``verbose >= 1``): one plain
line on ``stderr`` every few seconds and on each new best, the same in a
terminal, a log file and a notebook (no escape codes)::

    epochs 23/60 · configs 9 · best 0.956 (config 8, epoch 2) · 41 s
"""

from __future__ import annotations

import sys
import time

from syne_tune.tuner_callback import TunerCallback

from syne_dyhpo.tune.recorder import RunRecorder

INTERVAL_SECONDS = 5.0


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
