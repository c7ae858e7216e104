"""A Syne Tune trial backend whose trials are calls of an objective function,
run by a :class:`~syne_dyhpo.tune.pool.WorkerPool` of long-lived processes.

A trial is one configuration; each of its runs (start, resume) is one call,
from the last epoch it reported to the epoch in its config. A call that ends
with results completes the run; one that ends with an error fails the trial.
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

EPOCH_KEY = "dyhpo_epoch"  # config key: the epoch a run trains up to
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
        folder = self.trial_path(trial_id)
        folder.mkdir(parents=True, exist_ok=True)
        call = Call(
            configuration={k: v for k, v in config.items() if k != EPOCH_KEY},
            epoch=int(config[EPOCH_KEY]),
            previous_epoch=self.last_epoch.get(trial_id, 0),
            checkpoint_path=str(self.checkpoint_trial_path(trial_id)),
            stdout_path=str(folder / "std.out"),
            stderr_path=str(folder / "std.err"),
        )
        self.pool.submit(trial_id, call)

    def _resume_trial(self, trial_id: int):
        pass

    def _pause_trial(self, trial_id: int, result: dict | None):
        pass  # a call reports when it has ended: nothing runs any more

    def _stop_trial(self, trial_id: int, result: dict | None):
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
