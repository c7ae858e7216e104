"""A Syne Tune trial backend whose trials are calls of an objective function,
run by a :class:`~syne_dyhpo.tune.pool.WorkerPool` of long-lived processes.

A trial is one configuration; each of its runs (start, resume) is a call per
epoch, from the last epoch it reported on, up to the epoch in its config
(DyHPO gives ``max_epochs`` and pauses the run earlier). The next epoch's call
is made at the next round of the tuning loop, once the scheduler has seen the
last one's results and has not paused the run: a pause never interrupts a
call. A call that ends with an error fails the trial.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from syne_tune.backend.trial_backend import TrialBackend
from syne_tune.backend.trial_status import Status, TrialResult
from syne_tune.constants import ST_WORKER_TIMESTAMP

from syne_dyhpo.tune import worker
from syne_dyhpo.tune.pool import WorkerPool
from syne_dyhpo.tune.worker import EPOCH, Call

EPOCH_KEY = "dyhpo_epoch"  # config key: the epoch a run may train up to
WAIT_SECONDS = 0.5  # longest wait for a result before the tuning loop goes round


class WorkerPoolBackend(TrialBackend):
    """Runs trial ``i`` in ``trials_root / str(i)`` (its ``std.out``, ``std.err``)
    with checkpoint folder ``checkpoint_root / str(i)``, which persists across
    pauses so the objective resumes its own training.

    :param pool: started worker pool.
    :param deadline: ``time.monotonic()`` at which running calls are stopped
        (the run's wall-clock budget); ``None``: none.
    """

    def __init__(
        self,
        pool: WorkerPool,
        *,
        checkpoint_root: Path,
        trials_root: Path,
        deadline: float | None = None,
    ):
        super().__init__()
        self.pool = pool
        self.checkpoint_root = checkpoint_root
        self.trials_root = trials_root
        self.deadline = deadline
        self.last_epoch: dict[int, int] = {}  # trial_id -> last epoch reported
        self.run_limit: dict[int, int] = {}  # trial_id -> epoch its current run may reach
        self._configurations: dict[int, dict[str, Any]] = {}  # trial_id -> without EPOCH_KEY
        self._going_on: set[int] = set()  # runs whose next epoch is called at the next round
        self.failures: dict[int, str] = {}  # trial_id -> error of its failed call

    def restore(self, trial_id: int, config: dict[str, Any], last_epoch: int, status: str) -> None:
        """Register a trial of an earlier run of this output folder."""
        assert trial_id == len(self.trial_ids), "trials are restored in order"
        self.trial_ids.append(trial_id)
        self._trial_dict[trial_id] = TrialResult(
            trial_id=trial_id,
            config=config,
            creation_time=datetime.now(),
            status=status,
            metrics=[],
        )
        self.last_epoch[trial_id] = last_epoch

    def checkpoint_trial_path(self, trial_id: int) -> Path:
        return self.checkpoint_root / str(trial_id)

    def trial_path(self, trial_id: int) -> Path:
        return self.trials_root / str(trial_id)

    def _schedule(self, trial_id: int, config: dict[str, Any]):
        self.trial_path(trial_id).mkdir(parents=True, exist_ok=True)
        self.run_limit[trial_id] = int(config[EPOCH_KEY])
        self._configurations[trial_id] = {k: v for k, v in config.items() if k != EPOCH_KEY}
        self._call_next_epoch(trial_id)

    def _call_next_epoch(self, trial_id: int) -> None:
        folder = self.trial_path(trial_id)
        previous_epoch = self.last_epoch.get(trial_id, 0)
        call = Call(
            configuration=self._configurations[trial_id],
            epoch=previous_epoch + 1,
            previous_epoch=previous_epoch,
            checkpoint_path=str(self.checkpoint_trial_path(trial_id)),
            stdout_path=str(folder / "std.out"),
            stderr_path=str(folder / "std.err"),
        )
        self.pool.submit(trial_id, call)

    def _resume_trial(self, trial_id: int):
        pass

    def _pause_trial(self, trial_id: int, result: dict | None):
        self._going_on.discard(trial_id)  # calls end with their epoch: nothing runs any more

    def _stop_trial(self, trial_id: int, result: dict | None):
        self._going_on.discard(trial_id)
        self.pool.cancel(trial_id)
        if self._trial_dict[trial_id].status in (Status.in_progress, Status.stopping):
            self._trial_dict[trial_id].status = Status.stopped

    def copy_checkpoint(self, src_trial_id: int, tgt_trial_id: int):
        shutil.copytree(
            self.checkpoint_trial_path(src_trial_id),
            self.checkpoint_trial_path(tgt_trial_id),
            dirs_exist_ok=True,
        )

    def delete_checkpoint(self, trial_id: int):
        shutil.rmtree(self.checkpoint_trial_path(trial_id), ignore_errors=True)

    def fetch_status_results(self, trial_ids: list[int]):
        """Take the outcomes of ended calls first, waiting up to
        :data:`WAIT_SECONDS` for one while the calls of ``trial_ids`` run."""
        for trial_id in sorted(self._going_on):
            if self._trial_dict[trial_id].status == Status.in_progress:
                self._call_next_epoch(trial_id)
        self._going_on.clear()
        seconds = WAIT_SECONDS if trial_ids else 0.0
        if self.deadline is not None:
            seconds = min(seconds, max(0.0, self.deadline - time.monotonic()))
            if time.monotonic() >= self.deadline:
                for trial_id in self.pool.busy_keys:
                    self._stop_trial(trial_id, None)
        for outcome in self.pool.wait(seconds):
            trial = self._trial_dict[outcome.key]
            if outcome.error is not None:
                self.failures[outcome.key] = outcome.error
                trial.status = Status.failed
                continue
            now = time.time()
            for result in outcome.results:
                trial.metrics.append({**result, ST_WORKER_TIMESTAMP: now})
            self.last_epoch[outcome.key] = outcome.results[-1][EPOCH]
            if self.last_epoch[outcome.key] < self.run_limit[outcome.key]:
                self._going_on.add(outcome.key)  # unless the scheduler pauses it now
            else:
                trial.status = Status.completed
        return super().fetch_status_results(trial_ids)

    def _all_trial_results(self, trial_ids: list[int]) -> list[TrialResult]:
        return [self._trial_dict[trial_id] for trial_id in trial_ids]

    def busy_trial_ids(self) -> list[tuple[int, str]]:
        return [(trial_id, Status.in_progress) for trial_id in self.pool.busy_keys]

    def _log(self, trial_id: int, name: str) -> list[str]:
        path = self.trial_path(trial_id) / name
        return path.read_text(errors="replace").splitlines(keepends=True) if path.exists() else []

    def stdout(self, trial_id: int) -> list[str]:
        return self._log(trial_id, "std.out")

    def stderr(self, trial_id: int) -> list[str]:
        return self._log(trial_id, "std.err")

    def entrypoint_path(self) -> Path:
        return Path(worker.__file__)

    def set_entrypoint(self, entry_point: str):
        raise NotImplementedError("the entry point of a worker pool is its objective")
