"""How much a table's early levels say about its last one, and how rare good
configurations are: the two properties that decide between DyHPO's lookaheads.

Per task: the Spearman rank correlation, over all tabulated configurations,
of the value at levels 1, 2, 3, 5, 10 with the value at the last level, and
the share of configurations whose last value lies within 10 % of the table's
range from the best last value.

    python -m benchmarking.curve_stats --tasks lcbench taskset
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import spearmanr

from benchmarking.benchmarks import select_tasks, table_files, task_table
from benchmarking.tables import CurveTable

LEVELS = (1, 2, 3, 5, 10)
NEAR_BEST = 0.1


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["digits"], help="tasks or table names")
    parser.add_argument("--data", nargs="*", help="npz files or folders")
    args = parser.parse_args(argv)
    tasks = select_tasks(args.tasks, table_files(args.data))
    header = " | ".join(f"level {level}" for level in LEVELS)
    print(f"| task | {header} | within {NEAR_BEST:.0%} of best |")
    print("|---" * (len(LEVELS) + 2) + "|")
    for name, path in tasks.items():
        table = task_table(name, path)
        rho = level_correlations(table)
        cells = " | ".join(f"{rho[level]:.2f}" if level in rho else "-" for level in LEVELS)
        print(f"| {name} | {cells} | {near_best_share(table):.1%} |")


if __name__ == "__main__":
    main()
