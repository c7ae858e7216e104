"""Learning-curve tables in the ``lcbench.npz`` / ``taskset.npz`` layouts.

A file holds one or more tasks; :func:`load_tables` returns one
:class:`CurveTable` per task, with the tuned metric and the elapsed time already
extracted and cleaned (see ``../shared/data/README.md`` for the layouts).

Notation: ``n`` configurations, ``d`` hyperparameters, ``L`` levels (epochs or
TaskSet evaluations 1 … L).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Metric tuned on tables in the LCBench layout, and whether it is minimized.
LCBENCH_METRIC, LCBENCH_MINIMIZE = "val_accuracy", False
#: Metric tuned on tables in the TaskSet layout (validation loss), minimized.
TASKSET_METRIC, TASKSET_SPLIT = "valid_loss", "valid"
#: TaskSet has no runtime: simulated seconds per evaluation step (200 training
#: steps of a small text RNN), the same for every configuration.
TASKSET_STEP_SECONDS = 10.0


@dataclass(frozen=True)
class CurveTable:
    """One task: ``metric`` ``(n, L)``, cumulative seconds ``elapsed`` ``(n, L)``.

    ``metric`` holds only finite values (diverged entries are capped on load),
    ``configs`` ``(n, d)`` has columns in ``hp_spec`` order.
    """

    name: str
    hp_spec: list[dict]
    configs: np.ndarray
    metric: np.ndarray
    elapsed: np.ndarray
    metric_name: str
    do_minimize: bool

    @property
    def max_t(self) -> int:
        return self.metric.shape[1]

    @property
    def best(self) -> float:
        """Best value anywhere in the table, in the metric's direction."""
        return float(self.metric.min() if self.do_minimize else self.metric.max())

    @property
    def worst(self) -> float:
        return float(self.metric.max() if self.do_minimize else self.metric.min())

    @property
    def median_full_time(self) -> float:
        """Median seconds to train a configuration to level ``L``."""
        return float(np.median(self.elapsed[:, -1]))


def load_tables(path: str | Path, *, prefix: str | None = None) -> list[CurveTable]:
    """All tasks of a ``.npz`` file, named ``"<prefix>/<task>"`` (prefix: the file stem)."""
    path = Path(path)
    prefix = path.stem if prefix is None else prefix
    with np.load(path) as data:
        if "objectives" in data:
            return _lcbench_tables(data, prefix)
        if "losses" in data:
            return _taskset_tables(data, prefix)
        raise ValueError(
            f"{path}: expected the lcbench layout (key 'objectives') or the taskset layout "
            f"(key 'losses'), got keys {sorted(data.keys())}"
        )


def _lcbench_tables(data, prefix: str) -> list[CurveTable]:
    hp_spec = json.loads(str(data["hp_spec"]))
    names = list(data["objective_names"])
    for needed in (LCBENCH_METRIC, "time"):
        if needed not in names:
            raise ValueError(f"objective '{needed}' missing from objective_names {names}")
    objectives = data["objectives"]  # (tasks, n, L, objectives)
    tables = []
    for i, task in enumerate(data["tasks"]):
        metric = objectives[i, :, :, names.index(LCBENCH_METRIC)].astype(float)
        elapsed = np.maximum.accumulate(objectives[i, :, :, names.index("time")], axis=1)
        tables.append(
            CurveTable(
                name=f"{prefix}/{task}",
                hp_spec=hp_spec,
                configs=np.asarray(data["configs"], dtype=float),
                metric=cap_diverged(
                    metric,
                    worst=_finite_worst(metric, LCBENCH_MINIMIZE),
                    do_minimize=LCBENCH_MINIMIZE,
                ),
                elapsed=elapsed.astype(float),
                metric_name=LCBENCH_METRIC,
                do_minimize=LCBENCH_MINIMIZE,
            )
        )
    return tables


def _taskset_tables(data, prefix: str) -> list[CurveTable]:
    hp_spec = json.loads(str(data["hp_spec"]))
    split = list(data["split_names"]).index(TASKSET_SPLIT)
    steps = np.asarray(data["steps"])
    if steps[0] != 0:
        raise ValueError(f"taskset steps must start at 0 (the untrained model), got {steps[:3]}")
    tables = []
    for i, task in enumerate(data["tasks"]):
        losses = data["losses"][i, :, :, split].astype(float)  # (n, 1 + L)
        untrained = losses[:, 0]
        finite = untrained[np.isfinite(untrained)]
        if finite.size == 0:
            raise ValueError(f"task {task}: no finite untrained loss to cap diverged values at")
        n_levels = losses.shape[1] - 1
        tables.append(
            CurveTable(
                name=f"{prefix}/{task}",
                hp_spec=hp_spec,
                configs=np.asarray(data["configs"][i], dtype=float),
                metric=cap_diverged(losses[:, 1:], worst=float(finite.max())),
                elapsed=np.tile(
                    TASKSET_STEP_SECONDS * np.arange(1, n_levels + 1), (len(losses), 1)
                ),
                metric_name=TASKSET_METRIC,
                do_minimize=True,
            )
        )
    return tables


def cap_diverged(values: np.ndarray, *, worst: float, do_minimize: bool = True) -> np.ndarray:
    """``values`` with NaN, ±inf and anything worse than ``worst`` replaced by ``worst``."""
    values = np.where(np.isfinite(values), values, worst)
    return np.minimum(values, worst) if do_minimize else np.maximum(values, worst)


def _finite_worst(values: np.ndarray, do_minimize: bool) -> float:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError("table has no finite metric value")
    return float(finite.max() if do_minimize else finite.min())
