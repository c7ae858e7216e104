"""A local backend that turns every worker fault into one failed trial.

Syne Tune's :class:`~syne_tune.backend.LocalBackend` marks a trial failed when
its process exits non-zero, but does not say why, waits forever for a script
that hangs, and makes the tuner raise if a script exits cleanly without
reporting anything. :class:`SafeLocalBackend` kills a run that exceeds
``trial_timeout``, logs the reason of every failure (exit code or signal, the
end of ``std.err``), and reports a silent clean exit as a failure, so that the
tuner reuses the worker slot and the scheduler never resumes the trial. A report
that a killed run left half-printed is dropped instead of stopping the tuner.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from syne_tune.backend import LocalBackend
from syne_tune.backend.trial_status import Status, TrialResult

from syne_dyhpo import _syne_tune_internals as internals
from syne_dyhpo.crash_safety.trial_outputs import complete_report_lines

logger = logging.getLogger(__name__)

STDERR_TAIL_LINES = 5  # enough for the exception line of a traceback


class SafeLocalBackend(LocalBackend):
    """:class:`~syne_tune.backend.LocalBackend` with a per-run timeout and
    failure reasons in the log.

    :param entry_point: training script, as for ``LocalBackend``.
    :param trial_timeout: seconds one run of the script (a start or a resume)
        may take before it is killed and its trial marked failed; ``None``
        for no limit.
    :param kwargs: further ``LocalBackend`` arguments.
    """

    def __init__(self, entry_point: str, *, trial_timeout: float | None = None, **kwargs: Any):
        if trial_timeout is not None and not trial_timeout > 0:
            raise ValueError(f"trial_timeout must be > 0 seconds or None, got {trial_timeout!r}")
        super().__init__(entry_point=entry_point, **kwargs)
        self.trial_timeout = trial_timeout
        self._run_started: dict[int, float] = {}
        self._timed_out: set[int] = set()
        self._failure_logged: set[int] = set()

    def stdout(self, trial_id: int) -> list[str]:
        """The script's output, with reports glued together by a killed run
        split apart (see :func:`~syne_dyhpo.crash_safety.trial_outputs.complete_report_lines`)."""
        return complete_report_lines(super().stdout(trial_id))

    def _schedule(self, trial_id: int, config: dict[str, Any]):
        super()._schedule(trial_id, config)
        self._run_started[trial_id] = time.time()

    def _kill_overdue(self, trial_ids: list[int]) -> None:
        if self.trial_timeout is None:
            return
        now = time.time()
        for trial_id in trial_ids:
            started = self._run_started.get(trial_id)
            if started is None or trial_id in self._timed_out:
                continue
            if now - started > self.trial_timeout and self._is_running(trial_id):
                self._timed_out.add(trial_id)
                internals.kill_run(self, trial_id)
                internals.run_processes(self)[trial_id].wait()

    def _is_running(self, trial_id: int) -> bool:
        process = internals.run_processes(self).get(trial_id)
        return process is not None and internals.run_status(self, trial_id) == Status.in_progress

    def _failure_reason(self, trial_id: int, result: TrialResult) -> str | None:
        """Why the last run of ``trial_id`` failed, or ``None`` if it did not."""
        if trial_id in self._timed_out:
            return f"its run exceeded trial_timeout={self.trial_timeout:g} s and was killed"
        if result.status == Status.completed and not result.metrics:
            return "its script exited with code 0 without reporting any result"
        if result.status != Status.failed:
            return None
        code = internals.run_processes(self)[trial_id].poll()
        if code is not None and code < 0:
            return f"its script was killed by signal {signal.Signals(-code).name}"
        return f"its script exited with code {code}"

    def _all_trial_results(self, trial_ids: list[int]) -> list[TrialResult]:
        self._kill_overdue(trial_ids)
        results = super()._all_trial_results(trial_ids)
        for result in results:
            reason = self._failure_reason(result.trial_id, result)
            if reason is None:
                continue
            result.status = Status.failed
            if result.trial_id not in self._failure_logged:
                self._failure_logged.add(result.trial_id)
                tail = "".join(self.stderr(result.trial_id)[-STDERR_TAIL_LINES:]).rstrip()
                logger.error(
                    "Trial %d failed: %s; it will not be resumed. End of %s:\n%s",
                    result.trial_id,
                    reason,
                    self.trial_path(result.trial_id) / "std.err",
                    tail or "(empty)",
                )
        return results
