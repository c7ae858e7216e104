"""How much a table's early levels say about its last one, and how rare good
configurations are: the two properties that decide between DyHPO's lookaheads.

Per task: the Spearman rank correlation, over all tabulated configurations,
of the value at levels 1, 2, 3, 5, 10 with the value at the last level, and
the share of configurations whose last value lies within 10 % of the table's
range from the best last value.

    python -m benchmarking.curve_stats --tasks lcbench taskset [--plot levels.png]

``--plot`` draws the correlation of every level with the last one, per task.

``--runs`` asks the same of stored runs (``OUT`` of ``benchmarking run``)
instead: how well each rung (``1, 3, 9, 27``) ranked the trials of a run
that reached the next rung, by the time a fraction of the budget was
spent; the median over a method's runs per benchmark and worker count.
That is the order successive halving promotes by, over the trials a
scheduler chose to train further:

    python -m benchmarking.curve_stats --runs results/published/shared
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from benchmarking.analysis import group_key, load_records
from benchmarking.benchmarks import select_tasks, table_files, task_table
from benchmarking.styles import benchmark_label
from benchmarking.tables import CurveTable
from syne_dyhpo.promotion import rung_levels

LEVELS = (1, 2, 3, 5, 10)
NEAR_BEST = 0.1
#: Rungs of DyHPO's and ASHA's default ``η = 3`` compared with the next in runs.
RUNGS = tuple(rung_levels(27, 3.0).tolist())
RUN_FRACTIONS = (0.1, 0.25, 0.5)


def level_correlations(table: CurveTable, levels: tuple[int, ...] = LEVELS) -> dict[int, float]:
    """Spearman correlation of each level ``<= max_t`` with the last level."""
    last = table.metric[:, -1]
    return {
        level: float(spearmanr(table.metric[:, level - 1], last)[0])
        for level in levels
        if level <= table.max_t
    }


def near_best_share(table: CurveTable, within: float = NEAR_BEST) -> float:
    """Share of configurations whose last value is within ``within`` of the
    table's range from the best last value."""
    last = table.metric[:, -1] if table.do_minimize else -table.metric[:, -1]
    scale = table.worst - table.best if table.do_minimize else table.best - table.worst
    return float(np.mean(last - last.min() <= within * abs(scale)))


def rung_correlation(record: dict, rung: int, next_rung: int, fraction: float) -> float:
    """Spearman correlation of the values at ``rung`` and ``next_rung`` over
    the trials of a stored run that reported both by ``fraction`` of its
    budget; ``nan`` below three such trials."""
    results = record["results"]
    spent = np.asarray(results["time"]) <= fraction * record["budget"]
    values: dict[tuple[int, int], float] = {}
    for trial, level, value, seen in zip(
        results["trial_id"], results["level"], results["value"], spent, strict=True
    ):
        if seen and level in (rung, next_rung) and np.isfinite(value):
            values[trial, level] = value
    pairs = [
        (value, values[trial, next_rung])
        for (trial, level), value in values.items()
        if level == rung and (trial, next_rung) in values
    ]
    if len(pairs) < 3:
        return float("nan")
    return float(spearmanr(*np.array(pairs).T)[0])


def run_rung_correlations(records: list[dict]) -> dict[tuple[str, str, int], np.ndarray]:
    """``(method, benchmark, n_workers)`` -> median over runs of
    :func:`rung_correlation`, shape ``(len(RUNGS) - 1, len(RUN_FRACTIONS))``:
    rung pairs by fractions of the budget."""
    by_group: dict[tuple[str, str, int], list[np.ndarray]] = {}
    for record in records:
        rho = [
            [rung_correlation(record, low, high, f) for f in RUN_FRACTIONS]
            for low, high in zip(RUNGS[:-1], RUNGS[1:], strict=True)
        ]
        by_group.setdefault((record["method"], *group_key(record)), []).append(np.array(rho))
    with warnings.catch_warnings():  # a rung no run reached: nan, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        return {key: np.nanmedian(rhos, axis=0) for key, rhos in sorted(by_group.items())}


def plot_level_correlations(tables: list[CurveTable], path: Path, *, dpi: int = 120) -> Path:
    """One line per task: Spearman correlation of each level with the last one, against
    the level (log scale); tasks of one benchmark share a colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benchmarks = sorted({t.name.split("/")[0] for t in tables})
    colours = dict(zip(benchmarks, matplotlib.colormaps["tab10"].colors, strict=False))
    fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
    for table in tables:
        levels = tuple(range(1, table.max_t + 1))
        rho = level_correlations(table, levels)
        benchmark = table.name.split("/")[0]
        ax.plot(
            levels,
            [rho[level] for level in levels],
            color=colours[benchmark],
            alpha=0.8,
            label=benchmark_label(benchmark),
        )
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))  # one entry per benchmark
    ax.legend(unique.values(), unique.keys(), title="one line per task")
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xticks([1, 2, 3, 5, 10, 20, 50], labels=["1", "2", "3", "5", "10", "20", "50"])
    ax.set(
        xlabel="level (epoch or evaluation)",
        ylabel="Spearman correlation with the last level",
        title="How well a level ranks configurations by their final value",
    )
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["digits"], help="tasks or table names")
    parser.add_argument("--data", nargs="*", help="npz files or folders")
    parser.add_argument("--plot", type=Path, help="also draw the correlations into this file")
    parser.add_argument("--runs", type=Path, help="OUT of stored runs: rungs' order within them")
    args = parser.parse_args(argv)
    if args.runs:
        print_run_rung_correlations(load_records(args.runs))
        return
    tasks = select_tasks(args.tasks, table_files(args.data))
    if args.plot:
        plot_level_correlations([task_table(n, p) for n, p in tasks.items()], args.plot)
    header = " | ".join(f"level {level}" for level in LEVELS)
    print(f"| task | {header} | within {NEAR_BEST:.0%} of best |")
    print("|---" * (len(LEVELS) + 2) + "|")
    for name, path in tasks.items():
        table = task_table(name, path)
        rho = level_correlations(table)
        cells = " | ".join(f"{rho[level]:.2f}" if level in rho else "-" for level in LEVELS)
        print(f"| {name} | {cells} | {near_best_share(table):.1%} |")


def print_run_rung_correlations(records: list[dict]) -> None:
    pairs = [f"{low}→{high}" for low, high in zip(RUNGS[:-1], RUNGS[1:], strict=True)]
    header = " | ".join(f"{pair} at {f:.0%}" for pair in pairs for f in RUN_FRACTIONS)
    print(f"| method | benchmark | workers | {header} |")
    print("|---" * (3 + len(pairs) * len(RUN_FRACTIONS)) + "|")
    for (method, benchmark, workers), rho in run_rung_correlations(records).items():
        cells = " | ".join("-" if np.isnan(r) else f"{r:.2f}" for r in rho.ravel())
        print(f"| {method} | {benchmark} | {workers} | {cells} |")


if __name__ == "__main__":
    main()
