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

from benchmarking.styles import method_label, ordered, setting_title, task_label, task_order

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


def group_key(record: dict) -> tuple[str, int]:
    """``(benchmark, n_workers)`` of a run; the benchmark is the task's file stem
    (``lcbench`` of ``lcbench/3945``)."""
    return record["task"].split("/")[0], record["n_workers"]


def group_regrets(records: list[dict]) -> dict[tuple[str, int], dict[str, dict[str, np.ndarray]]]:
    """``{(benchmark, n_workers): {task: {method: regret (S, G)}}}``, seeds in ascending order."""
    runs: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    for r in records:
        runs[group_key(r)][r["task"]][r["method"]][r["seed"]] = regret_curve(r)
    return {
        key: {
            task: {m: np.stack([s[k] for k in sorted(s)]) for m, s in by_method.items()}
            for task, by_method in tasks.items()
        }
        for key, tasks in runs.items()
    }


def group_time_scales(records: list[dict]) -> dict[tuple[str, int], float]:
    """The time scale of each group's runs (one scale per campaign folder)."""
    return {group_key(r): r.get("time_scale", 1.0) for r in records}


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
    """Per method, means per run: scheduler seconds (on the run's clock) and their share of
    the budget, real and CPU seconds of the whole run, ``suggest()`` calls (configurations
    started or resumed), results (levels trained), configurations started."""
    by_method = defaultdict(list)
    for r in records:
        by_method[r["method"]].append(r)
    table = {}
    for method, runs in sorted(by_method.items()):
        scheduler = np.array([r["scheduler_seconds"] for r in runs])
        table[method] = {
            "runs": len(runs),
            "scheduler_seconds": float(scheduler.mean()),
            "budget_share": float(np.mean([r["scheduler_seconds"] / r["budget"] for r in runs])),
            "wallclock_seconds": float(np.mean([r["wallclock_seconds"] for r in runs])),
            "cpu_seconds": float(np.mean([r.get("cpu_seconds", np.nan) for r in runs])),
            "suggestions": float(np.mean([len(r["decisions"]["time"]) for r in runs])),
            "results": float(np.mean([len(r["results"]["time"]) for r in runs])),
            "configs_started": float(np.mean([sum(r["decisions"]["new"]) for r in runs])),
        }
    return table


def decision_cost(records: list[dict]) -> dict[tuple[str, int], dict[str, dict[str, float]]]:
    """Per group and method, means per run: the share of the budget spent in the scheduler
    (and its standard error over runs) and scheduler seconds."""
    runs: dict = defaultdict(lambda: defaultdict(list))
    for r in records:
        runs[group_key(r)][r["method"]].append(r)
    table: dict = {}
    for key, by_method in runs.items():
        table[key] = {}
        for method, group in by_method.items():
            share, share_se = mean_se(
                np.array([[r["scheduler_seconds"] / r["budget"]] for r in group])
            )
            table[key][method] = {
                "share": float(share[0]),
                "share_se": float(share_se[0]),
                "seconds": float(np.mean([r["scheduler_seconds"] for r in group])),
            }
    return table


def _cell(values: np.ndarray, column: int, digits: int) -> str:
    mean, se = mean_se(values)
    return f"{mean[column]:.{digits}f} ± {se[column]:.{digits}f}"


def summary_markdown(records: list[dict]) -> str:
    """Markdown: per group, regret and rank at ``SUMMARY_FRACTIONS`` with the decision cost,
    then regret per task; last, the overhead per method over all groups."""
    columns = [int(np.argmin(np.abs(FRACTIONS - f))) for f in SUMMARY_FRACTIONS]
    percents = [f"{f:.0%}" for f in SUMMARY_FRACTIONS]
    scales, costs = group_time_scales(records), decision_cost(records)
    lines = []
    for key, by_task in sorted(group_regrets(records).items()):
        benchmark, n_workers = key
        regret, rank = aggregate(by_task, rank=False), aggregate(by_task, rank=True)
        title = setting_title(benchmark, len(by_task), n_workers, scales[key])
        lines += [
            f"### {title}: {common_seeds(by_task)} seed(s)",
            "",
            "| method | "
            + " | ".join([f"regret {p}" for p in percents] + [f"rank {p}" for p in percents])
            + " | scheduler share of budget | scheduler s per run |",
            "|---" * (3 + 2 * len(columns)) + "|",
        ]
        for m in ordered(regret):
            cost = costs[key][m]
            cells = [_cell(regret[m], c, 4) for c in columns]
            cells += [_cell(rank[m], c, 2) for c in columns]
            cells += [
                f"{cost['share']:.1%} ± {cost['share_se']:.1%}",
                f"{cost['seconds']:.1f}",
            ]
            lines.append(f"| {method_label(m)} | " + " | ".join(cells) + " |")
        lines += ["", f"Normalized regret per task ({' | '.join(percents)}):", ""]
        lines += ["| task | method | " + " | ".join(percents) + " |"]
        lines.append("|---" * (2 + len(columns)) + "|")
        for task in task_order(by_task):
            by_method = by_task[task]
            for m in ordered(by_method):
                cells = [_cell(by_method[m], c, 4) for c in columns]
                lines.append(
                    f"| {task_label(task)} | {method_label(m)} | " + " | ".join(cells) + " |"
                )
        lines.append("")
    lines += [
        "### Overhead (mean per run; scheduler seconds on the runs' clock)",
        "",
        "| method | runs | scheduler s | share of budget | run s (real) | run CPU s "
        "| suggest() calls | results | configs started |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    table = overhead(records)
    for m in ordered(table):
        o = table[m]
        lines.append(
            f"| {method_label(m)} | {o['runs']} | {o['scheduler_seconds']:.1f} "
            f"| {o['budget_share']:.1%} | {o['wallclock_seconds']:.1f} | {o['cpu_seconds']:.1f} "
            f"| {o['suggestions']:.0f} | {o['results']:.0f} | {o['configs_started']:.0f} |"
        )
    return "\n".join(lines) + "\n"
