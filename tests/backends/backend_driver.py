"""Plays the Tuner's part against a trial backend, for the backend tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from syne_tune.backend.trial_backend import TrialBackend


class Driver:
    """Polls ``backend`` and keeps every new result's epoch per trial.

    :param timeout: seconds :meth:`wait` waits before it raises.
    :param poll_seconds: pause between two polls.
    """

    def __init__(self, backend: TrialBackend, *, timeout: float, poll_seconds: float):
        self.backend = backend
        self.timeout = timeout
        self.poll_seconds = poll_seconds
        self.epochs: dict[int, list[int]] = {}

    def poll(self) -> dict[int, str]:
        statuses, results = self.backend.fetch_status_results(list(self.backend._trial_dict))
        for trial_id, result in results:
            self.epochs.setdefault(trial_id, []).append(result["epoch"])
        return {trial_id: status for trial_id, (_, status) in statuses.items()}

    def wait(self, condition: Callable[[dict[int, str]], bool], what: str) -> dict[int, str]:
        deadline = time.monotonic() + self.timeout
        while not condition(statuses := self.poll()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: statuses {statuses}, epochs {self.epochs}")
            time.sleep(self.poll_seconds)
        return statuses
