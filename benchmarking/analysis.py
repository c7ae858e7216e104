"""Normalized regret and average rank of stored runs, and the markdown summary.

Notation: ``G`` points of the time grid (fractions of the budget), ``S`` seeds,
``M`` methods, ``T`` tasks.

Normalized regret at time t: ``(best_so_far(t) - table_best) / (table_worst -
table_best)`` with the best value reported by any trial at any level up to t;
1 before the first result, 0 at the table's best.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

#: Time grid: 1 %, 2 %, … 100 % of the budget, shape ``(G,)``.
FRACTIONS = np.arange(1, 101) / 100
SUMMARY_FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def load_records(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(Path(out).glob("runs/*/*/seed*.json"))]


def regret_curve(record: dict, fractions: np.ndarray = FRACTIONS) -> np.ndarray:
    """Normalized regret ``(G,)`` of one run at ``fractions`` of its budget."""
    times = np.asarray(record["results"]["time"], dtype=float)
    values = np.asarray(record["results"]["value"], dtype=float)
    best, worst = record["table_best"], record["table_worst"]
    regret = np.clip((values - best) / (worst - best), 0.0, 1.0) + 0.0  # no -0.0
    order = np.argsort(times, kind="stable")
    times, running = times[order], np.minimum.accumulate(regret[order])
    seen = np.searchsorted(times, fractions * record["budget"], side="right")  # results by t
    return np.where(seen > 0, running[np.maximum(seen - 1, 0)], 1.0)


def group_regrets(records: list[dict]) -> dict[tuple[str, int], dict[str, dict[str, np.ndarray]]]:
    """``{(benchmark, n_workers): {task: {method: regret (S, G)}}}``, seeds in ascending order.

    The benchmark is the task's file stem (``lcbench`` of ``lcbench/3945``).
    """
    runs: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    for r in records:
        key = (r["task"].split("/")[0], r["n_workers"])
        runs[key][r["task"]][r["method"]][r["seed"]] = regret_curve(r)
    return {
        key: {
            task: {m: np.stack([s[k] for k in sorted(s)]) for m, s in by_method.items()}
            for task, by_method in tasks.items()
        }
        for key, tasks in runs.items()
    }


def common_seeds(by_task: dict[str, dict[str, np.ndarray]]) -> int:
    """Number of seeds every method has on every task (the first ones are used)."""
    return min(curves.shape[0] for by_method in by_task.values() for curves in by_method.values())


def ranks(by_method: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rank ``(S, G)`` of each method among ``by_method`` (1 best, ties averaged)."""
    methods = sorted(by_method)
    n_seeds = min(by_method[m].shape[0] for m in methods)
    stacked = np.stack([by_method[m][:n_seeds] for m in methods])  # (M, S, G)
    ranked = rankdata(stacked, axis=0)
    return dict(zip(methods, ranked, strict=True))


def aggregate(by_task: dict[str, dict[str, np.ndarray]], *, rank: bool) -> dict[str, np.ndarray]:
    """Per method: ``(S, G)`` of regret (or rank) averaged over tasks, per seed."""
    n_seeds = common_seeds(by_task)
    per_task = [ranks(t) if rank else t for t in by_task.values()]
    methods = sorted(set.intersection(*(set(t) for t in per_task)))
    return {m: np.mean([t[m][:n_seeds] for t in per_task], axis=0) for m in methods}


def mean_se(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over seeds of ``(S, G)``, each ``(G,)``."""
    n = values.shape[0]
    se = values.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(values.shape[1])
    return values.mean(axis=0), se


def overhead(records: list[dict]) -> dict[str, dict[str, float]]:
    """Per method, means per run: scheduler seconds (on the run's clock), real and CPU seconds
    of the whole run, decisions, configs started; and decisions per scheduler second."""
    by_method = defaultdict(list)
    for r in records:
        by_method[r["method"]].append(r)
    table = {}
    for method, runs in sorted(by_method.items()):
        scheduler = np.array([r["scheduler_seconds"] for r in runs])
        decisions = np.array([len(r["decisions"]["time"]) for r in runs])
        table[method] = {
            "runs": len(runs),
            "scheduler_seconds": float(scheduler.mean()),
            "wallclock_seconds": float(np.mean([r["wallclock_seconds"] for r in runs])),
            "cpu_seconds": float(np.mean([r.get("cpu_seconds", np.nan) for r in runs])),
            "decisions": float(decisions.mean()),
            "decisions_per_second": float(decisions.sum() / max(scheduler.sum(), 1e-9)),
            "configs_started": float(np.mean([sum(r["decisions"]["new"]) for r in runs])),
        }
    return table


def _cell(values: np.ndarray, column: int, digits: int) -> str:
    mean, se = mean_se(values)
    return f"{mean[column]:.{digits}f} ± {se[column]:.{digits}f}"


def summary_markdown(records: list[dict]) -> str:
    """Markdown tables: regret and rank at ``SUMMARY_FRACTIONS`` per group and task, overhead."""
    columns = [int(np.argmin(np.abs(FRACTIONS - f))) for f in SUMMARY_FRACTIONS]
    head = " | ".join(f"{f:.0%}" for f in SUMMARY_FRACTIONS)
    rule = "|---" * (1 + 2 * len(columns)) + "|"
    lines = []
    for (benchmark, n_workers), by_task in sorted(group_regrets(records).items()):
        regret, rank = aggregate(by_task, rank=False), aggregate(by_task, rank=True)
        lines += [
            f"### {benchmark}, {n_workers} worker(s): {len(by_task)} task(s), "
            f"{common_seeds(by_task)} seed(s)",
            "",
            f"| method | regret {head.replace(' | ', ' | regret ')} "
            f"| rank {head.replace(' | ', ' | rank ')} |",
            rule,
        ]
        for m in regret:
            cells = [_cell(regret[m], c, 4) for c in columns] + [
                _cell(rank[m], c, 2) for c in columns
            ]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines += ["", f"Normalized regret per task ({head}):", ""]
        lines += ["| task | method | " + head + " |", "|---" * (2 + len(columns)) + "|"]
        for task, by_method in sorted(by_task.items()):
            for m, curves in sorted(by_method.items()):
                cells = [_cell(curves, c, 4) for c in columns]
                lines.append(f"| {task} | {m} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "### Overhead (mean per run; scheduler seconds on the runs' clock)",
        "",
        "| method | runs | scheduler s | run s (real) | run CPU s | decisions "
        "| decisions / scheduler s | configs started |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m, o in overhead(records).items():
        lines.append(
            f"| {m} | {o['runs']} | {o['scheduler_seconds']:.1f} | {o['wallclock_seconds']:.1f} "
            f"| {o['cpu_seconds']:.1f} "
            f"| {o['decisions']:.0f} | {o['decisions_per_second']:.0f} "
            f"| {o['configs_started']:.0f} |"
        )
    return "\n".join(lines) + "\n"
