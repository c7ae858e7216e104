"""Command line: run a campaign of simulated tuning runs, then summarize and plot it.

    python -m benchmarking run --methods dyhpo random_search asha --tasks digits \\
        --seeds 5 --n-workers 1 4 --budget-multiple 20 --out results/digits
    python -m benchmarking report --out results/digits
    python -m benchmarking list

``run`` skips runs already stored in ``--out`` and writes ``summary.md`` and the
PNG figures there when it is done; ``report`` only does the latter.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from benchmarking.analysis import load_records, summary_markdown
from benchmarking.benchmarks import DATA_ENV, select_tasks, table_files, tables_of
from benchmarking.methods import METHODS
from benchmarking.plots import plot_all
from benchmarking.runner import CLOCKS, RunSpec, run_campaign

DEFAULT_JOBS = max(1, min(2, os.cpu_count() or 1))


def report(out: Path) -> None:
    records = load_records(out)
    if not records:
        raise SystemExit(f"no stored runs under {out}/runs")
    summary = summary_markdown(records)
    (out / "summary.md").write_text(summary)
    paths = plot_all(records, out)
    print(summary)
    print("figures:", *map(str, paths), sep="\n  ")


def _specs(args: argparse.Namespace) -> list[RunSpec]:
    for method in args.methods:
        if method not in METHODS:
            raise SystemExit(f"unknown method {method!r}; registered: {sorted(METHODS)}")
    if not args.time_scale > 0:
        raise SystemExit(f"--time-scale {args.time_scale}: expected a number > 0")
    if not 0 <= args.first_seed < args.seeds:
        raise SystemExit(
            f"--first-seed {args.first_seed} selects no seed of 0 … {args.seeds - 1}; "
            f"expected 0 <= --first-seed < --seeds"
        )
    tasks = select_tasks(args.tasks, table_files(args.data))
    return [
        RunSpec(
            method,
            task,
            str(path),
            seed,
            n_workers,
            args.budget_multiple,
            args.clock,
            args.time_scale,
        )
        for n_workers in args.n_workers
        for task, path in tasks.items()
        for seed in range(args.first_seed, args.seeds)
        for method in args.methods
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarking", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a campaign, then report")
    run.add_argument(
        "--methods",
        nargs="+",
        default=["dyhpo", "random_search", "asha"],
        help=f"registered: {', '.join(METHODS)}",
    )
    run.add_argument(
        "--tasks",
        nargs="+",
        default=["digits"],
        help="task names (lcbench/3945) or table names (lcbench)",
    )
    run.add_argument("--seeds", type=int, default=5, help="seeds 0 … N-1")
    run.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="skip the seeds below this one (--seeds 10 --first-seed 5: seeds 5 … 9)",
    )
    run.add_argument("--n-workers", type=int, nargs="+", default=[1])
    run.add_argument(
        "--budget-multiple",
        type=float,
        default=20.0,
        help="budget per task in multiples of its median full-training time",
    )
    run.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="charge scheduler time as CPU time of the run's process (default) or real time; "
        "use one clock per --out folder",
    )
    run.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply every training time of the tables (and so the budget) by this: "
        "0.1 replays TaskSet at 1 s per step instead of 10 s; use one scale per --out folder",
    )
    run.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="runs in parallel")
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--no-progress", action="store_true")
    for p in (run, sub.add_parser("list", help="list the available tasks")):
        p.add_argument(
            "--data",
            nargs="*",
            default=None,
            help=f".npz files or folders (default: ${DATA_ENV} or ../shared/data)",
        )
    rep = sub.add_parser("report", help="summary.md and figures of stored runs")
    rep.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.command == "list":
        for path in table_files(args.data):
            for name, table in tables_of(path).items():
                print(
                    f"{name}: {len(table.configs)} configurations, {table.max_t} levels, "
                    f"median full training {table.median_full_time:.1f} s ({path})"
                )
    elif args.command == "run":
        run_campaign(_specs(args), args.out, jobs=args.jobs, progress=not args.no_progress)
        report(args.out)
    else:
        report(args.out)


if __name__ == "__main__":
    main()
